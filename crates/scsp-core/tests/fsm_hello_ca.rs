//! RFC 2334 section 2.1 (Hello) and 2.2 (Cache Alignment), rule by rule, against one server
//! whose DCS is played by the test.

mod common;

use std::time::Duration;

use common::*;
use scsp_core::event::{Drop, Notice, Trace};
use scsp_core::wire::{Body, Csas, Id, Packet};
use scsp_core::{CaState, Event, HelloState};

const SEC: Duration = Duration::from_secs(1);

fn hello_receiver(p: &scsp_core::wire::Packet) -> Option<Id> {
    match &p.body {
        Body::Hello { .. } => Some(p.common.receiver.clone()),
        _ => None,
    }
}

#[test]
fn rfc_2_1_link_up_enters_waiting_and_sends_hello_without_receiver() {
    let mut b = Bench::new(1, 2);
    assert_eq!(b.hello_state(), HelloState::Down);
    b.server.link_up(b.now, b.dcs);
    assert_eq!(b.hello_state(), HelloState::Waiting);
    let p = only(b.sent());
    match p.body {
        Body::Hello {
            interval,
            dead_factor,
            family_id,
            ref additional,
        } => {
            assert_eq!((interval, dead_factor, family_id), (1, 3, 0));
            assert!(additional.is_empty());
        }
        ref other => panic!("expected Hello, got {other:?}"),
    }
    assert!(
        p.common.receiver.is_empty(),
        "B.2.5: nobody heard yet, Recvr ID Len 0"
    );
    // Hellos go out every HelloInterval.
    b.advance(SEC);
    assert!(hello_receiver(&only(b.sent())).is_some());
}

#[test]
fn rfc_2_1_hello_without_our_lsid_gives_unidirectional_and_lists_the_dcs() {
    let mut b = Bench::new(1, 2);
    b.server.link_up(b.now, b.dcs);
    b.sent();
    b.deliver_hello(false);
    assert_eq!(b.hello_state(), HelloState::Unidirectional);
    // The DCS is added to our Receiver ID list before our next Hello (sent at once).
    let p = only(b.sent());
    assert_eq!(hello_receiver(&p), Some(b.peer.clone()));
    assert_eq!(b.ca_state(), CaState::Down);
}

#[test]
fn rfc_2_1_hello_with_our_lsid_gives_bidirectional_and_starts_negotiation() {
    let mut b = Bench::new(1, 2);
    let ca = b.bring_to_negotiation();
    let (seq, m, i, o, recs) = ca_of(&ca);
    assert!(m && i && o, "2.2: the first CA has M, I and O set");
    assert!(recs.is_empty(), "2.2: the first CA has no CSAS records");
    assert_eq!(
        seq,
        b.now.as_millis() as u32,
        "B.2.1: CA sequence number from the time of day"
    );
    assert_eq!(ca.common.receiver, b.peer);
    assert_eq!(ca.common.sender, b.lsid);
}

#[test]
fn rfc_2_1_additional_receiver_ids_are_searched() {
    let mut b = Bench::new(1, 2);
    b.server.link_up(b.now, b.dcs);
    let mut common = b.common();
    common.receiver = id4(77);
    let p = scsp_core::wire::Packet {
        common,
        body: Body::Hello {
            interval: 1,
            dead_factor: 3,
            family_id: 0,
            additional: vec![id4(78), b.lsid.clone(), id4(79)],
        },
        extensions: vec![],
    };
    b.deliver_packet(&p);
    assert_eq!(b.hello_state(), HelloState::Bidirectional);
}

#[test]
fn rfc_2_1_bidirectional_to_unidirectional_when_hello_stops_listing_us() {
    let mut b = Bench::new(1, 2);
    b.bring_to_aligned();
    b.deliver_hello(false);
    assert_eq!(b.hello_state(), HelloState::Unidirectional);
    assert_eq!(
        b.ca_state(),
        CaState::Down,
        "2.2: HFSM leaves Bidirectional → CAFSM Down"
    );
}

#[test]
fn rfc_2_1_stalled_dcs_goes_to_waiting_and_leaves_receiver_list() {
    let mut b = Bench::new(1, 2);
    b.bring_to_aligned();
    // The DCS advertised HelloInterval 1 and DeadFactor 3: stalled after 3 s of silence, plus
    // half an interval for the last Hello's transit time.
    b.advance(Duration::from_millis(3400));
    assert_eq!(b.hello_state(), HelloState::Bidirectional);
    b.sent();
    b.advance(Duration::from_millis(200));
    assert_eq!(b.hello_state(), HelloState::Waiting);
    assert_eq!(b.ca_state(), CaState::Down);
    b.advance(SEC);
    let hellos: Vec<_> = b.sent().iter().filter_map(hello_receiver).collect();
    assert!(!hellos.is_empty());
    assert!(
        hellos.iter().all(Id::is_empty),
        "stalled DCS removed from the Receiver ID list"
    );
}

#[test]
fn rfc_2_1_dead_interval_is_the_one_the_dcs_advertised() {
    let mut b = Bench::new(1, 2);
    b.server.link_up(b.now, b.dcs);
    let mut common = b.common();
    common.receiver = b.lsid.clone();
    let p = scsp_core::wire::Packet {
        common,
        body: Body::Hello {
            interval: 2,
            dead_factor: 5,
            family_id: 0,
            additional: vec![],
        },
        extensions: vec![],
    };
    b.deliver_packet(&p);
    assert_eq!(b.hello_state(), HelloState::Bidirectional);
    b.advance(Duration::from_millis(10900));
    assert_eq!(
        b.hello_state(),
        HelloState::Bidirectional,
        "2 s × 5 = 10 s (+ half of 2 s), not our own 3 s"
    );
    b.advance(Duration::from_millis(200));
    assert_eq!(b.hello_state(), HelloState::Waiting);
}

