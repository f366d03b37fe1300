#![allow(dead_code)] // each test binary uses a different part of the harness

//! Runs real carpd daemons (userspace engine) inside the lab's namespaces and reads their
//! state through the real control socket, as an admin would with `carpd status --json`.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::netns::{Lab, Node, Proc, wait_until};

pub const BIN: &str = env!("CARGO_BIN_EXE_carpd");

/// One VHID of a node's config.xml.
#[derive(Clone, Debug)]
pub struct Vip {
    pub vhid: u8,
    /// `addr/prefix`, the CARP VIP first, then ipalias addresses on the same vhid.
    pub addrs: Vec<&'static str>,
    pub advbase: u8,
    pub advskew: u8,
    pub password: &'static str,
    pub peer: Option<String>,
    pub peer6: Option<String>,
    /// A device named directly in `<interface>` (no interface key), instead of the lab's `lan`.
    pub device: Option<&'static str>,
    /// Speak VRRPv3 with these settings (carpd's `<OPNsense><carpd><vhids>` entry).
    pub vrrp: Option<Vrrp>,
}

/// A VRRPv3 router's settings in carpd's per-VHID section.
#[derive(Clone, Copy, Debug)]
pub struct Vrrp {
    pub priority: u8,
    pub interval_cs: u16,
    pub preempt: bool,
}

impl Vip {
    pub fn v4(vhid: u8, addr: &'static str, advskew: u8) -> Vip {
        Vip {
            vhid,
            addrs: vec![addr],
            advbase: 1,
            advskew,
            password: "test-secret",
            peer: None,
            peer6: None,
            device: None,
            vrrp: None,
        }
    }

    /// A VRRPv3 router with one address (`addr/prefix`, either family).
    pub fn vrrp(vrid: u8, addr: &'static str, priority: u8, interval_cs: u16) -> Vip {
        Vip {
            password: "",
            vrrp: Some(Vrrp {
                priority,
                interval_cs,
                preempt: true,
            }),
            ..Vip::v4(vrid, addr, 0)
        }
    }
}

/// config.xml text for `ifname` with these VIPs.
pub fn config_xml(ifname: &str, vips: &[Vip], disable_preempt: bool) -> String {
    let mut entries = String::new();
    let mut settings = String::new();
    for (i, v) in vips.iter().enumerate() {
        if let Some(r) = v.vrrp {
            settings += &format!(
                "<vhid uuid=\"10000000-0000-4000-8000-{i:012}\"><vip>00000000-0000-4000-8000-{i:06}000000</vip>\
                 <protocol>vrrp3</protocol><priority>{}</priority><interval>{}</interval>\
                 <preempt>{}</preempt></vhid>\n",
                r.priority,
                r.interval_cs,
                u8::from(r.preempt)
            );
        }
        for (j, a) in v.addrs.iter().enumerate() {
            let (addr, bits) = a.split_once('/').expect("addr/prefix");
            let mode = if j == 0 { "carp" } else { "ipalias" };
            entries += &format!(
                "<vip uuid=\"00000000-0000-4000-8000-{i:06}{j:06}\"><interface>{}</interface>\
                 <mode>{mode}</mode><subnet>{addr}</subnet><subnet_bits>{bits}</subnet_bits>\
                 <password>{}</password><vhid>{}</vhid><advbase>{}</advbase><advskew>{}</advskew>\
                 <peer>{}</peer><peer6>{}</peer6><descr>test {}</descr></vip>\n",
                v.device.unwrap_or("lan"),
                if j == 0 { v.password } else { "" },
                v.vhid,
                v.advbase,
                v.advskew,
                v.peer.as_deref().unwrap_or(""),
                v.peer6.as_deref().unwrap_or(""),
                v.vhid
            );
        }
    }
    format!(
        "<?xml version=\"1.0\"?>\n<opnsense>\n<interfaces><lan><if>{ifname}</if><descr>LAN</descr></lan></interfaces>\n\
         <virtualip version=\"1.0.1\">\n{entries}</virtualip>\n\
         <hasync><disablepreempt>{}</disablepreempt></hasync>\n\
         <OPNsense><carpd><vhids>\n{settings}</vhids></carpd></OPNsense>\n</opnsense>\n",
        u8::from(disable_preempt)
    )
}

/// A carpd daemon in one of the lab's nodes, with its own run/state/hooks directories.
pub struct Daemon {
    pub node: Node,
    pub dir: PathBuf,
    pub proc: Option<Proc>,
}

