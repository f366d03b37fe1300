//! config.xml → model: realistic configs from the three dialects, one fixture per validation
//! rule (place, line and message), malformed XML, and a large generated file.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::time::Duration;

use carpd::config::{
    self, CarpGroup, Check, CheckEffect, CheckKind, Diagnostic, LoadError, Loaded, Settings,
    Severity, VipMode,
};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/config")
        .join(name)
}

fn load_ok(name: &str) -> Loaded {
    match config::load(&fixture(name)) {
        Ok(l) => l,
        Err(e) => panic!("{name} should load: {e} {e:?}"),
    }
}

fn load_errors(name: &str) -> Vec<Diagnostic> {
    match config::load(&fixture(name)) {
        Err(LoadError::Invalid { errors, .. }) => errors,
        other => panic!("{name} should be invalid, got {other:?}"),
    }
}

/// 1-based line of the first line of the fixture containing `needle`.
fn line_of(name: &str, needle: &str) -> u32 {
    line_after(name, "", needle)
}

/// 1-based line of the first line containing `needle` at or after the first one with `anchor`.
fn line_after(name: &str, anchor: &str, needle: &str) -> u32 {
    let text = std::fs::read_to_string(fixture(name)).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.contains(anchor))
        .unwrap_or_else(|| panic!("{anchor:?} not in {name}"));
    let idx = lines[start..]
        .iter()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle:?} not in {name} after {anchor:?}"));
    (start + idx) as u32 + 1
}

fn group<'a>(groups: &'a [CarpGroup], name: &str) -> &'a CarpGroup {
    groups
        .iter()
        .find(|g| g.name() == name)
        .unwrap_or_else(|| panic!("no group {name}"))
}

fn key_bytes(s: &[u8]) -> [u8; 20] {
    let mut k = [0u8; 20];
    k[..s.len()].copy_from_slice(s);
    k
}

#[test]
fn current_opnsense_config() {
    let l = load_ok("opnsense-current.xml");
    let m = &l.model;
    assert_eq!(m.groups.len(), 2);
    assert!(m.maintenance);
    assert!(m.ha.disable_preempt);
    assert!(!m.ha.preempt());
    assert_eq!(m.ha.pfsync.device.as_deref(), Some("vtnet2"));
    assert_eq!(m.ha.pfsync.peer, Some(Ipv4Addr::new(203, 0, 113, 2)));
    assert_eq!(m.ha.pfsync.version.as_deref(), Some("1400"));

    let wan = group(&m.groups, "1@vtnet0");
    assert_eq!(wan.interface_key, "wan");
    assert_eq!(wan.interface_name, "Internet");
    assert_eq!((wan.advbase, wan.advskew), (1, 0));
    assert_eq!(wan.peer, Some(Ipv4Addr::new(192, 0, 2, 3)));
    assert_eq!(wan.peer6, None);
    assert_eq!(wan.key.0, key_bytes(b"wankeywithspaces"));
    assert_eq!(wan.description, "WAN CARP & NAT");
    assert_eq!(
        wan.source_uuid.as_deref(),
        Some("0b9d4c1e-1111-4c2a-9a55-000000000001")
    );
    // The CARP VIP first, then the aliases in config order (an IPv6 alias on an IPv4 vhid).
    let addrs: Vec<String> = wan.addresses.iter().map(|a| a.prefix.to_string()).collect();
    assert_eq!(
        addrs,
        ["192.0.2.1/24", "192.0.2.10/24", "2001:db8:ffff::1/64"]
    );
    assert_eq!(wan.addresses[0].mode, VipMode::Carp);
    assert_eq!(wan.addresses[1].mode, VipMode::Ipalias);
    assert_eq!(
        wan.addresses[1].source.as_deref(),
        Some("0b9d4c1e-3333-4c2a-9a55-000000000003")
    );

    let lan = group(&m.groups, "2@vlan0.100");
    assert_eq!(lan.interface_name, "LAN", "no <descr>: key upper-cased");
    assert_eq!((lan.advbase, lan.advskew), (2, 10));
    assert_eq!(lan.peer, None);
    assert_eq!(
        lan.peer6,
        Some("2001:db8:1::3".parse::<Ipv6Addr>().unwrap())
    );
    assert_eq!(
        lan.v6_addresses().collect::<Vec<_>>(),
        ["2001:db8:1::1".parse::<Ipv6Addr>().unwrap()]
    );

    // The lo0 alias without vhid and the proxyarp entry are not CARP's business.
    assert!(m.groups.iter().all(|g| g.device != "lo0"));
    let proxy = l
        .warnings
        .iter()
        .find(|d| d.message.contains("proxyarp"))
        .expect("a note about proxyarp");
    assert_eq!(proxy.severity, Severity::Note);
    assert_eq!(
        proxy.line,
        Some(line_of("opnsense-current.xml", "<mode>proxyarp</mode>"))
    );
    // Space removal is worth a note, not a warning.
    assert!(l.warnings.iter().all(|d| d.severity == Severity::Note));
}

