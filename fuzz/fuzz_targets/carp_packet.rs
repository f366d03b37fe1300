//! Everything the receive path does to bytes from the wire must never panic, whatever arrives:
//! the input is tried as a raw-socket IPv4 datagram and as a bare protocol-112 payload (what
//! an IPv6 raw socket returns). A CARP header that parses must survive emit → parse unchanged.
//!
//! Run with `scripts/fuzz` or `RUSTC_BOOTSTRAP=1 cargo fuzz run carp_packet` from the repository
//! root (stable Rust is enough with RUSTC_BOOTSTRAP=1); seeds are in `fuzz/corpus/carp_packet`.

#![no_main]

use std::net::{Ipv4Addr, Ipv6Addr};

use carpd::wire::auth::CarpAuth;
use carpd::wire::{carp, ip, vrrp};
use libfuzzer_sys::fuzz_target;

fn payload(bytes: &[u8], auth: &CarpAuth, pseudo: &vrrp::PseudoHeader) {
    match vrrp::classify(bytes) {
        vrrp::Proto112::Carp | vrrp::Proto112::Unknown | vrrp::Proto112::VrrpV2 => {
            let packet = carp::Packet::new_unchecked(bytes);
            if let Ok(repr) = carp::Repr::parse(&packet) {
                let _ = auth.verify(repr.counter, &repr.hmac);
                let again = repr.to_bytes();
                let reparsed = carp::Repr::parse(&carp::Packet::new_unchecked(&again[..]));
                assert_eq!(
                    reparsed,
                    Ok(repr),
                    "emit of a parsed header must parse back"
                );
            }
        }
        vrrp::Proto112::VrrpV3 => {
            let packet = vrrp::Packet::new_unchecked(bytes);
            if let Ok(repr) = vrrp::Repr::parse(&packet, pseudo) {
                let again = repr
                    .to_bytes(pseudo)
                    .expect("a parsed advert can be emitted");
                let reparsed = vrrp::Repr::parse(&vrrp::Packet::new_unchecked(&again[..]), pseudo);
                assert_eq!(reparsed, Ok(repr));
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let vip = [Ipv4Addr::new(192, 0, 2, 100)];
    let auth = CarpAuth::new(&[0x5a; 20], 1, &vip, &[Ipv6Addr::LOCALHOST]);
    if let Ok(info) = ip::parse_ipv4(data) {
        let pseudo = vrrp::PseudoHeader::V4 {
            src: info.src,
            dst: info.dst,
        };
        payload(info.payload, &auth, &pseudo);
    }
    let pseudo6 = vrrp::PseudoHeader::V6 {
        src: "fe80::1".parse().unwrap(),
        dst: ip::MCAST_V6,
    };
    payload(data, &auth, &pseudo6);
});
