//! Operator controls on the native engine: request + carpd's operator state + a kernel
//! snapshot (tests/fixtures/native/ops-*.json and the planner's fixtures) → the kernel writes
//! the FreeBSD executor carries out. The plans are played on a small model of carp(4)'s
//! demotion sysctl (writes add) to check totals across sequences, restarts and reboots.

mod common;

use carpd::config::{HaSettings, Model, VipMode};
use carpd::control::{ForcedState, Request};
use carpd::native::demotion_record::{self, DemotionRecord};
use carpd::native::kernel::KernelState;
use carpd::native::ops::{self, Action, Context, FlagOwner, OpsError, OpsPlan};
use carpd::native::{Ledger, Step, plan_for_daemon, plan_with_ledger, report_with_operator};
use carpd::operator::{OperatorError, OperatorState, Persist};
use carpd::proto::State;
use common::native_model::{addr, fixture, group};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// vtnet0 vhid 1 (192.0.2.1/24 + ipalias 192.0.2.10/24), vtnet1 vhid 2 (2001:db8:1::1/64).
fn model() -> Model {
    Model {
        groups: vec![
            group(
                "vtnet0",
                1,
                0,
                "secret",
                vec![
                    addr("192.0.2.1", 24, VipMode::Carp),
                    addr("192.0.2.10", 24, VipMode::Ipalias),
                ],
            ),
            group(
                "vtnet1",
                2,
                0,
                "secret",
                vec![addr("2001:db8:1::1", 64, VipMode::Carp)],
            ),
        ],
        ha: HaSettings::default(),
        maintenance: false,
        settings: Default::default(),
    }
}

fn maintenance_on() -> OperatorState {
    let mut op = OperatorState::default();
    op.enter_maintenance();
    op
}

/// carp(4)'s handling of the writes: demotion writes add, allow sets, a forced state
/// applies unless the vhid is INIT.
fn play(kernel: &KernelState, plan: &OpsPlan) -> KernelState {
    let mut k = kernel.clone();
    for a in &plan.actions {
        match a {
            Action::Demotion { delta } => k.sysctl.demotion += delta,
            Action::Allow { allow } => k.sysctl.allow = *allow,
            Action::SetState {
                device,
                vhid,
                state,
                ..
            } => {
                let v = k
                    .interfaces
                    .get_mut(device)
                    .and_then(|i| i.vhids.iter_mut().find(|v| v.vhid == *vhid))
                    .unwrap_or_else(|| panic!("`{}`: no such vhid", a.command()));
                assert_ne!(v.state, State::Init, "`{}` on an INIT vhid", a.command());
                v.state = match state {
                    ForcedState::Backup => State::Backup,
                    ForcedState::Master => State::Master,
                };
            }
        }
    }
    k
}

/// Plan `req`, play it, return the next operator state and kernel.
fn step(
    model: &Model,
    op: &OperatorState,
    kernel: &KernelState,
    req: Request,
) -> (OperatorState, KernelState, ops::Change) {
    let ctx = Context {
        owner: FlagOwner::Carpd,
        model,
        operator: op,
        kernel,
        now: 1_700_000_000.0,
    };
    let change = ops::plan_request(&ctx, &req)
        .unwrap_or_else(|e| panic!("{req:?}: {e}"))
        .expect("an operator request");
    let after = play(kernel, &change.plan);
    (change.operator.clone(), after, change)
}

fn enter(persistent: bool) -> Request {
    Request::Maintenance {
        enter: true,
        persistent,
    }
}

fn leave() -> Request {
    Request::Maintenance {
        enter: false,
        persistent: false,
    }
}

fn demote(name: &str, delta: i32) -> Request {
    Request::Demote {
        name: name.into(),
        delta,
        clear: false,
        persistent: false,
        expires_in: None,
    }
}

