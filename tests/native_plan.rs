//! Planner fixtures: kernel states as JSON in tests/fixtures/native/, models built in Rust
//! (the config reader is tested on its own). Every plan is also played on a small model of
//! carp(4)'s rules (vhid before address, a vhid dies with its last address, SET resets an
//! omitted advskew) and re-planned, which must then be empty: plans converge.

mod common;

use carpd::config::{CarpKey, HaSettings, Model, VipMode};
use carpd::native::kernel::{KernelAddress, KernelState, KernelVhid, KernelVrrp};
use carpd::native::{
    Ledger, Plan, Step, plan, plan_protocols, plan_with_ledger, record_applied, vrrp_unsupported,
};
use carpd::proto::State;
use common::native_model::{addr, fixture, group, key};
use std::net::IpAddr;

/// WAN vtnet0 vhid 1 (192.0.2.1/24 + ipalias 192.0.2.10/24), LAN vtnet1 vhid 2 (IPv6 VIP).
fn base_model() -> Model {
    Model {
        groups: vec![
            group(
                "vtnet0",
                1,
                0,
                "secret-one",
                vec![
                    addr("192.0.2.1", 24, VipMode::Carp),
                    addr("192.0.2.10", 24, VipMode::Ipalias),
                ],
            ),
            group(
                "vtnet1",
                2,
                0,
                "secret-two",
                vec![addr("2001:db8:1::1", 64, VipMode::Carp)],
            ),
        ],
        ha: HaSettings::default(),
        maintenance: false,
        settings: Default::default(),
    }
}

/// A ledger as carpd would have left it after applying `model`.
fn ledger_for(model: &Model) -> Ledger {
    let mut l = Ledger::default();
    for g in &model.groups {
        l.record(&g.device, g.vhid, Some(&g.key));
    }
    l
}

/// carp(4)'s rules, independent of the planner's own simulation.
fn simulate(kernel: &KernelState, plan: &Plan) -> KernelState {
    let mut k = kernel.clone();
    for (i, step) in plan.steps.iter().enumerate() {
        match step {
            Step::SetVhid {
                device,
                vhid,
                advbase,
                advskew,
                key,
                ..
            } => {
                let iface = k.interfaces.entry(device.clone()).or_default();
                match iface.vhids.iter_mut().find(|v| v.vhid == *vhid) {
                    Some(v) if v.vrrp.is_some() => panic!(
                        "step {i} `{}`: EINVAL, a VRRPv3 vhid stays VRRPv3",
                        step.command()
                    ),
                    Some(v) => {
                        v.advbase = *advbase;
                        v.advskew = *advskew;
                        v.key_set |= key.is_some();
                    }
                    None => iface.vhids.push(KernelVhid {
                        vhid: *vhid,
                        advbase: *advbase,
                        advskew: *advskew,
                        state: State::Init,
                        key_set: key.is_some(),
                        peer: None,
                        peer6: None,
                        vrrp: None,
                    }),
                }
            }
            Step::SetVrrp {
                device,
                vhid,
                priority,
                interval_cs,
                ..
            } => {
                let want = Some(KernelVrrp {
                    priority: *priority,
                    interval_cs: *interval_cs,
                });
                let iface = k.interfaces.entry(device.clone()).or_default();
                match iface.vhids.iter_mut().find(|v| v.vhid == *vhid) {
                    Some(v) if v.vrrp.is_none() => panic!(
                        "step {i} `{}`: EINVAL, a CARP vhid stays CARP",
                        step.command()
                    ),
                    Some(v) => v.vrrp = want,
                    None => iface.vhids.push(KernelVhid {
                        vhid: *vhid,
                        advbase: 0,
                        advskew: 0,
                        state: State::Init,
                        key_set: false,
                        peer: None,
                        peer6: None,
                        vrrp: want,
                    }),
                }
            }
            Step::AddAddress {
                device,
                address,
                vhid,
            } => {
                let iface = k.interfaces.entry(device.clone()).or_default();
                assert!(
                    iface.vhids.iter().any(|v| v.vhid == *vhid),
                    "step {i} `{}`: carp(4) answers ENOENT, vhid {vhid} does not exist",
                    step.command()
                );
                assert!(
                    !iface.addresses.iter().any(|a| a.address == address.addr),
                    "step {i} `{}`: address already present",
                    step.command()
                );
                iface.addresses.push(KernelAddress {
                    address: address.addr,
                    prefix: address.prefix,
                    vhid: Some(*vhid),
                });
            }
            Step::RemoveAddress {
                device, address, ..
            } => {
                let iface = k
                    .interfaces
                    .get_mut(device)
                    .unwrap_or_else(|| panic!("step {i}: no interface {device}"));
                let pos = iface
                    .addresses
                    .iter()
                    .position(|a| a.address == *address)
                    .unwrap_or_else(|| panic!("step {i} `{}`: EADDRNOTAVAIL", step.command()));
                let gone = iface.addresses.remove(pos);
                if let Some(v) = gone.vhid
                    && !iface.addresses.iter().any(|a| a.vhid == Some(v))
                {
                    iface.vhids.retain(|x| x.vhid != v);
                }
            }
            Step::SetPeers {
                device,
                vhid,
                peer,
                peer6,
            } => {
                let v = k
                    .interfaces
                    .get_mut(device)
                    .and_then(|i| i.vhids.iter_mut().find(|v| v.vhid == *vhid))
                    .unwrap_or_else(|| panic!("step {i}: peers for a missing vhid"));
                v.peer = *peer;
                v.peer6 = *peer6;
            }
            Step::Sysctl { name, value, .. } => match name.as_str() {
                "preempt" => k.sysctl.preempt = *value != 0,
                "demotion" => k.sysctl.demotion += *value,
                other => panic!("unexpected sysctl {other}"),
            },
        }
    }
    k
}

