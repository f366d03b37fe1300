//! What tracked checks, readiness gating and the preempt delay contribute, for both engines.
//!
//! [`Health`] owns the check tasks and the readiness wait of [`crate::checks`] and keeps what
//! follows from their results: demotions by name (`check:NAME`, `readiness`, `preempt-delay`),
//! the VHIDs a failing fault check takes out of service, and what status says this node is
//! waiting for. The engines only ask it; none of this runs on the protocol's path (checks run
//! on their own tasks, and a result is one message on a channel).
//!
//! The two engines differ where carp(4) does: the userspace engine holds VHIDs in INIT (not
//! ready yet, or faulted), while carp(4) has no per-vhid INIT a program can ask for, so the
//! native engine demotes by [`HOLD_DEMOTION`] instead ([`Health::demotions`] with `native`).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::checks::{self, LinkProbe, Readiness, RunCounts, Verdict};
use crate::config::{Check, CheckEffect, Settings};
use crate::events::Event;
use crate::status::CheckStatus;

/// The demotion readiness gating (native), the preempt delay and a native fault check hold a
/// node back with: OPNsense's maintenance value, enough to lose every election to a peer.
pub const HOLD_DEMOTION: i32 = 240;
/// Name of the readiness demotion (native engine).
pub const READINESS: &str = "readiness";
/// Name of the preempt delay's demotion.
pub const PREEMPT_DELAY: &str = "preempt-delay";

/// Whether a demotion name is carpd's own (checks, readiness, preempt delay): an operator's
/// `carpd demote` may not set or clear it, as it follows what carpd sees.
pub fn reserved(name: &str) -> bool {
    name.starts_with("check:") || name == READINESS || name == PREEMPT_DELAY
}

/// A result for the engine to take in with [`Health::take`].
#[derive(Debug)]
pub enum HealthEvent {
    Verdict(Verdict),
    Ready(Readiness),
}

/// What a result means, for the log (a warning unless `ok`) and for `carpd events`.
#[derive(Debug)]
pub struct Outcome {
    pub line: String,
    pub ok: bool,
    pub event: Event,
}

impl Outcome {
    /// Log it (a warning unless OK) and tell `carpd events` listeners.
    pub fn tell(&self, log: &crate::logging::Log, events: &crate::events::EventBus) {
        if self.ok {
            log.info(&self.line);
        } else {
            log.warn(&self.line);
        }
        events.publish(&self.event);
    }
}

/// What a failing check does.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Failing {
    Demote(i32),
    /// These VHIDs (every VHID when empty) out of service.
    Fault(Vec<u8>),
}

pub struct Health {
    link: LinkProbe,
    checks: Vec<Check>,
    counts: RunCounts,
    tasks: Vec<JoinHandle<()>>,
    /// Verdicts of the checks running now: a new channel with every start, so that a reload
    /// drops what the old checks still had to say. Its sender is kept here, so it never
    /// closes.
    verdicts: mpsc::UnboundedReceiver<Verdict>,
    verdict_tx: mpsc::UnboundedSender<Verdict>,
    /// The readiness wait, and where its one result arrives.
    readiness: Option<JoinHandle<()>>,
    ready_rx: Option<oneshot::Receiver<Readiness>>,
    /// Failing checks by name.
    failing: BTreeMap<String, Failing>,
    /// Why the readiness wait is not over yet (`None` once it is).
    waiting: Option<String>,
    preempt_delay: Duration,
    /// The preempt delay's demotion holds until then.
    hold_until: Option<Instant>,
}

impl Drop for Health {
    fn drop(&mut self) {
        self.stop_checks();
        if let Some(task) = self.readiness.take() {
            task.abort();
        }
    }
}

impl Health {
    /// Start the checks and the readiness wait (in a tokio runtime); the preempt delay runs
    /// from `now`.
    pub fn start(settings: &Settings, link: LinkProbe, now: Instant) -> Health {
        let (verdict_tx, verdicts) = mpsc::unbounded_channel();
        let mut health = Health {
            link,
            checks: Vec::new(),
            counts: RunCounts::default(),
            tasks: Vec::new(),
            verdicts,
            verdict_tx,
            readiness: None,
            ready_rx: None,
            failing: BTreeMap::new(),
            waiting: None,
            preempt_delay: settings.preempt_delay,
            hold_until: None,
        };
        health.start_checks(&settings.checks);
        if !settings.startup_delay.is_zero() || settings.ready_command.is_some() {
            health.waiting = Some(waiting_for(settings));
            let (tx, rx) = oneshot::channel();
            let settings = settings.clone();
            health.readiness = Some(tokio::spawn(async move {
                let _ = tx.send(checks::wait_ready(&settings).await);
            }));
            health.ready_rx = Some(rx);
        }
        health.rejoined(now);
        health
    }

