//! VRRPv3 (RFC 5798, carp-spec §7): header parse/emit with the pseudo-header checksum, so that
//! VRRP traffic on protocol 112 is recognised (and counted, not mistaken for CARP).
//!
//! ```text
//!  byte 0     byte 1   byte 2     byte 3   bytes 4-5                  bytes 6-7
//! +----+----+--------+----------+--------+------+-------------------+----------+
//! |ver |type|  VRID  | priority | count  | rsvd | max adver int (cs)| checksum |
//! | 3  | 1  |        |          |        | 4 b  | 12 bits           |          |
//! +----+----+--------+----------+--------+------+-------------------+----------+
//! | count x IPv4 (4 bytes) or IPv6 (16 bytes) addresses, from byte 8           |
//! +----------------------------------------------------------------------------+
//! ```
//!
//! The checksum covers the VRRP message (header + addresses) seeded with the IP pseudo-header
//! of the family it travels in. For IPv4, FreeBSD, keepalived (default), Wireshark and tcpdump
//! include the pseudo-header; Cisco, Juniper and keepalived's `v3_checksum_as_v2` leave it out
//! (RFC 9568's reading). [`Repr::parse`] accepts both on IPv4 and says which one it saw;
//! IPv6 always has the pseudo-header.
//!
//! [`classify`] tells CARP, VRRPv2 and VRRPv3 apart on protocol 112 (carp-spec §1.4).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::carp;
use super::checksum::{self, Accumulator};
use super::ip::PROTO_CARP;

/// Length of the fixed VRRPv3 header, before the addresses.
pub const HEADER_LEN: usize = 8;
pub const VERSION: u8 = 3;
pub const TYPE_ADVERTISEMENT: u8 = 1;
/// The largest advertisement interval the 12-bit field holds, in centiseconds.
pub const MAX_ADVER_INT: u16 = 0x0fff;
/// The most addresses the 8-bit count field can announce.
pub const MAX_ADDRESSES: usize = 255;

/// Byte ranges of the header fields.
mod field {
    pub type Field = core::ops::Range<usize>;

    pub const VER_TYPE: usize = 0;
    pub const VRID: usize = 1;
    pub const PRIORITY: usize = 2;
    pub const COUNT: usize = 3;
    /// 4 reserved bits, then the 12-bit maximum advertisement interval.
    pub const RSVD_INTERVAL: Field = 4..6;
    pub const CHECKSUM: Field = 6..8;
    pub const ADDRESSES: usize = 8;
}

/// Why a buffer is not a VRRPv3 advertisement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
pub enum ParseError {
    /// Shorter than the header, or than the addresses its count announces.
    #[error("badlen")]
    BadLen,
    /// Version nibble is not 3.
    #[error("badver")]
    BadVer,
    /// Type nibble is not 1 (advertisement).
    #[error("badtype")]
    BadType,
    /// Checksum does not verify with the pseudo-header (nor, on IPv4, without it).
    #[error("badsum")]
    BadSum,
}

/// Why a [`Repr`] cannot be written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EmitError {
    #[error(
        "VRRP addresses and the IP header are of different families; send IPv4 addresses over IPv4 and IPv6 over IPv6"
    )]
    FamilyMismatch,
    #[error("a VRRP advert carries at most 255 addresses; split the group")]
    TooManyAddresses,
    #[error(
        "the VRRPv3 interval field holds at most 4095 centiseconds (40.95 s); lower the interval"
    )]
    IntervalTooLarge,
    #[error("buffer of {have} bytes is shorter than the {need}-byte advert")]
    BufferTooShort { need: usize, have: usize },
    #[error("IPv6 has no checksum without pseudo-header; use ChecksumStyle::PseudoHeader")]
    StyleNotForIpv6,
}

/// The IP addresses the checksum's pseudo-header is built from (source and destination of the
/// datagram the advert travels in). Its family also fixes the address size in the payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PseudoHeader {
    V4 { src: Ipv4Addr, dst: Ipv4Addr },
    V6 { src: Ipv6Addr, dst: Ipv6Addr },
}

