//! Generic-netlink messages for FreeBSD's `carp` family, as bytes: building the GETFAMILY,
//! GET and SET requests and parsing the replies. Pure, so Linux CI tests the encoding; the
//! socket that carries them is in `platform::freebsd`.
//!
//! Layout (host byte order, 4-byte alignment): `nlmsghdr` (len u32, type u16, flags u16,
//! seq u32, pid u32), `genlmsghdr` (cmd u8, version u8, reserved u16), then attributes
//! (len u16, type u16, payload, padding).

use std::net::{Ipv4Addr, Ipv6Addr};

use super::abi::netlink::*;
use crate::config::CarpKey;

const NLMSG_HDRLEN: usize = 16;
const GENL_HDRLEN: usize = 4;
const NLA_HDRLEN: usize = 4;

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum GenlError {
    #[error("netlink message truncated ({0} bytes where more were announced)")]
    Truncated(usize),
    #[error("netlink attribute {kind} has {len} bytes where the kernel sends {want}")]
    BadAttribute { kind: u16, len: usize, want: usize },
    #[error("a carp GET reply without CARP_NL_VHID")]
    MissingVhid,
}

/// Builds one request message.
pub struct MsgBuilder {
    buf: Vec<u8>,
}

impl MsgBuilder {
    pub fn new(family: u16, flags: u16, seq: u32, cmd: u8) -> MsgBuilder {
        let mut buf = Vec::with_capacity(128);
        buf.extend_from_slice(&0u32.to_ne_bytes()); // length, patched in finish()
        buf.extend_from_slice(&family.to_ne_bytes());
        buf.extend_from_slice(&(flags | NLM_F_REQUEST).to_ne_bytes());
        buf.extend_from_slice(&seq.to_ne_bytes());
        buf.extend_from_slice(&0u32.to_ne_bytes());
        buf.extend_from_slice(&[cmd, 1, 0, 0]);
        MsgBuilder { buf }
    }
    pub fn attr(mut self, kind: u16, payload: &[u8]) -> MsgBuilder {
        let len = NLA_HDRLEN + payload.len();
        self.buf.extend_from_slice(&(len as u16).to_ne_bytes());
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        self.buf.extend_from_slice(payload);
        self.buf.resize(align4(self.buf.len()), 0);
        self
    }
    pub fn u32(self, kind: u16, v: u32) -> MsgBuilder {
        self.attr(kind, &v.to_ne_bytes())
    }
    pub fn u16(self, kind: u16, v: u16) -> MsgBuilder {
        self.attr(kind, &v.to_ne_bytes())
    }
    pub fn u8(self, kind: u16, v: u8) -> MsgBuilder {
        self.attr(kind, &[v])
    }
    /// A NUL-terminated string attribute.
    pub fn string(self, kind: u16, s: &str) -> MsgBuilder {
        let mut b = s.as_bytes().to_vec();
        b.push(0);
        self.attr(kind, &b)
    }
    pub fn finish(mut self) -> Vec<u8> {
        let len = self.buf.len() as u32;
        self.buf[..4].copy_from_slice(&len.to_ne_bytes());
        self.buf
    }
}

/// CTRL_CMD_GETFAMILY for `name`.
pub fn get_family_request(seq: u32, name: &str) -> Vec<u8> {
    MsgBuilder::new(GENL_ID_CTRL, 0, seq, CTRL_CMD_GETFAMILY)
        .string(CTRL_ATTR_FAMILY_NAME, name)
        .finish()
}

/// CARP_NL_CMD_GET dump of every vhid on `ifname`.
pub fn carp_get_request(family: u16, seq: u32, ifname: &str) -> Vec<u8> {
    MsgBuilder::new(family, NLM_F_DUMP, seq, CARP_NL_CMD_GET)
        .string(CARP_NL_IFNAME, ifname)
        .finish()
}

/// What one SET writes. Absent fields arrive as zero in the kernel, which means "keep" for
/// everything except advskew — so advskew is not optional here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CarpSet {
    pub ifname: String,
    pub vhid: u8,
    pub advbase: u8,
    pub advskew: u8,
    pub key: Option<CarpKey>,
    /// `Some(224.0.0.18)` switches back to multicast; `None` keeps the current peer.
    pub peer: Option<Ipv4Addr>,
    pub peer6: Option<Ipv6Addr>,
    /// A state to force (`carpd state backup|master`); `None` sends no state, which the
    /// kernel reads as 0 = leave the state alone.
    pub state: Option<CarpStateReq>,
    /// FreeBSD 15: write a VRRPv3 vhid instead (advbase, advskew, key and peers are not sent).
    pub vrrp: Option<VrrpSet>,
}