#[test]
fn rfc_2_1_unidirectional_without_any_hello_falls_back_to_waiting() {
    let mut b = Bench::new(1, 2);
    b.server.link_up(b.now, b.dcs);
    b.deliver_hello(false);
    assert_eq!(b.hello_state(), HelloState::Unidirectional);
    b.advance(Duration::from_millis(3600));
    assert_eq!(b.hello_state(), HelloState::Waiting);
}

#[test]
fn rfc_2_1_non_hello_messages_ignored_until_bidirectional() {
    let mut b = Bench::new(1, 2);
    b.server.link_up(b.now, b.dcs);
    b.sent();
    b.events();
    b.deliver(Body::Ca {
        seq: 1,
        m: true,
        i: true,
        o: true,
        records: vec![],
    });
    assert!(b.sent().is_empty());
    assert_eq!(b.ca_state(), CaState::Down);
    assert!(b.events().iter().any(|e| matches!(
        e,
        Event::Trace(Trace::Dropped {
            reason: Drop::NotBidirectional(_),
            ..
        })
    )));
}

#[test]
fn rfc_2_1_abnormal_event_malformed_packet_goes_to_waiting() {
    let mut b = Bench::new(1, 2);
    b.bring_to_aligned();
    b.server.handle_datagram(b.now, b.dcs, &[1, 2, 0, 3]);
    assert_eq!(b.hello_state(), HelloState::Waiting);
    assert_eq!(b.ca_state(), CaState::Down);
    assert_eq!(b.server.dcs_info(b.dcs).unwrap().stats.malformed, 1);
    assert_eq!(b.server.dcs_info(b.dcs).unwrap().stats.abnormal_events, 1);
}

#[test]
fn rfc_2_1_link_down_goes_to_down() {
    let mut b = Bench::new(1, 2);
    b.bring_to_aligned();
    b.server.link_down(b.now, b.dcs);
    assert_eq!(b.hello_state(), HelloState::Down);
    assert_eq!(b.ca_state(), CaState::Down);
    b.sent();
    b.advance(Duration::from_secs(10));
    assert!(b.sent().is_empty(), "nothing is sent to a DCS that is Down");
}

#[test]
fn b_2_5_family_id_is_carried_and_another_family_is_accepted() {
    // 2.1 runs the Hello protocol per Protocol ID and Server Group ID; the Family ID is an
    // aggregation hint (B.2.5): a Hello of another family is accepted, counted and reported
    // once while it stays the same.
    let mut b = Bench::new(1, 2).with_config(|c| c.family_id = 9);
    b.server.link_up(b.now, b.dcs);
    match only(b.sent()).body {
        Body::Hello { family_id, .. } => assert_eq!(family_id, 9),
        other => panic!("{other:?}"),
    }
    b.events();
    b.deliver_hello(true); // family 0
    b.deliver_hello(true);
    assert_eq!(b.hello_state(), HelloState::Bidirectional);
    let notices: Vec<_> = b
        .events()
        .into_iter()
        .filter_map(|e| match e {
            Event::Trace(Trace::Notice { notice, .. }) => Some(notice),
            _ => None,
        })
        .collect();
    assert_eq!(
        notices,
        vec![Notice::FamilyMismatch { ours: 9, theirs: 0 }],
        "reported once"
    );
    assert_eq!(
        b.server.dcs_info(b.dcs).unwrap().stats.family_mismatches,
        2,
        "every such Hello counted"
    );
}

#[test]
fn an_input_for_an_unknown_dcs_is_counted_and_reported() {
    // Inputs name their DCS where they enter the server: one it does not have (never added, or
    // removed) changes nothing, and is counted and reported rather than passed over.
    let mut b = Bench::new(1, 2);
    b.server.link_up(b.now, b.dcs);
    b.sent();
    let hello = b.hello(true);
    let bytes = scsp_core::wire::encode(
        &Packet {
            common: b.common(),
            body: hello,
            extensions: Vec::new(),
        },
        None,
    )
    .unwrap();
    let notices = |b: &mut Bench| -> Vec<_> {
        b.events()
            .into_iter()
            .map(|e| match e {
                Event::Trace(Trace::Notice { dcs, notice }) => (dcs, notice),
                other => panic!("{other:?}"),
            })
            .collect()
    };
    let unknown = scsp_core::DcsId(b.dcs.0 + 1);
    b.events();
    b.server.handle_datagram(b.now, unknown, &bytes);
    b.server.link_up(b.now, unknown);
    b.server.link_down(b.now, unknown);
    assert!(b.sent().is_empty());
    let said = |input| Notice::UnknownDcs { input };
    assert_eq!(
        notices(&mut b),
        vec![
            (unknown, said("datagram")),
            (unknown, said("link up")),
            (unknown, said("link down")),
        ]
    );
    assert_eq!(
        b.hello_state(),
        HelloState::Waiting,
        "the known DCS untouched"
    );
    b.server.remove_dcs(b.now, b.dcs);
    b.events();
    b.server.handle_datagram(b.now, b.dcs, &bytes);
    assert!(b.sent().is_empty());
    assert_eq!(notices(&mut b), vec![(b.dcs, said("datagram"))]);
    assert_eq!(b.server.unknown_dcs_inputs(), 4);
}

#[test]
fn rfc_2_2_wrong_sender_and_group_are_dropped() {
    let mut b = Bench::new(1, 2);
    b.server.link_up(b.now, b.dcs);
    let mut p = scsp_core::wire::Packet {
        common: b.common(),
        body: b.hello(true),
        extensions: vec![],
    };
    p.common.sgid = 8;
    b.deliver_packet(&p);
    p.common.sgid = SGID;
    p.common.sender = id4(99);
    b.deliver_packet(&p);
    assert_eq!(b.hello_state(), HelloState::Waiting);
    assert_eq!(b.server.dcs_info(b.dcs).unwrap().stats.dropped, 2);
}

