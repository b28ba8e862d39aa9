//! Generic records: any Protocol ID without a profile of its own (DHCP 4, LNNI 5, private
//! numbers). With it scspd is a multi-master replicator of a key → value cache for any program.
//!
//! # Record
//!
//! The protocol specific part is opaque data, byte for byte what the program gave:
//!
//! - **empty** deletes the entry (the core's opaque convention, kept as it was);
//! - **anything else** is a live entry that never expires by itself, unless it starts with the
//!   **lifetime prefix**: the 4 bytes `ff 00 4c 54` (`"\xff\0LT"`), then a 4-byte big-endian
//!   lifetime in seconds, then the payload. An entry with a non-zero lifetime expires that long
//!   after each server learned it, with no record sent (like an ATMARP draft-01 entry or a DHCP
//!   lease); the originator refreshes it by advertising it again. A lifetime of 0 means none.
//!
//! Data that starts with the prefix's 4 bytes but is shorter than 8 bytes is malformed (refused).
//! A program whose own data may start with `ff 00 4c 54` wraps it in a prefix with lifetime 0;
//! [`ProfileOps::build`] does that by itself. Everything else is passed through untouched, so a
//! plain `scspctl add <server> <key-hex> <data-hex>` stores and shows exactly the hex given.
//!
//! # JSON
//!
//! `{"key": "0a000001", "data": "68656c6c6f", "text": "hello", "lifetime": 300}`: `data` is the
//! payload (without the prefix), `text` its rendering when it is printable UTF-8 (output only;
//! `build` takes `text` in place of `data`), `lifetime` in seconds when there is one.
//!
//! # Operator forms
//!
//! `scspctl add <server> generic <key-hex> <data-hex> [--lifetime SEC]`,
//! `scspctl del <server> generic <key-hex>`. Hex may start with `0x` and use `.` or `:` between
//! groups of an even number of digits.

use std::sync::Arc;
use std::time::Duration;

use scsp_core::profile::InvalidRecord;
use scsp_core::wire::Data;
use serde_json::{Map, Value, json};

use crate::{Column, ProfileError, ProfileOps};

/// The first 4 bytes of the lifetime prefix.
pub const LIFETIME_MAGIC: [u8; 4] = [0xff, 0x00, 0x4c, 0x54];
/// Length of the lifetime prefix (magic + 4-byte seconds).
pub const PREFIX_LEN: usize = 8;
/// Hex digits of data shown in a column before it is cut.
pub const COLUMN_HEX: usize = 32;

/// A generic record: payload and optional lifetime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenericRecord {
    /// Lifetime in seconds (None: no prefix, or a prefix with 0).
    pub lifetime: Option<u32>,
    /// The payload.
    pub payload: Vec<u8>,
}

/// Why data is not a generic record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GenericError {
    /// The magic without its 4 bytes of lifetime.
    #[error("lifetime prefix cut short ({0} bytes; 8 needed)")]
    ShortPrefix(usize),
}

impl GenericRecord {
    /// Split `data` into lifetime and payload. The empty record (a deletion) has an empty
    /// payload.
    pub fn decode(data: &[u8]) -> Result<Self, GenericError> {
        if !data.starts_with(&LIFETIME_MAGIC) {
            return Ok(GenericRecord {
                lifetime: None,
                payload: data.to_vec(),
            });
        }
        let l = data
            .get(4..PREFIX_LEN)
            .ok_or(GenericError::ShortPrefix(data.len()))?;
        let secs = u32::from_be_bytes([l[0], l[1], l[2], l[3]]);
        Ok(GenericRecord {
            lifetime: (secs != 0).then_some(secs),
            payload: data[PREFIX_LEN..].to_vec(),
        })
    }

    /// The protocol specific part: the payload alone when there is no lifetime and it can not
    /// be mistaken for a prefix (and is not empty, which would be a deletion), else prefixed.
    pub fn encode(&self) -> Vec<u8> {
        let plain = self.lifetime.is_none()
            && !self.payload.is_empty()
            && !self.payload.starts_with(&LIFETIME_MAGIC);
        if plain {
            return self.payload.clone();
        }
        let mut d = Vec::with_capacity(PREFIX_LEN + self.payload.len());
        d.extend_from_slice(&LIFETIME_MAGIC);
        d.extend_from_slice(&self.lifetime.unwrap_or(0).to_be_bytes());
        d.extend_from_slice(&self.payload);
        d
    }

