//! Re-alignment by set reconciliation (docs/reconciliation.md) between two servers: negotiated in
//! the Hellos, used only when both advertise it, falling back to RFC 2334 Cache Alignment.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{PID, SGID, data, id4};
use proptest::prelude::*;
use scsp_core::{CaState, DcsConfig, DcsId, ReconStats, Server, ServerConfig, Time};

/// Two servers, 10.0.0.2 (master) and 10.0.0.1 (slave), on one link.
struct Pair {
    s: [Server; 2],
    to: [DcsId; 2],
    now: Time,
    up: bool,
    /// Bytes carried while the link was up.
    bytes: u64,
    /// Drop every `lose`-th packet (0: none).
    lose: u64,
    sent: u64,
    /// Counters when the link last came back ([`Pair::stats`] gives what came after).
    before: [ReconStats; 2],
    /// Drop this many CSU Requests without records (the bulk path's end marker) sent by the
    /// slave.
    drop_ends: u32,
    /// Once server `.0` has taken `.1` entries of a stream, each server originates its keys
    /// here (changes made while the stream runs).
    inject: Option<(usize, u64, [Vec<u32>; 2])>,
    /// The counters of both when the changes were made.
    injected: Option<[ReconStats; 2]>,
}

fn config(me: u8, reconcile: bool, cells: u32) -> ServerConfig {
    let mut c = ServerConfig::new(PID, SGID, id4(me));
    c.reconcile = reconcile;
    c.recon_key = [me; 16];
    c.recon_cells = cells;
    c.hash_seed = u64::from(me);
    // As the daemon and the simulator do (from the clock): numbers above any earlier incarnation's.
    c.seq_floor = 0x8000_1000;
    c
}

fn dcs_config(other: u8) -> DcsConfig {
    let mut cfg = DcsConfig::new(id4(other));
    cfg.hello_interval = 1;
    cfg.dead_factor = 3;
    cfg.ca_rexmit = Duration::from_millis(200);
    cfg.csus_rexmit = Duration::from_millis(200);
    cfg.csu_rexmit = Duration::from_millis(200);
    cfg
}

impl Pair {
    fn new(a: ServerConfig, b: ServerConfig) -> Self {
        Pair::new_with(a, b, dcs_config)
    }

    /// As [`Pair::new`], each server's DCS configured by `dcs` (given the DCS's last octet).
    fn new_with(a: ServerConfig, b: ServerConfig, dcs: impl Fn(u8) -> DcsConfig) -> Self {
        let now = Time::from_millis(1_000_000);
        let mut s = [Server::new(a), Server::new(b)];
        let mut to = [DcsId(0); 2];
        for (i, other) in [(0usize, 1u8), (1, 2)] {
            to[i] = s[i].add_dcs(now, dcs(other));
        }
        Pair {
            s,
            to,
            now,
            up: false,
            bytes: 0,
            lose: 0,
            sent: 0,
            before: [ReconStats::default(); 2],
            drop_ends: 0,
            inject: None,
            injected: None,
        }
    }

    fn link(&mut self, up: bool) {
        self.up = up;
        for i in 0..2 {
            if up {
                self.s[i].link_up(self.now, self.to[i]);
            } else {
                self.s[i].link_down(self.now, self.to[i]);
            }
        }
        self.run(Duration::ZERO);
    }

