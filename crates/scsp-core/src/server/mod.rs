//! One SCSP server instance (one Protocol ID / Server Group ID pair): its cache, and a Hello FSM,
//! a Cache Alignment FSM and a DCS retransmit queue per DCS.
//!
//! The server is a plain value driven by its caller. Inputs are methods taking the current time:
//! [`Server::handle_datagram`], [`Server::handle_timeout`], [`Server::link_up`],
//! [`Server::link_down`], [`Server::originate`], [`Server::withdraw`],
//! [`Server::replace_local_cache`], [`Server::add_dcs`], [`Server::remove_dcs`]. Outputs are
//! polled: [`Server::poll_transmit`], [`Server::poll_event`], [`Server::poll_timeout`].

mod ca;
mod csu;
mod dcs;
mod hello;
pub mod replay;
pub mod rtt;

use std::collections::VecDeque;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use dcs::{DcsInfo, DcsStats, MessageCounts};

use crate::Time;
use crate::cache::{Cache, Entry, EntryTimer};
use crate::config::{DcsConfig, ServerConfig};
use crate::event::{
    CaState, CacheChange, Drop, Event, MessageSummary, RemoveReason, Trace, Transmit,
};
use crate::seq::{self, NextSeq};
use crate::time::earliest;
use crate::wire::{
    self, Body, Common, Csa, Csas, Data, Id, Packet, RecordId, SEQ_FIRST, SEQ_PURGE,
};
use dcs::Dcs;
use hello::{HelloEvent, HelloIn};

/// Handle of a DCS within its server. Handles are never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DcsId(pub u32);

impl std::fmt::Display for DcsId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "dcs#{}", self.0)
    }
}

/// Why a request of the local server was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LocalError {
    /// The record is a deletion; use [`Server::withdraw`].
    #[error("the record is a deletion; withdraw the entry instead")]
    IsDeletion,
    /// The profile refused the record.
    #[error("invalid record: {0}")]
    Invalid(String),
    /// The key is longer than 255 bytes or empty.
    #[error("cache key must be 1 to 255 bytes")]
    BadKey,
    /// The record does not fit in a packet of the configured maximum size.
    #[error("record of {len} bytes does not fit in a {max}-byte packet")]
    TooLarge {
        /// Bytes needed.
        len: usize,
        /// Largest packet.
        max: usize,
    },
    /// Nothing to withdraw: no live entry originated here under that key.
    #[error("no entry originated here under that key")]
    NotFound,
    /// The cache holds the configured maximum of entries.
    #[error("the cache is full")]
    Full,
    /// A sequence number the local server may not use (0x80000000 is reserved, 0x7fffffff is
    /// the purge).
    #[error("sequence number {0:#010x} cannot be used")]
    BadSeq(u32),
    /// No entry waits under that token.
    #[error("no entry waits for confirmation under token {0}")]
    UnknownToken(u64),
}

/// How the Hop Count of a flooded CSA is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hops {
    /// The DCS's configured Hops (originated here, or a solicited CSA passed on: rfc2334-readings.md #10).
    Configured,
    /// A received CSA passed on with its Hop Count less one.
    Forward(u16),
}

/// One SCSP server instance. See the module documentation.
pub struct Server {
    cfg: ServerConfig,
    cache: Cache,
    dcs: Vec<Option<Dcs>>,
    /// Whether the local server has handed over its whole cache, so that an entry originated here
    /// that it does not hold is stale and to be flushed rather than adopted.
    authoritative: bool,
    /// The next cryptographic sequence number of the replay extension ([`replay`]).
    replay_seq: u64,
    /// When the entries carrying our Originator ID that no local server has claimed since this
    /// server started are withdrawn ([`ServerConfig::orphan_grace`]); armed at the first input.
    grace_at: Option<Time>,
    /// [`Server::max_record_len`], computed once (the configuration does not change).
    max_record: usize,
    /// Entries originated here waiting for their purge (sequence number 2^31-1) to be
    /// acknowledged before they restart at 0x80000001 (B.2.0.2).
    wrapping: Vec<(RecordId, Data)>,
    out: VecDeque<Transmit>,
    events: VecDeque<Event>,
    trace_messages: bool,
    /// See [`Server::set_learn_events`].
    learn_events: bool,
    /// Remote entries waiting for the local server's verdict, by token.
    pending: std::collections::BTreeMap<u64, Pending>,
    /// The token of the instance of each record that waits.
    pending_ids: crate::hash::Map<RecordId, u64>,
    confirm: bool,
    next_token: u64,
    /// See [`Server::set_pipelined`].
    pipelined: bool,
    /// Received records not yet weighed: CSU Requests whose solicitations are ended, and CA
    /// summaries not yet compared with the cache (pipelined mode).
    work: VecDeque<Work>,
}

