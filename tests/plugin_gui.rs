//! Static checks of the os-carpd GUI (plugin/net/carpd/src/opnsense: MVC model, controllers,
//! forms, views, ACL, menu and dashboard widget). There is no Phalcon here, so nothing runs:
//! the PHP files pass `php -l`, every XML file is well-formed, every form field, URL, menu
//! entry, view, widget file and configd action the GUI names exists where OPNsense will look
//! for it, and the ACL lets a user with the plugin's privilege reach every URL the pages use.
//! The per-VHID protocol settings (vhids.vhid), carpd's general settings and its tracked checks
//! (checks.check) are followed end to end: the model's fields are the ones carpd's config
//! reader uses, the settings controller serves the grids through core's *Base methods, the
//! forms and dialogs edit each field, and the page's grids call that API. What the GUI can
//! save is fed to the built `carpd check`: the model's defaults, a check of each type, every
//! range's edges and the text masks' edges (run through PHP's preg_match, as core does).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

/// The plugin's files below /usr/local/opnsense.
const PLUGIN: &str = "plugin/net/carpd/src/opnsense";
const MVC: &str = "plugin/net/carpd/src/opnsense/mvc/app";
const CONTROLLERS: &str = "plugin/net/carpd/src/opnsense/mvc/app/controllers/OPNsense/Carpd";
const VIEWS: &str = "plugin/net/carpd/src/opnsense/mvc/app/views";
const MODEL_XML: &str = "plugin/net/carpd/src/opnsense/mvc/app/models/OPNsense/Carpd/Carpd.xml";
const ACL_XML: &str = "plugin/net/carpd/src/opnsense/mvc/app/models/OPNsense/Carpd/ACL/ACL.xml";
const MENU_XML: &str = "plugin/net/carpd/src/opnsense/mvc/app/models/OPNsense/Carpd/Menu/Menu.xml";
const WIDGETS: &str = "plugin/net/carpd/src/opnsense/www/js/widgets";
const ACTIONS_D: &str = "plugin/net/carpd/src/opnsense/service/conf/actions.d";

/// The plugin's module: /ui/carpd/..., /api/carpd/..., controllers/OPNsense/Carpd.
const MODULE: &str = "carpd";

/// Public `*Action` methods of the core base classes the plugin's controllers extend, as
/// opnsense/core (read at f95e815) defines them in src/opnsense/mvc/app/controllers/OPNsense/Base/:
/// - ApiMutableModelControllerBase.php: getAction, setAction;
/// - ApiMutableServiceControllerBase.php: startAction, stopAction, restartAction,
///   reconfigureAction, statusAction;
/// - ApiControllerBase.php: none;
/// - IndexController.php (\OPNsense\Base\IndexController, the base of every page
///   controller): indexAction.
///
/// None of them takes a parameter.
fn inherited_actions(base: &str) -> Option<&'static [&'static str]> {
    match base.trim_start_matches('\\').rsplit('\\').next()? {
        "ApiMutableModelControllerBase" => Some(&["get", "set"]),
        "ApiMutableServiceControllerBase" => {
            Some(&["start", "stop", "restart", "reconfigure", "status"])
        }
        "ApiControllerBase" => Some(&[]),
        "IndexController" if base.contains("Base") => Some(&["index"]),
        _ => None,
    }
}

/// The API under core's log view (src/opnsense/mvc/app/views/OPNsense/Diagnostics/log.volt):
/// the page at /ui/diagnostics/log/<module>/<scope> searches, clears and exports through these.
fn log_view_api(scope: &str) -> Vec<String> {
    vec![
        format!("/api/diagnostics/log/core/{scope}"),
        format!("/api/diagnostics/log/core/{scope}/clear"),
        format!("/api/diagnostics/log/core/{scope}/export"),
    ]
}

/// What updateServiceControlUI(name) (core src/opnsense/www/js/opnsense_ui.js) calls: the
/// status, and start/stop/restart from the buttons it draws.
fn service_widget_api(name: &str) -> Vec<String> {
    ["status", "start", "stop", "restart"]
        .iter()
        .map(|a| format!("/api/{name}/service/{a}"))
        .collect()
}

// ---------------------------------------------------------------------------------------
// helpers

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    let p = root().join(rel);
    fs::read_to_string(&p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()))
}

fn exists(rel: &str) -> bool {
    root().join(rel).is_file()
}

/// Files below `dir` (relative to the repository) whose names end in `suffix`, sorted.
fn files(dir: &str, suffix: &str) -> Vec<String> {
    fn walk(dir: &Path, suffix: &str, out: &mut Vec<PathBuf>) {
        let entries = fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, suffix, out);
            } else if path.to_string_lossy().ends_with(suffix) {
                out.push(path);
            }
        }
    }
    let mut found = Vec::new();
    walk(&root().join(dir), suffix, &mut found);
    let mut rel: Vec<String> = found
        .iter()
        .map(|p| {
            p.strip_prefix(root())
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    rel.sort();
    rel
}

/// 1-based line of a byte offset.
fn line_at(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// `php` is needed; its absence is a broken test machine, never a pass.
fn require_php() {
    let found = Command::new("sh")
        .args(["-c", "command -v php"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !found {
        panic!(
            "`php` is not installed: run `sudo scripts/install-deps` \
             (or `sudo apt-get install php-cli`)"
        );
    }
}

// ---------------------------------------------------------------------------------------
// XML

/// An element of a parsed XML file.
#[derive(Debug, Default)]
struct Element {
    name: String,
    attrs: Vec<(String, String)>,
    text: String,
    children: Vec<Element>,
    line: usize,
}

impl Element {
    fn attr(&self, key: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    fn text_of(&self, name: &str) -> Option<String> {
        self.child(name).map(|c| c.text.trim().to_string())
    }

    /// This element and everything below it, in document order.
    fn all(&self) -> Vec<&Element> {
        let mut out = vec![self];
        for c in &self.children {
            out.extend(c.all());
        }
        out
    }
}

fn start_element(s: &BytesStart<'_>, line: usize) -> Result<Element, String> {
    let mut el = Element {
        name: s.name().as_ref().to_string(),
        line,
        ..Element::default()
    };
    for attr in s.attributes() {
        let attr = attr.map_err(|e| format!("bad attribute in <{}>: {e}", el.name))?;
        let value = attr
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|e| format!("attribute {} of <{}>: {e}", attr.key.as_ref(), el.name))?;
        el.attrs
            .push((attr.key.as_ref().to_string(), value.into_owned()));
    }
    Ok(el)
}

/// Parses `rel` into its root element, or says where and why it is not well-formed.
fn parse_xml(rel: &str) -> Result<Element, String> {
    let src = read(rel);
    let mut reader = Reader::from_str(&src);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let fail = |offset: u64, msg: String| -> String {
        format!("{rel}:{}: {msg}", line_at(&src, offset as usize))
    };
    loop {
        let before = reader.buffer_position();
        let event = reader
            .read_event()
            .map_err(|e| fail(reader.error_position(), e.to_string()))?;
        let line = line_at(&src, before as usize);
        let finished = match event {
            Event::Start(s) => {
                stack.push(start_element(&s, line).map_err(|m| fail(before, m))?);
                None
            }
            Event::Empty(s) => Some(start_element(&s, line).map_err(|m| fail(before, m))?),
            // quick-xml checks that the end tag names the open element.
            Event::End(_) => stack.pop(),
            Event::Text(t) => {
                let text = t.xml10_content();
                match stack.last_mut() {
                    Some(top) => top.text.push_str(&text),
                    None if !text.trim().is_empty() => {
                        return Err(fail(before, "text outside the root element".into()));
                    }
                    None => {}
                }
                None
            }
            Event::CData(c) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&c.xml10_content());
                }
                None
            }
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => Some(c.to_string()),
                    Ok(None) => {
                        quick_xml::escape::resolve_predefined_entity(&r).map(str::to_string)
                    }
                    Err(_) => None,
                };
                let Some(text) = resolved else {
                    return Err(fail(before, format!("unknown entity &{};", &*r)));
                };
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&text);
                }
                None
            }
            Event::Eof => {
                if let Some(open) = stack.last() {
                    return Err(fail(
                        before,
                        format!(
                            "end of file: <{}> (line {}) is not closed",
                            open.name, open.line
                        ),
                    ));
                }
                return root.ok_or_else(|| fail(before, "no root element".into()));
            }
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => None,
        };
        if let Some(el) = finished {
            match stack.last_mut() {
                Some(parent) => parent.children.push(el),
                None if root.is_some() => {
                    return Err(fail(before, format!("a second root element <{}>", el.name)));
                }
                None => root = Some(el),
            }
        }
    }
}

fn xml(rel: &str) -> Element {
    parse_xml(rel).unwrap_or_else(|e| panic!("{e}"))
}

/// Paths (`general.enabled`) of the fields below a model's `<items>`: every element with a
/// `type` attribute is a field, its ancestors below `<items>` are containers. An ArrayField
/// (`vhids.vhid`) is a field and its items' fields follow it (`vhids.vhid.vip`), as the
/// framework's getBase/setBase paths and the grid's search name them.
fn model_fields(items: &Element) -> BTreeMap<String, &Element> {
    fn walk<'a>(el: &'a Element, prefix: &str, out: &mut BTreeMap<String, &'a Element>) {
        for c in &el.children {
            let path = if prefix.is_empty() {
                c.name.clone()
            } else {
                format!("{prefix}.{}", c.name)
            };
            match c.attr("type") {
                Some("ArrayField") => {
                    out.insert(path.clone(), c);
                    walk(c, &path, out);
                }
                Some(_) => {
                    out.insert(path, c);
                }
                None => walk(c, &path, out),
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(items, "", &mut out);
    out
}

// ---------------------------------------------------------------------------------------
// PHP, read as text

/// A public method of a PHP class: name, whether it takes parameters, its body, its line.
struct Method {
    name: String,
    takes_params: bool,
    body: String,
    line: usize,
}

struct PhpClass {
    file: String,
    namespace: String,
    class: String,
    extends: String,
    methods: Vec<Method>,
    text: String,
}

impl PhpClass {
    fn load(rel: &str) -> PhpClass {
        let text = read(rel);
        let word_after = |key: &str| -> String {
            text.lines()
                .map(str::trim_start)
                .find_map(|l| l.strip_prefix(key))
                .map(|rest| {
                    rest.trim()
                        .trim_end_matches(';')
                        .split_whitespace()
                        .next()
                        .unwrap_or("")
                        .to_string()
                })
                .unwrap_or_default()
        };
        let namespace = word_after("namespace ");
        let class = word_after("class ");
        let extends = text
            .lines()
            .map(str::trim_start)
            .find(|l| l.starts_with("class ") || l.starts_with("abstract class "))
            .and_then(|l| l.split(" extends ").nth(1))
            .map(|b| b.split_whitespace().next().unwrap_or("").to_string())
            .unwrap_or_default();

        // `public function name(params)`; the body runs to the next method or the end.
        let mut starts: Vec<(usize, String, bool)> = Vec::new();
        let mut from = 0;
        while let Some(i) = text[from..].find("function ") {
            let at = from + i;
            from = at + "function ".len();
            let head = &text[text[..at].rfind('\n').map_or(0, |n| n + 1)..at];
            if !head.split_whitespace().any(|w| w == "public") {
                continue;
            }
            let rest = &text[from..];
            let Some(open) = rest.find('(') else { continue };
            let name = rest[..open].trim().to_string();
            let close = rest[open..].find(')').map_or(open, |c| open + c);
            let params = rest[open + 1..close].trim();
            starts.push((at, name, !params.is_empty()));
        }
        let methods = starts
            .iter()
            .enumerate()
            .map(|(i, (at, name, takes_params))| {
                let end = starts.get(i + 1).map_or(text.len(), |s| s.0);
                Method {
                    name: name.clone(),
                    takes_params: *takes_params,
                    body: text[*at..end].to_string(),
                    line: line_at(&text, *at),
                }
            })
            .collect();
        PhpClass {
            file: rel.to_string(),
            namespace,
            class,
            extends,
            methods,
            text,
        }
    }

    /// The value of `protected static $name = '...';`.
    fn static_string(&self, name: &str) -> Option<String> {
        let key = format!("static ${name} = ");
        let line = self.text.lines().find(|l| l.contains(&key))?;
        let value = line.split(&key).nth(1)?.trim().trim_end_matches(';').trim();
        Some(value.trim_matches(|c| c == '\'' || c == '"').to_string())
    }

    /// Does `<action>Action` exist here or in the core base class, and does it take
    /// parameters? `None` when it does not exist.
    fn action(&self, action: &str) -> Option<bool> {
        let wanted = format!("{action}Action");
        if let Some(m) = self.methods.iter().find(|m| m.name == wanted) {
            return Some(m.takes_params);
        }
        let inherited = inherited_actions(&self.extends).unwrap_or_else(|| {
            panic!(
                "{}: extends {}, a class this test does not know the actions of \
                 (add its public *Action methods to inherited_actions)",
                self.file, self.extends
            )
        });
        inherited.contains(&action).then_some(false)
    }
}

/// Phalcon's dispatcher camelizes URL parts: `get_vip_status` → `getVipStatus`.
fn camel(part: &str, upper_first: bool) -> String {
    let mut out = String::new();
    for (i, word) in part.split(['_', '-']).enumerate() {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            if i == 0 && !upper_first {
                out.push(first.to_ascii_lowercase());
            } else {
                out.push(first.to_ascii_uppercase());
            }
            out.push_str(chars.as_str());
        }
    }
    out
}

/// One argument of a PHP call, as far as this test reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Arg {
    /// A quoted string literal.
    Str(String),
    /// `['a', 'b']`: a list of string literals.
    List(Vec<String>),
    /// Anything else (`$uuid`, `null`), as written.
    Other(String),
}

