//! The native engine's daemon: applies config.xml to carp(4), follows devd's CARP events into
//! hooks, and answers the control socket with the same requests and answer fields as the
//! userspace engine. It drives the kernel only through [`Kernel`], so the tests run this very
//! daemon on Linux against a model of carp(4).
//!
//! Start-up order matters. devd is subscribed to *first*, so a transition caused by the apply
//! (a new vhid going INIT → BACKUP → MASTER) reaches the hooks. Then the persistent operator
//! state and config.xml's maintenance mode are written into `net.inet.carp.demotion`, before
//! the plan can create a vhid that would otherwise win an election undemoted. A stop leaves
//! the kernel as it is (the VIPs live in carp(4), and undoing a demotion on the way down would
//! make a node in maintenance grab MASTER just before a reboot); the next start brings carpd's
//! part back to what is persisted, so a non-persistent maintenance ends there, as it does on
//! the userspace engine.
//!
//! Every second the daemon reads `net.inet.carp.demotion`: a total below what carpd wrote
//! means another writer removed carpd's part (OPNsense's leave-maintenance, pfSense's reset),
//! and carpd writes it again at once, saying so in the log.
//!
//! On OPNsense ([`super::opnsense`]) core programs the VIPs and runs the hooks: the daemon
//! applies nothing, runs no hooks of its own (a replay goes through core's rc.syshook), follows
//! config.xml as core saves it, and does maintenance and CARP off/on through core.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use std::sync::Arc;

use super::demotion_record::{self, DemotionRecord};
use super::devd::{CarpEvent, DevdMessage};
use super::ops::{self, Action, Change, Context, FlagOwner};
use super::{Kernel, KernelState, Ledger, NativeError, RunOptions};
use crate::config::{self, Model};
use crate::control::{self, Request, server::Call};
use crate::hooks::{HookEvent, HookRunner};
use crate::logging::Log;
use crate::operator::OperatorState;
use crate::proto::State;

/// How long queued hooks may still run at shutdown.
const DRAIN_LIMIT: Duration = Duration::from_secs(10);
/// How long start-up waits for the first answer of devd's socket before applying anyway.
const DEVD_WAIT: Duration = Duration::from_secs(2);
/// How often the demotion total (and on OPNsense config.xml's mtime) is looked at.
const WATCH_EVERY: Duration = Duration::from_secs(1);

pub(super) struct Daemon {
    opts: RunOptions,
    kernel: Kernel,
    log: Log,
    /// Who writes config.xml's maintenance 240: core on OPNsense, carpd elsewhere.
    owner: FlagOwner,
    /// config.xml's mtime when it was last read (OPNsense follows it).
    config_mtime: Option<std::time::SystemTime>,
    model: Model,
    /// The operator state in effect; carpd's part of the kernel's demotion follows from it.
    operator: OperatorState,
    hooks: HookRunner,
    /// The Defguard gateway's follower, when its action is configured, and the runner of
    /// that one action.
    defguard: Option<crate::defguard::Follow>,
    defguard_runner: HookRunner,
    /// Last state per vhid, so a devd event has a real "from".
    previous: HashMap<(String, u8), State>,
    /// Transitions devd reported since start, per vhid, for status.
    followed: HashMap<(String, u8), crate::status::Transitions>,
    calls: mpsc::Receiver<Call>,
    control_task: Option<tokio::task::JoinHandle<()>>,
    devd: mpsc::UnboundedReceiver<DevdMessage>,
    /// The last failure of keeping the VRRPv3 vhids, logged once rather than every second.
    protocol_error: Option<String>,
    /// `carpd events` listeners.
    events: crate::events::EventBus,
    /// The demotion (total and breakdown) last told to listeners.
    told_demotion: crate::events::DemotionTold,
    /// Tracked checks, readiness gating and the preempt delay, all as demotions here.
    health: crate::health::Health,
    /// The last failure of writing carpd's own demotions, logged once until it changes.
    health_error: Option<String>,
}

