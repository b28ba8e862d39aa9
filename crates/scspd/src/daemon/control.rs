//! The local client interface: a UNIX stream socket speaking [`crate::proto`]. Each connection
//! is a task; a reader task turns frames into messages, and the connection task answers them
//! one at a time, forwarding the notifications of the servers it is attached to in between.
//! A client that sends something that is not a frame, not JSON or not a known message, or that
//! breaks the session's order, gets a `Fatal` frame and is disconnected; this is counted and
//! logged, and nothing else is affected.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::unix::OwnedWriteHalf;
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinSet;
use tracing::{debug, info, warn};

use super::server::{ClientLink, RawEntries, ServerCmd};
use super::{Shared, SupCmd};
use crate::client::{code_name, encode_frame, frame_len};
use crate::proto::{
    ClientMsg, DaemonMsg, ErrorCode, KeyData, MIN_VERSION, Notify, ProtoError, ReplyResult,
    Request, Response, VERSION,
};

/// Most clients connected at once; more are refused with a `Busy` error. Not a small pool to
/// share: connections that never say hello are closed after [`HELLO_TIMEOUT`], those attached
/// to no server after the idle timeout, and one that does not read its output when it goes over
/// its budget ([`super::stream::OUTPUT_BUDGET`]); the bound only caps the memory and descriptors
/// that clients can hold.
pub const MAX_CLIENTS: usize = 1024;
/// Notifications queued for one client; when full, the client is detached and disconnected.
pub const NOTIFY_QUEUE: usize = 4096;
/// How long a new connection has to send its `hello`.
pub const HELLO_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the rest of a frame may take once its first byte has arrived.
pub const FRAME_TIMEOUT: Duration = Duration::from_secs(10);
/// The default idle timeout: a connection attached to no server that sends no request for this
/// long is closed (`--client-idle-timeout`).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(300);
/// How long a `Fatal` frame may take to be written to a client before it is dropped anyway.
const FATAL_WRITE_TIMEOUT: Duration = Duration::from_secs(1);

/// The servers by name, in configuration order, as published by the supervisor.
pub type Routes = Vec<(String, tokio::sync::mpsc::Sender<ServerCmd>)>;

/// Counters of the client interface.
#[derive(Debug, Default)]
pub struct ControlStats {
    /// Connections open now.
    pub active: AtomicU64,
    /// Connections accepted since start.
    pub accepted: AtomicU64,
    /// Sessions ended for a protocol error of the client (or a notification overflow).
    pub bad: AtomicU64,
    /// Connections refused because [`MAX_CLIENTS`] were connected.
    pub refused: AtomicU64,
    /// Sessions ended because the client did not read its output (over its budget, or a
    /// stream stalled); counted in `bad` too.
    pub slow: AtomicU64,
}

/// What connections share.
#[derive(Debug)]
pub struct Ctx {
    /// Current servers.
    pub routes: watch::Receiver<Arc<Routes>>,
    /// Counters.
    pub stats: ControlStats,
    /// Clock and tracer.
    pub shared: Arc<Shared>,
    /// The socket's path (for the dump).
    pub path: PathBuf,
    /// How long a connection attached to no server may stay without a request.
    pub idle: Duration,
    /// The daemon's status board.
    pub status: Arc<super::status::Board>,
}

/// Bind the socket at `path` with `mode` (0660 by default) and, if given, group `gid`. A stale
/// socket file is removed; a live one (another daemon answers) or a file that is not a socket is
/// an error.
pub fn bind(path: &Path, mode: u32, gid: Option<u32>) -> Result<UnixListener, String> {
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    let shown = path.display();
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_socket() => {
            if std::os::unix::net::UnixStream::connect(path).is_ok() {
                return Err(format!(
                    "another daemon is listening on {shown}; stop it or give another -s"
                ));
            }
            std::fs::remove_file(path)
                .map_err(|e| format!("can't remove stale socket {shown}: {e}"))?;
        }
        Ok(_) => return Err(format!("{shown} exists and is not a socket")),
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(format!("can't use socket path {shown}: {e}")),
    }
    let listener = UnixListener::bind(path).map_err(|e| format!("can't listen on {shown}: {e}"))?;
    if let Some(gid) = gid {
        std::os::unix::fs::chown(path, None, Some(gid))
            .map_err(|e| format!("can't set the group of {shown} to {gid}: {e}"))?;
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| format!("can't set the mode of {shown}: {e}"))?;
    Ok(listener)
}

