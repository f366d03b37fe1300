//! The native engine beside OPNsense core: core's own mechanisms carpd uses there instead of
//! writing carp(4) itself, so the GUI, `configctl carp …` and `carpd …` are one mechanism.
//!
//! * Maintenance, CARP off and on: `configctl interface carp_set_status maintenance|disable|
//!   enable`, the configd action core's Status page buttons call
//!   (`Diagnostics/Api/InterfaceController::carpStatusAction` →
//!   `src/opnsense/scripts/interfaces/carp_set_status.php`, opnsense/core f95e815).
//!   `maintenance` toggles: entering sets `<virtualip_carp_maintenancemode>` and adds 240 to
//!   `net.inet.carp.demotion`; leaving clears the flag and writes `default − current`, which
//!   takes every other contribution with it — carpd writes its own part again at once.
//! * Hook replay: `rc.syshook carp <vhid>@<ifname> <STATE>` (`src/etc/rc.syshook`), which runs
//!   rc.syshook.d/carp/* as devd's CARP events do (`src/etc/devd/carp.conf`).

use std::time::Duration;

use crate::host::Opnsense;

/// How long core's carp_set_status may take (it writes config.xml and, for enable, brings
/// every VIP up).
pub const CORE_TIMEOUT: Duration = Duration::from_secs(60);

/// Run `configctl interface carp_set_status <verb>` and return core's answer
/// (`{"status":"ok","action":"enter_maintenance"}` and the like).
pub async fn carp_set_status(o: &Opnsense, verb: &str) -> Result<serde_json::Value, String> {
    let configctl = o.configctl();
    let what = format!("`{} interface carp_set_status {verb}`", configctl.display());
    let run = tokio::process::Command::new(&configctl)
        .args(["interface", "carp_set_status", verb])
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(CORE_TIMEOUT, run)
        .await
        .map_err(|_| format!("{what} did not answer within {} s", CORE_TIMEOUT.as_secs()))?
        .map_err(|e| format!("{what} cannot run: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let answer: serde_json::Value = serde_json::from_str(text.trim()).map_err(|_| {
        format!(
            "{what} answered {:?}{}",
            text.trim(),
            if out.status.success() {
                String::new()
            } else {
                format!(" ({})", out.status)
            }
        )
    })?;
    if answer["status"] != "ok" {
        return Err(format!("{what} answered {answer}"));
    }
    Ok(answer)
}
