//! The userspace engine's view rendered into the shared [`StatusReport`].

use std::time::Instant;

use crate::status::{GlobalStatus, HookResult, StatusReport, VhidStatus};

use super::group::Group;

pub fn vhid_status(g: &Group, now: Instant, hooks: Vec<HookResult>) -> VhidStatus {
    let seen = g.master_seen_ago(now);
    let mut v = VhidStatus {
        state: g.state().to_string(),
        master_source: seen.map(|(src, _)| src.to_string()),
        master_seen_ago: seen.map(|(_, ago)| ago),
        adverts_sent: g.counters.adverts_sent,
        adverts_received: g.counters.adverts_received,
        drops: g.counters.drops.clone(),
        dual_master: Some(g.counters.dual_master),
        hooks,
        ..VhidStatus::configured(&g.cfg)
    };
    if let (Some(status), Some(m)) = (v.vrrp.as_mut(), g.machine.vrrp()) {
        status.effective_priority = Some(m.priority());
        status.master_interval_cs = Some(m.master_interval_cs());
        status.master_priority = m.last_peer_priority();
        status.interval_mismatches = g.counters.interval_mismatches;
    }
    g.transitions.fill(&mut v);
    v
}

pub fn report(vhids: Vec<VhidStatus>, carp: GlobalStatus) -> StatusReport {
    StatusReport {
        engine: "userspace".to_string(),
        vhids,
        carp,
    }
}
