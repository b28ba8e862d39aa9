//! The core's share of an alignment, without sockets or processes: server A holds N entries of
//! 40 bytes, B is empty; both run pipelined, as scspd does, and every packet is handed straight
//! to the other (virtual time stands still while packets are in flight). Prints the CPU time
//! spent inside each server's calls, in total and per entry, for Cache Summarize and for Update
//! Cache. This is the floor under `scsp-bench align` (which adds the network, the daemon's loop
//! and the waits of the lock-step exchange), and a quiet place to profile the core:
//!
//! ```sh
//! cargo bench -p scsp-core --bench align -- --entries 1000000 --mtu 65000
//! perf record -g target/release/deps/align-* --entries 1000000 --mtu 65000
//! ```
//!
//! With `--reconcile 1` both run the reconciliation extension: B, empty, takes A's entries by
//! the bulk path (docs/reconciliation.md §8).

use std::time::{Duration, Instant};

use scsp_core::event::CaState;
use scsp_core::wire::{Data, Id};
use scsp_core::{DcsConfig, DcsId, Server, ServerConfig, Time};

/// One server and the CPU time spent in its calls.
struct Side {
    server: Server,
    dcs: DcsId,
    spent: Duration,
}

impl Side {
    fn new(me: u8, peer: u8, mtu: usize, reconcile: bool) -> Side {
        let mut cfg = ServerConfig::new(65000, 7, Id::from([127, 0, 0, me]));
        cfg.max_packet = mtu;
        cfg.reconcile = reconcile;
        cfg.recon_key = [me; 16];
        cfg.hash_seed = u64::from(me);
        let now = Time::from_millis(0);
        let mut server = Server::new(cfg);
        server.set_pipelined(now, true);
        server.set_learn_events(false);
        let dcs = server.add_dcs(now, DcsConfig::new(Id::from([127, 0, 0, peer])));
        Side {
            server,
            dcs,
            spent: Duration::ZERO,
        }
    }

    fn timed<T>(&mut self, f: impl FnOnce(&mut Server) -> T) -> T {
        let t = Instant::now();
        let r = f(&mut self.server);
        self.spent += t.elapsed();
        r
    }

    fn ca(&self) -> CaState {
        self.server
            .dcs_info(self.dcs)
            .map_or(CaState::Down, |i| i.ca.state)
    }
}

/// Hand every packet `from` has to send to `to`; returns how many there were.
fn carry(from: &mut Side, to: &mut Side, now: Time) -> usize {
    let mut n = 0;
    while let Some(t) = from.timed(Server::poll_transmit) {
        n += 1;
        let dcs = to.dcs;
        to.timed(|s| s.handle_datagram(now, dcs, &t.bytes));
    }
    while from.server.poll_event().is_some() {}
    n
}

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let entries = arg("--entries", 1_000_000);
    let mtu = arg("--mtu", 65000);
    let reconcile = arg("--reconcile", 0) != 0;
    let mut now = Time::from_millis(0);
    let mut a = Side::new(1, 2, mtu, reconcile);
    let mut b = Side::new(2, 1, mtu, reconcile);
    let data: Vec<Data> = (0..entries as u32)
        .map(|i| {
            let key = i.to_be_bytes();
            let mut d = Vec::with_capacity(40);
            while d.len() < 40 {
                d.extend_from_slice(&key);
                d.push(0x5a);
            }
            d.truncate(40);
            Data::from(d)
        })
        .collect();
    for (i, d) in data.into_iter().enumerate() {
        a.server
            .originate(now, &(i as u32).to_be_bytes(), d)
            .expect("valid");
    }
    while a.server.poll_event().is_some() {}
    // (With the extension, A's cells take in its entries before the clock starts.)
    while let Some(t) = a.server.poll_timeout().filter(|&t| t <= now) {
        a.server.handle_timeout(t);
    }
    let (da, db) = (a.dcs, b.dcs);
    a.server.link_up(now, da);
    b.server.link_up(now, db);
    a.spent = Duration::ZERO;
    b.spent = Duration::ZERO;
    let mut summarized: Option<(Duration, Duration)> = None;
    let mut packets = 0;
    loop {
        let moved = carry(&mut a, &mut b, now) + carry(&mut b, &mut a, now);
        packets += moved;
        if moved == 0 {
            if b.server.has_work() || a.server.has_work() {
                b.timed(|s| s.work(now));
                a.timed(|s| s.work(now));
                continue;
            }
            if a.ca() == CaState::Aligned && b.ca() == CaState::Aligned {
                break;
            }
            // Nothing in flight: the next timer (Hellos at the start).
            let next = [a.server.poll_timeout(), b.server.poll_timeout()]
                .into_iter()
                .flatten()
                .min()
                .expect("a timer");
            now = now.max(next);
            a.timed(|s| s.handle_timeout(now));
            b.timed(|s| s.handle_timeout(now));
        }
        if summarized.is_none() && matches!(b.ca(), CaState::UpdateCache | CaState::Aligned) {
            summarized = Some((a.spent, b.spent));
        }
    }
    assert_eq!(b.server.cache().live(), entries, "B holds every entry");
    let (sa, sb) = summarized.unwrap_or_default();
    let per = |d: Duration| d.as_nanos() as f64 / entries as f64;
    println!(
        "core align entries={entries} mtu={mtu} reconcile={reconcile} packets={packets} \
         a={:.3}s ({:.0} ns/entry: summarize {:.0}, update {:.0}) \
         b={:.3}s ({:.0} ns/entry: summarize {:.0}, update {:.0})",
        a.spent.as_secs_f64(),
        per(a.spent),
        per(sa),
        per(a.spent - sa),
        b.spent.as_secs_f64(),
        per(b.spent),
        per(sb),
        per(b.spent - sb),
    );
}
