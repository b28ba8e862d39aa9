//! Measures candidate embedded stores (redb, fjall, SQLite through rusqlite) on scspd's
//! persistence workload: flood writes in batches, bulk load, start-up scan, disk bytes per entry
//! before and after churn, and crash safety under SIGKILL. See docs/persistence-store.md.
//!
//! Usage:
//!   store-compare run [--dir D] [--repeats 3] [--records 1000000] [--flood-secs 2]
//!                     [--batches 1,64,1024,16384] [--crash-trials 20] [--stores redb,fjall,sqlite]
//!                     (also redb-qr: quick repair; fjall-8m: 8 MiB memtables flushed at close)
//!                     [--skip bench|crash]
//!   store-compare crash-child STORE MODE DIR TRIAL BATCH   (used by `run`)
//!
//! (About 890 lines outside its tests: a measuring tool run by hand, outside the workspace, whose
//! benchmark, crash trials and tables share the options, the results and the record pool; the
//! stores and the workload are modules of their own.)
#![forbid(unsafe_code)]

mod stores;
mod workload;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use stores::{Kind, Mode, Op, Res, Store};

/// The batch of the bulk load, the churn and the crash test's base load.
const BULK_BATCH: usize = 16_384;

struct Opts {
    dir: PathBuf,
    repeats: usize,
    records: u64,
    flood_secs: f64,
    batches: Vec<usize>,
    crash_trials: usize,
    stores: Vec<Kind>,
    bench: bool,
    crash: bool,
}

fn parse_opts(args: &[String]) -> Res<Opts> {
    let mut o = Opts {
        dir: std::env::temp_dir().join("store-compare"),
        repeats: 3,
        records: 1_000_000,
        flood_secs: 2.0,
        batches: vec![1, 64, 1024, 16384],
        crash_trials: 20,
        stores: Kind::DEFAULT.to_vec(),
        bench: true,
        crash: true,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = || it.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--dir" => o.dir = PathBuf::from(val()?),
            "--repeats" => o.repeats = val()?.parse()?,
            "--records" => o.records = val()?.parse()?,
            "--flood-secs" => o.flood_secs = val()?.parse()?,
            "--batches" => {
                o.batches = val()?
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<_, _>>()?
            }
            "--crash-trials" => o.crash_trials = val()?.parse()?,
            "--stores" => {
                o.stores = val()?
                    .split(',')
                    .map(|s| Kind::parse(s).ok_or_else(|| format!("unknown store {s}")))
                    .collect::<Result<_, _>>()?
            }
            "--skip" => match val()?.as_str() {
                "bench" => o.bench = false,
                "crash" => o.crash = false,
                s => return Err(format!("--skip bench|crash, not {s}").into()),
            },
            _ => return Err(format!("unknown argument {a}").into()),
        }
    }
    Ok(o)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let r = match args.first().map(String::as_str) {
        Some("run") => parse_opts(&args[1..]).and_then(|o| run(&o)),
        Some("crash-child") => crash_child(&args[1..]),
        _ => Err("usage: store-compare run [options] (see the source's first lines)".into()),
    };
    if let Err(e) = r {
        eprintln!("store-compare: {e}");
        std::process::exit(1);
    }
}

/// Measurements by (item, store, mode or batch), one value per repeat.
#[derive(Default)]
struct Results(BTreeMap<(String, String), Vec<f64>>);

impl Results {
    fn add(&mut self, item: &str, col: &str, v: f64) {
        eprintln!("  {item} {col}: {v:.3}");
        self.0
            .entry((item.to_string(), col.to_string()))
            .or_default()
            .push(v);
    }

    fn median(&self, item: &str, col: &str) -> Option<f64> {
        let mut v = self.0.get(&(item.to_string(), col.to_string()))?.clone();
        v.sort_by(f64::total_cmp);
        Some(if v.len() % 2 == 1 {
            v[v.len() / 2]
        } else {
            (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0
        })
    }

    fn range(&self, item: &str, col: &str) -> String {
        match self.0.get(&(item.to_string(), col.to_string())) {
            Some(v) if !v.is_empty() => {
                let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                format!(
                    "{} ({}–{})",
                    fmt_num(self.median(item, col).unwrap_or(0.0)),
                    fmt_num(lo),
                    fmt_num(hi)
                )
            }
            _ => "–".to_string(),
        }
    }
}

fn fmt_num(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// CPU time of this process so far (user + system, every thread: the stores' background threads
/// included), from /proc/self/stat, in seconds (USER_HZ = 100 on Linux).
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, a)| a);
    let f: Vec<&str> = after.split_whitespace().collect();
    let tick = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (tick(11) + tick(12)) / 100.0
}

