//! What `carpd status` reports, the same for both engines: the data here, renderers beside it
//! (human table, OPNsense `get_vip_status` JSON with carpd's extras).

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};

/// Snapshot of a running carpd (userspace engine) or of the kernel (native engine).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StatusReport {
    /// `userspace` or `native`.
    pub engine: String,
    pub vhids: Vec<VhidStatus>,
    pub carp: GlobalStatus,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GlobalStatus {
    /// Total demotion the engines use (native: `net.inet.carp.demotion`).
    pub demotion: i32,
    /// Named contributions, e.g. `maintenance` → 240, `service:openvpn` → 50, `kernel` → observed − carpd's.
    pub demotions: BTreeMap<String, i32>,
    /// When contributions given with `--for` end: Unix time, seconds, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub demotion_expires: BTreeMap<String, f64>,
    /// `net.inet.carp.allow` (false after `carpd disable`).
    pub allow: bool,
    pub maintenance: bool,
    pub preempt: bool,
    /// Packets dropped before they could be matched to a configured VHID (wrong vhid,
    /// malformed, VRRP), by reason.
    #[serde(default)]
    pub drops: BTreeMap<String, u64>,
    /// What keeps this node from taking MASTER now: the readiness wait, failing fault
    /// checks, the kernel's pfsync demotion (native).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub waiting: Vec<String>,
    /// Tracked checks, in config order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<CheckStatus>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct VhidStatus {
    /// Human interface name (`descr` or upper-cased key), as OPNsense shows it.
    pub interface: String,
    pub device: String,
    pub vhid: u8,
    pub advbase: u8,
    /// Configured advskew.
    pub advskew: u8,
    /// `INIT`/`BACKUP`/`MASTER`, or `DISABLED` when configured but absent (kernel) / not running.
    pub state: String,
    pub addresses: Vec<AddressStatus>,
    /// Source address of the current master's adverts (BACKUP), if one was heard.
    pub master_source: Option<String>,
    /// Seconds since the master's last advert was heard.
    pub master_seen_ago: Option<f64>,
    pub last_transition: Option<TransitionInfo>,
    /// State changes since the daemon started (native: as devd reported them); `None` when
    /// no daemon answered (carp(4) itself does not count them).
    #[serde(default)]
    pub transitions: Option<u64>,
    /// The last [`HISTORY_KEPT`] transitions, oldest first.
    #[serde(default)]
    pub history: Vec<TransitionInfo>,
    pub adverts_sent: u64,
    pub adverts_received: u64,
    /// Drops by reason (`badauth`, `badttl`, `badvhid`, …).
    pub drops: BTreeMap<String, u64>,
    /// Times another master was heard while this node was MASTER of the VHID (adverts it
    /// does not yield to, or cannot authenticate); `None` when nobody watches (native).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dual_master: Option<u64>,
    /// Results of the last hook runs for this VHID.
    pub hooks: Vec<HookResult>,
    /// Unicast peers, if any.
    pub peer: Option<String>,
    pub peer6: Option<String>,
    #[serde(default)]
    pub protocol: VhidProtocol,
    /// VRRPv3 settings and what the election learnt; `None` for CARP.
    #[serde(default)]
    pub vrrp: Option<VrrpStatus>,
}

/// The protocol a VHID speaks, as status names it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VhidProtocol {
    #[default]
    Carp,
    Vrrp3,
}

impl VhidProtocol {
    pub fn as_str(self) -> &'static str {
        match self {
            VhidProtocol::Carp => "carp",
            VhidProtocol::Vrrp3 => "vrrp3",
        }
    }
}

