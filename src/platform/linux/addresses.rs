//! Address add/remove through rtnetlink. carpd's addresses carry IFA_PROTO = [`CARPD_PROTO`],
//! so a restarted carpd finds what a crashed one left behind.
//!
//! IFA_PROTO needs Linux 6.3 or newer; older kernels ignore the attribute, so addresses are
//! still added but `list` reports them as `carpd: false`.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use futures_util::TryStreamExt;
use netlink_packet_route::AddressFamily;
use netlink_packet_route::address::{
    AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage, AddressProtocol,
    AddressScope,
};
use netlink_packet_route::link::{LinkAttribute, LinkMessage};
use rtnetlink::Handle;

use crate::config::IpPrefix;

/// IFA_PROTO value that marks an address as carpd's (0..3 are the kernel's own; 0x63 = 'c').
pub const CARPD_PROTO: u8 = 0x63;

/// An address on an interface.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct InterfaceAddress {
    pub ifindex: u32,
    pub ifname: String,
    pub prefix: IpPrefix,
    /// Carries carpd's mark.
    pub carpd: bool,
}

/// An rtnetlink connection. Cloning shares it.
#[derive(Clone, Debug)]
pub struct AddressControl {
    handle: Handle,
}

/// Turn an rtnetlink failure into an `io::Error` that keeps the errno's kind and says what
/// was being done.
pub(crate) fn nl_error(context: &str, err: rtnetlink::Error) -> io::Error {
    match errno_of(&err) {
        Some(code) => {
            let os = io::Error::from_raw_os_error(code);
            io::Error::new(os.kind(), format!("{context}: {os}"))
        }
        None => io::Error::other(format!("{context}: {err}")),
    }
}

/// The positive errno carried by a netlink error reply, if that is what `err` is.
fn errno_of(err: &rtnetlink::Error) -> Option<i32> {
    match err {
        rtnetlink::Error::NetlinkError(msg) if msg.raw_code() != 0 => Some(msg.raw_code().abs()),
        _ => None,
    }
}

/// The rtnetlink attributes describing `prefix` on `ifindex`, as add and delete both need.
fn address_message(ifindex: u32, prefix: IpPrefix) -> AddressMessage {
    let mut msg = AddressMessage::default();
    msg.header.index = ifindex;
    msg.header.prefix_len = prefix.prefix;
    msg.header.scope = AddressScope::Universe;
    match prefix.addr {
        IpAddr::V4(a) => {
            msg.header.family = AddressFamily::Inet;
            msg.attributes.push(AddressAttribute::Local(a.into()));
            msg.attributes.push(AddressAttribute::Address(a.into()));
        }
        IpAddr::V6(a) => {
            msg.header.family = AddressFamily::Inet6;
            if a.is_unicast_link_local() {
                msg.header.scope = AddressScope::Link;
            }
            msg.attributes.push(AddressAttribute::Local(a.into()));
            msg.attributes.push(AddressAttribute::Address(a.into()));
        }
    }
    msg
}

fn check_prefix(prefix: IpPrefix) -> io::Result<()> {
    let max = if prefix.addr.is_ipv4() { 32 } else { 128 };
    if prefix.prefix > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("prefix length of {prefix} is longer than {max}"),
        ));
    }
    Ok(())
}

impl AddressControl {
    /// Open an rtnetlink connection (its task is spawned on the current runtime).
    pub async fn new() -> std::io::Result<AddressControl> {
        let (conn, handle, _) = rtnetlink::new_connection()
            .map_err(|e| io::Error::new(e.kind(), format!("opening rtnetlink socket: {e}")))?;
        tokio::spawn(conn);
        Ok(AddressControl { handle })
    }

    pub async fn ifindex(&self, ifname: &str) -> std::io::Result<u32> {
        Ok(self.link_by_name(ifname).await?.header.index)
    }

