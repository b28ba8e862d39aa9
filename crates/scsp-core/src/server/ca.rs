//! The Cache Alignment protocol (2.2): Master/Slave Negotiation, Cache Summarize, Update Cache
//! (the CSUS side) and Aligned.

use std::cmp::Ordering;

use super::dcs::Dcs;
use super::output::{Fill, room_to};
use super::{DcsId, Server, slot_mut};
use crate::Time;
use crate::event::{CaState, Drop, MessageSummary};
use crate::seq;
use crate::wire::{self, Body, Csas, MessageType, SEQ_PURGE};

/// A received CA message.
#[derive(Debug)]
pub(super) struct CaMsg {
    pub seq: u32,
    pub m: bool,
    pub i: bool,
    pub o: bool,
    pub records: Vec<Csas>,
}

impl CaMsg {
    /// The first CA of a negotiation: M, I and O set and no records (2.2).
    fn is_initial(&self) -> bool {
        self.m && self.i && self.o && self.records.is_empty()
    }
}

/// What drives the CA machine (2.2).
#[derive(Debug)]
pub(super) enum CaEvent {
    /// The Hello machine became Bidirectional.
    HelloUp,
    /// The Hello machine left Bidirectional.
    HelloDown,
    /// A CA message from the DCS.
    Ca(CaMsg),
    /// The CA retransmission timer expired.
    CaRexmit,
    /// Nothing is outstanding and the CSA Request List is empty (2.2.3).
    CrlEmpty,
}

impl CaEvent {
    fn name(&self) -> &'static str {
        match self {
            CaEvent::HelloUp => "HelloUp",
            CaEvent::HelloDown => "HelloDown",
            CaEvent::Ca(_) => "CA",
            CaEvent::CaRexmit => "CaRexmit",
            CaEvent::CrlEmpty => "CrlEmpty",
        }
    }
}

impl Server {
    /// Enter Master/Slave Negotiation: a new CA sequence number and the first CA, with M, I and O
    /// set and no records, retransmitted every CAReXmitInt (2.2).
    pub(super) fn ca_start(&mut self, now: Time, id: DcsId, cause: &'static str) {
        self.reset_alignment(id);
        let Some(d) = self.live(id) else { return };
        let ca_seq = d.new_ca_seq(now);
        self.set_ca(now, id, CaState::Negotiation, cause);
        let body = Body::Ca {
            seq: ca_seq,
            m: true,
            i: true,
            o: true,
            records: Vec::new(),
        };
        self.send_ca(now, id, body, true);
    }

    /// Send a CA, keep it as our last one, and time its retransmission if `rexmit`.
    pub(super) fn send_ca(&mut self, now: Time, id: DcsId, body: Body, rexmit: bool) {
        let o = matches!(body, Body::Ca { o: true, .. });
        let records = body.record_count();
        let Some((bytes, sent)) = self.encode_to(id, None, body) else {
            return;
        };
        let kept = MessageSummary {
            kind: MessageType::Ca,
            records,
            len: bytes.len(),
            ca: None,
        };
        self.transmit(id, bytes.clone(), sent);
        if let Some(d) = self.live(id) {
            d.keep_ca(now, (bytes, kept), o, rexmit);
        }
    }

    /// Send our last CA again (encoded afresh when it carries a replay extension: a copy of the
    /// same bytes would be refused as a replay).
    fn resend_ca(&mut self, id: DcsId) {
        let nonce = self.cfg.replay_nonce;
        let Some(d) = self.live(id) else { return };
        let Some((bytes, summary)) = d.ca_out.clone() else {
            return;
        };
        d.stats.ca_retransmits += 1;
        if d.replay_on(nonce)
            && let Ok(p) = wire::decode(&bytes)
            && super::recon::carry(&mut self.ext_out, &p.extensions)
            && let Some((fresh, sent)) = self.encode_to(id, Some(p.common), p.body)
        {
            if let Some(d) = self.live(id) {
                d.ca_out = Some((fresh.clone(), summary));
            }
            self.transmit(id, fresh, sent);
            return;
        }
        self.transmit(id, bytes, summary);
    }

