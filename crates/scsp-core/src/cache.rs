//! The cache of one server group: one entry per (Cache Key, Originator ID) (2.4).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::event::EntryView;
use crate::hash::{HashState, Map};
use crate::wire::{Csa, Csas, Data, RecordId};
use crate::{DcsId, Time};

/// One cache entry: the newest instance of a record, live or deleted.
#[derive(Debug, Clone)]
pub struct Entry {
    /// CSA Sequence Number of the instance held.
    pub seq: u32,
    /// Protocol specific part.
    pub data: Data,
    /// The instance held is a deletion (or the entry expired): kept only so that older instances
    /// are recognised as older, until its hold time runs out.
    pub deleted: bool,
    /// The local server wants this entry (this server originated it and the local server has not
    /// given it up). Only entries whose originator is this server can be owned.
    pub owned: bool,
    /// Owned, and originated with the first sequence number without knowing whether an earlier
    /// incarnation exists elsewhere; cleared when a DCS shows the same instance.
    pub unconfirmed: bool,
    /// Where it was learned from (`None`: originated here).
    pub from: Option<DcsId>,
    /// When this instance arrived or was originated.
    pub since: Time,
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

/// What a timer on an entry is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum EntryTimer {
    /// A live instance reaches the end of its lifetime.
    Expire,
    /// A deleted instance is forgotten.
    Forget,
}

/// The entries, plus the timers that expire and forget them.
#[derive(Debug)]
pub struct Cache {
    map: Map<RecordId, Entry>,
    live: usize,
    timers: BinaryHeap<Reverse<(Time, EntryTimer, u32, RecordId)>>,
}

impl Cache {
    pub(crate) fn new(state: HashState) -> Self {
        Cache {
            map: Map::with_hasher(state),
            live: 0,
            timers: BinaryHeap::new(),
        }
    }

    /// Number of entries held, deleted ones included.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Number of live (not deleted) entries.
    pub fn live(&self) -> usize {
        self.live
    }

    /// The entry for `id`.
    pub fn get(&self, id: &RecordId) -> Option<&Entry> {
        self.map.get(id)
    }

    pub(crate) fn get_mut(&mut self, id: &RecordId) -> Option<&mut Entry> {
        self.map.get_mut(id)
    }

    /// Every entry, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&RecordId, &Entry)> {
        self.map.iter()
    }

    /// Make room for `additional` more entries at once (an alignment that will learn that many),
    /// rather than growing the table step by step as they arrive.
    pub(crate) fn reserve(&mut self, additional: usize) {
        self.map.reserve(additional);
    }

    /// Store `entry` for `id`, returning the instance it replaces.
    pub(crate) fn insert(&mut self, id: RecordId, entry: Entry) -> Option<Entry> {
        if !entry.deleted {
            self.live += 1;
        }
        let old = self.map.insert(id, entry);
        if let Some(o) = &old
            && !o.deleted
        {
            self.live -= 1;
        }
        old
    }

    pub(crate) fn remove(&mut self, id: &RecordId) -> Option<Entry> {
        let old = self.map.remove(id);
        if let Some(o) = &old
            && !o.deleted
        {
            self.live -= 1;
        }
        old
    }

    /// Mark the entry deleted in place (expiry), keeping its sequence number.
    pub(crate) fn mark_deleted(&mut self, id: &RecordId) {
        if let Some(e) = self.map.get_mut(id)
            && !e.deleted
        {
            e.deleted = true;
            self.live -= 1;
        }
    }

    pub(crate) fn schedule(&mut self, at: Time, what: EntryTimer, seq: u32, id: RecordId) {
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
            let current = self.map.get(&id).is_some_and(|e| {
                e.seq == seq
                    && match what {
                        EntryTimer::Expire => !e.deleted,
                        EntryTimer::Forget => e.deleted,
                    }
            });
            if current {
                return Some((what, id));
            }
        }
        None
    }
}
