//! The kernel's state and what carp(4) does with it: vhids on interfaces, their addresses and
//! states, the `net.inet.carp.*` sysctls, devctl events, and the other node on the segment.
//! Source keys (K13, K14, K15, …) are listed in the crate documentation.

use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::errno::*;

/// Which FreeBSD the model is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Release {
    /// 13.x: carp(4) is driven by SIOCSVH/SIOCGVH only (K13). `netlink`: the netlink(4)
    /// domain is loaded (13.2 ships it as a module) but has no "carp" family; without it
    /// `socket(AF_NETLINK)` fails with EAFNOSUPPORT (`socreate()`, SOCK).
    FreeBsd13 { netlink: bool },
    /// 14.x: the netlink family "carp" (ids 1..9) and the ioctls, whose SIOCGVH listing copies
    /// every record from one on-stack `struct carpreq` (K14 `carp_ioctl`).
    FreeBsd14,
    /// 15 with main's retirement of the carp ioctls (72472e52): netlink only, with VRRPv3
    /// (VERSION, VRRP_PRIORITY, VRRP_ADV_INTER; K15, NL15).
    FreeBsd15,
}

impl Release {
    pub fn has_netlink_domain(self) -> bool {
        !matches!(self, Release::FreeBsd13 { netlink: false })
    }
    pub fn has_carp_family(self) -> bool {
        !matches!(self, Release::FreeBsd13 { .. })
    }
    pub fn has_carp_ioctls(self) -> bool {
        !matches!(self, Release::FreeBsd15)
    }
    pub fn has_vrrp(self) -> bool {
        matches!(self, Release::FreeBsd15)
    }
    /// `kern.osreldate` (`__FreeBSD_version` in sys/sys/param.h) of the release modelled:
    /// 13.3, 14.2 and 15.0-RELEASE (releng/15.0: 1500068).
    pub fn osreldate(self) -> i32 {
        match self {
            Release::FreeBsd13 { .. } => 1_303_000,
            Release::FreeBsd14 => 1_402_000,
            Release::FreeBsd15 => 1_500_068,
        }
    }
}

// sys/net/if_types.h (modern `enum ifType`).
pub const IFT_ETHER: u8 = 0x06;
pub const IFT_PPP: u8 = 0x17;
pub const IFT_LOOP: u8 = 0x18;
pub const IFT_PROPVIRTUAL: u8 = 0x35;
pub const IFT_TUNNEL: u8 = 0x83;
pub const IFT_L2VLAN: u8 = 0x87;
pub const IFT_IEEE8023ADLAG: u8 = 0xa1;
pub const IFT_BRIDGE: u8 = 0xd1;
pub const IFT_GIF: u8 = 0xf0;
pub const IFT_ENC: u8 = 0xf4;
pub const IFT_PFLOG: u8 = 0xf6;
pub const IFT_PFSYNC: u8 = 0xf7;
pub const IFT_WIREGUARD: u8 = 0xf8;

// sys/net/if.h.
pub const IFF_UP: u32 = 0x1;
pub const IFF_BROADCAST: u32 = 0x2;
pub const IFF_LOOPBACK: u32 = 0x8;
pub const IFF_POINTOPOINT: u32 = 0x10;
pub const IFF_RUNNING: u32 = 0x40;
pub const IFF_PROMISC: u32 = 0x100;
pub const IFF_SIMPLEX: u32 = 0x800;
pub const IFF_MULTICAST: u32 = 0x8000;

/// `CARP_MAXVHID` (H15).
pub const CARP_MAXVHID: i32 = 255;
/// `CARP_DFLTINTV` (H15).
pub const CARP_DFLTINTV: i32 = 1;
/// `CARP_MAXSKEW` (H15): the default of both demotion factors and the clamp of the sent skew.
pub const CARP_MAXSKEW: i32 = 240;
/// `VRRP_MAX_INTERVAL` (H15).
pub const VRRP_MAX_INTERVAL: u16 = 4095;
pub const CARP_VERSION_CARP: u8 = 2;
pub const CARP_VERSION_VRRPV3: u8 = 3;

/// The multicast groups a CARP vhid sends to unless a peer is set (`carp_alloc`, K15).
pub const CARP_MCAST: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
pub const CARP_MCAST6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);

/// `enum { INIT = 0, BACKUP, MASTER }` (ip_carp.c).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum VState {
    Init = 0,
    Backup = 1,
    Master = 2,
}

