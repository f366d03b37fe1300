//! FreeBSD-exact CARP HMAC (carp-spec §2): HMAC-SHA1 with the 20-byte key over
//! `02 01 <vhid>` ‖ IPv4 addresses sorted, once each ‖ IPv6 addresses sorted (link-local scope
//! bytes zeroed) ‖ the 8 counter bytes. The part before the counter is fixed per vhid, so it is
//! hashed once here, as the kernel's `carp_hmac_prepare` does.
//!
//! The kernel builds the HMAC by hand (ipad/opad over a 64-byte pad holding the key). Because
//! standard HMAC zero-pads keys shorter than the 64-byte block, that is exactly HMAC-SHA1 with
//! the 20 key bytes as key, which is what is used here.
//!
//! Address order follows the kernel's selection loop, which repeatedly picks the smallest
//! address strictly greater than the previous one and strictly smaller than an all-ones
//! sentinel. Three facts fall out of that loop and are reproduced:
//! - duplicates are hashed once;
//! - the starting value (`0.0.0.0`, `::`) and the sentinel (`255.255.255.255`,
//!   `ffff:…:ffff`) are never hashed (none is a usable VIP anyway);
//! - scope-embedded IPv6 addresses are compared and hashed with bytes 2–3 zeroed, so
//!   `fe80::1` on two interfaces counts once.

use std::net::{Ipv4Addr, Ipv6Addr};

use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;

use super::carp::{TYPE_ADVERTISEMENT, VERSION};

/// Length of a CARP key (`CARP_KEY_LEN`).
pub const KEY_LEN: usize = 20;

type HmacSha1 = Hmac<Sha1>;

/// Precomputed HMAC state of one vhid. Rebuild it when the key or the address set changes.
#[derive(Clone)]
pub struct CarpAuth {
    /// HMAC state after key, `02 01 vhid` and the addresses: each advert only adds its counter.
    prepared: HmacSha1,
}

impl CarpAuth {
    pub fn new(key: &[u8; 20], vhid: u8, v4: &[Ipv4Addr], v6: &[Ipv6Addr]) -> CarpAuth {
        // The kernel's 64-byte pad: key first, zeros after. Handing HMAC a full block makes it
        // use the bytes as they are (no hashing of long keys, no fallible length check).
        let mut block = [0u8; 64];
        block[..KEY_LEN].copy_from_slice(key);
        let mut mac = <HmacSha1 as KeyInit>::new(&block.into());
        mac.update(&hmac_prefix(vhid, v4, v6));
        CarpAuth { prepared: mac }
    }
    /// The HMAC an advert with this counter carries.
    pub fn compute(&self, counter: u64) -> [u8; 20] {
        let mut mac = self.prepared.clone();
        mac.update(&counter.to_be_bytes());
        let mut out = [0u8; 20];
        out.copy_from_slice(&mac.finalize().into_bytes());
        out
    }
    /// Constant-time comparison of a received HMAC.
    pub fn verify(&self, counter: u64, hmac: &[u8; 20]) -> bool {
        let mut mac = self.prepared.clone();
        mac.update(&counter.to_be_bytes());
        // `verify_slice` compares in constant time, unlike the kernel's `bcmp`: an attacker on
        // the segment learns nothing from response timing.
        mac.verify_slice(hmac).is_ok()
    }
}

impl std::fmt::Debug for CarpAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The state is derived from the key: never print it.
        f.write_str("CarpAuth(..)")
    }
}

/// The fixed part of the HMAC message: `02 01 vhid` ‖ IPv4 set ‖ IPv6 set (counter excluded).
///
/// Public so tests and diagnostics (`carpd` showing what a peer must have configured) can show
/// the exact bytes the kernel hashes.
pub fn hmac_prefix(vhid: u8, v4: &[Ipv4Addr], v6: &[Ipv6Addr]) -> Vec<u8> {
    let v4 = sorted_v4(v4);
    let v6 = sorted_v6(v6);
    let mut msg = Vec::with_capacity(3 + 4 * v4.len() + 16 * v6.len());
    // Version and type are two separate bytes here, not the packed 0x21 of the header.
    msg.extend_from_slice(&[VERSION, TYPE_ADVERTISEMENT, vhid]);
    for a in &v4 {
        msg.extend_from_slice(&a.octets());
    }
    for a in &v6 {
        msg.extend_from_slice(a);
    }
    msg
}

/// IPv4 addresses in hash order: ascending numerically, once each, without the loop's bounds.
pub fn sorted_v4(addrs: &[Ipv4Addr]) -> Vec<Ipv4Addr> {
    let mut out: Vec<Ipv4Addr> = addrs
        .iter()
        .copied()
        .filter(|a| *a != Ipv4Addr::UNSPECIFIED && *a != Ipv4Addr::BROADCAST)
        .collect();
    // Ipv4Addr orders by its numeric value, which is what `ntohl` comparison means.
    out.sort_unstable();
    out.dedup();
    out
}

