//! The per-VHID CARP state machine, sans-IO (quinn-proto style).
//!
//! The runtime feeds [`Input`]s with an explicit `now`, calls [`Machine::handle_timeout`] when
//! [`Machine::poll_timeout`] says so, and drains [`Machine::poll_output`]. Nothing in here reads a
//! clock or touches the OS, so the simulator in `tests/` drives exactly the code the engine runs.

use std::net::IpAddr;
use std::time::Duration;

mod announce;
mod election;
mod machine;
mod replay;
#[cfg(test)]
mod tests;
pub mod vrrp;
#[cfg(test)]
mod vrrp_tests;

pub use election::Election;
pub use machine::Machine;
pub use vrrp::{VrrpAdvert, VrrpConfig, VrrpMachine};

/// CARP states as the kernel names them (`CARP_STATES`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum State {
    Init,
    Backup,
    Master,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Init => "INIT",
            State::Backup => "BACKUP",
            State::Master => "MASTER",
        }
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum Family {
    V4,
    V6,
}

/// Why a transition happened, worded like the kernel's log line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Reason {
    InitializationComplete,
    MasterTimedOut,
    MoreFrequentAdvertisement,
    PreemptingSlowerMaster,
    MasterWillTimeOut,
    UserRequested,
    HardwareInterfaceDown,
    HardwareInterfaceUp,
    CarpDisabled,
    CarpEnabled,
    Leaving,
    /// VRRP: a backup whose Preempt_Mode ignored a lower-priority master's adverts.
    PreemptingLowerPriority,
    /// VRRP: a master heard a higher priority.
    HigherPriorityAdvertisement,
    /// VRRP: a master heard its own priority from a greater primary address.
    EqualPriorityHigherAddress,
    /// VRRP: priority 255 goes straight to MASTER.
    AddressOwner,
    /// VRRP: the master sent priority 0 and Skew_Time passed.
    MasterLeft,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::InitializationComplete => "initialization complete",
            Reason::MasterTimedOut => "master timed out",
            Reason::MoreFrequentAdvertisement => "more frequent advertisement received",
            Reason::PreemptingSlowerMaster => "preempting a slower master",
            Reason::MasterWillTimeOut => "master will time out",
            Reason::UserRequested => "user requested",
            Reason::HardwareInterfaceDown => "hardware interface down",
            Reason::HardwareInterfaceUp => "hardware interface up",
            Reason::CarpDisabled => "carp disabled",
            Reason::CarpEnabled => "carp enabled",
            Reason::Leaving => "shutting down",
            Reason::PreemptingLowerPriority => "preempting a lower-priority master",
            Reason::HigherPriorityAdvertisement => "higher-priority advertisement received",
            Reason::EqualPriorityHigherAddress => {
                "equal-priority advertisement from a higher address"
            }
            Reason::AddressOwner => "address owner (priority 255)",
            Reason::MasterLeft => "master left (priority 0)",
        }
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Static settings of one VHID's machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MachineConfig {
    pub vhid: u8,
    pub advbase: u8,
    /// Configured advskew (0..254); the master-down timer uses this, adverts the demoted value.
    pub advskew: u8,
    /// `net.inet.carp.preempt`.
    pub preempt: bool,
    /// Which families have addresses (each family runs its own master-down timer).
    pub v4: bool,
    pub v6: bool,
    /// Announcements (GARP/NA) after takeover: 1 = only at takeover; 2 = once more after two adverts (default).
    pub announce_count: u8,
    /// Beyond FreeBSD: send a bow-out advert (advbase 255 / advskew 255) on a graceful leave.
    pub bow_out: bool,
    /// Beyond FreeBSD: drop adverts whose (source, counter) was already seen (carp-spec §2.3 has
    /// no replay check, and the HMAC does not cover advbase/advskew, so a captured advert
    /// replayed with other timing would be believed). Also makes counter adoption monotonic.
    pub replay_guard: bool,
}

/// An authenticated advertisement (HMAC and TTL already checked by the runtime).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Advert {
    pub family: Family,
    pub source: IpAddr,
    pub advbase: u8,
    pub advskew: u8,
    pub counter: u64,
    /// The runtime saw this advert come from one of this host's own addresses (an echo from a
    /// switch or hypervisor, or multicast loopback). The machine ignores it when the counter is
    /// one it sent itself, instead of yielding to itself as FreeBSD would.
    pub from_self: bool,
}

