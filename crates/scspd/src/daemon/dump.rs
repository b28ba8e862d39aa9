//! The debugging dump (SIGINT, `scspctl dump`): its text, its file name, and the writer of
//! SIGINT dumps.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::sync::oneshot;
use tracing::{error, info};

use super::control::{Ctx, Routes};
use super::{log, private, server};

/// The dump file for dump number `n` of process `pid` in `dir`.
pub fn dump_path(dir: &Path, pid: u32, n: u32) -> PathBuf {
    dir.join(format!("scspd.{pid}.{n:03}.out"))
}

/// The debugging dump: every server with its DCSs, counters and cache entries, then the client
/// interface.
pub async fn dump_text(routes: &Routes, ctx: &Ctx) -> String {
    let mut out = format!(
        "scspd {} (pid {}) dump at {}\n",
        env!("CARGO_PKG_VERSION"),
        std::process::id(),
        log::rfc3339_now()
    );
    for (name, tx) in routes {
        let (reply, rx) = oneshot::channel();
        let text = if tx.send(server::ServerCmd::Dump(reply)).await.is_ok() {
            rx.await.ok()
        } else {
            None
        };
        match text {
            Some(t) => out.push_str(&t),
            None => {
                let _ = writeln!(out, "server {name}: stopped");
            }
        }
    }
    let s = &ctx.stats;
    let _ = writeln!(
        out,
        "client interface: socket {}; {} connected, {} accepted since start, {} disconnected \
         for protocol errors, {} refused (too many clients)",
        ctx.path.display(),
        s.active.load(Ordering::Relaxed),
        s.accepted.load(Ordering::Relaxed),
        s.bad.load(Ordering::Relaxed),
        s.refused.load(Ordering::Relaxed)
    );
    out
}

/// Writes SIGINT dumps, each in a task of its own (the file written off the event loop), so
/// that a dump delays neither a signal nor a reload.
pub(super) struct Dumper {
    pub(super) ctx: Arc<Ctx>,
    /// The private directory of dumps (and the trace).
    pub(super) dir: PathBuf,
    /// The number of the next dump.
    pub(super) n: u32,
}

impl Dumper {
    pub(super) fn dump(&mut self) {
        let path = dump_path(&self.dir, std::process::id(), self.n);
        self.n += 1;
        let (ctx, dir) = (self.ctx.clone(), self.dir.clone());
        tokio::spawn(async move {
            let routes = ctx.routes.borrow().clone();
            let text = dump_text(&routes, &ctx).await;
            let shown = path.display().to_string();
            let write = move || -> std::io::Result<usize> {
                private::ensure_dir(&dir)?;
                private::create_file(&path)?.write_all(text.as_bytes())?;
                Ok(private::prune_dumps(&dir, private::MAX_DUMPS))
            };
            match tokio::task::spawn_blocking(write).await {
                Ok(Ok(gone)) => {
                    info!("SIGINT: dump written to {shown}");
                    if gone > 0 {
                        info!(
                            "SIGINT: {gone} old dump(s) removed (at most {} kept)",
                            private::MAX_DUMPS
                        );
                    }
                }
                Ok(Err(e)) => error!("SIGINT: can't write dump {shown}: {e}"),
                Err(e) => error!("SIGINT: can't write dump {shown}: {e}"),
            }
        });
    }
}
