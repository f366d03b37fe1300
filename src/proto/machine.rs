//! The per-VHID election: FreeBSD's `carp_input_c` / `carp_master_down` / `carp_setrun` rules
//! (carp-spec §3) plus carpd's echo filter, re-announce and replay guard.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::announce::Announcements;
use super::replay::{CounterRuns, ReplayGuard, SentRing, counter_ahead};
use super::{
    AdminRequest, Advert, DropReason, Family, Input, MachineConfig, Output, Reason, Rival, State,
    advert_interval, demoted_skew, master_down_interval, skew_duration,
};

/// The timeval FreeBSD compares adverts by: advbase seconds + skew/256 (µs, integer division).
fn timing(advbase: u8, advskew: u8) -> Duration {
    Duration::from_secs(u64::from(advbase)) + skew_duration(advskew)
}

fn family_index(family: Family) -> usize {
    match family {
        Family::V4 => 0,
        Family::V6 => 1,
    }
}

const FAMILIES: [Family; 2] = [Family::V4, Family::V6];

/// Sources remembered for the takeover check; more masters than this at once is chaos anyway.
const HEARD_SOURCES: usize = 8;

#[derive(Clone, Copy, Debug)]
struct Heard {
    source: IpAddr,
    timing: Duration,
    counter: u64,
    at: Instant,
}

/// One VHID's CARP state machine.
#[derive(Debug)]
pub struct Machine {
    config: MachineConfig,
    state: State,
    link_up: bool,
    /// Cleared by `Disable` and `Leave`, set by `Enable` (`net.inet.carp.allow`).
    allowed: bool,
    demotion: i32,
    counter: u64,
    /// Nothing sent or adopted yet: the first advert carries the random start value itself.
    counter_fresh: bool,
    /// BACKUP master-down deadlines, one per family (`sc_md_tmo`, `sc_md6_tmo`).
    master_down: [Option<Instant>; 2],
    /// MASTER: when the next advert round is due.
    next_advert: Option<Instant>,
    /// Announcements still owed after a takeover, and adverts to wait before the next one.
    announce: Announcements,
    /// After a step-down: no takeover and no preemption before this instant.
    hold_until: Option<Instant>,
    last_peer: Option<(IpAddr, Instant)>,
    /// Recent masters: advertised timing per source and when it was last heard.
    heard: Vec<Heard>,
    sent: SentRing,
    /// Every counter this machine sent (for replays of our own adverts, which arrive flagged
    /// `from_self` but are too old for the echo ring).
    sent_runs: CounterRuns,
    guard: ReplayGuard,
    outputs: VecDeque<Output>,
}

impl Machine {
    /// A machine in INIT. `counter` is the random 64-bit start value (carp-spec §2.3), chosen by
    /// the runtime so that this code stays deterministic.
    pub fn new(config: MachineConfig, counter: u64) -> Machine {
        Machine {
            config,
            state: State::Init,
            link_up: false,
            allowed: true,
            demotion: 0,
            counter,
            counter_fresh: true,
            master_down: [None; 2],
            next_advert: None,
            announce: Announcements::default(),
            hold_until: None,
            last_peer: None,
            heard: Vec::new(),
            sent: SentRing::default(),
            sent_runs: CounterRuns::default(),
            guard: ReplayGuard::default(),
            outputs: VecDeque::new(),
        }
    }

    pub fn config(&self) -> &MachineConfig {
        &self.config
    }

    /// Change timing/preempt/families in place (reload): no transition unless the rules demand one.
    pub fn set_config(&mut self, now: Instant, config: MachineConfig) {
        let old = std::mem::replace(&mut self.config, config);
        if !self.config.replay_guard {
            self.guard.clear();
        }
        let retimed = old.advbase != self.config.advbase || old.advskew != self.config.advskew;
        let refamilied = old.v4 != self.config.v4 || old.v6 != self.config.v6;
        match self.state {
            State::Init => {
                if self.runnable() {
                    self.enter_backup(now, Reason::InitializationComplete);
                }
            }
            _ if !self.runnable() => self.enter_init(Reason::CarpDisabled),
            State::Backup => {
                let interval = self.master_down_interval();
                for family in FAMILIES {
                    let enabled = self.family_enabled(family);
                    let slot = &mut self.master_down[family_index(family)];
                    if !enabled {
                        *slot = None;
                    } else if retimed || slot.is_none() {
                        *slot = Some(now + interval);
                    }
                }
            }
            State::Master => {
                // Peers compare our advertised timing: tell them at once.
                if retimed || refamilied {
                    self.send_adverts(now);
                }
            }
        }
    }

