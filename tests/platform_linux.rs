//! The Linux platform glue against a real kernel, inside network namespaces (tests/common):
//! CARP raw sockets, rtnetlink address control, GARP/NA and link events. Needs root.

// Network namespaces, rtnetlink and AF_PACKET are Linux-only.
#![cfg(target_os = "linux")]

mod common;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use carpd::config::IpPrefix;
use carpd::platform::linux::addresses::AddressControl;
use carpd::platform::linux::announce::Announcer;
use carpd::platform::linux::carp_socket::{CarpSocket, Received};
use carpd::platform::linux::links::{self, LinkEvent};
use carpd::proto::Family;
use common::netns::{Lab, Node, Proc, block_on_in_netns, in_netns, require_root};

const WAIT: Duration = Duration::from_secs(5);
const MCAST_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
const MCAST_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);

/// A CARP-sized (36-byte) payload: version 2 / type 1, vhid 7, advskew 100, authlen 7,
/// advbase 1, then recognisable filler.
fn payload() -> Vec<u8> {
    let mut p = vec![0x21, 7, 100, 7, 0, 1, 0, 0];
    p.extend((0..28).map(|i| 0xa0 + i as u8));
    p
}

fn open(node: &Node, family: Family) -> CarpSocket {
    match family {
        Family::V4 => CarpSocket::open_v4(&node.ifname, node.v4).expect("open v4 CARP socket"),
        Family::V6 => {
            CarpSocket::open_v6(&node.ifname, node.link_local).expect("open v6 CARP socket")
        }
    }
}

/// `to` opens its socket, then `from` sends one payload to `dst`; returns what `to` received.
/// Also checks that the sender does not hear its own advert (multicast loopback off).
fn exchange(from: &Node, to: &Node, family: Family, dst: IpAddr) -> Received {
    thread::scope(|s| {
        let (ready_tx, ready_rx) = mpsc::channel();
        let receiver = s.spawn(move || {
            block_on_in_netns(&to.ns, WAIT, || async move {
                let sock = open(to, family);
                ready_tx.send(()).unwrap();
                sock.recv().await.expect("recv")
            })
        });
        if ready_rx.recv_timeout(WAIT).is_err() {
            // The receiver failed before opening: surface its panic.
            receiver.join().unwrap();
            panic!("receiver never became ready");
        }
        block_on_in_netns(&from.ns, WAIT, || async move {
            let sock = open(from, family);
            sock.send(dst, &payload()).expect("send");
            let echo = tokio::time::timeout(Duration::from_millis(300), sock.recv()).await;
            assert!(echo.is_err(), "sender received its own advert: {echo:?}");
        });
        receiver.join().unwrap()
    })
}

/// The capture ended (it saw its packet) and its text shows every needle.
fn capture_shows(cap: &Proc, what: &str, needles: &[&str]) {
    assert!(cap.wait_exit(WAIT).is_some(), "no {what}: {}", cap.stderr());
    let seen = cap.stdout();
    for needle in needles {
        assert!(
            seen.contains(needle),
            "expected {needle:?} in capture:\n{seen}"
        );
    }
}

#[test]
fn carp_v4_multicast_has_ttl_255_tos_e0_df() {
    require_root();
    let lab = Lab::new("pl4m", 2);
    let (n0, n1, client) = (lab.node(0), lab.node(1), lab.client());
    let cap = lab.capture(&client.ns, &client.ifname, 1, "ip proto 112");

    let got = exchange(n0, n1, Family::V4, MCAST_V4.into());
    assert_eq!(got.family, Family::V4);
    assert_eq!(
        got.src,
        IpAddr::V4(n0.v4),
        "sent from the interface's own address"
    );
    assert_eq!(got.dst, IpAddr::V4(MCAST_V4));
    assert_eq!(got.ttl, 255);
    assert_eq!(got.payload, payload(), "IP header stripped, payload intact");

    capture_shows(
        &cap,
        "advert seen by tcpdump",
        &[
            "tos 0xe0",
            "ttl 255",
            "[DF]",
            "length 56",
            "192.0.2.10 > 224.0.0.18",
            "01:00:5e:00:00:12",
        ],
    );
}

#[test]
fn carp_v4_unicast_to_peer() {
    require_root();
    let lab = Lab::new("pl4u", 2);
    let (n0, n1) = (lab.node(0), lab.node(1));
    let got = exchange(n0, n1, Family::V4, n1.v4.into());
    assert_eq!(got.src, IpAddr::V4(n0.v4));
    assert_eq!(got.dst, IpAddr::V4(n1.v4));
    assert_eq!(got.ttl, 255, "unicast TTL is 255 too");
    assert_eq!(got.payload, payload());
}

