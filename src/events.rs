//! What `carpd events` streams: one JSON object per line for every transition, demotion
//! change, check result, hook result, burst of drops and dual-master alarm, from both engines.
//!
//! Publishing never waits: the bus is a bounded broadcast channel, and a listener that falls
//! behind loses the oldest lines and is told how many (`{"event":"missed","count":N}`) instead
//! of slowing the daemon.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;
use tokio::sync::broadcast;

use crate::status::HookResult;

/// Lines kept for a listener that has not read them yet.
pub const BUFFER: usize = 1024;

/// One event, as it goes on the wire (`"event"` names the kind).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    Transition {
        vhid: u8,
        device: String,
        from: String,
        to: String,
        reason: String,
        at: f64,
    },
    /// The total demotion or its breakdown changed.
    Demotion {
        total: i32,
        demotions: BTreeMap<String, i32>,
        at: f64,
    },
    /// A tracked check changed its verdict (or failed to run).
    Check {
        name: String,
        ok: bool,
        detail: String,
        at: f64,
    },
    Hook {
        vhid: u8,
        device: String,
        #[serde(flatten)]
        result: HookResult,
    },
    /// Adverts dropped for one reason since the last such line (at most one per reason and
    /// interface every 10 s, like the log).
    Drops {
        device: String,
        vhid: Option<u8>,
        reason: String,
        count: u64,
        at: f64,
    },
    /// A MASTER hears adverts for its VHID from a node it does not yield to.
    DualMaster {
        vhid: u8,
        device: String,
        source: String,
        why: String,
        at: f64,
    },
    /// Readiness gating: waiting, ready, or gone ahead at the deadline.
    Readiness {
        ready: bool,
        detail: String,
        at: f64,
    },
}

impl Event {
    /// A VHID's state change, as both engines report it.
    pub fn transition(
        vhid: u8,
        device: &str,
        from: crate::proto::State,
        to: crate::proto::State,
        reason: &str,
        at: f64,
    ) -> Event {
        Event::Transition {
            vhid,
            device: device.to_string(),
            from: from.to_string(),
            to: to.to_string(),
            reason: reason.to_string(),
            at,
        }
    }
}

/// The demotion last told to listeners, so that a `demotion` event goes out only when the
/// total or its breakdown changed.
#[derive(Debug, Default)]
pub struct DemotionTold(Option<(i32, BTreeMap<String, i32>)>);

impl DemotionTold {
    pub fn tell(&mut self, bus: &EventBus, total: i32, demotions: BTreeMap<String, i32>) {
        let now = (total, demotions);
        if self.0.as_ref() == Some(&now) {
            return;
        }
        bus.publish(&Event::Demotion {
            total: now.0,
            demotions: now.1.clone(),
            at: crate::engine::unix_now(),
        });
        self.0 = Some(now);
    }
}

/// The sending side, cheap to clone; every engine part that has something to say holds one.
#[derive(Clone, Debug)]
pub struct EventBus {
    tx: broadcast::Sender<Arc<str>>,
}

impl Default for EventBus {
    fn default() -> Self {
        EventBus::new()
    }
}

impl EventBus {
    pub fn new() -> EventBus {
        EventBus {
            tx: broadcast::channel(BUFFER).0,
        }
    }

    /// Send to every listener; nobody listening is fine.
    pub fn publish(&self, event: &Event) {
        if self.tx.receiver_count() == 0 {
            return;
        }
        if let Ok(line) = serde_json::to_string(event) {
            let _ = self.tx.send(Arc::from(line));
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<str>> {
        self.tx.subscribe()
    }
}

/// The line a listener gets after losing `count` lines.
pub fn missed_line(count: u64) -> String {
    serde_json::json!({ "event": "missed", "count": count }).to_string()
}
