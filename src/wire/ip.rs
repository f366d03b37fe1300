//! IP framing of adverts: what carpd writes when it builds its own headers, and what it reads
//! back from a raw socket (carp-spec §1.2, §1.3).
//!
//! Plus the link layer, for tools and tests that handle whole frames: the Ethernet header with
//! the addresses FreeBSD uses (source `00:00:5e:00:01:<vhid>`, destination the multicast MAC of
//! 224.0.0.18 / ff02::12).

use std::net::{Ipv4Addr, Ipv6Addr};

use super::checksum;

/// IP protocol number of CARP (and VRRP).
pub const PROTO_CARP: u8 = 112;
/// TTL / hop limit CARP requires.
pub const CARP_TTL: u8 = 255;
/// ToS / traffic class byte: DSCP 56 << 2, as FreeBSD 14+ sends.
pub const CARP_TOS: u8 = 0xE0;
pub const MCAST_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
pub const MCAST_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);

/// Length of an IPv4 header without options (what carpd sends).
pub const IPV4_HEADER_LEN: usize = 20;
/// Length of the fixed IPv6 header.
pub const IPV6_HEADER_LEN: usize = 40;
/// The IPv4 "don't fragment" flag in the flags/fragment-offset word.
const IPV4_DF: u16 = 0x4000;

/// Byte offsets in the IPv4 header.
mod v4field {
    pub const VER_IHL: usize = 0;
    pub const TOS: usize = 1;
    pub const TOTAL_LEN: core::ops::Range<usize> = 2..4;
    pub const FLAGS_FRAG: core::ops::Range<usize> = 6..8;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const CHECKSUM: core::ops::Range<usize> = 10..12;
    pub const SRC: core::ops::Range<usize> = 12..16;
    pub const DST: core::ops::Range<usize> = 16..20;
}

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
///
/// Checks: at least 20 bytes, version 4, header length (IHL) between 20 bytes and the
/// datagram, total length covering the header and not beyond what was received, protocol 112.
/// Bytes past the total length (link-layer padding) are dropped from the payload.
///
/// The header checksum is not checked: a Linux raw socket only delivers datagrams whose header
/// checksum the kernel has already verified. The total length is read big-endian, as Linux
/// raw sockets deliver it (unlike the pre-10 BSD raw sockets, which rewrote it in host order).
pub fn parse_ipv4(datagram: &[u8]) -> Result<Ipv4Info<'_>, IpError> {
    if datagram.len() < IPV4_HEADER_LEN {
        return Err(IpError::Truncated);
    }
    let ver_ihl = datagram[v4field::VER_IHL];
    if ver_ihl >> 4 != 4 {
        return Err(IpError::NotIpv4);
    }
    let header_len = usize::from(ver_ihl & 0x0f) * 4;
    if header_len < IPV4_HEADER_LEN || header_len > datagram.len() {
        return Err(IpError::Truncated);
    }
    let total = &datagram[v4field::TOTAL_LEN];
    let total_len = usize::from(u16::from_be_bytes([total[0], total[1]]));
    if total_len < header_len || total_len > datagram.len() {
        return Err(IpError::Truncated);
    }
    if datagram[v4field::PROTOCOL] != PROTO_CARP {
        return Err(IpError::NotCarp);
    }
    Ok(Ipv4Info {
        src: read_v4(&datagram[v4field::SRC]),
        dst: read_v4(&datagram[v4field::DST]),
        ttl: datagram[v4field::TTL],
        payload: &datagram[header_len..total_len],
    })
}

fn read_v4(b: &[u8]) -> Ipv4Addr {
    Ipv4Addr::new(b[0], b[1], b[2], b[3])
}

