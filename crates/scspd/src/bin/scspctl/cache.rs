//! `show cache`: its filters and paging (`--key`, `--originator`, `--limit`, `--cursor`,
//! `--count`), the streamed reply read a frame at a time.

use std::path::Path;

use scspd::proto::{CacheQuery, Request, Response};

use super::tables::cache_table;
use super::{Failure, connect, out, out_json, unexpected};

/// The filters and paging of `show cache`.
#[derive(Debug, Clone, Default, clap::Args)]
pub(crate) struct CacheArgs {
    /// Only entries whose key begins with these bytes (hex).
    #[arg(long, value_name = "PREFIX")]
    key: Option<String>,
    /// Only entries of this originator (an ID as `show cache` writes it).
    #[arg(long, value_name = "ID")]
    originator: Option<String>,
    /// At most N entries; the cursor to continue from is printed on standard error.
    #[arg(long, value_name = "N")]
    limit: Option<u64>,
    /// Continue from this cursor (printed by an earlier `--limit`).
    #[arg(long)]
    cursor: Option<String>,
    /// Only print how many entries are selected.
    #[arg(long, conflicts_with_all = ["limit", "cursor"])]
    count: bool,
}

pub(crate) fn show_cache(
    socket: &Path,
    server: String,
    json: bool,
    a: CacheArgs,
) -> Result<(), Failure> {
    let count = a.count;
    let query = CacheQuery {
        key: a.key,
        originator: a.originator,
        limit: a.limit,
        cursor: a.cursor,
        count,
    };
    let mut entries = Vec::new();
    let mut next = None;
    let mut counted = None;
    connect(socket)?.request_each(Request::ShowCache { server, query }, |part| {
        match part {
            Response::Cache {
                entries: e,
                next: n,
                count: c,
                ..
            } => {
                entries.extend(e);
                next = n.or(next.take());
                counted = c.or(counted);
                Ok(())
            }
            // (Reported below.)
            other => Err(scspd::client::ClientError::Unexpected(format!("{other:?}"))),
        }
    })?;
    if count {
        let n = counted.ok_or_else(|| unexpected(&Response::Done))?;
        return if json {
            out_json(&serde_json::json!({ "count": n }))
        } else {
            out(&format!("{n}\n"))
        };
    }
    // The daemon streams in the cache's order; people read a table sorted by key.
    entries.sort_by(|a, b| (&a.key, &a.originator).cmp(&(&b.key, &b.originator)));
    if let Some(n) = &next {
        eprintln!("more entries follow: --cursor {n}");
    }
    if json {
        out_json(&entries)
    } else {
        out(&cache_table(&entries))
    }
}