    /// Deliver packets and fire timers for `span` of simulated time (and until quiet).
    fn run(&mut self, span: Duration) {
        let end = self.now + span;
        loop {
            let mut moved = false;
            for i in 0..2 {
                while let Some(t) = self.s[i].poll_transmit() {
                    moved = true;
                    if !self.up {
                        continue;
                    }
                    self.sent += 1;
                    if self.lose > 0 && self.sent.is_multiple_of(self.lose) {
                        continue;
                    }
                    if i == 1
                        && self.drop_ends > 0
                        && scsp_core::wire::decode(&t.bytes).is_ok_and(|p| {
                            matches!(p.body, scsp_core::wire::Body::CsuRequest { ref records } if records.is_empty())
                        })
                    {
                        self.drop_ends -= 1;
                        continue;
                    }
                    self.bytes += t.bytes.len() as u64;
                    let j = 1 - i;
                    self.s[j].handle_datagram(self.now, self.to[j], &t.bytes);
                    if let Some((l, n, _)) = self.inject
                        && self.stats(l).bulk_entries >= n
                        && let Some((_, _, keys)) = self.inject.take()
                    {
                        self.injected = Some([self.stats(0), self.stats(1)]);
                        for (k, keys) in keys.into_iter().enumerate() {
                            self.originate(k, keys, 9);
                        }
                    }
                }
                while self.s[i].poll_event().is_some() {}
            }
            if moved {
                continue;
            }
            let next = self
                .s
                .iter_mut()
                .filter_map(|s| s.poll_timeout())
                .min()
                .map_or(end, |t| t.max(self.now));
            if next > end {
                self.now = end;
                return;
            }
            self.now = next;
            for s in &mut self.s {
                s.handle_timeout(self.now);
            }
        }
    }

    fn aligned(&self) -> bool {
        (0..2).all(|i| {
            self.s[i]
                .dcs_info(self.to[i])
                .is_some_and(|d| d.ca.state == CaState::Aligned)
        })
    }

    /// Run until both are Aligned (at most a minute of simulated time).
    fn align(&mut self) {
        for _ in 0..600 {
            self.run(Duration::from_millis(100));
            if self.aligned() && self.s.iter_mut().all(|s| !s.has_work()) {
                self.run(Duration::from_millis(300));
                return;
            }
        }
        panic!("not aligned");
    }

    fn instances(&self, i: usize) -> BTreeSet<(Vec<u8>, Vec<u8>, u32)> {
        self.s[i]
            .cache()
            .iter()
            .map(|(id, e)| {
                (
                    id.key.as_bytes().to_vec(),
                    id.origin.as_bytes().to_vec(),
                    e.seq,
                )
            })
            .collect()
    }

    /// Every entry of server `i`: identity, number and data.
    fn data(&self, i: usize) -> BTreeSet<(scsp_core::wire::RecordId, u32, Vec<u8>)> {
        self.s[i]
            .cache()
            .iter()
            .map(|(id, e)| (id.clone(), e.seq, e.data.to_vec()))
            .collect()
    }

    /// The reconciliation counters of server `i` since the link last came back.
    fn stats(&self, i: usize) -> ReconStats {
        let now = self.s[i].recon_stats(self.to[i]).expect("dcs");
        let b = self.before[i];
        ReconStats {
            decoded: now.decoded - b.decoded,
            fallbacks: now.fallbacks - b.fallbacks,
            cells: now.cells - b.cells,
            found: now.found - b.found,
            bulk: now.bulk - b.bulk,
            bulk_entries: now.bulk_entries - b.bulk_entries,
            bulk_rexmits: now.bulk_rexmits - b.bulk_rexmits,
            bulk_clean: now.bulk_clean - b.bulk_clean,
        }
    }

    fn originate(&mut self, i: usize, keys: impl IntoIterator<Item = u32>, tag: u8) {
        for k in keys {
            self.s[i]
                .originate(self.now, &k.to_be_bytes(), data(&[tag, 1, 2, 3]))
                .expect("originated");
        }
    }
}

/// Both hold `base` entries each (aligned), then, apart, change `apart` entries each; then the
/// link comes back. Returns the instances that differed when it came back.
fn realign(pair: &mut Pair, base: u32, apart: (u32, u32)) -> usize {
    // Aligned once empty: numbers from the floor, not -2^31+1 (see `unconfirmed_first_numbers`).
    pair.link(true);
    pair.align();
    pair.originate(0, 0..base, 0);
    pair.originate(1, 1_000_000..1_000_000 + base, 0);
    // Flooded (with retransmissions under loss).
    for _ in 0..600 {
        if pair.instances(0) == pair.instances(1) {
            break;
        }
        pair.run(Duration::from_millis(100));
    }
    pair.align();
    assert!(pair.instances(0) == pair.instances(1), "not flooded");
    pair.link(false);
    // Changes of entries held (a newer instance on one side) and new entries.
    pair.originate(0, (0..apart.0).map(|k| k * 7 % base.max(1)), 1);
    pair.originate(0, 500_000..500_000 + apart.0, 1);
    pair.originate(1, 2_000_000..2_000_000 + apart.1, 1);
    let (a, b) = (pair.instances(0), pair.instances(1));
    let differ = a.symmetric_difference(&b).count();
    pair.bytes = 0;
    for i in 0..2 {
        pair.before[i] = pair.s[i].recon_stats(pair.to[i]).expect("dcs");
    }
    pair.link(true);
    pair.align();
    assert_eq!(
        pair.instances(0),
        pair.instances(1),
        "caches differ after alignment"
    );
    differ
}

