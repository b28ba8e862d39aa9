//! Re-alignment by set reconciliation (docs/reconciliation.md): the Capability in Hellos, the
//! cells kept per key, and the reconciliation phase of Cache Summarize carried in CA messages.
//!
//! The per-entry state is kept lazily: the cache marks the slots that change (a flag and a push,
//! as the saved-state tracking does), and the marks are applied to the cells of every key kept
//! when a reconciliation starts ([`Server::recon_sync`]), never by a pass over the cache. A key
//! learned for the first time (a DCS that became our master, or restarted with a new key) is
//! built by one pass, once.

use std::collections::VecDeque;

use scsp_recon::wire::{self as rw, Message, Status, flags};
use scsp_recon::{Decoder, Encoder, Key, Outcome, Receiver, Streamer};

mod cells;

use cells::{Keyed, UNCONFIRMED};

use super::{DcsId, Server};
use crate::Time;
use crate::wire::{Body, Csas, Extension};

/// The Vendor ID of the reconciliation extension. Not the replay extension's (0x5C5350): B.3.2
/// allows one Vendor-Private extension per Vendor ID in a packet, and an authenticated CA with
/// replay protection carries both (docs/reconciliation.md §5.1).
pub const VENDOR_ID: u32 = 0x5C_5352;

/// Cells the slave asks for first (then twice as many each round).
const FIRST_WINDOW: u32 = 128;

/// The Start Of Extensions makes room for the extension's header (4), its Vendor ID (3) and the
/// End Of Extensions (4); four more spare. The reconciliation crate sizes packets by an MTU with
/// a carrier of [`rw::CA_CARRIER_LEN`] octets: this turns the room left for records into that.
fn recon_mtu(room: usize) -> usize {
    (room + rw::CA_CARRIER_LEN).saturating_sub(15)
}

/// The server's reconciliation state: its own cells, and those under its masters' keys.
pub(crate) struct Recon {
    own: Keyed,
    peers: Vec<Keyed>,
}

/// Counters of the reconciliations with one DCS.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReconStats {
    /// Reconciliations that decoded.
    pub decoded: u64,
    /// Reconciliations that fell back to RFC 2334 Cache Alignment.
    pub fallbacks: u64,
    /// Cells received (as slave) or sent (as master).
    pub cells: u64,
    /// Instances found to differ.
    pub found: u64,
    /// Streams of the bulk path (docs/reconciliation.md §8), as holder or learner.
    #[serde(default)]
    pub bulk: u64,
    /// Entries streamed by the bulk path: sent (holder) or taken in order (learner).
    #[serde(default)]
    pub bulk_entries: u64,
    /// Times the holder went back to the first entry not acknowledged (go-back-N).
    #[serde(default)]
    pub bulk_rexmits: u64,
    /// Streams after which nothing was left to reconcile (the learner held nothing when it
    /// began, stored every record, and every position carried its record): phase 2 at once.
    #[serde(default)]
    pub bulk_clean: u64,
}

/// What a DCS advertised.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Capability {
    flags: u8,
    cells: u32,
    key: Key,
}

enum Session {
    Master {
        streamer: Streamer,
        queue: VecDeque<Message>,
    },
    Slave {
        receiver: Receiver,
        queue: VecDeque<Message>,
        key: Key,
    },
    /// As master after the bulk path, our cells being rebuilt: the "go on" CA went out; the
    /// rebuild is finished at the timer due at once (after the CA has left, so that the rebuild overlaps the
    /// slave's own work after the stream), or at the latest when the slave's first Request
    /// comes, and the snapshot is taken then.
    MasterPending,
    /// As slave under a key we keep no cells for yet: the first Request went out, and cell 0
    /// decides (the bulk path, or the pass over the cache that builds the cells) before any pass.
    SlavePending { key: Key, budget: u32 },
}

/// Per-DCS state.
#[derive(Default)]
pub(crate) struct PerDcs {
    /// The Capability of the DCS's last Hello.
    peer: Option<Capability>,
    session: Option<Session>,
    /// A stream of the bulk path (server/bulk.rs).
    pub bulk: Option<Box<super::bulk::Bulk>>,
    /// The bulk path was taken in this alignment (once only: the reconciliation that follows it
    /// falls back to RFC Cache Alignment if it fails).
    pub bulk_used: bool,
    pub stats: ReconStats,
}

