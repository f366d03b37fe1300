//! The transition hook runner against real scripts in a temporary directory.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use carpd::hooks::{HookEvent, HookRunner, LogFn};
use carpd::proto::State;
use common::tempdir::TempDir;

fn write_hook(dir: &Path, name: &str, body: &str, mode: u32) {
    let p = dir.join(name);
    std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn event(device: &str, vhid: u8, state: State, reason: &str) -> HookEvent {
    HookEvent {
        vhid,
        device: device.to_string(),
        state,
        previous: State::Backup,
        reason: reason.to_string(),
        addresses: vec!["192.0.2.1".into(), "2001:db8::1".into()],
    }
}

fn capture() -> (LogFn, Arc<Mutex<Vec<String>>>) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&lines);
    (
        Arc::new(move |l: &str| sink.lock().unwrap().push(l.to_string())),
        lines,
    )
}

fn read_lines(p: &Path) -> Vec<String> {
    std::fs::read_to_string(p)
        .unwrap_or_default()
        .lines()
        .map(String::from)
        .collect()
}

#[tokio::test]
async fn runs_executables_in_byte_order_with_arguments_and_environment() {
    let hooks = TempDir::new("hooks-order");
    let out = TempDir::new("hooks-order-out");
    let log = out.path().join("log");
    let body = format!(
        r#"echo "$(basename "$0")|$1|$2|$CARP_VHID|$CARP_INTERFACE|$CARP_STATE|$CARP_PREVIOUS_STATE|$CARP_REASON|$CARP_ADDRESSES|$#" >> {}"#,
        log.display()
    );
    // Byte order, not numeric: "10-a" < "20-b" < "9-c" < "B-upper" (0x31 < 0x32 < 0x39 < 0x42).
    for name in ["9-c", "20-b", "10-a", "B-upper"] {
        write_hook(hooks.path(), name, &body, 0o755);
    }
    // Skipped: not executable, hidden, backups, samples.
    for name in ["15-noexec", "16-noexec.sh"] {
        write_hook(hooks.path(), name, &body, 0o644);
    }
    for name in [".hidden", "30-x~", "40-y.sample", "50-z.bak"] {
        write_hook(hooks.path(), name, &body, 0o755);
    }
    std::fs::create_dir(hooks.path().join("60-a-directory")).unwrap();

    let (logfn, _lines) = capture();
    let runner = HookRunner::new_with_log(hooks.path().into(), Duration::from_secs(10), logfn);
    runner.submit(event("vtnet0", 1, State::Master, "master timed out"));
    runner.drain(Duration::from_secs(20)).await;

    let got = read_lines(&log);
    assert_eq!(
        got,
        ["10-a", "20-b", "9-c", "B-upper"]
            .iter()
            .map(|n| format!(
                "{n}|1@vtnet0|MASTER|1|vtnet0|MASTER|BACKUP|master timed out|192.0.2.1 2001:db8::1|2"
            ))
            .collect::<Vec<_>>()
    );
    let results = runner.results("vtnet0", 1);
    let names: Vec<&str> = results.iter().map(|r| r.hook.as_str()).collect();
    assert_eq!(names, ["10-a", "20-b", "9-c", "B-upper"]);
    assert!(
        results
            .iter()
            .all(|r| r.exit_code == Some(0) && !r.timed_out && r.state == "MASTER")
    );
    assert!(runner.results("vtnet0", 2).is_empty());
}

