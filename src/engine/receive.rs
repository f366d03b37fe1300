//! The receive checks, in FreeBSD's order (carp-spec §1.3): length, version, checksum, vhid,
//! TTL, peer, HMAC. A packet either becomes an authenticated [`Advert`] for one group or is
//! dropped under a carpstats-style reason that status counts.

use std::net::IpAddr;

use crate::proto::{Advert, Family};
use crate::wire::carp::{self, Packet, Repr};
use crate::wire::ip::CARP_TTL;
use crate::wire::vrrp::{self, Proto112};

use super::group::Group;

/// A datagram as the platform hands it over, whichever OS it came from.
#[derive(Clone, Copy, Debug)]
pub struct Datagram<'a> {
    pub family: Family,
    pub src: IpAddr,
    pub ttl: u8,
    pub payload: &'a [u8],
}

/// Why a datagram was dropped. The names are FreeBSD's `carpstats` fields where one exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Drop {
    BadLen,
    BadVer,
    BadType,
    BadSum,
    /// No group with this vhid and family on the receiving interface.
    BadVhid,
    /// TTL/hop limit not 255 in multicast mode.
    BadTtl,
    /// Unicast mode: the advert did not come from the configured peer.
    BadPeer,
    BadAuth,
    /// VRRP on protocol 112: not ours, counted apart so it is not mistaken for an attack.
    Vrrp,
}

impl Drop {
    pub fn stat_name(self) -> &'static str {
        match self {
            Drop::BadLen => "badlen",
            Drop::BadVer => "badver",
            Drop::BadType => "badtype",
            Drop::BadSum => "badsum",
            Drop::BadVhid => "badvhid",
            Drop::BadTtl => "badttl",
            Drop::BadPeer => "badpeer",
            Drop::BadAuth => "badauth",
            Drop::Vrrp => "vrrp",
        }
    }
}

/// Check `dg` against the groups of the receiving interface. `own` tells whether an address is
/// one of this host's own (for echo detection). On success returns the group's index in
/// `groups` and the advert; a drop that belongs to a known vhid also returns its index so the
/// count lands on that VHID's status.
pub fn check<'g>(
    dg: &Datagram<'_>,
    groups: impl Iterator<Item = (usize, &'g Group)>,
    own: impl Fn(&IpAddr) -> bool,
) -> Result<(usize, Advert), (Option<usize>, Drop)> {
    if dg.payload.len() < 8 {
        return Err((None, Drop::BadLen));
    }
    // Well-formed VRRP is somebody else's protocol, not an attack on ours: counted apart.
    if matches!(
        vrrp::classify(dg.payload),
        Proto112::VrrpV2 | Proto112::VrrpV3
    ) {
        return Err((None, Drop::Vrrp));
    }
    let packet = Packet::new_checked(dg.payload).map_err(|e| (None, from_parse(e)))?;
    let repr = Repr::parse(&packet).map_err(|e| (None, from_parse(e)))?;
    let (index, group) = groups
        .into_iter()
        .find(|(_, g)| g.cfg.vhid == repr.vhid && g.has_family(dg.family))
        .ok_or((None, Drop::BadVhid))?;
    match group.unicast_peer(dg.family) {
        // FreeBSD 14+ skips the TTL check when the peer is unicast (it may be routed).
        Some(peer) if peer != dg.src => return Err((Some(index), Drop::BadPeer)),
        Some(_) => {}
        None if dg.ttl != CARP_TTL => return Err((Some(index), Drop::BadTtl)),
        None => {}
    }
    if !group.auth.verify(repr.counter, &repr.hmac) {
        return Err((Some(index), Drop::BadAuth));
    }
    Ok((
        index,
        Advert {
            family: dg.family,
            source: dg.src,
            advbase: repr.advbase,
            advskew: repr.advskew,
            counter: repr.counter,
            from_self: own(&dg.src),
        },
    ))
}

fn from_parse(e: carp::ParseError) -> Drop {
    match e {
        carp::ParseError::BadLen => Drop::BadLen,
        carp::ParseError::BadVer => Drop::BadVer,
        carp::ParseError::BadType => Drop::BadType,
        carp::ParseError::BadSum => Drop::BadSum,
    }
}
