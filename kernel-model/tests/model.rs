//! The model's own tests: each behaviour it claims from FreeBSD's source (keys in the crate
//! documentation), checked on raw bytes built here, not with carpd's encoders.

use carp_kernel_model::errno::*;
use carp_kernel_model::ioctl::{
    self, CARPREQ, SIOCAIFADDR, SIOCDIFADDR, SIOCGVH, SIOCSVH, SockFamily,
};
use carp_kernel_model::kernel::*;
use carp_kernel_model::{boxes, netlink};
use std::net::{IpAddr, Ipv4Addr};

// ---- raw netlink -------------------------------------------------------------------------

const REQUEST: u16 = 0x1;
const MULTI: u16 = 0x2;
const ACK: u16 = 0x4;
const DUMP: u16 = 0x300;

fn pad(b: &mut Vec<u8>) {
    while !b.len().is_multiple_of(4) {
        b.push(0);
    }
}

fn attr(kind: u16, payload: &[u8]) -> Vec<u8> {
    let mut b = ((4 + payload.len()) as u16).to_ne_bytes().to_vec();
    b.extend_from_slice(&kind.to_ne_bytes());
    b.extend_from_slice(payload);
    pad(&mut b);
    b
}

fn cstr(s: &str) -> Vec<u8> {
    let mut b = s.as_bytes().to_vec();
    b.push(0);
    b
}

fn request(kind: u16, flags: u16, seq: u32, cmd: u8, attrs: &[Vec<u8>]) -> Vec<u8> {
    let mut b = vec![0u8; 16];
    b[4..6].copy_from_slice(&kind.to_ne_bytes());
    b[6..8].copy_from_slice(&flags.to_ne_bytes());
    b[8..12].copy_from_slice(&seq.to_ne_bytes());
    b.extend_from_slice(&[cmd, 1, 0, 0]);
    for a in attrs {
        b.extend_from_slice(a);
    }
    let len = b.len() as u32;
    b[..4].copy_from_slice(&len.to_ne_bytes());
    b
}

#[derive(Debug)]
struct Reply {
    kind: u16,
    flags: u16,
    seq: u32,
    payload: Vec<u8>,
}

fn replies(datagrams: &[Vec<u8>]) -> Vec<Reply> {
    let mut out = Vec::new();
    for d in datagrams {
        let mut off = 0;
        while off + 16 <= d.len() {
            let len = u32::from_ne_bytes(d[off..off + 4].try_into().unwrap()) as usize;
            out.push(Reply {
                kind: u16::from_ne_bytes(d[off + 4..off + 6].try_into().unwrap()),
                flags: u16::from_ne_bytes(d[off + 6..off + 8].try_into().unwrap()),
                seq: u32::from_ne_bytes(d[off + 8..off + 12].try_into().unwrap()),
                payload: d[off + 16..off + len].to_vec(),
            });
            off += (len + 3) & !3;
        }
    }
    out
}

fn int_of(payload: &[u8]) -> i32 {
    i32::from_ne_bytes(payload[..4].try_into().unwrap())
}

/// Attributes after the genl header.
fn attrs_of(payload: &[u8]) -> Vec<(u16, Vec<u8>)> {
    let mut b = &payload[4..];
    let mut out = Vec::new();
    while b.len() >= 4 {
        let len = u16::from_ne_bytes([b[0], b[1]]) as usize;
        out.push((
            u16::from_ne_bytes([b[2], b[3]]) & 0x3fff,
            b[4..len].to_vec(),
        ));
        b = &b[((len + 3) & !3).min(b.len())..];
    }
    out
}

fn carp_family(k: &mut Kernel) -> u16 {
    let r = replies(&netlink::process(
        k,
        7,
        &request(16, REQUEST, 1, 3, &[attr(2, &cstr("carp"))]),
    ));
    let id = attrs_of(&r[0].payload)
        .into_iter()
        .find(|(t, _)| *t == 1)
        .unwrap()
        .1;
    u16::from_ne_bytes([id[0], id[1]])
}

fn get(k: &mut Kernel, ifname: &str) -> Vec<Reply> {
    let fam = carp_family(k);
    replies(&netlink::process(
        k,
        7,
        &request(fam, REQUEST | DUMP, 5, 1, &[attr(9, &cstr(ifname))]),
    ))
}