/// Plan with the ledger, play it, record it, plan again: nothing must be left to do.
fn plan_converges(model: &Model, kernel: &KernelState, ledger: &mut Ledger) -> Plan {
    let p = plan_with_ledger(model, kernel, Some(ledger));
    let after = simulate(kernel, &p);
    let all: Vec<usize> = (0..p.steps.len()).collect();
    record_applied(ledger, model, &p, &all);
    let again = plan_with_ledger(model, &after, Some(ledger));
    assert!(
        again.is_empty(),
        "re-plan not empty: {:?}",
        again.commands()
    );
    p
}

#[test]
fn fresh_box_creates_vhids_before_their_addresses() {
    let model = base_model();
    let p = plan_converges(&model, &fixture("fresh"), &mut Ledger::default());
    assert_eq!(
        p.commands(),
        [
            "ifconfig vtnet0 vhid 1 advskew 0 advbase 1 pass '****'",
            "ifconfig vtnet0 inet 192.0.2.1/24 alias vhid 1",
            "ifconfig vtnet0 inet 192.0.2.10/24 alias vhid 1",
            "ifconfig vtnet1 vhid 2 advskew 0 advbase 1 pass '****'",
            "ifconfig vtnet1 inet6 2001:db8:1::1/64 alias vhid 2",
            "sysctl net.inet.carp.preempt=1",
        ]
    );
    assert!(matches!(p.steps[0], Step::SetVhid { create: true, .. }));
}

#[test]
fn unchanged_config_is_an_empty_plan() {
    let model = base_model();
    let kernel = fixture("steady");
    assert!(plan(&model, &kernel).is_empty());
    let p = plan_with_ledger(&model, &kernel, Some(&ledger_for(&model)));
    assert!(p.is_empty(), "{:?}", p.commands());
    assert!(p.notes.is_empty(), "{:?}", p.notes);
}

#[test]
fn advskew_change_touches_only_that_vhid_and_keeps_advbase() {
    let mut model = base_model();
    model.groups[0].advskew = 100;
    let mut ledger = ledger_for(&model);
    let p = plan_converges(&model, &fixture("steady"), &mut ledger);
    assert_eq!(
        p.commands(),
        ["ifconfig vtnet0 vhid 1 advskew 100 advbase 1"]
    );
    assert!(matches!(
        &p.steps[0],
        Step::SetVhid {
            key: None,
            create: false,
            ..
        }
    ));
}

