//! `carpd generate man|completions`: the man page and shell completions, from the clap
//! definitions, so packaging never ships documentation that disagrees with the binary.
use clap::{Args, CommandFactory, ValueEnum};
use clap_mangen::roff::{Roff, bold, italic, roman};
use std::io::Write;

#[derive(Args, Debug)]
pub struct GenerateArgs {
    #[arg(value_enum)]
    pub what: What,
    /// Shell, for completions
    #[arg(long, value_enum, required_if_eq("what", "completions"))]
    pub shell: Option<clap_complete::Shell>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum What {
    /// carpd(8) in roff
    Man,
    /// Completions for --shell
    Completions,
}

pub fn run(a: GenerateArgs) -> anyhow::Result<u8> {
    let mut cmd = super::Cli::command();
    let mut out = std::io::stdout().lock();
    match a.what {
        What::Man => render_man(cmd, &mut out)?,
        What::Completions => {
            let shell = a
                .shell
                .ok_or_else(|| anyhow::anyhow!("completions need --shell (bash, zsh, fish, …)"))?;
            clap_complete::generate(shell, &mut cmd, "carpd", &mut out);
        }
    }
    out.flush()?;
    Ok(0)
}

/// carpd(8): clap's sections, then what an operator needs that clap does not know: one
/// paragraph per command with its options, files, environment, exit status, see also.
fn render_man(cmd: clap::Command, out: &mut dyn Write) -> std::io::Result<()> {
    let man = clap_mangen::Man::new(cmd.clone())
        .section("8")
        .manual("System Manager's Manual");
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    man.render_options_section(out)?;

    let mut roff = Roff::new();
    roff.control("SH", ["COMMANDS"]);
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        command_paragraphs(&mut roff, "carpd", sub);
    }
    files_section(&mut roff);
    roff.control("SH", ["ENVIRONMENT"]);
    for (var, what) in [
        ("CARPD_CONFIG", "config.xml to read (--config)"),
        (
            "CARPD_RUN_DIR",
            "directory of the control socket and pidfile (--run-dir)",
        ),
        (
            "CARPD_STATE_DIR",
            "directory of the persistent state (--state-dir)",
        ),
        (
            "CARPD_HOOKS_DIR",
            "directory of the transition hooks (--hooks-dir)",
        ),
        ("CARPD_ENGINE", "engine for run (--engine)"),
    ] {
        roff.control("TP", []);
        roff.text([bold(var)]);
        roff.text([roman(what)]);
    }
    roff.control("SH", ["EXIT STATUS"]);
    roff.text([roman(format!(
        "0 on success; {} when the command ran but the answer is no (for check: the configuration has errors) \
or failed; {} when no daemon answers on the control socket.",
        super::EXIT_FAILED,
        super::EXIT_NO_DAEMON
    ))]);
    roff.control("SH", ["SEE ALSO"]);
    roff.text([roman(
        "carp(4), ifconfig(8), daemon(8), rc.conf(5), devd(8), configctl (OPNsense), ucarp(8), systemd.service(5)",
    )]);
    roff.to_writer(out)?;
    man.render_version_section(out)
}

fn command_paragraphs(roff: &mut Roff, parent: &str, sub: &clap::Command) {
    let path = format!("{parent} {}", sub.get_name());
    if sub.has_subcommands() {
        for inner in sub.get_subcommands().filter(|s| !s.is_hide_set()) {
            command_paragraphs(roff, &path, inner);
        }
        return;
    }
    let mut usage = vec![bold(path.clone())];
    for arg in sub
        .get_arguments()
        .filter(|a| !a.is_hide_set() && !a.is_global_set())
    {
        let id = arg.get_id().as_str();
        if id == "help" || id == "version" {
            continue;
        }
        usage.push(roman(" "));
        match arg.get_long() {
            Some(long) if arg.get_action().takes_values() => {
                usage.push(roman(format!("[--{long} ")));
                usage.push(italic(id.to_uppercase()));
                usage.push(roman("]"));
            }
            Some(long) => usage.push(roman(format!("[--{long}]"))),
            None => usage.push(italic(id.to_uppercase())),
        }
    }
    roff.control("TP", []);
    roff.text(usage);
    if let Some(about) = sub.get_about() {
        roff.text([roman(about.to_string())]);
    }
}

fn files_section(roff: &mut Roff) {
    let paths = crate::paths::Paths::default();
    roff.control("SH", ["FILES"]);
    let entries = [
        (
            crate::config::DEFAULT_CONFIG.to_string(),
            "the configuration read by default (the firewall's own; on Linux the file carpd init writes)",
        ),
        (
            paths.control_socket().display().to_string(),
            "control socket of the running daemon",
        ),
        (
            paths.persistent_state().display().to_string(),
            "persistent maintenance mode and named demotions",
        ),
        (
            paths.hooks_dir.display().to_string(),
            "transition hooks, run as hook <vhid>@<ifname> MASTER|BACKUP|INIT",
        ),
        (
            std::path::Path::new(crate::paths::default_defguard_action())
                .parent()
                .map_or_else(String::new, |p| p.display().to_string()),
            "shipped transition actions: log-transition, defguard-gateway, follow-vhid, TEMPLATE; link one into the hooks directory to use it",
        ),
    ];
    for (path, what) in entries {
        roff.control("TP", []);
        roff.text([italic(path)]);
        roff.text([roman(what)]);
    }
}
