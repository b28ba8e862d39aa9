//! The event loop: servers, a seeded network, the workload, scripted faults and the convergence
//! checks, all on virtual time.

use std::cmp::{Ordering, Reverse};
use std::collections::{BTreeMap, BinaryHeap};
use std::io::Write;
use std::time::Duration;

use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use scsp_core::wire::{self, Body, Data, Id, RecordId};
use scsp_core::{
    CaState, CacheChange, DcsId, Event, HelloState, Server, ServerConfig, Time, Trace,
};

use crate::config::SimConfig;
use crate::topology;

/// Failure lines kept per seed; the rest are counted.
const MAX_FAILURES: usize = 6;

/// How many timeouts a server may ask for at one same instant before the run is stopped as a
/// busy loop.
const BUSY_LOOP: u32 = 10_000;

/// What one seed's run found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedResult {
    /// The seed.
    pub seed: u64,
    /// Every check passed: caches identical and as the applications want them, every DCS Aligned
    /// with nothing left to send or request, for `stable_for` after the faults, and nothing went
    /// wrong on the way.
    pub converged: bool,
    /// What went wrong, most telling first; at most a few lines, the last one saying how many
    /// more there were.
    pub failures: Vec<String>,
    /// Virtual time from the end of the fault phase to convergence.
    pub converge_time: Option<Duration>,
    /// Packets the servers sent.
    pub packets: u64,
    /// Bytes the servers sent.
    pub bytes: u64,
    /// Packets delivered (a duplicate counts twice).
    pub delivered: u64,
    /// Packets lost to the loss probability.
    pub lost: u64,
    /// Packets lost to a partition or a restart.
    pub blocked: u64,
    /// Packets duplicated.
    pub duplicated: u64,
    /// Packets held back to be reordered.
    pub reordered: u64,
    /// Events processed.
    pub events: u64,
    /// Entries originated, updated and withdrawn by the applications.
    pub originated: u64,
    /// Updates (including re-originations of withdrawn entries).
    pub updated: u64,
    /// Withdrawals.
    pub withdrawn: u64,
    /// Restarts that happened, of which `fresh_restarts` lost the server's state.
    pub restarts: u64,
    /// Restarts that replaced the server by a fresh one.
    pub fresh_restarts: u64,
    /// Partitions that happened.
    pub partitions: u64,
    /// Abnormal events (2.1) reported by the servers.
    pub abnormal_events: u64,
    /// Times a converged state stopped holding before the end (the run then needs a new
    /// converged state that holds for `stable_for`).
    pub relapses: u64,
    /// Virtual time at which the run stopped.
    pub end_time: Time,
    /// A digest of the final state of every server (caches, FSM states) and of the counters:
    /// two runs of the same seed must give the same.
    pub fingerprint: u64,
}

/// Run one seed. See [`run_seed_traced`] for a trace of everything that happens.
pub fn run_seed(cfg: &SimConfig, seed: u64) -> SeedResult {
    Sim::new(cfg.clone(), seed, None, 0).run()
}

/// Run one seed, writing the trace to `out`: at `level` 1 every packet sent, lost and delivered,
/// every FSM transition, drop and abnormal event, the faults and the workload; at level 2 also
/// the messages each server sends and accepts, and its cache changes; at level 3 also the records
/// of every CA, CSU Request, CSU Reply and CSUS.
pub fn run_seed_traced(cfg: &SimConfig, seed: u64, out: &mut dyn Write, level: u8) -> SeedResult {
    Sim::new(cfg.clone(), seed, Some(out), level.max(1)).run()
}

/// A scheduled event, ordered by time and then by the order it was scheduled in.
struct Queued {
    at: Time,
    n: u64,
    ev: Ev,
}

impl PartialEq for Queued {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.n) == (other.at, other.n)
    }
}
impl Eq for Queued {}
impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Queued {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.at, self.n).cmp(&(other.at, other.n))
    }
}

enum Ev {
    /// A packet from server `from` arrives at server `to`.
    Deliver {
        from: usize,
        to: usize,
        bytes: Vec<u8>,
    },
    /// A server's timer, valid while its generation is current.
    Timeout {
        node: usize,
        generation: u64,
    },
    /// The application at `node` originates a new entry.
    NewEntry {
        node: usize,
        key: Vec<u8>,
    },
    /// Some application updates one of its entries (or re-originates a withdrawn one).
    Update,
    /// Some application withdraws one of its live entries.
    Withdraw,
    PartitionStart(usize),
    PartitionEnd(usize),
    RestartStart(usize),
    RestartEnd(usize),
    /// The application at `node`, back after its server restarted without its state, hands its
    /// cache over (valid while `incarnation` is the node's).
    Handover {
        node: usize,
        incarnation: u64,
    },
    FaultsEnd,
    Check,
}

/// One direction of a link.
#[derive(Clone, Copy)]
struct Dir {
    delay_ms: u64,
    /// Arrival time of the last packet sent in order: later ones arrive no earlier (FIFO).
    fifo: Time,
}

struct Link {
    a: usize,
    b: usize,
    /// Number of partitions cutting this link.
    cut: u32,
    /// `[a→b, b→a]`.
    dir: [Dir; 2],
}

struct Partition {
    links: Vec<usize>,
    /// The servers are told (link down / link up), rather than finding out by themselves.
    notify: bool,
    start: Time,
    end: Time,
    active: bool,
}

struct Restart {
    node: usize,
    /// The server is replaced by a fresh one (state lost).
    fresh: bool,
    /// The neighbours are told the link went down.
    notify_neighbours: bool,
    start: Time,
    end: Time,
    active: bool,
    skipped: bool,
}

struct Node {
    lsid: Id,
    /// `None` while the server is down after losing its state.
    server: Option<Server>,
    /// False during a restart: packets to and from it are lost.
    reachable: bool,
    /// Until when it is down (for workload that must wait for it).
    down_until: Time,
    /// Neighbour → the DCS of the current server for it.
    dcs: BTreeMap<usize, DcsId>,
    by_dcs: BTreeMap<DcsId, usize>,
    /// Neighbour → how many reasons there are for this server to consider the link down.
    holds: BTreeMap<usize, u32>,
    timer_at: Option<Time>,
    timer_gen: u64,
    /// Busy-loop guard: the instant of the last timeout and how many fired at it.
    last_fire: (Time, u32),
    /// The application's own record of its entries: `Some(data)` live, `None` withdrawn.
    app: BTreeMap<Vec<u8>, Option<Data>>,
    /// The sequence number of each of its entries, as the application last saw it in its
    /// server's cache (a local server may number its own entries: RFC 2334 B.2.0.2).
    app_seq: BTreeMap<Vec<u8>, u32>,
    /// Servers made for this node so far (a restart that loses state makes a new one).
    incarnation: u64,
    /// The server restarted without its state and the application has not handed its cache
    /// over yet: until it does, the application changes only its own record (the handover
    /// carries them), as while the server is down.
    awaiting_handover: bool,
}