impl std::fmt::Debug for PerDcs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PerDcs")
            .field("peer", &self.peer)
            .field("session", &self.session.is_some())
            .field("bulk", &self.bulk.is_some())
            .field("stats", &self.stats)
            .finish()
    }
}

impl PerDcs {
    /// The alignment is abandoned.
    pub fn reset(&mut self) {
        self.session = None;
        self.bulk = None;
        self.bulk_used = false;
    }

    /// The reconciliation in progress is over (the bulk path takes over).
    pub fn session_end(&mut self) {
        self.session = None;
    }

    /// A reconciliation session is open (or prepared).
    pub fn reconciling(&self) -> bool {
        self.session.is_some()
    }

    /// The flags of the DCS's last Capability.
    pub fn peer_flags(&self) -> Option<u8> {
        self.peer.map(|c| c.flags)
    }

    /// When the bulk path's timer is due.
    pub fn bulk_due(&self) -> Option<Time> {
        self.bulk.as_ref().and_then(|b| b.due())
    }
}

/// The reconciliation message in `extensions`, if any (undecodable data counts as none: the
/// exchange then falls back, docs/reconciliation.md §7).
pub(crate) fn find(extensions: &[Extension]) -> Option<Vec<u8>> {
    extensions.iter().find_map(|e| match e {
        Extension::VendorPrivate { vendor_id, data } if *vendor_id == VENDOR_ID => {
            Some(data.to_vec())
        }
        _ => None,
    })
}

/// Puts the reconciliation extension of `extensions`, if any, in `out` (a CA sent again
/// re-encoded keeps it); always true.
pub(crate) fn carry(out: &mut Option<Extension>, extensions: &[Extension]) -> bool {
    *out = find(extensions).map(|data| Extension::VendorPrivate {
        vendor_id: VENDOR_ID,
        data,
    });
    true
}

/// `m` as the Vendor-Private extension that carries it.
pub(super) fn extension(m: &Message) -> Extension {
    Extension::VendorPrivate {
        vendor_id: VENDOR_ID,
        data: m.to_bytes(),
    }
}

impl Server {
    /// Start keeping the reconciliation state (at [`Server::new`], when configured).
    pub(super) fn recon_init(&mut self) {
        if self.cfg.reconcile {
            self.cache.keep_recon_marks(true);
            self.recon = Some(Box::new(Recon {
                own: Keyed::new(
                    Key(self.cfg.recon_key),
                    self.cfg.recon_cells.max(1) as usize,
                ),
                peers: Vec::new(),
            }));
        }
    }

    /// The counters of the reconciliations with DCS `id`.
    pub fn recon_stats(&self, id: DcsId) -> Option<ReconStats> {
        self.dcs(id).map(|d| d.recon.stats)
    }

    /// The Capability our Hellos carry, if configured.
    pub(super) fn recon_hello_ext(&self) -> Option<Extension> {
        self.recon.as_ref().map(|r| {
            extension(&Message::Capability {
                flags: flags::RECONCILE | flags::BULK,
                cells: r.own.prefix.cells().len() as u32,
                key: r.own.prefix.key(),
            })
        })
    }

    /// A Hello from DCS `id`: keep its Capability (a Hello without one clears it).
    pub(super) fn recon_hello_in(&mut self, id: DcsId) {
        let ext = self.recon_in.take();
        let Some(d) = self.live(id) else { return };
        d.recon.peer = match ext.as_deref().map(Message::decode) {
            Some(Ok(Message::Capability { flags, cells, key })) => {
                Some(Capability { flags, cells, key })
            }
            _ => None,
        };
    }

    /// Both sides advertise reconciliation.
    fn recon_agreed(&self, id: DcsId) -> Option<Capability> {
        self.recon.as_ref()?;
        let d = self.dcs(id)?;
        d.recon.peer.filter(|c| c.flags & flags::RECONCILE != 0)
    }

    /// The CSAS records of the instances whose symbols are `symbols` in `keyed`.
    fn recon_records(&self, keyed: &Keyed, symbols: &[u64]) -> VecDeque<Csas> {
        symbols
            .iter()
            // The cells may have moved on since the snapshot (a reconciliation with another DCS
            // applied the marks since): an entry of ours confirmed since has the other symbol.
            // An entry replaced or removed since is flooded once Update Cache is reached.
            .filter_map(|&s| {
                keyed
                    .prefix
                    .handle(s)
                    .or_else(|| keyed.prefix.handle(s ^ UNCONFIRMED))
            })
            .filter_map(|slot| self.cache.at_slot(slot))
            .map(|(rid, e)| e.csas(rid, 1))
            .collect()
    }

