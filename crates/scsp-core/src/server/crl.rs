//! The CSA Request List (2.2.2.1, 2.2.3): the records to solicit with CSUS messages, checked
//! against a plain model by property tests.

use std::collections::VecDeque;

use crate::Time;
use crate::hash::HashState;
use crate::seq;
use crate::wire::{Csas, RecordId};
use hashbrown::HashTable;

/// One record of the CSA Request List.
#[derive(Debug, Clone)]
struct CrlItem {
    id: RecordId,
    /// The table's hash of `id` (see [`spread`]), kept for rebuilding the table without hashing
    /// again.
    hash: u32,
    /// The sequence number the DCS advertised (meaningful while wanted).
    seq: u32,
    flags: u8,
}

/// The record is wanted from the DCS.
const WANTED: u8 = 1;
/// The record is in the CSUS outstanding (only while wanted).
const OUTSTANDING: u8 = 2;
/// The record was put in a CSUS to this DCS and not yet answered by it, even if another DCS has
/// answered it since: its answer is solicited all the same (Hop Count 1, flooded on).
const ASKED: u8 = 4;

/// Stale table entries tolerated before the table is rebuilt (few in tests, to exercise it).
const REBUILD_MIN: usize = if cfg!(test) { 4 } else { 4096 };

/// The CSA Request List (2.2.2.1) and the CSUS outstanding (2.2.3).
///
/// The records sit in a queue in the order they became wanted, each at a position that only
/// grows; a hash table holds the positions of the records still in the list (4 bytes each), so
/// that a record is found by its identity. CSUSs take records from the queue in order and the DCS
/// answers them in about that order: the records touched at any time are a few thousand adjacent
/// ones, not a million scattered over a hash table. An answer is first matched against the next
/// record expected, without hashing. A record that leaves the list is left in the queue as a dead
/// item until the queue's front passes it, and in the table until the table is rebuilt or the
/// list empties.
///
/// The table is built only when a record is first looked for by identity: while one DCS answers
/// its CSUSs in order and nothing else touches the list, as in the alignment of a new server,
/// it never is, and a record wanted costs an append, not a hash and a write at random into a
/// table of tens of MB.
#[derive(Debug)]
pub(crate) struct Crl {
    state: HashState,
    /// Positions (modulo 2³², low half) of the records in the list, with their hash (high half):
    /// growing the table reads nothing else.
    index: HashTable<u64>,
    /// The table holds every record of the list (else it is empty, and the items' hashes are
    /// not computed yet).
    indexed: bool,
    /// Records from position `base` on; `flags == 0` for a record that has left the list.
    items: VecDeque<CrlItem>,
    base: u64,
    /// Positions before this one hold no record wanted and not yet outstanding.
    cursor: u64,
    /// How many records are wanted.
    wanted: usize,
    /// Positions of the records in the CSUS outstanding, in the order they were asked (some may
    /// have left it since), and how many are still in it.
    outstanding: Vec<u64>,
    n_outstanding: usize,
    /// The DCS answers a CSUS in about the order it was asked: the next record of `outstanding`
    /// expected, checked before the table is probed.
    next_answer: usize,
    /// Table entries left behind by records that left the list (they point at dead items or
    /// before `base`, and lookups skip them); the table is rebuilt when they outnumber the rest.
    stale: usize,
    /// `base` when the table was last rebuilt: positions are 4 bytes, so it is rebuilt before
    /// 2³¹ more records have been queued, and a stale entry never aliases a live record.
    epoch: u64,
    /// When the CSUS outstanding is retransmitted.
    pub rexmit_at: Option<Time>,
    /// How many of the records wanted were absent from the cache when summarized: the room the
    /// cache makes at once when Update Cache starts.
    pub missing: usize,
}

/// The hash the table of the CSA Request List is probed with, from the 32 bits kept: the table
/// takes a bucket from the low bits and a tag from the top seven.
fn spread(hash: u32) -> u64 {
    (u64::from(hash) << 32) | u64::from(hash)
}

/// A table entry: position and hash.
fn entry(pos: u32, hash: u32) -> u64 {
    (u64::from(hash) << 32) | u64::from(pos)
}

