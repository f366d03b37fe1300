//! The control socket with a real UNIX socket in a temporary directory.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::UnixStream;
use std::path::Path;

use std::time::Duration;

use carpd::control::client::{ClientError, request};
use carpd::control::server::{Call, serve};
use carpd::control::{Request, failed, ok};
use common::tempdir::TempDir;
use tokio::sync::mpsc;

/// A stand-in engine loop: answers the way the real engines do, echoing what it was asked.
fn engine(mut calls: mpsc::Receiver<Call>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        while let Some((req, answer)) = calls.recv().await {
            let value = match req {
                Request::Status => ok(serde_json::json!({"engine": "test"})),
                Request::Maintenance { enter, .. } => ok(serde_json::json!({
                    "action": if enter { "enter_maintenance" } else { "leave_maintenance" }
                })),
                other => failed(format!("unsupported here: {other:?}")),
            };
            let _ = answer.send(value);
        }
    })
}

/// Runs a blocking client call off the runtime thread (the server runs on it).
async fn client(path: &Path, req: Request) -> Result<serde_json::Value, ClientError> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || request(&path, &req, Duration::from_secs(5)))
        .await
        .unwrap()
}

/// Raw exchange: send `bytes`, read answer lines until `n` have arrived or EOF.
async fn raw(path: &Path, bytes: Vec<u8>, n: usize) -> Vec<String> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let mut s = UnixStream::connect(&path).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(&bytes).unwrap();
        let mut lines = Vec::new();
        let mut r = BufReader::new(s);
        while lines.len() < n {
            let mut l = String::new();
            if r.read_line(&mut l).unwrap_or(0) == 0 {
                break;
            }
            lines.push(l.trim_end().to_string());
        }
        lines
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn round_trip_mode_and_parent_directory() {
    let tmp = TempDir::new("ctl-rt");
    let sock = tmp.0.join("run/sub/carpd.sock");
    let (tx, rx) = mpsc::channel(8);
    let _engine = engine(rx);
    let server = serve(&sock, tx, carpd::events::EventBus::new())
        .await
        .unwrap();

    let meta = std::fs::symlink_metadata(&sock).unwrap();
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let parent = std::fs::metadata(sock.parent().unwrap()).unwrap();
    assert_eq!(parent.permissions().mode() & 0o777, 0o755);

    let answer = client(&sock, Request::Status).await.unwrap();
    assert_eq!(answer, serde_json::json!({"status":"ok","engine":"test"}));
    let answer = client(
        &sock,
        Request::Maintenance {
            enter: true,
            persistent: false,
        },
    )
    .await
    .unwrap();
    assert_eq!(answer["action"], "enter_maintenance");

    // Several requests on one connection, answered in order.
    let lines = raw(
        &sock,
        b"{\"cmd\":\"status\"}\n{\"cmd\":\"maintenance\",\"enter\":false}\n".to_vec(),
        2,
    )
    .await;
    assert_eq!(lines.len(), 2);
    assert!(lines[1].contains("leave_maintenance"));

    // Stopping the server removes its socket.
    server.abort();
    let _ = server.await;
    assert!(!sock.exists());
}

#[tokio::test]
async fn malformed_and_oversized_lines_get_failed_answers() {
    let tmp = TempDir::new("ctl-bad");
    let sock = tmp.0.join("carpd.sock");
    let (tx, rx) = mpsc::channel(8);
    let _engine = engine(rx);
    let _server = serve(&sock, tx, carpd::events::EventBus::new())
        .await
        .unwrap();

    // Garbage, then a good request on the same connection: the connection survives.
    let lines = raw(
        &sock,
        b"this is not json\n{\"cmd\":\"nope\"}\n\xff\xfe\n{\"cmd\":\"status\"}\n".to_vec(),
        4,
    )
    .await;
    assert_eq!(lines.len(), 4, "{lines:?}");
    for l in &lines[..3] {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        assert_eq!(v["status"], "failed", "{l}");
        assert!(v["reason"].as_str().is_some_and(|r| !r.is_empty()));
    }
    let last: serde_json::Value = serde_json::from_str(&lines[3]).unwrap();
    assert_eq!(last["status"], "ok");

    // A line past the cap is refused and the connection closed cleanly.
    let mut huge = vec![b'a'; carpd::control::MAX_REQUEST_LINE + 10];
    huge.push(b'\n');
    let lines = raw(&sock, huge, 2).await;
    assert_eq!(lines.len(), 1, "{lines:?}");
    let v: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(v["status"], "failed");

    // The server still serves.
    assert_eq!(
        client(&sock, Request::Status).await.unwrap()["status"],
        "ok"
    );
}

