//! A throw-away L2 network built from Linux network namespaces, for tests that need real
//! packets (raw sockets, rtnetlink, ARP/NA, link events).
//!
//! Layout of `Lab::new("carp", 2)`:
//!
//! ```text
//!   node 0 ns ── veth ─┐
//!   node 1 ns ── veth ─┼── bridge (own ns, multicast snooping off)
//!   client ns ── veth ─┘
//! ```
//!
//! Node `i` has 192.0.2.(10+i)/24 and 2001:db8::(10+i)/64 (the IPv6 host part is written with
//! the same digits as the IPv4 one, so node 0 is 2001:db8::10), the client 192.0.2.200 and
//! 2001:db8::200. DAD is off in node and client namespaces, so link-local addresses are usable
//! at once. Every name carries the pid and a per-process counter, so tests run in parallel;
//! interface names stay within the kernel's 15 characters. Nothing is created in the caller's
//! namespace: veths are created inside the bridge namespace with their peer placed directly in
//! the node's namespace.
//!
//! Tests shell out to iproute2 here; product code never does.
//!
//! Opening sockets inside a namespace from Rust: [`in_netns`] runs a closure on a dedicated
//! thread that has `setns()`-ed into the namespace (network namespaces are per thread), and
//! [`block_on_in_netns`] builds a tokio current-thread runtime on such a thread:
//!
//! ```ignore
//! let node = lab.node(0);
//! let got = block_on_in_netns(&node.ns, Duration::from_secs(5), || async {
//!     let sock = CarpSocket::open_v4(&node.ifname, node.v4).unwrap();
//!     sock.recv().await
//! });
//! ```
//!
//! Everything on that runtime (sockets, the rtnetlink connection task) lives in the namespace.
//! Do not use `spawn_blocking` or a multi-thread runtime there: other threads are not in it.

use std::future::Future;
use std::io::Read;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// Bound on any single `ip`/`sysctl` command.
pub const CMD_TIMEOUT: Duration = Duration::from_secs(10);
/// Bound on waiting for the lab's links and addresses to become usable.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(5);
/// Kernel limit on interface names (IFNAMSIZ - 1).
const IFNAME_MAX: usize = 15;

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Panic with a clear message unless running as root. Namespace tests must never skip
/// silently: CI runs as root, so a skip would hide a regression.
pub fn require_root() {
    if !nix::unistd::geteuid().is_root() {
        panic!(
            "this test needs root (network namespaces, raw sockets, rtnetlink writes); \
             run it as root, e.g. `sudo -E cargo test --test <name>` (CI runs as root)"
        );
    }
}

/// Panic with a clear message unless `tool` is on PATH (scripts/install-deps installs every
/// peer and capture tool the tests use).
pub fn require_tool(tool: &str) {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        found,
        "{tool} is not installed: run scripts/install-deps (CI installs it)"
    );
}

/// One host of the lab: its namespace and its interface towards the bridge.
#[derive(Clone, Debug)]
pub struct Node {
    pub ns: String,
    pub ifname: String,
    pub v4: Ipv4Addr,
    pub v6: Ipv6Addr,
    /// fe80:: address of `ifname` (kernel-generated, usable at once: DAD is off).
    pub link_local: Ipv6Addr,
    pub mac: [u8; 6],
    /// The veth end enslaved to the bridge (in the bridge namespace).
    bridge_port: String,
}

pub struct Lab {
    bridge_ns: String,
    nodes: Vec<Node>,
    client: Option<Node>,
    /// Every namespace created so far, for teardown (filled as we go, so a failure half-way
    /// through `new` still cleans up).
    namespaces: Vec<String>,
    procs: Mutex<Vec<Proc>>,
}