fn unquote(t: &str) -> Option<String> {
    ['\'', '"'].iter().find_map(|q| {
        let inner = t.strip_prefix(*q)?.strip_suffix(*q)?;
        (!inner.contains(*q)).then(|| inner.to_string())
    })
}

fn php_arg(raw: &str) -> Arg {
    let t = raw.trim();
    if let Some(s) = unquote(t) {
        return Arg::Str(s);
    }
    if let Some(inner) = t.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        let items: Option<Vec<String>> = inner
            .split(',')
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .map(unquote)
            .collect();
        if let Some(items) = items {
            return Arg::List(items);
        }
    }
    Arg::Other(t.to_string())
}

/// The arguments of every `->func(...)` call in `text`, with its line.
fn php_calls(text: &str, func: &str) -> Vec<(Vec<Arg>, usize)> {
    let marker = format!("->{func}(");
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = text[from..].find(&marker) {
        let at = from + i;
        from = at + marker.len();
        let mut args = Vec::new();
        let mut current = String::new();
        let mut depth = 0usize;
        let mut quote: Option<char> = None;
        let mut escaped = false;
        for c in text[from..].chars() {
            if let Some(q) = quote {
                current.push(c);
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
                continue;
            }
            match c {
                '\'' | '"' => {
                    quote = Some(c);
                    current.push(c);
                }
                '(' | '[' => {
                    depth += 1;
                    current.push(c);
                }
                ')' | ']' if depth > 0 => {
                    depth -= 1;
                    current.push(c);
                }
                ')' => break,
                ',' if depth == 0 => {
                    args.push(php_arg(&current));
                    current.clear();
                }
                _ => current.push(c),
            }
        }
        if !current.trim().is_empty() {
            args.push(php_arg(&current));
        }
        out.push((args, line_at(text, at)));
    }
    out
}

const SETTINGS_PHP: &str =
    "plugin/net/carpd/src/opnsense/mvc/app/controllers/OPNsense/Carpd/Api/SettingsController.php";

