//! VRRPv3 (RFC 5798, carp-spec §7): header parse/emit with the pseudo-header checksum, so that
//! VRRP traffic on protocol 112 is recognised (and counted, not mistaken for CARP).
