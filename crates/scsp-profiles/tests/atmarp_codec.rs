//! ATMARP protocol specific part: byte-exact vectors in both directions for each layout, the
//! HARP cache key, refusals, and properties (round trips, no panic on any bytes).

mod common;

use common::h;
use std::net::Ipv4Addr;

use proptest::prelude::*;
use scsp_core::wire::{self, Body, Common, Csa, Csas, Data, Id, Packet, RecordId};
use scsp_profiles::AtmarpLayout::{self, Draft00, Draft01, Harp};
use scsp_profiles::atmarp::codec::{self, CodecError, Field};
use scsp_profiles::atmarp::{AtmAddress, E164, Nsap, Record, State, Target};

const NSAP_STR: &str = "47.0005.80.ffdc00.0000.0002.0001.002048061de7.00";
const NSAP_HEX: &str = "47000580ffdc00000000020001002048061de700";
const SUB_STR: &str = "39.840f.80.1bc1b0.0000.0000.0000.0800200a1b2c.00";
const SUB_HEX: &str = "39840f801bc1b00000000000000800200a1b2c00";

fn nsap() -> AtmAddress {
    NSAP_STR.parse().unwrap()
}

fn sub() -> Nsap {
    SUB_STR.parse().unwrap()
}

fn e164() -> AtmAddress {
    "12125551234".parse().unwrap()
}

fn rec(ip: [u8; 4], atm: AtmAddress, sub: Option<Nsap>) -> Record {
    Record::new(Ipv4Addr::from(ip), atm, sub)
}

/// (layout, bytes, record): each decodes to the other and encodes back.
fn vectors() -> Vec<(AtmarpLayout, Vec<u8>, Record)> {
    vec![
        // HARP: what atmarpd sends for a host with an NSAP address: 40 bytes.
        (
            Harp,
            h(&format!(
                "0013 0800 14 00 00 00 04 00 00 04 {NSAP_HEX} 0a010203 0a010203"
            )),
            Record {
                state: Some(State::New),
                ..rec([10, 1, 2, 3], nsap(), None)
            },
        ),
        // HARP: E.164 (11 IA5 digits: TL 0x4b) with an NSAP subaddress, state updated.
        (
            Harp,
            h(&format!(
                "0013 0800 4b 14 01 00 04 00 00 04 3132313235353531323334 {SUB_HEX} \
                 c0a80709 c0a80709"
            )),
            Record {
                state: Some(State::Updated),
                ..rec([192, 168, 7, 9], e164(), Some(sub()))
            },
        ),
        // HARP: deleted, and target fields that are not HARP's (no target IP, a target ATM
        // number): kept in `target`.
        (
            Harp,
            h(&format!(
                "0013 0800 14 00 02 00 04 45 00 00 {NSAP_HEX} ac100001 3132333435"
            )),
            Record {
                state: Some(State::Deleted),
                target: Some(Target {
                    ip: None,
                    atm: Some("12345".parse().unwrap()),
                    subaddress: None,
                }),
                ..rec([172, 16, 0, 1], nsap(), None)
            },
        ),
        // draft-00: State 0, NSAP, 32 bytes.
        (
            Draft00,
            h(&format!("0013 0800 00 14 00 04 {NSAP_HEX} 0a010203")),
            Record {
                state: Some(State::New),
                ..rec([10, 1, 2, 3], nsap(), None)
            },
        ),
        // draft-00: State 1, E.164 + subaddress.
        (
            Draft00,
            h(&format!(
                "0013 0800 01 4b 14 04 3132313235353531323334 {SUB_HEX} c0a80709"
            )),
            Record {
                state: Some(State::Updated),
                ..rec([192, 168, 7, 9], e164(), Some(sub()))
            },
        ),
        // draft-01: Lifetime 20 minutes (0x14).
        (
            Draft01,
            h(&format!("0013 0800 14 14 00 04 {NSAP_HEX} 0a010203")),
            Record {
                lifetime: Some(20),
                ..rec([10, 1, 2, 3], nsap(), None)
            },
        ),
        // draft-01: Lifetime 255, E.164 + subaddress.
        (
            Draft01,
            h(&format!(
                "0013 0800 ff 4b 14 04 3132313235353531323334 {SUB_HEX} c0a80709"
            )),
            Record {
                lifetime: Some(255),
                ..rec([192, 168, 7, 9], e164(), Some(sub()))
            },
        ),
        // draft-01: Lifetime 0, a deletion.
        (
            Draft01,
            h(&format!("0013 0800 00 14 00 04 {NSAP_HEX} 0a010203")),
            Record {
                lifetime: Some(0),
                ..rec([10, 1, 2, 3], nsap(), None)
            },
        ),
    ]
}

