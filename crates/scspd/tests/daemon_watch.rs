//! `watch` (docs/client-protocol.md): read-only monitors beside the attached local server. The
//! local server attaches while two monitors watch (no `busy`), every one of them receives the
//! change learned from the DCS, a ninth monitor is refused, and a monitor that goes away leaves
//! the local server attached.

mod common;

use common::*;
use scspd::proto::{Notify, Request, Response};

fn learned_key(c: &mut Client) -> String {
    match c.next_notify().unwrap() {
        Notify::Learned { entry, .. } => entry.key,
        other => panic!("{other:?}"),
    }
}

#[test]
fn monitors_watch_beside_the_local_server() {
    let (pa, pb) = (free_udp_port("127.0.0.1"), free_udp_port("127.0.0.2"));
    let a = Daemon::start("watchA", &server_conf("s_a", (1, pa), &[(2, pb)], ""));
    let b = Daemon::start("watchB", &server_conf("s_a", (2, pb), &[(1, pa)], ""));
    a.wait_until(20, "alignment", || a.dcs("s_a")[0].ca == "Aligned");

    let watch = || Request::Watch {
        server: "s_a".into(),
    };
    let mut m1 = Client::connect(&a.socket).unwrap();
    assert!(matches!(m1.request(watch()), Ok(Response::Attached { .. })));
    let mut local = Client::connect(&a.socket).unwrap();
    let attach = Request::Attach {
        server: "s_a".into(),
        confirm: false,
    };
    assert!(
        matches!(local.request(attach), Ok(Response::Attached { .. })),
        "the local server attaches while a monitor watches"
    );
    let mut m2 = Client::connect(&a.socket).unwrap();
    assert!(matches!(m2.request(watch()), Ok(Response::Attached { .. })));

    b.add("s_a", "0b000001", "01");
    for c in [&mut local, &mut m1, &mut m2] {
        assert_eq!(learned_key(c), "0b000001");
    }

    // Any number of monitors (the limit of 8 is gone): 30 more, each told of a new entry.
    let mut more: Vec<Client> = Vec::new();
    for _ in 0..30 {
        let mut c = Client::connect(&a.socket).unwrap();
        assert!(matches!(c.request(watch()), Ok(Response::Attached { .. })));
        more.push(c);
    }
    b.add("s_a", "0b000003", "03");
    for c in more.iter_mut().chain([&mut local, &mut m1, &mut m2]) {
        assert_eq!(learned_key(c), "0b000003");
    }

    // Monitors leaving do not detach the local server.
    drop(more);
    drop(m1);
    b.add("s_a", "0b000002", "02");
    assert_eq!(learned_key(&mut local), "0b000002");
    assert_eq!(learned_key(&mut m2), "0b000002");
    assert!(a.servers()[0].client_attached);
}

/// `scspctl watch --json`: one object a line with an RFC 3339 `time`, and the originator
/// spelled as the configuration writes IDs (as `show cache` and the log do).
#[test]
fn watch_json_lines_carry_a_time_and_the_configured_id() {
    use std::io::{BufRead, BufReader};
    let (pa, pb) = (free_udp_port("127.0.0.1"), free_udp_port("127.0.0.2"));
    let a = Daemon::start("wjsonA", &server_conf("s_a", (1, pa), &[(2, pb)], ""));
    let b = Daemon::start("wjsonB", &server_conf("s_a", (2, pb), &[(1, pa)], ""));
    a.wait_until(20, "alignment", || a.dcs("s_a")[0].ca == "Aligned");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_scspctl"))
        .env_remove("SCSPD_SOCKET")
        .args(["-s"])
        .arg(&a.socket)
        .args(["watch", "s_a", "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut said = String::new();
    err.read_line(&mut said).unwrap();
    assert!(said.contains("watching s_a"), "{said}");
    let (tx, rx) = std::sync::mpsc::channel();
    let out = BufReader::new(child.stdout.take().unwrap());
    std::thread::spawn(move || {
        for l in out.lines().map_while(Result::ok) {
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    b.add("s_a", "0b000001", "01");
    let line = rx
        .recv_timeout(std::time::Duration::from_secs(20))
        .expect("a line from scspctl watch --json");
    let _ = child.kill();
    let _ = child.wait();
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["event"], "learned", "{line}");
    assert_eq!(v["entry"]["key"], "0b000001", "{line}");
    assert_eq!(v["entry"]["originator"], "127.0.0.2", "{line}");
    let t = v["time"].as_str().expect("a time");
    // RFC 3339, UTC, to the millisecond: 2026-05-01T12:00:00.000Z.
    let b_ = t.as_bytes();
    assert!(
        t.len() == 24
            && b_[4] == b'-'
            && b_[10] == b'T'
            && b_[13] == b':'
            && b_[19] == b'.'
            && t.ends_with('Z')
            && t[..4].parse::<u32>().is_ok_and(|y| y >= 2024),
        "{t}"
    );
    // The same ID in the tables.
    let table = scspctl_ok(&a.socket, &["show", "cache", "s_a"]);
    assert!(table.contains("127.0.0.2"), "{table}");
    assert!(!table.contains("7f000002"), "{table}");
}
