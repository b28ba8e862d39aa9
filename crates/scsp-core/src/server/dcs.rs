//! Per-DCS state: the Hello and Cache Alignment machines' variables, the CSA Request List, the
//! DCS retransmit queue, and counters.

use std::collections::VecDeque;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::Time;
use crate::config::DcsConfig;
use crate::event::{CaState, HelloState, Since};
use crate::hash::{HashState, Probe, Set, SlotIndex, occupant};
use crate::seq;
use crate::wire::{Csa, Csas, MessageType, RecordId};
use hashbrown::HashTable;

/// Message counters by type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageCounts {
    /// Hello messages.
    pub hello: u64,
    /// CA messages.
    pub ca: u64,
    /// CSU Requests.
    pub csu_request: u64,
    /// CSU Replies.
    pub csu_reply: u64,
    /// CSUS messages.
    pub csus: u64,
    /// Bytes, all types.
    pub bytes: u64,
    /// CSA/CSAS records carried, all types.
    pub records: u64,
}

impl MessageCounts {
    pub(crate) fn count(&mut self, kind: MessageType, bytes: usize, records: usize) {
        match kind {
            MessageType::Hello => self.hello += 1,
            MessageType::Ca => self.ca += 1,
            MessageType::CsuRequest => self.csu_request += 1,
            MessageType::CsuReply => self.csu_reply += 1,
            MessageType::Csus => self.csus += 1,
        }
        self.bytes += bytes as u64;
        self.records += records as u64;
    }

    /// Messages of every type.
    pub fn total(&self) -> u64 {
        self.hello + self.ca + self.csu_request + self.csu_reply + self.csus
    }
}

/// Counters of one DCS, for management output.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DcsStats {
    /// Messages received and accepted for processing.
    pub rx: MessageCounts,
    /// Messages sent.
    pub tx: MessageCounts,
    /// Packets that did not decode.
    pub malformed: u64,
    /// Packets that failed authentication.
    pub auth_failures: u64,
    /// Authenticated packets refused by replay protection (stale nonce, replayed number, missing
    /// extension).
    pub replays_refused: u64,
    /// Packets or records dropped for any other reason.
    pub dropped: u64,
    /// Records refused by the profile.
    pub invalid_records: u64,
    /// CA retransmissions.
    pub ca_retransmits: u64,
    /// CSUS retransmissions.
    pub csus_retransmits: u64,
    /// CSA retransmissions.
    pub csa_retransmits: u64,
    /// Abnormal events (2.1).
    pub abnormal_events: u64,
    /// Times the CA FSM reached Aligned.
    pub alignments: u64,
    /// Records learned from this DCS (new or newer instances).
    pub records_learned: u64,
    /// Hellos advertising another Family ID than ours (accepted, B.2.5).
    pub family_mismatches: u64,
    /// Purges (sequence number 0x7FFFFFFF) of entries we do not hold, in CSAs or summaries.
    pub stray_purges: u64,
}

/// A CSA on the DCS retransmit queue (2.3).
#[derive(Debug)]
pub(crate) struct Queued {
    pub csa: Csa,
    /// Times sent so far.
    pub sends: u32,
    /// Set when the record took its slot; `unsent` entries of an earlier occupant differ.
    born: u64,
    /// Bumped whenever the entry is replaced or rescheduled; timeline entries with an older value
    /// are stale.
    generation: u64,
    /// Waiting in `unsent` to go out in the next flush.
    pending: bool,
}

/// A retransmit queue that empties after holding more records than this gives its memory back.
const RELEASE_ABOVE: usize = 4096;

