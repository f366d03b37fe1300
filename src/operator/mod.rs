//! Persistent operator state, owned by the daemon: maintenance mode and named demotion
//! contributions (`service:openvpn` → 50). Both engines apply the same total: the userspace
//! engine adds it to every VHID's advskew in adverts, the native engine writes it to
//! `net.inet.carp.demotion`.
//!
//! Kept as named parts rather than one number so that leaving maintenance removes exactly
//! the 240 it added and nothing another source asked for (OPNsense's leave resets the whole
//! sysctl to its default, dropping every other demotion with it).
//!
//! File: `Paths::persistent_state()`, JSON `{"version":1,"maintenance":bool,"demotions":{…}}`.
//! A missing file is the empty state; a file carpd cannot read is an error, never a silent
//! reset (that would silently leave maintenance on a box an operator took out of service).
//!
//! Only what the operator asked to keep is written (`--persistent`), plus every leave and
//! clear, so that a restart never brings back a demotion the operator removed. Everything
//! else lives in the daemon's memory and ends when it stops; the next start applies the file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Demotion that maintenance mode contributes, as OPNsense's maintenance mode writes it.
pub const MAINTENANCE_DEMOTION: i32 = 240;

/// The contribution name maintenance mode shows up under; not usable with `demote`.
pub const MAINTENANCE_NAME: &str = "maintenance";

/// Largest magnitude of one named contribution: 2^20, the value OPNsense's service-status
/// check adds, so every value seen in the field fits.
pub const MAX_CONTRIBUTION: i32 = 1 << 20;

/// Named contributions kept at once.
pub const MAX_NAMES: usize = 64;

/// Longest contribution name.
pub const MAX_NAME_LEN: usize = 64;

const FILE_VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    #[error("cannot read operator state {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "operator state {path} is unreadable ({reason}); carpd will not guess whether maintenance was on: fix the file, or remove it to start with no maintenance and no demotions"
    )]
    Corrupt { path: PathBuf, reason: String },
    #[error("cannot write operator state {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "demotion name {0:?} is not valid: use 1-{MAX_NAME_LEN} characters from A-Z a-z 0-9 _ . : -"
    )]
    BadName(String),
    #[error("the name \"maintenance\" is reserved; use `carpd maintenance enter|leave`")]
    ReservedName,
    #[error(
        "demotion {0} is carpd's own (tracked checks, readiness, preempt delay): it follows what carpd sees and cannot be set by hand"
    )]
    CarpdOwned(String),
    #[error(
        "demotion {name} would become {value}; a contribution must stay within ±{MAX_CONTRIBUTION}"
    )]
    OutOfRange { name: String, value: i64 },
    #[error("already {MAX_NAMES} named demotions; clear one first")]
    TooManyNames,
}

/// What the operator asked for, surviving restarts.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OperatorState {
    pub maintenance: bool,
    /// Named contributions, never containing `maintenance` and never a zero value.
    pub demotions: BTreeMap<String, i32>,
    /// When contributions given with `--for` remove themselves: Unix time, seconds.
    #[serde(default)]
    pub expires: BTreeMap<String, f64>,
    /// carpd's own contributions (tracked checks, readiness, preempt delay: see
    /// [`crate::health`]), never persisted: they follow what carpd sees after every start.
    #[serde(skip)]
    pub automatic: BTreeMap<String, i32>,
}

/// The on-disk form: the state plus a version so a future format is refused, not misread.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileForm {
    version: u32,
    maintenance: bool,
    #[serde(default)]
    demotions: BTreeMap<String, i32>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    expires: BTreeMap<String, f64>,
}

/// Whether `name` is a valid contribution name: `[A-Za-z0-9_.:-]{1,64}`.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'))
}

fn check_name(name: &str) -> Result<(), OperatorError> {
    if !valid_name(name) {
        return Err(OperatorError::BadName(name.to_string()));
    }
    if name == MAINTENANCE_NAME {
        return Err(OperatorError::ReservedName);
    }
    if crate::health::reserved(name) {
        return Err(OperatorError::CarpdOwned(name.to_string()));
    }
    Ok(())
}

