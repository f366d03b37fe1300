use clap::{Args, ValueEnum};
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum EngineChoice {
    /// native when carp(4) is loaded (net.inet.carp.allow exists), else userspace
    Auto,
    /// FreeBSD carp(4)
    Native,
    /// carpd speaks CARP itself on raw sockets
    Userspace,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// Stay in the foreground and log to stderr
    #[arg(long)]
    pub foreground: bool,
    /// Which engine holds the VIPs
    #[arg(long, value_enum, env = "CARPD_ENGINE", default_value = "auto")]
    pub engine: EngineChoice,
    /// Run no transition hooks (on OPNsense, core already dispatches rc.syshook.d/carp)
    #[arg(long)]
    pub no_hooks: bool,
    /// Seconds a hook may run before its process group is killed
    #[arg(long, default_value = "30", value_parser = parse_secs)]
    pub hook_timeout: Duration,
}

fn parse_secs(s: &str) -> Result<Duration, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("not a number of seconds: {s}"))?;
    if !(0.0..=86400.0).contains(&v) {
        return Err(format!("out of range (0..86400): {s}"));
    }
    Ok(Duration::from_secs_f64(v))
}

pub fn run(_g: &super::Global, _a: RunArgs) -> anyhow::Result<u8> {
    anyhow::bail!("not implemented yet")
}
