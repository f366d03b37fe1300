//! A virtual segment: nodes running the real `carpd::proto` elections (CARP `Machine`s and
//! VRRPv3 `VrrpMachine`s), a virtual clock and a network that loses, delays, duplicates,
//! partitions and echoes adverts.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use carpd::proto::vrrp::{centis, demoted_priority, skew_time};
use carpd::proto::{
    AdminRequest, Advert, DropReason, Election, Family, Input, Machine, MachineConfig, Output,
    Reason, State, VrrpAdvert, VrrpConfig, VrrpMachine, demoted_skew, skew_duration,
};

use super::rng::Rng;

#[derive(Clone, Debug)]
pub struct VhidSpec {
    pub vhid: u8,
    /// CARP's advbase; for a VRRP router an upper bound of its interval, in seconds.
    pub advbase: u8,
    pub v4: bool,
    pub v6: bool,
    /// `Some(interval in centiseconds)`: a VRRPv3 router (of one family) instead of CARP.
    pub vrrp: Option<u16>,
}

#[derive(Clone, Debug)]
pub struct NodeSpec {
    /// Configured advskew per VHID (same order as `ClusterSpec::vhids`; CARP VHIDs).
    pub skews: Vec<u8>,
    /// Configured priority per VHID (VRRP routers).
    pub priorities: Vec<u8>,
    pub preempt: bool,
}

#[derive(Clone, Debug)]
pub struct ClusterSpec {
    pub vhids: Vec<VhidSpec>,
    pub nodes: Vec<NodeSpec>,
    pub replay_guard: bool,
}

#[derive(Clone, Copy, Debug)]
pub struct Net {
    pub loss: f64,
    pub dup: f64,
    pub delay_min: Duration,
    pub delay_max: Duration,
    /// Probability that a sender gets its own advert back.
    pub echo: f64,
    /// Whether the runtime recognises echoes as coming from its own address (`from_self`).
    pub echo_flagged: bool,
    /// Let packets overtake each other; a healthy LAN keeps each sender's packets in order.
    pub reorder: bool,
}

