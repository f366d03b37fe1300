//! FreeBSD-exact CARP HMAC (carp-spec §2): HMAC-SHA1 with the 20-byte key over
//! `02 01 <vhid>` ‖ IPv4 addresses sorted, once each ‖ IPv6 addresses sorted (link-local scope
//! bytes zeroed) ‖ the 8 counter bytes. The part before the counter is fixed per vhid, so it is
//! hashed once here, as the kernel's `carp_hmac_prepare` does.

use std::net::{Ipv4Addr, Ipv6Addr};

/// Precomputed HMAC state of one vhid. Rebuild it when the key or the address set changes.
#[derive(Clone)]
pub struct CarpAuth {
    _private: (),
}

impl CarpAuth {
    pub fn new(key: &[u8; 20], vhid: u8, v4: &[Ipv4Addr], v6: &[Ipv6Addr]) -> CarpAuth {
        let _ = (key, vhid, v4, v6);
        todo!("wire: hmac prepare")
    }
    /// The HMAC an advert with this counter carries.
    pub fn compute(&self, counter: u64) -> [u8; 20] {
        let _ = counter;
        todo!("wire: hmac generate")
    }
    /// Constant-time comparison of a received HMAC.
    pub fn verify(&self, counter: u64, hmac: &[u8; 20]) -> bool {
        let _ = (counter, hmac);
        todo!("wire: hmac verify")
    }
}

impl std::fmt::Debug for CarpAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CarpAuth(..)")
    }
}
