//! The test vectors of carp-spec §11, byte for byte, in both directions (build the frame from
//! the inputs; take the frame apart and get the inputs back), plus property tests over many
//! random headers and an independent re-implementation of the kernel's HMAC construction.

use std::net::{Ipv4Addr, Ipv6Addr};

use carpd::wire::auth::{self, CarpAuth};
use carpd::wire::carp::{self, Packet, ParseError, Repr};
use carpd::wire::ip;
use carpd::wire::vrrp::{self, Proto112};

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    assert!(s.len().is_multiple_of(2), "odd hex string");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn arr20(v: &[u8]) -> [u8; 20] {
    v.try_into().unwrap()
}

/// Take an IPv4 CARP frame apart the way the receive path does and check it against `auth`.
fn receive_v4<'a>(frame: &'a [u8], auth: &CarpAuth) -> (ip::Ipv4Info<'a>, Repr) {
    assert_eq!(&frame[12..14], &ip::ETHERTYPE_IPV4.to_be_bytes());
    let info = ip::parse_ipv4(&frame[ip::ETHERNET_HEADER_LEN..]).unwrap();
    assert_eq!(vrrp::classify(info.payload), Proto112::Carp);
    let packet = Packet::new_checked(info.payload).unwrap();
    // FreeBSD's IPv4 rule (whole IP payload) and carpd's (36 bytes) agree on real adverts.
    assert!(packet.verify_checksum_over(info.payload.len()));
    let repr = Repr::parse(&packet).unwrap();
    assert!(auth.verify(repr.counter, &repr.hmac), "HMAC must verify");
    (info, repr)
}

// ---- V1: IPv4 CARP, single VIP ----

const V1_HEADER: &str =
    "21 01 00 07 00 01 048a 0102030405060708 14ca3f7ad2d366da5abe95e5e16b062e9cfdc72a";
const V1_IPV4: &str = "45e0 0038 0000 4000 ff70 d861 c0000201 e0000012";

fn v1_auth() -> CarpAuth {
    CarpAuth::new(
        &auth::key_from_passphrase(b"secret"),
        1,
        &[Ipv4Addr::new(192, 0, 2, 100)],
        &[],
    )
}

#[test]
fn v1_build() {
    let counter = 0x0102_0304_0506_0708;
    let hmac = v1_auth().compute(counter);
    assert_eq!(
        hmac.to_vec(),
        hex("14ca3f7ad2d366da5abe95e5e16b062e9cfdc72a")
    );
    let header = Repr {
        vhid: 1,
        advskew: 0,
        advbase: 1,
        demote: 0,
        counter,
        hmac,
    }
    .to_bytes();
    assert_eq!(header.to_vec(), hex(V1_HEADER));
    let datagram = ip::build_ipv4(Ipv4Addr::new(192, 0, 2, 1), ip::MCAST_V4, &header);
    assert_eq!(&datagram[..20], &hex(V1_IPV4)[..]);
    let frame = ip::build_ethernet(
        ip::multicast_mac_v4(ip::MCAST_V4),
        ip::virtual_mac(1),
        ip::ETHERTYPE_IPV4,
        &datagram,
    );
    let expected = hex(&format!(
        "01005e000012 00005e000101 0800 {V1_IPV4} {V1_HEADER}"
    ));
    assert_eq!(frame.len(), 70);
    assert_eq!(frame, expected);
}

#[test]
fn v1_receive() {
    let frame = hex(&format!(
        "01005e000012 00005e000101 0800 {V1_IPV4} {V1_HEADER}"
    ));
    let (info, repr) = receive_v4(&frame, &v1_auth());
    assert_eq!(info.src, Ipv4Addr::new(192, 0, 2, 1));
    assert_eq!(info.dst, ip::MCAST_V4);
    assert_eq!(info.ttl, 255);
    assert_eq!(
        (repr.vhid, repr.advbase, repr.advskew, repr.demote),
        (1, 1, 0, 0)
    );
    assert_eq!(repr.counter, 0x0102_0304_0506_0708);
}

