//! Packets on protocol 112, smoltcp style: zero-copy `Packet<T: AsRef<[u8]>>` views with typed
//! accessors and a `Repr` that parses and emits. No state, no I/O.
//!
//! - [`checksum`]: the Internet checksum (CARP: over the 36-byte header only, no pseudo-header).
//! - [`carp`]: the 36-byte CARP header.
//! - [`auth`]: FreeBSD-exact HMAC-SHA1 over `02 01 vhid ‖ sorted addresses ‖ counter`.
//! - [`ip`]: IPv4/IPv6 framing for adverts (TTL/hop limit 255, DSCP 56, DF) and parsing of
//!   what a raw socket hands back.
//! - [`vrrp`]: VRRPv3 (RFC 5798), so VRRP on protocol 112 is recognised and counted.

pub mod auth;
pub mod carp;
pub mod checksum;
pub mod ip;
pub mod vrrp;
