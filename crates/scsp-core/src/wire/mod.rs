//! The SCSP wire format (RFC 2334 Appendix B): messages, records, extensions, and their codec.
//!
//! Every multi-byte field is big-endian. A packet is the 8-byte fixed part (B.1), the mandatory part
//! of its message type (B.2), and an optional extensions part (B.3). [`decode`] checks every length
//! and field before it builds a [`Packet`]; [`encode`] writes one; [`split_csas`] and [`split_csa`]
//! split a list of records into as many packets as a maximum packet size allows.

mod auth;
mod checksum;
mod codec;
mod data;
mod decode;
mod encode;
mod error;
mod split;
mod types;

pub use codec::*;
pub use data::DATA_INLINE;
pub use types::*;
