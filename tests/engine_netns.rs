//! The userspace engine end to end: real carpd daemons in network namespaces, real raw
//! sockets, real addresses, pings from a client. Needs root (CI runs as root).

#![cfg(target_os = "linux")]

mod common;
#[path = "engine/harness.rs"]
mod harness;

use std::time::{Duration, Instant};

use common::netns::Lab;
use harness::{Daemon, Vip, elected, neighbour_mac, pair, ping};
use nix::sys::signal::Signal;

const VIP: &str = "192.0.2.1";
const VIP_CIDR: &str = "192.0.2.1/24";
/// Master-down of a backup with advbase 1, advskew 100: 3 + 100/256 s.
const MASTER_DOWN_100: f64 = 3.390625;

#[test]
fn two_nodes_elect_one_master_and_fail_over_on_a_cut_cable() {
    let lab = Lab::new("e2", 2);
    let (a, b) = pair(
        &lab,
        &[Vip::v4(1, VIP_CIDR, 0)],
        &[Vip::v4(1, VIP_CIDR, 100)],
        false,
    );
    elected(&a, &b, 1);
    assert!(a.holds(&lab, VIP) && !b.holds(&lab, VIP));
    assert!(ping(&lab, VIP), "VIP does not answer while A is master");
    assert_eq!(neighbour_mac(&lab, VIP), Some(lab.node(0).mac));

    let cut = Instant::now();
    lab.cut(0);
    let took = b.wait_state(1, "MASTER", Duration::from_secs(10)) - cut;
    println!(
        "takeover {:.3} s after the cut (master-down {MASTER_DOWN_100} s)",
        took.as_secs_f64()
    );
    // B's timer restarted at A's last advert, which left at most one interval before the cut.
    assert!(
        took.as_secs_f64() <= MASTER_DOWN_100 + 0.5,
        "takeover took {took:?}, more than master-down + margin"
    );
    assert!(b.holds(&lab, VIP));
    // A lost carrier: INIT, VIP released (so it cannot answer when its cable comes back).
    a.wait_state(1, "INIT", Duration::from_secs(3));
    assert!(!a.holds(&lab, VIP));
    assert!(
        common::netns::wait_until(Duration::from_secs(3), || ping(&lab, VIP)),
        "VIP does not answer after the takeover"
    );
    assert_eq!(
        neighbour_mac(&lab, VIP),
        Some(lab.node(1).mac),
        "GARP did not move the client"
    );

    // Cable back: A is preferred and preempts (OPNsense default).
    lab.restore(0);
    a.wait_state(1, "MASTER", Duration::from_secs(10));
    b.wait_state(1, "BACKUP", Duration::from_secs(3));
    assert!(!b.holds(&lab, VIP));
}

#[test]
fn three_nodes_elect_the_most_preferred_and_the_next_takes_over() {
    let lab = Lab::new("e3", 3);
    let mut nodes: Vec<Daemon> = [0u8, 50, 100]
        .iter()
        .enumerate()
        .map(|(i, skew)| Daemon::prepare(lab.node(i), &[Vip::v4(1, VIP_CIDR, *skew)], false))
        .collect();
    for n in &mut nodes {
        n.start(&lab);
    }
    nodes[0].wait_state(1, "MASTER", Duration::from_secs(10));
    nodes[1].wait_state(1, "BACKUP", Duration::from_secs(5));
    nodes[2].wait_state(1, "BACKUP", Duration::from_secs(5));
    nodes[0].signal(Signal::SIGKILL);
    nodes[1].wait_state(1, "MASTER", Duration::from_secs(10));
    // The advskew-100 node hears the advskew-50 master and stays BACKUP.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(nodes[2].state(1), "BACKUP");
    let masters = nodes[1..].iter().filter(|n| n.state(1) == "MASTER").count();
    assert_eq!(masters, 1);
}

#[test]
fn graceful_stop_hands_over_within_one_advert_even_without_preempt() {
    let lab = Lab::new("eg", 2);
    // Preempt off: only the bow-out advert (advbase 255) can make B move before master-down.
    let (mut a, b) = pair(
        &lab,
        &[Vip::v4(1, VIP_CIDR, 0)],
        &[Vip::v4(1, VIP_CIDR, 100)],
        true,
    );
    elected(&a, &b, 1);
    let t0 = Instant::now();
    a.stop();
    let took = b.wait_state(1, "MASTER", Duration::from_secs(5)) - t0;
    println!("graceful hand-over in {:.3} s", took.as_secs_f64());
    assert!(
        took < Duration::from_secs(1),
        "bow-out did not hand over at once: {took:?}"
    );
    assert!(!a.holds(&lab, VIP), "stopped carpd left its VIP behind");
    let last = b.vhid(1).unwrap()["last_transition"]["reason"].clone();
    assert_eq!(last, "master will time out");
}