// ----- 2.2.1 Master/Slave Negotiation -------------------------------------------------------

#[test]
fn rfc_2_2_1_rule_1_larger_dcs_makes_us_slave() {
    let mut b = Bench::new(1, 2);
    b.server.originate(b.now, b"k1", data(b"v1")).unwrap();
    let _ = b.bring_to_negotiation();
    b.deliver(Body::Ca {
        seq: 500,
        m: true,
        i: true,
        o: true,
        records: vec![],
    });
    assert_eq!(b.ca_state(), CaState::SummarizeSlave);
    let p = only(b.sent());
    let (seq, m, i, o, recs) = ca_of(&p);
    assert_eq!(
        seq, 500,
        "1c/1d: the slave adopts the master's sequence number"
    );
    assert!(!m && !i, "1d: M and I off");
    assert!(!o, "1d: all records fit, O off");
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].hops, 1, "B.2.0.2: stand-alone CSAS hop count is 1");
    // The slave does not retransmit: the master drives.
    b.advance(Duration::from_secs(5));
    assert!(b.sent().iter().all(|p| !matches!(p.body, Body::Ca { .. })));
}

#[test]
fn rfc_2_2_1_rule_1_needs_an_empty_initial_ca() {
    let mut b = Bench::new(1, 2);
    let _ = b.bring_to_negotiation();
    b.deliver(Body::Ca {
        seq: 500,
        m: true,
        i: true,
        o: true,
        records: vec![csas(b"k", &id4(2), 1)],
    });
    assert_eq!(b.ca_state(), CaState::Negotiation, "rule 3: ignored");
}

#[test]
fn rfc_2_2_1_rule_2_smaller_dcs_makes_us_master() {
    let mut b = Bench::new(2, 1);
    let init = b.bring_to_negotiation();
    let (our_seq, ..) = ca_of(&init);
    b.deliver(Body::Ca {
        seq: our_seq,
        m: false,
        i: false,
        o: false,
        records: vec![csas(b"k", &id4(1), 0x8000_0001)],
    });
    assert_eq!(b.ca_state(), CaState::SummarizeMaster);
    let p = only(b.sent());
    let (seq, m, i, o, recs) = ca_of(&p);
    assert_eq!(
        seq,
        our_seq.wrapping_add(1),
        "2d: sequence number incremented"
    );
    assert!(m && !i && !o);
    assert!(recs.is_empty());
    // 2c: the slave's record is on the CSA Request List.
    assert_eq!(b.server.dcs_info(b.dcs).unwrap().csa_request_list, 1);
}

#[test]
fn rfc_2_2_1_rule_3_smaller_initial_ca_ignored_and_ours_retransmitted() {
    let mut b = Bench::new(2, 1);
    let init = b.bring_to_negotiation();
    b.deliver(Body::Ca {
        seq: 9,
        m: true,
        i: true,
        o: true,
        records: vec![],
    });
    assert_eq!(b.ca_state(), CaState::Negotiation);
    assert!(b.sent().is_empty());
    b.advance(SEC);
    let again: Vec<_> = b
        .sent()
        .into_iter()
        .filter(|p| matches!(p.body, Body::Ca { .. }))
        .collect();
    assert_eq!(
        only(again),
        init,
        "2.2: the first CA is resent every CAReXmitInt"
    );
}

#[test]
fn rfc_2_2_1_stale_slave_answer_ignored() {
    let mut b = Bench::new(2, 1);
    let init = b.bring_to_negotiation();
    let (our_seq, ..) = ca_of(&init);
    b.deliver(Body::Ca {
        seq: our_seq.wrapping_sub(7),
        m: false,
        i: false,
        o: false,
        records: vec![],
    });
    assert_eq!(b.ca_state(), CaState::Negotiation);
}

// ----- 2.2.2 Cache Summarize ----------------------------------------------------------------

/// Master with `n` entries of its own, slave (test) empty. Returns the master's current seq.
fn master_in_summarize(b: &mut Bench, n: usize) -> u32 {
    for k in 0..n {
        b.server
            .originate(b.now, format!("key-{k:04}").as_bytes(), data(b"0123456789"))
            .unwrap();
    }
    let init = b.bring_to_negotiation();
    let (s, ..) = ca_of(&init);
    b.deliver(Body::Ca {
        seq: s,
        m: false,
        i: false,
        o: false,
        records: vec![],
    });
    assert_eq!(b.ca_state(), CaState::SummarizeMaster);
    s.wrapping_add(1)
}

#[test]
fn rfc_2_2_2_master_sends_all_summaries_with_o_bit_and_finishes() {
    let mut b = Bench::new(2, 1);
    let mut seq = master_in_summarize(&mut b, 200);
    let mut got = 0;
    let mut first = true;
    loop {
        let sent = b.sent();
        let p = if first {
            first = false;
            only(sent)
        } else {
            only(sent)
        };
        let (s, m, _, o, recs) = ca_of(&p);
        assert_eq!(s, seq);
        assert!(m);
        got += recs.len();
        assert!(p.common.sender == b.lsid);
        // 2.2.2 rule 3: the slave answers with the same sequence number and nothing more.
        b.deliver(Body::Ca {
            seq,
            m: false,
            i: false,
            o: false,
            records: vec![],
        });
        seq = seq.wrapping_add(1);
        if !o {
            break;
        }
    }
    assert_eq!(got, 200);
    assert!(b.sent().is_empty(), "3d1: nothing more is sent");
    assert_eq!(
        b.ca_state(),
        CaState::Aligned,
        "2.2.3: empty CRL, straight to Aligned"
    );
}

