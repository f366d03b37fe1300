//! C layouts and request numbers of FreeBSD's carp(4) and address ioctls, for 64-bit FreeBSD
//! (amd64, arm64). Compiled on every OS so the layout tests run on Linux CI too; only the
//! syscalls that use them live behind `cfg(target_os = "freebsd")` in `platform::freebsd`.
//!
//! Facts from carp-spec §5 and FreeBSD's `sys/sockio.h`, `netinet/in_var.h`,
//! `netinet6/in6_var.h`, `net/if.h`; the tests pin every size and offset.

/// `IFNAMSIZ`.
pub const IFNAMSIZ: usize = 16;
/// `CARP_KEY_LEN`.
pub const CARP_KEY_LEN: usize = 20;

/// FreeBSD address families (they differ from Linux: AF_INET6 is 28).
pub const AF_INET: u8 = 2;
pub const AF_INET6: u8 = 28;

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

/// `struct carpreq` (FreeBSD 10 → 15): 40 bytes, no padding.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CarpReq {
    pub carpr_count: i32,
    pub carpr_vhid: i32,
    /// 0 INIT, 1 BACKUP, 2 MASTER; 0 in a SET = leave the state alone.
    pub carpr_state: i32,
    pub carpr_advskew: i32,
    /// 0 in a SET = keep the current advbase.
    pub carpr_advbase: i32,
    /// Set only if `carpr_key[0] != 0`.
    pub carpr_key: [u8; CARP_KEY_LEN],
}

/// `struct ifreq` as used with `ifr_data` (SIOCSVH/SIOCGVH): name + 16-byte union.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct IfReqData {
    pub ifr_name: [u8; IFNAMSIZ],
    pub ifr_data: *mut core::ffi::c_void,
    pub _union_rest: [u8; 8],
}

/// `struct sockaddr_in` (BSD, with `sin_len`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SockaddrIn {
    pub sin_len: u8,
    pub sin_family: u8,
    pub sin_port: u16,
    /// Network byte order, as the octets.
    pub sin_addr: [u8; 4],
    pub sin_zero: [u8; 8],
}

/// `struct sockaddr_in6` (BSD, with `sin6_len`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SockaddrIn6 {
    pub sin6_len: u8,
    pub sin6_family: u8,
    pub sin6_port: u16,
    pub sin6_flowinfo: u32,
    pub sin6_addr: [u8; 16],
    pub sin6_scope_id: u32,
}

/// `struct ifreq` as used with `ifr_addr` (SIOCDIFADDR).
#[repr(C, align(8))]
#[derive(Clone, Copy, Debug, Default)]
pub struct IfReqAddr {
    pub ifr_name: [u8; IFNAMSIZ],
    pub ifr_addr: SockaddrIn,
}

/// `struct in_aliasreq` (SIOCAIFADDR): 68 bytes, `ifra_vhid` at 64.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct InAliasReq {
    pub ifra_name: [u8; IFNAMSIZ],
    pub ifra_addr: SockaddrIn,
    pub ifra_broadaddr: SockaddrIn,
    pub ifra_mask: SockaddrIn,
    pub ifra_vhid: i32,
}

/// `struct in6_addrlifetime` (64-bit `time_t`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct In6AddrLifetime {
    pub ia6t_expire: i64,
    pub ia6t_preferred: i64,
    pub ia6t_vltime: u32,
    pub ia6t_pltime: u32,
}

/// `struct in6_aliasreq` (SIOCAIFADDR_IN6): 136 bytes, `ifra_vhid` at 128.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct In6AliasReq {
    pub ifra_name: [u8; IFNAMSIZ],
    pub ifra_addr: SockaddrIn6,
    pub ifra_dstaddr: SockaddrIn6,
    pub ifra_prefixmask: SockaddrIn6,
    pub ifra_flags: i32,
    pub ifra_lifetime: In6AddrLifetime,
    pub ifra_vhid: i32,
}

/// `struct in6_ifreq` (SIOCDIFADDR_IN6): name + a union whose largest member is
/// `struct icmp6_ifstat` (34 × u64 = 272 bytes); only `ifr_addr` is used.
#[repr(C, align(8))]
#[derive(Clone, Copy, Debug)]
pub struct In6IfReq {
    pub ifr_name: [u8; IFNAMSIZ],
    pub ifr_addr: SockaddrIn6,
    pub _union_rest: [u8; 272 - 28],
}

impl Default for In6IfReq {
    fn default() -> Self {
        In6IfReq {
            ifr_name: [0; IFNAMSIZ],
            ifr_addr: SockaddrIn6::default(),
            _union_rest: [0; 272 - 28],
        }
    }
}

/// Head of `struct if_data`, which getifaddrs(3) hangs off every address entry in
/// `ifa_data`: `ifi_vhid` is how an address shows its vhid.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct IfDataHead {
    pub ifi_type: u8,
    pub ifi_physical: u8,
    pub ifi_addrlen: u8,
    pub ifi_hdrlen: u8,
    pub ifi_link_state: u8,
    pub ifi_vhid: u8,
    pub ifi_datalen: u16,
}

/// Bytes of `struct ifreq`.
pub const IFREQ_SIZE: usize = 32;

pub const SIOCSVH: u64 = iowr(b'i', 245, IFREQ_SIZE);
pub const SIOCGVH: u64 = iowr(b'i', 246, IFREQ_SIZE);
pub const SIOCDIFADDR: u64 = iow(b'i', 25, IFREQ_SIZE);
pub const SIOCAIFADDR: u64 = iow(b'i', 43, core::mem::size_of::<InAliasReq>());
pub const SIOCDIFADDR_IN6: u64 = iow(b'i', 25, core::mem::size_of::<In6IfReq>());
pub const SIOCAIFADDR_IN6: u64 = iow(b'i', 27, core::mem::size_of::<In6AliasReq>());