impl VState {
    /// `carp_states[]`: the names devctl and the log use.
    pub fn name(self) -> &'static str {
        match self {
            VState::Init => "INIT",
            VState::Backup => "BACKUP",
            VState::Master => "MASTER",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Vhid {
    pub vhid: u8,
    pub version: u8,
    pub advbase: i32,
    pub advskew: i32,
    pub key: [u8; 20],
    /// Unicast peers; the multicast groups by default (`carp_alloc`).
    pub peer: Ipv4Addr,
    pub peer6: Ipv6Addr,
    pub state: VState,
    /// `sc_suppress`: this vhid's ifdown demotion is in the total.
    pub suppress: bool,
    pub vrrp_prio: u8,
    pub vrrp_adv_inter: u16,
    /// Model time at which the BACKUP master-down timer was last armed.
    pub armed_at: f64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Addr {
    pub ip: IpAddr,
    pub prefix: u8,
    /// 0 = not a carp address.
    pub vhid: u8,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Iface {
    pub name: String,
    pub index: u32,
    pub if_type: u8,
    /// `if_flags` (`IFF_UP`, `IFF_MULTICAST`, …).
    pub flags: u32,
    /// `if_link_state == LINK_STATE_UP`.
    pub link_up: bool,
    pub addrs: Vec<Addr>,
    /// The vhids (`if_carp`'s list); empty = `if_carp == NULL`.
    pub vhids: Vec<Vhid>,
}

impl Iface {
    pub fn up(&self) -> bool {
        self.flags & IFF_UP != 0
    }
    fn naddrs(&self, vhid: u8) -> usize {
        self.addrs.iter().filter(|a| a.vhid == vhid).count()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sysctls {
    pub allow: i32,
    pub preempt: i32,
    pub demotion: i32,
    pub ifdown_demotion_factor: i32,
    pub senderr_demotion_factor: i32,
    pub log: i32,
    pub dscp: i32,
    /// `net.pfsync.carp_demotion_factor` (if_pfsync.c `pfsync_carp_adj` = CARP_MAXSKEW).
    pub pfsync_carp_demotion_factor: i32,
}

impl Default for Sysctls {
    /// K14 defaults: allow 1, preempt 0, demotion 0, both factors CARP_MAXSKEW, log 1, dscp 56.
    fn default() -> Self {
        Sysctls {
            allow: 1,
            preempt: 0,
            demotion: 0,
            ifdown_demotion_factor: CARP_MAXSKEW,
            senderr_demotion_factor: CARP_MAXSKEW,
            log: 1,
            dscp: 56,
            pfsync_carp_demotion_factor: CARP_MAXSKEW,
        }
    }
}

/// The devctl queue as devd forwards it: every event since the model started (bounded), each
/// with a sequence number, and whether devd runs. A client sees the events after the moment
/// it connected; `generation` changes when devd restarts or drops its clients.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Devd {
    /// devd's SOCK_SEQPACKET pipe (`SEQPACKETPIPE` in devd.cc).
    pub path: String,
    pub running: bool,
    pub generation: u64,
    pub next_seq: u64,
    pub events: VecDeque<(u64, String)>,
}

/// `SEQPACKETPIPE` (sbin/devd/devd.cc).
pub const DEVD_PIPE: &str = "/var/run/devd.seqpacket.pipe";

/// Events kept for clients (devctl's `hw.bus.devctl_queue` default is 1000).
const DEVD_KEEP: usize = 1000;
/// Lines of the syscall and kernel log kept.
const LOG_KEEP: usize = 4000;

/// The other CARP node on a vhid's segment, playing `carp_input_c`'s rules without packets.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Peer {
    pub device: String,
    pub vhid: u8,
    pub advbase: i32,
    pub advskew: i32,
    pub preempt: bool,
    pub state: VState,
    /// A peer that is off sends nothing.
    pub alive: bool,
    pub armed_at: f64,
}

/// An error the model injects into the next matching request, as a real kernel may answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Fault {
    /// The next carp GET dump of this interface ends with this errno in NLMSG_DONE, after
    /// the records it got to (`carp_ioctl_get` returning ENOMEM when `outfn` fails).
    DumpFails { ifname: String, errno: i32 },
    /// The next carp SET (netlink or ioctl) for this vhid fails with this errno.
    SetFails {
        ifname: String,
        vhid: u8,
        errno: i32,
    },
    /// The next address ioctl on this interface fails with this errno.
    AddressFails { ifname: String, errno: i32 },
    /// The interface is destroyed just before the next address ioctl on it (a hot-unplug
    /// in the middle of an apply).
    VanishBeforeAddress { ifname: String },
    /// The next netlink request gets no answer at all.
    NetlinkSilent,
    /// The next write of this sysctl fails with this errno.
    SysctlWriteFails { name: String, errno: i32 },
}

/// The whole kernel.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Kernel {
    pub release: Release,
    /// carp.ko loaded: `net.inet.carp.*` exist, SIOC?VH reach `carp_ioctl_p`.
    pub carp_loaded: bool,
    /// The caller holds PRIV_NETINET_CARP (root).
    pub privileged: bool,
    pub interfaces: Vec<Iface>,
    pub sysctl: Sysctls,
    pub devd: Devd,
    pub peers: Vec<Peer>,
    pub faults: Vec<Fault>,
    /// Model time in seconds; timers compare against it.
    pub clock: f64,
    /// Model seconds per real second (0 = time moves only by [`Kernel::advance`]).
    pub speed: f64,
    /// Real time (Unix seconds) of the last clock update.
    pub real_at: f64,
    /// Netlink generic families in slot order (nlctrl in slot 0 = id 16).
    pub families: Vec<String>,
    /// Next netlink port id.
    pub next_port: u32,
    /// Real time (Unix seconds) of the last boot: `CLOCK_UPTIME` counts from it.
    pub booted_at: f64,
    /// Syscalls and kernel log lines, oldest first (bounded).
    pub log: VecDeque<String>,
}

pub fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// `carpkreq` as `carp_ioctl_set` receives it (K14/K15; 13's carpreq has no peers).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SetReq {
    pub vhid: i32,
    pub state: i32,
    pub advskew: i32,
    pub advbase: i32,
    pub key: [u8; 20],
    pub addr: Option<Ipv4Addr>,
    pub addr6: Option<Ipv6Addr>,
    pub version: u8,
    pub vrrp_prio: u8,
    pub vrrp_adv_inter: u16,
}

impl Kernel {
    pub fn new(release: Release) -> Kernel {
        let families = if release.has_carp_family() {
            // nlctrl takes slot 0 (id 16); other families the first free slot in load order
            // (`genl_register_family`, NLG). rtnetlink's sysevent family loads before carp.
            vec!["nlctrl".into(), "nlsysevent".into(), "carp".into()]
        } else {
            vec!["nlctrl".into(), "nlsysevent".into()]
        };
        Kernel {
            release,
            carp_loaded: true,
            privileged: true,
            interfaces: Vec::new(),
            sysctl: Sysctls::default(),
            devd: Devd {
                path: DEVD_PIPE.into(),
                running: true,
                ..Devd::default()
            },
            peers: Vec::new(),
            faults: Vec::new(),
            clock: 0.0,
            speed: 0.0,
            real_at: unix_now(),
            families,
            next_port: 1000,
            booted_at: unix_now() - 100.0,
            log: VecDeque::new(),
        }
    }

