//! The ATMARP profile as the core, the daemon and scspctl use it.

mod common;

use common::{args, h};
use std::time::Duration;

use scsp_profiles::{AtmarpLayout, ProfileOptions, ops_by_name, ops_for};
use serde_json::json;

const NSAP_STR: &str = "47.0005.80.ffdc00.0000.0002.0001.002048061de7.00";
const NSAP_HEX: &str = "47000580ffdc00000000020001002048061de700";
const SUB_STR: &str = "39.840f.80.1bc1b0.0000.0000.0000.0800200a1b2c.00";

fn opts(layout: AtmarpLayout) -> ProfileOptions {
    ProfileOptions {
        atmarp_layout: layout,
        ..ProfileOptions::default()
    }
}

#[test]
fn the_documented_add_works() {
    // scspctl add <server> atmarp 10.1.2.3 47.0005.80.ffdc00.0000.0002.0001.002048061de7.00
    let p = ops_by_name("atmarp", &ProfileOptions::default()).unwrap();
    assert_eq!(p.name(), "atmarp");
    let rec = p.parse_add_args(&args(&["10.1.2.3", NSAP_STR])).unwrap();
    assert_eq!(rec, json!({"ip": "10.1.2.3", "atm": NSAP_STR}));
    let (key, data) = p.build(&rec, &[10, 1, 2, 1]).unwrap();
    assert_eq!(key, h("86e0ca75"));
    assert_eq!(
        data,
        h(&format!(
            "0013 0800 14 00 00 00 04 00 00 04 {NSAP_HEX} 0a010203 0a010203"
        ))
    );
    p.core().validate(&data).unwrap();
    let shown = p.decode(&key, &data).unwrap();
    assert_eq!(
        shown,
        json!({"ip": "10.1.2.3", "atm": NSAP_STR, "state": "new", "key": "86e0ca75"})
    );
    // What decode writes builds the same record again.
    assert_eq!(
        p.build(&shown, &[10, 1, 2, 1]).unwrap(),
        (key.clone(), data.clone())
    );
    let cols = p.columns(&key, &data).unwrap();
    let cols: Vec<(&str, &str)> = cols
        .iter()
        .map(|c| (c.name.as_str(), c.value.as_str()))
        .collect();
    assert_eq!(
        cols,
        vec![
            ("IP", "10.1.2.3"),
            ("ATM ADDRESS", NSAP_STR),
            ("SUBADDRESS", "-"),
            ("STATE", "new"),
        ]
    );
}

#[test]
fn drafts_build_their_layouts() {
    let p0 = ops_for(1, &opts(AtmarpLayout::Draft00));
    let (k, d) = p0
        .build(
            &p0.parse_add_args(&args(&["10.1.2.3", NSAP_STR])).unwrap(),
            &[1; 4],
        )
        .unwrap();
    assert_eq!(k, vec![10, 1, 2, 3]);
    assert_eq!(d, h(&format!("0013 0800 00 14 00 04 {NSAP_HEX} 0a010203")));

    let p1 = ops_for(1, &opts(AtmarpLayout::Draft01));
    let (k, d) = p1
        .build(
            &p1.parse_add_args(&args(&["10.1.2.3", NSAP_STR])).unwrap(),
            &[1; 4],
        )
        .unwrap();
    assert_eq!(k, vec![10, 1, 2, 3]);
    // Default lifetime 20 minutes.
    assert_eq!(d, h(&format!("0013 0800 14 14 00 04 {NSAP_HEX} 0a010203")));
    assert_eq!(p1.core().lifetime(&d), Some(Duration::from_secs(1200)));

    let rec = p1
        .parse_add_args(&args(&[
            "10.1.2.3",
            "12125551234",
            SUB_STR,
            "--lifetime",
            "45",
        ]))
        .unwrap();
    assert_eq!(
        rec,
        json!({"ip": "10.1.2.3", "atm": "12125551234", "subaddress": SUB_STR, "lifetime": 45})
    );
    let (_, d) = p1.build(&rec, &[1; 4]).unwrap();
    assert_eq!(p1.core().lifetime(&d), Some(Duration::from_secs(45 * 60)));
    let cols = p1.columns(&[10, 1, 2, 3], &d).unwrap();
    assert_eq!(cols[2].value, SUB_STR);
    assert_eq!(cols[3].name, "LIFETIME");
    assert_eq!(cols[3].value, "45 min");
    assert_eq!(
        p1.parse_add_args(&args(&["10.1.2.3", NSAP_STR, "--lifetime=7"]))
            .unwrap()["lifetime"],
        json!(7)
    );
}

#[test]
fn add_argument_errors() {
    let harp = ops_for(1, &opts(AtmarpLayout::Harp));
    let d1 = ops_for(1, &opts(AtmarpLayout::Draft01));
    for (p, a) in [
        (&harp, vec![]),
        (&harp, vec!["10.1.2.3"]),
        (&harp, vec!["10.1.2", NSAP_STR]),
        (&harp, vec!["10.1.2.3", "47.00"]),
        (&harp, vec!["10.1.2.3", NSAP_STR, "12345"]),
        (&harp, vec!["10.1.2.3", NSAP_STR, SUB_STR, "extra"]),
        (&harp, vec!["10.1.2.3", NSAP_STR, "--lifetime", "5"]),
        (&harp, vec!["10.1.2.3", NSAP_STR, "--bogus"]),
        (&d1, vec!["10.1.2.3", NSAP_STR, "--lifetime"]),
        (&d1, vec!["10.1.2.3", NSAP_STR, "--lifetime", "0"]),
        (&d1, vec!["10.1.2.3", NSAP_STR, "--lifetime", "256"]),
    ] {
        assert!(p.parse_add_args(&args(&a)).is_err(), "{a:?}");
    }
    assert!(harp.add_usage().contains("<ipv4>"));
    assert_eq!(harp.del_usage(), "<ipv4>");
}

