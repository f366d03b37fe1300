/*
 * Copyright (C) 2026 carpd contributors
 * All rights reserved.
 *
 * Redistribution and use in source and binary forms, with or without
 * modification, are permitted provided that the following conditions are met:
 *
 * 1. Redistributions of source code must retain the above copyright notice,
 *    this list of conditions and the following disclaimer.
 *
 * 2. Redistributions in binary form must reproduce the above copyright
 *    notice, this list of conditions and the following disclaimer in the
 *    documentation and/or other materials provided with the distribution.
 *
 * THIS SOFTWARE IS PROVIDED ``AS IS'' AND ANY EXPRESS OR IMPLIED WARRANTIES,
 * INCLUDING, BUT NOT LIMITED TO, THE IMPLIED WARRANTIES OF MERCHANTABILITY
 * AND FITNESS FOR A PARTICULAR PURPOSE ARE DISCLAIMED. IN NO EVENT SHALL THE
 * AUTHOR BE LIABLE FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL, EXEMPLARY,
 * OR CONSEQUENTIAL DAMAGES (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT OF
 * SUBSTITUTE GOODS OR SERVICES; LOSS OF USE, DATA, OR PROFITS; OR BUSINESS
 * INTERRUPTION) HOWEVER CAUSED AND ON ANY THEORY OF LIABILITY, WHETHER IN
 * CONTRACT, STRICT LIABILITY, OR TORT (INCLUDING NEGLIGENCE OR OTHERWISE)
 * ARISING IN ANY WAY OUT OF THE USE OF THIS SOFTWARE, EVEN IF ADVISED OF THE
 * POSSIBILITY OF SUCH DAMAGE.
 */

/*
 * carpd on the dashboard: each VHID's state, the demotion total with its sources and
 * persistent maintenance mode, from /api/carpd/status/status. BaseTableWidget puts cells in
 * as HTML, so every value from the API goes through esc().
 */

const STATE_COLOURS = {
    MASTER: 'green',
    BACKUP: '#31708f',
    INIT: '#f0ad4e',
    DISABLED: '#d9534f'
};

function esc(value) {
    const map = {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'};
    return String(value ?? '').replace(/[&<>"']/g, (c) => map[c]);
}

export default class Carpd extends BaseTableWidget {
    constructor() {
        super();
    }

    getGridOptions() {
        return {
            // scroll once the table is taller than 650px
            sizeToContent: 650
        };
    }

    getMarkup() {
        const $table = this.createTable('carpd-table', {
            headerPosition: 'left'
        });
        return $('<div></div>').append($table);
    }

    showMessage(text) {
        const $table = $('#carpd-table');
        $table.children('.flextable-row').remove();
        $table.children('.carpd-message').remove();
        $table.append($('<div class="carpd-message"></div>').text(text));
        this.cachedData = {};
    }

    async onWidgetTick() {
        let data = null;
        try {
            data = await this.ajaxCall('/api/carpd/status/status');
        } catch (e) {
            data = null;
        }
        if (data === null || typeof data !== 'object') {
            this.showMessage(this.translations.noData);
            return;
        }
        if (data.status === 'failed' || !Array.isArray(data.rows)) {
            this.showMessage(`${this.translations.failed} ${data.reason ?? ''}`);
            return;
        }
        if (!this.dataChanged('carpd-status', data)) {
            return;
        }
        $('#carpd-table').children('.carpd-message').remove();

        const rows = [];
        this.vhids(data.rows).forEach((group) => {
            const p = group.primary;
            const colour = STATE_COLOURS[p.status] ?? 'grey';
            const label = `${p.interface ?? group.device} @ VHID ${p.vhid}`;
            const addresses = group.rows.map((r) => esc(r.subnet ?? '')).join(', ');
            rows.push([
                `<a href="/ui/carpd/index/status">${esc(label)}</a>`,
                `<div><span class="badge badge-pill" style="background-color: ${colour}">${esc(p.status)}</span>
                 ${addresses} <small>(${esc(group.device)})</small></div>`
            ]);
        });
        if (rows.length === 0) {
            rows.push([esc(this.translations.vhids), esc(this.translations.unconfigured)]);
        }

        const carp = (data.carp && typeof data.carp === 'object') ? data.carp : {};
        const extras = (data.carpd && typeof data.carpd === 'object') ? data.carpd : {};
        const sources = (extras.demotions && typeof extras.demotions === 'object') ?
            Object.entries(extras.demotions).map(([name, value]) => `${esc(name)}: ${esc(value)}`) : [];
        rows.push([
            esc(this.translations.demotion),
            `<div>${esc(carp.demotion ?? '')}${sources.length ? ` <small>(${sources.join(', ')})</small>` : ''}</div>`
        ]);
        const maintenance = carp.maintenancemode === true || carp.maintenancemode === '1';
        rows.push([
            esc(this.translations.maintenance),
            esc(maintenance ? this.translations.on : this.translations.off)
        ]);

        this.updateTable('carpd-table', rows);
    }

    /* rows are per address: one entry per device + vhid, the carp row as the primary */
    vhids(rows) {
        const groups = new Map();
        rows.forEach((row) => {
            const device = row.carpd?.device ?? row.interface ?? '';
            const key = `${device}@${row.vhid}`;
            if (!groups.has(key)) {
                groups.set(key, {device: device, primary: row, rows: []});
            }
            const group = groups.get(key);
            group.rows.push(row);
            if (row.mode === 'carp' && group.primary.mode !== 'carp') {
                group.primary = row;
            }
        });
        return Array.from(groups.values());
    }
}