/// The simulation of one seed.
struct Sim<'a> {
    cfg: SimConfig,
    seed: u64,
    now: Time,
    queue: BinaryHeap<Reverse<Queued>>,
    counter: u64,
    nodes: Vec<Node>,
    links: Vec<Link>,
    link_of: BTreeMap<(usize, usize), usize>,
    partitions: Vec<Partition>,
    restarts: Vec<Restart>,
    /// Choices the workload makes as it runs.
    rng: ChaCha8Rng,
    /// The network's draws.
    net: ChaCha8Rng,
    /// Live entries over all applications.
    app_live: usize,
    faulty: bool,
    fault_end: Time,
    deadline: Time,
    converged_at: Option<Time>,
    done: bool,
    failures: Vec<String>,
    out: Option<&'a mut dyn Write>,
    level: u8,
    res: SeedResult,
}

impl<'a> Sim<'a> {
    fn new(cfg: SimConfig, seed: u64, out: Option<&'a mut dyn Write>, level: u8) -> Self {
        // The script (topology, delays, workload, faults) and the network draw from separate
        // streams, so that the script of a seed does not depend on the traffic.
        let mut script = ChaCha8Rng::seed_from_u64(seed);
        let mut net = ChaCha8Rng::seed_from_u64(seed);
        net.set_stream(1);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(2);

        let n = cfg.servers;
        let edges = topology::edges(cfg.topology, n, &mut script);
        let mut links = Vec::with_capacity(edges.len());
        let mut link_of = BTreeMap::new();
        for &(a, b) in &edges {
            let mut dir = || Dir {
                delay_ms: script.random_range(cfg.delay_ms.0..=cfg.delay_ms.1),
                fifo: Time::ZERO,
            };
            let d = [dir(), dir()];
            link_of.insert((a, b), links.len());
            links.push(Link {
                a,
                b,
                cut: 0,
                dir: d,
            });
        }
        let fault_end = Time::ZERO + cfg.fault_phase;
        let deadline = fault_end + cfg.max_settle;
        let nodes = (0..n)
            .map(|i| Node {
                lsid: SimConfig::lsid(i),
                server: None,
                reachable: true,
                down_until: Time::ZERO,
                dcs: BTreeMap::new(),
                by_dcs: BTreeMap::new(),
                holds: BTreeMap::new(),
                timer_at: None,
                timer_gen: 0,
                last_fire: (Time::ZERO, 0),
                app: BTreeMap::new(),
                app_seq: BTreeMap::new(),
                incarnation: 0,
                awaiting_handover: false,
            })
            .collect();
        let mut sim = Sim {
            res: SeedResult {
                seed,
                converged: false,
                failures: Vec::new(),
                converge_time: None,
                packets: 0,
                bytes: 0,
                delivered: 0,
                lost: 0,
                blocked: 0,
                duplicated: 0,
                reordered: 0,
                events: 0,
                originated: 0,
                updated: 0,
                withdrawn: 0,
                restarts: 0,
                fresh_restarts: 0,
                partitions: 0,
                abnormal_events: 0,
                relapses: 0,
                end_time: Time::ZERO,
                fingerprint: 0,
            },
            cfg,
            seed,
            now: Time::ZERO,
            queue: BinaryHeap::new(),
            counter: 0,
            nodes,
            links,
            link_of,
            partitions: Vec::new(),
            restarts: Vec::new(),
            rng,
            net,
            app_live: 0,
            faulty: true,
            fault_end,
            deadline,
            converged_at: None,
            done: false,
            failures: Vec::new(),
            out,
            level,
        };
        sim.script(&mut script);
        sim
    }

    // ----- set-up ----------------------------------------------------------------------------

    fn neighbours(&self, node: usize) -> Vec<usize> {
        let mut v: Vec<usize> = self
            .links
            .iter()
            .filter_map(|l| {
                if l.a == node {
                    Some(l.b)
                } else if l.b == node {
                    Some(l.a)
                } else {
                    None
                }
            })
            .collect();
        v.sort_unstable();
        v
    }

    /// A fresh server for `node`, with a DCS per neighbour (links still Down).
    fn make_server(&mut self, node: usize) {
        let mut cfg = ServerConfig::new(
            self.cfg.protocol_id,
            self.cfg.sgid,
            self.nodes[node].lsid.clone(),
        );
        cfg.max_packet = self.cfg.mtu;
        // The core's tables iterate in an order set by their hash seed: drawn from the run's seed,
        // so that a seed repeats exactly and different seeds see different orders.
        self.nodes[node].incarnation += 1;
        cfg.hash_seed = mix(self.seed, node as u64, self.nodes[node].incarnation);
        // As scspd does with the wall clock: each incarnation numbers above the earlier ones'
        // instances (here from the virtual time in milliseconds).
        cfg.seq_floor = self.now.as_millis() as u32;
        let mut server = Server::new(cfg);
        server.set_trace_messages(self.level >= 2);
        server.set_pipelined(self.now, self.cfg.pipelined);
        let mut dcs = BTreeMap::new();
        let mut by_dcs = BTreeMap::new();
        for nb in self.neighbours(node) {
            let id = server.add_dcs(self.now, self.cfg.dcs_config(self.nodes[nb].lsid.clone()));
            dcs.insert(nb, id);
            by_dcs.insert(id, nb);
        }
        let nd = &mut self.nodes[node];
        nd.server = Some(server);
        nd.dcs = dcs;
        nd.by_dcs = by_dcs;
        nd.timer_at = None;
        nd.timer_gen += 1;
    }

    fn random_data(rng: &mut ChaCha8Rng) -> Data {
        let len = rng.random_range(8..=40);
        let bytes: Vec<u8> = (0..len).map(|_| rng.random()).collect();
        Data::from(bytes)
    }

    fn at(&self, frac: f64) -> Time {
        Time(((self.cfg.fault_phase.as_millis() as f64) * frac) as u64)
    }

