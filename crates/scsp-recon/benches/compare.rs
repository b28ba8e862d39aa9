//! The candidates for re-alignment compared on SCSP's workload (docs/reconciliation.md §2):
//! N instances of (Cache Key, Originator ID, Sequence Number) on each side, K differences, half
//! held by each side alone; MTU 1472 and 65000.
//!
//! `cargo bench -p scsp-recon --bench compare [-- N K...]` (default: N = 1,000,000,
//! K = 10 100 1000 10000). Prints one line per (method, K, MTU): bytes both ways, round trips,
//! CPU time of the exchange (both ends, one thread), and the one-off cost of the per-entry state.

use scsp_recon::wire::{CA_CARRIER_LEN, cells_per_packet};
use scsp_recon::{Decoder, Encoder, Instance, Key, Message, Outcome, Prefix, Receiver, Streamer};
use std::time::Instant;

/// One instance: 4-octet Cache Key (an IPv4 address), 4-octet Originator ID, a sequence number.
#[derive(Clone, Copy)]
struct Inst {
    key: [u8; 4],
    orig: [u8; 4],
    seq: u32,
}

impl Inst {
    fn view(&self) -> Instance<'_> {
        Instance {
            cache_key: &self.key,
            originator: &self.orig,
            seq: self.seq,
        }
    }
}

/// splitmix64: a deterministic source for the workload.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// K differing instances: the common part (N - K/2 instances), and K/2 held by each side alone.
/// (An entry one side holds in a newer instance than the other counts as two: the newer and the
/// older instance.)
fn workload(n: usize, k: usize) -> (Vec<Inst>, Vec<Inst>) {
    let half = k / 2;
    let common = n - half;
    let mk = |i: usize| Inst {
        key: (i as u32).to_be_bytes(),
        orig: [10, 0, 0, (i % 4) as u8 + 1],
        seq: 0x8000_0001 + (mix(i as u64) % 7) as u32,
    };
    let mut a: Vec<Inst> = (0..common).map(mk).collect();
    let mut b = a.clone();
    a.extend((common..common + half).map(mk));
    b.extend((common + half..common + 2 * half).map(mk));
    (a, b)
}

fn rfc_ca_bytes(n: usize, mtu: usize) -> u64 {
    // A CSAS record of 4-octet key and ID: 12 + 4 + 4 octets; a CA packet: 32 octets besides
    // the records and the End extension (4); both sides summarize all N.
    let rec = 20;
    let per = (mtu - 36) / rec;
    let packets = n.div_ceil(per);
    2 * (n * rec + packets * 36) as u64
}

struct Figures {
    bytes: u64,
    round_trips: u32,
    cpu_ms: f64,
    found: usize,
    ok: bool,
}

fn riblt_run(pa: &Prefix<u32>, pb: &Prefix<u32>, mtu: usize, k: usize) -> Figures {
    let t = Instant::now();
    let mut master = Streamer::new(Encoder::new(pa), mtu);
    let mut slave = Receiver::new(Decoder::new(pb, pb.cells().len() as u32), mtu, 128);
    let mut bytes = 0u64;
    let mut round_trips = 0;
    let mut to_master = vec![slave.start()];
    let size = |m: &Message| (CA_CARRIER_LEN + m.to_bytes().len()) as u64;
    while !to_master.is_empty() {
        let mut to_slave = Vec::new();
        let mut requests = false;
        for m in &to_master {
            bytes += size(m);
            requests |= matches!(m, Message::Request { .. });
            to_slave.extend(master.on_message(m));
        }
        if requests {
            round_trips += 1;
        }
        to_master.clear();
        for m in &to_slave {
            bytes += size(m);
            to_master.extend(slave.on_message(m));
        }
    }
    // The Result's half round trip, then each side's CSAS of what it holds alone (as RFC CA
    // summaries would be, K of them: counted as 20 octets each).
    let cpu_ms = t.elapsed().as_secs_f64() * 1e3;
    let (ok, found) = match (slave.outcome(), master.outcome()) {
        (Some(Outcome::Decoded { ours, theirs }), Some(Outcome::Decoded { ours: m, .. })) => {
            let ok = m.len() == theirs.len()
                && ours
                    .iter()
                    .all(|s| pb.handle(*s).is_some() && pa.handle(*s).is_none())
                && m.iter()
                    .all(|s| pa.handle(*s).is_some() && pb.handle(*s).is_none());
            (
                ok && ours.len() + theirs.len() == k,
                ours.len() + theirs.len(),
            )
        }
        _ => (false, 0),
    };
    let csas = k as u64 * 20 + 2 * 36;
    Figures {
        bytes: bytes + csas,
        round_trips: round_trips + 1,
        cpu_ms,
        found,
        ok,
    }
}

