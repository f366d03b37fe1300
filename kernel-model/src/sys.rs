//! [`ModelSys`]: carpd's `Sys` trait answered by the model — the syscalls carpd's native engine
//! makes land here instead of in a FreeBSD kernel.

use carpd::native::sys::{Datagram, Errno, Family, IfaddrsEntry, Sys};
use std::collections::VecDeque;
use std::time::Duration;

use crate::errno::*;
use crate::ioctl::{self, SockFamily};
use crate::kernel::unix_now;
use crate::netlink;
use crate::store::Store;

/// How often a devd client looks for new events.
const DEVD_POLL: Duration = Duration::from_millis(20);

pub struct ModelSys {
    store: Store,
}

impl ModelSys {
    pub fn new(store: Store) -> ModelSys {
        ModelSys { store }
    }
}

/// The model's file became unreadable: an I/O error to the caller.
fn broken(e: crate::store::StoreError) -> Errno {
    eprintln!("kernel model: {e}");
    Errno(5)
}

fn run<R>(store: &Store, f: impl FnOnce(&mut crate::Kernel) -> Result<R, i32>) -> Result<R, Errno> {
    store.with(f).map_err(broken)?.map_err(Errno)
}

/// A netlink socket: what the kernel queued for it, one datagram per `recv`.
struct NlSocket {
    store: Store,
    port: u32,
    queue: VecDeque<Vec<u8>>,
}

impl Datagram for NlSocket {
    fn send(&mut self, msg: &[u8]) -> Result<(), Errno> {
        // `nl_sosend`: under a header's worth is ENOBUFS.
        if msg.len() < 16 {
            return Err(Errno(ENOBUFS));
        }
        let port = self.port;
        let replies = run(&self.store, |k| Ok(netlink::process(k, port, msg)))?;
        self.queue.extend(replies);
        Ok(())
    }
    fn recv(&mut self, buf: &mut [u8]) -> Result<usize, Errno> {
        // Nothing queued: the receive timeout passes (answered at once here).
        let d = self.queue.pop_front().ok_or(Errno(EAGAIN))?;
        // A buffer too small for the first message: a partial copy, the rest is lost
        // (`nl_soreceive`, MSG_TRUNC).
        let n = d.len().min(buf.len());
        buf[..n].copy_from_slice(&d[..n]);
        Ok(n)
    }
}

/// A devd client: the events after the moment it connected; EOF when devd restarts.
struct DevdClient {
    store: Store,
    next: u64,
    generation: u64,
}

impl Datagram for DevdClient {
    fn send(&mut self, _msg: &[u8]) -> Result<(), Errno> {
        // devd shuts the read side of its clients' sockets (`shutdown(SHUT_RD)`).
        Err(Errno(32))
    }
    fn recv(&mut self, buf: &mut [u8]) -> Result<usize, Errno> {
        loop {
            let next = self.next;
            let generation = self.generation;
            let got = self
                .store
                .with(|k| {
                    if !k.devd.running || k.devd.generation != generation {
                        return Some(None);
                    }
                    k.devd
                        .events
                        .iter()
                        .find(|(seq, _)| *seq >= next)
                        .map(|(seq, line)| Some((*seq, line.clone())))
                })
                .map_err(broken)?;
            match got {
                Some(None) => return Ok(0),
                Some(Some((seq, line))) => {
                    self.next = seq + 1;
                    let n = line.len().min(buf.len());
                    buf[..n].copy_from_slice(&line.as_bytes()[..n]);
                    return Ok(n);
                }
                None => std::thread::sleep(DEVD_POLL),
            }
        }
    }
}

impl Sys for ModelSys {
    fn netlink(&self, _timeout: Duration) -> Result<Box<dyn Datagram>, Errno> {
        let port = run(&self.store, |k| {
            k.note("socket(AF_NETLINK, SOCK_RAW, NETLINK_GENERIC)");
            // `socreate`: no netlink domain registered.
            if !k.release.has_netlink_domain() {
                return Err(EAFNOSUPPORT);
            }
            k.next_port += 1;
            Ok(k.next_port)
        })?;
        Ok(Box::new(NlSocket {
            store: self.store.clone(),
            port,
            queue: VecDeque::new(),
        }))
    }

    fn ioctl(&self, family: Family, request: u64, arg: &mut [u8]) -> Result<(), Errno> {
        let family = match family {
            Family::Inet => SockFamily::Inet,
            Family::Inet6 => SockFamily::Inet6,
        };
        run(&self.store, |k| ioctl::ioctl(k, family, request, arg))
    }

    fn ioctl_ifr_data(
        &self,
        request: u64,
        ifname: &[u8; 16],
        data: &mut [u8],
    ) -> Result<(), Errno> {
        run(&self.store, |k| {
            ioctl::ioctl_ifr_data(k, request, ifname, data)
        })
    }

    fn sysctl_read(&self, name: &str, buf: &mut [u8]) -> Result<usize, Errno> {
        let v = run(&self.store, |k| k.sysctl_read(name))?;
        let bytes = v.to_ne_bytes();
        // `sysctl_old_user`: a short buffer gets a partial copy and ENOMEM.
        if buf.len() < bytes.len() {
            buf.copy_from_slice(&bytes[..buf.len()]);
            return Err(Errno(ENOMEM));
        }
        buf[..4].copy_from_slice(&bytes);
        Ok(4)
    }

    fn sysctl_write(&self, name: &str, value: &[u8]) -> Result<(), Errno> {
        // `sysctl_handle_int` reads sizeof(int); a shorter new value is EINVAL.
        let v: [u8; 4] = value
            .get(..4)
            .and_then(|b| b.try_into().ok())
            .ok_or(Errno(EINVAL))?;
        run(&self.store, |k| {
            k.note(format!("sysctl {name}={}", i32::from_ne_bytes(v)));
            k.sysctl_write(name, i32::from_ne_bytes(v))
        })
    }

    fn getifaddrs(&self) -> Result<Vec<IfaddrsEntry>, Errno> {
        run(&self.store, |k| Ok(crate::ifaddrs::entries(k)))
    }

    fn devd_connect(&self, path: &str) -> Result<Box<dyn Datagram>, Errno> {
        let (next, generation) = run(&self.store, |k| {
            if path != k.devd.path {
                return Err(ENOENT);
            }
            if !k.devd.running {
                return Err(ECONNREFUSED);
            }
            Ok((k.devd.next_seq, k.devd.generation))
        })?;
        Ok(Box::new(DevdClient {
            store: self.store.clone(),
            next,
            generation,
        }))
    }

    fn uptime(&self) -> Result<f64, Errno> {
        run(&self.store, |k| Ok((unix_now() - k.booted_at).max(0.0)))
    }
}
