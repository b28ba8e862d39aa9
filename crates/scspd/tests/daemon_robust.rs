//! What the network and local clients may throw at the daemon: garbage and truncated datagrams,
//! packets from strangers, clients speaking nonsense, clients that do not read. Each is counted
//! and logged, and changes nothing else.

mod common;

use std::io::{Read, Write};
use std::net::UdpSocket;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use common::*;
use scsp_core::wire::{self, Body, Id};
use scspd::proto::{ClientMsg, DaemonMsg, ErrorCode, KeyData, Notify, Request, Response};

fn hello_from(sender: [u8; 4], receiver: Id) -> Vec<u8> {
    wire::encode(&hello_packet(Id::from(sender), receiver), None).unwrap()
}

#[test]
fn garbage_datagrams_are_counted_and_change_nothing() {
    // The DCS's own socket, bound first so that its port is the one configured.
    let dcs = UdpSocket::bind("127.0.0.2:0").unwrap();
    let pb = dcs.local_addr().unwrap().port();
    let pa = free_udp_port("127.0.0.1");
    let a_addr = format!("127.0.0.1:{pa}");
    let a = Daemon::start("garbA", &server_conf("s_a", (1, pa), &[(2, pb)], ""));
    // Strangers: another port of the DCS's address, and another address.
    let other_port = UdpSocket::bind("127.0.0.2:0").unwrap();
    let other_port_no = other_port.local_addr().unwrap().port();
    let other_host = UdpSocket::bind("127.0.0.9:0").unwrap();
    let hello = hello_from([127, 0, 0, 2], Id::default());
    for s in [&other_port, &other_host] {
        s.send_to(b"\x01\x05\x00", &a_addr).unwrap();
        s.send_to(&hello, &a_addr).unwrap();
        s.send_to(&[0xff; 2000], &a_addr).unwrap();
    }
    a.wait_until(10, "6 packets dropped", || {
        a.servers()[0].dropped_unknown == 6
    });
    assert!(a.log_text().contains(&format!(
        "dropped a 3-byte packet from 127.0.0.2:{other_port_no}, which is not a configured DCS"
    )));
    assert_eq!(a.dcs_by_id("s_a", "127.0.0.2").hello, "Waiting");
    // From the DCS's own address and port: garbage, a truncated Hello, an empty datagram, a
    // Hello with a bad checksum. Each is malformed for the core.
    let mut bad_sum = hello.clone();
    bad_sum[4] ^= 0x55;
    for p in [&b"garbage"[..], &hello[..hello.len() - 3], &[], &bad_sum] {
        dcs.send_to(p, &a_addr).unwrap();
    }
    a.wait_until(10, "4 malformed packets", || {
        a.dcs_by_id("s_a", "127.0.0.2").stats["malformed"] == 4
    });
    assert!(a.log_text().contains(&format!(
        "DCS 127.0.0.2 (127.0.0.2:{pb}): dropped packet: malformed"
    )));
    assert!(a.cache("s_a").is_empty());
    assert_eq!(a.servers()[0].dropped_unknown, 6);
    // A real Hello from the DCS still works: it hears us, and we hear it.
    dcs.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = [0u8; 2048];
    let (n, from) = dcs.recv_from(&mut buf).unwrap();
    assert_eq!(from, a_addr.parse().unwrap(), "sent from the bound socket");
    assert!(wire::decode(&buf[..n]).is_ok());
    dcs.send_to(
        &hello_from([127, 0, 0, 2], Id::from([127, 0, 0, 1])),
        &a_addr,
    )
    .unwrap();
    a.wait_until(10, "Bidirectional", || {
        a.dcs_by_id("s_a", "127.0.0.2").hello == "Bidirectional"
    });
}

/// Connect, send `bytes`, return the Fatal error (if any) before the daemon closes.
fn fatal_after(d: &Daemon, hello: bool, bytes: &[u8]) -> Option<ErrorCode> {
    let mut s = UnixStream::connect(&d.socket).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    if hello {
        let h = serde_json::to_vec(&ClientMsg::Hello {
            version: 1,
            client: "t".into(),
        })
        .unwrap();
        s.write_all(&frame(&h)).unwrap();
        let mut hdr = [0u8; 4];
        s.read_exact(&mut hdr).unwrap();
        let mut body = vec![0; u32::from_be_bytes(hdr) as usize];
        s.read_exact(&mut body).unwrap();
    }
    let _ = s.write_all(bytes);
    // Half-close: a frame cut short is then noticed at once.
    let _ = s.shutdown(std::net::Shutdown::Write);
    let mut all = Vec::new();
    let _ = s.read_to_end(&mut all);
    if all.len() < 4 {
        return None;
    }
    match serde_json::from_slice::<DaemonMsg>(&all[4..]).ok()? {
        DaemonMsg::Fatal { error } => Some(error.code),
        _ => None,
    }
}

