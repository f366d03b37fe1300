{#
  rc.conf.d for carpd on OPNsense (configctl template reload OPNsense/Carpd).
  carpd runs whenever config.xml has a CARP VIP. It runs with --no-hooks: core already turns
  every CARP event into /usr/local/etc/rc.syshook.d/carp/* calls, so carpd running them too
  would run each hook twice.
#}
{% set carp_vips = helpers.toList('virtualip.vip') | selectattr('mode', 'equalto', 'carp') | list %}
carpd_enable="{{ 'YES' if carp_vips else 'NO' }}"
carpd_config="/conf/config.xml"
carpd_flags="--no-hooks"
