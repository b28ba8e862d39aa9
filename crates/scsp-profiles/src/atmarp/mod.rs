//! ATMARP, Protocol ID 1: the protocol specific part of a CSA record is one IP ↔ ATM address
//! binding of an ATMARP server's table (RFC 2225).
//!
//! # Layouts
//!
//! A server speaks one of three layouts ([`AtmarpLayout`], chosen in its configuration); see
//! [`codec::decode`] for the field tables.
//!
//! - **Harp** (the default): what the original HARP scspd/atmarpd send (harp-scspd.md §2): 12
//!   fixed bytes (hardware type 0x0013, protocol type 0x0800, source ATM type/length, source
//!   subaddress type/length, state 0 new / 1 updated / 2 deleted, unused, source IP length,
//!   target ATM and subaddress type/length, target IP length), then the source ATM address,
//!   subaddress and IP and the target ATM address, subaddress and IP. HARP sends the cached
//!   host's binding as the source, no target ATM address and the source IP again as target IP:
//!   40 bytes for an NSAP host, 60 with the 20-byte CSAS header. Byte-compatible with it.
//! - **Draft00** (draft-ietf-ion-scsp-atmarp-00 §3): 8 fixed bytes (hardware type, protocol
//!   type, State, ATM address type/length, subaddress type/length, protocol address length),
//!   then the ATM address, subaddress and protocol address. The draft defines states 0 (new)
//!   and 1 (updated) only and no way to delete; state 2 (deleted, HARP's value) is accepted and
//!   sent for withdrawals.
//! - **Draft01** (draft-ietf-ion-scsp-atmarp-01 §3): as Draft00 with a Lifetime in minutes in
//!   place of the State; 0 deletes the entry. Records built without a lifetime get 20 minutes,
//!   the validity of an ATMARP server entry (RFC 2225 8.4; the draft gives no default).
//!
//! # Cache key
//!
//! - Harp: HARP's `scsp_cache_key`: MD5 over the IPv4 address followed by the ATM number's
//!   bytes (capped at 32 bytes in all), the digest XOR-folded to 4 bytes
//!   ([`codec::harp_cache_key`]). For 10.1.2.3 and `47.0005.80.ffdc00.0000.0002.0001.002048061de7.00`
//!   it is `86e0ca75`.
//! - Draft00/Draft01: the drafts fix the key length at 4 (§4.2) but not its contents. The key is
//!   the IPv4 address, the ATMARP table's own key ([`codec::cache_key`]).
//!
//! # Rules the core applies ([`AtmarpCore`])
//!
//! - A record that does not decode in the server's layout is malformed: acknowledged, never
//!   stored or forwarded.
//! - A deletion is state 2 (Harp, Draft00) or Lifetime 0 (Draft01); the deletion of an entry is
//!   its last record with that one byte changed.
//! - Lifetime: the Lifetime field (Draft01); 20 minutes otherwise ("ATMARP Server table entries
//!   are valid for 20 minutes from the time the entries are created/updated", draft-00 §2, RFC
//!   2225 8.4). HARP peers refresh their permanent entries every 600 s and dynamic ones as their
//!   clients re-register (at least every 15 minutes), so their entries stay.
//! - Expiry: the drafts send no record when an entry times out, since "all ATMARP servers have
//!   the cache entry timing out at the same time". The core expires an instance its lifetime
//!   after it learned it and sends nothing, which is that behaviour up to the flooding delay. An
//!   instance learned later (by a server that was cut off and aligns afterwards) lives a full
//!   lifetime from then; SCSP carries no age, so nothing closer is possible without a wire
//!   change.
//!
//! # Local rules
//!
//! Refresh hysteresis, keeping held entries alive and draft-01's duplicate procedure: see
//! [`rules`].
//!
//! # Operator forms
//!
//! `scspctl add <server> atmarp <ipv4> <atm-address> [<subaddress>] [--lifetime MIN]` (the
//! lifetime for Draft01 only) and `scspctl del <server> atmarp <ipv4>`; addresses as
//! [`addr`] describes.

pub mod addr;
pub mod codec;
pub mod rules;

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use scsp_core::profile::InvalidRecord;
use scsp_core::wire::Data;
use serde_json::{Map, Value, json};

