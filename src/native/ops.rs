//! Operator controls on the native engine: a request (maintenance, demote, state,
//! disable/enable) plus what carpd and the kernel hold now → the kernel writes to make, as an
//! [`OpsPlan`]. Pure; the daemon in `native::run` executes the plan through
//! `platform::freebsd` and keeps the books.
//!
//! The rules:
//!
//! * **Demotion is written as deltas.** carp(4) *adds* whatever is written to
//!   `net.inet.carp.demotion` (carp-spec §4), and the total is shared with the kernel's own
//!   sources (an interface down adds `ifdown_demotion_factor` per vhid, a pfsync bulk update
//!   adds its factor) and with other writers. carpd writes exactly the change of its own
//!   part: entering maintenance writes `+240`, leaving writes `-240` — never OPNsense's
//!   `default − current`, which would wipe every other contribution with it.
//! * **carpd's part** is [`carpd_demotion`]: the operator's named contributions, 240 for
//!   maintenance, and 240 when config.xml has `<virtualip_carp_maintenancemode>` (counted
//!   once if both are on), exactly as the userspace engine adds it to its adverts.
//! * **The kernel's own part** as `carpd status` shows it is the observed total minus
//!   carpd's part.
//! * **Start-up ([`reconcile`]).** The kernel's own part is taken as
//!   `max(observed − recorded, 0)`, where *recorded* is what carpd wrote since boot
//!   ([`super::demotion_record`]), and carpd writes `carpd's part + kernel's own − observed`.
//!   A daemon restart finds its 240 recorded and in the kernel and writes nothing; a reboot
//!   finds no record and a kernel at 0 and writes 240. The clamp at 0 holds because carp(4)'s
//!   own sources only ever add: a total below the record means somebody removed carpd's
//!   part (OPNsense's leave-maintenance, pfSense's "reset demotion", a reloaded carp module),
//!   and carpd writes it again.
//! * **Forced state** is a carp(4) SET with the state and the vhid's current advbase and
//!   advskew (a SET without advskew resets it to 0), no key and no peer (absent = keep).
//!   carp(4) ignores a requested state while the vhid is INIT, so such vhids get a note, not a
//!   write.

use serde::Serialize;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::kernel::KernelState;
use crate::config::Model;
use crate::control::{ForcedState, Request};
use crate::operator::{MAINTENANCE_DEMOTION, OperatorError, OperatorState, Persist};
use crate::proto::State;

/// One kernel write.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// Add `delta` to `net.inet.carp.demotion` (the kernel adds; this is never a total).
    Demotion { delta: i32 },
    /// `net.inet.carp.allow` = 0/1.
    Allow { allow: bool },
    /// Force a vhid to BACKUP or MASTER (carp(4) SET with state, read-modify-write).
    SetState {
        device: String,
        vhid: u8,
        state: ForcedState,
        /// The vhid's unicast peers, only so that the rendered `ifconfig` line keeps them
        /// (FreeBSD 14's ifconfig resets peers to multicast on every `vhid` command); the
        /// SET itself sends no peer, which the kernel reads as "keep".
        #[serde(skip)]
        peer: Option<Ipv4Addr>,
        #[serde(skip)]
        peer6: Option<Ipv6Addr>,
    },
}

impl Action {
    /// The equivalent command line.
    pub fn command(&self) -> String {
        match self {
            Action::Demotion { delta } => format!("sysctl net.inet.carp.demotion={delta}"),
            Action::Allow { allow } => format!("sysctl net.inet.carp.allow={}", u8::from(*allow)),
            Action::SetState {
                device,
                vhid,
                state,
                peer,
                peer6,
            } => {
                let word = match state {
                    ForcedState::Backup => "backup",
                    ForcedState::Master => "master",
                };
                let mut line = format!("ifconfig {device} vhid {vhid} state {word}");
                if let Some(p) = peer {
                    line.push_str(&format!(" peer {p}"));
                }
                if let Some(p) = peer6 {
                    line.push_str(&format!(" peer6 {p}"));
                }
                line
            }
        }
    }
}

/// Kernel writes in order, and what was noticed but needs no write.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct OpsPlan {
    pub actions: Vec<Action>,
    pub notes: Vec<String>,
}

impl OpsPlan {
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }
    pub fn commands(&self) -> Vec<String> {
        self.actions.iter().map(Action::command).collect()
    }
    /// Net change of `net.inet.carp.demotion` the plan makes.
    pub fn demotion_delta(&self) -> i64 {
        self.actions
            .iter()
            .map(|a| match a {
                Action::Demotion { delta } => i64::from(*delta),
                _ => 0,
            })
            .sum()
    }
    fn demote(&mut self, delta: i32) {
        if delta != 0 {
            self.actions.push(Action::Demotion { delta });
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    #[error(transparent)]
    Operator(#[from] OperatorError),
    #[error(
        "maintenance mode is set in config.xml (<virtualip_carp_maintenancemode>): leave it there"
    )]
    ConfigMaintenance,
    #[error("no configured VHID matches")]
    NoMatch,
    #[error(
        "net.inet.carp.demotion would leave the kernel's int range ({0}); clear some named demotions first"
    )]
    Overflow(i64),
}