/// The DCS retransmit queue: at most one instance of a record, the newest (2.3).
///
/// The records sit in slots that stay put, reused once free; a hash table ([`SlotIndex`], as the
/// cache's) holds slot numbers, and the lists of records to send and of retransmission times hold slot
/// numbers too. A record is hashed once when queued and found once when acknowledged; the
/// table stays small (the records in flight) and nothing large moves when it grows.
#[derive(Debug)]
pub(crate) struct RexmitQueue {
    state: HashState,
    index: SlotIndex,
    slots: Vec<Option<Queued>>,
    free: Vec<u32>,
    /// Retransmission times of records sent once: slot and generation, in time order (the
    /// timeout of a first send changes slowly; a later one never goes before an earlier one).
    timeline: VecDeque<(Time, u32, u64)>,
    /// Retransmission times of records sent more than once (backed off: not in order).
    retries: std::collections::BinaryHeap<std::cmp::Reverse<(Time, u32, u64)>>,
    /// Records to send in the next flush, in the order queued: slot and `born`.
    unsent: Vec<(u32, u64)>,
    next_generation: u64,
}

impl RexmitQueue {
    pub fn new(state: HashState) -> Self {
        RexmitQueue {
            state,
            index: SlotIndex::default(),
            slots: Vec::new(),
            free: Vec::new(),
            timeline: VecDeque::new(),
            retries: Default::default(),
            unsent: Vec::new(),
            next_generation: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.index.len()
    }

    fn generation(&mut self) -> u64 {
        self.next_generation += 1;
        self.next_generation
    }

    fn slot(&self, i: u32) -> Option<&Queued> {
        occupant(&self.slots, i)
    }

    fn slot_mut(&mut self, i: u32) -> Option<&mut Queued> {
        self.slots.get_mut(i as usize).and_then(Option::as_mut)
    }

    fn find(&self, hash: u64, id: &RecordId) -> Option<u32> {
        let slots = &self.slots;
        self.index.find(hash, |i| {
            occupant(slots, i).is_some_and(|q| q.csa.summary.id == *id)
        })
    }

    /// Queue `csa` to be sent in the next flush, replacing an older instance of the same record.
    /// If a newer instance is queued already, that one is sent again instead. The same instance
    /// queued again keeps the larger Hop Count: an answer to a CSUS (Hop Count 1) for an
    /// instance being flooded is also the flood, which its acknowledgement ends, so it must go as
    /// far as the flood would have.
    pub fn enqueue(&mut self, mut csa: Csa) {
        let hash = self.state.hash_one(&csa.summary.id);
        let generation = self.generation();
        let slots = &self.slots;
        let at = match self.index.find_or_vacant(hash, |i| {
            occupant(slots, i).is_some_and(|q| q.csa.summary.id == csa.summary.id)
        }) {
            Probe::Found(i) => Err(i),
            Probe::Vacant(at) => Ok(at),
        };
        if let Err(i) = at {
            let mut push = None;
            if let Some(q) = self.slot_mut(i) {
                if !seq::newer(q.csa.summary.seq, csa.summary.seq) {
                    if q.csa.summary.seq == csa.summary.seq
                        && q.csa.summary.null == csa.summary.null
                    {
                        csa.summary.hops = csa.summary.hops.max(q.csa.summary.hops);
                    }
                    q.csa = csa;
                    q.sends = 0;
                    q.generation = generation;
                }
                // (A newer instance queued already is sent again instead.)
                if !q.pending {
                    q.pending = true;
                    q.generation = generation;
                    push = Some(q.born);
                }
            }
            if let Some(born) = push {
                self.unsent.push((i, born));
            }
            return;
        }
        let q = Queued {
            csa,
            sends: 0,
            born: generation,
            generation,
            pending: true,
        };
        let i = match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = Some(q);
                i
            }
            None => {
                let i = u32::try_from(self.slots.len())
                    .ok()
                    .filter(|&i| i != u32::MAX)
                    .expect("fewer than 2^32 - 1 records queued");
                self.slots.push(Some(q));
                i
            }
        };
        if let Ok(at) = at {
            self.index.insert_vacant(at, hash, i);
        }
        self.unsent.push((i, generation));
    }

    /// Remove and return the instance queued for `id` if `acked` says it is acknowledged (one
    /// lookup).
    pub fn remove_if(
        &mut self,
        id: &RecordId,
        acked: impl FnOnce(&Queued) -> bool,
    ) -> Option<Queued> {
        if self.index.is_empty() {
            return None;
        }
        let hash = self.state.hash_one(id);
        let slots = &self.slots;
        let (at, i) = self.index.find_bucket(hash, |i| {
            occupant(slots, i).is_some_and(|q| q.csa.summary.id == *id)
        })?;
        if !self.slot(i).is_some_and(acked) {
            return None;
        }
        self.index.remove_bucket(at);
        let q = self.slots.get_mut(i as usize).and_then(Option::take);
        self.free.push(i);
        if self.index.is_empty() {
            // Nothing left: the lists hold only stale entries.
            self.timeline.clear();
            self.retries.clear();
            self.unsent.clear();
            if self.slots.len() > RELEASE_ABOVE {
                // A burst (an alignment, a flood of solicitations) is over: its memory goes
                // back to the allocator.
                self.index = SlotIndex::default();
                self.slots = Vec::new();
                self.free = Vec::new();
                self.timeline.shrink_to_fit();
                self.retries.shrink_to_fit();
                self.unsent.shrink_to_fit();
            }
        }
        q
    }

    /// Take the records to send now; each is counted as sent and timed to `now` plus
    /// `timeout(sends before this one)`.
    pub fn take_unsent(&mut self, now: Time, timeout: impl Fn(u32) -> Duration) -> Vec<Csa> {
        let first = now + timeout(0);
        let first = self.timeline.back().map_or(first, |&(t, ..)| t.max(first));
        let unsent = std::mem::take(&mut self.unsent);
        let mut out = Vec::with_capacity(unsent.len());
        for &(i, born) in &unsent {
            if let Some(q) = self.slot_mut(i)
                && q.born == born
                && q.pending
            {
                q.pending = false;
                q.sends += 1;
                out.push(q.csa.clone());
                let g = q.generation;
                if q.sends == 1 {
                    self.timeline.push_back((first, i, g));
                } else {
                    let due = now + timeout(q.sends - 1);
                    self.retries.push(std::cmp::Reverse((due, i, g)));
                }
            }
        }
        // (The list keeps its room for the next flush.)
        self.unsent = unsent;
        self.unsent.clear();
        out
    }

    /// Forget what was to be sent in the next flush (the records stay queued, unsent).
    pub fn drop_unsent(&mut self) {
        self.unsent.clear();
    }

    fn timed(&self, i: u32, g: u64) -> Option<&Queued> {
        self.slot(i).filter(|q| q.generation == g && !q.pending)
    }

    /// Next retransmission time.
    pub fn next_due(&mut self) -> Option<Time> {
        // Drop stale heads so that the deadline is real.
        while let Some(&(_, i, g)) = self.timeline.front() {
            if self.timed(i, g).is_some() {
                break;
            }
            self.timeline.pop_front();
        }
        while let Some(&std::cmp::Reverse((_, i, g))) = self.retries.peek() {
            if self.timed(i, g).is_some() {
                break;
            }
            self.retries.pop();
        }
        let a = self.timeline.front().map(|(t, ..)| *t);
        let b = self.retries.peek().map(|r| r.0.0);
        match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Records whose retransmission time has come (as slots for [`RexmitQueue::resend`]), with
    /// how many times each was sent.
    pub fn pop_due(&mut self, now: Time) -> Vec<(u32, u32)> {
        let mut due: Vec<(Time, u64, u32, u32)> = Vec::new();
        while let Some(&(t, i, g)) = self.timeline.front() {
            if t > now {
                break;
            }
            if let Some(q) = self.timed(i, g) {
                due.push((t, g, i, q.sends));
            }
            self.timeline.pop_front();
        }
        let first = due.len();
        while let Some(&std::cmp::Reverse((t, i, g))) = self.retries.peek() {
            if t > now {
                break;
            }
            if let Some(q) = self.timed(i, g) {
                due.push((t, g, i, q.sends));
            }
            self.retries.pop();
        }
        if first > 0 && due.len() > first {
            // Both lists gave records: in the order they were due, then queued.
            due.sort_unstable_by_key(|&(t, g, ..)| (t, g));
        }
        due.into_iter().map(|(_, _, i, s)| (i, s)).collect()
    }

    /// Mark the record in slot `i` (from [`RexmitQueue::pop_due`]) to be sent again in the next
    /// flush.
    pub fn resend(&mut self, i: u32) {
        let generation = self.generation();
        let mut push = None;
        if let Some(q) = self.slot_mut(i)
            && !q.pending
        {
            q.pending = true;
            q.generation = generation;
            push = Some(q.born);
        }
        if let Some(born) = push {
            self.unsent.push((i, born));
        }
    }

    pub fn get(&self, id: &RecordId) -> Option<&Queued> {
        let i = self.find(self.state.hash_one(id), id)?;
        self.slot(i)
    }

    pub fn clear(&mut self) {
        self.index.clear();
        self.slots.clear();
        self.free.clear();
        self.timeline.clear();
        self.retries.clear();
        self.unsent.clear();
    }
}

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