#[test]
fn v1_wrong_key_address_or_counter_fails_hmac() {
    let frame = hex(&format!(
        "01005e000012 00005e000101 0800 {V1_IPV4} {V1_HEADER}"
    ));
    let info = ip::parse_ipv4(&frame[14..]).unwrap();
    let repr = Repr::parse(&Packet::new_checked(info.payload).unwrap()).unwrap();
    let vip = [Ipv4Addr::new(192, 0, 2, 100)];
    let wrong_key = CarpAuth::new(&auth::key_from_passphrase(b"Secret"), 1, &vip, &[]);
    assert!(!wrong_key.verify(repr.counter, &repr.hmac));
    let extra_vip = CarpAuth::new(
        &auth::key_from_passphrase(b"secret"),
        1,
        &[vip[0], Ipv4Addr::new(192, 0, 2, 101)],
        &[],
    );
    assert!(!extra_vip.verify(repr.counter, &repr.hmac));
    assert!(!v1_auth().verify(repr.counter + 1, &repr.hmac));
}

// ---- V2: dual-stack vhid; sorting; IPv6 VIPs in the IPv4 advert's HMAC ----

const V2_HEADER: &str =
    "21 2a 64 07 00 01 723a deadbeefcafebabe b7021730a4a2359a154081f18471575d8cbb3d0c";
const V2_FRAME_PREFIX: &str =
    "01005e000012 00005e00012a 0800 45e0003800004000ff7090580a00000be0000012";

fn v2_auth() -> CarpAuth {
    // Configured order 10.0.0.2, 10.0.0.1: the HMAC sorts them.
    CarpAuth::new(
        &auth::key_from_passphrase(b"mekmitasdigoat"),
        42,
        &[Ipv4Addr::new(10, 0, 0, 2), Ipv4Addr::new(10, 0, 0, 1)],
        &["2001:db8::1".parse().unwrap()],
    )
}

#[test]
fn v2_message_hmac_and_frame() {
    let prefix = auth::hmac_prefix(
        42,
        &[Ipv4Addr::new(10, 0, 0, 2), Ipv4Addr::new(10, 0, 0, 1)],
        &["2001:db8::1".parse().unwrap()],
    );
    let mut msg = prefix;
    msg.extend_from_slice(&0xdead_beef_cafe_babe_u64.to_be_bytes());
    assert_eq!(
        msg,
        hex("02 01 2a 0a000001 0a000002 20010db8000000000000000000000001 deadbeefcafebabe")
    );
    let counter = 0xdead_beef_cafe_babe;
    let hmac = v2_auth().compute(counter);
    assert_eq!(
        hmac.to_vec(),
        hex("b7021730a4a2359a154081f18471575d8cbb3d0c")
    );
    let header = Repr {
        vhid: 42,
        advskew: 100,
        advbase: 1,
        demote: 0,
        counter,
        hmac,
    }
    .to_bytes();
    assert_eq!(header.to_vec(), hex(V2_HEADER));
    let frame = ip::build_ethernet(
        ip::multicast_mac_v4(ip::MCAST_V4),
        ip::virtual_mac(42),
        ip::ETHERTYPE_IPV4,
        &ip::build_ipv4(Ipv4Addr::new(10, 0, 0, 11), ip::MCAST_V4, &header),
    );
    assert_eq!(frame, hex(&format!("{V2_FRAME_PREFIX} {V2_HEADER}")));
    let (info, repr) = receive_v4(&frame, &v2_auth());
    assert_eq!(info.src, Ipv4Addr::new(10, 0, 0, 11));
    assert_eq!((repr.vhid, repr.advskew), (42, 100));
}

#[test]
fn v2_without_the_ipv6_vip_does_not_verify() {
    let v4_only = CarpAuth::new(
        &auth::key_from_passphrase(b"mekmitasdigoat"),
        42,
        &[Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2)],
        &[],
    );
    let hmac = arr20(&hex("b7021730a4a2359a154081f18471575d8cbb3d0c"));
    assert!(!v4_only.verify(0xdead_beef_cafe_babe, &hmac));
    assert!(v2_auth().verify(0xdead_beef_cafe_babe, &hmac));
}

// ---- V3: no password, fully demoted ----

#[test]
fn v3_empty_key_advskew_240() {
    let auth = CarpAuth::new(&[0; 20], 5, &[Ipv4Addr::new(198, 51, 100, 5)], &[]);
    let hmac = auth.compute(1);
    assert_eq!(
        hmac.to_vec(),
        hex("3666338b4d78caf9fbb6a330a3f2185a6496b5e9")
    );
    let expected =
        hex("21 05 f0 07 00 01 f6d8 0000000000000001 3666338b4d78caf9fbb6a330a3f2185a6496b5e9");
    let repr = Repr {
        vhid: 5,
        advskew: 240,
        advbase: 1,
        demote: 0,
        counter: 1,
        hmac,
    };
    assert_eq!(repr.to_bytes().to_vec(), expected);
    assert_eq!(
        Repr::parse(&Packet::new_checked(&expected[..]).unwrap()),
        Ok(repr)
    );
    // The empty passphrase gives the same all-zero key.
    assert_eq!(auth::key_from_passphrase(b""), [0; 20]);
}

