//! What carpd has added to `net.inet.carp.demotion` since the machine booted.
//!
//! The kernel keeps one total and forgets nothing across a carpd restart, but everything at a
//! reboot. carpd therefore keeps its own net contribution in the run directory
//! (`<run_dir>/native-demotion.json`; `/var/run` is emptied at boot), which survives exactly
//! as long as the kernel's total does. With it, a start can tell "carpd's 240 is still in the
//! kernel" (a restart: write nothing) from "the kernel starts from 0" (a reboot: write 240).
//!
//! As a second guard the record carries the system uptime at which it was written: an uptime
//! now smaller than the recorded one means a reboot happened even if `/var/run` survived it.
//! (Uptime, not `kern.boottime`: boottime moves whenever ntpd steps the clock, and a false
//! "rebooted" is the one mistake that double-applies.)
//!
//! Write order ([`staged`]): the record is raised *before* a positive delta is written and
//! lowered only *after* a negative one. A crash between the two steps then leaves a record
//! that overstates carpd's part, which the start-up rule (`kernel's own = max(total − record,
//! 0)`, see [`super::ops::reconcile`]) absorbs; a record that understated it would make the
//! next start add carpd's part a second time.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// File name inside the run directory.
pub const FILE_NAME: &str = "native-demotion.json";

const VERSION: u32 = 1;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemotionRecord {
    pub version: u32,
    /// carpd's net contribution now in `net.inet.carp.demotion` (sum of its writes).
    pub carpd: i32,
    /// System uptime in seconds when this was written.
    pub uptime: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{path} is not a carpd demotion record ({reason}); carpd assumes it wrote nothing this \
         boot (at worst it demotes once more than needed); remove the file to silence this"
    )]
    Corrupt { path: PathBuf, reason: String },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl DemotionRecord {
    pub fn new(carpd: i32, uptime: f64) -> DemotionRecord {
        DemotionRecord {
            version: VERSION,
            carpd,
            uptime,
        }
    }

    pub fn path(run_dir: &Path) -> PathBuf {
        run_dir.join(FILE_NAME)
    }

    /// Read the record; `Ok(None)` when there is none (first start since boot).
    pub fn load(run_dir: &Path) -> Result<Option<DemotionRecord>, RecordError> {
        let path = Self::path(run_dir);
        let bytes = match crate::fsutil::read_if_present(&path) {
            Ok(Some(b)) => b,
            Ok(None) => return Ok(None),
            Err(source) => return Err(RecordError::Read { path, source }),
        };
        let rec: DemotionRecord =
            serde_json::from_slice(&bytes).map_err(|e| RecordError::Corrupt {
                path: path.clone(),
                reason: e.to_string(),
            })?;
        if rec.version != VERSION || !rec.uptime.is_finite() || rec.uptime < 0.0 {
            return Err(RecordError::Corrupt {
                path,
                reason: format!("version {} uptime {}", rec.version, rec.uptime),
            });
        }
        Ok(Some(rec))
    }

    /// Write atomically ([`crate::fsutil::write_atomic`]), mode 0600.
    pub fn save(&self, run_dir: &Path) -> Result<(), RecordError> {
        let path = Self::path(run_dir);
        let werr = |source| RecordError::Write {
            path: path.clone(),
            source,
        };
        let mut text = serde_json::to_vec(self).map_err(|e| werr(e.into()))?;
        text.push(b'\n');
        crate::fsutil::write_atomic(&path, &text).map_err(werr)
    }

    /// carpd's part in the kernel if this record is from the current boot, else `None`.
    pub fn this_boot(&self, uptime_now: f64) -> Option<i32> {
        (uptime_now >= self.uptime).then_some(self.carpd)
    }
}

/// carpd's part in the kernel as far as the run directory can tell: the record's value when
/// it is from this boot, else 0. An unreadable record counts as 0 (over-demoting once is the
/// safe side; assuming the whole total were carpd's could wipe the kernel's own demotion).
pub fn written_this_boot(
    record: &Result<Option<DemotionRecord>, RecordError>,
    uptime_now: f64,
) -> i32 {
    match record {
        Ok(Some(r)) => r.this_boot(uptime_now).unwrap_or(0),
        _ => 0,
    }
}

/// The values to record around writing `delta` when carpd's part is `current`:
/// `(before, after)`. `before` is the larger of the two, so the record never understates
/// carpd's part while the write is in flight.
pub fn staged(current: i32, delta: i32) -> (i32, i32) {
    let after = current.saturating_add(delta);
    (current.max(after), after)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staged_errs_high() {
        assert_eq!(staged(0, 240), (240, 240));
        assert_eq!(staged(240, -240), (240, 0));
        assert_eq!(staged(50, -10), (50, 40));
        assert_eq!(staged(-10, 10), (0, 0));
    }

    #[test]
    fn uptime_going_backwards_means_another_boot() {
        let r = DemotionRecord::new(240, 3600.0);
        assert_eq!(r.this_boot(3601.5), Some(240));
        assert_eq!(r.this_boot(12.0), None);
        assert_eq!(written_this_boot(&Ok(Some(r)), 12.0), 0);
        assert_eq!(written_this_boot(&Ok(None), 12.0), 0);
    }

    #[test]
    fn save_load_and_corruption() {
        let dir = std::env::temp_dir().join(format!("carpd-demrec-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        assert!(DemotionRecord::load(&dir).unwrap().is_none());
        let r = DemotionRecord::new(290, 77.25);
        r.save(&dir).unwrap();
        assert_eq!(DemotionRecord::load(&dir).unwrap(), Some(r));
        std::fs::write(DemotionRecord::path(&dir), b"{\"carpd\":1}").unwrap();
        let bad = DemotionRecord::load(&dir);
        assert!(matches!(bad, Err(RecordError::Corrupt { .. })));
        assert_eq!(written_this_boot(&bad, 100.0), 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