// ---- Range-based set reconciliation (Meyer 2022; Negentropy's message layout) ----

const BRANCH: usize = 16;
const BOUND_LEN: u64 = 5; // a bound: 1 octet of prefix length + the shortest distinguishing prefix
const FP_LEN: u64 = 16;
const ID_LEN: u64 = 8; // our symbols are 8 octets (Negentropy's are 32)

struct Side<'a> {
    ids: &'a [u64],
    // prefix sums (wrapping) for the range fingerprint: sum and count
    sums: Vec<u64>,
}

impl<'a> Side<'a> {
    fn new(ids: &'a [u64]) -> Self {
        let mut sums = Vec::with_capacity(ids.len() + 1);
        let mut s = 0u64;
        sums.push(0);
        for &x in ids {
            s = s.wrapping_add(x);
            sums.push(s);
        }
        Side { ids, sums }
    }
    fn idx(&self, bound: u64) -> usize {
        self.ids.partition_point(|&x| x < bound)
    }
    fn fp(&self, lo: u64, hi: u64) -> (u64, usize) {
        let (a, b) = (self.idx(lo), self.idx(hi));
        (self.sums[b].wrapping_sub(self.sums[a]), b - a)
    }
}

enum Range {
    Fp {
        lo: u64,
        hi: u64,
        fp: (u64, usize),
    },
    Ids {
        lo: u64,
        hi: u64,
        ids: Vec<u64>,
        answer: bool,
    },
}

/// One side's answer to a message: ranges to send, and the differences it learned.
fn respond(me: &Side, msg: &[Range], found: &mut usize) -> (Vec<Range>, u64) {
    let mut out = Vec::new();
    let mut bytes = 0;
    for r in msg {
        match r {
            Range::Fp { lo, hi, fp } => {
                bytes += BOUND_LEN + 1 + FP_LEN;
                if me.fp(*lo, *hi) == *fp {
                    continue;
                }
                let (a, b) = (me.idx(*lo), me.idx(*hi));
                let n = b - a;
                if n < 2 * BRANCH {
                    out.push(Range::Ids {
                        lo: *lo,
                        hi: *hi,
                        ids: me.ids[a..b].to_vec(),
                        answer: false,
                    });
                } else {
                    for j in 0..BRANCH {
                        let s = a + n * j / BRANCH;
                        let e = a + n * (j + 1) / BRANCH;
                        let l = if j == 0 { *lo } else { me.ids[s] };
                        let h = if j + 1 == BRANCH { *hi } else { me.ids[e] };
                        out.push(Range::Fp {
                            lo: l,
                            hi: h,
                            fp: me.fp(l, h),
                        });
                    }
                }
            }
            Range::Ids {
                lo,
                hi,
                ids,
                answer,
            } => {
                bytes += BOUND_LEN + 1 + 2 + ID_LEN * ids.len() as u64;
                if *answer {
                    // The ids the other side lacks: the range is settled.
                    continue;
                }
                let (a, b) = (me.idx(*lo), me.idx(*hi));
                let mine = &me.ids[a..b];
                let theirs: std::collections::HashSet<u64> = ids.iter().copied().collect();
                let ours: std::collections::HashSet<u64> = mine.iter().copied().collect();
                *found += theirs.symmetric_difference(&ours).count();
                // Negentropy answers an IdList with the ids the sender lacks (its "have" list).
                let lack: Vec<u64> = mine
                    .iter()
                    .filter(|x| !theirs.contains(x))
                    .copied()
                    .collect();
                if !lack.is_empty() {
                    out.push(Range::Ids {
                        lo: *lo,
                        hi: *hi,
                        ids: lack,
                        answer: true,
                    });
                }
            }
        }
    }
    (out, bytes)
}

