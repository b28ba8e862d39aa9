//! The local client interface: a UNIX stream socket speaking [`crate::proto`]. Each connection
//! is a task; a reader task turns frames into messages, and the connection task answers them
//! one at a time, forwarding the notifications of the servers it is attached to in between.
//! A client that sends something that is not a frame, not JSON or not a known message, or that
//! breaks the session's order, gets a `Fatal` frame and is disconnected; this is counted and
//! logged, and nothing else is affected.

mod frames;
mod requests;
mod snapshot;

use frames::*;

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

use super::server::{ClientLink, RawEntries, ServerCmd, ToClient};
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
    notify: mpsc::Sender<ToClient>,
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
    let (ntx, mut nrx) = mpsc::channel::<ToClient>(NOTIFY_QUEUE);
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
                    // Streamed replies (`show cache`, the dump, the snapshot of `attach` and
                    // `watch`) are sent a page at a time.
                    if let Some(r) = s.stream(&msg, &out, &mut nrx).await {
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
                // (A page of a snapshot is only ever taken by `Session::attach_stream`.)
                let ToClient::Notify(n) = n else { continue };
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
        Response::Attached { entries, .. } => format!("attached, {} entries", entries.len()),
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
