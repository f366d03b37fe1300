//! Announcements after a takeover: gratuitous ARP (packet socket, broadcast ARP request with
//! sender = target = VIP) and unsolicited Neighbor Advertisement to ff02::1 with the Override
//! flag and the target link-layer option.
//!
//! Both go out as complete Ethernet frames through one AF_PACKET socket opened with protocol 0,
//! so it never receives (nothing queues up on it). Writing the NA frame ourselves means
//! computing the ICMPv6 checksum ourselves (pseudo-header included, [`icmpv6_checksum`]); in
//! exchange the frame is exactly what is specified (hop limit 255, source = the interface's
//! link-local address, Ethernet destination 33:33:00:00:00:01) without a raw ICMPv6 socket that
//! would receive every ICMPv6 packet of the host. The sender hardware address is the
//! interface's own MAC: on Linux the VIP lives on the interface itself, not on a virtual MAC.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use super::interface;

const ETH_P_ARP: u16 = 0x0806;
const ETH_P_IPV6: u16 = 0x86DD;
const BROADCAST: [u8; 6] = [0xff; 6];
/// Ethernet mapping of ff02::1 (all nodes).
const ALL_NODES_MAC: [u8; 6] = [0x33, 0x33, 0, 0, 0, 1];
const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
/// Shortest Ethernet frame without FCS; shorter frames are padded with zeros.
const ETH_MIN: usize = 60;
const ICMPV6_NA: u8 = 136;
const NA_FLAG_OVERRIDE: u8 = 0x20;
const ND_OPT_TARGET_LLADDR: u8 = 2;
const IPPROTO_ICMPV6: u8 = 58;

#[derive(Debug)]
pub struct Announcer {
    fd: OwnedFd,
    ifname: String,
    ifindex: u32,
    mac: [u8; 6],
    /// Pinned NA source; `None` = the interface's first link-local address at send time.
    source_v6: Option<Ipv6Addr>,
}

impl Announcer {
    /// Sockets for announcing on `ifname` (its MAC is read once here).
    pub fn open(ifname: &str) -> std::io::Result<Announcer> {
        let ifindex = nix::net::if_::if_nametoindex(ifname).map_err(|e| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("interface {ifname} not found ({e}); check the interface name"),
            )
        })?;
        let mac = interface::mac_address(ifname)?;
        // SAFETY: plain socket(2) call; the result is checked before it is wrapped.
        let raw = unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
                0,
            )
        };
        if raw < 0 {
            let e = io::Error::last_os_error();
            return Err(io::Error::new(
                e.kind(),
                format!("packet socket for announcements on {ifname} (needs CAP_NET_RAW): {e}"),
            ));
        }
        // SAFETY: `raw` is a freshly created descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        Ok(Announcer {
            fd,
            ifname: ifname.to_string(),
            ifindex,
            mac,
            source_v6: None,
        })
    }

    /// The MAC announced as the owner of the VIPs.
    pub fn mac(&self) -> [u8; 6] {
        self.mac
    }

    /// Send NAs from `source` (a link-local address of the interface) instead of the first
    /// link-local the kernel lists, e.g. when a VIP is itself a link-local address.
    pub fn set_source_v6(&mut self, source: Ipv6Addr) {
        self.source_v6 = Some(source);
    }

    pub fn garp(&self, addr: Ipv4Addr) -> std::io::Result<()> {
        self.send(&garp_frame(self.mac, addr), BROADCAST, ETH_P_ARP)
            .map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("gratuitous ARP for {addr} on {}: {e}", self.ifname),
                )
            })
    }

    pub fn unsolicited_na(&self, addr: Ipv6Addr) -> std::io::Result<()> {
        let src = match self.source_v6 {
            Some(s) => s,
            None => interface::link_locals(&self.ifname)?
                .into_iter()
                .find(|ll| *ll != addr)
                .ok_or_else(|| {
                    io::Error::new(
                        io::ErrorKind::NotFound,
                        format!(
                            "interface {} has no IPv6 link-local address to send the \
                             Neighbor Advertisement for {addr} from (is IPv6 enabled on it?)",
                            self.ifname
                        ),
                    )
                })?,
        };
        self.send(&na_frame(self.mac, src, addr), ALL_NODES_MAC, ETH_P_IPV6)
            .map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("Neighbor Advertisement for {addr} on {}: {e}", self.ifname),
                )
            })
    }

    fn send(&self, frame: &[u8], dst: [u8; 6], ethertype: u16) -> io::Result<()> {
        // SAFETY: sockaddr_ll is plain data; all-zero is a valid value.
        let mut to: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        to.sll_family = libc::AF_PACKET as u16;
        to.sll_protocol = ethertype.to_be();
        to.sll_ifindex = self.ifindex as i32;
        to.sll_halen = 6;
        to.sll_addr[..6].copy_from_slice(&dst);
        // SAFETY: `frame` is a live buffer of the given length, `to` a valid sockaddr_ll whose
        // exact size is passed; the descriptor is open for the lifetime of `self`.
        let n = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                frame.as_ptr().cast(),
                frame.len(),
                0,
                (&to as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        if n as usize != frame.len() {
            return Err(io::Error::other(format!(
                "short send: {n} of {} bytes",
                frame.len()
            )));
        }
        Ok(())
    }
}

