//! The bulk path of the reconciliation extension (docs/reconciliation.md §8): a learner whose
//! cache is empty or far behind its master's takes the master's entries as a stream of CSU
//! Requests, without summaries or solicitations, acknowledged cumulatively with credit.
//!
//! How it sits in the CA machine: the slave's decoder stops on cell 0 with status 2 and the
//! master holding more; when both advertised flag 0x02, the slave answers the master's CA with a
//! Bulk Ack (`next` 0 and its credit) instead of the Result. The master, holding no CA
//! outstanding, streams its entries (CSU Requests carrying a Bulk message, not on the retransmit
//! queue, no CSU Reply); the slave stores them as solicited records (2.2.3) and acknowledges in
//! CSU Replies without records carrying a Bulk Ack. Losses either way: go-back-N, driven by each
//! side's CSU retransmission interval. After the end marker and its acknowledgement the master
//! sends its next CA of the reconciliation, and both reconcile once more (§6) against fresh
//! snapshots: the learner's own entries and what changed during the stream are found there.
//! Both sides stay in Cache Summarize throughout, so the Hello FSM's dead interval and every
//! abnormal event end the stream as they end any alignment.

use scsp_recon::wire::{Message, Status, ack_flags, bulk_flags, flags};
use scsp_recon::{BulkReceiver, BulkSender};

use super::output::Fill;
use super::{DcsId, Server};
use crate::Time;
use crate::wire::{self, Body, Csa, Csas, Extension, MessageType};

/// Entries a learner accepts beyond what it acknowledged.
pub(crate) const CREDIT: u32 = 32_768;

/// Room kept in a bulk CSU Request for the extension (its header, Vendor ID, the 12-octet
/// message, the End Of Extensions, and spare).
const EXT_ROOM: usize = 32;

/// A slave's offer to stream its `total` entries (carried in its CA): a Bulk message at offset 0
/// with no entries. (In a CSU Request the same message would be the end of an empty stream.)
fn offer(total: usize) -> Message {
    Message::Bulk {
        offset: 0,
        count: 0,
        flags: 0,
        total: Some(u32::try_from(total).unwrap_or(u32::MAX)),
    }
}

/// One side of a stream.
pub(crate) enum Bulk {
    /// We stream our entries: `slots`, the cache's occupied slots when it started, are the
    /// stream's order.
    Holder {
        sender: BulkSender,
        slots: Vec<u32>,
        rexmit_at: Time,
        end_sent: bool,
        /// Every position sent so far carried its record (none too long, none emptied since
        /// the start): said on the end marker ([`bulk_flags::WHOLE`]).
        whole: bool,
        /// The learner's last acknowledgement said it is clean ([`ack_flags::CLEAN`]).
        learner_clean: bool,
    },
    /// As slave, far ahead of the master: we offered to stream ours (a Bulk message with
    /// offset 0 and count 0 in our CA) and wait for the master's Bulk Ack.
    Offered,
    /// We take the DCS's entries.
    Learner {
        rx: BulkReceiver,
        /// Acknowledge again then, if nothing arrived (None once complete).
        rexmit_at: Option<Time>,
        complete: bool,
        /// The end marker said every position carried its record ([`bulk_flags::WHOLE`]).
        whole: bool,
    },
}

impl Bulk {
    /// When this side's timer is due.
    pub(crate) fn due(&self) -> Option<Time> {
        match self {
            Bulk::Holder { rexmit_at, .. } => Some(*rexmit_at),
            Bulk::Learner { rexmit_at, .. } => *rexmit_at,
            Bulk::Offered => None,
        }
    }
}

/// Whether a master's CA says the stream left nothing to reconcile: it carries a decoded Result
/// with nothing in it (phase 2 at once), not a "go on" for the reconciliation that mops up.
fn skips(ext: Option<&[u8]>) -> bool {
    matches!(
        ext.map(Message::decode),
        Some(Ok(Message::Result {
            status: Status::Decoded,
            total: 0,
            ..
        }))
    )
}

impl Server {
    /// Both sides advertise the bulk path to DCS `id` (we do whenever reconciliation is on).
    pub(super) fn bulk_agreed(&self, id: DcsId) -> bool {
        self.recon.is_some()
            && self
                .dcs(id)
                .and_then(|d| d.recon.peer_flags())
                .is_some_and(|f| f & flags::BULK != 0)
    }