/// Bytes on disk under `dir`: (allocated blocks, apparent file lengths).
fn disk_bytes(dir: &Path) -> Res<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let (mut alloc, mut apparent) = (0, 0);
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let md = e.metadata()?;
        if md.is_dir() {
            let (a, b) = disk_bytes(&e.path())?;
            alloc += a;
            apparent += b;
        } else {
            alloc += md.blocks() * 512;
            apparent += md.len();
        }
    }
    Ok((alloc, apparent))
}

fn run(o: &Opts) -> Res<()> {
    std::fs::create_dir_all(&o.dir)?;
    let mut res = Results::default();
    gen_cost(&mut res);
    if o.bench {
        let pool = Pool::new(o.records + o.records / 10);
        for rep in 0..o.repeats {
            bench_repeat(o, rep, &pool, &mut res)?;
        }
    }
    let crash = if o.crash { crash_test(o)? } else { Vec::new() };
    print_tables(o, &res, &crash);
    Ok(())
}

/// What generating the records costs by itself (it is inside every write figure).
fn gen_cost(res: &mut Results) {
    let (mut k, mut v) = (Vec::new(), Vec::new());
    let t = Instant::now();
    let mut acc = 0usize;
    for i in 0..1_000_000u64 {
        workload::key(i, &mut k);
        workload::value(i, 1, &k, &mut v);
        acc += k.len() + v.len();
    }
    let ns = t.elapsed().as_nanos() as f64 / 1e6;
    res.add("gen_ns_per_record", "all", ns);
    res.add("mean_record_bytes", "all", acc as f64 / 1e6);
}

/// A batch of owned records, rebuilt in place.
struct Batch {
    keys: Vec<Vec<u8>>,
    vals: Vec<Vec<u8>>,
    del: Vec<bool>,
    len: usize,
}

impl Batch {
    fn new() -> Self {
        Batch {
            keys: Vec::new(),
            vals: Vec::new(),
            del: Vec::new(),
            len: 0,
        }
    }

    fn clear(&mut self) {
        self.len = 0;
    }

    fn slot(&mut self) -> (&mut Vec<u8>, &mut Vec<u8>, &mut bool) {
        if self.len == self.keys.len() {
            self.keys.push(Vec::new());
            self.vals.push(Vec::new());
            self.del.push(false);
        }
        let i = self.len;
        self.len += 1;
        (&mut self.keys[i], &mut self.vals[i], &mut self.del[i])
    }

    fn put(&mut self, i: u64, seq: u32) {
        let (k, v, d) = self.slot();
        workload::key(i, k);
        workload::value(i, seq, k, v);
        *d = false;
    }

    fn delete(&mut self, i: u64) {
        let (k, _, d) = self.slot();
        workload::key(i, k);
        *d = true;
    }

    fn write(&self, store: &mut dyn Store) -> Res<()> {
        let ops: Vec<Op<'_>> = (0..self.len)
            .map(|j| {
                if self.del[j] {
                    Op::Del(&self.keys[j])
                } else {
                    Op::Put(&self.keys[j], &self.vals[j])
                }
            })
            .collect();
        store.write_batch(&ops)
    }
}

/// Entries `0..n` at sequence number 1, generated once so that the bulk load and the flood measure
/// the store alone.
struct Pool {
    keys: Vec<Vec<u8>>,
    vals: Vec<Vec<u8>>,
}

impl Pool {
    fn new(n: u64) -> Self {
        let mut p = Pool {
            keys: Vec::with_capacity(n as usize),
            vals: Vec::with_capacity(n as usize),
        };
        for i in 0..n {
            let mut k = Vec::new();
            let mut v = Vec::new();
            workload::key(i, &mut k);
            workload::value(i, 1, &k, &mut v);
            p.keys.push(k);
            p.vals.push(v);
        }
        p
    }
}

