//! Streaming read of config.xml: keeps only the sections carpd uses.
//!
//! A production config.xml can be tens of megabytes, almost all of it filter rules, aliases and
//! certificates. The reader walks the document event by event with one reused buffer and keeps
//! text only for the handful of elements under `<interfaces>`, `<virtualip>`, `<hasync>` and
//! carpd's own `<OPNsense><carpd>` `<vhids>`, `<general>` and `<checks>` (plus the presence of
//! `<virtualip_carp_maintenancemode>`); everything else is parsed for
//! well-formedness and dropped at once. Lines come from counting newlines as the XML reader
//! consumes its input, so no index of the whole file is ever built.

use std::io::{BufRead, Read};

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

/// One leaf element's text and the line its start tag ends on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Field {
    pub value: String,
    pub line: u32,
}

/// Leaf children of an element, in document order (first occurrence wins on lookup).
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct Fields(Vec<(String, Field)>);

impl Fields {
    pub fn get(&self, name: &str) -> Option<&Field> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, f)| f)
    }
    /// Trimmed text, `None` when the element is absent or empty.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.get(name)
            .map(|f| f.value.trim())
            .filter(|v| !v.is_empty())
    }
    fn push(&mut self, name: String, field: Field) {
        self.0.push((name, field));
    }
    /// Replace the value of `name` (keeping its line), or add it at `line`.
    pub fn set(&mut self, name: &str, value: &str, line: u32) {
        match self.0.iter_mut().find(|(n, _)| n == name) {
            Some((_, f)) => f.value = value.to_string(),
            None => self.push(
                name.to_string(),
                Field {
                    value: value.to_string(),
                    line,
                },
            ),
        }
    }
    /// Keep only the fields `keep` accepts.
    pub fn retain(&mut self, keep: impl Fn(&str) -> bool) {
        self.0.retain(|(n, _)| keep(n));
    }
}

/// `<interfaces><KEY>…</KEY>`.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct RawInterface {
    pub key: String,
    pub line: u32,
    pub fields: Fields,
}

/// One `<virtualip><vip>`; `index` is 1-based among the `<vip>` elements. carpd's own lists
/// (`<vhids><vhid>`, `<checks><check>`) are read into the same shape.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct RawVip {
    pub index: usize,
    pub line: u32,
    pub uuid: Option<String>,
    pub fields: Fields,
}

/// A single element with its leaf fields: `<hasync>`, `<OPNsense><carpd><general>`.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct RawHasync {
    pub line: u32,
    pub fields: Fields,
}

/// The parts of config.xml carpd reads, still as text.
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct RawConfig {
    pub root: String,
    pub interfaces: Vec<RawInterface>,
    pub vips: Vec<RawVip>,
    pub hasync: Option<RawHasync>,
    /// Line of `<virtualip_carp_maintenancemode>`, when present.
    pub maintenance: Option<u32>,
    /// carpd's per-VHID settings: `<OPNsense><carpd><vhids><vhid uuid=…>` (the plugin's model;
    /// the same element in a Linux host's config.xml).
    pub vhid_settings: Vec<RawVip>,
    /// carpd's general settings: `<OPNsense><carpd><general>`.
    pub carpd_general: Option<RawHasync>,
    /// carpd's tracked checks: `<OPNsense><carpd><checks><check uuid=…>`.
    pub checks: Vec<RawVip>,
}

/// Why the document could not be read; the caller turns offsets into line and column.
#[derive(Debug)]
pub(crate) enum XmlFailure {
    /// Not well-formed at this byte offset.
    Syntax { offset: u64, message: String },
    /// Bytes that are not UTF-8 somewhere in the file (the reader does not say where: the
    /// caller finds the first bad byte in the file itself).
    InvalidUtf8,
    /// Reading the input failed.
    Io(std::io::Error),
}

/// Passes bytes through while counting the newlines the XML reader has consumed.
struct LineCounter<R> {
    inner: R,
    newlines: u64,
}

impl<R: BufRead> Read for LineCounter<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(out)?;
        self.newlines += count_newlines(&out[..n]);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for LineCounter<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }
    fn consume(&mut self, amt: usize) {
        if amt > 0 {
            // The bytes being consumed are still in the inner buffer: `fill_buf` on a non-empty
            // buffer returns it again without any I/O.
            if let Ok(buf) = self.inner.fill_buf() {
                self.newlines += count_newlines(&buf[..amt.min(buf.len())]);
            }
        }
        self.inner.consume(amt);
    }
}

fn count_newlines(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|b| **b == b'\n').count() as u64
}