#[test]
fn rfc_2_2_2_rule_2_master_discards_duplicate() {
    let mut b = Bench::new(2, 1);
    let seq = master_in_summarize(&mut b, 1);
    b.sent();
    b.deliver(Body::Ca {
        seq: seq.wrapping_sub(1),
        m: false,
        i: false,
        o: false,
        records: vec![],
    });
    assert!(b.sent().is_empty());
    assert_eq!(b.ca_state(), CaState::SummarizeMaster);
}

#[test]
fn rfc_2_2_2_rule_3d2_master_answers_more_with_empty_ca() {
    let mut b = Bench::new(2, 1);
    let seq = master_in_summarize(&mut b, 0);
    b.sent();
    b.deliver(Body::Ca {
        seq,
        m: false,
        i: false,
        o: true,
        records: vec![csas(b"a", &id4(1), 5)],
    });
    let p = only(b.sent());
    let (s, m, i, o, recs) = ca_of(&p);
    assert_eq!((s, m, i, o, recs.len()), (seq + 1, true, false, false, 0));
    assert_eq!(b.ca_state(), CaState::SummarizeMaster);
    b.deliver(Body::Ca {
        seq: seq + 1,
        m: false,
        i: false,
        o: false,
        records: vec![],
    });
    assert_eq!(b.ca_state(), CaState::UpdateCache, "3d1, CRL not empty");
}

#[test]
fn rfc_2_2_2_master_keeps_retransmitting_after_first_exchange() {
    // The original daemon's master stopped retransmitting after the first exchange and stalled.
    let mut b = Bench::new(2, 1);
    let seq = master_in_summarize(&mut b, 200);
    b.sent();
    b.deliver(Body::Ca {
        seq,
        m: false,
        i: false,
        o: false,
        records: vec![],
    });
    let second = only(b.sent());
    assert_eq!(ca_of(&second).0, seq + 1);
    for _ in 0..3 {
        b.deliver_hello(true);
        b.advance(SEC);
        let again: Vec<_> = b
            .sent()
            .into_iter()
            .filter(|p| matches!(p.body, Body::Ca { .. }))
            .collect();
        assert_eq!(only(again), second);
    }
    assert_eq!(b.server.dcs_info(b.dcs).unwrap().stats.ca_retransmits, 3);
}

#[test]
fn rfc_2_2_2_rule_1_i_bit_returns_to_negotiation_and_is_evaluated() {
    let mut b = Bench::new(1, 2);
    let _ = b.bring_to_negotiation();
    b.deliver(Body::Ca {
        seq: 100,
        m: true,
        i: true,
        o: true,
        records: vec![],
    });
    assert_eq!(b.ca_state(), CaState::SummarizeSlave);
    b.sent();
    // The master restarted with a new sequence number: back to Negotiation, and the CA is
    // evaluated at once (rfc2334-readings.md #5) so we are slave again at 900.
    b.deliver(Body::Ca {
        seq: 900,
        m: true,
        i: true,
        o: true,
        records: vec![],
    });
    assert_eq!(b.ca_state(), CaState::SummarizeSlave);
    let sent = b.sent();
    let answer = sent
        .iter()
        .rfind(|p| matches!(p.body, Body::Ca { m: false, .. }))
        .unwrap();
    assert_eq!(ca_of(answer).0, 900);
}

#[test]
fn rfc_2_2_2_slave_answers_repeated_initial_ca_without_renegotiating() {
    let mut b = Bench::new(1, 2);
    let _ = b.bring_to_negotiation();
    b.deliver(Body::Ca {
        seq: 100,
        m: true,
        i: true,
        o: true,
        records: vec![],
    });
    let first = only(b.sent());
    b.deliver(Body::Ca {
        seq: 100,
        m: true,
        i: true,
        o: true,
        records: vec![],
    });
    assert_eq!(only(b.sent()), first);
    assert_eq!(b.ca_state(), CaState::SummarizeSlave);
}

#[test]
fn rfc_2_2_2_rule_1_m_bit_wrong_for_slave() {
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
    b.deliver(Body::Ca {
        seq: 101,
        m: false,
        i: false,
        o: false,
        records: vec![],
    });
    assert_eq!(b.ca_state(), CaState::Negotiation);
}

#[test]
fn rfc_2_2_2_rule_4_slave_resends_on_duplicate() {
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
    b.deliver(Body::Ca {
        seq: 101,
        m: true,
        i: false,
        o: true,
        records: vec![],
    });
    let answer = only(b.sent());
    b.deliver(Body::Ca {
        seq: 101,
        m: true,
        i: false,
        o: true,
        records: vec![],
    });
    assert_eq!(only(b.sent()), answer);
    assert_eq!(b.ca_state(), CaState::SummarizeSlave);
}

#[test]
fn rfc_2_2_2_rule_5_slave_sends_records_with_o_bit_until_done() {
    let mut b = Bench::new(1, 2);
    for k in 0..300 {
        b.server
            .originate(b.now, format!("key-{k:04}").as_bytes(), data(b"x"))
            .unwrap();
    }
    let _ = b.bring_to_negotiation();
    b.deliver(Body::Ca {
        seq: 100,
        m: true,
        i: true,
        o: true,
        records: vec![],
    });
    let mut got = 0;
    let mut seq = 100;
    let mut p = only(b.sent());
    loop {
        let (s, m, i, o, recs) = ca_of(&p);
        assert_eq!(s, seq);
        assert!(!m && !i);
        got += recs.len();
        if !o {
            break;
        }
        assert!(recs.len() > 1, "5c2a: records packed up to the packet size");
        seq += 1;
        b.deliver(Body::Ca {
            seq,
            m: true,
            i: false,
            o: false,
            records: vec![],
        });
        p = only(b.sent());
        // O off with an empty CRL: Update Cache and at once Aligned (2.2.3).
        let expect = if ca_of(&p).3 {
            CaState::SummarizeSlave
        } else {
            CaState::Aligned
        };
        assert_eq!(b.ca_state(), expect);
    }
    assert_eq!(got, 300);
    // 5c2b: last records sent with O off after a master CA with O off: Update Cache → Aligned.
    assert_eq!(b.ca_state(), CaState::Aligned);
}

