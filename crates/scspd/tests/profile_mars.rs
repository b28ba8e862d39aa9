//! The MARS profile (RFC 2443) between real daemons: a membership originated at one end is
//! learned, decoded, at the other; updated; deleted (left, and gone everywhere); and a server
//! redirect entry nobody refreshes expires everywhere without a message.

mod common;
mod profile_pair;

use common::scspctl_ok;

use profile_pair::{Pair, add_record, column, field};
use serde_json::Value;

const ATM: &str = "47.0005.80.ffe100.0000.f21a.26d8.0020481a26d8.00";
const ATM2: &str = "47.0005.80.ffe100.0000.f21a.26d8.0020481a26d9.00";

fn group(e: &scspd::proto::EntryView) -> Option<&str> {
    column(e, "GROUPS")
}

/// With `scspctl`'s MARS forms: a join; the same join from another ATM address; a second join
/// left with the `leave` form; the first deleted by client and group.
#[test]
fn learned_updated_deleted() {
    let p = Pair::start("mars", "MARS", "", "");
    let join = |g: &str, atm: &str| {
        scspctl_ok(&p.a.socket, &["add", "mars_a", "mars", "join", g, "7", atm])
    };
    let out = join("224.1.2.3", ATM);
    assert!(out.contains("GROUPS 224.1.2.3"), "{out}");
    p.wait_b(20, "the join at B", |c| {
        c.iter().any(|e| group(e) == Some("224.1.2.3"))
    });
    let e = &p.cache_b()[0];
    assert!(!e.local);
    assert_eq!(e.originator, "127.0.0.1");
    assert_eq!(column(e, "CMI"), Some("7"));
    assert_eq!(column(e, "ATM ADDRESS"), Some(ATM));
    assert_eq!(field(e, "cmi").as_deref(), Some("7"));

    // Updated: the same client and group from another ATM address (same key).
    join("224.1.2.3", ATM2);
    p.wait_b(20, "the update at B", |c| {
        c.len() == 1 && column(&c[0], "ATM ADDRESS") == Some(ATM2)
    });

    // A second group, then left with the leave form: a record that deletes.
    join("224.1.2.4", ATM2);
    p.wait_b(20, "the second join at B", |c| c.len() == 2);
    let out = scspctl_ok(
        &p.a.socket,
        &["add", "mars_a", "mars", "leave", "224.1.2.4", "7", ATM2],
    );
    assert!(out.starts_with("deleted "), "{out}");
    p.wait_b(20, "the leave at B", |c| {
        c.len() == 1 && group(&c[0]) == Some("224.1.2.3")
    });

    // Deleted by client and group: gone at both ends.
    let out = scspctl_ok(
        &p.a.socket,
        &["del", "mars_a", "mars", "client", "7", "224.1.2.3"],
    );
    assert!(out.starts_with("deleted "), "{out}");
    p.wait_b(20, "the deletion at B", <[_]>::is_empty);
    assert!(p.cache_a().is_empty());
}

/// A server redirect entry lives two missed updates (`MarsTimers::dead_after`: 250 s by default,
/// 9 s with `MARSRedirectInterval 4;`) unless a new instance replaces it. One whose server
/// stopped refreshing it (the attached local server went quiet) goes from both caches at that
/// time, and nothing is sent for it.
#[test]
fn redirect_entry_expires_silently() {
    let interval = "MARSRedirectInterval 4;";
    let p = Pair::start("marsx", "MARS", interval, interval);
    let mut client = p.attach_a();
    let args: Vec<String> = ["redirect", ATM].iter().map(|s| (*s).to_owned()).collect();
    let record: Value = scsp_profiles::ops_for(3, &Default::default())
        .parse_add_args(&args)
        .unwrap();
    let e = add_record(&mut client, &p.sa, record);
    assert_eq!(column(&e, "STATE"), Some("redirect"));
    p.expires_silently(&mut client, 30, |e| column(e, "ATM ADDRESS") == Some(ATM));
}
