//! Raw config.xml text → validated [`Model`], reporting every problem with its place.
//!
//! The rules are OPNsense's own (its Vip model's validation and the way `interfaces.inc`
//! applies VIPs), so a config the GUI accepts is accepted here and one that would misbehave
//! on the kernel is refused before anything is applied.

use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use super::draft::device_name_problem;
use super::key::{MAX_PASSWORD_BYTES, derive_key};
use super::model::*;
use super::reader::{Field, Fields, RawConfig, RawInterface, RawVip};
use super::{Diagnostic, Severity};

const MCAST_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
const MCAST_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);

/// Device prefixes (digits stripped) on which OPNsense refuses CARP.
const NO_CARP_PREFIXES: [&str; 6] = ["lo", "ipsec", "l2tp", "ppp", "pppoe", "pptp"];

#[derive(Default)]
pub(crate) struct Findings(pub Vec<Diagnostic>);

impl Findings {
    fn push(
        &mut self,
        severity: Severity,
        place: String,
        line: Option<u32>,
        message: String,
        hint: &str,
    ) {
        self.0.push(Diagnostic {
            severity,
            place,
            line,
            message,
            hint: hint.to_string(),
        });
    }
    fn error(&mut self, place: String, line: u32, message: String, hint: &str) {
        self.push(Severity::Error, place, Some(line), message, hint);
    }
    fn warning(&mut self, place: String, line: u32, message: String, hint: &str) {
        self.push(Severity::Warning, place, Some(line), message, hint);
    }
    fn note(&mut self, place: String, line: Option<u32>, message: String, hint: &str) {
        self.push(Severity::Note, place, line, message, hint);
    }
    pub fn has_errors(&self) -> bool {
        self.errors() > 0
    }
    fn errors(&self) -> usize {
        self.0
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
    }
}

/// One element of carpd's own settings (`<vhid>`, `<check>`, `<general>`): where it is, for
/// the findings about its fields.
struct Entry<'a> {
    place: String,
    line: u32,
    fields: &'a Fields,
}

impl<'a> Entry<'a> {
    /// An entry of the list `list` (`OPNsense/carpd/vhids/vhid`): by uuid, else by position.
    fn listed(list: &str, r: &'a RawVip) -> Entry<'a> {
        let place = match &r.uuid {
            Some(u) => format!("{list}[uuid={u}]"),
            None => format!("{list}[{}]", r.index),
        };
        Entry {
            place,
            line: r.line,
            fields: &r.fields,
        }
    }
    fn at(&self, name: &str) -> String {
        format!("{}/{name}", self.place)
    }
    /// The line of `<name>`, or of the entry when the field is missing.
    fn line(&self, name: &str) -> u32 {
        self.fields.get(name).map_or(self.line, |fl| fl.line)
    }
    fn text(&self, name: &str) -> Option<&'a str> {
        self.fields.text(name)
    }
    fn error(&self, f: &mut Findings, name: &str, message: String, hint: &str) {
        f.error(self.at(name), self.line(name), message, hint);
    }
    fn warning(&self, f: &mut Findings, name: &str, message: String, hint: &str) {
        f.warning(self.at(name), self.line(name), message, hint);
    }
    /// `<name>` as a number within `lo..=hi`: `Ok(None)` when absent or empty, `Err` when it
    /// was reported as an error.
    fn number(
        &self,
        name: &str,
        lo: u32,
        hi: u32,
        hint: &str,
        f: &mut Findings,
    ) -> Result<Option<u32>, ()> {
        let Some(text) = self.text(name) else {
            return Ok(None);
        };
        parse_ranged(text, lo, hi).map(Some).map_err(|why| {
            self.error(f, name, format!("{name} {why}"), hint);
        })
    }
    /// `<name>` as a number of seconds within `lo..=hi`, else `default` (errors reported).
    fn seconds(
        &self,
        name: &str,
        (lo, hi): (u32, u32),
        default: Duration,
        f: &mut Findings,
    ) -> Duration {
        let hint = format!("a number of seconds from {lo} to {hi}");
        match self.number(name, lo, hi, &hint, f) {
            Ok(Some(n)) => Duration::from_secs(n.into()),
            _ => default,
        }
    }
}

/// Where a `<vip>` is: by uuid (OPNsense), uniqid (pfSense) or position (legacy OPNsense).
fn vip_place(v: &RawVip) -> String {
    if let Some(uuid) = &v.uuid {
        format!("virtualip/vip[uuid={uuid}]")
    } else if let Some(uniqid) = v.fields.text("uniqid") {
        format!("virtualip/vip[uniqid={uniqid}]")
    } else {
        format!("virtualip/vip[{}]", v.index)
    }
}

/// The interface a VIP sits on, resolved to an OS device.
#[derive(Clone)]
struct Iface {
    device: String,
    key: String,
    name: String,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Carp,
    Ipalias,
}

/// A `<vip>` that carpd looks at, with what could be read from it.
struct Vip<'a> {
    raw: &'a RawVip,
    place: String,
    mode: Mode,
    iface: Option<Iface>,
    addr: Option<IpPrefix>,
    vhid: Option<u8>,
    /// pfSense `_vip<uniqid>` reference still to resolve (ipalias only).
    parent_ref: Option<(String, u32)>,
}

impl Vip<'_> {
    fn field_place(&self, name: &str) -> String {
        format!("{}/{name}", self.place)
    }
    fn line_of(&self, name: &str) -> u32 {
        self.raw.fields.get(name).map_or(self.raw.line, |f| f.line)
    }
}