/// The bulk load: entries `0..records` of the pool, `BULK_BATCH` per commit.
fn load_pool(store: &mut dyn Store, pool: &Pool, records: u64) -> Res<()> {
    let mut i = 0;
    while i < records as usize {
        let end = (i + BULK_BATCH).min(records as usize);
        let ops: Vec<Op<'_>> = (i..end)
            .map(|j| Op::Put(&pool.keys[j], &pool.vals[j]))
            .collect();
        store.write_batch(&ops)?;
        i = end;
    }
    Ok(())
}

/// Writes entries `0..records` at `seq`, `BULK_BATCH` per commit (generating them as it goes).
fn load(store: &mut dyn Store, records: u64, seq: u32) -> Res<()> {
    let mut b = Batch::new();
    let mut i = 0;
    while i < records {
        b.clear();
        let end = (i + BULK_BATCH as u64).min(records);
        for j in i..end {
            b.put(j, seq);
        }
        b.write(store)?;
        i = end;
    }
    Ok(())
}

/// Scans the store, checking every record; returns (records, bad checksums).
fn scan_check(store: &mut dyn Store) -> Res<(u64, u64)> {
    let mut bad = 0;
    let n = store.scan(&mut |k, v| {
        if !workload::check(k, v) {
            bad += 1;
        }
    })?;
    Ok((n, bad))
}

