//! One task per configured server. It owns the `scsp_core::Server`, the UDP socket the server
//! receives on and sends from (rfc2334-readings.md #19), and the table that maps a datagram's
//! source address to a DCS. Datagrams, timer expiries and commands (client requests, reloads,
//! dumps, stop) are handled one at a time; after each, everything the core wants done is
//! carried out: packets sent, events turned into log lines, trace lines and notifications for
//! the attached client.

mod cmd;
mod events;
mod io;
mod slices;
mod stream;
mod views;

pub use stream::{CachePage, DumpPage, PageFilter, parse_id, parse_key_prefix};

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
use tracing::{debug, error, info, warn};

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
/// ... or until this many octets: with large datagrams (a bulk stream at MTU 65000 carries a
/// thousand records in each), what the core has to send (the acknowledgement that lets the
/// stream go on) leaves after a few of them, not after a whole window of records.
const RECV_BATCH_BYTES: usize = 256 * 1024;
/// How long a server in Cache Alignment polls its socket for the DCS's answer before sleeping
/// (see `Task::linger`).
const LINGER: Duration = Duration::from_micros(100);
/// Socket buffers asked for, each way (the kernel caps them at net.core.rmem_max and
/// wmem_max): the default 208 KiB holds three 64 KiB packets, and a burst of CSU Requests
/// larger than that was dropped and waited for its retransmission.
const SOCKET_BUFFER: usize = 4 << 20;
/// Commands waiting for a server task.
const COMMAND_QUEUE: usize = 64;
/// Read-only monitors (`watch`) of one server: as many as there may be clients (each is a
/// connection, whose output has its own budget).
const MAX_MONITORS: usize = super::control::MAX_CLIENTS;

/// The local server attached to a server: a client connection.
#[derive(Debug, Clone)]
pub struct ClientLink {
    /// Connection number, for logs and to match Detach.
    pub conn: u64,
    /// Its queue of notifications and snapshot pages (bounded: a client that does not read is
    /// detached).
    pub notify: mpsc::Sender<ToClient>,
    /// Ends the connection with this error.
    pub kill: mpsc::Sender<ProtoError>,
}

