//! One task per configured server. It owns the `scsp_core::Server`, the UDP socket the server
//! receives on and sends from (rfc2334-readings.md #19), and the table that maps a datagram's
//! source address to a DCS. Datagrams, timer expiries and commands (client requests, reloads,
//! dumps, stop) are handled one at a time; after each, everything the core wants done is
//! carried out: packets sent, events turned into log lines, trace lines and notifications for
//! the attached client.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use scsp_core::event::{
    Drop as DropReason, EntryView as CoreEntry, MessageSummary, Notice, RemoveReason,
};
use scsp_core::wire::{Data, Id, MessageType};
use scsp_core::{CaState, CacheChange, DcsId, Event, LocalError, Server, Trace};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::{debug, info, warn};

use super::plan::{DcsPlan, ServerPlan, canonical, id_text};
use super::profiles::{Added, Gone, Profiled};
use super::ratelimit::{RateLimits, suppressed_note};
use super::{Shared, SupCmd};
use crate::proto::{DcsView, EntryView, ErrorCode, Notify, ProtoError, Response, ServerView};

/// Largest datagram read.
const DATAGRAM_MAX: usize = 65535;
/// Datagrams taken from the socket in one turn of the loop once it is readable (then what the
/// core wants sent goes out): a burst costs one wake-up, not one per datagram.
const RECV_BATCH: usize = 32;
/// How long a server in Cache Alignment polls its socket for the DCS's answer before sleeping
/// (see `Task::linger`).
const LINGER: Duration = Duration::from_micros(100);
/// Socket buffers asked for, each way (the kernel caps them at net.core.rmem_max and
/// wmem_max): the default 208 KiB holds three 64 KiB packets, and a burst of CSU Requests
/// larger than that was dropped and waited for its retransmission.
const SOCKET_BUFFER: usize = 4 << 20;
/// Commands waiting for a server task.
const COMMAND_QUEUE: usize = 64;

/// The local server attached to a server: a client connection.
#[derive(Debug, Clone)]
pub struct ClientLink {
    /// Connection number, for logs and to match Detach.
    pub conn: u64,
    /// Its notification queue (bounded: a client that does not read is detached).
    pub notify: mpsc::Sender<Notify>,
    /// Ends the connection with this error.
    pub kill: mpsc::Sender<ProtoError>,
}

/// A (key, data) pair of the local cache.
pub type LocalEntry = (Vec<u8>, Data);
/// (key, data) pairs from a client.
pub type RawEntries = Vec<(Vec<u8>, Vec<u8>, Option<u32>)>;

/// What can be asked of a server task.
#[derive(Debug)]
pub enum ServerCmd {
    /// `show servers`.
    View(oneshot::Sender<ServerView>),
    /// `show dcs`.
    Dcs(oneshot::Sender<Vec<DcsView>>),
    /// `show cache`: live entries, sorted.
    Cache(oneshot::Sender<Vec<EntryView>>),
    /// Originate or update an entry.
    Add {
        /// The connection asking (the attached client's entries bypass the local rules).
        from: u64,
        /// Cache key.
        key: Vec<u8>,
        /// Data.
        data: Vec<u8>,
        /// Sequence number given.
        reply: oneshot::Sender<Result<u32, ProtoError>>,
    },
    /// Withdraw an entry originated here.
    Del {
        /// The connection asking.
        from: u64,
        /// Cache key.
        key: Vec<u8>,
        /// Done.
        reply: oneshot::Sender<Result<(), ProtoError>>,
    },
    /// Originate or update an entry given as a typed record of the server's profile.
    AddRecord {
        /// The connection asking.
        from: u64,
        /// The record, JSON.
        record: serde_json::Value,
        /// The profile the client meant, if it said.
        profile: Option<String>,
        /// The entry as held.
        reply: oneshot::Sender<Result<Response, ProtoError>>,
    },
    /// Withdraw every entry originated here that a selector names.
    DelRecord {
        /// The connection asking.
        from: u64,
        /// The selector, JSON.
        selector: serde_json::Value,
        /// The profile the client meant, if it said.
        profile: Option<String>,
        /// The entries withdrawn.
        reply: oneshot::Sender<Result<Vec<EntryView>, ProtoError>>,
    },
    /// Originate many (`handover: false`) or replace the whole local cache (`true`).
    Load {
        /// The connection asking.
        from: u64,
        /// Entries.
        entries: RawEntries,
        /// Withdraw what is not listed.
        handover: bool,
        /// Accepted count and errors.
        reply: oneshot::Sender<(u64, Vec<String>)>,
    },
    /// Attach a client as the local server.
    Attach {
        /// The client.
        client: ClientLink,
        /// Ask it to confirm each remote entry.
        confirm: bool,
        /// The live entries held now.
        reply: oneshot::Sender<Result<Vec<EntryView>, ProtoError>>,
    },
    /// The client's connection ended.
    Detach {
        /// Connection number.
        conn: u64,
    },
    /// The attached client's verdict on a remote entry.
    Confirm {
        /// Connection number (must be the attached client's).
        conn: u64,
        /// Token of the indication.
        token: u64,
        /// Verdict.
        accept: bool,
        /// Done.
        reply: oneshot::Sender<Result<(), ProtoError>>,
    },
    /// The text of the debugging dump for this server.
    Dump(oneshot::Sender<String>),
    /// The figures of a metrics scrape.
    Metrics(oneshot::Sender<super::metrics::ServerSample>),
    /// Disable, enable, restart or realign DCSs; clear counters.
    Control {
        /// What.
        op: super::metrics::Control,
        /// Done, or why not.
        reply: oneshot::Sender<Result<(), ProtoError>>,
    },
    /// A reload kept the server: apply its new DCS list.
    Reconfigure {
        /// The new DCSs.
        dcs: Vec<DcsPlan>,
        /// Done.
        reply: oneshot::Sender<()>,
    },
    /// Panic (tests of the supervisor's watcher only).
    #[cfg(test)]
    Panic,
    /// Stop: returns the entries originated here, so that a restarted server can keep them.
    Stop {
        /// Why, for the attached client.
        reason: String,
        /// The local entries.
        reply: oneshot::Sender<Vec<LocalEntry>>,
    },
}

/// A running server task.
#[derive(Debug)]
pub struct ServerHandle {
    /// What it runs.
    pub plan: ServerPlan,
    /// Its commands.
    pub tx: mpsc::Sender<ServerCmd>,
    /// The task.
    pub join: JoinHandle<()>,
    /// Its number.
    pub task: u64,
}