    /// The learner's side begins; its first Bulk Ack rides in our CA: as slave, answering the
    /// master's; as master (the slave offered), our next CA. `missing`: about how many entries
    /// the stream brings that we lack (from cell 0, or the offer), room for which is made at once
    /// within the cache's bounds, instead of growing again and again while they come.
    pub(super) fn bulk_learner_start(&mut self, now: Time, id: DcsId, missing: usize) {
        // Clean while we held nothing as the stream began and store every record it brings:
        // then, with every position of the stream carrying its record, nothing is left for the
        // reconciliation after it (what changes meanwhile on either side goes at Update Cache).
        let clean = self.cache.is_empty() && !self.confirm;
        self.cache.reserve(self.cache_room(missing));
        let Some(d) = self.live(id) else { return };
        let master = d.ca.state == crate::event::CaState::SummarizeMaster;
        let mut rx = BulkReceiver::new(CREDIT, clean);
        let first = rx.on_timeout();
        d.recon.session_end();
        d.recon.bulk_used = true;
        d.recon.stats.bulk += 1;
        d.recon.bulk = Some(Box::new(Bulk::Learner {
            rx,
            rexmit_at: Some(now + d.cfg.csu_rexmit),
            complete: false,
            whole: false,
        }));
        self.recon_send(now, id, master, &first);
    }

    /// As slave, far ahead of the master: offer to stream our entries.
    pub(super) fn bulk_offer(&mut self, now: Time, id: DcsId) {
        let Some(d) = self.live(id) else { return };
        d.recon.session_end();
        d.recon.bulk_used = true;
        d.recon.bulk = Some(Box::new(Bulk::Offered));
        let total = self.cache.len();
        self.recon_send(now, id, false, &offer(total));
    }

    /// As master, the slave's answer to our CA, when the bulk path is concerned: the offer to
    /// stream (we become the learner), or the answer to our Bulk Ack while we learn (nothing
    /// more to send until the stream ends). Whether it was handled.
    pub(super) fn bulk_master_step(&mut self, now: Time, id: DcsId, ext: Option<&[u8]>) -> bool {
        let Some(d) = self.dcs(id) else { return false };
        match d.recon.bulk.as_deref() {
            Some(Bulk::Learner { complete: true, .. }) => {
                // The stream ended before this answer came: our next CA now.
                self.bulk_master_learner_end(now, id);
                return true;
            }
            Some(Bulk::Learner { .. }) => return true,
            _ => {}
        }
        let total = match ext.map(Message::decode) {
            Some(Ok(Message::Bulk {
                offset: 0,
                count: 0,
                total,
                ..
            })) => total.unwrap_or(0) as usize,
            _ => return false,
        };
        if d.recon.bulk_used || !self.bulk_agreed(id) {
            return false;
        }
        self.bulk_learner_start(now, id, total.saturating_sub(self.cache.len()));
        true
    }

    /// As slave, the master's CA, when the bulk path is concerned: Some(whether this sent our
    /// answer), or None to go on with the reconciliation.
    pub(super) fn bulk_slave_step(
        &mut self,
        now: Time,
        id: DcsId,
        ext: Option<&[u8]>,
    ) -> Option<bool> {
        let d = self.dcs_mut(id)?;
        match d.recon.bulk.as_deref() {
            None => None,
            Some(Bulk::Offered) => {
                d.recon.bulk = None;
                if let Some(Ok(Message::BulkAck {
                    next: 0, credit, ..
                })) = ext.map(Message::decode)
                {
                    // The master takes our stream.
                    self.bulk_holder_start(now, id, credit);
                    let total = self.cache.len();
                    self.recon_send(now, id, false, &offer(total));
                    return Some(true);
                }
                // Declined: the full summary exchange.
                d.recon.stats.fallbacks += 1;
                self.take_summary(id);
                Some(false)
            }
            Some(Bulk::Holder { .. }) => {
                // The master's next CA: the stream is over (every entry acknowledged). Either
                // the master found nothing left to reconcile (phase 2 at once, nothing to
                // summarize), or the reconciliation that mops up starts.
                let skip = skips(ext);
                self.bulk_holder_end(id, skip);
                skip.then(|| self.bulk_skipped(id))
            }
            Some(Bulk::Learner { .. }) => {
                if skips(ext) {
                    return Some(self.bulk_skipped(id));
                }
                self.bulk_learner_end(id);
                None
            }
        }
    }

