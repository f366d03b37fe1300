//! Interface addresses: list them with their vhid (getifaddrs(3)), add one bound to a vhid
//! (SIOCAIFADDR / SIOCAIFADDR_IN6 with `ifra_vhid`), remove one (SIOCDIFADDR(_IN6)).

use socket2::{Domain, Socket, Type};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::AsRawFd;

use super::{FreebsdError, io_err};
use crate::config::IpPrefix;
use crate::native::abi::{
    self, IfDataHead, IfReqAddr, In6AddrLifetime, In6AliasReq, In6IfReq, InAliasReq, SockaddrIn,
    SockaddrIn6,
};
use crate::native::kernel::KernelAddress;

fn name(dev: &str) -> Result<[u8; abi::IFNAMSIZ], FreebsdError> {
    abi::ifname(dev).ok_or_else(|| FreebsdError::BadName(dev.to_string()))
}

fn ioctl<T>(sock: &Socket, request: u64, arg: &mut T, what: String) -> Result<(), FreebsdError> {
    // SAFETY: every caller passes one of the request structs from native::abi whose size is
    // encoded in `request` (asserted in the abi tests); the kernel reads (and for _IOWR writes)
    // exactly that many bytes of `arg`, which is borrowed for the whole call.
    let rc = unsafe { libc::ioctl(sock.as_raw_fd(), request as libc::c_ulong, arg as *mut T) };
    if rc < 0 {
        return Err(io_err(what)(std::io::Error::last_os_error()));
    }
    Ok(())
}

/// Add `prefix` to `dev`, bound to `vhid` (the vhid must exist).
pub fn add(dev: &str, prefix: IpPrefix, vhid: u8) -> Result<(), FreebsdError> {
    let what = format!("adding {prefix} vhid {vhid} to {dev}");
    match prefix.addr {
        IpAddr::V4(a) => {
            let mask = SockaddrIn::mask(prefix.prefix);
            let bits = u32::from(Ipv4Addr::from(mask.sin_addr));
            // The broadcast address the kernel would derive; /31 and /32 have none.
            let broad = if prefix.prefix < 31 {
                SockaddrIn::new(Ipv4Addr::from(u32::from(a) | !bits))
            } else {
                SockaddrIn::default()
            };
            let mut req = InAliasReq {
                ifra_name: name(dev)?,
                ifra_addr: SockaddrIn::new(a),
                ifra_broadaddr: broad,
                ifra_mask: mask,
                ifra_vhid: i32::from(vhid),
            };
            let sock =
                Socket::new(Domain::IPV4, Type::DGRAM, None).map_err(io_err("inet socket"))?;
            ioctl(&sock, abi::SIOCAIFADDR, &mut req, what)
        }
        IpAddr::V6(a) => {
            let mut req = In6AliasReq {
                ifra_name: name(dev)?,
                ifra_addr: SockaddrIn6::new(a),
                ifra_dstaddr: SockaddrIn6::default(),
                ifra_prefixmask: SockaddrIn6::mask(prefix.prefix),
                ifra_flags: 0,
                ifra_lifetime: In6AddrLifetime {
                    ia6t_expire: 0,
                    ia6t_preferred: 0,
                    ia6t_vltime: abi::ND6_INFINITE_LIFETIME,
                    ia6t_pltime: abi::ND6_INFINITE_LIFETIME,
                },
                ifra_vhid: i32::from(vhid),
            };
            let sock =
                Socket::new(Domain::IPV6, Type::DGRAM, None).map_err(io_err("inet6 socket"))?;
            ioctl(&sock, abi::SIOCAIFADDR_IN6, &mut req, what)
        }
    }
}

