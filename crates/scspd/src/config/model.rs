//! The configuration as the daemon uses it.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Serialize, Serializer};

use super::{AtmAddress, Host, Pos};
pub use scsp_profiles::AtmarpLayout;

/// Default UDP port on which servers receive SCSP and to which DCSs are sent (this project's
/// choice; SCSP over UDP has no assigned port).
pub const DEFAULT_PORT: u16 = 7126;
/// Default largest SCSP packet sent: a 1500-byte Ethernet payload less the IPv4 (20) and UDP (8)
/// headers. Over IPv6 (40-byte header) the equivalent is 1452.
pub const DEFAULT_MTU: u16 = 1472;
/// Smallest `MTU`.
pub const MIN_MTU: u16 = 64;
/// Default `CAReXmitInt`, seconds.
pub const DEFAULT_CA_REXMIT_INT: u16 = 3;
/// Default `CSUSReXmitInt`, seconds.
pub const DEFAULT_CSUS_REXMIT_INT: u16 = 3;
/// Default `CSUReXmitInt`, seconds.
pub const DEFAULT_CSU_REXMIT_INT: u16 = 2;
/// Default `CSUReXmitMax`.
pub const DEFAULT_CSU_REXMIT_MAX: u16 = 5;
/// Default `HelloDead`.
pub const DEFAULT_HELLO_DEAD: u16 = 3;
/// Default `HelloInt`, seconds.
pub const DEFAULT_HELLO_INT: u16 = 3;
/// Default `Hops`.
pub const DEFAULT_HOPS: u16 = 3;
/// Default `MARSRedirectInterval`, seconds: RFC 2443 §5.1's "at least every 2 minutes".
/// Default `MaxReXmitQueue`: CSAs on one DCS's retransmit queue.
pub const DEFAULT_MAX_REXMIT_QUEUE: u32 = 1 << 18;
/// Largest `MaxReXmitQueue`.
pub const MAX_MAX_REXMIT_QUEUE: u32 = 1 << 24;
/// Default `LocalGrace`, seconds: how long after a start the entries carrying this server's
/// Originator ID wait for a local server to claim them before they are withdrawn.
pub const DEFAULT_LOCAL_GRACE: u32 = 300;
/// Largest `LocalGrace`, seconds (a week).
pub const MAX_LOCAL_GRACE: u32 = 7 * 24 * 3600;
/// Default `StrayDeletionHold`, seconds: how long a deletion of an entry the server did not
/// hold is remembered.
pub const DEFAULT_STRAY_DELETION_HOLD: u32 = 60;
/// Largest `StrayDeletionHold`, seconds (the hour a deletion of an entry held is remembered).
pub const MAX_STRAY_DELETION_HOLD: u32 = 3600;
/// Default `MaxCacheEntries`: entries held in one server's cache, deleted ones included.
pub const DEFAULT_MAX_CACHE_ENTRIES: u32 = 1 << 24;
/// Largest `MaxCacheEntries`.
pub const MAX_MAX_CACHE_ENTRIES: u32 = 1 << 30;
/// Default `MaxCacheBytes`: what one server's cache entries may cost, bytes (256 MiB; each
/// entry counts its Cache Key, Originator ID and data plus `scsp_core::cache::ENTRY_OVERHEAD`).
pub const DEFAULT_MAX_CACHE_BYTES: u64 = 256 << 20;
/// Smallest `MaxCacheBytes` (1 MiB).
pub const MIN_MAX_CACHE_BYTES: u64 = 1 << 20;
/// Largest `MaxCacheBytes` (1 TiB).
pub const MAX_MAX_CACHE_BYTES: u64 = 1 << 40;
/// Default `MaxCSARequests`: records on each DCS's CSA Request List.
pub const DEFAULT_MAX_CSA_REQUESTS: u32 = 1 << 20;
/// Largest `MaxCSARequests`.
pub const MAX_MAX_CSA_REQUESTS: u32 = 1 << 26;
pub const DEFAULT_MARS_REDIRECT_INTERVAL: u16 = scsp_profiles::mars::DEFAULT_REDIRECT_INTERVAL;
/// Smallest `MARSRedirectInterval`, seconds.
pub const MIN_MARS_REDIRECT_INTERVAL: u16 = 2;
/// Largest `MARSRedirectInterval`, seconds.
pub const MAX_MARS_REDIRECT_INTERVAL: u16 = 3600;
/// Smallest value of the DCS timers and counts (as the original).
pub const MIN_DCS_VALUE: u16 = 1;
/// Largest value of the DCS timers and counts (as the original).
pub const MAX_DCS_VALUE: u16 = 1024;

