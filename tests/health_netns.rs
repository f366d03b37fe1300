//! CARP follows health, end to end on the userspace engine with real daemons in namespaces:
//! tracked checks (a failing one moves the VIP, `rise` brings it back, a hung one is killed
//! and does not delay a failover), readiness gating, demotions that expire, the preempt
//! delay, `carpd events`, `carpd is-master`, the periodic GARP refresh and the dual-master
//! alarm. Needs root.

#![cfg(target_os = "linux")]

mod common;
#[path = "engine/harness.rs"]
mod harness;

use std::time::{Duration, Instant};

use common::netns::{Lab, Proc, wait_until};
use harness::{Daemon, Vip, elected, ok_json};

const VIP_CIDR: &str = "192.0.2.1/24";

/// A check in config.xml form.
fn check(name: &str, fields: &str) -> String {
    format!(
        "<checks><check uuid=\"30000000-0000-4000-8000-000000000001\"><name>{name}</name>{fields}</check></checks>"
    )
}

/// Node A (advskew 0, preferred) and B (advskew 100), A with these carpd settings; started
/// B first when `b_first`, so B holds MASTER before A runs.
fn pair_with(lab: &Lab, a_settings: &str, b_first: bool) -> (Daemon, Daemon) {
    let mut a = Daemon::prepare(lab.node(0), &[Vip::v4(1, VIP_CIDR, 0)], false);
    let mut b = Daemon::prepare(lab.node(1), &[Vip::v4(1, VIP_CIDR, 100)], false);
    a.set_carpd_settings(a_settings);
    if b_first {
        b.start(lab);
        b.wait_state(1, "MASTER", Duration::from_secs(10));
        a.start(lab);
    } else {
        a.start(lab);
        b.start(lab);
    }
    (a, b)
}

fn is_master(d: &Daemon, args: &[&str]) -> i32 {
    let mut all = vec!["is-master"];
    all.extend_from_slice(args);
    d.ctl(&all).0
}

fn hints(d: &Daemon) -> String {
    d.ctl(&["status"]).1
}

