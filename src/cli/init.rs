//! `carpd init`: write the config file for a node, from flags or from a firewall's backup.
//!
//! The file is checked by the loader `carpd check` runs before it is written, written
//! atomically with mode 0600 (it holds passwords), and never over an existing file without
//! `--force`. Passwords come only from files or standard input and are never printed.
//!
//! Flags form groups by position: `--interface DEV` opens a device, each `--vhid N` starts a
//! CARP group on the current device, and the `--vip`s after it are that group's addresses.
//! `--password-file`, `--advbase`, `--advskew`, `--peer` and `--peer6` given after a `--vhid`
//! belong to that group; given before the first `--vhid` they are every group's default.
//! clap keeps each option's values apart, so the positions come from its matches
//! ([`Positions`]), filled in by [`super::main_with`].

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;

use crate::config::draft::{
    Draft, DraftAddress, DraftGroup, DraftInterface, Secret, device_name_problem, is_element_name,
    new_uuid, parse_prefix,
};
use crate::config::import::{self, ImportOptions, Mapping};
use crate::config::{Diagnostic, IpPrefix, LoadError, Severity};

#[derive(Args, Debug, Default)]
#[command(after_long_help = "\
Groups by position: --interface DEV opens a device; each --vhid N starts a CARP group on it; \
the --vip after it are the group's addresses (the first is the CARP VIP, more are IP aliases \
on the same VHID). --password-file, --advbase, --advskew, --peer and --peer6 after a --vhid \
belong to that group; before the first --vhid they are the default of every group.

  carpd init --password-file /root/carp.pass --advskew 100 \\
      --interface eth0 --vhid 1 --vip 192.0.2.1/24 --vip 2001:db8::1/64 \\
      --interface eth1 --vhid 2 --vip 198.51.100.1/24

  carpd init --from config-fw-a.xml --map wan=eth0 --map lan=eth1 --advskew 100

The password file's first line is the password ('-' reads it from standard input); it is \
processed as OPNsense does (spaces removed, at most 19 bytes after escaping), so a node with \
the same password on an OPNsense firewall authenticates.")]
pub struct InitArgs {
    /// Replace the config file if it exists
    #[arg(long)]
    pub force: bool,
    /// Join the cluster of this firewall backup (OPNsense or pfSense config.xml)
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with_all = ["interface", "vhid", "vip", "password_file", "advbase", "peer", "peer6"]
    )]
    pub from: Option<PathBuf>,
    /// With --from: a backup interface and the device it is here, e.g. wan=eth0 (once per
    /// interface; VIPs on interfaces not mapped are skipped)
    #[arg(long, value_name = "KEY=DEVICE", requires = "from")]
    pub map: Vec<Mapping>,
    /// The device of the --vhid groups that follow
    #[arg(long, value_name = "DEV")]
    pub interface: Vec<String>,
    /// Start a CARP group with this VHID (1-255, the same on every node) on the current
    /// --interface
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(1..=255))]
    pub vhid: Vec<u8>,
    /// An address of the current group; the first is the CARP VIP, more are IP aliases on it
    #[arg(long, value_name = "ADDR/PREFIX", value_parser = parse_prefix)]
    pub vip: Vec<IpPrefix>,
    /// File whose first line is the password ('-' = standard input)
    #[arg(long, value_name = "FILE")]
    pub password_file: Vec<PathBuf>,
    /// Advertisement interval in seconds (1-254; default 1)
    #[arg(long, value_name = "S", value_parser = clap::value_parser!(u8).range(1..=254))]
    pub advbase: Vec<u8>,
    /// Skew (0-254; default 0): higher is less preferred, e.g. 100 on the backup node
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(0..=254))]
    pub advskew: Vec<u8>,
    /// Unicast IPv4 peer (the other node's address) instead of multicast 224.0.0.18
    #[arg(long, value_name = "IP")]
    pub peer: Vec<Ipv4Addr>,
    /// Unicast IPv6 peer instead of multicast ff02::12
    #[arg(long, value_name = "IP6")]
    pub peer6: Vec<Ipv6Addr>,
    /// Do not take the VIPs back when this node returns (<hasync><disablepreempt>)
    #[arg(long)]
    pub no_preempt: bool,
    /// Where each grouping option stood on the command line.
    #[arg(skip)]
    pub positions: Positions,
}

