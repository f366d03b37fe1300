//! The bytes FreeBSD's carp(4), address ioctls, getifaddrs(3) and netlink exchange, for 64-bit
//! FreeBSD (amd64, arm64): request numbers, constants, and encoders/decoders of the C structs
//! as byte arrays at the kernel's offsets. Compiled and tested on every OS; the syscalls that
//! carry these bytes are in `platform::freebsd`.
//!
//! Sources (freebsd/freebsd-src, as read for carpd in 2026-12; see the README's native section):
//! `sys/sys/ioccom.h` (`_IOC`), `sys/sys/sockio.h` (request numbers), `sys/netinet/ip_carp.h`
//! (`struct carpreq`, `CARP_KEY_LEN`, `CARP_MAXVHID`), `sys/netinet/in_var.h`
//! (`struct in_aliasreq`, `ifra_vhid`), `sys/netinet6/in6_var.h` (`struct in6_aliasreq`,
//! `struct in6_ifreq`), `sys/net/if.h` (`struct ifreq`, `struct if_data`, `IFF_*`),
//! `sys/net/if_types.h` (`IFT_*`), `sys/netlink/netlink.h`, `netlink_generic.h` and
//! `sys/netinet/ip_carp_nl.h` (netlink ids).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// `IFNAMSIZ`.
pub const IFNAMSIZ: usize = 16;
/// `CARP_KEY_LEN`.
pub const CARP_KEY_LEN: usize = 20;
/// `CARP_MAXVHID`.
pub const CARP_MAXVHID: usize = 255;

/// FreeBSD address families (they differ from Linux: AF_INET6 is 28, AF_LINK has no twin).
pub const AF_INET: u8 = 2;
pub const AF_LINK: u8 = 18;
pub const AF_INET6: u8 = 28;

/// Interface flags (`sys/net/if.h`).
pub const IFF_UP: u32 = 0x1;
pub const IFF_LOOPBACK: u32 = 0x8;
pub const IFF_MULTICAST: u32 = 0x8000;
/// `if_link_state` of a link with carrier (`sys/net/if.h`).
pub const LINK_STATE_UP: u8 = 2;

/// Interface types carp(4) accepts: `carp_is_supported_if()` in `sys/netinet/ip_carp.c`
/// (14 and 15; inline in 13's `carp_ioctl()`) lets through IFT_ETHER, IFT_L2VLAN and
/// IFT_BRIDGE and answers EOPNOTSUPP for every other type (`sys/net/if_types.h` values).
pub const IFT_ETHER: u8 = 0x06;
pub const IFT_L2VLAN: u8 = 0x87;
pub const IFT_BRIDGE: u8 = 0xd1;

/// Whether carp(4) can carry a vhid on an interface of this type.
pub fn carp_supported_type(ifi_type: u8) -> bool {
    matches!(ifi_type, IFT_ETHER | IFT_L2VLAN | IFT_BRIDGE)
}

// sys/ioccom.h: direction bits and the 13-bit parameter length.
const IOC_OUT: u32 = 0x4000_0000;
const IOC_IN: u32 = 0x8000_0000;
const IOC_INOUT: u32 = IOC_IN | IOC_OUT;
const IOCPARM_MASK: u32 = 0x1fff;

/// FreeBSD's `_IOC(inout, group, num, len)`.
pub const fn ioc(inout: u32, group: u8, num: u8, len: usize) -> u64 {
    (inout | (((len as u32) & IOCPARM_MASK) << 16) | ((group as u32) << 8) | num as u32) as u64
}
pub const fn iow(group: u8, num: u8, len: usize) -> u64 {
    ioc(IOC_IN, group, num, len)
}
pub const fn iowr(group: u8, num: u8, len: usize) -> u64 {
    ioc(IOC_INOUT, group, num, len)
}

/// Bytes of `struct ifreq` (16-byte name + 16-byte union).
pub const IFREQ_SIZE: usize = 32;
/// Bytes of `struct carpreq`.
pub const CARPREQ_SIZE: usize = 40;
/// Bytes of `struct in_aliasreq`.
pub const IN_ALIASREQ_SIZE: usize = 68;
/// Bytes of `struct in6_aliasreq` (with a 64-bit `time_t` in its lifetime).
pub const IN6_ALIASREQ_SIZE: usize = 136;
/// Bytes of `struct in6_ifreq`: name + a union whose largest member is `struct
/// icmp6_ifstat` (34 × u64).
pub const IN6_IFREQ_SIZE: usize = 288;

