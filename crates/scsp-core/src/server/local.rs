//! The local server's entries: origination, withdrawal and handover, sequence numbers after a
//! restart, entries of ours nobody claimed, entry timers.

use super::*;

/// Room kept in a CSU Request beside its records for the extensions it may carry: the
/// Authentication extension with the longest MAC (header 4, SPI 4, HMAC-SHA-256 32: B.3.1), the
/// replay extension (docs/replay-protection.md) and the End Of Extensions (4). (It was 64, and
/// with both a record of the largest size went out 15 octets past the configured packet size.)
const EXTENSIONS_ROOM: usize = 4 + 4 + 32 + super::replay::OVERHEAD + 4;

impl Server {
    /// The local server originates or updates its entry `key` with the protocol specific part
    /// `data`. Returns the sequence number given to the new instance (the current one if `data`
    /// is what is held already).
    pub fn originate(&mut self, now: Time, key: &[u8], data: Data) -> Result<u32, LocalError> {
        self.settle();
        let r = self.originate_one(now, key, data);
        self.send_queued(now);
        r
    }

    /// A record the local server hands over must be live and valid for the profile.
    pub(super) fn check_local_record(&self, data: &[u8]) -> Result<(), LocalError> {
        if self.cfg.profile.is_deletion(data) {
            return Err(LocalError::IsDeletion);
        }
        self.cfg
            .profile
            .validate(data)
            .map_err(|e| LocalError::Invalid(e.0))
    }

    /// Drop, without sending anything and without keeping a deleted instance, every entry learned
    /// from other originators that `pred` selects; each is reported as
    /// [`RemoveReason::Flushed`](crate::event::RemoveReason::Flushed). For protocol rules that
    /// discard what a failed server originated (RFC 2443 §5.1). Returns how many were dropped.
    pub fn flush(&mut self, now: Time, mut pred: impl FnMut(&RecordId, &Entry) -> bool) -> usize {
        self.settle();
        let lsid = self.cfg.lsid.clone();
        let doomed: Vec<RecordId> = self
            .cache
            .iter()
            .filter(|(id, e)| id.origin != lsid && pred(id, e))
            .map(|(id, _)| id.clone())
            .collect();
        for id in &doomed {
            if let Some(old) = self.cache.remove(id)
                && !old.deleted()
            {
                self.events.push_back(Event::Cache(CacheChange::Removed {
                    entry: old.view(id),
                    reason: RemoveReason::Flushed,
                }));
            }
        }
        self.send_queued(now);
        doomed.len()
    }

    /// One entry of a batch: numbered by the local server or by us.
    pub(super) fn originate_entry(
        &mut self,
        now: Time,
        key: &[u8],
        data: Data,
        seq: Option<u32>,
    ) -> Result<u32, LocalError> {
        match seq {
            Some(s) => self.originate_numbered_one(now, key, data, s),
            None => self.originate_one(now, key, data),
        }
    }

    pub(super) fn originate_one(
        &mut self,
        now: Time,
        key: &[u8],
        data: Data,
    ) -> Result<u32, LocalError> {
        self.check_local_record(&data)?;
        let id = self.local_id(key)?;
        let len = wire::csa_len(&Csa {
            summary: wire::Csas {
                hops: 0,
                null: false,
                seq: 0,
                id: id.clone(),
            },
            data: data.clone(),
        });
        let max = self.max_record_len();
        if len > max {
            return Err(LocalError::TooLarge { len, max });
        }
        self.admit(&id, &data, self.cache.get(&id))?;
        let seq = match self.cache.get(&id) {
            Some(e) if e.owned() && !e.deleted() && e.data == data => return Ok(e.seq),
            Some(e) if !e.deleted() && e.data == data => {
                // Our instance from before a restart, come back from a DCS with the data the
                // local server still has: ours again, under its number (nothing to send).
                let seq = e.seq;
                self.claim(&id);
                return Ok(seq);
            }
            Some(e) if e.owned() => self.floored(seq::next_csa(e.seq, 1)),
            Some(e) => self.floored(seq::next_csa(e.seq, self.cfg.restart_seq_step)),
            // Before any alignment since the start, an instance of ours from before a restart may
            // still come back from a DCS: -2^31+1, unconfirmed, so that one with the same data is
            // adopted under its number (and one with other data superseded, above the floor).
            // Once a DCS has been Aligned and did not hold it, only servers out of reach can:
            // the floor, above anything an earlier incarnation numbered. A server that restored
            // its saved state numbers from the floor at once (Server::restore).
            None if !self.some_aligned => NextSeq::Next(SEQ_FIRST),
            None => self.floored(NextSeq::Next(SEQ_FIRST)),
        };
        // Numbered without knowing whether an earlier incarnation of this server left an instance
        // elsewhere: unconfirmed until a DCS shows what it holds. So is an entry numbered on
        // from an instance of ours that one DCS showed after a restart: another DCS may hold a
        // later instance of the same incarnation, under the very number given now.
        let unconfirmed = self
            .cache
            .get(&id)
            .is_none_or(|e| !e.owned() || e.unconfirmed());
        Ok(self.install_local(now, id, seq, data, false, unconfirmed))
    }