/// Everything an LS keeps about one DCS.
#[derive(Debug)]
pub(crate) struct Dcs {
    pub cfg: DcsConfig,
    pub hello: Since<HelloState>,
    pub ca: Since<CaState>,

    // Hello FSM (2.1).
    /// The DCS is in our Receiver ID list.
    pub heard: bool,
    /// HelloInterval and DeadFactor the DCS advertised.
    pub peer_interval: u16,
    pub peer_dead_factor: u16,
    /// The Family ID the DCS last advertised, when it differed from ours.
    pub peer_family: Option<u16>,
    pub last_hello: Option<Time>,
    pub last_hello_with_us: Option<Time>,
    pub hello_at: Option<Time>,
    /// When Hellos were last seen lost on the path (a Hello of the DCS's missed, or the session
    /// stalled): ours are repeated for a while after ([`DcsConfig::hello_repeat`]).
    pub hello_loss_at: Option<Time>,
    /// When the last Hello (that message only) arrived: for [`Dcs::hello_loss_at`].
    pub last_hello_msg: Option<Time>,
    /// The DCS's replay extension, as received (docs/replay-protection.md).
    pub replay: super::replay::ReplayState,
    /// When a stale nonce last brought our Hello forward.
    pub replay_prompt_at: Option<Time>,

