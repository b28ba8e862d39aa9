//! docs/client-protocol.md is right: every JSON example is a message of `proto` (and says exactly
//! what its serialization says), every request, result, notification and error code is shown,
//! and the Python example (with the package scspd_client from clients/python/src) works against
//! the mock daemon and against a real scspd.

mod common;
mod mockd;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use mockd::{Act, Mock, ok};
use scspd::proto::{
    ClientMsg, DaemonMsg, EntryView, ErrorCode, Notify, ReplyResult, Request, Response,
};
use serde_json::Value;

const DOC: &str = include_str!("../../../docs/client-protocol.md");

/// The fenced blocks of `lang`.
fn blocks(lang: &str) -> Vec<&'static str> {
    let open = format!("```{lang}\n");
    let mut out = Vec::new();
    let mut rest = DOC;
    while let Some(i) = rest.find(&open) {
        let body = &rest[i + open.len()..];
        let end = body.find("\n```").expect("unterminated block");
        out.push(&body[..end + 1]);
        rest = &body[end + 4..];
    }
    out
}

/// Every JSON example, parsed as the message its `type` says.
fn examples() -> (Vec<ClientMsg>, Vec<DaemonMsg>) {
    let (mut client, mut daemon) = (Vec::new(), Vec::new());
    for b in blocks("json") {
        let v: Value = serde_json::from_str(b).unwrap_or_else(|e| panic!("{e}: {b}"));
        match v["type"].as_str() {
            Some("hello" | "request") => {
                let m: ClientMsg =
                    serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("{e}: {b}"));
                assert_eq!(
                    serde_json::to_value(&m).unwrap(),
                    v,
                    "not exactly as sent: {b}"
                );
                client.push(m);
            }
            Some(_) => {
                let m: DaemonMsg =
                    serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("{e}: {b}"));
                assert_eq!(
                    serde_json::to_value(&m).unwrap(),
                    v,
                    "not exactly as sent: {b}"
                );
                daemon.push(m);
            }
            None => panic!("no type: {b}"),
        }
    }
    (client, daemon)
}

fn name<T: serde::Serialize>(v: &T, field: &str) -> String {
    let v = serde_json::to_value(v).unwrap();
    match &v {
        Value::String(s) => s.clone(),
        _ => v[field].as_str().unwrap().to_owned(),
    }
}

/// Fails to compile when a request, result, notification or error code is added: add its
/// example to the document, then here.
fn exhaustive(r: &Request, s: &Response, n: &Notify, c: ErrorCode) {
    match r {
        Request::ShowServers
        | Request::ShowDcs { .. }
        | Request::ShowCache { .. }
        | Request::Add { .. }
        | Request::Del { .. }
        | Request::AddRecord { .. }
        | Request::DelRecord { .. }
        | Request::Load { .. }
        | Request::Dump
        | Request::Attach { .. }
        | Request::Watch { .. }
        | Request::Handover { .. }
        | Request::Confirm { .. }
        | Request::Reload
        | Request::ShowMetrics
        | Request::ShowStatus
        | Request::DcsControl { .. }
        | Request::Realign { .. }
        | Request::ClearCounters { .. }
        | Request::Trace { .. } => {}
    }
    match s {
        Response::Done
        | Response::Servers { .. }
        | Response::Dcs { .. }
        | Response::Cache { .. }
        | Response::Added { .. }
        | Response::Loaded { .. }
        | Response::Dump { .. }
        | Response::Attached { .. }
        | Response::RecordAdded { .. }
        | Response::RecordsDeleted { .. }
        | Response::Metrics { .. }
        | Response::Status { .. } => {}
    }
    match n {
        Notify::Learned { .. }
        | Notify::Replaced { .. }
        | Notify::Removed { .. }
        | Notify::Confirm { .. } => {}
    }
    match c {
        ErrorCode::BadFrame
        | ErrorCode::Version
        | ErrorCode::Sequence
        | ErrorCode::NoSuchServer
        | ErrorCode::BadArgument
        | ErrorCode::Refused
        | ErrorCode::NotFound
        | ErrorCode::Busy
        | ErrorCode::Config
        | ErrorCode::Overflow => {}
    }
}

