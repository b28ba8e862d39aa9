//! The ATMARP protocol specific part in its three layouts, and the cache key.
//!
//! Decoding is bounds-checked and never panics; a record refused here is malformed (the core
//! acknowledges it but neither stores nor forwards it).

use std::net::Ipv4Addr;
use std::time::Duration;

use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};

use super::addr::{AtmAddress, E164, E164_MAX, NSAP_LEN, Nsap, TL_E164, TL_LEN, TL_RESERVED};
use crate::AtmarpLayout;

/// ATM Forum address family (RFC 2225 ar$hrd).
pub const HARDWARE_TYPE: u16 = 0x0013;
/// IPv4 (RFC 2225 ar$pro).
pub const PROTOCOL_TYPE: u16 = 0x0800;
/// Length of an IPv4 address.
pub const IPV4_LEN: u8 = 4;

/// Length of the fixed part of a HARP record.
pub const HARP_FIXED: usize = 12;
/// Length of the fixed part of a draft-00/-01 record.
pub const DRAFT_FIXED: usize = 8;

/// How long an ATMARP server entry is valid without a refresh: 20 minutes (RFC 2225 8.4;
/// draft-ietf-ion-scsp-atmarp-00 §2). The lifetime of Harp and Draft00 records, and the Lifetime
/// Draft01 records are given when none is asked for.
pub const ENTRY_LIFETIME: Duration = Duration::from_secs(20 * 60);
/// [`ENTRY_LIFETIME`] in minutes, the default Lifetime field of a Draft01 record.
pub const DEFAULT_LIFETIME_MIN: u8 = 20;

/// Offset of the State field in a Harp record.
pub const HARP_STATE_AT: usize = 6;
/// Offset of the State (Draft00) or Lifetime (Draft01) field.
pub const DRAFT_STATUS_AT: usize = 4;

/// The State field (Harp layout; draft-00 defines 0 and 1, 2 is HARP's deletion).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// 0: new client available.
    New,
    /// 1: client entry has been updated.
    Updated,
    /// 2: entry deleted (HARP's `SCSP_ASTATE_DEL`).
    Deleted,
}

impl State {
    /// The wire value.
    pub fn code(self) -> u8 {
        match self {
            State::New => 0,
            State::Updated => 1,
            State::Deleted => 2,
        }
    }

    /// The state of wire value `c`.
    pub fn from_code(c: u8) -> Option<State> {
        match c {
            0 => Some(State::New),
            1 => Some(State::Updated),
            2 => Some(State::Deleted),
            _ => None,
        }
    }

    /// Lower-case name, as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            State::New => "new",
            State::Updated => "updated",
            State::Deleted => "deleted",
        }
    }
}

/// The target fields of a Harp record, when they are not what HARP sends (no target ATM address
/// or subaddress, target IP = source IP).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// Target protocol address (absent: length 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<Ipv4Addr>,
    /// Target ATM number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub atm: Option<AtmAddress>,
    /// Target ATM subaddress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subaddress: Option<Nsap>,
}

/// One ATMARP binding as a CSA record carries it.
///
/// JSON: `{"ip": "10.1.2.3", "atm": "47.0005.80.ffdc00.0000.0002.0001.002048061de7.00",
/// "subaddress": "…", "state": "new"}` (Harp, Draft00) or `… "lifetime": 20}` (Draft01, minutes);
/// `subaddress` and `target` only when present.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    /// The IPv4 address of the binding (source protocol address).
    pub ip: Ipv4Addr,
    /// The ATM number of the binding (source ATM number).
    pub atm: AtmAddress,
    /// The ATM subaddress (source ATM subaddress), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subaddress: Option<Nsap>,
    /// State (Harp, Draft00). Encoding takes `new` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<State>,
    /// Lifetime in minutes, 0 = deleted (Draft01). Encoding takes
    /// [`DEFAULT_LIFETIME_MIN`] when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifetime: Option<u8>,
    /// Harp only: target fields that differ from what HARP sends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Target>,
}

impl Record {
    /// A binding with no state, lifetime or target: the layout's defaults apply when encoded.
    pub fn new(ip: Ipv4Addr, atm: AtmAddress, subaddress: Option<Nsap>) -> Self {
        Record {
            ip,
            atm,
            subaddress,
            state: None,
            lifetime: None,
            target: None,
        }
    }

