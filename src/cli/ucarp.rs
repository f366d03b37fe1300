//! `carpd ucarp [ucarp's options]`, and carpd run under the name `ucarp` (a symlink): ucarp's
//! command line in front of the userspace engine, so `/etc/network/interfaces` stanzas and the
//! up/down scripts written for ucarp keep working.
//!
//! The options and their short forms are ucarp 1.5's (UC `src/ucarp_p.h`, `src/ucarp.c`), with
//! getopt's habits: `-i eth0`, `-ieth0`, `--interface=eth0`, bundled flags (`-PzB`), unique
//! prefixes of long names (`--mcast` for `--mcastip`), the last of a repeated option wins, and
//! numbers as C's `strtoul(…, 0)` reads them (`0x10`, `010` = 8). Unlike ucarp, trailing junk
//! in a number, an unknown option or a missing value is an error, not a usage page.
//!
//! Options carpd cannot honour are refused by name with the reason (`--nomcast`, `--mcastip`
//! other than 224.0.0.18, `--deadratio` other than 3); everything else is honoured.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Parser};

use crate::config::{CarpGroup, IpPrefix, VipAddress, VipMode};
use crate::engine::ucarp::UcarpMode;
use crate::logging::Log;

/// ucarp's options (`ucarp --help`), and one of carpd's.
#[derive(Args, Debug, Default)]
pub struct UcarpArgs {
    /// Interface to run on
    #[arg(short = 'i', long, value_name = "IF")]
    pub interface: Option<String>,
    /// This host's own IPv4 address on that interface (adverts are sent from it)
    #[arg(short = 's', long, value_name = "IP")]
    pub srcip: Option<String>,
    /// Multicast group; only the default 224.0.0.18 is supported
    #[arg(short = 'm', long = "mcastip", value_name = "IP")]
    pub mcastip: Option<String>,
    /// Virtual host id, 1-255
    #[arg(short = 'v', long, value_name = "ID")]
    pub vhid: Option<String>,
    /// Password (visible in ps: prefer --passfile)
    #[arg(short = 'p', long, value_name = "PASS", allow_hyphen_values = true)]
    pub pass: Option<String>,
    /// Read the password from the first line of this file
    #[arg(short = 'o', long, value_name = "FILE")]
    pub passfile: Option<PathBuf>,
    /// Become master when hearing a less preferred (slower) master
    #[arg(short = 'P', long)]
    pub preempt: bool,
    /// Do not run the downscript at start when becoming backup
    #[arg(short = 'n', long)]
    pub neutral: bool,
    /// The virtual IPv4 address
    #[arg(short = 'a', long, value_name = "IP")]
    pub addr: Option<String>,
    /// Advertisement interval in seconds (1-254, default 1)
    #[arg(short = 'b', long, value_name = "SECONDS")]
    pub advbase: Option<String>,
    /// Advertisement skew (0-254, default 0): higher is less preferred
    #[arg(short = 'k', long, value_name = "SKEW")]
    pub advskew: Option<String>,
    /// Run FILE <interface> <addr> [<xparam>] on becoming master
    #[arg(short = 'u', long, value_name = "FILE")]
    pub upscript: Option<PathBuf>,
    /// Run FILE <interface> <addr> [<xparam>] on becoming backup
    #[arg(short = 'd', long, value_name = "FILE")]
    pub downscript: Option<PathBuf>,
    /// Master-down multiplier; only ucarp's default 3 is supported
    #[arg(short = 'r', long, value_name = "RATIO")]
    pub deadratio: Option<String>,
    /// Debug logging
    #[arg(short = 'D', long)]
    pub debug: bool,
    /// Run the downscript when a signal ends carpd (unless backup)
    #[arg(short = 'z', long)]
    pub shutdown: bool,
    /// Run in the background
    #[arg(short = 'B', long)]
    pub daemonize: bool,
    /// Ignore the interface state (down, no carrier)
    #[arg(short = 'S', long)]
    pub ignoreifstate: bool,
    /// Broadcast adverts (refused: see the README)
    #[arg(short = 'M', long)]
    pub nomcast: bool,
    /// Syslog facility (default daemon; none = no syslog)
    #[arg(short = 'f', long, value_name = "FACILITY")]
    pub facility: Option<String>,
    /// Extra argument for the up/down scripts
    #[arg(short = 'x', long, value_name = "VALUE", allow_hyphen_values = true)]
    pub xparam: Option<String>,
    /// carpd's own: seconds a script may run before it is killed with its process group
    #[arg(long, value_name = "SECONDS", default_value = "30", value_parser = parse_timeout)]
    pub script_timeout: Duration,
}