impl Net {
    pub fn healthy() -> Net {
        Net {
            loss: 0.0,
            dup: 0.0,
            delay_min: Duration::from_micros(50),
            delay_max: Duration::from_millis(5),
            echo: 0.0,
            echo_flagged: true,
            reorder: false,
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub struct TransitionRecord {
    pub at: Duration,
    pub node: usize,
    pub vhid: usize,
    pub from: State,
    pub to: State,
    pub reason: Reason,
}

struct Node {
    addr4: IpAddr,
    addr6: IpAddr,
    /// `None` while the node is crashed.
    machines: Option<Vec<Election>>,
    deadlines: Vec<Option<Duration>>,
    link_up: bool,
    demotion: i32,
    holds: Vec<bool>,
}

struct Delivery {
    at: Duration,
    seq: u64,
    to: usize,
    vhid: usize,
    /// `Input::Advert` or `Input::Vrrp`.
    advert: Input,
}

impl PartialEq for Delivery {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Delivery {}
impl PartialOrd for Delivery {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Delivery {
    // Reversed: BinaryHeap is a max-heap and we want the earliest delivery first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

pub struct World {
    pub spec: ClusterSpec,
    base: Instant,
    now: Duration,
    rng: Rng,
    nodes: Vec<Node>,
    queue: BinaryHeap<Delivery>,
    seq: u64,
    net: Net,
    /// `cut[a][b]`: packets from a do not reach b.
    cut: Vec<Vec<bool>>,
    /// Latest scheduled arrival per (sender, receiver), to keep links FIFO.
    last_arrival: Vec<Vec<Duration>>,
    pub transitions: Vec<TransitionRecord>,
    /// Every advert that went on the wire, as an attacker on the segment sees it.
    pub captured: Vec<(Duration, usize, Advert)>,
    /// Adverts of this family are lost on the wire (one-family failure).
    dropped_family: Option<Family>,
    pub capture: bool,
    pub replay_drops: u64,
    pub echo_drops: u64,
    trace: Vec<String>,
    verbose: bool,
    pub violations: Vec<String>,
}

fn secs(d: Duration) -> String {
    format!("{}.{:06}", d.as_secs(), d.subsec_micros())
}

impl World {
    pub fn new(spec: ClusterSpec, seed: u64) -> World {
        let nodes = (0..spec.nodes.len())
            .map(|i| Node {
                addr4: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10 + i as u8)),
                addr6: IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 10 + i as u16)),
                machines: None,
                deadlines: vec![None; spec.vhids.len()],
                link_up: false,
                demotion: 0,
                holds: vec![false; spec.vhids.len()],
            })
            .collect();
        let n = spec.nodes.len();
        World {
            spec,
            base: Instant::now(),
            now: Duration::ZERO,
            rng: Rng::new(seed ^ 0x5eed_0fca_4b00),
            nodes,
            queue: BinaryHeap::new(),
            seq: 0,
            net: Net::healthy(),
            cut: vec![vec![false; n]; n],
            last_arrival: vec![vec![Duration::ZERO; n]; n],
            transitions: Vec::new(),
            captured: Vec::new(),
            capture: true,
            dropped_family: None,
            replay_drops: 0,
            echo_drops: 0,
            trace: Vec::new(),
            verbose: std::env::var_os("SIM_VERBOSE").is_some(),
            violations: Vec::new(),
        }
    }

    pub fn now(&self) -> Duration {
        self.now
    }

    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    pub fn vhid_count(&self) -> usize {
        self.spec.vhids.len()
    }

    fn note(&mut self, text: String) {
        self.trace.push(format!("t={} {}", secs(self.now), text));
    }

    pub fn trace(&self) -> String {
        self.trace.join("\n")
    }

    pub fn set_net(&mut self, net: Net) {
        self.note(format!(
            "network loss={:.2} dup={:.2} delay={}..{}ms echo={:.2}{}{}",
            net.loss,
            net.dup,
            net.delay_min.as_secs_f64() * 1e3,
            net.delay_max.as_secs_f64() * 1e3,
            net.echo,
            if net.echo_flagged { "" } else { " (unflagged)" },
            if net.reorder { " reordering" } else { "" }
        ));
        self.net = net;
    }

    pub fn net(&self) -> Net {
        self.net
    }

    fn election(&mut self, node: usize, vhid: usize) -> Election {
        let v = &self.spec.vhids[vhid];
        let Some(interval_cs) = v.vrrp else {
            let counter = self.rng.next_u64();
            return Election::Carp(Machine::new(self.config(node, vhid), counter));
        };
        let family = if v.v4 { Family::V4 } else { Family::V6 };
        Election::Vrrp(VrrpMachine::new(VrrpConfig {
            vrid: v.vhid,
            family,
            priority: self.spec.nodes[node].priorities[vhid],
            interval_cs,
            preempt: self.spec.nodes[node].preempt,
            announce_count: 2,
            primary: Some(self.source(node, family)),
        }))
    }

    fn source(&self, node: usize, family: Family) -> IpAddr {
        match family {
            Family::V4 => self.nodes[node].addr4,
            Family::V6 => self.nodes[node].addr6,
        }
    }

    pub fn is_vrrp(&self, vhid: usize) -> bool {
        self.spec.vhids[vhid].vrrp.is_some()
    }

    fn config(&self, node: usize, vhid: usize) -> MachineConfig {
        let v = &self.spec.vhids[vhid];
        MachineConfig {
            vhid: v.vhid,
            advbase: v.advbase,
            advskew: self.spec.nodes[node].skews[vhid],
            preempt: self.spec.nodes[node].preempt,
            v4: v.v4,
            v6: v.v6,
            announce_count: 2,
            bow_out: true,
            replay_guard: self.spec.replay_guard,
        }
    }

    /// Start (or restart) the daemon on a node: fresh machines with random counters, link up.
    pub fn boot(&mut self, node: usize) {
        if self.nodes[node].machines.is_some() {
            self.crash(node);
        }
        self.note(format!("node{node} boot"));
        let machines = (0..self.vhid_count())
            .map(|v| self.election(node, v))
            .collect();
        self.nodes[node].machines = Some(machines);
        self.nodes[node].link_up = true;
        let demotion = self.nodes[node].demotion;
        for v in 0..self.vhid_count() {
            if demotion != 0 {
                self.input(node, v, Input::Demotion(demotion));
            }
            self.input(node, v, Input::Link { up: true });
        }
    }

    /// The daemon dies: no goodbye, and (as the engine's startup cleanup guarantees) the
    /// addresses are gone with it.
    pub fn crash(&mut self, node: usize) {
        self.note(format!("node{node} crash"));
        let n = &mut self.nodes[node];
        n.machines = None;
        n.deadlines.iter_mut().for_each(|d| *d = None);
        n.holds.iter_mut().for_each(|h| *h = false);
        n.link_up = false;
    }

    pub fn is_running(&self, node: usize) -> bool {
        self.nodes[node].machines.is_some()
    }

    pub fn link(&mut self, node: usize, up: bool) {
        if !self.is_running(node) {
            return;
        }
        self.note(format!(
            "node{node} link {}",
            if up { "up" } else { "down" }
        ));
        self.nodes[node].link_up = up;
        for v in 0..self.vhid_count() {
            self.input(node, v, Input::Link { up });
        }
    }

    pub fn admin(&mut self, node: usize, vhid: usize, request: AdminRequest) {
        if !self.is_running(node) {
            return;
        }
        self.note(format!(
            "node{node} vhid{} admin {request:?}",
            self.spec.vhids[vhid].vhid
        ));
        self.input(node, vhid, Input::Admin(request));
    }

    /// Set a node's total demotion (FreeBSD's is global to the host: every VHID sees it).
    pub fn demote(&mut self, node: usize, total: i32) {
        self.note(format!("node{node} demotion {total}"));
        self.nodes[node].demotion = total;
        if self.is_running(node) {
            for v in 0..self.vhid_count() {
                self.input(node, v, Input::Demotion(total));
            }
        }
    }

    /// Split the segment: nodes only reach nodes with the same side number.
    pub fn partition(&mut self, side: &[usize]) {
        self.note(format!("partition sides {side:?}"));
        for a in 0..self.nodes.len() {
            for b in 0..self.nodes.len() {
                self.cut[a][b] = side[a] != side[b];
            }
        }
    }

    /// One-way cut (a hears nothing from b, b still hears a).
    pub fn cut_one_way(&mut self, from: usize, to: usize) {
        self.note(format!("cut node{from} -> node{to}"));
        self.cut[from][to] = true;
    }

    pub fn drop_family(&mut self, family: Family) {
        self.note(format!("all {family:?} adverts lost from now on"));
        self.dropped_family = Some(family);
    }

    /// `address` is one of the node's own (the runtime would flag the advert `from_self`).
    pub fn owns(&self, node: usize, address: IpAddr) -> bool {
        self.nodes[node].addr4 == address || self.nodes[node].addr6 == address
    }

    pub fn heal(&mut self) {
        self.note("heal".to_string());
        self.cut
            .iter_mut()
            .for_each(|r| r.iter_mut().for_each(|c| *c = false));
    }

    pub fn state(&self, node: usize, vhid: usize) -> Option<State> {
        self.nodes[node].machines.as_ref().map(|m| m[vhid].state())
    }

    pub fn masters(&self, vhid: usize) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&n| self.state(n, vhid) == Some(State::Master))
            .collect()
    }

