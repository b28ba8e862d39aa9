//! The cells kept per key: the server's own and those under its masters' keys, brought up to
//! date from the slots the cache marks (docs/reconciliation.md §4), in bounded batches between
//! packets, or rebuilt by one pass when a whole cache of changes left them stale.

use scsp_recon::{Instance, Key, Prefix};

use super::Session;
use crate::Time;
use crate::server::Server;
use crate::server::bulk::Bulk;

/// XORed into the symbol of an unconfirmed entry of ours (see [`Keyed::apply`]).
pub(super) const UNCONFIRMED: u64 = 0x554e_434f_4e46_524d;

/// At least this many marks at once (and at least half the cache) leave a key's cells stale.
const STALE_MARKS: usize = 4096;

/// Whether `marks` marked slots at once, in a cache of `len` entries, leave the cells stale.
fn stale_at(marks: usize, len: usize) -> bool {
    marks >= STALE_MARKS && marks.saturating_mul(2) >= len
}

/// The cells of the cache under one key, with the symbol applied per slot.
pub(crate) struct Keyed {
    pub(super) prefix: Prefix<u32>,
    /// `applied[slot]`: the symbol of the instance the cells hold for that slot (0: none).
    pub(super) applied: Vec<u64>,
    /// Two instances with the same symbol (probability about N²/2^65): not used any more.
    pub(super) broken: bool,
    /// Marks were taken without being applied here (so many that a pass over the cache costs no
    /// more): rebuilt by that pass before the cells are used again ([`Keyed::fresh`]).
    pub(super) stale: bool,
}

impl Keyed {
    pub(super) fn new(key: Key, cells: usize) -> Self {
        Keyed {
            prefix: Prefix::new(key, cells),
            applied: Vec::new(),
            broken: false,
            stale: false,
        }
    }

    /// The cells rebuilt by a pass over the cache if they are stale.
    pub(super) fn fresh(&mut self, cache: &crate::cache::Cache) {
        if !self.stale {
            return;
        }
        let (key, cells) = (self.prefix.key(), self.prefix.cells().len());
        *self = Keyed::new(key, cells);
        self.build(cache);
    }

    /// Every occupied slot applied (a new key, or a stale one emptied).
    pub(super) fn build(&mut self, cache: &crate::cache::Cache) {
        self.prefix.reserve(cache.len());
        self.applied.reserve(cache.slot_count() as usize);
        for i in 0..cache.slot_count() {
            self.apply(cache, i);
        }
        self.prefix.flush();
    }

    /// The marked slots `marks` applied, or the cells left stale when they are so many that
    /// one pass over the cache, done only once the cells are needed, costs no more (a bulk
    /// stream confirms every entry of the holder: the cells of the keys not used next are not
    /// updated entry by entry).
    pub(super) fn take_marks(&mut self, cache: &crate::cache::Cache, marks: &[u32]) {
        if self.stale {
            return;
        }
        if stale_at(marks.len(), cache.len()) {
            self.stale = true;
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
        if self.recon.is_some()
            && self.recon_due.is_none()
            && self.cache.recon_marks_pending() >= crate::server::RECON_BATCH
            && !self.taking_stream()
        {
            self.recon_due = Some(now);
        }
    }

    /// Whether we take a stream of the bulk path: most of the cache changes, so the marks wait
    /// for its end, where they are taken at once (and, that many, leave the cells stale).
    fn taking_stream(&self) -> bool {
        self.dcs
            .iter()
            .flatten()
            .any(|d| matches!(d.recon.bulk.as_deref(), Some(Bulk::Learner { .. })))
    }

    /// At most `limit` marked slots applied (a bounded batch, from the timer), when that many
    /// wait: a flood of changes pays for the cells in batches between its packets, not per
    /// change on its path.
    pub(in crate::server) fn recon_sync_some(&mut self, limit: usize) {
        self.recon_due = None;
        if self.recon.as_ref().is_some_and(|r| r.own.stale)
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
        let pending = self.cache.recon_marks_pending();
        if pending < limit {
            return;
        }
        if self.taking_stream() {
            return;
        }
        // So many that a pass over the cache costs no more: all at once (the cells left stale),
        // not batch by batch.
        let limit = if stale_at(pending, self.cache.len()) {
            usize::MAX
        } else {
            limit
        };
        let Some(r) = self.recon.as_mut() else { return };
        let marks = self.cache.take_recon_marks(limit);
        r.own.take_marks(&self.cache, &marks);
        for p in &mut r.peers {
            p.take_marks(&self.cache, &marks);
        }
    }

    /// Our own cells, rebuilt first if stale. Call after [`Server::recon_sync`].
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
