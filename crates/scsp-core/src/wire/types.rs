//! Owned representations of SCSP messages and records.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// SCSP version carried in the fixed part (B.1).
pub const VERSION: u8 = 1;
/// Length of the fixed part (B.1).
pub const FIXED_LEN: usize = 8;
/// Length of the mandatory common part without its IDs (B.2.0.1).
pub const COMMON_LEN: usize = 12;
/// Length of a CSAS record without its key and originator ID (B.2.0.2).
pub const CSAS_FIXED_LEN: usize = 12;
/// Largest SCSP packet (the Packet Size field is 16 bits).
pub const MAX_PACKET: usize = 65535;
/// Flag bits of a CA message (B.2.1).
pub const CA_FLAG_M: u16 = 0x8000;
/// Initialization bit.
pub const CA_FLAG_I: u16 = 0x4000;
/// mOre bit.
pub const CA_FLAG_O: u16 = 0x2000;
/// The N (null) bit of a CSAS record (B.2.0.2), in the 16-bit word after the two lengths.
pub const CSAS_FLAG_N: u16 = 0x8000;

/// The reserved CSA sequence number -2^31 (B.2.0.2).
pub const SEQ_RESERVED: u32 = 0x8000_0000;
/// The first sequence number an originator uses, -2^31+1.
pub const SEQ_FIRST: u32 = 0x8000_0001;
/// The last sequence number of an ordinary instance, 2^31-2.
pub const SEQ_LAST: u32 = 0x7fff_fffe;
/// The sequence number of the purge that precedes a restart of the sequence space, 2^31-1.
pub const SEQ_PURGE: u32 = 0x7fff_ffff;

/// A variable-length identifier: a Sender, Receiver or Originator ID, or a Cache Key.
///
/// Its length is carried in one byte on the wire, so it holds at most 255 bytes. It takes 16
/// bytes: up to 12 bytes are stored inline (IPv4 addresses and the usual keys never allocate,
/// clone by copy and compare and hash as two words); longer ones (IPv6 addresses) are shared
/// behind a reference count, so that a clone does not allocate either.
#[derive(Clone, PartialEq, Eq)]
pub struct Id(Repr);

super::data::lengths!(
    /// The length of an inline [`Id`] (0 to 12), as a type whose other byte values are free:
    /// they mark the heap variant, so that an `Id` is 16 bytes and not 24.
    Len,
    LENS,
    INLINE,
    [L0, L1, L2, L3, L4, L5, L6, L7, L8, L9, L10, L11, L12]
);

/// Longest ID stored inline.
///
/// Twelve, not the fifteen that would fit: the compiler moves an array field piece by piece,
/// and 15 bytes go as 8 + 4 + 4 overlapping by one, so that the next read of the middle piece
/// cannot be served from the store buffer and waits for every store before it to reach the
/// cache (hundreds of cycles while a large table is being filled). Twelve go as 8 + 4.
const INLINE: usize = 12;

/// An inline ID: its bytes, zero-padded, then its length; 16 bytes aligned on 8, built in
/// registers and compared and hashed by whole words.
#[derive(Clone, Copy)]
#[repr(C, align(8))]
struct Inline {
    b: [u8; INLINE],
    l: Len,
}

impl Inline {
    /// The bytes and the length as one number, read the way they are stored (8 + 4 + 1).
    fn word(&self) -> u128 {
        let [b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11] = self.b;
        let lo = u64::from_le_bytes([b0, b1, b2, b3, b4, b5, b6, b7]);
        let hi = u32::from_le_bytes([b8, b9, b10, b11]);
        u128::from(lo) | u128::from(hi) << 64 | u128::from(self.l as u8) << 96
    }

    /// `bytes` (at most [`INLINE`] of them), read with at most two loads.
    #[inline]
    fn new(bytes: &[u8], l: Len) -> Self {
        let n = bytes.len();
        let v: u128 = match bytes {
            [] => 0,
            [a] => u128::from(*a),
            [a, b] => u128::from(u16::from_le_bytes([*a, *b])),
            [a, b, c] => u128::from(u16::from_le_bytes([*a, *b])) | u128::from(*c) << 16,
            _ if n < 8 => {
                // Two 4-byte reads that overlap: the bytes they share are the same.
                let lo = bytes
                    .first_chunk::<4>()
                    .map_or(0, |b| u32::from_le_bytes(*b));
                let hi = bytes
                    .last_chunk::<4>()
                    .map_or(0, |b| u32::from_le_bytes(*b));
                u128::from(lo) | u128::from(hi) << (8 * (n - 4))
            }
            _ => {
                let lo = bytes
                    .first_chunk::<8>()
                    .map_or(0, |b| u64::from_le_bytes(*b));
                let hi = bytes
                    .last_chunk::<8>()
                    .map_or(0, |b| u64::from_le_bytes(*b));
                u128::from(lo) | u128::from(hi) << (8 * (n - 8))
            }
        };
        let w = v.to_le_bytes();
        let mut b = [0u8; INLINE];
        b.copy_from_slice(&w[..INLINE]);
        Inline { b, l }
    }
}

