//! Tracked checks and the readiness wait, shared by both engines.
//!
//! [`spawn`] runs every check of the model on its own task (link, command, file or process),
//! applies rise/fall and sends a [`Verdict`] whenever what the check contributes changes; the
//! engine turns verdicts into `check:NAME` demotions or faults. [`wait_ready`] is the wait
//! before carpd first takes MASTER (`startup_delay`, `ready_command`, `ready_deadline`).
//! Nothing in here knows an engine: each passes its own [`LinkProbe`].
//!
//! Commands run as `/bin/sh -c COMMAND` with stdin from /dev/null, in their own process group,
//! and are killed with the whole group at their timeout; only the first 256 bytes of what they
//! print are kept, for the verdict's detail.

use std::io::Read as _;
use std::os::fd::OwnedFd;
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

use crate::config::{Check, CheckEffect, CheckKind, Settings};

/// Is this interface up (admin up and carrier)? None = no such interface. Each engine passes its own.
pub type LinkProbe = Arc<dyn Fn(&str) -> Option<bool> + Send + Sync>;

/// What a check says, sent when it changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// The check's name (its demotion is kept as `check:NAME`).
    pub name: String,
    pub ok: bool,
    /// The contribution while failing: the weight (0 for a fault check); for a file check the
    /// number it holds (0 while healthy; the weight, 240, when it is missing or no number).
    pub demotion: i32,
    /// Why, for logs and events: `exit 1`, `timed out after 2 s (killed)`, `eth1 has no
    /// carrier or is down`, `/run/x: "abc" is not a number`, …
    pub detail: String,
}

/// How every timeout reads in a detail.
const TIMED_OUT: &str = "timed out after";
/// Bytes of a command's output kept for the detail.
const OUTPUT_KEPT: usize = 256;
/// Bytes of a file check's file read.
const FILE_READ: u64 = 64;
/// A `ready_command` is retried this long after it failed…
const READY_RETRY: Duration = Duration::from_secs(2);
/// …and each run of it is bounded by this (and by the time left until the deadline).
const READY_RUN_LIMIT: Duration = Duration::from_secs(30);
/// Shortest interval a check runs at, whatever the model says (a zero would spin).
const MIN_INTERVAL: Duration = Duration::from_millis(100);

/// Rise/fall: a check starts OK; `fall` consecutive failures make it failing, `rise`
/// consecutive successes make it OK again. Pure, so the sequencing is testable on its own.
#[derive(Clone, Debug)]
pub struct RiseFall {
    rise: u32,
    fall: u32,
    /// The demotion reported while OK.
    nominal: i32,
    ok: bool,
    /// Consecutive results against the current state.
    streak: u32,
    demotion: i32,
}

impl RiseFall {
    /// `nominal`: the demotion reported while the check is OK.
    pub fn new(rise: u32, fall: u32, nominal: i32) -> RiseFall {
        RiseFall {
            rise: rise.max(1),
            fall: fall.max(1),
            nominal,
            ok: true,
            streak: 0,
            demotion: nominal,
        }
    }

    pub fn ok(&self) -> bool {
        self.ok
    }

    pub fn demotion(&self) -> i32 {
        self.demotion
    }

    /// One run's result (`demotion`: what it contributes if it counts as failing). Returns the
    /// new `(ok, demotion)` when either changed. While failing, a failed run's demotion is
    /// taken at once (a file's number that changes).
    pub fn feed(&mut self, ok: bool, demotion: i32) -> Option<(bool, i32)> {
        let before = (self.ok, self.demotion);
        if ok == self.ok {
            self.streak = 0;
            if !ok {
                self.demotion = demotion;
            }
        } else {
            self.streak += 1;
            let needed = if self.ok { self.fall } else { self.rise };
            if self.streak >= needed {
                self.ok = ok;
                self.streak = 0;
                self.demotion = if ok { self.nominal } else { demotion };
            }
        }
        let after = (self.ok, self.demotion);
        (after != before).then_some(after)
    }
}

/// One run of a check.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Sample {
    ok: bool,
    /// What it contributes if it counts as failing.
    demotion: i32,
    detail: String,
    /// It was killed (or abandoned) at its timeout.
    timed_out: bool,
}

