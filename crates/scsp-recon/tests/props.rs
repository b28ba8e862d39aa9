//! Property tests: for any two sets and any number of differences, reconciliation yields exactly
//! the symmetric difference, or reports failure (and both ends fall back to RFC 2334 Cache
//! Alignment); never a wrong difference.

use proptest::prelude::*;
use scsp_recon::{Decoder, Encoder, Instance, Key, Message, Outcome, Prefix, Receiver, Streamer};
use std::collections::{BTreeSet, HashMap};

type Inst = (Vec<u8>, Vec<u8>, u32);

fn view(i: &Inst) -> Instance<'_> {
    Instance {
        cache_key: &i.0,
        originator: &i.1,
        seq: i.2,
    }
}

fn prefix(key: Key, cells: usize, set: &BTreeSet<Inst>) -> (Prefix<u32>, HashMap<u64, Inst>) {
    let mut p = Prefix::new(key, cells);
    let mut by_symbol = HashMap::new();
    for (h, i) in set.iter().enumerate() {
        let s = p.insert(&view(i), h as u32).expect("distinct symbols");
        by_symbol.insert(s, i.clone());
    }
    (p, by_symbol)
}

/// Runs the two ends over a channel that loses the `drop_nth` message (if any, either way), with
/// a timeout at the slave when nothing is in flight.
fn reconcile(
    pa: &Prefix<u32>,
    pb: &Prefix<u32>,
    mtu: usize,
    budget: u32,
    drop_nth: Option<usize>,
) -> (Option<Outcome>, Option<Outcome>) {
    let mut master = Streamer::new(Encoder::new(pa), mtu);
    let mut slave = Receiver::new(Decoder::new(pb, budget), mtu, 16);
    let mut to_master = vec![slave.start()];
    let mut sent = 0;
    for _ in 0..10_000 {
        if to_master.is_empty() {
            if master.outcome().is_some() && slave.outcome().is_some() {
                break;
            }
            to_master = slave.on_timeout();
        }
        let mut to_slave = Vec::new();
        for m in to_master.drain(..) {
            sent += 1;
            if Some(sent) == drop_nth {
                continue;
            }
            // Every message survives its encoding.
            let m2 = Message::decode(&m.to_bytes()).expect("decodes");
            assert_eq!(m, m2);
            to_slave.extend(master.on_message(&m2));
        }
        for m in &to_slave {
            sent += 1;
            if Some(sent) == drop_nth {
                continue;
            }
            to_master.extend(slave.on_message(m));
        }
    }
    (master.outcome().cloned(), slave.outcome().cloned())
}

