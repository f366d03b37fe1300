//! `carpd run --engine native`: apply config.xml to carp(4) once, then follow devd's CARP
//! events and run the transition hooks. SIGHUP re-reads config.xml and applies again;
//! SIGTERM/SIGINT stop after the queued hooks finish (bounded).

use std::path::PathBuf;
use std::time::Duration;

use super::NativeError;
use crate::paths::Paths;

pub struct RunOptions {
    pub config: PathBuf,
    pub paths: Paths,
    /// Run no hooks (on OPNsense core already dispatches rc.syshook.d/carp).
    pub no_hooks: bool,
    pub hook_timeout: Duration,
}

/// How long queued hooks may still run at shutdown.
#[cfg(target_os = "freebsd")]
const DRAIN_LIMIT: Duration = Duration::from_secs(10);

#[cfg(not(target_os = "freebsd"))]
pub fn run(opts: RunOptions) -> Result<(), NativeError> {
    let _ = opts;
    Err(NativeError::Unavailable)
}

#[cfg(target_os = "freebsd")]
pub fn run(opts: RunOptions) -> Result<(), NativeError> {
    if !super::engine_available() {
        return Err(NativeError::NotLoaded);
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(NativeError::Runtime)?;
    rt.block_on(follow(opts))
}

/// Load, plan against the live kernel, execute, record; logs each applied command.
#[cfg(target_os = "freebsd")]
fn apply_once(opts: &RunOptions) -> Result<crate::config::Model, NativeError> {
    let loaded = crate::config::load(&opts.config)?;
    for w in &loaded.warnings {
        eprintln!("carpd: {w}");
    }
    let model = loaded.model;
    let kernel = super::observe()?;
    let mut ledger = super::Ledger::load(&opts.paths.state_dir)?;
    let plan = super::plan_with_ledger(&model, &kernel, Some(&ledger));
    for n in &plan.notes {
        eprintln!("carpd: note: {n}");
    }
    let result = super::execute(&plan);
    let applied = match &result {
        Ok(a) => a.clone(),
        Err(NativeError::Apply(e)) => (0..e.applied.len()).collect(),
        Err(_) => Vec::new(),
    };
    for i in &applied {
        eprintln!("carpd: applied: {}", plan.steps[*i].command());
    }
    super::record_applied(&mut ledger, &model, &plan, &applied);
    ledger.save(&opts.paths.state_dir)?;
    result.map(|_| model)
}

#[cfg(target_os = "freebsd")]
async fn follow(opts: RunOptions) -> Result<(), NativeError> {
    use crate::hooks::{HookEvent, HookRunner};
    use crate::proto::State;
    use std::collections::HashMap;
    use tokio::signal::unix::{SignalKind, signal};

    let hooks = if opts.no_hooks {
        HookRunner::disabled()
    } else {
        HookRunner::new(opts.paths.hooks_dir.clone(), opts.hook_timeout)
    };
    let mut model = apply_once(&opts)?;

    // Previous state per vhid, seeded from the kernel so the first event has a real "from".
    let mut previous: HashMap<(String, u8), State> = HashMap::new();
    let seed = |previous: &mut HashMap<(String, u8), State>| {
        if let Ok(k) = super::observe() {
            for (dev, iface) in &k.interfaces {
                for v in &iface.vhids {
                    previous.insert((dev.clone(), v.vhid), v.state);
                }
            }
        }
    };
    seed(&mut previous);

    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    std::thread::Builder::new()
        .name("devd".into())
        .spawn(move || crate::platform::freebsd::devd::follow(tx))
        .map_err(NativeError::Runtime)?;

    let mut term = signal(SignalKind::terminate()).map_err(NativeError::Runtime)?;
    let mut int = signal(SignalKind::interrupt()).map_err(NativeError::Runtime)?;
    let mut hup = signal(SignalKind::hangup()).map_err(NativeError::Runtime)?;
    loop {
        tokio::select! {
            ev = rx.recv() => {
                let Some(ev) = ev else { break };
                let ev: super::devd::CarpEvent = ev;
                let key = (ev.device.clone(), ev.vhid);
                let prev = previous.insert(key, ev.state).unwrap_or(State::Init);
                let addresses = model
                    .group(&ev.device, ev.vhid)
                    .map(|g| g.addresses.iter().map(|a| a.prefix.addr.to_string()).collect())
                    .unwrap_or_default();
                eprintln!("carpd: {}: {} -> {}", ev.name(), prev, ev.state);
                hooks.submit(HookEvent {
                    vhid: ev.vhid,
                    device: ev.device,
                    state: ev.state,
                    previous: prev,
                    // devd does not carry the kernel's reason.
                    reason: String::new(),
                    addresses,
                });
            }
            _ = hup.recv() => {
                match apply_once(&opts) {
                    Ok(m) => model = m,
                    Err(e) => eprintln!("carpd: reload failed: {e}"),
                }
                seed(&mut previous);
            }
            _ = term.recv() => break,
            _ = int.recv() => break,
        }
    }
    hooks.drain(DRAIN_LIMIT).await;
    Ok(())
}
