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

use scsp_recon::wire::{Message, flags};
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

/// A slave's offer to stream its entries (carried in its CA): a Bulk message at offset 0 with
/// no entries. (In a CSU Request the same message would be the end of an empty stream.)
const OFFER: Message = Message::Bulk {
    offset: 0,
    count: 0,
};

/// One side of a stream.
pub(crate) enum Bulk {
    /// We stream our entries: `slots`, the cache's occupied slots when it started, are the
    /// stream's order.
    Holder {
        sender: BulkSender,
        slots: Vec<u32>,
        rexmit_at: Time,
        end_sent: bool,
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

fn bulk_ext(m: &Message) -> Extension {
    Extension::VendorPrivate {
        vendor_id: super::recon::VENDOR_ID,
        data: m.to_bytes(),
    }
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
    /// master's; as master (the slave offered), our next CA.
    pub(super) fn bulk_learner_start(&mut self, now: Time, id: DcsId) {
        let Some(d) = self.live(id) else { return };
        let master = d.ca.state == crate::event::CaState::SummarizeMaster;
        let mut rx = BulkReceiver::new(CREDIT);
        let first = rx.on_timeout();
        d.recon.session_end();
        d.recon.bulk_used = true;
        d.recon.stats.bulk += 1;
        d.recon.bulk = Some(Box::new(Bulk::Learner {
            rx,
            rexmit_at: Some(now + d.cfg.csu_rexmit),
            complete: false,
        }));
        self.recon_send(now, id, master, &first);
    }

    /// As slave, far ahead of the master: offer to stream our entries.
    pub(super) fn bulk_offer(&mut self, now: Time, id: DcsId) {
        let Some(d) = self.live(id) else { return };
        d.recon.session_end();
        d.recon.bulk_used = true;
        d.recon.bulk = Some(Box::new(Bulk::Offered));
        self.recon_send(now, id, false, &OFFER);
    }

    /// As master, the slave's answer to our CA, when the bulk path is concerned: the offer to
    /// stream (we become the learner), or the answer to our Bulk Ack while we learn (nothing
    /// more to send until the stream ends). Whether it was handled.
    pub(super) fn bulk_master_step(&mut self, now: Time, id: DcsId, ext: Option<&[u8]>) -> bool {
        let Some(d) = self.dcs(id) else { return false };
        if matches!(d.recon.bulk.as_deref(), Some(Bulk::Learner { .. })) {
            return true;
        }
        let offer = matches!(
            ext.map(Message::decode),
            Some(Ok(Message::Bulk {
                offset: 0,
                count: 0
            }))
        );
        if !offer || d.recon.bulk_used || !self.bulk_agreed(id) {
            return false;
        }
        self.bulk_learner_start(now, id);
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
                if let Some(Ok(Message::BulkAck { next: 0, credit })) = ext.map(Message::decode) {
                    // The master takes our stream.
                    self.bulk_holder_start(now, id, credit);
                    self.recon_send(now, id, false, &OFFER);
                    return Some(true);
                }
                // Declined: the full summary exchange.
                d.recon.stats.fallbacks += 1;
                self.take_summary(id);
                Some(false)
            }
            Some(Bulk::Holder { .. }) => {
                // The master's next CA: the stream is over (every entry acknowledged); the
                // reconciliation that mops up starts.
                self.bulk_holder_end(id);
                None
            }
            Some(Bulk::Learner { .. }) => {
                self.bulk_learner_end(id);
                None
            }
        }
    }

    /// As holder, the stream is over: our unconfirmed entries are confirmed, and as slave a
    /// reconciliation against a fresh snapshot waits for the master's CA.
    fn bulk_holder_end(&mut self, id: DcsId) {
        let Some(d) = self.live(id) else { return };
        let master = d.ca.state == crate::event::CaState::SummarizeMaster;
        if let Some(b) = d.recon.bulk.take()
            && let Bulk::Holder { slots, .. } = *b
        {
            self.bulk_confirm(&slots);
        }
        if !master {
            self.recon_slave_again(id);
        }
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
            if left > 0 {
                let mut fill = Fill::new(room);
                while n < left {
                    let slot = slots[(at + n) as usize];
                    if let Some((rid, e)) = self.cache.at_slot(slot) {
                        let csa = e.csa(rid, 1);
                        if !fill.take(wire::csa_len(&csa)) {
                            if !records.is_empty() {
                                break;
                            }
                            // Too long for a packet beside the Bulk message (a record of the
                            // largest size with authentication): a position without a record,
                            // which the reconciliation after the stream finds as a difference.
                        } else {
                            records.push(csa);
                        }
                    }
                    // (A slot emptied since the start is a position without a record.)
                    n += 1;
                }
            }
            let Some(d) = self.live(id) else { return };
            let Some(Bulk::Holder {
                sender, end_sent, ..
            }) = d.recon.bulk.as_deref_mut()
            else {
                return;
            };
            let Some((offset, count)) = sender.next_batch(n.max(1)) else {
                return;
            };
            debug_assert!(count == n || count == 0);
            if count == 0 {
                *end_sent = true;
            }
            d.recon.stats.bulk_entries += records.len() as u64;
            self.ext_out = Some(bulk_ext(&BulkSender::message(offset, count)));
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
        let Some(Ok(Message::Bulk { offset, count })) = super::recon::find(extensions)
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
            *rexmit_at = None;
        } else if v.accept && !*complete {
            *rexmit_at = Some(now + interval);
        }
        if v.accept {
            d.recon.stats.bulk_entries += records.len() as u64;
            let solicited = vec![true; records.len()];
            // Stored as solicited records (2.2.3): weighed, kept if newer, flooded on.
            self.weigh(now, from, records, solicited);
        }
        if let Some(ack) = v.ack {
            self.bulk_send_ack(from, &ack);
        }
        if ended {
            // The stream is whole: reconcile once more; as slave when the master's next CA
            // comes, as master with our next CA.
            let master = self
                .dcs(from)
                .is_some_and(|d| d.ca.state == crate::event::CaState::SummarizeMaster);
            if master {
                if let Some(d) = self.dcs_mut(from) {
                    d.recon.bulk = None;
                }
                self.recon_master_again(now, from);
            } else {
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
        let Some(Ok(Message::BulkAck { next, credit })) = super::recon::find(extensions)
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
        let master = d.ca.state == crate::event::CaState::SummarizeMaster;
        if master && *end_sent && sender.acked() == sender.total() {
            // The learner has every entry: the next CA of ours starts the reconciliation that
            // mops up. (As slave, the master's next CA ends the stream: until it comes, the end
            // marker goes again at each timeout, since the master, which may have every entry
            // but not the end marker, sends that CA only once it has the end.)
            self.bulk_holder_end(from);
            self.recon_master_again(now, from);
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
        self.ext_out = Some(bulk_ext(ack));
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
        let complete = *complete;
        d.recon.bulk = None;
        if !complete {
            self.recon_slave_again(id);
        }
    }
}