/// The hash of a table entry, to move it when the table grows.
fn rehash(e: &u64) -> u64 {
    spread((e >> 32) as u32)
}

impl Crl {
    pub fn new(state: HashState) -> Self {
        Crl {
            state,
            index: HashTable::new(),
            indexed: false,
            items: VecDeque::new(),
            base: 0,
            cursor: 0,
            wanted: 0,
            outstanding: Vec::new(),
            n_outstanding: 0,
            next_answer: 0,
            stale: 0,
            epoch: 0,
            rexmit_at: None,
            missing: 0,
        }
    }

    /// Records wanted.
    pub fn len(&self) -> usize {
        self.wanted
    }

    pub fn is_empty(&self) -> bool {
        self.wanted == 0
    }

    /// A CSUS is outstanding: some record in it is still wanted and unanswered.
    pub fn has_outstanding(&self) -> bool {
        self.n_outstanding > 0
    }

    /// Offset in `items` of the record at position `pos` of the table (always in the list).
    fn offset(&self, pos: u32) -> usize {
        pos.wrapping_sub(self.base as u32) as usize
    }

    fn item(&self, pos: u64) -> Option<&CrlItem> {
        let off = usize::try_from(pos.checked_sub(self.base)?).ok()?;
        self.items.get(off)
    }

    /// The hash of `id` kept in the table.
    fn hash(&self, id: &RecordId) -> u32 {
        (self.state.hash_one(id) >> 32) as u32
    }

    /// Build the table if it is not built.
    fn ensure_index(&mut self) {
        if !self.indexed {
            self.rebuild();
        }
    }

    /// Offset in `items` of the record `id`, if it is in the list (the table is built).
    fn find(&self, hash: u32, id: &RecordId) -> Option<usize> {
        let (items, base) = (&self.items, self.base as u32);
        self.index
            .find(spread(hash), |&e| {
                items
                    .get((e as u32).wrapping_sub(base) as usize)
                    .is_some_and(|it| it.flags != 0 && it.id == *id)
            })
            .map(|&e| self.offset(e as u32))
    }

    /// Records in the table that are still in the list.
    fn live(&self) -> usize {
        self.index.len() - self.stale
    }

    /// Build the table (again) from the live records.
    fn rebuild(&mut self) {
        self.index.clear();
        self.stale = 0;
        self.epoch = self.base;
        let base = self.base;
        let first = !self.indexed;
        self.indexed = true;
        for (off, it) in self.items.iter_mut().enumerate() {
            if it.flags != 0 {
                if first {
                    it.hash = (self.state.hash_one(&it.id) >> 32) as u32;
                }
                let pos = (base + off as u64) as u32;
                self.index
                    .insert_unique(spread(it.hash), entry(pos, it.hash), rehash);
            }
        }
    }

    /// Put `id` at the end of the queue with `flags` (it is not in the list). `hash` is its
    /// hash when the table is built (else unused).
    fn push(&mut self, id: RecordId, hash: u32, seq: u32, flags: u8) {
        if self.indexed
            && (self.stale > REBUILD_MIN && self.stale > self.index.len() / 2
                || self.base + self.items.len() as u64 - self.epoch >= 1 << 31)
        {
            self.rebuild();
        }
        let pos = self.base + self.items.len() as u64;
        self.items.push_back(CrlItem {
            id,
            hash,
            seq,
            flags,
        });
        if self.indexed {
            self.index
                .insert_unique(spread(hash), entry(pos as u32, hash), rehash);
        }
    }

    /// Take the record at `off` out of the list.
    fn remove_at(&mut self, off: usize) {
        let Some(it) = self.items.get_mut(off) else {
            return;
        };
        it.flags = 0;
        if self.indexed {
            self.stale += 1;
        }
        // Dead records at the front go.
        while self.items.front().is_some_and(|it| it.flags == 0) {
            self.items.pop_front();
            self.base += 1;
        }
        self.cursor = self.cursor.max(self.base);
        if self.items.is_empty() {
            self.outstanding.clear();
            self.next_answer = 0;
            self.index.clear();
            self.indexed = false;
            self.stale = 0;
            self.epoch = self.base;
        }
    }

