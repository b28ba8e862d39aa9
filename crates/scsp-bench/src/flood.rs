//! `scsp-bench flood`: a line A–B–C (127.0.0.1–3). Entries are originated at A through its socket
//! (in `load` requests, one per millisecond at a given rate, or back to back with `--rate max`);
//! a client attached to C timestamps each entry's arrival (its `learned` notification). Reported:
//! the updates per second carried through both links until every one is acknowledged on both
//! (A's and B's retransmit queues empty), and the latency from the request at A to the
//! notification at C.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use scsp_client::client::Client;
use scsp_client::proto::{Notify, Request};
use serde_json::json;

use crate::align::DATA_LEN;
use crate::daemon::{self, Daemon, Node, TempDir};
use crate::{Error, emit, verdict};

/// Targets.
const TARGET_RATE: f64 = 200_000.0;
const TARGET_P99_MS: f64 = 2.0;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Updates per second originated at A, or `max`.
    #[arg(long, default_value = "max")]
    rate: String,
    /// How long A originates, seconds.
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// MTU of the three servers.
    #[arg(long, default_value_t = 1472)]
    mtu: u16,
    /// With `--rate max`: most entries originated at A and not yet at C.
    #[arg(long, default_value_t = 50_000)]
    window: u64,
    /// Entries per `load` request with `--rate max`.
    #[arg(long, default_value_t = 1000)]
    batch: u32,
    /// The three servers with `Reconcile on;` (the cells of the reconciliation kept per change).
    #[arg(long)]
    reconcile: bool,
}