    /// True when the record deletes the entry (state deleted, or lifetime 0).
    pub fn is_deletion(&self) -> bool {
        self.state == Some(State::Deleted) || self.lifetime == Some(0)
    }

    /// The binding proper: IP, ATM number and subaddress.
    pub fn binding(&self) -> (Ipv4Addr, AtmAddress, Option<Nsap>) {
        (self.ip, self.atm, self.subaddress)
    }
}

/// A field of the record, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// Source ATM number.
    SourceAtm,
    /// Source ATM subaddress.
    SourceSubaddress,
    /// Source protocol address.
    SourceIp,
    /// Target ATM number.
    TargetAtm,
    /// Target ATM subaddress.
    TargetSubaddress,
    /// Target protocol address.
    TargetIp,
}

impl std::fmt::Display for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Field::SourceAtm => "ATM address",
            Field::SourceSubaddress => "ATM subaddress",
            Field::SourceIp => "protocol address",
            Field::TargetAtm => "target ATM address",
            Field::TargetSubaddress => "target ATM subaddress",
            Field::TargetIp => "target protocol address",
        })
    }
}

/// Why bytes are not an ATMARP record, or a record cannot be encoded in a layout.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// Shorter than its fixed part or than its lengths say.
    #[error("record truncated: {need} bytes needed, {have} present")]
    Truncated {
        /// Bytes the fields need.
        need: usize,
        /// Bytes present.
        have: usize,
    },
    /// Bytes after the last field.
    #[error("{0} bytes after the last field")]
    Trailing(usize),
    /// Hardware type other than 0x0013.
    #[error("hardware type {0:#06x}, not 0x0013 (ATM Forum)")]
    HardwareType(u16),
    /// Protocol type other than 0x0800.
    #[error("protocol type {0:#06x}, not 0x0800 (IPv4)")]
    ProtocolType(u16),
    /// A State value not defined for the layout.
    #[error("unknown state {0}")]
    State(u8),
    /// The reserved bit of a type/length byte is set.
    #[error("reserved bit set in the type/length of the {0}")]
    Reserved(Field),
    /// An NSAP whose length is not 20.
    #[error("{field} is an NSAP of {len} bytes (20 required)")]
    NsapLength {
        /// Which field.
        field: Field,
        /// Its length.
        len: u8,
    },
    /// An E.164 number longer than 15 bytes.
    #[error("{field} is an E.164 number of {len} bytes (15 at most)")]
    E164Length {
        /// Which field.
        field: Field,
        /// Its length.
        len: u8,
    },
    /// A subaddress that is E.164.
    #[error("{0} is E.164 (a subaddress must be an NSAP)")]
    SubaddressType(Field),
    /// A protocol address length other than 0 or 4 (4 for the source).
    #[error("{field} of {len} bytes (IPv4: 4)")]
    IpLength {
        /// Which field.
        field: Field,
        /// Its length.
        len: u8,
    },
    /// No ATM address: the record binds nothing.
    #[error("no ATM address")]
    NoAtmAddress,
    /// A field the layout does not have.
    #[error("the {layout} layout has no {field}")]
    NotInLayout {
        /// The layout.
        layout: &'static str,
        /// The field given.
        field: &'static str,
    },
}

/// Name of a layout as `ATMARPFormat` writes it (`harp`, `draft-00`, `draft-01`).
pub fn layout_name(layout: AtmarpLayout) -> &'static str {
    match layout {
        AtmarpLayout::Harp => "harp",
        AtmarpLayout::Draft00 => "draft-00",
        AtmarpLayout::Draft01 => "draft-01",
    }
}

