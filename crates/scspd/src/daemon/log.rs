//! Where log messages go, at which level, in which format.
//!
//! Messages are `tracing` events. Their severity is the event's level, except that an INFO event
//! whose target is [`NOTICE_TARGET`] (the [`notice!`] macro) is a NOTICE: tracing has no level
//! between INFO and WARN, syslog and the journal do. The server and the DCS a message is about
//! are fields (`server`, `dcs`, and `peer`, the DCS's address) of the spans the event is in (a
//! server task runs in a `server` span, and what it logs about one DCS in a `dcs` span) or of
//! the event itself; the message text does not repeat them.
//!
//! One [`tracing_subscriber::Layer`] ([`SinkLayer`]) filters each event by the configured level,
//! gathers those fields and hands the event to the [`LogSink`]'s current targets, which a
//! reload can replace:
//!
//! - standard output (`-d`) or a file (appended to), as a text line (`2026-05-01T12:00:00.000Z
//!   NOTICE server s_a: DCS 127.0.0.2: Hello Waiting -> Bidirectional (…)`) or one JSON object
//!   (`{"time":…,"level":"notice","server":"s_a","dcs":"127.0.0.2","message":"Hello …"}`);
//! - syslog through the `syslog` crate: RFC 3164 datagrams to `/dev/log`, facility daemon,
//!   tagged `scspd[pid]`, with the severity of the event and the text line's message;
//! - the systemd journal through `tracing-journald`: MESSAGE is the text line's message, PRIORITY
//!   the severity, and SERVER, DCS and PEER are fields of their own. Each event is re-emitted
//!   into a dispatcher of its own holding only the journald layer, at the tracing level whose
//!   default journald priority is the event's severity (NOTICE as INFO, INFO as DEBUG, DEBUG as
//!   TRACE: tracing-journald's default mapping is exactly that shift).

use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Dispatch, Event, Level, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;
use tracing_subscriber::registry::LookupSpan;

use crate::config::{LogConfig, LogFormat, LogLevel};

/// The syslog socket.
pub const SYSLOG_PATH: &str = "/dev/log";
/// The target of NOTICE events (INFO events with this target).
pub const NOTICE_TARGET: &str = "scspd::notice";
/// How long after a failed syslog write before the socket is opened again.
const SYSLOG_RETRY: std::time::Duration = std::time::Duration::from_secs(10);

/// A NOTICE: normal but significant (a neighbour up, an alignment done, a reload). Takes what
/// `tracing::info!` takes.
macro_rules! notice {
    ($($arg:tt)+) => {
        ::tracing::info!(target: $crate::daemon::log::NOTICE_TARGET, $($arg)+)
    };
}
pub(crate) use notice;

/// The severity of an event.
pub fn severity(meta: &Metadata<'_>) -> LogLevel {
    match *meta.level() {
        Level::ERROR => LogLevel::Error,
        Level::WARN => LogLevel::Warn,
        Level::INFO if meta.target() == NOTICE_TARGET => LogLevel::Notice,
        Level::INFO => LogLevel::Info,
        _ => LogLevel::Debug,
    }
}

fn level_code(l: LogLevel) -> u8 {
    l as u8
}

fn level_from_code(c: u8) -> LogLevel {
    LogLevel::ALL
        .get(usize::from(c))
        .copied()
        .unwrap_or(LogLevel::Info)
}

/// The current log targets and filter, shared by the layer and by whoever reconfigures them.
#[derive(Debug)]
pub struct LogSink {
    targets: Mutex<Targets>,
    /// The least severe level written ([`LogLevel`] as u8), read without the lock.
    level: AtomicU8,
}

/// The syslog connection (the `syslog` crate's logger) and where it listens.
struct Syslog {
    path: PathBuf,
    logger: Option<syslog::Logger<syslog::LoggerBackend, syslog::Formatter3164>>,
    /// When the last connection attempt failed.
    failed_at: Option<Instant>,
}

impl std::fmt::Debug for Syslog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Syslog")
            .field("path", &self.path)
            .field("connected", &self.logger.is_some())
            .finish()
    }
}

impl Syslog {
    fn connect(
        path: &Path,
    ) -> Result<syslog::Logger<syslog::LoggerBackend, syslog::Formatter3164>, String> {
        let formatter = syslog::Formatter3164 {
            facility: syslog::Facility::LOG_DAEMON,
            hostname: None,
            process: "scspd".to_owned(),
            pid: std::process::id(),
        };
        syslog::unix_custom(formatter, path).map_err(|e| format!("{e}"))
    }

