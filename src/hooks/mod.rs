//! Transition hooks, shared by both engines: every executable in the hooks directory, run in
//! lexical order as `<hook> <vhid>@<ifname> <MASTER|BACKUP|INIT>` (OPNsense's rc.syshook
//! contract) with CARP_* variables in the environment. One FIFO per VHID keeps order; a
//! per-hook timeout kills the hook's process group; nothing here ever blocks the protocol.
//!
//! Which files run (re-read for every event, so hooks may be added or removed at run time):
//! - regular files, or symlinks to regular files, directly in the directory (no recursion);
//! - with at least one execute bit set (`chmod +x`), as OPNsense starts each hook directly;
//! - not hidden (`.name`), and not an editor/package leftover: names ending in `~`, `.sample`,
//!   `.bak`, `.orig`, `.rej`, `.swp`, `.tmp`, `.disabled`, `.pkgsave`, `.pkgnew`, `.rpmsave`,
//!   `.rpmnew`, `.dpkg-old`, `.dpkg-new`, `.dpkg-dist`. This lets an operator park a hook by
//!   renaming it instead of deleting it.
//!
//! They run one after another in byte order of their names (`20-openvpn` before `50-mdns`),
//! like rc.syshook's `find -s`. A failing hook is logged and the next one still runs.
//!
//! Each hook gets stdin from /dev/null and its own process group; on timeout the whole group
//! gets SIGKILL, so `sleep 1000 &` inside a hung hook dies with it. A hook that exits normally
//! may leave background processes behind (a hook that starts a service must be able to).
//! Its combined stdout/stderr, capped at [`OUTPUT_CAP`] bytes, goes to the log line by line.
//!
//! [`HookRunner::new_program`] runs one program instead of a directory, with fixed words
//! before the usual two arguments: on OPNsense carpd replays through core's own
//! `rc.syshook carp <vhid>@<ifname> <STATE>`, with the same queueing, timeout and results.
//! [`HookRunner::new_scripts`] runs ucarp's up or down script with ucarp's arguments
//! (`<interface> <vip> [<xparam>]`) instead, for `carpd ucarp`.

use std::collections::{HashMap, VecDeque};
use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::io::AsyncReadExt;
use tokio::sync::{Notify, mpsc};

use crate::proto::State;
use crate::status::HookResult;

/// Default time a hook may run before its process group is killed.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Results kept per VHID for `carpd status`.
pub const RESULTS_KEPT: usize = 8;

/// Bytes of a hook's combined stdout/stderr that reach the log; the rest is read and dropped
/// (so a chatty hook cannot block on a full pipe) and counted.
pub const OUTPUT_CAP: usize = 4096;

/// How long to keep reading a finished hook's output pipe. A background child that inherited
/// the pipe keeps it open; we must not wait for it.
const OUTPUT_GRACE: Duration = Duration::from_millis(200);

/// A queue this long for one VHID means the hooks are slower than the VHID flaps; said once
/// per crossing so the operator knows why hooks lag behind the state.
const BACKLOG_WARN: usize = 16;

/// Where the runner's log lines go (the engine routes them to syslog or stderr).
pub type LogFn = Arc<dyn Fn(&str) + Send + Sync>;

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

type Key = (String, u8);

/// Handle to the hook runner. Cheap to clone; must be created inside a tokio runtime.
#[derive(Clone)]
pub struct HookRunner {
    inner: Option<Arc<Inner>>,
}

impl std::fmt::Debug for HookRunner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.inner {
            None => f.write_str("HookRunner(disabled)"),
            Some(i) => f
                .debug_struct("HookRunner")
                .field("target", &i.shared.target)
                .field("timeout", &i.shared.timeout)
                .field("pending", &i.shared.pending.load(Ordering::SeqCst))
                .finish(),
        }
    }
}

/// What runs for an event.
#[derive(Debug)]
enum Target {
    /// Every hook in this directory.
    Dir(PathBuf),
    /// This one program, with `prefix` before `<vhid>@<ifname> <STATE>`.
    Program { path: PathBuf, prefix: Vec<String> },
    /// ucarp's scripts: `up` for MASTER, `down` for any other state, each run as
    /// `<script> <args…>` and nothing else, as ucarp's `spawn_handler` runs them.
    Scripts {
        up: Option<PathBuf>,
        down: Option<PathBuf>,
        args: Vec<String>,
    },
}

/// Owned by the handles.
struct Inner {
    shared: Arc<Shared>,
    runtime: tokio::runtime::Handle,
}

