//! What goes out: flooding, packet encoding (with authentication and the replay extension),
//! packing CSU Requests and Replies against the MTU, the sequence space's wrap.

use super::*;

impl Server {
    // ----- flooding -------------------------------------------------------------------------

    /// Send the cache's instance of `id` to every DCS but `except` (2.3).
    pub(super) fn flood(&mut self, now: Time, id: &RecordId, except: Option<DcsId>, hops: Hops) {
        // (Without another DCS to take it, the entry is not even looked up: a server aligning
        // with its only DCS would spend a tenth of its time on it.)
        let takers = self.dcs.iter().enumerate().any(|(i, d)| {
            d.as_ref()
                .is_some_and(|d| d.ca.state != CaState::Down && Some(DcsId(i as u32)) != except)
        });
        if !takers {
            return;
        }
        let Some(e) = self.cache.get(id) else { return };
        let csa = e.csa(id, 0);
        self.flood_csa(now, &csa, except, hops);
    }

    pub(super) fn flood_csa(&mut self, _now: Time, csa: &Csa, except: Option<DcsId>, hops: Hops) {
        for (i, slot) in self.dcs.iter_mut().enumerate() {
            let Some(d) = slot else { continue };
            if Some(DcsId(i as u32)) == except {
                continue;
            }
            match d.ca.state {
                CaState::UpdateCache | CaState::Aligned => {
                    let h = match hops {
                        Hops::Configured => d.cfg.hops,
                        Hops::Forward(h) => h,
                    };
                    let mut c = csa.clone();
                    c.summary.hops = h;
                    d.queue.enqueue(c);
                }
                CaState::Negotiation | CaState::SummarizeMaster | CaState::SummarizeSlave => {
                    d.deferred.insert(csa.summary.id.clone());
                }
                CaState::Down => {}
            }
        }
    }

    /// The cache now holds an instance of `id` at least as new as any CRL wants (2.2.3,
    /// rfc2334-readings.md #15).
    ///
    /// `have` is the sequence number of the entry the cache now holds (just stored by the
    /// caller); `unconfirmed`: that entry is unconfirmed or contested.
    pub(super) fn satisfy_crls(
        &mut self,
        id: &RecordId,
        have: u32,
        unconfirmed: bool,
        skip: Option<DcsId>,
    ) {
        // An unconfirmed entry of our own, or a contested one, at the very number a DCS
        // advertised may differ from the DCS's: that one is still fetched, to compare.
        let strict = unconfirmed;
        for (i, d) in self.dcs.iter_mut().enumerate() {
            let Some(d) = d else { continue };
            if skip == Some(DcsId(i as u32)) {
                // (Known not to hold it.)
                continue;
            }
            d.crl.satisfy_if(id, |want| {
                seq::newer(have, want) || (!strict && want == have)
            });
        }
    }

    // ----- packet output --------------------------------------------------------------------

    pub(super) fn common_to(&self, receiver: &Id) -> Common {
        common_part(&self.cfg, receiver)
    }

    /// Largest total record length that fits in one packet of `kind` to DCS `d` ([`room_to`]).
    pub(super) fn room(&self, d: &Dcs, kind: wire::MessageType) -> usize {
        room_to(&self.cfg, d, kind)
    }

    /// Packets to DCS `d` carry the replay extension ([`Dcs::replay_on`]).
    pub(super) fn replay_active(&self, d: &Dcs) -> bool {
        d.replay_on(self.cfg.replay_nonce)
    }

    /// The replay extension of the next packet to DCS `d`, if it carries one.
    pub(super) fn replay_ext(&self, d: &Dcs) -> Option<replay::ReplayExt> {
        self.replay_active(d).then_some(replay::ReplayExt {
            seq: self.replay_seq,
            nonce: self.cfg.replay_nonce,
            echo: d.replay.peer_nonce,
        })
    }

    /// Encode and queue a packet to DCS `to`, addressed to it.
    pub(super) fn send(&mut self, to: DcsId, body: Body) {
        if let Some((bytes, summary)) = self.encode_to(to, None, body) {
            self.transmit(to, bytes, summary);
        }
    }

