//! The Defguard gateway follows a CARP VIP: `actions/defguard-gateway` (on OPNsense
//! `rc.syshook.d/carp/50-defguard-gateway`) keeps the gateway's WireGuard interface up on
//! MASTER and down on BACKUP/INIT. A transition alone is not enough: the gateway brings its
//! interface up on every (re)start (wireguard-rs `create_interface`), and OPNsense does too when
//! it configures an assigned wg0 — with no CARP event after either, so a BACKUP would answer
//! VPN traffic. carpd therefore runs the action again with the VIP's current state whenever
//! that interface appears or comes up (devd's IFNET ATTACH/LINK_UP) and when carpd starts.
//!
//! This module reads the action's own settings file, so both agree on the VIP and the
//! interface: `vip=<uuid>` (OPNsense ties services to a VIP by uuid) or `vhid=N` with an
//! optional `device=`, and `interface=` or else the `ifname` of the gateway's config
//! (`gateway_config=`, default `/etc/defguard/gateway.toml`), else `wg0`. `enabled=0` (what the
//! OPNsense plugin renders while the follower is off) turns it off.

use std::path::{Path, PathBuf};

use crate::config::{CarpGroup, Model};

/// Where the gateway keeps its settings (DefGuard/gateway: `ifname`, default `wg0`).
pub const DEFAULT_GATEWAY_CONFIG: &str = "/etc/defguard/gateway.toml";
const DEFAULT_IFNAME: &str = "wg0";

/// What the daemon needs of the action's settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Follow {
    pub vip: Option<String>,
    pub vhid: Option<u8>,
    pub device: Option<String>,
    /// The gateway's WireGuard interface.
    pub interface: String,
}

/// `key=value` lines, `#` comments, blanks and quotes dropped — the action's own reading.
fn settings(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|line| {
            let line: String = line
                .split('#')
                .next()
                .unwrap_or("")
                .chars()
                .filter(|c| !matches!(c, ' ' | '\t' | '"' | '\''))
                .collect();
            let (k, v) = line.split_once('=')?;
            Some((k.to_string(), v.to_string()))
        })
        .collect()
}

/// The top-level `ifname = "…"` of the gateway's TOML config.
pub fn gateway_ifname(toml: &str) -> Option<String> {
    for line in toml.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            return None; // past the top-level keys
        }
        if let Some((k, v)) = line.split_once('=')
            && k.trim() == "ifname"
        {
            let v = v.split('#').next().unwrap_or("").trim().trim_matches('"');
            if !v.is_empty() {
                return Some(v.to_string());
            }
        }
    }
    None
}

/// Read the action's settings; `Ok(None)` when the file does not exist (not configured).
pub fn load(path: &Path) -> Result<Option<Follow>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let mut f = Follow {
        vip: None,
        vhid: None,
        device: None,
        interface: String::new(),
    };
    let mut gateway_config = PathBuf::from(DEFAULT_GATEWAY_CONFIG);
    for (k, v) in settings(&text) {
        match k.as_str() {
            "vip" if !v.is_empty() => f.vip = Some(v),
            "vhid" if !v.is_empty() => {
                f.vhid = Some(v.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                    format!("{}: vhid={v} is not a number from 1 to 255", path.display())
                })?)
            }
            "device" if !v.is_empty() => f.device = Some(v),
            "interface" => f.interface = v,
            "gateway_config" if !v.is_empty() => gateway_config = PathBuf::from(v),
            "enabled" if v == "0" => return Ok(None),
            _ => {}
        }
    }
    if f.vip.is_none() && f.vhid.is_none() {
        return Err(format!(
            "{}: neither vip= nor vhid= is set; name the VIP the gateway follows",
            path.display()
        ));
    }
    if f.interface.is_empty() {
        f.interface = std::fs::read_to_string(&gateway_config)
            .ok()
            .and_then(|t| gateway_ifname(&t))
            .unwrap_or_else(|| DEFAULT_IFNAME.to_string());
    }
    Ok(Some(f))
}

impl Follow {
    /// The configured group the gateway follows: the one holding the VIP of that uuid, or
    /// VHID N (on `device`, when given).
    pub fn group<'m>(&self, model: &'m Model) -> Option<&'m CarpGroup> {
        model.groups.iter().find(|g| match &self.vip {
            Some(uuid) => g
                .addresses
                .iter()
                .any(|a| a.source.as_deref() == Some(uuid.as_str())),
            None => {
                Some(g.vhid) == self.vhid && self.device.as_deref().is_none_or(|d| d == g.device)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_ifname_of_the_gateway_config() {
        let toml = "# Defguard gateway\ntoken = \"x\"\nifname = \"wg7\" # the interface\n\n[ipv4]\nifname = \"no\"\n";
        assert_eq!(gateway_ifname(toml).as_deref(), Some("wg7"));
        assert_eq!(gateway_ifname("[table]\nifname = \"wg1\"\n"), None);
        assert_eq!(gateway_ifname("userspace = false\n"), None);
    }

    #[test]
    fn settings_as_the_action_reads_them() {
        let dir = std::env::temp_dir().join(format!("carpd-defguard-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let conf = dir.join("defguard-gateway.conf");
        assert_eq!(load(&conf), Ok(None));
        let toml = dir.join("gateway.toml");
        std::fs::write(&toml, "ifname = \"wg3\"\n").unwrap();
        std::fs::write(
            &conf,
            format!(
                "# comment\nvip = \"u-1\"\ngateway_config={}\nmode=link\n",
                toml.display()
            ),
        )
        .unwrap();
        let f = load(&conf).unwrap().unwrap();
        assert_eq!(
            (f.vip.as_deref(), f.interface.as_str()),
            (Some("u-1"), "wg3")
        );
        std::fs::write(&conf, "vhid=300\n").unwrap();
        assert!(load(&conf).is_err());
        std::fs::write(&conf, "mode=link\n").unwrap();
        assert!(load(&conf).unwrap_err().contains("neither vip= nor vhid="));
        std::fs::write(&conf, "enabled=0\nvhid=4\n").unwrap();
        assert_eq!(load(&conf), Ok(None));
        std::fs::write(&conf, "vhid=4\ninterface=wg9\n").unwrap();
        assert_eq!(load(&conf).unwrap().unwrap().interface, "wg9");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
