//! `scspd`: the SCSP (RFC 2334) daemon over UDP/IP, compatible with FreeBSD's scspd(8).
#![forbid(unsafe_code)]

pub mod client;
pub mod config;
pub mod daemon;
pub mod proto;
