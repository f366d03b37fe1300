//! The userspace engine run the way ucarp runs (`carpd ucarp …`, or carpd called as `ucarp`):
//! one VHID with one IPv4 address, from the command line instead of config.xml, and ucarp's
//! contract with the outside kept (UC `src/carp.c` `carp_set_state`, `docarp`; `spawn.c`):
//!
//! - the up/down scripts own the address: carpd adds and removes nothing itself, it calls
//!   `<upscript> <interface> <vip> [<xparam>]` on becoming MASTER (then sends the gratuitous
//!   ARPs) and the downscript with the same arguments on leaving MASTER, and at start on
//!   INIT → BACKUP unless `--neutral`;
//! - an interface without carrier is "BACKUP" to ucarp: leaving MASTER for it runs the
//!   downscript, and coming back runs nothing;
//! - SIGUSR1 logs `<STATE> on <interface> id <vhid>`; SIGUSR2 makes a MASTER step down (the
//!   downscript runs), hold off for 3 s, then wait out a master-down interval as usual;
//! - SIGTERM, SIGINT, SIGQUIT and SIGHUP end it; the downscript runs then only with
//!   `--shutdown` and only if it was not BACKUP. Unlike ucarp, a MASTER also sends the
//!   bow-out advert first, so the peer takes over at once instead of after master-down.
//!
//! Nothing here does I/O: the runtime asks [`script_for`] what a transition runs.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::Duration;

use crate::config::{CarpGroup, HaSettings, Model};
use crate::proto::{Reason, State};

/// ucarp's `sleep(3)` after SIGUSR2 ("hold up a sec…").
pub const STEP_DOWN_HOLD: Duration = Duration::from_secs(3);

/// What ucarp's command line asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UcarpMode {
    /// The one VHID: its address is `--addr`/32 (the scripts decide the real prefix).
    pub group: CarpGroup,
    pub preempt: bool,
    /// `--srcip`: adverts leave from this address of the interface.
    pub srcip: Ipv4Addr,
    pub upscript: Option<PathBuf>,
    pub downscript: Option<PathBuf>,
    /// `<interface> <vip as given> [<xparam>]`.
    pub script_args: Vec<String>,
    /// `--neutral`: no downscript on the first INIT → BACKUP.
    pub neutral: bool,
    /// `--shutdown`: the downscript runs when a signal ends carpd (unless it was BACKUP).
    pub shutdown_scripts: bool,
    /// `--ignoreifstate`: carrier changes are not followed.
    pub ignore_link: bool,
}

impl UcarpMode {
    /// The model the engine runs.
    pub fn model(&self) -> Model {
        Model {
            groups: vec![self.group.clone()],
            ha: HaSettings {
                disable_preempt: !self.preempt,
                ..HaSettings::default()
            },
            maintenance: false,
            settings: Default::default(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Script {
    Up,
    Down,
}

/// Which script a transition runs, as ucarp would. `initial` = the machine has not left its
/// starting INIT before.
pub fn script_for(
    mode: &UcarpMode,
    from: State,
    to: State,
    reason: Reason,
    initial: bool,
) -> Option<Script> {
    match (from, to) {
        (_, State::Master) => Some(Script::Up),
        // carp_set_state(BACKUP) runs the downscript unless it comes from INIT with --neutral;
        // the INIT after a lost carrier is BACKUP to ucarp, so coming back runs nothing.
        (State::Init, State::Backup) if initial => (!mode.neutral).then_some(Script::Down),
        (State::Init, State::Backup) => None,
        (State::Master, _) if reason == Reason::Leaving => {
            mode.shutdown_scripts.then_some(Script::Down)
        }
        (State::Master, _) => Some(Script::Down),
        _ => None,
    }
}

/// ucarp's SIGUSR1 line (it prints MASTER for INIT too; carpd names the state it is in).
pub fn status_line(state: State, interface: &str, vhid: u8) -> String {
    format!("{state} on {interface} id {vhid}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{CarpKey, IpPrefix, VipAddress, VipMode};

    fn mode(neutral: bool, shutdown: bool) -> UcarpMode {
        UcarpMode {
            group: CarpGroup {
                device: "eth0".into(),
                interface_key: "eth0".into(),
                interface_name: "eth0".into(),
                vhid: 1,
                advbase: 1,
                advskew: 0,
                key: CarpKey::default(),
                addresses: vec![VipAddress {
                    prefix: IpPrefix {
                        addr: "10.0.0.1".parse().unwrap(),
                        prefix: 32,
                    },
                    mode: VipMode::Carp,
                    source: None,
                    description: String::new(),
                }],
                peer: None,
                peer6: None,
                description: String::new(),
                source_uuid: None,
                protocol: crate::config::Protocol::Carp,
            },
            preempt: false,
            srcip: "10.0.0.2".parse().unwrap(),
            upscript: None,
            downscript: None,
            script_args: vec![],
            neutral,
            shutdown_scripts: shutdown,
            ignore_link: false,
        }
    }

    #[test]
    fn scripts_follow_ucarps_set_state() {
        use Reason::*;
        use State::*;
        let m = mode(false, false);
        let n = mode(true, true);
        let s = |m: &UcarpMode, f, t, r, i| script_for(m, f, t, r, i);
        assert_eq!(
            s(&m, Init, Backup, InitializationComplete, true),
            Some(Script::Down)
        );
        assert_eq!(s(&n, Init, Backup, InitializationComplete, true), None);
        assert_eq!(s(&m, Init, Backup, InitializationComplete, false), None);
        assert_eq!(
            s(&m, Backup, Master, MasterTimedOut, false),
            Some(Script::Up)
        );
        assert_eq!(
            s(&m, Master, Backup, MoreFrequentAdvertisement, false),
            Some(Script::Down)
        );
        assert_eq!(
            s(&m, Master, Init, HardwareInterfaceDown, false),
            Some(Script::Down)
        );
        assert_eq!(s(&m, Backup, Init, HardwareInterfaceDown, false), None);
        assert_eq!(s(&m, Master, Init, Leaving, false), None);
        assert_eq!(s(&n, Master, Init, Leaving, false), Some(Script::Down));
        assert_eq!(s(&n, Backup, Init, Leaving, false), None);
        assert_eq!(status_line(Master, "eth0", 7), "MASTER on eth0 id 7");
        assert!(!mode(false, false).model().ha.preempt());
    }
}
