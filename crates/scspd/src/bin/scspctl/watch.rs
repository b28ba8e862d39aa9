//! `watch`: a server's changes as they happen, one line each (or JSON), timestamped.

use super::*;

pub(crate) fn watch(
    socket: &Path,
    server: String,
    confirm: bool,
    json: bool,
) -> Result<(), Failure> {
    let mut client = connect(socket)?;
    // Confirming takes the local server's place; only watching does not.
    let req = if confirm {
        Request::Attach {
            server: server.clone(),
            confirm,
        }
    } else {
        Request::Watch {
            server: server.clone(),
        }
    };
    // The snapshot is counted, not kept; the changes notified while it streamed are printed
    // next, in order.
    let mut n = 0;
    client.request_each(req, |part| match part {
        Response::Attached { entries, .. } => {
            n += entries.len();
            Ok(())
        }
        other => Err(scsp_client::ClientError::Unexpected(format!(
            "expected the snapshot, got {other:?}"
        ))),
    })?;
    let how = if confirm { "attached to" } else { "watching" };
    eprintln!("scspctl: {how} {server} ({n} live entries); waiting for changes");
    loop {
        let notify = client.next_notify()?;
        if json {
            out(&json_line(now_utc(), &notify))?;
        } else {
            out(&notify_line(now_utc(), &notify))?;
        }
        if let Notify::Confirm { server, token, .. } = notify {
            match client.request(Request::Confirm {
                server,
                token,
                accept: true,
            })? {
                Response::Done => {}
                other => return Err(unexpected(&other)),
            }
        }
    }
}

/// A notification as one JSON object, with `time` (RFC 3339, when scspctl received it) beside
/// the notification's own fields.
pub(crate) fn json_line(time: String, n: &Notify) -> String {
    let mut v = serde_json::to_value(n).expect("notifications serialize");
    if let serde_json::Value::Object(m) = &mut v {
        m.insert("time".to_owned(), time.into());
    }
    let mut line = v.to_string();
    line.push('\n');
    line
}

/// One line describing a notification.
pub(crate) fn notify_line(time: String, n: &Notify) -> String {
    let (event, server, entry, extra) = match n {
        Notify::Learned { server, entry } => ("learned", server, entry, String::new()),
        Notify::Replaced { server, entry } => ("replaced", server, entry, String::new()),
        Notify::Removed {
            server,
            entry,
            reason,
        } => ("removed", server, entry, format!(" reason={reason}")),
        Notify::Confirm {
            server,
            token,
            entry,
        } => ("confirm", server, entry, format!(" token={token} accepted")),
    };
    format!(
        "{time} {event} {server} key={} originator={} seq={:#010x} data={}{extra}{}\n",
        entry.key,
        entry.originator,
        entry.seq,
        if entry.data.is_empty() {
            "-"
        } else {
            &entry.data
        },
        entry.columns_note(),
    )
}

/// The current time, UTC, RFC 3339 to the millisecond (`2026-05-01T12:00:00.000Z`, as scspd's
/// log).
pub(crate) fn now_utc() -> String {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let secs = rfc3339(ms / 1000);
    format!("{}.{:03}Z", secs.trim_end_matches('Z'), ms % 1000)
}

pub(crate) fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Days to civil date (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}
