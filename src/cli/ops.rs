//! Operator controls (maintenance, demotion, forced state, CARP off/on): each sends one request
//! to the running daemon and prints its answer.
use clap::{Args, Subcommand, ValueEnum};

use super::client::request_and_print;
use crate::control::{ForcedState, Request};

#[derive(Subcommand, Debug)]
pub enum MaintenanceAction {
    /// Demote by 240 (named `maintenance`) so a peer takes over
    Enter(MaintenanceArgs),
    /// Remove exactly the `maintenance` demotion
    Leave(MaintenanceArgs),
}

#[derive(Args, Debug)]
pub struct MaintenanceArgs {
    /// Survive a restart and a reboot (written to the state directory before demoting)
    #[arg(long)]
    pub persistent: bool,
    /// Answer as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct DemoteArgs {
    /// Name of the contribution, e.g. `service:openvpn`
    pub name: String,
    /// `+N`, `-N` (added to the contribution) or `clear`
    #[arg(allow_hyphen_values = true)]
    pub change: String,
    /// Keep the contribution across a restart and a reboot (a clear is always kept)
    #[arg(long)]
    pub persistent: bool,
    /// Remove the contribution by itself after this long: `90s`, `15m`, `2h`, `1d` (or seconds)
    #[arg(long = "for", value_name = "DURATION", value_parser = parse_duration)]
    pub expires_in: Option<u64>,
    /// Answer as JSON
    #[arg(long)]
    pub json: bool,
}

/// Longest `--for`: a year, so that a typo cannot make a demotion effectively permanent.
const MAX_FOR: u64 = 366 * 86400;

/// `90s`, `15m`, `2h`, `1d` or plain seconds → seconds (1 s .. a year).
pub fn parse_duration(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let (digits, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a duration: use e.g. 90s, 15m, 2h or 1d"))?;
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        _ => return Err(format!("{text:?}: the unit is s, m, h or d")),
    };
    match n.checked_mul(scale) {
        Some(secs) if (1..=MAX_FOR).contains(&secs) => Ok(secs),
        _ => Err(format!("{text:?}: a duration is 1 s to 366 d")),
    }
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum TargetState {
    Backup,
    Master,
}

#[derive(Args, Debug)]
pub struct StateArgs {
    pub target: TargetState,
    /// Only this VHID (default: all)
    #[arg(long, conflicts_with = "all")]
    pub vhid: Option<u8>,
    /// Every VHID
    #[arg(long)]
    pub all: bool,
    /// Answer as JSON
    #[arg(long)]
    pub json: bool,
}

pub fn maintenance(g: &super::Global, a: MaintenanceAction) -> anyhow::Result<u8> {
    let (enter, args) = match a {
        MaintenanceAction::Enter(args) => (true, args),
        MaintenanceAction::Leave(args) => (false, args),
    };
    let req = Request::Maintenance {
        enter,
        persistent: args.persistent,
    };
    request_and_print(g, req, args.json)
}

pub fn demote(g: &super::Global, a: DemoteArgs) -> anyhow::Result<u8> {
    if !crate::operator::valid_name(&a.name) {
        anyhow::bail!("{}", crate::operator::OperatorError::BadName(a.name));
    }
    let req = match parse_change(&a.change) {
        Ok(Change::Clear) if a.expires_in.is_some() => {
            anyhow::bail!("--for goes with +N or -N, not with clear")
        }
        Ok(Change::Clear) => Request::Demote {
            name: a.name,
            delta: 0,
            clear: true,
            persistent: a.persistent,
            expires_in: None,
        },
        Ok(Change::Delta(delta)) => Request::Demote {
            name: a.name,
            delta,
            clear: false,
            persistent: a.persistent,
            expires_in: a.expires_in,
        },
        Err(reason) => anyhow::bail!("{reason}"),
    };
    request_and_print(g, req, a.json)
}

pub fn state(g: &super::Global, a: StateArgs) -> anyhow::Result<u8> {
    let target = match a.target {
        TargetState::Backup => ForcedState::Backup,
        TargetState::Master => ForcedState::Master,
    };
    let req = Request::State {
        target,
        vhid: a.vhid,
        device: None,
    };
    request_and_print(g, req, a.json)
}

pub fn allow(g: &super::Global, allow: bool, a: super::client::JsonFlag) -> anyhow::Result<u8> {
    let req = if allow {
        Request::Enable
    } else {
        Request::Disable
    };
    request_and_print(g, req, a.json)
}

#[derive(Debug, PartialEq, Eq)]
enum Change {
    Delta(i32),
    Clear,
}

/// `+N`, `-N` or `clear`; a bare `N` is refused so nobody mistakes a delta for a total.
fn parse_change(s: &str) -> Result<Change, String> {
    if s == "clear" {
        return Ok(Change::Clear);
    }
    let signed = s.starts_with('+') || s.starts_with('-');
    match s.parse::<i32>() {
        Ok(n) if signed && (-1000..=1000).contains(&n) => Ok(Change::Delta(n)),
        Ok(_) if signed => Err(format!("demotion change {s} out of range (-1000..+1000)")),
        _ => Err(format!(
            "demotion change must be +N, -N or clear (got {s:?}); it is added to the named contribution"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Ok(90));
        assert_eq!(parse_duration("15m"), Ok(900));
        assert_eq!(parse_duration("2h"), Ok(7200));
        assert_eq!(parse_duration("1d"), Ok(86400));
        assert_eq!(parse_duration("45"), Ok(45));
        for bad in ["", "0", "5x", "m", "-5m", "367d", "99999999999999999999"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn change_forms() {
        assert_eq!(parse_change("+50"), Ok(Change::Delta(50)));
        assert_eq!(parse_change("-240"), Ok(Change::Delta(-240)));
        assert_eq!(parse_change("clear"), Ok(Change::Clear));
        assert!(parse_change("50").is_err());
        assert!(parse_change("+5000").is_err());
        assert!(parse_change("+x").is_err());
    }
}
