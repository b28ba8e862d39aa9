//! Per-DCS state: the Hello and Cache Alignment machines' variables, the CSA Request List, the
//! DCS retransmit queue, and counters.

use std::collections::VecDeque;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::Time;
use crate::config::DcsConfig;
use crate::event::{CaState, HelloState, Since};
use crate::hash::{HashState, Map, Set};
use crate::seq;
use crate::wire::{Csa, Csas, MessageType, RecordId};

/// Message counters by type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageCounts {
    /// Hello messages.
    pub hello: u64,
    /// CA messages.
    pub ca: u64,
    /// CSU Requests.
    pub csu_request: u64,
    /// CSU Replies.
    pub csu_reply: u64,
    /// CSUS messages.
    pub csus: u64,
    /// Bytes, all types.
    pub bytes: u64,
    /// CSA/CSAS records carried, all types.
    pub records: u64,
}

impl MessageCounts {
    pub(crate) fn count(&mut self, kind: MessageType, bytes: usize, records: usize) {
        match kind {
            MessageType::Hello => self.hello += 1,
            MessageType::Ca => self.ca += 1,
            MessageType::CsuRequest => self.csu_request += 1,
            MessageType::CsuReply => self.csu_reply += 1,
            MessageType::Csus => self.csus += 1,
        }
        self.bytes += bytes as u64;
        self.records += records as u64;
    }

    /// Messages of every type.
    pub fn total(&self) -> u64 {
        self.hello + self.ca + self.csu_request + self.csu_reply + self.csus
    }
}

/// Counters of one DCS, for management output.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DcsStats {
    /// Messages received and accepted for processing.
    pub rx: MessageCounts,
    /// Messages sent.
    pub tx: MessageCounts,
    /// Packets that did not decode.
    pub malformed: u64,
    /// Packets that failed authentication.
    pub auth_failures: u64,
    /// Packets or records dropped for any other reason.
    pub dropped: u64,
    /// Records refused by the profile.
    pub invalid_records: u64,
    /// CA retransmissions.
    pub ca_retransmits: u64,
    /// CSUS retransmissions.
    pub csus_retransmits: u64,
    /// CSA retransmissions.
    pub csa_retransmits: u64,
    /// Abnormal events (2.1).
    pub abnormal_events: u64,
    /// Times the CA FSM reached Aligned.
    pub alignments: u64,
    /// Records learned from this DCS (new or newer instances).
    pub records_learned: u64,
}

/// A CSA on the DCS retransmit queue (2.3).
#[derive(Debug)]
pub(crate) struct Queued {
    pub csa: Csa,
    /// Times sent so far.
    pub sends: u32,
    /// Bumped whenever the entry is replaced or rescheduled; timeline entries with an older value
    /// are stale.
    pub generation: u64,
    /// Waiting in `unsent` to go out in the next flush.
    pub pending: bool,
}

/// The DCS retransmit queue: at most one instance of a record, the newest (2.3).
#[derive(Debug)]
pub(crate) struct RexmitQueue {
    pub map: Map<RecordId, Queued>,
    timeline: VecDeque<(Time, RecordId, u64)>,
    pub unsent: Vec<RecordId>,
    next_generation: u64,
}

