//! Snapshot tests of the status renderers: OPNsense's get_vip_status JSON and the table.

use std::collections::BTreeMap;

use carpd::status::render::{DEMOTED_MSG, NO_CARP_MSG, prometheus, table};
use carpd::status::{
    AddressStatus, GlobalStatus, HookResult, StatusReport, TransitionInfo, VhidStatus,
};
use serde_json::json;

const NOW: f64 = 1_700_000_000.0;

fn addr(a: &str, prefix: u8, mode: &str) -> AddressStatus {
    AddressStatus {
        address: a.into(),
        prefix,
        mode: mode.into(),
    }
}

/// Two devices; WAN has a dual-stack VHID with an alias; OPT2's VHID is configured but absent.
/// The get_vip_status JSON as the CLI prints it, read back.
fn opnsense_json(report: &StatusReport) -> serde_json::Value {
    serde_json::to_value(carpd::status::render::opnsense_json(report)).unwrap()
}

fn report() -> StatusReport {
    StatusReport {
        engine: "userspace".into(),
        vhids: vec![
            VhidStatus {
                interface: "WAN".into(),
                device: "vtnet0".into(),
                vhid: 1,
                advbase: 1,
                advskew: 0,
                state: "MASTER".into(),
                addresses: vec![
                    addr("2001:db8::1", 64, "carp"),
                    addr("192.0.2.1", 24, "carp"),
                    addr("192.0.2.10", 24, "ipalias"),
                ],
                master_source: None,
                master_seen_ago: None,
                last_transition: Some(TransitionInfo {
                    from: "BACKUP".into(),
                    to: "MASTER".into(),
                    reason: "master timed out".into(),
                    at: NOW - 192.0,
                }),
                transitions: Some(4),
                history: vec![TransitionInfo {
                    from: "BACKUP".into(),
                    to: "MASTER".into(),
                    reason: "master timed out".into(),
                    at: NOW - 192.0,
                }],
                adverts_sent: 190,
                adverts_received: 3,
                drops: BTreeMap::from([("badauth".to_string(), 2)]),
                hooks: vec![HookResult {
                    hook: "20-openvpn".into(),
                    state: "MASTER".into(),
                    exit_code: Some(1),
                    timed_out: false,
                    duration_ms: 35,
                    at: NOW - 190.0,
                }],
                peer: None,
                peer6: None,
                ..Default::default()
            },
            VhidStatus {
                interface: "".into(),
                device: "vtnet1".into(),
                vhid: 2,
                advbase: 1,
                advskew: 100,
                state: "BACKUP".into(),
                addresses: vec![addr("198.51.100.1", 24, "carp")],
                master_source: Some("198.51.100.2".into()),
                master_seen_ago: Some(0.4),
                last_transition: Some(TransitionInfo {
                    from: "INIT".into(),
                    to: "BACKUP".into(),
                    reason: "".into(),
                    at: NOW - 3725.0,
                }),
                transitions: Some(1),
                history: Vec::new(),
                adverts_sent: 0,
                adverts_received: 3725,
                drops: BTreeMap::new(),
                hooks: vec![],
                peer: Some("198.51.100.2".into()),
                peer6: None,
                ..Default::default()
            },
            VhidStatus {
                interface: "OPT2".into(),
                device: "vtnet2".into(),
                vhid: 3,
                advbase: 2,
                advskew: 50,
                state: "DISABLED".into(),
                addresses: vec![addr("203.0.113.1", 24, "carp")],
                ..Default::default()
            },
        ],
        carp: GlobalStatus {
            demotion_expires: Default::default(),
            demotion: 240,
            demotions: BTreeMap::from([("maintenance".to_string(), 240)]),
            allow: true,
            maintenance: true,
            preempt: true,
            drops: BTreeMap::from([("badvhid".to_string(), 3)]),
            waiting: Vec::new(),
            checks: Vec::new(),
        },
    }
}

