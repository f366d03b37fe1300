//! Daemon side of the control socket: accept connections, read one JSON request per line, hand
//! it to the engine, write its JSON answer back.
//!
//! Every connection has its own task with its own timeouts, so a client that connects and
//! says nothing, or never reads its answer, costs one task and a file descriptor until its
//! timeout, and never holds up the engine or another client.

use std::io;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{Semaphore, broadcast, mpsc, oneshot};

use super::{MAX_REQUEST_LINE, Request, failed, parse_request};
use crate::events::EventBus;

/// One request with the channel its answer goes back on.
pub type Call = (Request, oneshot::Sender<serde_json::Value>);

/// A connection that sends no complete line for this long is closed.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Time for the engine to take a request and answer it.
const ENGINE_TIMEOUT: Duration = Duration::from_secs(10);
/// Time for a client to take its answer off the socket.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections served at once; more are answered `failed` and closed.
const MAX_CONNECTIONS: usize = 64;

/// Bind `path` (mode 0600; a stale socket with no daemon behind it is replaced, a live one is
/// an error) and serve until the runtime stops. Malformed lines get a `failed` answer.
///
/// Errors: `AddrInUse` when another carpd answers on `path`; `AlreadyExists` when `path` is
/// something other than a socket (it is never deleted); otherwise the OS error of the step,
/// with the path in the message.
pub async fn serve(
    path: &Path,
    calls: mpsc::Sender<Call>,
    events: EventBus,
) -> std::io::Result<tokio::task::JoinHandle<()>> {
    let listener = bind(path)?;
    let guard = SocketFile::new(path);
    Ok(tokio::spawn(accept_loop(listener, calls, events, guard)))
}

fn with_path(path: &Path, what: &str, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{what} {}: {e}", path.display()))
}

/// Creates the socket under a temporary name, sets its mode, then renames it into place, so
/// it is never reachable with a wider mode and a stale socket is replaced in one step.
fn bind(path: &Path) -> io::Result<UnixListener> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
        && !parent.exists()
    {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(parent)
            .map_err(|e| with_path(parent, "cannot create directory", e))?;
    }
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => {
            match std::os::unix::net::UnixStream::connect(path) {
                Ok(_) => {
                    return Err(io::Error::new(
                        io::ErrorKind::AddrInUse,
                        format!(
                            "another carpd is running on {}; stop it first, or give this one its own --run-dir",
                            path.display()
                        ),
                    ));
                }
                // Nobody listening: a leftover from a daemon that did not clean up.
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {}
                Err(e) => return Err(with_path(path, "cannot probe existing socket", e)),
            }
        }
        Ok(_) => {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!(
                    "{} exists and is not a socket; carpd will not remove it — move it away",
                    path.display()
                ),
            ));
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(with_path(path, "cannot inspect", e)),
    }

    let tmp = temp_name(path);
    let _ = std::fs::remove_file(&tmp);
    let listener = UnixListener::bind(&tmp).map_err(|e| with_path(&tmp, "cannot bind", e))?;
    let placed = std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| with_path(&tmp, "cannot set mode 0600 on", e))
        .and_then(|()| {
            std::fs::rename(&tmp, path).map_err(|e| with_path(path, "cannot create", e))
        });
    if let Err(e) = placed {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(listener)
}

fn temp_name(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "carpd.sock".into());
    path.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}

/// Removes the socket file when serving stops, unless another daemon has put its own there.
struct SocketFile {
    path: PathBuf,
    id: Option<(u64, u64)>,
}

impl SocketFile {
    fn new(path: &Path) -> SocketFile {
        let id = std::fs::symlink_metadata(path)
            .ok()
            .map(|m| (m.dev(), m.ino()));
        SocketFile {
            path: path.to_path_buf(),
            id,
        }
    }
}

