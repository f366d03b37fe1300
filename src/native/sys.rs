//! [`Sys`]: the FreeBSD syscalls the native engine makes, and nothing more.
//!
//! Everything the engine decides — which interfaces to ask, how each errno reads, how a
//! netlink answer is framed and ends, netlink or ioctl, the order of the steps, the read-back
//! after a write, how a devd line becomes a hook — is plain Rust above this trait and runs on
//! every OS. Below it, `platform::freebsd::FreeBsd` turns each method into one syscall on a
//! FreeBSD host; the tests put a model of carp(4), written from FreeBSD's source, in its place.
//!
//! The methods pass the kernel's own bytes (ioctl structs, netlink messages, sockaddrs,
//! sysctl values) so that whatever stands below reads and writes them as the kernel does.
//! Errors are FreeBSD errnos ([`Errno`]).

use std::time::Duration;

use super::abi::IFNAMSIZ;
pub use super::errno::Errno;

/// The address family of the socket an ioctl is issued on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// `AF_INET`, `SOCK_DGRAM` (carp and IPv4 address ioctls).
    Inet,
    /// `AF_INET6`, `SOCK_DGRAM` (IPv6 address ioctls).
    Inet6,
}

/// A connected message socket: netlink (`SOCK_RAW`) or devd's `SOCK_SEQPACKET` pipe.
pub trait Datagram: Send {
    /// Send one message whole.
    fn send(&mut self, msg: &[u8]) -> Result<(), Errno>;
    /// Receive one datagram into `buf`; its length (0 = the peer closed). [`super::errno::EAGAIN`]
    /// when the socket's receive timeout passed.
    fn recv(&mut self, buf: &mut [u8]) -> Result<usize, Errno>;
}

/// One entry of getifaddrs(3), copied out of the C list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IfaddrsEntry {
    /// `ifa_name`.
    pub name: String,
    /// `ifa_flags`: the interface's flags (`IFF_UP`, `IFF_MULTICAST`, …).
    pub flags: u32,
    /// `ifa_addr` as the kernel laid it out (`sa_len` bytes); `None` when NULL.
    pub addr: Option<Vec<u8>>,
    /// `ifa_netmask` (`sa_len` bytes, which routing messages may shorten); `None` when NULL.
    pub netmask: Option<Vec<u8>>,
    /// The first 8 bytes of the `struct if_data` `ifa_data` points at (type, link state, vhid);
    /// `None` when NULL.
    pub data: Option<[u8; 8]>,
}

/// The syscalls. Implementations must be cheap to share between the daemon's threads.
pub trait Sys: Send + Sync {
    /// `socket(AF_NETLINK, SOCK_RAW, NETLINK_GENERIC)` with `SO_RCVTIMEO` = `timeout`.
    fn netlink(&self, timeout: Duration) -> Result<Box<dyn Datagram>, Errno>;

    /// `ioctl(s, request, arg)` on a fresh socket of `family`; `arg` is the struct the request
    /// encodes (its length must be `IOCPARM_LEN(request)`).
    fn ioctl(&self, family: Family, request: u64, arg: &mut [u8]) -> Result<(), Errno>;

    /// `ioctl(s, request, &ifr)` on an `AF_INET` socket with a `struct ifreq` named `ifname`
    /// whose `ifr_data` points at `data` (SIOCSVH, SIOCGVH). For SIOCGVH `data` must hold
    /// `carpr_count` (its first int) records of 40 bytes.
    fn ioctl_ifr_data(
        &self,
        request: u64,
        ifname: &[u8; IFNAMSIZ],
        data: &mut [u8],
    ) -> Result<(), Errno>;

    /// `sysctlbyname(name, buf, &len, NULL, 0)`: the value's length.
    fn sysctl_read(&self, name: &str, buf: &mut [u8]) -> Result<usize, Errno>;

    /// `sysctlbyname(name, NULL, NULL, value, len)`.
    fn sysctl_write(&self, name: &str, value: &[u8]) -> Result<(), Errno>;

    /// getifaddrs(3), every entry in the kernel's order.
    fn getifaddrs(&self) -> Result<Vec<IfaddrsEntry>, Errno>;

    /// Connect a `SOCK_SEQPACKET` socket to devd's pipe at `path`.
    fn devd_connect(&self, path: &str) -> Result<Box<dyn Datagram>, Errno>;

    /// `clock_gettime(CLOCK_UPTIME)` in seconds: it never jumps with the wall clock and starts
    /// again at 0 at every boot.
    fn uptime(&self) -> Result<f64, Errno>;
}
