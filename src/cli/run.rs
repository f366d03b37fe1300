use clap::Args;
#[derive(Args, Debug)]
pub struct RunArgs {
    /// Stay in the foreground and log to stderr
    #[arg(long)]
    pub foreground: bool,
}
pub fn run(_g: &super::Global, _a: RunArgs) -> anyhow::Result<u8> {
    anyhow::bail!("not implemented yet")
}
