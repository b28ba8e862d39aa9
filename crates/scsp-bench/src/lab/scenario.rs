//! `scsp-bench lab`: one scenario (see the module's documentation in `lab/mod.rs`).

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use scsp_client::client::Client;
use serde_json::json;

use super::oracle::*;
use super::relay::{Impairment, Relay};
use super::workload::*;
use crate::daemon::{self, Daemon, Node, SERVER, TempDir};
use crate::{Error, emit, verdict};

/// The targets of docs/PERFORMANCE.md ("Heavy loss"), printed beside the figures.
const TARGET_LAG_P99_S: f64 = 10.0;
const TARGET_CONVERGE_ON_S: f64 = 10.0;
const TARGET_CONVERGE_OFF_S: f64 = 2.0;

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
    /// Before each restart's kill, its server's local server adds this many new entries in one
    /// `load`, and the kill follows 50 ms later.
    #[arg(long, default_value_t = 0)]
    burst: u32,
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

/// How long before its kill a restart's `--burst` is loaded.
const BURST_LEAD_S: f64 = 0.05;

fn config(me: Node, peers: &[Peer], a: &Args) -> String {
    let mut s = format!(
        "server {SERVER} {{\n    protocol 65000; ServerGroupID 7;\n    ID {m}; Address {m}; \
         Port {p}; MTU 1472;\n    {}\n",
        daemon::BOUNDS,
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

fn secs(v: Option<f64>) -> String {
    v.map_or_else(|| "never".into(), |s| format!("{s:.2}s"))
}

/// The servers of a run, by index: the processes, the local server's and the poller's
/// connections, the listeners attached to the servers, and what each listener saw.
struct Fleet {
    daemons: Vec<Daemon>,
    ops: Vec<Client>,
    polls: Vec<Client>,
    listeners: Vec<Option<Listener>>,
    logs: Vec<SeenLog>,
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
    let ids: Vec<String> = nodes.iter().map(|x| x.addr.to_string()).collect();
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
    let listeners = daemons
        .iter()
        .map(|d| Listener::start(d).map(Some))
        .collect::<Result<Vec<_>, _>>()?;
    let logs: Vec<SeenLog> = vec![Vec::new(); n];
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
    let mut fleet = Fleet {
        daemons,
        ops,
        polls,
        listeners,
        logs,
    };
    let mut restarts = |el: f64, w: &mut Workload, f: &mut Fleet| -> Result<bool, Error> {
        let mut pending = false;
        for (r, ph) in a.restarts.iter().zip(phase.iter_mut()) {
            let s = r.server;
            if *ph == 0 && a.burst > 0 && el >= r.at - BURST_LEAD_S {
                w.burst(&mut f.ops[s], s, a.burst)?;
                std::thread::sleep(Duration::from_secs_f64(BURST_LEAD_S));
                *ph = 4;
            }
            if (*ph == 0 || *ph == 4) && el >= r.at {
                f.daemons[s].kill();
                if let Some(l) = f.listeners[s].take() {
                    f.logs[s].extend(l.stop()?);
                }
                w.offline[s] = true;
                *ph = 1;
            }
            if *ph == 1 && el >= r.at + r.down {
                f.daemons[s].respawn(&scspd)?;
                f.ops[s] = f.daemons[s].wait_ready()?;
                f.polls[s] = f.daemons[s].connect()?;
                // The local server attaches at once, and hands over later. What it held before the
                // kill and the restarted server does not hold now has gone (a deletion made while
                // it was down reaches it as the entry's absence).
                let l = Listener::start(&f.daemons[s])?;
                let mut held: HashMap<&str, bool> = HashMap::new();
                for (_, k, x) in f.logs[s].iter() {
                    held.insert(k.as_str(), matches!(x, Seen::Holds(_)));
                }
                let gone: Vec<String> = held
                    .into_iter()
                    .filter(|(k, h)| *h && !l.held.contains(*k))
                    .map(|(k, _)| k.to_owned())
                    .collect();
                f.logs[s].extend(gone.into_iter().map(|k| (l.attached, k, Seen::Removed)));
                f.listeners[s] = Some(l);
                *ph = 2;
            }
            if *ph == 2 && el >= r.at + r.down + r.handover {
                w.offline[s] = false;
                w.handover(&mut f.ops[s], s)?;
                *ph = 3;
            }
            pending |= *ph != 3;
        }
        Ok(pending)
    };
    loop {
        let el = start.elapsed();
        restarts(el.as_secs_f64(), &mut w, &mut fleet)?;
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
        w.change(&mut fleet.ops[s], s)?;
        next[s] += period;
    }
    let churn_end = Instant::now();

    // 3. Faults kept on (partitions still on their schedule).
    let keep = Duration::from_secs_f64(a.keep);
    let mut converged_on = None;
    loop {
        let el = churn_end.elapsed();
        let waiting = restarts(start.elapsed().as_secs_f64(), &mut w, &mut fleet)?;
        if waiting {
            std::thread::sleep(Duration::from_millis(20));
            continue;
        }
        if differences(&mut fleet.polls, &ids, &w.truth)?.clean() {
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
            &mut fleet.polls,
            &ids,
            &w.truth,
            keep_end,
            Duration::from_secs_f64(a.settle),
        )?
    };
    let end = differences(&mut fleet.polls, &ids, &w.truth)?;
    let mut aligned = 0;
    let mut retransmits = 0;
    for c in &mut fleet.polls {
        for d in daemon::dcs(c)? {
            aligned += u64::from(d.ca == "Aligned");
            retransmits += d.retransmits;
        }
    }
    for (s, l) in fleet.listeners.into_iter().enumerate() {
        if let Some(l) = l {
            fleet.logs[s].extend(l.stop()?);
        }
    }
    let restarted = w.settle(&origin_seqs(&caches(&mut fleet.polls)?));
    let renumbered = restarted.renumbered;
    if !restarted.examples.is_empty() {
        eprintln!(
            "renumbered although unchanged (of {}): {}",
            restarted.unchanged,
            restarted.examples.join(" ")
        );
    }
    let lag = lags(&w.changes, &fleet.logs, n);
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
    drop(fleet.ops);
    drop(fleet.polls);
    drop(fleet.daemons);
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
