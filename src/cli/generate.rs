//! `carpd generate man|completions`: the man page and shell completions, from the clap definitions.
use clap::{Args, CommandFactory, ValueEnum};
use std::io::Write;

#[derive(Args, Debug)]
pub struct GenerateArgs {
    #[arg(value_enum)]
    pub what: What,
    /// Shell, for completions
    #[arg(long, value_enum, default_value = "sh")]
    pub shell: clap_complete::Shell,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum What {
    /// carpd(8) in roff
    Man,
    Completions,
}

pub fn run(a: GenerateArgs) -> anyhow::Result<u8> {
    let mut cmd = super::Cli::command();
    let mut out = std::io::stdout().lock();
    match a.what {
        What::Man => {
            let man = clap_mangen::Man::new(cmd).section("8");
            man.render(&mut out)?;
        }
        What::Completions => {
            clap_complete::generate(a.shell, &mut cmd, "carpd", &mut out);
        }
    }
    out.flush()?;
    Ok(0)
}
