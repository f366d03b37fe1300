//! Fault injection against real carpd daemons in network namespaces: packet loss, partitions,
//! SIGKILL, forged and replayed adverts, misbehaving hooks. Needs root (CI runs as root),
//! `nft` and `tcpdump` (scripts/install-deps).

#![cfg(target_os = "linux")]

mod common;
#[path = "engine/faults.rs"]
mod faults;
#[path = "engine/harness.rs"]
mod harness;

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use carpd::wire::auth::CarpAuth;
use carpd::wire::carp::{Packet, Repr};
use carpd::wire::ip::{MCAST_V4, build_ipv4};
use common::netns::{Lab, wait_until};
use faults::{advert_loss, capture_v4_from, isolate, send_raw_v4, transitions};
use harness::{Daemon, Vip, neighbour_mac, ping};
use nix::sys::signal::Signal;

const VIP: &str = "192.0.2.1";
const VIP_CIDR: &str = "192.0.2.1/24";
/// Master-down of a backup with advbase 1, advskew 100: 3 + 100/256 s.
const MASTER_DOWN_100: f64 = 3.390625;

fn pair(lab: &Lab, skew_a: u8, skew_b: u8) -> (Daemon, Daemon) {
    let mut a = Daemon::prepare(lab.node(0), &[Vip::v4(1, VIP_CIDR, skew_a)], false);
    let mut b = Daemon::prepare(lab.node(1), &[Vip::v4(1, VIP_CIDR, skew_b)], false);
    a.start(lab);
    a.wait_state(1, "MASTER", Duration::from_secs(10));
    b.start(lab);
    b.wait_state(1, "BACKUP", Duration::from_secs(5));
    (a, b)
}

/// The backup declares the master dead when three adverts in a row are lost (the fourth would
/// come at 4 s > 3.39 s). With independent loss p per advert, a new run of three losses starts
/// at a given advert with probability (1-p)·p³, so over n adverts ≈ n·(1-p)·p³ takeovers.
fn expected_flaps(p: f64, adverts: f64) -> f64 {
    adverts * (1.0 - p) * p.powi(3)
}

#[test]
fn advert_loss_flaps_no_more_than_the_protocol_predicts() {
    let lab = Lab::new("fl", 2);
    let (a, b) = pair(&lab, 0, 100);
    const WINDOW: Duration = Duration::from_secs(20);
    for percent in [0u32, 10, 30] {
        let before = transitions(&b.hook_calls()).0;
        let counter = |d: &Daemon, name: &str| d.vhid(1).unwrap()[name].as_u64().unwrap();
        let (sent0, heard0) = (counter(&a, "adverts_sent"), counter(&b, "adverts_received"));
        // Loss of the master's adverts only: what the backup hears is what decides a flap.
        advert_loss(&lab, lab.node(0), percent);
        std::thread::sleep(WINDOW);
        advert_loss(&lab, lab.node(0), 0);
        let (sent, heard) = (
            counter(&a, "adverts_sent") - sent0,
            counter(&b, "adverts_received") - heard0,
        );
        // The loss really happened (else "no flaps" would prove nothing): B heard about
        // (1-p) of A's adverts. With ~20 draws the observed rate is binomial, so allow four
        // standard deviations (25 points at least, for the in-flight advert at the window's
        // edges), and at 30 % demand at least one lost (all 20 through: 0.7^20 ≈ 0.08 %).
        let lost = 1.0 - heard as f64 / sent as f64;
        println!(
            "loss {percent:>2} %: B heard {heard} of A's {sent} adverts ({:.0} % lost)",
            lost * 100.0
        );
        let p = f64::from(percent) / 100.0;
        let tolerance = (4.0 * (p * (1.0 - p) / sent as f64).sqrt()).max(0.25);
        assert!(
            (lost - p).abs() <= tolerance && (percent < 30 || heard < sent),
            "asked for {percent} % loss, saw {:.0} %",
            lost * 100.0
        );
        // A flap in the last second of the window is over once A's next advert arrives.
        std::thread::sleep(Duration::from_millis(1500));
        let flaps = transitions(&b.hook_calls()).0 - before;
        let expected = expected_flaps(p, WINDOW.as_secs_f64());
        let bound = (4.0 * expected).max(3.0);
        println!(
            "loss {percent:>2} %: {flaps} takeovers by the backup in {WINDOW:?} \
             (expected {expected:.3}, bound {bound})"
        );
        if percent == 0 {
            assert_eq!(flaps, 0, "flapping without any loss: {:?}", b.hook_calls());
        } else {
            assert!(
                flaps as f64 <= bound,
                "{flaps} takeovers at {percent} % loss, expected about {expected:.3}: {:?}",
                b.hook_calls()
            );
        }
        a.wait_state(1, "MASTER", Duration::from_secs(3));
        b.wait_state(1, "BACKUP", Duration::from_secs(3));
    }
}

