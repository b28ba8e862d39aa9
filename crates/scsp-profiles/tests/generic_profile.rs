//! The generic profile: byte-transparent opaque records, empty = deletion, an optional lifetime
//! prefix; and the core behaving as with the opaque profile for every plain record.

mod common;

use common::{args, h};
use std::time::Duration;

use proptest::prelude::*;
use scsp_core::wire::{Data, Id};
use scsp_core::{Opaque, Profile, Server, ServerConfig, Time};
use scsp_profiles::generic::{GenericCore, GenericRecord, LIFETIME_MAGIC};
use scsp_profiles::{ProfileOptions, ops_by_name, ops_for};
use serde_json::json;

#[test]
fn any_other_protocol_is_generic() {
    for pid in [0, 4, 5, 6, 1000, 65535] {
        assert_eq!(ops_for(pid, &ProfileOptions::default()).name(), "generic");
    }
    assert_eq!(
        ops_by_name("GENERIC", &ProfileOptions::default())
            .unwrap()
            .name(),
        "generic"
    );
}

#[test]
fn plain_add_is_byte_transparent() {
    // scspctl add s_a 0a000001 68656c6c6f → show cache --json: data = "68656c6c6f".
    let p = ops_for(4, &ProfileOptions::default());
    let rec = p
        .parse_add_args(&args(&["0a000001", "68656c6c6f"]))
        .unwrap();
    assert_eq!(rec, json!({"key": "0a000001", "data": "68656c6c6f"}));
    let (key, data) = p.build(&rec, &[1, 2, 3, 4]).unwrap();
    assert_eq!(key, h("0a000001"));
    assert_eq!(data, b"hello");
    let shown = p.decode(&key, &data).unwrap();
    assert_eq!(
        shown,
        json!({"key": "0a000001", "data": "68656c6c6f", "text": "hello"})
    );
    assert_eq!(p.build(&shown, &[]).unwrap(), (key.clone(), data.clone()));
    let cols = p.columns(&key, &data).unwrap();
    let cols: Vec<(&str, &str)> = cols
        .iter()
        .map(|c| (c.name.as_str(), c.value.as_str()))
        .collect();
    assert_eq!(
        cols,
        vec![("DATA", "68656c6c6f"), ("TEXT", "hello"), ("LIFETIME", "-")]
    );
    // scspctl's hex spellings.
    let rec = p
        .parse_add_args(&args(&["0x0a:00:00:01", "de.ad.be.ef"]))
        .unwrap();
    assert_eq!(rec, json!({"key": "0a000001", "data": "deadbeef"}));
}

#[test]
fn lifetime_prefix_vector() {
    let p = ops_for(5, &ProfileOptions::default());
    let rec = p
        .parse_add_args(&args(&["01", "68656c6c6f", "--lifetime", "300"]))
        .unwrap();
    assert_eq!(
        rec,
        json!({"key": "01", "data": "68656c6c6f", "lifetime": 300})
    );
    let (_, data) = p.build(&rec, &[]).unwrap();
    // ff 00 4c 54, 300 s big-endian, "hello".
    assert_eq!(data, h("ff004c54 0000012c 68656c6c6f"));
    assert_eq!(p.core().lifetime(&data), Some(Duration::from_secs(300)));
    assert_eq!(
        p.decode(&[1], &data).unwrap(),
        json!({"key": "01", "data": "68656c6c6f", "text": "hello", "lifetime": 300})
    );
    assert_eq!(p.columns(&[1], &data).unwrap()[2].value, "300 s");
    assert_eq!(
        p.build(&p.decode(&[1], &data).unwrap(), &[]).unwrap().1,
        data
    );
    // --lifetime=0: no lifetime, plain bytes.
    let rec = p
        .parse_add_args(&args(&["01", "68656c6c6f", "--lifetime=0"]))
        .unwrap();
    assert_eq!(p.build(&rec, &[]).unwrap().1, b"hello");
}

