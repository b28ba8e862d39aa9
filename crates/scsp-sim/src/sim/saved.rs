//! Saved state: each server's disk as scspd keeps it (entries committed by a writer that
//! coalesces changes, so that the disk lags the cache; a "reserved" sequence number written at
//! once), and the checks that watch every change: one number never carries two data, nothing
//! withdrawn comes back after convergence, unchanged entries keep their numbers across a saved
//! restart.

use super::*;

/// How far above the highest number of ours held the reserved number is written: the daemon
/// writes a new reserved number only once in this many numbers.
pub(super) const RESERVE_CHUNK: u32 = 1024;

impl Sim<'_> {
    /// Take the entries `node`'s server changed since the last look: each is to be committed at
    /// the writer's next commit, and each is checked.
    pub(super) fn collect_changes(&mut self, node: usize) {
        let Some(server) = self.nodes[node].server.as_mut() else {
            return;
        };
        let mut changed = server.take_changes();
        if changed.is_empty() {
            return;
        }
        changed.sort_unstable();
        changed.dedup();
        let lsid = self.nodes[node].lsid.clone();
        for id in changed {
            let saved = self.nodes[node].server.as_ref().and_then(|s| s.saved(&id));
            self.nodes[node].pending.insert(id.clone());
            let Some(e) = saved else { continue };
            if id.origin == lsid {
                self.reserve(node, e.seq);
            }
            self.check_instance(node, &e);
            if !e.deleted && self.ever_converged {
                self.check_resurrection(node, &id, e.seq);
            }
        }
    }

    /// The daemon writes the reserved number, durably and at once, before it sends a number of
    /// ours at or above it.
    fn reserve(&mut self, node: usize, seq: u32) {
        if seq == wire::SEQ_PURGE {
            return;
        }
        let nd = &mut self.nodes[node];
        if nd.reserved.is_some_and(|r| scsp_core::seq::newer(r, seq)) {
            return;
        }
        let next = (i64::from(seq as i32) + i64::from(RESERVE_CHUNK))
            .min(i64::from(wire::SEQ_LAST as i32)) as i32 as u32;
        nd.reserved = Some(next);
    }

    /// The writer commits the changes taken since its last commit (the state of each entry now),
    /// and draws when it commits next.
    pub(super) fn commit(&mut self, node: usize) {
        let (lo, hi) = self.cfg.commit_ms;
        let next = self.now + Duration::from_millis(self.disk_rng.random_range(lo..=hi));
        let nd = &mut self.nodes[node];
        nd.next_commit = next;
        let Some(s) = &nd.server else {
            return;
        };
        for id in std::mem::take(&mut nd.pending) {
            match s.saved(&id) {
                Some(e) => {
                    nd.disk.insert(id, e);
                }
                None => {
                    nd.disk.remove(&id);
                }
            }
        }
    }

    /// The process of `node` dies: a commit due since its last event happened; the changes
    /// after it are lost. `keep_disk` false: the disk is lost too (a fresh restart).
    pub(super) fn crash(&mut self, node: usize, keep_disk: bool) {
        if self.now >= self.nodes[node].next_commit {
            self.commit(node);
        }
        let nd = &mut self.nodes[node];
        let lost = nd.pending.len();
        nd.pending.clear();
        if !keep_disk {
            nd.disk.clear();
            nd.reserved = None;
            nd.lost_state = true;
        }
        if keep_disk {
            let (held, reserved) = (nd.disk.len(), nd.reserved);
            self.log(format!(
                "server {node}: disk holds {held} entries, reserved {}; {lost} changes not committed, lost",
                reserved.map_or_else(|| "none".into(), |r| format!("{r:#x}"))
            ));
        }
    }

    /// Every instance held anywhere is recorded under (entry, number): another instance with other
    /// data under the same pair is two data under one number.
    fn check_instance(&mut self, node: usize, e: &SavedEntry) {
        let key = (e.id.clone(), e.seq);
        let elsewhere = self.nodes[node].lsid != e.id.origin;
        let Some(first) = self.instances.get_mut(&key) else {
            self.instances.insert(key, (e.data.clone(), elsewhere));
            return;
        };
        if first.0 == e.data {
            first.1 |= elsewhere;
            return;
        }
        let origin = self.nodes.iter().position(|n| n.lsid == e.id.origin);
        let what = format!(
            "server {node} holds {} at seq {:#x} with other data than an earlier instance under that number",
            show_entry(&e.id, origin.unwrap_or(usize::MAX)),
            e.seq
        );
        // Keep the latest data, so that each further holder of it is not counted again.
        self.instances.insert(key, (e.data.clone(), elsewhere));
        // B.2.0.2: only an originator that lost its state can give one number twice (the CSA
        // path then resolves it: docs/rfc2334-readings.md, "equal numbers"). An originator
        // that never lost it numbers after a restart from what it saved and from its reserved
        // number, above everything it ever sent: two data under one number are then a bug.
        if origin.is_some_and(|o| self.nodes[o].lost_state) {
            self.res.seq_conflicts += 1;
            self.log(format!("{what} (originator lost its state)"));
        } else {
            self.fail(what);
        }
    }

    /// After convergence, an entry that its originator's application withdrew must never be
    /// held live again.
    fn check_resurrection(&mut self, node: usize, id: &RecordId, seq: u32) {
        let Some(o) = self.nodes.iter().position(|n| n.lsid == id.origin) else {
            return;
        };
        if matches!(self.nodes[o].app.get(id.key.as_bytes()), Some(None)) {
            self.res.resurrected += 1;
            self.fail(format!(
                "server {node} holds a withdrawn entry again after convergence: key {} of server {o} seq {seq:#x}",
                hex(id.key.as_bytes())
            ));
        }
    }

    /// Remember the entries of ours live at a saved restart (called at the crash, after the last
    /// commit), to find those renumbered though the application did not change them, and whether
    /// the disk holds the instance the crash left.
    pub(super) fn watch_unchanged(&mut self, node: usize) {
        let nd = &mut self.nodes[node];
        let Some(s) = &nd.server else { return };
        for (key, v) in &nd.app {
            let Some(data) = v else { continue };
            let id = record_id(key, &nd.lsid);
            if let Some(e) = s.cache().get(&id)
                && !e.deleted()
                && e.owned()
                && e.data == *data
            {
                let committed = nd
                    .disk
                    .get(&id)
                    .is_some_and(|d| !d.deleted && d.seq == e.seq && d.data == *data);
                nd.unchanged
                    .insert(key.clone(), (e.seq, data.clone(), committed));
            }
        }
    }

    /// The application changed `key`: no longer one that must keep its number.
    pub(super) fn app_changed(&mut self, node: usize, key: &[u8]) {
        self.nodes[node].unchanged.remove(key);
    }

    /// Count the watched entries of `node` held under another number than at the restart, and
    /// stop watching them.
    pub(super) fn count_renumbered(&mut self, node: usize) {
        let watched = std::mem::take(&mut self.nodes[node].unchanged);
        let nd = &self.nodes[node];
        let Some(s) = &nd.server else { return };
        let mut lines = Vec::new();
        let mut failures = Vec::new();
        for (key, (seq, data, committed)) in watched {
            self.res.unchanged += 1;
            let id = record_id(&key, &nd.lsid);
            if let Some(e) = s.cache().get(&id)
                && !e.deleted()
                && e.data == data
                && e.seq != seq
            {
                self.res.renumbered += 1;
                let seen = self
                    .instances
                    .get(&(id.clone(), seq))
                    .is_some_and(|(d, elsewhere)| *elsewhere && *d == data);
                if !seen {
                    self.res.renumbered_unseen += 1;
                }
                let line = format!(
                    "server {node}: unchanged entry {} renumbered across a saved restart: seq {seq:#x} -> {:#x} ({}{})",
                    hex(&key),
                    e.seq,
                    if committed {
                        "committed to disk"
                    } else {
                        "its last change not committed"
                    },
                    if seen {
                        ""
                    } else {
                        ", no other server had held it"
                    }
                );
                // An instance the disk holds comes back unclaimed under its number, and a
                // handover with the same data claims it under that number, with or without
                // numbers (an application's number for it is that very one): nothing newer of
                // ours exists, since every number given after the restart is above the reserved
                // one. Only an originator that lost its state once can meet another instance
                // under that number (equal numbers, superseded above it). So renumbering a
                // committed, unchanged entry is a bug. An entry whose last change the disk lost
                // is held at an older instance with other data: a handover without numbers then
                // numbers it anew, unless a DCS showed it first.
                if committed && !nd.lost_state {
                    failures.push(line);
                } else {
                    lines.push(line);
                }
            }
        }
        for l in lines {
            self.log(l);
        }
        for f in failures {
            self.fail(f);
        }
    }
}