pub(crate) fn build(raw: &RawConfig) -> (Option<Model>, Findings) {
    let mut f = Findings::default();
    let interfaces: HashMap<&str, &RawInterface> =
        raw.interfaces.iter().map(|i| (i.key.as_str(), i)).collect();

    if !matches!(raw.root.as_str(), "opnsense" | "pfsense") {
        f.note(
            raw.root.clone(),
            Some(1),
            format!(
                "root element is <{}>, not <opnsense> or <pfsense>",
                raw.root
            ),
            "carpd reads <virtualip>, <interfaces> and <hasync> under whatever root it finds",
        );
    }

    // Pass 1: each <vip> on its own.
    let mut vips: Vec<Vip<'_>> = Vec::new();
    for rv in &raw.vips {
        if let Some(v) = read_vip(rv, &interfaces, &mut f) {
            vips.push(v);
        }
    }

    // Pass 2: pfSense ipaliases naming their CARP parent as `<iface>_vip<uniqid>`.
    resolve_parent_refs(&mut vips, &mut f);

    // Pass 3: CARP groups, one per (device, vhid). Every CARP entry is checked in full even
    // when its interface or vhid is broken, so that all of its problems show at once.
    let mut groups: Vec<CarpGroup> = Vec::new();
    // (device, vhid) of every CARP entry that named them, valid or not: the first one owns the
    // pair, and an alias on a broken CARP VIP is not reported a second time as "no CARP VIP".
    let mut carp_targets: HashMap<(String, u8), (String, u32)> = HashMap::new();
    // VIPs whose VHID speaks VRRPv3 (pass 5 checks those settings): no password to warn about.
    let vrrp_vips: Vec<&str> = raw
        .vhid_settings
        .iter()
        .filter(|r| r.fields.text("protocol") == Some("vrrp3"))
        .filter_map(|r| r.fields.text("vip"))
        .collect();
    for v in vips.iter().filter(|v| v.mode == Mode::Carp) {
        let vrrp = source_id(v.raw).is_some_and(|id| vrrp_vips.contains(&id.as_str()));
        let settings = carp_settings(v, !vrrp, &mut f);
        let (Some(iface), Some(vhid)) = (&v.iface, v.vhid) else {
            continue;
        };
        let target = (iface.device.clone(), vhid);
        if let Some((first, first_line)) = carp_targets.get(&target) {
            f.error(
                v.field_place("vhid"),
                v.line_of("vhid"),
                format!(
                    "vhid {vhid} on {} is already used by the CARP VIP at {first} (line {first_line})",
                    iface.key
                ),
                "one CARP VIP per interface and vhid: make this entry an IP alias with the same vhid, or give it another vhid",
            );
            continue;
        }
        carp_targets.insert(target, (v.place.clone(), v.raw.line));
        if let (Some(s), Some(addr)) = (settings, v.addr) {
            let description = v.raw.fields.text("descr").unwrap_or_default().to_string();
            groups.push(CarpGroup {
                device: iface.device.clone(),
                interface_key: iface.key.clone(),
                interface_name: iface.name.clone(),
                vhid,
                advbase: s.advbase,
                advskew: s.advskew,
                key: s.key,
                addresses: vec![VipAddress {
                    prefix: addr,
                    mode: VipMode::Carp,
                    source: source_id(v.raw),
                    description: description.clone(),
                }],
                peer: s.peer,
                peer6: s.peer6,
                description,
                source_uuid: source_id(v.raw),
                protocol: Protocol::Carp,
            });
        }
    }

    // Pass 4: IP aliases stacked on a vhid.
    for v in vips.iter().filter(|v| v.mode == Mode::Ipalias) {
        let (Some(iface), Some(vhid)) = (&v.iface, v.vhid) else {
            continue;
        };
        let group = groups
            .iter_mut()
            .find(|g| g.device == iface.device && g.vhid == vhid);
        match (group, v.addr) {
            (Some(group), Some(prefix)) => group.addresses.push(VipAddress {
                prefix,
                mode: VipMode::Ipalias,
                source: source_id(v.raw),
                description: v.raw.fields.text("descr").unwrap_or_default().to_string(),
            }),
            (None, _) if !carp_targets.contains_key(&(iface.device.clone(), vhid)) => f.error(
                v.field_place("vhid"),
                v.line_of("vhid"),
                format!(
                    "IP alias on vhid {vhid}, but no CARP VIP has vhid {vhid} on {}",
                    iface.key
                ),
                "define the CARP VIP with this vhid on the same interface first, or clear <vhid> to make a plain alias",
            ),
            _ => {}
        }
    }

    check_unique_addresses(&vips, &mut f);
    check_interface_addresses(&vips, &raw.interfaces, &mut f);
    vhid_settings(&raw.vhid_settings, &mut groups, &mut f);
    // The VHIDs a check may fault: those of every CARP VIP, broken ones too (their own errors
    // say what is wrong with them).
    let vhids: BTreeSet<u8> = carp_targets.keys().map(|(_, vhid)| *vhid).collect();
    let settings = carpd_settings(raw, &vhids, &mut f);

    let ha = hasync(raw, &interfaces, &mut f);
    let model = Model {
        groups,
        ha,
        maintenance: raw.maintenance.is_some(),
        settings,
    };
    if model.groups.is_empty() && !f.has_errors() {
        f.note(
            "virtualip".to_string(),
            None,
            "no CARP VIPs are configured".to_string(),
            "add a <vip> with <mode>carp</mode> for carpd to have something to do",
        );
    }
    f.0.sort_by_key(|d| d.line.unwrap_or(u32::MAX));
    if f.has_errors() {
        (None, f)
    } else {
        (Some(model), f)
    }
}

