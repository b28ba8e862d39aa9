//! `show status`, failed servers in `show servers`, and `scspctl check`'s exit codes, with real
//! daemons.

mod common;

use common::*;
use scspd::proto::{Request, Response, StatusView};

fn status(d: &Daemon) -> StatusView {
    match d.ok(Request::ShowStatus) {
        Response::Status { status } => status,
        r => panic!("{r:?}"),
    }
}

#[test]
fn status_reports_the_daemon_reloads_and_failed_servers() {
    let [p1, p2] = free_udp_ports("127.0.0.1");
    let one = server_conf("s_a", (1, p1), &[], "");
    let a = Daemon::start("status", &one);
    let s = status(&a);
    assert_eq!(s.version, env!("CARGO_PKG_VERSION"));
    assert_eq!(s.pid, a.pid());
    assert_eq!(s.config, a.config.display().to_string());
    assert_eq!(s.socket, a.socket.display().to_string());
    assert_eq!(s.servers_running, 1);
    assert!(s.last_reload.is_none() && s.failed.is_empty());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(s.started <= now && s.started + 60 > now);

    // A reload adds a server whose port someone else holds: it fails, and says so everywhere.
    let holder = std::net::UdpSocket::bind(("127.0.0.1", p2)).unwrap();
    let two = format!("{one}{}", server_conf("s_b", (1, p2), &[], ""));
    std::fs::write(&a.config, &two).unwrap();
    let e = a.request(Request::Reload).unwrap_err();
    assert!(e.message.contains("server s_b: can't receive on"), "{e:?}");
    let s = status(&a);
    let last = s.last_reload.as_ref().unwrap();
    assert!(!last.ok && last.at >= now);
    assert!(
        last.errors.iter().any(|e| e.contains("server s_b")),
        "{last:?}"
    );
    assert_eq!(s.servers_running, 1);
    assert_eq!(s.failed.len(), 1);
    assert_eq!(s.failed[0].name, "s_b");
    assert!(
        s.failed[0]
            .error
            .contains(&format!("can't receive on 127.0.0.1:{p2}"))
    );
    let servers = a.servers();
    assert_eq!(servers.len(), 2);
    assert_eq!(servers[0].state, "running");
    assert_eq!(servers[1].name, "s_b");
    assert_eq!(servers[1].state, "failed");
    assert!(servers[1].error.as_ref().unwrap().contains("can't receive"));
    // scspctl: show status and show servers say it in text.
    let text = scspctl_ok(&a.socket, &["show", "status"]);
    assert!(text.contains(&format!("(pid {})", a.pid())), "{text}");
    assert!(
        text.contains("last reload:") && text.contains(" failed\n"),
        "{text}"
    );
    assert!(text.contains("failed:        server s_b since"), "{text}");
    let table = scspctl_ok(&a.socket, &["show", "servers"]);
    assert!(
        table.contains("server s_b failed: can't receive on"),
        "{table}"
    );
    // check: a server not running is CRITICAL.
    let o = scspctl(&a.socket, &["check"]);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("SCSP CRITICAL - "));

    // The port freed, the same file reloaded: the server runs, nothing failed, the reload ok.
    drop(holder);
    assert_eq!(a.ok(Request::Reload), Response::Done);
    let s = status(&a);
    assert!(s.last_reload.unwrap().ok);
    assert!(s.failed.is_empty());
    assert_eq!(s.servers_running, 2);
    assert!(a.servers().iter().all(|v| v.state == "running"));
    let json = scspctl_ok(&a.socket, &["show", "status", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["servers_running"], 2);
}

fn check(d: &Daemon, args: &[&str]) -> (i32, String) {
    let mut all = vec!["check"];
    all.extend_from_slice(args);
    let o = scspctl(&d.socket, &all);
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(text.lines().count(), 1, "one line: {text}");
    (o.status.code().unwrap(), text)
}