impl RexmitQueue {
    pub fn new(state: HashState) -> Self {
        RexmitQueue {
            map: Map::with_hasher(state),
            timeline: VecDeque::new(),
            unsent: Vec::new(),
            next_generation: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Queue `csa` to be sent in the next flush, replacing an older instance of the same record.
    /// If a newer instance is queued already, that one is sent again instead.
    pub fn enqueue(&mut self, csa: Csa) {
        let id = csa.summary.id.clone();
        let generation = self.next_generation;
        self.next_generation += 1;
        match self.map.entry(id) {
            std::collections::hash_map::Entry::Occupied(mut o) => {
                let q = o.get_mut();
                if !seq::newer(q.csa.summary.seq, csa.summary.seq) {
                    q.csa = csa;
                    q.sends = 0;
                    q.generation = generation;
                }
                // (A newer instance queued already is sent again instead.)
                if !q.pending {
                    q.pending = true;
                    q.generation = generation;
                    self.unsent.push(o.key().clone());
                }
            }
            std::collections::hash_map::Entry::Vacant(v) => {
                self.unsent.push(v.key().clone());
                v.insert(Queued {
                    csa,
                    sends: 0,
                    generation,
                    pending: true,
                });
            }
        }
    }

    /// Remove `id` if `acked` says the instance queued is acknowledged (one lookup).
    pub fn remove_if(&mut self, id: RecordId, acked: impl FnOnce(&Queued) -> bool) {
        if self.map.is_empty() {
            return;
        }
        if let std::collections::hash_map::Entry::Occupied(o) = self.map.entry(id)
            && acked(o.get())
        {
            o.remove();
        }
    }

    /// Take the records to send now; each is counted as sent and timed to `due`.
    pub fn take_unsent(&mut self, due: Time) -> Vec<Csa> {
        let ids = std::mem::take(&mut self.unsent);
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(q) = self.map.get_mut(&id)
                && q.pending
            {
                q.pending = false;
                q.sends += 1;
                out.push(q.csa.clone());
                self.timeline.push_back((due, id, q.generation));
            }
        }
        out
    }

    /// Next retransmission time.
    pub fn next_due(&mut self) -> Option<Time> {
        // Drop stale heads so that the deadline is real.
        while let Some((_, id, g)) = self.timeline.front() {
            let live = self
                .map
                .get(id)
                .is_some_and(|q| q.generation == *g && !q.pending);
            if live {
                break;
            }
            self.timeline.pop_front();
        }
        self.timeline.front().map(|(t, ..)| *t)
    }

    /// Records whose retransmission time has come, with how many times each was sent.
    pub fn pop_due(&mut self, now: Time) -> Vec<(RecordId, u32)> {
        let mut due = Vec::new();
        while let Some((t, id, g)) = self.timeline.front() {
            if *t > now {
                break;
            }
            if let Some(q) = self.map.get(id)
                && q.generation == *g
                && !q.pending
            {
                due.push((id.clone(), q.sends));
            }
            self.timeline.pop_front();
        }
        due
    }

    /// Mark `id` to be sent again in the next flush.
    pub fn resend(&mut self, id: &RecordId) {
        let generation = self.next_generation;
        self.next_generation += 1;
        if let Some(q) = self.map.get_mut(id)
            && !q.pending
        {
            q.pending = true;
            q.generation = generation;
            self.unsent.push(id.clone());
        }
    }

    pub fn get(&self, id: &RecordId) -> Option<&Queued> {
        self.map.get(id)
    }

    pub fn clear(&mut self) {
        self.map.clear();
        self.timeline.clear();
        self.unsent.clear();
    }
}

/// What the CSA Request List holds of one record.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CrlEntry {
    /// The sequence number the DCS advertised (meaningful while `wanted`).
    pub seq: u32,
    /// The record is wanted from the DCS.
    pub wanted: bool,
    /// The record is in the CSUS outstanding (only while `wanted`).
    pub outstanding: bool,
    /// The record was put in a CSUS to this DCS and not yet answered by it, even if another DCS
    /// has answered it since: its answer is solicited all the same (Hop Count 1, flooded on).
    pub asked: bool,
}

/// The CSA Request List (2.2.2.1) and the CSUS outstanding (2.2.3).
///
/// One table holds every record wanted or asked, so that a record solicited is inserted once,
/// found once when it is put in a CSUS and once when it is answered (a million-record alignment
/// otherwise spends its time on cache misses in three tables).
#[derive(Debug)]
pub(crate) struct Crl {
    /// Every record wanted from the DCS or asked of it. An entry goes when it is neither.
    entries: Map<RecordId, CrlEntry>,
    /// How many entries are wanted.
    wanted: usize,
    /// Wanted records not yet put in a CSUS, in order (stale ids are skipped).
    pub order: VecDeque<RecordId>,
    /// Records in the CSUS outstanding (at most one CSUS of them): their order in a
    /// retransmission.
    pub outstanding: Set<RecordId>,
    /// When the CSUS outstanding is retransmitted.
    pub rexmit_at: Option<Time>,
    /// How many of the records wanted were absent from the cache when summarized: the room the
    /// cache makes at once when Update Cache starts.
    pub missing: usize,
}

impl Crl {
    pub fn new(state: HashState) -> Self {
        Crl {
            entries: Map::with_hasher(state.clone()),
            wanted: 0,
            order: VecDeque::new(),
            outstanding: Set::with_hasher(state),
            rexmit_at: None,
            missing: 0,
        }
    }

    /// Records wanted.
    pub fn len(&self) -> usize {
        self.wanted
    }

