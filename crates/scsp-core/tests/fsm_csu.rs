//! RFC 2334 section 2.3 (Cache State Update), 2.4 (newness) and B.2.0.2 (the CSA sequence
//! space), rule by rule.

mod common;

use std::time::Duration;

use common::*;
use scsp_core::event::{CacheChange, Notice, RemoveReason, Trace};
use scsp_core::wire::{Body, Id, Packet, SEQ_FIRST, SEQ_LAST, SEQ_PURGE};
use scsp_core::{CaState, Event, HelloState};

const SEC: Duration = Duration::from_secs(1);

fn changes(b: &mut Bench) -> Vec<CacheChange> {
    b.events()
        .into_iter()
        .filter_map(|e| match e {
            Event::Cache(c) => Some(c),
            _ => None,
        })
        .collect()
}

#[test]
fn rfc_2_3_local_change_flooded_with_configured_hops() {
    let mut b = Bench::new(1, 2);
    b.bring_to_aligned();
    let seq = b.server.originate(b.now, b"k", data(b"v")).unwrap();
    assert_eq!(seq, SEQ_FIRST, "B.2.0.2: first instance uses -2^31+1");
    let r = only(requests(&b.sent()));
    assert_eq!(r.summary.hops, 3, "DcsConfig::hops");
    assert_eq!(r.summary.seq, SEQ_FIRST);
    assert_eq!(r.summary.id.origin, b.lsid);
    assert_eq!(&*r.data, b"v");
    let seq2 = b.server.originate(b.now, b"k", data(b"w")).unwrap();
    assert_eq!(seq2, SEQ_FIRST + 1, "B.2.0.2: each modification increments");
    assert_eq!(
        b.server.originate(b.now, b"k", data(b"w")).unwrap(),
        seq2,
        "unchanged: no-op"
    );
}

#[test]
fn rfc_2_3_exact_reply_acknowledges() {
    let mut b = Bench::new(1, 2);
    b.bring_to_aligned();
    b.server.originate(b.now, b"k", data(b"v")).unwrap();
    b.sent();
    let lsid = b.lsid.clone();
    b.deliver(Body::CsuReply {
        records: vec![csas(b"k", &lsid, SEQ_FIRST)],
    });
    assert_eq!(b.server.dcs_info(b.dcs).unwrap().retransmit_queue, 0);
    b.deliver_hello(true);
    b.advance(Duration::from_secs(2));
    assert!(requests(&b.sent()).is_empty(), "nothing left to retransmit");
}

#[test]
fn rfc_2_3_unacknowledged_csa_retransmitted_then_abnormal_event() {
    let mut b = Bench::new(1, 2);
    // The RFC's timers (adaptive ones give up later: rexmit_timers.rs).
    b.with_dcs(|c| c.adaptive_rexmit = false);
    b.bring_to_aligned();
    b.server.originate(b.now, b"k", data(b"v")).unwrap();
    assert_eq!(requests(&b.sent()).len(), 1);
    // CSUReXmitMax is 2 in the bench: two retransmissions, then the DCS has failed.
    for n in 1..=2 {
        b.deliver_hello(true);
        b.advance(SEC);
        assert_eq!(requests(&b.sent()).len(), 1, "retransmission {n}");
    }
    assert_eq!(b.server.dcs_info(b.dcs).unwrap().stats.csa_retransmits, 2);
    b.deliver_hello(true);
    b.advance(SEC);
    assert_eq!(
        b.hello_state(),
        HelloState::Waiting,
        "2.3: retransmissions used up → Waiting"
    );
    assert_eq!(b.ca_state(), CaState::Down);
}

#[test]
fn rfc_2_3_reply_rule_2a_older_sequence_ignored() {
    let mut b = Bench::new(1, 2);
    b.bring_to_aligned();
    b.server.originate(b.now, b"k", data(b"v")).unwrap();
    b.server.originate(b.now, b"k", data(b"w")).unwrap();
    b.sent();
    let lsid = b.lsid.clone();
    b.deliver(Body::CsuReply {
        records: vec![csas(b"k", &lsid, SEQ_FIRST)],
    });
    assert_eq!(
        b.server.dcs_info(b.dcs).unwrap().retransmit_queue,
        1,
        "still waiting for +1"
    );
}

