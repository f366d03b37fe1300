//! `net.inet.carp.*` as ints, through [`Sys`]: sysctlbyname(3) with a 4-byte buffer, the size
//! of the answer checked (an OID of another type answers ENOMEM or another length, which is an
//! error here, never a panic).
//!
//! The handlers (freebsd/freebsd-src `sys/netinet/ip_carp.c`): `allow` is `carp_allow_sysctl`
//! (a change runs `carp_sc_state()` on every vhid), `demotion` is `carp_demote_adj_sysctl` (a
//! read gives the total; a write **adds** the value through `carp_demote_adj()`), `preempt` a
//! plain int.

use super::errno::Errno;
use super::kernel::CarpSysctls;
use super::sys::Sys;

#[derive(Debug, thiserror::Error)]
pub enum SysctlError {
    #[error("sysctl {name}: {errno}")]
    Errno { name: String, errno: Errno },
    #[error("sysctl {name}: the kernel answered {len} bytes where an int has 4")]
    Size { name: String, len: usize },
}

pub fn full(name: &str) -> String {
    format!("net.inet.carp.{name}")
}

pub fn read_int(sys: &dyn Sys, name: &str) -> Result<i32, SysctlError> {
    let mut buf = [0u8; 4];
    let len = sys
        .sysctl_read(name, &mut buf)
        .map_err(|errno| SysctlError::Errno {
            name: name.to_string(),
            errno,
        })?;
    if len != 4 {
        return Err(SysctlError::Size {
            name: name.to_string(),
            len,
        });
    }
    Ok(i32::from_ne_bytes(buf))
}

pub fn write_int(sys: &dyn Sys, name: &str, value: i32) -> Result<(), SysctlError> {
    sys.sysctl_write(name, &value.to_ne_bytes())
        .map_err(|errno| SysctlError::Errno {
            name: name.to_string(),
            errno,
        })
}

/// carp(4) is loaded when `net.inet.carp.allow` exists.
pub fn carp_loaded(sys: &dyn Sys) -> bool {
    read_int(sys, &full("allow")).is_ok()
}

pub fn read_carp(sys: &dyn Sys) -> Result<CarpSysctls, SysctlError> {
    Ok(CarpSysctls {
        allow: read_int(sys, &full("allow"))? != 0,
        preempt: read_int(sys, &full("preempt"))? != 0,
        demotion: read_int(sys, &full("demotion"))?,
    })
}

/// `kern.osreldate`: the running kernel's `__FreeBSD_version`.
pub fn osreldate(sys: &dyn Sys) -> Result<u32, SysctlError> {
    let v = read_int(sys, "kern.osreldate")?;
    u32::try_from(v).map_err(|_| SysctlError::Size {
        name: "kern.osreldate".to_string(),
        len: 4,
    })
}
