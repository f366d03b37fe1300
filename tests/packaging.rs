//! Packaging checks, run on Linux: the shell and PHP files parse and pass shellcheck, the
//! configd actions name real carpd commands (run through configd's own quoting), the port's
//! pkg-plist matches what its install steps stage, Makefile.crates matches Cargo.lock, and the
//! transition actions do exactly the right calls - and none for forged arguments - against
//! recording stand-ins for ifconfig, service and logger.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use clap::Parser;

const CARPD: &str = env!("CARGO_BIN_EXE_carpd");

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    let p = root().join(rel);
    fs::read_to_string(&p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()))
}

/// A tool the packaging checks cannot do without. Missing means a broken test machine, never a
/// reason to pass: scripts/install-deps installs both.
fn require_tool(tool: &str, package: &str) {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !found {
        let ci = if std::env::var_os("CI").is_some() {
            " (CI is set: the CI image must provide it)"
        } else {
            ""
        };
        panic!(
            "`{tool}` is not installed{ci}; run `sudo scripts/install-deps` (Debian package {package})"
        );
    }
}

/// A temporary directory removed on drop, even when the test fails.
struct TempDir(PathBuf);
impl TempDir {
    fn new(tag: &str) -> TempDir {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let p = std::env::temp_dir().join(format!(
            "carpd-packaging-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    fn path(&self) -> &Path {
        &self.0
    }
}
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn write_exec(path: &Path, body: &str) {
    fs::write(path, body).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

fn show(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

// ---------------------------------------------------------------------------------------
// shell and PHP syntax

/// Every POSIX sh file we ship: the rc.d script (and its port copy), the actions, the plugin's
/// hook and the packaging scripts the port runs.
const SHELL_FILES: &[&str] = &[
    "rc.d/carpd",
    "port/files/carpd.in",
    "actions/defguard-gateway",
    "actions/follow-vhid",
    "actions/log-transition",
    "actions/TEMPLATE",
    "plugin/net/carpd/src/etc/rc.syshook.d/carp/50-defguard-gateway",
    "plugin/net/carpd/src/etc/rc.syshook.d/carp/50-follow-vhid",
    "plugin/net/carpd/src/etc/rc.syshook.d/carp/50-carpd",
    "plugin/net/carpd/src/opnsense/scripts/OPNsense/Carpd/sync",
    "scripts/stage-install",
    "scripts/gen-cargo-crates",
    "scripts/build-deb",
    "debian/postinst",
    "debian/prerm",
    "debian/postrm",
];

#[test]
fn shell_files_parse_and_pass_shellcheck() {
    require_tool("shellcheck", "shellcheck");
    for rel in SHELL_FILES {
        let path = root().join(rel);
        let o = Command::new("sh").arg("-n").arg(&path).output().unwrap();
        assert!(o.status.success(), "sh -n {rel}:\n{}", show(&o));
        let o = Command::new("shellcheck")
            .args(["-s", "sh", "-S", "style"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(o.status.success(), "shellcheck {rel}:\n{}", show(&o));
        assert!(
            read(rel).starts_with("#!/bin/sh\n"),
            "{rel} must start with #!/bin/sh (FreeBSD has no bash in base)"
        );
    }
    for rel in [
        "rc.d/carpd",
        "actions/defguard-gateway",
        "actions/follow-vhid",
        "actions/log-transition",
        "actions/TEMPLATE",
        "plugin/net/carpd/src/etc/rc.syshook.d/carp/50-defguard-gateway",
        "plugin/net/carpd/src/etc/rc.syshook.d/carp/50-follow-vhid",
        "plugin/net/carpd/src/etc/rc.syshook.d/carp/50-carpd",
        "plugin/net/carpd/src/opnsense/scripts/OPNsense/Carpd/sync",
        "scripts/stage-install",
        "scripts/gen-cargo-crates",
    ] {
        let mode = fs::metadata(root().join(rel)).unwrap().permissions().mode();
        assert!(
            mode & 0o111 != 0,
            "{rel} must be executable (rc.syshook starts hooks directly)"
        );
    }
}

/// The plugin's hook is a copy of actions/defguard-gateway (the plugin framework copies src/
/// verbatim; a symlink out of the plugin tree would not survive it).
#[test]
fn plugin_hook_is_the_shipped_action() {
    assert_eq!(
        read("plugin/net/carpd/src/etc/rc.syshook.d/carp/50-defguard-gateway"),
        read("actions/defguard-gateway"),
        "run: cp actions/defguard-gateway plugin/net/carpd/src/etc/rc.syshook.d/carp/50-defguard-gateway"
    );
    assert_eq!(
        read("plugin/net/carpd/src/etc/rc.syshook.d/carp/50-follow-vhid"),
        read("actions/follow-vhid"),
        "run: cp actions/follow-vhid plugin/net/carpd/src/etc/rc.syshook.d/carp/50-follow-vhid"
    );
    assert_eq!(
        read("port/files/carpd.in"),
        read("rc.d/carpd"),
        "run: cp rc.d/carpd port/files/carpd.in"
    );
}

const PLUGIN_INC: &str = "plugin/net/carpd/src/etc/inc/plugins.inc.d/carpd.inc";

/// `[section]` → `command` of one of the plugin's actions files (configd's own runner is
/// exercised on them in kernel-model/tests/opnsense_plugin.rs).
fn action_commands(file: &str) -> BTreeMap<String, String> {
    let text = read(&format!(
        "plugin/net/carpd/src/opnsense/service/conf/actions.d/{file}"
    ));
    let mut out = BTreeMap::new();
    let mut section = None;
    for line in text.lines().map(str::trim) {
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = Some(name.to_string());
        } else if let (Some(s), Some(cmd)) = (&section, line.strip_prefix("command:")) {
            out.insert(s.clone(), cmd.to_string());
        }
    }
    out
}

#[test]
fn plugin_inc_lints_and_registers_service_syslog_and_sync() {
    require_tool("php", "php-cli");
    let o = Command::new("php")
        .arg("-l")
        .arg(root().join(PLUGIN_INC))
        .output()
        .unwrap();
    assert!(o.status.success(), "php -l {PLUGIN_INC}:\n{}", show(&o));
    let inc = read(PLUGIN_INC);
    assert!(
        inc.contains("Redistribution and use in source and binary forms"),
        "{PLUGIN_INC} carries the BSD-2 licence header"
    );

    // Run the hooks with core's config_read_array replaced by one over a fixed config that,
    // like core's, vivifies nothing when its last argument is false.
    let run = |config: &str| -> serde_json::Value {
        let script = format!(
            r#"if (!function_exists('gettext')) {{ function gettext($s) {{ return $s; }} }}
$config = {config};
$vivified = false;
function &config_read_array(...$keys) {{
    global $config, $vivified;
    $insert = true;
    if (is_bool(end($keys))) {{ $insert = array_pop($keys); }}
    $cur = &$config;
    foreach ($keys as $k) {{
        if (!isset($cur[$k]) || !is_array($cur[$k])) {{
            if (!$insert) {{ $none = []; return $none; }}
            $vivified = true;
            $cur[$k] = [];
        }}
        $cur = &$cur[$k];
    }}
    return $cur;
}}
require '{inc}';
echo json_encode(['services' => carpd_services(), 'syslog' => carpd_syslog(),
    'sync' => carpd_xmlrpc_sync(), 'vivified' => $vivified]);"#,
            inc = root().join(PLUGIN_INC).display()
        );
        let o = Command::new("php").arg("-r").arg(&script).output().unwrap();
        assert!(o.status.success(), "php:\n{}", show(&o));
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", show(&o)))
    };
    let carp = "['virtualip' => ['vip' => [['mode' => 'ipalias', 'subnet' => '192.0.2.9'], ['mode' => 'carp', 'vhid' => '1']]]]";
    let with = run(carp);
    assert_eq!(
        with["vivified"], false,
        "reads must not create config paths"
    );
    let svc = &with["services"][0];
    assert_eq!(svc["name"], "carpd");
    assert_eq!(svc["pidfile"], "/var/run/carpd/supervisor.pid");
    assert!(
        read("rc.d/carpd").contains("pidfile=/var/run/carpd/supervisor.pid"),
        "the dashboard reads the pidfile the rc.d script writes"
    );
    let actions = action_commands("actions_carpd.conf");
    for verb in ["start", "stop", "restart"] {
        let call = svc["configd"][verb][0].as_str().unwrap();
        let section = call
            .strip_prefix("carpd ")
            .unwrap_or_else(|| panic!("configd {verb} must be a `carpd` action: {call}"));
        assert_eq!(
            actions.get(section).map(String::as_str),
            Some(format!("/usr/local/etc/rc.d/carpd {verb}").as_str()),
            "carpd.inc uses `configctl {call}`"
        );
    }
    assert_eq!(
        with["syslog"]["carpd"]["facility"],
        serde_json::json!(["carpd", "carpd-hook", "carpd-follow"])
    );
    assert_eq!(with["sync"][0]["section"], "OPNsense.carpd");
    let without =
        run("['virtualip' => ['vip' => [['mode' => 'ipalias', 'subnet' => '192.0.2.9']]]]");
    assert_eq!(without["services"], serde_json::json!([]));
    let disabled = run(&format!(
        "array_merge({carp}, ['OPNsense' => ['carpd' => ['general' => ['enabled' => '0']]]])"
    ));
    assert_eq!(disabled["services"], serde_json::json!([]));
    assert_eq!(run("[]")["vivified"], false);
}

// ---------------------------------------------------------------------------------------
// port

#[test]
fn port_and_plugin_makefiles_have_what_the_frameworks_need() {
    let port = read("port/Makefile");
    for needed in [
        "PORTNAME=\tcarpd",
        "USES=\t\tcargo",
        "USE_RC_SUBR=\tcarpd",
        "scripts/stage-install",
        ".include <bsd.port.mk>",
    ] {
        assert!(port.contains(needed), "port/Makefile lacks `{needed}`");
    }
    let version = env!("CARGO_PKG_VERSION");
    assert!(
        port.contains(&format!("DISTVERSION=\t{version}\n")),
        "port DISTVERSION must be the crate version {version}"
    );
    let plugin = read("plugin/net/carpd/Makefile");
    for needed in [
        "PLUGIN_NAME=\t\tcarpd",
        "PLUGIN_VERSION=",
        "PLUGIN_COMMENT=",
        "PLUGIN_DEPENDS=\t\tcarpd",
        "PLUGIN_MAINTAINER=",
        "PLUGIN_WWW=",
        "PLUGIN_LICENSE=\t\tBSD2CLAUSE",
        ".include \"../../Mk/plugins.mk\"",
    ] {
        assert!(plugin.contains(needed), "plugin Makefile lacks `{needed}`");
    }
    for needed in [
        "LICENSE=\tBSD2CLAUSE",
        "LICENSE_FILE=\t${WRKSRC}/LICENSE",
        "${STRIP_CMD} ${STAGEDIR}${PREFIX}/bin/carpd",
    ] {
        assert!(port.contains(needed), "port/Makefile lacks `{needed}`");
    }
    assert_eq!(read("LICENSE"), read("plugin/net/carpd/LICENSE"));
    assert!(read("LICENSE").starts_with("BSD 2-Clause License"));
    assert!(read("Cargo.toml").contains("license = \"BSD-2-Clause\""));
    // The rc.d script finds carpd where the port installed it (USE_RC_SUBR fills %%PREFIX%%).
    assert!(read("port/files/carpd.in").contains("carpd_bin=%%PREFIX%%/bin/carpd"));
    assert!(!read("plugin/net/carpd/pkg-descr").trim().is_empty());
    assert!(!read("port/pkg-descr").trim().is_empty());
    assert_eq!(
        read("plugin/net/carpd/src/opnsense/service/templates/OPNsense/Carpd/+TARGETS").trim(),
        "rc.conf.d:/etc/rc.conf.d/carpd\n\
         defguard-gateway.conf:/usr/local/etc/carpd/defguard-gateway.conf"
    );
}

/// `name-version` of every crates.io package in Cargo.lock, read independently of
/// scripts/gen-cargo-crates.
fn lock_crates() -> Vec<String> {
    let lock = read("Cargo.lock");
    let mut out = Vec::new();
    for block in lock.split("[[package]]").skip(1) {
        let field = |k: &str| {
            block.lines().find_map(|l| {
                l.strip_prefix(&format!("{k} = \""))
                    .and_then(|v| v.strip_suffix('"'))
                    .map(str::to_string)
            })
        };
        if let Some(source) = field("source") {
            assert!(
                source.starts_with("registry+"),
                "git/path dependency {source}: Makefile.crates needs the name@git+URL form"
            );
            out.push(format!(
                "{}-{}",
                field("name").unwrap(),
                field("version").unwrap()
            ));
        }
    }
    out
}

#[test]
fn makefile_crates_match_cargo_lock() {
    let text = read("port/Makefile.crates");
    let body = text
        .strip_prefix("CARGO_CRATES=")
        .expect("port/Makefile.crates must start with CARGO_CRATES=");
    let listed: Vec<String> = body
        .split_whitespace()
        .filter(|w| *w != "\\")
        .map(str::to_string)
        .collect();
    let want = lock_crates();
    let (l, w): (BTreeSet<_>, BTreeSet<_>) = (listed.iter().collect(), want.iter().collect());
    assert_eq!(
        listed,
        want,
        "port/Makefile.crates disagrees with Cargo.lock (missing: {:?}, stale: {:?}); \
         run: scripts/gen-cargo-crates > port/Makefile.crates",
        w.difference(&l).collect::<Vec<_>>(),
        l.difference(&w).collect::<Vec<_>>()
    );
    let o = Command::new(root().join("scripts/gen-cargo-crates"))
        .arg("--check")
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "gen-cargo-crates --check:\n{}",
        show(&o)
    );
}

/// pkg-plist after the ports framework's substitutions: %%DATADIR%%, %%ETCDIR%%, and
/// `@sample file.sample` (the package carries the .sample file).
fn plist_entries() -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in read("port/pkg-plist").lines().map(str::trim) {
        if line.is_empty() {
            continue;
        }
        let entry = if let Some(rest) = line.strip_prefix("@sample ") {
            rest.split_whitespace().next().unwrap().to_string()
        } else if line.starts_with("@dir ") {
            // Kept even when empty (the followers' directory); not a file.
            continue;
        } else if line.starts_with('@') {
            panic!("pkg-plist keyword the test does not know: {line}");
        } else {
            line.to_string()
        };
        let entry = entry
            .replace("%%DATADIR%%", "share/carpd")
            .replace("%%ETCDIR%%", "etc/carpd");
        assert!(out.insert(entry.clone()), "pkg-plist lists {entry} twice");
    }
    out
}

fn walk(dir: &Path, base: &Path, out: &mut BTreeMap<String, u32>) {
    for e in fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let p = e.path();
        if e.file_type().unwrap().is_dir() {
            walk(&p, base, out);
        } else {
            let rel = p.strip_prefix(base).unwrap().to_string_lossy().into_owned();
            out.insert(rel, e.metadata().unwrap().permissions().mode() & 0o7777);
        }
    }
}

#[test]
fn pkg_plist_equals_staged_install() {
    let stage = TempDir::new("stage");
    let o = Command::new("sh")
        .arg(root().join("scripts/stage-install"))
        .env("DESTDIR", stage.path())
        .env("PREFIX", "/usr/local")
        .env("CARPD", CARPD)
        .output()
        .unwrap();
    assert!(o.status.success(), "stage-install:\n{}", show(&o));
    let prefix = stage.path().join("usr/local");
    let mut staged = BTreeMap::new();
    walk(&prefix, &prefix, &mut staged);

    // What the ports framework adds around post-install: cargo installs bin/carpd and the
    // plist must list it; compress-man gzips man pages; USE_RC_SUBR installs etc/rc.d/carpd
    // and adds it to the plist itself, so pkg-plist must not list it.
    let mut expected: BTreeSet<String> = staged
        .keys()
        .map(|f| {
            if f.starts_with("share/man/") {
                format!("{f}.gz")
            } else {
                f.clone()
            }
        })
        .collect();
    expected.insert("bin/carpd".into());
    let plist = plist_entries();
    assert!(
        !plist.contains("etc/rc.d/carpd"),
        "USE_RC_SUBR adds etc/rc.d/carpd to the plist; listing it too is a duplicate"
    );
    assert_eq!(
        plist,
        expected,
        "pkg-plist vs staged install (only in plist: {:?}; only staged: {:?})",
        plist.difference(&expected).collect::<Vec<_>>(),
        expected.difference(&plist).collect::<Vec<_>>()
    );

    // The staged files are the real thing: actions executable, man page roff, completions.
    for hook in ["defguard-gateway", "follow-vhid", "log-transition"] {
        let mode = staged[&format!("share/carpd/hooks/{hook}")];
        assert_eq!(mode & 0o555, 0o555, "{hook} mode {mode:o}");
        assert_eq!(
            fs::read(prefix.join("share/carpd/hooks").join(hook)).unwrap(),
            fs::read(root().join("actions").join(hook)).unwrap()
        );
    }
    let man = fs::read_to_string(prefix.join("share/man/man8/carpd.8")).unwrap();
    assert!(
        man.starts_with(".ie") || man.contains(".TH carpd 8"),
        "not roff: {man:.200}"
    );
    for sub in [
        "maintenance",
        "demote",
        "hooks replay",
        "FILES",
        "EXIT STATUS",
    ] {
        assert!(man.contains(sub), "carpd.8 does not mention {sub}");
    }
    let bash = fs::read_to_string(prefix.join("share/bash-completion/completions/carpd")).unwrap();
    assert!(bash.contains("complete") && bash.contains("maintenance"));
    let zsh = fs::read_to_string(prefix.join("share/zsh/site-functions/_carpd")).unwrap();
    assert!(zsh.starts_with("#compdef carpd"));
    let fish =
        fs::read_to_string(prefix.join("share/fish/vendor_completions.d/carpd.fish")).unwrap();
    assert!(fish.contains("complete -c carpd"));
}

// ---------------------------------------------------------------------------------------
// transition actions against recording stand-ins

/// A PATH with stand-ins for ifconfig, service and logger (and Linux's ip and systemctl) that
/// append one line per call (`name<TAB>arg<TAB>arg...`) to a record file. Their exit codes
/// come from the environment: STANDIN_IF_EXISTS for `ifconfig <if>` (`ip -o link show dev
/// <if>`) alone, STANDIN_IFCONFIG_RC for changes, STANDIN_RUNNING for `service <name>
/// status|onestatus` (`systemctl is-active`). With STANDIN_IF_FLAGS set, the interface query
/// prints those flags the way ifconfig and ip do (`<UP,RUNNING>`).
struct Bench {
    dir: TempDir,
}

impl Bench {
    fn new() -> Bench {
        let dir = TempDir::new("actions");
        let bin = dir.path().join("bin");
        fs::create_dir(&bin).unwrap();
        let record = dir.path().join("record");
        let flags = "[ -z \"${STANDIN_IF_FLAGS:-}\" ] || echo \"x0: flags=8843<$STANDIN_IF_FLAGS> mtu 1500\"; ";
        let rec = format!(
            "{{ printf '%s' \"${{0##*/}}\"; for a in \"$@\"; do printf '\\t%s' \"$a\"; done; printf '\\n'; }} >> '{}'\n",
            record.display()
        );
        write_exec(
            &bin.join("ifconfig"),
            &format!(
                "#!/bin/sh\n{rec}if [ \"$#\" -eq 1 ]; then {flags}exit \"${{STANDIN_IF_EXISTS:-0}}\"; fi\nexit \"${{STANDIN_IFCONFIG_RC:-0}}\"\n"
            ),
        );
        write_exec(
            &bin.join("ip"),
            &format!(
                "#!/bin/sh\n{rec}if [ \"$1 $2 $3\" = '-o link show' ]; then {flags}exit \"${{STANDIN_IF_EXISTS:-0}}\"; fi\nexit \"${{STANDIN_IFCONFIG_RC:-0}}\"\n"
            ),
        );
        write_exec(
            &bin.join("systemctl"),
            &format!(
                "#!/bin/sh\n{rec}if [ \"$1\" = is-active ]; then exit \"${{STANDIN_RUNNING:-1}}\"; fi\nexit \"${{STANDIN_SERVICE_RC:-0}}\"\n"
            ),
        );
        write_exec(
            &bin.join("service"),
            &format!(
                "#!/bin/sh\n{rec}case $2 in status | onestatus) exit \"${{STANDIN_RUNNING:-1}}\" ;; esac\nexit \"${{STANDIN_SERVICE_RC:-0}}\"\n"
            ),
        );
        write_exec(&bin.join("logger"), &format!("#!/bin/sh\n{rec}exit 0\n"));
        Bench { dir }
    }

    fn conf(&self, text: &str) -> PathBuf {
        let p = self.dir.path().join("defguard-gateway.conf");
        fs::write(&p, text).unwrap();
        p
    }

    /// Writes one follower file of follow-vhid (the follow.d directory is created on demand).
    fn follower(&self, name: &str, text: &str) -> PathBuf {
        let dir = self.dir.path().join("follow.d");
        fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        fs::write(&p, text).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o644)).unwrap();
        p
    }

