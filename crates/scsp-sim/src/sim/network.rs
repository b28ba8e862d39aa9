//! The network model: per-link loss, duplication, reordering and delay, and link holds.

use super::*;

impl Sim<'_> {
    // ----- the network -----------------------------------------------------------------------

    pub(super) fn link(&self, a: usize, b: usize) -> Option<usize> {
        self.link_of.get(&(a.min(b), a.max(b))).copied()
    }

    pub(super) fn send(&mut self, node: usize, dcs: DcsId, mut bytes: Vec<u8>) {
        self.res.packets += 1;
        self.res.bytes += bytes.len() as u64;
        let Some(&nb) = self.nodes[node].by_dcs.get(&dcs) else {
            self.fail(format!(
                "server {node} sent to {dcs}, which it does not have"
            ));
            return;
        };
        let Some(l) = self.link(node, nb) else { return };
        let desc = if self.out.is_some() {
            describe(&bytes, self.level >= 3)
        } else {
            String::new()
        };
        if self.links[l].cut > 0 || !self.nodes[node].reachable || !self.nodes[nb].reachable {
            self.res.blocked += 1;
            self.log(format!("s{node} -> s{nb} {desc}: BLOCKED"));
            return;
        }
        let (loss, dup, reorder) = if self.faulty {
            (self.cfg.loss, self.cfg.dup, self.cfg.reorder)
        } else {
            (self.cfg.settle_loss, 0.0, 0.0)
        };
        if loss > 0.0 && self.net.random_bool(loss) {
            self.res.lost += 1;
            self.log(format!("s{node} -> s{nb} {desc}: LOST"));
            return;
        }
        let copies = if dup > 0.0 && self.net.random_bool(dup) {
            self.res.duplicated += 1;
            2
        } else {
            1
        };
        let d = usize::from(node > nb);
        let mut arrivals = Vec::with_capacity(copies);
        for c in 0..copies {
            let dir = self.links[l].dir[d];
            let base = self.now + Duration::from_millis(dir.delay_ms);
            let (at, note) = if reorder > 0.0 && self.net.random_bool(reorder) {
                self.res.reordered += 1;
                let extra = self.net.random_range(1..=self.cfg.reorder_delay_ms.max(1));
                (base + Duration::from_millis(extra), " (held back)")
            } else {
                let at = base.max(dir.fifo);
                self.links[l].dir[d].fifo = at;
                (at, "")
            };
            if self.out.is_some() {
                let what = if c == 1 { "duplicate" } else { "sent" };
                self.log(format!(
                    "s{node} -> s{nb} {desc}: {what}, arrives {at}{note}"
                ));
            }
            arrivals.push(at);
        }
        let last = arrivals.len() - 1;
        for (k, at) in arrivals.into_iter().enumerate() {
            let bytes = if k == last {
                std::mem::take(&mut bytes)
            } else {
                bytes.clone()
            };
            self.push(
                at,
                Ev::Deliver {
                    from: node,
                    to: nb,
                    bytes,
                },
            );
        }
    }

    pub(super) fn deliver(&mut self, from: usize, to: usize, bytes: Vec<u8>) {
        let Some(l) = self.link(from, to) else { return };
        let usable = self.links[l].cut == 0 && self.nodes[to].reachable;
        let dcs = self.nodes[to].dcs.get(&from).copied();
        let (true, Some(dcs), true) = (usable, dcs, self.nodes[to].server.is_some()) else {
            self.res.blocked += 1;
            if self.out.is_some() {
                self.log(format!(
                    "s{to} <- s{from} {}: BLOCKED on arrival",
                    describe(&bytes, self.level >= 3)
                ));
            }
            return;
        };
        self.res.delivered += 1;
        if self.out.is_some() {
            self.log(format!(
                "s{to} <- s{from} {}",
                describe(&bytes, self.level >= 3)
            ));
        }
        self.call(to, |s, now| s.handle_datagram(now, dcs, &bytes));
    }

    // ----- link holds ------------------------------------------------------------------------

    /// One more reason for `node` to consider its link to `nb` down: on the first, it is told.
    pub(super) fn hold(&mut self, node: usize, nb: usize) {
        let h = self.nodes[node].holds.entry(nb).or_insert(0);
        *h += 1;
        if *h == 1
            && let Some(&id) = self.nodes[node].dcs.get(&nb)
        {
            self.call(node, |s, now| s.link_down(now, id));
        }
    }

    /// One reason fewer: when none is left, `node` is told the link is up.
    pub(super) fn release(&mut self, node: usize, nb: usize) {
        let h = self.nodes[node].holds.entry(nb).or_insert(0);
        *h = h.saturating_sub(1);
        if *h == 0
            && let Some(&id) = self.nodes[node].dcs.get(&nb)
        {
            self.call(node, |s, now| s.link_up(now, id));
        }
    }

    pub(super) fn held(&self, node: usize, nb: usize) -> bool {
        self.nodes[node].holds.get(&nb).is_some_and(|&h| h > 0)
    }
}
