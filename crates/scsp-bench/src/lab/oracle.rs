//! The lab's oracle: what each local server saw, the ground truth, the caches compared with it,
//! and the lag of every change.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use scsp_client::client::Client;
use scsp_client::proto::{EntryView, Request, Response};

use crate::Error;
use crate::daemon::SERVER;

/// One change made by a local server, as the ground truth records it.
#[derive(Debug, Clone)]
pub(super) struct Change {
    pub(super) at: Instant,
    pub(super) origin: usize,
    pub(super) key: String,
    /// The sequence number scspd gave the new instance; `None` for a deletion.
    pub(super) seq: Option<u32>,
    /// Made while the server was down, not yet handed over.
    pub(super) pending: bool,
    /// Handed over after a restart: its time is the handover's, its number the one the
    /// originator holds at the end.
    pub(super) handed: bool,
}

/// A notification seen by a server's local server, reduced to what the oracle needs.
#[derive(Debug, Clone, Copy)]
pub(super) enum Seen {
    /// Holds this instance (learned or replaced).
    Holds(u32),
    /// The entry went away.
    Removed,
}

/// What one server's local server saw: when, which key, what.
pub(super) type SeenLog = Vec<(Instant, String, Seen)>;

/// The live entries of the ground truth: key → (origin, seq, data).
pub(super) type Truth = HashMap<String, (usize, u32, String)>;

/// Every server's cache, `show cache`.
pub(super) fn caches(clients: &mut [Client]) -> Result<Vec<Vec<EntryView>>, Error> {
    clients
        .iter_mut()
        .map(|c| {
            match c.request(Request::ShowCache {
                server: SERVER.into(),
                query: Default::default(),
            }) {
                Ok(Response::Cache { mut entries, .. }) => {
                    // Sorted by key then originator (streamed in the cache's order).
                    entries.sort_by(|a, b| (&a.key, &a.originator).cmp(&(&b.key, &b.originator)));
                    Ok(entries)
                }
                Ok(other) => Err(Error::Daemon(format!("unexpected reply {other:?}"))),
                Err(e) => Err(Error::Daemon(format!("show cache: {e}"))),
            }
        })
        .collect()
}

/// The number each originator holds its own entries under: the instance every server must
/// hold (after a handover the originator numbers its entries itself).
pub(super) fn origin_seqs(caches: &[Vec<EntryView>]) -> HashMap<String, u32> {
    caches
        .iter()
        .flatten()
        .filter(|e| e.local)
        .map(|e| (e.key.clone(), e.seq))
        .collect()
}

/// How each server's cache differs from the truth (its data; the instance its originator
/// holds), summed over the servers.
pub(super) fn differences(
    clients: &mut [Client],
    ids: &[String],
    truth: &Truth,
) -> Result<Tally, Error> {
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
pub(super) struct Tally {
    /// Live in the truth, absent at a server.
    pub(super) lost: u64,
    /// Live in the truth, held in an older instance (or other data).
    pub(super) stale: u64,
    /// Deleted in the truth (or never in it), present at a server.
    pub(super) resurrected: u64,
    /// Another originator's entry under a key of the truth.
    pub(super) unknown: u64,
}

impl Tally {
    pub(super) fn clean(self) -> bool {
        self.lost == 0 && self.stale == 0 && self.resurrected == 0 && self.unknown == 0
    }
}

pub(super) fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).ceil() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// The lag of every (change, other server) pair, seconds; `f64::INFINITY` where a change never
/// reached a server. `logs[s]` is what server `s`'s local server saw.
pub(super) fn lags(changes: &[Change], logs: &[SeenLog], n: usize) -> Vec<f64> {
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

/// Poll every 100 ms until every cache is the truth or `limit` passes: the time it took, or
/// `None`.
pub(super) fn converge(
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