#[tokio::test]
async fn failing_hook_is_recorded_and_next_still_runs_and_output_is_logged() {
    let hooks = TempDir::new("hooks-fail");
    let out = TempDir::new("hooks-fail-out");
    let marker = out.path().join("second-ran");
    write_hook(
        hooks.path(),
        "10-fails",
        "echo to-stdout; echo to-stderr >&2; exit 1",
        0o755,
    );
    write_hook(
        hooks.path(),
        "20-runs",
        &format!("touch {}", marker.display()),
        0o755,
    );
    let (logfn, lines) = capture();
    let runner = HookRunner::new_with_log(hooks.path().into(), Duration::from_secs(10), logfn);
    runner.submit(event("eth0", 5, State::Backup, ""));
    runner.drain(Duration::from_secs(20)).await;

    assert!(marker.exists(), "the hook after a failing one did not run");
    let results = runner.results("eth0", 5);
    assert_eq!(results.len(), 2);
    assert_eq!(results[0].hook, "10-fails");
    assert_eq!(results[0].exit_code, Some(1));
    assert!(!results[0].timed_out);
    assert_eq!(results[1].exit_code, Some(0));
    let lines = lines.lock().unwrap();
    assert!(
        lines
            .iter()
            .any(|l| l.contains("10-fails") && l.contains("exit 1"))
    );
    assert!(lines.iter().any(|l| l.ends_with("10-fails: to-stdout")));
    assert!(lines.iter().any(|l| l.ends_with("10-fails: to-stderr")));
}

#[tokio::test]
async fn per_vhid_fifo_order_under_many_quick_events() {
    let hooks = TempDir::new("hooks-fifo");
    let out = TempDir::new("hooks-fifo-out");
    let log = out.path().join("log");
    write_hook(
        hooks.path(),
        "10-record",
        &format!(r#"echo "$CARP_REASON $2" >> {}"#, log.display()),
        0o755,
    );
    let runner =
        HookRunner::new_with_log(hooks.path().into(), Duration::from_secs(10), capture().0);
    let n = 40;
    for i in 0..n {
        let state = if i % 2 == 0 {
            State::Master
        } else {
            State::Backup
        };
        runner.submit(event("vtnet1", 9, state, &i.to_string()));
    }
    runner.drain(Duration::from_secs(60)).await;
    assert_eq!(runner.pending(), 0);
    let expected: Vec<String> = (0..n)
        .map(|i| format!("{i} {}", if i % 2 == 0 { "MASTER" } else { "BACKUP" }))
        .collect();
    assert_eq!(read_lines(&log), expected);
    // Only the last results are kept, newest last.
    let results = runner.results("vtnet1", 9);
    assert_eq!(results.len(), carpd::hooks::RESULTS_KEPT);
    assert_eq!(results.last().unwrap().state, "BACKUP");
}

#[tokio::test]
async fn different_vhids_run_concurrently() {
    let hooks = TempDir::new("hooks-conc");
    let out = TempDir::new("hooks-conc-out");
    let flag = out.path().join("vhid2-started");
    // VHID 1's hook waits (bounded) for VHID 2's hook to have started: possible only if the
    // two VHIDs' queues run side by side.
    write_hook(
        hooks.path(),
        "10-wait",
        &format!(
            r#"if [ "$CARP_VHID" = 2 ]; then touch {f}; exit 0; fi
i=0; while [ ! -e {f} ]; do i=$((i+1)); [ $i -gt 100 ] && exit 3; sleep 0.05; done; exit 0"#,
            f = flag.display()
        ),
        0o755,
    );
    let runner =
        HookRunner::new_with_log(hooks.path().into(), Duration::from_secs(20), capture().0);
    runner.submit(event("vtnet0", 1, State::Master, ""));
    runner.submit(event("vtnet0", 2, State::Master, ""));
    runner.drain(Duration::from_secs(30)).await;
    assert_eq!(runner.results("vtnet0", 2)[0].exit_code, Some(0));
    assert_eq!(
        runner.results("vtnet0", 1)[0].exit_code,
        Some(0),
        "VHID 1's hook never saw VHID 2's hook start: queues are not concurrent"
    );
}

fn process_gone(pid: i32) -> bool {
    // Gone, or a zombie waiting for a reaper we do not control (PID 1 of a container).
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_err(),
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
    }
}

