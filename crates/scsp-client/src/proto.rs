//! The local client interface: the protocol spoken on scspd's UNIX stream socket by local servers
//! (ATMARP, NHRP, MARS servers, or any program) and by `scspctl`.
//!
//! # Framing
//! Every message is a frame: a 4-byte big-endian length `n` (1 ≤ n ≤ [`MAX_FRAME`]), then `n`
//! bytes of UTF-8 JSON encoding one [`ClientMsg`] (client → scspd) or [`DaemonMsg`]
//! (scspd → client). A frame that is too long, not JSON, or not a known message is answered with
//! an error and the connection is closed; it never affects the daemon otherwise.
//!
//! # Session
//! The client speaks first with [`ClientMsg::Hello`] naming the protocol [`VERSION`] it speaks;
//! scspd answers [`DaemonMsg::Welcome`] (or an error and close, if the version is not supported).
//! Then the client sends requests, each with a client-chosen `id`, and scspd answers each with a
//! [`DaemonMsg::Reply`] carrying the same `id`. A client that has attached to a server also
//! receives [`DaemonMsg::Notify`] messages, unprompted, between replies.
//!
//! Byte strings (cache keys, protocol-specific data) are lowercase hex strings; SCSP IDs (LSIDs,
//! DCS IDs, originator IDs) are written as the configuration writes them: a dotted quad for 4
//! bytes, an IPv6 address for 16 bytes, hex otherwise.
//! Entries also carry their record decoded by the server's protocol profile (`record`, JSON, and
//! `columns`, for people), and typed requests ([`Request::AddRecord`], [`Request::DelRecord`])
//! originate and withdraw entries from such records.

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use scsp_profiles::Column;

/// Version of this protocol. Version 2 added streamed replies (a `show_cache` or `dump` reply in
/// several frames, each but the last marked `more`) and the filters and paging of
/// [`CacheQuery`]; version 3 streams the `attach` and `watch` replies too, with the
/// notifications of changes made meanwhile between their frames (docs/client-protocol.md,
/// "The snapshot"). scspd still speaks versions 1 and 2 to a client that says one in its Hello.
pub const VERSION: u32 = 3;
/// The oldest version scspd still speaks.
pub const MIN_VERSION: u32 = 1;
/// Largest frame accepted, in bytes (64 MiB: a `load` of a million 40-byte entries fits).
pub const MAX_FRAME: usize = 64 << 20;
/// Where scspd listens and `scspctl` connects unless told otherwise.
pub const DEFAULT_SOCKET: &str = "/run/scspd.sock";

/// A message from a client to scspd.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum ClientMsg {
    /// Opens the session.
    Hello {
        /// Protocol version the client speaks.
        version: u32,
        /// Free text naming the client, for logs (e.g. "scspctl", "atmarpd").
        client: String,
    },
    /// A request.
    Request {
        /// Echoed in the reply.
        id: u64,
        /// What is asked.
        #[serde(flatten)]
        req: Request,
    },
}

