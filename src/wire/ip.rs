//! IP framing of adverts: what carpd writes when it builds its own headers, and what it reads
//! back from a raw socket (carp-spec §1.2, §1.3).

use std::net::{Ipv4Addr, Ipv6Addr};

/// IP protocol number of CARP (and VRRP).
pub const PROTO_CARP: u8 = 112;
/// TTL / hop limit CARP requires.
pub const CARP_TTL: u8 = 255;
/// ToS / traffic class byte: DSCP 56 << 2, as FreeBSD 14+ sends.
pub const CARP_TOS: u8 = 0xE0;
pub const MCAST_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
pub const MCAST_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);

/// Why a received IPv4 datagram was not usable (`badlen` in carpstats terms).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IpError {
    #[error("badlen")]
    Truncated,
    #[error("badver")]
    NotIpv4,
    #[error("badproto")]
    NotCarp,
}

/// The parts of a received IPv4 datagram the receive path checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv4Info<'a> {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub ttl: u8,
    /// The IP payload (the CARP or VRRP header), trimmed to the IP total length.
    pub payload: &'a [u8],
}

/// Parse an IPv4 datagram as a raw IPv4 socket returns it (header included).
pub fn parse_ipv4(datagram: &[u8]) -> Result<Ipv4Info<'_>, IpError> {
    let _ = datagram;
    todo!("wire: parse ipv4")
}

/// A complete IPv4 advert (20-byte header: ToS 0xE0, DF, TTL 255, id 0, protocol 112, header checksum) + `payload`.
pub fn build_ipv4(src: Ipv4Addr, dst: Ipv4Addr, payload: &[u8]) -> Vec<u8> {
    let _ = (src, dst, payload);
    todo!("wire: build ipv4")
}

/// A complete IPv6 advert (40-byte header: traffic class 0xE0, hop limit 255, next header 112) + `payload`.
pub fn build_ipv6(src: Ipv6Addr, dst: Ipv6Addr, payload: &[u8]) -> Vec<u8> {
    let _ = (src, dst, payload);
    todo!("wire: build ipv6")
}
