//! carpd: a CARP high-availability backend for OPNsense, pfSense and FreeBSD, with a userspace
//! engine that speaks CARP itself where no carp(4) exists.
//!
//! Layers (data flows one way): `config` → model → (`engine` | `native` planner) → `platform`.
//! `wire` and `proto` are sans-IO; `status`, `control` and `hooks` are shared by both engines.

pub mod checks;
pub mod cli;
pub mod config;
pub mod control;
pub mod defguard;
pub mod engine;
pub mod events;
pub mod fsutil;
pub mod health;
pub mod hooks;
pub mod host;
pub mod logging;
pub mod native;
pub mod operator;
pub mod paths;
pub mod platform;
pub mod proto;
pub mod status;
pub mod wire;
