//! The writer thread of a state file: it appends what the server task hands over to the log
//! (see `log.rs`), and folds the log into the table when changes come slowly.

use std::sync::atomic::Ordering;

use rusqlite::{Connection, params};
use scsp_core::wire::RecordId;

use super::{BATCH_MAX, GATHER, Inner, Row, WAKE_ROWS, log};

/// The log is folded only while fewer changes than this came in the last two
/// [`FOLD_WINDOW`]s (a flood is appended, and folded once it ends)...
const FOLD_QUIET: usize = 4096;
const FOLD_WINDOW: std::time::Duration = std::time::Duration::from_millis(100);
/// Nor before this long after the last append: a change that comes meanwhile (our own, written
/// at once) would wait for the fold's transaction.
const FOLD_AFTER: std::time::Duration = std::time::Duration::from_millis(100);

/// Changes appended recently, in two windows.
#[derive(Debug)]
struct Recent {
    since: std::time::Instant,
    now: usize,
    before: usize,
    /// The last append.
    last: std::time::Instant,
}

impl Recent {
    fn roll(&mut self) {
        let e = self.since.elapsed();
        if e >= FOLD_WINDOW {
            self.before = if e >= 2 * FOLD_WINDOW { 0 } else { self.now };
            self.now = 0;
            self.since = std::time::Instant::now();
        }
    }

    fn add(&mut self, n: usize) {
        self.roll();
        self.now += n;
        self.last = std::time::Instant::now();
    }

    fn quiet(&mut self) -> bool {
        self.roll();
        self.now + self.before < FOLD_QUIET
    }
}

/// The write-ahead log is copied into the file (a checkpoint, with an fsync) by the writer
/// itself, never by the commit of a batch (SQLite's automatic checkpoint is off): when nothing
/// waits and about this much was written since the last one...
const CHECKPOINT_IDLE: u64 = 4 << 20;
/// ...or whatever waits, past this much.
const CHECKPOINT_MAX: u64 = 64 << 20;
/// What a row folded into the table is reckoned to write (its page share, in the log).
const FOLDED_ROW_BYTES: u64 = 128;

/// ...or whatever the rate, once it holds twice the changes the cache has entries.
fn fold_bound(cache_len: usize) -> u64 {
    2 * cache_len.max(BATCH_MAX) as u64
}