impl Daemon {
    pub(super) async fn start(opts: RunOptions) -> Result<Daemon, NativeError> {
        let log = opts.log.clone();
        let kernel = opts.kernel.clone();
        let model = load_config(&opts.config, &log)?;
        let operator = OperatorState::load(&opts.paths.persistent_state())?;
        if operator.maintenance {
            log.info("persistent maintenance mode is on: demoting before any vhid is applied");
        }
        if model.maintenance {
            log.info("config.xml has maintenance mode on: demoting before any vhid is applied");
        }
        std::fs::create_dir_all(&opts.paths.run_dir).map_err(|source| NativeError::Write {
            path: opts.paths.run_dir.clone(),
            source,
        })?;
        let hook_log = log.clone();
        let hook_log: crate::hooks::LogFn = Arc::new(move |line: &str| hook_log.info(line));
        let hooks = if let Some(o) = &opts.opnsense {
            log.info(&format!(
                "{}: core programs carp(4) and runs rc.syshook.d/carp, so carpd applies no VIPs \
                 and runs no hooks itself (a replay goes through core's rc.syshook); maintenance \
                 is core's <virtualip_carp_maintenancemode>",
                o.version
            ));
            HookRunner::new_program(
                o.rc_syshook(),
                vec!["carp".into()],
                opts.hook_timeout,
                hook_log,
            )
        } else if opts.no_hooks {
            HookRunner::disabled()
        } else {
            for line in crate::hooks::describe(&opts.paths.hooks_dir) {
                log.info(&line);
            }
            HookRunner::new_with_log(opts.paths.hooks_dir.clone(), opts.hook_timeout, hook_log)
        };
        let defguard_log = log.clone();
        let defguard_runner = HookRunner::new_program(
            opts.defguard.action.clone(),
            Vec::new(),
            opts.hook_timeout,
            Arc::new(move |line: &str| defguard_log.info(line)),
        );
        let owner = if opts.opnsense.is_some() {
            FlagOwner::Core
        } else {
            FlagOwner::Carpd
        };
        let config_mtime = mtime(&opts.config);
        let (call_tx, calls) = mpsc::channel(64);
        let (devd_tx, devd) = mpsc::unbounded_channel();
        let sys = kernel.sys().clone();
        let devd_path = opts.devd_path.clone();
        std::thread::Builder::new()
            .name("devd".into())
            .spawn(move || super::devd::follow(sys, devd_path, devd_tx))
            .map_err(NativeError::Runtime)?;
        let probe_kernel = kernel.clone();
        let link: crate::checks::LinkProbe =
            Arc::new(move |ifname: &str| probe_kernel.link_up(ifname).ok().flatten());
        let health = crate::health::Health::start(&model.settings, link, Instant::now());
        if model.settings.announce_interval.is_some() {
            log.warn(
                "announce_interval is not followed by the native engine: carp(4) announces a \
                VIP only when it becomes MASTER (carp_master_down_locked() in ip_carp.c) and \
                carpd sends no frames of its own here",
            );
        }
        let mut d = Daemon {
            opts,
            kernel,
            log,
            owner,
            config_mtime,
            model,
            operator,
            hooks,
            defguard: None,
            defguard_runner,
            previous: HashMap::new(),
            followed: HashMap::new(),
            calls,
            control_task: None,
            devd,
            protocol_error: None,
            events: crate::events::EventBus::new(),
            told_demotion: Default::default(),
            health,
            health_error: None,
        };
        d.hooks.publish_to(d.events.clone());
        d.defguard_runner.publish_to(d.events.clone());
        d.await_devd().await;
        // The states before the apply: events queued while it runs then have a real "from".
        let kernel = d.kernel.observe()?;
        if let Some(why) = super::vrrp_unsupported(&d.model, &kernel) {
            return Err(NativeError::Unsupported(why));
        }
        d.seed_previous(&kernel);
        // carp(4) keeps running across a restart of carpd: a node that is MASTER now is
        // serving, and holding it back would hand its VIPs to the peer for nothing.
        let serving: Vec<String> = d
            .model
            .groups
            .iter()
            .filter(|g| {
                kernel
                    .vhid(&g.device, g.vhid)
                    .is_some_and(|v| v.state == State::Master)
            })
            .map(|g| g.name())
            .collect();
        if !serving.is_empty() && d.health.holding() {
            d.log.info(&format!(
                "MASTER of {} already: no readiness wait or preempt delay for this start",
                serving.join(", ")
            ));
            d.health.release_start_holds();
        }
        for line in d.health.waiting() {
            d.log.info(&format!(
                "{line}: demoting by {} meanwhile (carp(4) has no per-vhid INIT)",
                crate::health::HOLD_DEMOTION
            ));
        }
        // Part of carpd's share from the first write on, before a vhid is applied.
        d.operator.automatic = d.health.demotions(true);
        if d.opts.opnsense.is_some() {
            d.hand_maintenance_to_core().await?;
        }
        // A failed demotion stops the start: applying vhids undemoted could take MASTER
        // away from the peer while this node is meant to be in maintenance. (Read again:
        // handing maintenance to core wrote to it.)
        let observed = d.kernel.demotion()?;
        d.reconcile_demotion(observed)?;
        if d.opts.opnsense.is_some() {
            d.note_drift(&kernel);
            d.keep_protocols();
        } else {
            for c in d.apply()? {
                d.log.info(&format!("applied: {c}"));
            }
        }
        d.load_defguard();
        d.reassert_defguard("carpd started");
        let socket = d.opts.paths.control_socket();
        let task = control::server::serve(&socket, call_tx, d.events.clone())
            .await
            .map_err(|source| NativeError::Control {
                path: socket.clone(),
                source,
            })?;
        d.control_task = Some(task);
        d.reassert_roles();
        let pidfile = d.opts.paths.pidfile();
        std::fs::write(&pidfile, format!("{}\n", std::process::id())).map_err(|source| {
            NativeError::Write {
                path: pidfile.clone(),
                source,
            }
        })?;
        Ok(d)
    }

    /// Wait (bounded) until the devd reader has connected or found devd absent, so that the
    /// transitions the apply causes are not missed. Events that arrive meanwhile are kept.
    async fn await_devd(&mut self) {
        let deadline = tokio::time::Instant::now() + DEVD_WAIT;
        let mut early = Vec::new();
        loop {
            match tokio::time::timeout_at(deadline, self.devd.recv()).await {
                Ok(Some(DevdMessage::Connected { .. })) => {
                    self.log.info(&format!(
                        "following devd's CARP events on {}",
                        self.opts.devd_path.display()
                    ));
                    break;
                }
                Ok(Some(DevdMessage::Unavailable(why))) => {
                    self.log.warn(&format!(
                        "{why}; transitions before it connects run no hook"
                    ));
                    break;
                }
                Ok(Some(other)) => early.push(other),
                Ok(None) => break,
                Err(_) => {
                    self.log.warn(&format!(
                        "devd's socket {} did not answer within {} s; applying anyway",
                        self.opts.devd_path.display(),
                        DEVD_WAIT.as_secs()
                    ));
                    break;
                }
            }
        }
        for m in early {
            self.on_devd_message(m);
        }
    }

