//! Decoding and encoding of SCSP packets. (Interface; bodies to be written.)

use super::types::*;

/// Why a packet could not be decoded. Every malformed field has its own variant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Placeholder until the codec is written.
    #[error("not implemented")]
    Unimplemented,
}

/// Why a packet could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// The packet would be larger than the limit given (or than 65535 bytes).
    #[error("packet of {len} bytes exceeds the limit of {max}")]
    TooLarge {
        /// Bytes needed.
        len: usize,
        /// Limit.
        max: usize,
    },
    /// A single record does not fit in a packet of the limit given.
    #[error("a record of {len} bytes cannot fit in a packet of at most {max} bytes")]
    RecordTooLarge {
        /// Bytes the record needs.
        len: usize,
        /// Limit.
        max: usize,
    },
    /// More than 65535 records in one message.
    #[error("{0} records do not fit the 16-bit record count")]
    TooManyRecords(usize),
}

/// Why an authenticated packet was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// Placeholder.
    #[error("not implemented")]
    Unimplemented,
}

/// Decode a packet. Checks the version, the Packet Size against `bytes.len()`, the checksum, every
/// length and count, and the extensions. Does not verify an authentication MAC (see
/// [`verify_auth`]).
pub fn decode(bytes: &[u8]) -> Result<Packet, DecodeError> {
    let _ = bytes;
    Err(DecodeError::Unimplemented)
}

/// Encode a packet, with `auth` signing it when given (an Authentication extension is then put
/// first, or replaces the one in `packet.extensions`).
pub fn encode(packet: &Packet, auth: Option<&AuthKey>) -> Result<Vec<u8>, EncodeError> {
    let _ = (packet, auth);
    Err(EncodeError::TooManyRecords(0))
}

/// Verify the Authentication extension of the packet `bytes` (already decoded as `packet`)
/// against the key that `lookup` returns for its SPI.
pub fn verify_auth(
    bytes: &[u8],
    packet: &Packet,
    lookup: impl Fn(u32) -> Option<AuthKey>,
) -> Result<(), AuthError> {
    let _ = (bytes, packet, lookup);
    Err(AuthError::Unimplemented)
}

/// Encoded length of a packet with this common part and body type and no records, plus
/// `ext_len` bytes of extensions (including End).
pub fn overhead(common: &Common, kind: MessageType) -> usize {
    let _ = (common, kind);
    0
}

/// Encoded length of the extensions part that `encode` writes for `auth` and no other extension.
pub fn auth_overhead(auth: Option<&AuthKey>) -> usize {
    let _ = auth;
    0
}

/// Encoded length of a stand-alone CSAS record.
pub fn csas_len(r: &Csas) -> usize {
    CSAS_FIXED_LEN + r.id.key.len() + r.id.origin.len()
}

/// Encoded length of a CSA record.
pub fn csa_len(r: &Csa) -> usize {
    csas_len(&r.summary) + r.data.len()
}