fn set(k: &mut Kernel, ifname: &str, vhid: u32, extra: &[Vec<u8>]) -> Vec<Reply> {
    let fam = carp_family(k);
    let mut a = vec![attr(1, &vhid.to_ne_bytes())];
    a.extend_from_slice(extra);
    a.push(attr(9, &cstr(ifname)));
    replies(&netlink::process(
        k,
        7,
        &request(fam, REQUEST | ACK, 6, 2, &a),
    ))
}

fn u32a(kind: u16, v: u32) -> Vec<u8> {
    attr(kind, &v.to_ne_bytes())
}

// ---- raw ioctls --------------------------------------------------------------------------

fn name16(s: &str) -> [u8; 16] {
    let mut n = [0u8; 16];
    n[..s.len()].copy_from_slice(s.as_bytes());
    n
}

fn sin(a: Ipv4Addr) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[0] = 16;
    b[1] = 2;
    b[4..8].copy_from_slice(&a.octets());
    b
}

fn aifaddr(k: &mut Kernel, ifname: &str, a: Ipv4Addr, prefix: u8, vhid: i32) -> Result<(), i32> {
    let mut b = vec![0u8; 68];
    b[..16].copy_from_slice(&name16(ifname));
    b[16..32].copy_from_slice(&sin(a));
    let mask = if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - prefix)
    };
    b[48..64].copy_from_slice(&sin(Ipv4Addr::from(mask)));
    b[64..68].copy_from_slice(&vhid.to_ne_bytes());
    ioctl::ioctl(k, SockFamily::Inet, SIOCAIFADDR, &b)
}

fn difaddr(k: &mut Kernel, ifname: &str, a: Ipv4Addr) -> Result<(), i32> {
    let mut b = vec![0u8; 32];
    b[..16].copy_from_slice(&name16(ifname));
    b[16..32].copy_from_slice(&sin(a));
    ioctl::ioctl(k, SockFamily::Inet, SIOCDIFADDR, &b)
}

fn carpreq(count: i32, vhid: i32, state: i32, advskew: i32, advbase: i32, key: &[u8]) -> Vec<u8> {
    let mut b = vec![0u8; CARPREQ];
    for (i, v) in [count, vhid, state, advskew, advbase].iter().enumerate() {
        b[i * 4..i * 4 + 4].copy_from_slice(&v.to_ne_bytes());
    }
    b[20..20 + key.len()].copy_from_slice(key);
    b
}

