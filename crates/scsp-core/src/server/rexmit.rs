//! The DCS retransmit queue (2.3): CSAs sent in CSU Requests and not yet acknowledged, with
//! their retransmission times, checked against a plain model by a property test.

use std::collections::VecDeque;
use std::time::Duration;

use crate::Time;
use crate::hash::{HashState, Probe, SlotIndex, occupant};
use crate::seq;
use crate::wire::{Csa, RecordId};

/// A CSA on the DCS retransmit queue (2.3).
#[derive(Debug)]
pub(crate) struct Queued {
    pub csa: Csa,
    /// Times sent so far.
    pub sends: u32,
    /// Set when the record took its slot; `unsent` entries of an earlier occupant differ.
    born: u64,
    /// Bumped whenever the entry is replaced or rescheduled; timeline entries with an older value
    /// are stale.
    generation: u64,
    /// Waiting in `unsent` to go out in the next send.
    pending: bool,
}

/// A retransmit queue that empties after holding more records than this gives its memory back.
const RELEASE_ABOVE: usize = 4096;

/// The DCS retransmit queue: at most one instance of a record, the newest (2.3).
///
/// The records sit in slots that stay put, reused once free; a hash table ([`SlotIndex`], as the
/// cache's) holds slot numbers, and the lists of records to send and of retransmission times hold slot
/// numbers too. A record is hashed once when queued and found once when acknowledged; the
/// table stays small (the records in flight) and nothing large moves when it grows.
#[derive(Debug)]
pub(crate) struct RexmitQueue {
    state: HashState,
    index: SlotIndex,
    slots: Vec<Option<Queued>>,
    free: Vec<u32>,
    /// Retransmission times of records sent once: slot and generation, in time order (the
    /// timeout of a first send changes slowly; a later one never goes before an earlier one).
    timeline: VecDeque<(Time, u32, u64)>,
    /// Retransmission times of records sent more than once (backed off: not in order).
    retries: std::collections::BinaryHeap<std::cmp::Reverse<(Time, u32, u64)>>,
    /// Records to send in the next send, in the order queued: slot and `born`.
    unsent: Vec<(u32, u64)>,
    next_generation: u64,
}

