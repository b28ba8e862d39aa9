//! `scspctl show status`, and the lines `show servers` adds for servers not running.

use std::fmt::Write as _;

use scsp_client::proto::{DcsView, ServerView, StatusView};

/// A time as `YYYY-MM-DDTHH:MM:SSZ` (UTC), from seconds since the epoch (scspctl's one
/// calendar conversion).
pub fn utc(secs: u64) -> String {
    super::rfc3339(secs)
}

/// A duration as `1d 2h 3m 4s`, leading zero units left out.
pub fn span(s: u64) -> String {
    let (d, h, m, s) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60, s % 60);
    let mut o = String::new();
    for (v, u) in [(d, "d"), (h, "h"), (m, "m")] {
        if v > 0 || !o.is_empty() {
            let _ = write!(o, "{v}{u} ");
        }
    }
    let _ = write!(o, "{s}s");
    o
}

/// The text of `show status`.
pub fn text(s: &StatusView) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "scspd {} (pid {})", s.version, s.pid);
    let _ = writeln!(
        o,
        "started:       {} (up {})",
        utc(s.started),
        span(s.uptime_s)
    );
    let _ = writeln!(o, "configuration: {}", s.config);
    let _ = writeln!(o, "socket:        {}", s.socket);
    let _ = writeln!(
        o,
        "metrics:       {}",
        s.metrics
            .as_ref()
            .map_or_else(|| "off".to_owned(), |a| format!("http://{a}/metrics"))
    );
    let _ = writeln!(
        o,
        "servers:       {} running, {} failed",
        s.servers_running,
        s.failed.len()
    );
    match &s.last_reload {
        None => {
            let _ = writeln!(o, "last reload:   none");
        }
        Some(r) => {
            let result = if r.ok { "ok" } else { "failed" };
            let _ = writeln!(o, "last reload:   {} {result}", utc(r.at));
            for e in &r.errors {
                let _ = writeln!(o, "    {e}");
            }
        }
    }
    for f in &s.failed {
        let _ = writeln!(
            o,
            "failed:        server {} since {}: {}",
            f.name,
            utc(f.since),
            f.error
        );
    }
    o
}

/// One line per server of `servers` that is not running, with why.
pub fn not_running(servers: &[ServerView]) -> String {
    let mut o = String::new();
    for s in servers.iter().filter(|s| s.state != "running") {
        let _ = writeln!(
            o,
            "server {} {}: {}",
            s.name,
            s.state,
            s.error.as_deref().unwrap_or("no reason given")
        );
    }
    o
}

/// `show dcs --detail`: a block per DCS.
pub fn dcs_detail(dcs: &[DcsView]) -> String {
    let mut o = String::new();
    for d in dcs {
        let ago =
            |s: Option<u64>| s.map_or_else(|| "never".to_owned(), |s| format!("{} ago", span(s)));
        let _ = writeln!(o, "server {} DCS {} ({})", d.server, d.id, d.address);
        let _ = writeln!(
            o,
            "  Hello:           {} for {}",
            d.hello,
            span(d.hello_since_s)
        );
        let _ = writeln!(o, "  CA:              {} for {}", d.ca, span(d.ca_since_s));
        if let Some(s) = d.unaligned_s {
            let _ = writeln!(o, "  not aligned for: {}", span(s));
        }
        let _ = writeln!(o, "  last Hello:      {}", ago(d.last_hello_s));
        let dead = d.dead_in_ms.map_or_else(
            || "not running".to_owned(),
            |ms| format!("expires in {}.{:03} s", ms / 1000, ms % 1000),
        );
        let _ = writeln!(o, "  dead timer:      {dead}");
        match (&d.last_down, d.last_down_s) {
            (Some(why), Some(s)) => {
                let _ = writeln!(o, "  last down:       {} ago: {why}", span(s));
            }
            _ => {
                let _ = writeln!(o, "  last down:       never");
            }
        }
        let _ = writeln!(o, "  flaps:           {}", d.flaps);
        let rtt = d.srtt_us.map_or_else(
            || "not measured".to_owned(),
            |us| format!("{}.{:03} ms", us / 1000, us % 1000),
        );
        let _ = writeln!(o, "  RTT (smoothed):  {rtt}");
        let _ = writeln!(
            o,
            "  messages:        {} in, {} out; {} errors, {} retransmissions",
            d.rx_msgs, d.tx_msgs, d.errors, d.retransmits
        );
        let _ = writeln!(
            o,
            "  queues:          {} awaiting acknowledgement, {} wanted from the DCS",
            d.rexmit_queue, d.crl
        );
        if let Some(r) = d.stats.get("recon") {
            // With `Reconcile on;` (docs/reconciliation.md).
            let n = |k: &str| r[k].as_u64().unwrap_or(0);
            let _ = writeln!(
                o,
                "  reconciliation:  {} decoded, {} fallen back, {} differences; bulk path: {} \
                 streams, {} entries, {} retransmissions, {} with nothing left to reconcile",
                n("decoded"),
                n("fallbacks"),
                n("found"),
                n("bulk"),
                n("bulk_entries"),
                n("bulk_rexmits"),
                n("bulk_clean"),
            );
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(1_780_000_000), "2026-05-28T20:26:40Z");
        assert_eq!(utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(span(5), "5s");
        assert_eq!(span(3_725), "1h 2m 5s");
        assert_eq!(span(86_400), "1d 0h 0m 0s");
    }
}
