//! A blocking client for scspd's local socket: the messages of the client protocol
//! ([`proto`], specified in docs/client-protocol.md) and a client that speaks it over a UNIX
//! stream socket ([`Client`]): requests and their replies, attach and the notifications that
//! follow, confirmations, handovers. It needs no async runtime.
//!
//! ```no_run
//! use scsp_client::{Client, proto::{Request, Response}};
//!
//! let mut c = Client::connect_as("/run/scspd.sock", "example")?;
//! if let Response::Servers { servers } = c.request(Request::ShowServers)? {
//!     for s in servers {
//!         println!("{}: {} entries", s.name, s.entries);
//!     }
//! }
//! # Ok::<(), scsp_client::ClientError>(())
//! ```
//!
//! `examples/local_server.rs` is a complete local server: it attaches, hands its table over
//! after every (re)connection, and follows the group's changes.
#![forbid(unsafe_code)]

pub mod client;
pub mod proto;

pub use client::{Client, ClientError, FrameError};