fn v4(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

/// A vhid with one address on `dev`, made the way ifconfig makes it (SET, then the alias).
fn make_vhid(k: &mut Kernel, dev: &str, vhid: u32, addr: &str) {
    let r = set(
        k,
        dev,
        vhid,
        &[u32a(3, 1), u32a(4, 100), attr(5, b"secret")],
    );
    assert_eq!(int_of(&r[0].payload), 0, "{r:?}");
    aifaddr(k, dev, v4(addr), 24, vhid as i32).unwrap();
}

// ---- interface types and errnos ------------------------------------------------------------

/// `carp_is_supported_if` (K14/K15): EOPNOTSUPP for every type but ETHER/L2VLAN/BRIDGE, as an
/// NLMSG_ERROR before the dump starts; an unknown name is ENXIO; a supported interface without
/// carp ends its dump with ENOENT in NLMSG_DONE (`carp_ioctl_get`).
#[test]
fn netlink_get_answers_by_interface_type() {
    let mut k = boxes::opnsense(Release::FreeBsd14);
    for dev in [
        "lo0", "pflog0", "pfsync0", "enc0", "wg0", "ovpns1", "tun0", "igb0",
    ] {
        let r = get(&mut k, dev);
        assert_eq!(r.len(), 1, "{dev}: {r:?}");
        assert_eq!((r[0].kind, int_of(&r[0].payload)), (2, EOPNOTSUPP), "{dev}");
    }
    let r = get(&mut k, "vtnet9");
    assert_eq!((r[0].kind, int_of(&r[0].payload)), (2, ENXIO));
    for dev in ["vtnet0", "vlan0.100", "lagg0"] {
        let r = get(&mut k, dev);
        assert_eq!(r.len(), 1, "{dev}: {r:?}");
        assert_eq!(
            (r[0].kind, r[0].flags, int_of(&r[0].payload)),
            (3, 0, ENOENT)
        );
    }
}

/// K13's inline checks in `carp_ioctl` apply to SIOCGVH too: EOPNOTSUPP by type,
/// EADDRNOTAVAIL without IFF_MULTICAST, ENXIO for a missing interface, ENOENT without carp.
#[test]
fn ioctl_get_answers_by_interface_type_on_13() {
    let mut k = boxes::opnsense(Release::FreeBsd13 { netlink: false });
    let mut data = carpreq(255, 0, 0, 0, 0, &[]);
    data.resize(255 * CARPREQ, 0);
    let ask = |k: &mut Kernel, dev: &str| {
        ioctl::ioctl_ifr_data(k, SIOCGVH, &name16(dev), &mut data.clone())
    };
    assert_eq!(ask(&mut k, "lo0"), Err(EOPNOTSUPP));
    assert_eq!(ask(&mut k, "wg0"), Err(EOPNOTSUPP));
    assert_eq!(ask(&mut k, "nope0"), Err(ENXIO));
    assert_eq!(ask(&mut k, "vtnet0"), Err(ENOENT));
    k.iface_mut("vtnet0").unwrap().flags &= !IFF_MULTICAST;
    assert_eq!(ask(&mut k, "vtnet0"), Err(EADDRNOTAVAIL));
    // The netlink GET has no multicast check (K14 `carp_nl_get`).
    let mut k = boxes::opnsense(Release::FreeBsd14);
    k.iface_mut("vtnet0").unwrap().flags &= !IFF_MULTICAST;
    assert_eq!(int_of(&get(&mut k, "vtnet0")[0].payload), ENOENT);
}

// ---- netlink framing -----------------------------------------------------------------------

/// `nlmsg_ack` (NLW): the errno is positive; an error copies the whole request and has flags
/// 0; a success ACK has the request's header only and NLM_F_CAPPED.
#[test]
fn acks_carry_positive_errnos() {
    let mut k = boxes::opnsense(Release::FreeBsd14);
    let r = set(&mut k, "vtnet0", 300, &[]);
    assert_eq!(r[0].kind, 2);
    assert_eq!(int_of(&r[0].payload), EINVAL);
    assert_eq!(r[0].flags, 0);
    // 4 bytes of errno + the whole request (16 + 4 + 8 + 12).
    assert_eq!(r[0].payload.len(), 4 + 40);
    let r = set(&mut k, "vtnet0", 1, &[u32a(4, 100)]);
    assert_eq!((int_of(&r[0].payload), r[0].flags), (0, 0x100));
    assert_eq!(r[0].payload.len(), 4 + 16);
    assert_eq!(r[0].seq, 6);
}

/// A dump answers one NLM_F_MULTI message per vhid and ends with NLMSG_DONE (flags 0, one
/// int); an error after the dump started travels in DONE and no ACK follows (NLW
/// `_nlmsg_end_dump`, NLIO `suppress_ack`).
#[test]
fn dumps_end_with_done_carrying_the_error() {
    let mut k = boxes::opnsense(Release::FreeBsd14);
    make_vhid(&mut k, "vtnet0", 1, "192.0.2.1");
    make_vhid(&mut k, "vtnet0", 2, "192.0.2.5");
    let r = get(&mut k, "vtnet0");
    assert_eq!(r.len(), 3);
    assert!(r[..2].iter().all(|m| m.flags & MULTI != 0 && m.kind > 16));
    assert_eq!((r[2].kind, r[2].flags, int_of(&r[2].payload)), (3, 0, 0));
    let a = attrs_of(&r[0].payload);
    let kinds: Vec<u16> = a.iter().map(|x| x.0).collect();
    // carp_nl_send (K14): VHID, STATE, ADVBASE, ADVSKEW, ADDR, ADDR6, KEY (privileged).
    assert_eq!(kinds, [1, 2, 3, 4, 7, 8, 5]);
    assert_eq!(a[0].1, 1u32.to_ne_bytes());
    assert_eq!(a[3].1, 100i32.to_ne_bytes());
    assert_eq!(a[4].1, [224, 0, 0, 18]);
    assert_eq!(a[6].1.len(), 20);
    // Genl header of replies: cmd GET, version 0.
    assert_eq!(&r[0].payload[..2], &[1, 0]);

    k.faults.push(Fault::DumpFails {
        ifname: "vtnet0".into(),
        errno: ENOMEM,
    });
    let r = get(&mut k, "vtnet0");
    let done = r.last().unwrap();
    assert_eq!((done.kind, int_of(&done.payload)), (3, ENOMEM));
    assert!(r.iter().all(|m| m.kind != 2), "no NLMSG_ERROR after DONE");
}

/// `nlctrl_handle_getfamily` (NLG): a name resolves to one message (no DONE) with the name
/// before the id; an unknown name is ENOENT; families take slots from id 16 on.
#[test]
fn the_controller_resolves_families_by_name() {
    let mut k = boxes::opnsense(Release::FreeBsd14);
    let r = replies(&netlink::process(
        &mut k,
        7,
        &request(16, REQUEST, 1, 3, &[attr(2, &cstr("carp"))]),
    ));
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].payload[0], 1, "CTRL_CMD_NEWFAMILY");
    let a = attrs_of(&r[0].payload);
    assert_eq!((a[0].0, a[1].0), (2, 1), "FAMILY_NAME before FAMILY_ID");
    assert_eq!(a[1].1, 18u16.to_ne_bytes());
    let r = replies(&netlink::process(
        &mut k,
        7,
        &request(16, REQUEST, 2, 3, &[attr(2, &cstr("nosuch"))]),
    ));
    assert_eq!((r[0].kind, int_of(&r[0].payload)), (2, ENOENT));
    // 13.2 with netlink: no carp family.
    let mut k = boxes::opnsense(Release::FreeBsd13 { netlink: true });
    let r = replies(&netlink::process(
        &mut k,
        7,
        &request(16, REQUEST, 1, 3, &[attr(2, &cstr("carp"))]),
    ));
    assert_eq!(int_of(&r[0].payload), ENOENT);
}