/// Partition A and B (both MASTER, the client moved to B by B's GARP), then heal. Returns the
/// lab, the daemons, and a capture of ARP from A's MAC started just before the heal.
fn partition_and_heal(prefix: &str) -> (Lab, Daemon, Daemon, common::netns::Proc) {
    let lab = Lab::new(prefix, 2);
    let (a, b) = pair(&lab, 0, 100);
    // A and B can no longer hear each other; both still reach the client.
    isolate(&lab, lab.node(0), true);
    isolate(&lab, lab.node(1), true);
    b.wait_state(1, "MASTER", Duration::from_secs(6));
    assert_eq!(a.state(1), "MASTER", "A must stay MASTER in its half");
    // B's GARP moved the client to B during the partition.
    assert!(wait_until(Duration::from_secs(3), || {
        ping(&lab, VIP) && neighbour_mac(&lab, VIP) == Some(lab.node(1).mac)
    }));
    let m = lab.node(0).mac;
    let mac = format!(
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        m[0], m[1], m[2], m[3], m[4], m[5]
    );
    let garp = lab.capture(
        &lab.client().ns,
        &lab.client().ifname,
        1,
        &format!("arp and ether src {mac} and host {VIP}"),
    );
    let healed = Instant::now();
    isolate(&lab, lab.node(0), false);
    isolate(&lab, lab.node(1), false);
    let one_master = wait_until(Duration::from_secs(3), || {
        a.state(1) == "MASTER" && b.state(1) == "BACKUP"
    });
    let took = healed.elapsed();
    println!("one MASTER {:.3} s after the heal", took.as_secs_f64());
    assert!(
        one_master && took <= Duration::from_millis(1500),
        "not exactly one MASTER within one advert interval + 0.5 s of the heal ({took:?}): A {} B {}",
        a.state(1),
        b.state(1)
    );
    (lab, a, b, garp)
}

#[test]
fn partition_then_heal_leaves_one_master_within_an_advert_interval() {
    let (_lab, a, b, _garp) = partition_and_heal("fp");
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        (a.state(1).as_str(), b.state(1).as_str()),
        ("MASTER", "BACKUP")
    );
}

/// After the heal the client still has B's MAC for the VIP. Unless A re-announces, it keeps
/// sending to B (which released the VIP) until its neighbour entry goes stale — tens of
/// seconds. A re-announces when it hears a slower master; B, yielding, sends one last advert
/// so that A hears it even when A's advert reached B first.
#[test]
fn partition_heal_winner_reannounces_to_the_client() {
    let (lab, a, b, garp) = partition_and_heal("fg");
    let announced = garp.wait_exit(Duration::from_secs(3)).is_some();
    println!("after the heal: {}", garp.stdout().trim());
    let client_on_a = wait_until(Duration::from_secs(2), || {
        ping(&lab, VIP) && neighbour_mac(&lab, VIP) == Some(lab.node(0).mac)
    });
    assert!(
        announced && client_on_a,
        "after the heal: ARP announcement from the winner: {announced}; client back on A: \
         {client_on_a}\nA:\n{}\nB:\n{}",
        a.log(),
        b.log()
    );
}

