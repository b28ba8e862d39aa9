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

pub mod wire;
