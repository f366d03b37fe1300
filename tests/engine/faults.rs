#![allow(dead_code)] // helpers for tests/fault_netns.rs

//! Fault injection for the namespace lab: packet loss (nftables in the bridge), partitions that keep the
//! links up (bridge port isolation), and a raw-socket "attacker" in the client namespace that
//! captures and forges protocol-112 datagrams.

use std::io::Read;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use crate::common::netns::{Lab, Node, in_netns};
use carpd::wire::ip::{MCAST_V4, PROTO_CARP};

/// Lose `percent` % of the CARP adverts `node` sends, on the wire: an nftables rule in the
/// bridge namespace drops protocol-112 frames entering from the node's port at random
/// (`numgen random`). 0 removes the rule. (tc netem would do the same on the node's veth, but
/// not every kernel has sch_netem — this machine's does not; nf_tables with numgen is common.)
pub fn advert_loss(lab: &Lab, node: &Node, percent: u32) {
    let port = bridge_port(lab, node);
    let table = format!("carpd_loss_{}", port);
    let ns = lab.bridge_ns();
    // Idempotent: drop whatever an earlier call installed.
    let _ = lab.exec(ns, &["nft", "delete", "table", "bridge", &table]);
    if percent == 0 {
        return;
    }
    let script = format!(
        "table bridge {table} {{\n\
           chain forward {{\n\
             type filter hook forward priority 0; policy accept;\n\
             iifname \"{port}\" ip protocol 112 numgen random mod 100 < {percent} drop\n\
           }}\n\
         }}\n"
    );
    let file = std::env::temp_dir().join(format!("{table}.nft"));
    std::fs::write(&file, script).unwrap();
    let path = file.display().to_string();
    let out = lab.exec(ns, &["nft", "-f", &path]);
    let _ = std::fs::remove_file(&file);
    assert!(
        out.status.success(),
        "nft could not install the loss rule (needs nftables and nf_tables with numgen): {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The bridge-side veth of `node`: the interface in the bridge namespace whose index is the
/// peer index `ip` shows for the node's interface (`name@ifNN`).
pub fn bridge_port(lab: &Lab, node: &Node) -> String {
    let link = lab.ip(&node.ns, &["-o", "link", "show", "dev", &node.ifname]);
    let peer_index = link
        .split_whitespace()
        .nth(1)
        .and_then(|w| w.split_once("@if"))
        .map(|(_, ix)| ix.trim_end_matches(':').to_string())
        .unwrap_or_else(|| panic!("no veth peer index in `{link}`"));
    let ports = lab.ip(lab.bridge_ns(), &["-o", "link", "show"]);
    ports
        .lines()
        .find_map(|l| {
            let mut w = l.split_whitespace();
            let ix = w.next()?.trim_end_matches(':');
            let name = w.next()?.split('@').next()?.trim_end_matches(':');
            (ix == peer_index).then(|| name.to_string())
        })
        .unwrap_or_else(|| panic!("no bridge port with index {peer_index}:\n{ports}"))
}

/// Partition: isolated bridge ports cannot talk to each other but still reach the others
/// (the client). Links stay up, so every node keeps running its election.
pub fn isolate(lab: &Lab, node: &Node, on: bool) {
    let port = bridge_port(lab, node);
    lab.ip(
        lab.bridge_ns(),
        &[
            "link",
            "set",
            "dev",
            &port,
            "type",
            "bridge_slave",
            "isolated",
            if on { "on" } else { "off" },
        ],
    );
}

/// Send raw IPv4 datagrams (`header included`: the caller's TTL and source address go on the
/// wire as they are) out of `from`'s interface. Linux fills in the IP header checksum.
pub fn send_raw_v4(from: &Node, datagrams: &[Vec<u8>]) {
    let (ns, ifname, src) = (from.ns.clone(), from.ifname.clone(), from.v4);
    in_netns(&ns, move || {
        let sock = Socket::new(
            Domain::IPV4,
            Type::RAW,
            Some(Protocol::from(i32::from(PROTO_CARP))),
        )
        .expect("raw socket (root?)");
        sock.set_header_included_v4(true).expect("IP_HDRINCL");
        sock.bind_device(Some(ifname.as_bytes()))
            .expect("SO_BINDTODEVICE");
        sock.set_multicast_if_v4(&src).expect("IP_MULTICAST_IF");
        for d in datagrams {
            let dst = Ipv4Addr::new(d[16], d[17], d[18], d[19]);
            sock.send_to(d, &SockAddr::from(SocketAddrV4::new(dst, 0)))
                .unwrap_or_else(|e| panic!("sending a forged datagram to {dst}: {e}"));
        }
    })
}

/// Wait (bounded) in `at`'s namespace for the next IPv4 protocol-112 datagram from `source`
/// and return it whole (IP header included).
pub fn capture_v4_from(at: &Node, source: Ipv4Addr, timeout: Duration) -> Vec<u8> {
    let (ns, local) = (at.ns.clone(), at.v4);
    in_netns(&ns, move || {
        let mut sock = Socket::new(
            Domain::IPV4,
            Type::RAW,
            Some(Protocol::from(i32::from(PROTO_CARP))),
        )
        .expect("raw socket (root?)");
        // 224.0.0.18 is delivered only to hosts that joined it.
        sock.join_multicast_v4(&MCAST_V4, &local)
            .expect("join 224.0.0.18");
        let deadline = Instant::now() + timeout;
        let mut buf = [0u8; 2048];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "no protocol-112 datagram from {source} within {timeout:?}"
            );
            sock.set_read_timeout(Some(left)).unwrap();
            let Ok(n) = sock.read(&mut buf) else { continue };
            if n >= 20 && buf[12..16] == source.octets() {
                return buf[..n].to_vec();
            }
        }
    })
}

/// `(MASTER entries, BACKUP entries)` among the hook calls (one line per transition).
pub fn transitions(calls: &[String]) -> (usize, usize) {
    let count = |s: &str| {
        calls
            .iter()
            .filter(|c| c.split_whitespace().nth(1) == Some(s))
            .count()
    };
    (count("MASTER"), count("BACKUP"))
}