    /// The payload as text, when it is printable UTF-8.
    pub fn text(&self) -> Option<&str> {
        let s = std::str::from_utf8(&self.payload).ok()?;
        (!s.is_empty() && !s.chars().any(char::is_control)).then_some(s)
    }
}

/// The rules the core applies to generic records.
#[derive(Debug, Clone, Copy, Default)]
pub struct GenericCore;

impl scsp_core::Profile for GenericCore {
    fn name(&self) -> &str {
        "generic"
    }
    fn validate(&self, data: &[u8]) -> Result<(), InvalidRecord> {
        GenericRecord::decode(data)
            .map(|_| ())
            .map_err(|e| InvalidRecord(e.to_string()))
    }
    fn is_deletion(&self, data: &[u8]) -> bool {
        data.is_empty()
    }
    fn deletion_of(&self, _data: &[u8]) -> Data {
        Data::from(&[][..])
    }
    fn lifetime(&self, data: &[u8]) -> Option<Duration> {
        GenericRecord::decode(data)
            .ok()?
            .lifetime
            .map(|s| Duration::from_secs(u64::from(s)))
    }
}

/// Hex as scspctl takes it: optional `0x`, `.` or `:` between groups of an even number of
/// digits. The empty string is no bytes.
pub fn parse_hex(s: &str) -> Result<Vec<u8>, ProfileError> {
    let t = s.trim();
    let t = t
        .strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .unwrap_or(t);
    let mut out = Vec::with_capacity(t.len() / 2);
    if t.is_empty() {
        return Ok(out);
    }
    for group in t.split(['.', ':']) {
        if group.is_empty() || group.len() % 2 != 0 {
            return Err(ProfileError::new(format!(
                "{s:?}: hex groups need an even number of digits"
            )));
        }
        out.extend(hex::decode(group).map_err(|_| ProfileError::new(format!("{s:?} is not hex")))?);
    }
    Ok(out)
}

/// The generic profile.
#[derive(Debug, Clone, Default)]
pub struct Generic {}

impl Generic {
    /// The profile.
    pub fn new() -> Self {
        Generic {}
    }
}

const ADD_USAGE: &str = "<key-hex> <data-hex> [--lifetime SEC]";
const DEL_USAGE: &str = "<key-hex>";