    /// Add with carpd's mark (IPv6 without DAD). Already present counts as success.
    pub async fn add(&self, ifindex: u32, prefix: IpPrefix) -> std::io::Result<()> {
        check_prefix(prefix)?;
        let mut req = self
            .handle
            .address()
            .add(ifindex, prefix.addr, prefix.prefix);
        let msg = req.message_mut();
        *msg = address_message(ifindex, prefix);
        if let IpAddr::V4(a) = prefix.addr {
            // Same broadcast address `ip addr add` would set, so the VIP looks like any
            // other address on the interface.
            if prefix.prefix < 31 {
                let brd = u32::from(a) | (u32::MAX >> prefix.prefix);
                msg.attributes
                    .push(AddressAttribute::Broadcast(Ipv4Addr::from(brd)));
            }
        } else {
            // A VIP moves between nodes by design; DAD would hold it tentative for a second
            // and fail it outright while the old master still answers.
            msg.header.flags = AddressHeaderFlags::Nodad;
            msg.attributes
                .push(AddressAttribute::Flags(AddressFlags::Nodad));
        }
        msg.attributes
            .push(AddressAttribute::Protocol(AddressProtocol::Other(
                CARPD_PROTO,
            )));
        match req.execute().await {
            Ok(()) => Ok(()),
            Err(e) if errno_of(&e) == Some(libc::EEXIST) => Ok(()),
            Err(e) => Err(nl_error(
                &format!("adding {prefix} to interface #{ifindex}"),
                e,
            )),
        }
    }

    /// Remove. Already absent counts as success.
    pub async fn remove(&self, ifindex: u32, prefix: IpPrefix) -> std::io::Result<()> {
        check_prefix(prefix)?;
        let msg = address_message(ifindex, prefix);
        match self.handle.address().del(msg).execute().await {
            Ok(()) => Ok(()),
            Err(e)
                if matches!(
                    errno_of(&e),
                    Some(libc::ENOENT) | Some(libc::EADDRNOTAVAIL) | Some(libc::ESRCH)
                ) =>
            {
                Ok(())
            }
            Err(e) => Err(nl_error(
                &format!("removing {prefix} from interface #{ifindex}"),
                e,
            )),
        }
    }

    /// Every address of every interface (or of one, with `ifindex`).
    pub async fn list(&self, ifindex: Option<u32>) -> std::io::Result<Vec<InterfaceAddress>> {
        let names = self.link_names().await?;
        Ok(self
            .dump_addresses(ifindex)
            .await?
            .into_iter()
            .map(|a| InterfaceAddress {
                ifindex: a.ifindex,
                ifname: names.get(&a.ifindex).cloned().unwrap_or_default(),
                prefix: a.prefix,
                carpd: a.carpd,
            })
            .collect())
    }

    /// The IPv4 address adverts of `ifname` should leave from: its first primary address that
    /// is not carpd's (not a VIP), so a backup's adverts never carry a VIP as source.
    pub async fn interface_source_v4(&self, ifname: &str) -> io::Result<Option<Ipv4Addr>> {
        let ifindex = self.ifindex(ifname).await?;
        let addrs = self.dump_addresses(Some(ifindex)).await?;
        let own = |a: &&RawAddress| !a.carpd && a.usable && a.prefix.addr.is_ipv4();
        // Prefer a primary address; a secondary is still better than none.
        let pick = addrs
            .iter()
            .filter(own)
            .find(|a| !a.secondary)
            .or_else(|| addrs.iter().find(|a| own(a)));
        Ok(pick.and_then(|a| match a.prefix.addr {
            IpAddr::V4(v4) => Some(v4),
            IpAddr::V6(_) => None,
        }))
    }

    /// The interface's own link-local address (not carpd's, not tentative or failed DAD).
    pub async fn link_local_v6(&self, ifname: &str) -> io::Result<Option<Ipv6Addr>> {
        let ifindex = self.ifindex(ifname).await?;
        let addrs = self.dump_addresses(Some(ifindex)).await?;
        Ok(addrs
            .iter()
            .filter(|a| !a.carpd && a.usable)
            .find_map(|a| match a.prefix.addr {
                IpAddr::V6(v6) if v6.is_unicast_link_local() => Some(v6),
                _ => None,
            }))
    }

    /// The interface's hardware address (`None` for interfaces without an Ethernet-style one).
    pub async fn mac_address(&self, ifname: &str) -> io::Result<Option<[u8; 6]>> {
        let link = self.link_by_name(ifname).await?;
        Ok(link.attributes.iter().find_map(|a| match a {
            LinkAttribute::Address(bytes) => bytes.as_slice().try_into().ok(),
            _ => None,
        }))
    }