    /// Removes every follower file.
    fn no_followers(&self) {
        let _ = fs::remove_dir_all(self.dir.path().join("follow.d"));
    }

    /// A recording `carpd` on PATH: `show --vip $FAKE_VIP_UUID` prints $FAKE_VIP_GROUP (any
    /// other uuid: exit 1); `is-master` exits $FAKE_IS_MASTER_RC and, with `--all`, prints
    /// $FAKE_ALL (`<vhid>@<dev> <STATE>` lines, as `--verbose` does).
    fn fake_carpd(&self) {
        let record = self.dir.path().join("record");
        write_exec(
            &self.dir.path().join("bin/carpd"),
            &format!(
                r#"#!/bin/sh
{{ printf '%s' "${{0##*/}}"; for a in "$@"; do printf '	%s' "$a"; done; printf '
'; }} >> '{}'
case $1 in
show) [ "$3" = "${{FAKE_VIP_UUID:-}}" ] || exit 1; echo "$FAKE_VIP_GROUP" ;;
is-master)
	[ "$2" != --all ] || printf '%b' "${{FAKE_ALL:-}}"
	exit "${{FAKE_IS_MASTER_RC:-0}}" ;;
*) exit 64 ;;
esac
"#,
                record.display()
            ),
        );
    }

    /// Runs follow-vhid as on FreeBSD (service, ifconfig) unless `env` says otherwise.
    fn follow(&self, args: &[&str], env: &[(&str, &str)]) -> (Output, Vec<String>) {
        let mut all = vec![("CARPD_FOLLOW_OS", "FreeBSD")];
        all.extend_from_slice(env);
        self.run("follow-vhid", args, &all)
    }

    /// Runs an action; returns its output and the calls recorded, then clears the record.
    fn run(&self, action: &str, args: &[&str], env: &[(&str, &str)]) -> (Output, Vec<String>) {
        let record = self.dir.path().join("record");
        let _ = fs::remove_file(&record);
        let mut cmd = Command::new(root().join("actions").join(action));
        cmd.args(args)
            .env_clear()
            .env(
                "PATH",
                format!("{}:/usr/bin:/bin", self.dir.path().join("bin").display()),
            )
            .env(
                "CARPD_DEFGUARD_CONF",
                self.dir.path().join("defguard-gateway.conf"),
            )
            .env("CARPD_FOLLOW_DIR", self.dir.path().join("follow.d"));
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        let calls = fs::read_to_string(&record)
            .map(|s| s.lines().map(|l| l.replace('\t', " ")).collect())
            .unwrap_or_default();
        (out, calls)
    }
}