#[test]
fn rfc_2_2_reconciliation_aligns_two_servers_whose_caches_differ() {
    let mut pair = Pair::new(config(2, true, 32_768), config(1, true, 32_768));
    let differ = realign(&mut pair, 2_000, (30, 20));
    let (master, slave) = (pair.stats(0), pair.stats(1));
    assert_eq!(
        master.fallbacks + slave.fallbacks,
        0,
        "{master:?} {slave:?}"
    );
    assert!(slave.decoded >= 1 && master.decoded >= 1);
    assert_eq!(slave.found as usize, differ);
    assert!(slave.cells > 0 && slave.cells < 1_000, "{slave:?}");
    // The RFC summary exchange alone would carry 2 x 4,080 CSAS records (20 octets each).
    assert!(pair.bytes < 40_000, "{} bytes", pair.bytes);
}

#[test]
fn rfc_2_2_reconciliation_survives_loss() {
    let mut pair = Pair::new(config(2, true, 32_768), config(1, true, 32_768));
    pair.lose = 7;
    realign(&mut pair, 500, (10, 10));
    assert!(pair.stats(1).decoded + pair.stats(1).fallbacks >= 1);
}

#[test]
fn rfc_2_2_peer_without_the_extension_aligns_by_rfc_cache_alignment() {
    for (a, b) in [(true, false), (false, true)] {
        let mut pair = Pair::new(config(2, a, 32_768), config(1, b, 32_768));
        realign(&mut pair, 1_000, (10, 10));
        for i in 0..2 {
            assert_eq!(pair.stats(i), ReconStats::default());
        }
        // The full summary exchange: at least one CSAS record per entry each way.
        assert!(pair.bytes > 2 * 2_000 * 20, "{} bytes", pair.bytes);
    }
}

#[test]
fn rfc_2_2_decode_failure_within_the_budget_falls_back_to_rfc_cache_alignment() {
    // 64 cells cannot decode ~300 differences: the slave says so and both summarize in full.
    let mut pair = Pair::new(config(2, true, 64), config(1, true, 64));
    realign(&mut pair, 1_000, (150, 150));
    assert_eq!(pair.stats(1).decoded, 0);
    assert!(pair.stats(1).fallbacks >= 1 && pair.stats(0).fallbacks >= 1);
    assert!(pair.bytes > 2 * 2_000 * 20, "{} bytes", pair.bytes);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// For any two caches and budget: the reconciliation finds exactly the symmetric difference,
    /// or falls back, or (one side far behind) takes the bulk path; the caches end equal.
    #[test]
    fn rfc_2_2_reconciliation_finds_the_symmetric_difference_or_falls_back(
        base in 0u32..400,
        a in 0u32..120,
        b in 0u32..120,
        cells in prop::sample::select(vec![16u32, 128, 512, 4096]),
        lose in prop::sample::select(vec![0u64, 5]),
    ) {
        let mut pair = Pair::new(config(2, true, cells), config(1, true, cells));
        pair.lose = lose;
        let differ = realign(&mut pair, base, (a, b));
        let slave = pair.stats(1);
        prop_assert!(slave.decoded + slave.fallbacks >= 1);
        // (A side far behind takes the bulk path: what differs is streamed, not found.)
        if slave.fallbacks == 0 && slave.bulk == 0 {
            prop_assert_eq!(slave.found as usize, differ);
        }
    }
}