/// The writer thread: append what is pending to the log, fold the log into the table when
/// changes come slowly, until told to stop. `logged`: changes in the log at the start.
pub(super) fn writer(mut conn: Connection, inner: &Inner, mut logged: u64) {
    // SCHED_IDLE: the writer runs only when the processor has nothing else to do, so that it
    // never delays the protocol's threads (a flood on a full machine writes once it ends;
    // meanwhile the rows wait in memory, compacted to one per entry).
    let _ = thread_priority::unix::set_thread_priority_and_policy(
        thread_priority::unix::thread_native_id(),
        thread_priority::ThreadPriority::Min,
        thread_priority::unix::ThreadSchedulePolicy::Normal(
            thread_priority::unix::NormalThreadSchedulePolicy::Idle,
        ),
    );
    let mut recent = Recent {
        last: std::time::Instant::now(),
        since: std::time::Instant::now(),
        now: 0,
        before: 0,
    };
    // Bytes written to the write-ahead log since the last checkpoint, about.
    let mut unchecked: u64 = 0;
    loop {
        let (batch, stop, fold, mut checkpoint) = {
            let Ok(mut p) = inner.pending.lock() else {
                return;
            };
            // Woken when a batch is worth a transaction, or a moment after changes came; with
            // nothing pending, the log is folded when changes come slowly.
            let mut fold = false;
            let mut checkpoint = false;
            while p.rows.len() < WAKE_ROWS && !p.stop && !p.urgent {
                if !p.rows.is_empty() {
                    p = match inner.cv.wait_timeout(p, GATHER) {
                        Ok((p, _)) => p,
                        Err(_) => return,
                    };
                    if !p.rows.is_empty() {
                        break;
                    }
                    continue;
                }
                // Nothing waits: a moment for a checkpoint.
                if unchecked >= CHECKPOINT_IDLE {
                    checkpoint = true;
                    break;
                }
                if logged == 0 {
                    p = match inner.cv.wait(p) {
                        Ok(p) => p,
                        Err(_) => return,
                    };
                    continue;
                }
                let idle = recent.last.elapsed();
                if (recent.quiet() && idle >= FOLD_AFTER) || logged > fold_bound(p.cache_len) {
                    fold = true;
                    break;
                }
                let wait = FOLD_WINDOW.min(FOLD_AFTER.saturating_sub(idle).max(GATHER));
                p = match inner.cv.wait_timeout(p, wait) {
                    Ok((p, _)) => p,
                    Err(_) => return,
                };
            }
            p.urgent = false;
            // All of it (taking a part would move the rest under the lock, again and again
            // while a million rows wait): written below a log row of BATCH_MAX at a time.
            let batch: Vec<(RecordId, Row)> = std::mem::take(&mut p.rows);
            // Past the bound, a fold follows every append.
            fold |= logged > fold_bound(p.cache_len);
            (batch, p.stop, fold && !p.stop, checkpoint)
        };
        let mut batch = batch;
        let mut done = 0;
        while done < batch.len() {
            let chunk = &batch[done..batch.len().min(done + BATCH_MAX)];
            match log::append(&mut conn, chunk) {
                Ok(bytes) => {
                    unchecked += bytes as u64;
                    let n = chunk.len();
                    done += n;
                    inner.written.fetch_add(n as u64, Ordering::Relaxed);
                    inner.failing.store(false, Ordering::Relaxed);
                    logged += n as u64;
                    inner.logged.store(logged, Ordering::Relaxed);
                    recent.add(n);
                }
                Err(_) => {
                    inner.errors.fetch_add(1, Ordering::Relaxed);
                    inner.failing.store(true, Ordering::Relaxed);
                    // Keep the rows for the next try, before those that came meanwhile.
                    let rest = batch.split_off(done);
                    if let Ok(mut p) = inner.pending.lock() {
                        let newer = std::mem::replace(&mut p.rows, rest);
                        p.rows.extend(newer);
                    }
                    std::thread::sleep(std::time::Duration::from_millis(200));
                    break;
                }
            }
        }
        if fold {
            match log::fold_one(&mut conn) {
                Ok(n) => {
                    unchecked += n * FOLDED_ROW_BYTES;
                    logged = if n == 0 { 0 } else { logged.saturating_sub(n) };
                    inner.logged.store(logged, Ordering::Relaxed);
                    inner.failing.store(false, Ordering::Relaxed);
                }
                Err(_) => {
                    inner.errors.fetch_add(1, Ordering::Relaxed);
                    inner.failing.store(true, Ordering::Relaxed);
                    std::thread::sleep(std::time::Duration::from_millis(200));
                }
            }
        }
        checkpoint |= unchecked >= CHECKPOINT_MAX;
        if checkpoint {
            // PASSIVE: the file is this process's alone (exclusive locking), so the whole log
            // is copied, and the next commits write it again from its start.
            match conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                Ok(()) => unchecked = 0,
                Err(_) => {
                    inner.errors.fetch_add(1, Ordering::Relaxed);
                    std::thread::sleep(std::time::Duration::from_millis(200));
                }
            }
        }
        if let Ok(p) = inner.pending.lock()
            && p.stop
            && (p.rows.is_empty() || stop && inner.failing.load(Ordering::Relaxed))
        {
            return;
        }
    }
}

/// Write rows into the table, in the transaction `tx`.
pub(super) fn put_rows(
    tx: &rusqlite::Transaction<'_>,
    batch: &[(RecordId, Row)],
) -> rusqlite::Result<()> {
    let mut put = tx.prepare_cached(
        "INSERT OR REPLACE INTO entries(origin, key, seq, flags, data) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    let mut del = tx.prepare_cached("DELETE FROM entries WHERE origin = ?1 AND key = ?2")?;
    for (id, row) in batch {
        match row {
            Some((seq, data, deleted)) => {
                put.execute(params![
                    id.origin.as_bytes(),
                    id.key.as_bytes(),
                    i64::from(*seq),
                    log::flags(*deleted),
                    &data[..],
                ])?;
            }
            None => {
                del.execute(params![id.origin.as_bytes(), id.key.as_bytes()])?;
            }
        }
    }
    Ok(())
}