#[test]
fn carp_v6_multicast_has_hop_limit_255_class_e0() {
    require_root();
    let lab = Lab::new("pl6m", 2);
    let (n0, n1, client) = (lab.node(0), lab.node(1), lab.client());
    let cap = lab.capture(&client.ns, &client.ifname, 1, "ip6 proto 112");

    let got = exchange(n0, n1, Family::V6, MCAST_V6.into());
    assert_eq!(got.family, Family::V6);
    assert_eq!(
        got.src,
        IpAddr::V6(n0.link_local),
        "sent from the link-local address"
    );
    assert_eq!(got.dst, IpAddr::V6(MCAST_V6));
    assert_eq!(got.ttl, 255);
    assert_eq!(got.payload, payload());

    capture_shows(
        &cap,
        "advert seen by tcpdump",
        &[
            "class 0xe0",
            "hlim 255",
            "payload length: 36",
            "> ff02::12",
            "33:33:00:00:00:12",
        ],
    );
}

#[test]
fn carp_v6_unicast_to_global_and_link_local_peer() {
    require_root();
    let lab = Lab::new("pl6u", 2);
    let (n0, n1) = (lab.node(0), lab.node(1));
    let got = exchange(n0, n1, Family::V6, n1.v6.into());
    assert_eq!(got.src, IpAddr::V6(n0.link_local));
    assert_eq!(got.dst, IpAddr::V6(n1.v6));
    assert_eq!(got.ttl, 255, "unicast hop limit is 255 too");
    assert_eq!(got.payload, payload());

    let got = exchange(n0, n1, Family::V6, n1.link_local.into());
    assert_eq!(got.dst, IpAddr::V6(n1.link_local));
    assert_eq!(got.ttl, 255);
}

#[test]
fn send_of_wrong_family_is_an_error() {
    require_root();
    let lab = Lab::new("plfam", 1);
    let n0 = lab.node(0);
    block_on_in_netns(&n0.ns, WAIT, || async move {
        let sock = open(n0, Family::V4);
        let err = sock.send(MCAST_V6.into(), &payload()).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
        assert!(CarpSocket::open_v4("nonexistent0", n0.v4).is_err());
    });
}

fn prefix(s: &str) -> IpPrefix {
    let (a, p) = s.split_once('/').unwrap();
    IpPrefix {
        addr: a.parse().unwrap(),
        prefix: p.parse().unwrap(),
    }
}

#[test]
fn addresses_add_list_remove_with_mark() {
    require_root();
    let lab = Lab::new("pladdr", 1);
    let n0 = lab.node(0).clone();
    // DAD on for this interface, so "nodad" on the VIP is what keeps it from being tentative.
    lab.exec_ok(
        &n0.ns,
        &[
            "sysctl",
            "-qw",
            &format!("net.ipv6.conf.{}.accept_dad=1", n0.ifname),
        ],
    );
    let vip4 = prefix("192.0.2.100/24");
    let vip6 = prefix("2001:db8::100/64");

    let ifindex = block_on_in_netns(&n0.ns, WAIT, || async {
        let ac = AddressControl::new().await.unwrap();
        let ifindex = ac.ifindex(&n0.ifname).await.unwrap();
        let missing = ac.ifindex("nonexistent0").await.unwrap_err();
        assert_eq!(missing.kind(), std::io::ErrorKind::NotFound);

        for vip in [vip4, vip6] {
            ac.add(ifindex, vip).await.unwrap();
            ac.add(ifindex, vip).await.expect("adding twice is fine");
        }
        let list = ac.list(Some(ifindex)).await.unwrap();
        let find = |p: IpPrefix| list.iter().find(|a| a.prefix == p);
        assert!(find(vip4).unwrap().carpd, "{list:?}");
        assert!(find(vip6).unwrap().carpd, "{list:?}");
        let own = find(prefix("192.0.2.10/24")).expect("node's own address listed");
        assert!(!own.carpd, "node's own address is not carpd's");
        assert_eq!(own.ifname, n0.ifname);
        assert!(!find(prefix("2001:db8::10/64")).unwrap().carpd);
        // Unfiltered listing includes loopback too.
        let all = ac.list(None).await.unwrap();
        assert!(
            all.iter()
                .any(|a| a.prefix.addr == IpAddr::V4(Ipv4Addr::LOCALHOST))
        );

        // Source selection skips the VIPs.
        assert_eq!(
            ac.interface_source_v4(&n0.ifname).await.unwrap(),
            Some(n0.v4)
        );
        assert_eq!(
            ac.link_local_v6(&n0.ifname).await.unwrap(),
            Some(n0.link_local)
        );
        assert_eq!(ac.mac_address(&n0.ifname).await.unwrap(), Some(n0.mac));
        ifindex
    });

    // An outside observer sees the addresses, and the VIP answers.
    let shown = lab.ip(&n0.ns, &["-o", "addr", "show", "dev", &n0.ifname]);
    assert!(shown.contains("192.0.2.100/24"), "{shown}");
    let v6line = shown
        .lines()
        .find(|l| l.contains("2001:db8::100/64"))
        .unwrap_or_else(|| panic!("{shown}"));
    assert!(
        v6line.contains("nodad") && !v6line.contains("tentative"),
        "{v6line}"
    );
    let client = lab.client().ns.clone();
    for vip in ["192.0.2.100", "2001:db8::100"] {
        let ping = lab.exec(&client, &["ping", "-c", "1", "-W", "2", vip]);
        assert!(ping.status.success(), "VIP {vip} does not answer");
    }

    block_on_in_netns(&n0.ns, WAIT, || async {
        let ac = AddressControl::new().await.unwrap();
        for vip in [vip4, vip6] {
            ac.remove(ifindex, vip).await.unwrap();
            ac.remove(ifindex, vip)
                .await
                .expect("removing twice is fine");
        }
        let list = ac.list(Some(ifindex)).await.unwrap();
        assert!(list.iter().all(|a| !a.carpd), "{list:?}");
        assert!(list.iter().any(|a| a.prefix == prefix("192.0.2.10/24")));
    });
    let shown = lab.ip(&n0.ns, &["-o", "addr", "show", "dev", &n0.ifname]);
    assert!(
        !shown.contains("192.0.2.100") && !shown.contains("2001:db8::100/"),
        "{shown}"
    );
}

