//! The cache of one server group: one entry per (Cache Key, Originator ID) (2.4).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::event::EntryView;
use crate::hash::{HashState, Probe, SlotIndex};
use crate::wire::{Csa, Csas, Data, RecordId};
use crate::{DcsId, Time};

/// One cache entry: the newest instance of a record, live or deleted.
///
/// 64 bytes, one cache line, of which 48 are the data (held inline up to 40 bytes: see
/// [`Data`]): where it came from and the four flags share one word (see [`Entry::from`],
/// [`Entry::deleted`], [`Entry::owned`], [`Entry::unconfirmed`], [`Entry::contested`]).
#[derive(Debug, Clone)]
pub struct Entry {
    /// CSA Sequence Number of the instance held.
    pub seq: u32,
    /// The DCS it was learned from (`FROM_NONE`: originated here) in the low bits, then the
    /// flags.
    bits: u32,
    /// Protocol specific part.
    pub data: Data,
    /// When this instance arrived or was originated.
    pub since: Time,
}

const DELETED: u32 = 1 << 31;
const OWNED: u32 = 1 << 30;
const UNCONFIRMED: u32 = 1 << 29;
const CONTESTED: u32 = 1 << 28;
/// The bits that hold the DCS.
const FROM_MASK: u32 = CONTESTED - 1;
/// `from` for an entry originated here.
const FROM_NONE: u32 = FROM_MASK;
/// `from` for an entry learned before a restart and read back from the server's saved state
/// (which DCS it came from is not kept: DCS numbers change with the configuration).
const FROM_STORE: u32 = FROM_MASK - 1;

impl Entry {
    /// An entry; `from` is the DCS it was learned from (`None`: originated here).
    ///
    /// # Panics
    ///
    /// If the DCS's number does not fit in 28 bits (DCSs are numbered from 0 in the order they
    /// are configured).
    pub fn new(
        seq: u32,
        data: Data,
        from: Option<DcsId>,
        since: Time,
        deleted: bool,
        owned: bool,
        unconfirmed: bool,
    ) -> Self {
        let from = match from {
            None => FROM_NONE,
            Some(DcsId(d)) => {
                assert!(d < FROM_STORE, "DCS number {d} does not fit in an entry");
                d
            }
        };
        let mut e = Entry {
            seq,
            bits: from,
            data,
            since,
        };
        e.set_deleted(deleted);
        e.set_owned(owned);
        e.set_unconfirmed(unconfirmed);
        e
    }

    fn flag(&self, f: u32) -> bool {
        self.bits & f != 0
    }

    fn set_flag(&mut self, f: u32, on: bool) {
        if on {
            self.bits |= f;
        } else {
            self.bits &= !f;
        }
    }

    /// Where it was learned from (`None`: originated here, or read back from the saved state:
    /// see [`Entry::restored`]).
    pub fn from(&self) -> Option<DcsId> {
        let d = self.bits & FROM_MASK;
        (d != FROM_NONE && d != FROM_STORE).then_some(DcsId(d))
    }

    /// Learned before a restart and read back from the saved state ([`crate::Server::restore`]),
    /// not heard again since.
    pub fn restored(&self) -> bool {
        self.bits & FROM_MASK == FROM_STORE
    }

    /// An entry read back from the saved state: learned (`owned` false and another originator),
    /// or one of ours, unclaimed until the local server claims it.
    pub(crate) fn restored_entry(seq: u32, data: Data, since: Time, deleted: bool) -> Self {
        let mut e = Entry::new(seq, data, None, since, deleted, false, false);
        e.bits = (e.bits & !FROM_MASK) | FROM_STORE;
        e
    }

    /// The instance held is a deletion (or the entry expired): kept only so that older instances
    /// are recognised as older, until its hold time runs out.
    pub fn deleted(&self) -> bool {
        self.flag(DELETED)
    }

    /// The local server wants this entry (this server originated it and the local server has not
    /// given it up). Only entries whose originator is this server can be owned.
    pub fn owned(&self) -> bool {
        self.flag(OWNED)
    }

    /// Owned, and originated with the first sequence number without knowing whether an earlier
    /// incarnation exists elsewhere; cleared when a DCS shows the same instance.
    pub fn unconfirmed(&self) -> bool {
        self.flag(UNCONFIRMED)
    }

