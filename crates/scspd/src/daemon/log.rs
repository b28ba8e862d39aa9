//! Where log messages go: standard output (`-d`), a file (appended to), syslog, or both of the
//! last two, as the configuration's `Log` statement says (neither: syslog).
//!
//! Messages are `tracing` events. One [`tracing_subscriber::Layer`] formats each event as one
//! line and hands it to the [`LogSink`]'s current targets, which a reload can replace.
//! Syslog is spoken without libc: RFC 3164-style datagrams (`<PRI>Mmm dd hh:mm:ss scspd[pid]:
//! message`, facility daemon) sent to `/dev/log` from an unbound UNIX datagram socket. The time
//! stamps are UTC (the local time zone is not known without libc); syslog daemons generally
//! stamp messages on receipt anyway.

use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;

use crate::config::LogConfig;

/// The syslog socket.
pub const SYSLOG_PATH: &str = "/dev/log";
/// Syslog facility `LOG_DAEMON`.
const FACILITY_DAEMON: u8 = 3;

/// The current log targets, shared by the layer and by whoever reconfigures them.
#[derive(Debug, Default)]
pub struct LogSink {
    targets: Mutex<Targets>,
}

/// Where lines go.
#[derive(Debug, Default)]
pub struct Targets {
    stdout: bool,
    file: Option<(PathBuf, File)>,
    /// The socket, and where syslog listens.
    syslog: Option<(UnixDatagram, PathBuf)>,
}

impl Targets {
    /// Standard output only (`-d`).
    pub fn stdout() -> Targets {
        Targets {
            stdout: true,
            ..Targets::default()
        }
    }

    /// The targets of a `Log` configuration: opens the file (append, created if missing) and
    /// the syslog socket. Fails only when the file cannot be opened.
    pub fn from_config(cfg: &LogConfig) -> Result<Targets, String> {
        let file = match &cfg.file {
            Some(path) => Some((path.clone(), open_log_file(path)?)),
            None => None,
        };
        let syslog = (cfg.syslog || cfg.file.is_none())
            .then(UnixDatagram::unbound)
            .and_then(Result::ok)
            .map(|s| (s, PathBuf::from(SYSLOG_PATH)));
        Ok(Targets {
            stdout: false,
            file,
            syslog,
        })
    }

    /// A short description, for the log itself.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if self.stdout {
            parts.push("standard output".to_owned());
        }
        if let Some((p, _)) = &self.file {
            parts.push(format!("file {}", p.display()));
        }
        if let Some((_, path)) = &self.syslog {
            parts.push(format!("syslog ({})", path.display()));
        }
        if parts.is_empty() {
            "nowhere".to_owned()
        } else {
            parts.join(" and ")
        }
    }
}

fn open_log_file(path: &Path) -> Result<File, String> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| format!("can't open log file {}: {e}", path.display()))
}

impl LogSink {
    /// A sink writing to `targets`.
    pub fn new(targets: Targets) -> Arc<LogSink> {
        Arc::new(LogSink {
            targets: Mutex::new(targets),
        })
    }

    /// Replace the targets (a reload).
    pub fn set(&self, targets: Targets) {
        *self.lock() = targets;
    }

    /// The targets now in use, described.
    pub fn describe(&self) -> String {
        self.lock().describe()
    }

    fn lock(&self) -> MutexGuard<'_, Targets> {
        // A panic while holding the lock cannot leave the targets inconsistent.
        self.targets.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self, level: Level, message: &str) {
        let mut t = self.lock();
        if t.stdout || t.file.is_some() {
            let line = format!("{} {:<5} {message}\n", rfc3339_now(), level.as_str());
            if t.stdout {
                let _ = std::io::stdout().lock().write_all(line.as_bytes());
            }
            if let Some((_, f)) = &mut t.file {
                let _ = f.write_all(line.as_bytes());
            }
        }
        if let Some((sock, path)) = &t.syslog {
            let _ = sock.send_to(syslog_datagram(level, message).as_bytes(), path);
        }
    }
}

/// An RFC 3164-style syslog message, facility daemon: `<PRI>Mmm dd hh:mm:ss scspd[pid]: text`.
fn syslog_datagram(level: Level, message: &str) -> String {
    let severity = match level {
        Level::ERROR => 3,
        Level::WARN => 4,
        Level::INFO => 6,
        _ => 7,
    };
    let pri = FACILITY_DAEMON * 8 + severity;
    format!(
        "<{pri}>{} scspd[{}]: {message}",
        syslog_time_now(),
        std::process::id()
    )
}