const ACTIONS: &[&str] = &[
    "log-transition",
    "defguard-gateway",
    "follow-vhid",
    "TEMPLATE",
];

#[test]
fn actions_refuse_forged_arguments_and_call_nothing() {
    let bench = Bench::new();
    // A configuration that would act on VHID 1, so only the argument checks stand between a
    // forged event and the stand-ins.
    bench.conf("vhid=1\n");
    bench.follower("any.conf", "vhid=1\nservice=web\ninterface=wg0\n");
    let marker = bench.dir.path().join("pwned");
    let inject = format!("1@vtnet0$(touch {})", marker.display());
    let bad: Vec<Vec<&str>> = vec![
        vec!["1@vtnet0;rm", "MASTER"],
        vec!["1@vtnet0", "MASTERX"],
        vec!["0@x", "MASTER"],
        vec!["256@x", "MASTER"],
        vec!["1000@x", "MASTER"],
        vec!["01@x", "MASTER"],
        vec!["@vtnet0", "MASTER"],
        vec!["1@", "MASTER"],
        vec!["1", "MASTER"],
        vec!["1@VTNET0", "MASTER"],
        vec!["1@vtnet0 x", "MASTER"],
        vec!["1@vtnet0@x", "MASTER"],
        vec!["1@averyveryverylongname0", "MASTER"],
        vec!["1@vtnet0", "master"],
        vec!["1@vtnet0", ""],
        vec!["", ""],
        vec![""],
        vec![],
        vec!["1@vtnet0"],
        vec!["1@vtnet0", "MASTER", "extra"],
        vec![inject.as_str(), "MASTER"],
    ];
    for action in ACTIONS {
        for args in &bad {
            let (out, calls) = bench.run(action, args, &[]);
            assert!(
                !out.status.success(),
                "{action} {args:?} accepted:\n{}",
                show(&out)
            );
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(
                err.contains("expected: <vhid 1-255>@<ifname> MASTER|BACKUP|INIT"),
                "{action} {args:?}: refusal must say what is expected, got: {err}"
            );
            assert!(calls.is_empty(), "{action} {args:?} still called {calls:?}");
        }
    }
    assert!(!marker.exists(), "an argument was evaluated by the shell");
}

