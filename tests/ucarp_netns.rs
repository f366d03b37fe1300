//! carpd run with ucarp's command line, on a real wire: against real ucarp in both roles, and
//! a pair of carpd-as-ucarp nodes, with ucarp-style up/down scripts that add and remove the
//! VIP and record exactly what they were called with. Hard failures (cable cut, SIGKILL),
//! SIGTERM with and without `--shutdown`, SIGUSR1 and SIGUSR2. Needs root and ucarp
//! (scripts/install-deps).

#![cfg(target_os = "linux")]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::netns::{Lab, Node, Proc, wait_until};
use nix::sys::signal::Signal;

const BIN: &str = env!("CARGO_BIN_EXE_carpd");
const VIP: &str = "192.0.2.1";
/// A space and a quote: OPNsense's processing (for config.xml) would turn this into another
/// key, ucarp's (raw bytes) does not, so the pair only authenticates with ucarp's derivation.
const PASS: &str = "it's a key";

fn require_ucarp() {
    let found = std::process::Command::new("sh")
        .args(["-c", "command -v ucarp"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        found,
        "ucarp is not installed: run scripts/install-deps (CI installs it)"
    );
}

/// How a node runs.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    /// The real ucarp binary.
    Ucarp,
    /// `carpd ucarp …`.
    CarpdSubcommand,
    /// carpd through a symlink named `ucarp` (argv[0]).
    CarpdAsUcarp,
}

/// One node running ucarp's command line, with recording up/down scripts in its own directory.
struct Node1 {
    kind: Kind,
    node: Node,
    dir: PathBuf,
    proc: Option<Proc>,
}

impl Node1 {
    fn start(lab: &Lab, node: &Node, kind: Kind, advskew: u8, extra: &[&str]) -> Node1 {
        require_ucarp();
        let dir = std::env::temp_dir().join(format!("carpd-ucarp-{}-{kind:?}", node.ns));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let record = dir.join("calls");
        // ucarp's Linux examples: the scripts own the address.
        for (name, action) in [
            ("vip-up", "ip addr add \"$2\"/24 dev \"$1\""),
            (
                "vip-down",
                "ip addr del \"$2\"/24 dev \"$1\" 2>/dev/null || true",
            ),
        ] {
            let path = dir.join(name);
            std::fs::write(
                &path,
                format!(
                    "#!/bin/sh\nprintf '%s|%s|%s|%s|%s\\n' \"${{0##*/}}\" \"$#\" \"$1\" \"$2\" \"${{3-unset}}\" >> {}\n{action}\n",
                    record.display()
                ),
            )
            .unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let passfile = dir.join("pass");
        std::fs::write(&passfile, format!("{PASS}\n")).unwrap();
        let up = dir.join("vip-up").display().to_string();
        let down = dir.join("vip-down").display().to_string();
        let src = node.v4.to_string();
        let skew = advskew.to_string();
        let run_dir = dir.join("run").display().to_string();
        let mut argv: Vec<String> = match kind {
            Kind::Ucarp => vec!["ucarp".into()],
            Kind::CarpdSubcommand => vec![BIN.into(), "--run-dir".into(), run_dir, "ucarp".into()],
            Kind::CarpdAsUcarp => {
                let link = dir.join("ucarp");
                std::os::unix::fs::symlink(BIN, &link).unwrap();
                vec![
                    "env".into(),
                    format!("CARPD_RUN_DIR={run_dir}"),
                    link.display().to_string(),
                ]
            }
        };
        let pass: Vec<String> = if kind == Kind::Ucarp {
            vec!["-p".into(), PASS.into()]
        } else {
            vec!["--passfile".into(), passfile.display().to_string()]
        };
        argv.extend(
            [
                "-i",
                &node.ifname,
                "-s",
                &src,
                "-v",
                "1",
                "-a",
                VIP,
                "-b",
                "1",
                "-k",
                &skew,
                "-u",
                &up,
                "-d",
                &down,
                "-f",
                "none",
            ]
            .iter()
            .map(|s| s.to_string()),
        );
        argv.extend(pass);
        argv.extend(extra.iter().map(|s| s.to_string()));
        let args: Vec<&str> = argv.iter().map(String::as_str).collect();
        let proc = lab.spawn(&node.ns, &args);
        Node1 {
            kind,
            node: node.clone(),
            dir,
            proc: Some(proc),
        }
    }

    /// Every script call: `script|argc|$1|$2|$3 (or unset)`.
    fn calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.join("calls"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// What the last script says the node is.
    fn role(&self) -> &'static str {
        match self.calls().last() {
            Some(l) if l.starts_with("vip-up|") => "MASTER",
            Some(_) => "BACKUP",
            None => "none",
        }
    }

    fn wait_role(&self, role: &str, timeout: Duration) -> Instant {
        let ok = wait_until(timeout, || self.role() == role);
        assert!(
            ok,
            "{:?} in {}: not {role} within {timeout:?} (calls {:?}); log:\n{}",
            self.kind,
            self.node.ns,
            self.calls(),
            self.log()
        );
        Instant::now()
    }

    fn log(&self) -> String {
        self.proc.as_ref().map(|p| p.stderr()).unwrap_or_default()
    }

    fn holds(&self, lab: &Lab) -> bool {
        lab.ip(
            &self.node.ns,
            &["-o", "addr", "show", "dev", &self.node.ifname],
        )
        .contains(&format!(" {VIP}/24 "))
    }

    fn signal(&self, sig: Signal) {
        let pid = self.proc.as_ref().expect("running").pid() as i32;
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), sig).expect("signal");
    }

    /// carpd's own view through its per-instance control socket (carpd kinds only).
    fn carpd_state(&self) -> String {
        let sock = self
            .dir
            .join(format!("run/ucarp-1@{}/carpd.sock", self.node.ifname));
        carpd::control::client::request::<serde_json::Value>(
            &sock,
            &carpd::control::Request::Status,
            Duration::from_secs(2),
        )
        .ok()
        .and_then(|a| {
            a["report"]["vhids"][0]["state"]
                .as_str()
                .map(str::to_string)
        })
        .unwrap_or_else(|| "DOWN".to_string())
    }

    fn exited(&self, timeout: Duration) -> std::process::ExitStatus {
        let p = self.proc.as_ref().expect("running");
        p.wait_exit(timeout)
            .unwrap_or_else(|| panic!("{:?} did not exit within {timeout:?}", self.kind))
    }
}

