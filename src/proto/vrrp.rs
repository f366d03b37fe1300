//! The per-VRID VRRPv3 election of RFC 9568 §6.4, sans-IO like [`super::Machine`].
//!
//! Timers follow the RFC: a BACKUP waits `Master_Down_Interval = 3·Master_Adver_Interval +
//! Skew_Time`, where `Skew_Time = (256 − Priority)·Master_Adver_Interval/256` and
//! `Master_Adver_Interval` is learnt from the master's adverts. Arithmetic is in microseconds,
//! as keepalived does it (`VRRP_TIMER_SKEW`), not in FreeBSD 15's whole centiseconds
//! (`vrrp_master_down_tv` in ip_carp.c, freebsd-src e4452d45): at a 1 cs interval FreeBSD's
//! skew rounds to zero for every priority, so two backups would expire together.
//!
//! carpd's additions, each beside the rule it refines: demotion lowers the advertised priority,
//! a forced BACKUP bows out with priority 0 like a shutdown does, and a master that hears a
//! lower-priority rival re-announces its addresses.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::announce::Announcements;
use super::{AdminRequest, DropReason, Family, Input, Output, Reason, Rival, State};

/// Priority of the address owner: it takes MASTER at once and never waits for a master down.
pub const OWNER_PRIORITY: u8 = 255;

/// Static settings of one virtual router.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VrrpConfig {
    pub vrid: u8,
    pub family: Family,
    /// 1..=254, or [`OWNER_PRIORITY`].
    pub priority: u8,
    /// Advertisement_Interval, centiseconds 1..=4095.
    pub interval_cs: u16,
    /// Preempt_Mode.
    pub preempt: bool,
    /// Announcements (GARP/NA) after takeover, as for CARP.
    pub announce_count: u8,
    /// This node's primary address on the segment (the source of its adverts), for the
    /// equal-priority tie-break. `None` until the runtime has a socket to send from.
    pub primary: Option<IpAddr>,
}

/// A received VRRPv3 advert that passed the receive checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VrrpAdvert {
    pub source: IpAddr,
    pub priority: u8,
    /// Max Adver Int of the sender, centiseconds.
    pub interval_cs: u16,
    /// Sent from one of this host's own addresses: our own advert looped back. VRRP has no
    /// counter to tell an echo from a forgery, so every one of these is an echo.
    pub from_self: bool,
}

/// The priority an advert carries: carpd's demotion lowers it, clamped to 1..=254 (a demoted
/// owner is no longer the owner); a negative demotion raises it, but never to the owner's 255.
pub fn demoted_priority(priority: u8, demotion: i32) -> u8 {
    if demotion == 0 || (priority == OWNER_PRIORITY && demotion < 0) {
        return priority;
    }
    (i64::from(priority) - i64::from(demotion)).clamp(1, 254) as u8
}

/// One centisecond interval as a duration.
pub fn centis(cs: u16) -> Duration {
    Duration::from_millis(10 * u64::from(cs))
}

/// Skew_Time for a priority and a master advertisement interval.
pub fn skew_time(priority: u8, master_interval_cs: u16) -> Duration {
    let interval_us = 10_000 * u64::from(master_interval_cs);
    Duration::from_micros((256 - u64::from(priority)) * interval_us / 256)
}

/// Master_Down_Interval = 3 · Master_Adver_Interval + Skew_Time.
pub fn master_down_interval(priority: u8, master_interval_cs: u16) -> Duration {
    centis(master_interval_cs) * 3 + skew_time(priority, master_interval_cs)
}

/// Why a BACKUP's master-down timer runs: which reason its expiry gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expiry {
    /// Reset by the master's adverts: expiry means it went silent.
    Silence,
    /// A lower-priority master was heard and ignored (Preempt_Mode).
    Preempt,
    /// The master sent priority 0: Skew_Time only.
    BowOut,
}

/// One virtual router's VRRPv3 state machine.
#[derive(Debug)]
pub struct VrrpMachine {
    config: VrrpConfig,
    state: State,
    link_up: bool,
    allowed: bool,
    demotion: i32,
    /// Master_Adver_Interval: learnt from the master's adverts while BACKUP.
    master_interval_cs: u16,
    master_down: Option<Instant>,
    /// What the master-down timer's expiry will mean.
    expiry: Expiry,
    next_advert: Option<Instant>,
    announce: Announcements,
    /// Source, priority and time of the last advert from another router.
    last_peer: Option<(IpAddr, u8, Instant)>,
    /// BACKUP: the router whose adverts reset our timer last (the master we follow).
    following: Option<IpAddr>,
    outputs: VecDeque<Output>,
}

