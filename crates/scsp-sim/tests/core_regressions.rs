//! Regression tests for scsp-core bugs the simulator found, each on a few servers driven by hand
//! (no randomness, no dependence on hash order): minimal reproductions written when the bugs were
//! found, kept now that they are fixed.

use std::collections::VecDeque;

use scsp_core::wire::{self, Body, Common, Data, Id, Packet, RecordId};
use scsp_core::{CaState, DcsId, Server, ServerConfig, Time};
use scsp_sim::SimConfig;

/// Two servers, A = 10.0.0.1 and B = 10.0.0.2 (B is the CA master), on a lossless link whose
/// packets are queued until delivered.
struct Pair {
    s: [Server; 2],
    d: [DcsId; 2],
    /// `q[i]`: packets from server i to the other, in order.
    q: [VecDeque<Vec<u8>>; 2],
    now: Time,
}

fn lsid(i: usize) -> Id {
    SimConfig::lsid(i)
}

fn fast() -> SimConfig {
    SimConfig {
        servers: 2,
        ..SimConfig::default()
    }
}

fn server(i: usize) -> (Server, DcsId) {
    let mut s = Server::new(ServerConfig::new(2, 1, lsid(i)));
    let d = s.add_dcs(Time::ZERO, fast().dcs_config(lsid(1 - i)));
    (s, d)
}

impl Pair {
    fn new() -> Self {
        let (a, da) = server(0);
        let (b, db) = server(1);
        Pair {
            s: [a, b],
            d: [da, db],
            q: [VecDeque::new(), VecDeque::new()],
            now: Time::ZERO,
        }
    }

    fn collect(&mut self) {
        for i in 0..2 {
            while let Some(t) = self.s[i].poll_transmit() {
                self.q[i].push_back(t.bytes);
            }
            while self.s[i].poll_event().is_some() {}
        }
    }

    /// Hand the oldest packet from `from` to the other server.
    fn deliver(&mut self, from: usize) {
        let b = self.q[from].pop_front().expect("a packet is queued");
        let to = 1 - from;
        self.s[to].handle_datagram(self.now, self.d[to], &b);
        self.collect();
    }

    /// Drop every queued packet.
    fn flush(&mut self) {
        self.q = [VecDeque::new(), VecDeque::new()];
    }

    fn link_up(&mut self) {
        let now = self.now;
        for i in 0..2 {
            self.s[i].link_up(now, self.d[i]);
        }
        self.collect();
    }

    /// Run for `ms` milliseconds of virtual time in 5 ms steps: every packet queued is
    /// delivered, every timer due is run.
    fn run(&mut self, ms: u64) {
        let end = self.now.0 + ms;
        while self.now.0 < end {
            for from in 0..2 {
                while !self.q[from].is_empty() {
                    self.deliver(from);
                }
            }
            self.now = Time(self.now.0 + 5);
            for i in 0..2 {
                if self.s[i].poll_timeout().is_some_and(|t| t <= self.now) {
                    self.s[i].handle_timeout(self.now);
                }
            }
            self.collect();
        }
    }

    fn ca(&self, i: usize) -> CaState {
        self.s[i].dcs_info(self.d[i]).expect("dcs").ca.state
    }

    /// Restart A with its state lost, the application handing over `entries` again; B is told
    /// the link went down and up.
    fn restart_a(&mut self, entries: Vec<(Vec<u8>, Data)>) {
        self.flush();
        let (a, da) = server(0);
        self.s[0] = a;
        self.d[0] = da;
        let now = self.now;
        self.s[1].link_down(now, self.d[1]);
        let errors = self.s[0].replace_local_cache(now, entries);
        assert!(errors.is_empty());
        self.collect();
    }
}

fn key() -> Vec<u8> {
    vec![0, 0, 0, 0x2a]
}

fn rid() -> RecordId {
    RecordId {
        key: Id::new(&key()).unwrap(),
        origin: lsid(0),
    }
}

fn data(b: u8) -> Data {
    Data::from(vec![b; 12])
}

/// A originates an entry and updates it once (0x80000002); both servers align.
fn aligned_pair_with_updated_entry() -> Pair {
    let mut p = Pair::new();
    p.s[0].originate(p.now, &key(), data(1)).unwrap();
    p.s[0].originate(p.now, &key(), data(2)).unwrap();
    p.collect();
    p.link_up();
    p.run(10_000);
    assert_eq!(p.ca(0), CaState::Aligned);
    let e = p.s[1].cache().get(&rid()).expect("B learned the entry");
    assert_eq!((e.seq, &e.data), (0x8000_0002, &data(2)));
    p
}

