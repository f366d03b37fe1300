//! [`KernelState`]: what carp(4) holds right now, as a serde snapshot.
//!
//! The FreeBSD reader fills it from getifaddrs(3) plus a carp GET per interface; tests and
//! `carpd apply --kernel-state FILE` read it from JSON. Every field has a default, so `{}` is a
//! kernel with the carp module loaded, FreeBSD's default sysctls and no vhid anywhere.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::proto::State;

/// The multicast destinations carp(4) reports as the "peer" when none is set.
pub const MCAST_PEER: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
pub const MCAST_PEER6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KernelState {
    /// Per device (`vtnet0`): its vhids and addresses.
    #[serde(default)]
    pub interfaces: BTreeMap<String, KernelInterface>,
    #[serde(default)]
    pub sysctl: CarpSysctls,
    /// `kern.osreldate` (`__FreeBSD_version`: 1500068 is 15.0-RELEASE); `None` in a snapshot
    /// that does not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub osreldate: Option<u32>,
    /// carp(4) subtracts `net.inet.carp.demotion` from VRRPv3 priorities in its adverts
    /// (`DEMOTE_VRRP_PRIO`, review D55558 of 2026; not in e4452d45, which carpd was checked
    /// against). Netlink reports the configured priority either way, so only the operator can
    /// say (`--kernel-demotes-vrrp`); without it carpd writes the lowered priority itself.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub demotes_vrrp: bool,
}

/// The first `__FreeBSD_version` of FreeBSD 15, whose carp(4) has the VRRPv3 mode
/// (`carp_version_t`, `CARP_NL_VERSION` in ip_carp.c / ip_carp_nl.h, freebsd-src e4452d45).
/// 15.0-RELEASE is 1500068 (releng/15.0 sys/sys/param.h); 13 and 14 have no VRRP mode.
pub const VRRP_OSRELDATE: u32 = 1_500_000;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KernelInterface {
    #[serde(default)]
    pub vhids: Vec<KernelVhid>,
    /// Every address on the device; `vhid` is set for those bound to a vhid.
    #[serde(default)]
    pub addresses: Vec<KernelAddress>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KernelVhid {
    pub vhid: u8,
    #[serde(default = "default_advbase")]
    pub advbase: u8,
    #[serde(default)]
    pub advskew: u8,
    #[serde(default = "default_state", with = "state_name")]
    pub state: State,
    /// Whether a key is set. The kernel never hands a key to compare (and carpd never asks
    /// to print one), so this is all a snapshot says about it.
    #[serde(default)]
    pub key_set: bool,
    /// Unicast IPv4 peer; `None` (or 224.0.0.18 in a snapshot) = multicast.
    #[serde(default)]
    pub peer: Option<Ipv4Addr>,
    /// Unicast IPv6 peer; `None` (or ff02::12) = multicast.
    #[serde(default)]
    pub peer6: Option<Ipv6Addr>,
    /// FreeBSD 15's VRRPv3 mode (`CARP_NL_VERSION` 3); `None` = CARP. advbase, advskew, key
    /// and peers do not apply to such a vhid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vrrp: Option<KernelVrrp>,
}

/// A VRRPv3 vhid's settings as carp(4) reports them (`sc_vrrp_prio`, `sc_vrrp_adv_inter`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KernelVrrp {
    pub priority: u8,
    /// Centiseconds.
    pub interval_cs: u16,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KernelAddress {
    pub address: IpAddr,
    pub prefix: u8,
    #[serde(default)]
    pub vhid: Option<u8>,
}

/// `net.inet.carp.*` values the planner and the status report need.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CarpSysctls {
    #[serde(default = "default_true", with = "bool_int")]
    pub allow: bool,
    #[serde(default, with = "bool_int")]
    pub preempt: bool,
    /// Current total demotion (writes to the sysctl are additive).
    #[serde(default)]
    pub demotion: i32,
}

impl Default for CarpSysctls {
    // FreeBSD's defaults with the module loaded (carp-spec §4).
    fn default() -> Self {
        CarpSysctls {
            allow: true,
            preempt: false,
            demotion: 0,
        }
    }
}

