//! FreeBSD's netlink as carp(4) uses it: the generic controller "nlctrl" and the "carp" family,
//! request framing, attribute parsing, replies, dumps, ACKs and errors. Source keys NLW, NLIO,
//! NLG, NLP, K14, K15, NL15 (crate documentation).
//!
//! The model's own encoder and decoder, written from `sys/netlink/netlink.h`,
//! `netlink_generic.h` and `sys/netinet/ip_carp_nl.h`; it shares no code with carpd's.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::errno::*;
use crate::kernel::{
    CARP_MAXVHID, CARP_VERSION_CARP, CARP_VERSION_VRRPV3, Fault, IFF_MULTICAST, Kernel, SetReq,
    VRRP_MAX_INTERVAL, Vhid,
};

const NLMSG_HDRLEN: usize = 16;
const GENL_HDRLEN: usize = 4;
const NLMSG_MIN_TYPE: u16 = 0x10;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_MULTI: u16 = 0x2;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_CAPPED: u16 = 0x100;
/// `GENL_MIN_ID`: family slot 0 (nlctrl) is message type 16.
const GENL_MIN_ID: u16 = 16;
/// `MIN_GROUP_NUM`.
const MIN_GROUP_NUM: u32 = 48;

const CTRL_CMD_NEWFAMILY: u8 = 1;
const CTRL_CMD_GETFAMILY: u8 = 3;
const CTRL_ATTR_FAMILY_ID: u16 = 1;
const CTRL_ATTR_FAMILY_NAME: u16 = 2;
const CTRL_ATTR_VERSION: u16 = 3;
const CTRL_ATTR_HDRSIZE: u16 = 4;
const CTRL_ATTR_MAXATTR: u16 = 5;
const CTRL_ATTR_OPS: u16 = 6;
const CTRL_ATTR_MCAST_GROUPS: u16 = 7;
const CTRL_ATTR_OP_ID: u16 = 1;
const CTRL_ATTR_OP_FLAGS: u16 = 2;
const CTRL_ATTR_MCAST_GRP_NAME: u16 = 1;
const CTRL_ATTR_MCAST_GRP_ID: u16 = 2;
const NLA_F_NESTED: u16 = 0x8000;
const GENL_ADMIN_PERM: u32 = 0x1;
const GENL_CMD_CAP_DO: u32 = 0x2;
const GENL_CMD_CAP_DUMP: u32 = 0x4;
const GENL_CMD_CAP_HASPOL: u32 = 0x8;

const CARP_NL_CMD_GET: u8 = 1;
const CARP_NL_CMD_SET: u8 = 2;
const CARP_NL_VHID: u16 = 1;
const CARP_NL_STATE: u16 = 2;
const CARP_NL_ADVBASE: u16 = 3;
const CARP_NL_ADVSKEW: u16 = 4;
const CARP_NL_KEY: u16 = 5;
const CARP_NL_IFINDEX: u16 = 6;
const CARP_NL_ADDR: u16 = 7;
const CARP_NL_ADDR6: u16 = 8;
const CARP_NL_IFNAME: u16 = 9;
const CARP_NL_VERSION: u16 = 10;
const CARP_NL_VRRP_PRIORITY: u16 = 11;
const CARP_NL_VRRP_ADV_INTER: u16 = 12;

/// Bytes per datagram the writer hands the socket before it refills (an mbuf cluster,
/// `nlmsg_refill_buffer`): a long dump arrives in several datagrams, each with whole messages.
const WRITER_CHUNK: usize = 2048;

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

#[derive(Clone, Copy, Debug)]
struct Hdr {
    len: u32,
    kind: u16,
    flags: u16,
    seq: u32,
    pid: u32,
}

fn hdr_at(b: &[u8]) -> Hdr {
    Hdr {
        len: u32::from_ne_bytes([b[0], b[1], b[2], b[3]]),
        kind: u16::from_ne_bytes([b[4], b[5]]),
        flags: u16::from_ne_bytes([b[6], b[7]]),
        seq: u32::from_ne_bytes([b[8], b[9], b[10], b[11]]),
        pid: u32::from_ne_bytes([b[12], b[13], b[14], b[15]]),
    }
}

/// One message being written: header, then payload.
struct Msg {
    buf: Vec<u8>,
}

