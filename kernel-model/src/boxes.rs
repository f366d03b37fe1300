//! Ready-made kernels: the interfaces a real firewall has.

use std::net::IpAddr;

use crate::kernel::*;

const ETHER_FLAGS: u32 = IFF_UP | IFF_BROADCAST | IFF_SIMPLEX | IFF_MULTICAST;

fn ip(s: &str) -> IpAddr {
    s.parse().expect("a literal address")
}

/// A typical OPNsense box, as `ifconfig -a` shows one:
///
/// * lo0 (IFT_LOOP), pflog0 (IFT_PFLOG), pfsync0 (IFT_PFSYNC), enc0 (IFT_ENC), wg0
///   (IFT_WIREGUARD), ovpns1 (if_ovpn: IFT_ENC), tun0 (IFT_PPP) — none of which carp(4) can
///   carry;
/// * vtnet0 (WAN, 192.0.2.2/24 and 2001:db8:ffff::2/64), vtnet1 (LAN, 198.51.100.2/24,
///   2001:db8:1::2/64), vtnet2 (pfsync link, 203.0.113.1/30): IFT_ETHER;
/// * vlan0.100 on vtnet1 (IFT_L2VLAN, 10.100.0.2/24);
/// * lagg0 (IFT_ETHER, 10.200.0.2/24) over igb0 and igb1, whose type `lagg_port_create`
///   changes to IFT_IEEE8023ADLAG.
///
/// Every Ethernet-class interface has its fe80:: link-local address.
pub fn opnsense(release: Release) -> Kernel {
    let mut k = Kernel::new(release);
    k.add_interface("lo0", IFT_LOOP, IFF_UP | IFF_LOOPBACK | IFF_MULTICAST, true);
    k.add_plain_address("lo0", ip("127.0.0.1"), 8);
    k.add_plain_address("lo0", ip("::1"), 128);
    k.add_plain_address("lo0", ip("fe80::1"), 64);
    k.add_interface("pflog0", IFT_PFLOG, IFF_UP | IFF_PROMISC, true);
    k.add_interface("pfsync0", IFT_PFSYNC, IFF_UP | IFF_MULTICAST, true);
    k.add_interface("enc0", IFT_ENC, IFF_UP, true);
    k.add_interface(
        "wg0",
        IFT_WIREGUARD,
        IFF_UP | IFF_POINTOPOINT | IFF_MULTICAST,
        true,
    );
    k.add_plain_address("wg0", ip("10.10.0.1"), 24);
    k.add_interface(
        "ovpns1",
        IFT_ENC,
        IFF_UP | IFF_POINTOPOINT | IFF_MULTICAST,
        true,
    );
    k.add_interface("tun0", IFT_PPP, IFF_POINTOPOINT | IFF_MULTICAST, false);
    for (dev, v4, p4, v6) in [
        ("vtnet0", "192.0.2.2", 24, Some("2001:db8:ffff::2")),
        ("vtnet1", "198.51.100.2", 24, Some("2001:db8:1::2")),
        ("vtnet2", "203.0.113.1", 30, None),
    ] {
        k.add_interface(dev, IFT_ETHER, ETHER_FLAGS, true);
        k.add_plain_address(dev, ip(v4), p4);
        if let Some(v6) = v6 {
            k.add_plain_address(dev, ip(v6), 64);
        }
        k.add_plain_address(dev, ip("fe80::5a9c:fcff:fe10:1"), 64);
    }
    k.add_interface("vlan0.100", IFT_L2VLAN, ETHER_FLAGS, true);
    k.add_plain_address("vlan0.100", ip("10.100.0.2"), 24);
    k.add_interface("igb0", IFT_IEEE8023ADLAG, ETHER_FLAGS, true);
    k.add_interface("igb1", IFT_IEEE8023ADLAG, ETHER_FLAGS, true);
    k.add_interface("lagg0", IFT_ETHER, ETHER_FLAGS, true);
    k.add_plain_address("lagg0", ip("10.200.0.2"), 24);
    k
}
