//! Hash maps with a hasher seeded by the caller.
//!
//! Cache keys and IDs come from the network, so the maps need a keyed hash (against collision
//! floods); and the simulator needs the same inputs to give the same outputs, iteration order
//! included. Both hold when the caller hands in the seed: random in the daemon, fixed in tests.

use std::collections::{HashMap, HashSet};

/// The hasher state of every map in a server.
pub type HashState = ahash::RandomState;
/// A map with a seeded hasher.
pub type Map<K, V> = HashMap<K, V, HashState>;
/// A set with a seeded hasher.
pub type Set<K> = HashSet<K, HashState>;

/// The hasher state for `seed`.
pub fn state(seed: u64) -> HashState {
    ahash::RandomState::with_seeds(
        seed,
        seed ^ 0x243f_6a88_85a3_08d3,
        seed.rotate_left(29) ^ 0x1319_8a2e_0370_7344,
        !seed,
    )
}

/// The occupant of slot `i` of a slot array indexed by a table of slot numbers (the cache's,
/// the retransmit queue's), if any.
pub(crate) fn occupant<T>(slots: &[Option<T>], i: u32) -> Option<&T> {
    slots.get(i as usize).and_then(Option::as_ref)
}

/// A hash table of 4-byte slot numbers into an array that holds the keys (the cache's, the
/// retransmit queue's), in one array of 8-byte buckets: a slot number beside 32 bits of its
/// key's hash. Open addressing with linear probing, at most half full; removal shifts the run
/// back (no tombstones).
///
/// A lookup reads one bucket line at random and, for a key that is there, its slot; an insert
/// writes the line the lookup read. (A table that keeps its control bytes and its buckets in two
/// arrays reads one line of each and writes both: a second miss per new record, which fills the
/// store buffer while a large table is being filled.) The 32 bits of hash, the high half, pick
/// the home bucket and filter the keys compared, so growing the table reads nothing else.
#[derive(Debug, Default)]
pub(crate) struct SlotIndex {
    buckets: Vec<u64>,
    len: usize,
}

/// An empty bucket (no slot is numbered `u32::MAX`).
const EMPTY: u64 = u64::MAX;

/// Where [`SlotIndex::find_or_vacant`] looked.
pub(crate) enum Probe {
    /// The key is in this slot.
    Found(u32),
    /// It is not there; [`SlotIndex::insert_vacant`] puts it in this bucket.
    Vacant(usize),
}

impl SlotIndex {
    /// The 32 bits of a 64-bit hash kept in a bucket.
    fn tag(hash: u64) -> u32 {
        (hash >> 32) as u32
    }

    fn bucket(tag: u32, slot: u32) -> u64 {
        (u64::from(tag) << 32) | u64::from(slot)
    }

