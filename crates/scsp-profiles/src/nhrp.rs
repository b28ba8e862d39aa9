//! NHRP over SCSP: Protocol ID 2, RFC 2335.
//!
//! NHRP servers (NHSs) of a LIS synchronise the registrations of their clients (NHCs). Each CSA
//! record carries the client's registration as [`Record`] lays it out (RFC 2335 §3).
//!
//! - **Cache key**: the Client Protocol Address ([`key_of`]): 4 octets for IPv4 as RFC 2335 §4.2
//!   says, 16 for IPv6.
//! - **States**: 0 registered and 1 re-registered are live; 2 purged is the deletion record
//!   (what [`scsp_core::Server::withdraw`] floods: [`NhrpCore`]'s `deletion_of` sets State 2 and,
//!   as an NHRP Purge Request's CIE does, Holding Time, MTU and Preference 0); 3 "no such client
//!   data" also says there is no entry, so it is a deletion too.
//! - **Lifetime**: the Holding Time, at every server. RFC 2335 §3: a time-out "does not cause a
//!   CSA Record to be sent because ... all NHSs have the cache entry timing out at the same time".
//! - **Sequence numbers**: a client that keeps its Request ID across restarts and re-registers
//!   with a larger one has it used as the CSA Sequence Number (RFC 2335 §2, method 2): see
//!   [`seq_for`] and `docs/profiles.md`.
//! - **Local rules** ([`NhrpRules`]): the registrations scspd holds itself are re-registered
//!   every third of their Holding Time, as their clients would.
//!
//! [`addr`] holds the address forms and the reader this profile shares with [`crate::mars`].

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::{Column, LocalRules, ProfileError, ProfileOps};

pub mod addr;
pub(crate) mod cli;
pub mod record;
pub mod rules;

pub use addr::{CodecError, NbmaAddr, ProtoAddr, Snap};
pub use record::{Record, State, key_of};
pub use rules::NhrpRules;

use cli::Opts;
use record::{FIXED_LEN, HOLDING_OFFSET, STATE_OFFSET};
use scsp_core::wire::Data;

/// Holding Time of an entry `scspctl add` makes when `--holding` is not given: 7200 seconds, the
/// usual default of NHRP implementations.
pub const DEFAULT_HOLDING: u16 = 7200;

const ADD_USAGE: &str = "<protocol-addr>[/prefix] <nbma-addr> [--subaddr NBMA] [--holding SECS] \
     [--mtu N] [--preference N] [--request-id N] [--unique] [--atmarp] [--reregistered] \
     [--afn N] [--protocol-type N]";
const DEL_USAGE: &str = "<protocol-addr>[/prefix]";

/// The CSA Sequence Number a registration is to be originated with, if any: the client's Request
/// ID (RFC 2335 §2, method 2: "the NHS ... uses ... the Request ID from the NHC as the CSA
/// Sequence Number"), for a live record whose Request ID is a usable number.
///
/// SCSP compares sequence numbers as signed 32-bit values (RFC 2334 B.2.0.2), NHRP Request IDs
/// count up from 0 (RFC 2332 §5.2.0.1 recommends starting there). Request IDs 0 to 0x7ffffffe
/// are therefore used as they are, larger ones would compare as older than all of those and
/// give `None`: the daemon then numbers the entry itself ([`scsp_core::Server::originate`]).
pub fn seq_for(record: &Record) -> Option<u32> {
    if record.state.is_deletion() || record.request_id > scsp_core::seq::SEQ_LAST {
        return None;
    }
    Some(record.request_id)
}

/// [`seq_for`] of a record still encoded: `None` if `data` is not a valid NHRP record.
pub fn seq_for_data(data: &[u8]) -> Option<u32> {
    Record::decode(data).ok().as_ref().and_then(seq_for)
}

/// The rules the SCSP core applies to NHRP records.
#[derive(Debug, Clone, Copy, Default)]
pub struct NhrpCore;

fn state_octet(data: &[u8]) -> Option<u8> {
    crate::common::octet_of_fixed(data, FIXED_LEN, STATE_OFFSET)
}

impl scsp_core::Profile for NhrpCore {
    fn name(&self) -> &str {
        "nhrp"
    }

    fn validate(&self, data: &[u8]) -> Result<(), scsp_core::profile::InvalidRecord> {
        crate::common::validated(Record::decode(data), "NHRP record")
    }

    /// States 2 (purged) and 3 (no such client).
    fn is_deletion(&self, data: &[u8]) -> bool {
        matches!(state_octet(data), Some(2 | 3))
    }