    /// A record summarized by the DCS in the alignment under way, which summarizes each of its
    /// entries once: put at the end of the list without looking for it there, unless the table
    /// is built anyway.
    pub fn want_summarized(&mut self, id: RecordId, seq: u32) {
        if self.indexed {
            self.want(id, seq);
        } else {
            self.push(id, 0, seq, WANTED);
            self.wanted += 1;
        }
    }

    pub fn want(&mut self, id: RecordId, seq: u32) {
        self.ensure_index();
        let hash = self.hash(&id);
        let Some(off) = self.find(hash, &id) else {
            self.push(id, hash, seq, WANTED);
            self.wanted += 1;
            return;
        };
        let Some(it) = self.items.get_mut(off) else {
            return;
        };
        if it.flags & WANTED == 0 {
            // Asked, answered by another DCS, and wanted again: it goes to the end of the queue.
            let flags = it.flags | WANTED;
            self.remove_at(off);
            self.push(id, hash, seq, flags);
            self.wanted += 1;
        } else if seq::newer(seq, it.seq) {
            it.seq = seq;
        }
    }

    /// Satisfy `id` if it is wanted at a sequence number that `done` accepts: it is no longer
    /// wanted nor outstanding (but still asked if it was).
    pub fn satisfy_if(&mut self, id: &RecordId, done: impl FnOnce(u32) -> bool) -> bool {
        if self.wanted == 0 {
            return false;
        }
        self.ensure_index();
        let Some(off) = self.find(self.hash(id), id) else {
            return false;
        };
        let Some(it) = self.items.get_mut(off) else {
            return false;
        };
        if it.flags & WANTED == 0 || !done(it.seq) {
            return false;
        }
        self.wanted -= 1;
        if it.flags & OUTSTANDING != 0 {
            self.n_outstanding -= 1;
        }
        if it.flags & ASKED != 0 {
            it.flags = ASKED;
        } else {
            self.remove_at(off);
        }
        true
    }

    /// The DCS answered `id`: if it was asked, the solicitation ends and the record is no longer
    /// wanted. Returns whether it was asked.
    pub fn answered(&mut self, id: &RecordId) -> bool {
        if self.items.is_empty() {
            return false;
        }
        let off = match self.expected(id) {
            Some(off) => off,
            None => {
                self.ensure_index();
                match self.find(self.hash(id), id) {
                    Some(off) => off,
                    None => return false,
                }
            }
        };
        let Some(it) = self.items.get(off) else {
            return false;
        };
        if it.flags & ASKED == 0 {
            return false;
        }
        if it.flags & WANTED != 0 {
            self.wanted -= 1;
            if it.flags & OUTSTANDING != 0 {
                self.n_outstanding -= 1;
            }
        }
        self.remove_at(off);
        true
    }

    /// Offset of `id` if it is the next record of the CSUS outstanding expected to be answered.
    fn expected(&mut self, id: &RecordId) -> Option<usize> {
        while let Some(&pos) = self.outstanding.get(self.next_answer) {
            match self.item(pos) {
                Some(it) if it.flags & OUTSTANDING != 0 => {
                    if it.id != *id {
                        return None;
                    }
                    self.next_answer += 1;
                    return usize::try_from(pos - self.base).ok();
                }
                // Answered out of order, or satisfied by another DCS (found by the table).
                _ => self.next_answer += 1,
            }
        }
        None
    }

    /// The records of the CSUS outstanding still wanted, in the order they were asked, while
    /// `fits` takes them (for its retransmission).
    pub fn outstanding_records(
        &mut self,
        records: &mut Vec<Csas>,
        mut fits: impl FnMut(&Csas) -> bool,
    ) {
        let mut kept = Vec::with_capacity(self.n_outstanding);
        let mut full = false;
        for &pos in &self.outstanding {
            let Some(it) = self.item(pos) else { continue };
            if it.flags & (WANTED | OUTSTANDING) != WANTED | OUTSTANDING {
                continue;
            }
            kept.push(pos);
            let r = Csas {
                hops: 1,
                null: false,
                seq: it.seq,
                id: it.id.clone(),
            };
            if !full && fits(&r) {
                records.push(r);
            } else {
                full = true;
            }
        }
        self.outstanding = kept;
        self.next_answer = 0;
    }

