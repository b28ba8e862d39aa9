//! Configuration of a server (one Protocol ID / Server Group ID instance) and of its DCSs.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::profile::{Opaque, Profile};
use crate::wire::{AuthKey, Id};

/// Configuration of one SCSP server instance (one PID/SGID pair, 2).
#[derive(Clone)]
pub struct ServerConfig {
    /// Protocol ID (B.2.0.1).
    pub protocol_id: u16,
    /// Server Group ID.
    pub sgid: u16,
    /// Family ID advertised in Hellos (B.2.5).
    pub family_id: u16,
    /// This server's ID (LSID), used as Sender ID and as Originator ID of local entries.
    pub lsid: Id,
    /// Largest packet sent, in bytes (the path MTU less the transport headers); at most 65535.
    pub max_packet: usize,
    /// The constant added to an existing entry's sequence number when this server originates a
    /// new instance of an entry it did not itself originate since it started (B.2.0.2).
    pub restart_seq_step: u32,
    /// The lowest sequence number this server gives an entry: a new entry gets this number rather
    /// than -2^31+1, and a changed one at least this. A server that lost its state cannot tell a
    /// restart from a first start, nor know which instances of its earlier incarnations servers
    /// it has not met since still hold; B.2.0.2 asks for a number "unique within the SG" after a
    /// restart (docs/rfc2334-readings.md, "numbers after a restart"). scspd gives the seconds
    /// since 2000-01-01 at the server's start, so that a later incarnation numbers above an
    /// earlier one's instances unless one entry was updated more than once a second on average
    /// over a whole incarnation. The default, -2^31+1, is no floor.
    pub seq_floor: u32,
    /// This incarnation's nonce for replay protection (docs/replay-protection.md): drawn at
    /// random by scspd at each start. 0: no replay extension is sent or checked.
    pub replay_nonce: u64,
    /// The first cryptographic sequence number of the replay extension: scspd gives its start
    /// time in microseconds since 1970, so that a restarted server numbers above its earlier
    /// incarnation (unless that one sent more than a million packets a second on average).
    pub replay_seq_start: u64,
    /// How long a deleted entry is remembered, so that an older copy arriving late is recognised
    /// as older and not learned again.
    pub tombstone_hold: Duration,
    /// How long a deletion of an entry this server did not hold is remembered. It is
    /// acknowledged and passed on (our other DCSs may hold the entry), and kept this long so
    /// that a copy of the entry still on its way is recognised as older; not for
    /// [`ServerConfig::tombstone_hold`], since anyone can send deletions of keys nobody holds
    /// (docs/rfc2334-readings.md, "the cache's bounds").
    pub stray_deletion_hold: Duration,
    /// After a restart, the entries carrying this server's Originator ID come back from its
    /// DCSs. The local server claims them by handing its entries over
    /// ([`crate::Server::replace_local_cache`]) or originating them again; those it has not
    /// claimed this long after the server's first input are withdrawn from the group. `None`:
    /// never (they stay until a handover).
    pub orphan_grace: Option<Duration>,
    /// Largest number of entries held; a CSA that would add one more is not acknowledged (2.3).
    pub max_entries: usize,
    /// Largest number of bytes the entries held may cost, each counted as
    /// [`crate::cache::entry_cost`] (its Cache Key, Originator ID and data, plus
    /// [`crate::cache::ENTRY_OVERHEAD`]). A new entry past it is refused: from a DCS not
    /// acknowledged (2.3), from the local server with [`crate::LocalError::CacheBytes`]. A newer
    /// instance of an entry held is accepted while the total stays within this plus one
    /// record's largest cost (the slack a record that grows needs).
    pub max_cache_bytes: usize,
    /// Largest number of records on each DCS's CSA Request List (2.2.2.1). Summaries past it
    /// are not solicited in the alignment under way, and are counted.
    pub max_csa_requests: usize,
    /// Interpretation of the client/server protocol specific part.
    pub profile: Arc<dyn Profile>,
    /// Seed of the keyed hash of the server's tables. The daemon draws it at random (so that
    /// nobody can aim colliding keys at it); tests and the simulator fix it, so that a run
    /// repeats exactly.
    pub hash_seed: u64,
    /// Re-alignment by set reconciliation (docs/reconciliation.md): advertised in every Hello,
    /// and used in Cache Alignment with a DCS that advertises it too; with any other DCS, RFC 2334
    /// Cache Alignment unchanged. Off by default.
    pub reconcile: bool,
    /// The 128-bit key of this server's reconciliation cells (used when it is CA master). The
    /// daemon draws it at random at its start; tests and the simulator fix it.
    pub recon_key: [u8; 16],
    /// Cells kept under each key, and the most a reconciliation decodes from
    /// (docs/reconciliation.md §4, §7).
    pub recon_cells: u32,
}