#[test]
fn vectors_both_ways() {
    for (i, (layout, bytes, record)) in vectors().into_iter().enumerate() {
        assert_eq!(
            codec::decode(layout, &bytes),
            Ok(record),
            "vector {i} decode"
        );
        assert_eq!(
            codec::encode(layout, &record),
            Ok(bytes.clone()),
            "vector {i} encode"
        );
    }
}

#[test]
fn harp_record_is_40_bytes_and_its_csa_60() {
    let r = rec([10, 1, 2, 3], nsap(), None);
    let data = codec::encode(Harp, &r).unwrap();
    assert_eq!(data.len(), 40);
    let key = codec::harp_cache_key(r.ip, &r.atm);
    let csa = Csa {
        summary: Csas {
            hops: 3,
            null: false,
            seq: 0x8000_0001,
            id: RecordId {
                key: Id::new(&key).unwrap(),
                origin: Id::new(&[10, 1, 2, 1]).unwrap(),
            },
        },
        data: Data::from(data.clone()),
    };
    assert_eq!(wire::csa_len(&csa), 60);
    // The whole CSU Request as the core encodes it; the CSA is its last 60 bytes.
    let packet = Packet {
        common: Common {
            protocol_id: 1,
            sgid: 1,
            sender: Id::new(&[10, 1, 2, 1]).unwrap(),
            receiver: Id::new(&[10, 1, 2, 2]).unwrap(),
        },
        body: Body::CsuRequest { records: vec![csa] },
        extensions: Vec::new(),
    };
    let bytes = wire::encode(&packet, None).unwrap();
    let expected = h(&format!(
        "0003 003c 04 04 0000 80000001 86e0ca75 0a010201 \
         0013 0800 14 00 00 00 04 00 00 04 {NSAP_HEX} 0a010203 0a010203"
    ));
    assert_eq!(&bytes[bytes.len() - 60..], &expected[..]);
    // docs/profiles.md shows this record.
    let doc = include_str!("../../../docs/profiles.md");
    assert!(doc.contains("0003 003c 04 04 0000 80000001 86e0ca75 0a010201"));
    assert!(doc.contains("0013 0800 14 00 00 00 04 00 00 04"));
    assert!(doc.contains(NSAP_HEX));
}

#[test]
fn harp_cache_key_vectors() {
    // Expected values computed with Python's hashlib, folding as HARP's lib/cache_key.c does:
    //   d = hashlib.md5(ip_bytes + atm_bytes).digest(); k = bytearray(4)
    //   for i in range(16): k[i % 4] ^= d[i]
    // 10.1.2.3 + 47000580ffdc00000000020001002048061de700:
    //   d = 6a4ef2409a0cdbec33388de3459a6e3a, k = 86e0ca75
    assert_eq!(
        codec::harp_cache_key(Ipv4Addr::new(10, 1, 2, 3), &nsap()),
        [0x86, 0xe0, 0xca, 0x75]
    );
    // 192.168.7.9 + b"12125551234" (E.164 digits; the subaddress is not part of the key):
    //   d = ca241535867dde067697f228e542b7c5, k = df8c8ede
    assert_eq!(
        codec::harp_cache_key(Ipv4Addr::new(192, 168, 7, 9), &e164()),
        [0xdf, 0x8c, 0x8e, 0xde]
    );
    // 172.16.0.1 + 39840f801bc1b00000000000000800200a1b2c00:
    //   d = 58537a6a5a649acbf216020092445297, k = 6265b036
    assert_eq!(
        codec::harp_cache_key(Ipv4Addr::new(172, 16, 0, 1), &AtmAddress::Nsap(sub())),
        [0x62, 0x65, 0xb0, 0x36]
    );
    // The drafts' key is the IPv4 address.
    for l in [Draft00, Draft01] {
        assert_eq!(
            codec::cache_key(l, Ipv4Addr::new(10, 1, 2, 3), &nsap()),
            [10, 1, 2, 3]
        );
    }
    assert_eq!(
        codec::cache_key(Harp, Ipv4Addr::new(10, 1, 2, 3), &nsap()),
        [0x86, 0xe0, 0xca, 0x75]
    );
}

