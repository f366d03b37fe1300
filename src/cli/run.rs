use clap::{Args, ValueEnum};
use std::time::Duration;

use crate::engine::Options;
use crate::engine::group::Tuning;
use crate::logging::Log;

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
    /// Drop adverts whose counter lies in a range already seen from that source (counted as
    /// `replay`). For carpd-only clusters: a FreeBSD or ucarp peer copies lower counters from
    /// its peers after a partition heals and would be taken for a replay for a while
    #[arg(long, env = "CARPD_REPLAY_GUARD")]
    pub replay_guard: bool,
    /// Gratuitous ARPs / unsolicited NAs per takeover: at once, then every two adverts until
    /// this many were sent (FreeBSD sends 1; OpenBSD and ucarp 2)
    #[arg(long, default_value = "2", value_parser = clap::value_parser!(u8).range(1..=10))]
    pub announce_count: u8,
    /// Native engine: devd's SOCK_SEQPACKET socket to follow for CARP events
    #[arg(long, env = "CARPD_DEVD_SOCKET", default_value = crate::native::devd::SEQPACKET_PIPE)]
    pub devd_socket: std::path::PathBuf,
    /// Native engine: settings of the Defguard action (its VIP and WireGuard interface); when
    /// present, the action runs again whenever that interface appears or comes up
    #[arg(long, env = "CARPD_DEFGUARD_CONF", default_value = crate::paths::default_defguard_conf())]
    pub defguard_conf: std::path::PathBuf,
    /// Native engine: the Defguard action to run then (on OPNsense the plugin's
    /// rc.syshook.d/carp/50-defguard-gateway)
    #[arg(long, env = "CARPD_DEFGUARD_ACTION")]
    pub defguard_action: Option<std::path::PathBuf>,
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

pub fn run(g: &super::Global, a: RunArgs) -> anyhow::Result<u8> {
    // Refuse a broken config before detaching, so the caller sees why.
    let loaded = crate::config::load(&g.config).map_err(refused)?;
    let log = if a.foreground {
        Log::stderr(std::env::var_os("CARPD_DEBUG").is_some())
    } else {
        nix::unistd::daemon(false, false)?;
        Log::syslog(false)
    };
    let opnsense = g.opnsense();
    let engine = choose_engine(g, a.engine, opnsense.as_ref(), &log)?;
    let opts = Options {
        source: crate::engine::Source::Config(g.config.clone()),
        paths: g.paths(),
        hooks: !a.no_hooks,
        hook_timeout: a.hook_timeout,
        tuning: Tuning {
            announce_count: a.announce_count,
            replay_guard: a.replay_guard,
        },
    };
    drop(loaded);
    match engine {
        EngineChoice::Userspace => run_userspace(opts, log),
        EngineChoice::Native | EngineChoice::Auto => {
            crate::native::run(crate::native::RunOptions {
                config: g.config.clone(),
                paths: opts.paths,
                no_hooks: !opts.hooks,
                hook_timeout: opts.hook_timeout,
                kernel: g.kernel()?.clone(),
                devd_path: a.devd_socket.clone(),
                log: log.clone(),
                defguard: crate::native::DefguardOptions {
                    conf: a.defguard_conf.clone(),
                    action: a
                        .defguard_action
                        .clone()
                        .unwrap_or_else(|| match &opnsense {
                            Some(_) => g.host_root.join(crate::paths::OPNSENSE_DEFGUARD_ACTION),
                            None => crate::paths::default_defguard_action().into(),
                        }),
                },
                opnsense,
            })
            .inspect_err(|e| log.error(&e.to_string()))?;
            Ok(0)
        }
    }
}

/// `auto` = native when carp(4) is there, else userspace; one log line says which and why. On
/// OPNsense only native: core programs carp(4), and a userspace speaker would be a second node.
fn choose_engine(
    g: &super::Global,
    asked: EngineChoice,
    opnsense: Option<&crate::host::Opnsense>,
    log: &Log,
) -> anyhow::Result<EngineChoice> {
    let carp_loaded = g.carp_loaded();
    if let Some(o) = opnsense {
        if asked == EngineChoice::Userspace {
            anyhow::bail!(
                "--engine userspace refused: {}",
                crate::host::userspace_refusal(o)
            );
        }
        log.info(&format!("engine: native ({} runs carp(4))", o.version));
        return Ok(EngineChoice::Native);
    }
    let chosen = match asked {
        EngineChoice::Auto if carp_loaded => {
            log.info("engine: native (carp(4) is loaded: net.inet.carp.allow exists)");
            EngineChoice::Native
        }
        EngineChoice::Auto => {
            log.info("engine: userspace (no carp(4) in this kernel)");
            EngineChoice::Userspace
        }
        EngineChoice::Native if !carp_loaded => {
            anyhow::bail!("--engine native: carp(4) is not available here (no net.inet.carp.allow)")
        }
        other => {
            log.info(&format!("engine: {other:?} (asked for)").to_lowercase());
            other
        }
    };
    Ok(chosen)
}

#[cfg(target_os = "linux")]
fn run_userspace(opts: Options, log: Log) -> anyhow::Result<u8> {
    crate::engine::run(opts, log.clone()).inspect_err(|e| log.error(&e.to_string()))?;
    Ok(0)
}

#[cfg(not(target_os = "linux"))]
fn run_userspace(_opts: Options, _log: Log) -> anyhow::Result<u8> {
    anyhow::bail!("the userspace engine runs on Linux only for now")
}

/// A config that cannot run, with every error listed.
fn refused(err: crate::config::LoadError) -> anyhow::Error {
    match err {
        crate::config::LoadError::Invalid { errors, .. } => {
            let lines: Vec<String> = errors.iter().map(|e| format!("  {e}")).collect();
            anyhow::anyhow!(
                "refusing to start, the configuration has errors (see `carpd check`):\n{}",
                lines.join("\n")
            )
        }
        other => anyhow::anyhow!("refusing to start: {other}"),
    }
}