/// A VRRPv3 vhid's settings in a SET (`CARP_NL_VERSION` 3, `CARP_NL_VRRP_PRIORITY`,
/// `CARP_NL_VRRP_ADV_INTER`; `carp_nl_set()` in K15 copies these and nothing of CARP's, and 0
/// means "keep" for both).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VrrpSet {
    pub priority: u8,
    pub interval_cs: u16,
}

/// `CARP_VERSION_VRRPv3` (ip_carp.h, `enum carp_version`).
pub const CARP_VERSION_VRRPV3: u8 = 3;

/// The states a SET may ask for (carp-spec §3.4: INIT and anything else are ignored).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CarpStateReq {
    Backup,
    Master,
}

impl CarpStateReq {
    /// The kernel's numbering: `BACKUP` = 1, `MASTER` = 2.
    pub fn raw(self) -> u32 {
        match self {
            CarpStateReq::Backup => 1,
            CarpStateReq::Master => 2,
        }
    }
}

pub fn carp_set_request(family: u16, seq: u32, set: &CarpSet) -> Vec<u8> {
    let m = MsgBuilder::new(family, NLM_F_ACK, seq, CARP_NL_CMD_SET)
        .u32(CARP_NL_VHID, u32::from(set.vhid));
    // A vhid's version is fixed when it is created: a SET without VERSION means CARP ("compat
    // with pre-VRRPv3", K15 `carp_nl_set`) and fails with EINVAL on a VRRPv3 vhid.
    let mut m = match set.vrrp {
        Some(v) => m
            .u8(CARP_NL_VERSION, CARP_VERSION_VRRPV3)
            .u8(CARP_NL_VRRP_PRIORITY, v.priority)
            .u16(CARP_NL_VRRP_ADV_INTER, v.interval_cs),
        None => m
            .u32(CARP_NL_ADVBASE, u32::from(set.advbase))
            .u32(CARP_NL_ADVSKEW, u32::from(set.advskew)),
    };
    if let Some(state) = set.state {
        m = m.u32(CARP_NL_STATE, state.raw());
    }
    if let Some(k) = &set.key {
        // The kernel takes up to 20 bytes; it copies what was sent and zero-fills the rest.
        m = m.attr(CARP_NL_KEY, &k.0);
    }
    if let Some(p) = set.peer {
        m = m.attr(CARP_NL_ADDR, &p.octets());
    }
    if let Some(p) = set.peer6 {
        m = m.attr(CARP_NL_ADDR6, &p.octets());
    }
    m.string(CARP_NL_IFNAME, &set.ifname).finish()
}

/// One netlink message out of a datagram.
#[derive(Debug, PartialEq, Eq)]
pub struct Message<'a> {
    pub kind: u16,
    pub flags: u16,
    pub seq: u32,
    /// Everything after the nlmsghdr.
    pub payload: &'a [u8],
}

/// Split a received datagram into its messages.
pub fn messages(mut buf: &[u8]) -> Result<Vec<Message<'_>>, GenlError> {
    let mut out = Vec::new();
    while buf.len() >= NLMSG_HDRLEN {
        let len = u32::from_ne_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
        if len < NLMSG_HDRLEN || len > buf.len() {
            return Err(GenlError::Truncated(buf.len()));
        }
        out.push(Message {
            kind: u16::from_ne_bytes([buf[4], buf[5]]),
            flags: u16::from_ne_bytes([buf[6], buf[7]]),
            seq: u32::from_ne_bytes([buf[8], buf[9], buf[10], buf[11]]),
            payload: &buf[NLMSG_HDRLEN..len],
        });
        buf = &buf[align4(len).min(buf.len())..];
    }
    Ok(out)
}

/// The errno of an NLMSG_ERROR payload (`struct nlmsgerr`: the int, then the request's
/// header), 0 for an ACK. FreeBSD stores the errno positive (`nlmsg_ack()` in
/// `sys/netlink/netlink_message_writer.c`: `errmsg->error = error;`, with the handler's positive
/// return value); Linux stores it negated. The magnitude is the errno on both, so the parser is
/// also checked against a real Linux kernel (tests/native_genl_linux.rs).
pub fn error_code(payload: &[u8]) -> Result<i32, GenlError> {
    int_payload(payload)
}

/// The errno an NLMSG_DONE carries: FreeBSD ends a dump with one int holding the dump's result,
/// positive, 0 on success (`_nlmsg_end_dump()` in `netlink_message_writer.c`); a failed dump
/// (ENOENT, ENOMEM) is a DONE with that errno, not a short list.
pub fn done_code(payload: &[u8]) -> Result<i32, GenlError> {
    int_payload(payload)
}

