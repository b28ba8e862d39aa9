//! The MARS profile as the daemon and scspctl use it, and its rules inside a real core server.

mod common;

use common::words as args;
use std::time::Duration;

use scsp_core::wire::Data;
use scsp_core::{LocalError, Server, Time};
use scsp_profiles::mars::{self, Kind, Record, State};
use scsp_profiles::{ProfileOps, ops_for};
use serde_json::json;

fn mars() -> std::sync::Arc<dyn ProfileOps> {
    ops_for(3, &Default::default())
}

const ATM: &str = "47.0005.80.ffe100.0000.f21a.26d8.0020481a26d8.00";

fn add(s: &str) -> (Vec<u8>, Vec<u8>) {
    common::add(&*mars(), s, LSID)
}

fn rec(s: &str) -> (Vec<u8>, Record) {
    let (k, d) = add(s);
    (k, Record::decode(&d).unwrap())
}

#[test]
fn add_forms() {
    let (k, r) = rec(&format!("redirect {ATM}"));
    assert_eq!(k, [1, 0, 0]);
    assert_eq!(r.state, State::ServerRedirect);
    assert_eq!((r.cmi, r.register, r.has_groups()), (0, false, false));
    assert_eq!(r.source_atm_address.to_string(), ATM);

    let (k, r) = rec(&format!("register 7 {ATM} --source 10.0.0.5"));
    assert_eq!(k, [3, 0, 7]);
    assert_eq!((r.state, r.register, r.cmi), (State::ClientJoin, true, 7));
    assert_eq!(r.source_protocol_address.to_string(), "10.0.0.5");

    let (k, r) = rec(&format!("deregister 7 {ATM}"));
    assert_eq!(k, [3, 0, 7], "the key of the registration it undoes");
    assert_eq!((r.state, r.register), (State::ClientLeave, true));

    let (k, r) = rec(&format!("join 224.1.2.3 7 {ATM} --layer3grp --sequence 9"));
    assert_eq!(k, [3, 0, 7, 224, 1, 2, 3, 224, 1, 2, 3]);
    assert_eq!(
        (r.state, r.layer3grp, r.sequence),
        (State::ClientJoin, true, 9)
    );

    let (k2, r) = rec(&format!("leave 224.1.2.3 7 {ATM}"));
    assert_eq!(k2, k, "a leave has its join's key");
    assert_eq!(r.state, State::ClientLeave);

    let (k, r) = rec(&format!(
        "serve 225.0.0.0-225.0.0.255 0x0102 +493012345678 --subaddr {ATM}"
    ));
    assert_eq!(k, [2, 1, 2, 225, 0, 0, 0, 225, 0, 0, 255]);
    assert_eq!(r.state, State::McsServe);
    assert!(r.source_atm_address.e164);
    assert!(!r.source_atm_subaddress.is_null());

    let (k2, r) = rec("unserve 225.0.0.0-225.0.0.255 258 +493012345678");
    assert_eq!((k2, r.state), (k, State::McsUnserve));

    let (k, r) = rec(&format!("mcs-register 258 {ATM}"));
    assert_eq!(
        (k.as_slice(), r.state, r.register),
        (&[2, 1, 2][..], State::McsServe, true)
    );
    let (_, r) = rec(&format!("mcs-deregister 258 {ATM}"));
    assert_eq!((r.state, r.register), (State::McsUnserve, true));

    let (_, r) = rec(&format!("join ff0e::1-ff0e::ff 7 {ATM}"));
    assert_eq!(r.protocol_type, 0x86dd, "IPv6 groups");
}

#[test]
fn add_errors() {
    let ops = mars();
    for bad in [
        "".to_string(),
        "redirect".to_string(),
        format!("redirect 7 {ATM}"),
        format!("register {ATM}"),
        format!("register 70000 {ATM}"),
        format!("join 7 {ATM}"),
        format!("join 224.1.1.2-224.1.1.1 7 {ATM}"),
        format!("join 224.1.1.1-ff0e::1 7 {ATM}"),
        format!("join 224.1.1.1-224.1.1.2 7 {ATM} --layer3grp"),
        format!("serve 224.1.1.1 7 {ATM} --layer3grp"),
        format!("join 224.1.1.1 7 {ATM} extra"),
        format!("frobnicate 7 {ATM}"),
        "join 224.1.1.1 7 ".to_string(),
        format!("join 224.1.1.1 7 {ATM} --sequence 256"),
        format!("join 224.1.1.1 7 {ATM} --bogus"),
    ] {
        assert!(ops.parse_add_args(&args(&bad)).is_err(), "{bad:?} accepted");
    }
    assert!(
        ops.add_usage()
            .contains("join <group>[-<group-max>] <cmi> <atm-addr>")
    );
    assert!(ops.del_usage().starts_with("redirect | client <cmi>"));
}

