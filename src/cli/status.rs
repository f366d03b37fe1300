use clap::Args;
use std::path::PathBuf;

use crate::control::{Request, client};
use crate::status::{StatusReport, render};

#[derive(Args, Debug)]
pub struct StatusArgs {
    /// Print OPNsense get_vip_status JSON
    #[arg(long)]
    pub json: bool,
    /// Print Prometheus text format (for node_exporter's textfile collector)
    #[arg(long, conflicts_with = "json")]
    pub prometheus: bool,
    /// Native engine: write the observed kernel state as JSON to this file (`-` = stdout)
    #[arg(long)]
    pub kernel_state_dump: Option<PathBuf>,
}

pub fn run(g: &super::Global, a: StatusArgs) -> anyhow::Result<u8> {
    if let Some(path) = &a.kernel_state_dump {
        let kernel = g
            .kernel()?
            .observe()
            .map_err(crate::native::NativeError::from)?;
        crate::native::write_kernel_state_dump(path, &kernel)?;
        return Ok(0);
    }
    match fetch(g, a.json)? {
        Ok(report) => {
            print_report(&report, &a)?;
            Ok(0)
        }
        Err(code) => Ok(code),
    }
}

/// The daemon's report, or without a daemon the kernel's own view when carp(4) is here.
/// `Ok(Err(code))`: no report, and why was already said (3 = no daemon).
pub fn fetch(g: &super::Global, json: bool) -> anyhow::Result<Result<StatusReport, u8>> {
    let answer: client::StatusAnswer = match super::client::ask(g, &Request::Status) {
        Ok(answer) => answer,
        // No daemon, but carp(4) is here: the kernel still knows every VHID's state.
        Err(client::ClientError::NoDaemon(_)) if g.carp_loaded() => {
            let model = crate::config::load(&g.config)?.model;
            let kernel = g
                .kernel()?
                .observe()
                .map_err(crate::native::NativeError::from)?;
            return Ok(Ok(crate::native::report(&model, &kernel)));
        }
        Err(err) => return Ok(Err(super::client::report_error(&err, json))),
    };
    if answer.status != "ok" {
        let failed = serde_json::json!({ "status": answer.status, "reason": answer.reason });
        return Ok(Err(super::client::print_answer(&failed, json)));
    }
    let report = answer
        .report
        .ok_or_else(|| anyhow::anyhow!("bad status answer from carpd: no report"))?;
    Ok(Ok(report))
}

fn print_report(report: &StatusReport, a: &StatusArgs) -> anyhow::Result<()> {
    // Rendered whole, then written at once: `println!` of a JSON value would go out through
    // stdout's 1 KiB line buffer, a hundred writes for a report of 255 VHIDs.
    let text = if a.json {
        serde_json::to_string(&render::opnsense_json(report))? + "\n"
    } else if a.prometheus {
        render::prometheus(report)
    } else {
        render::table(report, crate::engine::unix_now())
    };
    let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), text.as_bytes());
    Ok(())
}