#[test]
fn rfc_2_2_2_rule_5c1_slave_done_sends_empty_ca_and_keeps_a_copy() {
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
    b.deliver(Body::Ca {
        seq: 101,
        m: true,
        i: false,
        o: false,
        records: vec![csas(b"a", &id4(2), 0x8000_0001)],
    });
    let sent = b.sent();
    let last = sent
        .iter()
        .find(|p| matches!(p.body, Body::Ca { .. }))
        .unwrap()
        .clone();
    assert_eq!(ca_of(&last).0, 101);
    assert!(!ca_of(&last).3);
    assert_eq!(b.ca_state(), CaState::UpdateCache);
    assert!(
        sent.iter().any(|p| matches!(p.body, Body::Csus { .. })),
        "2.2.3: CRL solicited"
    );
    // 2.2.2 note: the master's retransmission is answered from the kept copy.
    b.deliver(Body::Ca {
        seq: 101,
        m: true,
        i: false,
        o: false,
        records: vec![],
    });
    assert_eq!(only(b.sent()), last);
    assert_eq!(b.ca_state(), CaState::UpdateCache);
    // A CSUS releases the copy; the master's duplicate then forces renegotiation.
    b.deliver(Body::Csus { records: vec![] });
    b.deliver(Body::Ca {
        seq: 101,
        m: true,
        i: false,
        o: false,
        records: vec![],
    });
    assert_ne!(b.ca_state(), CaState::UpdateCache);
}

#[test]
fn rfc_2_2_2_slave_copy_kept_while_the_master_can_retransmit() {
    // The master retransmits its last CA until it is answered (2.2.1, 2.2.2): the slave keeps
    // the copy of its answer until the master shows it has left Cache Summarize, however long
    // the answers are lost, instead of renegotiating the whole exchange on a late copy.
    let mut b = Bench::new(1, 2);
    b.bring_to_aligned();
    for _ in 0..5 {
        // Well past 2 × CAReXmitInt, the DCS kept alive by its Hellos.
        b.advance(Duration::from_millis(900));
        b.deliver_hello(true);
    }
    b.sent();
    b.deliver(Body::Ca {
        seq: 4243,
        m: true,
        i: false,
        o: false,
        records: vec![],
    });
    assert_eq!(b.ca_state(), CaState::Aligned, "answered from the copy");
    let answer = only(
        b.sent()
            .into_iter()
            .filter(|p| matches!(p.body, Body::Ca { .. }))
            .collect(),
    );
    let (seq, m, _, o, _) = ca_of(&answer);
    assert_eq!((seq, m, o), (4243, false, false), "our last CA again");
    // A CSU message shows that the master is past Cache Summarize: the copy goes, and a CA of
    // that exchange is now unexpected.
    b.deliver(Body::CsuReply { records: vec![] });
    b.deliver(Body::Ca {
        seq: 4243,
        m: true,
        i: false,
        o: false,
        records: vec![],
    });
    assert_eq!(
        b.ca_state(),
        CaState::Negotiation,
        "no copy left: renegotiate"
    );
}

#[test]
fn rfc_2_2_2_rule_6_slave_unexpected_sequence_renegotiates() {
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
    b.deliver(Body::Ca {
        seq: 105,
        m: true,
        i: false,
        o: false,
        records: vec![],
    });
    assert_eq!(b.ca_state(), CaState::Negotiation);
}

#[test]
fn rfc_2_2_2_1_crl_holds_only_newer_or_unknown_entries() {
    let mut b = Bench::new(2, 1);
    b.server.originate(b.now, b"mine", data(b"m")).unwrap();
    let init = b.bring_to_negotiation();
    let (s, ..) = ca_of(&init);
    let peer = id4(1);
    b.deliver(Body::Ca {
        seq: s,
        m: false,
        i: false,
        o: false,
        records: vec![
            csas(b"new", &peer, 0x8000_0001),            // unknown: wanted
            csas(b"mine", &b.lsid.clone(), 0x8000_0001), // same as ours and confirmed? see below
        ],
    });
    // "mine" was originated here without knowing of earlier incarnations: it is fetched once
    // to compare (see rfc2334-readings.md #8 and the restart rule of B.2.0.2).
    assert_eq!(b.server.dcs_info(b.dcs).unwrap().csa_request_list, 2);
}

// ----- 2.2.3 Update Cache -------------------------------------------------------------------