impl PartialEq for Inline {
    fn eq(&self, other: &Self) -> bool {
        self.word() == other.word()
    }
}

impl Eq for Inline {}

#[derive(Clone, PartialEq, Eq)]
enum Repr {
    /// Up to [`INLINE`] bytes.
    Inline(Inline),
    /// Longer than [`INLINE`].
    Heap(Arc<Box<[u8]>>),
}

impl Default for Id {
    fn default() -> Self {
        Id(Repr::Inline(Inline {
            b: [0; INLINE],
            l: Len::L0,
        }))
    }
}

impl std::hash::Hash for Id {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        match &self.0 {
            Repr::Inline(i) => state.write_u128(i.word()),
            Repr::Heap(b) => b.hash(state),
        }
    }
}

impl PartialOrd for Id {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Id {
    /// Byte-wise lexicographic (a prefix is smaller).
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl Serialize for Id {
    /// A sequence of byte values.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.as_bytes())
    }
}

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Vec::<u8>::deserialize(d).map(|v| Id::from_bytes(&v))
    }
}

impl Id {
    /// Largest length of an ID on the wire.
    pub const MAX_LEN: usize = 255;

    /// An ID from bytes. Returns `None` when longer than [`Id::MAX_LEN`].
    pub fn new(bytes: &[u8]) -> Option<Self> {
        (bytes.len() <= Self::MAX_LEN).then(|| Id::from_bytes(bytes))
    }

    /// An ID from bytes of any length (callers that take them from the wire have at most 255).
    #[inline]
    pub(crate) fn from_bytes(bytes: &[u8]) -> Self {
        match LENS.get(bytes.len()) {
            Some(&l) => Id(Repr::Inline(Inline::new(bytes, l))),
            None => Id(Repr::Heap(Arc::new(bytes.into()))),
        }
    }

    /// The all-0xFF Receiver ID of the given length (2.3, point-to-multipoint).
    pub fn broadcast(len: usize) -> Self {
        Id::from_bytes(&vec![0xff; len.min(Self::MAX_LEN)])
    }

    /// True when every byte is 0xFF (and there is at least one).
    pub fn is_broadcast(&self) -> bool {
        !self.is_empty() && self.as_bytes().iter().all(|&b| b == 0xff)
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline(i) => &i.b[..i.l as usize],
            Repr::Heap(b) => b,
        }
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        match &self.0 {
            Repr::Inline(i) => i.l as usize,
            Repr::Heap(b) => b.len(),
        }
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Compare as unsigned big-endian numbers; with equal prefixes, the longer is larger
    /// (rfc2334-readings.md #11). This is the order used to elect the CA master (2.2.1).
    pub fn cmp_numeric(&self, other: &Id) -> std::cmp::Ordering {
        // Byte-wise lexicographic comparison is exactly that rule.
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl From<[u8; 4]> for Id {
    fn from(b: [u8; 4]) -> Self {
        Id::from_bytes(&b)
    }
}

impl From<std::net::Ipv4Addr> for Id {
    fn from(a: std::net::Ipv4Addr) -> Self {
        a.octets().into()
    }
}

impl TryFrom<&[u8]> for Id {
    type Error = IdTooLong;
    fn try_from(b: &[u8]) -> Result<Self, IdTooLong> {
        Id::new(b).ok_or(IdTooLong(b.len()))
    }
}

/// An identifier longer than 255 bytes was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("identifier of {0} bytes is longer than 255")]
pub struct IdTooLong(pub usize);

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id({self})")
    }
}

impl fmt::Display for Id {
    /// Four bytes print as a dotted quad (the usual IPv4-derived ID); anything else as hex.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let [a, b, c, d] = self.as_bytes() {
            write!(f, "{a}.{b}.{c}.{d}")
        } else if self.is_empty() {
            f.write_str("-")
        } else {
            for b in self.as_bytes() {
                write!(f, "{b:02x}")?;
            }
            Ok(())
        }
    }
}

pub use super::data::Data;