impl PseudoHeader {
    /// Bytes per address in the payload.
    pub fn addr_len(&self) -> usize {
        match self {
            PseudoHeader::V4 { .. } => 4,
            PseudoHeader::V6 { .. } => 16,
        }
    }

    /// Sum of the pseudo-header for an upper-layer message of `len` bytes.
    fn seed(&self, len: usize) -> Accumulator {
        match self {
            // RFC 791/768 form: src, dst, zero, protocol, length (16 bit).
            PseudoHeader::V4 { src, dst } => Accumulator::new()
                .feed(&src.octets())
                .feed(&dst.octets())
                .feed(&[0, PROTO_CARP])
                .feed(&(len as u16).to_be_bytes()),
            // RFC 8200 §8.1: src, dst, 32-bit length, three zero bytes, next header.
            PseudoHeader::V6 { src, dst } => Accumulator::new()
                .feed(&src.octets())
                .feed(&dst.octets())
                .feed(&(len as u32).to_be_bytes())
                .feed(&[0, 0, 0, PROTO_CARP]),
        }
    }
}

/// How the sender computed the checksum.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum ChecksumStyle {
    /// With the IP pseudo-header (RFC 5798 as read by FreeBSD, keepalived, Wireshark).
    #[default]
    PseudoHeader,
    /// Over the VRRP message only, like VRRPv2 (IPv4 only: Cisco, Juniper, RFC 9568).
    NoPseudoHeader,
}

/// A read/write view of a VRRPv3 advertisement in a buffer.
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wrap without checking (accessors may panic on a short buffer).
    pub fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }
    /// Wrap after checking the fixed header is there.
    pub fn new_checked(buffer: T) -> Result<Packet<T>, ParseError> {
        if buffer.as_ref().len() < HEADER_LEN {
            return Err(ParseError::BadLen);
        }
        Ok(Packet { buffer })
    }
    pub fn into_inner(self) -> T {
        self.buffer
    }

    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_TYPE] >> 4
    }
    pub fn msg_type(&self) -> u8 {
        self.buffer.as_ref()[field::VER_TYPE] & 0x0f
    }
    pub fn vrid(&self) -> u8 {
        self.buffer.as_ref()[field::VRID]
    }
    pub fn priority(&self) -> u8 {
        self.buffer.as_ref()[field::PRIORITY]
    }
    pub fn addr_count(&self) -> u8 {
        self.buffer.as_ref()[field::COUNT]
    }
    /// The 4 reserved bits (senders write 0, receivers ignore them).
    pub fn reserved(&self) -> u8 {
        self.buffer.as_ref()[field::RSVD_INTERVAL.start] >> 4
    }
    /// Maximum advertisement interval in centiseconds (12 bits).
    pub fn max_adver_int(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::RSVD_INTERVAL];
        u16::from_be_bytes([b[0], b[1]]) & MAX_ADVER_INT
    }
    pub fn checksum(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::CHECKSUM];
        u16::from_be_bytes([b[0], b[1]])
    }
    /// Length of header plus the addresses the count announces, for addresses of `addr_len`.
    pub fn message_len(&self, addr_len: usize) -> usize {
        HEADER_LEN + usize::from(self.addr_count()) * addr_len
    }
    /// The raw address bytes (everything after the header; may include trailing bytes).
    pub fn address_bytes(&self) -> &[u8] {
        &self.buffer.as_ref()[field::ADDRESSES..]
    }
    /// Whether the checksum verifies in `style` for a datagram with this pseudo-header.
    /// False when the buffer is shorter than the message its count announces.
    pub fn verify_checksum(&self, pseudo: &PseudoHeader, style: ChecksumStyle) -> bool {
        let len = self.message_len(pseudo.addr_len());
        match self.buffer.as_ref().get(..len) {
            Some(message) => message_sum(message, pseudo, style) == 0,
            None => false,
        }
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    pub fn set_version_type(&mut self, version: u8, msg_type: u8) {
        self.buffer.as_mut()[field::VER_TYPE] = (version << 4) | (msg_type & 0x0f);
    }
    pub fn set_vrid(&mut self, value: u8) {
        self.buffer.as_mut()[field::VRID] = value;
    }
    pub fn set_priority(&mut self, value: u8) {
        self.buffer.as_mut()[field::PRIORITY] = value;
    }
    pub fn set_addr_count(&mut self, value: u8) {
        self.buffer.as_mut()[field::COUNT] = value;
    }
    /// Write the interval (centiseconds, masked to 12 bits) with the reserved bits zero.
    pub fn set_max_adver_int(&mut self, centiseconds: u16) {
        let value = centiseconds & MAX_ADVER_INT;
        self.buffer.as_mut()[field::RSVD_INTERVAL].copy_from_slice(&value.to_be_bytes());
    }
    pub fn set_checksum(&mut self, value: u16) {
        self.buffer.as_mut()[field::CHECKSUM].copy_from_slice(&value.to_be_bytes());
    }
    pub fn address_bytes_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::ADDRESSES..]
    }
    /// Compute and store the checksum over the message the count announces.
    /// Panics if the buffer is shorter than that message (the caller sized it).
    pub fn fill_checksum(&mut self, pseudo: &PseudoHeader, style: ChecksumStyle) {
        let len = self.message_len(pseudo.addr_len());
        self.set_checksum(0);
        let sum = message_sum(&self.buffer.as_ref()[..len], pseudo, style);
        self.set_checksum(sum);
    }
}