    /// `next`, raised to [`ServerConfig::seq_floor`]: an earlier incarnation's instance may be
    /// out there, under any number it used, held by servers this one has not met since it
    /// started.
    pub(super) fn floored(&self, next: NextSeq) -> NextSeq {
        match next {
            NextSeq::Next(s) if seq::newer(self.cfg.seq_floor, s) => {
                NextSeq::Next(self.cfg.seq_floor)
            }
            other => other,
        }
    }

    /// Arm the grace time of [`ServerConfig::orphan_grace`] at the first input.
    pub(super) fn arm_grace(&mut self, now: Time) {
        if self.grace_at.is_none()
            && let Some(g) = self.cfg.orphan_grace
        {
            self.grace_at = Some(now + g);
        }
    }

    /// No local server claimed our entries within [`ServerConfig::orphan_grace`] of the start:
    /// every live entry carrying our Originator ID that is not the local server's (an instance
    /// from before a restart, come back from a DCS) is withdrawn, and from now on such entries
    /// are flushed, as after a handover.
    pub(super) fn withdraw_orphans(&mut self, now: Time) {
        self.authoritative = true;
        let lsid = self.cfg.lsid.clone();
        let orphans: Vec<RecordId> = self
            .cache
            .iter()
            .filter(|(id, e)| id.origin == lsid && !e.owned() && !e.deleted())
            .map(|(id, _)| id.clone())
            .collect();
        let count = orphans.len();
        for id in orphans {
            let _ = self.withdraw_id(now, id);
        }
        self.events.push_back(Event::OrphansWithdrawn { count });
    }

    /// The longest CSA record that fits a CSU Request of the configured packet size (with room
    /// for the extensions it may carry: [`EXTENSIONS_ROOM`]).
    pub(super) fn max_record_len(&self) -> usize {
        self.max_record
    }

    pub(super) fn compute_max_record_len(cfg: &ServerConfig) -> usize {
        let common = Common {
            protocol_id: cfg.protocol_id,
            sgid: cfg.sgid,
            sender: cfg.lsid.clone(),
            receiver: cfg.lsid.clone(),
        };
        cfg.max_packet.saturating_sub(
            wire::overhead(&common, wire::MessageType::CsuRequest) + EXTENSIONS_ROOM,
        )
    }

    /// The local server deletes its entry `key`: a deletion record goes to every DCS.
    pub fn withdraw(&mut self, now: Time, key: &[u8]) -> Result<(), LocalError> {
        self.settle();
        let id = self.local_id(key)?;
        let r = if self.cache.get(&id).is_some_and(|e| e.owned()) {
            self.withdraw_id(now, id)
        } else {
            self.withdraw_wrapping(&id)
        };
        self.send_queued(now);
        r
    }

    /// Withdraw the live entry `key` carrying this server's Originator ID, whether the local
    /// server originated it since the start or it came back from a DCS (an instance from before
    /// a restart): what [`Server::replace_local_cache`] does for each entry its list omits, for
    /// a handover applied in slices.
    pub fn withdraw_own(&mut self, now: Time, key: &[u8]) -> Result<(), LocalError> {
        self.settle();
        let id = self.local_id(key)?;
        let r = self.withdraw_id(now, id);
        self.send_queued(now);
        r
    }

    /// Withdraw an entry that carries our Originator ID, the local server's or one from before a
    /// restart that came back from a DCS.
    pub(super) fn withdraw_id(&mut self, now: Time, id: RecordId) -> Result<(), LocalError> {
        let (seq, data, unconfirmed) = match self.cache.get(&id) {
            // An instance from before a restart (not owned) is numbered on from what one DCS
            // showed, without knowing what the others hold: unconfirmed, like any such number.
            Some(e) if !e.deleted() => (e.seq, e.data.clone(), e.unconfirmed() || !e.owned()),
            _ => return self.withdraw_wrapping(&id),
        };
        let del = self.cfg.profile.deletion_of(&data);
        let next = self.floored(seq::next_csa(seq, 1));
        self.install_local(now, id, next, del, true, unconfirmed);
        Ok(())
    }

