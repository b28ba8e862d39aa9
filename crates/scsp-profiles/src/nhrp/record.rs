//! The NHRP specific part of a CSA record (RFC 2335 §3) and its codec.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Address Family Number     |     NHRP Protocol Type        |  0
//! |                             Snap                              |  4
//! |     Snap      | NHRP Vers Num |            Flags              |  8
//! |                         Request ID                            | 12
//! |    State      | Prefix Length |            unused             | 16
//! |  Maximum Transmission Unit    |        Holding Time           | 20
//! |  Cli Addr T/L | Cli SAddr T/L | Cli Proto Len |  Preference   | 24
//! |          Client NBMA Address (variable length)                | 28
//! |         Client NBMA Subaddress (variable length)              |
//! |          Client Protocol Address (variable length)            |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use serde::{Deserialize, Serialize};

use super::addr::{CodecError, NbmaAddr, ProtoAddr, Reader, Snap, TypeLen, proto_len};

/// Length of the fixed part, up to and including Preference.
pub const FIXED_LEN: usize = 28;
/// Offset of the State octet.
pub const STATE_OFFSET: usize = 16;
/// Offset of the Holding Time.
pub const HOLDING_OFFSET: usize = 22;
/// The only NHRP version (RFC 2332 `ar$op.version`, RFC 2335 §3: "0x01 for NHRP version 1").
pub const VERSION: u8 = 1;
/// The Uniqueness bit of Flags (bit 0, the most significant).
pub const FLAG_U: u16 = 0x8000;
/// The A bit of Flags: the entry comes from ATMARP client interaction.
pub const FLAG_A: u16 = 0x4000;
/// Address family number of IPv4 (RFC 1700), for an IP NBMA network.
pub const AFN_IPV4: u16 = 1;
/// Address family number of IPv6.
pub const AFN_IPV6: u16 = 2;
/// Address family number 15, "E.164 with NSAP format subaddress": ATM (RFC 2332 §5.2.0 requires
/// it when a subaddress is present).
pub const AFN_ATM: u16 = 15;
/// Protocol type of IPv4 (Ethertype).
pub const PROTO_IPV4: u16 = 0x0800;
/// Protocol type of IPv6 (Ethertype).
pub const PROTO_IPV6: u16 = 0x86dd;

/// The client's state (RFC 2335 §3, State).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// 0: the client is registered and available.
    Registered,
    /// 1: the client re-registered.
    Reregistered,
    /// 2: the client has been purged. The deletion record.
    Purged,
    /// 3: no such client data in the server's cache. Also a deletion: it says there is no entry.
    NoSuchClient,
}

impl State {
    /// The State octet.
    pub fn code(self) -> u8 {
        match self {
            State::Registered => 0,
            State::Reregistered => 1,
            State::Purged => 2,
            State::NoSuchClient => 3,
        }
    }

    /// The state of a State octet.
    pub fn from_code(c: u8) -> Option<Self> {
        Some(match c {
            0 => State::Registered,
            1 => State::Reregistered,
            2 => State::Purged,
            3 => State::NoSuchClient,
            _ => return None,
        })
    }

    /// True for the states that say the client has no entry (2 and 3).
    pub fn is_deletion(self) -> bool {
        matches!(self, State::Purged | State::NoSuchClient)
    }

    /// As people write it.
    pub fn name(self) -> &'static str {
        match self {
            State::Registered => "registered",
            State::Reregistered => "reregistered",
            State::Purged => "purged",
            State::NoSuchClient => "no-such-client",
        }
    }
}

fn is_zero<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