fn ethernet(dst: [u8; 6], src: [u8; 6], ethertype: u16, capacity: usize) -> Vec<u8> {
    let mut f = Vec::with_capacity(capacity.max(ETH_MIN));
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f
}

/// Broadcast ARP request announcing `ip` at `mac` (sender IP = target IP = `ip`, target
/// hardware address zero), padded to the Ethernet minimum.
pub fn garp_frame(mac: [u8; 6], ip: Ipv4Addr) -> Vec<u8> {
    let mut f = ethernet(BROADCAST, mac, ETH_P_ARP, ETH_MIN);
    f.extend_from_slice(&1u16.to_be_bytes()); // hardware type: Ethernet
    f.extend_from_slice(&0x0800u16.to_be_bytes()); // protocol type: IPv4
    f.extend_from_slice(&[6, 4]); // address lengths
    f.extend_from_slice(&1u16.to_be_bytes()); // operation: request
    f.extend_from_slice(&mac);
    f.extend_from_slice(&ip.octets());
    f.extend_from_slice(&[0; 6]);
    f.extend_from_slice(&ip.octets());
    f.resize(ETH_MIN, 0);
    f
}

/// Unsolicited Neighbor Advertisement for `target` at `mac`, from `src` to ff02::1: hop limit
/// 255, Override set, Solicited and Router clear, target link-layer address option.
pub fn na_frame(mac: [u8; 6], src: Ipv6Addr, target: Ipv6Addr) -> Vec<u8> {
    let mut icmp = Vec::with_capacity(32);
    icmp.extend_from_slice(&[ICMPV6_NA, 0, 0, 0]); // type, code, checksum (filled below)
    icmp.extend_from_slice(&[NA_FLAG_OVERRIDE, 0, 0, 0]);
    icmp.extend_from_slice(&target.octets());
    icmp.extend_from_slice(&[ND_OPT_TARGET_LLADDR, 1]); // option length in units of 8 bytes
    icmp.extend_from_slice(&mac);
    let sum = icmpv6_checksum(src, ALL_NODES, &icmp);
    icmp[2..4].copy_from_slice(&sum.to_be_bytes());

    let mut f = ethernet(ALL_NODES_MAC, mac, ETH_P_IPV6, 14 + 40 + icmp.len());
    f.extend_from_slice(&[0x60, 0, 0, 0]); // version 6, traffic class 0, flow label 0
    f.extend_from_slice(&(icmp.len() as u16).to_be_bytes());
    f.extend_from_slice(&[IPPROTO_ICMPV6, 255]); // next header, hop limit (RFC 4861 requires 255)
    f.extend_from_slice(&src.octets());
    f.extend_from_slice(&ALL_NODES.octets());
    f.extend_from_slice(&icmp);
    f
}

