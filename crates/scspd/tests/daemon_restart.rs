//! A server killed with SIGKILL and restarted with the same configuration, with its saved state
//! (`StateDir`) or without it, killed once its changes have crossed the group or in the middle
//! of a flood of them, while its local server deletes, updates and adds entries: after the local
//! server hands its cache over (at once, as soon as the DCS is heard, or after the
//! realignment), every cache equals the local server's truth. Nothing is resurrected and no
//! unchanged entry is renumbered (issue: "a restart can keep deleted entries alive for good").
//! With the saved state, a realignment with a DCS whose cache did not change fetches nothing.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::*;
use scspd::proto::{KeyData, Request, Response};

const A_ID: &str = "127.0.0.1";
const B_ID: &str = "127.0.0.2";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kill {
    /// Once B holds every entry of A.
    Settled,
    /// This many milliseconds after A was asked to take a burst of 5,000 new entries: in the
    /// middle of their origination, storage and flood.
    InFlood(u64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Handover {
    /// As soon as the restarted daemon answers.
    AtStart,
    /// As soon as A hears B again (Hello Bidirectional): during the realignment.
    WhenHeard,
    /// Once A is Aligned with B again.
    AfterAlignment,
}

fn entries(truth: &BTreeMap<String, String>) -> Vec<KeyData> {
    truth
        .iter()
        .map(|(k, v)| KeyData {
            key: k.clone(),
            data: v.clone(),
            seq: None,
        })
        .collect()
}

fn handover(d: &Daemon, truth: &BTreeMap<String, String>) {
    match d.ok(Request::Handover {
        server: "s_a".into(),
        entries: entries(truth),
    }) {
        Response::Loaded { errors, .. } => assert!(errors.is_empty(), "{errors:?}"),
        other => panic!("{other:?}"),
    }
}

fn load(d: &Daemon, more: &BTreeMap<String, String>) {
    match d.ok(Request::Load {
        server: "s_a".into(),
        entries: entries(more),
    }) {
        Response::Loaded { errors, .. } => assert!(errors.is_empty(), "{errors:?}"),
        other => panic!("{other:?}"),
    }
}

/// The entries of originator `origin` as `d` holds them: key -> (data, seq).
fn of(d: &Daemon, origin: &str) -> BTreeMap<String, (String, u32)> {
    d.cache("s_a")
        .into_iter()
        .filter(|e| e.originator == origin)
        .map(|e| (e.key, (e.data, e.seq)))
        .collect()
}

/// A's own entries in its saved state (read after the kill): key -> number.
fn disk(d: &Daemon) -> BTreeMap<String, u32> {
    let c = rusqlite::Connection::open(d.dir.path().join("state").join("s_a.db")).unwrap();
    let mut st = c
        .prepare("SELECT key, seq FROM entries WHERE origin = ?1 AND flags = 0")
        .unwrap();
    st.query_map([&[127u8, 0, 0, 1][..]], |r| {
        Ok((hex::encode(r.get::<_, Vec<u8>>(0)?), r.get::<_, u32>(1)?))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

fn saved_state(d: &Daemon) -> Option<scspd::proto::SavedStateView> {
    d.servers().into_iter().next()?.saved_state
}

fn key(i: u32) -> String {
    format!("{i:08x}")
}

fn run(saved: bool, kill: Kill, when: Handover) {
    let (pa, pb) = (free_udp_port("127.0.0.1"), free_udp_port("127.0.0.2"));
    let tag = format!(
        "rst{}{}{}",
        if saved { "S" } else { "L" },
        match kill {
            Kill::Settled => "s".to_owned(),
            Kill::InFlood(ms) => ms.to_string(),
        },
        when as u8
    );
    let extra: &[&str] = if saved { &[] } else { &["--state-dir", "none"] };
    let mut a = Daemon::start_with(
        &format!("{tag}A"),
        &server_conf("s_a", (1, pa), &[(2, pb)], ""),
        extra,
    );
    let b = Daemon::start(
        &format!("{tag}B"),
        &server_conf("s_a", (2, pb), &[(1, pa)], ""),
    );
    // B's own entries, which A learns (and, with its saved state, holds again at its restart).
    let b_own: BTreeMap<String, String> = (0..50u32).map(|i| (key(i), "b0b0".into())).collect();
    handover(&b, &b_own);
    let mut truth: BTreeMap<String, String> = (0..200u32)
        .map(|i| (key(i), format!("{:04x}", i + 1)))
        .collect();
    handover(&a, &truth);
    b.wait_until(30, "B holds A's 200 entries", || of(&b, A_ID).len() == 200);
    a.wait_until(30, "A holds B's 50 entries", || of(&a, B_ID).len() == 50);
    // A burst of new entries; A is killed in the middle of their flood, or once they are
    // across. The local server's truth has them all (it asked; after the restart its handover
    // gives them again).
    let n = match kill {
        Kill::Settled => 500,
        Kill::InFlood(_) => 5200,
    };
    let burst: BTreeMap<String, String> = (200..n).map(|i| (key(i), "f00d".into())).collect();
    match kill {
        Kill::Settled => {
            load(&a, &burst);
            b.wait_until(30, "B holds A's 500 entries", || of(&b, A_ID).len() == 500);
            if saved {
                // And A's saved state holds them too (the writer is a few milliseconds behind).
                a.wait_until(30, "A's changes written", || {
                    saved_state(&a).is_some_and(|s| s.pending == 0 && s.written >= 550)
                });
            }
            a.kill();
        }
        Kill::InFlood(ms) => {
            let socket = a.socket.clone();
            let asked = entries(&burst);
            let t = std::thread::spawn(move || {
                // (Cut short by the kill, or answered just before it; refused if the kill came
                // first.)
                if let Ok(mut c) = scspd::client::Client::connect(&socket) {
                    let _ = c.request(Request::Load {
                        server: "s_a".into(),
                        entries: asked,
                    });
                }
            });
            std::thread::sleep(Duration::from_millis(ms));
            a.kill();
            let _ = t.join();
        }
    }
    truth.extend(burst);
    // What B holds of A's: what the group saw before the restart.
    let before = of(&b, A_ID);
    // What A's saved state held of its own entries at the kill: key -> number.
    let on_disk = if saved { disk(&a) } else { BTreeMap::new() };
    // While A is down its local server deletes 20 entries, updates 20, adds 10, and deletes and
    // updates 10 each of the burst.
    let mut changed: Vec<String> = Vec::new();
    for i in (0..20u32).chain(300..310) {
        truth.remove(&key(i));
        changed.push(key(i));
    }
    for i in (20..40u32).chain(310..320) {
        truth.insert(key(i), "beef".into());
        changed.push(key(i));
    }
    for i in 100_000..100_010u32 {
        truth.insert(key(i), "cafe".into());
    }
    a.restart();
    let status_at_start = of(&a, A_ID).len();
    match when {
        Handover::AtStart => {}
        // (Every 5 ms: a realignment of a few thousand entries takes milliseconds.)
        Handover::WhenHeard => {
            a.wait_until_every(30, Duration::from_millis(5), "A hears B", || {
                a.dcs_by_id("s_a", "127.0.0.2").hello == "Bidirectional"
            })
        }
        Handover::AfterAlignment => a.wait_until(30, "A realigned with B", || {
            a.dcs_by_id("s_a", "127.0.0.2").ca == "Aligned" && of(&a, A_ID).len() >= before.len()
        }),
    }
    handover(&a, &truth);
    let want: BTreeMap<String, String> = truth.clone();
    for (d, name, dcs) in [(&a, "A", "127.0.0.2"), (&b, "B", "127.0.0.1")] {
        d.wait_until(30, &format!("{name} holds the truth"), || {
            let got: BTreeMap<String, String> =
                of(d, A_ID).into_iter().map(|(k, (v, _))| (k, v)).collect();
            got == want && of(d, B_ID).len() == 50 && d.dcs_by_id("s_a", dcs).ca == "Aligned"
        });
    }
    // Unchanged entries keep the numbers the group knew them by. With saved state, those the
    // file held under that number; an entry whose last change the kill kept from the file is
    // numbered anew when handed over before a DCS shows it (never under a number that may have
    // carried other data: docs/rfc2334-readings.md, "numbers after a restart").
    let after = of(&b, A_ID);
    let renumbered: Vec<(String, u32, u32)> = before
        .iter()
        .filter(|(k, _)| !changed.contains(k))
        .filter(|(k, (_, s0))| !saved || on_disk.get(*k) == Some(s0))
        .filter_map(|(k, (_, s0))| {
            let (_, s1) = after.get(k)?;
            (s0 != s1).then(|| (k.clone(), *s0, *s1))
        })
        .collect();
    assert!(
        renumbered.is_empty(),
        "{tag}: {} unchanged entries renumbered, e.g. {:?}",
        renumbered.len(),
        &renumbered[..renumbered.len().min(5)]
    );
    let missed = before
        .iter()
        .filter(|(k, (_, s0))| saved && !changed.contains(k) && on_disk.get(*k) != Some(s0))
        .count();
    let learned = a.dcs_by_id("s_a", "127.0.0.2").stats["records_learned"]
        .as_u64()
        .unwrap();
    eprintln!(
        "{tag}: saved={saved} kill={kill:?} handover={when:?}: A held {status_at_start} of its \
         entries at its restart, learned {learned} records from B after it; B held {} of A's \
         {n} at the kill, A's file {} ({missed} of B's not under B's number)",
        before.len(),
        on_disk.len()
    );
    if saved && kill == Kill::Settled {
        // Everything A held came back from its saved state: B had nothing to send it.
        assert_eq!(status_at_start, 500, "{tag}");
        assert_eq!(
            learned, 0,
            "{tag}: a realignment with an unchanged DCS fetched records"
        );
    } else if !saved {
        assert!(learned >= 50, "{tag}: learned {learned}");
    }
}

#[test]
fn b_2_0_2_restart_without_state_handover_at_start() {
    run(false, Kill::Settled, Handover::AtStart);
}

#[test]
fn b_2_0_2_restart_without_state_handover_after_realignment() {
    run(false, Kill::Settled, Handover::AfterAlignment);
}

#[test]
fn b_2_0_2_restart_without_state_killed_in_a_flood() {
    run(false, Kill::InFlood(20), Handover::WhenHeard);
}

#[test]
fn saved_state_settled_handover_at_start() {
    run(true, Kill::Settled, Handover::AtStart);
}

#[test]
fn saved_state_settled_handover_when_heard() {
    run(true, Kill::Settled, Handover::WhenHeard);
}

#[test]
fn saved_state_settled_handover_after_realignment() {
    run(true, Kill::Settled, Handover::AfterAlignment);
}

#[test]
fn saved_state_killed_1ms_into_a_flood_handover_at_start() {
    run(true, Kill::InFlood(1), Handover::AtStart);
}

#[test]
fn saved_state_killed_20ms_into_a_flood_handover_at_start() {
    run(true, Kill::InFlood(20), Handover::AtStart);
}

#[test]
fn saved_state_killed_20ms_into_a_flood_handover_when_heard() {
    run(true, Kill::InFlood(20), Handover::WhenHeard);
}

#[test]
fn saved_state_killed_60ms_into_a_flood_handover_after_realignment() {
    run(true, Kill::InFlood(60), Handover::AfterAlignment);
}