#[test]
fn json_examples_are_protocol_messages() {
    let (client, daemon) = examples();
    assert!(
        client.len() >= 13 && daemon.len() >= 17,
        "{} {}",
        client.len(),
        daemon.len()
    );
    assert!(matches!(client[0], ClientMsg::Hello { version: 3, .. }));
    // The framing example: the first Hello is 0x34 bytes.
    assert_eq!(blocks("json")[0].trim_end().len(), 0x34);
    assert!(DOC.contains("`00 00 00 34`"));
    assert!(DOC.contains(&scspd::proto::MAX_FRAME.to_string()));
    assert!(DOC.contains(&format!("version {}", scspd::proto::VERSION)));
    assert!(DOC.contains(scspd::proto::DEFAULT_SOCKET));
}

#[test]
fn every_message_kind_and_code_is_documented() {
    let (client, daemon) = examples();
    let mut ops = Vec::new();
    for m in &client {
        if let ClientMsg::Request { req, .. } = m {
            ops.push(name(req, "op"));
        }
    }
    let (mut kinds, mut events, mut codes) = (Vec::new(), Vec::new(), Vec::new());
    for m in &daemon {
        match m {
            DaemonMsg::Reply {
                result: ReplyResult::Ok(r),
                ..
            } => kinds.push(name(r, "kind")),
            DaemonMsg::Reply {
                result: ReplyResult::Error(e),
                ..
            } => codes.push(e.code),
            DaemonMsg::Notify(n) => events.push(name(n, "event")),
            DaemonMsg::Fatal { error } => codes.push(error.code),
            DaemonMsg::Welcome { .. } => {}
        }
    }
    let entry = EntryView {
        key: "01".into(),
        originator: "02".into(),
        seq: 1,
        data: String::new(),
        local: false,
        age_s: 0,
        record: None,
        columns: None,
    };
    exhaustive(
        &Request::Dump,
        &Response::Done,
        &Notify::Learned {
            server: "s".into(),
            entry,
        },
        ErrorCode::Busy,
    );
    for op in [
        "show_servers",
        "show_dcs",
        "show_cache",
        "add",
        "del",
        "add_record",
        "del_record",
        "load",
        "handover",
        "dump",
        "attach",
        "confirm",
        "reload",
        "show_metrics",
        "show_status",
        "dcs_control",
        "realign",
        "clear_counters",
        "trace",
    ] {
        assert!(ops.iter().any(|o| o == op), "no example of request {op}");
        assert!(DOC.contains(&format!("### {op}\n")), "no section for {op}");
    }
    for kind in [
        "done",
        "servers",
        "dcs",
        "cache",
        "added",
        "loaded",
        "dump",
        "attached",
        "record_added",
        "records_deleted",
        "metrics",
        "status",
    ] {
        assert!(
            kinds.iter().any(|k| k == kind),
            "no example of result {kind}"
        );
    }
    for event in ["learned", "replaced", "removed", "confirm"] {
        assert!(
            events.iter().any(|e| e == event),
            "no example of notification {event}"
        );
    }
    assert!(!codes.is_empty());
    for code in [
        ErrorCode::BadFrame,
        ErrorCode::Version,
        ErrorCode::Sequence,
        ErrorCode::NoSuchServer,
        ErrorCode::BadArgument,
        ErrorCode::Refused,
        ErrorCode::NotFound,
        ErrorCode::Busy,
        ErrorCode::Config,
        ErrorCode::Overflow,
    ] {
        let c = name(&code, "");
        assert!(
            DOC.contains(&format!("| `{c}` |")),
            "error code {c} missing from the table"
        );
    }
}

#[test]
fn unknown_fields_are_ignored() {
    let m: ClientMsg = serde_json::from_str(
        r#"{"type":"request","id":3,"op":"attach","server":"s","future":[1,2]}"#,
    )
    .unwrap();
    assert_eq!(
        m,
        ClientMsg::Request {
            id: 3,
            req: Request::Attach {
                server: "s".into(),
                confirm: false
            }
        }
    );
    let m: DaemonMsg =
        serde_json::from_str(r#"{"type":"welcome","version":1,"daemon":"d","extra":true}"#)
            .unwrap();
    assert!(matches!(m, DaemonMsg::Welcome { .. }));
}

fn python() -> Option<&'static str> {
    let ok = Command::new("python3")
        .arg("-c")
        .arg("pass")
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("python3 not found: the Python example is not run");
    }
    ok.then_some("python3")
}

/// The Python package the example imports (clients/python/src), used from the source tree;
/// tests/python_client.rs installs it with pip.
fn package_src() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../clients/python/src")
}

