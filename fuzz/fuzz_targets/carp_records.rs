//! SIOCGVH's answer on FreeBSD 13 is an array of `struct carpreq` the kernel filled: a
//! count, vhids, states and timing that carpd must never trust blindly (14's kernel fills all
//! but the first slot with stack bytes). Any buffer decodes to records or an error, never a
//! panic, and what it decodes is consistent: vhids 1..255, none twice.
//!
//! Run with `scripts/fuzz` or `RUSTC_BOOTSTRAP=1 cargo fuzz run carp_records`; seeds are in
//! `fuzz/corpus/carp_records`.

#![no_main]

use carpd::native::carpctl::decode_siocgvh;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(records) = decode_siocgvh(data) {
        let mut seen = std::collections::BTreeSet::new();
        for r in &records {
            assert!((1..=255).contains(&r.vhid), "vhid {} decoded", r.vhid);
            assert!(seen.insert(r.vhid), "vhid {} twice", r.vhid);
        }
        assert!(records.len() * 40 <= data.len());
    }
});