    /// Send a CA of the reconciliation phase: no records, O set, the message as extension.
    pub(super) fn recon_send(&mut self, now: Time, id: DcsId, m: bool, msg: &Message) {
        let Some(d) = self.live(id) else { return };
        if let Message::Cells { cells, .. } = msg {
            d.recon.stats.cells += cells.len() as u64;
        }
        let body = Body::Ca {
            seq: d.ca_seq,
            m,
            i: false,
            o: true,
            records: Vec::new(),
        };
        self.ext_out = Some(extension(msg));
        self.send_ca(now, id, body, m);
    }

    fn recon_mtu_to(&self, id: DcsId) -> usize {
        self.dcs(id)
            .map_or(0, |d| recon_mtu(self.room(d, crate::wire::MessageType::Ca)))
    }

    /// 2.2.1 rule 1, we are slave: with reconciliation agreed, the first CA asks for cells
    /// instead of carrying our summary. Returns whether it did.
    pub(super) fn recon_slave_start(&mut self, now: Time, id: DcsId) -> bool {
        self.recon_in = None;
        let Some(cap) = self.recon_agreed(id) else {
            return false;
        };
        let known = self
            .recon
            .as_ref()
            .is_some_and(|r| r.peers.iter().any(|p| p.prefix.key() == cap.key));
        if !known && self.bulk_agreed(id) {
            // A key new to us (a master that just started, say): building its cells is a pass over
            // the cache, useless if cell 0 shows one side far behind (the bulk path). The first
            // Request does not depend on the cells; cell 0 decides.
            let mtu = self.recon_mtu_to(id);
            let budget = cap.cells.min(self.cfg.recon_cells).max(1);
            let Some(d) = self.live(id) else {
                return false;
            };
            if mtu == 0 {
                return false;
            }
            d.recon.session = Some(Session::SlavePending {
                key: cap.key,
                budget,
            });
            d.summary.clear();
            let first = Message::Request {
                next: 0,
                window: FIRST_WINDOW.min(budget),
            };
            self.recon_send(now, id, false, &first);
            return true;
        }
        self.recon_sync();
        let own_cells = self.cfg.recon_cells.max(1) as usize;
        let Some(at) = self.recon_peer_cells(cap.key, own_cells) else {
            return false;
        };
        let mtu = self.recon_mtu_to(id);
        let Some(r) = self.recon.as_ref() else {
            return false;
        };
        let keyed = &r.peers[at];
        if keyed.broken || mtu == 0 {
            return false;
        }
        let budget = cap.cells.min(self.cfg.recon_cells);
        let mut receiver = Receiver::new(Decoder::new(&keyed.prefix, budget), mtu, FIRST_WINDOW);
        let first = receiver.start();
        let Some(d) = self.live(id) else {
            return false;
        };
        d.recon.session = Some(Session::Slave {
            receiver,
            queue: VecDeque::new(),
            key: cap.key,
        });
        d.summary.clear();
        self.recon_send(now, id, false, &first);
        true
    }

    /// 2.2.1 rule 2, we are master: the slave's first CA asks for cells. Returns whether the
    /// reconciliation starts (the caller then sends [`Server::recon_master_next`]).
    pub(super) fn recon_master_start(&mut self, id: DcsId) -> bool {
        let ext = self.recon_in.take();
        if self.recon_agreed(id).is_none() {
            return false;
        }
        let Some(Ok(req @ Message::Request { .. })) = ext.as_deref().map(Message::decode) else {
            return false;
        };
        self.recon_sync();
        self.recon_own_fresh();
        let mtu = self.recon_mtu_to(id);
        let Some(r) = self.recon.as_ref() else {
            return false;
        };
        if r.own.broken || mtu == 0 {
            // The slave sees our summary without a message and falls back too.
            return false;
        }
        let mut streamer = Streamer::new(Encoder::new(&r.own.prefix), mtu);
        let queue: VecDeque<Message> = streamer.on_message(&req).into();
        let Some(d) = self.live(id) else {
            return false;
        };
        d.recon.session = Some(Session::Master { streamer, queue });
        d.summary.clear();
        true
    }

