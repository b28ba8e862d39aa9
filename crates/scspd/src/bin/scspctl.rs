//! `scspctl`: the operator's tool for a running scspd (see docs/client-protocol.md).
#![forbid(unsafe_code)]

#[path = "scspctl/act.rs"]
mod act;
#[path = "scspctl/cache.rs"]
mod cache;
#[path = "scspctl/check.rs"]
mod check;
#[path = "scspctl/load.rs"]
mod load;
#[path = "scspctl/records.rs"]
mod records;
#[path = "scspctl/status.rs"]
mod status;
#[path = "scspctl/tables.rs"]
mod tables;
#[path = "scspctl/watch.rs"]
mod watch;

use load::*;
use records::*;
use tables::*;
use watch::*;

use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use serde::Serialize;

use scsp_client::client::{Client, ClientError, FrameError};
use scsp_client::proto::{
    DEFAULT_SOCKET, DcsView, EntryView, KeyData, MAX_FRAME, Notify, Request, Response, ServerView,
};
use scsp_profiles::{ProfileOps, ProfileOptions, ops_by_name};

/// The profiles `add` and `del` take typed arguments for.
const PROFILES: [&str; 4] = ["atmarp", "nhrp", "mars", "generic"];

const AFTER_HELP: &str = "\
Exit status: 0 success, 1 scspd refused the request, 2 usage error (bad arguments, bad load
file), 3 cannot reach or understand scspd. `check` exits as a Nagios plugin instead: 0 OK,
1 WARNING, 2 CRITICAL (scspd not answering included), 3 UNKNOWN.

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

