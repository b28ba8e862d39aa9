//! The event loop: servers, a seeded network, the workload, scripted faults and the convergence
//! checks, all on virtual time.

mod faults;
mod network;
mod oracle;
mod saved;
mod setup;
mod show;
mod workload;

pub use show::fmt_secs;
use show::*;

use std::cmp::{Ordering, Reverse};
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};
use std::io::Write;
use std::time::Duration;

use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use scsp_core::wire::{self, Body, Data, Id, RecordId};
use scsp_core::{
    CaState, CacheChange, DcsId, Event, HelloState, SavedEntry, Server, ServerConfig, Time, Trace,
    event::MessageSummary,
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
    /// Restarts that happened, of which `fresh_restarts` lost the server's state and
    /// `saved_restarts` came back with the state saved on disk.
    pub restarts: u64,
    /// Restarts that replaced the server by a fresh one.
    pub fresh_restarts: u64,
    /// Restarts that replaced the server by a new one restored from its disk.
    pub saved_restarts: u64,
    /// Entries live at a saved restart whose data the application did not change afterwards
    /// (up to the end of the run, or the server's next restart): the entries that a restart
    /// should leave under their numbers.
    pub unchanged: u64,
    /// Of `unchanged`, those held under another number at the end (or at the server's next
    /// restart): renumbered although unchanged. Only those whose last change the disk had not
    /// committed can be (or those of an originator that once lost its state): one the disk held
    /// is a failure.
    pub renumbered: u64,
    /// Of `renumbered`, those whose instance at the crash no other server had ever held (the
    /// crash killed it before it went out): renumbered without anyone seeing it.
    pub renumbered_unseen: u64,
    /// Times an entry its originator's application had withdrawn was held live somewhere after
    /// the run first converged (each is also a failure).
    pub resurrected: u64,
    /// Instances held with other data than an earlier instance under the same (key, origin,
    /// sequence number), of an originator that had lost its state before (B.2.0.2's equal
    /// numbers, resolved by the CSA path). Of an originator that never lost its state, each is
    /// a failure instead.
    pub seq_conflicts: u64,
    /// Partitions that happened.
    pub partitions: u64,
    /// Abnormal events (2.1) reported by the servers.
    pub abnormal_events: u64,
    /// Times a converged state stopped holding before the end (the run then needs a new
    /// converged state that holds for `stable_for`).
    pub relapses: u64,
    /// Reconciliations that decoded, counted by the servers up at the end (both ends of each;
    /// `--recon-fraction`).
    pub recon_decoded: u64,
    /// Reconciliations that fell back to RFC Cache Alignment, counted likewise.
    pub recon_fallbacks: u64,
    /// Streams of the bulk path, counted likewise.
    pub recon_bulk: u64,
    /// Of those, the ends that found nothing left to reconcile after the stream.
    pub recon_bulk_clean: u64,
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
    /// The application at `node`, back after its server restarted (without its state, or with
    /// what it had saved), hands its cache over (valid while `incarnation` is the node's).
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

/// What a restart does to the server.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum RestartKind {
    /// The server stays; only its links go down.
    Kept,
    /// A fresh server replaces it (state lost, disk included).
    Fresh,
    /// The process dies: a new server holds again what the old one had committed to its disk.
    Saved,
}

impl RestartKind {
    fn name(self) -> &'static str {
        match self {
            RestartKind::Kept => "state kept",
            RestartKind::Fresh => "state lost",
            RestartKind::Saved => "state saved",
        }
    }
}

struct Restart {
    node: usize,
    kind: RestartKind,
    /// The neighbours are told the link went down.
    notify_neighbours: bool,
    start: Time,
    end: Time,
    active: bool,
    skipped: bool,
}

struct Node {
    lsid: Id,
    /// `None` while the server's process is down (a fresh or saved restart).
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
    /// The server restarted (without its state, or with what it saved) and the application has
    /// not handed its cache over yet: until it does, the application changes only its own
    /// record (the handover carries them), as while the server is down.
    awaiting_handover: bool,
    /// The application hands its cache over with the numbers it knows (else without numbers).
    numbered_handover: bool,
    /// The server's disk: what it committed, entry by entry (saved restarts).
    disk: BTreeMap<RecordId, SavedEntry>,
    /// Entries changed since the last commit: lost if the process dies before the next one.
    pending: BTreeSet<RecordId>,
    /// When the writer next commits `pending`.
    next_commit: Time,
    /// The "reserved" sequence number on disk, written at once (before any number at or above
    /// it is sent): every number of ours held since the start is below it.
    reserved: Option<u32>,
    /// The server lost its state at least once (a fresh restart).
    lost_state: bool,
    /// Entries live at the last saved restart, with their number and data and whether the disk
    /// held that instance, that the application has not changed since: checked for renumbering.
    unchanged: BTreeMap<Vec<u8>, (u32, Data, bool)>,
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
    /// The disk writers' draws (commit intervals).
    disk_rng: ChaCha8Rng,
    /// Every instance held anywhere during the run: (entry, sequence number) → its data, and
    /// whether a server other than its originator held it.
    instances: BTreeMap<(RecordId, u32), (Data, bool)>,
    /// The run has converged once: from then on no withdrawn entry may be held live.
    ever_converged: bool,
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
        let mut disk_rng = ChaCha8Rng::seed_from_u64(seed);
        disk_rng.set_stream(3);

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
                numbered_handover: true,
                disk: BTreeMap::new(),
                pending: BTreeSet::new(),
                next_commit: Time::ZERO,
                reserved: None,
                lost_state: false,
                unchanged: BTreeMap::new(),
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
                saved_restarts: 0,
                unchanged: 0,
                renumbered: 0,
                renumbered_unseen: 0,
                resurrected: 0,
                seq_conflicts: 0,
                partitions: 0,
                abnormal_events: 0,
                relapses: 0,
                recon_decoded: 0,
                recon_fallbacks: 0,
                recon_bulk: 0,
                recon_bulk_clean: 0,
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
            disk_rng,
            instances: BTreeMap::new(),
            ever_converged: false,
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
        for node in 0..self.nodes.len() {
            self.count_renumbered(node);
            if let Some(s) = self.nodes[node].server.as_ref() {
                for id in s.dcs_ids() {
                    if let Some(r) = s.recon_stats(id) {
                        self.res.recon_decoded += r.decoded;
                        self.res.recon_fallbacks += r.fallbacks;
                        self.res.recon_bulk += r.bulk;
                        self.res.recon_bulk_clean += r.bulk_clean;
                    }
                }
            }
        }
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
        self.nodes[node].server.as_ref()?;
        if now >= self.nodes[node].next_commit {
            self.commit(node);
        }
        let server = self.nodes[node].server.as_mut()?;
        let r = f(server, now);
        self.drain(node);
        Some(r)
    }

    fn drain(&mut self, node: usize) {
        self.collect_changes(node);
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

    /// A message sent or accepted (`what`), as the trace shows it.
    fn show_msg(&self, node: usize, dcs: DcsId, what: &str, msg: &MessageSummary) -> String {
        format!(
            "s{node} dcs {}: {what} {} records={} {}B{}",
            self.name_dcs(node, dcs),
            msg.kind.name(),
            msg.records,
            msg.len,
            msg.ca
                .map(|(s, m, i, o)| format!(" seq={s:#x} M={m} I={i} O={o}"))
                .unwrap_or_default()
        )
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
            Event::Trace(Trace::Sent { dcs, msg }) => self.show_msg(node, dcs, "sent", &msg),
            Event::Trace(Trace::Received { dcs, msg }) => {
                self.show_msg(node, dcs, "accepted", &msg)
            }
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
