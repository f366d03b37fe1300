//! `carpd init` as a user runs it: from flags (several VHIDs, password from a file or stdin),
//! from the OPNsense and pfSense fixtures with `--map`, and every way it must refuse (bad
//! maps, missing files, an existing config, settings `carpd check` would reject) without
//! writing anything. Passwords never appear in what it prints. No root needed.

mod common;

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::tempdir::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_carpd");

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/config")
        .join(name)
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\nstdout:\n{}\nstderr:\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

fn done(o: Output) -> Run {
    Run {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// `carpd --config <config> init <args>`.
fn init(config: &Path, args: &[&str]) -> Run {
    init_stdin(config, args, None)
}

fn init_stdin(config: &Path, args: &[&str], stdin: Option<&str>) -> Run {
    let mut child = Command::new(BIN)
        .arg("--config")
        .arg(config)
        .arg("init")
        .args(args)
        .env_remove("CARPD_CONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        // carpd may refuse (an existing config, a bad flag) and exit before it reads stdin.
        if let Err(e) = pipe.write_all(text.as_bytes()) {
            assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
        }
    }
    drop(pipe);
    done(child.wait_with_output().unwrap())
}

fn carpd(config: &Path, args: &[&str]) -> Run {
    done(
        Command::new(BIN)
            .arg("--config")
            .arg(config)
            .args(args)
            .output()
            .unwrap(),
    )
}

fn model(config: &Path) -> carpd::config::Model {
    carpd::config::load(config)
        .unwrap_or_else(|e| panic!("{} does not load: {e:?}", config.display()))
        .model
}

fn password_file(dir: &TempDir, name: &str, text: &str) -> String {
    let p = dir.path().join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

#[test]
fn from_flags_writes_a_checked_config_with_several_vhids() {
    let dir = TempDir::new("init-flags");
    let config = dir.path().join("etc/carpd/config.xml");
    let pw = password_file(&dir, "pw", "Top-Secret-1\nignored second line\n");
    let r = init(
        &config,
        &[
            "--password-file",
            &pw,
            "--advskew",
            "100",
            "--interface",
            "eth0",
            "--vhid",
            "1",
            "--vip",
            "192.0.2.1/24",
            "--vip",
            "2001:db8::1/64",
            "--vhid",
            "2",
            "--vip",
            "192.0.2.2/24",
            "--advskew",
            "50",
            "--advbase",
            "2",
            "--interface",
            "eth1",
            "--vhid",
            "3",
            "--vip",
            "198.51.100.1/24",
            "--peer",
            "198.51.100.3",
            "--no-preempt",
        ],
    );
    assert_eq!(r.code, 0, "{r:?}");
    assert!(!r.all().contains("Top-Secret"), "password printed: {r:?}");
    assert!(r.stdout.contains("3 VHIDs, 4 addresses"), "{r:?}");
    let mode = std::fs::metadata(&config).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    let check = carpd(&config, &["check"]);
    assert_eq!(check.code, 0, "{check:?}");
    let m = model(&config);
    let key = carpd::config::key::derive_key("Top-Secret-1").key;
    let summary: Vec<_> = m
        .groups
        .iter()
        .map(|g| {
            (
                g.device.as_str(),
                g.vhid,
                g.advbase,
                g.advskew,
                g.addresses
                    .iter()
                    .map(|a| a.prefix.to_string())
                    .collect::<Vec<_>>(),
                g.peer.map(|p| p.to_string()),
                g.key == key,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                "eth0",
                1,
                1,
                100,
                vec!["192.0.2.1/24".to_string(), "2001:db8::1/64".to_string()],
                None,
                true
            ),
            (
                "eth0",
                2,
                2,
                50,
                vec!["192.0.2.2/24".to_string()],
                None,
                true
            ),
            (
                "eth1",
                3,
                1,
                100,
                vec!["198.51.100.1/24".to_string()],
                Some("198.51.100.3".to_string()),
                true
            ),
        ]
    );
    assert!(m.ha.disable_preempt);
    // `carpd show` never shows the key either.
    let show = carpd(&config, &["show", "--json"]);
    assert!(!show.all().contains("Top-Secret"));
}

#[test]
fn password_from_stdin_and_an_existing_config_is_kept_without_force() {
    let dir = TempDir::new("init-stdin");
    let config = dir.path().join("config.xml");
    let args = [
        "--interface",
        "eth0",
        "--vhid",
        "7",
        "--vip",
        "10.1.1.1/24",
        "--password-file",
        "-",
    ];
    let r = init_stdin(&config, &args, Some("from-stdin\n"));
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        model(&config).groups[0].key,
        carpd::config::key::derive_key("from-stdin").key
    );
    let before = std::fs::read(&config).unwrap();

    let r = init_stdin(&config, &args, Some("other\n"));
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains("exists") && r.stderr.contains("--force"),
        "{r:?}"
    );
    assert_eq!(std::fs::read(&config).unwrap(), before, "file touched");

    let r = init_stdin(
        &config,
        &[&["--force"][..], &args].concat(),
        Some("other\n"),
    );
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        model(&config).groups[0].key,
        carpd::config::key::derive_key("other").key
    );
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "temporary files left: {names:?}");
}