#[test]
fn opnsense_json_shape() {
    let got = opnsense_json(&report());
    let expected = json!({
        "total": 5, "rowCount": 5, "current": 1,
        "rows": [
            {"interface":"WAN","vhid":"1","advbase":"1","advskew":"0","subnet":"192.0.2.1",
             "status":"MASTER","mode":"carp","status_txt":"MASTER","vhid_txt":"1 (freq. 1/0)",
             "carpd": {"device":"vtnet0","prefix":24,
                 "last_transition":{"from":"BACKUP","to":"MASTER","reason":"master timed out","at":NOW-192.0},
                 "transitions":4,
                 "history":[{"from":"BACKUP","to":"MASTER","reason":"master timed out","at":NOW-192.0}],
                 "master_source":null,"master_seen_ago":null,"adverts_sent":190,"adverts_received":3,
                 "drops":{"badauth":2},
                 "hooks":[{"hook":"20-openvpn","state":"MASTER","exit_code":1,"timed_out":false,"duration_ms":35,"at":NOW-190.0}],
                 "peer":null,"peer6":null,"protocol":"carp"}},
            {"interface":"WAN","vhid":"1","advbase":"1","advskew":"0","subnet":"192.0.2.10",
             "status":"MASTER","mode":"ipalias","status_txt":"MASTER","vhid_txt":"1"},
            {"interface":"WAN","vhid":"1","advbase":"1","advskew":"0","subnet":"2001:db8::1",
             "status":"MASTER","mode":"carp","status_txt":"MASTER","vhid_txt":"1 (freq. 1/0)"},
            {"interface":null,"vhid":"2","advbase":"1","advskew":"100","subnet":"198.51.100.1",
             "status":"BACKUP","mode":"carp","status_txt":"BACKUP","vhid_txt":"2 (freq. 1/100)"},
            {"interface":"OPT2","vhid":"3","advbase":"2","advskew":"50","subnet":"203.0.113.1",
             "status":"DISABLED","mode":"carp","status_txt":"DISABLED","vhid_txt":"3 (freq. 2/50)"}
        ],
        "carp": {"demotion":"240","allow":"1","maintenancemode":true,"status_msg":""},
        "carpd": {"engine":"userspace","demotions":{"maintenance":240},"preempt":true,"drops":{"badvhid":3}}
    });
    // Compare everything but the per-row extras first (those are checked on row 0 only).
    let strip = |v: &serde_json::Value| {
        let mut v = v.clone();
        for (i, row) in v["rows"].as_array_mut().unwrap().iter_mut().enumerate() {
            if i > 0 {
                row.as_object_mut().unwrap().remove("carpd");
            }
        }
        v
    };
    assert_eq!(strip(&got), expected);

    // OPNsense's fields are strings (interface may be null), whatever the input types were.
    for row in got["rows"].as_array().unwrap() {
        for key in [
            "vhid",
            "advbase",
            "advskew",
            "subnet",
            "status",
            "mode",
            "status_txt",
            "vhid_txt",
        ] {
            assert!(row[key].is_string(), "{key} is not a string in {row}");
        }
        assert!(row["interface"].is_string() || row["interface"].is_null());
    }
    assert!(got["carp"]["demotion"].is_string());
    assert!(got["carp"]["allow"].is_string());
    assert!(got["carp"]["maintenancemode"].is_boolean());
}

#[test]
fn opnsense_status_msg() {
    let mut r = report();
    // Demoted outside maintenance: OPNsense's warning.
    r.carp.maintenance = false;
    r.carp.demotions = BTreeMap::from([("service:openvpn".to_string(), 240)]);
    assert_eq!(opnsense_json(&r)["carp"]["status_msg"], DEMOTED_MSG);
    // Negative demotion is also "not empty" to OPNsense.
    r.carp.demotion = -10;
    assert_eq!(opnsense_json(&r)["carp"]["status_msg"], DEMOTED_MSG);
    r.carp.demotion = 0;
    assert_eq!(opnsense_json(&r)["carp"]["status_msg"], "");
    r.carp.allow = false;
    assert_eq!(opnsense_json(&r)["carp"]["allow"], "0");

    let empty = StatusReport {
        engine: "native".into(),
        vhids: vec![],
        carp: GlobalStatus {
            allow: true,
            preempt: true,
            ..Default::default()
        },
    };
    let j = opnsense_json(&empty);
    assert_eq!(
        j,
        json!({"total":0,"rowCount":0,"current":1,"rows":[],
            "carp":{"demotion":"0","allow":"1","maintenancemode":false,"status_msg":NO_CARP_MSG},
            "carpd":{"engine":"native","demotions":{},"preempt":true,"drops":{}}})
    );
}