#[test]
fn log_transition_writes_one_syslog_line() {
    let bench = Bench::new();
    let (out, calls) = bench.run("log-transition", &["1@vtnet0", "MASTER"], &[]);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(
        calls,
        ["logger -t carpd-hook -p daemon.notice -- carp: 1@vtnet0: -> MASTER"]
    );
    let (out, calls) = bench.run(
        "log-transition",
        &["255@vlan0.10", "BACKUP"],
        &[
            ("CARP_PREVIOUS_STATE", "MASTER"),
            ("CARP_REASON", "more frequent advertisement received\u{7}"),
        ],
    );
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(
        calls,
        [
            "logger -t carpd-hook -p daemon.notice -- carp: 255@vlan0.10: MASTER -> BACKUP (more frequent advertisement received)"
        ]
    );
    // An unknown previous state is left out rather than logged.
    let (_, calls) = bench.run(
        "log-transition",
        &["2@igb1", "INIT"],
        &[("CARP_PREVIOUS_STATE", "BOGUS;x")],
    );
    assert_eq!(
        calls,
        ["logger -t carpd-hook -p daemon.notice -- carp: 2@igb1: -> INIT"]
    );
}

#[test]
fn template_runs_as_shipped() {
    let bench = Bench::new();
    let (out, calls) = bench.run(
        "TEMPLATE",
        &["1@vtnet0", "MASTER"],
        &[
            ("CARP_PREVIOUS_STATE", "BACKUP"),
            ("CARP_ADDRESSES", "192.0.2.1 2001:db8::1"),
        ],
    );
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(
        calls,
        ["logger -t carpd-hook -- 1@vtnet0: BACKUP -> MASTER, now serving: 192.0.2.1 2001:db8::1"]
    );
    let (out, calls) = bench.run(
        "TEMPLATE",
        &["1@vtnet0", "BACKUP"],
        &[
            ("CARP_PREVIOUS_STATE", "MASTER"),
            ("CARP_REASON", "master timed out"),
        ],
    );
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(
        calls,
        ["logger -t carpd-hook -- 1@vtnet0: MASTER -> BACKUP (master timed out)"]
    );
    let (out, calls) = bench.run("TEMPLATE", &["2@vtnet0", "MASTER"], &[]);
    assert!(out.status.success() && calls.is_empty(), "{calls:?}");
}

fn changes(calls: &[String]) -> Vec<String> {
    calls
        .iter()
        .filter(|c| !c.starts_with("logger"))
        .cloned()
        .collect()
}

#[test]
fn defguard_gateway_link_mode_follows_the_role() {
    let bench = Bench::new();
    // Not configured: nothing at all.
    let (out, calls) = bench.run("defguard-gateway", &["3@vtnet0", "MASTER"], &[]);
    assert!(out.status.success() && calls.is_empty(), "{calls:?}");

    bench.conf("# Defguard public VIP\nvhid = 3\ninterface=\"wg7\"\n");
    let (out, calls) = bench.run("defguard-gateway", &["3@vtnet0", "MASTER"], &[]);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(changes(&calls), ["ifconfig wg7", "ifconfig wg7 up"]);
    assert!(
        calls.contains(
            &"logger -t carpd-hook -p daemon.notice -- defguard-gateway: 3@vtnet0 MASTER: wg7 up"
                .to_string()
        ),
        "{calls:?}"
    );
    for state in ["BACKUP", "INIT"] {
        let (out, calls) = bench.run("defguard-gateway", &["3@vtnet0", state], &[]);
        assert!(out.status.success(), "{}", show(&out));
        assert_eq!(
            changes(&calls),
            ["ifconfig wg7", "ifconfig wg7 down"],
            "{state}"
        );
    }
    // Other VHIDs are not ours.
    let (out, calls) = bench.run("defguard-gateway", &["4@vtnet0", "MASTER"], &[]);
    assert!(out.status.success() && calls.is_empty(), "{calls:?}");
    // An interface that is not there yet is already down, and comes up when the gateway
    // creates it (carpd runs the action again then): a logged wait, no error. One that exists
    // and will not come up is an error.
    for state in ["BACKUP", "MASTER"] {
        let (out, calls) = bench.run(
            "defguard-gateway",
            &["3@vtnet0", state],
            &[("STANDIN_IF_EXISTS", "1")],
        );
        assert!(out.status.success(), "{}", show(&out));
        assert_eq!(changes(&calls), ["ifconfig wg7"]);
        assert!(
            calls.iter().any(|c| c.contains("wg7 does not exist")),
            "{calls:?}"
        );
    }
    let (out, calls) = bench.run(
        "defguard-gateway",
        &["3@vtnet0", "MASTER"],
        &[("STANDIN_IFCONFIG_RC", "1")],
    );
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        calls
            .iter()
            .any(|c| c.contains("daemon.err") && c.contains("ifconfig wg7 up failed"))
    );

    // device= narrows to one interface's VHID.
    bench.conf("vhid=3\ndevice=vtnet1\n");
    let (_, calls) = bench.run("defguard-gateway", &["3@vtnet0", "MASTER"], &[]);
    assert!(calls.is_empty(), "{calls:?}");
    let (_, calls) = bench.run("defguard-gateway", &["3@vtnet1", "MASTER"], &[]);
    assert_eq!(changes(&calls), ["ifconfig wg0", "ifconfig wg0 up"]);

    // The gateway's own config names its interface; enabled=0 turns the action off.
    let toml = bench.dir.path().join("gateway.toml");
    fs::write(
        &toml,
        "# gateway\nifname = \"wg5\"\n[ipv4]\nifname = \"no\"\n",
    )
    .unwrap();
    bench.conf(&format!("vhid=3\ngateway_config={}\n", toml.display()));
    let (_, calls) = bench.run("defguard-gateway", &["3@vtnet0", "MASTER"], &[]);
    assert_eq!(changes(&calls), ["ifconfig wg5", "ifconfig wg5 up"]);
    bench.conf("enabled=0\nvhid=3\n");
    let (out, calls) = bench.run("defguard-gateway", &["3@vtnet0", "MASTER"], &[]);
    assert!(out.status.success() && calls.is_empty(), "{calls:?}");
}

#[test]
fn defguard_gateway_finds_its_vip_by_uuid() {
    let bench = Bench::new();
    // carpd itself says which VHID holds the VIP (`carpd show --vip`), from this config.xml.
    let config = root().join("tests/fixtures/config/opnsense-current.xml");
    let env = [("CARPD", CARPD), ("CARPD_CONFIG", config.to_str().unwrap())];
    bench.conf("vip=0b9d4c1e-3333-4c2a-9a55-000000000003\n");
    let (out, calls) = bench.run("defguard-gateway", &["1@vtnet0", "MASTER"], &env);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(changes(&calls), ["ifconfig wg0", "ifconfig wg0 up"]);
    // The same VHID number on another interface is another VIP.
    let (_, calls) = bench.run("defguard-gateway", &["1@vtnet1", "MASTER"], &env);
    assert!(calls.is_empty(), "{calls:?}");
    bench.conf("vip=0b9d4c1e-ffff-4c2a-9a55-00000000ffff\n");
    let (out, calls) = bench.run("defguard-gateway", &["1@vtnet0", "MASTER"], &env);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is no CARP VIP in config.xml"),
        "{}",
        show(&out)
    );
    assert!(changes(&calls).is_empty());
}