#[test]
fn refusals() {
    let n = NSAP_HEX;
    let cases: Vec<(AtmarpLayout, String, CodecError)> =
        vec![
        (
            Harp,
            "0013 0800 14 00 00 00 04".into(),
            CodecError::Truncated { need: 12, have: 9 },
        ),
        (
            Harp,
            format!("0014 0800 14 00 00 00 04 00 00 04 {n} 0a010203 0a010203"),
            CodecError::HardwareType(0x0014),
        ),
        (
            Harp,
            format!("0013 86dd 14 00 00 00 04 00 00 04 {n} 0a010203 0a010203"),
            CodecError::ProtocolType(0x86dd),
        ),
        (
            Harp,
            format!("0013 0800 14 00 03 00 04 00 00 04 {n} 0a010203 0a010203"),
            CodecError::State(3),
        ),
        (
            Draft00,
            format!("0013 0800 07 14 00 04 {n} 0a010203"),
            CodecError::State(7),
        ),
        (
            Harp,
            format!("0013 0800 13 00 00 00 04 00 00 04 {n} 0a010203 0a010203"),
            CodecError::NsapLength {
                field: Field::SourceAtm,
                len: 19,
            },
        ),
        (
            Harp,
            "0013 0800 50 00 00 00 04 00 00 04 31323334353637383930313233343536 0a010203 0a010203"
                .into(),
            CodecError::E164Length {
                field: Field::SourceAtm,
                len: 16,
            },
        ),
        (
            Harp,
            format!("0013 0800 94 00 00 00 04 00 00 04 {n} 0a010203 0a010203"),
            CodecError::Reserved(Field::SourceAtm),
        ),
        (
            Draft01,
            format!("0013 0800 14 14 45 04 {n} 3132333435 0a010203"),
            CodecError::SubaddressType(Field::SourceSubaddress),
        ),
        (
            Draft01,
            format!("0013 0800 14 14 13 04 {n} {} 0a010203", &SUB_HEX[2..]),
            CodecError::NsapLength {
                field: Field::SourceSubaddress,
                len: 19,
            },
        ),
        (
            Draft01,
            format!("0013 0800 14 14 00 10 {n} 0a0102030a0102030a0102030a010203"),
            CodecError::IpLength {
                field: Field::SourceIp,
                len: 16,
            },
        ),
        (
            Draft01,
            format!("0013 0800 14 14 00 00 {n}"),
            CodecError::IpLength {
                field: Field::SourceIp,
                len: 0,
            },
        ),
        (
            Draft01,
            "0013 0800 14 00 00 04 0a010203".into(),
            CodecError::NoAtmAddress,
        ),
        (
            Harp,
            format!("0013 0800 14 00 00 00 04 00 00 06 {n} 0a010203 0a0102030000"),
            CodecError::IpLength {
                field: Field::TargetIp,
                len: 6,
            },
        ),
        (
            Draft01,
            format!("0013 0800 14 14 00 04 {n} 0a010203 00"),
            CodecError::Trailing(1),
        ),
        (
            Draft01,
            format!("0013 0800 14 14 00 04 {n} 0a0102"),
            CodecError::Truncated { need: 32, have: 31 },
        ),
        (
            Harp,
            format!("0013 0800 14 00 00 00 04 00 00 04 {n} 0a010203 0a010203 00"),
            CodecError::Trailing(1),
        ),
        (Draft01, String::new(), CodecError::Truncated { need: 8, have: 0 }),
    ];
    for (layout, hexs, want) in cases {
        assert_eq!(
            codec::decode(layout, &h(&hexs)),
            Err(want.clone()),
            "{layout:?} {hexs}"
        );
    }
}