/// B.2.0.2's equal numbers: a server that lost its state numbers an entry -2^31+1 again, with
/// other data, before any alignment; its DCS holds the earlier instance under that number. The
/// reconciliation sees one instance on both sides, so the entry enters the cells under a symbol of
/// its own and is compared as the full summary exchange compares it (docs/reconciliation.md §6).
#[test]
fn b_2_0_2_equal_numbers_after_a_loss_of_state_are_compared() {
    for fresh in [0usize, 1] {
        let mut pair = Pair::new(config(2, true, 32_768), config(1, true, 32_768));
        let mut cfg = config(if fresh == 0 { 2 } else { 1 }, true, 32_768);
        cfg.seq_floor = scsp_core::wire::SEQ_FIRST;
        pair.s[fresh] = Server::new(cfg.clone());
        let peer = pair.s[fresh].add_dcs(pair.now, dcs_config(if fresh == 0 { 1 } else { 2 }));
        pair.to[fresh] = peer;
        pair.originate(fresh, [7], 1);
        pair.link(true);
        pair.align();
        // The server loses its state and comes back with the entry's other data.
        pair.link(false);
        pair.s[fresh] = Server::new(cfg);
        pair.to[fresh] =
            pair.s[fresh].add_dcs(pair.now, dcs_config(if fresh == 0 { 1 } else { 2 }));
        pair.originate(fresh, [7], 2);
        pair.before = [ReconStats::default(); 2];
        pair.link(true);
        pair.align();
        let data = |i: usize| {
            pair.s[i]
                .cache()
                .iter()
                .map(|(_, e)| (e.seq, e.data.to_vec()))
                .collect::<Vec<_>>()
        };
        assert_eq!(data(0), data(1), "server {fresh} restarted");
        assert_eq!(data(0)[0].1, vec![2, 1, 2, 3], "the new data wins");
        assert!(pair.stats(0).decoded + pair.stats(1).decoded >= 1);
    }
}

/// The master holds `held` entries, the slave `own` of its own (none: an empty learner); the link
/// comes up with every `lose`-th packet lost. Both end with the union, by the bulk path.
fn learn(held: u32, own: u32, lose: u64) -> Pair {
    learn_from(0, held, own, lose, true)
}

/// As [`learn`], the entries held by server `holder` (0: the master, 1: the slave), the other a
/// new server; `aligned_before`: the holder was aligned once before it originated (its numbers
/// are then from the floor; otherwise -2^31+1, unconfirmed until a DCS shows them).
fn learn_from(holder: usize, held: u32, own: u32, lose: u64, aligned_before: bool) -> Pair {
    learn_with(holder, held, own, lose, aligned_before, 0)
}

/// As [`learn_from`], the slave's first `drop_ends` end markers lost.
fn learn_with(
    holder: usize,
    held: u32,
    own: u32,
    lose: u64,
    aligned_before: bool,
    drop_ends: u32,
) -> Pair {
    let ids = [2u8, 1];
    let mut pair = Pair::new(config(2, true, 1_024), config(1, true, 1_024));
    if aligned_before {
        pair.link(true);
        pair.align();
        pair.link(false);
    }
    pair.originate(holder, 0..held, 0);
    // The learner: a new server (empty, or with entries of its own).
    let l = 1 - holder;
    pair.s[l] = Server::new(config(ids[l], true, 1_024));
    pair.to[l] = pair.s[l].add_dcs(pair.now, dcs_config(ids[holder]));
    pair.before[l] = ReconStats::default();
    pair.before[holder] = pair.s[holder].recon_stats(pair.to[holder]).expect("dcs");
    pair.originate(l, 5_000_000..5_000_000 + own, 0);
    let want: BTreeSet<_> = pair
        .instances(0)
        .union(&pair.instances(1))
        .cloned()
        .collect();
    pair.lose = lose;
    pair.drop_ends = drop_ends;
    pair.link(true);
    pair.align();
    assert_eq!(pair.instances(holder), want, "the holder lacks entries");
    assert_eq!(pair.instances(l), want, "the learner lacks entries");
    // The same instances, and the same data.
    assert_eq!(pair.data(0), pair.data(1));
    pair
}