#[test]
fn rfc_2_2_3_csus_solicits_crl_and_csu_request_completes_alignment() {
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
    let peer = b.peer.clone();
    let wanted = vec![
        csas(b"a", &peer, 0x8000_0005),
        csas(b"b", &peer, 0x8000_0001),
    ];
    b.deliver(Body::Ca {
        seq: 101,
        m: true,
        i: false,
        o: false,
        records: wanted.clone(),
    });
    let sent = b.sent();
    let csus = sent
        .iter()
        .find(|p| matches!(p.body, Body::Csus { .. }))
        .unwrap();
    match &csus.body {
        Body::Csus { records } => assert_eq!(records, &wanted),
        _ => unreachable!(),
    }
    assert_eq!(b.ca_state(), CaState::UpdateCache);
    // Only "a" arrives: still Update Cache; the CSUS is retransmitted with "b" only.
    b.deliver(Body::CsuRequest {
        records: vec![csa(b"a", &peer, 0x8000_0005, 1, b"A")],
    });
    assert_eq!(b.ca_state(), CaState::UpdateCache);
    let reply = only(b.sent());
    assert!(matches!(reply.body, Body::CsuReply { ref records } if records.len() == 1));
    b.advance(SEC);
    let again: Vec<_> = b
        .sent()
        .into_iter()
        .filter(|p| matches!(p.body, Body::Csus { .. }))
        .collect();
    match &only(again).body {
        Body::Csus { records } => assert_eq!(records, &wanted[1..]),
        _ => unreachable!(),
    }
    assert_eq!(b.server.dcs_info(b.dcs).unwrap().stats.csus_retransmits, 1);
    // A null record answers the solicitation too.
    let mut null = csa(b"b", &peer, 0x8000_0001, 1, b"");
    null.summary.null = true;
    b.deliver(Body::CsuRequest {
        records: vec![null],
    });
    assert_eq!(b.ca_state(), CaState::Aligned);
    assert_eq!(b.server.cache().live(), 1);
}

#[test]
fn rfc_2_2_3_csus_or_ca_for_another_receiver_is_discarded() {
    let mut b = Bench::new(1, 2);
    b.bring_to_aligned();
    b.server.originate(b.now, b"k", data(b"v")).unwrap();
    b.sent();
    let mut common = b.common();
    common.receiver = id4(50);
    let p = scsp_core::wire::Packet {
        common,
        body: Body::Csus {
            records: vec![csas(b"k", &b.lsid.clone(), 0x8000_0001)],
        },
        extensions: vec![],
    };
    b.deliver_packet(&p);
    let sent = b.sent();
    assert!(sent.is_empty(), "{sent:?}");
    assert_eq!(b.server.dcs_info(b.dcs).unwrap().stats.dropped, 1);
}

#[test]
fn rfc_2_2_4_aligned_answers_csus() {
    let mut b = Bench::new(1, 2);
    b.bring_to_aligned();
    b.server.originate(b.now, b"k", data(b"v")).unwrap();
    b.sent();
    // The flood is acknowledged: the answer below is only an answer.
    b.deliver(Body::CsuReply {
        records: vec![csas(b"k", &b.lsid.clone(), 0x8000_0001)],
    });
    b.deliver(Body::Csus {
        records: vec![csas(b"k", &b.lsid.clone(), 0x8000_0001)],
    });
    let p = only(b.sent());
    match p.body {
        Body::CsuRequest { records } => {
            assert_eq!(records.len(), 1);
            assert_eq!(
                records[0].summary.hops, 1,
                "B.2.0.2: a solicited CSA has hop count 1"
            );
            assert_eq!(&*records[0].data, b"v");
        }
        other => panic!("{other:?}"),
    }
}

