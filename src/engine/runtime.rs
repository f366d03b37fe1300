//! The userspace engine's event loop on Linux: tokio current-thread, one task per socket
//! reading datagrams, everything else (timers, packets, link events, control requests,
//! signals) handled in one place so the machines never race each other.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::config::{self, CarpGroup, Model};
use crate::control::{self, ForcedState, Request, server::Call};
use crate::events::{DemotionTold, Event, EventBus};
use crate::health::{Health, HealthEvent};
use crate::hooks::{HookEvent, HookRunner};
use crate::logging::{Log, RateLimit};
use crate::operator::{OperatorState, Persist};
use crate::platform::linux::addresses::AddressControl;
use crate::platform::linux::announce::Announcer;
use crate::platform::linux::carp_socket::{CarpSocket, Received};
use crate::platform::linux::links::{self, LinkEvent};
use crate::platform::linux::timer::DeadlineTimer;
use crate::proto::{AdminRequest, Family, Input, Output, State};
use crate::status::GlobalStatus;
use crate::wire::carp::Repr;
use crate::wire::vrrp;

use super::group::Group;
use super::receive::{self, Datagram};
use super::ucarp::{self, UcarpMode};
use super::{EngineError, Options, Source, report, unix_now};

/// Demotion a maintenance mode adds, as OPNsense does.
const MAINTENANCE_DEMOTION: i32 = 240;
/// Demotion each VHID whose interface lost its link adds (FreeBSD's `ifdown_demotion_factor`
/// default), so the VHIDs on healthy interfaces follow to the peer and traffic stays symmetric.
const IFDOWN_DEMOTION: i32 = 240;
/// At most one log line per (interface, drop reason) in this interval.
const DROP_LOG_EVERY: Duration = Duration::from_secs(10);
/// How long shutdown waits for the final hooks.
const SHUTDOWN_HOOKS_LIMIT: Duration = Duration::from_secs(10);

/// Run the userspace engine until SIGTERM/SIGINT. Builds its own current-thread runtime.
pub fn run(opts: Options, log: Log) -> Result<(), EngineError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        // Only the hook runner's directory listings block; two threads serve any number of
        // VHIDs, where tokio's default (up to 512) would start one per VHID at boot, each with
        // its own stack and allocator arena.
        .max_blocking_threads(2)
        .build()
        .map_err(EngineError::io("tokio runtime"))?;
    rt.block_on(async move {
        let mut daemon = Daemon::start(opts, log).await?;
        let result = daemon.serve().await;
        daemon.shutdown().await;
        result
    })
}

/// One parent interface: its sockets, announcer and own addresses.
struct Iface {
    ifindex: Option<u32>,
    up: bool,
    v4: Option<Arc<CarpSocket>>,
    v6: Option<Arc<CarpSocket>>,
    announcer: Option<Announcer>,
    /// The interface's own addresses (not carpd's), to recognise echoes of our adverts.
    own: Vec<IpAddr>,
    readers: Vec<tokio::task::JoinHandle<()>>,
}

impl Iface {
    fn socket(&self, family: Family) -> Option<&Arc<CarpSocket>> {
        match family {
            Family::V4 => self.v4.as_ref(),
            Family::V6 => self.v6.as_ref(),
        }
    }
    fn close(&mut self) {
        for r in self.readers.drain(..) {
            r.abort();
        }
        self.v4 = None;
        self.v6 = None;
        self.announcer = None;
    }
}

struct Daemon {
    opts: Options,
    log: Log,
    model: Model,
    groups: Vec<Group>,
    ifaces: BTreeMap<String, Iface>,
    addrs: AddressControl,
    hooks: HookRunner,
    operator: OperatorState,
    allow: bool,
    /// Drops that belong to no configured VHID (wrong vhid, malformed), by reason.
    unmatched_drops: BTreeMap<String, u64>,
    limiter: RateLimit,
    packets_tx: mpsc::UnboundedSender<(String, Received)>,
    packets: mpsc::UnboundedReceiver<(String, Received)>,
    links: mpsc::UnboundedReceiver<LinkEvent>,
    calls: mpsc::Receiver<Call>,
    control_task: Option<tokio::task::JoinHandle<()>>,
    /// Run as ucarp: one VHID from the command line, ucarp's scripts and signals, and the
    /// scripts (not carpd) own the address.
    ucarp: Option<Box<UcarpMode>>,
    /// VHIDs (`<vhid>@<device>`) that have left the INIT they started in.
    started: std::collections::BTreeSet<String>,
    /// `carpd events` listeners.
    events: EventBus,
    /// Group indices by device and by the number at byte 1 of a protocol-112 payload (CARP's
    /// vhid, VRRP's VRID): the only groups a packet can be for.
    by_number: BTreeMap<String, Vec<Vec<usize>>>,
    /// Every group's deadline as noted when it was flushed, earliest first. An entry is stale
    /// (and skipped) when the group's `deadline` has moved on since; groups are renumbered
    /// only with a full rebuild (`reindex`).
    deadlines: std::collections::BinaryHeap<std::cmp::Reverse<(Instant, usize)>>,
    /// The demotion (total and breakdown) last told to listeners.
    told_demotion: DemotionTold,
    /// Tracked checks, readiness gating and the preempt delay.
    health: Health,
}

