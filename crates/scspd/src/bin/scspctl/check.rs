//! `scspctl check [SERVER]`: one line and a Nagios exit status for monitoring.
//!
//! - 0 OK: every DCS (of SERVER, or of every server) is Aligned.
//! - 1 WARNING: some DCS is not Aligned, but none has been out of Aligned for `--warn-after`
//!   seconds or more (measured by scspd from the moment the DCS left Aligned, or from the moment
//!   it was configured if it never was Aligned: an alignment that restarts does not reset it).
//! - 2 CRITICAL: some DCS has not been Aligned for `--warn-after` seconds or more, a configured
//!   server is not running (it failed to start, or its task stopped), or scspd does not answer
//!   (not running, socket missing).
//! - 3 UNKNOWN: no server of that name, or an answer scspctl does not understand.
//!
//! DCSs disabled by `scspctl dcs disable` are not checked (the line counts them).

use std::path::Path;
use std::process::ExitCode;

use scsp_client::client::Client;
use scsp_client::proto::{DcsView, Request, Response, ServerView};

/// The default of `--warn-after`, seconds.
pub const DEFAULT_WARN_AFTER: u64 = 60;

/// Nagios states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Ok = 0,
    Warning = 1,
    Critical = 2,
    Unknown = 3,
}

impl Level {
    fn word(self) -> &'static str {
        match self {
            Level::Ok => "OK",
            Level::Warning => "WARNING",
            Level::Critical => "CRITICAL",
            Level::Unknown => "UNKNOWN",
        }
    }
}

/// The verdict on what scspd reported: the level and the line after "SCSP <LEVEL> - ".
pub fn evaluate(
    servers: &[ServerView],
    dcs: &[DcsView],
    only: Option<&str>,
    warn_after: u64,
) -> (Level, String) {
    let servers: Vec<&ServerView> = servers
        .iter()
        .filter(|s| only.is_none_or(|o| s.name == o))
        .collect();
    if let Some(o) = only
        && servers.is_empty()
    {
        return (Level::Unknown, format!("no server named \"{o}\""));
    }
    let (disabled, dcs): (Vec<&DcsView>, Vec<&DcsView>) = dcs
        .iter()
        .filter(|d| only.is_none_or(|o| d.server == o))
        .partition(|d| d.disabled);
    let mut level = Level::Ok;
    let mut problems = Vec::new();
    for s in &servers {
        if s.state != "running" {
            level = Level::Critical;
            problems.push(format!(
                "server {} {}: {}",
                s.name,
                s.state,
                s.error.as_deref().unwrap_or("no reason given")
            ));
        }
    }
    let aligned = dcs.iter().filter(|d| d.ca == "Aligned").count();
    for d in dcs.iter().filter(|d| d.ca != "Aligned") {
        let out = d.unaligned_s.unwrap_or(d.ca_since_s);
        let l = if out >= warn_after {
            Level::Critical
        } else {
            Level::Warning
        };
        level = level.max(l);
        problems.push(format!(
            "{} DCS {} not aligned for {out} s (Hello {}, CA {})",
            d.server, d.id, d.hello, d.ca
        ));
    }
    let mut line = format!(
        "{aligned}/{} DCS aligned in {} server(s)",
        dcs.len(),
        servers.len()
    );
    if !disabled.is_empty() {
        line.push_str(&format!(" ({} disabled, not checked)", disabled.len()));
    }
    if !problems.is_empty() {
        line.push_str("; ");
        line.push_str(&problems.join("; "));
    }
    line.push_str(&format!(
        " | aligned={aligned};;;0;{} dcs={}",
        dcs.len(),
        dcs.len()
    ));
    (level, line)
}

fn ask(socket: &Path) -> Result<(Vec<ServerView>, Vec<DcsView>), (Level, String)> {
    let down = |e: String| {
        (
            Level::Critical,
            format!("scspd is not answering on {}: {e}", socket.display()),
        )
    };
    let mut c = Client::connect_as(socket, "scspctl check").map_err(|e| down(e.to_string()))?;
    let servers = match c
        .request(Request::ShowServers)
        .map_err(|e| down(e.to_string()))?
    {
        Response::Servers { servers } => servers,
        _ => return Err((Level::Unknown, "unexpected answer to show servers".into())),
    };
    let dcs = match c
        .request(Request::ShowDcs { server: None })
        .map_err(|e| down(e.to_string()))?
    {
        Response::Dcs { dcs } => dcs,
        _ => return Err((Level::Unknown, "unexpected answer to show dcs".into())),
    };
    Ok((servers, dcs))
}

/// Run the check and print its line.
pub fn run(socket: &Path, only: Option<&str>, warn_after: u64) -> ExitCode {
    let (level, line) = match ask(socket) {
        Ok((servers, dcs)) => evaluate(&servers, &dcs, only, warn_after),
        Err(e) => e,
    };
    println!("SCSP {} - {line}", level.word());
    ExitCode::from(level as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(name: &str, state: &str) -> ServerView {
        ServerView {
            name: name.into(),
            state: state.into(),
            ..ServerView::default()
        }
    }

    fn dcs(server: &str, ca: &str, unaligned_s: Option<u64>) -> DcsView {
        DcsView {
            server: server.into(),
            id: "10.0.0.2".into(),
            address: "10.0.0.2:7126".into(),
            hello: "Bidirectional".into(),
            hello_since_s: 0,
            ca: ca.into(),
            ca_since_s: 1,
            rx_msgs: 0,
            tx_msgs: 0,
            errors: 0,
            retransmits: 0,
            rexmit_queue: 0,
            crl: 0,
            unaligned_s,
            last_hello_s: None,
            dead_in_ms: None,
            last_down: None,
            last_down_s: None,
            flaps: 0,
            srtt_us: None,
            disabled: false,
            stats: serde_json::json!({}),
        }
    }

    #[test]
    fn levels() {
        let s = [server("a", "running"), server("b", "running")];
        let ok = [dcs("a", "Aligned", None), dcs("b", "Aligned", None)];
        assert_eq!(evaluate(&s, &ok, None, 60).0, Level::Ok);
        let warn = [dcs("a", "Aligned", None), dcs("b", "UpdateCache", Some(59))];
        assert_eq!(evaluate(&s, &warn, None, 60).0, Level::Warning);
        assert_eq!(evaluate(&s, &warn, Some("a"), 60).0, Level::Ok);
        let crit = [dcs("a", "Down", Some(60)), dcs("b", "UpdateCache", Some(5))];
        let (l, line) = evaluate(&s, &crit, None, 60);
        assert_eq!(l, Level::Critical);
        assert!(line.starts_with("0/2 DCS aligned"), "{line}");
        let failed = [server("a", "running"), server("c", "failed")];
        assert_eq!(evaluate(&failed, &ok[..1], None, 60).0, Level::Critical);
        assert_eq!(evaluate(&s, &ok, Some("z"), 60).0, Level::Unknown);
        let mut off = dcs("b", "Down", Some(600));
        off.disabled = true;
        let (l, line) = evaluate(&s, &[ok[0].clone(), off], None, 60);
        assert_eq!(l, Level::Ok);
        assert!(
            line.starts_with("1/1 DCS aligned in 2 server(s) (1 disabled, not checked)"),
            "{line}"
        );
    }
}