#[test]
fn rfc_2_3_reply_rule_2b_newer_sequence_dequeues_and_solicits() {
    let mut b = Bench::new(1, 2);
    b.bring_to_aligned();
    let peer = b.peer.clone();
    // Pass on a record of the DCS's own, then hear that it holds a newer one already.
    let dcs2 = b.add_aligned_peer(3);
    b.sent_all();
    b.deliver_from(
        dcs2,
        3,
        Body::CsuRequest {
            records: vec![csa(b"x", &id4(3), SEQ_FIRST, 3, b"1")],
        },
    );
    assert_eq!(requests(&b.sent()).len(), 1, "flooded to the first DCS");
    b.deliver(Body::CsuReply {
        records: vec![csas(b"x", &id4(3), SEQ_FIRST + 4)],
    });
    let sent = b.sent();
    let csus: Vec<_> = sent
        .iter()
        .filter(|p| matches!(p.body, Body::Csus { .. }))
        .collect();
    match &only(csus).body {
        Body::Csus { records } => assert_eq!(records[0].seq, SEQ_FIRST + 4),
        _ => unreachable!(),
    }
    assert_eq!(b.server.dcs_info(b.dcs).unwrap().retransmit_queue, 0);
    assert_eq!(
        b.ca_state(),
        CaState::Aligned,
        "a CSUS in Aligned leaves it Aligned"
    );
    let _ = peer;
}

#[test]
fn rfc_2_3_one_reply_acknowledges_records_of_several_requests() {
    let mut b = Bench::new(1, 2);
    b.bring_to_aligned();
    for k in [b"a", b"b", b"c"] {
        b.server.originate(b.now, k, data(b"v")).unwrap();
    }
    assert_eq!(b.sent().len(), 3, "one CSU Request per originate call");
    let lsid = b.lsid.clone();
    b.deliver(Body::CsuReply {
        records: vec![
            csas(b"a", &lsid, SEQ_FIRST),
            csas(b"b", &lsid, SEQ_FIRST),
            csas(b"c", &lsid, SEQ_FIRST),
        ],
    });
    assert_eq!(b.server.dcs_info(b.dcs).unwrap().retransmit_queue, 0);
}

#[test]
fn rfc_2_3_received_csa_learned_acknowledged_and_changes_reported() {
    let mut b = Bench::new(1, 2);
    b.bring_to_aligned();
    b.events();
    let peer = b.peer.clone();
    b.deliver(Body::CsuRequest {
        records: vec![
            csa(b"a", &peer, SEQ_FIRST, 3, b"1"),
            csa(b"b", &peer, SEQ_FIRST, 3, b"1"),
        ],
    });
    let acks = replies(&b.sent());
    assert_eq!(acks.len(), 2, "both acknowledged in one CSU Reply");
    assert_eq!(b.server.cache().live(), 2);
    let ch = changes(&mut b);
    assert!(matches!(&ch[0], CacheChange::Learned { entry, .. } if entry.seq == SEQ_FIRST));
    b.deliver(Body::CsuRequest {
        records: vec![csa(b"a", &peer, SEQ_FIRST + 1, 3, b"2")],
    });
    assert!(matches!(
        &changes(&mut b)[0],
        CacheChange::Replaced { old_seq, .. } if *old_seq == SEQ_FIRST
    ));
    // A deletion (empty data in the opaque profile) removes the entry for the local server
    // and is kept as a deleted instance.
    b.deliver(Body::CsuRequest {
        records: vec![csa(b"a", &peer, SEQ_FIRST + 2, 3, b"")],
    });
    assert!(matches!(
        &changes(&mut b)[0],
        CacheChange::Removed {
            reason: RemoveReason::Deleted,
            ..
        }
    ));
    assert_eq!(b.server.cache().live(), 1);
    assert_eq!(b.server.cache().len(), 2);
}

#[test]
fn rfc_2_3_older_csa_acknowledged_with_our_csas() {
    let mut b = Bench::new(1, 2);
    b.bring_to_aligned();
    let peer = b.peer.clone();
    b.deliver(Body::CsuRequest {
        records: vec![csa(b"a", &peer, SEQ_FIRST + 5, 3, b"new")],
    });
    b.sent();
    b.deliver(Body::CsuRequest {
        records: vec![csa(b"a", &peer, SEQ_FIRST + 1, 3, b"old")],
    });
    let ack = only(replies(&b.sent()));
    assert_eq!(
        ack.seq,
        SEQ_FIRST + 5,
        "2.3: the CSAS of the cached CSA, not the received one"
    );
    assert_eq!(
        &*b.server.cache().get(&rid(b"a", &peer)).unwrap().data,
        b"new"
    );
}