pub const SIOCSVH: u64 = iowr(b'i', 245, IFREQ_SIZE);
pub const SIOCGVH: u64 = iowr(b'i', 246, IFREQ_SIZE);
pub const SIOCDIFADDR: u64 = iow(b'i', 25, IFREQ_SIZE);
pub const SIOCAIFADDR: u64 = iow(b'i', 43, IN_ALIASREQ_SIZE);
pub const SIOCDIFADDR_IN6: u64 = iow(b'i', 25, IN6_IFREQ_SIZE);
pub const SIOCAIFADDR_IN6: u64 = iow(b'i', 27, IN6_ALIASREQ_SIZE);

/// `ND6_INFINITE_LIFETIME`: what ifconfig puts in a new IPv6 address's lifetimes.
pub const ND6_INFINITE_LIFETIME: u32 = 0xffff_ffff;

/// `struct ifreq` as used with `ifr_data` (SIOCSVH/SIOCGVH): name + pointer + the rest of the
/// union. The platform layer fills the pointer, so only it builds this struct.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct IfReqData {
    pub ifr_name: [u8; IFNAMSIZ],
    pub ifr_data: *mut core::ffi::c_void,
    pub _union_rest: [u8; 8],
}

/// `struct carpreq` (FreeBSD 10 → 15): five ints and the key, 40 bytes, no padding.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CarpReq {
    pub count: i32,
    pub vhid: i32,
    /// 0 INIT, 1 BACKUP, 2 MASTER; 0 in a SET = leave the state alone.
    pub state: i32,
    pub advskew: i32,
    /// 0 in a SET = keep the current advbase.
    pub advbase: i32,
    /// Set only if `key[0] != 0`.
    pub key: [u8; CARP_KEY_LEN],
}

fn int_at(b: &[u8], off: usize) -> i32 {
    i32::from_ne_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}

impl CarpReq {
    pub fn to_bytes(&self) -> [u8; CARPREQ_SIZE] {
        let mut b = [0u8; CARPREQ_SIZE];
        for (i, v) in [
            self.count,
            self.vhid,
            self.state,
            self.advskew,
            self.advbase,
        ]
        .iter()
        .enumerate()
        {
            b[i * 4..i * 4 + 4].copy_from_slice(&v.to_ne_bytes());
        }
        b[20..].copy_from_slice(&self.key);
        b
    }
    /// Read one record; `None` if fewer than 40 bytes are given.
    pub fn from_bytes(b: &[u8]) -> Option<CarpReq> {
        let b = b.get(..CARPREQ_SIZE)?;
        let mut key = [0u8; CARP_KEY_LEN];
        key.copy_from_slice(&b[20..40]);
        Some(CarpReq {
            count: int_at(b, 0),
            vhid: int_at(b, 4),
            state: int_at(b, 8),
            advskew: int_at(b, 12),
            advbase: int_at(b, 16),
            key,
        })
    }
}

/// Copy an interface name into a C name field; `None` if it does not fit with its NUL.
pub fn ifname(name: &str) -> Option<[u8; IFNAMSIZ]> {
    let b = name.as_bytes();
    if b.is_empty() || b.len() >= IFNAMSIZ || b.contains(&0) {
        return None;
    }
    let mut out = [0u8; IFNAMSIZ];
    out[..b.len()].copy_from_slice(b);
    Some(out)
}

/// `struct sockaddr_in` (BSD: `sin_len`, `sin_family`, port, address, 8 zero bytes).
pub fn sockaddr_in(addr: Ipv4Addr) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[0] = 16;
    b[1] = AF_INET;
    b[4..8].copy_from_slice(&addr.octets());
    b
}

/// `struct sockaddr_in6` (`sin6_len` 28, family, port, flowinfo, address @8, scope id @24).
pub fn sockaddr_in6(addr: Ipv6Addr) -> [u8; 28] {
    let mut b = [0u8; 28];
    b[0] = 28;
    b[1] = AF_INET6;
    b[8..24].copy_from_slice(&addr.octets());
    b
}

/// The IPv4 netmask of `prefix` bits.
pub fn mask4(prefix: u8) -> Ipv4Addr {
    let p = u32::from(prefix.min(32));
    Ipv4Addr::from(if p == 0 { 0 } else { u32::MAX << (32 - p) })
}

/// The IPv6 netmask of `prefix` bits.
pub fn mask6(prefix: u8) -> Ipv6Addr {
    let p = u32::from(prefix.min(128));
    Ipv6Addr::from(if p == 0 { 0 } else { u128::MAX << (128 - p) })
}