    pub fn note(&mut self, line: impl Into<String>) {
        self.log.push_back(line.into());
        while self.log.len() > LOG_KEEP {
            self.log.pop_front();
        }
    }

    // ---- building the box ---------------------------------------------------------------

    /// Attach an interface (as its driver would: `if_alloc(type)` + `if_attach`, which
    /// announces `!system=IFNET subsystem=<if> type=ATTACH`, `if_attach_internal`).
    pub fn add_interface(&mut self, name: &str, if_type: u8, flags: u32, link_up: bool) {
        self.devctl_notify(&format!("!system=IFNET subsystem={name} type=ATTACH\n"));
        let index = self.interfaces.iter().map(|i| i.index).max().unwrap_or(0) + 1;
        self.interfaces.push(Iface {
            name: name.into(),
            index,
            if_type,
            flags,
            link_up,
            addrs: Vec::new(),
            vhids: Vec::new(),
        });
    }

    /// A plain address (no vhid), as `ifconfig <if> inet A/P` leaves it.
    pub fn add_plain_address(&mut self, name: &str, ip: IpAddr, prefix: u8) {
        if let Some(i) = self.iface_mut(name) {
            i.addrs.push(Addr {
                ip,
                prefix,
                vhid: 0,
            });
        }
    }

    pub fn iface(&self, name: &str) -> Option<&Iface> {
        self.interfaces.iter().find(|i| i.name == name)
    }
    pub fn iface_mut(&mut self, name: &str) -> Option<&mut Iface> {
        self.interfaces.iter_mut().find(|i| i.name == name)
    }
    fn iface_pos(&self, name: &str) -> Option<usize> {
        self.interfaces.iter().position(|i| i.name == name)
    }
    pub fn vhid(&self, ifname: &str, vhid: u8) -> Option<&Vhid> {
        self.iface(ifname)?.vhids.iter().find(|v| v.vhid == vhid)
    }
    fn vpos(&self, ifi: usize, vhid: u8) -> Option<usize> {
        self.interfaces[ifi]
            .vhids
            .iter()
            .position(|v| v.vhid == vhid)
    }

    /// Take the first matching fault out of the list.
    pub fn take_fault(&mut self, matches: impl Fn(&Fault) -> bool) -> Option<Fault> {
        let pos = self.faults.iter().position(matches)?;
        Some(self.faults.remove(pos))
    }

    // ---- carp(4) ------------------------------------------------------------------------

    /// `carp_set_state()` (K14): a real change is logged and announced through devctl as
    /// `!system=CARP subsystem=<vhid>@<if> type=<STATE>\n` (`devctl_notify`, DEVCTL).
    fn set_state(&mut self, ifi: usize, vi: usize, state: VState, reason: &str) {
        let (name, v) = {
            let i = &self.interfaces[ifi];
            (i.name.clone(), &i.vhids[vi])
        };
        if v.state == state {
            return;
        }
        let subsys = format!("{}@{}", v.vhid, name);
        let line = format!(
            "carp: {subsys}: {} -> {} ({reason})",
            v.state.name(),
            state.name()
        );
        self.interfaces[ifi].vhids[vi].state = state;
        if self.sysctl.log > 0 {
            self.note(line);
        }
        self.devctl_notify(&format!(
            "!system=CARP subsystem={subsys} type={}\n",
            state.name()
        ));
    }