    /// Send the next CA of the summary, as master (`m`) or slave: as many CSAS records as fit,
    /// with O set when more remain (rfc2334-readings.md #2).
    pub(super) fn send_summary_ca(&mut self, now: Time, id: DcsId, m: bool) {
        let Some(d) = slot_mut(&mut self.dcs, id) else {
            return self.unknown_dcs(id, "internal");
        };
        // (Less the reconciliation outcome that may ride along: server/recon/.)
        let room = room_to(&self.cfg, d, MessageType::Ca)
            .saturating_sub(if self.ext_out.is_some() { 64 } else { 0 });
        let body = d.summary_ca(room, m);
        // The master holds the outstanding CA and retransmits it; the slave only answers.
        self.send_ca(now, id, body, m);
    }

    /// Take the summary of the cache that Cache Summarize sends. Changes made after this point
    /// are sent as CSU Requests once the DCS reaches Update Cache (rfc2334-readings.md #14).
    pub(super) fn take_summary(&mut self, id: DcsId) {
        let Some(d) = slot_mut(&mut self.dcs, id) else {
            return self.unknown_dcs(id, "internal");
        };
        d.summary = self.cache.iter().map(|(rid, e)| e.csas(rid, 1)).collect();
        d.deferred.clear();
    }

    /// The CSAS records of a CA in Cache Summarize: processed at once, or in pipelined mode after
    /// the answer goes out (the next CA does not depend on them; finish_summarize takes them all
    /// before Update Cache begins).
    fn summaries(&mut self, now: Time, id: DcsId, records: Vec<Csas>) {
        if records.is_empty() {
            return;
        }
        if self.pipelined {
            self.defer(super::Work::Summaries {
                now,
                from: id,
                records,
            });
        } else {
            self.process_summaries(id, records);
        }
    }

    /// CA message processing (2.2.2.1): every summarized entry the DCS holds newer than we do
    /// goes on the CSA Request List.
    pub(super) fn process_summaries(&mut self, id: DcsId, records: Vec<Csas>) {
        let lsid = self.cfg.lsid.clone();
        let max = self.cfg.max_csa_requests;
        let mut wanted = Vec::new();
        let mut stray = Vec::new();
        let hashes: Vec<u64> = records.iter().map(|r| self.cache.hash(&r.id)).collect();
        self.cache.touch(&hashes);
        for (r, hash) in records.into_iter().zip(hashes) {
            if r.null {
                continue;
            }
            // (Whether it is wanted, and whether it is absent from the cache.)
            let want = match self.cache.get_hashed(hash, &r.id) {
                None if r.seq == SEQ_PURGE => {
                    // A purge of an entry we do not hold: there is nothing to fetch.
                    stray.push(r.id.clone());
                    None
                }
                None => Some(true),
                Some(e) => (seq::newer(r.seq, e.seq)
                    // Our own entry at the same number, originated without knowing whether
                    // an earlier incarnation exists, or an entry that won over another
                    // instance under its number (contested): fetch it to compare
                    // (docs/rfc2334-readings.md, "equal numbers").
                    || (r.seq == e.seq
                        && (e.contested() || (e.unconfirmed() && r.id.origin == lsid))))
                    .then_some(false),
            };
            if let Some(missing) = want {
                wanted.push((r, missing));
            }
        }
        for r in stray {
            self.stray_purge(id, r);
        }
        let Some(d) = self.live(id) else { return };
        let refused = d.want_summarized(wanted, max);
        if refused > 0 {
            self.drop_packet(id, Drop::CrlFull(refused));
        }
    }