#[test]
fn defguard_gateway_service_and_restart_modes() {
    let bench = Bench::new();
    bench.conf("vhid=9\nmode=service\nservice=dg_test\n");
    let (out, calls) = bench.run("defguard-gateway", &["9@igb0", "MASTER"], &[]);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(
        changes(&calls),
        [
            "service dg_test status",
            "service dg_test start",
            "ifconfig wg0",
            "ifconfig wg0 up"
        ]
    );
    // Already running: not started twice.
    let (_, calls) = bench.run(
        "defguard-gateway",
        &["9@igb0", "MASTER"],
        &[("STANDIN_RUNNING", "0")],
    );
    assert_eq!(
        changes(&calls),
        ["service dg_test status", "ifconfig wg0", "ifconfig wg0 up"]
    );
    let (out, calls) = bench.run(
        "defguard-gateway",
        &["9@igb0", "BACKUP"],
        &[("STANDIN_RUNNING", "0")],
    );
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(
        changes(&calls),
        [
            "ifconfig wg0",
            "ifconfig wg0 down",
            "service dg_test status",
            "service dg_test stop"
        ]
    );

    bench.conf("vhid=9\nmode=restart\n");
    let (_, calls) = bench.run("defguard-gateway", &["9@igb0", "MASTER"], &[]);
    assert_eq!(
        changes(&calls),
        [
            "service defguard_gateway restart",
            "ifconfig wg0",
            "ifconfig wg0 up"
        ]
    );
    // restart mode keeps the gateway running on the backup.
    let (_, calls) = bench.run("defguard-gateway", &["9@igb0", "BACKUP"], &[]);
    assert_eq!(changes(&calls), ["ifconfig wg0", "ifconfig wg0 down"]);
}

#[test]
fn defguard_gateway_rejects_bad_settings_before_acting() {
    let bench = Bench::new();
    for (conf, complaint) in [
        (
            "vhid=9\nmode=bogus\n",
            "mode must be link, restart or service",
        ),
        ("vhid=9\ninterface=wg0;reboot\n", "interface must match"),
        ("vhid=9\nservice=a b/c\n", "service must match"),
        ("vhid=0\n", "vhid must be a number from 1 to 255"),
        ("vhid=9\ncolour=blue\n", "unknown setting 'colour'"),
        ("vhid 9\n", "is not key=value"),
        ("mode=link\n", "neither vip= nor vhid= is set"),
        ("vip=not/a uuid\n", "vip must be a uuid"),
        ("vhid=9\nenabled=yes\n", "enabled must be 0 or 1"),
        (
            "vhid=9\ngateway_config=relative.toml\n",
            "must be an absolute path",
        ),
    ] {
        bench.conf(conf);
        let (out, calls) = bench.run("defguard-gateway", &["9@igb0", "MASTER"], &[]);
        assert_eq!(out.status.code(), Some(1), "{conf:?}: {}", show(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(complaint), "{conf:?}: {err}");
        assert!(
            changes(&calls).is_empty(),
            "{conf:?} still acted: {calls:?}"
        );
    }
}

/// The syslog lines of a run (logger's message only).
fn logged(calls: &[String]) -> Vec<String> {
    calls
        .iter()
        .filter_map(|c| c.strip_prefix("logger -t carpd-follow -p "))
        .map(str::to_string)
        .collect()
}

#[test]
fn follow_vhid_refuses_forged_arguments_and_calls_nothing() {
    let bench = Bench::new();
    bench.fake_carpd();
    bench.follower("web.conf", "vhid=1\nservice=web\ninterface=wg0\n");
    for args in [
        vec!["--reassert", "x"],
        vec!["--reassert", "1@vtnet0", "MASTER"],
        vec!["--REASSERT"],
        vec!["--reassert="],
        vec!["-r"],
        vec!["1@vtnet0", "--reassert"],
    ] {
        let (out, calls) = bench.follow(&args, &[]);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", show(&out));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("or --reassert"),
            "{args:?}: {}",
            show(&out)
        );
        assert!(calls.is_empty(), "{args:?} still called {calls:?}");
    }
}

#[test]
fn follow_vhid_starts_on_master_and_stops_on_backup() {
    let bench = Bench::new();
    // Not configured (no directory, or no *.conf in it): nothing at all.
    let (out, calls) = bench.follow(&["3@vtnet0", "MASTER"], &[]);
    assert!(out.status.success() && calls.is_empty(), "{calls:?}");
    bench.follower("README", "not a follower\n");
    let (out, calls) = bench.follow(&["3@vtnet0", "MASTER"], &[]);
    assert!(out.status.success() && calls.is_empty(), "{calls:?}");

    bench.follower(
        "web.conf",
        "# the web proxy follows the WAN VIP\nvhid = 3\nservice=\"haproxy\"\ninterface=wg1\n",
    );
    let (out, calls) = bench.follow(&["3@vtnet0", "MASTER"], &[]);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(
        changes(&calls),
        [
            "ifconfig wg1",
            "ifconfig wg1 up",
            "service haproxy onestatus",
            "service haproxy onestart"
        ]
    );
    assert_eq!(
        logged(&calls),
        [
            "daemon.notice -- web: 3@vtnet0 MASTER: interface wg1 up",
            "daemon.notice -- web: 3@vtnet0 MASTER: service haproxy started"
        ]
    );
    for state in ["BACKUP", "INIT"] {
        let (out, calls) = bench.follow(
            &["3@vtnet0", state],
            &[("STANDIN_RUNNING", "0"), ("STANDIN_IF_FLAGS", "UP,RUNNING")],
        );
        assert!(out.status.success(), "{}", show(&out));
        assert_eq!(
            changes(&calls),
            [
                "service haproxy onestatus",
                "service haproxy onestop",
                "ifconfig wg1",
                "ifconfig wg1 down"
            ],
            "{state}"
        );
        assert_eq!(
            logged(&calls),
            [
                format!("daemon.notice -- web: 3@vtnet0 {state}: service haproxy stopped"),
                format!("daemon.notice -- web: 3@vtnet0 {state}: interface wg1 down")
            ]
        );
    }

    // Idempotent: the state already reached is only looked at, not applied again.
    let (out, calls) = bench.follow(
        &["3@vtnet0", "MASTER"],
        &[("STANDIN_RUNNING", "0"), ("STANDIN_IF_FLAGS", "UP,RUNNING")],
    );
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(calls, ["ifconfig wg1", "service haproxy onestatus"]);
    let (out, calls) = bench.follow(
        &["3@vtnet0", "BACKUP"],
        &[("STANDIN_IF_FLAGS", "BROADCAST,MULTICAST")],
    );
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(calls, ["service haproxy onestatus", "ifconfig wg1"]);

    // Other VHIDs, or the same number on another device when device= is set, are not ours.
    let (out, calls) = bench.follow(&["4@vtnet0", "MASTER"], &[]);
    assert!(out.status.success() && calls.is_empty(), "{calls:?}");
    bench.follower("web.conf", "vhid=3\ndevice=vtnet1\nservice=haproxy\n");
    let (out, calls) = bench.follow(&["3@vtnet0", "MASTER"], &[]);
    assert!(out.status.success() && calls.is_empty(), "{calls:?}");
    let (_, calls) = bench.follow(&["3@vtnet1", "MASTER"], &[]);
    assert_eq!(
        changes(&calls),
        ["service haproxy onestatus", "service haproxy onestart"]
    );

    // A failing start is an error, logged with what the service said.
    bench.follower("web.conf", "vhid=3\nservice=haproxy\n");
    let (out, calls) = bench.follow(&["3@vtnet0", "MASTER"], &[("STANDIN_SERVICE_RC", "1")]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        logged(&calls)
            .iter()
            .any(|l| l.starts_with("daemon.err") && l.contains("service haproxy start failed")),
        "{calls:?}"
    );
}