/// Messages held unweighed at most (pipelined mode); past this they are weighed at once.
const MAX_WORK: usize = 64;

/// Records received and still to be weighed (pipelined mode).
#[derive(Debug)]
enum Work {
    /// The records of a CSU Request received at `now` from `from` (2.3, 2.4); `solicited[i]`:
    /// record `i` answered a CSUS of ours.
    Records {
        now: Time,
        from: DcsId,
        records: Vec<Csa>,
        solicited: Vec<bool>,
    },
    /// The CSAS records of a CA received at `now` from `from` in Cache Summarize, still to be
    /// compared with the cache (CA message processing, 2.2.2.1).
    Summaries {
        now: Time,
        from: DcsId,
        records: Vec<Csas>,
    },
}

/// A remote CSA waiting for the local server to accept or reject it.
#[derive(Debug)]
struct Pending {
    from: DcsId,
    csa: Csa,
    hops: Option<Hops>,
    ack: wire::Csas,
}

/// Most remote entries that may wait for the local server's verdict at once; beyond it, further
/// CSAs are not acknowledged (and so are retransmitted by their DCS).
pub const MAX_PENDING: usize = 65536;

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("cfg", &self.cfg)
            .field("entries", &self.cache.len())
            .field("dcs", &self.dcs.iter().flatten().count())
            .finish_non_exhaustive()
    }
}

