//! The Debian package as a user (and CI) installs it: built once with scripts/build-deb (and
//! a second revision for the upgrade), then `dpkg -i`, `carpd init`, `carpd check`, an
//! upgrade that keeps /etc/carpd/config.xml, `dpkg -r` with carpd daemons running (they must
//! be gone after it), and `dpkg -P` (nothing the package or carpd created may be left).
//!
//! Needs root and dpkg; works without systemd as PID 1 (the maintainer scripts must). It
//! touches the host's /etc/carpd, /var/lib/carpd and /run/carpd, so it refuses to run where
//! carpd is already installed or configured; a guard purges the package even when a step
//! fails. The daemons it starts use a device that does not exist, so they never put a packet
//! on the host's network.

#![cfg(target_os = "linux")]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const CONFIG: &str = "/etc/carpd/config.xml";
/// No such device exists: the daemons stay INIT and send nothing.
const DEVICE: &str = "carpdtest0";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn show(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn run(cmd: &str, args: &[&str]) -> Output {
    Command::new(cmd)
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd}: {e}"))
}

fn ok(cmd: &str, args: &[&str]) -> String {
    let o = run(cmd, args);
    assert!(o.status.success(), "{cmd} {args:?}:\n{}", show(&o));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn installed_version() -> Option<String> {
    let o = run("dpkg-query", &["-W", "-f=${Status} ${Version}", "carpd"]);
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    text.strip_prefix("install ok installed ")
        .map(str::to_string)
}

/// Purges the package (which stops what it must), kills what the test started, on drop.
struct Guard {
    children: Vec<Child>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        let o = run("dpkg", &["--purge", "carpd"]);
        if !o.status.success() {
            eprintln!("cleanup: dpkg --purge carpd failed:\n{}", show(&o));
        }
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_dir_all(
            std::env::temp_dir().join(format!("carpd-deb-{}", std::process::id())),
        );
    }
}