#[test]
fn recon_8_empty_learner_takes_the_bulk_path_and_ends_aligned() {
    let pair = learn(5_000, 0, 0);
    let (master, slave) = (pair.stats(0), pair.stats(1));
    assert_eq!((master.bulk, slave.bulk), (1, 1), "{master:?} {slave:?}");
    assert_eq!(master.bulk_entries, 5_000, "{master:?}");
    assert_eq!(slave.bulk_entries, 5_000, "{slave:?}");
    assert_eq!(master.bulk_rexmits, 0);
    // The learner was empty and stored every record, every position carried its record:
    // nothing is left to reconcile, and both go to phase 2 at once (no cells after the stream).
    assert_eq!(
        (master.bulk_clean, slave.bulk_clean),
        (1, 1),
        "{master:?} {slave:?}"
    );
    assert_eq!(master.fallbacks + slave.fallbacks, 0);
    // No summary of 5,000 records each way, no solicitation: about one copy of every entry.
    assert!(pair.bytes < 5_000 * 60, "{} bytes", pair.bytes);
}

#[test]
fn recon_8_holder_that_never_aligned_confirms_what_it_streamed() {
    // The master's entries are numbered -2^31+1 and unconfirmed: once streamed, the learner holds
    // them, and they are confirmed; nothing is left to reconcile.
    let mut pair = learn_from(0, 3_000, 0, 0, false);
    let (master, slave) = (pair.stats(0), pair.stats(1));
    assert_eq!((master.bulk, slave.bulk), (1, 1), "{master:?} {slave:?}");
    assert_eq!(slave.fallbacks, 0, "{slave:?}");
    assert_eq!(
        (master.bulk_clean, slave.bulk_clean),
        (1, 1),
        "{master:?} {slave:?}"
    );
    // Confirmed: the next reconciliation (a few changes apart) decodes instead of seeing the
    // 3,000 entries as differences.
    pair.link(false);
    pair.originate(1, 7_000_000..7_000_010, 3);
    for i in 0..2 {
        pair.before[i] = pair.s[i].recon_stats(pair.to[i]).expect("dcs");
    }
    pair.link(true);
    pair.align();
    assert_eq!(pair.instances(0), pair.instances(1));
    let slave = pair.stats(1);
    assert_eq!(
        (slave.decoded, slave.fallbacks, slave.found),
        (1, 0, 10),
        "{slave:?}"
    );
}

#[test]
fn recon_8_bulk_path_survives_loss_of_packets_and_acks() {
    for lose in [3, 7, 20] {
        let pair = learn(4_000, 0, lose);
        let (master, slave) = (pair.stats(0), pair.stats(1));
        assert!(
            master.bulk >= 1 && slave.bulk >= 1,
            "lose {lose}: {master:?}"
        );
        assert!(master.bulk_rexmits >= 1, "lose {lose}: {master:?}");
    }
}

#[test]
fn recon_8_far_behind_learner_with_entries_of_its_own_ends_with_the_union() {
    for lose in [0, 9] {
        let pair = learn(3_000, 200, lose);
        let (master, slave) = (pair.stats(0), pair.stats(1));
        assert!(master.bulk >= 1 && slave.bulk >= 1, "{master:?} {slave:?}");
        // Not clean (it held entries): the reconciliation after the stream finds its 200.
        assert_eq!(
            master.bulk_clean + slave.bulk_clean,
            0,
            "{master:?} {slave:?}"
        );
        assert!(slave.decoded >= 1 && slave.found >= 200, "{slave:?}");
    }
}

#[test]
fn recon_8_slave_far_ahead_streams_to_an_empty_master() {
    // The slave holds the entries, the master is new: the slave offers, the master learns.
    for (lose, aligned_before, own) in [(0, true, 0), (5, true, 0), (0, false, 0), (11, true, 150)]
    {
        let pair = learn_from(1, 4_000, own, lose, aligned_before);
        let (master, slave) = (pair.stats(0), pair.stats(1));
        assert!(master.bulk >= 1 && slave.bulk >= 1, "{master:?} {slave:?}");
        if lose == 0 {
            assert_eq!(slave.bulk_entries, 4_000, "{slave:?}");
            assert_eq!(master.bulk_entries, 4_000, "{master:?}");
            assert_eq!(
                slave.fallbacks + master.fallbacks,
                0,
                "{master:?} {slave:?}"
            );
        }
    }
}