impl Msg {
    fn new(kind: u16, flags: u16, seq: u32, pid: u32) -> Msg {
        let mut buf = Vec::with_capacity(128);
        buf.extend_from_slice(&0u32.to_ne_bytes());
        buf.extend_from_slice(&kind.to_ne_bytes());
        buf.extend_from_slice(&flags.to_ne_bytes());
        buf.extend_from_slice(&seq.to_ne_bytes());
        buf.extend_from_slice(&pid.to_ne_bytes());
        Msg { buf }
    }
    fn genl(mut self, cmd: u8, version: u8) -> Msg {
        self.buf.extend_from_slice(&[cmd, version, 0, 0]);
        self
    }
    fn raw(mut self, bytes: &[u8]) -> Msg {
        self.buf.extend_from_slice(bytes);
        self
    }
    fn attr(mut self, kind: u16, payload: &[u8]) -> Msg {
        let len = 4 + payload.len();
        self.buf.extend_from_slice(&(len as u16).to_ne_bytes());
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        self.buf.extend_from_slice(payload);
        self.buf.resize(align4(self.buf.len()), 0);
        self
    }
    fn u8(self, kind: u16, v: u8) -> Msg {
        self.attr(kind, &[v])
    }
    fn u16(self, kind: u16, v: u16) -> Msg {
        self.attr(kind, &v.to_ne_bytes())
    }
    fn u32(self, kind: u16, v: u32) -> Msg {
        self.attr(kind, &v.to_ne_bytes())
    }
    fn s32(self, kind: u16, v: i32) -> Msg {
        self.attr(kind, &v.to_ne_bytes())
    }
    fn string(self, kind: u16, s: &str) -> Msg {
        let mut b = s.as_bytes().to_vec();
        b.push(0);
        self.attr(kind, &b)
    }
    fn finish(mut self) -> Vec<u8> {
        let len = self.buf.len() as u32;
        self.buf[..4].copy_from_slice(&len.to_ne_bytes());
        self.buf
    }
}

/// Attributes of a request as the kernel's parser reads them (NLP `nl_parse_attrs_raw`): the
/// walk stops quietly at an attribute that would run past the end, a length under 4 is
/// EINVAL, the type is masked with `NLA_TYPE_MASK`; unknown types are skipped; a repeated
/// type overwrites (the last one wins).
fn attrs(mut b: &[u8]) -> Result<Vec<(u16, &[u8])>, i32> {
    let mut out = Vec::new();
    while b.len() >= 4 {
        let len = u16::from_ne_bytes([b[0], b[1]]) as usize;
        let kind = u16::from_ne_bytes([b[2], b[3]]) & 0x3fff;
        // NLA_FOREACH: stop where the next (aligned) attribute would start past the end.
        if align4(len) > b.len() {
            break;
        }
        if len < 4 {
            return Err(EINVAL);
        }
        out.push((kind, &b[4..len]));
        b = &b[align4(len).min(b.len())..];
    }
    Ok(out)
}

/// `nlattr_get_uint32` and friends: exact sizes, else EINVAL.
fn exact<const N: usize>(v: &[u8]) -> Result<[u8; N], i32> {
    <[u8; N]>::try_from(v).map_err(|_| EINVAL)
}

/// `nlattr_get_string`: a NUL must end the string inside the payload.
fn string(v: &[u8]) -> Result<String, i32> {
    let end = v.iter().position(|c| *c == 0).ok_or(EINVAL)?;
    Ok(String::from_utf8_lossy(&v[..end]).into_owned())
}

/// What the carp parser (`nla_p_set`, K14; K15 adds ids 10..12) took from a request.
#[derive(Default)]
struct CarpAttrs {
    vhid: u32,
    state: u32,
    advbase: i32,
    advskew: i32,
    key: [u8; 20],
    ifindex: u32,
    addr: Option<Ipv4Addr>,
    addr6: Option<Ipv6Addr>,
    ifname: Option<String>,
    version: u8,
    vrrp_prio: u8,
    vrrp_adv_inter: u16,
}

