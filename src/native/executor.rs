//! [`Kernel`]: the native engine's hands on carp(4) — read the kernel into a [`KernelState`],
//! carry out a [`Plan`] step by step with a read-back after each write, carry out operator
//! [`Action`]s. Everything here is plain Rust over [`Sys`], so it runs on Linux in the tests
//! against a model of the kernel, and on FreeBSD over `platform::freebsd::FreeBsd`.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use super::ApplyError;
use super::abi::{self, SIOCAIFADDR, SIOCAIFADDR_IN6, SIOCDIFADDR, SIOCDIFADDR_IN6};
use super::carpctl::{CarpCtl, CarpError};
use super::errno::{self, Errno};
use super::genl::{CARP_VERSION_VRRPV3, CarpInfo, CarpSet, CarpStateReq, VrrpSet};
use super::ifaddrs;
use super::kernel::{
    KernelInterface, KernelState, KernelVhid, KernelVrrp, MCAST_PEER, MCAST_PEER6,
};
use super::ops::Action;
use super::plan::{Plan, Step};
use super::sys::{Family, Sys};
use super::sysctl::{self, SysctlError};
use crate::config::IpPrefix;
use crate::control::ForcedState;
use crate::proto::State;

#[derive(Debug, thiserror::Error)]
pub enum KernelError {
    #[error("getifaddrs: {0}")]
    Ifaddrs(Errno),
    #[error(transparent)]
    Carp(#[from] CarpError),
    #[error(transparent)]
    Sysctl(#[from] SysctlError),
    #[error("{what}: {errno}")]
    Address { what: String, errno: Errno },
    #[error("{0}")]
    ReadBack(String),
    #[error("vhid {vhid} does not exist on {device}")]
    NoVhid { device: String, vhid: u8 },
    #[error("carp GET {device}: {reason}")]
    Malformed { device: String, reason: String },
    #[error("interface name {0:?} is not valid (1..15 bytes)")]
    BadName(String),
    #[error("clock_gettime(CLOCK_UPTIME): {0}")]
    Uptime(Errno),
}

/// The kernel, through its syscalls.
#[derive(Clone)]
pub struct Kernel {
    sys: Arc<dyn Sys>,
    /// carp(4) applies the demotion to VRRPv3 priorities itself (see
    /// [`KernelState::demotes_vrrp`]); netlink cannot tell, so the operator says.
    demotes_vrrp: bool,
}

impl std::fmt::Debug for Kernel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Kernel")
    }
}

fn state_of(raw: u32) -> Option<State> {
    match raw {
        0 => Some(State::Init),
        1 => Some(State::Backup),
        2 => Some(State::Master),
        _ => None,
    }
}

/// A GET record as the snapshot holds it; out-of-range values are a malformed answer.
fn vhid_of(device: &str, i: CarpInfo) -> Result<KernelVhid, KernelError> {
    let bad = |reason: String| KernelError::Malformed {
        device: device.to_string(),
        reason,
    };
    let vhid = u8::try_from(i.vhid)
        .ok()
        .filter(|v| *v != 0)
        .ok_or_else(|| bad(format!("vhid {}", i.vhid)))?;
    let state = state_of(i.state).ok_or_else(|| bad(format!("{vhid}: state {}", i.state)))?;
    let byte = |what: &str, v: i32| u8::try_from(v).map_err(|_| bad(format!("{vhid}: {what} {v}")));
    // K15 `carp_nl_send`: a VRRPv3 vhid reports VERSION 3 with its priority and interval and
    // none of CARP's timing; anything else with a version is not a kernel we know.
    let vrrp = match (i.version, i.vrrp_priority, i.vrrp_adv_inter) {
        (2, _, _) => None,
        (3, Some(priority), Some(interval_cs)) => Some(KernelVrrp {
            priority,
            interval_cs,
        }),
        (3, _, _) => return Err(bad(format!("{vhid}: VRRPv3 without priority or interval"))),
        (v, _, _) => return Err(bad(format!("{vhid}: version {v}"))),
    };
    Ok(KernelVhid {
        vhid,
        advbase: byte("advbase", i.advbase)?,
        advskew: byte("advskew", i.advskew)?,
        state,
        key_set: i.key_set,
        peer: i.peer.filter(|p| *p != MCAST_PEER && !p.is_unspecified()),
        peer6: i.peer6.filter(|p| *p != MCAST_PEER6 && !p.is_unspecified()),
        vrrp,
    })
}

