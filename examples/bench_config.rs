//! Benchmark of the config.xml reader on a production-sized file.
//!
//! `bench_config generate PATH [MB]` writes a config.xml of about MB megabytes (default 50):
//! tens of thousands of filter rules and aliases around 200 CARP/alias VIPs.
//! `bench_config load PATH [ROUNDS]` loads it with `carpd::config::load` (streaming from the
//! file) and `parse` (from memory), printing the times and the process's peak RSS.
//! Run both through `scripts/bench-config`, which keeps generation out of the measured process.

use std::io::Write;
use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("generate") if args.len() >= 3 => {
            let mb: usize = args.get(3).map_or(Ok(50), |s| s.parse())?;
            generate(&args[2], mb)
        }
        Some("load") if args.len() >= 3 => {
            let rounds: u32 = args.get(3).map_or(Ok(5), |s| s.parse())?;
            load(&args[2], rounds)
        }
        _ => anyhow::bail!("usage: bench_config generate PATH [MB] | load PATH [ROUNDS]"),
    }
}

fn generate(path: &str, mb: usize) -> anyhow::Result<()> {
    let mut out = Out {
        w: std::io::BufWriter::new(std::fs::File::create(path)?),
        written: 0,
    };
    let target = mb << 20;
    out.emit("<?xml version=\"1.0\"?>\n<opnsense>\n  <interfaces>\n")?;
    for i in 0..20 {
        out.emit(
            &format!(
                "    <opt{i}>\n      <enable>1</enable>\n      <if>vlan0.{}</if>\n      <descr>VLAN {i}</descr>\n      <ipaddr>10.{i}.0.2</ipaddr>\n      <subnet>24</subnet>\n    </opt{i}>\n",
                100 + i
            )
        )?;
    }
    out.emit("  </interfaces>\n  <virtualip version=\"1.0.1\">\n")?;
    let mut vips = 0;
    for i in 0..20 {
        for k in 0..10 {
            let (mode, vhid) = if k == 0 {
                ("carp", i + 1)
            } else {
                ("ipalias", i + 1)
            };
            out.emit(
                &format!(
                    "    <vip uuid=\"00000000-0000-4000-8000-{vips:012}\">\n      <interface>opt{i}</interface>\n      <mode>{mode}</mode>\n      <subnet>10.{i}.0.{}</subnet>\n      <subnet_bits>24</subnet_bits>\n      <password>bench-key-{i}</password>\n      <vhid>{vhid}</vhid>\n      <advbase>1</advbase>\n      <advskew>0</advskew>\n      <peer/>\n      <peer6/>\n      <descr>VIP {vips}</descr>\n    </vip>\n",
                    10 + k
                )
            )?;
            vips += 1;
        }
    }
    out.emit("  </virtualip>\n  <filter>\n")?;
    let mut rules = 0usize;
    // Leave room for the closing tags.
    while out.written + 256 < target {
        rules += 1;
        out.emit(
            &format!(
                "    <rule uuid=\"{rules:08x}-1111-4000-8000-000000000000\">\n      <type>pass</type>\n      <interface>opt{}</interface>\n      <ipprotocol>inet</ipprotocol>\n      <statetype>keep state</statetype>\n      <protocol>tcp</protocol>\n      <source>\n        <address>198.51.100.{}</address>\n      </source>\n      <destination>\n        <network>opt{}</network>\n        <port>{}</port>\n      </destination>\n      <log>1</log>\n      <descr>generated rule {rules} &amp; friends</descr>\n      <created>\n        <username>root@203.0.113.7</username>\n        <time>1767225600.0000</time>\n        <description>/firewall_rules_edit.php made changes</description>\n      </created>\n    </rule>\n",
                rules % 20,
                rules % 250,
                (rules + 3) % 20,
                1024 + rules % 60000
            )
        )?;
    }
    out.emit("  </filter>\n</opnsense>\n")?;
    out.w.flush()?;
    println!(
        "generated {path}: {:.1} MB, {rules} filter rules, {vips} VIPs (20 CARP groups)",
        out.written as f64 / (1 << 20) as f64
    );
    Ok(())
}

/// A file writer that counts what it wrote.
struct Out {
    w: std::io::BufWriter<std::fs::File>,
    written: usize,
}

impl Out {
    fn emit(&mut self, s: &str) -> anyhow::Result<()> {
        self.written += s.len();
        self.w.write_all(s.as_bytes())?;
        Ok(())
    }
}

fn load(path: &str, rounds: u32) -> anyhow::Result<()> {
    let size = std::fs::metadata(path)?.len();
    println!("file: {path} ({:.1} MB)", size as f64 / (1 << 20) as f64);
    println!("peak RSS before loading: {}", peak_rss());

    let mut best = f64::MAX;
    let mut groups = 0;
    for _ in 0..rounds {
        let t = Instant::now();
        let loaded = carpd::config::load(std::path::Path::new(path))?;
        best = best.min(t.elapsed().as_secs_f64());
        groups = loaded.model.groups.len();
    }
    println!(
        "config::load (streamed from the file): best of {rounds}: {:.1} ms, {:.0} MB/s, {groups} CARP groups",
        best * 1e3,
        size as f64 / (1 << 20) as f64 / best
    );
    println!("peak RSS after load: {}", peak_rss());

    let bytes = std::fs::read(path)?;
    let mut best = f64::MAX;
    for _ in 0..rounds {
        let t = Instant::now();
        let loaded = carpd::config::parse(&bytes)?;
        best = best.min(t.elapsed().as_secs_f64());
        groups = loaded.model.groups.len();
    }
    println!(
        "config::parse (file already in memory): best of {rounds}: {:.1} ms, {:.0} MB/s, {groups} CARP groups",
        best * 1e3,
        size as f64 / (1 << 20) as f64 / best
    );
    println!(
        "peak RSS after parse (includes the file held in memory): {}",
        peak_rss()
    );
    Ok(())
}

/// VmHWM from /proc (Linux); elsewhere not measured here (use `/usr/bin/time -l`).
fn peak_rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l["VmHWM:".len()..].trim().to_string())
        })
        .unwrap_or_else(|| "n/a (no /proc/self/status)".to_string())
}
