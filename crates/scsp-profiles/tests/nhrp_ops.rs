//! The NHRP profile as the daemon and scspctl use it, and its rules inside a real core server.

mod common;

use common::words as args;
use std::time::Duration;

use scsp_core::wire::Data;
use scsp_core::{Server, Time};
use scsp_profiles::nhrp::{self, Record, State};
use scsp_profiles::{ProfileOps, ops_for};
use serde_json::json;

fn nhrp() -> std::sync::Arc<dyn ProfileOps> {
    ops_for(2, &Default::default())
}

/// The server's own ID in these tests.
const LSID: &[u8] = &[10, 0, 0, 100];

fn add(s: &str) -> (Vec<u8>, Vec<u8>) {
    common::add(&*nhrp(), s, LSID)
}

#[test]
fn add_args_to_record() {
    let (key, data) = add(
        "10.0.0.1 47.0005.80ffe1000000f21a26d8.0020481a26d8.00 --holding 600 --mtu 9180 \
         --preference 5 --request-id 42",
    );
    assert_eq!(key, [10, 0, 0, 1]);
    let r = Record::decode(&data).unwrap();
    assert_eq!(r.afn, 15, "an ATM address: family 15");
    assert_eq!(r.protocol_type, 0x0800);
    assert_eq!(r.holding_time, 600);
    assert_eq!(r.mtu, 9180);
    assert_eq!(r.preference, 5);
    assert_eq!(r.request_id, 42);
    assert_eq!(r.state, State::Registered);
    assert_eq!(r.prefix_length, 0xff);
    assert!(!r.unique && !r.atmarp);

    let (key, data) = add("2001:db8::/32 192.0.2.1 --reregistered --atmarp");
    assert_eq!(key.len(), 16);
    let r = Record::decode(&data).unwrap();
    assert_eq!((r.afn, r.protocol_type), (1, 0x86dd));
    assert_eq!(r.prefix_length, 32);
    assert_eq!(r.state, State::Reregistered);
    assert_eq!(r.holding_time, nhrp::DEFAULT_HOLDING);
    assert!(r.atmarp);

    let (_, data) = add(
        "10.0.0.2 +15551234567 --subaddr 47.0005.80ffe1000000f21a26d8.0020481a26d8.01 --unique",
    );
    let r = Record::decode(&data).unwrap();
    assert!(r.nbma_address.e164 && r.unique);
    assert_eq!(r.nbma_subaddress.octets.len(), 20);
    assert_eq!(data[24], 0x4b, "Cli Addr T/L: E.164, 11 octets");
    assert_eq!(data[25], 0x14, "Cli SAddr T/L: NSAP, 20 octets");
}

#[test]
fn add_args_errors() {
    let ops = nhrp();
    for bad in [
        "",
        "10.0.0.1",
        "10.0.0.1 192.0.2.1 extra",
        "10.0.0.1/33 192.0.2.1",
        "10.0.0.1/24 192.0.2.1 --unique",
        "10.0.0.1 192.0.2.1 --holding 70000",
        "10.0.0.1 192.0.2.1 --bogus",
        "10.0.0.1 nonsense",
        "0x0102 192.0.2.1",
        "10.0.0 192.0.2.1",
    ] {
        assert!(ops.parse_add_args(&args(bad)).is_err(), "{bad:?} accepted");
    }
    assert!(
        ops.add_usage()
            .starts_with("<protocol-addr>[/prefix] <nbma-addr>")
    );
    assert_eq!(ops.del_usage(), "<protocol-addr>[/prefix]");
    // An unusual protocol with its type given.
    assert!(
        ops.parse_add_args(&args("0x0102 192.0.2.1 --protocol-type 0x0099"))
            .is_ok()
    );
}

