//! The native engine: FreeBSD's carp(4) holds the VIPs, carpd makes it match config.xml and
//! turns devd's CARP events into hooks.
//!
//! * [`kernel`]: [`KernelState`], the observed state as a serde snapshot;
//! * [`plan`]: desired [`Model`] vs [`KernelState`] → ordered, minimal [`Plan`] (pure);
//! * [`ledger`]: what carpd applied before (key fingerprints, its own vhids);
//! * [`report`]: kernel state → the shared [`crate::status::StatusReport`];
//! * [`ops`]: operator requests (maintenance, demote, state, disable/enable) → kernel writes;
//! * [`demotion_record`]: what carpd added to the kernel's demotion since boot;
//! * [`devd`]: devd's CARP notifications, parsed and followed;
//! * [`executor`]: [`Kernel`], which reads the kernel and carries out plans and actions over
//!   [`sys::Sys`] — with [`carpctl`] (netlink or ioctl), [`nl`] (netlink conversations),
//!   [`ifaddrs`], [`sysctl`];
//! * [`abi`], [`genl`], [`errno`]: the kernel's bytes, messages and errnos;
//! * [`daemon`], [`run`]: `carpd run --engine native`.
//!
//! Only the syscalls behind [`sys::Sys`] are FreeBSD-specific (`platform::freebsd`); the rest
//! runs on every OS, and the tests run it against a model of carp(4) built from FreeBSD's
//! source (the `kernel-model` crate).

pub mod abi;
pub mod carpctl;
mod daemon;
pub mod demotion_record;
pub mod devd;
pub mod errno;
pub mod executor;
pub mod genl;
pub mod ifaddrs;
pub mod kernel;
pub mod ledger;
pub mod nl;
pub mod opnsense;
pub mod ops;
pub mod plan;
pub mod report;
mod run;
pub mod sys;
pub mod sysctl;

pub use executor::{Kernel, KernelError};
pub use kernel::KernelState;
pub use ledger::Ledger;
pub use plan::{
    Plan, Step, plan, plan_for_daemon, plan_protocols, plan_with_ledger, vrrp_unsupported,
};
pub use report::{add_daemon_view, report, report_with_operator};
pub use run::{DefguardOptions, RunOptions, run};

use crate::config::Model;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum NativeError {
    #[error("no carp(4) here: use --kernel-state FILE, or `carpd run --engine userspace`")]
    Unavailable,
    #[error(
        "carp(4) is not loaded (sysctl net.inet.carp.allow is missing): `kldload carp`, or add carp_load=\"YES\" to /boot/loader.conf"
    )]
    NotLoaded,
    #[error(transparent)]
    Kernel(#[from] KernelError),
    #[error("the devd reader stopped")]
    DevdStopped,
    #[error("cannot write {path}: {source}")]
    Write {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Config(#[from] crate::config::LoadError),
    #[error("cannot start the runtime: {0}")]
    Runtime(std::io::Error),
    #[error(transparent)]
    Ledger(#[from] ledger::LedgerError),
    #[error(transparent)]
    Apply(#[from] ApplyError),
    #[error(transparent)]
    Operator(#[from] crate::operator::OperatorError),
    #[error(transparent)]
    Record(#[from] demotion_record::RecordError),
    #[error(transparent)]
    Ops(#[from] ops::OpsError),
    #[error("`{command}` failed: {reason}")]
    Action { command: String, reason: String },
    #[error("{0}")]
    Unsupported(String),
    #[error(
        "cannot serve the control socket {path}: {source}",
        path = path.display()
    )]
    Control {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// A plan that stopped part-way. Re-running `carpd apply` plans from the kernel as it is now,
/// so it picks up where this one stopped.
#[derive(Debug, thiserror::Error)]
#[error(
    "step {} of {} failed: `{}`: {reason} ({} step(s) applied before it; fix the cause and run `carpd apply` again)",
    index + 1, total, command, applied.len()
)]
pub struct ApplyError {
    /// 0-based index of the failed step.
    pub index: usize,
    pub total: usize,
    pub command: String,
    pub reason: String,
    /// Commands of the steps that were applied, in order.
    pub applied: Vec<String>,
}

/// Record in the ledger what the executed steps put into the kernel. After a complete run
/// the ledger holds exactly the config's vhids; after a partial one it keeps old entries
/// (so a re-run still knows to clean them up) and adds what did get applied.
pub fn record_applied(ledger: &mut Ledger, model: &Model, plan: &Plan, applied: &[usize]) {
    let complete = applied.len() == plan.steps.len();
    for (_, step) in plan
        .steps
        .iter()
        .enumerate()
        .filter(|(i, _)| applied.contains(i))
    {
        match step {
            Step::SetVhid {
                device, vhid, key, ..
            } => ledger.record(device, *vhid, key.as_ref()),
            Step::SetVrrp { device, vhid, .. } => ledger.record(device, *vhid, None),
            _ => {}
        }
    }
    if complete {
        // Every configured vhid is in the kernel now; a key not sent in this run was judged
        // unchanged, so it is the configured one.
        for g in &model.groups {
            if ledger.key_matches(&g.device, g.vhid, &g.key).is_none() {
                ledger.record(&g.device, g.vhid, Some(&g.key));
            }
        }
        ledger
            .vhids
            .retain(|name, _| model.groups.iter().any(|g| g.name() == *name));
    }
}

/// Write the snapshot for `carpd status --kernel-state-dump PATH` (`-` = stdout).
pub fn write_kernel_state_dump(path: &Path, state: &KernelState) -> Result<(), NativeError> {
    let text = state.to_json_pretty() + "\n";
    if path == Path::new("-") {
        print!("{text}");
        return Ok(());
    }
    std::fs::write(path, text).map_err(|source| NativeError::Write {
        path: path.to_path_buf(),
        source,
    })
}
