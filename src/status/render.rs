//! Renderers of a [`StatusReport`]: the human table, OPNsense's `get_vip_status` JSON, and
//! Prometheus' text format (for node_exporter's textfile collector).

use std::collections::BTreeMap;

use serde::Serialize;

use super::{
    AddressStatus, CheckStatus, HookResult, StatusReport, TransitionInfo, VhidProtocol, VhidStatus,
    VrrpStatus,
};

/// OPNsense's wording when the node is demoted outside maintenance mode (carp_global_status).
pub const DEMOTED_MSG: &str = "CARP has detected a problem and this unit has been demoted to BACKUP status.<br />Check link status on all interfaces with configured CARP VIPs.";

/// OPNsense's wording when no CARP VIP is configured.
pub const NO_CARP_MSG: &str = "Could not locate any defined CARP interfaces.";

/// The table `carpd status` prints. `now` is Unix time in seconds (for "ago" columns).
pub fn table(report: &StatusReport, now: f64) -> String {
    let header = [
        "VHID",
        "INTERFACE",
        "STATE",
        "TIMING",
        "ADDRESSES",
        "MASTER SEEN",
        "LAST TRANSITION",
    ];
    let rows: Vec<[String; 7]> = report.vhids.iter().map(|v| row(v, now)).collect();

    let mut out = String::new();
    if rows.is_empty() {
        out.push_str("no CARP VHIDs configured\n");
    } else {
        let mut widths = header.map(str::len);
        for r in &rows {
            for (w, cell) in widths.iter_mut().zip(r) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let header = header.map(String::from);
        for r in std::iter::once(&header).chain(rows.iter()) {
            let mut line = String::new();
            for (i, (cell, w)) in r.iter().zip(widths).enumerate() {
                if i + 1 == r.len() {
                    line.push_str(cell);
                } else {
                    line.push_str(cell);
                    line.extend(std::iter::repeat_n(' ', w - cell.chars().count() + 2));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
    }

    out.push('\n');
    out.push_str(&demotion_line(report, now));
    out.push('\n');
    let g = &report.carp;
    out.push_str(&format!(
        "allow {}  maintenance {}  preempt {}  engine {}\n",
        if g.allow { 1 } else { 0 },
        on_off(g.maintenance),
        on_off(g.preempt),
        if report.engine.is_empty() {
            "?"
        } else {
            &report.engine
        }
    ));
    if !g.drops.is_empty() {
        let parts: Vec<String> = g.drops.iter().map(|(k, n)| format!("{k} {n}")).collect();
        out.push_str(&format!(
            "dropped before matching a VHID: {}\n",
            parts.join(", ")
        ));
    }
    for v in &report.vhids {
        if let Some(h) = v.hooks.iter().rev().find(|h| hook_failed(h)) {
            out.push_str(&format!(
                "hook {} failed for {}@{} {} ({}) {}\n",
                h.hook,
                v.vhid,
                v.device,
                h.state,
                hook_outcome(h),
                ago(now - h.at)
            ));
        }
    }
    for c in &g.checks {
        out.push_str(&format!(
            "check {} ({}): {}, {} runs, {} failed, {} timed out; last: {}\n",
            c.name,
            c.kind,
            if c.ok { "ok" } else { "FAILING" },
            c.runs,
            c.failures,
            c.timeouts,
            if c.last.is_empty() {
                "not run yet"
            } else {
                &c.last
            }
        ));
    }
    for hint in hints(report) {
        out.push_str("hint: ");
        out.push_str(&hint);
        out.push('\n');
    }
    out
}

fn on_off(b: bool) -> &'static str {
    if b { "on" } else { "off" }
}

fn hook_failed(h: &HookResult) -> bool {
    h.timed_out || h.exit_code != Some(0)
}

fn hook_outcome(h: &HookResult) -> String {
    match (h.timed_out, h.exit_code) {
        (true, _) => format!("killed at timeout after {} ms", h.duration_ms),
        (false, Some(c)) => format!("exit {c}"),
        (false, None) => "did not start or was killed".to_string(),
    }
}

fn row(v: &VhidStatus, now: f64) -> [String; 7] {
    let interface = match (v.interface.is_empty(), v.device.is_empty()) {
        (false, false) => format!("{} ({})", v.interface, v.device),
        (false, true) => v.interface.clone(),
        (true, _) => v.device.clone(),
    };
    let addresses = if v.addresses.is_empty() {
        "-".to_string()
    } else {
        v.addresses
            .iter()
            .map(|a| {
                let mut s = format!("{}/{}", a.address, a.prefix);
                if a.mode == "ipalias" {
                    s.push_str(" (alias)");
                }
                s
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let master = if v.state == "MASTER" {
        "self".to_string()
    } else {
        match (&v.master_source, v.master_seen_ago) {
            (Some(src), Some(secs)) => format!("{src}, {}", ago(secs)),
            (Some(src), None) => src.clone(),
            (None, Some(secs)) => ago(secs),
            (None, None) => "-".to_string(),
        }
    };
    let last = match &v.last_transition {
        Some(t) => {
            let mut s = format!("{}: {} -> {}", ago(now - t.at), t.from, t.to);
            if !t.reason.is_empty() {
                s.push_str(&format!(" ({})", t.reason));
            }
            s
        }
        None => "-".to_string(),
    };
    [
        v.vhid.to_string(),
        interface,
        v.state.clone(),
        timing(v),
        addresses,
        master,
        last,
    ]
}

/// CARP: `advbase/advskew`. VRRPv3: `vrrp3 prio 100 @ 1s`, with the demoted priority and
/// the interval learnt from the master when they differ from the configured ones.
fn timing(v: &VhidStatus) -> String {
    let Some(r) = &v.vrrp else {
        return format!("{}/{}", v.advbase, v.advskew);
    };
    let mut s = format!("vrrp3 prio {}", r.priority);
    if let Some(p) = r.effective_priority.filter(|p| *p != r.priority) {
        s.push_str(&format!(" (now {p})"));
    }
    s.push_str(&format!(" @ {}", centiseconds(r.interval_cs)));
    if let Some(m) = r.master_interval_cs.filter(|m| *m != r.interval_cs) {
        s.push_str(&format!(" (master {})", centiseconds(m)));
    }
    s
}

/// `10ms`, `1s`, `1.5s`.
fn centiseconds(cs: u16) -> String {
    if cs < 100 {
        format!("{}ms", u32::from(cs) * 10)
    } else if cs.is_multiple_of(100) {
        format!("{}s", cs / 100)
    } else {
        format!("{}s", f64::from(cs) / 100.0)
    }
}

/// A time left: `3.2s`, `14m59s`, `2h03m` (never negative: an expiry due now shows 0s).
fn left(secs: f64) -> String {
    ago(secs.max(0.0)).trim_end_matches(" ago").to_string()
}

/// `3.2s ago`, `42s ago`, `3m12s ago`, `2h03m ago`, `3d04h ago`.
fn ago(secs: f64) -> String {
    if !secs.is_finite() || secs < 0.0 {
        // A clock step backwards; say so rather than print a negative age.
        return "just now (clock stepped)".to_string();
    }
    let whole = secs as u64;
    let text = if secs < 10.0 {
        format!("{secs:.1}s")
    } else if whole < 60 {
        format!("{whole}s")
    } else if whole < 3600 {
        format!("{}m{:02}s", whole / 60, whole % 60)
    } else if whole < 86400 {
        format!("{}h{:02}m", whole / 3600, (whole % 3600) / 60)
    } else {
        format!("{}d{:02}h", whole / 86400, (whole % 86400) / 3600)
    };
    format!("{text} ago")
}

/// `demotion 290 = maintenance 240 + service:openvpn 50 (for 14m59s)`.
fn demotion_line(report: &StatusReport, now: f64) -> String {
    let g = &report.carp;
    let mut line = format!("demotion {}", g.demotion);
    let parts: Vec<(String, i64)> = g
        .demotions
        .iter()
        .filter(|(_, v)| **v != 0)
        .map(|(k, v)| (k.clone(), i64::from(*v)))
        .collect();
    let accounted: i64 = parts.iter().map(|(_, v)| v).sum();
    let unaccounted = i64::from(g.demotion) - accounted;
    if parts.is_empty() && unaccounted == 0 {
        return line;
    }
    let mut terms: Vec<String> = parts
        .iter()
        .map(|(k, v)| match g.demotion_expires.get(k) {
            Some(at) => format!("{k} {v} (for {})", left(at - now)),
            None => format!("{k} {v}"),
        })
        .collect();
    if unaccounted != 0 {
        terms.push(format!("unaccounted {unaccounted}"));
    }
    line.push_str(" = ");
    line.push_str(&terms.join(" + "));
    line
}

/// Things an operator would otherwise have to work out from the numbers.
fn hints(report: &StatusReport) -> Vec<String> {
    let g = &report.carp;
    let mut hints = Vec::new();
    let names = |state: &str| -> Vec<String> {
        report
            .vhids
            .iter()
            .filter(|v| v.state == state)
            .map(|v| format!("{}@{}", v.vhid, v.device))
            .collect()
    };
    let (masters, backups) = (names("MASTER"), names("BACKUP"));
    hints.extend(g.waiting.iter().cloned());
    if !g.allow {
        hints.push(
            "CARP is disabled on this node (allow 0): it sends nothing and will not become MASTER; `carpd enable` turns it back on".to_string(),
        );
    }
    if g.demotion > 0 {
        if !masters.is_empty() {
            // carp(4) does not report peers, so on the native engine carpd cannot say whether one is there.
            let why = if report.engine == "native" {
                "no peer has taken over (the kernel does not report peers)"
            } else {
                "no better peer seen, so the demotion will not move the VIP"
            };
            hints.push(format!(
                "demoted by {} but still MASTER of {}: {why}; a VIP moves only to a backup with preempt on and a lower advskew + demotion",
                g.demotion,
                masters.join(", ")
            ));
        }
        if !g.maintenance {
            hints.push(
                "demoted without maintenance mode: something reported a problem (see the breakdown above)".to_string(),
            );
        }
    }
    if !g.preempt {
        hints.push(
            "preempt is off: this node takes MASTER only when the current master goes silent, and will not yield to a better peer it hears".to_string(),
        );
    }
    // Active/active is a choice, but users who expect every VIP to follow one node are hit by
    // this after a link flap or an upgrade (user-pain A): say so rather than leave it to a grep.
    if !masters.is_empty() && !backups.is_empty() {
        hints.push(format!(
            "mixed roles: MASTER of {}, BACKUP of {}; if every VIP should follow one node, give all VHIDs the same advskew on each node and check the LAST TRANSITION reasons",
            masters.join(", "),
            backups.join(", ")
        ));
    }
    for v in &report.vhids {
        if let Some(n) = v.drops.get("badauth").filter(|n| **n > 0) {
            hints.push(format!(
                "VHID {}@{}: {n} advert(s) failed authentication: another node uses this VHID with a different password or address set (a peer misconfigured, or another cluster on this segment)",
                v.vhid, v.device
            ));
        }
    }
    for v in &report.vhids {
        let count = |reason: &str| v.drops.get(reason).copied().unwrap_or(0);
        let name = format!("{}@{}", v.vhid, v.device);
        if count("vrrponcarp") > 0 {
            hints.push(format!(
                "VHID {name}: {} VRRP advert(s) with VRID {} heard: a VRRP router uses this CARP VHID's number, and both take the virtual MAC 00:00:5e:00:01:{:02x}; give one of them another number",
                count("vrrponcarp"), v.vhid, v.vhid
            ));
        }
        if count("carponvrrp") > 0 {
            hints.push(format!(
                "VHID {name}: {} CARP advert(s) with VHID {} heard: a CARP node uses this VRRP router's number (virtual MAC 00:00:5e:00:01:{:02x}); give one of them another number",
                count("carponvrrp"), v.vhid, v.vhid
            ));
        }
        if count("vrrpv2") > 0 {
            hints.push(format!(
                "VHID {name}: {} VRRPv2 advert(s) heard: carpd speaks VRRPv3 only; set the peer to version 3 (keepalived: vrrp_version 3)",
                count("vrrpv2")
            ));
        }
        if count("badaddrs") > 0 {
            hints.push(format!(
                "VHID {name}: {} VRRP advert(s) listed other addresses than ours and were dropped: both routers must list the same virtual addresses",
                count("badaddrs")
            ));
        }
        if let Some(r) = v.vrrp.as_ref().filter(|r| r.interval_mismatches > 0) {
            hints.push(format!(
                "VHID {name}: {} advert(s) came with another interval than our {}: backups follow the master's, but a failover then changes the timing; set the same interval on every router",
                r.interval_mismatches,
                centiseconds(r.interval_cs)
            ));
        }
    }
    for v in report
        .vhids
        .iter()
        .filter(|v| v.dual_master.unwrap_or(0) > 0)
    {
        hints.push(format!(
            "VHID {}@{}: another master was heard {} time(s) while this node was MASTER (see the log for who and why): two masters on the segment until one yields; a node that cannot hear the other, or differing passwords, timings or address sets",
            v.vhid,
            v.device,
            v.dual_master.unwrap_or(0)
        ));
    }
    for v in report.vhids.iter().filter(|v| v.state == "DISABLED") {
        hints.push(format!(
            "VHID {}@{} is configured but not running ({})",
            v.vhid,
            v.device,
            if report.engine == "native" {
                "not present in the kernel; `carpd apply` creates it"
            } else {
                "no engine runs it"
            }
        ));
    }
    hints
}

/// OPNsense's get_vip_status shape (opnsense-integration §3.1) with carpd's extras per row
/// under `carpd`; serialize it with serde_json.
///
/// Rows come in OPNsense's order: per device (in order of first appearance), the IPv4
/// addresses of its live VHIDs, then their IPv6 addresses; after all devices, one row per
/// address of every `DISABLED` VHID in config order. Every row value is a string except
/// `interface`, which is null when the device has no assigned interface name. `total`,
/// `rowCount` and `current` are numbers, as `searchRecordsetBase` gives them. carpd's
/// global extras (engine, demotion breakdown, preempt) are under a top-level `carpd` key.
///
/// Typed rather than built as a `serde_json::Value`: a status of 255 VHIDs then renders in a
/// fraction of a millisecond instead of two.
pub fn opnsense_json(report: &StatusReport) -> OpnsenseStatus<'_> {
    let mut rows = Vec::new();
    let live: Vec<&VhidStatus> = report
        .vhids
        .iter()
        .filter(|v| v.state != "DISABLED")
        .collect();
    let mut devices: Vec<&str> = Vec::new();
    for v in &live {
        if !devices.contains(&v.device.as_str()) {
            devices.push(&v.device);
        }
    }
    for device in devices {
        let on_device: Vec<&&VhidStatus> = live.iter().filter(|v| v.device == device).collect();
        for want_v6 in [false, true] {
            for v in &on_device {
                for a in v.addresses.iter().filter(|a| is_v6(a) == want_v6) {
                    let interface = (!v.interface.is_empty()).then_some(v.interface.as_str());
                    rows.push(opnsense_row(v, a, interface));
                }
            }
        }
    }
    for v in report.vhids.iter().filter(|v| v.state == "DISABLED") {
        for a in &v.addresses {
            rows.push(opnsense_row(v, a, Some(&v.interface)));
        }
    }

    let g = &report.carp;
    let any_carp = report
        .vhids
        .iter()
        .any(|v| v.addresses.iter().any(|a| a.mode == "carp"));
    let status_msg = if !g.maintenance && g.demotion != 0 {
        DEMOTED_MSG
    } else if !any_carp {
        NO_CARP_MSG
    } else {
        ""
    };
    OpnsenseStatus {
        total: rows.len(),
        row_count: rows.len(),
        current: 1,
        rows,
        carp: CarpBlock {
            demotion: g.demotion.to_string(),
            allow: if g.allow { "1" } else { "0" },
            maintenancemode: g.maintenance,
            status_msg,
        },
        carpd: CarpdBlock {
            engine: &report.engine,
            demotions: &g.demotions,
            demotion_expires: &g.demotion_expires,
            preempt: g.preempt,
            drops: &g.drops,
            waiting: &g.waiting,
            checks: &g.checks,
        },
    }
}

#[derive(Serialize)]
pub struct OpnsenseStatus<'a> {
    total: usize,
    #[serde(rename = "rowCount")]
    row_count: usize,
    current: u32,
    rows: Vec<OpnsenseRow<'a>>,
    carp: CarpBlock,
    carpd: CarpdBlock<'a>,
}

#[derive(Serialize)]
struct OpnsenseRow<'a> {
    interface: Option<&'a str>,
    vhid: String,
    advbase: String,
    advskew: String,
    subnet: &'a str,
    status: &'a str,
    mode: &'a str,
    status_txt: &'a str,
    vhid_txt: String,
    carpd: RowExtras<'a>,
}

/// carpd's per-row extras.
#[derive(Serialize)]
struct RowExtras<'a> {
    device: &'a str,
    prefix: u8,
    last_transition: &'a Option<TransitionInfo>,
    transitions: Option<u64>,
    history: &'a [TransitionInfo],
    master_source: &'a Option<String>,
    master_seen_ago: Option<f64>,
    adverts_sent: u64,
    adverts_received: u64,
    drops: &'a BTreeMap<String, u64>,
    hooks: &'a [HookResult],
    peer: &'a Option<String>,
    peer6: &'a Option<String>,
    protocol: VhidProtocol,
    #[serde(skip_serializing_if = "Option::is_none")]
    vrrp: &'a Option<VrrpStatus>,
}

#[derive(Serialize)]
struct CarpBlock {
    demotion: String,
    allow: &'static str,
    maintenancemode: bool,
    status_msg: &'static str,
}

#[derive(Serialize)]
struct CarpdBlock<'a> {
    engine: &'a str,
    demotions: &'a BTreeMap<String, i32>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    demotion_expires: &'a BTreeMap<String, f64>,
    preempt: bool,
    drops: &'a BTreeMap<String, u64>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    waiting: &'a [String],
    #[serde(skip_serializing_if = "<[CheckStatus]>::is_empty")]
    checks: &'a [CheckStatus],
}

fn is_v6(a: &AddressStatus) -> bool {
    a.address.contains(':')
}

fn opnsense_row<'a>(
    v: &'a VhidStatus,
    a: &'a AddressStatus,
    interface: Option<&'a str>,
) -> OpnsenseRow<'a> {
    // OPNsense calls an address it cannot find in the model an ipalias.
    let mode = if a.mode.is_empty() {
        "ipalias"
    } else {
        a.mode.as_str()
    };
    let status_txt = match v.state.as_str() {
        "MASTER" | "BACKUP" | "INIT" => v.state.as_str(),
        _ => "DISABLED",
    };
    let vhid_txt = if mode == "carp" {
        format!("{} (freq. {}/{})", v.vhid, v.advbase, v.advskew)
    } else {
        v.vhid.to_string()
    };
    OpnsenseRow {
        interface,
        vhid: v.vhid.to_string(),
        advbase: v.advbase.to_string(),
        advskew: v.advskew.to_string(),
        subnet: &a.address,
        status: &v.state,
        mode,
        status_txt,
        vhid_txt,
        carpd: RowExtras {
            device: &v.device,
            prefix: a.prefix,
            last_transition: &v.last_transition,
            transitions: v.transitions,
            history: &v.history,
            master_source: &v.master_source,
            master_seen_ago: v.master_seen_ago,
            adverts_sent: v.adverts_sent,
            adverts_received: v.adverts_received,
            drops: &v.drops,
            hooks: &v.hooks,
            peer: &v.peer,
            peer6: &v.peer6,
            protocol: v.protocol,
            vrrp: &v.vrrp,
        },
    }
}