    /// The next result; never ends (the verdicts' sender is kept here).
    pub async fn recv(&mut self) -> HealthEvent {
        let ready = async {
            match self.ready_rx.as_mut() {
                Some(rx) => rx.await.ok(),
                None => None,
            }
        };
        tokio::select! {
            Some(v) = self.verdicts.recv() => HealthEvent::Verdict(v),
            Some(r) = ready => {
                // Resolved: a oneshot is not polled again.
                self.ready_rx = None;
                HealthEvent::Ready(r)
            }
        }
    }

    /// Take a result in. Returns what to log and tell listeners, or `None` for a verdict of
    /// a check that is no longer configured (a reload raced it).
    pub fn take(&mut self, event: &HealthEvent) -> Option<Outcome> {
        let at = crate::engine::unix_now();
        match event {
            HealthEvent::Verdict(v) => {
                let check = self.checks.iter().find(|c| c.name == v.name)?;
                let what = if v.ok {
                    self.failing.remove(&v.name);
                    "ok".to_string()
                } else {
                    match &check.effect {
                        CheckEffect::Demote(_) => {
                            self.failing
                                .insert(v.name.clone(), Failing::Demote(v.demotion));
                            format!("failing, demotion {}", v.demotion)
                        }
                        CheckEffect::Fault { vhids } => {
                            self.failing
                                .insert(v.name.clone(), Failing::Fault(vhids.clone()));
                            format!("failing, {} out of service", vhid_list(vhids))
                        }
                    }
                };
                Some(Outcome {
                    line: format!("check {}: {what} ({})", v.name, v.detail),
                    ok: v.ok,
                    event: Event::Check {
                        name: v.name.clone(),
                        ok: v.ok,
                        detail: v.detail.clone(),
                        at,
                    },
                })
            }
            HealthEvent::Ready(r) => {
                self.waiting = None;
                self.readiness = None;
                let (ok, line) = match r {
                    Readiness::Ready { waited, detail } => (
                        true,
                        format!("ready after {:.1} s: {detail}", waited.as_secs_f64()),
                    ),
                    Readiness::GaveUp { waited, detail } => (
                        false,
                        format!(
                            "not ready after {:.1} s, going ahead: {detail}",
                            waited.as_secs_f64()
                        ),
                    ),
                };
                Some(Outcome {
                    event: Event::Readiness {
                        ready: ok,
                        detail: line.clone(),
                        at,
                    },
                    line,
                    ok,
                })
            }
        }
    }

    /// Whether the readiness wait is over.
    pub fn ready(&self) -> bool {
        self.waiting.is_none()
    }

    /// Whether the readiness wait or the preempt delay holds this node back now.
    pub fn holding(&self) -> bool {
        !self.ready() || self.hold_until.is_some()
    }

    /// Neither the readiness wait nor the preempt delay for this start (a native node that
    /// is MASTER already when carpd starts). The preempt delay still runs on a rejoin.
    pub fn release_start_holds(&mut self) {
        if let Some(task) = self.readiness.take() {
            task.abort();
        }
        self.ready_rx = None;
        self.waiting = None;
        self.hold_until = None;
    }

    /// An interface came back (or carpd started): the preempt delay runs again from `now`.
    pub fn rejoined(&mut self, now: Instant) {
        if !self.preempt_delay.is_zero() {
            self.hold_until = Some(now + self.preempt_delay);
        }
    }

    /// End the preempt delay when it is over; true when it just ended.
    pub fn expire(&mut self, now: Instant) -> bool {
        if self.hold_until.is_some_and(|t| t <= now) {
            self.hold_until = None;
            return true;
        }
        false
    }

    /// When the preempt delay ends, while it runs.
    pub fn preempt_hold(&self) -> Option<Instant> {
        self.hold_until
    }

