//! `scsp-bench memory`: resident memory (VmRSS) of a daemon before and after holding N entries,
//! on both sides: the originating server (entries loaded through its socket) and a server that
//! learned them by Cache Alignment.

use std::time::Duration;

use serde_json::json;

use crate::align::DATA_LEN;
use crate::daemon::{self, Daemon, Node, TempDir};
use crate::{Error, emit, verdict};

/// Entries per `load` request.
const LOAD_BATCH: usize = 20_000;
/// Target: bytes per entry at 1,000,000 entries.
const TARGET: f64 = 200.0;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Entries.
    #[arg(long, default_value_t = 1_000_000)]
    entries: u32,
    /// MTU of both servers.
    #[arg(long, default_value_t = 65000)]
    mtu: u16,
}

pub fn run(a: &Args, json_out: bool) -> Result<(), Error> {
    let scspd = daemon::find_scspd()?;
    let dir = TempDir::new("memory")?;
    let (na, nb) = (Node::new(1)?, Node::new(2)?);
    let n = u64::from(a.entries);
    // A alone: B is not configured yet, so nothing is sent while it loads.
    let alone = daemon::config(na, &[], 65000, a.mtu);
    let mut da = Daemon::spawn(&scspd, dir.path(), "A", &alone)?;
    let mut ca = da.wait_ready()?;
    std::thread::sleep(Duration::from_millis(200));
    let a0 = da.rss()?;
    daemon::load(
        &mut ca,
        daemon::generic_entries(1, 0, a.entries, DATA_LEN),
        LOAD_BATCH,
    )?;
    std::thread::sleep(Duration::from_millis(300));
    let a1 = da.rss()?;
    // B, configured with A, idle until A adds it: then it learns the N entries.
    let mut db = Daemon::spawn_node(&scspd, dir.path(), "B", nb, &[na], 65000, a.mtu)?;
    let mut cb = db.wait_ready()?;
    std::thread::sleep(Duration::from_millis(200));
    let b0 = db.rss()?;
    da.reload(&mut ca, &daemon::config(na, &[nb], 65000, a.mtu))?;
    daemon::wait_for(
        "B to learn every entry",
        Duration::from_secs(600),
        Duration::from_millis(10),
        || Ok(daemon::entries(&mut cb)? >= n),
    )?;
    daemon::wait_for(
        "B to reach Aligned",
        Duration::from_secs(60),
        Duration::from_millis(10),
        || {
            Ok(daemon::dcs(&mut cb)?
                .iter()
                .all(|d| d.ca == "Aligned" && d.rexmit_queue == 0))
        },
    )?;
    std::thread::sleep(Duration::from_millis(300));
    let b1 = db.rss()?;
    let a2 = da.rss()?;
    let per = |before: u64, after: u64| after.saturating_sub(before) as f64 / n as f64;
    let (pa, pb) = (per(a0, a1), per(b0, b1));
    let worst = pa.max(pb);
    let target = (a.entries == 1_000_000).then_some(worst <= TARGET);
    let mib = |b: u64| b as f64 / (1 << 20) as f64;
    let mut line = format!(
        "memory entries={} origin: {:.1}->{:.1}MiB {pa:.0}B/entry learned: {:.1}->{:.1}MiB \
         {pb:.0}B/entry (origin after the alignment {:.1}MiB)",
        a.entries,
        mib(a0),
        mib(a1),
        mib(b0),
        mib(b1),
        mib(a2)
    );
    if let Some(ok) = target {
        line += &format!(" target[<=200B/entry]={}", verdict(ok));
    }
    let value = json!({
        "case": "memory",
        "entries": a.entries,
        "origin_rss_before": a0,
        "origin_rss_after": a1,
        "origin_rss_after_alignment": a2,
        "origin_bytes_per_entry": pa,
        "learned_rss_before": b0,
        "learned_rss_after": b1,
        "learned_bytes_per_entry": pb,
        "target": "<=200B/entry at 1000000",
        "pass": target,
    });
    emit(json_out, &line, &value);
    drop(db);
    drop(da);
    Ok(())
}
