//! One VHID as the userspace engine runs it: the configured group, its state machine, its
//! precomputed HMAC and what status reports about it. Nothing here does I/O.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Instant;

use crate::config::{CarpGroup, HaSettings};
use crate::proto::{
    Election, Family, Machine, MachineConfig, Rival, State, VrrpConfig, VrrpMachine,
};
use crate::status::Transitions;
use crate::wire::auth::CarpAuth;

/// Protocol choices of the operator that apply to every VHID.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tuning {
    /// Announcements per takeover: at once, then every two adverts until this many were sent
    /// (2 = OpenBSD's and ucarp's repeat; FreeBSD sends only the first).
    pub announce_count: u8,
    /// Drop adverts whose counter lies in a range already seen from that source.
    pub replay_guard: bool,
}

#[derive(Debug, Default, Clone)]
pub struct Counters {
    pub adverts_sent: u64,
    pub adverts_received: u64,
    /// Drops by reason (`badauth`, `badttl`, `replay`, …).
    pub drops: BTreeMap<String, u64>,
    /// VRRP adverts accepted although their interval differs from ours (RFC 9568 backups
    /// learn the master's; a mismatch is a configuration smell, not an attack).
    pub interval_mismatches: u64,
    /// Adverts heard while MASTER from another node that does not yield and that we do not
    /// yield to (or cannot authenticate): the dual-master alarm.
    pub dual_master: u64,
}

impl Counters {
    pub fn drop(&mut self, reason: &str) {
        *self.drops.entry(reason.to_string()).or_default() += 1;
    }
}

#[derive(Debug)]
pub struct Group {
    pub cfg: CarpGroup,
    pub machine: Election,
    pub auth: CarpAuth,
    pub counters: Counters,
    /// State changes since start (count and the last few), so a poller sees flaps that
    /// happened between two polls.
    pub transitions: Transitions,
    /// carpd-marked VIPs of this group were found on the interface at start (left by a crashed
    /// carpd). They stay while the election may still make us MASTER and go as soon as a
    /// master is heard or we settle elsewhere.
    pub stale: bool,
    /// The machine's `poll_timeout` as of the last time the runtime carried out its outputs
    /// (a machine's deadline changes only with an input, which is always followed by that).
    pub deadline: Option<Instant>,
    /// The other master heard lately while this group is MASTER (see [`Group::note_rival`]).
    pub rival: Option<RivalTrack>,
    /// When this group last announced its addresses (gratuitous ARP / unsolicited NA), for
    /// the periodic refresh.
    pub announced: Option<Instant>,
}

/// Adverts from one other master in a row: one or two are an election settling (a healed
/// partition, two nodes starting together), more mean a node that does not hear us.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RivalTrack {
    pub source: IpAddr,
    pub count: u32,
    pub last: Instant,
}

/// Rival adverts in a row that raise the dual-master alarm.
pub const RIVAL_ALARM_AFTER: u32 = 3;

/// The state machine settings a configured group runs with.
pub fn machine_config(cfg: &CarpGroup, ha: &HaSettings, opts: &Tuning) -> MachineConfig {
    MachineConfig {
        vhid: cfg.vhid,
        advbase: cfg.advbase,
        advskew: cfg.advskew,
        preempt: ha.preempt(),
        v4: cfg.v4_addresses().next().is_some(),
        v6: cfg.v6_addresses().next().is_some(),
        announce_count: opts.announce_count,
        bow_out: true,
        replay_guard: opts.replay_guard,
    }
}

/// The VRRPv3 settings a configured group runs with, when it speaks VRRPv3. `primary` is the
/// address its adverts leave from.
pub fn vrrp_config(cfg: &CarpGroup, opts: &Tuning, primary: Option<IpAddr>) -> Option<VrrpConfig> {
    let v = cfg.vrrp()?;
    Some(VrrpConfig {
        vrid: cfg.vhid,
        // Validation allows one family per VRRP router.
        family: if cfg.v4_addresses().next().is_some() {
            Family::V4
        } else {
            Family::V6
        },
        priority: v.priority,
        interval_cs: v.interval_cs,
        preempt: v.preempt,
        announce_count: opts.announce_count,
        primary,
    })
}

fn election(cfg: &CarpGroup, ha: &HaSettings, opts: &Tuning, counter: u64) -> Election {
    match vrrp_config(cfg, opts, None) {
        Some(v) => Election::Vrrp(VrrpMachine::new(v)),
        None => Election::Carp(Machine::new(machine_config(cfg, ha, opts), counter)),
    }
}

pub fn auth_for(cfg: &CarpGroup) -> CarpAuth {
    let v4: Vec<_> = cfg.v4_addresses().collect();
    let v6: Vec<_> = cfg.v6_addresses().collect();
    CarpAuth::new(&cfg.key.0, cfg.vhid, &v4, &v6)
}

impl Group {
    pub fn new(cfg: CarpGroup, ha: &HaSettings, opts: &Tuning, counter: u64) -> Group {
        let machine = election(&cfg, ha, opts, counter);
        Group {
            auth: auth_for(&cfg),
            cfg,
            machine,
            counters: Counters::default(),
            transitions: Transitions::default(),
            stale: false,
            deadline: None,
            rival: None,
            announced: None,
        }
    }

    pub fn state(&self) -> State {
        self.machine.state()
    }

