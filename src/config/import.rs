//! A firewall's backup (OPNsense or pfSense config.xml) → the [`Draft`] of a node that joins
//! its cluster: the CARP VIPs, their IP aliases and passwords on the interfaces the user maps
//! to local devices, with the same VHIDs and keys.
//!
//! The mapped part of the backup is validated by the same rules as `carpd check` *before* it
//! is turned into a draft, so every problem is reported with its place and line in the backup
//! itself. VIPs on interfaces that are not mapped are listed and left out, as are their
//! problems: a firewall's VIP on an interface this node does not join is not this node's
//! business.

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;

use super::draft::{
    Draft, DraftAddress, DraftGroup, DraftInterface, Secret, device_name_problem, is_element_name,
    new_uuid,
};
use super::reader::{RawConfig, RawHasync, RawVip};
use super::{Diagnostic, LoadError};

/// `--map KEY=DEVICE`: the backup's interface key and the device it is here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mapping {
    pub key: String,
    pub device: String,
}

impl std::str::FromStr for Mapping {
    type Err = String;
    fn from_str(s: &str) -> Result<Mapping, String> {
        let (key, device) = s.split_once('=').ok_or_else(|| {
            format!("\"{s}\" is not KEY=DEVICE: name the backup's interface key and this host's device, e.g. wan=eth0")
        })?;
        if key.is_empty() {
            return Err(format!(
                "\"{s}\": the interface key before '=' is empty (e.g. wan=eth0)"
            ));
        }
        if let Some(why) = device_name_problem(device) {
            return Err(format!("\"{device}\" is not a device name: {why}"));
        }
        Ok(Mapping {
            key: key.to_string(),
            device: device.to_string(),
        })
    }
}

#[derive(Clone, Debug, Default)]
pub struct ImportOptions {
    pub maps: Vec<Mapping>,
    /// This node's advskew for every imported VHID (the firewall's own when `None`).
    pub advskew: Option<u8>,
    /// Turn preemption off here whatever the backup says.
    pub disable_preempt: bool,
}

/// A CARP VIP (or an alias on one) of the backup that is not imported, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    pub interface_key: String,
    pub mode: &'static str,
    pub vhid: Option<String>,
    pub address: String,
    pub line: u32,
}

impl std::fmt::Display for Skipped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} on {}",
            self.mode, self.address, self.interface_key
        )?;
        if let Some(v) = &self.vhid {
            write!(f, " (vhid {v})")?;
        }
        write!(f, ", line {}", self.line)
    }
}

#[derive(Debug)]
pub struct Imported {
    pub draft: Draft,
    /// CARP VIPs and aliases on interfaces that were not mapped.
    pub skipped: Vec<Skipped>,
    /// What the user should know about choices made (no secrets).
    pub notices: Vec<String>,
    /// Warnings and notes about the imported part of the backup.
    pub warnings: Vec<Diagnostic>,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("the backup {path}: {source}")]
    Load {
        path: String,
        #[source]
        source: LoadError,
    },
    #[error("--map {key}=…: the backup has no interface \"{key}\" (it has: {})", known.join(", "))]
    UnknownInterface { key: String, known: Vec<String> },
    #[error("--map {key}=…: {key} is an interface group in the backup, not an interface")]
    GroupInterface { key: String },
    #[error("--map {key}=… is given twice")]
    KeyTwice { key: String },
    #[error("--map: device {device} is given for both {first} and {second}")]
    DeviceTwice {
        device: String,
        first: String,
        second: String,
    },
    #[error("the backup has no CARP VIP on {} (its CARP VIPs are on other interfaces, see above, or it has none)", keys.join(", "))]
    Nothing { keys: Vec<String> },
    #[error(
        "vhid {vhid} on {key} uses a unicast {family} peer in the backup, and the firewall's own {family} address on {key} is not a fixed address ({own}); carpd init cannot tell whom this node should advertise to"
    )]
    UnicastPeer {
        vhid: u8,
        key: String,
        family: &'static str,
        own: String,
    },
}

impl ImportError {
    /// What to do about it.
    pub fn hint(&self) -> &'static str {
        match self {
            ImportError::Load {
                source: LoadError::Io { .. },
                ..
            } => {
                "give the path of the firewall's backup (OPNsense: System → Configuration → Backups; pfSense: Diagnostics → Backup & Restore)"
            }
            ImportError::Load {
                source: LoadError::Xml { .. },
                ..
            } => "this is not a readable config.xml: download the backup again (unencrypted)",
            ImportError::Load { .. } => {
                "fix these in the firewall (or in a copy of the backup) and export again"
            }
            ImportError::UnknownInterface { .. } | ImportError::GroupInterface { .. } => {
                "use a key from the backup's <interfaces> (wan, lan, optN), as its VIPs name them"
            }
            ImportError::KeyTwice { .. } | ImportError::DeviceTwice { .. } => {
                "give each interface key and each device once"
            }
            ImportError::Nothing { .. } => "map the interfaces that carry the CARP VIPs",
            ImportError::UnicastPeer { .. } => {
                "write this node's config with flags instead (carpd init --interface … --peer …)"
            }
        }
    }
}

