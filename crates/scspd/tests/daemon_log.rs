//! Log levels and formats with real daemons: `Log { Level …; Format json; };` filters by
//! severity (NOTICE between INFO and WARN), a neighbour up is a NOTICE and down a WARN, JSON
//! lines parse and carry the server and the DCS as fields, and a reload changes the level.

mod common;

use common::*;
use serde_json::Value;

fn log_block(level: &str, format: &str) -> String {
    format!("Log {{ Level {level}; Format {format}; }};\n")
}

/// The JSON objects of a log (every line must be one).
fn json_lines(d: &Daemon) -> Vec<Value> {
    d.log_text()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l)
                .unwrap_or_else(|e| panic!("{}: not a JSON line ({e}): {l}", d.name))
        })
        .collect()
}

fn has(lines: &[Value], level: &str, dcs: &str, words: &[&str]) -> bool {
    lines.iter().any(|v| {
        v["level"] == level
            && v["server"] == "s_a"
            && v["dcs"] == dcs
            && words
                .iter()
                .all(|w| v["message"].as_str().is_some_and(|m| m.contains(w)))
    })
}

#[test]
fn json_lines_carry_server_and_dcs_and_notice_filters_info() {
    let (pa, pb) = (free_udp_port("127.0.0.1"), free_udp_port("127.0.0.2"));
    let a = Daemon::start(
        "jsonA",
        &format!(
            "{}{}",
            log_block("notice", "json"),
            server_conf("s_a", (1, pa), &[(2, pb)], "")
        ),
    );
    let mut b = Daemon::start("jsonB", &server_conf("s_a", (2, pb), &[(1, pa)], ""));
    a.wait_until(15, "alignment", || a.dcs("s_a")[0].ca == "Aligned");
    // The neighbour up and the alignment: NOTICE, with the server and the DCS as fields.
    a.wait_until(5, "notice lines", || {
        let lines = json_lines(&a);
        has(
            &lines,
            "notice",
            "127.0.0.2",
            &["Hello", "-> Bidirectional"],
        ) && has(&lines, "notice", "127.0.0.2", &["CA", "-> Aligned"])
    });
    // B goes away: A's Hello FSM leaves Bidirectional after HelloDead: a WARN.
    b.kill();
    a.wait_until(15, "neighbour down", || {
        has(
            &json_lines(&a),
            "warn",
            "127.0.0.2",
            &["Hello Bidirectional ->"],
        )
    });
    let lines = json_lines(&a);
    for v in &lines {
        let level = v["level"].as_str().unwrap();
        assert!(
            ["notice", "warn", "error"].contains(&level),
            "a line below notice: {v}"
        );
        let t = v["time"].as_str().unwrap();
        assert!(t.len() == 24 && t.ends_with('Z'), "time {t}");
        assert!(v["message"].is_string(), "{v}");
        // The message does not repeat what the fields say.
        assert!(
            !v["message"].as_str().unwrap().starts_with("server "),
            "{v}"
        );
    }
    // Lines of the server carry its name; nothing of the Hello FSM's Waiting (INFO) got through.
    assert!(lines.iter().any(|v| v["server"] == "s_a"));
    assert!(
        !lines
            .iter()
            .any(|v| v["message"].as_str().unwrap().contains("Down -> Waiting")),
        "INFO lines written at Level notice"
    );
    // The text the same daemon would have written is the B side's default: INFO and above.
    let text = b.log_text();
    assert!(text.contains("INFO  server s_a: DCS 127.0.0.1: Hello Down -> Waiting"));
    assert!(text.contains("NOTICE server s_a: DCS 127.0.0.1: Hello"));
    assert!(
        !text.contains(" DEBUG "),
        "DEBUG lines at the default level"
    );
}

#[test]
fn level_warn_drops_info_and_a_reload_to_debug_shows_debug() {
    let (pa, pb) = (free_udp_port("127.0.0.1"), free_udp_port("127.0.0.2"));
    let conf = |level: &str| {
        format!(
            "{}{}",
            log_block(level, "text"),
            server_conf("s_a", (1, pa), &[(2, pb)], "")
        )
    };
    let d = Daemon::start("levelA", &conf("warn"));
    // Connections are logged at DEBUG; the start at INFO and NOTICE; none of them at warn.
    for _ in 0..3 {
        d.servers();
    }
    let text = d.log_text();
    assert!(
        !text.contains(" INFO ") && !text.contains(" NOTICE ") && !text.contains(" DEBUG "),
        "below warn at Level warn:\n{text}"
    );
    std::fs::write(&d.config, conf("debug")).unwrap();
    d.signal("HUP");
    // The level change itself is a NOTICE: at the old level (warn) it is not written.
    d.wait_until(10, "a client's connection at DEBUG", || {
        d.servers();
        d.log_text().contains("DEBUG client #")
    });
    let text = d.log_text();
    assert!(
        text.contains("NOTICE reload done: 1 server(s); nothing changed"),
        "{text}"
    );
}

