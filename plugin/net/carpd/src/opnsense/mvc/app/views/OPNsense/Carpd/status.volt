{#
 # Copyright (C) 2026 carpd contributors
 # All rights reserved.
 #
 # Redistribution and use in source and binary forms, with or without
 # modification, are permitted provided that the following conditions are met:
 #
 # 1. Redistributions of source code must retain the above copyright notice,
 #    this list of conditions and the following disclaimer.
 #
 # 2. Redistributions in binary form must reproduce the above copyright
 #    notice, this list of conditions and the following disclaimer in the
 #    documentation and/or other materials provided with the distribution.
 #
 # THIS SOFTWARE IS PROVIDED ``AS IS'' AND ANY EXPRESS OR IMPLIED WARRANTIES,
 # INCLUDING, BUT NOT LIMITED TO, THE IMPLIED WARRANTIES OF MERCHANTABILITY
 # AND FITNESS FOR A PARTICULAR PURPOSE ARE DISCLAIMED. IN NO EVENT SHALL THE
 # AUTHOR BE LIABLE FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL, EXEMPLARY,
 # OR CONSEQUENTIAL DAMAGES (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT OF
 # SUBSTITUTE GOODS OR SERVICES; LOSS OF USE, DATA, OR PROFITS; OR BUSINESS
 # INTERRUPTION) HOWEVER CAUSED AND ON ANY THEORY OF LIABILITY, WHETHER IN
 # CONTRACT, STRICT LIABILITY, OR TORT (INCLUDING NEGLIGENCE OR OTHERWISE)
 # ARISING IN ANY WAY OUT OF THE USE OF THIS SOFTWARE, EVEN IF ADVISED OF THE
 # POSSIBILITY OF SUCH DAMAGE.
 #}

{#
 # What Interfaces: Virtual IPs: Status does not show: per VHID the transitions carpd saw,
 # their history, hook results and drops; the demotion total by source, named demotions,
 # persistent maintenance mode and replaying the transition hooks.
 # Every value from the API goes into the page through .text() or .attr(), never as HTML.
 #}
<script>
    $(document).ready(function () {
        /* names the breakdown shows that are not named demotions: no clear button */
        const RESERVED = ['maintenance', 'kernel', 'interface down'];
        const SOURCE_NOTES = {
            'maintenance': "{{ lang._('persistent maintenance mode') }}",
            'kernel': "{{ lang._('not added by carpd: carp(4) itself (interface down, pfsync) or another writer') }}",
            'interface down': "{{ lang._('an interface of a VHID is down') }}"
        };
        const NAME_RE = /^[A-Za-z0-9_.:-]{1,64}$/;
        const CHANGE_RE = /^([+-][0-9]{1,4}|clear)$/;
        /* VHIDs whose history row is open, kept across refreshes */
        const openHistory = new Set();
        let maintenanceOn = null;
        let loading = false;

        function dash(value) {
            return (value === null || value === undefined || value === '') ? '\u2014' : String(value);
        }

        function isObject(value) {
            return value !== null && typeof value === 'object' && !Array.isArray(value);
        }

        function ago(at) {
            if (typeof at !== 'number' || !isFinite(at)) {
                return '';
            }
            let s = Math.max(0, Math.round(Date.now() / 1000 - at));
            let text;
            if (s < 60) {
                text = s + 's';
            } else if (s < 3600) {
                text = Math.floor(s / 60) + 'm ' + (s % 60) + 's';
            } else if (s < 86400) {
                text = Math.floor(s / 3600) + 'h ' + Math.floor((s % 3600) / 60) + 'm';
            } else {
                text = Math.floor(s / 86400) + 'd ' + Math.floor((s % 86400) / 3600) + 'h';
            }
            return "{{ lang._('%s ago') }}".replace('%s', text);
        }

        function when(at) {
            return (typeof at === 'number' && isFinite(at)) ? new Date(at * 1000).toLocaleString() : '';
        }

        function stateLabel(state) {
            const classes = {
                'MASTER': 'label-success',
                'BACKUP': 'label-info',
                'INIT': 'label-warning',
                'DISABLED': 'label-danger'
            };
            return $('<span>').addClass('label ' + (classes[state] || 'label-default')).text(dash(state));
        }

        function signed(n) {
            return (typeof n === 'number' && n > 0) ? '+' + n : String(n);
        }

        /* the answer of an action: status, reason, notes */
        function showAnswer(what, data, httpStatus) {
            const $box = $('#carpd_answer').empty().removeClass('alert-success alert-danger alert-warning');
            if (httpStatus !== 'success' || !isObject(data)) {
                $box.addClass('alert-danger').append(
                    $('<b>').text(what + ': '),
                    $('<span>').text("{{ lang._('the request failed (no answer from the API)') }}")
                ).show();
                return;
            }
            const ok = data.status === 'ok';
            $box.addClass(ok ? 'alert-success' : 'alert-danger');
            $box.append($('<b>').text(what + ': ' + dash(data.status)));
            if (data.reason !== undefined && data.reason !== null && data.reason !== '') {
                $box.append($('<span>').text(' \u2014 ' + String(data.reason)));
            }
            if (Array.isArray(data.notes) && data.notes.length > 0) {
                const $ul = $('<ul>').css('margin', '5px 0 0 0');
                data.notes.forEach(function (note) {
                    $ul.append($('<li>').text(typeof note === 'string' ? note : JSON.stringify(note)));
                });
                $box.append($ul);
            }
            $box.show();
        }

        /* rows are per address: one group per device + vhid, the carp row first */
        function groupRows(rows) {
            const groups = new Map();
            rows.forEach(function (row) {
                const extras = isObject(row.carpd) ? row.carpd : {};
                const device = extras.device || row.interface || '';
                const key = device + '@' + String(row.vhid);
                if (!groups.has(key)) {
                    groups.set(key, {key: key, device: device, primary: null, rows: []});
                }
                const group = groups.get(key);
                group.rows.push(row);
                if (group.primary === null || (row.mode === 'carp' && group.primary.mode !== 'carp')) {
                    group.primary = row;
                }
            });
            return Array.from(groups.values());
        }

        function dropsText(drops) {
            if (!isObject(drops) || Object.keys(drops).length === 0) {
                return '\u2014';
            }
            return Object.entries(drops).map(function (entry) {
                return entry[0] + ': ' + entry[1];
            }).join(', ');
        }

        function hookCell(hooks) {
            const $cell = $('<td>');
            if (!Array.isArray(hooks) || hooks.length === 0) {
                return $cell.text('\u2014');
            }
            hooks.forEach(function (h) {
                let outcome;
                let bad = false;
                if (h.timed_out === true) {
                    outcome = "{{ lang._('timed out') }}";
                    bad = true;
                } else if (h.exit_code === null || h.exit_code === undefined) {
                    outcome = "{{ lang._('did not start') }}";
                    bad = true;
                } else {
                    outcome = "{{ lang._('exit') }} " + h.exit_code;
                    bad = h.exit_code !== 0;
                }
                const $line = $('<div>').attr('title', when(h.at)).text(
                    dash(h.hook) + ' \u2192 ' + dash(h.state) + ': ' + outcome + ', ' +
                    dash(h.duration_ms) + ' ms, ' + ago(h.at)
                );
                if (bad) {
                    $line.addClass('text-danger');
                }
                $cell.append($line);
            });
            return $cell;
        }

        function historyRow(group, columns) {
            const history = Array.isArray(group.primary.carpd && group.primary.carpd.history) ?
                group.primary.carpd.history : [];
            const $table = $('<table>').addClass('table table-condensed').append(
                $('<thead>').append($('<tr>').append(
                    $('<th>').text("{{ lang._('From') }}"),
                    $('<th>').text("{{ lang._('To') }}"),
                    $('<th>').text("{{ lang._('Reason') }}"),
                    $('<th>').text("{{ lang._('When (newest first)') }}")
                ))
            );
            const $body = $('<tbody>');
            if (history.length === 0) {
                $body.append($('<tr>').append($('<td>').attr('colspan', 4).text("{{ lang._('No transitions recorded.') }}")));
            }
            history.slice().reverse().forEach(function (t) {
                $body.append($('<tr>').append(
                    $('<td>').text(dash(t.from)),
                    $('<td>').text(dash(t.to)),
                    $('<td>').text(dash(t.reason)),
                    $('<td>').attr('title', when(t.at)).text(when(t.at) + ' (' + ago(t.at) + ')')
                ));
            });
            $table.append($body);
            return $('<tr>').addClass('carpd-history').attr('data-key', group.key).append(
                $('<td>').attr('colspan', columns).append($table)
            );
        }

        function renderVhids(rows) {
            const $body = $('#carpd_vhids > tbody').empty();
            const columns = $('#carpd_vhids > thead th').length;
            const groups = groupRows(rows);
            if (groups.length === 0) {
                $body.append($('<tr>').append($('<td>').attr('colspan', columns).text("{{ lang._('No CARP VHIDs.') }}")));
                return;
            }
            groups.forEach(function (group) {
                const p = group.primary;
                const x = isObject(p.carpd) ? p.carpd : {};
                const $state = $('<td>').append(stateLabel(p.status));
                if (x.master_source) {
                    $state.append($('<div>').addClass('text-muted').text(
                        "{{ lang._('master') }} " + x.master_source +
                        (typeof x.master_seen_ago === 'number' ? ' (' + x.master_seen_ago.toFixed(1) + ' s)' : '')
                    ));
                }
                const $addresses = $('<td>');
                group.rows.forEach(function (r) {
                    const prefix = (isObject(r.carpd) && r.carpd.prefix !== undefined && r.carpd.prefix !== null) ?
                        '/' + r.carpd.prefix : '';
                    $addresses.append($('<div>').text(
                        dash(r.subnet) + prefix + (r.mode === 'carp' ? '' : ' (' + dash(r.mode) + ')')
                    ));
                });
                const $last = $('<td>');
                const lt = x.last_transition;
                if (isObject(lt)) {
                    $last.attr('title', when(lt.at)).append(
                        $('<div>').text(dash(lt.from) + ' \u2192 ' + dash(lt.to)),
                        $('<div>').addClass('text-muted').text((lt.reason ? lt.reason + ', ' : '') + ago(lt.at))
                    );
                } else {
                    $last.text('\u2014');
                }
                const count = Array.isArray(x.history) ? x.history.length : 0;
                const $toggle = $('<button>').attr('type', 'button').addClass('btn btn-xs btn-default')
                    .append($('<i>').addClass('fa fa-history fa-fw'), $('<span>').text(' ' + count))
                    .attr('title', "{{ lang._('Transition history') }}")
                    .on('click', function () {
                        if (openHistory.has(group.key)) {
                            openHistory.delete(group.key);
                        } else {
                            openHistory.add(group.key);
                        }
                        $('#carpd_vhids tr.carpd-history').filter(function () {
                            return $(this).attr('data-key') === group.key;
                        }).toggle(openHistory.has(group.key));
                    });
                $body.append($('<tr>').append(
                    $('<td>').text(dash(p.interface)),
                    $('<td>').text(String(p.vhid) + '@' + dash(group.device)),
                    $state,
                    $('<td>').text(dash(p.advbase) + ' / ' + dash(p.advskew)),
                    $addresses,
                    $('<td>').text(dash(x.transitions)),
                    $last,
                    hookCell(x.hooks),
                    $('<td>').text(dropsText(x.drops)),
                    $('<td>').append($toggle)
                ));
                $body.append(historyRow(group, columns).toggle(openHistory.has(group.key)));
            });
        }

        function renderDemotions(carp, extras) {
            $('#carpd_demotion').text(dash(carp.demotion));
            const $body = $('#carpd_demotions > tbody').empty();
            const demotions = isObject(extras.demotions) ? extras.demotions : {};
            const names = Object.keys(demotions);
            if (names.length === 0) {
                $body.append($('<tr>').append($('<td>').attr('colspan', 4).text("{{ lang._('No demotion.') }}")));
            }
            names.forEach(function (name) {
                const $action = $('<td>');
                if (!RESERVED.includes(name)) {
                    $action.append($('<button>').attr('type', 'button').addClass('btn btn-xs btn-default')
                        .attr('title', "{{ lang._('Clear this demotion') }}")
                        .append($('<i>').addClass('fa fa-trash fa-fw'))
                        .on('click', function () {
                            demote(name, 'clear', false);
                        }));
                }
                $body.append($('<tr>').append(
                    $('<td>').text(name),
                    $('<td>').text(signed(demotions[name])),
                    $('<td>').addClass('text-muted').text(SOURCE_NOTES[name] || "{{ lang._('named demotion') }}"),
                    $action
                ));
            });
        }

        function renderGlobal(carp, extras) {
            $('#carpd_engine').text(dash(extras.engine));
            $('#carpd_allow').text(carp.allow === '0' ? "{{ lang._('no (CARP is disabled)') }}" : "{{ lang._('yes') }}");
            $('#carpd_preempt').text(extras.preempt === true ? "{{ lang._('yes') }}" :
                (extras.preempt === false ? "{{ lang._('no') }}" : '\u2014'));
            $('#carpd_global_drops').text(dropsText(extras.drops));
            maintenanceOn = carp.maintenancemode === true || carp.maintenancemode === '1' || carp.maintenancemode === 1;
            $('#carpd_maintenance').text(maintenanceOn ? "{{ lang._('on') }}" : "{{ lang._('off') }}");
            $('#carpd_maintenance_btn > span').text(maintenanceOn ?
                "{{ lang._('Leave maintenance mode') }}" : "{{ lang._('Enter maintenance mode') }}");
            $('#carpd_maintenance_btn').prop('disabled', false);
            const msg = typeof carp.status_msg === 'string' ? carp.status_msg.replace(/<br\s*\/?>/gi, ' ').replace(/<[^>]*>/g, '') : '';
            $('#carpd_status_msg').text(msg).toggle(msg !== '');
        }

        function refresh() {
            if (loading) {
                return;
            }
            loading = true;
            ajaxGet('/api/carpd/status/status', {}, function (data, status) {
                loading = false;
                const $alert = $('#carpd_alert');
                if (status !== 'success' || !isObject(data)) {
                    $alert.text("{{ lang._('Could not fetch the status from the API.') }}").show();
                    return;
                }
                if (data.status === 'failed' || !Array.isArray(data.rows)) {
                    $alert.text("{{ lang._('carpd did not answer:') }} " + dash(data.reason)).show();
                    $('#carpd_vhids > tbody').empty();
                    $('#carpd_demotions > tbody').empty();
                    $('#carpd_maintenance_btn').prop('disabled', true);
                    return;
                }
                $alert.hide();
                const carp = isObject(data.carp) ? data.carp : {};
                const extras = isObject(data.carpd) ? data.carpd : {};
                renderVhids(data.rows);
                renderGlobal(carp, extras);
                renderDemotions(carp, extras);
            });
        }

        function post(what, url, payload) {
            ajaxCall(url, payload, function (data, status) {
                showAnswer(what, data, status);
                refresh();
            });
        }

        function demote(name, change, persistent) {
            if (!NAME_RE.test(name)) {
                showAnswer("{{ lang._('Demote') }}", {status: 'failed', reason: "{{ lang._('The name is 1 to 64 characters: letters, digits, _ . : and -.') }}"}, 'success');
                return;
            }
            if (!CHANGE_RE.test(change)) {
                showAnswer("{{ lang._('Demote') }}", {status: 'failed', reason: "{{ lang._('The change is +N or -N (up to 4 digits), or clear.') }}"}, 'success');
                return;
            }
            post("{{ lang._('Demote') }} " + name + ' ' + change, '/api/carpd/status/demote', {
                name: name,
                change: change,
                persistent: persistent ? '1' : '0'
            });
        }

        $('#carpd_demote_add').on('click', function () {
            demote(String($('#carpd_demote_name').val()).trim(), String($('#carpd_demote_change').val()).trim(),
                $('#carpd_demote_persistent').is(':checked'));
        });

        $('#carpd_maintenance_btn').on('click', function () {
            if (maintenanceOn === null) {
                return;
            }
            if (maintenanceOn) {
                post("{{ lang._('Leave maintenance mode') }}", '/api/carpd/status/maintenance/leave', {});
                return;
            }
            stdDialogConfirm(
                "{{ lang._('Maintenance mode') }}",
                "{{ lang._('This node demotes itself by 240 and its peer takes over every VHID. It stays in maintenance mode across reboots until you leave it.') }}",
                "{{ lang._('Enter maintenance mode') }}",
                "{{ lang._('Cancel') }}",
                function () {
                    post("{{ lang._('Enter maintenance mode') }}", '/api/carpd/status/maintenance/enter', {});
                }
            );
        });

        $('#carpd_replay_btn').on('click', function () {
            post("{{ lang._('Replay hooks') }}", '/api/carpd/status/replay', {});
        });

        $('#carpd_refresh_btn').on('click', refresh);

        refresh();
        setInterval(refresh, 10000);
    });
</script>

<div id="carpd_alert" class="alert alert-warning" role="alert" style="display: none; margin: 10px 0;"></div>
<div id="carpd_status_msg" class="alert alert-warning" role="alert" style="display: none; margin: 10px 0;"></div>
<div id="carpd_answer" class="alert" role="alert" style="display: none; margin: 10px 0;"></div>

<div class="content-box">
    <table id="carpd_vhids" class="table table-condensed table-striped">
        <thead>
            <tr>
                <th>{{ lang._('Interface') }}</th>
                <th>{{ lang._('VHID') }}</th>
                <th>{{ lang._('State') }}</th>
                <th>{{ lang._('advbase / advskew') }}</th>
                <th>{{ lang._('Addresses') }}</th>
                <th>{{ lang._('Transitions') }}</th>
                <th>{{ lang._('Last transition') }}</th>
                <th>{{ lang._('Hooks') }}</th>
                <th>{{ lang._('Drops') }}</th>
                <th>{{ lang._('History') }}</th>
            </tr>
        </thead>
        <tbody>
        </tbody>
    </table>
</div>

<br/>
<div class="content-box">
    <table class="table table-condensed">
        <tbody>
            <tr>
                <td style="width: 25%;">{{ lang._('Engine') }}</td>
                <td id="carpd_engine">&mdash;</td>
                <td></td>
            </tr>
            <tr>
                <td>{{ lang._('CARP allowed') }}</td>
                <td id="carpd_allow">&mdash;</td>
                <td></td>
            </tr>
            <tr>
                <td>{{ lang._('Preemption') }}</td>
                <td id="carpd_preempt">&mdash;</td>
                <td></td>
            </tr>
            <tr>
                <td>{{ lang._('Persistent maintenance mode') }}</td>
                <td id="carpd_maintenance">&mdash;</td>
                <td>
                    <button id="carpd_maintenance_btn" type="button" class="btn btn-primary btn-xs" disabled="disabled">
                        <i class="fa fa-wrench fa-fw"></i> <span>{{ lang._('Maintenance mode') }}</span>
                    </button>
                </td>
            </tr>
            <tr>
                <td>{{ lang._('Packets dropped before a VHID matched') }}</td>
                <td id="carpd_global_drops">&mdash;</td>
                <td></td>
            </tr>
            <tr>
                <td>{{ lang._('Transition hooks') }}</td>
                <td>{{ lang._('Run the hooks again for every VHID in its current state.') }}</td>
                <td>
                    <button id="carpd_replay_btn" type="button" class="btn btn-default btn-xs">
                        <i class="fa fa-repeat fa-fw"></i> {{ lang._('Replay hooks') }}
                    </button>
                    <button id="carpd_refresh_btn" type="button" class="btn btn-default btn-xs">
                        <i class="fa fa-refresh fa-fw"></i> {{ lang._('Refresh') }}
                    </button>
                </td>
            </tr>
        </tbody>
    </table>
</div>

<br/>
<div class="content-box">
    <table id="carpd_demotions" class="table table-condensed table-striped">
        <thead>
            <tr>
                <th colspan="4">
                    {{ lang._('Demotion') }}: <span id="carpd_demotion">&mdash;</span>
                    <small class="text-muted">({{ lang._('total, net.inet.carp.demotion; by source below') }})</small>
                </th>
            </tr>
            <tr>
                <th style="width: 25%;">{{ lang._('Source') }}</th>
                <th style="width: 15%;">{{ lang._('Demotion') }}</th>
                <th>{{ lang._('Note') }}</th>
                <th style="width: 5%;"></th>
            </tr>
        </thead>
        <tbody>
        </tbody>
        <tfoot>
            <tr>
                <td>
                    <input id="carpd_demote_name" type="text" class="form-control" maxlength="64"
                           placeholder="{{ lang._('name, e.g. service:openvpn') }}"/>
                </td>
                <td>
                    <input id="carpd_demote_change" type="text" class="form-control" maxlength="5"
                           placeholder="+50 / -50"/>
                </td>
                <td>
                    <label>
                        <input id="carpd_demote_persistent" type="checkbox"/>
                        {{ lang._('persistent (kept across restarts and reboots)') }}
                    </label>
                </td>
                <td>
                    <button id="carpd_demote_add" type="button" class="btn btn-primary btn-xs"
                            title="{{ lang._('Add to the named demotion') }}">
                        <i class="fa fa-plus fa-fw"></i>
                    </button>
                </td>
            </tr>
        </tfoot>
    </table>
</div>
