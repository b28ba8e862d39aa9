//! # scsp-profiles
//!
//! SCSP carries an opaque client/server protocol specific part in each CSA record (RFC 2334
//! B.2.2.1). What it means, how an entry is deleted, when it expires and how duplicates are
//! resolved is defined per protocol. This crate holds those definitions:
//!
//! - [`atmarp`]: Protocol ID 1, in the layout the original HARP daemon sends and in the layouts
//!   of draft-ietf-ion-scsp-atmarp-00 (State) and -01 (Lifetime);
//! - [`nhrp`]: Protocol ID 2, RFC 2335;
//! - [`mars`]: Protocol ID 3, RFC 2443;
//! - [`generic`]: any other Protocol ID (DHCP 4, LNNI 5, private numbers): opaque data with a
//!   documented deletion convention and an optional lifetime.
//!
//! Each profile gives the core its rules (a [`scsp_core::Profile`]) and gives the daemon and
//! `scspctl` typed records: JSON for programs, columns for people, and records built from an
//! operator's arguments. [`ops_for`] picks the profile of a server.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub mod atmarp;
mod common;
pub mod generic;
pub mod mars;
pub mod nhrp;

/// Why a record could not be decoded, built or selected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ProfileError(pub String);

impl ProfileError {
    /// An error with this message.
    pub fn new(msg: impl Into<String>) -> Self {
        ProfileError(msg.into())
    }
}

/// The ATMARP record layout a server speaks (chosen in its configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AtmarpLayout {
    /// What the original HARP scspd/atmarpd send (harp-scspd.md §2): the default, for
    /// interoperability with it.
    #[default]
    Harp,
    /// draft-ietf-ion-scsp-atmarp-00: a State field.
    Draft00,
    /// draft-ietf-ion-scsp-atmarp-01: a Lifetime field in minutes, 0 = delete.
    Draft01,
}

/// Options of a server that select and tune its profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ProfileOptions {
    /// The ATMARP layout (Protocol ID 1 only).
    pub atmarp_layout: AtmarpLayout,
    /// The longest interval between two redirect updates of a MARS server, in seconds (Protocol
    /// ID 3 only; scspd's `MARSRedirectInterval`), from which the MARS timers derive
    /// ([`mars::MarsTimers::with_max_interval`]). `None`: RFC 2443 §5.1's 2 minutes
    /// ([`mars::DEFAULT_REDIRECT_INTERVAL`]), the same timers as `Some(120)`.
    #[serde(default)]
    pub mars_redirect_interval: Option<u16>,
}

/// One column of a record as `scspctl show cache` prints it for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    /// Header, upper case (e.g. "IP", "ATM ADDRESS", "STATE").
    pub name: String,
    /// Value as people write it (dotted IPv4, dotted ATM address, …).
    pub value: String,
}

/// What a profile's local rules ask the daemon to do with the cache it keeps itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum LocalAction {
    /// Originate (or refresh) this entry now.
    Originate {
        /// Cache key.
        key: Vec<u8>,
        /// Protocol specific part.
        data: Vec<u8>,
    },
    /// Withdraw this entry originated here.
    Withdraw {
        /// Cache key.
        key: Vec<u8>,
    },
}

/// The protocol's own rules for the cache scspd keeps when no local server of that protocol is
/// attached (e.g. ATMARP refresh hysteresis and duplicate bindings, MARS redirect refreshes).
/// Sans-IO like the core: time is handed in, actions come out.
pub trait LocalRules: Send {
    /// The operator or a client adds or refreshes a local entry. Returns whether it is to be
    /// advertised now (`false`: a mere refresh inside the hysteresis window, not flooded;
    /// `true` for unchanged data: a refresh, flooded under a new sequence number).
    fn on_local(&mut self, now: scsp_core::Time, key: &[u8], data: &[u8]) -> bool;
    /// A local entry is withdrawn.
    fn on_local_withdraw(&mut self, now: scsp_core::Time, key: &[u8]);
    /// A remote entry was learned or replaced (from another originator).
    fn on_remote(
        &mut self,
        now: scsp_core::Time,
        key: &[u8],
        origin: &[u8],
        data: &[u8],
    ) -> Vec<LocalAction>;
    /// A remote entry was deleted, expired or purged. (A deletion may also come through
    /// [`LocalRules::on_remote`] with its deletion record; rules accept either.)
    fn on_remote_removed(&mut self, now: scsp_core::Time, key: &[u8], origin: &[u8]) {
        let _ = (now, key, origin);
    }
    /// Notices for the operator (draft-01's "Network Management notification" of duplicate
    /// ATMARP bindings, …), to be logged; each is returned once.
    fn take_notices(&mut self) -> Vec<String> {
        Vec::new()
    }
    /// Entries learned from other servers that the rules decided to drop, without a message
    /// (e.g. everything a MARS server originated, once it missed two redirect updates: RFC 2443
    /// §5.1). The daemon hands each to `scsp_core::Server::flush`. Each is returned once.
    fn take_flush_matches(&mut self) -> Vec<Box<dyn FlushMatch>> {
        Vec::new()
    }
    /// Timers: what is due at `now`. An [`LocalAction::Originate`] may carry exactly the data
    /// held already (a refresh): it is then to be flooded under a new sequence number.
    fn poll(&mut self, now: scsp_core::Time) -> Vec<LocalAction>;
    /// When [`LocalRules::poll`] must next be called (a time already past: at once).
    fn next_deadline(&self) -> Option<scsp_core::Time>;
}