/// Who writes the 240 of config.xml's `<virtualip_carp_maintenancemode>` into the kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlagOwner {
    /// FreeBSD, pfSense: carpd counts the flag as its own +240 and writes it.
    Carpd,
    /// OPNsense: core writes it — `carp_set_status.php maintenance` adds 240 when it sets the
    /// flag and writes `default − current` when it clears it, and `rc.syshook.d/early/90-carp`
    /// writes 240 at boot while the flag is set (opnsense/core f95e815) — so carpd reports it
    /// and never writes it.
    Core,
}

/// carpd's part of `net.inet.carp.demotion`: the operator's contributions, plus 240 for
/// config.xml's maintenance mode when carpd owns the flag and the operator's own maintenance
/// is not already on.
pub fn carpd_demotion(operator: &OperatorState, model: &Model, owner: FlagOwner) -> i32 {
    match owner {
        FlagOwner::Carpd => {
            let mut total = operator.total_demotion();
            if model.maintenance && !operator.maintenance {
                total = total.saturating_add(MAINTENANCE_DEMOTION);
            }
            total
        }
        // Maintenance is core's there, whatever carpd's own state file says.
        FlagOwner::Core => operator.named_total(),
    }
}

/// Every contribution by name as status shows it, `kernel` (observed − carpd's part − core's
/// maintenance 240) included when it is not 0.
pub fn breakdown(
    operator: &OperatorState,
    model: &Model,
    owner: FlagOwner,
    kernel_total: i32,
) -> std::collections::BTreeMap<String, i32> {
    let mut all = operator.breakdown();
    if model.maintenance {
        all.insert(
            crate::operator::MAINTENANCE_NAME.to_string(),
            MAINTENANCE_DEMOTION,
        );
    }
    let core = if owner == FlagOwner::Core && model.maintenance {
        MAINTENANCE_DEMOTION
    } else {
        0
    };
    let own = i64::from(kernel_total)
        - i64::from(carpd_demotion(operator, model, owner))
        - i64::from(core);
    if own != 0 {
        all.insert(
            "kernel".to_string(),
            own.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32,
        );
    }
    all
}

/// What the daemon sees when a request comes in.
pub struct Context<'a> {
    pub model: &'a Model,
    pub owner: FlagOwner,
    /// The operator state in effect (carpd's part of the demotion is computed from it).
    pub operator: &'a OperatorState,
    pub kernel: &'a KernelState,
    /// Unix time, seconds (when a `--for` demotion ends).
    pub now: f64,
}

/// An accepted request: the writes, the state once they are done, the answer fields.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    pub plan: OpsPlan,
    /// The operator state in effect after the plan ran.
    pub operator: OperatorState,
    /// Written into the persistent state file *before* the plan runs, as the userspace
    /// engine does.
    pub persist: Option<Persist>,
    /// The answer's fields (the daemon adds `status` and the executed commands).
    pub answer: serde_json::Value,
}

impl Context<'_> {
    fn carpd(&self) -> i32 {
        carpd_demotion(self.operator, self.model, self.owner)
    }

    /// The kernel total after adding `delta`, checked against the sysctl's int.
    fn total_after(&self, delta: i64) -> Result<i32, OpsError> {
        let total = i64::from(self.kernel.sysctl.demotion) + delta;
        i32::try_from(total).map_err(|_| OpsError::Overflow(total))
    }

    /// The demotion change from the current operator state to `next`.
    fn demotion_change(&self, next: &OperatorState) -> Result<(OpsPlan, i32), OpsError> {
        let delta =
            i64::from(carpd_demotion(next, self.model, self.owner)) - i64::from(self.carpd());
        let total = self.total_after(delta)?;
        let mut plan = OpsPlan::default();
        plan.demote(i32::try_from(delta).map_err(|_| OpsError::Overflow(delta))?);
        Ok((plan, total))
    }
}

