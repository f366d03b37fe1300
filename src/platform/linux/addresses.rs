//! Address add/remove through rtnetlink. carpd's addresses carry IFA_PROTO = [`CARPD_PROTO`],
//! so a restarted carpd finds what a crashed one left behind.

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

#[derive(Clone, Debug)]
pub struct AddressControl {
    _private: (),
}

impl AddressControl {
    /// Open an rtnetlink connection (its task is spawned on the current runtime).
    pub async fn new() -> std::io::Result<AddressControl> {
        todo!("platform: AddressControl::new")
    }
    pub async fn ifindex(&self, ifname: &str) -> std::io::Result<u32> {
        let _ = ifname;
        todo!("platform: ifindex")
    }
    /// Add with carpd's mark (IPv6 without DAD). Already present counts as success.
    pub async fn add(&self, ifindex: u32, prefix: IpPrefix) -> std::io::Result<()> {
        let _ = (ifindex, prefix);
        todo!("platform: add")
    }
    /// Remove. Already absent counts as success.
    pub async fn remove(&self, ifindex: u32, prefix: IpPrefix) -> std::io::Result<()> {
        let _ = (ifindex, prefix);
        todo!("platform: remove")
    }
    /// Every address of every interface (or of one, with `ifindex`).
    pub async fn list(&self, ifindex: Option<u32>) -> std::io::Result<Vec<InterfaceAddress>> {
        let _ = ifindex;
        todo!("platform: list")
    }
}