/// A whole configuration file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Config {
    /// The `Server` statements, in file order.
    pub servers: Vec<ServerConfig>,
    /// The `Log` statements, merged.
    pub log: LogConfig,
    /// `Metrics <address>:<port>;`: where the OpenMetrics endpoint listens (off when absent).
    pub metrics: Option<std::net::SocketAddr>,
    /// `StateDir`: where servers keep their saved state (absent: the default,
    /// [`DEFAULT_STATE_DIR`], unless the command line says otherwise).
    pub state_dir: Option<StateDir>,
}

/// Where servers keep their saved state when neither the configuration nor the command line
/// says.
pub const DEFAULT_STATE_DIR: &str = "/var/lib/scspd";

/// `StateDir "<directory>";` or `StateDir none;`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum StateDir {
    /// No saved state: a restarted server starts empty.
    None,
    /// This directory (created if need be).
    Dir(PathBuf),
}

impl Config {
    /// The server named `name`.
    pub fn server(&self, name: &str) -> Option<&ServerConfig> {
        self.servers.iter().find(|s| s.name == name)
    }
}

/// Where log messages go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogConfig {
    /// `File <name>;`: append log messages to this file.
    pub file: Option<PathBuf>,
    /// `Syslog;`, or no `File`: log to syslog (facility `LOG_DAEMON`). Set by the parser when
    /// neither is given.
    pub syslog: bool,
    /// `Level <level>;`: the least severe messages written (default `info`).
    pub level: LogLevel,
    /// `Format text|json;`: how lines are written to a file or standard output (default
    /// `text`).
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> LogConfig {
        LogConfig {
            file: None,
            syslog: true,
            level: LogLevel::Info,
            format: LogFormat::Text,
        }
    }
}

/// The severity of a log message, least severe first (syslog's, RFC 5424, without the three
/// most severe, which scspd never uses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// Details for debugging (syslog 7).
    Debug,
    /// Normal operation (syslog 6).
    Info,
    /// Normal but significant: a neighbour up, an alignment done, a reload (syslog 5).
    Notice,
    /// A neighbour down, a packet dropped, something to look at (syslog 4).
    Warn,
    /// Something failed (syslog 3).
    Error,
}

impl LogLevel {
    /// Every level, least severe first.
    pub const ALL: [LogLevel; 5] = [
        LogLevel::Debug,
        LogLevel::Info,
        LogLevel::Notice,
        LogLevel::Warn,
        LogLevel::Error,
    ];

    /// The configuration's word (`debug`, `info`, `notice`, `warn`, `error`).
    pub fn name(self) -> &'static str {
        match self {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Notice => "notice",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        }
    }

    /// The syslog severity (RFC 5424 6.2.1).
    pub fn syslog_severity(self) -> u8 {
        match self {
            LogLevel::Debug => 7,
            LogLevel::Info => 6,
            LogLevel::Notice => 5,
            LogLevel::Warn => 4,
            LogLevel::Error => 3,
        }
    }
}

/// How log lines are written to a file or standard output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// `2026-05-01T12:00:00.000Z NOTICE server s_a: DCS 127.0.0.2: …`.
    Text,
    /// One JSON object a line: `time`, `level`, `server`, `dcs`, `message`, ….
    Json,
}

/// An SCSP protocol ID (RFC 2334 Protocol ID; the names are the original's keywords).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Protocol {
    /// The Protocol ID sent in every SCSP packet.
    pub id: u16,
    /// The keyword for `id`, when it has one (always set by [`Protocol::from_id`]).
    pub name: Option<&'static str>,
}