    fn devctl_notify(&mut self, line: &str) {
        let seq = self.devd.next_seq;
        self.devd.next_seq += 1;
        self.devd.events.push_back((seq, line.to_string()));
        while self.devd.events.len() > DEVD_KEEP {
            self.devd.events.pop_front();
        }
    }

    /// `carp_setrun()` (K14): nothing unless the parent is IFF_UP with link state UP, the vhid
    /// has an address, and `allow` is set; INIT then goes to BACKUP ("initialization complete")
    /// and BACKUP (re)arms its master-down timer.
    fn setrun(&mut self, ifi: usize, vi: usize) {
        let i = &self.interfaces[ifi];
        let v = &i.vhids[vi];
        if !i.up() || !i.link_up || i.naddrs(v.vhid) == 0 || self.sysctl.allow == 0 {
            return;
        }
        match v.state {
            VState::Init => {
                self.set_state(ifi, vi, VState::Backup, "initialization complete");
                self.interfaces[ifi].vhids[vi].armed_at = self.clock;
            }
            VState::Backup => self.interfaces[ifi].vhids[vi].armed_at = self.clock,
            VState::Master => {}
        }
    }

    /// `carp_sc_state()` (K14; K13 the same): both branches force INIT first; the down branch
    /// (link not UP, parent not IFF_UP, or `allow` 0) adds `ifdown_demotion_factor` once per
    /// vhid (`sc_suppress`), the up branch runs `carp_setrun` and takes that factor back.
    fn sc_state(&mut self, ifi: usize, vi: usize) {
        let i = &self.interfaces[ifi];
        let down = !i.link_up || !i.up() || self.sysctl.allow == 0;
        if down {
            self.set_state(ifi, vi, VState::Init, "hardware interface down");
            if !self.interfaces[ifi].vhids[vi].suppress {
                let adj = self.sysctl.ifdown_demotion_factor;
                self.demote_adj(adj, "interface down");
            }
            self.interfaces[ifi].vhids[vi].suppress = true;
        } else {
            self.set_state(ifi, vi, VState::Init, "hardware interface up");
            self.setrun(ifi, vi);
            if self.interfaces[ifi].vhids[vi].suppress {
                let adj = self.sysctl.ifdown_demotion_factor;
                self.demote_adj(-adj, "interface up");
            }
            self.interfaces[ifi].vhids[vi].suppress = false;
        }
    }

    /// `carp_demote_adj()` (K14): adds atomically, no clamp on the total (the clamp is applied
    /// where the total is used, `DEMOTE_ADVSKEW`).
    pub fn demote_adj(&mut self, adj: i32, reason: &str) {
        self.sysctl.demotion = self.sysctl.demotion.wrapping_add(adj);
        let total = self.sysctl.demotion;
        if self.sysctl.log > 0 {
            self.note(format!("carp: demoted by {adj} to {total} ({reason})"));
        }
    }

    /// `carp_alloc()` (K15): INIT, advbase CARP_DFLTINTV, advskew 0, no key, multicast peers;
    /// a VRRPv3 vhid priority 100 and interval 100 cs.
    fn alloc(&mut self, ifi: usize, vhid: u8, version: u8) -> usize {
        self.interfaces[ifi].vhids.push(Vhid {
            vhid,
            version,
            advbase: CARP_DFLTINTV,
            advskew: 0,
            key: [0; 20],
            peer: CARP_MCAST,
            peer6: CARP_MCAST6,
            state: VState::Init,
            suppress: false,
            vrrp_prio: 100,
            vrrp_adv_inter: 100,
            armed_at: self.clock,
        });
        self.interfaces[ifi].vhids.len() - 1
    }

    /// `carp_destroy()` (K14): takes this vhid's ifdown demotion back ("vhid removed") and
    /// frees it; no state event of its own.
    fn destroy(&mut self, ifi: usize, vi: usize) {
        if self.interfaces[ifi].vhids[vi].suppress {
            let adj = self.sysctl.ifdown_demotion_factor;
            self.demote_adj(-adj, "vhid removed");
        }
        self.interfaces[ifi].vhids.remove(vi);
    }