#[test]
fn bad_flags_are_refused_and_nothing_is_written() {
    let dir = TempDir::new("init-bad");
    let config = dir.path().join("config.xml");
    let pw = password_file(&dir, "pw", "secret-pw\n");
    let empty = password_file(&dir, "empty", "\n");
    let missing = dir.path().join("missing").display().to_string();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--password-file", &pw, "--vip", "10.0.0.1/24"],
            "--vip 10.0.0.1/24 comes before any --vhid",
        ),
        (
            vec![
                "--vhid",
                "1",
                "--vip",
                "10.0.0.1/24",
                "--password-file",
                &pw,
            ],
            "comes before any --interface",
        ),
        (
            vec!["--interface", "eth0", "--vhid", "1", "--vip", "10.0.0.1/24"],
            "has no password",
        ),
        (
            vec![
                "--interface",
                "eth0",
                "--vhid",
                "1",
                "--vip",
                "10.0.0.1/24",
                "--password-file",
                &pw,
                "--vhid",
                "2",
                "--vip",
                "10.0.0.2/24",
            ],
            "vhid 2 on eth0 has no password",
        ),
        (
            vec!["--interface", "eth0", "--vhid", "1", "--password-file", &pw],
            "has no --vip",
        ),
        (
            vec![
                "--password-file",
                &missing,
                "--interface",
                "eth0",
                "--vhid",
                "1",
                "--vip",
                "10.0.0.1/24",
            ],
            "cannot read password file",
        ),
        (
            vec![
                "--password-file",
                &empty,
                "--interface",
                "eth0",
                "--vhid",
                "1",
                "--vip",
                "10.0.0.1/24",
            ],
            "the first line is empty",
        ),
        (
            vec![
                "--password-file",
                &pw,
                "--interface",
                "eth0",
                "--vhid",
                "1",
                "--vip",
                "10.0.0.1/24",
                "--peer6",
                "2001:db8::3",
            ],
            "--peer6 is an IPv6 peer",
        ),
        (
            vec![
                "--password-file",
                &pw,
                "--interface",
                "eth0",
                "--vhid",
                "1",
                "--vip",
                "10.0.0.1/24",
                "--vhid",
                "1",
                "--vip",
                "10.0.0.2/24",
            ],
            "vhid 1 on eth0 is given twice",
        ),
        (
            // The loader's own rule, named by VHID and address.
            vec![
                "--password-file",
                &pw,
                "--interface",
                "eth0",
                "--vhid",
                "1",
                "--vip",
                "10.0.0.0/24",
            ],
            "vhid 1 on eth0 (10.0.0.0/24): 10.0.0.0 is the network address",
        ),
        (
            vec![
                "--password-file",
                &pw,
                "--interface",
                "lo",
                "--vhid",
                "1",
                "--vip",
                "10.0.0.1/24",
            ],
            "CARP cannot run on lo",
        ),
        (
            vec![
                "--password-file",
                &pw,
                "--interface",
                "eth0/1",
                "--vhid",
                "1",
                "--vip",
                "10.0.0.1/24",
            ],
            "not a device name",
        ),
        (vec![], "nothing to write"),
    ];
    for (args, needle) in cases {
        let r = init(&config, &args);
        assert_eq!(r.code, 1, "{args:?}: {r:?}");
        assert!(
            r.stderr.contains(needle),
            "{args:?}: want {needle:?}: {r:?}"
        );
        assert!(!r.all().contains("secret-pw"), "{r:?}");
        assert!(!config.exists(), "{args:?} wrote {}", config.display());
    }
    // Values clap checks itself.
    for args in [
        &["--interface", "eth0", "--vhid", "0"][..],
        &["--interface", "eth0", "--vhid", "1", "--vip", "10.0.0.1"],
        &["--interface", "eth0", "--vhid", "1", "--advskew", "255"],
        &["--map", "wan=eth0"],
    ] {
        let r = init(&config, args);
        assert_eq!(r.code, 2, "{args:?}: {r:?}");
    }
    assert!(!config.exists());
}