impl Lab {
    /// Build the lab: bridge namespace, `n_nodes` node namespaces and a client namespace.
    /// Panics (after cleaning up what exists) if any step fails.
    pub fn new(name_prefix: &str, n_nodes: usize) -> Lab {
        require_root();
        assert!(
            n_nodes <= 50,
            "a lab holds at most 50 nodes (addresses 192.0.2.10..59)"
        );
        let pid = std::process::id();
        let ctr = COUNTER.fetch_add(1, Ordering::Relaxed);
        // Interface names: up to 2 characters of the prefix + pid and counter in base 36.
        let short: String = name_prefix
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(2)
            .collect();
        let if_tag = format!("{short}{}x{}", base36(pid), base36(ctr));
        let ns_tag = format!("{name_prefix}-{pid}-{ctr}");

        let mut lab = Lab {
            bridge_ns: format!("{ns_tag}-br"),
            nodes: Vec::new(),
            client: None,
            namespaces: Vec::new(),
            procs: Mutex::new(Vec::new()),
        };
        let bridge = ifname(&if_tag, "br");

        let bridge_ns = lab.bridge_ns.clone();
        lab.add_ns(&bridge_ns, false);
        lab.ip(
            &bridge_ns,
            &[
                "link",
                "add",
                &bridge,
                "type",
                "bridge",
                "mcast_snooping",
                "0",
            ],
        );

        let mut plan: Vec<(String, String, String, String, String)> = (0..n_nodes)
            .map(|i| {
                (
                    format!("{ns_tag}-n{i}"),
                    ifname(&if_tag, &format!("n{i}")),
                    ifname(&if_tag, &format!("p{i}")),
                    format!("192.0.2.{}", 10 + i),
                    format!("2001:db8::{}", 10 + i),
                )
            })
            .collect();
        plan.push((
            format!("{ns_tag}-cl"),
            ifname(&if_tag, "c"),
            ifname(&if_tag, "pc"),
            "192.0.2.200".into(),
            "2001:db8::200".into(),
        ));

        for (ns, ifn, port, v4, v6) in &plan {
            lab.add_ns(ns, true);
            lab.ip(
                &bridge_ns,
                &[
                    "link", "add", port, "type", "veth", "peer", "name", ifn, "netns", ns,
                ],
            );
            lab.ip(&bridge_ns, &["link", "set", port, "master", &bridge, "up"]);
            lab.ip(ns, &["addr", "add", &format!("{v4}/24"), "dev", ifn]);
            lab.ip(
                ns,
                &["addr", "add", &format!("{v6}/64"), "dev", ifn, "nodad"],
            );
            lab.ip(ns, &["link", "set", ifn, "up"]);
        }
        lab.ip(&bridge_ns, &["link", "set", &bridge, "up"]);

        for (ns, ifn, port, v4, v6) in plan {
            let (link_local, mac) = wait_usable(&ns, &ifn);
            let node = Node {
                ns,
                ifname: ifn,
                v4: v4.parse().unwrap(),
                v6: v6.parse().unwrap(),
                link_local,
                mac,
                bridge_port: port,
            };
            if node.v4.octets()[3] == 200 {
                lab.client = Some(node);
            } else {
                lab.nodes.push(node);
            }
        }
        lab
    }

    pub fn node(&self, i: usize) -> &Node {
        &self.nodes[i]
    }

    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// The host used for pings and captures (192.0.2.200, 2001:db8::200).
    pub fn client(&self) -> &Node {
        self.client.as_ref().expect("lab has a client")
    }

    pub fn bridge_ns(&self) -> &str {
        &self.bridge_ns
    }

    /// Cable pull: the bridge-side end of node `i` goes down, so the node loses carrier
    /// (its interface stays administratively up).
    pub fn cut(&self, i: usize) {
        let port = self.nodes[i].bridge_port.clone();
        self.ip(&self.bridge_ns, &["link", "set", &port, "down"]);
    }

    /// Plug the cable of node `i` back in.
    pub fn restore(&self, i: usize) {
        let port = self.nodes[i].bridge_port.clone();
        self.ip(&self.bridge_ns, &["link", "set", &port, "up"]);
    }

    /// Run `args` inside namespace `ns` and return its output (bounded by [`CMD_TIMEOUT`]).
    pub fn exec(&self, ns: &str, args: &[&str]) -> Output {
        run_bounded(netns_cmd(ns, args), CMD_TIMEOUT)
    }