/// A bounds-checked reader.
struct Reader<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], CodecError> {
        let end = self.at.saturating_add(n);
        let s = self.buf.get(self.at..end).ok_or(CodecError::Truncated {
            need: end,
            have: self.buf.len(),
        })?;
        self.at = end;
        Ok(s)
    }

    /// An ATM number of type/length `tl` (None when the length is 0; the type is then ignored,
    /// RFC 2225 8.7.3).
    fn atm(&mut self, tl: u8, field: Field) -> Result<Option<AtmAddress>, CodecError> {
        if tl & TL_RESERVED != 0 {
            return Err(CodecError::Reserved(field));
        }
        let len = tl & TL_LEN;
        if len == 0 {
            return Ok(None);
        }
        if tl & TL_E164 != 0 {
            if usize::from(len) > E164_MAX {
                return Err(CodecError::E164Length { field, len });
            }
            let b = self.take(usize::from(len))?;
            Ok(E164::new(b).map(AtmAddress::E164))
        } else {
            if usize::from(len) != NSAP_LEN {
                return Err(CodecError::NsapLength { field, len });
            }
            let b = self.take(NSAP_LEN)?;
            let mut n = [0; NSAP_LEN];
            n.copy_from_slice(b);
            Ok(Some(AtmAddress::Nsap(Nsap(n))))
        }
    }

    /// An ATM subaddress: NSAP only.
    fn sub(&mut self, tl: u8, field: Field) -> Result<Option<Nsap>, CodecError> {
        if tl & TL_RESERVED != 0 {
            return Err(CodecError::Reserved(field));
        }
        if tl & TL_LEN != 0 && tl & TL_E164 != 0 {
            return Err(CodecError::SubaddressType(field));
        }
        match self.atm(tl, field)? {
            None => Ok(None),
            Some(AtmAddress::Nsap(n)) => Ok(Some(n)),
            Some(AtmAddress::E164(_)) => Err(CodecError::SubaddressType(field)),
        }
    }

    fn ip(&mut self, len: u8, field: Field) -> Result<Option<Ipv4Addr>, CodecError> {
        match len {
            0 => Ok(None),
            IPV4_LEN => {
                let b = self.take(4)?;
                Ok(Some(Ipv4Addr::new(b[0], b[1], b[2], b[3])))
            }
            len => Err(CodecError::IpLength { field, len }),
        }
    }

    fn end(&self) -> Result<(), CodecError> {
        match self.buf.len() - self.at {
            0 => Ok(()),
            n => Err(CodecError::Trailing(n)),
        }
    }
}

fn fixed(data: &[u8], n: usize) -> Result<&[u8], CodecError> {
    let f = data.get(..n).ok_or(CodecError::Truncated {
        need: n,
        have: data.len(),
    })?;
    let hrd = u16::from_be_bytes([f[0], f[1]]);
    if hrd != HARDWARE_TYPE {
        return Err(CodecError::HardwareType(hrd));
    }
    let pro = u16::from_be_bytes([f[2], f[3]]);
    if pro != PROTOCOL_TYPE {
        return Err(CodecError::ProtocolType(pro));
    }
    Ok(f)
}

/// Decode the protocol specific part `data` in `layout`.
///
/// Harp (harp-scspd.md §2, HARP's `scsp_parse_atmarp` plus RFC 2225's reserved bit):
///
/// | Off | Field |
/// |---|---|
/// | 0–1 | hardware type 0x0013 |
/// | 2–3 | protocol type 0x0800 |
/// | 4 | source ATM type/length |
/// | 5 | source subaddress type/length |
/// | 6 | state: 0 new, 1 updated, 2 deleted |
/// | 7 | unused (ignored; written 0) |
/// | 8 | source IP length (4) |
/// | 9 | target ATM type/length |
/// | 10 | target subaddress type/length |
/// | 11 | target IP length (0 or 4) |
/// | 12 | source ATM, source subaddress, source IP, target ATM, target subaddress, target IP |
///
/// Draft00 / Draft01 (draft-ietf-ion-scsp-atmarp-00/-01 §3):
///
/// | Off | Field |
/// |---|---|
/// | 0–1 | hardware type 0x0013 |
/// | 2–3 | protocol type 0x0800 |
/// | 4 | State (-00: 0 new, 1 updated; 2 deleted as in HARP) / Lifetime in minutes (-01, 0 = delete) |
/// | 5 | ATM address type/length |
/// | 6 | ATM subaddress type/length |
/// | 7 | protocol address length (4) |
/// | 8 | ATM address, ATM subaddress, protocol address |
///
/// Checks in every layout: an NSAP is 20 bytes, an E.164 number 1–15, a subaddress an NSAP;
/// the reserved bit of a type/length byte is clear; the type bit of a zero length is ignored
/// (RFC 2225 8.7.3); the source ATM address is present and the source protocol address is 4
/// bytes; the lengths add up to exactly the bytes given.
pub fn decode(layout: AtmarpLayout, data: &[u8]) -> Result<Record, CodecError> {
    match layout {
        AtmarpLayout::Harp => decode_harp(data),
        AtmarpLayout::Draft00 | AtmarpLayout::Draft01 => decode_draft(layout, data),
    }
}