/// Was a bug: after a restart that loses its state, A re-originates its entry at 0x80000001, not yet
/// knowing the group holds 0x80000002 ("unconfirmed"). Withdrawing it then installs the deletion
/// at 0x80000002, the number the group's live instance has, and clears the unconfirmed mark: on
/// alignment neither instance is newer, so B keeps the withdrawn entry live for ever.
///
/// Seen in the simulator as "server N holds a withdrawn entry, back: key … seq 0x80000002",
/// e.g. `scsp-sim --servers 7 --topology random --seed 11 --loss 0.2 --dup 0.05 --reorder 0.1
/// --partitions 3 --restarts 2 --entries 500` (when the run takes that path: the core's hash
/// order varies between runs).
#[test]
fn withdraw_after_state_losing_restart() {
    let mut p = aligned_pair_with_updated_entry();
    p.restart_a(vec![(key(), data(2))]);
    p.s[0].withdraw(p.now, &key()).unwrap();
    p.collect();
    p.link_up();
    p.run(20_000);
    assert_eq!((p.ca(0), p.ca(1)), (CaState::Aligned, CaState::Aligned));
    let a = p.s[0].cache().get(&rid()).expect("A holds its deletion");
    assert!(a.deleted());
    let b = p.s[1].cache().get(&rid());
    assert!(
        b.is_none_or(|e| e.deleted()),
        "B still holds the withdrawn entry live at {:#x} (A: deleted at {:#x})",
        b.map_or(0, |e| e.seq),
        a.seq
    );
}

/// Was a bug: the same with an update: A's new data goes out as 0x80000002, which B already holds
/// with the old data, so B never takes the new data.
///
/// Seen in the simulator as "server N holds … at seq 0x80000002 with other data than the
/// originator", e.g. seed 14 of the issue's command line before the fix.
#[test]
fn update_after_state_losing_restart() {
    let mut p = aligned_pair_with_updated_entry();
    p.restart_a(vec![(key(), data(2))]);
    p.s[0].originate(p.now, &key(), data(3)).unwrap();
    p.collect();
    p.link_up();
    p.run(20_000);
    assert_eq!((p.ca(0), p.ca(1)), (CaState::Aligned, CaState::Aligned));
    let a = p.s[0].cache().get(&rid()).unwrap();
    let b = p.s[1].cache().get(&rid()).unwrap();
    assert_eq!(a.data, data(3));
    assert_eq!(
        (b.seq, &b.data),
        (a.seq, &a.data),
        "B holds other data at the same number"
    );
}

/// A CA from B to A, as a stale copy of an earlier exchange would be.
fn stale_ca(seq: u32) -> Vec<u8> {
    let p = Packet {
        common: Common {
            protocol_id: 2,
            sgid: 1,
            sender: lsid(1),
            receiver: lsid(0),
        },
        body: Body::Ca {
            seq,
            m: true,
            i: false,
            o: false,
            records: Vec::new(),
        },
        extensions: Vec::new(),
    };
    wire::encode(&p, None).unwrap()
}

