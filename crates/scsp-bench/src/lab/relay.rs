//! A userspace UDP impairment relay for one link A<->B on loopback.
//!
//! A is configured to reach B at [`Relay::addr_for_a`], B to reach A at [`Relay::addr_for_b`];
//! each sees the other's packets come from the relay port it was given, so neither needs to know
//! the relay is there. Each direction runs on its own thread with its own RNG seeded from the
//! link's seed, so a run with the same seed and the same traffic drops, duplicates and delays the
//! same packets. The impairment can be changed at any time ([`Relay::set`]), which is how a
//! script turns faults on, off, or partitions the link.

use std::collections::BinaryHeap;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};

/// What the relay does to each packet of a link (both directions).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Impairment {
    /// Probability a packet is dropped.
    pub loss: f64,
    /// Base one-way delay.
    pub delay: Duration,
    /// Uniform extra delay in `0..=jitter`.
    pub jitter: Duration,
    /// Probability a packet is sent twice.
    pub dup: f64,
    /// Probability a packet is held back long enough (another base delay plus 5 ms) for later
    /// packets to overtake it.
    pub reorder: f64,
    /// Drop everything.
    pub partitioned: bool,
}

/// Packets seen, dropped and sent by one relay (both directions).
#[derive(Debug, Default)]
pub struct Counters {
    /// Packets received from either end.
    pub received: AtomicU64,
    /// Packets dropped (loss or partition).
    pub dropped: AtomicU64,
    /// Extra copies sent.
    pub duplicated: AtomicU64,
    /// Packets sent on (copies included).
    pub sent: AtomicU64,
}

/// One link's relay; stops its threads when dropped.
pub struct Relay {
    addr_for_a: SocketAddr,
    addr_for_b: SocketAddr,
    imp: Arc<Mutex<Impairment>>,
    stop: Arc<AtomicBool>,
    counters: Arc<Counters>,
    threads: Vec<JoinHandle<()>>,
}

#[derive(PartialEq, Eq)]
struct Held {
    due: Instant,
    seq: u64,
    data: Vec<u8>,
}

impl Ord for Held {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        // Earliest first out of the max-heap; ties in arrival order.
        (o.due, o.seq).cmp(&(self.due, self.seq))
    }
}

impl PartialOrd for Held {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}

impl Relay {
    /// Start a relay between the real addresses `a` and `b` with impairment `imp` and `seed`.
    pub fn start(
        a: SocketAddr,
        b: SocketAddr,
        imp: Impairment,
        seed: u64,
    ) -> std::io::Result<Self> {
        let sock_a = UdpSocket::bind("127.0.0.1:0")?; // A talks to this one
        let sock_b = UdpSocket::bind("127.0.0.1:0")?; // B talks to this one
        let addr_for_a = sock_a.local_addr()?;
        let addr_for_b = sock_b.local_addr()?;
        let imp = Arc::new(Mutex::new(imp));
        let stop = Arc::new(AtomicBool::new(false));
        let counters = Arc::new(Counters::default());
        let mut threads = Vec::new();
        for (dir, rx, tx, dst) in [
            (0u64, sock_a.try_clone()?, sock_b.try_clone()?, b),
            (1u64, sock_b, sock_a, a),
        ] {
            rx.set_read_timeout(Some(Duration::from_millis(5)))?;
            let (imp, stop, counters) = (imp.clone(), stop.clone(), counters.clone());
            let rng = ChaCha8Rng::seed_from_u64(seed.wrapping_mul(2).wrapping_add(dir));
            threads.push(std::thread::spawn(move || {
                pump(&rx, &tx, dst, &imp, &stop, &counters, rng);
            }));
        }
        Ok(Relay {
            addr_for_a,
            addr_for_b,
            imp,
            stop,
            counters,
            threads,
        })
    }

    /// The address A must use for B.
    pub fn addr_for_a(&self) -> SocketAddr {
        self.addr_for_a
    }

    /// The address B must use for A.
    pub fn addr_for_b(&self) -> SocketAddr {
        self.addr_for_b
    }

    /// Change the impairment from now on (packets already held keep their delay).
    pub fn set(&self, imp: Impairment) {
        *self.imp.lock().unwrap_or_else(|e| e.into_inner()) = imp;
    }