fn example_file(tag: &str) -> std::path::PathBuf {
    let [code] = blocks("python")[..] else {
        panic!("expected one Python block")
    };
    let p = std::env::temp_dir().join(format!("scspd-example-{}-{tag}.py", std::process::id()));
    std::fs::write(&p, code).unwrap();
    p
}

/// Runs the example on `socket`; its output lines arrive on the channel.
fn spawn_example(
    py: &str,
    file: &std::path::Path,
    socket: &std::path::Path,
) -> (Child, mpsc::Receiver<String>) {
    let mut child = Command::new(py)
        .arg("-u")
        .arg(file)
        .arg(socket)
        .env("PYTHONPATH", package_src())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    (child, rx)
}

/// Reads lines until one satisfies `want`, for at most `secs`.
fn wait_line(
    rx: &mpsc::Receiver<String>,
    secs: u64,
    seen: &mut Vec<String>,
    want: impl Fn(&str) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(l) => {
                let done = want(&l);
                seen.push(l);
                if done {
                    return;
                }
            }
            Err(_) => panic!("timed out; the example printed:\n{}", seen.join("\n")),
        }
    }
}

#[test]
fn python_example_against_the_mock() {
    let Some(py) = python() else { return };
    let mock = Mock::start(|req| match req {
        Request::Attach { .. } => vec![ok(Response::Attached {
            entries: vec![],
            more: false,
        })],
        Request::Add { .. } => vec![
            ok(Response::Added { seq: 0x8000_0001 }),
            Act::Notify(Notify::Learned {
                server: "atmarp".into(),
                entry: EntryView {
                    key: "0a000009".into(),
                    originator: "0a000064".into(),
                    seq: 1,
                    data: "4700".into(),
                    local: false,
                    age_s: 0,
                    record: None,
                    columns: None,
                },
            }),
            Act::Close,
        ],
        _ => vec![],
    });
    let file = example_file("mock");
    let o = Command::new(py)
        .arg(&file)
        .arg(&mock.path)
        .env("PYTHONPATH", package_src())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .unwrap();
    std::fs::remove_file(&file).unwrap();
    let out = String::from_utf8(o.stdout).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        vec![
            "connected to scspd mock",
            "attached to atmarp: 0 entries",
            "added 0a000001 seq 0x80000001",
            "learned 0a000009 from 0a000064",
        ]
    );
    assert_eq!(
        String::from_utf8(o.stderr).unwrap(),
        "scspd closed the connection\n"
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        mock.requests(),
        vec![
            Request::Attach {
                server: "atmarp".into(),
                confirm: false
            },
            Request::Add {
                server: "atmarp".into(),
                key: "0a000001".into(),
                data: "47000580ffe1000000f21a2d8e0020481a2d8e00".into()
            },
        ]
    );
}

/// Two real daemons A – B on loopback: the example attaches to B and originates an entry there;
/// an entry originated at A then reaches it as a `learned` notification, and A learns its entry.
#[test]
fn python_example_against_scspd() {
    let Some(py) = python() else { return };
    let (pa, pb) = common::free_pair();
    let a = common::Daemon::start(
        "docA",
        &common::server_conf("atmarp", (1, pa), &[(2, pb)], ""),
    );
    let b = common::Daemon::start(
        "docB",
        &common::server_conf("atmarp", (2, pb), &[(1, pa)], ""),
    );
    let file = example_file("real");
    let (mut child, rx) = spawn_example(py, &file, &b.socket);
    let mut seen = Vec::new();
    wait_line(&rx, 10, &mut seen, |l| {
        l.starts_with("added 0a000001 seq 0x")
    });
    assert!(seen[0].starts_with("connected to scspd "), "{seen:?}");
    assert_eq!(seen[1], "attached to atmarp: 0 entries", "{seen:?}");

    let mut c = scspd::client::Client::connect_as(&a.socket, "doc-test").unwrap();
    let r = c.request(Request::Add {
        server: "atmarp".into(),
        key: "0b000001".into(),
        data: "4701".into(),
    });
    assert!(matches!(r, Ok(Response::Added { .. })), "{r:?}");
    wait_line(&rx, 30, &mut seen, |l| {
        l == "learned 0b000001 from 127.0.0.1"
    });
    a.wait_until(30, "the example's entry at A", || {
        a.cache("atmarp")
            .iter()
            .any(|e| e.key == "0a000001" && e.originator == "127.0.0.2")
    });
    let _ = child.kill();
    let _ = child.wait();
    std::fs::remove_file(&file).unwrap();
}