#[test]
fn table_snapshot() {
    let got = table(&report(), NOW);
    let expected = "\
VHID  INTERFACE      STATE     TIMING  ADDRESSES                                            MASTER SEEN             LAST TRANSITION
1     WAN (vtnet0)   MASTER    1/0     2001:db8::1/64, 192.0.2.1/24, 192.0.2.10/24 (alias)  self                    3m12s ago: BACKUP -> MASTER (master timed out)
2     vtnet1         BACKUP    1/100   198.51.100.1/24                                      198.51.100.2, 0.4s ago  1h02m ago: INIT -> BACKUP
3     OPT2 (vtnet2)  DISABLED  2/50    203.0.113.1/24                                       -                       -

demotion 240 = maintenance 240
allow 1  maintenance on  preempt on  engine userspace
dropped before matching a VHID: badvhid 3
hook 20-openvpn failed for 1@vtnet0 MASTER (exit 1) 3m10s ago
hint: demoted by 240 but still MASTER of 1@vtnet0: no better peer seen, so the demotion will not move the VIP; a VIP moves only to a backup with preempt on and a lower advskew + demotion
hint: mixed roles: MASTER of 1@vtnet0, BACKUP of 2@vtnet1; if every VIP should follow one node, give all VHIDs the same advskew on each node and check the LAST TRANSITION reasons
hint: VHID 1@vtnet0: 2 advert(s) failed authentication: another node uses this VHID with a different password or address set (a peer misconfigured, or another cluster on this segment)
hint: VHID 3@vtnet2 is configured but not running (no engine runs it)
";
    assert_eq!(got, expected, "\n{got}");
}

#[test]
fn table_breakdown_and_hints() {
    let mut r = report();
    r.carp.maintenance = false;
    r.carp.allow = false;
    r.carp.preempt = false;
    r.carp.demotion = 300;
    r.carp.demotions = BTreeMap::from([
        ("service:openvpn".to_string(), 50),
        ("kernel".to_string(), -10),
    ]);
    let t = table(&r, NOW);
    assert!(
        t.contains("demotion 300 = kernel -10 + service:openvpn 50 + unaccounted 260\n"),
        "{t}"
    );
    assert!(t.contains("allow 0  maintenance off  preempt off"), "{t}");
    assert!(t.contains("hint: CARP is disabled on this node"), "{t}");
    assert!(t.contains("hint: demoted without maintenance mode"), "{t}");
    assert!(t.contains("hint: preempt is off"), "{t}");

    // One role on every live VHID, no authentication failures: neither hint.
    r.vhids[1].state = "MASTER".into();
    r.vhids[0].drops.clear();
    let t = table(&r, NOW);
    assert!(!t.contains("mixed roles"), "{t}");
    assert!(!t.contains("failed authentication"), "{t}");

    let empty = table(&StatusReport::default(), NOW);
    assert!(empty.starts_with("no CARP VHIDs configured\n"), "{empty}");
    assert!(empty.contains("\ndemotion 0\n"), "{empty}");
}

