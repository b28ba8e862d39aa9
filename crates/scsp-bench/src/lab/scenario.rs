//! `scsp-bench lab`: one scenario (see the module's documentation in `lab/mod.rs`).

use std::collections::{HashMap, HashSet};
use std::net::{Ipv4Addr, Shutdown, SocketAddr};
use std::os::unix::net::UnixStream;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use scsp_client::client::Client;
use scsp_client::proto::{EntryView, KeyData, Notify, Request, Response};
use serde_json::json;

use super::relay::{Impairment, Relay};
use crate::daemon::{self, Daemon, Node, SERVER, TempDir};
use crate::{Error, emit, verdict};

/// The targets of docs/PERFORMANCE.md ("Heavy loss"), printed beside the figures.
const TARGET_LAG_P99_S: f64 = 10.0;
const TARGET_CONVERGE_ON_S: f64 = 10.0;
const TARGET_CONVERGE_OFF_S: f64 = 2.0;
/// Bytes of data per entry.
const DATA_LEN: usize = 40;

/// How the servers are linked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Topology {
    /// 0–1–…–(n−1)–0.
    Ring,
    /// 0–1–…–(n−1).
    Line,
    /// Every pair.
    Full,
    /// 0 linked to every other.
    Star,
}

/// RFC 2334's fixed timers or the adaptive ones (the `Timers` statement); omitted, the
/// daemon's default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Timers {
    /// `Timers adaptive;`
    Adaptive,
    /// `Timers rfc;`
    Rfc,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Number of scspd processes.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u8).range(2..=60))]
    servers: u8,
    /// How they are linked.
    #[arg(long, value_enum, default_value_t = Topology::Ring)]
    topology: Topology,
    /// Packet loss per link and direction, 0–1.
    #[arg(long, default_value_t = 0.0)]
    loss: f64,
    /// One-way delay per link, milliseconds.
    #[arg(long, default_value_t = 0)]
    delay_ms: u64,
    /// Uniform extra delay, 0 to this many milliseconds.
    #[arg(long, default_value_t = 0)]
    jitter_ms: u64,
    /// Probability a packet is duplicated, 0–1.
    #[arg(long, default_value_t = 0.0)]
    dup: f64,
    /// Probability a packet is held back so that later ones overtake it, 0–1.
    #[arg(long, default_value_t = 0.0)]
    reorder: f64,
    /// A partition `I-J:FROM:TO`: the link between servers I and J (0-based) drops everything
    /// from FROM to TO seconds after the churn starts. Repeatable.
    #[arg(long = "partition", value_parser = parse_partition)]
    partitions: Vec<Partition>,
    /// A restart `S:AT:DOWN:HANDOVER`: server S is killed (SIGKILL) AT seconds after the churn
    /// starts and started again DOWN seconds later; its local server, which goes on changing its
    /// table meanwhile, hands the whole table over HANDOVER seconds after the restart (0: as soon
    /// as the socket answers). Reported: entries renumbered although unchanged. Repeatable.
    #[arg(long = "restart", value_parser = parse_restart)]
    restarts: Vec<RestartSpec>,
    /// Entries each server originates before the churn.
    #[arg(long, default_value_t = 400)]
    entries: u32,
    /// Changes per second at each server during the churn.
    #[arg(long, default_value_t = 5.0)]
    rate: f64,
    /// Seconds of churn, faults on.
    #[arg(long, default_value_t = 60.0)]
    churn: f64,
    /// Seconds the faults stay on after the churn (the phase ends early once converged).
    #[arg(long, default_value_t = 30.0)]
    keep: f64,
    /// Most seconds to wait for convergence once the faults are off.
    #[arg(long, default_value_t = 60.0)]
    settle: f64,
    /// Seed of the workload and of the relays.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The DCSs' `Timers` statement; omitted, the daemon's default (and a configuration an
    /// scspd without the statement accepts).
    #[arg(long, value_enum)]
    timers: Option<Timers>,
    /// HelloInt of every DCS, seconds (omitted: the daemon's default).
    #[arg(long)]
    hello_int: Option<u16>,
    /// HelloDead of every DCS (omitted: the daemon's default).
    #[arg(long)]
    hello_dead: Option<u16>,
    /// Exit with failure unless every target is met and nothing is lost or resurrected.
    #[arg(long)]
    check: bool,
}

/// A scheduled partition of one link.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Partition {
    a: usize,
    b: usize,
    from: f64,
    to: f64,
}

/// A scheduled restart of one server.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RestartSpec {
    server: usize,
    at: f64,
    down: f64,
    handover: f64,
}

fn parse_restart(s: &str) -> Result<RestartSpec, String> {
    let bad = || format!("{s:?}: expected S:AT:DOWN:HANDOVER, e.g. 2:10:10:0.3");
    let v: Vec<&str> = s.split(':').collect();
    let [server, at, down, handover] = v[..] else {
        return Err(bad());
    };
    let f = |x: &str| x.trim().parse::<f64>().map_err(|_| bad());
    let r = RestartSpec {
        server: server.trim().parse().map_err(|_| bad())?,
        at: f(at)?,
        down: f(down)?,
        handover: f(handover)?,
    };
    if !(r.at >= 0.0 && r.down > 0.0 && r.handover >= 0.0) {
        return Err(bad());
    }
    Ok(r)
}

