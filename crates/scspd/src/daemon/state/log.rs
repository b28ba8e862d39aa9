//! The change log of a state file: each transaction of the writer appends one row to the table
//! `log`, a blob holding its batch of changes, instead of one row per change in `entries`.
//! A flood changes entries faster than SQLite can index them (about a microsecond of CPU per
//! row, at every server the flood passes); appending the batch costs a copy of its bytes.
//! The log is folded into `entries` (the indexed table: one row per entry) when changes come
//! slowly, or when it has grown past what the cache could hold twice; a restart reads both.
//!
//! A batch's blob is a sequence of changes, each:
//!
//! ```text
//! u8 origin length, origin, u8 key length, key, u8 what
//!   what = 0: the entry is gone (no longer in the cache)
//!   what = 1: the entry is live,    then u32 sequence number, u32 data length, data
//!   what = 2: the entry is deleted, then u32 sequence number, u32 data length, data
//! ```
//!
//! integers in network order. A blob that does not decode to its end is used up to the change
//! that does not decode; the rest is counted as bad rows.

use rusqlite::{Connection, params};
use scsp_core::wire::{Data, Id, RecordId};

use super::{FLAG_DELETED, Row};

/// The table, created in a file of layout 1 when it is opened by this version (layout 2).
pub(super) const CREATE: &str = "CREATE TABLE IF NOT EXISTS log(id INTEGER PRIMARY KEY, n INTEGER NOT NULL, rows BLOB NOT NULL)";

const GONE: u8 = 0;
const LIVE: u8 = 1;
const DELETED: u8 = 2;

/// The blob of a batch.
pub(super) fn encode(batch: &[(RecordId, Row)]) -> Vec<u8> {
    let size: usize = batch
        .iter()
        .map(|(id, r)| {
            3 + id.origin.as_bytes().len()
                + id.key.as_bytes().len()
                + r.as_ref().map_or(0, |(_, d, _)| 8 + d.len())
        })
        .sum();
    let mut buf = Vec::with_capacity(size);
    for (id, row) in batch {
        for b in [id.origin.as_bytes(), id.key.as_bytes()] {
            // An ID is at most 255 octets (its length is one octet on the wire).
            buf.push(b.len() as u8);
            buf.extend_from_slice(b);
        }
        match row {
            None => buf.push(GONE),
            Some((seq, data, deleted)) => {
                buf.push(if *deleted { DELETED } else { LIVE });
                buf.extend_from_slice(&seq.to_be_bytes());
                buf.extend_from_slice(&(data.len() as u32).to_be_bytes());
                buf.extend_from_slice(data);
            }
        }
    }
    buf
}

/// The changes of a blob, in order; and whether it decoded to its end.
pub(super) fn decode(mut b: &[u8], mut f: impl FnMut(RecordId, Row)) -> bool {
    fn take<'a>(b: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
        let (x, rest) = b.split_at_checked(n)?;
        *b = rest;
        Some(x)
    }
    fn u32_of(b: &mut &[u8]) -> Option<u32> {
        Some(u32::from_be_bytes(take(b, 4)?.try_into().ok()?))
    }
    fn one(b: &mut &[u8]) -> Option<(RecordId, Row)> {
        let n = usize::from(*take(b, 1)?.first()?);
        let origin = Id::new(take(b, n)?)?;
        let n = usize::from(*take(b, 1)?.first()?);
        let key = Id::new(take(b, n)?)?;
        if key.as_bytes().is_empty() {
            return None;
        }
        let id = RecordId { key, origin };
        let row = match *take(b, 1)?.first()? {
            GONE => None,
            w @ (LIVE | DELETED) => {
                let seq = u32_of(b)?;
                let len = usize::try_from(u32_of(b)?).ok()?;
                Some((seq, Data::from(take(b, len)?), w == DELETED))
            }
            _ => return None,
        };
        Some((id, row))
    }
    while !b.is_empty() {
        let Some((id, row)) = one(&mut b) else {
            return false;
        };
        f(id, row);
    }
    true
}

/// Append a batch: one row. Returns the bytes of its blob.
pub(super) fn append(conn: &mut Connection, batch: &[(RecordId, Row)]) -> rusqlite::Result<usize> {
    let blob = encode(batch);
    let tx = conn.transaction()?;
    tx.prepare_cached("INSERT INTO log(n, rows) VALUES (?1, ?2)")?
        .execute(params![batch.len() as i64, &blob])?;
    tx.commit()?;
    Ok(blob.len())
}

