//! The receive checks, in FreeBSD's order (carp-spec §1.3): length, version, checksum, vhid,
//! TTL, peer, HMAC for CARP; for VRRPv3 (RFC 9568 §7.1) checksum, VRID, TTL, peer and the
//! address list. A packet either becomes an [`Input`] for one group's election or is dropped
//! under a carpstats-style reason that status counts.

use std::net::IpAddr;

use crate::proto::vrrp as vrrp_machine;
use crate::proto::{Advert, Family, Input, VrrpAdvert};
use crate::wire::carp::{self, Packet, Repr};
use crate::wire::ip::CARP_TTL;
use crate::wire::vrrp::{self, Proto112, PseudoHeader};

use super::group::Group;

/// A datagram as the platform hands it over, whichever OS it came from.
#[derive(Clone, Copy, Debug)]
pub struct Datagram<'a> {
    pub family: Family,
    pub src: IpAddr,
    /// Destination (the multicast group or our own address): VRRPv3's checksum covers it.
    pub dst: IpAddr,
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
    /// VRRPv3 for a VRID no group of this interface uses: another router's, counted apart so
    /// it is not mistaken for an attack.
    Vrrp,
    /// VRRPv2 (RFC 3768): carpd speaks only v3, which v2 routers do not understand.
    VrrpV2,
    /// A VRRPv3 advert whose VRID is the number of one of our CARP VHIDs: both protocols
    /// use the virtual MAC 00:00:5e:00:01:<id>, so the two collide on the segment.
    VrrpOnCarp,
    /// A CARP advert whose VHID is the VRID of one of our VRRP routers (the same collision).
    CarpOnVrrp,
    /// A VRRPv3 advert listing other addresses than ours (RFC 9568 §6.4.2: not from the owner,
    /// so it is dropped).
    BadAddrs,
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
            Drop::VrrpV2 => "vrrpv2",
            Drop::VrrpOnCarp => "vrrponcarp",
            Drop::CarpOnVrrp => "carponvrrp",
            Drop::BadAddrs => "badaddrs",
        }
    }
}

/// The outcome of [`check`]: the group's index and what to feed its election, or a drop
/// (with the group's index when the drop belongs to a known VHID, so the count lands on it).
pub type Verdict = Result<(usize, Input), (Option<usize>, Drop)>;

/// Check `dg` against the groups of the receiving interface. `own` tells whether an address is
/// one of this host's own (for echo detection).
pub fn check<'g>(
    dg: &Datagram<'_>,
    groups: impl Iterator<Item = (usize, &'g Group)> + Clone,
    own: impl Fn(&IpAddr) -> bool,
) -> Verdict {
    if dg.payload.len() < 8 {
        return Err((None, Drop::BadLen));
    }
    let same_number = |id: u8| {
        groups
            .clone()
            .find(|(_, g)| g.cfg.vhid == id && g.has_family(dg.family))
    };
    match vrrp::classify(dg.payload) {
        Proto112::VrrpV3 => {
            let vrid = dg.payload[1];
            return match same_number(vrid) {
                Some((i, g)) if g.vrrp_family().is_some() => check_vrrp(dg, i, g, own),
                Some((i, _)) => Err((Some(i), Drop::VrrpOnCarp)),
                None => Err((None, Drop::Vrrp)),
            };
        }
        Proto112::VrrpV2 => {
            let vrid = dg.payload[1];
            let index = same_number(vrid).map(|(i, _)| i);
            return Err((index, Drop::VrrpV2));
        }
        Proto112::Carp | Proto112::Unknown => {}
    }
    let packet = Packet::new_checked(dg.payload).map_err(|e| (None, from_parse(e)))?;
    let repr = Repr::parse(&packet).map_err(|e| (None, from_parse(e)))?;
    let (index, group) = same_number(repr.vhid).ok_or((None, Drop::BadVhid))?;
    if group.vrrp_family().is_some() {
        return Err((Some(index), Drop::CarpOnVrrp));
    }
    check_source(dg, index, group)?;
    if !group.auth.verify(repr.counter, &repr.hmac) {
        return Err((Some(index), Drop::BadAuth));
    }
    Ok((
        index,
        Input::Advert(Advert {
            family: dg.family,
            source: dg.src,
            advbase: repr.advbase,
            advskew: repr.advskew,
            counter: repr.counter,
            from_self: own(&dg.src),
        }),
    ))
}

