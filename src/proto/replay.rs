//! Memory of advert counters: the echo ring (what this machine sent lately) and the replay guard
//! (which counters each source has already used).
//!
//! Why ranges work: an honest carpd node only ever moves its counter forward (+1 per advert, or
//! a jump forward when it adopts a peer's larger counter), so from one source address the
//! counters form a few increasing runs. A replayed advert must carry a counter that was on the
//! wire before (the HMAC covers the counter), so it falls inside a run already seen. Values
//! skipped inside a run (lost adverts, the other family's adverts) are treated as seen too:
//! the honest sender will never use them again.

use std::collections::VecDeque;
use std::net::IpAddr;

/// Counters a machine sent recently, to recognise its own adverts looping back. Sixteen covers
/// several seconds of dual-stack adverts, far longer than any echo path delays a packet.
const SENT_RING: usize = 16;
/// Runs remembered per source; each honest restart or counter jump opens a new one.
const RANGES_PER_SOURCE: usize = 8;
/// Sources remembered per VHID; a segment rarely has more than a handful of CARP peers.
const MAX_SOURCES: usize = 16;
/// A counter this far past the end of a run still extends it (lost adverts, dual-stack senders
/// that step by two per family).
const RUN_GAP: u64 = 64;

/// `a` is ahead of `b` in serial-number arithmetic (counters wrap at 2^64).
pub(crate) fn counter_ahead(a: u64, b: u64) -> bool {
    let d = a.wrapping_sub(b);
    d != 0 && d < 1 << 63
}

#[derive(Debug, Default)]
pub(crate) struct SentRing {
    recent: VecDeque<u64>,
}

impl SentRing {
    pub(crate) fn push(&mut self, counter: u64) {
        if self.recent.len() == SENT_RING {
            self.recent.pop_front();
        }
        self.recent.push_back(counter);
    }

    pub(crate) fn contains(&self, counter: u64) -> bool {
        self.recent.contains(&counter)
    }
}

/// Inclusive counter runs `[lo, hi]` (serial arithmetic), most recently used last.
#[derive(Debug, Default)]
pub(crate) struct CounterRuns {
    runs: Vec<(u64, u64)>,
}

impl CounterRuns {
    pub(crate) fn contains(&self, counter: u64) -> bool {
        self.runs
            .iter()
            .any(|&(lo, hi)| counter.wrapping_sub(lo) <= hi.wrapping_sub(lo))
    }

    /// Remember `counter` (which the caller checked is not yet contained).
    pub(crate) fn record(&mut self, counter: u64) {
        // Extend the run that ends closest below `counter`. No other run can start inside the
        // widened span: it would end closer still, and would have been chosen instead.
        let extend = self
            .runs
            .iter()
            .enumerate()
            .map(|(i, &(_, hi))| (i, counter.wrapping_sub(hi)))
            .filter(|&(_, d)| (1..=RUN_GAP).contains(&d))
            .min_by_key(|&(_, d)| d)
            .map(|(i, _)| i);
        match extend {
            Some(i) => {
                let (lo, _) = self.runs.remove(i);
                self.runs.push((lo, counter));
            }
            None => {
                if self.runs.len() == RANGES_PER_SOURCE {
                    self.runs.remove(0);
                }
                self.runs.push((counter, counter));
            }
        }
    }
}

/// Per-source counter runs of everything accepted.
#[derive(Debug, Default)]
pub(crate) struct ReplayGuard {
    /// Most recently heard source last.
    sources: Vec<(IpAddr, CounterRuns)>,
}

impl ReplayGuard {
    /// `true` if the advert is fresh (and now remembered), `false` if it is a replay.
    pub(crate) fn admit(&mut self, source: IpAddr, counter: u64) -> bool {
        let idx = match self.sources.iter().position(|(s, _)| *s == source) {
            Some(i) => i,
            None => {
                if self.sources.len() == MAX_SOURCES {
                    self.sources.remove(0);
                }
                self.sources.push((source, CounterRuns::default()));
                self.sources.len() - 1
            }
        };
        let mut entry = self.sources.remove(idx);
        let fresh = !entry.1.contains(counter);
        if fresh {
            entry.1.record(counter);
        }
        self.sources.push(entry);
        fresh
    }

    pub(crate) fn clear(&mut self) {
        self.sources.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn runs_extend_across_small_gaps_and_catch_old_values() {
        let mut r = CounterRuns::default();
        for c in [10, 11, 13, 15] {
            assert!(!r.contains(c));
            r.record(c);
        }
        assert_eq!(r.runs, vec![(10, 15)]);
        // 12 was never seen but lies inside the run: the sender is past it for good.
        assert!(r.contains(12));
        assert!(!r.contains(16));
        assert!(!r.contains(9));
        r.record(1000);
        assert_eq!(r.runs, vec![(10, 15), (1000, 1000)]);
    }

    #[test]
    fn runs_wrap_at_two_to_the_64() {
        let mut r = CounterRuns::default();
        r.record(u64::MAX - 1);
        r.record(u64::MAX);
        r.record(0);
        r.record(1);
        assert_eq!(r.runs, vec![(u64::MAX - 1, 1)]);
        assert!(r.contains(u64::MAX));
        assert!(r.contains(0));
        assert!(!r.contains(2));
    }

    #[test]
    fn the_closest_run_is_extended() {
        let mut r = CounterRuns::default();
        r.record(60);
        r.record(40); // below 60: a run of its own
        r.record(70);
        assert_eq!(r.runs, vec![(40, 40), (60, 70)]);
        r.record(50);
        assert_eq!(r.runs, vec![(60, 70), (40, 50)]);
        assert!(r.contains(45) && r.contains(65) && !r.contains(55));
    }

    #[test]
    fn runs_are_bounded() {
        let mut r = CounterRuns::default();
        for i in 0..(RANGES_PER_SOURCE as u64 + 3) {
            r.record(i * 1_000_000);
        }
        assert_eq!(r.runs.len(), RANGES_PER_SOURCE);
        assert!(!r.contains(0), "oldest run evicted");
    }

    #[test]
    fn guard_is_per_source_and_bounded() {
        let mut g = ReplayGuard::default();
        let a = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
        let b = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));
        assert!(g.admit(a, 5));
        assert!(!g.admit(a, 5));
        assert!(
            g.admit(b, 5),
            "another source may use the same counter (adoption)"
        );
        for i in 0..MAX_SOURCES as u8 {
            g.admit(IpAddr::V4(Ipv4Addr::new(198, 51, 100, i)), 1);
        }
        assert_eq!(g.sources.len(), MAX_SOURCES);
    }

    #[test]
    fn serial_order() {
        assert!(counter_ahead(1, 0));
        assert!(counter_ahead(0, u64::MAX));
        assert!(!counter_ahead(0, 0));
        assert!(!counter_ahead(0, 1));
    }
}