/// Every run's outcome, counted per check name, for status (shared with the check tasks).
#[derive(Clone, Debug, Default)]
pub struct RunCounts {
    inner: Arc<std::sync::Mutex<std::collections::BTreeMap<String, Counted>>>,
}

/// Counts of one check's runs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counted {
    pub runs: u64,
    pub failures: u64,
    pub timeouts: u64,
    pub last: String,
}

impl RunCounts {
    fn note(&self, name: &str, sample: &Sample) {
        let mut all = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let c = all.entry(name.to_string()).or_default();
        c.runs += 1;
        c.failures += u64::from(!sample.ok);
        c.timeouts += u64::from(sample.timed_out);
        c.last.clone_from(&sample.detail);
    }

    /// The counts of `name` so far (zero before its first run).
    pub fn get(&self, name: &str) -> Counted {
        let all = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        all.get(name).cloned().unwrap_or_default()
    }

    /// Forget every count (the checks start again).
    pub fn clear(&self) {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

/// The demotion of a check while OK, and while failing (a file check: when its file holds no
/// number).
fn demotions(check: &Check) -> (i32, i32) {
    match (&check.effect, &check.kind) {
        (CheckEffect::Fault { .. }, _) => (0, 0),
        (CheckEffect::Demote(w), CheckKind::File { .. }) => (0, *w),
        (CheckEffect::Demote(w), _) => (*w, *w),
    }
}

/// One task per check: run it every `interval` (first run at once), apply rise/fall (a check starts OK; `fall` consecutive failures make it failing, `rise` consecutive successes make it OK again), and send a Verdict on every change of ok/demotion (and the first time it fails). Never blocks the caller; a check that hangs is killed with its whole process group at `timeout` and counts as a failure. Returns the tasks so the caller can abort them (reload).
///
/// Must be called inside a tokio runtime. No verdict is sent while a check stays OK from the
/// start. A task ends by itself when `tx`'s receiver is gone; aborting one kills the command
/// it is running, with its process group.
pub fn spawn(
    checks: &[Check],
    link: LinkProbe,
    counts: &RunCounts,
    tx: UnboundedSender<Verdict>,
) -> Vec<JoinHandle<()>> {
    checks
        .iter()
        .map(|check| {
            tokio::spawn(run_check(
                check.clone(),
                link.clone(),
                counts.clone(),
                tx.clone(),
            ))
        })
        .collect()
}

async fn run_check(check: Check, link: LinkProbe, counts: RunCounts, tx: UnboundedSender<Verdict>) {
    let mut state = RiseFall::new(check.rise, check.fall, demotions(&check).0);
    let mut ticks = tokio::time::interval(check.interval.max(MIN_INTERVAL));
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let sample = probe(&check, &link).await;
        counts.note(&check.name, &sample);
        if let Some((ok, demotion)) = state.feed(sample.ok, sample.demotion) {
            let verdict = Verdict {
                name: check.name.clone(),
                ok,
                demotion,
                detail: sample.detail,
            };
            if tx.send(verdict).is_err() {
                return;
            }
        }
    }
}

/// Run a check once, bounded by its timeout.
async fn probe(check: &Check, link: &LinkProbe) -> Sample {
    let failing = demotions(check).1;
    let timeout = check.timeout;
    let sample = |ok: bool, demotion: i32, detail: String| Sample {
        timed_out: false,
        ok,
        demotion,
        detail,
    };
    match &check.kind {
        CheckKind::Link { interface } => {
            let (probe, name) = (link.clone(), interface.clone());
            match blocking(timeout, move || probe(&name)).await {
                Ok(Some(true)) => sample(true, failing, format!("{interface} is up")),
                Ok(Some(false)) => sample(
                    false,
                    failing,
                    format!("{interface} has no carrier or is down"),
                ),
                Ok(None) => sample(false, failing, format!("{interface}: no such interface")),
                Err(why) => Sample {
                    timed_out: why.starts_with(TIMED_OUT),
                    ..sample(false, failing, format!("link probe of {interface} {why}"))
                },
            }
        }
        CheckKind::Command { command } => {
            let run = run_shell(command, timeout).await;
            Sample {
                timed_out: matches!(run.exit, Exit::TimedOut),
                ..sample(run.success(), failing, run.detail())
            }
        }
        CheckKind::File { path } => {
            let owned = path.clone();
            match blocking(timeout, move || read_number(&owned)).await {
                Ok(Ok(0)) => sample(true, 0, format!("{} holds 0", path.display())),
                Ok(Ok(n)) => {
                    let demotion = match check.effect {
                        CheckEffect::Demote(_) => n,
                        CheckEffect::Fault { .. } => 0,
                    };
                    sample(false, demotion, format!("{} holds {n}", path.display()))
                }
                Ok(Err(why)) => sample(false, failing, why),
                Err(why) => Sample {
                    timed_out: why.starts_with(TIMED_OUT),
                    ..sample(false, failing, format!("reading {} {why}", path.display()))
                },
            }
        }
        CheckKind::Process { name } => match process_running(name, timeout).await {
            Ok(true) => sample(true, failing, format!("process {name} runs")),
            Ok(false) => sample(false, failing, format!("no process {name}")),
            Err(why) => Sample {
                timed_out: why.contains(TIMED_OUT),
                ..sample(false, failing, format!("looking for process {name}: {why}"))
            },
        },
    }
}

/// `f` on the blocking pool, bounded by `timeout`; the error says what went wrong.
async fn blocking<T: Send + 'static>(
    timeout: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, String> {
    match tokio::time::timeout(timeout, tokio::task::spawn_blocking(f)).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(format!("failed: {e}")),
        Err(_) => Err(format!("{TIMED_OUT} {}", human(timeout))),
    }
}