    // CA FSM (2.2).
    pub ca_seq: u32,
    pub last_ca_seq: Option<u32>,
    /// Our last CA, encoded: retransmitted while outstanding, resent to a duplicate.
    pub ca_out: Option<(Vec<u8>, crate::event::MessageSummary)>,
    /// We were master in the last Cache Summarize.
    pub was_master: bool,
    pub ca_rexmit_at: Option<Time>,
    /// CSAS records still to be summarized to the DCS.
    pub summary: VecDeque<Csas>,
    /// The O bit of our last CA.
    pub sent_more: bool,
    pub crl: Crl,
    /// Records that changed while the DCS was in Negotiation or Cache Summarize, to be sent as
    /// CSU Requests once it reaches Update Cache (rfc2334-readings.md #14).
    pub deferred: Set<RecordId>,

    // CSU (2.3).
    pub queue: RexmitQueue,
    /// CSAS records to acknowledge in the next CSU Reply.
    pub acks: Vec<Csas>,
    /// The cache slot after the last one a CSUS from the DCS asked for: where its next record
    /// probably is (see [`crate::cache::Cache::get_near`]).
    pub csus_hint: u32,

    // Retransmission timers (server/rtt.rs).
    pub rtt: super::rtt::Rtt,
    /// When our last CA went out, if it was sent once only (Karn's rule).
    pub ca_sent_at: Option<Time>,
    /// Retransmissions of our last CA.
    pub ca_retries: u32,
    /// When our outstanding CSUS went out, if sent once only.
    pub csus_sent_at: Option<Time>,
    /// Retransmissions of our outstanding CSUS.
    pub csus_retries: u32,
    /// A CSA sent in a CSU Request, timed until its acknowledgement: when, and what.
    pub csu_probe: Option<(Time, RecordId, u32)>,
    /// When the DCS last acknowledged a CSA of ours.
    pub last_ack_at: Option<Time>,
    /// When a malformed packet last counted as an abnormal event, and the back-off before the
    /// next may (Server::unverified_is_abnormal).
    pub bad_packet_at: Option<Time>,
    pub bad_packet_backoff: Duration,