/// Pass 5: carpd's own per-VHID settings (`<OPNsense><carpd><vhids><vhid>`), each naming the
/// CARP VIP of its group by uuid.
fn vhid_settings(raw: &[RawVip], groups: &mut [CarpGroup], f: &mut Findings) {
    let mut seen: HashMap<String, String> = HashMap::new();
    for r in raw {
        let e = Entry::listed("OPNsense/carpd/vhids/vhid", r);
        let at = |name: &str| e.at(name);
        let line = |name: &str| e.line(name);
        let Some(vip) = r.fields.text("vip") else {
            f.error(
                at("vip"),
                line("vip"),
                "no <vip>: these settings name no VIP".to_string(),
                "set <vip> to the uuid of the CARP VIP whose VHID they are for",
            );
            continue;
        };
        let Some(group) = groups
            .iter_mut()
            .find(|g| g.source_uuid.as_deref() == Some(vip))
        else {
            f.error(
                at("vip"),
                line("vip"),
                format!("{vip} is not the uuid of a CARP VIP"),
                "pick the uuid of a <vip> with <mode>carp</mode> (an IP alias follows its CARP VIP's settings)",
            );
            continue;
        };
        if let Some(first) = seen.insert(vip.to_string(), e.place.clone()) {
            f.error(
                at("vip"),
                line("vip"),
                format!("{} already has settings at {first}", group.name()),
                "keep one <vhid> entry per CARP VIP",
            );
            continue;
        }
        let protocol = r.fields.text("protocol").unwrap_or("carp");
        // Without a <priority>, 254 − advskew: OPNsense's HA sync adds 100 to every advskew
        // on the backup (rc.filter_synchronize, get_vip_config_section), so the synced
        // settings still give the backup a lower priority.
        let mut v = VrrpSettings {
            priority: 254u8.saturating_sub(group.advskew).max(1),
            ..VrrpSettings::default()
        };
        let mut ok = true;
        let mut number = |name: &str, lo: u32, hi: u32, hint: &str| -> Option<u32> {
            e.number(name, lo, hi, hint, f).unwrap_or_else(|()| {
                ok = false;
                None
            })
        };
        if let Some(p) = number("priority", 1, 255, "1..254, or 255 on the address owner") {
            v.priority = p as u8;
        }
        if let Some(i) = number(
            "interval",
            1,
            u32::from(crate::wire::vrrp::MAX_ADVER_INT),
            "centiseconds: 100 = 1 s, 10 = 100 ms, 1 = 10 ms",
        ) {
            v.interval_cs = i as u16;
        }
        if let Some(p) = number("preempt", 0, 1, "1 = preempt, 0 = not") {
            v.preempt = p == 1;
        }
        if let Some(a) = number("accept", 0, 1, "1 = accept packets for the VIPs, 0 = not") {
            v.accept = a == 1;
        }
        match protocol {
            "carp" => {}
            "vrrp3" if !ok => {}
            "vrrp3" => {
                let families = (
                    group.v4_addresses().next().is_some(),
                    group.v6_addresses().next().is_some(),
                );
                if families == (true, true) {
                    f.error(
                        at("protocol"),
                        line("protocol"),
                        format!(
                            "{} has IPv4 and IPv6 addresses; a VRRPv3 virtual router has one family",
                            group.name()
                        ),
                        "put the other family's addresses on a VIP with another VHID",
                    );
                    continue;
                }
                if !v.accept {
                    f.error(
                        at("accept"),
                        line("accept"),
                        "accept 0 is not supported: carpd adds the VIPs as the MASTER's own addresses, which accept packets".to_string(),
                        "set <accept>1</accept> (keepalived's `accept`)",
                    );
                    continue;
                }
                if !group.key.is_empty() {
                    f.warning(
                        at("protocol"),
                        line("protocol"),
                        format!("VRRPv3 has no authentication: the password of {} is not used", group.name()),
                        "keep the segment closed to untrusted hosts; VRRPv3 adverts can be forged by anyone on it",
                    );
                }
                group.protocol = Protocol::Vrrp3(v);
            }
            other => f.error(
                at("protocol"),
                line("protocol"),
                format!("protocol {other:?} is not known"),
                "use carp (the default) or vrrp3",
            ),
        }
    }
}

/// carpd's own settings: `<OPNsense><carpd><general>` and the tracked checks.
fn carpd_settings(raw: &RawConfig, vhids: &BTreeSet<u8>, f: &mut Findings) -> Settings {
    let mut s = Settings::default();
    if let Some(g) = &raw.carpd_general {
        // The plugin also keeps `enabled` and `hook_timeout` here: not carpd's to read.
        let e = Entry {
            place: "OPNsense/carpd/general".to_string(),
            line: g.line,
            fields: &g.fields,
        };
        s.startup_delay = e.seconds("startup_delay", (0, 3600), s.startup_delay, f);
        s.ready_deadline = e.seconds("ready_deadline", (1, 86400), s.ready_deadline, f);
        s.preempt_delay = e.seconds("preempt_delay", (0, 3600), s.preempt_delay, f);
        let announce = e.seconds("announce_interval", (0, 3600), Duration::ZERO, f);
        s.announce_interval = (!announce.is_zero()).then_some(announce);
        if let Some(command) = e.text("ready_command") {
            if let Some(why) = command_problem(command) {
                e.error(
                    f,
                    "ready_command",
                    format!("ready_command: {why}"),
                    COMMAND_HINT,
                );
            }
            s.ready_command = Some(command.to_string());
        }
        if !s.startup_delay.is_zero()
            && s.startup_delay >= s.ready_deadline
            && e.text("startup_delay").is_some()
        {
            e.warning(
                f,
                "startup_delay",
                format!(
                    "startup_delay {} s is not shorter than ready_deadline {} s: carpd stops waiting at the deadline",
                    s.startup_delay.as_secs(),
                    s.ready_deadline.as_secs()
                ),
                "make ready_deadline longer than startup_delay",
            );
        }
    }
    s.checks = checks(&raw.checks, vhids, f);
    s
}

/// The check types and the field each of them needs.
const CHECK_TYPES: [(&str, &str); 4] = [
    ("link", "interface"),
    ("command", "command"),
    ("file", "path"),
    ("process", "process"),
];

const CHECK_TYPE_HINT: &str = "set <type> to link, command, file or process";

const COMMAND_HINT: &str =
    "carpd runs the line with /bin/sh -c: give the program's absolute path, or install it";

