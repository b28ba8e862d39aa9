//! Each server's saved state (`StateDir`): its cache, kept in SQLite so that a restarted server
//! holds again what it held, and the sequence numbers it reserved, so that it never gives one
//! number to two different data.
//!
//! One file per server, `<state dir>/<server name>.db` (the name escaped: see [`file_name`]), in
//! WAL mode with `synchronous=NORMAL` (a commit survives a kill of the process; after a power
//! loss the last commits may be rolled back, never torn), and exclusively locked by the server
//! that opened it. Beside it, `<server name>.seq` holds the reserved number: every number the
//! server has used since it started is below it. The choice of store, measured against the
//! others, is in docs/persistence-store.md.
//!
//! The server task never waits on the disk: it hands each change to a writer thread through a
//! queue (compacted to the last row of each entry once it holds twice the cache's entries, so
//! that its size is bounded by the cache's), and the writer commits what it finds there in one
//! transaction, again and again: appended to the file's change log, folded into the table of
//! entries when changes come slowly (`log.rs`, `writer.rs`). Only the reservation of
//! numbers can make the task wait, and only when it has used half a block of numbers
//! ([`RESERVE_BLOCK`]) before the reservation of the next block, asked for in the background,
//! reached the disk.

mod log;
mod writer;

use writer::{put_rows, writer};

use std::collections::HashMap;
use std::hash::BuildHasher as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

use rusqlite::{Connection, OpenFlags, params};
use scsp_core::seq;
use scsp_core::wire::{Data, Id, RecordId};
use scsp_core::{SavedEntry, Server};

/// Numbers reserved at a time. A restart skips at most this many numbers above the last one
/// used (the sequence space holds 2^31).
pub const RESERVE_BLOCK: u32 = 1 << 16;

/// `PRAGMA application_id` of a state file: "SCSP".
const APPLICATION_ID: i32 = 0x5343_5350;
/// `PRAGMA user_version`: the layout of the file. Layout 1 (without the log) is taken up and
/// becomes 2; another version is set aside.
const LAYOUT: i32 = 2;
/// Rows written per transaction at most, and the most changes one log row holds: a log row is
/// folded into the table in one transaction (about a microsecond a change), during which a
/// change of our own waits to be written.
const BATCH_MAX: usize = 8192;
/// The entry is a deletion.
const FLAG_DELETED: i64 = 1;

/// What identifies the server a state file belongs to: a file of another group or another
/// Originator ID is not this server's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Protocol ID.
    pub protocol: u16,
    /// Server Group ID.
    pub sgid: u16,
    /// This server's ID (its Originator ID).
    pub lsid: Id,
}

/// Why no saved state was loaded.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The state directory could not be created or used.
    #[error("state directory {dir}: {err}")]
    Dir {
        /// The directory.
        dir: PathBuf,
        /// Why.
        err: std::io::Error,
    },
    /// Another process holds the file (another scspd with the same state directory).
    #[error("{path}: in use by another process; this server runs without saved state")]
    Locked {
        /// The file.
        path: PathBuf,
    },
    /// A new file in place of one set aside could not be made either.
    #[error("{path}: {why}")]
    Unusable {
        /// The file.
        path: PathBuf,
        /// Why.
        why: String,
    },
}

/// What was found at start-up.
#[derive(Debug)]
pub struct Loaded {
    /// The store, ready to write.
    pub store: Store,
    /// Entries were delivered from a file then found unusable and set aside: the new file must
    /// be written whole (everything the server holds now).
    pub rewrite: bool,
    /// The least number this incarnation may give (the reservation read back, if any).
    pub reserved: Option<u32>,
    /// A file that was not usable and was set aside, with why (logged by the caller).
    pub set_aside: Option<(PathBuf, String)>,
    /// Rows skipped because they do not decode (counted, logged by the caller).
    pub bad_rows: usize,
}