/// NLP: a u32 attribute of the wrong size is EINVAL; a string without its NUL is EINVAL;
/// unknown attributes are skipped; an unknown command of a known family is ENOTSUP.
#[test]
fn attributes_are_checked_as_the_kernel_parser_checks_them() {
    let mut k = boxes::opnsense(Release::FreeBsd14);
    let r = set(&mut k, "vtnet0", 1, &[attr(4, &[100, 0])]);
    assert_eq!(int_of(&r[0].payload), EINVAL);
    let fam = carp_family(&mut k);
    let r = replies(&netlink::process(
        &mut k,
        7,
        &request(fam, REQUEST | DUMP, 5, 1, &[attr(9, b"vtnet0")]),
    ));
    assert_eq!(int_of(&r[0].payload), EINVAL);
    let r = set(&mut k, "vtnet0", 1, &[attr(99, b"x"), u32a(4, 7)]);
    assert_eq!(int_of(&r[0].payload), 0);
    assert_eq!(k.vhid("vtnet0", 1).unwrap().advskew, 7);
    let r = replies(&netlink::process(
        &mut k,
        7,
        &request(fam, REQUEST, 9, 9, &[]),
    ));
    assert_eq!(int_of(&r[0].payload), EOPNOTSUPP);
}

// ---- SET semantics -------------------------------------------------------------------------

/// `carp_ioctl_set` (K14): a SET creates the vhid (INIT); advskew is always overwritten,
/// advbase 0 keeps, a key only when its first byte is non-zero, state 0 changes nothing and a
/// state request is ignored while INIT.
#[test]
fn set_is_read_modify_write_or_loses_settings() {
    let mut k = boxes::opnsense(Release::FreeBsd14);
    set(
        &mut k,
        "vtnet0",
        1,
        &[u32a(3, 2), u32a(4, 100), attr(5, b"pw")],
    );
    let v = k.vhid("vtnet0", 1).unwrap().clone();
    assert_eq!((v.advbase, v.advskew, v.state), (2, 100, VState::Init));
    assert_eq!(&v.key[..3], b"pw\0");
    // A SET that carries only a state: advbase kept, advskew reset, key kept, INIT kept.
    set(&mut k, "vtnet0", 1, &[u32a(2, 2)]);
    let v = k.vhid("vtnet0", 1).unwrap().clone();
    assert_eq!((v.advbase, v.advskew, v.state), (2, 0, VState::Init));
    assert_eq!(&v.key[..2], b"pw");
    // An empty key does not clear it.
    set(&mut k, "vtnet0", 1, &[attr(5, &[0; 20])]);
    assert_eq!(&k.vhid("vtnet0", 1).unwrap().key[..2], b"pw");
    // Out of range: EINVAL.
    for bad in [vec![u32a(4, 255)], vec![u32a(3, 256)], vec![u32a(2, 3)]] {
        assert_eq!(int_of(&set(&mut k, "vtnet0", 1, &bad)[0].payload), EINVAL);
    }
    // Once BACKUP, a state request is carried out.
    aifaddr(&mut k, "vtnet0", v4("192.0.2.1"), 24, 1).unwrap();
    assert_eq!(k.state_of("vtnet0", 1), Some(VState::Backup));
    set(&mut k, "vtnet0", 1, &[u32a(2, 2)]);
    assert_eq!(k.state_of("vtnet0", 1), Some(VState::Master));
    // Peers: 0.0.0.0 keeps, a unicast address sets.
    set(&mut k, "vtnet0", 1, &[attr(7, &[192, 0, 2, 3])]);
    assert_eq!(k.vhid("vtnet0", 1).unwrap().peer, v4("192.0.2.3"));
    set(&mut k, "vtnet0", 1, &[attr(7, &[0, 0, 0, 0])]);
    assert_eq!(k.vhid("vtnet0", 1).unwrap().peer, v4("192.0.2.3"));
}

