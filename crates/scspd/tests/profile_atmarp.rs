//! The ATMARP profile between real daemons: a binding originated at one end is learned, decoded,
//! at the other; updated; deleted (and gone everywhere); expired (gone everywhere, without a
//! message); a record of another layout is refused, counted and logged; and issue 4's exact check
//! with the real `scspctl`.

mod common;
mod profile_pair;

use common::{scspctl, scspctl_ok};

use common::{Daemon, eventually, free_pair};
use profile_pair::{Pair, add_record, column, conf, field};
use serde_json::json;

const ATM: &str = "47.0005.80.ffdc00.0000.0002.0001.002048061de7.00";
const ATM2: &str = "47.0005.80.ffdc00.0000.0002.0001.002048061de8.00";

/// Issue 4: two daemons configured with `protocol ATMARP;` as in issue 3's set-up; `scspctl -s
/// A.sock add atmarp_a atmarp 10.1.2.3 <atm>`; `scspctl -s B.sock show cache atmarp_b` at the
/// peer shows `10.1.2.3` and that ATM address.
#[test]
fn issue_4_exact_check() {
    let (pa, pb) = free_pair();
    let a = Daemon::start("A", &conf("atmarp_a", "ATMARP", "", (1, pa), (2, pb)));
    let b = Daemon::start("B", &conf("atmarp_b", "ATMARP", "", (2, pb), (1, pa)));
    assert_eq!(a.socket.file_name().unwrap(), "A.sock");
    assert_eq!(b.socket.file_name().unwrap(), "B.sock");
    a.wait_until(20, "alignment", || a.dcs("atmarp_a")[0].ca == "Aligned");
    let added = scspctl_ok(&a.socket, &["add", "atmarp_a", "atmarp", "10.1.2.3", ATM]);
    assert!(
        added.starts_with("added ") && added.contains("IP 10.1.2.3") && added.contains(ATM),
        "{added}"
    );
    let mut shown = String::new();
    let seen = eventually(20, || {
        shown = scspctl_ok(&b.socket, &["show", "cache", "atmarp_b"]);
        shown.contains("10.1.2.3")
    });
    assert!(seen, "B never showed the entry:\n{shown}\n{}", b.log_text());
    assert!(shown.contains("10.1.2.3"), "{shown}");
    assert!(shown.contains(ATM), "{shown}");
    let mut lines = shown.lines();
    let header = lines.next().unwrap();
    for col in ["IP", "ATM ADDRESS", "STATE", "ORIGINATOR", "SEQ", "AGE"] {
        assert!(header.contains(col), "{col} missing: {shown}");
    }
    let row: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(
        &row[..5],
        &["10.1.2.3", ATM, "-", "new", "127.0.0.1"],
        "{shown}"
    );
    // The same as JSON: the hex fields, and the decoded record.
    let json = scspctl_ok(&b.socket, &["show", "cache", "atmarp_b", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let e = &v[0];
    for f in ["key", "originator", "seq", "data"] {
        assert!(e.get(f).is_some(), "{f} missing: {json}");
    }
    assert_eq!(e["record"]["ip"], "10.1.2.3", "{json}");
    assert_eq!(e["record"]["atm"], ATM, "{json}");
    print!("$ scspctl -s B.sock show cache atmarp_b\n{shown}");

    // And away again, by the IP address.
    let gone = scspctl_ok(&a.socket, &["del", "atmarp_a", "atmarp", "10.1.2.3"]);
    assert!(
        gone.starts_with("deleted ") && gone.contains("IP 10.1.2.3"),
        "{gone}"
    );
    assert!(
        eventually(20, || b.cache("atmarp_b").is_empty()),
        "{}",
        b.log_text()
    );
    // A form for another profile is refused before anything is sent.
    let o = scspctl(
        &a.socket,
        &["add", "atmarp_a", "nhrp", "10.0.0.1", "10.0.0.2"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("decodes its records with the atmarp profile"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Learned, decoded; updated; deleted everywhere — in the original's layout, through the
/// client interface's typed requests.
#[test]
fn learned_updated_deleted() {
    let p = Pair::start("harp", "ATMARP", "", "");
    let e = p.add_a(json!({"ip": "10.1.2.3", "atm": ATM}));
    assert!(e.local);
    assert_eq!(field(&e, "state").as_deref(), Some("new"));

    let is_it = |e: &scspd::proto::EntryView| field(e, "ip").as_deref() == Some("10.1.2.3");
    p.wait_b(20, "the binding at B", |c| c.iter().any(is_it));
    let at_b = p.cache_b();
    assert_eq!(at_b.len(), 1);
    let e = &at_b[0];
    assert!(!e.local);
    assert_eq!(e.originator, "127.0.0.1");
    assert_eq!(column(e, "IP"), Some("10.1.2.3"));
    assert_eq!(column(e, "ATM ADDRESS"), Some(ATM));
    assert_eq!(field(e, "atm").as_deref(), Some(ATM));

    // Updated: another ATM address for the address. (The original's key hashes the ATM address
    // in: the old binding is withdrawn, the new one takes its place.)
    p.add_a(json!({"ip": "10.1.2.3", "atm": ATM2}));
    p.wait_b(20, "the new binding at B", |c| {
        c.len() == 1 && field(&c[0], "atm").as_deref() == Some(ATM2)
    });
    assert_eq!(p.cache_a().len(), 1);

    // Deleted: gone at both ends.
    let gone = p.del_a(json!({"ip": "10.1.2.3"}));
    assert_eq!(gone.len(), 1);
    assert_eq!(field(&gone[0], "atm").as_deref(), Some(ATM2));
    p.wait_b(20, "the deletion at B", <[_]>::is_empty);
    assert!(p.cache_a().is_empty());
}

/// Draft-01: the Lifetime is the record's; an entry nobody refreshes (the attached local server
/// stopped) expires at both ends after it, and nothing is sent for it. An update with the same
/// key (draft-01 keys by the IP address) replaces the entry.
#[test]
fn draft01_update_and_silent_expiry() {
    let f = "ATMARPFormat draft-01;";
    let p = Pair::start("d01", "ATMARP", f, f);
    let mut client = p.attach_a();
    let e = add_record(
        &mut client,
        &p.sa,
        json!({"ip": "10.1.2.4", "atm": ATM, "lifetime": 5}),
    );
    assert_eq!(field(&e, "lifetime").as_deref(), Some("5"));
    p.wait_b(20, "the binding at B", |c| c.len() == 1);
    let e2 = add_record(
        &mut client,
        &p.sa,
        json!({"ip": "10.1.2.4", "atm": ATM, "lifetime": 1}),
    );
    assert_eq!(e2.key, e.key, "draft-01 keys by the IP address");
    p.wait_b(20, "the update at B", |c| {
        c.len() == 1 && column(&c[0], "LIFETIME") == Some("1 min")
    });
    // One minute after the last instance, both ends drop it by themselves.
    p.expires_silently(&mut client, 90, |e| {
        field(e, "ip").as_deref() == Some("10.1.2.4")
    });
}

/// A record that is not of the layout a server speaks is refused: acknowledged, counted, logged
/// naming the peer, and neither stored nor forwarded.
#[test]
fn a_record_of_another_layout_is_refused() {
    let p = Pair::start(
        "mix",
        "ATMARP",
        "ATMARPFormat draft-01;",
        "ATMARPFormat harp;",
    );
    p.add_a(json!({"ip": "10.1.2.5", "atm": ATM}));
    p.b.wait_until(20, "the refusal at B", || p.invalid_at_b() >= 1);
    assert!(p.cache_b().is_empty());
    let log = p.b.log_text();
    assert!(
        log.contains(&format!(
            "DCS 127.0.0.1 (127.0.0.1:{}): refused a record (atmarp profile)",
            p.ports.0
        )),
        "{log}"
    );
}

/// scspd's own ATMARP rules for the entries it keeps: a mere refresh is not advertised again
/// inside 10 + random(2) minutes; the entries of an attached local server bypass the rules until
/// it detaches, when scspd takes them over (and advertises them again at once).
#[test]
fn local_rules_refresh_hysteresis_and_adoption() {
    let p = Pair::start("rules", "ATMARP", "", "");
    let first = p.add_a(json!({"ip": "10.1.2.6", "atm": ATM}));
    p.wait_b(20, "the binding at B", |c| c.len() == 1);
    let again = p.add_a(json!({"ip": "10.1.2.6", "atm": ATM}));
    assert_eq!(again.seq, first.seq, "a mere refresh is not advertised");
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(p.cache_b()[0].seq, first.seq);

    // The attached client's own entry: not scspd's to refresh while it is attached.
    let mut client = p.attach_a();
    let e = add_record(&mut client, &p.sa, json!({"ip": "10.1.2.7", "atm": ATM}));
    let again = add_record(&mut client, &p.sa, json!({"ip": "10.1.2.7", "atm": ATM}));
    assert_eq!(again.seq, e.seq, "unchanged data, no new instance");
    p.wait_b(20, "the client's binding at B", |c| c.len() == 2);
    // It goes away; scspd keeps the entry and advertises it as its own from now on.
    drop(client);
    p.wait_b(20, "the adopted binding re-advertised", |c| {
        c.iter()
            .any(|x| field(x, "ip").as_deref() == Some("10.1.2.7") && x.seq > e.seq)
    });
    assert!(p.a.log_text().contains("detached"));
}
