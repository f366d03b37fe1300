//! Link state: read once, then follow rtnetlink link events (no polling).

/// A link's usability for CARP: administratively up and carrier present.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkEvent {
    pub ifindex: u32,
    pub ifname: String,
    pub up: bool,
}

/// Current state of `ifname`, `None` if it does not exist.
pub async fn link_state(ifname: &str) -> std::io::Result<Option<LinkEvent>> {
    let _ = ifname;
    todo!("platform: link_state")
}

/// Subscribe to link changes; events arrive on the returned channel until it is dropped.
pub fn watch() -> std::io::Result<tokio::sync::mpsc::UnboundedReceiver<LinkEvent>> {
    todo!("platform: watch")
}
