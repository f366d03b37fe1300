//! devd(8) notifications about CARP: `!system=CARP subsystem=<vhid>@<ifname> type=<STATE>\n`,
//! the line `carp_set_state()` in freebsd/freebsd-src `sys/netinet/ip_carp.c` hands to
//! `devctl_notify()` (`sys/kern/kern_devctl.c`) on every real state change, and devd
//! (`sbin/devd/devd.cc` `notify_clients()`) sends whole, newline included, as one
//! SOCK_SEQPACKET record to every connected client.
//!
//! [`parse_event`] is pure; lines that are not CARP state changes are rejected with a typed
//! reason whose [`DevdError::kind`] names a counter. [`follow`] reads devd's socket through
//! [`Sys`], reconnecting when devd restarts or drops carpd (devd drops a client whose send
//! fails, and accepts at most 10).
//!
//! carpd never adds a devd rule: devd runs only the first matching notify rule per event, so
//! a second CARP rule would silently disable OPNsense's or never fire.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::sys::Sys;
use crate::proto::State;

/// devd's SOCK_SEQPACKET client socket.
pub const SEQPACKET_PIPE: &str = "/var/run/devd.seqpacket.pipe";

const BACKOFF_MIN: Duration = Duration::from_millis(500);
const BACKOFF_MAX: Duration = Duration::from_secs(30);

/// One CARP state change as the kernel announced it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CarpEvent {
    pub vhid: u8,
    pub device: String,
    pub state: State,
}

impl CarpEvent {
    pub fn name(&self) -> String {
        format!("{}@{}", self.vhid, self.device)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DevdError {
    #[error("empty devd event")]
    Empty,
    #[error(
        "not a notify event (first character {0:?}; attach/detach/nomatch events are not CARP)"
    )]
    NotNotify(char),
    #[error("event of another system ({0})")]
    OtherSystem(String),
    #[error("truncated CARP event: no {0}=")]
    Missing(&'static str),
    #[error("malformed field {0:?} (expected key=value)")]
    Malformed(String),
    #[error("bad subsystem {0:?} (expected <vhid>@<ifname>, vhid 1..255)")]
    BadSubsystem(String),
    #[error("unknown CARP state {0:?} (expected INIT, BACKUP or MASTER)")]
    BadState(String),
}

impl DevdError {
    /// Stable counter name for this kind of rejection.
    pub fn kind(&self) -> &'static str {
        match self {
            DevdError::Empty => "empty",
            DevdError::NotNotify(_) => "not_notify",
            DevdError::OtherSystem(_) => "other_system",
            DevdError::Missing(_) => "truncated",
            DevdError::Malformed(_) => "malformed",
            DevdError::BadSubsystem(_) => "bad_subsystem",
            DevdError::BadState(_) => "bad_state",
        }
    }
}

/// The `system`, `subsystem` and `type` of a notify event (`!…`). Fields may come in any
/// order; a trailing newline (stream socket) or NUL is tolerated.
fn notify_fields(line: &str) -> Result<(&str, Option<&str>, Option<&str>), DevdError> {
    let line = line.trim_end_matches(['\n', '\r', '\0']).trim();
    let mut chars = line.chars();
    let body = match chars.next() {
        None => return Err(DevdError::Empty),
        Some('!') => chars.as_str(),
        Some(c) => return Err(DevdError::NotNotify(c)),
    };
    let (mut system, mut subsystem, mut kind) = (None, None, None);
    for field in body.split_ascii_whitespace() {
        let (k, v) = field
            .split_once('=')
            .ok_or_else(|| DevdError::Malformed(field.to_string()))?;
        match k {
            "system" => system = Some(v),
            "subsystem" => subsystem = Some(v),
            "type" => kind = Some(v),
            _ => {} // devd may add fields (e.g. timestamps); they do not matter here.
        }
    }
    Ok((system.ok_or(DevdError::Missing("system"))?, subsystem, kind))
}

