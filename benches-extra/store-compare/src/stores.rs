//! The candidate stores behind one small interface: a batch of upserts and deletes committed
//! atomically, a full scan, and a compaction. Each store is opened in a directory of its own.

use std::path::Path;

/// The page or block cache given to every store: the same budget for each (their defaults differ:
/// redb 1 GiB, fjall 32 MiB, SQLite 2 MiB).
pub const CACHE_BYTES: usize = 64 << 20;

pub type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// One record operation of a batch.
pub enum Op<'a> {
    Put(&'a [u8], &'a [u8]),
    Del(&'a [u8]),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Redb,
    Fjall,
    Sqlite,
    /// redb with `WriteTransaction::set_quick_repair(true)` on every commit.
    RedbQuickRepair,
    /// fjall with 8 MiB memtables (default 64 MiB), flushed when the store is closed.
    FjallSmallMemtable,
}

impl Kind {
    /// The candidates with their defaults: what `run` measures unless told otherwise.
    pub const DEFAULT: [Kind; 3] = [Kind::Redb, Kind::Fjall, Kind::Sqlite];
    /// Every variant, tuned ones included.
    pub const ALL: [Kind; 5] = [
        Kind::Redb,
        Kind::Fjall,
        Kind::Sqlite,
        Kind::RedbQuickRepair,
        Kind::FjallSmallMemtable,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Redb => "redb",
            Kind::Fjall => "fjall",
            Kind::Sqlite => "sqlite",
            Kind::RedbQuickRepair => "redb-qr",
            Kind::FjallSmallMemtable => "fjall-8m",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == s)
    }

    /// The exact setting behind each durability mode, as printed in the tables.
    pub fn mode_setting(self, mode: Mode) -> &'static str {
        match (self, mode) {
            (Kind::Redb, Mode::Sync) => "Durability::Immediate",
            (Kind::Redb, Mode::NoSync) => "Durability::None",
            (Kind::RedbQuickRepair, Mode::Sync) => "Durability::Immediate, quick_repair",
            (Kind::RedbQuickRepair, Mode::NoSync) => "Durability::None, quick_repair",
            (Kind::Fjall, Mode::Sync) => "PersistMode::SyncAll",
            (Kind::Fjall, Mode::NoSync) => "PersistMode::Buffer",
            (Kind::FjallSmallMemtable, Mode::Sync) => "PersistMode::SyncAll, 8 MiB memtable",
            (Kind::FjallSmallMemtable, Mode::NoSync) => "PersistMode::Buffer, 8 MiB memtable",
            (Kind::Sqlite, Mode::Sync) => "WAL, synchronous=FULL",
            (Kind::Sqlite, Mode::NoSync) => "WAL, synchronous=NORMAL",
        }
    }
}

/// `Sync`: every commit is on stable storage when it returns (fsync/fdatasync).
/// `NoSync`: the commit is handed to the kernel without an fsync (survives the process being
/// killed, not a power loss) where the store has such a mode; redb's `Durability::None` is weaker
/// (see the crash table).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Mode {
    Sync,
    NoSync,
}

impl Mode {
    pub const ALL: [Mode; 2] = [Mode::Sync, Mode::NoSync];

    pub fn name(self) -> &'static str {
        match self {
            Mode::Sync => "sync",
            Mode::NoSync => "nosync",
        }
    }

    pub fn parse(s: &str) -> Option<Mode> {
        Mode::ALL.into_iter().find(|m| m.name() == s)
    }
}