fn bench_repeat(o: &Opts, rep: usize, pool: &Pool, res: &mut Results) -> Res<()> {
    // Rotate the order each repeat so that no store always runs first (or last).
    let mut order = o.stores.clone();
    let len = order.len().max(1);
    order.rotate_left(rep % len);
    let dir = |k: Kind| o.dir.join(format!("bench-{}", k.name()));
    let n = o.records;
    eprintln!("repeat {} of {}: {:?}", rep + 1, o.repeats, order);

    for &k in &order {
        let d = dir(k);
        let _ = std::fs::remove_dir_all(&d);
        let mut s = stores::open(k, Mode::Sync, &d)?;
        let t = Instant::now();
        load_pool(s.as_mut(), pool, n)?;
        res.add("bulk_s", k.name(), t.elapsed().as_secs_f64());
        drop(s);
        let (a, b) = disk_bytes(&d)?;
        res.add("bytes_1m_alloc", k.name(), a as f64 / n as f64);
        res.add("bytes_1m_apparent", k.name(), b as f64 / n as f64);
    }
    for &k in &order {
        let t = Instant::now();
        let mut s = stores::open(k, Mode::Sync, &dir(k))?;
        res.add("open_ms", k.name(), t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        let (count, bad) = scan_check(s.as_mut())?;
        res.add("scan_ms", k.name(), t.elapsed().as_secs_f64() * 1e3);
        if count != n || bad != 0 {
            return Err(format!(
                "{}: scan found {count} records, {bad} bad, expected {n}",
                k.name()
            )
            .into());
        }
    }
    for &k in &order {
        // Churn: every record updated twice, then every tenth deleted.
        let d = dir(k);
        let mut s = stores::open(k, Mode::Sync, &d)?;
        let t = Instant::now();
        load(s.as_mut(), n, 2)?;
        load(s.as_mut(), n, 3)?;
        let mut b = Batch::new();
        let mut i = 0;
        while i < n {
            b.clear();
            while b.len < BULK_BATCH && i < n {
                b.delete(i);
                i += 10;
            }
            b.write(s.as_mut())?;
        }
        res.add("churn_s", k.name(), t.elapsed().as_secs_f64());
        drop(s);
        let live = n - n.div_ceil(10);
        let (a, ap) = disk_bytes(&d)?;
        res.add("bytes_churn_alloc", k.name(), a as f64 / live as f64);
        res.add("bytes_churn_apparent", k.name(), ap as f64 / live as f64);
        let mut s = stores::open(k, Mode::Sync, &d)?;
        let t = Instant::now();
        s.compact()?;
        res.add("compact_s", k.name(), t.elapsed().as_secs_f64());
        let (count, bad) = scan_check(s.as_mut())?;
        if count != live || bad != 0 {
            return Err(format!(
                "{}: after churn {count} records, {bad} bad, expected {live}",
                k.name()
            )
            .into());
        }
        drop(s);
        let (a, ap) = disk_bytes(&d)?;
        res.add("bytes_compact_alloc", k.name(), a as f64 / live as f64);
        res.add("bytes_compact_apparent", k.name(), ap as f64 / live as f64);
    }
    let secs = Duration::from_secs_f64(o.flood_secs);
    for &batch in &o.batches {
        for mode in Mode::ALL {
            let seed = (rep * 1000 + batch) as u64;
            let item = format!("flood_{}", mode.name());
            let cpu_item = format!("floodcpu_{}", mode.name());
            for &k in &order {
                let mut s = stores::open(k, mode, &dir(k))?;
                let (rate, cpu) = flood(s.as_mut(), pool, batch, secs, seed)?;
                res.add(&item, &format!("{}/{batch}", k.name()), rate);
                res.add(&cpu_item, &format!("{}/{batch}", k.name()), cpu);
            }
            let path = o.dir.join("floor.log");
            let mut log = stores::AppendLog::create(&path)?;
            log.set_mode(mode)?;
            let (rate, cpu) = flood(&mut log, pool, batch, secs, seed)?;
            res.add(&item, &format!("floor/{batch}"), rate);
            res.add(&cpu_item, &format!("floor/{batch}"), cpu);
            drop(log);
            std::fs::remove_file(&path)?;
        }
    }
    for &k in &order {
        std::fs::remove_dir_all(dir(k))?;
    }
    Ok(())
}

/// Upserts (90%) and deletes (10%) of random entries of the pool (`records * 1.1`), `batch` per
/// commit, for `secs` (or 20M records); returns records per second and CPU µs per record.
fn flood(
    store: &mut dyn Store,
    pool: &Pool,
    batch: usize,
    secs: Duration,
    seed: u64,
) -> Res<(f64, f64)> {
    let space = pool.keys.len() as u64;
    let mut x = seed;
    let mut done = 0u64;
    let mut ops: Vec<Op<'_>> = Vec::with_capacity(batch);
    let cpu = cpu_secs();
    let t = Instant::now();
    while t.elapsed() < secs && done < 20_000_000 {
        ops.clear();
        for _ in 0..batch {
            x = workload::splitmix(x);
            let i = ((x >> 8) % space) as usize;
            ops.push(if x & 0xff < 26 {
                Op::Del(&pool.keys[i])
            } else {
                Op::Put(&pool.keys[i], &pool.vals[i])
            });
        }
        store.write_batch(&ops)?;
        done += batch as u64;
    }
    let wall = t.elapsed().as_secs_f64();
    Ok((done as f64 / wall, (cpu_secs() - cpu) * 1e6 / done as f64))
}

// ---------------------------------------------------------------------------------------------
// Crash safety: a child process writes batches and reports each commit; it is killed with
// SIGKILL at a random instant; the store is reopened and checked.

/// The child: opens the store, says "ready", then commits batch after batch. Batch `b` of trial
/// `t` puts `n` records keyed (t, b, i) and deletes the records of batch `b - 4`; after each
/// commit returns it prints "c b". The state after commit `b` is therefore exactly batches
/// `b-3..=b` of this trial, complete.
fn crash_child(args: &[String]) -> Res<()> {
    let [kind, mode, dir, trial, n] = args else {
        return Err("crash-child STORE MODE DIR TRIAL BATCH".into());
    };
    let kind = Kind::parse(kind).ok_or("unknown store")?;
    let mode = Mode::parse(mode).ok_or("unknown mode")?;
    let trial: u16 = trial.parse()?;
    let n: u32 = n.parse()?;
    let mut store = stores::open(kind, mode, Path::new(dir))?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "ready")?;
    out.flush()?;
    let mut keys = vec![Vec::new(); 2 * n as usize];
    let mut vals = vec![Vec::new(); n as usize];
    for b in 0u64.. {
        for i in 0..n {
            let k = &mut keys[i as usize];
            workload::crash_key(trial, b, i, k);
            workload::value(
                b * u64::from(n) + u64::from(i),
                b as u32,
                k,
                &mut vals[i as usize],
            );
            if b >= 4 {
                workload::crash_key(trial, b - 4, i, &mut keys[(n + i) as usize]);
            }
        }
        let mut ops: Vec<Op<'_>> = (0..n as usize)
            .map(|i| Op::Put(&keys[i], &vals[i]))
            .collect();
        if b >= 4 {
            ops.extend((n as usize..2 * n as usize).map(|i| Op::Del(&keys[i])));
        }
        store.write_batch(&ops)?;
        writeln!(out, "c {b}")?;
        out.flush()?;
    }
    Ok(())
}

/// Per trial of one store: (trial, batch size, last batch present at its check).
type History = Vec<(u16, u32, Option<u64>)>;