/// Command-line indices of every value of the grouping options, by clap id.
#[derive(Debug, Default, Clone)]
pub struct Positions(HashMap<&'static str, Vec<usize>>);

/// Ids of the options whose meaning depends on where they stand.
const GROUPING: [&str; 8] = [
    "interface",
    "vhid",
    "vip",
    "password_file",
    "advbase",
    "advskew",
    "peer",
    "peer6",
];

impl Positions {
    pub fn from_matches(m: &clap::ArgMatches) -> Positions {
        let mut map = HashMap::new();
        for id in GROUPING {
            if let Some(ix) = m.indices_of(id) {
                map.insert(id, ix.collect());
            }
        }
        Positions(map)
    }
}

pub fn run(g: &super::Global, a: InitArgs) -> anyhow::Result<u8> {
    let path = g.config.clone();
    if path.exists() && !a.force {
        bail!(
            "{} exists; carpd init never replaces a config: check it with `carpd check`, or give --force to write a new one",
            path.display()
        );
    }
    let (draft, report) = match &a.from {
        Some(backup) => from_backup(backup, &a)?,
        None => (from_flags(&a)?, Report::default()),
    };
    for d in &report.warnings {
        eprintln!("{d}");
    }
    let xml = draft
        .render()
        .map_err(|e| anyhow::anyhow!("cannot write the config: {e}"))?;
    let loaded = check_rendered(&draft, &xml)?;
    // A backup's findings were shown with their place in the backup; the same ones about the
    // new file would only repeat them.
    if a.from.is_none() {
        for w in &loaded.warnings {
            eprintln!("{}", describe(&draft, w));
        }
    }
    let written = if a.force {
        crate::fsutil::write_atomic(&path, xml.as_bytes())
    } else {
        crate::fsutil::write_new_atomic(&path, xml.as_bytes())
    };
    written.map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => anyhow::anyhow!(
            "{} appeared while carpd init ran; nothing was written (give --force to replace it)",
            path.display()
        ),
        _ => anyhow::anyhow!("cannot write {}: {e}", path.display()),
    })?;

    let addresses: usize = loaded.model.groups.iter().map(|g| g.addresses.len()).sum();
    println!(
        "wrote {} (mode 0600): {} VHID{}, {} address{}",
        path.display(),
        loaded.model.groups.len(),
        if loaded.model.groups.len() == 1 {
            ""
        } else {
            "s"
        },
        addresses,
        if addresses == 1 { "" } else { "es" }
    );
    for grp in &loaded.model.groups {
        let addrs: Vec<String> = grp.addresses.iter().map(|a| a.prefix.to_string()).collect();
        let mut peers = Vec::new();
        peers.extend(grp.peer.map(|p| format!("peer {p}")));
        peers.extend(grp.peer6.map(|p| format!("peer6 {p}")));
        if peers.is_empty() {
            peers.push("multicast".to_string());
        }
        println!(
            "  vhid {} on {}: {} (advbase {}, advskew {}, {}, key {})",
            grp.vhid,
            grp.device,
            addrs.join(", "),
            grp.advbase,
            grp.advskew,
            peers.join(", "),
            grp.key.describe()
        );
    }
    if !report.skipped.is_empty() {
        println!("skipped, on interfaces not mapped:");
        for s in &report.skipped {
            println!("  {s}");
        }
    }
    for n in &report.notices {
        println!("note: {n}");
    }
    #[cfg(target_os = "linux")]
    for i in &draft.interfaces {
        if !Path::new("/sys/class/net").join(&i.device).exists() {
            println!(
                "note: device {} does not exist on this host (yet); its VHIDs stay INIT until it does",
                i.device
            );
        }
    }
    let check = if path == Path::new(crate::config::DEFAULT_CONFIG) {
        "carpd check".to_string()
    } else {
        format!("carpd --config {} check", path.display())
    };
    println!("next: {check}, then start carpd (systemctl enable --now carpd)");
    Ok(0)
}

/// What the user should read besides the summary.
#[derive(Default)]
struct Report {
    skipped: Vec<import::Skipped>,
    notices: Vec<String>,
    warnings: Vec<Diagnostic>,
}