/// Build the package (release build, once) and a second revision of it for the upgrade.
fn build() -> (PathBuf, PathBuf) {
    let build_deb = |extra: &[&str]| -> PathBuf {
        let o = Command::new(root().join("scripts/build-deb"))
            .args(extra)
            .stderr(Stdio::inherit())
            .output()
            .expect("run scripts/build-deb");
        assert!(
            o.status.success(),
            "scripts/build-deb {extra:?}:\n{}",
            show(&o)
        );
        let path = String::from_utf8_lossy(&o.stdout).trim().to_string();
        assert!(
            path.ends_with(".deb") && Path::new(&path).is_file(),
            "build-deb printed {path:?}"
        );
        PathBuf::from(path)
    };
    // cargo-deb clears older packages from its output directory: keep a copy of each.
    let keep = |deb: PathBuf| -> PathBuf {
        let dir = std::env::temp_dir().join(format!("carpd-deb-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let copy = dir.join(deb.file_name().unwrap());
        std::fs::copy(&deb, &copy).unwrap();
        copy
    };
    let first = keep(build_deb(&[]));
    let second = keep(build_deb(&["--deb-revision", "2"]));
    assert_ne!(first, second);
    (first, second)
}

fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    cond()
}

fn carpd_running() -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(exe) = std::fs::read_link(entry.path().join("exe"))
            && exe.to_string_lossy().starts_with("/usr/sbin/carpd")
        {
            found.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    found
}

#[test]
fn package_installs_checks_upgrades_removes_and_purges() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "this test installs a Debian package: run it as root (CI runs as root)"
    );
    if let Some(v) = installed_version() {
        panic!(
            "carpd {v} is already installed here; this test installs and purges the package: dpkg --purge carpd first"
        );
    }
    assert!(
        !Path::new("/etc/carpd").exists() && !Path::new("/var/lib/carpd").exists(),
        "/etc/carpd or /var/lib/carpd exists (a carpd configured here?): this test would purge them; move them away first"
    );
    let (deb1, deb2) = build();
    let mut guard = Guard {
        children: Vec::new(),
    };

    // Install.
    let d1 = deb1.to_str().unwrap();
    ok("dpkg", &["-i", d1]);
    assert_eq!(installed_version().as_deref(), Some("0.1.0-1"));
    for (path, mode) in [
        ("/usr/sbin/carpd", 0o755),
        ("/usr/share/carpd/hooks/defguard-gateway", 0o755),
        ("/usr/share/carpd/hooks/log-transition", 0o755),
        ("/usr/share/carpd/hooks/follow-vhid", 0o755),
        ("/etc/carpd/follow.d/follow-vhid.conf.sample", 0o644),
        ("/usr/share/carpd/hooks/TEMPLATE", 0o644),
        ("/etc/carpd/config.xml.example", 0o644),
        ("/etc/carpd/defguard-gateway.conf.sample", 0o644),
        ("/usr/lib/systemd/system/carpd.service", 0o644),
        ("/usr/share/man/man8/carpd.8.gz", 0o644),
        ("/usr/share/bash-completion/completions/carpd", 0o644),
        ("/usr/share/zsh/vendor-completions/_carpd", 0o644),
        ("/usr/share/fish/vendor_completions.d/carpd.fish", 0o644),
        ("/etc/carpd/hooks.d", 0o755),
        ("/var/lib/carpd", 0o755),
    ] {
        let meta = std::fs::metadata(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(meta.permissions().mode() & 0o777, mode, "{path}");
    }
    // The transition actions are where carpd looks for the Defguard action by default.
    assert_eq!(
        carpd::paths::default_defguard_action(),
        "/usr/share/carpd/hooks/defguard-gateway"
    );
    let conffiles = ok("dpkg-query", &["-W", "-f=${Conffiles}", "carpd"]);
    assert!(
        conffiles.contains("/etc/carpd/config.xml.example")
            && !conffiles.contains("/etc/carpd/config.xml "),
        "conffiles: {conffiles}"
    );
    let man = ok("sh", &["-c", "zcat /usr/share/man/man8/carpd.8.gz"]);
    assert!(man.contains("ucarp") && man.contains("init"), "{man:.300}");

    // Before carpd init: check says what is missing, at the Linux default path.
    let o = run("/usr/sbin/carpd", &["check"]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains(CONFIG),
        "{}",
        show(&o)
    );
    ok(
        "/usr/sbin/carpd",
        &["--config", "/etc/carpd/config.xml.example", "check"],
    );

    // carpd init writes the default config; carpd check accepts it.
    let pw = std::env::temp_dir().join(format!("carpd-deb-pw-{}", std::process::id()));
    std::fs::write(&pw, "package-test-key\n").unwrap();
    let init = ok(
        "/usr/sbin/carpd",
        &[
            "init",
            "--interface",
            DEVICE,
            "--vhid",
            "1",
            "--vip",
            "192.0.2.1/24",
            "--password-file",
            pw.to_str().unwrap(),
        ],
    );
    let _ = std::fs::remove_file(&pw);
    assert!(init.contains(&format!("wrote {CONFIG}")), "{init}");
    assert!(!init.contains("package-test-key"));
    let check = ok("/usr/sbin/carpd", &["check"]);
    assert!(check.contains("1 CARP group"), "{check}");
    let mode = std::fs::metadata(CONFIG).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    // Upgrade to the next revision: the node's config and an edited example are kept.
    let mut config = std::fs::read(CONFIG).unwrap();
    config.extend_from_slice(b"<!-- edited by the admin -->\n");
    std::fs::write(CONFIG, &config).unwrap();
    let mut example = std::fs::read("/etc/carpd/config.xml.example").unwrap();
    example.extend_from_slice(b"<!-- edited -->\n");
    std::fs::write("/etc/carpd/config.xml.example", &example).unwrap();
    ok("dpkg", &["-i", deb2.to_str().unwrap()]);
    assert_eq!(installed_version().as_deref(), Some("0.1.0-2"));
    assert_eq!(
        std::fs::read(CONFIG).unwrap(),
        config,
        "upgrade changed config.xml"
    );
    assert_eq!(
        std::fs::read("/etc/carpd/config.xml.example").unwrap(),
        example,
        "upgrade replaced an edited conffile"
    );
    ok("/usr/sbin/carpd", &["check"]);
    // Reinstalling the same revision keeps it too.
    ok("dpkg", &["-i", deb2.to_str().unwrap()]);
    assert_eq!(std::fs::read(CONFIG).unwrap(), config);

    // Daemons from the package's binary, as an admin (or ifupdown, as ucarp) starts them.
    let daemon = Command::new("/usr/sbin/carpd")
        .args(["run", "--foreground", "--engine", "userspace"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    guard.children.push(daemon);
    let link = std::env::temp_dir().join(format!("carpd-deb-{}/bin/ucarp", std::process::id()));
    std::fs::create_dir_all(link.parent().unwrap()).unwrap();
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink("/usr/sbin/carpd", &link).unwrap();
    let as_ucarp = Command::new(&link)
        .args([
            "-i",
            DEVICE,
            "-s",
            "192.0.2.2",
            "-v",
            "2",
            "-a",
            "192.0.2.3",
            "-p",
            "x",
            "-f",
            "none",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    guard.children.push(as_ucarp);
    assert!(
        wait_until(Duration::from_secs(10), || {
            Path::new("/var/run/carpd/carpd.sock").exists()
                && Path::new(&format!("/var/run/carpd/ucarp-2@{DEVICE}/carpd.sock")).exists()
        }),
        "the daemons did not open their control sockets"
    );
    let status = ok("/usr/sbin/carpd", &["status", "--json"]);
    assert!(status.contains("\"status\""), "{status}");
    assert_eq!(carpd_running().len(), 2, "{:?}", carpd_running());

    // Remove: no daemon may survive its binary; the config stays for a reinstall.
    ok("dpkg", &["-r", "carpd"]);
    assert!(!Path::new("/usr/sbin/carpd").exists());
    for c in &mut guard.children {
        let exited = wait_until(Duration::from_secs(5), || {
            c.try_wait().ok().flatten().is_some()
        });
        assert!(exited, "a carpd daemon is still running after dpkg -r");
    }
    assert!(carpd_running().is_empty(), "{:?}", carpd_running());
    assert_eq!(
        std::fs::read(CONFIG).unwrap(),
        config,
        "remove touched config.xml"
    );
    let _ = std::fs::remove_dir_all(link.parent().unwrap());

    // Purge: nothing of the package or of carpd is left.
    ok("dpkg", &["--purge", "carpd"]);
    assert_eq!(installed_version(), None);
    for gone in [
        "/etc/carpd",
        "/var/lib/carpd",
        "/run/carpd",
        "/usr/lib/systemd/system/carpd.service",
        "/etc/systemd/system/multi-user.target.wants/carpd.service",
        "/etc/systemd/system/carpd.service",
        "/var/lib/systemd/deb-systemd-helper-enabled/carpd.service.dsh-also",
        "/var/lib/systemd/deb-systemd-helper-masked/carpd.service",
    ] {
        assert!(
            std::fs::symlink_metadata(gone).is_err(),
            "{gone} is left after purge"
        );
    }
}
