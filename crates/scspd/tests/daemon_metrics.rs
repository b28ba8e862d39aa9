//! The metrics endpoint of real daemons (`Metrics <address>:<port>;`), scraped with a plain TCP
//! client: the figures follow entries added and a DCS aligning, `scspctl show metrics` prints
//! the same figures, authentication failures are counted by reason, connections and requests
//! are bounded, and a reload moves, keeps or stops the endpoint.

mod common;

use std::io::Write as _;
use std::time::Duration;

use common::*;
use scspd::proto::{ErrorCode, Request, Response};

fn metrics_line(port: u16) -> String {
    format!("Metrics 127.0.0.1:{port};\n")
}

/// The value of the sample `key` in a scrape of `addr` (panics if absent).
fn value(addr: &str, key: &str) -> f64 {
    let (status, body) = scrape(addr);
    assert_eq!(status, "HTTP/1.1 200 OK");
    *samples(&body)
        .get(key)
        .unwrap_or_else(|| panic!("no sample {key} in:\n{body}"))
}

#[test]
fn scrapes_follow_entries_and_alignment() {
    let (pa, pb, tcp) = (
        free_udp_port("127.0.0.1"),
        free_udp_port("127.0.0.2"),
        free_tcp_port(),
    );
    let addr = format!("127.0.0.1:{tcp}");
    let a = Daemon::start(
        "metA",
        &format!(
            "{}{}",
            metrics_line(tcp),
            server_conf("s_a", (1, pa), &[(2, pb)], "")
        ),
    );
    let dl = "server=\"s_a\",dcs=\"127.0.0.2\"";
    // B is not running: the DCS is not Aligned, nothing is cached.
    let (status, body) = scrape(&addr);
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(body.ends_with("# EOF\n"), "{body}");
    let s = samples(&body);
    assert_eq!(
        s[&format!("scsp_dcs_ca_state{{{dl},state=\"Aligned\"}}")],
        0.0
    );
    assert_eq!(s[&format!("scsp_dcs_ca_state{{{dl},state=\"Down\"}}")], 1.0);
    assert!(!s.contains_key(&format!("scsp_dcs_dead_timer_seconds{{{dl}}}")));
    assert_eq!(s["scsp_cache_entries{server=\"s_a\"}"], 0.0);
    assert_eq!(s["scsp_cache_bytes{server=\"s_a\"}"], 0.0);
    assert_eq!(s["scsp_server_up{server=\"s_a\"}"], 1.0);
    assert_eq!(s[&format!("scsp_dcs_alignments_total{{{dl}}}")], 0.0);
    assert_eq!(
        s[&format!("scsp_dcs_alignment_duration_seconds_count{{{dl}}}")],
        0.0
    );
    let version = format!(
        "scsp_build_info{{version=\"{}\"}}",
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(s[&version], 1.0);
    for name in [
        "scsp_dcs_retransmit_queue",
        "scsp_dcs_csa_request_list",
        "scsp_dcs_messages_received_total",
        "scsp_dcs_auth_failures_total",
        "scsp_client_connections",
    ] {
        assert!(
            body.contains(&format!("\n{name}")),
            "{name} missing:\n{body}"
        );
    }

    // An entry added: entries and bytes change (key 1 + originator 4 + data 2 bytes).
    a.add("s_a", "01", "aabb");
    assert_eq!(value(&addr, "scsp_cache_entries{server=\"s_a\"}"), 1.0);
    // Bytes are counted at most every 5 s: wait for the count to take the entry.
    a.wait_until(10, "cache bytes", || {
        value(&addr, "scsp_cache_bytes{server=\"s_a\"}") == 7.0
    });
    // What it counts against MaxCacheBytes (256 MiB by default): the same plus 160.
    let s = samples(&scrape(&addr).1);
    assert_eq!(s["scsp_cache_cost_bytes{server=\"s_a\"}"], 167.0);
    assert_eq!(s["scsp_cache_max_bytes{server=\"s_a\"}"], 268_435_456.0);

    // B starts: the DCS aligns, and the scrape says so.
    let b = Daemon::start("metB", &server_conf("s_a", (2, pb), &[(1, pa)], ""));
    a.wait_until(15, "Aligned in the metrics", || {
        value(
            &addr,
            &format!("scsp_dcs_ca_state{{{dl},state=\"Aligned\"}}"),
        ) == 1.0
    });
    let s = samples(&scrape(&addr).1);
    assert!(s[&format!("scsp_dcs_alignments_total{{{dl}}}")] >= 1.0);
    assert!(s[&format!("scsp_dcs_alignment_duration_seconds_count{{{dl}}}")] >= 1.0);
    assert!(s[&format!("scsp_dcs_alignment_duration_seconds_bucket{{le=\"+Inf\",{dl}}}")] >= 1.0);
    assert_eq!(
        s[&format!("scsp_dcs_hello_state{{{dl},state=\"Bidirectional\"}}")],
        1.0
    );
    assert!(s[&format!("scsp_dcs_messages_received_total{{{dl},type=\"hello\"}}")] >= 1.0);
    assert!(s[&format!("scsp_dcs_sent_bytes_total{{{dl}}}")] > 0.0);
    assert_eq!(s["scsp_server_dcs_aligned{server=\"s_a\"}"], 1.0);
    assert_eq!(s[&format!("scsp_dcs_unaligned_seconds{{{dl}}}")], 0.0);
    // HelloInt 1, HelloDead 3: a Hello a second, dead 3.5 s after the last.
    assert!(s[&format!("scsp_dcs_last_hello_seconds{{{dl}}}")] <= 2.0);
    let dead = s[&format!("scsp_dcs_dead_timer_seconds{{{dl}}}")];
    assert!(dead > 0.0 && dead <= 3.5, "{dead}");
    b.wait_until(10, "the entry at B", || b.cache("s_a").len() == 1);

    // scspctl show metrics: the same figures, from the socket.
    let text = scspctl_ok(&a.socket, &["show", "metrics"]);
    assert!(text.ends_with("# EOF\n"));
    let ctl = samples(&text);
    let scraped = samples(&scrape(&addr).1);
    for key in [
        "scsp_cache_entries{server=\"s_a\"}".to_owned(),
        format!("scsp_dcs_ca_state{{{dl},state=\"Aligned\"}}"),
        format!("scsp_dcs_alignments_total{{{dl}}}"),
    ] {
        assert_eq!(ctl[&key], scraped[&key], "{key}");
    }
    let names = |m: &std::collections::BTreeMap<String, f64>| {
        m.keys()
            .map(|k| k.split('{').next().unwrap().to_owned())
            .collect::<std::collections::BTreeSet<_>>()
    };
    assert_eq!(names(&ctl), names(&scraped));

    // Without an OpenMetrics Accept header: the Prometheus text format.
    let plain = http_get(&addr, "/metrics", "");
    assert!(
        plain.contains("Content-Type: text/plain; version=0.0.4"),
        "{plain}"
    );
    assert!(plain.contains("scsp_cache_entries{server=\"s_a\"} 1"));
    // Other paths and methods.
    assert!(http_get(&addr, "/", "").starts_with("HTTP/1.1 404"));
    let post = http(&addr, "POST /metrics HTTP/1.1\r\n\r\n").unwrap();
    assert!(post.starts_with("HTTP/1.1 405"), "{post}");
    // HEAD: the headers only.
    let head = http(&addr, "HEAD /metrics HTTP/1.1\r\n\r\n").unwrap();
    assert!(
        head.starts_with("HTTP/1.1 200") && head.ends_with("\r\n\r\n"),
        "{head}"
    );
}

fn http_get(addr: &str, path: &str, headers: &str) -> String {
    http(
        addr,
        &format!("GET {path} HTTP/1.1\r\nHost: x\r\n{headers}\r\n"),
    )
    .unwrap()
}

#[test]
fn authentication_failures_are_counted_by_reason() {
    let (pe, pf, pg, tcp) = (
        free_udp_port("127.0.0.1"),
        free_udp_port("127.0.0.2"),
        free_udp_port("127.0.0.3"),
        free_tcp_port(),
    );
    let auth = |key: &str| {
        format!("Auth {{ SendSPI 7; RecvSPI 7; Algorithm HMAC-SHA-256; Key \"{key}\"; }};")
    };
    let good = auth("the key E expects from every DCS");
    // E wants authentication from F (which sends none) and from G (which uses another key).
    let e_conf = format!(
        "{}server s_a {{ protocol 65000; netif lo; ServerGroupID 7; ID 127.0.0.1; \
         Address 127.0.0.1; Port {pe};\n\
         DCS {{ ID 127.0.0.2; Address 127.0.0.2; Port {pf}; HelloInt 1; HelloDead 3; {good} }};\n\
         DCS {{ ID 127.0.0.3; Address 127.0.0.3; Port {pg}; HelloInt 1; HelloDead 3; {good} }};\n}};\n",
        metrics_line(tcp)
    );
    let e = Daemon::start("metauthE", &e_conf);
    let _f = Daemon::start("metauthF", &server_conf("s_a", (2, pf), &[(1, pe)], ""));
    let _g = Daemon::start(
        "metauthG",
        &server_conf("s_a", (3, pg), &[(1, pe)], &auth("not the key E expects")),
    );
    let addr = format!("127.0.0.1:{tcp}");
    let key = |dcs: &str, reason: &str| {
        format!("scsp_dcs_auth_failures_total{{server=\"s_a\",dcs=\"{dcs}\",reason=\"{reason}\"}}")
    };
    e.wait_until(15, "failures by reason", || {
        let s = samples(&scrape(&addr).1);
        s[&key("127.0.0.2", "missing")] >= 2.0 && s[&key("127.0.0.3", "bad_mac")] >= 2.0
    });
    let s = samples(&scrape(&addr).1);
    assert_eq!(s[&key("127.0.0.2", "bad_mac")], 0.0);
    assert_eq!(s[&key("127.0.0.3", "missing")], 0.0);
    // The per-reason counts add up to the core's counter.
    let total: u64 = e
        .dcs("s_a")
        .iter()
        .map(|d| d.stats["auth_failures"].as_u64().unwrap())
        .sum();
    let by_reason: f64 = s
        .iter()
        .filter(|(k, _)| k.starts_with("scsp_dcs_auth_failures_total"))
        .map(|(_, v)| v)
        .sum();
    // (Packets keep arriving between the two reads.)
    assert!(
        by_reason <= total as f64 && by_reason > 0.0,
        "{by_reason} {total}"
    );
}

#[test]
fn connections_and_requests_are_bounded() {
    let (pa, tcp) = (free_udp_port("127.0.0.1"), free_tcp_port());
    let addr = format!("127.0.0.1:{tcp}");
    let a = Daemon::start(
        "metbound",
        &format!(
            "{}{}",
            metrics_line(tcp),
            server_conf("s_a", (1, pa), &[(2, free_udp_port("127.0.0.2"))], "")
        ),
    );
    // 8 connections that send nothing hold every slot.
    let mut idle: Vec<_> = (0..8)
        .map(|_| std::net::TcpStream::connect(&addr).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    // A ninth is closed without an answer, and the daemon still answers its socket at once.
    let refused = http(&addr, "GET /metrics HTTP/1.1\r\n\r\n").unwrap_or_default();
    assert_eq!(refused, "");
    assert_eq!(a.servers().len(), 1);
    // A slot freed: served again.
    idle.pop();
    a.wait_until(5, "a scrape served", || {
        http(&addr, "GET /metrics HTTP/1.1\r\n\r\n").is_ok_and(|t| t.starts_with("HTTP/1.1 200"))
    });
    drop(idle);
    // A request larger than 8 KiB is refused.
    let mut s = std::net::TcpStream::connect(&addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let big = format!("GET /metrics HTTP/1.1\r\nX-Pad: {}\r\n", "p".repeat(9000));
    let _ = s.write_all(big.as_bytes());
    let mut out = String::new();
    let _ = std::io::Read::read_to_string(&mut s, &mut out);
    assert!(out.starts_with("HTTP/1.1 431"), "{out}");
    // The refusals are counted.
    let s = samples(&scrape(&addr).1);
    assert!(s["scsp_metrics_requests_total{result=\"refused\"}"] >= 2.0);
    // And logged, naming the peer.
    let log = a.log_text();
    assert!(
        log.contains("metrics: 127.0.0.1:") && log.contains("connection refused, 8 are open"),
        "{log}"
    );
    assert!(
        log.contains("answered 431 Request Header Fields Too Large"),
        "{log}"
    );
}

#[test]
fn metrics_statement_is_checked_and_reloads_move_the_endpoint() {
    // scspd -n: a bad address is an error at file:line:col; a good one passes.
    let dir = TempDir::new("metcheck");
    let pa = free_udp_port("127.0.0.1");
    let server = server_conf("s_a", (1, pa), &[], "");
    let bad = dir.path().join("bad.conf");
    std::fs::write(&bad, format!("Metrics localhost:9155;\n{server}")).unwrap();
    let o = std::process::Command::new(SCSPD)
        .arg("-n")
        .arg("-f")
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("bad.conf:1:9: Metrics \"localhost:9155\": expected an IP address and a port"),
        "{err}"
    );
    let twice = dir.path().join("twice.conf");
    std::fs::write(
        &twice,
        format!("Metrics 127.0.0.1:1;\nMetrics 127.0.0.1:2;\n{server}"),
    )
    .unwrap();
    let o = std::process::Command::new(SCSPD)
        .arg("-n")
        .arg("-f")
        .arg(&twice)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&o.stderr).contains("twice.conf:2:1: Metrics given twice"));
    let good = dir.path().join("good.conf");
    std::fs::write(&good, format!("Metrics \"[::1]:9155\";\n{server}")).unwrap();
    let o = std::process::Command::new(SCSPD)
        .arg("-n")
        .arg("-f")
        .arg(&good)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    // Off by default; a reload turns it on, moves it, keeps it when unchanged, turns it off.
    let a = Daemon::start("metreload", &server);
    let (t1, t2) = (free_tcp_port(), free_tcp_port());
    let (a1, a2) = (format!("127.0.0.1:{t1}"), format!("127.0.0.1:{t2}"));
    assert!(std::net::TcpStream::connect(&a1).is_err());
    let status = |d: &Daemon| match d.ok(Request::ShowStatus) {
        Response::Status { status } => status,
        r => panic!("{r:?}"),
    };
    assert_eq!(status(&a).metrics, None);
    std::fs::write(&a.config, format!("{}{server}", metrics_line(t1))).unwrap();
    assert_eq!(a.ok(Request::Reload), Response::Done);
    assert_eq!(scrape(&a1).0, "HTTP/1.1 200 OK");
    assert_eq!(status(&a).metrics.as_deref(), Some(a1.as_str()));
    std::fs::write(&a.config, format!("{}{server}", metrics_line(t2))).unwrap();
    assert_eq!(a.ok(Request::Reload), Response::Done);
    assert_eq!(scrape(&a2).0, "HTTP/1.1 200 OK");
    assert!(
        std::net::TcpStream::connect(&a1).is_err(),
        "the old address is closed"
    );
    // A port taken by someone else: the reload says so, the endpoint stays where it was.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let tp = taken.local_addr().unwrap().port();
    std::fs::write(&a.config, format!("{}{server}", metrics_line(tp))).unwrap();
    let e = a.request(Request::Reload).unwrap_err();
    assert_eq!(e.code, ErrorCode::Config);
    assert!(
        e.message
            .contains(&format!("metrics: can't listen on 127.0.0.1:{tp}")),
        "{}",
        e.message
    );
    assert!(
        e.message.contains(&format!("the endpoint stays on {a2}")),
        "{}",
        e.message
    );
    assert_eq!(scrape(&a2).0, "HTTP/1.1 200 OK");
    let st = status(&a);
    let last = st.last_reload.unwrap();
    assert!(!last.ok);
    // Removed: closed.
    std::fs::write(&a.config, &server).unwrap();
    assert_eq!(a.ok(Request::Reload), Response::Done);
    assert!(std::net::TcpStream::connect(&a2).is_err());
    assert_eq!(status(&a).metrics, None);
    // Start-up with a port taken fails, saying why.
    let dir2 = TempDir::new("mettaken");
    let cfg = dir2.path().join("t.conf");
    let other = server_conf("s_a", (1, free_udp_port("127.0.0.1")), &[], "");
    std::fs::write(&cfg, format!("{}{other}", metrics_line(tp))).unwrap();
    let o = std::process::Command::new(SCSPD)
        .args(["--state-dir", "none", "-d"])
        .arg("-f")
        .arg(&cfg)
        .arg("--socket")
        .arg(dir2.path().join("t.sock"))
        .output()
        .unwrap();
    assert!(!o.status.success());
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        out.contains(&format!("metrics: can't listen on 127.0.0.1:{tp}")),
        "{out}"
    );
}