    /// The CA machine of DCS `id` (2.2): every transition starts in one arm of this match; the
    /// rules within Negotiation and Cache Summarize are in the handlers it calls, numbered as in
    /// the RFC. The side effects of a change of state are in [`Server::set_ca`].
    pub(super) fn ca_fsm(&mut self, now: Time, id: DcsId, event: CaEvent) {
        use CaState::{Aligned, Down, Negotiation, SummarizeMaster, SummarizeSlave, UpdateCache};
        let Some(d) = self.live(id) else { return };
        let state = d.ca.state;
        let name = event.name();
        match (state, event) {
            // 2.2: the Hello machine becoming Bidirectional starts Master/Slave Negotiation.
            (Down, CaEvent::HelloUp) => self.ca_start(now, id, "Hello FSM Bidirectional"),
            // 2.2: any time the Hello machine leaves Bidirectional, the CA machine goes Down.
            (_, CaEvent::HelloDown) => {
                self.reset_alignment(id);
                self.set_ca(now, id, Down, "Hello FSM left Bidirectional");
            }
            (Down, CaEvent::Ca(_)) => {
                self.drop_packet(id, Drop::UnexpectedInState(MessageType::Ca, Down));
            }
            (Negotiation, CaEvent::Ca(msg)) => self.negotiate(now, id, msg),
            (SummarizeMaster, CaEvent::Ca(msg)) => self.summarize_master(now, id, msg),
            (SummarizeSlave, CaEvent::Ca(msg)) => self.summarize_slave(now, id, msg),
            (UpdateCache | Aligned, CaEvent::Ca(msg)) => self.ca_after_summarize(now, id, msg),
            // 2.2.1, 2.2.2: the CA outstanding is retransmitted while its answer is awaited.
            (Negotiation | SummarizeMaster, CaEvent::CaRexmit) => {
                d.ca_backoff(now);
                self.resend_ca(id);
            }
            // Nothing awaited: a slave's CA is an answer, resent only when asked again.
            (Down | SummarizeSlave | UpdateCache | Aligned, CaEvent::CaRexmit) => {
                d.ca_rexmit_at = None;
            }
            // 2.2.3: Update Cache with the CSA Request List empty: Aligned.
            (UpdateCache, CaEvent::CrlEmpty) => {
                self.set_ca(now, id, Aligned, "2.2.3: CSA Request List empty");
            }
            (Aligned, CaEvent::CrlEmpty) => {}
            (
                Negotiation | SummarizeMaster | SummarizeSlave | UpdateCache | Aligned,
                CaEvent::HelloUp,
            )
            | (Down | Negotiation | SummarizeMaster | SummarizeSlave, CaEvent::CrlEmpty) => {
                self.unexpected_event(id, "CA", format!("{state:?}"), name);
            }
        }
    }

    /// 2.2.1, Master/Slave Negotiation.
    fn negotiate(&mut self, now: Time, id: DcsId, msg: CaMsg) {
        let Some(d) = slot_mut(&mut self.dcs, id) else {
            return self.unknown_dcs(id, "internal");
        };
        let order = d.cfg.id.cmp_numeric(&self.cfg.lsid);
        if msg.is_initial() && order == Ordering::Greater {
            // Rule 1: the DCS's ID is larger; we are slave.
            d.ca_rexmit_at = None; // 1a
            d.ca_seq = msg.seq; // 1c
            d.was_master = false;
            self.set_ca(
                now,
                id,
                CaState::SummarizeSlave,
                "2.2.1 rule 1: DCS is master",
            ); // 1b
            if !self.recon_slave_start(now, id) {
                self.take_summary(id);
                self.send_summary_ca(now, id, false); // 1d
            }
        } else if !msg.m && !msg.i && order == Ordering::Less {
            if msg.seq != d.ca_seq {
                // A slave copies our sequence number; anything else is a stale CA.
                self.drop_packet(id, Drop::IgnoredCa(msg.seq));
                return;
            }
            // Rule 2: our ID is larger; we are master.
            d.ca_answered(now); // 2a
            d.was_master = true;
            self.set_ca(
                now,
                id,
                CaState::SummarizeMaster,
                "2.2.1 rule 2: we are master",
            ); // 2b
            self.summaries(now, id, msg.records); // 2c
            let recon = self.recon_master_start(id);
            if !recon {
                self.take_summary(id);
            }
            let Some(d) = self.live(id) else { return };
            d.ca_seq = d.ca_seq.wrapping_add(1); // 2d
            if recon {
                self.recon_master_next(now, id);
            } else {
                self.send_summary_ca(now, id, true);
            }
        } else {
            // Rule 3: ignore.
            self.drop_packet(id, Drop::IgnoredCa(msg.seq));
        }
    }

    /// Back to Master/Slave Negotiation, and evaluate at once the CA that caused it
    /// (rfc2334-readings.md #5).
    fn renegotiate(&mut self, now: Time, id: DcsId, msg: CaMsg, cause: &'static str) {
        let Some(d) = slot_mut(&mut self.dcs, id) else {
            return self.unknown_dcs(id, "internal");
        };
        if msg.is_initial() && d.cfg.id.cmp_numeric(&self.cfg.lsid) == Ordering::Greater {
            // The DCS restarted the negotiation and will be master: become its slave at once,
            // without an initial CA of our own that would only be ignored.
            self.reset_alignment(id);
            self.set_ca(now, id, CaState::Negotiation, cause);
        } else {
            self.ca_start(now, id, cause);
        }
        self.negotiate(now, id, msg);
    }