#[test]
fn decode_columns_and_build_agree() {
    let ops = nhrp();
    let (key, data) = add("10.0.0.1 192.0.2.1 --request-id 9 --preference 3 --unique");
    let v = ops.decode(&key, &data).unwrap();
    assert_eq!(v["key"], "0a000001");
    assert_eq!(v["protocol_address"], "10.0.0.1");
    assert_eq!(v["nbma_address"], "192.0.2.1");
    assert_eq!(ops.build(&v, &[1]).unwrap(), (key.clone(), data.clone()));

    let cols = ops.columns(&key, &data).unwrap();
    let get = |n: &str| cols.iter().find(|c| c.name == n).unwrap().value.clone();
    assert_eq!(get("PROTOCOL ADDRESS"), "10.0.0.1");
    assert_eq!(get("PREFIX"), "255");
    assert_eq!(get("NBMA ADDRESS"), "192.0.2.1");
    assert_eq!(get("STATE"), "registered");
    assert_eq!(get("HOLDING"), "7200s");
    assert_eq!(get("PREF"), "3");
    assert_eq!(get("REQUEST ID"), "9");
    assert_eq!(get("FLAGS"), "U");

    // A key other than the derived one is kept through decode and build.
    let v = ops.decode(&[0xde, 0xad, 0xbe, 0xef], &data).unwrap();
    assert_eq!(ops.build(&v, &[1]).unwrap().0, [0xde, 0xad, 0xbe, 0xef]);

    assert!(ops.decode(&key, &data[..10]).is_err());
    assert!(ops.columns(&key, b"junk").is_err());
    assert!(ops.build(&json!({"holding_time": 1}), &[1]).is_err());
    assert!(
        ops.build(
            &json!({"afn": 1, "holding_time": 1, "nbma_address": "192.0.2.1",
                          "protocol_address": "", }),
            &[1]
        )
        .is_err(),
        "no protocol address, no key"
    );
    assert!(
        ops.build(
            &json!({"afn": 1, "holding_time": 1, "nbma_address": "192.0.2.1",
                          "protocol_address": "10.0.0.1", "typo": 1}),
            &[1]
        )
        .is_err(),
        "unknown fields are refused"
    );
    // The fields with defaults may be left out.
    let (k, d) = ops
        .build(
            &json!({"afn": 1, "holding_time": 60, "nbma_address": "192.0.2.1",
                    "protocol_address": "10.0.0.7"}),
            &[1],
        )
        .unwrap();
    assert_eq!(k, [10, 0, 0, 7]);
    let r = Record::decode(&d).unwrap();
    assert_eq!(
        (r.version, r.protocol_type, r.prefix_length),
        (1, 0x0800, 0xff)
    );
}

#[test]
fn del_selects_by_protocol_address_or_prefix() {
    let ops = nhrp();
    let (k1, d1) = add("10.0.0.1 192.0.2.1");
    let (k2, d2) = add("10.0.1.1 192.0.2.2");
    let sel = ops.parse_del_args(&args("10.0.0.1")).unwrap();
    assert_eq!(sel, json!({"protocol_address": "10.0.0.1"}));
    assert!(ops.selects(&sel, &k1, &d1));
    assert!(!ops.selects(&sel, &k2, &d2));
    let sel = ops.parse_del_args(&args("10.0.0.0/16")).unwrap();
    assert!(ops.selects(&sel, &k1, &d1) && ops.selects(&sel, &k2, &d2));
    let sel = ops.parse_del_args(&args("10.0.0.0/24")).unwrap();
    assert!(ops.selects(&sel, &k1, &d1) && !ops.selects(&sel, &k2, &d2));
    // A record that does not decode is selected by its key.
    let sel = ops.parse_del_args(&args("10.0.0.1")).unwrap();
    assert!(ops.selects(&sel, &k1, b"junk"));
    assert!(!ops.selects(&json!({}), &k1, &d1));
    assert!(ops.parse_del_args(&args("")).is_err());
    assert!(ops.parse_del_args(&args("10.0.0.1 10.0.0.2")).is_err());
}

#[test]
fn core_rules() {
    let core = nhrp().core();
    let (_, live) = add("10.0.0.1 192.0.2.1 --holding 600 --mtu 1500 --preference 9");
    core.validate(&live).unwrap();
    assert!(!core.is_deletion(&live));
    assert_eq!(core.lifetime(&live), Some(Duration::from_secs(600)));

    let del = core.deletion_of(&live);
    core.validate(&del).unwrap();
    assert!(core.is_deletion(&del));
    assert_eq!(core.lifetime(&del), None);
    let r = Record::decode(&del).unwrap();
    assert_eq!(r.state, State::Purged);
    assert_eq!((r.holding_time, r.mtu, r.preference), (0, 0, 0));
    assert_eq!(
        r.protocol_address.0,
        [10, 0, 0, 1],
        "the purge names the client"
    );

    let mut none = Record::decode(&live).unwrap();
    none.state = State::NoSuchClient;
    assert!(core.is_deletion(&none.encode().unwrap()));

    assert!(core.validate(b"").is_err());
    assert!(!core.is_deletion(b""));
    // Whatever it is given, the deletion is a deletion.
    for junk in [&b""[..], &[0xff; 40][..]] {
        assert!(core.is_deletion(&core.deletion_of(junk)));
    }
}

