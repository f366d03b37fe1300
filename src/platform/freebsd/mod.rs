//! [`FreeBsd`]: the native engine's syscalls on a FreeBSD host, one syscall per method of
//! [`crate::native::sys::Sys`]. What to ask and how to read the answers is decided above, in
//! `crate::native`, where it is tested on every OS against a model of carp(4).

use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::io::Read;
use std::os::fd::AsRawFd;
use std::time::Duration;

use crate::native::abi::{self, IFNAMSIZ, IfReqData, netlink::*};
use crate::native::sys::{Datagram, Errno, Family, IfaddrsEntry, Sys};

/// The FreeBSD kernel.
pub struct FreeBsd;

fn last_errno() -> Errno {
    from_io(std::io::Error::last_os_error())
}

/// An io::Error from a syscall carries FreeBSD's errno on FreeBSD.
fn from_io(e: std::io::Error) -> Errno {
    Errno(e.raw_os_error().unwrap_or(libc::EIO))
}

struct SocketDatagram(Socket);

impl Datagram for SocketDatagram {
    fn send(&mut self, msg: &[u8]) -> Result<(), Errno> {
        let n = self.0.send(msg).map_err(from_io)?;
        if n != msg.len() {
            return Err(Errno(libc::EMSGSIZE));
        }
        Ok(())
    }
    fn recv(&mut self, buf: &mut [u8]) -> Result<usize, Errno> {
        loop {
            match (&self.0).read(buf) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                other => return other.map_err(from_io),
            }
        }
    }
}

fn socket(family: Family) -> Result<Socket, Errno> {
    let domain = match family {
        Family::Inet => Domain::IPV4,
        Family::Inet6 => Domain::IPV6,
    };
    Socket::new(domain, Type::DGRAM, None).map_err(from_io)
}

/// `IOCPARM_LEN(request)` (sys/ioccom.h).
fn ioc_len(request: u64) -> usize {
    ((request >> 16) & 0x1fff) as usize
}

impl Sys for FreeBsd {
    fn netlink(&self, timeout: Duration) -> Result<Box<dyn Datagram>, Errno> {
        let sock = Socket::new(
            Domain::from(AF_NETLINK_FREEBSD),
            Type::RAW,
            Some(Protocol::from(NETLINK_GENERIC)),
        )
        .map_err(from_io)?;
        sock.set_read_timeout(Some(timeout)).map_err(from_io)?;
        Ok(Box::new(SocketDatagram(sock)))
    }

    fn ioctl(&self, family: Family, request: u64, arg: &mut [u8]) -> Result<(), Errno> {
        if arg.len() != ioc_len(request) {
            return Err(Errno(libc::EINVAL));
        }
        let sock = socket(family)?;
        // SAFETY: the kernel reads (and for _IOWR writes back) IOCPARM_LEN(request) bytes at
        // `arg`, which is exactly arg.len() (checked above) and borrowed for the whole call.
        let rc =
            unsafe { libc::ioctl(sock.as_raw_fd(), request as libc::c_ulong, arg.as_mut_ptr()) };
        if rc < 0 { Err(last_errno()) } else { Ok(()) }
    }

