//! `carpd show`: the CARP model exactly as carpd will apply it. Keys are described, never shown.

use std::fmt::Write as _;

use clap::Args;
use serde::Serialize;

use crate::config::{self, CarpGroup, Diagnostic, LoadError, Model, VipMode};

#[derive(Args, Debug)]
pub struct ShowArgs {
    /// Print the model as JSON
    #[arg(long)]
    pub json: bool,
    /// Print only `<vhid>@<device>` of the group holding the VIP with this uuid (exit 1 if
    /// none does): how the Defguard action finds its VIP
    #[arg(long, value_name = "UUID", conflicts_with = "json")]
    pub vip: Option<String>,
}

#[derive(Serialize)]
struct ShowJson<'a> {
    #[serde(flatten)]
    model: &'a Model,
    warnings: &'a [Diagnostic],
}

pub fn run(g: &super::Global, a: ShowArgs) -> anyhow::Result<u8> {
    let loaded = match config::load(&g.config) {
        Ok(loaded) => loaded,
        Err(LoadError::Invalid { errors, warnings }) => {
            for d in errors.iter().chain(&warnings) {
                eprintln!("{d}");
            }
            eprintln!(
                "carpd: {} is not usable ({} error(s)); run `carpd check` for details",
                g.config.display(),
                errors.len()
            );
            return Ok(super::EXIT_FAILED);
        }
        Err(e) => return Err(anyhow::Error::new(e).context(format!("{}", g.config.display()))),
    };
    if let Some(uuid) = &a.vip {
        let found = loaded.model.groups.iter().find(|grp| {
            grp.addresses
                .iter()
                .any(|addr| addr.source.as_deref() == Some(uuid.as_str()))
        });
        return Ok(match found {
            Some(grp) => {
                println!("{}", grp.name());
                0
            }
            None => {
                eprintln!(
                    "carpd: no CARP group in {} holds a VIP with uuid {uuid}",
                    g.config.display()
                );
                super::EXIT_FAILED
            }
        });
    }
    if a.json {
        let out = ShowJson {
            model: &loaded.model,
            warnings: &loaded.warnings,
        };
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        for d in &loaded.warnings {
            eprintln!("{d}");
        }
        print!("{}", render(&loaded.model));
    }
    Ok(0)
}

/// Human form of the model: one header line per group, its addresses indented below.
pub fn render(model: &Model) -> String {
    let mut out = String::new();
    for group in &model.groups {
        render_group(&mut out, group);
    }
    if model.groups.is_empty() {
        out.push_str("no CARP groups\n");
    }
    let ha = &model.ha;
    let _ = write!(
        out,
        "maintenance: {}  preempt: {}  pfsync: ",
        if model.maintenance { "on" } else { "off" },
        if ha.preempt() { "on" } else { "off" },
    );
    match &ha.pfsync.device {
        None => out.push_str("off\n"),
        Some(dev) => {
            let _ = write!(out, "{dev}");
            match ha.pfsync.peer {
                Some(p) => {
                    let _ = write!(out, " peer {p}");
                }
                None => out.push_str(" multicast"),
            }
            if let Some(v) = &ha.pfsync.version {
                let _ = write!(out, " version {v}");
            }
            out.push('\n');
        }
    }
    out
}

fn render_group(out: &mut String, g: &CarpGroup) {
    match g.vrrp() {
        None => {
            let _ = write!(
                out,
                "{} ({}) advbase {} advskew {} key: {}",
                g.name(),
                g.interface_name,
                g.advbase,
                g.advskew,
                g.key.describe()
            );
        }
        Some(v) => {
            let _ = write!(
                out,
                "{} ({}) vrrp3 priority {} interval {} cs preempt {}",
                g.name(),
                g.interface_name,
                v.priority,
                v.interval_cs,
                if v.preempt { "on" } else { "off" }
            );
        }
    }
    if g.v4_addresses().next().is_some() {
        match g.peer {
            Some(p) => {
                let _ = write!(out, " peer {p}");
            }
            None => out.push_str(" peer multicast"),
        }
    }
    if g.v6_addresses().next().is_some() {
        match g.peer6 {
            Some(p) => {
                let _ = write!(out, " peer6 {p}");
            }
            None => out.push_str(" peer6 multicast"),
        }
    }
    out.push('\n');
    for a in &g.addresses {
        let mode = match a.mode {
            VipMode::Carp => "carp",
            VipMode::Ipalias => "ipalias",
        };
        let _ = write!(out, "    {:<40} {mode:<8}", a.prefix.to_string());
        if !a.description.is_empty() {
            let _ = write!(out, " {}", a.description);
        }
        out.push('\n');
    }
}