/// Read the backup at `path` and build the draft for the mapped interfaces.
pub fn import(path: &Path, opts: &ImportOptions) -> Result<Imported, ImportError> {
    let load_err = |source| ImportError::Load {
        path: path.display().to_string(),
        source,
    };
    let raw = super::read_raw(path).map_err(load_err)?;
    check_maps(&raw, &opts.maps)?;
    let device_of: HashMap<&str, &str> = opts
        .maps
        .iter()
        .map(|m| (m.key.as_str(), m.device.as_str()))
        .collect();

    let (filtered, skipped) = mapped_part(&raw, &device_of, opts.advskew);
    let loaded = super::finish(&filtered).map_err(load_err)?;
    let model = loaded.model;
    if model.groups.is_empty() {
        return Err(ImportError::Nothing {
            keys: opts.maps.iter().map(|m| m.key.clone()).collect(),
        });
    }

    let mut notices = Vec::new();
    let mut groups = Vec::new();
    for g in &model.groups {
        let carp = raw
            .vips
            .iter()
            .find(|v| source_of(v).is_some() && source_of(v) == g.source_uuid)
            .or_else(|| {
                raw.vips.iter().find(|v| {
                    v.fields.text("mode") == Some("carp")
                        && v.fields.text("interface") == Some(g.interface_key.as_str())
                        && v.fields.text("vhid") == Some(g.vhid.to_string().as_str())
                })
            });
        // validate::build read the password from exactly this entry.
        let password = carp
            .and_then(|v| v.fields.get("password"))
            .map_or(String::new(), |p| p.value.clone());
        let own = raw.interfaces.iter().find(|i| i.key == g.interface_key);
        let own_text = |name: &str| {
            own.and_then(|i| i.fields.text(name))
                .unwrap_or("none")
                .to_string()
        };
        // The backup's peer is the firewall's partner; this node pairs with the firewall
        // itself, whose own address on that interface is in <ipaddr>/<ipaddrv6>.
        let peer = match g.peer {
            None => None,
            Some(old) => {
                let own = own_text("ipaddr");
                let new: Ipv4Addr = own.parse().map_err(|_| ImportError::UnicastPeer {
                    vhid: g.vhid,
                    key: g.interface_key.clone(),
                    family: "IPv4",
                    own: own.clone(),
                })?;
                notices.push(format!(
                    "vhid {} on {}: unicast; the backup's peer {old} is the firewall's partner, this node advertises to the firewall's own {new} instead (set the firewall's peer to this node's address)",
                    g.vhid, g.interface_key
                ));
                Some(new)
            }
        };
        let peer6 = match g.peer6 {
            None => None,
            Some(old) => {
                let own = own_text("ipaddrv6");
                let new: Ipv6Addr = own.parse().map_err(|_| ImportError::UnicastPeer {
                    vhid: g.vhid,
                    key: g.interface_key.clone(),
                    family: "IPv6",
                    own: own.clone(),
                })?;
                notices.push(format!(
                    "vhid {} on {}: unicast; the backup's peer6 {old} is the firewall's partner, this node advertises to the firewall's own {new} instead (set the firewall's peer6 to this node's address)",
                    g.vhid, g.interface_key
                ));
                Some(new)
            }
        };
        groups.push(DraftGroup {
            interface_key: g.interface_key.clone(),
            vhid: g.vhid,
            advbase: g.advbase,
            advskew: g.advskew,
            password: Secret::new(password),
            addresses: g
                .addresses
                .iter()
                .map(|a| DraftAddress {
                    prefix: a.prefix,
                    // OPNsense uuids are kept; pfSense's uniqids are not uuids.
                    uuid: a
                        .source
                        .clone()
                        .filter(|s| s.len() == 36 && s.matches('-').count() == 4)
                        .unwrap_or_else(new_uuid),
                    descr: a.description.clone(),
                })
                .collect(),
            peer,
            peer6,
        });
    }
    if opts.advskew.is_none() {
        let skews: std::collections::BTreeSet<u8> = groups.iter().map(|g| g.advskew).collect();
        let list: Vec<String> = skews.iter().map(u8::to_string).collect();
        notices.push(format!(
            "advskew {} as on the firewall: neither node is preferred; give --advskew (e.g. 100) to make this node the backup",
            list.join("/")
        ));
    }

    let interfaces = opts
        .maps
        .iter()
        .filter(|m| groups.iter().any(|g| g.interface_key == m.key))
        .map(|m| {
            let descr = raw
                .interfaces
                .iter()
                .find(|i| i.key == m.key)
                .and_then(|i| i.fields.text("descr"))
                .map_or_else(|| m.key.to_uppercase(), str::to_string);
            DraftInterface {
                key: m.key.clone(),
                device: m.device.clone(),
                descr,
            }
        })
        .collect();
    let maps: Vec<String> = opts
        .maps
        .iter()
        .map(|m| format!("{} as {}", m.key, m.device))
        .collect();
    Ok(Imported {
        draft: Draft {
            interfaces,
            groups,
            disable_preempt: model.ha.disable_preempt || opts.disable_preempt,
            origin: format!("from a {} backup ({})", raw.root, maps.join(", ")),
        },
        skipped,
        notices,
        warnings: loaded.warnings,
    })
}

