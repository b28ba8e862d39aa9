//! Decoding and encoding of SCSP packets: the public entry points.
//!
//! The work is done in `decode.rs`, `encode.rs`, `auth.rs`, `checksum.rs` and `split.rs`; this
//! file is the interface the rest of the crate uses.
//!
//! Readings of RFC 2334 this codec takes (see also `docs/rfc2334-readings.md`):
//!
//! - B.1: the checksum pads an odd-length packet with a 0x00 byte at the end, so the last byte is
//!   the high octet of the final word (the HARP daemon got this wrong).
//! - B.1 and rfc2334-readings.md #17: Start Of Extensions is 0 without extensions, otherwise exactly the
//!   end of the mandatory part; the extensions end with End, and End ends the packet. The
//!   records are read up to the Start Of Extensions (or the end of the packet), so an offset that
//!   falls among the records is reported as a record running past the end of the mandatory part
//!   (or as missing records), one beyond the last record as trailing bytes, and one inside the
//!   fixed fields or IDs as [`DecodeError::ExtensionsInsideMandatory`].
//! - B.2.0.2: a stand-alone CSAS record's Record Length is exactly 12 + key + originator; a CSA's
//!   is at least that, the rest being the protocol specific part.
//! - B.2.5: each Additional Receiver ID record has its own length byte (HARP's did not).
//! - B.3, B.3.2: an extension type occurs at most once, except Vendor-Private, at most once per
//!   Vendor ID (24 bits). Unknown types are kept as they are.
//! - Unused fields and flag bits are ignored on receipt and sent as zero (rfc2334-readings.md #18).
//! - Zero-length IDs and cache keys are accepted: whether they make sense is for the protocol
//!   layer to decide.
//! - B.3.1.4 and rfc2334-readings.md #1: the MAC covers the whole packet with the Checksum field and
//!   the Authentication Data zero; the checksum is computed last, over the packet with the MAC.

use std::ops::Range;

pub use super::checksum::checksum;
pub use super::error::{AuthError, DecodeError, EncodeError, IdField};
use super::types::*;
use super::{auth, decode as dec, encode as enc, split};

/// Decode a packet. Checks the version, the Packet Size against `bytes.len()`, the checksum, every
/// length and count, and the extensions. Does not verify an authentication MAC (see
/// [`verify_auth`]).
///
/// Linear in the length of the packet; allocates the record list, a shared buffer for the data
/// of each CSA record, and IDs longer than 8 bytes.
pub fn decode(bytes: &[u8]) -> Result<Packet, DecodeError> {
    dec::decode(bytes)
}

/// Encode a packet, with `auth` signing it when given (an Authentication extension is then put
/// first, or replaces the one in `packet.extensions`).
///
/// Record Lengths, the Number of Records, the Start Of Extensions, the Packet Size and the
/// checksum are derived; unused fields are written as zero; End is written when at least one
/// extension is. The output is allocated once, at its exact size.
///
/// Fails, without panicking, when the packet would exceed 65535 bytes or 65535 records, or holds
/// extensions a receiver must refuse (a type twice, a Vendor ID twice or wider than 24 bits, an
/// [`Extension::Unknown`] with type 0, 1 or 2).
pub fn encode(packet: &Packet, auth: Option<&AuthKey>) -> Result<Vec<u8>, EncodeError> {
    enc::encode(packet, auth)
}

/// Verify the Authentication extension of the packet `bytes` (already decoded as `packet`)
/// against the key that `lookup` returns for its SPI.
///
/// The MAC is recomputed over `bytes` with the Checksum field and the Authentication Data taken
/// as zero (nothing is copied) and compared in constant time.
pub fn verify_auth(
    bytes: &[u8],
    packet: &Packet,
    lookup: impl Fn(u32) -> Option<AuthKey>,
) -> Result<(), AuthError> {
    auth::verify_auth(bytes, packet, lookup)
}