    /// As master, the next message of the reconciliation (or "nothing queued": an empty Cells
    /// message at 0xffffffff, which the slave answers with what it has to send).
    pub(super) fn recon_master_next(&mut self, now: Time, id: DcsId) {
        let Some(d) = self.live(id) else { return };
        let next = match &mut d.recon.session {
            Some(Session::Master { queue, .. }) => queue.pop_front(),
            _ => None,
        }
        .unwrap_or(Message::Cells {
            start: u32::MAX,
            cells: Vec::new(),
        });
        self.recon_send(now, id, true, &next);
    }

    /// 2.2.2 rule 3, as master in a reconciliation: the slave's answer. Returns whether this
    /// sent our next CA; if not, the caller goes on as RFC 2334 2.2.2 (with our summary set).
    pub(super) fn recon_master_step(&mut self, now: Time, id: DcsId) -> bool {
        let ext = self.recon_in.take();
        if self.bulk_master_step(now, id, ext.as_deref()) {
            return true;
        }
        if matches!(
            self.dcs(id).and_then(|d| d.recon.session.as_ref()),
            Some(Session::MasterPending)
        ) && !self.recon_master_snapshot(id)
        {
            return false;
        }
        let Some(d) = self.live(id) else {
            return false;
        };
        let Some(Session::Master { streamer, queue }) = &mut d.recon.session else {
            return false;
        };
        let msg = match ext.as_deref().map(Message::decode) {
            Some(Ok(m)) => m,
            _ => {
                // The slave left the reconciliation: the full summary exchange.
                d.recon.session = None;
                d.recon.stats.fallbacks += 1;
                self.take_summary(id);
                return false;
            }
        };
        if let Message::BulkAck {
            next: 0, credit, ..
        } = msg
        {
            // The slave is far behind and asks for the bulk path (docs/reconciliation.md §8).
            if self.bulk_agreed(id) {
                self.bulk_holder_start(now, id, credit);
                return true;
            }
            let Some(d) = self.live(id) else {
                return false;
            };
            d.recon.session = None;
            d.recon.stats.fallbacks += 1;
            self.take_summary(id);
            return false;
        }
        if matches!(msg, Message::Request { window, .. } if window > 0) {
            // A Request is answered whole: what was queued for an earlier one is dropped.
            queue.clear();
        }
        queue.extend(streamer.on_message(&msg));
        let Some(outcome) = streamer.outcome().cloned() else {
            self.recon_master_next(now, id);
            return true;
        };
        d.recon.session = None;
        let status = match outcome {
            Outcome::Decoded { ours, .. } => {
                d.recon.stats.decoded += 1;
                d.recon.stats.found += ours.len() as u64;
                let records = match self.recon.as_ref() {
                    Some(r) => self.recon_records(&r.own, &ours),
                    None => VecDeque::new(),
                };
                let Some(d) = self.live(id) else {
                    return false;
                };
                d.summary = records;
                Status::Decoded
            }
            Outcome::Fallback(s) => {
                d.recon.stats.fallbacks += 1;
                self.take_summary(id);
                s
            }
        };
        self.recon_phase2(now, id, status);
        true
    }

    /// As master, phase 2: our summary (of what differs, or of everything; set by the caller),
    /// its first CA carrying the outcome so that the slave sends the same kind.
    pub(super) fn recon_phase2(&mut self, now: Time, id: DcsId, status: Status) {
        self.ext_out = Some(extension(&Message::Result {
            status,
            offset: 0,
            total: 0,
            symbols: Vec::new(),
        }));
        self.send_summary_ca(now, id, true);
    }