/// The file's number: at most 64 bytes, one integer with whitespace around it.
fn read_number(path: &Path) -> Result<i32, String> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let shown = path.display();
    // Non-blocking, so that a FIFO without a writer does not hold the read.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => format!("{shown} does not exist"),
            _ => format!("{shown}: {e}"),
        })?;
    let mut bytes = Vec::with_capacity(FILE_READ as usize);
    file.take(FILE_READ)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("{shown}: {e}"))?;
    let text = String::from_utf8_lossy(&bytes);
    let text = text.trim();
    if text.is_empty() {
        return Err(format!("{shown} is empty, not a number"));
    }
    text.parse::<i32>().map_err(|_| {
        let mut shown_text: String = text.chars().take(32).collect();
        if shown_text.len() < text.len() {
            shown_text.push('…');
        }
        format!("{shown}: {shown_text:?} is not a number")
    })
}

/// Whether a process of this name runs: its `comm` or the basename of its argv\[0\].
#[cfg(target_os = "linux")]
async fn process_running(name: &str, timeout: Duration) -> Result<bool, String> {
    let name = name.to_string();
    blocking(timeout, move || scan_proc(&name))
        .await
        .and_then(|found| found.map_err(|e| format!("/proc: {e}")))
}

#[cfg(target_os = "linux")]
fn scan_proc(name: &str) -> std::io::Result<bool> {
    use std::os::unix::ffi::OsStrExt as _;
    let read_head = |path: &Path, limit: u64| -> Option<Vec<u8>> {
        let mut bytes = Vec::new();
        std::fs::File::open(path)
            .ok()?
            .take(limit)
            .read_to_end(&mut bytes)
            .ok()?;
        Some(bytes)
    };
    let wanted = name.as_bytes();
    for entry in std::fs::read_dir("/proc")? {
        let Ok(entry) = entry else { continue };
        if !entry.file_name().as_bytes().iter().all(u8::is_ascii_digit) {
            continue;
        }
        let dir = entry.path();
        let comm = read_head(&dir.join("comm"), 64).unwrap_or_default();
        let by_comm = comm.strip_suffix(b"\n").unwrap_or(&comm) == wanted;
        let by_argv0 = !by_comm
            && read_head(&dir.join("cmdline"), 4096).is_some_and(|cmdline| {
                let argv0 = cmdline.split(|b| *b == 0).next().unwrap_or_default();
                argv0.rsplit(|b| *b == b'/').next() == Some(wanted)
            });
        if !(by_comm || by_argv0) {
            continue;
        }
        // A zombie (or a process being reaped) does not run any more.
        let stat = read_head(&dir.join("stat"), 512).unwrap_or_default();
        let state = stat
            .iter()
            .rposition(|b| *b == b')')
            .and_then(|p| stat.get(p + 2))
            .copied();
        if !matches!(state, Some(b'Z' | b'X')) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Whether a process of this name runs, as `pgrep -x NAME` says.
#[cfg(not(target_os = "linux"))]
async fn process_running(name: &str, timeout: Duration) -> Result<bool, String> {
    let mut cmd = tokio::process::Command::new("pgrep");
    cmd.arg("-x").arg(name);
    let run = run_bounded(cmd, timeout).await;
    match &run.exit {
        Exit::Status(s) if s.code() == Some(0) => Ok(true),
        Exit::Status(s) if s.code() == Some(1) => Ok(false),
        _ => Err(format!("pgrep: {}", run.detail())),
    }
}

/// How a bounded run ended.
#[derive(Debug)]
enum Exit {
    Status(ExitStatus),
    TimedOut,
    /// It could not be started (or waited for).
    Failed(String),
}

/// A bounded run: how it ended and the start of what it printed.
#[derive(Debug)]
struct Run {
    exit: Exit,
    output: Vec<u8>,
    timeout: Duration,
}

impl Run {
    fn success(&self) -> bool {
        matches!(&self.exit, Exit::Status(s) if s.success())
    }

    /// `exit 1: what it printed`, `killed by signal 9`, `timed out after 2 s (killed)`, …
    fn detail(&self) -> String {
        use std::os::unix::process::ExitStatusExt as _;
        let mut detail = match &self.exit {
            Exit::Status(s) => match (s.code(), s.signal()) {
                (Some(code), _) => format!("exit {code}"),
                (None, Some(signal)) => format!("killed by signal {signal}"),
                (None, None) => format!("ended: {s}"),
            },
            Exit::TimedOut => format!("{TIMED_OUT} {} (killed)", human(self.timeout)),
            Exit::Failed(why) => why.clone(),
        };
        let printed = String::from_utf8_lossy(&self.output);
        let printed: Vec<&str> = printed.split_whitespace().collect();
        if !printed.is_empty() {
            detail.push_str(": ");
            detail.push_str(&printed.join(" "));
        }
        detail
    }
}

/// `/bin/sh -c COMMAND`, bounded by `timeout`.
async fn run_shell(command: &str, timeout: Duration) -> Run {
    let mut cmd = tokio::process::Command::new("/bin/sh");
    cmd.arg("-c").arg(command);
    run_bounded(cmd, timeout).await
}

/// Kills a child's process group when dropped, unless disarmed (once the child is reaped its
/// pid, and so the group's id, may be reused).
struct GroupGuard(Option<u32>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(pid) = self.0.take() {
            crate::hooks::kill_group(pid);
        }
    }
}

/// Run `cmd` with stdin from /dev/null and stdout and stderr into one pipe, in its own process
/// group; at `timeout` the group is killed. Output beyond the first bytes is read and dropped,
/// and the run ends when the command does, even if something it left behind holds the pipe.
async fn run_bounded(mut cmd: tokio::process::Command, timeout: Duration) -> Run {
    let failed = |why: String| Run {
        exit: Exit::Failed(why),
        output: Vec::new(),
        timeout,
    };
    let (reader, writer) = match std::io::pipe() {
        Ok(pipe) => pipe,
        Err(e) => return failed(format!("cannot make a pipe: {e}")),
    };
    let writer2 = match writer.try_clone() {
        Ok(w) => w,
        Err(e) => return failed(format!("cannot make a pipe: {e}")),
    };
    cmd.stdin(Stdio::null())
        .stdout(writer)
        .stderr(writer2)
        .process_group(0)
        .kill_on_drop(true);
    let spawned = cmd.spawn();
    // The command still holds the pipe's write ends: closed here, so only the child has them.
    drop(cmd);
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) => return failed(format!("cannot start: {e}")),
    };
    // Declared after the child, so dropped before it: the group dies while its leader is
    // not reaped yet (an aborted task).
    let mut guard = GroupGuard(child.id());
    let mut pipe = tokio::net::unix::pipe::Receiver::from_owned_fd(OwnedFd::from(reader)).ok();
    let mut output = Vec::new();
    let mut keep = |bytes: &[u8]| {
        let room = OUTPUT_KEPT.saturating_sub(output.len());
        output.extend_from_slice(&bytes[..bytes.len().min(room)]);
    };
    let mut buf = [0u8; 1024];
    let deadline = Instant::now() + timeout;
    let exit = loop {
        tokio::select! {
            status = child.wait() => {
                guard.0 = None;
                break match status {
                    Ok(status) => Exit::Status(status),
                    Err(e) => Exit::Failed(format!("cannot wait for it: {e}")),
                };
            }
            read = read_some(pipe.as_mut(), &mut buf) => match read {
                Ok(n) if n > 0 => keep(&buf[..n]),
                _ => pipe = None,
            },
            () = tokio::time::sleep_until(deadline) => {
                if let Some(pid) = guard.0.take() {
                    crate::hooks::kill_group(pid);
                }
                let _ = child.kill().await;
                break Exit::TimedOut;
            }
        }
    };
    // What it printed just before it ended, still in the pipe.
    if let Some(pipe) = &pipe {
        while let Ok(n) = pipe.try_read(&mut buf) {
            if n == 0 {
                break;
            }
            keep(&buf[..n]);
        }
    }
    Run {
        exit,
        output,
        timeout,
    }
}