fn from_backup(backup: &Path, a: &InitArgs) -> anyhow::Result<(Draft, Report)> {
    if a.map.is_empty() {
        bail!(
            "--from needs at least one --map KEY=DEVICE: which of the backup's interfaces (wan, lan, optN) this node joins, and on which device"
        );
    }
    if a.advskew.len() > 1 {
        bail!("--advskew is given more than once; with --from it applies to every imported VHID");
    }
    let opts = ImportOptions {
        maps: a.map.clone(),
        advskew: a.advskew.first().copied(),
        disable_preempt: a.no_preempt,
    };
    match import::import(backup, &opts) {
        Ok(imported) => Ok((
            imported.draft,
            Report {
                skipped: imported.skipped,
                notices: imported.notices,
                warnings: imported.warnings,
            },
        )),
        Err(import::ImportError::Load {
            path,
            source: LoadError::Invalid { errors, warnings },
        }) => {
            for d in errors.iter().chain(&warnings) {
                eprintln!("{d}");
            }
            bail!(
                "the backup {path} has {} error(s) on the mapped interfaces; nothing was written — fix them in the firewall (or a copy of the backup) and export again",
                errors.len()
            )
        }
        Err(e) => {
            let hint = e.hint();
            Err(anyhow::anyhow!("{e} — {hint}"))
        }
    }
}

/// One `--vhid` group as the flags gave it.
struct FlagGroup {
    device: String,
    vhid: u8,
    vips: Vec<IpPrefix>,
    settings: Settings,
}

/// The per-group settings; `None` = not given (take the default).
#[derive(Clone, Default)]
struct Settings {
    password_file: Option<PathBuf>,
    advbase: Option<u8>,
    advskew: Option<u8>,
    peer: Option<Ipv4Addr>,
    peer6: Option<Ipv6Addr>,
}

enum Item {
    Interface(String),
    Vhid(u8),
    Vip(IpPrefix),
    PasswordFile(PathBuf),
    Advbase(u8),
    Advskew(u8),
    Peer(Ipv4Addr),
    Peer6(Ipv6Addr),
}

impl Item {
    fn flag(&self) -> String {
        match self {
            Item::Interface(d) => format!("--interface {d}"),
            Item::Vhid(v) => format!("--vhid {v}"),
            Item::Vip(p) => format!("--vip {p}"),
            Item::PasswordFile(f) => format!("--password-file {}", f.display()),
            Item::Advbase(v) => format!("--advbase {v}"),
            Item::Advskew(v) => format!("--advskew {v}"),
            Item::Peer(p) => format!("--peer {p}"),
            Item::Peer6(p) => format!("--peer6 {p}"),
        }
    }
}

/// The grouping options in command-line order.
fn items(a: &InitArgs) -> anyhow::Result<Vec<Item>> {
    let mut out: Vec<(usize, Item)> = Vec::new();
    let mut add = |id: &str, items: Vec<Item>| -> anyhow::Result<()> {
        if items.is_empty() {
            return Ok(());
        }
        let ix = a
            .positions
            .0
            .get(id)
            .filter(|ix| ix.len() == items.len())
            .with_context(|| format!("internal error: no positions for --{id}"))?;
        out.extend(ix.iter().copied().zip(items));
        Ok(())
    };
    add(
        "interface",
        a.interface.iter().cloned().map(Item::Interface).collect(),
    )?;
    add("vhid", a.vhid.iter().copied().map(Item::Vhid).collect())?;
    add("vip", a.vip.iter().copied().map(Item::Vip).collect())?;
    add(
        "password_file",
        a.password_file
            .iter()
            .cloned()
            .map(Item::PasswordFile)
            .collect(),
    )?;
    add(
        "advbase",
        a.advbase.iter().copied().map(Item::Advbase).collect(),
    )?;
    add(
        "advskew",
        a.advskew.iter().copied().map(Item::Advskew).collect(),
    )?;
    add("peer", a.peer.iter().copied().map(Item::Peer).collect())?;
    add("peer6", a.peer6.iter().copied().map(Item::Peer6).collect())?;
    out.sort_by_key(|(i, _)| *i);
    Ok(out.into_iter().map(|(_, it)| it).collect())
}