// ---- V4: VRRPv3 over IPv4 ----

#[test]
fn v4_vrrpv3_over_ipv4() {
    let src = Ipv4Addr::new(192, 0, 2, 1);
    let pseudo = vrrp::PseudoHeader::V4 {
        src,
        dst: ip::MCAST_V4,
    };
    let repr = vrrp::Repr {
        vrid: 7,
        priority: 100,
        max_adver_int: 100,
        addresses: vrrp::Addresses::V4(vec![Ipv4Addr::new(192, 0, 2, 100)]),
        checksum_style: vrrp::ChecksumStyle::PseudoHeader,
    };
    let payload = repr.to_bytes(&pseudo).unwrap();
    assert_eq!(payload, hex("31 07 64 01 0064 059e c0000264"));
    // Through IP and back: classified as VRRPv3, not a bad CARP packet.
    let datagram = ip::build_ipv4(src, ip::MCAST_V4, &payload);
    let info = ip::parse_ipv4(&datagram).unwrap();
    assert_eq!(vrrp::classify(info.payload), Proto112::VrrpV3);
    let pseudo_rx = vrrp::PseudoHeader::V4 {
        src: info.src,
        dst: info.dst,
    };
    let packet = vrrp::Packet::new_checked(info.payload).unwrap();
    assert_eq!(vrrp::Repr::parse(&packet, &pseudo_rx), Ok(repr.clone()));
    // As CARP it is badver, which is what FreeBSD counts for a CARP vhid.
    assert_eq!(
        Repr::parse(&Packet::new_unchecked(info.payload)),
        Err(ParseError::BadVer)
    );
    // Cisco/Juniper style (no pseudo-header): 0xa82e, also recognised.
    let v2style = vrrp::Repr {
        checksum_style: vrrp::ChecksumStyle::NoPseudoHeader,
        ..repr
    };
    assert_eq!(
        v2style.to_bytes(&pseudo).unwrap(),
        hex("31 07 64 01 0064 a82e c0000264")
    );
}

// ---- V5: IPv6 CARP, whole frame ----

const V5_FRAME: &str = "333300000012 00005e000101 86dd 6e000000 0024 70 ff \
     fe800000000000000000000000000001 ff020000000000000000000000000012 \
     21010007000107340102030405060708c47ba41c7f2350a82f086e01094ce08a31e7d682";

#[test]
fn v5_ipv6_frame() {
    let vip: Ipv6Addr = "2001:db8::100".parse().unwrap();
    let auth = CarpAuth::new(&auth::key_from_passphrase(b"secret"), 1, &[], &[vip]);
    let mut msg = auth::hmac_prefix(1, &[], &[vip]);
    msg.extend_from_slice(&0x0102_0304_0506_0708u64.to_be_bytes());
    assert_eq!(
        msg,
        hex("02 01 01 20010db8000000000000000000000100 0102030405060708")
    );
    let counter = 0x0102_0304_0506_0708;
    let hmac = auth.compute(counter);
    assert_eq!(
        hmac.to_vec(),
        hex("c47ba41c7f2350a82f086e01094ce08a31e7d682")
    );
    let header = Repr {
        vhid: 1,
        advskew: 0,
        advbase: 1,
        demote: 0,
        counter,
        hmac,
    }
    .to_bytes();
    let frame = ip::build_ethernet(
        ip::multicast_mac_v6(ip::MCAST_V6),
        ip::virtual_mac(1),
        ip::ETHERTYPE_IPV6,
        &ip::build_ipv6("fe80::1".parse().unwrap(), ip::MCAST_V6, &header),
    );
    let expected = hex(V5_FRAME);
    assert_eq!(frame.len(), 90);
    assert_eq!(frame, expected);

    // Receive: a raw IPv6 socket hands over the payload only.
    let payload = &expected[14 + 40..];
    assert_eq!(vrrp::classify(payload), Proto112::Carp);
    let repr = Repr::parse(&Packet::new_checked(payload).unwrap()).unwrap();
    assert!(auth.verify(repr.counter, &repr.hmac));
}

// ---- scapy's wrong reference ----

