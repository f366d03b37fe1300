use clap::Args;
use std::path::PathBuf;
#[derive(Args, Debug)]
pub struct StatusArgs {
    /// Print OPNsense get_vip_status JSON
    #[arg(long)]
    pub json: bool,
    /// Native engine: write the observed kernel state as JSON to this file (`-` = stdout)
    #[arg(long)]
    pub kernel_state_dump: Option<PathBuf>,
}
pub fn run(_g: &super::Global, _a: StatusArgs) -> anyhow::Result<u8> {
    anyhow::bail!("not implemented yet")
}
