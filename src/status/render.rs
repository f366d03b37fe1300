//! Renderers of a [`StatusReport`]: the human table and OPNsense's `get_vip_status` JSON.

use super::StatusReport;

/// The table `carpd status` prints. `now` is Unix time in seconds (for "ago" columns).
pub fn table(report: &StatusReport, now: f64) -> String {
    let _ = (report, now);
    todo!("status: table")
}

/// OPNsense's get_vip_status shape (opnsense-integration §3.1) with carpd's extras per row
/// under `carpd`.
pub fn opnsense_json(report: &StatusReport) -> serde_json::Value {
    let _ = report;
    todo!("status: json")
}