/// carpd run as `ucarp`: the same options, under ucarp's name.
#[derive(Parser, Debug)]
#[command(
    name = "ucarp",
    version,
    about = "carpd with ucarp's command line (one VHID; the up/down scripts own the address)",
    args_override_self = true,
    infer_long_args = true,
    arg_required_else_help = true
)]
struct AsUcarp {
    #[command(flatten)]
    args: UcarpArgs,
}

fn parse_timeout(s: &str) -> Result<Duration, String> {
    match s.parse::<f64>() {
        Ok(v) if (0.1..=86400.0).contains(&v) => Ok(Duration::from_secs_f64(v)),
        _ => Err(format!("not a number of seconds from 0.1 to 86400: {s}")),
    }
}

/// Whether this process was started under the name `ucarp` (a symlink to carpd).
pub fn invoked_as_ucarp() -> bool {
    std::env::args_os()
        .next()
        .as_deref()
        .and_then(|a| Path::new(a).file_name())
        .is_some_and(|n| n == "ucarp")
}

/// Entry point when run as `ucarp`. Exit codes as ucarp's: 1 for a bad command line or
/// setting, 2 when the engine fails.
pub fn main_as_ucarp() -> std::process::ExitCode {
    let args = match AsUcarp::try_parse() {
        Ok(a) => a.args,
        Err(e) => e.exit(),
    };
    let run_dir = env_path("CARPD_RUN_DIR", crate::paths::default_run_dir());
    let state_dir = env_path("CARPD_STATE_DIR", crate::paths::default_state_dir());
    match run(&run_dir, &state_dir, args) {
        Ok(code) => std::process::ExitCode::from(code),
        Err(e) => {
            eprintln!("ucarp (carpd): {e:#}");
            std::process::ExitCode::from(super::EXIT_FAILED)
        }
    }
}

fn env_path(var: &str, default: &str) -> PathBuf {
    std::env::var_os(var).map_or_else(|| PathBuf::from(default), PathBuf::from)
}

/// `carpd ucarp …`.
pub fn run_subcommand(g: &super::Global, a: UcarpArgs) -> anyhow::Result<u8> {
    run(&g.run_dir, &g.state_dir, a)
}

/// What the command line says, checked; and how to log.
struct Settings {
    mode: UcarpMode,
    daemonize: bool,
    debug: bool,
    /// `None` = `--facility none`.
    facility: Option<syslog::Facility>,
    script_timeout: Duration,
    warnings: Vec<String>,
}

fn run(run_dir: &Path, state_dir: &Path, a: UcarpArgs) -> anyhow::Result<u8> {
    let s = settings(a)?;
    for w in &s.warnings {
        eprintln!("ucarp (carpd): warning: {w}");
    }
    let name = format!("ucarp-{}", s.mode.group.name());
    // One directory per instance: ucarp users run one process per VIP, often on one interface.
    let paths = crate::paths::Paths {
        run_dir: run_dir.join(&name),
        state_dir: state_dir.join(&name),
        hooks_dir: PathBuf::new(),
    };
    if s.daemonize {
        nix::unistd::daemon(false, false).context("cannot run in the background")?;
    }
    let log = match (s.facility, s.daemonize) {
        (None, true) => Log::discard(),
        (None, false) => Log::stderr(s.debug),
        (Some(f), daemonized) => Log::syslog_as("ucarp", f, !daemonized, s.debug),
    };
    log.info(&format!(
        "carpd {} as ucarp: vhid {} on {}, address {}, source {}, advbase {}, advskew {}, preempt {}; control socket {}",
        env!("CARGO_PKG_VERSION"),
        s.mode.group.vhid,
        s.mode.group.device,
        s.mode.group.addresses[0].prefix.addr,
        s.mode.srcip,
        s.mode.group.advbase,
        s.mode.group.advskew,
        if s.mode.preempt { "on" } else { "off" },
        paths.control_socket().display()
    ));
    for w in &s.warnings {
        log.warn(w);
    }
    let opts = crate::engine::Options {
        source: crate::engine::Source::Ucarp(Box::new(s.mode)),
        paths,
        hooks: true,
        hook_timeout: s.script_timeout,
        tuning: crate::engine::group::Tuning {
            announce_count: 2,
            replay_guard: false,
        },
    };
    engine(opts, log)
}