/// Was a bug: a Cache Alignment livelock. B (master) drops A's initial CA as "a late copy of the
/// slave's own initial CA, already known" while A really is in Master/Slave Negotiation with it;
/// A ignores B's master CAs. Both retransmit for ever; the Hellos keep the link Bidirectional.
///
/// 1. Both negotiate: A sends initial CA a1, B sends b1. A gets b1: slave, answers r1 (held).
/// 2. B gets a1: ignored (rule 3), remembered as the slave's initial CA.
/// 3. A gets a stale CA (M, wrong number): 2.2.2 rule 6, renegotiates with initial CA a2.
/// 4. B gets a2: ignored, remembered. B then gets r1 (its own number): master, Summarize.
/// 5. A (Negotiation) ignores B's CAs; B (Summarize master) drops A's a2 retransmissions.
///
/// Seen in the simulator as "server 0 dcs s1: … CA Master/Slave Negotiation since 56.323s …;
/// server 1 dcs s0: … CA Cache Summarize (master) since 56.341s", e.g. `scsp-sim --servers 6
/// --topology full --seed 206 --loss 0.2 --dup 0.05 --reorder 0.1 --partitions 2 --restarts 1
/// --fresh-restarts 0 --entries 60`.
#[test]
fn ca_livelock_after_renegotiation() {
    let mut p = Pair::new();
    p.link_up();
    // Hellos until both are Bidirectional and have sent their initial CA.
    for _ in 0..10 {
        if p.ca(0) == CaState::Negotiation && p.ca(1) == CaState::Negotiation {
            break;
        }
        for from in 0..2 {
            while let Some(b) = p.q[from].front() {
                let is_ca = wire::decode(b).is_ok_and(|x| matches!(x.body, Body::Ca { .. }));
                if is_ca {
                    break;
                }
                p.deliver(from);
            }
        }
    }
    assert_eq!(
        (p.ca(0), p.ca(1)),
        (CaState::Negotiation, CaState::Negotiation)
    );
    // Step 1: B's initial CA reaches A, which answers as slave; the answer is held back.
    p.deliver(1);
    assert_eq!(p.ca(0), CaState::SummarizeSlave);
    let r1 = p.q[0].pop_back().expect("A's answer");
    // Step 2: A's initial CA reaches B.
    p.deliver(0);
    assert_eq!(p.ca(1), CaState::Negotiation);
    // Step 3: a stale CA reaches A.
    p.s[0].handle_datagram(p.now, p.d[0], &stale_ca(7));
    p.collect();
    assert_eq!(p.ca(0), CaState::Negotiation);
    // Step 4: A's new initial CA reaches B, then A's held-back answer.
    p.deliver(0);
    p.s[1].handle_datagram(p.now, p.d[1], &r1);
    p.collect();
    assert_eq!(p.ca(1), CaState::SummarizeMaster);
    // Step 5: a perfect link for a minute.
    p.run(60_000);
    assert_eq!(
        (p.ca(0), p.ca(1)),
        (CaState::Aligned, CaState::Aligned),
        "A and B never align again"
    );
}

/// Servers driven by hand on lossless links whose packets wait in per-direction queues until
/// delivered (or dropped).
struct Net {
    s: Vec<Server>,
    dcs: std::collections::BTreeMap<(usize, usize), DcsId>,
    q: std::collections::BTreeMap<(usize, usize), VecDeque<Vec<u8>>>,
    now: Time,
}

impl Net {
    /// `n` servers whose originated CSAs carry Hop Count `n`.
    fn new(n: usize) -> Self {
        Net::with_config(n, |_| {})
    }

    /// As [`Net::new`], each server's configuration changed by `f`.
    fn with_config(n: usize, f: impl Fn(&mut ServerConfig)) -> Self {
        let s = (0..n)
            .map(|i| {
                let mut cfg = ServerConfig::new(2, 1, lsid(i));
                f(&mut cfg);
                Server::new(cfg)
            })
            .collect();
        Net {
            s,
            dcs: Default::default(),
            q: Default::default(),
            now: Time::ZERO,
        }
    }

    fn link(&mut self, a: usize, b: usize) {
        let cfg = SimConfig {
            servers: self.s.len(),
            ..SimConfig::default()
        };
        for (x, y) in [(a, b), (b, a)] {
            let id = self.s[x].add_dcs(self.now, cfg.dcs_config(lsid(y)));
            self.dcs.insert((x, y), id);
            self.q.insert((x, y), VecDeque::new());
        }
        for (x, y) in [(a, b), (b, a)] {
            let id = self.dcs[&(x, y)];
            self.s[x].link_up(self.now, id);
        }
        self.collect();
    }

    fn collect(&mut self) {
        for x in 0..self.s.len() {
            while let Some(t) = self.s[x].poll_transmit() {
                let y = self
                    .dcs
                    .iter()
                    .find(|(k, v)| k.0 == x && **v == t.dcs)
                    .expect("a link")
                    .0
                    .1;
                self.q.get_mut(&(x, y)).expect("queue").push_back(t.bytes);
            }
            while self.s[x].poll_event().is_some() {}
        }
    }

    /// Deliver the oldest packet from `x` to `y`; false when there is none.
    fn deliver(&mut self, x: usize, y: usize) -> bool {
        let Some(b) = self.q.get_mut(&(x, y)).and_then(VecDeque::pop_front) else {
            return false;
        };
        let id = self.dcs[&(y, x)];
        self.s[y].handle_datagram(self.now, id, &b);
        self.collect();
        true
    }

