//! A complete local server on `scsp-client`: it attaches to one server of scspd, hands its whole
//! table over (so that entries it no longer has are withdrawn from the group, and unchanged ones
//! keep their numbers), then follows the group's changes; when scspd goes away it connects again
//! and hands the table over again.
//!
//! ```sh
//! cargo run -p scsp-client --example local_server -- /run/scspd.sock atmarp table.txt
//! ```
//!
//! `table.txt` holds one entry a line: the cache key and the data, in hex.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use scsp_client::proto::{KeyData, Notify, Request, Response};
use scsp_client::{Client, ClientError};

/// Read a table: `key data` per line, hex; blank lines and `#` comments skipped.
pub fn read_table(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            Some((w.next()?.to_owned(), w.next().unwrap_or("").to_owned()))
        })
        .collect()
}

/// One session: attach to `server` at `socket`, hand `table` over, then hand each notification
/// to `on_change` until it returns false (or the connection ends, an error).
pub fn serve(
    socket: &Path,
    server: &str,
    table: &BTreeMap<String, String>,
    mut on_change: impl FnMut(&Notify) -> bool,
) -> Result<(), ClientError> {
    let mut c = Client::connect_as(socket, "local_server example")?;
    let held = match c.request(Request::Attach {
        server: server.to_owned(),
        confirm: false,
    })? {
        Response::Attached { entries, .. } => entries.len(),
        _ => 0,
    };
    let entries = table
        .iter()
        .map(|(key, data)| KeyData {
            key: key.clone(),
            data: data.clone(),
            seq: None,
        })
        .collect();
    if let Response::Loaded { accepted, errors } = c.request(Request::Handover {
        server: server.to_owned(),
        entries,
    })? {
        eprintln!(
            "attached to {server} ({held} entries held); handed over {accepted}, refused {}",
            errors.len()
        );
    }
    loop {
        let n = c.next_notify()?;
        if !on_change(&n) {
            return Ok(());
        }
    }
}

#[allow(dead_code)]
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, socket, server, table] = args.as_slice() else {
        eprintln!("usage: local_server SOCKET SERVER TABLE");
        std::process::exit(2);
    };
    let mut backoff = Duration::from_millis(100);
    loop {
        let text = std::fs::read_to_string(table).unwrap_or_default();
        let r = serve(Path::new(socket), server, &read_table(&text), |n| {
            match n {
                Notify::Learned { entry, .. } => println!("learned {} {}", entry.key, entry.data),
                Notify::Replaced { entry, .. } => println!("replaced {} {}", entry.key, entry.data),
                Notify::Removed { entry, reason, .. } => {
                    println!("removed {} ({reason})", entry.key)
                }
                Notify::Confirm { .. } => {}
            }
            true
        });
        if let Err(e) = r {
            eprintln!("scspd: {e}; connecting again in {backoff:?}");
        }
        std::thread::sleep(backoff);
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}