/// The requests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "op")]
pub enum Request {
    /// Every configured server, with its state.
    ShowServers,
    /// Every DCS (of one server, or of all).
    ShowDcs {
        /// Only this server.
        server: Option<String>,
    },
    /// The cache of a server: its live entries, or those `query` selects.
    ShowCache {
        /// Server name.
        server: String,
        /// Filters and paging (version 2; all optional).
        #[serde(flatten)]
        query: CacheQuery,
    },
    /// Originate or update an entry of the local cache (held by scspd or by the attached client).
    Add {
        /// Server name.
        server: String,
        /// Cache key, hex.
        key: String,
        /// Protocol-specific data, hex.
        data: String,
    },
    /// Withdraw an entry originated here.
    Del {
        /// Server name.
        server: String,
        /// Cache key, hex.
        key: String,
    },
    /// Originate or update an entry given as a typed record of the server's profile (as the
    /// `record` of an [`EntryView`], or as `scspctl add <server> <profile> …` makes it). The
    /// profile builds the cache key and the protocol-specific data.
    AddRecord {
        /// Server name.
        server: String,
        /// The record, JSON.
        record: Value,
        /// The profile the record is for ("atmarp", "nhrp", "mars", "generic"); when given, a
        /// server of another profile refuses the request.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        profile: Option<String>,
    },
    /// Withdraw every entry originated here that `selector` names (e.g. an ATMARP entry by its
    /// IP address: `{"ip": "10.1.2.3"}`).
    DelRecord {
        /// Server name.
        server: String,
        /// What to withdraw, JSON (as `scspctl del <server> <profile> …` makes it).
        selector: Value,
        /// As in [`Request::AddRecord`].
        #[serde(default, skip_serializing_if = "Option::is_none")]
        profile: Option<String>,
    },
    /// Originate many entries at once.
    Load {
        /// Server name.
        server: String,
        /// Entries.
        entries: Vec<KeyData>,
    },
    /// A text dump of every server, DCS and entry (what SIGINT writes to a file).
    Dump,
    /// Attach as the local server of `server`: from now on this connection receives
    /// [`DaemonMsg::Notify`] for every remote change, and, when `confirm` is set, must accept or
    /// reject each remote entry with [`Request::Confirm`].
    Attach {
        /// Server name.
        server: String,
        /// Ask this client to accept or reject each new remote entry before it is stored.
        #[serde(default)]
        confirm: bool,
    },
    /// Watch `server`: from now on this connection receives its notifications, as the attached
    /// local server does, without being its local server (no confirmations, no attach slot
    /// taken: an operator's monitor, `scspctl watch`). At most 8 per server.
    Watch {
        /// Server name.
        server: String,
    },
    /// Hand over the whole local cache: entries originated here and not listed are withdrawn.
    Handover {
        /// Server name.
        server: String,
        /// Entries.
        entries: Vec<KeyData>,
    },
    /// Answer to a [`Notify::Confirm`].
    Confirm {
        /// Server name.
        server: String,
        /// Token of the indication.
        token: u64,
        /// Accept (store and flood) or reject the entry.
        accept: bool,
    },
    /// Reload the configuration file (as SIGHUP does).
    Reload,
    /// The daemon's metrics, in the OpenMetrics text format (what the `Metrics` endpoint serves).
    ShowMetrics,
    /// The daemon itself: version, pid, uptime, configuration, the last reload, failed servers.
    ShowStatus,
    /// Disable, enable or restart one DCS of a server.
    DcsControl {
        /// Server name.
        server: String,
        /// The DCS's ID, as `show dcs` writes it.
        dcs: String,
        /// What to do.
        action: DcsAction,
    },
    /// Realign with one DCS of a server, or with every DCS of it.
    Realign {
        /// Server name.
        server: String,
        /// Only this DCS (its ID as `show dcs` writes it).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        dcs: Option<String>,
    },
    /// Set the counters of a server's DCSs (or of every server's) back to zero.
    ClearCounters {
        /// Only this server.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        server: Option<String>,
    },
    /// Set what is traced for a server, as `scspd -T` does at start: the letters (`c h i C H
    /// I`), replacing those in effect; `""` stops tracing it.
    Trace {
        /// Server name.
        server: String,
        /// The trace letters.
        letters: String,
    },
}

/// What a [`Request::ShowCache`] selects and how much of it (protocol version 2; every field
/// optional: none selects every live entry).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheQuery {
    /// Only entries whose key begins with these bytes, hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Only entries of this originator, as IDs are written (a dotted quad for 4 bytes...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub originator: Option<String>,
    /// At most this many entries; the reply's `next` then continues.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
    /// Continue where the reply carrying this `next` stopped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// Only count the entries selected (`count` in the reply; no entries).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub count: bool,
}

impl CacheQuery {
    /// Whether no field is set: a request as version 1 makes it.
    pub fn is_plain(&self) -> bool {
        *self == CacheQuery::default()
    }
}

/// What [`Request::DcsControl`] does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DcsAction {
    /// Take the DCS down and keep it down: no Hellos are sent to it, and what it sends is
    /// dropped, until it is enabled or restarted.
    Disable,
    /// Bring a disabled DCS up again (its Hello FSM starts in Waiting).
    Enable,
    /// Take the DCS down and up again at once: new Hello and Cache Alignment sessions.
    Restart,
}