/// What the workers need.
struct Shared {
    /// One worker per VHID with events in flight. A worker retires (and leaves this map) as
    /// soon as its queue is empty, so hundreds of quiet VHIDs cost no task and no channel.
    queues: Mutex<HashMap<Key, mpsc::UnboundedSender<HookEvent>>>,
    target: Target,
    timeout: Duration,
    log: LogFn,
    results: Mutex<HashMap<Key, VecDeque<HookResult>>>,
    /// Events submitted and not yet finished, over all VHIDs.
    pending: AtomicUsize,
    /// Woken whenever `pending` drops to zero.
    idle: Notify,
    /// Set while the hooks directory is missing, so that is logged once, not per event.
    dir_missing: AtomicBool,
    /// Where results also go (`carpd events`), once the daemon has one.
    events: std::sync::OnceLock<crate::events::EventBus>,
    /// Per-VHID backlog lengths, for the lag warning.
    backlog: Mutex<HashMap<Key, usize>>,
}

impl HookRunner {
    /// A runner that logs to stderr. The daemon uses [`HookRunner::new_with_log`].
    pub fn new(dir: PathBuf, timeout: Duration) -> HookRunner {
        HookRunner::new_with_log(dir, timeout, Arc::new(|line: &str| eprintln!("{line}")))
    }

    /// A runner whose log lines (hook start, exit, output, timeouts) go to `log`.
    ///
    /// Panics when called outside a tokio runtime (a programming error, not an input error).
    pub fn new_with_log(dir: PathBuf, timeout: Duration, log: LogFn) -> HookRunner {
        HookRunner::with_target(Target::Dir(dir), timeout, log)
    }

    /// A runner that runs one program as `<path> <prefix…> <vhid>@<ifname> <STATE>`.
    pub fn new_program(
        path: PathBuf,
        prefix: Vec<String>,
        timeout: Duration,
        log: LogFn,
    ) -> HookRunner {
        HookRunner::with_target(Target::Program { path, prefix }, timeout, log)
    }

    /// A runner for ucarp's up/down scripts: on an event for MASTER it runs `up`, on any
    /// other `down`, with exactly `args` (ucarp's `<interface> <vip> [<xparam>]`). The engine
    /// decides which transitions reach it.
    pub fn new_scripts(
        up: Option<PathBuf>,
        down: Option<PathBuf>,
        args: Vec<String>,
        timeout: Duration,
        log: LogFn,
    ) -> HookRunner {
        HookRunner::with_target(Target::Scripts { up, down, args }, timeout, log)
    }

    fn with_target(target: Target, timeout: Duration, log: LogFn) -> HookRunner {
        let runtime = tokio::runtime::Handle::try_current()
            .expect("HookRunner must be created inside a tokio runtime");
        HookRunner {
            inner: Some(Arc::new(Inner {
                shared: Arc::new(Shared {
                    queues: Mutex::new(HashMap::new()),
                    target,
                    timeout,
                    log,
                    results: Mutex::new(HashMap::new()),
                    pending: AtomicUsize::new(0),
                    idle: Notify::new(),
                    dir_missing: AtomicBool::new(false),
                    events: std::sync::OnceLock::new(),
                    backlog: Mutex::new(HashMap::new()),
                }),
                runtime,
            })),
        }
    }

    /// Also tell `carpd events` listeners every result.
    pub fn publish_to(&self, events: crate::events::EventBus) {
        if let Some(inner) = &self.inner {
            let _ = inner.shared.events.set(events);
        }
    }

    /// A runner that runs nothing (`--no-hooks`).
    pub fn disabled() -> HookRunner {
        HookRunner { inner: None }
    }

    /// Whether this runner runs hooks at all.
    pub fn is_enabled(&self) -> bool {
        self.inner.is_some()
    }

