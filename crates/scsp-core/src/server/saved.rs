//! A server's saved state: the entries a driver keeps on disk and gives back after a restart
//! ([`Server::restore`]), and which entries changed since it last looked
//! ([`Server::take_changes`]).

use super::*;

/// One entry as a driver saves it: enough to hold it again after a restart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedEntry {
    /// Cache Key and Originator ID.
    pub id: RecordId,
    /// CSA Sequence Number of the instance held.
    pub seq: u32,
    /// The protocol specific part.
    pub data: Data,
    /// The instance is a deletion (kept so that older instances are known as older).
    pub deleted: bool,
}

/// What [`Server::restore`] did with the entries it was given.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Restored {
    /// Entries held again (deletions included).
    pub entries: usize,
    /// Of those, live entries carrying this server's Originator ID (unclaimed until the local
    /// server claims them).
    pub ours: usize,
    /// Of those, deletions.
    pub deleted: usize,
    /// Entries not taken: a number no instance may carry, data the profile refuses, a cache at
    /// one of its bounds ([`ServerConfig::max_entries`], [`ServerConfig::max_cache_bytes`]).
    pub refused: usize,
    /// Entries delivered again after their first delivery (the first is kept).
    pub superseded: usize,
}

impl Server {
    /// Record which entries change, for [`Server::take_changes`] (off by default: a driver that
    /// saves nothing pays nothing).
    pub fn set_track_changes(&mut self, on: bool) {
        self.cache.track_changes(on);
    }

    /// What changed since the last call (entries stored, replaced, claimed, deleted, expired,
    /// forgotten), for a driver that saves the cache: `f(id, None)` for each entry no longer
    /// held, then `f(id, Some(entry))` for each entry stored or altered, as it is now. Applied in
    /// order, the calls leave the saved copy equal to the cache. Costs nothing untracked.
    ///
    /// At most `limit` stored or altered entries are reported (removals always all, first);
    /// returns how many remain for the next call.
    pub fn drain_changes(
        &mut self,
        limit: usize,
        f: impl FnMut(&RecordId, Option<&Entry>),
    ) -> usize {
        self.cache.drain_changes(limit, f)
    }

    /// Entries changed and not yet reported by [`Server::drain_changes`].
    pub fn changes_pending(&self) -> usize {
        self.cache.changes_pending()
    }

    /// The newest sequence number given to an instance originated here (an entry, a change, a
    /// withdrawal) since the start, if any: a driver that reserves numbers ahead keeps its
    /// reservation above it.
    pub fn newest_own_seq(&self) -> Option<u32> {
        self.own_high
    }

    /// Count every entry held as changed (a driver whose saved copy was lost writes it whole).
    pub fn mark_all_changed(&mut self) {
        self.cache.mark_all_changed();
    }

    /// [`Server::drain_changes`], collected: the entries to look up with [`Server::saved`]
    /// (`None`: no longer held).
    pub fn take_changes(&mut self) -> Vec<RecordId> {
        let mut v = Vec::new();
        self.cache
            .drain_changes(usize::MAX, |id, _| v.push(id.clone()));
        v
    }

    /// Entry `id` as a driver saves it, or `None` when it is not held. An instance waiting to
    /// restart its sequence space (purged, B.2.0.2) is not held.
    pub fn saved(&self, id: &RecordId) -> Option<SavedEntry> {
        self.cache.get(id).map(|e| SavedEntry {
            id: id.clone(),
            seq: e.seq,
            data: e.data.clone(),
            deleted: e.deleted(),
        })
    }

    /// Raise [`ServerConfig::seq_floor`] to `floor` (a driver that reads, after [`Server::new`],
    /// the numbers it reserved before a restart). Never lowers it.
    pub fn raise_seq_floor(&mut self, floor: u32) {
        if seq::newer(floor, self.cfg.seq_floor) {
            self.cfg.seq_floor = floor;
        }
    }