#[test]
fn rfc_2_3_csus_for_missing_entry_answered_with_null_record() {
    let mut b = Bench::new(1, 2);
    b.bring_to_aligned();
    let peer = b.peer.clone();
    b.deliver(Body::Csus {
        records: vec![csas(b"gone", &peer, SEQ_FIRST + 3)],
    });
    let r = only(requests(&b.sent()));
    assert!(r.summary.null, "B.2.0.2: N bit set");
    assert_eq!(r.summary.seq, SEQ_FIRST + 3, "CSAS copied from the CSUS");
    assert!(r.data.is_empty(), "a null record is only a CSAS");
}

#[test]
fn rfc_2_3_implicit_acknowledgement() {
    let mut b = Bench::new(1, 2);
    b.bring_to_aligned();
    b.server.originate(b.now, b"k", data(b"v")).unwrap();
    b.sent();
    let lsid = b.lsid.clone();
    // The DCS sends us the very instance we queued to it.
    b.deliver(Body::CsuRequest {
        records: vec![csa(b"k", &lsid, SEQ_FIRST, 2, b"v")],
    });
    assert_eq!(b.server.dcs_info(b.dcs).unwrap().retransmit_queue, 0);
    assert_eq!(replies(&b.sent()).len(), 1, "and it is still acknowledged");
}

#[test]
fn rfc_2_3_all_ones_receiver_accepted_and_reply_unicast() {
    let mut b = Bench::new(1, 2);
    b.bring_to_aligned();
    let peer = b.peer.clone();
    let mut common = b.common();
    common.receiver = Id::broadcast(4);
    b.deliver_packet(&Packet {
        common,
        body: Body::CsuRequest {
            records: vec![csa(b"a", &peer, SEQ_FIRST, 3, b"1")],
        },
        extensions: vec![],
    });
    let p = only(b.sent());
    assert!(matches!(p.body, Body::CsuReply { .. }));
    assert_eq!(p.common.receiver, peer, "reply unicast to the sender");
    assert_eq!(b.server.cache().live(), 1);
}

#[test]
fn rfc_2_3_csu_for_another_receiver_discarded() {
    let mut b = Bench::new(1, 2);
    b.bring_to_aligned();
    let peer = b.peer.clone();
    let mut common = b.common();
    common.receiver = id4(9);
    b.deliver_packet(&Packet {
        common,
        body: Body::CsuRequest {
            records: vec![csa(b"a", &peer, SEQ_FIRST, 3, b"1")],
        },
        extensions: vec![],
    });
    assert!(b.sent().is_empty());
    assert_eq!(b.server.cache().len(), 0);
}

#[test]
fn rfc_2_3_csu_outside_update_and_aligned_ignored() {
    let mut b = Bench::new(1, 2);
    let _ = b.bring_to_negotiation();
    let peer = b.peer.clone();
    b.deliver(Body::CsuRequest {
        records: vec![csa(b"a", &peer, SEQ_FIRST, 3, b"1")],
    });
    assert!(b.sent().is_empty());
    assert_eq!(b.server.cache().len(), 0);
}

#[test]
fn rfc_2_3_flooding_except_source_and_hop_count() {
    let mut b = Bench::new(1, 2);
    b.bring_to_aligned();
    let d3 = b.add_aligned_peer(3);
    b.sent_all();
    let peer = b.peer.clone();
    b.deliver(Body::CsuRequest {
        records: vec![
            csa(b"a", &peer, SEQ_FIRST, 3, b"1"),
            csa(b"b", &peer, SEQ_FIRST, 1, b"1"),
        ],
    });
    let all = b.sent_all();
    let to3: Vec<_> = all
        .iter()
        .filter(|(d, _)| *d == d3)
        .map(|(_, p)| p.clone())
        .collect();
    let to2: Vec<_> = all
        .iter()
        .filter(|(d, _)| *d == b.dcs)
        .map(|(_, p)| p.clone())
        .collect();
    let fwd = only(requests(&to3));
    assert_eq!(
        fwd.summary.id.key.as_bytes(),
        b"a",
        "b's hop count was used up"
    );
    assert_eq!(fwd.summary.hops, 2, "hop count decremented");
    assert!(
        requests(&to2).is_empty(),
        "never flooded back to the source"
    );
    assert_eq!(b.server.cache().live(), 2, "both stored");
}