/// A key and its data, hex.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyData {
    /// Cache key, hex.
    pub key: String,
    /// Protocol-specific data, hex.
    pub data: String,
    /// The CSA sequence number the local server gives this instance (RFC 2334 B.2.0.2: it "may
    /// be assigned by the client"). Absent: scspd numbers it. A local server that numbers its
    /// entries and hands them over again after scspd restarts never sees two instances of an
    /// entry under one number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u32>,
}

/// A message from scspd to a client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum DaemonMsg {
    /// Answer to [`ClientMsg::Hello`].
    Welcome {
        /// Protocol version spoken.
        version: u32,
        /// "scspd <version>".
        daemon: String,
    },
    /// Answer to a request.
    Reply {
        /// The request's id.
        id: u64,
        /// The result.
        #[serde(flatten)]
        result: ReplyResult,
    },
    /// A change for an attached client.
    Notify(Notify),
    /// A protocol error that ends the session.
    Fatal {
        /// What was wrong.
        error: ProtoError,
    },
}

/// Success or failure of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplyResult {
    /// Done.
    Ok(Response),
    /// Refused.
    Error(ProtoError),
}

/// A typed error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProtoError {
    /// Machine-readable kind.
    pub code: ErrorCode,
    /// Human-readable detail.
    pub message: String,
}

/// Error kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Frame too long, not JSON, or not a known message.
    BadFrame,
    /// Protocol version not supported.
    Version,
    /// A request before Hello, or Hello twice.
    Sequence,
    /// No server of that name.
    NoSuchServer,
    /// A field is malformed (hex, lengths).
    BadArgument,
    /// The protocol core refused it (see message).
    Refused,
    /// Nothing to delete, or an unknown token.
    NotFound,
    /// Another client is attached to that server.
    Busy,
    /// The configuration file has errors (for Reload).
    Config,
    /// The client did not read its notifications fast enough: its bounded queue overflowed, it
    /// was detached and the session ends.
    Overflow,
}

/// Successful results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Response {
    /// Nothing to report.
    Done,
    /// For [`Request::ShowServers`].
    Servers {
        /// Servers.
        servers: Vec<ServerView>,
    },
    /// For [`Request::ShowDcs`].
    Dcs {
        /// DCSs.
        dcs: Vec<DcsView>,
    },
    /// For [`Request::ShowCache`]. In version 1, one frame with the entries sorted by key then
    /// originator. From version 2, the reply is streamed: frames with `more` set, then one
    /// without; entries come in the cache's order (see docs/client-protocol.md).
    Cache {
        /// Entries.
        entries: Vec<EntryView>,
        /// More frames of this reply follow (version 2 and later).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        more: bool,
        /// The `limit` stopped the reply before the end: a `cursor` to continue from.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        next: Option<String>,
        /// With `count`: the number of entries selected.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        count: Option<u64>,
    },
    /// For [`Request::Add`].
    Added {
        /// Sequence number of the instance.
        seq: u32,
    },
    /// For [`Request::Load`] and [`Request::Handover`].
    Loaded {
        /// Entries accepted.
        accepted: u64,
        /// Entries refused, with why.
        errors: Vec<String>,
    },
    /// For [`Request::Dump`].
    Dump {
        /// The text (from version 2, a part of it: the frames' texts in order make the dump).
        text: String,
        /// More frames of this reply follow (version 2 and later).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        more: bool,
    },
    /// For [`Request::Attach`] and [`Request::Watch`]: the live entries the cache holds (the
    /// snapshot). In version 3 the reply is streamed: frames with `more` set, then one without
    /// (the end of the snapshot), with notifications between them (docs/client-protocol.md,
    /// "The snapshot"); in versions 1 and 2 one frame, the cache as the snapshot ended.
    Attached {
        /// Entries.
        entries: Vec<EntryView>,
        /// More frames of this reply follow (version 3).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        more: bool,
    },
    /// For [`Request::AddRecord`]: the entry as held after the request.
    RecordAdded {
        /// The entry (its sequence number is that of the instance held).
        entry: EntryView,
    },
    /// For [`Request::DelRecord`], and for a [`Request::AddRecord`] whose record is a deletion
    /// (a MARS leave): the entries withdrawn.
    RecordsDeleted {
        /// The entries as they were.
        entries: Vec<EntryView>,
    },
    /// For [`Request::ShowMetrics`].
    Metrics {
        /// The OpenMetrics text exposition, `# EOF` included.
        text: String,
    },
    /// For [`Request::ShowStatus`].
    Status {
        /// The daemon's status.
        status: StatusView,
    },
}

