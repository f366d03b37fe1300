//! `carpd check` and `carpd show` as a user runs them: exit codes, summaries, JSON, and that no
//! password ever reaches the output.

use std::path::PathBuf;
use std::process::{Command, Output};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/config")
        .join(name)
}

fn carpd(config: &PathBuf, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_carpd"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("CARPD_CONFIG")
        .output()
        .expect("run carpd")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn check_usable_config_exits_zero_with_summary() {
    let path = fixture("opnsense-current.xml");
    let o = carpd(&path, &["check"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    let last = out.lines().last().unwrap();
    assert_eq!(
        last,
        format!(
            "{}: 2 CARP groups, 4 addresses, 0 warnings, 2 notes",
            path.display()
        )
    );
}

#[test]
fn check_reports_warnings_and_still_exits_zero() {
    let o = carpd(&fixture("warn/password-empty.xml"), &["check"]);
    assert_eq!(o.status.code(), Some(0));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("warning: virtualip/vip[uuid="), "{out}");
    assert!(
        out.trim_end()
            .ends_with("1 CARP group, 1 address, 1 warning"),
        "{out}"
    );
}

#[test]
fn check_invalid_config_exits_one_and_lists_every_error() {
    let o = carpd(&fixture("invalid/everything-at-once.xml"), &["check"]);
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        out.lines().filter(|l| l.starts_with("error: ")).count(),
        6,
        "{out}"
    );
    assert!(
        out.contains("(line 28): vhid 0 is out of range 1..255"),
        "{out}"
    );
    assert!(out.contains("6 errors"), "{out}");
}

#[test]
fn check_json_is_machine_readable() {
    let o = carpd(&fixture("invalid/vhid-range.xml"), &["check", "--json"]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(v["usable"], false);
    let e = &v["errors"][0];
    assert_eq!(e["severity"], "error");
    assert_eq!(e["line"], 28);
    assert!(e["place"].as_str().unwrap().ends_with("/vhid"));

    let o = carpd(&fixture("pfsense.xml"), &["check", "--json"]);
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(v["usable"], true);
    assert_eq!(v["groups"], 2);
    assert_eq!(v["addresses"], 3);
}

#[test]
fn check_malformed_and_missing_files() {
    let dir = std::env::temp_dir().join(format!("carpd-config-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.xml");
    std::fs::write(&bad, "<opnsense>\n<virtualip>\n<vip></virtualip>\n").unwrap();
    let o = carpd(&bad, &["check"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("(line 3)"), "{}", text(&o));
    assert!(text(&o).contains("malformed XML"), "{}", text(&o));

    let o = carpd(&dir.join("missing.xml"), &["check"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("cannot read"), "{}", text(&o));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn show_prints_the_model_as_applied() {
    let o = carpd(&fixture("opnsense-current.xml"), &["show"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains(
            "1@vtnet0 (Internet) advbase 1 advskew 0 key: set (16 bytes) peer 192.0.2.3 peer6 multicast"
        ),
        "{out}"
    );
    assert!(
        out.contains(
            "2@vlan0.100 (LAN) advbase 2 advskew 10 key: set (10 bytes) peer6 2001:db8:1::3"
        ),
        "{out}"
    );
    assert!(out.contains("192.0.2.10/24"), "{out}");
    assert!(
        out.contains("maintenance: on  preempt: off  pfsync: vtnet2 peer 203.0.113.2 version 1400"),
        "{out}"
    );

    let o = carpd(&fixture("opnsense-current.xml"), &["show", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(v["groups"][0]["vhid"], 1);
    assert_eq!(v["groups"][0]["key"]["set"], true);
    assert_eq!(v["groups"][0]["key"]["length"], 16);
    assert_eq!(v["maintenance"], true);

    let o = carpd(&fixture("invalid/duplicate-vhid.xml"), &["show"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty());
}

#[test]
fn no_password_appears_in_any_output() {
    let cases: &[(&str, &[&str])] = &[
        (
            "opnsense-current.xml",
            &[
                "wan key with spaces",
                "wankeywithspaces",
                "lan-v6-key",
                "hasync-secret-password",
            ],
        ),
        ("opnsense-legacy.xml", &["legacy\"key", "legacy-lan"]),
        ("pfsense.xml", &["pfsense-key", "pfsense-lan-key"]),
        ("warn/password-long.xml", &["abcdefghijklmnopqrs"]),
        ("invalid/everything-at-once.xml", &["fixture-key"]),
    ];
    for (file, secrets) in cases {
        for args in [
            &["check"][..],
            &["check", "--json"],
            &["show"],
            &["show", "--json"],
        ] {
            let o = carpd(&fixture(file), args);
            let all = text(&o);
            for secret in *secrets {
                assert!(
                    !all.contains(secret),
                    "{file} {args:?} leaked a password:\n{all}"
                );
            }
        }
    }
}

#[test]
fn check_names_every_bad_check_and_setting_with_its_line() {
    // A command that does not exist, an absurd interval, a weight on a fault check, …: each
    // a located error from `carpd check`, and nothing is half-applied (exit 1, no model).
    let o = carpd(&fixture("invalid/checks.xml"), &["check"]);
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    let out = String::from_utf8_lossy(&o.stdout);
    for needle in [
        "ready_command: /nonexistent/carpd-ready does not exist",
        "startup_delay 4000 is out of range 0..3600",
        "/nonexistent/carpd-check does not exist",
        "carpd-no-such-command-z9",
        "interval 0 is out of range",
        "check type \"ping\" is not known",
    ] {
        assert!(
            out.lines()
                .any(|l| l.starts_with("error: ") && l.contains("(line ") && l.contains(needle)),
            "no located error with {needle:?}:\n{out}"
        );
    }
    assert!(!String::from_utf8_lossy(&o.stderr).contains("panicked"));
}