    /// 2.2.2 rule 5, as slave in a reconciliation: the master's CA. Returns whether this sent
    /// our answer; if not, the caller goes on as RFC 2334 2.2.2 (with our summary set).
    pub(super) fn recon_slave_step(&mut self, now: Time, id: DcsId) -> bool {
        let ext = self.recon_in.take();
        if let Some(handled) = self.bulk_slave_step(now, id, ext.as_deref()) {
            return handled;
        }
        if let Some(handled) = self.recon_slave_resolve(now, id, ext.as_deref()) {
            return handled;
        }
        let Some(d) = self.live(id) else {
            return false;
        };
        let Some(Session::Slave { receiver, key, .. }) = &mut d.recon.session else {
            return false;
        };
        let key = *key;
        let msg = match ext.as_deref().map(Message::decode) {
            Some(Ok(m @ Message::Cells { .. })) => m,
            Some(Ok(Message::Result { status, .. })) => {
                // The master's outcome: phase 2 starts with this CA.
                let ours = match receiver.outcome() {
                    Some(Outcome::Decoded { ours, theirs }) if status == Status::Decoded => {
                        Some((ours.clone(), theirs.len()))
                    }
                    _ => None,
                };
                d.recon.session = None;
                match ours {
                    Some((ours, theirs)) => {
                        d.recon.stats.decoded += 1;
                        d.recon.stats.found += (ours.len() + theirs) as u64;
                        let records = self
                            .recon
                            .as_ref()
                            .and_then(|r| r.peers.iter().find(|p| p.prefix.key() == key))
                            .map(|k| self.recon_records(k, &ours))
                            .unwrap_or_default();
                        if let Some(d) = self.dcs_mut(id) {
                            d.summary = records;
                        }
                    }
                    None => {
                        d.recon.stats.fallbacks += 1;
                        self.take_summary(id);
                    }
                }
                return false;
            }
            _ => {
                // The master does not reconcile (or sent something out of place): the full
                // summary exchange.
                d.recon.session = None;
                d.recon.stats.fallbacks += 1;
                self.take_summary(id);
                return false;
            }
        };
        if let Message::Cells { cells, .. } = &msg {
            d.recon.stats.cells += cells.len() as u64;
        }
        let Some(Session::Slave {
            receiver, queue, ..
        }) = &mut d.recon.session
        else {
            return false;
        };
        queue.extend(receiver.on_message(&msg));
        if receiver.outcome() == Some(&Outcome::Fallback(Status::TooMany)) && !d.recon.bulk_used {
            let (behind, ahead) = (receiver.remote_larger(), receiver.local_larger());
            let missing = receiver.size_difference().unwrap_or(0).max(0) as usize;
            if behind && self.bulk_agreed(id) {
                // Far behind the master: its entries are streamed instead (§8).
                self.bulk_learner_start(now, id, missing);
                return true;
            }
            if ahead && self.bulk_agreed(id) {
                // Far ahead: we offer to stream ours.
                self.bulk_offer(now, id);
                return true;
            }
        }
        let Some(d) = self.live(id) else {
            return false;
        };
        let Some(Session::Slave {
            receiver, queue, ..
        }) = &mut d.recon.session
        else {
            return false;
        };
        let next = match queue.pop_front() {
            Some(m) => m,
            None if receiver.outcome().is_none() => {
                // Nothing to say: "go on" (a Request for no more cells).
                Message::Request {
                    next: receiver.received(),
                    window: 0,
                }
            }
            None => {
                // The result again (the master ignores parts it has).
                queue.extend(receiver.on_timeout());
                queue.pop_front().unwrap_or(Message::Request {
                    next: receiver.received(),
                    window: 0,
                })
            }
        };
        self.recon_send(now, id, false, &next);
        true
    }
}

impl Server {
    /// As slave, after the bulk path: a fresh snapshot to reconcile against, its first Request
    /// queued for the master's next CA (docs/reconciliation.md §8, "both reconcile once more").
    pub(super) fn recon_slave_again(&mut self, id: DcsId) {
        let Some(cap) = self.recon_agreed(id) else {
            return;
        };
        self.recon_sync();
        let own_cells = self.cfg.recon_cells.max(1) as usize;
        let Some(at) = self.recon_peer_cells(cap.key, own_cells) else {
            return;
        };
        let mtu = self.recon_mtu_to(id);
        let Some(r) = self.recon.as_ref() else { return };
        let keyed = &r.peers[at];
        if keyed.broken || mtu == 0 {
            // No session: the master's next CA is answered with our full summary.
            return;
        }
        let budget = cap.cells.min(self.cfg.recon_cells);
        let mut receiver = Receiver::new(Decoder::new(&keyed.prefix, budget), mtu, FIRST_WINDOW);
        let first = receiver.start();
        let Some(d) = self.live(id) else { return };
        d.recon.session = Some(Session::Slave {
            receiver,
            queue: VecDeque::from([first]),
            key: cap.key,
        });
        d.summary.clear();
    }