    /// Withdrawing an entry that is waiting to restart its sequence space.
    pub(super) fn withdraw_wrapping(&mut self, id: &RecordId) -> Result<(), LocalError> {
        let before = self.wrapping.len();
        self.wrapping.retain(|(w, _)| w != id);
        if self.wrapping.len() < before {
            Ok(())
        } else {
            Err(LocalError::NotFound)
        }
    }

    /// The local server hands over its whole cache: entries originated here that are not in
    /// `entries` are withdrawn, the others originated (or kept, when unchanged). From now on an
    /// entry that carries this server's Originator ID but is not held is flushed from the group.
    pub fn replace_local_cache(
        &mut self,
        now: Time,
        entries: impl IntoIterator<Item = (Vec<u8>, Data)>,
    ) -> Vec<(Vec<u8>, LocalError)> {
        self.settle();
        self.replace_local_cache_numbered(now, entries.into_iter().map(|(k, d)| (k, d, None)))
    }

    /// Originate many entries at once (each as [`Server::originate`], or as
    /// [`Server::originate_numbered`] when a number is given), packing the CSU Requests that
    /// carry them. Returns the entries refused.
    pub fn originate_many(
        &mut self,
        now: Time,
        entries: impl IntoIterator<Item = (Vec<u8>, Data, Option<u32>)>,
    ) -> Vec<(Vec<u8>, LocalError)> {
        self.settle();
        let errors = self.originate_each(now, entries, |_| {});
        self.send_queued(now);
        errors
    }

    /// Originate each of `entries` (nothing flushed yet), handing `kept` the key of each entry
    /// originated or kept. Returns the entries refused.
    fn originate_each(
        &mut self,
        now: Time,
        entries: impl IntoIterator<Item = (Vec<u8>, Data, Option<u32>)>,
        mut kept: impl FnMut(Vec<u8>),
    ) -> Vec<(Vec<u8>, LocalError)> {
        let mut errors = Vec::new();
        for (key, data, seq) in entries {
            match self.originate_entry(now, &key, data, seq) {
                Ok(_) => kept(key),
                Err(e) => errors.push((key, e)),
            }
        }
        errors
    }

    /// As [`Server::replace_local_cache`], with the sequence number the local server last knew
    /// for each entry (the local server may number its entries itself: B.2.0.2 "may be assigned
    /// by the client"). A server that lost its state then goes on from those numbers instead of
    /// starting again from the first, so it never gives two instances the same number.
    pub fn replace_local_cache_numbered(
        &mut self,
        now: Time,
        entries: impl IntoIterator<Item = (Vec<u8>, Data, Option<u32>)>,
    ) -> Vec<(Vec<u8>, LocalError)> {
        self.settle();
        self.authoritative = true;
        let mut keep = std::collections::HashSet::new();
        let errors = self.originate_each(now, entries, |key| {
            keep.insert(key);
        });
        // Every live entry carrying our Originator ID is ours, whether the local server gave
        // it since the start or it came back from a DCS (an instance from before a restart):
        // those the list omits are withdrawn.
        let lsid = self.cfg.lsid.clone();
        let stale: Vec<RecordId> = self
            .cache
            .iter()
            .filter(|(id, e)| {
                id.origin == lsid && !e.deleted() && !keep.contains(id.key.as_bytes())
            })
            .map(|(id, _)| id.clone())
            .collect();
        for id in stale {
            let _ = self.withdraw_id(now, id);
        }
        self.send_queued(now);
        errors
    }

    /// Originate `key` at the number `seq` the local server gives (B.2.0.2: the number "may be
    /// assigned by the client"), unless the cache holds a newer (or an equal but different)
    /// instance of it, which is then superseded. Returns the number used.
    pub fn originate_numbered(
        &mut self,
        now: Time,
        key: &[u8],
        data: Data,
        seq: u32,
    ) -> Result<u32, LocalError> {
        self.settle();
        let r = self.originate_numbered_one(now, key, data, seq);
        self.send_queued(now);
        r
    }