#[tokio::test]
async fn hung_hook_is_killed_with_its_children_at_timeout() {
    let hooks = TempDir::new("hooks-hang");
    let out = TempDir::new("hooks-hang-out");
    let pidfile = out.path().join("child.pid");
    let after = out.path().join("after-ran");
    write_hook(
        hooks.path(),
        "10-hang",
        &format!("sleep 1000 &\necho $! > {}\nwait", pidfile.display()),
        0o755,
    );
    write_hook(
        hooks.path(),
        "20-after",
        &format!("touch {}", after.display()),
        0o755,
    );
    let (logfn, lines) = capture();
    let runner = HookRunner::new_with_log(hooks.path().into(), Duration::from_millis(500), logfn);
    let started = Instant::now();
    runner.submit(event("vtnet0", 3, State::Master, ""));
    runner.drain(Duration::from_secs(20)).await;
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "drain waited for the hung hook"
    );

    let results = runner.results("vtnet0", 3);
    assert_eq!(results.len(), 2);
    assert!(results[0].timed_out);
    assert_eq!(results[0].exit_code, None);
    assert!(after.exists(), "the hook after the hung one did not run");
    assert!(
        lines
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains("10-hang") && l.contains("killed"))
    );

    let child: i32 = std::fs::read_to_string(&pidfile)
        .expect("the hook wrote its child's pid")
        .trim()
        .parse()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !process_gone(child) {
        if Instant::now() > deadline {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(child),
                nix::sys::signal::Signal::SIGKILL,
            );
            panic!("the hook's background child {child} survived the timeout");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn missing_directory_is_not_an_error_and_logged_once() {
    let base = TempDir::new("hooks-missing");
    let dir = base.path().join("not-there");
    let (logfn, lines) = capture();
    let runner = HookRunner::new_with_log(dir.clone(), Duration::from_secs(5), logfn);
    runner.submit(event("vtnet0", 1, State::Master, ""));
    runner.submit(event("vtnet0", 1, State::Backup, ""));
    runner.drain(Duration::from_secs(10)).await;
    assert!(runner.results("vtnet0", 1).is_empty());
    let missing = lines
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.contains("does not exist"))
        .count();
    assert_eq!(missing, 1);

    // Created at run time: the next event finds it, and hooks added now run.
    std::fs::create_dir(&dir).unwrap();
    let marker = base.path().join("ran");
    write_hook(
        &dir,
        "10-new",
        &format!("touch {}", marker.display()),
        0o755,
    );
    runner.submit(event("vtnet0", 1, State::Master, ""));
    runner.drain(Duration::from_secs(10)).await;
    assert!(marker.exists());
    assert_eq!(runner.results("vtnet0", 1).len(), 1);
}

#[tokio::test]
async fn drain_gives_up_at_its_limit_and_submit_never_blocks() {
    let hooks = TempDir::new("hooks-drain");
    write_hook(hooks.path(), "10-slow", "sleep 3", 0o755);
    let runner =
        HookRunner::new_with_log(hooks.path().into(), Duration::from_secs(30), capture().0);
    let t = Instant::now();
    for _ in 0..5 {
        runner.submit(event("vtnet0", 4, State::Master, ""));
    }
    assert!(t.elapsed() < Duration::from_secs(1), "submit blocked");
    assert_eq!(runner.pending(), 5);
    runner.drain(Duration::from_millis(300)).await;
    assert!(t.elapsed() < Duration::from_secs(2));
    assert!(runner.pending() > 0);
}

#[tokio::test]
async fn disabled_runner_runs_nothing() {
    let runner = HookRunner::disabled();
    assert!(!runner.is_enabled());
    runner.submit(event("vtnet0", 1, State::Master, ""));
    runner.drain(Duration::from_secs(1)).await;
    assert!(runner.results("vtnet0", 1).is_empty());
    assert_eq!(runner.pending(), 0);
}
