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
        crate::native::dump_live_kernel_state(path)?;
        return Ok(0);
    }
    let mut answer = match super::client::ask(g, &Request::Status) {
        Ok(answer) => answer,
        // No daemon, but carp(4) is here: the kernel still knows every VHID's state.
        Err(client::ClientError::NoDaemon(_)) if crate::native::engine_available() => {
            let model = crate::config::load(&g.config)?.model;
            let kernel = crate::native::observe()?;
            print_report(&crate::native::report(&model, &kernel), &a);
            return Ok(0);
        }
        Err(err) => return Ok(super::client::report_error(&err, a.json)),
    };
    if answer["status"] != "ok" {
        return Ok(super::client::print_answer(&answer, a.json));
    }
    let report: StatusReport = serde_json::from_value(answer["report"].take())
        .map_err(|e| anyhow::anyhow!("bad status answer from carpd: {e}"))?;
    print_report(&report, &a);
    Ok(0)
}

fn print_report(report: &StatusReport, a: &StatusArgs) {
    if a.json {
        println!("{}", render::opnsense_json(report));
    } else if a.prometheus {
        print!("{}", render::prometheus(report));
    } else {
        print!("{}", render::table(report, crate::engine::unix_now()));
    }
}