fn clear(name: &str) -> Request {
    Request::Demote {
        name: name.into(),
        delta: 0,
        clear: true,
        persistent: false,
        expires_in: None,
    }
}

fn kernel_part(model: &Model, op: &OperatorState, k: &KernelState) -> i32 {
    ops::breakdown(op, model, FlagOwner::Carpd, k.sysctl.demotion)
        .get("kernel")
        .copied()
        .unwrap_or(0)
}

#[test]
fn maintenance_enter_writes_plus_240_and_persists_only_when_asked() {
    let m = model();
    let k = fixture("steady");
    let (op, after, c) = step(&m, &OperatorState::default(), &k, enter(false));
    assert_eq!(c.plan.commands(), ["sysctl net.inet.carp.demotion=240"]);
    assert_eq!(c.persist, None);
    assert!(op.maintenance);
    assert_eq!(after.sysctl.demotion, 240);
    assert_eq!(
        c.answer,
        serde_json::json!({"maintenance": true, "persistent": false, "demotion": 240})
    );

    let (_, _, c) = step(&m, &OperatorState::default(), &k, enter(true));
    assert_eq!(c.persist, Some(Persist::Maintenance(true)));
    assert_eq!(c.plan.actions, [Action::Demotion { delta: 240 }]);

    // Entering twice adds nothing.
    let (_, again, c) = step(&m, &op, &after, enter(false));
    assert!(c.plan.is_empty());
    assert_eq!(again.sysctl.demotion, 240);
}

#[test]
fn maintenance_leave_removes_exactly_240_and_keeps_other_demotions() {
    let m = model();
    // 530 = carpd's 240 (maintenance) + 50 (service:openvpn) + the kernel's own 240
    // (vtnet1 is down, vhid 2 INIT).
    let k = fixture("ops-demoted-ifdown");
    let mut op = maintenance_on();
    op.demote("service:openvpn", 50).unwrap();
    assert_eq!(kernel_part(&m, &op, &k), 240);

    let (next, after, c) = step(&m, &op, &k, leave());
    assert_eq!(c.plan.actions, [Action::Demotion { delta: -240 }]);
    assert_eq!(c.plan.commands(), ["sysctl net.inet.carp.demotion=-240"]);
    // A leave is always persisted (before the write), like on the userspace engine.
    assert_eq!(c.persist, Some(Persist::Maintenance(false)));
    assert_eq!(after.sysctl.demotion, 290);
    assert_eq!(c.answer["demotion"], 290);
    assert_eq!(c.answer["maintenance"], false);
    assert_eq!(
        ops::breakdown(&next, &m, FlagOwner::Carpd, after.sysctl.demotion),
        BTreeMap::from([
            ("kernel".to_string(), 240),
            ("service:openvpn".to_string(), 50)
        ])
    );
    // Never OPNsense's `default − current`.
    assert!(!c.plan.actions.contains(&Action::Demotion {
        delta: -k.sysctl.demotion
    }));

    // Leaving when not in maintenance writes nothing.
    let (_, _, c) = step(&m, &next, &after, leave());
    assert!(c.plan.is_empty());
}

#[test]
fn config_xml_maintenance_counts_once_and_cannot_be_left_from_the_cli() {
    let mut m = model();
    m.maintenance = true;
    let k = fixture("ops-restart"); // 240 in the kernel: config.xml's maintenance
    let op = OperatorState::default();
    assert_eq!(ops::carpd_demotion(&op, &m, FlagOwner::Carpd), 240);
    assert_eq!(kernel_part(&m, &op, &k), 0);
    let ctx = Context {
        owner: FlagOwner::Carpd,
        model: &m,
        operator: &op,
        kernel: &k,
        now: 1_700_000_000.0,
    };
    assert!(matches!(
        ops::maintenance(&ctx, false, false),
        Err(OpsError::ConfigMaintenance)
    ));
    // Entering on top of config.xml's maintenance adds nothing: it is the same 240.
    let c = ops::maintenance(&ctx, true, true).unwrap();
    assert!(c.plan.is_empty());
    assert_eq!(c.persist, Some(Persist::Maintenance(true)));
    let r = report_with_operator(&m, &k, &op, FlagOwner::Carpd);
    assert!(r.carp.maintenance);
    assert_eq!(
        r.carp.demotions,
        BTreeMap::from([("maintenance".to_string(), 240)])
    );
}