    /// `carp_ioctl_set()`, shared by SIOCSVH and netlink SET. K13/K14 create the vhid before
    /// checking the upper bounds of advbase and advskew (an EINVAL leaves a fresh INIT vhid
    /// behind); K15 validates first and pins the version at creation.
    pub fn ioctl_set(&mut self, ifi: usize, r: &SetReq) -> Result<(), i32> {
        let name = self.interfaces[ifi].name.clone();
        if let Some(Fault::SetFails { errno, .. }) = self.take_fault(|f| {
            matches!(f, Fault::SetFails { ifname, vhid, .. } if *ifname == name && i32::from(*vhid) == r.vhid)
        }) {
            return Err(errno);
        }
        if r.vhid <= 0 || r.vhid > CARP_MAXVHID {
            return Err(EINVAL);
        }
        let vhid = r.vhid as u8;
        let vi = if self.release.has_vrrp() {
            // K15 carp_ioctl_set: validation before carp_alloc.
            match r.version {
                CARP_VERSION_CARP => {
                    if r.advbase != 0 && (r.advbase > 255 || r.advbase < CARP_DFLTINTV) {
                        return Err(EINVAL);
                    }
                    if r.advskew < 0 || r.advskew >= 255 {
                        return Err(EINVAL);
                    }
                }
                CARP_VERSION_VRRPV3 => {}
                _ => return Err(EINVAL),
            }
            match self.vpos(ifi, vhid) {
                None => self.alloc(ifi, vhid, r.version),
                Some(vi) if self.interfaces[ifi].vhids[vi].version != r.version => {
                    return Err(EINVAL);
                }
                Some(vi) => vi,
            }
        } else {
            // K14a carp_ioctl_set.
            if r.advbase < 0 || r.advskew < 0 {
                return Err(EINVAL);
            }
            let vi = match self.vpos(ifi, vhid) {
                Some(vi) => vi,
                None => self.alloc(ifi, vhid, CARP_VERSION_CARP),
            };
            if r.advbase > 0 && (r.advbase > 255 || r.advbase < CARP_DFLTINTV) {
                return Err(EINVAL);
            }
            if r.advskew >= 255 {
                return Err(EINVAL);
            }
            vi
        };
        let v = &mut self.interfaces[ifi].vhids[vi];
        if v.version == CARP_VERSION_CARP {
            if r.advbase != 0 {
                v.advbase = r.advbase;
            }
            // Always overwritten: a SET that does not carry advskew resets it to 0.
            v.advskew = r.advskew;
            if let Some(a) = r.addr.filter(|a| !a.is_unspecified()) {
                v.peer = a;
            }
            if let Some(a) = r.addr6.filter(|a| !a.is_unspecified()) {
                v.peer6 = a;
            }
            // An empty key never clears the one set (`carpr_key[0] != '\0'`).
            if r.key[0] != 0 {
                v.key = r.key;
            }
        } else {
            if r.vrrp_prio != 0 {
                v.vrrp_prio = r.vrrp_prio;
            }
            if r.vrrp_adv_inter != 0 {
                v.vrrp_adv_inter = r.vrrp_adv_inter;
            }
        }
        // A state request counts only when the vhid is not INIT and differs.
        let cur = self.interfaces[ifi].vhids[vi].state;
        if cur != VState::Init && r.state != cur as i32 {
            match r.state {
                1 => {
                    self.set_state(ifi, vi, VState::Backup, "user requested via ifconfig");
                    self.setrun(ifi, vi);
                }
                2 => self.set_state(ifi, vi, VState::Master, "user requested via ifconfig"),
                _ => {}
            }
        }
        Ok(())
    }

    /// `carp_ioctl_get()` (K14/K15; K13 inline): the vhids to report, in list order.
    pub fn ioctl_get(&self, ifi: usize, vhid: i32, count: i32) -> Result<Vec<Vhid>, i32> {
        if !(0..=CARP_MAXVHID).contains(&vhid) {
            return Err(EINVAL);
        }
        if count < 1 {
            return Err(EMSGSIZE);
        }
        let list = &self.interfaces[ifi].vhids;
        if list.is_empty() {
            return Err(ENOENT);
        }
        if vhid != 0 {
            return list
                .iter()
                .find(|v| i32::from(v.vhid) == vhid)
                .cloned()
                .map(|v| vec![v])
                .ok_or(ENOENT);
        }
        if list.len() as i32 > count {
            return Err(EMSGSIZE);
        }
        Ok(list.clone())
    }

    /// `carp_is_supported_if()` (K14/K15; inline in K13): ENXIO without an interface,
    /// EOPNOTSUPP unless IFT_ETHER, IFT_L2VLAN or IFT_BRIDGE.
    pub fn supported_if(&self, name: Option<&str>) -> Result<usize, i32> {
        let ifi = name.and_then(|n| self.iface_pos(n)).ok_or(ENXIO)?;
        match self.interfaces[ifi].if_type {
            IFT_ETHER | IFT_L2VLAN | IFT_BRIDGE => Ok(ifi),
            _ => Err(EOPNOTSUPP),
        }
    }

    /// `carp_attach()` (K14): EPROTOTYPE for a family other than inet/inet6, ENOPROTOOPT when
    /// the interface has no carp, ENOENT when the vhid is not on it; then the vhid's state is
    /// re-evaluated (`carp_sc_state`), which moves a first address's vhid INIT → BACKUP.
    fn attach(&mut self, ifi: usize, vhid: u8) -> Result<(), i32> {
        if self.interfaces[ifi].vhids.is_empty() {
            return Err(ENOPROTOOPT);
        }
        self.vpos(ifi, vhid).map(|_| ()).ok_or(ENOENT)
    }