/// The file of server `name` in `dir`: the name with every byte outside `[A-Za-z0-9._-]`
/// written `%XX` (a server name is any string of the configuration), and never starting with a
/// dot.
pub fn file_name(name: &str) -> String {
    let mut s = String::with_capacity(name.len() + 3);
    for (i, b) in name.bytes().enumerate() {
        if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || (b == b'.' && i > 0) {
            s.push(char::from(b));
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

/// A row as the writer will write it: `None` deletes it.
pub(super) type Row = Option<(u32, Data, bool)>;

#[derive(Debug, Default)]
struct Pending {
    /// Rows in the order the changes were made (applied in order, the last of an entry wins);
    /// compacted to one per entry when it grows past twice the entries it could name (see
    /// `Store::save_changes`).
    rows: Vec<(RecordId, Row)>,
    /// Rows of this server's own entries wait: written at once (a change of ours lost from
    /// the file and handed over again before the DCSs show it is renumbered).
    urgent: bool,
    stop: bool,
    /// Entries in the cache when the rows were last handed over: the log is folded once it
    /// holds twice as many changes.
    cache_len: usize,
}

#[derive(Debug, Default)]
struct Inner {
    pending: Mutex<Pending>,
    cv: Condvar,
    /// Rows written since the start, and write errors (for the status and the metrics).
    written: AtomicU64,
    errors: AtomicU64,
    /// Changes in the log, not yet folded into the table.
    logged: AtomicU64,
    /// The last write failed (logged once per failure streak by the task).
    failing: AtomicBool,
    /// The reservation on disk.
    durable: AtomicU32,
    /// A reservation is being written in the background.
    reserving: AtomicBool,
    /// Held while the reservation is written (see `reserve`).
    reserve_lock: Mutex<()>,
}

/// A server's store: the writer thread and the reservation.
#[derive(Debug)]
pub struct Store {
    inner: Arc<Inner>,
    writer: Option<JoinHandle<()>>,
    seq_path: PathBuf,
    /// The file, for messages.
    pub path: PathBuf,
    /// Rows being gathered (outside the lock).
    rows: Vec<(RecordId, Row)>,
    /// This server's ID (its entries' Originator ID).
    lsid: Id,
    /// Since when changes have been left in the core during an alignment.
    deferred: Option<std::time::Instant>,
    /// When the writer was last woken.
    woken: Option<std::time::Instant>,
}

/// Entries are read back, and changes handed to the writer, in chunks of this many.
pub const CHUNK: usize = 65_536;
/// The writer is woken at once for this many rows; fewer wait up to [`GATHER`] for more (a
/// transaction and a wake-up per turn of a busy server cost a flood a quarter of its rate).
const WAKE_ROWS: usize = 4096;
/// The writer is woken for rows of our own entries at most this often.
const URGENT_EVERY: std::time::Duration = std::time::Duration::from_millis(1);
/// How long the writer lets changes gather before it writes them.
const GATHER: std::time::Duration = std::time::Duration::from_millis(20);
/// Changes left in the core while a DCS aligns, at most (beyond, they are written meanwhile).
const DEFER_MAX: usize = 4 << 20;
/// How long changes are left in the core while a DCS aligns, at most.
const DEFER_FOR: std::time::Duration = std::time::Duration::from_secs(1);

/// Open (creating if need be) the state of server `name` in `dir` and read it back, handing the
/// entries to `sink` in chunks of [`CHUNK`] as they are read (so that the caller holds them
/// again while the rest is read; `sink` returns false to stop). A file that is corrupt,
/// unreadable, of another layout or of another server is renamed `<file>.bad-<unix time>` and
/// an empty one started (reported in [`Loaded::set_aside`]; if some of its entries had been
/// handed over before, [`Loaded::rewrite`]); only a directory that cannot be used, or a file
/// another process holds, is an error.
pub fn open(
    dir: &Path,
    name: &str,
    identity: &Identity,
    sink: &mut dyn FnMut(Vec<SavedEntry>) -> bool,
) -> Result<Loaded, StateError> {
    std::fs::create_dir_all(dir).map_err(|err| StateError::Dir {
        dir: dir.to_owned(),
        err,
    })?;
    let base = file_name(name);
    let path = dir.join(format!("{base}.db"));
    let seq_path = dir.join(format!("{base}.seq"));
    let mut set_aside = None;
    let mut delivered = 0;
    let mut counted = |chunk: Vec<SavedEntry>| {
        delivered += chunk.len();
        sink(chunk)
    };
    let (conn, bad_rows, logged) = match try_load(&path, identity, &mut counted) {
        Ok(x) => x,
        Err(Unusable::Locked) => return Err(StateError::Locked { path }),
        Err(Unusable::Bad(why)) => {
            let aside = aside_name(&path);
            set_aside_files(&path, &aside);
            set_aside = Some((aside, why));
            match try_load(&path, identity, &mut |_| true) {
                Ok(x) => x,
                Err(Unusable::Locked) => return Err(StateError::Locked { path }),
                Err(Unusable::Bad(why)) => return Err(StateError::Unusable { path, why }),
            }
        }
    };
    // The reservation bounds every number used before, whatever became of the entries (one
    // that is unreadable is none: the time floor still holds).
    let reserved = read_reserved(&seq_path);
    let inner = Arc::new(Inner::default());
    inner.logged.store(logged, Ordering::Relaxed);
    let writer = {
        let inner = inner.clone();
        std::thread::Builder::new()
            .name(format!("state {name}"))
            .spawn(move || writer(conn, &inner, logged))
            .map_err(|err| StateError::Dir {
                dir: dir.to_owned(),
                err,
            })?
    };
    Ok(Loaded {
        store: Store {
            inner,
            writer: Some(writer),
            seq_path,
            path,
            rows: Vec::new(),
            lsid: identity.lsid.clone(),
            deferred: None,
            woken: None,
        },
        rewrite: set_aside.is_some() && delivered > 0,
        reserved,
        set_aside,
        bad_rows,
    })
}

enum Unusable {
    Locked,
    Bad(String),
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

fn bad(e: rusqlite::Error) -> Unusable {
    if is_busy(&e) {
        Unusable::Locked
    } else {
        Unusable::Bad(e.to_string())
    }
}

/// Open `path`, take its lock, check what it is, read every entry.
fn try_load(
    path: &Path,
    identity: &Identity,
    sink: &mut dyn FnMut(Vec<SavedEntry>) -> bool,
) -> Result<(Connection, usize, u64), Unusable> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(bad)?;
    // A file another process holds is refused at once, not waited for.
    conn.busy_timeout(std::time::Duration::ZERO).map_err(bad)?;
    // One process at a time: the lock is taken by the first write and held until the
    // connection closes (so is the WAL index, in this process's memory).
    conn.execute_batch("PRAGMA locking_mode=EXCLUSIVE; PRAGMA journal_mode=WAL;")
        .map_err(bad)?;
    // Checkpoints are the writer's, off the path of a commit (see `writer.rs`).
    conn.execute_batch(
        "PRAGMA synchronous=NORMAL; PRAGMA cache_size=-8192; PRAGMA wal_autocheckpoint=0;",
    )
    .map_err(bad)?;
    let app: i32 = conn
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .map_err(bad)?;
    let layout: i32 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(bad)?;
    let ours = identity_text(identity);
    if app == 0 && layout == 0 {
        // New (or empty) file.
        let tables: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))
            .map_err(bad)?;
        if tables != 0 {
            return Err(Unusable::Bad("not an scspd state file".into()));
        }
        conn.execute_batch(&format!(
            "BEGIN IMMEDIATE;
             PRAGMA application_id={APPLICATION_ID};
             PRAGMA user_version={LAYOUT};
             CREATE TABLE meta(k TEXT PRIMARY KEY NOT NULL, v TEXT NOT NULL) WITHOUT ROWID;
             CREATE TABLE entries(origin BLOB NOT NULL, key BLOB NOT NULL, seq INTEGER NOT NULL,
                 flags INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY(origin, key))
                 WITHOUT ROWID;
             {};
             COMMIT;",
            log::CREATE
        ))
        .map_err(bad)?;
        conn.execute(
            "INSERT INTO meta(k, v) VALUES ('identity', ?1)",
            params![ours],
        )
        .map_err(bad)?;
        return Ok((conn, 0, 0));
    }
    if app != APPLICATION_ID {
        return Err(Unusable::Bad(format!(
            "not an scspd state file (application id {app:#x})"
        )));
    }
    if layout != LAYOUT && layout != 1 {
        return Err(Unusable::Bad(format!(
            "layout version {layout}, this scspd reads {LAYOUT}"
        )));
    }
    // Take the lock now, before anything is read: another process may hold it.
    conn.execute_batch("BEGIN IMMEDIATE; COMMIT;")
        .map_err(bad)?;
    let theirs: String = conn
        .query_row("SELECT v FROM meta WHERE k = 'identity'", [], |r| r.get(0))
        .map_err(bad)?;
    if theirs != ours {
        return Err(Unusable::Bad(format!(
            "saved by another server ({theirs}; this one is {ours})"
        )));
    }
    if layout == 1 {
        conn.execute_batch(&format!(
            "BEGIN IMMEDIATE; {}; PRAGMA user_version={LAYOUT}; COMMIT;",
            log::CREATE
        ))
        .map_err(bad)?;
    }
    let logged = log::rows(&conn).map_err(bad)?;
    // The newest change of an entry wins: the log's changes newest first (the server keeps
    // the first instance of an entry it is given), then the table's rows; an entry whose newest
    // change is its removal is given no older instance.
    let seed = std::collections::hash_map::RandomState::new().hash_one(0u64);
    let mut gone: scsp_core::hash::Set<RecordId> =
        scsp_core::hash::Set::with_hasher(scsp_core::hash::state(seed));
    let mut entries = Vec::with_capacity(CHUNK);
    let mut going = true;
    let mut bad_rows = log::read_newest_first(&conn, &mut |id, row| {
        match row {
            None => {
                gone.insert(id);
            }
            Some(_) if gone.contains(&id) => {}
            Some(r) => {
                entries.push(SavedEntry {
                    id,
                    seq: r.0,
                    data: r.1,
                    deleted: r.2,
                });
                if entries.len() == CHUNK {
                    going = sink(std::mem::replace(&mut entries, Vec::with_capacity(CHUNK)));
                }
            }
        }
        going
    })
    .map_err(bad)?;

    if going {
        let mut stmt = conn
            .prepare("SELECT origin, key, seq, flags, data FROM entries")
            .map_err(bad)?;
        let mut rows = stmt.query([]).map_err(bad)?;
        while let Some(r) = rows.next().map_err(bad)? {
            let blob = |i: usize| r.get_ref(i).ok().and_then(|v| v.as_blob().ok());
            let (Some(origin), Some(key), Some(data)) = (blob(0), blob(1), blob(4)) else {
                bad_rows += 1;
                continue;
            };
            let seq: i64 = r.get(2).map_err(bad)?;
            let flags: i64 = r.get(3).map_err(bad)?;
            match (Id::new(key), Id::new(origin), u32::try_from(seq)) {
                (Some(key), Some(origin), Ok(seq)) if !key.as_bytes().is_empty() => {
                    let id = RecordId { key, origin };
                    if gone.contains(&id) {
                        continue;
                    }
                    entries.push(SavedEntry {
                        id,
                        seq,
                        data: Data::from(data),
                        deleted: flags & FLAG_DELETED != 0,
                    });
                    if entries.len() == CHUNK
                        && !sink(std::mem::replace(&mut entries, Vec::with_capacity(CHUNK)))
                    {
                        break;
                    }
                }
                _ => bad_rows += 1,
            }
        }
    }
    if !entries.is_empty() {
        sink(entries);
    }
    Ok((conn, bad_rows, logged))
}

fn identity_text(i: &Identity) -> String {
    format!(
        "protocol {} group {} id {}",
        i.protocol,
        i.sgid,
        hex::encode(i.lsid.as_bytes())
    )
}

fn aside_name(path: &Path) -> PathBuf {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut p = path.as_os_str().to_owned();
    p.push(format!(".bad-{t}"));
    PathBuf::from(p)
}

/// Move the file and its WAL and index out of the way.
fn set_aside_files(path: &Path, aside: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut from = path.as_os_str().to_owned();
        from.push(suffix);
        let mut to = aside.as_os_str().to_owned();
        to.push(suffix);
        let _ = std::fs::rename(&from, &to);
    }
}