/// `<OPNsense><carpd><checks><check>`: each one read in full, every problem reported.
fn checks(raw: &[RawVip], vhids: &BTreeSet<u8>, f: &mut Findings) -> Vec<Check> {
    let mut out = Vec::new();
    let mut names: HashMap<&str, (String, u32)> = HashMap::new();
    for r in raw {
        let e = Entry::listed("OPNsense/carpd/checks/check", r);
        let errors = f.errors();

        let name = match e.text("name") {
            None => {
                e.error(
                    f,
                    "name",
                    "no <name>: a check needs one".to_string(),
                    "name it with 1 to 48 characters from A-Z a-z 0-9 _ . : - (its demotion shows as check:NAME)",
                );
                None
            }
            Some(n) if n.len() > Check::MAX_NAME_LEN || !crate::operator::valid_name(n) => {
                e.error(
                    f,
                    "name",
                    format!("check name {n:?} is not valid"),
                    "use 1 to 48 characters from A-Z a-z 0-9 _ . : - (its demotion shows as check:NAME)",
                );
                None
            }
            Some(n) => match names.get(n) {
                Some((first, first_line)) => {
                    e.error(
                        f,
                        "name",
                        format!("check name {n} is already used by {first} (line {first_line})"),
                        "give every check its own name",
                    );
                    None
                }
                None => {
                    names.insert(n, (e.place.clone(), e.line("name")));
                    Some(n)
                }
            },
        };

        let kind_name = match e.text("type") {
            None => {
                e.error(f, "type", "no <type>".to_string(), CHECK_TYPE_HINT);
                None
            }
            Some(t) => match CHECK_TYPES.iter().find(|(known, _)| *known == t) {
                Some((known, _)) => Some(*known),
                None => {
                    e.error(
                        f,
                        "type",
                        format!("check type {t:?} is not known"),
                        CHECK_TYPE_HINT,
                    );
                    None
                }
            },
        };

        let interval = e.seconds("interval", (1, 3600), Check::DEFAULT_INTERVAL, f);
        let timeout = e.seconds("timeout", (1, 3600), interval, f);
        let mut count = |name: &str, default: u32, what: &str| -> u32 {
            let hint = format!("1 to 100 consecutive {what}");
            e.number(name, 1, 100, &hint, f)
                .ok()
                .flatten()
                .unwrap_or(default)
        };
        let rise = count(
            "rise",
            Check::DEFAULT_RISE,
            "successes that make a failing check OK",
        );
        let fall = count(
            "fall",
            Check::DEFAULT_FALL,
            "failures that make an OK check failing",
        );
        let weight = e
            .number(
                "weight",
                1,
                1 << 20,
                "the demotion while the check fails, 1 to 1048576 (240 = maintenance mode's)",
                f,
            )
            .ok()
            .flatten();
        let fault = e
            .number(
                "fault",
                0,
                1,
                "1 = a failing check puts its VHIDs into INIT, 0 = it demotes",
                f,
            )
            .ok()
            .flatten()
            == Some(1);
        let mut fault_vhids: Vec<u8> = Vec::new();
        if let Some(list) = e.text("vhids") {
            for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                match parse_ranged(part, 1, 255) {
                    Ok(v) if vhids.contains(&(v as u8)) => fault_vhids.push(v as u8),
                    Ok(v) => e.error(
                        f,
                        "vhids",
                        format!("vhids: no CARP VIP has vhid {v}"),
                        "list VHIDs of this node's CARP VIPs, comma-separated, or leave <vhids> empty for all",
                    ),
                    Err(why) => e.error(
                        f,
                        "vhids",
                        format!("vhids: {why}"),
                        "comma-separated VHID numbers from 1 to 255, e.g. 1,2",
                    ),
                }
            }
            fault_vhids.sort_unstable();
            fault_vhids.dedup();
            if !fault {
                e.warning(
                    f,
                    "vhids",
                    "<vhids> is used only by a fault check: this check demotes every VHID"
                        .to_string(),
                    "set <fault>1</fault> to put only these VHIDs into INIT, or clear <vhids>",
                );
            }
        }
        if fault && weight.is_some() {
            e.error(
                f,
                "weight",
                "<weight> with <fault>1</fault>: a fault check puts VHIDs into INIT and does not demote".to_string(),
                "clear <weight>, or set <fault>0</fault> to demote by the weight",
            );
        } else if kind_name == Some("file") && weight.is_some() {
            e.warning(
                f,
                "weight",
                "<weight> is not used by a file check: the number in the file is the demotion"
                    .to_string(),
                "clear <weight>; a missing or unreadable file demotes by 240",
            );
        }

        let kind = kind_name.and_then(|t| check_kind(&e, t, f));
        if let Some(t) = kind_name {
            for (other, field) in CHECK_TYPES {
                if other != t && e.text(field).is_some() {
                    e.warning(
                        f,
                        field,
                        format!(
                            "<{field}> belongs to {other} checks; this {t} check does not use it"
                        ),
                        "delete the field, or change <type>",
                    );
                }
            }
        }

        if f.errors() != errors {
            continue;
        }
        let (Some(name), Some(kind)) = (name, kind) else {
            continue;
        };
        let effect = if fault {
            CheckEffect::Fault { vhids: fault_vhids }
        } else {
            match kind {
                CheckKind::File { .. } => CheckEffect::Demote(Check::DEFAULT_WEIGHT),
                _ => CheckEffect::Demote(weight.map_or(Check::DEFAULT_WEIGHT, |w| w as i32)),
            }
        };
        out.push(Check {
            name: name.to_string(),
            kind,
            interval,
            timeout,
            rise,
            fall,
            effect,
        });
    }
    out
}

/// The type-specific part of a check of type `t`; `None` when its field is missing or wrong.
fn check_kind(e: &Entry<'_>, t: &str, f: &mut Findings) -> Option<CheckKind> {
    let field = CHECK_TYPES.iter().find(|(known, _)| *known == t)?.1;
    let Some(value) = e.text(field) else {
        let hint = match t {
            "link" => "name the interface's device, e.g. eth1 or igb0",
            "command" => "a shell command line that exits 0 while all is well",
            "file" => "the absolute path of a file holding one number: the demotion (0 = healthy)",
            _ => "the process name as ps shows it, e.g. sshd",
        };
        e.error(f, field, format!("a {t} check needs <{field}>"), hint);
        return None;
    };
    let problem = match t {
        "link" => device_name_problem(value)
            .or_else(|| {
                (!value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b)))
                .then_some("use only A-Z a-z 0-9 _ . -")
            })
            .map(|why| {
                (
                    format!("interface {value:?} is not a device name: {why}"),
                    "name the interface's device, e.g. eth1 or igb0",
                )
            }),
        "command" => command_problem(value).map(|why| (format!("command: {why}"), COMMAND_HINT)),
        "file" => (!Path::new(value).is_absolute()).then(|| {
            (
                format!("path {value:?} is not absolute"),
                "give the file's absolute path, e.g. /var/run/carpd-demotion",
            )
        }),
        _ => (value.chars().count() > 32
            || value.contains('/')
            || value.chars().any(|c| c.is_whitespace() || c.is_control()))
        .then(|| {
            (
                format!("process name {value:?} is not valid"),
                "1 to 32 characters, no / or whitespace: the name as ps shows it, e.g. sshd",
            )
        }),
    };
    if let Some((message, hint)) = problem {
        e.error(f, field, message, hint);
        return None;
    }
    Some(match t {
        "link" => CheckKind::Link {
            interface: value.to_string(),
        },
        "command" => CheckKind::Command {
            command: value.to_string(),
        },
        "file" => CheckKind::File { path: value.into() },
        _ => CheckKind::Process {
            name: value.to_string(),
        },
    })
}