/// K13/K14 `carp_ioctl_set` allocate before checking advskew's upper bound: an EINVAL leaves a
/// fresh INIT vhid; K15 validates first.
#[test]
fn an_invalid_ioctl_set_leaves_a_vhid_before_15() {
    let mut k = boxes::opnsense(Release::FreeBsd14);
    let mut req = carpreq(0, 9, 0, 255, 1, b"pw");
    assert_eq!(
        ioctl::ioctl_ifr_data(&mut k, SIOCSVH, &name16("vtnet0"), &mut req),
        Err(EINVAL)
    );
    assert_eq!(k.state_of("vtnet0", 9), Some(VState::Init));
    let mut k = boxes::opnsense(Release::FreeBsd15);
    let r = set(&mut k, "vtnet0", 9, &[u32a(4, 255)]);
    assert_eq!(int_of(&r[0].payload), EINVAL);
    assert!(k.vhid("vtnet0", 9).is_none());
}

/// K14's SIOCGVH listing copies every record from one on-stack carpreq: slot 0 holds the last
/// vhid, the rest is stack bytes. K13 copies each record in place.
#[test]
fn the_14_ioctl_listing_is_garbage_after_the_first_slot() {
    for (release, good) in [
        (Release::FreeBsd13 { netlink: false }, true),
        (Release::FreeBsd14, false),
    ] {
        let mut k = boxes::opnsense(release);
        for (vhid, a) in [(1, "192.0.2.1"), (2, "192.0.2.5")] {
            let mut req = carpreq(0, vhid, 0, 0, 1, b"pw");
            ioctl::ioctl_ifr_data(&mut k, SIOCSVH, &name16("vtnet0"), &mut req).unwrap();
            aifaddr(&mut k, "vtnet0", v4(a), 24, vhid).unwrap();
        }
        let mut data = carpreq(255, 0, 0, 0, 0, &[]);
        data.resize(255 * CARPREQ, 0);
        ioctl::ioctl_ifr_data(&mut k, SIOCGVH, &name16("vtnet0"), &mut data).unwrap();
        let vhid_at = |i: usize| int_of(&data[i * CARPREQ + 4..]);
        if good {
            assert_eq!((vhid_at(0), vhid_at(1)), (1, 2));
        } else {
            assert_eq!(vhid_at(0), 2, "the last vhid in slot 0");
            assert_ne!(vhid_at(1), 1, "slot 1 is not a record");
        }
    }
}