    /// Demotions by name: failing weight checks, the preempt delay, and on the native engine
    /// (`native`) fault checks and the readiness wait too, as [`HOLD_DEMOTION`].
    pub fn demotions(&self, native: bool) -> BTreeMap<String, i32> {
        let mut out = BTreeMap::new();
        for (name, failing) in &self.failing {
            match failing {
                Failing::Demote(d) => {
                    out.insert(format!("check:{name}"), *d);
                }
                Failing::Fault(_) if native => {
                    out.insert(format!("check:{name}"), HOLD_DEMOTION);
                }
                Failing::Fault(_) => {}
            }
        }
        if native && !self.ready() {
            out.insert(READINESS.to_string(), HOLD_DEMOTION);
        }
        if self.hold_until.is_some() {
            out.insert(PREEMPT_DELAY.to_string(), HOLD_DEMOTION);
        }
        out.retain(|_, d| *d != 0);
        out
    }

    /// The failing fault checks that take `vhid` out of service (userspace engine).
    pub fn faults(&self, vhid: u8) -> Vec<&str> {
        self.failing
            .iter()
            .filter(|(_, f)| matches!(f, Failing::Fault(v) if v.is_empty() || v.contains(&vhid)))
            .map(|(name, _)| name.as_str())
            .collect()
    }

    /// What holds this node back, for status: the readiness wait and failing fault checks.
    pub fn waiting(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(w) = &self.waiting {
            out.push(format!("not taking MASTER until ready: {w}"));
        }
        for (name, failing) in &self.failing {
            if let Failing::Fault(vhids) = failing {
                out.push(format!(
                    "check {name} is failing: {} out of service",
                    vhid_list(vhids)
                ));
            }
        }
        out
    }

    /// Every check as status shows it; `native` as for [`Health::demotions`].
    pub fn checks(&self, native: bool) -> Vec<CheckStatus> {
        let demotions = self.demotions(native);
        self.checks
            .iter()
            .map(|c| {
                let counted = self.counts.get(&c.name);
                CheckStatus {
                    name: c.name.clone(),
                    kind: c.kind.type_name().to_string(),
                    ok: !self.failing.contains_key(&c.name),
                    demotion: demotions.get(&c.demotion_name()).copied().unwrap_or(0),
                    runs: counted.runs,
                    failures: counted.failures,
                    timeouts: counted.timeouts,
                    last: counted.last,
                }
            })
            .collect()
    }

    /// A reload: the checks start again when they changed (each from OK, as at start);
    /// returns whether they did. Readiness is a start-up matter and is not waited for again.
    pub fn reload(&mut self, settings: &Settings) -> bool {
        self.preempt_delay = settings.preempt_delay;
        if self.preempt_delay.is_zero() {
            self.hold_until = None;
        }
        if settings.checks == self.checks {
            return false;
        }
        self.stop_checks();
        self.failing.clear();
        self.counts.clear();
        self.start_checks(&settings.checks);
        true
    }

    fn start_checks(&mut self, list: &[Check]) {
        self.checks = list.to_vec();
        (self.verdict_tx, self.verdicts) = mpsc::unbounded_channel();
        self.tasks = checks::spawn(
            list,
            self.link.clone(),
            &self.counts,
            self.verdict_tx.clone(),
        );
    }

    fn stop_checks(&mut self) {
        for task in self.tasks.drain(..) {
            task.abort();
        }
    }
}

/// `VHID 1, 2` or `every VHID`.
fn vhid_list(vhids: &[u8]) -> String {
    if vhids.is_empty() {
        return "every VHID".to_string();
    }
    let list: Vec<String> = vhids.iter().map(u8::to_string).collect();
    format!(
        "VHID{} {}",
        if vhids.len() > 1 { "s" } else { "" },
        list.join(", ")
    )
}

