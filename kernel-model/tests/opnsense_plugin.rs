//! The os-carpd plugin on an OPNsense box: its configd actions and templates run through
//! OPNsense core's own configd and template engine (`../shared/opnsense`, core f95e815), and
//! carpd — its CLI and native daemon, on the kernel model — beside core, whose CARP writes the
//! model plays (`carpd-model --model-core`, from core's carp_set_status.php and
//! rc.syshook.d/early/90-carp).
//!
//! Each box is a staged host root: core's version file (so carpd knows it is on OPNsense), a
//! `configctl` that does what core's `interface carp_set_status` does to the model and
//! config.xml, an `rc.syshook` that records what it was asked to run, and the plugin's
//! Defguard hook.

#[path = "../../tests/common/tempdir.rs"]
mod tempdir;

use carp_kernel_model::{Kernel, Release, Store, VState, boxes};
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};
use tempdir::TempDir;

const MODEL: &str = env!("CARGO_BIN_EXE_carpd-model");
const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/opnsense-box.xml"
);
const NO_CARP: &str = "/tests/fixtures/opnsense-no-carp.xml";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn plugin() -> PathBuf {
    repo().join("plugin/net/carpd/src")
}

/// OPNsense's configd harness: `CARPD_OPNSENSE_HARNESS`, else `../shared/opnsense` beside the
/// repository, else `/work/shared/opnsense`.
fn harness() -> PathBuf {
    let candidates = [
        std::env::var_os("CARPD_OPNSENSE_HARNESS").map(PathBuf::from),
        Some(repo().join("../shared/opnsense")),
        Some(PathBuf::from("/work/shared/opnsense")),
    ];
    for c in candidates.into_iter().flatten() {
        if c.join("run-action").exists() {
            return c;
        }
    }
    panic!(
        "OPNsense's configd harness (run-action, render-template) is not found: set \
         CARPD_OPNSENSE_HARNESS to its directory (the shared/opnsense of this project)"
    );
}