/// First words `/bin/sh` runs itself: keywords and builtins, not looked up as programs.
const SHELL_WORDS: &[&str] = &[
    "!", "{", "}", "[", "[[", ".", ":", "alias", "bg", "break", "case", "cd", "command",
    "continue", "do", "done", "echo", "elif", "else", "esac", "eval", "exec", "exit", "export",
    "false", "fc", "fg", "fi", "for", "getopts", "hash", "if", "jobs", "kill", "local", "printf",
    "pwd", "read", "readonly", "return", "set", "shift", "test", "then", "times", "trap", "true",
    "type", "ulimit", "umask", "unalias", "unset", "until", "wait", "while",
];

/// Why the program a shell command line starts cannot run, when that can be told without a
/// shell: its first word is an absolute path that is missing or not executable, or a bare name
/// found nowhere on PATH. Keywords, builtins, assignments, expansions and quoting are left to
/// the shell.
fn command_problem(command: &str) -> Option<String> {
    let word = command.split_whitespace().next()?;
    if SHELL_WORDS.contains(&word) || word.contains(|c: char| "=$`'\"\\*?[](){};&|<>~#".contains(c))
    {
        return None;
    }
    if word.starts_with('/') {
        return match std::fs::metadata(word) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Some(format!("{word} does not exist"))
            }
            Err(e) => Some(format!("{word} cannot be looked at: {e}")),
            Ok(m) if m.is_dir() => Some(format!("{word} is a directory, not a program")),
            Ok(m) if m.permissions().mode() & 0o111 == 0 => {
                Some(format!("{word} is not executable"))
            }
            Ok(_) => None,
        };
    }
    if word.contains('/') {
        // Relative to the daemon's working directory: nothing to check here.
        return None;
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into());
    let found = std::env::split_paths(&path).any(|dir| {
        std::fs::metadata(dir.join(word))
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    });
    (!found).then(|| format!("{word} is not found on PATH ({})", path.to_string_lossy()))
}

fn source_id(v: &RawVip) -> Option<String> {
    v.uuid
        .clone()
        .or_else(|| v.fields.text("uniqid").map(str::to_string))
}

/// Read one `<vip>`; `None` when carpd has no business with it.
fn read_vip<'a>(
    rv: &'a RawVip,
    interfaces: &HashMap<&str, &RawInterface>,
    f: &mut Findings,
) -> Option<Vip<'a>> {
    let place = vip_place(rv);
    let mode_field = rv.fields.get("mode");
    // The MVC model's default mode is ipalias.
    let mode_text = rv.fields.text("mode").unwrap_or("ipalias");
    let mode_line = mode_field.map_or(rv.line, |m| m.line);
    let mode = match mode_text {
        "carp" => Mode::Carp,
        "ipalias" => Mode::Ipalias,
        "proxyarp" => {
            f.note(
                format!("{place}/mode"),
                Some(mode_line),
                "proxyarp VIP ignored: it is answered by choparp, not CARP".to_string(),
                "",
            );
            return None;
        }
        "other" => {
            f.warning(
                format!("{place}/mode"),
                mode_line,
                "mode \"other\" is obsolete (removed from OPNsense in 2025) and is ignored"
                    .to_string(),
                "delete this VIP or turn it into an IP alias",
            );
            return None;
        }
        unknown => {
            f.warning(
                format!("{place}/mode"),
                mode_line,
                format!("unknown VIP mode \"{unknown}\" is ignored"),
                "use carp, ipalias or proxyarp",
            );
            return None;
        }
    };
    // OPNsense's reconfigure_vips.php skips VIPs on interface groups (and its GUI does not
    // offer groups): a group is not a device carp(4) can run on.
    if let Some(name) = rv.fields.text("interface")
        && let Some(i) = interfaces.get(name)
        && i.fields.text("type") == Some("group")
    {
        if mode == Mode::Carp || rv.fields.text("vhid").is_some() {
            f.warning(
                format!("{place}/interface"),
                rv.fields.get("interface").map_or(rv.line, |i| i.line),
                format!(
                    "interface {name} is an interface group; the VIP is ignored, as OPNsense does"
                ),
                "move the VIP to an interface of the group",
            );
        }
        return None;
    }
    let mut v = Vip {
        raw: rv,
        place,
        mode,
        iface: None,
        addr: None,
        vhid: None,
        parent_ref: None,
    };
    // A plain IP alias (no vhid) is not CARP's business; it is read only so that a CARP address
    // duplicating it is caught, and its own errors are left to OPNsense.
    let stacked = mode == Mode::Carp || rv.fields.text("vhid").is_some();
    let report = stacked;

    let iface_text = rv.fields.text("interface");
    match iface_text {
        None => {
            if report {
                f.error(
                    v.field_place("interface"),
                    v.line_of("interface"),
                    "no <interface>".to_string(),
                    "set <interface> to an interface key such as wan, lan or opt1",
                );
            }
        }
        Some(name) => {
            if mode == Mode::Ipalias
                && let Some((_, id)) = name.split_once("_vip")
            {
                v.parent_ref = Some((id.to_string(), v.line_of("interface")));
            } else {
                v.iface = resolve_interface(name, interfaces, &v, report, f);
            }
        }
    }

    v.addr = read_address(&v, report, f);

    if let Some(text) = rv.fields.text("vhid") {
        match parse_ranged(text, 1, 255) {
            Ok(n) => v.vhid = Some(n as u8),
            Err(why) => f.error(
                v.field_place("vhid"),
                v.line_of("vhid"),
                format!("vhid {why}"),
                "a vhid is a number from 1 to 255, the same on every node of the cluster",
            ),
        }
    } else if mode == Mode::Carp {
        f.error(
            v.field_place("vhid"),
            v.line_of("vhid"),
            "a CARP VIP needs a <vhid>".to_string(),
            "set <vhid> to a number from 1 to 255, the same on every node of the cluster",
        );
    }

    if mode == Mode::Carp
        && let Some(iface) = &v.iface
    {
        let prefix: String = iface
            .device
            .chars()
            .filter(|c| !c.is_ascii_digit())
            .collect();
        if NO_CARP_PREFIXES.contains(&prefix.as_str()) {
            f.error(
                v.field_place("interface"),
                v.line_of("interface"),
                format!(
                    "CARP cannot run on {} (loopback, IPsec or point-to-point device)",
                    iface.device
                ),
                "put the CARP VIP on an Ethernet-like interface (physical, VLAN, LAGG or bridge)",
            );
        }
    }
    Some(v)
}