fn groups(a: &InitArgs) -> anyhow::Result<(Vec<FlagGroup>, Settings)> {
    let mut defaults = Settings::default();
    let mut groups: Vec<FlagGroup> = Vec::new();
    let mut device: Option<(String, bool)> = None;
    for item in items(a)? {
        match item {
            Item::Interface(d) => {
                if let Some(why) = device_name_problem(&d) {
                    bail!("--interface {d}: not a device name: {why}");
                }
                if let Some((prev, false)) = &device {
                    bail!("--interface {prev} has no --vhid after it");
                }
                device = Some((d, false));
            }
            Item::Vhid(vhid) => {
                let Some((dev, used)) = device.as_mut() else {
                    bail!("--vhid {vhid} comes before any --interface: give --interface DEV first");
                };
                *used = true;
                groups.push(FlagGroup {
                    device: dev.clone(),
                    vhid,
                    vips: Vec::new(),
                    settings: Settings::default(),
                });
            }
            Item::Vip(p) => match groups.last_mut() {
                Some(g) => g.vips.push(p),
                None => bail!(
                    "--vip {p} comes before any --vhid: each --vhid starts a group and the --vip after it are its addresses"
                ),
            },
            other => {
                let flag = other.flag();
                let (target, whose) = match groups.last_mut() {
                    Some(g) => (&mut g.settings, format!("vhid {}", g.vhid)),
                    None => (
                        &mut defaults,
                        "the defaults (before the first --vhid)".to_string(),
                    ),
                };
                let twice = match other {
                    Item::PasswordFile(f) => target.password_file.replace(f).is_some(),
                    Item::Advbase(v) => target.advbase.replace(v).is_some(),
                    Item::Advskew(v) => target.advskew.replace(v).is_some(),
                    Item::Peer(p) => target.peer.replace(p).is_some(),
                    Item::Peer6(p) => target.peer6.replace(p).is_some(),
                    Item::Interface(_) | Item::Vhid(_) | Item::Vip(_) => false,
                };
                if twice {
                    bail!("{flag}: that option is already given for {whose}");
                }
            }
        }
    }
    if let Some((d, false)) = &device {
        bail!("--interface {d} has no --vhid after it");
    }
    if groups.is_empty() {
        bail!(
            "nothing to write: give --interface DEV --vhid N --vip ADDR/PREFIX --password-file FILE, or --from BACKUP --map KEY=DEVICE"
        );
    }
    Ok((groups, defaults))
}

fn from_flags(a: &InitArgs) -> anyhow::Result<Draft> {
    let (groups, defaults) = groups(a)?;
    let mut passwords = Passwords::default();
    let mut draft = Draft {
        disable_preempt: a.no_preempt,
        origin: "from command-line settings".to_string(),
        ..Draft::default()
    };
    let mut keys: BTreeMap<String, String> = BTreeMap::new();
    let mut seen: Vec<(String, u8)> = Vec::new();
    for g in groups {
        let name = format!("vhid {} on {}", g.vhid, g.device);
        if seen.contains(&(g.device.clone(), g.vhid)) {
            bail!("{name} is given twice: a VHID is one group per device");
        }
        seen.push((g.device.clone(), g.vhid));
        if g.vips.is_empty() {
            bail!(
                "{name} has no --vip: give its addresses after --vhid {}",
                g.vhid
            );
        }
        let Some(file) = g
            .settings
            .password_file
            .clone()
            .or_else(|| defaults.password_file.clone())
        else {
            bail!(
                "{name} has no password: give --password-file after --vhid {}, or before the first --vhid for every group",
                g.vhid
            );
        };
        let peer = g.settings.peer.or(defaults.peer);
        let peer6 = g.settings.peer6.or(defaults.peer6);
        // OPNsense's model keeps one peer, on the CARP entry, of that entry's family.
        let first = g.vips[0].addr;
        if peer.is_some() && first.is_ipv6() {
            bail!(
                "{name}: --peer is an IPv4 peer, but the group's first --vip (its CARP VIP) is IPv6; use --peer6, or put an IPv4 address first"
            );
        }
        if peer6.is_some() && first.is_ipv4() {
            bail!(
                "{name}: --peer6 is an IPv6 peer, but the group's first --vip (its CARP VIP) is IPv4; use --peer, or put an IPv6 address first"
            );
        }
        let next = keys.len() + 1;
        let key = keys
            .entry(g.device.clone())
            .or_insert_with(|| interface_key(&g.device, next))
            .clone();
        draft.groups.push(DraftGroup {
            interface_key: key,
            vhid: g.vhid,
            advbase: g.settings.advbase.or(defaults.advbase).unwrap_or(1),
            advskew: g.settings.advskew.or(defaults.advskew).unwrap_or(0),
            password: passwords.read(&file)?,
            addresses: g
                .vips
                .iter()
                .map(|p| DraftAddress {
                    prefix: *p,
                    uuid: new_uuid(),
                    descr: String::new(),
                })
                .collect(),
            peer,
            peer6,
        });
    }
    // Interfaces in the order the groups first named them.
    for g in &draft.groups {
        if draft.interfaces.iter().any(|i| i.key == g.interface_key) {
            continue;
        }
        let device = keys
            .iter()
            .find(|(_, k)| **k == g.interface_key)
            .map(|(d, _)| d.clone())
            .unwrap_or_default();
        draft.interfaces.push(DraftInterface {
            key: g.interface_key.clone(),
            descr: device.clone(),
            device,
        });
    }
    Ok(draft)
}