/// The JSON lines of a `carpd events --json` listener so far.
fn events(p: &Proc) -> Vec<serde_json::Value> {
    p.stdout()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn has_event(p: &Proc, f: impl Fn(&serde_json::Value) -> bool) -> bool {
    events(p).iter().any(f)
}

#[test]
fn a_failing_check_moves_the_vip_rise_brings_it_back_and_events_and_is_master_follow() {
    let lab = Lab::new("hc", 2);
    let down = std::env::temp_dir().join(format!("carpd-hc-down-{}", std::process::id()));
    let _ = std::fs::remove_file(&down);
    let (mut a, b) = pair_with(
        &lab,
        &check(
            "svc",
            &format!(
                "<type>command</type><command>test ! -e {}</command><interval>1</interval>\
                 <rise>2</rise><fall>2</fall><weight>240</weight>",
                down.display()
            ),
        ),
        false,
    );
    elected(&a, &b, 1);
    let dev = format!("1@{}", a.node.ifname);
    assert_eq!(is_master(&a, &[&dev]), 0, "A is MASTER");
    assert_eq!(is_master(&b, &[&format!("1@{}", b.node.ifname)]), 1);
    assert_eq!(is_master(&a, &["--vip", "192.0.2.1"]), 0);
    assert_eq!(is_master(&b, &["--all"]), 1);
    assert_eq!(is_master(&a, &[&format!("9@{}", a.node.ifname)]), 2);

    let ev_a = a.spawn_ctl(&lab, &["events", "--json"]);
    let ev_b = b.spawn_ctl(&lab, &["events", "--json"]);
    assert!(
        wait_until(Duration::from_secs(3), || has_event(&ev_a, |e| e["event"]
            == "snapshot")
            && has_event(&ev_b, |e| e["event"] == "snapshot")),
        "no snapshot line: {} / {}",
        ev_a.stdout(),
        ev_b.stdout()
    );

    std::fs::write(&down, "").unwrap();
    // fall 2 at 1 s, then B preempts at A's next advert.
    let (mut master_at, mut event_at) = (None, None);
    wait_until(Duration::from_secs(10), || {
        let now = Instant::now();
        if master_at.is_none() && b.state(1) == "MASTER" {
            master_at = Some(now);
        }
        if event_at.is_none()
            && has_event(&ev_b, |e| e["event"] == "transition" && e["to"] == "MASTER")
        {
            event_at = Some(now);
        }
        master_at.is_some() && event_at.is_some()
    });
    let (Some(master_at), Some(event_at)) = (master_at, event_at) else {
        panic!(
            "B did not take over from a failing check (status {:?}, events {}); A log:\n{}",
            b.state(1),
            ev_b.stdout(),
            a.log()
        );
    };
    // B's listener sees the transition no later than one advert interval after status does.
    assert!(
        event_at <= master_at + Duration::from_secs(1),
        "event {:?} after status showed MASTER",
        event_at - master_at
    );
    a.wait_state(1, "BACKUP", Duration::from_secs(3));
    let carp = &a.report().unwrap()["carp"];
    assert_eq!(carp["demotions"]["check:svc"], 240, "{carp}");
    assert!(has_event(&ev_a, |e| e["event"] == "check"
        && e["name"] == "svc"
        && e["ok"] == false));
    assert!(has_event(&ev_a, |e| e["event"] == "demotion" && e["total"] == 240));
    assert_eq!(is_master(&a, &[&dev]), 1);
    assert_eq!(is_master(&b, &["--vip", "192.0.2.1"]), 0);

    // Two good runs (rise 2) and A takes the VIP back.
    std::fs::remove_file(&down).unwrap();
    a.wait_state(1, "MASTER", Duration::from_secs(8));
    let carp = &a.report().unwrap()["carp"];
    assert!(carp["demotions"].get("check:svc").is_none(), "{carp}");
    assert!(has_event(&ev_a, |e| e["event"] == "check" && e["ok"] == true));
    assert!(a.log().contains("check svc: ok"), "{}", a.log());

    a.stop();
    assert_eq!(is_master(&a, &[&dev]), 3, "no daemon answers");
}

#[test]
fn a_hung_check_is_killed_at_its_timeout_and_does_not_delay_a_failover() {
    let lab = Lab::new("hh", 2);
    let (mut a, b) = pair_with(
        &lab,
        &check(
            "hang",
            "<type>command</type><command>sleep 613</command><interval>1</interval>\
             <timeout>1</timeout><fall>1</fall><weight>1</weight>",
        ),
        false,
    );
    elected(&a, &b, 1);
    assert!(
        wait_until(Duration::from_secs(5), || a
            .log()
            .contains("timed out after 1 s (killed)")),
        "the hung check was not reported: {}",
        a.log()
    );
    // Counted, and shown as such.
    let check = &a.report().unwrap()["carp"]["checks"][0];
    assert!(check["timeouts"].as_u64().unwrap() >= 1, "{check}");
    assert_eq!(check["ok"], false, "{check}");
    assert!(
        hints(&a).contains("check hang (command): FAILING"),
        "{}",
        hints(&a)
    );
    // Demoted by its weight of 1 only: A keeps MASTER, and its adverts keep their timing,
    // so a cable cut still fails over within B's master-down interval (3 x 1 s + 100/256 s).
    assert_eq!(a.state(1), "MASTER");
    let t0 = Instant::now();
    lab.cut(0);
    b.wait_state(1, "MASTER", Duration::from_secs(6));
    let took = t0.elapsed();
    println!("failover with a hung check on the master: {took:?}");
    assert!(took < Duration::from_secs(5), "failover took {took:?}");
    lab.restore(0);
    a.stop();
    // Every run was killed with its process group: nothing is left behind.
    assert!(
        wait_until(Duration::from_secs(3), || {
            let out = std::process::Command::new("pgrep")
                .args(["-f", "sleep 613"])
                .output()
                .unwrap();
            !out.status.success()
        }),
        "a hung check's process outlived its timeout and carpd"
    );
}

#[test]
fn readiness_holds_master_until_the_command_succeeds_and_the_deadline_releases_it() {
    let lab = Lab::new("hr", 2);
    let ready = std::env::temp_dir().join(format!("carpd-hr-ready-{}", std::process::id()));
    let _ = std::fs::remove_file(&ready);
    let (mut a, b) = pair_with(
        &lab,
        &format!(
            "<general><ready_command>test -e {}</ready_command><ready_deadline>60</ready_deadline></general>",
            ready.display()
        ),
        true,
    );
    // A is preferred but not ready: it stays out of the election, B keeps the VIP.
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(a.state(1), "INIT", "A ran before it was ready");
    assert_eq!(b.state(1), "MASTER");
    assert!(
        hints(&a).contains("not taking MASTER until ready"),
        "{}",
        hints(&a)
    );
    std::fs::write(&ready, "").unwrap();
    a.wait_state(1, "MASTER", Duration::from_secs(10));
    assert!(a.log().contains("ready after"), "{}", a.log());
    b.wait_state(1, "BACKUP", Duration::from_secs(3));
    std::fs::remove_file(&ready).unwrap();

    // A command that never succeeds: A goes ahead at the deadline, and says so.
    a.stop();
    b.wait_state(1, "MASTER", Duration::from_secs(5));
    std::fs::write(
        a.config_path(),
        std::fs::read_to_string(a.config_path()).unwrap().replace(
            "<ready_deadline>60</ready_deadline>",
            "<ready_deadline>3</ready_deadline>",
        ),
    )
    .unwrap();
    let t0 = Instant::now();
    a.start(&lab);
    assert_eq!(a.state(1), "INIT");
    a.wait_state(1, "MASTER", Duration::from_secs(12));
    assert!(
        t0.elapsed() >= Duration::from_secs(3),
        "went ahead before the deadline"
    );
    assert!(a.log().contains("not ready after"), "{}", a.log());
}

#[test]
fn a_timed_demotion_expires_and_the_preempt_delay_holds_a_rejoining_node_back() {
    let lab = Lab::new("ht", 2);
    let (a, b) = pair_with(
        &lab,
        "<general><preempt_delay>4</preempt_delay></general>",
        true,
    );
    // Preempt delay at start: A, preferred, leaves B the VIP for 4 s.
    a.wait_state(1, "BACKUP", Duration::from_secs(5));
    let carp = &a.report().unwrap()["carp"];
    assert_eq!(carp["demotions"]["preempt-delay"], 240, "{carp}");
    a.wait_state(1, "MASTER", Duration::from_secs(10));
    assert!(a.log().contains("preempt delay over"), "{}", a.log());
    b.wait_state(1, "BACKUP", Duration::from_secs(3));

    // A cable cut and back: the delay runs again before A takes the VIP back.
    lab.cut(0);
    b.wait_state(1, "MASTER", Duration::from_secs(6));
    lab.restore(0);
    a.wait_state(1, "BACKUP", Duration::from_secs(6));
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        a.state(1),
        "BACKUP",
        "A took the VIP back within its preempt delay"
    );
    a.wait_state(1, "MASTER", Duration::from_secs(10));

    // `--for`: shown with its end, removed on time, logged.
    let answer = ok_json(&a.ctl(&["demote", "upgrade", "+240", "--for", "3s", "--json"]));
    assert!(answer["expires_at"].is_number(), "{answer}");
    b.wait_state(1, "MASTER", Duration::from_secs(3));
    let carp = &a.report().unwrap()["carp"];
    assert!(carp["demotion_expires"]["upgrade"].is_number(), "{carp}");
    assert!(hints(&a).contains("upgrade 240 (for"), "{}", hints(&a));
    assert!(
        wait_until(Duration::from_secs(6), || a
            .log()
            .contains("demotion upgrade expired")),
        "{}",
        a.log()
    );
    a.wait_state(1, "MASTER", Duration::from_secs(5));
    assert_eq!(a.report().unwrap()["carp"]["demotion"], 0);
    // carpd's own names are not the operator's to set.
    let (code, _, err) = a.ctl(&["demote", "preempt-delay", "+1"]);
    assert_ne!(code, 0);
    assert!(err.contains("carpd's own"), "{err}");
}