impl OperatorState {
    /// Read the state; a missing file is the default state.
    pub fn load(path: &Path) -> Result<OperatorState, OperatorError> {
        let read = crate::fsutil::read_if_present(path).map_err(|source| OperatorError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let Some(bytes) = read else {
            return Ok(OperatorState::default());
        };
        let corrupt = |reason: String| OperatorError::Corrupt {
            path: path.to_path_buf(),
            reason,
        };
        let form: FileForm = serde_json::from_slice(&bytes).map_err(|e| corrupt(e.to_string()))?;
        if form.version != FILE_VERSION {
            return Err(corrupt(format!(
                "format version {} (this carpd reads {FILE_VERSION})",
                form.version
            )));
        }
        if form.demotions.len() > MAX_NAMES {
            return Err(corrupt(format!(
                "{} named demotions (at most {MAX_NAMES})",
                form.demotions.len()
            )));
        }
        for (name, value) in &form.demotions {
            check_name(name).map_err(|e| corrupt(e.to_string()))?;
            if value.unsigned_abs() > MAX_CONTRIBUTION as u32 {
                return Err(corrupt(format!(
                    "demotion {name} = {value} is beyond ±{MAX_CONTRIBUTION}"
                )));
            }
        }
        let mut demotions = form.demotions;
        demotions.retain(|_, v| *v != 0);
        let mut expires = form.expires;
        expires.retain(|name, at| demotions.contains_key(name) && at.is_finite());
        Ok(OperatorState {
            maintenance: form.maintenance,
            demotions,
            expires,
            automatic: BTreeMap::new(),
        })
    }

    /// Write the state atomically: a temporary file in the same directory, written and
    /// fsynced, renamed over the old one, then the directory fsynced so the rename survives a
    /// power cut. Readers see the old state or the new one, never a torn file. Creates the
    /// directory (0755) if needed; the file is 0600.
    pub fn save(&self, path: &Path) -> Result<(), OperatorError> {
        let write_err = |source: std::io::Error| OperatorError::Write {
            path: path.to_path_buf(),
            source,
        };
        let form = FileForm {
            version: FILE_VERSION,
            maintenance: self.maintenance,
            demotions: self.demotions.clone(),
            expires: self.expires.clone(),
        };
        let mut text = serde_json::to_vec_pretty(&form).map_err(|e| write_err(e.into()))?;
        text.push(b'\n');
        crate::fsutil::write_atomic(path, &text).map_err(write_err)
    }

    /// The demotion both engines apply: every named contribution plus 240 in maintenance.
    /// Saturates at the i32 range (unreachable with the bounds here, but never wraps).
    pub fn total_demotion(&self) -> i32 {
        let sum: i64 = i64::from(self.named_total())
            + if self.maintenance {
                i64::from(MAINTENANCE_DEMOTION)
            } else {
                0
            };
        sum.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
    }

    /// The named contributions, the operator's and carpd's own, without maintenance.
    pub fn named_total(&self) -> i32 {
        let sum: i64 = self
            .demotions
            .values()
            .chain(self.automatic.values())
            .map(|&v| i64::from(v))
            .sum();
        sum.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
    }

    /// Every contribution by name, maintenance and carpd's own included, as `carpd status`
    /// shows them.
    pub fn breakdown(&self) -> BTreeMap<String, i32> {
        let mut all = self.demotions.clone();
        all.extend(self.automatic.iter().map(|(k, v)| (k.clone(), *v)));
        if self.maintenance {
            all.insert(MAINTENANCE_NAME.to_string(), MAINTENANCE_DEMOTION);
        }
        all
    }

    /// Turn maintenance on; returns whether it changed.
    pub fn enter_maintenance(&mut self) -> bool {
        !std::mem::replace(&mut self.maintenance, true)
    }

    /// Turn maintenance off, removing exactly its 240 and nothing else; returns whether it
    /// changed.
    pub fn leave_maintenance(&mut self) -> bool {
        std::mem::replace(&mut self.maintenance, false)
    }

    /// Add `delta` to the contribution `name` (created at 0); a result of 0 removes the name.
    /// Returns the new value. Nothing changes on error.
    pub fn demote(&mut self, name: &str, delta: i32) -> Result<i32, OperatorError> {
        check_name(name)?;
        let current = self.demotions.get(name).copied();
        let value = i64::from(current.unwrap_or(0)) + i64::from(delta);
        if value.unsigned_abs() > MAX_CONTRIBUTION as u64 {
            return Err(OperatorError::OutOfRange {
                name: name.to_string(),
                value,
            });
        }
        if current.is_none() && value != 0 && self.demotions.len() >= MAX_NAMES {
            return Err(OperatorError::TooManyNames);
        }
        let value = value as i32;
        if value == 0 {
            self.demotions.remove(name);
            self.expires.remove(name);
        } else {
            self.demotions.insert(name.to_string(), value);
        }
        Ok(value)
    }

    /// [`OperatorState::demote`], then the contribution removes itself at `expires_at` (Unix
    /// time); `None` keeps whatever expiry it had.
    pub fn demote_until(
        &mut self,
        name: &str,
        delta: i32,
        expires_at: Option<f64>,
    ) -> Result<i32, OperatorError> {
        let value = self.demote(name, delta)?;
        if let Some(at) = expires_at.filter(|_| value != 0) {
            self.expires.insert(name.to_string(), at);
        }
        Ok(value)
    }

    /// Remove the contribution `name`; returns what it was (None if there was none).
    pub fn clear(&mut self, name: &str) -> Result<Option<i32>, OperatorError> {
        check_name(name)?;
        self.expires.remove(name);
        Ok(self.demotions.remove(name))
    }

    /// The contributions given with `--for` whose time is up at `now` (Unix time). The
    /// engines clear them as a `clear` would, persisted and logged.
    pub fn due(&self, now: f64) -> Vec<String> {
        self.expires
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(name, _)| name.clone())
            .collect()
    }
}

