//! A configuration being written (by `carpd init`): the CARP groups with their passwords, and
//! the config.xml text for them.
//!
//! The text is OPNsense's current `<virtualip>` model (one `<vip>` with `<mode>carp</mode>` per
//! VHID, further addresses as `<mode>ipalias</mode>` with the same `<vhid>`), so the file reads
//! like a firewall's and [`crate::config::parse`] — the loader `carpd check` runs — validates it
//! before anything is written. Passwords are held in [`Secret`], which never prints.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::model::IpPrefix;

/// A password on its way into config.xml. `Debug` shows only its length; there is no
/// `Display`, so it cannot end up in a message by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(text: String) -> Secret {
        Secret(text)
    }
    /// The password itself, for the one place that writes it.
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secret({} bytes)", self.0.len())
    }
}

/// `<interfaces><KEY><if>DEVICE</if><descr>…</descr></KEY>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DraftInterface {
    pub key: String,
    pub device: String,
    pub descr: String,
}

/// One address of a VHID; the group's first is its CARP VIP, the others IP aliases on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DraftAddress {
    pub prefix: IpPrefix,
    /// The `<vip>`'s uuid: kept from a backup (services and the Defguard action name VIPs by
    /// it), made up otherwise.
    pub uuid: String,
    pub descr: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DraftGroup {
    pub interface_key: String,
    pub vhid: u8,
    pub advbase: u8,
    pub advskew: u8,
    pub password: Secret,
    pub addresses: Vec<DraftAddress>,
    pub peer: Option<Ipv4Addr>,
    pub peer6: Option<Ipv6Addr>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Draft {
    pub interfaces: Vec<DraftInterface>,
    pub groups: Vec<DraftGroup>,
    /// `<hasync><disablepreempt>1</disablepreempt>`.
    pub disable_preempt: bool,
    /// Where the settings came from, for the file's header comment (no secrets).
    pub origin: String,
}

/// Why a draft cannot be written as XML.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum DraftError {
    /// XML 1.0 cannot carry most control characters, not even escaped.
    #[error("the password of vhid {vhid} contains a control character that config.xml cannot hold")]
    Unrepresentable { vhid: u8 },
    #[error("vhid {vhid} has no address")]
    NoAddress { vhid: u8 },
    #[error("\"{key}\" cannot be an interface key in config.xml")]
    BadKey { key: String },
}

impl Draft {
    /// The config.xml text.
    pub fn render(&self) -> Result<String, DraftError> {
        let mut out = String::new();
        out.push_str("<?xml version=\"1.0\"?>\n");
        out.push_str("<!--\n");
        let _ = writeln!(
            out,
            "  Written by carpd init {}.",
            comment_safe(&self.origin)
        );
        out.push_str(HEADER);
        out.push_str("-->\n<opnsense>\n  <interfaces>\n");
        for i in &self.interfaces {
            if !is_element_name(&i.key) {
                return Err(DraftError::BadKey { key: i.key.clone() });
            }
            let _ = write!(
                out,
                "    <{key}>\n      <if>{}</if>\n      <descr>{}</descr>\n    </{key}>\n",
                escape(&i.device),
                escape(&i.descr),
                key = i.key,
            );
        }
        out.push_str("  </interfaces>\n  <virtualip version=\"1.0.1\">\n");
        for g in &self.groups {
            if g.password.expose().chars().any(unrepresentable) {
                return Err(DraftError::Unrepresentable { vhid: g.vhid });
            }
            let Some((carp, aliases)) = g.addresses.split_first() else {
                return Err(DraftError::NoAddress { vhid: g.vhid });
            };
            vip(&mut out, g, carp, true);
            for a in aliases {
                vip(&mut out, g, a, false);
            }
        }
        out.push_str("  </virtualip>\n  <hasync>\n");
        let _ = writeln!(
            out,
            "    <disablepreempt>{}</disablepreempt>",
            u8::from(self.disable_preempt)
        );
        out.push_str("  </hasync>\n</opnsense>\n");
        Ok(out)
    }
}

