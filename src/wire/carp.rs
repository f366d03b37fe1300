//! The CARP header (carp-spec §1.1): 36 bytes, version 2 / type 1, checksum over the header only.
//!
//! ```text
//!  0       1       2       3       4       5       6       7
//! +---+---+-------+-------+-------+-------+-------+---------------+
//! |ver|typ| vhid  |advskew|authlen|demote |advbase|   checksum    |
//! +---+---+-------+-------+-------+-------+-------+---------------+
//! |                 counter (64-bit, big-endian)                  |
//! +---------------------------------------------------------------+
//! |                  HMAC-SHA1 (20 bytes, 16..36)                 |
//! +---------------------------------------------------------------+
//! ```
//!
//! # Which bytes the checksum covers when parsing
//!
//! carpd verifies the checksum over the 36-byte header, on both families, and ignores anything
//! after it. FreeBSD checksums exactly 36 bytes for IPv6 and the whole IP payload for IPv4.
//! Every known sender (FreeBSD, OpenBSD, ucarp, carpd) puts exactly 36 bytes in the IP
//! payload, and on those packets the two rules agree. They differ only for an IPv4 payload with
//! bytes after the header: such bytes are not part of any CARP message, and Ethernet padding
//! (when a caller hands over a frame that was not trimmed to the IP total length) must not turn
//! a good advert into a `badsum`. [`Packet::verify_checksum_over`] offers FreeBSD's IPv4 rule
//! for a caller that wants it.

use super::checksum;

/// Length of a CARP header on the wire.
pub const HEADER_LEN: usize = 36;
/// `authlen` FreeBSD always sends (2 counter words + 5 HMAC words).
pub const AUTHLEN: u8 = 7;
pub const VERSION: u8 = 2;
pub const TYPE_ADVERTISEMENT: u8 = 1;
/// Length of the HMAC-SHA1 digest carried in bytes 16..36.
pub const HMAC_LEN: usize = 20;

/// Below this length FreeBSD does not even look at the version (`carp_input`'s first check is
/// "at least 8 bytes"); between 8 and 36 a wrong version is `badver`, a right one `badlen`.
const MIN_VERSION_LEN: usize = 8;

/// Byte ranges of the header fields.
mod field {
    pub type Field = core::ops::Range<usize>;

    pub const VER_TYPE: usize = 0;
    pub const VHID: usize = 1;
    pub const ADVSKEW: usize = 2;
    pub const AUTHLEN: usize = 3;
    /// FreeBSD's `carp_pad1`, OpenBSD's `carp_demote`.
    pub const DEMOTE: usize = 4;
    pub const ADVBASE: usize = 5;
    pub const CHECKSUM: Field = 6..8;
    pub const COUNTER: Field = 8..16;
    pub const HMAC: Field = 16..36;
}

/// Why a buffer is not a CARP advertisement. Named after FreeBSD's `carpstats` counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
pub enum ParseError {
    /// Shorter than 36 bytes (`badlen`).
    #[error("badlen")]
    BadLen,
    /// Version nibble is not 2 (`badver`).
    #[error("badver")]
    BadVer,
    /// Type nibble is not 1 (`badtype`; FreeBSD does not check it, carpd counts it).
    #[error("badtype")]
    BadType,
    /// Internet checksum over the header does not verify (`badsum`).
    #[error("badsum")]
    BadSum,
}

impl ParseError {
    /// The counter name used in status and logs (`badlen`, `badver`, `badtype`, `badsum`).
    pub fn stat_name(self) -> &'static str {
        match self {
            ParseError::BadLen => "badlen",
            ParseError::BadVer => "badver",
            ParseError::BadType => "badtype",
            ParseError::BadSum => "badsum",
        }
    }
}