#[test]
fn legacy_opnsense_config() {
    let l = load_ok("opnsense-legacy.xml");
    let m = &l.model;
    assert_eq!(m.groups.len(), 2);
    assert!(!m.maintenance);
    assert!(m.ha.preempt());
    assert_eq!(
        m.ha.pfsync.device.as_deref(),
        Some("em2"),
        "pfsyncenabled=on"
    );
    let wan = group(&m.groups, "3@em0");
    assert_eq!(wan.interface_name, "WAN");
    assert_eq!(wan.advskew, 100);
    assert_eq!(wan.source_uuid, None);
    // addslashes: a backslash before the double quote and before the backslash.
    assert_eq!(wan.key.0, key_bytes(br#"legacy\"key\\x"#));
    let other = l
        .warnings
        .iter()
        .find(|d| d.message.contains("obsolete"))
        .expect("a warning for mode other");
    assert_eq!(other.severity, Severity::Warning);
    assert_eq!(other.place, "virtualip/vip[3]/mode");
    assert_eq!(
        other.line,
        Some(line_of("opnsense-legacy.xml", "<mode>other</mode>"))
    );
}

#[test]
fn legacy_pfsync_disabled_without_pfsyncenabled_on() {
    let xml = br#"<opnsense><interfaces><opt1><if>em2</if></opt1></interfaces>
        <hasync><pfsyncenabled></pfsyncenabled><pfsyncinterface>opt1</pfsyncinterface></hasync></opnsense>"#;
    let l = config::parse(xml).unwrap();
    assert_eq!(l.model.ha.pfsync.device, None);
    let xml = br#"<opnsense><hasync version="1.0.2"><pfsyncinterface/></hasync></opnsense>"#;
    assert_eq!(config::parse(xml).unwrap().model.ha.pfsync.device, None);
}

#[test]
fn pfsense_config() {
    let l = load_ok("pfsense.xml");
    let m = &l.model;
    assert!(m.maintenance, "an empty element means on");
    assert_eq!(m.ha.pfsync.device.as_deref(), Some("igb1"));
    assert_eq!(m.ha.pfsync.peer, Some(Ipv4Addr::new(198, 51, 100, 3)));
    let wan = group(&m.groups, "10@igb0");
    assert_eq!(wan.description, "WAN CARP");
    assert_eq!(wan.source_uuid.as_deref(), Some("5f2b3c4d5e6f7"));
    // The alias names its parent as `_vip<uniqid>` and inherits its interface and vhid.
    assert_eq!(wan.addresses.len(), 2);
    assert_eq!(
        wan.addresses[1].prefix.addr,
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, 20))
    );
    assert_eq!(wan.addresses[1].source.as_deref(), Some("5f2b3c4d5e6f8"));
    assert_eq!(group(&m.groups, "11@igb1").addresses.len(), 1);
}

#[test]
fn pfsense_alias_with_unknown_parent() {
    let xml = br#"<pfsense>
<interfaces><wan><if>igb0</if></wan></interfaces>
<virtualip>
<vip>
<mode>ipalias</mode>
<interface>_vipdeadbeef00000</interface>
<uniqid>5f2b3c4d5e6f8</uniqid>
<subnet>192.0.2.20</subnet>
<subnet_bits>24</subnet_bits>
</vip>
</virtualip>
</pfsense>"#;
    let Err(LoadError::Invalid { errors, .. }) = config::parse(xml) else {
        panic!("must fail");
    };
    assert_eq!(errors.len(), 1);
    assert_eq!(
        errors[0].place,
        "virtualip/vip[uniqid=5f2b3c4d5e6f8]/interface"
    );
    assert_eq!(errors[0].line, Some(6));
    assert!(errors[0].message.contains("does not exist"));
}

#[test]
fn device_name_without_interface_key_passes_through() {
    let xml = br#"<opnsense><virtualip><vip uuid="u"><interface>ens3</interface><mode>carp</mode>
        <subnet>192.0.2.1</subnet><subnet_bits>24</subnet_bits><vhid>7</vhid><password>k</password>
        <peer>224.0.0.18</peer><peer6>ff02::12</peer6></vip></virtualip></opnsense>"#;
    let l = config::parse(xml).unwrap();
    let g = &l.model.groups[0];
    assert_eq!(g.name(), "7@ens3");
    assert_eq!(g.interface_key, "ens3");
    assert_eq!(g.interface_name, "ENS3");
    assert_eq!((g.advbase, g.advskew), (1, 0), "defaults");
    assert_eq!(
        (g.peer, g.peer6),
        (None, None),
        "multicast defaults mean no unicast peer"
    );
}