/// The daemon as `show status` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusView {
    /// scspd's version.
    pub version: String,
    /// Process ID.
    pub pid: u32,
    /// When the daemon started, seconds since the UNIX epoch.
    pub started: u64,
    /// Seconds since the start.
    pub uptime_s: u64,
    /// The configuration file (as given on the command line).
    pub config: String,
    /// The client socket.
    pub socket: String,
    /// Where the metrics endpoint listens, when it is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<String>,
    /// Servers running.
    pub servers_running: u32,
    /// The last reload, if there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_reload: Option<ReloadView>,
    /// Servers configured that are not running (failed to start, or stopped), with why.
    #[serde(default)]
    pub failed: Vec<FailedView>,
}

/// A reload as `show status` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReloadView {
    /// When it ended, seconds since the UNIX epoch.
    pub at: u64,
    /// Whether the new configuration was applied whole.
    pub ok: bool,
    /// What went wrong (`file:line:col: message` lines, or servers that could not start).
    #[serde(default)]
    pub errors: Vec<String>,
}

/// A configured server that is not running.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedView {
    /// Server name.
    pub name: String,
    /// Why it is not running.
    pub error: String,
    /// Since when, seconds since the UNIX epoch.
    pub since: u64,
}

/// A server as `show servers` prints it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerView {
    /// Name in the configuration.
    pub name: String,
    /// Protocol ID.
    pub protocol_id: u16,
    /// Protocol name, if it has one.
    pub protocol: String,
    /// Server Group ID.
    pub sgid: u16,
    /// Family ID.
    pub family_id: u16,
    /// LSID.
    pub lsid: String,
    /// Where it receives ("address:port").
    pub listen: String,
    /// Live entries.
    pub entries: u64,
    /// Entries held including deleted ones.
    pub entries_held: u64,
    /// DCSs configured.
    pub dcs: u32,
    /// DCSs Aligned.
    pub dcs_aligned: u32,
    /// Whether a local server is attached.
    pub client_attached: bool,
    /// Packets received that were dropped before reaching a DCS (unknown source, bad size).
    pub dropped_unknown: u64,
    /// The protocol profile that decodes its records: "atmarp", "nhrp", "mars" or "generic".
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub profile: String,
    /// For an ATMARP server, its `ATMARPFormat`: "harp", "draft-00" or "draft-01".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub atmarp_format: Option<String>,
    /// "running", "failed" (configured, could not start) or "stopped" (its task ended).
    #[serde(default = "running")]
    pub state: String,
    /// Why a failed or stopped server is not running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Its saved state (`StateDir`), when it keeps one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saved_state: Option<SavedStateView>,
}

/// A server's saved state as `show servers` prints it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedStateView {
    /// The file.
    pub file: String,
    /// Entries read back at the start.
    pub loaded: u64,
    /// Rows written since the start.
    pub written: u64,
    /// Changes not yet written (gathered, or waiting for the writer).
    pub pending: u64,
    /// Failed writes.
    pub errors: u64,
    /// Changes written to the file's log and not yet folded into its table of entries (done
    /// when changes come slowly; a restart reads both).
    #[serde(default)]
    pub logged: u64,
    /// Every sequence number of ours used so far is below this one (reserved on disk).
    pub reserved: u32,
}

fn running() -> String {
    "running".to_owned()
}