    pub stats: DcsStats,
}

impl Dcs {
    pub fn new(cfg: DcsConfig, now: Time, state: HashState) -> Self {
        Dcs {
            cfg,
            hello: Since {
                state: HelloState::Down,
                since: now,
            },
            ca: Since {
                state: CaState::Down,
                since: now,
            },
            heard: false,
            peer_interval: 0,
            peer_dead_factor: 0,
            peer_family: None,
            last_hello: None,
            last_hello_with_us: None,
            hello_at: None,
            hello_loss_at: None,
            last_hello_msg: None,
            replay: Default::default(),
            replay_prompt_at: None,
            ca_seq: 0,
            last_ca_seq: None,
            ca_out: None,
            was_master: false,
            ca_rexmit_at: None,
            summary: VecDeque::new(),
            sent_more: false,
            crl: Crl::new(state.clone()),
            deferred: Set::with_hasher(state.clone()),
            queue: RexmitQueue::new(state),
            acks: Vec::new(),
            csus_hint: 0,
            rtt: Default::default(),
            ca_sent_at: None,
            ca_retries: 0,
            csus_sent_at: None,
            csus_retries: 0,
            csu_probe: None,
            last_ack_at: None,
            bad_packet_at: None,
            bad_packet_backoff: Duration::ZERO,
            stats: DcsStats::default(),
        }
    }

    /// The retransmission timeout of a message retransmitted `retries` times so far, whose
    /// configured interval is `max` (server/rtt.rs).
    pub fn rto(&self, retries: u32, max: Duration) -> Duration {
        if self.cfg.adaptive_rexmit {
            self.rtt.rto(retries, max)
        } else {
            max
        }
    }

    /// An answer to the message sent at `sent` (if it was sent once only) arrived now.
    pub fn rtt_sample(&mut self, now: Time, sent: Option<Time>) {
        if let Some(t) = sent {
            self.rtt.sample(now.since(t));
        }
    }

    /// HelloInterval × DeadFactor as advertised by the DCS (2.1, B.2.5), at most
    /// [`DcsConfig::max_dead_interval`] (by default the larger of 30 s and our own interval for
    /// the DCS): a DCS that advertises 65535 × 65535 and goes silent is not kept up for ever.
    pub fn dead_interval(&self) -> Duration {
        let i = u64::from(self.peer_interval.max(1));
        let f = u64::from(self.peer_dead_factor.max(1));
        let own =
            u64::from(self.cfg.hello_interval.max(1)) * u64::from(self.cfg.dead_factor.max(1));
        let ceiling = self
            .cfg
            .max_dead_interval
            .unwrap_or(Duration::from_secs(own.max(30)));
        Duration::from_secs(i * f).min(ceiling)
    }

    /// When the Hello FSM must next look at the DCS's liveness: HelloInterval × DeadFactor
    /// after the last Hello heard, plus half a HelloInterval. Without that allowance the Hello
    /// due exactly at the deadline, late by its transit time, would be taken for a lost one, and
    /// DeadFactor 3 would tolerate one lost Hello instead of two (docs/rfc2334-readings.md,
    /// "the dead timer").
    pub fn dead_at(&self) -> Option<Time> {
        let wait = self.dead_interval() + self.dead_allowance();
        match self.hello.state {
            HelloState::Bidirectional => self.last_hello_with_us.map(|t| t + wait),
            HelloState::Unidirectional => self.last_hello.map(|t| t + wait),
            _ => None,
        }
    }

    /// Half the HelloInterval the DCS advertised (of the dead interval as capped, divided by
    /// its DeadFactor): see [`Dcs::dead_at`].
    pub fn dead_allowance(&self) -> Duration {
        self.dead_interval() / (2 * u32::from(self.peer_dead_factor.max(1)))
    }

    /// A message from the DCS shows that it has left Cache Summarize: as its slave, our kept
    /// copy of our last CA can no longer be asked for (2.2.2 note).
    pub fn master_done(&mut self) {
        if !self.was_master && matches!(self.ca.state, CaState::UpdateCache | CaState::Aligned) {
            self.ca_out = None;
        }
    }