#[test]
fn scapy_counter_example_is_not_matched() {
    let auth = CarpAuth::new(&[0; 20], 1, &[Ipv4Addr::new(192, 168, 0, 111)], &[]);
    let ours = auth.compute(0);
    assert_eq!(
        ours.to_vec(),
        hex("f1f3c90dd2b23f46e14101b554f33ac4a61c7c94")
    );
    let scapy = arr20(&hex("bd82c78f361a0effcf6c14a276ed573b3e6963a3"));
    assert_ne!(ours, scapy);
    assert!(!auth.verify(0, &scapy));
}

// ---- independent reference for the HMAC construction ----

/// The kernel's construction, written out step by step: ipad/opad over a 64-byte pad, address
/// selection by the "smallest above the last, below the sentinel" loop. Independent of
/// `wire::auth` (which uses standard HMAC over a pre-sorted list), so agreement on random
/// inputs checks both the HMAC equivalence and the ordering/dedup/bounds rules.
fn kernel_hmac(
    key: &[u8; 20],
    vhid: u8,
    v4: &[Ipv4Addr],
    v6: &[Ipv6Addr],
    counter: u64,
) -> [u8; 20] {
    use sha1::{Digest, Sha1};
    let mut pad = [0u8; 64];
    pad[..20].copy_from_slice(key);
    for b in pad.iter_mut() {
        *b ^= 0x36;
    }
    let mut inner = Sha1::new();
    inner.update(pad);
    inner.update([2u8]);
    inner.update([1u8]);
    inner.update([vhid]);
    let mut cur: u32 = 0;
    loop {
        let last = cur;
        cur = u32::MAX;
        let mut found = false;
        for a in v4 {
            let n = u32::from(*a);
            if n > last && n < cur {
                cur = n;
                found = true;
            }
        }
        if !found {
            break;
        }
        inner.update(cur.to_be_bytes());
    }
    let mut cur6 = [0u8; 16];
    loop {
        let last6 = cur6;
        cur6 = [0xff; 16];
        let mut found = false;
        for a in v6 {
            let mut b = a.octets();
            let ll = b[0] == 0xfe && b[1] & 0xc0 == 0x80;
            let mc = b[0] == 0xff && matches!(b[1] & 0x0f, 1 | 2);
            if ll || mc {
                b[2] = 0;
                b[3] = 0;
            }
            if b > last6 && b < cur6 {
                cur6 = b;
                found = true;
            }
        }
        if !found {
            break;
        }
        inner.update(cur6);
    }
    inner.update(counter.to_be_bytes());
    let md = inner.finalize();
    for b in pad.iter_mut() {
        *b ^= 0x36 ^ 0x5c;
    }
    let mut outer = Sha1::new();
    outer.update(pad);
    outer.update(md);
    outer.finalize().as_slice().try_into().unwrap()
}

/// xorshift64*: deterministic, seedable, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn byte(&mut self) -> u8 {
        self.next() as u8
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        for b in out.iter_mut() {
            *b = self.byte();
        }
        out
    }
    fn v4(&mut self) -> Ipv4Addr {
        // A small pool makes duplicates frequent; sometimes the loop bounds.
        match self.below(10) {
            0 => Ipv4Addr::UNSPECIFIED,
            1 => Ipv4Addr::BROADCAST,
            2..=5 => Ipv4Addr::new(10, 0, 0, self.below(6) as u8),
            _ => Ipv4Addr::from(self.next() as u32),
        }
    }
    fn v6(&mut self) -> Ipv6Addr {
        match self.below(10) {
            0 => Ipv6Addr::UNSPECIFIED,
            1 => Ipv6Addr::from([0xff; 16]),
            // Link-local with a random embedded zone: collapses with its siblings.
            2..=4 => {
                let mut b = [0u8; 16];
                b[0] = 0xfe;
                b[1] = 0x80;
                b[2] = self.byte();
                b[3] = self.byte();
                b[15] = self.below(3) as u8;
                Ipv6Addr::from(b)
            }
            5 => {
                let mut b = [0u8; 16];
                b[0] = 0xff;
                b[1] = 0x02;
                b[2] = self.byte();
                b[15] = 0x12;
                Ipv6Addr::from(b)
            }
            _ => Ipv6Addr::from(self.bytes::<16>()),
        }
    }
}