    fn ioctl_ifr_data(
        &self,
        request: u64,
        ifname: &[u8; IFNAMSIZ],
        data: &mut [u8],
    ) -> Result<(), Errno> {
        // SIOCGVH copies out carpr_count records: never let it write past `data`.
        let count = data
            .get(..4)
            .map_or(0, |b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]));
        let records = usize::try_from(count).unwrap_or(0).max(1);
        if data.len() < records * core::mem::size_of::<abi::CarpReq>() {
            return Err(Errno(libc::EINVAL));
        }
        let mut ifr = IfReqData {
            ifr_name: *ifname,
            ifr_data: data.as_mut_ptr().cast(),
            _union_rest: [0; 8],
        };
        let sock = socket(Family::Inet)?;
        // SAFETY: the request takes a 32-byte struct ifreq (layout asserted in native::abi);
        // ifr_data points at `data`, which holds at least carpr_count 40-byte records (checked
        // above) for SIOCGVH's copyout, and one for SIOCSVH's copyin; both live across the call.
        let rc = unsafe {
            libc::ioctl(
                sock.as_raw_fd(),
                request as libc::c_ulong,
                &mut ifr as *mut IfReqData,
            )
        };
        if rc < 0 { Err(last_errno()) } else { Ok(()) }
    }

    fn sysctl_read(&self, name: &str, buf: &mut [u8]) -> Result<usize, Errno> {
        let cname = std::ffi::CString::new(name).map_err(|_| Errno(libc::EINVAL))?;
        let mut len: libc::size_t = buf.len();
        // SAFETY: sysctlbyname writes at most `len` (= buf.len()) bytes into `buf` and the
        // length it wrote into `len`; both outlive the call.
        let rc = unsafe {
            libc::sysctlbyname(
                cname.as_ptr(),
                buf.as_mut_ptr().cast(),
                &mut len,
                std::ptr::null(),
                0,
            )
        };
        if rc < 0 { Err(last_errno()) } else { Ok(len) }
    }

    fn sysctl_write(&self, name: &str, value: &[u8]) -> Result<(), Errno> {
        let cname = std::ffi::CString::new(name).map_err(|_| Errno(libc::EINVAL))?;
        // SAFETY: sysctlbyname reads value.len() bytes from `value` and writes nothing back
        // (oldp is NULL).
        let rc = unsafe {
            libc::sysctlbyname(
                cname.as_ptr(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                value.as_ptr().cast(),
                value.len(),
            )
        };
        if rc < 0 { Err(last_errno()) } else { Ok(()) }
    }

    fn getifaddrs(&self) -> Result<Vec<IfaddrsEntry>, Errno> {
        let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
        // SAFETY: getifaddrs fills `head` with a list we own until freeifaddrs below.
        if unsafe { libc::getifaddrs(&mut head) } != 0 {
            return Err(last_errno());
        }
        let mut out = Vec::new();
        let mut cur = head;
        while !cur.is_null() {
            // SAFETY: `cur` is a node of the list getifaddrs returned, not yet freed.
            let ifa = unsafe { &*cur };
            cur = ifa.ifa_next;
            if ifa.ifa_name.is_null() {
                continue;
            }
            // SAFETY: ifa_name is a NUL-terminated string inside the list.
            let name = unsafe { std::ffi::CStr::from_ptr(ifa.ifa_name) }
                .to_string_lossy()
                .into_owned();
            out.push(IfaddrsEntry {
                name,
                flags: ifa.ifa_flags,
                addr: sockaddr_bytes(ifa.ifa_addr),
                netmask: sockaddr_bytes(ifa.ifa_netmask),
                data: (!ifa.ifa_data.is_null()).then(|| {
                    let mut head = [0u8; 8];
                    // SAFETY: on FreeBSD ifa_data points at a struct if_data (for links and
                    // for addresses), which is far longer than its 8-byte head.
                    unsafe {
                        std::ptr::copy_nonoverlapping(
                            ifa.ifa_data.cast::<u8>(),
                            head.as_mut_ptr(),
                            8,
                        )
                    };
                    head
                }),
            });
        }
        // SAFETY: `head` came from getifaddrs; nothing borrowed from it outlives this.
        unsafe { libc::freeifaddrs(head) };
        Ok(out)
    }

    fn devd_connect(&self, path: &str) -> Result<Box<dyn Datagram>, Errno> {
        let sock = Socket::new(Domain::UNIX, Type::SEQPACKET, None).map_err(from_io)?;
        sock.connect(&SockAddr::unix(path).map_err(from_io)?)
            .map_err(from_io)?;
        Ok(Box::new(SocketDatagram(sock)))
    }

    fn uptime(&self) -> Result<f64, Errno> {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: clock_gettime writes one timespec into `ts`, which lives across the call.
        if unsafe { libc::clock_gettime(libc::CLOCK_UPTIME, &mut ts) } != 0 {
            return Err(last_errno());
        }
        Ok(ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9)
    }
}

/// The `sa_len` bytes of a sockaddr in the getifaddrs list.
fn sockaddr_bytes(sa: *const libc::sockaddr) -> Option<Vec<u8>> {
    if sa.is_null() {
        return None;
    }
    // SAFETY: a non-NULL sockaddr of the list starts with sa_len and holds that many bytes.
    let len = usize::from(unsafe { (*sa).sa_len });
    let mut bytes = vec![0u8; len];
    // SAFETY: see above; `bytes` has room for exactly `len` bytes.
    unsafe { std::ptr::copy_nonoverlapping(sa.cast::<u8>(), bytes.as_mut_ptr(), len) };
    Some(bytes)
}