    pub(super) async fn serve(&mut self) -> Result<(), NativeError> {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).map_err(NativeError::Runtime)?;
        let mut int = signal(SignalKind::interrupt()).map_err(NativeError::Runtime)?;
        let mut hup = signal(SignalKind::hangup()).map_err(NativeError::Runtime)?;
        let mut watch = tokio::time::interval(WATCH_EVERY);
        watch.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = watch.tick() => self.watch(),
                event = self.health.recv() => self.on_health(event),
                msg = self.devd.recv() => {
                    let Some(msg) = msg else {
                        return Err(NativeError::DevdStopped);
                    };
                    self.on_devd_message(msg);
                }
                Some((req, reply)) = self.calls.recv() => {
                    let answer = self.on_request(req).await;
                    let _ = reply.send(answer);
                }
                _ = hup.recv() => {
                    let answer = self.reload();
                    self.log.info(&format!("SIGHUP: reload: {answer}"));
                }
                _ = term.recv() => { self.log.info("SIGTERM: leaving (carp(4) keeps the VIPs)"); return Ok(()); }
                _ = int.recv() => { self.log.info("SIGINT: leaving (carp(4) keeps the VIPs)"); return Ok(()); }
            }
        }
    }

    pub(super) async fn shutdown(&mut self) {
        if let Some(task) = self.control_task.take() {
            task.abort();
        }
        self.hooks.drain(DRAIN_LIMIT).await;
        self.defguard_runner.drain(DRAIN_LIMIT).await;
        let _ = std::fs::remove_file(self.opts.paths.control_socket());
        let _ = std::fs::remove_file(self.opts.paths.pidfile());
        self.log.info("stopped");
    }

    fn on_devd_message(&mut self, msg: DevdMessage) {
        match msg {
            DevdMessage::Event(ev) => self.on_devd(ev),
            DevdMessage::Interface(ev) => {
                let carries_vhid = self.model.groups.iter().any(|g| g.device == ev.ifname);
                if carries_vhid && ev.kind == "LINK_UP" {
                    // A rejoin: the preempt delay runs again before this node takes VHIDs back.
                    self.health.rejoined(Instant::now());
                    self.apply_automatic();
                }
                let ours = self
                    .defguard
                    .as_ref()
                    .is_some_and(|f| f.interface == ev.ifname);
                if ours && ev.came_up() {
                    self.reassert_defguard(&format!("{} {}", ev.ifname, ev.kind));
                }
            }
            DevdMessage::Connected { again: false } => {}
            DevdMessage::Connected { again: true } => {
                self.log.info("devd is back");
                self.catch_up();
            }
            DevdMessage::Unavailable(text) | DevdMessage::Note(text) => self.log.warn(&text),
        }
    }

    fn on_devd(&mut self, ev: CarpEvent) {
        let key = (ev.device.clone(), ev.vhid);
        let prev = self
            .previous
            .insert(key.clone(), ev.state)
            .unwrap_or(State::Init);
        self.log
            .info(&format!("{}: {} -> {}", ev.name(), prev, ev.state));
        // devd does not carry the kernel's reason.
        self.transition(ev.device, ev.vhid, prev, ev.state, String::new());
    }

    /// Count a transition, tell listeners and hand it to the hooks.
    fn transition(&mut self, device: String, vhid: u8, from: State, to: State, reason: String) {
        let at = crate::engine::unix_now();
        self.followed
            .entry((device.clone(), vhid))
            .or_default()
            .record(from.as_str(), to.as_str(), &reason, at);
        self.events.publish(&crate::events::Event::transition(
            vhid, &device, from, to, &reason, at,
        ));
        let addresses = self
            .model
            .group(&device, vhid)
            .map(|g| {
                g.addresses
                    .iter()
                    .map(|a| a.prefix.addr.to_string())
                    .collect()
            })
            .unwrap_or_default();
        self.hooks.submit(HookEvent {
            vhid,
            device,
            state: to,
            previous: from,
            reason,
            addresses,
        });
    }

    /// After devd was away (restarted, or it dropped carpd): the kernel's states now against
    /// the last ones devd reported; every vhid that changed meanwhile gets its hooks.
    fn catch_up(&mut self) {
        let kernel = match self.kernel.observe() {
            Ok(k) => k,
            Err(e) => {
                self.log
                    .warn(&format!("cannot read the kernel after devd came back: {e}"));
                return;
            }
        };
        for (dev, iface) in &kernel.interfaces {
            for v in &iface.vhids {
                let key = (dev.clone(), v.vhid);
                let prev = self.previous.insert(key, v.state).unwrap_or(State::Init);
                if prev != v.state {
                    self.log.info(&format!(
                        "{}@{dev}: {prev} -> {} (while devd was away)",
                        v.vhid, v.state
                    ));
                    self.transition(
                        dev.clone(),
                        v.vhid,
                        prev,
                        v.state,
                        "missed while devd was away".into(),
                    );
                }
            }
        }
    }

    fn seed_previous(&mut self, kernel: &KernelState) {
        for (dev, iface) in &kernel.interfaces {
            for v in &iface.vhids {
                self.previous.insert((dev.clone(), v.vhid), v.state);
            }
        }
    }

    // ---- demotion bookkeeping -----------------------------------------------------------

    fn uptime(&self) -> Result<f64, NativeError> {
        Ok(self.kernel.uptime()?)
    }

    /// carpd's part in the kernel according to the run directory's record (0 when none, or
    /// from an earlier boot, or unreadable — the last is logged).
    fn recorded(&self) -> Result<i32, NativeError> {
        let record = DemotionRecord::load(&self.opts.paths.run_dir);
        if let Err(e) = &record {
            self.log.warn(&e.to_string());
        }
        Ok(demotion_record::written_this_boot(&record, self.uptime()?))
    }

    fn save_record(&self, carpd: i32) -> Result<(), NativeError> {
        DemotionRecord::new(carpd, self.uptime()?).save(&self.opts.paths.run_dir)?;
        Ok(())
    }

    /// Bring carpd's part of the kernel's demotion to what the operator state and config.xml
    /// say, from the total `observed` now (start-up, reload, a wiped total; see
    /// `ops::reconcile`).
    fn reconcile_demotion(&mut self, observed: i32) -> Result<(), NativeError> {
        let carpd = ops::carpd_demotion(&self.operator, &self.model, self.owner);
        let recorded = self.recorded()?;
        let r = ops::reconcile(carpd, recorded, observed)?;
        for n in &r.plan.notes {
            self.log.warn(&format!("note: {n}"));
        }
        let mut current = r.carpd_before();
        for a in &r.plan.actions {
            current = self.execute(a, current)?;
            self.log.info(&format!(
                "demotion: carpd's part {carpd}, the kernel's own {}: {}",
                r.kernel_own,
                a.command()
            ));
        }
        // Also when nothing was written: the record then says "this boot" from now on.
        self.save_record(current)?;
        Ok(())
    }

    /// Once a second: carpd's part still in the kernel's total (another writer may have
    /// removed it), and on OPNsense config.xml as core last saved it.
    fn watch(&mut self) {
        if self.opts.opnsense.is_some() {
            self.follow_config();
        }
        let observed = match self.kernel.demotion() {
            Ok(d) => d,
            Err(e) => {
                self.log.warn(&format!("cannot read the demotion: {e}"));
                return;
            }
        };
        let recorded = match self.recorded() {
            Ok(r) => r,
            Err(e) => {
                self.log.warn(&e.to_string());
                return;
            }
        };
        if observed < recorded
            && let Err(e) = self.reconcile_demotion(observed)
        {
            self.log
                .error(&format!("cannot write carpd's demotion again: {e}"));
        }
        if self.model.groups.iter().any(|g| g.vrrp().is_some()) {
            self.keep_protocols();
        }
        self.expire_demotions();
        if self.health.expire(Instant::now()) {
            self.log.info("preempt delay over: VHIDs may be taken back");
        }
        // Also a retry after a failed write.
        self.apply_automatic();
        self.tell_demotion(observed);
    }

    /// A check's verdict or the end of the readiness wait: logged, told to listeners, and
    /// carpd's own demotions written.
    fn on_health(&mut self, event: crate::health::HealthEvent) {
        let Some(told) = self.health.take(&event) else {
            return;
        };
        told.tell(&self.log, &self.events);
        self.apply_automatic();
    }

    /// Bring carpd's own demotions (checks, readiness, preempt delay) in the kernel to what
    /// [`crate::health::Health`] says. A failure is logged once until it changes, and the
    /// next second tries again.
    fn apply_automatic(&mut self) {
        let wanted = self.health.demotions(true);
        if wanted == self.operator.automatic {
            return;
        }
        let result = self
            .kernel
            .observe()
            .map_err(|e| e.to_string())
            .and_then(|kernel| {
                ops::automatic(&self.context(&kernel), wanted).map_err(|e| e.to_string())
            });
        let outcome = match result {
            Ok(Some(change)) => self.carry_out(&change).map(|commands| (change, commands)),
            Ok(None) => return,
            Err(e) => Err(e),
        };
        match outcome {
            Ok((change, commands)) => {
                self.operator = change.operator;
                for c in commands {
                    self.log.info(&format!("carpd's own demotions: {c}"));
                }
                self.health_error = None;
            }
            Err(e) => {
                if self.health_error.as_deref() != Some(e.as_str()) {
                    self.log
                        .error(&format!("cannot write carpd's own demotions: {e}"));
                    self.health_error = Some(e);
                }
            }
        }
    }

    /// Remove named demotions whose `--for` is up, as a clear would (a clear is persisted).
    fn expire_demotions(&mut self) {
        for name in self.operator.due(crate::engine::unix_now()) {
            let answer = self.operator_request(&Request::Demote {
                name: name.clone(),
                delta: 0,
                clear: true,
                persistent: false,
                expires_in: None,
            });
            self.log.info(&format!("demotion {name} expired: {answer}"));
        }
    }

    /// Tell listeners when the kernel's total or carpd's breakdown of it changed.
    fn tell_demotion(&mut self, observed: i32) {
        let breakdown = ops::breakdown(&self.operator, &self.model, self.owner, observed);
        self.told_demotion.tell(&self.events, observed, breakdown);
    }

    /// Bring the VRRPv3 vhids (and those the kernel runs as VRRPv3 that config.xml wants as
    /// CARP) to config.xml: priorities that follow the demotion, and on OPNsense the vhids
    /// core created as CARP. A failure is logged once until it changes.
    fn keep_protocols(&mut self) {
        let result = self
            .kernel
            .observe()
            .map_err(NativeError::from)
            .and_then(|kernel| {
                let plan = super::plan_protocols(&self.model, &kernel);
                if plan.is_empty() {
                    return Ok(Vec::new());
                }
                self.kernel.execute(&plan)?;
                Ok(plan.commands())
            });
        match result {
            Ok(commands) => {
                for c in commands {
                    self.log.info(&format!("vrrp: applied: {c}"));
                }
                self.protocol_error = None;
            }
            Err(e) => {
                let text = e.to_string();
                if self.protocol_error.as_deref() != Some(text.as_str()) {
                    self.log.error(&format!(
                        "cannot bring the VRRPv3 vhids to config.xml: {text}"
                    ));
                    self.protocol_error = Some(text);
                }
            }
        }
    }

    /// On OPNsense: re-read config.xml when core saved it since the last read (VIPs added or
    /// removed in the GUI, maintenance entered with core's button), so status and the
    /// demotion follow without a reload.
    fn follow_config(&mut self) {
        let now = mtime(&self.opts.config);
        if now.is_some() && now != self.config_mtime {
            self.log.info(&format!(
                "{} changed: reading it again",
                self.opts.config.display()
            ));
            self.reload();
        }
    }

    /// Execute one action; for a demotion write keep the record on the safe side around it
    /// (raised before an increase, lowered after a decrease). Returns carpd's part after it.
    fn execute(&self, action: &Action, carpd_part: i32) -> Result<i32, NativeError> {
        let Action::Demotion { delta } = action else {
            self.run_action(action)?;
            return Ok(carpd_part);
        };
        let (before, after) = demotion_record::staged(carpd_part, *delta);
        if before != carpd_part {
            self.save_record(before)?;
        }
        if let Err(e) = self.run_action(action) {
            // Nothing was added: put the record back so it does not overstate carpd's part.
            let _ = self.save_record(carpd_part);
            return Err(e);
        }
        if after != before {
            self.save_record(after)?;
        }
        Ok(after)
    }

    fn run_action(&self, action: &Action) -> Result<(), NativeError> {
        self.kernel
            .run_action(action)
            .map_err(|e| NativeError::Action {
                command: action.command(),
                reason: e.to_string(),
            })
    }

    // ---- config -------------------------------------------------------------------------

    /// Plan against the live kernel and execute; records in the ledger what got applied.
    /// Returns the executed commands.
    fn apply(&self) -> Result<Vec<String>, NativeError> {
        let kernel = self.kernel.observe()?;
        let mut ledger = Ledger::load(&self.opts.paths.state_dir)?;
        let plan = super::plan::plan_for_daemon(&self.model, &kernel, &ledger);
        for n in &plan.notes {
            self.log.info(&format!("note: {n}"));
        }
        let result = self.kernel.execute(&plan);
        let applied = match &result {
            Ok(a) => a.clone(),
            Err(e) => (0..e.applied.len()).collect(),
        };
        super::record_applied(&mut ledger, &self.model, &plan, &applied);
        ledger.save(&self.opts.paths.state_dir)?;
        result?;
        Ok(applied.iter().map(|i| plan.steps[*i].command()).collect())
    }

    /// Re-read config.xml; a config with errors is refused and the running one kept. Then
    /// carpd's demotion and (except on OPNsense, where core applies VIPs) the kernel are
    /// brought to it.
    fn reload(&mut self) -> serde_json::Value {
        self.config_mtime = mtime(&self.opts.config);
        let new = match config::load(&self.opts.config) {
            Ok(l) => {
                for w in &l.warnings {
                    self.log.warn(&w.to_string());
                }
                l.model
            }
            Err(e) => {
                let (line, answer) = control::reload_refused(&e);
                self.log.warn(&line);
                return answer;
            }
        };
        let (mut added, mut changed, mut unchanged) = (vec![], vec![], 0);
        for g in &new.groups {
            match self.model.group(&g.device, g.vhid) {
                None => added.push(g.name()),
                Some(old) if old == g => unchanged += 1,
                Some(_) => changed.push(g.name()),
            }
        }
        let removed: Vec<String> = self
            .model
            .groups
            .iter()
            .filter(|g| new.group(&g.device, g.vhid).is_none())
            .map(|g| g.name())
            .collect();
        let kernel = match self.kernel.observe() {
            Ok(k) => k,
            Err(e) => return control::failed(format!("reload: {e}")),
        };
        if let Some(why) = super::vrrp_unsupported(&new, &kernel) {
            let line = format!("reload refused, the running configuration is kept: {why}");
            self.log.warn(&line);
            return control::failed(line);
        }
        self.model = new;
        if self.health.reload(&self.model.settings) {
            self.log.info(&format!(
                "tracked checks changed: {} running, each from OK",
                self.model.settings.checks.len()
            ));
        }
        self.operator.automatic = self.health.demotions(true);
        if let Err(e) = self.reconcile_demotion(kernel.sysctl.demotion) {
            return control::failed(format!("reload: cannot write the demotion: {e}"));
        }
        let applied = if self.opts.opnsense.is_some() {
            self.note_drift(&kernel);
            self.keep_protocols();
            Vec::new()
        } else {
            match self.apply() {
                Ok(a) => a,
                Err(e) => return control::failed(format!("reload: {e}")),
            }
        };
        for c in &applied {
            self.log.info(&format!("applied: {c}"));
        }
        self.load_defguard();
        let (line, mut answer) = control::reload_done(&added, &changed, &removed, unchanged);
        self.log.info(&line);
        answer["commands"] = serde_json::json!(applied);
        answer
    }

    // ---- control ------------------------------------------------------------------------

    async fn on_request(&mut self, req: Request) -> serde_json::Value {
        if self.opts.opnsense.is_some() {
            // core may have saved config.xml (its maintenance button) since the last look.
            self.follow_config();
        }
        match req {
            Request::Status => match self.kernel.observe() {
                Ok(kernel) => {
                    let mut report = super::report_with_operator(
                        &self.model,
                        &kernel,
                        &self.operator,
                        self.owner,
                    );
                    report.carp.waiting.extend(self.health.waiting());
                    report.carp.checks = self.health.checks(true);
                    super::add_daemon_view(&mut report, &self.followed, |dev, vhid| {
                        let mut all = self.hooks.results(dev, vhid);
                        all.extend(self.defguard_runner.results(dev, vhid));
                        all
                    });
                    control::ok(serde_json::json!({ "report": report }))
                }
                Err(e) => control::failed(e.to_string()),
            },
            Request::Reload => self.reload(),
            Request::HooksReplay if !self.hooks.is_enabled() => control::hooks_off(),
            Request::HooksReplay
                if self
                    .opts
                    .opnsense
                    .as_ref()
                    .is_some_and(|o| !o.rc_syshook().exists()) =>
            {
                control::failed(format!(
                    "core's {} does not exist: nothing was replayed (carpd runs no hooks of its \
                     own on OPNsense)",
                    self.opts
                        .opnsense
                        .as_ref()
                        .map(|o| o.rc_syshook().display().to_string())
                        .unwrap_or_default()
                ))
            }
            Request::HooksReplay => match self.kernel.observe() {
                Ok(kernel) => {
                    self.replay_hooks(&kernel);
                    let mut answer =
                        control::ok(serde_json::json!({ "replayed": self.model.groups.len() }));
                    if let Some(o) = &self.opts.opnsense {
                        answer["through"] = format!("{} carp", o.rc_syshook().display()).into();
                    }
                    answer
                }
                Err(e) => control::failed(e.to_string()),
            },
            Request::Maintenance { enter, persistent } if self.opts.opnsense.is_some() => {
                self.core_maintenance(enter, persistent).await
            }
            Request::Disable if self.opts.opnsense.is_some() => self.core_allow(false).await,
            Request::Enable if self.opts.opnsense.is_some() => self.core_allow(true).await,
            other => self.operator_request(&other),
        }
    }

    // ---- Defguard ----------------------------------------------------------------------

    /// Read the Defguard action's settings (start and reload).
    fn load_defguard(&mut self) {
        let conf = &self.opts.defguard.conf;
        self.defguard = match crate::defguard::load(conf) {
            Ok(None) => None,
            Ok(Some(f)) => match f.group(&self.model) {
                Some(g) if self.opts.defguard.action.exists() => {
                    self.log.info(&format!(
                        "Defguard gateway follows {}: {} is set to the VHID's role whenever it \
                         appears or comes up",
                        g.name(),
                        f.interface
                    ));
                    Some(f)
                }
                Some(_) => {
                    self.log.warn(&format!(
                        "{} is set up, but the action {} does not exist; nothing is re-asserted",
                        conf.display(),
                        self.opts.defguard.action.display()
                    ));
                    None
                }
                None => {
                    self.log.warn(&format!(
                        "{}: no configured CARP VIP matches {}",
                        conf.display(),
                        f.vip.as_ref().map_or_else(
                            || format!("vhid={}", f.vhid.unwrap_or_default()),
                            |u| format!("vip={u}")
                        )
                    ));
                    None
                }
            },
            Err(e) => {
                self.log.warn(&format!("Defguard follower: {e}"));
                None
            }
        };
    }

    /// Run the Defguard action with its VIP's current state.
    fn reassert_defguard(&mut self, why: &str) {
        let Some(f) = &self.defguard else { return };
        let Some(g) = f.group(&self.model) else {
            return;
        };
        let state = match self.kernel.observe() {
            Ok(k) => k.vhid(&g.device, g.vhid).map_or(State::Init, |v| v.state),
            Err(e) => {
                self.log
                    .warn(&format!("Defguard follower: cannot read the kernel: {e}"));
                return;
            }
        };
        self.log.info(&format!(
            "Defguard: {} is {state} ({why}): running {}",
            g.name(),
            self.opts.defguard.action.display()
        ));
        self.defguard_runner.submit(HookEvent {
            vhid: g.vhid,
            device: g.device.clone(),
            state,
            previous: state,
            reason: why.to_string(),
            addresses: g
                .addresses
                .iter()
                .map(|a| a.prefix.addr.to_string())
                .collect(),
        });
    }

    // ---- OPNsense -----------------------------------------------------------------------

    /// `maintenance enter|leave` on OPNsense: core's own toggle, so the GUI, `configctl carp`
    /// and carpd see one flag and the kernel gets 240 once. A leave takes carpd's named
    /// demotions with it (core writes `default − current`); they are written again at once.
    async fn core_maintenance(&mut self, enter: bool, persistent: bool) -> serde_json::Value {
        let Some(o) = self.opts.opnsense.clone() else {
            return control::failed("not OPNsense");
        };
        let mut notes = Vec::new();
        if !persistent {
            notes.push(
                "on OPNsense maintenance is core's <virtualip_carp_maintenancemode>, which \
                 always survives a reboot"
                    .to_string(),
            );
        }
        if self.model.maintenance == enter {
            notes.push(format!(
                "maintenance mode was already {}",
                if enter { "on" } else { "off" }
            ));
        } else {
            match super::opnsense::carp_set_status(&o, "maintenance").await {
                Ok(answer) => self.log.info(&format!(
                    "maintenance {}: core's carp_set_status answered {answer}",
                    if enter { "enter" } else { "leave" }
                )),
                Err(reason) => {
                    self.log.warn(&format!("maintenance: {reason}"));
                    return control::failed(reason);
                }
            }
            self.follow_config();
            self.watch();
        }
        let demotion = self.kernel.demotion().unwrap_or_default();
        let mut answer = control::ok(serde_json::json!({
            "maintenance": self.model.maintenance,
            "persistent": true,
            "demotion": demotion,
            "via": "core (configctl interface carp_set_status maintenance)",
        }));
        if self.model.maintenance != enter {
            return control::failed(format!(
                "core's carp_set_status ran, but config.xml's maintenance flag is {}",
                if self.model.maintenance { "on" } else { "off" }
            ));
        }
        answer["notes"] = notes.into();
        answer
    }

    /// `disable|enable` on OPNsense: core's carp_set_status, which also takes the VIPs down
    /// and brings them back as core's "Temporarily disable CARP" does.
    async fn core_allow(&mut self, allow: bool) -> serde_json::Value {
        let Some(o) = self.opts.opnsense.clone() else {
            return control::failed("not OPNsense");
        };
        let verb = if allow { "enable" } else { "disable" };
        match super::opnsense::carp_set_status(&o, verb).await {
            Ok(answer) => {
                self.log
                    .info(&format!("{verb}: core's carp_set_status answered {answer}"));
                control::ok(serde_json::json!({
                    "allow": allow,
                    "via": format!("core (configctl interface carp_set_status {verb})"),
                }))
            }
            Err(reason) => {
                self.log.warn(&format!("{verb}: {reason}"));
                control::failed(reason)
            }
        }
    }

    /// carpd's own maintenance from before it ran beside core becomes core's flag, so there
    /// is one; the operator state keeps only named demotions from then on.
    async fn hand_maintenance_to_core(&mut self) -> Result<(), NativeError> {
        if !self.operator.maintenance {
            return Ok(());
        }
        self.operator.leave_maintenance();
        if !self.model.maintenance {
            let answer = self.core_maintenance(true, true).await;
            if answer["status"] != "ok" {
                self.log.error(&format!(
                    "carpd's persistent maintenance could not be handed to core: {}",
                    answer["reason"]
                ));
            }
        }
        crate::operator::Persist::for_maintenance(false, true)
            .map(|p| p.write(&self.opts.paths.persistent_state()))
            .transpose()?;
        self.log.info(
            "carpd's own maintenance mode is now core's <virtualip_carp_maintenancemode> \
             (one flag, shown on core's CARP status page)",
        );
        Ok(())
    }

    /// On OPNsense carpd applies nothing; it says where the kernel differs from config.xml.
    /// VRRPv3 vhids are carpd's own ([`Daemon::keep_protocols`]) and left out.
    fn note_drift(&self, kernel: &KernelState) {
        let ledger = Ledger::load(&self.opts.paths.state_dir).unwrap_or_default();
        let plan = super::plan::plan_for_daemon(&self.model, kernel, &ledger);
        let carpds = |(dev, vhid): (&str, u8)| {
            self.model
                .group(dev, vhid)
                .is_some_and(|g| g.vrrp().is_some())
                || kernel.vhid(dev, vhid).is_some_and(|v| v.vrrp.is_some())
        };
        let differences: Vec<String> = plan
            .steps
            .iter()
            .filter(|s| !s.vhid().is_some_and(carpds))
            .filter(|s| !matches!(s, super::Step::SetVhid { key: Some(_), .. }))
            .map(|s| s.command())
            .collect();
        if !differences.is_empty() {
            self.log.info(&format!(
                "carp(4) differs from config.xml in {} step(s) core has not applied yet \
                 (Interfaces: Virtual IPs: Apply): {}",
                differences.len(),
                differences.join("; ")
            ));
        }
    }

    fn replay_hooks(&self, kernel: &KernelState) {
        self.replay_hooks_because(kernel, "replay");
    }

    /// Tell the services that follow a VHID its role once carpd runs: carp(4) kept the VIPs
    /// across carpd's restart, so no transition will. Elsewhere every hook hears each VHID's
    /// current role (reason `carpd started`), as the userspace engine's hooks do through its
    /// start-up transitions. On OPNsense core's CARP syshooks restart services (OpenVPN and
    /// others) and are not carpd's to run at will: only the plugin's follow-vhid action runs,
    /// with `--reassert` (it asks `carpd is-master`, answered once this start is done).
    fn reassert_roles(&self) {
        if let Some(o) = &self.opts.opnsense {
            let action = o.follow_action();
            if action.exists() {
                self.log.info(&format!(
                    "re-asserting roles: {} --reassert",
                    action.display()
                ));
                let log = self.log.clone();
                let limit = self.opts.hook_timeout;
                tokio::spawn(async move {
                    let run = tokio::process::Command::new(&action)
                        .arg("--reassert")
                        .stdin(std::process::Stdio::null())
                        .kill_on_drop(true)
                        .output();
                    match tokio::time::timeout(limit, run).await {
                        Ok(Ok(out)) if out.status.success() => {}
                        Ok(Ok(out)) => log.warn(&format!(
                            "{} --reassert: {}: {}",
                            action.display(),
                            out.status,
                            String::from_utf8_lossy(&out.stderr).trim()
                        )),
                        Ok(Err(e)) => log.warn(&format!("{}: {e}", action.display())),
                        Err(_) => log.warn(&format!(
                            "{} --reassert did not end within {} s: killed",
                            action.display(),
                            limit.as_secs()
                        )),
                    }
                });
            }
            return;
        }
        if !self.hooks.is_enabled() {
            return;
        }
        match self.kernel.observe() {
            Ok(kernel) => self.replay_hooks_because(&kernel, "carpd started"),
            Err(e) => self
                .log
                .warn(&format!("cannot read the kernel to re-assert roles: {e}")),
        }
    }

    fn replay_hooks_because(&self, kernel: &KernelState, reason: &str) {
        for g in &self.model.groups {
            let state = kernel
                .vhid(&g.device, g.vhid)
                .map_or(State::Init, |v| v.state);
            self.hooks.submit(HookEvent {
                vhid: g.vhid,
                device: g.device.clone(),
                state,
                previous: state,
                reason: reason.into(),
                addresses: g
                    .addresses
                    .iter()
                    .map(|a| a.prefix.addr.to_string())
                    .collect(),
            });
        }
    }

    /// What the planner of operator changes sees: this daemon's state and the kernel's.
    fn context<'a>(&'a self, kernel: &'a KernelState) -> Context<'a> {
        Context {
            owner: self.owner,
            model: &self.model,
            operator: &self.operator,
            kernel,
            now: crate::engine::unix_now(),
        }
    }

    /// maintenance, demote, state, disable, enable: plan (pure, `ops`), persist, execute.
    fn operator_request(&mut self, req: &Request) -> serde_json::Value {
        let kernel = match self.kernel.observe() {
            Ok(k) => k,
            Err(e) => return control::failed(e.to_string()),
        };
        let change = match ops::plan_request(&self.context(&kernel), req) {
            Ok(Some(c)) => c,
            Ok(None) => return control::failed("not an operator request"),
            Err(e) => return control::failed(e.to_string()),
        };
        match self.carry_out(&change) {
            Ok(commands) => {
                self.operator = change.operator;
                for c in &commands {
                    self.log.info(&format!("{}: {c}", request_word(req)));
                }
                let mut answer = change.answer;
                if let Some(o) = answer.as_object_mut() {
                    o.insert("commands".into(), commands.into());
                    if !change.plan.notes.is_empty() {
                        o.insert("notes".into(), change.plan.notes.clone().into());
                    }
                }
                control::ok(answer)
            }
            Err(reason) => {
                self.log.warn(&format!("{}: {reason}", request_word(req)));
                control::failed(reason)
            }
        }
    }

    /// Persist first, then the kernel writes in order. On a failure the persisted state is
    /// put back and the answer lists what was written before it.
    fn carry_out(&self, change: &Change) -> Result<Vec<String>, String> {
        let path = self.opts.paths.persistent_state();
        let restore = match &change.persist {
            Some(p) => Some(p.write(&path).map_err(|e| format!("cannot persist: {e}"))?),
            None => None,
        };
        let mut carpd_part = ops::carpd_demotion(&self.operator, &self.model, self.owner);
        let mut done = Vec::new();
        for a in &change.plan.actions {
            match self.execute(a, carpd_part) {
                Ok(after) => {
                    carpd_part = after;
                    done.push(a.command());
                }
                Err(e) => {
                    let mut reason = e.to_string();
                    if let Some(old) = &restore
                        && done.is_empty()
                        && let Err(re) = old.save(&path)
                    {
                        reason.push_str(&format!(
                            "; and the persisted state could not be put back: {re}"
                        ));
                    }
                    if !done.is_empty() {
                        reason.push_str(&format!(" (already done: {})", done.join("; ")));
                    }
                    return Err(reason);
                }
            }
        }
        Ok(done)
    }
}

fn request_word(req: &Request) -> &'static str {
    match req {
        Request::Status => "status",
        Request::Reload => "reload",
        Request::HooksReplay => "hooks replay",
        Request::Maintenance { enter: true, .. } => "maintenance enter",
        Request::Maintenance { enter: false, .. } => "maintenance leave",
        Request::Demote { .. } => "demote",
        Request::State { .. } => "state",
        Request::Disable => "disable",
        Request::Enable => "enable",
        Request::Events => "events",
    }
}

fn mtime(path: &std::path::Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

fn load_config(path: &std::path::Path, log: &Log) -> Result<Model, NativeError> {
    let loaded = config::load(path)?;
    for w in &loaded.warnings {
        log.warn(&w.to_string());
    }
    Ok(loaded.model)
}
