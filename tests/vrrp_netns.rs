//! carpd's VRRPv3 on a real wire: keepalived 2.2.7 as the peer in both roles, IPv4 and IPv6,
//! multicast and unicast (election, hard failure, graceful stop with priority 0, preempt
//! back); tshark decoding carpd's adverts; the receive checks by reason against real senders;
//! and two carpds at 10 ms adverts that must not flap while a hook hangs and the control socket
//! is busy. Needs root, keepalived and tshark (scripts/install-deps).

#![cfg(target_os = "linux")]

mod common;
#[path = "engine/harness.rs"]
mod harness;

use std::path::PathBuf;
use std::time::Duration;

use common::netns::{Lab, Node, Proc, require_tool, wait_until};
use harness::{Daemon, Vip};

const VIP4: &str = "192.0.2.1";
const VIP6: &str = "2001:db8::1";

/// One `vrrp_instance` of a keepalived peer.
struct Instance {
    vrid: u8,
    priority: u8,
    /// `advert_int`, seconds as keepalived reads it ("0.1", "1").
    interval: &'static str,
    /// `addr/prefix`.
    vip: &'static str,
    /// VRRP version (keepalived speaks both).
    version: u8,
    /// `(unicast_src_ip, unicast_peer)`.
    unicast: Option<(String, String)>,
}

impl Instance {
    fn v3(vrid: u8, priority: u8, vip: &'static str) -> Instance {
        Instance {
            vrid,
            priority,
            interval: "0.1",
            vip,
            version: 3,
            unicast: None,
        }
    }
}

/// keepalived (VRRP only, in the foreground) in one of the lab's namespaces.
struct Keepalived {
    proc: Proc,
    node: Node,
    dir: PathBuf,
}

