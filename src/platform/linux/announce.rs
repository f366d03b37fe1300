//! Announcements after a takeover: gratuitous ARP (packet socket, broadcast ARP request with
//! sender = target = VIP) and unsolicited Neighbor Advertisement to ff02::1 with the Override
//! flag and the target link-layer option.

use std::net::{Ipv4Addr, Ipv6Addr};

#[derive(Debug)]
pub struct Announcer {
    _private: (),
}

impl Announcer {
    /// Sockets for announcing on `ifname` (its MAC is read once here).
    pub fn open(ifname: &str) -> std::io::Result<Announcer> {
        let _ = ifname;
        todo!("platform: Announcer::open")
    }
    pub fn garp(&self, addr: Ipv4Addr) -> std::io::Result<()> {
        let _ = addr;
        todo!("platform: garp")
    }
    pub fn unsolicited_na(&self, addr: Ipv6Addr) -> std::io::Result<()> {
        let _ = addr;
        todo!("platform: na")
    }
}