    async fn link_by_name(&self, ifname: &str) -> io::Result<LinkMessage> {
        let mut links = self
            .handle
            .link()
            .get()
            .match_name(ifname.to_string())
            .execute();
        match links.try_next().await {
            Ok(Some(link)) => Ok(link),
            Ok(None) => Err(no_such_interface(ifname)),
            Err(e) if errno_of(&e) == Some(libc::ENODEV) => Err(no_such_interface(ifname)),
            Err(e) => Err(nl_error(&format!("looking up interface {ifname}"), e)),
        }
    }

    async fn link_names(&self) -> io::Result<HashMap<u32, String>> {
        let links: Vec<LinkMessage> = self
            .handle
            .link()
            .get()
            .execute()
            .try_collect()
            .await
            .map_err(|e| nl_error("listing interfaces", e))?;
        Ok(links
            .into_iter()
            .filter_map(|l| {
                l.attributes.iter().find_map(|a| match a {
                    LinkAttribute::IfName(n) => Some((l.header.index, n.clone())),
                    _ => None,
                })
            })
            .collect())
    }

    async fn dump_addresses(&self, ifindex: Option<u32>) -> io::Result<Vec<RawAddress>> {
        let mut req = self.handle.address().get();
        if let Some(i) = ifindex {
            req = req.set_link_index_filter(i);
        }
        let msgs: Vec<AddressMessage> = req
            .execute()
            .try_collect()
            .await
            .map_err(|e| nl_error("listing addresses", e))?;
        Ok(msgs.iter().filter_map(RawAddress::from_message).collect())
    }
}

fn no_such_interface(ifname: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("no interface named {ifname} (check the interface name in the configuration)"),
    )
}

/// What carpd needs from one RTM_NEWADDR message.
struct RawAddress {
    ifindex: u32,
    prefix: IpPrefix,
    carpd: bool,
    secondary: bool,
    /// Neither tentative nor failed DAD: usable as a source.
    usable: bool,
}

impl RawAddress {
    fn from_message(msg: &AddressMessage) -> Option<RawAddress> {
        // IFA_LOCAL is the interface's own address; IFA_ADDRESS is the peer on
        // point-to-point links, so prefer LOCAL when present (IPv4), else ADDRESS (IPv6).
        let mut local = None;
        let mut address = None;
        let mut carpd = false;
        // IFA_FLAGS (32 bit) supersedes the 8-bit header flags when present.
        let mut flags = AddressFlags::from_bits_retain(u32::from(msg.header.flags.bits()));
        for attr in &msg.attributes {
            match attr {
                AddressAttribute::Local(a) => local = Some(*a),
                AddressAttribute::Address(a) => address = Some(*a),
                AddressAttribute::Protocol(p) => carpd = u8::from(*p) == CARPD_PROTO,
                AddressAttribute::Flags(f) => flags = *f,
                _ => {}
            }
        }
        let addr = local.or(address)?;
        Some(RawAddress {
            ifindex: msg.header.index,
            prefix: IpPrefix {
                addr,
                prefix: msg.header.prefix_len,
            },
            carpd,
            secondary: flags.contains(AddressFlags::Secondary),
            usable: !flags.intersects(AddressFlags::Tentative | AddressFlags::Dadfailed),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_reading_keeps_mark_and_flags() {
        let mut msg = address_message(
            7,
            IpPrefix {
                addr: "2001:db8::5".parse().unwrap(),
                prefix: 64,
            },
        );
        msg.attributes
            .push(AddressAttribute::Protocol(AddressProtocol::Other(
                CARPD_PROTO,
            )));
        msg.attributes
            .push(AddressAttribute::Flags(AddressFlags::Tentative));
        let raw = RawAddress::from_message(&msg).unwrap();
        assert_eq!(raw.ifindex, 7);
        assert_eq!(raw.prefix.to_string(), "2001:db8::5/64");
        assert!(raw.carpd);
        assert!(!raw.usable);

        let plain = address_message(
            3,
            IpPrefix {
                addr: "192.0.2.1".parse().unwrap(),
                prefix: 24,
            },
        );
        let raw = RawAddress::from_message(&plain).unwrap();
        assert!(!raw.carpd && raw.usable && !raw.secondary);
    }

    #[test]
    fn overlong_prefix_is_refused() {
        let bad = IpPrefix {
            addr: "192.0.2.1".parse().unwrap(),
            prefix: 33,
        };
        assert_eq!(
            check_prefix(bad).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
    }
}