#[test]
fn password_change_is_seen_through_the_ledger_fingerprint() {
    let old = base_model();
    let mut ledger = ledger_for(&old);
    let mut model = old.clone();
    model.groups[1].key = key("a-new-secret");
    let p = plan_converges(&model, &fixture("steady"), &mut ledger);
    assert_eq!(
        p.commands(),
        ["ifconfig vtnet1 vhid 2 advskew 0 advbase 1 pass '****'"]
    );
    // The JSON form redacts it too, and no byte of the key is anywhere in the output.
    let json = serde_json::to_string(&p.to_json()).unwrap();
    assert!(json.contains("\"pass\":\"****\""), "{json}");
    assert!(!json.contains("a-new-secret"));
    assert!(!format!("{p:?}").contains("a-new-secret"));
}

#[test]
fn without_a_ledger_record_the_key_is_sent_once() {
    let model = base_model();
    let mut ledger = Ledger::default();
    let p = plan_converges(&model, &fixture("steady"), &mut ledger);
    assert_eq!(
        p.commands(),
        [
            "ifconfig vtnet0 vhid 1 advskew 0 advbase 1 pass '****'",
            "ifconfig vtnet1 vhid 2 advskew 0 advbase 1 pass '****'",
        ]
    );
    assert_eq!(p.notes.len(), 2);
}

#[test]
fn removed_password_recreates_the_vhid() {
    let mut model = base_model();
    model.groups[1].key = CarpKey::default();
    let mut ledger = ledger_for(&base_model());
    let p = plan_converges(&model, &fixture("steady"), &mut ledger);
    assert_eq!(
        p.commands(),
        [
            "ifconfig vtnet1 inet6 2001:db8:1::1 -alias",
            "ifconfig vtnet1 vhid 2 advskew 0 advbase 1",
            "ifconfig vtnet1 inet6 2001:db8:1::1/64 alias vhid 2",
        ]
    );
}

#[test]
fn address_added_to_an_existing_vhid() {
    let mut model = base_model();
    model.groups[0]
        .addresses
        .push(addr("192.0.2.11", 24, VipMode::Ipalias));
    let mut ledger = ledger_for(&model);
    let p = plan_converges(&model, &fixture("steady"), &mut ledger);
    assert_eq!(
        p.commands(),
        ["ifconfig vtnet0 inet 192.0.2.11/24 alias vhid 1"]
    );
}

#[test]
fn address_removed_from_an_existing_vhid() {
    let model = base_model();
    let mut ledger = ledger_for(&model);
    let p = plan_converges(&model, &fixture("extra-alias"), &mut ledger);
    assert_eq!(p.commands(), ["ifconfig vtnet0 inet 192.0.2.11 -alias"]);
}

#[test]
fn changed_vip_is_added_before_the_old_one_goes_so_the_vhid_survives() {
    let mut model = base_model();
    model.groups[1].addresses = vec![addr("2001:db8:1::5", 64, VipMode::Carp)];
    let mut ledger = ledger_for(&model);
    let p = plan_converges(&model, &fixture("steady"), &mut ledger);
    assert_eq!(
        p.commands(),
        [
            "ifconfig vtnet1 inet6 2001:db8:1::5/64 alias vhid 2",
            "ifconfig vtnet1 inet6 2001:db8:1::1 -alias",
        ]
    );
}

#[test]
fn address_moved_to_another_vhid_recreates_the_vhid_it_emptied() {
    // 192.0.2.10 moves from vhid 1 to a new vhid 4; vhid 1 keeps 192.0.2.1 → no re-create.
    // Then the last address of vhid 2 moves to vhid 5: vhid 2 dies and, since the config
    // still wants it with a new address, it is written again in full.
    let mut model = base_model();
    model.groups[0].addresses.truncate(1);
    model.groups.push(group(
        "vtnet0",
        4,
        0,
        "four",
        vec![addr("192.0.2.10", 24, VipMode::Carp)],
    ));
    model.groups[1].addresses = vec![addr("2001:db8:1::2", 64, VipMode::Carp)];
    model.groups.insert(
        1,
        group(
            "vtnet1",
            5,
            0,
            "five",
            vec![addr("2001:db8:1::1", 64, VipMode::Carp)],
        ),
    );
    let mut ledger = ledger_for(&base_model());
    let p = plan_converges(&model, &fixture("steady"), &mut ledger);
    assert_eq!(
        p.commands(),
        [
            "ifconfig vtnet0 inet 192.0.2.10 -alias",
            "ifconfig vtnet1 inet6 2001:db8:1::1 -alias",
            "ifconfig vtnet1 vhid 5 advskew 0 advbase 1 pass '****'",
            "ifconfig vtnet1 inet6 2001:db8:1::1/64 alias vhid 5",
            "ifconfig vtnet1 vhid 2 advskew 0 advbase 1 pass '****'",
            "ifconfig vtnet1 inet6 2001:db8:1::2/64 alias vhid 2",
            "ifconfig vtnet0 vhid 4 advskew 0 advbase 1 pass '****'",
            "ifconfig vtnet0 inet 192.0.2.10/24 alias vhid 4",
        ]
    );
}

