//! After a restart that lost the server's state: every entry carrying our Originator ID is ours,
//! whether it comes back from a DCS or from the local server, whatever the order (RFC 2334
//! B.2.0.2; docs/client-protocol.md, "handover"). A handover withdraws those its list omits and
//! keeps the number of those whose data is unchanged.

mod common;

use std::time::Duration;

use common::*;
use scsp_core::Event;
use scsp_core::wire::{Body, Csa, SEQ_FIRST};

fn requests(b: &mut Bench) -> Vec<Csa> {
    b.sent()
        .into_iter()
        .filter_map(|p| match p.body {
            Body::CsuRequest { records } => Some(records),
            _ => None,
        })
        .flatten()
        .collect()
}

/// What the cache holds of our entry `key`: (seq, data, deleted, owned).
fn ours(b: &Bench, key: &[u8]) -> Option<(u32, Vec<u8>, bool, bool)> {
    let e = b.server.cache().get(&rid(key, &b.lsid))?;
    Some((e.seq, e.data.to_vec(), e.deleted(), e.owned()))
}

/// The DCS hands back our instances from before the restart: k1 (v1, FIRST+5), k2 (v2,
/// FIRST+7), k3 (v3, FIRST+9).
fn dcs_returns_our_old_instances(b: &mut Bench) {
    let lsid = b.lsid.clone();
    b.deliver(Body::CsuRequest {
        records: vec![
            csa(b"k1", &lsid, SEQ_FIRST + 5, 3, b"v1"),
            csa(b"k2", &lsid, SEQ_FIRST + 7, 3, b"v2"),
            csa(b"k3", &lsid, SEQ_FIRST + 9, 3, b"v3"),
        ],
    });
}

/// While the server was down its local server kept k1, updated k2, deleted k3, added k4.
fn handover(b: &mut Bench) {
    let errors = b.server.replace_local_cache(
        b.now,
        vec![
            (b"k1".to_vec(), data(b"v1")),
            (b"k2".to_vec(), data(b"v2-new")),
            (b"k4".to_vec(), data(b"v4")),
        ],
    );
    assert!(errors.is_empty(), "{errors:?}");
}

fn assert_truth(b: &Bench) {
    assert_eq!(
        ours(b, b"k1"),
        Some((SEQ_FIRST + 5, b"v1".to_vec(), false, true)),
        "unchanged: kept under its number"
    );
    let (s2, d2, del2, own2) = ours(b, b"k2").unwrap();
    assert!(
        s2 > SEQ_FIRST + 7 && d2 == b"v2-new" && !del2 && own2,
        "k2 updated above FIRST+7"
    );
    let (s3, _, del3, _) = ours(b, b"k3").unwrap();
    assert!(del3 && s3 > SEQ_FIRST + 9, "k3 withdrawn above FIRST+9");
    let (_, d4, del4, own4) = ours(b, b"k4").unwrap();
    assert!(d4 == b"v4" && !del4 && own4);
    assert_eq!(b.server.cache().live(), 3);
}

#[test]
fn b_2_0_2_handover_after_our_old_instances_came_back_from_a_dcs() {
    // The case that resurrected deleted entries: the DCS is heard before the local server
    // hands over. The instances from before the restart are ours all the same.
    let mut b = Bench::new(1, 2);
    b.bring_to_aligned();
    dcs_returns_our_old_instances(&mut b);
    b.sent();
    handover(&mut b);
    let sent = requests(&mut b);
    assert_truth(&b);
    let keys: Vec<&[u8]> = sent.iter().map(|c| c.summary.id.key.as_bytes()).collect();
    assert!(
        !keys.contains(&&b"k1"[..]),
        "an unchanged entry is not sent again: {keys:?}"
    );
    assert_eq!(keys.len(), 3, "k2, k3 and k4 go out: {keys:?}");
    // Nothing is reported to the local server about its own unchanged entry.
    assert!(!b.events().iter().any(|e| matches!(
        e,
        Event::Cache(scsp_core::CacheChange::Replaced { entry, .. }) if entry.id.key.as_bytes() == b"k1"
    )));
}

#[test]
fn b_2_0_2_handover_before_our_old_instances_come_back_from_a_dcs() {
    // The handover first (the server isolated until then), the DCS's instances after.
    let mut b = Bench::new(1, 2);
    b.bring_to_aligned();
    handover(&mut b);
    b.sent();
    dcs_returns_our_old_instances(&mut b);
    assert_truth(&b);
    let sent = requests(&mut b);
    // k1 comes back with the data the local server holds: its number is adopted, not
    // superseded by a new one.
    assert!(
        !sent
            .iter()
            .any(|c| c.summary.id.key.as_bytes() == b"k1" && c.summary.seq > SEQ_FIRST + 5),
        "{sent:?}"
    );
}

#[test]
fn b_2_0_2_handover_while_our_old_instances_arrive() {
    // Half of the old instances before the handover, half after: the same truth.
    let mut b = Bench::new(1, 2);
    b.bring_to_aligned();
    let lsid = b.lsid.clone();
    b.deliver(Body::CsuRequest {
        records: vec![csa(b"k3", &lsid, SEQ_FIRST + 9, 3, b"v3")],
    });
    handover(&mut b);
    b.deliver(Body::CsuRequest {
        records: vec![
            csa(b"k1", &lsid, SEQ_FIRST + 5, 3, b"v1"),
            csa(b"k2", &lsid, SEQ_FIRST + 7, 3, b"v2"),
        ],
    });
    assert_truth(&b);
}

