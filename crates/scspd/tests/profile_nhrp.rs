//! The NHRP profile (RFC 2335) between real daemons: a registration originated at one end is
//! learned, decoded, at the other; updated; deleted (purged, and gone everywhere); expired at its
//! Holding Time (gone everywhere, without a message).

mod common;
mod profile_pair;

use common::scspctl_ok;

use profile_pair::{Pair, add_record, column, field};
use serde_json::json;

/// With `scspctl`'s NHRP forms: add, update (another NBMA address for the client), delete.
#[test]
fn learned_updated_deleted() {
    let p = Pair::start("nhrp", "NHRP", "", "");
    let out = scspctl_ok(
        &p.a.socket,
        &[
            "add",
            "nhrp_a",
            "nhrp",
            "10.0.0.1",
            "192.0.2.1",
            "--holding",
            "600",
            "--request-id",
            "41",
        ],
    );
    assert!(out.contains("PROTOCOL ADDRESS 10.0.0.1"), "{out}");
    let is_it = |e: &scspd::proto::EntryView| column(e, "PROTOCOL ADDRESS") == Some("10.0.0.1");
    p.wait_b(20, "the registration at B", |c| c.iter().any(is_it));
    let e = p.cache_b().into_iter().find(is_it).unwrap();
    assert!(!e.local);
    assert_eq!(e.originator, "127.0.0.1");
    assert_eq!(column(&e, "NBMA ADDRESS"), Some("192.0.2.1"));
    assert_eq!(column(&e, "HOLDING"), Some("600s"));
    assert_eq!(field(&e, "protocol_address").as_deref(), Some("10.0.0.1"));
    assert_eq!(
        e.key, "0a000001",
        "the key is the client's protocol address"
    );
    assert_eq!(
        e.seq, 41,
        "the Request ID is the CSA Sequence Number (RFC 2335 §2)"
    );

    // Updated: the client moved to another NBMA address; the key (its protocol address) stays.
    scspctl_ok(
        &p.a.socket,
        &[
            "add",
            "nhrp_a",
            "nhrp",
            "10.0.0.1",
            "192.0.2.2",
            "--holding",
            "600",
            "--request-id",
            "42",
        ],
    );
    p.wait_b(20, "the update at B", |c| {
        c.len() == 1 && column(&c[0], "NBMA ADDRESS") == Some("192.0.2.2") && c[0].seq == 42
    });
    let table = scspctl_ok(&p.b.socket, &["show", "cache", "nhrp_b"]);
    assert!(
        table.starts_with("PROTOCOL ADDRESS") && table.contains("192.0.2.2"),
        "{table}"
    );

    // Deleted: purged at both ends.
    let out = scspctl_ok(&p.a.socket, &["del", "nhrp_a", "nhrp", "10.0.0.1"]);
    assert!(out.starts_with("deleted 0a000001"), "{out}");
    p.wait_b(20, "the purge at B", <[_]>::is_empty);
    assert!(p.cache_a().is_empty());
}

/// A registration nobody refreshes (its NHC's local server stopped) times out at every server at
/// its Holding Time, and no CSA is sent for it (RFC 2335 §3).
#[test]
fn holding_time_expiry_is_silent() {
    let p = Pair::start("nhrpx", "NHRP", "", "");
    let mut client = p.attach_a();
    let e = add_record(
        &mut client,
        &p.sa,
        json!({"afn": 1, "holding_time": 3, "nbma_address": "192.0.2.9",
               "protocol_address": "10.0.0.9"}),
    );
    assert_eq!(column(&e, "HOLDING"), Some("3s"));
    p.expires_silently(&mut client, 20, |e| {
        field(e, "protocol_address").as_deref() == Some("10.0.0.9")
    });
}

/// scspd stands in for the clients whose registrations it holds: it re-registers each every third
/// of its Holding Time (State 1, the next Request ID), so an entry added with `scspctl` outlives
/// its Holding Time everywhere.
#[test]
fn held_registrations_are_re_registered() {
    let p = Pair::start("nhrpr", "NHRP", "", "");
    scspctl_ok(
        &p.a.socket,
        &[
            "add",
            "nhrpr_a",
            "nhrp",
            "10.0.0.5",
            "192.0.2.5",
            "--holding",
            "3",
        ],
    );
    p.wait_b(20, "the registration at B", |c| c.len() == 1);
    let first = p.cache_b()[0].seq;
    std::thread::sleep(std::time::Duration::from_secs(7));
    let c = p.cache_b();
    assert_eq!(c.len(), 1, "it outlived its Holding Time");
    assert!(c[0].seq > first, "{} after {first}", c[0].seq);
    assert_eq!(column(&c[0], "STATE"), Some("reregistered"));
    assert_eq!(p.cache_a().len(), 1);
}
