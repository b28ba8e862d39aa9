//! `scsp-bench align`: how fast a new (or returning) server catches up.
//!
//! Server A (127.0.0.1) holds N entries; B (127.0.0.2) is empty. B is started with A as its DCS
//! (A has B configured from the start): the clock runs from B's process start, through the
//! Hello exchange, Cache Alignment (CA summaries one at a time) and Update Cache (CSUS one at a
//! time, answered by CSU Requests), until B's live entry count equals A's. With `--overlap F`, B
//! already holds the fraction F of A's entries (it was aligned with A before, then the link went
//! down while A originated the rest and B some of its own): the link comes up again by a reload
//! of A's configuration, and the clock runs until both hold the union.
//!
//! The fresh case (no `--overlap`, no `--restart`) runs both paths, interleaved run by run: RFC
//! 2334 Cache Alignment (`scspd=`), and the reconciliation extension with `Reconcile on;` in both
//! configurations (`ext=`), where B, far behind, takes A's entries by the bulk path
//! (docs/reconciliation.md §8).

use std::time::{Duration, Instant};

use scsp_client::client::Client;
use scsp_client::proto::{KeyData, Request, Response};
use serde_json::json;

use crate::daemon::{self, Daemon, Node, TempDir, Traffic};
use crate::{Error, Profile, emit, median, redis, verdict};

/// Bytes of data per entry (the 40-byte values).
pub const DATA_LEN: usize = 40;
/// Entries per `load` request while filling a server.
const LOAD_BATCH: usize = 50_000;
/// Caches up to this size are compared entry by entry at the end (a `show cache` reply must fit
/// in one 64 MiB frame); larger ones by counts, and by every entry having been learned from A.
const FULL_COMPARE_MAX: u64 = 300_000;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Entries held by A.
    #[arg(long, default_value_t = 100_000)]
    entries: u32,
    /// MTU of both servers (largest SCSP packet).
    #[arg(long, default_value_t = 1472)]
    mtu: u16,
    /// Also time a Redis replica's full sync of the same number of keys (40-byte values).
    #[arg(long)]
    redis: bool,
    /// B already holds this fraction of A's entries, plus 1% of N of its own.
    #[arg(long, default_value_t = 0.0)]
    overlap: f64,
    /// Record layout.
    #[arg(long, value_enum, default_value_t = Profile::Generic)]
    profile: Profile,
    /// Run the case this many times and report the median (each run with new processes).
    #[arg(long, default_value_t = 1)]
    repeat: u32,
    /// Least poll interval of the servers' entry counts, milliseconds (then 1/200 of the time
    /// elapsed: see `daemon::pace`).
    #[arg(long, default_value_t = 1)]
    poll_ms: u64,
    /// Once B holds A's entries and has written them to its saved state, SIGKILL B and start it
    /// again: the figure is then the time from its process start until it is Aligned with A
    /// again (with `--saved-state`, from what it saved: nothing to fetch).
    #[arg(long)]
    restart: bool,
}

/// One scspd alignment.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Run {
    /// Seconds from the link coming up to identical caches.
    pub seconds: f64,
    /// Seconds from the link coming up until B's CA FSM had left Cache Summarize (summaries
    /// exchanged; as polled).
    pub summarized: Option<f64>,
    /// What A sent to B during the run.
    pub a_to_b: Traffic,
    /// What B sent to A.
    pub b_to_a: Traffic,
    /// Entries each holds at the end.
    pub entries: u64,
    /// CPU seconds A and B used from the start of the clock until the caches were identical
    /// (clock ticks of 10 ms).
    pub cpu_a: f64,
    pub cpu_b: f64,
    /// With `--restart`: B's restart.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart: Option<Restart>,
    /// With the extension: B's counters towards A (bulk streams, reconciliations decoded,
    /// fallbacks).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recon: Option<(u64, u64, u64)>,
}

/// B killed and started again once aligned (`--restart`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Restart {
    /// Seconds from B's new process start until it is Aligned with A with every entry.
    pub seconds: f64,
    /// Records B learned from A after the restart (0 when its saved state was complete).
    pub learned: u64,
    /// What A sent B after the restart.
    pub a_to_b: Traffic,
    /// Bytes of B's state directory per entry before the kill (with `--saved-state`).
    pub disk_bytes_per_entry: Option<f64>,
    /// Milliseconds B took to read its saved state back and hold it again (from its log).
    pub load_ms: Option<u64>,
}