/// (fixture, place suffix after the vip, needle on the reported line, message fragment)
const RULES: &[(&str, &str, &str, &str)] = &[
    (
        "vhid-range",
        "0001]/vhid",
        "<vhid>256</vhid>",
        "256 is out of range 1..255",
    ),
    (
        "vhid-missing",
        "0001]/vhid",
        "000000000001\">",
        "needs a <vhid>",
    ),
    (
        "vhid-not-number",
        "0001]/vhid",
        "<vhid>one</vhid>",
        "\"one\" is not a number",
    ),
    (
        "advbase-range",
        "0001]/advbase",
        "<advbase>0</advbase>",
        "advbase 0 is out of range 1..254",
    ),
    (
        "advskew-range",
        "0001]/advskew",
        "<advskew>255</advskew>",
        "advskew 255 is out of range 0..254",
    ),
    (
        "duplicate-vhid",
        "0002]/vhid",
        "<vhid>1</vhid>",
        "already used by the CARP VIP",
    ),
    (
        "alias-without-carp",
        "0002]/vhid",
        "<vhid>5</vhid>",
        "no CARP VIP has vhid 5 on wan",
    ),
    (
        "bad-address",
        "0001]/subnet",
        "192.0.2.300",
        "\"192.0.2.300\" is not an IP address",
    ),
    (
        "address-with-prefix",
        "0001]/subnet",
        "192.0.2.1/24",
        "is not an IP address",
    ),
    (
        "bad-prefix",
        "0001]/subnet_bits",
        "<subnet_bits>abc",
        "\"abc\" is not a number",
    ),
    (
        "prefix-range",
        "0001]/subnet_bits",
        "<subnet_bits>129",
        "129 is out of range 1..128 for IPv6",
    ),
    (
        "network-address",
        "0001]/subnet",
        "<subnet>192.0.2.0<",
        "network address",
    ),
    (
        "peer-wrong-family",
        "0001]/peer",
        "<peer>2001:db8::3",
        "is an IPv6 address",
    ),
    (
        "peer6-wrong-family",
        "0001]/peer6",
        "<peer6>198.51.100.3",
        "is an IPv4 address",
    ),
    (
        "peer-mixed-family",
        "0001]/peer",
        "<peer>198.51.100.3",
        "IPv6 CARP VIP with an IPv4 unicast peer",
    ),
    (
        "unknown-interface",
        "0001]/interface",
        "<interface>opt7",
        "opt7 is not defined under <interfaces>",
    ),
    (
        "carp-on-loopback",
        "0001]/interface",
        "<interface>opt9",
        "CARP cannot run on lo0",
    ),
    (
        "duplicate-address",
        "0002]/subnet",
        "<subnet>192.0.2.1</subnet>",
        "also configured at",
    ),
    (
        "own-address",
        "0001]/subnet",
        "<subnet>192.0.2.2<",
        "own address of interface wan",
    ),
];

#[test]
fn every_validation_rule_names_place_line_and_message() {
    for (name, place, needle, message) in RULES {
        let file = format!("invalid/{name}.xml");
        let errors = load_errors(&file);
        assert_eq!(
            errors.len(),
            1,
            "{name}: exactly one error, got {errors:#?}"
        );
        let e = &errors[0];
        let want_place = format!("virtualip/vip[uuid=00000000-0000-4000-8000-00000000{place}");
        assert_eq!(e.place, want_place, "{name}: place");
        // The line is searched for inside the <vip> the place names.
        let vip = format!("00000000000{}\">", &place[3..4]);
        let want_line = line_after(&file, &vip, needle);
        assert_eq!(e.line, Some(want_line), "{name}: line");
        assert!(
            e.message.contains(message),
            "{name}: message {:?}",
            e.message
        );
        assert!(!e.hint.is_empty(), "{name}: a hint says what to do");
        assert_eq!(e.severity, Severity::Error);
    }
}

#[test]
fn every_problem_is_reported_at_once() {
    let errors = load_errors("invalid/everything-at-once.xml");
    let places: Vec<&str> = errors
        .iter()
        .map(|e| e.place.rsplit(']').next().unwrap())
        .collect();
    assert_eq!(
        places,
        [
            "/vhid",
            "/advbase",
            "/peer",
            "/interface",
            "/subnet",
            "/vhid"
        ],
        "{errors:#?}"
    );
    // In document order.
    assert!(errors.windows(2).all(|w| w[0].line <= w[1].line));
}

