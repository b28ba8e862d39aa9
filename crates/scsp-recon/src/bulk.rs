//! The bulk path for a learner whose cache is empty or far behind (docs/reconciliation.md §8):
//! the holder streams its entries in CSU Requests without summaries or solicitations, the learner
//! acknowledges them cumulatively and grants credit (flow control). Sans-IO: the caller packs the
//! records the sender names into packets, each with a [`Message::Bulk`]; lost packets are sent
//! again from the first one not acknowledged (go-back-N) when the caller's timer expires.

use crate::wire::{Message, ack_flags};

/// The holder's end. Entries are numbered 0..total in the order of a snapshot the caller keeps
/// (for scsp-core, the cache's slot order at the start).
#[derive(Debug, Clone)]
pub struct BulkSender {
    total: u32,
    next: u32,
    acked: u32,
    limit: u32,
    ended: bool,
}

impl BulkSender {
    /// Streams `total` entries; may send `initial_credit` before the first acknowledgement.
    pub fn new(total: u32, initial_credit: u32) -> Self {
        BulkSender {
            total,
            next: 0,
            acked: 0,
            limit: initial_credit.min(total),
            ended: false,
        }
    }

    /// The next entries to send, at most `max` (what fits a packet): `(offset, count)`, or the end
    /// marker `(total, 0)` once all are sent and it has not been sent since the last timeout (the
    /// learner acknowledges it at once, so the last entries need no wait for a half window);
    /// None while credit is spent or all is sent.
    pub fn next_batch(&mut self, max: u32) -> Option<(u32, u32)> {
        if self.next < self.limit {
            let n = max.max(1).min(self.limit - self.next);
            let at = self.next;
            self.next += n;
            return Some((at, n));
        }
        if self.next == self.total && !self.ended {
            self.ended = true;
            return Some((self.total, 0));
        }
        None
    }

    /// The message that goes with a batch; `flags` ([`crate::wire::bulk_flags`]) matter on the
    /// end marker only.
    pub fn message(offset: u32, count: u32, flags: u8) -> Message {
        Message::Bulk {
            offset,
            count: count as u16,
            flags,
            total: None,
        }
    }

    /// The learner acknowledged every entry before `next` and accepts `credit` more.
    pub fn on_ack(&mut self, next: u32, credit: u32) {
        let next = next.min(self.total);
        if next < self.acked {
            return; // an old acknowledgement
        }
        self.acked = next;
        self.next = self.next.max(next);
        self.limit = self.limit.max(next.saturating_add(credit).min(self.total));
    }

    /// Nothing acknowledged in time: send again from the first entry not acknowledged.
    pub fn on_timeout(&mut self) {
        self.next = self.acked;
        self.ended = false;
    }

    /// The position of the next entry [`BulkSender::next_batch`] would send.
    pub fn position(&self) -> u32 {
        self.next
    }

    /// Entries the credit allows beyond those sent.
    pub fn credit_left(&self) -> u32 {
        self.limit.saturating_sub(self.next)
    }

    /// The number of entries in the stream.
    pub fn total(&self) -> u32 {
        self.total
    }

    /// Entries acknowledged.
    pub fn acked(&self) -> u32 {
        self.acked
    }

    /// Whether the learner has every entry and the end marker went out.
    pub fn done(&self) -> bool {
        self.acked == self.total && self.ended
    }
}

/// What the learner does with a bulk packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkVerdict {
    /// Take the packet's records (store them as solicited records): it is the next in order.
    pub accept: bool,
    /// The stream is complete (the end marker arrived with nothing missing).
    pub complete: bool,
    /// The acknowledgement to send now, if any.
    pub ack: Option<Message>,
}

/// The learner's end: takes packets in order, acknowledges each half window, and at once on a gap
/// (so that the holder's timer is the only wait after a loss) and at the end.
#[derive(Debug, Clone)]
pub struct BulkReceiver {
    next: u32,
    window: u32,
    acked: u32,
    clean: bool,
}

impl BulkReceiver {
    /// Grants `window` entries of credit beyond what is acknowledged. `clean`: the learner holds
    /// no entry as it begins (its acknowledgements say so with [`ack_flags::CLEAN`] until
    /// [`BulkReceiver::taint`]).
    pub fn new(window: u32, clean: bool) -> Self {
        BulkReceiver {
            next: 0,
            window: window.max(1),
            acked: 0,
            clean,
        }
    }

    /// A record of the stream was not stored (refused, or waiting for a verdict): the
    /// acknowledgements no longer say the learner is clean.
    pub fn taint(&mut self) {
        self.clean = false;
    }

