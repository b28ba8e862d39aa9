//! Acting on one neighbour of real daemons: `scspctl dcs disable|enable|restart`, `scspctl
//! realign`, `scspctl clear counters`.

mod common;

use common::*;
use scspd::proto::{DcsAction, ErrorCode, Request, Response};

fn alignments(d: &Daemon) -> u64 {
    d.dcs("s_a")[0].stats["alignments"].as_u64().unwrap()
}

#[test]
fn disable_enable_restart_one_dcs() {
    let (a, b) = pair("ctl", free_pair());
    // Disabled: down here, and so down at B too (no Hellos any more), and it stays down.
    let text = scspctl_ok(&a.socket, &["dcs", "disable", "s_a", "127.0.0.2"]);
    assert_eq!(text, "server s_a: DCS 127.0.0.2 disabled\n");
    let d = a.dcs("s_a").remove(0);
    assert!(d.disabled);
    assert_eq!((d.hello.as_str(), d.ca.as_str()), ("Down", "Down"));
    b.wait_until(15, "B sees A gone", || {
        b.dcs("s_a")[0].hello != "Bidirectional"
    });
    a.add("s_a", "01", "aa");
    // Over a second and a half (B sends a Hello a second): still down, nothing flooded.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert_eq!(
        a.dcs("s_a")[0].hello,
        "Down",
        "B's Hellos must not bring it up"
    );
    assert!(b.cache("s_a").is_empty());
    let m = scspctl_ok(&a.socket, &["show", "metrics"]);
    assert!(
        m.contains("scsp_dcs_disabled{server=\"s_a\",dcs=\"127.0.0.2\"} 1"),
        "{m}"
    );
    // check leaves a disabled DCS out.
    let o = scspctl(&a.socket, &["check"]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    assert!(String::from_utf8_lossy(&o.stdout).contains("(1 disabled, not checked)"));
    // Enabled: up, aligned, and the entry flows.
    let text = scspctl_ok(&a.socket, &["dcs", "enable", "s_a", "127.0.0.2"]);
    assert_eq!(text, "server s_a: DCS 127.0.0.2 enabled\n");
    a.wait_until(15, "alignment after enable", || {
        a.dcs("s_a")[0].ca == "Aligned"
    });
    assert!(!a.dcs("s_a")[0].disabled);
    b.wait_until(10, "the entry at B", || b.cache("s_a").len() == 1);
    // Enabling a DCS that is not disabled is refused.
    let e = a
        .request(Request::DcsControl {
            server: "s_a".into(),
            dcs: "127.0.0.2".into(),
            action: DcsAction::Enable,
        })
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::Refused);
    // Restart: the session goes down and up again: one more alignment, one more flap.
    let (n, flaps) = (alignments(&a), a.dcs("s_a")[0].flaps);
    scspctl_ok(&a.socket, &["dcs", "restart", "s_a", "127.0.0.2"]);
    a.wait_until(15, "realigned after restart", || {
        alignments(&a) > n && a.dcs("s_a")[0].ca == "Aligned"
    });
    assert_eq!(a.dcs("s_a")[0].flaps, flaps + 1);
    // Unknown DCS and server.
    let o = scspctl(&a.socket, &["dcs", "disable", "s_a", "10.9.9.9"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no DCS 10.9.9.9"));
    let o = scspctl(&a.socket, &["dcs", "disable", "nosuch", "127.0.0.2"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        a.log_text()
            .contains("server s_a: DCS 127.0.0.2 disabled (asked by a client)")
    );
}

#[test]
fn realign_and_clear_counters() {
    let (a, _b) = pair("realign", free_pair());
    let n = alignments(&a);
    let text = scspctl_ok(&a.socket, &["realign", "s_a"]);
    assert_eq!(text, "server s_a: realigning with every DCS\n");
    a.wait_until(15, "a new alignment", || {
        alignments(&a) > n && a.dcs("s_a")[0].ca == "Aligned"
    });
    scspctl_ok(&a.socket, &["realign", "s_a", "127.0.0.2"]);
    a.wait_until(15, "another alignment", || {
        alignments(&a) > n + 1 && a.dcs("s_a")[0].ca == "Aligned"
    });
    let before = a.dcs("s_a").remove(0);
    assert!(before.rx_msgs > 0 && before.flaps >= 2);
    // Cleared: counters restart from zero (and grow again with the Hellos).
    assert_eq!(
        scspctl_ok(&a.socket, &["clear", "counters"]),
        "counters cleared\n"
    );
    let after = a.dcs("s_a").remove(0);
    assert!(after.rx_msgs < before.rx_msgs, "{before:?} {after:?}");
    assert_eq!(after.stats["alignments"].as_u64(), Some(0));
    assert_eq!(after.flaps, 0);
    assert_eq!(after.ca, "Aligned", "clearing touches no session");
    a.wait_until(10, "counting again", || {
        a.dcs("s_a")[0].rx_msgs > after.rx_msgs
    });
    // One server only; an unknown one is refused.
    assert_eq!(
        a.ok(Request::ClearCounters {
            server: Some("s_a".into())
        }),
        Response::Done
    );
    let e = a
        .request(Request::ClearCounters {
            server: Some("nosuch".into()),
        })
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::NoSuchServer);
}