struct Trial {
    kind: Kind,
    mode: Mode,
    batch: u32,
    delay_ms: u64,
    acked: Option<u64>,
    opened: bool,
    consistent: bool,
    lost_acked: u64,
    reopen_ms: f64,
    note: String,
}

const CRASH_BATCHES: [u32; 4] = [1, 64, 1024, 16384];

fn crash_test(o: &Opts) -> Res<Vec<Trial>> {
    let combos: Vec<(Kind, Mode)> = o
        .stores
        .iter()
        .flat_map(|&k| Mode::ALL.map(|m| (k, m)))
        .collect();
    let dir = |k: Kind, m: Mode| o.dir.join(format!("crash-{}-{}", k.name(), m.name()));
    // Each store starts with the entries loaded; every trial then runs on what the previous
    // crashes left, so recovery is exercised again and again on the same files.
    for &(k, m) in &combos {
        let d = dir(k, m);
        let _ = std::fs::remove_dir_all(&d);
        let mut s = stores::open(k, Mode::Sync, &d)?;
        load(s.as_mut(), o.records, 1)?;
    }
    // For each store and earlier trial: its batch size and last batch present after its check.
    let mut history: BTreeMap<(Kind, Mode), History> = BTreeMap::new();
    let exe = std::env::current_exe()?;
    let mut trials = Vec::new();
    for t in 0..o.crash_trials {
        let mut order = combos.clone();
        let len = order.len().max(1);
        order.rotate_left(t % len);
        for (ci, &(k, m)) in order.iter().enumerate() {
            let batch = CRASH_BATCHES[t % CRASH_BATCHES.len()];
            let delay_ms = 20 + workload::splitmix((t * 97 + ci) as u64) % 1500;
            let d = dir(k, m);
            let mut trial = Trial {
                kind: k,
                mode: m,
                batch,
                delay_ms,
                acked: None,
                opened: false,
                consistent: false,
                lost_acked: 0,
                reopen_ms: 0.0,
                note: String::new(),
            };
            let mut child = Command::new(&exe)
                .args(["crash-child", k.name(), m.name()])
                .arg(&d)
                .args([t.to_string(), batch.to_string()])
                .stdout(Stdio::piped())
                .spawn()?;
            let stdout = child.stdout.take().ok_or("no stdout")?;
            let (tx, rx) = std::sync::mpsc::channel::<String>();
            let reader = std::thread::spawn(move || {
                let mut r = BufReader::new(stdout);
                let mut line = String::new();
                // Only whole lines count: a line cut by the kill was not reported.
                while r.read_line(&mut line).unwrap_or(0) > 0 && line.ends_with('\n') {
                    if tx.send(line.trim_end().to_string()).is_err() {
                        break;
                    }
                    line.clear();
                }
            });
            let ready = rx.recv_timeout(Duration::from_secs(120));
            if ready.as_deref() != Ok("ready") {
                let _ = child.kill();
                let _ = child.wait();
                trial.note = format!("child not ready: {ready:?}");
                trials.push(trial);
                continue;
            }
            std::thread::sleep(Duration::from_millis(delay_ms));
            if let Some(st) = child.try_wait()? {
                trial.note = format!("child exited before the kill: {st}");
            }
            child.kill()?; // SIGKILL
            child.wait()?;
            let _ = reader.join();
            for line in rx.try_iter() {
                if let Some(b) = line.strip_prefix("c ") {
                    trial.acked = Some(b.parse()?);
                }
            }
            let t0 = Instant::now();
            let opened = stores::open(k, m, &d);
            trial.reopen_ms = t0.elapsed().as_secs_f64() * 1e3;
            let mut s = match opened {
                Ok(s) => s,
                Err(e) => {
                    trial.note = format!("reopen failed: {e}");
                    eprintln!("trial {t} {} {}: {}", k.name(), m.name(), trial.note);
                    trials.push(trial);
                    continue;
                }
            };
            trial.opened = true;
            let hist = history.entry((k, m)).or_default();
            hist.push((t as u16, batch, None));
            match check_crash_state(s.as_mut(), o.records, hist, trial.acked) {
                Ok(lost) => {
                    trial.consistent = true;
                    trial.lost_acked = lost;
                }
                Err(e) => trial.note = e.to_string(),
            }
            eprintln!(
                "trial {t} {} {} batch {batch} kill at {delay_ms} ms: acked {:?}, reopen {:.1} ms, consistent {}, lost {} {}",
                k.name(),
                m.name(),
                trial.acked,
                trial.reopen_ms,
                trial.consistent,
                trial.lost_acked,
                trial.note
            );
            trials.push(trial);
        }
    }
    for &(k, m) in &combos {
        let _ = std::fs::remove_dir_all(dir(k, m));
    }
    Ok(trials)
}