fn read_reserved(path: &Path) -> Option<u32> {
    let text = std::fs::read_to_string(path).ok()?;
    let t = text.trim();
    u32::from_str_radix(t.strip_prefix("0x").unwrap_or(t), 16).ok()
}

/// Write the reservation `n`: a new file, flushed to disk, renamed over the old one, and the
/// directory flushed, so that after any crash the file holds the old number or the new one.
pub fn write_reserved(path: &Path, n: u32) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    {
        let mut f = std::fs::File::create(&tmp)?;
        writeln!(f, "{n:#010x}")?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// Figures for the status and the metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// Rows written since the start.
    pub written: u64,
    /// Rows waiting for the writer.
    pub pending: u64,
    /// Failed transactions.
    pub errors: u64,
    /// Changes in the file's log, not yet folded into its table.
    pub logged: u64,
    /// The reservation on disk.
    pub reserved: u32,
}

impl Store {
    /// Start the numbering of this incarnation: the reservation read back (if any) and
    /// `floor` give the least number to use; a block above it is reserved at once (waiting
    /// for the disk). Returns the floor to give the core.
    pub fn start_numbering(&mut self, floor: u32, reserved: Option<u32>) -> std::io::Result<u32> {
        let floor = match reserved {
            Some(r) if seq::newer(r, floor) && seq::newer(scsp_core::wire::SEQ_LAST, r) => r,
            _ => floor,
        };
        let n = block_above(floor);
        write_reserved(&self.seq_path, n)?;
        self.inner.durable.store(n, Ordering::Relaxed);
        Ok(floor)
    }