#[cfg(target_os = "linux")]
fn engine(opts: crate::engine::Options, log: Log) -> anyhow::Result<u8> {
    crate::engine::run(opts, log.clone()).inspect_err(|e| log.error(&e.to_string()))?;
    Ok(0)
}

#[cfg(not(target_os = "linux"))]
fn engine(_opts: crate::engine::Options, _log: Log) -> anyhow::Result<u8> {
    bail!("carpd ucarp runs the userspace engine, which runs on Linux only for now")
}

/// A number as C's `strtoul(text, NULL, 0)` reads it (`0x` hex, leading `0` octal), but the
/// whole text must be the number.
fn c_number(text: &str) -> Option<u64> {
    let t = text.trim_start();
    let t = t.strip_prefix('+').unwrap_or(t);
    let (digits, radix) = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(hex) => (hex, 16),
        None if t.len() > 1 && t.starts_with('0') => (&t[1..], 8),
        None => (t, 10),
    };
    if digits.is_empty() || digits.starts_with(['+', '-']) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

fn ranged(flag: &str, text: &str, lo: u64, hi: u64, why: &str) -> anyhow::Result<u8> {
    match c_number(text) {
        Some(n) if (lo..=hi).contains(&n) => Ok(n as u8),
        Some(n) => bail!("{flag} {n} is out of range: {why}"),
        None => bail!("{flag} \"{text}\" is not a number"),
    }
}

fn ipv4(flag: &str, text: &str) -> anyhow::Result<Ipv4Addr> {
    text.parse()
        .map_err(|_| anyhow::anyhow!("{flag}: invalid address [{text}] (an IPv4 address)"))
}

/// ucarp's `--passfile`: the first line, its newline removed (ucarp reads it with `fgets`).
fn read_passfile(path: &Path) -> anyhow::Result<Vec<u8>> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("unable to open passfile {} for reading", path.display()))?;
    if bytes.is_empty() {
        bail!(
            "error reading passfile {}: unexpected end of file",
            path.display()
        );
    }
    let line = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
    Ok(line.to_vec())
}