#[test]
fn follow_vhid_uses_systemctl_and_ip_on_linux() {
    let bench = Bench::new();
    bench.follower(
        "dns.conf",
        "vhid=7\nservice=unbound@main.service\ninterface=wg-vpn\n",
    );
    let linux = [("CARPD_FOLLOW_OS", "Linux")];
    let (out, calls) = bench.follow(&["7@eth0", "MASTER"], &linux);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(
        changes(&calls),
        [
            "ip -o link show dev wg-vpn",
            "ip link set dev wg-vpn up",
            "systemctl is-active --quiet unbound@main.service",
            "systemctl start unbound@main.service"
        ]
    );
    let (out, calls) = bench.follow(
        &["7@eth0", "BACKUP"],
        &[
            ("CARPD_FOLLOW_OS", "Linux"),
            ("STANDIN_RUNNING", "0"),
            ("STANDIN_IF_FLAGS", "POINTOPOINT,NOARP,UP,LOWER_UP"),
        ],
    );
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(
        changes(&calls),
        [
            "systemctl is-active --quiet unbound@main.service",
            "systemctl stop unbound@main.service",
            "ip -o link show dev wg-vpn",
            "ip link set dev wg-vpn down"
        ]
    );
    // Already down (LOWER_UP is no UP) and stopped: nothing to do.
    let (_, calls) = bench.follow(
        &["7@eth0", "BACKUP"],
        &[
            ("CARPD_FOLLOW_OS", "Linux"),
            ("STANDIN_IF_FLAGS", "POINTOPOINT,NOARP,LOWER_UP"),
        ],
    );
    assert_eq!(
        calls,
        [
            "systemctl is-active --quiet unbound@main.service",
            "ip -o link show dev wg-vpn"
        ]
    );
}

#[test]
fn follow_vhid_link_mode_and_a_missing_interface() {
    let bench = Bench::new();
    // Without service= only the interface follows.
    bench.follower("vpn.conf", "vhid=5\ninterface=wg0\n");
    let (out, calls) = bench.follow(&["5@igb0", "MASTER"], &[]);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(changes(&calls), ["ifconfig wg0", "ifconfig wg0 up"]);
    let (_, calls) = bench.follow(&["5@igb0", "BACKUP"], &[]);
    assert_eq!(changes(&calls), ["ifconfig wg0", "ifconfig wg0 down"]);

    // An interface that is not there is logged and skipped, the service still follows, and
    // it is no failure (the next transition or --reassert tries again).
    bench.follower("vpn.conf", "vhid=5\ninterface=wg0\nservice=openvpn\n");
    for (state, change) in [
        ("MASTER", "service openvpn onestart"),
        ("BACKUP", "service openvpn onestop"),
    ] {
        let running = if state == "MASTER" { "1" } else { "0" };
        let (out, calls) = bench.follow(
            &["5@igb0", state],
            &[("STANDIN_IF_EXISTS", "1"), ("STANDIN_RUNNING", running)],
        );
        assert!(out.status.success(), "{state}: {}", show(&out));
        assert!(changes(&calls).contains(&change.to_string()), "{calls:?}");
        assert!(
            !changes(&calls)
                .iter()
                .any(|c| c.starts_with("ifconfig wg0 ")),
            "{calls:?}"
        );
        assert!(
            logged(&calls).contains(&format!(
                "daemon.info -- vpn: 5@igb0 {state}: interface wg0 does not exist, skipped"
            )),
            "{calls:?}"
        );
    }
    // An interface that exists and refuses is an error.
    let (out, calls) = bench.follow(
        &["5@igb0", "MASTER"],
        &[("STANDIN_IFCONFIG_RC", "1"), ("STANDIN_RUNNING", "0")],
    );
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        logged(&calls)
            .iter()
            .any(|l| l.starts_with("daemon.err") && l.contains("interface wg0 up failed")),
        "{calls:?}"
    );
}

#[test]
fn follow_vhid_finds_its_vip_by_uuid() {
    let bench = Bench::new();
    // carpd itself says which VHID holds the VIP (`carpd show --vip`), from this config.xml.
    let config = root().join("tests/fixtures/config/opnsense-current.xml");
    let env = [("CARPD", CARPD), ("CARPD_CONFIG", config.to_str().unwrap())];
    bench.follower(
        "dg.conf",
        "vip=0b9d4c1e-3333-4c2a-9a55-000000000003\ninterface=wg0\n",
    );
    let (out, calls) = bench.follow(&["1@vtnet0", "MASTER"], &env);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(changes(&calls), ["ifconfig wg0", "ifconfig wg0 up"]);
    // The same VHID number on another interface is another VIP.
    let (out, calls) = bench.follow(&["1@vtnet1", "MASTER"], &env);
    assert!(out.status.success() && calls.is_empty(), "{calls:?}");
    bench.follower(
        "dg.conf",
        "vip=0b9d4c1e-ffff-4c2a-9a55-00000000ffff\ninterface=wg0\n",
    );
    let (out, calls) = bench.follow(&["1@vtnet0", "MASTER"], &env);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is no CARP VIP in config.xml"),
        "{}",
        show(&out)
    );
    assert!(changes(&calls).is_empty(), "{calls:?}");
}

