//! The reconciliation messages: the Data of an SCSP Vendor-Private extension (B.3.2), after its
//! 24-bit Vendor ID. docs/reconciliation.md §4 has the layouts; every integer is big-endian.

use crate::hash::Key;
use crate::riblt::Cell;

/// The version this code speaks.
pub const VERSION: u8 = 1;

/// The Vendor ID (24 bits) used unless configured otherwise. Not an IEEE assignment: a
/// deployment that owns an OUI should configure it (docs/reconciliation.md §5.1).
pub const DEFAULT_VENDOR_ID: u32 = 0x5C_5350;

/// Octets of one cell on the wire: sum (8), checksum (8), count (4).
pub const CELL_LEN: usize = 20;

/// Octets before the cells of a [`Message::Cells`].
pub const CELLS_HEADER_LEN: usize = 12;

/// Octets before the symbols of a [`Message::Result`].
pub const RESULT_HEADER_LEN: usize = 16;

/// Octets of an SCSP CA message that carries one Vendor-Private extension and no CSAS record,
/// besides the extension's Data, for 4-octet Sender and Receiver IDs: fixed part (8), CA Sequence
/// Number (4), Mandatory Common Part (12 + 4 + 4), extension header and Vendor ID (4 + 3), End
/// extension (4).
pub const CA_CARRIER_LEN: usize = 43;

/// Flags of a [`Message::Capability`].
pub mod flags {
    /// Set reconciliation (Rateless IBLT) in Cache Alignment.
    pub const RECONCILE: u8 = 0x01;
    /// The bulk path for an empty or far-behind learner.
    pub const BULK: u8 = 0x02;
}

/// Flags of a [`Message::Bulk`] (octet 2).
pub mod bulk_flags {
    /// On the end marker: every position of the stream carried a record (none was skipped as
    /// too long, nor emptied while the stream ran).
    pub const WHOLE: u8 = 0x01;
}

/// Flags of a [`Message::BulkAck`] (octet 2).
pub mod ack_flags {
    /// The learner held no entry when it began taking the stream, and stored or already held
    /// every record taken so far (none refused, none waiting for its local server's verdict).
    pub const CLEAN: u8 = 0x01;
}

/// The status of a [`Message::Result`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Status {
    /// The difference decoded; the symbols listed are those the streaming side holds alone.
    Decoded = 0,
    /// Not decoded within the budget: fall back to RFC 2334 Cache Alignment.
    Budget = 1,
    /// Cell 0 showed more differences than the budget decodes: fall back.
    TooMany = 2,
    /// The decoder refused the cells (out of order, inconsistent): fall back.
    Error = 3,
}

/// One reconciliation message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// Kind 0, in every Hello of a server that supports the extension.
    Capability {
        /// [`flags`].
        flags: u8,
        /// Cells this server keeps under its key (the most it can stream).
        cells: u32,
        /// Its key (used when it is the CA master).
        key: Key,
    },
    /// Kind 1, master to slave: cells `start..start + cells.len()`.
    Cells {
        /// Index of the first.
        start: u32,
        /// The cells.
        cells: Vec<Cell>,
    },
    /// Kind 2, slave to master: every cell before `next` arrived; send up to `window` more.
    Request {
        /// Cells received.
        next: u32,
        /// Cells wanted after them.
        window: u32,
    },
    /// Kind 3, slave to master: the outcome, and (decoded) symbols the master holds alone, in
    /// as many messages as needed, each saying where its part starts in the list.
    Result {
        /// The outcome.
        status: Status,
        /// Position of the first symbol here in the whole list.
        offset: u32,
        /// Length of the whole list.
        total: u32,
        /// Symbols of instances the master holds and the slave does not.
        symbols: Vec<u64>,
    },
    /// Kind 4, holder to learner, in a CSU Request of the bulk path: its CSAs are entries
    /// `offset..offset + count` of the stream; `count` 0 ends the stream.
    Bulk {
        /// Position of the packet's first entry in the stream.
        offset: u32,
        /// Entries (CSA records) in the packet.
        count: u16,
        /// [`bulk_flags`] (octet 2).
        flags: u8,
        /// In an offer (offset 0, count 0, in a CA): the number of entries the holder would
        /// stream, so that the learner makes room once (octets 12-15; absent otherwise, and a
        /// receiver that does not know them ignores them).
        total: Option<u32>,
    },
    /// Kind 5, learner to holder: every entry before `next` arrived; send up to `credit` more.
    BulkAck {
        /// Entries received in order.
        next: u32,
        /// Entries the learner accepts after them.
        credit: u32,
        /// [`ack_flags`] (octet 2).
        flags: u8,
    },
}

/// Why a message was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// Shorter than its kind's fixed part.
    #[error("truncated: {len} octets")]
    Truncated {
        /// Octets present.
        len: usize,
    },
    /// A version this code does not speak.
    #[error("version {0}")]
    Version(u8),
    /// An unknown kind.
    #[error("kind {0}")]
    Kind(u8),
    /// The count does not match the length.
    #[error("length {len} does not hold {n} items")]
    Length {
        /// Octets present.
        len: usize,
        /// Items announced.
        n: usize,
    },
    /// An unknown status of a Result.
    #[error("status {0}")]
    Status(u8),
}

fn u32_at(b: &[u8], i: usize) -> u32 {
    u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

fn u64_at(b: &[u8], i: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[i..i + 8]);
    u64::from_be_bytes(a)
}