/// Read from the pipe; with none, never ready.
async fn read_some(
    pipe: Option<&mut tokio::net::unix::pipe::Receiver>,
    buf: &mut [u8],
) -> std::io::Result<usize> {
    use tokio::io::AsyncReadExt as _;
    match pipe {
        Some(pipe) => pipe.read(buf).await,
        None => std::future::pending().await,
    }
}

/// `2 s`, `1.5 s`, `300 ms`.
pub(crate) fn human(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{} s", d.as_secs())
    } else if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

/// How the wait before the first MASTER ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Readiness {
    /// `startup_delay` is over and `ready_command` (if any) exited 0.
    Ready { waited: Duration, detail: String },
    /// `ready_deadline` came first; `detail` says what carpd was still waiting for.
    GaveUp { waited: Duration, detail: String },
}

/// Readiness: resolves when startup_delay has passed and ready_command (if any) has exited 0 (retried every 2 s, each run bounded by min(remaining time, 30 s)), or at ready_deadline at the latest. Ready { waited, detail } vs GaveUp { waited, detail } (detail says what it was still waiting for).
///
/// The command runs from the start, during the delay too.
pub async fn wait_ready(settings: &Settings) -> Readiness {
    let start = Instant::now();
    let delay_over = start + settings.startup_delay;
    let deadline = start + settings.ready_deadline;
    let mut command = settings.ready_command.as_deref();
    let mut runs = 0u32;
    let mut last: Option<String> = None;
    loop {
        let now = Instant::now();
        if command.is_none() && now >= delay_over {
            let mut done = Vec::new();
            if !settings.startup_delay.is_zero() {
                done.push(format!(
                    "startup_delay of {} is over",
                    human(settings.startup_delay)
                ));
            }
            if settings.ready_command.is_some() {
                done.push(format!("ready_command exited 0 (run {runs})"));
            }
            if done.is_empty() {
                done.push("nothing to wait for".to_string());
            }
            return Readiness::Ready {
                waited: now - start,
                detail: done.join(", "),
            };
        }
        if now >= deadline {
            let mut waiting = Vec::new();
            if now < delay_over {
                waiting.push(format!(
                    "startup_delay of {} (not over)",
                    human(settings.startup_delay)
                ));
            }
            if command.is_some() {
                waiting.push(format!(
                    "ready_command to exit 0 ({runs} runs, last: {})",
                    last.as_deref().unwrap_or("none finished")
                ));
            }
            return Readiness::GaveUp {
                waited: now - start,
                detail: format!(
                    "ready_deadline of {} reached, still waiting for {}",
                    human(settings.ready_deadline),
                    waiting.join(" and ")
                ),
            };
        }
        match command {
            Some(line) => {
                runs += 1;
                let run = run_shell(line, (deadline - now).min(READY_RUN_LIMIT)).await;
                if run.success() {
                    command = None;
                    continue;
                }
                last = Some(run.detail());
                tokio::time::sleep_until((Instant::now() + READY_RETRY).min(deadline)).await;
            }
            None => tokio::time::sleep_until(delay_over.min(deadline)).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn check(kind: CheckKind, timeout: Duration) -> Check {
        Check {
            name: "t".to_string(),
            kind,
            interval: Duration::from_millis(100),
            timeout,
            rise: 1,
            fall: 1,
            effect: CheckEffect::Demote(240),
        }
    }

    fn command(line: &str, timeout: Duration) -> Check {
        check(
            CheckKind::Command {
                command: line.to_string(),
            },
            timeout,
        )
    }

    fn no_link() -> LinkProbe {
        Arc::new(|_: &str| None)
    }

    /// A fresh directory for one test.
    fn scratch(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("carpd-checks-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn rise_and_fall_need_consecutive_results() {
        let mut rf = RiseFall::new(2, 3, 240);
        assert!(rf.ok());
        // Two failures, then a success: the streak starts again.
        assert_eq!(rf.feed(false, 240), None);
        assert_eq!(rf.feed(false, 240), None);
        assert_eq!(rf.feed(true, 240), None);
        assert_eq!(rf.feed(false, 240), None);
        assert_eq!(rf.feed(false, 240), None);
        assert_eq!(
            rf.feed(false, 240),
            Some((false, 240)),
            "third failure in a row"
        );
        assert!(!rf.ok());
        assert_eq!(rf.feed(false, 240), None, "no news while it stays failing");
        assert_eq!(rf.feed(true, 240), None);
        assert_eq!(
            rf.feed(false, 240),
            None,
            "a failure resets the rise streak"
        );
        assert_eq!(rf.feed(true, 240), None);
        assert_eq!(
            rf.feed(true, 240),
            Some((true, 240)),
            "second success in a row"
        );
        assert_eq!(rf.feed(true, 240), None);

        // A file check: OK reports 0, failing reports the file's number as it changes.
        let mut file = RiseFall::new(1, 1, 0);
        assert_eq!(file.feed(true, 0), None);
        assert_eq!(file.feed(false, 50), Some((false, 50)));
        assert_eq!(file.feed(false, 70), Some((false, 70)));
        assert_eq!(file.feed(false, 70), None);
        assert_eq!(file.feed(true, 0), Some((true, 0)));
        assert_eq!(file.demotion(), 0);

        // 0 is taken as 1: the first result counts at once.
        let mut eager = RiseFall::new(0, 0, 10);
        assert_eq!(eager.feed(false, 10), Some((false, 10)));
    }

    #[tokio::test]
    async fn a_command_passes_on_exit_0_and_fails_otherwise() {
        let link = no_link();
        let ok = probe(&command("exit 0", Duration::from_secs(5)), &link).await;
        assert!(ok.ok, "{ok:?}");
        assert_eq!(ok.detail, "exit 0");
        let bad = probe(
            &command("echo first; echo oops >&2; exit 1", Duration::from_secs(5)),
            &link,
        )
        .await;
        assert!(!bad.ok);
        assert_eq!(bad.demotion, 240);
        assert_eq!(bad.detail, "exit 1: first oops");
        let missing = probe(
            &command("/nonexistent/carpd-probe", Duration::from_secs(5)),
            &link,
        )
        .await;
        assert!(!missing.ok);
        assert!(missing.detail.starts_with("exit 127"), "{}", missing.detail);
        // Only the first 256 bytes of the output are kept.
        let loud = probe(
            &command("yes carpd | head -c 100000; exit 3", Duration::from_secs(5)),
            &link,
        )
        .await;
        assert!(
            loud.detail.starts_with("exit 3: carpd carpd"),
            "{}",
            loud.detail
        );
        assert!(loud.detail.len() < 300, "{}", loud.detail.len());
    }

    /// Whether a pid no longer runs (gone, or a zombie nobody reaped yet).
    fn is_dead(pid: i32) -> bool {
        if cfg!(target_os = "linux") {
            match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
                Err(_) => true,
                Ok(stat) => stat
                    .rsplit_once(')')
                    .is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X'])),
            }
        } else {
            nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_err()
        }
    }

    #[tokio::test]
    async fn a_hanging_command_is_killed_with_its_children_at_the_timeout() {
        let dir = scratch("hang");
        let pid_file = dir.join("pid");
        let line = format!("sleep 30 & echo $! > {}; sleep 30", pid_file.display());
        let started = std::time::Instant::now();
        let s = probe(&command(&line, Duration::from_secs(1)), &no_link()).await;
        let took = started.elapsed();
        assert!(!s.ok);
        assert_eq!(s.detail, "timed out after 1 s (killed)");
        assert!(took >= Duration::from_millis(900), "{took:?}");
        assert!(took < Duration::from_secs(5), "{took:?}");
        let child: i32 = std::fs::read_to_string(&pid_file)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let gone = (0..30).any(|_| {
            let dead = is_dead(child);
            if !dead {
                std::thread::sleep(Duration::from_millis(100));
            }
            dead
        });
        assert!(
            gone,
            "the background sleep {child} survived its group's kill"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn a_file_holds_the_demotion() {
        let dir = scratch("file");
        let path = dir.join("demotion");
        let file = check(
            CheckKind::File { path: path.clone() },
            Duration::from_secs(2),
        );
        let link = no_link();

        std::fs::write(&path, "  50 \n").unwrap();
        let s = probe(&file, &link).await;
        assert_eq!((s.ok, s.demotion), (false, 50));
        assert_eq!(s.detail, format!("{} holds 50", path.display()));

        std::fs::write(&path, "0\n").unwrap();
        let s = probe(&file, &link).await;
        assert_eq!((s.ok, s.demotion), (true, 0));

        std::fs::write(&path, "abc\n").unwrap();
        let s = probe(&file, &link).await;
        assert_eq!((s.ok, s.demotion), (false, 240), "no number: the weight");
        assert_eq!(
            s.detail,
            format!("{}: \"abc\" is not a number", path.display())
        );

        std::fs::write(&path, "").unwrap();
        let s = probe(&file, &link).await;
        assert!(!s.ok);
        assert!(s.detail.ends_with("is empty, not a number"), "{}", s.detail);

        std::fs::remove_file(&path).unwrap();
        let s = probe(&file, &link).await;
        assert_eq!((s.ok, s.demotion), (false, 240));
        assert_eq!(s.detail, format!("{} does not exist", path.display()));

        // A fault check does not demote, whatever the number.
        std::fs::write(&path, "7").unwrap();
        let fault = Check {
            effect: CheckEffect::Fault { vhids: vec![] },
            ..file.clone()
        };
        let s = probe(&fault, &link).await;
        assert_eq!((s.ok, s.demotion), (false, 0));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn a_process_check_finds_a_running_process_by_name() {
        let mut sleeper = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let process = |name: &str| {
            check(
                CheckKind::Process {
                    name: name.to_string(),
                },
                Duration::from_secs(5),
            )
        };
        let s = probe(&process("sleep"), &no_link()).await;
        let _ = sleeper.kill();
        let _ = sleeper.wait();
        assert!(s.ok, "{s:?}");
        assert_eq!(s.detail, "process sleep runs");
        let s = probe(&process("carpd-no-such-process"), &no_link()).await;
        assert!(!s.ok);
        assert_eq!(s.detail, "no process carpd-no-such-process");
    }

    #[tokio::test]
    async fn a_link_check_asks_the_engines_probe() {
        let link: LinkProbe = Arc::new(|name: &str| match name {
            "up0" => Some(true),
            "down0" => Some(false),
            _ => None,
        });
        let on = |interface: &str| {
            check(
                CheckKind::Link {
                    interface: interface.to_string(),
                },
                Duration::from_secs(1),
            )
        };
        let s = probe(&on("up0"), &link).await;
        assert!(s.ok);
        let s = probe(&on("down0"), &link).await;
        assert_eq!((s.ok, s.demotion), (false, 240));
        assert_eq!(s.detail, "down0 has no carrier or is down");
        let s = probe(&on("gone0"), &link).await;
        assert!(!s.ok);
        assert_eq!(s.detail, "gone0: no such interface");
    }

    async fn next(rx: &mut tokio::sync::mpsc::UnboundedReceiver<Verdict>) -> Verdict {
        tokio::time::timeout(Duration::from_secs(3), rx.recv())
            .await
            .expect("a verdict in time")
            .expect("the task runs")
    }

    #[tokio::test]
    async fn spawned_checks_send_a_verdict_on_every_change() {
        let dir = scratch("spawn");
        let path = dir.join("demotion");
        // Replaced whole, so that no run reads a half-written file.
        let put = |text: &str| {
            let tmp = dir.join("tmp");
            std::fs::write(&tmp, text).unwrap();
            std::fs::rename(&tmp, &path).unwrap();
        };
        put("0");
        let file = check(
            CheckKind::File { path: path.clone() },
            Duration::from_secs(1),
        );
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let counts = RunCounts::default();
        let tasks = spawn(&[file], no_link(), &counts, tx);
        assert_eq!(tasks.len(), 1);
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(rx.try_recv().is_err(), "nothing to say while it stays OK");

        put("30");
        let v = next(&mut rx).await;
        assert_eq!((v.name.as_str(), v.ok, v.demotion), ("t", false, 30));
        put("60");
        let v = next(&mut rx).await;
        assert_eq!((v.ok, v.demotion), (false, 60));
        put("0");
        let v = next(&mut rx).await;
        assert_eq!((v.ok, v.demotion), (true, 0));
        assert_eq!(v.detail, format!("{} holds 0", path.display()));
        let c = counts.get("t");
        assert!(c.runs >= 4 && c.failures >= 2 && c.timeouts == 0, "{c:?}");
        assert_eq!(c.last, format!("{} holds 0", path.display()));

        for t in &tasks {
            t.abort();
        }
        for t in tasks {
            assert!(t.await.unwrap_err().is_cancelled());
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn settings(delay_ms: u64, command: Option<String>, deadline_ms: u64) -> Settings {
        Settings {
            startup_delay: Duration::from_millis(delay_ms),
            ready_command: command,
            ready_deadline: Duration::from_millis(deadline_ms),
            ..Settings::default()
        }
    }

    #[tokio::test]
    async fn ready_after_the_startup_delay() {
        match wait_ready(&Settings::default()).await {
            Readiness::Ready { waited, detail } => {
                assert!(waited < Duration::from_millis(100));
                assert_eq!(detail, "nothing to wait for");
            }
            other => panic!("{other:?}"),
        }
        match wait_ready(&settings(500, None, 5000)).await {
            Readiness::Ready { waited, detail } => {
                assert!(waited >= Duration::from_millis(500), "{waited:?}");
                assert!(waited < Duration::from_secs(2), "{waited:?}");
                assert_eq!(detail, "startup_delay of 500 ms is over");
            }
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn ready_once_the_ready_command_exits_0() {
        let dir = scratch("ready");
        let marker = dir.join("marker");
        let line = format!("test -e {}", marker.display());
        let make = marker.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(500)).await;
            std::fs::write(make, "").unwrap();
        });
        match wait_ready(&settings(0, Some(line), 10_000)).await {
            Readiness::Ready { waited, detail } => {
                // The first run fails, the retry 2 s later finds the marker.
                assert!(waited >= Duration::from_secs(2), "{waited:?}");
                assert!(waited < Duration::from_secs(5), "{waited:?}");
                assert_eq!(detail, "ready_command exited 0 (run 2)");
            }
            other => panic!("{other:?}"),
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn readiness_gives_up_at_the_deadline() {
        let started = std::time::Instant::now();
        match wait_ready(&settings(0, Some("echo not yet; exit 1".into()), 1000)).await {
            Readiness::GaveUp { waited, detail } => {
                assert!(waited >= Duration::from_secs(1), "{waited:?}");
                assert!(waited < Duration::from_secs(3), "{waited:?}");
                assert_eq!(
                    detail,
                    "ready_deadline of 1 s reached, still waiting for ready_command to exit 0 (1 runs, last: exit 1: not yet)"
                );
            }
            other => panic!("{other:?}"),
        }
        // A command that hangs is bounded by the time left.
        match wait_ready(&settings(0, Some("sleep 30".into()), 1000)).await {
            Readiness::GaveUp { detail, .. } => assert!(
                detail.contains("last: timed out after") && detail.ends_with("(killed))"),
                "{detail}"
            ),
            other => panic!("{other:?}"),
        }
        match wait_ready(&settings(5000, None, 1000)).await {
            Readiness::GaveUp { detail, .. } => assert_eq!(
                detail,
                "ready_deadline of 1 s reached, still waiting for startup_delay of 5 s (not over)"
            ),
            other => panic!("{other:?}"),
        }
        assert!(started.elapsed() < Duration::from_secs(6));
    }
}
