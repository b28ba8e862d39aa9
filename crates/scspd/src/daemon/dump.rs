//! The debugging dump (SIGINT, `scspctl dump`): its text, its file name, and the writer of
//! SIGINT dumps.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::sync::mpsc;
use tracing::{error, info};

use super::control::Ctx;
use super::private;

/// The dump file for dump number `n` of process `pid` in `dir`.
pub fn dump_path(dir: &Path, pid: u32, n: u32) -> PathBuf {
    dir.join(format!("scspd.{pid}.{n:03}.out"))
}

/// The client interface's line of the dump.
pub fn interface_line(ctx: &Ctx) -> String {
    let s = &ctx.stats;
    format!(
        "client interface: socket {}; {} connected, {} accepted since start, {} disconnected \
         for protocol errors, {} for not reading their output, {} refused (too many clients)",
        ctx.path.display(),
        s.active.load(Ordering::Relaxed),
        s.accepted.load(Ordering::Relaxed),
        s.bad.load(Ordering::Relaxed),
        s.slow.load(Ordering::Relaxed),
        s.refused.load(Ordering::Relaxed)
    )
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
            // The parts are written as they are made (a page of entries at a time), off the
            // event loop: the dump is never held whole.
            let (tx, mut rx) = mpsc::channel::<String>(2);
            let shown = path.display().to_string();
            let write = move || -> std::io::Result<usize> {
                private::ensure_dir(&dir)?;
                let mut f = std::io::BufWriter::new(private::create_file(&path)?);
                while let Some(part) = rx.blocking_recv() {
                    f.write_all(part.as_bytes())?;
                }
                f.flush()?;
                Ok(private::prune_dumps(&dir, private::MAX_DUMPS))
            };
            let writing = tokio::task::spawn_blocking(write);
            super::stream::dump_parts(routes, &ctx, tx).await;
            match writing.await {
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