#[test]
fn rfc_2_3_retransmit_queue_holds_only_newest_instance() {
    let mut b = Bench::new(1, 2);
    b.bring_to_aligned();
    for v in [b"1", b"2", b"3"] {
        b.server.originate(b.now, b"k", data(v)).unwrap();
    }
    b.sent();
    assert_eq!(b.server.dcs_info(b.dcs).unwrap().retransmit_queue, 1);
    b.deliver_hello(true);
    b.advance(SEC);
    let r = only(requests(&b.sent()));
    assert_eq!(r.summary.seq, SEQ_FIRST + 2);
    assert_eq!(&*r.data, b"3");
}

#[test]
fn rfc_2_4_newness_is_per_key_and_originator() {
    let mut b = Bench::new(1, 2);
    b.bring_to_aligned();
    b.deliver(Body::CsuRequest {
        records: vec![
            csa(b"k", &id4(2), SEQ_FIRST + 9, 3, b"from 2"),
            csa(b"k", &id4(5), SEQ_FIRST, 3, b"from 5"),
        ],
    });
    assert_eq!(
        b.server.cache().live(),
        2,
        "same key, other originator: another entry"
    );
}

#[test]
fn notes_14_changes_during_summarize_sent_when_update_cache_reached() {
    let mut b = Bench::new(1, 2);
    let _ = b.bring_to_negotiation();
    b.deliver(Body::Ca {
        seq: 100,
        m: true,
        i: true,
        o: true,
        records: vec![],
    });
    b.sent();
    // Summary taken; now the local server adds an entry.
    b.server.originate(b.now, b"late", data(b"x")).unwrap();
    assert!(requests(&b.sent()).is_empty(), "no CSU in Cache Summarize");
    b.deliver(Body::Ca {
        seq: 101,
        m: true,
        i: false,
        o: false,
        records: vec![],
    });
    let r = only(requests(&b.sent()));
    assert_eq!(r.summary.id.key.as_bytes(), b"late");
}

#[test]
fn b_2_0_2_sequence_space_wraps_through_a_purge() {
    let mut b = Bench::new(1, 2);
    b.bring_to_aligned();
    // Bring our own entry to 2^31-2 by hearing it from the DCS while owned.
    b.server.originate(b.now, b"k", data(b"v")).unwrap();
    b.sent();
    let lsid = b.lsid.clone();
    b.deliver(Body::CsuRequest {
        records: vec![csa(b"k", &lsid, SEQ_LAST - 1, 3, b"stale")],
    });
    let r = only(requests(&b.sent()));
    assert_eq!(
        r.summary.seq, SEQ_LAST,
        "re-originated above the stale instance"
    );
    assert_eq!(&*r.data, b"v");
    b.deliver(Body::CsuReply {
        records: vec![csas(b"k", &lsid, SEQ_LAST)],
    });
    // The next update cannot go above 2^31-2: purge with 2^31-1 first.
    assert_eq!(
        b.server.originate(b.now, b"k", data(b"w")).unwrap(),
        SEQ_PURGE
    );
    let purge = only(requests(&b.sent()));
    assert_eq!(purge.summary.seq, SEQ_PURGE);
    assert!(purge.data.is_empty(), "the opaque profile's deletion");
    // Once the purge is acknowledged, the new instance restarts at 0x80000001.
    b.deliver(Body::CsuReply {
        records: vec![csas(b"k", &lsid, SEQ_PURGE)],
    });
    let fresh = only(requests(&b.sent()));
    assert_eq!(fresh.summary.seq, SEQ_FIRST);
    assert_eq!(&*fresh.data, b"w");
}

#[test]
fn b_2_0_2_purge_received_removes_the_entry() {
    let mut b = Bench::new(1, 2);
    b.bring_to_aligned();
    let peer = b.peer.clone();
    b.deliver(Body::CsuRequest {
        records: vec![csa(b"k", &peer, SEQ_LAST, 3, b"v")],
    });
    b.events();
    b.deliver(Body::CsuRequest {
        records: vec![csa(b"k", &peer, SEQ_PURGE, 3, b"")],
    });
    assert_eq!(b.server.cache().len(), 0);
    assert!(matches!(
        &changes(&mut b)[0],
        CacheChange::Removed {
            reason: RemoveReason::Purged,
            ..
        }
    ));
    b.deliver(Body::CsuRequest {
        records: vec![csa(b"k", &peer, SEQ_FIRST, 3, b"again")],
    });
    assert_eq!(
        b.server.cache().live(),
        1,
        "the restarted instance is accepted"
    );
}