#[test]
fn named_demotions_are_deltas() {
    let m = model();
    let k = fixture("ops-demoted-ifdown"); // 530
    let mut op = maintenance_on();
    op.demote("service:openvpn", 50).unwrap();

    let (op, k, c) = step(&m, &op, &k, demote("service:openvpn", 20));
    assert_eq!(c.plan.commands(), ["sysctl net.inet.carp.demotion=20"]);
    assert_eq!(
        c.answer,
        serde_json::json!({"demotion": 550, "persistent": false})
    );
    assert_eq!(c.persist, None, "kept in memory only");
    let (op, k, c) = step(&m, &op, &k, demote("service:openvpn", -30));
    assert_eq!(c.plan.actions, [Action::Demotion { delta: -30 }]);
    let (op, k, c) = step(&m, &op, &k, clear("service:openvpn"));
    assert_eq!(c.plan.actions, [Action::Demotion { delta: -40 }]);
    // A clear is always persisted, so a restart cannot bring the contribution back.
    assert_eq!(
        c.persist,
        Some(Persist::Demotion {
            name: "service:openvpn".into(),
            value: 0,
            expires: None
        })
    );
    assert_eq!(k.sysctl.demotion, 480);
    assert_eq!(kernel_part(&m, &op, &k), 240);
    // Clearing a name that is not there writes nothing.
    let (_, _, c) = step(&m, &op, &k, clear("service:gone"));
    assert!(c.plan.is_empty());

    let ctx = Context {
        owner: FlagOwner::Carpd,
        model: &m,
        operator: &op,
        kernel: &k,
        now: 1_700_000_000.0,
    };
    assert!(matches!(
        ops::demote(&ctx, "maintenance", 1, false, false, None),
        Err(OpsError::Operator(OperatorError::ReservedName))
    ));
    assert!(matches!(
        ops::demote(&ctx, "bad name", 1, false, false, None),
        Err(OpsError::Operator(OperatorError::BadName(_)))
    ));
    // `--persistent` keeps the contribution as it now stands.
    let c = ops::demote(&ctx, "service:dns", 30, false, true, None).unwrap();
    assert_eq!(
        c.persist,
        Some(Persist::Demotion {
            name: "service:dns".into(),
            value: 30,
            expires: None
        })
    );
    assert_eq!(c.answer["persistent"], true);
    // carpd's own names (checks, readiness, preempt delay) are not the operator's.
    assert!(matches!(
        ops::demote(&ctx, "check:uplink", 1, false, false, None),
        Err(OpsError::Operator(OperatorError::CarpdOwned(_)))
    ));
    // A timed demotion persists its end with it.
    let c = ops::demote(&ctx, "upgrade", 240, false, true, Some(1_700_000_600.0)).unwrap();
    assert_eq!(
        c.persist,
        Some(Persist::Demotion {
            name: "upgrade".into(),
            value: 240,
            expires: Some(1_700_000_600.0)
        })
    );
    assert_eq!(c.answer["expires_at"], 1_700_000_600.0);
}

