//! Hand-written VRRPv3 timelines, one RFC 9568 rule each. The randomised proof is `tests/sim.rs`.

use super::tests::transitions;
use super::vrrp::{centis, demoted_priority, master_down_interval, skew_time};
use super::*;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

const SELF: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 5));
const LOWER: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));
const HIGHER: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 9));

fn cfg(priority: u8, interval_cs: u16, preempt: bool) -> VrrpConfig {
    VrrpConfig {
        vrid: 7,
        family: Family::V4,
        priority,
        interval_cs,
        preempt,
        announce_count: 2,
        primary: Some(SELF),
    }
}

fn advert(source: IpAddr, priority: u8, interval_cs: u16) -> Input {
    Input::Vrrp(VrrpAdvert {
        source,
        priority,
        interval_cs,
        from_self: false,
    })
}

fn drain(m: &mut VrrpMachine) -> Vec<Output> {
    std::iter::from_fn(|| m.poll_output()).collect()
}

fn sent(out: &[Output]) -> Vec<u8> {
    out.iter()
        .filter_map(|o| match *o {
            Output::SendVrrp { priority, .. } => Some(priority),
            _ => None,
        })
        .collect()
}

fn up(config: VrrpConfig, t0: Instant) -> VrrpMachine {
    let mut m = VrrpMachine::new(config);
    m.handle_input(t0, Input::Link { up: true });
    m
}

fn master(config: VrrpConfig, t0: Instant) -> VrrpMachine {
    let mut m = up(config, t0);
    if m.state() == State::Backup {
        m.handle_input(t0, Input::Admin(AdminRequest::ForceMaster));
    }
    drain(&mut m);
    assert_eq!(m.state(), State::Master);
    m
}

#[test]
fn timers_are_the_rfcs_in_microseconds() {
    // 100 cs, priority 100: 3 s + 156/256 s.
    assert_eq!(skew_time(100, 100), Duration::from_micros(609_375));
    assert_eq!(
        master_down_interval(100, 100),
        Duration::from_micros(3_609_375)
    );
    // 1 cs: FreeBSD's whole centiseconds would give 0 skew for every priority; ours differ.
    assert_eq!(skew_time(100, 1), Duration::from_micros(6_093));
    assert_eq!(skew_time(200, 1), Duration::from_micros(2_187));
    assert_eq!(master_down_interval(254, 1), Duration::from_micros(30_078));
}

#[test]
fn backup_takes_over_when_the_master_down_interval_passes() {
    let t0 = Instant::now();
    let mut m = up(cfg(100, 100, true), t0);
    assert_eq!(m.state(), State::Backup);
    let due = t0 + master_down_interval(100, 100);
    assert_eq!(m.poll_timeout(), Some(due));
    drain(&mut m);
    m.handle_timeout(due - Duration::from_micros(1));
    assert_eq!(m.state(), State::Backup);
    m.handle_timeout(due);
    let out = drain(&mut m);
    assert_eq!(
        transitions(&out),
        [(State::Backup, State::Master, Reason::MasterTimedOut)]
    );
    assert_eq!(sent(&out), [100]);
    assert!(out.contains(&Output::ClaimAddresses));
    assert!(out.contains(&Output::Announce));
    assert_eq!(m.poll_timeout(), Some(due + centis(100)));
}

#[test]
fn the_owner_is_master_at_once() {
    let t0 = Instant::now();
    let mut m = up(cfg(255, 100, true), t0);
    let out = drain(&mut m);
    assert_eq!(
        transitions(&out),
        [(State::Init, State::Master, Reason::AddressOwner)]
    );
    assert_eq!(sent(&out), [255]);
}

#[test]
fn priority_zero_hands_over_within_skew_time() {
    let t0 = Instant::now();
    let mut m = up(cfg(100, 100, true), t0);
    m.handle_input(t0 + ms(500), advert(HIGHER, 200, 100));
    m.handle_input(t0 + ms(900), advert(HIGHER, 0, 100));
    let due = t0 + ms(900) + skew_time(100, 100);
    assert_eq!(m.poll_timeout(), Some(due));
    drain(&mut m);
    m.handle_timeout(due);
    assert_eq!(
        transitions(&drain(&mut m)),
        [(State::Backup, State::Master, Reason::MasterLeft)]
    );
}

#[test]
fn backup_learns_the_masters_interval() {
    let t0 = Instant::now();
    let mut m = up(cfg(100, 100, true), t0);
    m.handle_input(t0, advert(HIGHER, 200, 10));
    assert_eq!(m.master_interval_cs(), 10);
    assert_eq!(m.poll_timeout(), Some(t0 + master_down_interval(100, 10)));
}

#[test]
fn preempt_ignores_a_lower_master_and_takes_over_at_master_down() {
    let t0 = Instant::now();
    let mut m = up(cfg(200, 100, true), t0);
    drain(&mut m);
    let due = m.poll_timeout().expect("backup timer");
    for i in 1..4 {
        m.handle_input(t0 + ms(i * 1000), advert(LOWER, 100, 100));
    }
    assert_eq!(m.poll_timeout(), Some(due));
    m.handle_timeout(due);
    let out = drain(&mut m);
    assert_eq!(
        transitions(&out),
        [(
            State::Backup,
            State::Master,
            Reason::PreemptingLowerPriority
        )]
    );
}

#[test]
fn without_preempt_a_lower_master_keeps_the_backup_waiting() {
    let t0 = Instant::now();
    let mut m = up(cfg(200, 100, false), t0);
    m.handle_input(t0 + ms(1000), advert(LOWER, 100, 100));
    assert_eq!(
        m.poll_timeout(),
        Some(t0 + ms(1000) + master_down_interval(200, 100))
    );
}