    /// Encode and queue a packet to DCS `to` with the given common part.
    pub(super) fn send_with_common(&mut self, to: DcsId, common: Common, body: Body) {
        if let Some((bytes, summary)) = self.encode_to(to, Some(common), body) {
            self.transmit(to, bytes, summary);
        }
    }

    /// Encode a packet to DCS `to`, with the given common part or the one addressed to it.
    pub(super) fn encode_to(
        &mut self,
        to: DcsId,
        common: Option<Common>,
        body: Body,
    ) -> Option<(Vec<u8>, MessageSummary)> {
        let Some(d) = slot(&self.dcs, to) else {
            self.unknown_dcs(to, "internal");
            return None;
        };
        let common = common.unwrap_or_else(|| common_part(&self.cfg, &d.cfg.id));
        let mut extensions = match self.replay_ext(d) {
            Some(e) => {
                self.replay_seq += 1;
                vec![e.to_extension()]
            }
            None => Vec::new(),
        };
        extensions.extend(self.ext_out.take());
        let packet = Packet {
            common,
            body,
            extensions,
        };
        let bytes = match wire::encode(&packet, d.cfg.auth_send.as_ref()) {
            Ok(b) => b,
            Err(e) => {
                // Records are sized against the maximum packet before they get here, so this is
                // a bug; report it rather than take the process down.
                self.events.push_back(Event::Trace(Trace::Abnormal {
                    dcs: to,
                    cause: format!(
                        "could not encode {}: {e}",
                        packet.body.message_type().name()
                    ),
                }));
                return None;
            }
        };
        let summary = summarize(&packet, bytes.len());
        Some((bytes, summary))
    }

    /// Queue encoded bytes to DCS `to`, counting and tracing them.
    pub(super) fn transmit(&mut self, to: DcsId, bytes: Vec<u8>, summary: MessageSummary) {
        let Some(d) = slot_mut(&mut self.dcs, to) else {
            return self.unknown_dcs(to, "internal");
        };
        d.stats.tx.count(summary.kind, summary.len, summary.records);
        if self.trace_messages {
            self.events.push_back(Event::Trace(Trace::Sent {
                dcs: to,
                msg: summary,
            }));
        }
        self.out.push_back(Transmit { dcs: to, bytes });
    }

    /// Send what the protocol has queued: CSU Requests from the retransmit queues and CSU
    /// Replies for what was received, packed into as few packets as the size allows.
    pub(super) fn send_queued(&mut self, now: Time) {
        self.check_wrapping(now);
        self.recon_note(now);
        let ids: Vec<DcsId> = self.dcs_ids().collect();
        for id in ids {
            let Some(d) = slot_mut(&mut self.dcs, id) else {
                continue;
            };
            if !matches!(d.ca.state, CaState::UpdateCache | CaState::Aligned) {
                d.queue.drop_unsent();
                d.acks.clear();
                continue;
            }
            let csas = std::mem::take(&mut d.acks);
            let csas_room = room_to(&self.cfg, d, wire::MessageType::CsuReply);
            let records = d.unsent_csas(now);
            let room = if records.is_empty() {
                0
            } else {
                room_to(&self.cfg, d, wire::MessageType::CsuRequest)
            };
            for chunk in chunks(csas, csas_room, wire::csas_len) {
                self.send(id, Body::CsuReply { records: chunk });
            }
            for chunk in chunks(records, room, wire::csa_len) {
                self.send(id, Body::CsuRequest { records: chunk });
            }
        }
    }

    /// Entries waiting to restart their sequence space go out once no DCS still has the purge
    /// on its retransmit queue (B.2.0.2).
    pub(super) fn check_wrapping(&mut self, now: Time) {
        if self.wrapping.is_empty() {
            return;
        }
        let pending = std::mem::take(&mut self.wrapping);
        for (id, data) in pending {
            let acked = self.dcs.iter().flatten().all(|d| {
                d.queue
                    .get(&id)
                    .is_none_or(|q| q.csa.summary.seq != SEQ_PURGE)
            });
            if acked && self.cache.get(&id).is_none() {
                self.install_local(now, id, NextSeq::Next(SEQ_FIRST), data, false, false);
            } else {
                self.wrapping.push((id, data));
            }
        }
    }
}