    pub fn state(&self) -> State {
        self.state
    }

    /// Source and time of the last accepted advert from another node.
    pub fn last_peer(&self) -> Option<(IpAddr, Instant)> {
        self.last_peer
    }

    /// Current total demotion the machine applies to its adverts.
    pub fn demotion(&self) -> i32 {
        self.demotion
    }

    pub fn handle_input(&mut self, now: Instant, input: Input) {
        match input {
            Input::Link { up } => {
                self.link_up = up;
                if !up {
                    self.enter_init(Reason::HardwareInterfaceDown);
                } else if self.state == State::Init && self.runnable() {
                    self.enter_backup(now, Reason::InitializationComplete);
                }
            }
            Input::Advert(advert) => self.handle_advert(now, advert),
            // A VRRP advert never reaches a CARP machine: the receive checks count it.
            Input::Vrrp(_) => {}
            Input::Demotion(total) => {
                let changed = total != self.demotion;
                self.demotion = total;
                // `carp_demote_adj` → `carp_send_ad_all`: every MASTER advertises the new skew now.
                if changed && self.state == State::Master {
                    self.send_adverts(now);
                }
            }
            Input::Admin(request) => self.handle_admin(now, request),
        }
    }

    /// When the runtime must call [`Machine::handle_timeout`] next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.state {
            State::Init => None,
            State::Backup => self.master_down.iter().flatten().min().copied(),
            State::Master => self.next_advert,
        }
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        match self.state {
            State::Init => {}
            State::Backup => {
                if self.master_down.iter().flatten().any(|&t| t <= now) {
                    self.enter_master(now, Reason::MasterTimedOut);
                }
            }
            State::Master => {
                if self.next_advert.is_some_and(|t| t <= now) {
                    self.send_adverts(now);
                }
            }
        }
    }

    /// Next thing the runtime must do, in order.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    fn runnable(&self) -> bool {
        self.link_up && self.allowed && (self.config.v4 || self.config.v6)
    }

    fn family_enabled(&self, family: Family) -> bool {
        match family {
            Family::V4 => self.config.v4,
            Family::V6 => self.config.v6,
        }
    }

    fn master_down_interval(&self) -> Duration {
        // The configured advskew, not the demoted one (carp-spec §3.2).
        master_down_interval(self.config.advbase, self.config.advskew)
    }

    fn own_skew(&self) -> u8 {
        demoted_skew(self.config.advskew, self.demotion)
    }

    fn own_interval(&self) -> Duration {
        advert_interval(self.config.advbase, self.config.advskew, self.demotion)
    }

    fn handle_advert(&mut self, now: Instant, advert: Advert) {
        if !self.family_enabled(advert.family) {
            return self.drop_advert(DropReason::WrongFamily);
        }
        if advert.from_self && self.sent.contains(advert.counter) {
            return self.drop_advert(DropReason::Echo);
        }
        if self.config.replay_guard {
            let old_own = advert.from_self && self.sent_runs.contains(advert.counter);
            if old_own || !self.guard.admit(advert.source, advert.counter) {
                return self.drop_advert(DropReason::Replay);
            }
        }
        self.adopt_counter(advert.counter);
        let peer = timing(advert.advbase, advert.advskew);
        if !advert.from_self {
            self.last_peer = Some((advert.source, now));
            self.remember_master(advert.source, peer, advert.counter, now);
        }

        match self.state {
            State::Init => {}
            State::Master => {
                // FreeBSD yields on a tie too: no address tie-break (carp-spec §3.3).
                if timing(self.config.advbase, self.own_skew()) >= peer {
                    // Beyond FreeBSD (ucarp does the same): one last advert, so that the winner
                    // hears a rival master and re-announces. Hosts that learnt our MAC for the
                    // VIPs (after a partition, say) would otherwise keep it until their ARP or
                    // neighbour entry expires.
                    self.advertise_timing();
                    self.enter_backup(now, Reason::MoreFrequentAdvertisement);
                } else {
                    self.outputs.push_back(Output::RivalMaster {
                        source: advert.source,
                        rival: Rival::Carp {
                            advbase: advert.advbase,
                            advskew: advert.advskew,
                        },
                    });
                    self.reannounce(now);
                }
            }
            State::Backup => {
                let own = timing(self.config.advbase, self.own_skew());
                let own_deadline = Duration::from_secs(3 * u64::from(self.config.advbase))
                    + skew_duration(self.own_skew());
                // Beyond FreeBSD: while another master at least as fast as we would be is alive,
                // it is the one that will win (the slower sender yields to it), so taking over
                // now would only move the addresses here and straight back. This is what keeps
                // a partition heal or a bow-out from flapping through a third node.
                let held = self.hold_until.filter(|t| now < *t);
                let preempt = held.is_none()
                    && self.config.preempt
                    && own < peer
                    && !self.other_master_alive(now, advert.source, own);
                let will_time_out = held.is_none()
                    && own_deadline < peer
                    && !self.other_master_alive(now, advert.source, own_deadline);
                if let Some(until) = held {
                    let interval = self.master_down_interval();
                    self.master_down[family_index(advert.family)] =
                        Some((now + interval).max(until + interval));
                } else if preempt {
                    self.enter_master(now, Reason::PreemptingSlowerMaster);
                } else if will_time_out {
                    self.enter_master(now, Reason::MasterWillTimeOut);
                } else {
                    let interval = self.master_down_interval();
                    self.master_down[family_index(advert.family)] = Some(now + interval);
                }
            }
        }
    }

    fn remember_master(&mut self, source: IpAddr, timing: Duration, counter: u64, now: Instant) {
        // A master at least as slow as this one yields on hearing it: forget it, or a node that
        // stepped down would still look alive and hold back a takeover. Only if this advert was
        // sent after that master's last one: counters are adopted on receipt and bumped on
        // send, so they order adverts causally, whatever order the network delivered them in.
        self.heard.retain(|h| {
            h.source != source && !(h.timing >= timing && counter_ahead(counter, h.counter))
        });
        if self.heard.len() == HEARD_SOURCES {
            self.heard.remove(0);
        }
        self.heard.push(Heard {
            source,
            timing,
            counter,
            at: now,
        });
    }

    /// Someone other than `sender` advertises a timing no slower than `limit` and was heard
    /// recently: within two of its own advert intervals (one lost advert is forgiven, a master
    /// that stopped is not) and never longer than our master-down interval.
    fn other_master_alive(&self, now: Instant, sender: IpAddr, limit: Duration) -> bool {
        let md = self.master_down_interval();
        self.heard.iter().any(|h| {
            let window = md.min(h.timing * 2);
            h.source != sender && h.timing <= limit && now.saturating_duration_since(h.at) < window
        })
    }

    /// A slower rival master is still advertising: hosts that learnt its MAC for our VIPs must
    /// move back. At most once per advert interval, so a rival cannot make us flood.
    fn reannounce(&mut self, now: Instant) {
        if self.announce.rival_heard(now, self.own_interval()) {
            self.outputs.push_back(Output::Announce);
        }
    }

    fn adopt_counter(&mut self, peer: u64) {
        // FreeBSD copies every peer counter. With the guard on the counter only moves forward,
        // so our own source never reuses a value a peer has already seen from it.
        if !self.config.replay_guard || counter_ahead(peer, self.counter) {
            self.counter = peer;
            self.counter_fresh = false;
        }
    }

    fn drop_advert(&mut self, reason: DropReason) {
        self.outputs.push_back(Output::Dropped(reason));
    }

    fn handle_admin(&mut self, now: Instant, request: AdminRequest) {
        match request {
            AdminRequest::ForceBackup => {
                if self.state == State::Master {
                    self.enter_backup(now, Reason::UserRequested);
                }
            }
            AdminRequest::ForceMaster => {
                if self.state == State::Backup {
                    self.enter_master(now, Reason::UserRequested);
                }
            }
            AdminRequest::Disable => {
                self.allowed = false;
                self.enter_init(Reason::CarpDisabled);
            }
            AdminRequest::Enable => {
                self.allowed = true;
                if self.state == State::Init && self.runnable() {
                    self.enter_backup(now, Reason::CarpEnabled);
                }
            }
            AdminRequest::StepDown { hold } => {
                if self.state == State::Master {
                    self.enter_backup(now, Reason::UserRequested);
                    let until = now + hold;
                    self.hold_until = Some(until);
                    let deadline = until + self.master_down_interval();
                    for family in FAMILIES {
                        self.master_down[family_index(family)] =
                            self.family_enabled(family).then_some(deadline);
                    }
                }
            }
            AdminRequest::Leave => {
                if self.state == State::Master && self.config.bow_out {
                    // OpenBSD's bow-out: backups see a master that "will time out" and take over
                    // at once instead of waiting for their master-down timer.
                    self.advertise(255, 255);
                }
                self.allowed = false;
                self.enter_init(Reason::Leaving);
            }
        }
    }

    fn next_counter(&mut self) -> u64 {
        if self.counter_fresh {
            self.counter_fresh = false;
        } else {
            self.counter = self.counter.wrapping_add(1);
        }
        self.sent.push(self.counter);
        if !self.sent_runs.contains(self.counter) {
            self.sent_runs.record(self.counter);
        }
        self.counter
    }

    /// One advert per enabled family with this timing.
    fn advertise(&mut self, advbase: u8, advskew: u8) {
        for family in FAMILIES {
            if self.family_enabled(family) {
                let counter = self.next_counter();
                self.outputs.push_back(Output::SendAdvert {
                    family,
                    advbase,
                    advskew,
                    counter,
                });
            }
        }
    }

    /// One advert per enabled family with our current timing.
    fn advertise_timing(&mut self) {
        self.advertise(self.config.advbase, self.own_skew());
    }

    /// One advert per enabled family, and the next round scheduled.
    fn send_adverts(&mut self, now: Instant) {
        self.advertise_timing();
        self.next_advert = Some(now + self.own_interval());
        if self.announce.advert_sent() {
            self.outputs.push_back(Output::Announce);
        }
    }

    fn transition(&mut self, to: State, reason: Reason) -> State {
        let from = std::mem::replace(&mut self.state, to);
        self.outputs
            .push_back(Output::Transition { from, to, reason });
        from
    }

    fn enter_master(&mut self, now: Instant, reason: Reason) {
        self.transition(State::Master, reason);
        self.hold_until = None;
        self.master_down = [None; 2];
        self.outputs.push_back(Output::ClaimAddresses);
        self.announce.stop();
        self.send_adverts(now);
        self.outputs.push_back(Output::Announce);
        // OpenBSD/ucarp: one more announcement after two adverts, for switches that missed
        // the first; each further count repeats it two adverts later.
        self.announce.takeover(now, self.config.announce_count);
    }

    fn enter_backup(&mut self, now: Instant, reason: Reason) {
        let from = self.transition(State::Backup, reason);
        if from == State::Master {
            self.outputs.push_back(Output::ReleaseAddresses);
        }
        self.next_advert = None;
        self.announce.stop();
        let deadline = now + self.master_down_interval();
        for family in FAMILIES {
            self.master_down[family_index(family)] =
                self.family_enabled(family).then_some(deadline);
        }
    }

    fn enter_init(&mut self, reason: Reason) {
        if self.state == State::Init {
            return;
        }
        let from = self.transition(State::Init, reason);
        if from == State::Master {
            self.outputs.push_back(Output::ReleaseAddresses);
        }
        self.master_down = [None; 2];
        self.next_advert = None;
        self.announce.stop();
    }
}