    /// Top up a CSUS from the queue: each record wanted and not yet outstanding, while `fits`
    /// takes it, goes in `records` and becomes outstanding and asked.
    pub fn ask_more(&mut self, records: &mut Vec<Csas>, mut fits: impl FnMut(&Csas) -> bool) {
        let end = self.base + self.items.len() as u64;
        while self.cursor < end {
            let off = (self.cursor - self.base) as usize;
            let Some(it) = self.items.get_mut(off) else {
                break;
            };
            if it.flags & (WANTED | OUTSTANDING) != WANTED {
                self.cursor += 1;
                continue;
            }
            let r = Csas {
                hops: 1,
                null: false,
                seq: it.seq,
                id: it.id.clone(),
            };
            if !fits(&r) {
                break;
            }
            it.flags |= OUTSTANDING | ASKED;
            self.n_outstanding += 1;
            self.outstanding.push(self.cursor);
            self.cursor += 1;
            records.push(r);
        }
    }

    /// With nothing wanted, give back the room a large alignment left in the list (a million
    /// records wanted once is tens of MB held for nothing otherwise).
    pub fn release(&mut self) {
        const KEEP: usize = 4096;
        if self.items.is_empty() {
            self.items = VecDeque::new();
            self.index = HashTable::new();
            self.indexed = false;
            self.stale = 0;
        } else if self.index.capacity() > KEEP && self.index.capacity() / 4 > self.live() {
            // Records asked and not yet answered are kept.
            self.rebuild();
            self.index.shrink_to_fit(rehash);
            self.items.shrink_to_fit();
        }
        if self.outstanding.capacity() > KEEP && self.n_outstanding == 0 {
            self.outstanding = Vec::new();
        }
    }