pub fn run(a: &Args, json_out: bool) -> Result<(), Error> {
    if !(0.0..1.0).contains(&a.overlap) {
        return Err(Error::Setup("--overlap must be in [0, 1)".into()));
    }
    let redis_bin = if a.redis {
        Some(redis::find_redis()?)
    } else {
        None
    };
    let _ = redis_bin;
    let scspd = daemon::find_scspd()?;
    let mut runs = Vec::new();
    let mut ext_runs = Vec::new();
    let mut redis_runs = Vec::new();
    let both = a.overlap == 0.0 && !a.restart;
    for i in 0..a.repeat.max(1) {
        let r = if a.overlap > 0.0 {
            align_overlap(&scspd, a)?
        } else {
            align_fresh(&scspd, a, false)?
        };
        if a.repeat > 1 {
            eprintln!("  run {}: scspd={:.3}", i + 1, r.seconds);
        }
        runs.push(r);
        if both {
            let e = align_fresh(&scspd, a, true)?;
            if a.repeat > 1 {
                eprintln!("  run {}: ext={:.3}", i + 1, e.seconds);
            }
            ext_runs.push(e);
        }
        if a.redis {
            let s = redis::full_sync(u64::from(a.entries), DATA_LEN)?;
            if a.repeat > 1 {
                eprintln!("  run {}: redis={:.3}", i + 1, s.seconds);
            }
            redis_runs.push(s);
        }
    }
    let mut t: Vec<f64> = runs.iter().map(|r| r.seconds).collect();
    let scspd_s = median(&mut t);
    let best = t.first().copied().unwrap_or(0.0);
    // The run whose time is the median, for its counters.
    let mid = runs
        .iter()
        .find(|r| r.seconds == scspd_s)
        .cloned()
        .unwrap_or_else(|| runs[0].clone());
    let redis_s = if a.redis {
        let mut v: Vec<f64> = redis_runs.iter().map(|r| r.seconds).collect();
        Some(median(&mut v))
    } else {
        None
    };
    let (target, ok) = target(a, scspd_s, redis_s);
    let mut e: Vec<f64> = ext_runs.iter().map(|r| r.seconds).collect();
    let ext_s = (!e.is_empty()).then(|| median(&mut e));
    let ext_mid = ext_s.and_then(|m| ext_runs.iter().find(|r| r.seconds == m).cloned());
    let (ext_target, ext_ok) = match ext_s {
        Some(s) => ext_target(a, s, redis_s),
        None => (None, None),
    };
    let mut line = format!(
        "align entries={} mtu={} profile={}{} scspd={scspd_s:.3}",
        a.entries,
        a.mtu,
        match a.profile {
            Profile::Generic => "generic",
            Profile::Atmarp => "atmarp",
        },
        if a.overlap > 0.0 {
            format!(" overlap={}", a.overlap)
        } else {
            String::new()
        },
    );
    if let Some(r) = redis_s {
        line += &format!(" redis={r:.3} ratio={:.2}", scspd_s / r);
    }
    if a.repeat > 1 {
        line += &format!(" (median of {}, best {best:.3})", a.repeat);
    }
    line += if daemon::saved_state() {
        " state=on"
    } else {
        " state=off"
    };
    if let Some(r) = &mid.restart {
        line += &format!(
            " restart={:.3} restart_learned={} restart_a->b={}pkts/{}B",
            r.seconds, r.learned, r.a_to_b.packets, r.a_to_b.bytes
        );
        if let Some(d) = r.disk_bytes_per_entry {
            line += &format!(" disk_bytes_per_entry={d:.1}");
        }
        if let Some(l) = r.load_ms {
            line += &format!(" restart_load_ms={l}");
        }
    }
    line += &format!(
        " a->b={}pkts/{}B b->a={}pkts/{}B",
        mid.a_to_b.packets, mid.a_to_b.bytes, mid.b_to_a.packets, mid.b_to_a.bytes
    );
    if let Some(s) = mid.summarized {
        line += &format!(" summarized={s:.3}");
    }
    line += &format!(" cpu_a={:.2} cpu_b={:.2}", mid.cpu_a, mid.cpu_b);
    match (&target, ok) {
        (Some(t), Some(ok)) => line += &format!(" target[{t}]={}", verdict(ok)),
        (Some(t), None) => line += &format!(" target[{t}]=n/a (run with --redis)"),
        _ => {}
    }
    if let (Some(s), Some(m)) = (ext_s, &ext_mid) {
        line += &format!(" ext={s:.3}");
        if let Some(r) = redis_s {
            line += &format!(" ext_ratio={:.2}", s / r);
        }
        if a.repeat > 1 {
            line += &format!(" (best {:.3})", e.first().copied().unwrap_or(0.0));
        }
        let (bulk, decoded, fallbacks) = m.recon.unwrap_or_default();
        line += &format!(
            " ext_a->b={}pkts/{}B ext_b->a={}pkts/{}B ext_cpu_a={:.2} ext_cpu_b={:.2} \
             ext_bulk={bulk} ext_decoded={decoded} ext_fallbacks={fallbacks}",
            m.a_to_b.packets, m.a_to_b.bytes, m.b_to_a.packets, m.b_to_a.bytes, m.cpu_a, m.cpu_b
        );
        match (&ext_target, ext_ok) {
            (Some(t), Some(ok)) => line += &format!(" ext_target[{t}]={}", verdict(ok)),
            (Some(t), None) => line += &format!(" ext_target[{t}]=n/a (run with --redis)"),
            _ => {}
        }
    }
    let value = json!({
        "case": "align",
        "entries": a.entries,
        "mtu": a.mtu,
        "profile": a.profile,
        "overlap": a.overlap,
        "repeat": a.repeat,
        "saved_state": daemon::saved_state(),
        "restart": mid.restart,
        "scspd": scspd_s,
        "scspd_best": best,
        "scspd_runs": runs,
        "redis": redis_s,
        "redis_runs": redis_runs,
        "ratio": redis_s.map(|r| scspd_s / r),
        "ext": ext_s,
        "ext_runs": ext_runs,
        "ext_ratio": ext_s.zip(redis_s).map(|(e, r)| e / r),
        "ext_target": ext_target,
        "ext_pass": ext_ok,
        "target": target,
        "pass": ok,
    });
    emit(json_out, &line, &value);
    Ok(())
}