impl VrrpMachine {
    /// A machine in Initialize.
    pub fn new(config: VrrpConfig) -> VrrpMachine {
        VrrpMachine {
            master_interval_cs: config.interval_cs,
            config,
            state: State::Init,
            link_up: false,
            allowed: true,
            demotion: 0,
            master_down: None,
            expiry: Expiry::Silence,
            next_advert: None,
            announce: Announcements::default(),
            last_peer: None,
            following: None,
            outputs: VecDeque::new(),
        }
    }

    pub fn config(&self) -> &VrrpConfig {
        &self.config
    }

    pub fn state(&self) -> State {
        self.state
    }

    pub fn demotion(&self) -> i32 {
        self.demotion
    }

    /// The priority this router advertises and elects with now.
    pub fn priority(&self) -> u8 {
        demoted_priority(self.config.priority, self.demotion)
    }

    /// Master_Adver_Interval (learnt from the master; our own while MASTER), centiseconds.
    pub fn master_interval_cs(&self) -> u16 {
        match self.state {
            State::Master => self.config.interval_cs,
            _ => self.master_interval_cs,
        }
    }

    /// Source and time of the last advert from another router.
    pub fn last_peer(&self) -> Option<(IpAddr, Instant)> {
        self.last_peer.map(|(src, _, at)| (src, at))
    }

    /// Priority of the last advert from another router.
    pub fn last_peer_priority(&self) -> Option<u8> {
        self.last_peer.map(|(_, prio, _)| prio)
    }

    /// Change settings in place (reload): no transition unless the rules demand one.
    pub fn set_config(&mut self, now: Instant, config: VrrpConfig) {
        let old = std::mem::replace(&mut self.config, config);
        match self.state {
            State::Init => {
                if self.runnable() {
                    self.initialize(now, Reason::InitializationComplete);
                }
            }
            _ if !self.runnable() => self.enter_init(Reason::CarpDisabled),
            State::Backup => {
                if old.priority != self.config.priority {
                    self.master_down = Some(now + self.master_down_interval());
                }
            }
            State::Master => {
                if old.priority != self.config.priority
                    || old.interval_cs != self.config.interval_cs
                {
                    self.send_advert(now);
                }
            }
        }
    }

    pub fn handle_input(&mut self, now: Instant, input: Input) {
        match input {
            Input::Link { up } => {
                self.link_up = up;
                if !up {
                    self.enter_init(Reason::HardwareInterfaceDown);
                } else if self.state == State::Init && self.runnable() {
                    self.initialize(now, Reason::InitializationComplete);
                }
            }
            Input::Vrrp(advert) => self.handle_advert(now, advert),
            // A CARP advert never reaches a VRRP machine: the receive checks count it.
            Input::Advert(_) => {}
            Input::Demotion(total) => {
                let before = self.priority();
                self.demotion = total;
                // As a CARP master advertises a new skew at once, tell the backups now.
                if self.priority() != before && self.state == State::Master {
                    self.send_advert(now);
                }
            }
            Input::Admin(request) => self.handle_admin(now, request),
        }
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.state {
            State::Init => None,
            State::Backup => self.master_down,
            State::Master => self.next_advert,
        }
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        match self.state {
            State::Init => {}
            State::Backup => {
                if self.master_down.is_some_and(|t| t <= now) {
                    let reason = match self.expiry {
                        Expiry::Silence => Reason::MasterTimedOut,
                        Expiry::Preempt => Reason::PreemptingLowerPriority,
                        Expiry::BowOut => Reason::MasterLeft,
                    };
                    self.enter_master(now, reason);
                }
            }
            State::Master => {
                if self.next_advert.is_some_and(|t| t <= now) {
                    self.send_advert(now);
                }
            }
        }
    }

    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    fn runnable(&self) -> bool {
        self.link_up && self.allowed
    }

    fn master_down_interval(&self) -> Duration {
        // The priority we elect with: a demoted backup waits longer, so that an undemoted one
        // takes over first.
        master_down_interval(self.priority(), self.master_interval_cs)
    }