/// VHIDs and keys of the groups on `device`, as carpd reads them from `config`.
fn keys(config: &Path) -> Vec<(String, u8, carpd::config::CarpKey, Vec<String>)> {
    model(config)
        .groups
        .iter()
        .map(|g| {
            (
                g.device.clone(),
                g.vhid,
                g.key.clone(),
                g.addresses.iter().map(|a| a.prefix.to_string()).collect(),
            )
        })
        .collect()
}

#[test]
fn from_an_opnsense_backup_the_mapped_vips_keep_vhid_key_and_aliases() {
    let dir = TempDir::new("init-opn");
    let config = dir.path().join("config.xml");
    let backup = fixture("opnsense-current.xml");
    let r = init(
        &config,
        &[
            "--from",
            backup.to_str().unwrap(),
            "--map",
            "wan=eth0",
            "--advskew",
            "100",
        ],
    );
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        !r.all().contains("wan key with spaces") && !r.all().contains("lan-v6-key"),
        "password printed: {r:?}"
    );
    // The VIP on lan is listed and skipped.
    assert!(
        r.stdout.contains(
            "skipped, on interfaces not mapped:\n  carp 2001:db8:1::1/64 on lan (vhid 2)"
        ),
        "{r:?}"
    );
    // Unicast in the backup: this node's peer is the firewall itself.
    assert!(
        r.stdout
            .contains("advertises to the firewall's own 192.0.2.2"),
        "{r:?}"
    );
    assert_eq!(carpd(&config, &["check"]).code, 0);

    let firewall: Vec<_> = keys(&backup)
        .into_iter()
        .filter(|k| k.0 == "vtnet0")
        .map(|(_, vhid, key, addrs)| ("eth0".to_string(), vhid, key, addrs))
        .collect();
    assert_eq!(keys(&config), firewall);
    let m = model(&config);
    assert_eq!(m.groups[0].advskew, 100);
    assert_eq!(m.groups[0].peer, Some("192.0.2.2".parse().unwrap()));
    assert_eq!(
        m.groups[0].interface_name, "Internet",
        "the firewall's name"
    );
    // The firewall's uuids are kept (services name VIPs by them).
    let fw = model(&backup);
    assert_eq!(m.groups[0].source_uuid, fw.groups[0].source_uuid);
    assert!(!m.maintenance && m.ha.pfsync.device.is_none());
}

