use clap::Args;
use std::path::PathBuf;
#[derive(Args, Debug)]
pub struct ApplyArgs {
    /// Print the plan as ifconfig/sysctl lines instead of applying it
    #[arg(long)]
    pub dry_run: bool,
    /// Plan against this JSON snapshot of kernel state instead of the live kernel (`{}` = no CARP)
    #[arg(long)]
    pub kernel_state: Option<PathBuf>,
    /// Answer as JSON
    #[arg(long)]
    pub json: bool,
}
pub fn run(_g: &super::Global, _a: ApplyArgs) -> anyhow::Result<u8> {
    anyhow::bail!("not implemented yet")
}