/// Internet checksum of an ICMPv6 message including the IPv6 pseudo-header (RFC 8200 §8.1).
/// Over a message whose checksum field is already filled in, the result is 0.
pub fn icmpv6_checksum(src: Ipv6Addr, dst: Ipv6Addr, message: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    let mut add = |bytes: &[u8]| {
        for pair in bytes.chunks(2) {
            let word = u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]);
            sum += u32::from(word);
        }
    };
    add(&src.octets());
    add(&dst.octets());
    add(&(message.len() as u32).to_be_bytes());
    add(&[0, 0, 0, IPPROTO_ICMPV6]);
    add(message);
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: [u8; 6] = [0x02, 0x00, 0x5e, 0x10, 0x20, 0x30];

    #[test]
    fn garp_layout() {
        let f = garp_frame(MAC, Ipv4Addr::new(192, 0, 2, 1));
        assert_eq!(f.len(), 60);
        assert_eq!(&f[0..6], &BROADCAST);
        assert_eq!(&f[6..12], &MAC);
        assert_eq!(&f[12..14], &[0x08, 0x06]);
        assert_eq!(&f[14..22], &[0, 1, 8, 0, 6, 4, 0, 1]);
        assert_eq!(&f[22..28], &MAC, "sender hardware address");
        assert_eq!(&f[28..32], &[192, 0, 2, 1], "sender IP");
        assert_eq!(&f[32..38], &[0; 6]);
        assert_eq!(&f[38..42], &[192, 0, 2, 1], "target IP");
        assert!(f[42..].iter().all(|b| *b == 0));
    }

    #[test]
    fn na_layout_and_checksum() {
        let src: Ipv6Addr = "fe80::1".parse().unwrap();
        let target: Ipv6Addr = "2001:db8::100".parse().unwrap();
        let f = na_frame(MAC, src, target);
        assert_eq!(f.len(), 14 + 40 + 32);
        assert_eq!(&f[0..6], &ALL_NODES_MAC);
        assert_eq!(&f[12..14], &[0x86, 0xdd]);
        let ip = &f[14..54];
        assert_eq!(ip[0] >> 4, 6);
        assert_eq!(u16::from_be_bytes([ip[4], ip[5]]), 32);
        assert_eq!(ip[6], 58);
        assert_eq!(ip[7], 255, "hop limit");
        assert_eq!(&ip[8..24], &src.octets());
        assert_eq!(&ip[24..40], &ALL_NODES.octets());
        let icmp = &f[54..];
        assert_eq!(icmp[0], 136);
        assert_eq!(icmp[4], 0x20, "Override only");
        assert_eq!(&icmp[8..24], &target.octets());
        assert_eq!(&icmp[24..26], &[2, 1]);
        assert_eq!(&icmp[26..32], &MAC);
        assert_eq!(
            icmpv6_checksum(src, ALL_NODES, icmp),
            0,
            "checksum verifies"
        );
        assert_ne!(&icmp[2..4], &[0, 0]);
    }

    #[test]
    fn checksum_handles_odd_length_and_carries() {
        // One byte 0xff at an odd length is padded with zero: word 0xff00.
        let src = Ipv6Addr::UNSPECIFIED;
        let dst = Ipv6Addr::UNSPECIFIED;
        // pseudo: length 1 + next header 58 + 0xff00 = 0xff3b -> !0xff3b = 0x00c4
        assert_eq!(icmpv6_checksum(src, dst, &[0xff]), 0x00c4);
        // Many carries (all-ones addresses): filling in the result must still verify to 0.
        let ones = Ipv6Addr::from([0xff; 16]);
        let mut msg = vec![0x80, 0, 0, 0, 0xab, 0xcd];
        let sum = icmpv6_checksum(ones, ones, &msg);
        msg[2..4].copy_from_slice(&sum.to_be_bytes());
        assert_eq!(icmpv6_checksum(ones, ones, &msg), 0);
    }
}