#[test]
fn hmac_matches_kernel_construction_on_random_inputs() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for round in 0..2000 {
        let mut key = [0u8; 20];
        let key_len = rng.below(21) as usize;
        key[..key_len].copy_from_slice(&rng.bytes::<20>()[..key_len]);
        let vhid = rng.byte();
        let v4: Vec<Ipv4Addr> = (0..rng.below(6)).map(|_| rng.v4()).collect();
        let v6: Vec<Ipv6Addr> = (0..rng.below(6)).map(|_| rng.v6()).collect();
        let counter = rng.next();
        let auth = CarpAuth::new(&key, vhid, &v4, &v6);
        let expected = kernel_hmac(&key, vhid, &v4, &v6, counter);
        assert_eq!(
            auth.compute(counter),
            expected,
            "round {round}: {v4:?} {v6:?}"
        );
        assert!(auth.verify(counter, &expected));
        let mut bad = expected;
        bad[rng.below(20) as usize] ^= 1 << rng.below(8);
        assert!(!auth.verify(counter, &bad), "round {round}");
    }
}

#[test]
fn reference_agrees_on_the_vectors() {
    // Keeps the reference honest: it must reproduce the published values too.
    let key = auth::key_from_passphrase(b"secret");
    assert_eq!(
        kernel_hmac(
            &key,
            1,
            &[Ipv4Addr::new(192, 0, 2, 100)],
            &[],
            0x0102_0304_0506_0708
        )
        .to_vec(),
        hex("14ca3f7ad2d366da5abe95e5e16b062e9cfdc72a")
    );
    assert_eq!(
        kernel_hmac(&[0; 20], 1, &[Ipv4Addr::new(192, 168, 0, 111)], &[], 0).to_vec(),
        hex("f1f3c90dd2b23f46e14101b554f33ac4a61c7c94")
    );
}

// ---- round trips and robustness ----

#[test]
fn carp_repr_round_trips() {
    let mut rng = Rng(0x0123_4567_89ab_cdef);
    for _ in 0..20_000 {
        let repr = Repr {
            vhid: rng.byte(),
            advskew: rng.byte(),
            advbase: rng.byte(),
            demote: rng.byte(),
            counter: rng.next(),
            hmac: rng.bytes::<20>(),
        };
        let bytes = repr.to_bytes();
        assert_eq!(bytes[0], 0x21);
        assert_eq!(bytes[3], carp::AUTHLEN);
        let packet = Packet::new_checked(&bytes[..]).unwrap();
        assert!(packet.verify_checksum());
        assert_eq!(Repr::parse(&packet), Ok(repr));
        assert_eq!(vrrp::classify(&bytes), Proto112::Carp);
        // Any single flipped bit is caught (version bits as badver, the rest as badsum).
        let bit = rng.below(36 * 8) as usize;
        let mut flipped = bytes;
        flipped[bit / 8] ^= 1 << (bit % 8);
        let err = Repr::parse(&Packet::new_unchecked(&flipped[..])).unwrap_err();
        let expected = if bit / 8 == 0 && bit % 8 >= 4 {
            ParseError::BadVer
        } else {
            ParseError::BadSum
        };
        assert_eq!(err, expected, "bit {bit}");
    }
}

#[test]
fn vrrp_repr_round_trips() {
    let mut rng = Rng(0xfeed_f00d_dead_beef);
    for _ in 0..3000 {
        let v6 = rng.below(2) == 0;
        let n = rng.below(20) as usize;
        let (addresses, pseudo) = if v6 {
            (
                vrrp::Addresses::V6((0..n).map(|_| Ipv6Addr::from(rng.bytes::<16>())).collect()),
                vrrp::PseudoHeader::V6 {
                    src: Ipv6Addr::from(rng.bytes::<16>()),
                    dst: ip::MCAST_V6,
                },
            )
        } else {
            (
                vrrp::Addresses::V4((0..n).map(|_| Ipv4Addr::from(rng.next() as u32)).collect()),
                vrrp::PseudoHeader::V4 {
                    src: Ipv4Addr::from(rng.next() as u32),
                    dst: ip::MCAST_V4,
                },
            )
        };
        let checksum_style = if !v6 && rng.below(3) == 0 {
            vrrp::ChecksumStyle::NoPseudoHeader
        } else {
            vrrp::ChecksumStyle::PseudoHeader
        };
        let repr = vrrp::Repr {
            vrid: rng.byte(),
            priority: rng.byte(),
            max_adver_int: rng.below(4096) as u16,
            addresses,
            checksum_style,
        };
        let bytes = repr.to_bytes(&pseudo).unwrap();
        assert_eq!(vrrp::classify(&bytes), Proto112::VrrpV3);
        let parsed = vrrp::Repr::parse(&vrrp::Packet::new_unchecked(&bytes[..]), &pseudo);
        assert_eq!(parsed, Ok(repr));
    }
}

