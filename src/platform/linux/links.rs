//! Link state: read once, then follow rtnetlink link events (no polling).
//!
//! "Up" for CARP means IFF_UP and IFF_RUNNING. The kernel sets IFF_RUNNING in link messages
//! exactly when the operational state is UP or UNKNOWN (drivers without carrier reporting), so
//! a pulled cable, a down peer veth or a down lower device all read as down.
//!
//! To miss nothing, call [`watch`] first and [`link_state`] after: a change between the two
//! then shows up as an event.

use std::collections::HashMap;
use std::io;

use futures_util::{StreamExt, TryStreamExt};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};
use rtnetlink::MulticastGroup;
use rtnetlink::packet_core::NetlinkPayload;
use rtnetlink::sys::AsyncSocket;
use tokio::sync::mpsc;

use super::addresses::nl_error;

/// A link's usability for CARP: administratively up and carrier present.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkEvent {
    pub ifindex: u32,
    pub ifname: String,
    pub up: bool,
}

impl LinkEvent {
    fn from_message(msg: &LinkMessage) -> LinkEvent {
        let ifname = msg
            .attributes
            .iter()
            .find_map(|a| match a {
                LinkAttribute::IfName(n) => Some(n.clone()),
                _ => None,
            })
            .unwrap_or_default();
        let flags = msg.header.flags;
        LinkEvent {
            ifindex: msg.header.index,
            ifname,
            up: flags.contains(LinkFlags::Up | LinkFlags::Running),
        }
    }
}

/// Current state of `ifname`, `None` if it does not exist.
pub async fn link_state(ifname: &str) -> std::io::Result<Option<LinkEvent>> {
    let (conn, handle, _) = rtnetlink::new_connection()
        .map_err(|e| io::Error::new(e.kind(), format!("opening rtnetlink socket: {e}")))?;
    // The connection task ends once `handle` is dropped at the end of this function.
    tokio::spawn(conn);
    let mut links = handle.link().get().match_name(ifname.to_string()).execute();
    match links.try_next().await {
        Ok(msg) => Ok(msg.as_ref().map(LinkEvent::from_message)),
        Err(rtnetlink::Error::NetlinkError(e)) if e.raw_code().abs() == libc::ENODEV => Ok(None),
        Err(e) => Err(nl_error(&format!("reading link state of {ifname}"), e)),
    }
}

/// Subscribe to link changes; events arrive on the returned channel until it is dropped.
///
/// One event per change of `up` (or of the name) per interface; the first message seen for an
/// interface always produces one. A removed interface yields `up: false`. Must be called
/// inside a tokio runtime (the listening task is spawned on it).
pub fn watch() -> std::io::Result<tokio::sync::mpsc::UnboundedReceiver<LinkEvent>> {
    let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
        io::Error::other("links::watch must be called from inside the engine's tokio runtime")
    })?;
    let (mut conn, _handle, mut messages) =
        rtnetlink::new_multicast_connection(&[MulticastGroup::Link]).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("subscribing to rtnetlink link events: {e}"),
            )
        })?;
    // A burst of link messages (many VLANs flapping with one trunk) must not overflow the
    // socket: a lost message would be a missed link change. 1 MiB holds thousands.
    conn.socket_mut()
        .socket_mut()
        .set_rx_buf_sz(1usize << 20)
        .map_err(|e| io::Error::new(e.kind(), format!("sizing the link event socket: {e}")))?;
    let (tx, rx) = mpsc::unbounded_channel();
    runtime.spawn(async move {
        // `_handle` must stay alive with the connection, or it shuts down.
        let _handle = _handle;
        let mut conn = std::pin::pin!(conn);
        let mut last: HashMap<u32, LinkEvent> = HashMap::new();
        loop {
            tokio::select! {
                _ = &mut conn => break,
                _ = tx.closed() => break,
                msg = messages.next() => {
                    let Some((msg, _)) = msg else { break };
                    let event = match msg.payload {
                        NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(link)) => {
                            LinkEvent::from_message(&link)
                        }
                        NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelLink(link)) => {
                            let mut e = LinkEvent::from_message(&link);
                            e.up = false;
                            last.remove(&e.ifindex);
                            if tx.send(e).is_err() {
                                break;
                            }
                            continue;
                        }
                        _ => continue,
                    };
                    // The kernel sends RTM_NEWLINK for many changes (MTU, promiscuity,
                    // statistics); pass on only what CARP cares about.
                    if last.get(&event.ifindex) == Some(&event) {
                        continue;
                    }
                    last.insert(event.ifindex, event.clone());
                    if tx.send(event).is_err() {
                        break;
                    }
                }
            }
        }
    });
    Ok(rx)
}

/// Whether `ifname` is up as [`LinkEvent::up`] means it, read from sysfs: IFF_UP in
/// `/sys/class/net/IFNAME/flags` (which holds the administrative flags only) and carrier in
/// `carrier` (the kernel refuses to read it while the interface is down). `None` when there
/// is no such interface. Blocking: for a check's link probe, which runs on the blocking pool.
pub fn link_up(ifname: &str) -> Option<bool> {
    if ifname.is_empty() || ifname.contains('/') || ifname.starts_with('.') {
        return None;
    }
    let dir = std::path::Path::new("/sys/class/net").join(ifname);
    let text = std::fs::read_to_string(dir.join("flags")).ok()?;
    let flags = u32::from_str_radix(text.trim().trim_start_matches("0x"), 16).ok()?;
    if flags & libc::IFF_UP as u32 == 0 {
        return Some(false);
    }
    let carrier = std::fs::read_to_string(dir.join("carrier")).unwrap_or_default();
    Some(carrier.trim() == "1")
}

#[cfg(test)]
mod tests {
    #[test]
    fn link_up_reads_sysfs() {
        // Loopback is always up with carrier, in any network namespace.
        assert_eq!(super::link_up("lo"), Some(true));
        assert_eq!(super::link_up("carpd-none0"), None);
        assert_eq!(super::link_up("../lo"), None);
    }
}
