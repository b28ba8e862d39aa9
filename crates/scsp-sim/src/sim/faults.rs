//! Faults: partitions, restarts (with state kept, lost or saved), the handovers after them.

use super::*;

impl Sim<'_> {
    // ----- faults ----------------------------------------------------------------------------

    pub(super) fn partition_start(&mut self, i: usize) {
        let links = self.partitions[i].links.clone();
        let notify = self.partitions[i].notify;
        self.partitions[i].active = true;
        self.res.partitions += 1;
        self.log(format!("partition {i} starts"));
        for l in links {
            self.links[l].cut += 1;
            if notify {
                let (a, b) = (self.links[l].a, self.links[l].b);
                self.hold(a, b);
                self.hold(b, a);
            }
        }
    }

    pub(super) fn partition_end(&mut self, i: usize) {
        if !self.partitions[i].active {
            return;
        }
        self.partitions[i].active = false;
        let links = self.partitions[i].links.clone();
        let notify = self.partitions[i].notify;
        self.log(format!("partition {i} heals"));
        for l in links {
            self.links[l].cut -= 1;
            if notify {
                let (a, b) = (self.links[l].a, self.links[l].b);
                self.release(a, b);
                self.release(b, a);
            }
        }
    }

    pub(super) fn restart_start(&mut self, i: usize) {
        let node = self.restarts[i].node;
        if !self.nodes[node].reachable {
            // Already restarting.
            self.restarts[i].skipped = true;
            self.log(format!(
                "restart {i}: server {node} is already restarting; skipped"
            ));
            return;
        }
        let (kind, notify) = (self.restarts[i].kind, self.restarts[i].notify_neighbours);
        self.restarts[i].active = true;
        self.res.restarts += 1;
        self.log(format!(
            "restart {i}: server {node} goes down ({})",
            kind.name()
        ));
        let nd = &mut self.nodes[node];
        nd.reachable = false;
        nd.down_until = self.restarts[i].end;
        let nbs = self.neighbours(node);
        if notify {
            for &nb in &nbs {
                self.hold(nb, node);
            }
        }
        if kind != RestartKind::Kept {
            self.count_renumbered(node);
            self.crash(node, kind == RestartKind::Saved);
            if kind == RestartKind::Fresh {
                self.res.fresh_restarts += 1;
            } else {
                self.res.saved_restarts += 1;
                self.watch_unchanged(node);
            }
            let nd = &mut self.nodes[node];
            // What the application knows of its entries' numbers survives its server.
            if let Some(s) = &nd.server {
                let lsid = s.config().lsid.clone();
                for (id, e) in s.cache().iter() {
                    // (A live entry's number: a deleted entry's is forgotten with the entry.)
                    if id.origin == lsid && e.owned() && !e.deleted() {
                        nd.app_seq.insert(id.key.as_bytes().to_vec(), e.seq);
                    }
                }
            }
            nd.server = None;
            nd.awaiting_handover = true;
            nd.dcs.clear();
            nd.by_dcs.clear();
            nd.timer_at = None;
            nd.timer_gen += 1;
        } else {
            for &nb in &nbs {
                self.hold(node, nb);
            }
        }
    }

    pub(super) fn restart_end(&mut self, i: usize) {
        if !self.restarts[i].active {
            return;
        }
        self.restarts[i].active = false;
        let node = self.restarts[i].node;
        let (kind, notify) = (self.restarts[i].kind, self.restarts[i].notify_neighbours);
        self.log(format!("restart {i}: server {node} comes back"));
        self.nodes[node].reachable = true;
        let nbs = self.neighbours(node);
        if kind != RestartKind::Kept {
            self.make_server(node, kind == RestartKind::Saved);
            // After a fresh restart the application hands its entries over with the numbers it
            // knows (only they keep the server from reusing one); after a saved one, with or
            // without them (the server numbers from what it saved).
            self.nodes[node].numbered_handover =
                kind == RestartKind::Fresh || self.rng.random_bool(0.5);
            // The application hands its entries over again (it keeps its own record): at once,
            // before the server hears any DCS; during the realignment; or seconds later, after
            // its old entries came back from the DCSs.
            let when = match self.rng.random_range(0..3u8) {
                0 => None,
                1 => Some(Duration::from_millis(self.rng.random_range(0..1000))),
                _ => Some(Duration::from_millis(self.rng.random_range(1000..10_000))),
            };
            match when {
                None => self.handover(node),
                Some(d) => {
                    let incarnation = self.nodes[node].incarnation;
                    self.push(self.now + d, Ev::Handover { node, incarnation });
                }
            }
            for &nb in &nbs {
                if !self.held(node, nb)
                    && let Some(&id) = self.nodes[node].dcs.get(&nb)
                {
                    self.call(node, |s, now| s.link_up(now, id));
                }
            }
        } else {
            for &nb in &nbs {
                self.release(node, nb);
            }
        }
        if notify {
            for &nb in &nbs {
                self.release(nb, node);
            }
        }
    }

    /// The application hands its whole cache over to its restarted server.
    pub(super) fn handover(&mut self, node: usize) {
        let nd = &mut self.nodes[node];
        if !nd.awaiting_handover || nd.server.is_none() {
            return;
        }
        nd.awaiting_handover = false;
        let nd = &self.nodes[node];
        let numbered = nd.numbered_handover;
        let entries: Vec<(Vec<u8>, Data, Option<u32>)> = nd
            .app
            .iter()
            .filter_map(|(k, v)| {
                v.as_ref().map(|d| {
                    let seq = if numbered {
                        nd.app_seq.get(k).copied()
                    } else {
                        None
                    };
                    (k.clone(), d.clone(), seq)
                })
            })
            .collect();
        self.log(format!(
            "app s{node}: handover of {} entries{}",
            entries.len(),
            if numbered { "" } else { " without numbers" }
        ));
        let errors = self
            .call(node, |s, now| s.replace_local_cache_numbered(now, entries))
            .unwrap_or_default();
        for (key, e) in errors {
            self.fail(format!(
                "server {node} refused entry {} on restart: {e}",
                hex(&key)
            ));
        }
    }

    pub(super) fn faults_end(&mut self) {
        self.log("fault phase over: partitions healed, servers up, network without faults".into());
        for i in 0..self.partitions.len() {
            self.partition_end(i);
        }
        for i in 0..self.restarts.len() {
            self.restart_end(i);
        }
        self.faulty = false;
        self.push(self.now, Ev::Check);
    }
}