/// A CSUS asking for an instance whose flood to the DCS is not yet acknowledged: the answer is also
/// the flood (the DCS's acknowledgement of it ends both), so it goes with the flood's Hop Count,
/// not 1, and the DCS floods it on. (With Hop Count 1 a DCS whose CSA Request List no longer held
/// the record, as after a duplicated CSUS, kept it to itself, and its other DCSs held the old
/// instance for ever.)
#[test]
fn b_2_0_2_answer_to_csus_for_an_instance_being_flooded_keeps_the_flood_hop_count() {
    let mut b = Bench::new(1, 2);
    b.bring_to_aligned();
    let hops = b.server.dcs_config(b.dcs).unwrap().hops;
    assert!(hops > 1);
    b.server.originate(b.now, b"k", data(b"v")).unwrap();
    let flood = only(b.sent());
    match &flood.body {
        Body::CsuRequest { records } => assert_eq!(records[0].summary.hops, hops),
        other => panic!("{other:?}"),
    }
    b.deliver(Body::Csus {
        records: vec![csas(b"k", &b.lsid.clone(), 0x8000_0001)],
    });
    match only(b.sent()).body {
        Body::CsuRequest { records } => {
            assert_eq!(records.len(), 1);
            assert_eq!(records[0].summary.hops, hops);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn rfc_2_2_ca_in_aligned_with_i_bit_renegotiates() {
    let mut b = Bench::new(1, 2);
    b.bring_to_aligned();
    b.sent();
    b.deliver(Body::Ca {
        seq: 7000,
        m: true,
        i: true,
        o: true,
        records: vec![],
    });
    assert_eq!(b.ca_state(), CaState::SummarizeSlave);
}

#[test]
fn rfc_2_1_hello_naming_the_dcs_goes_out_before_the_first_ca() {
    // The DCS is not Bidirectional until it hears a Hello that names it; a CA that reached it
    // first would be dropped and cost a CAReXmitInt.
    let mut b = Bench::new(1, 2);
    b.server.link_up(b.now, b.dcs);
    b.sent();
    b.deliver_hello(true);
    let kinds: Vec<_> = b.sent().iter().map(|p| p.body.message_type()).collect();
    use scsp_core::wire::MessageType;
    assert_eq!(kinds, vec![MessageType::Hello, MessageType::Ca]);
}

/// Pipelined mode (`Server::set_pipelined`): a CSU Request that answers the whole CSUS
/// outstanding lets the next CSUS go at once (2.2.3: still one outstanding at a time); its records
/// are stored, acknowledged and Aligned reached only by `work` or the next input.
#[test]
fn rfc_2_2_3_pipelined_next_csus_goes_before_the_records_are_stored() {
    let mut b = Bench::new(1, 2).with_config(|c| c.max_packet = 200);
    b.server.set_pipelined(b.now, true);
    let _ = b.bring_to_negotiation();
    b.deliver(Body::Ca {
        seq: 100,
        m: true,
        i: true,
        o: true,
        records: vec![],
    });
    b.sent();
    let peer = b.peer.clone();
    let keys: Vec<Vec<u8>> = (0u8..12).map(|i| vec![b'k', i]).collect();
    let wanted: Vec<Csas> = keys.iter().map(|k| csas(k, &peer, 0x8000_0001)).collect();
    b.deliver(Body::Ca {
        seq: 101,
        m: true,
        i: false,
        o: false,
        records: wanted.clone(),
    });
    let first = csus(&b.sent());
    assert!(
        !first.is_empty() && first.len() < wanted.len(),
        "the 200-byte packets split the solicitation: {} of {}",
        first.len(),
        wanted.len()
    );
    assert_eq!(first, wanted[..first.len()]);
    // The answer to the first CSUS: its records end the solicitation, and the next CSUS is out
    // before any of them is stored or acknowledged.
    let answer: Vec<_> = first
        .iter()
        .map(|r| csa(r.id.key.as_bytes(), &peer, r.seq, 1, b"D"))
        .collect();
    b.deliver(Body::CsuRequest {
        records: answer.clone(),
    });
    let sent = b.sent();
    let second = csus(&sent);
    assert!(!second.is_empty(), "the next CSUS went out with the answer");
    assert_eq!(second, wanted[first.len()..first.len() + second.len()]);
    assert!(
        sent.iter()
            .all(|p| !matches!(p.body, Body::CsuReply { .. })),
        "not acknowledged yet"
    );
    assert!(b.server.has_work());
    assert_eq!(b.server.cache().live(), 0, "not stored yet");
    assert!(
        b.server.poll_timeout().is_some_and(|t| t <= b.now),
        "the work is due at once"
    );
    b.server.work(b.now);
    assert!(!b.server.has_work());
    assert_eq!(b.server.cache().live(), first.len());
    assert_eq!(
        replies(&b.sent()).len(),
        first.len(),
        "acknowledged by work"
    );
    // The rest arrives; another input (a Hello) weighs it before it is handled, and Aligned is
    // reached once the last record is stored.
    let rest: Vec<_> = wanted[first.len()..]
        .iter()
        .map(|r| csa(r.id.key.as_bytes(), &peer, r.seq, 1, b"D"))
        .collect();
    for chunk in rest.chunks(2) {
        b.deliver(Body::CsuRequest {
            records: chunk.to_vec(),
        });
    }
    assert_eq!(
        b.ca_state(),
        CaState::UpdateCache,
        "Aligned waits for the records"
    );
    assert!(b.server.aligning(), "a lock-step exchange is under way");
    b.deliver_hello(true);
    assert!(!b.server.has_work());
    assert_eq!(b.server.cache().live(), wanted.len());
    assert_eq!(b.ca_state(), CaState::Aligned);
    assert!(!b.server.aligning());
}

/// Pipelining off (the default): a CSU Request is taken whole by `handle_datagram`.
#[test]
fn rfc_2_2_3_unpipelined_request_is_taken_whole() {
    let mut b = Bench::new(1, 2);
    b.bring_to_aligned();
    let peer = b.peer.clone();
    b.deliver(Body::CsuRequest {
        records: vec![csa(b"x", &peer, 0x8000_0001, 1, b"X")],
    });
    assert!(!b.server.has_work());
    assert_eq!(b.server.cache().live(), 1);
    assert_eq!(replies(&b.sent()).len(), 1);
}

/// Pipelined mode, Cache Summarize (2.2.2 rule 5): the slave answers a CA before it compares the
/// CA's summaries with its cache (its answer does not depend on them); they reach the CSA Request
/// List by `work`, and all of them before Update Cache begins, in the order they came.
#[test]
fn rfc_2_2_2_pipelined_ca_is_answered_before_its_summaries_are_processed() {
    let mut b = Bench::new(1, 2);
    b.server.set_pipelined(b.now, true);
    let _ = b.bring_to_negotiation();
    b.deliver(Body::Ca {
        seq: 100,
        m: true,
        i: true,
        o: true,
        records: vec![],
    });
    b.sent();
    let peer = b.peer.clone();
    let wanted: Vec<Csas> = (0u8..6)
        .map(|i| csas(&[b'k', i], &peer, 0x8000_0001))
        .collect();
    let crl = |b: &Bench| b.server.dcs_info(b.dcs).unwrap().csa_request_list;
    b.deliver(Body::Ca {
        seq: 101,
        m: true,
        i: false,
        o: true,
        records: wanted[..3].to_vec(),
    });
    let answer = only(b.sent());
    let (seq, m, _, o, records) = ca_of(&answer);
    assert_eq!(
        (seq, m, o, records.len()),
        (101, false, false, 0),
        "answered"
    );
    assert!(b.server.has_work());
    assert!(b.server.poll_timeout().is_some_and(|t| t <= b.now));
    assert_eq!(crl(&b), 0, "not processed yet");
    b.server.work(b.now);
    assert!(!b.server.has_work());
    assert_eq!(crl(&b), 3);
    // The master's last CA: its summaries wait while the answer goes out, then the exchange
    // ends (5c1) and all six are on the list, asked for in order.
    b.deliver(Body::Ca {
        seq: 102,
        m: true,
        i: false,
        o: false,
        records: wanted[3..].to_vec(),
    });
    let sent = b.sent();
    assert_eq!(b.ca_state(), CaState::UpdateCache);
    assert!(!b.server.has_work());
    let (seq, ..) = ca_of(&sent[0]);
    assert_eq!(seq, 102, "the answer went first");
    let asked: Vec<Csas> = sent
        .iter()
        .filter_map(|p| match &p.body {
            Body::Csus { records } => Some(records.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(asked, wanted);
}

/// Pipelined mode: summaries still waiting when the exchange restarts (2.2.2 rule 1) belong to
/// the exchange abandoned and are dropped, not put on the new CSA Request List.
#[test]
fn rfc_2_2_2_pipelined_renegotiation_drops_waiting_summaries() {
    let mut b = Bench::new(1, 2);
    b.server.set_pipelined(b.now, true);
    let _ = b.bring_to_negotiation();
    b.deliver(Body::Ca {
        seq: 100,
        m: true,
        i: true,
        o: true,
        records: vec![],
    });
    let peer = b.peer.clone();
    b.deliver(Body::Ca {
        seq: 101,
        m: true,
        i: false,
        o: true,
        records: vec![csas(b"k", &peer, 0x8000_0001)],
    });
    assert!(b.server.has_work());
    b.sent();
    // The master starts again.
    b.deliver(Body::Ca {
        seq: 500,
        m: true,
        i: true,
        o: true,
        records: vec![],
    });
    assert_eq!(b.ca_state(), CaState::SummarizeSlave);
    assert!(
        !b.server.has_work(),
        "the old exchange's summaries are gone"
    );
    b.deliver(Body::Ca {
        seq: 501,
        m: true,
        i: false,
        o: false,
        records: vec![],
    });
    assert_eq!(
        b.ca_state(),
        CaState::Aligned,
        "nothing wanted from the new exchange"
    );
    assert!(
        b.sent()
            .iter()
            .all(|p| !matches!(p.body, Body::Csus { .. }))
    );
}

#[test]
fn rfc_2_1_dead_factor_3_tolerates_two_lost_hellos_that_arrive_late() {
    // HelloInterval 1 s, DeadFactor 3: two Hellos in a row lost, and the third arriving 10 ms
    // after HelloInterval × DeadFactor (its transit time), must not stall the DCS; three lost
    // in a row must.
    let mut b = Bench::new(1, 2);
    b.bring_to_aligned();
    let delay = Duration::from_millis(10);
    // Hellos 1 and 2 lost; the dead timer is looked at just before Hello 3 arrives.
    b.advance(Duration::from_secs(3));
    assert_eq!(b.hello_state(), HelloState::Bidirectional);
    b.advance(delay);
    b.deliver_hello(true);
    assert_eq!(b.hello_state(), HelloState::Bidirectional);
    assert_eq!(b.ca_state(), CaState::Aligned, "no realignment");
    // Hellos 4, 5 and 6 lost: stalled before Hello 7 arrives.
    b.advance(Duration::from_millis(3990));
    assert_ne!(b.hello_state(), HelloState::Bidirectional, "stalled");
}

#[test]
fn b_3_1_packet_failing_authentication_is_discarded_and_the_session_stays() {
    // A packet that cannot be shown to come from the DCS says nothing about it (RFC 2328 D.5):
    // discarded and counted, no abnormal event, nothing sent in answer.
    let mut b = Bench::new(1, 2);
    b.bring_to_aligned();
    let key = scsp_core::wire::AuthKey {
        spi: 7,
        algorithm: scsp_core::wire::AuthAlgorithm::HmacSha256,
        key: b"secret".to_vec(),
    };
    b.with_dcs(|c| c.auth_recv = vec![key.clone()]);
    b.sent();
    for _ in 0..10 {
        b.deliver_hello(true); // no Authentication extension
        b.server.handle_datagram(b.now, b.dcs, b"garbage");
    }
    assert_eq!(b.hello_state(), HelloState::Bidirectional);
    assert_eq!(b.ca_state(), CaState::Aligned);
    assert!(b.sent().is_empty(), "a spoofed packet costs no traffic");
    let s = b.server.dcs_info(b.dcs).unwrap().stats;
    assert_eq!(
        (s.auth_failures, s.malformed, s.abnormal_events),
        (10, 10, 0)
    );
    // The literal reading of B.3.1, when configured: an abnormal event.
    b.with_dcs(|c| c.auth_failure_abnormal = true);
    b.deliver_hello(true);
    assert_eq!(b.hello_state(), HelloState::Waiting);
}

#[test]
fn rfc_2_1_forged_malformed_packets_cost_few_realignments() {
    // Without authentication a malformed packet is an abnormal event, but at most once per
    // back-off interval (1 s, doubling while they keep coming): 100 forged packets over 10 s
    // cost 4 realignments, not 100.
    let mut b = Bench::new(1, 2);
    b.bring_to_aligned();
    for _ in 0..100 {
        b.server.handle_datagram(b.now, b.dcs, b"garbage");
        b.advance(Duration::from_millis(100));
        b.deliver_hello(true);
    }
    let s = b.server.dcs_info(b.dcs).unwrap().stats;
    assert_eq!(s.malformed, 100);
    assert!(
        (1..=5).contains(&s.abnormal_events),
        "{} abnormal events",
        s.abnormal_events
    );
}

#[test]
fn b_2_5_advertised_dead_interval_is_capped() {
    // A DCS advertising HelloInterval 65535 × DeadFactor 65535 and going silent is declared
    // dead after the local ceiling (by default the larger of 30 s and our own interval).
    let mut b = Bench::new(1, 2);
    b.server.link_up(b.now, b.dcs);
    let mut common = b.common();
    common.receiver = b.lsid.clone();
    b.deliver_packet(&scsp_core::wire::Packet {
        common,
        body: Body::Hello {
            interval: 65535,
            dead_factor: 65535,
            family_id: 0,
            additional: vec![],
        },
        extensions: vec![],
    });
    assert_eq!(b.hello_state(), HelloState::Bidirectional);
    b.advance(Duration::from_secs(29));
    assert_eq!(b.hello_state(), HelloState::Bidirectional);
    b.advance(Duration::from_secs(2));
    assert_eq!(b.hello_state(), HelloState::Waiting, "30 s at most");
}
