//! The Cache State Update protocol (2.3) and the newness rules (2.4).

use super::dcs::Dcs;
use super::{DcsId, Hops, Server, slot_mut};
use crate::Time;
use crate::cache::{Entry, EntryTimer};
use crate::event::{CaState, CacheChange, Drop, Event, RemoveReason};
use crate::seq;
use crate::wire::{Csa, Csas, MessageType, SEQ_PURGE};

/// How a CSA is acknowledged: the sequence number and N bit of the CSAS sent back (with the
/// CSA's own Hop Count, Cache Key and Originator ID).
struct Ack {
    seq: u32,
    null: bool,
}

impl Server {
    /// A CSU Request (2.3): each CSA is weighed (2.4), stored and flooded if newer, and
    /// acknowledged in a CSU Reply.
    pub(super) fn on_csu_request(&mut self, now: Time, from: DcsId, records: Vec<Csa>) {
        let Some(d) = slot_mut(&mut self.dcs, from) else {
            return self.unknown_dcs(from, "internal");
        };
        if let Err(state) = d.csu_allowed() {
            let kind = MessageType::CsuRequest;
            return self.drop_packet(from, Drop::UnexpectedInState(kind, state));
        }
        let solicited = d.answered(now, &records);
        if self.pipelined {
            self.solicit_next(now, from);
            self.defer(super::Work::Records {
                now,
                from,
                records,
                solicited,
            });
        } else {
            self.weigh(now, from, records, solicited, true);
        }
    }

    /// The records of a CSU Request from `from`: each weighed, stored, flooded and acknowledged.
    pub(super) fn weigh(
        &mut self,
        now: Time,
        from: DcsId,
        records: Vec<Csa>,
        solicited: Vec<bool>,
        acks: bool,
    ) {
        let hashes: Vec<u64> = records
            .iter()
            .map(|c| self.cache.hash(&c.summary.id))
            .collect();
        self.cache.touch(&hashes);
        for ((csa, solicited), hash) in records.into_iter().zip(solicited).zip(hashes) {
            if !acks {
                // (The bulk path's records are acknowledged by position, not one by one.)
                let _ = self.on_csa(now, from, csa, solicited, hash);
                continue;
            }
            let id = csa.summary.id.clone();
            let Some(Ack { seq, null }) = self.on_csa(now, from, csa, solicited, hash) else {
                continue;
            };
            // B.2.0.2: a stand-alone CSAS record (here, in a CSU Reply) has Hop Count 1,
            // whatever the Hop Count of the CSA it acknowledges.
            let ack = Csas {
                hops: 1,
                null,
                seq,
                id,
            };
            match slot_mut(&mut self.dcs, from) {
                Some(d) => d.acks.push(ack),
                None => self.unknown_dcs(from, "internal"),
            }
        }
        // The records received may have satisfied CSA Request Lists of every DCS.
        let ids: Vec<DcsId> = self.dcs_ids().collect();
        for id in ids {
            self.csus_progress(now, id);
        }
    }