impl ServerHandle {
    /// Stop the task and wait for it (so that its socket is closed); returns its local entries.
    pub async fn stop(self, reason: String) -> Vec<LocalEntry> {
        let (reply, rx) = oneshot::channel();
        let entries = if self
            .tx
            .send(ServerCmd::Stop { reason, reply })
            .await
            .is_ok()
        {
            rx.await.unwrap_or_default()
        } else {
            Vec::new()
        };
        drop(self.tx);
        let _ = self.join.await;
        entries
    }
}

/// One DCS as the task knows it.
#[derive(Debug)]
struct Peer {
    plan: DcsPlan,
    /// Its ID as text, for messages.
    label: String,
}

/// The state of one server task.
struct Task {
    name: String,
    plan: ServerPlan,
    server: Server,
    socket: UdpSocket,
    /// The same socket (a duplicate descriptor, non-blocking like it) for reading without the
    /// runtime: the runtime's cached readiness only changes when it polls, so reads in a busy
    /// turn (see `receive_ready`) go to the descriptor itself.
    raw: Option<std::net::UdpSocket>,
    peers: BTreeMap<DcsId, Peer>,
    by_addr: HashMap<SocketAddr, DcsId>,
    client: Option<ClientLink>,
    dropped_unknown: u64,
    limit: RateLimits,
    shared: Arc<Shared>,
    /// `now` of the last `handle_timeout`, to never spin on a deadline that stays in the past.
    last_timeout: Option<scsp_core::Time>,
    /// The buffer of `receive_ready`.
    buf: Vec<u8>,
    /// The protocol profile: typed records, decoded views, local rules.
    profile: Profiled,
    /// What the metrics show beyond the core's counters.
    obs: super::metrics::Observer,
}

/// Start the task of `plan` on `socket` (bound already). `carry`: entries originated here by a
/// previous incarnation of the server, originated again.
pub fn spawn(
    plan: ServerPlan,
    socket: UdpSocket,
    shared: Arc<Shared>,
    carry: Vec<LocalEntry>,
) -> ServerHandle {
    let (tx, rx) = mpsc::channel(COMMAND_QUEUE);
    let number = shared.task_number();
    let sup = shared.sup.clone();
    let now = shared.clock.now();
    let sock = socket2::SockRef::from(&socket);
    let _ = sock.set_recv_buffer_size(SOCKET_BUFFER);
    let _ = sock.set_send_buffer_size(SOCKET_BUFFER);
    let raw = sock.try_clone().ok().map(std::net::UdpSocket::from);
    let mut core = plan.core.clone();
    let started = std::time::SystemTime::now();
    core.seq_floor = seq_floor(started);
    // Replay protection (docs/replay-protection.md): a nonce of this incarnation, and sequence
    // numbers from the start time in microseconds (above any of an earlier incarnation).
    core.replay_nonce = replay_nonce();
    core.replay_seq_start = started
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX / 2));
    let mut server = Server::new(core);
    server.set_trace_messages(shared.tracer.flags().messages());
    // The CSUS a CSU Request completes goes out before its records are stored (see `drain`).
    server.set_pipelined(now, true);
    let mut profile = Profiled::new(
        &plan.name,
        plan.profile.0.clone(),
        plan.core.hash_seed ^ 0x9e37_79b9_7f4a_7c15,
    );
    for (key, data) in carry {
        if let Err(e) = profile.add(&mut server, now, &key, data.to_vec(), true) {
            warn!(
                "server {}: local entry {} not kept across the restart: {e}",
                plan.name,
                hex::encode(&key)
            );
        }
    }
    let mut task = Task {
        name: plan.name.clone(),
        plan: plan.clone(),
        server,
        socket,
        raw,
        peers: BTreeMap::new(),
        by_addr: HashMap::new(),
        client: None,
        dropped_unknown: 0,
        limit: RateLimits::default(),
        shared,
        last_timeout: None,
        buf: vec![0u8; DATAGRAM_MAX],
        profile,
        obs: Default::default(),
    };
    task.update_learn_events();
    for d in &plan.dcs {
        task.add_peer(now, d.clone());
    }
    // The task runs inside a watcher, so that a panic (a bug) is reported to the supervisor,
    // which starts the server again, instead of leaving it dead.
    let join = tokio::spawn(async move {
        if let Err(e) = tokio::spawn(task.run(rx)).await
            && e.is_panic()
        {
            let p = e.into_panic();
            let message = p
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "no message".to_owned());
            let _ = sup
                .send(SupCmd::ServerDied {
                    task: number,
                    message,
                })
                .await;
        }
    });
    ServerHandle {
        plan,
        tx,
        join,
        task: number,
    }
}

impl Task {
    fn now(&self) -> scsp_core::Time {
        self.shared.clock.now()
    }

    fn add_peer(&mut self, now: scsp_core::Time, plan: DcsPlan) {
        let id = self.server.add_dcs(now, plan.core.clone());
        self.by_addr.insert(plan.peer, id);
        let label = id_text(&plan.core.id);
        self.peers.insert(id, Peer { plan, label });
        self.obs.added(id, now);
        self.server.link_up(now, id);
    }

    fn remove_peer(&mut self, now: scsp_core::Time, id: DcsId) {
        self.server.remove_dcs(now, id);
        self.limit.forget(id);
        self.obs.removed(id);
        if let Some(p) = self.peers.remove(&id)
            && self.by_addr.get(&p.plan.peer) == Some(&id)
        {
            // (Two DCSs that swap addresses in a reload: the other may own it already.)
            self.by_addr.remove(&p.plan.peer);
        }
    }

