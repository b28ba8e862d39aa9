//! Files that could hang or exhaust the daemon (issue case 6): a configuration or key file that
//! is a device, a FIFO or too long is refused at once, and signals are still handled.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::*;

#[test]
fn config_from_a_device_is_refused_without_reading() {
    let t = Instant::now();
    let out = Command::new(SCSPD)
        .args(["-n", "-f", "/dev/zero"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("can't open config file /dev/zero: not a regular file"),
        "{err}"
    );
    assert!(t.elapsed() < Duration::from_secs(10));
}

#[test]
fn config_longer_than_the_limit_is_refused() {
    let dir = TempDir::new("bigconf");
    let big = dir.path().join("big.conf");
    // Comments only: valid if read, so the refusal can only come from the size.
    let line = "# comment\n";
    let n = (scspd::config::MAX_FILE_LEN as usize) / line.len() + 1;
    std::fs::write(&big, line.repeat(n)).unwrap();
    let out = Command::new(SCSPD)
        .arg("-n")
        .arg("-f")
        .arg(&big)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("larger than 4194304 bytes"), "{err}");
}

#[test]
fn fifo_key_file_is_refused_on_reload_and_sigterm_still_stops() {
    let mut d = Daemon::start(
        "fifokey",
        &server_conf("s_a", (1, 17461), &[(2, 17462)], ""),
    );
    let fifo = d.dir.path().join("key.fifo");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let conf = server_conf(
        "s_a",
        (1, 17461),
        &[(2, 17462)],
        &format!("Auth {{ SPI 1; KeyFile {}; }};", fifo.display()),
    );
    std::fs::write(&d.config, conf).unwrap();
    d.signal("HUP");
    d.wait_until(10, "refusal", || d.log_text().contains("reload refused"));
    let log = d.log_text();
    assert!(log.contains("not a regular file"), "{log}");
    // The same through the Reload request, which must answer and not wait on the FIFO.
    let e = d.request(scspd::proto::Request::Reload).unwrap_err();
    assert!(e.message.contains("not a regular file"), "{}", e.message);
    d.signal("TERM");
    let deadline = Instant::now() + Duration::from_secs(10);
    while d.alive() {
        assert!(Instant::now() < deadline, "scspd did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
}
