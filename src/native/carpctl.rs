//! carp(4)'s control interface: generic netlink on FreeBSD 14 and later, SIOCGVH/SIOCSVH only
//! where the netlink `carp` family is really absent (FreeBSD 13).
//!
//! The choice ([`CarpCtl::open`]):
//! * `socket(AF_NETLINK)` fails with EAFNOSUPPORT (no netlink domain: 13.x without the
//!   netlink module; `socreate()` in `sys/kern/uipc_socket.c`) or EPROTONOSUPPORT → ioctl;
//! * nlctrl answers ENOENT for "carp" (netlink present, carp without its family: 13.2+) →
//!   ioctl;
//! * anything else — a timeout, EPERM, a malformed answer — is an error, never a fallback:
//!   14.x's SIOCGVH listing copies every record from one on-stack `struct carpreq` (the last
//!   vhid in slot 0, kernel stack bytes after it: `carp_ioctl()` in `sys/netinet/ip_carp.c`,
//!   14 and 15), and FreeBSD main retired the ioctls (72472e52, 2026-03-12).
//!
//! Which answers mean "this interface has no vhid" ([`no_vhids`]): ENOENT (no carp on it, in the
//! dump's NLMSG_DONE or from SIOCGVH), EOPNOTSUPP (a type carp(4) cannot carry:
//! `carp_is_supported_if()`), EADDRNOTAVAIL (no IFF_MULTICAST, ioctl path) and ENXIO (the
//! interface went away between getifaddrs and the question). Every other errno — ENOMEM from a
//! failed dump, EPERM — is an error: an empty list would make the planner re-create vhids that
//! exist.

use super::abi::{self, CarpReq, netlink::*};
use super::errno::{self, Errno};
use super::genl::{self, CarpInfo, CarpSet};
use super::kernel::{MCAST_PEER, MCAST_PEER6};
use super::nl::{NlConn, NlError, Until};
use super::sys::Sys;

#[derive(Debug, thiserror::Error)]
pub enum CarpError {
    #[error("carp(4)'s netlink interface: {0}")]
    Netlink(#[from] NlError),
    #[error("cannot open a netlink socket: {0}")]
    Socket(Errno),
    #[error("{what}: {errno}")]
    Ioctl { what: String, errno: Errno },
    #[error("{what}: malformed answer ({reason})")]
    Malformed { what: String, reason: String },
    #[error(
        "unicast peers need carp(4)'s netlink interface (FreeBSD 14 or later); this kernel only \
         has the ioctl: remove the peer from the VIP or upgrade"
    )]
    PeersNeedNetlink,
    #[error(
        "VRRPv3 vhids need carp(4)'s netlink interface with its VRRP mode (FreeBSD 15); this \
         kernel only has the ioctl"
    )]
    VrrpNeedsNetlink,
    #[error("interface name {0:?} is not valid (1..15 bytes)")]
    BadName(String),
}

impl CarpError {
    /// The kernel's errno, when the kernel said no.
    pub fn errno(&self) -> Option<Errno> {
        match self {
            CarpError::Netlink(e) => e.kernel_errno(),
            CarpError::Ioctl { errno, .. } => Some(*errno),
            _ => None,
        }
    }
}

/// Errnos that mean "no vhid on this interface" (see the module notes).
pub fn no_vhids(e: Errno) -> bool {
    [
        errno::ENOENT,
        errno::EOPNOTSUPP,
        errno::EADDRNOTAVAIL,
        errno::ENXIO,
    ]
    .contains(&e)
}

enum Api {
    Netlink { conn: NlConn, family: u16 },
    Ioctl,
}

pub struct CarpCtl<'a> {
    sys: &'a dyn Sys,
    api: Api,
}

impl<'a> CarpCtl<'a> {
    pub fn open(sys: &'a dyn Sys) -> Result<CarpCtl<'a>, CarpError> {
        let api = match NlConn::open(sys) {
            Err(e) if e == errno::EAFNOSUPPORT || e == errno::EPROTONOSUPPORT => Api::Ioctl,
            Err(e) => return Err(CarpError::Socket(e)),
            Ok(mut conn) => match conn.family(CARP_NL_FAMILY_NAME)? {
                Some(family) => Api::Netlink { conn, family },
                None => Api::Ioctl,
            },
        };
        Ok(CarpCtl { sys, api })
    }

    /// `netlink` or `ioctl`, for logs.
    pub fn api_name(&self) -> &'static str {
        match self.api {
            Api::Netlink { .. } => "netlink",
            Api::Ioctl => "ioctl",
        }
    }

    /// Every vhid on `ifname`; empty when the interface has none or cannot have any.
    pub fn get_all(&mut self, ifname: &str) -> Result<Vec<CarpInfo>, CarpError> {
        let result = match &mut self.api {
            Api::Netlink { conn, family } => {
                let family = *family;
                let what = format!("carp GET {ifname}");
                conn.request(&what, Until::Done, |seq| {
                    genl::carp_get_request(family, seq, ifname)
                })
                .map_err(CarpError::from)
                .and_then(|replies| {
                    replies
                        .iter()
                        .map(|p| {
                            genl::parse_carp_info(p).map_err(|e| CarpError::Malformed {
                                what: what.clone(),
                                reason: e.to_string(),
                            })
                        })
                        .collect()
                })
            }
            Api::Ioctl => ioctl_get_all(self.sys, ifname),
        };
        match result {
            Err(e) if e.errno().is_some_and(no_vhids) => Ok(Vec::new()),
            other => other,
        }
    }

    /// One vhid, `None` when the interface does not have it.
    pub fn get(&mut self, ifname: &str, vhid: u8) -> Result<Option<CarpInfo>, CarpError> {
        Ok(self
            .get_all(ifname)?
            .into_iter()
            .find(|i| i.vhid == u32::from(vhid)))
    }