    /// One CSA from DCS `from` (`solicited`: it answered our CSUS; `hash`: the cache's hash of
    /// its identity). Returns how to acknowledge it, if it is acknowledged now.
    fn on_csa(
        &mut self,
        now: Time,
        from: DcsId,
        csa: Csa,
        solicited: bool,
        hash: u64,
    ) -> Option<Ack> {
        let id = csa.summary.id.clone();
        let rseq = csa.summary.seq;
        let ours = id.origin == self.cfg.lsid;
        let Some(d) = slot_mut(&mut self.dcs, from) else {
            self.unknown_dcs(from, "internal");
            return None;
        };
        // Implicit acknowledgement (2.3): the DCS holds this instance or a newer one.
        d.queue
            .remove_if(&id, |q| !seq::newer(q.csa.summary.seq, rseq));
        let ack = Ack {
            seq: rseq,
            null: csa.summary.null,
        };
        if csa.summary.null {
            // B.2.0.2: the DCS no longer holds the entry we solicited.
            return Some(ack);
        }
        if let Err(e) = self.cfg.profile.validate(&csa.data) {
            self.drop_packet(from, Drop::InvalidRecord(e.0));
            return Some(ack);
        }
        let (len, max) = (crate::wire::csa_len(&csa), self.max_record_len());
        if len > max {
            // It could not be passed on to our DCSs: refused, as a record the local server
            // hands over that does not fit is (acknowledged, neither stored nor flooded).
            let why = format!("a record of {len} bytes does not fit the MTU (at most {max})");
            self.drop_packet(from, Drop::InvalidRecord(why));
            return Some(ack);
        }
        let existing = self.cache.get_hashed(hash, &id);
        match existing {
            Some(e) if !seq::newer(rseq, e.seq) => {
                if rseq != e.seq {
                    // 2.3: an older instance is acknowledged with the CSAS of the one we hold.
                    return Some(Ack {
                        seq: e.seq,
                        null: false,
                    });
                }
                if e.data == csa.data {
                    // The same instance.
                    if e.unconfirmed()
                        && let Some(e) = self.cache.get_mut(&id)
                    {
                        e.set_unconfirmed(false);
                    }
                    return Some(ack);
                }
                // Two instances under one number: an originator that lost its state numbered
                // again from the start. See docs/rfc2334-readings.md, "equal numbers".
                if ours && e.owned() {
                    // Ours: supersede the other.
                    self.reoriginate(now, &id, rseq);
                } else if csa.data[..] > e.data[..] {
                    // The larger wins everywhere, so every server settles on the same one;
                    // the originator, on seeing it, supersedes both if it is not its own.
                    // (`learn` marks it contested: other DCSs may still hold ours.)
                    self.learn(now, from, csa, solicited, hash);
                    self.flood(now, &id, Some(from), Hops::Configured);
                } else if let Some(d) = slot_mut(&mut self.dcs, from) {
                    // Ours wins: the DCS gets it back.
                    // (Held back while the DCS learns from us by the bulk path.)
                    let mine = e.csa(&id, d.cfg.hops);
                    self.send_back(from, mine);
                    // Other DCSs may hold the DCS's instance: contested, compared when they
                    // align with us.
                    if let Some(e) = self.cache.get_mut(&id) {
                        e.set_contested(true);
                    }
                }
                return Some(ack);
            }
            // A purge is never stored (below).
            _ if rseq == SEQ_PURGE => {}
            held if self.admit(&id, &csa.data, held).is_err() => {
                if held.is_none() && self.cfg.profile.is_deletion(&csa.data) {
                    // A deletion of an entry we do not hold, with the cache at its bound: there
                    // is nothing to delete here, but our other DCSs may hold it. Acknowledged
                    // and passed on, not kept (docs/rfc2334-readings.md, "the cache's bounds").
                    self.drop_packet(from, Drop::DeletionNotKept);
                    let hops = if solicited {
                        Some(Hops::Configured)
                    } else {
                        csa.summary
                            .hops
                            .checked_sub(1)
                            .filter(|&h| h > 0)
                            .map(Hops::Forward)
                    };
                    if let Some(h) = hops {
                        self.flood_csa(now, &csa, Some(from), h);
                    }
                    return Some(ack);
                }
                // 2.3: a CSA dropped for want of resources is not acknowledged.
                self.drop_packet(from, Drop::CacheFull);
                return None;
            }
            _ => {}
        }
        if ours {
            self.self_originated(now, from, csa);
            return Some(ack);
        }
        let hops = if solicited {
            Some(Hops::Configured)
        } else if csa.summary.hops > 1 {
            Some(Hops::Forward(csa.summary.hops - 1))
        } else {
            None
        };
        if rseq == SEQ_PURGE {
            // B.2.0.2: the originator purges the entry before restarting its sequence space.
            match self.cache.remove(&id) {
                Some(old) if !old.deleted() => {
                    self.events.push_back(Event::Cache(CacheChange::Removed {
                        entry: old.view(&id),
                        reason: RemoveReason::Purged,
                    }));
                }
                Some(_) => {}
                None => {
                    // A purge of an entry we do not hold: nothing to store (a purge is never an
                    // entry), but passed on, since our other DCSs may hold it
                    // (docs/rfc2334-readings.md, "a purge of an entry not held").
                    self.stray_purge(from, id.clone());
                }
            }
            if let Some(h) = hops {
                self.flood_csa(now, &csa, Some(from), h);
            }
            return Some(ack);
        }
        if self.confirm && !self.cfg.profile.is_deletion(&csa.data) {
            // B.2.0.2: the CSAS that will acknowledge it stands alone: Hop Count 1.
            let ack = Csas {
                hops: 1,
                null: ack.null,
                seq: ack.seq,
                id,
            };
            self.ask_confirmation(from, csa, hops, ack);
            return None;
        }
        self.count_learned(from);
        self.learn(now, from, csa, solicited, hash);
        if let Some(h) = hops {
            self.flood(now, &id, Some(from), h);
        }
        Some(ack)
    }