fn parse_partition(s: &str) -> Result<Partition, String> {
    let bad = || format!("{s:?}: expected I-J:FROM:TO, e.g. 0-1:10:20");
    let (link, times) = s.split_once(':').ok_or_else(bad)?;
    let (a, b) = link.split_once('-').ok_or_else(bad)?;
    let (from, to) = times.split_once(':').ok_or_else(bad)?;
    let p = Partition {
        a: a.trim().parse().map_err(|_| bad())?,
        b: b.trim().parse().map_err(|_| bad())?,
        from: from.trim().parse().map_err(|_| bad())?,
        to: to.trim().parse().map_err(|_| bad())?,
    };
    if p.a == p.b || !(p.from >= 0.0 && p.to > p.from) {
        return Err(bad());
    }
    Ok(p)
}

/// The links of `n` servers in `topology`, each as (lower, higher) index.
pub fn links(topology: Topology, n: usize) -> Vec<(usize, usize)> {
    let mut v = Vec::new();
    match topology {
        Topology::Line | Topology::Ring => {
            v.extend((0..n.saturating_sub(1)).map(|i| (i, i + 1)));
            if topology == Topology::Ring && n > 2 {
                v.push((0, n - 1));
            }
        }
        Topology::Full => {
            for i in 0..n {
                v.extend((i + 1..n).map(|j| (i, j)));
            }
        }
        Topology::Star => v.extend((1..n).map(|j| (0, j))),
    }
    v
}

/// A DCS as one server's configuration names it: the peer's ID, and where to send (the relay).
struct Peer {
    id: Ipv4Addr,
    via: SocketAddr,
}

fn config(me: Node, peers: &[Peer], a: &Args) -> String {
    let mut s = format!(
        "server {SERVER} {{\n    protocol 65000; ServerGroupID 7;\n    ID {m}; Address {m}; \
         Port {p}; MTU 1472;\n",
        m = me.addr,
        p = me.port
    );
    for d in peers {
        s += &format!(
            "    DCS {{ ID {}; Address {}; Port {}; hops 16;",
            d.id,
            d.via.ip(),
            d.via.port()
        );
        if let Some(t) = a.hello_int {
            s += &format!(" HelloInt {t};");
        }
        if let Some(t) = a.hello_dead {
            s += &format!(" HelloDead {t};");
        }
        match a.timers {
            Some(Timers::Adaptive) => s += " Timers adaptive;",
            Some(Timers::Rfc) => s += " Timers rfc;",
            None => {}
        }
        s += " };\n";
    }
    s += "};\n";
    s
}

/// One change made by a local server, as the ground truth records it.
#[derive(Debug, Clone)]
struct Change {
    at: Instant,
    origin: usize,
    key: String,
    /// The sequence number scspd gave the new instance; `None` for a deletion.
    seq: Option<u32>,
    /// Made while the server was down, not yet handed over.
    pending: bool,
    /// Handed over after a restart: its time is the handover's, its number the one the
    /// originator holds at the end.
    handed: bool,
}

/// A notification seen by a server's local server, reduced to what the oracle needs.
#[derive(Debug, Clone, Copy)]
enum Seen {
    /// Holds this instance (learned or replaced).
    Holds(u32),
    /// The entry went away.
    Removed,
}

/// What one server's local server saw: when, which key, what.
type SeenLog = Vec<(Instant, String, Seen)>;

/// The live entries of the ground truth: key → (origin, seq, data).
type Truth = HashMap<String, (usize, u32, String)>;

/// A server's local server, attached, reading its notifications until shut down.
struct Listener {
    /// When it attached, and the keys the cache held then.
    attached: Instant,
    held: HashSet<String>,
    shut: UnixStream,
    thread: JoinHandle<Result<SeenLog, String>>,
}

impl Listener {
    fn start(d: &Daemon) -> Result<Listener, Error> {
        let mut c = d.connect()?;
        let held = match c.request(Request::Attach {
            server: SERVER.into(),
            confirm: false,
        }) {
            Ok(Response::Attached { entries }) => entries,
            Ok(other) => return Err(Error::Daemon(format!("{}: attach: {other:?}", d.name))),
            Err(e) => return Err(Error::Daemon(format!("{}: attach: {e}", d.name))),
        };
        // What the cache holds when the local server attaches (after a restart, what came back
        // from the DCSs before): seen now.
        let t = Instant::now();
        let keys: HashSet<String> = held.iter().map(|e| e.key.clone()).collect();
        let seen: SeenLog = held
            .into_iter()
            .map(|e| (t, e.key, Seen::Holds(e.seq)))
            .collect();
        let shut = c
            .stream()
            .try_clone()
            .map_err(|e| Error::Setup(e.to_string()))?;
        let name = d.name.clone();
        let thread = std::thread::spawn(move || listen(c, &name, seen));
        Ok(Listener {
            attached: t,
            held: keys,
            shut,
            thread,
        })
    }