#[test]
fn follow_vhid_reasserts_what_carpd_says() {
    let bench = Bench::new();
    bench.fake_carpd();
    // No followers: carpd is not even asked.
    let (out, calls) = bench.follow(&["--reassert"], &[]);
    assert!(out.status.success() && calls.is_empty(), "{calls:?}");

    bench.follower(
        "web.conf",
        "vhid=3\ndevice=vtnet0\nservice=haproxy\ninterface=wg1\n",
    );
    let (out, calls) = bench.follow(&["--reassert"], &[("FAKE_IS_MASTER_RC", "0")]);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(
        changes(&calls),
        [
            "carpd is-master 3@vtnet0",
            "ifconfig wg1",
            "ifconfig wg1 up",
            "service haproxy onestatus",
            "service haproxy onestart"
        ]
    );
    assert!(
        logged(&calls).contains(
            &"daemon.notice -- web: 3@vtnet0 MASTER (reassert): service haproxy started"
                .to_string()
        ),
        "{calls:?}"
    );
    let (out, calls) = bench.follow(
        &["--reassert"],
        &[
            ("FAKE_IS_MASTER_RC", "1"),
            ("STANDIN_RUNNING", "0"),
            ("STANDIN_IF_FLAGS", "UP"),
        ],
    );
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(
        changes(&calls),
        [
            "carpd is-master 3@vtnet0",
            "service haproxy onestatus",
            "service haproxy onestop",
            "ifconfig wg1",
            "ifconfig wg1 down"
        ]
    );
    // No daemon answers: nothing is done, and the action says so.
    let (out, calls) = bench.follow(&["--reassert"], &[("FAKE_IS_MASTER_RC", "3")]);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(changes(&calls), ["carpd is-master 3@vtnet0"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no carpd daemon answered"),
        "{}",
        show(&out)
    );
    assert!(
        logged(&calls)
            .iter()
            .any(|l| l.contains("no carpd daemon answered")),
        "{calls:?}"
    );
    // carpd has no such VHID: an error, nothing done.
    for rc in ["2", "70"] {
        let (out, calls) = bench.follow(&["--reassert"], &[("FAKE_IS_MASTER_RC", rc)]);
        assert_eq!(out.status.code(), Some(1), "{rc}: {}", show(&out));
        assert_eq!(changes(&calls), ["carpd is-master 3@vtnet0"], "{rc}");
        assert!(
            logged(&calls).iter().any(|l| l.starts_with("daemon.err")),
            "{calls:?}"
        );
    }

    // vhid= without device=: the one interface carpd has that VHID on.
    bench.no_followers();
    bench.follower("web.conf", "vhid=3\nservice=haproxy\n");
    let all = "1@vtnet0 MASTER\n3@vtnet2 BACKUP\n13@vtnet0 MASTER\n";
    let (out, calls) = bench.follow(
        &["--reassert"],
        &[
            ("FAKE_ALL", all),
            ("FAKE_IS_MASTER_RC", "1"),
            ("STANDIN_RUNNING", "0"),
        ],
    );
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(
        changes(&calls),
        [
            "carpd is-master --all --verbose",
            "service haproxy onestatus",
            "service haproxy onestop"
        ]
    );
    assert_eq!(
        logged(&calls),
        ["daemon.notice -- web: 3@vtnet2 BACKUP (reassert): service haproxy stopped"]
    );
    let (out, calls) = bench.follow(
        &["--reassert"],
        &[("FAKE_ALL", "3@vtnet0 MASTER\n3@vtnet1 BACKUP\n")],
    );
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert_eq!(changes(&calls), ["carpd is-master --all --verbose"]);
    assert!(
        logged(&calls).iter().any(|l| l.contains("set device=")),
        "{calls:?}"
    );
    let (out, calls) = bench.follow(
        &["--reassert"],
        &[("FAKE_ALL", ""), ("FAKE_IS_MASTER_RC", "3")],
    );
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(changes(&calls), ["carpd is-master --all --verbose"]);

    // vip=: carpd show finds the group, is-master its role.
    bench.follower(
        "web.conf",
        "vip=0b9d4c1e-2222-4c2a-9a55-000000000002\ninterface=wg1\n",
    );
    let (out, calls) = bench.follow(
        &["--reassert"],
        &[
            ("FAKE_VIP_UUID", "0b9d4c1e-2222-4c2a-9a55-000000000002"),
            ("FAKE_VIP_GROUP", "2@vtnet2"),
            ("FAKE_IS_MASTER_RC", "0"),
        ],
    );
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(
        changes(&calls),
        [
            "carpd show --vip 0b9d4c1e-2222-4c2a-9a55-000000000002",
            "carpd is-master 2@vtnet2",
            "ifconfig wg1",
            "ifconfig wg1 up"
        ]
    );
}

#[test]
fn follow_vhid_runs_every_follower_file_in_order() {
    let bench = Bench::new();
    bench.follower("20-web.conf", "vhid=3\nservice=nginx\n");
    bench.follower("10-db.conf", "vhid=3\nservice=postgresql\n");
    bench.follower("30-other.conf", "vhid=4\nservice=other\n");
    bench.follower("40-off.conf", "enabled=0\nvhid=3\nservice=off\n");
    // Ignored: not *.conf.
    bench.follower("50-parked.conf.disabled", "vhid=3\nservice=parked\n");
    let (out, calls) = bench.follow(&["3@vtnet0", "MASTER"], &[]);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(
        changes(&calls),
        [
            "service postgresql onestatus",
            "service postgresql onestart",
            "service nginx onestatus",
            "service nginx onestart"
        ]
    );
    assert_eq!(logged(&calls).len(), 2, "{calls:?}");
    // enabled=0 alone: nothing at all.
    bench.no_followers();
    bench.follower("off.conf", "# parked\nenabled=0\nvhid=3\nservice=off\n");
    let (out, calls) = bench.follow(&["3@vtnet0", "MASTER"], &[]);
    assert!(out.status.success() && calls.is_empty(), "{calls:?}");
    // The shipped sample is a working follower once copied to a *.conf name.
    bench.follower("sample.conf", &read("actions/follow-vhid.conf.sample"));
    let (out, calls) = bench.follow(&["1@vtnet0", "MASTER"], &[]);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(
        changes(&calls),
        ["service haproxy onestatus", "service haproxy onestart"]
    );
}

#[test]
fn follow_vhid_rejects_bad_settings_before_acting() {
    let bench = Bench::new();
    bench.fake_carpd();
    for (conf, complaint) in [
        (
            "vhid=9\nservice=a\nmode=bogus\n",
            "mode must be service or link",
        ),
        ("vhid=9\ninterface=wg0;reboot\n", "interface must match"),
        ("vhid=9\ninterface=-x\n", "interface must match"),
        ("vhid=9\nservice=a/b\n", "service must match"),
        ("vhid=9\nservice=-f\n", "service must match"),
        ("vhid=0\nservice=a\n", "vhid must be a number from 1 to 255"),
        (
            "vhid=256\nservice=a\n",
            "vhid must be a number from 1 to 255",
        ),
        ("vhid=9\ndevice=VTNET0\nservice=a\n", "device must match"),
        (
            "vhid=9\nservice=a\ncolour=blue\n",
            "unknown setting 'colour'",
        ),
        ("vhid 9\n", "is not key=value"),
        ("service=a\n", "neither vip= nor vhid= is set"),
        ("device=igb0\nservice=a\n", "neither vip= nor vhid= is set"),
        ("vip=not/a uuid\n", "vip must be a uuid"),
        ("vip=abc\nvhid=9\nservice=a\n", "drop vhid= and device="),
        ("vhid=9\nenabled=yes\n", "enabled must be 0 or 1"),
        ("vhid=9\n", "nothing to follow"),
        (
            "vhid=9\nmode=service\ninterface=wg0\n",
            "mode=service needs service=",
        ),
        (
            "vhid=9\nmode=link\nservice=a\ninterface=wg0\n",
            "mode=link leaves services alone",
        ),
        ("vhid=9\nservice=a\nservice=b\n", "service is set twice"),
        // Checked even while switched off.
        (
            "enabled=0\nvhid=9\nmode=restart\n",
            "mode must be service or link",
        ),
    ] {
        bench.follower("bad.conf", conf);
        for args in [&["9@igb0", "MASTER"][..], &["--reassert"]] {
            let (out, calls) = bench.follow(args, &[]);
            assert_eq!(out.status.code(), Some(1), "{conf:?}: {}", show(&out));
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(
                err.contains("bad.conf: ") && err.contains(complaint),
                "{conf:?}: {err}"
            );
            assert!(
                changes(&calls).is_empty(),
                "{conf:?} still acted: {calls:?}"
            );
            assert_eq!(logged(&calls).len(), 1, "{calls:?}");
            assert!(logged(&calls)[0].starts_with("daemon.err"), "{calls:?}");
        }
    }
    // A file anyone may write to could start anything as root: refused.
    let p = bench.follower("bad.conf", "vhid=9\nservice=a\n");
    fs::set_permissions(&p, fs::Permissions::from_mode(0o666)).unwrap();
    let (out, calls) = bench.follow(&["9@igb0", "MASTER"], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("anyone may write to it"));
    assert!(changes(&calls).is_empty(), "{calls:?}");
    // A follower that is no file is an error too, not silence.
    fs::remove_file(&p).unwrap();
    std::os::unix::fs::symlink(bench.dir.path().join("nowhere"), &p).unwrap();
    let (out, calls) = bench.follow(&["9@igb0", "MASTER"], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a readable file"));
    assert!(changes(&calls).is_empty(), "{calls:?}");
    fs::remove_file(&p).unwrap();
    // One bad file does not hold the others back, but the run fails.
    bench.follower("bad.conf", "vhid=9\nservice=a\nmode=bogus\n");
    bench.follower("good.conf", "vhid=9\nservice=good\n");
    let (out, calls) = bench.follow(&["9@igb0", "MASTER"], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert_eq!(
        changes(&calls),
        ["service good onestatus", "service good onestart"]
    );
}

/// Every shipped action is in the Debian package, from the source tree.
#[test]
fn deb_assets_ship_every_action() {
    let cargo = read("Cargo.toml");
    for action in [
        "defguard-gateway",
        "follow-vhid",
        "log-transition",
        "TEMPLATE",
    ] {
        assert!(
            cargo.contains(&format!(
                "[\"actions/{action}\", \"usr/share/carpd/hooks/\", "
            )),
            "Cargo.toml's deb assets lack actions/{action}"
        );
    }
    assert!(
        cargo.contains("[\"actions/follow-vhid.conf.sample\", \"etc/carpd/follow.d/\", \"644\"]"),
        "the deb ships follow.d with the follower sample in it"
    );
}

// ---------------------------------------------------------------------------------------
// rc.d script, under a small stand-in for rc.subr

/// Runs rc.d/carpd with `/etc/rc.subr` replaced by a stand-in that does what matters here the
/// way rc.subr does it: `${name}_flags` becomes rc_flags, start runs start_precmd and then
/// `eval $command $rc_flags $command_args`; other verbs run `${verb}_cmd`. The carpd binary
/// is a stand-in whose `check` passes or fails on demand; every program records its argv.
fn run_rc(verb: &str, check_ok: bool, rc_conf: &str) -> (Output, Vec<Vec<String>>) {
    let tmp = TempDir::new("rcd");
    let record = tmp.path().join("record");
    let rec = format!(
        "for a in \"${{0##*/}}\" \"$@\"; do printf '%s\\0' \"$a\"; done >> '{}'; printf '\\n' >> '{}'\n",
        record.display(),
        record.display()
    );
    let bin = tmp.path().join("bin");
    fs::create_dir(&bin).unwrap();
    write_exec(
        &bin.join("carpd"),
        &format!(
            "#!/bin/sh\n{rec}for a in \"$@\"; do [ \"$a\" = check ] && {{ echo 'config.xml:12: vhid 300 out of range' >&2; exit {}; }}; done\nexit 0\n",
            if check_ok { 0 } else { 1 }
        ),
    );
    write_exec(&bin.join("daemon"), &format!("#!/bin/sh\n{rec}exit 0\n"));
    write_exec(&bin.join("install"), &format!("#!/bin/sh\n{rec}exit 0\n"));
    let subr = tmp.path().join("rc.subr");
    fs::write(
        &subr,
        format!(
            r#"load_rc_config() {{ {rc_conf}; }}
check_pidfile() {{ :; }}
run_rc_command() {{
    eval "rc_flags=\$${{name}}_flags"
    case $1 in
    start)
        $start_precmd || return 1
        eval "$command $rc_flags $command_args" ;;
    *)
        eval "_cmd=\$${{1}}_cmd"
        [ -n "$_cmd" ] || {{ echo "unknown verb $1" >&2; return 1; }}
        $_cmd ;;
    esac
}}
"#
        ),
    )
    .unwrap();
    let script = read("rc.d/carpd")
        .replace(". /etc/rc.subr", &format!(". '{}'", subr.display()))
        .replace(
            "%%PREFIX%%/bin/carpd",
            &bin.join("carpd").display().to_string(),
        )
        .replace(
            "command=/usr/sbin/daemon",
            &format!("command='{}'", bin.join("daemon").display()),
        );
    let path = tmp.path().join("carpd.rc");
    write_exec(&path, &script);
    let out = Command::new("sh")
        .arg(&path)
        .arg(verb)
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .output()
        .unwrap();
    let calls = fs::read(&record)
        .map(|raw| {
            raw.split(|b| *b == b'\n')
                .filter(|l| !l.is_empty())
                .map(|l| {
                    l.split(|b| *b == 0)
                        .filter(|s| !s.is_empty())
                        .map(|s| String::from_utf8_lossy(s).into_owned())
                        .collect()
                })
                .collect()
        })
        .unwrap_or_default();
    (out, calls)
}

#[test]
fn rc_script_starts_carpd_under_daemon_with_flags_where_they_belong() {
    let (out, calls) = run_rc(
        "start",
        true,
        "carpd_enable=YES; carpd_flags='--no-hooks --hook-timeout 5'; carpd_config='/conf/my config.xml'",
    );
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(
        calls[0],
        ["carpd", "--config", "/conf/my config.xml", "check"]
    );
    assert_eq!(calls[1][0], "install");
    let daemon = &calls[2];
    assert_eq!(daemon[0], "daemon");
    // Supervisor pidfile for rc.subr, restart on exit, output to syslog tagged carpd.
    let opts = daemon[1..].join(" ");
    assert!(
        opts.starts_with(
            "-r -S -T carpd -P /var/run/carpd/supervisor.pid -p /var/run/carpd/child.pid "
        ),
        "{opts}"
    );
    // Everything after daemon(8)'s options is a carpd command line that parses, with
    // carpd_flags at the end of `run`, not among daemon's options.
    let at = daemon.iter().position(|a| a.ends_with("/carpd")).unwrap();
    let mut argv = vec!["carpd".to_string()];
    argv.extend(daemon[at + 1..].iter().cloned());
    assert_eq!(
        argv[1..],
        [
            "--config",
            "/conf/my config.xml",
            "run",
            "--foreground",
            "--engine",
            "auto",
            "--no-hooks",
            "--hook-timeout",
            "5"
        ]
    );
    carpd::cli::Cli::try_parse_from(&argv).unwrap_or_else(|e| panic!("{argv:?}: {e}"));
}

#[test]
fn rc_script_refuses_a_bad_config_and_says_why() {
    let (out, calls) = run_rc("start", false, "carpd_enable=YES");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("config.xml:12: vhid 300 out of range"),
        "{err}"
    );
    assert!(
        err.contains("not starting: /conf/config.xml has errors"),
        "{err}"
    );
    assert!(
        calls.iter().all(|c| c[0] != "daemon"),
        "started anyway: {calls:?}"
    );
}