    /// As holder, the stream is over: our unconfirmed entries are confirmed, and as slave
    /// (unless the master found nothing left, `skip`) a reconciliation against a fresh snapshot
    /// waits for the master's CA.
    fn bulk_holder_end(&mut self, id: DcsId, skip: bool) {
        let Some(d) = self.live(id) else { return };
        let master = d.ca.state == crate::event::CaState::SummarizeMaster;
        if let Some(b) = d.recon.bulk.take()
            && let Bulk::Holder { slots, .. } = *b
        {
            self.bulk_confirm(&slots);
        }
        if !master && !skip {
            self.recon_slave_again(id);
        }
    }

    /// As master, once the stream is over with nothing left to reconcile (the learner was
    /// empty and stored every record, every position carried its record): phase 2 at once, its
    /// first CA carrying a decoded Result with nothing to summarize, as after a reconciliation
    /// that found no difference (docs/reconciliation.md §8).
    fn bulk_skip(&mut self, now: Time, id: DcsId) {
        let Some(d) = self.live(id) else { return };
        d.recon.bulk = None;
        d.recon.stats.bulk_clean += 1;
        d.summary.clear();
        self.recon_phase2(now, id, Status::Decoded);
    }

    /// As master and learner, the stream is whole and the slave has answered our last CA: our
    /// next CA is phase 2 at once when nothing is left to reconcile, or the "go on" of the
    /// reconciliation that mops up.
    fn bulk_master_learner_end(&mut self, now: Time, id: DcsId) {
        let Some(d) = self.live(id) else { return };
        let clean = matches!(
            d.recon.bulk.as_deref(),
            Some(Bulk::Learner { rx, whole: true, .. }) if rx.clean()
        );
        d.recon.bulk = None;
        if clean {
            self.bulk_skip(now, id);
        } else {
            self.recon_master_again(now, id);
        }
    }

    /// As slave, the master's CA said the stream left nothing to reconcile: nothing of ours to
    /// summarize. Returns false: the caller goes on as RFC 2334 2.2.2.
    fn bulk_skipped(&mut self, id: DcsId) -> bool {
        if let Some(d) = self.live(id) {
            d.recon.bulk = None;
            d.recon.session_end();
            d.recon.stats.bulk_clean += 1;
            d.summary.clear();
        }
        false
    }

    /// As master: the slave's CA carried a Bulk Ack; stream our entries.
    pub(super) fn bulk_holder_start(&mut self, now: Time, id: DcsId, credit: u32) {
        let slots: Vec<u32> = (0..self.cache.slot_count())
            .filter(|&i| self.cache.at_slot(i).is_some())
            .collect();
        let Some(d) = self.live(id) else { return };
        let mut sender = BulkSender::new(slots.len() as u32, 0);
        sender.on_ack(0, credit);
        d.recon.session_end();
        d.recon.stats.bulk += 1;
        d.recon.bulk = Some(Box::new(Bulk::Holder {
            sender,
            slots,
            rexmit_at: now + d.cfg.csu_rexmit,
            end_sent: false,
            whole: true,
            learner_clean: false,
        }));
        self.bulk_pump(id);
    }

    /// As holder: send what the credit allows.
    fn bulk_pump(&mut self, id: DcsId) {
        let Some(d) = self.dcs(id) else { return };
        let room = self
            .room(d, MessageType::CsuRequest)
            .saturating_sub(EXT_ROOM);
        loop {
            // (The table alone: the cache is read while the stream's state is held.)
            let Some(d) = super::slot_mut(&mut self.dcs, id) else {
                return;
            };
            let Some(Bulk::Holder { sender, slots, .. }) = d.recon.bulk.as_deref_mut() else {
                return;
            };
            let at = sender.position();
            let left = sender
                .credit_left()
                .min(u32::from(u16::MAX))
                .min(slots.len() as u32 - at.min(slots.len() as u32));
            let mut records = Vec::new();
            let mut n = 0u32;
            let mut skipped = false;
            if left > 0 {
                let mut fill = Fill::new(room);
                while n < left {
                    let slot = slots[(at + n) as usize];
                    if let Some((rid, e)) = self.cache.at_slot(slot) {
                        let csa = e.csa(rid, 1);
                        let len = wire::csa_len(&csa);
                        if len > room {
                            // Too long for a packet beside the Bulk message (a record of the
                            // largest size with authentication and replay protection): a
                            // position without a record, which the reconciliation after the
                            // stream finds as a difference.
                            skipped = true;
                        } else if fill.take(len) {
                            records.push(csa);
                        } else {
                            break;
                        }
                    } else {
                        // A slot emptied since the start: a position without a record.
                        skipped = true;
                    }
                    n += 1;
                }
            }
            let Some(d) = self.live(id) else { return };
            let Some(Bulk::Holder {
                sender,
                end_sent,
                whole,
                ..
            }) = d.recon.bulk.as_deref_mut()
            else {
                return;
            };
            let Some((offset, count)) = sender.next_batch(n.max(1)) else {
                return;
            };
            debug_assert!(count == n || count == 0);
            *whole &= !skipped;
            let mut marker = 0;
            if count == 0 {
                *end_sent = true;
                if *whole {
                    marker = bulk_flags::WHOLE;
                }
            }
            d.recon.stats.bulk_entries += records.len() as u64;
            self.ext_out = Some(super::recon::extension(&BulkSender::message(
                offset, count, marker,
            )));
            self.send(id, Body::CsuRequest { records });
        }
    }

