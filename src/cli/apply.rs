use clap::Args;
#[derive(Args, Debug)]
pub struct ApplyArgs {
    /// Print the plan as ifconfig/sysctl lines instead of applying it
    #[arg(long)]
    pub dry_run: bool,
}
pub fn run(_g: &super::Global, _a: ApplyArgs) -> anyhow::Result<u8> {
    anyhow::bail!("not implemented yet")
}