#[test]
fn vhid_moved_between_interfaces_is_removed_on_the_old_one() {
    // carpd applied 3@vtnet0 earlier; the config now has vhid 3 on vtnet1.
    let mut model = base_model();
    let mut ledger = ledger_for(&model);
    ledger.record("vtnet0", 3, Some(&key("three")));
    model.groups.push(group(
        "vtnet1",
        3,
        50,
        "three",
        vec![addr("198.51.100.30", 24, VipMode::Carp)],
    ));
    let kernel = fixture("moved-vhid");
    let p = plan_converges(&model, &kernel, &mut ledger);
    assert_eq!(
        p.commands(),
        [
            "ifconfig vtnet0 inet 192.0.2.30 -alias",
            "ifconfig vtnet1 vhid 3 advskew 50 advbase 1 pass '****'",
            "ifconfig vtnet1 inet 198.51.100.30/24 alias vhid 3",
        ]
    );
    assert!(
        !ledger.applied("vtnet0", 3),
        "old place forgotten after a full run"
    );

    // Without a record that carpd made 3@vtnet0, it is someone else's and stays.
    let p = plan(&model, &kernel);
    assert!(!p.commands().iter().any(|c| c.contains("-alias")));
    assert!(p.notes.iter().any(|n| n.starts_with("3@vtnet0 left alone")));
}

#[test]
fn unicast_peer_is_set_after_addresses_and_unset_to_multicast() {
    let mut model = base_model();
    model.groups[0].peer = Some("192.0.2.3".parse().unwrap());
    let mut ledger = ledger_for(&model);
    let p = plan_converges(&model, &fixture("steady"), &mut ledger);
    assert_eq!(
        p.commands(),
        ["ifconfig vtnet0 vhid 1 peer 192.0.2.3 mcast6"]
    );

    // Peer removed from the config: back to multicast.
    let model = base_model();
    let p = plan_converges(&model, &fixture("unicast-peer"), &mut ledger_for(&model));
    assert_eq!(p.commands(), ["ifconfig vtnet0 vhid 1 mcast mcast6"]);

    // Fresh box with a peer: vhid, addresses, then the peer.
    let mut model = base_model();
    model.groups[0].peer = Some("192.0.2.3".parse().unwrap());
    let p = plan_converges(&model, &fixture("fresh"), &mut Ledger::default());
    let c = p.commands();
    let peer_at = c.iter().position(|l| l.contains("peer 192.0.2.3")).unwrap();
    let addr_at = c.iter().position(|l| l.contains("192.0.2.10/24")).unwrap();
    assert!(peer_at > addr_at, "{c:?}");
}

#[test]
fn any_set_of_a_unicast_vhid_re_sends_its_peer() {
    // The ifconfig form of a SET resets peers to multicast on FreeBSD 14: re-assert them.
    let mut model = base_model();
    model.groups[0].peer = Some("192.0.2.3".parse().unwrap());
    model.groups[0].advskew = 20;
    let mut ledger = ledger_for(&model);
    let p = plan_converges(&model, &fixture("unicast-peer"), &mut ledger);
    assert_eq!(
        p.commands(),
        [
            "ifconfig vtnet0 vhid 1 advskew 20 advbase 1",
            "ifconfig vtnet0 vhid 1 peer 192.0.2.3 mcast6",
        ]
    );
}

#[test]
fn ipv6_vip_with_ipv6_peer() {
    let mut model = base_model();
    model.groups[1].peer6 = Some("2001:db8:1::3".parse().unwrap());
    let p = plan_converges(&model, &fixture("steady"), &mut ledger_for(&model));
    assert_eq!(
        p.commands(),
        ["ifconfig vtnet1 vhid 2 mcast peer6 2001:db8:1::3"]
    );
}