/// `struct in_aliasreq` for SIOCAIFADDR: name @0, addr @16, broadaddr @32, mask @48,
/// `ifra_vhid` @64. The broadcast address is the one the kernel would derive (none for /31
/// and /32), as ifconfig sends it.
pub fn in_aliasreq(
    name: &[u8; IFNAMSIZ],
    addr: Ipv4Addr,
    prefix: u8,
    vhid: u8,
) -> [u8; IN_ALIASREQ_SIZE] {
    let mut b = [0u8; IN_ALIASREQ_SIZE];
    b[..IFNAMSIZ].copy_from_slice(name);
    b[16..32].copy_from_slice(&sockaddr_in(addr));
    if prefix < 31 {
        let broad = Ipv4Addr::from(u32::from(addr) | !u32::from(mask4(prefix)));
        b[32..48].copy_from_slice(&sockaddr_in(broad));
    }
    b[48..64].copy_from_slice(&sockaddr_in(mask4(prefix)));
    b[64..68].copy_from_slice(&i32::from(vhid).to_ne_bytes());
    b
}

/// `struct in6_aliasreq` for SIOCAIFADDR_IN6: name @0, addr @16, dstaddr @44, prefixmask @72,
/// flags @100, lifetime @104 (expire, preferred: i64; vltime, pltime: u32 — infinite, as
/// ifconfig sets them), `ifra_vhid` @128.
pub fn in6_aliasreq(
    name: &[u8; IFNAMSIZ],
    addr: Ipv6Addr,
    prefix: u8,
    vhid: u8,
) -> [u8; IN6_ALIASREQ_SIZE] {
    let mut b = [0u8; IN6_ALIASREQ_SIZE];
    b[..IFNAMSIZ].copy_from_slice(name);
    b[16..44].copy_from_slice(&sockaddr_in6(addr));
    b[72..100].copy_from_slice(&sockaddr_in6(mask6(prefix)));
    b[120..124].copy_from_slice(&ND6_INFINITE_LIFETIME.to_ne_bytes());
    b[124..128].copy_from_slice(&ND6_INFINITE_LIFETIME.to_ne_bytes());
    b[128..132].copy_from_slice(&i32::from(vhid).to_ne_bytes());
    b
}

/// `struct ifreq` with `ifr_addr` for SIOCDIFADDR: name @0, sockaddr_in @16.
pub fn ifreq_addr(name: &[u8; IFNAMSIZ], addr: Ipv4Addr) -> [u8; IFREQ_SIZE] {
    let mut b = [0u8; IFREQ_SIZE];
    b[..IFNAMSIZ].copy_from_slice(name);
    b[16..32].copy_from_slice(&sockaddr_in(addr));
    b
}

/// `struct in6_ifreq` with `ifr_addr` for SIOCDIFADDR_IN6: name @0, sockaddr_in6 @16.
pub fn in6_ifreq(name: &[u8; IFNAMSIZ], addr: Ipv6Addr) -> [u8; IN6_IFREQ_SIZE] {
    let mut b = [0u8; IN6_IFREQ_SIZE];
    b[..IFNAMSIZ].copy_from_slice(name);
    b[16..44].copy_from_slice(&sockaddr_in6(addr));
    b
}

/// The address in a sockaddr as getifaddrs hands it over: its family, and the address
/// (KAME's embedded scope id in bytes 2–3 of a link-local IPv6 address cleared). A netmask
/// may be shortened by the routing socket (`sa_len` below the full size, even 0): the missing
/// bytes are zero, so `family` says which kind to read.
pub fn sockaddr_ip(bytes: &[u8], family: u8) -> Option<IpAddr> {
    let byte = |i: usize| bytes.get(i).copied().unwrap_or(0);
    match family {
        AF_INET => Some(IpAddr::V4(Ipv4Addr::new(
            byte(4),
            byte(5),
            byte(6),
            byte(7),
        ))),
        AF_INET6 => {
            let mut o = [0u8; 16];
            for (i, b) in o.iter_mut().enumerate() {
                *b = byte(8 + i);
            }
            if o[0] == 0xfe && o[1] & 0xc0 == 0x80 {
                o[2] = 0;
                o[3] = 0;
            }
            Some(IpAddr::V6(Ipv6Addr::from(o)))
        }
        _ => None,
    }
}

/// The prefix length of a netmask.
pub fn prefix_of(mask: IpAddr) -> u8 {
    match mask {
        IpAddr::V4(m) => u32::from(m).count_ones() as u8,
        IpAddr::V6(m) => u128::from(m).count_ones() as u8,
    }
}

/// The head of `struct if_data` getifaddrs(3) hangs off every entry: type @0, link state @4,
/// vhid @5. On a link (AF_LINK) entry the type and link state are the interface's and the vhid
/// is 0; on an address entry the vhid is the address's and the rest is 0 (`if_data_copy()` in
/// `sys/net/if.c`, `sysctl_iflist_ifaml()` in `sys/net/rtsock.c`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IfDataHead {
    pub ifi_type: u8,
    pub ifi_link_state: u8,
    pub ifi_vhid: u8,
}