/// Checks the reopened store: every loaded entry intact; for each trial, the batches present are
/// exactly `M-3..=M` (complete) for some M, the same M as at that trial's own check for earlier
/// trials; for the last trial M is the last batch acknowledged or the one after (committed, not yet
/// reported). Returns how many acknowledged batches were lost (M < acked), which is allowed only
/// as a figure, not as an inconsistency. Records the last trial's M in `hist`.
fn check_crash_state(
    s: &mut dyn Store,
    records: u64,
    hist: &mut [(u16, u32, Option<u64>)],
    acked: Option<u64>,
) -> Res<u64> {
    let mut base = 0u64;
    let mut bad = 0u64;
    let mut present: BTreeMap<u16, BTreeMap<u64, u32>> = BTreeMap::new();
    s.scan(&mut |k, v| {
        if !workload::check(k, v) {
            bad += 1;
        }
        match workload::parse_crash_key(k) {
            Some((t, b, _)) => *present.entry(t).or_default().entry(b).or_default() += 1,
            None => base += 1,
        }
    })?;
    if bad != 0 {
        return Err(format!("{bad} records with a bad checksum").into());
    }
    if base != records {
        return Err(format!("{base} loaded entries, expected {records}").into());
    }
    let last = hist.len() - 1;
    let mut lost = 0;
    for (idx, (t, n, m_seen)) in hist.iter_mut().enumerate() {
        let batches = present.remove(t).unwrap_or_default();
        let m = batches.keys().next_back().copied();
        if let Some(m) = m {
            let want: Vec<u64> = (m.saturating_sub(3)..=m).collect();
            let got: Vec<u64> = batches.keys().copied().collect();
            if got != want {
                return Err(
                    format!("trial {t}: batches {got:?} present, expected {want:?}").into(),
                );
            }
            if let Some((b, c)) = batches.iter().find(|&(_, &c)| c != *n) {
                return Err(
                    format!("trial {t}: batch {b} has {c} of {n} records (partial)").into(),
                );
            }
        }
        if idx < last {
            if m != *m_seen {
                return Err(format!("trial {t}: last batch {m:?}, was {m_seen:?} before").into());
            }
        } else {
            match (m, acked) {
                (None, None) => {}
                (Some(0), None) => {}
                (Some(m), Some(a)) if m == a + 1 => {}
                (Some(m), Some(a)) if m <= a => lost = a - m,
                (None, Some(a)) => lost = a + 1,
                (m, a) => return Err(format!("trial {t}: last batch {m:?} but acked {a:?}").into()),
            }
            *m_seen = m;
        }
    }
    if !present.is_empty() {
        return Err(format!(
            "records of unknown trials {:?}",
            present.keys().collect::<Vec<_>>()
        )
        .into());
    }
    Ok(lost)
}

