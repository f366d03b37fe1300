//! `carpd events [--json]`: follow the daemon's event stream, one line per event — the JSON as
//! the daemon sends it, or a readable line with a UTC time.

use clap::Args;

use crate::control::{Request, client};

#[derive(Args, Debug)]
pub struct EventsArgs {
    /// Print each event as the daemon's JSON line
    #[arg(long)]
    pub json: bool,
}

pub fn run(g: &super::Global, a: EventsArgs) -> anyhow::Result<u8> {
    let socket = g.paths().control_socket();
    let mut stdout = std::io::stdout().lock();
    let result = client::stream(&socket, &Request::Events, |line| {
        let text = if a.json {
            line.to_string()
        } else {
            match serde_json::from_str::<serde_json::Value>(line) {
                Ok(v) => human(&v),
                Err(_) => line.to_string(),
            }
        };
        // A reader that went away (`carpd events | head`) ends the stream.
        std::io::Write::write_all(&mut stdout, format!("{text}\n").as_bytes()).is_ok()
            && std::io::Write::flush(&mut stdout).is_ok()
    });
    match result {
        Ok(()) => Ok(0),
        Err(err) => Ok(super::client::report_error(&err, a.json)),
    }
}

/// One event as a line for people.
fn human(v: &serde_json::Value) -> String {
    let s = |k: &str| v[k].as_str().unwrap_or("").to_string();
    let at = v["at"].as_f64().map(utc).unwrap_or_default();
    let vhid = || format!("{}@{}", v["vhid"], s("device"));
    match v["event"].as_str().unwrap_or("") {
        "snapshot" => {
            let report = &v["report"];
            let vhids: Vec<String> = report["vhids"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|x| {
                            format!(
                                "{}@{} {}",
                                x["vhid"],
                                x["device"].as_str().unwrap_or(""),
                                x["state"].as_str().unwrap_or("")
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            format!(
                "snapshot ({} engine): {}; demotion {}",
                report["engine"].as_str().unwrap_or("?"),
                if vhids.is_empty() {
                    "no VHIDs".to_string()
                } else {
                    vhids.join(", ")
                },
                report["carp"]["demotion"]
            )
        }
        "transition" => format!(
            "{at} {} {} -> {} ({})",
            vhid(),
            s("from"),
            s("to"),
            s("reason")
        ),
        "demotion" => {
            let parts: Vec<String> = v["demotions"]
                .as_object()
                .map(|o| o.iter().map(|(k, n)| format!("{k} {n}")).collect())
                .unwrap_or_default();
            format!("{at} demotion {} ({})", v["total"], parts.join(" + "))
        }
        "check" => format!(
            "{at} check {} {}: {}",
            s("name"),
            if v["ok"].as_bool() == Some(true) {
                "ok"
            } else {
                "failing"
            },
            s("detail")
        ),
        "hook" => format!(
            "{at} hook {} for {} {}: {}",
            s("hook"),
            vhid(),
            s("state"),
            match (v["timed_out"].as_bool(), v["exit_code"].as_i64()) {
                (Some(true), _) => "killed at its timeout".to_string(),
                (_, Some(c)) => format!("exit {c} after {} ms", v["duration_ms"]),
                _ => "did not run".to_string(),
            }
        ),
        "drops" => format!(
            "{at} {} dropped {} advert(s) ({})",
            match v["vhid"].as_u64() {
                Some(n) => format!("{n}@{}", s("device")),
                None => s("device"),
            },
            v["count"],
            s("reason")
        ),
        "dual_master" => format!(
            "{at} DUAL MASTER {}: {} ({})",
            vhid(),
            s("source"),
            s("why")
        ),
        "readiness" => format!(
            "{at} {}: {}",
            if v["ready"].as_bool() == Some(true) {
                "ready"
            } else {
                "not ready"
            },
            s("detail")
        ),
        "missed" => format!("(fell behind: {} event(s) missed)", v["count"]),
        _ => v.to_string(),
    }
}

/// `2026-12-02T01:52:03.123Z`.
fn utc(secs: f64) -> String {
    let whole = secs.floor() as i64;
    let millis = ((secs - secs.floor()) * 1000.0) as i64;
    let (days, rem) = (whole.div_euclid(86400), whole.rem_euclid(86400));
    // Civil date from days since 1970-01-01 (H. Hinnant's `civil_from_days`).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_times() {
        assert_eq!(utc(0.0), "1970-01-01T00:00:00.000Z");
        assert_eq!(utc(1_796_176_323.123_5), "2026-12-02T01:52:03.123Z");
        assert_eq!(utc(951_782_400.0), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn lines_for_people() {
        let t = serde_json::json!({"event":"transition","vhid":1,"device":"eth0","from":"BACKUP",
            "to":"MASTER","reason":"master timed out","at":0.5});
        assert_eq!(
            human(&t),
            "1970-01-01T00:00:00.500Z 1@eth0 BACKUP -> MASTER (master timed out)"
        );
        let m = serde_json::json!({"event":"missed","count":3});
        assert_eq!(human(&m), "(fell behind: 3 event(s) missed)");
    }
}
