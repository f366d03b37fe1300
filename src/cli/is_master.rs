//! `carpd is-master VHID@IF | --vip ADDR | --all`: an exit code for scripts that today grep
//! `ifconfig` for `carp: MASTER` — 0 when every selected VHID is MASTER, 1 when one is not, 3
//! when no daemon (and no carp(4)) answers, 2 for a selector that matches nothing.

use clap::Args;

use crate::status::{StatusReport, VhidStatus};

#[derive(Args, Debug)]
pub struct IsMasterArgs {
    /// The VHID as `<vhid>@<device>` (what hooks get as their first argument)
    #[arg(conflicts_with_all = ["vip", "all"], required_unless_present_any = ["vip", "all"])]
    pub vhid: Option<String>,
    /// The VHID that carries this address
    #[arg(long, conflicts_with = "all")]
    pub vip: Option<std::net::IpAddr>,
    /// Every configured VHID
    #[arg(long)]
    pub all: bool,
    /// Say which VHIDs were looked at and their states
    #[arg(long, short)]
    pub verbose: bool,
}

/// A selector matching no VHID is a usage error (the script asks about something carpd does
/// not have), not "not master".
const EXIT_NO_MATCH: u8 = 2;

pub fn run(g: &super::Global, a: IsMasterArgs) -> anyhow::Result<u8> {
    let report = match super::status::fetch(g, false)? {
        Ok(r) => r,
        Err(code) => return Ok(code),
    };
    let selected = match select(&report, &a) {
        Ok(s) => s,
        Err(why) => {
            eprintln!("carpd: {why}");
            return Ok(EXIT_NO_MATCH);
        }
    };
    if a.verbose {
        for v in &selected {
            println!("{}@{} {}", v.vhid, v.device, v.state);
        }
    }
    Ok(if selected.iter().all(|v| v.state == "MASTER") {
        0
    } else {
        1
    })
}

fn select<'r>(report: &'r StatusReport, a: &IsMasterArgs) -> Result<Vec<&'r VhidStatus>, String> {
    let chosen: Vec<&VhidStatus> = if a.all {
        report.vhids.iter().collect()
    } else if let Some(ip) = a.vip {
        let text = ip.to_string();
        report
            .vhids
            .iter()
            .filter(|v| v.addresses.iter().any(|x| x.address == text))
            .collect()
    } else {
        let name = a.vhid.as_deref().unwrap_or_default();
        let (vhid, device) = name
            .split_once('@')
            .and_then(|(n, d)| Some((n.parse::<u8>().ok()?, d)))
            .ok_or_else(|| format!("{name:?} is not <vhid>@<device>, e.g. 1@vtnet0"))?;
        report
            .vhids
            .iter()
            .filter(|v| v.vhid == vhid && v.device == device)
            .collect()
    };
    if chosen.is_empty() {
        return Err("no configured VHID matches".to_string());
    }
    Ok(chosen)
}