    /// The counters.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

fn pump(
    rx: &UdpSocket,
    tx: &UdpSocket,
    dst: SocketAddr,
    imp: &Mutex<Impairment>,
    stop: &AtomicBool,
    c: &Counters,
    mut rng: ChaCha8Rng,
) {
    let mut held = BinaryHeap::<Held>::new();
    let mut seq = 0u64;
    let mut buf = vec![0u8; 65536];
    while !stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        while held.peek().is_some_and(|h| h.due <= now) {
            if let Some(h) = held.pop() {
                let _ = tx.send_to(&h.data, dst);
                c.sent.fetch_add(1, Ordering::Relaxed);
            }
        }
        let wait = held
            .peek()
            .map_or(Duration::from_millis(5), |h| {
                h.due.saturating_duration_since(now)
            })
            .clamp(Duration::from_micros(200), Duration::from_millis(5));
        let _ = rx.set_read_timeout(Some(wait));
        let Ok(n) = rx.recv(&mut buf) else { continue };
        c.received.fetch_add(1, Ordering::Relaxed);
        let i = *imp.lock().unwrap_or_else(|e| e.into_inner());
        // Draw every decision for every packet, so one packet's fate does not shift the
        // random stream of the next with the settings.
        let (lost, dup, reorder) = (
            rng.random::<f64>(),
            rng.random::<f64>(),
            rng.random::<f64>(),
        );
        let jit = rng.random_range(0..=i.jitter.as_micros() as u64);
        if i.partitioned || lost < i.loss {
            c.dropped.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        let mut delay = i.delay + Duration::from_micros(jit);
        if reorder < i.reorder {
            delay += i.delay + Duration::from_millis(5);
        }
        let copies = if dup < i.dup { 2 } else { 1 };
        c.duplicated.fetch_add(copies - 1, Ordering::Relaxed);
        for _ in 0..copies {
            seq += 1;
            held.push(Held {
                due: Instant::now() + delay,
                seq,
                data: buf[..n].to_vec(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ends() -> (UdpSocket, UdpSocket) {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        for s in [&a, &b] {
            s.set_read_timeout(Some(Duration::from_millis(300)))
                .unwrap();
        }
        (a, b)
    }

    /// Receive until `n` packets or a quiet 300 ms.
    fn drain(s: &UdpSocket, n: usize) -> Vec<(Vec<u8>, SocketAddr)> {
        let mut out = Vec::new();
        let mut buf = [0u8; 64];
        while out.len() < n {
            match s.recv_from(&mut buf) {
                Ok((k, from)) => out.push((buf[..k].to_vec(), from)),
                Err(_) => break,
            }
        }
        out
    }

    #[test]
    fn clean_link_passes_both_ways_from_the_relay_ports() {
        let (a, b) = ends();
        let r = Relay::start(
            a.local_addr().unwrap(),
            b.local_addr().unwrap(),
            Impairment::default(),
            1,
        )
        .unwrap();
        for i in 0..20u8 {
            a.send_to(&[i], r.addr_for_a()).unwrap();
        }
        let got = drain(&b, 20);
        assert_eq!(got.len(), 20);
        assert!(got.iter().all(|(_, from)| *from == r.addr_for_b()));
        let mut seen: Vec<u8> = got.iter().map(|(d, _)| d[0]).collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..20).collect::<Vec<_>>());
        b.send_to(b"x", r.addr_for_b()).unwrap();
        let back = drain(&a, 1);
        assert_eq!(back, vec![(b"x".to_vec(), r.addr_for_a())]);
    }

    #[test]
    fn partition_drops_everything_and_lifting_it_restores_the_link() {
        let (a, b) = ends();
        let imp = Impairment {
            partitioned: true,
            ..Impairment::default()
        };
        let r = Relay::start(a.local_addr().unwrap(), b.local_addr().unwrap(), imp, 2).unwrap();
        for i in 0..10u8 {
            a.send_to(&[i], r.addr_for_a()).unwrap();
        }
        assert!(drain(&b, 1).is_empty());
        assert_eq!(r.counters().dropped.load(Ordering::Relaxed), 10);
        r.set(Impairment::default());
        a.send_to(b"y", r.addr_for_a()).unwrap();
        assert_eq!(drain(&b, 1).len(), 1);
    }

    #[test]
    fn same_seed_drops_the_same_packets() {
        let run = |seed| {
            let (a, b) = ends();
            let imp = Impairment {
                loss: 0.5,
                ..Impairment::default()
            };
            let r =
                Relay::start(a.local_addr().unwrap(), b.local_addr().unwrap(), imp, seed).unwrap();
            for i in 0..40u8 {
                a.send_to(&[i], r.addr_for_a()).unwrap();
            }
            let mut got: Vec<u8> = drain(&b, 40).iter().map(|(d, _)| d[0]).collect();
            got.sort_unstable();
            got
        };
        let first = run(7);
        assert!(
            !first.is_empty() && first.len() < 40,
            "loss 0.5 kept {}",
            first.len()
        );
        assert_eq!(first, run(7));
    }
}
