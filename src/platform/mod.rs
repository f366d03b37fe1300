//! Thin OS glue behind small interfaces: raw CARP sockets, address add/remove, GARP/NA, link
//! events (Linux, for the userspace engine) and carp(4) ioctl/netlink, sysctl and devd
//! (FreeBSD, for the native engine). Policy lives above; unsafe code lives only here.

#[cfg(target_os = "freebsd")]
pub mod freebsd;
#[cfg(target_os = "linux")]
pub mod linux;

/// The host's kernel for the native engine: carp(4) through FreeBSD's syscalls, or none.
pub fn host_kernel() -> Option<crate::native::Kernel> {
    #[cfg(target_os = "freebsd")]
    {
        Some(crate::native::Kernel::new(std::sync::Arc::new(
            freebsd::FreeBsd,
        )))
    }
    #[cfg(not(target_os = "freebsd"))]
    {
        None
    }
}