    /// Hold a newer remote CSA until the local server accepts or rejects it.
    fn ask_confirmation(&mut self, from: DcsId, csa: Csa, hops: Option<Hops>, ack: Csas) {
        // One instance per record waits: an older one still waiting is answered as superseded.
        if let Some(&t) = self.pending_ids.get(&csa.summary.id) {
            let p = &self.pending[&t];
            if !seq::newer(csa.summary.seq, p.csa.summary.seq) {
                // The same or an older instance is already waiting; it will be acknowledged
                // with its verdict.
                return;
            }
            self.pending_ids.remove(&csa.summary.id);
            if let Some(old) = self.pending.remove(&t)
                && let Some(d) = self.dcs_mut(old.from)
            {
                d.acks.push(old.ack);
            }
        }
        if self.pending.len() >= super::MAX_PENDING {
            self.drop_packet(from, Drop::CacheFull);
            return;
        }
        let token = self.next_token;
        self.next_token += 1;
        let entry = crate::event::EntryView {
            id: csa.summary.id.clone(),
            seq: csa.summary.seq,
            data: csa.data.clone(),
        };
        self.pending_ids.insert(csa.summary.id.clone(), token);
        self.pending.insert(
            token,
            super::Pending {
                from,
                csa,
                hops,
                ack,
            },
        );
        self.events.push_back(Event::Confirm { token, entry, from });
    }

    pub(super) fn confirm_one(
        &mut self,
        now: Time,
        token: u64,
        accept: bool,
    ) -> Result<(), super::LocalError> {
        let p = self
            .pending
            .remove(&token)
            .ok_or(super::LocalError::UnknownToken(token))?;
        let id = p.csa.summary.id.clone();
        self.pending_ids.remove(&id);
        let still_newer = self
            .cache
            .get(&id)
            .is_none_or(|e| seq::newer(p.csa.summary.seq, e.seq));
        if accept && still_newer && self.admit(&id, &p.csa.data, self.cache.get(&id)).is_err() {
            // 2.3: dropped for want of resources, not acknowledged.
            self.drop_packet(p.from, Drop::CacheFull);
            return Ok(());
        }
        // (The DCS may have been removed while the entry waited.)
        if accept && still_newer {
            if let Some(d) = self.dcs_mut(p.from) {
                d.stats.records_learned += 1;
            }
            let hash = self.cache.hash(&id);
            self.learn(now, p.from, p.csa, false, hash);
            if let Some(h) = p.hops {
                self.flood(now, &id, Some(p.from), h);
            }
        }
        if let Some(d) = self.dcs_mut(p.from) {
            d.acks.push(p.ack);
        }
        Ok(())
    }