    fn stop(self) -> Result<SeenLog, Error> {
        let _ = self.shut.shutdown(Shutdown::Both);
        self.thread
            .join()
            .map_err(|_| Error::Setup("listener thread panicked".into()))?
            .map_err(Error::Daemon)
    }
}

fn listen(mut c: Client, name: &str, mut log: SeenLog) -> Result<SeenLog, String> {
    loop {
        let n = match c.next_notify() {
            Ok(n) => n,
            // Shut down by `stop`, or the daemon went away: the log so far.
            Err(scsp_client::client::ClientError::Frame(_)) => return Ok(log),
            Err(e) => return Err(format!("{name}: notifications: {e}")),
        };
        let t = Instant::now();
        match n {
            Notify::Learned { entry, .. } | Notify::Replaced { entry, .. } => {
                log.push((t, entry.key, Seen::Holds(entry.seq)));
            }
            Notify::Removed { entry, .. } => log.push((t, entry.key, Seen::Removed)),
            Notify::Confirm { .. } => {}
        }
    }
}

/// Every server's cache, `show cache`.
fn caches(clients: &mut [Client]) -> Result<Vec<Vec<EntryView>>, Error> {
    clients
        .iter_mut()
        .map(|c| {
            match c.request(Request::ShowCache {
                server: SERVER.into(),
            }) {
                Ok(Response::Cache { entries }) => Ok(entries),
                Ok(other) => Err(Error::Daemon(format!("unexpected reply {other:?}"))),
                Err(e) => Err(Error::Daemon(format!("show cache: {e}"))),
            }
        })
        .collect()
}

/// The number each originator holds its own entries under: the instance every server must
/// hold (after a handover the originator numbers its entries itself).
fn origin_seqs(caches: &[Vec<EntryView>]) -> HashMap<String, u32> {
    caches
        .iter()
        .flatten()
        .filter(|e| e.local)
        .map(|e| (e.key.clone(), e.seq))
        .collect()
}

/// How each server's cache differs from the truth (its data; the instance its originator
/// holds), summed over the servers.
fn differences(clients: &mut [Client], ids: &[String], truth: &Truth) -> Result<Tally, Error> {
    let caches = caches(clients)?;
    let seqs = origin_seqs(&caches);
    let mut t = Tally::default();
    let deleted_or_unknown = |key: &str| !truth.contains_key(key);
    for entries in &caches {
        let mut held = HashSet::new();
        for e in entries {
            match truth.get(&e.key) {
                Some((o, _, data)) if ids[*o] == e.originator => {
                    held.insert(e.key.as_str());
                    if seqs.get(&e.key) != Some(&e.seq) || e.data != *data {
                        t.stale += 1;
                    }
                }
                _ if deleted_or_unknown(&e.key) => t.resurrected += 1,
                _ => t.unknown += 1,
            }
        }
        t.lost += truth.keys().filter(|k| !held.contains(k.as_str())).count() as u64;
    }
    Ok(t)
}

/// Entries differing from the truth, over all servers.
#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
struct Tally {
    /// Live in the truth, absent at a server.
    lost: u64,
    /// Live in the truth, held in an older instance (or other data).
    stale: u64,
    /// Deleted in the truth (or never in it), present at a server.
    resurrected: u64,
    /// Another originator's entry under a key of the truth.
    unknown: u64,
}