    /// Build the servers and draw the whole script of the run.
    fn script(&mut self, script: &mut ChaCha8Rng) {
        let n = self.cfg.servers;
        for i in 0..n {
            self.make_server(i);
        }
        if self.out.is_some() {
            let edges: Vec<String> = self
                .links
                .iter()
                .map(|l| format!("{}-{}", l.a, l.b))
                .collect();
            let line = format!(
                "seed {}: {} servers, {:?} topology, links {}",
                self.seed,
                n,
                self.cfg.topology,
                edges.join(" ")
            );
            self.log(line);
        }

        // Entries preloaded at server 0 before any link comes up.
        for i in 0..self.cfg.preload {
            let key = (i as u32).to_be_bytes().to_vec();
            let data = Self::random_data(script);
            self.originate(0, key, data);
        }

        // Every link comes up at the start.
        for node in 0..n {
            let dcs: Vec<DcsId> = self.nodes[node].dcs.values().copied().collect();
            for id in dcs {
                self.call(node, |s, now| s.link_up(now, id));
            }
        }

        // Workload over the first 90% of the fault phase.
        if n > 0 {
            let e = self.cfg.entries;
            let mut used: BTreeMap<usize, std::collections::BTreeSet<u32>> = BTreeMap::new();
            for i in 0..e {
                let node = script.random_range(0..n);
                let set = used.entry(node).or_default();
                // Keys drawn from 0..E, so that different servers often use the same key.
                let mut k = script.random_range(0..e as u32);
                let mut tries = 0;
                while set.contains(&k) && tries < 64 {
                    k = script.random_range(0..e as u32);
                    tries += 1;
                }
                if set.contains(&k) {
                    k = (e + i) as u32;
                }
                set.insert(k);
                let t = script.random_range(0..=self.at(0.9).0);
                self.push(
                    Time(t),
                    Ev::NewEntry {
                        node,
                        key: k.to_be_bytes().to_vec(),
                    },
                );
            }
            let updates = (e as f64 * self.cfg.update_fraction).round() as usize;
            for _ in 0..updates {
                let t = script.random_range(0..=self.at(0.9).0);
                self.push(Time(t), Ev::Update);
            }
            let withdrawals = (e as f64 * self.cfg.withdraw_fraction).round() as usize;
            for _ in 0..withdrawals {
                let t = script.random_range(0..=self.at(0.9).0);
                self.push(Time(t), Ev::Withdraw);
            }
        }

        // Partitions: a random set of links, or every link between two random groups.
        let fault_ms = self.cfg.fault_phase.as_millis() as u64;
        for i in 0..self.cfg.partitions {
            if self.links.is_empty() || fault_ms < 100 {
                break;
            }
            let start = Time(script.random_range(self.at(0.05).0..=self.at(0.8).0));
            let longest = (fault_ms * 3 / 10).max(2_000);
            let len = script.random_range(2_000.min(longest)..=longest);
            let end = Time((start.0 + len).min(self.at(0.95).0).max(start.0 + 1));
            let mut cut: Vec<usize> = Vec::new();
            if n >= 2 && script.random_bool(0.5) {
                let mut group: Vec<bool> = (0..n).map(|_| script.random_bool(0.5)).collect();
                if group.iter().all(|&g| g) || group.iter().all(|&g| !g) {
                    let x = script.random_range(0..n);
                    group[x] = !group[x];
                }
                for (j, l) in self.links.iter().enumerate() {
                    if group[l.a] != group[l.b] {
                        cut.push(j);
                    }
                }
            } else {
                for j in 0..self.links.len() {
                    if script.random_bool(0.3) {
                        cut.push(j);
                    }
                }
                if cut.is_empty() {
                    cut.push(script.random_range(0..self.links.len()));
                }
            }
            let notify = script.random_bool(0.5);
            self.partitions.push(Partition {
                links: cut,
                notify,
                start,
                end,
                active: false,
            });
            self.push(start, Ev::PartitionStart(i));
            self.push(end, Ev::PartitionEnd(i));
        }

        // Restarts, of distinct servers as far as there are enough.
        if n > 0 && fault_ms >= 100 {
            let mut order: Vec<usize> = (0..n).collect();
            for i in (1..n).rev() {
                let j = script.random_range(0..=i);
                order.swap(i, j);
            }
            for i in 0..self.cfg.restarts {
                let node = order[i % n];
                let start = Time(script.random_range(self.at(0.05).0..=self.at(0.8).0));
                let longest = (fault_ms * 15 / 100).clamp(1_000, 15_000);
                let len = script.random_range(1_000.min(longest)..=longest);
                let end = Time((start.0 + len).min(self.at(0.95).0).max(start.0 + 1));
                let fresh = script.random_bool(self.cfg.fresh_restart);
                let notify_neighbours = script.random_bool(0.5);
                self.restarts.push(Restart {
                    node,
                    fresh,
                    notify_neighbours,
                    start,
                    end,
                    active: false,
                    skipped: false,
                });
                self.push(start, Ev::RestartStart(i));
                self.push(end, Ev::RestartEnd(i));
            }
        }

        if self.out.is_some() {
            let mut lines = Vec::new();
            for (i, p) in self.partitions.iter().enumerate() {
                let l: Vec<String> = p
                    .links
                    .iter()
                    .map(|&j| format!("{}-{}", self.links[j].a, self.links[j].b))
                    .collect();
                lines.push(format!(
                    "partition {i}: {} .. {}, {}, cuts {}",
                    p.start,
                    p.end,
                    if p.notify { "servers told" } else { "silent" },
                    l.join(" ")
                ));
            }
            for (i, r) in self.restarts.iter().enumerate() {
                lines.push(format!(
                    "restart {i}: server {} {} .. {}, {}, neighbours {}",
                    r.node,
                    r.start,
                    r.end,
                    if r.fresh { "state lost" } else { "state kept" },
                    if r.notify_neighbours {
                        "told"
                    } else {
                        "not told"
                    }
                ));
            }
            for l in lines {
                self.log(l);
            }
        }
        self.push(self.fault_end, Ev::FaultsEnd);
    }

    // ----- the loop --------------------------------------------------------------------------

    fn push(&mut self, at: Time, ev: Ev) {
        self.counter += 1;
        self.queue.push(Reverse(Queued {
            at,
            n: self.counter,
            ev,
        }));
    }

    fn run(mut self) -> SeedResult {
        while let Some(Reverse(q)) = self.queue.pop() {
            self.res.events += 1;
            if self.res.events > self.cfg.max_events {
                self.fail(format!(
                    "stopped after {} events at {} (event limit)",
                    self.cfg.max_events, self.now
                ));
                break;
            }
            debug_assert!(q.at >= self.now);
            self.now = q.at;
            match q.ev {
                Ev::Deliver { from, to, bytes } => self.deliver(from, to, bytes),
                Ev::Timeout { node, generation } => self.timeout(node, generation),
                Ev::NewEntry { node, key } => self.new_entry(node, key),
                Ev::Update => self.update(),
                Ev::Withdraw => self.withdraw(),
                Ev::PartitionStart(i) => self.partition_start(i),
                Ev::PartitionEnd(i) => self.partition_end(i),
                Ev::RestartStart(i) => self.restart_start(i),
                Ev::RestartEnd(i) => self.restart_end(i),
                Ev::Handover { node, incarnation } => {
                    if self.nodes[node].incarnation == incarnation {
                        self.handover(node);
                    }
                }
                Ev::FaultsEnd => self.faults_end(),
                Ev::Check => self.periodic_check(),
            }
            if self.done {
                break;
            }
        }
        self.finish()
    }

