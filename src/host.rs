//! What kind of host carpd runs on, from files the system itself installs.
//!
//! OPNsense is recognised by `/usr/local/opnsense/version/core`, the JSON file opnsense/core
//! installs from `src/opnsense/version/core.in` (read at f95e815), whose `product_id` starts
//! with `opnsense`. On OPNsense core owns carp(4): it programs the VIPs itself
//! (`interfaces_vips_configure`, `reconfigure_vips.php`), keeps maintenance mode in
//! `<virtualip_carp_maintenancemode>` with `carp_set_status.php`, and runs
//! `rc.syshook.d/carp/*` from devd. carpd then lives beside it: native engine only, no hooks of
//! its own, maintenance and CARP off/on through core's own mechanism.
//!
//! Every path is taken under a root (`/` in production; the tests point it at a staged tree).

use std::path::{Path, PathBuf};

/// core's version file, below the root.
const VERSION_FILE: &str = "usr/local/opnsense/version/core";
/// configd's client.
const CONFIGCTL: &str = "usr/local/sbin/configctl";
/// core's syshook runner: `rc.syshook carp <vhid>@<if> <STATE>` runs rc.syshook.d/carp/*.
const RC_SYSHOOK: &str = "usr/local/etc/rc.syshook";
const FOLLOW_ACTION: &str = "usr/local/etc/rc.syshook.d/carp/50-follow-vhid";

/// An OPNsense host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Opnsense {
    root: PathBuf,
    /// `product_name product_version` from the version file, e.g. `OPNsense 26.7.4`.
    pub version: String,
}

impl Opnsense {
    /// The host under `root`, if it is OPNsense.
    pub fn detect(root: &Path) -> Option<Opnsense> {
        let text = std::fs::read_to_string(root.join(VERSION_FILE)).ok()?;
        let v: serde_json::Value = serde_json::from_str(&text).ok()?;
        let id = v["product_id"].as_str().unwrap_or_default();
        if !id.starts_with("opnsense") {
            return None;
        }
        Some(Opnsense {
            root: root.to_path_buf(),
            version: format!(
                "{} {}",
                v["product_name"].as_str().unwrap_or("OPNsense"),
                v["product_version"].as_str().unwrap_or("?")
            ),
        })
    }

    /// Where the version file that gave it away is.
    pub fn version_file(&self) -> PathBuf {
        self.root.join(VERSION_FILE)
    }

    pub fn configctl(&self) -> PathBuf {
        self.root.join(CONFIGCTL)
    }

    pub fn rc_syshook(&self) -> PathBuf {
        self.root.join(RC_SYSHOOK)
    }

    /// The os-carpd plugin's follow-vhid action among core's CARP syshooks.
    pub fn follow_action(&self) -> PathBuf {
        self.root.join(FOLLOW_ACTION)
    }
}

/// Why the userspace engine is refused on OPNsense.
pub fn userspace_refusal(o: &Opnsense) -> String {
    format!(
        "this is {} ({} exists): core programs carp(4) for every CARP VIP, so a userspace \
         CARP speaker would be a second CARP node on each VHID of this box; use the native \
         engine (--engine native or auto)",
        o.version,
        o.version_file().display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_opnsense_by_its_version_file() {
        let dir = std::env::temp_dir().join(format!("carpd-host-{}", std::process::id()));
        let file = dir.join(VERSION_FILE);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        assert_eq!(Opnsense::detect(&dir), None);
        std::fs::write(
            &file,
            r#"{"product_id":"opnsense","product_name":"OPNsense","product_version":"26.7.4"}"#,
        )
        .unwrap();
        let o = Opnsense::detect(&dir).unwrap();
        assert_eq!(o.version, "OPNsense 26.7.4");
        assert_eq!(o.configctl(), dir.join("usr/local/sbin/configctl"));
        std::fs::write(&file, r#"{"product_id":"pfsense"}"#).unwrap();
        assert_eq!(Opnsense::detect(&dir), None);
        std::fs::write(&file, "not json").unwrap();
        assert_eq!(Opnsense::detect(&dir), None);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