/// The arguments of `add` and `del`: a server, and an entry raw (hex) or by the profile's
/// fields (each command words the help of `args`).
#[derive(Debug, clap::Args)]
struct EntryArgs {
    /// Server name.
    server: String,
    #[arg(
        required = true,
        num_args = 1..,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "ARGS"
    )]
    args: Vec<String>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Show servers, DCSs or a cache.
    #[command(subcommand)]
    Show(Show),
    /// Originate or update an entry of a server's local cache.
    ///
    /// Either raw, `add SERVER KEY DATA` (hex), or typed, `add SERVER PROFILE ARGS...` with the
    /// arguments of the server's protocol profile (atmarp, nhrp, mars, generic), which scspd turns
    /// into the key and data.
    #[command(
        override_usage = "scspctl add <SERVER> <KEY> <DATA>\n       \
                          scspctl add <SERVER> <PROFILE> <ARGS>...",
        mut_arg("args", |a| a.help(
            "KEY DATA: cache key and protocol-specific data, hex; or PROFILE ARGS..."
        ))
    )]
    Add(EntryArgs),
    /// Withdraw an entry originated here.
    ///
    /// Either `del SERVER KEY` (hex), or `del SERVER PROFILE ARGS...` naming the entries by the
    /// profile's fields (e.g. `del atmarp_a atmarp 10.1.2.3`).
    #[command(
        override_usage = "scspctl del <SERVER> <KEY>\n       \
                          scspctl del <SERVER> <PROFILE> <ARGS>...",
        mut_arg("args", |a| a.help("KEY: cache key, hex; or PROFILE ARGS..."))
    )]
    Del(EntryArgs),
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
    /// One line and a Nagios exit status for monitoring: 0 every DCS Aligned; 1 some DCS not
    /// Aligned for less than --warn-after; 2 some DCS not Aligned for that long, a server not
    /// running, or scspd not answering; 3 no such server.
    Check {
        /// Only this server (the others are not looked at).
        server: Option<String>,
        /// Seconds a DCS may stay out of Aligned (since it left Aligned, or since it was
        /// configured) before the check is CRITICAL rather than WARNING.
        #[arg(long, value_name = "SECONDS", default_value_t = check::DEFAULT_WARN_AFTER)]
        warn_after: u64,
    },
    /// Disable, enable or restart one DCS of a server.
    Dcs {
        /// What to do.
        action: act::DcsArg,
        /// Server name.
        server: String,
        /// The DCS's ID, as `show dcs` writes it.
        id: String,
    },
    /// Realign with one DCS of a server, or with all of them: their Hello and Cache Alignment
    /// sessions start again (as `dcs restart`; disabled DCSs are left alone).
    Realign {
        /// Server name.
        server: String,
        /// Only this DCS.
        id: Option<String>,
    },
    /// Clear counters.
    #[command(subcommand)]
    Clear(act::ClearCmd),
    /// Set what is traced for a server from now on, as `scspd -T` does at start: the letters
    /// `c` (CA FSM), `h` (Hello FSM), `i` (client attach/detach), `C` (CA, CSUS and CSU
    /// messages), `H` (Hello messages), `I` (client messages) replace those in effect; `none`
    /// stops tracing it. The trace goes where `-T`'s does.
    Trace {
        /// Server name.
        server: String,
        /// The letters (e.g. `ch`), or `none`.
        letters: String,
    },
    /// Print a server's cache changes as they happen, as a read-only monitor.
    ///
    /// A monitor takes no attach slot: the local server can be attached meanwhile (at most 8
    /// monitors per server). With --confirm, attach as the local server instead (one at a time).
    Watch {
        /// Server name.
        server: String,
        /// Attach as the local server, asked to confirm each new remote entry (all accepted).
        #[arg(long)]
        confirm: bool,
        /// One JSON object a line instead of text: the notification's fields and `time` (when
        /// it was received, RFC 3339, UTC, to the millisecond).
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
        /// A block per DCS: last Hello heard, dead timer, last down and why, flaps, RTT,
        /// counters.
        #[arg(long, conflicts_with = "json")]
        detail: bool,
    },
    /// The cache of a server.
    Cache {
        /// Server name.
        server: String,
        /// Print JSON (full data).
        #[arg(long)]
        json: bool,
        /// Filters and paging.
        #[command(flatten)]
        filter: cache::CacheArgs,
    },
    /// The metrics, in the OpenMetrics text format (the figures the Metrics endpoint serves).
    Metrics,
    /// The daemon: version, pid, uptime, configuration, the last reload, servers not running.
    Status {
        /// Print JSON.
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

/// The command line, with each profile's `add` and `del` arguments in the help of those commands.
pub(crate) fn command() -> clap::Command {
    let usage = |add: bool| {
        let mut text = String::from("Profiles and their arguments:\n");
        for name in PROFILES {
            if let Some(ops) = ops_by_name(name, &ProfileOptions::default()) {
                let line = if add {
                    ops.add_usage()
                } else {
                    ops.del_usage()
                };
                let cmd = if add { "add" } else { "del" };
                let _ = writeln!(text, "  {cmd} <SERVER> {name} {line}");
            }
        }
        text
    };
    Cli::command()
        .mut_subcommand("add", |c| c.after_help(usage(true)))
        .mut_subcommand("del", |c| c.after_help(usage(false)))
}

fn main() -> ExitCode {
    let cli = match Cli::from_arg_matches(&command().get_matches()) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    if let Command::Check { server, warn_after } = &cli.command {
        return check::run(&cli.socket, server.as_deref(), *warn_after);
    }
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
        Command::Show(Show::Dcs {
            server,
            json,
            detail,
        }) => {
            let dcs = match connect(&cli.socket)?.request(Request::ShowDcs { server })? {
                Response::Dcs { dcs } => dcs,
                other => return Err(unexpected(&other)),
            };
            if json {
                out_json(&dcs)
            } else if detail {
                out(&status::dcs_detail(&dcs))
            } else {
                out(&dcs_table(&dcs))
            }
        }
        Command::Add(EntryArgs { server, args }) => match profile_form(&args) {
            Some((ops, rest)) => add_record(&cli.socket, server, ops.as_ref(), rest),
            None => add_raw(&cli.socket, server, &args),
        },
        Command::Del(EntryArgs { server, args }) => match profile_form(&args) {
            Some((ops, rest)) => del_record(&cli.socket, server, ops.as_ref(), rest),
            None => del_raw(&cli.socket, server, &args),
        },
        Command::Show(Show::Cache {
            server,
            json,
            filter,
        }) => cache::show_cache(&cli.socket, server, json, filter),
        Command::Load {
            server,
            file,
            batch,
        } => load(&cli.socket, &server, &file, batch as usize),
        Command::Dump => {
            // Printed as it comes (a streamed reply: a page of entries per frame).
            let mut last = '\n';
            let mut failed = None;
            connect(&cli.socket)?.request_each(Request::Dump, |part| {
                match part {
                    Response::Dump { text, .. } => {
                        if let Some(c) = text.chars().last() {
                            last = c;
                        }
                        if let Err(e) = out(&text) {
                            failed = Some(e);
                        }
                    }
                    other => failed = Some(unexpected(&other)),
                }
                Ok(())
            })?;
            if let Some(e) = failed {
                return Err(e);
            }
            if last != '\n' {
                out("\n")?;
            }
            Ok(())
        }
        Command::Check { .. } => Ok(()),
        Command::Dcs { action, server, id } => {
            let req = Request::DcsControl {
                server: server.clone(),
                dcs: id.clone(),
                action: action.action(),
            };
            match connect(&cli.socket)?.request(req)? {
                Response::Done => out(&format!("server {server}: DCS {id} {}\n", action.done())),
                other => Err(unexpected(&other)),
            }
        }
        Command::Realign { server, id } => {
            let req = Request::Realign {
                server: server.clone(),
                dcs: id.clone(),
            };
            match connect(&cli.socket)?.request(req)? {
                Response::Done => out(&match id {
                    Some(id) => format!("server {server}: realigning with DCS {id}\n"),
                    None => format!("server {server}: realigning with every DCS\n"),
                }),
                other => Err(unexpected(&other)),
            }
        }
        Command::Trace { server, letters } => {
            let letters = if matches!(letters.as_str(), "none" | "-") {
                String::new()
            } else {
                letters
            };
            let req = Request::Trace {
                server: server.clone(),
                letters: letters.clone(),
            };
            match connect(&cli.socket)?.request(req)? {
                Response::Done if letters.is_empty() => {
                    out(&format!("server {server}: tracing nothing\n"))
                }
                Response::Done => out(&format!("server {server}: tracing {letters}\n")),
                other => Err(unexpected(&other)),
            }
        }
        Command::Clear(act::ClearCmd::Counters { server }) => {
            let req = Request::ClearCounters {
                server: server.clone(),
            };
            match connect(&cli.socket)?.request(req)? {
                Response::Done => out("counters cleared\n"),
                other => Err(unexpected(&other)),
            }
        }
        Command::Show(Show::Metrics) => {
            match connect(&cli.socket)?.request(Request::ShowMetrics)? {
                Response::Metrics { text } => out(&text),
                other => Err(unexpected(&other)),
            }
        }
        Command::Show(Show::Status { json }) => {
            match connect(&cli.socket)?.request(Request::ShowStatus)? {
                Response::Status { status } if json => out_json(&status),
                Response::Status { status } => out(&status::text(&status)),
                other => Err(unexpected(&other)),
            }
        }
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

// ---------------------------------------------------------------------------------------------
// add and del

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

// ---------------------------------------------------------------------------------------------
// watch

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
            originator: "10.0.0.2".into(),
            seq: 0x8000_0001,
            data: data.into(),
            local: false,
            age_s: 192,
            record: None,
            columns: None,
        }
    }

    #[test]
    fn cache_table_truncates_data() {
        let long = "ab".repeat(20);
        let t = cache_table(&[entry(&long), entry("")]);
        let want = format!(
            "KEY       ORIGINATOR         SEQ    AGE  DATA\n\
             0a000001  10.0.0.2    0x80000001  3m12s  {}…\n\
             0a000001  10.0.0.2    0x80000001  3m12s  -\n",
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
            "T removed atm key=0a000001 originator=10.0.0.2 seq=0x80000001 data=4700 reason=purged\n"
        );
    }

    #[test]
    fn json_notification_lines_carry_the_time() {
        let n = Notify::Learned {
            server: "atm".into(),
            entry: entry("4700"),
        };
        let line = json_line(now_utc(), &n);
        assert!(line.ends_with('\n'));
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        let t = v["time"].as_str().unwrap();
        // 2026-05-01T12:00:00.000Z
        assert_eq!(t.len(), 24, "{t}");
        assert!(
            t.ends_with('Z') && t.as_bytes()[10] == b'T' && t.as_bytes()[19] == b'.',
            "{t}"
        );
        assert_eq!(v["event"], "learned");
        assert_eq!(v["entry"]["originator"], "10.0.0.2");
    }

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
        command().debug_assert();
    }

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn profile_forms_are_told_from_hex() {
        for name in PROFILES {
            let a = args(&[name, "x", "y"]);
            let (ops, rest) = profile_form(&a).unwrap();
            assert_eq!(ops.name(), name);
            assert_eq!(rest, &a[1..]);
            // No profile name reads as hex.
            assert!(parse_hex("key", name).is_err());
        }
        assert_eq!(
            profile_form(&args(&["ATMARP", "10.1.2.3"]))
                .unwrap()
                .0
                .name(),
            "atmarp"
        );
        assert!(profile_form(&args(&["0a000001", "4700"])).is_none());
        assert!(profile_form(&args(&["ab"])).is_none());
        assert!(profile_form(&[]).is_none());
    }

    #[test]
    fn the_command_line_takes_both_forms() {
        let parse = |a: &[&str]| {
            let m = command().try_get_matches_from(a.iter().copied()).unwrap();
            Cli::from_arg_matches(&m).unwrap().command
        };
        match parse(&[
            "scspctl",
            "add",
            "s",
            "atmarp",
            "10.1.2.3",
            "47.00",
            "--lifetime",
            "5",
        ]) {
            Command::Add(EntryArgs { server, args: a }) => {
                assert_eq!(server, "s");
                assert_eq!(a, args(&["atmarp", "10.1.2.3", "47.00", "--lifetime", "5"]));
            }
            other => panic!("{other:?}"),
        }
        match parse(&["scspctl", "del", "s", "0a000001"]) {
            Command::Del(EntryArgs { server, args: a }) => {
                assert_eq!((server.as_str(), a), ("s", args(&["0a000001"])));
            }
            other => panic!("{other:?}"),
        }
        assert!(
            command()
                .try_get_matches_from(["scspctl", "add", "s"])
                .is_err()
        );
        let help = command()
            .find_subcommand_mut("add")
            .unwrap()
            .render_long_help()
            .to_string();
        assert!(help.contains("add <SERVER> atmarp "), "{help}");
    }

    fn decoded(ip: &str, originator: &str, age_s: u64) -> EntryView {
        let col = |name: &str, value: &str| scsp_client::proto::Column {
            name: name.into(),
            value: value.into(),
        };
        EntryView {
            key: "0a010203".into(),
            originator: originator.into(),
            seq: 0x8000_0001,
            data: "4700".into(),
            local: false,
            age_s,
            record: Some(serde_json::json!({"ip": ip})),
            columns: Some(vec![col("IP", ip), col("ATM ADDRESS", "47.0005")]),
        }
    }

    #[test]
    fn record_table_prints_the_profile_columns() {
        let t = cache_table(&[
            decoded("10.1.2.3", "127.0.0.1", 5),
            decoded("10.1.2.40", "20010db8000000000000000000000001", 192),
        ]);
        assert_eq!(
            t,
            "IP         ATM ADDRESS  ORIGINATOR          SEQ    AGE\n\
             10.1.2.3   47.0005      127.0.0.1    0x80000001     5s\n\
             10.1.2.40  47.0005      2001:db8::1  0x80000001  3m12s\n"
        );
        // An entry the profile could not decode keeps its hex.
        let t = cache_table(&[decoded("10.1.2.3", "127.0.0.1", 5), entry("")]);
        assert_eq!(
            t,
            "IP        ATM ADDRESS  ORIGINATOR         SEQ    AGE  KEY       DATA\n\
             10.1.2.3  47.0005      127.0.0.1   0x80000001     5s  0a010203  4700\n\
             -         -            10.0.0.2    0x80000001  3m12s  0a000001  -\n"
        );
        let n = Notify::Learned {
            server: "a".into(),
            entry: decoded("10.1.2.3", "127.0.0.1", 0),
        };
        assert_eq!(
            notify_line("T".into(), &n),
            "T learned a key=0a010203 originator=127.0.0.1 seq=0x80000001 data=4700 \
             (IP 10.1.2.3, ATM ADDRESS 47.0005)\n"
        );
        assert_eq!(id_text("0a00"), "0a00");
    }
}
