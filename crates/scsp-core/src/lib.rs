//! # scsp-core
//!
//! A sans-IO implementation of the Server Cache Synchronization Protocol (SCSP, RFC 2334).
//!
//! Nothing in this crate opens a socket, reads a clock or draws a random number. A [`Server`]
//! is driven by the caller with the current [`Time`] and an input (a packet from a DCS, a timer,
//! a local cache change, a link event) and hands back what it wants done: packets to send, the next
//! deadline, cache changes for the local server and trace events.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod cache;
pub mod config;
pub mod event;
pub mod hash;
pub mod node;
pub mod profile;
pub mod seq;
mod server;
pub mod time;
pub mod wire;

pub use cache::{Cache, Entry};
pub use config::{DcsConfig, ServerConfig};
pub use event::{CaState, CacheChange, Event, HelloState, Trace, Transmit};
pub use node::{Node, ServerIdx, peek_group};
pub use profile::{Opaque, Profile};
pub use server::replay::{self, ReplayMode};
pub use server::{
    DcsId, DcsInfo, DcsStats, LocalError, MessageCounts, RECON_VENDOR_ID, ReconStats, Restored,
    SavedEntry, Server,
};
pub use time::Time;
