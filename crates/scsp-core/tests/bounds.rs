//! The cache's bounds (`ServerConfig::max_entries`, `max_cache_bytes`) and the CSA Request
//! List's (`max_csa_requests`): what is refused, how it is counted, and that newer instances of
//! entries held are still accepted (docs/SECURITY.md, "Bounds").

mod common;

use common::*;
use scsp_core::cache::{ENTRY_OVERHEAD, entry_cost};
use scsp_core::wire::{Body, SEQ_FIRST};
use scsp_core::{CaState, LocalError};

/// What an entry with a 4-byte key and originator and `len` bytes of data costs.
const fn cost(len: usize) -> usize {
    4 + 4 + len + ENTRY_OVERHEAD
}

fn key(i: u32) -> [u8; 4] {
    i.to_be_bytes()
}

#[test]
fn cache_bytes_count_key_origin_data_and_the_fixed_overhead() {
    let mut b = Bench::new(1, 2);
    b.bring_to_aligned();
    assert_eq!(b.server.cache().bytes(), 0);
    b.server.originate(b.now, &key(1), data(&[1; 10])).unwrap();
    b.server.originate(b.now, &key(2), data(&[2; 100])).unwrap();
    assert_eq!(b.server.cache().bytes(), cost(10) + cost(100));
    assert_eq!(
        entry_cost(&rid(&key(1), &b.lsid), &[1; 10]),
        cost(10),
        "key + originator + data + ENTRY_OVERHEAD"
    );
    // A newer instance replaces the cost of the one it replaces.
    b.server.originate(b.now, &key(2), data(&[3; 50])).unwrap();
    assert_eq!(b.server.cache().bytes(), cost(10) + cost(50));
    // A withdrawn entry is held as a deletion (the opaque profile's: no data).
    b.server.withdraw(b.now, &key(1)).unwrap();
    assert_eq!(b.server.cache().bytes(), cost(0) + cost(50));
    // Learned from the DCS, and purged.
    let peer = b.peer.clone();
    b.deliver(Body::CsuRequest {
        records: vec![csa(&key(9), &peer, SEQ_FIRST, 1, &[9; 20])],
    });
    assert_eq!(b.server.cache().bytes(), cost(0) + cost(50) + cost(20));
    b.deliver(Body::CsuRequest {
        records: vec![csa(&key(9), &peer, scsp_core::wire::SEQ_PURGE, 1, b"")],
    });
    assert_eq!(b.server.cache().bytes(), cost(0) + cost(50));
}

#[test]
fn local_new_entry_past_the_byte_bound_is_refused_with_cache_bytes() {
    let max = 10 * cost(10);
    let mut b = Bench::new(1, 2).with_config(|c| c.max_cache_bytes = max);
    b.bring_to_aligned();
    for i in 0..10 {
        b.server.originate(b.now, &key(i), data(&[1; 10])).unwrap();
    }
    assert_eq!(b.server.cache().bytes(), max);
    assert_eq!(
        b.server.originate(b.now, &key(10), data(&[1; 10])),
        Err(LocalError::CacheBytes { max })
    );
    assert_eq!(
        b.server
            .originate_numbered(b.now, &key(11), data(b"x"), SEQ_FIRST + 5),
        Err(LocalError::CacheBytes { max })
    );
    let errors = b
        .server
        .originate_many(b.now, vec![(key(12).to_vec(), data(b"y"), None)]);
    assert_eq!(
        errors,
        vec![(key(12).to_vec(), LocalError::CacheBytes { max })]
    );
    assert_eq!(b.server.cache().len(), 10, "nothing stored");
    // Unchanged data is no change: accepted at the bound.
    assert!(b.server.originate(b.now, &key(3), data(&[1; 10])).is_ok());
}

#[test]
fn local_new_entry_past_the_entry_bound_is_refused_with_full() {
    let mut b = Bench::new(1, 2).with_config(|c| c.max_entries = 3);
    b.bring_to_aligned();
    for i in 0..3 {
        b.server.originate(b.now, &key(i), data(b"v")).unwrap();
    }
    assert_eq!(
        b.server.originate(b.now, &key(3), data(b"v")),
        Err(LocalError::Full)
    );
    assert!(b.server.originate(b.now, &key(0), data(b"w")).is_ok());
}

#[test]
fn local_newer_instance_grows_past_the_bound_by_at_most_one_record() {
    let max = 10 * cost(10);
    let mut b = Bench::new(1, 2).with_config(|c| c.max_cache_bytes = max);
    b.bring_to_aligned();
    for i in 0..10 {
        b.server.originate(b.now, &key(i), data(&[1; 10])).unwrap();
    }
    // At the bound, an entry held may grow: the total goes past the bound, by less than the
    // largest record's cost.
    b.server
        .originate(b.now, &key(0), data(&[2; 1000]))
        .unwrap();
    assert_eq!(b.server.cache().bytes(), max + 990);
    // Another cannot take the cache further past it than one largest record.
    let mut grown = 1;
    for i in 1..10 {
        if b.server.originate(b.now, &key(i), data(&[2; 1000])).is_ok() {
            grown += 1;
        }
    }
    assert!(grown < 10, "growth is bounded");
    let slack = 1472 + 2 * 255 + ENTRY_OVERHEAD;
    assert!(
        b.server.cache().bytes() <= max + slack,
        "{} > {max} + {slack}",
        b.server.cache().bytes()
    );
    assert_eq!(
        b.server.originate(b.now, &key(9), data(&[2; 1000])),
        Err(LocalError::CacheBytes { max })
    );
    // Shrinking is always accepted, and makes room again.
    b.server.originate(b.now, &key(0), data(&[3; 1])).unwrap();
    assert!(b.server.cache().bytes() < max + slack);
}