#[test]
fn b_2_0_2_after_restart_number_on_from_existing_plus_constant() {
    let mut b = Bench::new(1, 2).with_config(|c| c.restart_seq_step = 100);
    b.bring_to_aligned();
    let lsid = b.lsid.clone();
    // Before a restart we had originated "k"; the DCS still holds it.
    b.deliver(Body::CsuRequest {
        records: vec![csa(b"k", &lsid, SEQ_FIRST + 7, 3, b"old")],
    });
    assert_eq!(
        b.server.cache().live(),
        1,
        "adopted (the local server has not claimed it)"
    );
    let seq = b.server.originate(b.now, b"k", data(b"new")).unwrap();
    assert_eq!(seq, SEQ_FIRST + 107);
}

#[test]
fn self_originated_stale_instance_superseded() {
    let mut b = Bench::new(1, 2);
    b.server.originate(b.now, b"k", data(b"mine")).unwrap();
    b.bring_to_aligned();
    b.sent();
    let lsid = b.lsid.clone();
    b.deliver(Body::CsuRequest {
        records: vec![csa(b"k", &lsid, SEQ_FIRST + 3, 3, b"earlier life")],
    });
    let r = only(requests(&b.sent()));
    assert_eq!((r.summary.seq, &*r.data), (SEQ_FIRST + 4, &b"mine"[..]));
}

#[test]
fn self_originated_entry_flushed_when_local_cache_is_authoritative() {
    let mut b = Bench::new(1, 2);
    b.server.replace_local_cache(b.now, Vec::new());
    b.bring_to_aligned();
    b.sent();
    let lsid = b.lsid.clone();
    b.deliver(Body::CsuRequest {
        records: vec![csa(b"k", &lsid, SEQ_FIRST + 3, 3, b"withdrawn")],
    });
    let r = only(requests(&b.sent()));
    assert_eq!(r.summary.seq, SEQ_FIRST + 4);
    assert!(r.data.is_empty(), "a deletion");
    assert_eq!(b.server.cache().live(), 0);
}

#[test]
fn withdraw_floods_deletion_and_replace_local_cache_withdraws_the_rest() {
    let mut b = Bench::new(1, 2);
    b.bring_to_aligned();
    b.server.originate(b.now, b"a", data(b"1")).unwrap();
    b.server.originate(b.now, b"b", data(b"1")).unwrap();
    b.sent();
    b.server.withdraw(b.now, b"a").unwrap();
    let r = only(requests(&b.sent()));
    assert!(r.data.is_empty());
    assert_eq!(r.summary.seq, SEQ_FIRST + 1);
    assert_eq!(
        b.server.withdraw(b.now, b"a"),
        Err(scsp_core::LocalError::NotFound)
    );
    b.server
        .replace_local_cache(b.now, vec![(b"c".to_vec(), data(b"1"))]);
    let rs = requests(&b.sent());
    let keys: Vec<_> = rs
        .iter()
        .map(|r| (r.summary.id.key.as_bytes().to_vec(), r.data.is_empty()))
        .collect();
    assert!(
        keys.contains(&(b"b".to_vec(), true)),
        "b withdrawn: {keys:?}"
    );
    assert!(
        keys.contains(&(b"c".to_vec(), false)),
        "c originated: {keys:?}"
    );
    assert_eq!(b.server.cache().live(), 1);
}

#[test]
fn deleted_entries_forgotten_after_hold_time() {
    let mut b = Bench::new(1, 2).with_config(|c| c.tombstone_hold = Duration::from_secs(5));
    b.server.originate(b.now, b"a", data(b"1")).unwrap();
    b.server.withdraw(b.now, b"a").unwrap();
    assert_eq!(b.server.cache().len(), 1);
    b.advance(Duration::from_secs(6));
    assert_eq!(b.server.cache().len(), 0);
}

#[test]
fn local_errors_are_typed() {
    let mut b = Bench::new(1, 2);
    assert_eq!(
        b.server.originate(b.now, b"", data(b"1")),
        Err(scsp_core::LocalError::BadKey)
    );
    assert_eq!(
        b.server.originate(b.now, b"k", data(b"")),
        Err(scsp_core::LocalError::IsDeletion)
    );
    let big = vec![7u8; 5000];
    assert!(matches!(
        b.server.originate(b.now, b"k", data(&big)),
        Err(scsp_core::LocalError::TooLarge { .. })
    ));
}