#[test]
fn nonsense_clients_are_disconnected_and_counted() {
    let (pa, pb) = free_pair();
    let d = Daemon::start("nonsense", &server_conf("s_a", (1, pa), &[(2, pb)], ""));
    let req = |id: u64| {
        serde_json::to_vec(&ClientMsg::Request {
            id,
            req: Request::ShowServers,
        })
        .unwrap()
    };
    let hello2 = serde_json::to_vec(&ClientMsg::Hello {
        version: scspd::proto::VERSION + 1,
        client: "t".into(),
    })
    .unwrap();
    let cases: Vec<(bool, Vec<u8>, ErrorCode)> = vec![
        (false, b"hello daemon\n".to_vec(), ErrorCode::BadFrame),
        (false, vec![0, 0, 0, 0], ErrorCode::BadFrame),
        (false, frame(b"{not json"), ErrorCode::BadFrame),
        (false, frame(&req(1)), ErrorCode::Sequence),
        (false, frame(&hello2), ErrorCode::Version),
        (
            true,
            frame(br#"{"type":"request","id":1,"op":"explode"}"#),
            ErrorCode::BadFrame,
        ),
        (
            true,
            frame(br#"{"type":"hello","version":1,"client":"x"}"#),
            ErrorCode::Sequence,
        ),
        (true, frame(b"[]")[..5].to_vec(), ErrorCode::BadFrame),
    ];
    let n = cases.len();
    for (hello, bytes, want) in cases {
        assert_eq!(fatal_after(&d, hello, &bytes), Some(want), "{bytes:?}");
    }
    // A client that goes away mid-frame.
    {
        let mut s = UnixStream::connect(&d.socket).unwrap();
        s.write_all(&[0, 0, 1, 0, b'{']).unwrap();
    }
    d.wait_until(10, "all counted", || {
        d.dump()
            .contains(&format!("{} disconnected for protocol errors", n + 1))
    });
    let log = d.log_text();
    assert!(log.contains("bad_frame: frame too large"), "{log}");
    assert!(log.contains("bad_frame: empty frame"), "{log}");
    assert!(log.contains("sequence: a request before Hello"), "{log}");
    // Everything else works as before.
    assert_eq!(d.servers()[0].name, "s_a");
    assert_eq!(d.add("s_a", "01", "02"), 0x8000_0001);
}

#[test]
fn attached_client_gets_notifications_and_confirms() {
    let (pa, pb) = free_pair();
    let a = Daemon::start("attA", &server_conf("s_a", (1, pa), &[(2, pb)], ""));
    let b = Daemon::start("attB", &server_conf("s_a", (2, pb), &[(1, pa)], ""));
    b.wait_until(15, "alignment", || b.dcs("s_a")[0].ca == "Aligned");
    a.add("s_a", "00", "0000");
    b.wait_until(10, "first entry", || b.cache("s_a").len() == 1);

    let mut c = b.client();
    let r = c
        .request(Request::Attach {
            server: "s_a".into(),
            confirm: false,
        })
        .unwrap();
    assert!(matches!(r, Response::Attached { ref entries, .. } if entries.len() == 1));
    // One local server per Server.
    let e = b
        .request(Request::Attach {
            server: "s_a".into(),
            confirm: false,
        })
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::Busy);
    a.add("s_a", "01", "0101");
    match c.next_notify().unwrap() {
        Notify::Learned { server, entry } => {
            assert_eq!((server.as_str(), entry.key.as_str()), ("s_a", "01"));
            assert_eq!(entry.originator, "127.0.0.1");
            assert!(!entry.local);
        }
        n => panic!("{n:?}"),
    }
    a.ok(Request::Del {
        server: "s_a".into(),
        key: "01".into(),
    });
    match c.next_notify().unwrap() {
        Notify::Removed { entry, reason, .. } => {
            assert_eq!((entry.key.as_str(), reason.as_str()), ("01", "deleted"));
        }
        n => panic!("{n:?}"),
    }
    // What the attached client originates stays after it goes.
    c.request(Request::Add {
        server: "s_a".into(),
        key: "0b".into(),
        data: "bb".into(),
    })
    .unwrap();
    drop(c);
    a.wait_until(10, "B's entry at A", || a.cache("s_a").len() == 2);

    // Now with confirmation.
    let mut c = b.client();
    c.request(Request::Attach {
        server: "s_a".into(),
        confirm: true,
    })
    .unwrap();
    a.add("s_a", "02", "0202");
    let token = match c.next_notify().unwrap() {
        Notify::Confirm { token, entry, .. } => {
            assert_eq!(entry.key, "02");
            token
        }
        n => panic!("{n:?}"),
    };
    assert!(
        !b.cache("s_a").iter().any(|e| e.key == "02"),
        "stored before confirmation"
    );
    // Only the attached client may answer.
    let e = b
        .request(Request::Confirm {
            server: "s_a".into(),
            token,
            accept: true,
        })
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::Sequence);
    c.request(Request::Confirm {
        server: "s_a".into(),
        token,
        accept: false,
    })
    .unwrap();
    a.add("s_a", "03", "0303");
    let token = match c.next_notify().unwrap() {
        Notify::Confirm { token, .. } => token,
        n => panic!("{n:?}"),
    };
    c.request(Request::Confirm {
        server: "s_a".into(),
        token,
        accept: true,
    })
    .unwrap();
    assert!(matches!(c.next_notify().unwrap(), Notify::Learned { .. }));
    let e = c
        .request(Request::Confirm {
            server: "s_a".into(),
            token: 999_999,
            accept: true,
        })
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::NotFound);
    let keys: Vec<String> = b.cache("s_a").into_iter().map(|e| e.key).collect();
    assert_eq!(keys, ["00", "03", "0b"]);
    // Detached, the daemon accepts by itself again.
    drop(c);
    b.wait_until(10, "detach", || !b.servers()[0].client_attached);
    a.add("s_a", "04", "0404");
    b.wait_until(10, "04 at B", || {
        b.cache("s_a").iter().any(|e| e.key == "04")
    });
}