#[test]
fn check_exit_codes_follow_the_dcs() {
    let (pa, pb) = (free_udp_port("127.0.0.1"), free_udp_port("127.0.0.2"));
    let a = Daemon::start("checkA", &server_conf("s_a", (1, pa), &[(2, pb)], ""));
    // B not running: not Aligned for less than --warn-after: WARNING.
    let (code, line) = check(&a, &["--warn-after", "3600"]);
    assert_eq!(code, 1, "{line}");
    assert!(line.starts_with("SCSP WARNING - 0/1 DCS aligned"), "{line}");
    assert!(line.contains("s_a DCS 127.0.0.2 not aligned for"), "{line}");
    // For longer than --warn-after: CRITICAL.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let (code, line) = check(&a, &["--warn-after", "1"]);
    assert_eq!(code, 2, "{line}");
    assert!(line.starts_with("SCSP CRITICAL - "), "{line}");
    // An unknown server: UNKNOWN.
    let (code, line) = check(&a, &["nosuch"]);
    assert_eq!(code, 3, "{line}");

    // B up: aligned: OK.
    let mut b = Daemon::start("checkB", &server_conf("s_a", (2, pb), &[(1, pa)], ""));
    a.wait_until(15, "alignment", || a.dcs("s_a")[0].ca == "Aligned");
    let (code, line) = check(&a, &[]);
    assert_eq!(code, 0, "{line}");
    assert!(
        line.starts_with("SCSP OK - 1/1 DCS aligned in 1 server(s)"),
        "{line}"
    );
    let (code, _) = check(&a, &["s_a", "--warn-after", "0"]);
    assert_eq!(code, 0);

    // B gone: the DCS leaves Aligned; the time counts from then, not from the start.
    std::thread::sleep(std::time::Duration::from_millis(2000));
    b.kill();
    a.wait_until(15, "the DCS down", || a.dcs("s_a")[0].ca != "Aligned");
    let d = a.dcs("s_a").remove(0);
    assert!(d.unaligned_s.unwrap() < 3, "{d:?}");
    let (code, line) = check(&a, &["--warn-after", "30"]);
    assert_eq!(code, 1, "{line}");

    // The daemon gone: CRITICAL.
    let mut a = a;
    a.kill();
    let o = scspctl(&a.socket, &["check"]);
    assert_eq!(o.status.code(), Some(2));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.starts_with("SCSP CRITICAL - scspd is not answering on"),
        "{text}"
    );
    let o = scspctl(&a.dir.path().join("missing.sock"), &["check"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn show_dcs_detail_follows_a_dcs_going_down_and_up() {
    let (pa, pb) = (free_udp_port("127.0.0.1"), free_udp_port("127.0.0.2"));
    let a = Daemon::start("detailA", &server_conf("s_a", (1, pa), &[(2, pb)], ""));
    let d = a.dcs("s_a").remove(0);
    assert_eq!((d.last_hello_s, d.dead_in_ms, d.flaps), (None, None, 0));
    assert!(d.last_down.is_none());
    let b_conf = server_conf("s_a", (2, pb), &[(1, pa)], "");
    let mut b = Daemon::start("detailB", &b_conf);
    a.wait_until(15, "alignment", || a.dcs("s_a")[0].ca == "Aligned");
    a.add("s_a", "01", "aa");
    b.wait_until(10, "the entry", || b.cache("s_a").len() == 1);
    a.wait_until(10, "an RTT", || a.dcs("s_a")[0].srtt_us.is_some());
    let d = a.dcs("s_a").remove(0);
    // HelloInt 1, HelloDead 3 on both sides: a Hello a second, dead 3.5 s after the last one.
    assert!(d.last_hello_s.unwrap() <= 2, "{d:?}");
    let left = d.dead_in_ms.unwrap();
    assert!(left > 0 && left <= 3500, "{d:?}");
    assert_eq!(d.flaps, 0);
    assert!(d.last_down.is_none());

    b.kill();
    a.wait_until(15, "the DCS down", || {
        a.dcs("s_a")[0].hello != "Bidirectional"
    });
    let d = a.dcs("s_a").remove(0);
    assert_eq!(d.flaps, 1, "{d:?}");
    let why = d.last_down.clone().unwrap();
    assert!(why.starts_with("Hello "), "{why}");
    assert!(d.last_down_s.unwrap() <= 2);
    let text = scspctl_ok(&a.socket, &["show", "dcs", "s_a", "--detail"]);
    assert!(
        text.contains("server s_a DCS 127.0.0.2 (127.0.0.2:"),
        "{text}"
    );
    assert!(text.contains("  flaps:           1\n"), "{text}");
    assert!(text.contains(&format!(": {why}\n")), "{text}");

    // B back: aligned again; the down is remembered, the flap counted once.
    b = Daemon::start("detailB2", &b_conf);
    a.wait_until(15, "alignment again", || a.dcs("s_a")[0].ca == "Aligned");
    let d = a.dcs("s_a").remove(0);
    assert_eq!(d.flaps, 1);
    assert_eq!(d.last_down.as_deref(), Some(why.as_str()));
    assert!(d.last_hello_s.unwrap() <= 2);
    drop(b);
}
