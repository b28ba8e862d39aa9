//! Several server groups in one process (2: "a separate instance of SCSP is run for each instance
//! of the given protocol"): each [`Server`] is independent; a [`Node`] routes what arrives on a
//! shared transport to the one whose Protocol ID and Server Group ID the packet names.

use crate::wire::{FIXED_LEN, MessageType};
use crate::{DcsId, Server, Time, Transmit};

/// The Protocol ID and Server Group ID of a packet, read without decoding the rest.
/// `None` when the packet is too short or of an unknown type (it is then no group's).
pub fn peek_group(bytes: &[u8]) -> Option<(u16, u16)> {
    let kind = MessageType::from_code(*bytes.get(1)?)?;
    let common = FIXED_LEN
        + match kind {
            MessageType::Ca => 4,
            MessageType::Hello => 8,
            _ => 0,
        };
    let b = bytes.get(common..common + 4)?;
    Some((
        u16::from_be_bytes([b[0], b[1]]),
        u16::from_be_bytes([b[2], b[3]]),
    ))
}

/// A set of independent servers, one per (Protocol ID, SGID).
#[derive(Debug, Default)]
pub struct Node {
    servers: Vec<Server>,
}

/// Handle of a server within a [`Node`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServerIdx(pub usize);

/// Why a server could not be added.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a server for protocol {0} and server group {1} exists already")]
pub struct DuplicateGroup(pub u16, pub u16);

impl Node {
    /// An empty node.
    pub fn new() -> Self {
        Node::default()
    }

    /// Add a server; its (Protocol ID, SGID) must be new.
    pub fn add(&mut self, server: Server) -> Result<ServerIdx, DuplicateGroup> {
        let key = (server.config().protocol_id, server.config().sgid);
        if self.find(key.0, key.1).is_some() {
            return Err(DuplicateGroup(key.0, key.1));
        }
        self.servers.push(server);
        Ok(ServerIdx(self.servers.len() - 1))
    }

    /// The server of a group.
    pub fn find(&self, protocol_id: u16, sgid: u16) -> Option<ServerIdx> {
        self.servers
            .iter()
            .position(|s| s.config().protocol_id == protocol_id && s.config().sgid == sgid)
            .map(ServerIdx)
    }

    /// A server by handle.
    pub fn server(&self, i: ServerIdx) -> Option<&Server> {
        self.servers.get(i.0)
    }

    /// A server by handle, to drive it.
    pub fn server_mut(&mut self, i: ServerIdx) -> Option<&mut Server> {
        self.servers.get_mut(i.0)
    }

    /// A packet arrived from the peer that `dcs_of` maps to a DCS of the addressed server.
    /// Returns the server it went to, or `None` when no server has that group or that peer.
    pub fn handle_datagram(
        &mut self,
        now: Time,
        bytes: &[u8],
        dcs_of: impl FnOnce(ServerIdx, &Server) -> Option<DcsId>,
    ) -> Option<ServerIdx> {
        let (pid, sgid) = peek_group(bytes)?;
        let i = self.find(pid, sgid)?;
        let server = &mut self.servers[i.0];
        let dcs = dcs_of(i, server)?;
        server.handle_datagram(now, dcs, bytes);
        Some(i)
    }

    /// Run every server's timers that are due.
    pub fn handle_timeout(&mut self, now: Time) {
        for s in &mut self.servers {
            if s.poll_timeout().is_some_and(|t| t <= now) {
                s.handle_timeout(now);
            }
        }
    }

    /// The earliest deadline of any server.
    pub fn poll_timeout(&mut self) -> Option<Time> {
        self.servers
            .iter_mut()
            .filter_map(Server::poll_timeout)
            .min()
    }

    /// The next packet of any server.
    pub fn poll_transmit(&mut self) -> Option<(ServerIdx, Transmit)> {
        self.servers
            .iter_mut()
            .enumerate()
            .find_map(|(i, s)| s.poll_transmit().map(|t| (ServerIdx(i), t)))
    }

    /// Number of servers.
    pub fn len(&self) -> usize {
        self.servers.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.servers.is_empty()
    }
}