#[test]
fn recon_8_slave_holder_sends_the_end_again_until_the_master_has_it() {
    // The master, learner, acknowledges every entry but lacks the end marker: the slave keeps
    // sending it (the master's next CA, which ends the stream, waits for it).
    for drops in [1, 3] {
        let pair = learn_with(1, 2_000, 0, 0, true, drops);
        assert_eq!(pair.drop_ends, 0, "end markers sent: fewer than {drops}");
        assert!(pair.stats(1).bulk_rexmits >= 1, "{:?}", pair.stats(1));
    }
}

#[test]
fn recon_8_no_bulk_path_without_the_extension_on_both() {
    // A learner without the extension: RFC Cache Alignment, no stream.
    let mut pair = Pair::new(config(2, true, 1_024), config(1, false, 1_024));
    pair.originate(0, 0..3_000, 0);
    pair.link(true);
    pair.align();
    assert_eq!(pair.instances(0), pair.instances(1));
    assert_eq!(pair.stats(0).bulk, 0);
}

#[test]
fn recon_8_cells_rebuilt_after_a_whole_cache_of_changes_serve_the_next_reconciliation() {
    // More than 4,096 changes at once, at least half the cache (the holder confirming every
    // entry it streamed, a learner's marks at the end of a stream): the cells of every key are
    // rebuilt by a pass over the cache, in batches between packets. A later reconciliation with
    // changes on both sides decodes.
    for holder in [0, 1] {
        let mut pair = learn_from(holder, 6_000, 0, 0, false);
        let s = pair.stats(1);
        assert_eq!(s.fallbacks + pair.stats(0).fallbacks, 0, "holder {holder}");
        assert_eq!(s.bulk_clean, 1, "holder {holder}: {s:?}");
        pair.link(false);
        pair.originate(0, (0..40).map(|k| k * 13), 7);
        pair.originate(1, 9_000_000..9_000_030, 7);
        for i in 0..2 {
            pair.before[i] = pair.s[i].recon_stats(pair.to[i]).expect("dcs");
        }
        pair.link(true);
        pair.align();
        assert_eq!(pair.instances(0), pair.instances(1), "holder {holder}");
        let (master, slave) = (pair.stats(0), pair.stats(1));
        assert_eq!(
            master.fallbacks + slave.fallbacks,
            0,
            "{master:?} {slave:?}"
        );
        assert_eq!(master.bulk + slave.bulk, 0, "{master:?} {slave:?}");
        assert!(slave.decoded >= 1 && slave.found >= 70, "{slave:?}");
    }
}

