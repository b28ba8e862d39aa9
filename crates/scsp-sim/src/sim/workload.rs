//! The workload: entries originated, updated and withdrawn by each server's application.

use super::*;

impl Sim<'_> {
    // ----- workload --------------------------------------------------------------------------

    pub(super) fn originate(&mut self, node: usize, key: Vec<u8>, data: Data) {
        self.app_changed(node, &key);
        if self.nodes[node]
            .app
            .insert(key.clone(), Some(data.clone()))
            .flatten()
            .is_none()
        {
            self.app_live += 1;
        }
        if self.app_only(node) {
            // An application that numbers its entries numbers a change on from the last one.
            if let Some(s) = self.nodes[node].app_seq.get_mut(&key)
                && let scsp_core::seq::NextSeq::Next(n) = scsp_core::seq::next_csa(*s, 1)
            {
                *s = n;
            }
            self.log(format!(
                "app s{node}: originate {} (server not back)",
                hex(&key)
            ));
            return;
        }
        // The application numbers on from what it knew of the entry before its server lost its
        // state, when the server itself knows nothing of it.
        let known = self.nodes[node].app_seq.get(&key).copied();
        let r = self.call(node, |s, now| {
            let lsid = s.config().lsid.clone();
            let id = scsp_core::wire::RecordId {
                key: scsp_core::wire::Id::new(&key).expect("sim keys are short"),
                origin: lsid,
            };
            match known {
                Some(k) if s.cache().get(&id).is_none() => match scsp_core::seq::next_csa(k, 1) {
                    scsp_core::seq::NextSeq::Next(n) => s.originate_numbered(now, &key, data, n),
                    scsp_core::seq::NextSeq::Wrap => s.originate(now, &key, data),
                },
                _ => s.originate(now, &key, data),
            }
        });
        match r {
            Some(Ok(seq)) => {
                self.log(format!(
                    "app s{node}: originate {} -> seq {seq:#x}",
                    hex(&key)
                ));
            }
            Some(Err(e)) => self.fail(format!(
                "server {node} refused to originate {}: {e}",
                hex(&key)
            )),
            None => {}
        }
    }

    /// The application at `node` changes only its own record: its server is down after losing
    /// its state, or back without having been handed the cache yet.
    pub(super) fn app_only(&self, node: usize) -> bool {
        let n = &self.nodes[node];
        n.server.is_none() || n.awaiting_handover
    }

    pub(super) fn new_entry(&mut self, node: usize, key: Vec<u8>) {
        self.res.originated += 1;
        let data = Self::random_data(&mut self.rng);
        self.originate(node, key, data);
    }

    pub(super) fn update(&mut self) {
        let cands: Vec<(usize, Vec<u8>)> = self
            .nodes
            .iter()
            .enumerate()
            .flat_map(|(i, n)| n.app.keys().map(move |k| (i, k.clone())))
            .collect();
        if cands.is_empty() {
            return;
        }
        let (node, key) = cands[self.rng.random_range(0..cands.len())].clone();
        self.res.updated += 1;
        let data = Self::random_data(&mut self.rng);
        self.originate(node, key, data);
    }

    pub(super) fn withdraw(&mut self) {
        let cands: Vec<(usize, Vec<u8>)> = self
            .nodes
            .iter()
            .enumerate()
            .flat_map(|(i, n)| {
                n.app
                    .iter()
                    .filter(|(_, v)| v.is_some())
                    .map(move |(k, _)| (i, k.clone()))
            })
            .collect();
        if cands.is_empty() {
            return;
        }
        let (node, key) = cands[self.rng.random_range(0..cands.len())].clone();
        self.res.withdrawn += 1;
        self.app_changed(node, &key);
        if self.nodes[node]
            .app
            .insert(key.clone(), None)
            .flatten()
            .is_some()
        {
            self.app_live -= 1;
        }
        if self.app_only(node) {
            self.nodes[node].app_seq.remove(&key);
            self.log(format!(
                "app s{node}: withdraw {} (server not back)",
                hex(&key)
            ));
            return;
        }
        // An application that numbers its entries forgets the number of one it withdraws (as
        // at a restart: only live entries' numbers are known): numbering it on from a stale one
        // later would reuse the number of the withdrawal.
        self.nodes[node].app_seq.remove(&key);
        let r = self.call(node, |s, now| s.withdraw(now, &key));
        match r {
            Some(Ok(())) => self.log(format!("app s{node}: withdraw {}", hex(&key))),
            Some(Err(e)) => self.fail(format!(
                "server {node} refused to withdraw {}: {e}",
                hex(&key)
            )),
            None => {}
        }
    }
}