/// `config` with `Reconcile on;` when asked.
fn reconcile(config: String, on: bool) -> String {
    if on {
        config.replacen("ServerGroupID 7;", "ServerGroupID 7; Reconcile on;", 1)
    } else {
        config
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

pub fn run(a: &Args, json_out: bool) -> Result<(), Error> {
    let rate: Option<f64> = match a.rate.as_str() {
        "max" => None,
        r => Some(
            r.parse::<f64>()
                .ok()
                .filter(|r| *r > 0.0)
                .ok_or_else(|| Error::Setup(format!("--rate {r}: a positive number or max")))?,
        ),
    };
    let scspd = daemon::find_scspd()?;
    let dir = TempDir::new("flood")?;
    let (na, nb, nc) = (Node::new(1)?, Node::new(2)?, Node::new(3)?);
    let p = 65000;
    let spawn = |name: &str, node: Node, dcs: &[Node]| {
        Daemon::spawn(
            &scspd,
            dir.path(),
            name,
            &reconcile(daemon::config(node, dcs, p, a.mtu), a.reconcile),
        )
    };
    let mut da = spawn("A", na, &[nb])?;
    let mut db = spawn("B", nb, &[na, nc])?;
    let mut dc = spawn("C", nc, &[nb])?;
    let mut ca = da.wait_ready()?;
    let mut cb = db.wait_ready()?;
    let mut cc = dc.wait_ready()?;
    for (c, name) in [(&mut ca, "A"), (&mut cb, "B"), (&mut cc, "C")] {
        daemon::wait_for(
            &format!("{name} to align with its DCSs"),
            Duration::from_secs(30),
            Duration::from_millis(5),
            || {
                let v = daemon::dcs(c)?;
                Ok(v.iter().all(|d| d.ca == "Aligned"))
            },
        )?;
    }

    // The listener at C (at a given rate only: at full speed, C's notifications to a client
    // cost as much as the protocol, and scspd disconnects a client that falls 4096 behind).
    let arrived = Arc::new(AtomicU64::new(0));
    let (tx, rx) = mpsc::channel::<(u32, Instant)>();
    let listening = rate.is_some();
    let mut reader = None;
    let mut shut = None;
    if listening {
        let mut listener = dc.connect()?;
        listener
            .request(Request::Attach {
                server: daemon::SERVER.into(),
                confirm: false,
            })
            .map_err(|e| Error::Daemon(format!("attach: {e}")))?;
        shut = Some(
            listener
                .stream()
                .try_clone()
                .map_err(|e| Error::Setup(e.to_string()))?,
        );
        let counter = arrived.clone();
        reader = Some(std::thread::spawn(move || listen(listener, tx, counter)));
    } else {
        drop(tx);
    }
    let mut cc2 = dc.connect()?;
    let at_c = |cc: &mut Client| -> Result<u64, Error> {
        if listening {
            if reader.as_ref().is_some_and(|r| r.is_finished()) {
                return Err(Error::Daemon(
                    "C disconnected the listener (notification queue overflow?)".into(),
                ));
            }
            Ok(arrived.load(Ordering::Relaxed))
        } else {
            daemon::entries(cc)
        }
    };
    let mut last_poll = Instant::now();
    let mut c_count = 0;

    // Originate at A.
    let mut origin: Vec<Instant> = Vec::new();
    let start = Instant::now();
    let run_for = Duration::from_secs_f64(a.seconds);
    let mut sent: u32 = 0;
    loop {
        let el = start.elapsed();
        if el >= run_for {
            break;
        }
        let n = match rate {
            Some(r) => {
                let due = (el.as_secs_f64() * r) as u32;
                if due <= sent {
                    std::thread::sleep(Duration::from_micros(100));
                    continue;
                }
                (due - sent).min(20_000)
            }
            None => {
                if u64::from(sent).saturating_sub(c_count) >= a.window {
                    if last_poll.elapsed() >= Duration::from_millis(1) {
                        c_count = at_c(&mut cc2)?;
                        last_poll = Instant::now();
                    } else {
                        std::thread::sleep(Duration::from_micros(100));
                    }
                    continue;
                }
                a.batch
            }
        };
        let batch = daemon::generic_entries(0x0a, sent, n, DATA_LEN);
        let t = Instant::now();
        daemon::load(&mut ca, batch, n as usize)?;
        origin.extend(std::iter::repeat_n(t, n as usize));
        sent += n;
    }
    let originated_s = start.elapsed().as_secs_f64();
    let total = u64::from(sent);
    // Every entry at C, and acknowledged on both links.
    daemon::wait_for(
        "every entry to reach C",
        Duration::from_secs(120),
        Duration::from_millis(1),
        || Ok(at_c(&mut cc2)? >= total),
    )?;
    let at_c = start.elapsed().as_secs_f64();
    daemon::wait_for(
        "every entry to be acknowledged on both links",
        Duration::from_secs(120),
        Duration::from_millis(1),
        || {
            let qa = daemon::dcs(&mut ca)?
                .iter()
                .map(|d| d.rexmit_queue)
                .sum::<u64>();
            let qb = daemon::dcs(&mut cb)?
                .iter()
                .map(|d| d.rexmit_queue)
                .sum::<u64>();
            Ok(qa == 0 && qb == 0)
        },
    )?;
    let acked = start.elapsed().as_secs_f64();
    let rexmits: u64 = [&mut ca, &mut cb, &mut cc]
        .into_iter()
        .map(|c| daemon::dcs(c).map(|v| v.iter().map(|d| d.retransmits).sum::<u64>()))
        .sum::<Result<u64, Error>>()?;
    let c_entries = daemon::entries(&mut cc)?;
    if let Some(s) = shut {
        let _ = s.shutdown(std::net::Shutdown::Both);
    }
    if let Some(r) = reader {
        let _ = r.join();
    }
    let mut lat: Vec<f64> = Vec::with_capacity(origin.len());
    for (i, t) in rx.try_iter() {
        if let Some(o) = origin.get(i as usize) {
            lat.push(t.saturating_duration_since(*o).as_secs_f64() * 1000.0);
        }
    }
    lat.sort_by(f64::total_cmp);
    let (p50, p99, max) = (
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        lat.last().copied().unwrap_or(0.0),
    );
    let sustained = total as f64 / acked;
    let offered = total as f64 / originated_s;
    // Targets: the rate with --rate max; the latency at 10,000/s.
    let (target, pass) = match rate {
        None => (
            Some(format!(">={TARGET_RATE:.0}/s")),
            Some(sustained >= TARGET_RATE),
        ),
        Some(r) if (r - 10_000.0).abs() < 1.0 => (
            Some(format!("p99<={TARGET_P99_MS}ms")),
            Some(p99 <= TARGET_P99_MS),
        ),
        Some(_) => (None, None),
    };
    let mut line = format!(
        "flood rate={} seconds={} mtu={} updates={total} offered={offered:.0}/s \
         sustained={sustained:.0}/s p50={p50:.3}ms p99={p99:.3}ms max={max:.3}ms \
         retransmits={rexmits} state={}",
        a.rate,
        a.seconds,
        a.mtu,
        if daemon::saved_state() { "on" } else { "off" }
    );
    if let (Some(t), Some(ok)) = (&target, pass) {
        line += &format!(" target[{t}]={}", verdict(ok));
    }
    let value = json!({
        "case": "flood",
        "rate": a.rate,
        "seconds": a.seconds,
        "mtu": a.mtu,
        "updates": total,
        "offered_per_s": offered,
        "sustained_per_s": sustained,
        "all_at_c_s": at_c,
        "all_acked_s": acked,
        "latency_ms": {"p50": p50, "p99": p99, "max": max, "samples": lat.len()},
        "retransmits": rexmits,
        "saved_state": daemon::saved_state(),
        "c_entries": c_entries,
        "target": target,
        "pass": pass,
    });
    emit(json_out, &line, &value);
    drop((da, db, dc));
    Ok(())
}

/// Read C's notifications until the connection ends: (entry index, arrival) for each learned
/// entry of the run.
fn listen(mut c: Client, tx: mpsc::Sender<(u32, Instant)>, arrived: Arc<AtomicU64>) {
    while let Ok(n) = c.next_notify() {
        let t = Instant::now();
        if let Notify::Learned { entry, .. } | Notify::Replaced { entry, .. } = n
            && let Ok(k) = hex::decode(&entry.key)
            && let Ok(k) = <[u8; 4]>::try_from(k.as_slice())
        {
            let i = u32::from_be_bytes(k) & 0x00ff_ffff;
            let _ = tx.send((i, t));
            arrived.fetch_add(1, Ordering::Relaxed);
        }
    }
}
