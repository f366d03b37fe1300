//! Models and kernel snapshots for the native engine's tests, built in Rust (the config reader
//! is tested on its own) and read from tests/fixtures/native/.

use carpd::config::{CarpGroup, CarpKey, IpPrefix, VipAddress, VipMode};
use carpd::native::kernel::KernelState;

/// tests/fixtures/native/<name>.json.
pub fn fixture(name: &str) -> KernelState {
    let path = format!(
        "{}/tests/fixtures/native/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    KernelState::from_json(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A key as ifconfig would make it from `s` (zero-padded to 20 bytes).
pub fn key(s: &str) -> CarpKey {
    let mut k = [0u8; 20];
    k[..s.len()].copy_from_slice(s.as_bytes());
    CarpKey(k)
}

pub fn addr(a: &str, prefix: u8, mode: VipMode) -> VipAddress {
    VipAddress {
        prefix: IpPrefix {
            addr: a.parse().unwrap(),
            prefix,
        },
        mode,
        source: None,
        description: String::new(),
    }
}

/// A CARP group on `device` with advbase 1.
pub fn group(
    device: &str,
    vhid: u8,
    advskew: u8,
    pass: &str,
    addresses: Vec<VipAddress>,
) -> CarpGroup {
    CarpGroup {
        device: device.into(),
        interface_key: device.into(),
        interface_name: device.to_uppercase(),
        vhid,
        advbase: 1,
        advskew,
        key: key(pass),
        addresses,
        peer: None,
        peer6: None,
        description: String::new(),
        source_uuid: None,
        protocol: carpd::config::Protocol::Carp,
    }
}
