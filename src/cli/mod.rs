//! Command line: one module per command; this file holds the clap surface and dispatch.

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

use crate::native::Kernel;
use crate::paths::Paths;

mod apply;
mod check;
mod client;
mod events;
mod generate;
mod init;
mod is_master;
mod ops;
mod run;
mod show;
mod status;
mod ucarp;

/// Exit code a command returns when it ran but the answer is "no" (e.g. `check` found errors).
pub const EXIT_FAILED: u8 = 1;
/// Exit code when no daemon answers on the control socket.
pub const EXIT_NO_DAEMON: u8 = 3;

#[derive(Parser, Debug)]
#[command(
    name = "carpd",
    version,
    about = "CARP high availability for OPNsense, pfSense, FreeBSD and Linux",
    long_about = "carpd reads the virtual IPs from the firewall's config.xml and either drives \
FreeBSD's carp(4) (native engine) or speaks CARP itself on raw sockets (userspace engine), \
byte-compatible with the kernel. It runs transition hooks, keeps maintenance mode across \
reboots and reports status in OPNsense's JSON shape."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command understands.
#[derive(Args, Debug, Clone)]
pub struct Global {
    /// config.xml to read
    #[arg(long, global = true, env = "CARPD_CONFIG", default_value = crate::config::DEFAULT_CONFIG)]
    pub config: PathBuf,
    /// Directory of the control socket and pidfile
    #[arg(long, global = true, env = "CARPD_RUN_DIR", default_value = crate::paths::default_run_dir())]
    pub run_dir: PathBuf,
    /// Directory of carpd's persistent state (maintenance, demotions)
    #[arg(long, global = true, env = "CARPD_STATE_DIR", default_value = crate::paths::default_state_dir())]
    pub state_dir: PathBuf,
    /// Directory of transition hooks, run as `<hook> <vhid>@<ifname> <STATE>`
    #[arg(long, global = true, env = "CARPD_HOOKS_DIR", default_value = crate::paths::default_hooks_dir())]
    pub hooks_dir: PathBuf,
    /// Root of the host's own files, where carpd looks to recognise OPNsense (tests point it
    /// at a staged tree)
    #[arg(
        long,
        global = true,
        env = "CARPD_HOST_ROOT",
        default_value = "/",
        hide = true
    )]
    pub host_root: PathBuf,
    /// carp(4) lowers VRRPv3 priorities by net.inet.carp.demotion itself (DEMOTE_VRRP_PRIO,
    /// FreeBSD review D55558), so carpd must not: set it on such a kernel
    #[arg(long, global = true, env = "CARPD_KERNEL_DEMOTES_VRRP")]
    pub kernel_demotes_vrrp: bool,
    /// The kernel the native engine drives: the host's carp(4) on FreeBSD, none elsewhere
    /// (the tests' kernel model passes its own through [`main_with`]).
    #[arg(skip)]
    pub kernel: Option<Kernel>,
}

impl Global {
    /// The kernel for a command that needs carp(4).
    pub fn kernel(&self) -> Result<&Kernel, crate::native::NativeError> {
        self.kernel
            .as_ref()
            .ok_or(crate::native::NativeError::Unavailable)
    }

    /// The OPNsense host carpd runs on, if it does.
    pub fn opnsense(&self) -> Option<crate::host::Opnsense> {
        crate::host::Opnsense::detect(&self.host_root)
    }

    /// Whether carp(4) is here and loaded.
    pub fn carp_loaded(&self) -> bool {
        self.kernel.as_ref().is_some_and(Kernel::carp_loaded)
    }