    /// As master, after the bulk path: a fresh snapshot of our cells, and our next CA ("go on")
    /// for the slave's first Request.
    pub(super) fn recon_master_again(&mut self, now: Time, id: DcsId) {
        self.recon_sync();
        let mtu = self.recon_mtu_to(id);
        if mtu > 0 && self.recon.as_ref().is_some_and(|r| r.own.rebuild.is_some()) {
            // The first Cells goes out only once the slave asks: rebuild then.
            let Some(d) = self.live(id) else { return };
            d.summary.clear();
            d.recon.session = Some(Session::MasterPending);
            self.recon_master_next(now, id);
            // The timer, due at once, rebuilds once the CA has left.
            self.recon_due = Some(now);
            return;
        }
        self.recon_own_fresh();
        let streamer = match self.recon.as_ref() {
            Some(r) if !r.own.broken && mtu > 0 => {
                Some(Streamer::new(Encoder::new(&r.own.prefix), mtu))
            }
            _ => None,
        };
        let Some(d) = self.live(id) else { return };
        d.summary.clear();
        match streamer {
            Some(streamer) => {
                d.recon.session = Some(Session::Master {
                    streamer,
                    queue: VecDeque::new(),
                });
                self.recon_master_next(now, id);
            }
            None => {
                // Our full summary; the slave answers a CA without the extension with its own.
                d.recon.stats.fallbacks += 1;
                self.take_summary(id);
                self.send_summary_ca(now, id, true);
            }
        }
    }
}

impl Server {
    /// As master with a [`Session::MasterPending`]: our cells rebuilt and the snapshot taken.
    /// Whether the reconciliation goes on (if not, the full summary exchange: our summary is
    /// set, and the caller goes on as RFC 2334 2.2.2).
    fn recon_master_snapshot(&mut self, id: DcsId) -> bool {
        self.recon_sync();
        self.recon_own_fresh();
        let mtu = self.recon_mtu_to(id);
        let streamer = match self.recon.as_ref() {
            Some(r) if !r.own.broken && mtu > 0 => {
                Some(Streamer::new(Encoder::new(&r.own.prefix), mtu))
            }
            _ => None,
        };
        let Some(d) = self.live(id) else { return false };
        match streamer {
            Some(streamer) => {
                d.recon.session = Some(Session::Master {
                    streamer,
                    queue: VecDeque::new(),
                });
                true
            }
            None => {
                d.recon.session = None;
                d.recon.stats.fallbacks += 1;
                self.take_summary(id);
                false
            }
        }
    }

    /// As slave with a [`Session::SlavePending`]: cell 0 of the master's first Cells tells the
    /// two sets' sizes. Far apart (more differences than the budget decodes), the bulk path
    /// starts without the pass over the cache; otherwise the cells under the master's key are
    /// built and the reconciliation goes on. Some(whether our answer went out) when it is over
    /// here; None to go on with the message.
    fn recon_slave_resolve(&mut self, now: Time, id: DcsId, ext: Option<&[u8]>) -> Option<bool> {
        let d = self.dcs_mut(id)?;
        let Some(Session::SlavePending { key, budget }) = d.recon.session else {
            return None;
        };
        let used = d.recon.bulk_used;
        if let Some(Ok(Message::Cells { start: 0, cells })) = ext.map(Message::decode)
            && let Some(first) = cells.first()
            && !used
        {
            let diff = (first.count as i32).wrapping_sub(self.cache.len() as i32);
            // As the decoder decides on cell 0 (at best about 1.35 cells per difference).
            if u64::from(diff.unsigned_abs()) * 27 / 20 > u64::from(budget) {
                if diff > 0 {
                    self.bulk_learner_start(now, id, diff as usize);
                } else {
                    self.bulk_offer(now, id);
                }
                return Some(true);
            }
        }
        self.recon_sync();
        let own_cells = self.cfg.recon_cells.max(1) as usize;
        let at = self.recon_peer_cells(key, own_cells);
        let mtu = self.recon_mtu_to(id);
        let receiver = match (at, self.recon.as_ref()) {
            (Some(at), Some(r)) if !r.peers[at].broken && mtu > 0 => {
                let mut rx =
                    Receiver::new(Decoder::new(&r.peers[at].prefix, budget), mtu, FIRST_WINDOW);
                let _ = rx.start(); // (The Request already sent.)
                Some(rx)
            }
            _ => None,
        };
        let d = self.dcs_mut(id)?;
        match receiver {
            Some(receiver) => {
                d.recon.session = Some(Session::Slave {
                    receiver,
                    queue: VecDeque::new(),
                    key,
                });
                None
            }
            None => {
                d.recon.session = None;
                d.recon.stats.fallbacks += 1;
                self.take_summary(id);
                Some(false)
            }
        }
    }
}
