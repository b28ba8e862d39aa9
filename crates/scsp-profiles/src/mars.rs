//! MARS over SCSP: Protocol ID 3, RFC 2443.
//!
//! The MARS servers of a LIS synchronise their clients' registrations and group memberships, the
//! group ranges their MCSs serve, and a heartbeat of each server (the Server Redirect Entry). Each
//! CSA record carries one of those as [`Record`] lays it out (RFC 2443 §3).
//!
//! - **Cache key**: `kind ‖ CMI ‖ group range` ([`key_of`]): exact, so that a leave supersedes
//!   the join it undoes; longer than RFC 2443 §4.2's 4 octets, which cannot hold it.
//! - **States**: 1 redirect, 2 serve and 3 join are live; 4 leave and 5 unserve are the deletion
//!   records of a join and a serve ([`MarsCore`]'s `deletion_of` turns 3 into 4 and 2 into 5). Any
//!   other State is refused ([`MarsCore`]'s `validate`), as §3 says to discard it.
//! - **Lifetime**: a redirect entry lives [`MarsTimers::dead_after`] (250 s by default) unless a
//!   new instance replaces it; memberships live until left or flushed.
//! - **Local rules** ([`MarsRules`]): this server's redirect entry advertised every minute,
//!   other servers given up after two missed updates, deregistrations cascading.
//! - **Timers**: derived from the longest interval between two redirect updates, 2 minutes
//!   unless [`crate::ProfileOptions::mars_redirect_interval`] says otherwise
//!   ([`Mars::with_options`], [`MarsTimers::with_max_interval`]).

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::nhrp::addr::CodecError;
use crate::nhrp::cli::{self, Opts};
use crate::nhrp::{NbmaAddr, ProtoAddr, take_key, with_key};
use crate::{Column, LocalRules, ProfileError, ProfileOps, ProfileOptions};

pub mod record;
pub mod rules;

pub use record::{Kind, Record, State, key_of};
pub use rules::{Flush, MarsRules, MarsTimers};

use record::{FIXED_LEN, STATE_OFFSET};
use scsp_core::wire::Data;

/// The longest interval between two redirect updates of a server, in seconds, unless configured
/// otherwise (RFC 2443 §5.1: "at least every 2 minutes").
pub const DEFAULT_REDIRECT_INTERVAL: u16 = 120;

/// The State octet of a withdrawn redirect entry. RFC 2443 has no record that withdraws a
/// redirect entry (a server that stops is noticed by its missing updates); when the core must
/// withdraw one anyway (the local server no longer holds it), it floods the entry with State 0,
/// which other servers discard (§3) and this server keeps as the deleted instance.
pub const STATE_WITHDRAWN: u8 = 0;

const ADD_USAGE: &str = "redirect <atm-addr> | register <cmi> <atm-addr> | \
     deregister <cmi> <atm-addr> | join <group>[-<group-max>] <cmi> <atm-addr> | \
     leave <group>[-<group-max>] <cmi> <atm-addr> | mcs-register <cmi> <atm-addr> | \
     mcs-deregister <cmi> <atm-addr> | serve <group>[-<group-max>] <cmi> <atm-addr> | \
     unserve <group>[-<group-max>] <cmi> <atm-addr> \
     [--source <protocol-addr>] [--subaddr <atm-subaddr>] [--layer3grp] [--sequence N]";
const DEL_USAGE: &str = "redirect | client <cmi> [<group>[-<group-max>]] | \
     mcs <cmi> [<group>[-<group-max>]]";

/// The rules the SCSP core applies to MARS records.
#[derive(Debug, Clone, Copy)]
pub struct MarsCore {
    /// Lifetime of a redirect entry.
    pub redirect_lifetime: Duration,
}

impl MarsCore {
    /// The rules with a redirect entry living as long as `timers` give a server.
    pub fn new(timers: &MarsTimers) -> Self {
        MarsCore {
            redirect_lifetime: timers.dead_after(),
        }
    }
}

impl Default for MarsCore {
    fn default() -> Self {
        MarsCore::new(&MarsTimers::default())
    }
}

fn state_octet(data: &[u8]) -> Option<u8> {
    crate::common::octet_of_fixed(data, FIXED_LEN, STATE_OFFSET)
}

impl scsp_core::Profile for MarsCore {
    fn name(&self) -> &str {
        "mars"
    }

    fn validate(&self, data: &[u8]) -> Result<(), scsp_core::profile::InvalidRecord> {
        crate::common::validated(Record::decode(data), "MARS record")
    }

    /// States 4 (leave) and 5 (unserve), and the withdrawn redirect entry (State 0).
    fn is_deletion(&self, data: &[u8]) -> bool {
        matches!(state_octet(data), Some(4 | 5 | STATE_WITHDRAWN))
    }