    /// Store a newer instance learned from DCS `from` and tell the local server. `solicited`: it
    /// answered our CSUS to `from`, whose CSA Request List no longer holds it.
    fn learn(&mut self, now: Time, from: DcsId, csa: Csa, solicited: bool, hash: u64) {
        let id = csa.summary.id;
        let deleted = self.cfg.profile.is_deletion(&csa.data);
        let entry = Entry::new(
            csa.summary.seq,
            csa.data,
            Some(from),
            now,
            deleted,
            false,
            false,
        );
        if !deleted {
            self.schedule_entry(now, &id, &entry);
        }
        let have = entry.seq;
        let view = (self.learn_events && !deleted).then(|| entry.view(&id));
        // (The common case, no listener and nothing replaced, moves no event or view around:
        // values built by narrow stores and read back whole stall behind the cache's stores.)
        let old = self.cache.insert_hashed(hash, id.clone(), entry);
        if deleted {
            // A deletion of an entry we did not hold is remembered for a shorter time.
            let hold = if old.is_none() {
                self.cfg.stray_deletion_hold
            } else {
                self.cfg.tombstone_hold
            };
            self.cache
                .schedule(now + hold, EntryTimer::Forget, have, id.clone());
        }
        // Another instance under the same number (docs/rfc2334-readings.md, "equal numbers"):
        // the one stored won over it, and a DCS may still hold the other, which alignment
        // cannot see by numbers; contested, so that a DCS's instance at this number is fetched
        // to compare, and a solicitation of that number from another DCS stays.
        let contested = old.as_ref().is_some_and(|o| o.seq == have);
        if contested && let Some(e) = self.cache.get_mut(&id) {
            e.set_contested(true);
        }
        let replaced = old.filter(|o| !o.deleted());
        let change = if deleted {
            replaced.map(|o| CacheChange::Removed {
                entry: o.view(&id),
                reason: RemoveReason::Deleted,
            })
        } else {
            view.map(|entry| match replaced {
                Some(o) => CacheChange::Replaced {
                    entry,
                    old_seq: o.seq,
                    from,
                },
                None => CacheChange::Learned { entry, from },
            })
        };
        if let Some(c) = change {
            self.events.push_back(Event::Cache(c));
        }
        // (The entry just stored: not ours; compared at the same number if contested.)
        self.satisfy_crls(&id, have, contested, solicited.then_some(from));
    }

    /// A CSA carrying our own Originator ID, newer than what we hold: an instance from before a
    /// restart, or one we have since withdrawn.
    fn self_originated(&mut self, now: Time, from: DcsId, csa: Csa) {
        let id = csa.summary.id.clone();
        let rseq = csa.summary.seq;
        let owned = self.cache.get(&id).is_some_and(|e| e.owned());
        let same = self
            .cache
            .get(&id)
            .is_some_and(|e| e.owned() && !e.deleted() && e.data == csa.data);
        if same {
            // Our instance from before a restart with the data the local server holds now:
            // adopt its number rather than renumber (and re-flood) an unchanged entry.
            if let Some(e) = self.cache.get_mut(&id) {
                e.seq = rseq;
                e.set_unconfirmed(false);
            }
            if let Some(e) = self.cache.get(&id).cloned() {
                self.schedule_entry(now, &id, &e);
            }
            self.satisfy_crls(&id, rseq, false, None);
            self.flood(now, &id, Some(from), Hops::Configured);
        } else if owned {
            // The local server holds this entry: supersede the stale instance.
            self.reoriginate(now, &id, rseq);
        } else if self.authoritative && rseq != SEQ_PURGE {
            // The local server does not hold it: flush it from the group. Numbered from the
            // instance this DCS showed, without knowing what the others hold (another may have
            // that very number, from before we lost our state): unconfirmed, so that a DCS
            // showing the same number is asked for its instance, to compare.
            let del = self.cfg.profile.deletion_of(&csa.data);
            let next = self.floored(seq::next_csa(rseq, 1));
            self.install_local(now, id, next, del, true, true);
        } else if rseq == SEQ_PURGE {
            self.cache.remove(&id);
            self.flood_csa(now, &csa, Some(from), Hops::Configured);
        } else {
            // Adopt it: learned like any other; a later local update numbers on from it.
            self.count_learned(from);
            let hash = self.cache.hash(&id);
            self.learn(now, from, csa, false, hash);
            self.flood(now, &id, Some(from), Hops::Configured);
        }
    }