#[test]
fn rc_script_extra_commands_call_carpd() {
    for (verb, sub) in [("reload", "reload"), ("apply", "apply"), ("check", "check")] {
        let (out, calls) = run_rc(verb, true, "carpd_engine=native");
        assert!(out.status.success(), "{verb}: {}", show(&out));
        assert_eq!(
            calls,
            [["carpd", "--config", "/conf/config.xml", sub]],
            "{verb}"
        );
        let argv = ["carpd", "--config", "/conf/config.xml", sub];
        carpd::cli::Cli::try_parse_from(argv).unwrap_or_else(|e| panic!("{argv:?}: {e}"));
    }
}

/// `key=value` lines of one `[section]` of a systemd unit, in order.
#[cfg(target_os = "linux")]
fn unit_section(unit: &str, section: &str) -> Vec<(String, String)> {
    let mut inside = false;
    let mut out = Vec::new();
    for line in unit.lines().map(str::trim) {
        if line.starts_with('[') {
            inside = line == format!("[{section}]");
        } else if inside && !line.is_empty() && !line.starts_with('#') {
            let (k, v) = line.split_once('=').expect("key=value");
            out.push((k.to_string(), v.to_string()));
        }
    }
    out
}

#[cfg(target_os = "linux")]
#[test]
fn systemd_unit_runs_real_commands_in_carpds_own_directories() {
    let unit = read("rc.d/carpd.service");
    let service = unit_section(&unit, "Service");
    let get = |key: &str| -> Vec<&str> {
        service
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    };
    // The config path comes through the environment variable `--config` reads.
    let cmd = <carpd::cli::Cli as clap::CommandFactory>::command();
    let config_arg = cmd
        .get_arguments()
        .find(|a| a.get_id() == "config")
        .unwrap();
    let env_name = config_arg.get_env().unwrap().to_str().unwrap();
    let config = get("Environment")
        .iter()
        .find_map(|e| e.strip_prefix(&format!("{env_name}=")))
        .unwrap_or_else(|| panic!("no Environment={env_name}=…"));
    assert_eq!(config, "/etc/carpd/config.xml");
    assert_eq!(
        config,
        carpd::config::DEFAULT_CONFIG,
        "carpd init and check use the unit's config by default on Linux"
    );
    // Before `carpd init` wrote it, the unit is skipped rather than failed.
    assert!(
        unit_section(&unit, "Unit")
            .iter()
            .any(|(k, v)| k == "ConditionPathExists" && v == config),
        "no ConditionPathExists={config}"
    );

    // Every Exec line is a carpd command line that parses; `run` stays in the foreground
    // (Type=simple: a daemon(3) fork would look like an exit to systemd).
    let mut subcommands = Vec::new();
    for key in ["ExecStartPre", "ExecStart", "ExecReload"] {
        let line = get(key);
        assert_eq!(line.len(), 1, "{key}: {line:?}");
        let argv: Vec<&str> = line[0].split_whitespace().collect();
        assert_eq!(
            argv[0], "/usr/sbin/carpd",
            "{key}: the Debian package installs carpd there"
        );
        carpd::cli::Cli::try_parse_from(&argv).unwrap_or_else(|e| panic!("{key} {argv:?}: {e}"));
        subcommands.push(argv[1]);
        if argv[1] == "run" {
            assert!(argv.contains(&"--foreground"), "{argv:?}");
            assert_eq!(get("Type"), ["simple"]);
        }
    }
    assert_eq!(subcommands, ["check", "run", "reload"]);

    // systemd creates the directories carpd uses by default on Linux.
    let run_dir = Path::new(carpd::paths::default_run_dir());
    let state_dir = Path::new(carpd::paths::default_state_dir());
    let name = |p: &Path| p.file_name().unwrap().to_str().unwrap().to_string();
    assert!(
        ["/run", "/var/run"].contains(&run_dir.parent().unwrap().to_str().unwrap()),
        "{run_dir:?}"
    );
    assert_eq!(get("RuntimeDirectory"), [name(run_dir).as_str()]);
    assert_eq!(state_dir.parent().unwrap(), Path::new("/var/lib"));
    assert_eq!(get("StateDirectory"), [name(state_dir).as_str()]);
    assert_eq!(
        carpd::paths::default_hooks_dir(),
        "/etc/carpd/hooks.d",
        "the unit's comments name the Linux hooks directory"
    );

    // The ExecStartPre check really refuses a broken config (and passes the example).
    let check = |path: &Path| {
        Command::new(CARPD)
            .env(env_name, path)
            .arg("check")
            .output()
            .unwrap()
    };
    let example = check(&root().join("examples/config.xml"));
    assert!(example.status.success(), "{}", show(&example));
    let bad = check(&root().join("tests/fixtures/config/invalid/everything-at-once.xml"));
    assert_eq!(bad.status.code(), Some(1), "{}", show(&bad));
}