/// Names OPNsense and pfSense use as interface keys; anything else given as `<interface>`
/// without a matching key is taken as a device name, as `get_real_interface()` does.
fn looks_like_key(name: &str) -> bool {
    name == "wan"
        || name == "lan"
        || name
            .strip_prefix("opt")
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

fn resolve_interface(
    name: &str,
    interfaces: &HashMap<&str, &RawInterface>,
    v: &Vip<'_>,
    report: bool,
    f: &mut Findings,
) -> Option<Iface> {
    match interfaces.get(name) {
        Some(i) => match i.fields.text("if") {
            Some(device) => Some(Iface {
                device: device.to_string(),
                key: name.to_string(),
                name: i
                    .fields
                    .text("descr")
                    .map_or_else(|| name.to_uppercase(), str::to_string),
            }),
            None => {
                if report {
                    f.error(
                        v.field_place("interface"),
                        v.line_of("interface"),
                        format!("interface {name} has no device (<interfaces><{name}><if> is empty)"),
                        "assign a device to the interface, or move the VIP to an assigned interface",
                    );
                }
                None
            }
        },
        None if looks_like_key(name) => {
            if report {
                f.error(
                    v.field_place("interface"),
                    v.line_of("interface"),
                    format!("interface {name} is not defined under <interfaces>"),
                    "use the key of an assigned interface (see <interfaces>), or a device name such as lo0",
                );
            }
            None
        }
        None => Some(Iface {
            device: name.to_string(),
            key: name.to_string(),
            name: name.to_uppercase(),
        }),
    }
}

fn read_address(v: &Vip<'_>, report: bool, f: &mut Findings) -> Option<IpPrefix> {
    let fields = &v.raw.fields;
    let Some(subnet) = fields.text("subnet") else {
        if report {
            f.error(
                v.field_place("subnet"),
                v.line_of("subnet"),
                "no address in <subnet>".to_string(),
                "set <subnet> to the virtual address (without prefix) and <subnet_bits> to its prefix length",
            );
        }
        return None;
    };
    let addr: IpAddr = match subnet.parse() {
        Ok(a) => a,
        Err(_) => {
            if report {
                let hint = if subnet.contains('/') {
                    "write the bare address in <subnet> and the prefix length in <subnet_bits>"
                } else {
                    "<subnet> must be an IPv4 or IPv6 address such as 192.0.2.1 or 2001:db8::1"
                };
                f.error(
                    v.field_place("subnet"),
                    v.line_of("subnet"),
                    format!("\"{subnet}\" is not an IP address"),
                    hint,
                );
            }
            return None;
        }
    };
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let Some(bits_text) = fields.text("subnet_bits") else {
        if report {
            f.error(
                v.field_place("subnet_bits"),
                v.line_of("subnet_bits"),
                "no prefix length in <subnet_bits>".to_string(),
                "set <subnet_bits> to the prefix length of the network, e.g. 24 or 64",
            );
        }
        return None;
    };
    let prefix = match parse_ranged(bits_text, 1, max) {
        Ok(p) => p as u8,
        Err(why) => {
            if report {
                f.error(
                    v.field_place("subnet_bits"),
                    v.line_of("subnet_bits"),
                    format!("prefix length {why} for {}", family(addr)),
                    "use the prefix length of the interface's network, e.g. 24 for IPv4 or 64 for IPv6",
                );
            }
            return None;
        }
    };
    if let IpAddr::V4(a) = addr
        && prefix <= 30
    {
        let mask = u32::MAX << (32 - prefix);
        let bits = u32::from(a);
        let what = if bits & !mask == 0 {
            Some("network")
        } else if bits | mask == u32::MAX {
            Some("broadcast")
        } else {
            None
        };
        if let Some(what) = what {
            if report {
                f.error(
                    v.field_place("subnet"),
                    v.line_of("subnet"),
                    format!("{a} is the {what} address of {a}/{prefix}"),
                    "pick a host address inside the network",
                );
            }
            return None;
        }
    }
    Some(IpPrefix { addr, prefix })
}

fn family(a: IpAddr) -> &'static str {
    if a.is_ipv4() { "IPv4" } else { "IPv6" }
}

/// A decimal number within `lo..=hi`; the error says what was wrong.
fn parse_ranged(text: &str, lo: u32, hi: u32) -> Result<u32, String> {
    match text.trim().parse::<u32>() {
        Ok(n) if (lo..=hi).contains(&n) => Ok(n),
        Ok(n) => Err(format!("{n} is out of range {lo}..{hi}")),
        Err(_) => Err(format!("\"{}\" is not a number", text.trim())),
    }
}