    fn drop_all(&mut self, x: usize, y: usize) {
        self.q.get_mut(&(x, y)).expect("queue").clear();
    }

    /// Deliver on `links` (both ways) until `until` holds or nothing moves; timers run every 5 ms.
    fn run_on(&mut self, links: &[(usize, usize)], ms: u64, until: impl Fn(&Net) -> bool) {
        let end = self.now.0 + ms;
        while self.now.0 < end && !until(self) {
            let mut moved = false;
            for &(a, b) in links {
                for (x, y) in [(a, b), (b, a)] {
                    moved |= self.deliver(x, y);
                    if until(self) {
                        return;
                    }
                }
            }
            if !moved {
                self.now = Time(self.now.0 + 5);
                for x in 0..self.s.len() {
                    if self.s[x].poll_timeout().is_some_and(|t| t <= self.now) {
                        self.s[x].handle_timeout(self.now);
                    }
                }
                self.collect();
            }
        }
    }

    fn ca(&self, x: usize, y: usize) -> CaState {
        self.s[x].dcs_info(self.dcs[&(x, y)]).expect("dcs").ca.state
    }

    fn crl(&self, x: usize, y: usize) -> usize {
        self.s[x]
            .dcs_info(self.dcs[&(x, y)])
            .expect("dcs")
            .csa_request_list
    }

    fn seq(&self, x: usize, id: &RecordId) -> Option<u32> {
        self.s[x].cache().get(id).map(|e| e.seq)
    }
}

/// Was a bug: a newer instance that answers a CSUS is not flooded when the CSA Request List entry it
/// answers was satisfied in the meantime by another DCS's answer (an older instance, at the
/// number that was asked for). It then arrives as an unsolicited CSA with Hop Count 1 and goes no
/// further: a server beyond it keeps the older instance for good, since the links are Aligned.
///
/// Servers O (originator), A, B, X, C. A and B hold k@1; O's update k@2 reaches B but not A;
/// B's own flood of k@2 to X is lost. X, coming up, has asked A and B for k@1 (their summaries);
/// A answers k@1 first (X learns and floods it to C, and counts B's request as satisfied), then B
/// answers k@2: X takes it but does not pass it on. C ends with k@1.
///
/// Seen in the simulator as "server 4 holds 0a000003/key 00000138 (of server 2) at seq
/// 0x80000001, originator at 0x80000002" with every DCS Aligned.
#[test]
fn csus_answer_flooded_after_request_satisfied_elsewhere() {
    const O: usize = 0;
    const A: usize = 1;
    const B: usize = 2;
    const X: usize = 3;
    const C: usize = 4;
    let mut n = Net::new(5);
    let k = RecordId {
        key: Id::new(&key()).unwrap(),
        origin: lsid(O),
    };
    n.link(O, A);
    n.link(O, B);
    n.s[O].originate(n.now, &key(), data(1)).unwrap();
    n.collect();
    n.run_on(&[(O, A), (O, B)], 5_000, |n| {
        n.seq(A, &k).is_some() && n.seq(B, &k).is_some()
    });
    assert_eq!(
        (n.seq(A, &k), n.seq(B, &k)),
        (Some(0x8000_0001), Some(0x8000_0001))
    );
    // O's update waits in the queues to A and B.
    n.s[O].originate(n.now, &key(), data(2)).unwrap();
    n.collect();

    // X and C align (both empty), then X with A and with B, up to X's CSUS to each.
    n.link(X, C);
    n.run_on(&[(X, C)], 2_000, |n| {
        n.ca(X, C) == CaState::Aligned && n.ca(C, X) == CaState::Aligned
    });
    n.link(X, A);
    let asked = |n: &Net, y| n.ca(X, y) == CaState::UpdateCache && n.crl(X, y) == 1;
    n.run_on(&[(X, A)], 2_000, |n| asked(n, A));
    n.link(X, B);
    n.run_on(&[(X, B)], 2_000, |n| asked(n, B));
    assert!(asked(&n, A) && asked(&n, B), "X asks A and B for k@1");

    // B learns k@2; its flood to X is lost; then B answers X's CSUS with k@2.
    while n.deliver(O, B) {}
    assert_eq!(n.seq(B, &k), Some(0x8000_0002));
    n.drop_all(B, X);
    while n.deliver(X, B) {}
    // A answers k@1; it reaches X first, then B's answer.
    while n.deliver(X, A) {}
    while n.deliver(A, X) {}
    assert_eq!(n.seq(X, &k), Some(0x8000_0001));
    while n.deliver(B, X) {}
    assert_eq!(n.seq(X, &k), Some(0x8000_0002), "X took B's answer");

    // Everything delivered from now on.
    let all = [(O, A), (O, B), (X, A), (X, B), (X, C)];
    n.run_on(&all, 20_000, |_| false);
    for (x, y) in all {
        assert_eq!(
            (n.ca(x, y), n.ca(y, x)),
            (CaState::Aligned, CaState::Aligned)
        );
    }
    assert_eq!(n.seq(C, &k), Some(0x8000_0002), "C never gets k@2");
}

