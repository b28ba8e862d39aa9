//! Re-alignment by set reconciliation with real daemons (docs/reconciliation.md): A and B have
//! `Reconcile on;`, C is RFC-only. All three are DCSs of each other. A is cut off (its
//! configuration reloaded without DCSs), each of the three originates entries, A's DCSs come
//! back: every cache ends equal, A and B re-aligned by reconciliation, C by RFC 2334 Cache
//! Alignment with both. And fresh learners, one master and one slave of the server that holds
//! the entries, take them by the bulk path (docs/reconciliation.md §8).

mod common;

use common::*;
use scspd::proto::{KeyData, Request, Response};

fn conf(me: u8, ports: [u16; 3], dcs: &[u8], reconcile: bool) -> String {
    let peers: Vec<(u8, u16)> = dcs.iter().map(|&y| (y, ports[y as usize - 1])).collect();
    let s = server_conf("s", (me, ports[me as usize - 1]), &peers, "");
    if reconcile {
        s.replacen("ServerGroupID 7;", "ServerGroupID 7; Reconcile on;", 1)
    } else {
        s
    }
}

/// The reconciliation counters DCS `id` of `d` shows (absent where not configured).
fn recon(d: &Daemon, id: &str) -> Option<(u64, u64)> {
    let v = d.dcs_by_id("s", id);
    let r = v.stats.get("recon")?;
    Some((
        r["decoded"].as_u64().unwrap_or(0),
        r["fallbacks"].as_u64().unwrap_or(0),
    ))
}

#[test]
fn rfc_2_2_two_reconciling_daemons_and_an_rfc_only_one_converge() {
    let ports = [
        free_udp_port("127.0.0.1"),
        free_udp_port("127.0.0.2"),
        free_udp_port("127.0.0.3"),
    ];
    let a_linked = conf(1, ports, &[2, 3], true);
    let a = Daemon::start("reconA", &a_linked);
    let b = Daemon::start("reconB", &conf(2, ports, &[1, 3], true));
    let c = Daemon::start("reconC", &conf(3, ports, &[1, 2], false));
    for (i, d) in [&a, &b, &c].into_iter().enumerate() {
        for k in 0..20u32 {
            d.add("s", &format!("{:02x}{k:06x}", i + 1), "0101");
        }
    }
    for d in [&a, &b, &c] {
        d.wait_until(20, "60 entries everywhere", || d.cache("s").len() == 60);
    }
    // C is RFC-only: it shows no reconciliation counters, and neither A nor B reconciles with it.
    assert_eq!(recon(&c, "127.0.0.1"), None);
    assert_eq!(recon(&a, "127.0.0.3"), Some((0, 0)));
    assert_eq!(recon(&b, "127.0.0.3"), Some((0, 0)));
    let (b_decoded, _) = recon(&b, "127.0.0.1").expect("B reconciles with A");

    // A is cut off from both.
    std::fs::write(&a.config, conf(1, ports, &[], true)).unwrap();
    a.ok(Request::Reload);
    for d in [&b, &c] {
        d.wait_until(20, "A down", || d.dcs_by_id("s", "127.0.0.1").ca == "Down");
    }
    // Differences on every side: new entries, and a change of an entry all held.
    for (i, d) in [&a, &b, &c].into_iter().enumerate() {
        for k in 0..15u32 {
            d.add("s", &format!("{:02x}{k:06x}", i + 0x11), "0202");
        }
        d.add("s", &format!("{:02x}{:06x}", i + 1, 0), "0303");
    }
    b.wait_until(20, "B and C exchange theirs", || b.cache("s").len() == 90);
    assert_eq!(a.cache("s").len(), 75);

    // A comes back.
    std::fs::write(&a.config, &a_linked).unwrap();
    a.ok(Request::Reload);
    for d in [&a, &b, &c] {
        d.wait_until(30, "105 entries everywhere", || d.cache("s").len() == 105);
    }
    for d in [&a, &b, &c] {
        d.wait_until(30, "every DCS Aligned", || {
            d.dcs("s").iter().all(|v| v.ca == "Aligned" && v.crl == 0)
        });
    }
    let ta = triples(&a.cache("s"));
    assert_eq!(ta, triples(&b.cache("s")));
    assert_eq!(ta, triples(&c.cache("s")));
    assert!(ta.iter().filter(|t| t.2 == "0303").count() == 3);
    // A and B re-aligned by a reconciliation that decoded; C by RFC Cache Alignment.
    let (decoded, fallbacks) = recon(&b, "127.0.0.1").expect("B reconciles with A");
    assert!(decoded > b_decoded, "{decoded} {b_decoded}");
    assert_eq!(fallbacks, 0);
    assert_eq!(recon(&b, "127.0.0.3"), Some((0, 0)));
    assert_eq!(recon(&a, "127.0.0.3"), Some((0, 0)));
}