#[tokio::test]
async fn silent_client_does_not_block_others() {
    let tmp = TempDir::new("ctl-slow");
    let sock = tmp.0.join("carpd.sock");
    let (tx, rx) = mpsc::channel(8);
    let _engine = engine(rx);
    let _server = serve(&sock, tx, carpd::events::EventBus::new())
        .await
        .unwrap();
    // Connected, half a request, nothing more.
    let mut idle = UnixStream::connect(&sock).unwrap();
    idle.write_all(b"{\"cmd\":").unwrap();
    assert_eq!(
        client(&sock, Request::Status).await.unwrap()["status"],
        "ok"
    );
    drop(idle);
}

#[tokio::test]
async fn stale_socket_is_replaced_and_live_one_refused() {
    let tmp = TempDir::new("ctl-stale");
    let sock = tmp.0.join("carpd.sock");
    // A socket file nobody listens on: bind, then drop the listener.
    drop(std::os::unix::net::UnixListener::bind(&sock).unwrap());
    assert!(sock.exists());
    assert!(matches!(
        client(&sock, Request::Status).await,
        Err(ClientError::NoDaemon(_))
    ));

    let (tx, rx) = mpsc::channel(8);
    let _engine = engine(rx);
    let _server = serve(&sock, tx, carpd::events::EventBus::new())
        .await
        .expect("stale socket not replaced");
    assert_eq!(
        client(&sock, Request::Status).await.unwrap()["status"],
        "ok"
    );

    let (tx2, _rx2) = mpsc::channel(8);
    let err = serve(&sock, tx2, carpd::events::EventBus::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);
    assert!(err.to_string().contains("another carpd is running on"));
    // The refused attempt left the live socket alone.
    assert_eq!(
        client(&sock, Request::Status).await.unwrap()["status"],
        "ok"
    );
}

#[tokio::test]
async fn a_regular_file_is_never_removed() {
    let tmp = TempDir::new("ctl-file");
    let sock = tmp.0.join("carpd.sock");
    std::fs::write(&sock, b"precious").unwrap();
    let (tx, _rx) = mpsc::channel(8);
    let err = serve(&sock, tx, carpd::events::EventBus::new())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not a socket"), "{err}");
    assert_eq!(std::fs::read(&sock).unwrap(), b"precious");
}

#[tokio::test]
async fn no_daemon_and_engine_gone() {
    let tmp = TempDir::new("ctl-none");
    let missing = tmp.0.join("nothing.sock");
    let err = client(&missing, Request::Status).await.unwrap_err();
    assert!(matches!(err, ClientError::NoDaemon(_)), "{err}");
    assert!(err.to_string().contains("no carpd is running"));

    // Engine dropped its receiver: requests are answered `failed`, not left hanging.
    let sock = tmp.0.join("carpd.sock");
    let (tx, rx) = mpsc::channel(8);
    drop(rx);
    let _server = serve(&sock, tx, carpd::events::EventBus::new())
        .await
        .unwrap();
    let answer = client(&sock, Request::Reload).await.unwrap();
    assert_eq!(answer["status"], "failed");
    assert!(answer["reason"].as_str().unwrap().contains("shutting down"));
}