#[test]
fn recon_8_changes_on_both_sides_while_the_stream_runs_reach_the_other_side() {
    // The stream skips the reconciliation after it (the learner was empty): what changes on
    // either side while it runs (new entries, and entries of the stream replaced on the holder)
    // goes at Update Cache, as every change during Cache Summarize does.
    for (holder, at) in [(0, 1), (0, 2_000), (1, 1), (1, 2_000)] {
        let ids = [2u8, 1];
        let mut pair = Pair::new(config(2, true, 1_024), config(1, true, 1_024));
        pair.link(true);
        pair.align();
        pair.link(false);
        pair.originate(holder, 0..4_000, 0);
        let l = 1 - holder;
        pair.s[l] = Server::new(config(ids[l], true, 1_024));
        pair.to[l] = pair.s[l].add_dcs(pair.now, dcs_config(ids[holder]));
        pair.before[l] = ReconStats::default();
        pair.before[holder] = pair.s[holder].recon_stats(pair.to[holder]).expect("dcs");
        let mut keys: [Vec<u32>; 2] = Default::default();
        // The holder: new keys, and keys it streams (or streamed) replaced.
        keys[holder] = (10_000..10_020).chain((0..4_000).step_by(400)).collect();
        // The learner: new keys of its own.
        keys[l] = (20_000..20_015).collect();
        pair.inject = Some((l, at, keys));
        pair.link(true);
        pair.align();
        let then = pair.injected.expect("the changes were made");
        // Made while the stream ran.
        assert_eq!(then[holder].bulk, 1, "holder {holder} at {at}: {then:?}");
        assert!(
            then[l].bulk_entries < 4_000,
            "holder {holder} at {at}: {then:?}"
        );
        let (a, b) = (pair.stats(0), pair.stats(1));
        assert!(
            a.bulk == 1 && b.bulk == 1,
            "holder {holder} at {at}: {a:?} {b:?}"
        );
        // Nothing left to reconcile after the stream: the changes went at Update Cache.
        assert_eq!(
            (a.bulk_clean, b.bulk_clean),
            (1, 1),
            "holder {holder} at {at}"
        );
        assert_eq!(
            pair.data(0),
            pair.data(1),
            "holder {holder} at {at}: {a:?} {b:?}"
        );
        assert_eq!(
            pair.data(0).len(),
            4_000 + 20 + 15,
            "holder {holder} at {at}"
        );
        // The replaced entries hold the new data (tag 9) on both.
        let replaced = pair
            .data(l)
            .iter()
            .filter(|(_, _, d)| d.first() == Some(&9))
            .count();
        assert_eq!(replaced, 20 + 10 + 15, "holder {holder} at {at}");
    }
}

#[test]
fn recon_8_record_too_long_to_share_a_bulk_packet_is_found_after_the_stream() {
    // With authentication, a record of the largest size leaves no room for the Bulk message: it
    // is a position without a record, the end marker does not say the stream is whole, and the
    // reconciliation after the stream finds and fetches it.
    let auth = |other: u8| {
        let mut d = dcs_config(other);
        let key = scsp_core::wire::AuthKey {
            spi: 7,
            algorithm: scsp_core::wire::AuthAlgorithm::HmacSha256,
            key: b"a key shared by the two servers".to_vec(),
        };
        d.auth_send = Some(key.clone());
        d.auth_recv = vec![key];
        d
    };
    let small = |me: u8| {
        let mut c = config(me, true, 1_024);
        c.max_packet = 1_000;
        // Replay protection on (a nonce): its extension rides in every packet too.
        c.replay_nonce = 0x1000 + u64::from(me);
        c
    };
    for holder in [0usize, 1] {
        let ids = [2u8, 1];
        let mut pair = Pair::new_with(small(2), small(1), auth);
        pair.link(true);
        pair.align();
        pair.link(false);
        pair.originate(holder, 0..2_000, 0);
        // The longest data the holder takes.
        let mut len = 1_000;
        while pair.s[holder]
            .originate(pair.now, b"big", data(&vec![5u8; len]))
            .is_err()
        {
            len -= 1;
        }
        assert!(len > 800, "{len}");
        let l = 1 - holder;
        pair.s[l] = Server::new(small(ids[l]));
        pair.to[l] = pair.s[l].add_dcs(pair.now, auth(ids[holder]));
        pair.before[l] = ReconStats::default();
        pair.before[holder] = pair.s[holder].recon_stats(pair.to[holder]).expect("dcs");
        pair.link(true);
        pair.align();
        let (a, b) = (pair.stats(0), pair.stats(1));
        assert!(a.bulk == 1 && b.bulk == 1, "holder {holder}: {a:?} {b:?}");
        assert_eq!(
            a.bulk_clean + b.bulk_clean,
            0,
            "holder {holder}: {a:?} {b:?}"
        );
        assert_eq!(pair.stats(holder).bulk_entries, 2_000, "holder {holder}");
        // Found by the reconciliation after the stream: one instance.
        assert_eq!(pair.stats(1).found, 1, "holder {holder}: {b:?}");
        let big = |i: usize| {
            pair.s[i]
                .cache()
                .iter()
                .find(|(id, _)| id.key.as_bytes() == b"big")
                .map(|(_, e)| e.data.len())
        };
        assert_eq!(big(l), Some(len), "holder {holder}");
        assert_eq!(pair.instances(0), pair.instances(1), "holder {holder}");
    }
}