/// Parse `text` with the Prometheus project's Python client (Debian's python3-prometheus-client,
/// installed by scripts/test.sh): `openmetrics` picks its OpenMetrics parser, else its
/// Prometheus text parser. Returns "name type" lines, one per family.
fn reference_parse(text: &str, openmetrics: bool) -> String {
    let module = if openmetrics {
        "prometheus_client.openmetrics.parser"
    } else {
        "prometheus_client.parser"
    };
    let script = format!(
        "import sys\nfrom {module} import text_string_to_metric_families as p\n\
         for f in p(sys.stdin.read()):\n    print(f.name, f.type, len(f.samples))\n"
    );
    let mut child = std::process::Command::new("/usr/bin/python3")
        .arg("-c")
        .arg(script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("/usr/bin/python3 (scripts/test.sh installs it with python3-prometheus-client)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(
        o.status.success(),
        "the reference parser refused the exposition: {}\n{text}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

#[test]
fn the_reference_parsers_accept_both_formats() {
    let (pa, pb, tcp) = (
        free_udp_port("127.0.0.1"),
        free_udp_port("127.0.0.2"),
        free_tcp_port(),
    );
    let addr = format!("127.0.0.1:{tcp}");
    let a = Daemon::start(
        "metparse",
        &format!(
            "{}{}",
            metrics_line(tcp),
            server_conf(r#""s \"quoted\"""#, (1, pa), &[(2, pb)], "")
        ),
    );
    let _b = Daemon::start(
        "metparseB",
        &server_conf(r#""s \"quoted\"""#, (2, pb), &[(1, pa)], ""),
    );
    a.wait_until(15, "alignment", || a.dcs("s \"quoted\"")[0].ca == "Aligned");
    let exposition = scrape(&addr).1;
    // docs/scspd.md lists every metric scspd exposes.
    let doc = include_str!("../../../docs/scspd.md");
    let mut seen = 0;
    for l in exposition.lines().filter(|l| l.starts_with("# TYPE ")) {
        let mut w = l.split(' ').skip(2);
        let (name, kind) = (w.next().unwrap(), w.next().unwrap());
        let shown = match kind {
            "counter" => format!("`{name}_total`"),
            "info" => format!("`{name}_info`"),
            _ => format!("`{name}`"),
        };
        assert!(doc.contains(&shown), "docs/scspd.md does not list {shown}");
        seen += 1;
    }
    assert!(seen > 40, "{seen} families");
    let families = reference_parse(&exposition, true);
    for want in [
        "scsp_dcs_alignment_duration_seconds histogram",
        "scsp_dcs_messages_received counter",
        "scsp_dcs_ca_state gauge",
        "scsp_build info",
    ] {
        assert!(families.contains(want), "{want} not in:\n{families}");
    }
    let plain = http_get(&addr, "/metrics", "");
    let body = plain.split_once("\r\n\r\n").unwrap().1;
    let families = reference_parse(body, false);
    assert!(
        families.contains("scsp_dcs_alignment_duration_seconds histogram"),
        "{families}"
    );
    // The server name (s "quoted" in the file's quoted string) is escaped in its label.
    assert!(
        body.contains("scsp_server_up{server=\"s \\\"quoted\\\"\"} 1"),
        "{body}"
    );
}
