//! config.xml comes from the firewall's GUI, from backups and from hand edits: whatever bytes
//! it holds, `config::parse` must answer with a model or with errors, never panic. What it
//! answers must be usable by the callers: a model serializes (status, `carpctl config`), and
//! every error and warning renders with a line that lies inside the input.
//!
//! Run with `scripts/fuzz` or `RUSTC_BOOTSTRAP=1 cargo fuzz run config_xml` from the repository
//! root; seeds are in `fuzz/corpus/config_xml`, tag names in `fuzz/dict/config_xml.dict`.

#![no_main]

use carpd::config::{self, Diagnostic, LoadError};
use libfuzzer_sys::fuzz_target;

/// Lines in the input as an editor counts them (a final line without newline still counts).
fn line_count(data: &[u8]) -> u64 {
    data.iter().filter(|b| **b == b'\n').count() as u64 + 1
}

fn check_diagnostic(d: &Diagnostic, lines: u64) {
    let text = d.to_string();
    assert!(!text.is_empty());
    assert!(!d.message.is_empty(), "diagnostic without a message: {d:?}");
    if let Some(line) = d.line {
        assert!(
            line >= 1 && u64::from(line) <= lines,
            "diagnostic line {line} outside the input's {lines} lines: {d:?}"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let lines = line_count(data);
    match config::parse(data) {
        Ok(loaded) => {
            serde_json::to_string(&loaded.model).expect("a parsed model serializes");
            for w in &loaded.warnings {
                assert_ne!(w.severity, config::Severity::Error, "error among warnings");
                check_diagnostic(w, lines);
            }
        }
        Err(err) => {
            assert!(!err.to_string().is_empty());
            match &err {
                LoadError::Xml {
                    line,
                    column,
                    message,
                } => {
                    assert!(!message.is_empty());
                    assert!(*column >= 1, "column 0 in {err:?}");
                    assert!(
                        *line >= 1 && u64::from(*line) <= lines,
                        "XML error line {line} outside the input's {lines} lines"
                    );
                }
                LoadError::Invalid { errors, warnings } => {
                    assert!(!errors.is_empty(), "Invalid without any error");
                    errors
                        .iter()
                        .chain(warnings)
                        .for_each(|d| check_diagnostic(d, lines));
                }
                LoadError::Io { .. } => panic!("parsing from memory reported an I/O error: {err}"),
            }
        }
    }
});