#[test]
fn warnings_leave_the_config_usable() {
    let cases = [
        ("warn/password-long.xml", "<password>", "25 bytes", 19),
        (
            "warn/password-empty.xml",
            "<password/>",
            "not authenticated",
            0,
        ),
    ];
    for (file, needle, message, key_len) in cases {
        let l = load_ok(file);
        assert_eq!(l.warnings.len(), 1, "{file}");
        let w = &l.warnings[0];
        assert_eq!(w.severity, Severity::Warning);
        assert!(w.place.ends_with("/password"));
        assert_eq!(w.line, Some(line_of(file, needle)));
        assert!(w.message.contains(message), "{}", w.message);
        assert_eq!(l.model.groups[0].key.used_len(), key_len);
    }
    // VIPs on an interface group are skipped, as OPNsense's reconfigure_vips.php does: one
    // warning per VIP that carpd would otherwise have run, the rest of the config used.
    let l = load_ok("warn/group-interface.xml");
    assert_eq!(l.model.groups.len(), 1);
    assert_eq!(l.model.groups[0].vhid, 1);
    assert_eq!(l.warnings.len(), 2, "{:#?}", l.warnings);
    assert!(l.warnings[0].message.contains("interface group"));
    assert_eq!(
        l.warnings[0].line,
        Some(line_of("warn/group-interface.xml", "<interface>edge"))
    );
    let l = load_ok("warn/mode-other.xml");
    assert_eq!(l.model.groups.len(), 1);
    assert_eq!(
        l.warnings[0].line,
        Some(line_of("warn/mode-other.xml", "<mode>other"))
    );
}

fn xml_error(bytes: &[u8]) -> (u32, u32, String) {
    match config::parse(bytes) {
        Err(LoadError::Xml {
            line,
            column,
            message,
        }) => (line, column, message),
        other => panic!(
            "expected an XML error for {:?}, got {other:?}",
            String::from_utf8_lossy(bytes)
        ),
    }
}

#[test]
fn malformed_xml_is_one_clear_error() {
    let full = std::fs::read(fixture("opnsense-current.xml")).unwrap();
    // Truncated at many points: always an XML error, never a panic or a partial model.
    for cut in (200..full.len() - 2).step_by(97) {
        let (line, _, message) = xml_error(&full[..cut]);
        assert!(line >= 1);
        assert!(!message.is_empty());
    }
    let (line, _, message) = xml_error(&full[..full.len() / 2]);
    assert!(message.contains("not closed"), "{message}");
    assert!(line > 60);

    let (line, column, message) =
        xml_error(b"<opnsense>\n  <virtualip>\n    <vip></virtualip>\n</opnsense>\n");
    assert_eq!(line, 3);
    assert!(column > 1);
    assert!(message.contains("vip"), "{message}");

    // Not UTF-8, even in a section carpd skips: placed at the first bad byte.
    let (line, column, message) =
        xml_error(b"<opnsense>\n<filter><descr>caf\xe9</descr></filter>\n</opnsense>\n");
    assert_eq!((line, column), (2, 19));
    assert!(message.contains("UTF-8"), "{message}");

    for garbage in [
        &b""[..],
        b"hello world",
        b"<<<>>>",
        b"\x00\x01\x02\xff\xfe",
        b"<opnsense><a b=></a></opnsense>",
        b"<opnsense></opnsense><second/>",
        b"<opnsense><virtualip><vip><descr>&bogus;</descr></vip></virtualip></opnsense>",
    ] {
        xml_error(garbage);
    }
}

#[test]
fn huge_generated_config_keeps_only_carp_sections() {
    let mut xml = String::with_capacity(6 << 20);
    xml.push_str("<?xml version=\"1.0\"?>\n<opnsense>\n<interfaces>\n");
    for i in 0..40 {
        xml.push_str(&format!(
            "<opt{i}><if>vlan0.{}</if><ipaddr>10.{i}.0.2</ipaddr><subnet>24</subnet></opt{i}>\n",
            100 + i
        ));
    }
    xml.push_str("</interfaces>\n<filter>\n");
    let mut n = 0;
    while xml.len() < 5 << 20 {
        n += 1;
        xml.push_str(&format!(
            "<rule uuid=\"r{n}\"><type>pass</type><interface>opt{}</interface><protocol>tcp</protocol>\
<source><address>198.51.100.{}</address></source><destination><port>{}</port></destination>\
<descr>generated rule {n} &amp; more</descr></rule>\n",
            n % 40,
            n % 250,
            1024 + n % 6000
        ));
    }
    xml.push_str("</filter>\n<virtualip version=\"1.0.1\">\n");
    for i in 0..40 {
        xml.push_str(&format!(
            "<vip uuid=\"v{i}\"><interface>opt{i}</interface><mode>carp</mode><subnet>10.{i}.0.1</subnet>\
<subnet_bits>24</subnet_bits><vhid>{}</vhid><password>key{i}</password></vip>\n",
            i + 1
        ));
    }
    xml.push_str("</virtualip>\n</opnsense>\n");
    let l = config::parse(xml.as_bytes()).unwrap();
    assert_eq!(l.model.groups.len(), 40);
    assert_eq!(l.model.groups[39].name(), "40@vlan0.139");
    assert!(n > 10_000, "{n} rules");
}