/// Install the global subscriber: events up to `max` go to `sink`.
pub fn install(sink: Arc<LogSink>, max: Level) {
    let layer = SinkLayer { sink, max };
    // Fails only if a subscriber is installed already (then that one stays).
    let _ = tracing_subscriber::registry().with(layer).try_init();
}

struct SinkLayer {
    sink: Arc<LogSink>,
    max: Level,
}

impl<S: Subscriber> Layer<S> for SinkLayer {
    fn enabled(&self, metadata: &tracing::Metadata<'_>, _ctx: Context<'_, S>) -> bool {
        *metadata.level() <= self.max
    }

    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut v = MessageVisitor::default();
        event.record(&mut v);
        self.sink.write(*event.metadata().level(), &v.into_text());
    }
}

/// Collects the `message` field, then any other fields as ` name=value`.
#[derive(Default)]
struct MessageVisitor {
    message: String,
    fields: String,
}

impl MessageVisitor {
    fn into_text(mut self) -> String {
        self.message.push_str(&self.fields);
        self.message
    }
}

impl Visit for MessageVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.fields, " {}={value}", field.name());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }
}

/// Civil date from days since 1970-01-01 (H. Hinnant's algorithm): (year, month 1-12, day).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// The broken-down UTC time of `ms` milliseconds since the UNIX epoch:
/// (year, month, day, hour, minute, second, millisecond).
pub fn utc(ms: u64) -> (i64, u32, u32, u32, u32, u32, u32) {
    let secs = (ms / 1000) as i64;
    let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400) as u32;
    (y, mo, d, s / 3600, s / 60 % 60, s % 60, (ms % 1000) as u32)
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// `YYYY-MM-DDThh:mm:ss.mmmZ` for `ms` since the UNIX epoch.
pub fn rfc3339(ms: u64) -> String {
    let (y, mo, d, h, mi, s, milli) = utc(ms);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{milli:03}Z")
}

/// The current time as [`rfc3339`].
pub fn rfc3339_now() -> String {
    rfc3339(now_ms())
}

fn syslog_time_now() -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (_, mo, d, h, mi, s, _) = utc(now_ms());
    let month = MONTHS[(mo as usize).saturating_sub(1) % 12];
    format!("{month} {d:>2} {h:02}:{mi:02}:{s:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(rfc3339(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
    }

    #[test]
    fn syslog_datagrams() {
        let dir = std::env::temp_dir().join(format!("scspd-syslog-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("log");
        let server = UnixDatagram::bind(&path).unwrap();
        let sink = LogSink::new(Targets {
            stdout: false,
            file: None,
            syslog: Some((UnixDatagram::unbound().unwrap(), path.clone())),
        });
        sink.write(
            Level::WARN,
            "server s: DCS 10.0.0.2 (10.0.0.2:7126): dropped packet",
        );
        let mut buf = [0u8; 512];
        let n = server.recv(&mut buf).unwrap();
        let text = std::str::from_utf8(&buf[..n]).unwrap();
        // Facility daemon (3) * 8 + warning (4).
        assert!(text.starts_with("<28>"), "{text}");
        let (stamp, rest) = text[4..].split_at(15);
        assert_eq!(stamp.as_bytes()[3], b' ', "{text}");
        assert_eq!(&stamp[9..10], ":", "{text}");
        assert_eq!(
            rest,
            format!(
                " scspd[{}]: server s: DCS 10.0.0.2 (10.0.0.2:7126): dropped packet",
                std::process::id()
            )
        );
        assert!(syslog_datagram(Level::ERROR, "x").starts_with("<27>"));
        assert!(syslog_datagram(Level::INFO, "x").starts_with("<30>"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn default_log_config_is_syslog() {
        let t = Targets::from_config(&LogConfig::default()).unwrap();
        assert!(t.file.is_none() && !t.stdout);
        assert_eq!(t.describe(), "syslog (/dev/log)");
        let bad = LogConfig {
            file: Some("/nonexistent-dir/x.log".into()),
            syslog: false,
        };
        assert!(
            Targets::from_config(&bad)
                .unwrap_err()
                .contains("can't open log file")
        );
    }
}