fn valid_ifname(name: &str) -> bool {
    !name.is_empty()
        && name.len() < crate::native::abi::IFNAMSIZ
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// Parse one devd event as a CARP state change.
pub fn parse_event(line: &str) -> Result<CarpEvent, DevdError> {
    let (system, subsystem, kind) = notify_fields(line)?;
    if system != "CARP" {
        return Err(DevdError::OtherSystem(system.to_string()));
    }
    let subsystem = subsystem.ok_or(DevdError::Missing("subsystem"))?;
    let kind = kind.ok_or(DevdError::Missing("type"))?;
    let bad = || DevdError::BadSubsystem(subsystem.to_string());
    let (vhid, device) = subsystem.split_once('@').ok_or_else(bad)?;
    let vhid: u8 = vhid.parse().map_err(|_| bad())?;
    if vhid == 0 || !valid_ifname(device) {
        return Err(bad());
    }
    let state = match kind {
        "INIT" => State::Init,
        "BACKUP" => State::Backup,
        "MASTER" => State::Master,
        _ => return Err(DevdError::BadState(kind.to_string())),
    };
    Ok(CarpEvent {
        vhid,
        device: device.to_string(),
        state,
    })
}

/// An interface event: `!system=IFNET subsystem=<ifname> type=ATTACH|LINK_UP|…`, which
/// freebsd/freebsd-src `sys/net/if.c` sends from `if_attach_internal` and
/// `do_link_state_change` (read at the 14-era blob 619609).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IfnetEvent {
    pub ifname: String,
    /// `ATTACH`, `DETACH`, `LINK_UP`, `LINK_DOWN`.
    pub kind: String,
}

impl IfnetEvent {
    /// The interface appeared or came up: what a service's interface does when it starts.
    pub fn came_up(&self) -> bool {
        matches!(self.kind.as_str(), "ATTACH" | "LINK_UP")
    }
}

/// Parse one devd event as an interface event; `None` for anything else.
pub fn parse_ifnet(line: &str) -> Option<IfnetEvent> {
    let (system, subsystem, kind) = notify_fields(line).ok()?;
    let (ifname, kind) = (subsystem?, kind?);
    (system == "IFNET"
        && valid_ifname(ifname)
        && kind.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'))
    .then(|| IfnetEvent {
        ifname: ifname.to_string(),
        kind: kind.to_string(),
    })
}

/// What the devd reader tells the daemon.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DevdMessage {
    /// Connected to devd; `again` after a lost connection, when events may have been missed.
    Connected {
        again: bool,
    },
    /// The first connection attempt failed (devd not running yet); the reader keeps trying.
    Unavailable(String),
    /// Something worth a log line (a lost connection, a rejected event).
    Note(String),
    Event(CarpEvent),
    Interface(IfnetEvent),
}