    /// This instance won over another one under the same number (B.2.0.2's equal numbers: an
    /// originator that lost its state numbered again; docs/rfc2334-readings.md, "equal
    /// numbers"). A DCS may still hold the one that lost, and Cache Alignment, which compares
    /// numbers, cannot tell them apart: so during alignment a DCS's instance at this number is
    /// fetched to compare, as for an [`Entry::unconfirmed`] entry of ours. Kept until a newer
    /// instance replaces this one (not in the saved state).
    pub fn contested(&self) -> bool {
        self.flag(CONTESTED)
    }

    /// Whether this entry enters the reconciliation's cells under a symbol of its own, so that
    /// it always shows as a difference and is compared as the full summary exchange compares it
    /// (docs/reconciliation.md §6): an entry of ours numbered -2^31+1 without knowing what an
    /// earlier incarnation left (unconfirmed), or a contested one.
    pub(crate) fn distinct_symbol(&self) -> bool {
        self.contested() || (self.unconfirmed() && self.seq == crate::wire::SEQ_FIRST)
    }

    pub(crate) fn set_contested(&mut self, on: bool) {
        self.set_flag(CONTESTED, on);
    }

    pub(crate) fn set_deleted(&mut self, on: bool) {
        self.set_flag(DELETED, on);
    }

    pub(crate) fn set_owned(&mut self, on: bool) {
        self.set_flag(OWNED, on);
    }

    pub(crate) fn set_unconfirmed(&mut self, on: bool) {
        self.set_flag(UNCONFIRMED, on);
    }
}

impl Entry {
    /// The summary of this entry as a CSAS record with the given Hop Count.
    pub fn csas(&self, id: &RecordId, hops: u16) -> Csas {
        Csas {
            hops,
            null: false,
            seq: self.seq,
            id: id.clone(),
        }
    }

    /// The entry as a CSA record with the given Hop Count.
    pub fn csa(&self, id: &RecordId, hops: u16) -> Csa {
        Csa {
            summary: self.csas(id, hops),
            data: self.data.clone(),
        }
    }

    /// The entry as the local server sees it.
    pub fn view(&self, id: &RecordId) -> EntryView {
        EntryView {
            id: id.clone(),
            seq: self.seq,
            data: self.data.clone(),
        }
    }
}

/// What an entry costs beyond its Cache Key, Originator ID and data, in bytes, for
/// [`crate::ServerConfig::max_cache_bytes`]: its slot (96: the identity and the [`Entry`], with
/// up to 12 bytes of each ID and 40 of data inline), its share of the index (8-byte buckets, at
/// most half full: 16), and a timer (48: a deleted entry's, or one with a lifetime). The bytes
/// held inline are counted twice, and the slack of the arrays as they grow (up to twice their
/// length) not at all: an estimate of the memory held, not an exact count.
pub const ENTRY_OVERHEAD: usize = 160;

/// The bytes an entry for `id` holding `data` counts against
/// [`crate::ServerConfig::max_cache_bytes`].
pub fn entry_cost(id: &RecordId, data: &[u8]) -> usize {
    id.key.len() + id.origin.len() + data.len() + ENTRY_OVERHEAD
}

/// What a timer on an entry is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum EntryTimer {
    /// A live instance reaches the end of its lifetime.
    Expire,
    /// A deleted instance is forgotten.
    Forget,
}

/// The entries, plus the timers that expire and forget them.
///
/// The entries sit in a dense `Vec` of slots and the hash table ([`SlotIndex`]) holds only their
/// 4-byte indices beside 4 bytes of hash: at 1,000,000 entries 2²¹ buckets of 8 bytes, instead
/// of a whole (`RecordId`, `Entry`) of 96 each. Iterating walks the slots in order.
#[derive(Debug)]
pub struct Cache {
    state: HashState,
    /// Indices into `slots`.
    index: SlotIndex,
    /// The entries; `None` for a free slot (its index is in `free`).
    slots: Vec<Option<(RecordId, Entry)>>,
    free: Vec<u32>,
    live: usize,
    /// The [`entry_cost`] of every entry held.
    bytes: usize,
    timers: BinaryHeap<Reverse<(Time, EntryTimer, u32, RecordId)>>,
    /// Timers left by the last sweep of [`Cache::schedule`] (so that sweeps stay amortized).
    timers_kept: usize,
    /// The entries changed (stored, replaced, altered, removed) since the last
    /// [`Cache::drain_changes`], when tracked ([`crate::Server::set_track_changes`]).
    changes: Option<Changes>,
    /// The slots changed since the reconciliation state last took them
    /// ([`Cache::take_recon_marks`]), when kept (docs/reconciliation.md §4).
    recon_marks: Option<Marks>,
}

