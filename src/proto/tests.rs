//! Hand-written timelines, one rule each (carp-spec §3). The randomised proof is `tests/sim.rs`.

use super::*;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

const PEER: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));
const PEER6: IpAddr = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2));
const SELF: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));

fn cfg(advskew: u8) -> MachineConfig {
    MachineConfig {
        vhid: 1,
        advbase: 1,
        advskew,
        preempt: false,
        v4: true,
        v6: false,
        announce_count: 2,
        bow_out: true,
        replay_guard: false,
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn us(n: u64) -> Duration {
    Duration::from_micros(n)
}

fn advert(advbase: u8, advskew: u8, counter: u64) -> Advert {
    Advert {
        family: Family::V4,
        source: PEER,
        advbase,
        advskew,
        counter,
        from_self: false,
    }
}

fn drain(m: &mut Machine) -> Vec<Output> {
    std::iter::from_fn(|| m.poll_output()).collect()
}

pub(super) fn transitions(out: &[Output]) -> Vec<(State, State, Reason)> {
    out.iter()
        .filter_map(|o| match *o {
            Output::Transition { from, to, reason } => Some((from, to, reason)),
            _ => None,
        })
        .collect()
}

/// A machine that has come up and been brought to BACKUP at `t0`.
fn backup(config: MachineConfig, t0: Instant) -> Machine {
    let mut m = Machine::new(config, 1000);
    assert_eq!(m.state(), State::Init);
    assert_eq!(m.poll_timeout(), None);
    m.handle_input(t0, Input::Link { up: true });
    assert_eq!(
        drain(&mut m),
        vec![Output::Transition {
            from: State::Init,
            to: State::Backup,
            reason: Reason::InitializationComplete
        }]
    );
    m
}

fn master(config: MachineConfig, t0: Instant) -> Machine {
    let mut m = backup(config, t0);
    m.handle_input(t0, Input::Admin(AdminRequest::ForceMaster));
    drain(&mut m);
    assert_eq!(m.state(), State::Master);
    m
}

#[test]
fn timing_helpers_match_the_kernel_arithmetic() {
    assert_eq!(master_down_interval(1, 0), Duration::from_secs(3));
    assert_eq!(master_down_interval(1, 100), us(3_390_625));
    assert_eq!(advert_interval(1, 100, 0), us(1_390_625));
    assert_eq!(advert_interval(1, 0, 240), us(1_937_500));
    // 1 000 000 / 256 truncates: skew 1 is 3906 µs, not 3906.25.
    assert_eq!(skew_duration(1), us(3906));
}

#[test]
fn demotion_is_clamped_to_0_through_240() {
    assert_eq!(demoted_skew(100, 0), 100);
    assert_eq!(demoted_skew(100, 200), 240);
    assert_eq!(demoted_skew(100, -300), 0);
    assert_eq!(
        demoted_skew(250, 0),
        240,
        "configured 241..254 is sent as 240"
    );
    assert_eq!(demoted_skew(0, i32::MAX), 240);
    assert_eq!(demoted_skew(0, i32::MIN), 0);
}

#[test]
fn backup_with_advskew_100_takes_over_exactly_3_390625_after_the_last_advert() {
    let t0 = Instant::now();
    let mut m = backup(cfg(100), t0);
    let last = t0 + ms(500);
    m.handle_input(last, Input::Advert(advert(1, 0, 7)));
    assert_eq!(drain(&mut m), vec![]);
    let due = last + us(3_390_625);
    assert_eq!(m.poll_timeout(), Some(due));
    m.handle_timeout(due - us(1));
    assert_eq!(m.state(), State::Backup, "not a microsecond early");
    m.handle_timeout(due);
    let out = drain(&mut m);
    assert_eq!(
        out,
        vec![
            Output::Transition {
                from: State::Backup,
                to: State::Master,
                reason: Reason::MasterTimedOut
            },
            Output::ClaimAddresses,
            Output::SendAdvert {
                family: Family::V4,
                advbase: 1,
                advskew: 100,
                counter: 8
            },
            Output::Announce,
        ]
    );
    assert_eq!(m.poll_timeout(), Some(due + us(1_390_625)));
    assert_eq!(m.last_peer(), Some((PEER, last)));
}

#[test]
fn master_down_uses_configured_skew_but_adverts_carry_the_demoted_one() {
    let t0 = Instant::now();
    let mut m = backup(cfg(10), t0);
    m.handle_input(t0, Input::Demotion(240));
    assert_eq!(m.demotion(), 240);
    assert_eq!(m.poll_timeout(), Some(t0 + master_down_interval(1, 10)));
    m.handle_timeout(t0 + master_down_interval(1, 10));
    let out = drain(&mut m);
    assert!(out.contains(&Output::SendAdvert {
        family: Family::V4,
        advbase: 1,
        advskew: 240,
        counter: 1000
    }));
    let now = t0 + master_down_interval(1, 10);
    assert_eq!(m.poll_timeout(), Some(now + us(1_937_500)));
}

#[test]
fn master_sends_an_advert_every_interval_and_announces_once_more_after_two() {
    let t0 = Instant::now();
    let mut m = master(cfg(100), t0);
    let interval = us(1_390_625);
    let mut t = t0;
    let mut announces = Vec::new();
    for round in 1..=4 {
        t += interval;
        assert_eq!(m.poll_timeout(), Some(t));
        m.handle_timeout(t);
        let out = drain(&mut m);
        assert_eq!(
            out[0],
            Output::SendAdvert {
                family: Family::V4,
                advbase: 1,
                advskew: 100,
                counter: 1000 + round
            }
        );
        if out.contains(&Output::Announce) {
            announces.push(round);
        }
    }
    assert_eq!(
        announces,
        vec![2],
        "the delayed announce comes with the second advert"
    );
}

#[test]
fn announce_count_1_announces_only_at_takeover() {
    let t0 = Instant::now();
    let mut m = master(
        MachineConfig {
            announce_count: 1,
            ..cfg(0)
        },
        t0,
    );
    for s in 1..=5 {
        m.handle_timeout(t0 + Duration::from_secs(s));
        assert!(!drain(&mut m).contains(&Output::Announce));
    }
}

#[test]
fn master_yields_to_an_equal_advert() {
    let t0 = Instant::now();
    let mut m = master(cfg(100), t0);
    m.handle_input(t0 + ms(10), Input::Advert(advert(1, 100, 5)));
    let out = drain(&mut m);
    // A last advert first, so the winner hears a rival master and re-announces.
    assert!(matches!(
        out[0],
        Output::SendAdvert {
            family: Family::V4,
            advbase: 1,
            advskew: 100,
            ..
        }
    ));
    assert_eq!(
        out[1..],
        [
            Output::Transition {
                from: State::Master,
                to: State::Backup,
                reason: Reason::MoreFrequentAdvertisement
            },
            Output::ReleaseAddresses,
        ]
    );
    assert_eq!(m.poll_timeout(), Some(t0 + ms(10) + us(3_390_625)));
}

#[test]
fn master_yields_to_a_faster_advert_and_compares_its_demoted_skew() {
    let t0 = Instant::now();
    let mut m = master(cfg(0), t0);
    m.handle_input(t0, Input::Advert(advert(1, 50, 5)));
    assert_eq!(m.state(), State::Master, "slower peer");
    m.handle_input(t0, Input::Demotion(60));
    m.handle_input(t0 + ms(1), Input::Advert(advert(1, 50, 6)));
    assert_eq!(m.state(), State::Backup, "demoted to 60 > 50");
}

#[test]
fn master_reannounces_against_a_slower_rival_at_most_once_per_interval() {
    let t0 = Instant::now();
    let mut m = master(cfg(0), t0);
    let mut announces_at = Vec::new();
    for i in 0..12u64 {
        let t = t0 + ms(300 * i);
        m.handle_input(t, Input::Advert(advert(1, 100, 10 + i)));
        if drain(&mut m).contains(&Output::Announce) {
            announces_at.push(i);
        }
    }
    // Takeover announced at t0; then 1.2 s and 2.4 s are the first ≥ 1 s apart.
    assert_eq!(announces_at, vec![4, 8]);
    assert_eq!(m.state(), State::Master);
}

#[test]
fn preempt_off_backup_leaves_a_slower_master_alone() {
    let t0 = Instant::now();
    let mut m = backup(cfg(0), t0);
    m.handle_input(t0, Input::Advert(advert(1, 100, 5)));
    assert_eq!(m.state(), State::Backup);
    assert_eq!(m.poll_timeout(), Some(t0 + Duration::from_secs(3)));
}

#[test]
fn preempt_on_backup_takes_over_a_slower_master_but_not_an_equal_one() {
    let t0 = Instant::now();
    let mut m = backup(
        MachineConfig {
            preempt: true,
            ..cfg(50)
        },
        t0,
    );
    m.handle_input(t0, Input::Advert(advert(1, 50, 5)));
    assert_eq!(m.state(), State::Backup, "equal is not slower");
    m.handle_input(t0, Input::Advert(advert(1, 51, 6)));
    assert_eq!(
        transitions(&drain(&mut m)),
        vec![(State::Backup, State::Master, Reason::PreemptingSlowerMaster)]
    );
}

#[test]
fn any_backup_takes_over_when_the_master_will_time_out() {
    let t0 = Instant::now();
    // advbase 1 → 3 s + own skew; a peer at advbase 4 would be declared dead before it speaks.
    let mut m = backup(cfg(200), t0);
    m.handle_input(t0, Input::Advert(advert(3, 100, 5)));
    assert_eq!(m.state(), State::Backup, "3.78 s is not below 3.39 s");
    let mut m = backup(cfg(0), t0);
    m.handle_input(t0, Input::Advert(advert(3, 0, 5)));
    assert_eq!(m.state(), State::Backup, "equal: 3 s is not less than 3 s");
    m.handle_input(t0, Input::Advert(advert(3, 1, 6)));
    assert_eq!(
        transitions(&drain(&mut m)),
        vec![(State::Backup, State::Master, Reason::MasterWillTimeOut)]
    );
}

#[test]
fn master_will_time_out_uses_the_demoted_skew() {
    let t0 = Instant::now();
    let mut m = backup(cfg(0), t0);
    m.handle_input(t0, Input::Demotion(100));
    m.handle_input(t0, Input::Advert(advert(3, 50, 5)));
    assert_eq!(
        m.state(),
        State::Backup,
        "(3 s, 100) is not below (3 s, 50)"
    );
}

#[test]
fn bow_out_advert_makes_a_backup_take_over_at_once() {
    let t0 = Instant::now();
    let mut leaving = master(cfg(0), t0);
    leaving.handle_input(t0 + ms(100), Input::Admin(AdminRequest::Leave));
    let out = drain(&mut leaving);
    assert_eq!(
        out,
        vec![
            Output::SendAdvert {
                family: Family::V4,
                advbase: 255,
                advskew: 255,
                counter: 1001
            },
            Output::Transition {
                from: State::Master,
                to: State::Init,
                reason: Reason::Leaving
            },
            Output::ReleaseAddresses,
        ]
    );
    let mut b = backup(cfg(100), t0);
    b.handle_input(t0 + ms(101), Input::Advert(advert(255, 255, 1001)));
    assert_eq!(
        transitions(&drain(&mut b)),
        vec![(State::Backup, State::Master, Reason::MasterWillTimeOut)]
    );
    // Leave stays in INIT even when the link flaps, until Enable.
    leaving.handle_input(t0 + ms(200), Input::Link { up: true });
    assert_eq!(leaving.state(), State::Init);
    leaving.handle_input(t0 + ms(300), Input::Admin(AdminRequest::Enable));
    assert_eq!(
        transitions(&drain(&mut leaving)),
        vec![(State::Init, State::Backup, Reason::CarpEnabled)]
    );
}

#[test]
fn leave_without_bow_out_or_from_backup_sends_nothing() {
    let t0 = Instant::now();
    let mut m = master(
        MachineConfig {
            bow_out: false,
            ..cfg(0)
        },
        t0,
    );
    m.handle_input(t0, Input::Admin(AdminRequest::Leave));
    let out = drain(&mut m);
    assert!(!out.iter().any(|o| matches!(o, Output::SendAdvert { .. })));
    assert!(out.contains(&Output::ReleaseAddresses));
    let mut b = backup(cfg(0), t0);
    b.handle_input(t0, Input::Admin(AdminRequest::Leave));
    assert_eq!(
        drain(&mut b),
        vec![Output::Transition {
            from: State::Backup,
            to: State::Init,
            reason: Reason::Leaving
        }]
    );
}

#[test]
fn dual_stack_runs_separate_master_down_timers() {
    let t0 = Instant::now();
    let mut m = backup(MachineConfig { v6: true, ..cfg(0) }, t0);
    // Only IPv4 adverts arrive: the IPv6 timer, armed at t0, still fires at t0 + 3 s.
    for i in 1..=5u64 {
        m.handle_input(t0 + ms(500 * i), Input::Advert(advert(1, 0, i)));
        assert_eq!(m.state(), State::Backup);
    }
    assert_eq!(m.poll_timeout(), Some(t0 + Duration::from_secs(3)));
    // An IPv6 advert re-arms only the IPv6 timer.
    let v6 = Advert {
        family: Family::V6,
        source: PEER6,
        ..advert(1, 0, 6)
    };
    m.handle_input(t0 + ms(2600), Input::Advert(v6));
    assert_eq!(
        m.poll_timeout(),
        Some(t0 + ms(2500) + Duration::from_secs(3))
    );
    m.handle_timeout(t0 + ms(5500));
    assert_eq!(
        transitions(&drain(&mut m)),
        vec![(State::Backup, State::Master, Reason::MasterTimedOut)]
    );
    // A MASTER sends one advert per family, each with its own counter.
    m.handle_timeout(t0 + ms(6500));
    let sends: Vec<_> = drain(&mut m)
        .into_iter()
        .filter_map(|o| match o {
            Output::SendAdvert {
                family, counter, ..
            } => Some((family, counter)),
            _ => None,
        })
        .collect();
    assert_eq!(sends, vec![(Family::V4, 9), (Family::V6, 10)]);
}

#[test]
fn advert_of_an_unconfigured_family_is_dropped() {
    let t0 = Instant::now();
    let mut m = master(cfg(100), t0);
    let v6 = Advert {
        family: Family::V6,
        source: PEER6,
        ..advert(1, 0, 6)
    };
    m.handle_input(t0, Input::Advert(v6));
    assert_eq!(
        drain(&mut m),
        vec![Output::Dropped(DropReason::WrongFamily)]
    );
    assert_eq!(m.state(), State::Master);
    assert_eq!(DropReason::WrongFamily.stat_name(), "badvhid");
}

#[test]
fn counter_starts_random_and_is_adopted_from_peers() {
    let t0 = Instant::now();
    let mut m = backup(cfg(0), t0);
    m.handle_input(t0, Input::Advert(advert(1, 100, 5)));
    m.handle_timeout(t0 + Duration::from_secs(3));
    let out = drain(&mut m);
    assert!(out.contains(&Output::SendAdvert {
        family: Family::V4,
        advbase: 1,
        advskew: 0,
        counter: 6
    }));
    // FreeBSD copies even a smaller counter.
    m.handle_input(t0 + ms(3100), Input::Advert(advert(1, 200, 2)));
    m.handle_timeout(t0 + Duration::from_secs(4));
    assert!(drain(&mut m).contains(&Output::SendAdvert {
        family: Family::V4,
        advbase: 1,
        advskew: 0,
        counter: 3
    }));
}

#[test]
fn the_first_advert_carries_the_random_start_and_counters_wrap() {
    let t0 = Instant::now();
    let mut m = Machine::new(cfg(0), u64::MAX);
    m.handle_input(t0, Input::Link { up: true });
    m.handle_input(t0, Input::Admin(AdminRequest::ForceMaster));
    m.handle_timeout(t0 + Duration::from_secs(1));
    let counters: Vec<_> = drain(&mut m)
        .into_iter()
        .filter_map(|o| match o {
            Output::SendAdvert { counter, .. } => Some(counter),
            _ => None,
        })
        .collect();
    assert_eq!(counters, vec![u64::MAX, 0]);
}

#[test]
fn with_the_guard_the_counter_only_moves_forward() {
    let t0 = Instant::now();
    let mut m = backup(
        MachineConfig {
            replay_guard: true,
            ..cfg(0)
        },
        t0,
    );
    m.handle_input(t0, Input::Advert(advert(1, 100, 5000)));
    m.handle_input(
        t0,
        Input::Advert(Advert {
            source: SELF,
            ..advert(1, 100, 20)
        }),
    );
    m.handle_timeout(t0 + Duration::from_secs(3));
    assert!(drain(&mut m).contains(&Output::SendAdvert {
        family: Family::V4,
        advbase: 1,
        advskew: 0,
        counter: 5001
    }));
}

#[test]
fn echo_of_our_own_advert_is_ignored_but_a_foreign_equal_advert_is_not() {
    let t0 = Instant::now();
    let mut m = master(cfg(0), t0);
    let echo = Advert {
        source: SELF,
        from_self: true,
        ..advert(1, 0, 1000)
    };
    m.handle_input(t0 + ms(1), Input::Advert(echo));
    assert_eq!(drain(&mut m), vec![Output::Dropped(DropReason::Echo)]);
    assert_eq!(m.state(), State::Master);
    assert_eq!(m.last_peer(), None, "an echo is not a peer");
    assert_eq!(DropReason::Echo.stat_name(), "echo");
    // From our address but a counter we never sent: treated as FreeBSD would (equal → yield).
    m.handle_input(
        t0 + ms(2),
        Input::Advert(Advert {
            counter: 77,
            ..echo
        }),
    );
    assert_eq!(m.state(), State::Backup);
}

#[test]
fn replayed_adverts_are_dropped_with_the_guard_and_believed_without() {
    for guard in [true, false] {
        let t0 = Instant::now();
        let mut m = master(
            MachineConfig {
                replay_guard: guard,
                ..cfg(50)
            },
            t0,
        );
        // A slower peer's adverts, as an attacker would have captured them earlier.
        for c in 500..505 {
            m.handle_input(t0, Input::Advert(advert(1, 200, c)));
        }
        assert_eq!(m.state(), State::Master);
        drain(&mut m);
        // Replay of counter 502 with advskew rewritten to 0 (the HMAC does not cover it).
        m.handle_input(t0 + ms(10), Input::Advert(advert(1, 0, 502)));
        let out = drain(&mut m);
        if guard {
            assert_eq!(out, vec![Output::Dropped(DropReason::Replay)]);
            assert_eq!(m.state(), State::Master);
            // An exact duplicate is a replay too; a fresh counter is believed.
            m.handle_input(t0 + ms(20), Input::Advert(advert(1, 0, 505)));
            assert_eq!(m.state(), State::Backup);
        } else {
            assert_eq!(m.state(), State::Backup, "FreeBSD believes the replay");
        }
    }
    assert_eq!(DropReason::Replay.stat_name(), "replay");
}

#[test]
fn replay_of_our_own_old_advert_is_dropped_with_the_guard() {
    let t0 = Instant::now();
    let mut m = master(
        MachineConfig {
            replay_guard: true,
            ..cfg(50)
        },
        t0,
    );
    // Send 40 rounds so counter 1000 has left the echo ring.
    for s in 1..=40 {
        m.handle_timeout(t0 + advert_interval(1, 50, 0) * s);
    }
    drain(&mut m);
    let old = Advert {
        source: SELF,
        from_self: true,
        ..advert(1, 0, 1000)
    };
    m.handle_input(t0 + Duration::from_secs(60), Input::Advert(old));
    assert_eq!(drain(&mut m), vec![Output::Dropped(DropReason::Replay)]);
    assert_eq!(m.state(), State::Master);
}

#[test]
fn demotion_change_makes_a_master_advertise_at_once() {
    let t0 = Instant::now();
    let mut m = master(cfg(20), t0);
    let t = t0 + ms(400);
    m.handle_input(t, Input::Demotion(500));
    assert_eq!(
        drain(&mut m),
        vec![Output::SendAdvert {
            family: Family::V4,
            advbase: 1,
            advskew: 240,
            counter: 1001
        }]
    );
    assert_eq!(m.poll_timeout(), Some(t + us(1_937_500)));
    m.handle_input(t, Input::Demotion(500));
    assert_eq!(drain(&mut m), vec![], "unchanged total: nothing to tell");
    m.handle_input(t, Input::Demotion(-100));
    assert!(drain(&mut m).contains(&Output::SendAdvert {
        family: Family::V4,
        advbase: 1,
        advskew: 0,
        counter: 1002
    }));
}

#[test]
fn link_down_goes_to_init_and_up_back_to_backup() {
    let t0 = Instant::now();
    let mut m = master(cfg(0), t0);
    m.handle_input(t0, Input::Link { up: false });
    assert_eq!(
        drain(&mut m),
        vec![
            Output::Transition {
                from: State::Master,
                to: State::Init,
                reason: Reason::HardwareInterfaceDown
            },
            Output::ReleaseAddresses
        ]
    );
    assert_eq!(m.poll_timeout(), None);
    m.handle_input(t0, Input::Advert(advert(1, 0, 4)));
    assert_eq!(m.state(), State::Init, "INIT ignores adverts");
    m.handle_input(t0 + ms(5), Input::Link { up: true });
    assert_eq!(m.state(), State::Backup);
    assert_eq!(m.poll_timeout(), Some(t0 + ms(5) + Duration::from_secs(3)));
}

#[test]
fn admin_requests_follow_the_ioctl_rules() {
    let t0 = Instant::now();
    let mut m = Machine::new(cfg(0), 1);
    m.handle_input(t0, Input::Admin(AdminRequest::ForceMaster));
    assert_eq!(m.state(), State::Init, "INIT ignores state requests");
    m.handle_input(t0, Input::Link { up: true });
    drain(&mut m);
    m.handle_input(t0, Input::Admin(AdminRequest::ForceBackup));
    assert_eq!(drain(&mut m), vec![], "already BACKUP");
    m.handle_input(t0, Input::Admin(AdminRequest::ForceMaster));
    assert_eq!(
        transitions(&drain(&mut m)),
        vec![(State::Backup, State::Master, Reason::UserRequested)]
    );
    m.handle_input(t0 + ms(1), Input::Admin(AdminRequest::ForceBackup));
    let out = drain(&mut m);
    assert_eq!(
        transitions(&out),
        vec![(State::Master, State::Backup, Reason::UserRequested)]
    );
    assert!(out.contains(&Output::ReleaseAddresses));
    // Election resumes: alone, it is master again after the master-down interval.
    assert_eq!(m.poll_timeout(), Some(t0 + ms(1) + Duration::from_secs(3)));
    m.handle_input(t0 + ms(2), Input::Admin(AdminRequest::Disable));
    assert_eq!(
        transitions(&drain(&mut m)),
        vec![(State::Backup, State::Init, Reason::CarpDisabled)]
    );
    m.handle_input(t0 + ms(3), Input::Link { up: false });
    m.handle_input(t0 + ms(4), Input::Link { up: true });
    assert_eq!(
        m.state(),
        State::Init,
        "disabled stays INIT across link flaps"
    );
    m.handle_input(t0 + ms(5), Input::Admin(AdminRequest::Enable));
    assert_eq!(m.state(), State::Backup);
}

#[test]
fn set_config_retimes_without_transitions() {
    let t0 = Instant::now();
    let mut b = backup(cfg(0), t0);
    b.set_config(t0 + ms(100), cfg(100));
    assert_eq!(drain(&mut b), vec![]);
    assert_eq!(b.poll_timeout(), Some(t0 + ms(100) + us(3_390_625)));
    assert_eq!(b.config().advskew, 100);

    let mut m = master(cfg(0), t0);
    m.set_config(t0 + ms(100), cfg(100));
    assert_eq!(
        drain(&mut m),
        vec![Output::SendAdvert {
            family: Family::V4,
            advbase: 1,
            advskew: 100,
            counter: 1001
        }]
    );
    m.set_config(
        t0 + ms(200),
        MachineConfig {
            preempt: true,
            ..cfg(100)
        },
    );
    assert_eq!(
        drain(&mut m),
        vec![],
        "preempt alone changes nothing on the wire"
    );
    m.set_config(
        t0 + ms(300),
        MachineConfig {
            v4: false,
            ..cfg(100)
        },
    );
    assert_eq!(
        transitions(&drain(&mut m)),
        vec![(State::Master, State::Init, Reason::CarpDisabled)]
    );
}

fn advert_from(source: IpAddr, advbase: u8, advskew: u8, counter: u64) -> Advert {
    Advert {
        source,
        ..advert(advbase, advskew, counter)
    }
}

const FAST: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 3));