    pub fn set(&mut self, set: &CarpSet) -> Result<(), CarpError> {
        match &mut self.api {
            Api::Netlink { conn, family } => {
                let family = *family;
                let what = format!("carp SET {}@{}", set.vhid, set.ifname);
                conn.request(&what, Until::Ack, |seq| {
                    genl::carp_set_request(family, seq, set)
                })?;
                Ok(())
            }
            Api::Ioctl => {
                let unicast = set.peer.is_some_and(|p| p != MCAST_PEER)
                    || set.peer6.is_some_and(|p| p != MCAST_PEER6);
                if unicast {
                    return Err(CarpError::PeersNeedNetlink);
                }
                if set.vrrp.is_some() {
                    return Err(CarpError::VrrpNeedsNetlink);
                }
                ioctl_set(self.sys, set)
            }
        }
    }
}

fn name_of(ifname: &str) -> Result<[u8; abi::IFNAMSIZ], CarpError> {
    abi::ifname(ifname).ok_or_else(|| CarpError::BadName(ifname.to_string()))
}

/// SIOCGVH with vhid 0: every vhid, `carpr_count` = room for CARP_MAXVHID records on the way
/// in and the number of vhids in each copied record on the way out (13's inline SIOCGVH in
/// `carp_ioctl()`). A record with vhid 0 was not written: the list ends there.
fn ioctl_get_all(sys: &dyn Sys, ifname: &str) -> Result<Vec<CarpInfo>, CarpError> {
    let what = format!("SIOCGVH {ifname}");
    let mut data = vec![0u8; abi::CARP_MAXVHID * abi::CARPREQ_SIZE];
    let ask = CarpReq {
        count: abi::CARP_MAXVHID as i32,
        ..CarpReq::default()
    };
    data[..abi::CARPREQ_SIZE].copy_from_slice(&ask.to_bytes());
    sys.ioctl_ifr_data(abi::SIOCGVH, &name_of(ifname)?, &mut data)
        .map_err(|errno| CarpError::Ioctl {
            what: what.clone(),
            errno,
        })?;
    decode_siocgvh(&data).map_err(|reason| CarpError::Malformed { what, reason })
}

/// The records SIOCGVH copied out: `carpr_count` of the first record says how many; a
/// record with vhid 0 was not written and ends the list; a vhid out of range or listed twice
/// is a malformed answer.
pub fn decode_siocgvh(data: &[u8]) -> Result<Vec<CarpInfo>, String> {
    let first = CarpReq::from_bytes(data).ok_or("shorter than one record")?;
    let count = usize::try_from(first.count)
        .map_err(|_| format!("count {}", first.count))?
        .min(abi::CARP_MAXVHID);
    let mut out: Vec<CarpInfo> = Vec::new();
    for rec in data.chunks_exact(abi::CARPREQ_SIZE).take(count) {
        let r = CarpReq::from_bytes(rec).unwrap_or_default();
        if r.vhid == 0 {
            break;
        }
        let vhid = u8::try_from(r.vhid).map_err(|_| format!("vhid {}", r.vhid))?;
        if out.iter().any(|i| i.vhid == u32::from(vhid)) {
            return Err(format!("vhid {vhid} listed twice"));
        }
        out.push(CarpInfo {
            vhid: u32::from(vhid),
            state: r.state as u32,
            advbase: r.advbase,
            advskew: r.advskew,
            key_set: r.key.iter().any(|b| *b != 0),
            peer: None,
            peer6: None,
            version: 2,
            vrrp_priority: None,
            vrrp_adv_inter: None,
        });
    }
    Ok(out)
}

/// SIOCSVH with one `struct carpreq`: the ioctl knows no peers (13 has none).
fn ioctl_set(sys: &dyn Sys, set: &CarpSet) -> Result<(), CarpError> {
    let req = CarpReq {
        count: 0,
        vhid: i32::from(set.vhid),
        // 0 (INIT) = leave the state alone (`carp_ioctl_set()`).
        state: set.state.map_or(0, |s| s.raw() as i32),
        advskew: i32::from(set.advskew),
        advbase: i32::from(set.advbase),
        key: set.key.as_ref().map_or([0; abi::CARP_KEY_LEN], |k| k.0),
    };
    let mut data = req.to_bytes();
    sys.ioctl_ifr_data(abi::SIOCSVH, &name_of(&set.ifname)?, &mut data)
        .map_err(|errno| CarpError::Ioctl {
            what: format!("SIOCSVH {}@{}", set.vhid, set.ifname),
            errno,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(count: i32, vhid: i32) -> Vec<u8> {
        CarpReq {
            count,
            vhid,
            state: 1,
            advskew: 0,
            advbase: 1,
            key: [0; 20],
        }
        .to_bytes()
        .to_vec()
    }

    #[test]
    fn siocgvh_records_decode_and_reject_nonsense() {
        let mut two = rec(2, 1);
        two.extend(rec(2, 2));
        assert_eq!(decode_siocgvh(&two).unwrap().len(), 2);
        // Nothing copied out: our own request (count 255, vhid 0) is still there.
        assert!(decode_siocgvh(&rec(255, 0)).unwrap().is_empty());
        let mut dup = rec(2, 3);
        dup.extend(rec(2, 3));
        assert!(decode_siocgvh(&dup).is_err());
        assert!(decode_siocgvh(&rec(1, 300)).is_err());
        assert!(decode_siocgvh(&rec(-1, 1)).is_err());
        assert!(decode_siocgvh(&[0; 10]).is_err());
        assert!(no_vhids(errno::EOPNOTSUPP) && !no_vhids(errno::ENOMEM));
    }
}
