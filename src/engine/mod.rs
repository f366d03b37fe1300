//! The userspace engine: one event loop drives every VHID's [`crate::proto::Machine`], binds
//! it to raw sockets and address control, runs hooks and serves the control socket.
//!
//! The parts that decide (per-VHID records, receive checks, status, reload diff) are plain Rust
//! and build everywhere; the runtime that does the I/O is Linux-only for now.

pub mod group;
pub mod receive;
pub mod report;
#[cfg(target_os = "linux")]
mod runtime;
pub mod ucarp;

use std::path::PathBuf;
use std::time::Duration;

use crate::paths::Paths;

#[cfg(target_os = "linux")]
pub use runtime::run;

/// Where the engine's VHIDs come from.
#[derive(Clone, Debug)]
pub enum Source {
    /// config.xml, re-read on reload (`carpd run`).
    Config(PathBuf),
    /// ucarp's command line: one VHID, ucarp's scripts and signals (`carpd ucarp`).
    Ucarp(Box<ucarp::UcarpMode>),
}

/// How `carpd run --engine userspace` (or `carpd ucarp`) was asked to run.
#[derive(Clone, Debug)]
pub struct Options {
    pub source: Source,
    pub paths: Paths,
    /// Run transition hooks (`--no-hooks` turns them off).
    pub hooks: bool,
    pub hook_timeout: Duration,
    pub tuning: group::Tuning,
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Config(#[from] crate::config::LoadError),
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("persistent state: {0}")]
    State(String),
}

impl EngineError {
    pub fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> EngineError {
        let what = what.into();
        move |source| EngineError::Io { what, source }
    }
}

/// Unix time now, in seconds (for status and transition records).
pub fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}