#[test]
fn without_preempt_a_returning_preferred_node_stays_backup() {
    let lab = Lab::new("ep", 2);
    let (mut a, b) = pair(
        &lab,
        &[Vip::v4(1, VIP_CIDR, 0)],
        &[Vip::v4(1, VIP_CIDR, 100)],
        true,
    );
    a.wait_state(1, "MASTER", Duration::from_secs(10));
    a.stop();
    b.wait_state(1, "MASTER", Duration::from_secs(5));
    a.start(&lab);
    a.settles_in(
        1,
        "BACKUP",
        "preempted although hasync disablepreempt is set",
    );
    assert_eq!(b.state(1), "MASTER");
}

#[test]
fn wrong_password_cannot_take_over_and_is_counted() {
    let lab = Lab::new("ew", 2);
    let mut intruder = Vip::v4(1, VIP_CIDR, 0);
    intruder.password = "not-the-key";
    let mut a = Daemon::prepare(lab.node(0), &[Vip::v4(1, VIP_CIDR, 100)], false);
    a.start(&lab);
    a.wait_state(1, "MASTER", Duration::from_secs(10));
    // A preempting node with a better advskew but the wrong key.
    let mut b = Daemon::prepare(lab.node(1), &[intruder], false);
    b.start(&lab);
    assert!(common::netns::wait_until(Duration::from_secs(6), || a
        .drops(1, "badauth")
        > 0));
    assert_eq!(
        a.state(1),
        "MASTER",
        "an unauthenticated advert moved the master"
    );
    assert!(b.drops(1, "badauth") > 0);
    // The status table says what the counter means.
    let (code, table, err) = a.ctl(&["status"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        table.contains(&format!("hint: VHID 1@{}: ", lab.node(0).ifname))
            && table.contains("failed authentication"),
        "{table}"
    );
}

#[test]
fn unicast_peers_elect_and_fail_over() {
    let lab = Lab::new("eu", 2);
    let mut va = Vip::v4(1, VIP_CIDR, 0);
    va.peer = Some(lab.node(1).v4.to_string());
    let mut vb = Vip::v4(1, VIP_CIDR, 100);
    vb.peer = Some(lab.node(0).v4.to_string());
    let cap = lab.capture(&lab.client().ns, &lab.client().ifname, 1, "ip proto 112");
    let (a, b) = pair(&lab, &[va], &[vb], false);
    elected(&a, &b, 1);
    // Unicast adverts are not flooded to the client (the bridge learnt B's MAC).
    assert!(
        cap.wait_exit(Duration::from_secs(3)).is_none(),
        "unicast advert reached the client: {}",
        cap.stdout()
    );
    cap.kill();
    lab.cut(0);
    b.wait_state(1, "MASTER", Duration::from_secs(10));
}

#[test]
fn ipv6_and_dual_stack_vhids() {
    let lab = Lab::new("e6", 2);
    let v6 = |skew| Vip {
        vhid: 2,
        addrs: vec!["2001:db8::1/64"],
        advbase: 1,
        advskew: skew,
        password: "v6-secret",
        peer: None,
        peer6: None,
        device: None,
        vrrp: None,
    };
    let dual = |skew| Vip {
        vhid: 3,
        addrs: vec!["192.0.2.3/24", "2001:db8::3/64"],
        advbase: 1,
        advskew: skew,
        password: "dual",
        peer: None,
        peer6: None,
        device: None,
        vrrp: None,
    };
    let (a, b) = pair(&lab, &[v6(0), dual(0)], &[v6(100), dual(100)], false);
    for vhid in [2, 3] {
        elected(&a, &b, vhid);
    }
    assert!(
        a.holds(&lab, "2001:db8::1") && a.holds(&lab, "192.0.2.3") && a.holds(&lab, "2001:db8::3")
    );
    assert!(
        common::netns::wait_until(Duration::from_secs(3), || ping(&lab, "2001:db8::1")),
        "IPv6 VIP does not answer"
    );
    lab.cut(0);
    for vhid in [2, 3] {
        b.wait_state(vhid, "MASTER", Duration::from_secs(10));
    }
    assert!(b.holds(&lab, "2001:db8::1") && b.holds(&lab, "2001:db8::3"));
}

#[test]
fn hooks_get_opnsense_arguments_in_order() {
    let lab = Lab::new("eh", 2);
    let (mut a, b) = pair(
        &lab,
        &[Vip::v4(7, VIP_CIDR, 0)],
        &[Vip::v4(7, VIP_CIDR, 100)],
        false,
    );
    elected(&a, &b, 7);
    // The start-up log names the hooks that will run.
    assert!(
        a.log().contains(&format!(
            "hooks: 1 in {}: 10-record",
            a.dir.join("hooks").display()
        )),
        "{}",
        a.log()
    );
    a.stop();
    b.wait_state(7, "MASTER", Duration::from_secs(5));
    let ifa = &lab.node(0).ifname;
    let ifb = &lab.node(1).ifname;
    assert!(common::netns::wait_until(Duration::from_secs(5), || b
        .hook_calls()
        .len()
        >= 2));
    let calls_a = a.hook_calls();
    assert_eq!(
        calls_a,
        vec![
            format!(
                "7@{ifa} BACKUP prev=INIT vhid=7 if={ifa} state=BACKUP reason=initialization complete addrs=192.0.2.1"
            ),
            format!(
                "7@{ifa} MASTER prev=BACKUP vhid=7 if={ifa} state=MASTER reason=master timed out addrs=192.0.2.1"
            ),
            format!(
                "7@{ifa} INIT prev=MASTER vhid=7 if={ifa} state=INIT reason=shutting down addrs=192.0.2.1"
            ),
        ]
    );
    let calls_b = b.hook_calls();
    assert_eq!(
        calls_b[0],
        format!(
            "7@{ifb} BACKUP prev=INIT vhid=7 if={ifb} state=BACKUP reason=initialization complete addrs=192.0.2.1"
        )
    );
    assert_eq!(
        calls_b[1],
        // With preempt on, FreeBSD's rule order makes the bow-out (advbase 255) a slower master.
        format!(
            "7@{ifb} MASTER prev=BACKUP vhid=7 if={ifb} state=MASTER reason=preempting a slower master addrs=192.0.2.1"
        )
    );
}

#[test]
fn sigkill_then_restart_reconciles_stale_vips() {
    let lab = Lab::new("ek", 2);
    let (mut a, b) = pair(
        &lab,
        &[Vip::v4(1, VIP_CIDR, 0)],
        &[Vip::v4(1, VIP_CIDR, 100)],
        true,
    );
    elected(&a, &b, 1);
    a.signal(Signal::SIGKILL);
    a.proc.take().unwrap().wait_exit(Duration::from_secs(5));
    assert!(
        a.holds(&lab, VIP),
        "the killed carpd's VIP should still be there"
    );
    b.wait_state(1, "MASTER", Duration::from_secs(10));
    // Two holders now; the restarted carpd must drop its stale copy once it hears B
    // (no preempt here, so A stays BACKUP).
    a.start(&lab);
    let t0 = Instant::now();
    assert!(
        common::netns::wait_until(Duration::from_secs(5), || !a.holds(&lab, VIP)),
        "restarted carpd kept the stale VIP"
    );
    println!(
        "stale VIP removed {:.3} s after restart",
        t0.elapsed().as_secs_f64()
    );
    assert_eq!(a.state(1), "BACKUP");
    assert!(b.holds(&lab, VIP));
}

#[test]
fn reload_touches_only_the_changed_vhid() {
    let lab = Lab::new("er", 1);
    let vips = [Vip::v4(1, "192.0.2.1/24", 0), Vip::v4(2, "192.0.2.2/24", 0)];
    let mut a = Daemon::prepare(lab.node(0), &vips, false);
    a.start(&lab);
    a.wait_state(1, "MASTER", Duration::from_secs(10));
    a.wait_state(2, "MASTER", Duration::from_secs(1));
    let before_1 = a.vhid(1).unwrap()["last_transition"].clone();
    // Hooks run after the state changes: wait for both VHIDs' INIT→BACKUP→MASTER hooks
    // before taking the baseline, so a late start-up hook is not blamed on the reload.
    assert!(
        common::netns::wait_until(Duration::from_secs(5), || a.hook_calls().len() >= 4),
        "start-up hooks: {:?}",
        a.hook_calls()
    );
    let hooks_before = a.hook_calls().len();
    let mut changed = vips.clone();
    changed[1].addrs.push("192.0.2.22/24");
    changed[1].advskew = 20;
    std::fs::write(
        a.config_path(),
        harness::config_xml(&lab.node(0).ifname, &changed, false),
    )
    .unwrap();
    let (code, out, err) = a.ctl(&["reload", "--json"]);
    assert_eq!(code, 0, "{out}{err}");
    let answer: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        answer["changed"],
        serde_json::json!([format!("2@{}", lab.node(0).ifname)])
    );
    assert_eq!(answer["unchanged"], 1);
    assert!(
        a.holds(&lab, "192.0.2.22"),
        "a MASTER adds an address added by reload"
    );
    assert_eq!(a.vhid(1).unwrap()["last_transition"], before_1);
    // INIT -> BACKUP -> MASTER, and the reload added none.
    assert_eq!(a.vhid(1).unwrap()["transitions"], 2);
    assert_eq!(a.vhid(2).unwrap()["transitions"], 2);
    assert_eq!(a.state(2), "MASTER");
    assert_eq!(a.vhid(2).unwrap()["advskew"], 20);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(a.hook_calls().len(), hooks_before, "reload ran hooks");

    // A config with errors is refused and the running one kept.
    std::fs::write(
        a.config_path(),
        "<opnsense><virtualip><vip><mode>carp</mode><vhid>300</vhid></vip></virtualip></opnsense>",
    )
    .unwrap();
    let (code, out, _) = a.ctl(&["reload", "--json"]);
    assert_eq!(code, 1);
    assert!(out.contains("failed"), "{out}");
    assert_eq!(a.state(1), "MASTER");
    assert_eq!(a.state(2), "MASTER");
}