impl ServerConfig {
    /// A configuration with the defaults of this implementation.
    pub fn new(protocol_id: u16, sgid: u16, lsid: Id) -> Self {
        ServerConfig {
            protocol_id,
            sgid,
            family_id: 0,
            lsid,
            max_packet: 1472,
            restart_seq_step: 1,
            seq_floor: crate::wire::SEQ_FIRST,
            replay_nonce: 0,
            replay_seq_start: 1,
            tombstone_hold: Duration::from_secs(3600),
            stray_deletion_hold: Duration::from_secs(60),
            orphan_grace: Some(Duration::from_secs(300)),
            max_entries: 16 << 20,
            max_cache_bytes: 256 << 20,
            max_csa_requests: 1 << 20,
            profile: Arc::new(Opaque),
            hash_seed: 0,
            reconcile: false,
            recon_key: [0; 16],
            recon_cells: scsp_recon::DEFAULT_CELLS as u32,
        }
    }
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConfig")
            .field("protocol_id", &self.protocol_id)
            .field("sgid", &self.sgid)
            .field("family_id", &self.family_id)
            .field("lsid", &self.lsid)
            .field("max_packet", &self.max_packet)
            .field("profile", &self.profile.name())
            .finish_non_exhaustive()
    }
}

/// Hellos per HelloInterval after a Hello stall ([`DcsConfig::hello_repeat`]).
pub const HELLO_REPEAT: u32 = 3;

/// How long Hellos stay repeated after the last stall ([`DcsConfig::hello_repeat`]).
pub const HELLO_REPEAT_FOR: std::time::Duration = std::time::Duration::from_secs(3600);

/// Configuration of one Directly Connected Server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DcsConfig {
    /// The DCS's ID (its Sender ID in what it sends us).
    pub id: Id,
    /// HelloInterval we advertise, seconds (at least 1).
    pub hello_interval: u16,
    /// DeadFactor we advertise (at least 1).
    pub dead_factor: u16,
    /// CAReXmtInterval.
    pub ca_rexmit: Duration,
    /// CSUSReXmtInterval.
    pub csus_rexmit: Duration,
    /// CSUReXmtInterval.
    pub csu_rexmit: Duration,
    /// How many times a CSA is retransmitted before the DCS is declared failed (so a CSA is sent
    /// at most 1 + this many times; rfc2334-readings.md #13).
    pub csu_rexmit_max: u32,
    /// Retransmission timers that follow the measured round-trip time, with the intervals
    /// above as upper bounds (`server::rtt`); false: the RFC's fixed intervals, and an abnormal
    /// event as soon as a CSA has used up CSUReXmitMax.
    pub adaptive_rexmit: bool,
    /// Any CA, CSUS or CSU message accepted from the DCS restarts its dead timer, as a Hello
    /// listing us does: the DCS sends them only while its Hello FSM is Bidirectional with us
    /// (2.1), so each shows it alive and hearing us. False: Hellos only, as RFC 2334 2.1 reads.
    pub any_message_alive: bool,
    /// Once Hellos are seen lost on the path to the DCS (one of its Hellos comes more than 1.5
    /// HelloIntervals after the last, or the session stalls, seen from either side), send
    /// [`HELLO_REPEAT`] Hellos per HelloInterval, evenly spaced, until [`HELLO_REPEAT_FOR`] after
    /// the last such loss: the DCS's dead timer then needs three times as many Hellos lost in a
    /// row. The interval we advertise is unchanged; the DCS hears Hellos more often than it
    /// expects them, which costs it nothing (docs/rfc2334-readings.md, "Hellos repeated under
    /// loss"). False: one Hello per HelloInterval always, as RFC 2334 2.1 reads.
    pub hello_repeat: bool,
    /// A packet that fails authentication (or does not decode) is an abnormal event, as RFC 2334
    /// B.3.1 reads literally. False (the default): with authentication configured such a packet
    /// is discarded and counted, and the session stays as it is; without, a malformed packet is
    /// an abnormal event at most once per (doubling) back-off interval.
    pub auth_failure_abnormal: bool,
    /// The longest dead interval (HelloInterval × DeadFactor) taken from the DCS's Hellos.
    /// `None`: the larger of 30 s and our own HelloInterval × DeadFactor for it.
    pub max_dead_interval: Option<Duration>,
    /// The most CSAs the DCS retransmit queue holds. CSAs flooded to the DCS are always queued
    /// (they are the group's changes); solicitations past the bound are not answered.
    pub max_rexmit_queue: usize,
    /// Replay protection of the authenticated session (docs/replay-protection.md); effective
    /// only with authentication configured both ways.
    pub replay: crate::ReplayMode,
    /// Hop Count given to CSAs this server originates.
    pub hops: u16,
    /// Key used to sign what is sent to this DCS, if any.
    pub auth_send: Option<AuthKey>,
    /// Keys accepted from this DCS, by SPI. When not empty, unauthenticated packets are refused.
    pub auth_recv: Vec<AuthKey>,
}

impl DcsConfig {
    /// A DCS with the original daemon's defaults (harp-scspd.md §4): HelloInt 3, HelloDead 3,
    /// CAReXmitInt 3, CSUSReXmitInt 3, CSUReXmitInt 2, CSUReXmitMax 5, Hops 3.
    pub fn new(id: Id) -> Self {
        DcsConfig {
            id,
            hello_interval: 3,
            dead_factor: 3,
            ca_rexmit: Duration::from_secs(3),
            csus_rexmit: Duration::from_secs(3),
            csu_rexmit: Duration::from_secs(2),
            csu_rexmit_max: 5,
            adaptive_rexmit: true,
            any_message_alive: true,
            hello_repeat: true,
            auth_failure_abnormal: false,
            max_dead_interval: None,
            max_rexmit_queue: 1 << 18,
            replay: crate::ReplayMode::On,
            hops: 3,
            auth_send: None,
            auth_recv: Vec::new(),
        }
    }
}
