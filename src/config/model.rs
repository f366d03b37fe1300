//! The validated model carpd runs: what every engine, planner and status view consumes.
//!
//! Built by [`crate::config::load`] from config.xml; nothing in here knows XML.

use serde::Serialize;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::time::Duration;

/// Length of a CARP key as the kernel holds it (`CARP_KEY_LEN`).
pub const KEY_LEN: usize = 20;

/// The 20-byte CARP key. Never printed: `Debug` and `Display` show only whether it is set.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct CarpKey(pub [u8; KEY_LEN]);

impl CarpKey {
    /// Bytes before the zero padding (what the user's password became).
    pub fn used_len(&self) -> usize {
        self.0.iter().rposition(|b| *b != 0).map_or(0, |p| p + 1)
    }
    pub fn is_empty(&self) -> bool {
        self.used_len() == 0
    }
    /// `key: set (N bytes)` / `key: empty`, the only way a key is ever shown.
    pub fn describe(&self) -> String {
        match self.used_len() {
            0 => "empty".to_string(),
            n => format!("set ({n} bytes)"),
        }
    }
}

/// Serialized as `{"set": bool, "length": N}`: the bytes never leave the process.
impl Serialize for CarpKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("CarpKey", 2)?;
        st.serialize_field("set", &!self.is_empty())?;
        st.serialize_field("length", &self.used_len())?;
        st.end()
    }
}

impl std::fmt::Debug for CarpKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CarpKey({})", self.describe())
    }
}

/// An address with its prefix length, as a VIP is configured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct IpPrefix {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl std::fmt::Display for IpPrefix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// Whether an address on a vhid came from the CARP VIP itself or an ipalias stacked on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VipMode {
    Carp,
    Ipalias,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct VipAddress {
    pub prefix: IpPrefix,
    pub mode: VipMode,
    /// uuid (OPNsense) or uniqid (pfSense) of the `<vip>` this address came from, if any.
    pub source: Option<String>,
    pub description: String,
}

/// The protocol a group speaks. OPNsense's VIP model has no such field: carpd keeps it in its
/// own `<OPNsense><carpd><vhids>` settings, keyed by the CARP VIP's uuid.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "protocol", rename_all = "lowercase")]
pub enum Protocol {
    #[default]
    Carp,
    /// VRRPv3 (RFC 9568): advbase, advskew and the password do not apply.
    Vrrp3(VrrpSettings),
}

/// A VRRPv3 virtual router's settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct VrrpSettings {
    /// 1..254, or 255 for the address owner.
    pub priority: u8,
    /// Advertisement interval in centiseconds, 1..4095.
    pub interval_cs: u16,
    /// Preempt_Mode: a higher-priority backup takes over from a lower-priority master.
    pub preempt: bool,
    /// Accept_Mode: a non-owner master accepts packets addressed to the VIPs.
    pub accept: bool,
}

impl Default for VrrpSettings {
    /// RFC 9568's defaults: priority 100, 100 cs, preempt on; accept on (the VIPs are this
    /// host's addresses while it is MASTER). The config reader derives the priority from the
    /// VIP's advskew when `<priority>` is absent.
    fn default() -> Self {
        VrrpSettings {
            priority: 100,
            interval_cs: 100,
            preempt: true,
            accept: true,
        }
    }
}

/// One CARP virtual host: a vhid on a device with every address that follows it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct CarpGroup {
    /// OS device name (`vtnet0`, `eth0`), already resolved from the interface key.
    pub device: String,
    /// The config.xml interface key (`wan`, `opt1`) or the device when there was no key.
    pub interface_key: String,
    /// Human name for status (`<descr>` of the interface, else the key upper-cased), as OPNsense shows it.
    pub interface_name: String,
    pub vhid: u8,
    pub advbase: u8,
    pub advskew: u8,
    pub key: CarpKey,
    /// Every address of the vhid: the CARP VIP first, then aliases, in config order.
    pub addresses: Vec<VipAddress>,
    /// Unicast IPv4 peer; `None` = multicast 224.0.0.18.
    pub peer: Option<Ipv4Addr>,
    /// Unicast IPv6 peer; `None` = multicast ff02::12.
    pub peer6: Option<Ipv6Addr>,
    pub description: String,
    /// uuid / uniqid of the CARP `<vip>` entry.
    pub source_uuid: Option<String>,
    /// CARP, or VRRPv3 with its settings.
    #[serde(flatten)]
    pub protocol: Protocol,
}

impl CarpGroup {
    pub fn v4_addresses(&self) -> impl Iterator<Item = Ipv4Addr> + '_ {
        self.addresses.iter().filter_map(|a| match a.prefix.addr {
            IpAddr::V4(v) => Some(v),
            IpAddr::V6(_) => None,
        })
    }
    pub fn v6_addresses(&self) -> impl Iterator<Item = Ipv6Addr> + '_ {
        self.addresses.iter().filter_map(|a| match a.prefix.addr {
            IpAddr::V6(v) => Some(v),
            IpAddr::V4(_) => None,
        })
    }
    /// `<vhid>@<device>`, the name the kernel, devd and the hooks use.
    pub fn name(&self) -> String {
        format!("{}@{}", self.vhid, self.device)
    }
    /// The VRRPv3 settings, when this group speaks VRRPv3.
    pub fn vrrp(&self) -> Option<&VrrpSettings> {
        match &self.protocol {
            Protocol::Vrrp3(v) => Some(v),
            Protocol::Carp => None,
        }
    }
}