    /// Join (3) becomes leave (4), serve (2) unserve (5), the rest of the record unchanged (the
    /// leave names the client and range it undoes, §5.4, §5.5); a redirect entry becomes State 0
    /// ([`STATE_WITHDRAWN`]).
    fn deletion_of(&self, data: &[u8]) -> Data {
        let mut b = if data.len() >= FIXED_LEN {
            data.to_vec()
        } else {
            let mut b = vec![0; FIXED_LEN];
            b[1] = record::HARDWARE_ATM as u8;
            b
        };
        b[STATE_OFFSET] = match b[STATE_OFFSET] {
            2 | 5 => 5,
            3 | 4 => 4,
            _ => STATE_WITHDRAWN,
        };
        Data::from(b)
    }

    fn lifetime(&self, data: &[u8]) -> Option<Duration> {
        (state_octet(data) == Some(1)).then_some(self.redirect_lifetime)
    }
}

/// The MARS profile.
#[derive(Debug, Clone)]
pub struct Mars {
    timers: MarsTimers,
}

impl Mars {
    /// The profile, with the default timers.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        Mars {
            timers: MarsTimers::default(),
        }
    }

    /// The profile with other timers (tests, simulations).
    pub fn with_timers(timers: MarsTimers) -> Self {
        Mars { timers }
    }

    /// The profile a server's options ask for: the timers derive from
    /// [`ProfileOptions::mars_redirect_interval`] ([`MarsTimers::with_max_interval`]); without
    /// it, the default timers.
    pub fn with_options(options: &ProfileOptions) -> Self {
        Mars::with_timers(
            options
                .mars_redirect_interval
                .map_or_else(MarsTimers::default, |s| {
                    MarsTimers::with_max_interval(Duration::from_secs(s.into()))
                }),
        )
    }

    /// The timers.
    pub fn timers(&self) -> &MarsTimers {
        &self.timers
    }

    /// The local rules as their own type, for a caller that takes the flush decisions
    /// ([`MarsRules::take_flushes`]).
    pub fn rules(&self) -> MarsRules {
        MarsRules::new(self.timers)
    }
}

fn decode_err(e: CodecError) -> ProfileError {
    ProfileError::new(format!("MARS record: {e}"))
}

/// `GROUP[-GROUP]`.
fn parse_range(s: &str) -> Result<(ProtoAddr, ProtoAddr), ProfileError> {
    let (a, b) = s.split_once('-').unwrap_or((s, s));
    let min = ProtoAddr::parse(a).map_err(ProfileError::new)?;
    let max = ProtoAddr::parse(b).map_err(ProfileError::new)?;
    if min.is_null() || min.0.len() != max.0.len() {
        return Err(ProfileError::new(format!(
            "{s:?}: a group range is two addresses of one family"
        )));
    }
    if min > max {
        return Err(ProfileError::new(format!(
            "{s:?}: the range is upside down"
        )));
    }
    Ok((min, max))
}

fn parse_cmi(s: &str) -> Result<u16, ProfileError> {
    cli::num(s).map_err(|e| ProfileError::new(format!("cmi: {e}")))
}

fn protocol_type_of(r: &Record) -> u16 {
    let len = r.group_min.0.len().max(r.source_protocol_address.0.len());
    if len == 16 {
        record::PROTO_IPV6
    } else {
        record::PROTO_IPV4
    }
}