    pub fn want(&mut self, id: RecordId, seq: u32) {
        match self.entries.entry(id) {
            std::collections::hash_map::Entry::Occupied(mut o) => {
                let e = o.get_mut();
                if !e.wanted {
                    // Asked, answered by another DCS, and wanted again.
                    e.wanted = true;
                    e.seq = seq;
                    self.wanted += 1;
                    self.order.push_back(o.key().clone());
                } else if seq::newer(seq, e.seq) {
                    e.seq = seq;
                }
            }
            std::collections::hash_map::Entry::Vacant(v) => {
                self.order.push_back(v.key().clone());
                v.insert(CrlEntry {
                    seq,
                    wanted: true,
                    outstanding: false,
                    asked: false,
                });
                self.wanted += 1;
            }
        }
    }

    /// The sequence number wanted for `id`, if it is wanted.
    pub fn wanted_seq(&self, id: &RecordId) -> Option<u32> {
        self.entries.get(id).filter(|e| e.wanted).map(|e| e.seq)
    }

    /// Satisfy `id` if it is wanted at a sequence number that `done` accepts: it is no longer
    /// wanted nor outstanding (but still asked if it was).
    pub fn satisfy_if(&mut self, id: &RecordId, done: impl FnOnce(u32) -> bool) -> bool {
        let Some(e) = self.entries.get_mut(id) else {
            return false;
        };
        if !e.wanted || !done(e.seq) {
            return false;
        }
        self.wanted -= 1;
        let outstanding = e.outstanding;
        if e.asked {
            e.wanted = false;
            e.outstanding = false;
        } else {
            self.entries.remove(id);
        }
        if outstanding {
            self.outstanding.remove(id);
        }
        true
    }

    /// The DCS answered `id`: if it was asked, the solicitation ends and the record is no longer
    /// wanted. Returns whether it was asked.
    pub fn answered(&mut self, id: &RecordId) -> bool {
        if self.entries.is_empty() {
            return false;
        }
        match self.entries.get(id) {
            Some(&e) if e.asked => {
                self.entries.remove(id);
                if e.wanted {
                    self.wanted -= 1;
                    if e.outstanding {
                        self.outstanding.remove(id);
                    }
                }
                true
            }
            _ => false,
        }
    }

    /// Top up a CSUS from the order: each record wanted and not yet outstanding, while `fits`
    /// takes it, goes in `records` and becomes outstanding and asked. Stale ids are dropped.
    pub fn ask_more(&mut self, records: &mut Vec<Csas>, mut fits: impl FnMut(&Csas) -> bool) {
        while let Some(rid) = self.order.front() {
            let Some(e) = self.entries.get_mut(rid) else {
                self.order.pop_front();
                continue;
            };
            if !e.wanted || e.outstanding {
                self.order.pop_front();
                continue;
            }
            let r = Csas {
                hops: 1,
                null: false,
                seq: e.seq,
                id: rid.clone(),
            };
            if !fits(&r) {
                break;
            }
            e.outstanding = true;
            e.asked = true;
            if let Some(id) = self.order.pop_front() {
                self.outstanding.insert(id);
            }
            records.push(r);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.wanted == 0
    }

    /// With nothing wanted, give back the room a large alignment left in the list (a million
    /// records wanted once is 100 MB held for nothing otherwise).
    pub fn release(&mut self) {
        const KEEP: usize = 4096;
        let cap = self.entries.capacity();
        if cap > KEEP && cap / 4 > self.entries.len() {
            if self.entries.is_empty() {
                self.entries = Map::with_hasher(self.entries.hasher().clone());
            } else {
                // Records asked and not yet answered are kept.
                self.entries.shrink_to_fit();
            }
        }
        if self.order.capacity() > KEEP {
            // (Normally empty by now; what it holds is kept, in order.)
            self.order.shrink_to_fit();
        }
    }

    pub fn clear(&mut self) {
        self.entries = Map::with_hasher(self.entries.hasher().clone());
        self.wanted = 0;
        self.order = VecDeque::new();
        self.outstanding = Set::with_hasher(self.outstanding.hasher().clone());
        self.rexmit_at = None;
        self.missing = 0;
    }
}

/// Everything an LS keeps about one DCS.
#[derive(Debug)]
pub(crate) struct Dcs {
    pub cfg: DcsConfig,
    pub hello: Since<HelloState>,
    pub ca: Since<CaState>,

