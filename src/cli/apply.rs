//! `carpd apply`: make carp(4) match config.xml (native engine), or show what that would take.
use anyhow::Context;
use clap::Args;
use std::path::PathBuf;

use crate::native::{self, KernelState, Ledger, NativeError};

#[derive(Args, Debug)]
pub struct ApplyArgs {
    /// Print the plan as ifconfig/sysctl lines instead of applying it
    #[arg(long)]
    pub dry_run: bool,
    /// Plan against this JSON snapshot of kernel state instead of the live kernel (`{}` = no CARP)
    #[arg(long)]
    pub kernel_state: Option<PathBuf>,
    /// Answer as JSON
    #[arg(long)]
    pub json: bool,
}

const PASS_NOTE: &str = "passwords are shown as '****'; carpd hands keys to the kernel directly, never on a command line";

pub fn run(g: &super::Global, a: ApplyArgs) -> anyhow::Result<u8> {
    // The kernel side first: on a host without carp(4) that is the error worth seeing.
    let kernel = match &a.kernel_state {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading kernel state {}", path.display()))?;
            KernelState::from_json(&text).with_context(|| {
                format!(
                    "{} is not a kernel state snapshot (write one with `carpd status --kernel-state-dump FILE`)",
                    path.display()
                )
            })?
        }
        None => g.kernel()?.observe().map_err(NativeError::from)?,
    };
    let loaded = crate::config::load(&g.config)
        .with_context(|| format!("reading {}", g.config.display()))?;
    for w in &loaded.warnings {
        eprintln!("carpd: {w}");
    }
    let model = loaded.model;

    if let Some(why) = native::vrrp_unsupported(&model, &kernel) {
        anyhow::bail!("refusing to plan: {why}");
    }
    let mut ledger = Ledger::load(&g.state_dir)?;
    let plan = native::plan_with_ledger(&model, &kernel, Some(&ledger));

    // A plan made against a snapshot is never executed: the live kernel may differ.
    let execute = !a.dry_run && a.kernel_state.is_none();
    if execute && let Some(o) = g.opnsense() {
        anyhow::bail!(
            "refusing to apply on {}: core programs the CARP VIPs (Interfaces: Virtual IPs: \
             Apply), and carpd would be a second writer; `carpd apply --dry-run` shows where \
             carp(4) differs from config.xml",
            o.version
        );
    }
    if !execute {
        if !a.dry_run {
            eprintln!("carpd: planned against a snapshot; nothing applied");
        }
        if a.json {
            println!("{}", serde_json::to_string_pretty(&plan.to_json())?);
        } else {
            print_plan_text(&plan);
        }
        return Ok(0);
    }

    let result = g.kernel()?.execute(&plan);
    let applied: Vec<usize> = match &result {
        Ok(v) => v.clone(),
        Err(e) => (0..e.applied.len()).collect(),
    };
    native::record_applied(&mut ledger, &model, &plan, &applied);
    ledger.save(&g.state_dir)?;

    if a.json {
        let mut v = plan.to_json();
        v["applied"] = applied.len().into();
        v["error"] = match &result {
            Ok(_) => serde_json::Value::Null,
            Err(e) => e.to_string().into(),
        };
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        for n in &plan.notes {
            println!("# {n}");
        }
        if plan.is_empty() {
            println!("nothing to do: carp(4) matches {}", g.config.display());
        }
        for i in &applied {
            println!("applied: {}", plan.steps[*i].command());
        }
    }
    match result {
        Ok(_) => Ok(0),
        Err(e) => {
            eprintln!("carpd: {e}");
            Ok(super::EXIT_FAILED)
        }
    }
}

fn print_plan_text(plan: &native::Plan) {
    for n in &plan.notes {
        println!("# {n}");
    }
    if plan.is_empty() {
        println!("# nothing to do: the kernel matches config.xml");
        return;
    }
    if plan
        .steps
        .iter()
        .any(|s| matches!(s, native::Step::SetVhid { key: Some(_), .. }))
    {
        println!("# {PASS_NOTE}");
    }
    for c in plan.commands() {
        println!("{c}");
    }
}
