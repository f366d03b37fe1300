//! Raw protocol-112 sockets, one per (interface, family), shared by every VHID on it.
//!
//! IPv4: joined to 224.0.0.18 on the interface, bound to it (SO_BINDTODEVICE), TTL 255
//! (unicast and multicast), ToS 0xE0, DF, multicast loopback off.
//! IPv6: joined to ff02::12, hop limit 255, traffic class 0xE0, hop limit and destination of
//! received packets reported (IPV6_RECVHOPLIMIT, IPV6_RECVPKTINFO).
//!
//! The source address is not set with bind(2): a raw IPv4 socket bound to an address only
//! receives datagrams *addressed to* that address, so it would never see 224.0.0.18 (and a
//! bound IPv6 socket would miss unicast adverts sent to another of our addresses). Instead
//! every send carries IP_PKTINFO / IPV6_PKTINFO with the interface and the source address,
//! which the kernel uses as the datagram's source, so adverts leave from the interface's own
//! address and never from a VIP.
//!
//! IPV6_CHECKSUM is deliberately left off: the CARP checksum has no pseudo-header and carpd
//! computes it itself (carp-spec §12.3).

use std::io::{self, IoSlice, IoSliceMut};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsFd, AsRawFd};
use std::sync::atomic::{AtomicU64, Ordering};

use nix::sys::socket::{
    ControlMessage, ControlMessageOwned, MsgFlags, SockaddrIn, SockaddrIn6, recvfrom, recvmsg,
    sendmsg, setsockopt, sockopt,
};
use socket2::{Domain, InterfaceIndexOrAddress, Protocol, Socket, Type};
use tokio::io::unix::AsyncFd;

use crate::proto::Family;
use crate::wire::ip::{self, MCAST_V4, MCAST_V6};

// The wire layer's constants, in the integer types the socket options take.
const PROTO_CARP: i32 = ip::PROTO_CARP as i32;
const CARP_TTL: u32 = ip::CARP_TTL as u32;
const CARP_TOS: u32 = ip::CARP_TOS as u32;
/// Receive buffer: a CARP advert is 56 bytes, VRRPv3 with many addresses stays far below this.
const RECV_BUF: usize = 2048;

/// One datagram as received, with what the receive checks need.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Received {
    pub family: Family,
    pub src: IpAddr,
    pub dst: IpAddr,
    /// TTL (IPv4 header) or hop limit (IPV6_HOPLIMIT ancillary data).
    pub ttl: u8,
    /// The protocol-112 payload (CARP or VRRP header), IP header stripped.
    pub payload: Vec<u8>,
}

#[derive(Debug)]
pub struct CarpSocket {
    fd: AsyncFd<Socket>,
    family: Family,
    ifindex: u32,
    src: IpAddr,
    /// Datagrams dropped because the IP framing was unusable (carpstats `badlen`).
    malformed: AtomicU64,
}

fn context(what: String) -> impl FnOnce(io::Error) -> io::Error {
    move |e| io::Error::new(e.kind(), format!("{what}: {e}"))
}

fn ifindex_of(ifname: &str) -> io::Result<u32> {
    nix::net::if_::if_nametoindex(ifname).map_err(|e| {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!("interface {ifname} not found ({e}); check the interface name"),
        )
    })
}