/// Accept clients until the task is aborted (which aborts every connection too). On a
/// `read_only` socket only the requests of [`read_only_allows`] are answered.
pub async fn serve(listener: UnixListener, ctx: Arc<Ctx>, read_only: bool) {
    let mut conns = JoinSet::new();
    let mut next: u64 = 1;
    loop {
        tokio::select! {
            r = listener.accept() => match r {
                Ok((stream, _)) => {
                    let conn = next;
                    next += 1;
                    if conns.len() >= MAX_CLIENTS {
                        ctx.stats.refused.fetch_add(1, Ordering::Relaxed);
                        warn!("client #{conn} refused: {MAX_CLIENTS} clients are connected");
                        conns.spawn(refuse(stream));
                        continue;
                    }
                    ctx.stats.accepted.fetch_add(1, Ordering::Relaxed);
                    conns.spawn(connection(stream, ctx.clone(), conn, read_only));
                }
                Err(e) => {
                    warn!("client socket: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            Some(_) = conns.join_next() => {}
        }
    }
}

async fn refuse(stream: UnixStream) {
    let (_, mut wr) = stream.into_split();
    let msg = DaemonMsg::Fatal {
        error: ProtoError {
            code: ErrorCode::Busy,
            message: format!("too many clients (at most {MAX_CLIENTS})"),
        },
    };
    let _ = tokio::time::timeout(FATAL_WRITE_TIMEOUT, write_msg(&mut wr, &msg)).await;
}

/// Encode a frame; a reply that cannot be (over [`crate::proto::MAX_FRAME`]) becomes an error
/// reply.
pub(super) fn encode(msg: &DaemonMsg) -> Vec<u8> {
    encode_frame(msg).unwrap_or_else(|e| {
        let id = match msg {
            DaemonMsg::Reply { id, .. } => *id,
            _ => 0,
        };
        let err = DaemonMsg::Reply {
            id,
            result: ReplyResult::Error(ProtoError {
                code: ErrorCode::Refused,
                message: format!("the reply cannot be sent: {e}"),
            }),
        };
        encode_frame(&err).unwrap_or_default()
    })
}

async fn write_msg(wr: &mut OwnedWriteHalf, msg: &DaemonMsg) -> std::io::Result<()> {
    wr.write_all(&encode(msg)).await
}

fn bad_frame(message: impl Into<String>) -> ProtoError {
    ProtoError {
        code: ErrorCode::BadFrame,
        message: message.into(),
    }
}

/// Read frames until the connection ends or a frame is bad. A clean end (between frames) ends
/// the channel; anything else sends one error.
async fn read_frames<R: AsyncRead + Unpin>(
    mut rd: R,
    tx: mpsc::Sender<Result<ClientMsg, ProtoError>>,
) {
    loop {
        let mut header = [0u8; 4];
        // Between frames a client may wait as long as it likes (the connection's idle timeout
        // bounds that); once a frame has begun, the rest has FRAME_TIMEOUT to arrive.
        let got = match rd.read(&mut header).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let rest = tokio::time::timeout(FRAME_TIMEOUT, read_rest(&mut rd, header, got)).await;
        let body = match rest {
            Err(_) => {
                let _ = tx
                    .send(Err(bad_frame(format!(
                        "frame not completed within {} s of its first byte",
                        FRAME_TIMEOUT.as_secs()
                    ))))
                    .await;
                return;
            }
            Ok(Err(None)) => return,
            Ok(Err(Some(e))) => {
                let _ = tx.send(Err(e)).await;
                return;
            }
            Ok(Ok(body)) => body,
        };
        let msg = parse(body).await;
        let stop = msg.is_err();
        if tx.send(msg).await.is_err() || stop {
            return;
        }
    }
}

/// A frame's message; a large one (a `load`) is parsed off the runtime's thread, so that no
/// server task waits for it.
async fn parse(body: Vec<u8>) -> Result<ClientMsg, ProtoError> {
    let small = body_is_small(&body);
    let parse = move || {
        serde_json::from_slice::<ClientMsg>(&body)
            .map_err(|e| bad_frame(format!("not a client message: {e}")))
    };
    if small {
        return parse();
    }
    tokio::task::spawn_blocking(parse)
        .await
        .unwrap_or_else(|e| Err(bad_frame(format!("the frame could not be parsed: {e}"))))
}

/// Frames up to this size are parsed in place (a few milliseconds at most; a `load` of a
/// thousand entries, about 130 KB, then costs no hop to another thread and back).
const PARSE_IN_PLACE: usize = 1 << 20;

fn body_is_small(body: &[u8]) -> bool {
    body.len() <= PARSE_IN_PLACE
}

/// Read the rest of a frame whose first `got` header bytes are in `header`: its body, or the
/// error to send (`None`: the connection failed, nothing to say).
async fn read_rest<R: AsyncRead + Unpin>(
    rd: &mut R,
    mut header: [u8; 4],
    mut got: usize,
) -> Result<Vec<u8>, Option<ProtoError>> {
    {
        while got < 4 {
            match rd.read(&mut header[got..]).await {
                Ok(0) => return Err(Some(bad_frame("connection closed inside a frame"))),
                Ok(n) => got += n,
                Err(_) => return Err(None),
            }
        }
        let len = match frame_len(header) {
            Ok(len) => len,
            Err(e) => return Err(Some(bad_frame(e.to_string()))),
        };
        // Grows as bytes arrive: an announced length allocates nothing by itself.
        let mut body = Vec::new();
        match rd.take(len as u64).read_to_end(&mut body).await {
            Ok(n) if n == len => Ok(body),
            Ok(_) => Err(Some(bad_frame("connection closed inside a frame"))),
            Err(_) => Err(None),
        }
    }
}

/// Aborts a task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

struct Session {
    conn: u64,
    ctx: Arc<Ctx>,
    hello: Option<String>,
    /// The protocol version the client said in its hello.
    version: u32,
    /// Connected to the read-only socket.
    read_only: bool,
    attached: Vec<String>,
    notify: mpsc::Sender<Notify>,
    kill: mpsc::Sender<ProtoError>,
}

async fn connection(stream: UnixStream, ctx: Arc<Ctx>, conn: u64, read_only: bool) {
    ctx.stats.active.fetch_add(1, Ordering::Relaxed);
    let tracer = ctx.shared.tracer.clone();
    let fsm = tracer.flags().client_fsm;
    let msgs = tracer.flags().client_msgs;
    if fsm {
        tracer.line("client", format_args!("client #{conn}: Null -> Connected"));
    }
    debug!("client #{conn} connected");
    let (rd, wr) = stream.into_split();
    let out = super::stream::Output::new(wr, super::stream::OUTPUT_BUDGET);
    let (req_tx, mut req_rx) = mpsc::channel(4);
    let _reader = AbortOnDrop(tokio::spawn(read_frames(rd, req_tx)));
    let (ntx, mut nrx) = mpsc::channel::<Notify>(NOTIFY_QUEUE);
    let (ktx, mut krx) = mpsc::channel::<ProtoError>(1);
    let mut s = Session {
        conn,
        ctx: ctx.clone(),
        hello: None,
        version: VERSION,
        read_only,
        attached: Vec::new(),
        notify: ntx,
        kill: ktx,
    };
    // Until the hello, HELLO_TIMEOUT; then, while attached to no server, the idle timeout
    // from the last request.
    let mut deadline = tokio::time::Instant::now() + HELLO_TIMEOUT.min(ctx.idle);
    let outcome: Result<(), ProtoError> = loop {
        tokio::select! {
            _ = tokio::time::sleep_until(deadline), if s.attached.is_empty() => {
                break Err(ProtoError {
                    code: ErrorCode::Sequence,
                    message: if s.hello.is_none() {
                        format!("no hello within {} s", HELLO_TIMEOUT.min(ctx.idle).as_secs_f64())
                    } else {
                        format!(
                            "idle for {} s without attaching; closed",
                            ctx.idle.as_secs_f64()
                        )
                    },
                });
            }
            m = req_rx.recv() => match m {
                None => break Ok(()),
                Some(Err(e)) => break Err(e),
                Some(Ok(msg)) => {
                    deadline = tokio::time::Instant::now() + ctx.idle;
                    if msgs {
                        tracer.line("client", format_args!("client #{conn}: in: {}", brief(&msg)));
                    }
                    // Streamed replies (`show cache`, the dump) are sent a page at a time.
                    if let Some(r) = s.stream(&msg, &out).await {
                        match r {
                            Ok(()) => {
                                if out.closed() {
                                    break Ok(());
                                }
                                continue;
                            }
                            Err(e) => break Err(e),
                        }
                    }
                    match s.handle(msg).await {
                        Ok(reply) => {
                            if msgs {
                                tracer.line("client", format_args!(
                                    "client #{conn}: out: {}", brief_out(&reply)));
                            }
                            if let Err(e) = out.send(&reply) {
                                break Err(e);
                            }
                            if out.closed() {
                                break Ok(());
                            }
                        }
                        Err(e) => break Err(e),
                    }
                }
            },
            // While the client's output is congested, notifications wait in their queue.
            () = out.progressed(), if out.congested() => {}
            Some(n) = nrx.recv(), if !out.congested() => {
                if let Err(e) = out.send(&DaemonMsg::Notify(n)) {
                    break Err(e);
                }
                if out.closed() {
                    break Ok(());
                }
            }
            Some(e) = krx.recv() => break Err(e),
        }
    };
    if let Err(error) = outcome {
        ctx.stats.bad.fetch_add(1, Ordering::Relaxed);
        if error.code == ErrorCode::Overflow {
            ctx.stats.slow.fetch_add(1, Ordering::Relaxed);
        }
        let who = s.hello.as_deref().unwrap_or("unidentified client");
        warn!(
            "client #{conn} ({who}): {}: {}; disconnected",
            code_name(&error),
            error.message
        );
        let msg = DaemonMsg::Fatal { error };
        out.finish(Some(&msg), FATAL_WRITE_TIMEOUT).await;
    } else {
        out.finish(None, FATAL_WRITE_TIMEOUT).await;
    }
    for server in std::mem::take(&mut s.attached) {
        if let Some(tx) = s.route(&server) {
            let _ = tx.send(ServerCmd::Detach { conn }).await;
        }
    }
    if fsm {
        tracer.line("client", format_args!("client #{conn}: Connected -> Null"));
    }
    debug!("client #{conn} disconnected");
    ctx.stats.active.fetch_sub(1, Ordering::Relaxed);
}

/// A message for the trace, cut short (without formatting more than that of a large message).
fn brief(m: &ClientMsg) -> String {
    use std::fmt::Write as _;
    const MAX: usize = 200;
    struct Limited(String);
    impl std::fmt::Write for Limited {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            for c in s.chars() {
                if self.0.len() >= MAX {
                    return Err(std::fmt::Error);
                }
                self.0.push(c);
            }
            Ok(())
        }
    }
    let mut t = Limited(String::new());
    if write!(t, "{m:?}").is_err() {
        t.0.push_str("...");
    }
    t.0
}

fn brief_out(m: &DaemonMsg) -> String {
    match m {
        DaemonMsg::Welcome { version, daemon } => format!("welcome {daemon} v{version}"),
        DaemonMsg::Reply { id, result } => match result {
            ReplyResult::Ok(r) => format!("reply {id}: ok {}", response_kind(r)),
            ReplyResult::Error(e) => {
                format!("reply {id}: error {}: {}", code_name(e), e.message)
            }
        },
        DaemonMsg::Notify(n) => format!("notify {n:?}"),
        DaemonMsg::Fatal { error } => format!("fatal {}", error.message),
    }
}

fn response_kind(r: &Response) -> String {
    match r {
        Response::Done => "done".to_owned(),
        Response::Servers { servers } => format!("{} server(s)", servers.len()),
        Response::Dcs { dcs } => format!("{} DCS(s)", dcs.len()),
        Response::Cache { entries, .. } => format!("{} entries", entries.len()),
        Response::Added { seq } => format!("added seq {seq:#010x}"),
        Response::Loaded { accepted, errors } => {
            format!("loaded {accepted}, {} error(s)", errors.len())
        }
        Response::Dump { text, .. } => format!("dump of {} bytes", text.len()),
        Response::Attached { entries } => format!("attached, {} entries", entries.len()),
        Response::RecordAdded { entry } => format!("record added, key {}", entry.key),
        Response::RecordsDeleted { entries } => format!("{} record(s) deleted", entries.len()),
        Response::Metrics { text } => format!("metrics, {} bytes", text.len()),
        Response::Status { status } => format!("status, pid {}", status.pid),
    }
}

/// What a client of the read-only socket may ask: to see, never to change.
pub fn read_only_allows(req: &Request) -> bool {
    matches!(
        req,
        Request::ShowServers
            | Request::ShowDcs { .. }
            | Request::ShowCache { .. }
            | Request::Dump
            | Request::Watch { .. }
            | Request::ShowMetrics
            | Request::ShowStatus
    )
}

fn err(code: ErrorCode, message: impl Into<String>) -> ProtoError {
    ProtoError {
        code,
        message: message.into(),
    }
}

fn unhex(what: &str, s: &str) -> Result<Vec<u8>, ProtoError> {
    hex::decode(s).map_err(|e| err(ErrorCode::BadArgument, format!("{what} \"{s:.40}\": {e}")))
}

fn unhex_all(entries: &[KeyData]) -> Result<RawEntries, ProtoError> {
    entries
        .iter()
        .map(|e| Ok((unhex("key", &e.key)?, unhex("data", &e.data)?, e.seq)))
        .collect()
}

impl Session {
    fn route(&self, server: &str) -> Option<mpsc::Sender<ServerCmd>> {
        let routes = self.ctx.routes.borrow().clone();
        routes
            .iter()
            .find(|(n, _)| n == server)
            .map(|(_, tx)| tx.clone())
    }

    /// Send a command to a server and wait for its answer.
    async fn ask<T>(
        &self,
        server: &str,
        make: impl FnOnce(oneshot::Sender<T>) -> ServerCmd,
    ) -> Result<T, ProtoError> {
        let gone = || {
            err(
                ErrorCode::NoSuchServer,
                format!("no server named \"{server:.100}\""),
            )
        };
        let tx = self.route(server).ok_or_else(gone)?;
        let (reply, rx) = oneshot::channel();
        tx.send(make(reply)).await.map_err(|_| gone())?;
        rx.await.map_err(|_| gone())
    }

    /// Answer one message; `Err` ends the session.
    async fn handle(&mut self, msg: ClientMsg) -> Result<DaemonMsg, ProtoError> {
        match msg {
            ClientMsg::Hello { version, client } => {
                if self.hello.is_some() {
                    return Err(err(ErrorCode::Sequence, "Hello sent twice"));
                }
                if !(MIN_VERSION..=VERSION).contains(&version) {
                    return Err(err(
                        ErrorCode::Version,
                        format!(
                            "protocol version {version} is not supported (only \
                             {MIN_VERSION} to {VERSION})"
                        ),
                    ));
                }
                self.version = version;
                let name: String = client.chars().take(64).collect();
                debug!("client #{}: {name}", self.conn);
                self.hello = Some(name);
                Ok(DaemonMsg::Welcome {
                    version,
                    daemon: format!("scspd {}", env!("CARGO_PKG_VERSION")),
                })
            }
            ClientMsg::Request { .. } if self.hello.is_none() => {
                Err(err(ErrorCode::Sequence, "a request before Hello"))
            }
            ClientMsg::Request { id, req } if self.read_only && !read_only_allows(&req) => {
                Ok(DaemonMsg::Reply {
                    id,
                    result: ReplyResult::Error(err(
                        ErrorCode::Refused,
                        "this is the read-only socket: only show, dump and watch requests",
                    )),
                })
            }
            ClientMsg::Request { id, req } => {
                let result = match self.request(req).await {
                    Ok(r) => ReplyResult::Ok(r),
                    Err(e) => ReplyResult::Error(e),
                };
                Ok(DaemonMsg::Reply { id, result })
            }
        }
    }

    async fn request(&mut self, req: Request) -> Result<Response, ProtoError> {
        let conn = self.conn;
        match req {
            Request::ShowServers => {
                let names: Vec<String> = self.names();
                let mut servers = Vec::with_capacity(names.len());
                for n in names {
                    match self.ask(&n, ServerCmd::View).await {
                        Ok(v) => servers.push(v),
                        // Stopped meanwhile by a reload: left out.
                        Err(_) if self.route(&n).is_none() => {}
                        Err(_) => servers.push(crate::proto::ServerView {
                            name: n,
                            state: "stopped".to_owned(),
                            error: Some("its task has ended".to_owned()),
                            ..Default::default()
                        }),
                    }
                }
                servers.extend(self.ctx.status.failed_servers());
                Ok(Response::Servers { servers })
            }
            Request::ShowDcs { server } => {
                let names = match server {
                    Some(n) => vec![n],
                    None => self.names(),
                };
                let one = names.len() == 1;
                let mut dcs = Vec::new();
                for n in names {
                    match self.ask(&n, ServerCmd::Dcs).await {
                        Ok(v) => dcs.extend(v),
                        Err(e) if one => return Err(e),
                        Err(_) => {}
                    }
                }
                Ok(Response::Dcs { dcs })
            }
            // Streamed: see `Session::stream`.
            Request::ShowCache { .. } | Request::Dump => Err(err(
                ErrorCode::Refused,
                "a streamed request reached the plain path",
            )),
            Request::Add { server, key, data } => {
                let (key, data) = (unhex("key", &key)?, unhex("data", &data)?);
                let seq = self
                    .ask(&server, |reply| ServerCmd::Add {
                        from: conn,
                        key,
                        data,
                        reply,
                    })
                    .await??;
                Ok(Response::Added { seq })
            }
            Request::Del { server, key } => {
                let key = unhex("key", &key)?;
                self.ask(&server, |reply| ServerCmd::Del {
                    from: conn,
                    key,
                    reply,
                })
                .await??;
                Ok(Response::Done)
            }
            Request::AddRecord {
                server,
                record,
                profile,
            } => {
                let response = self
                    .ask(&server, |reply| ServerCmd::AddRecord {
                        from: conn,
                        record,
                        profile,
                        reply,
                    })
                    .await??;
                Ok(response)
            }
            Request::DelRecord {
                server,
                selector,
                profile,
            } => {
                let entries = self
                    .ask(&server, |reply| ServerCmd::DelRecord {
                        from: conn,
                        selector,
                        profile,
                        reply,
                    })
                    .await??;
                Ok(Response::RecordsDeleted { entries })
            }
            Request::Load { server, entries } => self.load(server, entries, false).await,
            Request::Handover { server, entries } => self.load(server, entries, true).await,
            Request::Attach { server, confirm } => {
                let client = ClientLink {
                    conn,
                    notify: self.notify.clone(),
                    kill: self.kill.clone(),
                };
                let entries = self
                    .ask(&server, |reply| ServerCmd::Attach {
                        client,
                        confirm,
                        reply,
                    })
                    .await??;
                if !self.attached.contains(&server) {
                    self.attached.push(server);
                }
                Ok(Response::Attached { entries })
            }
            Request::Watch { server } => {
                let client = ClientLink {
                    conn,
                    notify: self.notify.clone(),
                    kill: self.kill.clone(),
                };
                let entries = self
                    .ask(&server, |reply| ServerCmd::Watch { client, reply })
                    .await??;
                if !self.attached.contains(&server) {
                    self.attached.push(server);
                }
                Ok(Response::Attached { entries })
            }
            Request::Confirm {
                server,
                token,
                accept,
            } => {
                self.ask(&server, |reply| ServerCmd::Confirm {
                    conn,
                    token,
                    accept,
                    reply,
                })
                .await??;
                Ok(Response::Done)
            }
            Request::ShowMetrics => {
                let g = super::metrics::gather(&self.ctx).await;
                Ok(Response::Metrics {
                    text: super::metrics::encode(g, true),
                })
            }
            Request::ShowStatus => {
                let running = self.ctx.routes.borrow().len() as u32;
                Ok(Response::Status {
                    status: self.ctx.status.view(running),
                })
            }
            Request::DcsControl {
                server,
                dcs,
                action,
            } => {
                let op = super::metrics::Control::Dcs(dcs, action);
                self.ask(&server, |reply| ServerCmd::Control { op, reply })
                    .await??;
                Ok(Response::Done)
            }
            Request::Realign { server, dcs } => {
                let op = super::metrics::Control::Realign(dcs);
                self.ask(&server, |reply| ServerCmd::Control { op, reply })
                    .await??;
                Ok(Response::Done)
            }
            Request::Trace { server, letters } => {
                let (flags, unknown) = super::cli::TraceFlags::parse([letters.as_str()]);
                if !unknown.is_empty() {
                    let bad: String = unknown.into_iter().collect();
                    return Err(err(
                        ErrorCode::BadArgument,
                        format!("unknown trace letters {bad:?} (use c h i C H I)"),
                    ));
                }
                self.ask(&server, |reply| ServerCmd::Trace { flags, reply })
                    .await??;
                Ok(Response::Done)
            }
            Request::ClearCounters { server } => {
                let names = match server {
                    Some(n) => vec![n],
                    None => self.names(),
                };
                for n in names {
                    let op = super::metrics::Control::Clear;
                    self.ask(&n, |reply| ServerCmd::Control { op, reply })
                        .await??;
                }
                Ok(Response::Done)
            }
            Request::Reload => {
                let (reply, rx) = oneshot::channel();
                let down = || err(ErrorCode::Refused, "the daemon is shutting down");
                self.ctx
                    .shared
                    .sup
                    .send(SupCmd::Reload(reply))
                    .await
                    .map_err(|_| down())?;
                match rx.await.map_err(|_| down())? {
                    Ok(()) => Ok(Response::Done),
                    Err(errors) => Err(err(ErrorCode::Config, errors.join("\n"))),
                }
            }
        }
    }

    /// Answer a streamed request (`show cache`, the dump) a page at a time; `None` for any
    /// other message.
    async fn stream(
        &mut self,
        msg: &ClientMsg,
        out: &super::stream::Output,
    ) -> Option<Result<(), ProtoError>> {
        let ClientMsg::Request { id, req } = msg else {
            return None;
        };
        // (Before the hello, `handle` ends the session.)
        self.hello.as_ref()?;
        let r = match req {
            Request::ShowCache { server, query } => {
                let route = self.route(server);
                super::stream::show_cache(out, route, server, *id, query, self.version).await
            }
            Request::Dump => super::stream::dump(out, &self.ctx, *id, self.version).await,
            _ => return None,
        };
        Some(match r {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => out.send(&DaemonMsg::Reply {
                id: *id,
                result: ReplyResult::Error(e),
            }),
            Err(e) => Err(e),
        })
    }

    fn names(&self) -> Vec<String> {
        self.ctx
            .routes
            .borrow()
            .iter()
            .map(|(n, _)| n.clone())
            .collect()
    }

    async fn load(
        &self,
        server: String,
        entries: Vec<KeyData>,
        handover: bool,
    ) -> Result<Response, ProtoError> {
        // (Off the runtime's thread for a big request: nothing waits for it.)
        let entries = if entries.len() <= 1024 {
            unhex_all(&entries)?
        } else {
            tokio::task::spawn_blocking(move || unhex_all(&entries))
                .await
                .map_err(|e| {
                    err(
                        ErrorCode::Refused,
                        format!("the entries could not be read: {e}"),
                    )
                })??
        };
        let (accepted, errors) = self
            .ask(&server, |reply| ServerCmd::Load {
                from: self.conn,
                entries,
                handover,
                reply,
            })
            .await?;
        if handover {
            info!(
                server = %server,
                "client #{} handed over {accepted} entries",
                self.conn
            );
        }
        Ok(Response::Loaded { accepted, errors })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::MAX_FRAME;

    #[tokio::test]
    async fn frames_are_checked() {
        async fn run(bytes: Vec<u8>) -> Vec<Result<ClientMsg, ProtoError>> {
            let (tx, mut rx) = mpsc::channel(8);
            read_frames(&bytes[..], tx).await;
            let mut out = Vec::new();
            while let Some(m) = rx.recv().await {
                out.push(m);
            }
            out
        }
        let hello = br#"{"type":"hello","version":1,"client":"t"}"#;
        let mut ok = (hello.len() as u32).to_be_bytes().to_vec();
        ok.extend_from_slice(hello);
        let r = run(ok.clone()).await;
        assert_eq!(r.len(), 1);
        assert!(matches!(r[0], Ok(ClientMsg::Hello { version: 1, .. })));
        // Clean end between frames: nothing more.
        assert_eq!(run(Vec::new()).await.len(), 0);
        // Truncated header, truncated body, zero and huge lengths, bad JSON.
        for bad in [
            vec![0, 0],
            ok[..ok.len() - 1].to_vec(),
            vec![0, 0, 0, 0],
            vec![0xff, 0xff, 0xff, 0xff],
            [&[0, 0, 0, 3][..], b"{}x"].concat(),
        ] {
            let r = run(bad.clone()).await;
            assert_eq!(r.len(), 1, "{bad:?}");
            assert_eq!(r[0].as_ref().unwrap_err().code, ErrorCode::BadFrame);
        }
    }

    #[test]
    fn traced_messages_are_cut_short() {
        let big = ClientMsg::Request {
            id: 1,
            req: Request::Load {
                server: "s".into(),
                entries: vec![
                    KeyData {
                        key: "00".into(),
                        data: "11".into(),
                        seq: None
                    };
                    10_000
                ],
            },
        };
        let t = brief(&big);
        assert!(
            t.len() <= 203 && t.ends_with("...") && t.starts_with("Request"),
            "{t}"
        );
        let small = ClientMsg::Hello {
            version: 1,
            client: "x".into(),
        };
        assert_eq!(brief(&small), format!("{small:?}"));
    }

    #[test]
    fn oversized_replies_become_errors() {
        let big = DaemonMsg::Reply {
            id: 7,
            result: ReplyResult::Ok(Response::Dump {
                text: "x".repeat(MAX_FRAME + 1),
                more: false,
            }),
        };
        let f = encode(&big);
        let len = u32::from_be_bytes([f[0], f[1], f[2], f[3]]) as usize;
        assert_eq!(len, f.len() - 4);
        let back: DaemonMsg = serde_json::from_slice(&f[4..]).unwrap();
        assert!(matches!(
            back,
            DaemonMsg::Reply {
                id: 7,
                result: ReplyResult::Error(_)
            }
        ));
    }
}