const HEADER: &str = r#"  carpd reads the CARP parts of OPNsense's config.xml schema:
    <interfaces>  an interface key (wan, lan, opt1, eth0) and its Linux device in <if>;
    <virtualip>   one <vip> with <mode>carp</mode> per VHID: <interface> (a key), <subnet> and
                  <subnet_bits> (the VIP), <vhid>, <advbase>, <advskew>, <password> (the same on
                  every node), <peer>/<peer6> (a unicast peer; empty = multicast). More addresses
                  on that VHID: <vip> entries with <mode>ipalias</mode> and the same <vhid>;
    <hasync>      <disablepreempt>1</disablepreempt> keeps a preferred node from taking the VIPs
                  back when it returns.
  This file holds passwords: keep it mode 0600. After editing: carpd check, then
  systemctl reload carpd (unchanged VHIDs are not touched).
"#;

fn vip(out: &mut String, g: &DraftGroup, a: &DraftAddress, carp: bool) {
    let _ = writeln!(out, "    <vip uuid=\"{}\">", escape(&a.uuid));
    let _ = writeln!(out, "      <interface>{}</interface>", g.interface_key);
    let _ = writeln!(
        out,
        "      <mode>{}</mode>",
        if carp { "carp" } else { "ipalias" }
    );
    let _ = writeln!(out, "      <subnet>{}</subnet>", a.prefix.addr);
    let _ = writeln!(out, "      <subnet_bits>{}</subnet_bits>", a.prefix.prefix);
    if carp {
        let _ = writeln!(
            out,
            "      <password>{}</password>",
            escape(g.password.expose())
        );
    }
    let _ = writeln!(out, "      <vhid>{}</vhid>", g.vhid);
    if carp {
        let _ = writeln!(out, "      <advbase>{}</advbase>", g.advbase);
        let _ = writeln!(out, "      <advskew>{}</advskew>", g.advskew);
        match g.peer {
            Some(p) => {
                let _ = writeln!(out, "      <peer>{p}</peer>");
            }
            None => out.push_str("      <peer/>\n"),
        }
        match g.peer6 {
            Some(p) => {
                let _ = writeln!(out, "      <peer6>{p}</peer6>");
            }
            None => out.push_str("      <peer6/>\n"),
        }
    }
    let _ = writeln!(out, "      <descr>{}</descr>", escape(&a.descr));
    out.push_str("    </vip>\n");
}

/// Characters XML 1.0 forbids even as character references (tab, newline and CR are allowed).
fn unrepresentable(c: char) -> bool {
    (c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || c == '\u{fffe}' || c == '\u{ffff}'
}

/// Text content and attribute values: the five predefined entities, and CR as a reference so
/// it survives the parser's line-end normalisation.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#13;"),
            _ => out.push(c),
        }
    }
    out
}

/// A comment may not contain `--`.
fn comment_safe(text: &str) -> String {
    let mut s = text.replace("--", "- -");
    while s.ends_with('-') {
        s.pop();
    }
    s
}

/// Whether `name` can be an element name in config.xml (an interface key). Kept to ASCII
/// letters, digits, `_`, `-` and `.`, starting with a letter or `_`, and not `xml…`.
pub fn is_element_name(name: &str) -> bool {
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    (first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        && !name.to_ascii_lowercase().starts_with("xml")
}

/// Why a network device name cannot be one: the kernel's own rules (Linux `dev_valid_name`:
/// 1 to 15 bytes, not `.` or `..`, no `/`, `:` or whitespace; FreeBSD's IFNAMSIZ is 16 too).
pub fn device_name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("it is empty")
    } else if name.len() > 15 {
        Some("it is longer than 15 bytes (the kernel's IFNAMSIZ limit)")
    } else if name == "." || name == ".." {
        Some("\".\" and \"..\" are not device names")
    } else if name
        .chars()
        .any(|c| c == '/' || c == ':' || c.is_whitespace() || c.is_control())
    {
        Some("device names contain no '/', ':', whitespace or control characters")
    } else {
        None
    }
}