    /// Take the entries that changed in `server` since the last call and hand them to the
    /// writer; make sure every number of ours used so far is below the reservation on disk
    /// (waiting for the disk only if the reservation asked for in the background has not
    /// reached it). Call it before anything the server queued is sent.
    pub fn save_changes(&mut self, server: &mut Server) -> std::io::Result<()> {
        if let Some(h) = server.newest_own_seq() {
            self.reserve_for(h)?;
        }
        // While a DCS aligns, the rows wait in the core (a mark per entry): building them is
        // work on the alignment's path. After it, they go a chunk per turn.
        if server.aligning() && server.changes_pending() < DEFER_MAX {
            let since = *self.deferred.get_or_insert_with(std::time::Instant::now);
            if since.elapsed() < DEFER_FOR {
                return Ok(());
            }
        } else {
            self.deferred = None;
        }
        let rows = &mut self.rows;
        let lsid = &self.lsid;
        let mut ours = false;
        server.drain_changes(CHUNK, |id, e| {
            ours |= id.origin == *lsid;
            rows.push((id.clone(), e.map(|e| (e.seq, e.data.clone(), e.deleted()))));
        });
        if self.rows.is_empty() {
            return Ok(());
        }
        let waiting = {
            let Ok(mut p) = self.inner.pending.lock() else {
                return Ok(());
            };
            p.urgent |= ours;
            p.cache_len = server.cache().len();
            if p.rows.is_empty() {
                std::mem::swap(&mut p.rows, &mut self.rows);
            } else {
                p.rows.append(&mut self.rows);
            }
            // A writer that falls behind a stream of changes to the same entries: keep the last
            // row of each, so that what waits stays within twice the cache.
            let bound = 2 * server.cache().len().max(BATCH_MAX);
            if p.rows.len() > bound {
                compact(&mut p.rows);
            }
            p.rows.len()
        };
        // (Woken at most once a millisecond for our own rows: a wake-up per turn of a busy
        // originator is a system call and an interrupt to the other processor each time.)
        let now = std::time::Instant::now();
        if waiting >= WAKE_ROWS
            || (ours
                && self
                    .woken
                    .is_none_or(|t| now.duration_since(t) >= URGENT_EVERY))
        {
            self.woken = Some(now);
            self.inner.cv.notify_one();
        }
        Ok(())
    }

