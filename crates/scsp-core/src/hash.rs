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