/// The VRRPv3 settings to send back in a read-modify-write SET of `i` (a SET without them
/// would address the vhid as CARP, which a VRRPv3 vhid refuses).
fn vrrp_of(i: &CarpInfo) -> Option<VrrpSet> {
    (i.version == CARP_VERSION_VRRPV3).then(|| VrrpSet {
        priority: i.vrrp_priority.unwrap_or(0),
        interval_cs: i.vrrp_adv_inter.unwrap_or(0),
    })
}

impl Kernel {
    pub fn new(sys: Arc<dyn Sys>) -> Kernel {
        Kernel {
            sys,
            demotes_vrrp: false,
        }
    }

    /// The same kernel, known to lower VRRPv3 priorities by the demotion itself (or not).
    pub fn demoting_vrrp(self, demotes_vrrp: bool) -> Kernel {
        Kernel {
            demotes_vrrp,
            ..self
        }
    }

    pub fn sys(&self) -> &Arc<dyn Sys> {
        &self.sys
    }

    /// carp(4) is loaded: `net.inet.carp.allow` exists.
    pub fn carp_loaded(&self) -> bool {
        sysctl::carp_loaded(&*self.sys)
    }

    /// `net.inet.carp.demotion` alone (the daemon looks at it every second).
    pub fn demotion(&self) -> Result<i32, KernelError> {
        Ok(sysctl::read_int(&*self.sys, &sysctl::full("demotion"))?)
    }

    /// Whether `ifname` is up (IFF_UP) with carrier (`LINK_STATE_UP`), as carp(4) wants its
    /// parent (`carp_sc_state()` in ip_carp.c); `None` when getifaddrs does not list it.
    pub fn link_up(&self, ifname: &str) -> Result<Option<bool>, KernelError> {
        let links = ifaddrs::links(&self.sys.getifaddrs().map_err(KernelError::Ifaddrs)?);
        Ok(links.get(ifname).filter(|l| l.if_type.is_some()).map(|l| {
            l.flags & super::abi::IFF_UP != 0 && l.link_state == super::abi::LINK_STATE_UP
        }))
    }

    pub fn uptime(&self) -> Result<f64, KernelError> {
        self.sys.uptime().map_err(KernelError::Uptime)
    }

    /// Every interface's addresses (with their vhid) and vhids, and the carp sysctls. Only
    /// interfaces of a type carp(4) can carry are asked for vhids.
    pub fn observe(&self) -> Result<KernelState, KernelError> {
        let sys = &*self.sys;
        let links = ifaddrs::links(&sys.getifaddrs().map_err(KernelError::Ifaddrs)?);
        let mut carp = CarpCtl::open(sys)?;
        let mut interfaces = BTreeMap::new();
        for (dev, link) in links {
            let mut vhids = Vec::new();
            if link.may_have_vhids() {
                for info in carp.get_all(&dev)? {
                    vhids.push(vhid_of(&dev, info)?);
                }
            }
            interfaces.insert(
                dev,
                KernelInterface {
                    vhids,
                    addresses: link.addresses,
                },
            );
        }
        Ok(KernelState {
            interfaces,
            sysctl: sysctl::read_carp(sys)?,
            osreldate: Some(sysctl::osreldate(sys)?),
            demotes_vrrp: self.demotes_vrrp,
        })
    }

    /// Run the plan's steps in order; the first failure stops it. Returns the indices of the
    /// steps applied.
    pub fn execute(&self, plan: &Plan) -> Result<Vec<usize>, ApplyError> {
        let total = plan.steps.len();
        let mut applied = Vec::new();
        // Opened on first use: plans that only touch addresses or sysctls never need it.
        let mut carp: Option<CarpCtl<'_>> = None;
        for (index, step) in plan.steps.iter().enumerate() {
            if let Err(e) = self.run_step(&mut carp, step) {
                return Err(ApplyError {
                    index,
                    total,
                    command: step.command(),
                    reason: e.to_string(),
                    applied: applied
                        .iter()
                        .map(|i: &usize| plan.steps[*i].command())
                        .collect(),
                });
            }
            applied.push(index);
        }
        Ok(applied)
    }