#[test]
fn status_answers_in_opnsense_shape_and_says_when_no_daemon() {
    let lab = Lab::new("es", 1);
    let mut a = Daemon::prepare(lab.node(0), &[Vip::v4(1, VIP_CIDR, 0)], false);
    let (code, _, err) = a.ctl(&["status"]);
    assert_eq!(code, 3, "no daemon must exit 3: {err}");
    assert!(err.contains("no carpd"), "{err}");
    a.start(&lab);
    a.wait_state(1, "MASTER", Duration::from_secs(10));
    let (code, out, err) = a.ctl(&["status", "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["total"], 1);
    let row = &v["rows"][0];
    assert_eq!(row["vhid"], "1");
    assert_eq!(row["status"], "MASTER");
    assert_eq!(row["subnet"], VIP);
    assert_eq!(row["mode"], "carp");
    assert_eq!(row["vhid_txt"], "1 (freq. 1/0)");
    assert_eq!(v["carp"]["allow"], "1");
    assert_eq!(v["carp"]["demotion"], "0");
    let (code, table, _) = a.ctl(&["status"]);
    assert_eq!(code, 0);
    assert!(table.contains("MASTER") && table.contains(VIP), "{table}");
    let (code, metrics, _) = a.ctl(&["status", "--prometheus"]);
    assert_eq!(code, 0);
    let master = format!(
        "carpd_vhid_state{{device=\"{}\",vhid=\"1\",",
        lab.node(0).ifname
    );
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with(&master) && l.ends_with(",state=\"MASTER\"} 1")),
        "{metrics}"
    );
}

