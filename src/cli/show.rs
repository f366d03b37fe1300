//! `carpd show`: the CARP model exactly as carpd will apply it. Keys are described, never shown.

use std::fmt::Write as _;

use clap::Args;
use serde::Serialize;

use crate::config::{
    self, CarpGroup, Check, CheckEffect, CheckKind, Diagnostic, LoadError, Model, Settings, VipMode,
};

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
    if model.settings != Settings::default() {
        render_settings(&mut out, &model.settings);
    }
    out
}

/// carpd's own settings and checks, shown only when any differs from the defaults.
fn render_settings(out: &mut String, s: &Settings) {
    let _ = write!(
        out,
        "startup delay: {} s  preempt delay: {} s  announce: ",
        s.startup_delay.as_secs(),
        s.preempt_delay.as_secs()
    );
    match s.announce_interval {
        Some(every) => {
            let _ = writeln!(out, "every {} s", every.as_secs());
        }
        None => out.push_str("off\n"),
    }
    match &s.ready_command {
        Some(command) => {
            let _ = writeln!(
                out,
                "ready command: {command}  (gives up after {} s)",
                s.ready_deadline.as_secs()
            );
        }
        None if !s.startup_delay.is_zero() => {
            let _ = writeln!(out, "ready deadline: {} s", s.ready_deadline.as_secs());
        }
        None => {}
    }
    for check in &s.checks {
        render_check(out, check);
    }
}

fn render_check(out: &mut String, c: &Check) {
    let what = match &c.kind {
        CheckKind::Link { interface } => format!("link {interface}"),
        CheckKind::Command { command } => format!("command {command}"),
        CheckKind::File { path } => format!("file {}", path.display()),
        CheckKind::Process { name } => format!("process {name}"),
    };
    let effect = match (&c.effect, &c.kind) {
        (CheckEffect::Demote(_), CheckKind::File { .. }) => {
            "demote by the file's number".to_string()
        }
        (CheckEffect::Demote(w), _) => format!("demote {w}"),
        (CheckEffect::Fault { vhids }, _) if vhids.is_empty() => "fault: every VHID".to_string(),
        (CheckEffect::Fault { vhids }, _) => {
            let list: Vec<String> = vhids.iter().map(u8::to_string).collect();
            format!("fault: VHID {}", list.join(","))
        }
    };
    let _ = writeln!(
        out,
        "check {}: {what}  every {} s timeout {} s rise {} fall {}  {effect}",
        c.name,
        c.interval.as_secs(),
        c.timeout.as_secs(),
        c.rise,
        c.fall
    );
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn settings_and_checks_show_only_when_set() {
        let mut model = Model::default();
        assert!(!render(&model).contains("startup delay"));
        model.settings = Settings {
            startup_delay: Duration::from_secs(30),
            ready_command: Some("test -e /var/run/booted".to_string()),
            announce_interval: Some(Duration::from_secs(10)),
            checks: vec![
                Check {
                    name: "uplink".to_string(),
                    kind: CheckKind::Link {
                        interface: "eth1".to_string(),
                    },
                    interval: Duration::from_secs(2),
                    timeout: Duration::from_secs(2),
                    rise: 2,
                    fall: 3,
                    effect: CheckEffect::Demote(240),
                },
                Check {
                    name: "sshd".to_string(),
                    kind: CheckKind::Process {
                        name: "sshd".to_string(),
                    },
                    interval: Duration::from_secs(5),
                    timeout: Duration::from_secs(1),
                    rise: 1,
                    fall: 1,
                    effect: CheckEffect::Fault { vhids: vec![1, 2] },
                },
            ],
            ..Settings::default()
        };
        let text = render(&model);
        assert!(
            text.contains(
                "startup delay: 30 s  preempt delay: 0 s  announce: every 10 s\n\
                 ready command: test -e /var/run/booted  (gives up after 300 s)\n\
                 check uplink: link eth1  every 2 s timeout 2 s rise 2 fall 3  demote 240\n\
                 check sshd: process sshd  every 5 s timeout 1 s rise 1 fall 1  fault: VHID 1,2\n"
            ),
            "{text}"
        );
    }
}
