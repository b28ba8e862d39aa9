//! B.2.0.2's equal numbers (docs/rfc2334-readings.md, "equal numbers"): two instances of one
//! record under one sequence number, which only an originator that lost its state can make.
//! A server that keeps one over the other (the larger data) marks it contested; a DCS may still
//! hold the other, and Cache Alignment compares numbers only, so at its next alignment with any
//! DCS it fetches the DCS's instance at that number to compare (2.2.2.1), and the larger goes
//! back to the DCS.

mod common;

use common::*;
use scsp_core::CaState;
use scsp_core::wire::{Body, Csas, SEQ_FIRST};

const KEY: &[u8] = b"k141";
/// The originator's DCS, 10.0.0.4.
const O: u8 = 4;
const SMALL: &[u8] = b"bbbb";
const LARGE: &[u8] = b"zzzz";

/// The server under test (10.0.0.1) is aligned with Y (10.0.0.3, its main DCS, master) and with
/// the originator O (10.0.0.4). It learns O's record at -2^31+1 with `first`; Y's session goes
/// down (a partition); then the same number comes again from O with `second` (O lost its state
/// and numbered again). Y, holding `first`, comes back and summarizes the record at that number.
/// Returns the bench and what the server sent on Y's summary.
fn partitioned_during_the_conflict(first: &[u8], second: &[u8]) -> (Bench, Vec<Csas>) {
    let origin = id4(O);
    let mut b = Bench::new(1, 3);
    b.bring_to_aligned();
    let o = b.add_aligned_peer(O);
    let _ = b.sent_all();
    let y = b.dcs;

    let first_csa = csa(KEY, &origin, SEQ_FIRST, 3, first);
    b.deliver_from(
        o,
        O,
        Body::CsuRequest {
            records: vec![first_csa],
        },
    );
    let sent = b.sent_all();
    let flooded = requests(&to(&sent, y));
    assert!(
        flooded
            .iter()
            .any(|c| c.summary.id == rid(KEY, &origin) && &c.data[..] == first),
        "the first instance is flooded to Y: {flooded:?}"
    );

    // A partition: Y's session goes down before the second instance comes.
    b.server.link_down(b.now, y);
    b.deliver_from(
        o,
        O,
        Body::CsuRequest {
            records: vec![csa(KEY, &origin, SEQ_FIRST, 3, second)],
        },
    );
    let _ = b.sent_all();
    let e = b.server.cache().get(&rid(KEY, &origin)).expect("held");
    assert_eq!(
        (e.seq, &e.data[..]),
        (SEQ_FIRST, LARGE),
        "the larger data is kept"
    );
    assert!(
        e.contested(),
        "kept over another instance under its number: contested"
    );

    // The partition heals: Y, master, summarizes the record at the same number.
    b.server.link_up(b.now, y);
    b.deliver_hello(true);
    assert_eq!(b.ca_state(), CaState::Negotiation);
    b.deliver(Body::Ca {
        seq: 5000,
        m: true,
        i: true,
        o: true,
        records: vec![],
    });
    let _ = b.sent();
    b.deliver(Body::Ca {
        seq: 5001,
        m: true,
        i: false,
        o: false,
        records: vec![csas(KEY, &origin, SEQ_FIRST)],
    });
    let asked = csus(&b.sent());
    (b, asked)
}

/// The second instance is the larger (the seed 7662 case): the server takes it and floods it,
/// but not to Y, whose session is down; Y's realignment then compares numbers only.
#[test]
fn b_2_0_2_rfc_2_2_2_1_instance_taken_at_equal_numbers_is_compared_at_the_next_alignment() {
    let (mut b, asked) = partitioned_during_the_conflict(SMALL, LARGE);
    compared_and_sent_back(&mut b, &asked);
}

/// The first instance is the larger: the server keeps it and sends it back to the DCS that
/// sent the other (as before); other DCSs, such as Y, may hold the other too.
#[test]
fn b_2_0_2_rfc_2_2_2_1_instance_kept_at_equal_numbers_is_compared_at_the_next_alignment() {
    let (mut b, asked) = partitioned_during_the_conflict(LARGE, SMALL);
    compared_and_sent_back(&mut b, &asked);
}

/// The server asked Y for its instance at the same number (a CSUS in Update Cache); Y answers
/// with the smaller data, and the larger goes back to Y.
fn compared_and_sent_back(b: &mut Bench, asked: &[Csas]) {
    let origin = id4(O);
    assert_eq!(
        b.ca_state(),
        CaState::UpdateCache,
        "Y's instance at the contested number is solicited"
    );
    assert!(
        asked
            .iter()
            .any(|r| r.id == rid(KEY, &origin) && r.seq == SEQ_FIRST),
        "CSUS {asked:?}"
    );
    b.deliver(Body::CsuRequest {
        records: vec![csa(KEY, &origin, SEQ_FIRST, 1, SMALL)],
    });
    let sent = b.sent();
    let back = requests(&sent);
    assert!(
        back.iter().any(|c| c.summary.id == rid(KEY, &origin)
            && c.summary.seq == SEQ_FIRST
            && &c.data[..] == LARGE),
        "the larger instance goes back to Y: {back:?}"
    );
    assert!(
        replies(&sent)
            .iter()
            .any(|r| r.id == rid(KEY, &origin) && r.seq == SEQ_FIRST),
        "Y's answer is acknowledged"
    );
    // Y holds the larger now: once acknowledged, nothing is left to send or ask.
    b.deliver(Body::CsuReply {
        records: vec![csas(KEY, &origin, SEQ_FIRST)],
    });
    let _ = b.sent();
    assert_eq!(b.ca_state(), CaState::Aligned);
}