fn message_sum(message: &[u8], pseudo: &PseudoHeader, style: ChecksumStyle) -> u16 {
    match style {
        ChecksumStyle::PseudoHeader => pseudo.seed(message.len()).feed(message).finish(),
        ChecksumStyle::NoPseudoHeader => checksum::internet(message),
    }
}

/// The addresses an advert lists; one family per advert.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Addresses {
    V4(Vec<Ipv4Addr>),
    V6(Vec<Ipv6Addr>),
}

impl Addresses {
    pub fn len(&self) -> usize {
        match self {
            Addresses::V4(a) => a.len(),
            Addresses::V6(a) => a.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// All addresses as `IpAddr`, in packet order.
    pub fn to_ip_addrs(&self) -> Vec<IpAddr> {
        match self {
            Addresses::V4(a) => a.iter().copied().map(IpAddr::V4).collect(),
            Addresses::V6(a) => a.iter().copied().map(IpAddr::V6).collect(),
        }
    }
}

/// What a VRRPv3 advertisement says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Repr {
    pub vrid: u8,
    pub priority: u8,
    /// Maximum advertisement interval, centiseconds (0..=4095).
    pub max_adver_int: u16,
    pub addresses: Addresses,
    /// How the checksum was (to be) computed.
    pub checksum_style: ChecksumStyle,
}

impl Repr {
    /// Check length, version, type and checksum of a VRRPv3 advert carried in a datagram with
    /// this pseudo-header. Bytes after the announced addresses (padding) are ignored.
    pub fn parse<T: AsRef<[u8]>>(
        packet: &Packet<T>,
        pseudo: &PseudoHeader,
    ) -> Result<Repr, ParseError> {
        let buf = packet.buffer.as_ref();
        if buf.len() < HEADER_LEN {
            return Err(ParseError::BadLen);
        }
        if packet.version() != VERSION {
            return Err(ParseError::BadVer);
        }
        if packet.msg_type() != TYPE_ADVERTISEMENT {
            return Err(ParseError::BadType);
        }
        let len = packet.message_len(pseudo.addr_len());
        if buf.len() < len {
            return Err(ParseError::BadLen);
        }
        let checksum_style = if packet.verify_checksum(pseudo, ChecksumStyle::PseudoHeader) {
            ChecksumStyle::PseudoHeader
        } else if matches!(pseudo, PseudoHeader::V4 { .. })
            && packet.verify_checksum(pseudo, ChecksumStyle::NoPseudoHeader)
        {
            ChecksumStyle::NoPseudoHeader
        } else {
            return Err(ParseError::BadSum);
        };
        let raw = &buf[field::ADDRESSES..len];
        let addresses = match pseudo {
            PseudoHeader::V4 { .. } => Addresses::V4(
                raw.chunks_exact(4)
                    .map(|c| Ipv4Addr::new(c[0], c[1], c[2], c[3]))
                    .collect(),
            ),
            PseudoHeader::V6 { .. } => Addresses::V6(
                raw.chunks_exact(16)
                    .map(|c| {
                        let mut b = [0u8; 16];
                        b.copy_from_slice(c);
                        Ipv6Addr::from(b)
                    })
                    .collect(),
            ),
        };
        Ok(Repr {
            vrid: packet.vrid(),
            priority: packet.priority(),
            max_adver_int: packet.max_adver_int(),
            addresses,
            checksum_style,
        })
    }