    /// A CSU Request from `from`: when it carries a Bulk message it is ours (taken, or
    /// dropped), otherwise it is handed back for 2.3.
    pub(super) fn bulk_data_in(
        &mut self,
        now: Time,
        from: DcsId,
        extensions: &[Extension],
        records: Vec<Csa>,
    ) -> Option<Vec<Csa>> {
        if self.recon.is_none() {
            return Some(records);
        }
        let Some(Ok(Message::Bulk {
            offset,
            count,
            flags: marker,
            ..
        })) = super::recon::find(extensions)
            .as_deref()
            .map(Message::decode)
        else {
            return Some(records);
        };
        let d = self.dcs_mut(from)?;
        let Some(Bulk::Learner {
            rx,
            rexmit_at,
            complete,
            whole,
        }) = d.recon.bulk.as_deref_mut()
        else {
            // Not (or no longer) taking a stream from this DCS: a late packet.
            return None;
        };
        let v = rx.on_bulk(offset, count);
        let interval = d.cfg.csu_rexmit;
        let ended = v.complete && !*complete;
        if ended {
            *complete = true;
            *whole = marker & bulk_flags::WHOLE != 0;
            *rexmit_at = None;
        } else if v.accept && !*complete {
            *rexmit_at = Some(now + interval);
        }
        let mut ack = v.ack;
        if v.accept {
            d.recon.stats.bulk_entries += records.len() as u64;
            let refused = |d: &super::dcs::Dcs| d.stats.invalid_records + d.stats.cache_full;
            let before = refused(d);
            let solicited = vec![true; records.len()];
            // Stored as solicited records (2.2.3): weighed, kept if newer, flooded on.
            self.weigh(now, from, records, solicited, false);
            let d = self.live(from)?;
            if refused(d) != before
                && let Some(Bulk::Learner { rx, .. }) = d.recon.bulk.as_deref_mut()
                && rx.clean()
            {
                // A record refused: the reconciliation after the stream is needed. (The
                // acknowledgement about to go says so.)
                rx.taint();
                if ack.is_some() {
                    ack = Some(rx.ack_again());
                }
            }
        }
        if let Some(ack) = ack {
            self.bulk_send_ack(from, &ack);
        }
        if ended {
            let d = self.live(from)?;
            let master = d.ca.state == crate::event::CaState::SummarizeMaster;
            let clean = matches!(
                d.recon.bulk.as_deref(),
                Some(Bulk::Learner { rx, whole: true, .. }) if rx.clean()
            );
            if master {
                // Our next CA, once the slave has answered the last (the stream may overtake
                // its answer to our Bulk Ack).
                if !d.ca_outstanding() {
                    self.bulk_master_learner_end(now, from);
                }
            } else if !clean {
                // Reconcile once more when the master's next CA comes. (Clean, the master is
                // expected to skip that: the cells are built only if its CA asks for them.)
                self.recon_slave_again(from);
            }
        }
        None
    }