    pub fn holders(&self, vhid: usize) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&n| self.nodes[n].holds[vhid])
            .collect()
    }

    /// Advertised timing of a node for a VHID (what CARP peers compare); a VRRP router's
    /// advert interval.
    pub fn timing(&self, node: usize, vhid: usize) -> Duration {
        self.timing_with(node, vhid, self.nodes[node].demotion)
    }

    /// Advertised timing the node would have with this demotion.
    pub fn timing_with(&self, node: usize, vhid: usize, demotion: i32) -> Duration {
        if let Some(interval) = self.spec.vhids[vhid].vrrp {
            return centis(interval);
        }
        let skew = demoted_skew(self.spec.nodes[node].skews[vhid], demotion);
        Duration::from_secs(u64::from(self.spec.vhids[vhid].advbase)) + skew_duration(skew)
    }

    /// The priority a node's VRRP router advertises now.
    pub fn priority(&self, node: usize, vhid: usize) -> u8 {
        demoted_priority(
            self.spec.nodes[node].priorities[vhid],
            self.nodes[node].demotion,
        )
    }

    /// The node that must end up MASTER if it has preempt on, if there is exactly one: CARP's
    /// lowest advertised timing; VRRP's highest priority (a VRRP backup preempts only a
    /// strictly lower priority, so a tie has no preferred node).
    pub fn preferred(&self, vhid: usize, among: &[usize]) -> Option<usize> {
        let mut ranked: Vec<_> = among
            .iter()
            .map(|&n| {
                let rank = match self.is_vrrp(vhid) {
                    true => Duration::from_secs(u64::from(255 - self.priority(n, vhid))),
                    false => self.timing(n, vhid),
                };
                (rank, n)
            })
            .collect();
        ranked.sort();
        match ranked.as_slice() {
            [(t0, n), (t1, _), ..] if t0 < t1 => Some(*n),
            [(_, n)] => Some(*n),
            _ => None,
        }
    }

    /// How long after a VRRP master's priority-0 advert the election must be over: the
    /// slowest running backup's Skew_Time (the fastest fires first; the others hear it or
    /// yield to it).
    pub fn bow_out_bound(&self, vhid: usize) -> Duration {
        let Some(interval) = self.spec.vhids[vhid].vrrp else {
            return Duration::ZERO;
        };
        (0..self.nodes.len())
            .filter(|&n| self.is_running(n))
            .map(|n| skew_time(self.priority(n, vhid), interval))
            .max()
            .unwrap_or_default()
    }

    pub fn transitions_since(&self, t: Duration) -> Vec<TransitionRecord> {
        self.transitions
            .iter()
            .filter(|r| r.at >= t)
            .copied()
            .collect()
    }

    /// Attacker: put `advert` on the wire towards `to` now (after the usual delay).
    pub fn inject(&mut self, to: usize, vhid: usize, advert: Advert) {
        let delay = self.rng.duration(self.net.delay_min, self.net.delay_max);
        self.schedule(self.now + delay, to, vhid, Input::Advert(advert));
    }

    pub fn rng(&mut self) -> &mut Rng {
        &mut self.rng
    }

    fn schedule(&mut self, at: Duration, to: usize, vhid: usize, advert: Input) {
        self.seq += 1;
        self.queue.push(Delivery {
            at,
            seq: self.seq,
            to,
            vhid,
            advert,
        });
    }

    fn input(&mut self, node: usize, vhid: usize, input: Input) {
        let now = self.base + self.now;
        let Some(machines) = self.nodes[node].machines.as_mut() else {
            return;
        };
        machines[vhid].handle_input(now, input);
        self.drain(node, vhid);
    }

    fn drain(&mut self, node: usize, vhid: usize) {
        while let Some(out) = self.nodes[node]
            .machines
            .as_mut()
            .and_then(|m| m[vhid].poll_output())
        {
            self.apply(node, vhid, out);
        }
        let machines = self.nodes[node]
            .machines
            .as_ref()
            .expect("drained a running node");
        let state = machines[vhid].state();
        self.nodes[node].deadlines[vhid] = machines[vhid]
            .poll_timeout()
            .map(|t| t.duration_since(self.base));
        if self.nodes[node].holds[vhid] != (state == State::Master) {
            let msg = format!(
                "t={} node{node} vhid{vhid}: holds addresses={} but state {state}",
                secs(self.now),
                self.nodes[node].holds[vhid]
            );
            self.violations.push(msg);
        }
    }

    fn apply(&mut self, node: usize, vhid: usize, out: Output) {
        let label = self.spec.vhids[vhid].vhid;
        match out {
            Output::SendAdvert {
                family,
                advbase,
                advskew,
                counter,
            } => {
                let source = match family {
                    Family::V4 => self.nodes[node].addr4,
                    Family::V6 => self.nodes[node].addr6,
                };
                let advert = Advert {
                    family,
                    source,
                    advbase,
                    advskew,
                    counter,
                    from_self: false,
                };
                if self.verbose {
                    self.note(format!(
                        "node{node} vhid{label} send {family:?} {advbase}/{advskew} #{counter}"
                    ));
                }
                if self.capture {
                    self.captured.push((self.now, vhid, advert));
                }
                self.transmit(node, vhid, family, Input::Advert(advert));
            }
            Output::SendVrrp {
                priority,
                interval_cs,
            } => {
                let family = if self.spec.vhids[vhid].v4 {
                    Family::V4
                } else {
                    Family::V6
                };
                let advert = VrrpAdvert {
                    source: self.source(node, family),
                    priority,
                    interval_cs,
                    from_self: false,
                };
                if self.verbose {
                    self.note(format!(
                        "node{node} vrid{label} send priority {priority} every {interval_cs} cs"
                    ));
                }
                self.transmit(node, vhid, family, Input::Vrrp(advert));
            }
            Output::ClaimAddresses => {
                if self.nodes[node].holds[vhid] {
                    let msg = format!("t={} node{node} vhid{label} claimed twice", secs(self.now));
                    self.violations.push(msg);
                }
                self.nodes[node].holds[vhid] = true;
            }
            Output::ReleaseAddresses => self.nodes[node].holds[vhid] = false,
            Output::Announce => {
                if self.verbose {
                    self.note(format!("node{node} vhid{label} announce"));
                }
            }
            Output::Transition { from, to, reason } => {
                self.note(format!("node{node} vhid{label} {from} -> {to} ({reason})"));
                self.transitions.push(TransitionRecord {
                    at: self.now,
                    node,
                    vhid,
                    from,
                    to,
                    reason,
                });
            }
            // Two masters for a moment is what a partition heal looks like; the convergence
            // properties check that it ends.
            Output::RivalMaster { .. } => {}
            Output::Dropped(reason) => {
                match reason {
                    DropReason::Replay => self.replay_drops += 1,
                    DropReason::Echo => self.echo_drops += 1,
                    DropReason::WrongFamily => {
                        let msg = format!("t={} unexpected family drop", secs(self.now));
                        self.violations.push(msg);
                    }
                }
                if self.verbose {
                    self.note(format!(
                        "node{node} vhid{label} dropped ({})",
                        reason.stat_name()
                    ));
                }
            }
        }
    }

    fn transmit(&mut self, from: usize, vhid: usize, family: Family, advert: Input) {
        if !self.nodes[from].link_up {
            return;
        }
        if self.dropped_family == Some(family) {
            return;
        }
        for to in 0..self.nodes.len() {
            if to == from {
                if self.rng.chance(self.net.echo) {
                    let flagged = self.net.echo_flagged;
                    let echo = match advert {
                        Input::Advert(a) => Input::Advert(Advert {
                            from_self: flagged,
                            ..a
                        }),
                        Input::Vrrp(a) => Input::Vrrp(VrrpAdvert {
                            from_self: flagged,
                            ..a
                        }),
                        other => other,
                    };
                    let at = self.arrival(from, to);
                    self.schedule(at, to, vhid, echo);
                }
                continue;
            }
            if self.cut[from][to] || self.rng.chance(self.net.loss) {
                continue;
            }
            let copies = if self.rng.chance(self.net.dup) { 2 } else { 1 };
            for _ in 0..copies {
                let at = self.arrival(from, to);
                self.schedule(at, to, vhid, advert);
            }
        }
    }

    fn arrival(&mut self, from: usize, to: usize) -> Duration {
        let delay = self.rng.duration(self.net.delay_min, self.net.delay_max);
        let mut at = self.now + delay;
        if !self.net.reorder {
            at = at.max(self.last_arrival[from][to]);
            self.last_arrival[from][to] = at;
        }
        at
    }

    fn next_deadline(&self) -> Option<(Duration, usize, usize)> {
        let mut best: Option<(Duration, usize, usize)> = None;
        for (n, node) in self.nodes.iter().enumerate() {
            for (v, d) in node.deadlines.iter().enumerate() {
                if let Some(d) = *d
                    && best.is_none_or(|(b, _, _)| d < b)
                {
                    best = Some((d, n, v));
                }
            }
        }
        best
    }

    /// Advance virtual time to `end`, delivering packets and firing timers in order.
    pub fn run_until(&mut self, end: Duration) {
        loop {
            let timer = self.next_deadline();
            let packet = self.queue.peek().map(|d| d.at);
            let take_timer = match (timer, packet) {
                (Some((t, _, _)), Some(p)) => t <= p,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => break,
            };
            if take_timer {
                let (t, node, vhid) = timer.expect("checked");
                if t > end {
                    break;
                }
                self.now = self.now.max(t);
                let now = self.base + self.now;
                if let Some(m) = self.nodes[node].machines.as_mut() {
                    m[vhid].handle_timeout(now);
                }
                self.drain(node, vhid);
            } else {
                if packet.expect("checked") > end {
                    break;
                }
                let d = self.queue.pop().expect("peeked");
                self.now = self.now.max(d.at);
                // A node that crashed or lost its link meanwhile does not receive.
                if self.nodes[d.to].link_up {
                    if self.verbose {
                        let label = self.spec.vhids[d.vhid].vhid;
                        let text = match d.advert {
                            Input::Advert(a) => format!(
                                "vhid{label} recv {:?} from {} {}/{} #{}{}",
                                a.family,
                                a.source,
                                a.advbase,
                                a.advskew,
                                a.counter,
                                if a.from_self { " (self)" } else { "" }
                            ),
                            Input::Vrrp(a) => format!(
                                "vrid{label} recv from {} priority {}{}",
                                a.source,
                                a.priority,
                                if a.from_self { " (self)" } else { "" }
                            ),
                            other => format!("{other:?}"),
                        };
                        self.note(format!("node{} {text}", d.to));
                    }
                    self.input(d.to, d.vhid, d.advert);
                }
            }
        }
        self.now = end;
    }

    pub fn describe(&self) -> String {
        let mut s = String::new();
        for (i, v) in self.spec.vhids.iter().enumerate() {
            match v.vrrp {
                None => {
                    let _ = write!(
                        s,
                        "vhid{} advbase {} v4={} v6={}; skews:",
                        v.vhid, v.advbase, v.v4, v.v6
                    );
                    for (n, node) in self.spec.nodes.iter().enumerate() {
                        let _ = write!(s, " node{n}={}", node.skews[i]);
                    }
                }
                Some(cs) => {
                    let _ = write!(
                        s,
                        "vrrp vrid{} every {cs} cs v4={}; priorities:",
                        v.vhid, v.v4
                    );
                    for (n, node) in self.spec.nodes.iter().enumerate() {
                        let _ = write!(s, " node{n}={}", node.priorities[i]);
                    }
                }
            }
            s.push('\n');
        }
        for (n, node) in self.spec.nodes.iter().enumerate() {
            let _ = write!(s, "node{n} preempt={} ", node.preempt);
        }
        let _ = write!(s, "replay_guard={}", self.spec.replay_guard);
        s
    }
}