#[test]
fn reload_says_what_changed() {
    let (pa, pb) = free_pair();
    let d = Daemon::start("chgA", &server_conf("s_a", (1, pa), &[(2, pb)], ""));
    let conf = format!(
        "{}{}",
        server_conf("s_a", (1, pa), &[(3, free_udp_port("127.0.0.3"))], ""),
        server_conf("s_b", (4, free_udp_port("127.0.0.4")), &[], "")
    );
    std::fs::write(&d.config, conf).unwrap();
    d.signal("HUP");
    d.wait_until(10, "reload", || d.log_text().contains("reload done"));
    let text = d.log_text();
    let line = text
        .lines()
        .find(|l| l.contains("reload done"))
        .unwrap()
        .to_owned();
    assert!(line.contains(" NOTICE "), "{line}");
    for part in [
        "server s_a: DCS 127.0.0.2 removed",
        "server s_a: DCS 127.0.0.3 added",
        "server s_b added",
    ] {
        assert!(line.contains(part), "{part} missing from: {line}");
    }
    assert!(
        text.contains("NOTICE server s_a: DCS 127.0.0.2 removed"),
        "{text}"
    );
    // The removed DCS's last transitions name it by its ID, never by an index.
    assert!(!text.contains("dcs#"), "{text}");
    assert!(
        text.contains("server s_a: DCS 127.0.0.2: Hello Waiting -> Down"),
        "{text}"
    );
}

/// 20,000 entries of one lifetime expiring together write one line with their count.
#[test]
fn a_burst_of_expiries_is_one_line() {
    let (port, peer_port) = free_pair();
    let d = Daemon::start(
        "expA",
        &format!(
            "server g {{ protocol 65001; netif lo; ServerGroupID 7; ID 127.0.0.1; \
             Address 127.0.0.1; Port {port}; DCS {{ ID 127.0.0.2; Address 127.0.0.2; \
             Port {peer_port}; }}; }};\n"
        ),
    );
    const N: u32 = 20_000;
    // The generic profile's lifetime prefix: ff 00 4c 54, then 2 seconds.
    let entries = (0..N)
        .map(|i| scspd::proto::KeyData {
            key: format!("{i:08x}"),
            data: "ff004c540000000201".into(),
            seq: None,
        })
        .collect();
    d.ok(scspd::proto::Request::Load {
        server: "g".into(),
        entries,
    });
    assert_eq!(d.cache("g").len(), N as usize);
    d.wait_until(20, "the entries' expiry", || d.cache("g").is_empty());
    // The count of the lines about expiries adds up to N.
    let counted = |text: &str| -> u64 {
        text.lines()
            .filter_map(|l| {
                let m = l.split("server g: ").nth(1)?;
                if m.starts_with("entry ") && m.contains(" expired") {
                    Some(1)
                } else {
                    m.split_once(" entries expired within ")?.0.parse().ok()
                }
            })
            .sum()
    };
    d.wait_until(5, "the summary line", || {
        counted(&d.log_text()) == u64::from(N)
    });
    let text = d.log_text();
    let lines = text.lines().filter(|l| l.contains("expired")).count();
    assert!(
        lines <= 3,
        "{lines} lines about expiries (the burst may straddle a window, not more):\n{}",
        text.lines()
            .filter(|l| l.contains("expired"))
            .take(10)
            .collect::<Vec<_>>()
            .join("\n")
    );
    let line = text
        .lines()
        .find(|l| l.contains("entries expired"))
        .unwrap();
    assert!(
        line.contains("INFO  server g: ") && line.contains("00000000 of 127.0.0.1"),
        "{line}"
    );
}