fn decode_harp(data: &[u8]) -> Result<Record, CodecError> {
    let f = fixed(data, HARP_FIXED)?;
    let state = State::from_code(f[HARP_STATE_AT]).ok_or(CodecError::State(f[HARP_STATE_AT]))?;
    let mut r = Reader {
        buf: data,
        at: HARP_FIXED,
    };
    let atm = r
        .atm(f[4], Field::SourceAtm)?
        .ok_or(CodecError::NoAtmAddress)?;
    let subaddress = r.sub(f[5], Field::SourceSubaddress)?;
    let ip = r.ip(f[8], Field::SourceIp)?.ok_or(CodecError::IpLength {
        field: Field::SourceIp,
        len: 0,
    })?;
    let t_atm = r.atm(f[9], Field::TargetAtm)?;
    let t_sub = r.sub(f[10], Field::TargetSubaddress)?;
    let t_ip = r.ip(f[11], Field::TargetIp)?;
    r.end()?;
    let target = if t_atm.is_none() && t_sub.is_none() && t_ip == Some(ip) {
        None
    } else {
        Some(Target {
            ip: t_ip,
            atm: t_atm,
            subaddress: t_sub,
        })
    };
    Ok(Record {
        ip,
        atm,
        subaddress,
        state: Some(state),
        lifetime: None,
        target,
    })
}

fn decode_draft(layout: AtmarpLayout, data: &[u8]) -> Result<Record, CodecError> {
    let f = fixed(data, DRAFT_FIXED)?;
    let status = f[DRAFT_STATUS_AT];
    let (state, lifetime) = if layout == AtmarpLayout::Draft00 {
        (
            Some(State::from_code(status).ok_or(CodecError::State(status))?),
            None,
        )
    } else {
        (None, Some(status))
    };
    let mut r = Reader {
        buf: data,
        at: DRAFT_FIXED,
    };
    let atm = r
        .atm(f[5], Field::SourceAtm)?
        .ok_or(CodecError::NoAtmAddress)?;
    let subaddress = r.sub(f[6], Field::SourceSubaddress)?;
    let ip = r.ip(f[7], Field::SourceIp)?.ok_or(CodecError::IpLength {
        field: Field::SourceIp,
        len: 0,
    })?;
    r.end()?;
    Ok(Record {
        ip,
        atm,
        subaddress,
        state,
        lifetime,
        target: None,
    })
}

fn put_atm(out: &mut Vec<u8>, a: Option<&AtmAddress>) {
    if let Some(a) = a {
        out.extend_from_slice(a.as_bytes());
    }
}

fn put_sub(out: &mut Vec<u8>, s: Option<&Nsap>) {
    if let Some(s) = s {
        out.extend_from_slice(&s.0);
    }
}

fn tl(a: Option<&AtmAddress>) -> u8 {
    a.map_or(0, AtmAddress::type_length)
}

fn tl_sub(s: Option<&Nsap>) -> u8 {
    if s.is_some() { NSAP_LEN as u8 } else { 0 }
}