impl IfDataHead {
    pub fn parse(b: &[u8; 8]) -> IfDataHead {
        IfDataHead {
            ifi_type: b[0],
            ifi_link_state: b[4],
            ifi_vhid: b[5],
        }
    }
}

/// Netlink on FreeBSD 14+ (`sys/netlink/netlink.h`, `netlink_generic.h`,
/// `sys/netinet/ip_carp_nl.h`). `AF_NETLINK` is 38 on FreeBSD (16 on Linux).
pub mod netlink {
    pub const AF_NETLINK_FREEBSD: i32 = 38;
    pub const NETLINK_GENERIC: i32 = 16;

    pub const NLM_F_REQUEST: u16 = 0x1;
    pub const NLM_F_MULTI: u16 = 0x2;
    pub const NLM_F_ACK: u16 = 0x4;
    pub const NLM_F_DUMP: u16 = 0x300;
    pub const NLMSG_ERROR: u16 = 2;
    pub const NLMSG_DONE: u16 = 3;

    /// The generic-netlink controller and its GETFAMILY request.
    pub const GENL_ID_CTRL: u16 = 16;
    pub const CTRL_CMD_GETFAMILY: u8 = 3;
    pub const CTRL_ATTR_FAMILY_ID: u16 = 1;
    pub const CTRL_ATTR_FAMILY_NAME: u16 = 2;

    pub const CARP_NL_FAMILY_NAME: &str = "carp";
    pub const CARP_NL_CMD_GET: u8 = 1;
    pub const CARP_NL_CMD_SET: u8 = 2;

    pub const CARP_NL_VHID: u16 = 1;
    pub const CARP_NL_STATE: u16 = 2;
    pub const CARP_NL_ADVBASE: u16 = 3;
    pub const CARP_NL_ADVSKEW: u16 = 4;
    pub const CARP_NL_KEY: u16 = 5;
    pub const CARP_NL_IFINDEX: u16 = 6;
    pub const CARP_NL_ADDR: u16 = 7;
    pub const CARP_NL_ADDR6: u16 = 8;
    pub const CARP_NL_IFNAME: u16 = 9;
    /// FreeBSD 15 (`ip_carp_nl.h` at e4452d45): u8, 2 = CARP, 3 = VRRPv3.
    pub const CARP_NL_VERSION: u16 = 10;
    /// FreeBSD 15: u8.
    pub const CARP_NL_VRRP_PRIORITY: u16 = 11;
    /// FreeBSD 15: u16 centiseconds, at most 4095.
    pub const CARP_NL_VRRP_ADV_INTER: u16 = 12;
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::{offset_of, size_of};

    #[test]
    fn carpreq_round_trips_at_the_kernels_offsets() {
        let mut key = [0u8; 20];
        key[..3].copy_from_slice(b"abc");
        let r = CarpReq {
            count: 7,
            vhid: 3,
            state: 2,
            advskew: 100,
            advbase: 1,
            key,
        };
        let b = r.to_bytes();
        assert_eq!(int_at(&b, 0), 7);
        assert_eq!(int_at(&b, 4), 3);
        assert_eq!(int_at(&b, 8), 2);
        assert_eq!(int_at(&b, 12), 100);
        assert_eq!(int_at(&b, 16), 1);
        assert_eq!(&b[20..23], b"abc");
        assert_eq!(CarpReq::from_bytes(&b), Some(r));
        assert_eq!(CarpReq::from_bytes(&b[..39]), None);
    }

    #[test]
    fn ifreq_data_is_32_bytes_with_the_pointer_at_16() {
        assert_eq!(size_of::<IfReqData>(), IFREQ_SIZE);
        assert_eq!(offset_of!(IfReqData, ifr_data), 16);
    }