/// The protocol keywords and their IDs.
pub const PROTOCOL_NAMES: [(&str, u16); 5] = [
    ("ATMARP", 1),
    ("NHRP", 2),
    ("MARS", 3),
    ("DHCP", 4),
    ("LNNI", 5),
];

impl Protocol {
    /// ATMARP (1).
    pub const ATMARP: Protocol = Protocol {
        id: 1,
        name: Some("ATMARP"),
    };

    /// MARS (3).
    pub const MARS: Protocol = Protocol {
        id: 3,
        name: Some("MARS"),
    };

    /// The protocol with this ID, named if it has a keyword.
    pub fn from_id(id: u16) -> Protocol {
        Protocol {
            id,
            name: PROTOCOL_NAMES
                .iter()
                .find(|(_, i)| *i == id)
                .map(|(n, _)| *n),
        }
    }

    /// The protocol of a keyword (ignoring ASCII case).
    pub fn from_name(name: &str) -> Option<Protocol> {
        PROTOCOL_NAMES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, id)| Protocol::from_id(*id))
    }
}

/// The keyword if there is one, else the number.
impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name {
            Some(n) => f.write_str(n),
            None => write!(f, "{}", self.id),
        }
    }
}

/// The `ATMARPFormat` keywords and the layouts they name.
pub const ATMARP_FORMATS: [(&str, AtmarpLayout); 3] = [
    ("harp", AtmarpLayout::Harp),
    ("draft-00", AtmarpLayout::Draft00),
    ("draft-01", AtmarpLayout::Draft01),
];

/// The `ATMARPFormat` keyword of a layout.
pub fn atmarp_format_name(layout: AtmarpLayout) -> &'static str {
    ATMARP_FORMATS
        .iter()
        .find(|(_, l)| *l == layout)
        .map_or("harp", |(n, _)| *n)
}

/// The layout of an `ATMARPFormat` keyword (ignoring ASCII case).
pub fn atmarp_format_from_name(name: &str) -> Option<AtmarpLayout> {
    ATMARP_FORMATS
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, l)| *l)
}

/// One `Server` statement: a local server whose cache is synchronised.
///
/// Equality ignores `pos`, so that a reload can tell whether anything but the place in the file
/// changed.
#[derive(Debug, Clone, Serialize)]
pub struct ServerConfig {
    /// The name after `Server` (not used by the protocol).
    pub name: String,
    /// `Protocol`.
    pub protocol: Protocol,
    /// `Netif`: the network interface the local server serves.
    pub netif: Option<String>,
    /// `ServerGroupID`.
    pub sgid: u16,
    /// `FamilyID` (default 0).
    pub family_id: u16,
    /// `ID`: this server's own SCSP ID. `None`: the first IPv4 address of `netif`, found by the
    /// daemon.
    pub id: Option<Host>,
    /// `Address`: where this server receives. `None`: its ID.
    pub address: Option<Host>,
    /// `Port`: the UDP port where this server receives (default [`DEFAULT_PORT`]).
    pub port: u16,
    /// `MTU`: largest SCSP packet sent, bytes (default [`DEFAULT_MTU`]).
    pub mtu: u16,
    /// `ATMARPFormat`: the layout of ATMARP records (meaningful for protocol ATMARP only;
    /// default [`AtmarpLayout::Harp`], what the original sends).
    pub atmarp_format: AtmarpLayout,
    /// `MARSRedirectInterval`: the longest interval between two redirect updates of a MARS
    /// server, seconds, from which the MARS timers derive (meaningful for protocol MARS only;
    /// default [`DEFAULT_MARS_REDIRECT_INTERVAL`], RFC 2443 §5.1's 2 minutes).
    pub mars_redirect_interval: u16,
    /// `LocalGrace`: seconds after the start within which a local server must claim the entries
    /// of ours that come back from the DCSs after a restart, before they are withdrawn; `None`
    /// (`LocalGrace never;`): they stay until a handover. Default [`DEFAULT_LOCAL_GRACE`].
    pub local_grace: Option<u32>,
    /// `MaxCacheEntries`: the most entries the cache holds, deleted ones included (default
    /// [`DEFAULT_MAX_CACHE_ENTRIES`]).
    pub max_cache_entries: u32,
    /// `MaxCacheBytes`: what the entries held may cost, bytes (default
    /// [`DEFAULT_MAX_CACHE_BYTES`]).
    pub max_cache_bytes: u64,
    /// `MaxCSARequests`: the most records on each DCS's CSA Request List (default
    /// [`DEFAULT_MAX_CSA_REQUESTS`]).
    pub max_csa_requests: u32,
    /// `StrayDeletionHold`: seconds a deletion of an entry the server did not hold is
    /// remembered (default [`DEFAULT_STRAY_DELETION_HOLD`]).
    pub stray_deletion_hold: u32,
    /// `Reconcile on|off;`: re-alignment by set reconciliation with DCSs that support it too
    /// (docs/reconciliation.md); default off.
    pub reconcile: bool,
    /// `Notify <script> [<seconds>];`: a program run when one of the server's DCSs goes up or
    /// down and when an alignment with one completes.
    pub notify: Option<NotifyConfig>,
    /// The `DCS` statements, in file order.
    pub dcs: Vec<DcsConfig>,
    /// Where the `Server` keyword is.
    pub pos: Pos,
}