/// The bulk path's counters DCS `id` of `d` shows: (streams, entries).
fn bulk(d: &Daemon, server: &str, id: &str) -> (u64, u64) {
    let v = d.dcs_by_id(server, id);
    let r = &v.stats["recon"];
    (
        r["bulk"].as_u64().unwrap_or(0),
        r["bulk_entries"].as_u64().unwrap_or(0),
    )
}

/// B (127.0.0.2) holds 30,000 entries, more than its 32,768 cells can reconcile (about 1.35 cells
/// per difference); A (127.0.0.1, B's slave) and C (127.0.0.3, B's master) start empty, in a line
/// A-B-C, all with `Reconcile on;`. Both learners take B's entries by the bulk path: A as slave
/// (B, master, streams), C as master (B, slave, offers and streams). Every cache ends the same.
#[test]
fn recon_8_fresh_learners_take_the_bulk_path() {
    const N: u32 = 30_000;
    let ports = [
        free_udp_port("127.0.0.1"),
        free_udp_port("127.0.0.2"),
        free_udp_port("127.0.0.3"),
    ];
    let tcp = free_tcp_port();
    let b = Daemon::start(
        "bulkB",
        &format!(
            "Metrics 127.0.0.1:{tcp};\n{}",
            conf(2, ports, &[1, 3], true)
        ),
    );
    let entries: Vec<KeyData> = (0..N)
        .map(|k| KeyData {
            key: format!("{k:08x}"),
            data: "0101".into(),
            seq: None,
        })
        .collect();
    match b.ok(Request::Load {
        server: "s".into(),
        entries,
    }) {
        Response::Loaded { errors, .. } => assert!(errors.is_empty(), "{errors:?}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(b.cache("s").len(), N as usize);
    let a = Daemon::start("bulkA", &conf(1, ports, &[2], true));
    let c = Daemon::start("bulkC", &conf(3, ports, &[2], true));
    for d in [&a, &c] {
        d.wait_until(60, "every entry learned and Aligned", || {
            d.dcs("s").iter().all(|v| v.ca == "Aligned" && v.crl == 0)
                && d.cache("s").len() == N as usize
        });
    }
    b.wait_until(30, "B Aligned with both", || {
        b.dcs("s").iter().all(|v| v.ca == "Aligned" && v.crl == 0)
    });
    let tb = triples(&b.cache("s"));
    assert_eq!(tb, triples(&a.cache("s")));
    assert_eq!(tb, triples(&c.cache("s")));
    // Both learners took B's entries as a stream: B sent them, each learner took them.
    for (d, id) in [(&a, "127.0.0.1"), (&c, "127.0.0.3")] {
        let (streams, sent) = bulk(&b, "s", id);
        assert!(
            streams >= 1 && sent >= u64::from(N),
            "B to {id}: {streams} {sent}"
        );
        let (streams, taken) = bulk(d, "s", "127.0.0.2");
        assert!(
            streams >= 1 && taken >= u64::from(N),
            "{id} from B: {streams} {taken}"
        );
    }
    // The same counters in B's metrics; each learner was empty and stored every record: nothing
    // was left to reconcile after either stream.
    let (status, body) = scrape(&format!("127.0.0.1:{tcp}"));
    assert_eq!(status, "HTTP/1.1 200 OK");
    let m = samples(&body);
    for id in ["127.0.0.1", "127.0.0.3"] {
        let dl = format!("server=\"s\",dcs=\"{id}\"");
        let get = |name: &str| {
            *m.get(&format!("{name}{{{dl}}}"))
                .unwrap_or_else(|| panic!("no {name} for {id} in:\n{body}"))
        };
        assert!(get("scsp_dcs_bulk_streams_total") >= 1.0, "{id}");
        assert!(get("scsp_dcs_bulk_entries_total") >= f64::from(N), "{id}");
        assert!(get("scsp_dcs_bulk_clean_total") >= 1.0, "{id}");
        assert!(
            m.contains_key(&format!(
                "scsp_dcs_reconciliations_total{{{dl},outcome=\"fallback\"}}"
            )),
            "{id}"
        );
    }
    // And in `show dcs --detail`.
    let text = scspctl_ok(&b.socket, &["show", "dcs", "s", "--detail"]);
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.trim_start().starts_with("reconciliation:"))
        .collect();
    assert_eq!(lines.len(), 2, "{text}");
    for l in lines {
        // (Numbers as in the metrics above: at least one stream, each with nothing left.)
        assert!(
            l.contains("bulk path: ")
                && l.ends_with(" with nothing left to reconcile")
                && !l.contains("bulk path: 0 streams")
                && !l.ends_with(" 0 with nothing left to reconcile"),
            "{l}"
        );
    }
}