/// One change a request makes to the persistent state file, written *before* the request
/// takes effect so that a crash in between errs on the side of what the operator asked for.
#[derive(Clone, Debug, PartialEq)]
pub enum Persist {
    Maintenance(bool),
    /// A named contribution's value as it now stands (0: removed).
    Demotion {
        name: String,
        value: i32,
        /// When it removes itself (Unix time), if it does.
        expires: Option<f64>,
    },
}

impl Persist {
    /// Load the file, apply this one change, write it back. Returns the state as it was on
    /// disk, so a request that then fails can put it back.
    pub fn write(&self, path: &Path) -> Result<OperatorState, OperatorError> {
        let before = OperatorState::load(path)?;
        let mut after = before.clone();
        match self {
            Persist::Maintenance(on) => after.maintenance = *on,
            Persist::Demotion { name, value: 0, .. } => {
                after.demotions.remove(name);
                after.expires.remove(name);
            }
            Persist::Demotion {
                name,
                value,
                expires,
            } => {
                after.demotions.insert(name.clone(), *value);
                match expires {
                    Some(at) => after.expires.insert(name.clone(), *at),
                    None => after.expires.remove(name),
                };
            }
        }
        after.save(path)?;
        Ok(before)
    }

    /// What `maintenance enter|leave` persists: on `--persistent`, and every leave.
    pub fn for_maintenance(enter: bool, persistent: bool) -> Option<Persist> {
        (persistent || !enter).then_some(Persist::Maintenance(enter))
    }