/// Prometheus text exposition (version 0.0.4) of the report, for node_exporter's textfile
/// collector: `carpd status --prometheus > /var/lib/node_exporter/carpd.prom.$$ && mv …`.
/// The state is one series per state name (1 for the current one), so alerts read
/// `carpd_vhid_state{state="MASTER"} == 1` without decoding numbers.
pub fn prometheus(report: &StatusReport) -> String {
    let mut out = String::new();
    let mut family = |name: &str, kind: &str, help: &str, samples: Vec<(String, String)>| {
        out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n"));
        for (labels, value) in samples {
            out.push_str(&format!("{name}{labels} {value}\n"));
        }
    };
    let g = &report.carp;
    let flag = |b: bool| u8::from(b).to_string();
    family(
        "carpd_info",
        "gauge",
        "Which engine answered (userspace or native).",
        vec![(labels(&[("engine", &report.engine)]), "1".into())],
    );
    family(
        "carpd_allow",
        "gauge",
        "1 while CARP is allowed (net.inet.carp.allow; 0 after carpd disable).",
        vec![(String::new(), flag(g.allow))],
    );
    family(
        "carpd_maintenance",
        "gauge",
        "1 in maintenance mode.",
        vec![(String::new(), flag(g.maintenance))],
    );
    family(
        "carpd_preempt",
        "gauge",
        "1 when preempt is on.",
        vec![(String::new(), flag(g.preempt))],
    );
    family(
        "carpd_demotion",
        "gauge",
        "Total demotion added to every VHID's advskew.",
        vec![(String::new(), g.demotion.to_string())],
    );
    family(
        "carpd_demotion_contribution",
        "gauge",
        "Demotion by source (maintenance, named demotions, interface down, kernel).",
        g.demotions
            .iter()
            .map(|(name, v)| (labels(&[("name", name)]), v.to_string()))
            .collect(),
    );
    family(
        "carpd_demotion_expires_timestamp_seconds",
        "gauge",
        "Unix time at which a named demotion given with --for removes itself.",
        g.demotion_expires
            .iter()
            .map(|(name, at)| (labels(&[("name", name)]), format!("{at:.3}")))
            .collect(),
    );
    let per_check = |value: &dyn Fn(&CheckStatus) -> String| -> Vec<(String, String)> {
        g.checks
            .iter()
            .map(|c| {
                let l = labels(&[("check", c.name.as_str()), ("type", c.kind.as_str())]);
                (l, value(c))
            })
            .collect()
    };
    family(
        "carpd_check_up",
        "gauge",
        "1 while a tracked check passes (after rise/fall), 0 while it fails.",
        per_check(&|c| flag(c.ok).to_string()),
    );
    family(
        "carpd_check_runs_total",
        "counter",
        "Runs of a tracked check.",
        per_check(&|c| c.runs.to_string()),
    );
    family(
        "carpd_check_failures_total",
        "counter",
        "Runs of a tracked check that failed.",
        per_check(&|c| c.failures.to_string()),
    );
    family(
        "carpd_check_timeouts_total",
        "counter",
        "Runs of a tracked check killed at its timeout.",
        per_check(&|c| c.timeouts.to_string()),
    );
    family(
        "carpd_unmatched_drops_total",
        "counter",
        "Packets dropped before they matched a configured VHID, by reason.",
        g.drops
            .iter()
            .map(|(reason, n)| (labels(&[("reason", reason)]), n.to_string()))
            .collect(),
    );

    let vhid_labels = |v: &VhidStatus, extra: &[(&str, &str)]| {
        let vhid = v.vhid.to_string();
        let mut all = vec![
            ("device", v.device.as_str()),
            ("vhid", vhid.as_str()),
            ("interface", v.interface.as_str()),
        ];
        all.extend_from_slice(extra);
        labels(&all)
    };
    let per_vhid = |value: &dyn Fn(&VhidStatus) -> Option<String>| -> Vec<(String, String)> {
        report
            .vhids
            .iter()
            .filter_map(|v| Some((vhid_labels(v, &[]), value(v)?)))
            .collect()
    };
    family(
        "carpd_vhid_state",
        "gauge",
        "1 for the VHID's current state (INIT, BACKUP, MASTER, or DISABLED: configured, not running).",
        report
            .vhids
            .iter()
            .flat_map(|v| {
                ["INIT", "BACKUP", "MASTER", "DISABLED"]
                    .map(|s| (vhid_labels(v, &[("state", s)]), flag(v.state == s)))
            })
            .collect(),
    );
    family(
        "carpd_vhid_advbase_seconds",
        "gauge",
        "Configured advertisement base interval.",
        per_vhid(&|v| Some(v.advbase.to_string())),
    );
    family(
        "carpd_vhid_advskew",
        "gauge",
        "Configured advertisement skew (before demotion).",
        per_vhid(&|v| Some(v.advskew.to_string())),
    );
    family(
        "carpd_vhid_adverts_sent_total",
        "counter",
        "Adverts sent.",
        per_vhid(&|v| Some(v.adverts_sent.to_string())),
    );
    family(
        "carpd_vhid_adverts_received_total",
        "counter",
        "Adverts accepted from the current or a competing master.",
        per_vhid(&|v| Some(v.adverts_received.to_string())),
    );
    family(
        "carpd_vhid_drops_total",
        "counter",
        "Adverts for this VHID dropped, by reason (badauth, badttl, replay, ...).",
        report
            .vhids
            .iter()
            .flat_map(|v| {
                v.drops
                    .iter()
                    .map(|(reason, n)| (vhid_labels(v, &[("reason", reason)]), n.to_string()))
            })
            .collect(),
    );
    let vrrp_vhid = |value: &dyn Fn(&VrrpStatus) -> Option<String>| -> Vec<(String, String)> {
        report
            .vhids
            .iter()
            .filter_map(|v| Some((vhid_labels(v, &[]), value(v.vrrp.as_ref()?)?)))
            .collect()
    };
    family(
        "carpd_vhid_protocol",
        "gauge",
        "1 for the protocol the VHID speaks (carp or vrrp3).",
        report
            .vhids
            .iter()
            .map(|v| {
                (
                    vhid_labels(v, &[("protocol", v.protocol.as_str())]),
                    "1".into(),
                )
            })
            .collect(),
    );
    family(
        "carpd_vhid_vrrp_priority",
        "gauge",
        "VRRPv3: configured priority.",
        vrrp_vhid(&|r| Some(r.priority.to_string())),
    );
    family(
        "carpd_vhid_vrrp_effective_priority",
        "gauge",
        "VRRPv3: priority advertised now (lowered by demotion).",
        vrrp_vhid(&|r| r.effective_priority.map(|p| p.to_string())),
    );
    family(
        "carpd_vhid_vrrp_interval_seconds",
        "gauge",
        "VRRPv3: configured advertisement interval.",
        vrrp_vhid(&|r| Some(format!("{:.2}", f64::from(r.interval_cs) / 100.0))),
    );
    family(
        "carpd_vhid_vrrp_master_interval_seconds",
        "gauge",
        "VRRPv3: the master's advertisement interval, as learnt from its adverts.",
        vrrp_vhid(&|r| {
            r.master_interval_cs
                .map(|m| format!("{:.2}", f64::from(m) / 100.0))
        }),
    );
    family(
        "carpd_vhid_vrrp_interval_mismatches_total",
        "counter",
        "VRRPv3: adverts accepted with another interval than ours.",
        vrrp_vhid(&|r| Some(r.interval_mismatches.to_string())),
    );
    family(
        "carpd_vhid_dual_master_total",
        "counter",
        "Adverts from another master heard while MASTER (not yielded to, or not authenticated).",
        per_vhid(&|v| v.dual_master.map(|n| n.to_string())),
    );
    family(
        "carpd_vhid_master_seen_seconds_ago",
        "gauge",
        "Seconds since the master's last advert was heard (BACKUP).",
        per_vhid(&|v| v.master_seen_ago.map(|s| format!("{s:.3}"))),
    );
    family(
        "carpd_vhid_transitions_total",
        "counter",
        "State changes since the daemon started (catches flaps between scrapes).",
        per_vhid(&|v| v.transitions.map(|n| n.to_string())),
    );
    family(
        "carpd_vhid_last_transition_timestamp_seconds",
        "gauge",
        "Unix time of the VHID's last state change.",
        per_vhid(&|v| v.last_transition.as_ref().map(|t| format!("{:.3}", t.at))),
    );
    out
}

/// `{a="x",b="y"}` with the text format's escaping (backslash, quote, newline).
fn labels(pairs: &[(&str, &str)]) -> String {
    let body: Vec<String> = pairs
        .iter()
        .map(|(k, v)| {
            let v = v
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n");
            format!("{k}=\"{v}\"")
        })
        .collect();
    format!("{{{}}}", body.join(","))
}