#[test]
fn confirmation_holds_the_ack_until_the_local_server_answers() {
    let mut b = Bench::new(1, 2);
    b.bring_to_aligned();
    b.server.set_confirm(b.now, true);
    b.events();
    let peer = b.peer.clone();
    b.deliver(Body::CsuRequest {
        records: vec![
            csa(b"yes", &peer, SEQ_FIRST, 3, b"1"),
            csa(b"no", &peer, SEQ_FIRST, 3, b"1"),
        ],
    });
    assert!(
        replies(&b.sent()).is_empty(),
        "not acknowledged before the verdict"
    );
    let tokens: Vec<(u64, Vec<u8>)> = b
        .events()
        .into_iter()
        .filter_map(|e| match e {
            Event::Confirm { token, entry, .. } => Some((token, entry.id.key.as_bytes().to_vec())),
            _ => None,
        })
        .collect();
    assert_eq!(tokens.len(), 2);
    assert_eq!(b.server.cache().len(), 0, "nothing stored yet");
    for (t, key) in &tokens {
        b.server.confirm(b.now, *t, key == b"yes").unwrap();
    }
    assert_eq!(
        replies(&b.sent()).len(),
        2,
        "both acknowledged, the rejected one too"
    );
    assert_eq!(b.server.cache().live(), 1);
    assert!(b.server.cache().get(&rid(b"yes", &peer)).is_some());
    assert_eq!(
        b.server.confirm(b.now, tokens[0].0, true),
        Err(scsp_core::LocalError::UnknownToken(tokens[0].0))
    );
    // Turning confirmation off accepts whatever still waits.
    b.deliver(Body::CsuRequest {
        records: vec![csa(b"late", &peer, SEQ_FIRST, 3, b"1")],
    });
    b.server.set_confirm(b.now, false);
    assert_eq!(b.server.cache().live(), 2);
    assert_eq!(replies(&b.sent()).len(), 1);
}

#[test]
fn b_2_0_2_local_server_numbers_its_entries_after_a_restart() {
    // The server lost its state; the local server hands its entry over with the number it
    // last knew. The group's instance at that number has other data: the new instance must go
    // above it, never reuse it.
    let mut b = Bench::new(1, 2);
    b.bring_to_aligned();
    let lsid = b.lsid.clone();
    let errors = b.server.replace_local_cache_numbered(
        b.now,
        vec![(b"k".to_vec(), data(b"now"), Some(SEQ_FIRST + 5))],
    );
    assert!(errors.is_empty());
    let r = only(requests(&b.sent()));
    assert_eq!((r.summary.seq, &*r.data), (SEQ_FIRST + 5, &b"now"[..]));
    // A numbered origination below what the cache holds goes above it instead.
    let seq = b
        .server
        .originate_numbered(b.now, b"k", data(b"later"), SEQ_FIRST + 2)
        .unwrap();
    assert_eq!(seq, SEQ_FIRST + 6);
    assert_eq!(
        b.server
            .originate_numbered(b.now, b"x", data(b"1"), scsp_core::wire::SEQ_PURGE),
        Err(scsp_core::LocalError::BadSeq(scsp_core::wire::SEQ_PURGE))
    );
    assert!(b.server.cache().get(&rid(b"k", &lsid)).unwrap().owned());
}

#[test]
fn flush_drops_what_other_originators_sent_without_a_message() {
    let mut b = Bench::new(1, 2);
    b.bring_to_aligned();
    let peer = b.peer.clone();
    b.server.originate(b.now, b"mine", data(b"1")).unwrap();
    b.deliver(Body::CsuRequest {
        records: vec![
            csa(b"a", &peer, SEQ_FIRST, 3, b"1"),
            csa(b"b", &id4(9), SEQ_FIRST, 3, b"1"),
        ],
    });
    b.sent();
    b.events();
    let n = b.server.flush(b.now, |id, _| {
        id.origin == peer || id.key.as_bytes() == b"mine"
    });
    assert_eq!(n, 1, "only the peer's entry: our own are never flushed");
    assert!(b.sent().is_empty(), "nothing is sent");
    assert!(matches!(
        &changes(&mut b)[..],
        [CacheChange::Removed {
            reason: RemoveReason::Flushed,
            ..
        }]
    ));
    assert_eq!(b.server.cache().live(), 2);
    assert!(
        b.server.cache().get(&rid(b"a", &peer)).is_none(),
        "no deleted instance kept"
    );
}