/// Slots marked once each, in the order first marked.
#[derive(Debug, Default)]
pub(crate) struct Marks {
    slots: Vec<u32>,
    marked: Vec<bool>,
}

impl Marks {
    fn mark(&mut self, i: u32) {
        let at = i as usize;
        if self.marked.len() <= at {
            self.marked.resize(at + 1, false);
        }
        if !self.marked[at] {
            self.marked[at] = true;
            self.slots.push(i);
        }
    }

    /// At most `limit` marked slots, the first marked first, unmarked.
    fn take(&mut self, limit: usize) -> Vec<u32> {
        let n = self.slots.len().min(limit);
        let taken: Vec<u32> = self.slots.drain(..n).collect();
        for &i in &taken {
            if let Some(b) = self.marked.get_mut(i as usize) {
                *b = false;
            }
        }
        taken
    }

    fn len(&self) -> usize {
        self.slots.len()
    }
}

/// Which entries changed: the slots stored into or altered (each once), and the entries removed.
#[derive(Debug, Default)]
struct Changes {
    /// Slots stored into or altered.
    slots: Marks,
    /// Entries removed, in order (one may come back later: its slot is then marked too).
    removed: Vec<RecordId>,
}

/// The entry in slot `i` (one the table points at: always occupied).
fn slot(slots: &[Option<(RecordId, Entry)>], i: u32) -> Option<&(RecordId, Entry)> {
    crate::hash::occupant(slots, i)
}

impl Cache {
    pub(crate) fn new(state: HashState) -> Self {
        Cache {
            state,
            index: SlotIndex::default(),
            slots: Vec::new(),
            free: Vec::new(),
            live: 0,
            bytes: 0,
            timers: BinaryHeap::new(),
            timers_kept: 0,
            changes: None,
            recon_marks: None,
        }
    }

    /// Record, or stop recording, which entries change.
    pub(crate) fn track_changes(&mut self, on: bool) {
        match (on, &self.changes) {
            (true, None) => self.changes = Some(Changes::default()),
            (false, Some(_)) => self.changes = None,
            _ => {}
        }
    }

    /// Report what changed since the last call and forget it: first `f(id, None)` for each
    /// entry removed, then `f(id, Some(entry))` for each entry stored or altered, as it is now
    /// (an entry removed and stored again is reported both ways, in that order, so that applying
    /// the calls in order leaves what the cache holds).
    /// At most `limit` stored or altered entries are reported; returns how many remain.
    pub(crate) fn drain_changes(
        &mut self,
        limit: usize,
        mut f: impl FnMut(&RecordId, Option<&Entry>),
    ) -> usize {
        let Some(c) = &mut self.changes else {
            return 0;
        };
        for id in c.removed.drain(..) {
            f(&id, None);
        }
        for i in c.slots.take(limit) {
            if let Some((id, e)) = slot(&self.slots, i) {
                f(id, Some(e));
            }
        }
        c.slots.len()
    }

    /// Entries changed and not yet reported (removals included).
    pub(crate) fn changes_pending(&self) -> usize {
        self.changes
            .as_ref()
            .map_or(0, |c| c.slots.len() + c.removed.len())
    }

    /// Count every entry held as changed.
    pub(crate) fn mark_all_changed(&mut self) {
        let occupied: Vec<u32> = (0..self.slots.len() as u32)
            .filter(|&i| slot(&self.slots, i).is_some())
            .collect();
        for i in occupied {
            self.changed(i);
        }
    }