/// A random (version 4) uuid for a `<vip>` that has none, as OPNsense gives every entry one.
pub fn new_uuid() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// `ADDR/PREFIX` as `--vip` takes it: a host address inside its network.
pub fn parse_prefix(text: &str) -> Result<IpPrefix, String> {
    let (addr, bits) = text
        .split_once('/')
        .ok_or_else(|| format!("{text}: give the prefix length too, e.g. {text}/24"))?;
    let addr: IpAddr = addr
        .parse()
        .map_err(|_| format!("{addr} is not an IPv4 or IPv6 address"))?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix: u8 = bits
        .parse()
        .ok()
        .filter(|p| (1..=max).contains(p))
        .ok_or_else(|| format!("prefix length {bits} is not 1..{max}"))?;
    Ok(IpPrefix { addr, prefix })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(password: &str) -> Draft {
        Draft {
            interfaces: vec![DraftInterface {
                key: "eth0".into(),
                device: "eth0".into(),
                descr: "eth0".into(),
            }],
            groups: vec![DraftGroup {
                interface_key: "eth0".into(),
                vhid: 7,
                advbase: 1,
                advskew: 100,
                password: Secret::new(password.into()),
                addresses: vec![
                    DraftAddress {
                        prefix: parse_prefix("192.0.2.1/24").unwrap(),
                        uuid: new_uuid(),
                        descr: "a <b> & c".into(),
                    },
                    DraftAddress {
                        prefix: parse_prefix("2001:db8::1/64").unwrap(),
                        uuid: new_uuid(),
                        descr: String::new(),
                    },
                ],
                peer: Some("192.0.2.3".parse().unwrap()),
                peer6: None,
            }],
            disable_preempt: true,
            origin: "from --flags -- here".into(),
        }
    }

    #[test]
    fn rendered_config_loads_back_with_the_same_key() {
        let password = "a&b<c>\"d' e";
        let xml = draft(password).render().unwrap();
        assert!(!xml.contains("--flags"), "{xml}");
        let loaded = crate::config::parse(xml.as_bytes()).unwrap();
        let g = &loaded.model.groups[0];
        assert_eq!((g.device.as_str(), g.vhid, g.advskew), ("eth0", 7, 100));
        assert_eq!(g.addresses.len(), 2);
        assert_eq!(g.peer, Some("192.0.2.3".parse().unwrap()));
        assert_eq!(g.key, crate::config::key::derive_key(password).key);
        assert_eq!(g.addresses[0].description, "a <b> & c");
        assert!(loaded.model.ha.disable_preempt);
    }

    #[test]
    fn control_characters_are_refused_and_secrets_do_not_print() {
        assert_eq!(
            draft("a\u{1}b").render(),
            Err(DraftError::Unrepresentable { vhid: 7 })
        );
        assert_eq!(
            format!("{:?}", Secret::new("hunter2".into())),
            "Secret(7 bytes)"
        );
        assert!(!format!("{:?}", draft("hunter2")).contains("hunter2"));
    }

    #[test]
    fn names_and_prefixes() {
        for ok in ["eth0", "enp0s3", "br-lan", "vlan.100", "_x"] {
            assert!(is_element_name(ok), "{ok}");
            assert_eq!(device_name_problem(ok), None, "{ok}");
        }
        for bad in ["0eth", "-x", "", "xmlfoo", "a:b", "a b"] {
            assert!(!is_element_name(bad), "{bad}");
        }
        for bad in ["", "..", "a/b", "a:b", "a b", "abcdefghijklmnop"] {
            assert!(device_name_problem(bad).is_some(), "{bad}");
        }
        assert!(parse_prefix("10.0.0.1").unwrap_err().contains("/24"));
        assert!(parse_prefix("10.0.0.1/33").is_err());
        assert!(parse_prefix("10.0.0.x/24").is_err());
        assert_eq!(new_uuid().len(), 36);
    }
}
