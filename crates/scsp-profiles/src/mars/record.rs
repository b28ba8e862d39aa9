//! The MARS specific part of a CSA record (RFC 2443 §3) and its codec.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |        Hardware Type          |        Protocol Type          |  0
//! |                              SNAP                             |  4
//! |     SNAP      |   Unused      |    Version    |   State       |  8
//! |            Flags              |       Cluster Member ID       | 12
//! | Src Addr Len  | Group Addr Len| ATM Addr T/L  |ATM SubAddr T/L| 16
//! |     Source Protocol Address             (variable length)     | 20
//! |     Source ATM Address                  (variable length)     |
//! |     Source ATM SubAddress               (variable length)     |
//! |     Minimum Multicast Group Address     (variable length)     |
//! |     Maximum Multicast Group Address     (variable length)     |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! The MARS Server Redirect Entry (§5.1) has the same layout with Src Addr Len and Group Addr Len
//! zero, so no protocol or group address.

use serde::{Deserialize, Serialize};

use crate::nhrp::addr::{CodecError, NbmaAddr, ProtoAddr, Reader, Snap, TypeLen, proto_len};

/// Length of the fixed part, up to and including ATM SubAddr T/L.
pub const FIXED_LEN: usize = 20;
/// Offset of the State octet.
pub const STATE_OFFSET: usize = 11;
/// The version of RFC 2443 records (§3: "MUST be set to 0x00").
pub const VERSION: u8 = 0;
/// Hardware Type: the ATM Forum address family, 15.
pub const HARDWARE_ATM: u16 = 15;
/// Protocol type of IPv4.
pub const PROTO_IPV4: u16 = 0x0800;
/// Protocol type of IPv6.
pub const PROTO_IPV6: u16 = 0x86dd;
/// `mar$flags.layer3grp`, bit 15.
pub const FLAG_LAYER3GRP: u16 = 0x8000;
/// `mar$flags.register`, bit 13.
pub const FLAG_REGISTER: u16 = 0x2000;
/// `mar$flags.sequence`, bits 0–7.
pub const FLAG_SEQUENCE: u16 = 0x00ff;

/// What a record says (RFC 2443 §3, State). Any other State is discarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// 1: MARS Server Redirect Entry, the heartbeat of a server (§5.1).
    ServerRedirect,
    /// 2: MCS Serve/Register request (§5.2).
    McsServe,
    /// 3: MARS Client Join/Register request (§5.3).
    ClientJoin,
    /// 4: MARS Client Leave/Deregister request (§5.4): deletes a join.
    ClientLeave,
    /// 5: MCS Unserve/Deregister request (§5.5): deletes a serve.
    McsUnserve,
}

impl State {
    /// The State octet.
    pub fn code(self) -> u8 {
        match self {
            State::ServerRedirect => 1,
            State::McsServe => 2,
            State::ClientJoin => 3,
            State::ClientLeave => 4,
            State::McsUnserve => 5,
        }
    }

    /// The state of a State octet.
    pub fn from_code(c: u8) -> Option<Self> {
        Some(match c {
            1 => State::ServerRedirect,
            2 => State::McsServe,
            3 => State::ClientJoin,
            4 => State::ClientLeave,
            5 => State::McsUnserve,
            _ => return None,
        })
    }

    /// Leave and unserve delete what a join and a serve made.
    pub fn is_deletion(self) -> bool {
        matches!(self, State::ClientLeave | State::McsUnserve)
    }

    /// Whose entry this is.
    pub fn kind(self) -> Kind {
        match self {
            State::ServerRedirect => Kind::Server,
            State::McsServe | State::McsUnserve => Kind::Mcs,
            State::ClientJoin | State::ClientLeave => Kind::Client,
        }
    }

    /// As people write it.
    pub fn name(self) -> &'static str {
        match self {
            State::ServerRedirect => "redirect",
            State::McsServe => "serve",
            State::ClientJoin => "join",
            State::ClientLeave => "leave",
            State::McsUnserve => "unserve",
        }
    }
}

/// Whose entry a record is: the first octet of its cache key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A MARS server's redirect entry (State 1).
    Server,
    /// An MCS (States 2 and 5).
    Mcs,
    /// A MARS client (States 3 and 4).
    Client,
}

impl Kind {
    /// The key octet: the State of the live record of this kind.
    pub fn code(self) -> u8 {
        match self {
            Kind::Server => 1,
            Kind::Mcs => 2,
            Kind::Client => 3,
        }
    }
}

fn is_zero<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