    /// The record with State 2 (purged), and Holding Time, MTU and Preference 0 as in the CIE of
    /// an NHRP Purge Request (RFC 2332 §5.2.5); the addresses and Request ID stay.
    fn deletion_of(&self, data: &[u8]) -> Data {
        if let Ok(mut r) = Record::decode(data) {
            r.state = State::Purged;
            r.holding_time = 0;
            r.mtu = 0;
            r.preference = 0;
            if let Ok(b) = r.encode() {
                return Data::from(b);
            }
        }
        // Not a record this profile accepts (the core only asks this of validated records):
        // the same octets marked purged, or a bare purged fixed part.
        let mut b = if data.len() >= FIXED_LEN {
            data.to_vec()
        } else {
            let mut b = vec![0; FIXED_LEN];
            b[9] = record::VERSION;
            b
        };
        b[STATE_OFFSET] = State::Purged.code();
        Data::from(b)
    }

    /// The Holding Time of a live record (States 0 and 1).
    fn lifetime(&self, data: &[u8]) -> Option<Duration> {
        match state_octet(data) {
            Some(0 | 1) => {
                let h = u16::from_be_bytes([data[HOLDING_OFFSET], data[HOLDING_OFFSET + 1]]);
                Some(Duration::from_secs(u64::from(h)))
            }
            _ => None,
        }
    }
}

/// The NHRP profile.
#[derive(Debug, Clone)]
pub struct Nhrp {}

impl Nhrp {
    /// The profile.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        Nhrp {}
    }
}

fn decode_err(e: CodecError) -> ProfileError {
    ProfileError::new(format!("NHRP record: {e}"))
}

/// Take an optional `"key"` (hex) out of a JSON record.
pub(crate) fn take_key(record: &Value) -> Result<(Value, Option<Vec<u8>>), ProfileError> {
    let mut v = record.clone();
    let key = match v.as_object_mut().and_then(|o| o.remove("key")) {
        None => None,
        Some(Value::String(h)) => {
            Some(hex::decode(&h).map_err(|_| ProfileError::new(format!("key {h:?} is not hex")))?)
        }
        Some(other) => return Err(ProfileError::new(format!("key {other} is not hex"))),
    };
    if let Some(k) = &key
        && (k.is_empty() || k.len() > 255)
    {
        return Err(ProfileError::new("a cache key is 1 to 255 octets"));
    }
    Ok((v, key))
}

/// A JSON record with the cache key added.
pub(crate) fn with_key(mut v: Value, key: &[u8]) -> Value {
    if let Some(o) = v.as_object_mut() {
        o.insert("key".into(), Value::String(hex::encode(key)));
    }
    v
}

/// `ADDR[/PREFIX]`.
fn parse_addr_prefix(s: &str) -> Result<(ProtoAddr, Option<u8>), ProfileError> {
    let (a, p) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    let addr = ProtoAddr::parse(a).map_err(ProfileError::new)?;
    if addr.is_null() {
        return Err(ProfileError::new("the protocol address is empty"));
    }
    let prefix = match p {
        None => None,
        Some(p) => {
            let n: u8 = cli::num(p).map_err(|e| ProfileError::new(format!("prefix: {e}")))?;
            if usize::from(n) > addr.bits() {
                return Err(ProfileError::new(format!(
                    "prefix /{n} is longer than the {}-bit address",
                    addr.bits()
                )));
            }
            Some(n)
        }
    };
    Ok((addr, prefix))
}

