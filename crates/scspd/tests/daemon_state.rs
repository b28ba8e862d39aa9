//! The saved state (`StateDir`) with real daemons: state that is corrupt, truncated, of another
//! layout or of another server gets one log line, is set aside, and the server starts empty; a
//! state directory that cannot be used, or a file another scspd holds, leaves the server running
//! without saved state. scspd never crashes and never refuses to start over its state.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use scspd::proto::{KeyData, Request, Response};

fn conf(port: u16, id: u8) -> String {
    server_conf("s_a", (id, port), &[], "")
}

fn add_entries(d: &Daemon, n: u32) {
    let entries = (0..n)
        .map(|i| KeyData {
            key: format!("{i:08x}"),
            data: "c0ffee".into(),
            seq: None,
        })
        .collect();
    match d.ok(Request::Load {
        server: "s_a".into(),
        entries,
    }) {
        Response::Loaded { errors, .. } => assert!(errors.is_empty(), "{errors:?}"),
        other => panic!("{other:?}"),
    }
}

fn state_file(d: &Daemon) -> PathBuf {
    d.dir.path().join("state").join("s_a.db")
}

fn held(d: &Daemon) -> usize {
    d.cache("s_a").len()
}

/// A daemon holding 100 entries, written to its saved state, then stopped with SIGKILL.
fn with_state(tag: &str) -> Daemon {
    let mut d = Daemon::start(tag, &conf(free_udp_port("127.0.0.1"), 1));
    add_entries(&d, 100);
    d.wait_until(30, "the entries written", || {
        d.servers()[0]
            .saved_state
            .as_ref()
            .is_some_and(|s| s.pending == 0 && s.written >= 100)
    });
    d.kill();
    d
}

fn set_aside_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".bad-") && !n.ends_with("-wal") && !n.ends_with("-shm"))
        .collect()
}

/// Restart `d` on a damaged state: it starts, says why once, sets the file aside, holds
/// nothing, and saves again from then on.
fn restart_on_damage(mut d: Daemon, why: &str) {
    d.restart();
    assert_eq!(held(&d), 0, "{}", d.log_text());
    let log = d.log_text();
    let lines: Vec<&str> = log.lines().filter(|l| l.contains("set aside as")).collect();
    assert_eq!(lines.len(), 1, "{log}");
    assert!(lines[0].contains(why), "{why} not in {}", lines[0]);
    assert_eq!(
        set_aside_files(&d.dir.path().join("state")).len(),
        1,
        "{log}"
    );
    // Saving works again: an entry added now comes back after another restart.
    add_entries(&d, 1);
    d.wait_until(30, "the new entry written", || {
        d.servers()[0]
            .saved_state
            .as_ref()
            .is_some_and(|s| s.pending == 0 && s.written >= 1)
    });
    d.restart();
    assert_eq!(held(&d), 1, "{}", d.log_text());
}

#[test]
fn saved_state_comes_back_after_sigkill() {
    let mut d = with_state("stOK");
    d.restart();
    assert_eq!(held(&d), 100, "{}", d.log_text());
    assert!(
        d.log_text()
            .contains("100 entries held again (100 of ours, 0 deletions, 0 refused)"),
        "{}",
        d.log_text()
    );
}

#[test]
fn a_file_of_garbage_is_set_aside() {
    let d = with_state("stGB");
    let f = state_file(&d);
    for ext in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{ext}", f.display()));
    }
    std::fs::write(&f, vec![0x5au8; 16384]).unwrap();
    restart_on_damage(d, "not a database");
}

#[test]
fn a_truncated_file_is_set_aside() {
    let d = with_state("stTR");
    let f = state_file(&d);
    // Everything checkpointed into the main file, then its tail cut off.
    {
        let c = rusqlite::Connection::open(&f).unwrap();
        c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);").unwrap();
    }
    let len = std::fs::metadata(&f).unwrap().len();
    let bytes = std::fs::read(&f).unwrap();
    std::fs::write(&f, &bytes[..(len as usize / 2).max(100)]).unwrap();
    let _ = std::fs::remove_file(format!("{}-wal", f.display()));
    restart_on_damage(d, "");
}

#[test]
fn a_file_of_another_layout_is_set_aside() {
    let d = with_state("stLY");
    let c = rusqlite::Connection::open(state_file(&d)).unwrap();
    c.execute_batch("PRAGMA user_version=99;").unwrap();
    drop(c);
    restart_on_damage(d, "layout version 99");
}

#[test]
fn a_file_of_another_server_is_set_aside() {
    let d = with_state("stID");
    // The same server name, another ID: another server's state.
    let text = std::fs::read_to_string(&d.config)
        .unwrap()
        .replace("127.0.0.1", "127.0.0.9");
    std::fs::write(&d.config, text).unwrap();
    restart_on_damage(d, "saved by another server");
}

#[test]
fn an_unusable_state_directory_leaves_the_server_running_without_it() {
    let dir = TempDir::new("stDIR");
    let blocker = dir.path().join("not-a-dir");
    std::fs::write(&blocker, "x").unwrap();
    let d = Daemon::start_with(
        "stDIR",
        &conf(free_udp_port("127.0.0.1"), 1),
        &["--state-dir", blocker.to_str().unwrap()],
    );
    add_entries(&d, 3);
    assert_eq!(held(&d), 3);
    assert!(d.servers()[0].saved_state.is_none());
    assert!(
        d.log_text().contains("saved state: state directory"),
        "{}",
        d.log_text()
    );
}

#[test]
fn a_file_held_by_another_scspd_is_not_shared() {
    let a = Daemon::start("stLKa", &conf(free_udp_port("127.0.0.1"), 1));
    let dir = a.dir.path().join("state");
    let b = Daemon::start_with(
        "stLKb",
        &conf(free_udp_port("127.0.0.1"), 1),
        &["--state-dir", dir.to_str().unwrap()],
    );
    b.wait_until(10, "B to say the file is in use", || {
        b.log_text().contains("in use by another process")
    });
    assert!(b.servers()[0].saved_state.is_none());
    assert!(a.servers()[0].saved_state.is_some());
    add_entries(&b, 2);
    assert_eq!(held(&b), 2);
}