/// The MARS specific part of a CSA record, field by field (RFC 2443 §3). Unused and reserved
/// fields are kept so that every valid record re-encodes to the same octets; they are left out of
/// JSON when zero.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    /// Hardware Type (`mar$afn`): 15, ATM.
    #[serde(default = "default_hw")]
    pub hardware_type: u16,
    /// Protocol Type (`mar$pro.type`): 0x0800 for IPv4.
    #[serde(default = "default_proto")]
    pub protocol_type: u16,
    /// Protocol SNAP (`mar$pro.snap`).
    #[serde(default)]
    pub snap: Snap,
    /// The Unused octet, as received.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub unused: u8,
    /// Version: 0.
    #[serde(default)]
    pub version: u8,
    /// State.
    pub state: State,
    /// `mar$flags.layer3grp`: the join is a single group joined at layer 3 (e.g. by IGMP).
    #[serde(default)]
    pub layer3grp: bool,
    /// `mar$flags.register`: the record (de)registers a client or MCS rather than a group.
    #[serde(default)]
    pub register: bool,
    /// `mar$flags.sequence`, of local significance only.
    #[serde(default)]
    pub sequence: u8,
    /// The reserved bits of Flags (14, 12–8), as received; they "MUST be zero".
    #[serde(default, skip_serializing_if = "is_zero")]
    pub reserved_flags: u16,
    /// Cluster Member ID of the client or MCS (0 in a redirect entry).
    #[serde(default)]
    pub cmi: u16,
    /// Source Protocol Address (`mar$spa`), "" when null.
    #[serde(default)]
    pub source_protocol_address: ProtoAddr,
    /// Source ATM Address (`mar$sha`), with the format bit of ATM Addr T/L.
    #[serde(default)]
    pub source_atm_address: NbmaAddr,
    /// Source ATM SubAddress (`mar$ssa`), with the format bit of ATM SubAddr T/L.
    #[serde(default)]
    pub source_atm_subaddress: NbmaAddr,
    /// Minimum Multicast Group Address (`mar$min`), "" when null.
    #[serde(default)]
    pub group_min: ProtoAddr,
    /// Maximum Multicast Group Address (`mar$max`): as long as `group_min` (one Group Addr Len).
    #[serde(default)]
    pub group_max: ProtoAddr,
}

fn default_hw() -> u16 {
    HARDWARE_ATM
}
fn default_proto() -> u16 {
    PROTO_IPV4
}

impl Record {
    /// A record of `state` with every other field at its usual value: ATM, IPv4, version 0, no
    /// flags, null addresses.
    pub fn new(state: State) -> Self {
        Record {
            hardware_type: HARDWARE_ATM,
            protocol_type: PROTO_IPV4,
            snap: Snap::default(),
            unused: 0,
            version: VERSION,
            state,
            layer3grp: false,
            register: false,
            sequence: 0,
            reserved_flags: 0,
            cmi: 0,
            source_protocol_address: ProtoAddr::default(),
            source_atm_address: NbmaAddr::null(),
            source_atm_subaddress: NbmaAddr::null(),
            group_min: ProtoAddr::default(),
            group_max: ProtoAddr::default(),
        }
    }

    /// Decode the MARS specific part of a CSA. Every field is bounds-checked; octets after the
    /// Maximum Multicast Group Address are refused, as are a version other than 0, a State other
    /// than 1 to 5 (§3: "All other State values should cause the CSA to be discarded") and a
    /// type/length octet with its reserved bit set.
    pub fn decode(data: &[u8]) -> Result<Self, CodecError> {
        let mut r = Reader::new(data);
        let hardware_type = r.u16("hardware type")?;
        let protocol_type = r.u16("protocol type")?;
        let snap = Snap(r.array::<5>("snap")?);
        let unused = r.u8("unused")?;
        let version = r.u8("version")?;
        if version != VERSION {
            return Err(CodecError::Value {
                field: "version",
                value: u32::from(version),
                why: "RFC 2443 records are version 0",
            });
        }
        let code = r.u8("state")?;
        let state = State::from_code(code).ok_or(CodecError::Value {
            field: "state",
            value: u32::from(code),
            why: "states are 1 to 5; RFC 2443 §3 discards others",
        })?;
        let flags = r.u16("flags")?;
        let cmi = r.u16("cluster member id")?;
        let spln = usize::from(r.u8("src addr len")?);
        let tpln = usize::from(r.u8("group addr len")?);
        let shtl = TypeLen::decode("atm addr t/l", r.u8("atm addr t/l")?)?;
        let sstl = TypeLen::decode("atm subaddr t/l", r.u8("atm subaddr t/l")?)?;
        let source_protocol_address = ProtoAddr(r.bytes("source protocol address", spln)?.to_vec());
        let source_atm_address = NbmaAddr {
            e164: shtl.e164,
            octets: r.bytes("source atm address", shtl.len)?.to_vec(),
        };
        let source_atm_subaddress = NbmaAddr {
            e164: sstl.e164,
            octets: r.bytes("source atm subaddress", sstl.len)?.to_vec(),
        };
        let group_min = ProtoAddr(r.bytes("minimum multicast group address", tpln)?.to_vec());
        let group_max = ProtoAddr(r.bytes("maximum multicast group address", tpln)?.to_vec());
        r.finish()?;
        Ok(Record {
            hardware_type,
            protocol_type,
            snap,
            unused,
            version,
            state,
            layer3grp: flags & FLAG_LAYER3GRP != 0,
            register: flags & FLAG_REGISTER != 0,
            sequence: (flags & FLAG_SEQUENCE) as u8,
            reserved_flags: flags & !(FLAG_LAYER3GRP | FLAG_REGISTER | FLAG_SEQUENCE),
            cmi,
            source_protocol_address,
            source_atm_address,
            source_atm_subaddress,
            group_min,
            group_max,
        })
    }

