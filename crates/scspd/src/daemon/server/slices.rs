//! `load` and `handover` applied in slices: a big request is queued and [`LOAD_SLICE`] of its
//! entries are originated per turn of the task, between datagrams, timers and other commands,
//! so that Hellos go out on time however large the request. A handover withdraws what its list
//! omits at the end, in slices too.

use std::collections::HashSet;

use super::*;

/// Entries originated (or withdrawn) per turn.
pub const LOAD_SLICE: usize = 2048;
/// Refusals reported by one request at most (a line says how many more there were).
const ERRORS_MAX: usize = 1000;

/// A `load` or `handover` being applied.
pub(super) struct LoadJob {
    /// Not the attached client: the local rules apply.
    via_rules: bool,
    handover: bool,
    entries: std::vec::IntoIter<(Vec<u8>, Vec<u8>, Option<u32>)>,
    total: u64,
    refused: u64,
    errors: Vec<String>,
    /// Handover: the keys originated so far.
    keep: HashSet<Vec<u8>>,
    /// Handover, once every entry is originated: the entries to withdraw.
    stale: Option<std::vec::IntoIter<Vec<u8>>>,
    reply: oneshot::Sender<(u64, Vec<String>)>,
}

impl LoadJob {
    pub(super) fn new(
        via_rules: bool,
        handover: bool,
        entries: RawEntries,
        reply: oneshot::Sender<(u64, Vec<String>)>,
    ) -> LoadJob {
        LoadJob {
            via_rules,
            handover,
            total: entries.len() as u64,
            entries: entries.into_iter(),
            refused: 0,
            errors: Vec::new(),
            keep: HashSet::new(),
            stale: None,
            reply,
        }
    }
}

impl Task {
    /// Queue a `load` or `handover`; its first slice is applied now.
    pub(super) fn queue_load(&mut self, job: LoadJob) {
        self.loads.push_back(job);
        if self.loads.len() == 1 {
            self.load_step();
        }
    }

    /// Whether a load waits for its next slice.
    pub(super) fn loading(&self) -> bool {
        !self.loads.is_empty()
    }

    /// Apply one slice of the first queued load; answer it when it is done (at once when its
    /// last slice was applied: a load of one slice is answered in the turn it came).
    pub(super) fn load_step(&mut self) {
        let now = self.now();
        let Some(job) = self.loads.front_mut() else {
            return;
        };
        let slice: RawEntries = job.entries.by_ref().take(LOAD_SLICE).collect();
        if !slice.is_empty() {
            // (A load from the attached client, like a handover, is taken as given.)
            let errors = if job.handover || !job.via_rules {
                if job.handover {
                    for (k, _, _) in &slice {
                        job.keep.insert(k.clone());
                    }
                }
                self.profile
                    .handover_slice(&mut self.server, now, slice, job.via_rules)
            } else {
                self.profile
                    .load(&mut self.server, now, slice, false, job.via_rules)
            };
            for (k, e) in errors {
                job.keep.remove(&k);
                job.refused += 1;
                if job.errors.len() < ERRORS_MAX {
                    job.errors.push(format!("key {}: {e}", hex::encode(k)));
                }
            }
            if job.entries.len() > 0 || job.handover {
                return;
            }
        }
        if job.handover {
            let stale = match &mut job.stale {
                Some(s) => s,
                None => {
                    // Every listed entry is held now: as `replace_local_cache` does, from now on
                    // an entry carrying our ID that is not held is flushed from the group. (Not
                    // before: one of ours coming back from a DCS between two slices, listed in a
                    // later one, would be flushed and then numbered anew.)
                    self.server.set_authoritative(true);
                    let keep = std::mem::take(&mut job.keep);
                    let stale = super::super::profiles::stale_own_keys(&self.server, &keep);
                    job.stale.insert(stale.into_iter())
                }
            };
            let slice: Vec<Vec<u8>> = stale.by_ref().take(LOAD_SLICE).collect();
            if !slice.is_empty() {
                for key in slice {
                    self.profile.withdraw_stale(&mut self.server, now, &key);
                }
                return;
            }
        }
        let Some(job) = self.loads.pop_front() else {
            return;
        };
        let mut errors = job.errors;
        if job.refused > errors.len() as u64 {
            errors.push(format!(
                "and {} more entries refused",
                job.refused - errors.len() as u64
            ));
        }
        let _ = job.reply.send((job.total - job.refused, errors));
    }
}