/// Encode `rec` in `layout`: the inverse of [`decode`]. An absent state is `new`, an absent
/// Draft01 lifetime [`DEFAULT_LIFETIME_MIN`]; a Harp record without `target` gets what HARP
/// sends (no target ATM address, target IP = source IP). Refused: a lifetime in Harp or Draft00,
/// a state in Draft01, a target in the drafts.
pub fn encode(layout: AtmarpLayout, rec: &Record) -> Result<Vec<u8>, CodecError> {
    let name = layout_name(layout);
    let not = |field| CodecError::NotInLayout {
        layout: name,
        field,
    };
    let mut out = Vec::with_capacity(HARP_FIXED + 2 * NSAP_LEN + 8);
    out.extend_from_slice(&HARDWARE_TYPE.to_be_bytes());
    out.extend_from_slice(&PROTOCOL_TYPE.to_be_bytes());
    let sub = rec.subaddress.as_ref();
    match layout {
        AtmarpLayout::Harp => {
            if rec.lifetime.is_some() {
                return Err(not("lifetime"));
            }
            let (t_ip, t_atm, t_sub) = match &rec.target {
                None => (Some(rec.ip), None, None),
                Some(t) => (t.ip, t.atm.as_ref(), t.subaddress.as_ref()),
            };
            out.extend_from_slice(&[
                rec.atm.type_length(),
                tl_sub(sub),
                rec.state.unwrap_or(State::New).code(),
                0,
                IPV4_LEN,
                tl(t_atm),
                tl_sub(t_sub),
                if t_ip.is_some() { IPV4_LEN } else { 0 },
            ]);
            out.extend_from_slice(rec.atm.as_bytes());
            put_sub(&mut out, sub);
            out.extend_from_slice(&rec.ip.octets());
            put_atm(&mut out, t_atm);
            put_sub(&mut out, t_sub);
            if let Some(ip) = t_ip {
                out.extend_from_slice(&ip.octets());
            }
        }
        AtmarpLayout::Draft00 | AtmarpLayout::Draft01 => {
            if rec.target.is_some() {
                return Err(not("target"));
            }
            let status = if layout == AtmarpLayout::Draft00 {
                if rec.lifetime.is_some() {
                    return Err(not("lifetime"));
                }
                rec.state.unwrap_or(State::New).code()
            } else {
                if rec.state.is_some() {
                    return Err(not("state"));
                }
                rec.lifetime.unwrap_or(DEFAULT_LIFETIME_MIN)
            };
            out.extend_from_slice(&[status, rec.atm.type_length(), tl_sub(sub), IPV4_LEN]);
            out.extend_from_slice(rec.atm.as_bytes());
            put_sub(&mut out, sub);
            out.extend_from_slice(&rec.ip.octets());
        }
    }
    Ok(out)
}

/// The cache key of a binding in `layout`.
///
/// - Harp: [`harp_cache_key`] (what HARP's `scsp_cache_key` computes).
/// - Draft00/Draft01: the drafts fix the key's length (4, §4.2) but not its contents; the key is
///   the IPv4 address, the key of an ATMARP server's table. A new binding for an address then
///   supersedes the old one in every cache, and two servers' bindings for one address are the
///   same key from two originators: the duplicates draft-01 §2 resolves.
pub fn cache_key(layout: AtmarpLayout, ip: Ipv4Addr, atm: &AtmAddress) -> [u8; 4] {
    match layout {
        AtmarpLayout::Harp => harp_cache_key(ip, atm),
        AtmarpLayout::Draft00 | AtmarpLayout::Draft01 => ip.octets(),
    }
}

/// HARP's cache key (lib/cache_key.c, `scsp_cache_key`): MD5 of the IPv4 address (network
/// order) followed by the ATM number's bytes (the subaddress is not included), the input capped
/// at 32 bytes; the 16-byte digest XOR-folded to 4 (`key[i % 4] ^= digest[i]`).
pub fn harp_cache_key(ip: Ipv4Addr, atm: &AtmAddress) -> [u8; 4] {
    let mut buf = [0u8; 32];
    buf[..4].copy_from_slice(&ip.octets());
    let a = atm.as_bytes();
    let n = a.len().min(buf.len() - 4);
    buf[4..4 + n].copy_from_slice(&a[..n]);
    let digest = Md5::digest(&buf[..4 + n]);
    let mut key = [0u8; 4];
    for (i, b) in digest.iter().enumerate() {
        key[i % 4] ^= b;
    }
    key
}

/// The record that deletes the entry whose record is `data`: the same bytes with the state
/// set to deleted (Harp, Draft00) or the lifetime to 0 (Draft01). `None` when `data` is too
/// short to hold that field.
pub fn deletion_of(layout: AtmarpLayout, data: &[u8]) -> Option<Vec<u8>> {
    let (at, v) = match layout {
        AtmarpLayout::Harp => (HARP_STATE_AT, State::Deleted.code()),
        AtmarpLayout::Draft00 => (DRAFT_STATUS_AT, State::Deleted.code()),
        AtmarpLayout::Draft01 => (DRAFT_STATUS_AT, 0),
    };
    let mut d = data.to_vec();
    *d.get_mut(at)? = v;
    Some(d)
}

