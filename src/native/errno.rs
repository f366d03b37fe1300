//! FreeBSD's errno numbers, as the native engine reads them in syscall results and in netlink
//! answers.
//!
//! They are FreeBSD's own (`sys/sys/errno.h`), not the host's: on Linux `libc::EOPNOTSUPP` is
//! 95 where FreeBSD's is 45, and the decisions above the syscall layer run on Linux in the tests
//! against a model of the kernel that answers with FreeBSD's numbers. The names are rendered
//! here too, so an error reads the same on every host ("EOPNOTSUPP (operation not supported)")
//! instead of the host's strerror for a foreign number.

use std::fmt;

/// One errno, FreeBSD numbering.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Errno(pub i32);

// sys/sys/errno.h (FreeBSD 13-15; these values have not changed since 4.4BSD).
pub const EPERM: Errno = Errno(1);
pub const ENOENT: Errno = Errno(2);
pub const EINTR: Errno = Errno(4);
pub const EIO: Errno = Errno(5);
pub const ENXIO: Errno = Errno(6);
pub const EBADF: Errno = Errno(9);
pub const ENOMEM: Errno = Errno(12);
pub const EACCES: Errno = Errno(13);
pub const EFAULT: Errno = Errno(14);
pub const EBUSY: Errno = Errno(16);
pub const EEXIST: Errno = Errno(17);
pub const ENODEV: Errno = Errno(19);
pub const EINVAL: Errno = Errno(22);
pub const ENOTTY: Errno = Errno(25);
pub const ENOSPC: Errno = Errno(28);
pub const EAGAIN: Errno = Errno(35);
pub const ENOTSOCK: Errno = Errno(38);
pub const EMSGSIZE: Errno = Errno(40);
pub const EPROTOTYPE: Errno = Errno(41);
pub const ENOPROTOOPT: Errno = Errno(42);
pub const EPROTONOSUPPORT: Errno = Errno(43);
pub const EOPNOTSUPP: Errno = Errno(45);
pub const EAFNOSUPPORT: Errno = Errno(47);
pub const EADDRINUSE: Errno = Errno(48);
pub const EADDRNOTAVAIL: Errno = Errno(49);
pub const ENETDOWN: Errno = Errno(50);
pub const ENOBUFS: Errno = Errno(55);
pub const ETIMEDOUT: Errno = Errno(60);
pub const ECONNREFUSED: Errno = Errno(61);
pub const ENAMETOOLONG: Errno = Errno(63);
pub const ENOSYS: Errno = Errno(78);

/// Name and meaning of the errnos the native engine meets.
const NAMES: &[(Errno, &str, &str)] = &[
    (EPERM, "EPERM", "operation not permitted"),
    (ENOENT, "ENOENT", "no such file or directory"),
    (EINTR, "EINTR", "interrupted system call"),
    (EIO, "EIO", "input/output error"),
    (ENXIO, "ENXIO", "device not configured"),
    (EBADF, "EBADF", "bad file descriptor"),
    (ENOMEM, "ENOMEM", "cannot allocate memory"),
    (EACCES, "EACCES", "permission denied"),
    (EFAULT, "EFAULT", "bad address"),
    (EBUSY, "EBUSY", "device busy"),
    (EEXIST, "EEXIST", "file exists"),
    (ENODEV, "ENODEV", "operation not supported by device"),
    (EINVAL, "EINVAL", "invalid argument"),
    (ENOTTY, "ENOTTY", "inappropriate ioctl for device"),
    (ENOSPC, "ENOSPC", "no space left on device"),
    (EAGAIN, "EAGAIN", "resource temporarily unavailable"),
    (ENOTSOCK, "ENOTSOCK", "socket operation on non-socket"),
    (EMSGSIZE, "EMSGSIZE", "message too long"),
    (EPROTOTYPE, "EPROTOTYPE", "protocol wrong type for socket"),
    (ENOPROTOOPT, "ENOPROTOOPT", "protocol not available"),
    (EPROTONOSUPPORT, "EPROTONOSUPPORT", "protocol not supported"),
    (EOPNOTSUPP, "EOPNOTSUPP", "operation not supported"),
    (
        EAFNOSUPPORT,
        "EAFNOSUPPORT",
        "address family not supported by protocol family",
    ),
    (EADDRINUSE, "EADDRINUSE", "address already in use"),
    (
        EADDRNOTAVAIL,
        "EADDRNOTAVAIL",
        "can't assign requested address",
    ),
    (ENETDOWN, "ENETDOWN", "network is down"),
    (ENOBUFS, "ENOBUFS", "no buffer space available"),
    (ETIMEDOUT, "ETIMEDOUT", "operation timed out"),
    (ECONNREFUSED, "ECONNREFUSED", "connection refused"),
    (ENAMETOOLONG, "ENAMETOOLONG", "file name too long"),
    (ENOSYS, "ENOSYS", "function not implemented"),
];

impl Errno {
    /// The symbolic name, if it is one carpd knows.
    pub fn name(self) -> Option<&'static str> {
        NAMES
            .iter()
            .find(|(e, _, _)| *e == self)
            .map(|(_, n, _)| *n)
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match NAMES.iter().find(|(e, _, _)| e == self) {
            Some((_, name, text)) => write!(f, "{name} ({text})"),
            None => write!(f, "errno {}", self.0),
        }
    }
}

impl std::error::Error for Errno {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_names_and_unknown_numbers() {
        assert_eq!(
            EOPNOTSUPP.to_string(),
            "EOPNOTSUPP (operation not supported)"
        );
        assert_eq!(Errno(9999).to_string(), "errno 9999");
        assert_eq!(ENOENT.name(), Some("ENOENT"));
    }

    /// On FreeBSD itself the table must agree with the C library's numbers.
    #[cfg(target_os = "freebsd")]
    #[test]
    fn numbers_are_the_hosts_on_freebsd() {
        for (e, want) in [
            (ENOENT, libc::ENOENT),
            (ENXIO, libc::ENXIO),
            (EINVAL, libc::EINVAL),
            (EAGAIN, libc::EAGAIN),
            (EMSGSIZE, libc::EMSGSIZE),
            (ENOPROTOOPT, libc::ENOPROTOOPT),
            (EPROTONOSUPPORT, libc::EPROTONOSUPPORT),
            (EOPNOTSUPP, libc::EOPNOTSUPP),
            (EAFNOSUPPORT, libc::EAFNOSUPPORT),
            (EADDRNOTAVAIL, libc::EADDRNOTAVAIL),
            (ETIMEDOUT, libc::ETIMEDOUT),
            (ENOSYS, libc::ENOSYS),
        ] {
            assert_eq!(e.0, want, "{e}");
        }
    }
}