    /// Bytes this advert occupies.
    pub fn buffer_len(&self) -> usize {
        let addr_len = match self.addresses {
            Addresses::V4(_) => 4,
            Addresses::V6(_) => 16,
        };
        HEADER_LEN + self.addresses.len() * addr_len
    }

    /// Write the advert, checksum included, into the first [`Repr::buffer_len`] bytes.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        packet: &mut Packet<T>,
        pseudo: &PseudoHeader,
    ) -> Result<(), EmitError> {
        let same_family = matches!(
            (&self.addresses, pseudo),
            (Addresses::V4(_), PseudoHeader::V4 { .. })
                | (Addresses::V6(_), PseudoHeader::V6 { .. })
        );
        if !same_family {
            return Err(EmitError::FamilyMismatch);
        }
        if matches!(pseudo, PseudoHeader::V6 { .. })
            && self.checksum_style == ChecksumStyle::NoPseudoHeader
        {
            return Err(EmitError::StyleNotForIpv6);
        }
        let count = u8::try_from(self.addresses.len()).map_err(|_| EmitError::TooManyAddresses)?;
        if self.max_adver_int > MAX_ADVER_INT {
            return Err(EmitError::IntervalTooLarge);
        }
        let need = self.buffer_len();
        let have = packet.buffer.as_ref().len();
        if have < need {
            return Err(EmitError::BufferTooShort { need, have });
        }
        packet.set_version_type(VERSION, TYPE_ADVERTISEMENT);
        packet.set_vrid(self.vrid);
        packet.set_priority(self.priority);
        packet.set_addr_count(count);
        packet.set_max_adver_int(self.max_adver_int);
        let out = packet.address_bytes_mut();
        match &self.addresses {
            Addresses::V4(addrs) => {
                for (slot, a) in out.chunks_exact_mut(4).zip(addrs) {
                    slot.copy_from_slice(&a.octets());
                }
            }
            Addresses::V6(addrs) => {
                for (slot, a) in out.chunks_exact_mut(16).zip(addrs) {
                    slot.copy_from_slice(&a.octets());
                }
            }
        }
        packet.fill_checksum(pseudo, self.checksum_style);
        Ok(())
    }

    /// The advert as a new buffer.
    pub fn to_bytes(&self, pseudo: &PseudoHeader) -> Result<Vec<u8>, EmitError> {
        let mut buf = vec![0u8; self.buffer_len()];
        self.emit(&mut Packet::new_unchecked(&mut buf[..]), pseudo)?;
        Ok(buf)
    }
}

/// What a protocol-112 payload is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Proto112 {
    /// CARP, or something with CARP's version nibble that is not a well-formed VRRPv2 packet:
    /// hand it to the CARP parser, which counts what is wrong with it, as FreeBSD would.
    Carp,
    /// VRRPv2 (RFC 3768, IPv4 only): version 2 and exactly `16 + 4·count` bytes.
    VrrpV2,
    /// VRRPv3 (RFC 5798, or FreeBSD 15's VRRP mode): version 3.
    VrrpV3,
    /// Empty, or a version nibble no protocol-112 protocol uses (FreeBSD counts it `badver`).
    Unknown,
}