    /// What `demote NAME` persists: on `--persistent`, and every clear; the value is the
    /// contribution as it stands in `next`, the state after the request.
    pub fn for_demotion(
        next: &OperatorState,
        name: &str,
        clear: bool,
        persistent: bool,
    ) -> Option<Persist> {
        (persistent || clear).then(|| Persist::Demotion {
            name: name.to_string(),
            value: next.demotions.get(name).copied().unwrap_or(0),
            expires: next.expires.get(name).copied(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["service:openvpn", "a", "x.y-z_1", &"n".repeat(64)] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in ["", "has space", "semi;colon", "ü", &"n".repeat(65), "a/b"] {
            assert!(!valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn total_and_operations() {
        let mut s = OperatorState::default();
        assert_eq!(s.total_demotion(), 0);
        assert!(s.enter_maintenance());
        assert!(!s.enter_maintenance());
        assert_eq!(s.demote("service:openvpn", 50).unwrap(), 50);
        assert_eq!(s.demote("kernel", -10).unwrap(), -10);
        assert_eq!(s.total_demotion(), 280);
        assert_eq!(
            s.breakdown(),
            BTreeMap::from([
                ("kernel".to_string(), -10),
                ("maintenance".to_string(), 240),
                ("service:openvpn".to_string(), 50)
            ])
        );
        assert!(s.leave_maintenance());
        assert_eq!(s.total_demotion(), 40);
        assert_eq!(s.demotions.len(), 2);
        assert_eq!(s.demote("kernel", 10).unwrap(), 0);
        assert!(!s.demotions.contains_key("kernel"));
        assert_eq!(s.clear("service:openvpn").unwrap(), Some(50));
        assert_eq!(s.clear("service:openvpn").unwrap(), None);
        assert_eq!(s, OperatorState::default());
    }

    #[test]
    fn persist_writes_only_its_own_part() {
        let dir = std::env::temp_dir().join(format!("carpd-persist-{}", std::process::id()));
        let path = dir.join("state.json");
        let _ = std::fs::remove_dir_all(&dir);
        let mut live = OperatorState::default();
        live.demote("service:a", 10).unwrap();
        live.demote("service:b", 5).unwrap();
        // Only `a` asked to be kept; `b` is in memory only.
        Persist::for_demotion(&live, "service:a", false, true)
            .unwrap()
            .write(&path)
            .unwrap();
        assert_eq!(
            Persist::for_demotion(&live, "service:b", false, false),
            None
        );
        Persist::for_maintenance(true, true)
            .unwrap()
            .write(&path)
            .unwrap();
        let on_disk = OperatorState::load(&path).unwrap();
        assert!(on_disk.maintenance);
        assert_eq!(
            on_disk.demotions,
            BTreeMap::from([("service:a".into(), 10)])
        );
        // Clear and leave are always written, and touch nothing else.
        live.clear("service:a").unwrap();
        let before = Persist::for_demotion(&live, "service:a", true, false)
            .unwrap()
            .write(&path)
            .unwrap();
        assert_eq!(before, on_disk);
        assert_eq!(Persist::for_maintenance(true, false), None);
        Persist::for_maintenance(false, false)
            .unwrap()
            .write(&path)
            .unwrap();
        assert_eq!(
            OperatorState::load(&path).unwrap(),
            OperatorState::default()
        );
        // A corrupt file is an error, not overwritten.
        std::fs::write(&path, "{").unwrap();
        assert!(matches!(
            Persist::Maintenance(true).write(&path),
            Err(OperatorError::Corrupt { .. })
        ));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn bounds_and_reserved() {
        let mut s = OperatorState::default();
        assert!(matches!(
            s.demote("maintenance", 1),
            Err(OperatorError::ReservedName)
        ));
        assert!(matches!(
            s.clear("bad name"),
            Err(OperatorError::BadName(_))
        ));
        s.demote("x", MAX_CONTRIBUTION).unwrap();
        assert!(matches!(
            s.demote("x", 1),
            Err(OperatorError::OutOfRange { .. })
        ));
        assert_eq!(s.demotions["x"], MAX_CONTRIBUTION);
        assert!(s.demote("y", i32::MIN).is_err());
        for i in 1..MAX_NAMES {
            s.demote(&format!("n{i}"), 1).unwrap();
        }
        assert!(matches!(
            s.demote("one-too-many", 1),
            Err(OperatorError::TooManyNames)
        ));
        // Changing an existing name is still allowed at the limit.
        s.demote("n1", 1).unwrap();
    }
}
