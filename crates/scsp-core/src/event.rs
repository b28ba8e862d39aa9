//! What a [`crate::Server`] hands back: cache changes for the local server and trace events.

use serde::{Deserialize, Serialize};

use crate::wire::{Data, MessageType, RecordId};
use crate::{DcsId, Time};

/// States of the Hello finite state machine (2.1, Figure 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum HelloState {
    /// No transport connectivity.
    Down,
    /// Connectivity; no Hello that names us heard yet.
    Waiting,
    /// Hellos heard from the DCS, but they do not list us.
    Unidirectional,
    /// Hellos heard that list us.
    Bidirectional,
}

/// States of the Cache Alignment finite state machine (2.2, Figure 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CaState {
    /// The Hello FSM is not Bidirectional.
    Down,
    /// Master/Slave Negotiation (2.2.1).
    Negotiation,
    /// Cache Summarize as master (2.2.2).
    SummarizeMaster,
    /// Cache Summarize as slave (2.2.2).
    SummarizeSlave,
    /// Update Cache (2.2.3).
    UpdateCache,
    /// Aligned (2.2.4).
    Aligned,
}

impl HelloState {
    /// Name as printed.
    pub fn name(self) -> &'static str {
        match self {
            HelloState::Down => "Down",
            HelloState::Waiting => "Waiting",
            HelloState::Unidirectional => "Unidirectional",
            HelloState::Bidirectional => "Bidirectional",
        }
    }
}

impl CaState {
    /// Name as printed.
    pub fn name(self) -> &'static str {
        match self {
            CaState::Down => "Down",
            CaState::Negotiation => "Master/Slave Negotiation",
            CaState::SummarizeMaster => "Cache Summarize (master)",
            CaState::SummarizeSlave => "Cache Summarize (slave)",
            CaState::UpdateCache => "Update Cache",
            CaState::Aligned => "Aligned",
        }
    }
}

/// A cache entry as the local server sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryView {
    /// Cache Key and Originator ID.
    pub id: RecordId,
    /// CSA Sequence Number.
    pub seq: u32,
    /// The protocol specific part.
    #[serde(with = "crate::event::data_hex")]
    pub data: Data,
}

pub(crate) mod data_hex {
    use crate::wire::Data;
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(d: &Data, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(d)
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Data, D::Error> {
        Vec::<u8>::deserialize(d).map(Data::from)
    }
}

/// Why an entry left the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RemoveReason {
    /// Its originator deleted it.
    Deleted,
    /// Its originator purged it before restarting its sequence space (B.2.0.2).
    Purged,
    /// Its lifetime ran out.
    Expired,
    /// The local server's protocol rules flushed it (e.g. a MARS server that missed two
    /// redirect updates: RFC 2443 §5.1).
    Flushed,
}

/// A change to the cache caused by something other than the local server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CacheChange {
    /// A new entry was learned from a DCS.
    Learned {
        /// The entry.
        entry: EntryView,
        /// The DCS it came from.
        from: DcsId,
    },
    /// A newer instance of an entry replaced the one held.
    Replaced {
        /// The entry.
        entry: EntryView,
        /// Sequence number of the instance replaced.
        old_seq: u32,
        /// The DCS it came from.
        from: DcsId,
    },
    /// An entry went away.
    Removed {
        /// The entry as it was last held (live).
        entry: EntryView,
        /// Why.
        reason: RemoveReason,
    },
}

/// Why a packet or a record was dropped. Each has its own counter in [`crate::DcsStats`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Drop {
    /// The packet did not decode.
    Malformed(String),
    /// Authentication failed (B.3.1.4).
    Auth(String),
    /// Refused by replay protection (docs/replay-protection.md): why.
    Replay(&'static str),
    /// Protocol ID / Server Group ID are not ours.
    WrongGroup {
        /// Protocol ID received.
        protocol_id: u16,
        /// SGID received.
        sgid: u16,
    },
    /// The Sender ID is not the configured DCS ID.
    WrongSender,
    /// The Receiver ID is neither our LSID (nor, for a CSU, all 0xFF).
    NotForUs,
    /// A message other than Hello before the Hello FSM is Bidirectional (2.1).
    NotBidirectional(MessageType),
    /// A message the CA FSM does not take in its present state.
    UnexpectedInState(MessageType, CaState),
    /// A CA whose sequence number or flags fit no rule and is ignored.
    IgnoredCa(u32),
    /// A CSA whose protocol specific part the profile refused.
    InvalidRecord(String),
    /// A CSA not acknowledged because the cache is at its bound ([`crate::ServerConfig::max_entries`],
    /// [`crate::ServerConfig::max_cache_bytes`]), or because too many wait for the local server's
    /// verdict.
    CacheFull,
    /// A deletion of an entry not held, acknowledged and passed on, but not kept as a deleted
    /// entry: the cache is at its bound.
    DeletionNotKept,
    /// Records of a CA not solicited: the DCS's CSA Request List is at its bound
    /// ([`crate::ServerConfig::max_csa_requests`]).
    CrlFull(usize),
    /// A CSA whose Hop Count was zero.
    HopsExhausted,
    /// Records of a CSUS not answered: the DCS retransmit queue is at its bound
    /// ([`crate::DcsConfig::max_rexmit_queue`]).
    QueueFull(usize),
}

