//! Commands that talk to the running daemon over the control socket.
use clap::{Args, Subcommand};

#[derive(Args, Debug)]
pub struct JsonFlag {
    /// Answer as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
pub enum HooksAction {
    /// Run the hooks once with each VHID's current state, so dependents converge
    Replay(JsonFlag),
}

pub fn reload(_g: &super::Global, _a: JsonFlag) -> anyhow::Result<u8> {
    anyhow::bail!("not implemented yet")
}
pub fn hooks(_g: &super::Global, _a: HooksAction) -> anyhow::Result<u8> {
    anyhow::bail!("not implemented yet")
}