impl Message {
    /// Appends the message's octets to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.push(VERSION);
        match self {
            Message::Capability { flags, cells, key } => {
                out.extend_from_slice(&[0, *flags, 0]);
                out.extend_from_slice(&cells.to_be_bytes());
                out.extend_from_slice(&key.0);
            }
            Message::Cells { start, cells } => {
                out.extend_from_slice(&[1, 0, 0]);
                out.extend_from_slice(&start.to_be_bytes());
                out.extend_from_slice(&(cells.len() as u16).to_be_bytes());
                out.extend_from_slice(&[0, 0]);
                for c in cells {
                    out.extend_from_slice(&c.sum.to_be_bytes());
                    out.extend_from_slice(&c.checksum.to_be_bytes());
                    out.extend_from_slice(&c.count.to_be_bytes());
                }
            }
            Message::Request { next, window } => {
                out.extend_from_slice(&[2, 0, 0]);
                out.extend_from_slice(&next.to_be_bytes());
                out.extend_from_slice(&window.to_be_bytes());
            }
            Message::Result {
                status,
                offset,
                total,
                symbols,
            } => {
                out.extend_from_slice(&[3, *status as u8, 0]);
                out.extend_from_slice(&(symbols.len() as u16).to_be_bytes());
                out.extend_from_slice(&[0, 0]);
                out.extend_from_slice(&offset.to_be_bytes());
                out.extend_from_slice(&total.to_be_bytes());
                for s in symbols {
                    out.extend_from_slice(&s.to_be_bytes());
                }
            }
            Message::Bulk {
                offset,
                count,
                flags,
                total,
            } => {
                out.extend_from_slice(&[4, *flags, 0]);
                out.extend_from_slice(&offset.to_be_bytes());
                out.extend_from_slice(&count.to_be_bytes());
                out.extend_from_slice(&[0, 0]);
                if let Some(t) = total {
                    out.extend_from_slice(&t.to_be_bytes());
                }
            }
            Message::BulkAck {
                next,
                credit,
                flags,
            } => {
                out.extend_from_slice(&[5, *flags, 0]);
                out.extend_from_slice(&next.to_be_bytes());
                out.extend_from_slice(&credit.to_be_bytes());
            }
        }
    }

    /// The message's octets.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.encode(&mut v);
        v
    }

    /// Reads a message (the whole Data of the extension). Reserved octets are ignored.
    pub fn decode(b: &[u8]) -> Result<Message, WireError> {
        if b.len() < 2 {
            return Err(WireError::Truncated { len: b.len() });
        }
        if b[0] != VERSION {
            return Err(WireError::Version(b[0]));
        }
        let need = |n: usize| {
            if b.len() < n {
                Err(WireError::Truncated { len: b.len() })
            } else {
                Ok(())
            }
        };
        match b[1] {
            0 => {
                need(24)?;
                let mut key = [0u8; 16];
                key.copy_from_slice(&b[8..24]);
                Ok(Message::Capability {
                    flags: b[2],
                    cells: u32_at(b, 4),
                    key: Key(key),
                })
            }
            1 => {
                need(CELLS_HEADER_LEN)?;
                let start = u32_at(b, 4);
                let n = u16::from_be_bytes([b[8], b[9]]) as usize;
                if b.len() != CELLS_HEADER_LEN + n * CELL_LEN {
                    return Err(WireError::Length { len: b.len(), n });
                }
                let cells = b[CELLS_HEADER_LEN..]
                    .chunks_exact(CELL_LEN)
                    .map(|c| Cell {
                        sum: u64_at(c, 0),
                        checksum: u64_at(c, 8),
                        count: u32_at(c, 16),
                    })
                    .collect();
                Ok(Message::Cells { start, cells })
            }
            2 => {
                need(12)?;
                Ok(Message::Request {
                    next: u32_at(b, 4),
                    window: u32_at(b, 8),
                })
            }
            3 => {
                need(RESULT_HEADER_LEN)?;
                let status = match b[2] {
                    0 => Status::Decoded,
                    1 => Status::Budget,
                    2 => Status::TooMany,
                    3 => Status::Error,
                    s => return Err(WireError::Status(s)),
                };
                let n = u16::from_be_bytes([b[4], b[5]]) as usize;
                if b.len() != RESULT_HEADER_LEN + n * 8 {
                    return Err(WireError::Length { len: b.len(), n });
                }
                let offset = u32_at(b, 8);
                let total = u32_at(b, 12);
                if offset as u64 + n as u64 > total as u64 {
                    return Err(WireError::Length { len: b.len(), n });
                }
                let symbols = b[RESULT_HEADER_LEN..]
                    .chunks_exact(8)
                    .map(|c| u64_at(c, 0))
                    .collect();
                Ok(Message::Result {
                    status,
                    offset,
                    total,
                    symbols,
                })
            }
            4 => {
                need(12)?;
                Ok(Message::Bulk {
                    offset: u32_at(b, 4),
                    count: u16::from_be_bytes([b[8], b[9]]),
                    flags: b[2],
                    total: (b.len() >= 16).then(|| u32_at(b, 12)),
                })
            }
            5 => {
                need(12)?;
                Ok(Message::BulkAck {
                    next: u32_at(b, 4),
                    credit: u32_at(b, 8),
                    flags: b[2],
                })
            }
            k => Err(WireError::Kind(k)),
        }
    }
}

/// Cells that fit one packet of `mtu` octets carried as [`CA_CARRIER_LEN`] says (at most 65,535:
/// the count is 16 bits).
pub fn cells_per_packet(mtu: usize) -> u32 {
    (mtu.saturating_sub(CA_CARRIER_LEN + CELLS_HEADER_LEN) / CELL_LEN).min(u16::MAX as usize) as u32
}

/// Symbols that fit one Result packet of `mtu` octets.
pub fn symbols_per_packet(mtu: usize) -> usize {
    (mtu.saturating_sub(CA_CARRIER_LEN + RESULT_HEADER_LEN) / 8).min(u16::MAX as usize)
}