#[test]
fn rfc_2_3_new_entry_from_a_dcs_past_the_byte_bound_is_not_acknowledged_and_counted() {
    let max = 5 * cost(10);
    let mut b = Bench::new(1, 2).with_config(|c| c.max_cache_bytes = max);
    b.bring_to_aligned();
    let other = b.add_aligned_peer(3);
    b.sent_all();
    let peer = b.peer.clone();
    let records = (0..8)
        .map(|i| csa(&key(i), &peer, SEQ_FIRST, 3, &[1; 10]))
        .collect();
    b.deliver(Body::CsuRequest { records });
    let sent = b.sent_all();
    let acked: Vec<u32> = replies(&to(&sent, b.dcs))
        .iter()
        .map(|r| u32::from_be_bytes(r.id.key.as_bytes().try_into().unwrap()))
        .collect();
    assert_eq!(
        acked,
        vec![0, 1, 2, 3, 4],
        "only what is stored is acknowledged"
    );
    assert_eq!(
        requests(&to(&sent, other)).len(),
        5,
        "only what is stored is passed on"
    );
    assert_eq!(b.server.cache().len(), 5);
    assert_eq!(b.server.cache().bytes(), max);
    let stats = b.server.dcs_info(b.dcs).unwrap().stats;
    assert_eq!(stats.cache_full, 3);
    assert_eq!(stats.records_learned, 5);
    assert_eq!(b.ca_state(), CaState::Aligned, "the session stays up");
}

#[test]
fn rfc_2_3_newer_instance_from_a_dcs_is_accepted_at_the_byte_bound() {
    let max = 5 * cost(10);
    let mut b = Bench::new(1, 2).with_config(|c| c.max_cache_bytes = max);
    b.bring_to_aligned();
    let peer = b.peer.clone();
    let records = (0..5)
        .map(|i| csa(&key(i), &peer, SEQ_FIRST, 1, &[1; 10]))
        .collect();
    b.deliver(Body::CsuRequest { records });
    b.sent();
    // A newer instance that grows, at the bound: accepted, acknowledged.
    b.deliver(Body::CsuRequest {
        records: vec![csa(&key(2), &peer, SEQ_FIRST + 1, 1, &[2; 200])],
    });
    let acks = replies(&b.sent());
    assert_eq!(acks.len(), 1);
    assert_eq!(acks[0].seq, SEQ_FIRST + 1);
    let e = b.server.cache().get(&rid(&key(2), &peer)).unwrap();
    assert_eq!((e.seq, e.data.len()), (SEQ_FIRST + 1, 200));
    assert_eq!(b.server.cache().bytes(), max + 190);
    // Growing further past the bound plus one record's cost is refused (not acknowledged).
    let mut refused = 0;
    for i in [0, 1, 3, 4] {
        b.deliver(Body::CsuRequest {
            records: vec![csa(&key(i), &peer, SEQ_FIRST + 1, 1, &[3; 1200])],
        });
        if replies(&b.sent()).is_empty() {
            refused += 1;
        }
    }
    assert!(refused > 0);
    assert_eq!(b.server.dcs_info(b.dcs).unwrap().stats.cache_full, refused);
    assert!(b.server.cache().bytes() <= max + 1472 + 2 * 255 + ENTRY_OVERHEAD);
    // A new entry is still refused; a deletion of one held is accepted.
    b.deliver(Body::CsuRequest {
        records: vec![csa(&key(7), &peer, SEQ_FIRST, 1, &[1; 10])],
    });
    assert!(replies(&b.sent()).is_empty());
    b.deliver(Body::CsuRequest {
        records: vec![csa(&key(0), &peer, SEQ_FIRST + 9, 1, b"")],
    });
    assert_eq!(replies(&b.sent()).len(), 1);
    assert!(
        b.server
            .cache()
            .get(&rid(&key(0), &peer))
            .unwrap()
            .deleted()
    );
}

