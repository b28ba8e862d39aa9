//! # scsp-recon
//!
//! Set reconciliation for SCSP re-alignment: two servers find the (Cache Key, Originator ID,
//! Sequence Number) instances that differ between their caches with traffic proportional to the
//! number of differences, not to the size of the caches. The method is a Rateless IBLT (Yang,
//! Gilad and Alizadeh, SIGCOMM 2024), chosen by measurement (docs/reconciliation.md §2).
//!
//! Sans-IO like `scsp-core`: no socket, clock or randomness. The key is drawn by the caller.
//!
//! - [`hash`]: the keyed symbol and checksum of an instance, and the cell mapping;
//! - [`riblt`]: the cells of a set kept incrementally ([`Prefix`]), the [`Encoder`] snapshot
//!   and the [`Decoder`] with its budget;
//! - [`wire`]: the messages, carried as the Data of an SCSP Vendor-Private extension;
//! - [`session`]: the master's [`Streamer`] and the slave's [`Receiver`];
//! - [`bulk`]: the bulk path for an empty or far-behind learner, with flow control.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod bulk;
pub mod hash;
pub mod riblt;
pub mod session;
pub mod wire;

pub use bulk::{BulkReceiver, BulkSender, BulkVerdict};
pub use hash::{Instance, Key};
pub use riblt::{Cell, DecodeFailure, Decoder, Encoder, Prefix, PrefixError, Progress, Side};
pub use session::{Outcome, Receiver, Streamer};
pub use wire::{Message, Status, WireError};

/// Cells kept under a key unless configured otherwise: enough for about 20,000 differences
/// (~1.4 cells each at that size); 768 KiB in memory (24 octets a cell); about 21 cells touched
/// per change of the set.
pub const DEFAULT_CELLS: usize = 32_768;