    /// 2.2.2 as master.
    fn summarize_master(&mut self, now: Time, id: DcsId, msg: CaMsg) {
        let Some(d) = self.live(id) else { return };
        if msg.m || msg.i {
            // Rule 1. (Even a late copy of the slave's initial CA: the slave may really be back
            // in Negotiation, and would ignore our CAs for ever.)
            self.renegotiate(now, id, msg, "2.2.2 rule 1: M or I bit set");
            return;
        }
        if msg.seq == d.ca_seq.wrapping_sub(1) {
            // Rule 2: duplicate.
            self.drop_packet(id, Drop::IgnoredCa(msg.seq));
            return;
        }
        if msg.seq != d.ca_seq {
            // Not covered by the RFC (rfc2334-readings.md #4): ignore and keep retransmitting.
            self.drop_packet(id, Drop::IgnoredCa(msg.seq));
            return;
        }
        // Rule 3.
        d.ca_answered(now); // 3a
        self.summaries(now, id, msg.records); // 3b
        let Some(d) = self.live(id) else { return };
        d.ca_seq = d.ca_seq.wrapping_add(1); // 3c
        if self.recon_master_step(now, id) {
            return;
        }
        let Some(d) = self.live(id) else { return };
        if d.summary.is_empty() && !msg.o {
            // 3d1: neither side has more.
            d.ca_out = None;
            self.finish_summarize(now, id, "2.2.2 rule 3d1: summaries exchanged");
        } else {
            // 3d2 (an empty CA with O off) or 3d3 (the next records).
            self.send_summary_ca(now, id, true);
        }
    }

    /// 2.2.2 as slave.
    fn summarize_slave(&mut self, now: Time, id: DcsId, msg: CaMsg) {
        let Some(d) = self.live(id) else { return };
        if msg.m && msg.seq == d.ca_seq {
            // Rule 4: duplicate; resend our last CA. (Also the master's initial CA again: our
            // first answer was lost.)
            self.resend_ca(id);
            return;
        }
        if msg.m && seq::ca_after(d.ca_seq, msg.seq) {
            // An older CA of the master's, late (a renegotiation would use a number after every
            // one it used before: B.2.1): a stale copy, dropped like the master's rule 2.
            self.drop_packet(id, Drop::IgnoredCa(msg.seq));
            return;
        }
        if !msg.m || msg.i {
            self.renegotiate(now, id, msg, "2.2.2 rule 1: M bit clear or I bit set");
            return;
        }
        if msg.seq != d.ca_seq.wrapping_add(1) {
            // Rule 6.
            self.renegotiate(now, id, msg, "2.2.2 rule 6: unexpected CA sequence number");
            return;
        }
        // Rule 5.
        let master_more = msg.o;
        d.ca_seq = msg.seq; // 5b
        self.summaries(now, id, msg.records); // 5a
        if self.recon_slave_step(now, id) {
            return;
        }
        // 5c: our next records, or an empty CA with O off when we have none left
        // (rfc2334-readings.md #3).
        self.send_summary_ca(now, id, false);
        let Some(d) = self.live(id) else { return };
        if !d.sent_more && !master_more {
            // 5c1 / 5c2b. Keep our last CA for the master's retransmission (2.2.2 note): for as
            // long as the master may still retransmit, that is until a message shows that it
            // has left Cache Summarize (rfc2334-readings.md #7).
            self.finish_summarize(now, id, "2.2.2 rule 5c: summaries exchanged");
        }
    }

    /// A CA in Update Cache or Aligned (rfc2334-readings.md #6).
    fn ca_after_summarize(&mut self, now: Time, id: DcsId, msg: CaMsg) {
        let Some(d) = self.live(id) else { return };
        // A late copy of a CA of the exchange that is over: its number is before ours (as slave
        // we hold the master's last number; as master, one past it).
        let stale = if d.was_master {
            !msg.m && seq::ca_after(d.ca_seq, msg.seq)
        } else {
            msg.m && seq::ca_after(d.ca_seq, msg.seq)
        };
        if stale {
            self.drop_packet(id, Drop::IgnoredCa(msg.seq));
        } else if !d.was_master && msg.m && !msg.i && msg.seq == d.ca_seq && d.ca_out.is_some() {
            self.resend_ca(id);
        } else if msg.i {
            self.renegotiate(now, id, msg, "CA with I bit after Cache Summarize");
        } else {
            self.renegotiate(now, id, msg, "unexpected CA after Cache Summarize");
        }
    }

