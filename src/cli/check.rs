use clap::Args;
#[derive(Args, Debug)]
pub struct CheckArgs {
    /// Print findings as JSON
    #[arg(long)]
    pub json: bool,
}
pub fn run(_g: &super::Global, _a: CheckArgs) -> anyhow::Result<u8> {
    anyhow::bail!("not implemented yet")
}
