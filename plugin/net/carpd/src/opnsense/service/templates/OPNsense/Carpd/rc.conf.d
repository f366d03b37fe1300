{#
  rc.conf.d for carpd on OPNsense (configctl template reload OPNsense/Carpd), rendered from
  Services: carpd: Settings and the VIPs: carpd runs when it is enabled (the default, also
  before the settings were ever saved) and config.xml has a CARP VIP. carpd recognises
  OPNsense itself and then runs only its native engine, with no hooks of its own: core runs
  rc.syshook.d/carp on every CARP event.
#}
{% set carp_vips = helpers.toList('virtualip.vip') | selectattr('mode', 'equalto', 'carp') | list %}
{% set general = helpers.getNodeByTag('OPNsense.carpd.general') %}
{% set enabled = (general.enabled | default('1')) if general else '1' %}
carpd_enable="{{ 'YES' if enabled == '1' and carp_vips else 'NO' }}"
carpd_config="/conf/config.xml"
carpd_engine="native"
carpd_flags="{% if general and general.hook_timeout %}--hook-timeout {{ general.hook_timeout }}{% endif %}"
