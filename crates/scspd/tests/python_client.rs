//! The Python client package (clients/python) against real daemons: it is installed with pip
//! into a fresh venv (which proves that `pip install ./clients/python` works), then its test
//! script clients/python/tests/test_live.py runs against two scspd, A and B, DCSs of each other:
//! requests, an entry added at A seen at B, attach and notifications, confirm, handover, typed
//! errors, and the example local server (examples/local_server.py) across a restart of B, which
//! the script asks of this test on its standard output. The framing's unit tests run in the same
//! script.
//!
//! Needs python3 with the venv module (scripts/test.sh installs them) and pip's access to the
//! package index for the build backend (setuptools).

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{Daemon, TempDir, free_udp_port, server_conf};

/// The whole script's time limit (it waits at most 30 s for any one change).
const SCRIPT_LIMIT: Duration = Duration::from_secs(400);

fn package_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../clients/python")
}

/// Copies the package's sources, so that building it leaves nothing in the source tree.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let name = e.file_name();
        let n = name.to_string_lossy();
        if n == "build" || n == "dist" || n == "__pycache__" || n.ends_with(".egg-info") {
            continue;
        }
        let (src, dst) = (e.path(), to.join(&name));
        if e.file_type().unwrap().is_dir() {
            copy_tree(&src, &dst);
        } else {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}

/// Runs a command to completion; panics with its output if it fails.
fn run(what: &str, cmd: &mut Command) {
    let o = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run {cmd:?}: {e}"));
    assert!(
        o.status.success(),
        "{what} failed ({}): {cmd:?}\n--- stdout\n{}\n--- stderr\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn python_client_package_against_scspd() {
    let python = Command::new("python3")
        .arg("-c")
        .arg("import venv")
        .output();
    assert!(
        python.as_ref().is_ok_and(|o| o.status.success()),
        "python3 with the venv module is needed (scripts/test.sh installs python3 and \
         python3-venv): {python:?}"
    );

    let tmp = TempDir::new("pyclient");
    let src = tmp.path().join("scspd-client");
    copy_tree(&package_dir(), &src);
    let venv = tmp.path().join("venv");
    run(
        "python3 -m venv",
        Command::new("python3").arg("-m").arg("venv").arg(&venv),
    );
    let py = venv.join("bin/python");
    run(
        "pip install ./clients/python",
        Command::new(&py)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .arg(&src)
            .env_remove("PYTHONPATH"),
    );

    let (pa, pb) = (free_udp_port("127.0.0.1"), free_udp_port("127.0.0.2"));
    let a = Daemon::start("pyA", &server_conf("s", (1, pa), &[(2, pb)], ""));
    let mut b = Daemon::start("pyB", &server_conf("s", (2, pb), &[(1, pa)], ""));

    let mut child = Command::new(&py)
        .arg("-u")
        .arg(src.join("tests/test_live.py"))
        .env_remove("PYTHONPATH")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("SCSPD_A_SOCKET", &a.socket)
        .env("SCSPD_B_SOCKET", &b.socket)
        .env("SCSPD_A_CONFIG", &a.config)
        .env("SCSPD_SERVER", "s")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run test_live.py");
    let mut stdin = child.stdin.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut err = child.stderr.take().unwrap();
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });

    // Follow the script's output, acting on its requests, until it ends or runs out of time.
    let deadline = Instant::now() + SCRIPT_LIMIT;
    let mut lines = Vec::new();
    let mut timed_out = false;
    loop {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) => {
                match line.as_str() {
                    "@@kill B" => b.kill(),
                    "@@restart B" => b.restart(),
                    _ => {}
                }
                if line == "@@kill B" || line == "@@restart B" {
                    writeln!(stdin, "@@done").unwrap();
                    stdin.flush().unwrap();
                }
                lines.push(line);
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                timed_out = true;
                let _ = child.kill();
                break;
            }
        }
    }
    let status = child.wait().unwrap();
    let stderr = err.join().unwrap();
    let report = format!(
        "--- test_live.py stdout\n{}\n--- test_live.py stderr\n{stderr}\n--- scspd A log\n{}\n\
         --- scspd B log\n{}",
        lines.join("\n"),
        a.log_text(),
        b.log_text()
    );
    assert!(
        !timed_out,
        "test_live.py did not finish in {SCRIPT_LIMIT:?}\n{report}"
    );
    assert!(status.success(), "test_live.py failed ({status})\n{report}");
    // The script ran every test, skipped none, and said so.
    let result = lines
        .iter()
        .find_map(|l| l.strip_prefix("@@result "))
        .unwrap_or_else(|| panic!("no @@result line\n{report}"));
    let count = |k: &str| -> usize {
        result
            .split(' ')
            .find_map(|f| f.strip_prefix(k)?.strip_prefix('='))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no {k} in {result:?}"))
    };
    assert!(count("ran") >= 24, "too few tests ran: {result}\n{report}");
    assert_eq!(
        (count("failures"), count("errors"), count("skipped")),
        (0, 0, 0),
        "{result}\n{report}"
    );
    // Printed with --nocapture: what ran.
    eprintln!("{stderr}");
}
