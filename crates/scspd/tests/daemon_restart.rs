//! A server killed with SIGKILL and restarted with the same configuration, its state lost, while
//! its local server deleted, updated and added entries: after the local server hands its cache
//! over (before the DCS is heard back, or long after), every cache equals the local server's
//! truth. Nothing is resurrected and no unchanged entry is renumbered (issue: "a restart can keep
//! deleted entries alive for good").

mod common;

use std::collections::BTreeMap;

use common::*;
use scspd::proto::{KeyData, Request, Response};

const A_ID: &str = "127.0.0.1";

fn handover(d: &Daemon, truth: &BTreeMap<String, String>) {
    let entries = truth
        .iter()
        .map(|(k, v)| KeyData {
            key: k.clone(),
            data: v.clone(),
            seq: None,
        })
        .collect();
    match d.ok(Request::Handover {
        server: "s_a".into(),
        entries,
    }) {
        Response::Loaded { errors, .. } => assert!(errors.is_empty(), "{errors:?}"),
        other => panic!("{other:?}"),
    }
}

/// A's entries as `d` holds them: key -> (data, seq).
fn of_a(d: &Daemon, server: &str) -> BTreeMap<String, (String, u32)> {
    d.cache(server)
        .into_iter()
        .filter(|e| e.originator == A_ID)
        .map(|e| (e.key, (e.data, e.seq)))
        .collect()
}

fn run(handover_after_realignment: bool) {
    let (pa, pb) = (free_udp_port("127.0.0.1"), free_udp_port("127.0.0.2"));
    let tag = if handover_after_realignment {
        "rstL"
    } else {
        "rst0"
    };
    let mut a = Daemon::start(
        &format!("{tag}A"),
        &server_conf("s_a", (1, pa), &[(2, pb)], ""),
    );
    let b = Daemon::start(
        &format!("{tag}B"),
        &server_conf("s_a", (2, pb), &[(1, pa)], ""),
    );
    let mut truth: BTreeMap<String, String> = (0..200u32)
        .map(|i| (format!("{i:08x}"), format!("{:04x}", i + 1)))
        .collect();
    handover(&a, &truth);
    b.wait_until(30, "B holds A's 200 entries", || {
        of_a(&b, "s_a").len() == 200
    });
    let before = of_a(&b, "s_a");
    // SIGKILL; while A is down its local server deletes 20 entries, updates 20, adds 10.
    a.kill();
    for i in 0..20u32 {
        truth.remove(&format!("{i:08x}"));
    }
    for i in 20..40u32 {
        truth.insert(format!("{i:08x}"), "beef".into());
    }
    for i in 1000..1010u32 {
        truth.insert(format!("{i:08x}"), "cafe".into());
    }
    a.restart();
    if handover_after_realignment {
        // A hears B first and gets its old instances back from it.
        a.wait_until(30, "A realigned with B, holding its old entries", || {
            a.dcs_by_id("s_a", "127.0.0.2").ca == "Aligned" && of_a(&a, "s_a").len() == 200
        });
    }
    handover(&a, &truth);
    let want: BTreeMap<String, String> = truth.clone();
    for (d, name) in [(&a, "A"), (&b, "B")] {
        d.wait_until(30, &format!("{name} holds the truth"), || {
            let got: BTreeMap<String, String> = of_a(d, "s_a")
                .into_iter()
                .map(|(k, (v, _))| (k, v))
                .collect();
            got == want
                && d.dcs_by_id(
                    "s_a",
                    if name == "A" {
                        "127.0.0.2"
                    } else {
                        "127.0.0.1"
                    },
                )
                .ca == "Aligned"
        });
    }
    // Unchanged entries keep their numbers.
    let after = of_a(&b, "s_a");
    let renumbered: Vec<&String> = (40..200u32)
        .map(|i| format!("{i:08x}"))
        .filter_map(|k| {
            let (_, s0) = before.get(&k)?;
            let (_, s1) = after.get(&k)?;
            (s0 != s1).then(|| before.get_key_value(&k).unwrap().0)
        })
        .collect();
    assert!(
        renumbered.is_empty(),
        "{} unchanged entries renumbered",
        renumbered.len()
    );
}

#[test]
fn b_2_0_2_restart_handover_before_the_dcs_is_heard_back() {
    run(false);
}

#[test]
fn b_2_0_2_restart_handover_after_realignment() {
    run(true);
}
