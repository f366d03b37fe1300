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
 # Tabs as in core's views/OPNsense/Syslog/index.volt: the general form, and the grid of
 # protocol settings per VHID (vhids.vhid) with its edit dialog (forms/dialogVhid.xml). The
 # grid saves each entry at once; Apply saves the general form, then reconfigures carpd, which
 # reloads config.xml with both.
 #}
<script>
    $(document).ready(function () {
        mapDataToFormUI({'frm_general': '/api/carpd/settings/get'}).done(function () {
            formatTokenizersUI();
            $('.selectpicker').selectpicker('refresh');
            updateServiceControlUI('carpd');
        });

        $("#{{ formGridVhid['table_id'] }}").UIBootgrid({
            search: '/api/carpd/settings/search_vhid',
            get: '/api/carpd/settings/get_vhid/',
            set: '/api/carpd/settings/set_vhid/',
            add: '/api/carpd/settings/add_vhid/',
            del: '/api/carpd/settings/del_vhid/'
        });

        /* Apply: save the form first, then reconfigure (template reload, then reload or start) */
        $('#reconfigureAct').SimpleActionButton({
            onPreAction: function () {
                const saved = new $.Deferred();
                saveFormToEndpoint('/api/carpd/settings/set', 'frm_general', function () {
                    saved.resolve();
                }, true, function () {
                    saved.reject();
                });
                return saved;
            }
        });
    });
</script>

<ul class="nav nav-tabs" data-tabs="tabs" id="maintabs">
    <li class="active"><a data-toggle="tab" id="general" href="#tab_general">{{ lang._('General') }}</a></li>
    <li><a data-toggle="tab" id="vhids" href="#tab_vhids">{{ lang._('Protocol per VHID') }}</a></li>
</ul>
<div class="tab-content content-box">
    <div id="tab_general" class="tab-pane fade in active">
        {{ partial("layout_partials/base_form", ['fields': generalForm, 'id': 'frm_general']) }}
    </div>
    <div id="tab_vhids" class="tab-pane fade in">
        {{ partial('layout_partials/base_bootgrid_table', formGridVhid) }}
        <div class="alert alert-info" role="alert" style="margin: 10px;">
            {{ lang._('A VHID without an entry here speaks CARP, with the advbase and advskew of its virtual IP. Leave the priority empty on an HA pair that synchronizes its configuration: carpd then derives it from advskew, which the synchronization raises by 100 on the backup.') }}
        </div>
    </div>
</div>

{{ partial('layout_partials/base_apply_button', {'data_endpoint': '/api/carpd/service/reconfigure', 'data_service_widget': 'carpd'}) }}

{{ partial('layout_partials/base_dialog', ['fields': formDialogVhid, 'id': formGridVhid['edit_dialog_id'], 'label': lang._('Edit protocol settings of a VHID')]) }}