/// The target of the issue that applies to this case, and whether it is met (None: it needs a
/// Redis figure that was not measured).
fn target(a: &Args, s: f64, redis: Option<f64>) -> (Option<String>, Option<bool>) {
    if a.overlap > 0.0 || a.profile != Profile::Generic {
        return (None, None);
    }
    match (a.entries, a.mtu) {
        (1_000_000, 65000) => (Some("<=0.5s".into()), Some(s <= 0.5)),
        (1_000_000, 1472) => (
            Some("<=2.0s and <=redis".into()),
            redis.map(|r| s <= 2.0 && s <= r),
        ),
        (100_000, 65000) => (Some("<=redis".into()), redis.map(|r| s <= r)),
        _ => (None, None),
    }
}

/// The targets of the extension's fresh learner (issue 15): at most 0.25 s at MTU 65000 and
/// 0.5 s at 1472 for N = 10^6, and at most a quarter of a Redis replica's full sync.
fn ext_target(a: &Args, s: f64, redis: Option<f64>) -> (Option<String>, Option<bool>) {
    if a.profile != Profile::Generic || a.entries != 1_000_000 {
        return (None, None);
    }
    let limit = match a.mtu {
        65000 => 0.25,
        1472 => 0.5,
        _ => return (None, None),
    };
    (
        Some(format!("<={limit}s and <=redis/4")),
        redis.map(|r| s <= limit && s <= r / 4.0),
    )
}

fn protocol(p: Profile) -> u16 {
    match p {
        Profile::Generic => 65000,
        Profile::Atmarp => 1,
    }
}

/// `n` records of `profile` originated by `origin` (`tag` tells originators' records apart).
fn records(profile: Profile, origin: Node, tag: u8, n: u32) -> Result<Vec<KeyData>, Error> {
    match profile {
        Profile::Generic => Ok(daemon::generic_entries(tag, 0, n, DATA_LEN)),
        Profile::Atmarp => daemon::atmarp_entries(origin.addr, tag, n),
    }
}