fn carp_attrs(k: &Kernel, payload: &[u8]) -> Result<CarpAttrs, i32> {
    let mut a = CarpAttrs::default();
    for (kind, v) in attrs(payload)? {
        match kind {
            CARP_NL_VHID => a.vhid = u32::from_ne_bytes(exact(v)?),
            CARP_NL_STATE => a.state = u32::from_ne_bytes(exact(v)?),
            CARP_NL_ADVBASE => a.advbase = i32::from_ne_bytes(exact(v)?),
            CARP_NL_ADVSKEW => a.advskew = i32::from_ne_bytes(exact(v)?),
            // `nlattr_get_carp_key`: at most CARP_KEY_LEN bytes, the rest zero.
            CARP_NL_KEY => {
                if v.len() > 20 {
                    return Err(EINVAL);
                }
                a.key = [0; 20];
                a.key[..v.len()].copy_from_slice(v);
            }
            CARP_NL_IFINDEX => a.ifindex = u32::from_ne_bytes(exact(v)?),
            CARP_NL_ADDR => a.addr = Some(Ipv4Addr::from(exact::<4>(v)?)),
            CARP_NL_ADDR6 => a.addr6 = Some(Ipv6Addr::from(exact::<16>(v)?)),
            CARP_NL_IFNAME => a.ifname = Some(string(v)?),
            CARP_NL_VERSION if k.release.has_vrrp() => a.version = exact::<1>(v)?[0],
            CARP_NL_VRRP_PRIORITY if k.release.has_vrrp() => a.vrrp_prio = exact::<1>(v)?[0],
            CARP_NL_VRRP_ADV_INTER if k.release.has_vrrp() => {
                a.vrrp_adv_inter = u16::from_ne_bytes(exact(v)?)
            }
            _ => {}
        }
    }
    Ok(a)
}

/// Replies of one `send()`, packed into datagrams as the writer flushes them.
struct Writer {
    msgs: Vec<Vec<u8>>,
}

impl Writer {
    fn datagrams(self) -> Vec<Vec<u8>> {
        let mut out: Vec<Vec<u8>> = Vec::new();
        for m in self.msgs {
            match out.last_mut() {
                Some(d) if d.len() + m.len() <= WRITER_CHUNK => d.extend_from_slice(&m),
                _ => out.push(m),
            }
        }
        out
    }
}

/// What a handler did besides writing replies.
struct Outcome {
    error: i32,
    /// The handler ended a dump: no ACK or error message follows (`nw->suppress_ack`).
    suppress_ack: bool,
}

fn fail(error: i32) -> Outcome {
    Outcome {
        error,
        suppress_ack: false,
    }
}

/// Process what a netlink socket sent and return the datagrams the kernel queues for it
/// (NLIO `nl_receive_message`, in a loop over the buffer as `nl_process_mbuf` does).
pub fn process(k: &mut Kernel, port: u32, data: &[u8]) -> Vec<Vec<u8>> {
    let mut w = Writer { msgs: Vec::new() };
    let mut off = 0;
    while data.len() - off >= NLMSG_HDRLEN {
        let mut hdr = hdr_at(&data[off..]);
        let len = hdr.len as usize;
        // Framing errors stop the buffer without any answer.
        if len > data.len() - off || len < NLMSG_HDRLEN {
            break;
        }
        let msg = &data[off..off + len];
        // "Stamp each message with sender pid".
        hdr.pid = port;
        let mut out = Outcome {
            error: 0,
            suppress_ack: false,
        };
        if hdr.flags & NLM_F_REQUEST != 0 && hdr.kind >= NLMSG_MIN_TYPE {
            out = genl(k, &hdr, msg, &mut w);
        }
        if (hdr.flags & NLM_F_ACK != 0 || (out.error != 0 && out.error != EINTR))
            && !out.suppress_ack
        {
            w.msgs.push(ack(&hdr, msg, out.error));
        }
        off += align4(len);
    }
    w.datagrams()
}

/// `nlmsg_ack` (NLW): NLMSG_ERROR with the **positive** errno; on success (or with
/// NETLINK_CAP_ACK, which carpd does not set) the request's header only and NLM_F_CAPPED,
/// on an error the whole request copied.
fn ack(hdr: &Hdr, msg: &[u8], error: i32) -> Vec<u8> {
    let capped = error == 0;
    let mut copy = msg.to_vec();
    copy[12..16].copy_from_slice(&hdr.pid.to_ne_bytes());
    if capped {
        copy.truncate(NLMSG_HDRLEN);
    }
    let mut payload = error.to_ne_bytes().to_vec();
    payload.extend_from_slice(&copy);
    payload.resize(align4(payload.len()), 0);
    Msg::new(
        NLMSG_ERROR,
        if capped { NLM_F_CAPPED } else { 0 },
        hdr.seq,
        hdr.pid,
    )
    .raw(&payload)
    .finish()
}

