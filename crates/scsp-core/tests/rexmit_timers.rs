//! Retransmission timers that fit the link (docs/rfc2334-readings.md, "retransmission timers"):
//! CA, CSUS and CSU Request messages are retransmitted after the measured round-trip time's
//! timeout, the configured intervals (RFC 2334 2.2, 2.3: CAReXmtInterval, CSUSReXmtInterval,
//! CSUReXmtInterval) as upper bounds; `adaptive_rexmit = false` keeps the fixed intervals.

mod common;

use std::time::Duration;

use common::*;
use scsp_core::wire::{Body, Packet, SEQ_FIRST};
use scsp_core::{CaState, HelloState};

const MS: Duration = Duration::from_millis(1);

fn cas(ps: &[Packet]) -> usize {
    ps.iter()
        .filter(|p| matches!(p.body, Body::Ca { .. }))
        .count()
}

/// We are master (our ID is larger); the slave answers our initial CA after 20 ms, with more
/// to come: our next CA waits for its answer. Returns the bench.
fn master_waiting_for_the_slave(adaptive: bool) -> Bench {
    let mut b = Bench::new(2, 1);
    b.with_dcs(|c| c.adaptive_rexmit = adaptive);
    let initial = b.bring_to_negotiation();
    let (seq, ..) = ca_of(&initial);
    b.advance(20 * MS);
    b.deliver(Body::Ca {
        seq,
        m: false,
        i: false,
        o: true,
        records: vec![],
    });
    assert_eq!(b.ca_state(), CaState::SummarizeMaster);
    assert_eq!(cas(&b.sent()), 1, "our next CA");
    b
}

#[test]
fn rfc_2_2_1_ca_retransmitted_after_the_measured_round_trip() {
    let mut b = master_waiting_for_the_slave(true);
    let srtt = b.server.dcs_info(b.dcs).unwrap().srtt_us;
    assert_eq!(srtt, Some(20_000), "the initial CA's answer timed");
    // RTO: 20 ms + 4 × 10 ms, raised to the 100 ms floor; well before CAReXmitInt (1 s).
    b.advance(110 * MS);
    assert_eq!(cas(&b.sent()), 1, "retransmitted after the timeout");
    // Backed off: 200 ms after that, not 100.
    b.advance(110 * MS);
    assert_eq!(cas(&b.sent()), 0);
    b.advance(100 * MS);
    assert_eq!(cas(&b.sent()), 1);
}

#[test]
fn rfc_2_2_1_fixed_timers_keep_ca_rexmit_interval() {
    let mut b = master_waiting_for_the_slave(false);
    b.advance(900 * MS);
    assert_eq!(cas(&b.sent()), 0, "not before CAReXmitInt");
    b.advance(110 * MS);
    assert_eq!(cas(&b.sent()), 1);
}

#[test]
fn rfc_2_3_csa_retransmitted_after_the_measured_round_trip() {
    let mut b = Bench::new(1, 2);
    b.bring_to_aligned();
    // A first CSA acknowledged after 30 ms gives a sample.
    b.server.originate(b.now, b"a", data(b"1")).unwrap();
    b.sent();
    b.advance(30 * MS);
    b.deliver(Body::CsuReply {
        records: vec![csas(b"a", &b.lsid.clone(), SEQ_FIRST)],
    });
    assert_eq!(b.server.dcs_info(b.dcs).unwrap().srtt_us, Some(30_000));
    // The next one is retransmitted after 100 ms (the floor), not CSUReXmitInt (1 s).
    b.server.originate(b.now, b"b", data(b"1")).unwrap();
    assert_eq!(replies_or_requests(&b.sent()), 1);
    b.advance(90 * MS);
    assert_eq!(replies_or_requests(&b.sent()), 0);
    b.advance(20 * MS);
    assert_eq!(replies_or_requests(&b.sent()), 1, "retransmitted");
}

fn replies_or_requests(ps: &[Packet]) -> usize {
    ps.iter()
        .filter(|p| matches!(p.body, Body::CsuRequest { .. }))
        .count()
}

#[test]
fn rfc_2_3_a_dcs_that_acknowledges_is_not_taken_down_for_one_lost_record() {
    // With adaptive timers a CSA that has used up CSUReXmitMax is retransmitted on while the
    // DCS acknowledges others; the session stays up.
    let mut b = Bench::new(1, 2);
    b.bring_to_aligned();
    let lsid = b.lsid.clone();
    b.server.originate(b.now, b"lost", data(b"1")).unwrap();
    b.server.originate(b.now, b"ok", data(b"1")).unwrap();
    b.sent();
    for i in 0..12u8 {
        b.advance(400 * MS);
        b.deliver_hello(true);
        // The DCS acknowledges every record but "lost" (whose every copy is lost).
        let key = [b'k', i];
        b.server.originate(b.now, &key, data(b"1")).unwrap();
        b.sent();
        b.deliver(Body::CsuReply {
            records: vec![csas(&key, &lsid, SEQ_FIRST), csas(b"ok", &lsid, SEQ_FIRST)],
        });
    }
    assert_eq!(b.hello_state(), HelloState::Bidirectional);
    assert_eq!(b.ca_state(), CaState::Aligned, "no abnormal event");
    let info = b.server.dcs_info(b.dcs).unwrap();
    assert!(
        info.stats.csa_retransmits > 2,
        "more than CSUReXmitMax (2): {:?}",
        info.stats
    );
    assert_eq!(info.retransmit_queue, 1, "still trying");
}

