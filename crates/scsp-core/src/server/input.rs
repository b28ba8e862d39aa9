//! What comes in: a datagram checked (decoding, authentication, replay protection, group,
//! sender, receiver, state) and dispatched to the machines; drops and abnormal events.

use super::*;

impl Server {
    // ----- packet input ---------------------------------------------------------------------

    /// A purge (0x7FFFFFFF) of an entry we do not hold, received from `from`: counted and
    /// reported.
    pub(super) fn stray_purge(&mut self, from: DcsId, id: RecordId) {
        if let Some(d) = self.dcs_mut(from) {
            d.stats.stray_purges += 1;
        }
        let notice = crate::event::Notice::StrayPurge { id };
        self.events
            .push_back(Event::Trace(Trace::Notice { dcs: from, notice }));
    }

    /// A packet or records from `from` dropped: counted (unless the DCS has been removed since
    /// the records arrived: an entry that waited for the local server's verdict) and reported.
    pub(super) fn drop_packet(&mut self, from: DcsId, reason: Drop) {
        if let Some(d) = self.dcs_mut(from) {
            d.stats.count_drop(&reason);
        }
        self.events
            .push_back(Event::Trace(Trace::Dropped { dcs: from, reason }));
    }

    /// A packet that did not decode or failed authentication: dropped, and an abnormal event
    /// if it may be ([`Dcs::unverified_is_abnormal`]).
    fn unverified(&mut self, now: Time, from: DcsId, reason: Drop, cause: String) {
        self.drop_packet(from, reason);
        if self
            .live(from)
            .is_some_and(|d| d.unverified_is_abnormal(now))
        {
            self.abnormal(now, from, cause);
        }
    }

    pub(super) fn receive(&mut self, now: Time, from: DcsId, bytes: &[u8]) {
        let packet = match wire::decode(bytes) {
            Ok(p) => p,
            Err(e) => {
                let cause = format!("malformed packet: {e}");
                return self.unverified(now, from, Drop::Malformed(e.to_string()), cause);
            }
        };
        let Some(d) = slot(&self.dcs, from) else {
            return self.unknown_dcs(from, "internal");
        };
        if !d.cfg.auth_recv.is_empty() {
            let keys = &d.cfg.auth_recv;
            if let Err(e) = wire::verify_auth(bytes, &packet, |spi| {
                keys.iter().find(|k| k.spi == spi).cloned()
            }) {
                let cause = format!("authentication failed: {e}");
                return self.unverified(now, from, Drop::Auth(e.to_string()), cause);
            }
            if !self.replay_check(now, from, &packet) {
                return;
            }
        }
        let Some(d) = slot_mut(&mut self.dcs, from) else {
            return self.unknown_dcs(from, "internal");
        };
        let c = &packet.common;
        if c.protocol_id != self.cfg.protocol_id || c.sgid != self.cfg.sgid {
            let reason = Drop::WrongGroup {
                protocol_id: c.protocol_id,
                sgid: c.sgid,
            };
            self.drop_packet(from, reason);
            return;
        }
        if c.sender != d.cfg.id {
            self.drop_packet(from, Drop::WrongSender);
            return;
        }
        let kind = packet.body.message_type();
        let for_us = match kind {
            wire::MessageType::Hello => true,
            wire::MessageType::CsuRequest | wire::MessageType::CsuReply => {
                c.receiver == self.cfg.lsid || c.receiver.is_broadcast()
            }
            wire::MessageType::Ca | wire::MessageType::Csus => c.receiver == self.cfg.lsid,
        };
        if !for_us {
            self.drop_packet(from, Drop::NotForUs);
            return;
        }
        if kind != wire::MessageType::Hello
            && d.hello.state != crate::event::HelloState::Bidirectional
        {
            self.drop_packet(from, Drop::NotBidirectional(kind));
            return;
        }
        let summary = summarize(&packet, bytes.len());
        d.stats.rx.count(summary.kind, summary.len, summary.records);
        if kind != wire::MessageType::Hello && d.cfg.any_message_alive {
            // Sent only while the DCS is Bidirectional with us: it is alive and hears us.
            d.last_hello = Some(now);
            d.last_hello_with_us = Some(now);
        }
        if self.trace_messages {
            self.events.push_back(Event::Trace(Trace::Received {
                dcs: from,
                msg: summary,
            }));
        }
        let deferred = match kind {
            wire::MessageType::CsuRequest => true,
            // A CA adds its summaries behind those waiting; one that ends the exchange takes
            // them all first (finish_summarize), one that restarts it drops them.
            wire::MessageType::Ca => !self.records_waiting(),
            _ => false,
        };
        if !deferred {
            // Anything else sees every record received before it weighed.
            self.settle();
        }
        match packet.body {
            Body::Hello {
                interval,
                dead_factor,
                family_id,
                additional,
            } => {
                let mut receivers = additional;
                receivers.push(packet.common.receiver);
                self.recon_in = super::recon::find(&packet.extensions);
                self.recon_hello_in(from);
                let hello = HelloIn {
                    interval,
                    dead_factor,
                    family_id,
                    receivers: &receivers,
                };
                self.hello_fsm(now, from, HelloEvent::Hello(hello));
            }
            Body::Ca {
                seq,
                m,
                i,
                o,
                records,
            } => {
                self.recon_in = super::recon::find(&packet.extensions);
                let msg = ca::CaMsg {
                    seq,
                    m,
                    i,
                    o,
                    records,
                };
                self.ca_fsm(now, from, ca::CaEvent::Ca(msg));
                self.recon_in = None;
            }
            Body::CsuRequest { records } => {
                // (The bulk path's stream is taken by server/bulk.rs.)
                if let Some(records) = self.bulk_data_in(now, from, &packet.extensions, records) {
                    self.on_csu_request(now, from, records);
                }
            }
            Body::CsuReply { records } => {
                if !self.bulk_ack_in(now, from, &packet.extensions) {
                    self.on_csu_reply(now, from, records);
                }
            }
            Body::Csus { records } => self.on_csus(from, records),
        }
    }

