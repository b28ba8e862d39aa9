//! Per-DCS state: the Hello and Cache Alignment machines' variables, the CSA Request List, the
//! DCS retransmit queue, and counters.

use std::collections::VecDeque;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::Time;
use crate::config::DcsConfig;
use crate::event::{CaState, HelloState, Since};
use crate::hash::{HashState, Set};
use crate::wire::{Csas, RecordId};

pub(crate) use super::crl::Crl;
pub(crate) use super::rexmit::RexmitQueue;
pub use super::stats::{DcsStats, MessageCounts};

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
    /// The Family ID the DCS last advertised, when it differed from ours.
    pub peer_family: Option<u16>,
    pub last_hello: Option<Time>,
    pub last_hello_with_us: Option<Time>,
    pub hello_at: Option<Time>,
    /// When Hellos were last seen lost on the path (a Hello of the DCS's missed, or the session
    /// stalled): ours are repeated for a while after ([`DcsConfig::hello_repeat`]).
    pub hello_loss_at: Option<Time>,
    /// When the last Hello (that message only) arrived: for [`Dcs::hello_loss_at`].
    pub last_hello_msg: Option<Time>,
    /// The DCS's replay extension, as received (docs/replay-protection.md).
    pub replay: super::replay::ReplayState,
    /// When a stale nonce last brought our Hello forward.
    pub replay_prompt_at: Option<Time>,

    // CA FSM (2.2).
    pub ca_seq: u32,
    pub last_ca_seq: Option<u32>,
    /// Our last CA, encoded: retransmitted while outstanding, resent to a duplicate.
    pub ca_out: Option<(Vec<u8>, crate::event::MessageSummary)>,
    /// We were master in the last Cache Summarize.
    pub was_master: bool,
    pub ca_rexmit_at: Option<Time>,
    /// CSAS records still to be summarized to the DCS.
    pub summary: VecDeque<Csas>,
    /// The O bit of our last CA.
    pub sent_more: bool,
    pub crl: Crl,
    /// Records that changed while the DCS was in Negotiation or Cache Summarize, to be sent as
    /// CSU Requests once it reaches Update Cache (rfc2334-readings.md #14).
    pub deferred: Set<RecordId>,

    // CSU (2.3).
    pub queue: RexmitQueue,
    /// CSAS records to acknowledge in the next CSU Reply.
    pub acks: Vec<Csas>,
    /// The cache slot after the last one a CSUS from the DCS asked for: where its next record
    /// probably is (see [`crate::cache::Cache::get_near`]).
    pub csus_hint: u32,

    // Retransmission timers (server/rtt.rs).
    pub rtt: super::rtt::Rtt,
    /// When our last CA went out, if it was sent once only (Karn's rule).
    pub ca_sent_at: Option<Time>,
    /// Retransmissions of our last CA.
    pub ca_retries: u32,
    /// When our outstanding CSUS went out, if sent once only.
    pub csus_sent_at: Option<Time>,
    /// Retransmissions of our outstanding CSUS.
    pub csus_retries: u32,
    /// A CSA sent in a CSU Request, timed until its acknowledgement: when, and what.
    pub csu_probe: Option<(Time, RecordId, u32)>,
    /// When the DCS last acknowledged a CSA of ours.
    pub last_ack_at: Option<Time>,
    /// When a malformed packet last counted as an abnormal event, and the back-off before the
    /// next may (Server::unverified_is_abnormal).
    pub bad_packet_at: Option<Time>,
    pub bad_packet_backoff: Duration,

    pub stats: DcsStats,
    /// Reconciliation with this DCS (server/recon/).
    pub recon: super::recon::PerDcs,
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
            peer_family: None,
            last_hello: None,
            last_hello_with_us: None,
            hello_at: None,
            hello_loss_at: None,
            last_hello_msg: None,
            replay: Default::default(),
            replay_prompt_at: None,
            ca_seq: 0,
            last_ca_seq: None,
            ca_out: None,
            was_master: false,
            ca_rexmit_at: None,
            summary: VecDeque::new(),
            sent_more: false,
            crl: Crl::new(state.clone()),
            deferred: Set::with_hasher(state.clone()),
            queue: RexmitQueue::new(state),
            acks: Vec::new(),
            csus_hint: 0,
            rtt: Default::default(),
            ca_sent_at: None,
            ca_retries: 0,
            csus_sent_at: None,
            csus_retries: 0,
            csu_probe: None,
            last_ack_at: None,
            bad_packet_at: None,
            bad_packet_backoff: Duration::ZERO,
            stats: DcsStats::default(),
            recon: Default::default(),
        }
    }

    /// The retransmission timeout of a message retransmitted `retries` times so far, whose
    /// configured interval is `max` (server/rtt.rs).
    pub fn rto(&self, retries: u32, max: Duration) -> Duration {
        if self.cfg.adaptive_rexmit {
            self.rtt.rto(retries, max)
        } else {
            max
        }
    }

    /// An answer to the message sent at `sent` (if it was sent once only) arrived now.
    pub fn rtt_sample(&mut self, now: Time, sent: Option<Time>) {
        if let Some(t) = sent {
            self.rtt.sample(now.since(t));
        }
    }

    /// HelloInterval × DeadFactor as advertised by the DCS (2.1, B.2.5), at most
    /// [`DcsConfig::max_dead_interval`] (by default the larger of 30 s and our own interval for
    /// the DCS): a DCS that advertises 65535 × 65535 and goes silent is not kept up for ever.
    pub fn dead_interval(&self) -> Duration {
        let i = u64::from(self.peer_interval.max(1));
        let f = u64::from(self.peer_dead_factor.max(1));
        let own =
            u64::from(self.cfg.hello_interval.max(1)) * u64::from(self.cfg.dead_factor.max(1));
        let ceiling = self
            .cfg
            .max_dead_interval
            .unwrap_or(Duration::from_secs(own.max(30)));
        Duration::from_secs(i * f).min(ceiling)
    }

    /// When the Hello FSM must next look at the DCS's liveness: HelloInterval × DeadFactor
    /// after the last Hello heard, plus half a HelloInterval. Without that allowance the Hello
    /// due exactly at the deadline, late by its transit time, would be taken for a lost one, and
    /// DeadFactor 3 would tolerate one lost Hello instead of two (docs/rfc2334-readings.md,
    /// "the dead timer").
    pub fn dead_at(&self) -> Option<Time> {
        let wait = self.dead_interval() + self.dead_allowance();
        match self.hello.state {
            HelloState::Bidirectional => self.last_hello_with_us.map(|t| t + wait),
            HelloState::Unidirectional => self.last_hello.map(|t| t + wait),
            _ => None,
        }
    }

    /// Half the HelloInterval the DCS advertised (of the dead interval as capped, divided by
    /// its DeadFactor): see [`Dcs::dead_at`].
    pub fn dead_allowance(&self) -> Duration {
        self.dead_interval() / (2 * u32::from(self.peer_dead_factor.max(1)))
    }

    /// A message from the DCS shows that it has left Cache Summarize: as its slave, our kept
    /// copy of our last CA can no longer be asked for (2.2.2 note).
    pub fn master_done(&mut self) {
        if !self.was_master && matches!(self.ca.state, CaState::UpdateCache | CaState::Aligned) {
            self.ca_out = None;
        }
    }

    /// Forget everything the CA FSM and the CSU protocol hold.
    pub fn reset_alignment(&mut self) {
        self.ca_out = None;
        self.ca_rexmit_at = None;
        self.summary.clear();
        self.summary.shrink_to_fit();
        self.sent_more = false;
        self.crl.clear();
        self.deferred.clear();
        self.queue.clear();
        self.acks.clear();
        self.recon.reset();
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
            srtt_us: self
                .rtt
                .srtt()
                .map(|d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX)),
            last_hello: self.last_hello_msg,
            dead_at: self.dead_at(),
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
    /// The smoothed round-trip time to the DCS, microseconds, once measured (server/rtt.rs).
    pub srtt_us: Option<u64>,
    /// When the last Hello from the DCS was accepted.
    pub last_hello: Option<Time>,
    /// When the Hello FSM declares the DCS dead if nothing more is heard (2.1; `None` outside
    /// Unidirectional and Bidirectional).
    pub dead_at: Option<Time>,
    /// Counters.
    pub stats: DcsStats,
}