#[test]
fn request_id_as_sequence_number() {
    let mut r = Record::decode(&add("10.0.0.1 192.0.2.1 --request-id 0").1).unwrap();
    assert_eq!(nhrp::seq_for(&r), Some(0));
    r.request_id = 0x7fff_fffe;
    assert_eq!(nhrp::seq_for(&r), Some(0x7fff_fffe));
    r.request_id = 0x7fff_ffff;
    assert_eq!(nhrp::seq_for(&r), None, "the purge number");
    r.request_id = 0x8000_0000;
    assert_eq!(nhrp::seq_for(&r), None, "the reserved number");
    r.request_id = 0x8000_0001;
    assert_eq!(nhrp::seq_for(&r), None, "would compare older than 0");
    r.request_id = 5;
    r.state = State::Purged;
    assert_eq!(
        nhrp::seq_for(&r),
        None,
        "a deletion is withdrawn, not numbered"
    );
    assert_eq!(nhrp::seq_for_data(b"junk"), None);
}

fn server() -> Server {
    common::server(&*nhrp(), 2, LSID)
}

fn entry(s: &Server, key: &[u8]) -> scsp_core::Entry {
    common::entry(s, key, LSID)
}

/// Holding Time is the entry's lifetime in the core.
#[test]
fn holding_time_expires_the_entry() {
    let mut s = server();
    let (key, data) = add("10.0.0.1 192.0.2.1 --holding 30");
    let t0 = Time::from_millis(1_000_000);
    s.originate(t0, &key, Data::from(data)).unwrap();
    assert_eq!(s.cache().live(), 1);
    assert_eq!(s.poll_timeout(), Some(t0 + Duration::from_secs(30)));
    s.handle_timeout(t0 + Duration::from_secs(29));
    assert_eq!(s.cache().live(), 1);
    s.handle_timeout(t0 + Duration::from_secs(30));
    assert_eq!(s.cache().live(), 0, "expired after its holding time");
}

/// RFC 2335 §2, method 2: a client that re-registers with a larger Request ID has it as the CSA
/// Sequence Number, and a server that lost its state goes on from it.
#[test]
fn re_registration_numbers_with_the_request_id() {
    let mut s = server();
    let t = Time::from_millis(5_000);
    let (key, data) = add("10.0.0.1 192.0.2.1 --request-id 100");
    let seq = nhrp::seq_for_data(&data).unwrap();
    assert_eq!(
        s.originate_numbered(t, &key, Data::from(data), seq),
        Ok(100)
    );
    let (_, data) = add("10.0.0.1 192.0.2.1 --request-id 250 --reregistered");
    let seq = nhrp::seq_for_data(&data).unwrap();
    assert_eq!(
        s.originate_numbered(t, &key, Data::from(data), seq),
        Ok(250)
    );
    assert_eq!(entry(&s, &key).seq, 250);

    // The NHS restarts with an empty cache: the client's next registration still outranks
    // everything sent before.
    let mut s2 = server();
    let (_, data) = add("10.0.0.1 192.0.2.1 --request-id 251");
    let seq = nhrp::seq_for_data(&data).unwrap();
    assert_eq!(
        s2.originate_numbered(t, &key, Data::from(data), seq),
        Ok(251)
    );
}

/// Withdrawing floods the purged record.
#[test]
fn withdraw_purges() {
    let mut s = server();
    let t = Time::from_millis(5_000);
    let (key, data) = add("10.0.0.1 192.0.2.1 --request-id 3");
    s.originate(t, &key, Data::from(data.clone())).unwrap();
    assert_eq!(
        s.originate(t, &key, s.config().profile.deletion_of(&data)),
        Err(scsp_core::LocalError::IsDeletion)
    );
    s.withdraw(t, &key).unwrap();
    let e = entry(&s, &key);
    assert!(e.deleted());
    assert_eq!(Record::decode(&e.data).unwrap().state, State::Purged);
}

/// The JSON examples of the NHRP section of the profiles document (docs/profiles.md) are what the profile reads and writes.
#[test]
fn documented_json_is_exact() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/");
    let doc = ["profiles.md"]
        .iter()
        .filter_map(|f| std::fs::read_to_string(format!("{dir}{f}")).ok())
        .find(|d| d.contains("## NHRP (Protocol ID 2)"))
        .expect("the NHRP section of the profiles document");
    let start = doc.find("## NHRP (Protocol ID 2)").unwrap();
    let section = &doc[start..];
    let section = &section[..section
        .find("## MARS (Protocol ID 3)")
        .unwrap_or(section.len())];
    let blocks: Vec<&str> = section
        .split("```json\n")
        .skip(1)
        .map(|b| &b[..b.find("```").unwrap()])
        .collect();
    assert!(!blocks.is_empty());
    let ops = ops_for(2, &Default::default());
    for b in blocks {
        let v: serde_json::Value = serde_json::from_str(b).unwrap();
        let (key, data) = ops.build(&v, &[1]).unwrap();
        assert_eq!(ops.decode(&key, &data).unwrap(), v, "{b}");
    }
}