    fn finish(mut self) -> SeedResult {
        self.res.end_time = self.now;
        let mut failures = std::mem::take(&mut self.failures);
        self.res.converged = self.converged_at.is_some() && self.done && failures.is_empty();
        if !self.res.converged && failures.is_empty() {
            failures.push("did not converge (no check ran)".into());
        }
        if failures.len() > MAX_FAILURES {
            let more = failures.len() - (MAX_FAILURES - 1);
            failures.truncate(MAX_FAILURES - 1);
            failures.push(format!("(+{more} more)"));
        }
        self.res.failures = failures;
        self.res.fingerprint = self.fingerprint();
        if self.out.is_some() {
            let line = format!(
                "end at {}: {} (packets {}, delivered {}, lost {}, blocked {}, duplicated {}, reordered {}, events {})",
                self.now,
                if self.res.converged {
                    "converged"
                } else {
                    "FAILED"
                },
                self.res.packets,
                self.res.delivered,
                self.res.lost,
                self.res.blocked,
                self.res.duplicated,
                self.res.reordered,
                self.res.events
            );
            self.log(line);
        }
        self.res
    }

    fn fail(&mut self, what: String) {
        self.log(format!("FAILURE: {what}"));
        self.failures.push(what);
    }

    fn log(&mut self, line: String) {
        let now = self.now;
        if let Some(out) = self.out.as_mut() {
            let _ = writeln!(out, "[{:>9}] {line}", now.to_string());
        }
    }

    // ----- calling into a server -------------------------------------------------------------

    /// Call `f` on the server of `node`, then route what it sends, take its events and reschedule
    /// its timer.
    fn call<R>(&mut self, node: usize, f: impl FnOnce(&mut Server, Time) -> R) -> Option<R> {
        let now = self.now;
        let server = self.nodes[node].server.as_mut()?;
        let r = f(server, now);
        self.drain(node);
        Some(r)
    }

    fn drain(&mut self, node: usize) {
        let Some(server) = self.nodes[node].server.as_mut() else {
            return;
        };
        let mut out = Vec::new();
        while let Some(t) = server.poll_transmit() {
            out.push(t);
        }
        let mut events = Vec::new();
        while let Some(e) = server.poll_event() {
            events.push(e);
        }
        let next = server.poll_timeout();
        for e in events {
            self.on_event(node, e);
        }
        for t in out {
            self.send(node, t.dcs, t.bytes);
        }
        let nd = &mut self.nodes[node];
        if next != nd.timer_at {
            nd.timer_gen += 1;
            nd.timer_at = next;
            if let Some(t) = next {
                let generation = nd.timer_gen;
                let at = t.max(self.now);
                self.push(at, Ev::Timeout { node, generation });
            }
        }
    }

    fn timeout(&mut self, node: usize, generation: u64) {
        let now = self.now;
        let nd = &mut self.nodes[node];
        if nd.timer_gen != generation || nd.server.is_none() {
            return;
        }
        nd.timer_at = None;
        if nd.last_fire.0 == now {
            nd.last_fire.1 += 1;
            if nd.last_fire.1 == BUSY_LOOP {
                self.fail(format!(
                    "server {node}: poll_timeout keeps asking for a timeout at {now} after handle_timeout({now}) (busy loop)"
                ));
                self.done = true;
                return;
            }
        } else {
            nd.last_fire = (now, 1);
        }
        self.call(node, |s, now| s.handle_timeout(now));
    }

    fn name_dcs(&self, node: usize, dcs: DcsId) -> String {
        match self.nodes[node].by_dcs.get(&dcs) {
            Some(nb) => format!("s{nb}"),
            None => format!("{dcs}?"),
        }
    }

    fn on_event(&mut self, node: usize, e: Event) {
        if let Event::Trace(Trace::Abnormal { dcs, cause }) = &e {
            self.res.abnormal_events += 1;
            if cause.starts_with("could not encode") {
                let peer = self.name_dcs(node, *dcs);
                self.fail(format!("server {node} (to {peer}): {cause}"));
            }
        }
        if let Event::Confirm { entry, .. } = &e {
            // The simulator never turns confirmation on.
            let what = show_id(&entry.id);
            self.fail(format!(
                "server {node} asked to confirm {what} without confirmation on"
            ));
        }
        if self.out.is_none() {
            return;
        }
        let line = match e {
            Event::Confirm { token, entry, from } => format!(
                "s{node} confirm? token {token} {} seq={:#x} from {}",
                show_id(&entry.id),
                entry.seq,
                self.name_dcs(node, from)
            ),
            Event::Trace(Trace::Hello {
                dcs,
                from,
                to,
                cause,
            }) => format!(
                "s{node} dcs {}: Hello {} -> {} ({cause})",
                self.name_dcs(node, dcs),
                from.name(),
                to.name()
            ),
            Event::Trace(Trace::Ca {
                dcs,
                from,
                to,
                cause,
            }) => format!(
                "s{node} dcs {}: CA {} -> {} ({cause})",
                self.name_dcs(node, dcs),
                from.name(),
                to.name()
            ),
            Event::Trace(Trace::Abnormal { dcs, cause }) => {
                format!("s{node} dcs {}: ABNORMAL {cause}", self.name_dcs(node, dcs))
            }
            Event::OrphansWithdrawn { count } => {
                format!(
                    "s{node}: {count} entries of ours unclaimed after the grace time, withdrawn"
                )
            }
            Event::Trace(Trace::Notice { dcs, notice }) => {
                format!(
                    "s{node} dcs {}: notice {notice:?}",
                    self.name_dcs(node, dcs)
                )
            }
            Event::Trace(Trace::Dropped { dcs, reason }) => {
                format!(
                    "s{node} dcs {}: dropped {reason:?}",
                    self.name_dcs(node, dcs)
                )
            }
            Event::Trace(Trace::Sent { dcs, msg }) => format!(
                "s{node} dcs {}: sent {} records={} {}B{}",
                self.name_dcs(node, dcs),
                msg.kind.name(),
                msg.records,
                msg.len,
                msg.ca
                    .map(|(s, m, i, o)| format!(" seq={s:#x} M={m} I={i} O={o}"))
                    .unwrap_or_default()
            ),
            Event::Trace(Trace::Received { dcs, msg }) => format!(
                "s{node} dcs {}: accepted {} records={} {}B{}",
                self.name_dcs(node, dcs),
                msg.kind.name(),
                msg.records,
                msg.len,
                msg.ca
                    .map(|(s, m, i, o)| format!(" seq={s:#x} M={m} I={i} O={o}"))
                    .unwrap_or_default()
            ),
            Event::Cache(c) => match c {
                CacheChange::Learned { entry, from } => format!(
                    "s{node} cache: learned {} seq={:#x} from {}",
                    show_id(&entry.id),
                    entry.seq,
                    self.name_dcs(node, from)
                ),
                CacheChange::Replaced {
                    entry,
                    old_seq,
                    from,
                } => format!(
                    "s{node} cache: replaced {} seq={:#x} (was {old_seq:#x}) from {}",
                    show_id(&entry.id),
                    entry.seq,
                    self.name_dcs(node, from)
                ),
                CacheChange::Removed { entry, reason } => format!(
                    "s{node} cache: removed {} seq={:#x} ({reason:?})",
                    show_id(&entry.id),
                    entry.seq
                ),
            },
        };
        let cache_line = line.contains(" cache: ");
        if !cache_line || self.level >= 2 {
            self.log(line);
        }
    }