    /// Mark, or stop marking, the slots that change for the reconciliation state.
    pub(crate) fn keep_recon_marks(&mut self, on: bool) {
        match (on, &self.recon_marks) {
            (true, None) => self.recon_marks = Some(Marks::default()),
            (false, Some(_)) => self.recon_marks = None,
            _ => {}
        }
    }

    /// At most `limit` slots changed since the last call (each once), unmarked.
    pub(crate) fn take_recon_marks(&mut self, limit: usize) -> Vec<u32> {
        self.recon_marks
            .as_mut()
            .map_or_else(Vec::new, |m| m.take(limit))
    }

    /// Slots changed and not yet taken by [`Cache::take_recon_marks`].
    pub(crate) fn recon_marks_pending(&self) -> usize {
        self.recon_marks.as_ref().map_or(0, Marks::len)
    }

    /// The entry in slot `i`, if it is occupied.
    pub(crate) fn at_slot(&self, i: u32) -> Option<(&RecordId, &Entry)> {
        slot(&self.slots, i).map(|(k, e)| (k, e))
    }

    /// Number of slots (occupied or free).
    pub(crate) fn slot_count(&self) -> u32 {
        self.slots.len() as u32
    }

    /// Slot `i` was stored into or altered.
    fn changed(&mut self, i: u32) {
        if let Some(m) = &mut self.recon_marks {
            m.mark(i);
        }
        if let Some(c) = &mut self.changes {
            c.slots.mark(i);
        }
    }

    /// Number of entries held, deleted ones included.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Number of live (not deleted) entries.
    pub fn live(&self) -> usize {
        self.live
    }