#[tokio::test]
async fn client_times_out_on_a_silent_server() {
    let tmp = TempDir::new("ctl-timeout");
    let sock = tmp.0.join("carpd.sock");
    // Listens but never answers.
    let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let path = sock.clone();
    let err = tokio::task::spawn_blocking(move || {
        request::<serde_json::Value>(&path, &Request::Status, Duration::from_millis(200))
    })
    .await
    .unwrap()
    .unwrap_err();
    assert!(matches!(err, ClientError::Io { .. }), "{err}");
    assert!(err.to_string().contains("no answer within"), "{err}");
}

/// Read `n` lines from a `carpd events` connection (bounded by its read timeout).
fn read_lines(r: &mut BufReader<UnixStream>, n: usize) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    while out.len() < n {
        let mut l = String::new();
        if r.read_line(&mut l).unwrap_or(0) == 0 {
            break;
        }
        out.push(serde_json::from_str(l.trim_end()).expect("a JSON line"));
    }
    out
}

fn listen(path: &Path) -> BufReader<UnixStream> {
    let mut s = UnixStream::connect(path).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"{\"cmd\":\"events\"}\n").unwrap();
    BufReader::new(s)
}

fn demotion_event(total: i32) -> carpd::events::Event {
    carpd::events::Event::Demotion {
        total,
        demotions: Default::default(),
        at: 1.0,
    }
}

#[tokio::test]
async fn events_reach_every_listener_and_a_slow_one_is_told_what_it_missed() {
    let tmp = TempDir::new("ctl-ev");
    let sock = tmp.0.join("carpd.sock");
    let (tx, mut rx) = mpsc::channel::<Call>(8);
    // An engine whose status carries a report, as both engines' does.
    let _engine = tokio::spawn(async move {
        while let Some((_, answer)) = rx.recv().await {
            let _ = answer.send(ok(serde_json::json!({"report": {"engine": "test"}})));
        }
    });
    let bus = carpd::events::EventBus::new();
    let _server = serve(&sock, tx, bus.clone()).await.unwrap();

    // Two listeners at once: each gets the snapshot, then every event in order.
    let path = sock.clone();
    let (a, b) = tokio::task::spawn_blocking(move || {
        let (mut a, mut b) = (listen(&path), listen(&path));
        (read_lines(&mut a, 1), read_lines(&mut b, 1), a, b)
    })
    .await
    .map(|(sa, sb, a, b)| {
        assert_eq!(sa[0]["event"], "snapshot");
        assert_eq!(sa[0]["report"]["engine"], "test");
        assert_eq!(sb[0]["event"], "snapshot");
        (a, b)
    })
    .unwrap();
    for total in [10, 20, 30] {
        bus.publish(&demotion_event(total));
    }
    let (mut a, b) = tokio::task::spawn_blocking(move || {
        let (mut a, mut b) = (a, b);
        for r in [&mut a, &mut b] {
            let got = read_lines(r, 3);
            let totals: Vec<i64> = got.iter().map(|e| e["total"].as_i64().unwrap()).collect();
            assert_eq!(totals, [10, 20, 30]);
            assert!(got.iter().all(|e| e["event"] == "demotion"));
        }
        (a, b)
    })
    .await
    .unwrap();

    // Far more than the buffer, published without yielding (as a busy daemon would): the
    // server cannot keep up, the publisher never waits, and the listener hears how many
    // lines it lost, then the rest.
    let burst = carpd::events::BUFFER as i32 * 3;
    for total in 0..burst {
        bus.publish(&demotion_event(total));
    }
    let got = tokio::task::spawn_blocking(move || {
        let got = read_lines(&mut a, carpd::events::BUFFER + 1);
        drop(b);
        got
    })
    .await
    .unwrap();
    assert_eq!(got[0]["event"], "missed", "{}", got[0]);
    let missed = got[0]["count"].as_i64().unwrap();
    assert!(
        missed >= i64::from(burst) - carpd::events::BUFFER as i64,
        "{missed}"
    );
    assert_eq!(got[1]["total"], missed, "the first line after the gap");
    assert_eq!(
        got.last().unwrap()["total"],
        i64::from(burst - 1),
        "every line after the gap, up to the last"
    );
}