#[test]
fn payload_that_looks_like_a_prefix_is_wrapped() {
    let p = ops_for(4, &ProfileOptions::default());
    let payload = h("ff004c54 00000001 99");
    let rec = json!({"key": "01", "data": hex::encode(&payload)});
    let (_, data) = p.build(&rec, &[]).unwrap();
    assert_eq!(data, h("ff004c54 00000000 ff004c54 00000001 99"));
    assert_eq!(p.core().lifetime(&data), None);
    assert_eq!(
        p.decode(&[1], &data).unwrap()["data"],
        json!(hex::encode(&payload))
    );
}

#[test]
fn empty_is_deletion() {
    let p = ops_for(4, &ProfileOptions::default());
    let core = p.core();
    assert!(core.is_deletion(&[]));
    assert!(!core.is_deletion(b"x"));
    assert!(core.deletion_of(b"anything").is_empty());
    assert!(core.validate(&[]).is_ok());
    // Adding empty data is refused: that is a deletion.
    let rec = p.parse_add_args(&args(&["01", ""])).unwrap();
    assert!(p.build(&rec, &[]).is_err());
    // Unless a lifetime is given: a live entry with an empty payload.
    let (_, d) = p
        .build(&json!({"key": "01", "data": "", "lifetime": 60}), &[])
        .unwrap();
    assert_eq!(d, h("ff004c54 0000003c"));
    assert!(!core.is_deletion(&d));
}

#[test]
fn malformed_prefix_is_refused() {
    let core = GenericCore;
    for n in 4..8 {
        let mut d = LIFETIME_MAGIC.to_vec();
        d.resize(n, 0);
        assert!(core.validate(&d).is_err(), "{n}");
        assert_eq!(core.lifetime(&d), None);
    }
    let p = ops_for(4, &ProfileOptions::default());
    assert!(p.decode(&[1], &LIFETIME_MAGIC).is_err());
    assert!(p.columns(&[1], &LIFETIME_MAGIC).is_err());
}

#[test]
fn forms_and_errors() {
    let p = ops_for(4, &ProfileOptions::default());
    for a in [
        vec![],
        vec!["01"],
        vec!["01", "02", "03"],
        vec!["", "02"],
        vec!["0g", "02"],
        vec!["01", "0"],
        vec!["01", "02", "--lifetime"],
        vec!["01", "02", "--lifetime", "-1"],
        vec!["01", "02", "--ttl", "5"],
    ] {
        assert!(p.parse_add_args(&args(&a)).is_err(), "{a:?}");
    }
    assert_eq!(
        p.parse_del_args(&args(&["0x0A"])).unwrap(),
        json!({"key": "0a"})
    );
    assert!(p.parse_del_args(&args(&[])).is_err());
    assert!(p.parse_del_args(&args(&[""])).is_err());
    let sel = json!({"key": "0a"});
    assert!(p.selects(&sel, &[0x0a], b"x"));
    assert!(!p.selects(&sel, &[0x0b], b"x"));
    assert!(!p.selects(&json!({}), &[0x0a], b"x"));
    for bad in [
        json!("x"),
        json!({"data": "01"}),
        json!({"key": "", "data": "01"}),
        json!({"key": "01"}),
        json!({"key": "01", "data": "01", "other": 1}),
        json!({"key": "01", "data": "01", "lifetime": -1}),
        json!({"key": "01", "data": "01", "lifetime": 5_000_000_000u64}),
    ] {
        assert!(p.build(&bad, &[]).is_err(), "{bad}");
    }
    // text in place of data.
    assert_eq!(
        p.build(&json!({"key": "01", "text": "hi"}), &[]).unwrap().1,
        b"hi"
    );
    assert!(p.add_usage().contains("<key-hex>"));
    assert_eq!(p.del_usage(), "<key-hex>");
    assert!(p.local_rules(1).is_none());
}

#[test]
fn long_data_is_cut_in_columns() {
    let p = ops_for(4, &ProfileOptions::default());
    let d = vec![0xabu8; 40];
    let cols = p.columns(&[1], &d).unwrap();
    assert_eq!(cols[0].value, format!("{}…", "ab".repeat(16)));
    assert_eq!(cols[1].value, "-");
}

