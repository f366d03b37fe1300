use clap::Args;
#[derive(Args, Debug)]
pub struct StatusArgs {
    /// Print OPNsense get_vip_status JSON
    #[arg(long)]
    pub json: bool,
}
pub fn run(_g: &super::Global, _a: StatusArgs) -> anyhow::Result<u8> {
    anyhow::bail!("not implemented yet")
}