/// Operator requests (carp-spec §3.4 and carpd's own controls).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdminRequest {
    /// Force BACKUP now; election resumes (master-down timer armed).
    ForceBackup,
    /// Force MASTER now (advert + announce).
    ForceMaster,
    /// `net.inet.carp.allow=0`: to INIT, addresses released.
    Disable,
    /// `net.inet.carp.allow=1`: back to election.
    Enable,
    /// Graceful exit: bow-out advert if MASTER, release addresses, to INIT.
    Leave,
    /// ucarp's SIGUSR2: a MASTER goes BACKUP (no advert announces it), neither takes over nor
    /// preempts for `hold`, then runs its master-down timer afresh; a BACKUP stays as it is.
    StepDown { hold: Duration },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Input {
    /// Parent interface usable (up, running, has an address to send from) or not.
    Link {
        up: bool,
    },
    Advert(Advert),
    /// A VRRPv3 advert (checksum, TTL and addresses already checked by the runtime).
    Vrrp(VrrpAdvert),
    /// Total demotion (sum of every named contribution); may be negative.
    Demotion(i32),
    Admin(AdminRequest),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    /// Send one advertisement of this family with these values.
    SendAdvert {
        family: Family,
        advbase: u8,
        advskew: u8,
        counter: u64,
    },
    /// Send one VRRPv3 advert (of the router's one family) with this priority.
    SendVrrp { priority: u8, interval_cs: u16 },
    /// Add the VIPs (MASTER).
    ClaimAddresses,
    /// Remove the VIPs (BACKUP/INIT/leave).
    ReleaseAddresses,
    /// Gratuitous ARP for every IPv4 VIP and unsolicited NA (Override) for every IPv6 VIP.
    Announce,
    Transition {
        from: State,
        to: State,
        reason: Reason,
    },
    /// An advert was discarded before it could influence the election; the runtime counts it.
    Dropped(DropReason),
    /// While MASTER, an advert from another master this node does not yield to: two masters
    /// on the segment (a partition heal in progress, or a peer that cannot hear us).
    RivalMaster { source: IpAddr, rival: Rival },
}

/// What a rival master advertises, to say how it differs from us.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rival {
    Carp { advbase: u8, advskew: u8 },
    Vrrp { priority: u8, interval_cs: u16 },
}

/// Why the machine discarded an authenticated advert.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum DropReason {
    /// Same source and counter as an advert already seen: a replay (or a network duplicate,
    /// which is indistinguishable and harmless to drop).
    Replay,
    /// Our own advert looped back (switch, hypervisor or multicast loopback).
    Echo,
    /// An advert of a family this VHID has no addresses in (FreeBSD drops these as `badvhid`).
    WrongFamily,
}

impl DropReason {
    /// Name of the statistics counter the runtime increments.
    pub fn stat_name(self) -> &'static str {
        match self {
            DropReason::Replay => "replay",
            DropReason::Echo => "echo",
            DropReason::WrongFamily => "badvhid",
        }
    }
}

/// Time helpers shared by the machine, the engine's status and the tests (carp-spec §3.2, µs arithmetic).
pub fn skew_duration(skew: u8) -> Duration {
    Duration::from_micros(u64::from(skew) * 1_000_000 / 256)
}

/// Master-down interval of a BACKUP: 3·advbase + configured advskew/256.
pub fn master_down_interval(advbase: u8, advskew: u8) -> Duration {
    Duration::from_secs(3 * u64::from(advbase)) + skew_duration(advskew)
}

/// Advertisement interval of a MASTER: advbase + clamp(advskew + demotion, 0, 240)/256.
pub fn advert_interval(advbase: u8, advskew: u8, demotion: i32) -> Duration {
    Duration::from_secs(u64::from(advbase)) + skew_duration(demoted_skew(advskew, demotion))
}

/// The advskew a MASTER sends: `DEMOTE_ADVSKEW` = clamp(advskew + demotion, 0, 240).
pub fn demoted_skew(advskew: u8, demotion: i32) -> u8 {
    (i64::from(advskew) + i64::from(demotion)).clamp(0, 240) as u8
}