fn settings(a: UcarpArgs) -> anyhow::Result<Settings> {
    let mut warnings = Vec::new();
    // What carpd cannot do, by name and why.
    if a.nomcast {
        bail!(
            "--nomcast (-M) is not supported: carpd sends its adverts through the kernel's IP stack to \
224.0.0.18's multicast MAC address and cannot send them as Ethernet broadcasts. Where the network \
drops multicast, use unicast CARP with a carpd config (carpd init … --peer ADDRESS) on both nodes"
        );
    }
    if let Some(m) = &a.mcastip {
        let group = ipv4("--mcastip", m)?;
        if group != crate::wire::ip::MCAST_V4 {
            bail!(
                "--mcastip {group} is not supported: carpd speaks CARP on 224.0.0.18 only, as \
FreeBSD's carp(4) does (for unicast adverts use a carpd config with --peer)"
            );
        }
    }
    if let Some(r) = &a.deadratio {
        match c_number(r) {
            Some(3) => {}
            Some(0) => bail!("--deadratio: dead ratio can't be zero"),
            Some(n) => bail!(
                "--deadratio {n} is not supported: carpd's master-down interval is FreeBSD's \
3 × advbase + advskew/256 s, so only ucarp's default ratio 3 can be honoured"
            ),
            None => bail!("--deadratio \"{r}\" is not a number"),
        }
    }

    let Some(interface) = a.interface.filter(|i| !i.is_empty()) else {
        bail!(
            "you must supply a network interface (--interface IF); carpd does not guess one as ucarp does with libpcap"
        );
    };
    if let Some(why) = crate::config::draft::device_name_problem(&interface) {
        bail!("--interface {interface}: not a device name: {why}");
    }
    let Some(vhid) = a.vhid else {
        bail!("you must supply a valid virtual host id (--vhid 1-255)");
    };
    let vhid = ranged("--vhid", &vhid, 1, 255, "vhid must be between 1 and 255")?;
    let password = match (a.pass, a.passfile) {
        (Some(_), Some(_)) => bail!("give --pass or --passfile, not both"),
        (Some(p), None) => {
            warnings.push(
                "the password given with --pass is visible to every local user (ps, /proc/PID/cmdline): prefer --passfile FILE"
                    .to_string(),
            );
            p.into_bytes()
        }
        (None, Some(f)) => read_passfile(&f)?,
        (None, None) => bail!("you must supply a password (--passfile FILE, or --pass)"),
    };
    let key = crate::config::key::ucarp_key(&password).map_err(|e| anyhow::anyhow!("{e}"))?;
    let advbase = match &a.advbase {
        Some(b) => ranged(
            "--advbase",
            b,
            1,
            254,
            "carpd takes 1 to 254 seconds, as carp(4) (advbase 255 with advskew 255 is the bow-out signal)",
        )?,
        None => 1,
    };
    let advskew = match &a.advskew {
        Some(k) => ranged(
            "--advskew",
            k,
            0,
            254,
            "carpd takes 0 to 254, as carp(4) (255 with advbase 255 is the bow-out signal)",
        )?,
        None => 0,
    };
    if advskew > 240 {
        warnings.push(format!(
            "--advskew {advskew}: adverts carry at most 240, as FreeBSD's carp(4) sends them (ucarp would send {advskew})"
        ));
    }
    let Some(srcip) = a.srcip else {
        bail!("you must supply a persistent source address (--srcip IP)");
    };
    let srcip = ipv4("--srcip", &srcip)?;
    let Some(addr_text) = a.addr else {
        bail!("you must supply a virtual host address (--addr IP)");
    };
    let addr = ipv4("--addr", &addr_text)?;
    if addr == srcip {
        bail!("--addr {addr} is --srcip too: the virtual address must be another address");
    }
    let facility = match a.facility.as_deref() {
        None => Some(syslog::Facility::LOG_DAEMON),
        Some(f) if f.eq_ignore_ascii_case("none") => None,
        Some(f) => Some(f.parse::<syslog::Facility>().map_err(|()| {
            anyhow::anyhow!(
                "unknown syslog facility: [{f}] (daemon, user, local0 … local7, auth, authpriv, cron, kern, lpr, mail, news, syslog, uucp, ftp, or none)"
            )
        })?),
    };
    // Scripts are found from the directory ucarp was started in, also once in the background.
    let script = |p: Option<PathBuf>, which: &str, warnings: &mut Vec<String>| {
        let Some(p) = p.filter(|p| !p.as_os_str().is_empty()) else {
            warnings.push(format!("no script called when going {which}"));
            return Ok(None);
        };
        let p =
            std::path::absolute(&p).with_context(|| format!("--{which}script {}", p.display()))?;
        use std::os::unix::fs::PermissionsExt;
        match std::fs::metadata(&p) {
            Ok(m) if m.is_file() && m.permissions().mode() & 0o111 != 0 => {}
            Ok(_) => warnings.push(format!(
                "{} is not an executable file: it will fail when going {which}",
                p.display()
            )),
            Err(e) => warnings.push(format!(
                "{}: {e}: it will fail when going {which}",
                p.display()
            )),
        }
        anyhow::Ok(Some(p))
    };
    let upscript = script(a.upscript, "up", &mut warnings)?;
    let downscript = script(a.downscript, "down", &mut warnings)?;
    let mut script_args = vec![interface.clone(), addr_text];
    script_args.extend(a.xparam);

    let group = CarpGroup {
        device: interface.clone(),
        interface_key: interface.clone(),
        interface_name: interface.clone(),
        vhid,
        advbase,
        advskew,
        key,
        addresses: vec![VipAddress {
            prefix: IpPrefix {
                addr: addr.into(),
                prefix: 32,
            },
            mode: VipMode::Carp,
            source: None,
            description: "ucarp --addr".to_string(),
        }],
        peer: None,
        peer6: None,
        description: String::new(),
        source_uuid: None,
        protocol: crate::config::Protocol::Carp,
    };
    Ok(Settings {
        mode: UcarpMode {
            group,
            preempt: a.preempt,
            srcip,
            upscript,
            downscript,
            script_args,
            neutral: a.neutral,
            shutdown_scripts: a.shutdown,
            ignore_link: a.ignoreifstate,
        },
        daemonize: a.daemonize,
        debug: a.debug,
        facility,
        script_timeout: a.script_timeout,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(argv: &[&str]) -> Result<UcarpArgs, clap::Error> {
        let mut full = vec!["ucarp"];
        full.extend_from_slice(argv);
        AsUcarp::try_parse_from(full).map(|a| a.args)
    }

    const BASE: &[&str] = &["-i", "eth0", "-s", "10.0.0.2", "-v", "3", "-a", "10.0.0.1"];

    fn with(extra: &[&str]) -> Vec<&'static str> {
        let mut v: Vec<&str> = BASE.to_vec();
        v.extend_from_slice(extra);
        v.into_iter()
            .map(|s| &*Box::leak(s.to_string().into_boxed_str()))
            .collect()
    }

    #[test]
    fn getopt_forms_parse() {
        let a = parse(&[
            "--interface=eth1",
            "-s10.0.0.2",
            "--vhid",
            "0x10",
            "-PnzB",
            "--pass=s3cret",
            "-a",
            "10.0.0.1",
            "--mcast=224.0.0.18",
            "-x",
            "-dash",
            "-i",
            "eth2",
        ])
        .unwrap();
        assert_eq!(a.interface.as_deref(), Some("eth2"), "the last -i wins");
        assert!(a.preempt && a.neutral && a.shutdown && a.daemonize);
        assert_eq!(a.xparam.as_deref(), Some("-dash"));
        let s = settings(a).unwrap();
        assert_eq!(s.mode.group.vhid, 16);
        assert_eq!(s.mode.script_args, ["eth2", "10.0.0.1", "-dash"]);
        assert_eq!(s.mode.group.key.0[..6], *b"s3cret");
        assert!(s.warnings.iter().any(|w| w.contains("visible")));
        assert!(
            s.warnings.iter().all(|w| !w.contains("s3cret")),
            "{:?}",
            s.warnings
        );
    }

    #[test]
    fn numbers_read_as_strtoul() {
        assert_eq!(c_number("10"), Some(10));
        assert_eq!(c_number("010"), Some(8));
        assert_eq!(c_number("0x1f"), Some(31));
        assert_eq!(c_number("0"), Some(0));
        assert_eq!(c_number("1abc"), None);
        assert_eq!(c_number("-1"), None);
        assert_eq!(c_number(""), None);
    }

    #[test]
    fn what_carpd_cannot_honour_is_refused_by_name() {
        let err = |extra: &[&str]| {
            let mut v = with(extra);
            v.extend(["-p", "x"]);
            match settings(parse(&v).unwrap()) {
                Ok(_) => panic!("{extra:?} accepted"),
                Err(e) => e.to_string(),
            }
        };
        assert!(err(&["-M"]).contains("--nomcast"));
        assert!(err(&["--mcastip", "239.1.1.1"]).contains("224.0.0.18 only"));
        assert!(err(&["-r", "4"]).contains("--deadratio 4"));
        assert!(err(&["-b", "0"]).contains("--advbase 0"));
        assert!(err(&["-k", "255"]).contains("--advskew 255"));
        assert!(err(&["-f", "bogus"]).contains("facility"));
        assert!(
            settings(parse(&with(&["-p", "x", "-r", "3"])).unwrap()).is_ok(),
            "deadratio 3 is ucarp's default"
        );
        let long = settings(parse(&with(&["-p", "abcdefghijklmnopqrst"])).unwrap())
            .err()
            .unwrap()
            .to_string();
        assert!(
            long.contains("20 bytes") && !long.contains("abcdefghij"),
            "{long}"
        );
        let missing = settings(parse(&["-i", "eth0", "-v", "1", "-p", "x"]).unwrap())
            .err()
            .unwrap()
            .to_string();
        assert!(missing.contains("--srcip"), "{missing}");
        assert!(parse(&with(&["--bogus"])).is_err());
    }
}
