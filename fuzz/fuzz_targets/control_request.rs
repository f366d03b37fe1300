//! The control socket reads one JSON line per request from any local client. Whatever arrives,
//! `parse_request` answers a request or a reason, never panics. An accepted request must
//! survive serialize → parse unchanged (the CLI sends what serde writes), and a refusal's
//! reason must be something a `failed` answer can carry.
//!
//! Run with `scripts/fuzz` or `RUSTC_BOOTSTRAP=1 cargo fuzz run control_request`; seeds are
//! in `fuzz/corpus/control_request`.

#![no_main]

use carpd::control::parse_request;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(line) = std::str::from_utf8(data) else {
        return; // the server rejects non-UTF-8 lines before parsing
    };
    match parse_request(line) {
        Ok(req) => {
            let wire = serde_json::to_string(&req).expect("a request serializes");
            assert_eq!(
                parse_request(&wire).as_ref(),
                Ok(&req),
                "{wire:?} (from {line:?}) does not parse back"
            );
        }
        Err(reason) => {
            assert!(!reason.is_empty(), "empty reason for {line:?}");
            let _ = carpd::control::failed(reason);
        }
    }
});