/// What a server task sends a client connection (attached or watching), in the order it
/// happened: a page of the snapshot reflects every change notified before it.
#[derive(Debug)]
pub enum ToClient {
    /// A change.
    Notify(Notify),
    /// A page of the snapshot, asked with [`ServerCmd::SnapshotPage`].
    Snapshot(CachePage),
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
    /// A page of `show cache`: live entries selected by a filter, from a slot on.
    CachePage {
        /// What is selected.
        filter: PageFilter,
        /// The slot to start from.
        from: usize,
        /// Entries at most.
        max: usize,
        /// The page.
        reply: oneshot::Sender<CachePage>,
    },
    /// A page of the dump's cache section, from a slot on.
    DumpPage {
        /// The slot to start from.
        from: usize,
        /// Entries at most.
        max: usize,
        /// The page.
        reply: oneshot::Sender<DumpPage>,
    },
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
        /// Attached (its snapshot is then asked a page at a time: [`ServerCmd::SnapshotPage`]).
        reply: oneshot::Sender<Result<(), ProtoError>>,
    },
    /// Add a read-only monitor of the notifications.
    Watch {
        /// The monitor.
        client: ClientLink,
        /// Watching (its snapshot is then asked a page at a time).
        reply: oneshot::Sender<Result<(), ProtoError>>,
    },
    /// A page of the live entries for the attached client or a monitor, sent in its queue
    /// ([`ToClient::Snapshot`]) after the notifications of every change before it.
    SnapshotPage {
        /// Connection number (the attached client's or a monitor's).
        conn: u64,
        /// The slot to start from.
        from: usize,
        /// Entries at most.
        max: usize,
        /// Whether the page was queued (not: the connection is no longer attached, or its
        /// queue is full and it was dropped).
        reply: oneshot::Sender<bool>,
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
    /// Set what is traced for this server (`scspctl trace`).
    Trace {
        /// The letters' flags.
        flags: super::cli::TraceFlags,
        /// Done, or why not (the trace file cannot be opened).
        reply: oneshot::Sender<Result<(), ProtoError>>,
    },
    /// A reload kept the server: apply its new DCS list.
    Reconfigure {
        /// The new DCSs.
        dcs: Vec<DcsPlan>,
        /// The new `Notify`.
        notify: Option<crate::config::NotifyConfig>,
        /// Done: what changed.
        reply: oneshot::Sender<Vec<String>>,
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
    /// Read-only monitors (`watch`), at most [`MAX_MONITORS`].
    monitors: Vec<ClientLink>,
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
    /// The saved state (`StateDir`), once opened by `start`.
    store: Option<super::state::Store>,
    /// Entries read back from it at the start.
    loaded: u64,
    /// The store's writer was failing at the last look (logged once per streak).
    store_failing: bool,
    /// What `start` does before anything else: entries carried from the previous incarnation
    /// of the task, and the DCSs.
    startup: Option<(Vec<LocalEntry>, Vec<DcsPlan>)>,
    /// Entries expired and not logged yet (a burst is one line).
    expiries: super::expiries::Expiries,
    /// What is traced for this server (`-T`, then `scspctl trace`).
    trace_flags: super::cli::TraceFlags,
    /// The `Notify` script's runs.
    scripts: super::scripts::Scripts,
    /// `load`s and `handover`s being applied, a slice per turn (`slices.rs`).
    loads: std::collections::VecDeque<slices::LoadJob>,
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
    // Every line the task logs carries the server's name (`log.rs`).
    let span = tracing::info_span!("server", server = %plan.name);
    let _entered = span.clone().entered();
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
    let task_trace = shared.tracer.flags();
    server.set_trace_messages(task_trace.messages());
    // The CSUS a CSU Request completes goes out before its records are stored (see `drain`).
    server.set_pipelined(now, true);
    let profile = Profiled::new(
        &plan.name,
        plan.profile.0.clone(),
        plan.core.hash_seed ^ 0x9e37_79b9_7f4a_7c15,
    );
    let mut task = Task {
        name: plan.name.clone(),
        plan: plan.clone(),
        server,
        socket,
        raw,
        peers: BTreeMap::new(),
        by_addr: HashMap::new(),
        client: None,
        monitors: Vec::new(),
        dropped_unknown: 0,
        limit: RateLimits::default(),
        shared,
        last_timeout: None,
        buf: vec![0u8; DATAGRAM_MAX],
        profile,
        obs: Default::default(),
        store: None,
        loaded: 0,
        store_failing: false,
        startup: Some((carry, plan.dcs.clone())),
        expiries: Default::default(),
        trace_flags: task_trace,
        scripts: super::scripts::Scripts::new(&plan.name, plan.notify.clone()),
        loads: Default::default(),
    };
    task.update_learn_events();
    // The task runs inside a watcher, so that a panic (a bug) is reported to the supervisor,
    // which starts the server again, instead of leaving it dead.
    let join = tokio::spawn(async move {
        if let Err(e) = tokio::spawn(tracing::Instrument::instrument(task.run(rx), span)).await
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

    /// Before anything is sent: the saved state read back (`StateDir`), the entries carried
    /// from the previous incarnation of the task originated again, the DCSs added.
    async fn start(&mut self) {
        let Some((carry, dcs)) = self.startup.take() else {
            return;
        };
        if let Some(dir) = self.shared.state_dir.clone() {
            self.open_state(dir).await;
        }
        let now = self.now();
        for (key, data) in carry {
            if let Err(e) = self
                .profile
                .add(&mut self.server, now, &key, data.to_vec(), true)
            {
                warn!(
                    "local entry {} not kept across the restart: {e}",
                    hex::encode(&key)
                );
            }
        }
        for d in dcs {
            self.add_peer(now, d);
        }
    }

    /// Open the saved state in `dir` (off the runtime's thread: nothing else waits for the
    /// disk) and hold its entries again.
    async fn open_state(&mut self, dir: std::path::PathBuf) {
        let name = self.name.clone();
        let identity = super::state::Identity {
            protocol: self.plan.core.protocol_id,
            sgid: self.plan.core.sgid,
            lsid: self.plan.core.lsid.clone(),
        };
        let started = std::time::Instant::now();
        let floor = self.server.config().seq_floor;
        // Chunks are held again here while the next ones are read.
        let (tx, mut rx) = mpsc::channel::<Vec<scsp_core::SavedEntry>>(2);
        let reading = tokio::task::spawn_blocking(move || {
            let mut l = super::state::open(&dir, &name, &identity, &mut |chunk| {
                tx.blocking_send(chunk).is_ok()
            })?;
            // The reservation of this incarnation's first block reaches the disk here too.
            let floor = l.store.start_numbering(floor, l.reserved);
            Ok::<_, super::state::StateError>((l, floor))
        });
        let now = self.now();
        let mut r = scsp_core::Restored::default();
        while let Some(chunk) = rx.recv().await {
            let c = self.server.restore(now, chunk);
            r.entries += c.entries;
            r.ours += c.ours;
            r.deleted += c.deleted;
            r.refused += c.refused;
            r.superseded += c.superseded;
        }
        let (loaded, floor) = match reading.await {
            Ok(Ok(l)) => l,
            Ok(Err(e)) => {
                error!("saved state: {e}");
                return;
            }
            Err(e) => {
                error!("saved state: {e}");
                return;
            }
        };
        if let Some((aside, why)) = &loaded.set_aside {
            error!(
                "saved state {}: {why}; set aside as {} and started empty",
                loaded.store.path.display(),
                aside.display()
            );
        }
        if loaded.bad_rows > 0 {
            warn!(
                "saved state {}: {} rows that do not decode skipped",
                loaded.store.path.display(),
                loaded.bad_rows
            );
        }
        let floor = match floor {
            Ok(f) => f,
            Err(e) => {
                error!(
                    "saved state {}: the sequence number reservation cannot be \
                     written ({e}); running without saved state",
                    loaded.store.path.display()
                );
                return;
            }
        };
        self.server.raise_seq_floor(floor);
        self.server.set_track_changes(true);
        if loaded.rewrite {
            // What was read from the file set aside is written to the new one.
            self.server.mark_all_changed();
        }
        self.loaded = r.entries as u64;
        info!(
            "saved state {}: {} entries held again ({} of ours, {} deletions, {} \
             refused) in {} ms; numbers from {floor:#010x}",
            loaded.store.path.display(),
            r.entries,
            r.ours,
            r.deleted,
            r.refused,
            started.elapsed().as_millis()
        );
        self.store = Some(loaded.store);
    }

    /// Hand what changed in the cache to the saved state's writer (before anything queued is
    /// sent: see `state::Store::save_changes`).
    pub(super) fn save_changes(&mut self) {
        let Some(store) = &mut self.store else {
            return;
        };
        if let Err(e) = store.save_changes(&mut self.server)
            && let Some(n) = self
                .limit
                .allow(std::time::Instant::now(), "state reservation", None)
        {
            error!(
                "saved state: the sequence number reservation cannot be written: \
                 {e}{}",
                suppressed_note(n)
            );
        }
        let failing = store.failing();
        if failing != self.store_failing {
            self.store_failing = failing;
            if failing {
                error!(
                    "saved state {}: writes fail (retried; the changes wait in memory)",
                    store.path.display()
                );
            } else {
                info!("saved state: writes succeed again");
            }
        }
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
        // Its last events (Hello and CA Down) are logged while its ID is still known.
        while let Some(ev) = self.server.poll_event() {
            self.event(ev);
        }
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
            "protocol {} (profile {}), server group {}, ID {}, receiving on {}, {} \
             DCS(s)",
            self.plan.protocol,
            self.profile_label(),
            self.plan.core.sgid,
            id_text(&self.plan.core.lsid),
            self.plan.bind,
            self.peers.len()
        );
        let mut buf = vec![0u8; DATAGRAM_MAX];
        self.start().await;
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
                        let mut bytes = n;
                        for _ in 1..RECV_BATCH {
                            if bytes >= RECV_BATCH_BYTES {
                                break;
                            }
                            match self.socket.try_recv_from(&mut buf) {
                                Ok((n, from)) => {
                                    bytes += n;
                                    self.datagram(&buf[..n], from);
                                }
                                // WouldBlock; another error is seen by the next recv_from.
                                Err(_) => break,
                            }
                        }
                    }
                    Err(e) => {
                        if let Some(n) = self.limit.allow(std::time::Instant::now(), "receive error", None) {
                            warn!("receive error: {e}{}", suppressed_note(n));
                        }
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                },
                () = sleep_until(wake) => {
                    self.load_step();
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
        // Expiries not logged yet are logged now.
        let later = std::time::Instant::now() + super::expiries::WINDOW;
        if let Some(line) = self.expiries.take_due(later) {
            info!("{line}");
        }
        // Tell the DCSs nothing more: the socket closes; they will time us out.
        info!("stopped");
    }

    /// One line per log budget whose window ended with lines suppressed: the end of a burst.
    fn log_suppressed(&mut self) {
        if let Some(line) = self.expiries.take_due(std::time::Instant::now()) {
            info!("{line}");
        }
        for s in self.limit.summaries(std::time::Instant::now()) {
            let (dcs, peer) = match s.dcs {
                Some(d) => {
                    let (label, addr) = self.dcs_label(d);
                    (Some(label), Some(addr))
                }
                None => (None, None),
            };
            warn!(
                dcs = dcs.as_deref(),
                peer = peer.as_deref(),
                "{} similar messages ({}) suppressed in the last {} s",
                s.count,
                s.reason,
                super::ratelimit::WINDOW.as_secs()
            );
        }
    }

    /// When the core next needs `handle_timeout`.
    fn next_wake(&mut self) -> Option<Instant> {
        if self.loading() {
            // The next slice of a load: another turn at once.
            return Some(Instant::now());
        }
        if self
            .store
            .as_ref()
            .is_some_and(|st| st.behind(&self.server))
        {
            // Changes left for the saved state: another turn at once (a chunk each).
            return Some(Instant::now());
        }
        let protocol = self.protocol_wake();
        // And the end of a burst of expiries, to log its line.
        let expiries = self.expiries.deadline().map(Instant::from_std);
        match (protocol, expiries) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// When the core or the profile's local rules next need the task.
    fn protocol_wake(&mut self) -> Option<Instant> {
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
}

async fn sleep_until(t: Option<Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
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
        | LocalError::Full
        | LocalError::CacheBytes { .. } => ErrorCode::Refused,
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
            state_dir: None,
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
            notify: None,
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
