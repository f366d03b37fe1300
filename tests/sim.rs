//! Deterministic, seeded simulation of CARP and VRRPv3 clusters driving the real
//! `proto::Machine` and `proto::VrrpMachine`.
//!
//! Each property runs over many seeds. A failure prints the seed, the cluster and a readable
//! trace (`t=3.390625 node1 vhid1 BACKUP -> MASTER (master timed out)`); replay one seed with
//! `SIM_SEED=<seed> cargo test --test sim <property>` (add `SIM_VERBOSE=1` to see every advert).
//! `SIM_SEEDS=<n>` changes how many seeds each property runs.

#[path = "sim/rng.rs"]
mod rng;
#[path = "sim/world.rs"]
mod world;

use std::time::Duration;

use carpd::proto::{AdminRequest, Advert, Family, Reason, State};
use rng::Rng;
use world::{ClusterSpec, Net, NodeSpec, VhidSpec, World};

/// Run `property` for many seeds; on failure panic with everything needed to reproduce it.
fn check(name: &str, default_seeds: u64, property: impl Fn(u64) -> (World, Result<(), String>)) {
    let only: Option<u64> = std::env::var("SIM_SEED").ok().and_then(|s| s.parse().ok());
    let count = std::env::var("SIM_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default_seeds);
    let seeds: Box<dyn Iterator<Item = u64>> = match only {
        Some(s) => Box::new(std::iter::once(s)),
        None => Box::new(0..count),
    };
    for seed in seeds {
        let (world, result) = property(seed);
        let failure = match result {
            Err(e) => Some(e),
            Ok(()) if !world.violations.is_empty() => Some(world.violations.join("\n")),
            Ok(()) => None,
        };
        if let Some(why) = failure {
            panic!(
                "{name} failed for seed {seed}: {why}\ncluster:\n{}\ntrace:\n{}\n\
                 replay with: SIM_SEED={seed} cargo test --test sim {name}",
                world.describe(),
                world.trace()
            );
        }
        if only.is_some() {
            println!("{}\n{}", world.describe(), world.trace());
        }
    }
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

struct SpecOptions {
    replay_guard: bool,
    /// Every node has preempt on (otherwise random per cluster, sometimes per node).
    preempt_all: bool,
    /// Chance that a VHID is a VRRPv3 router rather than CARP.
    vrrp: f64,
}

/// A random cluster: 2–5 nodes, 1–2 VHIDs (IPv4, IPv6 or dual-stack), distinct advskews;
/// VRRP routers (one family) at 10 ms, 100 ms or 1 s with random priorities, ties and
/// sometimes an address owner.
fn random_spec(rng: &mut Rng, opts: SpecOptions) -> ClusterSpec {
    let n = 2 + rng.below(4) as usize;
    let vhid_count = 1 + rng.below(2) as usize;
    let vhids: Vec<VhidSpec> = (0..vhid_count)
        .map(|i| {
            let vrrp = rng.chance(opts.vrrp).then(|| *rng.pick(&[1, 10, 100]));
            let families: &[(bool, bool)] = match vrrp {
                Some(_) => &[(true, false), (false, true)],
                None => &[(true, false), (false, true), (true, true)],
            };
            let (v4, v6) = *rng.pick(families);
            VhidSpec {
                vhid: 1 + i as u8 * 10,
                advbase: if vrrp.is_some() {
                    1
                } else {
                    *rng.pick(&[1, 1, 1, 2])
                },
                v4,
                v6,
                vrrp,
            }
        })
        .collect();
    // Distinct skews per VHID: identical timing is FreeBSD's known split-brain-then-both-yield
    // case, which has no bounded convergence (tested separately by hand in the unit tests).
    let mut skews: Vec<Vec<u8>> = vec![Vec::new(); n];
    for _ in 0..vhid_count {
        let mut pool: Vec<u8> = (0..=30).map(|k| k * 8).collect();
        for node_skews in skews.iter_mut() {
            let i = rng.below(pool.len() as u64) as usize;
            node_skews.push(pool.swap_remove(i));
        }
    }
    // Priorities may tie (the address breaks it); at most one node owns the addresses.
    let mut priorities: Vec<Vec<u8>> = vec![Vec::new(); n];
    for _ in 0..vhid_count {
        let owner = rng.chance(0.2).then(|| rng.below(n as u64) as usize);
        for (node, p) in priorities.iter_mut().enumerate() {
            let prio = if owner == Some(node) {
                255
            } else {
                *rng.pick(&[1, 50, 100, 100, 150, 200, 254])
            };
            p.push(prio);
        }
    }
    let cluster_preempt = opts.preempt_all || rng.chance(0.5);
    let mixed = !opts.preempt_all && rng.chance(0.25);
    let nodes = skews
        .into_iter()
        .zip(priorities)
        .map(|(skews, priorities)| NodeSpec {
            skews,
            priorities,
            preempt: if mixed {
                rng.chance(0.5)
            } else {
                cluster_preempt
            },
        })
        .collect();
    ClusterSpec {
        vhids,
        nodes,
        replay_guard: opts.replay_guard,
    }
}

fn max_advbase(w: &World) -> u64 {
    w.spec
        .vhids
        .iter()
        .map(|v| u64::from(v.advbase))
        .max()
        .unwrap_or(1)
}

/// Every CARP VHID has advertised timings that differ between running nodes (VRRP breaks
/// ties by address).
fn timings_distinct(w: &World) -> bool {
    let running: Vec<usize> = (0..w.node_count()).filter(|&n| w.is_running(n)).collect();
    (0..w.vhid_count()).filter(|&v| !w.is_vrrp(v)).all(|v| {
        let mut t: Vec<_> = running.iter().map(|&n| w.timing(n, v)).collect();
        t.sort();
        t.windows(2).all(|p| p[0] != p[1])
    })
}

/// Pick per-node demotions (possibly none) that keep every VHID's timings distinct.
fn settle_demotions(w: &mut World, choices: &[i32]) {
    for _ in 0..10 {
        for n in 0..w.node_count() {
            let d = *w.rng().pick(choices);
            w.demote(n, d);
        }
        if timings_distinct(w) {
            return;
        }
    }
    for n in 0..w.node_count() {
        w.demote(n, 0);
    }
}

fn boot_all(w: &mut World, within: Duration) {
    let mut order: Vec<(Duration, usize)> = (0..w.node_count())
        .map(|n| (w.rng().duration(Duration::ZERO, within), n))
        .collect();
    order.sort();
    for (t, n) in order {
        w.run_until(t);
        w.boot(n);
    }
}

/// Exactly one MASTER per VHID, holding the addresses; with preempt on the most preferred
/// node, that node.
fn one_master_each(w: &World, require_preferred: bool) -> Result<(), String> {
    for v in 0..w.vhid_count() {
        // Nodes taking part in this VHID's election (a node that left sits in INIT).
        let running: Vec<usize> = (0..w.node_count())
            .filter(|&n| w.state(n, v).is_some_and(|s| s != State::Init))
            .collect();
        let masters = w.masters(v);
        if masters.len() != 1 {
            return Err(format!(
                "t={:?}: vhid index {v} has masters {masters:?}",
                w.now()
            ));
        }
        if w.holders(v) != masters {
            return Err(format!(
                "vhid index {v}: holders {:?} != masters",
                w.holders(v)
            ));
        }
        if require_preferred
            && let Some(p) = w.preferred(v, &running)
            && w.spec.nodes[p].preempt
            && masters[0] != p
        {
            return Err(format!(
                "vhid index {v}: master is node{} but the preferred node{p} has preempt",
                masters[0]
            ));
        }
    }
    Ok(())
}

/// No transition in `[from, now]`.
fn no_transitions_since(w: &World, from: Duration) -> Result<(), String> {
    match w.transitions_since(from).first() {
        None => Ok(()),
        Some(t) => Err(format!(
            "flap at {:?}: node{} vhid index {} {} -> {} ({})",
            t.at, t.node, t.vhid, t.from, t.to, t.reason
        )),
    }
}

/// Cold start on a healthy network, then wait until an election must be over.
fn stable_cluster(seed: u64, opts: SpecOptions, net: Net) -> World {
    let mut rng = Rng::new(seed.wrapping_mul(0x2545_f491_4f6c_dd1d) ^ 0xc0ffee);
    let spec = random_spec(&mut rng, opts);
    let mut w = World::new(spec, seed);
    w.set_net(net);
    boot_all(&mut w, secs(2.0));
    let settle = w.now() + Duration::from_secs(3 * max_advbase(&w) + 4);
    w.run_until(settle);
    w
}

fn healthy_with_echo(rng: &mut Rng) -> Net {
    Net {
        echo: *rng.pick(&[0.0, 0.3, 1.0]),
        dup: *rng.pick(&[0.0, 0.0, 0.1]),
        ..Net::healthy()
    }
}

/// Random failures of every kind, then a healthy network: the cluster must settle on exactly
/// one master per VHID within a bounded time and then stay put.
fn chaos(seed: u64, replay_guard: bool) -> (World, Result<(), String>) {
    let mut rng = Rng::new(seed ^ 0xc4a0_5000);
    let spec = random_spec(
        &mut rng,
        SpecOptions {
            replay_guard,
            preempt_all: false,
            vrrp: 0.4,
        },
    );
    let mut w = World::new(spec, seed);
    w.set_net(Net {
        loss: 0.1,
        ..healthy_with_echo(&mut rng)
    });
    boot_all(&mut w, secs(2.0));
    let n = w.node_count();
    let chaos_end = secs(2.0 + rng.below(50) as f64);
    let events = rng.below(12);
    let mut times: Vec<Duration> = (0..events)
        .map(|_| rng.duration(secs(2.0), chaos_end))
        .collect();
    times.sort();
    for t in times {
        w.run_until(t);
        let node = rng.below(n as u64) as usize;
        let vhid = rng.below(w.vhid_count() as u64) as usize;
        match rng.below(12) {
            0 => {
                let sides: Vec<usize> = (0..n).map(|_| rng.below(2) as usize).collect();
                w.partition(&sides);
            }
            1 => w.heal(),
            2 => {
                let other = (node + 1 + rng.below(n as u64 - 1) as usize) % n;
                w.cut_one_way(node, other);
            }
            3 => w.crash(node),
            4 => w.boot(node),
            5 => {
                let up = rng.chance(0.5);
                w.link(node, up);
            }
            6 => {
                let d = *rng.pick(&[-50, 0, 50, 100, 240, 1000]);
                w.demote(node, d);
            }
            7 => {
                let req = *rng.pick(&[
                    AdminRequest::ForceBackup,
                    AdminRequest::ForceMaster,
                    AdminRequest::Disable,
                    AdminRequest::Enable,
                    AdminRequest::Leave,
                ]);
                w.admin(node, vhid, req);
            }
            _ => {
                let net = Net {
                    loss: *rng.pick(&[0.0, 0.05, 0.3, 0.6]),
                    dup: *rng.pick(&[0.0, 0.1, 0.5]),
                    delay_min: secs(0.000_05),
                    delay_max: secs(*rng.pick(&[0.001, 0.005, 0.05, 0.4])),
                    echo: *rng.pick(&[0.0, 0.5, 1.0]),
                    echo_flagged: true,
                    reorder: rng.chance(0.5),
                };
                w.set_net(net);
            }
        }
    }
    // The network becomes healthy and every node runs, with its link up and CARP enabled.
    w.run_until(chaos_end);
    let healthy = healthy_with_echo(&mut rng);
    w.set_net(healthy);
    w.heal();
    for node in 0..n {
        if !w.is_running(node) {
            w.boot(node);
        }
        w.link(node, true);
        for v in 0..w.vhid_count() {
            w.admin(node, v, AdminRequest::Enable);
        }
    }
    settle_demotions(&mut w, &[0, 0, 0, 50, 240, -20]);
    let healed = w.now();
    // A master-down interval (+ skew) for an election, then room for preemption and the
    // slower masters to hear the winner.
    let advbase = max_advbase(&w);
    let bound = Duration::from_secs(3 * advbase + 1 + 2 * (advbase + 1));
    w.run_until(healed + bound);
    let result = one_master_each(&w, true).and_then(|()| {
        let from = w.now();
        w.run_until(from + secs(30.0));
        no_transitions_since(&w, from).and_then(|()| one_master_each(&w, true))
    });
    (w, result)
}

#[test]
fn chaos_then_healthy_network_converges_with_replay_guard() {
    check(
        "chaos_then_healthy_network_converges_with_replay_guard",
        1500,
        |s| chaos(s, true),
    );
}

#[test]
fn chaos_then_healthy_network_converges_without_replay_guard() {
    check(
        "chaos_then_healthy_network_converges_without_replay_guard",
        1000,
        |s| chaos(s, false),
    );
}

/// Longest advert interval any node may use (for the "within one advert" bounds).
fn max_interval(w: &World) -> Duration {
    (0..w.node_count())
        .flat_map(|n| (0..w.vhid_count()).map(move |v| (n, v)))
        .map(|(n, v)| w.timing(n, v))
        .max()
        .unwrap_or_default()
}

#[test]
fn partition_heal_converges_within_one_advert_interval() {
    check(
        "partition_heal_converges_within_one_advert_interval",
        1000,
        |seed| {
            let mut rng = Rng::new(seed ^ 0x9a27_1710);
            let opts = SpecOptions {
                replay_guard: rng.chance(0.5),
                preempt_all: false,
                vrrp: 0.4,
            };
            let net = healthy_with_echo(&mut rng);
            let mut w = stable_cluster(seed, opts, net);
            let n = w.node_count();
            // Two non-empty sides.
            let mut sides: Vec<usize> = (0..n).map(|_| rng.below(2) as usize).collect();
            sides[0] = 0;
            sides[1] = 1;
            w.partition(&sides);
            let t = w.now() + rng.duration(secs(10.0), secs(30.0));
            w.run_until(t);
            // Each side has elected its own master by now.
            w.heal();
            let healed = w.now();
            let bound = max_interval(&w) + w.net().delay_max * 2 + secs(0.001);
            w.run_until(healed + bound);
            let result = one_master_each(&w, true).and_then(|()| {
                let from = w.now();
                w.run_until(from + secs(20.0));
                no_transitions_since(&w, from)
            });
            (w, result)
        },
    );
}

#[test]
fn demotion_hands_over_within_one_advert() {
    check("demotion_hands_over_within_one_advert", 1000, |seed| {
        let mut rng = Rng::new(seed ^ 0x00de_307e);
        let opts = SpecOptions {
            replay_guard: rng.chance(0.5),
            preempt_all: true,
            vrrp: 0.0,
        };
        let mut w = stable_cluster(seed, opts, healthy_with_echo(&mut rng));
        if let Err(e) = one_master_each(&w, true) {
            return (w, Err(format!("not stable before demotion: {e}")));
        }
        // Demote the master of the first VHID until it is no longer the preferred node.
        let master = w.masters(0)[0];
        let all: Vec<usize> = (0..w.node_count()).collect();
        let others: Vec<usize> = all.iter().copied().filter(|&n| n != master).collect();
        let fastest_other = others.iter().map(|&n| w.timing(n, 0)).min();
        let demotion = (1..=240).find(|&d| {
            let t = w.timing_with(master, 0, d);
            fastest_other.is_some_and(|f| t > f)
                && (0..w.vhid_count()).all(|v| {
                    let t = w.timing_with(master, v, d);
                    others.iter().all(|&n| w.timing(n, v) != t)
                })
        });
        let Some(demotion) = demotion else {
            // Its configured skew is so much lower that even 240 cannot make it lose.
            return (w, Ok(()));
        };
        w.demote(master, demotion);
        let demoted_at = w.now();
        let old_interval = w.timing(master, 0);
        let bound = w.net().delay_max * 2 + secs(0.001);
        w.run_until(demoted_at + bound);
        let result = one_master_each(&w, true).and_then(|()| {
            if bound >= old_interval {
                return Err("bound is not below one advert interval".into());
            }
            let from = w.now();
            w.run_until(from + secs(20.0));
            no_transitions_since(&w, from)
        });
        (w, result)
    });
}

#[test]
fn bow_out_hands_over_within_one_advert() {
    check("bow_out_hands_over_within_one_advert", 1000, |seed| {
        let mut rng = Rng::new(seed ^ 0xb0_u64);
        let opts = SpecOptions {
            replay_guard: rng.chance(0.5),
            preempt_all: false,
            vrrp: 0.4,
        };
        let mut w = stable_cluster(seed, opts, healthy_with_echo(&mut rng));
        if let Err(e) = one_master_each(&w, true) {
            return (w, Err(format!("not stable before leave: {e}")));
        }
        let vhid = rng.below(w.vhid_count() as u64) as usize;
        let leaving = w.masters(vhid)[0];
        w.admin(leaving, vhid, AdminRequest::Leave);
        let left = w.now();
        // CARP backups take over at once; VRRP ones after their Skew_Time.
        w.run_until(left + w.bow_out_bound(vhid) + w.net().delay_max * 3 + secs(0.001));
        // Every backup took over at once ("master will time out"); the fastest one stays.
        // Every backup that has not yet heard a new master takes over at once ("master will
        // time out"); the one left is the fastest of those, or with preempt the preferred one.
        let result = one_master_each(&w, true).and_then(|()| {
            let from = w.now();
            w.run_until(from + secs(20.0));
            no_transitions_since(&w, from)
        });
        (w, result)
    });
}

fn echo_storm(seed: u64, flagged: bool) -> World {
    let mut rng = Rng::new(seed ^ 0xec40);
    let opts = SpecOptions {
        replay_guard: rng.chance(0.5),
        preempt_all: false,
        vrrp: if flagged { 0.4 } else { 0.0 },
    };
    let net = Net {
        echo: 1.0,
        echo_flagged: flagged,
        ..Net::healthy()
    };
    let mut w = stable_cluster(seed, opts, net);
    let from = w.now();
    w.run_until(from + secs(30.0));
    w
}

#[test]
fn echo_does_not_knock_the_master_out() {
    check("echo_does_not_knock_the_master_out", 500, |seed| {
        let w = echo_storm(seed, true);
        let from = w.now() - secs(30.0);
        let result = no_transitions_since(&w, from).and_then(|()| one_master_each(&w, true));
        let result = result.and_then(|()| match w.echo_drops {
            0 => Err("no echo was ever dropped: the storm did not happen".into()),
            _ => Ok(()),
        });
        (w, result)
    });
}

/// Control for the echo property: unflagged echoes (what FreeBSD effectively does for real
/// VHIDs) do knock the master out, so the property above is not vacuous.
#[test]
fn unflagged_echo_does_knock_the_master_out() {
    check("unflagged_echo_does_knock_the_master_out", 50, |seed| {
        let w = echo_storm(seed, false);
        let yielded = w
            .transitions
            .iter()
            .any(|t| t.reason == Reason::MoreFrequentAdvertisement && t.from == State::Master);
        let result = if yielded {
            Ok(())
        } else {
            Err("expected an echo to make the master yield".into())
        };
        (w, result)
    });
}

/// An attacker on the segment records adverts, then replays them with advbase/advskew
/// rewritten (the HMAC does not cover them) to every node. Returns the world and when the
/// attack started.
fn replay_attack(seed: u64, guard: bool) -> (World, Duration) {
    let mut rng = Rng::new(seed ^ 0x4e91a7);
    let opts = SpecOptions {
        replay_guard: guard,
        preempt_all: false,
        vrrp: 0.0,
    };
    let net = healthy_with_echo(&mut rng);
    let mut w = stable_cluster(seed, opts, net);
    w.run_until(w.now() + secs(5.0));
    let attack = w.now();
    // Adverts sent once every node was up and already delivered, so every node has seen them
    // (or sent them). Rewriting an advert still in flight is not a replay: whoever hears the
    // forgery first believes it, and only an HMAC over the timing fields could stop that.
    let delivered = attack - w.net().delay_max;
    let captured: Vec<(usize, Advert)> = w
        .captured
        .iter()
        .filter(|(at, _, _)| *at > secs(2.1) && *at < delivered)
        .map(|&(_, v, a)| (v, a))
        .collect();
    let rewrites: [(u8, u8); 3] = [(0, 0), (1, 0), (255, 255)];
    for _ in 0..60 {
        let (vhid, advert) = *rng.pick(&captured);
        let (advbase, advskew) = *rng.pick(&rewrites);
        for to in 0..w.node_count() {
            let forged = Advert {
                advbase,
                advskew,
                from_self: w.owns(to, advert.source),
                ..advert
            };
            w.inject(to, vhid, forged);
        }
        let t = w.now() + rng.duration(secs(0.01), secs(0.5));
        w.run_until(t);
    }
    w.run_until(attack + secs(40.0));
    (w, attack)
}

#[test]
fn replay_attack_moves_nothing_with_the_guard() {
    check("replay_attack_moves_nothing_with_the_guard", 500, |seed| {
        let (w, attack) = replay_attack(seed, true);
        let result = no_transitions_since(&w, attack)
            .and_then(|()| one_master_each(&w, true))
            .and_then(|()| match w.replay_drops {
                0 => Err("no replay was dropped: the attack did not happen".into()),
                _ => Ok(()),
            });
        (w, result)
    });
}

/// Control: the same attack without the guard does move masters, so the property above tests
/// something real.
#[test]
fn replay_attack_moves_masters_without_the_guard() {
    check(
        "replay_attack_moves_masters_without_the_guard",
        50,
        |seed| {
            let (w, attack) = replay_attack(seed, false);
            let result = if w.transitions_since(attack).is_empty() {
                Err("expected the unguarded cluster to be pushed around".into())
            } else {
                Ok(())
            };
            (w, result)
        },
    );
}

#[test]
fn cold_start_without_loss_elects_once_and_never_flaps() {
    check(
        "cold_start_without_loss_elects_once_and_never_flaps",
        1000,
        |seed| {
            let mut rng = Rng::new(seed ^ 0xc01d);
            let opts = SpecOptions {
                replay_guard: rng.chance(0.5),
                preempt_all: false,
                vrrp: 0.4,
            };
            let mut w = stable_cluster(seed, opts, healthy_with_echo(&mut rng));
            let result = one_master_each(&w, true).and_then(|()| {
                // Each VHID: at most one "master timed out" per node and no node mastering twice.
                for v in 0..w.vhid_count() {
                    for n in 0..w.node_count() {
                        let became = w
                            .transitions
                            .iter()
                            .filter(|t| t.vhid == v && t.node == n && t.to == State::Master)
                            .count();
                        if became > 1 {
                            return Err(format!(
                                "node{n} vhid index {v} became MASTER {became} times"
                            ));
                        }
                    }
                }
                let from = w.now();
                w.run_until(from + secs(60.0));
                no_transitions_since(&w, from)
            });
            (w, result)
        },
    );
}

#[test]
fn dual_stack_backup_survives_loss_of_one_family() {
    // Only the IPv6 adverts of a dual-stack master are lost: the IPv6 timer runs out although
    // IPv4 adverts keep arriving, as in FreeBSD (each family has its own master-down timer).
    let spec = ClusterSpec {
        vhids: vec![VhidSpec {
            vhid: 1,
            advbase: 1,
            v4: true,
            v6: true,
            vrrp: None,
        }],
        nodes: vec![
            NodeSpec {
                skews: vec![0],
                priorities: vec![100],
                preempt: false,
            },
            NodeSpec {
                skews: vec![100],
                priorities: vec![100],
                preempt: false,
            },
        ],
        replay_guard: true,
    };
    let mut w = World::new(spec, 1);
    w.boot(0);
    w.run_until(secs(1.0));
    w.boot(1);
    w.run_until(secs(10.0));
    assert_eq!(w.masters(0), vec![0], "{}", w.trace());
    w.drop_family(Family::V6);
    w.run_until(secs(20.0));
    let took_over = w
        .transitions
        .iter()
        .find(|t| t.node == 1 && t.to == State::Master)
        .unwrap_or_else(|| panic!("node1 never took over:\n{}", w.trace()));
    assert_eq!(took_over.reason, Reason::MasterTimedOut);
    // Last IPv6 advert from node0 arrived shortly after t=9 s; 3.390625 s later node1 fires.
    assert!(
        took_over.at > secs(12.39) && took_over.at < secs(13.40),
        "{:?}",
        took_over.at
    );
}

/// VRRP has no "more frequent advert" shortcut: a demoted master keeps advertising, lower,
/// and the preempting backup's own master-down timer (reset by the last advert it accepted)
/// runs out. So the hand-over takes at most that backup's Master_Down_Interval.
#[test]
fn vrrp_demotion_hands_over_within_the_backups_master_down_interval() {
    check(
        "vrrp_demotion_hands_over_within_the_backups_master_down_interval",
        1000,
        |seed| {
            let mut rng = Rng::new(seed ^ 0x0f22_d3e0);
            let opts = SpecOptions {
                replay_guard: false,
                preempt_all: true,
                vrrp: 1.0,
            };
            let mut w = stable_cluster(seed, opts, healthy_with_echo(&mut rng));
            if let Err(e) = one_master_each(&w, true) {
                return (w, Err(format!("not stable before demotion: {e}")));
            }
            let master = w.masters(0)[0];
            w.demote(master, 240);
            let all: Vec<usize> = (0..w.node_count()).collect();
            if w.preferred(0, &all).is_none_or(|p| p == master) {
                // A tie at the top, or the master is still the best: nothing must move.
                return (w, Ok(()));
            }
            // Every router of every VRRP VHID may have to move: the slowest backup's timer.
            let slowest = (0..w.vhid_count())
                .flat_map(|v| all.iter().map(move |&n| (n, v)))
                .map(|(n, v)| {
                    let interval = w.spec.vhids[v].vrrp.expect("a VRRP router");
                    carpd::proto::vrrp::master_down_interval(w.priority(n, v), interval)
                })
                .max()
                .unwrap_or_default();
            let bound = slowest + w.net().delay_max * 2 + secs(0.001);
            let demoted_at = w.now();
            w.run_until(demoted_at + bound);
            let result = one_master_each(&w, true).and_then(|()| {
                let from = w.now();
                w.run_until(from + secs(20.0));
                no_transitions_since(&w, from)
            });
            (w, result)
        },
    );
}