impl Tally {
    fn clean(self) -> bool {
        self.lost == 0 && self.stale == 0 && self.resurrected == 0 && self.unknown == 0
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).ceil() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// The lag of every (change, other server) pair, seconds; `f64::INFINITY` where a change never
/// reached a server. `logs[s]` is what server `s`'s local server saw.
fn lags(changes: &[Change], logs: &[SeenLog], n: usize) -> Vec<f64> {
    // Per server, per key, its notifications in order.
    let by_key: Vec<HashMap<&str, Vec<(Instant, Seen)>>> = logs
        .iter()
        .map(|log| {
            let mut m: HashMap<&str, Vec<(Instant, Seen)>> = HashMap::new();
            for (t, k, s) in log {
                m.entry(k.as_str()).or_default().push((*t, *s));
            }
            m
        })
        .collect();
    // When each deleted key was deleted (keys are never reused once deleted).
    let deleted: HashMap<&str, Instant> = changes
        .iter()
        .filter(|c| c.seq.is_none())
        .map(|c| (c.key.as_str(), c.at))
        .collect();
    // When a server has the deletion made at `at`: when it last let the entry go, if it does not
    // hold it at the end; at once if it never held it (a purge of an entry not held leaves no
    // trace, and needs none).
    let deletion_reached = |seen: &[(Instant, Seen)], at: Instant| match seen.last() {
        Some((t, Seen::Removed)) => Some((*t).max(at)),
        Some((_, Seen::Holds(_))) => None,
        None => Some(at),
    };
    let mut out = Vec::new();
    for c in changes {
        if c.pending {
            // Made while its server was down and never handed over.
            out.extend(std::iter::repeat_n(f64::INFINITY, n.saturating_sub(1)));
            continue;
        }
        for (s, keys) in by_key.iter().enumerate().take(n) {
            if s == c.origin {
                continue;
            }
            let seen = keys.get(c.key.as_str()).map_or(&[][..], Vec::as_slice);
            let reached = match c.seq {
                // At the first notification of this instance or a newer one, or, once the entry
                // is deleted, when the deletion reached the server (a deletion is newer).
                Some(q) => seen
                    .iter()
                    .find(|(t, x)| match x {
                        Seen::Holds(got) => *got >= q,
                        Seen::Removed => *t >= c.at,
                    })
                    .map(|(t, _)| *t)
                    .or_else(|| {
                        deleted
                            .get(c.key.as_str())
                            .and_then(|&at| deletion_reached(seen, at))
                    }),
                None => deletion_reached(seen, c.at),
            };
            out.push(reached.map_or(f64::INFINITY, |t| {
                t.saturating_duration_since(c.at).as_secs_f64()
            }));
        }
    }
    out.sort_by(f64::total_cmp);
    out
}

fn entry(tag: usize, i: u32, version: u32) -> (String, String) {
    let key = ((tag as u32 + 1) << 24 | i).to_be_bytes();
    let mut data = Vec::with_capacity(DATA_LEN);
    while data.len() < DATA_LEN {
        data.extend_from_slice(&key);
        data.extend_from_slice(&version.to_be_bytes());
    }
    data.truncate(DATA_LEN);
    (hex::encode(key), hex::encode(data))
}

/// The ground truth and each server's own live keys, as the churn changes them.
struct Workload {
    truth: Truth,
    changes: Vec<Change>,
    own: Vec<Vec<String>>,
    next_key: Vec<u32>,
    version: u32,
    rng: ChaCha8Rng,
    /// The server is down: its local server changes its table only.
    offline: Vec<bool>,
    /// Keys a local server changed while its server was down.
    changed_offline: Vec<HashSet<String>>,
    /// Entries handed over unchanged, with their number from before the kill.
    watch: Vec<(String, u32)>,
    /// Entries handed over.
    handed_over: u64,
}

/// What a handover after a restart did.
#[derive(Debug, Default, Clone, serde::Serialize)]
struct HandoverTally {
    /// Entries handed over.
    entries: u64,
    /// Of those unchanged while the server was down, how many got another sequence number.
    renumbered: u64,
    /// Unchanged entries.
    unchanged: u64,
    /// Up to ten renumbered entries: key, number before, number after.
    examples: Vec<String>,
}

impl Workload {
    fn new(n: usize, seed: u64) -> Workload {
        Workload {
            truth: HashMap::new(),
            changes: Vec::new(),
            own: vec![Vec::new(); n],
            next_key: vec![0; n],
            version: 0,
            rng: ChaCha8Rng::seed_from_u64(seed ^ 0x5c5b_1ab0),
            offline: vec![false; n],
            changed_offline: vec![HashSet::new(); n],
            watch: Vec::new(),
            handed_over: 0,
        }
    }

    /// Server `s` is back: its local server hands its whole table over (`handover`), then reads
    /// back the numbers scspd gave. Changes made while it was down take the handover's time and
    /// numbers.
    fn handover(&mut self, c: &mut Client, s: usize) -> Result<(), Error> {
        let at = Instant::now();
        let entries: Vec<KeyData> = self.own[s]
            .iter()
            .filter_map(|k| {
                self.truth.get(k).map(|(_, _, data)| KeyData {
                    key: k.clone(),
                    data: data.clone(),
                    seq: None,
                })
            })
            .collect();
        let n = entries.len() as u64;
        match c.request(Request::Handover {
            server: SERVER.into(),
            entries,
        }) {
            Ok(Response::Loaded { errors, .. }) if errors.is_empty() => {}
            Ok(other) => return Err(Error::Daemon(format!("handover: {other:?}"))),
            Err(e) => return Err(Error::Daemon(format!("handover: {e}"))),
        }
        // Unchanged entries: their number before the kill, compared at the end with the one
        // they settle under (the originator may adopt its old number only once a DCS shows it).
        for k in &self.own[s] {
            if !self.changed_offline[s].contains(k)
                && let Some(v) = self.truth.get(k)
            {
                self.watch.push((k.clone(), v.1));
            }
        }
        for ch in self
            .changes
            .iter_mut()
            .filter(|c| c.pending && c.origin == s)
        {
            ch.pending = false;
            ch.handed = true;
            ch.at = at;
        }
        self.changed_offline[s].clear();
        self.handed_over += n;
        Ok(())
    }

    /// After the run: the numbers the originators hold (`seqs`) settle the changes handed over
    /// (the instance each must reach) and count the unchanged entries renumbered.
    fn settle(&mut self, seqs: &HashMap<String, u32>) -> HandoverTally {
        for ch in self.changes.iter_mut().filter(|c| c.handed) {
            if ch.seq.is_some() {
                // Deleted later while down: reached with the deletion.
                ch.seq = Some(seqs.get(&ch.key).copied().unwrap_or(u32::MAX));
            }
        }
        let moved: Vec<String> = self
            .watch
            .iter()
            .filter_map(|(k, old)| {
                let now = seqs.get(k)?;
                (now != old).then(|| format!("{k}:{old:#x}->{now:#x}"))
            })
            .collect();
        HandoverTally {
            entries: self.handed_over,
            unchanged: self.watch.len() as u64,
            renumbered: moved.len() as u64,
            examples: moved.into_iter().take(10).collect(),
        }
    }