/// The lifetime in a core server: the entry expires; without one it stays.
#[test]
fn lifetime_in_a_core_server() {
    let mut cfg = ServerConfig::new(4, 1, Id::new(&[10, 0, 0, 1]).unwrap());
    cfg.profile = ops_for(4, &ProfileOptions::default()).core();
    let mut s = Server::new(cfg);
    let t0 = Time::from_millis(10_000);
    let leased = GenericRecord {
        lifetime: Some(30),
        payload: b"lease".to_vec(),
    }
    .encode();
    s.originate(t0, b"a", Data::from(leased)).unwrap();
    s.originate(t0, b"b", Data::from(&b"static"[..])).unwrap();
    assert_eq!(s.poll_timeout(), Some(t0 + Duration::from_secs(30)));
    s.handle_timeout(t0 + Duration::from_secs(30));
    assert_eq!(s.cache().live(), 1);
    s.handle_timeout(t0 + Duration::from_secs(100_000));
    assert_eq!(s.cache().live(), 1);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Anything that does not start with the magic is exactly the opaque profile.
    #[test]
    fn plain_data_is_opaque(d in proptest::collection::vec(any::<u8>(), 0..64)) {
        prop_assume!(!d.starts_with(&LIFETIME_MAGIC));
        let g = GenericCore;
        prop_assert_eq!(g.validate(&d).is_ok(), Opaque.validate(&d).is_ok());
        prop_assert_eq!(g.is_deletion(&d), Opaque.is_deletion(&d));
        prop_assert_eq!(g.deletion_of(&d), Opaque.deletion_of(&d));
        prop_assert_eq!(g.lifetime(&d), Opaque.lifetime(&d));
        let r = GenericRecord::decode(&d).unwrap();
        prop_assert_eq!(r.lifetime, None);
        prop_assert_eq!(&r.payload, &d);
        if !d.is_empty() {
            prop_assert_eq!(r.encode(), d);
        }
    }

    #[test]
    fn record_round_trip(life in proptest::option::of(1u32..), payload in proptest::collection::vec(any::<u8>(), 0..64)) {
        let r = GenericRecord { lifetime: life, payload };
        let d = r.encode();
        prop_assert!(!d.is_empty());
        prop_assert!(GenericCore.validate(&d).is_ok());
        prop_assert_eq!(GenericRecord::decode(&d), Ok(r.clone()));
        prop_assert_eq!(GenericCore.lifetime(&d), life.map(|s| Duration::from_secs(u64::from(s))));
        // Through JSON.
        let p = ops_for(4, &ProfileOptions::default());
        let v = p.decode(b"k", &d).unwrap();
        if !r.payload.is_empty() || life.is_some() {
            prop_assert_eq!(p.build(&v, &[]).unwrap(), (b"k".to_vec(), d));
        }
    }

    #[test]
    fn any_bytes_never_panic(d in proptest::collection::vec(any::<u8>(), 0..32), magic in any::<bool>()) {
        let mut d = d;
        if magic {
            let mut m = LIFETIME_MAGIC.to_vec();
            m.extend_from_slice(&d);
            d = m;
        }
        let p = ops_for(4, &ProfileOptions::default());
        let _ = GenericCore.validate(&d);
        let _ = GenericCore.lifetime(&d);
        let ok = GenericRecord::decode(&d).is_ok();
        prop_assert_eq!(p.decode(b"k", &d).is_ok(), ok);
        prop_assert_eq!(p.columns(b"k", &d).is_ok(), ok);
    }
}

/// The worked example of docs/profiles.md.
#[test]
fn documented_example() {
    let p = ops_by_name("generic", &ProfileOptions::default()).unwrap();
    let rec = p
        .parse_add_args(&args(&["c000020a", "010203040506", "--lifetime", "3600"]))
        .unwrap();
    let (key, data) = p.build(&rec, &[]).unwrap();
    assert_eq!(key, h("c000020a"));
    assert_eq!(data, h("ff004c54 00000e10 010203040506"));
    assert_eq!(
        p.decode(&key, &data).unwrap(),
        json!({"key": "c000020a", "data": "010203040506", "lifetime": 3600})
    );
    assert_eq!(
        p.decode(&h("c000020b"), b"hello").unwrap(),
        json!({"key": "c000020b", "data": "68656c6c6f", "text": "hello"})
    );
    let doc = include_str!("../../../docs/profiles.md");
    assert!(doc.contains("ff004c54 00000e10 010203040506"));
}