/// Fixed: a late duplicate of the master's initial CA reaches the slave after alignment. The
/// slave used to renegotiate (CA with the I bit after Cache Summarize) and answer as slave; with
/// that answer lost, the master stayed Aligned, sending no CA, and the slave waited in Cache
/// Summarize for good. A CA of the master's whose number is before the slave's current one is
/// now a stale copy, dropped.
///
/// Seen in the simulator as "server 0 dcs s3: Hello Bidirectional since 20.040s, CA Cache
/// Summarize (slave) since 59.214s", with `scsp-sim --servers 6 --topology star --seed 0
/// --loss 0.2 --dup 0.05 --reorder 0.1 --partitions 2 --restarts 1 --fresh-restarts 0
/// --entries 60`; and, the same copy arriving in Cache Summarize, as "server 0 lacks
/// 0a000003/key 0000009c (of server 2)" (seed 733 of the issue's command line).
#[test]
fn late_initial_ca_after_alignment() {
    let mut p = Pair::new();
    p.s[0].originate(p.now, &key(), data(1)).unwrap();
    p.collect();
    p.link_up();
    // Hellos until B (the master) has sent its initial CA; keep a copy of it.
    let mut copy = None;
    for _ in 0..20 {
        copy = p.q[1]
            .iter()
            .find(|b| wire::decode(b).is_ok_and(|x| matches!(x.body, Body::Ca { i: true, .. })))
            .cloned();
        if copy.is_some() {
            break;
        }
        for from in 0..2 {
            if !p.q[from].is_empty() {
                p.deliver(from);
            }
        }
    }
    let copy = copy.expect("B's initial CA");
    p.run(5_000);
    assert_eq!((p.ca(0), p.ca(1)), (CaState::Aligned, CaState::Aligned));
    // The copy arrives late: a stale CA, dropped.
    p.s[0].handle_datagram(p.now, p.d[0], &copy);
    p.collect();
    assert_eq!(p.ca(0), CaState::Aligned);
    assert!(
        !p.q[0]
            .iter()
            .any(|b| wire::decode(b).is_ok_and(|x| matches!(x.body, Body::Ca { .. }))),
        "no CA sent in answer to the stale copy"
    );
    p.run(60_000);
    assert_eq!((p.ca(0), p.ca(1)), (CaState::Aligned, CaState::Aligned));
}

