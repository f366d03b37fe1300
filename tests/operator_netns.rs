//! Operator controls on the userspace engine, end to end: maintenance hand-over (time and
//! lost pings measured), persistence across a restart and a simulated reboot, named demotions,
//! forced state, CARP off/on. Needs root.

#![cfg(target_os = "linux")]

mod common;
#[path = "engine/harness.rs"]
mod harness;

use std::time::{Duration, Instant};

use common::netns::{Lab, wait_until};
use harness::{Daemon, Vip, elected, ok_json, pair};

const VIP_CIDR: &str = "192.0.2.1/24";

/// Pings the VIP every 10 ms from the client until `stop` returns true; counts losses.
fn probe_while(lab: &Lab, limit: Duration, mut stop: impl FnMut() -> bool) -> (u32, u32) {
    let client = lab.client();
    // One ping process, 10 ms apart, each with a 100 ms deadline: what an admin would watch.
    let count = (limit.as_millis() / 10).to_string();
    let p = lab.spawn(
        &client.ns,
        &[
            "ping",
            "-n",
            "-i",
            "0.01",
            "-W",
            "0.1",
            "-c",
            &count,
            "-O",
            "192.0.2.1",
        ],
    );
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline && !stop() {
        std::thread::sleep(Duration::from_millis(20));
    }
    // Let a few more probes go once the hand-over is done, then stop.
    std::thread::sleep(Duration::from_millis(300));
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(p.pid() as i32),
        nix::sys::signal::Signal::SIGINT,
    );
    p.wait_exit(Duration::from_secs(5));
    let out = p.stdout();
    let sent = out.lines().filter(|l| l.contains("icmp_seq")).count() as u32;
    let lost = out.lines().filter(|l| l.contains("no answer yet")).count() as u32;
    (sent, lost)
}

#[test]
fn maintenance_hands_over_within_one_packet_and_leave_takes_back() {
    let lab = Lab::new("om", 2);
    let (a, b) = pair(
        &lab,
        &[Vip::v4(1, VIP_CIDR, 0)],
        &[Vip::v4(1, VIP_CIDR, 100)],
        false,
    );
    elected(&a, &b, 1);
    // A named demotion of another service stays untouched by maintenance enter/leave.
    ok_json(&a.ctl(&["demote", "service:test", "+10", "--json"]));

    let t0 = Instant::now();
    let entered = std::sync::atomic::AtomicBool::new(false);
    let (sent, lost) = probe_while(&lab, Duration::from_secs(5), || {
        if !entered.swap(true, std::sync::atomic::Ordering::Relaxed) {
            ok_json(&a.ctl(&["maintenance", "enter", "--json"]));
        }
        b.state(1) == "MASTER"
    });
    let took = t0.elapsed();
    b.wait_state(1, "MASTER", Duration::from_secs(2));
    a.wait_state(1, "BACKUP", Duration::from_secs(2));
    println!(
        "maintenance hand-over: B MASTER {:.3} s after `maintenance enter`; {lost} of {sent} 10 ms probes lost",
        took.as_secs_f64()
    );
    assert!(took < Duration::from_secs(2), "hand-over took {took:?}");
    let status = a.report().unwrap();
    assert_eq!(status["carp"]["demotion"], 250);
    assert_eq!(status["carp"]["demotions"]["maintenance"], 240);
    assert_eq!(status["carp"]["demotions"]["service:test"], 10);
    let (_, json, _) = a.ctl(&["status", "--json"]);
    let v: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
    assert_eq!(v["carp"]["maintenancemode"], true);
    assert_eq!(v["carp"]["demotion"], "250");

    ok_json(&a.ctl(&["maintenance", "leave", "--json"]));
    a.wait_state(1, "MASTER", Duration::from_secs(3));
    let status = a.report().unwrap();
    assert_eq!(
        status["carp"]["demotion"], 10,
        "leave wiped another demotion: {status}"
    );
    assert_eq!(status["carp"]["demotions"]["service:test"], 10);
}