#[test]
fn deletion_of_an_entry_not_held_at_the_bound_is_acknowledged_passed_on_not_kept() {
    let max = 3 * cost(10);
    let mut b = Bench::new(1, 2).with_config(|c| c.max_cache_bytes = max);
    b.bring_to_aligned();
    let other = b.add_aligned_peer(3);
    let peer = b.peer.clone();
    // Below the bound a deletion of an entry not held is kept (an older live copy arriving
    // late is then recognised as older).
    b.deliver(Body::CsuRequest {
        records: vec![csa(&key(100), &peer, SEQ_FIRST + 1, 3, b"")],
    });
    assert!(
        b.server
            .cache()
            .get(&rid(&key(100), &peer))
            .unwrap()
            .deleted()
    );
    let records = (0..2)
        .map(|i| csa(&key(i), &peer, SEQ_FIRST, 3, &[1; 10]))
        .collect();
    b.deliver(Body::CsuRequest { records });
    b.sent_all();
    let held = b.server.cache().len();
    // At the bound, a flood of deletions of keys never held: each acknowledged and passed on,
    // none kept.
    let records = (200..300)
        .map(|i| csa(&key(i), &peer, SEQ_FIRST + 1, 3, b""))
        .collect();
    b.deliver(Body::CsuRequest { records });
    let sent = b.sent_all();
    assert_eq!(replies(&to(&sent, b.dcs)).len(), 100, "acknowledged");
    assert_eq!(requests(&to(&sent, other)).len(), 100, "passed on");
    assert_eq!(b.server.cache().len(), held, "not kept");
    assert!(b.server.cache().bytes() <= max);
    assert_eq!(b.server.dcs_info(b.dcs).unwrap().stats.cache_full, 100);
    assert_eq!(b.ca_state(), CaState::Aligned);
}

#[test]
fn deletion_of_an_entry_never_held_is_kept_for_the_stray_hold_not_the_tombstone_hold() {
    let mut b = Bench::new(1, 2).with_config(|c| {
        c.stray_deletion_hold = std::time::Duration::from_secs(60);
        c.tombstone_hold = std::time::Duration::from_secs(3600);
    });
    b.bring_to_aligned();
    let other = b.add_aligned_peer(3);
    let peer = b.peer.clone();
    // One entry held, then deleted; deletions of 100 keys never held.
    b.deliver(Body::CsuRequest {
        records: vec![csa(&key(1), &peer, SEQ_FIRST, 3, &[1; 10])],
    });
    let mut records: Vec<_> = (200..300)
        .map(|i| csa(&key(i), &peer, SEQ_FIRST + 1, 3, b""))
        .collect();
    records.push(csa(&key(1), &peer, SEQ_FIRST + 1, 3, b""));
    b.sent_all();
    b.deliver(Body::CsuRequest { records });
    let sent = b.sent_all();
    assert_eq!(replies(&to(&sent, b.dcs)).len(), 101, "acknowledged");
    assert_eq!(requests(&to(&sent, other)).len(), 101, "passed on");
    assert_eq!(b.server.cache().len(), 101, "kept for now");
    // An older live copy still on its way within the hold is recognised as older.
    b.advance(std::time::Duration::from_secs(30));
    b.deliver(Body::CsuRequest {
        records: vec![csa(&key(200), &peer, SEQ_FIRST, 3, &[1; 10])],
    });
    assert!(
        b.server
            .cache()
            .get(&rid(&key(200), &peer))
            .unwrap()
            .deleted()
    );
    // Past the stray hold only the deletion of the entry held is left.
    b.advance(std::time::Duration::from_secs(31));
    assert_eq!(b.server.cache().len(), 1);
    assert!(
        b.server
            .cache()
            .get(&rid(&key(1), &peer))
            .unwrap()
            .deleted()
    );
    b.advance(std::time::Duration::from_secs(3600));
    assert_eq!(b.server.cache().len(), 0);
}

#[test]
fn rfc_2_2_2_1_csa_request_list_bound_refuses_counts_and_the_alignment_ends() {
    let mut b = Bench::new(1, 2).with_config(|c| c.max_csa_requests = 10);
    let _ = b.bring_to_negotiation();
    let peer = b.peer.clone();
    b.deliver(Body::Ca {
        seq: 4242,
        m: true,
        i: true,
        o: true,
        records: vec![],
    });
    b.sent();
    let summaries = (0..25).map(|i| csas(&key(i), &peer, SEQ_FIRST)).collect();
    b.deliver(Body::Ca {
        seq: 4243,
        m: true,
        i: false,
        o: false,
        records: summaries,
    });
    let info = b.server.dcs_info(b.dcs).unwrap();
    assert_eq!(info.csa_request_list, 10, "at the bound");
    assert_eq!(info.stats.csa_requests_refused, 15, "the rest counted");
    assert_eq!(info.ca.state, CaState::UpdateCache);
    // What was solicited is answered: Aligned, with what the list could hold.
    let solicited: Vec<_> = b
        .sent()
        .into_iter()
        .filter_map(|p| match p.body {
            Body::Csus { records } => Some(records),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(solicited.len(), 10);
    let answers = solicited
        .iter()
        .map(|r| csa(r.id.key.as_bytes(), &peer, r.seq, 1, b"v"))
        .collect();
    b.deliver(Body::CsuRequest { records: answers });
    assert_eq!(b.ca_state(), CaState::Aligned);
    assert_eq!(b.server.cache().len(), 10);
}