impl CarpSocket {
    /// Open the IPv4 socket of `ifname`, sending from `src`.
    pub fn open_v4(ifname: &str, src: Ipv4Addr) -> std::io::Result<CarpSocket> {
        let ifindex = ifindex_of(ifname)?;
        let ctx = |what: &str| context(format!("CARP IPv4 socket on {ifname}: {what}"));
        let sock = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(PROTO_CARP)))
            .map_err(ctx("socket(AF_INET, SOCK_RAW, 112) (needs CAP_NET_RAW)"))?;
        sock.bind_device(Some(ifname.as_bytes()))
            .map_err(ctx("SO_BINDTODEVICE"))?;
        sock.join_multicast_v4_n(&MCAST_V4, &InterfaceIndexOrAddress::Index(ifindex))
            .map_err(ctx("joining 224.0.0.18"))?;
        // Only the group joined here, not every group some other socket joined.
        sock.set_multicast_all_v4(false)
            .map_err(ctx("IP_MULTICAST_ALL"))?;
        sock.set_multicast_if_v4(&src)
            .map_err(ctx("IP_MULTICAST_IF"))?;
        // The multicast default is 1 (carp-spec §12.12); receivers drop anything but 255.
        sock.set_multicast_ttl_v4(CARP_TTL)
            .map_err(ctx("IP_MULTICAST_TTL"))?;
        sock.set_ttl_v4(CARP_TTL).map_err(ctx("IP_TTL"))?;
        sock.set_tos_v4(CARP_TOS).map_err(ctx("IP_TOS"))?;
        sock.set_multicast_loop_v4(false)
            .map_err(ctx("IP_MULTICAST_LOOP"))?;
        set_df(&sock).map_err(ctx("IP_MTU_DISCOVER"))?;
        sock.set_nonblocking(true).map_err(ctx("O_NONBLOCK"))?;
        Ok(CarpSocket {
            fd: register(sock).map_err(ctx("registering with the runtime"))?,
            family: Family::V4,
            ifindex,
            src: IpAddr::V4(src),
            malformed: AtomicU64::new(0),
        })
    }

    /// Open the IPv6 socket of `ifname`, sending from the link-local `src`.
    pub fn open_v6(ifname: &str, src: Ipv6Addr) -> std::io::Result<CarpSocket> {
        let ifindex = ifindex_of(ifname)?;
        let ctx = |what: &str| context(format!("CARP IPv6 socket on {ifname}: {what}"));
        let sock = Socket::new(Domain::IPV6, Type::RAW, Some(Protocol::from(PROTO_CARP)))
            .map_err(ctx("socket(AF_INET6, SOCK_RAW, 112) (needs CAP_NET_RAW)"))?;
        sock.bind_device(Some(ifname.as_bytes()))
            .map_err(ctx("SO_BINDTODEVICE"))?;
        sock.join_multicast_v6(&MCAST_V6, ifindex)
            .map_err(ctx("joining ff02::12"))?;
        sock.set_multicast_all_v6(false)
            .map_err(ctx("IPV6_MULTICAST_ALL"))?;
        sock.set_multicast_if_v6(ifindex)
            .map_err(ctx("IPV6_MULTICAST_IF"))?;
        sock.set_multicast_hops_v6(CARP_TTL)
            .map_err(ctx("IPV6_MULTICAST_HOPS"))?;
        sock.set_unicast_hops_v6(CARP_TTL)
            .map_err(ctx("IPV6_UNICAST_HOPS"))?;
        sock.set_tclass_v6(CARP_TOS).map_err(ctx("IPV6_TCLASS"))?;
        sock.set_multicast_loop_v6(false)
            .map_err(ctx("IPV6_MULTICAST_LOOP"))?;
        sock.set_recv_hoplimit_v6(true)
            .map_err(ctx("IPV6_RECVHOPLIMIT"))?;
        setsockopt(&sock, sockopt::Ipv6RecvPacketInfo, &true)
            .map_err(io::Error::from)
            .map_err(ctx("IPV6_RECVPKTINFO"))?;
        sock.set_nonblocking(true).map_err(ctx("O_NONBLOCK"))?;
        Ok(CarpSocket {
            fd: register(sock).map_err(ctx("registering with the runtime"))?,
            family: Family::V6,
            ifindex,
            src: IpAddr::V6(src),
            malformed: AtomicU64::new(0),
        })
    }

    pub fn family(&self) -> Family {
        self.family
    }

    /// The interface index the socket is bound to.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// The source address adverts leave from.
    pub fn source(&self) -> IpAddr {
        self.src
    }

    /// Datagrams dropped so far because their IP framing was unusable (truncated, wrong
    /// version, no destination): carpstats `badlen`.
    pub fn malformed(&self) -> u64 {
        self.malformed.load(Ordering::Relaxed)
    }

    /// Send a CARP header (36 bytes) to `dst` (multicast group or unicast peer).
    ///
    /// Does not wait: a full socket buffer returns `WouldBlock`, which the caller counts as a
    /// lost advert (the next one follows one advertisement interval later).
    pub fn send(&self, dst: IpAddr, payload: &[u8]) -> std::io::Result<()> {
        let fd = self.fd.get_ref().as_raw_fd();
        let iov = [IoSlice::new(payload)];
        let sent = match (dst, self.src) {
            (IpAddr::V4(dst), IpAddr::V4(src)) => {
                let info = libc::in_pktinfo {
                    ipi_ifindex: self.ifindex as libc::c_int,
                    ipi_spec_dst: libc::in_addr {
                        s_addr: u32::from(src).to_be(),
                    },
                    ipi_addr: libc::in_addr { s_addr: 0 },
                };
                let to = SockaddrIn::from(SocketAddrV4::new(dst, 0));
                sendmsg(
                    fd,
                    &iov,
                    &[ControlMessage::Ipv4PacketInfo(&info)],
                    MsgFlags::empty(),
                    Some(&to),
                )
            }
            (IpAddr::V6(dst), IpAddr::V6(src)) => {
                let info = libc::in6_pktinfo {
                    ipi6_addr: libc::in6_addr {
                        s6_addr: src.octets(),
                    },
                    ipi6_ifindex: self.ifindex,
                };
                let scope = if dst.is_unicast_link_local() || dst.is_multicast() {
                    self.ifindex
                } else {
                    0
                };
                let to = SockaddrIn6::from(SocketAddrV6::new(dst, 0, 0, scope));
                sendmsg(
                    fd,
                    &iov,
                    &[ControlMessage::Ipv6PacketInfo(&info)],
                    MsgFlags::empty(),
                    Some(&to),
                )
            }
            _ => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "cannot send to {dst} on the {:?} CARP socket of interface #{}",
                        self.family, self.ifindex
                    ),
                ));
            }
        };
        match sent {
            Ok(n) if n == payload.len() => Ok(()),
            Ok(n) => Err(io::Error::other(format!(
                "short send to {dst}: {n} of {} bytes",
                payload.len()
            ))),
            Err(e) => Err(io::Error::new(
                io::Error::from(e).kind(),
                format!("sending advert from {} to {dst}: {e}", self.src),
            )),
        }
    }

    /// Next datagram (cancel-safe). Datagrams with unusable IP framing are dropped and
    /// counted (see [`CarpSocket::malformed`]) rather than returned as errors.
    pub async fn recv(&self) -> std::io::Result<Received> {
        loop {
            let mut guard = self.fd.readable().await?;
            let got = guard.try_io(|fd| match self.family {
                Family::V4 => recv_v4(fd.get_ref()),
                Family::V6 => recv_v6(fd.get_ref()),
            });
            match got {
                Ok(Ok(Some(r))) => return Ok(r),
                Ok(Ok(None)) => {
                    self.malformed.fetch_add(1, Ordering::Relaxed);
                }
                Ok(Err(e)) => return Err(e),
                Err(_would_block) => {}
            }
        }
    }
}