fn default_advbase() -> u8 {
    1
}
fn default_state() -> State {
    State::Init
}
fn default_true() -> bool {
    true
}

impl KernelVhid {
    /// The unicast peer, with the kernel's multicast default folded into `None`.
    pub fn unicast_peer(&self) -> Option<Ipv4Addr> {
        self.peer
            .filter(|p| *p != MCAST_PEER && !p.is_unspecified())
    }
    pub fn unicast_peer6(&self) -> Option<Ipv6Addr> {
        self.peer6
            .filter(|p| *p != MCAST_PEER6 && !p.is_unspecified())
    }
}

impl KernelState {
    pub fn vhid(&self, device: &str, vhid: u8) -> Option<&KernelVhid> {
        self.interfaces
            .get(device)?
            .vhids
            .iter()
            .find(|v| v.vhid == vhid)
    }
    /// Addresses on `device` bound to `vhid`.
    pub fn addresses_of(&self, device: &str, vhid: u8) -> impl Iterator<Item = &KernelAddress> {
        self.interfaces
            .get(device)
            .into_iter()
            .flat_map(|i| i.addresses.iter())
            .filter(move |a| a.vhid == Some(vhid))
    }
    pub fn from_json(text: &str) -> Result<KernelState, serde_json::Error> {
        serde_json::from_str(text)
    }
    pub fn to_json_pretty(&self) -> String {
        // Serialising plain data with string keys cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// States as the kernel and ifconfig name them: `INIT`, `BACKUP`, `MASTER`.
mod state_name {
    use crate::proto::State;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(s: &State, ser: S) -> Result<S::Ok, S::Error> {
        ser.serialize_str(s.as_str())
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(de: D) -> Result<State, D::Error> {
        let s = String::deserialize(de)?;
        match s.to_ascii_uppercase().as_str() {
            "INIT" => Ok(State::Init),
            "BACKUP" => Ok(State::Backup),
            "MASTER" => Ok(State::Master),
            _ => Err(serde::de::Error::custom(format!(
                "unknown carp state {s:?} (expected INIT, BACKUP or MASTER)"
            ))),
        }
    }
}

/// sysctl integers as booleans; snapshots may say `1`/`0` or `true`/`false`.
mod bool_int {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(b: &bool, ser: S) -> Result<S::Ok, S::Error> {
        ser.serialize_u8(u8::from(*b))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(de: D) -> Result<bool, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            B(bool),
            I(i64),
        }
        Ok(match Either::deserialize(de)? {
            Either::B(b) => b,
            Either::I(i) => i != 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_object_is_a_kernel_without_carp() {
        let k = KernelState::from_json("{}").unwrap();
        assert!(k.interfaces.is_empty());
        assert!(k.sysctl.allow);
        assert!(!k.sysctl.preempt);
        assert_eq!(k.sysctl.demotion, 0);
    }

    #[test]
    fn round_trips_and_folds_multicast_peers() {
        let text = r#"{"interfaces":{"vtnet0":{"vhids":[{"vhid":1,"advskew":100,"state":"master",
            "key_set":true,"peer":"224.0.0.18","peer6":"ff02::12"}],
            "addresses":[{"address":"192.0.2.1","prefix":24,"vhid":1}]}},
            "sysctl":{"allow":1,"preempt":1,"demotion":240}}"#;
        let k = KernelState::from_json(text).unwrap();
        let v = k.vhid("vtnet0", 1).unwrap();
        assert_eq!(v.state, State::Master);
        assert_eq!(v.advbase, 1);
        assert_eq!(v.unicast_peer(), None);
        assert_eq!(v.unicast_peer6(), None);
        assert_eq!(k.addresses_of("vtnet0", 1).count(), 1);
        assert_eq!(KernelState::from_json(&k.to_json_pretty()).unwrap(), k);
    }

    #[test]
    fn rejects_unknown_state_and_fields() {
        assert!(
            KernelState::from_json(r#"{"interfaces":{"a":{"vhids":[{"vhid":1,"state":"UP"}]}}}"#)
                .is_err()
        );
        assert!(KernelState::from_json(r#"{"interface":{}}"#).is_err());
    }
}
