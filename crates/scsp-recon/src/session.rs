//! The two ends of one reconciliation, sans-IO: messages in, messages and an outcome out
//! (docs/reconciliation.md §5). The carrier (CA messages of RFC 2334 2.2, with their sequence
//! numbers and retransmission) is the caller's: a lost message shows as a timeout, upon which the
//! slave asks again from the first cell it lacks.

use crate::riblt::{Decoder, Encoder, Progress, Side};
use crate::wire::{Message, Status, cells_per_packet, symbols_per_packet};

/// How a reconciliation ended, for one side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The difference is known. `ours`: symbols of instances this side holds alone (it sends
    /// their CSAS records, and the other side solicits what it wants through CSUS, as in RFC
    /// 2334 2.2 after the summaries). `theirs`: symbols the other side holds alone (the slave
    /// knows them; the master does not need them and gets none).
    Decoded {
        /// Held by this side alone.
        ours: Vec<u64>,
        /// Held by the other side alone.
        theirs: Vec<u64>,
    },
    /// Reconciliation failed: both sides run RFC 2334 Cache Alignment's summary exchange.
    Fallback(Status),
}

/// The master's end: streams its cells as they are asked for, then learns the result.
pub struct Streamer {
    encoder: Encoder,
    per_packet: u32,
    // Parts of the Result by offset, until they cover the whole list.
    parts: std::collections::BTreeMap<u32, Vec<u64>>,
    outcome: Option<Outcome>,
}

impl Streamer {
    /// Streams `encoder`'s cells in packets of `mtu` octets.
    pub fn new(encoder: Encoder, mtu: usize) -> Self {
        Streamer {
            encoder,
            per_packet: cells_per_packet(mtu).max(1),
            parts: std::collections::BTreeMap::new(),
            outcome: None,
        }
    }

    /// The outcome, once known.
    pub fn outcome(&self) -> Option<&Outcome> {
        self.outcome.as_ref()
    }

    /// Takes a message from the slave; returns the messages to send (each one packet).
    pub fn on_message(&mut self, m: &Message) -> Vec<Message> {
        if self.outcome.is_some() {
            return Vec::new();
        }
        match m {
            Message::Request { next, window } => {
                let mut out = Vec::new();
                let end = next.saturating_add(*window).min(self.encoder.len());
                let mut i = *next;
                while i < end {
                    let n = self.per_packet.min(end - i);
                    out.push(Message::Cells {
                        start: i,
                        cells: self.encoder.cells(i, n).to_vec(),
                    });
                    i += n;
                }
                if *next >= self.encoder.len() {
                    // Asked beyond what we keep: the slave will see its budget spent.
                    out.push(Message::Cells {
                        start: *next,
                        cells: Vec::new(),
                    });
                }
                out
            }
            Message::Result {
                status,
                offset,
                total,
                symbols,
            } => {
                if *status != Status::Decoded {
                    self.outcome = Some(Outcome::Fallback(*status));
                    return Vec::new();
                }
                self.parts.insert(*offset, symbols.clone());
                // Complete when the parts, in order, run from 0 to the total without a gap.
                let mut at = 0u64;
                for (o, p) in &self.parts {
                    if *o as u64 != at {
                        return Vec::new();
                    }
                    at += p.len() as u64;
                }
                if at == *total as u64 {
                    let ours = std::mem::take(&mut self.parts)
                        .into_values()
                        .flatten()
                        .collect();
                    self.outcome = Some(Outcome::Decoded {
                        ours,
                        theirs: Vec::new(),
                    });
                }
                Vec::new()
            }
            _ => Vec::new(),
        }
    }
}

/// The slave's end: asks for cells, doubling the window each round, decodes, and reports.
pub struct Receiver {
    decoder: Decoder,
    mtu: usize,
    asked_to: u32,
    window: u32,
    outcome: Option<Outcome>,
    result: Vec<Message>,
}

impl Receiver {
    /// Decodes with `decoder`, asking first for `initial_cells` cells (then twice as many each
    /// round) in packets of `mtu` octets.
    pub fn new(decoder: Decoder, mtu: usize, initial_cells: u32) -> Self {
        let window = initial_cells.max(1);
        Receiver {
            decoder,
            mtu,
            asked_to: 0,
            window,
            outcome: None,
            result: Vec::new(),
        }
    }

    /// The outcome, once known.
    pub fn outcome(&self) -> Option<&Outcome> {
        self.outcome.as_ref()
    }

    /// Cells received.
    pub fn received(&self) -> u32 {
        self.decoder.received()
    }

    /// The first request.
    pub fn start(&mut self) -> Message {
        self.request()
    }

    fn request(&mut self) -> Message {
        let next = self.decoder.received();
        let window = self
            .window
            .min(self.decoder.budget().saturating_sub(next).max(1));
        self.asked_to = next.saturating_add(window);
        Message::Request { next, window }
    }

    /// Nothing came in time: ask again from the first cell missing (same window), or, once the
    /// outcome is known, send the Result messages again (the master ignores repeats).
    pub fn on_timeout(&mut self) -> Vec<Message> {
        if self.outcome.is_some() {
            return self.result.clone();
        }
        vec![self.request()]
    }

    fn finish(&mut self, status: Status) -> Vec<Message> {
        let out = self.outcome_messages(status);
        self.result = out.clone();
        out
    }

    fn outcome_messages(&mut self, status: Status) -> Vec<Message> {
        if status != Status::Decoded {
            self.outcome = Some(Outcome::Fallback(status));
            return vec![Message::Result {
                status,
                offset: 0,
                total: 0,
                symbols: Vec::new(),
            }];
        }
        let mut ours = Vec::new();
        let mut theirs = Vec::new();
        for (s, side) in self.decoder.difference() {
            match side {
                Side::Local => ours.push(s),
                Side::Remote => theirs.push(s),
            }
        }
        let per = symbols_per_packet(self.mtu).max(1);
        let total = theirs.len() as u32;
        let mut out: Vec<Message> = theirs
            .chunks(per)
            .enumerate()
            .map(|(i, c)| Message::Result {
                status: Status::Decoded,
                offset: (i * per) as u32,
                total,
                symbols: c.to_vec(),
            })
            .collect();
        if out.is_empty() {
            out.push(Message::Result {
                status: Status::Decoded,
                offset: 0,
                total: 0,
                symbols: Vec::new(),
            });
        }
        self.outcome = Some(Outcome::Decoded { ours, theirs });
        out
    }

    /// Takes a message from the master; returns the messages to send.
    pub fn on_message(&mut self, m: &Message) -> Vec<Message> {
        if self.outcome.is_some() {
            return Vec::new();
        }
        let Message::Cells { start, cells } = m else {
            return Vec::new();
        };
        if cells.is_empty() && *start >= self.decoder.received() {
            // The master has no more cells: the budget is what it keeps.
            return self.finish(Status::Budget);
        }
        match self.decoder.receive(*start, cells) {
            Ok(Progress::Done) => self.finish(Status::Decoded),
            Ok(Progress::More) => {
                if self.decoder.received() >= self.asked_to {
                    self.window = self.window.saturating_mul(2);
                    vec![self.request()]
                } else {
                    Vec::new()
                }
            }
            Err(crate::riblt::DecodeFailure::Budget(_)) => self.finish(Status::Budget),
            Err(crate::riblt::DecodeFailure::TooMany(_)) => self.finish(Status::TooMany),
            Err(_) => self.finish(Status::Error),
        }
    }
}