    async fn run(mut self, mut rx: mpsc::Receiver<ServerCmd>) {
        info!(
            "server {}: protocol {} (profile {}), server group {}, ID {}, receiving on {}, {} \
             DCS(s)",
            self.name,
            self.plan.protocol,
            self.profile_label(),
            self.plan.core.sgid,
            id_text(&self.plan.core.lsid),
            self.plan.bind,
            self.peers.len()
        );
        let mut buf = vec![0u8; DATAGRAM_MAX];
        self.drain().await;
        loop {
            let wake = self.next_wake();
            tokio::select! {
                cmd = rx.recv() => match cmd {
                    Some(ServerCmd::Stop { reason, reply }) => {
                        let _ = reply.send(self.stop(&reason));
                        break;
                    }
                    Some(cmd) => self.command(cmd),
                    None => break,
                },
                r = self.socket.recv_from(&mut buf) => match r {
                    Ok((n, from)) => {
                        self.datagram(&buf[..n], from);
                        for _ in 1..RECV_BATCH {
                            match self.socket.try_recv_from(&mut buf) {
                                Ok((n, from)) => self.datagram(&buf[..n], from),
                                // WouldBlock; another error is seen by the next recv_from.
                                Err(_) => break,
                            }
                        }
                    }
                    Err(e) => {
                        if let Some(n) = self.limit.allow(std::time::Instant::now(), "receive error", None) {
                            warn!("server {}: receive error: {e}{}", self.name, suppressed_note(n));
                        }
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                },
                () = sleep_until(wake) => {
                    let now = self.now();
                    self.last_timeout = Some(now);
                    // Woken for the profile's local rules only: the core's deadline is later.
                    let rules_only = self.profile.due(now)
                        && self.server.poll_timeout().is_some_and(|t| t > now);
                    if !rules_only {
                        self.server.handle_timeout(now);
                    }
                    self.profile.poll(&mut self.server, now);
                }
            }
            self.drain().await;
            self.linger().await;
            self.log_suppressed();
        }
        // Tell the DCSs nothing more: the socket closes; they will time us out.
        info!("server {}: stopped", self.name);
    }

    /// One line per log budget whose window ended with lines suppressed: the end of a burst.
    fn log_suppressed(&mut self) {
        for s in self.limit.summaries(std::time::Instant::now()) {
            let about = match s.dcs {
                Some(d) => {
                    let (label, addr) = self.dcs_label(d);
                    format!("DCS {label} ({addr}): ")
                }
                None => String::new(),
            };
            warn!(
                "server {}: {about}{} similar messages ({}) suppressed in the last {} s",
                self.name,
                s.count,
                s.reason,
                super::ratelimit::WINDOW.as_secs()
            );
        }
    }

    /// When the core next needs `handle_timeout`.
    fn next_wake(&mut self) -> Option<Instant> {
        let core = self.server.poll_timeout();
        let rules = self.profile.next_deadline();
        let mut t = match (core, rules) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => a.or(b)?,
        };
        if let Some(last) = self.last_timeout
            && t <= last
        {
            // A deadline already handled: do not spin on it.
            t = last + Duration::from_millis(5);
        }
        Some(self.shared.clock.instant(t))
    }

    /// Carry out what the core wants: send its packets, handle its events; then let it store the
    /// records it received, and send and handle what that gives.
    async fn drain(&mut self) {
        self.drain_once().await;
        if self.server.has_work() {
            // Datagrams that arrived meanwhile (a batch at most, so that a DCS that never stops
            // sending cannot hold its records unweighed) are taken first: the rest of a DCS's
            // answer to our CSUS lets the next CSUS go before the records are stored.
            if self.receive_ready() {
                self.drain_once().await;
            }
            let now = self.now();
            self.server.work(now);
            self.drain_once().await;
        }
    }

    /// During Cache Alignment, every message waits for the DCS's answer to the one before (2.2):
    /// the socket is polled for up to `LINGER` before the task goes back to sleep, as the answer
    /// usually comes sooner than a sleeping thread is woken (tens of microseconds on a virtual
    /// machine), and the exchange of a million entries is tens of thousands of such round trips.
    /// Between two looks the task yields, so that no other task waits on this one.
    async fn linger(&mut self) {
        if !self.server.aligning() {
            return;
        }
        let start = Instant::now();
        while start.elapsed() < LINGER {
            if self.receive_ready() {
                // (The main loop takes over: timers and commands keep their turn.)
                self.drain().await;
                return;
            }
            // Not a spin: other server tasks and clients run in between (the runtime polls its
            // sockets, then comes back here).
            tokio::task::yield_now().await;
        }
    }

    /// Take the datagrams waiting on the socket, up to a batch, without waiting. Returns whether
    /// there were any.
    fn receive_ready(&mut self) -> bool {
        let mut any = false;
        let Some(raw) = self.raw.take() else {
            return false;
        };
        let mut buf = std::mem::take(&mut self.buf);
        for _ in 0..RECV_BATCH {
            match raw.recv_from(&mut buf) {
                Ok((n, from)) => {
                    any = true;
                    self.datagram(&buf[..n], from);
                }
                Err(_) => break,
            }
        }
        self.buf = buf;
        self.raw = Some(raw);
        any
    }

    async fn drain_once(&mut self) {
        loop {
            let mut busy = false;
            while let Some(t) = self.server.poll_transmit() {
                busy = true;
                let Some(p) = self.peers.get(&t.dcs) else {
                    continue;
                };
                let addr = p.plan.addr;
                if let Err(e) = self.socket.send_to(&t.bytes, addr).await
                    && let Some(n) =
                        self.limit
                            .allow(std::time::Instant::now(), "send failed", Some(t.dcs))
                {
                    warn!(
                        "server {}: DCS {} ({addr}): send failed: {e}{}",
                        self.name,
                        p.label,
                        suppressed_note(n)
                    );
                }
            }
            while let Some(ev) = self.server.poll_event() {
                busy = true;
                self.event(ev);
            }
            if !busy {
                break;
            }
        }
    }

    fn datagram(&mut self, bytes: &[u8], from: SocketAddr) {
        match self.by_addr.get(&canonical(from)) {
            Some(&id) => {
                let now = self.now();
                let hellos = self.obs.before(&self.server, id, bytes);
                self.server.handle_datagram(now, id, bytes);
                self.obs.after(&self.server, id, now, bytes, hellos);
            }
            None => {
                self.dropped_unknown += 1;
                if let Some(n) = self
                    .limit
                    .allow(std::time::Instant::now(), "unknown source", None)
                {
                    warn!(
                        "server {}: dropped a {}-byte packet from {from}, which is not a \
                         configured DCS{}",
                        self.name,
                        bytes.len(),
                        suppressed_note(n)
                    );
                }
            }
        }
    }

    fn dcs_label(&self, id: DcsId) -> (String, String) {
        match self.peers.get(&id) {
            Some(p) => (p.label.clone(), p.plan.addr.to_string()),
            None => (id.to_string(), "?".to_owned()),
        }
    }