#[test]
fn backup_does_not_preempt_a_slower_master_while_a_faster_one_is_alive() {
    let t0 = Instant::now();
    let mut b = backup(
        MachineConfig {
            preempt: true,
            ..cfg(100)
        },
        t0,
    );
    // After a partition heals: the faster master (skew 50) will make the slower one (200)
    // yield, so this backup must not grab the addresses in between.
    b.handle_input(t0, Input::Advert(advert_from(FAST, 1, 50, 10)));
    b.handle_input(t0 + ms(500), Input::Advert(advert_from(PEER, 1, 200, 11)));
    b.handle_input(t0 + ms(2300), Input::Advert(advert_from(PEER, 1, 200, 12)));
    assert_eq!(b.state(), State::Backup);
    // The faster one (1.195 s interval) has missed two adverts: it is gone, preempt as usual.
    b.handle_input(t0 + ms(2400), Input::Advert(advert_from(PEER, 1, 200, 13)));
    assert_eq!(
        transitions(&drain(&mut b)),
        vec![(State::Backup, State::Master, Reason::PreemptingSlowerMaster)]
    );
}

#[test]
fn a_slower_live_master_does_not_stop_preemption() {
    let t0 = Instant::now();
    let mut b = backup(
        MachineConfig {
            preempt: true,
            ..cfg(100)
        },
        t0,
    );
    b.handle_input(t0, Input::Advert(advert_from(FAST, 1, 150, 10)));
    assert_eq!(
        b.state(),
        State::Master,
        "150 is slower than our 100: preempted at once"
    );
}