/// Was a bug: a flush numbered from one DCS's instance collides with another DCS's.
///
/// O originates k@1 (B and C learn it), updates it to k@2 (only C learns it) and withdraws it
/// (k@3, lost), then restarts with its state lost and its local server holding nothing. Aligning
/// with B first, O sees its own k@1, not held, and flushes it with a deletion numbered above it:
/// k@2, the number C's live instance has. Aligning with C then, neither k@2 is newer than the
/// other, so C kept the withdrawn entry live for good: the flush was not marked unconfirmed
/// (numbered without knowing what the group holds), so O did not fetch C's k@2 to compare.
///
/// Seen in the simulator as "server 2 holds a withdrawn entry, back: key 00000177 of server 0 seq
/// 0x80000002" (seed 589 of the README's command line).
#[test]
fn flush_after_state_losing_restart_collides_with_a_live_instance() {
    const O: usize = 0;
    const B: usize = 1;
    const C: usize = 2;
    let mut n = Net::new(3);
    let k = RecordId {
        key: Id::new(&key()).unwrap(),
        origin: lsid(O),
    };
    n.link(O, B);
    n.link(O, C);
    n.s[O].originate(n.now, &key(), data(1)).unwrap();
    n.collect();
    let both = [(O, B), (O, C)];
    n.run_on(&both, 5_000, |n| {
        n.seq(B, &k).is_some() && n.seq(C, &k).is_some()
    });
    n.s[O].originate(n.now, &key(), data(2)).unwrap();
    n.collect();
    n.drop_all(O, B);
    n.run_on(&[(O, C)], 5_000, |n| n.seq(C, &k) == Some(0x8000_0002));
    assert_eq!(
        (n.seq(B, &k), n.seq(C, &k)),
        (Some(0x8000_0001), Some(0x8000_0002))
    );
    n.s[O].withdraw(n.now, &key()).unwrap();
    n.collect();
    n.drop_all(O, B);
    n.drop_all(O, C);

    // O restarts with nothing; its local server hands over an empty cache.
    let cfg = SimConfig {
        servers: 3,
        ..SimConfig::default()
    };
    n.s[O] = Server::new(ServerConfig::new(2, 1, lsid(O)));
    assert!(n.s[O].replace_local_cache(n.now, Vec::new()).is_empty());
    for y in [B, C] {
        n.drop_all(O, y);
        n.drop_all(y, O);
        let id = n.s[O].add_dcs(n.now, cfg.dcs_config(lsid(y)));
        n.dcs.insert((O, y), id);
        let back = n.dcs[&(y, O)];
        n.s[y].link_down(n.now, back);
    }
    n.collect();
    for y in [B, C] {
        n.drop_all(y, O);
    }
    // O aligns with B first (and flushes k@1), then with C.
    let id = n.dcs[&(O, B)];
    n.s[O].link_up(n.now, id);
    let back = n.dcs[&(B, O)];
    n.s[B].link_up(n.now, back);
    n.collect();
    n.run_on(&[(O, B)], 10_000, |n| {
        n.ca(O, B) == CaState::Aligned && n.ca(B, O) == CaState::Aligned
    });
    let flushed = n.s[O].cache().get(&k).expect("O flushed its entry");
    assert_eq!((flushed.deleted(), flushed.seq), (true, 0x8000_0002));
    let id = n.dcs[&(O, C)];
    n.s[O].link_up(n.now, id);
    let back = n.dcs[&(C, O)];
    n.s[C].link_up(n.now, back);
    n.collect();
    n.run_on(&both, 20_000, |_| false);
    for (x, y) in both {
        assert_eq!(
            (n.ca(x, y), n.ca(y, x)),
            (CaState::Aligned, CaState::Aligned)
        );
    }
    for x in [O, B, C] {
        let e = n.s[x].cache().get(&k);
        assert!(
            e.is_none_or(|e| e.deleted()),
            "server {x} holds the withdrawn entry live at {:#x}",
            e.map_or(0, |e| e.seq)
        );
    }
}

/// Was a bug: B.2.0.2's equal numbers, the winner kept from a DCS partitioned during the
/// conflict (docs/rfc2334-readings.md, "equal numbers").
///
/// Servers O (originator), X, Y in a line. O originates k@-2^31+1 (X and Y learn it), X and Y
/// are partitioned, O restarts with its state lost and numbers k again at -2^31+1 with larger
/// data during its Cache Summarize with X. Its flood of the change reaches X first: X keeps the
/// larger data and answers O's solicitation with it, so O never sees the old data and never
/// supersedes both. X's flood to Y is lost to the partition, and when it heals Cache Alignment
/// (and the reconciliation, whose symbols carry no data) compares numbers only: Y kept the old
/// data for good. X now marks k contested and fetches Y's instance at that number to compare.
///
/// Seen in the simulator as "server 0 holds 0a000004/key 00000141 (of server 3) at seq
/// 0x80000001 with other data than the originator" (seed 7662 of the README's command line with
/// `--recon-fraction 0.5`, at the time).
#[test]
fn b_2_0_2_equal_numbers_winner_reaches_a_dcs_partitioned_during_the_conflict() {
    for reconcile in [false, true] {
        equal_numbers_across_a_partition(reconcile);
    }
}