#[test]
fn a_sequence_with_kernel_demotion_coming_and_going_ends_where_it_started() {
    let m = model();
    let k0 = fixture("steady");
    let op0 = OperatorState::default();
    let (op, mut k, _) = step(&m, &op0, &k0, enter(true));
    let (op, k2, _) = step(&m, &op, &k, demote("service:ipsec", 1 << 20));
    k = k2;
    // The kernel adds its own while carpd is demoted: an interface goes down, pfsync bulk.
    k.sysctl.demotion += 240 + 240;
    assert_eq!(kernel_part(&m, &op, &k), 480);
    let (op, k2, _) = step(&m, &op, &k, leave());
    let (op, mut k, _) = step(&m, &op, &k2, clear("service:ipsec"));
    assert_eq!(k.sysctl.demotion, 480, "the kernel's own part survives");
    k.sysctl.demotion -= 480; // interface up, bulk done
    assert_eq!(k.sysctl.demotion, 0);
    assert_eq!(op, op0);
}

#[test]
fn forced_state_is_a_set_per_selected_vhid() {
    let m = model();
    let k = fixture("steady"); // vhid 1 MASTER, vhid 2 BACKUP
    let ctx = Context {
        owner: FlagOwner::Carpd,
        model: &m,
        operator: &OperatorState::default(),
        kernel: &k,
        now: 1_700_000_000.0,
    };
    let c = ops::force_state(&ctx, ForcedState::Backup, None, None).unwrap();
    assert_eq!(c.plan.commands(), ["ifconfig vtnet0 vhid 1 state backup"]);
    assert_eq!(
        c.answer,
        serde_json::json!({"vhids": ["1@vtnet0", "2@vtnet1"]})
    );
    assert!(
        c.plan
            .notes
            .iter()
            .any(|n| n.contains("2@vtnet1 is already BACKUP"))
    );
    assert!(c.plan.notes.iter().any(|n| n.contains("maintenance enter")));
    let after = play(&k, &c.plan);
    assert_eq!(after.vhid("vtnet0", 1).unwrap().state, State::Backup);
    assert_eq!(after.sysctl.demotion, 0);

    let c = ops::force_state(&ctx, ForcedState::Master, Some(2), None).unwrap();
    assert_eq!(
        c.plan.actions,
        [Action::SetState {
            device: "vtnet1".into(),
            vhid: 2,
            state: ForcedState::Master,
            peer: None,
            peer6: None,
        }]
    );
    assert_eq!(c.plan.commands(), ["ifconfig vtnet1 vhid 2 state master"]);

    assert!(matches!(
        ops::force_state(&ctx, ForcedState::Backup, Some(9), None),
        Err(OpsError::NoMatch)
    ));
    assert!(matches!(
        ops::force_state(&ctx, ForcedState::Backup, Some(1), Some("vtnet1")),
        Err(OpsError::NoMatch)
    ));
}

#[test]
fn forced_state_keeps_unicast_peers_in_the_rendered_command_and_skips_init() {
    let m = model();
    let k = fixture("unicast-peer");
    let ctx = Context {
        owner: FlagOwner::Carpd,
        model: &m,
        operator: &OperatorState::default(),
        kernel: &k,
        now: 1_700_000_000.0,
    };
    let c = ops::force_state(&ctx, ForcedState::Backup, Some(1), None).unwrap();
    assert_eq!(
        c.plan.commands(),
        ["ifconfig vtnet0 vhid 1 state backup peer 192.0.2.3"]
    );

    let k = fixture("ops-demoted-ifdown"); // vhid 2 INIT
    let ctx = Context {
        owner: FlagOwner::Carpd,
        model: &m,
        operator: &OperatorState::default(),
        kernel: &k,
        now: 1_700_000_000.0,
    };
    let c = ops::force_state(&ctx, ForcedState::Master, Some(2), None).unwrap();
    assert!(c.plan.is_empty());
    assert!(c.plan.notes[0].contains("INIT"), "{:?}", c.plan.notes);

    let k = fixture("ops-reboot"); // configured, not in the kernel
    let ctx = Context {
        owner: FlagOwner::Carpd,
        model: &m,
        operator: &OperatorState::default(),
        kernel: &k,
        now: 1_700_000_000.0,
    };
    let c = ops::force_state(&ctx, ForcedState::Master, None, None).unwrap();
    assert!(c.plan.is_empty());
    assert_eq!(c.plan.notes.len(), 2);
}

