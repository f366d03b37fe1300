//! Packets on protocol 112, smoltcp style: zero-copy `Packet<T: AsRef<[u8]>>` views with typed
//! accessors and a `Repr` that parses and emits. No state, no I/O.
//!
//! - [`checksum`]: the Internet checksum (CARP: over the 36-byte header only, no pseudo-header).
//! - [`carp`]: the 36-byte CARP header.
//! - [`auth`]: FreeBSD-exact HMAC-SHA1 over `02 01 vhid ‖ sorted addresses ‖ counter`.
//! - [`ip`]: IPv4/IPv6 framing for adverts (TTL/hop limit 255, DSCP 56, DF), parsing of
//!   what a raw IPv4 socket hands back, and Ethernet frames/MACs for tools and tests.
//! - [`vrrp`]: VRRPv3 (RFC 5798) with the pseudo-header checksum, and [`vrrp::classify`],
//!   which tells CARP, VRRPv2 and VRRPv3 apart so VRRP on protocol 112 is counted as VRRP.
//!
//! Receive path, in order: [`ip::parse_ipv4`] (IPv4 only; IPv6 raw sockets return the payload)
//! → [`vrrp::classify`] → [`carp::Repr::parse`] (badlen/badver/badsum/badtype) → TTL check
//! (caller) → [`auth::CarpAuth::verify`] (badauth).

pub mod auth;
pub mod carp;
pub mod checksum;
pub mod ip;
pub mod vrrp;
