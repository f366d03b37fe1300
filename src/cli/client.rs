//! Commands that talk to the running daemon over the control socket, and the one way every
//! client command sends a request and prints the answer.
use clap::{Args, Subcommand};
use std::time::Duration;

use crate::control::{Request, client};

/// How long a client waits for the daemon (a reload of a huge config.xml takes a while).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Args, Debug)]
pub struct JsonFlag {
    /// Answer as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
pub enum HooksAction {
    /// Run the hooks once with each VHID's current state, so dependents converge
    Replay(JsonFlag),
}

/// Send `req` to the daemon. `Err(code)` when there is no daemon (already reported).
pub fn call(g: &super::Global, req: &Request, json: bool) -> Result<serde_json::Value, u8> {
    ask(g, req).map_err(|err| report_error(&err, json))
}

/// Send `req` to the daemon, leaving what to do without one to the caller.
pub fn ask<T: serde::de::DeserializeOwned>(
    g: &super::Global,
    req: &Request,
) -> Result<T, client::ClientError> {
    client::request(&g.paths().control_socket(), req, ANSWER_TIMEOUT)
}

/// Say why the daemon could not be asked; the exit code for it (3 = no daemon).
pub fn report_error(err: &client::ClientError, json: bool) -> u8 {
    if json {
        println!(
            "{}",
            serde_json::json!({"status": "failed", "reason": err.to_string()})
        );
    } else {
        eprintln!("carpd: {err}");
    }
    if matches!(err, client::ClientError::NoDaemon(_)) {
        super::EXIT_NO_DAEMON
    } else {
        super::EXIT_FAILED
    }
}

/// Print a daemon answer: as it is with `--json`, else one readable line; exit code follows
/// its status.
pub fn print_answer(answer: &serde_json::Value, json: bool) -> u8 {
    let ok = answer["status"] == "ok";
    if json {
        println!("{answer}");
    } else if ok {
        let mut fields = answer.as_object().cloned().unwrap_or_default();
        fields.remove("status");
        let text: Vec<String> = fields
            .iter()
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => format!("{k}: {s}"),
                other => format!("{k}: {other}"),
            })
            .collect();
        println!(
            "ok{}{}",
            if text.is_empty() { "" } else { ": " },
            text.join(", ")
        );
    } else {
        eprintln!(
            "carpd: {}",
            answer["reason"].as_str().unwrap_or("request failed")
        );
        if let Some(errors) = answer["errors"].as_array() {
            for e in errors {
                eprintln!("  {}", e.as_str().unwrap_or_default());
            }
        }
    }
    if ok { 0 } else { super::EXIT_FAILED }
}

/// One request, its answer printed.
pub fn request_and_print(g: &super::Global, req: Request, json: bool) -> anyhow::Result<u8> {
    Ok(match call(g, &req, json) {
        Ok(answer) => print_answer(&answer, json),
        Err(code) => code,
    })
}

pub fn reload(g: &super::Global, a: JsonFlag) -> anyhow::Result<u8> {
    request_and_print(g, Request::Reload, a.json)
}

pub fn hooks(g: &super::Global, a: HooksAction) -> anyhow::Result<u8> {
    match a {
        HooksAction::Replay(f) => request_and_print(g, Request::HooksReplay, f.json),
    }
}