    // ----- the network -----------------------------------------------------------------------

    fn link(&self, a: usize, b: usize) -> Option<usize> {
        self.link_of.get(&(a.min(b), a.max(b))).copied()
    }

    fn send(&mut self, node: usize, dcs: DcsId, mut bytes: Vec<u8>) {
        self.res.packets += 1;
        self.res.bytes += bytes.len() as u64;
        let Some(&nb) = self.nodes[node].by_dcs.get(&dcs) else {
            self.fail(format!(
                "server {node} sent to {dcs}, which it does not have"
            ));
            return;
        };
        let Some(l) = self.link(node, nb) else { return };
        let desc = if self.out.is_some() {
            describe(&bytes, self.level >= 3)
        } else {
            String::new()
        };
        if self.links[l].cut > 0 || !self.nodes[node].reachable || !self.nodes[nb].reachable {
            self.res.blocked += 1;
            self.log(format!("s{node} -> s{nb} {desc}: BLOCKED"));
            return;
        }
        let (loss, dup, reorder) = if self.faulty {
            (self.cfg.loss, self.cfg.dup, self.cfg.reorder)
        } else {
            (self.cfg.settle_loss, 0.0, 0.0)
        };
        if loss > 0.0 && self.net.random_bool(loss) {
            self.res.lost += 1;
            self.log(format!("s{node} -> s{nb} {desc}: LOST"));
            return;
        }
        let copies = if dup > 0.0 && self.net.random_bool(dup) {
            self.res.duplicated += 1;
            2
        } else {
            1
        };
        let d = usize::from(node > nb);
        let mut arrivals = Vec::with_capacity(copies);
        for c in 0..copies {
            let dir = self.links[l].dir[d];
            let base = self.now + Duration::from_millis(dir.delay_ms);
            let (at, note) = if reorder > 0.0 && self.net.random_bool(reorder) {
                self.res.reordered += 1;
                let extra = self.net.random_range(1..=self.cfg.reorder_delay_ms.max(1));
                (base + Duration::from_millis(extra), " (held back)")
            } else {
                let at = base.max(dir.fifo);
                self.links[l].dir[d].fifo = at;
                (at, "")
            };
            if self.out.is_some() {
                let what = if c == 1 { "duplicate" } else { "sent" };
                self.log(format!(
                    "s{node} -> s{nb} {desc}: {what}, arrives {at}{note}"
                ));
            }
            arrivals.push(at);
        }
        let last = arrivals.len() - 1;
        for (k, at) in arrivals.into_iter().enumerate() {
            let bytes = if k == last {
                std::mem::take(&mut bytes)
            } else {
                bytes.clone()
            };
            self.push(
                at,
                Ev::Deliver {
                    from: node,
                    to: nb,
                    bytes,
                },
            );
        }
    }

    fn deliver(&mut self, from: usize, to: usize, bytes: Vec<u8>) {
        let Some(l) = self.link(from, to) else { return };
        let usable = self.links[l].cut == 0 && self.nodes[to].reachable;
        let dcs = self.nodes[to].dcs.get(&from).copied();
        let (true, Some(dcs), true) = (usable, dcs, self.nodes[to].server.is_some()) else {
            self.res.blocked += 1;
            if self.out.is_some() {
                self.log(format!(
                    "s{to} <- s{from} {}: BLOCKED on arrival",
                    describe(&bytes, self.level >= 3)
                ));
            }
            return;
        };
        self.res.delivered += 1;
        if self.out.is_some() {
            self.log(format!(
                "s{to} <- s{from} {}",
                describe(&bytes, self.level >= 3)
            ));
        }
        self.call(to, |s, now| s.handle_datagram(now, dcs, &bytes));
    }

    // ----- link holds ------------------------------------------------------------------------

    /// One more reason for `node` to consider its link to `nb` down: on the first, it is told.
    fn hold(&mut self, node: usize, nb: usize) {
        let h = self.nodes[node].holds.entry(nb).or_insert(0);
        *h += 1;
        if *h == 1
            && let Some(&id) = self.nodes[node].dcs.get(&nb)
        {
            self.call(node, |s, now| s.link_down(now, id));
        }
    }

    /// One reason fewer: when none is left, `node` is told the link is up.
    fn release(&mut self, node: usize, nb: usize) {
        let h = self.nodes[node].holds.entry(nb).or_insert(0);
        *h = h.saturating_sub(1);
        if *h == 0
            && let Some(&id) = self.nodes[node].dcs.get(&nb)
        {
            self.call(node, |s, now| s.link_up(now, id));
        }
    }

    fn held(&self, node: usize, nb: usize) -> bool {
        self.nodes[node].holds.get(&nb).is_some_and(|&h| h > 0)
    }

    // ----- faults ----------------------------------------------------------------------------

    fn partition_start(&mut self, i: usize) {
        let links = self.partitions[i].links.clone();
        let notify = self.partitions[i].notify;
        self.partitions[i].active = true;
        self.res.partitions += 1;
        self.log(format!("partition {i} starts"));
        for l in links {
            self.links[l].cut += 1;
            if notify {
                let (a, b) = (self.links[l].a, self.links[l].b);
                self.hold(a, b);
                self.hold(b, a);
            }
        }
    }