#[test]
fn build_errors() {
    let p = ops_for(1, &opts(AtmarpLayout::Harp));
    assert!(p.build(&json!("x"), &[]).is_err());
    assert!(p.build(&json!({"ip": "10.1.2.3"}), &[]).is_err());
    assert!(
        p.build(
            &json!({"ip": "10.1.2.3", "atm": NSAP_STR, "lifetime": 3}),
            &[]
        )
        .is_err()
    );
    assert!(
        p.build(&json!({"ip": "10.1.2.3", "atm": NSAP_STR, "typo": 3}), &[])
            .is_err()
    );
    // An explicit state is kept.
    let (_, d) = p
        .build(
            &json!({"ip": "10.1.2.3", "atm": NSAP_STR, "state": "updated"}),
            &[],
        )
        .unwrap();
    assert_eq!(d[6], 1);
}

#[test]
fn delete_by_ip() {
    for layout in [
        AtmarpLayout::Harp,
        AtmarpLayout::Draft00,
        AtmarpLayout::Draft01,
    ] {
        let p = ops_for(1, &opts(layout));
        let sel = p.parse_del_args(&args(&["10.1.2.3"])).unwrap();
        assert_eq!(sel, json!({"ip": "10.1.2.3"}));
        let (k, d) = p
            .build(
                &p.parse_add_args(&args(&["10.1.2.3", NSAP_STR])).unwrap(),
                &[],
            )
            .unwrap();
        let (k2, d2) = p
            .build(
                &p.parse_add_args(&args(&["10.1.2.4", NSAP_STR])).unwrap(),
                &[],
            )
            .unwrap();
        assert!(p.selects(&sel, &k, &d));
        assert!(!p.selects(&sel, &k2, &d2));
        assert!(!p.selects(&sel, &k, b"garbage"));
        assert!(!p.selects(&json!({}), &k, &d));
        assert!(!p.selects(&json!({"ip": "nonsense"}), &k, &d));
        // A key selector works too.
        assert!(p.selects(&json!({"key": hex::encode(&k)}), &k, &d));
        assert!(!p.selects(&json!({"key": hex::encode(&k2)}), &k, &d));
        assert!(p.parse_del_args(&args(&[])).is_err());
        assert!(p.parse_del_args(&args(&["10.1.2.3", "x"])).is_err());
        assert!(p.parse_del_args(&args(&["host"])).is_err());
    }
}

#[test]
fn core_rules_per_layout() {
    let cases = [
        (AtmarpLayout::Harp, Some(Duration::from_secs(1200))),
        (AtmarpLayout::Draft00, Some(Duration::from_secs(1200))),
        (AtmarpLayout::Draft01, Some(Duration::from_secs(1200))),
    ];
    for (layout, life) in cases {
        let p = ops_for(1, &opts(layout));
        let core = p.core();
        assert_eq!(core.name(), "atmarp");
        let (_, d) = p
            .build(
                &p.parse_add_args(&args(&["10.1.2.3", NSAP_STR])).unwrap(),
                &[],
            )
            .unwrap();
        assert!(core.validate(&d).is_ok());
        assert!(!core.is_deletion(&d));
        assert_eq!(core.lifetime(&d), life);
        let del = core.deletion_of(&d);
        assert!(core.validate(&del).is_ok(), "{layout:?}");
        assert!(core.is_deletion(&del));
        assert_eq!(core.lifetime(&del), None);
        // Same binding, one byte changed.
        assert_eq!(del.len(), d.len());
        assert_eq!(d.iter().zip(del.iter()).filter(|(a, b)| a != b).count(), 1);
        let shown = p.decode(&[], &del).unwrap();
        match layout {
            AtmarpLayout::Draft01 => assert_eq!(shown["lifetime"], json!(0)),
            _ => assert_eq!(shown["state"], json!("deleted")),
        }
        // Malformed records are refused; the message says why.
        let e = core.validate(&d[..d.len() - 1]).unwrap_err();
        assert!(e.0.contains("truncated"), "{e}");
        assert!(core.validate(&[]).is_err());
        assert!(core.is_deletion(&[]));
        assert!(p.decode(&[], &d[..5]).is_err());
        assert!(p.columns(&[], &d[..5]).is_err());
    }
}

#[test]
fn a_layout_refuses_the_others_records() {
    let harp = ops_for(1, &opts(AtmarpLayout::Harp));
    let d01 = ops_for(1, &opts(AtmarpLayout::Draft01));
    let (_, hd) = harp
        .build(
            &harp.parse_add_args(&args(&["10.1.2.3", NSAP_STR])).unwrap(),
            &[],
        )
        .unwrap();
    let (_, dd) = d01
        .build(
            &d01.parse_add_args(&args(&["10.1.2.3", NSAP_STR])).unwrap(),
            &[],
        )
        .unwrap();
    assert!(harp.core().validate(&dd).is_err());
    assert!(d01.core().validate(&hd).is_err());
}

#[test]
fn local_rules_are_offered() {
    for layout in [
        AtmarpLayout::Harp,
        AtmarpLayout::Draft00,
        AtmarpLayout::Draft01,
    ] {
        let p = ops_for(1, &opts(layout));
        let r = p.local_rules(1).unwrap();
        assert_eq!(r.next_deadline(), None);
    }
}
