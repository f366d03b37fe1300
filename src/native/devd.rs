//! devd(8) notifications about CARP: `!system=CARP subsystem=<vhid>@<ifname> type=<STATE>`.
//!
//! Parsing is pure and tested everywhere; the FreeBSD reader of devd's seqpacket socket is in
//! `platform::freebsd::devd`. Lines that are not CARP state changes are rejected with a typed
//! reason whose [`DevdError::kind`] names a counter.

use crate::proto::State;

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

/// Parse one devd event. Fields may come in any order; a trailing newline (stream socket)
/// or NUL is tolerated.
pub fn parse_event(line: &str) -> Result<CarpEvent, DevdError> {
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
    let system = system.ok_or(DevdError::Missing("system"))?;
    if system != "CARP" {
        return Err(DevdError::OtherSystem(system.to_string()));
    }
    let subsystem = subsystem.ok_or(DevdError::Missing("subsystem"))?;
    let kind = kind.ok_or(DevdError::Missing("type"))?;
    let bad = || DevdError::BadSubsystem(subsystem.to_string());
    let (vhid, device) = subsystem.split_once('@').ok_or_else(bad)?;
    let vhid: u8 = vhid.parse().map_err(|_| bad())?;
    let device_ok = !device.is_empty()
        && device.len() < crate::native::abi::IFNAMSIZ
        && device
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if vhid == 0 || !device_ok {
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
}