/// A run's end checked (B Aligned with nothing left to ask, the caches identical), the daemons
/// still up.
fn checked(run: Run, ca: &mut Client, cb: &mut Client) -> Result<Run, Error> {
    wait_aligned(cb, "B to reach Aligned")?;
    verify(ca, cb, run.entries)?;
    Ok(run)
}

/// Wait until every DCS of the daemon behind `c` is Aligned.
pub(crate) fn wait_aligned(c: &mut Client, what: &str) -> Result<(), Error> {
    daemon::wait_for(
        what,
        Duration::from_secs(60),
        Duration::from_millis(5),
        || {
            let v = daemon::dcs(c)?;
            Ok(!v.is_empty() && v.iter().all(|d| d.ca == "Aligned" && d.crl == 0))
        },
    )
}

/// Poll until both counts reach `want` (at `daemon::pace`); returns the elapsed time from `start`
/// and when B's CA FSM was first seen past Cache Summarize (with `summary`: the RFC exchange,
/// whose summaries end long before the records; the bulk path stays in Cache Summarize until
/// the end, and its polls ask for the counts alone, as the RFC's do once summarized).
pub(crate) fn watch(
    start: Instant,
    ca: &mut Client,
    cb: &mut Client,
    want: u64,
    poll: Duration,
    summary: bool,
) -> Result<(f64, Option<f64>), Error> {
    let mut summarized = None;
    let mut a_done = false;
    let deadline = Duration::from_secs(600);
    loop {
        if summary && summarized.is_none() {
            let v = daemon::dcs(cb)?;
            if v.iter()
                .any(|d| d.ca == "Update Cache" || d.ca == "UpdateCache" || d.ca == "Aligned")
            {
                summarized = Some(start.elapsed().as_secs_f64());
            }
        }
        let b = daemon::entries(cb)?;
        if b >= want {
            if !a_done {
                a_done = daemon::entries(ca)? >= want;
            }
            if a_done {
                return Ok((start.elapsed().as_secs_f64(), summarized));
            }
        }
        if start.elapsed() > deadline {
            return Err(Error::Timeout(format!(
                "alignment: B holds {b} of {want} entries after {deadline:?}"
            )));
        }
        std::thread::sleep(daemon::pace(poll, start.elapsed()));
    }
}

/// Check that the two caches are identical: counts, and entry by entry when small enough.
pub(crate) fn verify(ca: &mut Client, cb: &mut Client, want: u64) -> Result<(), Error> {
    let (na, nb) = (daemon::entries(ca)?, daemon::entries(cb)?);
    if na != want || nb != want {
        return Err(Error::Check(format!(
            "A holds {na} entries and B {nb}, both should hold {want}"
        )));
    }
    if want > FULL_COMPARE_MAX {
        return Ok(());
    }
    let cache = |c: &mut Client| -> Result<Vec<(String, String, u32, String)>, Error> {
        match c.request(Request::ShowCache {
            server: daemon::SERVER.into(),
            query: Default::default(),
        }) {
            Ok(Response::Cache { entries, .. }) => {
                // (Streamed in each cache's own order.)
                let mut v: Vec<_> = entries
                    .into_iter()
                    .map(|e| (e.key, e.originator, e.seq, e.data))
                    .collect();
                v.sort();
                Ok(v)
            }
            Ok(other) => Err(Error::Daemon(format!("unexpected reply {other:?}"))),
            Err(e) => Err(Error::Daemon(e.to_string())),
        }
    };
    if cache(ca)? != cache(cb)? {
        return Err(Error::Check("the caches of A and B differ".into()));
    }
    Ok(())
}

/// The configuration of `me`, with `Reconcile on;` if `reconcile`.
fn node_config(me: Node, dcs: &[Node], proto: u16, mtu: u16, reconcile: bool) -> String {
    let s = daemon::config(me, dcs, proto, mtu);
    if reconcile {
        s.replacen("ServerGroupID 7;", "ServerGroupID 7; Reconcile on;", 1)
    } else {
        s
    }
}