    fn handle_advert(&mut self, now: Instant, advert: VrrpAdvert) {
        if advert.from_self {
            return self.outputs.push_back(Output::Dropped(DropReason::Echo));
        }
        self.last_peer = Some((advert.source, advert.priority, now));
        let own = self.priority();
        match self.state {
            State::Init => {}
            State::Backup => {
                if advert.priority == 0 {
                    // §6.4.2: the master left; take over after Skew_Time, not a full
                    // Master_Down_Interval. Beyond the RFC: only if it is the master we
                    // follow. A bow-out that arrives after the new master's first advert
                    // (two senders, so the network may reorder them) is stale, and acting on
                    // it would make a second master for one advert interval.
                    if self.following.is_none_or(|m| m == advert.source) {
                        self.master_down = Some(now + skew_time(own, self.master_interval_cs));
                        self.expiry = Expiry::BowOut;
                    }
                } else if !self.config.preempt || advert.priority >= own {
                    self.master_interval_cs = advert.interval_cs.max(1);
                    self.master_down = Some(now + self.master_down_interval());
                    self.expiry = Expiry::Silence;
                    self.following = Some(advert.source);
                } else if self.expiry == Expiry::Silence {
                    // Preempt_Mode: a lower-priority master is ignored, so our timer runs out.
                    self.expiry = Expiry::Preempt;
                }
            }
            State::Master => {
                if advert.priority == 0 {
                    // Another master bowed out: make sure the backups hear us at once.
                    self.send_advert(now);
                } else if advert.priority > own
                    || (advert.priority == own && self.loses_tie(advert.source))
                {
                    self.master_interval_cs = advert.interval_cs.max(1);
                    let reason = if advert.priority > own {
                        Reason::HigherPriorityAdvertisement
                    } else {
                        Reason::EqualPriorityHigherAddress
                    };
                    self.enter_backup(now, reason);
                } else {
                    self.outputs.push_back(Output::RivalMaster {
                        source: advert.source,
                        rival: Rival::Vrrp {
                            priority: advert.priority,
                            interval_cs: advert.interval_cs,
                        },
                    });
                    // Beyond the RFC, as for CARP: hosts that learnt the rival's MAC for our
                    // addresses (after a partition, say) must move back now.
                    self.reannounce(now);
                }
            }
        }
    }

    /// §6.4.3: at equal priority the router with the greater primary address stays MASTER.
    fn loses_tie(&self, sender: IpAddr) -> bool {
        match self.config.primary {
            Some(primary) => sender > primary,
            // No address to compare: the peer's claim is as good as ours; yield rather than
            // fight.
            None => true,
        }
    }

    fn reannounce(&mut self, now: Instant) {
        if self
            .announce
            .rival_heard(now, centis(self.config.interval_cs))
        {
            self.outputs.push_back(Output::Announce);
        }
    }

    fn handle_admin(&mut self, now: Instant, request: AdminRequest) {
        match request {
            // ucarp's SIGUSR2 (`carpd ucarp` speaks CARP only): a forced backup here.
            AdminRequest::ForceBackup | AdminRequest::StepDown { .. } => {
                if self.state == State::Master {
                    // Priority 0 lets a backup take over within Skew_Time.
                    self.advertise(0);
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
                if self.state == State::Master {
                    self.advertise(0);
                }
                self.enter_init(Reason::CarpDisabled);
            }
            AdminRequest::Enable => {
                self.allowed = true;
                if self.state == State::Init && self.runnable() {
                    self.initialize(now, Reason::CarpEnabled);
                }
            }
            AdminRequest::Leave => {
                // §6.4.3 Shutdown: an advert with priority 0.
                if self.state == State::Master {
                    self.advertise(0);
                }
                self.allowed = false;
                self.enter_init(Reason::Leaving);
            }
        }
    }

    fn advertise(&mut self, priority: u8) {
        self.outputs.push_back(Output::SendVrrp {
            priority,
            interval_cs: self.config.interval_cs,
        });
    }

    fn send_advert(&mut self, now: Instant) {
        self.advertise(self.priority());
        self.next_advert = Some(now + centis(self.config.interval_cs));
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

    /// §6.4.1: the owner becomes MASTER at once, everyone else BACKUP.
    fn initialize(&mut self, now: Instant, reason: Reason) {
        if self.priority() == OWNER_PRIORITY {
            self.enter_master(now, Reason::AddressOwner);
        } else {
            self.master_interval_cs = self.config.interval_cs;
            self.enter_backup(now, reason);
        }
    }

    fn enter_master(&mut self, now: Instant, reason: Reason) {
        // The advert goes first, before the runtime's address writes, so the other routers
        // hear the new master at once (FreeBSD's `carp_master_down_locked` sends it right
        // after the state change, too); the announcement follows the addresses.
        self.announce.stop();
        self.send_advert(now);
        let from = self.transition(State::Master, reason);
        self.master_down = None;
        self.expiry = Expiry::Silence;
        if from != State::Master {
            self.outputs.push_back(Output::ClaimAddresses);
        }
        self.outputs.push_back(Output::Announce);
        self.announce.takeover(now, self.config.announce_count);
    }

    fn enter_backup(&mut self, now: Instant, reason: Reason) {
        let from = self.transition(State::Backup, reason);
        if from == State::Master {
            self.outputs.push_back(Output::ReleaseAddresses);
        }
        self.next_advert = None;
        self.announce.stop();
        self.expiry = Expiry::Silence;
        self.following = None;
        self.master_down = Some(now + self.master_down_interval());
    }

    fn enter_init(&mut self, reason: Reason) {
        if self.state == State::Init {
            return;
        }
        let from = self.transition(State::Init, reason);
        if from == State::Master {
            self.outputs.push_back(Output::ReleaseAddresses);
        }
        self.master_down = None;
        self.next_advert = None;
        self.announce.stop();
        self.master_interval_cs = self.config.interval_cs;
    }
}