    fn run_step<'a>(
        &'a self,
        carp: &mut Option<CarpCtl<'a>>,
        step: &Step,
    ) -> Result<(), KernelError> {
        match step {
            Step::SetVhid {
                device,
                vhid,
                advbase,
                advskew,
                key,
                ..
            } => {
                let c = open(&*self.sys, carp)?;
                c.set(&CarpSet {
                    ifname: device.clone(),
                    vhid: *vhid,
                    advbase: *advbase,
                    advskew: *advskew,
                    key: key.clone(),
                    peer: None,
                    peer6: None,
                    state: None,
                    vrrp: None,
                })?;
                let now = read_back(c, device, *vhid)?;
                if now.advbase != i32::from(*advbase)
                    || now.advskew != i32::from(*advskew)
                    || (key.is_some() && !now.key_set)
                {
                    return Err(KernelError::ReadBack(format!(
                        "the kernel reports {vhid}@{device} with advbase {} advskew {}{} after the write",
                        now.advbase,
                        now.advskew,
                        if key.is_some() && !now.key_set {
                            " and no key"
                        } else {
                            ""
                        }
                    )));
                }
                Ok(())
            }
            Step::SetVrrp {
                device,
                vhid,
                priority,
                interval_cs,
                ..
            } => {
                let c = open(&*self.sys, carp)?;
                c.set(&CarpSet {
                    ifname: device.clone(),
                    vhid: *vhid,
                    advbase: 0,
                    advskew: 0,
                    key: None,
                    peer: None,
                    peer6: None,
                    state: None,
                    vrrp: Some(VrrpSet {
                        priority: *priority,
                        interval_cs: *interval_cs,
                    }),
                })?;
                let now = vhid_of(device, read_back(c, device, *vhid)?)?;
                let want = KernelVrrp {
                    priority: *priority,
                    interval_cs: *interval_cs,
                };
                if now.vrrp != Some(want) {
                    return Err(KernelError::ReadBack(match now.vrrp {
                        None => format!(
                            "the kernel reports {vhid}@{device} as CARP after a VRRPv3 write: \
                             this carp(4) has no VRRP mode"
                        ),
                        Some(v) => format!(
                            "the kernel reports {vhid}@{device} with VRRP priority {} interval {} cs after the write",
                            v.priority, v.interval_cs
                        ),
                    }));
                }
                Ok(())
            }
            Step::SetPeers {
                device,
                vhid,
                peer,
                peer6,
            } => {
                let c = open(&*self.sys, carp)?;
                // Read-modify-write: a SET without advskew would reset it to 0.
                let cur = read_back(c, device, *vhid)?;
                c.set(&CarpSet {
                    ifname: device.clone(),
                    vhid: *vhid,
                    advbase: timing_byte(cur.advbase),
                    advskew: timing_byte(cur.advskew),
                    key: None,
                    peer: Some(peer.unwrap_or(MCAST_PEER)),
                    peer6: Some(peer6.unwrap_or(MCAST_PEER6)),
                    state: None,
                    vrrp: None,
                })?;
                let now = vhid_of(device, read_back(c, device, *vhid)?)?;
                if (now.peer, now.peer6) != (*peer, *peer6) {
                    return Err(KernelError::ReadBack(format!(
                        "the kernel reports {vhid}@{device} with peers {} / {} after the write",
                        peer_word(now.peer.map(IpAddr::V4)),
                        peer_word(now.peer6.map(IpAddr::V6)),
                    )));
                }
                Ok(())
            }
            Step::AddAddress {
                device,
                address,
                vhid,
            } => {
                self.add_address(device, *address, *vhid)?;
                let links = ifaddrs::links(&self.sys.getifaddrs().map_err(KernelError::Ifaddrs)?);
                let bound = links.get(device).is_some_and(|l| {
                    l.addresses
                        .iter()
                        .any(|a| a.address == address.addr && a.vhid == Some(*vhid))
                });
                if !bound {
                    return Err(KernelError::ReadBack(format!(
                        "{address} is not on {device} with vhid {vhid} after the write"
                    )));
                }
                Ok(())
            }
            Step::RemoveAddress {
                device, address, ..
            } => self.remove_address(device, *address),
            Step::Sysctl {
                name,
                value,
                additive,
            } => {
                let full = sysctl::full(name);
                sysctl::write_int(&*self.sys, &full, *value)?;
                if !additive {
                    let now = sysctl::read_int(&*self.sys, &full)?;
                    if now != *value {
                        return Err(KernelError::ReadBack(format!(
                            "{full} reads {now} after writing {value}"
                        )));
                    }
                }
                Ok(())
            }
        }
    }

    fn name(dev: &str) -> Result<[u8; abi::IFNAMSIZ], KernelError> {
        abi::ifname(dev).ok_or_else(|| KernelError::BadName(dev.to_string()))
    }

    /// SIOCAIFADDR(_IN6) with `ifra_vhid`: the vhid must exist (`carp_attach()` answers
    /// ENOENT otherwise).
    fn add_address(&self, dev: &str, prefix: IpPrefix, vhid: u8) -> Result<(), KernelError> {
        let name = Self::name(dev)?;
        let result = match prefix.addr {
            IpAddr::V4(a) => self.sys.ioctl(
                Family::Inet,
                SIOCAIFADDR,
                &mut abi::in_aliasreq(&name, a, prefix.prefix, vhid),
            ),
            IpAddr::V6(a) => self.sys.ioctl(
                Family::Inet6,
                SIOCAIFADDR_IN6,
                &mut abi::in6_aliasreq(&name, a, prefix.prefix, vhid),
            ),
        };
        result.map_err(|errno| KernelError::Address {
            what: format!("adding {prefix} vhid {vhid} to {dev}"),
            errno,
        })
    }

    /// SIOCDIFADDR(_IN6). An address that is already gone (EADDRNOTAVAIL from
    /// `in_difaddr_ioctl()` / `in6_control()`) is what the step wanted. Removing a vhid's last
    /// address destroys the vhid (`carp_detach()` → `carp_destroy()`).
    fn remove_address(&self, dev: &str, addr: IpAddr) -> Result<(), KernelError> {
        let name = Self::name(dev)?;
        let result = match addr {
            IpAddr::V4(a) => {
                self.sys
                    .ioctl(Family::Inet, SIOCDIFADDR, &mut abi::ifreq_addr(&name, a))
            }
            IpAddr::V6(a) => self.sys.ioctl(
                Family::Inet6,
                SIOCDIFADDR_IN6,
                &mut abi::in6_ifreq(&name, a),
            ),
        };
        match result {
            Err(e) if e == errno::EADDRNOTAVAIL => Ok(()),
            other => other.map_err(|errno| KernelError::Address {
                what: format!("removing {addr} from {dev}"),
                errno,
            }),
        }
    }

    /// Carry out one operator action (`carpd maintenance|demote|state|disable|enable`).
    pub fn run_action(&self, action: &Action) -> Result<(), KernelError> {
        let sys = &*self.sys;
        match action {
            // The kernel adds the written value to its total (`carp_demote_adj_sysctl`).
            Action::Demotion { delta } => {
                Ok(sysctl::write_int(sys, &sysctl::full("demotion"), *delta)?)
            }
            Action::Allow { allow } => {
                let full = sysctl::full("allow");
                sysctl::write_int(sys, &full, i32::from(*allow))?;
                let now = sysctl::read_int(sys, &full)?;
                if (now != 0) != *allow {
                    return Err(KernelError::ReadBack(format!(
                        "{full} reads {now} after the write"
                    )));
                }
                Ok(())
            }
            Action::SetState {
                device,
                vhid,
                state,
                ..
            } => {
                let mut c = CarpCtl::open(sys)?;
                // A SET without advskew would reset it to 0: send the current values back.
                let cur = read_back(&mut c, device, *vhid)?;
                c.set(&CarpSet {
                    ifname: device.clone(),
                    vhid: *vhid,
                    advbase: timing_byte(cur.advbase),
                    advskew: timing_byte(cur.advskew),
                    key: None,
                    peer: None,
                    peer6: None,
                    state: Some(match state {
                        ForcedState::Backup => CarpStateReq::Backup,
                        ForcedState::Master => CarpStateReq::Master,
                    }),
                    vrrp: vrrp_of(&cur),
                })?;
                Ok(())
            }
        }
    }
}

fn open<'a, 'b>(
    sys: &'a dyn Sys,
    carp: &'b mut Option<CarpCtl<'a>>,
) -> Result<&'b mut CarpCtl<'a>, KernelError> {
    let c = match carp.take() {
        Some(c) => c,
        None => CarpCtl::open(sys)?,
    };
    Ok(carp.insert(c))
}

/// The vhid as the kernel has it now; missing is an error.
fn read_back(c: &mut CarpCtl<'_>, device: &str, vhid: u8) -> Result<CarpInfo, KernelError> {
    c.get(device, vhid)?.ok_or_else(|| KernelError::NoVhid {
        device: device.to_string(),
        vhid,
    })
}

/// advbase/advskew as read (0..255 on every kernel) back into a SET.
fn timing_byte(v: i32) -> u8 {
    u8::try_from(v).unwrap_or(0)
}

fn peer_word(p: Option<IpAddr>) -> String {
    p.map_or("multicast".into(), |p| p.to_string())
}