#[test]
fn rfc_2_1_any_message_from_the_dcs_shows_it_alive() {
    // A DCS that sends CSU messages is Bidirectional with us (2.1): its lost Hellos do not
    // stall it while it does.
    let mut b = Bench::new(1, 2);
    b.bring_to_aligned();
    let peer = b.peer.clone();
    for i in 0..8u32 {
        b.advance(900 * MS);
        b.deliver(Body::CsuRequest {
            records: vec![csa(b"x", &peer, SEQ_FIRST + i, 3, b"1")],
        });
    }
    assert_eq!(
        b.hello_state(),
        HelloState::Bidirectional,
        "7.2 s without a Hello"
    );
    // Hellos only (RFC 2334 2.1 read literally): stalled.
    let mut b = Bench::new(1, 2);
    b.with_dcs(|c| c.any_message_alive = false);
    b.bring_to_aligned();
    for i in 0..8u32 {
        b.advance(900 * MS);
        b.deliver(Body::CsuRequest {
            records: vec![csa(b"x", &peer, SEQ_FIRST + i, 3, b"1")],
        });
    }
    assert_ne!(b.hello_state(), HelloState::Bidirectional);
}

fn hellos(ps: &[Packet]) -> usize {
    ps.iter()
        .filter(|p| matches!(p.body, Body::Hello { .. }))
        .count()
}

/// Our Hellos sent over `secs` seconds, stepping 50 ms, the DCS's Hello delivered every second.
fn our_hellos_over(b: &mut Bench, secs: u32) -> usize {
    let mut n = 0;
    for step in 1..=secs * 20 {
        b.advance(50 * MS);
        if step % 20 == 0 {
            b.deliver_hello(true);
        }
        n += hellos(&b.sent());
    }
    n
}

#[test]
fn rfc_2_1_hellos_repeated_once_a_hello_of_the_dcs_is_missed() {
    for repeat in [true, false] {
        let mut b = Bench::new(1, 2);
        b.with_dcs(|c| c.hello_repeat = repeat);
        b.bring_to_aligned();
        b.sent();
        // A clean path: one Hello per HelloInterval (1 s).
        assert_eq!(our_hellos_over(&mut b, 4), 4, "repeat={repeat}");
        // One of the DCS's Hellos lost: the next comes 2 s after the last.
        b.advance(Duration::from_secs(1));
        b.sent();
        b.advance(Duration::from_secs(1));
        b.deliver_hello(true);
        b.sent();
        // Three per interval (each sent at the 50 ms step after it is due, so 11 or 12 in 4 s).
        let n = our_hellos_over(&mut b, 4);
        if repeat {
            assert!((11..=12).contains(&n), "{n}");
        } else {
            assert_eq!(n, 4);
        }
        assert_eq!(b.hello_state(), HelloState::Bidirectional);
    }
}

#[test]
fn rfc_2_1_hellos_repeated_after_the_dcs_stopped_listing_us() {
    // The DCS's dead timer for us fired (its Hello no longer lists us): the same stall, seen
    // from our side; ours are repeated from then on.
    let mut b = Bench::new(1, 2);
    b.bring_to_aligned();
    b.sent();
    assert_eq!(our_hellos_over(&mut b, 2), 2);
    b.deliver_hello(false);
    assert_eq!(b.hello_state(), HelloState::Unidirectional);
    b.sent();
    let n = our_hellos_over(&mut b, 3);
    assert!((8..=9).contains(&n), "three per interval: {n}");
}

#[test]
fn rfc_2_3_adaptive_timers_give_up_after_four_times_csu_rexmit_max() {
    // A DCS that acknowledges nothing: with adaptive timers the CSA is retransmitted
    // 4 × CSUReXmitMax (8 in the bench) times before the abnormal event, not CSUReXmitMax.
    let mut b = Bench::new(1, 2);
    b.bring_to_aligned();
    b.server.originate(b.now, b"k", data(b"v")).unwrap();
    b.sent();
    let mut n = 0;
    while b.hello_state() == HelloState::Bidirectional && n < 100 {
        b.deliver_hello(true);
        b.advance(100 * MS);
        n += replies_or_requests(&b.sent());
    }
    assert_eq!(b.hello_state(), HelloState::Waiting, "given up at last");
    assert_eq!(b.server.dcs_info(b.dcs).unwrap().stats.csa_retransmits, 8);
}