    fn event(&mut self, ev: Event) {
        match ev {
            Event::Cache(change) => {
                let now = self.now();
                self.profile.cache_change(&mut self.server, now, &change);
                if let CacheChange::Removed {
                    entry,
                    reason: RemoveReason::Expired,
                } = &change
                {
                    info!(
                        "server {}: entry {} of {} expired{}",
                        self.name,
                        hex::encode(entry.id.key.as_bytes()),
                        id_text(&entry.id.origin),
                        self.columns_note(entry.id.key.as_bytes(), &entry.data)
                    );
                }
                if self.client.is_none() {
                    // Nobody to tell: the notification is not built (hex and the profile's
                    // decoding of every entry learned cost as much as learning it).
                    return;
                }
                let n = match change {
                    CacheChange::Learned { entry, .. } => Notify::Learned {
                        server: self.name.clone(),
                        entry: self.entry_view(&entry),
                    },
                    CacheChange::Replaced { entry, .. } => Notify::Replaced {
                        server: self.name.clone(),
                        entry: self.entry_view(&entry),
                    },
                    CacheChange::Removed { entry, reason } => Notify::Removed {
                        server: self.name.clone(),
                        entry: self.entry_view(&entry),
                        reason: match reason {
                            RemoveReason::Deleted => "deleted",
                            RemoveReason::Purged => "purged",
                            RemoveReason::Expired => "expired",
                            RemoveReason::Flushed => "flushed",
                        }
                        .to_owned(),
                    },
                };
                self.notify(n);
            }
            Event::OrphansWithdrawn { count } => {
                let grace = self.plan.core.orphan_grace.map_or(0, |g| g.as_secs());
                warn!(
                    "server {}: no local server claimed {count} entries of ours within {grace} s \
                     of the start (LocalGrace): withdrawn from the group",
                    self.name
                );
            }
            Event::Confirm { token, entry, .. } => {
                if self.client.is_some() {
                    let n = Notify::Confirm {
                        server: self.name.clone(),
                        token,
                        entry: self.entry_view(&entry),
                    };
                    self.notify(n);
                } else {
                    // Confirmation is only on while a client is attached; accept to be safe.
                    let now = self.now();
                    let _ = self.server.confirm(now, token, true);
                }
            }
            Event::Trace(t) => self.trace(t),
        }
    }