impl Server {
    /// A server with no DCS and an empty cache.
    pub fn new(cfg: ServerConfig) -> Self {
        let max_record = Self::compute_max_record_len(&cfg);
        let state = crate::hash::state(cfg.hash_seed);
        let replay_seq = cfg.replay_seq_start;
        Server {
            cache: Cache::new(state.clone()),
            pending_ids: crate::hash::Map::with_hasher(state),
            cfg,
            dcs: Vec::new(),
            authoritative: false,
            replay_seq,
            grace_at: None,
            max_record,
            wrapping: Vec::new(),
            out: VecDeque::new(),
            events: VecDeque::new(),
            trace_messages: true,
            learn_events: true,
            pending: Default::default(),
            confirm: false,
            next_token: 1,
            pipelined: false,
            work: VecDeque::new(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.cfg
    }

    /// The cache.
    pub fn cache(&self) -> &Cache {
        &self.cache
    }

    /// Whether `Trace::Sent` and `Trace::Received` events are produced (FSM transitions, drops and
    /// abnormal events always are). On by default.
    pub fn set_trace_messages(&mut self, on: bool) {
        self.trace_messages = on;
    }

    /// Whether `CacheChange::Learned` and `CacheChange::Replaced` events are produced for
    /// entries learned from DCSs (on by default). A driver with nobody to tell turns them off: at
    /// a million entries learned, building and queueing the events costs a tenth of the
    /// alignment. Removals, and changes made by the local server's own calls, are always
    /// reported.
    pub fn set_learn_events(&mut self, on: bool) {
        self.learn_events = on;
    }

    /// Pipelined mode (off by default). On, a CSU Request is taken in two steps: when it arrives,
    /// the solicitations its records answer end and, if that completes the CSUS outstanding, the
    /// next CSUS is queued at once; its records are weighed, stored, flooded and acknowledged by
    /// [`Server::work`] (or by the next call of any other input, or at the time
    /// [`Server::poll_timeout`] gives). A driver that sends the CSUS before calling `work` lets the
    /// DCS prepare its next answers while this server stores the last ones: Update Cache costs
    /// about the larger of the two servers' work instead of their sum. Nothing else changes: the
    /// records are weighed in the order they arrived, before any other input is handled, and the
    /// CA FSM reaches Aligned only once they are. Until then [`Server::cache`] does not show them.
    pub fn set_pipelined(&mut self, now: Time, on: bool) {
        if !on {
            self.work(now);
        }
        self.pipelined = on;
    }

    /// Some DCS is between Negotiation and the end of Update Cache: a lock-step exchange (one CA
    /// or CSUS outstanding at a time, 2.2) is under way, whose next message comes as soon as the
    /// DCS has answered.
    pub fn aligning(&self) -> bool {
        self.dcs.iter().flatten().any(|d| {
            matches!(
                d.ca.state,
                CaState::Negotiation
                    | CaState::SummarizeMaster
                    | CaState::SummarizeSlave
                    | CaState::UpdateCache
            )
        })
    }

    /// Records received and not yet weighed are waiting (see [`Server::set_pipelined`]).
    pub fn has_work(&self) -> bool {
        !self.work.is_empty()
    }

    /// Weigh the records received and not yet weighed (see [`Server::set_pipelined`]).
    pub fn work(&mut self, now: Time) {
        if self.settle() {
            self.flush_queues(now);
        }
    }

    /// Weigh every record waiting, in order. Returns whether there were any. Every input calls
    /// this first, so that what it sees is as if each CSU Request had been taken whole.
    fn settle(&mut self) -> bool {
        if self.work.is_empty() {
            return false;
        }
        while let Some(w) = self.work.pop_front() {
            match w {
                Work::Records {
                    now,
                    from,
                    records,
                    solicited,
                } => self.weigh(now, from, records, solicited),
                Work::Summaries { from, records, .. } => self.process_summaries(from, records),
            }
        }
        true
    }

    /// Queue `w` (pipelined mode); past [`MAX_WORK`] messages, weigh everything at once, so that
    /// a driver that does not call [`Server::work`] still holds a bounded backlog.
    fn defer(&mut self, w: Work) {
        self.work.push_back(w);
        if self.work.len() > MAX_WORK {
            self.settle();
        }
    }

    /// Forget everything DCS `id`'s CA FSM and CSU protocol hold, and the summaries of its
    /// abandoned exchange still waiting.
    fn reset_alignment(&mut self, id: DcsId) {
        if let Some(d) = self.dcs_mut(id) {
            d.reset_alignment();
        }
        self.work
            .retain(|w| !matches!(w, Work::Summaries { from, .. } if *from == id));
    }

    /// Whether a CSU Request's records are waiting to be weighed.
    fn records_waiting(&self) -> bool {
        self.work.iter().any(|w| matches!(w, Work::Records { .. }))
    }

    /// Whether the local server confirms each newer remote entry before it is stored (as the
    /// original's Update Indication / Update Response did). Turning it off accepts every entry
    /// still waiting.
    pub fn set_confirm(&mut self, now: Time, on: bool) {
        self.settle();
        self.confirm = on;
        if !on {
            let tokens: Vec<u64> = self.pending.keys().copied().collect();
            for t in tokens {
                let _ = self.confirm_one(now, t, true);
            }
            self.flush_queues(now);
        }
    }

    /// The local server's verdict on the entry behind `token` (see [`Event::Confirm`]). Either
    /// way the CSA is acknowledged to its DCS; accepted, it is stored and flooded.
    pub fn confirm(&mut self, now: Time, token: u64, accept: bool) -> Result<(), LocalError> {
        self.settle();
        let r = self.confirm_one(now, token, accept);
        self.flush_queues(now);
        r
    }

    /// Entries waiting for the local server's verdict.
    pub fn pending_confirmations(&self) -> usize {
        self.pending.len()
    }

    /// Declare whether the local server's view of its own entries is complete (see
    /// [`Server::replace_local_cache`], which sets it).
    pub fn set_authoritative(&mut self, on: bool) {
        self.settle();
        self.authoritative = on;
    }

    // ----- DCS management -------------------------------------------------------------------

    /// Add a DCS. Its Hello FSM starts Down; call [`Server::link_up`] when it can be reached.
    pub fn add_dcs(&mut self, now: Time, cfg: DcsConfig) -> DcsId {
        let id = DcsId(self.dcs.len() as u32);
        let state = crate::hash::state(self.cfg.hash_seed.wrapping_add(u64::from(id.0) + 1));
        self.dcs.push(Some(Dcs::new(cfg, now, state)));
        id
    }

    /// Remove a DCS (its machines stop; nothing more is sent to it).
    pub fn remove_dcs(&mut self, now: Time, id: DcsId) {
        self.settle();
        if self.dcs(id).is_some() {
            self.link_down(now, id);
            if let Some(slot) = self.dcs.get_mut(id.0 as usize) {
                *slot = None;
            }
        }
    }

    /// Replace the settings of a DCS. Timers and keys take effect at once; the machines keep
    /// their state.
    pub fn update_dcs(&mut self, id: DcsId, cfg: DcsConfig) {
        if let Some(d) = self.dcs_mut(id) {
            d.cfg = cfg;
        }
    }

    /// The DCS handles.
    pub fn dcs_ids(&self) -> impl Iterator<Item = DcsId> + '_ {
        self.dcs
            .iter()
            .enumerate()
            .filter(|(_, d)| d.is_some())
            .map(|(i, _)| DcsId(i as u32))
    }

    /// State and counters of a DCS.
    pub fn dcs_info(&self, id: DcsId) -> Option<DcsInfo> {
        self.dcs(id).map(|d| d.info(id))
    }

    /// The configuration of a DCS.
    pub fn dcs_config(&self, id: DcsId) -> Option<&DcsConfig> {
        self.dcs(id).map(|d| &d.cfg)
    }

    /// The DCS whose SCSP ID is `id`.
    pub fn find_dcs(&self, id: &Id) -> Option<DcsId> {
        self.dcs_ids()
            .find(|&d| self.dcs(d).is_some_and(|x| &x.cfg.id == id))
    }

    fn dcs(&self, id: DcsId) -> Option<&Dcs> {
        self.dcs.get(id.0 as usize).and_then(Option::as_ref)
    }

    fn dcs_mut(&mut self, id: DcsId) -> Option<&mut Dcs> {
        self.dcs.get_mut(id.0 as usize).and_then(Option::as_mut)
    }

    // ----- outputs --------------------------------------------------------------------------

    /// The next packet to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.out.pop_front()
    }

