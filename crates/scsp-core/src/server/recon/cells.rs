//! The cells kept per key: the server's own and those under its masters' keys, brought up to
//! date from the slots the cache marks (docs/reconciliation.md §4), in bounded batches between
//! packets, or rebuilt by a pass over the cache (itself in batches) when a whole cache of changes
//! comes at once.

use scsp_recon::{Instance, Key, Prefix};

use super::Session;
use crate::Time;
use crate::server::Server;
use crate::server::bulk::Bulk;

/// XORed into the symbol of an unconfirmed entry of ours (see [`Keyed::apply`]).
pub(super) const UNCONFIRMED: u64 = 0x554e_434f_4e46_524d;

/// At least this many marks at once (and at least half the cache) start a key's rebuild.
const STALE_MARKS: usize = 4096;

/// The cells of the cache under one key, with the symbol applied per slot.
pub(crate) struct Keyed {
    pub(super) prefix: Prefix<u32>,
    /// `applied[slot]`: the symbol of the instance the cells hold for that slot (0: none).
    pub(super) applied: Vec<u64>,
    /// Two instances with the same symbol (probability about N²/2^65): not used any more.
    pub(super) broken: bool,
    /// Being rebuilt by a pass over the cache, slots before this one done: marks came so many
    /// at once that the pass costs no more than applying them. The pass goes on in batches
    /// between packets ([`Keyed::rebuild_some`]), and is finished at once if the cells are
    /// needed before ([`Keyed::fresh`]); a mark of a slot the pass has not reached waits for it.
    pub(super) rebuild: Option<u32>,
}

impl Keyed {
    pub(super) fn new(key: Key, cells: usize) -> Self {
        Keyed {
            prefix: Prefix::new(key, cells),
            applied: Vec::new(),
            broken: false,
            rebuild: None,
        }
    }

    /// The cells up to date: a rebuild under way finished at once.
    pub(super) fn fresh(&mut self, cache: &crate::cache::Cache) {
        while self.rebuild.is_some() {
            self.rebuild_some(cache, usize::MAX);
        }
    }

    /// Every occupied slot applied (a new key).
    pub(super) fn build(&mut self, cache: &crate::cache::Cache) {
        self.start_rebuild(cache);
        self.fresh(cache);
    }

    /// The cells emptied, to be rebuilt by a pass over the cache.
    fn start_rebuild(&mut self, cache: &crate::cache::Cache) {
        let (key, cells) = (self.prefix.key(), self.prefix.cells().len());
        let broken = self.broken;
        *self = Keyed::new(key, cells);
        self.broken = broken;
        self.prefix.reserve(cache.len());
        self.applied.reserve(cache.slot_count() as usize);
        self.rebuild = Some(0);
    }

    /// The next `n` slots of a rebuild applied; whether one is still under way.
    pub(super) fn rebuild_some(&mut self, cache: &crate::cache::Cache, n: usize) -> bool {
        let Some(from) = self.rebuild else {
            return false;
        };
        let end = u64::from(from)
            .saturating_add(n as u64)
            .min(u64::from(cache.slot_count())) as u32;
        for i in from..end {
            self.apply(cache, i);
        }
        self.prefix.flush();
        self.rebuild = (end < cache.slot_count()).then_some(end);
        self.rebuild.is_some()
    }

    /// The marked slots `marks` applied; when they are so many that one pass over the cache
    /// costs no more (a bulk stream confirms every entry of the holder), a rebuild starts
    /// instead, which goes on between packets. During a rebuild, only the marks of slots it
    /// has passed are applied.
    pub(super) fn take_marks(&mut self, cache: &crate::cache::Cache, marks: &[u32]) {
        if let Some(done) = self.rebuild {
            for &i in marks.iter().filter(|&&i| i < done) {
                self.apply(cache, i);
            }
            self.prefix.flush();
            return;
        }
        if marks.len() >= STALE_MARKS && marks.len().saturating_mul(2) >= cache.len() {
            self.start_rebuild(cache);
            return;
        }
        for &i in marks {
            self.apply(cache, i);
        }
        self.prefix.flush();
    }

