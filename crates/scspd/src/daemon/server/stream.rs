//! Pages of the cache for streamed replies (`show cache`, the dump): each command walks a
//! bounded number of slots from a position and returns the entries it selects, so that no
//! reply is built whole and no turn of the task is long, however large the cache.

use super::*;

/// Slots looked at in one page at most (a filter that selects few entries still costs a
/// bounded turn).
pub const SCAN_MAX: usize = 32_768;

/// What a page selects.
#[derive(Debug, Clone, Default)]
pub struct PageFilter {
    /// Keys beginning with these bytes.
    pub key_prefix: Vec<u8>,
    /// And then with this high nibble (a prefix of an odd number of hex digits).
    pub key_nibble: Option<u8>,
    /// This originator only.
    pub originator: Option<Vec<u8>>,
    /// Only count: no views built.
    pub count_only: bool,
}

/// One page.
#[derive(Debug, Default)]
pub struct CachePage {
    /// The entries selected (none when counting).
    pub entries: Vec<EntryView>,
    /// Entries selected (counted or returned).
    pub matched: u64,
    /// Where the next page starts; `None`: the end of the cache was reached.
    pub next: Option<usize>,
}

/// One page of the dump's cache section.
#[derive(Debug, Default)]
pub struct DumpPage {
    /// Lines of text.
    pub text: String,
    /// Where the next page starts; `None`: the end.
    pub next: Option<usize>,
}

impl PageFilter {
    fn selects(&self, id: &scsp_core::wire::RecordId) -> bool {
        let key = id.key.as_bytes();
        key.starts_with(&self.key_prefix)
            && self
                .key_nibble
                .is_none_or(|n| key.get(self.key_prefix.len()).is_some_and(|b| b >> 4 == n))
            && self
                .originator
                .as_deref()
                .is_none_or(|o| id.origin.as_bytes() == o)
    }
}

/// A key prefix in hex, of any number of digits: its whole bytes, and the high nibble of the
/// next one when the number is odd.
pub fn parse_key_prefix(hex_digits: &str) -> Option<(Vec<u8>, Option<u8>)> {
    if !hex_digits.is_ascii() {
        return None;
    }
    let even = hex_digits.len() & !1;
    let bytes = hex::decode(&hex_digits[..even]).ok()?;
    let nibble = match hex_digits[even..].chars().next() {
        Some(c) => Some(c.to_digit(16)? as u8),
        None => None,
    };
    Some((bytes, nibble))
}

/// An originator ID as written (a dotted quad, an IPv6 address, or hex) as its bytes.
pub fn parse_id(text: &str) -> Option<Vec<u8>> {
    if let Ok(a) = text.parse::<std::net::Ipv4Addr>() {
        return Some(a.octets().to_vec());
    }
    if let Ok(a) = text.parse::<std::net::Ipv6Addr>() {
        return Some(a.octets().to_vec());
    }
    hex::decode(text.trim_start_matches("0x")).ok()
}

impl Task {
    /// Live entries selected by `filter` from slot `from` on: at most `max`, looking at no more
    /// than [`SCAN_MAX`] slots.
    pub(super) fn cache_page(&self, filter: &PageFilter, from: usize, max: usize) -> CachePage {
        let now = self.now();
        let mut page = CachePage::default();
        let mut next = None;
        for (scanned, (i, id, e)) in self.server.cache().iter_from(from).enumerate() {
            if scanned >= SCAN_MAX || (!filter.count_only && page.entries.len() >= max) {
                next = Some(i);
                break;
            }
            if e.deleted() || !filter.selects(id) {
                continue;
            }
            page.matched += 1;
            if !filter.count_only {
                let mut v = self.entry_view(&e.view(id));
                v.age_s = now.since(e.since).as_secs();
                page.entries.push(v);
            }
        }
        page.next = next;
        page
    }

    /// A page of the snapshot of connection `conn` (the attached client or a monitor): at most
    /// `max` live entries from slot `from` on, queued behind the notifications of every change
    /// before it, so that the connection passes both on in the order they happened. `false`:
    /// `conn` is neither (any more), or its queue is full, and it is then dropped as a client
    /// that does not read.
    pub(super) fn snapshot_page(&mut self, conn: u64, from: usize, max: usize) -> bool {
        let link = match &self.client {
            Some(c) if c.conn == conn => c.clone(),
            _ => match self.monitors.iter().find(|m| m.conn == conn) {
                Some(m) => m.clone(),
                None => return false,
            },
        };
        let page = self.cache_page(&PageFilter::default(), from, max);
        let full = match link.notify.try_send(ToClient::Snapshot(page)) {
            Ok(()) => return true,
            Err(mpsc::error::TrySendError::Full(_)) => true,
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        };
        let kill = full.then(|| ProtoError {
            code: ErrorCode::Overflow,
            message: format!(
                "notification queue of server {} overflowed while its snapshot was sent: read \
                 faster",
                self.name
            ),
        });
        if self.client.as_ref().is_some_and(|c| c.conn == conn) {
            self.detach(kill);
        } else {
            if let Some(e) = kill {
                let _ = link.kill.try_send(e);
            }
            self.monitors.retain(|m| m.conn != conn);
            self.update_learn_events();
        }
        false
    }

    /// The dump's lines for at most `max` entries (deleted ones included) from slot `from` on.
    pub(super) fn dump_page(&self, from: usize, max: usize) -> DumpPage {
        let now = self.now();
        let mut page = DumpPage::default();
        for (n, (i, id, e)) in self.server.cache().iter_from(from).enumerate() {
            if n >= max {
                page.next = Some(i);
                break;
            }
            let from = match e.from() {
                Some(d) => format!("from DCS {}", self.dcs_label(d).0),
                None => "local".to_owned(),
            };
            let _ = writeln!(
                page.text,
                "    key {} originator {} seq {:#010x} {}{} age {}s data {}{}",
                hex::encode(id.key.as_bytes()),
                id_text(&id.origin),
                e.seq,
                from,
                if e.deleted() { " deleted" } else { "" },
                now.since(e.since).as_secs(),
                hex::encode(&e.data),
                if e.deleted() {
                    String::new()
                } else {
                    self.columns_note(id.key.as_bytes(), &e.data)
                }
            );
        }
        page
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_read_as_written() {
        assert_eq!(parse_id("10.0.0.1"), Some(vec![10, 0, 0, 1]));
        assert_eq!(parse_id("0a0b"), Some(vec![10, 11]));
        assert_eq!(parse_id("::1").map(|v| v.len()), Some(16));
        assert_eq!(parse_id("xyz"), None);
        assert_eq!(parse_key_prefix("0a0"), Some((vec![10], Some(0))));
        assert_eq!(parse_key_prefix("0a"), Some((vec![10], None)));
        assert_eq!(parse_key_prefix("0g"), None);
        assert_eq!(parse_key_prefix("é"), None);
        assert_eq!(parse_key_prefix("aé"), None);
    }
}