    pub(super) fn originate_numbered_one(
        &mut self,
        now: Time,
        key: &[u8],
        data: Data,
        seq: u32,
    ) -> Result<u32, LocalError> {
        self.check_local_record(&data)?;
        if seq == wire::SEQ_RESERVED || seq == SEQ_PURGE {
            return Err(LocalError::BadSeq(seq));
        }
        let id = self.local_id(key)?;
        self.admit(&id, &data, self.cache.get(&id))?;
        let next = match self.cache.get(&id) {
            Some(e) if !e.deleted() && e.data == data && !seq::newer(seq, e.seq) => {
                // The instance held (the one the local server numbered, or a later one of ours
                // from before a restart, come back from a DCS) has the same data: ours, under
                // the number it has.
                let held = e.seq;
                self.claim(&id);
                return Ok(held);
            }
            Some(e) if !seq::newer(seq, e.seq) => seq::next_csa(e.seq, 1),
            _ => NextSeq::Next(seq),
        };
        // A number the local server gives without the cache holding the entry (after a restart)
        // may be one the group already holds with other data (the local server's memory of its
        // numbers may be wrong): unconfirmed until a DCS shows what it holds at that number.
        let unconfirmed = self
            .cache
            .get(&id)
            .is_none_or(|e| e.owned() && e.unconfirmed());
        Ok(self.install_local(now, id, next, data, false, unconfirmed))
    }

    /// The local server holds entry `id` as the cache does: it is the local server's.
    pub(super) fn claim(&mut self, id: &RecordId) {
        if let Some(e) = self.cache.get_mut(id) {
            e.set_owned(true);
            e.set_unconfirmed(false);
        }
    }

    pub(super) fn local_id(&self, key: &[u8]) -> Result<RecordId, LocalError> {
        if key.is_empty() {
            return Err(LocalError::BadKey);
        }
        let key = Id::new(key).ok_or(LocalError::BadKey)?;
        Ok(RecordId {
            key,
            origin: self.cfg.lsid.clone(),
        })
    }

    /// Store an instance originated here and flood it to every DCS. Handles the end of the
    /// sequence space (B.2.0.2). Returns the sequence number used.
    pub(super) fn install_local(
        &mut self,
        now: Time,
        id: RecordId,
        seq: NextSeq,
        data: Data,
        deleted: bool,
        unconfirmed: bool,
    ) -> u32 {
        let seq = match seq {
            NextSeq::Next(s) => s,
            NextSeq::Wrap => {
                // Purge first; the new instance follows once every DCS has acknowledged it.
                let purge = self.cfg.profile.deletion_of(&data);
                if !deleted {
                    self.wrapping.retain(|(w, _)| w != &id);
                    self.wrapping.push((id.clone(), data));
                }
                self.cache.remove(&id);
                let csa = Csa {
                    summary: wire::Csas {
                        hops: 0,
                        null: false,
                        seq: SEQ_PURGE,
                        id: id.clone(),
                    },
                    data: purge,
                };
                self.flood_csa(now, &csa, None, Hops::Configured);
                return SEQ_PURGE;
            }
        };
        if self.own_high.is_none_or(|h| seq::newer(seq, h)) {
            self.own_high = Some(seq);
        }
        let entry = Entry::new(seq, data, None, now, deleted, true, unconfirmed);
        self.schedule_entry(now, &id, &entry);
        self.cache.insert(id.clone(), entry);
        self.satisfy_crls(&id, seq, unconfirmed, None);
        self.flood(now, &id, None, Hops::Configured);
        seq
    }

    pub(super) fn schedule_entry(&mut self, now: Time, id: &RecordId, e: &Entry) {
        if e.deleted() {
            self.cache.schedule(
                now + self.cfg.tombstone_hold,
                EntryTimer::Forget,
                e.seq,
                id.clone(),
            );
        } else if let Some(life) = self.cfg.profile.lifetime(&e.data) {
            self.cache
                .schedule(now + life, EntryTimer::Expire, e.seq, id.clone());
        }
    }

    pub(super) fn entry_timers(&mut self, now: Time) {
        while let Some((what, id)) = self.cache.pop_due(now) {
            match what {
                EntryTimer::Expire => {
                    let Some(e) = self.cache.get(&id) else {
                        continue;
                    };
                    let view = e.view(&id);
                    let seq = e.seq;
                    self.cache.mark_deleted(&id);
                    self.cache
                        .schedule(now + self.cfg.tombstone_hold, EntryTimer::Forget, seq, id);
                    self.events.push_back(Event::Cache(CacheChange::Removed {
                        entry: view,
                        reason: RemoveReason::Expired,
                    }));
                }
                EntryTimer::Forget => {
                    self.cache.remove(&id);
                }
            }
        }
    }
}