pub use addr::{AddrError, AtmAddress, E164, Nsap};
pub use codec::{CodecError, Record, State, Target};
pub use rules::{AtmarpRules, DuplicateMode, RulesConfig};

use crate::{AtmarpLayout, Column, LocalRules, ProfileError, ProfileOps};

/// The ATMARP profile in one layout.
#[derive(Debug, Clone)]
pub struct Atmarp {
    layout: AtmarpLayout,
}

impl Atmarp {
    /// The profile for servers speaking `layout`.
    pub fn new(layout: AtmarpLayout) -> Self {
        Atmarp { layout }
    }

    /// The layout.
    pub fn layout(&self) -> AtmarpLayout {
        self.layout
    }

    /// Decode a record of this layout.
    pub fn decode_record(&self, data: &[u8]) -> Result<Record, CodecError> {
        codec::decode(self.layout, data)
    }

    /// The cache key and protocol specific part of `rec` in this layout.
    pub fn build_record(&self, rec: &Record) -> Result<(Vec<u8>, Vec<u8>), CodecError> {
        let data = codec::encode(self.layout, rec)?;
        Ok((
            codec::cache_key(self.layout, rec.ip, &rec.atm).to_vec(),
            data,
        ))
    }
}

/// The rules the core applies to ATMARP records of one layout (see the module documentation).
#[derive(Debug, Clone, Copy)]
pub struct AtmarpCore {
    layout: AtmarpLayout,
}

impl AtmarpCore {
    /// The rules for `layout`.
    pub fn new(layout: AtmarpLayout) -> Self {
        AtmarpCore { layout }
    }
}

impl scsp_core::Profile for AtmarpCore {
    fn name(&self) -> &str {
        "atmarp"
    }

    fn validate(&self, data: &[u8]) -> Result<(), InvalidRecord> {
        crate::common::validated(codec::decode(self.layout, data), "ATMARP record")
    }

    fn is_deletion(&self, data: &[u8]) -> bool {
        codec::is_deletion(self.layout, data)
    }

    fn deletion_of(&self, data: &[u8]) -> Data {
        // Only ever asked of records that were validated; a record too short to hold the field
        // is returned empty, which is_deletion also takes for a deletion.
        Data::from(codec::deletion_of(self.layout, data).unwrap_or_default())
    }

    fn lifetime(&self, data: &[u8]) -> Option<Duration> {
        codec::lifetime(self.layout, data)
    }
}

fn err(e: impl std::fmt::Display) -> ProfileError {
    ProfileError::new(e.to_string())
}

const ADD_USAGE: &str = "<ipv4> <atm-address> [<subaddress>] [--lifetime MIN]";
const DEL_USAGE: &str = "<ipv4>";

