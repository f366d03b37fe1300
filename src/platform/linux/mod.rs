//! Linux glue for the userspace engine. Everything async runs on the engine's tokio
//! current-thread runtime.

pub mod addresses;
pub mod announce;
pub mod carp_socket;
pub mod interface;
pub mod links;
pub mod timer;