/// A read/write view of a CARP header in a buffer.
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wrap without checking (accessors may panic on a short buffer).
    pub fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }
    /// Wrap after checking the length.
    pub fn new_checked(buffer: T) -> Result<Packet<T>, ParseError> {
        if buffer.as_ref().len() < HEADER_LEN {
            return Err(ParseError::BadLen);
        }
        Ok(Packet { buffer })
    }
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Whether the buffer holds a whole header (what `new_checked` checks).
    pub fn check_len(&self) -> Result<(), ParseError> {
        if self.buffer.as_ref().len() < HEADER_LEN {
            Err(ParseError::BadLen)
        } else {
            Ok(())
        }
    }

    /// High nibble of byte 0; the byte order of C bitfields never changes it on the wire.
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_TYPE] >> 4
    }
    /// Low nibble of byte 0 (1 = advertisement, the only type there is).
    pub fn msg_type(&self) -> u8 {
        self.buffer.as_ref()[field::VER_TYPE] & 0x0f
    }
    pub fn vhid(&self) -> u8 {
        self.buffer.as_ref()[field::VHID]
    }
    pub fn advskew(&self) -> u8 {
        self.buffer.as_ref()[field::ADVSKEW]
    }
    /// Length of counter + HMAC in 32-bit words; 7 from every known sender, checked by nobody.
    pub fn authlen(&self) -> u8 {
        self.buffer.as_ref()[field::AUTHLEN]
    }
    /// Byte 4: 0 from FreeBSD, the interface-group demotion count from OpenBSD.
    pub fn demote(&self) -> u8 {
        self.buffer.as_ref()[field::DEMOTE]
    }
    pub fn advbase(&self) -> u8 {
        self.buffer.as_ref()[field::ADVBASE]
    }
    pub fn checksum(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::CHECKSUM];
        u16::from_be_bytes([b[0], b[1]])
    }
    /// The two 32-bit counter words, high word first, read as one big-endian u64.
    pub fn counter(&self) -> u64 {
        let mut b = [0u8; 8];
        b.copy_from_slice(&self.buffer.as_ref()[field::COUNTER]);
        u64::from_be_bytes(b)
    }
    pub fn hmac(&self) -> [u8; HMAC_LEN] {
        let mut b = [0u8; HMAC_LEN];
        b.copy_from_slice(&self.buffer.as_ref()[field::HMAC]);
        b
    }
    /// Whether the checksum over the 36-byte header verifies (see the module comment).
    pub fn verify_checksum(&self) -> bool {
        checksum::internet(&self.buffer.as_ref()[..HEADER_LEN]) == 0
    }
    /// Whether the checksum over the first `len` bytes verifies: FreeBSD's IPv4 rule when `len`
    /// is the IP payload length. False if the buffer is shorter than `len`.
    pub fn verify_checksum_over(&self, len: usize) -> bool {
        match self.buffer.as_ref().get(..len) {
            Some(bytes) => checksum::internet(bytes) == 0,
            None => false,
        }
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Write version (high nibble) and type (low nibble) of byte 0.
    pub fn set_version_type(&mut self, version: u8, msg_type: u8) {
        self.buffer.as_mut()[field::VER_TYPE] = (version << 4) | (msg_type & 0x0f);
    }
    pub fn set_vhid(&mut self, value: u8) {
        self.buffer.as_mut()[field::VHID] = value;
    }
    pub fn set_advskew(&mut self, value: u8) {
        self.buffer.as_mut()[field::ADVSKEW] = value;
    }
    pub fn set_authlen(&mut self, value: u8) {
        self.buffer.as_mut()[field::AUTHLEN] = value;
    }
    pub fn set_demote(&mut self, value: u8) {
        self.buffer.as_mut()[field::DEMOTE] = value;
    }
    pub fn set_advbase(&mut self, value: u8) {
        self.buffer.as_mut()[field::ADVBASE] = value;
    }
    pub fn set_checksum(&mut self, value: u16) {
        self.buffer.as_mut()[field::CHECKSUM].copy_from_slice(&value.to_be_bytes());
    }
    pub fn set_counter(&mut self, value: u64) {
        self.buffer.as_mut()[field::COUNTER].copy_from_slice(&value.to_be_bytes());
    }
    pub fn set_hmac(&mut self, value: &[u8; HMAC_LEN]) {
        self.buffer.as_mut()[field::HMAC].copy_from_slice(value);
    }
    /// Compute the checksum over the 36-byte header (field zeroed first) and store it.
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let sum = checksum::internet(&self.buffer.as_ref()[..HEADER_LEN]);
        self.set_checksum(sum);
    }
}

/// What a CARP advertisement says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Repr {
    pub vhid: u8,
    pub advskew: u8,
    pub advbase: u8,
    /// Byte 4: FreeBSD sends 0 ("reserved"), OpenBSD its demotion count.
    pub demote: u8,
    pub counter: u64,
    pub hmac: [u8; 20],
}