/// Tell CARP and VRRP apart on protocol 112 (carp-spec §1.4), from the IP payload alone.
///
/// CARP and VRRPv2 share the first byte (`0x21`). A VRRPv2 advert is 8 header bytes, 4 per
/// address and 8 bytes of authentication data; CARP is 36 bytes with byte 3 (`authlen`,
/// VRRPv2's address count) = 7, which VRRPv2 would read as a 44-byte packet. So a payload whose
/// length is exactly the VRRPv2 length for its count is VRRPv2, anything else with version 2 is
/// CARP. That includes the one overlap, 44 bytes with byte 3 = 7: every CARP sender puts
/// exactly 36 bytes in the IP payload, so 44 bytes is VRRPv2 with seven addresses. (The CARP
/// checksum cannot settle it: VRRPv2 with empty authentication data sums to zero over its
/// first 36 bytes as well.)
///
/// The payload must be trimmed to the IP length (as [`super::ip::parse_ipv4`] does), or a
/// padded VRRPv2 advert would be taken for CARP and counted as a bad CARP packet.
pub fn classify(payload: &[u8]) -> Proto112 {
    let Some(&first) = payload.first() else {
        return Proto112::Unknown;
    };
    match first >> 4 {
        VERSION => Proto112::VrrpV3,
        carp::VERSION => {
            let Some(&count) = payload.get(3) else {
                return Proto112::Carp;
            };
            if payload.len() == 16 + 4 * usize::from(count) {
                Proto112::VrrpV2
            } else {
                Proto112::Carp
            }
        }
        _ => Proto112::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Vector V4 of carp-spec §11: VRID 7, priority 100, 100 cs, 192.0.2.100, pseudo-header sum.
    static PACKET_BYTES: [u8; 12] = [
        0x31, 0x07, 0x64, 0x01, 0x00, 0x64, 0x05, 0x9e, 0xc0, 0x00, 0x02, 0x64,
    ];

    fn pseudo() -> PseudoHeader {
        PseudoHeader::V4 {
            src: Ipv4Addr::new(192, 0, 2, 1),
            dst: Ipv4Addr::new(224, 0, 0, 18),
        }
    }

    fn packet_repr() -> Repr {
        Repr {
            vrid: 7,
            priority: 100,
            max_adver_int: 100,
            addresses: Addresses::V4(vec![Ipv4Addr::new(192, 0, 2, 100)]),
            checksum_style: ChecksumStyle::PseudoHeader,
        }
    }

    #[test]
    fn test_deconstruct() {
        let packet = Packet::new_checked(&PACKET_BYTES[..]).unwrap();
        assert_eq!(packet.version(), 3);
        assert_eq!(packet.msg_type(), 1);
        assert_eq!(packet.vrid(), 7);
        assert_eq!(packet.priority(), 100);
        assert_eq!(packet.addr_count(), 1);
        assert_eq!(packet.reserved(), 0);
        assert_eq!(packet.max_adver_int(), 100);
        assert_eq!(packet.checksum(), 0x059e);
        assert_eq!(packet.address_bytes(), &[0xc0, 0x00, 0x02, 0x64]);
        assert!(packet.verify_checksum(&pseudo(), ChecksumStyle::PseudoHeader));
        assert!(!packet.verify_checksum(&pseudo(), ChecksumStyle::NoPseudoHeader));
    }

    #[test]
    fn test_construct() {
        let mut bytes = [0xa5u8; 12];
        let mut packet = Packet::new_unchecked(&mut bytes[..]);
        packet.set_version_type(3, 1);
        packet.set_vrid(7);
        packet.set_priority(100);
        packet.set_addr_count(1);
        packet.set_max_adver_int(100);
        packet
            .address_bytes_mut()
            .copy_from_slice(&[0xc0, 0x00, 0x02, 0x64]);
        packet.fill_checksum(&pseudo(), ChecksumStyle::PseudoHeader);
        assert_eq!(packet.into_inner(), &PACKET_BYTES[..]);
    }

    #[test]
    fn test_parse() {
        let packet = Packet::new_checked(&PACKET_BYTES[..]).unwrap();
        assert_eq!(Repr::parse(&packet, &pseudo()), Ok(packet_repr()));
    }

    #[test]
    fn test_emit() {
        assert_eq!(
            packet_repr().to_bytes(&pseudo()).unwrap(),
            PACKET_BYTES.to_vec()
        );
    }

    #[test]
    fn v4_without_pseudo_header_is_0xa82e_and_accepted() {
        let repr = Repr {
            checksum_style: ChecksumStyle::NoPseudoHeader,
            ..packet_repr()
        };
        let bytes = repr.to_bytes(&pseudo()).unwrap();
        assert_eq!(&bytes[6..8], &[0xa8, 0x2e]);
        assert_eq!(
            Repr::parse(&Packet::new_unchecked(&bytes[..]), &pseudo()),
            Ok(repr)
        );
    }

    #[test]
    fn pseudo_header_binds_the_addresses() {
        let other = PseudoHeader::V4 {
            src: Ipv4Addr::new(192, 0, 2, 2),
            dst: Ipv4Addr::new(224, 0, 0, 18),
        };
        let packet = Packet::new_unchecked(&PACKET_BYTES[..]);
        assert_eq!(Repr::parse(&packet, &other), Err(ParseError::BadSum));
    }

    #[test]
    fn ipv6_round_trip_and_no_v2_style() {
        let pseudo = PseudoHeader::V6 {
            src: "fe80::1".parse().unwrap(),
            dst: "ff02::12".parse().unwrap(),
        };
        let repr = Repr {
            vrid: 9,
            priority: 255,
            max_adver_int: 4095,
            addresses: Addresses::V6(vec![
                "2001:db8::1".parse().unwrap(),
                "2001:db8::2".parse().unwrap(),
            ]),
            checksum_style: ChecksumStyle::PseudoHeader,
        };
        let bytes = repr.to_bytes(&pseudo).unwrap();
        assert_eq!(bytes.len(), 8 + 32);
        assert_eq!(
            Repr::parse(&Packet::new_unchecked(&bytes[..]), &pseudo),
            Ok(repr.clone())
        );
        // A v2-style checksum is not accepted over IPv6.
        let mut v2style = bytes.clone();
        let mut p = Packet::new_unchecked(&mut v2style[..]);
        p.fill_checksum(&pseudo, ChecksumStyle::NoPseudoHeader);
        assert_eq!(Repr::parse(&p, &pseudo), Err(ParseError::BadSum));
        let bad = Repr {
            checksum_style: ChecksumStyle::NoPseudoHeader,
            ..repr
        };
        assert_eq!(bad.to_bytes(&pseudo), Err(EmitError::StyleNotForIpv6));
    }

    #[test]
    fn parse_errors() {
        let p = pseudo();
        assert_eq!(
            Repr::parse(&Packet::new_unchecked(&PACKET_BYTES[..7]), &p),
            Err(ParseError::BadLen)
        );
        assert_eq!(
            Packet::new_checked(&PACKET_BYTES[..7]).unwrap_err(),
            ParseError::BadLen
        );
        // Count says 1 address, only 2 of its 4 bytes are there.
        assert_eq!(
            Repr::parse(&Packet::new_unchecked(&PACKET_BYTES[..10]), &p),
            Err(ParseError::BadLen)
        );
        let mut v2 = PACKET_BYTES;
        v2[0] = 0x21;
        assert_eq!(
            Repr::parse(&Packet::new_unchecked(&v2[..]), &p),
            Err(ParseError::BadVer)
        );
        let mut ty = PACKET_BYTES;
        ty[0] = 0x32;
        assert_eq!(
            Repr::parse(&Packet::new_unchecked(&ty[..]), &p),
            Err(ParseError::BadType)
        );
        let mut sum = PACKET_BYTES;
        sum[11] ^= 1;
        assert_eq!(
            Repr::parse(&Packet::new_unchecked(&sum[..]), &p),
            Err(ParseError::BadSum)
        );
        // Trailing padding is not part of the message.
        let mut padded = PACKET_BYTES.to_vec();
        padded.extend_from_slice(&[0; 6]);
        assert_eq!(
            Repr::parse(&Packet::new_unchecked(&padded[..]), &p),
            Ok(packet_repr())
        );
    }

    #[test]
    fn reserved_bits_are_ignored() {
        let mut bytes = PACKET_BYTES;
        bytes[4] |= 0xf0;
        let mut p = Packet::new_unchecked(&mut bytes[..]);
        assert_eq!(p.reserved(), 0xf);
        assert_eq!(p.max_adver_int(), 100);
        // Re-checksum the changed word: the advert must then parse as if the bits were zero.
        p.fill_checksum(&pseudo(), ChecksumStyle::PseudoHeader);
        assert_eq!(Repr::parse(&p, &pseudo()), Ok(packet_repr()));
    }

    #[test]
    fn emit_errors() {
        let p = pseudo();
        let v6 = Repr {
            addresses: Addresses::V6(vec![Ipv6Addr::LOCALHOST]),
            ..packet_repr()
        };
        assert_eq!(v6.to_bytes(&p), Err(EmitError::FamilyMismatch));
        let many = Repr {
            addresses: Addresses::V4(vec![Ipv4Addr::LOCALHOST; 256]),
            ..packet_repr()
        };
        assert_eq!(many.to_bytes(&p), Err(EmitError::TooManyAddresses));
        let slow = Repr {
            max_adver_int: 4096,
            ..packet_repr()
        };
        assert_eq!(slow.to_bytes(&p), Err(EmitError::IntervalTooLarge));
        let mut small = [0u8; 11];
        assert_eq!(
            packet_repr().emit(&mut Packet::new_unchecked(&mut small[..]), &p),
            Err(EmitError::BufferTooShort { need: 12, have: 11 })
        );
    }

    /// CARP V1 header (carp-spec §11).
    const CARP_V1: [u8; 36] = [
        0x21, 0x01, 0x00, 0x07, 0x00, 0x01, 0x04, 0x8a, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
        0x08, 0x14, 0xca, 0x3f, 0x7a, 0xd2, 0xd3, 0x66, 0xda, 0x5a, 0xbe, 0x95, 0xe5, 0xe1, 0x6b,
        0x06, 0x2e, 0x9c, 0xfd, 0xc7, 0x2a,
    ];

    #[test]
    fn classify_carp_vrrp() {
        assert_eq!(classify(&CARP_V1), Proto112::Carp);
        assert_eq!(classify(&PACKET_BYTES), Proto112::VrrpV3);
        assert_eq!(classify(&[]), Proto112::Unknown);
        assert_eq!(classify(&[0x11; 36]), Proto112::Unknown);
        assert_eq!(classify(&[0x41; 36]), Proto112::Unknown);
        // Short version-2 garbage goes to the CARP parser to be counted as badlen.
        assert_eq!(classify(&[0x21]), Proto112::Carp);
        assert_eq!(classify(&CARP_V1[..20]), Proto112::Carp);

        // A VRRPv2 advert: VRID 1, prio 100, 1 address, no auth, 1 s, checksum, addr, auth data.
        let mut v2 = vec![
            0x21, 0x01, 0x64, 0x01, 0x00, 0x01, 0x00, 0x00, 192, 0, 2, 100,
        ];
        v2.extend_from_slice(&[0; 8]);
        let sum = checksum::internet(&v2);
        v2[6..8].copy_from_slice(&sum.to_be_bytes());
        assert_eq!(classify(&v2), Proto112::VrrpV2);
        // Padded (untrimmed) VRRPv2 is no longer recognisable as such.
        let mut padded = v2.clone();
        padded.extend_from_slice(&[0; 26]);
        assert_eq!(classify(&padded), Proto112::Carp);

        // The overlap: 44 bytes with count 7 is a VRRPv2 advert with 7 addresses (whose CARP
        // checksum over the first 36 bytes happens to verify too, as the auth data is zero).
        let mut v2_7 = vec![0x21, 0x01, 0x64, 0x07, 0x00, 0x01, 0x00, 0x00];
        for i in 1..=7u8 {
            v2_7.extend_from_slice(&[192, 0, 2, i]);
        }
        v2_7.extend_from_slice(&[0; 8]);
        let sum = checksum::internet(&v2_7);
        v2_7[6..8].copy_from_slice(&sum.to_be_bytes());
        assert_eq!(v2_7.len(), 44);
        assert_eq!(checksum::internet(&v2_7[..36]), 0);
        assert_eq!(classify(&v2_7), Proto112::VrrpV2);
        // CARP with 7 bytes or 9 bytes of trailing junk is still CARP.
        let mut carp43 = CARP_V1.to_vec();
        carp43.extend_from_slice(&[0; 7]);
        assert_eq!(classify(&carp43), Proto112::Carp);
        carp43.extend_from_slice(&[0; 2]);
        assert_eq!(classify(&carp43), Proto112::Carp);
    }
}