impl ProfileOps for Mars {
    fn name(&self) -> &'static str {
        "mars"
    }

    fn core(&self) -> Arc<dyn scsp_core::Profile> {
        Arc::new(MarsCore::new(&self.timers))
    }

    fn decode(&self, key: &[u8], data: &[u8]) -> Result<Value, ProfileError> {
        let r = Record::decode(data).map_err(decode_err)?;
        let v = serde_json::to_value(&r).map_err(|e| ProfileError::new(e.to_string()))?;
        Ok(with_key(v, key))
    }

    fn columns(&self, _key: &[u8], data: &[u8]) -> Result<Vec<Column>, ProfileError> {
        let r = Record::decode(data).map_err(decode_err)?;
        let mut flags = Vec::new();
        if r.register {
            flags.push("register");
        }
        if r.layer3grp {
            flags.push("layer3grp");
        }
        let or_dash = |s: String| if s.is_empty() { "-".to_string() } else { s };
        let mut atm = r.source_atm_address.to_string();
        if !r.source_atm_subaddress.is_null() {
            atm = format!("{atm} sub={}", r.source_atm_subaddress);
        }
        let groups = if !r.has_groups() {
            String::new()
        } else if r.group_min == r.group_max {
            r.group_min.to_string()
        } else {
            format!("{}-{}", r.group_min, r.group_max)
        };
        let col = |name: &str, value: String| Column {
            name: name.into(),
            value,
        };
        Ok(vec![
            col("STATE", r.state.name().into()),
            col("FLAGS", or_dash(flags.join(","))),
            col("CMI", r.cmi.to_string()),
            col("SOURCE", or_dash(r.source_protocol_address.to_string())),
            col("ATM ADDRESS", or_dash(atm)),
            col("GROUPS", or_dash(groups)),
        ])
    }

    fn build(&self, record: &Value, _origin: &[u8]) -> Result<(Vec<u8>, Vec<u8>), ProfileError> {
        let (v, key) = take_key(record)?;
        let r: Record = serde_json::from_value(v)
            .map_err(|e| ProfileError::new(format!("MARS record: {e}")))?;
        let data = r.encode().map_err(decode_err)?;
        Ok((key.unwrap_or_else(|| r.key()), data))
    }

    /// `{"kind": "server"}` selects redirect entries; `{"kind": "client"|"mcs", "cmi": N}` every
    /// entry of that client or MCS (its registration and its groups); with `"group_min"` and
    /// `"group_max"`, only the entry of that range.
    fn selects(&self, selector: &Value, _key: &[u8], data: &[u8]) -> bool {
        let Ok(r) = Record::decode(data) else {
            return false;
        };
        let Some(kind) = selector
            .get("kind")
            .and_then(|k| serde_json::from_value::<Kind>(k.clone()).ok())
        else {
            return false;
        };
        if r.state.kind() != kind {
            return false;
        }
        if kind == Kind::Server {
            return true;
        }
        if selector.get("cmi").and_then(Value::as_u64) != Some(u64::from(r.cmi)) {
            return false;
        }
        let addr = |name: &str| {
            selector
                .get(name)
                .and_then(Value::as_str)
                .map(ProtoAddr::parse)
        };
        match (addr("group_min"), addr("group_max")) {
            (None, None) => true,
            (Some(Ok(min)), Some(Ok(max))) => r.group_min == min && r.group_max == max,
            _ => false,
        }
    }

    fn parse_add_args(&self, args: &[String]) -> Result<Value, ProfileError> {
        let o = Opts::parse(
            args,
            &["source", "subaddr", "sequence"],
            &["layer3grp"],
            ADD_USAGE,
        )?;
        let usage = || ProfileError::new(format!("usage: mars {ADD_USAGE}"));
        let p = o.positional.as_slice();
        let (verb, rest) = p.split_first().ok_or_else(usage)?;
        let (state, register) = match verb.as_str() {
            "redirect" => (State::ServerRedirect, false),
            "register" => (State::ClientJoin, true),
            "deregister" => (State::ClientLeave, true),
            "join" => (State::ClientJoin, false),
            "leave" => (State::ClientLeave, false),
            "mcs-register" => (State::McsServe, true),
            "mcs-deregister" => (State::McsUnserve, true),
            "serve" => (State::McsServe, false),
            "unserve" => (State::McsUnserve, false),
            _ => return Err(usage()),
        };
        let mut r = Record::new(state);
        r.register = register;
        let atm = match (state, register, rest) {
            (State::ServerRedirect, _, [atm]) => atm,
            (_, true, [cmi, atm]) => {
                r.cmi = parse_cmi(cmi)?;
                atm
            }
            (State::ServerRedirect, ..) | (_, true, _) => return Err(usage()),
            (_, false, [range, cmi, atm]) => {
                (r.group_min, r.group_max) = parse_range(range)?;
                r.cmi = parse_cmi(cmi)?;
                atm
            }
            _ => return Err(usage()),
        };
        r.source_atm_address = NbmaAddr::parse(atm).map_err(ProfileError::new)?;
        if let Some(s) = o.value("subaddr") {
            r.source_atm_subaddress = NbmaAddr::parse(s).map_err(ProfileError::new)?;
        }
        if let Some(s) = o.value("source") {
            r.source_protocol_address = ProtoAddr::parse(s).map_err(ProfileError::new)?;
        }
        r.layer3grp = o.switch("layer3grp");
        r.sequence = o.num("sequence")?.unwrap_or(0);
        r.protocol_type = protocol_type_of(&r);
        r.check().map_err(ProfileError::new)?;
        r.encode().map_err(decode_err)?;
        serde_json::to_value(&r).map_err(|e| ProfileError::new(e.to_string()))
    }

    fn parse_del_args(&self, args: &[String]) -> Result<Value, ProfileError> {
        let usage = || ProfileError::new(format!("usage: mars {DEL_USAGE}"));
        let (kind, rest) = match args.split_first() {
            Some((v, rest)) if v == "redirect" && rest.is_empty() => {
                return Ok(serde_json::json!({ "kind": Kind::Server }));
            }
            Some((v, rest)) if v == "client" => (Kind::Client, rest),
            Some((v, rest)) if v == "mcs" => (Kind::Mcs, rest),
            _ => return Err(usage()),
        };
        match rest {
            [cmi] => Ok(serde_json::json!({ "kind": kind, "cmi": parse_cmi(cmi)? })),
            [cmi, range] => {
                let (min, max) = parse_range(range)?;
                Ok(serde_json::json!({
                    "kind": kind,
                    "cmi": parse_cmi(cmi)?,
                    "group_min": min.to_string(),
                    "group_max": max.to_string(),
                }))
            }
            _ => Err(usage()),
        }
    }

    fn add_usage(&self) -> &'static str {
        ADD_USAGE
    }

    fn del_usage(&self) -> &'static str {
        DEL_USAGE
    }

    fn local_rules(&self, _seed: u64) -> Option<Box<dyn LocalRules>> {
        Some(Box::new(self.rules()))
    }
}
