//! VRRPv3 (RFC 5798, carp-spec §7): header parse/emit with the pseudo-header checksum, so that
//! VRRP traffic on protocol 112 is recognised (and counted, not mistaken for CARP).

/// What a protocol-112 payload looks like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proto112 {
    Carp,
    VrrpV2,
    VrrpV3,
    Unknown,
}

pub fn classify(payload: &[u8]) -> Proto112 {
    let _ = payload;
    todo!("wire: classify")
}