#[test]
fn maintenance_demotes_first_and_disablepreempt_clears_preempt() {
    let mut model = base_model();
    model.maintenance = true;
    model.ha.disable_preempt = true;
    let p = plan_converges(&model, &fixture("fresh"), &mut Ledger::default());
    let c = p.commands();
    assert_eq!(c.first().unwrap(), "sysctl net.inet.carp.demotion=240");
    // FreeBSD's default preempt is already 0.
    assert!(!c.iter().any(|l| l.contains("preempt")), "{c:?}");
    assert!(matches!(p.steps[0], Step::Sysctl { additive: true, .. }));

    // A running pair switched to maintenance and disablepreempt: only the sysctls.
    let p = plan_with_ledger(&model, &fixture("steady"), Some(&ledger_for(&model)));
    assert_eq!(
        p.commands(),
        [
            "sysctl net.inet.carp.demotion=240",
            "sysctl net.inet.carp.preempt=0"
        ]
    );
    // Already demoted (maintenance entered earlier): nothing added.
    let mut k = fixture("steady");
    k.sysctl.demotion = 240;
    k.sysctl.preempt = false;
    assert!(plan_with_ledger(&model, &k, Some(&ledger_for(&model))).is_empty());
}

#[test]
fn foreign_vhids_are_left_alone() {
    let model = base_model();
    let kernel = fixture("foreign-vhid");
    let p = plan_with_ledger(&model, &kernel, Some(&ledger_for(&model)));
    assert!(p.is_empty(), "{:?}", p.commands());
    assert_eq!(
        p.notes,
        [
            "1@igb5 left alone: not in config.xml and not applied by carpd",
            "9@vtnet0 left alone: not in config.xml and not applied by carpd",
        ]
    );
}

#[test]
fn a_vip_held_without_vhid_is_re_added_with_it() {
    let model = base_model();
    let mut kernel = fixture("steady");
    let a = &mut kernel.interfaces.get_mut("vtnet0").unwrap().addresses[2];
    assert_eq!(a.address, "192.0.2.10".parse::<IpAddr>().unwrap());
    a.vhid = None;
    let p = plan_converges(&model, &kernel, &mut ledger_for(&model));
    assert_eq!(
        p.commands(),
        [
            "ifconfig vtnet0 inet 192.0.2.10 -alias",
            "ifconfig vtnet0 inet 192.0.2.10/24 alias vhid 1",
        ]
    );
}

#[test]
fn carp_disabled_is_noted_not_overridden() {
    let model = base_model();
    let p = plan_with_ledger(&model, &fixture("carp-disabled"), Some(&ledger_for(&model)));
    assert!(p.is_empty());
    assert!(p.notes.iter().any(|n| n.contains("net.inet.carp.allow=0")));
}

#[test]
fn json_rendering_names_each_step() {
    let p = plan(&base_model(), &fixture("fresh"));
    let v = p.to_json();
    let steps = v["steps"].as_array().unwrap();
    assert_eq!(steps[0]["action"], "set_vhid");
    assert_eq!(steps[0]["pass"], "****");
    assert_eq!(steps[0]["create"], true);
    assert_eq!(steps[1]["action"], "add_address");
    assert_eq!(steps[1]["address"]["addr"], "192.0.2.1");
    assert_eq!(
        steps[1]["command"],
        "ifconfig vtnet0 inet 192.0.2.1/24 alias vhid 1"
    );
    assert_eq!(steps[5]["action"], "sysctl");
}

#[test]
fn status_report_from_kernel_state() {
    let mut model = base_model();
    model.groups.push(group(
        "vtnet2",
        7,
        0,
        "seven",
        vec![addr("203.0.113.7", 24, VipMode::Carp)],
    ));
    let r = carpd::native::report(&model, &fixture("steady"));
    assert_eq!(r.engine, "native");
    let states: Vec<&str> = r.vhids.iter().map(|v| v.state.as_str()).collect();
    assert_eq!(states, ["MASTER", "BACKUP", "DISABLED"]);
    assert_eq!(r.vhids[0].addresses[1].mode, "ipalias");
    assert!(r.carp.allow && r.carp.preempt);
}