/// Hand the socket to the current tokio runtime's reactor (read interest only: sends never
/// wait). Fails cleanly instead of panicking when called outside a runtime.
fn register(sock: Socket) -> io::Result<AsyncFd<Socket>> {
    tokio::runtime::Handle::try_current().map_err(|_| {
        io::Error::other("CARP sockets must be opened inside the engine's tokio runtime")
    })?;
    // SAFETY: the `Socket` owns its descriptor and is moved into the `AsyncFd`, which owns it
    // until drop; `as_raw_fd` on it always returns that same open descriptor.
    unsafe { AsyncFd::register_with_interest(sock, tokio::io::Interest::READABLE) }
        .map_err(io::Error::from)
}

/// Ask for DF on every datagram: adverts are tiny, and FreeBSD sets DF too (carp-spec §1.2).
fn set_df(sock: &Socket) -> io::Result<()> {
    let val: libc::c_int = libc::IP_PMTUDISC_DO;
    // SAFETY: `sock` is an open socket; we pass a pointer to a live c_int and its exact size,
    // as IP_MTU_DISCOVER expects.
    let rc = unsafe {
        libc::setsockopt(
            sock.as_fd().as_raw_fd(),
            libc::IPPROTO_IP,
            libc::IP_MTU_DISCOVER,
            (&val as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// One IPv4 datagram; `Ok(None)` = unusable framing (counted by the caller).
fn recv_v4(sock: &Socket) -> io::Result<Option<Received>> {
    let mut buf = [0u8; RECV_BUF];
    // Raw IPv4 sockets deliver the IP header, so the addresses and TTL come from it.
    let (n, _) = recvfrom::<SockaddrIn>(sock.as_raw_fd(), &mut buf)?;
    Ok(ip::parse_ipv4(&buf[..n]).ok().map(|ip| Received {
        family: Family::V4,
        src: IpAddr::V4(ip.src),
        dst: IpAddr::V4(ip.dst),
        ttl: ip.ttl,
        payload: ip.payload.to_vec(),
    }))
}

/// One IPv6 datagram (the kernel strips the IPv6 header; hop limit and destination come as
/// ancillary data); `Ok(None)` = unusable (counted by the caller).
fn recv_v6(sock: &Socket) -> io::Result<Option<Received>> {
    let mut buf = [0u8; RECV_BUF];
    let mut cmsg = nix::cmsg_space!(libc::c_int, libc::in6_pktinfo);
    let mut iov = [IoSliceMut::new(&mut buf)];
    let msg = recvmsg::<SockaddrIn6>(
        sock.as_raw_fd(),
        &mut iov,
        Some(&mut cmsg),
        MsgFlags::empty(),
    )?;
    if msg.flags.contains(MsgFlags::MSG_TRUNC) {
        return Ok(None);
    }
    let (Some(src), Ok(cmsgs)) = (msg.address, msg.cmsgs()) else {
        return Ok(None);
    };
    let mut hop_limit = None;
    let mut dst = None;
    for c in cmsgs {
        match c {
            ControlMessageOwned::Ipv6HopLimit(h) => hop_limit = u8::try_from(h).ok(),
            ControlMessageOwned::Ipv6PacketInfo(info) => {
                dst = Some(Ipv6Addr::from(info.ipi6_addr.s6_addr))
            }
            _ => {}
        }
    }
    let (Some(ttl), Some(dst)) = (hop_limit, dst) else {
        return Ok(None);
    };
    let n = msg.bytes;
    Ok(Some(Received {
        family: Family::V6,
        src: IpAddr::V6(src.ip()),
        dst: IpAddr::V6(dst),
        ttl,
        payload: buf[..n].to_vec(),
    }))
}