impl Daemon {
    async fn start(opts: Options, log: Log) -> Result<Daemon, EngineError> {
        let loaded = match &opts.source {
            Source::Config(path) => config::load(path)?,
            Source::Ucarp(u) => config::Loaded {
                model: u.model(),
                warnings: Vec::new(),
            },
        };
        let ucarp = match &opts.source {
            Source::Ucarp(u) => Some(u.clone()),
            Source::Config(_) => None,
        };
        for w in &loaded.warnings {
            log.warn(&w.to_string());
        }
        let model = loaded.model;
        let operator = OperatorState::load(&opts.paths.persistent_state())
            .map_err(|e| EngineError::State(e.to_string()))?;
        if operator.maintenance {
            log.info("persistent maintenance mode is on: starting demoted");
        }
        std::fs::create_dir_all(&opts.paths.run_dir).map_err(EngineError::io(format!(
            "creating {}",
            opts.paths.run_dir.display()
        )))?;
        let (call_tx, calls) = mpsc::channel(64);
        let events = EventBus::new();
        let control_task =
            control::server::serve(&opts.paths.control_socket(), call_tx, events.clone())
                .await
                .map_err(EngineError::io(format!(
                    "control socket {}",
                    opts.paths.control_socket().display()
                )))?;
        let pidfile = opts.paths.pidfile();
        std::fs::write(&pidfile, format!("{}\n", std::process::id()))
            .map_err(EngineError::io(format!("writing {}", pidfile.display())))?;
        let hook_log = log.clone();
        let hook_log: crate::hooks::LogFn = Arc::new(move |line: &str| hook_log.info(line));
        let hooks = match &ucarp {
            _ if !opts.hooks => HookRunner::disabled(),
            None => {
                for line in crate::hooks::describe(&opts.paths.hooks_dir) {
                    log.info(&line);
                }
                HookRunner::new_with_log(opts.paths.hooks_dir.clone(), opts.hook_timeout, hook_log)
            }
            Some(u) => {
                let name = |p: &Option<std::path::PathBuf>| {
                    p.as_ref()
                        .map_or("none".to_string(), |p| p.display().to_string())
                };
                log.info(&format!(
                    "scripts: up {}, down {}, arguments: {}",
                    name(&u.upscript),
                    name(&u.downscript),
                    u.script_args.join(" ")
                ));
                HookRunner::new_scripts(
                    u.upscript.clone(),
                    u.downscript.clone(),
                    u.script_args.clone(),
                    opts.hook_timeout,
                    hook_log,
                )
            }
        };
        hooks.publish_to(events.clone());
        let addrs = AddressControl::new()
            .await
            .map_err(EngineError::io("rtnetlink"))?;
        let links = links::watch().map_err(EngineError::io("link events"))?;
        let (packets_tx, packets) = mpsc::unbounded_channel();
        let mut daemon = Daemon {
            groups: Vec::new(),
            ifaces: BTreeMap::new(),
            addrs,
            hooks,
            operator,
            allow: true,
            unmatched_drops: BTreeMap::new(),
            limiter: RateLimit::default(),
            packets_tx,
            packets,
            links,
            calls,
            control_task: Some(control_task),
            ucarp,
            started: std::collections::BTreeSet::new(),
            events,
            by_number: BTreeMap::new(),
            deadlines: std::collections::BinaryHeap::new(),
            told_demotion: DemotionTold::default(),
            health: Health::start(&model.settings, Arc::new(links::link_up), Instant::now()),
            model: Model::default(),
            opts,
            log,
        };
        daemon.log.info(&format!(
            "userspace engine: {} VHIDs on {} interfaces, preempt {}",
            model.groups.len(),
            model
                .groups
                .iter()
                .map(|g| g.device.as_str())
                .collect::<std::collections::BTreeSet<_>>()
                .len(),
            if model.ha.preempt() { "on" } else { "off" }
        ));
        daemon.model = Model {
            groups: Vec::new(),
            ..model.clone()
        };
        // Run as ucarp, the scripts own the addresses: nothing of carpd's to reconcile, and
        // other instances (one per VIP, as ucarp runs) share the interface.
        let stale = if daemon.ucarp.is_some() {
            Vec::new()
        } else {
            daemon.stale_addresses().await
        };
        for cfg in model.groups {
            daemon.add_group(cfg, &stale).await;
        }
        if daemon.ucarp.is_none() {
            daemon.remove_foreign_stale(&stale).await;
        }
        for line in daemon.health.waiting() {
            daemon.log.info(&line);
        }
        let now = Instant::now();
        daemon.operator.automatic = daemon.health.demotions(false);
        daemon.apply_demotion(now);
        for dev in daemon.ifaces.keys().cloned().collect::<Vec<_>>() {
            daemon.link_changed(&dev, now);
        }
        daemon.flush().await;
        Ok(daemon)
    }