    /// Bring slot `i` up to date with what the cache holds there (the cells at the next
    /// `self.prefix.flush()`).
    pub(super) fn apply(&mut self, cache: &crate::cache::Cache, i: u32) {
        let at = i as usize;
        if self.applied.len() <= at {
            self.applied.resize(at + 1, 0);
        }
        // An entry of ours numbered -2^31+1 without knowing what an earlier incarnation left
        // (unconfirmed), or one that won over another instance under its number (contested),
        // gets a symbol of its own, so that it always shows as a difference: RFC
        // 2334 2.2.2.1 as this implementation reads it fetches the DCS's instance at the same
        // number to compare data (docs/reconciliation.md §6).
        let now = cache.at_slot(i).map(|(rid, e)| {
            let s = self.prefix.key().symbol(&Instance {
                cache_key: rid.key.as_bytes(),
                originator: rid.origin.as_bytes(),
                seq: e.seq,
            });
            if e.distinct_symbol() {
                s ^ UNCONFIRMED
            } else {
                s
            }
        });
        let old = self.applied[at];
        if now.is_some_and(|s| s == old) && old != 0 {
            return; // Same instance (a flag changed).
        }
        if old != 0 {
            let _ = self.prefix.remove_symbol_lazy(old);
            self.applied[at] = 0;
        }
        if let Some(symbol) = now {
            match self.prefix.insert_symbol_lazy(symbol, i) {
                Ok(s) if s != 0 => self.applied[at] = s,
                Ok(s) => {
                    let _ = self.prefix.remove_symbol_lazy(s);
                    self.broken = true;
                }
                Err(_) => self.broken = true,
            }
        }
    }
}

impl Server {
    /// Apply every slot marked since the last time to the cells of every key kept.
    pub(in crate::server) fn recon_sync(&mut self) {
        let Some(r) = self.recon.as_mut() else { return };
        let marks = self.cache.take_recon_marks(usize::MAX);
        r.own.take_marks(&self.cache, &marks);
        for p in &mut r.peers {
            p.take_marks(&self.cache, &marks);
        }
    }

    /// Once a batch of marked slots waits, the timer is due at once ([`Server::recon_sync_some`]).
    pub(in crate::server) fn recon_note(&mut self, now: Time) {
        if self.recon_due.is_none() && self.recon_work() && !self.taking_stream() {
            self.recon_due = Some(now);
        }
    }

    /// A batch of marks waits, or a rebuild is under way.
    fn recon_work(&self) -> bool {
        self.recon.as_ref().is_some_and(|r| {
            self.cache.recon_marks_pending() >= crate::server::RECON_BATCH
                || r.own.rebuild.is_some()
                || r.peers.iter().any(|p| p.rebuild.is_some())
        })
    }

    /// Whether we take a stream of the bulk path: most of the cache changes, so the marks wait
    /// for its end (applied batch by batch then, the cells not used meanwhile).
    fn taking_stream(&self) -> bool {
        self.dcs
            .iter()
            .flatten()
            .any(|d| matches!(d.recon.bulk.as_deref(), Some(Bulk::Learner { .. })))
    }

    /// At most `limit` marked slots applied (a bounded batch, from the timer), when that many
    /// wait, and `limit` more slots of each rebuild under way: a flood of changes pays for the
    /// cells in batches between its packets, not per change on its path, and a rebuild is done
    /// before the next reconciliation needs it, not on its path.
    pub(in crate::server) fn recon_sync_some(&mut self, limit: usize) {
        self.recon_due = None;
        if self.recon.as_ref().is_some_and(|r| r.own.rebuild.is_some())
            && self
                .dcs
                .iter()
                .flatten()
                .any(|d| matches!(d.recon.session, Some(Session::MasterPending)))
        {
            // Our "go on" CA is out: rebuild while the slave works on it.
            self.recon_sync();
            self.recon_own_fresh();
            return;
        }
        if self.taking_stream() {
            return;
        }
        // (After a stream, its marks go in batches like any others, between packets.)
        let Some(r) = self.recon.as_mut() else { return };
        if self.cache.recon_marks_pending() >= limit {
            let marks = self.cache.take_recon_marks(limit);
            r.own.take_marks(&self.cache, &marks);
            for p in &mut r.peers {
                p.take_marks(&self.cache, &marks);
            }
        } else {
            r.own.rebuild_some(&self.cache, limit);
            for p in &mut r.peers {
                p.rebuild_some(&self.cache, limit);
            }
        }
    }

