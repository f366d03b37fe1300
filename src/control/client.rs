//! Client side of the control socket, used by the CLI.

use std::path::Path;
use std::time::Duration;

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

/// Send one request and wait (at most `timeout`) for its answer.
pub fn request(
    socket: &Path,
    req: &Request,
    timeout: Duration,
) -> Result<serde_json::Value, ClientError> {
    let _ = (socket, req, timeout);
    todo!("control: request")
}