    /// Queue the hooks for this event behind earlier events of the same VHID; returns at once.
    pub fn submit(&self, event: HookEvent) {
        let Some(inner) = &self.inner else { return };
        let key: Key = (event.device.clone(), event.vhid);
        let shared = &inner.shared;
        shared.pending.fetch_add(1, Ordering::SeqCst);
        {
            let mut backlog = lock(&shared.backlog);
            let n = backlog.entry(key.clone()).or_insert(0);
            *n += 1;
            if *n == BACKLOG_WARN {
                (shared.log)(&format!(
                    "hooks: {}@{}: {} events waiting; hooks run slower than the VHID changes state",
                    key.1, key.0, BACKLOG_WARN
                ));
            }
        }
        let mut queues = lock(&shared.queues);
        let sender = queues.entry(key.clone()).or_insert_with(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            inner
                .runtime
                .spawn(worker(Arc::clone(&inner.shared), key.clone(), rx));
            tx
        });
        if let Err(mpsc::error::SendError(event)) = sender.send(event) {
            // The worker is gone only if the runtime is shutting down; account for the event
            // so `drain` does not wait for it.
            (shared.log)(&format!(
                "hooks: {}@{}: not run for {} (runtime stopping)",
                event.vhid, event.device, event.state
            ));
            queues.remove(&key);
            shared.finish_event(&key);
        }
    }

    /// The most recent results for one VHID, newest last.
    pub fn results(&self, device: &str, vhid: u8) -> Vec<HookResult> {
        let Some(inner) = &self.inner else {
            return Vec::new();
        };
        lock(&inner.shared.results)
            .get(&(device.to_string(), vhid))
            .map(|q| q.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Events submitted and not yet finished.
    pub fn pending(&self) -> usize {
        self.inner
            .as_ref()
            .map_or(0, |i| i.shared.pending.load(Ordering::SeqCst))
    }

    /// Wait until every queued hook has finished or `limit` has passed (used at shutdown).
    /// Hooks still running at the limit keep running until the runtime drops them, which kills
    /// their direct process.
    pub async fn drain(&self, limit: Duration) {
        let Some(inner) = &self.inner else { return };
        let shared = &inner.shared;
        let wait = async {
            loop {
                let notified = shared.idle.notified();
                tokio::pin!(notified);
                // Register before checking, so a wake-up between the check and the await
                // is not lost.
                notified.as_mut().enable();
                if shared.pending.load(Ordering::SeqCst) == 0 {
                    return;
                }
                notified.await;
            }
        };
        if tokio::time::timeout(limit, wait).await.is_err() {
            (shared.log)(&format!(
                "hooks: {} event(s) still running after {:?}; not waiting longer",
                shared.pending.load(Ordering::SeqCst),
                limit
            ));
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding one of these locks leaves plain data behind; keep going.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    fn finish_event(&self, key: &Key) {
        if let Some(n) = lock(&self.backlog).get_mut(key) {
            *n = n.saturating_sub(1);
        }
        if self.pending.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.idle.notify_waiters();
        }
    }

    fn record(&self, key: &Key, result: HookResult) {
        if let Some(bus) = self.events.get() {
            bus.publish(&crate::events::Event::Hook {
                vhid: key.1,
                device: key.0.clone(),
                result: result.clone(),
            });
        }
        let mut results = lock(&self.results);
        let q = results.entry(key.clone()).or_default();
        q.push_back(result);
        while q.len() > RESULTS_KEPT {
            q.pop_front();
        }
    }
}

/// Runs one VHID's events in order, then retires when none is left.
async fn worker(shared: Arc<Shared>, key: Key, mut rx: mpsc::UnboundedReceiver<HookEvent>) {
    loop {
        let event = match rx.try_recv() {
            Ok(event) => event,
            Err(_) => {
                // `submit` sends while holding this lock, so after this second look under it
                // no event can reach a worker that has left.
                let mut queues = lock(&shared.queues);
                match rx.try_recv() {
                    Ok(event) => event,
                    Err(_) => {
                        queues.remove(&key);
                        return;
                    }
                }
            }
        };
        run_event(&shared, &key, &event).await;
        shared.finish_event(&key);
    }
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// `<vhid>@<ifname> <STATE>`, the two arguments of an OPNsense rc.syshook.d/carp hook.
fn syshook_args(event: &HookEvent) -> [String; 2] {
    [
        format!("{}@{}", event.vhid, event.device),
        event.state.as_str().to_string(),
    ]
}

async fn run_event(shared: &Shared, key: &Key, event: &HookEvent) {
    let dir = match &shared.target {
        Target::Dir(dir) => dir.clone(),
        Target::Program { path, prefix } => {
            let mut args = prefix.clone();
            args.extend(syshook_args(event));
            let result = run_hook(shared, &file_name(path), path, &args, event).await;
            shared.record(key, result);
            return;
        }
        Target::Scripts { up, down, args } => {
            let script = if event.state == State::Master {
                up
            } else {
                down
            };
            if let Some(path) = script {
                let result = run_hook(shared, &file_name(path), path, args, event).await;
                shared.record(key, result);
            }
            return;
        }
    };
    let listed = tokio::task::spawn_blocking({
        let dir = dir.clone();
        move || scan(&dir)
    })
    .await
    .unwrap_or_else(|e| Err(std::io::Error::other(e)));
    let hooks = match listed {
        Ok(Scan { hooks: h, .. }) => {
            if shared.dir_missing.swap(false, Ordering::SeqCst) {
                (shared.log)(&format!(
                    "hooks: directory {} is present again",
                    dir.display()
                ));
            }
            h
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if !shared.dir_missing.swap(true, Ordering::SeqCst) {
                (shared.log)(&format!(
                    "hooks: directory {} does not exist; no hooks run until it is created",
                    dir.display()
                ));
            }
            return;
        }
        Err(e) => {
            (shared.log)(&format!(
                "hooks: cannot read {}: {e}; no hooks run for {}@{} {}",
                dir.display(),
                event.vhid,
                event.device,
                event.state
            ));
            return;
        }
    };
    let args = syshook_args(event);
    for (name, path) in hooks {
        let result = run_hook(shared, &name, &path, &args, event).await;
        shared.record(key, result);
    }
}

/// Names we never run, though they may be executable: editor backups, package-manager
/// leftovers and parked hooks.
const SKIPPED_SUFFIXES: &[&str] = &[
    "~",
    ".sample",
    ".bak",
    ".orig",
    ".rej",
    ".swp",
    ".tmp",
    ".disabled",
    ".pkgsave",
    ".pkgnew",
    ".rpmsave",
    ".rpmnew",
    ".dpkg-old",
    ".dpkg-new",
    ".dpkg-dist",
];

/// Whether a file name is one the runner considers a hook (before checking type and mode).
pub fn is_hook_name(name: &std::ffi::OsStr) -> bool {
    let bytes = name.as_bytes();
    if bytes.is_empty() || bytes[0] == b'.' {
        return false;
    }
    !SKIPPED_SUFFIXES
        .iter()
        .any(|s| bytes.ends_with(s.as_bytes()))
}

/// What a hooks directory holds: the hooks to run, in byte order of their names, and the
/// files that look meant as hooks but will not run, with why.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Scan {
    pub hooks: Vec<(String, PathBuf)>,
    pub skipped: Vec<(String, &'static str)>,
}

/// Read the hooks directory. Blocking (a directory listing); the runner calls it on tokio's
/// blocking pool.
pub fn scan(dir: &Path) -> std::io::Result<Scan> {
    let mut found: Vec<(OsString, PathBuf)> = Vec::new();
    let mut skipped = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        if !is_hook_name(&name) {
            continue;
        }
        let path = entry.path();
        // Follows symlinks: a link to an executable is a hook; a dangling link is not.
        let why = match std::fs::metadata(&path) {
            Err(_) if entry.file_type().is_ok_and(|t| t.is_symlink()) => "a symlink to nothing",
            Err(_) => "cannot be read",
            Ok(meta) if !meta.is_file() => continue,
            Ok(meta) if meta.permissions().mode() & 0o111 == 0 => {
                "not executable (chmod +x to run it)"
            }
            Ok(_) => {
                found.push((name, path));
                continue;
            }
        };
        skipped.push((name.to_string_lossy().into_owned(), why));
    }
    found.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    skipped.sort();
    Ok(Scan {
        hooks: found
            .into_iter()
            .map(|(n, p)| (n.to_string_lossy().into_owned(), p))
            .collect(),
        skipped,
    })
}

/// The start-up log lines about the hooks directory: which hooks will run, and each file
/// that will not (a hook that silently never runs is what users hit).
pub fn describe(dir: &Path) -> Vec<String> {
    let d = dir.display();
    match scan(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            vec![format!("hooks: {d} does not exist; no hooks will run")]
        }
        Err(e) => vec![format!("hooks: cannot read {d}: {e}")],
        Ok(scan) => {
            let names: Vec<&str> = scan.hooks.iter().map(|(n, _)| n.as_str()).collect();
            let mut lines = vec![if names.is_empty() {
                format!("hooks: none in {d}")
            } else {
                format!("hooks: {} in {d}: {}", names.len(), names.join(", "))
            }];
            lines.extend(
                scan.skipped
                    .iter()
                    .map(|(name, why)| format!("hooks: {d}/{name} will not run: {why}")),
            );
            lines
        }
    }
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

async fn run_hook(
    shared: &Shared,
    name: &str,
    path: &Path,
    args: &[String],
    event: &HookEvent,
) -> HookResult {
    let subject = format!("{}@{}", event.vhid, event.device);
    let started = Instant::now();
    let finish = |exit_code: Option<i32>, timed_out: bool| HookResult {
        hook: name.to_string(),
        state: event.state.as_str().to_string(),
        exit_code,
        timed_out,
        duration_ms: started.elapsed().as_millis().min(u128::from(u64::MAX)) as u64,
        at: unix_now(),
    };

    // ETXTBSY: the file is still open for writing somewhere (a package manager installing
    // it right now); that clears within moments, so try again briefly.
    let mut attempt = 0;
    let (mut child, mut out_rx) = loop {
        match spawn_hook(path, args, event) {
            Ok(spawned) => break spawned,
            Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) && attempt < 5 => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(20 * attempt)).await;
            }
            Err(e) => {
                (shared.log)(&format!(
                    "hooks: {name} {subject} {}: cannot start: {e} (is it a script without a #! line?)",
                    event.state
                ));
                return finish(None, false);
            }
        }
    };
    let pgid = child.id();

    let mut output = Vec::new();
    let mut dropped = 0usize;
    let mut buf = [0u8; 4096];
    let mut eof = false;
    let mut timed_out = false;
    let deadline = tokio::time::Instant::now() + shared.timeout;
    let status = loop {
        tokio::select! {
            r = out_rx.read(&mut buf), if !eof => match r {
                Ok(0) | Err(_) => eof = true,
                Ok(n) => keep_output(&mut output, &mut dropped, &buf[..n]),
            },
            s = child.wait() => break s,
            _ = tokio::time::sleep_until(deadline) => {
                timed_out = true;
                if let Some(pid) = pgid {
                    kill_group(pid);
                }
                break child.wait().await;
            }
        }
    };
    // Collect what is still in the pipe, without waiting on background children.
    if !eof {
        let _ = tokio::time::timeout(OUTPUT_GRACE, async {
            loop {
                match out_rx.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => keep_output(&mut output, &mut dropped, &buf[..n]),
                }
            }
        })
        .await;
    }

    let result = match status {
        Ok(s) => finish(if timed_out { None } else { s.code() }, timed_out),
        Err(_) => finish(None, timed_out),
    };
    let how = match (&status, timed_out) {
        (_, true) => format!(
            "killed after {} ms (timeout {:?}), with its process group",
            result.duration_ms, shared.timeout
        ),
        (Ok(s), false) => match (s.code(), std::os::unix::process::ExitStatusExt::signal(s)) {
            (Some(c), _) => format!("exit {c} after {} ms", result.duration_ms),
            (None, Some(sig)) => format!("killed by signal {sig} after {} ms", result.duration_ms),
            (None, None) => format!("ended after {} ms", result.duration_ms),
        },
        (Err(e), false) => format!("lost track of it: {e}"),
    };
    (shared.log)(&format!("hooks: {name} {subject} {}: {how}", event.state));
    for line in String::from_utf8_lossy(&output).lines() {
        (shared.log)(&format!("hooks: {name}: {line}"));
    }
    if dropped > 0 {
        (shared.log)(&format!(
            "hooks: {name}: {dropped} more bytes of output not logged"
        ));
    }
    result
}