    /// Hold again the entries saved before a restart, before anything else happens (call it
    /// right after [`Server::new`], before any DCS is added). Learned entries are held as if
    /// learned again (so that a Cache Alignment with DCSs whose caches did not change fetches
    /// nothing); entries carrying this server's Originator ID are held as instances of ours from
    /// before the restart that the local server has not claimed yet: its handover (or an `add`
    /// with unchanged data) claims them under their numbers, and those it omits are withdrawn
    /// ([`ServerConfig::orphan_grace`] applies to those nobody claims). Deletions are held for
    /// [`ServerConfig::tombstone_hold`] from `now`, live entries for their lifetime from `now`.
    /// An entry delivered more than once is held as first delivered: a driver whose saved state
    /// holds several instances of an entry delivers the newest first.
    ///
    /// The numbers given after a restart are the driver's to keep above every number used
    /// before ([`ServerConfig::seq_floor`]): so an entry of ours not restored is numbered from
    /// the floor even before any DCS is Aligned, rather than -2^31+1. It is new, or a change the
    /// disk lost, whose instance may be out there under any number up to the floor, -2^31+1
    /// included (docs/rfc2334-readings.md, "numbers after a restart"). A driver that lost its
    /// saved state does not call this.
    pub fn restore(
        &mut self,
        now: Time,
        entries: impl IntoIterator<Item = SavedEntry>,
    ) -> Restored {
        let mut r = Restored::default();
        let entries = entries.into_iter();
        let room = self.cache_room(entries.size_hint().0);
        self.cache.reserve(room);
        // As after an alignment: -2^31+1 is no longer given before one.
        self.some_aligned = true;
        for s in entries {
            let hash = self.cache.hash(&s.id);
            if self.cache.get_hashed(hash, &s.id).is_some() {
                r.superseded += 1;
                continue;
            }
            let ok = s.seq != wire::SEQ_RESERVED
                && s.seq != SEQ_PURGE
                && !s.id.key.as_bytes().is_empty()
                && self.admit(&s.id, &s.data, None).is_ok()
                && (s.deleted || self.cfg.profile.validate(&s.data).is_ok());
            if !ok {
                r.refused += 1;
                continue;
            }
            let e = Entry::restored_entry(s.seq, s.data, now, s.deleted);
            self.schedule_entry(now, &s.id, &e);
            r.entries += 1;
            if s.deleted {
                r.deleted += 1;
            } else if s.id.origin == self.cfg.lsid {
                r.ours += 1;
            }
            self.cache.insert_hashed(hash, s.id, e);
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(key: &[u8], origin: u8) -> RecordId {
        RecordId {
            key: Id::new(key).unwrap(),
            origin: Id::from([10, 0, 0, origin]),
        }
    }

    fn saved(key: &[u8], origin: u8, seq: u32, data: &[u8], deleted: bool) -> SavedEntry {
        SavedEntry {
            id: id(key, origin),
            seq,
            data: Data::from(data),
            deleted,
        }
    }

    fn server() -> Server {
        Server::new(ServerConfig::new(1, 1, Id::from([10, 0, 0, 1])))
    }

    #[test]
    fn changes_are_recorded_only_when_tracked() {
        let mut s = server();
        s.originate(Time(0), b"a", Data::from(&b"x"[..])).unwrap();
        assert!(s.take_changes().is_empty());
        s.set_track_changes(true);
        s.originate(Time(1), b"b", Data::from(&b"y"[..])).unwrap();
        s.withdraw(Time(2), b"a").unwrap();
        let changed = s.take_changes();
        assert!(changed.contains(&id(b"b", 1)) && changed.contains(&id(b"a", 1)));
        assert!(s.take_changes().is_empty(), "taken once");
        assert_eq!(s.saved(&id(b"a", 1)).map(|e| e.deleted), Some(true));
    }

    #[test]
    fn restored_entries_of_ours_are_claimed_under_their_numbers() {
        let mut s = server();
        let r = s.restore(
            Time(0),
            [
                saved(b"a", 1, 0x3000_0005, b"x", false),
                saved(b"b", 1, 0x3000_0007, b"y", false),
                saved(b"c", 2, 42, b"z", false),
                saved(b"d", 2, 43, b"z", true),
                saved(b"e", 2, wire::SEQ_RESERVED, b"z", false),
            ],
        );
        assert_eq!(
            r,
            Restored {
                entries: 4,
                ours: 2,
                deleted: 1,
                refused: 1,
                superseded: 0
            }
        );
        let c = s.cache().get(&id(b"c", 2)).unwrap();
        assert!(c.restored() && c.from().is_none() && !c.owned());
        // The local server hands over "a" unchanged and "b" changed.
        let errors = s.replace_local_cache(
            Time(1),
            [
                (b"a".to_vec(), Data::from(&b"x"[..])),
                (b"b".to_vec(), Data::from(&b"y2"[..])),
            ],
        );
        assert!(errors.is_empty());
        let a = s.cache().get(&id(b"a", 1)).unwrap();
        assert_eq!((a.seq, a.owned()), (0x3000_0005, true));
        let b = s.cache().get(&id(b"b", 1)).unwrap();
        assert!(seq::newer(b.seq, 0x3000_0007) && b.owned());
    }

    #[test]
    fn restored_entries_of_ours_omitted_by_the_handover_are_withdrawn() {
        let mut s = server();
        s.restore(
            Time(0),
            [
                saved(b"a", 1, 7, b"x", false),
                saved(b"gone", 1, 9, b"x", false),
            ],
        );
        s.replace_local_cache(Time(1), [(b"a".to_vec(), Data::from(&b"x"[..]))]);
        let gone = s.cache().get(&id(b"gone", 1)).unwrap();
        assert!(gone.deleted() && seq::newer(gone.seq, 9));
    }

    /// B.2.0.2 (docs/rfc2334-readings.md, "numbers after a restart"): after a restore, an
    /// entry of ours that the disk did not hold (its instance lost with the last commit, and
    /// perhaps out there at -2^31+1 with other data) is numbered from the floor, even before any
    /// DCS is Aligned: never -2^31+1 again with other data.
    #[test]
    fn b_2_0_2_an_entry_not_restored_is_numbered_from_the_floor_before_any_alignment() {
        let mut cfg = ServerConfig::new(1, 1, Id::from([10, 0, 0, 1]));
        cfg.seq_floor = 5000;
        let mut s = Server::new(cfg);
        s.restore(Time(0), [saved(b"a", 1, 7, b"x", false)]);
        let errors = s.replace_local_cache(
            Time(1),
            [
                (b"a".to_vec(), Data::from(&b"x"[..])),
                (b"lost".to_vec(), Data::from(&b"y"[..])),
            ],
        );
        assert!(errors.is_empty());
        assert_eq!(s.cache().get(&id(b"a", 1)).unwrap().seq, 7, "kept");
        assert_eq!(s.cache().get(&id(b"lost", 1)).unwrap().seq, 5000);
        assert_eq!(
            s.originate(Time(2), b"new", Data::from(&b"z"[..])),
            Ok(5000)
        );
        // Without a restore (a server that lost its state), -2^31+1 before any alignment.
        let mut cfg = ServerConfig::new(1, 1, Id::from([10, 0, 0, 1]));
        cfg.seq_floor = 5000;
        let mut fresh = Server::new(cfg);
        let first = fresh.originate(Time(0), b"new", Data::from(&b"z"[..]));
        assert_eq!(first, Ok(wire::SEQ_FIRST));
    }

    #[test]
    fn an_entry_delivered_again_is_held_as_first_delivered() {
        let mut s = server();
        s.originate(Time(0), b"a", Data::from(&b"x"[..])).unwrap();
        let r = s.restore(Time(0), [saved(b"a", 1, 7, b"old", false)]);
        assert_eq!((r.superseded, r.refused, r.entries), (1, 0, 0));
        assert_eq!(s.cache().get(&id(b"a", 1)).unwrap().data[..], b"x"[..]);
    }
}
