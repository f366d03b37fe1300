//! The kernel's CARP state as a [`StatusReport`], so `carpd status` renders the native engine
//! through the same code as the userspace one.

use std::collections::HashMap;

use super::kernel::{KernelState, KernelVhid};
use crate::config::Model;
use crate::operator::OperatorState;
use crate::status::{
    GlobalStatus, HookResult, StatusReport, Transitions, VhidProtocol, VhidStatus, VrrpStatus,
};

/// The daemon's report: the kernel's state plus carpd's operator state, so the demotion
/// breakdown names carpd's contributions and shows the rest as `kernel` (observed total −
/// carpd's part: interface-down and pfsync factors, other writers).
pub fn report_with_operator(
    model: &Model,
    kernel: &KernelState,
    operator: &OperatorState,
    owner: super::ops::FlagOwner,
) -> StatusReport {
    let mut r = report(model, kernel);
    r.carp.demotions = super::ops::breakdown(operator, model, owner, kernel.sysctl.demotion);
    r.carp.demotion_expires = operator.expires.clone();
    r.carp.maintenance = operator.maintenance || model.maintenance;
    if let Some(why) = pfsync_wait(model, kernel, r.carp.demotions.get("kernel").copied()) {
        r.carp.waiting.push(why);
    }
    r
}

/// pfsync's demotion factor by default: `V_pfsync_carp_adj = CARP_MAXSKEW` (240), the
/// sysctl `net.pfsync.carp_demotion_factor` (sys/netpfil/pf/if_pfsync.c; read in two
/// freebsd-src versions through the code index, commits not pinned, both alike here).
const PFSYNC_DEMOTION: i32 = 240;

/// The kernel's own part of the demotion, read as pfsync's bulk update when it can only be
/// that. pfsync adds its factor when a sync interface is set ("pfsync bulk start") and takes
/// it back when the peer's bulk update ends (`pfsync_in_bus`: "pfsync bulk done") or fails;
/// the other kernel source, carp(4)'s `ifdown_demotion_factor`, comes with a vhid in INIT. So:
/// pfsync configured, at least its factor unaccounted for, and no configured vhid in INIT.
fn pfsync_wait(model: &Model, kernel: &KernelState, own: Option<i32>) -> Option<String> {
    let own = own.filter(|d| *d >= PFSYNC_DEMOTION)?;
    let device = model.ha.pfsync.device.as_ref()?;
    let any_init = model.groups.iter().any(|g| {
        kernel
            .vhid(&g.device, g.vhid)
            .is_some_and(|v| v.state == crate::proto::State::Init)
    });
    (!any_init).then(|| {
        format!(
            "waiting for pfsync bulk update: the kernel's own demotion of {own} is pfsync's \
            (net.pfsync.carp_demotion_factor, 240 by default) while it fetches the peer's \
            states over {device}; it goes away when the bulk update ends or fails"
        )
    })
}

/// One row per configured vhid, in config order. A vhid the kernel does not have shows
/// `DISABLED`, as OPNsense's status page does for VIPs missing from ifconfig.
///
/// Without the daemon carpd's own contributions are unknown, so the whole total shows as
/// `kernel`; [`report_with_operator`] breaks it down.
pub fn report(model: &Model, kernel: &KernelState) -> StatusReport {
    let vhids = model
        .groups
        .iter()
        .map(|g| {
            let k = kernel.vhid(&g.device, g.vhid);
            let configured = VhidStatus::configured(g);
            // What the kernel runs with when it has the vhid, else what is configured.
            let (protocol, vrrp) = match k {
                None => (configured.protocol, configured.vrrp.clone()),
                Some(KernelVhid { vrrp: None, .. }) => (VhidProtocol::Carp, None),
                Some(KernelVhid { vrrp: Some(kv), .. }) => {
                    let mut v = configured.vrrp.clone().unwrap_or(VrrpStatus {
                        priority: kv.priority,
                        interval_cs: kv.interval_cs,
                        ..VrrpStatus::default()
                    });
                    v.effective_priority = Some(kv.priority);
                    v.interval_cs = kv.interval_cs;
                    (VhidProtocol::Vrrp3, Some(v))
                }
            };
            VhidStatus {
                state: k.map_or("DISABLED".to_string(), |v| v.state.as_str().to_string()),
                peer: k
                    .map_or(g.peer, |v| v.unicast_peer())
                    .map(|p| p.to_string()),
                peer6: k
                    .map_or(g.peer6, |v| v.unicast_peer6())
                    .map(|p| p.to_string()),
                protocol,
                vrrp,
                ..configured
            }
        })
        .collect();
    let mut demotions = std::collections::BTreeMap::new();
    if kernel.sysctl.demotion != 0 {
        // The kernel keeps one total; who added what is known only to whoever wrote it.
        demotions.insert("kernel".to_string(), kernel.sysctl.demotion);
    }
    StatusReport {
        engine: "native".into(),
        vhids,
        carp: GlobalStatus {
            demotion_expires: Default::default(),
            demotion: kernel.sysctl.demotion,
            demotions,
            allow: kernel.sysctl.allow,
            maintenance: model.maintenance,
            preempt: kernel.sysctl.preempt,
            // carp(4) counts its drops in net.inet.carp.stats, not per carpd.
            drops: Default::default(),
            waiting: Vec::new(),
            checks: Vec::new(),
        },
    }
}

/// Add what only the daemon knows to the kernel's report, per vhid: the transitions devd
/// reported since the daemon started (carp(4) keeps neither a count nor the time of a
/// change), and the hooks' last results.
pub fn add_daemon_view(
    report: &mut StatusReport,
    followed: &HashMap<(String, u8), Transitions>,
    hooks: impl Fn(&str, u8) -> Vec<HookResult>,
) {
    for v in &mut report.vhids {
        followed
            .get(&(v.device.clone(), v.vhid))
            .cloned()
            .unwrap_or_default()
            .fill(v);
        v.hooks = hooks(&v.device, v.vhid);
    }
}