/// Parse Prometheus text with the reference implementation's parser (Debian's
/// python3-prometheus-client, installed by scripts/install-deps): one `[name, labels, value]`
/// per sample.
fn reference_parse(text: &str) -> Vec<(String, BTreeMap<String, String>, f64)> {
    use std::io::Write;
    const SCRIPT: &str = "import json, sys\n\
from prometheus_client.parser import text_string_to_metric_families as parse\n\
print(json.dumps([[s.name, s.labels, s.value] for f in parse(sys.stdin.read()) for s in f.samples]))\n";
    let mut child = std::process::Command::new("/usr/bin/python3")
        .args(["-c", SCRIPT])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("/usr/bin/python3: run scripts/install-deps");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the reference parser refused the text (or python3-prometheus-client is missing: run scripts/install-deps): {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn prometheus_text_parses_and_says_what_status_says() {
    let mut r = report();
    // Label values are escaped: quote, backslash, newline.
    r.vhids[0].interface = "WAN \"main\"\\1\n".into();
    let text = prometheus(&r);
    assert!(
        text.contains(
            "carpd_vhid_state{device=\"vtnet0\",vhid=\"1\",interface=\"WAN \\\"main\\\"\\\\1\\n\",state=\"MASTER\"} 1\n"
        ),
        "{text}"
    );
    let samples = reference_parse(&text);
    let find = |name: &str, want: &[(&str, &str)]| -> Vec<f64> {
        samples
            .iter()
            .filter(|(n, l, _)| {
                n == name
                    && want
                        .iter()
                        .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|(_, _, v)| *v)
            .collect()
    };
    // One state series per state name, exactly one of them 1, per VHID.
    for (vhid, state) in [("1", "MASTER"), ("2", "BACKUP"), ("3", "DISABLED")] {
        let all = find("carpd_vhid_state", &[("vhid", vhid)]);
        assert_eq!(all.len(), 4, "vhid {vhid}");
        assert_eq!(all.iter().sum::<f64>(), 1.0, "vhid {vhid}");
        assert_eq!(
            find("carpd_vhid_state", &[("vhid", vhid), ("state", state)]),
            [1.0]
        );
    }
    let wan = samples
        .iter()
        .find(|(n, l, _)| n == "carpd_vhid_advskew" && l["vhid"] == "1")
        .unwrap();
    assert_eq!(
        wan.1["interface"], "WAN \"main\"\\1\n",
        "escaping round-trips"
    );
    assert_eq!(find("carpd_demotion", &[]), [240.0]);
    assert_eq!(
        find("carpd_demotion_contribution", &[("name", "maintenance")]),
        [240.0]
    );
    assert_eq!(find("carpd_maintenance", &[]), [1.0]);
    assert_eq!(
        find(
            "carpd_vhid_drops_total",
            &[("vhid", "1"), ("reason", "badauth")]
        ),
        [2.0]
    );
    assert_eq!(
        find("carpd_unmatched_drops_total", &[("reason", "badvhid")]),
        [3.0]
    );
    assert_eq!(
        find("carpd_vhid_adverts_received_total", &[("vhid", "2")]),
        [3725.0]
    );
    assert_eq!(
        find("carpd_vhid_master_seen_seconds_ago", &[("vhid", "2")]),
        [0.4]
    );
    assert_eq!(
        find(
            "carpd_vhid_last_transition_timestamp_seconds",
            &[("vhid", "1")]
        ),
        [NOW - 192.0]
    );
    // Absent facts are absent series, not zeros: VHID 3 never changed state.
    assert!(
        find(
            "carpd_vhid_last_transition_timestamp_seconds",
            &[("vhid", "3")]
        )
        .is_empty()
    );
    assert_eq!(
        find("carpd_vhid_transitions_total", &[("vhid", "1")]),
        [4.0]
    );
    assert!(find("carpd_vhid_transitions_total", &[("vhid", "3")]).is_empty());
}

#[test]
fn tracked_checks_show_in_the_table_the_json_and_the_metrics() {
    let mut r = report();
    r.carp.demotions.insert("check:uplink".into(), 50);
    r.carp.checks = vec![
        carpd::status::CheckStatus {
            name: "uplink".into(),
            kind: "link".into(),
            ok: false,
            demotion: 50,
            runs: 7,
            failures: 3,
            timeouts: 0,
            last: "eth1 has no carrier or is down".into(),
        },
        carpd::status::CheckStatus {
            name: "db".into(),
            kind: "command".into(),
            ok: true,
            demotion: 0,
            runs: 7,
            failures: 1,
            timeouts: 1,
            last: "exit 0".into(),
        },
    ];
    r.carp.waiting = vec!["not taking MASTER until ready: startup_delay 30 s".into()];
    let t = table(&r, NOW);
    assert!(
        t.contains("check uplink (link): FAILING, 7 runs, 3 failed, 0 timed out; last: eth1 has no carrier or is down\n"),
        "{t}"
    );
    assert!(t.contains("check db (command): ok, 7 runs, 1 failed, 1 timed out; last: exit 0\n"));
    assert!(
        t.contains("hint: not taking MASTER until ready: startup_delay 30 s\n"),
        "{t}"
    );
    let j = opnsense_json(&r);
    assert_eq!(j["carpd"]["checks"][0]["type"], "link");
    assert_eq!(j["carpd"]["checks"][1]["timeouts"], 1);
    assert_eq!(
        j["carpd"]["waiting"][0],
        "not taking MASTER until ready: startup_delay 30 s"
    );
    let samples = reference_parse(&prometheus(&r));
    let value = |name: &str, check: &str| -> Vec<f64> {
        samples
            .iter()
            .filter(|(n, l, _)| n == name && l.get("check").map(String::as_str) == Some(check))
            .map(|(_, _, v)| *v)
            .collect()
    };
    assert_eq!(value("carpd_check_up", "uplink"), [0.0]);
    assert_eq!(value("carpd_check_up", "db"), [1.0]);
    assert_eq!(value("carpd_check_runs_total", "uplink"), [7.0]);
    assert_eq!(value("carpd_check_timeouts_total", "db"), [1.0]);
    assert_eq!(value("carpd_check_failures_total", "uplink"), [3.0]);
}

/// A VRRPv3 router in status: its timing cell, its JSON extras, its metrics and its hints.
#[test]
fn vrrp_vhid_shows_priority_interval_and_what_was_learnt() {
    let mut r = report();
    r.vhids.truncate(1);
    let v = &mut r.vhids[0];
    v.protocol = carpd::status::VhidProtocol::Vrrp3;
    v.state = "BACKUP".into();
    v.vrrp = Some(carpd::status::VrrpStatus {
        priority: 100,
        effective_priority: Some(60),
        interval_cs: 1,
        master_interval_cs: Some(10),
        preempt: true,
        accept: true,
        master_priority: Some(200),
        interval_mismatches: 7,
    });
    v.drops = BTreeMap::from([("vrrpv2".to_string(), 2), ("badaddrs".to_string(), 1)]);
    let text = table(&r, NOW);
    assert!(
        text.contains("vrrp3 prio 100 (now 60) @ 10ms (master 100ms)"),
        "{text}"
    );
    for needle in [
        "2 VRRPv2 advert(s) heard",
        "1 VRRP advert(s) listed other addresses",
        "7 advert(s) came with another interval than our 10ms",
    ] {
        assert!(text.contains(needle), "{needle} missing:\n{text}");
    }
    let j = opnsense_json(&r);
    let extras = &j["rows"][0]["carpd"];
    assert_eq!(extras["protocol"], "vrrp3");
    assert_eq!(extras["vrrp"]["effective_priority"], 60);
    assert_eq!(extras["vrrp"]["master_interval_cs"], 10);
    let prom = prometheus(&r);
    for line in [
        "carpd_vhid_protocol{device=\"vtnet0\",vhid=\"1\",interface=\"WAN\",protocol=\"vrrp3\"} 1",
        "carpd_vhid_vrrp_effective_priority{device=\"vtnet0\",vhid=\"1\",interface=\"WAN\"} 60",
        "carpd_vhid_vrrp_master_interval_seconds{device=\"vtnet0\",vhid=\"1\",interface=\"WAN\"} 0.10",
        "carpd_vhid_vrrp_interval_mismatches_total{device=\"vtnet0\",vhid=\"1\",interface=\"WAN\"} 7",
    ] {
        assert!(prom.lines().any(|l| l == line), "{line} missing:\n{prom}");
    }
}