/// The NHRP specific part of a CSA record, field by field (RFC 2335 §3). Unused fields are kept
/// so that every valid record re-encodes to the same octets; they are left out of JSON when zero.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    /// Address Family Number (`ar$afn`): the kind of NBMA addresses (1 IPv4, 2 IPv6, 3 NSAP,
    /// 8 E.164, 15 E.164 with NSAP subaddress, i.e. ATM).
    pub afn: u16,
    /// NHRP Protocol Type (`ar$pro.type`): 0x0800 for IPv4.
    #[serde(default = "default_proto")]
    pub protocol_type: u16,
    /// Snap (`ar$pro.snap`): zero unless the protocol type is 0x0080.
    #[serde(default)]
    pub snap: Snap,
    /// NHRP Vers Num (`ar$op.version`): 1.
    #[serde(default = "default_version")]
    pub version: u8,
    /// Flags, U: the Uniqueness bit.
    #[serde(default)]
    pub unique: bool,
    /// Flags, A: the entry was created from ATMARP client interaction.
    #[serde(default)]
    pub atmarp: bool,
    /// The 14 unused bits of Flags, as received.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub unused_flags: u16,
    /// Request ID of the client's NHRP Registration Request.
    #[serde(default)]
    pub request_id: u32,
    /// State.
    #[serde(default = "default_state")]
    pub state: State,
    /// Prefix Length: the equivalence class the entry covers (0 and 0xFF: the address alone).
    #[serde(default = "default_prefix")]
    pub prefix_length: u8,
    /// The unused octets after Prefix Length, as received.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub unused: u16,
    /// Maximum Transmission Unit (0: the default or negotiated one).
    #[serde(default)]
    pub mtu: u16,
    /// Holding Time: seconds the registration remains valid.
    pub holding_time: u16,
    /// Client NBMA Address, with the format bit of Cli Addr T/L.
    pub nbma_address: NbmaAddr,
    /// Client NBMA Subaddress, with the format bit of Cli SAddr T/L.
    #[serde(default)]
    pub nbma_subaddress: NbmaAddr,
    /// Client Protocol Address.
    pub protocol_address: ProtoAddr,
    /// Preference (higher is preferred).
    #[serde(default)]
    pub preference: u8,
}

fn default_proto() -> u16 {
    PROTO_IPV4
}
fn default_version() -> u8 {
    VERSION
}
fn default_state() -> State {
    State::Registered
}
fn default_prefix() -> u8 {
    0xff
}

impl Record {
    /// Decode the NHRP specific part of a CSA. Every field is bounds-checked; octets after the
    /// Client Protocol Address are refused, as are a version other than 1, a State above 3 and a
    /// type/length octet with its reserved bit set.
    pub fn decode(data: &[u8]) -> Result<Self, CodecError> {
        let mut r = Reader::new(data);
        let afn = r.u16("address family number")?;
        let protocol_type = r.u16("protocol type")?;
        let snap = Snap(r.array::<5>("snap")?);
        let version = r.u8("version")?;
        if version != VERSION {
            return Err(CodecError::Value {
                field: "version",
                value: u32::from(version),
                why: "RFC 2335 records are NHRP version 1",
            });
        }
        let flags = r.u16("flags")?;
        let request_id = r.u32("request id")?;
        let code = r.u8("state")?;
        let state = State::from_code(code).ok_or(CodecError::Value {
            field: "state",
            value: u32::from(code),
            why: "states are 0 to 3",
        })?;
        let prefix_length = r.u8("prefix length")?;
        let unused = r.u16("unused")?;
        let mtu = r.u16("mtu")?;
        let holding_time = r.u16("holding time")?;
        let atl = TypeLen::decode("cli addr t/l", r.u8("cli addr t/l")?)?;
        let stl = TypeLen::decode("cli saddr t/l", r.u8("cli saddr t/l")?)?;
        let plen = usize::from(r.u8("cli proto len")?);
        let preference = r.u8("preference")?;
        let nbma_address = NbmaAddr {
            e164: atl.e164,
            octets: r.bytes("client nbma address", atl.len)?.to_vec(),
        };
        let nbma_subaddress = NbmaAddr {
            e164: stl.e164,
            octets: r.bytes("client nbma subaddress", stl.len)?.to_vec(),
        };
        let protocol_address = ProtoAddr(r.bytes("client protocol address", plen)?.to_vec());
        r.finish()?;
        Ok(Record {
            afn,
            protocol_type,
            snap,
            version,
            unique: flags & FLAG_U != 0,
            atmarp: flags & FLAG_A != 0,
            unused_flags: flags & !(FLAG_U | FLAG_A),
            request_id,
            state,
            prefix_length,
            unused,
            mtu,
            holding_time,
            nbma_address,
            nbma_subaddress,
            protocol_address,
            preference,
        })
    }