    fn notify(&mut self, n: Notify) {
        let Some(c) = &self.client else { return };
        if self.shared.tracer.flags().client_msgs {
            self.shared.tracer.line(
                "client",
                format_args!("server {}: to client #{}: {n:?}", self.name, c.conn),
            );
        }
        match c.notify.try_send(n) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                let conn = c.conn;
                warn!(
                    "server {}: client #{conn} does not read its notifications fast enough: \
                     detached and disconnected",
                    self.name
                );
                self.detach(Some(ProtoError {
                    code: ErrorCode::Overflow,
                    message: format!(
                        "notification queue of server {} overflowed: read notifications faster",
                        self.name
                    ),
                }));
            }
            Err(mpsc::error::TrySendError::Closed(_)) => self.detach(None),
        }
    }

    /// Drop the attached client; with `kill`, its connection is ended with that error. Entries
    /// it originated stay (scspd keeps holding them); waiting confirmations are accepted.
    fn detach(&mut self, kill: Option<ProtoError>) {
        let Some(c) = self.client.take() else { return };
        if let Some(e) = kill {
            let _ = c.kill.try_send(e);
        }
        info!("server {}: client #{} detached", self.name, c.conn);
        if self.shared.tracer.flags().client_fsm {
            self.shared.tracer.line(
                "client",
                format_args!(
                    "server {}: client #{} Attached -> Detached",
                    self.name, c.conn
                ),
            );
        }
        let now = self.now();
        self.server.set_confirm(now, false);
        self.profile.adopt_client_entries(&mut self.server, now);
        self.update_learn_events();
    }

    /// Entries learned from DCSs are reported by the core only to someone: an attached client
    /// or the profile's local rules.
    fn update_learn_events(&mut self) {
        let wanted = self.client.is_some() || self.profile.has_rules();
        self.server.set_learn_events(wanted);
    }

    fn trace(&mut self, t: Trace) {
        self.obs.trace(self.now(), &t);
        let flags = self.shared.tracer.flags();
        match t {
            Trace::Hello {
                dcs,
                from,
                to,
                cause,
            } => {
                let (label, _) = self.dcs_label(dcs);
                let (f, t) = (from.name(), to.name());
                info!(
                    "server {}: DCS {label}: Hello {f} -> {t} ({cause})",
                    self.name
                );
                if flags.hello_fsm {
                    self.shared.tracer.line(
                        "hello",
                        format_args!("server {}: DCS {label}: {f} -> {t} ({cause})", self.name),
                    );
                }
            }
            Trace::Ca {
                dcs,
                from,
                to,
                cause,
            } => {
                let (label, _) = self.dcs_label(dcs);
                let (f, t) = (from.name(), to.name());
                info!("server {}: DCS {label}: CA {f} -> {t} ({cause})", self.name);
                if flags.ca_fsm {
                    self.shared.tracer.line(
                        "ca",
                        format_args!("server {}: DCS {label}: {f} -> {t} ({cause})", self.name),
                    );
                }
            }
            Trace::Received { dcs, msg } | Trace::Sent { dcs, msg } if !wanted(flags, &msg) => {
                let _ = dcs;
            }
            Trace::Received { dcs, msg } => self.trace_msg(dcs, "received", &msg),
            Trace::Sent { dcs, msg } => self.trace_msg(dcs, "sent", &msg),
            Trace::Dropped { dcs, reason } => {
                let (label, addr) = self.dcs_label(dcs);
                match &reason {
                    DropReason::InvalidRecord(e) => {
                        if let Some(n) =
                            self.limit
                                .allow(std::time::Instant::now(), "invalid record", Some(dcs))
                        {
                            warn!(
                                "server {}: DCS {label} ({addr}): refused a record ({} profile): {e} \
                                 (acknowledged, neither stored nor forwarded){}",
                                self.name,
                                self.profile.name(),
                                suppressed_note(n)
                            );
                        }
                    }
                    DropReason::Malformed(_) | DropReason::Auth(_) | DropReason::Replay(_) => {
                        let why = match reason {
                            DropReason::Auth(_) => "authentication",
                            DropReason::Replay(_) => "replay",
                            _ => "malformed",
                        };
                        if let Some(n) = self.limit.allow(std::time::Instant::now(), why, Some(dcs))
                        {
                            warn!(
                                "server {}: DCS {label} ({addr}): dropped packet: {}{}",
                                self.name,
                                drop_text(&reason),
                                suppressed_note(n)
                            );
                        }
                    }
                    DropReason::WrongGroup { protocol_id, sgid } => {
                        let now = std::time::Instant::now();
                        if let Some(n) = self.limit.allow(now, "wrong group", Some(dcs)) {
                            let core = &self.plan.core;
                            warn!(
                                "server {}: DCS {label} ({addr}): dropped a packet of protocol \
                                 {protocol_id}, server group {sgid}; expected protocol {}, \
                                 server group {}{}",
                                self.name,
                                core.protocol_id,
                                core.sgid,
                                suppressed_note(n)
                            );
                        }
                    }
                    _ => debug!(
                        "server {}: DCS {label} ({addr}): dropped: {}",
                        self.name,
                        drop_text(&reason)
                    ),
                }
                if flags.messages() {
                    self.shared.tracer.line(
                        "msg",
                        format_args!(
                            "server {}: DCS {label}: dropped: {}",
                            self.name,
                            drop_text(&reason)
                        ),
                    );
                }
            }
            Trace::Notice { dcs, notice } => {
                let (label, addr) = self.dcs_label(dcs);
                let (why, text) = match &notice {
                    Notice::FamilyMismatch { ours, theirs } => (
                        "family mismatch",
                        format!(
                            "Hellos advertise Family ID {theirs}, ours is {ours} (accepted: \
                             the Family ID is an aggregation hint, RFC 2334 B.2.5)"
                        ),
                    ),
                    Notice::StrayPurge { id } => (
                        "stray purge",
                        format!(
                            "purge (sequence 0x7fffffff) of an entry not held: key {}, \
                             originator {} (not stored; passed on)",
                            hex::encode(id.key.as_bytes()),
                            hex::encode(id.origin.as_bytes())
                        ),
                    ),
                    Notice::UnexpectedEvent {
                        machine,
                        state,
                        event,
                    } => (
                        "unexpected event",
                        format!(
                            "{machine} machine: unexpected event {event} in state {state} (ignored)"
                        ),
                    ),
                };
                if let Some(n) = self.limit.allow(std::time::Instant::now(), why, Some(dcs)) {
                    warn!(
                        "server {}: DCS {label} ({addr}): {text}{}",
                        self.name,
                        suppressed_note(n)
                    );
                }
            }
            Trace::Abnormal { dcs, cause } => {
                let (label, addr) = self.dcs_label(dcs);
                if let Some(n) =
                    self.limit
                        .allow(std::time::Instant::now(), "abnormal event", Some(dcs))
                {
                    warn!(
                        "server {}: DCS {label} ({addr}): abnormal event: {cause}{}",
                        self.name,
                        suppressed_note(n)
                    );
                }
            }
        }
    }

    fn trace_msg(&self, dcs: DcsId, dir: &str, m: &MessageSummary) {
        let (label, _) = self.dcs_label(dcs);
        let mut text = format!(
            "server {}: DCS {label}: {dir} {}, {} record(s), {} bytes",
            self.name,
            m.kind.name(),
            m.records,
            m.len
        );
        if let Some((seq, mb, ib, ob)) = m.ca {
            let _ = write!(
                text,
                ", seq {seq:#010x}{}{}{}",
                if mb { " M" } else { "" },
                if ib { " I" } else { "" },
                if ob { " O" } else { "" }
            );
        }
        self.shared.tracer.line("msg", format_args!("{text}"));
    }

    fn entry_view(&self, e: &CoreEntry) -> EntryView {
        let mut v = EntryView {
            key: hex::encode(e.id.key.as_bytes()),
            originator: hex::encode(e.id.origin.as_bytes()),
            seq: e.seq,
            data: hex::encode(&e.data),
            local: e.id.origin == self.plan.core.lsid,
            age_s: 0,
            record: None,
            columns: None,
        };
        self.profile.decorate(&mut v, e.id.key.as_bytes(), &e.data);
        v
    }

    /// Whether connection `conn` is the attached client (the local server, which applies its
    /// protocol's rules itself).
    fn is_client(&self, conn: u64) -> bool {
        self.client.as_ref().is_some_and(|c| c.conn == conn)
    }

    /// The profile's name, with the ATMARP layout for ATMARP.
    fn profile_label(&self) -> String {
        let name = self.profile.name();
        if self.plan.core.protocol_id == crate::config::Protocol::ATMARP.id {
            let layout = crate::config::atmarp_format_name(self.plan.options.atmarp_layout);
            format!("{name} {layout}")
        } else {
            name.to_owned()
        }
    }

    /// " (NAME value, …)": the record's columns for a log line, or nothing.
    fn columns_note(&self, key: &[u8], data: &[u8]) -> String {
        let mut v = EntryView {
            key: String::new(),
            originator: String::new(),
            seq: 0,
            data: String::new(),
            local: false,
            age_s: 0,
            record: None,
            columns: None,
        };
        self.profile.decorate(&mut v, key, data);
        match v.columns {
            Some(c) if !c.is_empty() => {
                let cells: Vec<String> = c
                    .iter()
                    .map(|c| format!("{} {}", c.name, c.value))
                    .collect();
                format!(" ({})", cells.join(", "))
            }
            _ => String::new(),
        }
    }

    /// The live entry `key` originated here, as a view.
    fn own_entry(&self, key: &[u8]) -> Result<EntryView, ProtoError> {
        let now = self.now();
        let lsid = &self.plan.core.lsid;
        self.server
            .cache()
            .iter()
            .find(|(id, e)| !e.deleted() && &id.origin == lsid && id.key.as_bytes() == key)
            .map(|(id, e)| {
                let mut v = self.entry_view(&e.view(id));
                v.age_s = now.since(e.since).as_secs();
                v
            })
            .ok_or_else(|| ProtoError {
                code: ErrorCode::NotFound,
                message: format!(
                    "entry {} is not held (withdrawn meanwhile?)",
                    hex::encode(key)
                ),
            })
    }

    /// Views of entries withdrawn: (key, sequence number, data) as they were.
    fn gone_views(&self, gone: Gone) -> Vec<EntryView> {
        let lsid = self.plan.core.lsid.clone();
        gone.into_iter()
            .filter_map(|(key, seq, data)| {
                let id = scsp_core::wire::RecordId {
                    key: Id::new(&key)?,
                    origin: lsid.clone(),
                };
                Some(self.entry_view(&CoreEntry { id, seq, data }))
            })
            .collect()
    }

    /// Live entries, sorted by key then originator.
    fn entries(&self) -> Vec<EntryView> {
        let now = self.now();
        let mut v: Vec<_> = self
            .server
            .cache()
            .iter()
            .filter(|(_, e)| !e.deleted())
            .collect();
        v.sort_by(|a, b| {
            (a.0.key.as_bytes(), a.0.origin.as_bytes())
                .cmp(&(b.0.key.as_bytes(), b.0.origin.as_bytes()))
        });
        v.into_iter()
            .map(|(id, e)| {
                let mut v = EntryView {
                    key: hex::encode(id.key.as_bytes()),
                    originator: hex::encode(id.origin.as_bytes()),
                    seq: e.seq,
                    data: hex::encode(&e.data),
                    local: id.origin == self.plan.core.lsid,
                    age_s: now.since(e.since).as_secs(),
                    record: None,
                    columns: None,
                };
                self.profile.decorate(&mut v, id.key.as_bytes(), &e.data);
                v
            })
            .collect()
    }

    fn view(&self) -> ServerView {
        let aligned = self
            .server
            .dcs_ids()
            .filter_map(|d| self.server.dcs_info(d))
            .filter(|i| i.ca.state == CaState::Aligned)
            .count();
        let p = &self.plan;
        ServerView {
            entries: self.server.cache().live() as u64,
            entries_held: self.server.cache().len() as u64,
            dcs: self.peers.len() as u32,
            dcs_aligned: aligned as u32,
            client_attached: self.client.is_some(),
            dropped_unknown: self.dropped_unknown,
            profile: self.profile.name().to_owned(),
            atmarp_format: (p.core.protocol_id == crate::config::Protocol::ATMARP.id)
                .then(|| crate::config::atmarp_format_name(p.options.atmarp_layout).to_owned()),
            state: "running".to_owned(),
            error: None,
            ..super::status::planned_view(p)
        }
    }

    fn dcs_views(&self) -> Vec<DcsView> {
        let now = self.now();
        self.peers
            .iter()
            .filter_map(|(&id, p)| {
                let i = self.server.dcs_info(id)?;
                let s = &self.obs.counters(id, &i.stats);
                let detail = self.obs.detail(&self.server, id, now);
                Some(DcsView {
                    server: self.name.clone(),
                    id: p.label.clone(),
                    address: p.plan.peer.to_string(),
                    hello: i.hello.state.name().to_owned(),
                    hello_since_s: now.since(i.hello.since).as_secs(),
                    ca: i.ca.state.name().to_owned(),
                    ca_since_s: now.since(i.ca.since).as_secs(),
                    rx_msgs: s.rx.total(),
                    tx_msgs: s.tx.total(),
                    errors: s.malformed
                        + s.auth_failures
                        + s.replays_refused
                        + s.dropped
                        + s.invalid_records,
                    retransmits: s.ca_retransmits + s.csus_retransmits + s.csa_retransmits,
                    rexmit_queue: i.retransmit_queue as u64,
                    crl: i.csa_request_list as u64,
                    unaligned_s: self.obs.unaligned_s(id, now),
                    last_hello_s: detail.last_hello_s,
                    dead_in_ms: detail.dead_in_ms,
                    last_down: detail.last_down,
                    last_down_s: detail.last_down_s,
                    flaps: detail.flaps,
                    srtt_us: i.srtt_us,
                    disabled: self.obs.disabled(id),
                    stats: serde_json::to_value(s).unwrap_or_default(),
                })
            })
            .collect()
    }

    fn command(&mut self, cmd: ServerCmd) {
        let now = self.now();
        match cmd {
            ServerCmd::View(r) => {
                let _ = r.send(self.view());
            }
            ServerCmd::Dcs(r) => {
                let _ = r.send(self.dcs_views());
            }
            ServerCmd::Control { op, reply } => {
                if matches!(op, super::metrics::Control::Clear) {
                    self.dropped_unknown = 0;
                }
                let peers: Vec<(DcsId, String)> = self
                    .peers
                    .iter()
                    .map(|(&id, p)| (id, p.label.clone()))
                    .collect();
                let r = self.obs.control(&mut self.server, now, &peers, op);
                if let Ok(done) = &r {
                    for d in done {
                        info!("server {}: {d} (asked by a client)", self.name);
                    }
                }
                let _ = reply.send(r.map(|_| ()));
            }
            ServerCmd::Metrics(r) => {
                let base = super::metrics::ServerSample {
                    name: self.name.clone(),
                    dropped_unknown: self.dropped_unknown,
                    client_attached: self.client.is_some(),
                    ..Default::default()
                };
                let peers = self.peers.iter().map(|(&id, p)| (id, p.label.as_str()));
                let _ = r.send(self.obs.sample(&self.server, peers, now, base));
            }
            ServerCmd::Cache(r) => {
                let _ = r.send(self.entries());
            }
            ServerCmd::Add {
                from,
                key,
                data,
                reply,
            } => {
                let rules = !self.is_client(from);
                let r = self.profile.add(&mut self.server, now, &key, data, rules);
                let _ = reply.send(r.map_err(local_error));
            }
            ServerCmd::Del {
                from: _,
                key,
                reply,
            } => {
                let r = self.profile.withdraw(&mut self.server, now, &key);
                let _ = reply.send(r.map_err(local_error));
            }
            ServerCmd::AddRecord {
                from,
                record,
                profile,
                reply,
            } => {
                let rules = !self.is_client(from);
                let r = self.profile.check_name(profile.as_deref()).and_then(|()| {
                    self.profile
                        .add_record(&mut self.server, now, &record, rules)
                });
                let r = r.and_then(|added| match added {
                    Added::Key(key) => self
                        .own_entry(&key)
                        .map(|entry| Response::RecordAdded { entry }),
                    Added::Withdrawn(gone) => Ok(Response::RecordsDeleted {
                        entries: self.gone_views(gone),
                    }),
                });
                let _ = reply.send(r);
            }
            ServerCmd::DelRecord {
                from: _,
                selector,
                profile,
                reply,
            } => {
                let r = self
                    .profile
                    .check_name(profile.as_deref())
                    .and_then(|()| self.profile.del_record(&mut self.server, now, &selector));
                let _ = reply.send(r.map(|gone| self.gone_views(gone)));
            }
            ServerCmd::Load {
                from,
                entries,
                handover,
                reply,
            } => {
                let total = entries.len() as u64;
                let rules = !self.is_client(from);
                let errors: Vec<(Vec<u8>, LocalError)> =
                    self.profile
                        .load(&mut self.server, now, entries, handover, rules);
                let accepted = total - errors.len() as u64;
                let errors = errors
                    .into_iter()
                    .map(|(k, e)| format!("key {}: {e}", hex::encode(k)))
                    .collect();
                let _ = reply.send((accepted, errors));
            }
            ServerCmd::Attach {
                client,
                confirm,
                reply,
            } => {
                let r = match &self.client {
                    Some(c) if c.conn != client.conn => Err(ProtoError {
                        code: ErrorCode::Busy,
                        message: format!(
                            "client #{} is attached to server {} already",
                            c.conn, self.name
                        ),
                    }),
                    _ => {
                        info!(
                            "server {}: client #{} attached{}",
                            self.name,
                            client.conn,
                            if confirm {
                                " (confirming remote entries)"
                            } else {
                                ""
                            }
                        );
                        if self.shared.tracer.flags().client_fsm {
                            self.shared.tracer.line(
                                "client",
                                format_args!(
                                    "server {}: client #{} Detached -> Attached",
                                    self.name, client.conn
                                ),
                            );
                        }
                        self.client = Some(client);
                        self.update_learn_events();
                        self.server.set_confirm(now, confirm);
                        Ok(self.entries())
                    }
                };
                let _ = reply.send(r);
            }
            ServerCmd::Detach { conn } => {
                if self.client.as_ref().is_some_and(|c| c.conn == conn) {
                    self.detach(None);
                }
            }
            ServerCmd::Confirm {
                conn,
                token,
                accept,
                reply,
            } => {
                let r = if self.client.as_ref().is_some_and(|c| c.conn == conn) {
                    self.server.confirm(now, token, accept).map_err(local_error)
                } else {
                    Err(ProtoError {
                        code: ErrorCode::Sequence,
                        message: format!("this client is not attached to server {}", self.name),
                    })
                };
                let _ = reply.send(r);
            }
            ServerCmd::Dump(r) => {
                let _ = r.send(self.dump());
            }
            ServerCmd::Reconfigure { dcs, reply } => {
                self.reconfigure(dcs);
                let _ = reply.send(());
            }
            ServerCmd::Stop { .. } => {}
            #[cfg(test)]
            ServerCmd::Panic => panic!("test panic"),
        }
    }

    /// Apply a reload's DCS list: unchanged DCSs keep their sessions; changed timers, counts,
    /// hops or keys are updated in place; a changed address restarts that DCS's session.
    fn reconfigure(&mut self, new: Vec<DcsPlan>) {
        let now = self.now();
        let mut old: HashMap<Id, DcsId> = self
            .peers
            .iter()
            .map(|(&id, p)| (p.plan.core.id.clone(), id))
            .collect();
        // Removals first, so that an address moving between DCSs never maps to two.
        let keep: std::collections::HashSet<&Id> = new.iter().map(|p| &p.core.id).collect();
        let gone: Vec<(Id, DcsId)> = old
            .iter()
            .filter(|(k, _)| !keep.contains(k))
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        for (k, id) in gone {
            old.remove(&k);
            info!("server {}: DCS {} removed", self.name, id_text(&k));
            self.remove_peer(now, id);
        }
        for p in new {
            match old.remove(&p.core.id) {
                Some(id) => {
                    let Some(cur) = self.peers.get_mut(&id) else {
                        continue;
                    };
                    if cur.plan == p {
                        continue;
                    }
                    if cur.plan.same_peer(&p) {
                        info!(
                            "server {}: DCS {}: settings changed; session kept",
                            self.name, cur.label
                        );
                        self.server.update_dcs(id, p.core.clone());
                        cur.plan = p;
                    } else {
                        info!(
                            "server {}: DCS {}: address changed to {}; session restarted",
                            self.name, cur.label, p.addr
                        );
                        self.remove_peer(now, id);
                        self.add_peer(now, p);
                    }
                }
                None => {
                    info!(
                        "server {}: DCS {} added ({})",
                        self.name,
                        id_text(&p.core.id),
                        p.addr
                    );
                    self.add_peer(now, p);
                }
            }
        }
        self.plan.dcs = self
            .peers
            .values()
            .map(|p| p.plan.clone())
            .collect::<Vec<_>>();
    }

    fn stop(&mut self, reason: &str) -> Vec<LocalEntry> {
        self.detach(Some(ProtoError {
            code: ErrorCode::NoSuchServer,
            message: format!("server {}: {reason}; attach again", self.name),
        }));
        let lsid = &self.plan.core.lsid;
        self.server
            .cache()
            .iter()
            .filter(|(id, e)| e.owned() && !e.deleted() && &id.origin == lsid)
            .map(|(id, e)| (id.key.as_bytes().to_vec(), e.data.clone()))
            .collect()
    }

    fn dump(&self) -> String {
        let now = self.now();
        let p = &self.plan;
        let v = self.view();
        let mut out = String::new();
        let _ = writeln!(
            out,
            "server {}: protocol {} ({}, profile {}), server group {}, family {}, ID {}, \
             receiving on {}, MTU {}",
            self.name,
            p.protocol,
            p.core.protocol_id,
            self.profile_label(),
            p.core.sgid,
            p.core.family_id,
            v.lsid,
            p.bind,
            p.core.max_packet
        );
        let _ = writeln!(
            out,
            "  entries: {} live, {} held; waiting for confirmation: {}; packets from unknown \
             sources: {}; client attached: {}",
            v.entries,
            v.entries_held,
            self.server.pending_confirmations(),
            v.dropped_unknown,
            match &self.client {
                Some(c) => format!("#{}", c.conn),
                None => "no".to_owned(),
            }
        );
        for (&id, peer) in &self.peers {
            let Some(i) = self.server.dcs_info(id) else {
                continue;
            };
            let s = &i.stats;
            let _ = writeln!(out, "  DCS {} at {} ({id})", peer.label, peer.plan.addr);
            let c = &peer.plan.core;
            let _ = writeln!(
                out,
                "    HelloInt {} HelloDead {} CAReXmitInt {}s CSUSReXmitInt {}s CSUReXmitInt {}s \
                 CSUReXmitMax {} Hops {} auth {}",
                c.hello_interval,
                c.dead_factor,
                c.ca_rexmit.as_secs(),
                c.csus_rexmit.as_secs(),
                c.csu_rexmit.as_secs(),
                c.csu_rexmit_max,
                c.hops,
                if c.auth_send.is_some() { "on" } else { "off" }
            );
            let _ = writeln!(
                out,
                "    Hello {} for {}s; CA {} for {}s; retransmit queue {}; CSA request list {}",
                i.hello.state.name(),
                now.since(i.hello.since).as_secs(),
                i.ca.state.name(),
                now.since(i.ca.since).as_secs(),
                i.retransmit_queue,
                i.csa_request_list
            );
            for (dir, m) in [("received", &s.rx), ("sent", &s.tx)] {
                let _ = writeln!(
                    out,
                    "    {dir}: Hello {} CA {} CSU-Request {} CSU-Reply {} CSUS {}; {} records, \
                     {} bytes",
                    m.hello, m.ca, m.csu_request, m.csu_reply, m.csus, m.records, m.bytes
                );
            }
            let _ = writeln!(
                out,
                "    malformed {} auth failures {} replays refused {} dropped {} invalid records {} \
                 retransmits CA {} CSUS {} CSA {} abnormal events {} alignments {} records \
                 learned {}",
                s.malformed,
                s.auth_failures,
                s.replays_refused,
                s.dropped,
                s.invalid_records,
                s.ca_retransmits,
                s.csus_retransmits,
                s.csa_retransmits,
                s.abnormal_events,
                s.alignments,
                s.records_learned
            );
        }
        let mut all: Vec<_> = self.server.cache().iter().collect();
        all.sort_by(|a, b| {
            (a.0.key.as_bytes(), a.0.origin.as_bytes())
                .cmp(&(b.0.key.as_bytes(), b.0.origin.as_bytes()))
        });
        let _ = writeln!(out, "  cache ({} entries):", all.len());
        for (id, e) in all {
            let from = match e.from() {
                Some(d) => format!("from DCS {}", self.dcs_label(d).0),
                None => "local".to_owned(),
            };
            let _ = writeln!(
                out,
                "    key {} originator {} seq {:#010x} {}{} age {}s data {}{}",
                hex::encode(id.key.as_bytes()),
                id_text(&id.origin),
                e.seq,
                from,
                if e.deleted() { " deleted" } else { "" },
                now.since(e.since).as_secs(),
                hex::encode(&e.data),
                if e.deleted() {
                    String::new()
                } else {
                    self.columns_note(id.key.as_bytes(), &e.data)
                }
            );
        }
        out
    }
}