    /// The main loop; returns on SIGTERM/SIGINT.
    async fn serve(&mut self) -> Result<(), EngineError> {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).map_err(EngineError::io("SIGTERM"))?;
        let mut int = signal(SignalKind::interrupt()).map_err(EngineError::io("SIGINT"))?;
        let mut hup = signal(SignalKind::hangup()).map_err(EngineError::io("SIGHUP"))?;
        // ucarp's own signals; carpd proper leaves them at their default action.
        let ucarp_signal = |kind: SignalKind, name: &str| {
            self.ucarp
                .is_some()
                .then(|| signal(kind))
                .transpose()
                .map_err(EngineError::io(name))
        };
        let mut usr1 = ucarp_signal(SignalKind::user_defined1(), "SIGUSR1")?;
        let mut usr2 = ucarp_signal(SignalKind::user_defined2(), "SIGUSR2")?;
        let mut quit = ucarp_signal(SignalKind::quit(), "SIGQUIT")?;
        let timer = DeadlineTimer::new().map_err(EngineError::io("timerfd"))?;
        // Once a second: demotions given with `--for` and the preempt delay when due, and the
        // periodic announcements.
        let mut housekeeping = tokio::time::interval(Duration::from_secs(1));
        housekeeping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let deadline = self
                .next_deadline()
                .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
            timer.arm(deadline).map_err(EngineError::io("timerfd"))?;
            // The groups the event touched (timer and packets, which come by the thousand at
            // short intervals); every other event may touch any group.
            let mut touched: Option<Vec<usize>> = None;
            tokio::select! {
                fired = timer.fired() => {
                    fired.map_err(EngineError::io("timerfd"))?;
                    // An advert that reached a socket by the deadline counts before it: at
                    // 10 ms adverts a backup's master-down timer and the advert that cancels
                    // it are often ready together. Let the reader tasks hand over what the
                    // sockets hold (a yield polls the I/O driver first), and take that in.
                    tokio::task::yield_now().await;
                    let mut due = Vec::new();
                    while let Ok((dev, packet)) = self.packets.try_recv() {
                        due.extend(self.on_packet(&dev, packet));
                    }
                    let now = Instant::now();
                    while let Some(&std::cmp::Reverse((t, i))) = self.deadlines.peek() {
                        if t > now {
                            break;
                        }
                        self.deadlines.pop();
                        let g = &mut self.groups[i];
                        if g.deadline == Some(t) {
                            // Its heap entry is gone: the flush below notes the next one.
                            g.deadline = None;
                            g.machine.handle_timeout(now);
                            due.push(i);
                        }
                    }
                    touched = Some(due);
                }
                Some((dev, packet)) = self.packets.recv() => {
                    touched = Some(self.on_packet(&dev, packet).into_iter().collect());
                }
                _ = housekeeping.tick() => self.housekeeping(),
                event = self.health.recv() => self.on_health(event),
                Some(event) = self.links.recv() => self.on_link(event).await,
                Some((req, reply)) = self.calls.recv() => {
                    let answer = self.on_request(req).await;
                    let _ = reply.send(answer);
                }
                _ = hup.recv() => {
                    if self.ucarp.is_some() {
                        self.log.info("SIGHUP: leaving");
                        return Ok(());
                    }
                    let answer = self.reload().await;
                    self.log.info(&format!("SIGHUP: reload: {answer}"));
                }
                Some(()) = next(&mut usr1) => {
                    for g in &self.groups {
                        self.log.info(&ucarp::status_line(g.state(), &g.cfg.device, g.cfg.vhid));
                    }
                }
                Some(()) = next(&mut usr2) => {
                    let now = Instant::now();
                    for g in &mut self.groups {
                        let hold = ucarp::STEP_DOWN_HOLD;
                        g.machine.handle_input(now, Input::Admin(AdminRequest::StepDown { hold }));
                    }
                }
                Some(()) = next(&mut quit) => { self.log.info("SIGQUIT: leaving"); return Ok(()); }
                _ = term.recv() => { self.log.info("SIGTERM: leaving"); return Ok(()); }
                _ = int.recv() => { self.log.info("SIGINT: leaving"); return Ok(()); }
            }
            match touched {
                Some(groups) => self.flush_groups(&groups).await,
                None => self.flush().await,
            }
        }
    }

    /// Graceful exit: bow-out adverts, addresses released, hooks for INIT, socket removed.
    async fn shutdown(&mut self) {
        let now = Instant::now();
        for g in &mut self.groups {
            g.machine
                .handle_input(now, Input::Admin(AdminRequest::Leave));
        }
        self.flush().await;
        self.hooks.drain(SHUTDOWN_HOOKS_LIMIT).await;
        if let Some(task) = self.control_task.take() {
            task.abort();
        }
        for iface in self.ifaces.values_mut() {
            iface.close();
        }
        let _ = std::fs::remove_file(self.opts.paths.control_socket());
        let _ = std::fs::remove_file(self.opts.paths.pidfile());
        self.log.info("stopped");
    }

    fn demotion(&self) -> i32 {
        let mut total = self
            .operator
            .total_demotion()
            .saturating_add(self.link_demotion());
        if self.model.maintenance && !self.operator.maintenance {
            total = total.saturating_add(MAINTENANCE_DEMOTION);
        }
        total
    }

    /// What interfaces without link add to the demotion: one factor per VHID on them.
    fn link_demotion(&self) -> i32 {
        let down = self
            .groups
            .iter()
            .filter(|g| {
                self.ifaces
                    .get(&g.cfg.device)
                    .is_some_and(|f| f.ifindex.is_some() && !f.up)
            })
            .count();
        IFDOWN_DEMOTION.saturating_mul(i32::try_from(down).unwrap_or(i32::MAX))
    }

    fn maintenance(&self) -> bool {
        self.operator.maintenance || self.model.maintenance
    }

    // ---- groups and interfaces -------------------------------------------------------

    /// carpd-marked addresses present now (a previous carpd's, if it died without cleanup).
    async fn stale_addresses(&self) -> Vec<(String, config::IpPrefix)> {
        match self.addrs.list(None).await {
            Ok(list) => list
                .into_iter()
                .filter(|a| a.carpd)
                .map(|a| (a.ifname, a.prefix))
                .collect(),
            Err(err) => {
                self.log
                    .warn(&format!("cannot list addresses to reconcile: {err}"));
                Vec::new()
            }
        }
    }

    /// Marked addresses no configured VHID owns are removed at once, on the interfaces this
    /// carpd manages (another instance may run other interfaces of the same host).
    async fn remove_foreign_stale(&self, stale: &[(String, config::IpPrefix)]) {
        for (dev, prefix) in stale
            .iter()
            .filter(|(dev, _)| self.ifaces.contains_key(dev))
        {
            let owned = self.groups.iter().any(|g| {
                &g.cfg.device == dev && g.cfg.addresses.iter().any(|a| a.prefix == *prefix)
            });
            if owned {
                continue;
            }
            self.log.info(&format!(
                "removing {prefix} from {dev}: left by an earlier carpd, no longer configured"
            ));
            if let Ok(ifindex) = self.addrs.ifindex(dev).await
                && let Err(err) = self.addrs.remove(ifindex, *prefix).await
            {
                self.log
                    .warn(&format!("cannot remove {prefix} from {dev}: {err}"));
            }
        }
    }

    async fn add_group(&mut self, cfg: CarpGroup, stale: &[(String, config::IpPrefix)]) {
        let dev = cfg.device.clone();
        let mut group = Group::new(cfg, &self.model.ha, &self.opts.tuning, rand::random());
        group.stale = stale
            .iter()
            .any(|(d, p)| *d == dev && group.cfg.addresses.iter().any(|a| a.prefix == *p));
        if group.stale {
            self.log.info(&format!(
                "carp: {}: VIPs of an earlier carpd found; kept until the election settles",
                group.cfg.name()
            ));
        }
        self.model.groups.push(group.cfg.clone());
        self.groups.push(group);
        self.reindex();
        if !self.ifaces.contains_key(&dev) {
            let iface = Iface {
                ifindex: None,
                up: false,
                v4: None,
                v6: None,
                announcer: None,
                own: Vec::new(),
                readers: Vec::new(),
            };
            self.ifaces.insert(dev.clone(), iface);
        }
        self.open_iface(&dev).await;
    }

    /// (Re)open sockets of `dev` for the families its groups need. A missing interface or
    /// one without an own address to send from stays down (its VHIDs stay INIT).
    async fn open_iface(&mut self, dev: &str) {
        let need_v4 = self
            .groups
            .iter()
            .any(|g| g.cfg.device == dev && g.has_family(Family::V4));
        let need_v6 = self
            .groups
            .iter()
            .any(|g| g.cfg.device == dev && g.has_family(Family::V6));
        let state = links::link_state(dev).await;
        let ifindex = self.addrs.ifindex(dev).await.ok();
        let own: Vec<_> = match ifindex {
            Some(ix) => self
                .addrs
                .list(Some(ix))
                .await
                .unwrap_or_default()
                .into_iter()
                .filter(|a| !a.carpd)
                .map(|a| a.prefix.addr)
                .collect(),
            None => Vec::new(),
        };
        let vips: Vec<IpAddr> = self
            .groups
            .iter()
            .filter(|g| g.cfg.device == dev)
            .flat_map(|g| g.cfg.addresses.iter().map(|a| a.prefix.addr))
            .collect();
        let log = self.log.clone();
        let tx = self.packets_tx.clone();
        let ignore_link = self.ucarp.as_ref().is_some_and(|u| u.ignore_link);
        let Some(iface) = self.ifaces.get_mut(dev) else {
            return;
        };
        iface.ifindex = ifindex;
        iface.own = own.clone();
        iface.up = ignore_link || matches!(state, Ok(Some(ref l)) if l.up);
        if ifindex.is_none() {
            log.warn(&format!(
                "interface {dev} does not exist: its VHIDs stay INIT"
            ));
            iface.up = false;
            return;
        }
        let src4 = match &self.ucarp {
            // ucarp's --srcip; the kernel sends only from an address the interface has.
            Some(u) if own.contains(&IpAddr::V4(u.srcip)) => Some(u.srcip),
            Some(u) => {
                log.warn(&format!(
                    "--srcip {} is not an address of {dev}: the VHID stays INIT until it is",
                    u.srcip
                ));
                None
            }
            None => own.iter().find_map(|a| match a {
                IpAddr::V4(v) if !vips.contains(a) => Some(*v),
                _ => None,
            }),
        };
        let src6 = own.iter().find_map(|a| match a {
            IpAddr::V6(v) if v.is_unicast_link_local() => Some(*v),
            _ => None,
        });
        if need_v4 && iface.v4.is_none() {
            match src4 {
                Some(src) => match CarpSocket::open_v4(dev, src) {
                    Ok(s) => iface.v4 = Some(Arc::new(s)),
                    Err(err) => log.error(&format!("{dev}: cannot open IPv4 CARP socket: {err}")),
                },
                None => log.warn(&format!(
                    "{dev} has no IPv4 address of its own to send adverts from: its IPv4 VHIDs stay INIT"
                )),
            }
        }
        if need_v6 && iface.v6.is_none() {
            match src6 {
                Some(src) => match CarpSocket::open_v6(dev, src) {
                    Ok(s) => iface.v6 = Some(Arc::new(s)),
                    Err(err) => log.error(&format!("{dev}: cannot open IPv6 CARP socket: {err}")),
                },
                None => log.warn(&format!(
                    "{dev} has no IPv6 link-local address to send adverts from: its IPv6 VHIDs stay INIT"
                )),
            }
        }
        if iface.announcer.is_none() {
            match Announcer::open(dev) {
                Ok(a) => iface.announcer = Some(a),
                Err(err) => log.warn(&format!("{dev}: cannot announce (GARP/NA): {err}")),
            }
        }
        if iface.readers.is_empty() {
            for sock in [iface.v4.clone(), iface.v6.clone()].into_iter().flatten() {
                let tx = tx.clone();
                let log = log.clone();
                let dev = dev.to_string();
                iface.readers.push(tokio::spawn(async move {
                    loop {
                        match sock.recv().await {
                            Ok(packet) => {
                                if tx.send((dev.clone(), packet)).is_err() {
                                    return;
                                }
                            }
                            Err(err) => {
                                log.warn(&format!("{dev}: receive: {err}"));
                                tokio::time::sleep(Duration::from_millis(100)).await;
                            }
                        }
                    }
                }));
            }
        }
    }

    /// Whether `g` can run: readiness is over, no fault check holds its VHID, and its
    /// interface is up and has a socket for each family it uses.
    fn usable(&self, g: &Group) -> bool {
        let Some(iface) = self.ifaces.get(&g.cfg.device) else {
            return false;
        };
        self.health.ready()
            && self.health.faults(g.cfg.vhid).is_empty()
            && iface.up
            && [Family::V4, Family::V6]
                .into_iter()
                .all(|f| !g.has_family(f) || iface.socket(f).is_some())
    }

    /// Tell every machine on `dev` whether it can run now, and every machine the demotion
    /// that follows from it.
    fn link_changed(&mut self, dev: &str, now: Instant) {
        for i in 0..self.groups.len() {
            if self.groups[i].cfg.device != dev {
                continue;
            }
            self.tell_link(i, now);
        }
        self.apply_demotion(now);
    }

    /// Tell group `i` whether it can run now (and a VRRP router the address it sends from).
    fn tell_link(&mut self, i: usize, now: Instant) {
        let up = self.usable(&self.groups[i]);
        let primary = self.groups[i].vrrp_family().and_then(|f| {
            let iface = self.ifaces.get(&self.groups[i].cfg.device)?;
            Some(iface.socket(f)?.source())
        });
        self.groups[i].set_primary(now, primary, &self.opts.tuning);
        self.groups[i].machine.handle_input(now, Input::Link { up });
    }

    async fn on_link(&mut self, mut event: LinkEvent) {
        // ucarp's --ignoreifstate: carrier is not followed, only an interface that comes back.
        if self.ucarp.as_ref().is_some_and(|u| u.ignore_link) {
            event.up = true;
        }
        let Some(iface) = self.ifaces.get(&event.ifname) else {
            return;
        };
        if iface.up == event.up && iface.ifindex == Some(event.ifindex) {
            return;
        }
        self.log.info(&format!(
            "{}: link {}",
            event.ifname,
            if event.up { "up" } else { "down" }
        ));
        if event.up {
            if let Some(iface) = self.ifaces.get_mut(&event.ifname)
                && iface.ifindex != Some(event.ifindex)
            {
                // Recreated interface: the old sockets are bound to an index that is gone.
                iface.close();
            }
            self.open_iface(&event.ifname).await;
        } else if let Some(iface) = self.ifaces.get_mut(&event.ifname) {
            iface.up = false;
        }
        let now = Instant::now();
        if event.up {
            // A rejoin: the preempt delay runs again before this node takes VHIDs back.
            self.health.rejoined(now);
            self.operator.automatic = self.health.demotions(false);
        }
        self.link_changed(&event.ifname, now);
    }

    // ---- packets -----------------------------------------------------------------------

    /// Check one datagram and feed it to its group's election; returns that group's index
    /// when a machine got an input.
    fn on_packet(&mut self, dev: &str, packet: Received) -> Option<usize> {
        if !self.allow {
            return None;
        }
        let now = Instant::now();
        let iface = self.ifaces.get(dev)?;
        let dg = Datagram {
            family: packet.family,
            src: packet.src,
            dst: packet.dst,
            ttl: packet.ttl,
            payload: &packet.payload,
        };
        let own = &iface.own;
        let candidates: &[usize] = match (self.by_number.get(dev), packet.payload.get(1)) {
            (Some(buckets), Some(number)) => &buckets[usize::from(*number)],
            _ => &[],
        };
        let groups = &self.groups;
        let verdict = receive::check(&dg, candidates.iter().map(|&i| (i, &groups[i])), |a| {
            own.contains(a)
        });
        match verdict {
            Ok((i, input)) => {
                let g = &mut self.groups[i];
                g.counters.adverts_received += 1;
                if let Input::Vrrp(a) = input
                    && g.cfg.vrrp().is_some_and(|v| v.interval_cs != a.interval_cs)
                    && !a.from_self
                {
                    g.counters.interval_mismatches += 1;
                }
                g.machine.handle_input(now, input);
                Some(i)
            }
            Err((index, drop)) => {
                let name = drop.stat_name();
                match index {
                    Some(i) => self.groups[i].counters.drop(name),
                    None => *self.unmatched_drops.entry(name.to_string()).or_default() += 1,
                }
                // A MASTER that cannot believe adverts for its own VHID may not be alone.
                if let Some(i) = index.filter(|i| self.groups[*i].state() == State::Master)
                    && let Some(why) = receive::rival_why(drop)
                {
                    self.dual_master(i, packet.src, why.to_string(), now);
                }
                let key = format!("{dev}/{name}");
                if let Some(suppressed) = self.limiter.allow(&key, now, DROP_LOG_EVERY) {
                    let more = more_since(suppressed);
                    self.log.warn(&format!(
                        "carp: {dev}: dropped a packet from {} ({name}){more}",
                        packet.src
                    ));
                    self.events.publish(&Event::Drops {
                        device: dev.to_string(),
                        vhid: index.map(|i| self.groups[i].cfg.vhid),
                        reason: name.to_string(),
                        count: suppressed + 1,
                        at: unix_now(),
                    });
                }
                None
            }
        }
    }

    /// The earliest live deadline, dropping stale heap entries on the way.
    fn next_deadline(&mut self) -> Option<Instant> {
        while let Some(&std::cmp::Reverse((t, i))) = self.deadlines.peek() {
            if self.groups.get(i).is_some_and(|g| g.deadline == Some(t)) {
                return Some(t);
            }
            self.deadlines.pop();
        }
        None
    }

    /// Rebuild [`Daemon::by_number`] and the deadline heap after groups were added or removed
    /// (indices moved).
    fn reindex(&mut self) {
        self.deadlines = self
            .groups
            .iter()
            .enumerate()
            .filter_map(|(i, g)| g.deadline.map(|t| std::cmp::Reverse((t, i))))
            .collect();
        self.by_number.clear();
        for (i, g) in self.groups.iter().enumerate() {
            self.by_number
                .entry(g.cfg.device.clone())
                .or_insert_with(|| vec![Vec::new(); 256])[usize::from(g.cfg.vhid)]
            .push(i);
        }
    }

    // ---- outputs -----------------------------------------------------------------------

    /// Carry out everything every machine asked for, in their order.
    async fn flush(&mut self) {
        let all: Vec<usize> = (0..self.groups.len()).collect();
        self.flush_groups(&all).await;
    }

    /// Carry out what these machines asked for, and note their next deadlines.
    async fn flush_groups(&mut self, groups: &[usize]) {
        for &i in groups {
            while let Some(out) = self.groups[i].machine.poll_output() {
                self.carry_out(i, out).await;
            }
            let deadline = self.groups[i].machine.poll_timeout();
            if deadline != self.groups[i].deadline
                && let Some(t) = deadline
            {
                self.deadlines.push(std::cmp::Reverse((t, i)));
            }
            self.groups[i].deadline = deadline;
            // VIPs a crashed carpd left stay only while this node may still become MASTER:
            // they go once a master is heard, or when the VHID cannot run at all.
            let g = &self.groups[i];
            let settled = match g.state() {
                State::Master => false,
                State::Backup => g.machine.last_peer().is_some(),
                State::Init => true,
            };
            if g.stale && settled {
                self.groups[i].stale = false;
                self.release(i).await;
            }
        }
    }

    async fn carry_out(&mut self, i: usize, out: Output) {
        match out {
            Output::SendAdvert {
                family,
                advbase,
                advskew,
                counter,
            } => self.send_advert(i, family, advbase, advskew, counter),
            Output::SendVrrp {
                priority,
                interval_cs,
            } => self.send_vrrp(i, priority, interval_cs),
            // Run as ucarp, the up/down scripts add and remove the address.
            Output::ClaimAddresses | Output::ReleaseAddresses if self.ucarp.is_some() => {}
            Output::ClaimAddresses => {
                self.groups[i].stale = false;
                self.claim(i).await
            }
            Output::ReleaseAddresses => self.release(i).await,
            Output::Announce => self.announce(i),
            Output::Transition { from, to, reason } => {
                let g = &mut self.groups[i];
                let at = unix_now();
                g.record_transition(from, to, reason.as_str(), at);
                self.log.info(&format!(
                    "{}: {}: {from} -> {to} ({reason})",
                    g.protocol_name(),
                    g.cfg.name()
                ));
                self.events.publish(&Event::transition(
                    g.cfg.vhid,
                    &g.cfg.device,
                    from,
                    to,
                    reason.as_str(),
                    at,
                ));
                let name = g.cfg.name();
                let initial = from == State::Init && self.started.insert(name);
                let runs = match &self.ucarp {
                    None => true,
                    Some(u) => ucarp::script_for(u, from, to, reason, initial).is_some(),
                };
                if runs {
                    self.hooks
                        .submit(hook_event(&g.cfg, from, to, reason.as_str()));
                }
            }
            Output::Dropped(reason) => self.groups[i].counters.drop(reason.stat_name()),
            Output::RivalMaster { source, rival } => {
                let why = self.groups[i].rival_why(rival);
                self.dual_master(i, source, why, Instant::now());
            }
        }
    }

    /// Another master heard on group `i` while it is MASTER: once it persists (see
    /// `Group::note_rival`), count every such advert; log it and tell listeners at most once
    /// per 10 s.
    fn dual_master(&mut self, i: usize, source: IpAddr, why: String, now: Instant) {
        let g = &mut self.groups[i];
        if !g.note_rival(source, now) {
            return;
        }
        g.counters.dual_master += 1;
        let key = format!("{}/dual-master", g.cfg.name());
        if let Some(suppressed) = self.limiter.allow(&key, now, DROP_LOG_EVERY) {
            let more = more_since(suppressed);
            self.log.warn(&format!(
                "{}: {}: MASTER, and {source} is master too: {why}{more}",
                g.protocol_name(),
                g.cfg.name()
            ));
            self.events.publish(&Event::DualMaster {
                vhid: g.cfg.vhid,
                device: g.cfg.device.clone(),
                source: source.to_string(),
                why,
                at: unix_now(),
            });
        }
    }

    /// A check's verdict or the end of the readiness wait: logged, told to listeners, and
    /// every machine told what follows (whether it may run, the demotion).
    fn on_health(&mut self, event: HealthEvent) {
        let Some(told) = self.health.take(&event) else {
            return;
        };
        told.tell(&self.log, &self.events);
        self.health_changed(Instant::now());
    }

    /// After the health changed: carpd's own demotions, and every machine told whether it may
    /// run now.
    fn health_changed(&mut self, now: Instant) {
        self.operator.automatic = self.health.demotions(false);
        for i in 0..self.groups.len() {
            self.tell_link(i, now);
        }
        self.apply_demotion(now);
    }

    /// Once a second: timed demotions and the preempt delay that are due, and the periodic
    /// announcements of a MASTER.
    fn housekeeping(&mut self) {
        self.expire_demotions();
        let now = Instant::now();
        if self.health.expire(now) {
            self.log.info("preempt delay over: VHIDs may be taken back");
            self.health_changed(now);
        }
        if let Some(every) = self.model.settings.announce_interval {
            for i in 0..self.groups.len() {
                let g = &self.groups[i];
                if g.state() == State::Master
                    && g.announced
                        .is_none_or(|t| now.saturating_duration_since(t) >= every)
                {
                    self.announce(i);
                }
            }
        }
    }

    /// Remove named demotions whose `--for` is up, as a clear would (a clear is persisted).
    fn expire_demotions(&mut self) {
        for name in self.operator.due(crate::engine::unix_now()) {
            let answer = self.demote_request(&name, 0, true, false, None, Instant::now());
            self.log.info(&format!("demotion {name} expired: {answer}"));
        }
    }

    /// The socket group `i` sends `family` on, while its interface has one.
    fn socket(&self, i: usize, family: Family) -> Option<Arc<CarpSocket>> {
        let iface = self.ifaces.get(&self.groups[i].cfg.device)?;
        iface.socket(family).cloned()
    }

    fn send_advert(&mut self, i: usize, family: Family, advbase: u8, advskew: u8, counter: u64) {
        let Some(sock) = self.socket(i, family) else {
            return;
        };
        let g = &self.groups[i];
        let header = Repr {
            vhid: g.cfg.vhid,
            advskew,
            advbase,
            demote: 0,
            counter,
            hmac: g.auth.compute(counter),
        }
        .to_bytes();
        let sent = sock.send(g.destination(family), &header);
        self.count_send(i, sent);
    }

    /// One VRRPv3 advert listing the group's addresses, checksummed over this datagram's
    /// pseudo-header (RFC 9568 §5.2.8).
    fn send_vrrp(&mut self, i: usize, priority: u8, interval_cs: u16) {
        let Some(family) = self.groups[i].vrrp_family() else {
            return;
        };
        let Some(sock) = self.socket(i, family) else {
            return;
        };
        let g = &self.groups[i];
        let dst = g.destination(family);
        let (pseudo, addresses) = match (sock.source(), dst) {
            (IpAddr::V4(src), IpAddr::V4(dst)) => (
                vrrp::PseudoHeader::V4 { src, dst },
                vrrp::Addresses::V4(g.cfg.v4_addresses().collect()),
            ),
            (IpAddr::V6(src), IpAddr::V6(dst)) => (
                vrrp::PseudoHeader::V6 { src, dst },
                vrrp::Addresses::V6(g.cfg.v6_addresses().collect()),
            ),
            _ => return,
        };
        let advert = vrrp::Repr {
            vrid: g.cfg.vhid,
            priority,
            max_adver_int: interval_cs,
            addresses,
            checksum_style: vrrp::ChecksumStyle::PseudoHeader,
        };
        let sent = match advert.to_bytes(&pseudo) {
            Ok(bytes) => sock.send(dst, &bytes),
            Err(err) => Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, err)),
        };
        self.count_send(i, sent);
    }

    fn count_send(&mut self, i: usize, sent: std::io::Result<()>) {
        let g = &mut self.groups[i];
        match sent {
            Ok(()) => g.counters.adverts_sent += 1,
            Err(err) => {
                g.counters.drop("senderr");
                let key = format!("{}/senderr", g.cfg.name());
                if self
                    .limiter
                    .allow(&key, Instant::now(), DROP_LOG_EVERY)
                    .is_some()
                {
                    self.log.warn(&format!(
                        "{}: {}: cannot send advert: {err}",
                        g.protocol_name(),
                        g.cfg.name()
                    ));
                }
            }
        }
    }

    async fn claim(&self, i: usize) {
        let g = &self.groups[i];
        let Some(ifindex) = self.ifaces.get(&g.cfg.device).and_then(|f| f.ifindex) else {
            return;
        };
        for a in &g.cfg.addresses {
            if let Err(err) = self.addrs.add(ifindex, a.prefix).await {
                self.log.error(&format!(
                    "carp: {}: cannot add {}: {err}",
                    g.cfg.name(),
                    a.prefix
                ));
            }
        }
    }

    async fn release(&self, i: usize) {
        let g = &self.groups[i];
        let Some(ifindex) = self.ifaces.get(&g.cfg.device).and_then(|f| f.ifindex) else {
            return;
        };
        for a in &g.cfg.addresses {
            if let Err(err) = self.addrs.remove(ifindex, a.prefix).await {
                self.log.error(&format!(
                    "carp: {}: cannot remove {}: {err}",
                    g.cfg.name(),
                    a.prefix
                ));
            }
        }
    }

    fn announce(&mut self, i: usize) {
        self.groups[i].announced = Some(Instant::now());
        let g = &self.groups[i];
        let Some(announcer) = self
            .ifaces
            .get(&g.cfg.device)
            .and_then(|f| f.announcer.as_ref())
        else {
            return;
        };
        for a in &g.cfg.addresses {
            let sent = match a.prefix.addr {
                IpAddr::V4(v4) => announcer.garp(v4),
                IpAddr::V6(v6) => announcer.unsolicited_na(v6),
            };
            if let Err(err) = sent {
                self.log.warn(&format!(
                    "carp: {}: cannot announce {}: {err}",
                    g.cfg.name(),
                    a.prefix.addr
                ));
            }
        }
    }

    // ---- control -----------------------------------------------------------------------

    async fn on_request(&mut self, req: Request) -> serde_json::Value {
        let now = Instant::now();
        match req {
            Request::Status => {
                let report = self.status(now);
                control::ok(serde_json::json!({ "report": report }))
            }
            Request::Reload if self.ucarp.is_some() => control::failed(
                "carpd ucarp takes its settings from its command line: restart it to change them",
            ),
            Request::Reload => self.reload().await,
            Request::HooksReplay if !self.hooks.is_enabled() => control::hooks_off(),
            Request::HooksReplay => {
                for g in &self.groups {
                    let state = g.state();
                    self.hooks
                        .submit(hook_event(&g.cfg, state, state, "replay"));
                }
                control::ok(serde_json::json!({ "replayed": self.groups.len() }))
            }
            Request::Maintenance { enter, persistent } => {
                self.maintenance_request(enter, persistent, now)
            }
            Request::Demote {
                name,
                delta,
                clear,
                persistent,
                expires_in,
            } => {
                let expires_at = expires_in.map(|s| unix_now() + s as f64);
                self.demote_request(&name, delta, clear, persistent, expires_at, now)
            }
            // Streamed by the control server itself; never reaches the engine.
            Request::Events => control::failed("events are served by the control socket"),
            Request::State {
                target,
                vhid,
                device,
            } => {
                let request = match target {
                    ForcedState::Backup => AdminRequest::ForceBackup,
                    ForcedState::Master => AdminRequest::ForceMaster,
                };
                let mut touched = Vec::new();
                for g in &mut self.groups {
                    let selected = vhid.is_none_or(|v| v == g.cfg.vhid)
                        && device.as_deref().is_none_or(|d| d == g.cfg.device);
                    if selected {
                        g.machine.handle_input(now, Input::Admin(request));
                        touched.push(g.cfg.name());
                    }
                }
                if touched.is_empty() {
                    control::failed("no configured VHID matches")
                } else {
                    control::ok(serde_json::json!({ "vhids": touched }))
                }
            }
            Request::Disable | Request::Enable => {
                let enable = matches!(req, Request::Enable);
                self.allow = enable;
                let request = if enable {
                    AdminRequest::Enable
                } else {
                    AdminRequest::Disable
                };
                for g in &mut self.groups {
                    g.machine.handle_input(now, Input::Admin(request));
                }
                control::ok(serde_json::json!({ "allow": enable }))
            }
        }
    }

    fn demote_request(
        &mut self,
        name: &str,
        delta: i32,
        clear: bool,
        persistent: bool,
        expires_at: Option<f64>,
        now: Instant,
    ) -> serde_json::Value {
        let mut next = self.operator.clone();
        let result = if clear {
            next.clear(name).map(|_| ())
        } else {
            next.demote_until(name, delta, expires_at).map(|_| ())
        };
        if let Err(err) = result {
            return control::failed(err.to_string());
        }
        if let Some(p) = Persist::for_demotion(&next, name, clear, persistent)
            && let Err(err) = p.write(&self.opts.paths.persistent_state())
        {
            return control::failed(format!("cannot persist demotion {name}: {err}"));
        }
        self.operator = next;
        self.apply_demotion(now);
        let mut answer = serde_json::json!({
            "demotion": self.demotion(),
            "persistent": persistent || clear,
        });
        if let Some(at) = self.operator.expires.get(name) {
            answer["expires_at"] = serde_json::json!(at);
        }
        control::ok(answer)
    }

    fn maintenance_request(
        &mut self,
        enter: bool,
        persistent: bool,
        now: Instant,
    ) -> serde_json::Value {
        if !enter && self.model.maintenance {
            return control::failed(
                "maintenance mode is set in config.xml (<virtualip_carp_maintenancemode>): leave it there",
            );
        }
        let mut next = self.operator.clone();
        if enter {
            next.enter_maintenance();
        } else {
            next.leave_maintenance();
        }
        if let Some(p) = Persist::for_maintenance(enter, persistent)
            && let Err(err) = p.write(&self.opts.paths.persistent_state())
        {
            return control::failed(format!("cannot persist maintenance mode: {err}"));
        }
        self.operator = next;
        self.apply_demotion(now);
        self.log.info(&format!(
            "maintenance mode {}{}: demotion now {}",
            if enter { "entered" } else { "left" },
            if persistent { " (persistent)" } else { "" },
            self.demotion()
        ));
        let mut answer = serde_json::json!({
            "maintenance": self.maintenance(),
            "persistent": persistent,
            "demotion": self.demotion(),
        });
        // Demotion only moves a VIP to a peer that is there to take it.
        let lonely: Vec<String> = self
            .groups
            .iter()
            .filter(|g| g.state() == State::Master && g.machine.last_peer().is_none())
            .map(|g| g.cfg.name())
            .collect();
        if enter && !lonely.is_empty() {
            answer["warning"] = serde_json::json!(format!(
                "no better peer seen on {}: demotion will not move the VIP",
                lonely.join(", ")
            ));
        }
        control::ok(answer)
    }

    fn apply_demotion(&mut self, now: Instant) {
        let demotion = self.demotion();
        for g in &mut self.groups {
            g.machine.handle_input(now, Input::Demotion(demotion));
        }
        let breakdown = self.breakdown();
        self.told_demotion.tell(&self.events, demotion, breakdown);
    }

    /// The demotion by source, as status shows it.
    fn breakdown(&self) -> BTreeMap<String, i32> {
        let mut demotions = self.operator.breakdown();
        if self.maintenance() {
            demotions.insert("maintenance".to_string(), MAINTENANCE_DEMOTION);
        }
        if self.link_demotion() != 0 {
            demotions.insert("interface down".to_string(), self.link_demotion());
        }
        demotions
    }

    fn status(&self, now: Instant) -> crate::status::StatusReport {
        let vhids = self
            .groups
            .iter()
            .map(|g| report::vhid_status(g, now, self.hooks.results(&g.cfg.device, g.cfg.vhid)))
            .collect();
        report::report(
            vhids,
            GlobalStatus {
                demotion: self.demotion(),
                demotions: self.breakdown(),
                demotion_expires: self.operator.expires.clone(),
                allow: self.allow,
                maintenance: self.maintenance(),
                preempt: self.model.ha.preempt(),
                drops: self.unmatched_drops_with_framing(),
                waiting: self.health.waiting(),
                checks: self.health.checks(false),
            },
        )
    }

    /// Drops before any VHID matched, plus datagrams whose IP framing the sockets refused.
    fn unmatched_drops_with_framing(&self) -> BTreeMap<String, u64> {
        let mut drops = self.unmatched_drops.clone();
        let framing: u64 = self
            .ifaces
            .values()
            .flat_map(|f| [f.v4.as_ref(), f.v6.as_ref()])
            .flatten()
            .map(|s| s.malformed())
            .sum();
        if framing > 0 {
            *drops.entry("badlen".to_string()).or_default() += framing;
        }
        drops
    }

    /// Re-read config.xml. Unchanged VHIDs are not touched; a config with errors is refused
    /// and the running one kept.
    async fn reload(&mut self) -> serde_json::Value {
        let Source::Config(path) = &self.opts.source else {
            return control::failed("no config file to re-read");
        };
        let loaded = match config::load(path) {
            Ok(l) => l,
            Err(err) => {
                let (line, answer) = control::reload_refused(&err);
                self.log.error(&line);
                return answer;
            }
        };
        let new = loaded.model;
        let now = Instant::now();
        let (mut added, mut changed, mut removed, mut unchanged) = (vec![], vec![], vec![], 0);
        // Removed VHIDs leave gracefully.
        let mut i = 0;
        while i < self.groups.len() {
            let cfg = &self.groups[i].cfg;
            if new.group(&cfg.device, cfg.vhid).is_none() {
                removed.push(cfg.name());
                self.leave_group(i).await;
            } else {
                i += 1;
            }
        }
        let preempt_changed = new.ha.preempt() != self.model.ha.preempt();
        self.model.ha = new.ha.clone();
        self.model.maintenance = new.maintenance;
        if self.health.reload(&new.settings) {
            self.log.info(&format!(
                "tracked checks changed: {} running, each from OK",
                new.settings.checks.len()
            ));
        }
        self.model.settings = new.settings.clone();
        for cfg in new.groups {
            match self
                .groups
                .iter()
                .position(|g| g.cfg.device == cfg.device && g.cfg.vhid == cfg.vhid)
            {
                Some(i) if self.groups[i].cfg == cfg && !preempt_changed => unchanged += 1,
                Some(i) => {
                    changed.push(cfg.name());
                    self.update_group(i, cfg, now).await;
                }
                None => {
                    added.push(cfg.name());
                    self.add_group(cfg, &[]).await;
                    self.tell_link(self.groups.len() - 1, now);
                }
            }
        }
        self.model.groups = self.groups.iter().map(|g| g.cfg.clone()).collect();
        self.health_changed(now);
        let (line, answer) = control::reload_done(&added, &changed, &removed, unchanged);
        self.log.info(&line);
        answer
    }

    /// Group `i` leaves gracefully and is forgotten.
    async fn leave_group(&mut self, i: usize) {
        self.groups[i]
            .machine
            .handle_input(Instant::now(), Input::Admin(AdminRequest::Leave));
        while let Some(out) = self.groups[i].machine.poll_output() {
            self.carry_out(i, out).await;
        }
        self.groups.remove(i);
        self.reindex();
    }

    /// Apply a changed group in place: new timing/key/peers take effect without a flap; a
    /// MASTER adds new addresses and drops removed ones.
    async fn update_group(&mut self, i: usize, cfg: CarpGroup, now: Instant) {
        let old = self.groups[i].cfg.clone();
        if !self.groups[i].reconfigure(now, cfg.clone(), &self.model.ha, &self.opts.tuning) {
            // CARP <-> VRRPv3: the old election leaves (bow-out or priority 0) and a new one
            // starts in its place.
            self.leave_group(i).await;
            self.add_group(cfg, &[]).await;
            self.tell_link(self.groups.len() - 1, now);
            return;
        }
        let g = &self.groups[i];
        if g.state() == State::Master
            && let Some(ifindex) = self.ifaces.get(&g.cfg.device).and_then(|f| f.ifindex)
        {
            for a in old
                .addresses
                .iter()
                .filter(|a| !g.cfg.addresses.contains(a))
            {
                if let Err(err) = self.addrs.remove(ifindex, a.prefix).await {
                    self.log
                        .error(&format!("cannot remove {}: {err}", a.prefix));
                }
            }
            for a in g
                .cfg
                .addresses
                .iter()
                .filter(|a| !old.addresses.contains(a))
            {
                if let Err(err) = self.addrs.add(ifindex, a.prefix).await {
                    self.log.error(&format!("cannot add {}: {err}", a.prefix));
                }
            }
        }
        let dev = self.groups[i].cfg.device.clone();
        self.open_iface(&dev).await;
    }
}

/// What a rate-limited log line says about the lines it stood for.
fn more_since(suppressed: u64) -> String {
    if suppressed > 0 {
        format!(" ({suppressed} more since the last line)")
    } else {
        String::new()
    }
}

/// The next delivery of a signal that may not be watched at all.
async fn next(signal: &mut Option<tokio::signal::unix::Signal>) -> Option<()> {
    match signal {
        Some(s) => s.recv().await,
        None => std::future::pending().await,
    }
}

fn hook_event(cfg: &CarpGroup, from: State, to: State, reason: &str) -> HookEvent {
    HookEvent {
        vhid: cfg.vhid,
        device: cfg.device.clone(),
        state: to,
        previous: from,
        reason: reason.to_string(),
        addresses: cfg
            .addresses
            .iter()
            .map(|a| a.prefix.addr.to_string())
            .collect(),
    }
}
