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
                if next.saturating_add(*window) > self.encoder.len() {
                    // Asked beyond what we keep: an empty Cells after the last says so, and the
                    // slave, having all before it, sees its budget spent.
                    out.push(Message::Cells {
                        start: self.encoder.len().max(*next),
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
                // A list longer than the cells we stream cannot come from a decoder (bounds
                // the parts kept: at most one per offset below the total).
                if *total > self.encoder.len() {
                    self.outcome = Some(Outcome::Fallback(Status::Error));
                    return Vec::new();
                }
                if *offset as u64 + symbols.len() as u64 > *total as u64 {
                    return Vec::new(); // malformed (the wire decoder refuses it too)
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

    /// The master's instances less this side's, as cell 0 showed them (once it arrived).
    pub fn size_difference(&self) -> Option<i32> {
        self.decoder.size_difference()
    }

    /// Whether cell 0 showed the master holding more instances than this side (the condition
    /// of the bulk path, docs/reconciliation.md §8, with status 2).
    pub fn remote_larger(&self) -> bool {
        self.decoder.size_difference().is_some_and(|d| d > 0)
    }

    /// Whether cell 0 showed this side holding more instances than the master.
    pub fn local_larger(&self) -> bool {
        self.decoder.size_difference().is_some_and(|d| d < 0)
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
        if cells.is_empty() {
            // The master has no cells from `start` on: if we have all before, the budget is what
            // it keeps; after a gap, the timer asks again for what is missing.
            if *start == self.decoder.received() {
                return self.finish(Status::Budget);
            }
            return Vec::new();
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Instance, Key, Prefix};

    fn prefix(n: u32, cells: usize) -> Prefix<u32> {
        let mut p = Prefix::new(Key([1; 16]), cells);
        for i in 0..n {
            let k = i.to_be_bytes();
            p.insert(
                &Instance {
                    cache_key: &k,
                    originator: &[1, 2, 3, 4],
                    seq: 1,
                },
                i,
            )
            .unwrap();
        }
        p
    }

    #[test]
    fn request_is_answered_in_packets_that_fit_and_never_beyond_the_cells() {
        let p = prefix(10, 200);
        let mut s = Streamer::new(Encoder::new(&p), 1472);
        let out = s.on_message(&Message::Request {
            next: 0,
            window: u32::MAX,
        });
        let sizes: Vec<usize> = out
            .iter()
            .map(|m| match m {
                Message::Cells { cells, .. } => cells.len(),
                _ => usize::MAX,
            })
            .collect();
        assert_eq!(sizes, [70, 70, 60, 0]);
        let out = s.on_message(&Message::Request {
            next: 500,
            window: 10,
        });
        assert_eq!(
            out,
            [Message::Cells {
                start: 500,
                cells: vec![]
            }]
        );
    }

    #[test]
    fn result_longer_than_the_cells_is_refused() {
        let p = prefix(10, 64);
        let mut s = Streamer::new(Encoder::new(&p), 1472);
        s.on_message(&Message::Result {
            status: Status::Decoded,
            offset: 0,
            total: 65,
            symbols: vec![],
        });
        assert_eq!(s.outcome(), Some(&Outcome::Fallback(Status::Error)));
    }

    #[test]
    fn result_parts_out_of_order_and_repeated() {
        let p = prefix(10, 64);
        let mut s = Streamer::new(Encoder::new(&p), 1472);
        let part = |offset, symbols: Vec<u64>| Message::Result {
            status: Status::Decoded,
            offset,
            total: 3,
            symbols,
        };
        s.on_message(&part(2, vec![30]));
        s.on_message(&part(2, vec![30]));
        assert_eq!(s.outcome(), None);
        s.on_message(&part(0, vec![10, 20]));
        assert_eq!(
            s.outcome(),
            Some(&Outcome::Decoded {
                ours: vec![10, 20, 30],
                theirs: vec![]
            })
        );
    }

    #[test]
    fn a_lost_cells_packet_is_asked_for_again() {
        let a = prefix(300, 1024);
        let b = prefix(250, 1024);
        let mut s = Streamer::new(Encoder::new(&a), 1472);
        let mut r = Receiver::new(Decoder::new(&b, 1024), 1472, 140);
        let cells = s.on_message(&r.start());
        assert_eq!(cells.len(), 2);
        // The first packet is lost: the second is dropped, nothing is asked until the timer.
        assert!(r.on_message(&cells[1]).is_empty());
        assert_eq!(r.received(), 0);
        let again = r.on_timeout();
        assert_eq!(
            again,
            [Message::Request {
                next: 0,
                window: 140
            }]
        );
        let mut to_master = again;
        for _ in 0..20 {
            let mut to_slave = Vec::new();
            for m in &to_master {
                to_slave.extend(s.on_message(m));
            }
            to_master.clear();
            for m in &to_slave {
                to_master.extend(r.on_message(m));
            }
            if to_master.is_empty() {
                break;
            }
        }
        match r.outcome() {
            Some(Outcome::Decoded { ours, theirs }) => {
                assert!(ours.is_empty());
                assert_eq!(theirs.len(), 50);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(s.outcome(), Some(Outcome::Decoded { ours, .. }) if ours.len() == 50));
    }
}
