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
    /// Named demotion contribution: add `delta`, or clear the name when `clear`. With
    /// `expires_in` (seconds) the contribution removes itself that long after this request.
    Demote {
        name: String,
        #[serde(default)]
        delta: i32,
        #[serde(default)]
        clear: bool,
        #[serde(default)]
        persistent: bool,
        #[serde(default)]
        expires_in: Option<u64>,
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
    /// Keep the connection open and stream [`crate::events::Event`] lines, after a first
    /// `{"event":"snapshot","report":…}`. Served by the control server itself.
    Events,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ForcedState {
    Backup,
    Master,
}

/// Longest request line the daemon reads; longer lines are answered `failed` and the
/// connection is closed (there is no way to find the next request inside an endless line).
pub const MAX_REQUEST_LINE: usize = 64 * 1024;

/// Parse one request line (without its newline). Never panics; the error text is meant for
/// the `reason` of a `failed` answer.
pub fn parse_request(line: &str) -> Result<Request, String> {
    if line.len() > MAX_REQUEST_LINE {
        return Err(format!(
            "request is {} bytes; the limit is {MAX_REQUEST_LINE}",
            line.len()
        ));
    }
    let line = line.trim();
    if line.is_empty() {
        return Err("empty request; send one JSON object such as {\"cmd\":\"status\"}".into());
    }
    let malformed = |e: serde_json::Error| {
        format!(
            "malformed request ({e}); send one JSON object per line such as {{\"cmd\":\"status\"}}"
        )
    };
    let value: serde_json::Value = serde_json::from_str(line).map_err(malformed)?;
    let req: Request = serde_json::from_value(value.clone()).map_err(malformed)?;
    // serde's deny_unknown_fields does not reach unit variants of a tagged enum; a typo such
    // as `"persistant": true` must not be silently ignored, so compare against the fields the
    // request really has (its serialised form lists every one, defaults included).
    if let (Some(given), Ok(serde_json::Value::Object(known))) =
        (value.as_object(), serde_json::to_value(&req))
        && let Some(extra) = given.keys().find(|k| !known.contains_key(*k))
    {
        return Err(format!(
            "unknown field `{extra}` for cmd `{}`",
            known.get("cmd").and_then(|c| c.as_str()).unwrap_or("?")
        ));
    }
    Ok(req)
}

/// A successful answer: `{"status":"ok", …}`. An object's fields are merged in (`ok(json!({"action":"enable"}))`
/// gives `{"status":"ok","action":"enable"}`); any other value goes under `"result"`.
pub fn ok(value: serde_json::Value) -> serde_json::Value {
    let mut answer = serde_json::Map::new();
    answer.insert("status".into(), "ok".into());
    match value {
        serde_json::Value::Object(fields) => {
            for (k, v) in fields {
                if k != "status" {
                    answer.insert(k, v);
                }
            }
        }
        serde_json::Value::Null => {}
        other => {
            answer.insert("result".into(), other);
        }
    }
    serde_json::Value::Object(answer)
}

/// A refusal or error: `{"status":"failed","reason":…}`.
pub fn failed(reason: impl Into<String>) -> serde_json::Value {
    serde_json::json!({"status": "failed", "reason": reason.into()})
}

/// Whether an answer is `{"status":"ok",…}`.
pub fn is_ok(answer: &serde_json::Value) -> bool {
    answer.get("status").and_then(|s| s.as_str()) == Some("ok")
}

/// A reload refused because config.xml cannot be used: the line to log and the answer, the
/// same on both engines. The running configuration is kept.
pub fn reload_refused(err: &crate::config::LoadError) -> (String, serde_json::Value) {
    match err {
        crate::config::LoadError::Invalid { errors, .. } => {
            let list: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
            let line = format!(
                "reload refused, the running configuration stays: {}",
                list.join("; ")
            );
            let answer = serde_json::json!({
                "status": "failed",
                "reason": "configuration has errors; the running one is kept",
                "errors": list,
            });
            (line, answer)
        }
        other => (
            format!("reload refused: {other}"),
            failed(format!("{other}; the running configuration is kept")),
        ),
    }
}

/// A reload that went through: the line to log and the answer, the same on both engines.
/// `added`, `changed` and `removed` name VHIDs as `<vhid>@<device>`.
/// The answer to `hooks replay` when this daemon runs no hooks.
pub fn hooks_off() -> serde_json::Value {
    failed(
        "hooks are off (carpd runs with --no-hooks): nothing was replayed; start carpd without \
         --no-hooks to run the hooks directory",
    )
}

pub fn reload_done(
    added: &[String],
    changed: &[String],
    removed: &[String],
    unchanged: usize,
) -> (String, serde_json::Value) {
    let line = format!(
        "reload: {} added, {} changed, {} removed, {unchanged} unchanged",
        added.len(),
        changed.len(),
        removed.len()
    );
    let answer = ok(serde_json::json!({
        "added": added, "changed": changed, "removed": removed, "unchanged": unchanged,
    }));
    (line, answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_forms() {
        assert_eq!(parse_request(r#"{"cmd":"status"}"#), Ok(Request::Status));
        assert_eq!(
            parse_request(r#"{"cmd":"maintenance","enter":true}"#),
            Ok(Request::Maintenance {
                enter: true,
                persistent: false
            })
        );
        assert_eq!(
            parse_request(r#"{"cmd":"demote","name":"service:openvpn","delta":50}"#),
            Ok(Request::Demote {
                name: "service:openvpn".into(),
                delta: 50,
                clear: false,
                persistent: false,
                expires_in: None
            })
        );
        assert_eq!(
            parse_request(r#"{"cmd":"demote","name":"x","clear":true,"persistent":true}"#),
            Ok(Request::Demote {
                name: "x".into(),
                delta: 0,
                clear: true,
                persistent: true,
                expires_in: None
            })
        );
        assert_eq!(
            parse_request(r#"{"cmd":"demote","name":"x","delta":240,"expires_in":600}"#),
            Ok(Request::Demote {
                name: "x".into(),
                delta: 240,
                clear: false,
                persistent: false,
                expires_in: Some(600)
            })
        );
        assert_eq!(
            parse_request(r#"{"cmd":"state","target":"backup","vhid":3}"#),
            Ok(Request::State {
                target: ForcedState::Backup,
                vhid: Some(3),
                device: None
            })
        );
        assert_eq!(
            serde_json::to_string(&Request::HooksReplay).unwrap(),
            r#"{"cmd":"hooks_replay"}"#
        );
    }

    #[test]
    fn bad_requests_are_errors() {
        for bad in [
            "",
            "   ",
            "{",
            "null",
            "[]",
            "42",
            r#"{"cmd":"nope"}"#,
            r#"{"cmd":"status","extra":1}"#,
            r#"{"cmd":"state","target":"backup","vhid":300}"#,
            r#"{"cmd":"demote","name":"x","delta":99999999999}"#,
            r#"{"cmd":"maintenance"}"#,
            r#"{"cmd":"maintenance","enter":true,"persistant":true}"#,
            r#"{"cmd":"state","target":"backup","vhid":1,"devcie":"x"}"#,
        ] {
            assert!(parse_request(bad).is_err(), "accepted {bad:?}");
        }
        let deep = "[".repeat(100_000);
        assert!(parse_request(&deep).is_err());
        let long = format!(
            r#"{{"cmd":"status","x":"{}"}}"#,
            "a".repeat(MAX_REQUEST_LINE)
        );
        assert!(parse_request(&long).unwrap_err().contains("limit"));
    }

    /// A cheap fuzz: mutated and random inputs must give Ok or Err, never a panic.
    #[test]
    fn parser_survives_mutations() {
        let seeds = [
            r#"{"cmd":"status"}"#,
            r#"{"cmd":"maintenance","enter":true,"persistent":true}"#,
            r#"{"cmd":"demote","name":"service:openvpn","delta":-50,"clear":false}"#,
            r#"{"cmd":"state","target":"master","vhid":7,"device":"vtnet0"}"#,
        ];
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let alphabet = br#"{}[]":,\ 0123456789-+.eEtrufalsn"#;
        for _ in 0..20_000 {
            let seed = seeds[(next() % seeds.len() as u64) as usize].as_bytes();
            let mut bytes = seed.to_vec();
            for _ in 0..(next() % 4 + 1) {
                let pos = (next() as usize) % (bytes.len() + 1);
                match next() % 3 {
                    0 if pos < bytes.len() => {
                        bytes.remove(pos);
                    }
                    1 if pos < bytes.len() => {
                        bytes[pos] = alphabet[(next() as usize) % alphabet.len()];
                    }
                    _ => bytes.insert(pos, alphabet[(next() as usize) % alphabet.len()]),
                }
            }
            let line = String::from_utf8_lossy(&bytes);
            let _ = parse_request(&line);
        }
    }

    #[test]
    fn answers() {
        assert_eq!(
            ok(serde_json::json!({"action":"enable"})),
            serde_json::json!({"status":"ok","action":"enable"})
        );
        assert_eq!(
            ok(serde_json::json!([1, 2])),
            serde_json::json!({"status":"ok","result":[1,2]})
        );
        assert_eq!(
            failed("no such VHID"),
            serde_json::json!({"status":"failed","reason":"no such VHID"})
        );
        assert!(is_ok(&ok(serde_json::Value::Null)));
        assert!(!is_ok(&failed("x")));
    }
}