fn int_payload(payload: &[u8]) -> Result<i32, GenlError> {
    let b: [u8; 4] = payload
        .get(..4)
        .and_then(|s| s.try_into().ok())
        .ok_or(GenlError::Truncated(payload.len()))?;
    Ok(i32::from_ne_bytes(b).unsigned_abs().min(i32::MAX as u32) as i32)
}

/// Attributes after the genl header of a payload.
pub fn attributes(payload: &[u8]) -> Result<Vec<(u16, &[u8])>, GenlError> {
    let mut buf = payload
        .get(GENL_HDRLEN..)
        .ok_or(GenlError::Truncated(payload.len()))?;
    let mut out = Vec::new();
    while buf.len() >= NLA_HDRLEN {
        let len = u16::from_ne_bytes([buf[0], buf[1]]) as usize;
        // Mask NLA_F_NESTED / NLA_F_NET_BYTEORDER.
        let kind = u16::from_ne_bytes([buf[2], buf[3]]) & 0x3fff;
        if len < NLA_HDRLEN || len > buf.len() {
            return Err(GenlError::Truncated(buf.len()));
        }
        out.push((kind, &buf[NLA_HDRLEN..len]));
        buf = &buf[align4(len).min(buf.len())..];
    }
    Ok(out)
}

/// The family id in a GETFAMILY reply.
pub fn family_id(payload: &[u8]) -> Result<Option<u16>, GenlError> {
    Ok(attributes(payload)?
        .into_iter()
        .find(|(k, v)| *k == CTRL_ATTR_FAMILY_ID && v.len() >= 2)
        .map(|(_, v)| u16::from_ne_bytes([v[0], v[1]])))
}

/// One vhid from a GET reply.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CarpInfo {
    pub vhid: u32,
    pub state: u32,
    pub advbase: i32,
    pub advskew: i32,
    pub key_set: bool,
    pub peer: Option<Ipv4Addr>,
    pub peer6: Option<Ipv6Addr>,
    /// 2 = CARP, 3 = VRRPv3 (FreeBSD 15); absent = CARP.
    pub version: u8,
    /// VRRPv3 vhids (FreeBSD 15): priority and advertisement interval (centiseconds).
    pub vrrp_priority: Option<u8>,
    pub vrrp_adv_inter: Option<u16>,
}

/// A fixed-size attribute's payload, or the error naming it.
fn exact<const N: usize>(kind: u16, v: &[u8]) -> Result<[u8; N], GenlError> {
    <[u8; N]>::try_from(v).map_err(|_| GenlError::BadAttribute {
        kind,
        len: v.len(),
        want: N,
    })
}