fn check_maps(raw: &RawConfig, maps: &[Mapping]) -> Result<(), ImportError> {
    let mut devices: HashMap<&str, &str> = HashMap::new();
    for (i, m) in maps.iter().enumerate() {
        if maps[..i].iter().any(|o| o.key == m.key) {
            return Err(ImportError::KeyTwice { key: m.key.clone() });
        }
        if let Some(first) = devices.insert(&m.device, &m.key) {
            return Err(ImportError::DeviceTwice {
                device: m.device.clone(),
                first: first.to_string(),
                second: m.key.clone(),
            });
        }
        let Some(iface) = raw.interfaces.iter().find(|i| i.key == m.key) else {
            return Err(ImportError::UnknownInterface {
                key: m.key.clone(),
                known: raw.interfaces.iter().map(|i| i.key.clone()).collect(),
            });
        };
        if iface.fields.text("type") == Some("group") || !is_element_name(&m.key) {
            return Err(ImportError::GroupInterface { key: m.key.clone() });
        }
    }
    Ok(())
}

fn source_of(v: &RawVip) -> Option<String> {
    v.uuid
        .clone()
        .or_else(|| v.fields.text("uniqid").map(str::to_string))
}

/// The interface key a CARP-related `<vip>` sits on (an alias naming its CARP parent as
/// pfSense's `_vip<uniqid>` or legacy OPNsense's `<key>_vip<vhid>` sits on the parent's), or
/// `None` for a VIP that is not CARP's business (plain alias, proxyarp, other).
fn carp_interface<'a>(v: &'a RawVip, vips: &'a [RawVip]) -> Option<&'a str> {
    let name = v.fields.text("interface").unwrap_or_default();
    match v.fields.text("mode").unwrap_or("ipalias") {
        "carp" => Some(name),
        "ipalias" => match name.split_once("_vip") {
            Some((key, id)) => {
                let parent = vips.iter().find(|p| {
                    p.fields.text("mode") == Some("carp") && p.fields.text("uniqid") == Some(id)
                });
                Some(parent.map_or(key, |p| p.fields.text("interface").unwrap_or_default()))
            }
            None if v.fields.text("vhid").is_some() => Some(name),
            None => None,
        },
        _ => None,
    }
}

/// The backup reduced to the mapped interfaces, devices replaced, timing overridden; and the
/// CARP entries left out.
fn mapped_part(
    raw: &RawConfig,
    device_of: &HashMap<&str, &str>,
    advskew: Option<u8>,
) -> (RawConfig, Vec<Skipped>) {
    let mut out = RawConfig {
        root: raw.root.clone(),
        ..RawConfig::default()
    };
    for i in &raw.interfaces {
        if let Some(device) = device_of.get(i.key.as_str()) {
            let mut i = i.clone();
            i.fields.set("if", device, i.line);
            out.interfaces.push(i);
        }
    }
    let mut skipped = Vec::new();
    for v in &raw.vips {
        let Some(key) = carp_interface(v, &raw.vips) else {
            continue;
        };
        if device_of.contains_key(key) {
            let mut v = v.clone();
            v.index = out.vips.len() + 1;
            if let Some(skew) = advskew
                && v.fields.text("mode") == Some("carp")
            {
                v.fields.set("advskew", &skew.to_string(), v.line);
            }
            out.vips.push(v);
        } else {
            let mode = if v.fields.text("mode") == Some("carp") {
                "carp"
            } else {
                "ipalias"
            };
            let address = match (v.fields.text("subnet"), v.fields.text("subnet_bits")) {
                (Some(a), Some(b)) => format!("{a}/{b}"),
                (Some(a), None) => a.to_string(),
                _ => "(no address)".to_string(),
            };
            skipped.push(Skipped {
                interface_key: if key.is_empty() { "(unknown)" } else { key }.to_string(),
                mode,
                vhid: v.fields.text("vhid").map(str::to_string),
                address,
                line: v.line,
            });
        }
    }
    // Only the election setting carries over; pfsync and sync peers are the firewall's.
    if let Some(h) = &raw.hasync {
        let mut fields = h.fields.clone();
        fields.retain(|n| n == "disablepreempt");
        out.hasync = Some(RawHasync {
            line: h.line,
            fields,
        });
    }
    (out, skipped)
}
