//! getifaddrs(3) as FreeBSD's libc builds it from the routing socket (RTS:
//! `lib/libc/net/getifaddrs.c`, `sysctl_iflist_ifml` / `sysctl_iflist_ifaml` in
//! `sys/net/rtsock.c`, `if_data_copy` in `sys/net/if.c`): per interface one AF_LINK entry whose
//! `if_data` has the type and link state (vhid 0), then one entry per address whose `if_data`
//! is zero but for the address's vhid; every entry carries the interface's flags. Netmasks come
//! shortened the way the routing socket compacts them; IPv6 link-local addresses carry the
//! KAME scope in bytes 2–3.

use carpd::native::sys::IfaddrsEntry;
use std::net::IpAddr;

use crate::kernel::{IFF_RUNNING, IFT_ETHER, IFT_L2VLAN, Kernel};

const AF_INET: u8 = 2;
const AF_LINK: u8 = 18;
const AF_INET6: u8 = 28;
const LINK_STATE_DOWN: u8 = 1;
const LINK_STATE_UP: u8 = 2;
/// `sizeof(struct if_data)` on 64-bit FreeBSD, in `ifi_datalen`.
const IF_DATA_LEN: u16 = 152;

fn if_data(ifi_type: u8, link_state: u8, vhid: u8) -> [u8; 8] {
    let mut d = [0u8; 8];
    d[0] = ifi_type;
    d[4] = link_state;
    d[5] = vhid;
    d[6..8].copy_from_slice(&IF_DATA_LEN.to_ne_bytes());
    d
}

/// A netmask the way the routing socket hands it: trailing zero bytes cut from `sa_len`.
fn compact(mut sa: Vec<u8>) -> Vec<u8> {
    let used = sa.iter().rposition(|b| *b != 0).map_or(0, |p| p + 1);
    sa.truncate(used);
    if let Some(len) = sa.first_mut() {
        *len = used as u8;
    }
    sa
}

fn sockaddr(ip: IpAddr, scope: u32) -> Vec<u8> {
    match ip {
        IpAddr::V4(a) => {
            let mut b = vec![0u8; 16];
            b[0] = 16;
            b[1] = AF_INET;
            b[4..8].copy_from_slice(&a.octets());
            b
        }
        IpAddr::V6(a) => {
            let mut b = vec![0u8; 28];
            b[0] = 28;
            b[1] = AF_INET6;
            let mut o = a.octets();
            if o[0] == 0xfe && o[1] & 0xc0 == 0x80 {
                // KAME: the scope (interface index) embedded in the address.
                o[2..4].copy_from_slice(&(scope as u16).to_be_bytes());
                b[24..28].copy_from_slice(&scope.to_ne_bytes());
            }
            b[8..24].copy_from_slice(&o);
            b
        }
    }
}

fn mask(ip: IpAddr, prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(_) => {
            let p = u32::from(prefix.min(32));
            IpAddr::V4(if p == 0 { 0 } else { u32::MAX << (32 - p) }.into())
        }
        IpAddr::V6(_) => {
            let p = u32::from(prefix.min(128));
            IpAddr::V6(if p == 0 { 0 } else { u128::MAX << (128 - p) }.into())
        }
    }
}

pub fn entries(k: &Kernel) -> Vec<IfaddrsEntry> {
    let mut out = Vec::new();
    for i in &k.interfaces {
        let flags = if i.up() {
            i.flags | IFF_RUNNING
        } else {
            i.flags
        };
        let mut sdl = vec![0u8; 8 + i.name.len() + 6];
        sdl[0] = sdl.len() as u8;
        sdl[1] = AF_LINK;
        sdl[2..4].copy_from_slice(&(i.index as u16).to_ne_bytes());
        sdl[4] = i.if_type;
        sdl[5] = i.name.len() as u8;
        let ether = matches!(i.if_type, IFT_ETHER | IFT_L2VLAN);
        sdl[6] = if ether { 6 } else { 0 };
        sdl[8..8 + i.name.len()].copy_from_slice(i.name.as_bytes());
        let link = if i.link_up {
            LINK_STATE_UP
        } else {
            LINK_STATE_DOWN
        };
        out.push(IfaddrsEntry {
            name: i.name.clone(),
            flags,
            addr: Some(sdl),
            netmask: None,
            data: Some(if_data(i.if_type, link, 0)),
        });
        for a in &i.addrs {
            out.push(IfaddrsEntry {
                name: i.name.clone(),
                flags,
                addr: Some(sockaddr(a.ip, i.index)),
                netmask: Some(compact(sockaddr(mask(a.ip, a.prefix), 0))),
                data: Some(if_data(0, 0, a.vhid)),
            });
        }
    }
    out
}