pub trait Store {
    /// Sets the durability of the following commits.
    fn set_mode(&mut self, mode: Mode) -> Res<()>;
    /// Applies `ops` in one atomic commit.
    fn write_batch(&mut self, ops: &[Op<'_>]) -> Res<()>;
    /// Calls `f` on every record; returns the number of records.
    fn scan(&mut self, f: &mut dyn FnMut(&[u8], &[u8])) -> Res<u64>;
    /// Gives back the space of overwritten and deleted records, as far as the store can.
    fn compact(&mut self) -> Res<()>;
}

pub fn open(kind: Kind, mode: Mode, dir: &Path) -> Res<Box<dyn Store>> {
    std::fs::create_dir_all(dir)?;
    let mut store: Box<dyn Store> = match kind {
        Kind::Redb => Box::new(RedbStore::open(dir, false)?),
        Kind::RedbQuickRepair => Box::new(RedbStore::open(dir, true)?),
        Kind::Fjall => Box::new(FjallStore::open(dir, None)?),
        Kind::FjallSmallMemtable => Box::new(FjallStore::open(dir, Some(8 << 20))?),
        Kind::Sqlite => Box::new(SqliteStore::open(dir)?),
    };
    store.set_mode(mode)?;
    Ok(store)
}

// ---------------------------------------------------------------------------------------------
// redb: a copy-on-write B-tree in one file.

const REDB_TABLE: redb::TableDefinition<&[u8], &[u8]> = redb::TableDefinition::new("cache");

struct RedbStore {
    db: redb::Database,
    durability: redb::Durability,
    quick_repair: bool,
}

impl RedbStore {
    fn open(dir: &Path, quick_repair: bool) -> Res<Self> {
        // `create` opens the file if it exists (and repairs it after an unclean shutdown).
        let db = redb::Builder::new()
            .set_cache_size(CACHE_BYTES)
            .create(dir.join("cache.redb"))?;
        Ok(RedbStore {
            db,
            durability: redb::Durability::Immediate,
            quick_repair,
        })
    }
}

impl Store for RedbStore {
    fn set_mode(&mut self, mode: Mode) -> Res<()> {
        self.durability = match mode {
            Mode::Sync => redb::Durability::Immediate,
            Mode::NoSync => redb::Durability::None,
        };
        Ok(())
    }

    fn write_batch(&mut self, ops: &[Op<'_>]) -> Res<()> {
        let mut tx = self.db.begin_write()?;
        tx.set_durability(self.durability)?;
        if self.quick_repair {
            tx.set_quick_repair(true);
        }
        {
            let mut table = tx.open_table(REDB_TABLE)?;
            for op in ops {
                match *op {
                    Op::Put(k, v) => {
                        table.insert(k, v)?;
                    }
                    Op::Del(k) => {
                        table.remove(k)?;
                    }
                }
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn scan(&mut self, f: &mut dyn FnMut(&[u8], &[u8])) -> Res<u64> {
        use redb::{ReadableDatabase, ReadableTable};
        let tx = self.db.begin_read()?;
        let table = match tx.open_table(REDB_TABLE) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(0),
            Err(e) => return Err(e.into()),
        };
        let mut n = 0;
        for row in table.iter()? {
            let (k, v) = row?;
            f(k.value(), v.value());
            n += 1;
        }
        Ok(n)
    }

    fn compact(&mut self) -> Res<()> {
        // A durable commit first: compaction refuses to run while non-durable commits are pending.
        let mut tx = self.db.begin_write()?;
        tx.set_durability(redb::Durability::Immediate)?;
        tx.commit()?;
        while self.db.compact(redb::CompactionMode::Maximum)? {}
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// fjall: an LSM tree (journal + memtable + sorted tables), background flush and compaction threads.

struct FjallStore {
    db: fjall::Database,
    ks: fjall::Keyspace,
    persist: fjall::PersistMode,
    /// Flush the memtable when the store is closed, so that the next open has little journal to
    /// replay (`rotate_memtable_and_wait`, public but hidden from the documentation).
    flush_on_close: bool,
}

impl FjallStore {
    fn open(dir: &Path, memtable: Option<u64>) -> Res<Self> {
        let db = fjall::Database::builder(dir)
            .cache_size(CACHE_BYTES as u64)
            .open()?;
        let ks = db.keyspace("cache", || {
            let o = fjall::KeyspaceCreateOptions::default();
            match memtable {
                Some(bytes) => o.max_memtable_size(bytes),
                None => o,
            }
        })?;
        Ok(FjallStore {
            db,
            ks,
            persist: fjall::PersistMode::SyncAll,
            flush_on_close: memtable.is_some(),
        })
    }
}

impl Drop for FjallStore {
    fn drop(&mut self) {
        if self.flush_on_close {
            let _ = self.ks.rotate_memtable_and_wait();
        }
    }
}

impl Store for FjallStore {
    fn set_mode(&mut self, mode: Mode) -> Res<()> {
        self.persist = match mode {
            Mode::Sync => fjall::PersistMode::SyncAll,
            Mode::NoSync => fjall::PersistMode::Buffer,
        };
        Ok(())
    }

    fn write_batch(&mut self, ops: &[Op<'_>]) -> Res<()> {
        let mut batch = self.db.batch().durability(Some(self.persist));
        for op in ops {
            match *op {
                Op::Put(k, v) => batch.insert(&self.ks, k, v),
                Op::Del(k) => batch.remove(&self.ks, k),
            }
        }
        batch.commit()?;
        Ok(())
    }

    fn scan(&mut self, f: &mut dyn FnMut(&[u8], &[u8])) -> Res<u64> {
        let mut n = 0;
        for guard in self.ks.iter() {
            let (k, v) = guard.into_inner()?;
            f(&k, &v);
            n += 1;
        }
        Ok(n)
    }

    fn compact(&mut self) -> Res<()> {
        // `major_compact` is public but hidden from the documentation; the store otherwise
        // compacts in the background by itself.
        self.ks.major_compact()?;
        self.db.persist(fjall::PersistMode::SyncAll)?;
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// SQLite (bundled, through rusqlite): a B-tree file plus a write-ahead log.

struct SqliteStore {
    conn: rusqlite::Connection,
}

impl SqliteStore {
    fn open(dir: &Path) -> Res<Self> {
        let conn = rusqlite::Connection::open(dir.join("cache.sqlite"))?;
        let jm: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        if jm != "wal" {
            return Err(format!("journal_mode is {jm}, not wal").into());
        }
        // cache_size in KiB when negative.
        conn.execute_batch(&format!("PRAGMA cache_size=-{};", CACHE_BYTES >> 10))?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS cache(k BLOB PRIMARY KEY NOT NULL, v BLOB NOT NULL) WITHOUT ROWID;",
        )?;
        Ok(SqliteStore { conn })
    }
}

impl Store for SqliteStore {
    fn set_mode(&mut self, mode: Mode) -> Res<()> {
        let sql = match mode {
            Mode::Sync => "PRAGMA synchronous=FULL",
            Mode::NoSync => "PRAGMA synchronous=NORMAL",
        };
        self.conn.execute_batch(sql)?;
        Ok(())
    }

    fn write_batch(&mut self, ops: &[Op<'_>]) -> Res<()> {
        let tx = self.conn.transaction()?;
        {
            let mut put =
                tx.prepare_cached("INSERT OR REPLACE INTO cache(k, v) VALUES (?1, ?2)")?;
            let mut del = tx.prepare_cached("DELETE FROM cache WHERE k = ?1")?;
            for op in ops {
                match *op {
                    Op::Put(k, v) => put.execute((k, v))?,
                    Op::Del(k) => del.execute([k])?,
                };
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn scan(&mut self, f: &mut dyn FnMut(&[u8], &[u8])) -> Res<u64> {
        let mut stmt = self.conn.prepare("SELECT k, v FROM cache")?;
        let mut rows = stmt.query([])?;
        let mut n = 0;
        while let Some(row) = rows.next()? {
            let k = row.get_ref(0)?.as_blob()?;
            let v = row.get_ref(1)?.as_blob()?;
            f(k, v);
            n += 1;
        }
        Ok(n)
    }

    fn compact(&mut self) -> Res<()> {
        self.conn.execute_batch(
            "PRAGMA wal_checkpoint(TRUNCATE); VACUUM; PRAGMA wal_checkpoint(TRUNCATE);",
        )?;
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// The floor: not a store, only what the disk allows. Each batch is appended to one file (one
// `write`), then `fdatasync` in `Sync` mode. Measured beside the stores in the flood, so that their
// figures can be read against the fsync latency of the moment.

pub struct AppendLog {
    file: std::fs::File,
    buf: Vec<u8>,
    sync: bool,
}

impl AppendLog {
    pub fn create(path: &Path) -> Res<Self> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .open(path)?;
        Ok(AppendLog {
            file,
            buf: Vec::new(),
            sync: true,
        })
    }
}

impl Store for AppendLog {
    fn set_mode(&mut self, mode: Mode) -> Res<()> {
        self.sync = mode == Mode::Sync;
        Ok(())
    }

    fn write_batch(&mut self, ops: &[Op<'_>]) -> Res<()> {
        use std::io::Write;
        self.buf.clear();
        for op in ops {
            let (k, v): (&[u8], &[u8]) = match *op {
                Op::Put(k, v) => (k, v),
                Op::Del(k) => (k, &[]),
            };
            self.buf.push(k.len() as u8);
            self.buf.push(v.len() as u8);
            self.buf.extend_from_slice(k);
            self.buf.extend_from_slice(v);
        }
        self.file.write_all(&self.buf)?;
        if self.sync {
            self.file.sync_data()?;
        }
        Ok(())
    }

    fn scan(&mut self, _: &mut dyn FnMut(&[u8], &[u8])) -> Res<u64> {
        Err("the append-only floor is not a store".into())
    }

    fn compact(&mut self) -> Res<()> {
        Ok(())
    }
}
