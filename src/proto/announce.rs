//! When a MASTER announces its addresses (gratuitous ARP / unsolicited NA), for both CARP and
//! VRRPv3: at takeover, then once more every two adverts until the configured count was sent
//! (OpenBSD's and ucarp's repeat, for switches that missed the first), and when a weaker rival
//! master is heard, at most once per advert interval so that a rival cannot make us flood.

use std::time::{Duration, Instant};

#[derive(Debug, Default)]
pub(super) struct Announcements {
    /// Announcements still owed after a takeover.
    owed: u8,
    /// Adverts to send before the next owed one.
    adverts_before: u8,
    last_reannounce: Option<Instant>,
}

impl Announcements {
    /// A takeover announced just now; `count` in all, the rest after adverts.
    pub fn takeover(&mut self, now: Instant, count: u8) {
        self.owed = count.saturating_sub(1);
        self.adverts_before = 2;
        self.last_reannounce = Some(now);
    }

    /// No longer MASTER: nothing more is owed.
    pub fn stop(&mut self) {
        self.owed = 0;
    }

    /// An advert went out; whether an owed announcement is due with it.
    pub fn advert_sent(&mut self) -> bool {
        if self.owed == 0 {
            return false;
        }
        self.adverts_before = self.adverts_before.saturating_sub(1);
        if self.adverts_before > 0 {
            return false;
        }
        self.owed -= 1;
        self.adverts_before = 2;
        true
    }

    /// A weaker rival master was heard; whether to announce again now.
    pub fn rival_heard(&mut self, now: Instant, interval: Duration) -> bool {
        let due = self
            .last_reannounce
            .is_none_or(|t| now.saturating_duration_since(t) >= interval);
        if due {
            self.last_reannounce = Some(now);
        }
        due
    }
}
