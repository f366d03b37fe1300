//! `carpd check`: validate config.xml and list every finding with its place.

use clap::Args;
use serde::Serialize;

use crate::config::{self, Diagnostic, LoadError, Severity};

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// Print findings as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct Report<'a> {
    config: String,
    usable: bool,
    groups: usize,
    /// Of those, groups speaking VRRPv3.
    vrrp: usize,
    addresses: usize,
    errors: &'a [Diagnostic],
    warnings: &'a [Diagnostic],
}

pub fn run(g: &super::Global, a: CheckArgs) -> anyhow::Result<u8> {
    let path = g.config.display().to_string();
    let mut vrrp = 0;
    let (groups, addresses, errors, warnings) = match config::load(&g.config) {
        Ok(loaded) => (
            {
                vrrp = loaded
                    .model
                    .groups
                    .iter()
                    .filter(|g| g.vrrp().is_some())
                    .count();
                loaded.model.groups.len()
            },
            loaded.model.groups.iter().map(|g| g.addresses.len()).sum(),
            Vec::new(),
            loaded.warnings,
        ),
        Err(LoadError::Invalid { errors, warnings }) => (0, 0, errors, warnings),
        Err(LoadError::Xml {
            line,
            column,
            message,
        }) => {
            let error = Diagnostic {
                severity: Severity::Error,
                place: "(document)".to_string(),
                line: Some(line),
                message: format!("malformed XML at column {column}: {message}"),
                hint: "repair the file (or restore a backup from /conf/backup) before carpd can read it"
                    .to_string(),
            };
            (0, 0, vec![error], Vec::new())
        }
        Err(e @ LoadError::Io { .. }) => {
            let error = Diagnostic {
                severity: Severity::Error,
                place: "(file)".to_string(),
                line: None,
                message: e.to_string(),
                hint: "point --config (CARPD_CONFIG) at the firewall's config.xml".to_string(),
            };
            (0, 0, vec![error], Vec::new())
        }
    };
    let usable = errors.is_empty();
    if a.json {
        let report = Report {
            config: path,
            usable,
            groups,
            vrrp,
            addresses,
            errors: &errors,
            warnings: &warnings,
        };
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        for d in errors.iter().chain(&warnings) {
            println!("{d}");
        }
        println!(
            "{path}: {}",
            summary(usable, (groups, vrrp), addresses, &errors, &warnings)
        );
    }
    Ok(if usable { 0 } else { super::EXIT_FAILED })
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `groups`: all groups and how many of them speak VRRPv3.
fn summary(
    usable: bool,
    groups: (usize, usize),
    addresses: usize,
    errors: &[Diagnostic],
    warnings: &[Diagnostic],
) -> String {
    let notes = warnings
        .iter()
        .filter(|d| d.severity == Severity::Note)
        .count();
    let warns = warnings.len() - notes;
    let mut parts = Vec::new();
    if usable {
        let mut g = plural(groups.0, "CARP group", "CARP groups");
        if groups.1 > 0 {
            g.push_str(&format!(" ({} VRRPv3)", groups.1));
        }
        parts.push(g);
        parts.push(plural(addresses, "address", "addresses"));
    } else {
        parts.push(plural(errors.len(), "error", "errors"));
    }
    parts.push(plural(warns, "warning", "warnings"));
    if notes > 0 {
        parts.push(plural(notes, "note", "notes"));
    }
    let mut s = parts.join(", ");
    if !usable {
        s.push_str(" — not usable, nothing would be applied");
    }
    s
}
