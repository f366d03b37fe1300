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
 # Tabs as in core's views/OPNsense/Syslog/index.volt: the general form, the grid of protocol
 # settings per VHID (vhids.vhid) with its edit dialog (forms/dialogVhid.xml), and the grid of
 # tracked checks (checks.check, forms/dialogCheck.xml). The grids save each entry at once;
 # Apply saves the general form, then reconfigures carpd, which reloads config.xml with all.
 # The check dialog shows only the fields of the selected type and effect (the fields' styles
 # check_type_<type> and check_effect_<demote|fault>), as Syslog does for its transports.
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

        $("#{{ formGridCheck['table_id'] }}").UIBootgrid({
            search: '/api/carpd/settings/search_check',
            get: '/api/carpd/settings/get_check/',
            set: '/api/carpd/settings/set_check/',
            add: '/api/carpd/settings/add_check/',
            del: '/api/carpd/settings/del_check/'
        });

        /* one row per field of the selected check type; weight only where carpd uses it */
        function showCheckFields() {
            const type = String($("#check\\.type").val() || '');
            const fault = $("#check\\.fault").is(':checked');
            $(".check_type").each(function () {
                $(this).closest('tr').toggle($(this).hasClass('check_type_' + type));
            });
            $(".check_effect_fault").closest('tr').toggle(fault);
            $(".check_effect_demote").closest('tr').toggle(!fault && type !== 'file');
        }
        $("#check\\.type, #check\\.fault").change(showCheckFields);

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
    <li><a data-toggle="tab" id="checks" href="#tab_checks">{{ lang._('Checks') }}</a></li>
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
    <div id="tab_checks" class="tab-pane fade in">
        {{ partial('layout_partials/base_bootgrid_table', formGridCheck) }}
        <div class="alert alert-info" role="alert" style="margin: 10px;">
            {{ lang._('carpd runs each check on its own. While a check fails, carpd demotes every VHID of this node by its weight, so that a healthier peer becomes MASTER; a fault check instead puts its VHIDs into INIT. The node returns to normal once the check succeeds again. System: High Availability copies the checks to the backup, which runs them too: the interface devices and programs they name must exist there.') }}
        </div>
    </div>
</div>

{{ partial('layout_partials/base_apply_button', {'data_endpoint': '/api/carpd/service/reconfigure', 'data_service_widget': 'carpd'}) }}

{{ partial('layout_partials/base_dialog', ['fields': formDialogVhid, 'id': formGridVhid['edit_dialog_id'], 'label': lang._('Edit protocol settings of a VHID')]) }}
{{ partial('layout_partials/base_dialog', ['fields': formDialogCheck, 'id': formGridCheck['edit_dialog_id'], 'label': lang._('Edit check')]) }}