    /// Cache Summarize is over: Update Cache, then Aligned once the CSA Request List is empty
    /// (2.2.3).
    fn finish_summarize(&mut self, now: Time, id: DcsId, cause: &'static str) {
        // The CSA Request List is whole once every summary received is processed.
        self.settle();
        self.set_ca(now, id, CaState::UpdateCache, cause);
        let Some(d) = slot_mut(&mut self.dcs, id) else {
            return self.unknown_dcs(id, "internal");
        };
        // The cache grows once to hold what the DCS has and we lack, instead of doubling (and
        // rehashing every entry) again and again while the answers arrive.
        let missing = std::mem::take(&mut d.crl.missing);
        self.cache
            .reserve(super::bounds::cache_room(&self.cfg, &self.cache, missing));
        // Entries that changed during the summary go out now as CSU Requests.
        let hops = d.cfg.hops;
        for rid in d.deferred.drain() {
            if let Some(e) = self.cache.get(&rid) {
                d.queue.enqueue(e.csa(&rid, hops));
            }
        }
        self.csus_progress(now, id);
    }

    /// Send the next CSUS if none is outstanding and the CSA Request List is not empty; in
    /// Update Cache with nothing left to request, go to Aligned (2.2.3).
    pub(super) fn csus_progress(&mut self, now: Time, id: DcsId) {
        let Some(d) = self.live(id) else { return };
        match d.csus_due() {
            Csus::Wait => {}
            Csus::Done => {
                d.crl.rexmit_at = None;
                d.crl.release();
                self.ca_fsm(now, id, CaEvent::CrlEmpty);
            }
            Csus::Send => {
                d.crl.rexmit_at = None;
                self.send_csus(now, id, false);
            }
        }
    }

    /// Records answered but not yet weighed (pipelined mode): the next CSUS goes out at once if
    /// the one outstanding is fully answered and more is wanted. (Aligned is reached only once the
    /// records are weighed, by `csus_progress`.)
    pub(super) fn solicit_next(&mut self, now: Time, id: DcsId) {
        let Some(d) = self.live(id) else { return };
        if d.csus_due() == Csus::Send {
            self.send_csus(now, id, false);
        }
    }

    /// Build and send a CSUS: the records still outstanding, topped up from the CSA Request List
    /// to fill the packet (2.2.3).
    fn send_csus(&mut self, now: Time, id: DcsId, retransmit: bool) {
        let Some(d) = slot_mut(&mut self.dcs, id) else {
            return self.unknown_dcs(id, "internal");
        };
        let room = room_to(&self.cfg, d, MessageType::Csus);
        if let Some(records) = d.csus_records(now, room, retransmit) {
            self.send(id, Body::Csus { records });
        }
    }

    pub(super) fn ca_timers(&mut self, now: Time, id: DcsId) {
        let Some(d) = self.live(id) else { return };
        if d.ca_rexmit_at.is_some_and(|t| t <= now) {
            self.ca_fsm(now, id, CaEvent::CaRexmit);
        }
        let Some(d) = self.live(id) else { return };
        if d.crl.rexmit_at.is_some_and(|t| t <= now) {
            d.crl.rexmit_at = None;
            if !d.crl.has_outstanding() {
                self.csus_progress(now, id);
            } else {
                self.send_csus(now, id, true);
            }
        }
    }

    /// The side effects of a change of state of the CA machine (2.2).
    pub(super) fn set_ca(&mut self, now: Time, id: DcsId, to: CaState, cause: &'static str) {
        let Some(d) = self.live(id) else { return };
        let from = d.ca.state;
        if from == to {
            return;
        }
        d.ca = crate::event::Since {
            state: to,
            since: now,
        };
        if to == CaState::Aligned {
            d.stats.alignments += 1;
            self.some_aligned = true;
        }
        self.events
            .push_back(crate::event::Event::Trace(crate::event::Trace::Ca {
                dcs: id,
                from,
                to,
                cause,
            }));
    }
}

/// Whether a CSUS is due ([`Dcs::csus_due`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Csus {
    /// Not in Update Cache or Aligned, or a CSUS is outstanding.
    Wait,
    /// Nothing outstanding, and the CSA Request List is empty (2.2.3).
    Done,
    /// Nothing outstanding, and more is wanted.
    Send,
}