impl Daemon {
    /// Write the config and a recording hook; do not start yet.
    pub fn prepare(node: &Node, vips: &[Vip], disable_preempt: bool) -> Daemon {
        let dir = std::env::temp_dir().join(format!("carpd-test-{}-{}", node.ns, node.ifname));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("hooks")).unwrap();
        std::fs::write(
            dir.join("config.xml"),
            config_xml(&node.ifname, vips, disable_preempt),
        )
        .unwrap();
        // Records each call: arguments and the environment carpd promises.
        let hook = dir.join("hooks/10-record");
        std::fs::write(
            &hook,
            format!(
                "#!/bin/sh\necho \"$1 $2 prev=$CARP_PREVIOUS_STATE vhid=$CARP_VHID if=$CARP_INTERFACE \
                 state=$CARP_STATE reason=$CARP_REASON addrs=$CARP_ADDRESSES\" >> {}\n",
                dir.join("hook-calls").display()
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
        Daemon {
            node: node.clone(),
            dir,
            proc: None,
        }
    }

    pub fn start(&mut self, lab: &Lab) {
        self.start_with(lab, &[]);
    }

    pub fn start_with(&mut self, lab: &Lab, extra: &[&str]) {
        self.start_with_hook_timeout(lab, 5, extra);
    }

    /// Start `carpd run` with this `--hook-timeout` (seconds) and extra arguments.
    pub fn start_with_hook_timeout(&mut self, lab: &Lab, hook_timeout_s: u32, extra: &[&str]) {
        let mut args = vec![BIN.to_string()];
        args.extend(self.global_args());
        args.extend(
            [
                "run",
                "--engine",
                "userspace",
                "--foreground",
                "--hook-timeout",
            ]
            .iter()
            .map(|s| s.to_string()),
        );
        args.push(hook_timeout_s.to_string());
        args.extend(extra.iter().map(|s| s.to_string()));
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let proc = lab.spawn(&self.node.ns, &argv);
        let sock = self.dir.join("run/carpd.sock");
        if !wait_until(Duration::from_secs(10), || sock.exists()) {
            panic!(
                "carpd in {} did not open its control socket within 10 s:\n{}",
                self.node.ns,
                proc.stderr()
            );
        }
        self.proc = Some(proc);
    }

    /// Add carpd's own settings (`<general>`, `<checks>`) to the config before a start.
    pub fn set_carpd_settings(&self, xml: &str) {
        let p = self.config_path();
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(
            text.contains("<OPNsense><carpd>"),
            "config has no carpd block"
        );
        std::fs::write(
            &p,
            text.replacen("<OPNsense><carpd>", &format!("<OPNsense><carpd>{xml}"), 1),
        )
        .unwrap();
    }

    /// A long-running `carpd <args>` against this daemon (`carpd events`), in its namespace.
    pub fn spawn_ctl(&self, lab: &Lab, args: &[&str]) -> Proc {
        let mut all = vec![BIN.to_string()];
        all.extend(self.global_args());
        all.extend(args.iter().map(|s| s.to_string()));
        let argv: Vec<&str> = all.iter().map(String::as_str).collect();
        lab.spawn(&self.node.ns, &argv)
    }

    fn global_args(&self) -> Vec<String> {
        let d = |p: &str| self.dir.join(p).display().to_string();
        vec![
            "--config".into(),
            d("config.xml"),
            "--run-dir".into(),
            d("run"),
            "--state-dir".into(),
            d("state"),
            "--hooks-dir".into(),
            d("hooks"),
        ]
    }

    /// `carpd <args>` against this daemon (from the host: the control socket is a file).
    pub fn ctl(&self, args: &[&str]) -> (i32, String, String) {
        let out = Command::new(BIN)
            .args(self.global_args())
            .args(args)
            .output()
            .expect("run carpd client");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// The daemon's full report (carpd's own status shape).
    pub fn report(&self) -> Option<serde_json::Value> {
        let answer: serde_json::Value = carpd::control::client::request(
            &self.dir.join("run/carpd.sock"),
            &carpd::control::Request::Status,
            Duration::from_secs(2),
        )
        .ok()?;
        Some(answer["report"].clone())
    }

    pub fn vhid(&self, vhid: u8) -> Option<serde_json::Value> {
        self.report()?["vhids"]
            .as_array()?
            .iter()
            .find(|v| v["vhid"] == vhid)
            .cloned()
    }

    pub fn state(&self, vhid: u8) -> String {
        self.vhid(vhid)
            .and_then(|v| v["state"].as_str().map(str::to_string))
            .unwrap_or_else(|| "DOWN".into())
    }

    /// Wait (bounded) for `vhid` to reach `state`; returns when it did.
    pub fn wait_state(&self, vhid: u8, state: &str, timeout: Duration) -> Instant {
        let mut seen = String::new();
        let ok = wait_until(timeout, || {
            seen = self.state(vhid);
            seen == state
        });
        if !ok {
            panic!(
                "{}: vhid {vhid} not {state} within {timeout:?} (is {seen}); log:\n{}",
                self.node.ns,
                self.log()
            );
        }
        Instant::now()
    }

    /// Reaches `state` within 5 s and is still in it 4 s later: longer than the master-down
    /// interval (3.39 s at advbase 1), so an election that would move it has had its chance.
    pub fn settles_in(&self, vhid: u8, state: &str, why: &str) {
        self.wait_state(vhid, state, Duration::from_secs(5));
        std::thread::sleep(Duration::from_secs(4));
        assert_eq!(self.state(vhid), state, "{why}");
    }

    pub fn drops(&self, vhid: u8, reason: &str) -> u64 {
        self.vhid(vhid)
            .and_then(|v| v["drops"][reason].as_u64())
            .unwrap_or(0)
    }

    pub fn log(&self) -> String {
        self.proc.as_ref().map(|p| p.stderr()).unwrap_or_default()
    }

    pub fn hook_calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.join("hook-calls"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    pub fn pid(&self) -> i32 {
        self.proc.as_ref().expect("started").pid() as i32
    }

    pub fn signal(&self, sig: nix::sys::signal::Signal) {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.pid()), sig).expect("signal carpd");
    }

    /// SIGTERM and wait for a clean exit.
    pub fn stop(&mut self) {
        if let Some(p) = self.proc.take() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(p.pid() as i32),
                nix::sys::signal::Signal::SIGTERM,
            );
            let status = p.wait_exit(Duration::from_secs(15));
            assert!(
                status.is_some_and(|s| s.success()),
                "carpd did not exit 0 after SIGTERM: {status:?}\n{}",
                p.stderr()
            );
        }
    }

    /// Addresses on the node's interface, as `ip -o addr` prints them.
    pub fn addresses(&self, lab: &Lab) -> String {
        lab.ip(
            &self.node.ns,
            &["-o", "addr", "show", "dev", &self.node.ifname],
        )
    }

    pub fn holds(&self, lab: &Lab, addr: &str) -> bool {
        let needle = format!(" {addr} ");
        let needle2 = format!(" {addr}/");
        let a = self.addresses(lab);
        a.contains(&needle) || a.contains(&needle2)
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.join("config.xml")
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(p) = self.proc.take() {
            p.kill();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A control command's JSON answer, which must be `ok`.
pub fn ok_json(out: &(i32, String, String)) -> serde_json::Value {
    assert_eq!(out.0, 0, "command failed: {}{}", out.1, out.2);
    let v: serde_json::Value = serde_json::from_str(out.1.trim()).expect("JSON answer");
    assert_eq!(v["status"], "ok", "{v}");
    v
}

/// Nodes 0 and 1 of `lab` running carpd with these VIPs, both started at once.
pub fn pair(lab: &Lab, vips_a: &[Vip], vips_b: &[Vip], disable_preempt: bool) -> (Daemon, Daemon) {
    let mut a = Daemon::prepare(lab.node(0), vips_a, disable_preempt);
    let mut b = Daemon::prepare(lab.node(1), vips_b, disable_preempt);
    a.start(lab);
    b.start(lab);
    (a, b)
}

/// Wait until `master` holds `vhid` as MASTER and `backup` as BACKUP (a settled election).
pub fn elected(master: &Daemon, backup: &Daemon, vhid: u8) {
    master.wait_state(vhid, "MASTER", Duration::from_secs(10));
    backup.wait_state(vhid, "BACKUP", Duration::from_secs(5));
}

/// Ping `addr` from the lab's client, once, with a 1 s deadline.
pub fn ping(lab: &Lab, addr: &str) -> bool {
    let c = lab.client();
    lab.exec(&c.ns, &["ping", "-c", "1", "-W", "1", addr])
        .status
        .success()
}

/// MAC the client has for `addr` after talking to it.
pub fn neighbour_mac(lab: &Lab, addr: &str) -> Option<[u8; 6]> {
    let c = lab.client();
    let out = lab.ip(&c.ns, &["neigh", "show", addr]);
    out.split_whitespace()
        .skip_while(|w| *w != "lladdr")
        .nth(1)
        .and_then(crate::common::netns::parse_mac)
}