    /// The [`entry_cost`] of every entry held, deleted ones included.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    fn find(&self, id: &RecordId) -> Option<u32> {
        self.find_hashed(self.hash(id), id)
    }

    fn find_hashed(&self, hash: u64, id: &RecordId) -> Option<u32> {
        let slots = &self.slots;
        self.index
            .find(hash, |i| slot(slots, i).is_some_and(|(k, _)| k == id))
    }

    /// The entry for `id`, whose hash is `hash`.
    pub(crate) fn get_hashed(&self, hash: u64, id: &RecordId) -> Option<&Entry> {
        let i = self.find_hashed(hash, id)?;
        slot(&self.slots, i).map(|(_, e)| e)
    }

    /// The hash of `id` in this cache's table, for the `_hashed` calls.
    pub(crate) fn hash(&self, id: &RecordId) -> u64 {
        self.state.hash_one(id)
    }

    /// Bring the table lines where the keys of `hashes` are looked for into the processor's
    /// cache, all at once (see [`SlotIndex::touch`]), before they are looked up one by one.
    pub(crate) fn touch(&self, hashes: &[u64]) {
        self.index.touch(hashes.iter().copied());
    }

    /// The entry for `id`.
    pub fn get(&self, id: &RecordId) -> Option<&Entry> {
        let i = self.find(id)?;
        slot(&self.slots, i).map(|(_, e)| e)
    }

    /// The entry for `id`, looked for first in slot `hint`, which then moves to the slot after
    /// the entry's. A DCS solicits the entries it lacks in the order this cache summarized
    /// them, which is the order of the slots: each is then found by reading the next slot, not
    /// by a probe of the table at random.
    pub(crate) fn get_near(&self, hint: &mut u32, id: &RecordId) -> Option<&Entry> {
        let i = match slot(&self.slots, *hint) {
            Some((k, _)) if k == id => *hint,
            _ => self.find(id)?,
        };
        *hint = i.wrapping_add(1);
        slot(&self.slots, i).map(|(_, e)| e)
    }

    /// The entry in slot `i` to alter, if it is occupied (marked changed, as by
    /// [`Cache::get_mut`]).
    pub(crate) fn at_slot_mut(&mut self, i: u32) -> Option<(&RecordId, &mut Entry)> {
        if !matches!(self.slots.get(i as usize), Some(Some(_))) {
            return None;
        }
        self.changed(i);
        match self.slots.get_mut(i as usize) {
            Some(Some((id, e))) => Some((&*id, e)),
            _ => None,
        }
    }

    pub(crate) fn get_mut(&mut self, id: &RecordId) -> Option<&mut Entry> {
        let i = self.find(id)?;
        self.changed(i);
        match self.slots.get_mut(i as usize) {
            Some(Some((_, e))) => Some(e),
            _ => None,
        }
    }

    /// Every entry, in no particular order (the order of the slots: a walk through memory, not
    /// a hop per entry).
    pub fn iter(&self) -> impl Iterator<Item = (&RecordId, &Entry)> {
        self.slots.iter().flatten().map(|(k, e)| (k, e))
    }

    /// Every entry from slot `from` on, with its slot: a walk that can stop and go on later from
    /// the slot after the last one seen (entries never move between slots; one stored meanwhile
    /// in a slot already passed is not seen).
    pub fn iter_from(&self, from: usize) -> impl Iterator<Item = (usize, &RecordId, &Entry)> {
        self.slots
            .get(from..)
            .unwrap_or(&[])
            .iter()
            .enumerate()
            .filter_map(move |(i, s)| s.as_ref().map(|(k, e)| (from + i, k, e)))
    }

    /// Make room for `additional` more entries at once (an alignment that will learn that many),
    /// rather than growing the table step by step as they arrive.
    pub(crate) fn reserve(&mut self, additional: usize) {
        self.index.reserve(additional);
        self.slots
            .reserve(additional.saturating_sub(self.free.len()));
    }

    /// Store `entry` for `id`, returning the instance it replaces.
    pub(crate) fn insert(&mut self, id: RecordId, entry: Entry) -> Option<Entry> {
        self.insert_hashed(self.hash(&id), id, entry)
    }

    /// [`Cache::insert`], with the hash of `id`.
    pub(crate) fn insert_hashed(&mut self, hash: u64, id: RecordId, entry: Entry) -> Option<Entry> {
        if !entry.deleted() {
            self.live += 1;
        }
        let fixed = entry_cost(&id, &[]);
        self.bytes += fixed + entry.data.len();
        let slots = &self.slots;
        let old = match self
            .index
            .find_or_vacant(hash, |i| slot(slots, i).is_some_and(|(k, _)| *k == id))
        {
            Probe::Found(i) => {
                self.changed(i);
                match self.slots.get_mut(i as usize) {
                    Some(Some((_, e))) => Some(std::mem::replace(e, entry)),
                    _ => None,
                }
            }
            Probe::Vacant(at) => {
                let i = match self.free.pop() {
                    Some(i) => {
                        if let Some(s) = self.slots.get_mut(i as usize) {
                            *s = Some((id, entry));
                        }
                        i
                    }
                    None => {
                        let i = u32::try_from(self.slots.len())
                            .ok()
                            .filter(|&i| i != u32::MAX)
                            .expect("fewer than 2^32 - 1 cache entries");
                        self.slots.push(Some((id, entry)));
                        i
                    }
                };
                self.index.insert_vacant(at, hash, i);
                self.changed(i);
                None
            }
        };
        if let Some(o) = &old {
            self.bytes -= fixed + o.data.len();
            if !o.deleted() {
                self.live -= 1;
            }
        }
        old
    }

    pub(crate) fn remove(&mut self, id: &RecordId) -> Option<Entry> {
        let slots = &self.slots;
        let i = self.index.remove(self.hash(id), |i| {
            slot(slots, i).is_some_and(|(k, _)| k == id)
        })?;
        let old = self.slots.get_mut(i as usize)?.take().map(|(_, e)| e);
        self.free.push(i);
        if let Some(c) = &mut self.changes {
            c.removed.push(id.clone());
        }
        if let Some(m) = &mut self.recon_marks {
            m.mark(i);
        }
        if let Some(o) = &old {
            self.bytes -= entry_cost(id, &o.data);
            if !o.deleted() {
                self.live -= 1;
            }
        }
        old
    }

    /// Mark the entry deleted in place (expiry), keeping its sequence number.
    pub(crate) fn mark_deleted(&mut self, id: &RecordId) {
        if let Some(e) = self.get_mut(id)
            && !e.deleted()
        {
            e.set_deleted(true);
            self.live -= 1;
        }
    }

    pub(crate) fn schedule(&mut self, at: Time, what: EntryTimer, seq: u32, id: RecordId) {
        // Timers of instances since replaced stay until they are due: when they outnumber the
        // entries, they go (so that a DCS updating one entry again and again, each instance
        // with a timer, cannot grow the heap for the hour a deletion is held).
        if self.timers.len() >= 2 * self.len().max(self.timers_kept) + 1024 {
            let timers = std::mem::take(&mut self.timers);
            self.timers = timers
                .into_iter()
                .filter(|Reverse((_, what, seq, id))| {
                    self.get(id).is_some_and(|e| {
                        e.seq == *seq
                            && match what {
                                EntryTimer::Expire => !e.deleted(),
                                EntryTimer::Forget => e.deleted(),
                            }
                    })
                })
                .collect();
            self.timers_kept = self.timers.len();
        }
        self.timers.push(Reverse((at, what, seq, id)));
    }

    pub(crate) fn next_timer(&self) -> Option<Time> {
        self.timers.peek().map(|Reverse((t, ..))| *t)
    }

    /// Pop the next timer due at `now` whose entry still holds the instance it was set for.
    pub(crate) fn pop_due(&mut self, now: Time) -> Option<(EntryTimer, RecordId)> {
        while let Some(Reverse((t, ..))) = self.timers.peek() {
            if *t > now {
                return None;
            }
            let Reverse((_, what, seq, id)) = self.timers.pop()?;
            let current = self.get(&id).is_some_and(|e| {
                e.seq == seq
                    && match what {
                        EntryTimer::Expire => !e.deleted(),
                        EntryTimer::Forget => e.deleted(),
                    }
            });
            if current {
                return Some((what, id));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        // A cache slot: the record's identity and its entry (see `Cache`).
        assert_eq!(std::mem::size_of::<Entry>(), 64);
        assert_eq!(std::mem::size_of::<RecordId>(), 32);
        assert_eq!(std::mem::size_of::<Option<(RecordId, Entry)>>(), 96);
    }

    #[test]
    fn get_near_follows_the_slots_and_falls_back_to_the_table() {
        let mut c = Cache::new(crate::hash::state(1));
        let id = |k: u8| RecordId {
            key: crate::wire::Id::from([k, 0, 0, 1]),
            origin: crate::wire::Id::from([9, 9, 9, 9]),
        };
        let data: Data = Data::from(&b"x"[..]);
        for k in 0..10 {
            let e = Entry::new(
                u32::from(k),
                data.clone(),
                None,
                Time(0),
                false,
                true,
                false,
            );
            c.insert(id(k), e);
        }
        // In slot order: each found in the slot hinted, the hint moving on.
        let mut hint = 0;
        for k in 0..10 {
            assert_eq!(
                c.get_near(&mut hint, &id(k)).map(|e| e.seq),
                Some(u32::from(k))
            );
            assert_eq!(hint, u32::from(k) + 1);
        }
        // Out of order, and with a hint past the end: found through the table.
        let mut hint = 10;
        assert_eq!(c.get_near(&mut hint, &id(3)).map(|e| e.seq), Some(3));
        assert_eq!(hint, 4);
        assert_eq!(c.get_near(&mut hint, &id(7)).map(|e| e.seq), Some(7));
        assert_eq!(hint, 8);
        // Absent: not found, the hint unchanged.
        assert!(c.get_near(&mut hint, &id(42)).is_none());
        assert_eq!(hint, 8);
        // A removed entry's slot no longer matches.
        c.remove(&id(8));
        assert!(c.get_near(&mut hint, &id(8)).is_none());
        assert_eq!(c.get_near(&mut hint, &id(9)).map(|e| e.seq), Some(9));
    }

    #[test]
    fn timers_of_replaced_instances_are_swept_when_they_outnumber_the_entries() {
        // One entry deleted again and again, each instance with its timer: the heap does not
        // grow with the updates, and the current instance's timer survives the sweeps.
        let mut c = Cache::new(crate::hash::state(1));
        let id = RecordId {
            key: crate::wire::Id::from([1, 2, 3, 4]),
            origin: crate::wire::Id::from([9, 9, 9, 9]),
        };
        for seq in 0..100_000u32 {
            let e = Entry::new(seq, Data::from(&b""[..]), None, Time(0), true, false, false);
            c.insert(id.clone(), e);
            c.schedule(Time(u64::from(seq)), EntryTimer::Forget, seq, id.clone());
            assert!(c.timers.len() <= 2 * c.len() + 1024 + 1);
        }
        assert_eq!(c.pop_due(Time(u64::MAX)), Some((EntryTimer::Forget, id)));
        assert_eq!(c.pop_due(Time(u64::MAX)), None);
    }

    #[test]
    fn cache_bytes_follow_inserts_replacements_and_removals() {
        let mut c = Cache::new(crate::hash::state(1));
        let id = |k: u8| RecordId {
            key: crate::wire::Id::new(&[k; 20]).unwrap(),
            origin: crate::wire::Id::from([9, 9, 9, 9]),
        };
        let e = |n: usize| {
            Entry::new(
                1,
                Data::from(&vec![7u8; n][..]),
                None,
                Time(0),
                false,
                true,
                false,
            )
        };
        c.insert(id(1), e(100));
        c.insert(id(2), e(3));
        assert_eq!(c.bytes(), 2 * (20 + 4 + ENTRY_OVERHEAD) + 103);
        c.insert(id(1), e(0));
        assert_eq!(c.bytes(), 2 * (20 + 4 + ENTRY_OVERHEAD) + 3);
        c.remove(&id(2));
        assert_eq!(c.bytes(), entry_cost(&id(1), &[]));
        c.remove(&id(1));
        assert_eq!(c.bytes(), 0);
    }

    #[test]
    fn packed_fields() {
        let data: Data = Data::from(&b"x"[..]);
        for from in [
            None,
            Some(DcsId(0)),
            Some(DcsId(7)),
            Some(DcsId(FROM_STORE - 1)),
        ] {
            for bits in 0..16u8 {
                let (d, o, u, c) = (bits & 1 != 0, bits & 2 != 0, bits & 4 != 0, bits & 8 != 0);
                let mut e = Entry::new(9, data.clone(), from, Time(5), d, o, u);
                e.set_contested(c);
                assert_eq!(
                    (
                        e.from(),
                        e.deleted(),
                        e.owned(),
                        e.unconfirmed(),
                        e.contested()
                    ),
                    (from, d, o, u, c)
                );
                e.set_deleted(!d);
                e.set_owned(!o);
                e.set_unconfirmed(!u);
                e.set_contested(!c);
                assert_eq!(
                    (
                        e.from(),
                        e.deleted(),
                        e.owned(),
                        e.unconfirmed(),
                        e.contested()
                    ),
                    (from, !d, !o, !u, !c)
                );
                assert_eq!((e.seq, e.since), (9, Time(5)));
            }
        }
    }

    #[test]
    fn drained_changes_applied_in_order_give_the_cache() {
        let id = |n: u32| RecordId {
            key: crate::wire::Id::new(&n.to_be_bytes()).unwrap(),
            origin: crate::wire::Id::from([1, 2, 3, 4]),
        };
        let mut c = Cache::new(crate::hash::state(7));
        c.track_changes(true);
        let mut copy: std::collections::HashMap<RecordId, (u32, bool)> = Default::default();
        let mut x: u64 = 1;
        for step in 0..20_000u32 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let k = id((x >> 33) as u32 % 64);
            match (x >> 20) % 4 {
                0 | 1 => {
                    let data: Data = Data::from(&step.to_be_bytes()[..]);
                    c.insert(
                        k,
                        Entry::new(step, data, None, Time(0), false, false, false),
                    );
                }
                2 => {
                    c.remove(&k);
                }
                _ => c.mark_deleted(&k),
            }
            if (x >> 40).is_multiple_of(7) {
                let limit = if step % 3 == 0 { 5 } else { usize::MAX };
                let left = c.drain_changes(limit, |id, e| match e {
                    None => {
                        copy.remove(id);
                    }
                    Some(e) => {
                        copy.insert(id.clone(), (e.seq, e.deleted()));
                    }
                });
                if left > 0 {
                    continue;
                }
                let held: std::collections::HashMap<RecordId, (u32, bool)> = c
                    .iter()
                    .map(|(id, e)| (id.clone(), (e.seq, e.deleted())))
                    .collect();
                assert_eq!(copy, held, "after step {step}");
            }
        }
    }
}