impl Repr {
    /// Check version, type, checksum; the HMAC is checked by [`super::auth`].
    ///
    /// Checks run in FreeBSD's order so carpd's counters match `netstat -s -p carp`:
    /// length ≥ 8 (`badlen`), version (`badver`), length ≥ 36 (`badlen`), checksum (`badsum`).
    /// The type comes last because FreeBSD does not check it at all: only a packet the kernel
    /// would have accepted is counted as `badtype`. `authlen` is not checked (FreeBSD does not).
    /// Bytes after the 36-byte header are ignored.
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Repr, ParseError> {
        let len = packet.buffer.as_ref().len();
        if len < MIN_VERSION_LEN {
            return Err(ParseError::BadLen);
        }
        if packet.version() != VERSION {
            return Err(ParseError::BadVer);
        }
        packet.check_len()?;
        if !packet.verify_checksum() {
            return Err(ParseError::BadSum);
        }
        if packet.msg_type() != TYPE_ADVERTISEMENT {
            return Err(ParseError::BadType);
        }
        Ok(Repr {
            vhid: packet.vhid(),
            advskew: packet.advskew(),
            advbase: packet.advbase(),
            demote: packet.demote(),
            counter: packet.counter(),
            hmac: packet.hmac(),
        })
    }
    /// Write the header, checksum included, into the first 36 bytes.
    ///
    /// Panics if the buffer is shorter than [`HEADER_LEN`]: the caller owns the buffer and sizes
    /// it, so a short one is a bug, not input.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        packet.set_version_type(VERSION, TYPE_ADVERTISEMENT);
        packet.set_vhid(self.vhid);
        packet.set_advskew(self.advskew);
        packet.set_authlen(AUTHLEN);
        packet.set_demote(self.demote);
        packet.set_advbase(self.advbase);
        packet.set_counter(self.counter);
        packet.set_hmac(&self.hmac);
        packet.fill_checksum();
    }
    /// The 36 bytes of this header.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut buf = [0u8; HEADER_LEN];
        self.emit(&mut Packet::new_unchecked(&mut buf[..]));
        buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Vector V1 of carp-spec §11 (key "secret", vhid 1, counter 0x0102030405060708).
    static PACKET_BYTES: [u8; 36] = [
        0x21, 0x01, 0x00, 0x07, 0x00, 0x01, 0x04, 0x8a, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
        0x08, 0x14, 0xca, 0x3f, 0x7a, 0xd2, 0xd3, 0x66, 0xda, 0x5a, 0xbe, 0x95, 0xe5, 0xe1, 0x6b,
        0x06, 0x2e, 0x9c, 0xfd, 0xc7, 0x2a,
    ];

    static HMAC_BYTES: [u8; 20] = [
        0x14, 0xca, 0x3f, 0x7a, 0xd2, 0xd3, 0x66, 0xda, 0x5a, 0xbe, 0x95, 0xe5, 0xe1, 0x6b, 0x06,
        0x2e, 0x9c, 0xfd, 0xc7, 0x2a,
    ];

    fn packet_repr() -> Repr {
        Repr {
            vhid: 1,
            advskew: 0,
            advbase: 1,
            demote: 0,
            counter: 0x0102_0304_0506_0708,
            hmac: HMAC_BYTES,
        }
    }

    #[test]
    fn test_deconstruct() {
        let packet = Packet::new_checked(&PACKET_BYTES[..]).unwrap();
        assert_eq!(packet.version(), 2);
        assert_eq!(packet.msg_type(), 1);
        assert_eq!(packet.vhid(), 1);
        assert_eq!(packet.advskew(), 0);
        assert_eq!(packet.authlen(), 7);
        assert_eq!(packet.demote(), 0);
        assert_eq!(packet.advbase(), 1);
        assert_eq!(packet.checksum(), 0x048a);
        assert_eq!(packet.counter(), 0x0102_0304_0506_0708);
        assert_eq!(packet.hmac(), HMAC_BYTES);
        assert!(packet.verify_checksum());
        assert!(packet.verify_checksum_over(36));
        assert!(!packet.verify_checksum_over(37));
    }

    #[test]
    fn test_construct() {
        let mut bytes = [0xa5u8; 36];
        let mut packet = Packet::new_unchecked(&mut bytes[..]);
        packet.set_version_type(2, 1);
        packet.set_vhid(1);
        packet.set_advskew(0);
        packet.set_authlen(7);
        packet.set_demote(0);
        packet.set_advbase(1);
        packet.set_counter(0x0102_0304_0506_0708);
        packet.set_hmac(&HMAC_BYTES);
        packet.fill_checksum();
        assert_eq!(&packet.into_inner()[..], &PACKET_BYTES[..]);
    }

    #[test]
    fn test_parse() {
        let packet = Packet::new_checked(&PACKET_BYTES[..]).unwrap();
        assert_eq!(Repr::parse(&packet), Ok(packet_repr()));
    }

    #[test]
    fn test_emit() {
        let mut bytes = [0xffu8; 36];
        packet_repr().emit(&mut Packet::new_unchecked(&mut bytes[..]));
        assert_eq!(bytes, PACKET_BYTES);
        assert_eq!(packet_repr().to_bytes(), PACKET_BYTES);
    }

    #[test]
    fn emit_into_a_longer_buffer_touches_only_the_header() {
        let mut bytes = [0xeeu8; 40];
        packet_repr().emit(&mut Packet::new_unchecked(&mut bytes[..]));
        assert_eq!(&bytes[..36], &PACKET_BYTES[..]);
        assert_eq!(&bytes[36..], &[0xee; 4]);
    }

    #[test]
    fn trailing_bytes_are_ignored() {
        // E.g. a frame handed over untrimmed: the header still parses.
        let mut bytes = PACKET_BYTES.to_vec();
        bytes.extend_from_slice(&[0xde, 0xad, 0xbe, 0xef]);
        let packet = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(Repr::parse(&packet), Ok(packet_repr()));
        // FreeBSD's IPv4 rule (whole payload) would reject it.
        assert!(!packet.verify_checksum_over(bytes.len()));
    }

    #[test]
    fn short_buffers_are_badlen() {
        assert_eq!(
            Packet::new_checked(&PACKET_BYTES[..35]).unwrap_err(),
            ParseError::BadLen
        );
        for len in [0, 1, 7, 8, 20, 35] {
            let packet = Packet::new_unchecked(&PACKET_BYTES[..len]);
            assert_eq!(Repr::parse(&packet), Err(ParseError::BadLen), "len {len}");
        }
    }

    #[test]
    fn wrong_version_is_badver_even_when_short() {
        // FreeBSD checks the version once 8 bytes are there, before the full length.
        let mut bytes = PACKET_BYTES;
        bytes[0] = 0x31; // VRRPv3
        assert_eq!(
            Repr::parse(&Packet::new_unchecked(&bytes[..12])),
            Err(ParseError::BadVer)
        );
        assert_eq!(
            Repr::parse(&Packet::new_unchecked(&bytes[..])),
            Err(ParseError::BadVer)
        );
        bytes[0] = 0x11;
        assert_eq!(
            Repr::parse(&Packet::new_unchecked(&bytes[..])),
            Err(ParseError::BadVer)
        );
    }

    #[test]
    fn corrupted_byte_is_badsum() {
        for i in 1..36 {
            let mut bytes = PACKET_BYTES;
            bytes[i] ^= 0x40;
            let packet = Packet::new_unchecked(&bytes[..]);
            assert_eq!(Repr::parse(&packet), Err(ParseError::BadSum), "byte {i}");
        }
    }

    #[test]
    fn wrong_type_with_good_checksum_is_badtype() {
        let mut bytes = PACKET_BYTES;
        let mut packet = Packet::new_unchecked(&mut bytes[..]);
        packet.set_version_type(2, 2);
        packet.fill_checksum();
        assert_eq!(Repr::parse(&packet), Err(ParseError::BadType));
        assert_eq!(ParseError::BadType.stat_name(), "badtype");
    }

    #[test]
    fn wrong_type_with_bad_checksum_is_badsum() {
        let mut bytes = PACKET_BYTES;
        bytes[0] = 0x22;
        assert_eq!(
            Repr::parse(&Packet::new_unchecked(&bytes[..])),
            Err(ParseError::BadSum)
        );
    }

    #[test]
    fn authlen_is_not_checked() {
        let mut bytes = PACKET_BYTES;
        let mut packet = Packet::new_unchecked(&mut bytes[..]);
        packet.set_authlen(0);
        packet.fill_checksum();
        assert_eq!(Repr::parse(&packet), Ok(packet_repr()));
    }

    #[test]
    fn openbsd_demote_byte_round_trips() {
        let repr = Repr {
            demote: 3,
            ..packet_repr()
        };
        let bytes = repr.to_bytes();
        assert_eq!(bytes[4], 3);
        assert_eq!(Repr::parse(&Packet::new_unchecked(&bytes[..])), Ok(repr));
    }
}
