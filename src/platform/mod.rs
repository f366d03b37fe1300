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

/// Give SIGPIPE back its default action, so `carpd show --json | head` ends quietly instead of
/// panicking on a closed pipe. Only for short-lived client commands: the daemon keeps Rust's
/// ignored SIGPIPE and gets EPIPE from a client that went away.
pub fn restore_sigpipe() {
    // SAFETY: signal(2) with SIG_DFL installs no handler; nothing else changes SIGPIPE's
    // disposition concurrently (called once, on the main thread, before any other work).
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