    /// The next event for the caller.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`Server::handle_timeout`] must next be called.
    pub fn poll_timeout(&mut self) -> Option<Time> {
        let mut t = self.cache.next_timer();
        for d in self.dcs.iter_mut().flatten() {
            t = earliest(t, d.hello_at);
            t = earliest(t, d.dead_at());
            t = earliest(t, d.ca_rexmit_at);
            t = earliest(t, d.crl.rexmit_at);
            t = earliest(t, d.queue.next_due());
        }
        if !self.authoritative {
            t = earliest(t, self.grace_at);
        }
        // Records waiting to be weighed are due at once.
        earliest(
            t,
            self.work.front().map(|w| match w {
                Work::Records { now, .. } | Work::Summaries { now, .. } => *now,
            }),
        )
    }

    // ----- inputs ---------------------------------------------------------------------------

    /// A packet arrived from DCS `from`.
    pub fn handle_datagram(&mut self, now: Time, from: DcsId, bytes: &[u8]) {
        if self.dcs(from).is_none() {
            return;
        }
        self.arm_grace(now);
        self.receive(now, from, bytes);
        self.flush_queues(now);
    }

    /// Timers: call at (or after) the time [`Server::poll_timeout`] gave.
    pub fn handle_timeout(&mut self, now: Time) {
        self.settle();
        self.arm_grace(now);
        if !self.authoritative && self.grace_at.is_some_and(|t| t <= now) {
            self.withdraw_orphans(now);
        }
        let ids: Vec<DcsId> = self.dcs_ids().collect();
        for id in ids {
            self.hello_timers(now, id);
            self.ca_timers(now, id);
            self.csu_timers(now, id);
        }
        self.entry_timers(now);
        self.flush_queues(now);
    }

    /// Transport connectivity to DCS `id` is available: the Hello FSM goes Down → Waiting.
    pub fn link_up(&mut self, now: Time, id: DcsId) {
        self.settle();
        self.arm_grace(now);
        self.hello_fsm(now, id, HelloEvent::LinkUp);
        self.flush_queues(now);
    }

