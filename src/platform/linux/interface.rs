//! Synchronous facts about one interface, read with getifaddrs(3) (which asks the kernel over
//! netlink, so it sees the calling thread's network namespace). The rtnetlink-based
//! `AddressControl` has async versions that also know carpd's address mark.

use std::io;
use std::net::Ipv6Addr;

fn interfaces() -> io::Result<nix::ifaddrs::InterfaceAddressIterator> {
    nix::ifaddrs::getifaddrs()
        .map_err(|e| io::Error::new(io::Error::from(e).kind(), format!("getifaddrs: {e}")))
}

/// The hardware (MAC) address of `ifname`.
pub fn mac_address(ifname: &str) -> io::Result<[u8; 6]> {
    interfaces()?
        .filter(|i| i.interface_name == ifname)
        .find_map(|i| i.address?.as_link_addr()?.addr())
        .filter(|mac| *mac != [0; 6])
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("interface {ifname} does not exist or has no Ethernet address"),
            )
        })
}

/// Every IPv6 link-local address of `ifname`, in the kernel's order.
pub fn link_locals(ifname: &str) -> io::Result<Vec<Ipv6Addr>> {
    Ok(interfaces()?
        .filter(|i| i.interface_name == ifname)
        .filter_map(|i| i.address?.as_sockaddr_in6().map(|a| a.ip()))
        .filter(Ipv6Addr::is_unicast_link_local)
        .collect())
}