/// `base_model` with vhid 1 speaking VRRPv3 (IPv4 only: the alias goes).
fn vrrp_model(priority: u8) -> Model {
    let mut m = base_model();
    m.groups[0].addresses.truncate(1);
    m.groups[0].protocol = carpd::config::Protocol::Vrrp3(carpd::config::VrrpSettings {
        priority,
        interval_cs: 10,
        ..Default::default()
    });
    m
}

#[test]
fn a_carp_vhid_turning_vrrp_is_re_created_and_its_priority_follows_the_demotion() {
    let model = vrrp_model(200);
    let mut kernel = fixture("steady");
    kernel.sysctl.demotion = 50;
    let mut ledger = ledger_for(&model);
    let p = plan_converges(&model, &kernel, &mut ledger);
    assert_eq!(
        p.commands(),
        [
            "ifconfig vtnet0 inet 192.0.2.1 -alias",
            "ifconfig vtnet0 inet 192.0.2.10 -alias",
            "ifconfig vtnet0 vhid 1 carpver 3 vrrpprio 150 vrrpinterval 10",
            "ifconfig vtnet0 inet 192.0.2.1/24 alias vhid 1",
        ]
    );
    assert!(matches!(p.steps[2], Step::SetVrrp { create: true, .. }));
    assert!(
        p.notes[0].contains("changes from CARP to VRRPv3"),
        "{:?}",
        p.notes
    );

    // Once VRRPv3, a new demotion is one SET of the priority, clamped at 1.
    let mut after = simulate(&kernel, &p);
    after.sysctl.demotion = 500;
    let p = plan_protocols(&model, &after);
    assert_eq!(
        p.commands(),
        ["ifconfig vtnet0 vhid 1 carpver 3 vrrpprio 1 vrrpinterval 10"]
    );
    assert!(matches!(p.steps[0], Step::SetVrrp { create: false, .. }));
}

#[test]
fn plan_protocols_touches_only_what_carpd_owns_beside_core() {
    let model = vrrp_model(200);
    // vtnet1's CARP vhid 2 differs from the model, but core owns it: not in this plan.
    let mut kernel = fixture("steady");
    kernel.interfaces.get_mut("vtnet1").unwrap().vhids[0].advskew = 77;
    let p = plan_protocols(&model, &kernel);
    assert!(
        p.steps.iter().all(|s| s.vhid() == Some(("vtnet0", 1))),
        "{:?}",
        p.commands()
    );
    assert!(
        !p.commands().iter().any(|c| c.contains("sysctl")),
        "{:?}",
        p.commands()
    );
}

#[test]
fn vrrp_is_refused_before_freebsd_15_and_with_unicast_peers() {
    let model = vrrp_model(200);
    let mut kernel = fixture("fresh");
    kernel.osreldate = Some(1_403_000);
    let why = vrrp_unsupported(&model, &kernel).expect("refused on 14.3");
    assert!(
        why.contains("1@vtnet0 speak VRRPv3") && why.contains("1403000"),
        "{why}"
    );
    kernel.osreldate = Some(1_500_068);
    assert_eq!(vrrp_unsupported(&model, &kernel), None);
    assert_eq!(
        vrrp_unsupported(&base_model(), &KernelState::default()),
        None
    );
    let mut unicast = model.clone();
    unicast.groups[0].peer = Some("192.0.2.3".parse().unwrap());
    let why = vrrp_unsupported(&unicast, &kernel).expect("peers refused");
    assert!(why.contains("always multicasts"), "{why}");
}

/// A kernel that lowers VRRPv3 priorities itself (DEMOTE_VRRP_PRIO, `--kernel-demotes-vrrp`)
/// gets the configured priority, so the demotion is not counted twice.
#[test]
fn a_kernel_that_demotes_vrrp_itself_gets_the_configured_priority() {
    let model = vrrp_model(200);
    let mut kernel = fixture("fresh");
    kernel.sysctl.demotion = 240;
    kernel.demotes_vrrp = true;
    let p = plan(&model, &kernel);
    assert!(
        p.commands()
            .contains(&"ifconfig vtnet0 vhid 1 carpver 3 vrrpprio 200 vrrpinterval 10".to_string()),
        "{:?}",
        p.commands()
    );
}
