//! FreeBSD glue for the native engine: carp(4) through netlink (14+) or ioctl (13), address
//! ioctls with `ifra_vhid`, `net.inet.carp.*` sysctls, getifaddrs(3) and devd's socket.
//! The C layouts and message encodings come from `crate::native::{abi, genl}`, where they are
//! tested on every OS.

pub mod addresses;
pub mod carp;
pub mod devd;
mod nl;
pub mod sysctls;

use std::collections::BTreeMap;

use crate::control::ForcedState;
use crate::native::ApplyError;
use crate::native::genl::{CarpSet, CarpStateReq};
use crate::native::kernel::{KernelInterface, KernelState, KernelVhid, MCAST_PEER, MCAST_PEER6};
use crate::native::ops::Action;
use crate::native::plan::{Plan, Step};
use crate::proto::State;

#[derive(Debug, thiserror::Error)]
pub enum FreebsdError {
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{what}: {source}")]
    Netlink {
        what: String,
        #[source]
        source: crate::native::genl::GenlError,
    },
    #[error("sysctl {name}: {message}")]
    Sysctl { name: String, message: String },
    #[error("interface name {0:?} is not valid (1..15 bytes)")]
    BadName(String),
    #[error(
        "unicast peers need carp(4)'s netlink interface (FreeBSD 14 or later); this kernel only \
         has the ioctl: remove the peer from the VIP or upgrade"
    )]
    PeersNeedNetlink,
    #[error("vhid {vhid} does not exist on {device}")]
    NoVhid { device: String, vhid: u8 },
}

pub(crate) fn io_err(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> FreebsdError {
    let what = what.into();
    move |source| FreebsdError::Io { what, source }
}

fn state_of(raw: u32) -> State {
    match raw {
        2 => State::Master,
        1 => State::Backup,
        _ => State::Init,
    }
}

/// Read the live kernel: every interface's addresses (with their vhid), its vhids, and the
/// carp sysctls.
pub fn observe() -> Result<KernelState, FreebsdError> {
    let mut carp = carp::Carp::open()?;
    let addrs = addresses::list()?;
    let mut interfaces: BTreeMap<String, KernelInterface> = BTreeMap::new();
    for (dev, list) in addrs {
        let vhids = carp
            .get_all(&dev)?
            .into_iter()
            .filter_map(|i| {
                Some(KernelVhid {
                    vhid: u8::try_from(i.vhid).ok()?,
                    advbase: u8::try_from(i.advbase).unwrap_or(0),
                    advskew: u8::try_from(i.advskew).unwrap_or(0),
                    state: state_of(i.state),
                    key_set: i.key_set,
                    peer: i.peer.filter(|p| *p != MCAST_PEER && !p.is_unspecified()),
                    peer6: i.peer6.filter(|p| *p != MCAST_PEER6 && !p.is_unspecified()),
                })
            })
            .collect();
        interfaces.insert(
            dev,
            KernelInterface {
                vhids,
                addresses: list,
            },
        );
    }
    Ok(KernelState {
        interfaces,
        sysctl: sysctls::read()?,
    })
}

/// Run the plan's steps in order; the first failure stops it.
pub fn execute(plan: &Plan) -> Result<Vec<usize>, ApplyError> {
    let total = plan.steps.len();
    let mut applied = Vec::new();
    let mut carp: Option<carp::Carp> = None;
    for (index, step) in plan.steps.iter().enumerate() {
        if let Err(e) = run_step(&mut carp, step) {
            return Err(ApplyError {
                index,
                total,
                command: step.command(),
                reason: e.to_string(),
                applied: applied
                    .iter()
                    .map(|i: &usize| plan.steps[*i].command())
                    .collect(),
            });
        }
        applied.push(index);
    }
    Ok(applied)
}

/// The carp(4) handle, opened on first use (plans that only touch addresses never open it).
fn carp_handle(carp: &mut Option<carp::Carp>) -> Result<&mut carp::Carp, FreebsdError> {
    if carp.is_none() {
        *carp = Some(carp::Carp::open()?);
    }
    match carp {
        Some(c) => Ok(c),
        None => unreachable!("set just above"),
    }
}

fn run_step(carp: &mut Option<carp::Carp>, step: &Step) -> Result<(), FreebsdError> {
    match step {
        Step::SetVhid {
            device,
            vhid,
            advbase,
            advskew,
            key,
            ..
        } => carp_handle(carp)?.set(&CarpSet {
            ifname: device.clone(),
            vhid: *vhid,
            advbase: *advbase,
            advskew: *advskew,
            key: key.clone(),
            peer: None,
            peer6: None,
            state: None,
        }),
        Step::SetPeers {
            device,
            vhid,
            peer,
            peer6,
        } => {
            let c = carp_handle(carp)?;
            // Read-modify-write: a SET without advskew would reset it to 0.
            let (advbase, advskew) = current_timing(c, device, *vhid)?;
            c.set(&CarpSet {
                ifname: device.clone(),
                vhid: *vhid,
                advbase,
                advskew,
                key: None,
                peer: Some(peer.unwrap_or(MCAST_PEER)),
                peer6: Some(peer6.unwrap_or(MCAST_PEER6)),
                state: None,
            })
        }
        Step::AddAddress {
            device,
            address,
            vhid,
        } => addresses::add(device, *address, *vhid),
        Step::RemoveAddress {
            device, address, ..
        } => addresses::remove(device, *address),
        Step::Sysctl { name, value, .. } => sysctls::write(name, *value),
    }
}

/// The current advbase/advskew of a vhid, for a read-modify-write SET.
fn current_timing(c: &mut carp::Carp, device: &str, vhid: u8) -> Result<(u8, u8), FreebsdError> {
    let cur = c
        .get_all(device)?
        .into_iter()
        .find(|i| i.vhid == u32::from(vhid))
        .ok_or_else(|| FreebsdError::NoVhid {
            device: device.to_string(),
            vhid,
        })?;
    Ok((
        u8::try_from(cur.advbase).unwrap_or(0),
        u8::try_from(cur.advskew).unwrap_or(0),
    ))
}

/// Carry out one operator action (`carpd maintenance|demote|state|disable|enable`).
pub fn run_action(action: &Action) -> Result<(), FreebsdError> {
    match action {
        // The kernel adds the written value to its total (carp-spec §4).
        Action::Demotion { delta } => sysctls::write("demotion", *delta),
        Action::Allow { allow } => sysctls::write("allow", i32::from(*allow)),
        Action::SetState {
            device,
            vhid,
            state,
            ..
        } => {
            let mut c = carp::Carp::open()?;
            // A SET without advskew would reset it to 0, so send the current values back.
            let (advbase, advskew) = current_timing(&mut c, device, *vhid)?;
            c.set(&CarpSet {
                ifname: device.clone(),
                vhid: *vhid,
                advbase,
                advskew,
                key: None,
                peer: None,
                peer6: None,
                state: Some(match state {
                    ForcedState::Backup => CarpStateReq::Backup,
                    ForcedState::Master => CarpStateReq::Master,
                }),
            })
        }
    }
}

/// Seconds since boot (CLOCK_UPTIME: it never jumps with the wall clock and restarts at 0 at
/// every boot), for telling a daemon restart from a reboot.
pub fn uptime() -> Result<f64, FreebsdError> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec into `ts`, which lives across the call.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_UPTIME, &mut ts) };
    if rc != 0 {
        return Err(io_err("clock_gettime(CLOCK_UPTIME)")(
            std::io::Error::last_os_error(),
        ));
    }
    Ok(ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9)
}