async fn sleep_until(t: Option<Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

fn wanted(flags: super::cli::TraceFlags, m: &MessageSummary) -> bool {
    if m.kind == MessageType::Hello {
        flags.hello_msgs
    } else {
        flags.ca_msgs
    }
}

fn drop_text(r: &DropReason) -> String {
    match r {
        DropReason::Malformed(e) => format!("malformed: {e}"),
        DropReason::Auth(e) => format!("authentication failed: {e}"),
        DropReason::Replay(e) => format!("replay protection: {e}"),
        DropReason::WrongGroup { protocol_id, sgid } => {
            format!("wrong group (protocol {protocol_id}, server group {sgid})")
        }
        DropReason::WrongSender => "Sender ID is not the DCS's ID".to_owned(),
        DropReason::NotForUs => "Receiver ID is not ours".to_owned(),
        DropReason::NotBidirectional(k) => format!("{} before Bidirectional", k.name()),
        DropReason::UnexpectedInState(k, s) => format!("{} in state {}", k.name(), s.name()),
        DropReason::IgnoredCa(seq) => format!("CA with sequence {seq:#010x} ignored"),
        DropReason::InvalidRecord(e) => format!("invalid record: {e}"),
        DropReason::CacheFull => "cache full".to_owned(),
        DropReason::HopsExhausted => "CSA with hop count 0".to_owned(),
        DropReason::QueueFull(n) => {
            format!("{n} solicited records not answered: the retransmit queue is full")
        }
    }
}

/// A refusal of the core as the client protocol's error.
pub fn local_error(e: LocalError) -> ProtoError {
    let code = match e {
        LocalError::BadKey | LocalError::BadSeq(_) => ErrorCode::BadArgument,
        LocalError::NotFound | LocalError::UnknownToken(_) => ErrorCode::NotFound,
        LocalError::IsDeletion
        | LocalError::Invalid(_)
        | LocalError::TooLarge { .. }
        | LocalError::Full => ErrorCode::Refused,
    };
    ProtoError {
        code,
        message: e.to_string(),
    }
}

/// A nonce for this incarnation of a server: from the standard library's per-process random
/// keys (drawn from the operating system) and the time; never 0.
fn replay_nonce() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish().max(1)
}