/// `set_learn_events(false)`: entries learned from a DCS are stored without an event; removals
/// are still reported.
#[test]
fn learn_events_can_be_turned_off_removals_still_reported() {
    let mut b = Bench::new(1, 2);
    b.bring_to_aligned();
    b.events();
    b.server.set_learn_events(false);
    let peer = b.peer.clone();
    b.deliver(Body::CsuRequest {
        records: vec![csa(b"x", &peer, 0x8000_0001, 1, b"X")],
    });
    b.deliver(Body::CsuRequest {
        records: vec![csa(b"x", &peer, 0x8000_0002, 1, b"Y")],
    });
    assert_eq!(b.server.cache().live(), 1);
    assert!(changes(&mut b).is_empty(), "neither Learned nor Replaced");
    b.deliver(Body::CsuRequest {
        records: vec![csa(b"x", &peer, SEQ_PURGE, 1, b"")],
    });
    assert!(matches!(
        only(changes(&mut b)),
        CacheChange::Removed {
            reason: RemoveReason::Purged,
            ..
        }
    ));
    b.server.set_learn_events(true);
    b.deliver(Body::CsuRequest {
        records: vec![csa(b"y", &peer, 0x8000_0001, 1, b"Y")],
    });
    assert!(matches!(only(changes(&mut b)), CacheChange::Learned { .. }));
}

/// Pipelined mode holds a bounded backlog: a driver that never calls `work` still has the
/// records of a DCS that keeps sending weighed (at most 64 CSU Requests wait).
#[test]
fn pipelined_backlog_is_bounded() {
    let mut b = Bench::new(1, 2);
    b.bring_to_aligned();
    b.server.set_pipelined(b.now, true);
    let peer = b.peer.clone();
    for i in 0..70u8 {
        b.deliver(Body::CsuRequest {
            records: vec![csa(&[b'k', i], &peer, 0x8000_0001, 1, b"X")],
        });
    }
    assert_eq!(b.server.cache().live(), 65, "weighed when the 65th arrived");
    assert!(b.server.has_work());
    b.server.work(b.now);
    assert_eq!(b.server.cache().live(), 70);
}

#[test]
fn b_2_0_2_csu_reply_csas_records_have_hop_count_one() {
    // A stand-alone CSAS record has Hop Count 1 (B.2.0.2), whatever the Hop Count of the
    // flooded CSA it acknowledges.
    let mut b = Bench::new(1, 2);
    b.bring_to_aligned();
    let peer = b.peer.clone();
    b.deliver(Body::CsuRequest {
        records: vec![
            csa(b"a", &peer, SEQ_FIRST, 3, b"1"),
            csa(b"b", &peer, SEQ_FIRST, 7, b"1"),
        ],
    });
    let acks = replies(&b.sent());
    assert_eq!(acks.len(), 2);
    assert!(acks.iter().all(|a| a.hops == 1), "{acks:?}");
    // An older instance is acknowledged with the CSAS of ours: Hop Count 1 too.
    b.deliver(Body::CsuRequest {
        records: vec![csa(b"a", &peer, SEQ_FIRST - 1, 5, b"0")],
    });
    let acks = replies(&b.sent());
    assert_eq!(acks.len(), 1);
    assert_eq!((acks[0].hops, acks[0].seq), (1, SEQ_FIRST));
    // The same when the acknowledgement waits for the local server's verdict.
    b.server.set_confirm(b.now, true);
    b.deliver(Body::CsuRequest {
        records: vec![csa(b"c", &peer, SEQ_FIRST, 4, b"1")],
    });
    let token = b
        .events()
        .into_iter()
        .find_map(|e| match e {
            Event::Confirm { token, .. } => Some(token),
            _ => None,
        })
        .expect("a confirmation request");
    b.server.confirm(b.now, token, true).unwrap();
    let acks = replies(&b.sent());
    assert_eq!(acks.len(), 1);
    assert_eq!(acks[0].hops, 1);
}

fn notices(b: &mut Bench) -> Vec<Notice> {
    b.events()
        .into_iter()
        .filter_map(|e| match e {
            Event::Trace(Trace::Notice { notice, .. }) => Some(notice),
            _ => None,
        })
        .collect()
}