#[test]
fn ignored_fields_are_accepted() {
    // HARP's unused byte and the type bit of an absent address are ignored (RFC 2225 8.7.3).
    let b = h(&format!(
        "0013 0800 14 40 00 7f 04 40 40 04 {NSAP_HEX} 0a010203 0a010203"
    ));
    let r = codec::decode(Harp, &b).unwrap();
    assert_eq!(r, codec::decode(Harp, &vectors()[0].1).unwrap());
    assert_eq!(codec::encode(Harp, &r).unwrap(), vectors()[0].1);
}

#[test]
fn encode_refuses_fields_of_other_layouts() {
    let with_life = Record {
        lifetime: Some(5),
        ..rec([10, 1, 2, 3], nsap(), None)
    };
    let with_state = Record {
        state: Some(State::New),
        ..rec([10, 1, 2, 3], nsap(), None)
    };
    let with_target = Record {
        target: Some(Target {
            ip: None,
            atm: None,
            subaddress: None,
        }),
        ..rec([10, 1, 2, 3], nsap(), None)
    };
    assert!(codec::encode(Harp, &with_life).is_err());
    assert!(codec::encode(Draft00, &with_life).is_err());
    assert!(codec::encode(Draft01, &with_state).is_err());
    assert!(codec::encode(Draft00, &with_target).is_err());
    assert!(codec::encode(Draft01, &with_target).is_err());
    // Defaults: state new, lifetime 20 minutes.
    let plain = rec([10, 1, 2, 3], nsap(), None);
    assert_eq!(codec::encode(Harp, &plain).unwrap(), vectors()[0].1);
    assert_eq!(codec::encode(Draft00, &plain).unwrap(), vectors()[3].1);
    assert_eq!(codec::encode(Draft01, &plain).unwrap(), vectors()[5].1);
}

#[test]
fn json_form() {
    let r = Record {
        state: Some(State::New),
        ..rec([10, 1, 2, 3], nsap(), Some(sub()))
    };
    let j = serde_json::to_value(r).unwrap();
    assert_eq!(
        j,
        serde_json::json!({
            "ip": "10.1.2.3",
            "atm": NSAP_STR,
            "subaddress": SUB_STR,
            "state": "new",
        })
    );
    assert_eq!(serde_json::from_value::<Record>(j).unwrap(), r);
    let bad = serde_json::json!({"ip": "10.1.2.3", "atm": NSAP_STR, "subaddr": SUB_STR});
    assert!(serde_json::from_value::<Record>(bad).is_err());
}

// ----- properties ---------------------------------------------------------------------------

fn arb_nsap() -> impl Strategy<Value = Nsap> {
    any::<[u8; 20]>().prop_map(Nsap)
}

fn arb_atm() -> impl Strategy<Value = AtmAddress> {
    prop_oneof![
        arb_nsap().prop_map(AtmAddress::Nsap),
        proptest::collection::vec(any::<u8>(), 1..=15)
            .prop_map(|b| AtmAddress::E164(E164::new(&b).unwrap())),
    ]
}

fn arb_state() -> impl Strategy<Value = State> {
    prop_oneof![Just(State::New), Just(State::Updated), Just(State::Deleted)]
}

fn arb_ip() -> impl Strategy<Value = Ipv4Addr> {
    any::<[u8; 4]>().prop_map(Ipv4Addr::from)
}