#[test]
fn from_a_pfsense_backup_both_interfaces_with_the_uniqid_alias() {
    let dir = TempDir::new("init-pf");
    let config = dir.path().join("config.xml");
    let backup = fixture("pfsense.xml");
    let r = init(
        &config,
        &[
            "--from",
            backup.to_str().unwrap(),
            "--map",
            "wan=eth0",
            "--map",
            "lan=eth1",
        ],
    );
    assert_eq!(r.code, 0, "{r:?}");
    assert!(!r.all().contains("pfsense-key") && !r.all().contains("pfsense-lan-key"));
    assert!(r.stdout.contains("give --advskew"), "{r:?}");
    assert!(!r.stdout.contains("skipped"), "{r:?}");
    let rename = |d: &str| match d {
        "igb0" => "eth0".to_string(),
        "igb1" => "eth1".to_string(),
        other => other.to_string(),
    };
    let firewall: Vec<_> = keys(&backup)
        .into_iter()
        .map(|(d, vhid, key, addrs)| (rename(&d), vhid, key, addrs))
        .collect();
    assert_eq!(keys(&config), firewall);
    assert_eq!(
        keys(&config)[0].3,
        ["192.0.2.1/24", "192.0.2.20/24"],
        "the _vip<uniqid> alias follows vhid 10"
    );
    // The firewall is in maintenance mode; this node is not.
    assert!(model(&backup).maintenance && !model(&config).maintenance);
}

#[test]
fn bad_maps_and_missing_or_broken_backups_are_clear_errors() {
    let dir = TempDir::new("init-maps");
    let config = dir.path().join("config.xml");
    let opn = fixture("opnsense-current.xml");
    let opn = opn.to_str().unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--from", opn, "--map", "dmz=eth0"],
            "the backup has no interface \"dmz\" (it has: wan, lan, opt1, lo0)",
        ),
        (
            vec!["--from", opn, "--map", "wan=eth0", "--map", "wan=eth1"],
            "--map wan=… is given twice",
        ),
        (
            vec!["--from", opn, "--map", "wan=eth0", "--map", "lan=eth0"],
            "device eth0 is given for both wan and lan",
        ),
        (
            vec!["--from", opn, "--map", "opt1=eth2"],
            "no CARP VIP on opt1",
        ),
        (vec!["--from", opn], "--from needs at least one --map"),
        (
            vec!["--from", "/nonexistent/config.xml", "--map", "wan=eth0"],
            "cannot read /nonexistent/config.xml",
        ),
        (
            // lan's IPv6 VIP is unicast (peer6), and lan has a fixed IPv6 address: fine; the
            // loopback mapping is refused by check's own rule.
            vec!["--from", opn, "--map", "wan=lo"],
            "CARP cannot run on lo",
        ),
    ];
    for (args, needle) in cases {
        let r = init(&config, &args);
        assert_eq!(r.code, 1, "{args:?}: {r:?}");
        assert!(
            r.stderr.contains(needle),
            "{args:?}: want {needle:?}: {r:?}"
        );
        assert!(!r.all().contains("wan key with spaces"));
        assert!(!config.exists());
    }
    // A device name the kernel would refuse never reaches the backup.
    let r = init(&config, &["--from", opn, "--map", "wan=eth 0"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("not a device name"), "{r:?}");
    let r = init(&config, &["--from", opn, "--map", "wan"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("KEY=DEVICE"), "{r:?}");

    // Errors in the mapped part are shown with their place in the backup; those of other
    // interfaces do not matter.
    let broken = dir.path().join("broken.xml");
    let text = std::fs::read_to_string(fixture("pfsense.xml"))
        .unwrap()
        .replace("<vhid>11</vhid>", "<vhid>300</vhid>");
    std::fs::write(&broken, text).unwrap();
    let b = broken.to_str().unwrap();
    let r = init(&config, &["--from", b, "--map", "lan=eth1"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains("vhid 300 is out of range") && r.stderr.contains("(line "),
        "{r:?}"
    );
    assert!(!config.exists());
    let r = init(&config, &["--from", b, "--map", "wan=eth0"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.contains("carp 198.51.100.1/24 on lan (vhid 300)"),
        "{r:?}"
    );

    // A config exists: --from does not replace it either.
    let r = init(&config, &["--from", b, "--map", "wan=eth0"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("never replaces"), "{r:?}");
}
