//! `scsp-bench realign`: re-alignment of two servers that both hold N entries and differ in K,
//! by RFC 2334 Cache Alignment and by the reconciliation extension (docs/reconciliation.md), side
//! by side in one run.
//!
//! A (127.0.0.1) and B (127.0.0.2) are aligned while A originates N entries; the link goes down
//! (A's configuration reloaded without B); each then originates K/2 entries of its own, so that
//! the K instances differ; the link comes back (reload) and the clock runs until both hold
//! N + K. Bytes are every SCSP packet each way (Hellos included) from the reload on. The same
//! with `Reconcile on;` in both configurations (new processes).

use std::time::{Duration, Instant};

use serde_json::json;

use crate::align::{DATA_LEN, verify, wait_aligned, watch};
use crate::daemon::{self, Daemon, Node, TempDir};
use crate::{Error, emit};

/// Entries per `load` request.
const LOAD_BATCH: usize = 50_000;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Entries both hold.
    #[arg(long, default_value_t = 100_000)]
    entries: u32,
    /// Instances that differ (half held by each side alone).
    #[arg(long, default_value_t = 100)]
    diff: u32,
    /// MTU of both servers.
    #[arg(long, default_value_t = 1472)]
    mtu: u16,
}

/// One re-alignment.
struct Run {
    seconds: f64,
    bytes: u64,
    decoded: u64,
    fallbacks: u64,
}

pub fn run(a: &Args, json_out: bool) -> Result<(), Error> {
    let scspd = daemon::find_scspd()?;
    let rfc = realign(&scspd, a, false)?;
    let ext = realign(&scspd, a, true)?;
    let ratio = rfc.bytes as f64 / ext.bytes.max(1) as f64;
    let line = format!(
        "realign entries={} diff={} mtu={} rfc_s={:.3} rfc_bytes={} ext_s={:.3} ext_bytes={} \
         bytes_ratio={ratio:.1}",
        a.entries, a.diff, a.mtu, rfc.seconds, rfc.bytes, ext.seconds, ext.bytes
    );
    eprintln!(
        "  reconciliations: decoded={} fallbacks={} (both ends counted)",
        ext.decoded, ext.fallbacks
    );
    let value = json!({
        "case": "realign",
        "entries": a.entries,
        "diff": a.diff,
        "mtu": a.mtu,
        "rfc_s": rfc.seconds,
        "rfc_bytes": rfc.bytes,
        "ext_s": ext.seconds,
        "ext_bytes": ext.bytes,
        "bytes_ratio": ratio,
        "ext_decoded": ext.decoded,
        "ext_fallbacks": ext.fallbacks,
    });
    emit(json_out, &line, &value);
    Ok(())
}

fn config(me: Node, dcs: &[Node], mtu: u16, reconcile: bool) -> String {
    let s = daemon::config(me, dcs, 65000, mtu);
    if reconcile {
        s.replacen("ServerGroupID 7;", "ServerGroupID 7; Reconcile on;", 1)
    } else {
        s
    }
}

/// The reconciliation counters of every DCS of the daemon behind `c`, summed.
fn recon_counts(c: &mut scsp_client::client::Client) -> Result<(u64, u64), Error> {
    let v = daemon::dcs(c)?;
    let get = |k: &str| -> u64 {
        v.iter()
            .map(|d| d.stats["recon"][k].as_u64().unwrap_or(0))
            .sum()
    };
    Ok((get("decoded"), get("fallbacks")))
}

fn realign(scspd: &std::path::Path, a: &Args, reconcile: bool) -> Result<Run, Error> {
    let dir = TempDir::new("realign")?;
    let (na, nb) = (Node::new(1)?, Node::new(2)?);
    let linked = config(na, &[nb], a.mtu, reconcile);
    let alone = config(na, &[], a.mtu, reconcile);
    let mut da = Daemon::spawn(scspd, dir.path(), "A", &linked)?;
    let mut ca = da.wait_ready()?;
    let mut db = Daemon::spawn(scspd, dir.path(), "B", &config(nb, &[na], a.mtu, reconcile))?;
    let mut cb = db.wait_ready()?;
    wait_aligned(&mut cb, "B to align with A (empty)")?;
    let n = u64::from(a.entries);
    daemon::load(
        &mut ca,
        daemon::generic_entries(1, 0, a.entries, DATA_LEN),
        LOAD_BATCH,
    )?;
    crate::align::cut_once_learned(&da, &mut ca, &mut cb, n, &alone)?;
    let half_a = a.diff / 2;
    let half_b = a.diff - half_a;
    daemon::load(
        &mut ca,
        daemon::generic_entries(3, 0, half_a, DATA_LEN),
        LOAD_BATCH,
    )?;
    daemon::load(
        &mut cb,
        daemon::generic_entries(4, 0, half_b, DATA_LEN),
        LOAD_BATCH,
    )?;
    let want = n + u64::from(a.diff);
    daemon::wait_for(
        "A and B to hold their own entries",
        Duration::from_secs(60),
        Duration::from_millis(5),
        || {
            Ok(daemon::entries(&mut ca)? == n + u64::from(half_a)
                && daemon::entries(&mut cb)? == n + u64::from(half_b))
        },
    )?;
    // Let both servers settle (the cells of the extension are kept in batches between packets).
    std::thread::sleep(Duration::from_millis(300));
    let b_before = daemon::sent_to(&mut cb, na.addr)?;
    let start = Instant::now();
    da.reload(&mut ca, &linked)?;
    let (seconds, _) = watch(
        start,
        &mut ca,
        &mut cb,
        want,
        Duration::from_millis(1),
        false,
    )?;
    wait_aligned(&mut cb, "B to reach Aligned")?;
    let a_to_b = daemon::sent_to(&mut ca, nb.addr)?;
    let b_to_a = daemon::sent_to(&mut cb, na.addr)?.since(b_before);
    verify(&mut ca, &mut cb, want)?;
    let (da_, fa) = recon_counts(&mut ca)?;
    let (db_, fb) = recon_counts(&mut cb)?;
    drop(da);
    drop(db);
    Ok(Run {
        seconds,
        bytes: a_to_b.bytes + b_to_a.bytes,
        decoded: da_ + db_,
        fallbacks: fa + fb,
    })
}