    /// Encode. Fails only when a field does not fit its length field (an NBMA address over 63
    /// octets, a protocol address over 255) or holds a value [`Record::decode`] refuses.
    pub fn encode(&self) -> Result<Vec<u8>, CodecError> {
        if self.version != VERSION {
            return Err(CodecError::Value {
                field: "version",
                value: u32::from(self.version),
                why: "RFC 2335 records are NHRP version 1",
            });
        }
        if self.unused_flags & (FLAG_U | FLAG_A) != 0 {
            return Err(CodecError::Value {
                field: "unused_flags",
                value: u32::from(self.unused_flags),
                why: "U and A have fields of their own",
            });
        }
        let atl = TypeLen::of("client nbma address", &self.nbma_address)?;
        let stl = TypeLen::of("client nbma subaddress", &self.nbma_subaddress)?;
        let plen = proto_len("client protocol address", &self.protocol_address)?;
        let mut flags = self.unused_flags;
        if self.unique {
            flags |= FLAG_U;
        }
        if self.atmarp {
            flags |= FLAG_A;
        }
        let mut b = Vec::with_capacity(
            FIXED_LEN
                + self.nbma_address.octets.len()
                + self.nbma_subaddress.octets.len()
                + self.protocol_address.0.len(),
        );
        b.extend_from_slice(&self.afn.to_be_bytes());
        b.extend_from_slice(&self.protocol_type.to_be_bytes());
        b.extend_from_slice(&self.snap.0);
        b.push(self.version);
        b.extend_from_slice(&flags.to_be_bytes());
        b.extend_from_slice(&self.request_id.to_be_bytes());
        b.push(self.state.code());
        b.push(self.prefix_length);
        b.extend_from_slice(&self.unused.to_be_bytes());
        b.extend_from_slice(&self.mtu.to_be_bytes());
        b.extend_from_slice(&self.holding_time.to_be_bytes());
        b.push(atl);
        b.push(stl);
        b.push(plen);
        b.push(self.preference);
        b.extend_from_slice(&self.nbma_address.octets);
        b.extend_from_slice(&self.nbma_subaddress.octets);
        b.extend_from_slice(&self.protocol_address.0);
        Ok(b)
    }

    /// The cache key of this record (see [`key_of`]).
    pub fn key(&self) -> Result<Vec<u8>, String> {
        key_of(&self.protocol_address)
    }

    /// The number of bits of the protocol address the entry covers: Prefix Length when it is
    /// between 1 and the address's width, else the whole address (0 and 0xFF mean the address
    /// alone, RFC 2332 §5.2.0.1).
    pub fn covered_bits(&self) -> usize {
        let p = usize::from(self.prefix_length);
        if p == 0 || p > self.protocol_address.bits() {
            self.protocol_address.bits()
        } else {
            p
        }
    }
}

/// The cache key of the entry of a client: its Client Protocol Address.
///
/// RFC 2335 §4.2 fixes Cache Key Len at 4 without saying what the key holds; an NHS's cache holds
/// one entry per client protocol address, and an IPv4 address is exactly those 4 octets, so the
/// key of an IPv4 client is its address. A longer address (IPv6, 16 octets) cannot be squeezed
/// into 4 octets without collisions, so its key is the whole address: the one place this profile
/// leaves Cache Key Len = 4, in a case the RFC did not foresee.
pub fn key_of(protocol_address: &ProtoAddr) -> Result<Vec<u8>, String> {
    if protocol_address.is_null() {
        return Err("the client protocol address is empty: it is the cache key".into());
    }
    Ok(protocol_address.0.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_codes() {
        for c in 0..=3 {
            assert_eq!(State::from_code(c).unwrap().code(), c);
        }
        assert_eq!(State::from_code(4), None);
        assert!(State::Purged.is_deletion());
        assert!(State::NoSuchClient.is_deletion());
        assert!(!State::Registered.is_deletion());
        assert!(!State::Reregistered.is_deletion());
    }
}
