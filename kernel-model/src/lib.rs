//! A model of FreeBSD's carp(4) and the kernel interfaces around it, written from FreeBSD's
//! source, for carpd's native engine to run against on Linux.
//!
//! It stands in for the **kernel**, never for carpd: carpd's own code (the executor, the
//! netlink and ioctl encoders, the planner, the daemon, the CLI) runs unchanged on top of it
//! through carpd's `Sys` trait ([`sys::ModelSys`]). The model reads and writes the kernel's
//! bytes with its own decoders and encoders, written from the C headers, so a layout mistake in
//! carpd shows up as a wrong answer here.
//!
//! State lives in a JSON file under an exclusive lock ([`store::Store`]), so several processes
//! share one kernel: `carpd-model apply`, a `carpd-model run --engine native` daemon, and a
//! test playing the network or OPNsense core's writes.
//!
//! ## Sources (public repository freebsd/freebsd-src unless noted), read 2026-12
//!
//! | key | file | version read |
//! |---|---|---|
//! | K13 | sys/netinet/ip_carp.c, 13-era (ioctl only, inline checks in `carp_ioctl`) | stored blob 2285196442 |
//! | K14 | sys/netinet/ip_carp.c, 14-era (netlink + ioctl, no VRRP) | stored blob 89826515; mirror fel1x-developer/freebsd-src@2d614aa2 |
//! | K15 | sys/netinet/ip_carp.c with VRRPv3 | e4452d45 (blob 379085956) |
//! | H15 | sys/netinet/ip_carp.h | 6e225b56 |
//! | NL15 | sys/netinet/ip_carp_nl.h | e4452d45 |
//! | NLW | sys/netlink/netlink_message_writer.c (`nlmsg_ack`, `_nlmsg_end_dump`) | 031fb30f |
//! | NLIO | sys/netlink/netlink_io.c (`nl_receive_message`) | 4c669140 |
//! | NLG | sys/netlink/netlink_generic.c (`genl_handle_message`, `nlctrl_handle_getfamily`, `dump_family`) | ff154988 / 031fb30f |
//! | NLP | sys/netlink/netlink_message_parser.c (`nlattr_get_*`) | eb5956fd |
//! | IN | sys/netinet/in.c (`in_aifaddr_ioctl`, `in_difaddr_ioctl`) | stored blob 27624988 |
//! | IN6 | sys/netinet6/in6.c (`in6_control`) | stored blob 1627108254 |
//! | IF | sys/net/if.c (`ifioctl`, `if_data_copy`) | stored blob 619609 |
//! | RTS | sys/net/rtsock.c (`sysctl_iflist_ifaml`), lib/libc/net/getifaddrs.c | 89840c31 (getifaddrs) |
//! | DEVCTL | sys/kern/kern_devctl.c (`devctl_notify`), sbin/devd/devd.cc (`notify_clients`) | 2c6e89a3 |
//! | SOCK | sys/kern/uipc_socket.c (`socreate`) | stored blob 67764753 |
//!
//! Not reproduced: the CARP protocol on the wire (the model's [`kernel::Peer`] plays the other
//! node by the election rules of `carp_input_c`, without packets), the IPv6 address lifetime
//! machinery, jails and VNETs, netlink multicast groups, devd's limit of 10 clients, and the
//! exact errno of the carp ioctls after their retirement on main (72472e52; the source after it
//! was not available — the model answers EINVAL, what the generic `ifioctl` path gives).

pub mod boxes;
pub mod core;
pub mod errno;
pub mod ifaddrs;
pub mod ioctl;
pub mod kernel;
pub mod netlink;
pub mod store;
pub mod sys;

pub use kernel::{Fault, Iface, Kernel, Peer, Release, VState};
pub use store::Store;
pub use sys::ModelSys;
