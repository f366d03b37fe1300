//! Desired [`Model`] vs observed [`KernelState`] → an ordered, minimal [`Plan`].
//!
//! Pure: no I/O, so it is compiled and tested on every OS. The rules it keeps:
//!
//! * **Read-modify-write.** Every [`Step::SetVhid`] carries advbase *and* advskew (carp(4)
//!   resets advskew to 0 when a SET omits it) and the key whenever it must change.
//! * **Vhid before addresses.** carp(4) refuses an address for a vhid that does not exist yet.
//! * **Peers after addresses.** FreeBSD 14's ifconfig sends the multicast peer on every `vhid`
//!   command, so a peer set before (or with) the other settings falls back to multicast; the
//!   plan sets peers last, and again after any SET of a vhid with a unicast peer.
//! * **A vhid dies with its last address.** The planner runs every step on a simulated copy of
//!   the kernel, so a removal that destroys a vhid the config still wants is followed by a full
//!   re-create (advbase, advskew, key) before that vhid's addresses go back. New addresses of a
//!   vhid are added before its stale ones are removed, so an address change never destroys it.
//! * **What carpd may touch** ("carpd-managed"): a `<vhid>@<device>` is managed when the
//!   config has that vhid on that device, or when carpd's ledger (see [`super::ledger`]) says
//!   carpd applied it earlier. Managed vhids the config no longer has on that device (deleted,
//!   or moved to another interface) lose their addresses and thereby die. Every other vhid is
//!   foreign and left alone, and so is every address without a vhid — except an address the
//!   config wants as a VIP, which is re-added with its vhid.
//! * **Keys.** The kernel only says whether a key is set. With a ledger the planner compares a
//!   salted fingerprint of the configured key with the one carpd recorded and re-sends the key
//!   when they differ or nothing was recorded; without a ledger it sends the key only when the
//!   kernel has none. A key can be set but never cleared in carp(4), so a vhid whose config
//!   has no password any more is re-created.
//! * **sysctls.** `net.inet.carp.preempt` = 1 unless `<hasync><disablepreempt>`, else 0.
//!   Maintenance mode adds 240 to `net.inet.carp.demotion` when the demotion is 0, as
//!   OPNsense does at boot; the write is additive and goes first, so fresh vhids start demoted.
//!   Leaving maintenance is `carpd maintenance leave`'s job: the demotion is shared with
//!   service checks and the kernel's own interface-down factor.

use serde::{Serialize, Serializer};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::kernel::{KernelAddress, KernelState, KernelVhid, KernelVrrp, VRRP_OSRELDATE};
use super::ledger::Ledger;
use crate::config::{CarpGroup, CarpKey, IpPrefix, Model};
use crate::proto::State;

/// What a plan prints instead of a password.
pub const PASS_PLACEHOLDER: &str = "****";
/// Demotion OPNsense's maintenance mode adds.
pub const MAINTENANCE_DEMOTION: i32 = 240;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub steps: Vec<Step>,
    /// What the planner noticed but does not change (foreign vhids, CARP disabled, …).
    pub notes: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Step {
    /// Create or update a vhid (netlink SET / SIOCSVH). `key` is sent only when it must change.
    SetVhid {
        device: String,
        vhid: u8,
        advbase: u8,
        advskew: u8,
        #[serde(rename = "pass", serialize_with = "redact_key")]
        key: Option<CarpKey>,
        /// The vhid does not exist before this step.
        create: bool,
    },
    /// Create or update a VRRPv3 vhid (FreeBSD 15, netlink SET with `CARP_NL_VERSION` 3).
    /// `priority` is the configured one lowered by `net.inet.carp.demotion`: carp(4) applies
    /// the demotion only to CARP's advskew (K15 has no VRRP counterpart).
    SetVrrp {
        device: String,
        vhid: u8,
        priority: u8,
        interval_cs: u16,
        create: bool,
    },
    /// Add an address bound to a vhid (SIOCAIFADDR / SIOCAIFADDR_IN6 with `ifra_vhid`).
    AddAddress {
        device: String,
        address: IpPrefix,
        vhid: u8,
    },
    /// Remove an address (SIOCDIFADDR / SIOCDIFADDR_IN6); `vhid` is the one it was bound to.
    RemoveAddress {
        device: String,
        address: IpAddr,
        vhid: Option<u8>,
    },
    /// Set both unicast peers (`None` = multicast) through netlink.
    SetPeers {
        device: String,
        vhid: u8,
        peer: Option<Ipv4Addr>,
        peer6: Option<Ipv6Addr>,
    },
    /// Write `net.inet.carp.<name>`; `additive` = the kernel adds the value (demotion).
    Sysctl {
        name: String,
        value: i32,
        additive: bool,
    },
}