    /// Whether changes wait in the core for [`Store::save_changes`] (which then wants another
    /// turn soon).
    pub fn behind(&self, server: &Server) -> bool {
        server.changes_pending() > 0
            && (!server.aligning() || self.deferred.is_some_and(|d| d.elapsed() >= DEFER_FOR))
    }

    /// Keep the reservation above `high`.
    fn reserve_for(&mut self, high: u32) -> std::io::Result<()> {
        let durable = signed(self.inner.durable.load(Ordering::Acquire));
        let h = signed(high);
        if durable > h + i64::from(RESERVE_BLOCK / 2) {
            return Ok(());
        }
        let want = block_above(high);
        if durable > h {
            // Half a block left: the next one in the background.
            if !self.inner.reserving.swap(true, Ordering::AcqRel) {
                let inner = self.inner.clone();
                let path = self.seq_path.clone();
                std::thread::spawn(move || {
                    let _ = reserve(&inner, &path, want);
                    inner.reserving.store(false, Ordering::Release);
                });
            }
            return Ok(());
        }
        // The numbers ran past the reservation: wait for the disk.
        reserve(&self.inner, &self.seq_path, want)
    }

    /// Whether the writer's last transaction failed.
    pub fn failing(&self) -> bool {
        self.inner.failing.load(Ordering::Relaxed)
    }

    /// Figures for the status and the metrics.
    pub fn stats(&self) -> StoreStats {
        StoreStats {
            written: self.inner.written.load(Ordering::Relaxed),
            pending: self.inner.pending.lock().map_or(0, |p| p.rows.len() as u64),
            errors: self.inner.errors.load(Ordering::Relaxed),
            logged: self.inner.logged.load(Ordering::Relaxed),
            reserved: self.inner.durable.load(Ordering::Relaxed),
        }
    }

    /// Write what is pending and close the file (releasing its lock). Blocks until done.
    pub fn close(&mut self) {
        if let Ok(mut p) = self.inner.pending.lock() {
            p.stop = true;
        }
        self.inner.cv.notify_all();
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        self.close();
    }
}