    /// An abnormal event (2.1): the Hello FSM goes back to Waiting and the DCS leaves our
    /// Receiver ID list (rfc2334-readings.md #12).
    pub(super) fn abnormal(&mut self, now: Time, from: DcsId, cause: String) {
        self.settle();
        let Some(d) = self.live(from) else { return };
        d.stats.abnormal_events += 1;
        self.events
            .push_back(Event::Trace(Trace::Abnormal { dcs: from, cause }));
        self.hello_fsm(now, from, HelloEvent::Abnormal);
    }

    /// An authenticated packet from DCS `from`: whether its replay extension lets it in
    /// (docs/replay-protection.md). A refused one is counted and reported; one that echoes a
    /// stale nonce brings our next Hello forward (at most once a second), so that a DCS that
    /// restarted, or that we restarted away from, learns our nonce at once.
    pub(super) fn replay_check(&mut self, now: Time, from: DcsId, packet: &Packet) -> bool {
        let ours = self.cfg.replay_nonce;
        let Some(d) = slot_mut(&mut self.dcs, from) else {
            self.unknown_dcs(from, "internal");
            return false;
        };
        if !d.replay_on(ours) {
            return true;
        }
        let ext = replay::ReplayExt::find(&packet.extensions);
        let mode = d.cfg.replay;
        match d.replay.check(ext, ours, mode) {
            Ok(()) => true,
            Err(why) => {
                d.stats.replays_refused += 1;
                if why == replay::Refused::Stale
                    && d.hello.state != crate::event::HelloState::Down
                    && d.replay_prompt_at
                        .is_none_or(|t| now.since(t) >= Duration::from_secs(1))
                {
                    d.replay_prompt_at = Some(now);
                    d.hello_at = Some(now);
                }
                self.drop_packet(from, Drop::Replay(why.text()));
                false
            }
        }
    }
}

/// What the input checks keep of a DCS.
impl Dcs {
    /// A packet from the DCS's address that is malformed or fails authentication: whether it is
    /// an abnormal event (2.1, B.3.1). A packet that cannot be shown to come from the DCS says
    /// nothing about the DCS: with authentication configured it is only discarded (as OSPF does,
    /// RFC 2328 D.5), unless `auth_failure_abnormal` keeps the RFC's literal reading. Without
    /// authentication any packet can be forged, so a malformed one is an abnormal event at most
    /// once per back-off interval, which doubles while they keep coming: N forged packets cost
    /// about log2(N) realignments, not N (docs/rfc2334-readings.md, "spoofed packets").
    fn unverified_is_abnormal(&mut self, now: Time) -> bool {
        if !self.cfg.auth_recv.is_empty() && !self.cfg.auth_failure_abnormal {
            return false;
        }
        if self.cfg.auth_failure_abnormal {
            return true;
        }
        let (min, max) = (Duration::from_secs(1), Duration::from_secs(64));
        match self.bad_packet_at {
            Some(t) if now.since(t) < self.bad_packet_backoff => false,
            Some(t) => {
                self.bad_packet_backoff = if now.since(t) < self.bad_packet_backoff * 2 {
                    (self.bad_packet_backoff * 2).min(max)
                } else {
                    min
                };
                self.bad_packet_at = Some(now);
                true
            }
            None => {
                self.bad_packet_backoff = min;
                self.bad_packet_at = Some(now);
                true
            }
        }
    }
}