fn redact_key<S: Serializer>(key: &Option<CarpKey>, ser: S) -> Result<S::Ok, S::Error> {
    match key {
        Some(_) => ser.serialize_str(PASS_PLACEHOLDER),
        None => ser.serialize_none(),
    }
}

fn family_word(addr: &IpAddr) -> &'static str {
    match addr {
        IpAddr::V4(_) => "inet",
        IpAddr::V6(_) => "inet6",
    }
}

impl Step {
    /// The vhid the step is about, with its device (`None` for sysctls and unbound addresses).
    pub fn vhid(&self) -> Option<(&str, u8)> {
        match self {
            Step::SetVhid { device, vhid, .. }
            | Step::SetVrrp { device, vhid, .. }
            | Step::AddAddress { device, vhid, .. }
            | Step::SetPeers { device, vhid, .. } => Some((device, *vhid)),
            Step::RemoveAddress { device, vhid, .. } => vhid.map(|v| (device.as_str(), v)),
            Step::Sysctl { .. } => None,
        }
    }

    /// The equivalent command line, in the forms OPNsense uses (the password as `'****'`).
    pub fn command(&self) -> String {
        match self {
            Step::SetVhid {
                device,
                vhid,
                advbase,
                advskew,
                key,
                ..
            } => {
                let pass = if key.is_some() {
                    format!(" pass '{PASS_PLACEHOLDER}'")
                } else {
                    String::new()
                };
                format!("ifconfig {device} vhid {vhid} advskew {advskew} advbase {advbase}{pass}")
            }
            Step::SetVrrp {
                device,
                vhid,
                priority,
                interval_cs,
                ..
            } => format!(
                "ifconfig {device} vhid {vhid} carpver 3 vrrpprio {priority} vrrpinterval {interval_cs}"
            ),
            Step::AddAddress {
                device,
                address,
                vhid,
            } => format!(
                "ifconfig {device} {} {address} alias vhid {vhid}",
                family_word(&address.addr)
            ),
            Step::RemoveAddress {
                device, address, ..
            } => format!(
                "ifconfig {device} {} {address} -alias",
                family_word(address)
            ),
            Step::SetPeers {
                device,
                vhid,
                peer,
                peer6,
            } => {
                let v4 = peer.map_or("mcast".to_string(), |p| format!("peer {p}"));
                let v6 = peer6.map_or("mcast6".to_string(), |p| format!("peer6 {p}"));
                format!("ifconfig {device} vhid {vhid} {v4} {v6}")
            }
            Step::Sysctl { name, value, .. } => format!("sysctl net.inet.carp.{name}={value}"),
        }
    }
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }
    /// One command line per step.
    pub fn commands(&self) -> Vec<String> {
        self.steps.iter().map(Step::command).collect()
    }
    /// `{"steps":[{action, …, "command"}], "notes":[…]}`; passwords as `"****"`.
    pub fn to_json(&self) -> serde_json::Value {
        let steps: Vec<serde_json::Value> = self
            .steps
            .iter()
            .map(|s| {
                let mut v = serde_json::to_value(s).unwrap_or_default();
                if let Some(o) = v.as_object_mut() {
                    o.insert("command".into(), s.command().into());
                }
                v
            })
            .collect();
        serde_json::json!({ "steps": steps, "notes": self.notes })
    }
}