/// Plan a control request. `Ok(None)` for requests that write nothing to the kernel by
/// themselves (status, reload, hooks replay: the daemon answers those directly).
pub fn plan_request(ctx: &Context<'_>, req: &Request) -> Result<Option<Change>, OpsError> {
    Ok(Some(match req {
        Request::Status | Request::Reload | Request::HooksReplay => return Ok(None),
        Request::Maintenance { enter, persistent } => maintenance(ctx, *enter, *persistent)?,
        Request::Demote {
            name,
            delta,
            clear,
            persistent,
            expires_in,
        } => {
            let expires_at = expires_in.map(|s| ctx.now + s as f64);
            demote(ctx, name, *delta, *clear, *persistent, expires_at)?
        }
        Request::State {
            target,
            vhid,
            device,
        } => force_state(ctx, *target, *vhid, device.as_deref())?,
        Request::Disable => allow(ctx, false),
        Request::Enable => allow(ctx, true),
        Request::Events => return Ok(None),
    }))
}

/// `carpd maintenance enter|leave [--persistent]`: +240 / −240 to the kernel's total.
pub fn maintenance(ctx: &Context<'_>, enter: bool, persistent: bool) -> Result<Change, OpsError> {
    if !enter && ctx.model.maintenance {
        return Err(OpsError::ConfigMaintenance);
    }
    let mut next = ctx.operator.clone();
    if enter {
        next.enter_maintenance();
    } else {
        next.leave_maintenance();
    }
    let (mut plan, total) = ctx.demotion_change(&next)?;
    if enter && plan.is_empty() {
        plan.notes.push(if ctx.model.maintenance {
            "config.xml already has maintenance mode on: its 240 is in the kernel".into()
        } else {
            "maintenance mode was already on".into()
        });
    }
    if !enter && plan.is_empty() {
        plan.notes.push("maintenance mode was not on".into());
    }
    let answer = serde_json::json!({
        "maintenance": next.maintenance || ctx.model.maintenance,
        "persistent": persistent,
        "demotion": total,
    });
    Ok(Change {
        plan,
        operator: next,
        persist: Persist::for_maintenance(enter, persistent),
        answer,
    })
}

/// `carpd demote NAME +N|-N|clear [--persistent] [--for DURATION]`: the change of that one
/// contribution; `expires_at` (Unix time) makes it remove itself then.
pub fn demote(
    ctx: &Context<'_>,
    name: &str,
    delta: i32,
    clear: bool,
    persistent: bool,
    expires_at: Option<f64>,
) -> Result<Change, OpsError> {
    let mut next = ctx.operator.clone();
    if clear {
        next.clear(name)?;
    } else {
        next.demote_until(name, delta, expires_at)?;
    }
    let (plan, total) = ctx.demotion_change(&next)?;
    let mut answer = serde_json::json!({ "demotion": total, "persistent": persistent || clear });
    if let Some(at) = next.expires.get(name) {
        answer["expires_at"] = serde_json::json!(at);
    }
    Ok(Change {
        plan,
        persist: Persist::for_demotion(&next, name, clear, persistent),
        operator: next,
        answer,
    })
}

/// carpd's own contributions (checks, readiness, preempt delay) become `automatic`: the
/// change of carpd's part that follows, or `None` when they are what the kernel has already.
pub fn automatic(
    ctx: &Context<'_>,
    automatic: std::collections::BTreeMap<String, i32>,
) -> Result<Option<Change>, OpsError> {
    if ctx.operator.automatic == automatic {
        return Ok(None);
    }
    let mut next = ctx.operator.clone();
    next.automatic = automatic;
    let (plan, total) = ctx.demotion_change(&next)?;
    Ok(Some(Change {
        plan,
        persist: None,
        operator: next,
        answer: serde_json::json!({ "demotion": total }),
    }))
}

/// `carpd disable|enable`: `net.inet.carp.allow`.
pub fn allow(ctx: &Context<'_>, allow: bool) -> Change {
    let mut plan = OpsPlan::default();
    if ctx.kernel.sysctl.allow == allow {
        plan.notes.push(format!(
            "net.inet.carp.allow is already {}",
            u8::from(allow)
        ));
    } else {
        plan.actions.push(Action::Allow { allow });
    }
    if !allow {
        plan.notes.push(
            "while CARP is disabled every vhid is INIT and carp(4) adds \
             net.inet.carp.ifdown_demotion_factor per vhid to the demotion; it shows as `kernel` \
             and goes away with `carpd enable`"
                .into(),
        );
    }
    Change {
        plan,
        operator: ctx.operator.clone(),
        persist: None,
        answer: serde_json::json!({ "allow": allow }),
    }
}