    /// Like [`Lab::exec`] but panics with the command's stderr unless it succeeds; returns stdout.
    pub fn exec_ok(&self, ns: &str, args: &[&str]) -> String {
        let out = self.exec(ns, args);
        if !out.status.success() {
            panic!(
                "`ip netns exec {ns} {}` failed ({}): {}",
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `ip -n <ns> <args>`, panicking on failure.
    pub fn ip(&self, ns: &str, args: &[&str]) -> String {
        let mut cmd = Command::new("ip");
        cmd.arg("-n").arg(ns).args(args);
        let out = run_bounded(cmd, CMD_TIMEOUT);
        if !out.status.success() {
            panic!(
                "`ip -n {ns} {}` failed ({}): {}",
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Start a long-running process inside `ns`. The lab kills it on drop at the latest.
    pub fn spawn(&self, ns: &str, args: &[&str]) -> Proc {
        let proc = Proc::start(netns_cmd(ns, args), format!("[{ns}] {}", args.join(" ")));
        self.procs.lock().unwrap().push(proc.clone());
        proc
    }

    /// Start tcpdump on `ifname` in `ns` (`-c count`, verbose, link-level headers, no name
    /// resolution) and return once it is capturing. Read the result with
    /// [`Proc::wait_exit`] + [`Proc::stdout`].
    pub fn capture(&self, ns: &str, ifname: &str, count: usize, filter: &str) -> Proc {
        let count = count.to_string();
        let mut args = vec![
            "tcpdump", "-l", "-n", "-e", "-vv", "-i", ifname, "-c", &count,
        ];
        args.extend(filter.split_whitespace());
        let proc = self.spawn(ns, &args);
        if !proc.wait_stderr("listening on", Duration::from_secs(5)) {
            panic!(
                "tcpdump in {ns} did not start within 5 s: {}",
                proc.stderr()
            );
        }
        proc
    }

    fn add_ns(&mut self, ns: &str, quiet_dad: bool) {
        let out = run_bounded(
            {
                let mut c = Command::new("ip");
                c.args(["netns", "add", ns]);
                c
            },
            CMD_TIMEOUT,
        );
        if !out.status.success() {
            panic!(
                "`ip netns add {ns}` failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        self.namespaces.push(ns.to_string());
        let sysctls: &[&str] = if quiet_dad {
            // No DAD: addresses (link-local included) are usable as soon as the link is up.
            &[
                "net.ipv6.conf.all.accept_dad=0",
                "net.ipv6.conf.default.accept_dad=0",
            ]
        } else {
            // The bridge namespace needs no IP at all; keep it from sending RS/MLD noise.
            &["net.ipv6.conf.default.disable_ipv6=1"]
        };
        let mut args = vec!["sysctl", "-qw"];
        args.extend_from_slice(sysctls);
        self.exec_ok(ns, &args);
        self.ip(ns, &["link", "set", "lo", "up"]);
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for p in self.procs.lock().map(|g| g.clone()).unwrap_or_default() {
            p.kill();
        }
        for ns in self.namespaces.iter().rev() {
            // Children of what the lab started (keepalived's VRRP process, say) outlive their
            // parent's kill and would keep the namespace's interfaces alive.
            let mut pids = Command::new("ip");
            pids.args(["netns", "pids", ns]);
            let listed = run_bounded(pids, CMD_TIMEOUT);
            for pid in String::from_utf8_lossy(&listed.stdout).split_whitespace() {
                if let Ok(pid) = pid.parse::<i32>() {
                    let _ = nix::sys::signal::kill(
                        nix::unistd::Pid::from_raw(pid),
                        nix::sys::signal::Signal::SIGKILL,
                    );
                }
            }
            let mut c = Command::new("ip");
            c.args(["netns", "del", ns]);
            let out = run_bounded(c, CMD_TIMEOUT);
            if !out.status.success() {
                eprintln!(
                    "lab teardown: `ip netns del {ns}` failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
    }
}

/// A process started by the lab, with its stdout/stderr collected in the background.
#[derive(Clone)]
pub struct Proc {
    inner: Arc<ProcInner>,
}

struct ProcInner {
    desc: String,
    child: Mutex<Child>,
    stdout: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
}

impl Proc {
    fn start(mut cmd: Command, desc: String) -> Proc {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {desc}: {e}"));
        let stdout = collect(child.stdout.take().unwrap());
        let stderr = collect(child.stderr.take().unwrap());
        Proc {
            inner: Arc::new(ProcInner {
                desc,
                child: Mutex::new(child),
                stdout,
                stderr,
            }),
        }
    }

    pub fn pid(&self) -> u32 {
        self.inner.child.lock().unwrap().id()
    }

    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.inner.stdout.lock().unwrap()).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.inner.stderr.lock().unwrap()).into_owned()
    }

    /// Wait (bounded) until stderr contains `needle`.
    pub fn wait_stderr(&self, needle: &str, timeout: Duration) -> bool {
        wait_until(timeout, || self.stderr().contains(needle))
    }

    /// Wait (bounded) until stdout contains `needle`.
    pub fn wait_stdout(&self, needle: &str, timeout: Duration) -> bool {
        wait_until(timeout, || self.stdout().contains(needle))
    }

    /// Wait (bounded) for the process to exit; `None` if it is still running.
    pub fn wait_exit(&self, timeout: Duration) -> Option<ExitStatus> {
        let mut status = None;
        wait_until(timeout, || {
            status = self.inner.child.lock().unwrap().try_wait().ok().flatten();
            status.is_some()
        });
        // Let the reader threads drain what the process wrote last.
        if status.is_some() {
            thread::sleep(Duration::from_millis(20));
        }
        status
    }

    /// Kill and reap (no-op if it already exited).
    pub fn kill(&self) {
        let mut child = self.inner.child.lock().unwrap();
        if let Ok(None) = child.try_wait() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn describe(&self) -> &str {
        &self.inner.desc
    }
}

/// Run `f` on a fresh thread that has joined network namespace `ns` (by its /run/netns
/// file), and return its result. Panics inside `f` propagate to the caller.
pub fn in_netns<F, R>(ns: &str, f: F) -> R
where
    F: FnOnce() -> R + Send,
    R: Send,
{
    let path = format!("/run/netns/{ns}");
    thread::scope(|s| {
        let handle = s.spawn(move || {
            let fd = std::fs::File::open(&path)
                .unwrap_or_else(|e| panic!("cannot open {path}: {e} (does the namespace exist?)"));
            nix::sched::setns(&fd, nix::sched::CloneFlags::CLONE_NEWNET)
                .unwrap_or_else(|e| panic!("setns({path}) failed: {e}"));
            f()
        });
        match handle.join() {
            Ok(r) => r,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

/// Run the future made by `f` to completion on a tokio current-thread runtime inside `ns`,
/// panicking if it takes longer than `timeout`.
pub fn block_on_in_netns<F, Fut, R>(ns: &str, timeout: Duration, f: F) -> R
where
    F: FnOnce() -> Fut + Send,
    Fut: Future<Output = R>,
    R: Send,
{
    in_netns(ns, move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        rt.block_on(async move {
            match tokio::time::timeout(timeout, f()).await {
                Ok(r) => r,
                Err(_) => panic!("work inside namespace {ns} did not finish within {timeout:?}"),
            }
        })
    })
}

/// Poll `cond` every 10 ms until it holds or `timeout` passes.
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(10));
    }
}

fn netns_cmd(ns: &str, args: &[&str]) -> Command {
    let mut c = Command::new("ip");
    c.args(["netns", "exec", ns]).args(args);
    c
}

/// Run to completion, killing the command and panicking if it exceeds `timeout`.
fn run_bounded(cmd: Command, timeout: Duration) -> Output {
    let desc = format!("{cmd:?}");
    let p = Proc::start(cmd, desc.clone());
    match p.wait_exit(timeout) {
        Some(status) => Output {
            status,
            stdout: p.inner.stdout.lock().unwrap().clone(),
            stderr: p.inner.stderr.lock().unwrap().clone(),
        },
        None => {
            p.kill();
            panic!("{desc} did not finish within {timeout:?}");
        }
    }
}

fn collect(mut pipe: impl Read + Send + 'static) -> Arc<Mutex<Vec<u8>>> {
    let buf = Arc::new(Mutex::new(Vec::new()));
    let sink = buf.clone();
    thread::spawn(move || {
        let mut chunk = [0u8; 4096];
        while let Ok(n) = pipe.read(&mut chunk) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().extend_from_slice(&chunk[..n]);
        }
    });
    buf
}

/// Wait until `ifname` in `ns` is operationally up and has a link-local address; return it
/// with the MAC.
fn wait_usable(ns: &str, ifname: &str) -> (Ipv6Addr, [u8; 6]) {
    let mut found = None;
    let ok = wait_until(SETTLE_TIMEOUT, || {
        let link = ip_out(ns, &["-o", "link", "show", "dev", ifname]);
        let addrs = ip_out(
            ns,
            &["-o", "-6", "addr", "show", "dev", ifname, "scope", "link"],
        );
        let up = link.contains("state UP") && !link.contains("NO-CARRIER");
        let ll = addrs
            .split_whitespace()
            .skip_while(|w| *w != "inet6")
            .nth(1)
            .and_then(|a| a.split('/').next())
            .and_then(|a| a.parse::<Ipv6Addr>().ok());
        let mac = link
            .split_whitespace()
            .skip_while(|w| *w != "link/ether")
            .nth(1)
            .and_then(parse_mac);
        if let (true, Some(ll), Some(mac)) = (up && !addrs.contains("tentative"), ll, mac) {
            found = Some((ll, mac));
        }
        found.is_some()
    });
    if !ok {
        panic!(
            "lab: {ifname} in {ns} not up with a link-local address within {SETTLE_TIMEOUT:?}: {}",
            ip_out(ns, &["addr", "show", "dev", ifname])
        );
    }
    found.unwrap()
}

fn ip_out(ns: &str, args: &[&str]) -> String {
    let mut c = Command::new("ip");
    c.arg("-n").arg(ns).args(args);
    String::from_utf8_lossy(&run_bounded(c, CMD_TIMEOUT).stdout).into_owned()
}

pub fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let mut mac = [0u8; 6];
    let mut parts = s.split(':');
    for b in &mut mac {
        *b = u8::from_str_radix(parts.next()?, 16).ok()?;
    }
    parts.next().is_none().then_some(mac)
}

fn ifname(tag: &str, role: &str) -> String {
    let name = format!("{tag}{role}");
    assert!(
        name.len() <= IFNAME_MAX,
        "interface name {name} longer than {IFNAME_MAX}"
    );
    name
}

fn base36(mut n: u32) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap()
}
