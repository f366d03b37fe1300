//! Netlink answers come from the kernel: outside input as far as carpd's native engine is
//! concerned (a buggy or newer kernel, a truncated datagram). Whatever arrives, a conversation
//! ends in an answer or an error — never a panic or an endless wait — and every message it
//! returns parses to a carp record or an error.
//!
//! The input is a sequence of datagrams, each prefixed with its length (one byte, then that
//! many bytes); the conversation asks as GET (until NLMSG_DONE), as GETFAMILY (one message)
//! and as SET (until the ACK).
//!
//! Run with `scripts/fuzz` or `RUSTC_BOOTSTRAP=1 cargo fuzz run netlink_reply`; seeds are in
//! `fuzz/corpus/netlink_reply`.

#![no_main]

use carpd::native::genl;
use carpd::native::nl::{NlConn, Until};
use carpd::native::sys::{Datagram, Errno};
use libfuzzer_sys::fuzz_target;
use std::collections::VecDeque;

/// Hands out the fuzzer's datagrams, then "timeout".
struct Replay(VecDeque<Vec<u8>>);

impl Datagram for Replay {
    fn send(&mut self, _msg: &[u8]) -> Result<(), Errno> {
        Ok(())
    }
    fn recv(&mut self, buf: &mut [u8]) -> Result<usize, Errno> {
        let d = self.0.pop_front().ok_or(Errno(35))?;
        let n = d.len().min(buf.len());
        buf[..n].copy_from_slice(&d[..n]);
        Ok(n)
    }
}

/// Split the input into datagrams; the sequence numbers carpd will use (1, 2, 3 for the three
/// requests) are what a fuzzer has to guess, so every message also gets seq patched to 1 when
/// the datagram's first byte is odd.
fn datagrams(mut data: &[u8]) -> VecDeque<Vec<u8>> {
    let mut out = VecDeque::new();
    while let Some((&len, rest)) = data.split_first() {
        let n = usize::from(len).min(rest.len());
        let mut d = rest[..n].to_vec();
        if len % 2 == 1 && d.len() >= 12 {
            d[8..12].copy_from_slice(&1u32.to_ne_bytes());
        }
        out.push_back(d);
        data = &rest[n..];
    }
    out
}

fuzz_target!(|data: &[u8]| {
    for until in [Until::Done, Until::Single, Until::Ack] {
        let mut conn = NlConn::over(Box::new(Replay(datagrams(data))));
        if let Ok(payloads) = conn.request("fuzz", until, |seq| {
            genl::carp_get_request(0x20, seq, "vtnet0")
        }) {
            for p in payloads {
                let _ = genl::parse_carp_info(&p);
                let _ = genl::family_id(&p);
            }
        }
    }
});
