//! A connection's output and its streamed replies.
//!
//! Every frame for a client goes through an [`Output`]: a writer task sends the frames in order
//! while the connection counts the bytes not yet written. That count has a budget
//! ([`OUTPUT_BUDGET`]): a frame that would take it over (a client that does not read its replies
//! or notifications) ends the session with an `overflow` error, logged and counted.
//!
//! `show cache` and the dump are streamed (protocol version 2): the connection asks the server
//! task for one page at a time ([`crate::daemon::server::ServerCmd::CachePage`]), and asks for
//! the next only once the unsent output is below half the budget. A client that reads nothing
//! of a stream for [`STALL_TIMEOUT`] is disconnected the same way. No reply is ever built
//! whole, and no server task works more than one page per command.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::unix::OwnedWriteHalf;
use tokio::sync::{Notify as Wake, mpsc, oneshot};

use super::server::{CachePage, DumpPage, PageFilter, ServerCmd, parse_id, parse_key_prefix};
use crate::client::encode_frame;
use crate::proto::{
    CacheQuery, DaemonMsg, EntryView, ErrorCode, ProtoError, ReplyResult, Response,
};

/// Bytes of a connection's output not yet written to the socket, at most.
pub const OUTPUT_BUDGET: usize = 1 << 20;
/// How long a stream may wait for its client to read before the session ends.
pub const STALL_TIMEOUT: Duration = Duration::from_secs(10);
/// Entries per frame of a streamed `show cache`.
pub const PAGE_ENTRIES: usize = 256;
/// Entries per frame of a streamed dump.
pub const DUMP_ENTRIES: usize = 1024;
/// The most entries a version-1 client gets in its single `show cache` reply.
pub const V1_MAX_ENTRIES: usize = 4096;
/// The largest dump a version-1 client gets in its single reply.
pub const V1_MAX_DUMP: usize = 4 << 20;

/// A connection's output: frames queued for the writer task, and the count of bytes unsent.
pub struct Output {
    tx: Option<mpsc::UnboundedSender<Vec<u8>>>,
    unsent: Arc<AtomicUsize>,
    closed: Arc<AtomicBool>,
    progress: Arc<Wake>,
    writer: Option<tokio::task::JoinHandle<()>>,
    budget: usize,
}