fn resolve_parent_refs(vips: &mut [Vip<'_>], f: &mut Findings) {
    /// What an alias may inherit from a CARP VIP.
    struct Parent {
        uniqid: Option<String>,
        key: String,
        iface: Option<Iface>,
        vhid: Option<u8>,
    }
    let parents: Vec<Parent> = vips
        .iter()
        .filter(|v| v.mode == Mode::Carp)
        .map(|v| Parent {
            uniqid: v.raw.fields.text("uniqid").map(str::to_string),
            key: v
                .raw
                .fields
                .text("interface")
                .unwrap_or_default()
                .to_string(),
            iface: v.iface.clone(),
            vhid: v.vhid,
        })
        .collect();
    for v in vips.iter_mut() {
        let Some((id, line)) = v.parent_ref.take() else {
            continue;
        };
        let name = v.raw.fields.text("interface").unwrap_or_default();
        let iface_part = name.split_once("_vip").map_or("", |(i, _)| i);
        // pfSense: `_vip<uniqid of the CARP VIP>`; OPNsense legacy: `<iface>_vip<vhid>`.
        let parent = parents
            .iter()
            .find(|p| p.uniqid.as_deref() == Some(id.as_str()))
            .or_else(|| {
                let vhid: u8 = id.parse().ok()?;
                parents
                    .iter()
                    .find(|p| p.key == iface_part && p.vhid == Some(vhid))
            });
        match parent {
            Some(Parent {
                iface: Some(iface),
                vhid: Some(vhid),
                ..
            }) => {
                v.iface = Some(iface.clone());
                if v.vhid.is_some_and(|own| own != *vhid) {
                    f.warning(
                        v.field_place("vhid"),
                        v.line_of("vhid"),
                        format!(
                            "<vhid> differs from the CARP VIP named in <interface>; vhid {vhid} of that VIP is used"
                        ),
                        "clear <vhid> or make it match the parent CARP VIP",
                    );
                }
                v.vhid = Some(*vhid);
            }
            // The parent exists but is itself broken: its own errors say why.
            Some(_) => {}
            None => {
                f.error(
                    v.field_place("interface"),
                    line,
                    format!("\"{name}\" names a CARP VIP that does not exist"),
                    "point the alias at an existing CARP VIP (its uniqid), or set the interface key and the vhid",
                );
            }
        }
    }
}

/// What a CARP VIP sets besides its place and address.
struct CarpSettings {
    advbase: u8,
    advskew: u8,
    key: CarpKey,
    peer: Option<Ipv4Addr>,
    peer6: Option<Ipv6Addr>,
}

/// Read a CARP VIP's timing, key and peers, reporting every problem.
/// `authenticated`: the VHID speaks CARP, whose HMAC needs a password.
fn carp_settings(v: &Vip<'_>, authenticated: bool, f: &mut Findings) -> Option<CarpSettings> {
    let fields = &v.raw.fields;
    let mut ok = true;
    let mut ranged = |name: &str, lo: u32, hi: u32, default: u8, hint: &str| -> u8 {
        match fields.text(name) {
            None => default,
            Some(t) => match parse_ranged(t, lo, hi) {
                Ok(n) => n as u8,
                Err(why) => {
                    f.error(
                        v.field_place(name),
                        v.line_of(name),
                        format!("{name} {why}"),
                        hint,
                    );
                    ok = false;
                    default
                }
            },
        }
    };
    let advbase = ranged(
        "advbase",
        1,
        254,
        1,
        "advbase is the advertisement interval in seconds, 1 to 254 (1 is usual)",
    );
    let advskew = ranged(
        "advskew",
        0,
        254,
        0,
        "advskew is 0 to 254: 0 on the preferred master, higher (e.g. 100) on backups",
    );

    let (peer, peer6) = peers(v, f, &mut ok);
    if let Some(addr) = v.addr {
        if addr.addr.is_ipv4() && peer6.is_some() {
            f.error(
                v.field_place("peer6"),
                v.line_of("peer6"),
                "an IPv4 CARP VIP with an IPv6 unicast peer".to_string(),
                "clear <peer6> on IPv4 VIPs: mixing families on one vhid makes one of them fall back to multicast",
            );
            ok = false;
        }
        if addr.addr.is_ipv6() && peer.is_some() {
            f.error(
                v.field_place("peer"),
                v.line_of("peer"),
                "an IPv6 CARP VIP with an IPv4 unicast peer".to_string(),
                "clear <peer> on IPv6 VIPs: mixing families on one vhid makes one of them fall back to multicast",
            );
            ok = false;
        }
    }

    let password = fields.get("password").map_or("", |p| p.value.as_str());
    let derived = derive_key(password);
    let pw_line = v.line_of("password");
    if derived.key.is_empty() && authenticated {
        f.warning(
            v.field_place("password"),
            pw_line,
            "empty password: advertisements are not authenticated".to_string(),
            "set the same <password> on every node; anyone on the segment can otherwise take over the VIP",
        );
    } else if derived.truncated {
        f.warning(
            v.field_place("password"),
            pw_line,
            format!(
                "password is {} bytes after OPNsense's escaping; the kernel keeps only the first {MAX_PASSWORD_BYTES}",
                derived.escaped_len
            ),
            "nothing breaks (peers truncate alike), but only 19 bytes protect the VHID; a shorter password avoids surprises with other implementations",
        );
    }
    if derived.spaces_removed {
        f.note(
            v.field_place("password"),
            Some(pw_line),
            "spaces in the password are removed, as OPNsense does before handing it to the kernel"
                .to_string(),
            "",
        );
    }

    ok.then_some(CarpSettings {
        advbase,
        advskew,
        key: derived.key,
        peer,
        peer6,
    })
}

fn peers(v: &Vip<'_>, f: &mut Findings, ok: &mut bool) -> (Option<Ipv4Addr>, Option<Ipv6Addr>) {
    let fields = &v.raw.fields;
    let mut bad = |name: &str, message: String, hint: &str| {
        f.error(v.field_place(name), v.line_of(name), message, hint);
        *ok = false;
    };
    let peer = match fields.text("peer").map(|t| (t, t.parse::<IpAddr>())) {
        None => None,
        Some((_, Ok(IpAddr::V4(a)))) if a == MCAST_V4 => None,
        Some((_, Ok(IpAddr::V4(a)))) => Some(a),
        Some((t, Ok(IpAddr::V6(_)))) => {
            bad(
                "peer",
                format!("<peer> {t} is an IPv6 address"),
                "<peer> takes the IPv4 unicast peer; put IPv6 peers in <peer6>",
            );
            None
        }
        Some((t, Err(_))) => {
            bad(
                "peer",
                format!("<peer> \"{t}\" is not an IPv4 address"),
                "set the peer node's IPv4 address, or leave <peer> empty for multicast",
            );
            None
        }
    };
    let peer6 = match fields.text("peer6").map(|t| (t, t.parse::<IpAddr>())) {
        None => None,
        Some((_, Ok(IpAddr::V6(a)))) if a == MCAST_V6 => None,
        Some((_, Ok(IpAddr::V6(a)))) => Some(a),
        Some((t, Ok(IpAddr::V4(_)))) => {
            bad(
                "peer6",
                format!("<peer6> {t} is an IPv4 address"),
                "<peer6> takes the IPv6 unicast peer; put IPv4 peers in <peer>",
            );
            None
        }
        Some((t, Err(_))) => {
            bad(
                "peer6",
                format!("<peer6> \"{t}\" is not an IPv6 address"),
                "set the peer node's IPv6 address, or leave <peer6> empty for multicast",
            );
            None
        }
    };
    (peer, peer6)
}

/// Addresses are unique; link-local ones only per device (they are scoped to it).
fn check_unique_addresses(vips: &[Vip<'_>], f: &mut Findings) {
    let mut seen: HashMap<(IpAddr, Option<String>), (String, u32)> = HashMap::new();
    for v in vips {
        let (Some(addr), Some(iface)) = (v.addr, &v.iface) else {
            continue;
        };
        let scope = is_link_local(addr.addr).then(|| iface.device.clone());
        match seen.get(&(addr.addr, scope.clone())) {
            Some((first, line)) => f.error(
                v.field_place("subnet"),
                v.line_of("subnet"),
                format!("{} is also configured at {first} (line {line})", addr.addr),
                "every virtual address must be unique: delete the duplicate entry",
            ),
            None => {
                seen.insert((addr.addr, scope), (v.place.clone(), v.line_of("subnet")));
            }
        }
    }
}

fn is_link_local(a: IpAddr) -> bool {
    match a {
        IpAddr::V4(v) => v.is_link_local(),
        IpAddr::V6(v) => v.segments()[0] & 0xffc0 == 0xfe80,
    }
}

/// A VIP must not be the interface's own address: taking it over would break the node itself.
fn check_interface_addresses(vips: &[Vip<'_>], interfaces: &[RawInterface], f: &mut Findings) {
    let own = |i: &RawInterface, name: &str| -> Option<(IpAddr, u32)> {
        let field: &Field = i.fields.get(name)?;
        field.value.trim().parse().ok().map(|a| (a, field.line))
    };
    let mut owned: HashMap<IpAddr, (&str, u32)> = HashMap::new();
    for i in interfaces {
        for name in ["ipaddr", "ipaddrv6"] {
            if let Some((a, line)) = own(i, name) {
                owned.entry(a).or_insert((i.key.as_str(), line));
            }
        }
    }
    for v in vips {
        let Some(addr) = v.addr else { continue };
        if v.iface.is_none() {
            continue;
        }
        if let Some((key, line)) = owned.get(&addr.addr) {
            f.error(
                v.field_place("subnet"),
                v.line_of("subnet"),
                format!(
                    "{} is the own address of interface {key} (line {line})",
                    addr.addr
                ),
                "a virtual IP must be an extra address: give the node its own address and the VIP another one",
            );
        }
    }
}

fn hasync(
    raw: &RawConfig,
    interfaces: &HashMap<&str, &RawInterface>,
    f: &mut Findings,
) -> HaSettings {
    let Some(h) = &raw.hasync else {
        return HaSettings::default();
    };
    let fields: &Fields = &h.fields;
    let truthy = |name: &str| {
        fields
            .text(name)
            .is_some_and(|t| matches!(t, "1" | "on" | "yes" | "true"))
    };
    let disable_preempt = truthy("disablepreempt");
    // The current model treats an empty <pfsyncinterface> as off; legacy configs also carry
    // <pfsyncenabled>, which then has to be on as well.
    let enabled = fields.get("pfsyncenabled").is_none() || truthy("pfsyncenabled");
    let mut pfsync = PfsyncSettings::default();
    if enabled && let Some(key) = fields.text("pfsyncinterface") {
        pfsync.device = match interfaces.get(key) {
            Some(i) => i.fields.text("if").map(str::to_string),
            None if looks_like_key(key) => {
                f.warning(
                    "hasync/pfsyncinterface".to_string(),
                    fields.get("pfsyncinterface").map_or(h.line, |x| x.line),
                    format!("pfsync interface {key} is not defined under <interfaces>"),
                    "choose an assigned interface for pfsync in System → High Availability",
                );
                None
            }
            None => Some(key.to_string()),
        };
        if let Some(peer) = fields.text("pfsyncpeerip") {
            match peer.parse::<Ipv4Addr>() {
                Ok(a) => pfsync.peer = Some(a),
                Err(_) => f.error(
                    "hasync/pfsyncpeerip".to_string(),
                    fields.get("pfsyncpeerip").map_or(h.line, |x| x.line),
                    format!("pfsync peer \"{peer}\" is not an IPv4 address"),
                    "set the peer's IPv4 address on the sync interface, or leave it empty for multicast",
                ),
            }
        }
        if let Some(version) = fields.text("pfsyncversion") {
            if !matches!(version, "1301" | "1400") {
                f.warning(
                    "hasync/pfsyncversion".to_string(),
                    fields.get("pfsyncversion").map_or(h.line, |x| x.line),
                    format!("unknown pfsync version {version}"),
                    "use 1400 (OPNsense 24.7 and later) or 1301",
                );
            }
            pfsync.version = Some(version.to_string());
        }
    }
    HaSettings {
        disable_preempt,
        pfsync,
    }
}