/// The common part of a packet from this server to `receiver`.
pub(super) fn common_part(cfg: &crate::ServerConfig, receiver: &Id) -> Common {
    Common {
        protocol_id: cfg.protocol_id,
        sgid: cfg.sgid,
        sender: cfg.lsid.clone(),
        receiver: receiver.clone(),
    }
}

/// Largest total record length that fits in one packet of `kind` from a server configured as
/// `cfg` to DCS `d`.
pub(super) fn room_to(cfg: &crate::ServerConfig, d: &Dcs, kind: wire::MessageType) -> usize {
    let common = common_part(cfg, &d.cfg.id);
    let replay = if d.replay_on(cfg.replay_nonce) {
        replay::OVERHEAD
    } else {
        0
    };
    cfg.max_packet.min(wire::MAX_PACKET).saturating_sub(
        wire::overhead(&common, kind) + wire::auth_overhead(d.cfg.auth_send.as_ref()) + replay,
    )
}

/// What goes out to one DCS.
impl Dcs {
    /// Packets to the DCS carry the replay extension: authentication is configured both ways,
    /// the DCS's mode is not `Off`, and the server has a nonce (`nonce`, not 0).
    pub(super) fn replay_on(&self, nonce: u64) -> bool {
        self.cfg.replay != replay::ReplayMode::Off
            && self.cfg.auth_send.is_some()
            && !self.cfg.auth_recv.is_empty()
            && nonce != 0
    }

    /// The CSAs of the retransmit queue due to go out now, the first timed until its
    /// acknowledgement unless a probe is already out (server/rtt.rs).
    fn unsent_csas(&mut self, now: Time) -> Vec<Csa> {
        let (rtt, adaptive, max) = (self.rtt, self.cfg.adaptive_rexmit, self.cfg.csu_rexmit);
        let records =
            self.queue.take_unsent(
                now,
                |retries| if adaptive { rtt.rto(retries, max) } else { max },
            );
        if let Some(first) = records.first()
            && self
                .csu_probe
                .as_ref()
                .is_none_or(|(t, ..)| now.since(*t) >= self.cfg.csu_rexmit)
        {
            // (A probe older than CSUReXmitInt was lost or retransmitted: replaced.)
            // Time the first record until its acknowledgement (kept only if it went once).
            let r = &first.summary;
            self.csu_probe = Some((now, r.id.clone(), r.seq));
        }
        records
    }
}

/// Whether one more record of `len` bytes fits in a packet that already carries `count` records
/// taking `used` bytes of its `room`: always the first record; never more than the 16-bit count.
pub(super) fn fits(used: usize, len: usize, count: usize, room: usize) -> bool {
    count == 0 || (used + len <= room && count < usize::from(u16::MAX))
}

/// The records of one packet being filled, as far as [`fits`] is concerned: their count and the
/// bytes they take of the packet's `room`.
pub(super) struct Fill {
    room: usize,
    used: usize,
    count: usize,
}

impl Fill {
    pub(super) fn new(room: usize) -> Self {
        Fill {
            room,
            used: 0,
            count: 0,
        }
    }

    /// Count in one more record of `len` bytes if it [`fits`]; whether it did.
    pub(super) fn take(&mut self, len: usize) -> bool {
        if !fits(self.used, len, self.count, self.room) {
            return false;
        }
        self.used += len;
        self.count += 1;
        true
    }
}

/// Split `items` into runs whose summed size fits `room` (at least one item per run, and at most
/// 65535 per run).
pub(super) fn chunks<T>(items: Vec<T>, room: usize, size: impl Fn(&T) -> usize) -> Vec<Vec<T>> {
    let mut out = Vec::new();
    let mut cur = Vec::new();
    let mut used = 0;
    for it in items {
        let s = size(&it);
        if !fits(used, s, cur.len(), room) {
            out.push(std::mem::take(&mut cur));
            used = 0;
        }
        used += s;
        cur.push(it);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}