#[test]
fn disable_and_enable_write_allow() {
    let m = model();
    let k = fixture("steady");
    let (_, off, c) = step(&m, &OperatorState::default(), &k, Request::Disable);
    assert_eq!(c.plan.commands(), ["sysctl net.inet.carp.allow=0"]);
    assert_eq!(c.answer, serde_json::json!({"allow": false}));
    assert!(
        c.plan
            .notes
            .iter()
            .any(|n| n.contains("ifdown_demotion_factor"))
    );
    assert!(!off.sysctl.allow);
    let (_, on, c) = step(&m, &OperatorState::default(), &off, Request::Enable);
    assert_eq!(c.plan.commands(), ["sysctl net.inet.carp.allow=1"]);
    assert!(on.sysctl.allow);
    // Already enabled: nothing to write.
    let (_, _, c) = step(&m, &OperatorState::default(), &on, Request::Enable);
    assert!(c.plan.is_empty());
    let (_, _, c) = step(
        &m,
        &OperatorState::default(),
        &fixture("carp-disabled"),
        Request::Enable,
    );
    assert_eq!(c.plan.actions, [Action::Allow { allow: true }]);
}

#[test]
fn status_reload_and_replay_are_not_kernel_plans() {
    let m = model();
    let k = fixture("steady");
    let ctx = Context {
        owner: FlagOwner::Carpd,
        model: &m,
        operator: &OperatorState::default(),
        kernel: &k,
        now: 1_700_000_000.0,
    };
    for req in [Request::Status, Request::Reload, Request::HooksReplay] {
        assert!(ops::plan_request(&ctx, &req).unwrap().is_none());
    }
}

/// A state and a run directory as the daemon keeps them, in a per-test temp directory.
struct Dirs {
    root: PathBuf,
}