    /// Open the socket at `path`; the error says why it could not be.
    fn open(path: &Path) -> (Syslog, Option<String>) {
        match Self::connect(path) {
            Ok(l) => (
                Syslog {
                    path: path.to_owned(),
                    logger: Some(l),
                    failed_at: None,
                },
                None,
            ),
            Err(e) => (
                Syslog {
                    path: path.to_owned(),
                    logger: None,
                    failed_at: Some(Instant::now()),
                },
                Some(e),
            ),
        }
    }

    fn send(&mut self, level: LogLevel, text: &str) {
        for _ in 0..2 {
            if self.logger.is_none() {
                if self.failed_at.is_some_and(|t| t.elapsed() < SYSLOG_RETRY) {
                    return;
                }
                match Self::connect(&self.path) {
                    Ok(l) => self.logger = Some(l),
                    Err(_) => {
                        self.failed_at = Some(Instant::now());
                        return;
                    }
                }
            }
            let Some(l) = &mut self.logger else { return };
            let r = match level {
                LogLevel::Error => l.err(text),
                LogLevel::Warn => l.warning(text),
                LogLevel::Notice => l.notice(text),
                LogLevel::Info => l.info(text),
                LogLevel::Debug => l.debug(text),
            };
            if r.is_ok() {
                return;
            }
            // syslogd restarted (or went away): open the socket again, once.
            self.logger = None;
            self.failed_at = None;
        }
        self.failed_at = Some(Instant::now());
    }
}

/// The journal: a dispatcher holding only the journald layer.
struct Journal(Dispatch);

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Journal")
    }
}

impl Journal {
    fn open() -> Result<Journal, String> {
        let layer = tracing_journald::layer()
            .map_err(|e| format!("can't reach the journal: {e}"))?
            .with_field_prefix(None)
            .with_syslog_identifier("scspd".to_owned());
        Ok(Journal(Dispatch::new(
            tracing_subscriber::registry().with(layer),
        )))
    }

    fn send(&self, level: LogLevel, tags: &Tags, text: &str) {
        let (server, dcs, peer) = (
            tags.server.as_deref(),
            tags.dcs.as_deref(),
            tags.peer.as_deref(),
        );
        tracing::dispatcher::with_default(&self.0, || {
            macro_rules! ev {
                ($lvl:expr) => {
                    tracing::event!(target: "scspd", $lvl, server, dcs, peer, "{}", text)
                };
            }
            match level {
                LogLevel::Error => ev!(Level::ERROR),
                LogLevel::Warn => ev!(Level::WARN),
                LogLevel::Notice => ev!(Level::INFO),
                LogLevel::Info => ev!(Level::DEBUG),
                LogLevel::Debug => ev!(Level::TRACE),
            }
        });
    }
}

/// Whether scspd runs under systemd (`JOURNAL_STREAM` or `INVOCATION_ID` in its environment):
/// then, without a `Log File`, it logs to the journal.
pub fn under_systemd() -> bool {
    std::env::var_os("JOURNAL_STREAM").is_some() || std::env::var_os("INVOCATION_ID").is_some()
}

/// Whether standard output is the journal's stream: `JOURNAL_STREAM` (`device:inode`, set by
/// systemd) names the file standard output is.
pub fn stdout_is_journal() -> bool {
    use std::os::unix::fs::MetadataExt;
    let Some(v) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    let Some((dev, ino)) = v.to_str().and_then(|v| v.split_once(':')) else {
        return false;
    };
    match (
        dev.parse::<u64>(),
        ino.parse::<u64>(),
        std::fs::metadata("/proc/self/fd/1"),
    ) {
        (Ok(dev), Ok(ino), Ok(m)) => m.dev() == dev && m.ino() == ino,
        _ => false,
    }
}

/// Where lines go.
#[derive(Debug, Default)]
pub struct Targets {
    stdout: bool,
    format: Option<LogFormat>,
    file: Option<(PathBuf, File)>,
    syslog: Option<Syslog>,
    journal: Option<Journal>,
}

impl Targets {
    /// Standard output only (`-d`), in `format`; or the journal, when standard output is
    /// the journal's stream already (systemd's `JOURNAL_STREAM` names it), so that each line
    /// keeps its priority and fields.
    pub fn stdout(format: LogFormat) -> Targets {
        if stdout_is_journal()
            && let Ok(j) = Journal::open()
        {
            return Targets {
                journal: Some(j),
                format: Some(format),
                ..Targets::default()
            };
        }
        Targets {
            stdout: true,
            format: Some(format),
            ..Targets::default()
        }
    }