/// A VRRPv3 router's priority and timing.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct VrrpStatus {
    /// Configured priority.
    pub priority: u8,
    /// Priority advertised now (configured, lowered by demotion); `None` when not observed.
    pub effective_priority: Option<u8>,
    /// Configured advertisement interval, centiseconds.
    pub interval_cs: u16,
    /// Master_Adver_Interval: the master's interval as learnt from its adverts, centiseconds.
    pub master_interval_cs: Option<u16>,
    pub preempt: bool,
    pub accept: bool,
    /// Priority in the last advert heard from another router.
    pub master_priority: Option<u8>,
    /// Adverts accepted whose interval differs from ours.
    pub interval_mismatches: u64,
}

impl VhidStatus {
    /// What the configuration says of a VHID; the engine fills in what it observes.
    pub fn configured(g: &crate::config::CarpGroup) -> VhidStatus {
        VhidStatus {
            interface: g.interface_name.clone(),
            device: g.device.clone(),
            vhid: g.vhid,
            advbase: g.advbase,
            advskew: g.advskew,
            addresses: g
                .addresses
                .iter()
                .map(|a| AddressStatus {
                    address: a.prefix.addr.to_string(),
                    prefix: a.prefix.prefix,
                    mode: match a.mode {
                        crate::config::VipMode::Carp => "carp",
                        crate::config::VipMode::Ipalias => "ipalias",
                    }
                    .to_string(),
                })
                .collect(),
            peer: g.peer.map(|p| p.to_string()),
            peer6: g.peer6.map(|p| p.to_string()),
            protocol: match g.protocol {
                crate::config::Protocol::Carp => VhidProtocol::Carp,
                crate::config::Protocol::Vrrp3(_) => VhidProtocol::Vrrp3,
            },
            vrrp: g.vrrp().map(|v| VrrpStatus {
                priority: v.priority,
                interval_cs: v.interval_cs,
                preempt: v.preempt,
                accept: v.accept,
                ..VrrpStatus::default()
            }),
            ..VhidStatus::default()
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressStatus {
    /// Address without prefix, as ifconfig prints it.
    pub address: String,
    pub prefix: u8,
    /// `carp` or `ipalias`.
    pub mode: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TransitionInfo {
    pub from: String,
    pub to: String,
    pub reason: String,
    /// Unix time, seconds.
    pub at: f64,
}

/// Transitions kept per VHID for `carpd status`.
pub const HISTORY_KEPT: usize = 16;

/// What a daemon saw of one VHID's transitions since it started: how many, and the last few.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Transitions {
    count: u64,
    recent: VecDeque<TransitionInfo>,
}

impl Transitions {
    pub fn record(&mut self, from: &str, to: &str, reason: &str, at: f64) {
        self.count += 1;
        self.recent.push_back(TransitionInfo {
            from: from.to_string(),
            to: to.to_string(),
            reason: reason.to_string(),
            at,
        });
        while self.recent.len() > HISTORY_KEPT {
            self.recent.pop_front();
        }
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    /// Put them into a VHID's status: count, last transition, history.
    pub fn fill(&self, v: &mut VhidStatus) {
        v.transitions = Some(self.count);
        v.last_transition = self.recent.back().cloned();
        v.history = self.recent.iter().cloned().collect();
    }
}

/// One tracked check as status shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckStatus {
    pub name: String,
    /// `link`, `command`, `file` or `process`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Its verdict after rise/fall.
    pub ok: bool,
    /// What it adds to the demotion now (0 while OK; a fault check on the userspace engine
    /// takes VHIDs out of service instead).
    pub demotion: i32,
    pub runs: u64,
    /// Runs that failed, and those of them killed at the timeout.
    pub failures: u64,
    pub timeouts: u64,
    /// What the last run said (`exit 1: …`, `timed out after 2 s (killed)`, …).
    pub last: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HookResult {
    pub hook: String,
    pub state: String,
    /// Exit code; `None` when killed at the timeout or failed to start.
    pub exit_code: Option<i32>,
    pub timed_out: bool,
    pub duration_ms: u64,
    /// Unix time the hook finished, seconds.
    pub at: f64,
}

pub mod render;
