//! Where carpd's log lines go: stderr in the foreground, syslog (facility daemon, ident carpd)
//! otherwise; run as ucarp, where ucarp's `--facility` and `--daemonize` say. One cheap, cloneable handle shared by the engines and the hook runner.

use std::io::Write;
use std::sync::{Arc, Mutex};

type SyslogWriter = syslog::Logger<syslog::LoggerBackend, syslog::Formatter3164>;

enum Sink {
    Stderr,
    Syslog(SyslogWriter),
    /// Both, as ucarp logs in the foreground.
    Tee(SyslogWriter),
    /// Nowhere (ucarp's `--facility none` with `--daemonize`).
    Discard,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Error,
    Warning,
    Info,
    Debug,
}

#[derive(Clone)]
pub struct Log {
    sink: Arc<Mutex<Sink>>,
    debug: bool,
}

impl std::fmt::Debug for Log {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Log")
    }
}

impl Log {
    pub fn stderr(debug: bool) -> Log {
        Log {
            sink: Arc::new(Mutex::new(Sink::Stderr)),
            debug,
        }
    }

    /// Syslog when the local syslog socket answers; stderr otherwise (said once on stderr).
    pub fn syslog(debug: bool) -> Log {
        Log::syslog_as("carpd", syslog::Facility::LOG_DAEMON, false, debug)
    }

    /// Syslog under this ident and facility, and also stderr when `tee` (carpd run as ucarp
    /// logs where ucarp does). Stderr alone when no syslog socket answers.
    pub fn syslog_as(ident: &str, facility: syslog::Facility, tee: bool, debug: bool) -> Log {
        let formatter = syslog::Formatter3164 {
            facility,
            hostname: None,
            process: ident.into(),
            pid: std::process::id(),
        };
        let sink = match syslog::unix(formatter) {
            Ok(writer) if tee => Sink::Tee(writer),
            Ok(writer) => Sink::Syslog(writer),
            Err(err) => {
                eprintln!("{ident}: syslog unavailable ({err}); logging to stderr");
                Sink::Stderr
            }
        };
        Log {
            sink: Arc::new(Mutex::new(sink)),
            debug,
        }
    }

    /// A log that keeps nothing.
    pub fn discard() -> Log {
        Log {
            sink: Arc::new(Mutex::new(Sink::Discard)),
            debug: false,
        }
    }

    pub fn log(&self, level: Level, msg: &str) {
        if level == Level::Debug && !self.debug {
            return;
        }
        let mut sink = self.sink.lock().unwrap_or_else(|p| p.into_inner());
        match &mut *sink {
            Sink::Stderr => to_stderr(level, msg),
            Sink::Syslog(writer) => to_syslog(writer, level, msg),
            Sink::Tee(writer) => {
                to_syslog(writer, level, msg);
                to_stderr(level, msg);
            }
            Sink::Discard => {}
        }
    }

    pub fn info(&self, msg: &str) {
        self.log(Level::Info, msg)
    }
    pub fn warn(&self, msg: &str) {
        self.log(Level::Warning, msg)
    }
    pub fn error(&self, msg: &str) {
        self.log(Level::Error, msg)
    }
    pub fn debug(&self, msg: &str) {
        self.log(Level::Debug, msg)
    }
}

fn to_stderr(level: Level, msg: &str) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let tag = match level {
        Level::Error => "error: ",
        Level::Warning => "warning: ",
        Level::Info | Level::Debug => "",
    };
    let _ = writeln!(
        std::io::stderr().lock(),
        "{}.{:03} carpd: {tag}{msg}",
        now.as_secs(),
        now.subsec_millis()
    );
}

fn to_syslog(writer: &mut SyslogWriter, level: Level, msg: &str) {
    // A lost syslog line must never stop the daemon.
    let _ = match level {
        Level::Error => writer.err(msg),
        Level::Warning => writer.warning(msg),
        Level::Info => writer.info(msg),
        Level::Debug => writer.debug(msg),
    };
}

/// Rate limiter for repetitive log lines (bad packets): at most one line per key per interval,
/// telling how many were suppressed in between.
#[derive(Debug, Default)]
pub struct RateLimit {
    last: std::collections::HashMap<String, (std::time::Instant, u64)>,
}

impl RateLimit {
    /// `Some(suppressed)` when a line for `key` may be logged now.
    pub fn allow(
        &mut self,
        key: &str,
        now: std::time::Instant,
        every: std::time::Duration,
    ) -> Option<u64> {
        match self.last.get_mut(key) {
            Some((at, suppressed)) if now.duration_since(*at) < every => {
                *suppressed += 1;
                None
            }
            Some((at, suppressed)) => {
                let n = *suppressed;
                *at = now;
                *suppressed = 0;
                Some(n)
            }
            None => {
                self.last.insert(key.to_string(), (now, 0));
                Some(0)
            }
        }
    }
}