fn equal_numbers_across_a_partition(reconcile: bool) {
    // (O has the largest ID: O is X's master, as in the seed.)
    const O: usize = 2;
    const X: usize = 1;
    const Y: usize = 0;
    let config = |i: usize| {
        let mut c = ServerConfig::new(2, 1, lsid(i));
        c.reconcile = reconcile;
        c
    };
    let mut n = Net::with_config(3, |c| c.reconcile = reconcile);
    let k = RecordId {
        key: Id::new(&key()).unwrap(),
        origin: lsid(O),
    };
    let held = |n: &Net, x: usize| n.s[x].cache().get(&k).map(|e| (e.seq, e.data.clone()));
    let aligned = |n: &Net, x: usize, y: usize| {
        n.ca(x, y) == CaState::Aligned && n.ca(y, x) == CaState::Aligned
    };
    n.link(O, X);
    n.link(X, Y);
    n.s[O].originate(n.now, &key(), data(1)).unwrap();
    n.collect();
    n.run_on(&[(O, X), (X, Y)], 10_000, |n| {
        aligned(n, O, X) && aligned(n, X, Y) && held(n, Y).is_some()
    });
    let first = Some((wire::SEQ_FIRST, data(1)));
    assert_eq!((held(&n, X), held(&n, Y)), (first.clone(), first));

    // X and Y are partitioned.
    for (a, b) in [(X, Y), (Y, X)] {
        let id = n.dcs[&(a, b)];
        n.s[a].link_down(n.now, id);
    }
    n.collect();
    n.drop_all(X, Y);
    n.drop_all(Y, X);

    // O restarts with its state lost; X sees the link go down and up.
    let cfg = SimConfig {
        servers: 3,
        ..SimConfig::default()
    };
    n.s[O] = Server::new(config(O));
    let id = n.s[O].add_dcs(n.now, cfg.dcs_config(lsid(X)));
    n.dcs.insert((O, X), id);
    let back = n.dcs[&(X, O)];
    n.s[X].link_down(n.now, back);
    n.collect();
    n.drop_all(X, O);
    n.drop_all(O, X);
    n.s[O].link_up(n.now, id);
    n.s[X].link_up(n.now, back);
    n.collect();
    // During its Cache Summarize with X, O's local server hands k over with other data.
    let summarizing = |n: &Net| {
        matches!(
            n.ca(O, X),
            CaState::SummarizeMaster | CaState::SummarizeSlave
        )
    };
    n.run_on(&[(O, X)], 10_000, summarizing);
    assert!(summarizing(&n), "O summarizes with X");
    n.s[O].originate(n.now, &key(), data(2)).unwrap();
    n.collect();
    // O reaches Update Cache: its CSUS (asking X for k, which X summarized at the number O
    // now holds unconfirmed) and its flood of k go out. The flood reaches X first (in the
    // seed, k was in O's second CSUS; reordering does the same).
    let is_csus = |b: &Vec<u8>| wire::decode(b).is_ok_and(|p| matches!(p.body, Body::Csus { .. }));
    n.run_on(&[(O, X)], 10_000, |n| n.q[&(O, X)].iter().any(is_csus));
    let q = n.q.get_mut(&(O, X)).expect("queue");
    let (csus, rest): (VecDeque<_>, VecDeque<_>) = q.drain(..).partition(is_csus);
    assert_eq!(csus.len(), 1, "O's CSUS");
    q.extend(rest);
    q.extend(csus);
    n.run_on(&[(O, X)], 10_000, |n| aligned(n, O, X));
    let second = Some((wire::SEQ_FIRST, data(2)));
    assert_eq!(
        (held(&n, O), held(&n, X)),
        (second.clone(), second.clone()),
        "O never saw the old data (the case of the seed)"
    );
    assert_eq!(held(&n, Y), Some((wire::SEQ_FIRST, data(1))));

    // The partition heals; everything is delivered from now on.
    for (a, b) in [(X, Y), (Y, X)] {
        let id = n.dcs[&(a, b)];
        n.s[a].link_up(n.now, id);
    }
    n.collect();
    let all = [(O, X), (X, Y)];
    n.run_on(&all, 20_000, |_| false);
    for (x, y) in all {
        assert!(
            aligned(&n, x, y),
            "{x} and {y} aligned (reconcile {reconcile})"
        );
    }
    for x in [O, X, Y] {
        assert_eq!(
            held(&n, x),
            second,
            "server {x} holds the larger data (reconcile {reconcile})"
        );
    }
}