/// Longest time both nodes held the VIP at once while sampling for `span`.
fn longest_double_holding(lab: &Lab, a: &Daemon, b: &Daemon, span: Duration) -> Duration {
    let end = Instant::now() + span;
    let (mut longest, mut since) = (Duration::ZERO, None::<Instant>);
    while Instant::now() < end {
        let both = a.holds(lab, VIP) && b.holds(lab, VIP);
        match (both, since) {
            (true, None) => since = Some(Instant::now()),
            (false, Some(t)) => {
                longest = longest.max(t.elapsed());
                since = None;
            }
            _ => {}
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    if let Some(t) = since {
        longest = longest.max(t.elapsed());
    }
    longest
}

#[test]
fn sigkilled_preferred_master_keeps_or_reclaims_the_vip_on_restart() {
    let lab = Lab::new("fk", 2);
    let (mut a, b) = pair(&lab, 0, 100);
    let limit = Duration::from_secs_f64(MASTER_DOWN_100);

    // Restarted at once (a supervisor): it keeps the stale VIP and stays MASTER.
    a.signal(Signal::SIGKILL);
    a.proc.take().unwrap().wait_exit(Duration::from_secs(5));
    a.start(&lab);
    let double = longest_double_holding(&lab, &a, &b, Duration::from_secs(6));
    println!("restart at once: both held the VIP for at most {double:?}");
    assert!(double <= limit, "two holders for {double:?}");
    a.wait_state(1, "MASTER", Duration::from_secs(3));
    b.wait_state(1, "BACKUP", Duration::from_secs(3));
    assert!(a.holds(&lab, VIP) && !b.holds(&lab, VIP));

    // Restarted after B took over: it preempts and reclaims; B lets go.
    a.signal(Signal::SIGKILL);
    a.proc.take().unwrap().wait_exit(Duration::from_secs(5));
    b.wait_state(1, "MASTER", Duration::from_secs(6));
    assert!(
        a.holds(&lab, VIP),
        "SIGKILL cannot clean up: the VIP is still on A"
    );
    a.start(&lab);
    let double = longest_double_holding(&lab, &a, &b, Duration::from_secs(6));
    println!("restart after takeover: both held the VIP for at most {double:?}");
    assert!(double <= limit, "two holders for {double:?}");
    a.wait_state(1, "MASTER", Duration::from_secs(3));
    b.wait_state(1, "BACKUP", Duration::from_secs(3));
    assert!(a.holds(&lab, VIP) && !b.holds(&lab, VIP));
    assert!(
        wait_until(Duration::from_secs(2), || ping(&lab, VIP)
            && neighbour_mac(&lab, VIP) == Some(lab.node(0).mac)),
        "client not on A after it reclaimed the VIP"
    );
}

fn carp_datagram(src: Ipv4Addr, repr: &Repr) -> Vec<u8> {
    build_ipv4(src, MCAST_V4, &repr.to_bytes())
}

/// Wait (bounded) until `reason` on vhid 1 of `d` reaches `want`, then check it is exact.
fn expect_drops(d: &Daemon, reason: &str, want: u64) {
    wait_until(Duration::from_secs(3), || d.drops(1, reason) >= want);
    assert_eq!(
        d.drops(1, reason),
        want,
        "{}: drops[{reason}]: {:?}",
        d.node.ns,
        d.vhid(1).map(|v| v["drops"].clone())
    );
}

#[test]
fn forged_adverts_change_nothing_and_are_counted_by_reason() {
    let lab = Lab::new("ff", 2);
    let (a, b) = pair(&lab, 0, 100);
    let client = lab.client().clone();
    let key = carpd::config::key::derive_key("test-secret").key.0;
    let last = |d: &Daemon| d.vhid(1).unwrap()["last_transition"].clone();
    let (last_a, last_b) = (last(&a), last(&b));
    // Attractive forgeries: advskew 0, a counter far ahead.
    let forged = |vhid, hmac| Repr {
        vhid,
        advskew: 0,
        advbase: 1,
        demote: 0,
        counter: 0x7fff_0000_0000_0000,
        hmac,
    };

    // Bad HMAC (no key).
    send_raw_v4(
        &client,
        &vec![carp_datagram(client.v4, &forged(1, [0x55; 20])); 3],
    );
    for d in [&a, &b] {
        expect_drops(d, "badauth", 3);
    }
    // The right key but over a different address set (a misconfigured peer).
    let wrong_set = CarpAuth::new(&key, 1, &[Ipv4Addr::new(192, 0, 2, 99)], &[]);
    let counter = 0x7fff_0000_0000_0001;
    let mut r = forged(1, wrong_set.compute(counter));
    r.counter = counter;
    send_raw_v4(&client, &vec![carp_datagram(client.v4, &r); 3]);
    for d in [&a, &b] {
        expect_drops(d, "badauth", 6);
    }
    // TTL 64: not from the link (checked before the HMAC).
    let mut ttl64 = carp_datagram(client.v4, &forged(1, [0x55; 20]));
    ttl64[8] = 64;
    send_raw_v4(&client, &vec![ttl64; 3]);
    for d in [&a, &b] {
        expect_drops(d, "badttl", 3);
    }

    // These belong to no VHID: status counts them at carp level, and the log names each.
    let wrong_vhid = carp_datagram(client.v4, &forged(99, [0x55; 20]));
    let truncated = build_ipv4(client.v4, MCAST_V4, &forged(1, [0x55; 20]).to_bytes()[..20]);
    // VRRPv3 advert: version 3, type 1, vrid 77 (no VHID here), priority 255, one address,
    // interval 1 s.
    let vrrp = build_ipv4(
        client.v4,
        MCAST_V4,
        &[0x31, 77, 255, 1, 0x00, 100, 0, 0, 192, 0, 2, 1],
    );
    send_raw_v4(&client, &[wrong_vhid, truncated, vrrp]);
    for d in [&a, &b] {
        for reason in ["badvhid", "badlen", "vrrp"] {
            let line = format!("dropped a packet from {} ({reason})", client.v4);
            assert!(
                wait_until(Duration::from_secs(3), || d.log().contains(&line)),
                "{}: no `{line}` in the log:\n{}",
                d.node.ns,
                d.log()
            );
            let counted = d.report().unwrap()["carp"]["drops"][reason].as_u64();
            assert!(counted >= Some(1), "{}: {reason} not in status", d.node.ns);
        }
    }

    // The same VRRPv3 advert with VRID 1: a VRRP router that uses our CARP VHID's number
    // (both take the MAC 00:00:5e:00:01:01), counted on that VHID.
    let collision = build_ipv4(
        client.v4,
        MCAST_V4,
        &[0x31, 1, 255, 1, 0x00, 100, 0, 0, 192, 0, 2, 1],
    );
    send_raw_v4(&client, &[collision]);
    for d in [&a, &b] {
        expect_drops(d, "vrrponcarp", 1);
    }

    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(a.state(1), "MASTER");
    assert_eq!(b.state(1), "BACKUP");
    assert_eq!(last(&a), last_a, "a forged advert caused a transition on A");
    assert_eq!(last(&b), last_b, "a forged advert caused a transition on B");
    for d in [&a, &b] {
        let report = d.report().unwrap();
        println!(
            "{}: vhid drops {} / global {}",
            d.node.ns, report["vhids"][0]["drops"], report["carp"]
        );
    }
}

/// `captured` with advskew and advbase rewritten (the HMAC covers neither; the checksum is
/// recomputed so that only the counter can give the replay away).
fn rewritten(captured: &[u8], advbase: u8, advskew: u8) -> Vec<u8> {
    let mut d = captured.to_vec();
    let ihl = usize::from(d[0] & 0x0f) * 4;
    let mut p = Packet::new_unchecked(&mut d[ihl..]);
    p.set_advbase(advbase);
    p.set_advskew(advskew);
    p.fill_checksum();
    d
}

/// The replay attack on a preempting backup: the master's real advert, re-sent from the
/// master's address with advskew 0, or with advbase 255 / advskew 255 ("about to time out",
/// which makes a backup take over at once). The master itself never receives datagrams with
/// its own source address (Linux drops them as martians), so the backup is where a replay
/// lands.
#[test]
fn replayed_advert_is_caught_by_the_guard_and_works_without_it() {
    let lab = Lab::new("fr", 2);
    let (a, mut b) = pair(&lab, 0, 100);
    b.stop();
    b.start_with(&lab, &["--replay-guard"]);
    b.wait_state(1, "BACKUP", Duration::from_secs(5));
    let client = lab.client().clone();
    let captured = capture_v4_from(&client, lab.node(0).v4, Duration::from_secs(5));
    let skew0 = rewritten(&captured, 1, 0);
    let timing_out = rewritten(&captured, 255, 255);
    // Let the counter move on, so these are old adverts.
    std::thread::sleep(Duration::from_millis(2500));
    send_raw_v4(&client, &[skew0.clone(), timing_out.clone()]);
    assert!(
        wait_until(Duration::from_secs(2), || b.drops(1, "replay") >= 2),
        "B did not count the replays: {:?}",
        b.vhid(1).map(|v| v["drops"].clone())
    );
    assert_eq!(b.drops(1, "replay"), 2);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(a.state(1), "MASTER");
    assert_eq!(
        b.state(1),
        "BACKUP",
        "a replay moved the backup with the guard on"
    );

    // The same datagram without the guard: the backup believes the master is about to go and
    // takes over while A is still MASTER.
    b.stop();
    b.start(&lab);
    b.wait_state(1, "BACKUP", Duration::from_secs(5));
    std::thread::sleep(Duration::from_millis(1500));
    send_raw_v4(&client, std::slice::from_ref(&timing_out));
    b.wait_state(1, "MASTER", Duration::from_secs(2));
    println!(
        "without the guard B took over: {}",
        b.vhid(1).unwrap()["last_transition"]
    );
    // A's next real advert puts B back.
    b.wait_state(1, "BACKUP", Duration::from_secs(3));
    assert_eq!(a.state(1), "MASTER");
}

#[test]
fn hanging_and_failing_hooks_do_not_delay_failover() {
    let lab = Lab::new("fh", 2);
    let mut a = Daemon::prepare(lab.node(0), &[Vip::v4(1, VIP_CIDR, 0)], false);
    let mut b = Daemon::prepare(lab.node(1), &[Vip::v4(1, VIP_CIDR, 100)], false);
    for d in [&a, &b] {
        for (name, body) in [("20-hang", "exec sleep 600"), ("30-fail", "exit 1")] {
            let path = d.dir.join("hooks").join(name);
            std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
    }
    a.start_with_hook_timeout(&lab, 1, &[]);
    a.wait_state(1, "MASTER", Duration::from_secs(10));
    b.start_with_hook_timeout(&lab, 1, &[]);
    b.wait_state(1, "BACKUP", Duration::from_secs(5));

    let cut = Instant::now();
    lab.cut(0);
    let took = b.wait_state(1, "MASTER", Duration::from_secs(10)) - cut;
    println!(
        "takeover {:.3} s after the cut with a hanging hook",
        took.as_secs_f64()
    );
    assert!(
        took.as_secs_f64() <= MASTER_DOWN_100 + 0.5,
        "takeover took {took:?}: hooks delayed the protocol"
    );
    assert!(b.holds(&lab, VIP));

    // Each transition's hang is killed after 1 s; the queue then moves on.
    let hooks = |state: &str| -> Vec<serde_json::Value> {
        b.vhid(1).unwrap()["hooks"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|h| h["state"] == state)
            .collect()
    };
    assert!(
        wait_until(Duration::from_secs(8), || hooks("MASTER").len() >= 3),
        "MASTER hooks did not all finish: {:?}",
        b.vhid(1).unwrap()["hooks"]
    );
    let master = hooks("MASTER");
    let find = |name: &str| {
        master
            .iter()
            .find(|h| h["hook"].as_str().is_some_and(|s| s.contains(name)))
            .unwrap_or_else(|| panic!("no {name} result: {master:?}"))
            .clone()
    };
    let hang = find("20-hang");
    assert_eq!(hang["timed_out"], true, "{hang}");
    let ms = hang["duration_ms"].as_u64().unwrap();
    assert!(
        (900..=3000).contains(&ms),
        "hang killed after {ms} ms, not ~1 s"
    );
    let fail = find("30-fail");
    assert_eq!(fail["exit_code"], 1, "{fail}");
    assert_eq!(fail["timed_out"], false);
    // The recording hook ran for both transitions, in order.
    let calls = b.hook_calls();
    assert_eq!(transitions(&calls), (1, 1), "{calls:?}");
    // No hook process survives its timeout.
    let ns = lab.node(1).ns.clone();
    let sleeping = || {
        lab.exec(&lab.node(1).ns, &["ip", "netns", "pids", &ns])
            .stdout
            .split(|c| *c == b'\n')
            .filter_map(|p| std::str::from_utf8(p).ok()?.trim().parse::<u32>().ok())
            .filter(|p| {
                std::fs::read_to_string(format!("/proc/{p}/comm"))
                    .is_ok_and(|c| c.trim() == "sleep")
            })
            .count()
    };
    assert!(
        wait_until(Duration::from_secs(3), || sleeping() == 0),
        "a timed-out hook is still running in {ns}"
    );
}