impl ServerConfig {
    /// Whether the server's own settings (everything but its DCSs and position) are equal: a
    /// reload can then keep the server and compare its DCSs one by one.
    pub fn same_settings(&self, other: &ServerConfig) -> bool {
        let ServerConfig {
            name,
            protocol,
            netif,
            sgid,
            family_id,
            id,
            address,
            port,
            mtu,
            atmarp_format,
            mars_redirect_interval,
            local_grace,
            max_cache_entries,
            max_cache_bytes,
            max_csa_requests,
            stray_deletion_hold,
            reconcile,
            notify,
            dcs: _,
            pos: _,
        } = self;
        *name == other.name
            && *protocol == other.protocol
            && *netif == other.netif
            && *sgid == other.sgid
            && *family_id == other.family_id
            && *id == other.id
            && *address == other.address
            && *port == other.port
            && *mtu == other.mtu
            && *atmarp_format == other.atmarp_format
            && *mars_redirect_interval == other.mars_redirect_interval
            && *local_grace == other.local_grace
            && *max_cache_entries == other.max_cache_entries
            && *max_cache_bytes == other.max_cache_bytes
            && *max_csa_requests == other.max_csa_requests
            && *stray_deletion_hold == other.stray_deletion_hold
            && *reconcile == other.reconcile
            && *notify == other.notify
    }

    /// The DCS whose ID is the same host as `id` (see [`Host::same_as`]).
    pub fn dcs_by_id(&self, id: &Host) -> Option<&DcsConfig> {
        self.dcs.iter().find(|d| d.id.same_as(id))
    }
}

impl PartialEq for ServerConfig {
    fn eq(&self, other: &ServerConfig) -> bool {
        self.same_settings(other) && self.dcs == other.dcs
    }
}

/// A server's `Notify` statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotifyConfig {
    /// The program (a relative path is taken from the configuration file's directory).
    pub script: PathBuf,
    /// Seconds it may run before it is killed (default [`DEFAULT_NOTIFY_TIMEOUT`]).
    pub timeout_s: u32,
}

/// Seconds a notify script may run (`Notify <script> <seconds>;` gives another).
pub const DEFAULT_NOTIFY_TIMEOUT: u32 = 10;
/// The longest `Notify` time limit, seconds.
pub const MAX_NOTIFY_TIMEOUT: u32 = 3600;

