//! One VHID's election, whichever protocol it speaks: the runtime and the simulator drive a
//! CARP [`Machine`] and a [`VrrpMachine`] through the same calls.

use std::net::IpAddr;
use std::time::Instant;

use super::{Input, Machine, Output, State, VrrpMachine};

#[derive(Debug)]
pub enum Election {
    Carp(Machine),
    Vrrp(VrrpMachine),
}

impl Election {
    pub fn state(&self) -> State {
        match self {
            Election::Carp(m) => m.state(),
            Election::Vrrp(m) => m.state(),
        }
    }

    pub fn handle_input(&mut self, now: Instant, input: Input) {
        match self {
            Election::Carp(m) => m.handle_input(now, input),
            Election::Vrrp(m) => m.handle_input(now, input),
        }
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        match self {
            Election::Carp(m) => m.poll_timeout(),
            Election::Vrrp(m) => m.poll_timeout(),
        }
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        match self {
            Election::Carp(m) => m.handle_timeout(now),
            Election::Vrrp(m) => m.handle_timeout(now),
        }
    }

    pub fn poll_output(&mut self) -> Option<Output> {
        match self {
            Election::Carp(m) => m.poll_output(),
            Election::Vrrp(m) => m.poll_output(),
        }
    }

    /// Source and time of the last advert accepted from another node.
    pub fn last_peer(&self) -> Option<(IpAddr, Instant)> {
        match self {
            Election::Carp(m) => m.last_peer(),
            Election::Vrrp(m) => m.last_peer(),
        }
    }

    pub fn vrrp(&self) -> Option<&VrrpMachine> {
        match self {
            Election::Vrrp(m) => Some(m),
            Election::Carp(_) => None,
        }
    }
}