/// B's reconciliation counters (bulk streams, decoded, fallbacks), summed over its DCSs.
fn recon_counts(c: &mut Client) -> Result<(u64, u64, u64), Error> {
    let v = daemon::dcs(c)?;
    let get = |k: &str| -> u64 {
        v.iter()
            .map(|d| d.stats["recon"][k].as_u64().unwrap_or(0))
            .sum()
    };
    Ok((get("bulk"), get("decoded"), get("fallbacks")))
}

/// A holds N entries; B starts empty. With `reconcile`, both have `Reconcile on;`.
fn align_fresh(scspd: &std::path::Path, a: &Args, reconcile: bool) -> Result<Run, Error> {
    let dir = TempDir::new("align")?;
    let (na, nb) = (Node::new(1)?, Node::new(2)?);
    let proto = protocol(a.profile);
    let conf = |me, dcs: &[Node]| node_config(me, dcs, proto, a.mtu, reconcile);
    let mut da = Daemon::spawn(scspd, dir.path(), "A", &conf(na, &[nb]))?;
    let mut ca = da.wait_ready()?;
    let n = u64::from(a.entries);
    daemon::load(&mut ca, records(a.profile, na, 1, a.entries)?, LOAD_BATCH)?;
    if daemon::entries(&mut ca)? != n {
        return Err(Error::Check("A does not hold the entries loaded".into()));
    }
    if daemon::saved_state() {
        // A's own writes are done before the clock starts.
        daemon::wait_written(&mut ca, n)?;
    }
    let before = daemon::sent_to(&mut ca, nb.addr)?;
    if reconcile {
        // A's cells take in the entries loaded in batches between packets: settled before the
        // clock starts, as a server that has held its entries for a while has.
        std::thread::sleep(Duration::from_millis(1000));
    }
    let mut db = Daemon::spawn(scspd, dir.path(), "B", &conf(nb, &[na]))?;
    let start = db.started;
    let cpu_a0 = da.cpu()?;
    let mut cb = db.wait_ready()?;
    let (seconds, summarized) = watch(
        start,
        &mut ca,
        &mut cb,
        n,
        Duration::from_millis(a.poll_ms),
        !reconcile,
    )?;
    let (cpu_a, cpu_b) = (da.cpu()? - cpu_a0, db.cpu()?);
    let a_to_b = daemon::sent_to(&mut ca, nb.addr)?.since(before);
    let b_to_a = daemon::sent_to(&mut cb, na.addr)?;
    let run = Run {
        seconds,
        summarized,
        a_to_b,
        b_to_a,
        entries: n,
        cpu_a,
        cpu_b,
        restart: None,
        recon: None,
    };
    let mut run = checked(run, &mut ca, &mut cb)?;
    if reconcile {
        run.recon = Some(recon_counts(&mut cb)?);
    }
    if a.restart {
        run.restart = Some(restart_b(scspd, &mut db, &mut cb, &mut ca, nb, n, a)?);
    }
    Ok(run)
}

/// `--restart`: once B's saved state holds what it learned, SIGKILL B and start it again; the
/// time until it is Aligned with A again with all `n` entries.
fn restart_b(
    scspd: &std::path::Path,
    db: &mut Daemon,
    cb: &mut Client,
    ca: &mut Client,
    nb: Node,
    n: u64,
    a: &Args,
) -> Result<Restart, Error> {
    let mut disk = None;
    if daemon::saved_state() {
        daemon::wait_written(cb, n)?;
        disk = Some(daemon::dir_bytes(&db.state_dir()) as f64 / n as f64);
    }
    db.kill();
    let before = daemon::sent_to(ca, nb.addr)?;
    db.respawn(scspd)?;
    let start = db.started;
    let mut cb2 = db.wait_ready()?;
    let poll = Duration::from_millis(a.poll_ms);
    loop {
        let v = daemon::dcs(&mut cb2)?;
        if !v.is_empty()
            && v.iter().all(|d| d.ca == "Aligned" && d.crl == 0)
            && daemon::entries(&mut cb2)? >= n
        {
            break;
        }
        if start.elapsed() > Duration::from_secs(600) {
            return Err(Error::Timeout("B's realignment after its restart".into()));
        }
        std::thread::sleep(daemon::pace(poll, start.elapsed()));
    }
    let seconds = start.elapsed().as_secs_f64();
    let learned = daemon::dcs(&mut cb2)?
        .iter()
        .map(|d| d.stats["records_learned"].as_u64().unwrap_or(0))
        .sum();
    let a_to_b = daemon::sent_to(ca, nb.addr)?.since(before);
    verify(ca, &mut cb2, n)?;
    *cb = cb2;
    // "saved state …: N entries held again (…) in T ms": the last such line of B's log.
    let log = std::fs::read_to_string(&db.log).unwrap_or_default();
    let line = log.lines().rev().find(|l| l.contains("entries held again"));
    let ms_after = |marker: &str| -> Option<u64> {
        line?.split(marker).nth(1)?.split(' ').next()?.parse().ok()
    };
    let load_ms = ms_after(") in ");
    Ok(Restart {
        seconds,
        learned,
        a_to_b,
        disk_bytes_per_entry: disk,
        load_ms,
    })
}