/// The device itself when it can be an element name (most Linux names: eth0, enp1s0, br-lan),
/// else `optN` as OPNsense numbers its interfaces.
fn interface_key(device: &str, n: usize) -> String {
    if is_element_name(device) {
        device.to_string()
    } else {
        format!("opt{n}")
    }
}

/// Password files read so far: standard input can be read only once, and the same file named
/// for several groups is read once.
#[derive(Default)]
struct Passwords(HashMap<PathBuf, Secret>);

impl Passwords {
    fn read(&mut self, file: &Path) -> anyhow::Result<Secret> {
        if let Some(s) = self.0.get(file) {
            return Ok(s.clone());
        }
        let (what, bytes) = if file == Path::new("-") {
            let mut buf = Vec::new();
            std::io::stdin()
                .read_to_end(&mut buf)
                .context("cannot read the password from standard input")?;
            ("standard input".to_string(), buf)
        } else {
            let bytes = std::fs::read(file)
                .with_context(|| format!("cannot read password file {}", file.display()))?;
            (format!("password file {}", file.display()), bytes)
        };
        let line = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let text = String::from_utf8(line.to_vec())
            .map_err(|_| anyhow::anyhow!("{what}: the password is not UTF-8 text"))?;
        if text.trim().is_empty() {
            bail!("{what}: the first line is empty; it must hold the password");
        }
        let secret = Secret::new(text);
        self.0.insert(file.to_path_buf(), secret.clone());
        Ok(secret)
    }
}

/// Run the loader `carpd check` runs on what is about to be written.
fn check_rendered(draft: &Draft, xml: &str) -> anyhow::Result<crate::config::Loaded> {
    match crate::config::parse(xml.as_bytes()) {
        Ok(loaded) => Ok(loaded),
        Err(LoadError::Invalid { errors, warnings }) => {
            for d in errors.iter().chain(&warnings) {
                eprintln!("{}", describe(draft, d));
            }
            bail!(
                "the configuration would have {} error(s) (the checks of `carpd check`); nothing was written",
                errors.len()
            )
        }
        Err(e) => bail!("internal error: the written config does not read back: {e}"),
    }
}

/// A finding about the generated file, named by VHID and address instead of by its place in
/// a file the user has not seen.
fn describe(draft: &Draft, d: &Diagnostic) -> String {
    let sev = match d.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "note",
    };
    let subject = draft.groups.iter().find_map(|g| {
        let a = g.addresses.iter().find(|a| d.place.contains(&a.uuid))?;
        let device = draft
            .interfaces
            .iter()
            .find(|i| i.key == g.interface_key)
            .map_or(g.interface_key.as_str(), |i| i.device.as_str());
        Some(format!("vhid {} on {device} ({})", g.vhid, a.prefix))
    });
    let subject = subject.unwrap_or_else(|| d.place.clone());
    let mut s = format!("{sev}: {subject}: {}", d.message);
    if !d.hint.is_empty() {
        s.push_str(" — ");
        s.push_str(&d.hint);
    }
    s
}
