//! What SCSP leaves to each client/server protocol: the meaning of the protocol specific part of
//! a CSA record, how an entry is deleted, and when it expires.

use std::time::Duration;

use crate::wire::Data;

/// Why a record's protocol specific part was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidRecord(pub String);

/// The protocol-specific rules a server applies to the records it holds.
pub trait Profile: Send + Sync {
    /// Short name, for logs.
    fn name(&self) -> &str;
    /// Check the protocol specific part of a CSA that arrived. A record refused here is
    /// acknowledged (it was received) but neither stored nor forwarded.
    fn validate(&self, data: &[u8]) -> Result<(), InvalidRecord>;
    /// True when this record says the entry is deleted.
    fn is_deletion(&self, data: &[u8]) -> bool;
    /// The record that deletes an entry whose last record was `data`.
    fn deletion_of(&self, data: &[u8]) -> Data;
    /// How long after it is learned a live record expires by itself, if it does.
    fn lifetime(&self, data: &[u8]) -> Option<Duration> {
        let _ = data;
        None
    }
}

/// The opaque profile: any bytes are a valid record, and a record with an empty protocol specific
/// part deletes the entry. Entries do not expire.
#[derive(Debug, Clone, Copy, Default)]
pub struct Opaque;

impl Profile for Opaque {
    fn name(&self) -> &str {
        "opaque"
    }
    fn validate(&self, _data: &[u8]) -> Result<(), InvalidRecord> {
        Ok(())
    }
    fn is_deletion(&self, data: &[u8]) -> bool {
        data.is_empty()
    }
    fn deletion_of(&self, _data: &[u8]) -> Data {
        Data::from(&[][..])
    }
}