    fn mask(&self) -> usize {
        self.buckets.len().wrapping_sub(1)
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn clear(&mut self) {
        self.buckets.fill(EMPTY);
        self.len = 0;
    }

    /// The slot of the key with `hash` for which `eq` holds.
    pub fn find(&self, hash: u64, eq: impl FnMut(u32) -> bool) -> Option<u32> {
        self.find_bucket(hash, eq).map(|(_, slot)| slot)
    }

    /// Read the home bucket of each of `hashes`, so that their lines are in the cache when the
    /// keys are then looked up one by one. These reads depend on nothing but the hashes, so the
    /// processor has many of them in flight at once; a lookup's miss waited for in turn is most
    /// of what a new record costs in a table of tens of MB.
    pub fn touch(&self, hashes: impl Iterator<Item = u64>) {
        let mask = self.mask();
        let mut acc = 0u64;
        for h in hashes {
            acc ^= self
                .buckets
                .get(Self::tag(h) as usize & mask)
                .copied()
                .unwrap_or(0);
        }
        std::hint::black_box(acc);
    }

    /// Look for the key, making room first for it to be inserted.
    pub fn find_or_vacant(&mut self, hash: u64, eq: impl FnMut(u32) -> bool) -> Probe {
        self.reserve(1);
        match self.probe(hash, eq) {
            Ok((_, slot)) => Probe::Found(slot),
            Err(at) => Probe::Vacant(at),
        }
    }

    /// Walk the run from the home bucket of `hash`: the bucket and slot of the key for which
    /// `eq` holds, or the empty bucket that ends the run (in a table with no buckets, `Err`
    /// names none).
    fn probe(&self, hash: u64, mut eq: impl FnMut(u32) -> bool) -> Result<(usize, u32), usize> {
        let tag = Self::tag(hash);
        let mask = self.mask();
        let mut i = tag as usize & mask;
        loop {
            let Some(&b) = self.buckets.get(i) else {
                return Err(i);
            };
            if b == EMPTY {
                return Err(i);
            }
            if (b >> 32) as u32 == tag && eq(b as u32) {
                return Ok((i, b as u32));
            }
            i = (i + 1) & mask;
        }
    }

    /// Insert `slot` for a key with `hash` in the bucket [`SlotIndex::find_or_vacant`] returned
    /// (with nothing inserted or removed since).
    pub fn insert_vacant(&mut self, at: usize, hash: u64, slot: u32) {
        debug_assert!(slot != u32::MAX);
        if let Some(b) = self.buckets.get_mut(at) {
            *b = Self::bucket(Self::tag(hash), slot);
            self.len += 1;
        }
    }

    /// The bucket and slot of the key with `hash` for which `eq` holds (for
    /// [`SlotIndex::remove_bucket`]).
    pub fn find_bucket(&self, hash: u64, eq: impl FnMut(u32) -> bool) -> Option<(usize, u32)> {
        self.probe(hash, eq).ok()
    }

    /// Remove the key with `hash` for which `eq` holds, returning its slot.
    pub fn remove(&mut self, hash: u64, eq: impl FnMut(u32) -> bool) -> Option<u32> {
        let (at, slot) = self.find_bucket(hash, eq)?;
        self.remove_bucket(at);
        Some(slot)
    }

    /// Empty bucket `at` (from [`SlotIndex::find_bucket`], with nothing inserted or removed
    /// since), shifting back the buckets after it in the run that may move to the hole.
    pub fn remove_bucket(&mut self, at: usize) {
        let mask = self.mask();
        if self.buckets.get(at).is_none_or(|&b| b == EMPTY) {
            return;
        }
        let mut hole = at;
        let mut j = at;
        loop {
            j = (j + 1) & mask;
            let b = self.buckets.get(j).copied().unwrap_or(EMPTY);
            if b == EMPTY {
                break;
            }
            let home = (b >> 32) as usize & mask;
            // `b` may fill the hole unless its home lies cyclically in (hole, j].
            if (j.wrapping_sub(home) & mask) >= (j.wrapping_sub(hole) & mask) {
                if let Some(h) = self.buckets.get_mut(hole) {
                    *h = b;
                }
                hole = j;
            }
        }
        if let Some(h) = self.buckets.get_mut(hole) {
            *h = EMPTY;
        }
        self.len -= 1;
    }

    /// Make room for `additional` more keys without growing.
    pub fn reserve(&mut self, additional: usize) {
        let need = self.len.saturating_add(additional).saturating_mul(2);
        if need > self.buckets.len() {
            self.resize(need.next_power_of_two().max(8));
        }
    }

    fn resize(&mut self, n: usize) {
        let old = std::mem::replace(&mut self.buckets, vec![EMPTY; n]);
        let mask = n - 1;
        for b in old.into_iter().filter(|&b| b != EMPTY) {
            let mut i = (b >> 32) as usize & mask;
            while self.buckets.get(i).is_some_and(|&x| x != EMPTY) {
                i = (i + 1) & mask;
            }
            if let Some(x) = self.buckets.get_mut(i) {
                *x = b;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u16),
        Remove(u16),
        Find(u16),
        Reserve(u8),
        Clear,
    }

    fn op() -> impl Strategy<Value = Op> {
        // Few keys, and a hash that collides a lot (see `h`), so that runs wrap and removals
        // shift long runs back.
        prop_oneof![
            5 => (0u16..300).prop_map(Op::Insert),
            3 => (0u16..300).prop_map(Op::Remove),
            3 => (0u16..300).prop_map(Op::Find),
            1 => any::<u8>().prop_map(Op::Reserve),
            1 => Just(Op::Clear),
        ]
    }

    /// A hash whose high half takes few values, some near the end of the table.
    fn h(k: u16) -> u64 {
        let hi =
            u64::from(k % 37) * 0x0700_0000 + if k.is_multiple_of(5) { 0xffff_fff0 } else { 0 };
        (hi << 32) | u64::from(k)
    }

    proptest! {
        /// The table maps keys to slots as a plain map does: every key inserted is found at its
        /// slot until removed; no other is found.
        #[test]
        fn slot_index_matches_a_map(ops in proptest::collection::vec(op(), 0..400)) {
            let mut t = SlotIndex::default();
            // slot -> key, as the arrays the table indexes hold them.
            let mut keys: HashMap<u32, u16> = HashMap::new();
            let mut model: HashMap<u16, u32> = HashMap::new();
            let mut next = 0u32;
            for op in ops {
                match op {
                    Op::Insert(k) => {
                        let probe = t.find_or_vacant(h(k), |s| keys.get(&s) == Some(&k));
                        match probe {
                            Probe::Found(s) => prop_assert_eq!(model.get(&k), Some(&s)),
                            Probe::Vacant(at) => {
                                prop_assert!(!model.contains_key(&k));
                                t.insert_vacant(at, h(k), next);
                                keys.insert(next, k);
                                model.insert(k, next);
                                next += 1;
                            }
                        }
                    }
                    Op::Remove(k) => {
                        let got = t.remove(h(k), |s| keys.get(&s) == Some(&k));
                        prop_assert_eq!(got, model.remove(&k));
                        if let Some(s) = got {
                            keys.remove(&s);
                        }
                    }
                    Op::Find(k) => {
                        let got = t.find(h(k), |s| keys.get(&s) == Some(&k));
                        prop_assert_eq!(got, model.get(&k).copied());
                    }
                    Op::Reserve(n) => t.reserve(usize::from(n)),
                    Op::Clear => {
                        t.clear();
                        keys.clear();
                        model.clear();
                    }
                }
                prop_assert_eq!(t.len(), model.len());
                prop_assert!(t.buckets.is_empty() || t.len() * 2 <= t.buckets.len());
                for (&k, &s) in &model {
                    prop_assert_eq!(t.find(h(k), |x| keys.get(&x) == Some(&k)), Some(s));
                }
            }
        }
    }
}