#[test]
fn decode_columns_and_build_agree() {
    let ops = mars();
    let (key, data) = add(&format!(
        "join 224.1.2.3 7 {ATM} --source 10.0.0.5 --layer3grp"
    ));
    let v = ops.decode(&key, &data).unwrap();
    assert_eq!(v["key"], "030007e0010203e0010203");
    assert_eq!(v["state"], "client_join");
    assert_eq!(ops.build(&v, &[1]).unwrap(), (key.clone(), data.clone()));

    let cols = ops.columns(&key, &data).unwrap();
    let get = |n: &str| cols.iter().find(|c| c.name == n).unwrap().value.clone();
    assert_eq!(get("STATE"), "join");
    assert_eq!(get("FLAGS"), "layer3grp");
    assert_eq!(get("CMI"), "7");
    assert_eq!(get("SOURCE"), "10.0.0.5");
    assert_eq!(get("ATM ADDRESS"), ATM);
    assert_eq!(get("GROUPS"), "224.1.2.3");

    let (key, data) = add(&format!(
        "serve 225.0.0.0-225.0.0.255 9 {ATM} --subaddr +12"
    ));
    let cols = ops.columns(&key, &data).unwrap();
    let get = |n: &str| cols.iter().find(|c| c.name == n).unwrap().value.clone();
    assert_eq!(get("GROUPS"), "225.0.0.0-225.0.0.255");
    assert_eq!(get("SOURCE"), "-");
    assert_eq!(get("FLAGS"), "-");
    assert_eq!(get("ATM ADDRESS"), format!("{ATM} sub=12"));

    assert!(ops.decode(&key, &data[..5]).is_err());
    assert!(
        ops.build(&json!({"cmi": 1}), &[1]).is_err(),
        "a state is needed"
    );
    assert!(
        ops.build(
            &json!({"state": "client_join", "group_min": "224.0.0.1"}),
            &[1]
        )
        .is_err(),
        "minimum and maximum share one length"
    );
    let (k, _) = ops
        .build(
            &json!({"state": "server_redirect", "source_atm_address": ATM}),
            &[1],
        )
        .unwrap();
    assert_eq!(k, [1, 0, 0]);
}

#[test]
fn del_selectors() {
    let ops = mars();
    let (rk, rd) = add(&format!("redirect {ATM}"));
    let (gk, gd) = add(&format!("register 7 {ATM}"));
    let (jk, jd) = add(&format!("join 224.1.2.3 7 {ATM}"));
    let (j8k, j8d) = add(&format!("join 224.1.2.3 8 {ATM}"));
    let (sk, sd) = add(&format!("serve 224.1.2.3 7 {ATM}"));
    let all = [(&rk, &rd), (&gk, &gd), (&jk, &jd), (&j8k, &j8d), (&sk, &sd)];
    let picked = |sel: &serde_json::Value| -> Vec<bool> {
        all.iter().map(|(k, d)| ops.selects(sel, k, d)).collect()
    };
    let sel = ops.parse_del_args(&args("redirect")).unwrap();
    assert_eq!(picked(&sel), [true, false, false, false, false]);
    let sel = ops.parse_del_args(&args("client 7")).unwrap();
    assert_eq!(sel, json!({"kind": "client", "cmi": 7}));
    assert_eq!(picked(&sel), [false, true, true, false, false]);
    let sel = ops.parse_del_args(&args("client 7 224.1.2.3")).unwrap();
    assert_eq!(picked(&sel), [false, false, true, false, false]);
    let sel = ops.parse_del_args(&args("mcs 7")).unwrap();
    assert_eq!(picked(&sel), [false, false, false, false, true]);
    let sel = ops
        .parse_del_args(&args("client 7 224.1.2.0-224.1.2.255"))
        .unwrap();
    assert_eq!(picked(&sel), [false; 5], "ranges are named exactly");
    for bad in [
        "",
        "redirect 1",
        "client",
        "client x",
        "client 7 224.1.2.3 extra",
        "server 1",
    ] {
        assert!(ops.parse_del_args(&args(bad)).is_err(), "{bad:?} accepted");
    }
    assert!(!ops.selects(&json!({"kind": "client", "cmi": 7}), &jk, b"junk"));
    assert!(!ops.selects(&json!({}), &jk, &jd));
}