/// TTL in multicast mode, the sender in unicast mode (both protocols).
fn check_source(
    dg: &Datagram<'_>,
    index: usize,
    group: &Group,
) -> Result<(), (Option<usize>, Drop)> {
    match group.unicast_peer(dg.family) {
        // FreeBSD 14+ skips the TTL check when the peer is unicast (it may be routed);
        // keepalived's unicast_peer does the same unless told to check.
        Some(peer) if peer != dg.src => Err((Some(index), Drop::BadPeer)),
        Some(_) => Ok(()),
        None if dg.ttl != CARP_TTL => Err((Some(index), Drop::BadTtl)),
        None => Ok(()),
    }
}

/// RFC 9568 §7.1: checksum (with the pseudo-header of this datagram), TTL or peer, and the
/// address list (unless the sender is the owner).
fn check_vrrp(
    dg: &Datagram<'_>,
    index: usize,
    group: &Group,
    own: impl Fn(&IpAddr) -> bool,
) -> Verdict {
    let drop = |d| (Some(index), d);
    let pseudo = match (dg.src, dg.dst) {
        (IpAddr::V4(src), IpAddr::V4(dst)) => PseudoHeader::V4 { src, dst },
        (IpAddr::V6(src), IpAddr::V6(dst)) => PseudoHeader::V6 { src, dst },
        _ => return Err(drop(Drop::BadLen)),
    };
    let packet = vrrp::Packet::new_checked(dg.payload).map_err(|e| drop(from_vrrp_parse(e)))?;
    let repr = vrrp::Repr::parse(&packet, &pseudo).map_err(|e| drop(from_vrrp_parse(e)))?;
    check_source(dg, index, group)?;
    if repr.priority != vrrp_machine::OWNER_PRIORITY && !same_addresses(group, &repr.addresses) {
        return Err(drop(Drop::BadAddrs));
    }
    Ok((
        index,
        Input::Vrrp(VrrpAdvert {
            source: dg.src,
            priority: repr.priority,
            interval_cs: repr.max_adver_int,
            from_self: own(&dg.src),
        }),
    ))
}

/// The advert lists exactly the group's addresses of its family, in any order.
fn same_addresses(group: &Group, listed: &vrrp::Addresses) -> bool {
    // Validation gives a VRRP group addresses of one family only.
    let mut ours: Vec<IpAddr> = group.cfg.addresses.iter().map(|a| a.prefix.addr).collect();
    let mut theirs = listed.to_ip_addrs();
    ours.sort();
    ours.dedup();
    theirs.sort();
    theirs.dedup();
    ours == theirs
}

fn from_parse(e: carp::ParseError) -> Drop {
    match e {
        carp::ParseError::BadLen => Drop::BadLen,
        carp::ParseError::BadVer => Drop::BadVer,
        carp::ParseError::BadType => Drop::BadType,
        carp::ParseError::BadSum => Drop::BadSum,
    }
}

fn from_vrrp_parse(e: vrrp::ParseError) -> Drop {
    match e {
        vrrp::ParseError::BadLen => Drop::BadLen,
        vrrp::ParseError::BadVer => Drop::BadVer,
        vrrp::ParseError::BadType => Drop::BadType,
        vrrp::ParseError::BadSum => Drop::BadSum,
    }
}

/// Why a drop on a VHID this node is MASTER of means another master may be on the segment, if
/// it does (for the dual-master alarm).
pub fn rival_why(drop: Drop) -> Option<&'static str> {
    match drop {
        Drop::BadAuth => {
            Some("its adverts for this VHID fail authentication: another password or address set")
        }
        Drop::BadAddrs => Some("its VRRP adverts list other addresses"),
        Drop::CarpOnVrrp => Some("it speaks CARP on this VRRP router's number"),
        Drop::VrrpOnCarp => Some("it speaks VRRP on this CARP VHID's number"),
        _ => None,
    }
}