#[test]
fn b_2_0_2_purge_of_an_entry_not_held_is_acknowledged_passed_on_not_stored() {
    // 0x7FFFFFFF is only ever a purge (B.2.0.2), never an entry: a purge of an entry we do not
    // hold stores nothing, but is acknowledged, passed on (another DCS may hold the entry),
    // counted and reported (docs/rfc2334-readings.md, "a purge of an entry not held").
    let mut b = Bench::new(1, 2);
    b.bring_to_aligned();
    let other = b.add_aligned_peer(3);
    b.sent();
    b.events();
    let peer = b.peer.clone();
    b.deliver(Body::CsuRequest {
        records: vec![csa(b"k", &peer, SEQ_PURGE, 3, b"")],
    });
    let sent = b.sent_all();
    let acks = replies(&to(&sent, b.dcs));
    assert_eq!(acks.len(), 1, "acknowledged");
    assert_eq!(acks[0].seq, SEQ_PURGE);
    let forwarded = requests(&to(&sent, other));
    assert_eq!(forwarded.len(), 1, "passed on to the other DCS");
    assert_eq!(forwarded[0].summary.seq, SEQ_PURGE);
    assert_eq!(b.server.cache().len(), 0, "nothing stored");
    assert_eq!(b.server.dcs_info(b.dcs).unwrap().stats.stray_purges, 1);
    assert_eq!(
        notices(&mut b),
        vec![Notice::StrayPurge {
            id: rid(b"k", &peer)
        }]
    );
}

#[test]
fn b_2_0_2_summarized_purge_of_an_entry_not_held_is_not_solicited() {
    let mut b = Bench::new(1, 2);
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
    b.events();
    b.deliver(Body::Ca {
        seq: 4243,
        m: true,
        i: false,
        o: false,
        records: vec![
            csas(b"gone", &peer, SEQ_PURGE),
            csas(b"live", &peer, SEQ_FIRST),
        ],
    });
    let solicited: Vec<_> = b
        .sent()
        .into_iter()
        .filter_map(|p| match p.body {
            Body::Csus { records } => Some(records),
            _ => None,
        })
        .flatten()
        .map(|r| r.id.key.as_bytes().to_vec())
        .collect();
    assert_eq!(
        solicited,
        vec![b"live".to_vec()],
        "nothing to fetch for a purge"
    );
    assert_eq!(b.server.dcs_info(b.dcs).unwrap().stats.stray_purges, 1);
    assert_eq!(
        notices(&mut b),
        vec![Notice::StrayPurge {
            id: rid(b"gone", &peer)
        }]
    );
}

#[test]
fn rfc_2_3_csus_flood_is_answered_up_to_the_retransmit_queue_bound() {
    // A DCS that solicits entries we do not hold and never acknowledges the null records
    // cannot grow our retransmit queue past its bound; flooded changes still go to it.
    let mut b = Bench::new(1, 2);
    b.bring_to_aligned();
    b.with_dcs(|c| c.max_rexmit_queue = 100);
    let peer = b.peer.clone();
    for round in 0..5u32 {
        let records = (0..100u32)
            .map(|i| csas(&(round * 1000 + i).to_be_bytes(), &peer, SEQ_FIRST))
            .collect();
        b.deliver(Body::Csus { records });
        b.advance(Duration::from_millis(100));
        b.deliver_hello(true);
    }
    let info = b.server.dcs_info(b.dcs).unwrap();
    assert_eq!(info.retransmit_queue, 100, "at the bound");
    assert_eq!(
        info.stats.dropped, 4,
        "each CSUS past the bound refused and counted"
    );
    assert_eq!(b.ca_state(), CaState::Aligned, "the session stays up");
    // Our own change still goes out.
    b.server.originate(b.now, b"mine", data(b"1")).unwrap();
    assert!(
        requests(&b.sent())
            .iter()
            .any(|c| c.summary.id.key.as_bytes() == b"mine")
    );
}

#[test]
fn rfc_2_3_record_larger_than_the_mtu_is_acknowledged_not_stored_nor_passed_on() {
    // A record that could not be passed on to our DCSs (it does not fit the configured packet
    // size) is refused as the local server's would be: acknowledged, counted, not stored.
    let mut b = Bench::new(1, 2);
    b.bring_to_aligned();
    let other = b.add_aligned_peer(3);
    b.sent_all();
    let peer = b.peer.clone();
    b.deliver(Body::CsuRequest {
        records: vec![
            csa(b"big", &peer, SEQ_FIRST, 3, &[7u8; 10_000]),
            csa(b"small", &peer, SEQ_FIRST, 3, b"1"),
        ],
    });
    let sent = b.sent_all();
    let acks = replies(&to(&sent, b.dcs));
    assert_eq!(acks.len(), 2, "both acknowledged");
    let forwarded: Vec<_> = requests(&to(&sent, other))
        .iter()
        .map(|c| c.summary.id.key.as_bytes().to_vec())
        .collect();
    assert_eq!(forwarded, vec![b"small".to_vec()]);
    assert!(b.server.cache().get(&rid(b"big", &peer)).is_none());
    assert_eq!(b.server.dcs_info(b.dcs).unwrap().stats.invalid_records, 1);
}