#[test]
fn a_dead_interface_demotes_the_healthy_vhids_so_they_follow() {
    let lab = Lab::new("ed", 2);
    // Each node has a second, local interface carrying VHID 2; when it dies on A, FreeBSD's
    // interface demotion must move VHID 1 (on the healthy link) to B as well.
    for i in 0..2 {
        let ns = &lab.node(i).ns;
        // A veth pair inside the node: the kernel here has no dummy interfaces.
        lab.ip(
            ns,
            &[
                "link",
                "add",
                "carplocal0",
                "type",
                "veth",
                "peer",
                "name",
                "carplocal1",
            ],
        );
        lab.ip(ns, &["addr", "add", "198.51.100.1/24", "dev", "carplocal0"]);
        lab.ip(ns, &["link", "set", "carplocal1", "up"]);
        lab.ip(ns, &["link", "set", "carplocal0", "up"]);
    }
    let local = |skew| Vip {
        device: Some("carplocal0"),
        ..Vip::v4(2, "198.51.100.100/24", skew)
    };
    let (a, b) = pair(
        &lab,
        &[Vip::v4(1, VIP_CIDR, 0), local(0)],
        &[Vip::v4(1, VIP_CIDR, 100), local(100)],
        false,
    );
    elected(&a, &b, 1);
    lab.ip(&lab.node(0).ns, &["link", "set", "carplocal1", "down"]);
    a.wait_state(2, "INIT", Duration::from_secs(3));
    // A now advertises advskew 240 on VHID 1; B (100, preempt) takes over on the next advert.
    b.wait_state(1, "MASTER", Duration::from_secs(3));
    a.wait_state(1, "BACKUP", Duration::from_secs(2));
    let carp = &a.report().unwrap()["carp"];
    assert_eq!(carp["demotions"]["interface down"], 240, "{carp}");
    assert_eq!(carp["demotion"], 240);
    lab.ip(&lab.node(0).ns, &["link", "set", "carplocal1", "up"]);
    a.wait_state(1, "MASTER", Duration::from_secs(5));
    assert_eq!(a.report().unwrap()["carp"]["demotion"], 0);
}