/// The message types (B.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[repr(u8)]
pub enum MessageType {
    /// Cache Alignment (B.2.1).
    Ca = 1,
    /// Cache State Update Request (B.2.2).
    CsuRequest = 2,
    /// Cache State Update Reply (B.2.3).
    CsuReply = 3,
    /// Cache State Update Solicit (B.2.4).
    Csus = 4,
    /// Hello (B.2.5).
    Hello = 5,
}

impl MessageType {
    /// From the Type Code field.
    pub fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            1 => Self::Ca,
            2 => Self::CsuRequest,
            3 => Self::CsuReply,
            4 => Self::Csus,
            5 => Self::Hello,
            _ => return None,
        })
    }

    /// Short name, as used in traces.
    pub fn name(self) -> &'static str {
        match self {
            Self::Ca => "CA",
            Self::CsuRequest => "CSU-Request",
            Self::CsuReply => "CSU-Reply",
            Self::Csus => "CSUS",
            Self::Hello => "Hello",
        }
    }
}

/// The identity of a cache entry: its Cache Key and Originator ID (2.4).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Serialize, Deserialize)]
pub struct RecordId {
    /// Cache Key.
    pub key: Id,
    /// Originator ID.
    pub origin: Id,
}

/// A Cache State Advertisement Summary record (B.2.0.2).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Csas {
    /// Hop Count. 1 for stand-alone summaries; the administrative value when embedded in a CSA.
    pub hops: u16,
    /// The N bit: a null record (the entry no longer exists at the sender).
    pub null: bool,
    /// CSA Sequence Number, as on the wire; compare with [`crate::seq::newer`].
    pub seq: u32,
    /// Cache Key and Originator ID.
    pub id: RecordId,
}

/// A Cache State Advertisement record (B.2.2.1): a summary plus the protocol-specific part.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Csa {
    /// The embedded summary. Its Record Length is derived on encode.
    pub summary: Csas,
    /// The client/server protocol specific part (empty in a null record).
    #[serde(with = "data_serde")]
    pub data: Data,
}

mod data_serde {
    use super::Data;
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(d: &Data, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(d)
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Data, D::Error> {
        Vec::<u8>::deserialize(d).map(Data::from)
    }
}

/// The Mandatory Common Part (B.2.0.1), without the type-specific Flags and Number of Records
/// (which live in [`Body`]).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Common {
    /// Protocol ID (1 ATMARP, 2 NHRP, 3 MARS, 4 DHCP, 5 LNNI, others opaque).
    pub protocol_id: u16,
    /// Server Group ID.
    pub sgid: u16,
    /// Sender ID.
    pub sender: Id,
    /// Receiver ID (may be empty in a Hello that has heard nobody; all-0xFF for multicast CSUs).
    pub receiver: Id,
}

/// The type-specific part of a message.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum Body {
    /// Cache Alignment (B.2.1).
    Ca {
        /// CA Sequence Number.
        seq: u32,
        /// Master/Slave bit.
        m: bool,
        /// Initialization bit.
        i: bool,
        /// mOre bit.
        o: bool,
        /// Stand-alone CSAS records.
        records: Vec<Csas>,
    },
    /// CSU Request (B.2.2).
    CsuRequest {
        /// CSA records.
        records: Vec<Csa>,
    },
    /// CSU Reply (B.2.3).
    CsuReply {
        /// CSAS records acknowledging CSAs.
        records: Vec<Csas>,
    },
    /// CSU Solicit (B.2.4).
    Csus {
        /// CSAS records of the entries solicited.
        records: Vec<Csas>,
    },
    /// Hello (B.2.5).
    Hello {
        /// HelloInterval, seconds.
        interval: u16,
        /// DeadFactor.
        dead_factor: u16,
        /// Family ID.
        family_id: u16,
        /// Additional Receiver IDs, each with its own length byte on the wire (the first
        /// Receiver ID is in [`Common::receiver`]).
        additional: Vec<Id>,
    },
}

impl Body {
    /// The message type of this body.
    pub fn message_type(&self) -> MessageType {
        match self {
            Body::Ca { .. } => MessageType::Ca,
            Body::CsuRequest { .. } => MessageType::CsuRequest,
            Body::CsuReply { .. } => MessageType::CsuReply,
            Body::Csus { .. } => MessageType::Csus,
            Body::Hello { .. } => MessageType::Hello,
        }
    }

    /// Number of records (or additional receivers, for a Hello).
    pub fn record_count(&self) -> usize {
        match self {
            Body::Ca { records, .. } | Body::CsuReply { records } | Body::Csus { records } => {
                records.len()
            }
            Body::CsuRequest { records } => records.len(),
            Body::Hello { additional, .. } => additional.len(),
        }
    }
}

