//! Shared helpers for integration tests. Each test binary that needs them says `mod common;`.
//!
//! `netns` holds the network-namespace lab every namespace test uses: a bridge, N nodes and a
//! client, all torn down on drop (also on panic).

#![allow(dead_code)] // every test binary uses a different subset

pub mod native_model;
#[cfg(target_os = "linux")]
pub mod netns;
pub mod tempdir;
