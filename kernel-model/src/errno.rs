//! FreeBSD's errno numbers (sys/sys/errno.h), the model's own copy: it answers as FreeBSD does,
//! on whatever host it runs.

pub const EPERM: i32 = 1;
pub const ENOENT: i32 = 2;
pub const EINTR: i32 = 4;
pub const ENXIO: i32 = 6;
pub const ENOMEM: i32 = 12;
pub const EFAULT: i32 = 14;
pub const EINVAL: i32 = 22;
pub const ENOTTY: i32 = 25;
pub const EAGAIN: i32 = 35;
pub const EMSGSIZE: i32 = 40;
pub const EPROTOTYPE: i32 = 41;
pub const ENOPROTOOPT: i32 = 42;
pub const EPROTONOSUPPORT: i32 = 43;
/// `ENOTSUP` is the same number (`#define ENOTSUP EOPNOTSUPP`).
pub const EOPNOTSUPP: i32 = 45;
pub const EAFNOSUPPORT: i32 = 47;
pub const EADDRNOTAVAIL: i32 = 49;
pub const ENOBUFS: i32 = 55;
pub const ECONNREFUSED: i32 = 61;