/// A complete IPv4 advert (20-byte header: ToS 0xE0, DF, TTL 255, id 0, protocol 112, header checksum) + `payload`.
///
/// Panics if `payload` exceeds 65515 bytes: adverts are 36 bytes (CARP) or at most
/// 8 + 255·16 bytes (VRRPv3), so a larger one is a bug in the caller.
pub fn build_ipv4(src: Ipv4Addr, dst: Ipv4Addr, payload: &[u8]) -> Vec<u8> {
    let total_len = u16::try_from(IPV4_HEADER_LEN + payload.len())
        .expect("an advert never exceeds the IPv4 maximum datagram size");
    let mut out = vec![0u8; IPV4_HEADER_LEN];
    out[v4field::VER_IHL] = 0x45;
    out[v4field::TOS] = CARP_TOS;
    out[v4field::TOTAL_LEN].copy_from_slice(&total_len.to_be_bytes());
    // Identification stays 0: with DF set the datagram is never fragmented (RFC 6864 §4.1).
    out[v4field::FLAGS_FRAG].copy_from_slice(&IPV4_DF.to_be_bytes());
    out[v4field::TTL] = CARP_TTL;
    out[v4field::PROTOCOL] = PROTO_CARP;
    out[v4field::SRC].copy_from_slice(&src.octets());
    out[v4field::DST].copy_from_slice(&dst.octets());
    let sum = checksum::internet(&out);
    out[v4field::CHECKSUM].copy_from_slice(&sum.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// A complete IPv6 advert (40-byte header: traffic class 0xE0, hop limit 255, next header 112) + `payload`.
///
/// Panics if `payload` exceeds 65535 bytes (no advert comes close; see [`build_ipv4`]).
pub fn build_ipv6(src: Ipv6Addr, dst: Ipv6Addr, payload: &[u8]) -> Vec<u8> {
    let payload_len =
        u16::try_from(payload.len()).expect("an advert never exceeds the IPv6 payload maximum");
    // Version 6, traffic class, flow label 0, packed into the first 32-bit word.
    let first_word: u32 = (6 << 28) | (u32::from(CARP_TOS) << 20);
    let mut out = Vec::with_capacity(IPV6_HEADER_LEN + payload.len());
    out.extend_from_slice(&first_word.to_be_bytes());
    out.extend_from_slice(&payload_len.to_be_bytes());
    out.push(PROTO_CARP);
    out.push(CARP_TTL);
    out.extend_from_slice(&src.octets());
    out.extend_from_slice(&dst.octets());
    out.extend_from_slice(payload);
    out
}

/// EtherType of IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// EtherType of IPv6.
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
/// Length of an Ethernet II header.
pub const ETHERNET_HEADER_LEN: usize = 14;

/// The virtual MAC of a vhid, also the source MAC of its multicast adverts:
/// `00:00:5e:00:01:<vhid>` (the VRRP IPv4 range, hence the collision of carp-spec §1.2).
pub fn virtual_mac(vhid: u8) -> [u8; 6] {
    [0x00, 0x00, 0x5e, 0x00, 0x01, vhid]
}

/// The Ethernet multicast address of an IPv4 group: `01:00:5e` + the low 23 bits.
pub fn multicast_mac_v4(group: Ipv4Addr) -> [u8; 6] {
    let o = group.octets();
    [0x01, 0x00, 0x5e, o[1] & 0x7f, o[2], o[3]]
}

/// The Ethernet multicast address of an IPv6 group: `33:33` + the low 32 bits.
pub fn multicast_mac_v6(group: Ipv6Addr) -> [u8; 6] {
    let o = group.octets();
    [0x33, 0x33, o[12], o[13], o[14], o[15]]
}

/// An Ethernet II frame: `dst ‖ src ‖ ethertype ‖ payload` (no FCS, no padding: the NIC adds
/// both, and CARP frames are above the 60-byte minimum anyway).
pub fn build_ethernet(dst: [u8; 6], src: [u8; 6], ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(ETHERNET_HEADER_LEN + payload.len());
    out.extend_from_slice(&dst);
    out.extend_from_slice(&src);
    out.extend_from_slice(&ethertype.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        build_ipv4(Ipv4Addr::new(192, 0, 2, 1), MCAST_V4, &[0xab; 36])
    }

    #[test]
    fn build_then_parse_ipv4() {
        let d = sample();
        assert_eq!(d.len(), 56);
        assert_eq!(checksum::internet(&d[..20]), 0, "header checksum verifies");
        let info = parse_ipv4(&d).unwrap();
        assert_eq!(info.src, Ipv4Addr::new(192, 0, 2, 1));
        assert_eq!(info.dst, MCAST_V4);
        assert_eq!(info.ttl, 255);
        assert_eq!(info.payload, &[0xab; 36][..]);
    }

    #[test]
    fn padding_after_total_length_is_trimmed() {
        let mut d = sample();
        d.extend_from_slice(&[0; 10]);
        assert_eq!(parse_ipv4(&d).unwrap().payload.len(), 36);
    }

    #[test]
    fn options_are_skipped() {
        // IHL 6: one 4-byte option word (NOPs) before the payload.
        let mut d = sample();
        d[0] = 0x46;
        d.splice(20..20, [1, 1, 1, 1]);
        d[2..4].copy_from_slice(&60u16.to_be_bytes());
        assert_eq!(parse_ipv4(&d).unwrap().payload, &[0xab; 36][..]);
    }

    #[test]
    fn parse_errors() {
        let d = sample();
        assert_eq!(parse_ipv4(&d[..19]), Err(IpError::Truncated));
        let mut v6 = d.clone();
        v6[0] = 0x65;
        assert_eq!(parse_ipv4(&v6), Err(IpError::NotIpv4));
        let mut short_ihl = d.clone();
        short_ihl[0] = 0x44;
        assert_eq!(parse_ipv4(&short_ihl), Err(IpError::Truncated));
        let mut long_ihl = d.clone();
        long_ihl[0] = 0x4f; // 60-byte header claimed
        assert_eq!(parse_ipv4(&long_ihl[..40]), Err(IpError::Truncated));
        // Total length beyond what arrived.
        assert_eq!(parse_ipv4(&d[..55]), Err(IpError::Truncated));
        // Total length shorter than the header.
        let mut tiny = d.clone();
        tiny[2..4].copy_from_slice(&19u16.to_be_bytes());
        assert_eq!(parse_ipv4(&tiny), Err(IpError::Truncated));
        let mut udp = d.clone();
        udp[9] = 17;
        assert_eq!(parse_ipv4(&udp), Err(IpError::NotCarp));
    }

    #[test]
    fn ipv6_header_fields() {
        let src: Ipv6Addr = "fe80::1".parse().unwrap();
        let p = build_ipv6(src, MCAST_V6, &[1, 2, 3]);
        assert_eq!(&p[..8], &[0x6e, 0x00, 0x00, 0x00, 0x00, 0x03, 112, 255]);
        assert_eq!(&p[8..24], &src.octets());
        assert_eq!(&p[24..40], &MCAST_V6.octets());
        assert_eq!(&p[40..], &[1, 2, 3]);
    }

    #[test]
    fn macs() {
        assert_eq!(virtual_mac(42), [0, 0, 0x5e, 0, 1, 42]);
        assert_eq!(
            multicast_mac_v4(MCAST_V4),
            [0x01, 0x00, 0x5e, 0x00, 0x00, 0x12]
        );
        assert_eq!(
            multicast_mac_v4(Ipv4Addr::new(239, 255, 1, 2)),
            [0x01, 0x00, 0x5e, 0x7f, 1, 2]
        );
        assert_eq!(multicast_mac_v6(MCAST_V6), [0x33, 0x33, 0, 0, 0, 0x12]);
    }
}
