//! What carpd itself applied to carp(4), kept in its state directory between runs.
//!
//! Two questions the kernel cannot answer:
//! * **Did the key change?** carp(4) only reveals whether a key is set (and to root the bytes,
//!   which carpd deliberately never reads back into a snapshot). The ledger keeps, per vhid, a
//!   salted SHA-1 fingerprint of the key carpd last set: 64 bits of `SHA1(salt ‖ key)`, the salt
//!   being 16 random bytes made once per host and stored beside it. The fingerprint lets the
//!   planner notice a changed password without the key ever leaving config.xml; the salt keeps
//!   a leaked ledger from being checked against a password list made for another host.
//! * **Which vhids are carpd's?** A vhid carpd applied earlier and the config no longer has on
//!   that device (deleted, or moved to another interface) must be taken down; a vhid someone
//!   else created must not. The ledger's keys are exactly the `<vhid>@<device>` carpd applied.
//!
//! The file is `<state_dir>/native-applied.json`, mode 0600, rewritten atomically.

use serde::{Deserialize, Serialize};
use sha1::{Digest, Sha1};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::config::CarpKey;

/// File name inside the state directory.
pub const FILE_NAME: &str = "native-applied.json";

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ledger {
    /// Hex salt for the fingerprints; empty until the first save.
    #[serde(default)]
    pub salt: String,
    /// `<vhid>@<device>` → what carpd applied there.
    #[serde(default)]
    pub vhids: BTreeMap<String, AppliedVhid>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedVhid {
    /// Fingerprint of the key last set; `None` when carpd does not know it (e.g. the vhid was
    /// recorded after a failed run before its key was written).
    #[serde(default)]
    pub key: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{path} is not a carpd ledger ({source}); move it aside and run `carpd apply` again \
         (keys are then re-sent once and vhids carpd applied elsewhere must be removed by hand)"
    )]
    Corrupt {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

pub fn key_name(device: &str, vhid: u8) -> String {
    format!("{vhid}@{device}")
}

impl Ledger {
    pub fn path(state_dir: &Path) -> PathBuf {
        state_dir.join(FILE_NAME)
    }

    /// Read the ledger; a missing file is an empty ledger (first run).
    pub fn load(state_dir: &Path) -> Result<Ledger, LedgerError> {
        let path = Self::path(state_dir);
        match crate::fsutil::read_if_present(&path) {
            Ok(Some(bytes)) => serde_json::from_slice(&bytes)
                .map_err(|source| LedgerError::Corrupt { path, source }),
            Ok(None) => Ok(Ledger::default()),
            Err(source) => Err(LedgerError::Read { path, source }),
        }
    }

    /// Write atomically ([`crate::fsutil::write_atomic`]), mode 0600.
    pub fn save(&mut self, state_dir: &Path) -> Result<(), LedgerError> {
        self.ensure_salt();
        let path = Self::path(state_dir);
        let werr = |source| LedgerError::Write {
            path: path.clone(),
            source,
        };
        let text = serde_json::to_vec_pretty(self).map_err(|e| werr(e.into()))?;
        crate::fsutil::write_atomic(&path, &text).map_err(werr)
    }

    fn ensure_salt(&mut self) {
        if self.salt.is_empty() {
            let salt: [u8; 16] = rand::random();
            self.salt = hex(&salt);
        }
    }

    /// Fingerprint of `key` under this ledger's salt (made on first use).
    pub fn fingerprint(&mut self, key: &CarpKey) -> String {
        self.ensure_salt();
        digest(&self.salt, key)
    }

    fn fingerprint_with_salt(&self, key: &CarpKey) -> Option<String> {
        (!self.salt.is_empty()).then(|| digest(&self.salt, key))
    }

    /// Was `key` the last key carpd set on this vhid? `None` = the ledger cannot tell.
    pub fn key_matches(&self, device: &str, vhid: u8, key: &CarpKey) -> Option<bool> {
        let recorded = self.vhids.get(&key_name(device, vhid))?.key.as_ref()?;
        Some(*recorded == self.fingerprint_with_salt(key)?)
    }

    pub fn applied(&self, device: &str, vhid: u8) -> bool {
        self.vhids.contains_key(&key_name(device, vhid))
    }

    /// Record that carpd configured this vhid; `key` = the key now in the kernel, if known.
    pub fn record(&mut self, device: &str, vhid: u8, key: Option<&CarpKey>) {
        let fp = key.map(|k| self.fingerprint(k));
        let entry = self.vhids.entry(key_name(device, vhid)).or_default();
        if fp.is_some() {
            entry.key = fp;
        }
    }

    pub fn forget(&mut self, device: &str, vhid: u8) {
        self.vhids.remove(&key_name(device, vhid));
    }
}

fn digest(salt: &str, key: &CarpKey) -> String {
    let mut h = Sha1::new();
    h.update(salt.as_bytes());
    h.update(key.0);
    hex(&h.finalize()[..8])
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> CarpKey {
        let mut k = [0u8; 20];
        k[..s.len()].copy_from_slice(s.as_bytes());
        CarpKey(k)
    }

    #[test]
    fn fingerprint_tracks_key_changes_without_storing_the_key() {
        let mut l = Ledger::default();
        assert_eq!(l.key_matches("vtnet0", 1, &key("secret")), None);
        l.record("vtnet0", 1, Some(&key("secret")));
        assert_eq!(l.key_matches("vtnet0", 1, &key("secret")), Some(true));
        assert_eq!(l.key_matches("vtnet0", 1, &key("secret2")), Some(false));
        let json = serde_json::to_string(&l).unwrap();
        assert!(!json.contains("secret"));
        // Another host's salt gives another fingerprint for the same key.
        let mut other = Ledger::default();
        assert_ne!(
            other.fingerprint(&key("secret")),
            l.fingerprint(&key("secret"))
        );
    }

    #[test]
    fn save_and_load_round_trip() {
        let dir = std::env::temp_dir().join(format!("carpd-ledger-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(Ledger::load(&dir).unwrap(), Ledger::default());
        let mut l = Ledger::default();
        l.record("vtnet1", 7, Some(&key("k")));
        l.save(&dir).unwrap();
        let back = Ledger::load(&dir).unwrap();
        assert_eq!(back, l);
        std::fs::write(Ledger::path(&dir), b"not json").unwrap();
        assert!(matches!(
            Ledger::load(&dir),
            Err(LedgerError::Corrupt { .. })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
