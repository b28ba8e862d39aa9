//! The journal, as under systemd: scspd started with `-d` and `JOURNAL_STREAM` naming its
//! standard output (what systemd does for `StandardOutput=journal`) writes its log records to
//! the journal's socket, `/run/systemd/journal/socket`, with each record's priority and the
//! fields SERVER and DCS. The test runs scspd in a mount namespace of its own
//! (`unshare -m`, root) where that path is a socket the test reads: the host's journal, if any,
//! is never touched.

mod common;

use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// A journal record in the native protocol: `KEY=value` lines (a value with a newline is
/// `KEY\n<64-bit little-endian length><value>\n`).
fn fields(dgram: &[u8]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = dgram;
    while !rest.is_empty() {
        let line_end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
        let line = &rest[..line_end];
        if let Some(eq) = line.iter().position(|&b| b == b'=') {
            out.push((
                String::from_utf8_lossy(&line[..eq]).into_owned(),
                String::from_utf8_lossy(&line[eq + 1..]).into_owned(),
            ));
            rest = &rest[(line_end + 1).min(rest.len())..];
        } else {
            let key = String::from_utf8_lossy(line).into_owned();
            let after = &rest[(line_end + 1).min(rest.len())..];
            let len = u64::from_le_bytes(after[..8].try_into().unwrap()) as usize;
            out.push((
                key,
                String::from_utf8_lossy(&after[8..8 + len]).into_owned(),
            ));
            rest = &after[(8 + len + 1).min(after.len())..];
        }
    }
    out
}

fn get<'a>(f: &'a [(String, String)], key: &str) -> Option<&'a str> {
    f.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

#[test]
fn under_systemd_records_go_to_the_journal_with_priority_and_fields() {
    let dir = TempDir::new("journal");
    let journal = dir.path().join("journal");
    std::fs::create_dir_all(&journal).unwrap();
    let sock = UnixDatagram::bind(journal.join("socket")).unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    // B, an ordinary daemon, is A's DCS: A logs the neighbour coming up, about that DCS.
    let (pa, pb) = (free_udp_port("127.0.0.1"), free_udp_port("127.0.0.2"));
    let _b = Daemon::start("jrnB", &server_conf("s_a", (2, pb), &[(1, pa)], ""));
    let cfg = dir.path().join("a.conf");
    std::fs::write(&cfg, server_conf("s_a", (1, pa), &[(2, pb)], "")).unwrap();
    let out = dir.path().join("a.out");
    let stdout = std::fs::File::create(&out).unwrap();
    let m = stdout.metadata().unwrap();
    let mut a = Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c"])
        .arg(
            "mkdir -p /run/systemd && mount -t tmpfs scspd-test /run/systemd && \
             mkdir /run/systemd/journal && mount --bind \"$0\" /run/systemd/journal && \
             exec \"$@\"",
        )
        .arg(&journal)
        .arg(SCSPD)
        .args(["--state-dir", "none", "-d", "-f"])
        .arg(&cfg)
        .arg("--socket")
        .arg(dir.path().join("a.sock"))
        .env("JOURNAL_STREAM", format!("{}:{}", m.dev(), m.ino()))
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut records = Vec::new();
    let mut buf = vec![0u8; 65536];
    let deadline = Instant::now() + Duration::from_secs(20);
    let up = |r: &Vec<(String, String)>| {
        get(r, "MESSAGE").is_some_and(|m| m.contains("Bidirectional"))
            && get(r, "DCS") == Some("127.0.0.2")
    };
    while Instant::now() < deadline && !records.iter().any(up) {
        if let Ok(n) = sock.recv(&mut buf) {
            records.push(fields(&buf[..n]));
        }
    }
    let _ = a.kill();
    let _ = a.wait();
    let text = std::fs::read_to_string(&out).unwrap_or_default();
    assert!(
        records.iter().any(up),
        "no record of the DCS coming up among {} records: {records:?}; stdout: {text}",
        records.len()
    );
    let r = records.iter().find(|r| up(r)).unwrap();
    // The neighbour coming up is NOTICE (priority 5), about server s_a and that DCS.
    assert_eq!(get(r, "PRIORITY"), Some("5"), "{r:?}");
    assert_eq!(get(r, "SERVER"), Some("s_a"), "{r:?}");
    assert_eq!(get(r, "SYSLOG_IDENTIFIER"), Some("scspd"), "{r:?}");
    // Every record went to the journal: nothing on standard output.
    assert!(!text.contains("Bidirectional"), "{text}");
}