    /// Our own cells, a rebuild under way finished first. Call after [`Server::recon_sync`].
    pub(super) fn recon_own_fresh(&mut self) {
        if let Some(r) = self.recon.as_mut() {
            r.own.fresh(&self.cache);
        }
    }

    /// The cells under `key` (a master's), built by one pass over the cache the first time; the
    /// keys no DCS advertises any more are dropped. Call after [`Server::recon_sync`].
    pub(super) fn recon_peer_cells(&mut self, key: Key, cells: usize) -> Option<usize> {
        let keys: Vec<Key> = self
            .dcs
            .iter()
            .flatten()
            .filter_map(|d| d.recon.peer.map(|c| c.key))
            .collect();
        let r = self.recon.as_mut()?;
        r.peers
            .retain(|p| p.prefix.key() == key || keys.contains(&p.prefix.key()));
        if let Some(at) = r.peers.iter().position(|p| p.prefix.key() == key) {
            r.peers[at].fresh(&self.cache);
            return Some(at);
        }
        let mut k = Keyed::new(key, cells);
        k.build(&self.cache);
        r.peers.push(k);
        Some(r.peers.len() - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::{Cache, Entry};
    use crate::wire::{Data, Id, RecordId};

    fn id(k: u32) -> RecordId {
        RecordId {
            key: Id::from(k.to_be_bytes()),
            origin: Id::from([9, 9, 9, 9]),
        }
    }

    fn put(c: &mut Cache, k: u32, seq: u32) {
        let e = Entry::new(
            seq,
            Data::from(&b"x"[..]),
            None,
            Time(0),
            false,
            true,
            false,
        );
        c.insert(id(k), e);
    }

    /// A rebuild that goes on in batches while the cache changes (slots it passed and slots it
    /// has not reached yet, replaced and removed) ends with the cells of a build from scratch.
    #[test]
    fn rebuild_in_batches_with_changes_meanwhile_equals_a_fresh_build() {
        let key = Key([7; 16]);
        let mut c = Cache::new(crate::hash::state(1));
        c.keep_recon_marks(true);
        for k in 0..10_000 {
            put(&mut c, k, 1);
        }
        let mut keyed = Keyed::new(key, 512);
        // 10,000 marks at once in a cache of 10,000: a rebuild starts instead.
        let marks = c.take_recon_marks(usize::MAX);
        keyed.take_marks(&c, &marks);
        assert_eq!(keyed.rebuild, Some(0));
        let mut rounds = 0;
        while keyed.rebuild_some(&c, 1_000) {
            rounds += 1;
            // Changes before and after the pass's position, and new entries.
            let at = keyed.rebuild.unwrap_or(0);
            for k in [at / 2, at + 17, 9_999 - rounds] {
                put(&mut c, k, 2 + rounds);
            }
            c.remove(&id(at + 300));
            put(&mut c, 20_000 + rounds, 1);
            let marks = c.take_recon_marks(usize::MAX);
            keyed.take_marks(&c, &marks);
        }
        assert!(rounds >= 9, "{rounds} rounds");
        let mut fresh = Keyed::new(key, 512);
        fresh.build(&c);
        assert_eq!(keyed.prefix.cells(), fresh.prefix.cells());
        assert!(keyed.prefix.cells()[0].count > 9_000);
    }
}