impl RexmitQueue {
    pub fn new(state: HashState) -> Self {
        RexmitQueue {
            state,
            index: SlotIndex::default(),
            slots: Vec::new(),
            free: Vec::new(),
            timeline: VecDeque::new(),
            retries: Default::default(),
            unsent: Vec::new(),
            next_generation: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.index.len()
    }

    fn generation(&mut self) -> u64 {
        self.next_generation += 1;
        self.next_generation
    }

    fn slot(&self, i: u32) -> Option<&Queued> {
        occupant(&self.slots, i)
    }

    fn slot_mut(&mut self, i: u32) -> Option<&mut Queued> {
        self.slots.get_mut(i as usize).and_then(Option::as_mut)
    }

    fn find(&self, hash: u64, id: &RecordId) -> Option<u32> {
        let slots = &self.slots;
        self.index.find(hash, |i| {
            occupant(slots, i).is_some_and(|q| q.csa.summary.id == *id)
        })
    }

    /// Queue `csa` to be sent in the next send, replacing an older instance of the same record.
    /// If a newer instance is queued already, that one is sent again instead. The same instance
    /// queued again keeps the larger Hop Count: an answer to a CSUS (Hop Count 1) for an
    /// instance being flooded is also the flood, which its acknowledgement ends, so it must go as
    /// far as the flood would have.
    pub fn enqueue(&mut self, mut csa: Csa) {
        let hash = self.state.hash_one(&csa.summary.id);
        let generation = self.generation();
        let slots = &self.slots;
        let at = match self.index.find_or_vacant(hash, |i| {
            occupant(slots, i).is_some_and(|q| q.csa.summary.id == csa.summary.id)
        }) {
            Probe::Found(i) => Err(i),
            Probe::Vacant(at) => Ok(at),
        };
        if let Err(i) = at {
            let mut push = None;
            if let Some(q) = self.slot_mut(i) {
                if !seq::newer(q.csa.summary.seq, csa.summary.seq) {
                    if q.csa.summary.seq == csa.summary.seq
                        && q.csa.summary.null == csa.summary.null
                    {
                        csa.summary.hops = csa.summary.hops.max(q.csa.summary.hops);
                    }
                    q.csa = csa;
                    q.sends = 0;
                    q.generation = generation;
                }
                // (A newer instance queued already is sent again instead.)
                if !q.pending {
                    q.pending = true;
                    q.generation = generation;
                    push = Some(q.born);
                }
            }
            if let Some(born) = push {
                self.unsent.push((i, born));
            }
            return;
        }
        let q = Queued {
            csa,
            sends: 0,
            born: generation,
            generation,
            pending: true,
        };
        let i = match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = Some(q);
                i
            }
            None => {
                let i = u32::try_from(self.slots.len())
                    .ok()
                    .filter(|&i| i != u32::MAX)
                    .expect("fewer than 2^32 - 1 records queued");
                self.slots.push(Some(q));
                i
            }
        };
        if let Ok(at) = at {
            self.index.insert_vacant(at, hash, i);
        }
        self.unsent.push((i, generation));
    }

    /// Remove and return the instance queued for `id` if `acked` says it is acknowledged (one
    /// lookup).
    pub fn remove_if(
        &mut self,
        id: &RecordId,
        acked: impl FnOnce(&Queued) -> bool,
    ) -> Option<Queued> {
        if self.index.is_empty() {
            return None;
        }
        let hash = self.state.hash_one(id);
        let slots = &self.slots;
        let (at, i) = self.index.find_bucket(hash, |i| {
            occupant(slots, i).is_some_and(|q| q.csa.summary.id == *id)
        })?;
        if !self.slot(i).is_some_and(acked) {
            return None;
        }
        self.index.remove_bucket(at);
        let q = self.slots.get_mut(i as usize).and_then(Option::take);
        self.free.push(i);
        if self.index.is_empty() {
            // Nothing left: the lists hold only stale entries.
            self.timeline.clear();
            self.retries.clear();
            self.unsent.clear();
            if self.slots.len() > RELEASE_ABOVE {
                // A burst (an alignment, a flood of solicitations) is over: its memory goes
                // back to the allocator.
                self.index = SlotIndex::default();
                self.slots = Vec::new();
                self.free = Vec::new();
                self.timeline.shrink_to_fit();
                self.retries.shrink_to_fit();
                self.unsent.shrink_to_fit();
            }
        }
        q
    }

    /// Take the records to send now; each is counted as sent and timed to `now` plus
    /// `timeout(sends before this one)`.
    pub fn take_unsent(&mut self, now: Time, timeout: impl Fn(u32) -> Duration) -> Vec<Csa> {
        let first = now + timeout(0);
        let first = self.timeline.back().map_or(first, |&(t, ..)| t.max(first));
        let unsent = std::mem::take(&mut self.unsent);
        let mut out = Vec::with_capacity(unsent.len());
        for &(i, born) in &unsent {
            if let Some(q) = self.slot_mut(i)
                && q.born == born
                && q.pending
            {
                q.pending = false;
                q.sends += 1;
                out.push(q.csa.clone());
                let g = q.generation;
                if q.sends == 1 {
                    self.timeline.push_back((first, i, g));
                } else {
                    let due = now + timeout(q.sends - 1);
                    self.retries.push(std::cmp::Reverse((due, i, g)));
                }
            }
        }
        // (The list keeps its room for the next send.)
        self.unsent = unsent;
        self.unsent.clear();
        out
    }

    /// Forget what was to be sent in the next send (the records stay queued, unsent).
    pub fn drop_unsent(&mut self) {
        self.unsent.clear();
    }

    fn timed(&self, i: u32, g: u64) -> Option<&Queued> {
        self.slot(i).filter(|q| q.generation == g && !q.pending)
    }

    /// Next retransmission time.
    pub fn next_due(&mut self) -> Option<Time> {
        // Drop stale heads so that the deadline is real.
        while let Some(&(_, i, g)) = self.timeline.front() {
            if self.timed(i, g).is_some() {
                break;
            }
            self.timeline.pop_front();
        }
        while let Some(&std::cmp::Reverse((_, i, g))) = self.retries.peek() {
            if self.timed(i, g).is_some() {
                break;
            }
            self.retries.pop();
        }
        let a = self.timeline.front().map(|(t, ..)| *t);
        let b = self.retries.peek().map(|r| r.0.0);
        match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Records whose retransmission time has come (as slots for [`RexmitQueue::resend`]), with
    /// how many times each was sent.
    pub fn pop_due(&mut self, now: Time) -> Vec<(u32, u32)> {
        let mut due: Vec<(Time, u64, u32, u32)> = Vec::new();
        while let Some(&(t, i, g)) = self.timeline.front() {
            if t > now {
                break;
            }
            if let Some(q) = self.timed(i, g) {
                due.push((t, g, i, q.sends));
            }
            self.timeline.pop_front();
        }
        let first = due.len();
        while let Some(&std::cmp::Reverse((t, i, g))) = self.retries.peek() {
            if t > now {
                break;
            }
            if let Some(q) = self.timed(i, g) {
                due.push((t, g, i, q.sends));
            }
            self.retries.pop();
        }
        if first > 0 && due.len() > first {
            // Both lists gave records: in the order they were due, then queued.
            due.sort_unstable_by_key(|&(t, g, ..)| (t, g));
        }
        due.into_iter().map(|(_, _, i, s)| (i, s)).collect()
    }

    /// Mark the record in slot `i` (from [`RexmitQueue::pop_due`]) to be sent again with the next
    /// queued records ([`Server::send_queued`](super::Server)).
    pub fn resend(&mut self, i: u32) {
        let generation = self.generation();
        let mut push = None;
        if let Some(q) = self.slot_mut(i)
            && !q.pending
        {
            q.pending = true;
            q.generation = generation;
            push = Some(q.born);
        }
        if let Some(born) = push {
            self.unsent.push((i, born));
        }
    }

    pub fn get(&self, id: &RecordId) -> Option<&Queued> {
        let i = self.find(self.state.hash_one(id), id)?;
        self.slot(i)
    }

    pub fn clear(&mut self) {
        self.index.clear();
        self.slots.clear();
        self.free.clear();
        self.timeline.clear();
        self.retries.clear();
        self.unsent.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{Csas, Id};
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn rid(id: u8) -> RecordId {
        RecordId {
            key: Id::from([0, 0, 0, id]),
            origin: Id::from([10, 0, 0, 1]),
        }
    }

    /// The retransmit queue, written the plain way: a map by record, the records to send in the
    /// order queued, and the retransmission times (2.3).
    #[derive(Default)]
    struct QueueModel {
        /// id -> (seq, hops, sends, generation, pending)
        map: BTreeMap<u8, (u32, u16, u32, u64, bool)>,
        unsent: Vec<u8>,
        timeline: VecDeque<(u64, u8, u64)>,
        generation: u64,
    }

    impl QueueModel {
        fn enqueue(&mut self, id: u8, seq: u32, hops: u16) {
            self.generation += 1;
            let g = self.generation;
            match self.map.get_mut(&id) {
                Some(q) => {
                    if !seq::newer(q.0, seq) {
                        let hops = if q.0 == seq { hops.max(q.1) } else { hops };
                        *q = (seq, hops, 0, g, q.4);
                    }
                    if !q.4 {
                        q.4 = true;
                        q.3 = g;
                        self.unsent.push(id);
                    }
                }
                None => {
                    self.map.insert(id, (seq, hops, 0, g, true));
                    self.unsent.push(id);
                }
            }
        }
        fn ack(&mut self, id: u8, seq: u32) -> Option<u32> {
            let q = self.map.get(&id)?;
            if seq::newer(q.0, seq) {
                return None;
            }
            let s = q.0;
            self.map.remove(&id);
            // (Queued again later, it is sent in its new place.)
            self.unsent.retain(|&x| x != id);
            Some(s)
        }
        fn take(&mut self, due: u64) -> Vec<(u8, u32, u16)> {
            let mut out = Vec::new();
            for id in std::mem::take(&mut self.unsent) {
                if let Some(q) = self.map.get_mut(&id)
                    && q.4
                {
                    q.4 = false;
                    q.2 += 1;
                    out.push((id, q.0, q.1));
                    self.timeline.push_back((due, id, q.3));
                }
            }
            out
        }
        fn pop_due(&mut self, now: u64) -> Vec<(u8, u32)> {
            let mut due = Vec::new();
            while let Some(&(t, id, g)) = self.timeline.front() {
                if t > now {
                    break;
                }
                if let Some(q) = self.map.get(&id)
                    && q.3 == g
                    && !q.4
                {
                    due.push((id, q.2));
                }
                self.timeline.pop_front();
            }
            due
        }
        fn resend(&mut self, id: u8) {
            self.generation += 1;
            let g = self.generation;
            if let Some(q) = self.map.get_mut(&id)
                && !q.4
            {
                q.4 = true;
                q.3 = g;
                self.unsent.push(id);
            }
        }
    }

    fn csa(id: u8, seq: u32, hops: u16) -> Csa {
        Csa {
            summary: Csas {
                hops,
                null: false,
                seq,
                id: rid(id),
            },
            data: crate::wire::Data::from(&[][..]),
        }
    }

    #[derive(Debug, Clone)]
    enum QOp {
        Enqueue(u8, u32, u16),
        Ack(u8, u32),
        Flush,
        Timers,
        Clear,
    }

    fn qop() -> impl Strategy<Value = QOp> {
        let id = 0u8..12;
        let seq = 0x8000_0001u32..0x8000_0005;
        prop_oneof![
            5 => (id.clone(), seq.clone(), 1u16..4).prop_map(|(i, s, h)| QOp::Enqueue(i, s, h)),
            4 => (id, seq).prop_map(|(i, s)| QOp::Ack(i, s)),
            3 => Just(QOp::Flush),
            2 => Just(QOp::Timers),
            1 => Just(QOp::Clear),
        ]
    }

    proptest! {
        /// The slotted queue behaves as the plain map: the same records sent, in the same order,
        /// with the same hop counts, the same acknowledgements matched, and the same
        /// retransmissions due.
        #[test]
        fn rexmit_queue_matches_the_plain_model(ops in proptest::collection::vec(qop(), 0..300)) {
            let mut q = RexmitQueue::new(crate::hash::state(3));
            let mut m = QueueModel::default();
            let mut clock = 0u64;
            for op in ops {
                match op {
                    QOp::Enqueue(i, s, h) => {
                        q.enqueue(csa(i, s, h));
                        m.enqueue(i, s, h);
                    }
                    QOp::Ack(i, s) => {
                        let got = q
                            .remove_if(&rid(i), |x| !seq::newer(x.csa.summary.seq, s))
                            .map(|x| x.csa.summary.seq);
                        prop_assert_eq!(got, m.ack(i, s));
                    }
                    QOp::Flush => {
                        clock += 1;
                        let now = Time::from_millis(clock);
                        let got: Vec<(u8, u32, u16)> = q
                            .take_unsent(now, |_| Duration::from_millis(2))
                            .iter()
                            .map(|c| (c.summary.id.key.as_bytes()[3], c.summary.seq, c.summary.hops))
                            .collect();
                        prop_assert_eq!(got, m.take(clock + 2));
                    }
                    QOp::Timers => {
                        clock += 1;
                        let now = Time::from_millis(clock);
                        let due: Vec<(u8, u32, u32)> = q
                            .pop_due(now)
                            .into_iter()
                            .map(|(slot, sends)| {
                                let id = q.slot(slot).map(|x| x.csa.summary.id.key.as_bytes()[3]);
                                (id.unwrap_or(u8::MAX), sends, slot)
                            })
                            .collect();
                        let want = m.pop_due(clock);
                        // The order among records due together is free (first sends and
                        // backed-off ones are kept apart); they are resent in the model's.
                        for &(id, _) in &want {
                            m.resend(id);
                            if let Some(&(_, _, slot)) = due.iter().find(|d| d.0 == id) {
                                q.resend(slot);
                            }
                        }
                        let mut got: Vec<(u8, u32)> = due.iter().map(|&(i, s, _)| (i, s)).collect();
                        let mut want = want;
                        got.sort_unstable();
                        want.sort_unstable();
                        prop_assert_eq!(got, want);
                    }
                    QOp::Clear => {
                        q.clear();
                        m = QueueModel { generation: m.generation, ..Default::default() };
                    }
                }
                prop_assert_eq!(q.len(), m.map.len());
                let next = q.next_due().map(|t| t.as_millis());
                let want = m
                    .timeline
                    .iter()
                    .find(|&&(_, id, g)| m.map.get(&id).is_some_and(|x| x.3 == g && !x.4))
                    .map(|&(t, ..)| t);
                prop_assert_eq!(next, want);
                for (&id, x) in &m.map {
                    prop_assert_eq!(q.get(&rid(id)).map(|y| y.csa.summary.seq), Some(x.0));
                }
            }
        }
    }
}
