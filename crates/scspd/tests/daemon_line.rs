//! Real daemons on loopback in a line A–B–C: alignment, flooding, deletion, restart.

mod common;

use common::*;
use scspd::proto::{KeyData, Request, Response};

/// The set-up of the issue, to the letter: three daemons started as
/// `scspd -d -f X.conf --socket X.sock`, 50 entries added at each end, and every cache lists all
/// 100 within seconds. (The files name ports 17001–17003; here the ports are chosen free.)
#[test]
fn exact_setup_floods_100_entries() {
    let [pa, pb, pc] = free_line();
    let a_conf = format!(
        "server s_a {{ protocol 65000; netif lo; ServerGroupID 7; ID 127.0.0.1; \
         Address 127.0.0.1; Port {pa}; MTU 1472; DCS {{ ID 127.0.0.2; \
         Address 127.0.0.2; Port {pb}; hops 3; HelloInt 1; HelloDead 3; }}; }};\n"
    );
    let b_conf = format!(
        "server s_a {{ protocol 65000; netif lo; ServerGroupID 7; ID 127.0.0.2; \
         Address 127.0.0.2; Port {pb}; MTU 1472; \
         DCS {{ ID 127.0.0.1; Address 127.0.0.1; Port {pa}; hops 3; HelloInt 1; HelloDead 3; }}; \
         DCS {{ ID 127.0.0.3; Address 127.0.0.3; Port {pc}; hops 3; HelloInt 1; HelloDead 3; }}; }};\n"
    );
    let c_conf = format!(
        "server s_a {{ protocol 65000; netif lo; ServerGroupID 7; ID 127.0.0.3; \
         Address 127.0.0.3; Port {pc}; MTU 1472; DCS {{ ID 127.0.0.2; \
         Address 127.0.0.2; Port {pb}; hops 3; HelloInt 1; HelloDead 3; }}; }};\n"
    );
    let a = Daemon::start("A", &a_conf);
    let b = Daemon::start("B", &b_conf);
    let c = Daemon::start("C", &c_conf);
    for i in 0..50u32 {
        a.add("s_a", &format!("{:08x}", 0xa000 + i), &format!("aa{i:04x}"));
        c.add("s_a", &format!("{:08x}", 0xc000 + i), &format!("cc{i:04x}"));
    }
    for d in [&a, &b, &c] {
        d.wait_until(20, "all 100 entries", || d.cache("s_a").len() == 100);
    }
    let ta = triples(&a.cache("s_a"));
    assert_eq!(ta, triples(&b.cache("s_a")));
    assert_eq!(ta, triples(&c.cache("s_a")));
    // Originated entries marked local (the order of a version-1 reply is checked by
    // daemon_stream).
    let at_a = a.cache("s_a");
    assert_eq!(at_a.iter().filter(|e| e.local).count(), 50);
    assert!(
        at_a.iter()
            .all(|e| e.local == (e.originator == "127.0.0.1"))
    );
    // Every transition was logged, naming the server and the DCS.
    assert!(
        b.log_text()
            .contains("server s_a: DCS 127.0.0.3: CA Update Cache -> Aligned")
            || b.log_text()
                .contains("server s_a: DCS 127.0.0.3: CA Cache Summarize")
    );
    assert!(
        a.log_text()
            .contains("server s_a: DCS 127.0.0.2: Hello Down -> Waiting")
    );
}