fn arb_record(layout: AtmarpLayout) -> impl Strategy<Value = Record> {
    let target = (
        proptest::option::of(arb_ip()),
        proptest::option::of(arb_atm()),
        proptest::option::of(arb_nsap()),
    );
    (
        arb_ip(),
        arb_atm(),
        proptest::option::of(arb_nsap()),
        arb_state(),
        any::<u8>(),
        proptest::option::of(target),
    )
        .prop_map(move |(ip, atm, sub, state, life, target)| {
            let mut r = Record::new(ip, atm, sub);
            match layout {
                Harp => {
                    r.state = Some(state);
                    // Only targets that differ from what HARP sends are kept as such.
                    r.target = target
                        .map(|(ip, atm, subaddress)| Target {
                            ip,
                            atm,
                            subaddress,
                        })
                        .filter(|t| {
                            !(t.atm.is_none() && t.subaddress.is_none() && t.ip == Some(r.ip))
                        });
                }
                Draft00 => r.state = Some(state),
                Draft01 => r.lifetime = Some(life),
            }
            r
        })
}

fn arb_layout() -> impl Strategy<Value = AtmarpLayout> {
    prop_oneof![Just(Harp), Just(Draft00), Just(Draft01)]
}

/// The canonical form of bytes that decoded: HARP's unused byte zero, type bits of absent
/// addresses zero.
fn canonical(layout: AtmarpLayout, b: &[u8]) -> Vec<u8> {
    let mut c = b.to_vec();
    let tls: &[usize] = match layout {
        Harp => {
            c[7] = 0;
            &[4, 5, 9, 10]
        }
        _ => &[5, 6],
    };
    for &i in tls {
        if c[i] & 0x3f == 0 {
            c[i] = 0;
        }
    }
    c
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn record_bytes_record(
        (layout, r) in arb_layout().prop_flat_map(|l| (Just(l), arb_record(l)))
    ) {
        let b = codec::encode(layout, &r).unwrap();
        prop_assert_eq!(codec::decode(layout, &b), Ok(r));
        // And the core's view agrees with the record.
        prop_assert_eq!(codec::is_deletion(layout, &b), r.is_deletion());
    }

    #[test]
    fn any_bytes_never_panic(layout in arb_layout(), b in proptest::collection::vec(any::<u8>(), 0..96)) {
        if let Ok(r) = codec::decode(layout, &b) {
            let again = codec::encode(layout, &r).unwrap();
            prop_assert_eq!(&again, &canonical(layout, &b));
            prop_assert_eq!(codec::decode(layout, &again), Ok(r));
        }
        let _ = codec::is_deletion(layout, &b);
        let _ = codec::lifetime(layout, &b);
        let _ = codec::deletion_of(layout, &b);
    }

    #[test]
    fn mutated_records_never_panic(
        (layout, r) in arb_layout().prop_flat_map(|l| (Just(l), arb_record(l))),
        at in any::<usize>(),
        byte in any::<u8>(),
        cut in any::<usize>(),
    ) {
        let mut b = codec::encode(layout, &r).unwrap();
        let i = at % b.len();
        b[i] = byte;
        b.truncate(cut % (b.len() + 1));
        if let Ok(r2) = codec::decode(layout, &b) {
            prop_assert_eq!(codec::encode(layout, &r2).unwrap(), canonical(layout, &b));
        }
    }

    #[test]
    fn deletion_keeps_the_binding(
        (layout, r) in arb_layout().prop_flat_map(|l| (Just(l), arb_record(l)))
    ) {
        let b = codec::encode(layout, &r).unwrap();
        let d = codec::deletion_of(layout, &b).unwrap();
        prop_assert!(codec::is_deletion(layout, &d));
        let rd = codec::decode(layout, &d).unwrap();
        prop_assert!(rd.is_deletion());
        prop_assert_eq!(rd.binding(), r.binding());
        prop_assert_eq!(rd.target, r.target);
        prop_assert_eq!(codec::lifetime(layout, &d), None);
    }

    #[test]
    fn addresses_print_and_parse(a in arb_atm(), s in arb_nsap()) {
        prop_assert_eq!(a.to_string().parse::<AtmAddress>(), Ok(a));
        prop_assert_eq!(s.to_string().parse::<Nsap>(), Ok(s));
    }
}