    /// Whether the acknowledgements still say the learner is clean.
    pub fn clean(&self) -> bool {
        self.clean
    }

    /// Entries received in order.
    pub fn received(&self) -> u32 {
        self.next
    }

    /// The last acknowledgement sent again, without changing anything (a packet that came
    /// after the stream was complete).
    pub fn ack_again(&mut self) -> Message {
        self.ack()
    }

    fn ack(&mut self) -> Message {
        self.acked = self.next;
        Message::BulkAck {
            next: self.next,
            credit: self.window,
            flags: if self.clean { ack_flags::CLEAN } else { 0 },
        }
    }

    /// A packet with a [`Message::Bulk`] `(offset, count)` arrived.
    pub fn on_bulk(&mut self, offset: u32, count: u16) -> BulkVerdict {
        let count = u32::from(count);
        if offset != self.next {
            // A duplicate (already taken) or after a gap: not taken; acknowledge what we have.
            return BulkVerdict {
                accept: false,
                complete: false,
                ack: Some(self.ack()),
            };
        }
        if count == 0 {
            return BulkVerdict {
                accept: false,
                complete: true,
                ack: Some(self.ack()),
            };
        }
        self.next = self.next.saturating_add(count);
        let ack = (self.next - self.acked >= self.window / 2).then(|| self.ack());
        BulkVerdict {
            accept: true,
            complete: false,
            ack,
        }
    }

    /// Nothing arrived in time: acknowledge again (the holder may have lost the last one).
    pub fn on_timeout(&mut self) -> Message {
        self.ack()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs a stream of `total` entries, `per` a packet, losing the packets whose position in
    /// the sequence of sends is in `lose` (both ways); returns the order entries were taken in.
    fn run(total: u32, per: u32, credit: u32, lose: &[usize]) -> (Vec<u32>, usize) {
        let mut s = BulkSender::new(total, credit);
        let mut r = BulkReceiver::new(credit, true);
        let mut taken = Vec::new();
        let mut sends = 0usize;
        let mut complete = false;
        for _round in 0..10_000 {
            let mut progressed = false;
            while let Some((off, n)) = s.next_batch(per) {
                sends += 1;
                progressed = true;
                if lose.contains(&sends) {
                    continue;
                }
                let Message::Bulk { offset, count, .. } =
                    Message::decode(&BulkSender::message(off, n, 0).to_bytes()).unwrap()
                else {
                    unreachable!()
                };
                let v = r.on_bulk(offset, count);
                if v.accept {
                    taken.extend(offset..offset + u32::from(count));
                }
                complete |= v.complete;
                if let Some(Message::BulkAck { next, credit, .. }) = v.ack {
                    sends += 1;
                    if !lose.contains(&sends) {
                        s.on_ack(next, credit);
                    }
                }
            }
            if s.done() && complete {
                break;
            }
            if !progressed {
                // Both timers: the holder goes back, the learner acknowledges again.
                s.on_timeout();
                if let Message::BulkAck { next, credit, .. } = r.on_timeout() {
                    s.on_ack(next, credit);
                }
            }
        }
        assert!(s.done() && complete, "stream did not finish");
        (taken, sends)
    }

    #[test]
    fn bulk_stream_takes_every_entry_once_in_order() {
        let (taken, _) = run(1000, 70, 512, &[]);
        assert_eq!(taken, (0..1000).collect::<Vec<_>>());
    }

    #[test]
    fn bulk_stream_survives_losses_either_way() {
        for lose in [vec![1], vec![2, 3], vec![5, 9, 13], vec![30, 31, 32, 33]] {
            let (taken, _) = run(1000, 70, 512, &lose);
            assert_eq!(taken, (0..1000).collect::<Vec<_>>(), "lose {lose:?}");
        }
    }

    #[test]
    fn bulk_credit_bounds_what_is_in_flight() {
        let mut s = BulkSender::new(10_000, 300);
        let mut sent = 0;
        while let Some((_, n)) = s.next_batch(70) {
            sent += n;
        }
        assert_eq!(sent, 300);
        s.on_ack(140, 300);
        let mut more = 0;
        while let Some((_, n)) = s.next_batch(70) {
            more += n;
        }
        assert_eq!(more, 140);
    }

    #[test]
    fn empty_stream_is_only_the_end_marker() {
        let (taken, sends) = run(0, 70, 512, &[]);
        assert!(taken.is_empty());
        assert_eq!(sends, 2);
    }
}