fn range_run(a: &[u64], b: &[u64], mtu: usize, k: usize) -> Figures {
    let sa = Side::new(a);
    let sb = Side::new(b);
    let t = Instant::now();
    let mut bytes = 0u64;
    let mut packets = 0u64;
    let mut messages = 0u32;
    let mut found = 0usize;
    let payload = (mtu - CA_CARRIER_LEN) as u64;
    let mut msg = vec![Range::Fp {
        lo: 0,
        hi: u64::MAX,
        fp: sa.fp(0, u64::MAX),
    }];
    let mut turn = 1; // B answers first
    while !msg.is_empty() {
        let me = if turn == 1 { &sb } else { &sa };
        let mut f = 0;
        let (out, b) = respond(me, &msg, &mut f);
        found += f;
        bytes += b;
        packets += b.div_ceil(payload).max(1);
        messages += 1;
        msg = out;
        turn ^= 1;
    }
    let cpu_ms = t.elapsed().as_secs_f64() * 1e3;
    Figures {
        bytes: bytes + packets * CA_CARRIER_LEN as u64 + k as u64 * 20,
        round_trips: messages.div_ceil(2),
        cpu_ms,
        found,
        ok: found == k,
    }
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.replace('_', "").parse().ok())
        .collect();
    let n = args.first().copied().unwrap_or(1_000_000);
    let ks: Vec<usize> = if args.len() > 1 {
        args[1..].to_vec()
    } else {
        vec![10, 100, 1_000, 10_000]
    };
    let key = Key(*b"bench-key-000001");
    println!(
        "# N = {n}; bytes both ways including carrier headers (CA message, Vendor-Private extension); cpu = the exchange, both ends, one thread"
    );
    for &k in &ks {
        let (a, b) = workload(n, k);
        let t = Instant::now();
        let mut pa: Prefix<u32> = Prefix::new(key, scsp_recon::DEFAULT_CELLS);
        for (i, x) in a.iter().enumerate() {
            pa.insert(&x.view(), i as u32).expect("no duplicate");
        }
        let build_ns = t.elapsed().as_secs_f64() * 1e9 / a.len() as f64;
        let mut pb: Prefix<u32> = Prefix::new(key, scsp_recon::DEFAULT_CELLS);
        for (i, x) in b.iter().enumerate() {
            pb.insert(&x.view(), i as u32).expect("no duplicate");
        }
        let t = Instant::now();
        let mut ya: Vec<u64> = a.iter().map(|x| key.symbol(&x.view())).collect();
        let mut yb: Vec<u64> = b.iter().map(|x| key.symbol(&x.view())).collect();
        ya.sort_unstable();
        yb.sort_unstable();
        let sort_ns = t.elapsed().as_secs_f64() * 1e9 / (a.len() + b.len()) as f64;
        for mtu in [1472usize, 65000] {
            let r = riblt_run(&pa, &pb, mtu, k);
            println!(
                "riblt  N={n} K={k} mtu={mtu} bytes={} round_trips={} cpu_ms={:.2} decoded={} ok={} state_ns_per_entry={build_ns:.0} cells_per_packet={}",
                r.bytes,
                r.round_trips,
                r.cpu_ms,
                r.found,
                r.ok,
                cells_per_packet(mtu)
            );
            let g = range_run(&ya, &yb, mtu, k);
            println!(
                "range  N={n} K={k} mtu={mtu} bytes={} round_trips={} cpu_ms={:.2} decoded={} ok={} state_ns_per_entry={sort_ns:.0}",
                g.bytes, g.round_trips, g.cpu_ms, g.found, g.ok
            );
            println!(
                "rfc-ca N={n} K={k} mtu={mtu} bytes={} (summaries only, computed)",
                rfc_ca_bytes(n, mtu)
            );
        }
    }
}