/// The README's two-node VRRPv3 example: CARP and VRRPv3 side by side in one file.
#[test]
fn vrrp_example_configs_load_with_their_per_vhid_settings() {
    let examples = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples");
    for (node, priority) in [("a", 200), ("b", 100)] {
        let l = config::load(&examples.join(format!("vrrp-node-{node}.xml")))
            .unwrap_or_else(|e| panic!("vrrp-node-{node}.xml: {e}"));
        assert!(l.warnings.is_empty(), "{:?}", l.warnings);
        let m = &l.model;
        assert!(group(&m.groups, "1@eth0").vrrp().is_none());
        for name in ["51@eth0", "52@eth0"] {
            let v = group(&m.groups, name).vrrp().expect("a VRRPv3 router");
            assert_eq!(
                (v.priority, v.interval_cs, v.preempt, v.accept),
                (priority, 10, true, true),
                "{name}"
            );
        }
    }
}

#[test]
fn vrrp_settings_errors_are_located() {
    let name = "invalid/vrrp-settings.xml";
    let errors = load_errors(name);
    let at = |uuid_tail: &str, field: &str| {
        format!(
            "OPNsense/carpd/vhids/vhid[uuid=10000000-0000-4000-8000-00000000000{uuid_tail}]/{field}"
        )
    };
    let expect = [
        (
            at("1", "protocol"),
            "<protocol>vrrp3",
            "has IPv4 and IPv6 addresses",
        ),
        (
            at("2", "vip"),
            "000000000002</vip>",
            "is not the uuid of a CARP VIP",
        ),
        (
            at("3", "priority"),
            "<priority>0<",
            "0 is out of range 1..255",
        ),
        (
            at("3", "interval"),
            "<interval>5000<",
            "5000 is out of range 1..4095",
        ),
        (at("4", "vip"), "000000000003</vip>", "already has settings"),
        (
            at("5", "protocol"),
            "<protocol>vrrp2",
            "protocol \"vrrp2\" is not known",
        ),
        (at("6", "vip"), "000000000006\">", "no <vip>"),
        (at("7", "accept"), "<accept>0<", "accept 0 is not supported"),
    ];
    assert_eq!(errors.len(), expect.len(), "{errors:#?}");
    for (place, needle, message) in expect {
        let e = errors
            .iter()
            .find(|e| e.place == place)
            .unwrap_or_else(|| panic!("no error at {place}: {errors:#?}"));
        assert!(e.message.contains(message), "{place}: {}", e.message);
        let anchor = place
            .split("uuid=")
            .nth(1)
            .and_then(|s| s.split(']').next())
            .unwrap();
        assert_eq!(e.line, Some(line_after(name, anchor, needle)), "{place}");
    }
}

