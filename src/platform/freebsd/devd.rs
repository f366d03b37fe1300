//! Following devd(8)'s event socket: `/var/run/devd.seqpacket.pipe`, one event per packet.
//! carpd never adds a devd rule (devd runs only one notify rule per event, so a second CARP
//! rule would silently disable OPNsense's or never fire); every connected client receives
//! every event instead.

use socket2::{Domain, SockAddr, Socket, Type};
use std::collections::BTreeMap;
use std::io::Read;
use std::time::Duration;

use crate::native::devd::{CarpEvent, parse_event};

pub const SEQPACKET_PIPE: &str = "/var/run/devd.seqpacket.pipe";

const BACKOFF_MIN: Duration = Duration::from_millis(500);
const BACKOFF_MAX: Duration = Duration::from_secs(30);

fn connect() -> std::io::Result<Socket> {
    let sock = Socket::new(Domain::UNIX, Type::SEQPACKET, None)?;
    sock.connect(&SockAddr::unix(SEQPACKET_PIPE)?)?;
    Ok(sock)
}

/// Read devd events until the receiver goes away, reconnecting with exponential backoff
/// (0.5 s → 30 s) whenever devd restarts. Runs on its own thread.
pub fn follow(tx: tokio::sync::mpsc::UnboundedSender<CarpEvent>) {
    let mut backoff = BACKOFF_MIN;
    let mut rejected: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut buf = vec![0u8; 8192];
    while !tx.is_closed() {
        match connect() {
            Ok(sock) => {
                backoff = BACKOFF_MIN;
                loop {
                    let n = match (&sock).read(&mut buf) {
                        Ok(0) => {
                            eprintln!("carpd: devd closed its socket; reconnecting");
                            break;
                        }
                        Ok(n) => n,
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                        Err(e) => {
                            eprintln!("carpd: reading {SEQPACKET_PIPE}: {e}; reconnecting");
                            break;
                        }
                    };
                    let line = String::from_utf8_lossy(&buf[..n]);
                    match parse_event(&line) {
                        Ok(ev) => {
                            if tx.send(ev).is_err() {
                                return;
                            }
                        }
                        Err(e) => {
                            let count = rejected.entry(e.kind()).or_default();
                            *count += 1;
                            // Other systems' events are normal traffic, not worth a line.
                            if !matches!(e.kind(), "other_system" | "not_notify") {
                                eprintln!("carpd: devd event dropped ({} so far): {e}", *count);
                            }
                        }
                    }
                }
            }
            Err(e) => eprintln!(
                "carpd: cannot connect to {SEQPACKET_PIPE}: {e}; retrying in {:.1}s (is devd running?)",
                backoff.as_secs_f64()
            ),
        }
        std::thread::sleep(backoff);
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}
