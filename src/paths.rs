//! Where carpd keeps its socket, pidfile, persistent state and hooks.
//!
//! Every path can be moved by flag or environment so several instances run side by side
//! (the namespace tests and the demo run two or three on one host).

use std::path::PathBuf;

#[cfg(any(target_os = "freebsd", target_os = "macos"))]
const DEFAULT_STATE_DIR: &str = "/var/db/carpd";
#[cfg(not(any(target_os = "freebsd", target_os = "macos")))]
const DEFAULT_STATE_DIR: &str = "/var/lib/carpd";

#[cfg(any(target_os = "freebsd", target_os = "macos"))]
const DEFAULT_HOOKS_DIR: &str = "/usr/local/etc/rc.syshook.d/carp";
#[cfg(not(any(target_os = "freebsd", target_os = "macos")))]
const DEFAULT_HOOKS_DIR: &str = "/etc/carpd/hooks.d";

const DEFAULT_RUN_DIR: &str = "/var/run/carpd";

/// The Defguard action's settings and the action itself (`scripts/stage-install` installs
/// the actions under share/carpd/hooks; the OPNsense plugin puts its copy among core's hooks).
#[cfg(any(target_os = "freebsd", target_os = "macos"))]
const DEFAULT_DEFGUARD_CONF: &str = "/usr/local/etc/carpd/defguard-gateway.conf";
#[cfg(not(any(target_os = "freebsd", target_os = "macos")))]
const DEFAULT_DEFGUARD_CONF: &str = "/etc/carpd/defguard-gateway.conf";
#[cfg(any(target_os = "freebsd", target_os = "macos"))]
const DEFAULT_DEFGUARD_ACTION: &str = "/usr/local/share/carpd/hooks/defguard-gateway";
#[cfg(not(any(target_os = "freebsd", target_os = "macos")))]
const DEFAULT_DEFGUARD_ACTION: &str = "/usr/share/carpd/hooks/defguard-gateway";
/// Where the os-carpd plugin installs the action on OPNsense.
pub const OPNSENSE_DEFGUARD_ACTION: &str = "usr/local/etc/rc.syshook.d/carp/50-defguard-gateway";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Paths {
    pub run_dir: PathBuf,
    pub state_dir: PathBuf,
    pub hooks_dir: PathBuf,
}

impl Default for Paths {
    fn default() -> Self {
        Paths {
            run_dir: DEFAULT_RUN_DIR.into(),
            state_dir: DEFAULT_STATE_DIR.into(),
            hooks_dir: DEFAULT_HOOKS_DIR.into(),
        }
    }
}

impl Paths {
    /// UNIX control socket (JSON lines, mode 0600).
    pub fn control_socket(&self) -> PathBuf {
        self.run_dir.join("carpd.sock")
    }
    pub fn pidfile(&self) -> PathBuf {
        self.run_dir.join("carpd.pid")
    }
    /// Daemon-owned persistent operator state (maintenance, named demotions).
    pub fn persistent_state(&self) -> PathBuf {
        self.state_dir.join("state.json")
    }
}

pub fn default_run_dir() -> &'static str {
    DEFAULT_RUN_DIR
}
pub fn default_state_dir() -> &'static str {
    DEFAULT_STATE_DIR
}
pub fn default_hooks_dir() -> &'static str {
    DEFAULT_HOOKS_DIR
}
pub fn default_defguard_conf() -> &'static str {
    DEFAULT_DEFGUARD_CONF
}
pub fn default_defguard_action() -> &'static str {
    DEFAULT_DEFGUARD_ACTION
}