/// `ND6_INFINITE_LIFETIME`: what ifconfig puts in a new IPv6 address's lifetimes.
pub const ND6_INFINITE_LIFETIME: u32 = 0xffff_ffff;

/// Netlink on FreeBSD 14+ (carp-spec §5.4). `AF_NETLINK` is 38 on FreeBSD (16 on Linux).
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
    pub const CARP_NL_VERSION: u16 = 10;
    pub const CARP_NL_VRRP_PRIORITY: u16 = 11;
    pub const CARP_NL_VRRP_ADV_INTER: u16 = 12;
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

impl SockaddrIn {
    pub fn new(addr: std::net::Ipv4Addr) -> SockaddrIn {
        SockaddrIn {
            sin_len: core::mem::size_of::<SockaddrIn>() as u8,
            sin_family: AF_INET,
            sin_port: 0,
            sin_addr: addr.octets(),
            sin_zero: [0; 8],
        }
    }
    /// A netmask of `prefix` bits.
    pub fn mask(prefix: u8) -> SockaddrIn {
        let bits = if prefix == 0 {
            0
        } else {
            u32::MAX << (32 - u32::from(prefix.min(32)))
        };
        SockaddrIn::new(std::net::Ipv4Addr::from(bits))
    }
}

impl SockaddrIn6 {
    pub fn new(addr: std::net::Ipv6Addr) -> SockaddrIn6 {
        SockaddrIn6 {
            sin6_len: core::mem::size_of::<SockaddrIn6>() as u8,
            sin6_family: AF_INET6,
            sin6_addr: addr.octets(),
            ..SockaddrIn6::default()
        }
    }
    pub fn mask(prefix: u8) -> SockaddrIn6 {
        let p = u32::from(prefix.min(128));
        let bits = if p == 0 { 0 } else { u128::MAX << (128 - p) };
        SockaddrIn6::new(std::net::Ipv6Addr::from(bits))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::{offset_of, size_of};

    #[test]
    fn carpreq_is_40_bytes_with_spec_offsets() {
        assert_eq!(size_of::<CarpReq>(), 40);
        assert_eq!(offset_of!(CarpReq, carpr_count), 0);
        assert_eq!(offset_of!(CarpReq, carpr_vhid), 4);
        assert_eq!(offset_of!(CarpReq, carpr_state), 8);
        assert_eq!(offset_of!(CarpReq, carpr_advskew), 12);
        assert_eq!(offset_of!(CarpReq, carpr_advbase), 16);
        assert_eq!(offset_of!(CarpReq, carpr_key), 20);
    }

    #[test]
    fn ifreq_layouts() {
        assert_eq!(size_of::<IfReqData>(), IFREQ_SIZE);
        assert_eq!(offset_of!(IfReqData, ifr_data), 16);
        assert_eq!(size_of::<IfReqAddr>(), IFREQ_SIZE);
        assert_eq!(offset_of!(IfReqAddr, ifr_addr), 16);
        assert_eq!(size_of::<SockaddrIn>(), 16);
        assert_eq!(size_of::<SockaddrIn6>(), 28);
        assert_eq!(offset_of!(SockaddrIn6, sin6_addr), 8);
        assert_eq!(offset_of!(SockaddrIn6, sin6_scope_id), 24);
        assert_eq!(size_of::<In6IfReq>(), 288);
        assert_eq!(offset_of!(In6IfReq, ifr_addr), 16);
    }

    #[test]
    fn aliasreq_layouts_carry_the_vhid_where_the_kernel_reads_it() {
        assert_eq!(size_of::<InAliasReq>(), 68);
        assert_eq!(offset_of!(InAliasReq, ifra_addr), 16);
        assert_eq!(offset_of!(InAliasReq, ifra_broadaddr), 32);
        assert_eq!(offset_of!(InAliasReq, ifra_mask), 48);
        assert_eq!(offset_of!(InAliasReq, ifra_vhid), 64);

        assert_eq!(size_of::<In6AddrLifetime>(), 24);
        assert_eq!(size_of::<In6AliasReq>(), 136);
        assert_eq!(offset_of!(In6AliasReq, ifra_addr), 16);
        assert_eq!(offset_of!(In6AliasReq, ifra_dstaddr), 44);
        assert_eq!(offset_of!(In6AliasReq, ifra_prefixmask), 72);
        assert_eq!(offset_of!(In6AliasReq, ifra_flags), 100);
        assert_eq!(offset_of!(In6AliasReq, ifra_lifetime), 104);
        assert_eq!(offset_of!(In6AliasReq, ifra_vhid), 128);

        assert_eq!(offset_of!(IfDataHead, ifi_vhid), 5);
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
    fn masks_and_names() {
        assert_eq!(SockaddrIn::mask(24).sin_addr, [255, 255, 255, 0]);
        assert_eq!(SockaddrIn::mask(0).sin_addr, [0; 4]);
        assert_eq!(
            SockaddrIn6::mask(64).sin6_addr[..9],
            [255, 255, 255, 255, 255, 255, 255, 255, 0]
        );
        assert!(ifname("vtnet0").is_some());
        assert!(ifname("a-name-that-is-too-long").is_none());
        assert!(ifname("").is_none());
    }
}