    pub fn paths(&self) -> Paths {
        Paths {
            run_dir: self.run_dir.clone(),
            state_dir: self.state_dir.clone(),
            hooks_dir: self.hooks_dir.clone(),
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Validate config.xml: exit 0 = usable, 1 = errors (every problem is listed with its place)
    Check(check::CheckArgs),
    /// Write the config file (--config) for this node, from flags or from a firewall's backup
    Init(init::InitArgs),
    /// Print the CARP model carpd will apply (passwords are never shown)
    Show(show::ShowArgs),
    /// Run the daemon: hold or drive the VIPs of config.xml
    Run(run::RunArgs),
    /// Show the state of every VHID (table, or OPNsense's get_vip_status JSON with --json)
    Status(status::StatusArgs),
    /// Make the kernel's carp(4) match config.xml (native engine)
    Apply(apply::ApplyArgs),
    /// Re-read config.xml in the running daemon; unchanged VHIDs are not touched
    Reload(client::JsonFlag),
    /// Persistent maintenance mode: demote so the peer takes over
    Maintenance {
        #[command(subcommand)]
        action: ops::MaintenanceAction,
    },
    /// Named demotion contributions: `carpd demote service:openvpn +50`
    Demote(ops::DemoteArgs),
    /// Force BACKUP or MASTER now; the election resumes afterwards
    State(ops::StateArgs),
    /// Turn CARP off (like net.inet.carp.allow=0): every VHID to INIT, addresses released
    Disable(client::JsonFlag),
    /// Turn CARP back on (like net.inet.carp.allow=1)
    Enable(client::JsonFlag),
    /// Follow transitions, demotions, checks, hooks and drops as they happen (after a snapshot)
    Events(events::EventsArgs),
    /// Exit 0 if the VHID (`<vhid>@<device>`, `--vip ADDR`, `--all`) is MASTER, 1 if not, 3 with no daemon
    IsMaster(is_master::IsMasterArgs),
    /// Transition hooks
    Hooks {
        #[command(subcommand)]
        action: client::HooksAction,
    },
    /// Run like ucarp, from ucarp's options: one VHID, the up/down scripts own the address
    /// (also what carpd does when started under the name `ucarp`)
    #[command(args_override_self = true, infer_long_args = true)]
    Ucarp(ucarp::UcarpArgs),
    /// Generate the man page or shell completions (used by packaging)
    #[command(hide = true)]
    Generate(generate::GenerateArgs),
}

pub fn main() -> ExitCode {
    main_with(crate::platform::host_kernel())
}

/// The command line with `kernel` as the kernel the native engine drives.
///
/// With `--json` every failure is also a `{"status":"failed","reason":…}` line on stdout —
/// a bad argument or an unreadable config.xml included — because a caller such as configd
/// reads stdout only.
pub fn main_with(kernel: Option<Kernel>) -> ExitCode {
    // A symlink named ucarp: ucarp's command line, nothing of carpd's.
    if ucarp::invoked_as_ucarp() {
        return ucarp::main_as_ucarp();
    }
    let json = std::env::args_os().any(|a| a == "--json");
    let parsed = Cli::command()
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m).map(|cli| (cli, m)));
    let mut cli = match parsed {
        Ok((mut cli, matches)) => {
            // `carpd init` groups its options by position, which only the matches know.
            if let (Command::Init(a), Some(("init", sub))) =
                (&mut cli.command, matches.subcommand())
            {
                a.positions = init::Positions::from_matches(sub);
            }
            cli
        }
        Err(e) if json && e.use_stderr() => {
            print_failure(&usage_error(&e));
            return ExitCode::from(EXIT_USAGE);
        }
        Err(e) => e.exit(),
    };
    if !matches!(cli.command, Command::Run(_) | Command::Ucarp(_)) {
        crate::platform::restore_sigpipe();
    }
    cli.global.kernel = kernel.map(|k| k.demoting_vrrp(cli.global.kernel_demotes_vrrp));
    match dispatch(cli) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("carpd: {err:#}");
            if json {
                print_failure(&format!("{err:#}"));
            }
            ExitCode::from(EXIT_FAILED)
        }
    }
}

/// Exit code of a command line that could not be parsed (clap's own).
pub const EXIT_USAGE: u8 = 2;

fn print_failure(reason: &str) {
    println!(
        "{}",
        serde_json::json!({ "status": "failed", "reason": reason })
    );
}

/// clap's message without its `error: ` prefix and blank lines, usage line kept:
/// `unrecognized subcommand '' — Usage: carpd maintenance [OPTIONS] <COMMAND>`.
fn usage_error(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("For more information"))
        .collect();
    lines.join(" — ").trim_start_matches("error: ").to_string()
}

fn dispatch(cli: Cli) -> anyhow::Result<u8> {
    let g = cli.global;
    match cli.command {
        Command::Check(a) => check::run(&g, a),
        Command::Init(a) => init::run(&g, a),
        Command::Show(a) => show::run(&g, a),
        Command::Run(a) => run::run(&g, a),
        Command::Status(a) => status::run(&g, a),
        Command::Apply(a) => apply::run(&g, a),
        Command::Reload(a) => client::reload(&g, a),
        Command::Hooks { action } => client::hooks(&g, action),
        Command::Events(a) => events::run(&g, a),
        Command::IsMaster(a) => is_master::run(&g, a),
        Command::Maintenance { action } => ops::maintenance(&g, action),
        Command::Demote(a) => ops::demote(&g, a),
        Command::State(a) => ops::state(&g, a),
        Command::Disable(a) => ops::allow(&g, false, a),
        Command::Enable(a) => ops::allow(&g, true, a),
        Command::Ucarp(a) => ucarp::run_subcommand(&g, a),
        Command::Generate(a) => generate::run(a),
    }
}