/// A sequence number as the signed value it compares as (B.2.0.2).
fn signed(n: u32) -> i64 {
    i64::from(n as i32)
}

/// Write the reservation `want` unless one at least as high is on disk already. One writer at
/// a time, so that a slower write of a lower number never lands after a higher one.
fn reserve(inner: &Inner, path: &Path, want: u32) -> std::io::Result<()> {
    let _one = inner
        .reserve_lock
        .lock()
        .map_err(|_| std::io::Error::other("reservation lock poisoned"))?;
    if signed(inner.durable.load(Ordering::Acquire)) >= signed(want) {
        return Ok(());
    }
    write_reserved(path, want)?;
    inner.durable.store(want, Ordering::Release);
    Ok(())
}

/// Keep the last row of each entry, in order.
fn compact(rows: &mut Vec<(RecordId, Row)>) {
    let mut last: HashMap<&RecordId, usize> = HashMap::with_capacity(rows.len());
    for (i, (id, _)) in rows.iter().enumerate() {
        last.insert(id, i);
    }
    let keep: Vec<bool> = {
        let mut k = vec![false; rows.len()];
        for &i in last.values() {
            k[i] = true;
        }
        k
    };
    let mut i = 0;
    rows.retain(|_| {
        let r = keep[i];
        i += 1;
        r
    });
}