    // Hello FSM (2.1).
    /// The DCS is in our Receiver ID list.
    pub heard: bool,
    /// HelloInterval and DeadFactor the DCS advertised.
    pub peer_interval: u16,
    pub peer_dead_factor: u16,
    pub last_hello: Option<Time>,
    pub last_hello_with_us: Option<Time>,
    pub hello_at: Option<Time>,

    // CA FSM (2.2).
    pub ca_seq: u32,
    pub last_ca_seq: Option<u32>,
    /// Our last CA, encoded: retransmitted while outstanding, resent to a duplicate.
    pub ca_out: Option<(Vec<u8>, crate::event::MessageSummary)>,
    /// We were master in the last Cache Summarize.
    pub was_master: bool,
    pub ca_rexmit_at: Option<Time>,
    /// The slave's kept copy of its last CA is released at this time (2.2.2 note).
    pub ca_keep_until: Option<Time>,
    /// CSAS records still to be summarized to the DCS.
    pub summary: VecDeque<Csas>,
    /// The O bit of our last CA.
    pub sent_more: bool,
    pub crl: Crl,
    /// Records that changed while the DCS was in Negotiation or Cache Summarize, to be sent as
    /// CSU Requests once it reaches Update Cache (rfc2334-notes item 14).
    pub deferred: Set<RecordId>,

    // CSU (2.3).
    pub queue: RexmitQueue,
    /// CSAS records to acknowledge in the next CSU Reply.
    pub acks: Vec<Csas>,

    pub stats: DcsStats,
}

impl Dcs {
    pub fn new(cfg: DcsConfig, now: Time, state: HashState) -> Self {
        Dcs {
            cfg,
            hello: Since {
                state: HelloState::Down,
                since: now,
            },
            ca: Since {
                state: CaState::Down,
                since: now,
            },
            heard: false,
            peer_interval: 0,
            peer_dead_factor: 0,
            last_hello: None,
            last_hello_with_us: None,
            hello_at: None,
            ca_seq: 0,
            last_ca_seq: None,
            ca_out: None,
            was_master: false,
            ca_rexmit_at: None,
            ca_keep_until: None,
            summary: VecDeque::new(),
            sent_more: false,
            crl: Crl::new(state.clone()),
            deferred: Set::with_hasher(state.clone()),
            queue: RexmitQueue::new(state),
            acks: Vec::new(),
            stats: DcsStats::default(),
        }
    }

    /// HelloInterval × DeadFactor as advertised by the DCS (2.1, B.2.5).
    pub fn dead_interval(&self) -> Duration {
        let i = u64::from(self.peer_interval.max(1));
        let f = u64::from(self.peer_dead_factor.max(1));
        Duration::from_secs(i * f)
    }

    /// When the Hello FSM must next look at the DCS's liveness.
    pub fn dead_at(&self) -> Option<Time> {
        match self.hello.state {
            HelloState::Bidirectional => self.last_hello_with_us.map(|t| t + self.dead_interval()),
            HelloState::Unidirectional => self.last_hello.map(|t| t + self.dead_interval()),
            _ => None,
        }
    }

    /// Forget everything the CA FSM and the CSU protocol hold.
    pub fn reset_alignment(&mut self) {
        self.ca_out = None;
        self.ca_rexmit_at = None;
        self.ca_keep_until = None;
        self.summary.clear();
        self.summary.shrink_to_fit();
        self.sent_more = false;
        self.crl.clear();
        self.deferred.clear();
        self.queue.clear();
        self.acks.clear();
    }

    /// The state as management output shows it.
    pub fn info(&self, id: crate::DcsId) -> DcsInfo {
        DcsInfo {
            id,
            dcs_id: self.cfg.id.clone(),
            hello: self.hello,
            ca: self.ca,
            retransmit_queue: self.queue.len(),
            csa_request_list: self.crl.len(),
            stats: self.stats.clone(),
        }
    }
}

/// A DCS as management output shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DcsInfo {
    /// Handle.
    pub id: crate::DcsId,
    /// The DCS's SCSP ID.
    pub dcs_id: crate::wire::Id,
    /// Hello FSM state and since when.
    pub hello: Since<HelloState>,
    /// CA FSM state and since when.
    pub ca: Since<CaState>,
    /// CSAs awaiting acknowledgement.
    pub retransmit_queue: usize,
    /// CSAs still wanted from the DCS.
    pub csa_request_list: usize,
    /// Counters.
    pub stats: DcsStats,
}
