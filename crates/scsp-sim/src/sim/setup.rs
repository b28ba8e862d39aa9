//! Setting a run up: the topology, the servers, and the fault and workload script.

use super::*;

impl Sim<'_> {
    // ----- set-up ----------------------------------------------------------------------------

    pub(super) fn neighbours(&self, node: usize) -> Vec<usize> {
        let mut v: Vec<usize> = self
            .links
            .iter()
            .filter_map(|l| {
                if l.a == node {
                    Some(l.b)
                } else if l.b == node {
                    Some(l.a)
                } else {
                    None
                }
            })
            .collect();
        v.sort_unstable();
        v
    }

    /// A new server for `node`, with a DCS per neighbour (links still Down): fresh, or (with
    /// `restore`) holding again what its disk holds, numbering above its reserved number.
    pub(super) fn make_server(&mut self, node: usize, restore: bool) {
        let mut cfg = ServerConfig::new(
            self.cfg.protocol_id,
            self.cfg.sgid,
            self.nodes[node].lsid.clone(),
        );
        cfg.max_packet = self.cfg.mtu;
        if let Some(h) = self.cfg.stray_deletion_hold {
            cfg.stray_deletion_hold = h;
        }
        // Reconciliation: per server, the same in every incarnation; its key per incarnation.
        let draw = mix(self.seed, node as u64, 0x0052_4543_4f4e);
        let unit = (draw >> 11) as f64 / (1u64 << 53) as f64;
        cfg.reconcile = unit < self.cfg.recon_fraction;
        if let Some(cells) = self.cfg.recon_cells {
            cfg.recon_cells = cells;
        }
        let key = mix(
            self.seed,
            node as u64 ^ 0x004b_4559,
            self.nodes[node].incarnation,
        );
        cfg.recon_key[..8].copy_from_slice(&key.to_le_bytes());
        cfg.recon_key[8..].copy_from_slice(&mix(key, 1, 2).to_le_bytes());
        // The core's tables iterate in an order set by their hash seed: drawn from the run's seed,
        // so that a seed repeats exactly and different seeds see different orders.
        self.nodes[node].incarnation += 1;
        cfg.hash_seed = mix(self.seed, node as u64, self.nodes[node].incarnation);
        // As scspd does with the wall clock: each incarnation numbers above the earlier ones'
        // instances (here from the virtual time in milliseconds).
        cfg.seq_floor = self.now.as_millis() as u32;
        // With its state saved, also from the reserved number on disk, above every number the
        // earlier incarnations sent (as scspd does).
        if restore
            && let Some(r) = self.nodes[node].reserved
            && scsp_core::seq::newer(r, cfg.seq_floor)
        {
            cfg.seq_floor = r;
        }
        let floor = cfg.seq_floor;
        let mut server = Server::new(cfg);
        // Every change is watched (the disk's writer and the oracle's checks).
        server.set_track_changes(true);
        if restore {
            let r = server.restore(self.now, self.nodes[node].disk.values().cloned());
            self.log(format!(
                "server {node} restored: {} entries ({} ours, {} deleted, {} refused), seq floor {floor:#x}",
                r.entries, r.ours, r.deleted, r.refused
            ));
            if r.refused > 0 {
                self.fail(format!(
                    "server {node} refused {} of the entries it saved",
                    r.refused
                ));
            }
        }
        server.set_trace_messages(self.level >= 2);
        server.set_pipelined(self.now, self.cfg.pipelined);
        let mut dcs = BTreeMap::new();
        let mut by_dcs = BTreeMap::new();
        for nb in self.neighbours(node) {
            let id = server.add_dcs(self.now, self.cfg.dcs_config(self.nodes[nb].lsid.clone()));
            dcs.insert(nb, id);
            by_dcs.insert(id, nb);
        }
        let nd = &mut self.nodes[node];
        nd.server = Some(server);
        nd.dcs = dcs;
        nd.by_dcs = by_dcs;
        nd.timer_at = None;
        nd.timer_gen += 1;
        self.collect_changes(node);
    }

    pub(super) fn random_data(rng: &mut ChaCha8Rng) -> Data {
        let len = rng.random_range(8..=40);
        let bytes: Vec<u8> = (0..len).map(|_| rng.random()).collect();
        Data::from(bytes)
    }

    pub(super) fn at(&self, frac: f64) -> Time {
        Time(((self.cfg.fault_phase.as_millis() as f64) * frac) as u64)
    }

    /// Build the servers and draw the whole script of the run.
    pub(super) fn script(&mut self, script: &mut ChaCha8Rng) {
        let n = self.cfg.servers;
        for i in 0..n {
            self.make_server(i, false);
        }
        if self.out.is_some() {
            let edges: Vec<String> = self
                .links
                .iter()
                .map(|l| format!("{}-{}", l.a, l.b))
                .collect();
            let line = format!(
                "seed {}: {} servers, {:?} topology, links {}",
                self.seed,
                n,
                self.cfg.topology,
                edges.join(" ")
            );
            self.log(line);
        }

        // Entries preloaded at server 0 before any link comes up.
        for i in 0..self.cfg.preload {
            let key = (i as u32).to_be_bytes().to_vec();
            let data = Self::random_data(script);
            self.originate(0, key, data);
        }

        // Every link comes up at the start.
        for node in 0..n {
            let dcs: Vec<DcsId> = self.nodes[node].dcs.values().copied().collect();
            for id in dcs {
                self.call(node, |s, now| s.link_up(now, id));
            }
        }

        // Workload over the first 90% of the fault phase.
        if n > 0 {
            let e = self.cfg.entries;
            let mut used: BTreeMap<usize, std::collections::BTreeSet<u32>> = BTreeMap::new();
            for i in 0..e {
                let node = script.random_range(0..n);
                let set = used.entry(node).or_default();
                // Keys drawn from 0..E, so that different servers often use the same key.
                let mut k = script.random_range(0..e as u32);
                let mut tries = 0;
                while set.contains(&k) && tries < 64 {
                    k = script.random_range(0..e as u32);
                    tries += 1;
                }
                if set.contains(&k) {
                    k = (e + i) as u32;
                }
                set.insert(k);
                let t = script.random_range(0..=self.at(0.9).0);
                self.push(
                    Time(t),
                    Ev::NewEntry {
                        node,
                        key: k.to_be_bytes().to_vec(),
                    },
                );
            }
            let updates = (e as f64 * self.cfg.update_fraction).round() as usize;
            for _ in 0..updates {
                let t = script.random_range(0..=self.at(0.9).0);
                self.push(Time(t), Ev::Update);
            }
            let withdrawals = (e as f64 * self.cfg.withdraw_fraction).round() as usize;
            for _ in 0..withdrawals {
                let t = script.random_range(0..=self.at(0.9).0);
                self.push(Time(t), Ev::Withdraw);
            }
        }

        // Partitions: a random set of links, or every link between two random groups.
        let fault_ms = self.cfg.fault_phase.as_millis() as u64;
        for i in 0..self.cfg.partitions {
            if self.links.is_empty() || fault_ms < 100 {
                break;
            }
            let start = Time(script.random_range(self.at(0.05).0..=self.at(0.8).0));
            let longest = (fault_ms * 3 / 10).max(2_000);
            let len = script.random_range(2_000.min(longest)..=longest);
            let end = Time((start.0 + len).min(self.at(0.95).0).max(start.0 + 1));
            let mut cut: Vec<usize> = Vec::new();
            if n >= 2 && script.random_bool(0.5) {
                let mut group: Vec<bool> = (0..n).map(|_| script.random_bool(0.5)).collect();
                if group.iter().all(|&g| g) || group.iter().all(|&g| !g) {
                    let x = script.random_range(0..n);
                    group[x] = !group[x];
                }
                for (j, l) in self.links.iter().enumerate() {
                    if group[l.a] != group[l.b] {
                        cut.push(j);
                    }
                }
            } else {
                for j in 0..self.links.len() {
                    if script.random_bool(0.3) {
                        cut.push(j);
                    }
                }
                if cut.is_empty() {
                    cut.push(script.random_range(0..self.links.len()));
                }
            }
            let notify = script.random_bool(0.5);
            self.partitions.push(Partition {
                links: cut,
                notify,
                start,
                end,
                active: false,
            });
            self.push(start, Ev::PartitionStart(i));
            self.push(end, Ev::PartitionEnd(i));
        }

        // Restarts, of distinct servers as far as there are enough.
        if n > 0 && fault_ms >= 100 {
            let mut order: Vec<usize> = (0..n).collect();
            for i in (1..n).rev() {
                let j = script.random_range(0..=i);
                order.swap(i, j);
            }
            for i in 0..self.cfg.restarts {
                let node = order[i % n];
                let start = Time(script.random_range(self.at(0.05).0..=self.at(0.8).0));
                let longest = (fault_ms * 15 / 100).clamp(1_000, 15_000);
                let len = script.random_range(1_000.min(longest)..=longest);
                let end = Time((start.0 + len).min(self.at(0.95).0).max(start.0 + 1));
                // Drawn so that a run without saved restarts draws as before they existed.
                let kind = if script.random_bool(self.cfg.fresh_restart) {
                    RestartKind::Fresh
                } else if self.cfg.saved_restart > 0.0
                    && script.random_bool(
                        (self.cfg.saved_restart / (1.0 - self.cfg.fresh_restart)).min(1.0),
                    )
                {
                    RestartKind::Saved
                } else {
                    RestartKind::Kept
                };
                let notify_neighbours = script.random_bool(0.5);
                self.restarts.push(Restart {
                    node,
                    kind,
                    notify_neighbours,
                    start,
                    end,
                    active: false,
                    skipped: false,
                });
                self.push(start, Ev::RestartStart(i));
                self.push(end, Ev::RestartEnd(i));
            }
        }

        if self.out.is_some() {
            let mut lines = Vec::new();
            for (i, p) in self.partitions.iter().enumerate() {
                let l: Vec<String> = p
                    .links
                    .iter()
                    .map(|&j| format!("{}-{}", self.links[j].a, self.links[j].b))
                    .collect();
                lines.push(format!(
                    "partition {i}: {} .. {}, {}, cuts {}",
                    p.start,
                    p.end,
                    if p.notify { "servers told" } else { "silent" },
                    l.join(" ")
                ));
            }
            for (i, r) in self.restarts.iter().enumerate() {
                lines.push(format!(
                    "restart {i}: server {} {} .. {}, {}, neighbours {}",
                    r.node,
                    r.start,
                    r.end,
                    r.kind.name(),
                    if r.notify_neighbours {
                        "told"
                    } else {
                        "not told"
                    }
                ));
            }
            for l in lines {
                self.log(l);
            }
        }
        self.push(self.fault_end, Ev::FaultsEnd);
    }
}