impl Keepalived {
    fn start(lab: &Lab, node: &Node, instances: &[Instance]) -> Keepalived {
        require_tool("keepalived");
        let dir = std::env::temp_dir().join(format!("carpd-keepalived-{}", node.ns));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut conf = format!("global_defs {{\n    router_id {}\n}}\n", node.ns);
        for i in instances {
            let unicast = match &i.unicast {
                Some((src, peer)) => {
                    format!(
                        "    unicast_src_ip {src}\n    unicast_peer {{\n        {peer}\n    }}\n"
                    )
                }
                None => String::new(),
            };
            conf += &format!(
                "vrrp_instance vr{vrid} {{\n    state BACKUP\n    interface {ifname}\n    \
                 virtual_router_id {vrid}\n    version {version}\n    priority {priority}\n    \
                 advert_int {interval}\n    accept\n{unicast}    virtual_ipaddress {{\n        {vip}\n    }}\n}}\n",
                vrid = i.vrid,
                ifname = node.ifname,
                version = i.version,
                priority = i.priority,
                interval = i.interval,
                vip = i.vip,
            );
        }
        let conf_path = dir.join("keepalived.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let d = |f: &str| dir.join(f).display().to_string();
        let proc = lab.spawn(
            &node.ns,
            &[
                "keepalived",
                "--dont-fork",
                "--log-console",
                "--vrrp",
                "--use-file",
                &d("keepalived.conf"),
                "--pid",
                &d("keepalived.pid"),
                "--vrrp_pid",
                &d("vrrp.pid"),
            ],
        );
        Keepalived {
            proc,
            node: node.clone(),
            dir,
        }
    }

    fn holds(&self, lab: &Lab, addr: &str) -> bool {
        let a = lab.ip(
            &self.node.ns,
            &["-o", "addr", "show", "dev", &self.node.ifname],
        );
        a.contains(&format!(" {addr}/"))
    }

    /// Wait (bounded) until keepalived holds `addr` (`true`) or has released it.
    fn wait_holds(&self, lab: &Lab, addr: &str, want: bool, timeout: Duration) {
        assert!(
            wait_until(timeout, || self.holds(lab, addr) == want),
            "keepalived in {} {} {addr} within {timeout:?}; its log:\n{}{}",
            self.node.ns,
            if want {
                "did not take"
            } else {
                "did not release"
            },
            self.proc.stdout(),
            self.proc.stderr()
        );
    }

    /// SIGTERM: keepalived sends priority 0 and releases its addresses.
    fn stop(&self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.proc.pid() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        assert!(
            self.proc.wait_exit(Duration::from_secs(10)).is_some(),
            "keepalived did not exit after SIGTERM"
        );
    }
}

impl Drop for Keepalived {
    fn drop(&mut self) {
        self.proc.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn carpd_vrrp(vrid: u8, vip: &'static str, priority: u8) -> Vip {
    Vip::vrrp(vrid, vip, priority, 10)
}

/// The last transition reason carpd recorded for `vrid`.
fn last_reason(d: &Daemon, vrid: u8) -> String {
    d.vhid(vrid).unwrap()["last_transition"]["reason"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// carpd is BACKUP of `vrid`, following `master` at keepalived's interval, and stays so.
fn follows(d: &Daemon, vrid: u8, master: &str) {
    d.wait_state(vrid, "BACKUP", Duration::from_secs(5));
    std::thread::sleep(Duration::from_secs(2));
    let v = d.vhid(vrid).unwrap();
    assert_eq!(v["state"], "BACKUP", "{v}");
    assert_eq!(v["protocol"], "vrrp3", "{v}");
    assert_eq!(v["master_source"], master, "{v}");
    assert_eq!(v["vrrp"]["master_priority"], 200, "{v}");
    assert_eq!(v["vrrp"]["master_interval_cs"], 10, "{v}");
    assert!(v["adverts_received"].as_u64().unwrap() >= 10, "{v}");
    assert!(v["drops"].as_object().unwrap().is_empty(), "{v}");
}

/// keepalived is MASTER over IPv4 multicast; carpd follows, takes over within Skew_Time when
/// keepalived stops (priority 0), and yields when keepalived comes back (preempt).
#[test]
fn keepalived_master_carpd_backup_ipv4_multicast_graceful_and_preempt_back() {
    let lab = Lab::new("k4", 2);
    let instance = || Instance::v3(51, 200, "192.0.2.1/24");
    let k = Keepalived::start(&lab, lab.node(1), &[instance()]);
    k.wait_holds(&lab, VIP4, true, Duration::from_secs(10));
    let mut d = Daemon::prepare(lab.node(0), &[carpd_vrrp(51, "192.0.2.1/24", 100)], false);
    d.start(&lab);
    follows(&d, 51, &lab.node(1).v4.to_string());
    assert!(!d.holds(&lab, VIP4));

    k.stop();
    d.wait_state(51, "MASTER", Duration::from_secs(2));
    assert_eq!(last_reason(&d, 51), "master left (priority 0)");
    assert!(d.holds(&lab, VIP4));
    drop(k);

    let k = Keepalived::start(&lab, lab.node(1), &[instance()]);
    k.wait_holds(&lab, VIP4, true, Duration::from_secs(10));
    d.wait_state(51, "BACKUP", Duration::from_secs(5));
    assert_eq!(
        last_reason(&d, 51),
        "higher-priority advertisement received"
    );
    assert!(wait_until(Duration::from_secs(2), || !d.holds(&lab, VIP4)));
}

/// carpd is MASTER over IPv4 unicast; keepalived takes over when carpd's cable is cut, carpd
/// preempts it back when the cable returns, and keepalived takes over at once when carpd
/// stops (priority 0).
#[test]
fn carpd_master_keepalived_backup_ipv4_unicast_hard_failure_and_preempt_back() {
    let lab = Lab::new("k5", 2);
    let (a, b) = (lab.node(0), lab.node(1));
    let mut vip = carpd_vrrp(52, "192.0.2.1/24", 200);
    vip.peer = Some(b.v4.to_string());
    let mut d = Daemon::prepare(a, &[vip], false);
    d.start(&lab);
    d.wait_state(52, "MASTER", Duration::from_secs(5));
    let k = Keepalived::start(
        &lab,
        b,
        &[Instance {
            unicast: Some((b.v4.to_string(), a.v4.to_string())),
            ..Instance::v3(52, 100, "192.0.2.1/24")
        }],
    );
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        !k.holds(&lab, VIP4),
        "keepalived did not accept carpd's unicast adverts"
    );
    assert_eq!(d.state(52), "MASTER");

    lab.cut(0);
    d.wait_state(52, "INIT", Duration::from_secs(2));
    k.wait_holds(&lab, VIP4, true, Duration::from_secs(3));
    lab.restore(0);
    // carpd hears keepalived's lower priority, ignores it and takes over at master down.
    d.wait_state(52, "MASTER", Duration::from_secs(3));
    assert_eq!(last_reason(&d, 52), "preempting a lower-priority master");
    k.wait_holds(&lab, VIP4, false, Duration::from_secs(3));

    d.stop();
    k.wait_holds(&lab, VIP4, true, Duration::from_secs(2));
}

/// carpd is MASTER over IPv6 multicast (ff02::12, from its link-local address); keepalived
/// takes over on a cable cut and yields when carpd is back.
#[test]
fn carpd_master_keepalived_backup_ipv6_multicast_hard_failure_and_preempt_back() {
    let lab = Lab::new("k6", 2);
    let mut d = Daemon::prepare(lab.node(0), &[carpd_vrrp(53, "2001:db8::1/64", 200)], false);
    d.start(&lab);
    d.wait_state(53, "MASTER", Duration::from_secs(5));
    let k = Keepalived::start(
        &lab,
        lab.node(1),
        &[Instance::v3(53, 100, "2001:db8::1/64")],
    );
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        !k.holds(&lab, VIP6),
        "keepalived did not accept carpd's IPv6 adverts"
    );
    let v = d.vhid(53).unwrap();
    assert_eq!(v["state"], "MASTER", "{v}");
    assert!(v["drops"].as_object().unwrap().is_empty(), "{v}");

    lab.cut(0);
    d.wait_state(53, "INIT", Duration::from_secs(2));
    k.wait_holds(&lab, VIP6, true, Duration::from_secs(3));
    lab.restore(0);
    d.wait_state(53, "MASTER", Duration::from_secs(5));
    assert_eq!(last_reason(&d, 53), "preempting a lower-priority master");
    k.wait_holds(&lab, VIP6, false, Duration::from_secs(3));
}

/// keepalived is MASTER over IPv6 unicast between link-local addresses; carpd follows, takes
/// over when keepalived's cable is cut, and yields when it is back.
#[test]
fn keepalived_master_carpd_backup_ipv6_unicast_hard_failure_and_preempt_back() {
    let lab = Lab::new("k7", 2);
    let (a, b) = (lab.node(0), lab.node(1));
    let k = Keepalived::start(
        &lab,
        b,
        &[Instance {
            unicast: Some((b.link_local.to_string(), a.link_local.to_string())),
            ..Instance::v3(54, 200, "2001:db8::1/64")
        }],
    );
    k.wait_holds(&lab, VIP6, true, Duration::from_secs(10));
    let mut vip = carpd_vrrp(54, "2001:db8::1/64", 100);
    vip.peer6 = Some(b.link_local.to_string());
    let mut d = Daemon::prepare(a, &[vip], false);
    d.start(&lab);
    follows(&d, 54, &b.link_local.to_string());

    lab.cut(1);
    d.wait_state(54, "MASTER", Duration::from_secs(3));
    assert_eq!(last_reason(&d, 54), "master timed out");
    lab.restore(1);
    d.wait_state(54, "BACKUP", Duration::from_secs(5));
    assert!(wait_until(Duration::from_secs(2), || !d.holds(&lab, VIP6)));
}

/// tshark (Wireshark's VRRP dissector) reads carpd's adverts as VRRPv3 with a good checksum,
/// TTL / hop limit 255, the configured priority, interval and addresses, for both families.
#[test]
fn tshark_decodes_carpd_vrrp_adverts_as_vrrpv3_with_good_checksums() {
    require_tool("tshark");
    let lab = Lab::new("kt", 1);
    let mut d = Daemon::prepare(
        lab.node(0),
        &[
            Vip::vrrp(61, "192.0.2.61/24", 150, 5),
            Vip::vrrp(62, "2001:db8::62/64", 150, 5),
        ],
        false,
    );
    let client = lab.client();
    let pcap = std::env::temp_dir().join(format!("carpd-tshark-vrrp-{}.pcap", client.ns));
    let _ = std::fs::remove_file(&pcap);
    let pcap_s = pcap.display().to_string();
    let cap = lab.spawn(
        &client.ns,
        &[
            "tshark",
            "-q",
            "-i",
            &client.ifname,
            "-c",
            "20",
            "-f",
            "ip proto 112 or ip6 proto 112",
            "-w",
            &pcap_s,
        ],
    );
    assert!(
        cap.wait_stderr("Capturing on", Duration::from_secs(30)),
        "{}",
        cap.stderr()
    );
    d.start(&lab);
    assert!(
        cap.wait_exit(Duration::from_secs(20)).is_some(),
        "tshark did not capture 20 adverts"
    );
    let out = std::process::Command::new("tshark")
        .args([
            "-r",
            &pcap_s,
            "-o",
            "vrrp.v3_checksum_as_in_v2:FALSE",
            "-T",
            "fields",
            "-E",
            "separator=,",
            "-e",
            "vrrp.version",
            "-e",
            "vrrp.type",
            "-e",
            "vrrp.virt_rtr_id",
            "-e",
            "vrrp.prio",
            "-e",
            "vrrp.addr_count",
            "-e",
            "vrrp.short_adver_int",
            "-e",
            "vrrp.checksum.status",
            "-e",
            "vrrp.ip_addr",
            "-e",
            "vrrp.ipv6_addr",
            "-e",
            "ip.ttl",
            "-e",
            "ipv6.hlim",
            "-e",
            "ipv6.src",
        ])
        .output()
        .expect("tshark");
    let _ = std::fs::remove_file(&pcap);
    let text = String::from_utf8_lossy(&out.stdout);
    let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split(',').collect()).collect();
    assert_eq!(
        rows.len(),
        20,
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut families = (0, 0);
    for f in &rows {
        assert_eq!(&f[..7], ["3", "1", f[2], "150", "1", "5", "1"], "{f:?}");
        match f[2] {
            "61" => {
                families.0 += 1;
                assert_eq!((f[7], f[9]), ("192.0.2.61", "255"), "{f:?}");
            }
            "62" => {
                families.1 += 1;
                assert_eq!((f[8], f[10]), ("2001:db8::62", "255"), "{f:?}");
                assert!(
                    f[11].starts_with("fe80::"),
                    "IPv6 adverts leave from link-local: {f:?}"
                );
            }
            other => panic!("unexpected VRID {other}: {f:?}"),
        }
    }
    assert!(families.0 > 0 && families.1 > 0, "{text}");
}

/// Real senders of what carpd must not believe, each counted under its reason with a hint:
/// VRRPv2 on a VRRP VRID, VRRPv3 on a CARP VHID's number, another address list, and (accepted
/// but counted) another interval. A CARP advert on a VRRP VRID comes from a second carpd.
#[test]
fn receive_checks_count_each_reason_from_real_senders() {
    let lab = Lab::new("kr", 3);
    let carp = Vip::v4(1, "192.0.2.1/24", 100);
    let mut d = Daemon::prepare(
        lab.node(0),
        &[
            carp,
            carpd_vrrp(11, "192.0.2.111/24", 100),
            carpd_vrrp(12, "192.0.2.112/24", 100),
            carpd_vrrp(13, "192.0.2.113/24", 100),
            carpd_vrrp(14, "192.0.2.114/24", 100),
        ],
        false,
    );
    d.start(&lab);
    let k = Keepalived::start(
        &lab,
        lab.node(1),
        &[
            Instance {
                version: 2,
                interval: "1",
                ..Instance::v3(11, 200, "192.0.2.111/24")
            },
            Instance::v3(1, 200, "192.0.2.198/24"),
            Instance::v3(12, 200, "192.0.2.199/24"),
            Instance {
                interval: "0.2",
                ..Instance::v3(13, 200, "192.0.2.113/24")
            },
        ],
    );
    // A CARP node that uses VHID 14, the number of carpd's VRRP router 14.
    let mut other = Daemon::prepare(lab.node(2), &[Vip::v4(14, "192.0.2.114/24", 0)], false);
    other.start(&lab);

    let counted =
        |vrid: u8, reason: &str| wait_until(Duration::from_secs(8), || d.drops(vrid, reason) >= 1);
    assert!(
        counted(11, "vrrpv2"),
        "{:?}\nkeepalived:\n{}",
        d.vhid(11),
        k.proc.stderr()
    );
    assert!(counted(1, "vrrponcarp"), "{:?}", d.vhid(1));
    assert!(counted(12, "badaddrs"), "{:?}", d.vhid(12));
    assert!(counted(14, "carponvrrp"), "{:?}", d.vhid(14));
    // VRRP 13: keepalived's adverts are believed, at its interval, and the mismatch counted.
    let v13 = d.vhid(13).unwrap();
    assert_eq!(v13["state"], "BACKUP", "{v13}");
    assert_eq!(v13["vrrp"]["master_interval_cs"], 20, "{v13}");
    assert!(
        v13["vrrp"]["interval_mismatches"].as_u64().unwrap() > 0,
        "{v13}"
    );
    // VRRP 12 heard nothing it believed: carpd is its master, beside keepalived.
    assert_eq!(d.state(12), "MASTER");
    let (code, text, _) = d.ctl(&["status"]);
    assert_eq!(code, 0, "{text}");
    for needle in [
        "VRRPv2 advert(s) heard",
        "a VRRP router uses this CARP VHID's number",
        "listed other addresses than ours",
        "a CARP node uses this VRRP router's number",
        "came with another interval than our 100ms",
        "vrrp3 prio 100 @ 100ms (master 200ms)",
    ] {
        assert!(
            text.contains(needle),
            "{needle:?} missing from status:\n{text}"
        );
    }
}

/// Two carpds at 10 ms adverts (master down 30–36 ms): the master's hook hangs on every
/// transition and the control socket is polled hard on both nodes, yet no advert is late
/// enough for the backup to take over. Then a cable cut moves the VIP.
#[test]
fn ten_millisecond_adverts_hold_while_hooks_hang_and_status_is_polled() {
    let lab = Lab::new("kf", 2);
    let vip = |priority| Vip::vrrp(70, "192.0.2.70/24", priority, 1);
    let mut a = Daemon::prepare(lab.node(0), &[vip(200)], false);
    let mut b = Daemon::prepare(lab.node(1), &[vip(100)], false);
    // A hook that never returns in time (the engine kills it at the hook timeout).
    let hang = a.dir.join("hooks/20-hang");
    std::fs::write(&hang, "#!/bin/sh\nsleep 30\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&hang, std::fs::Permissions::from_mode(0o755)).unwrap();
    a.start_with_hook_timeout(&lab, 20, &[]);
    a.wait_state(70, "MASTER", Duration::from_secs(5));
    b.start(&lab);
    b.wait_state(70, "BACKUP", Duration::from_secs(5));
    let before = b.vhid(70).unwrap()["transitions"].as_u64().unwrap();
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        for d in [&a, &b] {
            let stop = &stop;
            s.spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let _ = d.report();
                }
            });
        }
        // Every transition of A runs the hanging hook again.
        for _ in 0..3 {
            let (code, text, err) = a.ctl(&["hooks", "replay"]);
            assert_eq!(code, 0, "{text}{err}");
            std::thread::sleep(Duration::from_secs(1));
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
    });
    let v = b.vhid(70).unwrap();
    assert_eq!(v["state"], "BACKUP", "{v}\nA's log:\n{}", a.log());
    assert_eq!(
        v["transitions"].as_u64().unwrap(),
        before,
        "backup flapped: {v}"
    );
    assert_eq!(a.state(70), "MASTER");

    lab.cut(0);
    b.wait_state(70, "MASTER", Duration::from_secs(2));
    assert!(b.holds(&lab, "192.0.2.70"));
}
