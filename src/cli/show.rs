use clap::Args;
#[derive(Args, Debug)]
pub struct ShowArgs {
    /// Print the model as JSON
    #[arg(long)]
    pub json: bool,
}
pub fn run(_g: &super::Global, _a: ShowArgs) -> anyhow::Result<u8> {
    anyhow::bail!("not implemented yet")
}