fn mac_text(mac: [u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[test]
fn gratuitous_arp_reaches_the_segment() {
    require_root();
    let lab = Lab::new("plgarp", 1);
    let (n0, client) = (lab.node(0).clone(), lab.client());
    let cap = lab.capture(&client.ns, &client.ifname, 1, "arp host 192.0.2.100");
    in_netns(&n0.ns, || {
        let a = Announcer::open(&n0.ifname).unwrap();
        assert_eq!(a.mac(), n0.mac);
        a.garp(Ipv4Addr::new(192, 0, 2, 100)).unwrap();
    });
    let mac = mac_text(n0.mac);
    capture_shows(
        &cap,
        "GARP seen",
        &[
            &format!("{mac} > ff:ff:ff:ff:ff:ff"),
            "Request who-has 192.0.2.100 tell 192.0.2.100",
            "length 60",
        ],
    );
}

#[test]
fn unsolicited_na_has_override_and_target_lladdr() {
    require_root();
    let lab = Lab::new("plna", 1);
    let (n0, client) = (lab.node(0).clone(), lab.client());
    let cap = lab.capture(&client.ns, &client.ifname, 1, "icmp6 and ip6[40] == 136");
    in_netns(&n0.ns, || {
        let a = Announcer::open(&n0.ifname).unwrap();
        a.unsolicited_na("2001:db8::100".parse().unwrap()).unwrap();
    });
    let mac = mac_text(n0.mac);
    capture_shows(
        &cap,
        "NA seen",
        &[
            &format!("{mac} > 33:33:00:00:00:01"),
            &format!("{} > ff02::1", n0.link_local),
            "hlim 255",
            "icmp6 sum ok",
            "neighbor advertisement",
            "tgt is 2001:db8::100",
            "Flags [override]",
            &format!("destination link-address option (2), length 8 (1): {mac}"),
        ],
    );
}

/// Next event for `ifindex` with the given `up`, skipping others.
async fn expect_event(
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<LinkEvent>,
    ifindex: u32,
    up: bool,
    what: &str,
) -> LinkEvent {
    let wait = async {
        loop {
            let e = rx.recv().await.expect("watch channel open");
            if e.ifindex == ifindex && e.up == up {
                return e;
            }
        }
    };
    tokio::time::timeout(WAIT, wait)
        .await
        .unwrap_or_else(|_| panic!("no link event up={up} after {what} within {WAIT:?}"))
}

#[test]
fn link_watch_follows_cable_pull_and_admin_down() {
    require_root();
    let lab = Lab::new("pllink", 1);
    let n0 = lab.node(0).clone();
    block_on_in_netns(&n0.ns, Duration::from_secs(30), || async {
        let mut rx = links::watch().unwrap();
        let state = links::link_state(&n0.ifname).await.unwrap().unwrap();
        assert!(state.up);
        assert_eq!(state.ifname, n0.ifname);
        assert_eq!(links::link_state("nonexistent0").await.unwrap(), None);
        let ifindex = state.ifindex;

        lab.cut(0);
        let e = expect_event(&mut rx, ifindex, false, "cable pull").await;
        assert_eq!(e.ifname, n0.ifname);
        assert!(!links::link_state(&n0.ifname).await.unwrap().unwrap().up);
        lab.restore(0);
        expect_event(&mut rx, ifindex, true, "cable restore").await;

        lab.ip(&n0.ns, &["link", "set", &n0.ifname, "down"]);
        expect_event(&mut rx, ifindex, false, "ip link set down").await;
        lab.ip(&n0.ns, &["link", "set", &n0.ifname, "up"]);
        expect_event(&mut rx, ifindex, true, "ip link set up").await;
        assert!(links::link_state(&n0.ifname).await.unwrap().unwrap().up);
    });
}
