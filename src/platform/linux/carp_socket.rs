//! Raw protocol-112 sockets, one per (interface, family), shared by every VHID on it.
//!
//! IPv4: joined to 224.0.0.18 on the interface, bound to it (SO_BINDTODEVICE) and to its own
//! address as source, TTL 255 (unicast and multicast), ToS 0xE0, DF, multicast loopback off.
//! IPv6: joined to ff02::12, hop limit 255, traffic class 0xE0, hop limit of received packets
//! reported (IPV6_RECVHOPLIMIT), source = the interface's link-local address.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::proto::Family;

/// One datagram as received, with what the receive checks need.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Received {
    pub family: Family,
    pub src: IpAddr,
    pub dst: IpAddr,
    /// TTL (IPv4 header) or hop limit (IPV6_HOPLIMIT ancillary data).
    pub ttl: u8,
    /// The protocol-112 payload (CARP or VRRP header), IP header stripped.
    pub payload: Vec<u8>,
}

#[derive(Debug)]
pub struct CarpSocket {
    _private: (),
}

impl CarpSocket {
    /// Open the IPv4 socket of `ifname`, sending from `src`.
    pub fn open_v4(ifname: &str, src: Ipv4Addr) -> std::io::Result<CarpSocket> {
        let _ = (ifname, src);
        todo!("platform: open_v4")
    }
    /// Open the IPv6 socket of `ifname`, sending from the link-local `src`.
    pub fn open_v6(ifname: &str, src: Ipv6Addr) -> std::io::Result<CarpSocket> {
        let _ = (ifname, src);
        todo!("platform: open_v6")
    }
    pub fn family(&self) -> Family {
        todo!("platform: family")
    }
    /// Send a CARP header (36 bytes) to `dst` (multicast group or unicast peer).
    pub fn send(&self, dst: IpAddr, payload: &[u8]) -> std::io::Result<()> {
        let _ = (dst, payload);
        todo!("platform: send")
    }
    /// Next datagram (cancel-safe).
    pub async fn recv(&self) -> std::io::Result<Received> {
        todo!("platform: recv")
    }
}
