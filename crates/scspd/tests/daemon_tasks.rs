//! Server tasks never wait on each other (issue 13, case 7): while one server of a daemon aligns
//! a large cache with its DCS (a round trip per message, the task lingering on its socket for
//! each answer), another server of the same daemon keeps sending its Hellos on time, stays
//! Aligned with its own DCS, and clients are answered.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::*;
use scspd::proto::{DcsAction, KeyData, Request, Response};

#[test]
fn another_server_keeps_its_hellos_while_one_aligns_a_large_cache() {
    const N: u32 = 200_000;
    let pa1 = free_udp_port("127.0.0.1");
    let pa2 = free_udp_port("127.0.0.1");
    let pb = free_udp_port("127.0.0.2");
    let pc = free_udp_port("127.0.0.3");
    // A: s_a, whose DCS is B, and s_b, whose DCS is C; the same thread serves both.
    let a = Daemon::start(
        "tasksA",
        &format!(
            "{}{}",
            server_conf("s_a", (1, pa1), &[(2, pb)], ""),
            server_conf("s_b", (1, pa2), &[(3, pc)], "")
        ),
    );
    let b = Daemon::start("tasksB", &server_conf("s_a", (2, pb), &[(1, pa1)], ""));
    let c = Daemon::start("tasksC", &server_conf("s_b", (3, pc), &[(1, pa2)], ""));
    a.wait_until(30, "both of A's servers Aligned", || {
        a.dcs("s_a")[0].ca == "Aligned" && a.dcs("s_b")[0].ca == "Aligned"
    });
    // B fills its cache while its DCS A is disabled: once enabled, A learns it all by Cache
    // Alignment, not by flooding.
    b.ok(Request::DcsControl {
        server: "s_a".into(),
        dcs: "127.0.0.1".into(),
        action: DcsAction::Disable,
    });
    let mut l = b.client();
    l.stream
        .set_read_timeout(Some(Duration::from_secs(300)))
        .unwrap();
    let entries = (0..N)
        .map(|i| KeyData {
            key: format!("{i:08x}"),
            data: format!("{:032x}", u128::from(i) * 0x9e37_79b9),
            seq: None,
        })
        .collect();
    match l.request(Request::Load {
        server: "s_a".into(),
        entries,
    }) {
        Ok(Response::Loaded { accepted, .. }) => assert_eq!(accepted, u64::from(N)),
        r => panic!("load: {r:?}"),
    }
    let alignments = |d: &Daemon| d.dcs("s_a")[0].stats["alignments"].as_u64().unwrap();
    let alignments_before = alignments(&a);

    // C's view of the Hellos of A's s_b, read every 20 ms, while s_a aligns.
    let t0 = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (stop, socket) = (stop.clone(), c.socket.clone());
        std::thread::spawn(move || {
            let mut view = Client::connect(&socket).unwrap();
            let mut hellos: Vec<u64> = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                if let Some(t) = last_hello_ms(&mut view, "s_b", "127.0.0.1", t0, 3000)
                    && hellos.last().is_none_or(|&l| t > l + 50)
                {
                    hellos.push(t);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            hellos
        })
    };
    b.ok(Request::DcsControl {
        server: "s_a".into(),
        dcs: "127.0.0.1".into(),
        action: DcsAction::Enable,
    });
    let started = Instant::now();
    let mut answers = 0;
    a.wait_until(300, "A's s_a to learn B's cache by alignment", || {
        answers += 1;
        a.servers()
            .iter()
            .any(|s| s.name == "s_a" && s.entries == u64::from(N))
    });
    let aligned_in = started.elapsed();
    // Watched a Hello interval more, for the gap after the alignment.
    std::thread::sleep(Duration::from_millis(1500));
    stop.store(true, Ordering::Relaxed);
    let hellos = watcher.join().unwrap();
    let gaps: Vec<u64> = hellos.windows(2).map(|w| w[1] - w[0]).collect();
    let worst = gaps.iter().copied().max().unwrap_or(u64::MAX);
    eprintln!(
        "s_a learned {N} entries by alignment in {:.2} s ({answers} requests to A answered \
         meanwhile); s_b's Hellos seen by C: {}, largest gap {worst} ms",
        aligned_in.as_secs_f64(),
        hellos.len()
    );
    assert!(
        alignments(&a) > alignments_before,
        "A's s_a did not align again: {:?}",
        a.dcs("s_a")
    );
    assert!(hellos.len() >= 2, "{hellos:?}");
    // HelloInt 1: a Hello late by more than 200 ms is a gap over 1.2 s.
    assert!(
        worst <= 1200,
        "s_b's Hello gaps while s_a aligned: {gaps:?}"
    );
    for (d, server) in [(&a, "s_b"), (&c, "s_b")] {
        let v = d.dcs(server).remove(0);
        assert_eq!(
            (v.ca.as_str(), v.flaps),
            ("Aligned", 0),
            "{}: {v:?}",
            d.name
        );
    }
}
