//! How the simulator names entries and packets in its failure lines and traces.

use super::*;

pub(super) fn record_id(key: &[u8], origin: &Id) -> RecordId {
    RecordId {
        key: Id::new(key).expect("keys are 4 bytes"),
        origin: origin.clone(),
    }
}

pub(super) fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub(super) fn show_id(id: &RecordId) -> String {
    format!(
        "{}/key {}",
        hex(id.origin.as_bytes()),
        hex(id.key.as_bytes())
    )
}

pub(super) fn show_entry(id: &RecordId, origin: usize) -> String {
    format!("{} (of server {origin})", show_id(id))
}

pub(super) fn describe_entry(e: &scsp_core::Entry) -> String {
    format!(
        "seq {:#x}{}{}",
        e.seq,
        if e.deleted() { " deleted" } else { "" },
        if e.owned() { "" } else { " not owned" }
    )
}

/// Seconds with millisecond precision.
pub fn fmt_secs(d: Duration) -> String {
    format!("{}.{:03}s", d.as_secs(), d.subsec_millis())
}

/// A one-line summary of a packet, for the trace; with `detail`, every record of a CA, CSU
/// Request, CSU Reply or CSUS.
pub(super) fn describe(bytes: &[u8], detail: bool) -> String {
    match wire::decode(bytes) {
        Ok(p) => {
            let kind = p.body.message_type().name();
            match &p.body {
                Body::Hello { .. } => {
                    let heard = if p.common.receiver.is_empty() {
                        " (hears nobody)"
                    } else {
                        ""
                    };
                    format!("Hello{heard}")
                }
                Body::Ca {
                    seq,
                    m,
                    i,
                    o,
                    records,
                } => {
                    let list = if detail {
                        let r: Vec<String> = records
                            .iter()
                            .map(|c| format!("{}@{:#x}", show_id(&c.id), c.seq))
                            .collect();
                        format!(" [{}]", r.join(" "))
                    } else {
                        String::new()
                    };
                    format!(
                        "CA seq={seq:#x}{}{}{} records={}{list}",
                        if *m { " M" } else { "" },
                        if *i { " I" } else { "" },
                        if *o { " O" } else { "" },
                        records.len()
                    )
                }
                _ if !detail => format!("{kind} records={}", p.body.record_count()),
                Body::CsuRequest { records } => {
                    let r: Vec<String> = records
                        .iter()
                        .map(|c| {
                            format!(
                                "{}@{:#x}h{}{}",
                                show_id(&c.summary.id),
                                c.summary.seq,
                                c.summary.hops,
                                if c.summary.null { "N" } else { "" }
                            )
                        })
                        .collect();
                    format!("{kind} [{}]", r.join(" "))
                }
                Body::CsuReply { records } | Body::Csus { records } => {
                    let r: Vec<String> = records
                        .iter()
                        .map(|c| {
                            format!(
                                "{}@{:#x}{}",
                                show_id(&c.id),
                                c.seq,
                                if c.null { "N" } else { "" }
                            )
                        })
                        .collect();
                    format!("{kind} [{}]", r.join(" "))
                }
            }
        }
        Err(e) => format!("undecodable packet ({e})"),
    }
}