/// One `DCS` statement: a Directly Connected Server.
///
/// Equality ignores `pos`: equal DCS configurations need no new session after a reload.
#[derive(Debug, Clone, Serialize)]
pub struct DcsConfig {
    /// `ID`: the DCS's SCSP ID (required).
    pub id: Host,
    /// `ATMaddr`: accepted for compatibility, not used over UDP.
    pub atm_addr: Option<AtmAddress>,
    /// `Address`: where the DCS receives. `None`: its ID.
    pub address: Option<Host>,
    /// `Port`: the UDP port where the DCS receives (default [`DEFAULT_PORT`]).
    pub port: u16,
    /// `CAReXmitInt`, seconds.
    pub ca_rexmit_int: u16,
    /// `CSUSReXmitInt`, seconds.
    pub csus_rexmit_int: u16,
    /// `CSUReXmitInt`, seconds.
    pub csu_rexmit_int: u16,
    /// `CSUReXmitMax`: retransmissions of a CSA before it is given up.
    pub csu_rexmit_max: u16,
    /// `HelloDead`: the Hello dead factor.
    pub hello_dead: u16,
    /// `HelloInt`, seconds.
    pub hello_int: u16,
    /// `Hops`: hop count of CSAs originated here.
    pub hops: u16,
    /// `Auth`: authentication of the packets exchanged with this DCS.
    pub auth: Option<AuthConfig>,
    /// `Timers rfc;`: RFC 2334's fixed retransmission intervals and Hello-only liveness.
    /// Default (`Timers adaptive;`): retransmission after the measured round-trip time, the
    /// intervals above as upper bounds, and any message from the DCS showing it alive
    /// (docs/rfc2334-readings.md, "retransmission timers").
    pub rfc_timers: bool,
    /// `AuthFailure abnormal;`: a packet failing authentication (or not decoding) is an abnormal
    /// event, as RFC 2334 B.3.1 reads. Default (`AuthFailure discard;`): discarded and counted,
    /// the session kept (docs/rfc2334-readings.md, "spoofed packets").
    pub auth_failure_abnormal: bool,
    /// `Replay on|off|require;`: replay protection of the authenticated session
    /// (docs/replay-protection.md). Default `on`: sent, and required from a DCS once it has
    /// sent it.
    pub replay: scsp_core::ReplayMode,
    /// `MaxDeadInterval <s>;`: the longest dead interval (HelloInterval × DeadFactor) taken from
    /// the DCS's Hellos. `None`: the larger of 30 s and our own `HelloInt × HelloDead`.
    pub max_dead_interval: Option<u32>,
    /// `MaxReXmitQueue <n>;`: the most CSAs on the DCS retransmit queue (solicitations past it
    /// are not answered). Default [`DEFAULT_MAX_REXMIT_QUEUE`].
    pub max_rexmit_queue: u32,
    /// Where the `DCS` keyword is.
    pub pos: Pos,
}

impl DcsConfig {
    /// A DCS with this ID and every other setting at its default.
    pub fn new(id: Host) -> DcsConfig {
        DcsConfig {
            id,
            atm_addr: None,
            address: None,
            port: DEFAULT_PORT,
            ca_rexmit_int: DEFAULT_CA_REXMIT_INT,
            csus_rexmit_int: DEFAULT_CSUS_REXMIT_INT,
            csu_rexmit_int: DEFAULT_CSU_REXMIT_INT,
            csu_rexmit_max: DEFAULT_CSU_REXMIT_MAX,
            hello_dead: DEFAULT_HELLO_DEAD,
            hello_int: DEFAULT_HELLO_INT,
            hops: DEFAULT_HOPS,
            auth: None,
            rfc_timers: false,
            auth_failure_abnormal: false,
            replay: scsp_core::ReplayMode::On,
            max_dead_interval: None,
            max_rexmit_queue: DEFAULT_MAX_REXMIT_QUEUE,
            pos: Pos::default(),
        }
    }

    /// Where the DCS receives: `Address`, or else its ID.
    pub fn effective_address(&self) -> &Host {
        self.address.as_ref().unwrap_or(&self.id)
    }

    /// `CAReXmitInt` as a duration.
    pub fn ca_rexmit_interval(&self) -> Duration {
        Duration::from_secs(self.ca_rexmit_int.into())
    }

    /// `CSUSReXmitInt` as a duration.
    pub fn csus_rexmit_interval(&self) -> Duration {
        Duration::from_secs(self.csus_rexmit_int.into())
    }

    /// `CSUReXmitInt` as a duration.
    pub fn csu_rexmit_interval(&self) -> Duration {
        Duration::from_secs(self.csu_rexmit_int.into())
    }

