//! The lab's workload: each server's local server, changing its table (through scspd, or on its
//! own while its server is down) and handing it over after a restart, and its notifications.

use std::collections::{HashMap, HashSet};
use std::net::Shutdown;
use std::os::unix::net::UnixStream;
use std::thread::JoinHandle;
use std::time::Instant;

use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use scsp_client::client::Client;
use scsp_client::proto::{KeyData, Notify, Request, Response};

use super::oracle::*;
use crate::Error;
use crate::daemon::{Daemon, SERVER};

/// Bytes of data per entry.
const DATA_LEN: usize = 40;

/// A server's local server, attached, reading its notifications until shut down.
pub(super) struct Listener {
    /// When it attached, and the keys the cache held then.
    pub(super) attached: Instant,
    pub(super) held: HashSet<String>,
    pub(super) shut: UnixStream,
    pub(super) thread: JoinHandle<Result<SeenLog, String>>,
}

impl Listener {
    pub(super) fn start(d: &Daemon) -> Result<Listener, Error> {
        let mut c = d.connect()?;
        let held = match c.request(Request::Attach {
            server: SERVER.into(),
            confirm: false,
        }) {
            Ok(Response::Attached { entries, .. }) => entries,
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

    pub(super) fn stop(self) -> Result<SeenLog, Error> {
        let _ = self.shut.shutdown(Shutdown::Both);
        self.thread
            .join()
            .map_err(|_| Error::Setup("listener thread panicked".into()))?
            .map_err(Error::Daemon)
    }
}

pub(super) fn listen(mut c: Client, name: &str, mut log: SeenLog) -> Result<SeenLog, String> {
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

pub(super) fn entry(tag: usize, i: u32, version: u32) -> (String, String) {
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
pub(super) struct Workload {
    pub(super) truth: Truth,
    pub(super) changes: Vec<Change>,
    pub(super) own: Vec<Vec<String>>,
    pub(super) next_key: Vec<u32>,
    pub(super) version: u32,
    pub(super) rng: ChaCha8Rng,
    /// The server is down: its local server changes its table only.
    pub(super) offline: Vec<bool>,
    /// Keys a local server changed while its server was down.
    pub(super) changed_offline: Vec<HashSet<String>>,
    /// Entries handed over unchanged, with their number from before the kill.
    pub(super) watch: Vec<(String, u32)>,
    /// Entries handed over.
    pub(super) handed_over: u64,
}

/// What a handover after a restart did.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub(super) struct HandoverTally {
    /// Entries handed over.
    pub(super) entries: u64,
    /// Of those unchanged while the server was down, how many got another sequence number.
    pub(super) renumbered: u64,
    /// Unchanged entries.
    pub(super) unchanged: u64,
    /// Up to ten renumbered entries: key, number before, number after.
    pub(super) examples: Vec<String>,
}

impl Workload {
    pub(super) fn new(n: usize, seed: u64) -> Workload {
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
    pub(super) fn handover(&mut self, c: &mut Client, s: usize) -> Result<(), Error> {
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
    pub(super) fn settle(&mut self, seqs: &HashMap<String, u32>) -> HandoverTally {
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

    pub(super) fn add(
        &mut self,
        c: &mut Client,
        s: usize,
        key: String,
        data: String,
    ) -> Result<(), Error> {
        let at = Instant::now();
        // Changed after its handover: a new number is no renumbering.
        self.watch.retain(|(k, _)| *k != key);
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

    /// Server `s`'s local server adds `n` new entries in one `load`; their numbers are read
    /// back from the cache. (Before a kill: some may never leave the server; each counts as
    /// reached with the instance its originator holds at the end, as a handed-over change.)
    pub(super) fn burst(&mut self, c: &mut Client, s: usize, n: u32) -> Result<(), Error> {
        let at = Instant::now();
        let mut entries = Vec::with_capacity(n as usize);
        for _ in 0..n {
            let i = self.next_key[s];
            self.next_key[s] += 1;
            self.version += 1;
            let (key, data) = entry(s, i, self.version);
            entries.push(KeyData {
                key,
                data,
                seq: None,
            });
        }
        match c.request(Request::Load {
            server: SERVER.into(),
            entries: entries.clone(),
        }) {
            Ok(Response::Loaded { errors, .. }) if errors.is_empty() => {}
            Ok(other) => return Err(Error::Daemon(format!("burst: {other:?}"))),
            Err(e) => return Err(Error::Daemon(format!("burst: {e}"))),
        }
        let held: HashMap<String, u32> = match c.request(Request::ShowCache {
            server: SERVER.into(),
            query: Default::default(),
        }) {
            Ok(Response::Cache { entries, .. }) => {
                entries.into_iter().map(|e| (e.key, e.seq)).collect()
            }
            Ok(other) => return Err(Error::Daemon(format!("burst: {other:?}"))),
            Err(e) => return Err(Error::Daemon(format!("burst: {e}"))),
        };
        for e in entries {
            let seq = held.get(&e.key).copied().unwrap_or(0);
            self.truth.insert(e.key.clone(), (s, seq, e.data));
            self.own[s].push(e.key.clone());
            self.changes.push(Change {
                at,
                origin: s,
                key: e.key,
                seq: Some(seq),
                pending: false,
                handed: true,
            });
        }
        Ok(())
    }

    pub(super) fn new_entry(&mut self, c: &mut Client, s: usize) -> Result<(), Error> {
        let i = self.next_key[s];
        self.next_key[s] += 1;
        self.version += 1;
        let (key, data) = entry(s, i, self.version);
        self.add(c, s, key, data)
    }

    /// One random change at server `s`: a third each of adds, updates and deletes (an add when
    /// it holds nothing).
    pub(super) fn change(&mut self, c: &mut Client, s: usize) -> Result<(), Error> {
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
        self.watch.retain(|(k, _)| *k != key);
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
