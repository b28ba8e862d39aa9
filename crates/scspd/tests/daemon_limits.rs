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
    let (pa, pb) = free_pair();
    let mut d = Daemon::start("fifokey", &server_conf("s_a", (1, pa), &[(2, pb)], ""));
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
        (1, pa),
        &[(2, pb)],
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
    // A key file that never ends (`KeyFile /dev/zero`, read whole once: 2.1 GB) is refused
    // without reading it.
    let conf = server_conf(
        "s_a",
        (1, pa),
        &[(2, pb)],
        "Auth { SPI 1; KeyFile /dev/zero; };",
    );
    std::fs::write(&d.config, conf).unwrap();
    let e = d.request(scspd::proto::Request::Reload).unwrap_err();
    assert!(
        e.message.contains("/dev/zero") && e.message.contains("not a regular file"),
        "{}",
        e.message
    );
    d.signal("TERM");
    let deadline = Instant::now() + Duration::from_secs(10);
    while d.alive() {
        assert!(Instant::now() < deadline, "scspd did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The first frame the daemon sends on `s`, read with a deadline.
fn fatal_of(s: &mut std::os::unix::net::UnixStream) -> scspd::proto::ProtoError {
    use std::io::Read;
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut h = [0u8; 4];
    s.read_exact(&mut h).unwrap();
    let mut b = vec![0u8; u32::from_be_bytes(h) as usize];
    s.read_exact(&mut b).unwrap();
    match serde_json::from_slice(&b).unwrap() {
        scspd::proto::DaemonMsg::Fatal { error } => error,
        m => panic!("not fatal: {m:?}"),
    }
}

/// Issue case 4: connections that never say hello, never attach, or stop inside a frame are
/// closed, so they can no longer lock the operator out.
#[test]
fn idle_and_half_sent_connections_are_closed() {
    let (pa, pb) = free_pair();
    use std::os::unix::net::UnixStream;
    let d = Daemon::start_with(
        "idleconn",
        &server_conf("s_a", (1, pa), &[(2, pb)], ""),
        &["--client-idle-timeout", "1"],
    );
    // Every client slot taken by connections that send nothing.
    let mut silent: Vec<UnixStream> = (0..64)
        .map(|_| UnixStream::connect(&d.socket).unwrap())
        .collect();
    // They are closed (no hello within the idle timeout), and scspctl gets through again.
    let e = fatal_of(&mut silent[0]);
    assert!(e.message.contains("no hello within 1 s"), "{}", e.message);
    d.wait_until(10, "scspctl answered", || {
        scspctl(&d.socket, &["show", "servers"]).status.success()
    });
    // A client that said hello but never attaches is closed after the idle timeout.
    let mut c = Client::connect(&d.socket).unwrap();
    let e = fatal_of(&mut c.stream);
    assert!(
        e.message.contains("idle for 1 s without attaching"),
        "{}",
        e.message
    );
    let log = d.log_text();
    assert!(log.contains("no hello within 1 s; disconnected"), "{log}");
    drop(silent);
}

#[test]
fn half_sent_frame_is_closed_after_the_frame_deadline() {
    let (pa, pb) = free_pair();
    use std::io::Write;
    let d = Daemon::start("halfframe", &server_conf("s_a", (1, pa), &[(2, pb)], ""));
    let mut c = Client::connect(&d.socket).unwrap();
    // Attached, so that the idle timeout does not apply: only the frame deadline can end it.
    c.request(scspd::proto::Request::Attach {
        server: "s_a".into(),
        confirm: false,
    })
    .unwrap();
    // A 64 MiB length, then one byte, then nothing.
    c.stream.write_all(&(64u32 << 20).to_be_bytes()).unwrap();
    c.stream.write_all(b"{").unwrap();
    let t = Instant::now();
    let e = fatal_of(&mut c.stream);
    assert!(
        e.message
            .contains("frame not completed within 10 s of its first byte"),
        "{}",
        e.message
    );
    assert!(t.elapsed() >= Duration::from_secs(9));
}

/// Issue item 3: the socket's mode and group are configurable (as `bird -g`).
#[test]
fn socket_mode_and_group_are_configurable() {
    let (pa, pb) = free_pair();
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let probe = TempDir::new("sockgid");
    let gid = std::fs::metadata(probe.path()).unwrap().gid();
    let d = Daemon::start_with(
        "sockmode",
        &server_conf("s_a", (1, pa), &[(2, pb)], ""),
        &["--socket-mode", "600", "-g", &gid.to_string()],
    );
    let m = std::fs::metadata(&d.socket).unwrap();
    assert_eq!(m.permissions().mode() & 0o777, 0o600);
    assert_eq!(m.gid(), gid);
    // A group name is looked up in /etc/group; an unknown one is refused before start.
    assert_eq!(scspd::daemon::cli::group_id("root"), Ok(0));
    let out = Command::new(SCSPD)
        .args(["-n", "-g", "no-such-group-x", "-f", "/dev/null"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no group no-such-group-x"),
        "{out:?}"
    );
}

/// Issue case 6, the name lookup: a reload whose configuration names a host whose lookup never
/// ends delays neither the clients nor the signals. scspd runs in a mount namespace of its own
/// whose resolver asks a name server on 127.83.83.83:53 that this test holds and never answers
/// (`options timeout:30`: one lookup would take 30 s); the test sees the query arrive, so the
/// lookup is under way, then SIGINT writes a dump, a client is answered and SIGTERM stops the
/// daemon, all while the lookup still waits. Needs root (CI runs as root) for the namespace.
#[test]
fn slow_name_lookup_on_reload_delays_neither_clients_nor_signals() {
    let dns = std::net::UdpSocket::bind("127.83.83.83:53").expect("bind 127.83.83.83:53 (root)");
    dns.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let etc = TempDir::new("slowdns");
    let resolv = etc.path().join("resolv.conf");
    let nss = etc.path().join("nsswitch.conf");
    std::fs::write(
        &resolv,
        "nameserver 127.83.83.83\noptions timeout:30 attempts:1\n",
    )
    .unwrap();
    std::fs::write(&nss, "hosts: files dns\n").unwrap();
    let script = format!(
        "mount --bind '{}' /etc/resolv.conf && mount --bind '{}' /etc/nsswitch.conf && exec \"$@\"",
        resolv.display(),
        nss.display()
    );
    let dumps = etc.path().join("dumps");
    let dumps_arg = dumps.display().to_string();
    let (pa, pb) = free_pair();
    let mut d = Daemon::start_under(
        "slowdns",
        &server_conf("s_a", (1, pa), &[(2, pb)], ""),
        &["--dump-dir", &dumps_arg],
        &["unshare", "--mount", "--", "sh", "-c", &script, "sh"],
    );
    // The same server, its DCS now named: the reload must look the name up.
    let conf = server_conf("s_a", (1, pa), &[(2, pb)], "")
        .replace("Address 127.0.0.2;", "Address dcs.slow-lookup.test;");
    assert!(conf.contains("dcs.slow-lookup.test"));
    std::fs::write(&d.config, conf).unwrap();
    d.signal("HUP");
    let mut q = [0u8; 512];
    let (n, from) = dns
        .recv_from(&mut q)
        .expect("scspd's lookup reached the name server");
    assert!(
        q[..n].windows(10).any(|w| w == b"slow-looku"),
        "a query for the name, from {from}"
    );
    // The lookup waits. A client is answered meanwhile.
    let t = Instant::now();
    assert!(matches!(
        d.ok(scspd::proto::Request::ShowServers),
        scspd::proto::Response::Servers { .. }
    ));
    let client_ms = t.elapsed().as_millis();
    // SIGINT writes a dump meanwhile.
    d.signal("INT");
    d.wait_until(10, "a dump written during the lookup", || {
        std::fs::read_dir(&dumps).is_ok_and(|mut r| r.next().is_some())
    });
    assert!(!d.log_text().contains("reload refused"), "{}", d.log_text());
    // SIGTERM stops it, the lookup still waiting (it would take 30 s).
    let t = Instant::now();
    d.signal("TERM");
    let deadline = t + Duration::from_secs(5);
    while d.alive() {
        assert!(
            Instant::now() < deadline,
            "scspd did not stop on SIGTERM while a lookup waited; log:\n{}",
            d.log_text()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let stop_ms = t.elapsed().as_millis();
    eprintln!(
        "during a lookup that waits: client answered in {client_ms} ms, stopped {stop_ms} ms after SIGTERM"
    );
    let log = d.log_text();
    assert!(
        log.contains("SIGTERM: stopping (a reload was under way)"),
        "{log}"
    );
}