    fn add(&mut self, c: &mut Client, s: usize, key: String, data: String) -> Result<(), Error> {
        let at = Instant::now();
        if self.offline[s] {
            self.changed_offline[s].insert(key.clone());
            if self.truth.insert(key.clone(), (s, 0, data)).is_none() {
                self.own[s].push(key.clone());
            }
            self.changes.push(Change {
                at,
                origin: s,
                key,
                seq: Some(0),
                pending: true,
                handed: false,
            });
            return Ok(());
        }
        let seq = match c.request(Request::Add {
            server: SERVER.into(),
            key: key.clone(),
            data: data.clone(),
        }) {
            Ok(Response::Added { seq }) => seq,
            Ok(other) => return Err(Error::Daemon(format!("unexpected reply {other:?}"))),
            Err(e) => return Err(Error::Daemon(format!("add: {e}"))),
        };
        if self.truth.insert(key.clone(), (s, seq, data)).is_none() {
            self.own[s].push(key.clone());
        }
        self.changes.push(Change {
            at,
            origin: s,
            key,
            seq: Some(seq),
            pending: false,
            handed: false,
        });
        Ok(())
    }

    fn new_entry(&mut self, c: &mut Client, s: usize) -> Result<(), Error> {
        let i = self.next_key[s];
        self.next_key[s] += 1;
        self.version += 1;
        let (key, data) = entry(s, i, self.version);
        self.add(c, s, key, data)
    }