#[test]
fn bow_out_of_a_rival_does_not_move_a_backup_while_the_real_master_is_alive() {
    let t0 = Instant::now();
    let mut b = backup(cfg(100), t0);
    b.handle_input(t0, Input::Advert(advert_from(FAST, 1, 0, 10)));
    b.handle_input(t0 + ms(10), Input::Advert(advert_from(PEER, 255, 255, 11)));
    assert_eq!(
        b.state(),
        State::Backup,
        "the live master at skew 0 is not going away"
    );
    // The live master itself bowing out is what hands over.
    b.handle_input(t0 + ms(20), Input::Advert(advert_from(FAST, 255, 255, 12)));
    assert_eq!(b.state(), State::Master);
}

#[test]
fn step_down_holds_for_the_pause_then_runs_master_down_afresh() {
    let t0 = Instant::now();
    let mut m = master(
        MachineConfig {
            preempt: true,
            ..cfg(0)
        },
        t0,
    );
    let hold = Duration::from_secs(3);
    m.handle_input(t0 + ms(10), Input::Admin(AdminRequest::StepDown { hold }));
    let out = drain(&mut m);
    assert_eq!(
        transitions(&out),
        vec![(State::Master, State::Backup, Reason::UserRequested)]
    );
    assert!(out.contains(&Output::ReleaseAddresses));
    assert!(
        !out.iter().any(|o| matches!(o, Output::SendAdvert { .. })),
        "ucarp announces nothing: {out:?}"
    );
    // Pause, then the full master-down interval.
    assert_eq!(
        m.poll_timeout(),
        Some(t0 + ms(10) + hold + Duration::from_secs(3))
    );
    // A slower master during the pause is not preempted, and does not shorten the wait.
    m.handle_input(t0 + ms(500), Input::Advert(advert(1, 100, 7)));
    assert_eq!(m.state(), State::Backup);
    assert_eq!(
        m.poll_timeout(),
        Some(t0 + ms(10) + hold + Duration::from_secs(3))
    );
    // After the pause the rules are the usual ones again: preempt the slower master.
    m.handle_input(t0 + ms(3500), Input::Advert(advert(1, 100, 8)));
    assert_eq!(
        transitions(&drain(&mut m)),
        vec![(State::Backup, State::Master, Reason::PreemptingSlowerMaster)]
    );
    // A BACKUP ignores it.
    let mut b = backup(cfg(0), t0);
    b.handle_input(t0, Input::Admin(AdminRequest::StepDown { hold }));
    assert_eq!(drain(&mut b), vec![]);
    assert_eq!(b.poll_timeout(), Some(t0 + Duration::from_secs(3)));
}
