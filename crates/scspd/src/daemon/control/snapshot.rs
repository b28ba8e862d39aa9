//! The reply to `attach` and `watch`: the server's live entries (the snapshot), asked of the
//! server task a page at a time, each page only once the connection's unsent output is below
//! half its budget (as `show cache`'s), so that neither the daemon's memory nor the server's
//! turn grows with the cache.
//!
//! The pages come through the connection's notification queue, behind the notifications of
//! every change made before each was taken: the connection passes both on in that order. In
//! protocol version 3 the pages are frames of the reply (`more` on all but the last, which ends
//! the snapshot) with those notifications between them; a client that applies every frame in
//! the order received holds the cache as it is (docs/client-protocol.md, "The snapshot"). A
//! client of version 1 or 2 gets one frame: the connection applies the notifications to the
//! pages itself and sends the cache as the snapshot ended, then the notifications that follow
//! (and the `confirm`s that came meanwhile); such a reply is bounded by `MAX_FRAME`.

use std::collections::BTreeMap;

use super::*;
use crate::daemon::server::ToClient;
use crate::daemon::stream::{Output, PAGE_ENTRIES};
use crate::proto::{EntryView, MAX_FRAME};

/// The snapshot folded for a client of version 1 or 2, with the size of its JSON.
#[derive(Default)]
struct Folded {
    held: BTreeMap<(String, String), (EntryView, usize)>,
    bytes: usize,
    /// Notifications to send after the reply (`confirm`).
    later: Vec<Notify>,
}

impl Folded {
    fn store(&mut self, e: EntryView) {
        let size = serde_json::to_vec(&e).map_or(0, |v| v.len() + 1);
        self.bytes += size;
        let k = (e.key.clone(), e.originator.clone());
        if let Some((_, old)) = self.held.insert(k, (e, size)) {
            self.bytes -= old;
        }
    }

    fn apply(&mut self, n: Notify) {
        match n {
            Notify::Learned { entry, .. } | Notify::Replaced { entry, .. } => self.store(entry),
            Notify::Removed { entry, .. } => {
                if let Some((_, old)) = self.held.remove(&(entry.key, entry.originator)) {
                    self.bytes -= old;
                }
            }
            other => self.later.push(other),
        }
    }
}

impl Session {
    /// Attach (or watch, as `req` asks) and send the snapshot; `Err` ends the session.
    pub(super) async fn attach_stream(
        &mut self,
        id: u64,
        req: &Request,
        out: &Output,
        nrx: &mut mpsc::Receiver<ToClient>,
    ) -> Result<(), ProtoError> {
        let server = match req {
            Request::Attach { server, .. } | Request::Watch { server } => server.clone(),
            _ => return Ok(()),
        };
        let reply = |result| DaemonMsg::Reply { id, result };
        if let Err(e) = self.request(req.clone()).await {
            return out.send(&reply(ReplyResult::Error(e)));
        }
        let streamed = self.version >= 3;
        let mut folded = Folded::default();
        let mut from = 0;
        loop {
            out.room().await?;
            if out.closed() {
                return Ok(());
            }
            let (r, rx) = oneshot::channel();
            let cmd = ServerCmd::SnapshotPage {
                conn: self.conn,
                from,
                max: PAGE_ENTRIES,
                reply: r,
            };
            let queued = match self.route(&server) {
                Some(tx) => tx.send(cmd).await.is_ok() && rx.await.unwrap_or(false),
                None => false,
            };
            if !queued {
                // Dropped by the server (its queue overflowed: the error follows from the
                // server), or the server stopped.
                self.attached.retain(|s| *s != server);
                return out.send(&reply(ReplyResult::Error(ProtoError {
                    code: ErrorCode::Refused,
                    message: format!(
                        "the snapshot of server {server} was cut short: the server stopped, or \
                         dropped this client"
                    ),
                })));
            }
            let page = loop {
                match nrx.recv().await {
                    Some(ToClient::Notify(n)) if streamed => {
                        out.room().await?;
                        out.send(&DaemonMsg::Notify(n))?;
                    }
                    Some(ToClient::Notify(n)) => folded.apply(n),
                    Some(ToClient::Snapshot(p)) => break p,
                    None => return Ok(()),
                }
            };
            let last = page.next.is_none();
            if streamed {
                if !page.entries.is_empty() || last {
                    out.send(&reply(ReplyResult::Ok(Response::Attached {
                        entries: page.entries,
                        more: !last,
                    })))?;
                }
            } else {
                page.entries.into_iter().for_each(|e| folded.store(e));
            }
            if !streamed && (folded.bytes > MAX_FRAME - 4096 || folded.later.len() > NOTIFY_QUEUE) {
                if let Some(tx) = self.route(&server) {
                    let _ = tx.send(ServerCmd::Detach { conn: self.conn }).await;
                }
                self.attached.retain(|s| *s != server);
                return out.send(&reply(ReplyResult::Error(ProtoError {
                    code: ErrorCode::Refused,
                    message: format!(
                        "the cache of server {server} does not fit in one reply (at most \
                         {MAX_FRAME} bytes): speak protocol version 3, whose reply is streamed"
                    ),
                })));
            }
            match page.next {
                Some(n) => from = n,
                None => break,
            }
        }
        if !streamed {
            let entries = folded.held.into_values().map(|(e, _)| e).collect();
            out.drained().await?;
            out.send(&reply(ReplyResult::Ok(Response::Attached {
                entries,
                more: false,
            })))?;
            for n in folded.later {
                out.room().await?;
                out.send(&DaemonMsg::Notify(n))?;
            }
        }
        Ok(())
    }
}