/// Remove `addr` from `dev` (if it was a vhid's last address, carp(4) destroys the vhid).
pub fn remove(dev: &str, addr: IpAddr) -> Result<(), FreebsdError> {
    let what = format!("removing {addr} from {dev}");
    match addr {
        IpAddr::V4(a) => {
            let mut req = IfReqAddr {
                ifr_name: name(dev)?,
                ifr_addr: SockaddrIn::new(a),
            };
            let sock =
                Socket::new(Domain::IPV4, Type::DGRAM, None).map_err(io_err("inet socket"))?;
            ioctl(&sock, abi::SIOCDIFADDR, &mut req, what)
        }
        IpAddr::V6(a) => {
            let mut req = In6IfReq {
                ifr_name: name(dev)?,
                ifr_addr: SockaddrIn6::new(a),
                ..In6IfReq::default()
            };
            let sock =
                Socket::new(Domain::IPV6, Type::DGRAM, None).map_err(io_err("inet6 socket"))?;
            ioctl(&sock, abi::SIOCDIFADDR_IN6, &mut req, what)
        }
    }
}

fn prefix_len(bytes: &[u8]) -> u8 {
    bytes.iter().map(|b| b.count_ones() as u8).sum()
}

/// Every device with its IPv4/IPv6 addresses (devices without any are listed empty).
pub fn list() -> Result<BTreeMap<String, Vec<KernelAddress>>, FreebsdError> {
    let mut out: BTreeMap<String, Vec<KernelAddress>> = BTreeMap::new();
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `head` with a list we own until freeifaddrs below.
    if unsafe { libc::getifaddrs(&mut head) } != 0 {
        return Err(io_err("getifaddrs")(std::io::Error::last_os_error()));
    }
    let mut cur = head;
    while !cur.is_null() {
        // SAFETY: `cur` is a node of the list getifaddrs returned and not yet freed.
        let ifa = unsafe { &*cur };
        cur = ifa.ifa_next;
        if ifa.ifa_name.is_null() {
            continue;
        }
        // SAFETY: ifa_name is a NUL-terminated string inside the list.
        let dev = unsafe { std::ffi::CStr::from_ptr(ifa.ifa_name) }
            .to_string_lossy()
            .into_owned();
        let entry = out.entry(dev).or_default();
        if ifa.ifa_addr.is_null() {
            continue;
        }
        // SAFETY: ifa_addr points at a sockaddr at least as long as its sa_len; the family
        // tells which concrete sockaddr it is, and the netmask (when present) has that family.
        let family = unsafe { (*ifa.ifa_addr).sa_family };
        let (address, prefix) = match family {
            f if f == libc::AF_INET as u8 => {
                let sin = unsafe { &*(ifa.ifa_addr as *const SockaddrIn) };
                let prefix = if ifa.ifa_netmask.is_null() {
                    32
                } else {
                    prefix_len(&unsafe { &*(ifa.ifa_netmask as *const SockaddrIn) }.sin_addr)
                };
                (IpAddr::V4(Ipv4Addr::from(sin.sin_addr)), prefix)
            }
            f if f == libc::AF_INET6 as u8 => {
                let sin6 = unsafe { &*(ifa.ifa_addr as *const SockaddrIn6) };
                let mut octets = sin6.sin6_addr;
                // KAME embeds the scope in bytes 2-3 of link-local addresses.
                if octets[0] == 0xfe && octets[1] & 0xc0 == 0x80 {
                    octets[2] = 0;
                    octets[3] = 0;
                }
                let prefix = if ifa.ifa_netmask.is_null() {
                    128
                } else {
                    prefix_len(&unsafe { &*(ifa.ifa_netmask as *const SockaddrIn6) }.sin6_addr)
                };
                (IpAddr::V6(Ipv6Addr::from(octets)), prefix)
            }
            _ => continue,
        };
        let vhid = if ifa.ifa_data.is_null() {
            None
        } else {
            // SAFETY: for address entries FreeBSD's getifaddrs points ifa_data at a
            // `struct if_data`, whose head (with ifi_vhid at offset 5) IfDataHead mirrors.
            let head = unsafe { &*(ifa.ifa_data as *const IfDataHead) };
            (head.ifi_vhid != 0).then_some(head.ifi_vhid)
        };
        entry.push(KernelAddress {
            address,
            prefix,
            vhid,
        });
    }
    // SAFETY: `head` came from getifaddrs and nothing borrowed from it is used after this.
    unsafe { libc::freeifaddrs(head) };
    Ok(out)
}
