//! The real `scspctl` against two real daemons A – B on loopback.

mod common;

use std::path::Path;

use common::scspctl_ok as ok;
use common::{Daemon, eventually, free_pair, scspctl, seqless, server_conf};
use scspd::proto::EntryView;

fn cache(socket: &Path) -> Vec<EntryView> {
    serde_json::from_str(&ok(socket, &["show", "cache", "atmarp", "--json"])).unwrap()
}

#[test]
fn operate_a_pair_of_daemons() {
    let (pa, pb) = free_pair();
    let a = Daemon::start("ctlA", &server_conf("atmarp", (1, pa), &[(2, pb)], ""));
    let b = Daemon::start("ctlB", &server_conf("atmarp", (2, pb), &[(1, pa)], ""));

    assert_eq!(
        seqless(&ok(&a.socket, &["add", "atmarp", "0x0a.00.00.01", "47:00"])),
        "added 0a000001 seq 0x<seq>\n"
    );
    let mut text = String::from("# 1000 entries\n");
    for i in 0..1000u32 {
        text.push_str(&format!("{:08x} {:04x}\n", 0x0b00_0000 + i, i));
    }
    let file = a.dir.path().join("entries.load");
    std::fs::write(&file, text).unwrap();
    let out = ok(
        &a.socket,
        &["load", "--batch", "300", "atmarp", file.to_str().unwrap()],
    );
    assert_eq!(out, "loaded 1000 entries (0 refused)\n");

    assert!(
        eventually(30, || cache(&b.socket).len() == 1001),
        "B did not learn the 1001 entries; log:\n{}",
        b.log_text()
    );
    let at_b = cache(&b.socket);
    assert!(at_b.iter().all(|e| e.originator == "127.0.0.1" && !e.local));
    assert!(at_b.iter().any(|e| e.key == "0a000001" && e.data == "4700"));

    // Tables.
    let servers = ok(&b.socket, &["show", "servers"]);
    let mut lines = servers.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("NAME    PROTOCOL  SGID  LSID"),
        "{servers}"
    );
    let row: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(row[0], "atmarp");
    assert_eq!(row[5], "1001", "{servers}");
    let dcs = ok(&a.socket, &["show", "dcs"]);
    assert!(
        dcs.lines()
            .nth(1)
            .unwrap()
            .starts_with(&format!("atmarp  127.0.0.2  127.0.0.2:{pb}  ")),
        "{dcs}"
    );
    // Protocol 65000: the generic profile's columns, the originator as an address.
    let table = ok(&b.socket, &["show", "cache", "atmarp"]);
    assert_eq!(table.lines().count(), 1002);
    assert!(
        table
            .lines()
            .next()
            .unwrap()
            .starts_with("KEY       DATA  TEXT  LIFETIME  ORIGINATOR         SEQ"),
        "{table}"
    );
    assert!(
        seqless(table.lines().nth(1).unwrap())
            .starts_with("0a000001  4700  -     -         127.0.0.1   0x<seq>"),
        "{table}"
    );
    assert!(ok(&a.socket, &["dump"]).contains("server atmarp"));
    assert_eq!(ok(&a.socket, &["reload"]), "configuration reloaded\n");

    // Withdrawal crosses over.
    assert_eq!(
        ok(&a.socket, &["del", "atmarp", "0a000001"]),
        "deleted 0a000001\n"
    );
    assert!(
        eventually(30, || cache(&b.socket).len() == 1000),
        "{}",
        b.log_text()
    );

    // Refusals: exit 1 with the daemon's code and message.
    let o = scspctl(&a.socket, &["del", "atmarp", "0a000001"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).starts_with("scspctl: not_found: "));
    let o = scspctl(&a.socket, &["show", "cache", "nosuch"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "scspctl: no_such_server: no server named \"nosuch\"\n"
    );
    let long_key = "ab".repeat(256);
    let o = scspctl(&a.socket, &["add", "atmarp", &long_key, "00"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).starts_with("scspctl: bad_argument: "));
}