    /// `carp_detach(ifa, keep_cif)` (K14) after the address left the list: the state is
    /// re-evaluated, and without `keep_cif` a vhid left with no address is destroyed.
    fn detach(&mut self, ifi: usize, vhid: u8, keep_cif: bool) {
        let Some(vi) = self.vpos(ifi, vhid) else {
            return;
        };
        self.sc_state(ifi, vi);
        if !keep_cif && self.interfaces[ifi].naddrs(vhid) == 0 {
            self.destroy(ifi, vi);
        }
    }

    /// SIOCAIFADDR / SIOCAIFADDR_IN6 (IN `in_aifaddr_ioctl`, IN6 `in6_control`): an existing
    /// address is first detached with `keep_cif` (its vhid survives), then attached to the
    /// new vhid before the address joins the list (IPv4) — a failed attach leaves no address.
    pub fn aifaddr(&mut self, name: &str, ip: IpAddr, prefix: u8, vhid: u8) -> Result<(), i32> {
        let ifi = self.iface_pos(name).ok_or(ENXIO)?;
        if vhid != 0 && !self.carp_loaded {
            return Err(EPROTONOSUPPORT);
        }
        if let Some(pos) = self.interfaces[ifi].addrs.iter().position(|a| a.ip == ip) {
            let old = self.interfaces[ifi].addrs.remove(pos);
            if old.vhid != 0 {
                self.detach(ifi, old.vhid, true);
            }
        }
        if vhid != 0 {
            self.attach(ifi, vhid)?;
        }
        self.interfaces[ifi].addrs.push(Addr { ip, prefix, vhid });
        if vhid != 0
            && let Some(vi) = self.vpos(ifi, vhid)
        {
            self.sc_state(ifi, vi);
        }
        Ok(())
    }

    /// SIOCDIFADDR / SIOCDIFADDR_IN6: EADDRNOTAVAIL for an address the interface does not
    /// have; a carp address is detached without `keep_cif`, so its vhid dies with its last
    /// address.
    pub fn difaddr(&mut self, name: &str, ip: IpAddr) -> Result<(), i32> {
        let ifi = self.iface_pos(name).ok_or(ENXIO)?;
        let pos = self.interfaces[ifi]
            .addrs
            .iter()
            .position(|a| a.ip == ip)
            .ok_or(EADDRNOTAVAIL)?;
        let old = self.interfaces[ifi].addrs.remove(pos);
        if old.vhid != 0 {
            self.detach(ifi, old.vhid, false);
        }
        Ok(())
    }

    // ---- sysctl -------------------------------------------------------------------------

    fn sysctl_slot(&mut self, name: &str) -> Option<&mut i32> {
        let s = &mut self.sysctl;
        Some(match name {
            "net.inet.carp.allow" => &mut s.allow,
            "net.inet.carp.preempt" => &mut s.preempt,
            "net.inet.carp.demotion" => &mut s.demotion,
            "net.inet.carp.ifdown_demotion_factor" => &mut s.ifdown_demotion_factor,
            "net.inet.carp.senderr_demotion_factor" => &mut s.senderr_demotion_factor,
            "net.inet.carp.log" => &mut s.log,
            "net.inet.carp.dscp" => &mut s.dscp,
            "net.pfsync.carp_demotion_factor" => &mut s.pfsync_carp_demotion_factor,
            _ => return None,
        })
    }

    /// A read: ENOENT for a name that does not exist (`sysctl_find_oid`; the carp tree exists
    /// only with carp.ko loaded).
    pub fn sysctl_read(&mut self, name: &str) -> Result<i32, i32> {
        if name == "kern.osreldate" {
            return Ok(self.release.osreldate());
        }
        if name.starts_with("net.inet.carp.") && !self.carp_loaded {
            return Err(ENOENT);
        }
        self.sysctl_slot(name).map(|v| *v).ok_or(ENOENT)
    }

    /// A write through the OID's handler: `allow` is `carp_allow_sysctl` (a change runs
    /// `carp_sc_state` on every vhid), `demotion` is `carp_demote_adj_sysctl` (adds), `dscp`
    /// must be 0..63, the rest are plain ints. Without privilege: EPERM.
    pub fn sysctl_write(&mut self, name: &str, value: i32) -> Result<(), i32> {
        if name.starts_with("net.inet.carp.") && !self.carp_loaded {
            return Err(ENOENT);
        }
        if self.sysctl_slot(name).is_none() {
            return Err(ENOENT);
        }
        if let Some(Fault::SysctlWriteFails { errno, .. }) =
            self.take_fault(|f| matches!(f, Fault::SysctlWriteFails { name: n, .. } if n == name))
        {
            return Err(errno);
        }
        if !self.privileged {
            return Err(EPERM);
        }
        match name {
            "net.inet.carp.demotion" => self.demote_adj(value, "sysctl"),
            "net.inet.carp.allow" => {
                let new = i32::from(value != 0);
                if self.sysctl.allow != new {
                    self.sysctl.allow = new;
                    self.each_vhid(|k, ifi, vi| k.sc_state(ifi, vi));
                }
            }
            "net.inet.carp.dscp" if !(0..=63).contains(&value) => return Err(EINVAL),
            _ => {
                if let Some(slot) = self.sysctl_slot(name) {
                    *slot = value;
                }
            }
        }
        Ok(())
    }

