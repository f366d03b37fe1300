//! Client side of the control socket, used by the CLI.

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use super::Request;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("no carpd is running (no answer on {0})")]
    NoDaemon(String),
    #[error("control socket {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("bad answer from carpd: {0}")]
    BadAnswer(String),
}

/// Longest answer the client accepts (a status report of many VHIDs is well below this).
pub const MAX_ANSWER: usize = 16 * 1024 * 1024;

/// Send one request and wait (at most `timeout`) for its answer, read as `T` (a
/// `serde_json::Value`, or a typed answer such as [`StatusAnswer`] that skips the detour).
///
/// `NoDaemon` when the socket does not exist or nobody listens on it; `Io` for anything else
/// at the socket (permission denied: run as root), including a timeout; `BadAnswer` when the
/// answer is not one JSON line of that shape.
pub fn request<T: serde::de::DeserializeOwned>(
    socket: &Path,
    req: &Request,
    timeout: Duration,
) -> Result<T, ClientError> {
    let io_err = |source| socket_error(socket, Some(timeout), source);
    let deadline = Instant::now() + timeout;
    let left = |deadline: Instant| {
        // A zero timeout means "block forever" to the socket API; use the smallest real one.
        deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1))
    };
    let stream = send(socket, req, Some(left(deadline)), &io_err)?;

    let mut reader = BufReader::new(&stream).take(MAX_ANSWER as u64 + 1);
    let mut answer = Vec::new();
    loop {
        stream
            .set_read_timeout(Some(left(deadline)))
            .map_err(io_err)?;
        let buf = match reader.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(io_err(e)),
        };
        if buf.is_empty() {
            break;
        }
        if let Some(nl) = buf.iter().position(|&b| b == b'\n') {
            answer.extend_from_slice(&buf[..nl]);
            break;
        }
        let n = buf.len();
        answer.extend_from_slice(buf);
        reader.consume(n);
        if answer.len() > MAX_ANSWER {
            return Err(ClientError::BadAnswer(format!(
                "answer longer than {MAX_ANSWER} bytes"
            )));
        }
        if Instant::now() >= deadline {
            return Err(io_err(std::io::Error::from(ErrorKind::TimedOut)));
        }
    }
    if answer.is_empty() {
        return Err(ClientError::BadAnswer(
            "carpd closed the connection without answering".into(),
        ));
    }
    serde_json::from_slice(&answer).map_err(|e| {
        ClientError::BadAnswer(format!(
            "{e}: {}",
            String::from_utf8_lossy(&answer[..answer.len().min(200)])
        ))
    })
}

/// Connect and send one request line (bounded by `write_timeout` when given). `NoDaemon` when
/// the socket does not exist or nobody listens on it.
fn send(
    socket: &Path,
    req: &Request,
    write_timeout: Option<Duration>,
    io_err: &impl Fn(std::io::Error) -> ClientError,
) -> Result<UnixStream, ClientError> {
    let stream = match UnixStream::connect(socket) {
        Ok(s) => s,
        Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::ConnectionRefused) => {
            return Err(ClientError::NoDaemon(socket.display().to_string()));
        }
        Err(e) => return Err(io_err(e)),
    };
    let mut line = serde_json::to_vec(req).map_err(|e| io_err(std::io::Error::other(e)))?;
    line.push(b'\n');
    stream.set_write_timeout(write_timeout).map_err(io_err)?;
    (&stream).write_all(&line).map_err(io_err)?;
    Ok(stream)
}

/// An error at the socket, said the way an operator can act on it: a timeout (with the
/// request's `timeout`) or a permission problem.
fn socket_error(socket: &Path, timeout: Option<Duration>, source: std::io::Error) -> ClientError {
    let source = match (source.kind(), timeout) {
        (ErrorKind::WouldBlock | ErrorKind::TimedOut, Some(timeout)) => std::io::Error::new(
            ErrorKind::TimedOut,
            format!(
                "no answer within {:.1}s; carpd may be stuck — see its log",
                timeout.as_secs_f64()
            ),
        ),
        (ErrorKind::PermissionDenied, _) => std::io::Error::new(
            ErrorKind::PermissionDenied,
            "permission denied; the control socket is root-only (mode 0600)",
        ),
        _ => source,
    };
    ClientError::Io {
        path: socket.display().to_string(),
        source,
    }
}

/// The answer to [`Request::Status`], read straight into the report: a status of hundreds of
/// VHIDs is read once instead of as a JSON tree first.
#[derive(Debug, serde::Deserialize)]
pub struct StatusAnswer {
    pub status: String,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub report: Option<crate::status::StatusReport>,
}

/// Send `req` and hand every answer line to `on_line` until the daemon closes the connection
/// or `on_line` returns false (`carpd events`). No timeout: a stream may be quiet for hours.
pub fn stream(
    socket: &Path,
    req: &Request,
    mut on_line: impl FnMut(&str) -> bool,
) -> Result<(), ClientError> {
    let io_err = |source| socket_error(socket, None, source);
    let stream = send(socket, req, None, &io_err)?;
    for line in BufReader::new(stream).lines() {
        let line = line.map_err(io_err)?;
        if line.len() > MAX_ANSWER {
            return Err(ClientError::BadAnswer(format!(
                "an event line of {} bytes",
                line.len()
            )));
        }
        if !on_line(&line) {
            break;
        }
    }
    Ok(())
}
