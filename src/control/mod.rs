//! The control socket's protocol: one JSON object per line each way.
//!
//! Shared by the daemon (server side, both engines), the CLI (client side) and configd actions.
//! Every reply has `"status": "ok"` or `"status": "failed"` with a `"reason"`.

use serde::{Deserialize, Serialize};

pub mod client;
pub mod server;

/// A request from a client. Wire form: `{"cmd":"status"}`, `{"cmd":"maintenance","enter":true,"persistent":false}`, …
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    /// The full [`crate::status::StatusReport`].
    Status,
    /// Re-read config.xml.
    Reload,
    /// Run the hooks once with each VHID's current state.
    HooksReplay,
    Maintenance {
        enter: bool,
        #[serde(default)]
        persistent: bool,
    },
    /// Named demotion contribution: add `delta`, or clear the name when `clear`.
    Demote {
        name: String,
        #[serde(default)]
        delta: i32,
        #[serde(default)]
        clear: bool,
    },
    /// Forced transition of one VHID (`vhid` + optional `device`) or all (`vhid` absent).
    State {
        target: ForcedState,
        #[serde(default)]
        vhid: Option<u8>,
        #[serde(default)]
        device: Option<String>,
    },
    Disable,
    Enable,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ForcedState {
    Backup,
    Master,
}

/// `{"status":"ok", …fields}`.
pub fn ok(fields: serde_json::Value) -> serde_json::Value {
    let mut v = serde_json::json!({ "status": "ok" });
    if let (Some(obj), serde_json::Value::Object(extra)) = (v.as_object_mut(), fields) {
        obj.extend(extra);
    }
    v
}

/// `{"status":"failed","reason":…}`.
pub fn failed(reason: &str) -> serde_json::Value {
    serde_json::json!({ "status": "failed", "reason": reason })
}