    pub fn clear(&mut self) {
        let state = self.state.clone();
        *self = Crl::new(state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Id;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    /// What the CSA Request List must do, written the plain way: a map of records and the order
    /// they became wanted in (2.2.2.1, 2.2.3); a record wanted again goes to the end.
    #[derive(Default)]
    struct Model {
        /// id -> (seq, wanted, outstanding, asked)
        map: BTreeMap<u8, (u32, bool, bool, bool)>,
        order: VecDeque<u8>,
        outstanding: Vec<u8>,
    }

    impl Model {
        fn want(&mut self, id: u8, seq: u32) {
            match self.map.get_mut(&id) {
                Some(e) if !e.1 => {
                    *e = (seq, true, false, e.3);
                    self.order.push_back(id);
                }
                Some(e) => {
                    if seq::newer(seq, e.0) {
                        e.0 = seq;
                    }
                }
                None => {
                    self.map.insert(id, (seq, true, false, false));
                    self.order.push_back(id);
                }
            }
        }
        fn satisfy(&mut self, id: u8, have: u32) -> bool {
            let Some(e) = self.map.get_mut(&id) else {
                return false;
            };
            if !e.1 || seq::newer(e.0, have) {
                return false;
            }
            if e.3 {
                e.1 = false;
                e.2 = false;
            } else {
                self.map.remove(&id);
            }
            self.order.retain(|&o| o != id);
            self.outstanding.retain(|&o| o != id);
            true
        }
        fn answered(&mut self, id: u8) -> bool {
            match self.map.get(&id) {
                Some(e) if e.3 => {
                    self.map.remove(&id);
                    self.order.retain(|&o| o != id);
                    self.outstanding.retain(|&o| o != id);
                    true
                }
                _ => false,
            }
        }
        fn ask(&mut self, n: usize) -> Vec<(u8, u32)> {
            let mut out = Vec::new();
            while out.len() < n {
                let Some(&id) = self.order.front() else { break };
                self.order.pop_front();
                let Some(e) = self.map.get_mut(&id) else {
                    continue;
                };
                if !e.1 || e.2 {
                    continue;
                }
                e.2 = true;
                e.3 = true;
                self.outstanding.push(id);
                out.push((id, e.0));
            }
            out
        }
        fn wanted(&self) -> usize {
            self.map.values().filter(|e| e.1).count()
        }
    }

    fn rid(id: u8) -> RecordId {
        RecordId {
            key: Id::from([0, 0, 0, id]),
            origin: Id::from([10, 0, 0, 1]),
        }
    }

    fn key(r: &Csas) -> u8 {
        r.id.key.as_bytes()[3]
    }

    #[derive(Debug, Clone)]
    enum Op {
        Want(u8, u32),
        /// Summarized in a CA: applied only to a record not in the list.
        Summarized(u8, u32),
        Satisfy(u8, u32),
        Answered(u8),
        Ask(usize),
        Retransmit(usize),
        Release,
    }

    /// Operations; with `lookups` false, only what the alignment of a new server does (records
    /// summarized, asked, answered, in or out of order), which builds the table only when an
    /// answer is out of order.
    fn op_with(lookups: bool) -> impl Strategy<Value = Op> {
        let id = 0u8..24;
        let seq = 0x8000_0001u32..0x8000_0008;
        let w = u32::from(lookups) * 2;
        prop_oneof![
            w => (id.clone(), seq.clone()).prop_map(|(i, s)| Op::Want(i, s)),
            3 => (id.clone(), seq.clone()).prop_map(|(i, s)| Op::Summarized(i, s)),
            w => (id.clone(), seq).prop_map(|(i, s)| Op::Satisfy(i, s)),
            3 => id.prop_map(Op::Answered),
            2 => (0usize..6).prop_map(Op::Ask),
            1 => (0usize..6).prop_map(Op::Retransmit),
            1 => Just(Op::Release),
        ]
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![op_with(true), op_with(false)]
    }

    proptest! {
        /// The queue-and-index list behaves as the plain one: the same records wanted, asked in
        /// the same order at the same sequence numbers, the same answers recognised, and the
        /// same CSUS outstanding; whether its table was built from the start, on the first
        /// lookup, or again after the list emptied.
        #[test]
        fn crl_matches_the_plain_model(ops in proptest::collection::vec(op(), 0..200)) {
            check_crl(ops)?;
        }

        /// The same, for the operations of an alignment alone, where the table is built late or
        /// never.
        #[test]
        fn crl_matches_the_plain_model_in_an_alignment(
            ops in proptest::collection::vec(op_with(false), 0..200),
        ) {
            check_crl(ops)?;
        }
    }

    fn check_crl(ops: Vec<Op>) -> Result<(), TestCaseError> {
        {
            let mut crl = Crl::new(crate::hash::state(7));
            let mut m = Model::default();
            for op in ops {
                match op {
                    Op::Want(i, s) => {
                        crl.want(rid(i), s);
                        m.want(i, s);
                    }
                    Op::Summarized(i, s) => {
                        if !m.map.contains_key(&i) {
                            crl.want_summarized(rid(i), s);
                            m.want(i, s);
                        }
                    }
                    Op::Satisfy(i, have) => {
                        let got = crl.satisfy_if(&rid(i), |want| !seq::newer(want, have));
                        prop_assert_eq!(got, m.satisfy(i, have));
                    }
                    Op::Answered(i) => prop_assert_eq!(crl.answered(&rid(i)), m.answered(i)),
                    Op::Ask(n) => {
                        let mut recs = Vec::new();
                        let mut k = 0;
                        crl.ask_more(&mut recs, |_| {
                            k += 1;
                            k <= n
                        });
                        let got: Vec<(u8, u32)> = recs.iter().map(|r| (key(r), r.seq)).collect();
                        prop_assert_eq!(got, m.ask(n));
                    }
                    Op::Retransmit(n) => {
                        let mut recs = Vec::new();
                        let mut k = 0;
                        crl.outstanding_records(&mut recs, |_| {
                            k += 1;
                            k <= n
                        });
                        let got: Vec<u8> = recs.iter().map(key).collect();
                        let want: Vec<u8> = m.outstanding.iter().copied().take(n).collect();
                        prop_assert_eq!(got, want);
                    }
                    Op::Release => crl.release(),
                }
                prop_assert_eq!(crl.len(), m.wanted());
                prop_assert_eq!(crl.has_outstanding(), !m.outstanding.is_empty());
            }
        }
        Ok(())
    }
}