#[test]
fn client_that_does_not_read_is_disconnected() {
    let (pa, pb) = free_pair();
    let a = Daemon::start("slowA", &server_conf("s_a", (1, pa), &[(2, pb)], ""));
    let b = Daemon::start("slowB", &server_conf("s_a", (2, pb), &[(1, pa)], ""));
    b.wait_until(15, "alignment", || b.dcs("s_a")[0].ca == "Aligned");
    let mut c = b.client();
    c.request(Request::Attach {
        server: "s_a".into(),
        confirm: false,
    })
    .unwrap();
    let entries: Vec<KeyData> = (0..12_000u32)
        .map(|i| KeyData {
            key: format!("{i:08x}"),
            data: "00112233445566778899aabbccddeeff".into(),
            seq: None,
        })
        .collect();
    match a.ok(Request::Load {
        server: "s_a".into(),
        entries,
    }) {
        Response::Loaded { accepted, errors } => {
            assert_eq!((accepted, errors.len()), (12_000, 0));
        }
        r => panic!("{r:?}"),
    }
    b.wait_until(30, "12000 entries at B", || {
        b.servers()[0].entries == 12_000
    });
    b.wait_until(10, "the slow client detached", || {
        b.log_text()
            .contains("does not read its notifications fast enough")
    });
    assert!(!b.servers()[0].client_attached);
    // The client finds a Fatal Overflow after what was queued, then the end.
    c.stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut last = None;
    while let Ok(m) = c.recv() {
        last = Some(m);
    }
    match last {
        Some(DaemonMsg::Fatal { error }) => assert_eq!(error.code, ErrorCode::Overflow),
        m => panic!("{m:?}"),
    }
}

/// A Hello of another (Protocol ID, Server Group ID) and Family ID.
fn hello_with(group: (u16, u16), family_id: u16, sender: [u8; 4], receiver: Id) -> Vec<u8> {
    let mut p = hello_packet(Id::from(sender), receiver);
    (p.common.protocol_id, p.common.sgid) = group;
    if let Body::Hello { family_id: f, .. } = &mut p.body {
        *f = family_id;
    }
    wire::encode(&p, None).unwrap()
}

#[test]
fn rfc_2_1_group_mismatch_logged_at_warn_and_another_family_accepted() {
    let (pa, pb) = (free_udp_port("127.0.0.1"), free_udp_port("127.0.0.2"));
    let a = Daemon::start("grpA", &server_conf("s_a", (1, pa), &[(2, pb)], ""));
    let dcs = UdpSocket::bind(("127.0.0.2", pb)).unwrap();
    let to = ("127.0.0.1", pa);
    let us = Id::from([127, 0, 0, 1]);
    // Another Protocol ID, then another Server Group ID: dropped, with a WARN line saying what
    // was expected (RFC 2334 2.1: the Hello protocol runs per Protocol ID / Server Group ID).
    dcs.send_to(&hello_with((65001, 7), 0, [127, 0, 0, 2], us.clone()), to)
        .unwrap();
    dcs.send_to(&hello_with((65000, 8), 0, [127, 0, 0, 2], us.clone()), to)
        .unwrap();
    a.wait_until(10, "both mismatches logged", || {
        let log = a.log_text();
        log.contains("dropped a packet of protocol 65001, server group 7; expected protocol 65000, server group 7")
            && log.contains("dropped a packet of protocol 65000, server group 8; expected protocol 65000, server group 7")
    });
    let log = a.log_text();
    let line = log
        .lines()
        .find(|l| l.contains("dropped a packet of protocol 65001"))
        .unwrap();
    assert!(line.contains("WARN"), "a warning: {line}");
    assert_eq!(a.dcs_by_id("s_a", "127.0.0.2").hello, "Waiting");
    // Another Family ID in the right group: accepted (B.2.5: an aggregation hint), counted and
    // logged once.
    for _ in 0..3 {
        dcs.send_to(&hello_with((65000, 7), 5, [127, 0, 0, 2], us.clone()), to)
            .unwrap();
    }
    a.wait_until(10, "Bidirectional with a DCS of another family", || {
        let d = a.dcs_by_id("s_a", "127.0.0.2");
        d.hello == "Bidirectional" && d.stats["family_mismatches"] == 3
    });
    let log = a.log_text();
    assert_eq!(
        log.matches("Hellos advertise Family ID 5, ours is 0")
            .count(),
        1,
        "{log}"
    );
}