/// What a [`Trace::Notice`] reports. Each has its own counter in [`crate::DcsStats`], but
/// [`Notice::UnknownDcs`], counted by the server ([`crate::Server::unknown_dcs_inputs`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Notice {
    /// The DCS advertises another Family ID than ours in its Hellos. They are accepted (the
    /// Hello protocol runs per Protocol ID and Server Group ID, 2.1; the Family ID is an
    /// aggregation hint, B.2.5). Reported when first seen and when it changes.
    FamilyMismatch {
        /// Ours.
        ours: u16,
        /// The DCS's.
        theirs: u16,
    },
    /// A CSA or a summary numbered 0x7FFFFFFF (a purge, B.2.0.2) of an entry we do not hold:
    /// nothing is stored (docs/rfc2334-readings.md, "a purge of an entry not held").
    StrayPurge {
        /// The entry's Cache Key and Originator ID.
        id: crate::wire::RecordId,
    },
    /// An event a state machine has no transition for in its state: ignored. Never expected;
    /// reported so that a bug shows.
    UnexpectedEvent {
        /// "Hello" or "CA".
        machine: &'static str,
        /// The state.
        state: String,
        /// The event.
        event: &'static str,
    },
    /// An input named a DCS the server does not have (never added, or removed): ignored. The
    /// caller's mistake, or a bug; reported so that it shows.
    UnknownDcs {
        /// The input: "datagram", "link up", "link down", "update", "remove", or "internal" (a
        /// handler that lost its DCS: a bug).
        input: &'static str,
    },
}

/// A trace event: every FSM transition and every message in and out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Trace {
    /// The Hello FSM of a DCS changed state.
    Hello {
        /// The DCS.
        dcs: DcsId,
        /// Previous state.
        from: HelloState,
        /// New state.
        to: HelloState,
        /// What caused it.
        cause: &'static str,
    },
    /// The CA FSM of a DCS changed state.
    Ca {
        /// The DCS.
        dcs: DcsId,
        /// Previous state.
        from: CaState,
        /// New state.
        to: CaState,
        /// What caused it.
        cause: &'static str,
    },
    /// A message was received and accepted for processing.
    Received {
        /// The DCS.
        dcs: DcsId,
        /// Summary of the message.
        msg: MessageSummary,
    },
    /// A message was sent.
    Sent {
        /// The DCS.
        dcs: DcsId,
        /// Summary of the message.
        msg: MessageSummary,
    },
    /// Something was dropped.
    Dropped {
        /// The DCS it came from.
        dcs: DcsId,
        /// Why.
        reason: Drop,
    },
    /// Something a DCS sent that is accepted but worth an operator's attention.
    Notice {
        /// The DCS.
        dcs: DcsId,
        /// What it was.
        notice: Notice,
    },
    /// An abnormal event (2.1): the Hello FSM goes back to Waiting.
    Abnormal {
        /// The DCS.
        dcs: DcsId,
        /// What happened.
        cause: String,
    },
}

/// The header facts of a message, for traces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageSummary {
    /// Message type.
    pub kind: MessageType,
    /// Records (or additional receivers) carried.
    pub records: usize,
    /// Packet length in bytes.
    pub len: usize,
    /// CA sequence number and M, I, O flags, for a CA.
    pub ca: Option<(u32, bool, bool, bool)>,
}

/// Something the server hands back to its caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Event {
    /// A change to the cache for the local server.
    Cache(CacheChange),
    /// With confirmation on ([`crate::Server::set_confirm`]): a newer remote entry waits for the
    /// local server to accept or reject it ([`crate::Server::confirm`]). It is neither stored,
    /// flooded nor acknowledged until then.
    Confirm {
        /// Token to answer with.
        token: u64,
        /// The entry.
        entry: EntryView,
        /// The DCS it came from.
        from: DcsId,
    },
    /// No local server claimed the entries carrying this server's Originator ID within
    /// [`crate::ServerConfig::orphan_grace`] of its start: `count` of them (instances from before
    /// a restart, come back from DCSs) were withdrawn from the group.
    OrphansWithdrawn {
        /// How many.
        count: usize,
    },
    /// A trace event.
    Trace(Trace),
}

/// A packet to send to a DCS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// The DCS.
    pub dcs: DcsId,
    /// The encoded packet.
    pub bytes: Vec<u8>,
}

/// A time-stamped state, for management output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Since<S> {
    /// The state.
    pub state: S,
    /// When it was entered.
    pub since: Time,
}