    /// A CSU Reply from `from`: whether it carried a Bulk Ack (and is ours).
    pub(super) fn bulk_ack_in(&mut self, now: Time, from: DcsId, extensions: &[Extension]) -> bool {
        if self.recon.is_none() {
            return false;
        }
        let Some(Ok(Message::BulkAck {
            next,
            credit,
            flags: learner,
        })) = super::recon::find(extensions)
            .as_deref()
            .map(Message::decode)
        else {
            return false;
        };
        let Some(d) = self.live(from) else {
            return true;
        };
        let interval = d.cfg.csu_rexmit;
        let Some(Bulk::Holder {
            sender,
            rexmit_at,
            end_sent,
            whole,
            learner_clean,
            ..
        }) = d.recon.bulk.as_deref_mut()
        else {
            return true;
        };
        let before = sender.acked();
        sender.on_ack(next, credit.min(CREDIT.saturating_mul(4)));
        if sender.acked() > before {
            *rexmit_at = now + interval;
        }
        if next >= before {
            *learner_clean = learner & ack_flags::CLEAN != 0;
        }
        let master = d.ca.state == crate::event::CaState::SummarizeMaster;
        if master && *end_sent && sender.acked() == sender.total() {
            // The learner has every entry: the next CA of ours is phase 2 at once when nothing
            // is left to reconcile, or starts the reconciliation that mops up. (As slave, the
            // master's next CA ends the stream: until it comes, the end marker goes again at
            // each timeout, since the master, which may have every entry but not the end
            // marker, sends that CA only once it has the end.)
            let skip = *whole && *learner_clean;
            self.bulk_holder_end(from, skip);
            if skip {
                self.bulk_skip(now, from);
            } else {
                self.recon_master_again(now, from);
            }
            return true;
        }
        self.bulk_pump(from);
        true
    }

    /// The learner holds every entry streamed, each compared on receipt with what it held (an
    /// instance of its own under the same number with other data that wins goes back to us at
    /// Update Cache: [`Server::send_back`]). So our entries numbered -2^31+1 without knowing what
    /// the group holds (unconfirmed) are confirmed, as a DCS showing the same instance confirms
    /// them; otherwise each would show as a difference in the reconciliation that follows
    /// (docs/reconciliation.md §6), and a holder that never aligned before would fall back to
    /// the full summary there.
    fn bulk_confirm(&mut self, slots: &[u32]) {
        // By slot, as streamed: no lookup by identity, no copy of it.
        for &i in slots {
            let mine = self.cache.at_slot(i).is_some_and(|(rid, e)| {
                e.unconfirmed() && e.seq == crate::wire::SEQ_FIRST && rid.origin == self.cfg.lsid
            });
            if mine && let Some((_, e)) = self.cache.at_slot_mut(i) {
                e.set_unconfirmed(false);
            }
        }
    }

    /// An instance of ours goes back to DCS `to`, which sent an other one under the same number
    /// (docs/rfc2334-readings.md, "equal numbers"): on its retransmit queue; while we take a
    /// stream from it (Cache Summarize), once Update Cache is reached, as changes during Cache
    /// Summarize are.
    pub(super) fn send_back(&mut self, to: DcsId, csa: Csa) {
        let Some(d) = self.live(to) else { return };
        if matches!(d.recon.bulk.as_deref(), Some(Bulk::Learner { .. })) {
            d.deferred.insert(csa.summary.id.clone());
        } else {
            d.queue.enqueue(csa);
        }
    }

    fn bulk_send_ack(&mut self, to: DcsId, ack: &Message) {
        self.ext_out = Some(super::recon::extension(ack));
        self.send(
            to,
            Body::CsuReply {
                records: Vec::<Csas>::new(),
            },
        );
    }

    /// The timers of a stream with DCS `id`: the holder goes back to the first entry not
    /// acknowledged; the learner acknowledges again.
    pub(super) fn bulk_timers(&mut self, now: Time, id: DcsId) {
        let Some(d) = self.live(id) else { return };
        if d.recon.bulk_due().is_none_or(|t| t > now) {
            return;
        }
        let interval = d.cfg.csu_rexmit;
        match d.recon.bulk.as_deref_mut() {
            Some(Bulk::Holder {
                sender,
                rexmit_at,
                end_sent,
                ..
            }) => {
                sender.on_timeout();
                *end_sent = false;
                *rexmit_at = now + interval;
                d.recon.stats.bulk_rexmits += 1;
                self.bulk_pump(id);
            }
            Some(Bulk::Learner { rx, rexmit_at, .. }) => {
                let ack = rx.on_timeout();
                *rexmit_at = Some(now + interval);
                self.bulk_send_ack(id, &ack);
            }
            Some(Bulk::Offered) | None => {}
        }
    }

    /// As slave, the master's next CA of the exchange came: a stream still open is over (the
    /// master sends it only once every entry is acknowledged, or after it gave up).
    pub(super) fn bulk_learner_end(&mut self, id: DcsId) {
        let Some(d) = self.live(id) else { return };
        let Some(Bulk::Learner { complete, .. }) = d.recon.bulk.as_deref() else {
            return;
        };
        // (Complete and clean, the reconciliation was not prepared at the end marker: the
        // master was expected to find nothing left.)
        let prepared = *complete && d.recon.reconciling();
        d.recon.bulk = None;
        if !prepared {
            self.recon_slave_again(id);
        }
    }
}