/// Read devd's events into `tx` until the receiver goes away, reconnecting with exponential
/// backoff (0.5 s → 30 s). Runs on its own thread (the socket blocks).
pub fn follow(
    sys: Arc<dyn Sys>,
    path: PathBuf,
    tx: tokio::sync::mpsc::UnboundedSender<DevdMessage>,
) {
    let path_text = path.display().to_string();
    let mut backoff = BACKOFF_MIN;
    let mut rejected: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut connected_before = false;
    let mut attempts = 0u64;
    let mut buf = vec![0u8; 8192];
    while !tx.is_closed() {
        attempts += 1;
        match sys.devd_connect(&path_text) {
            Ok(mut sock) => {
                backoff = BACKOFF_MIN;
                if tx
                    .send(DevdMessage::Connected {
                        again: connected_before,
                    })
                    .is_err()
                {
                    return;
                }
                connected_before = true;
                loop {
                    let n = match sock.recv(&mut buf) {
                        Ok(0) => {
                            let _ = tx.send(DevdMessage::Note(format!(
                                "devd closed {path_text}; reconnecting"
                            )));
                            break;
                        }
                        Ok(n) => n,
                        Err(e) if e == super::errno::EINTR => continue,
                        Err(e) => {
                            let _ = tx.send(DevdMessage::Note(format!(
                                "reading {path_text}: {e}; reconnecting"
                            )));
                            break;
                        }
                    };
                    let line = String::from_utf8_lossy(&buf[..n]);
                    let msg = match (parse_event(&line), parse_ifnet(&line)) {
                        (Ok(ev), _) => DevdMessage::Event(ev),
                        (Err(_), Some(ev)) => DevdMessage::Interface(ev),
                        (Err(e), None) => {
                            let count = rejected.entry(e.kind()).or_default();
                            *count += 1;
                            // Other systems' events are normal traffic, not worth a line.
                            if matches!(e.kind(), "other_system" | "not_notify") {
                                continue;
                            }
                            DevdMessage::Note(format!(
                                "devd event dropped ({} so far): {e}",
                                *count
                            ))
                        }
                    };
                    if tx.send(msg).is_err() {
                        return;
                    }
                }
            }
            Err(e) => {
                let text = format!(
                    "cannot connect to {path_text}: {e}; retrying in {:.1} s (is devd running?)",
                    backoff.as_secs_f64()
                );
                let msg = if attempts == 1 {
                    DevdMessage::Unavailable(text)
                } else {
                    DevdMessage::Note(text)
                };
                if tx.send(msg).is_err() {
                    return;
                }
            }
        }
        std::thread::sleep(backoff);
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_events() {
        let e = parse_event("!system=CARP subsystem=1@vtnet0 type=MASTER\n").unwrap();
        assert_eq!(
            e,
            CarpEvent {
                vhid: 1,
                device: "vtnet0".into(),
                state: State::Master
            }
        );
        let e = parse_event("!type=INIT system=CARP subsystem=255@vlan0.100").unwrap();
        assert_eq!(
            (e.vhid, e.device.as_str(), e.state),
            (255, "vlan0.100", State::Init)
        );
        assert_eq!(
            parse_event("!system=CARP subsystem=7@vtnet0_vlan100 type=BACKUP")
                .unwrap()
                .name(),
            "7@vtnet0_vlan100"
        );
    }

    #[test]
    fn garbage_and_truncated_are_typed() {
        let kind = |s: &str| parse_event(s).unwrap_err().kind();
        assert_eq!(kind(""), "empty");
        assert_eq!(kind("\n"), "empty");
        assert_eq!(kind("+uhub0 at usbus0"), "not_notify");
        assert_eq!(
            kind("!system=IFNET subsystem=vtnet0 type=LINK_UP"),
            "other_system"
        );
        assert_eq!(kind("!system=CARP subsystem=1@vtnet0"), "truncated");
        assert_eq!(kind("!system=CARP subsystem=1@vtn"), "truncated");
        assert_eq!(kind("!system=CARP"), "truncated");
        assert_eq!(
            kind("!system=CARP subsystem=1@vtnet0 type=MAS"),
            "bad_state"
        );
        assert_eq!(
            kind("!system=CARP subsystem=0@vtnet0 type=MASTER"),
            "bad_subsystem"
        );
        assert_eq!(
            kind("!system=CARP subsystem=256@vtnet0 type=MASTER"),
            "bad_subsystem"
        );
        assert_eq!(
            kind("!system=CARP subsystem=vtnet0 type=MASTER"),
            "bad_subsystem"
        );
        assert_eq!(
            kind("!system=CARP subsystem=1@ type=MASTER"),
            "bad_subsystem"
        );
        assert_eq!(
            kind("!system=CARP subsystem=1@a;rm type=MASTER"),
            "bad_subsystem"
        );
        assert_eq!(kind("!garbage"), "malformed");
    }

    #[test]
    fn interface_events() {
        let e = parse_ifnet("!system=IFNET subsystem=wg0 type=LINK_UP\n").unwrap();
        assert_eq!((e.ifname.as_str(), e.came_up()), ("wg0", true));
        assert!(
            parse_ifnet("!system=IFNET subsystem=wg0 type=ATTACH")
                .unwrap()
                .came_up()
        );
        assert!(
            !parse_ifnet("!system=IFNET subsystem=wg0 type=LINK_DOWN")
                .unwrap()
                .came_up()
        );
        assert_eq!(
            parse_ifnet("!system=CARP subsystem=1@vtnet0 type=MASTER"),
            None
        );
        assert_eq!(parse_ifnet("!system=IFNET subsystem=a;b type=ATTACH"), None);
        assert_eq!(parse_ifnet("!system=IFNET type=ATTACH"), None);
    }
}