/// What the CA machine keeps of its DCS (2.2).
impl Dcs {
    /// A new CA sequence number, for a new negotiation (B.2.1).
    fn new_ca_seq(&mut self, now: Time) -> u32 {
        self.ca_seq = seq::new_ca_seq(now.as_millis(), self.last_ca_seq);
        self.last_ca_seq = Some(self.ca_seq);
        self.ca_seq
    }

    /// Keep `ca`, just sent, as our last CA (`o`: its O bit), timing its retransmission if
    /// `rexmit`.
    fn keep_ca(&mut self, now: Time, ca: (Vec<u8>, MessageSummary), o: bool, rexmit: bool) {
        self.ca_out = Some(ca);
        self.sent_more = o;
        self.ca_retries = 0;
        self.ca_sent_at = rexmit.then_some(now);
        self.ca_rexmit_at = rexmit.then(|| now + self.rto(0, self.cfg.ca_rexmit));
    }

    /// A CA of ours waits for its answer (as master: it is retransmitted until then).
    pub(super) fn ca_outstanding(&self) -> bool {
        self.ca_rexmit_at.is_some()
    }

    /// Our outstanding CA is answered: its retransmission stops, and its round trip is timed if
    /// it went once only.
    fn ca_answered(&mut self, now: Time) {
        self.ca_rexmit_at = None;
        let sent = self.ca_sent_at.take();
        self.rtt_sample(now, sent);
    }

    /// Our outstanding CA goes again: the next retransmission backs off.
    fn ca_backoff(&mut self, now: Time) {
        self.ca_retries = self.ca_retries.saturating_add(1);
        self.ca_sent_at = None;
        self.ca_rexmit_at = Some(now + self.rto(self.ca_retries, self.cfg.ca_rexmit));
    }

    /// The next CA of the summary, as master (`m`) or slave: as many CSAS records as fit in
    /// `room`, with O set when more remain (rfc2334-readings.md #2).
    fn summary_ca(&mut self, room: usize, m: bool) -> Body {
        let mut records = Vec::new();
        let mut fill = Fill::new(room);
        while let Some(r) = self.summary.front() {
            if !fill.take(wire::csas_len(r)) {
                break;
            }
            records.extend(self.summary.pop_front());
        }
        let o = !self.summary.is_empty();
        if !o {
            self.summary = Default::default();
        }
        Body::Ca {
            seq: self.ca_seq,
            m,
            i: false,
            o,
            records,
        }
    }

    /// Put the summarized entries `wanted` (each with whether the cache lacks it) on the CSA
    /// Request List, up to `max` (2.2.2.1). The list is bounded: what is past the bound is not
    /// solicited in this alignment (it comes with the next, or with its next update). Returns
    /// how many were refused.
    fn want_summarized(&mut self, wanted: Vec<(Csas, bool)>, max: usize) -> usize {
        let mut refused = 0;
        for (r, missing) in wanted {
            if self.crl.len() >= max {
                refused += 1;
                continue;
            }
            self.crl.missing += usize::from(missing);
            self.crl.want_summarized(r.id, r.seq);
        }
        refused
    }

    /// Whether a CSUS is due (2.2.3).
    fn csus_due(&self) -> Csus {
        if !matches!(self.ca.state, CaState::UpdateCache | CaState::Aligned)
            || self.crl.has_outstanding()
        {
            Csus::Wait
        } else if self.crl.is_empty() {
            Csus::Done
        } else {
            Csus::Send
        }
    }

    /// The records of a CSUS sent now (`retransmit`: again): those still outstanding, topped up
    /// from the CSA Request List to fill `room`; its retransmission timed. `None` when there is
    /// nothing to ask.
    fn csus_records(&mut self, now: Time, room: usize, retransmit: bool) -> Option<Vec<Csas>> {
        let mut records = Vec::new();
        let mut fill = Fill::new(room);
        self.crl
            .outstanding_records(&mut records, |r| fill.take(wire::csas_len(r)));
        self.crl
            .ask_more(&mut records, |r| fill.take(wire::csas_len(r)));
        if records.is_empty() {
            self.crl.rexmit_at = None;
            return None;
        }
        if retransmit {
            self.stats.csus_retransmits += 1;
            self.csus_retries = self.csus_retries.saturating_add(1);
            self.csus_sent_at = None;
        } else {
            self.csus_retries = 0;
            self.csus_sent_at = Some(now);
        }
        self.crl.rexmit_at = Some(now + self.rto(self.csus_retries, self.cfg.csus_rexmit));
        Some(records)
    }
}
