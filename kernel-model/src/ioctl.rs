//! The ioctls carpd issues, decoded from their bytes with the model's own reading of the C
//! headers (`sys/sys/sockio.h`, `sys/netinet/in_var.h`, `sys/netinet6/in6_var.h`,
//! `sys/netinet/ip_carp.h`) and handed to [`Kernel`].

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::errno::*;
use crate::kernel::{CARP_VERSION_CARP, Fault, IFF_MULTICAST, Kernel, Release, SetReq, Vhid};

/// `_IOC(inout, 'i', num, len)` (sys/sys/ioccom.h).
const fn ioc(inout: u64, num: u64, len: u64) -> u64 {
    inout | ((len & 0x1fff) << 16) | ((b'i' as u64) << 8) | num
}
const IOC_IN: u64 = 0x8000_0000;
const IOC_INOUT: u64 = 0xc000_0000;

/// `sizeof(struct ifreq)`: 16-byte name + 16-byte union.
const IFREQ: u64 = 32;
/// `sizeof(struct in_aliasreq)`: name, addr, broadaddr, mask (16 each), int vhid.
const IN_ALIASREQ: u64 = 16 + 3 * 16 + 4;
/// `sizeof(struct in6_aliasreq)`: name, three sockaddr_in6 (28), int flags, lifetime (2 ×
/// time_t + 2 × u32 = 24, 8-aligned at 104), int vhid at 128, and tail padding to the 8-byte
/// alignment the time_t gives the struct.
const IN6_ALIASREQ: u64 = (16 + 3 * 28 + 4 + 24 + 4_u64).div_ceil(8) * 8;
/// `sizeof(struct in6_ifreq)`: name + union of which `struct icmp6_ifstat` (34 × u64) is the
/// largest.
const IN6_IFREQ: u64 = 16 + 34 * 8;
/// `sizeof(struct carpreq)`: count, vhid, state, advskew, advbase (ints), key[20].
pub const CARPREQ: usize = 5 * 4 + 20;

pub const SIOCSVH: u64 = ioc(IOC_INOUT, 245, IFREQ);
pub const SIOCGVH: u64 = ioc(IOC_INOUT, 246, IFREQ);
pub const SIOCAIFADDR: u64 = ioc(IOC_IN, 43, IN_ALIASREQ);
pub const SIOCDIFADDR: u64 = ioc(IOC_IN, 25, IFREQ);
pub const SIOCAIFADDR_IN6: u64 = ioc(IOC_IN, 27, IN6_ALIASREQ);
pub const SIOCDIFADDR_IN6: u64 = ioc(IOC_IN, 25, IN6_IFREQ);

const AF_INET: u8 = 2;
const AF_INET6: u8 = 28;

/// The socket an ioctl is issued on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SockFamily {
    Inet,
    Inet6,
}

fn int(b: &[u8], off: usize) -> i32 {
    i32::from_ne_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}