/// Start one hook with these arguments, the CARP_* environment, its own process group, and
/// stdout+stderr on one pipe whose read end is returned.
fn spawn_hook(
    path: &Path,
    args: &[String],
    event: &HookEvent,
) -> std::io::Result<(tokio::process::Child, tokio::net::unix::pipe::Receiver)> {
    let (out_tx, out_rx) = tokio::net::unix::pipe::pipe()?;
    let out_fd = out_tx.into_blocking_fd()?;
    let err_fd = out_fd.try_clone()?;
    let mut cmd = tokio::process::Command::new(path);
    cmd.args(args)
        .env("CARP_VHID", event.vhid.to_string())
        .env("CARP_INTERFACE", &event.device)
        .env("CARP_STATE", event.state.as_str())
        .env("CARP_PREVIOUS_STATE", event.previous.as_str())
        .env("CARP_REASON", &event.reason)
        .env("CARP_ADDRESSES", event.addresses.join(" "))
        .stdin(Stdio::null())
        .stdout(Stdio::from(out_fd))
        .stderr(Stdio::from(err_fd))
        // Its own process group, so a timeout can kill everything it started.
        .process_group(0)
        .kill_on_drop(true);
    // `cmd`, and with it our copies of the pipe's write end, is dropped on return, so the
    // reader sees EOF once the hook and its children have closed theirs.
    let child = cmd.spawn()?;
    Ok((child, out_rx))
}