/// The grids SettingsController serves: getBase's result key → the ArrayField's path
/// (`vhid` → `vhids.vhid`). A dialog's field ids start with that key.
fn grid_keys() -> BTreeMap<String, String> {
    php_calls(&read(SETTINGS_PHP), "getBase")
        .into_iter()
        .filter_map(|(args, _)| match (args.first(), args.get(1)) {
            (Some(Arg::Str(key)), Some(Arg::Str(path))) => Some((key.clone(), path.clone())),
            _ => None,
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// URLs the pages use

/// A URL found in a file, with where.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Url {
    url: String,
    at: String,
}

/// The view, widget script and widget metadata files.
fn page_files() -> Vec<String> {
    let mut out = files(VIEWS, ".volt");
    out.extend(files(WIDGETS, ".js"));
    out.extend(files(&format!("{WIDGETS}/Metadata"), ".xml"));
    out
}

/// Quoted strings that follow `marker` (`updateServiceControlUI('carpd')`,
/// `'data_service_widget': 'carpd'`, `data-service-widget="carpd"`).
fn quoted_after(text: &str, marker: &str) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = text[from..].find(marker) {
        let at = from + i;
        from = at + marker.len();
        let rest = &text[from..];
        let skip = rest
            .find(|c: char| !(c.is_whitespace() || matches!(c, '(' | ':' | '=' | '\'' | '"')))
            .unwrap_or(rest.len());
        let lead = &rest[..skip];
        if let Some(q) = lead.chars().rev().find(|c| *c == '\'' || *c == '"') {
            let value: String = rest[skip..].chars().take_while(|c| *c != q).collect();
            out.push((value, line_at(text, at)));
        }
    }
    out
}

/// Every `/ui/...` and `/api/...` URL written in the page files, plus the URLs the core
/// helpers they call use (updateServiceControlUI, the apply button's service widget).
fn page_urls() -> Vec<Url> {
    let mut out = Vec::new();
    for file in page_files() {
        let text = read(&file);
        for prefix in ["/ui/", "/api/"] {
            let mut from = 0;
            while let Some(i) = text[from..].find(prefix) {
                let at = from + i;
                from = at + prefix.len();
                let before = text[..at].chars().next_back();
                if before.is_some_and(|c| c.is_ascii_alphanumeric() || "/._-".contains(c)) {
                    continue; // part of a longer path, not a URL
                }
                let url: String = text[at..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || "/_-".contains(*c))
                    .collect();
                out.push(Url {
                    url,
                    at: format!("{file}:{}", line_at(&text, at)),
                });
            }
        }
        for marker in [
            "updateServiceControlUI",
            "data_service_widget",
            "data-service-widget",
        ] {
            for (name, line) in quoted_after(&text, marker) {
                for url in service_widget_api(&name) {
                    out.push(Url {
                        url,
                        at: format!("{file}:{line} ({marker} '{name}')"),
                    });
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The menu's entries: (url, line).
fn menu_urls() -> Vec<(String, usize)> {
    xml(MENU_XML)
        .all()
        .into_iter()
        .filter_map(|e| e.attr("url").map(|u| (u.to_string(), e.line)))
        .collect()
}

/// The scope of a core log view URL (/ui/diagnostics/log/core/<scope>).
fn log_scope(url: &str) -> Option<&str> {
    url.strip_prefix("/ui/diagnostics/log/core/")
}

/// core's ACL::urlMatch (src/opnsense/mvc/app/models/OPNsense/Core/ACL.php): `*` matches
/// anything, and a pattern ending in `/*`, `&*` or `?*` also matches the URL without that
/// tail; the URL's `#fragment` is ignored.
fn acl_match(pattern: &str, url: &str) -> bool {
    fn glob(p: &[u8], s: &[u8]) -> bool {
        match p.split_first() {
            None => s.is_empty(),
            Some((b'*', rest)) => (0..=s.len()).any(|i| glob(rest, &s[i..])),
            Some((c, rest)) => s.first() == Some(c) && glob(rest, &s[1..]),
        }
    }
    let url = url.split('#').next().unwrap_or("");
    let Some(url) = url.strip_prefix('/') else {
        return false;
    };
    if glob(pattern.as_bytes(), url.as_bytes()) {
        return true;
    }
    ["/*", "&*", "?*"].iter().any(|tail| {
        pattern.ends_with(tail) && glob(&pattern.as_bytes()[..pattern.len() - 2], url.as_bytes())
    })
}

// ---------------------------------------------------------------------------------------
// 1. PHP

#[test]
fn php_files_pass_php_lint_and_carry_the_licence() {
    require_php();
    let php = files(MVC, ".php");
    assert!(!php.is_empty(), "no .php files under {MVC}");
    let mut problems = Vec::new();
    for rel in &php {
        let o = Command::new("php")
            .arg("-l")
            .arg(root().join(rel))
            .output()
            .unwrap_or_else(|e| panic!("cannot run `php -l {rel}`: {e}"));
        if !o.status.success() {
            problems.push(format!(
                "`php -l {rel}` failed:\n{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ));
        }
    }
    // The BSD-2-Clause header every opnsense plugin file carries; the views and the widget
    // carry it too.
    let mut licensed = php.clone();
    licensed.extend(files(VIEWS, ".volt"));
    licensed.extend(files(WIDGETS, ".js"));
    for rel in &licensed {
        let head: String = read(rel).lines().take(30).collect::<Vec<_>>().join("\n");
        for needed in [
            "Copyright (C) 2026 carpd contributors",
            "Redistribution and use in source and binary forms",
            "THIS SOFTWARE IS PROVIDED ``AS IS''",
        ] {
            if !head.contains(needed) {
                problems.push(format!(
                    "{rel}: the BSD-2-Clause header is missing `{needed}` in its first 30 lines"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Phalcon loads `\OPNsense\Carpd\Api\StatusController` from
/// controllers/OPNsense/Carpd/Api/StatusController.php (models likewise); the controllers
/// name their model, its enable field and their template, which must all exist.
#[test]
fn php_classes_live_where_phalcon_looks_and_name_what_exists() {
    let mut problems = Vec::new();
    for rel in files(MVC, ".php") {
        let c = PhpClass::load(&rel);
        let under = ["controllers/", "models/"]
            .iter()
            .find_map(|d| rel.split(&format!("{MVC}/{d}")).nth(1))
            .unwrap_or_else(|| panic!("{rel}: a PHP file outside controllers/ and models/"));
        let expected = under.trim_end_matches(".php").replace('/', "\\");
        let actual = format!("{}\\{}", c.namespace, c.class);
        if actual != expected {
            problems.push(format!(
                "{rel}: declares {actual}, but the autoloader expects {expected} in this file"
            ));
        }
    }

    let model_class = |value: &str| -> String {
        format!(
            "{MVC}/models/{}.php",
            value.trim_start_matches('\\').replace('\\', "/")
        )
    };
    let fields = {
        let model = xml(MODEL_XML);
        let items = model
            .child("items")
            .unwrap_or_else(|| panic!("{MODEL_XML}: no <items>"));
        model_fields(items).into_keys().collect::<BTreeSet<_>>()
    };
    let settings = PhpClass::load(&format!("{CONTROLLERS}/Api/SettingsController.php"));
    let service = PhpClass::load(&format!("{CONTROLLERS}/Api/ServiceController.php"));
    for (c, prop) in [
        (&settings, "internalModelClass"),
        (&service, "internalServiceClass"),
    ] {
        match c.static_string(prop) {
            Some(v) if exists(&model_class(&v)) => {}
            Some(v) => problems.push(format!(
                "{}: ${prop} = {v}, but {} does not exist",
                c.file,
                model_class(&v)
            )),
            None => problems.push(format!("{}: no ${prop}", c.file)),
        }
    }
    match settings.static_string("internalModelName") {
        Some(v) if v == MODULE => {}
        other => problems.push(format!(
            "{}: $internalModelName is {other:?}; the forms' ids start with `{MODULE}.`",
            settings.file
        )),
    }
    match service.static_string("internalServiceEnabled") {
        Some(v) if fields.contains(&v) => {}
        other => problems.push(format!(
            "{}: $internalServiceEnabled is {other:?}, not a field of {MODEL_XML}",
            service.file
        )),
    }
    match service.static_string("internalServiceTemplate") {
        Some(v) if exists(&format!("{PLUGIN}/service/templates/{v}/+TARGETS")) => {}
        other => problems.push(format!(
            "{}: $internalServiceTemplate is {other:?}, but {PLUGIN}/service/templates/<it>/+TARGETS \
             does not exist (reconfigure runs `configctl template reload <it>`)",
            service.file
        )),
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// ---------------------------------------------------------------------------------------
// 2. XML

#[test]
fn xml_files_are_well_formed() {
    let all = files(PLUGIN, ".xml");
    for needed in [
        MODEL_XML.to_string(),
        ACL_XML.to_string(),
        MENU_XML.to_string(),
        format!("{CONTROLLERS}/forms/general.xml"),
        format!("{CONTROLLERS}/forms/dialogVhid.xml"),
        format!("{CONTROLLERS}/forms/dialogCheck.xml"),
        format!("{WIDGETS}/Metadata/Carpd.xml"),
    ] {
        assert!(all.contains(&needed), "{needed} is missing (found {all:?})");
    }
    let problems: Vec<String> = all.iter().filter_map(|f| parse_xml(f).err()).collect();
    assert!(
        problems.is_empty(),
        "not well-formed:\n{}",
        problems.join("\n")
    );
}

// ---------------------------------------------------------------------------------------
// 3. forms → model

/// core's Vip model fields (opnsense/core f95e815,
/// src/opnsense/mvc/app/models/OPNsense/Interfaces/Vip.xml, items `vip`), which a ModelRelationField to OPNsense.Interfaces.Vip may show or filter on.
const CORE_VIP_FIELDS: &[&str] = &[
    "interface",
    "mode",
    "subnet",
    "subnet_bits",
    "gateway",
    "noexpand",
    "nobind",
    "password",
    "vhid",
    "advbase",
    "advskew",
    "peer",
    "peer6",
    "nosync",
    "address",
    "vhid_txt",
    "descr",
];

#[test]
fn form_fields_exist_in_the_model() {
    let model = xml(MODEL_XML);
    let mut problems = Vec::new();
    if model.text_of("mount").as_deref() != Some("//OPNsense/carpd") {
        problems.push(format!(
            "{MODEL_XML}: <mount> is {:?}, expected //OPNsense/carpd",
            model.text_of("mount")
        ));
    }
    if model.text_of("version").is_none_or(|v| v.is_empty()) {
        problems.push(format!("{MODEL_XML}: no <version> (migrations need one)"));
    }
    let items = model
        .child("items")
        .unwrap_or_else(|| panic!("{MODEL_XML}: no <items>"));
    let fields = model_fields(items);

    // A relation to core's VIPs names real Vip fields.
    for (path, field) in &fields {
        if field.attr("type") != Some("ModelRelationField") {
            continue;
        }
        for source in field.child("Model").map_or(&[][..], |m| &m.children[..]) {
            if source.text_of("source").as_deref() != Some("OPNsense.Interfaces.Vip") {
                continue;
            }
            if source.text_of("items").as_deref() != Some("vip") {
                problems.push(format!(
                    "{MODEL_XML}:{}: {path}: core's Vip model keeps its VIPs in `vip`",
                    source.line
                ));
            }
            let display = source.text_of("display").unwrap_or_default();
            let filters = source.child("filters").map_or(Vec::new(), |f| {
                f.children.iter().map(|c| c.name.clone()).collect()
            });
            for name in display
                .split(',')
                .map(str::trim)
                .chain(filters.iter().map(String::as_str))
            {
                if !CORE_VIP_FIELDS.contains(&name) {
                    problems.push(format!(
                        "{MODEL_XML}:{}: {path}: `{name}` is not a field of core's Vip model",
                        source.line
                    ));
                }
            }
        }
    }

    let forms = files(&format!("{CONTROLLERS}/forms"), ".xml");
    assert!(!forms.is_empty(), "no forms under {CONTROLLERS}/forms");
    // A dialog's ids start with the key SettingsController's getBase returns its item under
    // (`vhid.vip` → `vhids.vhid.vip`); a page form's with $internalModelName (`carpd.`).
    let grids = grid_keys();
    for form in &forms {
        let dialog = form
            .rsplit('/')
            .next()
            .is_some_and(|n| n.starts_with("dialog"));
        let root = xml(form);
        for field in root.children.iter().filter(|c| c.name == "field") {
            let Some(id) = field.text_of("id") else {
                if field.text_of("type").as_deref() != Some("header") {
                    problems.push(format!("{form}:{}: a field without <id>", field.line));
                }
                continue;
            };
            let at = format!("{form}:{}: <id>{id}</id>", field.line);
            let (head, rest) = id.split_once('.').unwrap_or((id.as_str(), ""));
            let path = if dialog {
                match grids.get(head) {
                    Some(array) => format!("{array}.{rest}"),
                    None => {
                        problems.push(format!(
                            "{at}: a dialog's ids start with a key SettingsController's getBase \
                             fills (keys: {:?})",
                            grids.keys().collect::<Vec<_>>()
                        ));
                        continue;
                    }
                }
            } else if head == MODULE {
                rest.to_string()
            } else {
                problems.push(format!(
                    "{at} does not start with `{MODULE}.` (the settings controller's \
                     $internalModelName)"
                ));
                continue;
            };
            let Some(model_field) = fields.get(&path) else {
                problems.push(format!(
                    "{at}: there is no field `{path}` under <items> in {MODEL_XML} (fields: {})",
                    fields.keys().cloned().collect::<Vec<_>>().join(", ")
                ));
                continue;
            };
            // setAction takes the page form as one object: an ArrayField's items have uuids
            // and are edited through a grid's dialog.
            if !dialog {
                let mut prefix = String::new();
                for part in path.split('.') {
                    if !prefix.is_empty() {
                        if fields.get(&prefix).and_then(|f| f.attr("type")) == Some("ArrayField") {
                            problems.push(format!(
                                "{at}: `{prefix}` is an ArrayField: edit its items in a dialog form"
                            ));
                        }
                        prefix.push('.');
                    }
                    prefix.push_str(part);
                }
            }
            let model_type = model_field.attr("type").unwrap_or("");
            let form_type = field.text_of("type").unwrap_or_default();
            if let Some(allowed) = form_types_for(model_type)
                && !allowed.contains(&form_type.as_str())
            {
                problems.push(format!(
                    "{at}: <type>{form_type}</type> for a {model_type} (expected one of {allowed:?})"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The form input types core's base_form / base_dialog render for a model field type.
fn form_types_for(model_type: &str) -> Option<&'static [&'static str]> {
    match model_type {
        "BooleanField" => Some(&["checkbox"]),
        "OptionField" | "ModelRelationField" | "InterfaceField" | "VirtualIPField" => {
            Some(&["dropdown", "select_multiple"])
        }
        "IntegerField" | "TextField" | "NumericField" => {
            Some(&["text", "textbox", "password", "hidden", "info"])
        }
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------
// 4. API URLs → controller actions

#[test]
fn api_urls_resolve_to_controller_actions() {
    let urls: Vec<Url> = page_urls()
        .into_iter()
        .filter(|u| u.url.starts_with(&format!("/api/{MODULE}/")))
        .collect();
    for needed in [
        "/api/carpd/status/status",
        "/api/carpd/settings/get",
        "/api/carpd/settings/set",
        "/api/carpd/service/reconfigure",
        "/api/carpd/service/status",
        "/api/carpd/settings/search_vhid",
        "/api/carpd/settings/get_vhid/",
        "/api/carpd/settings/set_vhid/",
        "/api/carpd/settings/add_vhid/",
        "/api/carpd/settings/del_vhid/",
        "/api/carpd/settings/search_check",
        "/api/carpd/settings/get_check/",
        "/api/carpd/settings/set_check/",
        "/api/carpd/settings/add_check/",
        "/api/carpd/settings/del_check/",
    ] {
        assert!(
            urls.iter().any(|u| u.url == needed),
            "no page uses {needed}; found {:?}",
            urls.iter().map(|u| &u.url).collect::<BTreeSet<_>>()
        );
    }
    let mut problems = Vec::new();
    for Url { url, at } in &urls {
        let parts: Vec<&str> = url
            .trim_start_matches(&format!("/api/{MODULE}/"))
            .split('/')
            .collect();
        let controller = parts[0];
        let action = parts
            .get(1)
            .copied()
            .filter(|a| !a.is_empty())
            .unwrap_or("index");
        let params = parts.iter().skip(2).any(|p| !p.is_empty());
        if controller.is_empty() {
            problems.push(format!("{at}: {url} names no controller"));
            continue;
        }
        let file = format!(
            "{CONTROLLERS}/Api/{}Controller.php",
            camel(controller, true)
        );
        if !exists(&file) {
            problems.push(format!("{at}: {url} needs {file}, which does not exist"));
            continue;
        }
        let class = PhpClass::load(&file);
        let method = format!("{}Action", camel(action, false));
        match class.action(&camel(action, false)) {
            None => problems.push(format!(
                "{at}: {url} needs a public function {method}() in {file} (or its base class {})",
                class.extends
            )),
            Some(false) if params => problems.push(format!(
                "{at}: {url} passes a parameter, but {file}'s {method}() takes none"
            )),
            Some(_) => {}
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A Volt tag opened in a view must close before anything else opens: a `{{` or `{%` left
/// in the page's JavaScript would be taken for a tag by Volt.
#[test]
fn volt_tags_are_closed() {
    let mut problems = Vec::new();
    for rel in files(VIEWS, ".volt") {
        let text = read(&rel);
        let mut from = 0;
        loop {
            let next = ["{{", "{%", "{#"]
                .iter()
                .filter_map(|o| text[from..].find(o).map(|i| (from + i, *o)))
                .min();
            let Some((at, open)) = next else { break };
            let close = match open {
                "{{" => "}}",
                "{%" => "%}",
                _ => "#}",
            };
            let body_start = at + 2;
            let Some(end) = text[body_start..].find(close).map(|i| body_start + i) else {
                problems.push(format!(
                    "{rel}:{}: `{open}` is never closed with `{close}`",
                    line_at(&text, at)
                ));
                break;
            };
            let body = &text[body_start..end];
            if open != "{#" && (body.contains("{{") || body.contains("{%") || body.contains("{#")) {
                problems.push(format!(
                    "{rel}:{}: `{open}` opens again before its `{close}`",
                    line_at(&text, at)
                ));
            }
            from = end + 2;
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// ---------------------------------------------------------------------------------------
// 5. ACL

#[test]
fn acl_covers_every_url_the_gui_uses() {
    let acl = xml(ACL_XML);
    let patterns: Vec<String> = acl
        .all()
        .into_iter()
        .filter(|e| e.name == "pattern")
        .map(|e| e.text.trim().to_string())
        .collect();
    assert!(!patterns.is_empty(), "{ACL_XML}: no <pattern>");
    let privileges: Vec<&str> = acl.children.iter().map(|c| c.name.as_str()).collect();
    assert!(
        privileges.contains(&"page-services-carpd"),
        "{ACL_XML}: no privilege page-services-carpd (found {privileges:?})"
    );

    let mut urls: Vec<Url> = page_urls();
    for (url, line) in menu_urls() {
        if let Some(scope) = log_scope(&url) {
            for api in log_view_api(scope) {
                urls.push(Url {
                    url: api,
                    at: format!("{MENU_XML}:{line} (core's log view for {url})"),
                });
            }
        }
        urls.push(Url {
            url,
            at: format!("{MENU_XML}:{line}"),
        });
    }
    let mut problems: Vec<String> = urls
        .iter()
        .filter(|u| !patterns.iter().any(|p| acl_match(p, &u.url)))
        .map(|u| {
            format!(
                "{}: {} is not covered by any <pattern> in {ACL_XML}",
                u.at, u.url
            )
        })
        .collect();
    problems.dedup();
    assert!(
        problems.is_empty(),
        "{}\n(patterns: {})",
        problems.join("\n"),
        patterns.join(", ")
    );
}

#[test]
fn acl_match_follows_core() {
    assert!(acl_match("ui/carpd/*", "/ui/carpd"));
    assert!(acl_match("ui/carpd/*", "/ui/carpd/"));
    assert!(acl_match("ui/carpd/*", "/ui/carpd/index/status"));
    assert!(acl_match("ui/carpd/*", "/ui/carpd/#general"));
    assert!(!acl_match("ui/carpd/*", "/ui/carpdx"));
    assert!(!acl_match("ui/carpd/*", "/api/carpd/status/status"));
    assert!(acl_match(
        "api/diagnostics/log/core/carpd/*",
        "/api/diagnostics/log/core/carpd"
    ));
    assert!(!acl_match(
        "api/diagnostics/log/core/carpd/*",
        "/api/diagnostics/log/core/carpd-hook"
    ));
    assert!(acl_match(
        "api/carpd/status/status",
        "/api/carpd/status/status"
    ));
    assert!(!acl_match(
        "api/carpd/status/status",
        "/api/carpd/status/status/x"
    ));
}

// ---------------------------------------------------------------------------------------
// 6. menu → pages

#[test]
fn menu_urls_resolve_to_pages() {
    let urls = menu_urls();
    let mut problems = Vec::new();
    for needed in [
        "/ui/carpd/",
        "/ui/carpd/index/status",
        "/ui/diagnostics/log/core/carpd",
    ] {
        if !urls.iter().any(|(u, _)| u == needed) {
            problems.push(format!("{MENU_XML}: no entry for {needed}"));
        }
    }
    for (url, line) in &urls {
        let at = format!("{MENU_XML}:{line}");
        let path = url.split('#').next().unwrap_or("");
        // core's Diagnostics LogController renders /ui/diagnostics/log/core/<scope> for any
        // scope (its __call); what makes the log exist is syslog-ng's local filter for it.
        if let Some(scope) = log_scope(path) {
            let filter = format!("{PLUGIN}/service/templates/OPNsense/Syslog/local/{scope}.conf");
            if scope.is_empty() || scope.contains('/') {
                problems.push(format!(
                    "{at}: {url}: expected /ui/diagnostics/log/core/<name>"
                ));
            } else if !exists(&filter) {
                problems.push(format!(
                    "{at}: {url} shows /var/log/{scope}/, which only exists with {filter}"
                ));
            }
            continue;
        }
        let Some(rest) = path.strip_prefix(&format!("/ui/{MODULE}")) else {
            problems.push(format!(
                "{at}: {url} is neither /ui/{MODULE}/... nor a core log view"
            ));
            continue;
        };
        let parts: Vec<&str> = rest.split('/').filter(|p| !p.is_empty()).collect();
        let controller = parts.first().copied().unwrap_or("index");
        let action = parts.get(1).copied().unwrap_or("index");
        let file = format!("{CONTROLLERS}/{}Controller.php", camel(controller, true));
        if !exists(&file) {
            problems.push(format!("{at}: {url} needs {file}, which does not exist"));
            continue;
        }
        let method = format!("{}Action", camel(action, false));
        if PhpClass::load(&file)
            .action(&camel(action, false))
            .is_none()
        {
            problems.push(format!(
                "{at}: {url} needs a public function {method}() in {file}"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The page actions pick views and forms that exist.
#[test]
fn page_controllers_pick_existing_views_and_forms() {
    let mut problems = Vec::new();
    for rel in files(CONTROLLERS, "Controller.php") {
        if rel.contains("/Api/") {
            continue;
        }
        let class = PhpClass::load(&rel);
        for m in class.methods.iter().filter(|m| m.name.ends_with("Action")) {
            let picks = quoted_after(&m.body, "->pick");
            if picks.is_empty() {
                problems.push(format!(
                    "{rel}:{}: {}() picks no view (Phalcon would look for a default one)",
                    m.line, m.name
                ));
            }
            for (view, _) in picks {
                let file = format!("{VIEWS}/{view}.volt");
                if !exists(&file) {
                    problems.push(format!(
                        "{rel}:{}: {}() picks {view}, but {file} does not exist",
                        m.line, m.name
                    ));
                }
            }
            let forms = quoted_after(&m.body, "getForm(")
                .into_iter()
                .chain(quoted_after(&m.body, "getFormGrid("));
            for (form, _) in forms {
                let file = format!("{CONTROLLERS}/forms/{form}.xml");
                if !exists(&file) {
                    problems.push(format!(
                        "{rel}:{}: {}() loads form {form}, but {file} does not exist",
                        m.line, m.name
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// ---------------------------------------------------------------------------------------
// 7. dashboard widget

#[test]
fn widget_metadata_names_its_script() {
    let metadata = files(&format!("{WIDGETS}/Metadata"), ".xml");
    assert!(
        !metadata.is_empty(),
        "no widget metadata under {WIDGETS}/Metadata"
    );
    let mut problems = Vec::new();
    for rel in &metadata {
        let root = xml(rel);
        if root.name != "metadata" {
            problems.push(format!(
                "{rel}: the root element is <{}>, not <metadata>",
                root.name
            ));
        }
        if root.children.is_empty() {
            problems.push(format!("{rel}: names no widget"));
        }
        for widget in &root.children {
            let at = format!("{rel}:{}", widget.line);
            let Some(filename) = widget.text_of("filename") else {
                problems.push(format!("{at}: <{}> has no <filename>", widget.name));
                continue;
            };
            let script = format!("{WIDGETS}/{filename}");
            if filename.contains('/') || !exists(&script) {
                problems.push(format!(
                    "{at}: <filename>{filename}</filename>: {script} does not exist"
                ));
                continue;
            }
            let js = read(&script);
            let class = filename.trim_end_matches(".js");
            if !js.contains(&format!("export default class {class} extends Base")) {
                problems.push(format!(
                    "{script}: expected `export default class {class} extends BaseTableWidget` \
                     (or another Base*Widget), as the dashboard imports it"
                ));
            }
            if widget
                .child("endpoints")
                .is_none_or(|e| e.children.iter().all(|c| c.name != "endpoint"))
            {
                problems.push(format!(
                    "{at}: no <endpoints><endpoint> (the dashboard checks access by them)"
                ));
            }
            // Every endpoint the script calls is listed, every translation it reads defined.
            let endpoints: BTreeSet<String> = widget
                .child("endpoints")
                .map(|e| {
                    e.children
                        .iter()
                        .map(|c| c.text.trim().to_string())
                        .collect()
                })
                .unwrap_or_default();
            for (url, line) in quoted_after(&js, "ajaxCall") {
                if !endpoints.contains(&url) {
                    problems.push(format!(
                        "{script}:{line}: calls {url}, not listed in {rel}'s <endpoints>"
                    ));
                }
            }
            let translations: BTreeSet<String> = widget
                .child("translations")
                .map(|t| t.children.iter().map(|c| c.name.clone()).collect())
                .unwrap_or_default();
            if !translations.contains("title") {
                problems.push(format!("{at}: no <translations><title>"));
            }
            let mut from = 0;
            while let Some(i) = js[from..].find("this.translations.") {
                let at_js = from + i;
                from = at_js + "this.translations.".len();
                let key: String = js[from..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !translations.contains(&key) {
                    problems.push(format!(
                        "{script}:{}: this.translations.{key} is not in {rel}'s <translations>",
                        line_at(&js, at_js)
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// ---------------------------------------------------------------------------------------
// configd: what the controllers call exists

/// The plugin's configd actions: `topic words...` → number of `%s` slots, as configd builds
/// its map (topic = file name after `actions_`, dots in a section name = words).
fn configd_actions() -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for rel in files(ACTIONS_D, ".conf") {
        let name = rel.rsplit('/').next().unwrap();
        let Some(topic) = name
            .strip_prefix("actions_")
            .and_then(|n| n.split('.').next())
        else {
            continue;
        };
        let mut section: Option<String> = None;
        for line in read(&rel).lines().map(str::trim) {
            if let Some(s) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                let key = format!("{topic} {}", s.replace('.', " "));
                out.insert(key.clone(), 0);
                section = Some(key);
            } else if let (Some(key), Some(params)) = (&section, line.strip_prefix("parameters")) {
                let params = params.trim_start().trim_start_matches([':', '=']);
                out.insert(key.clone(), params.matches("%s").count());
            }
        }
    }
    out
}

/// configd's lookup (processhandler.py find_action): the longest run of words that names an
/// action; the words after it are parameters, which must not outnumber its `%s` slots.
fn configd_resolves(
    actions: &BTreeMap<String, usize>,
    command: &str,
    extra: usize,
) -> Result<(), String> {
    let words: Vec<&str> = command.split_whitespace().collect();
    for n in (1..=words.len()).rev() {
        let key = words[..n].join(" ");
        if let Some(slots) = actions.get(&key) {
            let given = words.len() - n + extra;
            return if given <= *slots {
                Ok(())
            } else {
                Err(format!(
                    "`{key}` takes {slots} parameter(s), `{command}` gives {given} (configd: Parameter mismatch)"
                ))
            };
        }
    }
    Err(format!(
        "no configd action `{command}` in {ACTIONS_D}/actions_{}.conf",
        words.first().unwrap_or(&"?")
    ))
}

#[test]
fn controllers_call_configd_actions_that_exist() {
    let actions = configd_actions();
    let mut problems = Vec::new();
    let mut calls = 0;
    for rel in files(CONTROLLERS, ".php") {
        let text = read(&rel);
        for (func, with_params) in [("configdRun(", false), ("configdpRun(", true)] {
            let mut from = 0;
            while let Some(i) = text[from..].find(func) {
                let at = from + i;
                from = at + func.len();
                let line = line_at(&text, at);
                let rest = &text[from..];
                let Some(command) = rest.strip_prefix('\'').and_then(|r| r.split('\'').next())
                else {
                    problems.push(format!(
                        "{rel}:{line}: {func}...) without a literal action name: this test cannot check it"
                    ));
                    continue;
                };
                // configdpRun('action', [a, b]): one parameter per array element.
                let extra = if with_params {
                    let after = &rest[command.len() + 2..];
                    let list = after
                        .find('[')
                        .and_then(|o| after[o + 1..].find(']').map(|c| &after[o + 1..o + 1 + c]))
                        .unwrap_or("");
                    list.split(',').filter(|p| !p.trim().is_empty()).count()
                } else {
                    0
                };
                calls += 1;
                if let Err(e) = configd_resolves(&actions, command, extra) {
                    problems.push(format!("{rel}:{line}: {e}"));
                }
            }
        }
    }
    assert!(
        calls >= 5,
        "found only {calls} configd calls in {CONTROLLERS}"
    );

    // ApiMutableServiceControllerBase runs `<internalServiceName> start|stop|restart|status`,
    // and `reload` from reconfigure when reconfigureForceRestart() is 0.
    let service = PhpClass::load(&format!("{CONTROLLERS}/Api/ServiceController.php"));
    let name = service
        .static_string("internalServiceName")
        .unwrap_or_else(|| panic!("{}: no $internalServiceName", service.file));
    for verb in ["start", "stop", "restart", "status", "reload"] {
        if let Err(e) = configd_resolves(&actions, &format!("{name} {verb}"), 0) {
            problems.push(format!(
                "{}: the base class's service actions run `configctl {name} {verb}`: {e}",
                service.file
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{}\nactions found: {:?}",
        problems.join("\n"),
        actions.keys().collect::<Vec<_>>()
    );
}

// ---------------------------------------------------------------------------------------
// 8. protocol settings per VHID (vhids.vhid)

/// Where carpd reads its per-VHID settings: `<OPNsense><carpd><vhids><vhid uuid=…>`
/// (src/config/reader.rs), below the model's mount //OPNsense/carpd.
const VHIDS_PATH: &str = "vhids.vhid";

/// The leaves of one `<vhid>` that carpd reads (src/config/validate.rs, vhid_settings).
const VHID_FIELDS: &[&str] = &[
    "vip", "protocol", "priority", "interval", "preempt", "accept",
];

/// `<protocol>`'s values carpd knows; anything else is an error.
const VHID_PROTOCOLS: &[&str] = &["carp", "vrrp3"];

/// The key the grid's dialog and SettingsController's *Base calls use for one entry.
const VHID_KEY: &str = "vhid";

const DIALOG_VHID: &str =
    "plugin/net/carpd/src/opnsense/mvc/app/controllers/OPNsense/Carpd/forms/dialogVhid.xml";
const INDEX_VOLT: &str = "plugin/net/carpd/src/opnsense/mvc/app/views/OPNsense/Carpd/index.volt";

fn version(v: &str) -> Vec<u32> {
    v.split('.').map(|p| p.parse().unwrap_or(0)).collect()
}

/// The fields of the vhids.vhid ArrayField: name → element.
fn vhid_items(model: &Element) -> BTreeMap<String, &Element> {
    let items = model
        .child("items")
        .unwrap_or_else(|| panic!("{MODEL_XML}: no <items>"));
    let fields = model_fields(items);
    let array = fields
        .get(VHIDS_PATH)
        .unwrap_or_else(|| panic!("{MODEL_XML}: no <vhids><vhid type=\"ArrayField\">"));
    assert_eq!(
        array.attr("type"),
        Some("ArrayField"),
        "{MODEL_XML}:{}: vhids.vhid must be an ArrayField (carpd reads several <vhid uuid=…>)",
        array.line
    );
    array
        .children
        .iter()
        .filter(|c| c.attr("type").is_some())
        .map(|c| (c.name.clone(), c))
        .collect()
}

#[test]
fn model_declares_the_vhid_settings_carpd_reads() {
    let model = xml(MODEL_XML);
    let fields = vhid_items(&model);
    let mut problems = Vec::new();

    let names: BTreeSet<&str> = fields.keys().map(String::as_str).collect();
    let wanted: BTreeSet<&str> = VHID_FIELDS.iter().copied().collect();
    if names != wanted {
        problems.push(format!(
            "{MODEL_XML}: vhids.vhid has the fields {names:?}; carpd reads exactly {wanted:?}"
        ));
    }

    let check = |name: &str, ty: &str, problems: &mut Vec<String>| -> Option<&Element> {
        let f = fields.get(name)?;
        if f.attr("type") != Some(ty) {
            problems.push(format!(
                "{MODEL_XML}:{}: vhids.vhid.{name} is a {:?}, expected {ty}",
                f.line,
                f.attr("type")
            ));
        }
        Some(f)
    };
    let expect = |f: &Element, tag: &str, want: Option<&str>, problems: &mut Vec<String>| {
        let got = f.text_of(tag);
        if got.as_deref() != want {
            problems.push(format!(
                "{MODEL_XML}:{}: vhids.vhid.{}: <{tag}> is {got:?}, expected {want:?}",
                f.line, f.name
            ));
        }
    };

    if let Some(vip) = check("vip", "ModelRelationField", &mut problems) {
        expect(vip, "Required", Some("Y"), &mut problems);
        let sources: Vec<&Element> = vip
            .child("Model")
            .map_or(Vec::new(), |m| m.children.iter().collect());
        let to_carp_vips = sources.iter().any(|s| {
            s.text_of("source").as_deref() == Some("OPNsense.Interfaces.Vip")
                && s.text_of("items").as_deref() == Some("vip")
                && s.child("filters")
                    .and_then(|f| f.text_of("mode"))
                    .as_deref()
                    == Some("/^carp$/")
        });
        if sources.len() != 1 || !to_carp_vips {
            problems.push(format!(
                "{MODEL_XML}:{}: vhids.vhid.vip must relate to core's VIPs (OPNsense.Interfaces.Vip, \
                 items vip) filtered on <mode>/^carp$/</mode>, and nothing else",
                vip.line
            ));
        }
        // One entry per CARP VIP (carpd: "keep one <vhid> entry per CARP VIP").
        let unique = vip.child("Constraints").is_some_and(|c| {
            c.children
                .iter()
                .any(|k| k.text_of("type").as_deref() == Some("UniqueConstraint"))
        });
        if !unique {
            problems.push(format!(
                "{MODEL_XML}:{}: vhids.vhid.vip needs a UniqueConstraint: carpd refuses two entries for one VIP",
                vip.line
            ));
        }
    }
    if let Some(protocol) = check("protocol", "OptionField", &mut problems) {
        let options: Vec<&str> = protocol.child("OptionValues").map_or(Vec::new(), |o| {
            o.children.iter().map(|c| c.name.as_str()).collect()
        });
        if options != VHID_PROTOCOLS {
            problems.push(format!(
                "{MODEL_XML}:{}: vhids.vhid.protocol offers {options:?}; carpd knows exactly {VHID_PROTOCOLS:?}",
                protocol.line
            ));
        }
        expect(protocol, "Default", Some("carp"), &mut problems);
        expect(protocol, "Required", Some("Y"), &mut problems);
    }
    if let Some(priority) = check("priority", "IntegerField", &mut problems) {
        // Empty means 254 − advskew: no default, not required.
        expect(priority, "Default", None, &mut problems);
        if priority.text_of("Required").as_deref() == Some("Y") {
            problems.push(format!(
                "{MODEL_XML}:{}: vhids.vhid.priority must be optional (empty: 254 - advskew)",
                priority.line
            ));
        }
        expect(priority, "MinimumValue", Some("1"), &mut problems);
        expect(priority, "MaximumValue", Some("255"), &mut problems);
    }
    if let Some(interval) = check("interval", "IntegerField", &mut problems) {
        expect(interval, "Default", Some("100"), &mut problems);
        expect(interval, "MinimumValue", Some("1"), &mut problems);
        expect(interval, "MaximumValue", Some("4095"), &mut problems);
    }
    for name in ["preempt", "accept"] {
        if let Some(f) = check(name, "BooleanField", &mut problems) {
            expect(f, "Default", Some("1"), &mut problems);
        }
    }

    // vhids arrived in 1.1.0. A version bump without a Migrations/ class runs core's default
    // BaseModelMigration (BaseModel::runMigrations); a migration named above the model's
    // version would never run.
    let v = model.text_of("version").unwrap_or_default();
    if version(&v) < version("1.1.0") {
        problems.push(format!(
            "{MODEL_XML}: <version> {v}: vhids needs 1.1.0 or later"
        ));
    }
    let migrations = format!("{MVC}/models/OPNsense/Carpd/Migrations");
    if root().join(&migrations).is_dir() {
        for m in files(&migrations, ".php") {
            let name = m.rsplit('/').next().unwrap().trim_end_matches(".php");
            let mig = name.trim_start_matches('M').replace('_', ".");
            if !name.starts_with('M') || version(&mig) > version(&v) {
                problems.push(format!(
                    "{m}: a migration M<major>_<minor>_<patch> up to the model version {v}"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// What the model offers is what carpd reads: each field and protocol name is a string carpd's
/// config code uses, and every `<vhid>` in the shipped examples fits the model.
#[test]
fn vhid_settings_match_carpds_reader_and_examples() {
    let mut problems = Vec::new();
    let config_src: String = files("src/config", ".rs").iter().map(|f| read(f)).collect();
    for name in VHID_FIELDS.iter().chain(VHID_PROTOCOLS) {
        if !config_src.contains(&format!("\"{name}\"")) {
            problems.push(format!(
                "src/config/ never names \"{name}\": the model and carpd's reader disagree"
            ));
        }
    }
    for tag in ["\"vhids\"", "\"vhid\"", "\"carpd\""] {
        if !read("src/config/reader.rs").contains(tag) {
            problems.push(format!(
                "src/config/reader.rs does not read <{}>",
                tag.trim_matches('"')
            ));
        }
    }

    let model = xml(MODEL_XML);
    let fields = vhid_items(&model);
    let examples = if root().join("examples").is_dir() {
        files("examples", ".xml")
    } else {
        Vec::new()
    };
    for ex in &examples {
        let Ok(doc) = parse_xml(ex) else { continue };
        let entries = doc
            .child("OPNsense")
            .and_then(|o| o.child("carpd"))
            .and_then(|c| c.child("vhids"))
            .map_or(Vec::new(), |v| {
                v.children.iter().filter(|c| c.name == "vhid").collect()
            });
        for entry in entries {
            let at = format!("{ex}:{}", entry.line);
            for leaf in &entry.children {
                let value = leaf.text.trim();
                let Some(f) = fields.get(&leaf.name) else {
                    problems.push(format!(
                        "{at}: <{}> is not a field of the model's vhids.vhid",
                        leaf.name
                    ));
                    continue;
                };
                let fits = match f.attr("type") {
                    Some("IntegerField") => value.parse::<u32>().is_ok_and(|n| {
                        let bound = |t: &str| f.text_of(t).and_then(|b| b.parse::<u32>().ok());
                        bound("MinimumValue").is_none_or(|lo| n >= lo)
                            && bound("MaximumValue").is_none_or(|hi| n <= hi)
                    }),
                    Some("BooleanField") => value == "0" || value == "1",
                    Some("OptionField") => f
                        .child("OptionValues")
                        .is_some_and(|o| o.children.iter().any(|c| c.name == value)),
                    _ => true,
                };
                if !fits {
                    problems.push(format!(
                        "{at}: <{0}>{value}</{0}> is outside what the model's vhids.vhid.{0} accepts",
                        leaf.name
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// One grid of the settings page: an ArrayField the settings controller serves through core's
/// *Base methods, a dialog form that edits one entry, and the page's UIBootgrid.
struct Grid {
    /// `Vhid`: the actions searchVhid ... delVhid, the form dialogVhid, the view's formGridVhid.
    name: &'static str,
    /// `vhid`: getBase's result key, the head of the dialog's ids, the URLs' `_vhid`.
    key: &'static str,
    /// `vhids.vhid`: the ArrayField below the model's <items>.
    path: &'static str,
    /// The fields of one entry.
    fields: &'static [&'static str],
}

impl Grid {
    fn dialog(&self) -> String {
        format!("{CONTROLLERS}/forms/dialog{}.xml", self.name)
    }
}

const VHID_GRID: Grid = Grid {
    name: "Vhid",
    key: VHID_KEY,
    path: VHIDS_PATH,
    fields: VHID_FIELDS,
};

/// SettingsController's search/get/add/set/del actions of a grid call core's *Base methods on
/// its ArrayField, and the search returns every column of the grid.
fn grid_controller_problems(g: &Grid) -> Vec<String> {
    let settings = PhpClass::load(SETTINGS_PHP);
    let mut problems = Vec::new();
    let (key, path) = (g.key, g.path);
    // (action, base method, leading string arguments, takes a uuid)
    let expected: [(String, &str, &[&str], bool); 5] = [
        (format!("search{}", g.name), "searchBase", &[path], false),
        (format!("get{}", g.name), "getBase", &[key, path], true),
        (format!("add{}", g.name), "addBase", &[key, path], false),
        (format!("set{}", g.name), "setBase", &[key, path], true),
        (format!("del{}", g.name), "delBase", &[path], true),
    ];
    for (action, base, args, uuid) in expected {
        let wanted = format!("{action}Action");
        let Some(m) = settings.methods.iter().find(|m| m.name == wanted) else {
            problems.push(format!("{SETTINGS_PHP}: no public function {wanted}()"));
            continue;
        };
        if m.takes_params != uuid {
            problems.push(format!(
                "{SETTINGS_PHP}:{}: {wanted}() {} a uuid parameter",
                m.line,
                if uuid { "needs" } else { "takes no" }
            ));
        }
        let calls = php_calls(&m.body, base);
        let Some((got, _)) = calls.first() else {
            problems.push(format!(
                "{SETTINGS_PHP}:{}: {wanted}() does not call $this->{base}()",
                m.line
            ));
            continue;
        };
        let leading: Vec<Arg> = args.iter().map(|a| Arg::Str(a.to_string())).collect();
        if got.len() < leading.len() || got[..leading.len()] != leading[..] {
            problems.push(format!(
                "{SETTINGS_PHP}:{}: {wanted}() calls {base}({got:?}), expected {base}({args:?}, ...)",
                m.line
            ));
        }
        if base == "searchBase" {
            // An explicit column list names fields of the ArrayField and every grid column.
            if let Some(Arg::List(cols)) = got.get(1) {
                let dialog = g.dialog();
                for c in cols {
                    if !g.fields.contains(&c.as_str()) {
                        problems.push(format!(
                            "{SETTINGS_PHP}:{}: searchBase returns `{c}`, not a field of {path}",
                            m.line
                        ));
                    }
                }
                for c in &grid_columns(&dialog) {
                    if !cols.contains(c) {
                        problems.push(format!(
                            "{SETTINGS_PHP}:{}: the grid shows `{c}` ({dialog}), searchBase does not return it",
                            m.line
                        ));
                    }
                }
            }
        }
    }
    for action in ["get", "set"] {
        if settings.action(action).is_none() {
            problems.push(format!(
                "{SETTINGS_PHP}: {action}Action (the general form's) is gone"
            ));
        }
    }
    problems
}

#[test]
fn settings_controller_serves_the_vhid_grid_through_the_base_methods() {
    let problems = grid_controller_problems(&VHID_GRID);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A grid's dialog edits each field of the ArrayField once, under the key getBase fills it by.
fn dialog_id_problems(g: &Grid) -> Vec<String> {
    let dialog = g.dialog();
    let mut problems = Vec::new();
    let ids: BTreeSet<String> = xml(&dialog)
        .children
        .iter()
        .filter(|f| f.name == "field")
        .filter_map(|f| f.text_of("id"))
        .collect();
    let wanted: BTreeSet<String> = g.fields.iter().map(|f| format!("{}.{f}", g.key)).collect();
    if ids != wanted {
        problems.push(format!(
            "{dialog}: the field ids are {ids:?}, expected {wanted:?}"
        ));
    }
    if grid_keys().get(g.key).map(String::as_str) != Some(g.path) {
        problems.push(format!(
            "{SETTINGS_PHP}: no getBase('{}', '{}', ...), which fills {dialog}",
            g.key, g.path
        ));
    }
    problems
}

/// The grid's columns getFormGrid builds from a dialog form: the last part of each id, unless
/// its <grid_view> says <ignore>.
fn grid_columns(form: &str) -> Vec<String> {
    xml(form)
        .children
        .iter()
        .filter(|f| f.name == "field")
        .filter(|f| {
            f.child("grid_view")
                .and_then(|g| g.text_of("ignore"))
                .is_none_or(|i| i == "false")
        })
        .filter_map(|f| f.text_of("id"))
        .map(|id| id.rsplit('.').next().unwrap_or("").to_string())
        .collect()
}

#[test]
fn vhid_dialog_edits_every_field() {
    let root = xml(DIALOG_VHID);
    let mut problems = dialog_id_problems(&VHID_GRID);
    let by_id: BTreeMap<String, &Element> = root
        .children
        .iter()
        .filter(|f| f.name == "field")
        .filter_map(|f| f.text_of("id").map(|id| (id, f)))
        .collect();
    // What the admin must know to get an HA pair right.
    let help = |id: &str| {
        by_id
            .get(&format!("{VHID_KEY}.{id}"))
            .and_then(|f| f.text_of("help"))
            .unwrap_or_default()
    };
    let priority = help("priority");
    for needed in [
        "254 minus the virtual IP's advskew",
        "Leave it empty on an HA pair",
        "adds 100",
    ] {
        if !priority.contains(needed) {
            problems.push(format!(
                "{DIALOG_VHID}: vhid.priority's help does not say `{needed}`"
            ));
        }
    }
    if !help("accept").contains("carpd needs it") {
        problems.push(format!(
            "{DIALOG_VHID}: vhid.accept's help does not say that carpd needs it on"
        ));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The settings page draws a grid from its dialog form and points it at the grid's API.
fn grid_view_problems(g: &Grid) -> Vec<String> {
    let view = read(INDEX_VOLT);
    let mut problems = Vec::new();
    let (dialog_var, grid_var) = (
        format!("formDialog{}", g.name),
        format!("formGrid{}", g.name),
    );
    let form = format!("dialog{}", g.name);

    let index = PhpClass::load(&format!("{CONTROLLERS}/IndexController.php"));
    let action = index.methods.iter().find(|m| m.name == "indexAction");
    let body = action.map_or("", |m| m.body.as_str());
    for (var, func) in [(&dialog_var, "getForm"), (&grid_var, "getFormGrid")] {
        let assigned = body.lines().any(|l| {
            l.contains(&format!("$this->view->{var} = $this->{func}("))
                && php_calls(l, func)
                    .first()
                    .and_then(|(a, _)| a.first().cloned())
                    == Some(Arg::Str(form.clone()))
        });
        if !assigned {
            problems.push(format!(
                "{CONTROLLERS}/IndexController.php: indexAction() does not set $this->view->{var} = \
                 $this->{func}('{form}'...)"
            ));
        }
    }
    for needed in [
        format!("partial('layout_partials/base_bootgrid_table', {grid_var})"),
        format!("'fields': {dialog_var}"),
        format!("'id': {grid_var}['edit_dialog_id']"),
    ] {
        if !view.contains(&needed) {
            problems.push(format!("{INDEX_VOLT}: does not contain `{needed}`"));
        }
    }

    // $("#{{ formGridVhid['table_id'] }}").UIBootgrid({ key: 'url', ... })
    let grids: Vec<usize> = view.match_indices(".UIBootgrid(").map(|(i, _)| i).collect();
    let at = grids.iter().copied().find(|&i| {
        let line_start = view[..i].rfind('\n').map_or(0, |n| n + 1);
        view[line_start..i].contains(&format!("{grid_var}['table_id']"))
    });
    let Some(at) = at else {
        problems.push(format!(
            "{INDEX_VOLT}: no $(\"#{{{{ {grid_var}['table_id'] }}}}\").UIBootgrid({{...}})"
        ));
        return problems;
    };
    let rest = &view[at..];
    let block = &rest[..rest.find("});").unwrap_or(rest.len())];
    let urls: BTreeMap<String, String> = block
        .lines()
        .filter_map(|l| {
            let (k, v) = l.trim().split_once(':')?;
            Some((
                k.trim().to_string(),
                unquote(v.trim().trim_end_matches(','))?,
            ))
        })
        .collect();
    let key = g.key;
    let wanted: BTreeMap<String, String> = [
        ("search", format!("/api/carpd/settings/search_{key}")),
        ("get", format!("/api/carpd/settings/get_{key}/")),
        ("set", format!("/api/carpd/settings/set_{key}/")),
        ("add", format!("/api/carpd/settings/add_{key}/")),
        ("del", format!("/api/carpd/settings/del_{key}/")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    if urls != wanted {
        problems.push(format!(
            "{INDEX_VOLT}:{}: the {key} grid's URLs are {urls:?}, expected {wanted:?} \
             (UIBootgrid appends the uuid to get/set/del)",
            line_at(&view, at)
        ));
    }
    problems
}

/// The settings page draws the grid from the dialog form and points it at the vhid API.
#[test]
fn vhid_grid_points_at_the_vhid_api() {
    let mut problems = grid_view_problems(&VHID_GRID);
    let needed = "partial('layout_partials/base_apply_button', {'data_endpoint': '/api/carpd/service/reconfigure'";
    if !read(INDEX_VOLT).contains(needed) {
        problems.push(format!("{INDEX_VOLT}: does not contain `{needed}`"));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// ---------------------------------------------------------------------------------------
// 9. carpd's general settings and tracked checks (general.*, checks.check)

/// The plugin's own leaves of `<general>`: carpd skips them (src/config/validate.rs,
/// carpd_settings: "not carpd's to read").
const GENERAL_PLUGIN_FIELDS: &[&str] = &["enabled", "hook_timeout"];

/// The leaves of `<OPNsense><carpd><general>` carpd reads (carpd_settings).
const GENERAL_CARPD_FIELDS: &[&str] = &[
    "startup_delay",
    "ready_command",
    "ready_deadline",
    "preempt_delay",
    "announce_interval",
];

/// Where carpd reads its checks: `<OPNsense><carpd><checks><check uuid=…>` (reader.rs).
const CHECKS_PATH: &str = "checks.check";

/// The leaves of one `<check>` carpd reads (src/config/validate.rs, checks and check_kind).
const CHECK_FIELDS: &[&str] = &[
    "name",
    "type",
    "interface",
    "command",
    "path",
    "process",
    "interval",
    "timeout",
    "rise",
    "fall",
    "weight",
    "fault",
    "vhids",
];

const CHECK_GRID: Grid = Grid {
    name: "Check",
    key: "check",
    path: CHECKS_PATH,
    fields: CHECK_FIELDS,
};

const GENERAL_XML: &str =
    "plugin/net/carpd/src/opnsense/mvc/app/controllers/OPNsense/Carpd/forms/general.xml";
const CARPD_PHP: &str = "plugin/net/carpd/src/opnsense/mvc/app/models/OPNsense/Carpd/Carpd.php";
const VALIDATE_RS: &str = "src/config/validate.rs";

/// The fields of one container or ArrayField of the model, in document order.
fn model_leaves<'a>(model: &'a Element, path: &str) -> Vec<&'a Element> {
    let items = model
        .child("items")
        .unwrap_or_else(|| panic!("{MODEL_XML}: no <items>"));
    let mut el = items;
    for part in path.split('.') {
        el = el
            .child(part)
            .unwrap_or_else(|| panic!("{MODEL_XML}: no <{part}> on the way to {path}"));
    }
    el.children
        .iter()
        .filter(|c| c.attr("type").is_some())
        .collect()
}

/// carpd's check types and the field each uses: the pairs of `const CHECK_TYPES` in
/// src/config/validate.rs (`("link", "interface"), ...`).
fn carpd_check_types() -> Vec<(String, String)> {
    let src = read(VALIDATE_RS);
    let start = src
        .find("const CHECK_TYPES")
        .unwrap_or_else(|| panic!("{VALIDATE_RS}: no const CHECK_TYPES"));
    let body = &src[start..];
    let body = &body[body.find('=').unwrap_or(0)..body.find("];").unwrap_or(body.len())];
    let quoted: Vec<String> = body
        .split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect();
    assert!(
        !quoted.is_empty() && quoted.len().is_multiple_of(2),
        "{VALIDATE_RS}: cannot read CHECK_TYPES' (type, field) pairs from {body:?}"
    );
    quoted
        .chunks(2)
        .map(|p| (p[0].clone(), p[1].clone()))
        .collect()
}

/// Runs `code` (PHP, braced namespaces) with Carpd.php loaded on stubs of the framework
/// classes it names; one output line per result.
fn php_with_carpd_model(code: &str, args: &[&str]) -> Vec<String> {
    require_php();
    let script = format!(
        "namespace OPNsense\\Base {{ class BaseModel {{}} \
         class ApiMutableModelControllerBase {{ public $request; }} }}\n\
         namespace OPNsense\\Base\\Messages {{ class Message {{}} }}\n\
         namespace {{\n\
         if (!function_exists('gettext')) {{ function gettext($s) {{ return $s; }} }}\n\
         require $argv[1];\n\
         {code}\n\
         }}"
    );
    let o = Command::new("php")
        .arg("-r")
        .arg(&script)
        .arg("--")
        .arg(root().join(CARPD_PHP))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run php: {e}"));
    assert!(
        o.status.success(),
        "php with {CARPD_PHP} failed:\n{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// The model offers exactly the general settings and check fields carpd reads, each name one
/// carpd's config code uses, and the check types are carpd's.
#[test]
fn model_declares_the_general_settings_and_checks_carpd_reads() {
    let model = xml(MODEL_XML);
    let mut problems = Vec::new();
    let config_src: String = files("src/config", ".rs").iter().map(|f| read(f)).collect();

    let general: Vec<&str> = model_leaves(&model, "general")
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    let wanted: Vec<&str> = GENERAL_PLUGIN_FIELDS
        .iter()
        .chain(GENERAL_CARPD_FIELDS)
        .copied()
        .collect();
    if general != wanted {
        problems.push(format!(
            "{MODEL_XML}: general has the fields {general:?}; expected the plugin's {GENERAL_PLUGIN_FIELDS:?} \
             and carpd's {GENERAL_CARPD_FIELDS:?}"
        ));
    }
    let checks = model_fields(model.child("items").unwrap());
    match checks.get(CHECKS_PATH) {
        Some(a) if a.attr("type") == Some("ArrayField") => {}
        _ => problems.push(format!(
            "{MODEL_XML}: no <checks><check type=\"ArrayField\"> (carpd reads several <check uuid=…>)"
        )),
    }
    let check: Vec<&str> = model_leaves(&model, CHECKS_PATH)
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    if check != CHECK_FIELDS {
        problems.push(format!(
            "{MODEL_XML}: checks.check has the fields {check:?}; carpd reads exactly {CHECK_FIELDS:?}"
        ));
    }
    for name in GENERAL_CARPD_FIELDS.iter().chain(CHECK_FIELDS) {
        if !config_src.contains(&format!("\"{name}\"")) {
            problems.push(format!(
                "src/config/ never names \"{name}\": the model and carpd's reader disagree"
            ));
        }
    }
    for tag in ["\"general\"", "\"checks\"", "\"check\""] {
        if !read("src/config/reader.rs").contains(tag) {
            problems.push(format!(
                "src/config/reader.rs does not read <{}>",
                tag.trim_matches('"')
            ));
        }
    }

    // The type's options are carpd's types, and the field each type uses is a check field.
    let types = carpd_check_types();
    let type_field = model_leaves(&model, CHECKS_PATH)
        .into_iter()
        .find(|f| f.name == "type");
    let options: Vec<String> = type_field
        .and_then(|f| f.child("OptionValues"))
        .map_or(Vec::new(), |o| {
            o.children.iter().map(|c| c.name.clone()).collect()
        });
    let carpd_types: Vec<String> = types.iter().map(|(t, _)| t.clone()).collect();
    if options != carpd_types {
        problems.push(format!(
            "{MODEL_XML}: checks.check.type offers {options:?}; carpd knows exactly {carpd_types:?}"
        ));
    }
    for (t, field) in &types {
        if !CHECK_FIELDS.contains(&field.as_str()) {
            problems.push(format!(
                "{VALIDATE_RS}: a {t} check uses <{field}>, which the model does not have"
            ));
        }
    }

    // Version: checks and the new general fields arrived in 1.2.0 (default migration).
    let v = model.text_of("version").unwrap_or_default();
    if version(&v) < version("1.2.0") {
        problems.push(format!(
            "{MODEL_XML}: <version> {v}: the checks and carpd's general settings need 1.2.0 or later"
        ));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Each field's type, default, requiredness and range, as carpd reads it.
#[test]
fn general_and_check_fields_have_carpds_types_defaults_and_ranges() {
    let model = xml(MODEL_XML);
    let mut problems = Vec::new();
    // (path, type, <Default>, <Required>, <MinimumValue>, <MaximumValue>)
    type Want = (
        &'static str,
        &'static str,
        Option<&'static str>,
        &'static str,
        Option<&'static str>,
        Option<&'static str>,
    );
    let wanted: &[Want] = &[
        (
            "general.startup_delay",
            "IntegerField",
            Some("0"),
            "Y",
            Some("0"),
            Some("3600"),
        ),
        ("general.ready_command", "TextField", None, "N", None, None),
        (
            "general.ready_deadline",
            "IntegerField",
            Some("300"),
            "Y",
            Some("1"),
            Some("86400"),
        ),
        (
            "general.preempt_delay",
            "IntegerField",
            Some("0"),
            "Y",
            Some("0"),
            Some("3600"),
        ),
        (
            "general.announce_interval",
            "IntegerField",
            Some("0"),
            "Y",
            Some("0"),
            Some("3600"),
        ),
        ("checks.check.name", "TextField", None, "Y", None, None),
        (
            "checks.check.type",
            "OptionField",
            Some("link"),
            "Y",
            None,
            None,
        ),
        ("checks.check.interface", "TextField", None, "N", None, None),
        ("checks.check.command", "TextField", None, "N", None, None),
        ("checks.check.path", "TextField", None, "N", None, None),
        ("checks.check.process", "TextField", None, "N", None, None),
        (
            "checks.check.interval",
            "IntegerField",
            Some("2"),
            "Y",
            Some("1"),
            Some("3600"),
        ),
        // empty: the interval
        (
            "checks.check.timeout",
            "IntegerField",
            None,
            "N",
            Some("1"),
            Some("3600"),
        ),
        (
            "checks.check.rise",
            "IntegerField",
            Some("2"),
            "Y",
            Some("1"),
            Some("100"),
        ),
        (
            "checks.check.fall",
            "IntegerField",
            Some("2"),
            "Y",
            Some("1"),
            Some("100"),
        ),
        // empty: 240; carpd refuses a weight on a fault check, so no <Default>
        (
            "checks.check.weight",
            "IntegerField",
            None,
            "N",
            Some("1"),
            Some("1048576"),
        ),
        (
            "checks.check.fault",
            "BooleanField",
            Some("0"),
            "Y",
            None,
            None,
        ),
        ("checks.check.vhids", "TextField", None, "N", None, None),
    ];
    let fields = model_fields(model.child("items").unwrap());
    for (path, ty, default, required, min, max) in wanted {
        let Some(f) = fields.get(*path) else {
            problems.push(format!("{MODEL_XML}: no field {path}"));
            continue;
        };
        let at = format!("{MODEL_XML}:{}: {path}", f.line);
        if f.attr("type") != Some(ty) {
            problems.push(format!("{at} is a {:?}, expected {ty}", f.attr("type")));
        }
        for (tag, want) in [
            ("Default", *default),
            ("MinimumValue", *min),
            ("MaximumValue", *max),
        ] {
            let got = f.text_of(tag);
            if got.as_deref() != want {
                problems.push(format!("{at}: <{tag}> is {got:?}, expected {want:?}"));
            }
        }
        if f.text_of("Required").as_deref().unwrap_or("N") != *required {
            problems.push(format!("{at}: <Required> should be {required}"));
        }
        if f.text_of("ValidationMessage").is_none_or(|m| m.is_empty()) && *ty != "BooleanField" {
            problems.push(format!("{at}: no <ValidationMessage>"));
        }
    }
    // One name per check (carpd: "check name ... is already used").
    let unique = fields.get("checks.check.name").is_some_and(|f| {
        f.child("Constraints").is_some_and(|c| {
            c.children
                .iter()
                .any(|k| k.text_of("type").as_deref() == Some("UniqueConstraint"))
        })
    });
    if !unique {
        problems.push(format!(
            "{MODEL_XML}: checks.check.name needs a UniqueConstraint: carpd refuses two checks of one name"
        ));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The general form edits every general setting (carpd's and the plugin's).
#[test]
fn general_form_edits_every_general_setting() {
    let ids: BTreeSet<String> = xml(GENERAL_XML)
        .children
        .iter()
        .filter(|f| f.name == "field")
        .filter_map(|f| f.text_of("id"))
        .filter(|id| id.starts_with("carpd.general."))
        .collect();
    let wanted: BTreeSet<String> = GENERAL_PLUGIN_FIELDS
        .iter()
        .chain(GENERAL_CARPD_FIELDS)
        .map(|f| format!("carpd.general.{f}"))
        .collect();
    assert_eq!(ids, wanted, "{GENERAL_XML}: the general.* fields it edits");
}

#[test]
fn settings_controller_serves_the_check_grid_through_the_base_methods() {
    let mut problems = grid_controller_problems(&CHECK_GRID);
    // add and set clear what the check's type and effect do not use (checkOverlay).
    let settings = PhpClass::load(SETTINGS_PHP);
    for (action, base, at) in [("addCheck", "addBase", 2), ("setCheck", "setBase", 3)] {
        let Some(m) = settings
            .methods
            .iter()
            .find(|m| m.name == format!("{action}Action"))
        else {
            continue; // reported above
        };
        let overlay = php_calls(&m.body, base)
            .first()
            .and_then(|(args, _)| args.get(at).cloned());
        if overlay != Some(Arg::Other("$this->checkOverlay()".into())) {
            problems.push(format!(
                "{SETTINGS_PHP}:{}: {action}Action() does not pass $this->checkOverlay() as {base}'s overlay \
                 (got {overlay:?}): fields of other check types would stay in config.xml",
                m.line
            ));
        }
    }
    // What checkOverlay clears is run and fed to carpd in
    // carpd_takes_the_model_defaults_and_a_check_of_each_type.
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The dialog edits every check field; each type's own field carries the style the page
/// shows it by (check_type_<type>), weight and vhids the effect's.
#[test]
fn check_dialog_edits_every_field_and_shows_the_types_own() {
    let dialog = CHECK_GRID.dialog();
    let mut problems = dialog_id_problems(&CHECK_GRID);
    let styles: BTreeMap<String, BTreeSet<String>> = xml(&dialog)
        .children
        .iter()
        .filter(|f| f.name == "field")
        .filter_map(|f| {
            let id = f.text_of("id")?;
            let style = f.text_of("style").unwrap_or_default();
            Some((
                id.trim_start_matches("check.").to_string(),
                style.split_whitespace().map(str::to_string).collect(),
            ))
        })
        .collect();
    let types = carpd_check_types();
    for (t, field) in &types {
        let wanted: BTreeSet<String> = ["check_type".to_string(), format!("check_type_{t}")]
            .into_iter()
            .collect();
        if styles.get(field) != Some(&wanted) {
            problems.push(format!(
                "{dialog}: check.{field} has the styles {:?}, expected {wanted:?} (the page shows it for {t} checks only)",
                styles.get(field)
            ));
        }
    }
    for (field, style) in [
        ("weight", "check_effect_demote"),
        ("vhids", "check_effect_fault"),
    ] {
        if !styles.get(field).is_some_and(|s| s.contains(style)) {
            problems.push(format!("{dialog}: check.{field} lacks the style {style}"));
        }
    }
    let typed: BTreeSet<&str> = types.iter().map(|(_, f)| f.as_str()).collect();
    for (field, s) in &styles {
        if !typed.contains(field.as_str()) && s.iter().any(|c| c.starts_with("check_type")) {
            problems.push(format!(
                "{dialog}: check.{field} is no type's own field but has a check_type style"
            ));
        }
    }
    // The page toggles by those classes when the type or fault changes.
    let view = read(INDEX_VOLT);
    for needed in [
        "$(\"#check\\\\.type, #check\\\\.fault\").change(",
        "$(\".check_type\")",
        "'check_type_' + type",
        "$(\".check_effect_fault\")",
        "$(\".check_effect_demote\")",
    ] {
        if !view.contains(needed) {
            problems.push(format!("{INDEX_VOLT}: does not contain `{needed}`"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn check_grid_points_at_the_check_api() {
    let problems = grid_view_problems(&CHECK_GRID);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Carpd.php's type → field map (what checkOverlay clears and performValidation requires) is
/// carpd's CHECK_TYPES.
#[test]
fn model_class_knows_carpds_check_types() {
    let got = php_with_carpd_model(
        "foreach (\\OPNsense\\Carpd\\Carpd::CHECK_TYPE_FIELDS as $t => $f) { echo \"$t $f\\n\"; }",
        &[],
    );
    let wanted: Vec<String> = carpd_check_types()
        .iter()
        .map(|(t, f)| format!("{t} {f}"))
        .collect();
    assert_eq!(
        got, wanted,
        "{CARPD_PHP}: CHECK_TYPE_FIELDS vs {VALIDATE_RS}: CHECK_TYPES"
    );
}

// ---------------------------------------------------------------------------------------
// 9b. what the GUI can save, read by the built carpd

/// A finding of `carpd check`: severity (error, warning, note) and place.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Finding {
    severity: String,
    place: String,
    line: String,
}

/// One check entry as the GUI stores it: (leaf, value) in the model's order.
type Leaves = Vec<(String, String)>;

fn set(entry: &mut Leaves, name: &str, value: &str) {
    match entry.iter_mut().find(|(n, _)| n == name) {
        Some((_, v)) => *v = value.to_string(),
        None => panic!("{name} is not a field of the entry {entry:?}"),
    }
}

/// What a new entry holds: each field's <Default>, or empty.
fn model_defaults(model: &Element, path: &str) -> Leaves {
    model_leaves(model, path)
        .iter()
        .map(|f| (f.name.clone(), f.text_of("Default").unwrap_or_default()))
        .collect()
}

/// Saves `entries` as addCheck/setCheck do: runs SettingsController::checkOverlay (on stubs
/// of core's base class and request) with each entry posted as `check`, and sets the fields
/// it returns, as addBase/setBase apply their overlay.
fn apply_check_overlays(entries: &mut [Leaves]) {
    let posts: Vec<serde_json::Value> = entries
        .iter()
        .map(|e| {
            serde_json::Value::Object(
                e.iter()
                    .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                    .collect(),
            )
        })
        .collect();
    let code = "require $argv[2];\n\
         class CarpdTestRequest { public $post = []; \
         public function getPost($key) { return $this->post[$key] ?? null; } }\n\
         $controller = new \\OPNsense\\Carpd\\Api\\SettingsController();\n\
         $overlay = new ReflectionMethod($controller, 'checkOverlay');\n\
         $overlay->setAccessible(true);\n\
         foreach (json_decode($argv[3], true) as $post) {\n\
         $controller->request = new CarpdTestRequest();\n\
         $controller->request->post = ['check' => $post];\n\
         echo json_encode((object)$overlay->invoke($controller)), \"\\n\";\n\
         }";
    let settings = root().join(SETTINGS_PHP).to_string_lossy().into_owned();
    let posts = serde_json::Value::Array(posts).to_string();
    let out = php_with_carpd_model(code, &[&settings, &posts]);
    assert_eq!(out.len(), entries.len(), "checkOverlay printed {out:?}");
    for (entry, line) in entries.iter_mut().zip(&out) {
        let overlay: BTreeMap<String, String> = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("checkOverlay returned {line}: {e}"));
        for (field, value) in overlay {
            set(entry, &field, &value);
        }
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn leaves_xml(entry: &Leaves, indent: &str) -> String {
    entry
        .iter()
        .map(|(n, v)| {
            if v.is_empty() {
                format!("{indent}<{n}/>\n")
            } else {
                format!("{indent}<{n}>{}</{n}>\n", escape(v))
            }
        })
        .collect()
}

/// tests/fixtures/config/opnsense-current.xml (CARP VHIDs 1 and 2) with `<OPNsense><carpd>`
/// holding `general` and the checks (uuid, leaves) as OPNsense serializes the model.
fn config_with(general: &Leaves, checks: &[(String, Leaves)]) -> String {
    let base = read("tests/fixtures/config/opnsense-current.xml");
    let mut section = String::from("  <OPNsense>\n    <carpd version=\"1.2.0\">\n");
    section.push_str("      <general>\n");
    section.push_str(&leaves_xml(general, "        "));
    section.push_str("      </general>\n      <vhids/>\n      <checks>\n");
    for (uuid, leaves) in checks {
        section.push_str(&format!("        <check uuid=\"{uuid}\">\n"));
        section.push_str(&leaves_xml(leaves, "          "));
        section.push_str("        </check>\n");
    }
    section.push_str("      </checks>\n    </carpd>\n  </OPNsense>\n");
    let end = base
        .rfind("</opnsense>")
        .expect("the fixture ends in </opnsense>");
    format!("{}{section}{}", &base[..end], &base[end..])
}

/// Runs the built `carpd check --config` on `text`; its exit code and findings.
fn carpd_check(label: &str, text: &str) -> (Option<i32>, Vec<Finding>, String) {
    let path = std::env::temp_dir().join(format!(
        "carpd-plugin-gui-{}-{label}.xml",
        std::process::id()
    ));
    fs::write(&path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let o = Command::new(env!("CARGO_BIN_EXE_carpd"))
        .arg("--config")
        .arg(&path)
        .arg("check")
        .env_remove("CARPD_CONFIG")
        .output()
        .expect("run carpd check");
    let _ = fs::remove_file(&path);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let findings = out
        .lines()
        .filter_map(|l| {
            let (severity, rest) = l.split_once(": ")?;
            if !matches!(severity, "error" | "warning" | "note") {
                return None;
            }
            let place = rest.split(" (line ").next()?.to_string();
            Some(Finding {
                severity: severity.to_string(),
                place,
                line: l.to_string(),
            })
        })
        .collect();
    let all = format!("{out}{}", String::from_utf8_lossy(&o.stderr));
    (o.status.code(), findings, all)
}

fn check_place(uuid: &str, field: &str) -> String {
    format!("OPNsense/carpd/checks/check[uuid={uuid}]/{field}")
}

fn uuid(i: usize) -> String {
    format!("6f2c0000-0000-4000-8000-{i:012}")
}

/// carpd's findings about its own section.
fn carpd_findings(findings: &[Finding]) -> Vec<&Finding> {
    findings
        .iter()
        .filter(|f| f.place.starts_with("OPNsense/carpd"))
        .collect()
}

/// A configuration made of the model's defaults plus one check of each type (filled in as an
/// admin who tried every type would leave it, then cleared as the controller does) is one
/// carpd takes without a word.
#[test]
fn carpd_takes_the_model_defaults_and_a_check_of_each_type() {
    let model = xml(MODEL_XML);
    let general = model_defaults(&model, "general");
    let mut checks = Vec::new();
    // (name, type, fault, vhids)
    let samples = [
        ("uplink", "link", "0", ""),
        ("web:8080", "command", "0", ""),
        ("demotion.file", "file", "0", ""),
        ("sshd", "process", "0", ""),
        ("wan-fault", "link", "1", "1,2"),
        ("fault_all", "command", "1", ""),
    ];
    for (i, (name, t, fault, vhids)) in samples.iter().enumerate() {
        let mut e = model_defaults(&model, CHECKS_PATH);
        set(&mut e, "name", name);
        set(&mut e, "type", t);
        set(&mut e, "interface", "igb0");
        set(&mut e, "command", "/bin/sh -c 'exit 0'");
        set(&mut e, "path", "/var/run/carpd-demotion");
        set(&mut e, "process", "sshd");
        set(&mut e, "weight", "500");
        set(&mut e, "fault", fault);
        // a fault check keeps its sample; any other is cleared by the overlay
        set(&mut e, "vhids", if *fault == "1" { vhids } else { "1" });
        checks.push((uuid(i), e));
    }
    let mut entries: Vec<Leaves> = checks.iter().map(|(_, e)| e.clone()).collect();
    apply_check_overlays(&mut entries);
    for ((_, e), cleared) in checks.iter_mut().zip(entries) {
        *e = cleared;
    }
    // The defaults alone, then with the checks and a ready command.
    let (code, findings, out) = carpd_check("defaults", &config_with(&general, &[]));
    assert_eq!(code, Some(0), "carpd refuses the model's defaults:\n{out}");
    assert!(
        carpd_findings(&findings).is_empty(),
        "carpd comments on the model's defaults:\n{out}"
    );
    let mut with_command = general.clone();
    set(&mut with_command, "ready_command", "/bin/sh -c 'exit 0'");
    let (code, findings, out) = carpd_check("checks", &config_with(&with_command, &checks));
    assert_eq!(
        code,
        Some(0),
        "carpd refuses what the GUI saves:\n{out}\nchecks: {checks:?}"
    );
    assert!(
        carpd_findings(&findings).is_empty(),
        "carpd comments on what the GUI saves:\n{out}"
    );
}

/// The model's IntegerField and BooleanField bounds are carpd's: carpd takes every field at
/// its <MinimumValue> and <MaximumValue> and refuses each one just outside.
#[test]
fn model_ranges_are_carpds() {
    let model = xml(MODEL_XML);
    let bounded = |path: &str| -> Vec<(String, Option<u32>, Option<u32>)> {
        model_leaves(&model, path)
            .iter()
            .filter_map(|f| match f.attr("type") {
                Some("IntegerField") => {
                    let bound = |t: &str| f.text_of(t).and_then(|b| b.parse::<u32>().ok());
                    Some((f.name.clone(), bound("MinimumValue"), bound("MaximumValue")))
                }
                Some("BooleanField") => Some((f.name.clone(), Some(0), Some(1))),
                _ => None,
            })
            .collect()
    };
    let general_bounds = bounded("general");
    let check_bounds = bounded(CHECKS_PATH);
    // carpd's fields only: the plugin's are not carpd's to check.
    let general_bounds: Vec<_> = general_bounds
        .into_iter()
        .filter(|(n, _, _)| GENERAL_CARPD_FIELDS.contains(&n.as_str()))
        .collect();
    for (n, lo, hi) in general_bounds.iter().chain(&check_bounds) {
        assert!(
            lo.is_some() && hi.is_some(),
            "{MODEL_XML}: {n} needs <MinimumValue> and <MaximumValue>"
        );
    }
    let base_general = model_defaults(&model, "general");
    let base_check = |name: &str| {
        let mut e = model_defaults(&model, CHECKS_PATH);
        set(&mut e, "name", name);
        set(&mut e, "interface", "igb0");
        e
    };
    // A value per field from `pick(lo, hi)`; fault stays 0 so that weight counts.
    let build = |pick: &dyn Fn(u32, u32) -> Option<String>| -> (Leaves, Leaves) {
        let mut g = base_general.clone();
        for (n, lo, hi) in &general_bounds {
            if let Some(v) = pick(lo.unwrap(), hi.unwrap()) {
                set(&mut g, n, &v);
            }
        }
        let mut c = base_check("bounds");
        for (n, lo, hi) in &check_bounds {
            if n == "fault" {
                continue;
            }
            if let Some(v) = pick(lo.unwrap(), hi.unwrap()) {
                set(&mut c, n, &v);
            }
        }
        (g, c)
    };
    let mut problems = Vec::new();
    for (label, pick) in [
        (
            "min",
            &(|lo: u32, _| Some(lo.to_string())) as &dyn Fn(u32, u32) -> Option<String>,
        ),
        ("max", &|_, hi: u32| Some(hi.to_string())),
    ] {
        let (g, c) = build(pick);
        let mut fault = base_check("fault");
        set(&mut fault, "fault", if label == "min" { "0" } else { "1" });
        let (code, findings, out) =
            carpd_check(label, &config_with(&g, &[(uuid(1), c), (uuid(2), fault)]));
        if code != Some(0) || !carpd_findings(&findings).is_empty() {
            problems.push(format!(
                "every field at its model <{}>: carpd says\n{out}",
                if label == "min" {
                    "MinimumValue"
                } else {
                    "MaximumValue"
                }
            ));
        }
    }
    for (label, pick) in [
        (
            "below",
            &(|lo: u32, _| {
                Some(
                    lo.checked_sub(1)
                        .map_or("-1".to_string(), |v| v.to_string()),
                )
            }) as &dyn Fn(u32, u32) -> Option<String>,
        ),
        ("above", &|_, hi: u32| Some((u64::from(hi) + 1).to_string())),
    ] {
        let (g, c) = build(pick);
        let mut fault = base_check("fault");
        set(
            &mut fault,
            "fault",
            if label == "below" { "-1" } else { "2" },
        );
        let (code, findings, out) =
            carpd_check(label, &config_with(&g, &[(uuid(1), c), (uuid(2), fault)]));
        if code != Some(1) {
            problems.push(format!(
                "fields {label} the model's range: carpd exits {code:?}\n{out}"
            ));
        }
        let errors: BTreeSet<&str> = findings
            .iter()
            .filter(|f| f.severity == "error")
            .map(|f| f.place.as_str())
            .collect();
        let mut wanted: Vec<String> = general_bounds
            .iter()
            .map(|(n, _, _)| format!("OPNsense/carpd/general/{n}"))
            .collect();
        wanted.extend(
            check_bounds
                .iter()
                .filter(|(n, _, _)| n != "fault")
                .map(|(n, _, _)| check_place(&uuid(1), n)),
        );
        wanted.push(check_place(&uuid(2), "fault"));
        for w in &wanted {
            if !errors.contains(w.as_str()) {
                problems.push(format!(
                    "{w} {label} the model's range: carpd does not refuse it\n{out}"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The TextFields' masks (core's Regex validator: preg_match, whole value) accept what carpd
/// takes and refuse what it refuses, on samples at the edges; Carpd.php's command check
/// refuses the programs carpd refuses.
#[test]
fn model_masks_and_command_check_agree_with_carpd() {
    require_php();
    let model = xml(MODEL_XML);
    let masks: BTreeMap<String, String> = model_leaves(&model, CHECKS_PATH)
        .iter()
        .filter_map(|f| Some((f.name.clone(), f.text_of("Mask")?)))
        .collect();
    let long = |n: usize| "x".repeat(n);
    // (field, sample, carpd and the mask take it)
    let samples: Vec<(&str, String, bool)> = vec![
        ("name", "up".into(), true),
        ("name", "a:b.c-d_E9".into(), true),
        ("name", long(48), true),
        ("name", long(49), false),
        ("name", "bad name".into(), false),
        ("name", "a/b".into(), false),
        ("name", "ümlaut".into(), false),
        ("interface", "igb0".into(), true),
        ("interface", "vlan0.100".into(), true),
        ("interface", long(15), true),
        ("interface", long(16), false),
        ("interface", ".".into(), false),
        ("interface", "..".into(), false),
        ("interface", "a:b".into(), false),
        ("interface", "a/b".into(), false),
        ("interface", "a b".into(), false),
        ("path", "/var/run/carpd-demotion".into(), true),
        ("path", "relative/file".into(), false),
        ("process", "sshd".into(), true),
        ("process", "php-fpm".into(), true),
        ("process", long(32), true),
        ("process", long(33), false),
        ("process", "a/b".into(), false),
        ("process", "a b".into(), false),
        ("vhids", "1".into(), true),
        ("vhids", "2,1".into(), true),
        ("vhids", "0".into(), false),
        ("vhids", "256".into(), false),
        ("vhids", "1;2".into(), false),
    ];
    let type_of = |field: &str| match field {
        "interface" => "link",
        "path" => "file",
        "process" | "name" | "vhids" => "process",
        other => panic!("no sample type for {other}"),
    };

    // The masks, through PHP's preg_match as core's Regex validator runs it.
    let mut args: Vec<String> = Vec::new();
    for (field, sample, _) in &samples {
        let mask = masks
            .get(*field)
            .unwrap_or_else(|| panic!("{MODEL_XML}: checks.check.{field} has no <Mask>"));
        args.push(mask.clone());
        args.push(sample.clone());
    }
    require_php();
    let o = Command::new("php")
        .arg("-r")
        .arg(
            "for ($i = 1; $i < count($argv); $i += 2) { \
             echo (preg_match($argv[$i], $argv[$i + 1], $m) === 1 && $m[0] == $argv[$i + 1]) ? '1' : '0', \"\\n\"; }",
        )
        .arg("--")
        .args(&args)
        .output()
        .expect("run php");
    let verdicts: Vec<bool> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| l == "1")
        .collect();
    assert_eq!(
        verdicts.len(),
        samples.len(),
        "php: {}",
        String::from_utf8_lossy(&o.stderr)
    );

    // carpd, one check per sample.
    let mut checks = Vec::new();
    for (i, (field, sample, _)) in samples.iter().enumerate() {
        let mut e = model_defaults(&model, CHECKS_PATH);
        set(&mut e, "name", &format!("sample{i}"));
        set(&mut e, "type", type_of(field));
        set(&mut e, "process", "sshd");
        if *field == "vhids" {
            set(&mut e, "fault", "1");
        }
        set(&mut e, field, sample);
        checks.push((uuid(i), e));
    }
    let general = model_defaults(&model, "general");
    let (_, findings, out) = carpd_check("masks", &config_with(&general, &checks));

    let mut problems = Vec::new();
    for (i, (field, sample, ok)) in samples.iter().enumerate() {
        let place = check_place(&uuid(i), field);
        let refused = findings
            .iter()
            .any(|f| f.severity == "error" && f.place == place);
        let mask = &masks[*field];
        if verdicts[i] != *ok {
            problems.push(format!(
                "{MODEL_XML}: checks.check.{field} <Mask>{mask}</Mask> {} {sample:?}",
                if verdicts[i] { "accepts" } else { "refuses" }
            ));
        }
        if refused == *ok {
            problems.push(format!(
                "carpd {} <{field}>{sample:?}</{field}>, expected otherwise",
                if refused { "refuses" } else { "takes" }
            ));
        }
    }
    if !problems.is_empty() {
        problems.push(format!("carpd check said:\n{out}"));
    }

    // Carpd::commandProblem vs carpd's command_problem, on absolute programs.
    let not_executable = root().join("Cargo.toml").to_string_lossy().into_owned();
    let tmp = std::env::temp_dir().to_string_lossy().into_owned();
    let commands: Vec<(String, bool)> = vec![
        ("/bin/sh -c 'exit 0'".into(), true),
        ("true".into(), true),
        ("FOO=1 /no/such/program".into(), true),
        ("/no/such/program --flag".into(), false),
        (tmp, false),
        (not_executable, false),
    ];
    let args: Vec<&str> = commands.iter().map(|(c, _)| c.as_str()).collect();
    let php = php_with_carpd_model(
        "for ($i = 2; $i < count($argv); $i++) { \
         echo \\OPNsense\\Carpd\\Carpd::commandProblem($argv[$i]) === null ? 'ok' : 'refused', \"\\n\"; }",
        &args,
    );
    let mut command_checks = Vec::new();
    for (i, (command, _)) in commands.iter().enumerate() {
        let mut e = model_defaults(&model, CHECKS_PATH);
        set(&mut e, "name", &format!("command{i}"));
        set(&mut e, "type", "command");
        set(&mut e, "command", command);
        command_checks.push((uuid(i), e));
    }
    let (_, findings, out) = carpd_check("commands", &config_with(&general, &command_checks));
    for (i, (command, ok)) in commands.iter().enumerate() {
        let refused = findings
            .iter()
            .any(|f| f.severity == "error" && f.place == check_place(&uuid(i), "command"));
        if php.get(i).map(String::as_str) != Some(if *ok { "ok" } else { "refused" }) {
            problems.push(format!(
                "{CARPD_PHP}: commandProblem({command:?}) says {:?}, expected {}",
                php.get(i),
                if *ok { "ok" } else { "refused" }
            ));
        }
        if refused == *ok {
            problems.push(format!(
                "carpd {} the command {command:?}, expected otherwise\n{out}",
                if refused { "refuses" } else { "takes" }
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