/// An interface name field: the bytes before the NUL (`ifunit_ref` looks it up).
fn name_of(b: &[u8]) -> String {
    let end = b.iter().position(|c| *c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

/// `struct sockaddr_in` at `off`: `None` unless sin_len is 16 and the family AF_INET (what
/// `in_aifaddr_ioctl` requires of `ifra_addr`).
fn sin(b: &[u8], off: usize) -> Option<Ipv4Addr> {
    (b[off] == 16 && b[off + 1] == AF_INET)
        .then(|| Ipv4Addr::new(b[off + 4], b[off + 5], b[off + 6], b[off + 7]))
}

fn sin6(b: &[u8], off: usize) -> Option<Ipv6Addr> {
    if b[off] != 28 || b[off + 1] != AF_INET6 {
        return None;
    }
    let mut o = [0u8; 16];
    o.copy_from_slice(&b[off + 8..off + 24]);
    Some(Ipv6Addr::from(o))
}

fn ones(bytes: &[u8]) -> u8 {
    bytes.iter().map(|b| b.count_ones() as u8).sum()
}

/// An address ioctl on an `AF_INET`/`AF_INET6` socket (IN `in_control`, IN6 `in6_control`).
pub fn ioctl(k: &mut Kernel, family: SockFamily, request: u64, arg: &[u8]) -> Result<(), i32> {
    let want = ((request >> 16) & 0x1fff) as usize;
    if arg.len() != want {
        return Err(EFAULT);
    }
    let name = name_of(&arg[..16]);
    let word = match request {
        SIOCAIFADDR => "SIOCAIFADDR",
        SIOCDIFADDR => "SIOCDIFADDR",
        SIOCAIFADDR_IN6 => "SIOCAIFADDR_IN6",
        SIOCDIFADDR_IN6 => "SIOCDIFADDR_IN6",
        _ => "unknown",
    };
    k.note(format!("ioctl {word} {name}"));
    if let Some(Fault::VanishBeforeAddress { .. }) =
        k.take_fault(|f| matches!(f, Fault::VanishBeforeAddress { ifname } if *ifname == name))
    {
        k.destroy_interface(&name);
    }
    if let Some(Fault::AddressFails { errno, .. }) =
        k.take_fault(|f| matches!(f, Fault::AddressFails { ifname, .. } if *ifname == name))
    {
        return Err(errno);
    }
    // `ifioctl` (IF) resolves the interface for every request that reaches `pr_control`.
    if k.iface(&name).is_none() {
        return Err(ENXIO);
    }
    match (family, request) {
        (SockFamily::Inet, SIOCAIFADDR) => {
            let ip = sin(arg, 16).ok_or(EINVAL)?;
            let prefix = ones(&arg[48 + 4..48 + 8]);
            let vhid = int(arg, 64);
            let vhid = u8::try_from(vhid).map_err(|_| EINVAL)?;
            k.aifaddr(&name, IpAddr::V4(ip), prefix, vhid)
        }
        (SockFamily::Inet, SIOCDIFADDR) => match sin(arg, 16) {
            Some(ip) => k.difaddr(&name, IpAddr::V4(ip)),
            // `in_difaddr_ioctl`: a sockaddr that is not AF_INET of the right length means
            // "delete any": the interface's first IPv4 address goes.
            None => {
                let first = k
                    .iface(&name)
                    .and_then(|i| i.addrs.iter().find(|a| a.ip.is_ipv4()))
                    .map(|a| a.ip)
                    .ok_or(EADDRNOTAVAIL)?;
                k.difaddr(&name, first)
            }
        },
        (SockFamily::Inet6, SIOCAIFADDR_IN6) => {
            let ip = sin6(arg, 16).ok_or(EINVAL)?;
            let prefix = ones(&arg[72 + 8..72 + 24]);
            let vhid = u8::try_from(int(arg, 128)).map_err(|_| EINVAL)?;
            k.aifaddr(&name, IpAddr::V6(ip), prefix, vhid)
        }
        (SockFamily::Inet6, SIOCDIFADDR_IN6) => {
            let ip = sin6(arg, 16).ok_or(EINVAL)?;
            k.difaddr(&name, IpAddr::V6(ip))
        }
        // Anything else falls through to the driver's ioctl (`ether_ioctl`: EINVAL).
        _ => Err(EINVAL),
    }
}

/// One `struct carpreq` record as `carp_carprcp` (K14) fills it: the key only for a
/// privileged caller.
fn carprcp(v: &Vhid, count: i32, privileged: bool) -> [u8; CARPREQ] {
    let mut b = [0u8; CARPREQ];
    b[0..4].copy_from_slice(&count.to_ne_bytes());
    b[4..8].copy_from_slice(&i32::from(v.vhid).to_ne_bytes());
    b[8..12].copy_from_slice(&(v.state as i32).to_ne_bytes());
    if v.version == CARP_VERSION_CARP {
        b[12..16].copy_from_slice(&v.advskew.to_ne_bytes());
        b[16..20].copy_from_slice(&v.advbase.to_ne_bytes());
        if privileged {
            b[20..40].copy_from_slice(&v.key);
        }
    }
    b
}

/// SIOCSVH / SIOCGVH: a `struct ifreq` whose `ifr_data` points at `data` (`carp_ioctl`).
pub fn ioctl_ifr_data(
    k: &mut Kernel,
    request: u64,
    ifname: &[u8; 16],
    data: &mut [u8],
) -> Result<(), i32> {
    let name = name_of(ifname);
    k.note(format!(
        "ioctl {} {name}",
        if request == SIOCGVH {
            "SIOCGVH"
        } else {
            "SIOCSVH"
        }
    ));
    if request != SIOCGVH && request != SIOCSVH {
        return Err(EINVAL);
    }
    // `ifioctl` (IF): no carp module, no carp_ioctl_p.
    if !k.carp_loaded {
        return Err(EPROTONOSUPPORT);
    }
    if !k.release.has_carp_ioctls() {
        // Retired on main (72472e52): the request falls to the generic path, which resolves
        // the name and ends in the driver's ioctl (`ether_ioctl`: EINVAL).
        return if k.iface(&name).is_none() {
            Err(ENXIO)
        } else {
            Err(EINVAL)
        };
    }
    // copyin(ifr_data, &carpr, sizeof carpr) comes first.
    if data.len() < CARPREQ {
        return Err(EFAULT);
    }
    let count = int(data, 0);
    let vhid = int(data, 4);
    // Type and multicast checks before the command is looked at (K13 inline, K14
    // `carp_is_supported_if`).
    let ifi = k.supported_if(Some(&name))?;
    if k.interfaces[ifi].flags & IFF_MULTICAST == 0 {
        return Err(EADDRNOTAVAIL);
    }
    if request == SIOCSVH {
        if !k.privileged {
            return Err(EPERM);
        }
        let mut key = [0u8; 20];
        key.copy_from_slice(&data[20..40]);
        // The ioctl passes no peers and always means CARP (`carprk = { }`; K15
        // `.carpr_version = CARP_VERSION_CARP`).
        let req = SetReq {
            vhid,
            state: int(data, 8),
            advskew: int(data, 12),
            advbase: int(data, 16),
            key,
            addr: None,
            addr6: None,
            version: CARP_VERSION_CARP,
            vrrp_prio: 0,
            vrrp_adv_inter: 0,
        };
        return k.ioctl_set(ifi, &req);
    }
    let privileged = k.privileged;
    let list = k.ioctl_get(ifi, vhid, count)?;
    let n = list.len() as i32;
    match k.release {
        // K13: one record per vhid, each at i × sizeof(carpr), count = number of vhids.
        Release::FreeBsd13 { .. } => {
            if data.len() < list.len() * CARPREQ {
                return Err(EFAULT);
            }
            let each = if vhid != 0 { 1 } else { n };
            for (i, v) in list.iter().enumerate() {
                data[i * CARPREQ..(i + 1) * CARPREQ].copy_from_slice(&carprcp(v, each, privileged));
            }
        }
        // K14/K15: every record is written into the same on-stack carpreq, then
        // count × sizeof(carpr) bytes are copied out from it: slot 0 holds the last vhid,
        // slots after it whatever follows on the kernel stack.
        _ => {
            let total = list.len() * CARPREQ;
            if data.len() < total {
                return Err(EFAULT);
            }
            let last = list.last().map(|v| carprcp(v, n, privileged));
            if let Some(last) = last {
                data[..CARPREQ].copy_from_slice(&last);
            }
            for (i, b) in data[CARPREQ..total].iter_mut().enumerate() {
                // Stand-in for kernel stack bytes (the adjacent `struct carpkreq` and more).
                *b = (0xa5u8).wrapping_add((i % 251) as u8);
            }
        }
    }
    Ok(())
}
