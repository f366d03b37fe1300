//! devd(8) lines reach the native engine from a socket any root process can write to; a
//! malformed line must become a counted rejection, never a panic. An accepted event must be
//! exactly what the line said: written back in devd's form, it parses to the same event.
//!
//! Run with `scripts/fuzz` or `RUSTC_BOOTSTRAP=1 cargo fuzz run devd_event`; seeds are in
//! `fuzz/corpus/devd_event`.

#![no_main]

use carpd::native::devd::parse_event;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The reader hands over lossily decoded text; fuzz the same.
    let line = String::from_utf8_lossy(data);
    match parse_event(&line) {
        Ok(event) => {
            assert!(event.vhid >= 1, "vhid 0 accepted from {line:?}");
            assert!(!event.device.is_empty());
            let canonical = format!(
                "!system=CARP subsystem={} type={}",
                event.name(),
                event.state
            );
            assert_eq!(
                parse_event(&canonical).as_ref(),
                Ok(&event),
                "re-rendered {canonical:?} from {line:?}"
            );
        }
        Err(err) => {
            assert!(!err.kind().is_empty());
            assert!(!err.to_string().is_empty());
        }
    }
});