/// A DCS as `show dcs` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DcsView {
    /// Server name.
    pub server: String,
    /// DCS ID.
    pub id: String,
    /// Where it is sent to.
    pub address: String,
    /// Hello FSM state.
    pub hello: String,
    /// Seconds in that state.
    pub hello_since_s: u64,
    /// CA FSM state.
    pub ca: String,
    /// Seconds in that state.
    pub ca_since_s: u64,
    /// Messages received.
    pub rx_msgs: u64,
    /// Messages sent.
    pub tx_msgs: u64,
    /// Errors: malformed, authentication failures, dropped.
    pub errors: u64,
    /// Retransmissions: CA, CSUS and CSA.
    pub retransmits: u64,
    /// CSAs awaiting acknowledgement.
    pub rexmit_queue: u64,
    /// CSAs still wanted from the DCS.
    pub crl: u64,
    /// Seconds since the DCS was last Aligned, or since it was configured if it never was;
    /// absent while it is Aligned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unaligned_s: Option<u64>,
    /// Seconds since a Hello from the DCS was last accepted (absent: none since the DCS was
    /// configured).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_hello_s: Option<u64>,
    /// Milliseconds before the Hello FSM declares the DCS dead if nothing more is heard (only
    /// while the Hello FSM is Unidirectional or Bidirectional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dead_in_ms: Option<u64>,
    /// Why the DCS last went down (its Hello FSM left Bidirectional, or its CA FSM left Aligned
    /// on its own), with the FSM's new state and cause.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_down: Option<String>,
    /// Seconds since it went down then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_down_s: Option<u64>,
    /// Times the CA FSM left Aligned.
    #[serde(default)]
    pub flaps: u64,
    /// Smoothed round-trip time to the DCS, microseconds, once measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub srtt_us: Option<u64>,
    /// Disabled by a client ([`Request::DcsControl`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disabled: bool,
    /// Full counters.
    pub stats: serde_json::Value,
}

/// A cache entry as `show cache` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryView {
    /// Cache key, hex.
    pub key: String,
    /// Originator ID, as the configuration writes IDs: a dotted quad for 4 bytes, an IPv6
    /// address for 16, hex otherwise (as `ServerView::lsid` and `DcsView::id`).
    pub originator: String,
    /// CSA sequence number.
    pub seq: u32,
    /// Protocol-specific data, hex.
    pub data: String,
    /// Originated here.
    pub local: bool,
    /// Seconds since this instance arrived or was originated.
    pub age_s: u64,
    /// The record decoded by the server's protocol profile (absent when the profile cannot
    /// decode it): what [`Request::AddRecord`] takes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<Value>,
    /// The record for people: columns with values written as people write them (dotted IPv4,
    /// dotted ATM addresses), as `scspctl show cache` prints them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub columns: Option<Vec<Column>>,
}

impl EntryView {
    /// " (NAME value, ...)": the decoded columns, as log lines and `scspctl` write them after an
    /// entry's key; empty when there are none.
    pub fn columns_note(&self) -> String {
        match &self.columns {
            Some(c) if !c.is_empty() => {
                let cells: Vec<String> = c
                    .iter()
                    .map(|c| format!("{} {}", c.name, c.value))
                    .collect();
                format!(" ({})", cells.join(", "))
            }
            _ => String::new(),
        }
    }
}

/// Unprompted messages to an attached client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "event")]
pub enum Notify {
    /// A remote entry was learned.
    Learned {
        /// Server name.
        server: String,
        /// The entry.
        entry: EntryView,
    },
    /// A remote entry was replaced by a newer instance.
    Replaced {
        /// Server name.
        server: String,
        /// The entry.
        entry: EntryView,
    },
    /// An entry went away (deleted by its originator, purged, or expired).
    Removed {
        /// Server name.
        server: String,
        /// The entry as it was.
        entry: EntryView,
        /// "deleted", "purged" or "expired".
        reason: String,
    },
    /// A remote entry awaits this client's [`Request::Confirm`].
    Confirm {
        /// Server name.
        server: String,
        /// Token to answer with.
        token: u64,
        /// The entry.
        entry: EntryView,
    },
}