impl ProfileOps for Generic {
    fn name(&self) -> &'static str {
        "generic"
    }

    fn core(&self) -> Arc<dyn scsp_core::Profile> {
        Arc::new(GenericCore)
    }

    fn decode(&self, key: &[u8], data: &[u8]) -> Result<Value, ProfileError> {
        let r = GenericRecord::decode(data).map_err(|e| ProfileError::new(e.to_string()))?;
        let mut m = Map::new();
        m.insert("key".into(), Value::String(hex::encode(key)));
        m.insert("data".into(), Value::String(hex::encode(&r.payload)));
        if let Some(t) = r.text() {
            m.insert("text".into(), Value::String(t.into()));
        }
        if let Some(l) = r.lifetime {
            m.insert("lifetime".into(), json!(l));
        }
        Ok(Value::Object(m))
    }

    fn columns(&self, _key: &[u8], data: &[u8]) -> Result<Vec<Column>, ProfileError> {
        let r = GenericRecord::decode(data).map_err(|e| ProfileError::new(e.to_string()))?;
        let mut h = hex::encode(&r.payload);
        if h.len() > COLUMN_HEX {
            h.truncate(COLUMN_HEX);
            h.push('…');
        }
        let text = r.text().map_or_else(
            || "-".to_string(),
            |t| {
                let mut s: String = t.chars().take(COLUMN_HEX).collect();
                if t.chars().count() > COLUMN_HEX {
                    s.push('…');
                }
                s
            },
        );
        Ok(vec![
            Column {
                name: "DATA".into(),
                value: if h.is_empty() { "-".into() } else { h },
            },
            Column {
                name: "TEXT".into(),
                value: text,
            },
            Column {
                name: "LIFETIME".into(),
                value: r.lifetime.map_or_else(|| "-".into(), |l| format!("{l} s")),
            },
        ])
    }

    fn build(&self, record: &Value, _origin: &[u8]) -> Result<(Vec<u8>, Vec<u8>), ProfileError> {
        let m = record
            .as_object()
            .ok_or_else(|| ProfileError::new("a generic record is a JSON object"))?;
        for k in m.keys() {
            if !["key", "data", "text", "lifetime"].contains(&k.as_str()) {
                return Err(ProfileError::new(format!("unknown field {k:?}")));
            }
        }
        let key = match m.get("key") {
            Some(Value::String(s)) => parse_hex(s)?,
            _ => return Err(ProfileError::new("\"key\" (hex) is required")),
        };
        if key.is_empty() {
            return Err(ProfileError::new("the key is empty"));
        }
        let payload = match (m.get("data"), m.get("text")) {
            (Some(Value::String(s)), _) => parse_hex(s)?,
            (None, Some(Value::String(t))) => t.as_bytes().to_vec(),
            _ => return Err(ProfileError::new("\"data\" (hex) or \"text\" is required")),
        };
        let lifetime = match m.get("lifetime") {
            None | Some(Value::Null) => None,
            Some(v) => {
                let l = v
                    .as_u64()
                    .and_then(|l| u32::try_from(l).ok())
                    .ok_or_else(|| ProfileError::new("\"lifetime\": seconds, 0 to 2^32-1"))?;
                (l != 0).then_some(l)
            }
        };
        if payload.is_empty() && lifetime.is_none() && m.get("lifetime").is_none() {
            return Err(ProfileError::new(
                "empty data deletes the entry: use del (or give a lifetime)",
            ));
        }
        let data = GenericRecord { lifetime, payload }.encode();
        Ok((key, data))
    }

    fn selects(&self, selector: &Value, key: &[u8], _data: &[u8]) -> bool {
        selector
            .get("key")
            .and_then(Value::as_str)
            .and_then(|s| parse_hex(s).ok())
            .is_some_and(|k| !k.is_empty() && k == key)
    }

    fn parse_add_args(&self, args: &[String]) -> Result<Value, ProfileError> {
        let usage = || ProfileError::new(format!("usage: add <server> generic {ADD_USAGE}"));
        let mut lifetime: Option<u32> = None;
        let pos = crate::add_form_args(args, usage, |v| {
            lifetime = Some(v.parse().map_err(|_| {
                ProfileError::new(format!("--lifetime {v:?}: seconds, 0 to 2^32-1"))
            })?);
            Ok(())
        })?;
        let [key, data] = pos.as_slice() else {
            return Err(usage());
        };
        let k = parse_hex(key)?;
        if k.is_empty() {
            return Err(ProfileError::new("the key is empty"));
        }
        let d = parse_hex(data)?;
        let mut v = json!({ "key": hex::encode(k), "data": hex::encode(d) });
        if let Some(l) = lifetime {
            v["lifetime"] = json!(l);
        }
        Ok(v)
    }

    fn parse_del_args(&self, args: &[String]) -> Result<Value, ProfileError> {
        let [key] = args else {
            return Err(ProfileError::new(format!(
                "usage: del <server> generic {DEL_USAGE}"
            )));
        };
        let k = parse_hex(key)?;
        if k.is_empty() {
            return Err(ProfileError::new("the key is empty"));
        }
        Ok(json!({ "key": hex::encode(k) }))
    }

    fn add_usage(&self) -> &'static str {
        ADD_USAGE
    }

    fn del_usage(&self) -> &'static str {
        DEL_USAGE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_forms() {
        assert_eq!(parse_hex("0x0a:00:00:01").unwrap(), vec![10, 0, 0, 1]);
        assert_eq!(parse_hex("0a.00.00.01").unwrap(), vec![10, 0, 0, 1]);
        assert_eq!(parse_hex("0A000001").unwrap(), vec![10, 0, 0, 1]);
        assert_eq!(parse_hex("").unwrap(), Vec::<u8>::new());
        assert!(parse_hex("0a.0").is_err());
        assert!(parse_hex("0a..00").is_err());
        assert!(parse_hex("zz").is_err());
    }

    #[test]
    fn text_rendering() {
        let r = |p: &[u8]| GenericRecord {
            lifetime: None,
            payload: p.to_vec(),
        };
        assert_eq!(r(b"hello").text(), Some("hello"));
        assert_eq!(r(b"a\nb").text(), None);
        assert_eq!(r(&[0xff]).text(), None);
        assert_eq!(r(b"").text(), None);
    }
}
