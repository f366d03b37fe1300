//! OPNsense core's own writes to carp(4), for the tests of carpd beside OPNsense: what core's
//! GUI buttons and boot scripts do to the kernel and to config.xml, from opnsense/core at
//! f95e815 (the same tree `../shared/opnsense` holds configd from).
//!
//! * `carp_set_status.php maintenance` (src/opnsense/scripts/interfaces): a toggle. Entering
//!   sets `<virtualip_carp_maintenancemode>` and writes 240 to `net.inet.carp.demotion` (the
//!   write adds); leaving unsets it and writes `default − current` (default = the
//!   `net.inet.carp.demotion` tunable, 0 here), which takes every contribution with it.
//!   Answers `{"status":"ok","action":"enter_maintenance"|"leave_maintenance"}`.
//! * `carp_set_status.php disable|enable`: `net.inet.carp.allow` 0/1. (Core also takes every
//!   VIP down and configures it again; the model leaves the addresses alone.)
//! * `rc.syshook.d/early/90-carp`: at boot, 240 when config.xml mentions the maintenance flag
//!   and the demotion is 0.

use std::path::Path;

use crate::kernel::Kernel;

const FLAG: &str = "<virtualip_carp_maintenancemode>1</virtualip_carp_maintenancemode>";
const TAG: &str = "virtualip_carp_maintenancemode";

fn has_flag(config: &str) -> bool {
    config.contains(TAG)
}

/// config.xml without any maintenance element, or with one before `</opnsense>`.
fn with_flag(config: &str, on: bool) -> String {
    let mut out = String::with_capacity(config.len() + FLAG.len());
    for line in config.lines() {
        if line.contains(TAG) {
            continue;
        }
        if on && line.trim() == "</opnsense>" {
            out.push_str("  ");
            out.push_str(FLAG);
            out.push('\n');
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// `write_config()`: the whole file replaced at once.
fn write_config(path: &Path, text: &str) -> Result<(), String> {
    let tmp = path.with_extension("xml.core");
    std::fs::write(&tmp, text)
        .and_then(|_| std::fs::rename(&tmp, path))
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// `configctl interface carp_set_status <verb>`.
pub fn carp_set_status(
    k: &mut Kernel,
    config: &Path,
    verb: &str,
) -> Result<serde_json::Value, String> {
    let text = std::fs::read_to_string(config).map_err(|e| format!("{}: {e}", config.display()))?;
    let action = match verb {
        "maintenance" if has_flag(&text) => {
            write_config(config, &with_flag(&text, false))?;
            let diff = 0 - k.sysctl.demotion;
            k.sysctl_write("net.inet.carp.demotion", diff)
                .map_err(|e| format!("errno {e}"))?;
            "leave_maintenance"
        }
        "maintenance" => {
            write_config(config, &with_flag(&text, true))?;
            k.sysctl_write("net.inet.carp.demotion", 240)
                .map_err(|e| format!("errno {e}"))?;
            "enter_maintenance"
        }
        "disable" => {
            k.sysctl_write("net.inet.carp.allow", 0)
                .map_err(|e| format!("errno {e}"))?;
            "disable"
        }
        "enable" => {
            k.sysctl_write("net.inet.carp.allow", 1)
                .map_err(|e| format!("errno {e}"))?;
            "enable"
        }
        _ => return Ok(serde_json::json!({"status": "failed"})),
    };
    k.note(format!("core: carp_set_status {verb} ({action})"));
    Ok(serde_json::json!({"status": "ok", "action": action}))
}

/// `rc.syshook.d/early/90-carp` at boot.
pub fn early_boot(k: &mut Kernel, config: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(config).map_err(|e| format!("{}: {e}", config.display()))?;
    if has_flag(&text) && k.sysctl.demotion == 0 {
        k.sysctl_write("net.inet.carp.demotion", 240)
            .map_err(|e| format!("errno {e}"))?;
        k.note("core: early/90-carp set net.inet.carp.demotion=240 (maintenance flag)");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flag_comes_and_goes_before_the_closing_tag() {
        let cfg = "<?xml version=\"1.0\"?>\n<opnsense>\n  <x/>\n</opnsense>\n";
        let on = with_flag(cfg, true);
        assert!(has_flag(&on) && on.trim_end().ends_with("</opnsense>"));
        let off = with_flag(&on, false);
        assert_eq!(off, cfg);
    }
}