#[test]
fn vrrp_vip_with_a_password_is_warned_that_it_is_unused() {
    let dir = std::env::temp_dir().join(format!("carpd-vrrp-pw-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("config.xml");
    let text = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/vrrp-node-a.xml"),
    )
    .unwrap()
    .replace(
        "<vhid>51</vhid>",
        "<vhid>51</vhid><password>not-used</password>",
    );
    std::fs::write(&path, text).unwrap();
    let l = config::load(&path).expect("loads");
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(l.warnings.len(), 1, "{:?}", l.warnings);
    assert!(
        l.warnings[0]
            .message
            .contains("password of 51@eth0 is not used"),
        "{}",
        l.warnings[0]
    );
}

/// Without `<priority>` a VRRP router's priority follows the VIP's advskew (254 − advskew), so
/// OPNsense's HA sync (+100 advskew on the backup) keeps the backup lower.
#[test]
fn vrrp_priority_defaults_to_254_minus_advskew() {
    let dir = std::env::temp_dir().join(format!("carpd-vrrp-prio-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let examples = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples");
    for (node, advskew, want) in [("a", 0, 254), ("b", 100, 154)] {
        let text = std::fs::read_to_string(examples.join(format!("vrrp-node-{node}.xml")))
            .unwrap()
            .replace(
                "<vhid>51</vhid>",
                &format!("<vhid>51</vhid><advskew>{advskew}</advskew>"),
            );
        let text = without_spans(&text, "<priority>", "</priority>");
        let path = dir.join(format!("{node}.xml"));
        std::fs::write(&path, text).unwrap();
        let l = config::load(&path).expect("loads");
        assert_eq!(
            group(&l.model.groups, "51@eth0").vrrp().unwrap().priority,
            want
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `text` without every `open…close` span.
fn without_spans(text: &str, open: &str, close: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find(open) {
        out.push_str(&rest[..i]);
        let after = &rest[i..];
        rest = after.find(close).map_or("", |j| &after[j + close.len()..]);
    }
    out.push_str(rest);
    out
}

/// carpd's `<general>` settings and one check of every type, with the warnings a check's
/// stray fields get (a field of another type, a file check's weight, vhids without fault).
#[test]
fn carpd_settings_and_checks_are_read() {
    let name = "warn/checks.xml";
    let l = load_ok(name);
    let secs = Duration::from_secs;
    let check = |name: &str, kind: CheckKind, effect: CheckEffect| Check {
        name: name.to_string(),
        kind,
        interval: secs(2),
        timeout: secs(2),
        rise: 2,
        fall: 2,
        effect,
    };
    let want = Settings {
        startup_delay: secs(30),
        ready_command: Some("test -e /var/run/booted".to_string()),
        ready_deadline: secs(600),
        preempt_delay: secs(60),
        announce_interval: Some(secs(10)),
        checks: vec![
            check(
                "uplink",
                CheckKind::Link {
                    interface: "eth1".to_string(),
                },
                CheckEffect::Demote(240),
            ),
            Check {
                interval: secs(5),
                timeout: secs(3),
                rise: 3,
                fall: 1,
                ..check(
                    "api",
                    CheckKind::Command {
                        command: "/bin/sh -c 'exit 0'".to_string(),
                    },
                    CheckEffect::Demote(50),
                )
            },
            check(
                "demotion.file",
                CheckKind::File {
                    path: PathBuf::from("/var/run/carpd-demotion"),
                },
                CheckEffect::Demote(240),
            ),
            Check {
                interval: secs(1),
                timeout: secs(1),
                ..check(
                    "daemon:sshd",
                    CheckKind::Process {
                        name: "sshd".to_string(),
                    },
                    CheckEffect::Fault { vhids: vec![1, 2] },
                )
            },
            check(
                "lan-link",
                CheckKind::Link {
                    interface: "eth0".to_string(),
                },
                CheckEffect::Fault { vhids: vec![] },
            ),
            check(
                "gateway_ping",
                CheckKind::Command {
                    command: "sh -c 'ping -c 1 -W 1 192.0.2.254'".to_string(),
                },
                CheckEffect::Demote(240),
            ),
        ],
    };
    assert_eq!(l.model.settings, want);
    assert_eq!(
        l.model.settings.checks[3].demotion_name(),
        "check:daemon:sshd"
    );

    let at = |tail: &str, field: &str| {
        format!(
            "OPNsense/carpd/checks/check[uuid=20000000-0000-4000-8000-00000000000{tail}]/{field}"
        )
    };
    let expect = [
        (
            at("3", "weight"),
            "3\">",
            "<weight>100<",
            "not used by a file check",
        ),
        (
            at("3", "process"),
            "3\">",
            "<process>sshd<",
            "belongs to process checks; this file check does not use it",
        ),
        (
            at("6", "vhids"),
            "6\">",
            "<vhids>1<",
            "used only by a fault check",
        ),
    ];
    assert_eq!(l.warnings.len(), expect.len(), "{:#?}", l.warnings);
    for (w, (place, anchor, needle, message)) in l.warnings.iter().zip(expect) {
        assert_eq!(w.severity, Severity::Warning);
        assert_eq!(w.place, place);
        assert_eq!(w.line, Some(line_after(name, anchor, needle)), "{place}");
        assert!(w.message.contains(message), "{place}: {}", w.message);
        assert!(!w.hint.is_empty());
    }

    // Seconds in JSON (`carpd show --json`), the check's type as a tag.
    let json = serde_json::to_value(&l.model).unwrap();
    let s = &json["settings"];
    assert_eq!(s["startup_delay"], 30);
    assert_eq!(s["announce_interval"], 10);
    assert_eq!(s["checks"][0]["kind"]["type"], "link");
    assert_eq!(s["checks"][0]["interval"], 2);
    assert_eq!(s["checks"][1]["effect"]["demote"], 50);
    assert_eq!(s["checks"][3]["effect"]["fault"]["vhids"][1], 2);

    // Without <general> or <checks>: the defaults.
    let plain = load_ok("opnsense-current.xml").model.settings;
    assert_eq!(plain, Settings::default());
    assert_eq!(plain.ready_deadline, secs(300));
    assert_eq!(plain.announce_interval, None);
}

#[test]
fn carpd_settings_and_checks_errors_are_located() {
    let name = "invalid/checks.xml";
    let errors = load_errors(name);
    let general = |field: &str| format!("OPNsense/carpd/general/{field}");
    let uuid = |tail: &str| format!("30000000-0000-4000-8000-0000000000{tail}");
    let at = |tail: &str, field: &str| {
        format!("OPNsense/carpd/checks/check[uuid={}]/{field}", uuid(tail))
    };
    // (place, anchor, needle: the line, message)
    let anchor = |tail: &str| format!("{}\">", uuid(tail));
    let g = "<general>".to_string();
    let expect: Vec<(String, String, &str, String)> = vec![
        (
            general("startup_delay"),
            g.clone(),
            "<startup_delay>",
            "startup_delay 4000 is out of range 0..3600".into(),
        ),
        (
            general("ready_command"),
            g.clone(),
            "<ready_command>",
            "ready_command: /nonexistent/carpd-ready does not exist".into(),
        ),
        (
            general("ready_deadline"),
            g.clone(),
            "<ready_deadline>",
            "ready_deadline 0 is out of range 1..86400".into(),
        ),
        (
            general("preempt_delay"),
            g.clone(),
            "<preempt_delay>",
            "preempt_delay \"soon\" is not a number".into(),
        ),
        (
            general("announce_interval"),
            g.clone(),
            "<announce_interval>",
            "announce_interval 3601 is out of range 0..3600".into(),
        ),
        // The entry without a uuid is placed by position, its missing fields on its own line.
        (
            "OPNsense/carpd/checks/check[1]/name".into(),
            "<checks>".into(),
            "<check>",
            "no <name>".into(),
        ),
        (
            "OPNsense/carpd/checks/check[1]/interface".into(),
            "<checks>".into(),
            "<check>",
            "a link check needs <interface>".into(),
        ),
        (
            at("02", "name"),
            anchor("02"),
            "<name>",
            "check name \"bad name!\" is not valid".into(),
        ),
        (
            at("02", "type"),
            anchor("02"),
            "<type>",
            "check type \"ping\" is not known".into(),
        ),
        (
            at("04", "name"),
            anchor("04"),
            "<name>",
            format!(
                "check name dup is already used by OPNsense/carpd/checks/check[uuid={}] (line {})",
                uuid("03"),
                line_after(name, &anchor("03"), "<name>")
            ),
        ),
        (
            at("04", "type"),
            anchor("04"),
            "000000000004\">",
            "no <type>".into(),
        ),
        (
            at("05", "command"),
            anchor("05"),
            "<command>",
            "command: /nonexistent/carpd-check does not exist".into(),
        ),
        (
            at("06", "command"),
            anchor("06"),
            "<command>",
            "command: carpd-no-such-command-z9 is not found on PATH".into(),
        ),
        (
            at("07", "command"),
            anchor("07"),
            "<command>",
            "command: /etc is a directory, not a program".into(),
        ),
        (
            at("08", "command"),
            anchor("08"),
            "000000000008\">",
            "a command check needs <command>".into(),
        ),
        (
            at("09", "path"),
            anchor("09"),
            "<path>",
            "path \"run/demotion\" is not absolute".into(),
        ),
        (
            at("10", "path"),
            anchor("10"),
            "000000000010\">",
            "a file check needs <path>".into(),
        ),
        (
            at("11", "process"),
            anchor("11"),
            "<process>",
            "process name \"/usr/sbin/sshd\" is not valid".into(),
        ),
        (
            at("12", "process"),
            anchor("12"),
            "000000000012\">",
            "a process check needs <process>".into(),
        ),
        (
            at("13", "interface"),
            anchor("13"),
            "<interface>",
            "interface \"eth0:1\" is not a device name".into(),
        ),
        (
            at("14", "interface"),
            anchor("14"),
            "<interface>",
            "interface \"eth+1\" is not a device name: use only A-Z a-z 0-9 _ . -".into(),
        ),
        (
            at("15", "interval"),
            anchor("15"),
            "<interval>",
            "interval 0 is out of range 1..3600".into(),
        ),
        (
            at("15", "timeout"),
            anchor("15"),
            "<timeout>",
            "timeout 4000 is out of range 1..3600".into(),
        ),
        (
            at("15", "rise"),
            anchor("15"),
            "<rise>",
            "rise 0 is out of range 1..100".into(),
        ),
        (
            at("15", "fall"),
            anchor("15"),
            "<fall>",
            "fall 101 is out of range 1..100".into(),
        ),
        (
            at("15", "weight"),
            anchor("15"),
            "<weight>",
            "weight 0 is out of range 1..1048576".into(),
        ),
        (
            at("16", "weight"),
            anchor("16"),
            "<weight>",
            "<weight> with <fault>1</fault>".into(),
        ),
        (
            at("16", "vhids"),
            anchor("16"),
            "<vhids>",
            "vhids: no CARP VIP has vhid 7".into(),
        ),
        (
            at("16", "vhids"),
            anchor("16"),
            "<vhids>",
            "vhids: 300 is out of range 1..255".into(),
        ),
        (
            at("16", "vhids"),
            anchor("16"),
            "<vhids>",
            "vhids: \"x\" is not a number".into(),
        ),
        (
            at("17", "fault"),
            anchor("17"),
            "<fault>",
            "fault 2 is out of range 0..1".into(),
        ),
        (
            at("18", "name"),
            anchor("18"),
            "<name>",
            "check name \"a-name-that-is-much-longer-than-forty-eight-chars\" is not valid".into(),
        ),
    ];
    assert_eq!(errors.len(), expect.len(), "{errors:#?}");
    for (place, anchor, needle, message) in &expect {
        let e = errors
            .iter()
            .find(|e| &e.place == place && e.message.contains(message.as_str()))
            .unwrap_or_else(|| panic!("no error at {place} saying {message:?}: {errors:#?}"));
        assert_eq!(
            e.line,
            Some(line_after(name, anchor, needle)),
            "{place}: {message}"
        );
        assert!(!e.hint.is_empty(), "{place}: a hint says what to do");
    }
    // In document order.
    assert!(errors.windows(2).all(|w| w[0].line <= w[1].line));
}

/// A command's program is looked up the way `/bin/sh` would find it, unless the shell itself
/// runs the first word; a startup delay the deadline cuts short is warned about.
#[test]
fn check_commands_are_looked_up_and_cut_short_delays_warned() {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("carpd-check-cmd-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let program = |name: &str, mode: u32| {
        let p = dir.join(name);
        std::fs::write(&p, "#!/bin/sh\nexit 0\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p.display().to_string()
    };
    let plain = program("plain", 0o644);
    let tool = program("tool", 0o755);
    let xml = |general: &str, command: &str| {
        format!(
            "<opnsense><interfaces><lan><if>eth0</if></lan></interfaces><virtualip>\
<vip uuid=\"v1\"><interface>lan</interface><mode>carp</mode><subnet>192.0.2.1</subnet>\
<subnet_bits>24</subnet_bits><password>k</password><vhid>1</vhid></vip></virtualip>\
<OPNsense><carpd><general>{general}</general><checks><check uuid=\"c1\"><name>c</name>\
<type>command</type><command>{command}</command></check></checks></carpd></OPNsense></opnsense>"
        )
    };
    match config::parse(xml("", &format!("{plain} --flag")).as_bytes()) {
        Err(LoadError::Invalid { errors, .. }) => {
            assert_eq!(errors.len(), 1, "{errors:#?}");
            assert_eq!(
                errors[0].place,
                "OPNsense/carpd/checks/check[uuid=c1]/command"
            );
            assert_eq!(
                errors[0].message,
                format!("command: {plain} is not executable")
            );
        }
        other => panic!("{other:?}"),
    }
    let accepted = [
        format!("{tool} --flag"),
        "sh -c 'exit 0'".to_string(),
        "test -e /nonexistent/x".to_string(),
        "[ -e /nonexistent/x ]".to_string(),
        "! /nonexistent/x".to_string(),
        "if /nonexistent/x; then exit 1; fi".to_string(),
        "PATH=/nonexistent carpd-no-such-command-z9".to_string(),
        "$HOME/bin/carpd-no-such-command-z9".to_string(),
        "./relative/to/the/daemon".to_string(),
    ];
    for command in &accepted {
        let l = config::parse(xml("", command).as_bytes())
            .unwrap_or_else(|e| panic!("{command}: {e:?}"));
        assert!(l.warnings.is_empty(), "{command}: {:?}", l.warnings);
    }
    let l = config::parse(
        xml(
            "<startup_delay>600</startup_delay><ready_deadline>600</ready_deadline>",
            "true",
        )
        .as_bytes(),
    )
    .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(l.warnings.len(), 1, "{:?}", l.warnings);
    assert_eq!(l.warnings[0].place, "OPNsense/carpd/general/startup_delay");
    assert!(
        l.warnings[0]
            .message
            .contains("not shorter than ready_deadline"),
        "{}",
        l.warnings[0]
    );
    assert_eq!(l.model.settings.startup_delay, Duration::from_secs(600));
}