#[test]
fn updates_and_deletions_cross_the_line() {
    let [a, b, c] = line("upd", free_line());
    a.add("s_a", "01", "0101");
    c.wait_until(15, "entry at C", || c.cache("s_a").len() == 1);
    let s2 = a.add("s_a", "01", "0202");
    c.wait_until(15, "update at C", || {
        c.cache("s_a")
            .first()
            .is_some_and(|e| e.data == "0202" && e.seq == s2)
    });
    a.ok(Request::Del {
        server: "s_a".into(),
        key: "01".into(),
    });
    c.wait_until(15, "deletion at C", || c.cache("s_a").is_empty());
    assert!(b.cache("s_a").is_empty());
    // A hand-over replaces what A originates: 11 goes, 12 changes, 13 comes.
    a.add("s_a", "11", "01");
    a.add("s_a", "12", "01");
    let kd = |k: &str, d: &str| KeyData {
        key: k.into(),
        data: d.into(),
        seq: None,
    };
    let r = a.ok(Request::Handover {
        server: "s_a".into(),
        entries: vec![kd("12", "02"), kd("13", "03"), kd("", "00")],
    });
    match r {
        Response::Loaded { accepted, errors } => {
            assert_eq!(accepted, 2);
            assert_eq!(errors.len(), 1, "{errors:?}");
        }
        r => panic!("{r:?}"),
    }
    let want = vec![
        ("12".to_owned(), "127.0.0.1".to_owned(), "02".to_owned()),
        ("13".to_owned(), "127.0.0.1".to_owned(), "03".to_owned()),
    ];
    c.wait_until(15, "the hand-over at C", || {
        triples(&c.cache("s_a")) == want
    });
    // Bad input is refused, not fatal.
    let e = a
        .request(Request::Add {
            server: "s_a".into(),
            key: "zz".into(),
            data: "00".into(),
        })
        .unwrap_err();
    assert_eq!(e.code, scspd::proto::ErrorCode::BadArgument);
    let e = a
        .request(Request::Del {
            server: "s_a".into(),
            key: "77".into(),
        })
        .unwrap_err();
    assert_eq!(e.code, scspd::proto::ErrorCode::NotFound);
    let e = a
        .request(Request::ShowCache {
            server: "nope".into(),
            query: Default::default(),
        })
        .unwrap_err();
    assert_eq!(e.code, scspd::proto::ErrorCode::NoSuchServer);
}

#[test]
fn restarted_daemon_realigns() {
    let [a, mut b, c] = line("rst", free_line());
    for i in 0..10 {
        a.add("s_a", &format!("a{i}"), "aa");
        c.add("s_a", &format!("c{i}"), "cc");
    }
    b.wait_until(15, "20 entries at B", || b.cache("s_a").len() == 20);
    b.kill();
    // A notices B is gone (HelloDead 3 x HelloInt 1).
    a.wait_until(15, "B down at A", || {
        a.dcs_by_id("s_a", "127.0.0.2").hello != "Bidirectional"
    });
    // While B is down, A and C change their caches.
    a.add("s_a", "a999", "aa");
    a.ok(Request::Del {
        server: "s_a".into(),
        key: "a0".into(),
    });
    c.add("s_a", "c999", "cc");
    b.restart();
    for d in [&a, &b, &c] {
        d.wait_until(20, "realigned caches of 21 entries", || {
            d.cache("s_a").len() == 21
        });
    }
    let t = triples(&a.cache("s_a"));
    assert_eq!(t, triples(&b.cache("s_a")));
    assert_eq!(t, triples(&c.cache("s_a")));
    assert!(!t.iter().any(|e| e.0 == "a0"));
    let dcs = a.dcs_by_id("s_a", "127.0.0.2");
    assert_eq!(dcs.ca, "Aligned");
    assert!(dcs.stats["alignments"].as_u64().unwrap() >= 2);
}

/// IPv6 transport and 16-byte IDs: two daemons on [::1]. (LNNI: the generic profile, so that
/// any data is a record.)
#[test]
fn ipv6_pair_aligns() {
    let conf = |me: u8, port: u16, peer: u8, peer_port: u16| {
        format!(
            "server v6 {{ protocol LNNI; ServerGroupID 9; ID 2001:db8::{me}; Address ::1; \
             Port {port}; MTU 1452; DCS {{ ID 2001:db8::{peer}; Address ::1; Port {peer_port}; \
             HelloInt 1; }}; }};\n"
        )
    };
    let [pa, pb] = free_udp_ports("::1");
    let a = Daemon::start("v6A", &conf(1, pa, 2, pb));
    let b = Daemon::start("v6B", &conf(2, pb, 1, pa));
    a.add("v6", "0a", "aa");
    b.wait_until(15, "entry at B", || b.cache("v6").len() == 1);
    let e = &b.cache("v6")[0];
    assert_eq!(e.originator, "2001:db8::1");
    let d = b.dcs_by_id("v6", "2001:db8::1");
    assert_eq!(
        (d.address.as_str(), d.ca.as_str()),
        (format!("[::1]:{pa}").as_str(), "Aligned")
    );
    let s = &b.servers()[0];
    assert_eq!(
        (s.lsid.as_str(), s.protocol.as_str()),
        ("2001:db8::2", "LNNI")
    );
}
