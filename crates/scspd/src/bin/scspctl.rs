//! `scspctl`: the operator's tool for a running scspd (see docs/client-protocol.md).
#![forbid(unsafe_code)]

use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::{Parser, Subcommand};
use serde::Serialize;

use scspd::client::{Client, ClientError, FrameError};
use scspd::proto::{
    DEFAULT_SOCKET, DcsView, EntryView, KeyData, MAX_FRAME, Notify, Request, Response, ServerView,
};

const AFTER_HELP: &str = "\
Exit status: 0 success, 1 scspd refused the request, 2 usage error (bad arguments, bad load
file), 3 cannot reach or understand scspd.

Hex arguments may start with 0x and use '.' or ':' between groups of an even number of digits
(0a.00.00.01, 0x0a:00:00:01).";

/// Inspect and control a running scspd.
#[derive(Debug, Parser)]
#[command(name = "scspctl", version, after_help = AFTER_HELP)]
struct Cli {
    /// scspd's control socket.
    #[arg(short, long, value_name = "PATH", env = "SCSPD_SOCKET", default_value = DEFAULT_SOCKET)]
    socket: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Show servers, DCSs or a cache.
    #[command(subcommand)]
    Show(Show),
    /// Originate or update an entry of a server's local cache.
    Add {
        /// Server name.
        server: String,
        /// Cache key, hex.
        key: String,
        /// Protocol-specific data, hex.
        data: String,
    },
    /// Withdraw an entry originated here.
    Del {
        /// Server name.
        server: String,
        /// Cache key, hex.
        key: String,
    },
    /// Originate every entry of a file: one "KEY-HEX DATA-HEX" a line, '#' comments.
    Load {
        /// Server name.
        server: String,
        /// The file ("-" for standard input).
        file: PathBuf,
        /// Entries per request.
        #[arg(long, value_name = "N", default_value_t = 50_000, value_parser = clap::value_parser!(u32).range(1..))]
        batch: u32,
    },
    /// Print scspd's text dump of every server, DCS and entry.
    Dump,
    /// Make scspd reload its configuration file (as SIGHUP does).
    Reload,
    /// Attach to a server as its local server and print cache changes as they happen.
    ///
    /// Only one client can be attached to a server at a time.
    Watch {
        /// Server name.
        server: String,
        /// Ask to confirm each new remote entry, and accept them all.
        #[arg(long)]
        confirm: bool,
        /// One JSON object a line instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum Show {
    /// Every configured server.
    Servers {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Every DCS, of one server or of all.
    Dcs {
        /// Only this server.
        server: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// The cache of a server.
    Cache {
        /// Server name.
        server: String,
        /// Print JSON (full data).
        #[arg(long)]
        json: bool,
    },
}

/// How a command failed, and so the exit status.
#[derive(Debug)]
enum Failure {
    /// scspd refused (exit 1); the message is already printed when empty.
    Refused(String),
    /// Bad arguments or input (exit 2).
    Usage(String),
    /// scspd unreachable or incomprehensible (exit 3).
    Unreachable(String),
}

impl From<ClientError> for Failure {
    fn from(e: ClientError) -> Self {
        if matches!(e, ClientError::Frame(FrameError::Closed)) {
            Failure::Unreachable("scspd closed the connection".into())
        } else if e.is_daemon_refusal() {
            Failure::Refused(e.to_string())
        } else {
            Failure::Unreachable(e.to_string())
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (msg, code) = match run(cli) {
        Ok(()) => return ExitCode::SUCCESS,
        Err(Failure::Refused(m)) => (m, 1),
        Err(Failure::Usage(m)) => (m, 2),
        Err(Failure::Unreachable(m)) => (m, 3),
    };
    if !msg.is_empty() {
        eprintln!("scspctl: {msg}");
    }
    ExitCode::from(code)
}

fn connect(socket: &Path) -> Result<Client, Failure> {
    Ok(Client::connect_as(socket, "scspctl")?)
}

fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Show(Show::Servers { json }) => {
            let servers = match connect(&cli.socket)?.request(Request::ShowServers)? {
                Response::Servers { servers } => servers,
                other => return Err(unexpected(&other)),
            };
            if json {
                out_json(&servers)
            } else {
                out(&servers_table(&servers))
            }
        }
        Command::Show(Show::Dcs { server, json }) => {
            let dcs = match connect(&cli.socket)?.request(Request::ShowDcs { server })? {
                Response::Dcs { dcs } => dcs,
                other => return Err(unexpected(&other)),
            };
            if json {
                out_json(&dcs)
            } else {
                out(&dcs_table(&dcs))
            }
        }
        Command::Show(Show::Cache { server, json }) => {
            let entries = match connect(&cli.socket)?.request(Request::ShowCache { server })? {
                Response::Cache { entries } => entries,
                other => return Err(unexpected(&other)),
            };
            if json {
                out_json(&entries)
            } else {
                out(&cache_table(&entries))
            }
        }
        Command::Add { server, key, data } => {
            let key = parse_key("key", &key).map_err(Failure::Usage)?;
            let data = parse_hex("data", &data).map_err(Failure::Usage)?;
            let req = Request::Add {
                server,
                key: key.clone(),
                data,
            };
            match connect(&cli.socket)?.request(req)? {
                Response::Added { seq } => out(&format!("added {key} seq {seq:#010x}\n")),
                other => Err(unexpected(&other)),
            }
        }
        Command::Del { server, key } => {
            let key = parse_key("key", &key).map_err(Failure::Usage)?;
            match connect(&cli.socket)?.request(Request::Del {
                server,
                key: key.clone(),
            })? {
                Response::Done => out(&format!("deleted {key}\n")),
                other => Err(unexpected(&other)),
            }
        }
        Command::Load {
            server,
            file,
            batch,
        } => load(&cli.socket, &server, &file, batch as usize),
        Command::Dump => match connect(&cli.socket)?.request(Request::Dump)? {
            Response::Dump { mut text } => {
                if !text.is_empty() && !text.ends_with('\n') {
                    text.push('\n');
                }
                out(&text)
            }
            other => Err(unexpected(&other)),
        },
        Command::Reload => match connect(&cli.socket)?.request(Request::Reload)? {
            Response::Done => out("configuration reloaded\n"),
            other => Err(unexpected(&other)),
        },
        Command::Watch {
            server,
            confirm,
            json,
        } => watch(&cli.socket, server, confirm, json),
    }
}

fn unexpected(r: &Response) -> Failure {
    let kind = serde_json::to_value(r)
        .ok()
        .and_then(|v| v.get("kind").and_then(|k| k.as_str().map(str::to_owned)))
        .unwrap_or_default();
    Failure::Unreachable(format!("protocol error: unexpected {kind:?} response"))
}

/// Writes to stdout; a closed pipe (`scspctl show cache x | head`) ends the program quietly.
fn out(s: &str) -> Result<(), Failure> {
    let mut stdout = io::stdout().lock();
    match stdout.write_all(s.as_bytes()).and_then(|()| stdout.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => Err(Failure::Unreachable(format!("writing output: {e}"))),
    }
}

fn out_json<T: Serialize + ?Sized>(v: &T) -> Result<(), Failure> {
    let mut s = serde_json::to_string_pretty(v).expect("views serialize");
    s.push('\n');
    out(&s)
}

// ---------------------------------------------------------------------------------------------
// load

fn load(socket: &Path, server: &str, file: &Path, batch: usize) -> Result<(), Failure> {
    let name = file.display().to_string();
    let parsed = if file == Path::new("-") {
        parse_load(io::stdin().lock())
    } else {
        File::open(file).and_then(|f| parse_load(BufReader::new(f)))
    };
    let (entries, errors) = parsed.map_err(|e| Failure::Usage(format!("{name}: {e}")))?;
    if !errors.is_empty() {
        for e in &errors {
            eprintln!("{name}:{}: {}", e.line, e.message);
        }
        let n = errors.len();
        let s = if n == 1 { "" } else { "s" };
        return Err(Failure::Usage(format!(
            "{n} error{s} in {name}; nothing loaded"
        )));
    }
    let mut client = if entries.is_empty() {
        None
    } else {
        Some(connect(socket)?)
    };
    let (mut accepted, mut refused) = (0u64, 0u64);
    for chunk in batches(entries, batch) {
        let client = client.as_mut().expect("connected when there are entries");
        let req = Request::Load {
            server: server.to_owned(),
            entries: chunk,
        };
        match client.request(req) {
            Ok(Response::Loaded {
                accepted: a,
                errors,
            }) => {
                accepted += a;
                refused += errors.len() as u64;
                for e in errors {
                    eprintln!("scspctl: {name}: refused: {e}");
                }
            }
            Ok(other) => return Err(unexpected(&other)),
            Err(e) => {
                if accepted + refused > 0 {
                    out(&format!(
                        "loaded {accepted} entries ({refused} refused) before the error\n"
                    ))?;
                }
                return Err(e.into());
            }
        }
    }
    out(&format!("loaded {accepted} entries ({refused} refused)\n"))?;
    if refused > 0 {
        return Err(Failure::Refused(String::new()));
    }
    Ok(())
}

/// Splits `entries` into requests of at most `max` entries and at most half a frame of JSON.
fn batches(entries: Vec<KeyData>, max: usize) -> Vec<Vec<KeyData>> {
    const BUDGET: usize = MAX_FRAME / 2;
    let mut out = Vec::new();
    let mut cur = Vec::new();
    let mut bytes = 0;
    for e in entries {
        let size = e.key.len() + e.data.len() + 24; // {"key":"","data":""},
        if !cur.is_empty() && (cur.len() >= max || bytes + size > BUDGET) {
            out.push(std::mem::take(&mut cur));
            bytes = 0;
        }
        bytes += size;
        cur.push(e);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// A bad line of a load file.
#[derive(Debug, PartialEq, Eq)]
struct LineError {
    line: usize,
    message: String,
}

/// Parses a load file: one `KEY DATA` (hex) a line; `#` starts a comment; blank lines are
/// skipped. Returns the entries and every bad line.
fn parse_load<R: BufRead>(mut r: R) -> io::Result<(Vec<KeyData>, Vec<LineError>)> {
    let mut entries = Vec::new();
    let mut errors = Vec::new();
    let mut buf = Vec::new();
    let mut line = 0;
    loop {
        buf.clear();
        if r.read_until(b'\n', &mut buf)? == 0 {
            break;
        }
        line += 1;
        let Ok(text) = std::str::from_utf8(&buf) else {
            errors.push(LineError {
                line,
                message: "not UTF-8".into(),
            });
            continue;
        };
        let text = text.split('#').next().unwrap_or_default();
        let fields: Vec<&str> = text.split_whitespace().collect();
        let result = match fields[..] {
            [] => continue,
            [key, data] => parse_key("key", key).and_then(|key| {
                parse_hex("data", data).map(|data| KeyData {
                    key,
                    data,
                    seq: None,
                })
            }),
            [_] => Err("expected KEY DATA, found only one field".to_owned()),
            _ => Err(format!("expected KEY DATA, found {} fields", fields.len())),
        };
        match result {
            Ok(e) => entries.push(e),
            Err(message) => errors.push(LineError { line, message }),
        }
    }
    Ok((entries, errors))
}

// ---------------------------------------------------------------------------------------------
// watch

fn watch(socket: &Path, server: String, confirm: bool, json: bool) -> Result<(), Failure> {
    let mut client = connect(socket)?;
    let req = Request::Attach {
        server: server.clone(),
        confirm,
    };
    let n = match client.request(req)? {
        Response::Attached { entries } => entries.len(),
        other => return Err(unexpected(&other)),
    };
    eprintln!("scspctl: attached to {server} ({n} live entries); waiting for changes");
    loop {
        let notify = client.next_notify()?;
        if json {
            let mut line = serde_json::to_string(&notify).expect("notifications serialize");
            line.push('\n');
            out(&line)?;
        } else {
            out(&notify_line(now_utc(), &notify))?;
        }
        if let Notify::Confirm { server, token, .. } = notify {
            match client.request(Request::Confirm {
                server,
                token,
                accept: true,
            })? {
                Response::Done => {}
                other => return Err(unexpected(&other)),
            }
        }
    }
}

/// One line describing a notification.
fn notify_line(time: String, n: &Notify) -> String {
    let (event, server, entry, extra) = match n {
        Notify::Learned { server, entry } => ("learned", server, entry, String::new()),
        Notify::Replaced { server, entry } => ("replaced", server, entry, String::new()),
        Notify::Removed {
            server,
            entry,
            reason,
        } => ("removed", server, entry, format!(" reason={reason}")),
        Notify::Confirm {
            server,
            token,
            entry,
        } => ("confirm", server, entry, format!(" token={token} accepted")),
    };
    format!(
        "{time} {event} {server} key={} originator={} seq={:#010x} data={}{extra}\n",
        entry.key,
        entry.originator,
        entry.seq,
        if entry.data.is_empty() {
            "-"
        } else {
            &entry.data
        },
    )
}

/// The current time, UTC, RFC 3339 to the second.
fn now_utc() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    rfc3339(secs)
}

fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Days to civil date (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

// ---------------------------------------------------------------------------------------------
// hex

/// Parses a hex argument into lowercase hex without separators. Accepts an optional `0x` and
/// `.` or `:` between groups; every group must have an even number of digits, so that dotted
/// decimal (`192.168.0.1`) is not silently read as hex.
fn parse_hex(what: &str, s: &str) -> Result<String, String> {
    let bad = |why: String| Err(format!("invalid hex in {what} {s:?}: {why}"));
    let body = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    if body.is_empty() {
        return Ok(String::new());
    }
    let mut out = String::with_capacity(body.len());
    for group in body.split(['.', ':']) {
        if group.is_empty() {
            return bad("empty group between separators".into());
        }
        if let Some(c) = group.chars().find(|c| !c.is_ascii_hexdigit()) {
            return bad(format!("{c:?} is not a hex digit"));
        }
        if group.len() % 2 != 0 {
            return bad(format!("odd number of digits in {group:?}"));
        }
        out.extend(group.chars().map(|c| c.to_ascii_lowercase()));
    }
    Ok(out)
}

/// [`parse_hex`] for a cache key, which cannot be empty.
fn parse_key(what: &str, s: &str) -> Result<String, String> {
    let k = parse_hex(what, s)?;
    if k.is_empty() {
        return Err(format!(
            "invalid hex in {what} {s:?}: a cache key cannot be empty"
        ));
    }
    Ok(k)
}

// ---------------------------------------------------------------------------------------------
// tables

/// Column alignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Align {
    Left,
    Right,
}

/// A text table: a header row, columns as wide as their widest cell, two spaces apart; no
/// trailing spaces.
#[derive(Debug)]
struct Table {
    columns: Vec<(&'static str, Align)>,
    rows: Vec<Vec<String>>,
}

impl Table {
    fn new(columns: &[(&'static str, Align)]) -> Table {
        Table {
            columns: columns.to_vec(),
            rows: Vec::new(),
        }
    }

    fn row(&mut self, cells: Vec<String>) {
        debug_assert_eq!(cells.len(), self.columns.len());
        self.rows.push(cells);
    }

    fn render(&self) -> String {
        let width = |s: &str| s.chars().count();
        let mut widths: Vec<usize> = self.columns.iter().map(|(h, _)| width(h)).collect();
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(width(cell));
            }
        }
        let mut s = String::new();
        let header = self
            .columns
            .iter()
            .map(|(h, _)| h.to_string())
            .collect::<Vec<_>>();
        for row in std::iter::once(&header).chain(&self.rows) {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate() {
                if i > 0 {
                    line.push_str("  ");
                }
                let pad = widths[i] - width(cell);
                match self.columns[i].1 {
                    Align::Left => {
                        line.push_str(cell);
                        line.extend(std::iter::repeat_n(' ', pad));
                    }
                    Align::Right => {
                        line.extend(std::iter::repeat_n(' ', pad));
                        line.push_str(cell);
                    }
                }
            }
            let _ = writeln!(s, "{}", line.trim_end());
        }
        s
    }
}

fn servers_table(servers: &[ServerView]) -> String {
    use Align::*;
    let mut t = Table::new(&[
        ("NAME", Left),
        ("PROTOCOL", Left),
        ("SGID", Right),
        ("LSID", Left),
        ("LISTEN", Left),
        ("ENTRIES", Right),
        ("ALIGNED", Right),
        ("CLIENT", Left),
    ]);
    for s in servers {
        let protocol = if s.protocol.is_empty() {
            s.protocol_id.to_string()
        } else {
            s.protocol.clone()
        };
        t.row(vec![
            s.name.clone(),
            protocol,
            s.sgid.to_string(),
            s.lsid.clone(),
            s.listen.clone(),
            s.entries.to_string(),
            format!("{}/{}", s.dcs_aligned, s.dcs),
            if s.client_attached { "attached" } else { "-" }.into(),
        ]);
    }
    t.render()
}

fn dcs_table(dcs: &[DcsView]) -> String {
    use Align::*;
    let mut t = Table::new(&[
        ("SERVER", Left),
        ("DCS", Left),
        ("ADDRESS", Left),
        ("HELLO", Left),
        ("SINCE", Right),
        ("CA", Left),
        ("SINCE", Right),
        ("RX", Right),
        ("TX", Right),
        ("ERRORS", Right),
        ("REXMIT", Right),
        ("QUEUE", Right),
    ]);
    for d in dcs {
        t.row(vec![
            d.server.clone(),
            d.id.clone(),
            d.address.clone(),
            d.hello.clone(),
            duration(d.hello_since_s),
            d.ca.clone(),
            duration(d.ca_since_s),
            d.rx_msgs.to_string(),
            d.tx_msgs.to_string(),
            d.errors.to_string(),
            d.retransmits.to_string(),
            d.rexmit_queue.to_string(),
        ]);
    }
    t.render()
}

/// Data longer than this many characters is cut in the table.
const DATA_WIDTH: usize = 32;

fn cache_table(entries: &[EntryView]) -> String {
    use Align::*;
    let mut t = Table::new(&[
        ("KEY", Left),
        ("ORIGINATOR", Left),
        ("SEQ", Right),
        ("AGE", Right),
        ("DATA", Left),
    ]);
    for e in entries {
        let data = if e.data.is_empty() {
            "-".to_owned()
        } else if e.data.len() > DATA_WIDTH {
            format!("{}…", &e.data[..DATA_WIDTH - 1])
        } else {
            e.data.clone()
        };
        t.row(vec![
            e.key.clone(),
            e.originator.clone(),
            format!("{:#010x}", e.seq),
            duration(e.age_s),
            data,
        ]);
    }
    t.render()
}

/// A duration for humans, two units at most: `45s`, `3m12s`, `2h05m`, `3d04h`.
fn duration(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    if d > 0 {
        format!("{d}d{h:02}h")
    } else if h > 0 {
        format!("{h}h{m:02}m")
    } else if m > 0 {
        format!("{m}m{s:02}s")
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_accepts_prefix_separators_and_case() {
        assert_eq!(parse_hex("key", "0a000001").unwrap(), "0a000001");
        assert_eq!(parse_hex("key", "0x0A000001").unwrap(), "0a000001");
        assert_eq!(parse_hex("key", "0X0a.00.00.01").unwrap(), "0a000001");
        assert_eq!(parse_hex("key", "0a:00:00:01").unwrap(), "0a000001");
        assert_eq!(parse_hex("key", "0a00.0001").unwrap(), "0a000001");
        assert_eq!(parse_hex("data", "").unwrap(), "");
        assert_eq!(parse_hex("data", "0x").unwrap(), "");
    }

    #[test]
    fn hex_errors_name_the_argument() {
        let e = |s| parse_hex("key", s).unwrap_err();
        assert_eq!(
            e("0g"),
            r#"invalid hex in key "0g": 'g' is not a hex digit"#
        );
        assert_eq!(
            e("abc"),
            r#"invalid hex in key "abc": odd number of digits in "abc""#
        );
        assert_eq!(
            e("192.168.0.1"),
            r#"invalid hex in key "192.168.0.1": odd number of digits in "192""#
        );
        assert_eq!(
            e("0a..01"),
            r#"invalid hex in key "0a..01": empty group between separators"#
        );
        assert_eq!(
            e("0a:"),
            r#"invalid hex in key "0a:": empty group between separators"#
        );
        assert_eq!(
            e(":0a"),
            r#"invalid hex in key ":0a": empty group between separators"#
        );
        assert_eq!(
            e("0x0x01"),
            r#"invalid hex in key "0x0x01": 'x' is not a hex digit"#
        );
        assert_eq!(
            e("0a 01"),
            r#"invalid hex in key "0a 01": ' ' is not a hex digit"#
        );
        assert_eq!(
            parse_hex("data", "é").unwrap_err(),
            r#"invalid hex in data "é": 'é' is not a hex digit"#
        );
        assert_eq!(
            parse_key("key", "0x").unwrap_err(),
            r#"invalid hex in key "0x": a cache key cannot be empty"#
        );
    }

    fn kd(key: &str, data: &str) -> KeyData {
        KeyData {
            key: key.into(),
            data: data.into(),
            seq: None,
        }
    }

    #[test]
    fn load_file_parses_entries_comments_and_blank_lines() {
        let text = "# ATMARP entries\n\n0a000001 4700\n  0x0a.00.00.02\t0x47:01  # trailing\n\
                    0A000003 0x\n   \n#end";
        let (entries, errors) = parse_load(text.as_bytes()).unwrap();
        assert_eq!(errors, vec![]);
        assert_eq!(
            entries,
            vec![
                kd("0a000001", "4700"),
                kd("0a000002", "4701"),
                kd("0a000003", "")
            ]
        );
        // CRLF line ends.
        let (entries, errors) = parse_load(&b"01 02\r\n03 04\r\n"[..]).unwrap();
        assert_eq!(
            (entries, errors),
            (vec![kd("01", "02"), kd("03", "04")], vec![])
        );
    }

    #[test]
    fn load_file_reports_every_bad_line_with_its_number() {
        let text = b"01 02\n0g 02\n01\n01 02 03\n\n# ok\n01 zz\n\xff\xfe 00\n0x 00\n05 06";
        let (entries, errors) = parse_load(&text[..]).unwrap();
        assert_eq!(entries, vec![kd("01", "02"), kd("05", "06")]);
        let got: Vec<(usize, &str)> = errors.iter().map(|e| (e.line, &e.message[..])).collect();
        assert_eq!(
            got,
            vec![
                (2, r#"invalid hex in key "0g": 'g' is not a hex digit"#),
                (3, "expected KEY DATA, found only one field"),
                (4, "expected KEY DATA, found 3 fields"),
                (7, r#"invalid hex in data "zz": 'z' is not a hex digit"#),
                (8, "not UTF-8"),
                (9, r#"invalid hex in key "0x": a cache key cannot be empty"#),
            ]
        );
    }

    #[test]
    fn batches_respect_count_and_size() {
        let entries: Vec<KeyData> = (0..10).map(|i| kd(&format!("{i:02x}"), "00")).collect();
        let sizes: Vec<usize> = batches(entries.clone(), 4).iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![4, 4, 2]);
        assert_eq!(batches(entries.clone(), 10).len(), 1);
        assert_eq!(batches(Vec::new(), 10).len(), 0);
        // Three entries of a quarter frame each cannot share a request.
        let big = "00".repeat(MAX_FRAME / 8);
        let entries = vec![kd("01", &big), kd("02", &big), kd("03", &big)];
        let sizes: Vec<usize> = batches(entries, 50_000).iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![1, 1, 1]);
    }

    #[test]
    fn table_aligns_columns() {
        let mut t = Table::new(&[
            ("NAME", Align::Left),
            ("N", Align::Right),
            ("X", Align::Left),
        ]);
        t.row(vec!["a".into(), "1234".into(), "x…".into()]);
        t.row(vec!["longer".into(), "5".into(), "".into()]);
        assert_eq!(
            t.render(),
            "NAME       N  X\na       1234  x…\nlonger     5\n"
        );
        let empty = Table::new(&[("A", Align::Left), ("BB", Align::Right)]);
        assert_eq!(empty.render(), "A  BB\n");
    }

    #[test]
    fn durations_for_humans() {
        assert_eq!(duration(0), "0s");
        assert_eq!(duration(59), "59s");
        assert_eq!(duration(60), "1m00s");
        assert_eq!(duration(192), "3m12s");
        assert_eq!(duration(3599), "59m59s");
        assert_eq!(duration(3600), "1h00m");
        assert_eq!(duration(7505), "2h05m");
        assert_eq!(duration(86_400), "1d00h");
        assert_eq!(duration(3 * 86_400 + 4 * 3600 + 59), "3d04h");
    }

    #[test]
    fn timestamps() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
    }

    fn entry(data: &str) -> EntryView {
        EntryView {
            key: "0a000001".into(),
            originator: "0a000002".into(),
            seq: 0x8000_0001,
            data: data.into(),
            local: false,
            age_s: 192,
        }
    }

    #[test]
    fn cache_table_truncates_data() {
        let long = "ab".repeat(20);
        let t = cache_table(&[entry(&long), entry("")]);
        let want = format!(
            "KEY       ORIGINATOR         SEQ    AGE  DATA\n\
             0a000001  0a000002    0x80000001  3m12s  {}…\n\
             0a000001  0a000002    0x80000001  3m12s  -\n",
            &long[..31]
        );
        assert_eq!(t, want);
    }

    #[test]
    fn notification_lines() {
        let n = Notify::Removed {
            server: "atm".into(),
            entry: entry("4700"),
            reason: "purged".into(),
        };
        assert_eq!(
            notify_line("T".into(), &n),
            "T removed atm key=0a000001 originator=0a000002 seq=0x80000001 data=4700 reason=purged\n"
        );
    }

    #[test]
    fn cli_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