/// HMAC algorithm of an Authentication extension (B.3.1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AuthAlgorithm {
    /// HMAC-MD5-128 (RFC 2104), the algorithm RFC 2334 requires: a 16-byte MAC.
    HmacMd5,
    /// HMAC-SHA-256: a 32-byte MAC.
    HmacSha256,
}

impl AuthAlgorithm {
    /// Length of the MAC in bytes.
    pub fn mac_len(self) -> usize {
        match self {
            AuthAlgorithm::HmacMd5 => 16,
            AuthAlgorithm::HmacSha256 => 32,
        }
    }
}

/// A manually keyed security association (B.3.1.3): what an SPI stands for.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthKey {
    /// Security Parameter Index.
    pub spi: u32,
    /// HMAC algorithm.
    pub algorithm: AuthAlgorithm,
    /// Secret key.
    pub key: Vec<u8>,
}

impl fmt::Debug for AuthKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthKey")
            .field("spi", &self.spi)
            .field("algorithm", &self.algorithm)
            .field("key", &"<secret>")
            .finish()
    }
}

/// One extension (B.3), in the order it appears. The End extension is implied: it is written
/// whenever the list is not empty and never appears in the list.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum Extension {
    /// SCSP Authentication Extension (B.3.1): SPI and MAC as received (zeroes before signing).
    Authentication {
        /// Security Parameter Index.
        spi: u32,
        /// The Authentication Data (the MAC).
        mac: Vec<u8>,
    },
    /// SCSP Vendor-Private Extension (B.3.2). The Vendor ID is 24 bits.
    VendorPrivate {
        /// IEEE 802 Vendor ID (OUI), 24 bits.
        vendor_id: u32,
        /// Vendor data.
        data: Vec<u8>,
    },
    /// An extension type this implementation does not know, kept as it was.
    Unknown {
        /// Type code.
        kind: u16,
        /// Value.
        value: Vec<u8>,
    },
}

/// A whole SCSP packet.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Packet {
    /// Mandatory common part.
    pub common: Common,
    /// Type-specific part.
    pub body: Body,
    /// Extensions, in order (without the End extension).
    pub extensions: Vec<Extension>,
}

#[cfg(test)]
mod id_tests {
    use super::Id;

    #[test]
    fn ids_are_16_bytes_and_behave_as_byte_strings_at_every_length() {
        assert_eq!(std::mem::size_of::<Id>(), 16);
        assert_eq!(std::mem::size_of::<super::RecordId>(), 32);
        let h = crate::hash::state(7);
        let ids: Vec<Vec<u8>> = (0..=255usize)
            .map(|n| (0..n).map(|i| (i * 7 + n) as u8).collect())
            .collect();
        for b in &ids {
            let id = Id::new(b).unwrap();
            assert_eq!(id.as_bytes(), &b[..]);
            assert_eq!(id.len(), b.len());
            assert_eq!(id.is_empty(), b.is_empty());
            let c = id.clone();
            assert_eq!(c, id);
            assert_eq!(h.hash_one(&c), h.hash_one(&id));
            // Serialized as the sequence of byte values, as before.
            let j = serde_json::to_string(&id).unwrap();
            assert_eq!(j, serde_json::to_string(b).unwrap());
            assert_eq!(serde_json::from_str::<Id>(&j).unwrap(), id);
        }
        assert!(Id::new(&[0; 256]).is_none());
        // Order: byte-wise, a prefix first, across the inline/heap boundary too.
        let mut sorted: Vec<Id> = ids.iter().map(|b| Id::new(b).unwrap()).collect();
        sorted.sort();
        let mut want = ids.clone();
        want.sort();
        let got: Vec<&[u8]> = sorted.iter().map(Id::as_bytes).collect();
        let want: Vec<&[u8]> = want.iter().map(Vec::as_slice).collect();
        assert_eq!(got, want);
        assert!(Id::new(&[1, 2]).unwrap() < Id::new(&[1, 2, 0]).unwrap());
        assert_ne!(Id::new(&[0]).unwrap(), Id::default());
        assert_ne!(Id::new(&[0; 12]).unwrap(), Id::new(&[0; 13]).unwrap());
        assert_ne!(Id::new(&[0; 15]).unwrap(), Id::new(&[0; 16]).unwrap());
        assert!(Id::broadcast(16).is_broadcast() && Id::broadcast(4).is_broadcast());
        assert!(!Id::default().is_broadcast());
    }
}