impl Drop for SocketFile {
    fn drop(&mut self) {
        let now = std::fs::symlink_metadata(&self.path)
            .ok()
            .map(|m| (m.dev(), m.ino()));
        if now.is_some() && now == self.id {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

async fn accept_loop(
    listener: UnixListener,
    calls: mpsc::Sender<Call>,
    events: EventBus,
    _guard: SocketFile,
) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        match listener.accept().await {
            Ok((stream, _)) => match Arc::clone(&slots).try_acquire_owned() {
                Ok(permit) => {
                    let calls = calls.clone();
                    let events = events.clone();
                    tokio::spawn(async move {
                        serve_connection(stream, calls, events).await;
                        drop(permit);
                    });
                }
                Err(_) => {
                    tokio::spawn(async move {
                        let mut stream = stream;
                        let _ = write_answer(
                            &mut stream,
                            &failed(format!(
                                "too many control connections (limit {MAX_CONNECTIONS}); try again"
                            )),
                        )
                        .await;
                    });
                }
            },
            // Out of descriptors or similar: back off instead of spinning, keep serving.
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

async fn write_answer<W: AsyncWrite + Unpin>(
    stream: &mut W,
    answer: &serde_json::Value,
) -> io::Result<()> {
    // serde_json never writes a raw newline inside a value, so one answer is one line.
    let mut line = serde_json::to_vec(answer).map_err(io::Error::other)?;
    line.push(b'\n');
    match tokio::time::timeout(WRITE_TIMEOUT, stream.write_all(&line)).await {
        Ok(r) => r,
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "client did not read its answer",
        )),
    }
}

async fn serve_connection(stream: UnixStream, calls: mpsc::Sender<Call>, events: EventBus) {
    let (read_half, mut write_half) = stream.into_split();
    let mut reader = BufReader::new(read_half);
    loop {
        let mut line = Vec::new();
        let limit = (MAX_REQUEST_LINE + 1) as u64;
        let read = tokio::time::timeout(
            IDLE_TIMEOUT,
            (&mut reader).take(limit).read_until(b'\n', &mut line),
        )
        .await;
        match read {
            Err(_) | Ok(Err(_)) | Ok(Ok(0)) => return,
            Ok(Ok(_)) => {}
        }
        let complete = line.last() == Some(&b'\n');
        if complete {
            line.pop();
        }
        if !complete && line.len() > MAX_REQUEST_LINE {
            let answer = failed(format!(
                "request longer than {MAX_REQUEST_LINE} bytes; closing the connection"
            ));
            let _ = write_answer(&mut write_half, &answer).await;
            return;
        }
        let answer = match std::str::from_utf8(&line) {
            Err(_) => failed("request is not UTF-8 text"),
            Ok(text) if text.trim().is_empty() => continue,
            Ok(text) => match parse_request(text) {
                Err(reason) => failed(reason),
                Ok(Request::Events) => {
                    return stream_events(&calls, &events, reader, write_half).await;
                }
                Ok(req) => call_engine(&calls, req).await,
            },
        };
        if write_answer(&mut write_half, &answer).await.is_err() {
            return;
        }
        if !complete {
            // EOF right after a request without newline: answered, now done.
            return;
        }
    }
}

/// `carpd events`: subscribe first, so nothing falls between the snapshot and the stream; then
/// the snapshot, then every event until the client goes away or stops reading for
/// [`WRITE_TIMEOUT`]. A listener that falls [`crate::events::BUFFER`] lines behind is told how
/// many it missed; the daemon never waits for it.
async fn stream_events(
    calls: &mpsc::Sender<Call>,
    events: &EventBus,
    mut reader: BufReader<tokio::net::unix::OwnedReadHalf>,
    mut write_half: tokio::net::unix::OwnedWriteHalf,
) {
    let mut rx = events.subscribe();
    let status = call_engine(calls, Request::Status).await;
    let snapshot = match status.get("report") {
        Some(report) => serde_json::json!({ "event": "snapshot", "report": report }),
        None => status,
    };
    if write_answer(&mut write_half, &snapshot).await.is_err() {
        return;
    }
    let mut scratch = [0u8; 256];
    loop {
        let line: String = tokio::select! {
            next = rx.recv() => match next {
                Ok(line) => line.to_string(),
                Err(broadcast::error::RecvError::Lagged(n)) => crate::events::missed_line(n),
                Err(broadcast::error::RecvError::Closed) => return,
            },
            // The client closed its end (or sent something, which a listener has no use for).
            read = reader.read(&mut scratch) => match read {
                Ok(0) | Err(_) => return,
                Ok(_) => continue,
            },
        };
        let mut bytes = line.into_bytes();
        bytes.push(b'\n');
        match tokio::time::timeout(WRITE_TIMEOUT, write_half.write_all(&bytes)).await {
            Ok(Ok(())) => {}
            _ => return,
        }
    }
}

async fn call_engine(calls: &mpsc::Sender<Call>, req: Request) -> serde_json::Value {
    let (tx, rx) = oneshot::channel();
    match tokio::time::timeout(ENGINE_TIMEOUT, calls.send((req, tx))).await {
        Err(_) => return failed("carpd is busy (request queue full); try again"),
        Ok(Err(_)) => return failed("carpd is shutting down"),
        Ok(Ok(())) => {}
    }
    match tokio::time::timeout(ENGINE_TIMEOUT, rx).await {
        Ok(Ok(answer)) => answer,
        Ok(Err(_)) => failed("carpd dropped the request without an answer"),
        Err(_) => failed(format!(
            "carpd did not answer within {}s",
            ENGINE_TIMEOUT.as_secs()
        )),
    }
}