/// Why carp(4) on this kernel cannot run the model's VRRPv3 groups, if it cannot: FreeBSD 13
/// and 14 have no VRRP mode, and FreeBSD 15's always multicasts (K15 `carp_nl_set` copies no
/// peer for a VRRPv3 vhid; `vrrp_send_ad_locked` sends to 224.0.0.18 / ff02::12). A snapshot
/// without `osreldate` is not refused.
pub fn vrrp_unsupported(model: &Model, kernel: &KernelState) -> Option<String> {
    let vrrp: Vec<&CarpGroup> = model.groups.iter().filter(|g| g.vrrp().is_some()).collect();
    let names = |gs: &[&CarpGroup]| gs.iter().map(|g| g.name()).collect::<Vec<_>>().join(", ");
    if vrrp.is_empty() {
        return None;
    }
    if let Some(rel) = kernel.osreldate.filter(|r| *r < VRRP_OSRELDATE) {
        return Some(format!(
            "{} speak VRRPv3, which carp(4) has only from FreeBSD 15 (this kernel's \
             kern.osreldate is {rel}): set their protocol to carp, or upgrade to FreeBSD 15 \
             (OPNsense 26.7)",
            names(&vrrp)
        ));
    }
    let unicast: Vec<&CarpGroup> = vrrp
        .into_iter()
        .filter(|g| g.peer.is_some() || g.peer6.is_some())
        .collect();
    if !unicast.is_empty() {
        return Some(format!(
            "{}: carp(4)'s VRRP mode always multicasts (to 224.0.0.18 / ff02::12) and takes no \
             unicast peer; clear <peer>/<peer6> on these VIPs",
            names(&unicast)
        ));
    }
    None
}

/// Plan without a ledger: keys are sent only where the kernel has none, and only vhids the
/// config has are managed.
pub fn plan(model: &Model, kernel: &KernelState) -> Plan {
    plan_with_ledger(model, kernel, None)
}

/// Plan with what carpd recorded on earlier runs (key fingerprints, vhids it applied).
pub fn plan_with_ledger(model: &Model, kernel: &KernelState, ledger: Option<&Ledger>) -> Plan {
    plan_inner(model, kernel, ledger, Scope::Apply)
}

/// The plan `carpd run` applies: like [`plan_with_ledger`] but without the maintenance
/// demotion write, because the daemon keeps `net.inet.carp.demotion` itself (with a record of
/// what it wrote since boot, see [`super::ops`]) and writes it before this plan runs.
pub fn plan_for_daemon(model: &Model, kernel: &KernelState, ledger: &Ledger) -> Plan {
    plan_inner(model, kernel, Some(ledger), Scope::Daemon)
}

/// What the daemon keeps true once a second: every VRRPv3 group's vhid (its priority follows
/// the kernel's demotion, which carp(4) itself applies only to CARP), and every vhid the
/// kernel runs as VRRPv3 that config.xml now wants as CARP. On OPNsense this is all carpd
/// writes: core creates every VIP's vhid as CARP (interfaces.inc `interface_carp_configure`),
/// and carpd, which alone knows the protocol, re-creates the VRRPv3 ones.
pub fn plan_protocols(model: &Model, kernel: &KernelState) -> Plan {
    let groups = model
        .groups
        .iter()
        .filter(|g| {
            g.vrrp().is_some()
                || kernel
                    .vhid(&g.device, g.vhid)
                    .is_some_and(|v| v.vrrp.is_some())
        })
        .cloned()
        .collect();
    let scoped = Model {
        groups,
        ..model.clone()
    };
    plan_inner(&scoped, kernel, None, Scope::Protocols)
}

/// Which parts of the kernel a plan covers.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// `carpd apply`: everything, the maintenance demotion included.
    Apply,
    /// `carpd run`: everything but the demotion, which the daemon keeps itself.
    Daemon,
    /// The model's groups only: no stale vhids, no sysctls.
    Protocols,
}

fn plan_inner(model: &Model, kernel: &KernelState, ledger: Option<&Ledger>, scope: Scope) -> Plan {
    let mut p = Planner {
        model,
        ledger,
        sim: kernel.clone(),
        out: Plan::default(),
        demotion: scope == Scope::Apply,
        peers_after_addresses: false,
    };
    if scope == Scope::Apply {
        p.maintenance(kernel);
    }
    if scope != Scope::Protocols {
        p.stale_vhids(kernel);
    }
    for g in &model.groups {
        p.group(g);
    }
    if scope != Scope::Protocols {
        p.preempt(kernel);
        p.notes(kernel);
    }
    p.out
}

struct Planner<'a> {
    model: &'a Model,
    ledger: Option<&'a Ledger>,
    /// The kernel as it will be after the steps planned so far.
    sim: KernelState,
    out: Plan,
    /// Whether this plan keeps the maintenance demotion (`carpd apply`) or not (the daemon).
    demotion: bool,
    /// The CARP vhid of the group being planned was written: its unicast peers go again
    /// after its addresses.
    peers_after_addresses: bool,
}

