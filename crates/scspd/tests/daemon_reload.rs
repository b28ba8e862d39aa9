//! SIGHUP and the Reload request: unchanged DCSs keep their sessions, changed settings are
//! applied in place, a broken file is refused with every error at file:line:col.

mod common;

use common::*;
use scspd::proto::{ErrorCode, Request};

fn alignments(d: &Daemon, id: &str) -> u64 {
    d.dcs_by_id("s_a", id).stats["alignments"].as_u64().unwrap()
}

#[test]
fn sighup_keeps_unchanged_dcs_up() {
    let (pa, pb) = free_pair();
    let (a, b) = pair("hupkeep", (pa, pb));
    a.add("s_a", "01", "aa");
    b.wait_until(10, "entry", || b.cache("s_a").len() == 1);
    std::thread::sleep(std::time::Duration::from_millis(1200));
    let before = b.dcs_by_id("s_a", "127.0.0.1");
    let n = alignments(&b, "127.0.0.1");
    let na = alignments(&a, "127.0.0.2");
    // The same DCS, moved within the file, plus a new DCS (nobody there) and a comment.
    let conf = format!(
        "# reloaded\n{}",
        server_conf(
            "s_a",
            (2, pb),
            &[(5, free_udp_port("127.0.0.5")), (1, pa)],
            ""
        )
    );
    std::fs::write(&b.config, conf).unwrap();
    b.signal("HUP");
    b.wait_until(10, "reload", || b.log_text().contains("reload done"));
    assert_eq!(b.dcs("s_a").len(), 2);
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let after = b.dcs_by_id("s_a", "127.0.0.1");
    assert_eq!(after.hello, "Bidirectional");
    assert_eq!(after.ca, "Aligned");
    assert_eq!(alignments(&b, "127.0.0.1"), n, "the session flapped");
    assert!(
        after.hello_since_s > before.hello_since_s,
        "Hello restarted: {before:?} -> {after:?}"
    );
    assert!(after.ca_since_s >= before.ca_since_s);
    assert_eq!(b.cache("s_a").len(), 1);
    // The new DCS exists and is trying (no one answers there).
    assert_eq!(b.dcs_by_id("s_a", "127.0.0.5").hello, "Waiting");
    assert!(b.log_text().contains("DCS 127.0.0.5 added"));
    // And A saw nothing either.
    assert_eq!(alignments(&a, "127.0.0.2"), na);
}

#[test]
fn changed_timers_are_applied_in_place_and_removed_dcs_goes() {
    let (pa, pb) = free_pair();
    let (a, b) = pair("hupupd", (pa, pb));
    let n = alignments(&b, "127.0.0.1");
    let conf =
        server_conf("s_a", (2, pb), &[(1, pa)], "CSUReXmitInt 4;").replace("hops 3", "hops 5");
    std::fs::write(&b.config, conf).unwrap();
    let r = b.ok(Request::Reload);
    assert_eq!(r, scspd::proto::Response::Done);
    assert!(
        b.log_text()
            .contains("DCS 127.0.0.1: settings changed; session kept")
    );
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert_eq!(alignments(&b, "127.0.0.1"), n);
    assert!(b.dump().contains("CSUReXmitInt 4s CSUReXmitMax 5 Hops 5"));
    // A still learns what B originates after the change.
    b.add("s_a", "02", "bb");
    a.wait_until(10, "entry at A", || a.cache("s_a").len() == 1);
    // Removing the DCS takes it down.
    let p6 = free_udp_port("127.0.0.6");
    std::fs::write(&b.config, server_conf("s_a", (2, pb), &[(6, p6)], "")).unwrap();
    b.signal("HUP");
    b.wait_until(10, "DCS removed", || {
        b.dcs("s_a").iter().all(|d| d.id != "127.0.0.1")
    });
    assert!(b.log_text().contains("DCS 127.0.0.1 removed"));
    a.wait_until(15, "B down at A", || {
        a.dcs("s_a")[0].hello != "Bidirectional"
    });
}

#[test]
fn broken_reload_is_refused() {
    let (_a, mut b) = pair("hupbad", free_pair());
    let n = alignments(&b, "127.0.0.1");
    let good = std::fs::read_to_string(&b.config).unwrap();
    let bad = good.replace("hops 3;", "hops 3000;") + "server x { protocol 1; };\n";
    std::fs::write(&b.config, &bad).unwrap();
    b.signal("HUP");
    b.wait_until(10, "refusal", || b.log_text().contains("reload refused"));
    assert!(b.alive());
    let log = b.log_text();
    let file = b.config.display().to_string();
    assert!(
        log.contains(&format!("{file}:2:")) && log.contains("invalid hop count"),
        "{log}"
    );
    assert!(
        log.contains(&format!("{file}:4:1: server group ID missing")),
        "{log}"
    );
    // The Reload request says so too.
    let e = b.request(Request::Reload).unwrap_err();
    assert_eq!(e.code, ErrorCode::Config);
    assert!(e.message.contains("invalid hop count"), "{}", e.message);
    // The old configuration runs on, undisturbed.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert_eq!(b.dcs_by_id("s_a", "127.0.0.1").ca, "Aligned");
    assert_eq!(alignments(&b, "127.0.0.1"), n);
    // A file that cannot be read is refused likewise.
    std::fs::remove_file(&b.config).unwrap();
    let e = b.request(Request::Reload).unwrap_err();
    assert!(
        e.message.contains("can't open config file"),
        "{}",
        e.message
    );
    assert!(b.alive());
}

#[test]
fn changed_identity_restarts_the_server_keeping_local_entries() {
    let (pa, pb) = free_pair();
    let (a, b) = pair("hupid", (pa, pb));
    b.add("s_a", "0b", "bb");
    a.wait_until(10, "entry at A", || a.cache("s_a").len() == 1);
    // B moves to another port: a new socket, so a new server; A follows.
    let pb2 = free_udp_port("127.0.0.2");
    assert_ne!(pb2, pb, "B's port is taken");
    std::fs::write(&b.config, server_conf("s_a", (2, pb2), &[(1, pa)], "")).unwrap();
    std::fs::write(&a.config, server_conf("s_a", (1, pa), &[(2, pb2)], "")).unwrap();
    b.ok(Request::Reload);
    a.ok(Request::Reload);
    assert!(b.log_text().contains("restarting"));
    assert_eq!(b.servers()[0].listen, format!("127.0.0.2:{pb2}"));
    assert_eq!(b.cache("s_a").len(), 1, "local entry kept");
    for d in [&a, &b] {
        d.wait_until(15, "realignment", || d.dcs("s_a")[0].ca == "Aligned");
    }
    b.add("s_a", "0c", "cc");
    a.wait_until(10, "new entry at A", || a.cache("s_a").len() == 2);
}
