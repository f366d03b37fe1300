//! carp(4) control: generic netlink on FreeBSD 14+, SIOCGVH/SIOCSVH on 13.

use socket2::{Domain, Socket, Type};
use std::os::fd::AsRawFd;

use super::nl::{NlSocket, Until};
use super::{FreebsdError, io_err};
use crate::native::abi::{self, CarpReq, IfReqData};
use crate::native::genl::{self, CarpInfo, CarpSet, GenlError};
use crate::native::kernel::{MCAST_PEER, MCAST_PEER6};

/// ENOENT from a GET: the interface has no carp at all.
const ENOENT: i32 = libc::ENOENT;
/// The most vhids one interface can hold (`CARP_MAXVHID`) plus one.
const MAX_VHIDS: usize = 256;

pub enum Carp {
    Netlink { sock: NlSocket, family: u16 },
    Ioctl { sock: Socket },
}

impl Carp {
    /// Netlink when the `carp` family is registered, else the ioctl.
    pub fn open() -> Result<Carp, FreebsdError> {
        // Any netlink failure (no AF_NETLINK before 14, family not registered) means the
        // ioctl, which every FreeBSD since 10 has.
        if let Ok(mut sock) = NlSocket::open()
            && let Ok(family) = sock.family(abi::netlink::CARP_NL_FAMILY_NAME)
        {
            return Ok(Carp::Netlink { sock, family });
        }
        let sock =
            Socket::new(Domain::IPV4, Type::DGRAM, None).map_err(io_err("carp ioctl socket"))?;
        Ok(Carp::Ioctl { sock })
    }

    /// Every vhid on `ifname`; none when the interface has no carp.
    pub fn get_all(&mut self, ifname: &str) -> Result<Vec<CarpInfo>, FreebsdError> {
        match self {
            Carp::Netlink { sock, family } => {
                let family = *family;
                let what = format!("carp GET {ifname}");
                let replies = match sock.request(&what, Until::Done, |seq| {
                    genl::carp_get_request(family, seq, ifname)
                }) {
                    Ok(r) => r,
                    Err(FreebsdError::Netlink {
                        source: GenlError::Errno(ENOENT, _),
                        ..
                    }) => return Ok(Vec::new()),
                    Err(e) => return Err(e),
                };
                replies
                    .iter()
                    .map(|p| {
                        genl::parse_carp_info(p).map_err(|source| FreebsdError::Netlink {
                            what: what.clone(),
                            source,
                        })
                    })
                    .collect()
            }
            Carp::Ioctl { sock } => ioctl_get_all(sock, ifname),
        }
    }

    pub fn set(&mut self, set: &CarpSet) -> Result<(), FreebsdError> {
        match self {
            Carp::Netlink { sock, family } => {
                let family = *family;
                let what = format!("carp SET {}@{}", set.vhid, set.ifname);
                sock.request(&what, Until::Ack, |seq| {
                    genl::carp_set_request(family, seq, set)
                })?;
                Ok(())
            }
            Carp::Ioctl { sock } => {
                let unicast = set.peer.is_some_and(|p| p != MCAST_PEER)
                    || set.peer6.is_some_and(|p| p != MCAST_PEER6);
                if unicast {
                    return Err(FreebsdError::PeersNeedNetlink);
                }
                ioctl_set(sock, set)
            }
        }
    }
}

fn ifreq_for(ifname: &str, data: *mut core::ffi::c_void) -> Result<IfReqData, FreebsdError> {
    Ok(IfReqData {
        ifr_name: abi::ifname(ifname).ok_or_else(|| FreebsdError::BadName(ifname.to_string()))?,
        ifr_data: data,
        _union_rest: [0; 8],
    })
}

fn ioctl_get_all(sock: &Socket, ifname: &str) -> Result<Vec<CarpInfo>, FreebsdError> {
    let mut reqs = vec![CarpReq::default(); MAX_VHIDS];
    // vhid 0 = all; count = room in the buffer.
    reqs[0].carpr_count = MAX_VHIDS as i32;
    let mut ifr = ifreq_for(ifname, reqs.as_mut_ptr().cast())?;
    // SAFETY: SIOCGVH reads the 32-byte ifreq (layout asserted in native::abi tests) and writes
    // at most `carpr_count` (= reqs.len()) carpreqs to ifr_data, which points at `reqs`; both
    // outlive the call.
    let rc = unsafe {
        libc::ioctl(
            sock.as_raw_fd(),
            abi::SIOCGVH as libc::c_ulong,
            &mut ifr as *mut IfReqData,
        )
    };
    if rc < 0 {
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() == Some(ENOENT) {
            return Ok(Vec::new());
        }
        return Err(io_err(format!("SIOCGVH {ifname}"))(e));
    }
    let count = usize::try_from(reqs[0].carpr_count)
        .unwrap_or(0)
        .min(MAX_VHIDS);
    Ok(reqs[..count]
        .iter()
        .map(|r| CarpInfo {
            vhid: r.carpr_vhid as u32,
            state: r.carpr_state as u32,
            advbase: r.carpr_advbase,
            advskew: r.carpr_advskew,
            key_set: r.carpr_key.iter().any(|b| *b != 0),
            peer: None,
            peer6: None,
            version: 2,
        })
        .collect())
}

fn ioctl_set(sock: &Socket, set: &CarpSet) -> Result<(), FreebsdError> {
    let req = CarpReq {
        carpr_count: 0,
        carpr_vhid: i32::from(set.vhid),
        // 0 (INIT) = leave the state alone (carp-spec §3.4).
        carpr_state: set.state.map_or(0, |s| s.raw() as i32),
        carpr_advskew: i32::from(set.advskew),
        carpr_advbase: i32::from(set.advbase),
        carpr_key: set.key.as_ref().map_or([0; abi::CARP_KEY_LEN], |k| k.0),
    };
    let mut ifr = ifreq_for(&set.ifname, (&req as *const CarpReq).cast_mut().cast())?;
    // SAFETY: SIOCSVH reads the ifreq and the one 40-byte carpreq its ifr_data points at; both
    // live on this stack frame for the whole call.
    let rc = unsafe {
        libc::ioctl(
            sock.as_raw_fd(),
            abi::SIOCSVH as libc::c_ulong,
            &mut ifr as *mut IfReqData,
        )
    };
    if rc < 0 {
        return Err(io_err(format!("SIOCSVH {}@{}", set.vhid, set.ifname))(
            std::io::Error::last_os_error(),
        ));
    }
    Ok(())
}