/// Changes in the log.
pub(super) fn rows(conn: &Connection) -> rusqlite::Result<u64> {
    conn.query_row("SELECT coalesce(sum(n), 0) FROM log", [], |r| {
        r.get::<_, i64>(0)
    })
    .map(|n| u64::try_from(n).unwrap_or(0))
}

/// Fold the oldest batch of the log into `entries`, in one transaction. Returns the changes
/// folded (0: the log is empty).
pub(super) fn fold_one(conn: &mut Connection) -> rusqlite::Result<u64> {
    let tx = conn.transaction()?;
    let first: Option<(i64, i64, Vec<u8>)> = tx
        .query_row("SELECT id, n, rows FROM log ORDER BY id LIMIT 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .map(Some)
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            e => Err(e),
        })?;
    let Some((id, n, blob)) = first else {
        return Ok(0);
    };
    let mut batch = Vec::with_capacity(usize::try_from(n).unwrap_or(0).min(1 << 16));
    // What does not decode was counted when the file was read; it cannot be folded.
    decode(&blob, |id, row| batch.push((id, row)));
    // In the table's order: each insertion lands next to the one before in the B-tree (a
    // stable sort: the changes of one entry stay in the order they were made).
    batch.sort_by(|a, b| {
        (a.0.origin.as_bytes(), a.0.key.as_bytes())
            .cmp(&(b.0.origin.as_bytes(), b.0.key.as_bytes()))
    });
    super::put_rows(&tx, &batch)?;
    tx.execute("DELETE FROM log WHERE id = ?1", params![id])?;
    tx.commit()?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Read the log back, the newest change first, handing each to `f` (which returns false to
/// stop). Returns the changes that did not decode.
pub(super) fn read_newest_first(
    conn: &Connection,
    f: &mut dyn FnMut(RecordId, Row) -> bool,
) -> rusqlite::Result<usize> {
    let mut bad = 0;
    let mut stmt = conn.prepare("SELECT n, rows FROM log ORDER BY id DESC")?;
    let mut q = stmt.query([])?;
    let mut batch = Vec::new();
    while let Some(r) = q.next()? {
        let n = usize::try_from(r.get::<_, i64>(0)?).unwrap_or(0);
        let Some(blob) = r.get_ref(1)?.as_blob().ok() else {
            bad += n;
            continue;
        };
        batch.clear();
        if !decode(blob, |id, row| batch.push((id, row))) {
            bad += n.saturating_sub(batch.len()).max(1);
        }
        for (id, row) in batch.drain(..).rev() {
            if !f(id, row) {
                return Ok(bad);
            }
        }
    }
    Ok(bad)
}

/// `flags` column of a row.
pub(super) fn flags(deleted: bool) -> i64 {
    if deleted { FLAG_DELETED } else { 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(key: &[u8], origin: u8) -> RecordId {
        RecordId {
            key: Id::new(key).unwrap(),
            origin: Id::from([10, 0, 0, origin]),
        }
    }

    #[test]
    fn a_batch_decodes_to_what_was_encoded() {
        let batch: Vec<(RecordId, Row)> = vec![
            (id(b"a", 1), Some((7, Data::from(&b"xyz"[..]), false))),
            (id(b"bb", 2), None),
            (id(b"c", 1), Some((0x8000_0001, Data::from(&b""[..]), true))),
        ];
        let blob = encode(&batch);
        let mut back = Vec::new();
        assert!(decode(&blob, |i, r| back.push((i, r))));
        assert_eq!(back, batch);
    }

    #[test]
    fn a_truncated_or_damaged_blob_yields_what_precedes_the_damage() {
        let batch: Vec<(RecordId, Row)> = vec![
            (id(b"a", 1), Some((7, Data::from(&b"xyz"[..]), false))),
            (id(b"b", 1), Some((8, Data::from(&b"uvw"[..]), false))),
        ];
        let blob = encode(&batch);
        for cut in 0..blob.len() {
            let mut back = Vec::new();
            let whole = decode(&blob[..cut], |i, r| back.push((i, r)));
            assert!(back.len() <= 1 || cut == blob.len());
            assert_eq!(whole, cut == 0 || cut == blob.len() / 2, "cut at {cut}");
        }
        let mut bad = blob.clone();
        bad[7] = 9; // the first change's "what" (after 1 + 4 + 1 + 1 octets)
        assert!(!decode(&bad, |_, _| panic!(
            "nothing decodes before the damage"
        )));
    }
}