    /// A newer instance from DCS `from` is stored.
    fn count_learned(&mut self, from: DcsId) {
        match slot_mut(&mut self.dcs, from) {
            Some(d) => d.stats.records_learned += 1,
            None => self.unknown_dcs(from, "internal"),
        }
    }

    /// Send our entry `id` again with a number above `above` (B.2.0.2).
    fn reoriginate(&mut self, now: Time, id: &crate::wire::RecordId, above: u32) {
        let Some(e) = self.cache.get(id) else { return };
        let (data, deleted) = (e.data.clone(), e.deleted());
        let next = self.floored(seq::next_csa(above, 1));
        // Above the instance seen, but not necessarily above every other one out there.
        self.install_local(now, id.clone(), next, data, deleted, true);
    }

    /// A CSU Reply (2.3): acknowledgements matched against the DCS retransmit queue.
    pub(super) fn on_csu_reply(&mut self, now: Time, from: DcsId, records: Vec<Csas>) {
        let Some(d) = slot_mut(&mut self.dcs, from) else {
            return self.unknown_dcs(from, "internal");
        };
        if let Err(state) = d.csu_allowed() {
            let kind = MessageType::CsuReply;
            return self.drop_packet(from, Drop::UnexpectedInState(kind, state));
        }
        d.acknowledged(now, records, self.cfg.max_csa_requests);
        self.csus_progress(now, from);
    }

    /// A CSUS (2.2.3, 2.2.4): answered with CSU Requests holding the entries solicited, or null
    /// records for those we no longer hold (2.3).
    pub(super) fn on_csus(&mut self, from: DcsId, records: Vec<Csas>) {
        let Some(d) = slot_mut(&mut self.dcs, from) else {
            return self.unknown_dcs(from, "internal");
        };
        if let Err(state) = d.csu_allowed() {
            let kind = MessageType::Csus;
            return self.drop_packet(from, Drop::UnexpectedInState(kind, state));
        }
        let refused = d.solicited(&self.cache, records);
        if refused > 0 {
            self.drop_packet(from, Drop::QueueFull(refused));
        }
    }

    /// CSUReXmitInt expiries: resend what is unacknowledged; after CSUReXmitMax retransmissions
    /// the DCS has failed (2.3).
    pub(super) fn csu_timers(&mut self, now: Time, id: DcsId) {
        let Some(d) = self.live(id) else { return };
        if let Some(n) = d.resend_due(now) {
            let max = d.cfg.csu_rexmit_max;
            self.abnormal(
                now,
                id,
                format!("{n} CSA record(s) unacknowledged after {max} retransmissions"),
            );
        }
    }
}

/// What the CSU protocol keeps of its DCS (2.3).
impl Dcs {
    /// 2.3: CSU messages are exchanged only in Update Cache or Aligned; in another state, the
    /// state (the message is dropped). One that may be taken shows that the master has left
    /// Cache Summarize (2.3; for a CSUS, the 2.2.2 note).
    fn csu_allowed(&mut self) -> Result<(), CaState> {
        let state = self.ca.state;
        if !matches!(state, CaState::UpdateCache | CaState::Aligned) {
            return Err(state);
        }
        self.master_done();
        Ok(())
    }

    /// Whether each record of a CSU Request answers our CSUS. An answer, whatever its
    /// instance, ends the solicitation of its record (a record wanted but not yet asked for is
    /// satisfied only by an instance at least as new: see satisfy_crls); the CSUS is timed if it
    /// went once only.
    fn answered(&mut self, now: Time, records: &[Csa]) -> Vec<bool> {
        let solicited: Vec<bool> = records
            .iter()
            .map(|c| self.crl.answered(&c.summary.id))
            .collect();
        if solicited.iter().any(|&s| s) {
            let sent = self.csus_sent_at.take();
            self.rtt_sample(now, sent);
        }
        solicited
    }

