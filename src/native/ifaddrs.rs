//! getifaddrs(3) → interfaces: each one's type, flags and link state (from its AF_LINK entry)
//! and its IPv4/IPv6 addresses with their vhid (from the address entries' `if_data`).
//!
//! FreeBSD's getifaddrs (`lib/libc/net/getifaddrs.c`) lists, per interface, one AF_LINK entry
//! whose `ifa_data` is the interface's `struct if_data` (type, link state; vhid 0), then one
//! entry per address whose `ifa_data` carries that address's vhid (`sysctl_iflist_ifaml()` in
//! `sys/net/rtsock.c`: `ifd->ifi_vhid = (*carp_get_vhid_p)(ifa)`) and whose `ifa_flags` are the
//! interface's.

use std::collections::BTreeMap;

use super::abi::{self, AF_INET, AF_INET6, AF_LINK, IfDataHead};
use super::kernel::KernelAddress;
use super::sys::IfaddrsEntry;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Link {
    /// `ifi_type` of the AF_LINK entry; `None` if getifaddrs gave none for this name.
    pub if_type: Option<u8>,
    pub flags: u32,
    pub link_state: u8,
    pub addresses: Vec<KernelAddress>,
}

impl Link {
    /// Whether asking carp(4) about this interface can find a vhid: its type is one
    /// `carp_is_supported_if()` accepts. An interface whose type is unknown is asked anyway
    /// (the answer then says).
    pub fn may_have_vhids(&self) -> bool {
        self.if_type.is_none_or(abi::carp_supported_type)
    }
}

/// Interfaces by name.
pub fn links(entries: &[IfaddrsEntry]) -> BTreeMap<String, Link> {
    let mut out: BTreeMap<String, Link> = BTreeMap::new();
    for e in entries {
        let link = out.entry(e.name.clone()).or_default();
        let Some(addr) = &e.addr else { continue };
        let head = e.data.as_ref().map(IfDataHead::parse).unwrap_or_default();
        let family = addr.get(1).copied().unwrap_or(0);
        match family {
            AF_LINK => {
                link.if_type = Some(head.ifi_type);
                link.flags = e.flags;
                link.link_state = head.ifi_link_state;
            }
            AF_INET | AF_INET6 => {
                let Some(address) = abi::sockaddr_ip(addr, family) else {
                    continue;
                };
                let full = if family == AF_INET { 32 } else { 128 };
                let prefix = match &e.netmask {
                    Some(m) => abi::sockaddr_ip(m, family).map_or(full, abi::prefix_of),
                    None => full,
                };
                link.addresses.push(KernelAddress {
                    address,
                    prefix,
                    vhid: (head.ifi_vhid != 0).then_some(head.ifi_vhid),
                });
                if link.flags == 0 {
                    link.flags = e.flags;
                }
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn link_entry(name: &str, if_type: u8, flags: u32) -> IfaddrsEntry {
        let mut sdl = vec![0u8; 20];
        sdl[0] = 20;
        sdl[1] = AF_LINK;
        let mut data = [0u8; 8];
        data[0] = if_type;
        data[4] = 2;
        IfaddrsEntry {
            name: name.into(),
            flags,
            addr: Some(sdl),
            netmask: None,
            data: Some(data),
        }
    }

    #[test]
    fn links_carry_type_and_addresses_with_their_vhid() {
        let mut data = [0u8; 8];
        data[5] = 3;
        let entries = vec![
            link_entry(
                "lo0",
                0x18,
                abi::IFF_UP | abi::IFF_LOOPBACK | abi::IFF_MULTICAST,
            ),
            link_entry("vtnet0", abi::IFT_ETHER, abi::IFF_UP | abi::IFF_MULTICAST),
            IfaddrsEntry {
                name: "vtnet0".into(),
                flags: abi::IFF_UP | abi::IFF_MULTICAST,
                addr: Some(abi::sockaddr_in(Ipv4Addr::new(192, 0, 2, 1)).to_vec()),
                netmask: Some(abi::sockaddr_in(abi::mask4(24))[..7].to_vec()),
                data: Some(data),
            },
        ];
        let l = links(&entries);
        assert!(!l["lo0"].may_have_vhids());
        let v = &l["vtnet0"];
        assert!(v.may_have_vhids());
        assert_eq!(v.link_state, 2);
        assert_eq!(
            v.addresses,
            [KernelAddress {
                address: "192.0.2.1".parse().unwrap(),
                prefix: 24,
                vhid: Some(3)
            }]
        );
    }
}