/// FreeBSD 15 with main's retirement of the ioctls: SIOCGVH/SIOCSVH reach the generic path
/// (EINVAL); a vhid's version is fixed at creation; a VRRP vhid's GET has VERSION and the VRRP
/// attributes instead of the CARP ones (K15, NL15).
#[test]
fn freebsd_15_has_no_carp_ioctls_and_pins_versions() {
    let mut k = boxes::opnsense(Release::FreeBsd15);
    let mut req = carpreq(0, 1, 0, 0, 1, b"pw");
    assert_eq!(
        ioctl::ioctl_ifr_data(&mut k, SIOCSVH, &name16("vtnet0"), &mut req),
        Err(EINVAL)
    );
    set(
        &mut k,
        "vtnet0",
        7,
        &[
            attr(10, &[3]),
            attr(11, &[200]),
            attr(12, &100u16.to_ne_bytes()),
        ],
    );
    let r = set(&mut k, "vtnet0", 7, &[attr(10, &[2])]);
    assert_eq!(int_of(&r[0].payload), EINVAL, "version change");
    let r = set(
        &mut k,
        "vtnet0",
        7,
        &[attr(10, &[3]), attr(12, &4096u16.to_ne_bytes())],
    );
    assert_eq!(int_of(&r[0].payload), EINVAL, "interval above 4095");
    aifaddr(&mut k, "vtnet0", v4("192.0.2.7"), 24, 7).unwrap();
    let r = get(&mut k, "vtnet0");
    let kinds: Vec<u16> = attrs_of(&r[0].payload).iter().map(|a| a.0).collect();
    assert_eq!(kinds, [1, 2, 10, 11, 12]);
}

// ---- addresses and vhid lifetime ------------------------------------------------------------

/// `carp_attach` (K14): ENOPROTOOPT on an interface without carp, ENOENT for a vhid it lacks;
/// the first address takes the vhid INIT → BACKUP; every attach and detach runs
/// `carp_sc_state` (INIT first); the last address's removal destroys the vhid
/// (`carp_detach`), re-adding an address keeps it (`keep_cif`).
#[test]
fn vhids_live_and_die_with_their_addresses() {
    let mut k = boxes::opnsense(Release::FreeBsd14);
    assert_eq!(
        aifaddr(&mut k, "vtnet0", v4("192.0.2.1"), 24, 1),
        Err(ENOPROTOOPT)
    );
    set(&mut k, "vtnet0", 1, &[u32a(3, 1)]);
    assert_eq!(
        aifaddr(&mut k, "vtnet0", v4("192.0.2.1"), 24, 2),
        Err(ENOENT)
    );
    assert!(!k.iface("vtnet0").unwrap().addrs.iter().any(|a| a.vhid == 2));
    aifaddr(&mut k, "vtnet0", v4("192.0.2.1"), 24, 1).unwrap();
    aifaddr(&mut k, "vtnet0", v4("192.0.2.10"), 24, 1).unwrap();
    let carp_lines: Vec<String> = k
        .devd_lines()
        .into_iter()
        .filter(|l| l.starts_with("!system=CARP"))
        .collect();
    assert_eq!(
        carp_lines,
        [
            "!system=CARP subsystem=1@vtnet0 type=BACKUP\n",
            "!system=CARP subsystem=1@vtnet0 type=INIT\n",
            "!system=CARP subsystem=1@vtnet0 type=BACKUP\n",
        ]
    );
    aifaddr(&mut k, "vtnet0", v4("192.0.2.1"), 24, 1).unwrap();
    assert!(k.vhid("vtnet0", 1).is_some());
    difaddr(&mut k, "vtnet0", v4("192.0.2.10")).unwrap();
    assert!(k.vhid("vtnet0", 1).is_some());
    difaddr(&mut k, "vtnet0", v4("192.0.2.1")).unwrap();
    assert!(k.vhid("vtnet0", 1).is_none());
    assert_eq!(
        difaddr(&mut k, "vtnet0", v4("192.0.2.1")),
        Err(EADDRNOTAVAIL)
    );
    // A vhid that never had an address survives anything but an address's removal.
    set(&mut k, "vtnet0", 3, &[attr(5, b"pw")]);
    assert!(k.vhid("vtnet0", 3).is_some());
}

// ---- sysctls ------------------------------------------------------------------------------