    #[test]
    fn aliasreqs_carry_the_vhid_where_the_kernel_reads_it() {
        let name = ifname("vtnet0").unwrap();
        let b = in_aliasreq(&name, Ipv4Addr::new(192, 0, 2, 1), 24, 7);
        assert_eq!(&b[..7], b"vtnet0\0");
        assert_eq!(&b[16..24], &[16, AF_INET, 0, 0, 192, 0, 2, 1]);
        assert_eq!(&b[32..40], &[16, AF_INET, 0, 0, 192, 0, 2, 255]);
        assert_eq!(&b[48..56], &[16, AF_INET, 0, 0, 255, 255, 255, 0]);
        assert_eq!(int_at(&b, 64), 7);
        // /32: no broadcast address.
        let b = in_aliasreq(&name, Ipv4Addr::new(192, 0, 2, 1), 32, 7);
        assert_eq!(&b[32..48], &[0; 16]);

        let a6: Ipv6Addr = "2001:db8::1".parse().unwrap();
        let b = in6_aliasreq(&name, a6, 64, 9);
        assert_eq!(&b[16..18], &[28, AF_INET6]);
        assert_eq!(&b[24..40], &a6.octets());
        assert_eq!(&b[72..74], &[28, AF_INET6]);
        assert_eq!(&b[80..88], &[0xff; 8]);
        assert_eq!(&b[88..96], &[0; 8]);
        assert_eq!(&b[120..128], &[0xff; 8]);
        assert_eq!(int_at(&b, 128), 9);

        let b = ifreq_addr(&name, Ipv4Addr::new(192, 0, 2, 1));
        assert_eq!(&b[16..24], &[16, AF_INET, 0, 0, 192, 0, 2, 1]);
        let b = in6_ifreq(&name, a6);
        assert_eq!(&b[24..40], &a6.octets());
    }

    #[test]
    fn ioctl_numbers_follow_the_iowr_encoding() {
        // Spelled out: direction | len << 16 | 'i' << 8 | number.
        assert_eq!(SIOCSVH, 0xC000_0000 | (32 << 16) | (0x69 << 8) | 245);
        assert_eq!(SIOCSVH, 0xC020_69F5);
        assert_eq!(SIOCGVH, 0xC020_69F6);
        assert_eq!(SIOCDIFADDR, 0x8020_6919);
        assert_eq!(SIOCAIFADDR, 0x8044_692B);
        assert_eq!(SIOCDIFADDR_IN6, 0x8120_6919);
        assert_eq!(SIOCAIFADDR_IN6, 0x8088_691B);
    }

    #[test]
    fn netlink_attribute_ids() {
        use netlink::*;
        let ids = [
            CARP_NL_VHID,
            CARP_NL_STATE,
            CARP_NL_ADVBASE,
            CARP_NL_ADVSKEW,
            CARP_NL_KEY,
            CARP_NL_IFINDEX,
            CARP_NL_ADDR,
            CARP_NL_ADDR6,
            CARP_NL_IFNAME,
            CARP_NL_VERSION,
            CARP_NL_VRRP_PRIORITY,
            CARP_NL_VRRP_ADV_INTER,
        ];
        assert_eq!(ids, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
        assert_eq!((CARP_NL_CMD_GET, CARP_NL_CMD_SET), (1, 2));
        assert_eq!(AF_NETLINK_FREEBSD, 38);
        assert_eq!(NETLINK_GENERIC, 16);
    }

    #[test]
    fn sockaddrs_decode_with_short_masks_and_kame_scopes() {
        assert_eq!(
            sockaddr_ip(&sockaddr_in(Ipv4Addr::new(192, 0, 2, 9)), AF_INET),
            Some("192.0.2.9".parse().unwrap())
        );
        // A mask the routing socket shortened to 7 bytes (255.255.255.0 minus the last byte).
        let short = [7, 0, 0, 0, 255, 255, 255];
        assert_eq!(prefix_of(sockaddr_ip(&short, AF_INET).unwrap()), 24);
        assert_eq!(prefix_of(sockaddr_ip(&[], AF_INET).unwrap()), 0);
        let mut ll = sockaddr_in6("fe80::1".parse().unwrap());
        ll[10] = 0;
        ll[11] = 2; // scope id 2 embedded by KAME
        assert_eq!(sockaddr_ip(&ll, AF_INET6), Some("fe80::1".parse().unwrap()));
        assert_eq!(prefix_of(IpAddr::V6(mask6(64))), 64);
        assert_eq!(sockaddr_ip(&[], AF_LINK), None);
    }

    #[test]
    fn masks_types_and_names() {
        assert_eq!(mask4(24), Ipv4Addr::new(255, 255, 255, 0));
        assert_eq!(mask4(0), Ipv4Addr::UNSPECIFIED);
        assert!(carp_supported_type(IFT_ETHER));
        assert!(carp_supported_type(IFT_L2VLAN));
        assert!(carp_supported_type(IFT_BRIDGE));
        assert!(!carp_supported_type(0x18)); // IFT_LOOP
        assert!(!carp_supported_type(0xf8)); // IFT_WIREGUARD
        assert!(ifname("vtnet0").is_some());
        assert!(ifname("a-name-that-is-too-long").is_none());
        assert!(ifname("").is_none());
    }
}