    /// One random change at server `s`: a third each of adds, updates and deletes (an add when
    /// it holds nothing).
    fn change(&mut self, c: &mut Client, s: usize) -> Result<(), Error> {
        let kind = self.rng.random_range(0..3u8);
        if kind == 0 || self.own[s].is_empty() {
            return self.new_entry(c, s);
        }
        let i = self.rng.random_range(0..self.own[s].len());
        if kind == 1 {
            let key = self.own[s][i].clone();
            self.version += 1;
            let k = u32::from_str_radix(&key, 16).unwrap_or(0) & 0x00ff_ffff;
            let (_, data) = entry(s, k, self.version);
            return self.add(c, s, key, data);
        }
        let key = self.own[s].swap_remove(i);
        let at = Instant::now();
        let pending = self.offline[s];
        if pending {
            self.changed_offline[s].insert(key.clone());
        } else {
            c.request(Request::Del {
                server: SERVER.into(),
                key: key.clone(),
            })
            .map_err(|e| Error::Daemon(format!("del: {e}")))?;
        }
        self.truth.remove(&key);
        self.changes.push(Change {
            at,
            origin: s,
            key,
            seq: None,
            pending,
            handed: false,
        });
        Ok(())
    }
}

/// Poll every 100 ms until every cache is the truth or `limit` passes: the time it took, or
/// `None`.
fn converge(
    clients: &mut [Client],
    ids: &[String],
    truth: &Truth,
    since: Instant,
    limit: Duration,
) -> Result<Option<f64>, Error> {
    let deadline = Instant::now() + limit;
    loop {
        if differences(clients, ids, truth)?.clean() {
            return Ok(Some(since.elapsed().as_secs_f64()));
        }
        if Instant::now() >= deadline {
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn secs(v: Option<f64>) -> String {
    v.map_or_else(|| "never".into(), |s| format!("{s:.2}s"))
}

pub fn run(a: &Args, json_out: bool) -> Result<(), Error> {
    for (what, p) in [
        ("--loss", a.loss),
        ("--dup", a.dup),
        ("--reorder", a.reorder),
    ] {
        if !(0.0..=1.0).contains(&p) {
            return Err(Error::Setup(format!("{what} {p}: a probability, 0 to 1")));
        }
    }
    if !(a.rate > 0.0 && a.churn >= 0.0 && a.keep >= 0.0 && a.settle >= 0.0) {
        return Err(Error::Setup(
            "--rate must be positive, --churn, --keep and --settle not negative".into(),
        ));
    }
    let n = usize::from(a.servers);
    let links = links(a.topology, n);
    for p in &a.partitions {
        let l = (p.a.min(p.b), p.a.max(p.b));
        if !links.contains(&l) {
            return Err(Error::Setup(format!(
                "--partition {}-{}: no such link in this topology",
                p.a, p.b
            )));
        }
    }
    for r in &a.restarts {
        if r.server >= n {
            return Err(Error::Setup(format!(
                "--restart {}: no such server (0..{n})",
                r.server
            )));
        }
    }
    let scspd = daemon::find_scspd()?;
    let dir = TempDir::new("lab")?;
    let nodes = (0..n)
        .map(|i| Node::new(i as u8 + 1))
        .collect::<Result<Vec<_>, _>>()?;
    let ids: Vec<String> = nodes.iter().map(|x| hex::encode(x.addr.octets())).collect();
    let faults = Impairment {
        loss: a.loss,
        delay: Duration::from_millis(a.delay_ms),
        jitter: Duration::from_millis(a.jitter_ms),
        dup: a.dup,
        reorder: a.reorder,
        partitioned: false,
    };
    let clean = Impairment::default();
    let mut relays = Vec::new();
    let mut peers: Vec<Vec<Peer>> = (0..n).map(|_| Vec::new()).collect();
    for (k, &(i, j)) in links.iter().enumerate() {
        let addr = |x: Node| SocketAddr::from((x.addr, x.port));
        let r = Relay::start(
            addr(nodes[i]),
            addr(nodes[j]),
            clean,
            a.seed.wrapping_mul(1000).wrapping_add(k as u64),
        )
        .map_err(|e| Error::Setup(format!("relay: {e}")))?;
        peers[i].push(Peer {
            id: nodes[j].addr,
            via: r.addr_for_a(),
        });
        peers[j].push(Peer {
            id: nodes[i].addr,
            via: r.addr_for_b(),
        });
        relays.push(r);
    }
    let mut daemons = Vec::new();
    for i in 0..n {
        daemons.push(Daemon::spawn(
            &scspd,
            dir.path(),
            &format!("s{i}"),
            &config(nodes[i], &peers[i], a),
        )?);
    }
    let mut ops = Vec::new();
    for d in &mut daemons {
        ops.push(d.wait_ready()?);
    }
    let mut polls = daemons
        .iter()
        .map(Daemon::connect)
        .collect::<Result<Vec<_>, _>>()?;

    // 1. Preload on clean links, and wait for the group to converge.
    let mut w = Workload::new(n, a.seed);
    for (s, c) in ops.iter_mut().enumerate() {
        for _ in 0..a.entries {
            w.new_entry(c, s)?;
        }
    }
    if converge(
        &mut polls,
        &ids,
        &w.truth,
        Instant::now(),
        Duration::from_secs(120),
    )?
    .is_none()
    {
        return Err(Error::Timeout(
            "the preloaded group to converge on clean links (120 s)".into(),
        ));
    }
    w.changes.clear();
    let mut listeners = daemons
        .iter()
        .map(|d| Listener::start(d).map(Some))
        .collect::<Result<Vec<_>, _>>()?;
    let mut logs: Vec<SeenLog> = vec![Vec::new(); n];
    // Per restart: 0 to come, 1 down, 2 restarted and waiting to hand over, 3 done.
    let mut phase = vec![0u8; a.restarts.len()];

    // 2. Churn, faults on.
    let relay_counts = |relays: &[Relay]| {
        relays.iter().fold((0, 0), |(rx, dr), r| {
            let c = r.counters();
            (
                rx + c.received.load(std::sync::atomic::Ordering::Relaxed),
                dr + c.dropped.load(std::sync::atomic::Ordering::Relaxed),
            )
        })
    };
    let before = relay_counts(&relays);
    for r in &relays {
        r.set(faults);
    }
    let start = Instant::now();
    let churn = Duration::from_secs_f64(a.churn);
    let period = Duration::from_secs_f64(1.0 / a.rate);
    let mut next: Vec<Duration> = (0..n)
        .map(|s| period.mul_f64(s as f64 / n as f64))
        .collect();
    let partition_state = |el: f64| -> Vec<bool> {
        links
            .iter()
            .map(|&(i, j)| {
                a.partitions
                    .iter()
                    .any(|p| (p.a.min(p.b), p.a.max(p.b)) == (i, j) && el >= p.from && el < p.to)
            })
            .collect()
    };
    let mut cut = vec![false; links.len()];
    let mut apply_partitions = |el: f64, faults_on: bool| {
        let now = partition_state(el);
        for (k, r) in relays.iter().enumerate() {
            if now[k] != cut[k] {
                r.set(Impairment {
                    partitioned: now[k],
                    ..if faults_on { faults } else { clean }
                });
            }
        }
        cut = now;
    };
    // Kill, restart and hand over on the restarts' schedule (also after the churn).
    let mut restarts = |el: f64,
                        w: &mut Workload,
                        daemons: &mut [Daemon],
                        ops: &mut [Client],
                        polls: &mut [Client],
                        listeners: &mut [Option<Listener>],
                        logs: &mut [SeenLog]|
     -> Result<bool, Error> {
        let mut pending = false;
        for (r, ph) in a.restarts.iter().zip(phase.iter_mut()) {
            let s = r.server;
            if *ph == 0 && el >= r.at {
                daemons[s].kill();
                if let Some(l) = listeners[s].take() {
                    logs[s].extend(l.stop()?);
                }
                w.offline[s] = true;
                *ph = 1;
            }
            if *ph == 1 && el >= r.at + r.down {
                daemons[s].respawn(&scspd)?;
                ops[s] = daemons[s].wait_ready()?;
                polls[s] = daemons[s].connect()?;
                // The local server attaches at once, and hands over later. What it held before the
                // kill and the restarted server does not hold now has gone (a deletion made while
                // it was down reaches it as the entry's absence).
                let l = Listener::start(&daemons[s])?;
                let mut held: HashMap<&str, bool> = HashMap::new();
                for (_, k, x) in logs[s].iter() {
                    held.insert(k.as_str(), matches!(x, Seen::Holds(_)));
                }
                let gone: Vec<String> = held
                    .into_iter()
                    .filter(|(k, h)| *h && !l.held.contains(*k))
                    .map(|(k, _)| k.to_owned())
                    .collect();
                logs[s].extend(gone.into_iter().map(|k| (l.attached, k, Seen::Removed)));
                listeners[s] = Some(l);
                *ph = 2;
            }
            if *ph == 2 && el >= r.at + r.down + r.handover {
                w.offline[s] = false;
                w.handover(&mut ops[s], s)?;
                *ph = 3;
            }
            pending |= *ph < 3;
        }
        Ok(pending)
    };
    loop {
        let el = start.elapsed();
        restarts(
            el.as_secs_f64(),
            &mut w,
            &mut daemons,
            &mut ops,
            &mut polls,
            &mut listeners,
            &mut logs,
        )?;
        if el >= churn {
            break;
        }
        apply_partitions(el.as_secs_f64(), true);
        let (s, due) = next
            .iter()
            .copied()
            .enumerate()
            .min_by_key(|&(_, t)| t)
            .unwrap_or((0, churn));
        if due > el {
            std::thread::sleep((due - el).min(Duration::from_millis(20)));
            continue;
        }
        w.change(&mut ops[s], s)?;
        next[s] += period;
    }
    let churn_end = Instant::now();

    // 3. Faults kept on (partitions still on their schedule).
    let keep = Duration::from_secs_f64(a.keep);
    let mut converged_on = None;
    loop {
        let el = churn_end.elapsed();
        let waiting = restarts(
            start.elapsed().as_secs_f64(),
            &mut w,
            &mut daemons,
            &mut ops,
            &mut polls,
            &mut listeners,
            &mut logs,
        )?;
        if waiting {
            std::thread::sleep(Duration::from_millis(20));
            continue;
        }
        if differences(&mut polls, &ids, &w.truth)?.clean() {
            converged_on = Some(el.as_secs_f64());
            break;
        }
        if el >= keep {
            break;
        }
        apply_partitions(start.elapsed().as_secs_f64(), true);
        std::thread::sleep(Duration::from_millis(100));
    }
    let keep_end = Instant::now();
    // Packets through the relays while the faults were on.
    let (received, dropped) = {
        let now = relay_counts(&relays);
        (now.0 - before.0, now.1 - before.1)
    };

    // 4. Faults off, partitions lifted.
    for r in &relays {
        r.set(clean);
    }
    let converged_off = if converged_on.is_some() {
        Some(0.0)
    } else {
        converge(
            &mut polls,
            &ids,
            &w.truth,
            keep_end,
            Duration::from_secs_f64(a.settle),
        )?
    };
    let end = differences(&mut polls, &ids, &w.truth)?;
    let mut aligned = 0;
    let mut retransmits = 0;
    for c in &mut polls {
        for d in daemon::dcs(c)? {
            aligned += u64::from(d.ca == "Aligned");
            retransmits += d.retransmits;
        }
    }
    for (s, l) in listeners.into_iter().enumerate() {
        if let Some(l) = l {
            logs[s].extend(l.stop()?);
        }
    }
    let restarted = w.settle(&origin_seqs(&caches(&mut polls)?));
    let renumbered = restarted.renumbered;
    let lag = lags(&w.changes, &logs, n);
    let unreached = lag.iter().filter(|l| l.is_infinite()).count();
    let (p50, p99, max) = (
        percentile(&lag, 0.5),
        percentile(&lag, 0.99),
        lag.last().copied().unwrap_or(0.0),
    );
    let pass_lag = p99 <= TARGET_LAG_P99_S;
    let pass_on = converged_on.is_some_and(|s| s <= TARGET_CONVERGE_ON_S);
    let pass_off = converged_off.is_some_and(|s| s <= TARGET_CONVERGE_OFF_S);
    let pass_end = end.clean();
    let fmt_lag = |v: f64| {
        if v.is_finite() {
            format!("{v:.3}s")
        } else {
            "never".into()
        }
    };
    let line = format!(
        "lab servers={n} topology={:?} loss={} delay={}ms dup={} reorder={} churn={}s rate={}/s \
         changes={} lag_p50={} lag_p99={} lag_max={} unreached={unreached} converged_faults_on={} \
         converged_faults_off={} lost={} stale={} resurrected={} unknown={} renumbered={renumbered} \
         aligned_links={aligned}/{} \
         retransmits={retransmits} relay_dropped={dropped}/{received} \
         target[lag_p99<={TARGET_LAG_P99_S}s]={} target[converge_on<={TARGET_CONVERGE_ON_S}s]={} \
         target[converge_off<={TARGET_CONVERGE_OFF_S}s]={} target[nothing_lost_or_resurrected]={}",
        a.topology,
        a.loss,
        a.delay_ms,
        a.dup,
        a.reorder,
        a.churn,
        a.rate,
        w.changes.len(),
        fmt_lag(p50),
        fmt_lag(p99),
        fmt_lag(max),
        secs(converged_on),
        secs(converged_off),
        end.lost,
        end.stale,
        end.resurrected,
        end.unknown,
        2 * links.len(),
        verdict(pass_lag),
        verdict(pass_on),
        verdict(pass_off),
        verdict(pass_end),
    )
    .to_lowercase();
    let finite = |v: f64| v.is_finite().then_some(v);
    let value = json!({
        "case": "lab",
        "servers": n,
        "topology": a.topology,
        "loss": a.loss,
        "delay_ms": a.delay_ms,
        "jitter_ms": a.jitter_ms,
        "dup": a.dup,
        "reorder": a.reorder,
        "entries_per_server": a.entries,
        "rate_per_server": a.rate,
        "churn_s": a.churn,
        "keep_s": a.keep,
        "seed": a.seed,
        "changes": w.changes.len(),
        "lag_s": {"p50": finite(p50), "p99": finite(p99), "max": finite(max),
                  "pairs": lag.len(), "unreached": unreached},
        "converged_faults_on_s": converged_on,
        "converged_faults_off_s": converged_off,
        "end": end,
        "restarts": a.restarts.len(),
        "handed_over": restarted,
        "renumbered": renumbered,
        "aligned_links": aligned,
        "dcs_sessions": 2 * links.len(),
        "retransmits": retransmits,
        "relay": {"received": received, "dropped": dropped},
        "pass": {"lag_p99": pass_lag, "converge_on": pass_on, "converge_off": pass_off,
                 "nothing_lost_or_resurrected": pass_end},
    });
    emit(json_out, &line, &value);
    drop(ops);
    drop(polls);
    drop(daemons);
    if a.check && !(pass_lag && pass_on && pass_off && pass_end) {
        return Err(Error::Check("a target of the lab was not met".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topologies_link_the_servers_as_named() {
        assert_eq!(links(Topology::Line, 3), vec![(0, 1), (1, 2)]);
        assert_eq!(
            links(Topology::Ring, 4),
            vec![(0, 1), (1, 2), (2, 3), (0, 3)]
        );
        assert_eq!(links(Topology::Ring, 2), vec![(0, 1)]);
        assert_eq!(links(Topology::Full, 3), vec![(0, 1), (0, 2), (1, 2)]);
        assert_eq!(links(Topology::Star, 3), vec![(0, 1), (0, 2)]);
    }

    #[test]
    fn partitions_parse_and_bad_ones_are_refused() {
        assert_eq!(
            parse_partition("0-1:10:20.5").unwrap(),
            Partition {
                a: 0,
                b: 1,
                from: 10.0,
                to: 20.5
            }
        );
        for bad in ["0-0:1:2", "0-1:5:5", "0-1:5", "01:1:2", "a-b:1:2"] {
            assert!(parse_partition(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn lag_is_the_first_notification_of_the_instance_or_newer() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let changes = vec![
            Change {
                at: t0,
                origin: 0,
                key: "k".into(),
                seq: Some(5),
                pending: false,
                handed: false,
            },
            Change {
                at: t0 + s(1),
                origin: 0,
                key: "d".into(),
                seq: None,
                pending: false,
                handed: false,
            },
            Change {
                at: t0 + s(1),
                origin: 0,
                key: "never".into(),
                seq: Some(2),
                pending: false,
                handed: false,
            },
        ];
        // Server 1 sees an older instance of k, then a newer one at 3 s; the deletion of d at 4 s.
        let log1 = vec![
            (t0 + s(1), "k".to_string(), Seen::Holds(4)),
            (t0 + s(3), "k".to_string(), Seen::Holds(6)),
            (t0 + s(4), "d".to_string(), Seen::Removed),
        ];
        // Server 2 still holds d at the end and never learned k.
        let log2 = vec![(t0 + s(2), "d".to_string(), Seen::Holds(9))];
        let got = lags(&changes, &[Vec::new(), log1, log2], 3);
        // k: 3 s at server 1, never at 2; d: 3 s at 1, never at 2; "never": nowhere.
        assert_eq!(got.len(), 6);
        assert_eq!(&got[..2], &[3.0, 3.0]);
        assert!(got[2..].iter().all(|l| l.is_infinite()));

        // An instance deleted before it reached a server that never held it: reached with the
        // deletion; and at a server still holding the deleted entry, not reached.
        let changes = vec![
            Change {
                at: t0,
                origin: 0,
                key: "x".into(),
                seq: Some(1),
                pending: false,
                handed: false,
            },
            Change {
                at: t0 + s(2),
                origin: 0,
                key: "x".into(),
                seq: None,
                pending: false,
                handed: false,
            },
        ];
        let held = vec![(t0 + s(1), "x".to_string(), Seen::Holds(1))];
        let got = lags(&changes, &[Vec::new(), Vec::new(), held], 3);
        // Server 1: the instance with the deletion (2 s), the deletion at once; server 2: the
        // instance at 1 s, the deletion never.
        assert_eq!(&got[..3], &[0.0, 1.0, 2.0]);
        assert!(got[3].is_infinite());
    }
}