    /// Take a changed configuration of the same protocol in place (reload). Returns false,
    /// changing nothing, when the protocol changed: the caller replaces the group.
    pub fn reconfigure(
        &mut self,
        now: Instant,
        cfg: CarpGroup,
        ha: &HaSettings,
        opts: &Tuning,
    ) -> bool {
        match &mut self.machine {
            Election::Carp(m) if cfg.vrrp().is_none() => {
                m.set_config(now, machine_config(&cfg, ha, opts))
            }
            Election::Vrrp(m) => {
                let primary = m.config().primary;
                match vrrp_config(&cfg, opts, primary) {
                    Some(v) => m.set_config(now, v),
                    None => return false,
                }
            }
            Election::Carp(_) => return false,
        }
        self.auth = auth_for(&cfg);
        self.cfg = cfg;
        true
    }

    /// Tell a VRRP router the address its adverts now leave from (for the equal-priority
    /// tie-break).
    pub fn set_primary(&mut self, now: Instant, primary: Option<IpAddr>, opts: &Tuning) {
        if let Election::Vrrp(m) = &mut self.machine
            && m.config().primary != primary
            && let Some(v) = vrrp_config(&self.cfg, opts, primary)
        {
            m.set_config(now, v);
        }
    }

    /// Note one advert (or undecodable datagram) from another master while this group is
    /// MASTER; true once [`RIVAL_ALARM_AFTER`] came from the same source, each within three
    /// of our advert intervals of the one before — an election that settles never gets there,
    /// as the loser yields at our next advert.
    pub fn note_rival(&mut self, source: IpAddr, now: Instant) -> bool {
        let window = self.advert_interval() * 3;
        let count = match self.rival {
            Some(r) if r.source == source && now.saturating_duration_since(r.last) <= window => {
                r.count.saturating_add(1)
            }
            _ => 1,
        };
        self.rival = Some(RivalTrack {
            source,
            count,
            last: now,
        });
        count >= RIVAL_ALARM_AFTER
    }

    /// How often this group advertises as MASTER (CARP: advbase plus its skew; VRRP: its
    /// interval).
    pub fn advert_interval(&self) -> std::time::Duration {
        match &self.machine {
            Election::Carp(_) => {
                std::time::Duration::from_secs(u64::from(self.cfg.advbase.max(1)))
                    + std::time::Duration::from_micros(
                        u64::from(self.cfg.advskew) * 1_000_000 / 256,
                    )
            }
            Election::Vrrp(m) => {
                std::time::Duration::from_millis(u64::from(m.config().interval_cs.max(1)) * 10)
            }
        }
    }

    /// How a rival master differs from what this group advertises.
    pub fn rival_why(&self, rival: Rival) -> String {
        const DEAF: &str = "it keeps advertising, so it does not hear our adverts";
        match (rival, &self.machine) {
            (Rival::Carp { advbase, advskew }, Election::Carp(m)) => {
                let ours = crate::proto::demoted_skew(self.cfg.advskew, m.demotion());
                let differs = if advbase != self.cfg.advbase {
                    format!("advbase {advbase} where ours is {}", self.cfg.advbase)
                } else {
                    format!("advskew {advskew} where ours is {ours}")
                };
                format!("it advertises {differs}, so it should yield to us; {DEAF}")
            }
            (
                Rival::Vrrp {
                    priority,
                    interval_cs,
                },
                Election::Vrrp(m),
            ) => {
                let ours = m.priority();
                let differs = if priority == ours {
                    format!("the same priority {priority} from a lower address")
                } else {
                    format!("priority {priority} where ours is {ours}")
                };
                let interval = if interval_cs != m.config().interval_cs {
                    format!(
                        ", every {interval_cs} cs where we advertise every {} cs",
                        m.config().interval_cs
                    )
                } else {
                    String::new()
                };
                format!("it advertises {differs}{interval}, so it should yield to us; {DEAF}")
            }
            _ => "it speaks another protocol".to_string(),
        }
    }

    /// `carp` or `vrrp`, for log lines.
    pub fn protocol_name(&self) -> &'static str {
        match self.machine {
            Election::Carp(_) => "carp",
            Election::Vrrp(_) => "vrrp",
        }
    }

    /// The one family a VRRP router speaks.
    pub fn vrrp_family(&self) -> Option<Family> {
        self.machine.vrrp().map(|m| m.config().family)
    }

    pub fn has_family(&self, family: Family) -> bool {
        match family {
            Family::V4 => self.cfg.v4_addresses().next().is_some(),
            Family::V6 => self.cfg.v6_addresses().next().is_some(),
        }
    }

    /// Where this group's adverts of `family` go: the unicast peer, or the CARP group.
    pub fn destination(&self, family: Family) -> IpAddr {
        match family {
            Family::V4 => IpAddr::V4(self.cfg.peer.unwrap_or(crate::wire::ip::MCAST_V4)),
            Family::V6 => IpAddr::V6(self.cfg.peer6.unwrap_or(crate::wire::ip::MCAST_V6)),
        }
    }

    /// Unicast mode for `family`: adverts go to the peer and are accepted only from it.
    pub fn unicast_peer(&self, family: Family) -> Option<IpAddr> {
        match family {
            Family::V4 => self.cfg.peer.map(IpAddr::V4),
            Family::V6 => self.cfg.peer6.map(IpAddr::V6),
        }
    }

    pub fn record_transition(&mut self, from: State, to: State, reason: &str, at: f64) {
        self.transitions
            .record(from.as_str(), to.as_str(), reason, at);
    }

    /// Seconds since the current master was last heard, for status.
    pub fn master_seen_ago(&self, now: Instant) -> Option<(IpAddr, f64)> {
        self.machine
            .last_peer()
            .map(|(src, at)| (src, now.saturating_duration_since(at).as_secs_f64()))
    }
}
