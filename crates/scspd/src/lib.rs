//! `scspd`: the SCSP (RFC 2334) daemon over UDP/IP, compatible with FreeBSD's scspd(8).
#![forbid(unsafe_code)]

pub mod config;
pub mod daemon;

/// The client protocol and the blocking client live in the `scsp-client` crate; re-exported
/// here so that `scspd::proto` and `scspd::client` name them as before.
pub use scsp_client::{client, proto};