/// `_nlmsg_end_dump` (NLW): NLMSG_DONE, flags 0, one int: the dump's errno, positive.
fn end_dump(hdr: &Hdr, error: i32) -> Vec<u8> {
    Msg::new(NLMSG_DONE, 0, hdr.seq, hdr.pid)
        .raw(&error.to_ne_bytes())
        .finish()
}

/// `genl_handle_message` (NLG, newest ordering): too short → EINVAL; an unregistered family
/// or command → ENOTSUP; a command needing a privilege the caller lacks → EPERM.
fn genl(k: &mut Kernel, hdr: &Hdr, msg: &[u8], w: &mut Writer) -> Outcome {
    if msg.len() < NLMSG_HDRLEN + GENL_HDRLEN {
        return fail(EINVAL);
    }
    let slot = usize::from(hdr.kind - GENL_MIN_ID);
    let Some(family) = k.families.get(slot).cloned() else {
        return fail(EOPNOTSUPP);
    };
    let cmd = msg[NLMSG_HDRLEN];
    let payload = &msg[NLMSG_HDRLEN + GENL_HDRLEN..];
    if k.take_fault(|f| matches!(f, Fault::NetlinkSilent))
        .is_some()
    {
        // Swallowed: no reply, no ACK.
        return Outcome {
            error: 0,
            suppress_ack: true,
        };
    }
    match (family.as_str(), cmd) {
        ("nlctrl", CTRL_CMD_GETFAMILY) => getfamily(k, hdr, payload, w),
        ("carp", CARP_NL_CMD_GET) => carp_get(k, hdr, payload, w),
        ("carp", CARP_NL_CMD_SET) => {
            if !k.privileged {
                return fail(EPERM);
            }
            fail(match carp_set(k, payload) {
                Ok(()) => 0,
                Err(e) => e,
            })
        }
        _ => fail(EOPNOTSUPP),
    }
}

/// What the controller reports of a family.
struct FamilyFacts {
    version: u32,
    hdrsize: u32,
    maxattr: u32,
    /// (command, flags)
    cmds: Vec<(u32, u32)>,
    groups: Vec<&'static str>,
}

fn family_facts(name: &str) -> FamilyFacts {
    let (version, hdrsize, maxattr, cmds, groups) = match name {
        // nlctrl: version 2, one command GETFAMILY (DO|DUMP|HASPOL), group "notify".
        "nlctrl" => (
            2,
            0,
            7,
            vec![(
                u32::from(CTRL_CMD_GETFAMILY),
                GENL_CMD_CAP_DO | GENL_CMD_CAP_DUMP | GENL_CMD_CAP_HASPOL,
            )],
            vec!["notify"],
        ),
        // carp: `genl_register_family("carp", 0, 2, CARP_NL_CMD_MAX)`; GET DO|DUMP|HASPOL,
        // SET DO|HASPOL with PRIV_NETINET_CARP (reported as GENL_ADMIN_PERM).
        "carp" => (
            2,
            0,
            2,
            vec![
                (
                    u32::from(CARP_NL_CMD_GET),
                    GENL_CMD_CAP_DO | GENL_CMD_CAP_DUMP | GENL_CMD_CAP_HASPOL,
                ),
                (
                    u32::from(CARP_NL_CMD_SET),
                    GENL_CMD_CAP_DO | GENL_CMD_CAP_HASPOL | GENL_ADMIN_PERM,
                ),
            ],
            vec![],
        ),
        _ => (1, 0, 0, vec![], vec![]),
    };
    FamilyFacts {
        version,
        hdrsize,
        maxattr,
        cmds,
        groups,
    }
}