#[test]
fn persistent_maintenance_survives_restart_and_reboot() {
    let lab = Lab::new("op", 2);
    let (mut a, b) = pair(
        &lab,
        &[Vip::v4(1, VIP_CIDR, 0)],
        &[Vip::v4(1, VIP_CIDR, 100)],
        false,
    );
    elected(&a, &b, 1);
    ok_json(&a.ctl(&["maintenance", "enter", "--persistent", "--json"]));
    b.wait_state(1, "MASTER", Duration::from_secs(3));
    // Named demotions: only the one asked to be kept survives.
    let kept = ok_json(&a.ctl(&["demote", "service:kept", "+10", "--persistent", "--json"]));
    assert_eq!(kept["persistent"], true);
    ok_json(&a.ctl(&["demote", "service:live", "+5", "--json"]));

    // Restart: A comes back demoted and never takes the VIP back.
    a.stop();
    a.start(&lab);
    a.settles_in(1, "BACKUP", "persistent maintenance lost across a restart");
    let carp = &a.report().unwrap()["carp"];
    assert_eq!(carp["maintenance"], true);
    assert_eq!(
        carp["demotions"],
        serde_json::json!({"maintenance": 240, "service:kept": 10}),
        "only --persistent demotions survive a restart"
    );

    // Simulated reboot: SIGKILL (no clean exit), run dir wiped as tmpfs would be, then start.
    a.signal(nix::sys::signal::Signal::SIGKILL);
    a.proc.take().unwrap().wait_exit(Duration::from_secs(5));
    let _ = std::fs::remove_dir_all(a.dir.join("run"));
    a.start(&lab);
    a.settles_in(1, "BACKUP", "persistent maintenance lost across a reboot");

    ok_json(&a.ctl(&["maintenance", "leave", "--json"]));
    ok_json(&a.ctl(&["demote", "service:kept", "clear", "--json"]));
    a.wait_state(1, "MASTER", Duration::from_secs(3));
    // Leave and clear are persistent too: a restart now comes back undemoted.
    a.stop();
    a.start(&lab);
    assert!(wait_until(Duration::from_secs(6), || a.state(1) == "MASTER"));
    assert_eq!(a.report().unwrap()["carp"]["demotion"], 0);
}

#[test]
fn forced_backup_resumes_election_and_disable_releases_everything() {
    let lab = Lab::new("of", 1);
    let mut a = Daemon::prepare(
        lab.node(0),
        &[Vip::v4(1, VIP_CIDR, 0), Vip::v4(2, "192.0.2.2/24", 0)],
        false,
    );
    a.start(&lab);
    a.wait_state(1, "MASTER", Duration::from_secs(10));
    a.wait_state(2, "MASTER", Duration::from_secs(2));

    let v = ok_json(&a.ctl(&["state", "backup", "--vhid", "1", "--json"]));
    assert_eq!(v["vhids"].as_array().unwrap().len(), 1);
    assert_eq!(a.state(1), "BACKUP");
    assert_eq!(a.state(2), "MASTER");
    assert_eq!(
        a.vhid(1).unwrap()["last_transition"]["reason"],
        "user requested"
    );
    // Alone on the wire, it becomes master again after master-down: the election resumed.
    a.wait_state(1, "MASTER", Duration::from_secs(5));

    ok_json(&a.ctl(&["disable", "--json"]));
    a.wait_state(1, "INIT", Duration::from_secs(1));
    a.wait_state(2, "INIT", Duration::from_secs(1));
    assert!(!a.holds(&lab, "192.0.2.1") && !a.holds(&lab, "192.0.2.2"));
    let (_, json, _) = a.ctl(&["status", "--json"]);
    let v: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
    assert_eq!(v["carp"]["allow"], "0");
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(a.state(1), "INIT", "disabled CARP came back by itself");
    ok_json(&a.ctl(&["enable", "--json"]));
    a.wait_state(1, "MASTER", Duration::from_secs(6));
    assert!(
        a.hook_calls()
            .iter()
            .any(|c| c.contains(" INIT prev=MASTER")),
        "hooks did not see INIT"
    );

    let (code, _, err) = a.ctl(&["demote", "x", "50"]);
    assert_ne!(code, 0);
    assert!(err.contains("+N"), "{err}");
    let (code, out, _) = a.ctl(&["state", "master", "--vhid", "99", "--json"]);
    assert_eq!(code, 1);
    assert!(out.contains("failed"), "{out}");
}