fn keep_output(output: &mut Vec<u8>, dropped: &mut usize, chunk: &[u8]) {
    let room = OUTPUT_CAP.saturating_sub(output.len());
    let take = room.min(chunk.len());
    output.extend_from_slice(&chunk[..take]);
    *dropped += chunk.len() - take;
}

/// SIGKILL to the hook's process group (its pid, as it was started with `process_group(0)`).
pub(crate) fn kill_group(pid: u32) {
    use nix::sys::signal::{Signal, killpg};
    use nix::unistd::Pid;
    if let Ok(pid) = i32::try_from(pid) {
        // ESRCH means the group is already gone, which is what we want.
        let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_names_what_runs_and_what_will_not() {
        let dir = std::env::temp_dir().join(format!("carpd-scan-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("subdir")).unwrap();
        let file = |name: &str, mode: u32| {
            let p = dir.join(name);
            std::fs::write(&p, "#!/bin/sh\n").unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        };
        file("20-b", 0o755);
        file("10-a", 0o700);
        file("30-plain", 0o644);
        file("40-c~", 0o755);
        std::os::unix::fs::symlink(dir.join("missing"), dir.join("50-dangling")).unwrap();
        let s = scan(&dir).unwrap();
        let names: Vec<&str> = s.hooks.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["10-a", "20-b"]);
        assert_eq!(
            s.skipped,
            [
                (
                    "30-plain".to_string(),
                    "not executable (chmod +x to run it)"
                ),
                ("50-dangling".to_string(), "a symlink to nothing"),
            ]
        );
        let d = dir.display();
        assert_eq!(
            describe(&dir),
            [
                format!("hooks: 2 in {d}: 10-a, 20-b"),
                format!("hooks: {d}/30-plain will not run: not executable (chmod +x to run it)"),
                format!("hooks: {d}/50-dangling will not run: a symlink to nothing"),
            ]
        );
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            describe(&dir),
            [format!("hooks: {d} does not exist; no hooks will run")]
        );
    }

    #[test]
    fn hook_names() {
        for ok in ["20-openvpn", "50-mdns", "x", "a.sh"] {
            assert!(is_hook_name(OsStr::new(ok)), "{ok}");
        }
        for skip in [
            ".hidden",
            "20-foo~",
            "20-foo.sample",
            "20-foo.bak",
            "20-foo.pkgsave",
            "20-foo.disabled",
            "",
        ] {
            assert!(!is_hook_name(OsStr::new(skip)), "{skip}");
        }
    }

    use std::ffi::OsStr;

    #[test]
    fn workers_retire_when_their_queue_is_empty_and_come_back_in_order() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("carpd-hooks-retire-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let record = dir.join("calls");
        let hook = dir.join("10-record");
        std::fs::write(
            &hook,
            format!("#!/bin/sh\necho \"$1 $2\" >> {}\n", record.display()),
        )
        .unwrap();
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let runner =
                HookRunner::new_with_log(dir.clone(), Duration::from_secs(5), Arc::new(|_| {}));
            let event = |vhid, state, previous| HookEvent {
                vhid,
                device: "eth0".into(),
                state,
                previous,
                reason: String::new(),
                addresses: vec![],
            };
            for vhid in 1..=20 {
                runner.submit(event(vhid, State::Backup, State::Init));
            }
            runner.drain(Duration::from_secs(20)).await;
            let shared = &runner.inner.as_ref().unwrap().shared;
            assert!(lock(&shared.queues).is_empty(), "idle VHIDs keep a worker");
            // A retired VHID gets a new worker, and its events still run in order.
            runner.submit(event(7, State::Master, State::Backup));
            runner.submit(event(7, State::Backup, State::Master));
            runner.drain(Duration::from_secs(20)).await;
            assert!(lock(&shared.queues).is_empty());
        });
        let calls = std::fs::read_to_string(&record).unwrap();
        assert_eq!(calls.lines().count(), 22);
        assert!(calls.ends_with("7@eth0 MASTER\n7@eth0 BACKUP\n"), "{calls}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn output_is_capped() {
        let mut out = Vec::new();
        let mut dropped = 0;
        keep_output(&mut out, &mut dropped, &[b'a'; 3000]);
        keep_output(&mut out, &mut dropped, &[b'b'; 3000]);
        assert_eq!(out.len(), OUTPUT_CAP);
        assert_eq!(dropped, 6000 - OUTPUT_CAP);
    }
}