impl Output {
    /// Start the writer task on `wr`.
    pub fn new(mut wr: OwnedWriteHalf, budget: usize) -> Output {
        let (tx, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
        let unsent = Arc::new(AtomicUsize::new(0));
        let closed = Arc::new(AtomicBool::new(false));
        let progress = Arc::new(Wake::new());
        let (u, c, p) = (unsent.clone(), closed.clone(), progress.clone());
        let writer = tokio::spawn(async move {
            while let Some(frame) = rx.recv().await {
                if wr.write_all(&frame).await.is_err() {
                    c.store(true, Ordering::Relaxed);
                    p.notify_one();
                    return;
                }
                u.fetch_sub(frame.len(), Ordering::Relaxed);
                p.notify_one();
            }
        });
        Output {
            tx: Some(tx),
            unsent,
            closed,
            progress,
            writer: Some(writer),
            budget,
        }
    }

    /// Bytes queued and not written yet.
    pub fn unsent(&self) -> usize {
        self.unsent.load(Ordering::Relaxed)
    }

    /// Whether the client has closed its side (a write failed).
    pub fn closed(&self) -> bool {
        self.closed.load(Ordering::Relaxed)
    }

    /// Queue `msg`. `Err`: it would take the unsent output over the budget (a frame larger
    /// than the budget is taken when nothing else waits).
    pub fn send(&self, msg: &DaemonMsg) -> Result<(), ProtoError> {
        self.send_bytes(super::control::encode(msg))
    }

    fn send_bytes(&self, frame: Vec<u8>) -> Result<(), ProtoError> {
        let before = self.unsent();
        if before > 0 && before + frame.len() > self.budget {
            return Err(over_budget(before, self.budget));
        }
        self.queue(frame);
        Ok(())
    }

    fn queue(&self, frame: Vec<u8>) {
        self.unsent.fetch_add(frame.len(), Ordering::Relaxed);
        if let Some(tx) = &self.tx {
            let _ = tx.send(frame);
        }
    }

    /// The last frame (a `Fatal`), whatever the budget; then what is queued gets `wait` to be
    /// written before the connection is dropped.
    pub async fn finish(mut self, last: Option<&DaemonMsg>, wait: Duration) {
        if let Some(msg) = last {
            let frame = encode_frame(msg).unwrap_or_default();
            self.queue(frame);
        }
        self.tx = None;
        if let Some(w) = self.writer.take() {
            let abort = w.abort_handle();
            if tokio::time::timeout(wait, w).await.is_err() {
                abort.abort();
            }
        }
    }

    /// Whether the unsent output is above half the budget: nothing more is taken from the
    /// notification queue (which then fills, and the server detaches a client that lets it
    /// overflow) until [`Output::progressed`].
    pub fn congested(&self) -> bool {
        self.unsent() > self.budget / 2 && !self.closed()
    }

    /// Returns once the writer has written a frame (or failed).
    pub async fn progressed(&self) {
        self.progress.notified().await;
    }

    /// Wait until the unsent output is below half the budget (notifications wait in their
    /// queue meanwhile). `Err`: the client read nothing for [`STALL_TIMEOUT`].
    pub async fn room(&self) -> Result<(), ProtoError> {
        self.below(self.budget / 2).await
    }

    /// Wait until everything queued is written (before a frame larger than the budget, which
    /// is taken only when nothing else waits). `Err` as [`Output::room`].
    pub async fn drained(&self) -> Result<(), ProtoError> {
        self.below(0).await
    }

    async fn below(&self, limit: usize) -> Result<(), ProtoError> {
        let mut deadline = tokio::time::Instant::now() + STALL_TIMEOUT;
        let mut last = self.unsent();
        loop {
            let now = self.unsent();
            if now <= limit || self.closed() {
                return Ok(());
            }
            if now < last {
                last = now;
                deadline = tokio::time::Instant::now() + STALL_TIMEOUT;
            }
            tokio::select! {
                () = self.progress.notified() => {}
                () = tokio::time::sleep_until(deadline) => {
                    return Err(ProtoError {
                        code: ErrorCode::Overflow,
                        message: format!(
                            "{now} bytes of output not read for {} s (a streamed reply waits \
                             for the client to read)",
                            STALL_TIMEOUT.as_secs()
                        ),
                    });
                }
            }
        }
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        if let Some(w) = &self.writer {
            w.abort();
        }
    }
}

fn over_budget(unsent: usize, budget: usize) -> ProtoError {
    ProtoError {
        code: ErrorCode::Overflow,
        message: format!(
            "{unsent} bytes of output not read and more to send (at most {budget} wait): the \
             client does not read its replies"
        ),
    }
}

fn bad(message: String) -> ProtoError {
    ProtoError {
        code: ErrorCode::BadArgument,
        message,
    }
}

/// A stream's outcome: `Ok(Err(e))` an error reply (the session goes on); `Err(e)` the session
/// ends with `e`.
pub type Streamed = Result<Result<(), ProtoError>, ProtoError>;

/// What a `show cache` request selects, as the server task takes it; and where it starts.
fn page_filter(q: &CacheQuery) -> Result<(PageFilter, usize), ProtoError> {
    let (key_prefix, key_nibble) = match &q.key {
        Some(k) => {
            parse_key_prefix(k).ok_or_else(|| bad(format!("key prefix \"{k:.40}\" is not hex")))?
        }
        None => (Vec::new(), None),
    };
    let originator = match &q.originator {
        Some(o) => Some(parse_id(o).ok_or_else(|| {
            bad(format!(
                "originator \"{o:.40}\" is not an ID (a dotted quad, an IPv6 address or hex)"
            ))
        })?),
        None => None,
    };
    let from = match &q.cursor {
        Some(c) => c.parse::<usize>().map_err(|_| {
            bad(format!(
                "cursor \"{c:.40}\" is not one this daemon gave (the `next` of a reply)"
            ))
        })?,
        None => 0,
    };
    Ok((
        PageFilter {
            key_prefix,
            key_nibble,
            originator,
            count_only: q.count,
        },
        from,
    ))
}

/// Send `show cache` of `server` to the client as `query` asks: streamed in frames of
/// [`PAGE_ENTRIES`] for a version-2 client; one frame for a version-1 client.
pub async fn show_cache(
    out: &Output,
    route: Option<mpsc::Sender<ServerCmd>>,
    server: &str,
    id: u64,
    query: &CacheQuery,
    version: u32,
) -> Streamed {
    let reply = |r: Response| DaemonMsg::Reply {
        id,
        result: ReplyResult::Ok(r),
    };
    let (filter, mut from) = match page_filter(query) {
        Ok(f) => f,
        Err(e) => return Ok(Err(e)),
    };
    let gone = || ProtoError {
        code: ErrorCode::NoSuchServer,
        message: format!("no server named \"{server:.100}\""),
    };
    let Some(tx) = route else {
        return Ok(Err(gone()));
    };
    let streamed = version >= 2;
    let limit = query.limit.map_or(usize::MAX, |l| l as usize);
    // A version-1 reply without a limit looks for one entry more than it may carry, to tell
    // "exactly the most" from "too many".
    let mut remaining = match (streamed, query.limit) {
        (true, _) => limit,
        (false, Some(_)) => limit.min(V1_MAX_ENTRIES),
        (false, None) => V1_MAX_ENTRIES + 1,
    };
    let mut whole: Vec<EntryView> = Vec::new();
    let mut counted: u64 = 0;
    loop {
        out.room().await?;
        if out.closed() {
            return Ok(Ok(()));
        }
        let (r, rx) = oneshot::channel::<CachePage>();
        let cmd = ServerCmd::CachePage {
            filter: filter.clone(),
            from,
            max: remaining.min(PAGE_ENTRIES),
            reply: r,
        };
        if tx.send(cmd).await.is_err() {
            return Ok(Err(gone()));
        }
        let Ok(page) = rx.await else {
            return Ok(Err(gone()));
        };
        counted += page.matched;
        remaining -= page.entries.len().min(remaining);
        let done = page.next.is_none() || (remaining == 0 && !filter.count_only);
        let next = if done {
            page.next.map(|n| n.to_string())
        } else {
            None
        };
        if !streamed && query.limit.is_none() && whole.len() + page.entries.len() > V1_MAX_ENTRIES {
            return Ok(Err(ProtoError {
                code: ErrorCode::Refused,
                message: format!(
                    "more than {V1_MAX_ENTRIES} entries: a version-1 reply carries no more; \
                     ask with a limit and follow `next`, or speak version 2 (streamed replies)"
                ),
            }));
        }
        if filter.count_only {
            if done {
                out.send(&reply(Response::Cache {
                    entries: Vec::new(),
                    more: false,
                    next: None,
                    count: Some(counted),
                }))?;
                return Ok(Ok(()));
            }
        } else if !streamed {
            whole.extend(page.entries);
            if done {
                whole.sort_by(|a, b| (&a.key, &a.originator).cmp(&(&b.key, &b.originator)));
                out.send(&reply(Response::Cache {
                    entries: whole,
                    more: false,
                    next,
                    count: None,
                }))?;
                return Ok(Ok(()));
            }
        } else if !page.entries.is_empty() || done {
            out.send(&reply(Response::Cache {
                entries: page.entries,
                more: !done,
                next,
                count: None,
            }))?;
            if done {
                return Ok(Ok(()));
            }
        }
        from = page.next.unwrap_or(from);
    }
}

/// Send the dump: each server's part, its cache a page at a time. A version-2 client gets it
/// in frames; a version-1 client in one, if it is no larger than [`V1_MAX_DUMP`].
pub async fn dump(out: &Output, ctx: &super::control::Ctx, id: u64, version: u32) -> Streamed {
    let (tx, mut rx) = mpsc::channel::<String>(1);
    let routes = ctx.routes.borrow().clone();
    let producer = dump_parts(routes, ctx, tx);
    tokio::pin!(producer);
    let mut whole = String::new();
    let mut producing = true;
    let mut pending: Option<String> = None;
    loop {
        if let Some(text) = pending.take() {
            if version >= 2 {
                out.room().await?;
                out.send(&DaemonMsg::Reply {
                    id,
                    result: ReplyResult::Ok(Response::Dump { text, more: true }),
                })?;
            } else {
                whole.push_str(&text);
                if whole.len() > V1_MAX_DUMP {
                    return Ok(Err(ProtoError {
                        code: ErrorCode::Refused,
                        message: format!(
                            "the dump is larger than {V1_MAX_DUMP} bytes: a version-1 reply \
                             carries no more; speak version 2 (streamed replies)"
                        ),
                    }));
                }
            }
        }
        if !producing {
            match rx.recv().await {
                Some(t) => {
                    pending = Some(t);
                    continue;
                }
                None => break,
            }
        }
        tokio::select! {
            () = &mut producer => producing = false,
            t = rx.recv() => match t {
                Some(t) => pending = Some(t),
                None => producing = false,
            },
        }
    }
    let text = if version >= 2 { String::new() } else { whole };
    out.send(&DaemonMsg::Reply {
        id,
        result: ReplyResult::Ok(Response::Dump { text, more: false }),
    })?;
    Ok(Ok(()))
}

/// The dump's text in parts, sent to `tx` (bounded: the next part is made once the last is
/// taken): the heading, each server's part with its cache a page at a time, the client
/// interface's line.
pub async fn dump_parts(
    routes: Arc<super::control::Routes>,
    ctx: &super::control::Ctx,
    tx: mpsc::Sender<String>,
) {
    use std::fmt::Write as _;
    let head = format!(
        "scspd {} (pid {}) dump at {}\n",
        env!("CARGO_PKG_VERSION"),
        std::process::id(),
        super::log::rfc3339_now()
    );
    if tx.send(head).await.is_err() {
        return;
    }
    for (name, stx) in routes.iter() {
        let (reply, rx) = oneshot::channel();
        let text = if stx.send(ServerCmd::Dump(reply)).await.is_ok() {
            rx.await.ok()
        } else {
            None
        };
        let Some(text) = text else {
            if tx.send(format!("server {name}: stopped\n")).await.is_err() {
                return;
            }
            continue;
        };
        if tx.send(text).await.is_err() {
            return;
        }
        let mut from = 0;
        loop {
            let (reply, rx) = oneshot::channel::<DumpPage>();
            let cmd = ServerCmd::DumpPage {
                from,
                max: DUMP_ENTRIES,
                reply,
            };
            if stx.send(cmd).await.is_err() {
                break;
            }
            let Ok(page) = rx.await else { break };
            if !page.text.is_empty() && tx.send(page.text).await.is_err() {
                return;
            }
            match page.next {
                Some(n) => from = n,
                None => break,
            }
        }
    }
    let mut tail = String::new();
    let _ = writeln!(tail, "{}", super::dump::interface_line(ctx));
    let _ = tx.send(tail).await;
}
