//! carpd against other implementations on a real wire: ucarp as a peer in both directions,
//! and tshark decoding carpd's adverts (checksum status from Wireshark's CARP dissector, HMAC
//! recomputed from the config). Needs root, ucarp and tshark (scripts/install-deps).

#![cfg(target_os = "linux")]

mod common;
#[path = "engine/harness.rs"]
mod harness;

use std::time::Duration;

use common::netns::{Lab, Node, Proc, require_tool, wait_until};
use harness::{Daemon, Vip};

const VIP: &str = "192.0.2.1";
const PASS: &str = "interop-key";

/// ucarp on `node`; its up/down scripts write the state it believes it is in.
struct Ucarp {
    proc: Proc,
    state_file: std::path::PathBuf,
    _dir: tempdir::Dir,
}

mod tempdir {
    pub struct Dir(pub std::path::PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

impl Ucarp {
    fn start(lab: &Lab, node: &Node, advskew: u8) -> Ucarp {
        require_tool("ucarp");
        let dir = std::env::temp_dir().join(format!("carpd-ucarp-{}", node.ns));
        std::fs::create_dir_all(&dir).unwrap();
        let state_file = dir.join("state");
        let script = |name: &str, state: &str| {
            let path = dir.join(name);
            std::fs::write(
                &path,
                format!("#!/bin/sh\necho {state} > {}\n", state_file.display()),
            )
            .unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
            path.display().to_string()
        };
        let up = script("up", "MASTER");
        let down = script("down", "BACKUP");
        let skew = advskew.to_string();
        let src = node.v4.to_string();
        let proc = lab.spawn(
            &node.ns,
            &[
                "ucarp",
                "-i",
                &node.ifname,
                "-s",
                &src,
                "-v",
                "1",
                "-p",
                PASS,
                "-a",
                VIP,
                "-b",
                "1",
                "-k",
                &skew,
                "-P",
                "-u",
                &up,
                "-d",
                &down,
                "-f",
                "none",
            ],
        );
        Ucarp {
            proc,
            state_file,
            _dir: tempdir::Dir(dir),
        }
    }

    fn state(&self) -> String {
        std::fs::read_to_string(&self.state_file)
            .unwrap_or_default()
            .trim()
            .to_string()
    }

    fn wait_state(&self, state: &str, timeout: Duration) {
        assert!(
            wait_until(timeout, || self.state() == state),
            "ucarp not {state} within {timeout:?} (is {:?}): {}",
            self.state(),
            self.proc.stderr()
        );
    }
}

fn vip(advskew: u8) -> Vip {
    let mut v = Vip::v4(1, "192.0.2.1/24", advskew);
    v.password = PASS;
    v
}

#[test]
fn carpd_master_ucarp_backup_then_ucarp_takes_over() {
    let lab = Lab::new("iu", 2);
    let mut a = Daemon::prepare(lab.node(0), &[vip(0)], false);
    a.start(&lab);
    a.wait_state(1, "MASTER", Duration::from_secs(10));
    let u = Ucarp::start(&lab, lab.node(1), 100);
    u.wait_state("BACKUP", Duration::from_secs(10));
    // ucarp hears carpd's adverts and keeps quiet: carpd stays MASTER for several intervals.
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(u.state(), "BACKUP", "ucarp did not accept carpd's adverts");
    assert_eq!(a.state(1), "MASTER");
    assert_eq!(a.drops(1, "badauth"), 0);
    lab.cut(0);
    u.wait_state("MASTER", Duration::from_secs(8));
}

#[test]
fn ucarp_master_carpd_backup_then_carpd_takes_over() {
    let lab = Lab::new("iv", 2);
    let u = Ucarp::start(&lab, lab.node(1), 0);
    u.wait_state("MASTER", Duration::from_secs(10));
    let mut b = Daemon::prepare(lab.node(0), &[vip(100)], false);
    b.start(&lab);
    b.wait_state(1, "BACKUP", Duration::from_secs(5));
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(b.state(1), "BACKUP", "carpd did not accept ucarp's adverts");
    let seen = b.vhid(1).unwrap();
    assert!(seen["adverts_received"].as_u64().unwrap() >= 3, "{seen}");
    assert_eq!(seen["master_source"], lab.node(1).v4.to_string());
    u.proc.kill();
    b.wait_state(1, "MASTER", Duration::from_secs(6));
    assert!(b.holds(&lab, VIP));
}

#[test]
fn tshark_decodes_carpd_adverts_with_good_checksum_and_our_hmac_verifies() {
    require_tool("tshark");
    let lab = Lab::new("it", 1);
    let mut a = Daemon::prepare(lab.node(0), &[vip(30)], false);
    let client = lab.client();
    let pcap = std::env::temp_dir().join(format!("carpd-tshark-{}.pcap", client.ns));
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
            "3",
            "-f",
            "ip proto 112",
            "-w",
            &pcap_s,
        ],
    );
    assert!(
        cap.wait_stderr("Capturing on", Duration::from_secs(30)),
        "{}",
        cap.stderr()
    );
    a.start(&lab);
    a.wait_state(1, "MASTER", Duration::from_secs(10));
    assert!(
        cap.wait_exit(Duration::from_secs(10)).is_some(),
        "tshark captured no adverts"
    );
    let out = std::process::Command::new("tshark")
        .args([
            "-r",
            &pcap_s,
            "-d",
            "ip.proto==112,carp",
            "-o",
            "ip.check_checksum:TRUE",
            "-T",
            "fields",
            "-E",
            "separator=,",
            "-e",
            "carp.vhid",
            "-e",
            "carp.advskew",
            "-e",
            "carp.counter",
            "-e",
            "carp.checksum.status",
            "-e",
            "carp.hmac",
            "-e",
            "ip.ttl",
            "-e",
            "ip.dsfield",
            "-e",
            "ip.checksum.status",
        ])
        .output()
        .expect("tshark");
    let _ = std::fs::remove_file(&pcap);
    let text = String::from_utf8_lossy(&out.stdout);
    let model = carpd::config::load(&a.config_path()).expect("config").model;
    let auth = carpd::wire::auth::CarpAuth::new(
        &model.groups[0].key.0,
        1,
        &["192.0.2.1".parse().unwrap()],
        &[],
    );
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(rows.len(), 3, "{text}");
    for row in rows {
        let f: Vec<&str> = row.split(',').collect();
        assert_eq!(f[0], "1", "{row}");
        assert_eq!(f[1], "30", "{row}");
        assert_eq!(f[3], "1", "CARP checksum not good: {row}");
        assert_eq!(f[5], "255", "TTL: {row}");
        assert_eq!(f[6], "0xe0", "DSCP 56: {row}");
        assert_eq!(f[7], "1", "IP header checksum: {row}");
        let counter: u64 = f[2].parse().expect("counter");
        let hmac: Vec<u8> = (0..20)
            .map(|i| u8::from_str_radix(&f[4].replace(':', "")[2 * i..2 * i + 2], 16).unwrap())
            .collect();
        assert!(
            auth.verify(counter, hmac.as_slice().try_into().unwrap()),
            "HMAC of a captured advert does not match the one computed from the config: {row}"
        );
    }
}
