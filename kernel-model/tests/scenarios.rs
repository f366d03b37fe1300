//! carpd's native engine — CLI, executor, planner and daemon, unchanged — on a typical OPNsense
//! box, with the kernel model standing in for FreeBSD's carp(4). Every command runs as a
//! separate `carpd-model` process (carpd's own `main` with the model as its kernel), so the
//! daemon, the client commands and the test playing the network share one kernel the way
//! processes on a firewall do.

#[path = "../../tests/common/tempdir.rs"]
mod tempdir;

use carp_kernel_model::kernel::{IFF_BROADCAST, IFF_MULTICAST, IFF_UP, IFT_L2VLAN};
use carp_kernel_model::{Fault, Kernel, Peer, Release, Store, VState, boxes};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};
use tempdir::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_carpd-model");
const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/opnsense-box.xml"
);
const ENOMEM: i32 = 12;
const EIO: i32 = 5;

/// One firewall: a kernel model, a config.xml, carpd's directories, a hook that logs.
struct Fw {
    dir: TempDir,
    store: Store,
}

impl Fw {
    fn new(release: Release) -> Fw {
        Fw::with_kernel(boxes::opnsense(release))
    }

    fn with_kernel(k: Kernel) -> Fw {
        let dir = TempDir::new("native");
        let store = Store::create(&dir.path().join("kernel.json"), &k).unwrap();
        for d in ["state", "run", "hooks"] {
            std::fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        std::fs::copy(FIXTURE, dir.path().join("config.xml")).unwrap();
        let hook = dir.path().join("hooks/10-log");
        std::fs::write(
            &hook,
            format!(
                "#!/bin/sh\necho \"$1 $2 $CARP_PREVIOUS_STATE $CARP_REASON\" >> {}\n",
                dir.path().join("hooks.log").display()
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
        Fw { dir, store }
    }

    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    fn cmd(&self) -> Command {
        let mut c = Command::new(BIN);
        c.env("CARPD_KERNEL_MODEL", self.store.path())
            .env("CARPD_CONFIG", self.path("config.xml"))
            .env("CARPD_STATE_DIR", self.path("state"))
            .env("CARPD_RUN_DIR", self.path("run"))
            .env("CARPD_HOOKS_DIR", self.path("hooks"))
            .env_remove("CARPD_ENGINE");
        c
    }

    fn carpd(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().expect("run carpd-model")
    }

    /// A command's JSON answer and its exit code.
    fn json(&self, args: &[&str]) -> (Value, i32) {
        let out = self.carpd(args);
        let text = String::from_utf8_lossy(&out.stdout);
        let v = serde_json::from_str(&text).unwrap_or_else(|e| {
            panic!(
                "carpd {args:?}: not JSON ({e}): {text}\nstderr: {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (v, out.status.code().unwrap_or(-1))
    }

    fn kernel(&self) -> Kernel {
        self.store.read().unwrap()
    }

    fn with<R>(&self, f: impl FnOnce(&mut Kernel) -> R) -> R {
        self.store.with(f).unwrap()
    }

    fn edit_config(&self, from: &str, to: &str) {
        let p = self.path("config.xml");
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.contains(from), "config has no {from:?}");
        std::fs::write(&p, text.replacen(from, to, 1)).unwrap();
    }

    fn hook_lines(&self) -> Vec<String> {
        std::fs::read_to_string(self.path("hooks.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    fn start(&self) -> Daemon {
        let log = std::fs::File::create(self.path("daemon.log")).unwrap();
        let child = self
            .cmd()
            .args([
                "run",
                "--engine",
                "native",
                "--foreground",
                "--hook-timeout",
                "5",
            ])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let d = Daemon {
            child,
            log: self.path("daemon.log"),
        };
        let deadline = Instant::now() + Duration::from_secs(15);
        while !self.path("run/carpd.pid").exists() {
            assert!(
                Instant::now() < deadline,
                "the native daemon did not start: {}",
                d.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        d
    }

    /// Wait (bounded) until `cond` holds for the hook log.
    fn hooks_until(&self, what: &str, cond: impl Fn(&[String]) -> bool) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let lines = self.hook_lines();
            if cond(&lines) {
                return lines;
            }
            assert!(Instant::now() < deadline, "{what}; hooks ran: {lines:#?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

struct Daemon {
    child: Child,
    log: PathBuf,
}

impl Daemon {
    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM, and wait (bounded) for it to leave.
    fn stop(mut self) -> String {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while self.child.try_wait().ok().flatten().is_none() {
            if Instant::now() > deadline {
                let _ = self.child.kill();
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.wait();
        self.log_text()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn steps(plan: &Value) -> Vec<String> {
    plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["command"].as_str().unwrap().to_string())
        .collect()
}

fn log_has(k: &Kernel, needle: &str) -> bool {
    k.log.iter().any(|l| l.contains(needle))
}

fn vhid_view(k: &Kernel) -> Vec<(String, u8, i32, i32, bool, VState)> {
    let mut out = Vec::new();
    for i in &k.interfaces {
        for v in &i.vhids {
            out.push((
                i.name.clone(),
                v.vhid,
                v.advbase,
                v.advskew,
                v.key[0] != 0,
                v.state,
            ));
        }
    }
    out
}

// ---- apply ----------------------------------------------------------------------------------

#[test]
fn a_full_apply_then_nothing_then_only_the_changed_vhid() {
    let fw = Fw::new(Release::FreeBsd14);
    let (plan, code) = fw.json(&["apply", "--json"]);
    assert_eq!(code, 0, "{plan:#}");
    assert_eq!(plan["applied"], 14);
    let k = fw.kernel();
    assert_eq!(
        vhid_view(&k)
            .iter()
            .map(|v| (v.0.as_str(), v.1, v.4, v.5))
            .collect::<Vec<_>>(),
        [
            ("vtnet0", 1, true, VState::Backup),
            ("vtnet1", 2, true, VState::Backup),
            ("vtnet1", 3, true, VState::Backup),
            ("vlan0.100", 4, true, VState::Backup),
            ("lagg0", 5, true, VState::Backup),
        ]
    );
    assert_eq!(k.vhid("lagg0", 5).unwrap().peer.to_string(), "10.200.0.3");
    assert_eq!(k.sysctl.preempt, 1);
    // carp(4) is asked only about interfaces of a type it can carry, always over netlink on 14.
    for dev in [
        "lo0", "pflog0", "pfsync0", "enc0", "wg0", "ovpns1", "tun0", "igb0", "igb1",
    ] {
        assert!(!log_has(&k, &format!("GET {dev}")), "asked {dev}");
    }
    assert!(log_has(&k, "netlink carp GET lagg0"));
    assert!(!log_has(&k, "SIOCGVH") && !log_has(&k, "SIOCSVH"));
    // The key went to the kernel as config.xml has it, never as text on a command line.
    assert_eq!(&k.vhid("vtnet0", 1).unwrap().key[..10], b"wan-secret");

    let (again, code) = fw.json(&["apply", "--json"]);
    assert_eq!((code, steps(&again).len()), (0, 0), "{again:#}");

    fw.edit_config(
        "<vhid>4</vhid><advbase>1</advbase><advskew>0</advskew>",
        "<vhid>4</vhid><advbase>1</advbase><advskew>50</advskew>",
    );
    let before = vhid_view(&fw.kernel());
    let (changed, code) = fw.json(&["apply", "--json"]);
    assert_eq!(code, 0, "{changed:#}");
    assert_eq!(
        steps(&changed),
        ["ifconfig vlan0.100 vhid 4 advskew 50 advbase 1"]
    );
    let after = vhid_view(&fw.kernel());
    for (b, a) in before.iter().zip(&after) {
        if b.1 == 4 {
            assert_eq!((a.3, a.4), (50, true), "advskew set, key kept");
        } else {
            assert_eq!(b, a, "only vhid 4 is touched");
        }
    }
}

#[test]
fn status_reads_the_kernel_without_a_daemon() {
    let fw = Fw::new(Release::FreeBsd14);
    assert!(fw.carpd(&["apply"]).status.success());
    fw.with(|k| k.master_down("vtnet0", 1));
    let (s, code) = fw.json(&["status", "--json"]);
    assert_eq!(code, 0);
    // get_vip_status has a row per address: vhid 1 carries three.
    assert_eq!(s["total"], 7);
    let rows = s["rows"].as_array().unwrap();
    for r in &rows[..3] {
        assert_eq!(
            (&r["vhid"], &r["status"], &r["interface"]),
            (&"1".into(), &"MASTER".into(), &"WAN".into())
        );
    }
    assert_eq!(rows[0]["subnet"], "192.0.2.1");
    assert!(rows[3..].iter().all(|r| r["status"] == "BACKUP"), "{s:#}");
    assert_eq!(s["carp"]["allow"], "1");
    let table = String::from_utf8_lossy(&fw.carpd(&["status"]).stdout).into_owned();
    assert!(
        table.contains("MASTER") && table.contains("lagg0"),
        "{table}"
    );
}

#[test]
fn an_interface_vanishing_mid_apply_is_reported_and_the_next_apply_continues() {
    let fw = Fw::new(Release::FreeBsd14);
    fw.with(|k| {
        k.faults.push(Fault::VanishBeforeAddress {
            ifname: "vlan0.100".into(),
        })
    });
    let (r, code) = fw.json(&["apply", "--json"]);
    assert_eq!(code, 1);
    let err = r["error"].as_str().unwrap();
    assert!(
        err.contains("step 10 of 14")
            && err.contains("ifconfig vlan0.100 inet 10.100.0.1/24 alias vhid 4")
            && err.contains("ENXIO")
            && err.contains("9 step(s) applied before it"),
        "{err}"
    );
    // The interface comes back (a VLAN re-created); the next apply finishes the job.
    fw.with(|k| {
        k.add_interface(
            "vlan0.100",
            IFT_L2VLAN,
            IFF_UP | IFF_BROADCAST | IFF_MULTICAST,
            true,
        );
        k.add_plain_address("vlan0.100", "10.100.0.2".parse().unwrap(), 24);
    });
    let (r, code) = fw.json(&["apply", "--json"]);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(
        steps(&r),
        [
            "ifconfig vlan0.100 vhid 4 advskew 0 advbase 1 pass '****'",
            "ifconfig vlan0.100 inet 10.100.0.1/24 alias vhid 4",
            "ifconfig lagg0 vhid 5 advskew 0 advbase 1 pass '****'",
            "ifconfig lagg0 inet 10.200.0.1/24 alias vhid 5",
            "ifconfig lagg0 vhid 5 peer 10.200.0.3 mcast6",
            "sysctl net.inet.carp.preempt=1",
        ]
    );
}

#[test]
fn a_kernel_error_mid_plan_names_the_step_and_the_next_apply_picks_up() {
    let fw = Fw::new(Release::FreeBsd14);
    fw.with(|k| {
        k.faults.push(Fault::SetFails {
            ifname: "vtnet1".into(),
            vhid: 3,
            errno: EIO,
        })
    });
    let out = fw.carpd(&["apply"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains(
            "step 7 of 14 failed: `ifconfig vtnet1 vhid 3 advskew 0 advbase 1 pass '****'`"
        ) && stderr.contains("EIO")
            && stderr.contains("6 step(s) applied before it"),
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.matches("applied: ").count(), 6, "{stdout}");
    let (r, code) = fw.json(&["apply", "--json"]);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(
        steps(&r).first().map(String::as_str),
        Some("ifconfig vtnet1 vhid 3 advskew 0 advbase 1 pass '****'")
    );
    assert_eq!(steps(&r).len(), 8);
}

#[test]
fn a_dump_that_fails_is_an_error_not_an_empty_kernel() {
    let fw = Fw::new(Release::FreeBsd14);
    assert!(fw.carpd(&["apply"]).status.success());
    let before = fw.kernel();
    fw.with(|k| {
        k.faults.push(Fault::DumpFails {
            ifname: "vtnet1".into(),
            errno: ENOMEM,
        })
    });
    let out = fw.carpd(&["apply"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("carp GET vtnet1") && stderr.contains("ENOMEM"),
        "{stderr}"
    );
    assert_eq!(
        vhid_view(&fw.kernel()),
        vhid_view(&before),
        "nothing applied"
    );
    fw.with(|k| {
        k.faults.push(Fault::DumpFails {
            ifname: "vtnet1".into(),
            errno: ENOMEM,
        })
    });
    let out = fw.carpd(&["status", "--json"]);
    assert_ne!(
        out.status.code(),
        Some(0),
        "status must not show a short list"
    );
}

#[test]
fn a_silent_netlink_is_an_error_and_never_a_fallback_to_the_ioctl() {
    let fw = Fw::new(Release::FreeBsd14);
    fw.with(|k| k.faults.push(Fault::NetlinkSilent));
    let out = fw.carpd(&["apply"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("no answer"), "{stderr}");
    let k = fw.kernel();
    assert!(!log_has(&k, "SIOCGVH") && !log_has(&k, "SIOCSVH"));
    assert!(vhid_view(&k).is_empty());
}

#[test]
fn freebsd_13_uses_the_ioctl_and_refuses_unicast_peers_plainly() {
    for release in [
        Release::FreeBsd13 { netlink: false },
        Release::FreeBsd13 { netlink: true },
    ] {
        let fw = Fw::new(release);
        let out = fw.carpd(&["apply"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{release:?}: {stderr}");
        assert!(
            stderr.contains("step 13 of 14")
                && stderr.contains("unicast peers need carp(4)'s netlink interface"),
            "{release:?}: {stderr}"
        );
        let k = fw.kernel();
        assert!(log_has(&k, "SIOCSVH vtnet0") && log_has(&k, "SIOCGVH lagg0"));
        assert!(!log_has(&k, "netlink carp"));
        assert_eq!(vhid_view(&k).len(), 5);
        fw.edit_config("<peer>10.200.0.3</peer>", "<peer></peer>");
        assert!(fw.carpd(&["apply"]).status.success(), "{release:?}");
        let (r, _) = fw.json(&["apply", "--json"]);
        assert!(steps(&r).is_empty(), "{release:?}: {r:#}");
        let (s, code) = fw.json(&["status", "--json"]);
        assert_eq!((code, s["total"].as_u64()), (0, Some(7)));
    }
}

#[test]
fn freebsd_15_is_driven_by_netlink_only() {
    let fw = Fw::new(Release::FreeBsd15);
    let (r, code) = fw.json(&["apply", "--json"]);
    assert_eq!(code, 0, "{r:#}");
    let k = fw.kernel();
    assert_eq!(vhid_view(&k).len(), 5);
    assert!(!log_has(&k, "SIOCGVH") && !log_has(&k, "SIOCSVH"));
    let (r, _) = fw.json(&["apply", "--json"]);
    assert!(steps(&r).is_empty(), "{r:#}");
}

#[test]
fn a_removed_password_is_cleared_by_re_creating_the_vhid() {
    let fw = Fw::new(Release::FreeBsd14);
    assert!(fw.carpd(&["apply"]).status.success());
    fw.edit_config("<password>vlan-secret</password>", "<password></password>");
    let (r, code) = fw.json(&["apply", "--json"]);
    assert_eq!(code, 0, "{r:#}");
    let k = fw.kernel();
    let v = k.vhid("vlan0.100", 4).unwrap();
    assert_eq!(v.key, [0; 20], "{r:#}");
    assert_eq!(v.state, VState::Backup);
    // A vhid the kernel holds with a key but no address (created by a SET alone): carp(4)
    // never clears a key, and only an address's removal destroys a vhid.
    fw.with(|k| {
        let fam_set = carp_kernel_model::kernel::SetReq {
            vhid: 6,
            key: *b"stale-key-0123456789",
            advbase: 1,
            version: 2,
            ..Default::default()
        };
        let ifi = k
            .interfaces
            .iter()
            .position(|i| i.name == "vtnet2")
            .unwrap();
        k.ioctl_set(ifi, &fam_set).unwrap();
    });
    fw.edit_config(
        "  </virtualip>",
        "    <vip uuid=\"6f1c0000-0000-4000-8000-000000000099\"><interface>opt1</interface><mode>carp</mode>\
         <subnet>203.0.113.2</subnet><subnet_bits>30</subnet_bits><password></password><vhid>6</vhid>\
         <advbase>1</advbase><advskew>0</advskew></vip>\n  </virtualip>",
    );
    let (r, code) = fw.json(&["apply", "--json"]);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(
        steps(&r),
        [
            "ifconfig vtnet2 inet 203.0.113.2/30 alias vhid 6",
            "ifconfig vtnet2 inet 203.0.113.2 -alias",
            "ifconfig vtnet2 vhid 6 advskew 0 advbase 1",
            "ifconfig vtnet2 inet 203.0.113.2/30 alias vhid 6",
        ]
    );
    let k = fw.kernel();
    assert_eq!(k.vhid("vtnet2", 6).unwrap().key, [0; 20]);
}

// ---- the daemon -----------------------------------------------------------------------------

#[test]
fn the_daemon_applies_and_runs_hooks_for_what_devd_reports() {
    let fw = Fw::new(Release::FreeBsd14);
    let d = fw.start();
    // Subscribed to devd before applying: the apply's own transitions reach the hooks.
    fw.hooks_until("every vhid's INIT -> BACKUP", |l| {
        ["1@vtnet0", "2@vtnet1", "3@vtnet1", "4@vlan0.100", "5@lagg0"]
            .iter()
            .all(|v| l.iter().any(|x| x.starts_with(&format!("{v} BACKUP"))))
    });
    fw.with(|k| k.master_down("vtnet0", 1));
    // A master with the same timing appears: both hear an advert as frequent as their own and
    // yield (`carp_input_c`).
    fw.with(|k| {
        k.set_peer(Peer {
            state: VState::Master,
            ..Peer::backup("vtnet0", 1, 0, false)
        })
    });
    let lines = fw.hooks_until("1@vtnet0 MASTER then BACKUP", |l| {
        l.iter().any(|x| x.starts_with("1@vtnet0 MASTER"))
            && l.last()
                .is_some_and(|x| x.starts_with("1@vtnet0 BACKUP MASTER"))
    });
    // In order, with the previous state devd implied.
    let v1: Vec<&String> = lines.iter().filter(|l| l.starts_with("1@vtnet0")).collect();
    assert!(
        v1.ends_with(&[
            &"1@vtnet0 MASTER BACKUP ".to_string(),
            &"1@vtnet0 BACKUP MASTER ".to_string()
        ]),
        "{v1:#?}"
    );

    // devd restarts and a transition happens while carpd is not connected: carpd catches up.
    fw.with(|k| {
        k.restart_devd();
        k.master_down("vtnet1", 2);
    });
    fw.hooks_until("the missed 2@vtnet1 MASTER", |l| {
        l.iter()
            .any(|x| x == "2@vtnet1 MASTER BACKUP missed while devd was away")
    });
    let log = d.stop();
    assert!(log.contains("devd is back"), "{log}");
}

#[test]
fn demotion_moves_by_deltas_and_never_wipes_the_kernels_own() {
    let fw = Fw::new(Release::FreeBsd14);
    let d = fw.start();
    fw.with(|k| k.pfsync_bulk(true));
    assert_eq!(fw.kernel().sysctl.demotion, 240);
    let (a, _) = fw.json(&["maintenance", "enter", "--json"]);
    assert_eq!(a["status"], "ok", "{a}");
    assert_eq!(fw.kernel().sysctl.demotion, 480);
    let (a, _) = fw.json(&["demote", "service:openvpn", "+50", "--json"]);
    assert_eq!(a["status"], "ok", "{a}");
    assert_eq!(fw.kernel().sysctl.demotion, 530);
    let table = String::from_utf8_lossy(&fw.carpd(&["status"]).stdout).into_owned();
    assert!(
        table.contains("maintenance 240")
            && table.contains("service:openvpn 50")
            && table.contains("kernel 240"),
        "{table}"
    );
    let (s, _) = fw.json(&["status", "--json"]);
    assert_eq!(s["carp"]["demotion"], "530");
    assert_eq!(s["carp"]["maintenancemode"], true);
    let (a, _) = fw.json(&["maintenance", "leave", "--json"]);
    assert_eq!(a["status"], "ok", "{a}");
    assert_eq!(fw.kernel().sysctl.demotion, 290);
    let (a, _) = fw.json(&["demote", "service:openvpn", "clear", "--json"]);
    assert_eq!(a["status"], "ok", "{a}");
    assert_eq!(fw.kernel().sysctl.demotion, 240);
    fw.with(|k| k.pfsync_bulk(false));
    assert_eq!(fw.kernel().sysctl.demotion, 0);
    d.stop();
}

#[test]
fn disable_and_enable_write_allow_and_the_kernel_moves_every_vhid() {
    let fw = Fw::new(Release::FreeBsd14);
    let d = fw.start();
    let (a, _) = fw.json(&["disable", "--json"]);
    assert_eq!(a["status"], "ok", "{a}");
    let k = fw.kernel();
    assert_eq!(k.sysctl.allow, 0);
    assert!(vhid_view(&k).iter().all(|v| v.5 == VState::Init));
    // carp(4) adds the ifdown factor per vhid; it shows as the kernel's part.
    assert_eq!(k.sysctl.demotion, 5 * 240);
    let (s, _) = fw.json(&["status", "--json"]);
    assert_eq!(s["carp"]["allow"], "0");
    assert!(
        s["rows"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "INIT")
    );
    let (a, _) = fw.json(&["enable", "--json"]);
    assert_eq!(a["status"], "ok", "{a}");
    let k = fw.kernel();
    assert_eq!((k.sysctl.allow, k.sysctl.demotion), (1, 0));
    assert!(vhid_view(&k).iter().all(|v| v.5 == VState::Backup));
    fw.hooks_until("INIT then BACKUP for 5@lagg0", |l| {
        l.iter().any(|x| x.starts_with("5@lagg0 INIT BACKUP"))
            && l.iter().any(|x| x.starts_with("5@lagg0 BACKUP INIT"))
    });
    d.stop();
}

#[test]
fn persistent_maintenance_survives_a_restart_and_a_reboot_at_exactly_240() {
    let fw = Fw::new(Release::FreeBsd14);
    let d = fw.start();
    let (a, _) = fw.json(&["maintenance", "enter", "--persistent", "--json"]);
    assert_eq!(a["status"], "ok", "{a}");
    assert_eq!(fw.kernel().sysctl.demotion, 240);
    d.stop();
    // A restart: carpd's 240 is recorded for this boot and still in the kernel.
    let d = fw.start();
    assert_eq!(fw.kernel().sysctl.demotion, 240);
    d.stop();
    // A reboot: the kernel forgets, /var/run is emptied, the state directory is kept.
    fw.with(|k| k.reboot());
    std::fs::remove_dir_all(fw.path("run")).unwrap();
    assert_eq!(fw.kernel().sysctl.demotion, 0);
    let d = fw.start();
    let k = fw.kernel();
    assert_eq!(k.sysctl.demotion, 240);
    assert_eq!(vhid_view(&k).len(), 5, "re-applied after the reboot");
    let log = d.stop();
    assert!(log.contains("persistent maintenance mode is on"), "{log}");
}

#[test]
fn the_daemon_refuses_to_start_when_the_kernel_cannot_be_read() {
    let fw = Fw::new(Release::FreeBsd14);
    fw.with(|k| {
        k.faults.push(Fault::DumpFails {
            ifname: "vtnet0".into(),
            errno: ENOMEM,
        })
    });
    let out = fw
        .cmd()
        .args(["run", "--engine", "native", "--foreground"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0));
    assert!(stderr.contains("ENOMEM"), "{stderr}");
    assert!(!Path::new(&fw.path("run/carpd.pid")).exists());
}

// ---- VRRPv3 (FreeBSD 15's carp(4) VRRP mode) -----------------------------------------------

/// carpd's per-VHID settings making 2@vtnet1 (the LAN's IPv4 VIP) a VRRPv3 router.
const VRRP_SETTINGS: &str = "  <OPNsense><carpd><vhids><vhid uuid=\"7e000000-0000-4000-8000-000000000002\">\
    <vip>6f1c0000-0000-4000-8000-000000000004</vip><protocol>vrrp3</protocol>\
    <priority>150</priority><interval>10</interval></vhid></vhids></carpd></OPNsense>\n</opnsense>";

fn vrrp_of(k: &Kernel, dev: &str, vhid: u8) -> (u8, u8, u16) {
    let v = k
        .vhid(dev, vhid)
        .unwrap_or_else(|| panic!("no {vhid}@{dev}"));
    (v.version, v.vrrp_prio, v.vrrp_adv_inter)
}

fn until_kernel(fw: &Fw, what: &str, cond: impl Fn(&Kernel) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond(&fw.kernel()) {
        assert!(
            Instant::now() < deadline,
            "{what}: {:#?}",
            vhid_view(&fw.kernel())
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn freebsd_15_gets_vrrp_vhids_in_its_vrrp_mode_and_back_to_carp() {
    let fw = Fw::new(Release::FreeBsd15);
    fw.edit_config("</opnsense>", VRRP_SETTINGS);
    let dry = String::from_utf8_lossy(&fw.carpd(&["apply", "--dry-run"]).stdout).into_owned();
    assert!(
        dry.contains("ifconfig vtnet1 vhid 2 carpver 3 vrrpprio 150 vrrpinterval 10\n"),
        "{dry}"
    );
    let (r, code) = fw.json(&["apply", "--json"]);
    assert_eq!(code, 0, "{r:#}");
    let k = fw.kernel();
    assert_eq!(vrrp_of(&k, "vtnet1", 2), (3, 150, 10));
    assert_eq!(k.vhid("vtnet1", 2).unwrap().state, VState::Backup);
    assert_eq!(
        k.vhid("vtnet1", 3).unwrap().version,
        2,
        "the other VHIDs stay CARP"
    );
    assert!(log_has(&k, "netlink carp SET"));
    let (again, _) = fw.json(&["apply", "--json"]);
    assert!(steps(&again).is_empty(), "{again:#}");

    let (s, code) = fw.json(&["status", "--json"]);
    assert_eq!(code, 0);
    let row = s["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["vhid"] == "2")
        .unwrap()
        .clone();
    assert_eq!(row["carpd"]["protocol"], "vrrp3", "{row:#}");
    assert_eq!(row["carpd"]["vrrp"]["effective_priority"], 150, "{row:#}");
    let table = String::from_utf8_lossy(&fw.carpd(&["status"]).stdout).into_owned();
    assert!(table.contains("vrrp3 prio 150 @ 100ms"), "{table}");

    // Back to CARP: the version is fixed at creation, so the vhid is re-created.
    fw.edit_config("<protocol>vrrp3</protocol>", "<protocol>carp</protocol>");
    let (r, code) = fw.json(&["apply", "--json"]);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(
        steps(&r),
        [
            "ifconfig vtnet1 inet 198.51.100.1 -alias",
            "ifconfig vtnet1 vhid 2 advskew 0 advbase 1 pass '****'",
            "ifconfig vtnet1 inet 198.51.100.1/24 alias vhid 2",
        ]
    );
    assert!(
        r["notes"][0]
            .as_str()
            .unwrap()
            .contains("changes from VRRPv3 to CARP"),
        "{r:#}"
    );
    let k = fw.kernel();
    assert_eq!(k.vhid("vtnet1", 2).unwrap().version, 2);
    assert_eq!(&k.vhid("vtnet1", 2).unwrap().key[..10], b"lan-secret");
}

#[test]
fn freebsd_13_and_14_refuse_vrrp_plainly_and_the_daemon_does_not_start() {
    for release in [Release::FreeBsd13 { netlink: false }, Release::FreeBsd14] {
        let fw = Fw::new(release);
        fw.edit_config("</opnsense>", VRRP_SETTINGS);
        for args in [&["apply"][..], &["apply", "--dry-run"][..]] {
            let o = fw.carpd(args);
            let err = String::from_utf8_lossy(&o.stderr);
            assert_ne!(o.status.code(), Some(0), "{release:?} {args:?}");
            assert!(
                err.contains("2@vtnet1 speak VRRPv3, which carp(4) has only from FreeBSD 15"),
                "{release:?}: {err}"
            );
        }
        assert!(vhid_view(&fw.kernel()).is_empty(), "nothing half-applied");
        let o = fw
            .cmd()
            .args(["run", "--engine", "native", "--foreground"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_ne!(o.status.code(), Some(0));
        assert!(err.contains("only from FreeBSD 15"), "{err}");
    }
    // A snapshot that does not say which FreeBSD it is still plans.
    let fw = Fw::new(Release::FreeBsd14);
    fw.edit_config("</opnsense>", VRRP_SETTINGS);
    std::fs::write(fw.path("snap.json"), "{}").unwrap();
    let snap = fw.path("snap.json");
    let o = fw.carpd(&[
        "apply",
        "--dry-run",
        "--kernel-state",
        snap.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// carp(4) demotes only CARP's advskew; the daemon lowers a VRRPv3 vhid's priority itself
/// (clamped 1..254), and puts back a vhid someone re-created as CARP.
#[test]
fn the_daemon_keeps_vrrp_priorities_with_the_demotion_and_the_protocol() {
    let fw = Fw::new(Release::FreeBsd15);
    fw.edit_config("</opnsense>", VRRP_SETTINGS);
    let d = fw.start();
    until_kernel(&fw, "VRRP vhid created", |k| {
        k.vhid("vtnet1", 2).is_some_and(|v| v.version == 3)
    });
    let (a, _) = fw.json(&["maintenance", "enter", "--json"]);
    assert_eq!(a["status"], "ok", "{a}");
    until_kernel(&fw, "priority 150 - 240 clamped to 1", |k| {
        vrrp_of(k, "vtnet1", 2) == (3, 1, 10)
    });
    let (a, _) = fw.json(&["maintenance", "leave", "--json"]);
    assert_eq!(a["status"], "ok", "{a}");
    until_kernel(&fw, "priority back to 150", |k| {
        vrrp_of(k, "vtnet1", 2) == (3, 150, 10)
    });

    // Another writer (OPNsense core applying its VIPs) re-creates the vhid as CARP.
    fw.with(|k| {
        k.difaddr("vtnet1", "198.51.100.1".parse().unwrap())
            .unwrap();
        let ifi = k
            .interfaces
            .iter()
            .position(|i| i.name == "vtnet1")
            .unwrap();
        let set = carp_kernel_model::kernel::SetReq {
            vhid: 2,
            advbase: 1,
            version: 2,
            ..Default::default()
        };
        k.ioctl_set(ifi, &set).unwrap();
        k.aifaddr("vtnet1", "198.51.100.1".parse().unwrap(), 24, 2)
            .unwrap();
    });
    until_kernel(&fw, "VRRP vhid put back", |k| {
        k.vhid("vtnet1", 2).is_some_and(|v| v.version == 3)
            && k.iface("vtnet1")
                .is_some_and(|i| i.addrs.iter().any(|a| a.vhid == 2))
    });
    let log = d.stop();
    assert!(
        log.contains("vrrp: applied: ifconfig vtnet1 vhid 2 carpver 3 vrrpprio 1 vrrpinterval 10"),
        "{log}"
    );
}

/// Poll the kernel's demotion until it is `want` (bounded); the daemon's log on failure.
fn until_demotion(fw: &Fw, d: &Daemon, want: i32, why: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while fw.kernel().sysctl.demotion != want {
        assert!(
            Instant::now() < deadline,
            "{why}: demotion {} where {want} was expected; daemon log:\n{}",
            fw.kernel().sysctl.demotion,
            d.log_text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn readiness_checks_timed_demotions_and_pfsync_are_demotions_the_daemon_keeps() {
    let fw = Fw::new(Release::FreeBsd14);
    let (ready, number) = (fw.path("ready"), fw.path("db-demotion"));
    fw.edit_config(
        "</opnsense>",
        &format!(
            "<OPNsense><carpd>\
             <general><ready_command>test -e {}</ready_command><ready_deadline>60</ready_deadline></general>\
             <checks>\
             <check uuid=\"30000000-0000-4000-8000-000000000001\"><name>db</name><type>file</type>\
             <path>{}</path><interval>1</interval><rise>1</rise><fall>1</fall></check>\
             <check uuid=\"30000000-0000-4000-8000-000000000002\"><name>tunnel</name><type>link</type>\
             <interface>wg0</interface><interval>1</interval><rise>1</rise><fall>1</fall><weight>20</weight></check>\
             </checks></carpd></OPNsense></opnsense>",
            ready.display(),
            number.display()
        ),
    );
    std::fs::write(&number, "0\n").unwrap();
    let d = fw.start();
    // Not ready: carp(4) has no per-vhid INIT, so the daemon holds the node back with 240,
    // written before the first vhid was applied.
    until_demotion(&fw, &d, 240, "readiness");
    let table = String::from_utf8_lossy(&fw.carpd(&["status"]).stdout).into_owned();
    assert!(
        table.contains("readiness 240") && table.contains("not taking MASTER until ready"),
        "{table}"
    );
    std::fs::write(&ready, "").unwrap();
    until_demotion(&fw, &d, 0, "ready");
    assert!(d.log_text().contains("ready after"), "{}", d.log_text());

    // A file check contributes the number its file holds; a link check its weight.
    std::fs::write(&number, "30\n").unwrap();
    until_demotion(&fw, &d, 30, "file check");
    let (s, _) = fw.json(&["status", "--json"]);
    assert_eq!(s["carpd"]["demotions"]["check:db"], 30, "{s}");
    fw.with(|k| k.set_link("wg0", false));
    until_demotion(&fw, &d, 50, "link check");
    fw.with(|k| k.set_link("wg0", true));
    std::fs::write(&number, "0\n").unwrap();
    until_demotion(&fw, &d, 0, "checks recovered");

    // `--for`: in the kernel until it is due, then removed and logged.
    let (a, _) = fw.json(&["demote", "upgrade", "+50", "--for", "2s", "--json"]);
    assert_eq!(a["status"], "ok", "{a}");
    assert_eq!(fw.kernel().sysctl.demotion, 50);
    until_demotion(&fw, &d, 0, "the timed demotion");
    assert!(
        d.log_text().contains("demotion upgrade expired"),
        "{}",
        d.log_text()
    );

    // pfsync's bulk update is the kernel's own demotion, and status says what it is.
    fw.with(|k| k.pfsync_bulk(true));
    let table = String::from_utf8_lossy(&fw.carpd(&["status"]).stdout).into_owned();
    assert!(
        table.contains(
            "waiting for pfsync bulk update: the kernel's own demotion of 240 is pfsync's \
             (net.pfsync.carp_demotion_factor"
        ),
        "{table}"
    );
    fw.with(|k| k.pfsync_bulk(false));
    d.stop();

    // carp(4) kept the vhids: restarted while MASTER, the node is serving, and no readiness
    // wait hands its VIPs to the peer (the ready command would fail now).
    fw.with(|k| k.master_down("vtnet0", 1));
    assert!(
        vhid_view(&fw.kernel())
            .iter()
            .any(|v| v.0 == "vtnet0" && v.1 == 1 && v.5 == VState::Master),
        "{:#?}",
        vhid_view(&fw.kernel())
    );
    std::fs::remove_file(&ready).unwrap();
    let d = fw.start();
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(fw.kernel().sysctl.demotion, 0, "{}", d.log_text());
    assert!(
        d.log_text()
            .contains("no readiness wait or preempt delay for this start"),
        "{}",
        d.log_text()
    );
    d.stop();
}