/// One GET reply (`carp_nl_send()` in `sys/netinet/ip_carp.c`: VHID u32, STATE u32, on 15
/// VERSION u8, then ADVBASE/ADVSKEW s32, ADDR in_addr, ADDR6 in6_addr and, for a privileged
/// caller, KEY 20 bytes; a VRRPv3 vhid has VRRP_PRIORITY u8 and VRRP_ADV_INTER u16 instead).
/// Sizes are checked as the kernel's own parser checks them (`nlattr_get_uint32` and friends
/// in `sys/netlink/netlink_message_parser.c` want exact lengths): a reply that breaks them is an
/// error, never a guess. Unknown attributes are skipped, as the kernel's parser skips them.
pub fn parse_carp_info(payload: &[u8]) -> Result<CarpInfo, GenlError> {
    let mut info = CarpInfo {
        version: 2,
        ..CarpInfo::default()
    };
    let mut have_vhid = false;
    for (kind, v) in attributes(payload)? {
        match kind {
            CARP_NL_VHID => {
                info.vhid = u32::from_ne_bytes(exact(kind, v)?);
                have_vhid = true;
            }
            CARP_NL_STATE => info.state = u32::from_ne_bytes(exact(kind, v)?),
            CARP_NL_ADVBASE => info.advbase = i32::from_ne_bytes(exact(kind, v)?),
            CARP_NL_ADVSKEW => info.advskew = i32::from_ne_bytes(exact(kind, v)?),
            CARP_NL_KEY => {
                if v.len() > super::abi::CARP_KEY_LEN {
                    return Err(GenlError::BadAttribute {
                        kind,
                        len: v.len(),
                        want: super::abi::CARP_KEY_LEN,
                    });
                }
                info.key_set = v.iter().any(|b| *b != 0);
            }
            CARP_NL_ADDR => info.peer = Some(Ipv4Addr::from(exact::<4>(kind, v)?)),
            CARP_NL_ADDR6 => info.peer6 = Some(Ipv6Addr::from(exact::<16>(kind, v)?)),
            CARP_NL_VERSION => info.version = exact::<1>(kind, v)?[0],
            CARP_NL_VRRP_PRIORITY => info.vrrp_priority = Some(exact::<1>(kind, v)?[0]),
            CARP_NL_VRRP_ADV_INTER => {
                info.vrrp_adv_inter = Some(u16::from_ne_bytes(exact(kind, v)?))
            }
            _ => {}
        }
    }
    if !have_vhid {
        return Err(GenlError::MissingVhid);
    }
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_request_carries_every_setting_in_order() {
        let mut key = [0u8; 20];
        key[..3].copy_from_slice(b"abc");
        let msg = carp_set_request(
            0x20,
            7,
            &CarpSet {
                ifname: "vtnet0".into(),
                vhid: 3,
                advbase: 1,
                advskew: 100,
                key: Some(CarpKey(key)),
                peer: Some(Ipv4Addr::new(192, 0, 2, 3)),
                peer6: None,
                state: None,
                vrrp: None,
            },
        );
        let msgs = messages(&msg).unwrap();
        assert_eq!(msgs.len(), 1);
        assert_eq!(msgs[0].kind, 0x20);
        assert_eq!(msgs[0].flags, NLM_F_REQUEST | NLM_F_ACK);
        assert_eq!(msgs[0].seq, 7);
        assert_eq!(&msgs[0].payload[..2], &[CARP_NL_CMD_SET, 1]);
        let attrs = attributes(msgs[0].payload).unwrap();
        let kinds: Vec<u16> = attrs.iter().map(|a| a.0).collect();
        assert_eq!(
            kinds,
            [
                CARP_NL_VHID,
                CARP_NL_ADVBASE,
                CARP_NL_ADVSKEW,
                CARP_NL_KEY,
                CARP_NL_ADDR,
                CARP_NL_IFNAME
            ]
        );
        assert_eq!(attrs[2].1, 100u32.to_ne_bytes());
        assert_eq!(attrs[3].1.len(), 20);
        assert_eq!(attrs[4].1, [192, 0, 2, 3]);
        assert_eq!(attrs[5].1, b"vtnet0\0");
        // Total length: 16 + 4 + 3×8 + 24 + 8 + 12.
        assert_eq!(msg.len(), 88);
        assert_eq!(u32::from_ne_bytes(msg[..4].try_into().unwrap()), 88);
    }

    /// A forced state goes out with the current advbase/advskew (read-modify-write) and no
    /// key or peer attributes, which the kernel reads as "keep".
    #[test]
    fn set_request_with_a_forced_state() {
        let msg = carp_set_request(
            0x20,
            8,
            &CarpSet {
                ifname: "vtnet1".into(),
                vhid: 9,
                advbase: 2,
                advskew: 100,
                key: None,
                peer: None,
                peer6: None,
                state: Some(CarpStateReq::Backup),
                vrrp: None,
            },
        );
        let msgs = messages(&msg).unwrap();
        let attrs = attributes(msgs[0].payload).unwrap();
        let kinds: Vec<u16> = attrs.iter().map(|a| a.0).collect();
        assert_eq!(
            kinds,
            [
                CARP_NL_VHID,
                CARP_NL_ADVBASE,
                CARP_NL_ADVSKEW,
                CARP_NL_STATE,
                CARP_NL_IFNAME
            ]
        );
        assert_eq!(attrs[2].1, 100u32.to_ne_bytes());
        assert_eq!(attrs[3].1, 1u32.to_ne_bytes());
        assert_eq!(CarpStateReq::Master.raw(), 2);
    }

    /// A VRRPv3 SET (FreeBSD 15): VERSION 3, priority as u8 and interval as u16, the sizes
    /// `nlattr_get_uint8` / `nlattr_get_uint16` want, and none of CARP's attributes.
    #[test]
    fn vrrp_set_request_sends_version_priority_and_interval_only() {
        let msg = carp_set_request(
            0x20,
            9,
            &CarpSet {
                ifname: "vtnet0".into(),
                vhid: 51,
                advbase: 1,
                advskew: 0,
                key: None,
                peer: None,
                peer6: None,
                state: Some(CarpStateReq::Master),
                vrrp: Some(VrrpSet {
                    priority: 200,
                    interval_cs: 10,
                }),
            },
        );
        let msgs = messages(&msg).unwrap();
        let attrs = attributes(msgs[0].payload).unwrap();
        assert_eq!(
            attrs,
            vec![
                (CARP_NL_VHID, &51u32.to_ne_bytes()[..]),
                (CARP_NL_VERSION, &[3][..]),
                (CARP_NL_VRRP_PRIORITY, &[200][..]),
                (CARP_NL_VRRP_ADV_INTER, &10u16.to_ne_bytes()[..]),
                (CARP_NL_STATE, &2u32.to_ne_bytes()[..]),
                (CARP_NL_IFNAME, &b"vtnet0\0"[..]),
            ]
        );
    }

    #[test]
    fn parses_a_get_reply_and_rejects_truncation() {
        let reply = MsgBuilder::new(0x20, NLM_F_MULTI, 9, CARP_NL_CMD_GET)
            .u32(CARP_NL_VHID, 5)
            .u32(CARP_NL_STATE, 2)
            .u32(CARP_NL_ADVBASE, 1)
            .u32(CARP_NL_ADVSKEW, 240)
            .attr(CARP_NL_ADDR, &[224, 0, 0, 18])
            .attr(CARP_NL_ADDR6, &Ipv6Addr::LOCALHOST.octets())
            .attr(CARP_NL_KEY, &[0; 20])
            .finish();
        let msgs = messages(&reply).unwrap();
        let info = parse_carp_info(msgs[0].payload).unwrap();
        assert_eq!(info.vhid, 5);
        assert_eq!(info.state, 2);
        assert_eq!(info.advskew, 240);
        assert!(!info.key_set);
        assert_eq!(info.peer, Some(Ipv4Addr::new(224, 0, 0, 18)));
        assert_eq!(info.peer6, Some(Ipv6Addr::LOCALHOST));
        assert!(messages(&reply[..reply.len() - 4]).is_err());
        // FreeBSD's positive errno and Linux's negated one read the same.
        assert_eq!(error_code(&2i32.to_ne_bytes()).unwrap(), 2);
        assert_eq!(error_code(&(-2i32).to_ne_bytes()).unwrap(), 2);
        assert_eq!(done_code(&12i32.to_ne_bytes()).unwrap(), 12);
        assert!(done_code(&[0, 0]).is_err());
    }

    #[test]
    fn a_reply_with_wrong_sizes_or_no_vhid_is_an_error() {
        let short_vhid = MsgBuilder::new(0x20, NLM_F_MULTI, 9, CARP_NL_CMD_GET)
            .attr(CARP_NL_VHID, &[5, 0])
            .finish();
        let m = messages(&short_vhid).unwrap();
        assert_eq!(
            parse_carp_info(m[0].payload),
            Err(GenlError::BadAttribute {
                kind: CARP_NL_VHID,
                len: 2,
                want: 4
            })
        );
        let no_vhid = MsgBuilder::new(0x20, NLM_F_MULTI, 9, CARP_NL_CMD_GET)
            .u32(CARP_NL_STATE, 1)
            .finish();
        let m = messages(&no_vhid).unwrap();
        assert_eq!(parse_carp_info(m[0].payload), Err(GenlError::MissingVhid));
        let vrrp = MsgBuilder::new(0x20, NLM_F_MULTI, 9, CARP_NL_CMD_GET)
            .u32(CARP_NL_VHID, 7)
            .u32(CARP_NL_STATE, 1)
            .attr(CARP_NL_VERSION, &[3])
            .attr(CARP_NL_VRRP_PRIORITY, &[200])
            .attr(CARP_NL_VRRP_ADV_INTER, &100u16.to_ne_bytes())
            .finish();
        let m = messages(&vrrp).unwrap();
        let info = parse_carp_info(m[0].payload).unwrap();
        assert_eq!(
            (info.version, info.vrrp_priority, info.vrrp_adv_inter),
            (3, Some(200), Some(100))
        );
    }

    #[test]
    fn family_request_and_reply() {
        let req = get_family_request(1, "carp");
        let m = messages(&req).unwrap();
        assert_eq!(m[0].kind, GENL_ID_CTRL);
        let attrs = attributes(m[0].payload).unwrap();
        assert_eq!(attrs, vec![(CTRL_ATTR_FAMILY_NAME, &b"carp\0"[..])]);
        let reply = MsgBuilder::new(GENL_ID_CTRL, 0, 1, 1)
            .string(CTRL_ATTR_FAMILY_NAME, "carp")
            .attr(CTRL_ATTR_FAMILY_ID, &0x1du16.to_ne_bytes())
            .finish();
        let m = messages(&reply).unwrap();
        assert_eq!(family_id(m[0].payload).unwrap(), Some(0x1d));
    }
}
