//! The errors of the codec.
//!
//! Offsets are counted in bytes from the first byte of the fixed part (the top of the packet),
//! which is also how the Start Of Extensions field counts (B.1). Record indexes count from 0.

use super::types::MessageType;

/// Which identifier of the Mandatory Common Part (B.2.0.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdField {
    /// The Sender ID.
    Sender,
    /// The Receiver ID.
    Receiver,
}

impl std::fmt::Display for IdField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            IdField::Sender => "sender id",
            IdField::Receiver => "receiver id",
        })
    }
}

/// Why a packet could not be decoded. Every malformed field has its own variant.
///
/// All of them are structural faults: the packet is to be discarded and counted as an abnormal
/// event (rfc2334-readings.md #18). Fields marked "unused" by RFC 2334 are ignored on receipt and never
/// cause an error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Fewer bytes than the 8-byte fixed part (B.1).
    #[error("packet of {len} bytes is shorter than the 8-byte fixed part")]
    TooShort {
        /// Bytes received.
        len: usize,
    },
    /// The Version field is not 1 (B.1).
    #[error("unsupported version {0} (only version 1 is known)")]
    BadVersion(u8),
    /// The Type Code field is none of 1 to 5 (B.1).
    #[error("unknown message type code {0}")]
    UnknownType(u8),
    /// The Packet Size field differs from the number of bytes received (B.1).
    #[error("packet size field says {field} bytes but {len} were received")]
    SizeMismatch {
        /// Value of the Packet Size field.
        field: u16,
        /// Bytes received.
        len: usize,
    },
    /// The one's complement sum over the packet is not zero (B.1, RFC 1071).
    #[error(
        "bad checksum: the field holds {field:#06x} but the packet's checksum is {computed:#06x}"
    )]
    BadChecksum {
        /// Value of the Checksum field.
        field: u16,
        /// The checksum computed over the packet with the Checksum field taken as zero.
        computed: u16,
    },
    /// The packet ends inside the fixed-length start of the mandatory part (the CA sequence
    /// number or the Hello fields, and the 12 bytes of the Mandatory Common Part).
    #[error("packet of {len} bytes ends inside the mandatory part of its {kind} message, which needs at least {needed}", kind = kind.name())]
    TruncatedMandatory {
        /// Message type.
        kind: MessageType,
        /// Bytes the fixed-length fields need, counted from the top of the packet.
        needed: usize,
        /// Bytes received.
        len: usize,
    },
    /// The Sender ID or Receiver ID runs past the end of the packet.
    #[error(
        "{which} of {id_len} bytes at offset {offset} runs past the end of the packet ({len} bytes)"
    )]
    TruncatedId {
        /// Which ID.
        which: IdField,
        /// Its offset.
        offset: usize,
        /// Its length field.
        id_len: u8,
        /// Bytes received.
        len: usize,
    },
    /// The Start Of Extensions field points beyond the end of the packet.
    #[error("start of extensions at offset {offset} is beyond the end of the packet ({len} bytes)")]
    ExtensionsBeyondPacket {
        /// Value of the Start Of Extensions field.
        offset: u16,
        /// Bytes received.
        len: usize,
    },
    /// The Start Of Extensions field points into the fixed part, the mandatory fields or the
    /// IDs, before the first record could start (rfc2334-readings.md #17: it must point exactly at
    /// the end of the mandatory part).
    #[error(
        "start of extensions at offset {offset} points inside the mandatory part, whose records start at offset {records_start}"
    )]
    ExtensionsInsideMandatory {
        /// Value of the Start Of Extensions field.
        offset: u16,
        /// Offset where the records (or the end of the mandatory part) start.
        records_start: usize,
    },
    /// The mandatory part (which ends at the Start Of Extensions, or at the end of the packet
    /// when there are no extensions) ends before the Number of Records records are all there.
    #[error(
        "record count says {count} but the mandatory part ends at offset {offset} after {found} records"
    )]
    MissingRecords {
        /// Value of the Number of Records field.
        count: u16,
        /// Records found.
        found: u16,
        /// End of the mandatory part.
        offset: usize,
    },
    /// The mandatory part ends inside the fixed 12-byte header of a CSAS or CSA record.
    #[error(
        "record {index} at offset {offset} has only {available} of the 12 bytes of its header before the end of the mandatory part"
    )]
    TruncatedRecordHeader {
        /// Index of the record.
        index: u16,
        /// Its offset.
        offset: usize,
        /// Bytes left in the mandatory part.
        available: usize,
    },
    /// A stand-alone CSAS record (CA, CSU Reply, CSUS) whose Record Length is not
    /// 12 + Cache Key Len + Orig ID Len (B.2.0.2).
    #[error(
        "csas record {index} at offset {offset} has record length {field} but its cache key and originator id make {expected}"
    )]
    CsasLength {
        /// Index of the record.
        index: u16,
        /// Its offset.
        offset: usize,
        /// Value of its Record Length field.
        field: u16,
        /// 12 + Cache Key Len + Orig ID Len.
        expected: usize,
    },
    /// A CSA record (CSU Request) whose Record Length is less than
    /// 12 + Cache Key Len + Orig ID Len (B.2.0.2, B.2.2.1).
    #[error(
        "csa record {index} at offset {offset} has record length {field}, less than the {min} bytes of its summary"
    )]
    CsaLength {
        /// Index of the record.
        index: u16,
        /// Its offset.
        offset: usize,
        /// Value of its Record Length field.
        field: u16,
        /// 12 + Cache Key Len + Orig ID Len.
        min: usize,
    },
    /// A record (or a Hello's Additional Receiver ID record) runs past the end of the mandatory
    /// part.
    #[error(
        "record {index} of {record_len} bytes at offset {offset} runs past the end of the mandatory part at offset {end}"
    )]
    RecordOverrun {
        /// Index of the record.
        index: u16,
        /// Its offset.
        offset: usize,
        /// Its length (from its Record Length field, or 1 + Rec ID Len for a Hello).
        record_len: usize,
        /// End of the mandatory part.
        end: usize,
    },
    /// Bytes left over after the last record, before the start of the extensions or the end of
    /// the packet.
    #[error("{} unexplained bytes after the last record, from offset {offset} to the {} at offset {end}", end.saturating_sub(*offset), if *before_extensions { "start of extensions" } else { "end of the packet" })]
    TrailingBytes {
        /// Offset of the first byte after the last record.
        offset: usize,
        /// Start of the extensions, or end of the packet.
        end: usize,
        /// True when `end` is the Start Of Extensions.
        before_extensions: bool,
    },
    /// Fewer than the 4 bytes of an extension header (Type, Length) remain (B.3).
    #[error("extension header at offset {offset} needs 4 bytes but only {available} remain")]
    TruncatedExtension {
        /// Offset of the header.
        offset: usize,
        /// Bytes left in the packet.
        available: usize,
    },
    /// An extension's value runs past the end of the packet (B.3).
    #[error(
        "extension of type {kind} at offset {offset} with {value_len} value bytes runs past the end of the packet ({len} bytes)"
    )]
    ExtensionOverrun {
        /// Its Type.
        kind: u16,
        /// Offset of its header.
        offset: usize,
        /// Its Length field.
        value_len: u16,
        /// Bytes received.
        len: usize,
    },
    /// Extensions are present (Start Of Extensions is not zero) but the packet ends without an
    /// End Of Extensions (B.3.0).
    #[error("extensions end at offset {offset} without an end of extensions extension")]
    MissingEnd {
        /// End of the packet.
        offset: usize,
    },
    /// The End Of Extensions extension has a non-zero Length (B.3.0).
    #[error("end of extensions at offset {offset} has length {value_len} (must be 0)")]
    EndLength {
        /// Offset of the End extension.
        offset: usize,
        /// Its Length field.
        value_len: u16,
    },
    /// Bytes after the End Of Extensions (rfc2334-readings.md #17: End ends the packet).
    #[error("{} bytes after the end of extensions, from offset {offset}", len.saturating_sub(*offset))]
    BytesAfterEnd {
        /// Offset of the first byte after End.
        offset: usize,
        /// Bytes received.
        len: usize,
    },
    /// An extension type occurs twice (B.3). Vendor-Private extensions may repeat with
    /// different Vendor IDs (B.3.2); see [`DecodeError::DuplicateVendor`].
    #[error("extension type {kind} occurs again at offset {offset} (first at offset {first})")]
    DuplicateExtension {
        /// Type.
        kind: u16,
        /// Offset of the first occurrence.
        first: usize,
        /// Offset of the repeat.
        offset: usize,
    },
    /// Two Vendor-Private extensions with the same Vendor ID (B.3.2).
    #[error(
        "vendor-private extension for vendor {vendor_id:#08x} occurs again at offset {offset} (first at offset {first})"
    )]
    DuplicateVendor {
        /// Vendor ID.
        vendor_id: u32,
        /// Offset of the first occurrence.
        first: usize,
        /// Offset of the repeat.
        offset: usize,
    },
    /// An Authentication extension without room for its 4-byte SPI (B.3.1.1).
    #[error(
        "authentication extension at offset {offset} has {value_len} value bytes, fewer than the 4 of its spi"
    )]
    AuthTooShort {
        /// Offset of the extension header.
        offset: usize,
        /// Its Length field.
        value_len: u16,
    },
    /// A Vendor-Private extension without room for its 3-byte Vendor ID (B.3.2).
    #[error(
        "vendor-private extension at offset {offset} has {value_len} value bytes, fewer than the 3 of its vendor id"
    )]
    VendorPrivateTooShort {
        /// Offset of the extension header.
        offset: usize,
        /// Its Length field.
        value_len: u16,
    },
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
    /// A single record does not fit in a packet of the limit given, even alone.
    #[error("a packet holding only this record needs {len} bytes, more than the limit of {max}")]
    RecordTooLarge {
        /// Bytes a packet holding only this record needs (headers, IDs, extensions and the
        /// record).
        len: usize,
        /// Limit.
        max: usize,
    },
    /// More than 65535 records in one message.
    #[error("{0} records do not fit the 16-bit record count")]
    TooManyRecords(usize),
    /// A Vendor-Private extension whose Vendor ID does not fit in 24 bits (B.3.2).
    #[error("vendor id {0:#x} does not fit in 24 bits")]
    VendorIdTooLarge(u32),
    /// An [`Extension::Unknown`](super::Extension::Unknown) with the type code of End (0),
    /// Authentication (1) or Vendor-Private (2), which have their own variants.
    #[error("extension type {0} cannot be sent as an unknown extension")]
    ReservedExtensionType(u16),
    /// The same extension type twice (or two Vendor-Private extensions with one Vendor ID), which
    /// a receiver must refuse (B.3, B.3.2).
    #[error("extension type {kind} occurs twice")]
    DuplicateExtension {
        /// Type code.
        kind: u16,
    },
    /// The HMAC implementation refused the key (HMAC accepts keys of any length, so this is not
    /// expected to happen).
    #[error("the authentication key was refused by the hmac implementation")]
    InvalidKey,
}

/// Why an authenticated packet was refused (B.3.1.4). Each is an abnormal event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// The packet has no Authentication extension.
    #[error("the packet has no authentication extension")]
    Missing,
    /// No security association is known for the SPI.
    #[error("no key is known for spi {0}")]
    UnknownSpi(u32),
    /// The Authentication Data does not have the length of the MAC of the SPI's algorithm.
    #[error("authentication data of {found} bytes for spi {spi}, whose algorithm makes {expected}")]
    MacLength {
        /// The SPI.
        spi: u32,
        /// The algorithm's MAC length.
        expected: usize,
        /// Bytes received.
        found: usize,
    },
    /// The MAC does not match the packet.
    #[error("the mac for spi {spi} does not match the packet")]
    BadMac {
        /// The SPI.
        spi: u32,
    },
    /// The bytes given are not the encoding of the packet given (their Authentication extension
    /// cannot be found or differs).
    #[error("the bytes do not hold the authentication extension of the decoded packet")]
    Inconsistent,
    /// The HMAC implementation refused the key (not expected: HMAC takes keys of any length).
    #[error("the key for spi {0} was refused by the hmac implementation")]
    InvalidKey(u32),
}