/// True when `data` deletes its entry: state deleted (Harp, Draft00), lifetime 0 (Draft01). An
/// empty protocol specific part counts as a deletion too (the core's opaque convention), though
/// it is not a valid ATMARP record.
pub fn is_deletion(layout: AtmarpLayout, data: &[u8]) -> bool {
    if data.is_empty() {
        return true;
    }
    match layout {
        AtmarpLayout::Harp => data.get(HARP_STATE_AT) == Some(&State::Deleted.code()),
        AtmarpLayout::Draft00 => data.get(DRAFT_STATUS_AT) == Some(&State::Deleted.code()),
        AtmarpLayout::Draft01 => data.get(DRAFT_STATUS_AT) == Some(&0),
    }
}

/// How long a live record lasts: the Lifetime field (Draft01), [`ENTRY_LIFETIME`] otherwise.
/// `None` for a deletion.
pub fn lifetime(layout: AtmarpLayout, data: &[u8]) -> Option<Duration> {
    if is_deletion(layout, data) {
        return None;
    }
    match layout {
        AtmarpLayout::Harp | AtmarpLayout::Draft00 => Some(ENTRY_LIFETIME),
        AtmarpLayout::Draft01 => data
            .get(DRAFT_STATUS_AT)
            .map(|&m| Duration::from_secs(60 * u64::from(m))),
    }
}

/// `data` with its state set to `updated` (Harp, Draft00; unchanged in Draft01): what a refresh
/// advertises, as HARP's atmarpd does.
pub fn as_refresh(layout: AtmarpLayout, data: &[u8]) -> Vec<u8> {
    let mut d = data.to_vec();
    let at = match layout {
        AtmarpLayout::Harp => HARP_STATE_AT,
        AtmarpLayout::Draft00 => DRAFT_STATUS_AT,
        AtmarpLayout::Draft01 => return d,
    };
    if let Some(s) = d.get_mut(at)
        && *s == State::New.code()
    {
        *s = State::Updated.code();
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nsap() -> AtmAddress {
        "47.0005.80.ffdc00.0000.0002.0001.002048061de7.00"
            .parse()
            .unwrap()
    }

    #[test]
    fn harp_key_vector() {
        // python3: d = hashlib.md5(bytes([10,1,2,3]) +
        //   bytes.fromhex("47000580ffdc00000000020001002048061de700")).digest()
        //   -> 6a4ef2409a0cdbec33388de3459a6e3a; k = XOR-fold of d to 4 bytes -> 86e0ca75
        assert_eq!(
            harp_cache_key(Ipv4Addr::new(10, 1, 2, 3), &nsap()),
            [0x86, 0xe0, 0xca, 0x75]
        );
    }

    #[test]
    fn truncations_never_panic() {
        let rec = Record {
            subaddress: Some(Nsap([7; 20])),
            target: Some(Target {
                ip: Some(Ipv4Addr::new(1, 2, 3, 4)),
                atm: Some("12345".parse().unwrap()),
                subaddress: Some(Nsap([9; 20])),
            }),
            ..Record::new(Ipv4Addr::new(10, 1, 2, 3), nsap(), None)
        };
        for layout in [AtmarpLayout::Harp] {
            let full = encode(layout, &rec).unwrap();
            assert_eq!(decode(layout, &full).unwrap().target, rec.target);
            for n in 0..full.len() {
                assert!(decode(layout, &full[..n]).is_err(), "{n}");
            }
        }
    }

    #[test]
    fn deletion_helpers() {
        let d = encode(
            AtmarpLayout::Draft01,
            &Record::new(Ipv4Addr::new(10, 0, 0, 1), nsap(), None),
        )
        .unwrap();
        assert_eq!(lifetime(AtmarpLayout::Draft01, &d), Some(ENTRY_LIFETIME));
        let del = deletion_of(AtmarpLayout::Draft01, &d).unwrap();
        assert!(is_deletion(AtmarpLayout::Draft01, &del));
        assert_eq!(lifetime(AtmarpLayout::Draft01, &del), None);
        assert_eq!(deletion_of(AtmarpLayout::Harp, &[0; 3]), None);
        assert!(is_deletion(AtmarpLayout::Harp, &[]));
    }
}