    /// Encode. Fails when a field does not fit its length field, when the group addresses differ
    /// in length (they share Group Addr Len), or on a value [`Record::decode`] refuses.
    pub fn encode(&self) -> Result<Vec<u8>, CodecError> {
        if self.version != VERSION {
            return Err(CodecError::Value {
                field: "version",
                value: u32::from(self.version),
                why: "RFC 2443 records are version 0",
            });
        }
        let named = FLAG_LAYER3GRP | FLAG_REGISTER | FLAG_SEQUENCE;
        if self.reserved_flags & named != 0 {
            return Err(CodecError::Value {
                field: "reserved_flags",
                value: u32::from(self.reserved_flags),
                why: "layer3grp, register and sequence have fields of their own",
            });
        }
        if self.group_min.0.len() != self.group_max.0.len() {
            return Err(CodecError::Value {
                field: "group_max",
                value: self.group_max.0.len() as u32,
                why: "the minimum and maximum group addresses share one length",
            });
        }
        let spln = proto_len("source protocol address", &self.source_protocol_address)?;
        let tpln = proto_len("multicast group address", &self.group_min)?;
        let shtl = TypeLen::of("source atm address", &self.source_atm_address)?;
        let sstl = TypeLen::of("source atm subaddress", &self.source_atm_subaddress)?;
        let mut flags = self.reserved_flags | u16::from(self.sequence);
        if self.layer3grp {
            flags |= FLAG_LAYER3GRP;
        }
        if self.register {
            flags |= FLAG_REGISTER;
        }
        let mut b = Vec::with_capacity(
            FIXED_LEN
                + self.source_protocol_address.0.len()
                + self.source_atm_address.octets.len()
                + self.source_atm_subaddress.octets.len()
                + 2 * self.group_min.0.len(),
        );
        b.extend_from_slice(&self.hardware_type.to_be_bytes());
        b.extend_from_slice(&self.protocol_type.to_be_bytes());
        b.extend_from_slice(&self.snap.0);
        b.push(self.unused);
        b.push(self.version);
        b.push(self.state.code());
        b.extend_from_slice(&flags.to_be_bytes());
        b.extend_from_slice(&self.cmi.to_be_bytes());
        b.push(spln);
        b.push(tpln);
        b.push(shtl);
        b.push(sstl);
        b.extend_from_slice(&self.source_protocol_address.0);
        b.extend_from_slice(&self.source_atm_address.octets);
        b.extend_from_slice(&self.source_atm_subaddress.octets);
        b.extend_from_slice(&self.group_min.0);
        b.extend_from_slice(&self.group_max.0);
        Ok(b)
    }

    /// The cache key of this record (see [`key_of`]).
    pub fn key(&self) -> Vec<u8> {
        key_of(
            self.state.kind(),
            self.cmi,
            &self.group_min,
            &self.group_max,
        )
    }

    /// Whether the record carries a group range.
    pub fn has_groups(&self) -> bool {
        !self.group_min.is_null()
    }