    /// Forget everything the CA FSM and the CSU protocol hold.
    pub fn reset_alignment(&mut self) {
        self.ca_out = None;
        self.ca_rexmit_at = None;
        self.summary.clear();
        self.summary.shrink_to_fit();
        self.sent_more = false;
        self.crl.clear();
        self.deferred.clear();
        self.queue.clear();
        self.acks.clear();
    }

    /// The state as management output shows it.
    pub fn info(&self, id: crate::DcsId) -> DcsInfo {
        DcsInfo {
            id,
            dcs_id: self.cfg.id.clone(),
            hello: self.hello,
            ca: self.ca,
            retransmit_queue: self.queue.len(),
            csa_request_list: self.crl.len(),
            srtt_us: self
                .rtt
                .srtt()
                .map(|d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX)),
            stats: self.stats.clone(),
        }
    }
}

/// A DCS as management output shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DcsInfo {
    /// Handle.
    pub id: crate::DcsId,
    /// The DCS's SCSP ID.
    pub dcs_id: crate::wire::Id,
    /// Hello FSM state and since when.
    pub hello: Since<HelloState>,
    /// CA FSM state and since when.
    pub ca: Since<CaState>,
    /// CSAs awaiting acknowledgement.
    pub retransmit_queue: usize,
    /// CSAs still wanted from the DCS.
    pub csa_request_list: usize,
    /// The smoothed round-trip time to the DCS, microseconds, once measured (server/rtt.rs).
    pub srtt_us: Option<u64>,
    /// Counters.
    pub stats: DcsStats,
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

    /// The retransmit queue, written the plain way: a map by record, the records to send in the
    /// order queued, and the retransmission times (2.3).
    #[derive(Default)]
    struct QueueModel {
        /// id -> (seq, hops, sends, generation, pending)
        map: BTreeMap<u8, (u32, u16, u32, u64, bool)>,
        unsent: Vec<u8>,
        timeline: VecDeque<(u64, u8, u64)>,
        generation: u64,
    }

    impl QueueModel {
        fn enqueue(&mut self, id: u8, seq: u32, hops: u16) {
            self.generation += 1;
            let g = self.generation;
            match self.map.get_mut(&id) {
                Some(q) => {
                    if !seq::newer(q.0, seq) {
                        let hops = if q.0 == seq { hops.max(q.1) } else { hops };
                        *q = (seq, hops, 0, g, q.4);
                    }
                    if !q.4 {
                        q.4 = true;
                        q.3 = g;
                        self.unsent.push(id);
                    }
                }
                None => {
                    self.map.insert(id, (seq, hops, 0, g, true));
                    self.unsent.push(id);
                }
            }
        }
        fn ack(&mut self, id: u8, seq: u32) -> Option<u32> {
            let q = self.map.get(&id)?;
            if seq::newer(q.0, seq) {
                return None;
            }
            let s = q.0;
            self.map.remove(&id);
            // (Queued again later, it is sent in its new place.)
            self.unsent.retain(|&x| x != id);
            Some(s)
        }
        fn take(&mut self, due: u64) -> Vec<(u8, u32, u16)> {
            let mut out = Vec::new();
            for id in std::mem::take(&mut self.unsent) {
                if let Some(q) = self.map.get_mut(&id)
                    && q.4
                {
                    q.4 = false;
                    q.2 += 1;
                    out.push((id, q.0, q.1));
                    self.timeline.push_back((due, id, q.3));
                }
            }
            out
        }
        fn pop_due(&mut self, now: u64) -> Vec<(u8, u32)> {
            let mut due = Vec::new();
            while let Some(&(t, id, g)) = self.timeline.front() {
                if t > now {
                    break;
                }
                if let Some(q) = self.map.get(&id)
                    && q.3 == g
                    && !q.4
                {
                    due.push((id, q.2));
                }
                self.timeline.pop_front();
            }
            due
        }
        fn resend(&mut self, id: u8) {
            self.generation += 1;
            let g = self.generation;
            if let Some(q) = self.map.get_mut(&id)
                && !q.4
            {
                q.4 = true;
                q.3 = g;
                self.unsent.push(id);
            }
        }
    }

    fn csa(id: u8, seq: u32, hops: u16) -> Csa {
        Csa {
            summary: Csas {
                hops,
                null: false,
                seq,
                id: rid(id),
            },
            data: crate::wire::Data::from(&[][..]),
        }
    }

    #[derive(Debug, Clone)]
    enum QOp {
        Enqueue(u8, u32, u16),
        Ack(u8, u32),
        Flush,
        Timers,
        Clear,
    }

    fn qop() -> impl Strategy<Value = QOp> {
        let id = 0u8..12;
        let seq = 0x8000_0001u32..0x8000_0005;
        prop_oneof![
            5 => (id.clone(), seq.clone(), 1u16..4).prop_map(|(i, s, h)| QOp::Enqueue(i, s, h)),
            4 => (id, seq).prop_map(|(i, s)| QOp::Ack(i, s)),
            3 => Just(QOp::Flush),
            2 => Just(QOp::Timers),
            1 => Just(QOp::Clear),
        ]
    }

    proptest! {
        /// The slotted queue behaves as the plain map: the same records sent, in the same order,
        /// with the same hop counts, the same acknowledgements matched, and the same
        /// retransmissions due.
        #[test]
        fn rexmit_queue_matches_the_plain_model(ops in proptest::collection::vec(qop(), 0..300)) {
            let mut q = RexmitQueue::new(crate::hash::state(3));
            let mut m = QueueModel::default();
            let mut clock = 0u64;
            for op in ops {
                match op {
                    QOp::Enqueue(i, s, h) => {
                        q.enqueue(csa(i, s, h));
                        m.enqueue(i, s, h);
                    }
                    QOp::Ack(i, s) => {
                        let got = q
                            .remove_if(&rid(i), |x| !seq::newer(x.csa.summary.seq, s))
                            .map(|x| x.csa.summary.seq);
                        prop_assert_eq!(got, m.ack(i, s));
                    }
                    QOp::Flush => {
                        clock += 1;
                        let now = Time::from_millis(clock);
                        let got: Vec<(u8, u32, u16)> = q
                            .take_unsent(now, |_| Duration::from_millis(2))
                            .iter()
                            .map(|c| (c.summary.id.key.as_bytes()[3], c.summary.seq, c.summary.hops))
                            .collect();
                        prop_assert_eq!(got, m.take(clock + 2));
                    }
                    QOp::Timers => {
                        clock += 1;
                        let now = Time::from_millis(clock);
                        let due: Vec<(u8, u32, u32)> = q
                            .pop_due(now)
                            .into_iter()
                            .map(|(slot, sends)| {
                                let id = q.slot(slot).map(|x| x.csa.summary.id.key.as_bytes()[3]);
                                (id.unwrap_or(u8::MAX), sends, slot)
                            })
                            .collect();
                        let want = m.pop_due(clock);
                        // The order among records due together is free (first sends and
                        // backed-off ones are kept apart); they are resent in the model's.
                        for &(id, _) in &want {
                            m.resend(id);
                            if let Some(&(_, _, slot)) = due.iter().find(|d| d.0 == id) {
                                q.resend(slot);
                            }
                        }
                        let mut got: Vec<(u8, u32)> = due.iter().map(|&(i, s, _)| (i, s)).collect();
                        let mut want = want;
                        got.sort_unstable();
                        want.sort_unstable();
                        prop_assert_eq!(got, want);
                    }
                    QOp::Clear => {
                        q.clear();
                        m = QueueModel { generation: m.generation, ..Default::default() };
                    }
                }
                prop_assert_eq!(q.len(), m.map.len());
                let next = q.next_due().map(|t| t.as_millis());
                let want = m
                    .timeline
                    .iter()
                    .find(|&&(_, id, g)| m.map.get(&id).is_some_and(|x| x.3 == g && !x.4))
                    .map(|&(t, ..)| t);
                prop_assert_eq!(next, want);
                for (&id, x) in &m.map {
                    prop_assert_eq!(q.get(&rid(id)).map(|y| y.csa.summary.seq), Some(x.0));
                }
            }
        }
    }
}