    fn each_vhid(&mut self, mut f: impl FnMut(&mut Kernel, usize, usize)) {
        for ifi in 0..self.interfaces.len() {
            let mut vi = 0;
            while vi < self.interfaces[ifi].vhids.len() {
                f(self, ifi, vi);
                vi += 1;
            }
        }
    }

    // ---- the world around the kernel ----------------------------------------------------

    /// The parent's link goes down or up (`carp_linkstate` → `carp_sc_state` per vhid).
    /// After carp(4), devctl announces it: `!system=IFNET subsystem=<if> type=LINK_UP|LINK_DOWN`
    /// (`do_link_state_change` in sys/net/if.c).
    pub fn set_link(&mut self, name: &str, up: bool) {
        let Some(ifi) = self.iface_pos(name) else {
            return;
        };
        self.interfaces[ifi].link_up = up;
        for vi in 0..self.interfaces[ifi].vhids.len() {
            self.sc_state(ifi, vi);
        }
        self.devctl_notify(&format!(
            "!system=IFNET subsystem={name} type={}\n",
            if up { "LINK_UP" } else { "LINK_DOWN" }
        ));
    }

    /// The interface is destroyed (`if_detach`: its addresses are purged, which detaches and
    /// destroys its vhids).
    pub fn destroy_interface(&mut self, name: &str) {
        let Some(ifi) = self.iface_pos(name) else {
            return;
        };
        while let Some(pos) = self.interfaces[ifi].addrs.iter().position(|a| a.vhid != 0) {
            let a = self.interfaces[ifi].addrs.remove(pos);
            self.detach(ifi, a.vhid, false);
        }
        while !self.interfaces[ifi].vhids.is_empty() {
            self.destroy(ifi, 0);
        }
        self.interfaces.remove(ifi);
        self.note(format!("{name}: interface destroyed"));
    }

    /// pfsync's bulk update (if_pfsync.c): + `carp_demotion_factor` at the start, − at the end.
    pub fn pfsync_bulk(&mut self, start: bool) {
        let f = self.sysctl.pfsync_carp_demotion_factor;
        if start {
            self.demote_adj(f, "pfsync bulk start");
        } else {
            self.demote_adj(-f, "pfsync bulk done");
        }
    }

    /// devd restarts: connected clients see EOF and must reconnect.
    pub fn restart_devd(&mut self) {
        self.devd.generation += 1;
    }

    /// A reboot: every vhid, address on a vhid and demotion is gone; devd's queue empties;
    /// uptime starts again.
    pub fn reboot(&mut self) {
        for i in &mut self.interfaces {
            i.vhids.clear();
            i.addrs.retain(|a| a.vhid == 0);
        }
        self.sysctl = Sysctls::default();
        self.devd = Devd {
            path: std::mem::take(&mut self.devd.path),
            running: true,
            generation: self.devd.generation + 1,
            ..Devd::default()
        };
        self.booted_at = unix_now();
        self.note("reboot");
    }

    /// Move model time on by `secs` and run the timers.
    pub fn advance(&mut self, secs: f64) {
        self.clock += secs;
        self.run_timers();
    }

    /// The master-down timer of this BACKUP vhid fires now, whatever its time
    /// (`carp_master_down` → `carp_master_down_locked`).
    pub fn master_down(&mut self, name: &str, vhid: u8) {
        if let Some(ifi) = self.iface_pos(name)
            && let Some(vi) = self.vpos(ifi, vhid)
            && self.interfaces[ifi].vhids[vi].state == VState::Backup
        {
            self.set_state(ifi, vi, VState::Master, "master timed out");
        }
    }

    /// Bring the clock up to real time (scaled by `speed`) and run the timers and the
    /// election with the peers. Called on every request.
    pub fn tick(&mut self) {
        if self.speed > 0.0 {
            let now = unix_now();
            if now > self.real_at {
                self.clock += (now - self.real_at) * self.speed;
            }
            self.real_at = now;
        }
        self.run_timers();
    }

    /// Let model time follow real time, `speed` model seconds per second (0 = frozen).
    pub fn set_speed(&mut self, speed: f64) {
        self.speed = speed;
        self.real_at = unix_now();
    }