    /// The rules RFC 2443 §5 sets for what a server sends, beyond what decoding checks:
    /// a redirect entry has no flags, CMI, protocol or group address (§5.1); a register record
    /// has no group (Group Addr Len "MUST be zero"), a group record has one with minimum ≤
    /// maximum; layer3grp is for client records only (§5.2: "MUST be zero" for MCSs), on a
    /// single group (§5.3: minimum and maximum "MUST be equal for IPv4"); reserved flags are
    /// zero; the source ATM address is present.
    pub fn check(&self) -> Result<(), String> {
        if self.reserved_flags != 0 {
            return Err("reserved flags must be zero".into());
        }
        if self.source_atm_address.is_null() {
            return Err("the source ATM address is missing".into());
        }
        if self.state == State::ServerRedirect {
            if self.layer3grp
                || self.register
                || self.sequence != 0
                || self.cmi != 0
                || !self.source_protocol_address.is_null()
                || self.has_groups()
            {
                return Err(
                    "a redirect entry has no flags, CMI, protocol or group address (§5.1)".into(),
                );
            }
            return Ok(());
        }
        if self.register {
            if self.has_groups() {
                return Err("a register record carries no group (§5.2, §5.3)".into());
            }
        } else {
            if !self.has_groups() {
                return Err("a join, leave, serve or unserve names a group range".into());
            }
            if self.group_min > self.group_max {
                return Err(format!(
                    "the group range {}-{} is upside down",
                    self.group_min, self.group_max
                ));
            }
        }
        if self.layer3grp {
            if self.state.kind() != Kind::Client {
                return Err("layer3grp must be zero for an MCS (§5.2)".into());
            }
            if self.group_min != self.group_max {
                return Err("layer3grp names a single group: minimum = maximum (§5.3)".into());
            }
        }
        Ok(())
    }
}

/// The cache key of a MARS entry: `kind ‖ CMI ‖ minimum group ‖ maximum group`, where kind is
/// 1 (server redirect), 2 (MCS) or 3 (client), the CMI is 2 octets big-endian, and the groups
/// are present only in group records. A join and the leave that undoes it, or a serve and its
/// unserve, share their key, so the leave supersedes the join in every cache; a client's
/// registration is `3 ‖ CMI`; a server's redirect entry is `1 ‖ 0000`.
///
/// RFC 2443 §4.2 gives Cache Key Len = 4 but not what the key holds. Four octets cannot name a
/// (client, group range) binding without collisions, and a collision would silently replace one
/// binding by another in every server; this key is exact instead, and longer than 4 octets (3
/// for registrations and redirect entries, 11 for IPv4 group records). See
/// `docs/profiles.md`.
pub fn key_of(kind: Kind, cmi: u16, group_min: &ProtoAddr, group_max: &ProtoAddr) -> Vec<u8> {
    let mut k = Vec::with_capacity(3 + group_min.0.len() + group_max.0.len());
    k.push(kind.code());
    k.extend_from_slice(&cmi.to_be_bytes());
    k.extend_from_slice(&group_min.0);
    k.extend_from_slice(&group_max.0);
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states() {
        for c in 1..=5 {
            assert_eq!(State::from_code(c).unwrap().code(), c);
        }
        assert_eq!(State::from_code(0), None);
        assert_eq!(State::from_code(6), None);
        assert_eq!(State::ClientLeave.kind(), State::ClientJoin.kind());
        assert_eq!(State::McsUnserve.kind(), State::McsServe.kind());
        assert!(State::ClientLeave.is_deletion() && State::McsUnserve.is_deletion());
        assert!(!State::ServerRedirect.is_deletion());
    }

    #[test]
    fn checks() {
        let mut r = Record::new(State::ServerRedirect);
        assert!(r.check().is_err(), "no ATM address");
        r.source_atm_address = NbmaAddr::nsap(vec![0x47; 20]);
        r.check().unwrap();
        r.cmi = 1;
        assert!(r.check().is_err());
        let mut j = Record::new(State::ClientJoin);
        j.source_atm_address = NbmaAddr::nsap(vec![0x47; 20]);
        j.cmi = 5;
        assert!(j.check().is_err(), "a join without a group");
        j.register = true;
        j.check().unwrap();
        j.group_min = ProtoAddr(vec![224, 0, 0, 1]);
        j.group_max = ProtoAddr(vec![224, 0, 0, 1]);
        assert!(j.check().is_err(), "a register with a group");
        j.register = false;
        j.layer3grp = true;
        j.check().unwrap();
        j.group_max = ProtoAddr(vec![224, 0, 0, 2]);
        assert!(j.check().is_err(), "layer3grp on a range");
        j.layer3grp = false;
        j.check().unwrap();
        j.group_min = ProtoAddr(vec![224, 0, 0, 3]);
        assert!(j.check().is_err(), "upside-down range");
    }
}
