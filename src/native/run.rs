//! `carpd run --engine native`: apply config.xml to carp(4), follow devd's CARP events into
//! the transition hooks, and serve the control socket (status, reload, hooks replay,
//! maintenance, demote, state, disable, enable). SIGHUP re-reads config.xml and applies it
//! again; SIGTERM/SIGINT stop after the queued hooks finish (bounded) and leave carp(4) as
//! it is. The daemon itself is in `native::daemon`.

use std::path::PathBuf;
use std::time::Duration;

use super::{Kernel, NativeError};
use crate::logging::Log;
use crate::paths::Paths;

pub struct RunOptions {
    pub config: PathBuf,
    pub paths: Paths,
    /// Run no hooks (on OPNsense core already dispatches rc.syshook.d/carp).
    pub no_hooks: bool,
    pub hook_timeout: Duration,
    /// The kernel to drive.
    pub kernel: Kernel,
    /// devd's SOCK_SEQPACKET pipe ([`super::devd::SEQPACKET_PIPE`]).
    pub devd_path: PathBuf,
    pub log: Log,
    /// Set on OPNsense: core owns VIPs, hooks and maintenance ([`super::opnsense`]).
    pub opnsense: Option<crate::host::Opnsense>,
    pub defguard: DefguardOptions,
}

/// The Defguard gateway follower ([`crate::defguard`]).
pub struct DefguardOptions {
    /// The action's settings file.
    pub conf: PathBuf,
    /// The action, run as `<action> <vhid>@<ifname> <STATE>`.
    pub action: PathBuf,
}

pub fn run(opts: RunOptions) -> Result<(), NativeError> {
    if !opts.kernel.carp_loaded() {
        return Err(NativeError::NotLoaded);
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(NativeError::Runtime)?;
    rt.block_on(async move {
        let mut daemon = super::daemon::Daemon::start(opts).await?;
        let result = daemon.serve().await;
        daemon.shutdown().await;
        result
    })
}