impl ProfileOps for Nhrp {
    fn name(&self) -> &'static str {
        "nhrp"
    }

    fn core(&self) -> Arc<dyn scsp_core::Profile> {
        Arc::new(NhrpCore)
    }

    fn decode(&self, key: &[u8], data: &[u8]) -> Result<Value, ProfileError> {
        let r = Record::decode(data).map_err(decode_err)?;
        let v = serde_json::to_value(&r).map_err(|e| ProfileError::new(e.to_string()))?;
        Ok(with_key(v, key))
    }

    fn columns(&self, _key: &[u8], data: &[u8]) -> Result<Vec<Column>, ProfileError> {
        let r = Record::decode(data).map_err(decode_err)?;
        let mut nbma = r.nbma_address.to_string();
        if !r.nbma_subaddress.is_null() {
            nbma = format!("{nbma} sub={}", r.nbma_subaddress);
        }
        let mut flags = String::new();
        if r.unique {
            flags.push('U');
        }
        if r.atmarp {
            flags.push('A');
        }
        if flags.is_empty() {
            flags.push('-');
        }
        let col = |name: &str, value: String| Column {
            name: name.into(),
            value,
        };
        Ok(vec![
            col("PROTOCOL ADDRESS", r.protocol_address.to_string()),
            col("PREFIX", r.prefix_length.to_string()),
            col("NBMA ADDRESS", nbma),
            col("STATE", r.state.name().into()),
            col("HOLDING", format!("{}s", r.holding_time)),
            col("MTU", r.mtu.to_string()),
            col("PREF", r.preference.to_string()),
            col("REQUEST ID", r.request_id.to_string()),
            col("FLAGS", flags),
        ])
    }

    fn build(&self, record: &Value, _origin: &[u8]) -> Result<(Vec<u8>, Vec<u8>), ProfileError> {
        let (v, key) = take_key(record)?;
        let r: Record = serde_json::from_value(v)
            .map_err(|e| ProfileError::new(format!("NHRP record: {e}")))?;
        let data = r.encode().map_err(decode_err)?;
        let key = match key {
            Some(k) => k,
            None => r.key().map_err(ProfileError::new)?,
        };
        Ok((key, data))
    }

    /// `{"protocol_address": ADDR}` selects the client with that address;
    /// `{"protocol_address": ADDR, "prefix_length": N}` every client whose address agrees with
    /// ADDR in its first N bits.
    fn selects(&self, selector: &Value, key: &[u8], data: &[u8]) -> bool {
        let Some(want) = selector
            .get("protocol_address")
            .and_then(Value::as_str)
            .and_then(|s| ProtoAddr::parse(s).ok())
        else {
            return false;
        };
        let prefix = selector.get("prefix_length").and_then(Value::as_u64);
        let have = match Record::decode(data) {
            Ok(r) => r.protocol_address,
            // Not a record of ours: its key is all we know.
            Err(_) => ProtoAddr(key.to_vec()),
        };
        match prefix {
            None => have == want,
            Some(p) => usize::try_from(p).is_ok_and(|p| want.matches_prefix(&have, p)),
        }
    }

    fn parse_add_args(&self, args: &[String]) -> Result<Value, ProfileError> {
        let o = Opts::parse(
            args,
            &[
                "subaddr",
                "holding",
                "mtu",
                "preference",
                "request-id",
                "afn",
                "protocol-type",
            ],
            &["unique", "atmarp", "reregistered"],
            ADD_USAGE,
        )?;
        let [proto, nbma] = o.positional.as_slice() else {
            return Err(ProfileError::new(format!("usage: nhrp {ADD_USAGE}")));
        };
        let (protocol_address, prefix) = parse_addr_prefix(proto)?;
        let unique = o.switch("unique");
        if unique && prefix.is_some() {
            return Err(ProfileError::new(
                "--unique registers the address alone (prefix 255, RFC 2332 §5.2.3): no /prefix",
            ));
        }
        let nbma_address = NbmaAddr::parse(nbma).map_err(ProfileError::new)?;
        if nbma_address.is_null() {
            return Err(ProfileError::new("the NBMA address is empty"));
        }
        let nbma_subaddress = match o.value("subaddr") {
            Some(s) => NbmaAddr::parse(s).map_err(ProfileError::new)?,
            None => NbmaAddr::null(),
        };
        let afn = match o.num::<u16>("afn")? {
            Some(a) => a,
            None if nbma_address.e164 || !nbma_subaddress.is_null() => record::AFN_ATM,
            None => match nbma_address.octets.len() {
                4 => record::AFN_IPV4,
                16 => record::AFN_IPV6,
                _ => record::AFN_ATM,
            },
        };
        let protocol_type = match o.num::<u16>("protocol-type")? {
            Some(p) => p,
            None => match protocol_address.0.len() {
                4 => record::PROTO_IPV4,
                16 => record::PROTO_IPV6,
                n => {
                    return Err(ProfileError::new(format!(
                        "a {n}-octet protocol address needs --protocol-type"
                    )));
                }
            },
        };
        let r = Record {
            afn,
            protocol_type,
            snap: Snap::default(),
            version: record::VERSION,
            unique,
            atmarp: o.switch("atmarp"),
            unused_flags: 0,
            request_id: o.num("request-id")?.unwrap_or(0),
            state: if o.switch("reregistered") {
                State::Reregistered
            } else {
                State::Registered
            },
            prefix_length: prefix.unwrap_or(0xff),
            unused: 0,
            mtu: o.num("mtu")?.unwrap_or(0),
            holding_time: o.num("holding")?.unwrap_or(DEFAULT_HOLDING),
            nbma_address,
            nbma_subaddress,
            protocol_address,
            preference: o.num("preference")?.unwrap_or(0),
        };
        r.encode().map_err(decode_err)?;
        serde_json::to_value(&r).map_err(|e| ProfileError::new(e.to_string()))
    }

    fn parse_del_args(&self, args: &[String]) -> Result<Value, ProfileError> {
        let [a] = args else {
            return Err(ProfileError::new(format!("usage: nhrp {DEL_USAGE}")));
        };
        let (addr, prefix) = parse_addr_prefix(a)?;
        let mut sel = serde_json::json!({ "protocol_address": addr.to_string() });
        if let Some(p) = prefix {
            sel["prefix_length"] = p.into();
        }
        Ok(sel)
    }

    fn add_usage(&self) -> &'static str {
        ADD_USAGE
    }

    fn del_usage(&self) -> &'static str {
        DEL_USAGE
    }

    fn local_rules(&self, _seed: u64) -> Option<Box<dyn LocalRules>> {
        Some(Box::new(NhrpRules::new()))
    }
}