impl Planner<'_> {
    fn managed(&self, device: &str, vhid: u8) -> bool {
        self.model.group(device, vhid).is_some()
            || self.ledger.is_some_and(|l| l.applied(device, vhid))
    }

    /// Every (device, vhid) the kernel knows, from its vhid list and its addresses.
    fn kernel_vhids(kernel: &KernelState) -> Vec<(String, u8)> {
        let mut all: Vec<(String, u8)> = Vec::new();
        for (dev, iface) in &kernel.interfaces {
            let from_addrs = iface.addresses.iter().filter_map(|a| a.vhid);
            for v in iface.vhids.iter().map(|v| v.vhid).chain(from_addrs) {
                if !all.iter().any(|(d, n)| d == dev && *n == v) {
                    all.push((dev.clone(), v));
                }
            }
        }
        all
    }

    fn maintenance(&mut self, kernel: &KernelState) {
        if self.model.maintenance && kernel.sysctl.demotion == 0 {
            self.out.steps.push(Step::Sysctl {
                name: "demotion".into(),
                value: MAINTENANCE_DEMOTION,
                additive: true,
            });
            self.sim.sysctl.demotion += MAINTENANCE_DEMOTION;
        }
    }

    /// Managed vhids the config no longer has on that device: remove their addresses.
    fn stale_vhids(&mut self, kernel: &KernelState) {
        for (dev, vhid) in Self::kernel_vhids(kernel) {
            if self.model.group(&dev, vhid).is_some() || !self.managed(&dev, vhid) {
                continue;
            }
            let addrs: Vec<KernelAddress> = self.sim.addresses_of(&dev, vhid).copied().collect();
            if addrs.is_empty() {
                self.out.notes.push(format!(
                    "{vhid}@{dev} is no longer configured but has no address; carp(4) destroys \
                     a vhid only with its last address, so it stays (it cannot become MASTER)"
                ));
            }
            for a in addrs {
                self.remove_address(&dev, a);
            }
        }
    }

    fn group(&mut self, g: &CarpGroup) {
        let dev = g.device.as_str();
        let mut want: Vec<IpPrefix> = Vec::new();
        for a in &g.addresses {
            if !want.contains(&a.prefix) {
                want.push(a.prefix);
            }
        }

        // An address the config wants on this vhid but the kernel holds differently (another
        // vhid, no vhid, another prefix) has to go before it can come back right.
        let conflicts: Vec<KernelAddress> = self
            .sim
            .interfaces
            .get(dev)
            .map(|i| {
                i.addresses
                    .iter()
                    .filter(|a| {
                        want.iter().any(|w| {
                            w.addr == a.address && (a.vhid != Some(g.vhid) || w.prefix != a.prefix)
                        })
                    })
                    .copied()
                    .collect()
            })
            .unwrap_or_default();
        for a in conflicts {
            self.remove_address(dev, a);
        }

        // carp(4) can set a key but never clear one (`carp_ioctl_set` copies the key only
        // when its first byte is non-zero): a vhid whose password was removed is re-created.
        // So is one of the other protocol: its version is fixed when it is created (K15
        // `carp_ioctl_set`: `sc->sc_version != carpr->carpr_version` → EINVAL).
        let kernel_vhid = self.sim.vhid(dev, g.vhid).cloned();
        if let Some(kv) = &kernel_vhid {
            if kv.vrrp.is_some() != g.vrrp().is_some() {
                let (from, to) = match g.vrrp() {
                    Some(_) => ("CARP", "VRRPv3"),
                    None => ("VRRPv3", "CARP"),
                };
                self.recreate(g, &want, &format!("it changes from {from} to {to}"));
            } else if g.key.is_empty() && kv.key_set {
                self.recreate(
                    g,
                    &want,
                    "the password was removed; carp(4) cannot clear a key",
                );
            }
        }

        if let Some(v) = g.vrrp() {
            if v.preempt != self.model.ha.preempt() {
                // K15 `vrrp_input_c` consults V_carp_preempt, as CARP does.
                self.out.notes.push(format!(
                    "{}: preempt {} is not used: carp(4) preempts for every vhid as \
                     net.inet.carp.preempt says (<hasync><disablepreempt>)",
                    g.name(),
                    if v.preempt { "on" } else { "off" }
                ));
            }
            self.vrrp_vhid(g, v.priority, v.interval_cs);
        } else {
            self.carp_vhid(g);
        }
        self.addresses(g, &want);
    }

    /// Take every address of `g`'s vhid away, which destroys it (`carp_detach` →
    /// `carp_destroy`), so that it is created again. One that has none gets the first wanted
    /// address first, so that removing it destroys the vhid.
    fn recreate(&mut self, g: &CarpGroup, want: &[IpPrefix], why: &str) {
        let dev = g.device.as_str();
        let mut addrs: Vec<KernelAddress> = self.sim.addresses_of(dev, g.vhid).copied().collect();
        let how = match want.first().copied() {
            _ if !addrs.is_empty() => "its addresses are removed, which destroys it",
            Some(first) => {
                self.add_address(dev, first, g.vhid);
                addrs.push(KernelAddress {
                    address: first.addr,
                    prefix: first.prefix,
                    vhid: Some(g.vhid),
                });
                "it has no address, so one is added and removed again to destroy it"
            }
            None => "it cannot be: the VHID has no address to bind and remove",
        };
        self.out.notes.push(format!(
            "{}: {why}, so the vhid is re-created ({how})",
            g.name()
        ));
        for a in addrs {
            self.remove_address(dev, a);
        }
    }

    /// A VRRPv3 vhid at the configured priority lowered by the kernel's demotion (clamped
    /// 1..254, carpd's `demoted_priority`), unless the kernel lowers it itself.
    fn vrrp_vhid(&mut self, g: &CarpGroup, priority: u8, interval_cs: u16) {
        let dev = g.device.as_str();
        let demotion = if self.sim.demotes_vrrp {
            0
        } else {
            self.sim.sysctl.demotion
        };
        let want = KernelVrrp {
            priority: crate::proto::vrrp::demoted_priority(priority, demotion),
            interval_cs,
        };
        let create = match self.sim.vhid(dev, g.vhid) {
            None => true,
            Some(kv) if kv.vrrp == Some(want) => return,
            Some(_) => false,
        };
        self.out.steps.push(Step::SetVrrp {
            device: dev.to_string(),
            vhid: g.vhid,
            priority: want.priority,
            interval_cs: want.interval_cs,
            create,
        });
        match self.sim_vhid_mut(dev, g.vhid) {
            Some(v) => v.vrrp = Some(want),
            None => self
                .sim
                .interfaces
                .entry(dev.to_string())
                .or_default()
                .vhids
                .push(KernelVhid {
                    vhid: g.vhid,
                    advbase: 0,
                    advskew: 0,
                    state: State::Init,
                    key_set: false,
                    peer: None,
                    peer6: None,
                    vrrp: Some(want),
                }),
        }
    }

    /// A CARP vhid: timing and key written together, then (after the addresses) the peers.
    fn carp_vhid(&mut self, g: &CarpGroup) {
        let dev = g.device.as_str();
        let set = match self.sim.vhid(dev, g.vhid).cloned() {
            None => Some((true, (!g.key.is_empty()).then(|| g.key.clone()))),
            Some(kv) => {
                let key_change = self.key_must_change(g, &kv);
                (kv.advbase != g.advbase || kv.advskew != g.advskew || key_change)
                    .then(|| (false, key_change.then(|| g.key.clone())))
            }
        };
        let vhid_written = set.is_some();
        if let Some((create, key)) = set {
            self.set_vhid(g, create, key);
        }
        self.peers_after_addresses = vhid_written;
    }

    /// The wanted addresses on `g`'s vhid, new ones before stale ones go (so an address
    /// change never destroys the vhid); then a CARP vhid's peers.
    fn addresses(&mut self, g: &CarpGroup, want: &[IpPrefix]) {
        let dev = g.device.as_str();
        for w in want {
            let present = self
                .sim
                .addresses_of(dev, g.vhid)
                .any(|a| a.address == w.addr && a.prefix == w.prefix);
            if !present {
                self.add_address(dev, *w, g.vhid);
            }
        }

        let stale: Vec<KernelAddress> = self
            .sim
            .addresses_of(dev, g.vhid)
            .filter(|a| {
                !want
                    .iter()
                    .any(|w| w.addr == a.address && w.prefix == a.prefix)
            })
            .copied()
            .collect();
        for a in stale {
            self.remove_address(dev, a);
        }

        if g.vrrp().is_some() {
            // FreeBSD's VRRP mode always multicasts; `vrrp_unsupported` refuses peers.
            return;
        }
        let vhid_written = std::mem::take(&mut self.peers_after_addresses);
        let (kp, kp6) = self
            .sim
            .vhid(dev, g.vhid)
            .map(|v| (v.unicast_peer(), v.unicast_peer6()))
            .unwrap_or_default();
        let unicast = g.peer.is_some() || g.peer6.is_some();
        if (kp, kp6) != (g.peer, g.peer6) || (vhid_written && unicast) {
            self.out.steps.push(Step::SetPeers {
                device: dev.to_string(),
                vhid: g.vhid,
                peer: g.peer,
                peer6: g.peer6,
            });
            if let Some(v) = self.sim_vhid_mut(dev, g.vhid) {
                v.peer = g.peer;
                v.peer6 = g.peer6;
            }
        }
    }

    fn key_must_change(&mut self, g: &CarpGroup, kv: &KernelVhid) -> bool {
        if g.key.is_empty() {
            return false;
        }
        if !kv.key_set {
            return true;
        }
        match self.ledger {
            None => false,
            Some(l) => match l.key_matches(&g.device, g.vhid, &g.key) {
                Some(same) => !same,
                None => {
                    self.out.notes.push(format!(
                        "{}: carpd has no record of the key it set, so the key is sent again",
                        g.name()
                    ));
                    true
                }
            },
        }
    }

    fn set_vhid(&mut self, g: &CarpGroup, create: bool, key: Option<CarpKey>) {
        let key_set = key.is_some();
        self.out.steps.push(Step::SetVhid {
            device: g.device.clone(),
            vhid: g.vhid,
            advbase: g.advbase,
            advskew: g.advskew,
            key,
            create,
        });
        match self.sim_vhid_mut(&g.device, g.vhid) {
            Some(v) => {
                v.advbase = g.advbase;
                v.advskew = g.advskew;
                v.key_set |= key_set;
            }
            None => self
                .sim
                .interfaces
                .entry(g.device.clone())
                .or_default()
                .vhids
                .push(KernelVhid {
                    vhid: g.vhid,
                    advbase: g.advbase,
                    advskew: g.advskew,
                    state: State::Init,
                    key_set,
                    peer: None,
                    peer6: None,
                    vrrp: None,
                }),
        }
    }

    /// Plan one removal and play it on the simulation, including carp(4) destroying a vhid
    /// with its last address.
    fn remove_address(&mut self, dev: &str, a: KernelAddress) {
        self.out.steps.push(Step::RemoveAddress {
            device: dev.to_string(),
            address: a.address,
            vhid: a.vhid,
        });
        let Some(iface) = self.sim.interfaces.get_mut(dev) else {
            return;
        };
        iface.addresses.retain(|k| k.address != a.address);
        if let Some(v) = a.vhid
            && !iface.addresses.iter().any(|k| k.vhid == Some(v))
        {
            iface.vhids.retain(|k| k.vhid != v);
        }
    }

    /// Plan one address bound to `vhid` and play it on the simulation.
    fn add_address(&mut self, dev: &str, address: IpPrefix, vhid: u8) {
        self.out.steps.push(Step::AddAddress {
            device: dev.to_string(),
            address,
            vhid,
        });
        self.sim
            .interfaces
            .entry(dev.to_string())
            .or_default()
            .addresses
            .push(KernelAddress {
                address: address.addr,
                prefix: address.prefix,
                vhid: Some(vhid),
            });
    }

    fn sim_vhid_mut(&mut self, dev: &str, vhid: u8) -> Option<&mut KernelVhid> {
        self.sim
            .interfaces
            .get_mut(dev)?
            .vhids
            .iter_mut()
            .find(|v| v.vhid == vhid)
    }

    fn preempt(&mut self, kernel: &KernelState) {
        let want = self.model.ha.preempt();
        if kernel.sysctl.preempt != want {
            self.out.steps.push(Step::Sysctl {
                name: "preempt".into(),
                value: i32::from(want),
                additive: false,
            });
        }
    }

    fn notes(&mut self, kernel: &KernelState) {
        for (dev, vhid) in Self::kernel_vhids(kernel) {
            if !self.managed(&dev, vhid) {
                self.out.notes.push(format!(
                    "{vhid}@{dev} left alone: not in config.xml and not applied by carpd"
                ));
            }
        }
        if !kernel.sysctl.allow {
            self.out.notes.push(
                "net.inet.carp.allow=0: CARP is disabled, every vhid stays INIT until \
                 `carpd enable` (or sysctl net.inet.carp.allow=1)"
                    .into(),
            );
        }
        if self.demotion && self.model.maintenance && kernel.sysctl.demotion != 0 {
            self.out.notes.push(format!(
                "maintenance mode: demotion is already {}, nothing added",
                kernel.sysctl.demotion
            ));
        }
    }
}