#[test]
fn b_2_0_2_originating_an_unchanged_entry_after_a_restart_keeps_its_number() {
    // `add` of the same data (one request per entry rather than a handover) keeps the number
    // of our instance from before the restart, numbered or not.
    let mut b = Bench::new(1, 2);
    b.bring_to_aligned();
    dcs_returns_our_old_instances(&mut b);
    b.sent();
    assert_eq!(
        b.server.originate(b.now, b"k1", data(b"v1")),
        Ok(SEQ_FIRST + 5)
    );
    assert_eq!(
        b.server
            .originate_numbered(b.now, b"k2", data(b"v2"), SEQ_FIRST + 3),
        Ok(SEQ_FIRST + 7)
    );
    assert!(requests(&mut b).is_empty(), "nothing to send");
    assert!(
        ours(&b, b"k1").unwrap().3 && ours(&b, b"k2").unwrap().3,
        "both ours now"
    );
}

#[test]
fn unclaimed_entries_of_ours_are_withdrawn_after_the_grace_time() {
    // No local server comes back: our instances from before the restart are withdrawn once
    // the grace time has passed, and the entries the local server did claim are kept.
    let mut b = Bench::new(1, 2).with_config(|c| c.orphan_grace = Some(Duration::from_secs(30)));
    b.bring_to_aligned();
    dcs_returns_our_old_instances(&mut b);
    b.server.originate(b.now, b"k1", data(b"v1")).unwrap();
    b.sent();
    b.events();
    for _ in 0..35 {
        b.advance(Duration::from_secs(1));
        b.deliver_hello(true);
        // The DCS acknowledges what it is sent.
        let acks: Vec<_> = requests(&mut b).into_iter().map(|c| c.summary).collect();
        if !acks.is_empty() {
            b.deliver(Body::CsuReply { records: acks });
        }
    }
    assert_eq!(b.ca_state(), scsp_core::CaState::Aligned);
    assert!(
        b.events()
            .iter()
            .any(|e| matches!(e, Event::OrphansWithdrawn { count: 2 }))
    );
    assert_eq!(ours(&b, b"k1").unwrap().0, SEQ_FIRST + 5, "claimed: kept");
    assert!(ours(&b, b"k2").unwrap().2, "withdrawn");
    assert!(ours(&b, b"k3").unwrap().2, "withdrawn");
    // From now on an instance of ours that nobody holds is flushed, as after a handover.
    let lsid = b.lsid.clone();
    b.deliver(Body::CsuRequest {
        records: vec![csa(b"k9", &lsid, SEQ_FIRST + 1, 3, b"old")],
    });
    assert!(ours(&b, b"k9").unwrap().2, "flushed");
}

#[test]
fn without_a_grace_time_unclaimed_entries_stay() {
    let mut b = Bench::new(1, 2).with_config(|c| c.orphan_grace = None);
    b.bring_to_aligned();
    dcs_returns_our_old_instances(&mut b);
    for _ in 0..10 {
        b.advance(Duration::from_secs(60));
        b.deliver_hello(true);
    }
    assert_eq!(b.server.cache().live(), 3);
}

/// A server started with a sequence floor (scspd gives the seconds since 2000 at its start).
/// Before any DCS has been Aligned with it, a new entry is numbered -2^31+1, unconfirmed: an
/// instance of ours from before a restart may still come back from a DCS, and one with the same
/// data is then adopted under its number rather than renumbered. Once a DCS has been Aligned
/// without holding it, only servers out of reach (beyond a partition) can hold one: the floor.
/// B.2.0.2: after a restart, a number "unique within the SG".
#[test]
fn b_2_0_2_numbers_after_a_restart_start_at_the_floor() {
    const FLOOR: u32 = 5000;
    let mut b = Bench::new(1, 2).with_config(|c| c.seq_floor = FLOOR);
    b.server.link_up(b.now, b.dcs);
    let s = b.server.originate(b.now, b"early", data(b"new")).unwrap();
    assert_eq!(s, SEQ_FIRST, "before any alignment: unconfirmed, adoptable");
    let s = b.server.originate(b.now, b"early", data(b"newer")).unwrap();
    assert_eq!(s, FLOOR, "a change of an unconfirmed entry: the floor");
    b.bring_to_aligned();
    let s = b.server.originate(b.now, b"late", data(b"x")).unwrap();
    assert_eq!(s, FLOOR, "after an alignment: the floor");
    // No floor (the default): the RFC's -2^31+1.
    let mut b = Bench::new(1, 2);
    b.bring_to_aligned();
    let s = b.server.originate(b.now, b"k", data(b"x")).unwrap();
    assert_eq!(s, SEQ_FIRST);
}

/// An instance of ours from an earlier incarnation that one DCS showed is numbered on from at
/// least the floor when the local server changes it, and the new instance is unconfirmed:
/// another DCS may hold a later instance under the same number.
#[test]
fn b_2_0_2_changing_an_old_instance_after_a_restart_numbers_above_the_floor() {
    const FLOOR: u32 = 5000;
    let mut b = Bench::new(1, 2).with_config(|c| c.seq_floor = FLOOR);
    let a = b.add_aligned_peer(3);
    let lsid = b.lsid.clone();
    // Peer 3 (Aligned) hands back our old instance; DCS 2 is not Aligned yet.
    b.deliver_from(
        a,
        3,
        Body::CsuRequest {
            records: vec![csa(b"k", &lsid, SEQ_FIRST + 7, 3, b"old")],
        },
    );
    let s = b.server.originate(b.now, b"k", data(b"changed")).unwrap();
    assert_eq!(s, FLOOR);
}