/// `dump_family` (NLG): NAME before ID (not Linux's order), VERSION, HDRSIZE, MAXATTR, OPS,
/// MCAST_GROUPS; the reply copies the request's type and flags (`nlmsg_reply`).
fn family_msg(hdr: &Hdr, flags: u16, slot: usize, name: &str) -> Vec<u8> {
    let FamilyFacts {
        version,
        hdrsize,
        maxattr,
        cmds,
        groups,
    } = family_facts(name);
    let mut m = Msg::new(hdr.kind, flags, hdr.seq, hdr.pid)
        .genl(CTRL_CMD_NEWFAMILY, version as u8)
        .string(CTRL_ATTR_FAMILY_NAME, name)
        .u16(CTRL_ATTR_FAMILY_ID, GENL_MIN_ID + slot as u16)
        .u32(CTRL_ATTR_VERSION, version)
        .u32(CTRL_ATTR_HDRSIZE, hdrsize)
        .u32(CTRL_ATTR_MAXATTR, maxattr);
    if !cmds.is_empty() {
        let mut ops = Vec::new();
        for (i, (id, fl)) in cmds.iter().enumerate() {
            let entry = Msg { buf: Vec::new() }
                .u32(CTRL_ATTR_OP_ID, *id)
                .u32(CTRL_ATTR_OP_FLAGS, *fl)
                .buf;
            ops.extend_from_slice(&nested(i as u16 + 1, &entry));
        }
        m = m.attr(CTRL_ATTR_OPS | NLA_F_NESTED, &ops);
    }
    if !groups.is_empty() {
        let mut gs = Vec::new();
        for (i, g) in groups.iter().enumerate() {
            let entry = Msg { buf: Vec::new() }
                .u32(CTRL_ATTR_MCAST_GRP_ID, MIN_GROUP_NUM + i as u32)
                .string(CTRL_ATTR_MCAST_GRP_NAME, g)
                .buf;
            gs.extend_from_slice(&nested(i as u16 + 1, &entry));
        }
        m = m.attr(CTRL_ATTR_MCAST_GROUPS | NLA_F_NESTED, &gs);
    }
    m.finish()
}

fn nested(kind: u16, inner: &[u8]) -> Vec<u8> {
    let mut b = ((4 + inner.len()) as u16).to_ne_bytes().to_vec();
    b.extend_from_slice(&(kind | NLA_F_NESTED).to_ne_bytes());
    b.extend_from_slice(inner);
    b.resize(align4(b.len()), 0);
    b
}

/// `nlctrl_handle_getfamily` (NLG): a name or an id resolves to one reply (no DONE) or
/// ENOENT; neither dumps every family, ending with NLMSG_DONE.
fn getfamily(k: &Kernel, hdr: &Hdr, payload: &[u8], w: &mut Writer) -> Outcome {
    let (mut id, mut name) = (None, None);
    match attrs(payload) {
        Ok(list) => {
            for (kind, v) in list {
                match kind {
                    CTRL_ATTR_FAMILY_ID => match exact::<2>(v) {
                        Ok(b) => id = Some(u16::from_ne_bytes(b)),
                        Err(e) => return fail(e),
                    },
                    CTRL_ATTR_FAMILY_NAME => match string(v) {
                        Ok(s) => name = Some(s),
                        Err(e) => return fail(e),
                    },
                    _ => {}
                }
            }
        }
        Err(e) => return fail(e),
    }
    if id.is_some() || name.is_some() {
        let found = k.families.iter().enumerate().find(|(slot, n)| {
            name.as_deref() == Some(n.as_str()) || id == Some(GENL_MIN_ID + *slot as u16)
        });
        return match found {
            Some((slot, n)) => {
                w.msgs.push(family_msg(hdr, hdr.flags, slot, n));
                fail(0)
            }
            None => fail(ENOENT),
        };
    }
    for (slot, n) in k.families.iter().enumerate() {
        w.msgs
            .push(family_msg(hdr, hdr.flags | NLM_F_MULTI, slot, n));
    }
    w.msgs.push(end_dump(hdr, 0));
    Outcome {
        error: 0,
        suppress_ack: true,
    }
}

/// `carp_nl_send` (K14; K15 adds VERSION and the VRRP branch): VHID, STATE, [VERSION], then
/// ADVBASE, ADVSKEW, ADDR, ADDR6 and — privileged only — the 20-byte KEY, or VRRP_PRIORITY and
/// VRRP_ADV_INTER; genl header cmd GET, version 0.
fn vhid_msg(k: &Kernel, hdr: &Hdr, v: &Vhid) -> Vec<u8> {
    let mut m = Msg::new(hdr.kind, hdr.flags | NLM_F_MULTI, hdr.seq, hdr.pid)
        .genl(CARP_NL_CMD_GET, 0)
        .u32(CARP_NL_VHID, u32::from(v.vhid))
        .u32(CARP_NL_STATE, v.state as u32);
    if k.release.has_vrrp() {
        m = m.u8(CARP_NL_VERSION, v.version);
    }
    if v.version == CARP_VERSION_CARP {
        m = m
            .s32(CARP_NL_ADVBASE, v.advbase)
            .s32(CARP_NL_ADVSKEW, v.advskew)
            .attr(CARP_NL_ADDR, &v.peer.octets())
            .attr(CARP_NL_ADDR6, &v.peer6.octets());
        if k.privileged {
            m = m.attr(CARP_NL_KEY, &v.key);
        }
    } else {
        m = m
            .u8(CARP_NL_VRRP_PRIORITY, v.vrrp_prio)
            .u16(CARP_NL_VRRP_ADV_INTER, v.vrrp_adv_inter);
    }
    m.finish()
}