/// B holds a fraction of A's entries and some of its own; the link comes back up.
fn align_overlap(scspd: &std::path::Path, a: &Args) -> Result<Run, Error> {
    let dir = TempDir::new("overlap")?;
    let (na, nb) = (Node::new(1)?, Node::new(2)?);
    let proto = protocol(a.profile);
    let cfg_a_linked = daemon::config(na, &[nb], proto, a.mtu);
    let cfg_a_alone = daemon::config(na, &[], proto, a.mtu);
    let mut da = Daemon::spawn(scspd, dir.path(), "A", &cfg_a_linked)?;
    let mut ca = da.wait_ready()?;
    let mut db = Daemon::spawn_node(scspd, dir.path(), "B", nb, &[na], proto, a.mtu)?;
    let mut cb = db.wait_ready()?;
    wait_aligned(&mut cb, "B to align with A (empty)")?;
    let shared = (f64::from(a.entries) * a.overlap) as u32;
    let own = (a.entries / 100).max(1);
    let mut a_records = records(a.profile, na, 1, a.entries)?;
    let a_rest = a_records.split_off(shared as usize);
    daemon::load(&mut ca, a_records, LOAD_BATCH)?;
    cut_once_learned(&da, &mut ca, &mut cb, u64::from(shared), &cfg_a_alone)?;
    daemon::load(&mut ca, a_rest, LOAD_BATCH)?;
    daemon::load(&mut cb, records(a.profile, nb, 2, own)?, LOAD_BATCH)?;
    let want = u64::from(a.entries) + u64::from(own);
    let b_before = daemon::sent_to(&mut cb, na.addr)?;
    let (cpu_a0, cpu_b0) = (da.cpu()?, db.cpu()?);
    let start = Instant::now();
    da.reload(&mut ca, &cfg_a_linked)?;
    let (seconds, summarized) = watch(
        start,
        &mut ca,
        &mut cb,
        want,
        Duration::from_millis(a.poll_ms),
        true,
    )?;
    let (cpu_a, cpu_b) = (da.cpu()? - cpu_a0, db.cpu()? - cpu_b0);
    let a_to_b = daemon::sent_to(&mut ca, nb.addr)?;
    let b_to_a = daemon::sent_to(&mut cb, na.addr)?.since(b_before);
    let run = Run {
        seconds,
        summarized,
        a_to_b,
        b_to_a,
        entries: want,
        cpu_a,
        cpu_b,
        restart: None,
        recon: None,
    };
    checked(run, &mut ca, &mut cb)
}

/// Once B (`cb`) holds `n` entries, the link goes down: A (`da`, `ca`) is reloaded with
/// `alone`, a configuration without B, and forgets B; B times A out (HelloInt 1 × HelloDead 3).
pub(crate) fn cut_once_learned(
    da: &Daemon,
    ca: &mut Client,
    cb: &mut Client,
    n: u64,
    alone: &str,
) -> Result<(), Error> {
    daemon::wait_for(
        "B to learn A's entries",
        Duration::from_secs(600),
        Duration::from_millis(5),
        || Ok(daemon::entries(cb)? >= n),
    )?;
    da.reload(ca, alone)?;
    daemon::wait_for(
        "B to see the link to A down",
        Duration::from_secs(30),
        Duration::from_millis(20),
        || Ok(daemon::dcs(cb)?.iter().all(|d| d.ca == "Down")),
    )
}