    fn partition_end(&mut self, i: usize) {
        if !self.partitions[i].active {
            return;
        }
        self.partitions[i].active = false;
        let links = self.partitions[i].links.clone();
        let notify = self.partitions[i].notify;
        self.log(format!("partition {i} heals"));
        for l in links {
            self.links[l].cut -= 1;
            if notify {
                let (a, b) = (self.links[l].a, self.links[l].b);
                self.release(a, b);
                self.release(b, a);
            }
        }
    }

    fn restart_start(&mut self, i: usize) {
        let node = self.restarts[i].node;
        if !self.nodes[node].reachable {
            // Already restarting.
            self.restarts[i].skipped = true;
            self.log(format!(
                "restart {i}: server {node} is already restarting; skipped"
            ));
            return;
        }
        let (fresh, notify) = (self.restarts[i].fresh, self.restarts[i].notify_neighbours);
        self.restarts[i].active = true;
        self.res.restarts += 1;
        self.log(format!(
            "restart {i}: server {node} goes down ({})",
            if fresh { "state lost" } else { "state kept" }
        ));
        let nd = &mut self.nodes[node];
        nd.reachable = false;
        nd.down_until = self.restarts[i].end;
        let nbs = self.neighbours(node);
        if notify {
            for &nb in &nbs {
                self.hold(nb, node);
            }
        }
        if fresh {
            self.res.fresh_restarts += 1;
            let nd = &mut self.nodes[node];
            // What the application knows of its entries' numbers survives its server.
            if let Some(s) = &nd.server {
                let lsid = s.config().lsid.clone();
                for (id, e) in s.cache().iter() {
                    // (A live entry's number: a deleted entry's is forgotten with the entry.)
                    if id.origin == lsid && e.owned() && !e.deleted() {
                        nd.app_seq.insert(id.key.as_bytes().to_vec(), e.seq);
                    }
                }
            }
            nd.server = None;
            nd.awaiting_handover = true;
            nd.dcs.clear();
            nd.by_dcs.clear();
            nd.timer_at = None;
            nd.timer_gen += 1;
        } else {
            for &nb in &nbs {
                self.hold(node, nb);
            }
        }
    }

    fn restart_end(&mut self, i: usize) {
        if !self.restarts[i].active {
            return;
        }
        self.restarts[i].active = false;
        let node = self.restarts[i].node;
        let (fresh, notify) = (self.restarts[i].fresh, self.restarts[i].notify_neighbours);
        self.log(format!("restart {i}: server {node} comes back"));
        self.nodes[node].reachable = true;
        let nbs = self.neighbours(node);
        if fresh {
            self.make_server(node);
            // The application hands its entries over again (it keeps its own record): at once,
            // before the server hears any DCS; during the realignment; or seconds later, after
            // its old entries came back from the DCSs.
            let when = match self.rng.random_range(0..3u8) {
                0 => None,
                1 => Some(Duration::from_millis(self.rng.random_range(0..1000))),
                _ => Some(Duration::from_millis(self.rng.random_range(1000..10_000))),
            };
            match when {
                None => self.handover(node),
                Some(d) => {
                    let incarnation = self.nodes[node].incarnation;
                    self.push(self.now + d, Ev::Handover { node, incarnation });
                }
            }
            for &nb in &nbs {
                if !self.held(node, nb)
                    && let Some(&id) = self.nodes[node].dcs.get(&nb)
                {
                    self.call(node, |s, now| s.link_up(now, id));
                }
            }
        } else {
            for &nb in &nbs {
                self.release(node, nb);
            }
        }
        if notify {
            for &nb in &nbs {
                self.release(nb, node);
            }
        }
    }

    /// The application hands its whole cache over to its restarted server.
    fn handover(&mut self, node: usize) {
        let nd = &mut self.nodes[node];
        if !nd.awaiting_handover || nd.server.is_none() {
            return;
        }
        nd.awaiting_handover = false;
        let nd = &self.nodes[node];
        let entries: Vec<(Vec<u8>, Data, Option<u32>)> = nd
            .app
            .iter()
            .filter_map(|(k, v)| {
                v.as_ref()
                    .map(|d| (k.clone(), d.clone(), nd.app_seq.get(k).copied()))
            })
            .collect();
        self.log(format!(
            "app s{node}: handover of {} entries",
            entries.len()
        ));
        let errors = self
            .call(node, |s, now| s.replace_local_cache_numbered(now, entries))
            .unwrap_or_default();
        for (key, e) in errors {
            self.fail(format!(
                "server {node} refused entry {} on restart: {e}",
                hex(&key)
            ));
        }
    }

    fn faults_end(&mut self) {
        self.log("fault phase over: partitions healed, servers up, network without faults".into());
        for i in 0..self.partitions.len() {
            self.partition_end(i);
        }
        for i in 0..self.restarts.len() {
            self.restart_end(i);
        }
        self.faulty = false;
        self.push(self.now, Ev::Check);
    }

    // ----- workload --------------------------------------------------------------------------

    fn originate(&mut self, node: usize, key: Vec<u8>, data: Data) {
        if self.nodes[node]
            .app
            .insert(key.clone(), Some(data.clone()))
            .flatten()
            .is_none()
        {
            self.app_live += 1;
        }
        if self.app_only(node) {
            // An application that numbers its entries numbers a change on from the last one.
            if let Some(s) = self.nodes[node].app_seq.get_mut(&key)
                && let scsp_core::seq::NextSeq::Next(n) = scsp_core::seq::next_csa(*s, 1)
            {
                *s = n;
            }
            self.log(format!(
                "app s{node}: originate {} (server not back)",
                hex(&key)
            ));
            return;
        }
        // The application numbers on from what it knew of the entry before its server lost its
        // state, when the server itself knows nothing of it.
        let known = self.nodes[node].app_seq.get(&key).copied();
        let r = self.call(node, |s, now| {
            let lsid = s.config().lsid.clone();
            let id = scsp_core::wire::RecordId {
                key: scsp_core::wire::Id::new(&key).expect("sim keys are short"),
                origin: lsid,
            };
            match known {
                Some(k) if s.cache().get(&id).is_none() => match scsp_core::seq::next_csa(k, 1) {
                    scsp_core::seq::NextSeq::Next(n) => s.originate_numbered(now, &key, data, n),
                    scsp_core::seq::NextSeq::Wrap => s.originate(now, &key, data),
                },
                _ => s.originate(now, &key, data),
            }
        });
        match r {
            Some(Ok(seq)) => {
                self.log(format!(
                    "app s{node}: originate {} -> seq {seq:#x}",
                    hex(&key)
                ));
            }
            Some(Err(e)) => self.fail(format!(
                "server {node} refused to originate {}: {e}",
                hex(&key)
            )),
            None => {}
        }
    }

