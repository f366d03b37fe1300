//! Transition hooks, shared by both engines: every executable in the hooks directory, run in
//! lexical order as `<hook> <vhid>@<ifname> <MASTER|BACKUP|INIT>` (OPNsense's rc.syshook
//! contract) with CARP_* variables in the environment. One FIFO per VHID keeps order; a
//! per-hook timeout kills the hook's process group; nothing here ever blocks the protocol.

use std::path::PathBuf;
use std::time::Duration;

use crate::proto::State;
use crate::status::HookResult;

/// Default time a hook may run before its process group is killed.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// One transition, as the hooks see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HookEvent {
    pub vhid: u8,
    pub device: String,
    pub state: State,
    pub previous: State,
    /// Kernel-style reason (`master timed out`); empty for a replay.
    pub reason: String,
    /// Addresses of the VHID without prefix, in config order (CARP_ADDRESSES, space-separated).
    pub addresses: Vec<String>,
}

/// Handle to the hook runner. Cheap to clone; must be created inside a tokio runtime.
#[derive(Clone, Debug)]
pub struct HookRunner {
    _private: (),
}

impl HookRunner {
    pub fn new(dir: PathBuf, timeout: Duration) -> HookRunner {
        let _ = (dir, timeout);
        todo!("hooks: new")
    }
    /// A runner that runs nothing (`--no-hooks`).
    pub fn disabled() -> HookRunner {
        todo!("hooks: disabled")
    }
    /// Queue the hooks for this event behind earlier events of the same VHID; returns at once.
    pub fn submit(&self, event: HookEvent) {
        let _ = event;
        todo!("hooks: submit")
    }
    /// The most recent results for one VHID, newest last.
    pub fn results(&self, device: &str, vhid: u8) -> Vec<HookResult> {
        let _ = (device, vhid);
        todo!("hooks: results")
    }
    /// Wait until every queued hook has finished or `limit` has passed (used at shutdown).
    pub async fn drain(&self, limit: Duration) {
        let _ = limit;
        todo!("hooks: drain")
    }
}