impl ProfileOps for Atmarp {
    fn name(&self) -> &'static str {
        "atmarp"
    }

    fn core(&self) -> Arc<dyn scsp_core::Profile> {
        Arc::new(AtmarpCore::new(self.layout))
    }

    fn decode(&self, key: &[u8], data: &[u8]) -> Result<Value, ProfileError> {
        let rec = self.decode_record(data).map_err(err)?;
        let mut v = serde_json::to_value(rec).map_err(err)?;
        if let Value::Object(m) = &mut v {
            m.insert("key".into(), Value::String(hex::encode(key)));
        }
        Ok(v)
    }

    fn columns(&self, _key: &[u8], data: &[u8]) -> Result<Vec<Column>, ProfileError> {
        let rec = self.decode_record(data).map_err(err)?;
        let col = |name: &str, value: String| Column {
            name: name.into(),
            value,
        };
        let mut c = vec![
            col("IP", rec.ip.to_string()),
            col("ATM ADDRESS", rec.atm.to_string()),
            col(
                "SUBADDRESS",
                rec.subaddress.map_or_else(|| "-".into(), |s| s.to_string()),
            ),
        ];
        match self.layout {
            AtmarpLayout::Draft01 => c.push(col(
                "LIFETIME",
                match rec.lifetime {
                    Some(0) => "0 (deleted)".into(),
                    Some(m) => format!("{m} min"),
                    None => "-".into(),
                },
            )),
            AtmarpLayout::Harp | AtmarpLayout::Draft00 => {
                c.push(col("STATE", rec.state.map_or("-", State::as_str).into()))
            }
        }
        Ok(c)
    }

    fn build(&self, record: &Value, _origin: &[u8]) -> Result<(Vec<u8>, Vec<u8>), ProfileError> {
        let mut m: Map<String, Value> = record
            .as_object()
            .cloned()
            .ok_or_else(|| ProfileError::new("an ATMARP record is a JSON object"))?;
        // What decode adds; the key is computed again from the binding.
        m.remove("key");
        let rec: Record = serde_json::from_value(Value::Object(m))
            .map_err(|e| ProfileError::new(format!("ATMARP record: {e}")))?;
        self.build_record(&rec).map_err(err)
    }

    fn selects(&self, selector: &Value, key: &[u8], data: &[u8]) -> bool {
        let Some(sel) = selector.as_object() else {
            return false;
        };
        if sel.is_empty() {
            return false;
        }
        if let Some(k) = sel.get("key")
            && k.as_str().and_then(|k| hex::decode(k).ok()).as_deref() != Some(key)
        {
            return false;
        }
        if let Some(ip) = sel.get("ip") {
            let Some(ip) = ip.as_str().and_then(|s| s.parse::<Ipv4Addr>().ok()) else {
                return false;
            };
            match self.decode_record(data) {
                Ok(r) if r.ip == ip => {}
                _ => return false,
            }
        }
        true
    }

    fn parse_add_args(&self, args: &[String]) -> Result<Value, ProfileError> {
        let usage = || ProfileError::new(format!("usage: add <server> atmarp {ADD_USAGE}"));
        let mut lifetime: Option<u8> = None;
        let pos = crate::add_form_args(args, usage, |v| {
            let m: u8 = v.parse().map_err(|_| {
                ProfileError::new(format!(
                    "--lifetime {v:?}: minutes from 1 to 255 (0 deletes: use del)"
                ))
            })?;
            if m == 0 {
                return Err(ProfileError::new("--lifetime 0 deletes the entry: use del"));
            }
            lifetime = Some(m);
            Ok(())
        })?;
        let (ip, atm, sub) = match pos.as_slice() {
            [ip, atm] => (ip, atm, None),
            [ip, atm, sub] => (ip, atm, Some(sub)),
            _ => return Err(usage()),
        };
        let ip: Ipv4Addr = ip
            .parse()
            .map_err(|_| ProfileError::new(format!("{ip:?} is not an IPv4 address")))?;
        let atm: AtmAddress = atm.parse().map_err(|e| err(format!("{atm:?}: {e}")))?;
        let sub: Option<Nsap> = sub
            .map(|s| s.parse().map_err(|e| err(format!("{s:?}: {e}"))))
            .transpose()?;
        if lifetime.is_some() && self.layout != AtmarpLayout::Draft01 {
            return Err(ProfileError::new(format!(
                "--lifetime: the {} layout carries no lifetime (draft-01 only)",
                codec::layout_name(self.layout)
            )));
        }
        let rec = Record {
            lifetime,
            ..Record::new(ip, atm, sub)
        };
        // Checked now rather than when the daemon builds it.
        codec::encode(self.layout, &rec).map_err(err)?;
        let mut v = serde_json::to_value(rec).map_err(err)?;
        if let Value::Object(m) = &mut v {
            m.retain(|_, x| !x.is_null());
        }
        Ok(v)
    }

    fn parse_del_args(&self, args: &[String]) -> Result<Value, ProfileError> {
        match args {
            [ip] => {
                let ip: Ipv4Addr = ip
                    .parse()
                    .map_err(|_| ProfileError::new(format!("{ip:?} is not an IPv4 address")))?;
                Ok(json!({ "ip": ip.to_string() }))
            }
            _ => Err(ProfileError::new(format!(
                "usage: del <server> atmarp {DEL_USAGE}"
            ))),
        }
    }

    fn add_usage(&self) -> &'static str {
        ADD_USAGE
    }

    fn del_usage(&self) -> &'static str {
        DEL_USAGE
    }

    fn local_rules(&self, seed: u64) -> Option<Box<dyn LocalRules>> {
        Some(Box::new(AtmarpRules::new(self.layout, seed)))
    }
}