fn ifp_of(k: &Kernel, a: &CarpAttrs) -> Option<String> {
    match &a.ifname {
        Some(n) => Some(n.clone()),
        None if a.ifindex != 0 => k
            .interfaces
            .iter()
            .find(|i| i.index == a.ifindex)
            .map(|i| i.name.clone()),
        None => None,
    }
}

/// `carp_nl_get` (K14 = K15): always answers as a dump. An unknown or unsupported interface
/// fails before the dump starts (NLMSG_ERROR); the vhid lookup's errors (EINVAL, ENOENT,
/// ENOMEM) travel in NLMSG_DONE. No IFF_MULTICAST check on GET.
fn carp_get(k: &mut Kernel, hdr: &Hdr, payload: &[u8], w: &mut Writer) -> Outcome {
    let a = match carp_attrs(k, payload) {
        Ok(a) => a,
        Err(e) => return fail(e),
    };
    let name = ifp_of(k, &a);
    k.note(format!(
        "netlink carp GET {}",
        name.as_deref().unwrap_or("?")
    ));
    let ifi = match k.supported_if(name.as_deref()) {
        Ok(i) => i,
        Err(e) => return fail(e),
    };
    let ifname = k.interfaces[ifi].name.clone();
    let mut error = match k.ioctl_get(ifi, a.vhid as i32, CARP_MAXVHID) {
        Ok(list) => {
            for v in &list {
                w.msgs.push(vhid_msg(k, hdr, v));
            }
            0
        }
        Err(e) => e,
    };
    if let Some(Fault::DumpFails { errno, .. }) =
        k.take_fault(|f| matches!(f, Fault::DumpFails { ifname: n, .. } if *n == ifname))
    {
        error = errno;
    }
    w.msgs.push(end_dump(hdr, error));
    Outcome {
        error,
        suppress_ack: true,
    }
}

/// `carp_nl_set` (K14; K15 with versions): validation before the interface lookup, then
/// ENXIO / EOPNOTSUPP / EADDRNOTAVAIL for the interface, then `carp_ioctl_set`.
fn carp_set(k: &mut Kernel, payload: &[u8]) -> Result<(), i32> {
    let mut a = carp_attrs(k, payload)?;
    k.note(format!(
        "netlink carp SET {}@{}",
        a.vhid,
        ifp_of(k, &a).as_deref().unwrap_or("?")
    ));
    if a.vhid == 0 || a.vhid > CARP_MAXVHID as u32 {
        return Err(EINVAL);
    }
    if a.state > 2 {
        return Err(EINVAL);
    }
    if k.release.has_vrrp() {
        if a.version == 0 {
            // "compat with pre-VRRPv3"
            a.version = CARP_VERSION_CARP;
        }
        match a.version {
            CARP_VERSION_CARP => {
                if a.advbase < 0 || a.advskew < 0 || a.advbase > 255 || a.advskew >= 255 {
                    return Err(EINVAL);
                }
            }
            CARP_VERSION_VRRPV3 => {
                if a.vrrp_adv_inter > VRRP_MAX_INTERVAL {
                    return Err(EINVAL);
                }
            }
            _ => return Err(EINVAL),
        }
    } else {
        a.version = CARP_VERSION_CARP;
        if a.advbase < 0 || a.advskew < 0 || a.advbase > 255 || a.advskew >= 255 {
            return Err(EINVAL);
        }
    }
    let name = ifp_of(k, &a);
    let ifi = k.supported_if(name.as_deref())?;
    if k.interfaces[ifi].flags & IFF_MULTICAST == 0 {
        return Err(EADDRNOTAVAIL);
    }
    k.ioctl_set(
        ifi,
        &SetReq {
            vhid: a.vhid as i32,
            state: a.state as i32,
            advskew: a.advskew,
            advbase: a.advbase,
            key: a.key,
            addr: a.addr,
            addr6: a.addr6,
            version: a.version,
            vrrp_prio: a.vrrp_prio,
            vrrp_adv_inter: a.vrrp_adv_inter,
        },
    )
}