#[test]
fn core_rules() {
    let core = mars().core();
    let (_, join) = add(&format!("join 224.1.2.3 7 {ATM}"));
    let (_, serve) = add(&format!("serve 224.1.2.3 7 {ATM}"));
    let (_, redirect) = add(&format!("redirect {ATM}"));
    for live in [&join, &serve, &redirect] {
        core.validate(live).unwrap();
        assert!(!core.is_deletion(live));
    }
    assert_eq!(core.lifetime(&join), None);
    assert_eq!(core.lifetime(&redirect), Some(Duration::from_secs(250)));
    assert_eq!(
        scsp_core::Profile::lifetime(&mars::MarsCore::default(), &redirect),
        Some(Duration::from_secs(250))
    );

    let leave = core.deletion_of(&join);
    assert!(core.is_deletion(&leave));
    let r = Record::decode(&leave).unwrap();
    assert_eq!(r.state, State::ClientLeave);
    assert_eq!(r.key(), Record::decode(&join).unwrap().key());
    assert_eq!(core.deletion_of(&leave), leave, "a deletion stays itself");

    let unserve = core.deletion_of(&serve);
    assert_eq!(Record::decode(&unserve).unwrap().state, State::McsUnserve);
    assert!(core.is_deletion(&unserve));

    // A redirect entry has no deletion record in RFC 2443: State 0, which other servers discard.
    let gone = core.deletion_of(&redirect);
    assert_eq!(gone[11], mars::STATE_WITHDRAWN);
    assert!(core.is_deletion(&gone));
    assert!(core.validate(&gone).is_err());

    // Other states are discarded (RFC 2443 §3).
    for s in [0u8, 6, 7, 200, 255] {
        let mut b = join.clone();
        b[11] = s;
        assert!(core.validate(&b).is_err(), "state {s}");
    }
    for junk in [&b""[..], &[0xff; 30][..]] {
        assert!(core.is_deletion(&core.deletion_of(junk)));
    }
}

const LSID: &[u8] = &[10, 0, 0, 1];

fn server() -> Server {
    common::server(&*mars(), 3, LSID)
}

fn entry(s: &Server, key: &[u8]) -> scsp_core::Entry {
    common::entry(s, key, LSID)
}

#[test]
fn leave_is_a_withdrawal_in_the_core() {
    let mut s = server();
    let t = Time::from_millis(1_000);
    let (key, join) = add(&format!("join 224.1.2.3 7 {ATM}"));
    s.originate(t, &key, Data::from(join)).unwrap();
    let (lkey, leave) = add(&format!("leave 224.1.2.3 7 {ATM}"));
    assert_eq!(lkey, key);
    assert_eq!(
        s.originate(t, &key, Data::from(leave.clone())),
        Err(LocalError::IsDeletion),
        "a leave is originated by withdrawing the join"
    );
    s.withdraw(t, &key).unwrap();
    let e = entry(&s, &key);
    assert!(e.deleted());
    assert_eq!(&e.data[..], &leave[..], "the withdrawal floods the leave");
}

#[test]
fn redirect_entry_expires_without_refresh_and_lives_with_it() {
    let mut s = server();
    let t0 = Time::from_millis(1_000_000);
    let (key, data) = add(&format!("redirect {ATM}"));
    let seq = s.originate(t0, &key, Data::from(data.clone())).unwrap();
    // Refreshed every minute as a new instance (the rules' Originate of unchanged data).
    let mut t = t0;
    let mut last = seq;
    for _ in 0..5 {
        t = t + Duration::from_secs(60);
        s.handle_timeout(t);
        let next = scsp_core::seq::next_csa(last, 1);
        let scsp_core::seq::NextSeq::Next(n) = next else {
            panic!("wrap")
        };
        last = s
            .originate_numbered(t, &key, Data::from(data.clone()), n)
            .unwrap();
        assert_eq!(last, n);
    }
    assert_eq!(s.cache().live(), 1, "kept alive by its refreshes");
    s.handle_timeout(t + Duration::from_secs(249));
    assert_eq!(s.cache().live(), 1);
    s.handle_timeout(t + Duration::from_secs(250));
    assert_eq!(s.cache().live(), 0, "two missed updates: gone");
    assert_eq!(Kind::Server.code(), key[0]);
}

/// The JSON examples of the MARS section of the profiles document (docs/profiles.md) are what the profile reads and writes.
#[test]
fn documented_json_is_exact() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/");
    let doc = ["profiles.md"]
        .iter()
        .filter_map(|f| std::fs::read_to_string(format!("{dir}{f}")).ok())
        .find(|d| d.contains("## MARS (Protocol ID 3)"))
        .expect("the MARS section of the profiles document");
    let start = doc.find("## MARS (Protocol ID 3)").unwrap();
    let section = &doc[start..];
    let section = &section[..section.find("## Generic records").unwrap_or(section.len())];
    let blocks: Vec<&str> = section
        .split("```json\n")
        .skip(1)
        .map(|b| &b[..b.find("```").unwrap()])
        .collect();
    assert!(!blocks.is_empty());
    let ops = ops_for(3, &Default::default());
    for b in blocks {
        let v: serde_json::Value = serde_json::from_str(b).unwrap();
        let (key, data) = ops.build(&v, &[1]).unwrap();
        assert_eq!(ops.decode(&key, &data).unwrap(), v, "{b}");
    }
}
