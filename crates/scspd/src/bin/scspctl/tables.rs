//! The tables `show` prints.

use super::*;

/// Column alignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Align {
    Left,
    Right,
}

/// A text table: a header row, columns as wide as their widest cell, two spaces apart; no
/// trailing spaces.
#[derive(Debug)]
pub(crate) struct Table {
    columns: Vec<(String, Align)>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub(crate) fn new(columns: &[(&str, Align)]) -> Table {
        Table {
            columns: columns.iter().map(|(h, a)| ((*h).to_owned(), *a)).collect(),
            rows: Vec::new(),
        }
    }

    pub(crate) fn row(&mut self, cells: Vec<String>) {
        debug_assert_eq!(cells.len(), self.columns.len());
        self.rows.push(cells);
    }

    pub(crate) fn render(&self) -> String {
        let width = |s: &str| s.chars().count();
        let mut widths: Vec<usize> = self.columns.iter().map(|(h, _)| width(h)).collect();
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(width(cell));
            }
        }
        let mut s = String::new();
        let header = self
            .columns
            .iter()
            .map(|(h, _)| h.to_string())
            .collect::<Vec<_>>();
        for row in std::iter::once(&header).chain(&self.rows) {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate() {
                if i > 0 {
                    line.push_str("  ");
                }
                let pad = widths[i] - width(cell);
                match self.columns[i].1 {
                    Align::Left => {
                        line.push_str(cell);
                        line.extend(std::iter::repeat_n(' ', pad));
                    }
                    Align::Right => {
                        line.extend(std::iter::repeat_n(' ', pad));
                        line.push_str(cell);
                    }
                }
            }
            let _ = writeln!(s, "{}", line.trim_end());
        }
        s
    }
}

pub(crate) fn servers_table(servers: &[ServerView]) -> String {
    use Align::*;
    let mut t = Table::new(&[
        ("NAME", Left),
        ("PROTOCOL", Left),
        ("SGID", Right),
        ("LSID", Left),
        ("LISTEN", Left),
        ("ENTRIES", Right),
        ("ALIGNED", Right),
        ("CLIENT", Left),
    ]);
    for s in servers {
        let protocol = if s.protocol.is_empty() {
            s.protocol_id.to_string()
        } else {
            s.protocol.clone()
        };
        t.row(vec![
            s.name.clone(),
            protocol,
            s.sgid.to_string(),
            s.lsid.clone(),
            s.listen.clone(),
            s.entries.to_string(),
            format!("{}/{}", s.dcs_aligned, s.dcs),
            if s.client_attached { "attached" } else { "-" }.into(),
        ]);
    }
    let mut text = t.render();
    text.push_str(&status::not_running(servers));
    text
}

pub(crate) fn dcs_table(dcs: &[DcsView]) -> String {
    use Align::*;
    let mut t = Table::new(&[
        ("SERVER", Left),
        ("DCS", Left),
        ("ADDRESS", Left),
        ("HELLO", Left),
        ("SINCE", Right),
        ("CA", Left),
        ("SINCE", Right),
        ("RX", Right),
        ("TX", Right),
        ("ERRORS", Right),
        ("REXMIT", Right),
        ("QUEUE", Right),
    ]);
    for d in dcs {
        t.row(vec![
            d.server.clone(),
            d.id.clone(),
            d.address.clone(),
            d.hello.clone(),
            duration(d.hello_since_s),
            d.ca.clone(),
            duration(d.ca_since_s),
            d.rx_msgs.to_string(),
            d.tx_msgs.to_string(),
            d.errors.to_string(),
            d.retransmits.to_string(),
            d.rexmit_queue.to_string(),
        ]);
    }
    t.render()
}

/// Data longer than this many characters is cut in the table.
pub(crate) const DATA_WIDTH: usize = 32;

pub(crate) fn cache_table(entries: &[EntryView]) -> String {
    use Align::*;
    if entries.iter().any(|e| e.columns.is_some()) {
        return record_table(entries);
    }
    let mut t = Table::new(&[
        ("KEY", Left),
        ("ORIGINATOR", Left),
        ("SEQ", Right),
        ("AGE", Right),
        ("DATA", Left),
    ]);
    for e in entries {
        let data = if e.data.is_empty() {
            "-".to_owned()
        } else if e.data.len() > DATA_WIDTH {
            format!("{}…", &e.data[..DATA_WIDTH - 1])
        } else {
            e.data.clone()
        };
        t.row(vec![
            e.key.clone(),
            e.originator.clone(),
            format!("{:#010x}", e.seq),
            duration(e.age_s),
            data,
        ]);
    }
    t.render()
}

/// The cache with each record decoded: the profile's columns (the union of those of the
/// entries, in order), then ORIGINATOR (as an address), SEQ and AGE; and, when some record could
/// not be decoded, KEY and DATA in hex.
pub(crate) fn record_table(entries: &[EntryView]) -> String {
    let mut names: Vec<String> = Vec::new();
    for c in entries.iter().filter_map(|e| e.columns.as_ref()).flatten() {
        if !names.contains(&c.name) {
            names.push(c.name.clone());
        }
    }
    let originator = !names.iter().any(|n| n == "ORIGINATOR");
    let raw = entries.iter().any(|e| e.columns.is_none());
    let mut header: Vec<(&str, Align)> = names.iter().map(|n| (n.as_str(), Align::Left)).collect();
    if originator {
        header.push(("ORIGINATOR", Align::Left));
    }
    header.extend([("SEQ", Align::Right), ("AGE", Align::Right)]);
    if raw {
        header.extend([("KEY", Align::Left), ("DATA", Align::Left)]);
    }
    let mut t = Table::new(&header);
    for e in entries {
        let mut row: Vec<String> = names
            .iter()
            .map(|n| {
                e.columns
                    .iter()
                    .flatten()
                    .find(|c| &c.name == n)
                    .map(|c| {
                        if c.value.is_empty() {
                            "-".to_owned()
                        } else {
                            c.value.clone()
                        }
                    })
                    .unwrap_or_else(|| "-".to_owned())
            })
            .collect();
        if originator {
            row.push(id_text(&e.originator));
        }
        row.push(format!("{:#010x}", e.seq));
        row.push(duration(e.age_s));
        if raw {
            row.push(e.key.clone());
            row.push(if e.data.is_empty() {
                "-".to_owned()
            } else {
                e.data.clone()
            });
        }
        t.row(row);
    }
    t.render()
}

/// An SCSP ID given in hex as people write it: 4 bytes as an IPv4 address, 16 as an IPv6
/// address, anything else in hex.
pub(crate) fn id_text(hex_id: &str) -> String {
    match hex::decode(hex_id) {
        Ok(b) if b.len() == 4 => std::net::Ipv4Addr::new(b[0], b[1], b[2], b[3]).to_string(),
        Ok(b) if b.len() == 16 => {
            let mut o = [0u8; 16];
            o.copy_from_slice(&b);
            std::net::Ipv6Addr::from(o).to_string()
        }
        _ => hex_id.to_owned(),
    }
}

/// A duration for humans, two units at most: `45s`, `3m12s`, `2h05m`, `3d04h`.
pub(crate) fn duration(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    if d > 0 {
        format!("{d}d{h:02}h")
    } else if h > 0 {
        format!("{h}h{m:02}m")
    } else if m > 0 {
        format!("{m}m{s:02}s")
    } else {
        format!("{s}s")
    }
}