    /// The application at `node` changes only its own record: its server is down after losing
    /// its state, or back without having been handed the cache yet.
    fn app_only(&self, node: usize) -> bool {
        let n = &self.nodes[node];
        n.server.is_none() || n.awaiting_handover
    }

    fn new_entry(&mut self, node: usize, key: Vec<u8>) {
        self.res.originated += 1;
        let data = Self::random_data(&mut self.rng);
        self.originate(node, key, data);
    }

    fn update(&mut self) {
        let cands: Vec<(usize, Vec<u8>)> = self
            .nodes
            .iter()
            .enumerate()
            .flat_map(|(i, n)| n.app.keys().map(move |k| (i, k.clone())))
            .collect();
        if cands.is_empty() {
            return;
        }
        let (node, key) = cands[self.rng.random_range(0..cands.len())].clone();
        self.res.updated += 1;
        let data = Self::random_data(&mut self.rng);
        self.originate(node, key, data);
    }

    fn withdraw(&mut self) {
        let cands: Vec<(usize, Vec<u8>)> = self
            .nodes
            .iter()
            .enumerate()
            .flat_map(|(i, n)| {
                n.app
                    .iter()
                    .filter(|(_, v)| v.is_some())
                    .map(move |(k, _)| (i, k.clone()))
            })
            .collect();
        if cands.is_empty() {
            return;
        }
        let (node, key) = cands[self.rng.random_range(0..cands.len())].clone();
        self.res.withdrawn += 1;
        if self.nodes[node]
            .app
            .insert(key.clone(), None)
            .flatten()
            .is_some()
        {
            self.app_live -= 1;
        }
        if self.app_only(node) {
            self.nodes[node].app_seq.remove(&key);
            self.log(format!(
                "app s{node}: withdraw {} (server not back)",
                hex(&key)
            ));
            return;
        }
        let r = self.call(node, |s, now| s.withdraw(now, &key));
        match r {
            Some(Ok(())) => self.log(format!("app s{node}: withdraw {}", hex(&key))),
            Some(Err(e)) => self.fail(format!(
                "server {node} refused to withdraw {}: {e}",
                hex(&key)
            )),
            None => {}
        }
    }

    // ----- checks ----------------------------------------------------------------------------

    fn periodic_check(&mut self) {
        let ok = self.quick_ok() && self.problems().is_empty();
        if ok {
            let since = *self.converged_at.get_or_insert(self.now);
            if self.res.converge_time.is_none() {
                self.res.converge_time = Some(since.since(self.fault_end));
                self.log(format!(
                    "converged ({} after the faults)",
                    fmt_secs(since.since(self.fault_end))
                ));
            }
            if self.now >= since + self.cfg.stable_for {
                self.done = true;
                return;
            }
        } else {
            if let Some(t) = self.converged_at.take() {
                // Not a failure by itself: an after-effect of the fault phase (a dead timer
                // running out, a late packet) may take a DCS through alignment again. The
                // convergence time becomes that of the state that then holds.
                self.res.relapses += 1;
                self.res.converge_time = None;
                let what = self.problems().into_iter().next().unwrap_or_default();
                self.log(format!("no longer converged (converged since {t}): {what}"));
            }
            if self.now >= self.deadline {
                let problems = self.problems();
                self.fail_many(problems);
                self.done = true;
                return;
            }
        }
        let next = (self.now + self.cfg.check_interval).min(self.deadline.max(self.now));
        let next = if next == self.now {
            self.now + self.cfg.check_interval
        } else {
            next
        };
        self.push(next, Ev::Check);
    }

    fn fail_many(&mut self, problems: Vec<String>) {
        if problems.is_empty() {
            self.fail(format!(
                "not converged {} after the faults",
                fmt_secs(self.cfg.max_settle)
            ));
        }
        for p in problems {
            self.fail(p);
        }
    }

    /// Cheap necessary conditions: every server up, every DCS Aligned with empty queues, and every
    /// cache holding as many live entries as the applications have.
    fn quick_ok(&self) -> bool {
        let want = self.app_live;
        self.nodes.iter().all(|n| {
            let Some(s) = &n.server else { return false };
            s.cache().live() == want
                && n.dcs.values().all(|&id| {
                    s.dcs_info(id).is_some_and(|i| {
                        i.hello.state == HelloState::Bidirectional
                            && i.ca.state == CaState::Aligned
                            && i.retransmit_queue == 0
                            && i.csa_request_list == 0
                    })
                })
        })
    }