/// Which section of interest the reader is inside (depth 1 = root element).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Section {
    None,
    Interfaces,
    VirtualIp,
    /// Inside `<virtualip>`, in a child that is not a `<vip>`.
    VirtualIpOther,
    Hasync,
    /// `<OPNsense>` (every MVC model of OPNsense lives under it).
    Opnsense,
    /// `<OPNsense><carpd>`.
    Plugin,
    /// `<OPNsense><carpd><vhids>`.
    PluginVhids,
    /// One `<vhid>` of those.
    PluginVhid,
    /// `<OPNsense><carpd><general>`.
    PluginGeneral,
    /// `<OPNsense><carpd><checks>`.
    PluginChecks,
    /// One `<check>` of those.
    PluginCheck,
}

/// Text being gathered for one leaf element.
struct Pending {
    name: String,
    depth: usize,
    line: u32,
    value: String,
}

pub(crate) fn read<R: BufRead>(input: R) -> Result<RawConfig, XmlFailure> {
    let mut reader = Reader::from_reader(LineCounter {
        inner: input,
        newlines: 0,
    });
    // Mismatched end tags anywhere in the file make it unusable: OPNsense would not load it either.
    reader.config_mut().check_end_names = true;

    let mut raw = RawConfig::default();
    let mut buf = Vec::with_capacity(4096);
    let mut depth = 0usize;
    let mut open_names: Vec<String> = Vec::new();
    let mut section = Section::None;
    let mut pending: Option<Pending> = None;
    let mut root_closed = false;

    loop {
        buf.clear();
        let event = reader.read_event_into(&mut buf).map_err(|e| match e {
            quick_xml::Error::Encoding(_) => XmlFailure::InvalidUtf8,
            quick_xml::Error::Io(io) => {
                XmlFailure::Io(std::io::Error::new(io.kind(), io.to_string()))
            }
            other => XmlFailure::Syntax {
                offset: reader.error_position(),
                message: other.to_string(),
            },
        })?;
        let line = u32::try_from(reader.get_ref().newlines + 1).unwrap_or(u32::MAX);
        match event {
            Event::Start(start) => {
                if root_closed {
                    return Err(second_root(&reader));
                }
                depth += 1;
                if depth <= 3 {
                    // Names are kept only near the top, for the "not closed" message.
                    open_names.push(start.name().as_ref().to_string());
                }
                element(
                    &mut raw,
                    &start,
                    depth,
                    line,
                    false,
                    &mut section,
                    &mut pending,
                )
                .map_err(|message| XmlFailure::Syntax {
                    offset: reader.buffer_position(),
                    message,
                })?;
            }
            Event::Empty(start) => {
                if root_closed {
                    return Err(second_root(&reader));
                }
                // An empty element is a start and an end at one depth deeper.
                element(
                    &mut raw,
                    &start,
                    depth + 1,
                    line,
                    true,
                    &mut section,
                    &mut pending,
                )
                .map_err(|message| XmlFailure::Syntax {
                    offset: reader.buffer_position(),
                    message,
                })?;
                if depth == 0 {
                    root_closed = true;
                }
            }
            Event::End(_) => {
                if let Some(p) = pending.take_if(|p| p.depth == depth) {
                    store(&mut raw, section, p);
                }
                section = match (depth, section) {
                    (2, _) => Section::None,
                    (3, Section::VirtualIpOther) => Section::VirtualIp,
                    (3, Section::Plugin) => Section::Opnsense,
                    (4, Section::PluginVhids | Section::PluginGeneral | Section::PluginChecks) => {
                        Section::Plugin
                    }
                    (5, Section::PluginVhid) => Section::PluginVhids,
                    (5, Section::PluginCheck) => Section::PluginChecks,
                    (_, s) => s,
                };
                if depth <= 3 {
                    open_names.pop();
                }
                depth -= 1;
                if depth == 0 {
                    root_closed = true;
                }
            }
            Event::Text(text) => {
                if let Some(p) = pending.as_mut().filter(|p| p.depth == depth) {
                    p.value.push_str(&text.xml10_content());
                } else if depth == 0 && !text.xml10_content().trim().is_empty() {
                    return Err(XmlFailure::Syntax {
                        offset: reader.buffer_position(),
                        message: "text outside the root element".to_string(),
                    });
                }
            }
            Event::CData(cdata) => {
                if let Some(p) = pending.as_mut().filter(|p| p.depth == depth) {
                    p.value.push_str(&cdata.xml10_content());
                }
            }
            Event::GeneralRef(reference) => {
                if let Some(p) = pending.as_mut().filter(|p| p.depth == depth) {
                    let resolved = match reference.resolve_char_ref() {
                        Ok(Some(c)) => Some(c.to_string()),
                        Ok(None) => quick_xml::escape::resolve_predefined_entity(&reference)
                            .map(str::to_string),
                        Err(_) => None,
                    };
                    match resolved {
                        Some(s) => p.value.push_str(&s),
                        None => {
                            return Err(XmlFailure::Syntax {
                                offset: reader.buffer_position(),
                                message: format!(
                                    "unknown entity or character reference &{};",
                                    &*reference
                                ),
                            });
                        }
                    }
                }
            }
            Event::Eof => {
                if depth > 0 {
                    return Err(XmlFailure::Syntax {
                        offset: reader.buffer_position(),
                        message: format!(
                            "unexpected end of file: <{}> is not closed (the file looks truncated)",
                            open_names.last().map_or("?", String::as_str)
                        ),
                    });
                }
                if raw.root.is_empty() {
                    return Err(XmlFailure::Syntax {
                        offset: reader.buffer_position(),
                        message: "no root element: this is not an XML document".to_string(),
                    });
                }
                return Ok(raw);
            }
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
}

fn second_root<R>(reader: &Reader<R>) -> XmlFailure {
    XmlFailure::Syntax {
        offset: reader.buffer_position(),
        message: "a second root element after the end of the document".to_string(),
    }
}

/// Handle an element start at `depth` (root = 1); `empty` for `<x/>`.
fn element(
    raw: &mut RawConfig,
    start: &BytesStart<'_>,
    depth: usize,
    line: u32,
    empty: bool,
    section: &mut Section,
    pending: &mut Option<Pending>,
) -> Result<(), String> {
    // Attributes are only parsed on demand; check them everywhere so that a broken file is
    // refused as a whole, as OPNsense itself would refuse it.
    for attr in start.attributes() {
        attr.map_err(|e| format!("attributes of <{}>: {e}", start.name().as_ref()))?;
    }
    let name = start.name();
    let name = name.as_ref();
    match depth {
        1 => raw.root = name.to_string(),
        2 => {
            let entered = match name {
                "interfaces" => Section::Interfaces,
                "virtualip" => Section::VirtualIp,
                "hasync" => {
                    raw.hasync = Some(RawHasync {
                        line,
                        fields: Fields::default(),
                    });
                    Section::Hasync
                }
                "virtualip_carp_maintenancemode" => {
                    // Presence alone turns maintenance on, whatever the content.
                    raw.maintenance.get_or_insert(line);
                    Section::None
                }
                "OPNsense" => Section::Opnsense,
                _ => Section::None,
            };
            if !empty {
                *section = entered;
            }
        }
        3 => match *section {
            Section::Interfaces => raw.interfaces.push(RawInterface {
                key: name.to_string(),
                line,
                fields: Fields::default(),
            }),
            Section::VirtualIp if name == "vip" => {
                let entry = entry(start, line, raw.vips.len() + 1)?;
                raw.vips.push(entry);
            }
            Section::VirtualIp if !empty => *section = Section::VirtualIpOther,
            Section::Hasync => leaf(raw, *section, name, depth, line, empty, pending),
            Section::Opnsense if name == "carpd" && !empty => *section = Section::Plugin,
            _ => {}
        },
        4 if matches!(*section, Section::Interfaces | Section::VirtualIp) => {
            leaf(raw, *section, name, depth, line, empty, pending)
        }
        4 if *section == Section::Plugin && name == "vhids" && !empty => {
            *section = Section::PluginVhids
        }
        4 if *section == Section::Plugin && name == "general" => {
            raw.carpd_general.get_or_insert(RawHasync {
                line,
                fields: Fields::default(),
            });
            if !empty {
                *section = Section::PluginGeneral;
            }
        }
        4 if *section == Section::Plugin && name == "checks" && !empty => {
            *section = Section::PluginChecks
        }
        5 if *section == Section::PluginVhids && name == "vhid" => {
            let entry = entry(start, line, raw.vhid_settings.len() + 1)?;
            raw.vhid_settings.push(entry);
            if !empty {
                *section = Section::PluginVhid;
            }
        }
        5 if *section == Section::PluginChecks && name == "check" => {
            let entry = entry(start, line, raw.checks.len() + 1)?;
            raw.checks.push(entry);
            if !empty {
                *section = Section::PluginCheck;
            }
        }
        5 if *section == Section::PluginGeneral => {
            leaf(raw, *section, name, depth, line, empty, pending)
        }
        6 if matches!(*section, Section::PluginVhid | Section::PluginCheck) => {
            leaf(raw, *section, name, depth, line, empty, pending)
        }
        _ => {}
    }
    Ok(())
}

fn leaf(
    raw: &mut RawConfig,
    section: Section,
    name: &str,
    depth: usize,
    line: u32,
    empty: bool,
    pending: &mut Option<Pending>,
) {
    let p = Pending {
        name: name.to_string(),
        depth,
        line,
        value: String::new(),
    };
    if empty {
        store(raw, section, p);
    } else {
        *pending = Some(p);
    }
}

fn store(raw: &mut RawConfig, section: Section, p: Pending) {
    let field = Field {
        value: p.value,
        line: p.line,
    };
    let target = match section {
        Section::Interfaces => raw.interfaces.last_mut().map(|i| &mut i.fields),
        Section::VirtualIp => raw.vips.last_mut().map(|v| &mut v.fields),
        Section::Hasync => raw.hasync.as_mut().map(|h| &mut h.fields),
        Section::PluginVhid => raw.vhid_settings.last_mut().map(|v| &mut v.fields),
        Section::PluginGeneral => raw.carpd_general.as_mut().map(|g| &mut g.fields),
        Section::PluginCheck => raw.checks.last_mut().map(|c| &mut c.fields),
        _ => None,
    };
    if let Some(fields) = target {
        fields.push(p.name, field);
    }
}

/// A new entry of a list (`<vip>`, `<vhid>`, `<check>`), keyed by its `uuid` attribute.
fn entry(start: &BytesStart<'_>, line: u32, index: usize) -> Result<RawVip, String> {
    Ok(RawVip {
        index,
        line,
        uuid: attribute(start, "uuid")?.filter(|u| !u.is_empty()),
        fields: Fields::default(),
    })
}

fn attribute(start: &BytesStart<'_>, name: &str) -> Result<Option<String>, String> {
    match start.try_get_attribute(name) {
        Ok(Some(attr)) => attr
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map(|v| Some(v.trim().to_string()))
            .map_err(|e| format!("attribute {name}: {e}")),
        Ok(None) => Ok(None),
        Err(e) => Err(format!("attributes of <{}>: {e}", start.name().as_ref())),
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub(crate) fn line_column(bytes: &[u8], offset: u64) -> (u32, u32) {
    let offset = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .min(bytes.len());
    let before = &bytes[..offset];
    let line = count_newlines(before) + 1;
    let line_start = before
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |p| p + 1);
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    (
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(column).unwrap_or(u32::MAX),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_carp_sections_with_lines() {
        let xml = b"<?xml version=\"1.0\"?>\n<opnsense>\n<filter><rule><descr>x</descr></rule></filter>\n<virtualip version=\"1.0.1\">\n  <vip uuid=\"u1\">\n    <mode>carp</mode>\n    <password>a&amp;b&#x41;<![CDATA[<c>]]></password>\n    <peer/>\n  </vip>\n</virtualip>\n<virtualip_carp_maintenancemode/>\n</opnsense>\n";
        let raw = read(&xml[..]).unwrap();
        assert_eq!(raw.root, "opnsense");
        assert_eq!(raw.vips.len(), 1);
        let vip = &raw.vips[0];
        assert_eq!(vip.uuid.as_deref(), Some("u1"));
        assert_eq!(vip.line, 5);
        assert_eq!(vip.fields.get("mode").unwrap().line, 6);
        assert_eq!(vip.fields.get("password").unwrap().value, "a&bA<c>");
        assert_eq!(vip.fields.get("peer").unwrap().value, "");
        assert_eq!(raw.maintenance, Some(11));
    }

    #[test]
    fn keeps_carpd_general_and_checks() {
        let xml = b"<opnsense>\n<OPNsense>\n<carpd>\n<general>\n<enabled>1</enabled>\n<startup_delay>5</startup_delay>\n</general>\n<checks>\n<check uuid=\"c1\">\n<name>up</name>\n<type>link</type>\n</check>\n<check/>\n</checks>\n</carpd>\n<other><general><startup_delay>9</startup_delay></general></other>\n</OPNsense>\n</opnsense>\n";
        let raw = read(&xml[..]).unwrap();
        let general = raw.carpd_general.unwrap();
        assert_eq!(general.line, 4);
        assert_eq!(general.fields.text("startup_delay"), Some("5"));
        assert_eq!(general.fields.get("startup_delay").unwrap().line, 6);
        assert_eq!(raw.checks.len(), 2);
        assert_eq!(raw.checks[0].uuid.as_deref(), Some("c1"));
        assert_eq!(raw.checks[0].line, 9);
        assert_eq!(raw.checks[0].fields.text("type"), Some("link"));
        assert_eq!(raw.checks[1].index, 2);
        assert_eq!(raw.checks[1].uuid, None);
    }

    #[test]
    fn line_column_counts_characters() {
        assert_eq!(line_column(b"ab\ncd", 4), (2, 2));
        assert_eq!(line_column(b"ab", 0), (1, 1));
        assert_eq!(line_column("é\nxé!".as_bytes(), 6), (2, 3));
    }
}