/// `carpd state backup|master [--vhid N]`: one SET per configured, selected vhid that the
/// kernel has and that is not INIT or already there.
pub fn force_state(
    ctx: &Context<'_>,
    target: ForcedState,
    vhid: Option<u8>,
    device: Option<&str>,
) -> Result<Change, OpsError> {
    let want = match target {
        ForcedState::Backup => State::Backup,
        ForcedState::Master => State::Master,
    };
    let mut plan = OpsPlan::default();
    let mut touched = Vec::new();
    for g in &ctx.model.groups {
        let selected = vhid.is_none_or(|v| v == g.vhid) && device.is_none_or(|d| d == g.device);
        if !selected {
            continue;
        }
        let name = g.name();
        touched.push(name.clone());
        match ctx.kernel.vhid(&g.device, g.vhid) {
            None => plan.notes.push(format!(
                "{name} is configured but not in the kernel (`carpd reload` applies config.xml)"
            )),
            Some(k) if k.state == State::Init => plan.notes.push(format!(
                "{name} is INIT (interface down or CARP disabled): carp(4) ignores a requested state then"
            )),
            Some(k) if k.state == want => {
                plan.notes.push(format!("{name} is already {}", want.as_str()))
            }
            Some(k) => plan.actions.push(Action::SetState {
                device: g.device.clone(),
                vhid: g.vhid,
                state: target,
                peer: k.unicast_peer(),
                peer6: k.unicast_peer6(),
            }),
        }
    }
    if touched.is_empty() {
        return Err(OpsError::NoMatch);
    }
    if target == ForcedState::Backup && !plan.is_empty() {
        plan.notes.push(
            "normal election resumes at once: without a peer advertising, or with preempt on and \
             a better advskew here, this node becomes MASTER again; `carpd maintenance enter` \
             keeps it BACKUP"
                .into(),
        );
    }
    Ok(Change {
        plan,
        operator: ctx.operator.clone(),
        persist: None,
        answer: serde_json::json!({ "vhids": touched }),
    })
}

/// The start-up (and reload) bookkeeping of the demotion.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Reconcile {
    /// carpd's part as it should be.
    pub carpd: i32,
    /// carpd's part according to its record of this boot (0 without one).
    pub recorded: i32,
    /// `net.inet.carp.demotion` as observed.
    pub observed: i32,
    /// The kernel's own part: `max(observed − recorded, 0)`.
    pub kernel_own: i32,
    pub plan: OpsPlan,
}

impl Reconcile {
    /// carpd's part in the kernel before the plan runs, as the rule takes it:
    /// `observed − kernel's own` (= the smaller of observed and recorded). The plan brings it
    /// to [`Reconcile::carpd`]; the record must follow from this value, not from `recorded`
    /// (which may overstate what is left after somebody else's reset).
    pub fn carpd_before(&self) -> i32 {
        self.observed.min(self.recorded)
    }
}

/// Make the kernel carry exactly carpd's part on top of its own: see the module rules.
pub fn reconcile(carpd: i32, recorded: i32, observed: i32) -> Result<Reconcile, OpsError> {
    let own = (i64::from(observed) - i64::from(recorded)).max(0);
    let delta = i64::from(carpd) + own - i64::from(observed);
    let delta = i32::try_from(delta).map_err(|_| OpsError::Overflow(delta))?;
    let mut plan = OpsPlan::default();
    if i64::from(observed) < i64::from(recorded) {
        plan.notes.push(format!(
            "net.inet.carp.demotion is {observed}, below the {recorded} carpd wrote since boot: \
             another writer removed carpd's part (OPNsense's leave-maintenance and pfSense's \
             reset write minus the current total) or carp(4) was reloaded; carpd writes its part again"
        ));
    }
    plan.demote(delta);
    Ok(Reconcile {
        carpd,
        recorded,
        observed,
        kernel_own: own as i32,
        plan,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconcile_rules() {
        // Restart: carpd's 240 is recorded and still in the kernel.
        assert!(reconcile(240, 240, 240).unwrap().plan.is_empty());
        // Reboot: nothing recorded, kernel at 0.
        assert_eq!(
            reconcile(240, 0, 0).unwrap().plan.actions,
            [Action::Demotion { delta: 240 }]
        );
        // Reboot with an interface down: the kernel's 240 stays, carpd adds its own.
        let r = reconcile(240, 0, 240).unwrap();
        assert_eq!(r.kernel_own, 240);
        assert_eq!(r.plan.actions, [Action::Demotion { delta: 240 }]);
        // Restart after a non-persistent maintenance: carpd's part goes back to 0.
        assert_eq!(
            reconcile(0, 240, 480).unwrap().plan.actions,
            [Action::Demotion { delta: -240 }]
        );
        // Somebody wrote −current: carpd's part is written again, with a note.
        let r = reconcile(240, 240, 0).unwrap();
        assert_eq!(r.plan.actions, [Action::Demotion { delta: 240 }]);
        assert_eq!(r.carpd_before() as i64 + r.plan.demotion_delta(), 240);
        assert_eq!(r.plan.notes.len(), 1);
        // Negative named contributions.
        assert!(reconcile(-10, -10, 230).unwrap().plan.is_empty());
        assert!(reconcile(i32::MAX, 0, i32::MIN).is_err());
    }
}