    /// `HelloInt` as a duration.
    pub fn hello_interval(&self) -> Duration {
        Duration::from_secs(self.hello_int.into())
    }

    /// The time after which a silent DCS is declared down: `HelloDead` × `HelloInt`.
    pub fn dead_interval(&self) -> Duration {
        Duration::from_secs(u64::from(self.hello_dead) * u64::from(self.hello_int))
    }
}

impl PartialEq for DcsConfig {
    fn eq(&self, other: &DcsConfig) -> bool {
        let DcsConfig {
            id,
            atm_addr,
            address,
            port,
            ca_rexmit_int,
            csus_rexmit_int,
            csu_rexmit_int,
            csu_rexmit_max,
            hello_dead,
            hello_int,
            hops,
            auth,
            rfc_timers,
            auth_failure_abnormal,
            replay,
            max_dead_interval,
            max_rexmit_queue,
            pos: _,
        } = self;
        *id == other.id
            && *atm_addr == other.atm_addr
            && *address == other.address
            && *port == other.port
            && *ca_rexmit_int == other.ca_rexmit_int
            && *csus_rexmit_int == other.csus_rexmit_int
            && *csu_rexmit_int == other.csu_rexmit_int
            && *csu_rexmit_max == other.csu_rexmit_max
            && *hello_dead == other.hello_dead
            && *hello_int == other.hello_int
            && *hops == other.hops
            && *auth == other.auth
            && *rfc_timers == other.rfc_timers
            && *auth_failure_abnormal == other.auth_failure_abnormal
            && *replay == other.replay
            && *max_dead_interval == other.max_dead_interval
            && *max_rexmit_queue == other.max_rexmit_queue
    }
}

/// The HMAC of the Authentication extension (RFC 2334 B.3.1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum AuthAlgorithm {
    /// `HMAC-MD5`: HMAC-MD5-128 (RFC 2104), the algorithm RFC 2334 requires; 16-byte MAC.
    HmacMd5,
    /// `HMAC-SHA-256`: 32-byte MAC.
    HmacSha256,
}

impl AuthAlgorithm {
    /// The keyword.
    pub fn name(self) -> &'static str {
        match self {
            AuthAlgorithm::HmacMd5 => "HMAC-MD5",
            AuthAlgorithm::HmacSha256 => "HMAC-SHA-256",
        }
    }

    /// The algorithm of a keyword (ignoring ASCII case).
    pub fn from_name(name: &str) -> Option<AuthAlgorithm> {
        [AuthAlgorithm::HmacMd5, AuthAlgorithm::HmacSha256]
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(name))
    }

    /// Length of the MAC, bytes (also the key length RFC 2104 recommends at least).
    pub fn mac_len(self) -> usize {
        match self {
            AuthAlgorithm::HmacMd5 => 16,
            AuthAlgorithm::HmacSha256 => 32,
        }
    }
}

impl fmt::Display for AuthAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Key bytes. `Debug` and `Serialize` show only the length, so that dumps do not leak keys.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// Wrap key bytes.
    pub fn new(bytes: Vec<u8>) -> Secret {
        Secret(bytes)
    }

    /// The key bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{}-byte secret>", self.0.len())
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("<{}-byte secret>", self.0.len()))
    }
}

/// `Auth`: manually keyed authentication with one DCS (RFC 2334 B.3.1.3).
///
/// Packets sent to the DCS carry `send_spi` (an SPI the DCS allocated) and a MAC made with
/// `algorithm` and `key`. Packets from the DCS must carry `recv_spi` (the SPI this side
/// allocated) and a MAC that verifies with the same algorithm and key; packets without the
/// Authentication extension, or with another SPI or a wrong MAC, are dropped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuthConfig {
    /// SPI written in packets sent to the DCS.
    pub send_spi: u32,
    /// SPI that packets from the DCS must carry.
    pub recv_spi: u32,
    /// The HMAC.
    pub algorithm: AuthAlgorithm,
    /// The shared key.
    pub key: Secret,
    /// `KeyFile`, as written, when the key was read from a file.
    pub key_file: Option<PathBuf>,
}
