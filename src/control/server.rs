//! Daemon side of the control socket: accept connections, read one JSON request per line, hand
//! it to the engine, write its JSON answer back.

use std::path::Path;
use tokio::sync::{mpsc, oneshot};

use super::Request;

/// One request with the channel its answer goes back on.
pub type Call = (Request, oneshot::Sender<serde_json::Value>);

/// Bind `path` (mode 0600; a stale socket with no daemon behind it is replaced, a live one is
/// an error) and serve until the runtime stops. Malformed lines get a `failed` answer.
pub async fn serve(
    path: &Path,
    calls: mpsc::Sender<Call>,
) -> std::io::Result<tokio::task::JoinHandle<()>> {
    let _ = (path, calls);
    todo!("control: serve")
}
