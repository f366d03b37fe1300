//! The userspace engine's view rendered into the shared [`StatusReport`].

use std::time::Instant;

use crate::config::VipMode;
use crate::status::{AddressStatus, GlobalStatus, HookResult, StatusReport, VhidStatus};

use super::group::Group;

pub fn vhid_status(g: &Group, now: Instant, hooks: Vec<HookResult>) -> VhidStatus {
    let seen = g.master_seen_ago(now);
    VhidStatus {
        interface: g.cfg.interface_name.clone(),
        device: g.cfg.device.clone(),
        vhid: g.cfg.vhid,
        advbase: g.cfg.advbase,
        advskew: g.cfg.advskew,
        state: g.state().to_string(),
        addresses: g
            .cfg
            .addresses
            .iter()
            .map(|a| AddressStatus {
                address: a.prefix.addr.to_string(),
                prefix: a.prefix.prefix,
                mode: match a.mode {
                    VipMode::Carp => "carp",
                    VipMode::Ipalias => "ipalias",
                }
                .to_string(),
            })
            .collect(),
        master_source: seen.map(|(src, _)| src.to_string()),
        master_seen_ago: seen.map(|(_, ago)| ago),
        last_transition: g.last_transition.clone(),
        adverts_sent: g.counters.adverts_sent,
        adverts_received: g.counters.adverts_received,
        drops: g.counters.drops.clone(),
        hooks,
        peer: g.cfg.peer.map(|p| p.to_string()),
        peer6: g.cfg.peer6.map(|p| p.to_string()),
    }
}

pub fn report(vhids: Vec<VhidStatus>, carp: GlobalStatus) -> StatusReport {
    StatusReport {
        engine: "userspace".to_string(),
        vhids,
        carp,
    }
}