    /// DCSs not Bidirectional and Aligned with nothing outstanding: usually the cause of what
    /// else diverged, so they are reported first.
    fn dcs_problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        for (i, n) in self.nodes.iter().enumerate() {
            let Some(s) = &n.server else { continue };
            for (&nb, &id) in &n.dcs {
                let Some(info) = s.dcs_info(id) else { continue };
                if info.hello.state != HelloState::Bidirectional
                    || info.ca.state != CaState::Aligned
                    || info.retransmit_queue != 0
                    || info.csa_request_list != 0
                {
                    p.push(format!(
                            "server {i} dcs s{nb}: Hello {} since {}, CA {} since {}, retransmit queue {}, CSA request list {}",
                            info.hello.state.name(),
                            info.hello.since,
                            info.ca.state.name(),
                            info.ca.since,
                            info.retransmit_queue,
                            info.csa_request_list
                        ));
                }
            }
        }
        p
    }

    /// Everything that keeps the run from being converged, in a fixed order: servers that lost
    /// their own entries, then DCSs not aligned, then what each cache lacks or holds wrongly.
    fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        // The entries the applications want, at the sequence number their originator holds.
        let mut expected: BTreeMap<RecordId, (usize, u32, Data)> = BTreeMap::new();
        for (i, n) in self.nodes.iter().enumerate() {
            let Some(s) = &n.server else {
                p.push(format!("server {i} is down"));
                continue;
            };
            for (key, v) in &n.app {
                let Some(data) = v else { continue };
                let id = record_id(key, &n.lsid);
                match s.cache().get(&id) {
                    Some(e) if !e.deleted() && e.owned() && e.data == *data => {
                        expected.insert(id, (i, e.seq, data.clone()));
                    }
                    Some(e) => p.push(format!(
                        "server {i} holds its own entry {} as {}, not the application's data",
                        hex(key),
                        describe_entry(e)
                    )),
                    None => p.push(format!("server {i} lost its own entry {}", hex(key))),
                }
            }
        }
        p.extend(self.dcs_problems());
        for (i, n) in self.nodes.iter().enumerate() {
            let Some(s) = &n.server else { continue };
            for (id, (o, seq, data)) in &expected {
                match s.cache().get(id) {
                    None => p.push(format!(
                        "server {i} lacks {} (originator seq {seq:#x})",
                        show_entry(id, *o)
                    )),
                    Some(e) if e.deleted() => p.push(format!(
                        "server {i} holds {} deleted at seq {:#x} (originator seq {seq:#x})",
                        show_entry(id, *o),
                        e.seq
                    )),
                    Some(e) if e.seq != *seq => p.push(format!(
                        "server {i} holds {} at seq {:#x}, originator at {seq:#x}",
                        show_entry(id, *o),
                        e.seq
                    )),
                    Some(e) if e.data != *data => p.push(format!(
                        "server {i} holds {} at seq {seq:#x} with other data than the originator",
                        show_entry(id, *o)
                    )),
                    Some(_) => {}
                }
            }
            if s.cache().live() != expected.len() {
                let mut extra: Vec<(RecordId, u32)> = s
                    .cache()
                    .iter()
                    .filter(|(id, e)| !e.deleted() && !expected.contains_key(*id))
                    .map(|(id, e)| (id.clone(), e.seq))
                    .collect();
                extra.sort();
                for (id, seq) in extra {
                    let origin = self.nodes.iter().position(|n| n.lsid == id.origin);
                    let state = origin.and_then(|o| self.nodes[o].app.get(id.key.as_bytes()));
                    let what = match state {
                        Some(None) => "a withdrawn entry, back",
                        Some(Some(_)) => {
                            "an entry its originator does not hold as the application wants"
                        }
                        None => "an entry no application originated",
                    };
                    let who =
                        origin.map_or_else(|| id.origin.to_string(), |o| format!("server {o}"));
                    p.push(format!(
                        "server {i} holds {what}: key {} of {who} seq {seq:#x}",
                        hex(id.key.as_bytes())
                    ));
                }
            }
        }
        p
    }

    fn fingerprint(&self) -> u64 {
        let mut h = Fnv::default();
        for n in &self.nodes {
            let Some(s) = &n.server else {
                h.write(b"down");
                continue;
            };
            let mut entries: Vec<_> = s.cache().iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            for (id, e) in entries {
                h.write(id.key.as_bytes());
                h.write(id.origin.as_bytes());
                h.write(&e.seq.to_be_bytes());
                h.write(&[u8::from(e.deleted()), u8::from(e.owned())]);
                h.write(&e.data);
            }
            for &id in n.dcs.values() {
                if let Some(i) = s.dcs_info(id) {
                    h.write(format!("{:?}{:?}{:?}", i.hello, i.ca, i.stats).as_bytes());
                }
            }
        }
        let r = &self.res;
        for x in [
            r.packets,
            r.bytes,
            r.delivered,
            r.lost,
            r.blocked,
            r.duplicated,
            r.events,
            self.now.0,
        ] {
            h.write(&x.to_be_bytes());
        }
        h.0
    }
}

/// A 64-bit value from three, well mixed (SplitMix64's finaliser on each step).
fn mix(a: u64, b: u64, c: u64) -> u64 {
    let f = |mut z: u64| {
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    f(f(f(a ^ 0x9e37_79b9_7f4a_7c15) ^ b) ^ c)
}

/// FNV-1a, 64 bits: a hash that is the same in every process.
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
        // Separate fields.
        self.0 = self.0.wrapping_mul(0x0100_0000_01b3) ^ 0xff;
    }
}

fn record_id(key: &[u8], origin: &Id) -> RecordId {
    RecordId {
        key: Id::new(key).expect("keys are 4 bytes"),
        origin: origin.clone(),
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn show_id(id: &RecordId) -> String {
    format!(
        "{}/key {}",
        hex(id.origin.as_bytes()),
        hex(id.key.as_bytes())
    )
}

fn show_entry(id: &RecordId, origin: usize) -> String {
    format!("{} (of server {origin})", show_id(id))
}

fn describe_entry(e: &scsp_core::Entry) -> String {
    format!(
        "seq {:#x}{}{}",
        e.seq,
        if e.deleted() { " deleted" } else { "" },
        if e.owned() { "" } else { " not owned" }
    )
}

/// Seconds with millisecond precision.
pub fn fmt_secs(d: Duration) -> String {
    format!("{}.{:03}s", d.as_secs(), d.subsec_millis())
}

/// A one-line summary of a packet, for the trace; with `detail`, every record of a CA, CSU
/// Request, CSU Reply or CSUS.
fn describe(bytes: &[u8], detail: bool) -> String {
    match wire::decode(bytes) {
        Ok(p) => {
            let kind = p.body.message_type().name();
            match &p.body {
                Body::Hello { .. } => {
                    let heard = if p.common.receiver.is_empty() {
                        " (hears nobody)"
                    } else {
                        ""
                    };
                    format!("Hello{heard}")
                }
                Body::Ca {
                    seq,
                    m,
                    i,
                    o,
                    records,
                } => {
                    let list = if detail {
                        let r: Vec<String> = records
                            .iter()
                            .map(|c| format!("{}@{:#x}", show_id(&c.id), c.seq))
                            .collect();
                        format!(" [{}]", r.join(" "))
                    } else {
                        String::new()
                    };
                    format!(
                        "CA seq={seq:#x}{}{}{} records={}{list}",
                        if *m { " M" } else { "" },
                        if *i { " I" } else { "" },
                        if *o { " O" } else { "" },
                        records.len()
                    )
                }
                _ if !detail => format!("{kind} records={}", p.body.record_count()),
                Body::CsuRequest { records } => {
                    let r: Vec<String> = records
                        .iter()
                        .map(|c| {
                            format!(
                                "{}@{:#x}h{}{}",
                                show_id(&c.summary.id),
                                c.summary.seq,
                                c.summary.hops,
                                if c.summary.null { "N" } else { "" }
                            )
                        })
                        .collect();
                    format!("{kind} [{}]", r.join(" "))
                }
                Body::CsuReply { records } | Body::Csus { records } => {
                    let r: Vec<String> = records
                        .iter()
                        .map(|c| {
                            format!(
                                "{}@{:#x}{}",
                                show_id(&c.id),
                                c.seq,
                                if c.null { "N" } else { "" }
                            )
                        })
                        .collect();
                    format!("{kind} [{}]", r.join(" "))
                }
            }
        }
        Err(e) => format!("undecodable packet ({e})"),
    }
}