/// The reservation for numbers up to `n`: the next multiple of [`RESERVE_BLOCK`] above it plus
/// a block, kept below the purge number.
fn block_above(n: u32) -> u32 {
    let signed = i64::from(n as i32);
    let block = i64::from(RESERVE_BLOCK);
    let r = (signed.div_euclid(block) + 2) * block;
    let last = i64::from(scsp_core::wire::SEQ_LAST as i32);
    r.min(last) as i32 as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity() -> Identity {
        Identity {
            protocol: 65000,
            sgid: 1,
            lsid: Id::from([10, 0, 0, 1]),
        }
    }

    struct Dir(PathBuf);
    impl Dir {
        fn new(name: &str) -> Self {
            let p = std::env::temp_dir().join(format!("scspd-state-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&p);
            Dir(p)
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn a_lower_reservation_never_replaces_a_higher_one() {
        let dir = Dir::new("reserve");
        std::fs::create_dir_all(&dir.0).unwrap();
        let path = dir.0.join("s.seq");
        let inner = Inner::default();
        reserve(&inner, &path, 3 * RESERVE_BLOCK).unwrap();
        // A background write of an older, lower block landing late.
        reserve(&inner, &path, 2 * RESERVE_BLOCK).unwrap();
        assert_eq!(read_reserved(&path), Some(3 * RESERVE_BLOCK));
        assert_eq!(inner.durable.load(Ordering::Relaxed), 3 * RESERVE_BLOCK);
    }

    #[test]
    fn compaction_keeps_the_last_row_of_each_entry_in_order() {
        let id = |k: u8| RecordId {
            key: Id::new(&[k]).unwrap(),
            origin: Id::from([1, 1, 1, 1]),
        };
        let row = |s: u32| Some((s, Data::from(&b"x"[..]), false));
        let mut rows = vec![
            (id(1), row(1)),
            (id(2), row(1)),
            (id(1), None),
            (id(3), row(7)),
            (id(2), row(2)),
        ];
        compact(&mut rows);
        assert_eq!(rows, vec![(id(1), None), (id(3), row(7)), (id(2), row(2))]);
    }

    #[test]
    fn file_names_escape_what_a_path_cannot_hold() {
        assert_eq!(file_name("atmarp_1"), "atmarp_1");
        assert_eq!(file_name("a/b c"), "a%2Fb%20c");
        assert_eq!(file_name(".."), "%2E.");
        assert_eq!(file_name("é"), "%C3%A9");
    }

    #[test]
    fn block_above_rounds_up_and_stops_below_the_purge_number() {
        assert_eq!(block_above(0), 2 * RESERVE_BLOCK);
        assert_eq!(block_above(RESERVE_BLOCK - 1), 2 * RESERVE_BLOCK);
        assert_eq!(block_above(RESERVE_BLOCK), 3 * RESERVE_BLOCK);
        assert!(seq::newer(
            block_above(scsp_core::wire::SEQ_FIRST),
            scsp_core::wire::SEQ_FIRST
        ));
        assert_eq!(
            block_above(scsp_core::wire::SEQ_LAST - 3),
            scsp_core::wire::SEQ_LAST
        );
    }

    #[test]
    fn saved_entries_and_the_reservation_come_back() {
        let dir = Dir::new("back");
        let id = identity();
        let mut server = Server::new(scsp_core::ServerConfig::new(65000, 1, id.lsid.clone()));
        server.set_track_changes(true);
        let mut got = Vec::new();
        let mut l = open(&dir.0, "s", &id, &mut |c| {
            got.extend(c);
            true
        })
        .unwrap();
        assert!(got.is_empty() && l.reserved.is_none() && l.set_aside.is_none());
        assert_eq!(l.store.start_numbering(1000, None).unwrap(), 1000);
        server
            .originate(scsp_core::Time(0), b"a", Data::from(&b"x"[..]))
            .unwrap();
        server
            .originate(scsp_core::Time(0), b"b", Data::from(&b"y"[..]))
            .unwrap();
        server.withdraw(scsp_core::Time(1), b"b").unwrap();
        l.store.save_changes(&mut server).unwrap();
        drop(l);
        let l = open(&dir.0, "s", &id, &mut |c| {
            got.extend(c);
            true
        })
        .unwrap();
        let mut got: Vec<_> = got
            .iter()
            .map(|e| (e.id.key.as_bytes().to_vec(), e.deleted))
            .collect();
        got.sort();
        assert_eq!(got, vec![(b"a".to_vec(), false), (b"b".to_vec(), true)]);
        assert_eq!(l.reserved, Some(block_above(1000)));
    }

    /// An entry read back: key, number, data, deleted.
    type Back = (Vec<u8>, u32, Vec<u8>, bool);

    fn read_back(dir: &Path) -> (Loaded, Vec<Back>) {
        let mut got = Vec::new();
        let l = open(dir, "s", &identity(), &mut |c| {
            got.extend(c);
            true
        })
        .unwrap();
        // As the server holds them: the first instance of an entry delivered.
        let mut seen = std::collections::HashSet::new();
        let mut got: Vec<_> = got
            .into_iter()
            .filter(|e| seen.insert(e.id.clone()))
            .map(|e| {
                (
                    e.id.key.as_bytes().to_vec(),
                    e.seq,
                    e.data.to_vec(),
                    e.deleted,
                )
            })
            .collect();
        got.sort();
        (l, got)
    }

    /// Until `written` changes have been written and folded.
    fn wait_folded(l: &Loaded, written: u64) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while l.store.stats().logged != 0 || l.store.stats().written < written {
            assert!(
                std::time::Instant::now() < deadline,
                "the log is never folded"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }

    fn table_and_log(dir: &Path) -> (i64, i64) {
        let c = Connection::open(dir.join("s.db")).unwrap();
        let n = |q: &str| c.query_row(q, [], |r| r.get::<_, i64>(0)).unwrap();
        (
            n("SELECT count(*) FROM entries"),
            n("SELECT count(*) FROM log"),
        )
    }

    #[test]
    fn the_log_wins_over_the_table_and_is_folded_into_it_when_changes_stop() {
        let dir = Dir::new("log");
        let id = identity();
        let t = scsp_core::Time(0);
        let mut server = Server::new(scsp_core::ServerConfig::new(65000, 1, id.lsid.clone()));
        server.set_track_changes(true);
        let (mut l, got) = read_back(&dir.0);
        assert!(got.is_empty());
        l.store.start_numbering(1000, None).unwrap();
        for k in [&b"a"[..], b"b", b"c"] {
            server.originate(t, k, Data::from(&b"1"[..])).unwrap();
        }
        l.store.save_changes(&mut server).unwrap();
        // Written to the log, then folded into the table once nothing more comes.
        wait_folded(&l, 3);
        drop(l);
        assert_eq!(table_and_log(&dir.0), (3, 0));
        // Newer changes of the same entries stay in the log (the file closed at once).
        let (mut l, got) = read_back(&dir.0);
        assert_eq!(got.len(), 3);
        server.originate(t, b"a", Data::from(&b"2"[..])).unwrap();
        server.withdraw(t, b"b").unwrap();
        l.store.save_changes(&mut server).unwrap();
        l.store.close();
        let (entries, logged) = table_and_log(&dir.0);
        assert_eq!(entries, 3);
        assert!(
            logged >= 1,
            "the changes were folded before the file was closed"
        );
        let want = |got: &[Back]| {
            let keys: Vec<_> = got
                .iter()
                .map(|g| (g.0.clone(), g.2.clone(), g.3))
                .collect();
            assert_eq!(
                keys,
                vec![
                    (b"a".to_vec(), b"2".to_vec(), false),
                    (b"b".to_vec(), Vec::new(), true),
                    (b"c".to_vec(), b"1".to_vec(), false)
                ]
            );
        };
        // Read back: each entry once, as the log left it; and the same after the fold.
        let (l, got) = read_back(&dir.0);
        want(&got);
        wait_folded(&l, 0);
        drop(l);
        assert_eq!(table_and_log(&dir.0), (3, 0));
        let (_l, again) = read_back(&dir.0);
        assert_eq!(again, got);
    }

    #[test]
    fn an_entry_gone_in_the_log_is_not_read_back_from_the_table() {
        let dir = Dir::new("gone");
        let (l, _) = read_back(&dir.0);
        drop(l);
        let e = |k: &[u8]| RecordId {
            key: Id::new(k).unwrap(),
            origin: Id::from([10, 0, 0, 2]),
        };
        {
            let mut c = Connection::open(dir.0.join("s.db")).unwrap();
            let tx = c.transaction().unwrap();
            put_rows(
                &tx,
                &[
                    (e(b"x"), Some((5, Data::from(&b"t"[..]), false))),
                    (e(b"y"), Some((5, Data::from(&b"t"[..]), false))),
                ],
            )
            .unwrap();
            tx.commit().unwrap();
            log::append(&mut c, &[(e(b"x"), None)]).unwrap();
        }
        let (_l, got) = read_back(&dir.0);
        assert_eq!(got, vec![(b"y".to_vec(), 5, b"t".to_vec(), false)]);
    }

    #[test]
    fn a_file_of_layout_1_is_taken_up_with_its_entries() {
        let dir = Dir::new("layout1");
        std::fs::create_dir_all(&dir.0).unwrap();
        {
            let c = Connection::open(dir.0.join("s.db")).unwrap();
            c.execute_batch(&format!(
                "PRAGMA application_id={APPLICATION_ID}; PRAGMA user_version=1;
                 CREATE TABLE meta(k TEXT PRIMARY KEY NOT NULL, v TEXT NOT NULL) WITHOUT ROWID;
                 CREATE TABLE entries(origin BLOB NOT NULL, key BLOB NOT NULL,
                     seq INTEGER NOT NULL, flags INTEGER NOT NULL, data BLOB NOT NULL,
                     PRIMARY KEY(origin, key)) WITHOUT ROWID;
                 INSERT INTO entries VALUES (x'0a000002', x'6b', 9, 0, x'64');"
            ))
            .unwrap();
            c.execute(
                "INSERT INTO meta(k, v) VALUES ('identity', ?1)",
                params![identity_text(&identity())],
            )
            .unwrap();
        }
        let (l, got) = read_back(&dir.0);
        assert!(l.set_aside.is_none());
        assert_eq!(got, vec![(b"k".to_vec(), 9, b"d".to_vec(), false)]);
        drop(l);
        let c = Connection::open(dir.0.join("s.db")).unwrap();
        let v: i32 = c
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, LAYOUT);
    }

    #[test]
    fn a_second_opener_is_refused_while_the_first_holds_the_file() {
        let dir = Dir::new("lock");
        let _first = open(&dir.0, "s", &identity(), &mut |_| true).unwrap();
        // (Another process in real life; SQLite's locks are per open file.)
        match open(&dir.0, "s", &identity(), &mut |_| true) {
            Err(StateError::Locked { .. }) => {}
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_corrupt_or_foreign_file_is_set_aside_and_an_empty_one_started() {
        let dir = Dir::new("bad");
        std::fs::create_dir_all(&dir.0).unwrap();
        std::fs::write(dir.0.join("s.db"), vec![0x5a; 8192]).unwrap();
        std::fs::write(dir.0.join("s.seq"), "0x7000\n").unwrap();
        let mut n = 0;
        let l = open(&dir.0, "s", &identity(), &mut |c| {
            n += c.len();
            true
        })
        .unwrap();
        let (aside, why) = l.set_aside.clone().unwrap();
        assert!(aside.exists() && n == 0 && !l.rewrite, "{why}");
        // The reservation still bounds the numbers used before.
        assert_eq!(l.reserved, Some(0x7000));
        drop(l);
        // Another server's file.
        let other = Identity {
            lsid: Id::from([10, 0, 0, 2]),
            ..identity()
        };
        let l = open(&dir.0, "s", &other, &mut |_| true).unwrap();
        assert!(l.set_aside.unwrap().1.contains("another server"));
    }
}