fn print_tables(o: &Opts, res: &Results, crash: &[Trial]) {
    println!(
        "\nstore-compare: {} records, {} repeat(s), flood {} s per cell; medians (min–max)\n",
        o.records, o.repeats, o.flood_secs
    );
    println!(
        "record generation: {:.0} ns/record (pre-generated for the bulk load and the flood, inside the churn figure), mean record {:.1} bytes (key + value)\n",
        res.median("gen_ns_per_record", "all").unwrap_or(0.0),
        res.median("mean_record_bytes", "all").unwrap_or(0.0)
    );
    if o.bench {
        for (prefix, what) in [
            ("flood", "records/s"),
            (
                "floodcpu",
                "CPU µs per record (user + system, all threads of the process)",
            ),
        ] {
            println!(
                "Flood writes, {what} (90% upserts, 10% deletes, random keys over a store of ~{} entries):\n",
                o.records
            );
            print!("| store | mode (setting) |");
            for b in &o.batches {
                print!(" N = {b} |");
            }
            println!();
            print!("|---|---|");
            for _ in &o.batches {
                print!("---:|");
            }
            println!();
            let rows = o
                .stores
                .iter()
                .flat_map(|&k| Mode::ALL.map(|m| (k.name(), m, k.mode_setting(m))))
                .chain([
                    ("floor", Mode::Sync, "no store: append, fdatasync"),
                    ("floor", Mode::NoSync, "no store: append, write only"),
                ]);
            for (name, m, setting) in rows {
                print!("| {name} | {} ({setting}) |", m.name());
                for b in &o.batches {
                    let item = format!("{prefix}_{}", m.name());
                    print!(" {} |", res.range(&item, &format!("{name}/{b}")));
                }
                println!();
            }
            println!();
        }
        println!(
            "\nBulk load, start-up scan, disk (bulk load and churn: sync mode, {BULK_BATCH} records per commit):\n"
        );
        let rows: [(&str, &str); 11] = [
            ("bulk_s", "bulk load of all records, s"),
            ("open_ms", "open after a clean close, ms"),
            ("scan_ms", "full scan (checksum every record), ms"),
            (
                "bytes_1m_alloc",
                "disk bytes/entry after the load (allocated)",
            ),
            (
                "bytes_1m_apparent",
                "disk bytes/entry after the load (file lengths)",
            ),
            (
                "churn_s",
                "churn (2 updates of every record, 10% deleted), s",
            ),
            (
                "bytes_churn_alloc",
                "disk bytes/live entry after churn (allocated)",
            ),
            (
                "bytes_churn_apparent",
                "disk bytes/live entry after churn (file lengths)",
            ),
            ("compact_s", "compaction, s"),
            (
                "bytes_compact_alloc",
                "disk bytes/live entry after compaction (allocated)",
            ),
            (
                "bytes_compact_apparent",
                "disk bytes/live entry after compaction (file lengths)",
            ),
        ];
        print!("| figure |");
        for k in &o.stores {
            print!(" {} |", k.name());
        }
        println!();
        print!("|---|");
        for _ in &o.stores {
            print!("---:|");
        }
        println!();
        for (item, label) in rows {
            print!("| {label} |");
            for k in &o.stores {
                print!(" {} |", res.range(item, k.name()));
            }
            println!();
        }
    }
    if o.crash {
        println!(
            "\nCrash safety: SIGKILL during a write loop on a store holding {} entries, reopen, check:\n",
            o.records
        );
        println!(
            "| store | mode (setting) | trials | reopened | consistent | trials losing acked batches (batches lost, total) | reopen ms median (max) | batches acked per trial, median |"
        );
        println!("|---|---|---:|---:|---:|---:|---:|---:|");
        for &k in &o.stores {
            for m in Mode::ALL {
                let ts: Vec<&Trial> = crash
                    .iter()
                    .filter(|t| t.kind == k && t.mode == m)
                    .collect();
                if ts.is_empty() {
                    continue;
                }
                let mut ms: Vec<f64> = ts
                    .iter()
                    .filter(|t| t.opened)
                    .map(|t| t.reopen_ms)
                    .collect();
                ms.sort_by(f64::total_cmp);
                let mut acked: Vec<u64> = ts.iter().map(|t| t.acked.map_or(0, |a| a + 1)).collect();
                acked.sort_unstable();
                let losing = ts.iter().filter(|t| t.lost_acked > 0).count();
                let lost: u64 = ts.iter().map(|t| t.lost_acked).sum();
                println!(
                    "| {} | {} ({}) | {} | {} | {} | {} ({}) | {} ({}) | {} |",
                    k.name(),
                    m.name(),
                    k.mode_setting(m),
                    ts.len(),
                    ts.iter().filter(|t| t.opened).count(),
                    ts.iter().filter(|t| t.consistent).count(),
                    losing,
                    lost,
                    ms.get(ms.len() / 2).map_or("–".into(), |v| fmt_num(*v)),
                    ms.last().map_or("–".into(), |v| fmt_num(*v)),
                    acked[acked.len() / 2],
                );
            }
        }
        println!(
            "\nKill instants (ms after the child's store was open) and batch sizes per trial: 20 + splitmix(trial*97 + slot) % 1500; batch sizes cycle {CRASH_BATCHES:?}."
        );
        for t in crash.iter().filter(|t| !t.note.is_empty()) {
            println!(
                "note: {} {} batch {} at {} ms: {}",
                t.kind.name(),
                t.mode.name(),
                t.batch,
                t.delay_ms,
                t.note
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An in-memory store, to check the crash checker itself.
    #[derive(Default)]
    struct Mem(BTreeMap<Vec<u8>, Vec<u8>>);

    impl Store for Mem {
        fn set_mode(&mut self, _: Mode) -> Res<()> {
            Ok(())
        }
        fn write_batch(&mut self, ops: &[Op<'_>]) -> Res<()> {
            for op in ops {
                match *op {
                    Op::Put(k, v) => self.0.insert(k.to_vec(), v.to_vec()),
                    Op::Del(k) => self.0.remove(k),
                };
            }
            Ok(())
        }
        fn scan(&mut self, f: &mut dyn FnMut(&[u8], &[u8])) -> Res<u64> {
            for (k, v) in &self.0 {
                f(k, v);
            }
            Ok(self.0.len() as u64)
        }
        fn compact(&mut self) -> Res<()> {
            Ok(())
        }
    }

    fn put_batch(s: &mut Mem, trial: u16, b: u64, n: u32) {
        let (mut k, mut v) = (Vec::new(), Vec::new());
        for i in 0..n {
            workload::crash_key(trial, b, i, &mut k);
            workload::value(b * u64::from(n) + u64::from(i), b as u32, &k, &mut v);
            s.0.insert(k.clone(), v.clone());
        }
    }

    fn state(trial: u16, last: u64, n: u32) -> Mem {
        let mut s = Mem::default();
        load(&mut s, 10, 1).unwrap();
        for b in last.saturating_sub(3)..=last {
            put_batch(&mut s, trial, b, n);
        }
        s
    }

    #[test]
    fn crash_check_accepts_the_state_of_a_commit() {
        for (acked, lost) in [(Some(9), 0), (Some(8), 0), (Some(12), 3)] {
            let mut hist = vec![(0, 4, None)];
            let r = check_crash_state(&mut state(0, 9, 4), 10, &mut hist, acked);
            assert_eq!(r.unwrap(), lost);
            assert_eq!(hist[0].2, Some(9));
        }
    }

    #[test]
    fn crash_check_rejects_partial_missing_phantom_and_torn_records() {
        let mut hist = vec![(0, 4, None)];
        // A partial batch.
        let mut s = state(0, 9, 4);
        let mut k = Vec::new();
        workload::crash_key(0, 9, 2, &mut k);
        s.0.remove(&k);
        assert!(check_crash_state(&mut s, 10, &mut hist, Some(9)).is_err());
        // A batch missing in the middle (a delete applied without its puts).
        let mut s = state(0, 9, 4);
        for i in 0..4 {
            workload::crash_key(0, 7, i, &mut k);
            s.0.remove(&k);
        }
        assert!(check_crash_state(&mut s, 10, &mut hist, Some(9)).is_err());
        // A batch beyond the one that may have committed unreported.
        assert!(check_crash_state(&mut state(0, 9, 4), 10, &mut hist, Some(7)).is_err());
        // A torn record.
        let mut s = state(0, 9, 4);
        s.0.values_mut().next().unwrap()[5] ^= 1;
        assert!(check_crash_state(&mut s, 10, &mut hist, Some(9)).is_err());
        // A lost base entry.
        let mut s = state(0, 9, 4);
        let first = s.0.keys().next().unwrap().clone();
        s.0.remove(&first);
        assert!(check_crash_state(&mut s, 10, &mut hist, Some(9)).is_err());
    }

    #[test]
    fn crash_check_holds_earlier_trials_to_what_they_were() {
        let mut s = state(0, 9, 4);
        let mut hist = vec![(0, 4, None)];
        check_crash_state(&mut s, 10, &mut hist, Some(9)).unwrap();
        put_batch(&mut s, 1, 0, 2);
        hist.push((1, 2, None));
        check_crash_state(&mut s, 10, &mut hist, Some(0)).unwrap();
        // Trial 0 rolled back by one commit (batch 9 gone, batch 5 back): a consistent window,
        // but not the one trial 0's own check saw.
        let mut k = Vec::new();
        for i in 0..4 {
            workload::crash_key(0, 9, i, &mut k);
            s.0.remove(&k);
        }
        put_batch(&mut s, 0, 5, 4);
        hist.push((2, 2, None));
        let e = check_crash_state(&mut s, 10, &mut hist, None).unwrap_err();
        assert!(e.to_string().contains("was Some(9) before"), "{e}");
    }
}