fn instance() -> impl Strategy<Value = Inst> {
    (
        proptest::collection::vec(any::<u8>(), 1..6),
        proptest::collection::vec(any::<u8>(), 4..5),
        any::<u32>(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn decodes_the_symmetric_difference_or_falls_back(
        common in proptest::collection::btree_set(instance(), 0..300),
        only_a in proptest::collection::btree_set(instance(), 0..60),
        only_b in proptest::collection::btree_set(instance(), 0..60),
        key in any::<[u8; 16]>(),
        cells in 1usize..400,
        mtu in prop_oneof![Just(100usize), Just(1472), Just(65000)],
        drop_nth in proptest::option::of(1usize..12),
    ) {
        let key = Key(key);
        let a: BTreeSet<Inst> = common.union(&only_a).cloned().collect();
        let b: BTreeSet<Inst> = common.union(&only_b).cloned().collect();
        let (pa, sym_a) = prefix(key, cells, &a);
        let (pb, sym_b) = prefix(key, cells, &b);
        let want_a: BTreeSet<&Inst> = a.difference(&b).collect();
        let want_b: BTreeSet<&Inst> = b.difference(&a).collect();
        let (m, s) = reconcile(&pa, &pb, mtu, cells as u32, drop_nth);
        match (m, s) {
            (Some(Outcome::Decoded { ours: m_ours, .. }), Some(Outcome::Decoded { ours, theirs })) => {
                let got_b: BTreeSet<&Inst> = ours.iter().map(|s| &sym_b[s]).collect();
                let got_a: BTreeSet<&Inst> = theirs.iter().map(|s| &sym_a[s]).collect();
                let got_m: BTreeSet<&Inst> = m_ours.iter().map(|s| &sym_a[s]).collect();
                prop_assert_eq!(&got_b, &want_b);
                prop_assert_eq!(&got_a, &want_a);
                prop_assert_eq!(&got_m, &want_a);
                prop_assert_eq!(ours.len() + theirs.len(), want_a.len() + want_b.len());
            }
            (Some(Outcome::Fallback(x)), Some(Outcome::Fallback(y))) => {
                prop_assert_eq!(x, y);
                prop_assert!(x != scsp_recon::Status::Decoded);
            }
            other => prop_assert!(false, "ends disagree or unfinished: {:?}", other),
        }
    }

    /// Enough cells decode: 1,024 cells for at most 80 differences (about 1.35-1.7 cells per
    /// difference are needed on average; two symbols share all their cells below 1,024 with
    /// negligible probability, whereas below 24 they do about once in a thousand pairs).
    #[test]
    fn enough_cells_decode(
        common in proptest::collection::btree_set(instance(), 0..200),
        only_a in proptest::collection::btree_set(instance(), 0..40),
        only_b in proptest::collection::btree_set(instance(), 0..40),
        key in any::<[u8; 16]>(),
    ) {
        let key = Key(key);
        let a: BTreeSet<Inst> = common.union(&only_a).cloned().collect();
        let b: BTreeSet<Inst> = common.union(&only_b).cloned().collect();
        let k = a.symmetric_difference(&b).count();
        let cells = 1024;
        let (pa, _) = prefix(key, cells, &a);
        let (pb, _) = prefix(key, cells, &b);
        let (_, s) = reconcile(&pa, &pb, 1472, cells as u32, None);
        match s {
            Some(Outcome::Decoded { ours, theirs }) => prop_assert_eq!(ours.len() + theirs.len(), k),
            other => prop_assert!(false, "{:?}", other),
        }
    }

    /// Kept incrementally: a set built by inserting and removing in any order has the same cells
    /// as the same set built from scratch.
    #[test]
    fn incremental_cells_equal_a_fresh_build(
        ops in proptest::collection::vec((instance(), any::<bool>()), 0..200),
        key in any::<[u8; 16]>(),
    ) {
        let key = Key(key);
        let mut p: Prefix<u32> = Prefix::new(key, 64);
        let mut set = BTreeSet::new();
        for (i, insert) in ops {
            if insert {
                if set.insert(i.clone()) {
                    p.insert(&view(&i), 0).unwrap();
                } else {
                    prop_assert!(p.insert(&view(&i), 0).is_err());
                }
            } else if set.remove(&i) {
                p.remove(&view(&i)).unwrap();
            } else {
                prop_assert!(p.remove(&view(&i)).is_err());
            }
        }
        let (fresh, _) = prefix(key, 64, &set);
        prop_assert_eq!(p.cells(), fresh.cells());
        prop_assert_eq!(p.len(), set.len());
    }

    /// Lazy insertions and removals, flushed (side by side, in lanes), give the cells of the
    /// same changes applied one by one, with as many cells as a real configuration's.
    #[test]
    fn lazy_changes_flushed_equal_eager_ones(
        ops in proptest::collection::vec((instance(), any::<bool>()), 0..300),
        key in any::<[u8; 16]>(),
        cells in prop_oneof![Just(1usize), Just(64), Just(32_768)],
    ) {
        let key = Key(key);
        let mut eager: Prefix<u32> = Prefix::new(key, cells);
        let mut lazy: Prefix<u32> = Prefix::new(key, cells);
        for (i, insert) in ops {
            let s = key.symbol(&view(&i));
            if insert {
                prop_assert_eq!(eager.insert_symbol(s, 0).is_ok(), lazy.insert_symbol_lazy(s, 0).is_ok());
            } else {
                prop_assert_eq!(eager.remove_symbol(s).is_ok(), lazy.remove_symbol_lazy(s).is_ok());
            }
        }
        lazy.flush();
        prop_assert_eq!(eager.cells(), lazy.cells());
        prop_assert_eq!(eager.len(), lazy.len());
    }

    /// Any octets: decoding a message never panics, and what decodes encodes back the same.
    #[test]
    fn wire_decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        if let Ok(m) = Message::decode(&bytes) {
            let again = Message::decode(&m.to_bytes()).unwrap();
            prop_assert_eq!(m, again);
        }
    }
}

#[test]
fn budget_too_small_falls_back_on_both_ends() {
    let key = Key([3; 16]);
    let a: BTreeSet<Inst> = (0..500u32)
        .map(|i| (i.to_be_bytes().to_vec(), vec![1, 2, 3, 4], 1))
        .collect();
    let b: BTreeSet<Inst> = (250..800u32)
        .map(|i| (i.to_be_bytes().to_vec(), vec![1, 2, 3, 4], 1))
        .collect();
    let (pa, _) = prefix(key, 100, &a);
    let (pb, _) = prefix(key, 100, &b);
    let (m, s) = reconcile(&pa, &pb, 1472, 100, None);
    assert!(matches!(m, Some(Outcome::Fallback(_))), "{m:?}");
    assert_eq!(m, s);
}

#[test]
fn size_difference_beyond_the_budget_fails_at_cell_0() {
    let key = Key([5; 16]);
    let a: BTreeSet<Inst> = (0..1000u32)
        .map(|i| (i.to_be_bytes().to_vec(), vec![9; 4], 7))
        .collect();
    let b = BTreeSet::new();
    let (pa, _) = prefix(key, 256, &a);
    let (pb, _) = prefix(key, 256, &b);
    let mut d = Decoder::new(&pb, 256);
    let e = Encoder::new(&pa);
    assert_eq!(
        d.receive(0, e.cells(0, 1)),
        Err(scsp_recon::DecodeFailure::TooMany(1000))
    );
}

fn any_message() -> impl Strategy<Value = Message> {
    let cell = (any::<u64>(), any::<u64>(), any::<u32>()).prop_map(|(sum, checksum, count)| {
        scsp_recon::Cell {
            sum,
            checksum,
            count,
        }
    });
    prop_oneof![
        (0u32..80, proptest::collection::vec(cell, 0..40))
            .prop_map(|(start, cells)| Message::Cells { start, cells }),
        (any::<u32>(), any::<u32>()).prop_map(|(next, window)| Message::Request { next, window }),
        (
            0u32..4,
            any::<u32>(),
            any::<u32>(),
            proptest::collection::vec(any::<u64>(), 0..10)
        )
            .prop_map(|(st, offset, total, symbols)| Message::Result {
                status: [
                    scsp_recon::Status::Decoded,
                    scsp_recon::Status::Budget,
                    scsp_recon::Status::TooMany,
                    scsp_recon::Status::Error
                ][st as usize],
                offset,
                total,
                symbols,
            }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Whatever a peer sends, neither end panics, and what they hold stays bounded by the cells:
    /// a decoded difference has no more symbols than the budget.
    #[test]
    fn any_messages_from_a_peer(msgs in proptest::collection::vec(any_message(), 0..30)) {
        let key = Key([4; 16]);
        let set: BTreeSet<Inst> = (0..50u32).map(|i| (i.to_be_bytes().to_vec(), vec![1; 4], i)).collect();
        let (p, _) = prefix(key, 64, &set);
        let mut slave = Receiver::new(Decoder::new(&p, 64), 1472, 16);
        let mut master = Streamer::new(Encoder::new(&p), 1472);
        let _ = slave.start();
        for m in &msgs {
            for out in slave.on_message(m) {
                prop_assert!(out.to_bytes().len() + scsp_recon::wire::CA_CARRIER_LEN <= 1472);
            }
            let sent: usize = master.on_message(m).iter().map(|o| match o {
                Message::Cells { cells, .. } => cells.len(),
                _ => 0,
            }).sum();
            prop_assert!(sent <= 64);
        }
        if let Some(Outcome::Decoded { ours, theirs }) = slave.outcome() {
            prop_assert!(ours.len() + theirs.len() <= 64);
        }
        if let Some(Outcome::Decoded { ours, .. }) = master.outcome() {
            prop_assert!(ours.len() <= 64);
        }
    }
}