    /// Transport connectivity to DCS `id` is lost: the Hello FSM goes to Down.
    pub fn link_down(&mut self, now: Time, id: DcsId) {
        self.settle();
        self.hello_fsm(now, id, HelloEvent::LinkDown);
        self.flush_queues(now);
    }

    /// The local server originates or updates its entry `key` with the protocol specific part
    /// `data`. Returns the sequence number given to the new instance (the current one if `data`
    /// is what is held already).
    pub fn originate(&mut self, now: Time, key: &[u8], data: Data) -> Result<u32, LocalError> {
        self.settle();
        let r = self.originate_one(now, key, data);
        self.flush_queues(now);
        r
    }

    /// A record the local server hands over must be live and valid for the profile.
    fn check_local_record(&self, data: &[u8]) -> Result<(), LocalError> {
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
        self.flush_queues(now);
        doomed.len()
    }

    /// One entry of a batch: numbered by the local server or by us.
    fn originate_entry(
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

    fn originate_one(&mut self, now: Time, key: &[u8], data: Data) -> Result<u32, LocalError> {
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
            None if self.cache.len() >= self.cfg.max_entries => return Err(LocalError::Full),
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
    fn arm_grace(&mut self, now: Time) {
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
    fn withdraw_orphans(&mut self, now: Time) {
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
    /// for an Authentication extension).
    pub(super) fn max_record_len(&self) -> usize {
        self.max_record
    }

    fn compute_max_record_len(cfg: &ServerConfig) -> usize {
        let common = Common {
            protocol_id: cfg.protocol_id,
            sgid: cfg.sgid,
            sender: cfg.lsid.clone(),
            receiver: cfg.lsid.clone(),
        };
        cfg.max_packet
            .saturating_sub(wire::overhead(&common, wire::MessageType::CsuRequest) + 64)
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
        self.flush_queues(now);
        r
    }

    /// Withdraw an entry that carries our Originator ID, the local server's or one from before a
    /// restart that came back from a DCS.
    fn withdraw_id(&mut self, now: Time, id: RecordId) -> Result<(), LocalError> {
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
    fn withdraw_wrapping(&mut self, id: &RecordId) -> Result<(), LocalError> {
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
        let mut errors = Vec::new();
        for (key, data, seq) in entries {
            if let Err(e) = self.originate_entry(now, &key, data, seq) {
                errors.push((key, e));
            }
        }
        self.flush_queues(now);
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
        let mut errors = Vec::new();
        let mut keep = std::collections::HashSet::new();
        for (key, data, seq) in entries {
            match self.originate_entry(now, &key, data, seq) {
                Ok(_) => {
                    keep.insert(key);
                }
                Err(e) => errors.push((key, e)),
            }
        }
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
        self.flush_queues(now);
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
        self.flush_queues(now);
        r
    }

    fn originate_numbered_one(
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
            None if self.cache.len() >= self.cfg.max_entries => return Err(LocalError::Full),
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
    fn claim(&mut self, id: &RecordId) {
        if let Some(e) = self.cache.get_mut(id) {
            e.set_owned(true);
            e.set_unconfirmed(false);
        }
    }

    fn local_id(&self, key: &[u8]) -> Result<RecordId, LocalError> {
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
    fn install_local(
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
        let entry = Entry::new(seq, data, None, now, deleted, true, unconfirmed);
        self.schedule_entry(now, &id, &entry);
        self.cache.insert(id.clone(), entry);
        self.satisfy_crls(&id, seq, unconfirmed, None);
        self.flood(now, &id, None, Hops::Configured);
        seq
    }

    fn schedule_entry(&mut self, now: Time, id: &RecordId, e: &Entry) {
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

    fn entry_timers(&mut self, now: Time) {
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

    // ----- flooding -------------------------------------------------------------------------

    /// Send the cache's instance of `id` to every DCS but `except` (2.3).
    fn flood(&mut self, now: Time, id: &RecordId, except: Option<DcsId>, hops: Hops) {
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

    fn flood_csa(&mut self, _now: Time, csa: &Csa, except: Option<DcsId>, hops: Hops) {
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
    /// `have` and `unconfirmed` are the sequence number and flag of the entry the cache now
    /// holds (just stored by the caller).
    fn satisfy_crls(&mut self, id: &RecordId, have: u32, unconfirmed: bool, skip: Option<DcsId>) {
        // An unconfirmed entry of our own at the very number a DCS advertised may differ from
        // the DCS's: that one is still fetched, to compare.
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

    fn common_to(&self, receiver: &Id) -> Common {
        Common {
            protocol_id: self.cfg.protocol_id,
            sgid: self.cfg.sgid,
            sender: self.cfg.lsid.clone(),
            receiver: receiver.clone(),
        }
    }

    /// Largest total record length that fits in one packet of `kind` to DCS `d`.
    fn room(&self, d: &Dcs, kind: wire::MessageType) -> usize {
        let common = self.common_to(&d.cfg.id);
        let replay = if self.replay_active(d) {
            replay::OVERHEAD
        } else {
            0
        };
        self.cfg.max_packet.min(wire::MAX_PACKET).saturating_sub(
            wire::overhead(&common, kind) + wire::auth_overhead(d.cfg.auth_send.as_ref()) + replay,
        )
    }

    /// Packets to DCS `d` carry the replay extension: authentication is configured both ways,
    /// the DCS's mode is not `Off`, and the server has a nonce.
    fn replay_active(&self, d: &Dcs) -> bool {
        d.cfg.replay != replay::ReplayMode::Off
            && d.cfg.auth_send.is_some()
            && !d.cfg.auth_recv.is_empty()
            && self.cfg.replay_nonce != 0
    }

    /// The replay extension of the next packet to DCS `d`, if it carries one.
    fn replay_ext(&self, d: &Dcs) -> Option<replay::ReplayExt> {
        self.replay_active(d).then_some(replay::ReplayExt {
            seq: self.replay_seq,
            nonce: self.cfg.replay_nonce,
            echo: d.replay.peer_nonce,
        })
    }

    /// An authenticated packet from DCS `from`: whether its replay extension lets it in
    /// (docs/replay-protection.md). A refused one is counted and reported; one that echoes a
    /// stale nonce brings our next Hello forward (at most once a second), so that a DCS that
    /// restarted, or that we restarted away from, learns our nonce at once.
    fn replay_check(&mut self, now: Time, from: DcsId, packet: &Packet) -> bool {
        let ours = self.cfg.replay_nonce;
        let Some(d) = self.dcs(from) else {
            return false;
        };
        if !self.replay_active(d) {
            return true;
        }
        let ext = replay::ReplayExt::find(&packet.extensions);
        let Some(d) = self.dcs_mut(from) else {
            return false;
        };
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

    /// Encode and queue a packet to DCS `to`, addressed to it.
    fn send(&mut self, to: DcsId, body: Body) {
        if let Some((bytes, summary)) = self.encode_to(to, None, body) {
            self.transmit(to, bytes, summary);
        }
    }

    /// Encode and queue a packet to DCS `to` with the given common part.
    fn send_with_common(&mut self, to: DcsId, common: Common, body: Body) {
        if let Some((bytes, summary)) = self.encode_to(to, Some(common), body) {
            self.transmit(to, bytes, summary);
        }
    }

    /// Encode a packet to DCS `to`, with the given common part or the one addressed to it.
    fn encode_to(
        &mut self,
        to: DcsId,
        common: Option<Common>,
        body: Body,
    ) -> Option<(Vec<u8>, MessageSummary)> {
        let d = self.dcs(to)?;
        let common = common.unwrap_or_else(|| self.common_to(&d.cfg.id));
        let extensions = match self.replay_ext(d) {
            Some(e) => {
                self.replay_seq += 1;
                vec![e.to_extension()]
            }
            None => Vec::new(),
        };
        let d = self.dcs(to)?;
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
    fn transmit(&mut self, to: DcsId, bytes: Vec<u8>, summary: MessageSummary) {
        let Some(d) = self.dcs_mut(to) else { return };
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
    fn flush_queues(&mut self, now: Time) {
        self.check_wrapping(now);
        let ids: Vec<DcsId> = self.dcs_ids().collect();
        for id in ids {
            let Some(d) = self.dcs_mut(id) else { continue };
            if !matches!(d.ca.state, CaState::UpdateCache | CaState::Aligned) {
                d.queue.drop_unsent();
                d.acks.clear();
                continue;
            }
            let csas = std::mem::take(&mut d.acks);
            let csas_room = self.room(self.dcs(id).expect("present"), wire::MessageType::CsuReply);
            for chunk in chunks(csas, csas_room, wire::csas_len) {
                self.send(id, Body::CsuReply { records: chunk });
            }
            let Some(d) = self.dcs_mut(id) else { continue };
            let (rtt, adaptive, max) = (d.rtt, d.cfg.adaptive_rexmit, d.cfg.csu_rexmit);
            let records =
                d.queue.take_unsent(
                    now,
                    |retries| if adaptive { rtt.rto(retries, max) } else { max },
                );
            if records.is_empty() {
                continue;
            }
            if d.csu_probe
                .as_ref()
                .is_none_or(|(t, ..)| now.since(*t) >= d.cfg.csu_rexmit)
            {
                // (A probe older than CSUReXmitInt was lost or retransmitted: replaced.)
                // Time the first record until its acknowledgement (kept only if it went once).
                let r = &records[0].summary;
                d.csu_probe = Some((now, r.id.clone(), r.seq));
            }
            let room = self.room(
                self.dcs(id).expect("present"),
                wire::MessageType::CsuRequest,
            );
            for chunk in chunks(records, room, wire::csa_len) {
                self.send(id, Body::CsuRequest { records: chunk });
            }
        }
    }

    /// Entries waiting to restart their sequence space go out once no DCS still has the purge
    /// on its retransmit queue (B.2.0.2).
    fn check_wrapping(&mut self, now: Time) {
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

    // ----- packet input ---------------------------------------------------------------------

    /// A purge (0x7FFFFFFF) of an entry we do not hold, received from `from`: counted and
    /// reported.
    fn stray_purge(&mut self, from: DcsId, id: RecordId) {
        if let Some(d) = self.dcs_mut(from) {
            d.stats.stray_purges += 1;
        }
        let notice = crate::event::Notice::StrayPurge { id };
        self.events
            .push_back(Event::Trace(Trace::Notice { dcs: from, notice }));
    }

    fn drop_packet(&mut self, from: DcsId, reason: Drop) {
        if let Some(d) = self.dcs_mut(from) {
            match reason {
                Drop::Malformed(_) => d.stats.malformed += 1,
                Drop::Auth(_) => d.stats.auth_failures += 1,
                Drop::InvalidRecord(_) => d.stats.invalid_records += 1,
                _ => d.stats.dropped += 1,
            }
        }
        self.events
            .push_back(Event::Trace(Trace::Dropped { dcs: from, reason }));
    }

    /// A packet from the DCS's address that is malformed or fails authentication: whether it is
    /// an abnormal event (2.1, B.3.1). A packet that cannot be shown to come from the DCS says
    /// nothing about the DCS: with authentication configured it is only discarded (as OSPF does,
    /// RFC 2328 D.5), unless `auth_failure_abnormal` keeps the RFC's literal reading. Without
    /// authentication any packet can be forged, so a malformed one is an abnormal event at most
    /// once per back-off interval, which doubles while they keep coming: N forged packets cost
    /// about log2(N) realignments, not N (docs/rfc2334-readings.md, "spoofed packets").
    fn unverified_is_abnormal(&mut self, now: Time, from: DcsId) -> bool {
        let Some(d) = self.dcs_mut(from) else {
            return false;
        };
        if !d.cfg.auth_recv.is_empty() && !d.cfg.auth_failure_abnormal {
            return false;
        }
        if d.cfg.auth_failure_abnormal {
            return true;
        }
        let (min, max) = (Duration::from_secs(1), Duration::from_secs(64));
        match d.bad_packet_at {
            Some(t) if now.since(t) < d.bad_packet_backoff => false,
            Some(t) => {
                d.bad_packet_backoff = if now.since(t) < d.bad_packet_backoff * 2 {
                    (d.bad_packet_backoff * 2).min(max)
                } else {
                    min
                };
                d.bad_packet_at = Some(now);
                true
            }
            None => {
                d.bad_packet_backoff = min;
                d.bad_packet_at = Some(now);
                true
            }
        }
    }

    fn receive(&mut self, now: Time, from: DcsId, bytes: &[u8]) {
        let packet = match wire::decode(bytes) {
            Ok(p) => p,
            Err(e) => {
                self.drop_packet(from, Drop::Malformed(e.to_string()));
                if self.unverified_is_abnormal(now, from) {
                    self.abnormal(now, from, format!("malformed packet: {e}"));
                }
                return;
            }
        };
        let Some(d) = self.dcs(from) else { return };
        if !d.cfg.auth_recv.is_empty() {
            let keys = d.cfg.auth_recv.clone();
            if let Err(e) = wire::verify_auth(bytes, &packet, |spi| {
                keys.iter().find(|k| k.spi == spi).cloned()
            }) {
                self.drop_packet(from, Drop::Auth(e.to_string()));
                if self.unverified_is_abnormal(now, from) {
                    self.abnormal(now, from, format!("authentication failed: {e}"));
                }
                return;
            }
            if !self.replay_check(now, from, &packet) {
                return;
            }
        }
        let c = &packet.common;
        if c.protocol_id != self.cfg.protocol_id || c.sgid != self.cfg.sgid {
            let reason = Drop::WrongGroup {
                protocol_id: c.protocol_id,
                sgid: c.sgid,
            };
            self.drop_packet(from, reason);
            return;
        }
        let Some(d) = self.dcs(from) else { return };
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
        if let Some(d) = self.dcs_mut(from) {
            d.stats.rx.count(summary.kind, summary.len, summary.records);
            if kind != wire::MessageType::Hello && d.cfg.any_message_alive {
                // Sent only while the DCS is Bidirectional with us: it is alive and hears us.
                d.last_hello = Some(now);
                d.last_hello_with_us = Some(now);
            }
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
                let msg = ca::CaMsg {
                    seq,
                    m,
                    i,
                    o,
                    records,
                };
                self.ca_fsm(now, from, ca::CaEvent::Ca(msg));
            }
            Body::CsuRequest { records } => self.on_csu_request(now, from, records),
            Body::CsuReply { records } => self.on_csu_reply(now, from, records),
            Body::Csus { records } => self.on_csus(now, from, records),
        }
    }

    /// An abnormal event (2.1): the Hello FSM goes back to Waiting and the DCS leaves our
    /// Receiver ID list (rfc2334-readings.md #12).
    fn abnormal(&mut self, now: Time, from: DcsId, cause: String) {
        self.settle();
        let Some(d) = self.dcs_mut(from) else { return };
        d.stats.abnormal_events += 1;
        self.events
            .push_back(Event::Trace(Trace::Abnormal { dcs: from, cause }));
        self.hello_fsm(now, from, HelloEvent::Abnormal);
    }

    fn set_ca(&mut self, now: Time, id: DcsId, to: CaState, cause: &'static str) {
        let Some(d) = self.dcs_mut(id) else { return };
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
        }
        self.events.push_back(Event::Trace(Trace::Ca {
            dcs: id,
            from,
            to,
            cause,
        }));
    }
}

/// Split `items` into runs whose summed size fits `room` (at least one item per run, and at most
/// 65535 per run).
/// Whether one more record of `len` bytes fits in a packet that already carries `count` records
/// taking `used` bytes of its `room`: always the first record; never more than the 16-bit count.
pub(super) fn fits(used: usize, len: usize, count: usize, room: usize) -> bool {
    count == 0 || (used + len <= room && count < usize::from(u16::MAX))
}

fn chunks<T>(items: Vec<T>, room: usize, size: impl Fn(&T) -> usize) -> Vec<Vec<T>> {
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

fn summarize(p: &Packet, len: usize) -> MessageSummary {
    MessageSummary {
        kind: p.body.message_type(),
        records: p.body.record_count(),
        len,
        ca: match &p.body {
            Body::Ca { seq, m, i, o, .. } => Some((*seq, *m, *i, *o)),
            _ => None,
        },
    }
}