/// IPv6 addresses in hash order: scope bytes zeroed, ascending bytewise, once each.
pub fn sorted_v6(addrs: &[Ipv6Addr]) -> Vec<[u8; 16]> {
    let mut out: Vec<[u8; 16]> = addrs
        .iter()
        .map(|a| hash_form_v6(*a))
        .filter(|b| *b != [0u8; 16] && *b != [0xffu8; 16])
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// The bytes the kernel hashes for one IPv6 address.
///
/// KAME stacks keep the zone index of scope-embedded addresses (link-local unicast fe80::/10,
/// link-local and interface-local multicast) in bytes 2–3; the kernel zeroes them before
/// hashing, i.e. hashes the on-wire form. Zeroing them here too makes an address read from
/// an OS that embeds the zone hash the same as the clean one.
pub fn hash_form_v6(addr: Ipv6Addr) -> [u8; 16] {
    let mut b = addr.octets();
    if is_scope_embedded(&b) {
        b[2] = 0;
        b[3] = 0;
    }
    b
}

/// `IN6_IS_SCOPE_EMBED`: link-local unicast, or multicast of interface- or link-local scope.
fn is_scope_embedded(b: &[u8; 16]) -> bool {
    let link_local_unicast = b[0] == 0xfe && (b[1] & 0xc0) == 0x80;
    let multicast_scope = if b[0] == 0xff {
        Some(b[1] & 0x0f)
    } else {
        None
    };
    link_local_unicast || matches!(multicast_scope, Some(0x1) | Some(0x2))
}

/// The 20-byte key the kernel holds for a passphrase set with `ifconfig ... pass`: the bytes
/// up to 19 (ifconfig copies with `strlcpy` into 20 bytes, so the last is always NUL), zero
/// padded. OPNsense's own mangling (spaces removed, `addslashes`) is the config layer's
/// business; this only does what ifconfig does.
pub fn key_from_passphrase(pass: &[u8]) -> [u8; KEY_LEN] {
    let mut key = [0u8; KEY_LEN];
    // strlcpy stops at an embedded NUL too.
    let end = pass.iter().position(|&b| b == 0).unwrap_or(pass.len());
    let n = end.min(KEY_LEN - 1);
    key[..n].copy_from_slice(&pass[..n]);
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn v1_message_and_hmac() {
        let v4 = [Ipv4Addr::new(192, 0, 2, 100)];
        let mut msg = hmac_prefix(1, &v4, &[]);
        msg.extend_from_slice(&0x0102_0304_0506_0708u64.to_be_bytes());
        assert_eq!(msg, hex("02 01 01 c0000264 0102030405060708"));
        let auth = CarpAuth::new(&key_from_passphrase(b"secret"), 1, &v4, &[]);
        let mac = auth.compute(0x0102_0304_0506_0708);
        assert_eq!(
            mac.to_vec(),
            hex("14ca3f7ad2d366da5abe95e5e16b062e9cfdc72a")
        );
        assert!(auth.verify(0x0102_0304_0506_0708, &mac));
    }

    #[test]
    fn verify_rejects_any_single_bit_flip_and_wrong_counter() {
        let auth = CarpAuth::new(
            &key_from_passphrase(b"secret"),
            1,
            &[Ipv4Addr::new(192, 0, 2, 100)],
            &[],
        );
        let mac = auth.compute(7);
        assert!(auth.verify(7, &mac));
        assert!(!auth.verify(8, &mac));
        for byte in 0..20 {
            for bit in 0..8 {
                let mut bad = mac;
                bad[byte] ^= 1 << bit;
                assert!(!auth.verify(7, &bad), "flip {byte}.{bit}");
            }
        }
    }

    #[test]
    fn v4_sorted_numerically_with_duplicates_once() {
        let input = [
            Ipv4Addr::new(10, 0, 0, 2),
            Ipv4Addr::new(9, 255, 255, 255),
            Ipv4Addr::new(10, 0, 0, 1),
            Ipv4Addr::new(10, 0, 0, 2),
            Ipv4Addr::new(192, 0, 2, 1),
            Ipv4Addr::new(10, 0, 0, 10),
        ];
        assert_eq!(
            sorted_v4(&input),
            vec![
                Ipv4Addr::new(9, 255, 255, 255),
                Ipv4Addr::new(10, 0, 0, 1),
                Ipv4Addr::new(10, 0, 0, 2),
                Ipv4Addr::new(10, 0, 0, 10),
                Ipv4Addr::new(192, 0, 2, 1),
            ]
        );
    }

    #[test]
    fn loop_bounds_are_never_hashed() {
        let v4 = [
            Ipv4Addr::UNSPECIFIED,
            Ipv4Addr::new(192, 0, 2, 1),
            Ipv4Addr::BROADCAST,
        ];
        let v6 = [Ipv6Addr::UNSPECIFIED, Ipv6Addr::from([0xff; 16])];
        assert_eq!(hmac_prefix(3, &v4, &v6), hex("02 01 03 c0000201"));
    }

    #[test]
    fn v6_sorted_bytewise_with_duplicates_once() {
        let a: Ipv6Addr = "2001:db8::1".parse().unwrap();
        let b: Ipv6Addr = "2001:db8::100".parse().unwrap();
        let c: Ipv6Addr = "2001:db8:1::".parse().unwrap();
        assert_eq!(
            sorted_v6(&[c, b, a, b]),
            vec![a.octets(), b.octets(), c.octets()]
        );
    }

    #[test]
    fn link_local_scope_bytes_are_zeroed_and_collapse() {
        // fe80:0004::1 is fe80::1 with zone 4 embedded the KAME way.
        let embedded: Ipv6Addr = "fe80:4::1".parse().unwrap();
        let clean: Ipv6Addr = "fe80::1".parse().unwrap();
        assert_eq!(hash_form_v6(embedded), clean.octets());
        assert_eq!(sorted_v6(&[embedded, clean]), vec![clean.octets()]);
        // Link-local and interface-local multicast too; global and site-scoped ones are left.
        let mc_link: Ipv6Addr = "ff02:7::12".parse().unwrap();
        assert_eq!(
            hash_form_v6(mc_link),
            "ff02::12".parse::<Ipv6Addr>().unwrap().octets()
        );
        let mc_if: Ipv6Addr = "ff01:7::1".parse().unwrap();
        assert_eq!(
            hash_form_v6(mc_if),
            "ff01::1".parse::<Ipv6Addr>().unwrap().octets()
        );
        let mc_site: Ipv6Addr = "ff05:7::1".parse().unwrap();
        assert_eq!(hash_form_v6(mc_site), mc_site.octets());
        let global: Ipv6Addr = "2001:db8:7::1".parse().unwrap();
        assert_eq!(hash_form_v6(global), global.octets());
        // fe80::/10 covers febf:..., which is embedded as well.
        let febf: Ipv6Addr = "febf:1234::1".parse().unwrap();
        assert_eq!(
            hash_form_v6(febf),
            "febf::1".parse::<Ipv6Addr>().unwrap().octets()
        );
        // HMACs agree whichever form the caller passes.
        let key = key_from_passphrase(b"k");
        assert_eq!(
            CarpAuth::new(&key, 9, &[], &[embedded]).compute(1),
            CarpAuth::new(&key, 9, &[], &[clean]).compute(1)
        );
    }

    #[test]
    fn input_order_does_not_matter() {
        let key = key_from_passphrase(b"order");
        let v4a = [Ipv4Addr::new(10, 0, 0, 2), Ipv4Addr::new(10, 0, 0, 1)];
        let v4b = [
            Ipv4Addr::new(10, 0, 0, 1),
            Ipv4Addr::new(10, 0, 0, 2),
            Ipv4Addr::new(10, 0, 0, 1),
        ];
        let v6a: [Ipv6Addr; 2] = [
            "2001:db8::2".parse().unwrap(),
            "2001:db8::1".parse().unwrap(),
        ];
        let v6b = [v6a[1], v6a[0]];
        assert_eq!(
            CarpAuth::new(&key, 4, &v4a, &v6a).compute(99),
            CarpAuth::new(&key, 4, &v4b, &v6b).compute(99)
        );
        // ... but the vhid, key and address set do.
        let base = CarpAuth::new(&key, 4, &v4a, &v6a).compute(99);
        assert_ne!(base, CarpAuth::new(&key, 5, &v4a, &v6a).compute(99));
        assert_ne!(
            base,
            CarpAuth::new(&key_from_passphrase(b"Order"), 4, &v4a, &v6a).compute(99)
        );
        assert_ne!(base, CarpAuth::new(&key, 4, &v4a[..1], &v6a).compute(99));
        assert_ne!(base, CarpAuth::new(&key, 4, &v4a, &v6a[..1]).compute(99));
    }

    #[test]
    fn passphrase_is_truncated_like_ifconfig() {
        assert_eq!(&key_from_passphrase(b"secret")[..7], b"secret\0");
        let long = key_from_passphrase(b"abcdefghijklmnopqrstuvwxyz");
        assert_eq!(&long[..19], b"abcdefghijklmnopqrs");
        assert_eq!(long[19], 0);
        assert_eq!(key_from_passphrase(b"ab\0cd"), key_from_passphrase(b"ab"));
        assert_eq!(key_from_passphrase(b""), [0u8; 20]);
    }

    #[test]
    fn debug_does_not_leak_state() {
        let auth = CarpAuth::new(&key_from_passphrase(b"topsecret"), 1, &[], &[]);
        assert_eq!(format!("{auth:?}"), "CarpAuth(..)");
    }
}