    /// The targets of a `Log` configuration: opens the file (append, created if missing), the
    /// journal (under systemd, without a file) or the syslog socket. Fails only when the file
    /// cannot be opened. The second value is a warning for the operator: syslog is the only
    /// target and cannot be reached, so nothing will be logged.
    pub fn from_config(cfg: &LogConfig) -> Result<(Targets, Option<String>), String> {
        Self::from_config_at(cfg, under_systemd(), Path::new(SYSLOG_PATH))
    }

    /// [`Targets::from_config`] with the environment given.
    pub fn from_config_at(
        cfg: &LogConfig,
        systemd: bool,
        syslog_path: &Path,
    ) -> Result<(Targets, Option<String>), String> {
        let file = match &cfg.file {
            Some(path) => Some((path.clone(), open_log_file(path)?)),
            None => None,
        };
        let mut journal = None;
        if systemd && file.is_none() {
            journal = Journal::open().ok();
        }
        let mut warning = None;
        let syslog = if cfg.syslog && journal.is_none() {
            let (s, err) = Syslog::open(syslog_path);
            if let Some(e) = err
                && file.is_none()
            {
                warning = Some(format!(
                    "can't log to syslog: {} is missing or refuses ({e}), and no Log File is \
                     configured: nothing will be logged until syslog listens there",
                    syslog_path.display()
                ));
            }
            Some(s)
        } else {
            None
        };
        Ok((
            Targets {
                stdout: false,
                format: Some(cfg.format),
                file,
                syslog,
                journal,
            },
            warning,
        ))
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
        if let Some(s) = &self.syslog {
            parts.push(format!("syslog ({})", s.path.display()));
        }
        if self.journal.is_some() {
            parts.push("the systemd journal".to_owned());
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
    /// A sink writing to `targets` events of `level` and above.
    pub fn new(targets: Targets, level: LogLevel) -> Arc<LogSink> {
        Arc::new(LogSink {
            targets: Mutex::new(targets),
            level: AtomicU8::new(level_code(level)),
        })
    }

    /// Replace the targets (a reload).
    pub fn set(&self, targets: Targets) {
        *self.lock() = targets;
    }

    /// Change the level.
    pub fn set_level(&self, level: LogLevel) {
        self.level.store(level_code(level), Ordering::Relaxed);
    }

    /// The level now in use.
    pub fn level(&self) -> LogLevel {
        level_from_code(self.level.load(Ordering::Relaxed))
    }

    /// The targets now in use, described.
    pub fn describe(&self) -> String {
        self.lock().describe()
    }

    fn lock(&self) -> MutexGuard<'_, Targets> {
        // A panic while holding the lock cannot leave the targets inconsistent.
        self.targets.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn write(
        &self,
        level: LogLevel,
        tags: &Tags,
        message: &str,
        fields: &[(&'static str, String)],
    ) {
        let mut t = self.lock();
        let text = human_text(tags, message, fields);
        if t.stdout || t.file.is_some() {
            let line = match t.format.unwrap_or(LogFormat::Text) {
                LogFormat::Text => format!("{} {:<5} {text}\n", rfc3339_now(), level_word(level)),
                LogFormat::Json => json_line(level, tags, message, fields),
            };
            if t.stdout {
                let _ = std::io::stdout().lock().write_all(line.as_bytes());
            }
            if let Some((_, f)) = &mut t.file {
                let _ = f.write_all(line.as_bytes());
            }
        }
        if let Some(s) = &mut t.syslog {
            s.send(level, &text);
        }
        if let Some(j) = &t.journal {
            j.send(level, tags, &text);
        }
    }
}

/// The word of a text line.
fn level_word(l: LogLevel) -> &'static str {
    match l {
        LogLevel::Debug => "DEBUG",
        LogLevel::Info => "INFO",
        LogLevel::Notice => "NOTICE",
        LogLevel::Warn => "WARN",
        LogLevel::Error => "ERROR",
    }
}

/// The message for people: `server S: DCS D (peer): message key=value…`.
fn human_text(tags: &Tags, message: &str, fields: &[(&'static str, String)]) -> String {
    let mut text = String::with_capacity(message.len() + 48);
    if let Some(s) = &tags.server {
        let _ = write!(text, "server {s}: ");
    }
    if let Some(d) = &tags.dcs {
        match &tags.peer {
            Some(p) => {
                let _ = write!(text, "DCS {d} ({p}): ");
            }
            None => {
                let _ = write!(text, "DCS {d}: ");
            }
        }
    }
    text.push_str(message);
    for (k, v) in fields {
        let _ = write!(text, " {k}={v}");
    }
    text
}

/// One JSON object: time, level, server, dcs, peer (when known), message, other fields.
fn json_line(
    level: LogLevel,
    tags: &Tags,
    message: &str,
    fields: &[(&'static str, String)],
) -> String {
    let mut m = serde_json::Map::new();
    m.insert("time".into(), rfc3339_now().into());
    m.insert("level".into(), level.name().into());
    if let Some(s) = &tags.server {
        m.insert("server".into(), s.clone().into());
    }
    if let Some(d) = &tags.dcs {
        m.insert("dcs".into(), d.clone().into());
    }
    if let Some(p) = &tags.peer {
        m.insert("peer".into(), p.clone().into());
    }
    m.insert("message".into(), message.into());
    for (k, v) in fields {
        m.entry(*k).or_insert_with(|| v.clone().into());
    }
    let mut line = serde_json::Value::Object(m).to_string();
    line.push('\n');
    line
}

/// Install the global subscriber: events go to `sink`, filtered by its level.
pub fn install(sink: Arc<LogSink>) {
    let layer = SinkLayer { sink };
    // Fails only if a subscriber is installed already (then that one stays).
    let _ = tracing_subscriber::registry().with(layer).try_init();
}

/// The server, DCS and peer an event is about, from its spans and its own fields.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tags {
    /// The server's name.
    pub server: Option<String>,
    /// The DCS's ID, as the configuration writes it.
    pub dcs: Option<String>,
    /// The DCS's address and port.
    pub peer: Option<String>,
}

impl Tags {
    fn take(&mut self, name: &str, value: String) -> Option<String> {
        match name {
            "server" => self.server = Some(value),
            "dcs" => self.dcs = Some(value),
            "peer" => self.peer = Some(value),
            _ => return Some(value),
        }
        None
    }

    fn merge(&mut self, inner: &Tags) {
        if inner.server.is_some() {
            self.server.clone_from(&inner.server);
        }
        if inner.dcs.is_some() {
            self.dcs.clone_from(&inner.dcs);
            self.peer.clone_from(&inner.peer);
        }
        if inner.peer.is_some() {
            self.peer.clone_from(&inner.peer);
        }
    }
}

struct TagVisitor<'a>(&'a mut Tags);

impl Visit for TagVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.take(field.name(), value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.take(field.name(), format!("{value:?}"));
    }
}

/// The layer: filter, gather, write.
struct SinkLayer {
    sink: Arc<LogSink>,
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for SinkLayer {
    fn register_callsite(&self, meta: &'static Metadata<'static>) -> Interest {
        // The level can change at run time (a reload): ask `enabled` at every event.
        if meta.is_span() {
            Interest::always()
        } else {
            Interest::sometimes()
        }
    }

    fn enabled(&self, meta: &Metadata<'_>, _ctx: Context<'_, S>) -> bool {
        meta.is_span() || severity(meta) >= self.sink.level()
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut tags = Tags::default();
        attrs.record(&mut TagVisitor(&mut tags));
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(tags);
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            let mut ext = span.extensions_mut();
            if let Some(tags) = ext.get_mut::<Tags>() {
                values.record(&mut TagVisitor(tags));
            }
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut tags = Tags::default();
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                if let Some(t) = span.extensions().get::<Tags>() {
                    tags.merge(t);
                }
            }
        }
        let mut v = EventVisitor {
            own: Tags::default(),
            message: String::new(),
            fields: Vec::new(),
        };
        event.record(&mut v);
        tags.merge(&v.own);
        self.sink
            .write(severity(event.metadata()), &tags, &v.message, &v.fields);
    }
}

/// Collects the `message` field, the tags, and any other fields.
struct EventVisitor {
    own: Tags,
    message: String,
    fields: Vec<(&'static str, String)>,
}

impl EventVisitor {
    fn field(&mut self, field: &Field, value: String) {
        if field.name() == "message" {
            self.message = value;
        } else if let Some(v) = self.own.take(field.name(), value) {
            self.fields.push((field.name(), v));
        }
    }
}

impl Visit for EventVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.field(field, value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.field(field, format!("{value:?}"));
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixDatagram;

    #[test]
    fn dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(rfc3339(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
    }

    fn tags(server: &str, dcs: Option<(&str, &str)>) -> Tags {
        Tags {
            server: Some(server.to_owned()),
            dcs: dcs.map(|d| d.0.to_owned()),
            peer: dcs.map(|d| d.1.to_owned()),
        }
    }

    #[test]
    fn syslog_datagrams_carry_the_severity() {
        let dir = std::env::temp_dir().join(format!("scspd-syslog-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("log");
        let server = UnixDatagram::bind(&path).unwrap();
        let cfg = LogConfig::default();
        let (targets, warning) = Targets::from_config_at(&cfg, false, &path).unwrap();
        assert_eq!(warning, None);
        assert_eq!(targets.describe(), format!("syslog ({})", path.display()));
        let sink = LogSink::new(targets, LogLevel::Info);
        let t = tags("s", Some(("10.0.0.2", "10.0.0.2:7126")));
        let mut buf = [0u8; 512];
        for (level, pri) in [
            (LogLevel::Warn, "<28>"),
            (LogLevel::Notice, "<29>"),
            (LogLevel::Error, "<27>"),
            (LogLevel::Info, "<30>"),
        ] {
            sink.write(level, &t, "dropped packet", &[]);
            let n = server.recv(&mut buf).unwrap();
            let text = std::str::from_utf8(&buf[..n]).unwrap();
            // Facility daemon (3) * 8 + the severity.
            assert!(text.starts_with(pri), "{text}");
            assert!(
                text.ends_with(&format!(
                    " scspd[{}]: server s: DCS 10.0.0.2 (10.0.0.2:7126): dropped packet",
                    std::process::id()
                )),
                "{text}"
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn missing_syslog_socket_is_said_once() {
        let path = std::env::temp_dir().join(format!("scspd-no-syslog-{}", std::process::id()));
        let (t, warning) = Targets::from_config_at(&LogConfig::default(), false, &path).unwrap();
        let w = warning.expect("a warning");
        assert!(w.contains("nothing will be logged"), "{w}");
        // Writing to it is silent (nowhere to say more) and does not retry at every line.
        let sink = LogSink::new(t, LogLevel::Info);
        sink.write(LogLevel::Warn, &Tags::default(), "x", &[]);
        // With a file, syslog's absence is not worth a warning: the file gets everything.
        let file = std::env::temp_dir().join(format!("scspd-log-{}.log", std::process::id()));
        let cfg = LogConfig {
            file: Some(file.clone()),
            syslog: true,
            ..LogConfig::default()
        };
        let (_, warning) = Targets::from_config_at(&cfg, false, &path).unwrap();
        assert_eq!(warning, None);
        let _ = std::fs::remove_file(&file);
    }

    #[test]
    fn default_log_config_is_syslog() {
        let (t, _) =
            Targets::from_config_at(&LogConfig::default(), false, Path::new(SYSLOG_PATH)).unwrap();
        assert!(t.file.is_none() && !t.stdout && t.syslog.is_some() && t.journal.is_none());
        assert_eq!(t.describe(), "syslog (/dev/log)");
        let bad = LogConfig {
            file: Some("/nonexistent-dir/x.log".into()),
            syslog: false,
            ..LogConfig::default()
        };
        assert!(
            Targets::from_config(&bad)
                .unwrap_err()
                .contains("can't open log file")
        );
    }

    #[test]
    fn text_and_json_lines() {
        let t = tags("s_a", Some(("127.0.0.2", "127.0.0.2:17002")));
        assert_eq!(
            human_text(&t, "dropped", &[("count", "3".into())]),
            "server s_a: DCS 127.0.0.2 (127.0.0.2:17002): dropped count=3"
        );
        let only = Tags {
            server: Some("s_a".into()),
            ..Tags::default()
        };
        assert_eq!(human_text(&only, "stopped", &[]), "server s_a: stopped");
        let line = json_line(LogLevel::Notice, &t, "Hello up", &[("n", "1".into())]);
        assert!(line.ends_with('\n'));
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["level"], "notice");
        assert_eq!(v["server"], "s_a");
        assert_eq!(v["dcs"], "127.0.0.2");
        assert_eq!(v["peer"], "127.0.0.2:17002");
        assert_eq!(v["message"], "Hello up");
        assert_eq!(v["n"], "1");
        assert!(v["time"].as_str().unwrap().ends_with('Z'));
    }

    #[test]
    fn notice_is_between_info_and_warn() {
        assert!(LogLevel::Info < LogLevel::Notice && LogLevel::Notice < LogLevel::Warn);
        for l in LogLevel::ALL {
            assert_eq!(level_from_code(level_code(l)), l);
        }
    }
}