impl Drop for Node1 {
    fn drop(&mut self) {
        if let Some(p) = self.proc.take() {
            p.kill();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn up_line(node: &Node, xparam: Option<&str>) -> String {
    format!(
        "vip-up|{}|{}|{VIP}|{}",
        if xparam.is_some() { 3 } else { 2 },
        node.ifname,
        xparam.unwrap_or("unset")
    )
}

fn down_line(node: &Node, xparam: Option<&str>) -> String {
    up_line(node, xparam).replacen("vip-up", "vip-down", 1)
}

#[test]
fn carpd_as_ucarp_master_with_real_ucarp_backup_cable_cut_and_sigterm() {
    let lab = Lab::new("um", 2);
    let (n0, n1) = (lab.node(0), lab.node(1));
    let a = Node1::start(&lab, n0, Kind::CarpdSubcommand, 0, &["-z", "-P"]);
    a.wait_role("MASTER", Duration::from_secs(10));
    assert!(a.holds(&lab), "the upscript added the VIP");
    let u = Node1::start(&lab, n1, Kind::Ucarp, 100, &["-z"]);
    u.wait_role("BACKUP", Duration::from_secs(5));
    // ucarp authenticates carpd's adverts (same --pass, same key bytes) and stays BACKUP.
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(u.role(), "BACKUP", "ucarp did not accept carpd's adverts");
    assert_eq!(a.carpd_state(), "MASTER");
    assert!(!u.holds(&lab));
    // Start-up as ucarp does it: INIT → BACKUP runs the downscript (no --neutral), then up.
    assert_eq!(a.calls(), [down_line(n0, None), up_line(n0, None)]);

    // Hard failure: the master's cable is cut. ucarp takes over after master-down; carpd
    // loses carrier, which ucarp would treat as BACKUP: the downscript removes the VIP.
    lab.cut(0);
    u.wait_role("MASTER", Duration::from_secs(8));
    a.wait_role("BACKUP", Duration::from_secs(3));
    assert!(!a.holds(&lab) && u.holds(&lab));
    lab.restore(0);
    // Preempting (-P, less skew), carpd takes the VIP back once its link is up again.
    a.wait_role("MASTER", Duration::from_secs(10));
    u.wait_role("BACKUP", Duration::from_secs(5));

    // SIGTERM with --shutdown: bow-out advert, downscript; ucarp takes over at once.
    let before = a.calls().len();
    a.signal(Signal::SIGTERM);
    let took = u.wait_role("MASTER", Duration::from_secs(3));
    let status = a.exited(Duration::from_secs(15));
    assert!(status.success(), "carpd exit {status:?}: {}", a.log());
    assert_eq!(a.calls()[before..], [down_line(n0, None)]);
    assert!(!a.holds(&lab));
    let _ = took;
}

#[test]
fn real_ucarp_master_with_carpd_as_ucarp_backup_sigkill_sigusr1_sigusr2() {
    let lab = Lab::new("un", 2);
    let (n0, n1) = (lab.node(0), lab.node(1));
    let u = Node1::start(&lab, n1, Kind::Ucarp, 0, &["-x", "lan"]);
    u.wait_role("MASTER", Duration::from_secs(10));
    let b = Node1::start(&lab, n0, Kind::CarpdAsUcarp, 100, &["-x", "lan", "-n"]);
    assert!(
        wait_until(Duration::from_secs(5), || b.carpd_state() == "BACKUP"),
        "carpd not BACKUP: {}",
        b.log()
    );
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(
        b.carpd_state(),
        "BACKUP",
        "carpd did not accept ucarp's adverts"
    );
    assert_eq!(
        b.calls(),
        Vec::<String>::new(),
        "--neutral: no downscript at start"
    );
    // The scripts see the same arguments from both: ucarp's own call is the reference.
    assert_eq!(u.calls().last().unwrap(), &up_line(n1, Some("lan")));

    // Hard failure of the master: SIGKILL, no script, no goodbye.
    u.signal(Signal::SIGKILL);
    let t = Instant::now();
    b.wait_role("MASTER", Duration::from_secs(6));
    assert!(
        t.elapsed() >= Duration::from_secs(2),
        "took over before master-down"
    );
    assert_eq!(b.calls(), [up_line(n0, Some("lan"))]);
    assert!(b.holds(&lab));

    // SIGUSR1: ucarp's status line in the log.
    b.signal(Signal::SIGUSR1);
    let needle = format!("MASTER on {} id 1", n0.ifname);
    assert!(
        b.proc
            .as_ref()
            .unwrap()
            .wait_stderr(&needle, Duration::from_secs(3)),
        "{}",
        b.log()
    );
    // SIGUSR2: step down (downscript), hold 3 s, then a full master-down interval: alone, it
    // is MASTER again after about 3 + 3.39 s, not sooner.
    let t = Instant::now();
    b.signal(Signal::SIGUSR2);
    b.wait_role("BACKUP", Duration::from_secs(2));
    assert!(!b.holds(&lab));
    b.wait_role("MASTER", Duration::from_secs(10));
    let back = t.elapsed();
    assert!(
        back >= Duration::from_secs(6) && back < Duration::from_secs(8),
        "MASTER again after {back:?}"
    );
    assert_eq!(
        b.calls(),
        [
            up_line(n0, Some("lan")),
            down_line(n0, Some("lan")),
            up_line(n0, Some("lan"))
        ]
    );

    // SIGTERM without --shutdown: no script (the VIP stays, as with ucarp), exit 0.
    let n = b.calls().len();
    b.signal(Signal::SIGTERM);
    assert!(b.exited(Duration::from_secs(15)).success());
    assert_eq!(b.calls().len(), n, "{:?}", b.calls());
}

#[test]
fn carpd_as_ucarp_pair_scripts_get_exactly_ucarps_arguments() {
    let lab = Lab::new("up", 2);
    let (n0, n1) = (lab.node(0), lab.node(1));
    let a = Node1::start(
        &lab,
        n0,
        Kind::CarpdAsUcarp,
        0,
        &["-z", "--xparam=eth0-vip"],
    );
    a.wait_role("MASTER", Duration::from_secs(10));
    let b = Node1::start(
        &lab,
        n1,
        Kind::CarpdSubcommand,
        100,
        &["-z", "-x", "eth0-vip"],
    );
    b.wait_role("BACKUP", Duration::from_secs(5));
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(a.carpd_state(), "MASTER");
    assert_eq!(b.carpd_state(), "BACKUP");
    let xp = Some("eth0-vip");
    assert_eq!(a.calls(), [down_line(n0, xp), up_line(n0, xp)]);
    assert_eq!(b.calls(), [down_line(n1, xp)]);
    assert!(a.holds(&lab) && !b.holds(&lab));

    // The master leaves on SIGTERM: its downscript, then the backup's upscript within a
    // fraction of the 3.4 s master-down (the bow-out advert).
    let t = Instant::now();
    a.signal(Signal::SIGTERM);
    b.wait_role("MASTER", Duration::from_secs(3));
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "no bow-out: {:?}",
        t.elapsed()
    );
    assert!(a.exited(Duration::from_secs(15)).success());
    assert_eq!(
        a.calls(),
        [down_line(n0, xp), up_line(n0, xp), down_line(n0, xp)]
    );
    assert_eq!(b.calls(), [down_line(n1, xp), up_line(n1, xp)]);
    assert!(b.holds(&lab) && !a.holds(&lab));
}
