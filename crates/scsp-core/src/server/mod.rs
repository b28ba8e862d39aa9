//! One SCSP server instance (one Protocol ID / Server Group ID pair): its cache, and a Hello FSM,
//! a Cache Alignment FSM and a DCS retransmit queue per DCS.
//!
//! The server is a plain value driven by its caller. Inputs are methods taking the current time:
//! [`Server::handle_datagram`], [`Server::handle_timeout`], [`Server::link_up`],
//! [`Server::link_down`], [`Server::originate`], [`Server::withdraw`],
//! [`Server::replace_local_cache`], [`Server::add_dcs`], [`Server::remove_dcs`]. Outputs are
//! polled: [`Server::poll_transmit`], [`Server::poll_event`], [`Server::poll_timeout`].

mod bounds;
mod bulk;
mod ca;
mod crl;
mod csu;
mod dcs;
mod hello;
mod input;
mod local;
mod output;
mod recon;
pub mod replay;
mod rexmit;
pub mod rtt;
mod saved;
mod stats;

use std::collections::VecDeque;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use dcs::{DcsInfo, DcsStats, MessageCounts};
pub use recon::{ReconStats, VENDOR_ID as RECON_VENDOR_ID};
pub use saved::{Restored, SavedEntry};

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
    /// The entry would take the cache past its configured size in bytes
    /// ([`ServerConfig::max_cache_bytes`]).
    #[error("the cache is full: it holds its bound of {max} bytes")]
    CacheBytes {
        /// The bound, bytes.
        max: usize,
    },
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
    /// A DCS has been Aligned with us since the start ([`ServerConfig::seq_floor`]).
    some_aligned: bool,
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
    /// The newest sequence number given an instance originated here since the start
    /// ([`Server::newest_own_seq`]).
    own_high: Option<u32>,
    /// Reconciliation state, when configured ([`ServerConfig::reconcile`]).
    recon: Option<Box<recon::Recon>>,
    /// The reconciliation message of the packet being handled.
    recon_in: Option<Vec<u8>>,
    /// An extension for the next packet encoded.
    ext_out: Option<wire::Extension>,
    /// When a batch of marked slots is to be applied to the reconciliation cells.
    recon_due: Option<Time>,
    /// Inputs that named a DCS the server does not have ([`Server::unknown_dcs_inputs`]).
    unknown_dcs: u64,
}

/// Marked slots applied to the reconciliation cells at a timer, once that many are waiting.
const RECON_BATCH: usize = 4096;

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
        let mut server = Server {
            cache: Cache::new(state.clone()),
            pending_ids: crate::hash::Map::with_hasher(state),
            cfg,
            dcs: Vec::new(),
            authoritative: false,
            replay_seq,
            some_aligned: false,
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
            own_high: None,
            recon: None,
            recon_in: None,
            ext_out: None,
            recon_due: None,
            unknown_dcs: 0,
        };
        server.recon_init();
        server
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
            self.send_queued(now);
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
                } => self.weigh(now, from, records, solicited, true),
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
        if let Some(d) = self.live(id) {
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
            self.send_queued(now);
        }
    }

    /// The local server's verdict on the entry behind `token` (see [`Event::Confirm`]). Either
    /// way the CSA is acknowledged to its DCS; accepted, it is stored and flooded.
    pub fn confirm(&mut self, now: Time, token: u64, accept: bool) -> Result<(), LocalError> {
        self.settle();
        let r = self.confirm_one(now, token, accept);
        self.send_queued(now);
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
        if self.dcs(id).is_none() {
            self.unknown_dcs(id, "remove");
            return;
        }
        self.link_down(now, id);
        if let Some(slot) = self.dcs.get_mut(id.0 as usize) {
            *slot = None;
        }
    }

    /// Replace the settings of a DCS. Timers and keys take effect at once; the machines keep
    /// their state.
    pub fn update_dcs(&mut self, id: DcsId, cfg: DcsConfig) {
        match self.dcs_mut(id) {
            Some(d) => d.cfg = cfg,
            None => self.unknown_dcs(id, "update"),
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

    /// Inputs that named a DCS the server does not have (each also reported as
    /// [`crate::event::Notice::UnknownDcs`]). An input names its DCS once, where it enters
    /// the server; the handlers below receive it, or look it up again only after a call that
    /// needs the whole server. A miss there is a bug, counted here as "internal".
    pub fn unknown_dcs_inputs(&self) -> u64 {
        self.unknown_dcs
    }

    /// An input named DCS `id`, which the server does not have: counted and reported.
    fn unknown_dcs(&mut self, id: DcsId, input: &'static str) {
        self.unknown_dcs += 1;
        let notice = crate::event::Notice::UnknownDcs { input };
        self.events
            .push_back(Event::Trace(Trace::Notice { dcs: id, notice }));
    }

    fn dcs(&self, id: DcsId) -> Option<&Dcs> {
        slot(&self.dcs, id)
    }

    fn dcs_mut(&mut self, id: DcsId) -> Option<&mut Dcs> {
        slot_mut(&mut self.dcs, id)
    }

    /// DCS `id` inside the handling of an input that has already found it (in
    /// [`Server::handle_datagram`], [`Server::handle_timeout`], [`Server::link_up`],
    /// [`Server::link_down`]): nothing removes a DCS meanwhile, so a miss is a bug, counted and
    /// reported rather than passed over.
    fn live(&mut self, id: DcsId) -> Option<&mut Dcs> {
        if slot(&self.dcs, id).is_none() {
            self.unknown_dcs(id, "internal");
            return None;
        }
        slot_mut(&mut self.dcs, id)
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
            t = earliest(t, d.recon.bulk_due());
        }
        if !self.authoritative {
            t = earliest(t, self.grace_at);
        }
        t = earliest(t, self.recon_due);
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
            self.unknown_dcs(from, "datagram");
            return;
        }
        self.arm_grace(now);
        self.receive(now, from, bytes);
        self.send_queued(now);
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
            self.bulk_timers(now, id);
        }
        self.entry_timers(now);
        self.recon_sync_some(RECON_BATCH);
        self.send_queued(now);
    }

    /// Transport connectivity to DCS `id` is available: the Hello FSM goes Down → Waiting.
    pub fn link_up(&mut self, now: Time, id: DcsId) {
        if self.dcs(id).is_none() {
            self.unknown_dcs(id, "link up");
            return;
        }
        self.settle();
        self.arm_grace(now);
        self.hello_fsm(now, id, HelloEvent::LinkUp);
        self.send_queued(now);
    }

    /// Transport connectivity to DCS `id` is lost: the Hello FSM goes to Down.
    pub fn link_down(&mut self, now: Time, id: DcsId) {
        if self.dcs(id).is_none() {
            self.unknown_dcs(id, "link down");
            return;
        }
        self.settle();
        self.hello_fsm(now, id, HelloEvent::LinkDown);
        self.send_queued(now);
    }
}

/// DCS `id` of the table: a borrow of the table alone, so that a handler holding it can still
/// use the server's other fields.
fn slot(table: &[Option<Dcs>], id: DcsId) -> Option<&Dcs> {
    table.get(id.0 as usize).and_then(Option::as_ref)
}

/// See [`slot`].
fn slot_mut(table: &mut [Option<Dcs>], id: DcsId) -> Option<&mut Dcs> {
    table.get_mut(id.0 as usize).and_then(Option::as_mut)
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