/// Which entries learned from other servers a flush drops.
pub trait FlushMatch: Send + std::fmt::Debug {
    /// Whether the entry (`key`, `origin`, `data`) is dropped.
    fn matches(&self, key: &[u8], origin: &[u8], data: &[u8]) -> bool;
}

/// What a profile does for the daemon and the operator's tool.
pub trait ProfileOps: Send + Sync {
    /// Short name: "atmarp", "nhrp", "mars" or "generic".
    fn name(&self) -> &'static str;

    /// The rules the protocol core applies: validation, deletion, lifetime.
    fn core(&self) -> Arc<dyn scsp_core::Profile>;

    /// The record as JSON, for `show cache --json`, notifications and typed clients.
    fn decode(&self, key: &[u8], data: &[u8]) -> Result<Value, ProfileError>;

    /// The record as columns for people (addresses written as people write them, not hex).
    fn columns(&self, key: &[u8], data: &[u8]) -> Result<Vec<Column>, ProfileError>;

    /// Build a record from its JSON form (as [`ProfileOps::decode`] writes it, or as
    /// [`ProfileOps::parse_add_args`] makes it): returns the cache key and the protocol specific
    /// part. `origin` is the Originator ID of the server that will originate it (some keys
    /// derive from it).
    fn build(&self, record: &Value, origin: &[u8]) -> Result<(Vec<u8>, Vec<u8>), ProfileError>;

    /// Whether the record (`key`, `data`) is one that `selector` (from
    /// [`ProfileOps::parse_del_args`]) names, e.g. an ATMARP entry by its IP address.
    fn selects(&self, selector: &Value, key: &[u8], data: &[u8]) -> bool;

    /// The JSON record for `scspctl add <server> <profile> <args…>`.
    fn parse_add_args(&self, args: &[String]) -> Result<Value, ProfileError>;

    /// The JSON selector for `scspctl del <server> <profile> <args…>`.
    fn parse_del_args(&self, args: &[String]) -> Result<Value, ProfileError>;

    /// Usage line of the `add` arguments, for help and errors.
    fn add_usage(&self) -> &'static str;

    /// Usage line of the `del` arguments.
    fn del_usage(&self) -> &'static str;

    /// The local rules for the cache scspd keeps itself, if the protocol has any. `seed` seeds
    /// whatever randomness they need (e.g. ATMARP's 10 + random(2) minutes).
    fn local_rules(&self, seed: u64) -> Option<Box<dyn LocalRules>> {
        let _ = seed;
        None
    }
}

/// The positional arguments of an `add` form, each value of its one option `--lifetime`
/// (`--lifetime V` or `--lifetime=V`) handed to `lifetime` in order; any other option is refused,
/// and a `--lifetime` without its value gives `usage`.
pub(crate) fn add_form_args<'a>(
    args: &'a [String],
    usage: impl Fn() -> ProfileError,
    mut lifetime: impl FnMut(&'a str) -> Result<(), ProfileError>,
) -> Result<Vec<&'a str>, ProfileError> {
    let mut pos = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let val = if a == "--lifetime" {
            Some(it.next().ok_or_else(&usage)?.as_str())
        } else {
            a.strip_prefix("--lifetime=")
        };
        match val {
            Some(v) => lifetime(v)?,
            None if a.starts_with("--") => {
                return Err(ProfileError::new(format!("unknown option {a}")));
            }
            None => pos.push(a.as_str()),
        }
    }
    Ok(pos)
}

/// The profile of a server speaking `protocol_id` with `options`.
pub fn ops_for(protocol_id: u16, options: &ProfileOptions) -> Arc<dyn ProfileOps> {
    match protocol_id {
        1 => Arc::new(atmarp::Atmarp::new(options.atmarp_layout)),
        2 => Arc::new(nhrp::Nhrp::new()),
        3 => Arc::new(mars::Mars::with_options(options)),
        _ => Arc::new(generic::Generic::new()),
    }
}

/// The profile named `name` ("atmarp", "nhrp", "mars", "generic"), for `scspctl` forms.
pub fn ops_by_name(name: &str, options: &ProfileOptions) -> Option<Arc<dyn ProfileOps>> {
    match name.to_ascii_lowercase().as_str() {
        "atmarp" => Some(ops_for(1, options)),
        "nhrp" => Some(ops_for(2, options)),
        "mars" => Some(ops_for(3, options)),
        "generic" => Some(ops_for(0, options)),
        _ => None,
    }
}
