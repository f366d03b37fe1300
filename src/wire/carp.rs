//! The CARP header (carp-spec §1.1): 36 bytes, version 2 / type 1, checksum over the header only.

/// Length of a CARP header on the wire.
pub const HEADER_LEN: usize = 36;
/// `authlen` FreeBSD always sends (2 counter words + 5 HMAC words).
pub const AUTHLEN: u8 = 7;
pub const VERSION: u8 = 2;
pub const TYPE_ADVERTISEMENT: u8 = 1;

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
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Repr, ParseError> {
        let _ = packet;
        todo!("wire: carp parse")
    }
    /// Write the header, checksum included, into the first 36 bytes.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        let _ = packet;
        todo!("wire: carp emit")
    }
    /// The 36 bytes of this header.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut buf = [0u8; HEADER_LEN];
        self.emit(&mut Packet::new_unchecked(&mut buf[..]));
        buf
    }
}