#[test]
fn a_master_repeats_its_gratuitous_arp_at_the_announce_interval() {
    let lab = Lab::new("hg", 2);
    let (a, b) = pair_with(
        &lab,
        "<general><announce_interval>2</announce_interval></general>",
        false,
    );
    elected(&a, &b, 1);
    // Past the takeover's own announcements.
    std::thread::sleep(Duration::from_secs(3));
    let c = lab.client();
    let cap = lab.capture(&c.ns, &c.ifname, 100, "arp and host 192.0.2.1");
    std::thread::sleep(Duration::from_millis(7_100));
    cap.kill();
    cap.wait_exit(Duration::from_secs(3));
    let text = cap.stdout();
    let garps = text
        .lines()
        .filter(|l| l.contains("192.0.2.1") && (l.contains("Reply") || l.contains("Request")))
        .count();
    // Every 2 s within 7.1 s: three or four; without the refresh CARP sends none after the
    // takeover.
    assert!((3..=5).contains(&garps), "{garps} announcements:\n{text}");
}

#[test]
fn a_password_mismatch_raises_the_dual_master_alarm() {
    let lab = Lab::new("hd", 2);
    let mut a = Daemon::prepare(lab.node(0), &[Vip::v4(1, VIP_CIDR, 0)], false);
    let mut other = Vip::v4(1, VIP_CIDR, 100);
    other.password = "another-password";
    let mut b = Daemon::prepare(lab.node(1), &[other], false);
    a.start(&lab);
    b.start(&lab);
    a.wait_state(1, "MASTER", Duration::from_secs(10));
    let ev = a.spawn_ctl(&lab, &["events", "--json"]);
    b.wait_state(1, "MASTER", Duration::from_secs(10));
    assert!(
        wait_until(Duration::from_secs(8), || a
            .vhid(1)
            .and_then(|v| v["dual_master"].as_u64())
            .unwrap_or(0)
            > 0),
        "no dual-master count: {:?}\n{}",
        a.vhid(1),
        a.log()
    );
    assert!(
        wait_until(Duration::from_secs(3), || has_event(&ev, |e| e["event"]
            == "dual_master")),
        "no event: {}",
        ev.stdout()
    );
    let line = events(&ev)
        .into_iter()
        .find(|e| e["event"] == "dual_master")
        .unwrap();
    assert!(
        line["why"]
            .as_str()
            .unwrap()
            .contains("fail authentication"),
        "{line}"
    );
    let table = hints(&a);
    assert!(table.contains("another master was heard"), "{table}");
}