/// `carp_demote_adj_sysctl`: writes add; `carp_allow_sysctl`: a change runs `carp_sc_state`
/// on every vhid — INIT and `ifdown_demotion_factor` per vhid, taken back on allow=1.
#[test]
fn demotion_adds_and_allow_moves_every_vhid() {
    let mut k = boxes::opnsense(Release::FreeBsd14);
    make_vhid(&mut k, "vtnet0", 1, "192.0.2.1");
    make_vhid(&mut k, "vtnet1", 2, "198.51.100.1");
    k.sysctl_write("net.inet.carp.demotion", 240).unwrap();
    k.sysctl_write("net.inet.carp.demotion", 50).unwrap();
    assert_eq!(k.sysctl_read("net.inet.carp.demotion"), Ok(290));
    k.sysctl_write("net.inet.carp.demotion", -290).unwrap();
    k.sysctl_write("net.inet.carp.allow", 0).unwrap();
    assert_eq!(k.state_of("vtnet0", 1), Some(VState::Init));
    assert_eq!(k.state_of("vtnet1", 2), Some(VState::Init));
    assert_eq!(k.sysctl_read("net.inet.carp.demotion"), Ok(480));
    k.sysctl_write("net.inet.carp.allow", 1).unwrap();
    assert_eq!(k.state_of("vtnet0", 1), Some(VState::Backup));
    assert_eq!(k.sysctl_read("net.inet.carp.demotion"), Ok(0));
    assert_eq!(k.sysctl_read("net.inet.carp.nosuch"), Err(ENOENT));
    k.carp_loaded = false;
    assert_eq!(k.sysctl_read("net.inet.carp.allow"), Err(ENOENT));
}

/// A link that goes down: INIT and the ifdown factor once per vhid; back up: BACKUP and the
/// factor taken back (`carp_sc_state` via `carp_linkstate`).
#[test]
fn link_down_demotes_per_vhid() {
    let mut k = boxes::opnsense(Release::FreeBsd14);
    make_vhid(&mut k, "vtnet0", 1, "192.0.2.1");
    make_vhid(&mut k, "vtnet0", 2, "192.0.2.5");
    k.set_link("vtnet0", false);
    assert_eq!(k.sysctl.demotion, 480);
    k.set_link("vtnet0", true);
    assert_eq!(k.sysctl.demotion, 0);
    assert_eq!(k.state_of("vtnet0", 2), Some(VState::Backup));
}

// ---- the world: master-down and the peer --------------------------------------------------

/// Alone on the segment a BACKUP becomes MASTER after 3 × advbase + advskew/256 s; a
/// preempting peer with a higher skew stays BACKUP until the master is demoted past it.
#[test]
fn the_election_follows_carp_input_rules() {
    let mut k = boxes::opnsense(Release::FreeBsd14);
    k.set_speed(0.0);
    make_vhid(&mut k, "vtnet0", 1, "192.0.2.1");
    k.speed = 1.0; // let advance() run the timers without real time moving
    k.advance(3.38);
    assert_eq!(k.state_of("vtnet0", 1), Some(VState::Backup));
    k.advance(0.02);
    assert_eq!(k.state_of("vtnet0", 1), Some(VState::Master));
    k.set_peer(Peer::backup("vtnet0", 1, 200, true));
    assert_eq!(k.state_of("vtnet0", 1), Some(VState::Master));
    k.sysctl_write("net.inet.carp.demotion", 240).unwrap();
    k.advance(0.0);
    assert_eq!(k.state_of("vtnet0", 1), Some(VState::Backup));
    assert_eq!(
        k.devd_lines().last().map(String::as_str),
        Some("!system=CARP subsystem=1@vtnet0 type=BACKUP\n")
    );
}

// ---- getifaddrs ---------------------------------------------------------------------------

/// RTS: one AF_LINK entry per interface with its type and link state, then its addresses,
/// each with the address's vhid in `if_data`; masks shortened.
#[test]
fn getifaddrs_lists_links_then_addresses_with_vhids() {
    let mut k = boxes::opnsense(Release::FreeBsd14);
    make_vhid(&mut k, "vtnet0", 1, "192.0.2.1");
    let e = carp_kernel_model::ifaddrs::entries(&k);
    let lo = e.iter().find(|x| x.name == "lo0").unwrap();
    assert_eq!(lo.addr.as_ref().unwrap()[1], 18);
    assert_eq!(lo.data.unwrap()[0], IFT_LOOP);
    let vip = e
        .iter()
        .find(|x| {
            x.addr
                .as_ref()
                .is_some_and(|a| a[1] == 2 && a[4..8] == [192, 0, 2, 1])
        })
        .unwrap();
    assert_eq!(vip.data.unwrap()[5], 1);
    assert_eq!(vip.netmask.as_ref().unwrap().len(), 7);
    let igb = e.iter().find(|x| x.name == "igb0").unwrap();
    assert_eq!(igb.data.unwrap()[0], IFT_IEEE8023ADLAG);
    let _ = IpAddr::V4(v4("0.0.0.0"));
}
