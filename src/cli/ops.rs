//! Operator controls (maintenance, demotion, forced state, CARP off/on): each sends one request
//! to the running daemon and prints its answer.
use clap::{Args, Subcommand, ValueEnum};

#[derive(Subcommand, Debug)]
pub enum MaintenanceAction {
    /// Demote by 240 (named `maintenance`) so a peer takes over
    Enter(MaintenanceArgs),
    /// Remove exactly the `maintenance` demotion
    Leave(MaintenanceArgs),
}

#[derive(Args, Debug)]
pub struct MaintenanceArgs {
    /// Survive a restart and a reboot (written to the state directory before demoting)
    #[arg(long)]
    pub persistent: bool,
    /// Answer as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct DemoteArgs {
    /// Name of the contribution, e.g. `service:openvpn`
    pub name: String,
    /// `+N`, `-N` (added to the contribution) or `clear`
    #[arg(allow_hyphen_values = true)]
    pub change: String,
    /// Answer as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum TargetState {
    Backup,
    Master,
}

#[derive(Args, Debug)]
pub struct StateArgs {
    pub target: TargetState,
    /// Only this VHID (default: all)
    #[arg(long, conflicts_with = "all")]
    pub vhid: Option<u8>,
    /// Every VHID
    #[arg(long)]
    pub all: bool,
    /// Answer as JSON
    #[arg(long)]
    pub json: bool,
}

pub fn maintenance(_g: &super::Global, _a: MaintenanceAction) -> anyhow::Result<u8> {
    anyhow::bail!("not implemented yet")
}
pub fn demote(_g: &super::Global, _a: DemoteArgs) -> anyhow::Result<u8> {
    anyhow::bail!("not implemented yet")
}
pub fn state(_g: &super::Global, _a: StateArgs) -> anyhow::Result<u8> {
    anyhow::bail!("not implemented yet")
}
pub fn allow(_g: &super::Global, _allow: bool, _a: super::client::JsonFlag) -> anyhow::Result<u8> {
    anyhow::bail!("not implemented yet")
}