    /// The acknowledgements of a CSU Reply matched against the retransmit queue (2.3); a newer
    /// instance the DCS holds goes on its CSA Request List, up to `max_crl`.
    fn acknowledged(&mut self, now: Time, records: Vec<Csas>, max_crl: usize) {
        for r in records {
            // Rule 1: an exact match (rfc2334-readings.md #9: key, originator, sequence number)
            // is removed. Rule 2a: ours is newer; ignore. Rule 2b: the DCS holds a newer
            // instance; stop sending ours and solicit it.
            let Some(q) = self
                .queue
                .remove_if(&r.id, |q| !seq::newer(q.csa.summary.seq, r.seq))
            else {
                continue;
            };
            self.last_ack_at = Some(now);
            if let Some((t, pid, pseq)) = &self.csu_probe
                && *pid == r.id
            {
                // Karn's rule: timed only if this CSA went out once.
                let sample = (q.sends == 1 && *pseq == q.csa.summary.seq).then_some(*t);
                self.csu_probe = None;
                self.rtt_sample(now, sample);
            }
            if q.csa.summary.seq != r.seq && !r.null {
                if self.crl.len() < max_crl {
                    self.crl.want(r.id, r.seq);
                } else {
                    self.stats.csa_requests_refused += 1;
                }
            }
        }
    }

    /// The records of a CSUS, answered on the retransmit queue from `cache` (or as null
    /// records). The queue is bounded: a DCS that solicits without acknowledging (a CSUS flood
    /// naming entries we do not hold) is answered up to the bound, and the rest of its
    /// solicitations are dropped until it acknowledges (it asks again). Returns how many were.
    fn solicited(&mut self, cache: &crate::cache::Cache, records: Vec<Csas>) -> usize {
        let mut hint = self.csus_hint;
        let mut answers = Vec::with_capacity(records.len());
        for r in records {
            let csa = match cache.get_near(&mut hint, &r.id) {
                Some(e) => e.csa(&r.id, 1),
                None => Csa {
                    summary: Csas {
                        hops: 1,
                        null: true,
                        seq: r.seq,
                        id: r.id,
                    },
                    data: crate::wire::Data::from(&[][..]),
                },
            };
            answers.push(csa);
        }
        self.csus_hint = hint;
        let max = self.cfg.max_rexmit_queue;
        let mut refused = 0usize;
        for csa in answers {
            if self.queue.len() >= max && self.queue.get(&csa.summary.id).is_none() {
                refused += 1;
                continue;
            }
            self.queue.enqueue(csa);
        }
        refused
    }

    /// The CSAs due for retransmission go again (2.3). Returns how many were due, without
    /// sending them, when one has gone unacknowledged past the limit and the DCS shows no other
    /// sign of life: the DCS has failed.
    fn resend_due(&mut self, now: Time) -> Option<usize> {
        let due = self.queue.pop_due(now);
        if due.is_empty() {
            return None;
        }
        let max = self.cfg.csu_rexmit_max;
        // With adaptive timers a DCS that acknowledged any CSA in the last CSUReXmitMax ×
        // CSUReXmitInt is alive: a record it has not acknowledged yet (loss, or its resources)
        // keeps being retransmitted, at the configured interval, instead of taking the whole
        // session down (docs/rfc2334-readings.md, "retransmission timers").
        // Nor is a record given up before four times CSUReXmitMax retransmissions: at 35% loss
        // each way 5 retransmissions all fail once in 25 lonely records, 20 once in 60,000.
        let window = self.cfg.csu_rexmit * max.max(1);
        let alive =
            self.cfg.adaptive_rexmit && self.last_ack_at.is_some_and(|t| now.since(t) < window);
        let limit = if self.cfg.adaptive_rexmit {
            max.saturating_mul(4)
        } else {
            max
        };
        if !alive && due.iter().any(|(_, sends)| *sends > limit) {
            return Some(due.len());
        }
        for (slot, _) in due {
            self.stats.csa_retransmits += 1;
            self.queue.resend(slot);
        }
        None
    }
}