    /// `DEMOTE_ADVSKEW` (K14/K15: the skew plus the demotion, clamped to 0..240) as the time
    /// between adverts, in seconds.
    fn sent_interval(&self, v: &Vhid) -> f64 {
        let skew = (v.advskew.saturating_add(self.sysctl.demotion)).clamp(0, CARP_MAXSKEW);
        f64::from(v.advbase) + f64::from(skew) / 256.0
    }

    /// The master-down timeout (`carp_setrun`, BACKUP: 3 × advbase + advskew/256, the
    /// configured skew, no demotion).
    fn master_down_after(advbase: i32, advskew: i32) -> f64 {
        3.0 * f64::from(advbase) + f64::from(advskew) / 256.0
    }

    fn run_timers(&mut self) {
        for _round in 0..4 {
            let mut changed = false;
            for ifi in 0..self.interfaces.len() {
                for vi in 0..self.interfaces[ifi].vhids.len() {
                    changed |= self.elect(ifi, vi);
                }
            }
            if !changed {
                break;
            }
        }
    }

    /// One step of the election between this vhid and the peer on its segment, by the rules
    /// of `carp_input_c` (K14) and the master-down timers. Returns whether a state changed.
    fn elect(&mut self, ifi: usize, vi: usize) -> bool {
        let name = self.interfaces[ifi].name.clone();
        let v = self.interfaces[ifi].vhids[vi].clone();
        if v.version != CARP_VERSION_CARP {
            return false;
        }
        let ours = self.sent_interval(&v);
        let preempt = self.sysctl.preempt != 0;
        let clock = self.clock;
        let peer_pos = self
            .peers
            .iter()
            .position(|p| p.device == name && p.vhid == v.vhid && p.alive);
        let Some(pi) = peer_pos else {
            // Alone on the segment: a BACKUP's master-down timer runs out.
            if v.state == VState::Backup
                && self.speed > 0.0
                && clock - v.armed_at >= Self::master_down_after(v.advbase, v.advskew)
            {
                self.set_state(ifi, vi, VState::Master, "master timed out");
                return true;
            }
            return false;
        };
        let p = self.peers[pi].clone();
        let theirs = f64::from(p.advbase) + f64::from(p.advskew.clamp(0, CARP_MAXSKEW)) / 256.0;
        match (v.state, p.state) {
            // Our adverts reach the peer and theirs reach us.
            (VState::Master, VState::Master) => {
                if ours >= theirs {
                    self.set_state(
                        ifi,
                        vi,
                        VState::Backup,
                        "more frequent advertisement received",
                    );
                    self.interfaces[ifi].vhids[vi].armed_at = clock;
                }
                if theirs >= ours {
                    self.peers[pi].state = VState::Backup;
                    self.peers[pi].armed_at = clock;
                }
                true
            }
            (VState::Master, VState::Backup) if p.preempt && theirs < ours => {
                self.peers[pi].state = VState::Master;
                true
            }
            (VState::Backup, VState::Master) if preempt && ours < theirs => {
                self.set_state(ifi, vi, VState::Master, "preempting a slower master");
                true
            }
            (VState::Backup, VState::Master) => {
                self.interfaces[ifi].vhids[vi].armed_at = clock;
                false
            }
            (VState::Backup, VState::Backup) if self.speed > 0.0 => {
                let us_at = v.armed_at + Self::master_down_after(v.advbase, v.advskew);
                let them_at = p.armed_at + Self::master_down_after(p.advbase, p.advskew);
                if clock >= us_at.min(them_at) {
                    if us_at <= them_at {
                        self.set_state(ifi, vi, VState::Master, "master timed out");
                    } else {
                        self.peers[pi].state = VState::Master;
                    }
                    return true;
                }
                false
            }
            (VState::Init, VState::Backup) if self.speed > 0.0 => {
                if clock - p.armed_at >= Self::master_down_after(p.advbase, p.advskew) {
                    self.peers[pi].state = VState::Master;
                    return true;
                }
                false
            }
            _ => false,
        }
    }

    /// Add (or replace) the other node on a vhid's segment.
    pub fn set_peer(&mut self, peer: Peer) {
        self.peers
            .retain(|p| !(p.device == peer.device && p.vhid == peer.vhid));
        self.peers.push(peer);
        self.run_timers();
    }

    /// The kernel's state of one vhid as a test reads it.
    pub fn state_of(&self, name: &str, vhid: u8) -> Option<VState> {
        self.vhid(name, vhid).map(|v| v.state)
    }

    /// The devctl lines queued so far.
    pub fn devd_lines(&self) -> Vec<String> {
        self.devd.events.iter().map(|(_, l)| l.clone()).collect()
    }
}

impl Peer {
    /// A BACKUP peer with the given timing.
    pub fn backup(device: &str, vhid: u8, advskew: i32, preempt: bool) -> Peer {
        Peer {
            device: device.into(),
            vhid,
            advbase: 1,
            advskew,
            preempt,
            state: VState::Backup,
            alive: true,
            armed_at: 0.0,
        }
    }
}