/// What the readiness wait waits for, as status says it.
fn waiting_for(settings: &Settings) -> String {
    let mut parts = Vec::new();
    if !settings.startup_delay.is_zero() {
        parts.push(format!(
            "startup_delay {}",
            checks::human(settings.startup_delay)
        ));
    }
    if let Some(c) = &settings.ready_command {
        parts.push(format!("ready_command `{c}` to exit 0"));
    }
    format!(
        "{} (at most ready_deadline {})",
        parts.join(" and "),
        checks::human(settings.ready_deadline)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::CheckKind;
    use std::sync::Arc;

    fn check(name: &str, effect: CheckEffect) -> Check {
        Check {
            name: name.to_string(),
            kind: CheckKind::Link {
                interface: "eth9".to_string(),
            },
            interval: Duration::from_secs(2),
            timeout: Duration::from_secs(2),
            rise: 2,
            fall: 2,
            effect,
        }
    }

    fn verdict(name: &str, ok: bool, demotion: i32) -> HealthEvent {
        HealthEvent::Verdict(Verdict {
            name: name.to_string(),
            ok,
            demotion,
            detail: "eth9 has no carrier or is down".to_string(),
        })
    }

    fn health(settings: &Settings) -> Health {
        // A link that never answers: these tests feed verdicts themselves.
        let link: LinkProbe = Arc::new(|_: &str| Some(true));
        Health::start(settings, link, Instant::now())
    }

    #[tokio::test]
    async fn weights_and_faults_by_engine() {
        let settings = Settings {
            checks: vec![
                check("uplink", CheckEffect::Demote(50)),
                check("db", CheckEffect::Fault { vhids: vec![2] }),
            ],
            ..Settings::default()
        };
        let mut h = health(&settings);
        assert!(h.ready());
        assert!(h.demotions(false).is_empty());
        let line = h.take(&verdict("uplink", false, 50)).unwrap().line;
        assert_eq!(
            line,
            "check uplink: failing, demotion 50 (eth9 has no carrier or is down)"
        );
        h.take(&verdict("db", false, 0));
        assert_eq!(
            h.demotions(false),
            BTreeMap::from([("check:uplink".to_string(), 50)])
        );
        assert_eq!(h.demotions(true)["check:db"], HOLD_DEMOTION);
        assert_eq!(h.faults(2), vec!["db"]);
        assert!(h.faults(1).is_empty());
        assert_eq!(
            h.waiting(),
            vec!["check db is failing: VHID 2 out of service"]
        );
        h.take(&verdict("uplink", true, 50));
        h.take(&verdict("db", true, 0));
        assert!(h.demotions(true).is_empty());
        assert!(h.take(&verdict("gone", false, 9)).is_none());
    }

    #[tokio::test]
    async fn readiness_holds_until_the_wait_ends() {
        let settings = Settings {
            startup_delay: Duration::from_millis(200),
            ready_deadline: Duration::from_secs(5),
            ..Settings::default()
        };
        let mut h = health(&settings);
        assert!(!h.ready());
        assert_eq!(h.demotions(true)[READINESS], HOLD_DEMOTION);
        assert!(h.demotions(false).is_empty());
        assert!(h.waiting()[0].starts_with("not taking MASTER until ready: startup_delay 200 ms"));
        let event = tokio::time::timeout(Duration::from_secs(5), h.recv())
            .await
            .expect("readiness within its deadline");
        let told = h.take(&event).unwrap();
        assert!(told.line.starts_with("ready after 0."), "{}", told.line);
        assert!(matches!(told.event, Event::Readiness { ready: true, .. }));
        assert!(h.ready());
        assert!(h.demotions(true).is_empty());
    }

    #[tokio::test]
    async fn preempt_delay_runs_from_start_and_each_rejoin() {
        let settings = Settings {
            preempt_delay: Duration::from_secs(30),
            ..Settings::default()
        };
        let start = Instant::now();
        let mut h = Health::start(&settings, Arc::new(|_: &str| Some(true)), start);
        assert_eq!(h.demotions(false)[PREEMPT_DELAY], HOLD_DEMOTION);
        assert!(!h.expire(start + Duration::from_secs(29)));
        assert!(h.expire(start + Duration::from_secs(30)));
        assert!(h.demotions(false).is_empty());
        h.rejoined(start + Duration::from_secs(40));
        assert_eq!(h.preempt_hold(), Some(start + Duration::from_secs(70)));
        assert!(h.holding());
        h.release_start_holds();
        assert!(!h.holding());
        assert!(h.demotions(true).is_empty());
        h.rejoined(start + Duration::from_secs(50));
        h.reload(&Settings::default());
        assert_eq!(h.preempt_hold(), None);
    }

    #[test]
    fn reserved_names() {
        assert!(reserved("check:uplink"));
        assert!(reserved(READINESS));
        assert!(reserved(PREEMPT_DELAY));
        assert!(!reserved("service:openvpn"));
    }
}