impl Dirs {
    fn new(tag: &str) -> Dirs {
        let root = std::env::temp_dir().join(format!("carpd-ops-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        Dirs { root }
    }
    fn state_file(&self) -> PathBuf {
        self.root.join("db/state.json")
    }
    fn run_dir(&self) -> PathBuf {
        self.root.join("run")
    }
    /// What `native::run` does first: persisted operator state + record of this boot +
    /// kernel → the demotion write, and the record it leaves.
    fn start(&self, m: &Model, kernel: &KernelState, uptime: f64) -> (OpsPlan, KernelState) {
        let op = OperatorState::load(&self.state_file()).unwrap();
        let record = DemotionRecord::load(&self.run_dir());
        let recorded = demotion_record::written_this_boot(&record, uptime);
        let r = ops::reconcile(
            ops::carpd_demotion(&op, m, FlagOwner::Carpd),
            recorded,
            kernel.sysctl.demotion,
        )
        .unwrap();
        let after = play(kernel, &r.plan);
        // The daemon records carpd's part as it now is in the kernel.
        let part = r.carpd_before() as i64 + r.plan.demotion_delta();
        assert_eq!(part, i64::from(r.carpd));
        DemotionRecord::new(part as i32, uptime)
            .save(&self.run_dir())
            .unwrap();
        (r.plan, after)
    }
    /// A reboot empties /var/run.
    fn reboot(&self) {
        let _ = std::fs::remove_dir_all(self.run_dir());
    }
}

impl Drop for Dirs {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

#[test]
fn persistent_maintenance_across_restart_and_reboot() {
    let d = Dirs::new("persist");
    let m = model();
    // First boot, no state: nothing to write.
    let (p, k) = d.start(&m, &fixture("ops-reboot"), 10.0);
    assert!(p.is_empty());
    // `carpd maintenance enter --persistent`: saved first, then +240, record raised.
    let ctx_kernel = k.clone();
    let ctx = Context {
        owner: FlagOwner::Carpd,
        model: &m,
        operator: &OperatorState::default(),
        kernel: &ctx_kernel,
        now: 1_700_000_000.0,
    };
    let c = ops::maintenance(&ctx, true, true).unwrap();
    c.persist.unwrap().write(&d.state_file()).unwrap();
    let (before, after) = demotion_record::staged(0, 240);
    assert_eq!((before, after), (240, 240));
    DemotionRecord::new(before, 500.0)
        .save(&d.run_dir())
        .unwrap();
    let k = play(&k, &c.plan);
    assert_eq!(k.sysctl.demotion, 240);

    // Restart: the kernel still has the 240 (fixture ops-restart): nothing is written.
    let restarted = fixture("ops-restart");
    assert_eq!(restarted.sysctl.demotion, k.sysctl.demotion);
    let (p, k) = d.start(&m, &restarted, 900.0);
    assert!(p.is_empty(), "restart double-applied: {:?}", p.commands());
    assert_eq!(k.sysctl.demotion, 240);

    // Reboot: /var/run emptied, the kernel starts from 0: the 240 is written again.
    d.reboot();
    let (p, k) = d.start(&m, &fixture("ops-reboot"), 8.0);
    assert_eq!(p.commands(), ["sysctl net.inet.carp.demotion=240"]);
    assert_eq!(k.sysctl.demotion, 240);

    // Reboot with a surviving /var/run: the uptime went backwards, so the record is stale.
    DemotionRecord::new(240, 4000.0).save(&d.run_dir()).unwrap();
    let (p, _) = d.start(&m, &fixture("ops-reboot"), 9.0);
    assert_eq!(p.actions, [Action::Demotion { delta: 240 }]);

    // Reboot while vtnet1 is down: the kernel's own 240 stays, carpd adds its 240 on top.
    d.reboot();
    let (p, k) = d.start(&m, &fixture("ops-reboot-ifdown"), 7.0);
    assert_eq!(p.actions, [Action::Demotion { delta: 240 }]);
    assert_eq!(k.sysctl.demotion, 480);
    let op = OperatorState::load(&d.state_file()).unwrap();
    assert_eq!(kernel_part(&m, &op, &k), 240);
    // …and a restart after that writes nothing.
    let (p, _) = d.start(&m, &k, 60.0);
    assert!(p.is_empty());
}

#[test]
fn a_restart_drops_non_persistent_maintenance_but_not_the_kernels_own() {
    let d = Dirs::new("transient");
    let m = model();
    let (_, k) = d.start(&m, &fixture("ops-reboot"), 10.0);
    let (_, mut k, c) = step(&m, &OperatorState::default(), &k, enter(false));
    assert_eq!(c.persist, None);
    DemotionRecord::new(240, 20.0).save(&d.run_dir()).unwrap();
    k.sysctl.demotion += 240; // an interface went down meanwhile
    let (p, k) = d.start(&m, &k, 30.0);
    assert_eq!(p.actions, [Action::Demotion { delta: -240 }]);
    assert_eq!(k.sysctl.demotion, 240);
}

#[test]
fn somebody_elses_reset_is_repaired_at_start() {
    let d = Dirs::new("reset");
    let m = model();
    maintenance_on().save(&d.state_file()).unwrap();
    DemotionRecord::new(240, 20.0).save(&d.run_dir()).unwrap();
    // OPNsense's leave-maintenance wrote −current: the kernel is at 0, carpd still in
    // persistent maintenance.
    let (p, k) = d.start(&m, &fixture("ops-reboot"), 30.0);
    assert_eq!(p.actions, [Action::Demotion { delta: 240 }]);
    assert!(p.notes[0].contains("removed carpd's part"), "{:?}", p.notes);
    assert_eq!(k.sysctl.demotion, 240);
    // The record now says 240 (not 480): the next restart writes nothing.
    assert_eq!(
        DemotionRecord::load(&d.run_dir()).unwrap().unwrap().carpd,
        240
    );
    let (p, _) = d.start(&m, &k, 40.0);
    assert!(p.is_empty());
}

#[test]
fn the_daemon_plan_leaves_the_demotion_to_the_daemon() {
    let mut m = model();
    m.maintenance = true;
    let k = fixture("ops-reboot");
    let ledger = Ledger::default();
    let one_shot = plan_with_ledger(&m, &k, Some(&ledger));
    let is_demotion = |s: &Step| matches!(s, Step::Sysctl { name, .. } if name == "demotion");
    assert!(one_shot.steps.iter().any(is_demotion));
    let daemon = plan_for_daemon(&m, &k, &ledger);
    assert!(!daemon.steps.iter().any(is_demotion));
    assert_eq!(daemon.steps.len() + 1, one_shot.steps.len());
}

#[test]
fn status_breaks_the_total_down() {
    let m = model();
    let k = fixture("ops-demoted-ifdown");
    let mut op = maintenance_on();
    op.demote("service:openvpn", 50).unwrap();
    let r = report_with_operator(&m, &k, &op, FlagOwner::Carpd);
    assert_eq!(r.engine, "native");
    assert_eq!(r.carp.demotion, 530);
    assert!(r.carp.maintenance);
    assert_eq!(
        r.carp.demotions,
        BTreeMap::from([
            ("kernel".to_string(), 240),
            ("maintenance".to_string(), 240),
            ("service:openvpn".to_string(), 50)
        ])
    );
    let states: Vec<&str> = r.vhids.iter().map(|v| v.state.as_str()).collect();
    assert_eq!(states, ["BACKUP", "INIT"]);
    // Without carpd's state the whole total is the kernel's.
    let r = carpd::native::report(&m, &k);
    assert_eq!(
        r.carp.demotions,
        BTreeMap::from([("kernel".to_string(), 530)])
    );
}

#[test]
fn the_daemon_view_adds_devd_transitions_and_hook_results_to_the_kernel_report() {
    use carpd::native::add_daemon_view;
    use carpd::status::{HookResult, Transitions};
    let m = model();
    let k = fixture("steady");
    let mut report = report_with_operator(&m, &k, &OperatorState::default(), FlagOwner::Carpd);
    // devd said vtnet0 vhid 1 went BACKUP -> MASTER, then MASTER -> BACKUP.
    let mut seen = Transitions::default();
    seen.record("BACKUP", "MASTER", "", 100.0);
    seen.record("MASTER", "BACKUP", "", 160.5);
    let followed = std::collections::HashMap::from([(("vtnet0".to_string(), 1u8), seen)]);
    let hook = HookResult {
        hook: "50-defguard-gateway".into(),
        state: "BACKUP".into(),
        exit_code: Some(0),
        timed_out: false,
        duration_ms: 12,
        at: 161.0,
    };
    add_daemon_view(&mut report, &followed, |dev, vhid| {
        if (dev, vhid) == ("vtnet0", 1) {
            vec![hook.clone()]
        } else {
            vec![]
        }
    });
    let v1 = &report.vhids[0];
    assert_eq!((v1.device.as_str(), v1.vhid), ("vtnet0", 1));
    assert_eq!(v1.transitions, Some(2));
    let last = v1.last_transition.as_ref().unwrap();
    assert_eq!(
        (last.from.as_str(), last.to.as_str(), last.at),
        ("MASTER", "BACKUP", 160.5)
    );
    assert_eq!(v1.history.len(), 2);
    assert_eq!(v1.history[0].to, "MASTER");
    assert_eq!(v1.hooks, [hook]);
    // A vhid devd never reported on: counted from the daemon's start, so 0, not unknown.
    let v2 = &report.vhids[1];
    assert_eq!(v2.transitions, Some(0));
    assert_eq!(v2.last_transition, None);
    assert!(v2.hooks.is_empty());
}
