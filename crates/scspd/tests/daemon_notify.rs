//! Notify scripts with real daemons: `Notify <script> [<seconds>];` runs `script SERVER DCS-ID
//! STATE` when a DCS goes up, when the alignment with it completes and when it goes down; a
//! script that outlives its time limit is killed and one that fails is logged, while the daemon
//! goes on answering.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::*;

/// Write an executable shell script.
fn script(path: &Path, body: &str) {
    std::fs::write(path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// A server block with a Notify statement.
fn with_notify(me: (u8, u16), dcs: (u8, u16), notify: &str) -> String {
    server_conf("s_a", me, &[dcs], "").replacen(
        "MTU 1472;\n",
        &format!("MTU 1472; Notify {notify};\n"),
        1,
    )
}

#[test]
fn notify_script_runs_on_up_aligned_and_down() {
    let dir = TempDir::new("notify");
    let out = dir.path().join("events");
    let sh = dir.path().join("notify.sh");
    script(
        &sh,
        &format!(
            "echo \"$1 $2 $3 $SCSP_SERVER $SCSP_DCS $SCSP_STATE $SCSP_PEER\" >> {}",
            out.display()
        ),
    );
    let (pa, pb) = (free_udp_port("127.0.0.1"), free_udp_port("127.0.0.2"));
    let a = Daemon::start(
        "notifyA",
        &with_notify((1, pa), (2, pb), &format!("\"{}\"", sh.display())),
    );
    let mut b = Daemon::start("notifyB", &server_conf("s_a", (2, pb), &[(1, pa)], ""));
    let peer = format!("127.0.0.2:{pb}");
    let up = format!("s_a 127.0.0.2 UP s_a 127.0.0.2 UP {peer}");
    let aligned = format!("s_a 127.0.0.2 ALIGNED s_a 127.0.0.2 ALIGNED {peer}");
    a.wait_until(20, "UP and ALIGNED runs", || {
        let l = lines(&out);
        l.contains(&up) && l.contains(&aligned)
    });
    // In the order of the events.
    let l = lines(&out);
    let (iu, ia) = (
        l.iter().position(|x| *x == up).unwrap(),
        l.iter().position(|x| *x == aligned).unwrap(),
    );
    assert!(iu < ia, "{l:?}");
    b.kill();
    let down = format!("s_a 127.0.0.2 DOWN s_a 127.0.0.2 DOWN {peer}");
    a.wait_until(20, "the DOWN run", || lines(&out).contains(&down));
    assert!(!a.log_text().contains("notify script"), "{}", a.log_text());
}

#[test]
fn a_slow_script_is_killed_and_a_failing_one_logged() {
    let (pa, pb) = (free_udp_port("127.0.0.1"), free_udp_port("127.0.0.2"));
    // A relative path: from the configuration's directory (the script is written there after
    // the start: it is looked for only when it runs).
    let a = Daemon::start("slowA", &with_notify((1, pa), (2, pb), "notify.sh 1"));
    let started = a.dir.path().join("started");
    script(
        &a.dir.path().join("notify.sh"),
        &format!(
            "case $3 in\n  UP) echo up >> {0}; sleep 30; echo late >> {0};;\n  ALIGNED) exit 3;;\nesac",
            started.display()
        ),
    );
    let b = Daemon::start("slowB", &server_conf("s_a", (2, pb), &[(1, pa)], ""));
    a.wait_until(20, "the UP run", || lines(&started) == ["up"]);
    // The daemon answers while the script runs, and the DCS aligns meanwhile.
    a.wait_until(20, "alignment", || a.dcs("s_a")[0].ca == "Aligned");
    a.wait_until(10, "the kill", || {
        a.log_text().contains(&format!(
            "notify script {}/notify.sh s_a 127.0.0.2 UP: still running after 1 s: killed",
            a.dir.path().display()
        ))
    });
    a.wait_until(10, "the failure", || {
        a.log_text()
            .contains("s_a 127.0.0.2 ALIGNED: ended with exit status: 3")
    });
    let log = a.log_text();
    let line = log.lines().find(|l| l.contains("killed")).unwrap();
    assert!(line.contains(" WARN  server s_a: notify script "), "{line}");
    drop(b);
}
