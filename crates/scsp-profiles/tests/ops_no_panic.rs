//! No panic on arbitrary input, for every profile (ATMARP in its three layouts, NHRP, MARS,
//! generic) and every decoder a profile offers to the outside: the core's rules on a received
//! record (`validate`, `is_deletion`, `deletion_of`, `lifetime`), the typed decoders (`decode`,
//! `columns`), the builders of client requests from JSON (`build`, `selects`) and the `scspctl`
//! argument forms (`parse_add_args`, `parse_del_args`). The same checks as the fuzz targets
//! `fuzz/fuzz_targets/profile_*.rs`, on fewer inputs. A record the core accepts also goes through
//! the profile's local rules, as scspd hands them what it learns from a DCS.

// The fuzz targets' checks; `local_rules` is what scspd's local rules see of a valid record.
#[allow(dead_code)]
#[path = "../../../fuzz/fuzz_targets/profile_common.rs"]
mod profile_common;

use std::sync::Arc;

use proptest::prelude::*;
use scsp_profiles::{AtmarpLayout, ProfileOps, ProfileOptions, ops_for};
use serde_json::{Map, Value};

fn all_profiles() -> Vec<Arc<dyn ProfileOps>> {
    let mut v: Vec<Arc<dyn ProfileOps>> = [
        AtmarpLayout::Harp,
        AtmarpLayout::Draft00,
        AtmarpLayout::Draft01,
    ]
    .into_iter()
    .map(|atmarp_layout| {
        ops_for(
            1,
            &ProfileOptions {
                atmarp_layout,
                ..ProfileOptions::default()
            },
        )
    })
    .collect();
    for id in [2, 3, 4] {
        v.push(ops_for(id, &ProfileOptions::default()));
    }
    v
}

/// Field names the profiles read from JSON records and selectors.
const KEYS: &[&str] = &[
    "key",
    "data",
    "text",
    "lifetime",
    "kind",
    "ip",
    "atm",
    "state",
    "version",
    "cmi",
    "flags",
    "prefix_length",
    "protocol_address",
    "subaddress",
    "subaddr",
    "afn",
    "snap",
    "mtu",
    "holding",
    "preference",
    "unique",
    "sequence",
    "source",
    "target",
    "group_min",
    "group_max",
    "redirect",
    "join",
    "leave",
    "server",
    "client",
    "mcs",
    "registered",
    "hex",
];

/// Strings that are nearly what the profiles expect, and some that are not.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("10.0.0.1".to_owned()),
        Just("::1".to_owned()),
        Just("47.0005.80ffe1000000f21a26d8.0020481a26d8.00".to_owned()),
        Just("0a000001".to_owned()),
        Just("+358.400.1234567".to_owned()),
        Just("registered".to_owned()),
        "[0-9a-f]{0,48}",
        "[0-9.:]{0,20}",
        ".{0,24}",
    ]
}

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (0u64..70000).prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec((prop::sample::select(KEYS), inner), 0..8).prop_map(|kv| {
                Value::Object(
                    kv.into_iter()
                        .map(|(k, v)| (k.to_owned(), v))
                        .collect::<Map<_, _>>(),
                )
            }),
        ]
    })
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..max)
}

fn words() -> impl Strategy<Value = Vec<String>> {
    proptest::collection::vec(
        prop_oneof![
            text(),
            Just("--lifetime".to_owned()),
            Just("--lifetime=60".to_owned()),
            Just("--x".to_owned()),
            Just("0".to_owned()),
        ],
        0..6,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    /// A received record: the core's rules and the typed decoders, for any bytes; a record the
    /// core accepts has a deletion that the core reads as one.
    #[test]
    fn any_record_bytes_never_panic(key in bytes(24), data in bytes(160)) {
        for ops in all_profiles() {
            let core = ops.core();
            let valid = core.validate(&data).is_ok();
            let _ = core.is_deletion(&data);
            let _ = core.lifetime(&data);
            if valid {
                let del = core.deletion_of(&data);
                prop_assert!(core.is_deletion(&del), "{}: {:02x?} -> {:02x?}", ops.name(), data, del);
                profile_common::local_rules(&*ops, &key, &data, &del);
            }
            if let Ok(v) = ops.decode(&key, &data) {
                let _ = ops.build(&v, &key);
                let _ = ops.selects(&v, &key, &data);
            }
            let _ = ops.columns(&key, &data);
        }
    }

    /// A client's `add_record` record or `del_record` selector: any JSON.
    #[test]
    fn any_json_record_or_selector_never_panics(v in json(), key in bytes(24), data in bytes(64)) {
        for ops in all_profiles() {
            let _ = ops.build(&v, &key);
            let _ = ops.selects(&v, &key, &data);
        }
    }

    /// `scspctl add` / `del` arguments: any words.
    #[test]
    fn any_arguments_never_panic(args in words(), key in bytes(24), data in bytes(64)) {
        for ops in all_profiles() {
            if let Ok(v) = ops.parse_add_args(&args) {
                let _ = ops.build(&v, &key);
            }
            if let Ok(v) = ops.parse_del_args(&args) {
                let _ = ops.selects(&v, &key, &data);
            }
        }
    }
}