/// `scspctl trace SERVER LETTERS` at run time: without `-T` at start, `h` traces the server's
/// Hello FSM from then on; `none` stops it; an unknown letter is refused.
#[test]
fn trace_letters_at_run_time() {
    let (pa, pb) = (free_udp_port("127.0.0.1"), free_udp_port("127.0.0.2"));
    let a = Daemon::start("traceA", &server_conf("s_a", (1, pa), &[(2, pb)], ""));
    let b = Daemon::start("traceB", &server_conf("s_a", (2, pb), &[(1, pa)], ""));
    a.wait_until(15, "alignment", || a.dcs("s_a")[0].ca == "Aligned");
    let traced = |d: &Daemon| {
        d.log_text()
            .lines()
            .filter(|l| l.contains(" trace hello: server s_a: DCS 127.0.0.2: "))
            .count()
    };
    let ups = |d: &Daemon| {
        d.log_text()
            .lines()
            .filter(|l| {
                l.contains("NOTICE server s_a: DCS 127.0.0.2: Hello")
                    && l.contains("-> Bidirectional")
            })
            .count()
    };
    assert_eq!(traced(&a), 0, "traced before asked");
    assert_eq!(
        scspctl_ok(&a.socket, &["trace", "s_a", "h"]),
        "server s_a: tracing h\n"
    );
    assert!(
        a.log_text()
            .contains("trace letters h (were none), to standard output")
    );
    let n = ups(&a);
    scspctl_ok(&a.socket, &["dcs", "restart", "s_a", "127.0.0.2"]);
    a.wait_until(15, "Hello transitions traced", || {
        a.log_text()
            .contains("trace hello: server s_a: DCS 127.0.0.2: Waiting -> ")
    });
    a.wait_until(15, "the DCS up again", || ups(&a) > n);
    let before = traced(&a);
    assert!(before >= 2, "{}", a.log_text());

    assert_eq!(
        scspctl_ok(&a.socket, &["trace", "s_a", "none"]),
        "server s_a: tracing nothing\n"
    );
    let n = ups(&a);
    scspctl_ok(&a.socket, &["dcs", "restart", "s_a", "127.0.0.2"]);
    a.wait_until(15, "the DCS up again", || ups(&a) > n);
    assert_eq!(traced(&a), before, "traced after none");

    let o = scspctl(&a.socket, &["trace", "s_a", "hx"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("unknown trace letters \"x\""), "{err}");
    let o = scspctl(&a.socket, &["trace", "nosuch", "h"]);
    assert!(!o.status.success());
    drop(b);
}

/// Without `-d` and without a `Log File`, a missing `/dev/log` (nothing can be logged) is said
/// once on standard error at the start (the detached daemon's parent prints it); with a file,
/// nothing is said.
#[test]
fn nothing_to_log_to_is_said_at_the_start() {
    let dir = TempDir::new("nolog");
    let start = |conf: &str, tag: &str| {
        let cfg = dir.path().join(format!("{tag}.conf"));
        let sock = dir.path().join(format!("{tag}.sock"));
        std::fs::write(&cfg, conf).unwrap();
        let o = std::process::Command::new(SCSPD)
            .arg("-f")
            .arg(&cfg)
            .arg("-s")
            .arg(&sock)
            .output()
            .unwrap();
        assert!(o.status.success(), "{o:?}");
        // Stop the daemon (its pid from show status).
        let status = scspctl_ok(&sock, &["show", "status", "--json"]);
        let v: Value = serde_json::from_str(&status).unwrap();
        let pid = v["pid"].as_u64().expect("a pid");
        let _ = std::process::Command::new("kill")
            .arg(pid.to_string())
            .status();
        // Gone before the next start binds the same port.
        assert!(
            eventually(10, || !std::path::Path::new(&format!("/proc/{pid}"))
                .exists()),
            "scspd {pid} still runs 10 s after SIGTERM"
        );
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    let (pa, pb) = free_pair();
    let conf = server_conf("s_a", (1, pa), &[(2, pb)], "");
    let said = start(&conf, "syslog");
    let warned = said.contains("can't log to syslog: /dev/log is missing or refuses");
    // ... and says where the client socket is.
    assert_eq!(warned, said.contains("the client socket is "), "{said}");
    assert_eq!(
        warned,
        !std::path::Path::new("/dev/log").exists(),
        "/dev/log exists: {}; standard error: {said}",
        std::path::Path::new("/dev/log").exists()
    );
    let file = dir.path().join("x.log");
    let conf = format!(
        "Log {{ File \"{}\"; }};\n{}",
        file.display(),
        server_conf("s_a", (1, pa), &[(2, pb)], "")
    );
    let said = start(&conf, "file");
    assert!(!said.contains("can't log"), "{said}");
    // The start is logged there (before the daemon is ready).
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("INFO  scspd "), "{text}");
}