fn write_exec(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn show(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// One OPNsense firewall.
struct Fw {
    dir: TempDir,
    store: Store,
}

impl Fw {
    fn new() -> Fw {
        Fw::with(boxes::opnsense(Release::FreeBsd14), FIXTURE)
    }

    fn with(kernel: Kernel, config: &str) -> Fw {
        let dir = TempDir::new("opnsense");
        let store = Store::create(&dir.path().join("kernel.json"), &kernel).unwrap();
        let p = |s: &str| dir.path().join(s);
        for d in ["state", "run", "out/etc/rc.conf.d"] {
            std::fs::create_dir_all(p(d)).unwrap();
        }
        std::fs::copy(config, p("config.xml")).unwrap();
        let host = p("host");
        let version = host.join("usr/local/opnsense/version/core");
        std::fs::create_dir_all(version.parent().unwrap()).unwrap();
        std::fs::write(
            &version,
            r#"{"product_id":"opnsense","product_name":"OPNsense","product_version":"26.7.4"}"#,
        )
        .unwrap();
        write_exec(
            &host.join("usr/local/sbin/configctl"),
            &format!("#!/bin/sh\nexec {MODEL} --model-core \"$@\"\n"),
        );
        write_exec(
            &host.join("usr/local/etc/rc.syshook"),
            &format!(
                "#!/bin/sh\necho \"$*\" >> {}\n",
                p("rc.syshook.log").display()
            ),
        );
        std::fs::create_dir_all(host.join("usr/local/etc/rc.syshook.d/carp")).unwrap();
        std::fs::copy(
            repo().join("actions/defguard-gateway"),
            host.join("usr/local/etc/rc.syshook.d/carp/50-defguard-gateway"),
        )
        .unwrap();
        // The Defguard hook's tools: ifconfig answers for the interfaces listed in `ifaces`
        // and records what it was told; logger and service record too.
        let bin = p("bin");
        write_exec(
            &bin.join("ifconfig"),
            &format!(
                "#!/bin/sh\ngrep -qx \"$1\" {ifaces} 2>/dev/null || exit 1\n[ $# -gt 1 ] && echo \"ifconfig $*\" >> {log}\nexit 0\n",
                ifaces = p("ifaces").display(),
                log = p("tools.log").display()
            ),
        );
        write_exec(
            &bin.join("logger"),
            &format!(
                "#!/bin/sh\necho \"logger $*\" >> {}\n",
                p("tools.log").display()
            ),
        );
        write_exec(
            &bin.join("service"),
            &format!(
                "#!/bin/sh\necho \"service $*\" >> {}\n",
                p("tools.log").display()
            ),
        );
        write_exec(
            &bin.join("carpd"),
            &format!("#!/bin/sh\nexec {MODEL} \"$@\"\n"),
        );
        Fw { dir, store }
    }

    fn path(&self, s: &str) -> PathBuf {
        self.dir.path().join(s)
    }

    /// carpd's environment on this box.
    fn env(&self) -> Vec<(String, String)> {
        let path = format!(
            "{}:{}",
            self.path("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        [
            (
                "CARPD_KERNEL_MODEL",
                self.store.path().display().to_string(),
            ),
            (
                "CARPD_CONFIG",
                self.path("config.xml").display().to_string(),
            ),
            ("CARPD_STATE_DIR", self.path("state").display().to_string()),
            ("CARPD_RUN_DIR", self.path("run").display().to_string()),
            ("CARPD_HOST_ROOT", self.path("host").display().to_string()),
            (
                "CARPD_DEFGUARD_CONF",
                self.path("defguard-gateway.conf").display().to_string(),
            ),
            ("PATH", path),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    fn carpd(&self, args: &[&str]) -> Output {
        Command::new(MODEL)
            .envs(self.env())
            .env_remove("CARPD_ENGINE")
            .args(args)
            .output()
            .unwrap()
    }

    /// `configctl TOPIC WORDS…` through OPNsense's configd, with the plugin's actions.
    fn configctl(&self, words: &[&str]) -> String {
        let actions = plugin().join("opnsense/service/conf/actions.d");
        let mut c = Command::new(harness().join("run-action"));
        c.arg("--actions")
            .arg(&actions)
            .arg("--path-map")
            .arg(format!(
                "/usr/local/bin/carpd={}",
                self.path("bin/carpd").display()
            ))
            .arg("--path-map")
            .arg(format!(
                "/usr/local/etc/rc.d/carpd={}",
                self.path("rc.d-carpd").display()
            ))
            .arg("--path-map")
            .arg(format!(
                "/usr/local/opnsense/scripts/OPNsense/Carpd/sync={}",
                plugin()
                    .join("opnsense/scripts/OPNsense/Carpd/sync")
                    .display()
            ));
        for (k, v) in self.env() {
            if k != "PATH" {
                c.arg("--env").arg(format!("{k}={v}"));
            }
        }
        for (k, v) in self.sync_env() {
            c.arg("--env").arg(format!("{k}={v}"));
        }
        c.arg("--syslog").arg(self.path("configd.syslog")).arg("--");
        let o = c.args(words).output().unwrap();
        assert!(
            o.status.code() == Some(0),
            "run-action {words:?} failed: {}",
            show(&o)
        );
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    }

    /// configctl's answer as JSON.
    fn configctl_json(&self, words: &[&str]) -> Value {
        let text = self.configctl(words);
        serde_json::from_str(&text).unwrap_or_else(|e| {
            panic!(
                "configctl {words:?} answered no JSON ({e}): {text:?}\nconfigd logged:\n{}",
                std::fs::read_to_string(self.path("configd.syslog")).unwrap_or_default()
            )
        })
    }

    /// What `configctl carpd sync` needs to run core's template engine and a stand-in rc.d.
    fn sync_env(&self) -> Vec<(String, String)> {
        vec![
            (
                "CARPD_CONFIGCTL".into(),
                self.path("configctl-templates").display().to_string(),
            ),
            (
                "CARPD_RCD".into(),
                self.path("rc.d-carpd").display().to_string(),
            ),
            (
                "CARPD_RCCONF".into(),
                self.path("out/etc/rc.conf.d/carpd").display().to_string(),
            ),
        ]
    }

    fn kernel(&self) -> Kernel {
        self.store.read().unwrap()
    }

    fn with_kernel<R>(&self, f: impl FnOnce(&mut Kernel) -> R) -> R {
        self.store.with(f).unwrap()
    }

    fn config(&self) -> String {
        std::fs::read_to_string(self.path("config.xml")).unwrap()
    }

    /// What core's CARP status page shows (carp_global_status.php): the demotion and whether
    /// config.xml has the maintenance flag.
    fn core_status(&self) -> (i32, bool) {
        (
            self.kernel().sysctl.demotion,
            self.config().contains("virtualip_carp_maintenancemode"),
        )
    }

    fn start(&self) -> Daemon {
        let log = std::fs::File::create(self.path("daemon.log")).unwrap();
        let child = Command::new(MODEL)
            .envs(self.env())
            .args(["run", "--foreground", "--hook-timeout", "5"])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let d = Daemon {
            child,
            log: self.path("daemon.log"),
        };
        until(
            "the daemon to answer",
            Duration::from_secs(15),
            || {
                self.carpd(&["status", "--json"]).status.success()
                    && self.path("run/carpd.pid").exists()
            },
            || d.log_text(),
        );
        d
    }

    fn demotion_until(&self, want: i32, what: &str) {
        until(
            what,
            Duration::from_secs(10),
            || self.kernel().sysctl.demotion == want,
            || format!("demotion is {}", self.kernel().sysctl.demotion),
        );
    }
}

fn until(what: &str, limit: Duration, cond: impl Fn() -> bool, why: impl Fn() -> String) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(
            Instant::now() < deadline,
            "waited {limit:?} for {what}: {}",
            why()
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

struct Daemon {
    child: Child,
    log: PathBuf,
}

impl Daemon {
    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
    fn stop(mut self) -> String {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while self.child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.log_text()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `[section]` names of an actions file, as configd's RawConfigParser reads them.
fn sections(file: &str) -> Vec<String> {
    std::fs::read_to_string(plugin().join("opnsense/service/conf/actions.d").join(file))
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_prefix('[').and_then(|l| l.strip_suffix(']')))
        .map(str::to_string)
        .collect()
}

/// Words after `configctl carp` for an action, with sample parameters.
fn sample(section: &str) -> Vec<Vec<String>> {
    let words: Vec<String> = section.split('.').map(str::to_string).collect();
    let with = |extra: &[&str]| {
        let mut w = words.clone();
        w.extend(extra.iter().map(|s| s.to_string()));
        w
    };
    match section {
        "demote" | "demote_persistent" => vec![
            with(&["service:openvpn", "+50"]),
            with(&["service:openvpn", "clear"]),
        ],
        "state.vhid" => vec![with(&["backup", "2"])],
        _ => vec![words],
    }
}

// ---- configd actions --------------------------------------------------------------------

#[test]
fn every_carp_action_answers_json_without_a_daemon() {
    let fw = Fw::new();
    let all = sections("actions_carp.conf");
    assert!(all.len() >= 14, "{all:?}");
    for section in &all {
        for words in sample(section) {
            let mut argv = vec!["carp"];
            argv.extend(words.iter().map(String::as_str));
            let v = fw.configctl_json(&argv);
            match section.as_str() {
                // With no daemon, status reads carp(4) itself (which core has not given the
                // VIPs yet); check and plan need no daemon.
                "status" => assert!(
                    v["total"] == 7 && v["rows"][0]["status"] == "DISABLED",
                    "{v:#}"
                ),
                "check" => assert_eq!(v["usable"], true, "{v:#}"),
                "plan" => assert!(v["steps"].as_array().unwrap().len() >= 14, "{v:#}"),
                _ => {
                    assert_eq!(v["status"], "failed", "{section}: {v:#}");
                    assert!(
                        v["reason"]
                            .as_str()
                            .unwrap()
                            .contains("no carpd is running"),
                        "{section}: {v:#}"
                    );
                }
            }
        }
    }
}

#[test]
fn every_carp_action_answers_json_with_the_daemon_beside_core() {
    let fw = Fw::new();
    // Core applied the VIPs (carpd does not on OPNsense): play that with carpd's own plan.
    assert!(
        fw.carpd(&["--host-root", "/nonexistent", "apply"])
            .status
            .success()
    );
    let d = fw.start();
    for section in sections("actions_carp.conf") {
        for words in sample(&section) {
            let mut argv = vec!["carp"];
            argv.extend(words.iter().map(String::as_str));
            let v = fw.configctl_json(&argv);
            let ok = match section.as_str() {
                "status" => v["total"] == 7 && v["carpd"]["engine"] == "native",
                "check" => v["usable"] == true,
                "plan" => v["steps"].as_array().is_some_and(|s| s.is_empty()),
                _ => v["status"] == "ok",
            };
            assert!(ok, "configctl {argv:?}: {v:#}\n{}", d.log_text());
        }
    }
    // The replay went through core's rc.syshook, once per VHID.
    let replayed = std::fs::read_to_string(fw.path("rc.syshook.log")).unwrap_or_default();
    for vhid in ["1@vtnet0", "2@vtnet1", "3@vtnet1", "4@vlan0.100", "5@lagg0"] {
        assert!(replayed.contains(&format!("carp {vhid} ")), "{replayed}");
    }
    d.stop();
}

#[test]
fn missing_and_bad_parameters_are_clear_errors() {
    let fw = Fw::new();
    let d = fw.start();
    let v = fw.configctl_json(&["carp", "demote"]);
    assert_eq!(v["status"], "failed");
    assert!(
        v["reason"]
            .as_str()
            .unwrap()
            .contains("demotion name \"\" is not valid"),
        "{v}"
    );
    let v = fw.configctl_json(&["carp", "demote", "service:x"]);
    assert!(
        v["reason"].as_str().unwrap().contains("+N, -N or clear"),
        "{v}"
    );
    let v = fw.configctl_json(&["carp", "state", "vhid", "sideways", "1"]);
    assert_eq!(v["status"], "failed");
    assert!(v["reason"].as_str().unwrap().contains("sideways"), "{v}");
    let v = fw.configctl_json(&["carp", "state", "vhid", "backup"]);
    assert_eq!(v["status"], "failed", "{v}");
    // A shell word in a parameter stays one quoted argument (configd quotes every %s).
    let marker = fw.path("injected");
    let v = fw.configctl_json(&[
        "carp",
        "demote",
        &format!("x;touch {}", marker.display()),
        "+1",
    ]);
    assert_eq!(v["status"], "failed");
    assert!(!marker.exists());
    // Words configd itself refuses: too many parameters, or an action that is not there.
    assert_eq!(
        fw.configctl(&["carp", "demote", "a", "+1", "extra"]),
        "Parameter mismatch"
    );
    assert_eq!(
        fw.configctl(&["carp", "maintenance"]),
        "Action not allowed or missing"
    );
    assert_eq!(
        fw.configctl(&["carp", "maintenance", "sideways"]),
        "Action not allowed or missing"
    );
    d.stop();
}

#[test]
fn check_answers_json_when_config_xml_is_missing_or_broken() {
    let fw = Fw::new();
    std::fs::remove_file(fw.path("config.xml")).unwrap();
    let v = fw.configctl_json(&["carp", "check"]);
    assert_eq!(v["usable"], false);
    assert!(
        v["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("cannot read"),
        "{v}"
    );
    std::fs::write(fw.path("config.xml"), "<opnsense><virtualip>").unwrap();
    let v = fw.configctl_json(&["carp", "check"]);
    assert_eq!(v["usable"], false);
    assert!(
        v["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("malformed XML"),
        "{v}"
    );
    // status with no daemon and no readable config: carpd's JSON, not "Execute error".
    let v = fw.configctl_json(&["carp", "status"]);
    assert_eq!(v["status"], "failed", "{v}");
}

// ---- templates and the service ----------------------------------------------------------

/// `configctl template reload OPNsense/Carpd` through core's template engine.
fn render(config: &Path, out: &Path) -> Output {
    Command::new(harness().join("render-template"))
        .arg("--config")
        .arg(config)
        .arg("--templates")
        .arg(plugin().join("opnsense/service/templates"))
        .args(["--module", "OPNsense/Carpd", "--out"])
        .arg(out)
        .output()
        .unwrap()
}

fn with_settings(config: &str, settings: &str) -> String {
    config.replacen(
        "</opnsense>",
        &format!("  <OPNsense><carpd>{settings}</carpd></OPNsense>\n</opnsense>"),
        1,
    )
}

#[test]
fn templates_render_from_the_vips_and_the_settings() {
    let dir = TempDir::new("templates");
    let case = |name: &str, text: &str| -> (String, String) {
        let config = dir.path().join(format!("{name}.xml"));
        std::fs::write(&config, text).unwrap();
        let out = dir.path().join(name);
        std::fs::create_dir_all(out.join("etc/rc.conf.d")).unwrap();
        let o = render(&config, &out);
        assert!(o.status.success(), "{name}: {}", show(&o));
        (
            std::fs::read_to_string(out.join("etc/rc.conf.d/carpd")).unwrap(),
            std::fs::read_to_string(out.join("usr/local/etc/carpd/defguard-gateway.conf")).unwrap(),
        )
    };
    let carp = std::fs::read_to_string(FIXTURE).unwrap();
    let no_carp =
        std::fs::read_to_string(format!("{}{NO_CARP}", env!("CARGO_MANIFEST_DIR"))).unwrap();

    let (rc, dg) = case("carp", &carp);
    assert!(
        rc.contains("carpd_enable=\"YES\"") && rc.contains("carpd_engine=\"native\""),
        "{rc}"
    );
    assert!(dg.contains("enabled=0"), "{dg}");
    let (rc, _) = case("nocarp", &no_carp);
    assert!(rc.contains("carpd_enable=\"NO\""), "{rc}");
    let (rc, _) = case(
        "disabled",
        &with_settings(&carp, "<general><enabled>0</enabled></general>"),
    );
    assert!(rc.contains("carpd_enable=\"NO\""), "{rc}");
    let (rc, dg) = case(
        "settings",
        &with_settings(
            &carp,
            "<general><enabled>1</enabled><hook_timeout>12</hook_timeout></general>\
             <defguard><enabled>1</enabled><vip>6f1c0000-0000-4000-8000-000000000001</vip>\
             <vhid/><interface/><gateway_config>/etc/defguard/gateway.toml</gateway_config>\
             <mode>restart</mode><service>defguard_gateway</service></defguard>",
        ),
    );
    assert!(
        rc.contains("carpd_enable=\"YES\"") && rc.contains("--hook-timeout 12"),
        "{rc}"
    );
    assert!(
        dg.contains("enabled=1")
            && dg.contains("vip=6f1c0000-0000-4000-8000-000000000001")
            && dg.contains("mode=restart")
            && !dg.contains("interface="),
        "{dg}"
    );
    // The rendered settings are what carpd's daemon and the action itself read.
    let conf = dir
        .path()
        .join("settings/usr/local/etc/carpd/defguard-gateway.conf");
    let follow = carpd::defguard::load(&conf).unwrap().unwrap();
    assert_eq!(
        follow.vip.as_deref(),
        Some("6f1c0000-0000-4000-8000-000000000001")
    );
}

#[test]
fn the_service_topic_runs_the_rc_script_and_sync_follows_the_vips() {
    let fw = Fw::new();
    // A stand-in rc.d script that keeps a running flag, and a configctl that renders the
    // plugin's templates with core's engine into the box's /etc.
    let running = fw.path("running");
    write_exec(
        &fw.path("rc.d-carpd"),
        &format!(
            "#!/bin/sh\necho \"$1\" >> {log}\ncase $1 in\nstart) touch {r} ;;\nstop) rm -f {r} ;;\n\
             status) if [ -f {r} ]; then echo 'carpd is running as pid 1.'; else echo 'carpd is not running.'; exit 1; fi ;;\nesac\n",
            log = fw.path("rc.log").display(),
            r = running.display()
        ),
    );
    write_exec(
        &fw.path("configctl-templates"),
        &format!(
            "#!/bin/sh\n[ \"$1 $2 $3\" = 'template reload OPNsense/Carpd' ] || exit 1\n\
             {render} --config {cfg} --templates {tpl} --module OPNsense/Carpd --out {out} >/dev/null && echo OK\n",
            render = harness().join("render-template").display(),
            cfg = fw.path("config.xml").display(),
            tpl = plugin().join("opnsense/service/templates").display(),
            out = fw.path("out").display()
        ),
    );
    assert_eq!(fw.configctl(&["carpd", "status"]), "carpd is not running.");
    // The first CARP VIP applied: the syshook's sync starts carpd.
    assert_eq!(
        fw.configctl(&["carpd", "sync"]),
        "carpd sync: started carpd"
    );
    assert!(running.exists());
    assert!(fw.configctl(&["carpd", "status"]).contains("is running"));
    assert_eq!(
        fw.configctl(&["carpd", "sync"]),
        "carpd sync: carpd runs and follows config.xml"
    );
    // The last CARP VIP removed: stopped.
    std::fs::copy(
        format!("{}{NO_CARP}", env!("CARGO_MANIFEST_DIR")),
        fw.path("config.xml"),
    )
    .unwrap();
    assert_eq!(
        fw.configctl(&["carpd", "sync"]),
        "carpd sync: stopped carpd (no CARP VIP, or disabled)"
    );
    assert!(!running.exists());
    for verb in ["start", "stop", "restart", "reload"] {
        fw.configctl(&["carpd", verb]);
    }
    let log = std::fs::read_to_string(fw.path("rc.log")).unwrap();
    assert!(log.ends_with("start\nstop\nrestart\nreload\n"), "{log}");
    // The CARP syshook hands the work to configd, detached.
    let hook = std::fs::read_to_string(plugin().join("etc/rc.syshook.d/carp/50-carpd")).unwrap();
    assert!(hook.contains("configctl -dq carpd sync"), "{hook}");
}

// ---- carpd beside core --------------------------------------------------------------------

#[test]
fn the_userspace_engine_is_refused_on_opnsense() {
    let fw = Fw::new();
    let o = fw.carpd(&["run", "--engine", "userspace", "--foreground"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(
        err.contains("OPNsense 26.7.4") && err.contains("second CARP node"),
        "{err}"
    );
    let o = fw.carpd(&["apply"]);
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("core programs the CARP VIPs"),
        "{}",
        show(&o)
    );
    assert!(fw.carpd(&["apply", "--dry-run"]).status.success());
}

#[test]
fn maintenance_is_one_mechanism_in_every_order() {
    let fw = Fw::new();
    assert!(
        fw.carpd(&["--host-root", "/nonexistent", "apply"])
            .status
            .success()
    );
    let d = fw.start();
    let carpd_status = || {
        let v: Value = serde_json::from_slice(&fw.carpd(&["status", "--json"]).stdout).unwrap();
        (
            v["carp"]["demotion"]
                .as_str()
                .unwrap()
                .parse::<i32>()
                .unwrap(),
            v["carp"]["maintenancemode"].as_bool().unwrap(),
            v["carpd"]["demotions"].clone(),
        )
    };
    let configctl_status = || {
        let v = fw.configctl_json(&["carp", "status"]);
        (
            v["carp"]["demotion"]
                .as_str()
                .unwrap()
                .parse::<i32>()
                .unwrap(),
            v["carp"]["maintenancemode"].as_bool().unwrap(),
        )
    };
    // All three views agree: core's page, carpd status, configctl carp status.
    let agree = |demotion: i32, maintenance: bool| {
        assert_eq!(fw.core_status(), (demotion, maintenance), "core's page");
        let (d, m, _) = carpd_status();
        assert_eq!((d, m), (demotion, maintenance), "carpd status");
        assert_eq!(
            configctl_status(),
            (demotion, maintenance),
            "configctl carp status"
        );
    };
    agree(0, false);

    // Core's button enters; carpd names a demotion; core's button leaves, which writes
    // `default − current`: carpd puts its own part back at once.
    fw.with_kernel(|k| {
        carp_kernel_model::core::carp_set_status(k, &fw.path("config.xml"), "maintenance")
    })
    .unwrap();
    agree(240, true);
    let (_, _, parts) = carpd_status();
    assert_eq!(parts, serde_json::json!({"maintenance": 240}));
    assert_eq!(
        fw.configctl_json(&["carp", "demote", "service:openvpn", "+50"])["status"],
        "ok"
    );
    agree(290, true);
    fw.with_kernel(|k| {
        carp_kernel_model::core::carp_set_status(k, &fw.path("config.xml"), "maintenance")
    })
    .unwrap();
    fw.demotion_until(50, "carpd to write its 50 again after core's leave");
    agree(50, false);
    assert!(
        d.log_text().contains("another writer removed carpd's part"),
        "{}",
        d.log_text()
    );

    // carpd's enter and leave are core's toggle: one 240, and the named 50 survives.
    let v = fw.configctl_json(&["carp", "maintenance", "enter"]);
    assert_eq!(
        (&v["status"], &v["maintenance"]),
        (&"ok".into(), &true.into()),
        "{v}"
    );
    agree(290, true);
    let v = fw.configctl_json(&["carp", "maintenance", "enter"]);
    assert!(v["notes"].to_string().contains("already on"), "{v}");
    agree(290, true);
    let v = fw.configctl_json(&["carp", "maintenance", "leave"]);
    assert_eq!(v["status"], "ok", "{v}");
    fw.demotion_until(50, "the named demotion back after carpd's leave");
    agree(50, false);

    // Persistent pieces, then a reboot in maintenance: core's early hook writes 240, carpd
    // adds only its named part — exactly one 240.
    assert_eq!(
        fw.configctl_json(&["carp", "demote_persistent", "service:openvpn", "+0"])["status"],
        "ok"
    );
    assert_eq!(
        fw.carpd(&["maintenance", "enter", "--json"]).status.code(),
        Some(0)
    );
    agree(290, true);
    d.stop();
    fw.with_kernel(|k| k.reboot());
    std::fs::remove_dir_all(fw.path("run")).unwrap();
    fw.with_kernel(|k| carp_kernel_model::core::early_boot(k, &fw.path("config.xml")))
        .unwrap();
    assert!(
        fw.carpd(&["--host-root", "/nonexistent", "apply"])
            .status
            .success()
    );
    let d = fw.start();
    fw.demotion_until(290, "240 from core's boot hook and 50 from carpd");
    agree(290, true);
    // And a restart changes nothing.
    d.stop();
    let d = fw.start();
    agree(290, true);
    d.stop();
}

#[test]
fn carpds_own_maintenance_from_before_becomes_cores_flag() {
    let fw = Fw::new();
    std::fs::write(
        fw.path("state/state.json"),
        r#"{"version":1,"maintenance":true,"demotions":{"wan-gw":10}}"#,
    )
    .unwrap();
    let d = fw.start();
    fw.demotion_until(250, "core's 240 and carpd's 10");
    assert_eq!(fw.core_status(), (250, true));
    let state: Value =
        serde_json::from_str(&std::fs::read_to_string(fw.path("state/state.json")).unwrap())
            .unwrap();
    assert_eq!(state["maintenance"], false, "{state}");
    assert_eq!(state["demotions"]["wan-gw"], 10, "{state}");
    assert!(
        d.stop()
            .contains("now core's <virtualip_carp_maintenancemode>")
    );
}

#[test]
fn disable_and_enable_go_through_core() {
    let fw = Fw::new();
    assert!(
        fw.carpd(&["--host-root", "/nonexistent", "apply"])
            .status
            .success()
    );
    let d = fw.start();
    let v = fw.configctl_json(&["carp", "disable"]);
    assert_eq!(v["status"], "ok", "{v}");
    assert!(
        v["via"]
            .as_str()
            .unwrap()
            .contains("carp_set_status disable")
    );
    assert_eq!(fw.kernel().sysctl.allow, 0);
    assert!(
        fw.kernel()
            .log
            .iter()
            .any(|l| l == "core: carp_set_status disable (disable)")
    );
    assert_eq!(fw.configctl_json(&["carp", "enable"])["status"], "ok");
    assert_eq!(fw.kernel().sysctl.allow, 1);
    d.stop();
}

#[test]
fn the_defguard_gateway_keeps_its_role_when_it_restarts() {
    let fw = Fw::new();
    assert!(
        fw.carpd(&["--host-root", "/nonexistent", "apply"])
            .status
            .success()
    );
    std::fs::write(fw.path("gateway.toml"), "ifname = \"wg0\"\n").unwrap();
    std::fs::write(
        fw.path("defguard-gateway.conf"),
        format!(
            "enabled=1\nvip=6f1c0000-0000-4000-8000-000000000001\ngateway_config={}\nmode=link\n",
            fw.path("gateway.toml").display()
        ),
    )
    .unwrap();
    // wg0 does not exist yet: at carpd's start the action logs a wait, no error.
    let d = fw.start();
    let tools = || std::fs::read_to_string(fw.path("tools.log")).unwrap_or_default();
    until(
        "the start-up re-assertion",
        Duration::from_secs(10),
        || tools().contains("wg0 does not exist"),
        tools,
    );
    assert!(!tools().contains("ifconfig wg0"), "{}", tools());
    // The gateway starts (creates wg0 and brings it up) on this BACKUP node: carpd takes it
    // down again.
    assert_eq!(fw.kernel().state_of("vtnet0", 1), Some(VState::Backup));
    std::fs::write(fw.path("ifaces"), "wg0\n").unwrap();
    fw.with_kernel(|k| {
        k.add_interface(
            "wg0",
            carp_kernel_model::kernel::IFT_WIREGUARD,
            0x8011,
            true,
        )
    });
    until(
        "wg0 down on BACKUP",
        Duration::from_secs(10),
        || tools().contains("ifconfig wg0 down"),
        tools,
    );
    // As MASTER (core ran the hook on the transition; here the gateway restarts again),
    // wg0 comes up.
    fw.with_kernel(|k| {
        k.master_down("vtnet0", 1);
        k.set_link("wg0", true);
    });
    until(
        "wg0 up on MASTER",
        Duration::from_secs(10),
        || tools().contains("ifconfig wg0 up"),
        tools,
    );
    let status: Value = serde_json::from_slice(&fw.carpd(&["status", "--json"]).stdout).unwrap();
    let hooks = &status["rows"][0]["carpd"]["hooks"];
    assert!(
        hooks.to_string().contains("50-defguard-gateway"),
        "{status:#}"
    );
    d.stop();
}

/// OPNsense 26.7 on FreeBSD 15: core creates every VIP's vhid as CARP (it knows no protocol);
/// carpd, which reads the plugin's per-VHID settings, re-creates the VRRPv3 one in carp(4)'s
/// VRRP mode and tells nothing of it as "drift" core still has to apply.
#[test]
fn vrrp_vhids_are_carpds_beside_core_on_freebsd_15() {
    let fw = Fw::with(boxes::opnsense(Release::FreeBsd15), FIXTURE);
    // core's apply (what carpd's own apply does off OPNsense) with the VIPs alone.
    assert!(
        fw.carpd(&["--host-root", "/nonexistent", "apply"])
            .status
            .success()
    );
    assert_eq!(fw.kernel().vhid("vtnet1", 2).unwrap().version, 2);
    let text = fw.config().replacen(
        "</opnsense>",
        "  <OPNsense><carpd><vhids><vhid uuid=\"7e000000-0000-4000-8000-000000000002\">\
         <vip>6f1c0000-0000-4000-8000-000000000004</vip><protocol>vrrp3</protocol>\
         <interval>10</interval></vhid></vhids></carpd></OPNsense>\n</opnsense>",
        1,
    );
    std::fs::write(fw.path("config.xml"), text).unwrap();
    let d = fw.start();
    until(
        "carpd to re-create 2@vtnet1 in VRRP mode",
        Duration::from_secs(10),
        || {
            fw.kernel()
                .vhid("vtnet1", 2)
                .is_some_and(|v| (v.version, v.vrrp_prio, v.vrrp_adv_inter) == (3, 254, 10))
        },
        || format!("{:?}", fw.kernel().vhid("vtnet1", 2)),
    );
    let status = fw.configctl_json(&["carp", "status"]);
    let row = status["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["vhid"] == "2")
        .cloned()
        .unwrap();
    assert_eq!(row["carpd"]["protocol"], "vrrp3", "{row:#}");
    let log = d.stop();
    assert!(
        log.contains(
            "vrrp: applied: ifconfig vtnet1 vhid 2 carpver 3 vrrpprio 254 vrrpinterval 10"
        ),
        "{log}"
    );
    assert!(!log.contains("differs from config.xml"), "{log}");
}