#[test]
fn ip_round_trips() {
    let mut rng = Rng(42);
    for _ in 0..2000 {
        let len = rng.below(200) as usize;
        let payload: Vec<u8> = (0..len).map(|_| rng.byte()).collect();
        let src = Ipv4Addr::from(rng.next() as u32);
        let dst = Ipv4Addr::from(rng.next() as u32);
        let mut d = ip::build_ipv4(src, dst, &payload);
        // Link-layer padding after the datagram is dropped.
        let pad = rng.below(30) as usize;
        d.extend(std::iter::repeat_n(0u8, pad));
        let info = ip::parse_ipv4(&d).unwrap();
        assert_eq!((info.src, info.dst, info.ttl), (src, dst, 255));
        assert_eq!(info.payload, &payload[..]);
    }
}

#[test]
fn random_garbage_never_panics() {
    let mut rng = Rng(7);
    let pseudo4 = vrrp::PseudoHeader::V4 {
        src: Ipv4Addr::new(192, 0, 2, 1),
        dst: ip::MCAST_V4,
    };
    let pseudo6 = vrrp::PseudoHeader::V6 {
        src: Ipv6Addr::LOCALHOST,
        dst: ip::MCAST_V6,
    };
    let auth = v1_auth();
    for _ in 0..50_000 {
        let len = rng.below(80) as usize;
        let mut buf: Vec<u8> = (0..len).map(|_| rng.byte()).collect();
        // Bias towards plausible first bytes so the deeper checks run too.
        if let Some(first) = buf.first_mut() {
            *first = match rng.below(4) {
                0 => 0x21,
                1 => 0x31,
                2 => 0x45,
                _ => *first,
            };
        }
        let _ = vrrp::classify(&buf);
        if let Ok(repr) = Repr::parse(&Packet::new_unchecked(&buf[..])) {
            let _ = auth.verify(repr.counter, &repr.hmac);
            assert_eq!(
                Repr::parse(&Packet::new_unchecked(&repr.to_bytes()[..])),
                Ok(repr)
            );
        }
        for pseudo in [&pseudo4, &pseudo6] {
            if let Ok(repr) = vrrp::Repr::parse(&vrrp::Packet::new_unchecked(&buf[..]), pseudo) {
                let again = repr.to_bytes(pseudo).unwrap();
                let reparsed = vrrp::Repr::parse(&vrrp::Packet::new_unchecked(&again[..]), pseudo);
                assert_eq!(reparsed, Ok(repr));
            }
        }
        if let Ok(info) = ip::parse_ipv4(&buf) {
            assert!(info.payload.len() <= buf.len());
            let _ = Repr::parse(&Packet::new_unchecked(info.payload));
        }
    }
}

/// The fuzz seeds (fuzz/corpus/carp_packet) are the vectors above; check each still decodes to
/// what its name says, so the corpus cannot rot into inputs that stop at the first check.
#[test]
fn fuzz_seed_corpus_decodes() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/carp_packet");
    let read =
        |name: &str| std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("seed {name}: {e}"));
    for name in ["v1_carp_header", "v3_carp_header", "v5_carp_header"] {
        let bytes = read(name);
        assert_eq!(vrrp::classify(&bytes), Proto112::Carp, "{name}");
        assert!(
            Repr::parse(&Packet::new_unchecked(&bytes[..])).is_ok(),
            "{name}"
        );
    }
    assert_eq!(read("v1_carp_header"), hex(V1_HEADER));
    let (_, repr) = receive_v4(
        &[&[0u8; 12][..], &[8, 0], &read("v1_ipv4_datagram")].concat(),
        &v1_auth(),
    );
    assert_eq!(repr.vhid, 1);
    let (_, repr) = receive_v4(
        &[&[0u8; 12][..], &[8, 0], &read("v2_ipv4_datagram")].concat(),
        &v2_auth(),
    );
    assert_eq!(repr.vhid, 42);
    let vrrp_seed = read("v4_vrrpv3_payload");
    assert_eq!(vrrp::classify(&vrrp_seed), Proto112::VrrpV3);
    let pseudo = vrrp::PseudoHeader::V4 {
        src: Ipv4Addr::new(192, 0, 2, 1),
        dst: ip::MCAST_V4,
    };
    assert!(vrrp::Repr::parse(&vrrp::Packet::new_unchecked(&vrrp_seed[..]), &pseudo).is_ok());
}
