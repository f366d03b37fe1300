//! `net.inet.carp.*` through sysctl(3).

use sysctl::{Ctl, CtlValue, Sysctl};

use super::FreebsdError;
use crate::native::kernel::CarpSysctls;

fn full(name: &str) -> String {
    format!("net.inet.carp.{name}")
}

fn read_int(name: &str) -> Result<i32, FreebsdError> {
    let full = full(name);
    let err = |message: String| FreebsdError::Sysctl {
        name: full.clone(),
        message,
    };
    let ctl = Ctl::new(&full).map_err(|e| err(e.to_string()))?;
    match ctl.value().map_err(|e| err(e.to_string()))? {
        CtlValue::Int(v) => Ok(v),
        other => Err(err(format!("unexpected type {other:?}"))),
    }
}

/// The carp module is loaded when its sysctl tree exists.
pub fn carp_loaded() -> bool {
    Ctl::new(&full("allow")).is_ok()
}

pub fn read() -> Result<CarpSysctls, FreebsdError> {
    Ok(CarpSysctls {
        allow: read_int("allow")? != 0,
        preempt: read_int("preempt")? != 0,
        demotion: read_int("demotion")?,
    })
}

/// Write `net.inet.carp.<name>`. For `demotion` the kernel adds `value` to the total.
pub fn write(name: &str, value: i32) -> Result<(), FreebsdError> {
    let full = full(name);
    let err = |message: String| FreebsdError::Sysctl {
        name: full.clone(),
        message,
    };
    let ctl = Ctl::new(&full).map_err(|e| err(e.to_string()))?;
    ctl.set_value(CtlValue::Int(value))
        .map_err(|e| err(e.to_string()))?;
    Ok(())
}