#[test]
fn master_yields_to_higher_priority_and_to_a_higher_address_at_equal_priority() {
    let t0 = Instant::now();
    let mut m = master(cfg(100, 100, true), t0);
    m.handle_input(t0 + ms(10), advert(LOWER, 150, 20));
    let out = drain(&mut m);
    assert_eq!(
        transitions(&out),
        [(
            State::Master,
            State::Backup,
            Reason::HigherPriorityAdvertisement
        )]
    );
    assert!(out.contains(&Output::ReleaseAddresses));
    assert_eq!(m.master_interval_cs(), 20);

    let mut m = master(cfg(100, 100, true), t0);
    m.handle_input(t0 + ms(10), advert(HIGHER, 100, 100));
    assert_eq!(
        transitions(&drain(&mut m)),
        [(
            State::Master,
            State::Backup,
            Reason::EqualPriorityHigherAddress
        )]
    );
}

#[test]
fn master_keeps_its_role_against_a_weaker_rival_and_reannounces_once_per_interval() {
    let t0 = Instant::now();
    let mut m = master(cfg(100, 100, true), t0);
    m.handle_input(t0 + ms(1100), advert(LOWER, 100, 100));
    m.handle_input(t0 + ms(1200), advert(LOWER, 50, 100));
    let out = drain(&mut m);
    assert_eq!(m.state(), State::Master);
    assert!(transitions(&out).is_empty());
    assert_eq!(
        out.iter().filter(|o| **o == Output::Announce).count(),
        1,
        "{out:?}"
    );
}

#[test]
fn master_answers_a_bow_out_with_an_advert_at_once() {
    let t0 = Instant::now();
    let mut m = master(cfg(100, 100, true), t0);
    m.handle_input(t0 + ms(300), advert(LOWER, 0, 100));
    assert_eq!(sent(&drain(&mut m)), [100]);
    assert_eq!(m.poll_timeout(), Some(t0 + ms(1300)));
}

#[test]
fn demotion_lowers_the_priority_clamped_and_is_advertised_at_once() {
    assert_eq!(demoted_priority(100, 0), 100);
    assert_eq!(demoted_priority(100, 30), 70);
    assert_eq!(demoted_priority(100, 240), 1);
    assert_eq!(demoted_priority(255, 240), 15);
    assert_eq!(demoted_priority(255, 1), 254);
    assert_eq!(demoted_priority(255, -5), 255);
    assert_eq!(demoted_priority(250, -50), 254);

    let t0 = Instant::now();
    let mut m = master(cfg(100, 100, true), t0);
    m.handle_input(t0 + ms(200), Input::Demotion(240));
    assert_eq!(sent(&drain(&mut m)), [1]);
    m.handle_input(t0 + ms(300), Input::Demotion(240));
    assert!(sent(&drain(&mut m)).is_empty());
    // A demoted owner is an ordinary router: it waits for a master down.
    let mut m = VrrpMachine::new(cfg(255, 100, true));
    m.handle_input(t0, Input::Demotion(10));
    m.handle_input(t0, Input::Link { up: true });
    assert_eq!(m.state(), State::Backup);
    assert_eq!(m.poll_timeout(), Some(t0 + master_down_interval(245, 100)));
}

#[test]
fn leave_and_forced_backup_bow_out_with_priority_zero() {
    let t0 = Instant::now();
    let mut m = master(cfg(100, 100, true), t0);
    m.handle_input(t0, Input::Admin(AdminRequest::Leave));
    let out = drain(&mut m);
    assert_eq!(sent(&out), [0]);
    assert!(out.contains(&Output::ReleaseAddresses));
    assert_eq!(m.state(), State::Init);

    let mut m = master(cfg(100, 100, true), t0);
    m.handle_input(t0, Input::Admin(AdminRequest::ForceBackup));
    let out = drain(&mut m);
    assert_eq!(sent(&out), [0]);
    assert_eq!(m.state(), State::Backup);
}

#[test]
fn own_adverts_looped_back_are_echoes() {
    let t0 = Instant::now();
    let mut m = master(cfg(100, 100, true), t0);
    m.handle_input(
        t0,
        Input::Vrrp(VrrpAdvert {
            source: SELF,
            priority: 200,
            interval_cs: 100,
            from_self: true,
        }),
    );
    assert_eq!(drain(&mut m), [Output::Dropped(DropReason::Echo)]);
    assert_eq!(m.state(), State::Master);
}

#[test]
fn link_down_releases_and_link_up_elects_again() {
    let t0 = Instant::now();
    let mut m = master(cfg(100, 100, true), t0);
    m.handle_input(t0, Input::Link { up: false });
    let out = drain(&mut m);
    assert!(out.contains(&Output::ReleaseAddresses));
    assert_eq!(m.state(), State::Init);
    assert_eq!(m.poll_timeout(), None);
    m.handle_input(t0 + ms(5), Input::Link { up: true });
    assert_eq!(m.state(), State::Backup);
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn a_bow_out_from_a_router_we_no_longer_follow_is_stale() {
    let t0 = Instant::now();
    let mut m = up(cfg(100, 100, true), t0);
    m.handle_input(t0 + ms(100), advert(LOWER, 200, 100));
    // The new master's advert overtook the old master's priority 0.
    m.handle_input(t0 + ms(200), advert(HIGHER, 254, 100));
    m.handle_input(t0 + ms(201), advert(LOWER, 0, 100));
    assert_eq!(
        m.poll_timeout(),
        Some(t0 + ms(200) + master_down_interval(100, 100))
    );
}