/// Encoded length of a packet with this common part and body type, no records and no
/// extensions: the fixed part (8), the type-specific fields (CA: 4, Hello: 8, others 0), the
/// Mandatory Common Part (12) and the Sender and Receiver IDs.
pub fn overhead(common: &Common, kind: MessageType) -> usize {
    enc::overhead(common, kind)
}

/// Encoded length of the extensions part that `encode` writes for `auth` and no other extension:
/// the Authentication extension (4 header + 4 SPI + MAC) and End (4); 0 without `auth`.
pub fn auth_overhead(auth: Option<&AuthKey>) -> usize {
    enc::extensions_len(&[], auth)
}

/// Encoded length of the extensions part that `encode` writes for `extensions` and `auth`
/// (including End when there is any extension; 0 when there is none).
pub fn extensions_len(extensions: &[Extension], auth: Option<&AuthKey>) -> usize {
    enc::extensions_len(extensions, auth)
}

/// Length of the bytes [`encode`] writes for `packet` and `auth` (when it succeeds).
pub fn encoded_len(packet: &Packet, auth: Option<&AuthKey>) -> usize {
    enc::encoded_len(packet, auth)
}

/// Encoded length of a stand-alone CSAS record.
pub fn csas_len(r: &Csas) -> usize {
    CSAS_FIXED_LEN + r.id.key.len() + r.id.origin.len()
}

/// Encoded length of a CSA record.
pub fn csa_len(r: &Csa) -> usize {
    csas_len(&r.summary) + r.data.len()
}

/// Split stand-alone CSAS records into runs that each fit one packet of at most `max_len` bytes
/// (and at most 65535 records).
///
/// `kind` is the message they go in (CA, CSU Reply or CSUS: for a CA the 4-byte CA Sequence
/// Number is counted), `common` its common part, and `ext_len` the bytes of extensions each
/// packet will carry, End included (e.g. [`auth_overhead`] or [`extensions_len`]). `max_len` above
/// 65535 counts as 65535.
///
/// Returns consecutive, non-overlapping ranges of indexes into `records` that cover all of them in
/// order; greedy, so every packet but the last is as full as it can be. An empty `records` gives
/// one empty range (one empty message, such as the empty CA that ends an alignment).
///
/// Errors: [`EncodeError::TooLarge`] when even a packet with no records exceeds `max_len`;
/// [`EncodeError::RecordTooLarge`] when a record does not fit alone.
///
/// ```
/// use scsp_core::wire::*;
/// let common = Common { protocol_id: 1, sgid: 1, sender: [10, 0, 0, 1].into(), receiver: [10, 0, 0, 2].into() };
/// let rec = |k: u8| Csas {
///     hops: 1, null: false, seq: SEQ_FIRST,
///     id: RecordId { key: [0, 0, 0, k].into(), origin: [10, 0, 0, 1].into() },
/// };
/// let records: Vec<Csas> = (0..100).map(rec).collect();
/// // 32 bytes of CA headers + 20 bytes per record: 3 records fit in 100 bytes.
/// let runs = split_csas(&common, MessageType::Ca, &records, 100, 0).unwrap();
/// assert_eq!(runs.len(), 34);
/// assert_eq!(runs[0], 0..3);
/// assert_eq!(runs[33], 99..100);
/// ```
pub fn split_csas(
    common: &Common,
    kind: MessageType,
    records: &[Csas],
    max_len: usize,
    ext_len: usize,
) -> Result<Vec<Range<usize>>, EncodeError> {
    split::split(
        overhead(common, kind) + ext_len,
        records.iter().map(csas_len),
        max_len,
    )
}

/// Split CSA records into runs that each fit one CSU Request of at most `max_len` bytes (and at
/// most 65535 records). Same contract as [`split_csas`].
pub fn split_csa(
    common: &Common,
    records: &[Csa],
    max_len: usize,
    ext_len: usize,
) -> Result<Vec<Range<usize>>, EncodeError> {
    split::split(
        overhead(common, MessageType::CsuRequest) + ext_len,
        records.iter().map(csa_len),
        max_len,
    )
}