/// pfsync settings from `<hasync>` (carpd reports them; the kernel applies them).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PfsyncSettings {
    /// Device pfsync syncs over; `None` = pfsync off.
    pub device: Option<String>,
    pub peer: Option<Ipv4Addr>,
    pub version: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct HaSettings {
    /// `<hasync><disablepreempt>`: when false, carpd preempts (OPNsense's default at boot).
    pub disable_preempt: bool,
    pub pfsync: PfsyncSettings,
}

impl HaSettings {
    pub fn preempt(&self) -> bool {
        !self.disable_preempt
    }
}

/// carpd's own settings: `<OPNsense><carpd><general>` and `<OPNsense><carpd><checks>`.
/// Durations are serialized as seconds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Settings {
    /// After start carpd takes MASTER no sooner than this.
    #[serde(serialize_with = "secs")]
    pub startup_delay: Duration,
    /// Shell command line (`/bin/sh -c`): carpd takes MASTER only once it has exited 0.
    pub ready_command: Option<String>,
    /// After this carpd stops waiting for `startup_delay` / `ready_command` (and says so).
    #[serde(serialize_with = "secs")]
    pub ready_deadline: Duration,
    /// After start and after an interface comes back, carpd does not preempt for this long.
    #[serde(serialize_with = "secs")]
    pub preempt_delay: Duration,
    /// A MASTER repeats its gratuitous ARP / unsolicited NA this often; `None` = off.
    #[serde(serialize_with = "opt_secs")]
    pub announce_interval: Option<Duration>,
    /// Tracked checks, in config order.
    pub checks: Vec<Check>,
}

impl Settings {
    pub const DEFAULT_READY_DEADLINE: Duration = Duration::from_secs(300);
}

impl Default for Settings {
    /// No delays, no ready command, a 300 s ready deadline, no periodic announcements, no checks.
    fn default() -> Self {
        Settings {
            startup_delay: Duration::ZERO,
            ready_command: None,
            ready_deadline: Settings::DEFAULT_READY_DEADLINE,
            preempt_delay: Duration::ZERO,
            announce_interval: None,
            checks: Vec::new(),
        }
    }
}

/// One tracked check (`<OPNsense><carpd><checks><check>`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Check {
    /// `[A-Za-z0-9_.:-]{1,48}`, unique; its demotion shows as `check:NAME`.
    pub name: String,
    pub kind: CheckKind,
    /// Time between two runs (the first runs at once).
    #[serde(serialize_with = "secs")]
    pub interval: Duration,
    /// A run that takes longer is killed and counts as a failure.
    #[serde(serialize_with = "secs")]
    pub timeout: Duration,
    /// Consecutive successes that make a failing check OK again.
    pub rise: u32,
    /// Consecutive failures that make an OK check failing.
    pub fall: u32,
    pub effect: CheckEffect,
}

impl Check {
    pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(2);
    pub const DEFAULT_RISE: u32 = 2;
    pub const DEFAULT_FALL: u32 = 2;
    pub const DEFAULT_WEIGHT: i32 = 240;
    /// Longest check name (`check:` + the name stays within a demotion name's 64 characters).
    pub const MAX_NAME_LEN: usize = 48;

    /// The name its demotion contribution is kept under: `check:NAME`.
    pub fn demotion_name(&self) -> String {
        format!("check:{}", self.name)
    }
}

/// What a check looks at.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum CheckKind {
    /// The interface is up (administratively and with carrier).
    Link { interface: String },
    /// A shell command line (`/bin/sh -c`) exits 0.
    Command { command: String },
    /// The file holds one integer: the demotion while it is non-zero (0 = healthy).
    File { path: PathBuf },
    /// A process of this name runs.
    Process { name: String },
}

impl CheckKind {
    /// `link`, `command`, `file` or `process`, as in config.xml.
    pub fn type_name(&self) -> &'static str {
        match self {
            CheckKind::Link { .. } => "link",
            CheckKind::Command { .. } => "command",
            CheckKind::File { .. } => "file",
            CheckKind::Process { .. } => "process",
        }
    }
}

/// What a failing check does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckEffect {
    /// Demote by this much while failing (a file check: the file's number; this one only when
    /// the file is missing or holds no number).
    Demote(i32),
    /// Put these VHIDs into INIT while failing; empty = every VHID.
    Fault { vhids: Vec<u8> },
}

/// A duration as seconds: an integer when whole, else fractional.
fn secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    if d.subsec_nanos() == 0 {
        s.serialize_u64(d.as_secs())
    } else {
        s.serialize_f64(d.as_secs_f64())
    }
}

fn opt_secs<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => secs(d, s),
        None => s.serialize_none(),
    }
}

/// Everything carpd will run, validated.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Model {
    pub groups: Vec<CarpGroup>,
    pub ha: HaSettings,
    /// `<virtualip_carp_maintenancemode>` present.
    pub maintenance: bool,
    /// carpd's own settings and tracked checks (`<OPNsense><carpd><general>`, `<checks>`).
    pub settings: Settings,
}

impl Model {
    pub fn group(&self, device: &str, vhid: u8) -> Option<&CarpGroup> {
        self.groups
            .iter()
            .find(|g| g.device == device && g.vhid == vhid)
    }
}
