//! The oracle: the checks a converged run must pass, and the fingerprint of a state.

use super::*;

impl Sim<'_> {
    // ----- checks ----------------------------------------------------------------------------

    pub(super) fn periodic_check(&mut self) {
        let ok = self.quick_ok() && self.problems().is_empty();
        if ok {
            self.ever_converged = true;
            let since = *self.converged_at.get_or_insert(self.now);
            if self.res.converge_time.is_none() {
                self.res.converge_time = Some(since.since(self.fault_end));
                self.log(format!(
                    "converged ({} after the faults)",
                    fmt_secs(since.since(self.fault_end))
                ));
            }
            if self.now >= since + self.cfg.stable_for {
                self.done = true;
                return;
            }
        } else {
            if let Some(t) = self.converged_at.take() {
                // Not a failure by itself: an after-effect of the fault phase (a dead timer
                // running out, a late packet) may take a DCS through alignment again. The
                // convergence time becomes that of the state that then holds.
                self.res.relapses += 1;
                self.res.converge_time = None;
                let what = self.problems().into_iter().next().unwrap_or_default();
                self.log(format!("no longer converged (converged since {t}): {what}"));
            }
            if self.now >= self.deadline {
                let problems = self.problems();
                self.fail_many(problems);
                self.done = true;
                return;
            }
        }
        let next = (self.now + self.cfg.check_interval).min(self.deadline.max(self.now));
        let next = if next == self.now {
            self.now + self.cfg.check_interval
        } else {
            next
        };
        self.push(next, Ev::Check);
    }

    pub(super) fn fail_many(&mut self, problems: Vec<String>) {
        if problems.is_empty() {
            self.fail(format!(
                "not converged {} after the faults",
                fmt_secs(self.cfg.max_settle)
            ));
        }
        for p in problems {
            self.fail(p);
        }
    }

    /// Cheap necessary conditions: every server up, every DCS Aligned with empty queues, and every
    /// cache holding as many live entries as the applications have.
    pub(super) fn quick_ok(&self) -> bool {
        let want = self.app_live;
        self.nodes.iter().all(|n| {
            let Some(s) = &n.server else { return false };
            s.cache().live() == want
                && n.dcs.values().all(|&id| {
                    s.dcs_info(id).is_some_and(|i| {
                        i.hello.state == HelloState::Bidirectional
                            && i.ca.state == CaState::Aligned
                            && i.retransmit_queue == 0
                            && i.csa_request_list == 0
                    })
                })
        })
    }

    /// DCSs not Bidirectional and Aligned with nothing outstanding: usually the cause of what
    /// else diverged, so they are reported first.
    pub(super) fn dcs_problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        for (i, n) in self.nodes.iter().enumerate() {
            let Some(s) = &n.server else { continue };
            if s.unknown_dcs_inputs() > 0 {
                // Every input names a DCS the server has: one that did not is a bug.
                p.push(format!(
                    "server {i}: {} inputs named a DCS it does not have",
                    s.unknown_dcs_inputs()
                ));
            }
            for (&nb, &id) in &n.dcs {
                let Some(info) = s.dcs_info(id) else { continue };
                if info.hello.state != HelloState::Bidirectional
                    || info.ca.state != CaState::Aligned
                    || info.retransmit_queue != 0
                    || info.csa_request_list != 0
                {
                    p.push(format!(
                            "server {i} dcs s{nb}: Hello {} since {}, CA {} since {}, retransmit queue {}, CSA request list {}",
                            info.hello.state.name(),
                            info.hello.since,
                            info.ca.state.name(),
                            info.ca.since,
                            info.retransmit_queue,
                            info.csa_request_list
                        ));
                }
            }
        }
        p
    }

    /// Everything that keeps the run from being converged, in a fixed order: servers that lost
    /// their own entries, then DCSs not aligned, then what each cache lacks or holds wrongly.
    pub(super) fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        // The entries the applications want, at the sequence number their originator holds.
        let mut expected: BTreeMap<RecordId, (usize, u32, Data)> = BTreeMap::new();
        for (i, n) in self.nodes.iter().enumerate() {
            let Some(s) = &n.server else {
                p.push(format!("server {i} is down"));
                continue;
            };
            for (key, v) in &n.app {
                let Some(data) = v else { continue };
                let id = record_id(key, &n.lsid);
                match s.cache().get(&id) {
                    Some(e) if !e.deleted() && e.owned() && e.data == *data => {
                        expected.insert(id, (i, e.seq, data.clone()));
                    }
                    Some(e) => p.push(format!(
                        "server {i} holds its own entry {} as {}, not the application's data",
                        hex(key),
                        describe_entry(e)
                    )),
                    None => p.push(format!("server {i} lost its own entry {}", hex(key))),
                }
            }
        }
        p.extend(self.dcs_problems());
        for (i, n) in self.nodes.iter().enumerate() {
            let Some(s) = &n.server else { continue };
            for (id, (o, seq, data)) in &expected {
                match s.cache().get(id) {
                    None => p.push(format!(
                        "server {i} lacks {} (originator seq {seq:#x})",
                        show_entry(id, *o)
                    )),
                    Some(e) if e.deleted() => p.push(format!(
                        "server {i} holds {} deleted at seq {:#x} (originator seq {seq:#x})",
                        show_entry(id, *o),
                        e.seq
                    )),
                    Some(e) if e.seq != *seq => p.push(format!(
                        "server {i} holds {} at seq {:#x}, originator at {seq:#x}",
                        show_entry(id, *o),
                        e.seq
                    )),
                    Some(e) if e.data != *data => p.push(format!(
                        "server {i} holds {} at seq {seq:#x} with other data than the originator",
                        show_entry(id, *o)
                    )),
                    Some(_) => {}
                }
            }
            if s.cache().live() != expected.len() {
                let mut extra: Vec<(RecordId, u32)> = s
                    .cache()
                    .iter()
                    .filter(|(id, e)| !e.deleted() && !expected.contains_key(*id))
                    .map(|(id, e)| (id.clone(), e.seq))
                    .collect();
                extra.sort();
                for (id, seq) in extra {
                    let origin = self.nodes.iter().position(|n| n.lsid == id.origin);
                    let state = origin.and_then(|o| self.nodes[o].app.get(id.key.as_bytes()));
                    let what = match state {
                        Some(None) => "a withdrawn entry, back",
                        Some(Some(_)) => {
                            "an entry its originator does not hold as the application wants"
                        }
                        None => "an entry no application originated",
                    };
                    let who =
                        origin.map_or_else(|| id.origin.to_string(), |o| format!("server {o}"));
                    p.push(format!(
                        "server {i} holds {what}: key {} of {who} seq {seq:#x}",
                        hex(id.key.as_bytes())
                    ));
                }
            }
        }
        p
    }

    pub(super) fn fingerprint(&self) -> u64 {
        let mut h = Fnv::default();
        for n in &self.nodes {
            let Some(s) = &n.server else {
                h.write(b"down");
                continue;
            };
            let mut entries: Vec<_> = s.cache().iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            for (id, e) in entries {
                h.write(id.key.as_bytes());
                h.write(id.origin.as_bytes());
                h.write(&e.seq.to_be_bytes());
                h.write(&[u8::from(e.deleted()), u8::from(e.owned())]);
                h.write(&e.data);
            }
            for &id in n.dcs.values() {
                if let Some(i) = s.dcs_info(id) {
                    h.write(format!("{:?}{:?}{:?}", i.hello, i.ca, i.stats).as_bytes());
                }
            }
        }
        let r = &self.res;
        for x in [
            r.packets,
            r.bytes,
            r.delivered,
            r.lost,
            r.blocked,
            r.duplicated,
            r.events,
            self.now.0,
        ] {
            h.write(&x.to_be_bytes());
        }
        h.0
    }
}