/// The sequence number floor of a server started at `t` ([`scsp_core::ServerConfig::seq_floor`]):
/// seconds since 2000-01-01T00:00:00Z, so that each incarnation numbers above the previous
/// ones (until 2068, when the count passes 2^31 - 2 and the floor stays there).
fn seq_floor(t: std::time::SystemTime) -> u32 {
    const Y2000: u64 = 946_684_800;
    let secs = t
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        .saturating_sub(Y2000);
    u32::try_from(secs)
        .unwrap_or(u32::MAX)
        .min(scsp_core::wire::SEQ_LAST - 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::daemon::{Clock, trace::Tracer};

    #[tokio::test]
    async fn a_panicking_task_is_reported() {
        let (sup, mut sup_rx) = mpsc::channel(8);
        let shared = Arc::new(Shared {
            clock: Clock::new(),
            tracer: Arc::new(Tracer::off()),
            sup,
            next_task: Default::default(),
        });
        let core = scsp_core::ServerConfig::new(1, 1, Id::from([127, 0, 0, 1]));
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let plan = ServerPlan {
            name: "p".into(),
            protocol: crate::config::Protocol::from_id(1),
            core,
            bind: socket.local_addr().unwrap(),
            dcs: Vec::new(),
            options: Default::default(),
            profile: crate::daemon::profiles::ProfileHandle(scsp_profiles::ops_for(
                1,
                &Default::default(),
            )),
        };
        let h = spawn(plan, socket, shared, Vec::new());
        h.tx.send(ServerCmd::Panic).await.unwrap();
        match sup_rx.recv().await {
            Some(SupCmd::ServerDied { task, message }) => {
                assert_eq!((task, message.as_str()), (h.task, "test panic"));
            }
            other => panic!("{other:?}"),
        }
        // Stopping what is dead returns at once.
        assert!(h.stop("test".into()).await.is_empty());
    }
}
