//! config.xml → validated [`Model`].
//!
//! Contract used by the rest of carpd (the reader and validator behind it live in sibling modules):
//! `load(path)` / `parse(bytes)` return the model plus warnings, or every problem at once.

pub mod draft;
pub mod import;
pub mod key;
pub mod model;
mod reader;
mod validate;

pub use model::*;

use std::path::PathBuf;

/// Default location of the configuration: OPNsense's and pfSense's own file on the firewalls,
/// and the file `carpd init` writes (and the Debian package's unit reads) on Linux, where no
/// firewall keeps one.
#[cfg(not(target_os = "linux"))]
pub const DEFAULT_CONFIG: &str = "/conf/config.xml";
#[cfg(target_os = "linux")]
pub const DEFAULT_CONFIG: &str = "/etc/carpd/config.xml";

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Note,
}

/// One finding, located in the file: `virtualip/vip[uuid=…]/vhid (line 42): … — what to do`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Path-like place in the document, e.g. `virtualip/vip[uuid=0b9d…]/vhid`.
    pub place: String,
    /// 1-based line of the element, when the reader knows it.
    pub line: Option<u32>,
    pub message: String,
    /// What the user should do about it.
    pub hint: String,
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        };
        write!(f, "{sev}: {}", self.place)?;
        if let Some(line) = self.line {
            write!(f, " (line {line})")?;
        }
        write!(f, ": {}", self.message)?;
        if !self.hint.is_empty() {
            write!(f, " — {}", self.hint)?;
        }
        Ok(())
    }
}

/// A usable model and what the user should still know about it.
#[derive(Clone, Debug)]
pub struct Loaded {
    pub model: Model,
    /// Warnings and notes (never errors).
    pub warnings: Vec<Diagnostic>,
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("malformed XML at line {line}, column {column}: {message}")]
    Xml {
        line: u32,
        column: u32,
        message: String,
    },
    #[error("{} error(s) in the configuration", errors.len())]
    Invalid {
        errors: Vec<Diagnostic>,
        warnings: Vec<Diagnostic>,
    },
}

/// Read and validate a config.xml file.
///
/// The file is streamed, not read whole: only the CARP-related sections are kept in memory.
pub fn load(path: &std::path::Path) -> Result<Loaded, LoadError> {
    finish(&read_raw(path)?)
}

/// The CARP sections of a config.xml file, not yet validated (`load` and `import` share it).
fn read_raw(path: &std::path::Path) -> Result<reader::RawConfig, LoadError> {
    let io_err = |source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io_err)?;
    match reader::read(std::io::BufReader::with_capacity(64 * 1024, file)) {
        Ok(raw) => Ok(raw),
        Err(reader::XmlFailure::Io(source)) => Err(io_err(source)),
        Err(failure) => {
            // Malformed input is the rare path: read the file again to place the error.
            let bytes = std::fs::read(path).map_err(io_err)?;
            Err(xml_error(&bytes, failure))
        }
    }
}

/// Read and validate config.xml from memory.
pub fn parse(xml: &[u8]) -> Result<Loaded, LoadError> {
    match reader::read(xml) {
        Ok(raw) => finish(&raw),
        Err(failure) => Err(xml_error(xml, failure)),
    }
}

fn xml_error(bytes: &[u8], failure: reader::XmlFailure) -> LoadError {
    let (offset, message) = match failure {
        reader::XmlFailure::Syntax { offset, message } => (offset, message),
        reader::XmlFailure::InvalidUtf8 => {
            let at = std::str::from_utf8(bytes)
                .err()
                .map_or(0, |e| e.valid_up_to());
            (
                at as u64,
                "invalid UTF-8: config.xml must be UTF-8 encoded".to_string(),
            )
        }
        // Reading from memory cannot fail.
        reader::XmlFailure::Io(e) => (0, e.to_string()),
    };
    let (line, column) = reader::line_column(bytes, offset);
    LoadError::Xml {
        line,
        column,
        message,
    }
}

fn finish(raw: &reader::RawConfig) -> Result<Loaded, LoadError> {
    let (model, findings) = validate::build(raw);
    let (errors, warnings): (Vec<_>, Vec<_>) = findings
        .0
        .into_iter()
        .partition(|d| d.severity == Severity::Error);
    match model {
        Some(model) if errors.is_empty() => Ok(Loaded { model, warnings }),
        _ => Err(LoadError::Invalid { errors, warnings }),
    }
}
