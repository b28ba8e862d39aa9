//! Property tests of the codec, and tests of packing records under a maximum packet size.

use std::collections::BTreeSet;
use std::ops::Range;

use proptest::collection::{btree_set, vec};
use proptest::prelude::*;
use scsp_core::wire::*;

// ---------------------------------------------------------------------------------------------
// Strategies. Sizes stay modest so that every packet is well under 65535 bytes: IDs up to 255
// bytes (but mostly short), up to 12 records, protocol parts up to 200 bytes.

fn arb_id() -> impl Strategy<Value = Id> {
    prop_oneof![
        4 => vec(any::<u8>(), 0..=8),
        1 => vec(any::<u8>(), 0..=255),
    ]
    .prop_map(|b| Id::new(&b).unwrap())
}

fn arb_csas() -> impl Strategy<Value = Csas> {
    (
        any::<u16>(),
        any::<bool>(),
        any::<u32>(),
        arb_id(),
        arb_id(),
    )
        .prop_map(|(hops, null, seq, key, origin)| Csas {
            hops,
            null,
            seq,
            id: RecordId { key, origin },
        })
}

fn arb_csa() -> impl Strategy<Value = Csa> {
    (arb_csas(), vec(any::<u8>(), 0..=200)).prop_map(|(summary, data)| Csa {
        summary,
        data: Data::from(data),
    })
}

fn arb_common() -> impl Strategy<Value = Common> {
    (any::<u16>(), any::<u16>(), arb_id(), arb_id()).prop_map(
        |(protocol_id, sgid, sender, receiver)| Common {
            protocol_id,
            sgid,
            sender,
            receiver,
        },
    )
}

fn arb_body() -> impl Strategy<Value = Body> {
    let csas = || vec(arb_csas(), 0..=12);
    prop_oneof![
        (
            any::<u32>(),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            csas()
        )
            .prop_map(|(seq, m, i, o, records)| Body::Ca {
                seq,
                m,
                i,
                o,
                records
            }),
        vec(arb_csa(), 0..=12).prop_map(|records| Body::CsuRequest { records }),
        csas().prop_map(|records| Body::CsuReply { records }),
        csas().prop_map(|records| Body::Csus { records }),
        (
            any::<u16>(),
            any::<u16>(),
            any::<u16>(),
            vec(arb_id(), 0..=12)
        )
            .prop_map(|(interval, dead_factor, family_id, additional)| {
                Body::Hello {
                    interval,
                    dead_factor,
                    family_id,
                    additional,
                }
            }),
    ]
}

/// Extensions a receiver accepts: at most one Authentication, Vendor-Private with distinct
/// 24-bit Vendor IDs, unknown types (3 and up) distinct; in any order.
fn arb_extensions() -> impl Strategy<Value = Vec<Extension>> {
    let auth = proptest::option::of((any::<u32>(), vec(any::<u8>(), 0..=40)));
    let vendors = btree_set(0u32..=0x00ff_ffff, 0..=3);
    let unknown = btree_set(3u16..=u16::MAX, 0..=3);
    (auth, vendors, unknown, vec(vec(any::<u8>(), 0..=30), 6)).prop_flat_map(
        |(auth, vendors, unknown, data)| {
            let mut data = data.into_iter().cycle();
            let mut exts = Vec::new();
            if let Some((spi, mac)) = auth {
                exts.push(Extension::Authentication { spi, mac });
            }
            for vendor_id in vendors {
                exts.push(Extension::VendorPrivate {
                    vendor_id,
                    data: data.next().unwrap_or_default(),
                });
            }
            for kind in unknown {
                exts.push(Extension::Unknown {
                    kind,
                    value: data.next().unwrap_or_default(),
                });
            }
            Just(exts).prop_shuffle()
        },
    )
}

fn arb_packet() -> impl Strategy<Value = Packet> {
    (arb_common(), arb_body(), arb_extensions()).prop_map(|(common, body, extensions)| Packet {
        common,
        body,
        extensions,
    })
}

fn arb_key() -> impl Strategy<Value = AuthKey> {
    (
        any::<u32>(),
        prop_oneof![
            Just(AuthAlgorithm::HmacMd5),
            Just(AuthAlgorithm::HmacSha256)
        ],
        vec(any::<u8>(), 0..=100),
    )
        .prop_map(|(spi, algorithm, key)| AuthKey {
            spi,
            algorithm,
            key,
        })
}

/// Set the Packet Size to the length and recompute the Checksum (when there is room).
fn fix(mut b: Vec<u8>) -> Vec<u8> {
    if b.len() >= 8 && b.len() <= MAX_PACKET {
        let len = b.len() as u16;
        b[2..4].copy_from_slice(&len.to_be_bytes());
        b[4..6].copy_from_slice(&[0, 0]);
        let c = checksum(&b);
        b[4..6].copy_from_slice(&c.to_be_bytes());
    }
    b
}

/// Whatever decodes must encode, and re-decode to the same packet.
fn decode_is_stable(b: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(p) = decode(b) {
        let again = encode(&p, None).map_err(|e| TestCaseError::fail(format!("{e}")))?;
        prop_assert_eq!(decode(&again), Ok(p));
    }
    Ok(())
}

/// 512 cases per property, unless PROPTEST_CASES says otherwise (for a longer run).
fn config() -> ProptestConfig {
    let mut c = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        c.cases = 512;
    }
    c
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn round_trip(p in arb_packet()) {
        let b = encode(&p, None).unwrap();
        prop_assert_eq!(b.len(), encoded_len(&p, None));
        prop_assert_eq!(checksum(&b), 0);
        prop_assert_eq!(decode(&b), Ok(p.clone()));
        // Encoding is a function of the packet: re-encoding the decoded packet gives the bytes.
        prop_assert_eq!(encode(&decode(&b).unwrap(), None).unwrap(), b);
    }

    #[test]
    fn signed_round_trip_verifies(p in arb_packet(), key in arb_key()) {
        let b = encode(&p, Some(&key)).unwrap();
        prop_assert_eq!(b.len(), encoded_len(&p, Some(&key)));
        let d = decode(&b).unwrap();
        // The Authentication extension comes first, and the others in their order.
        let others: Vec<_> = p.extensions.iter()
            .filter(|e| !matches!(e, Extension::Authentication { .. })).cloned().collect();
        let auth_first = matches!(&d.extensions[0],
            Extension::Authentication { spi, mac }
                if *spi == key.spi && mac.len() == key.algorithm.mac_len());
        prop_assert!(auth_first);
        prop_assert_eq!(&d.extensions[1..], &others[..]);
        prop_assert_eq!(&d.common, &p.common);
        prop_assert_eq!(&d.body, &p.body);
        let lookup = |spi: u32| (spi == key.spi).then(|| key.clone());
        prop_assert_eq!(verify_auth(&b, &d, lookup), Ok(()));
    }

    #[test]
    fn a_changed_signed_packet_is_refused(
        p in arb_packet(),
        key in arb_key(),
        at in any::<prop::sample::Index>(),
        bit in 0u8..8,
        refix in any::<bool>(),
    ) {
        let b = encode(&p, Some(&key)).unwrap();
        let i = at.index(b.len());
        let mut c = b.clone();
        c[i] ^= 1 << bit;
        if refix {
            c = fix(c);
        }
        if c == b {
            // Only the checksum field was changed, and fix() put it back.
            return Ok(());
        }
        match decode(&c) {
            Err(_) => {}
            Ok(d) => {
                let lookup = |spi: u32| (spi == key.spi).then(|| key.clone());
                prop_assert!(verify_auth(&c, &d, lookup).is_err(), "byte {} bit {}", i, bit);
            }
        }
        // Without a fresh checksum a single flipped bit is always caught by the checksum.
        if !refix {
            let bad_checksum = matches!(decode(&c), Err(DecodeError::BadChecksum { .. }));
            let header_fault = i < 4; // version, type and size are checked first
            prop_assert!(bad_checksum || header_fault);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(b in vec(any::<u8>(), 0..600)) {
        let _ = decode(&b);
        decode_is_stable(&b)?;
    }

    #[test]
    fn arbitrary_bytes_with_a_valid_header_never_panic(
        t in 1u8..=5,
        soe in prop_oneof![Just(0u16), any::<u16>(), 20u16..80],
        mut b in vec(any::<u8>(), 8..600),
    ) {
        // Past the fixed-part checks, so that the mandatory part and extensions are exercised.
        b[0] = 1;
        b[1] = t;
        b[6..8].copy_from_slice(&soe.to_be_bytes());
        let b = fix(b);
        decode_is_stable(&b)?;
    }

    #[test]
    fn mutated_valid_packets_never_panic(
        p in arb_packet(),
        edits in vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..4), 1..6),
        refix in any::<bool>(),
    ) {
        let mut b = encode(&p, None).unwrap();
        for (at, v, op) in edits {
            let i = at.index(b.len() + 1);
            match op {
                0 if i < b.len() => b[i] = v,
                1 => b.insert(i, v),
                2 if i < b.len() => { b.remove(i); }
                _ => b.truncate(i),
            }
        }
        let b = if refix { fix(b) } else { b };
        decode_is_stable(&b)?;
    }

    #[test]
    fn split_packets_fit_and_keep_every_record(
        common in arb_common(),
        records in vec(arb_csas(), 0..200),
        data in vec(vec(any::<u8>(), 0..300), 1..20),
        max_len in 1200usize..70_000, // the largest header + record is 586 + 522
        key in proptest::option::of(arb_key()),
    ) {
        let ext = auth_overhead(key.as_ref());
        // CSAS records in a CA.
        let runs = split_csas(&common, MessageType::Ca, &records, max_len, ext).unwrap();
        check_runs(&runs, records.len())?;
        let mut all = Vec::new();
        for r in &runs {
            let p = Packet {
                common: common.clone(),
                body: Body::Ca { seq: 1, m: true, i: false, o: false, records: records[r.clone()].to_vec() },
                extensions: vec![],
            };
            let b = encode(&p, key.as_ref()).unwrap();
            prop_assert!(b.len() <= max_len.min(MAX_PACKET));
            if let Body::Ca { records, .. } = decode(&b).unwrap().body { all.extend(records) }
        }
        prop_assert_eq!(&all, &records);
        // CSA records in CSU Requests.
        let csas: Vec<Csa> = records.iter().zip(data.iter().cycle()).map(|(s, d)| Csa {
            summary: s.clone(), data: Data::from(d.as_slice()),
        }).collect();
        let runs = split_csa(&common, &csas, max_len, ext).unwrap();
        check_runs(&runs, csas.len())?;
        for r in &runs {
            let p = Packet {
                common: common.clone(),
                body: Body::CsuRequest { records: csas[r.clone()].to_vec() },
                extensions: vec![],
            };
            prop_assert!(encode(&p, key.as_ref()).unwrap().len() <= max_len.min(MAX_PACKET));
        }
    }
}

/// The runs are consecutive, cover 0..n, and are empty only when n is 0 (one empty run).
fn check_runs(runs: &[Range<usize>], n: usize) -> Result<(), TestCaseError> {
    prop_assert!(!runs.is_empty());
    let mut next = 0;
    for r in runs {
        prop_assert_eq!(r.start, next);
        prop_assert!(r.end > r.start || n == 0);
        next = r.end;
    }
    prop_assert_eq!(next, n);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Packing: fixed cases.

fn ls() -> Common {
    Common {
        protocol_id: 1,
        sgid: 23,
        sender: [10, 0, 0, 1].into(),
        receiver: [10, 0, 0, 2].into(),
    }
}

fn summaries(n: u32) -> Vec<Csas> {
    (0..n)
        .map(|i| Csas {
            hops: 1,
            null: false,
            seq: SEQ_FIRST.wrapping_add(i),
            id: RecordId {
                key: i.to_be_bytes().into(),
                origin: [10, 0, 0, 1].into(),
            },
        })
        .collect()
}

/// Encode each run as a CSU Request and check sizes and order.
fn encode_csa_runs(records: &[Csa], max_len: usize, key: Option<&AuthKey>) -> Vec<Vec<u8>> {
    let runs = split_csa(&ls(), records, max_len, auth_overhead(key)).unwrap();
    let mut back = Vec::new();
    let packets: Vec<Vec<u8>> = runs
        .iter()
        .map(|r| {
            let p = Packet {
                common: ls(),
                body: Body::CsuRequest {
                    records: records[r.clone()].to_vec(),
                },
                extensions: vec![],
            };
            encode(&p, key).unwrap()
        })
        .collect();
    for b in &packets {
        assert!(b.len() <= max_len, "{} > {max_len}", b.len());
        match decode(b).unwrap().body {
            Body::CsuRequest { records } => back.extend(records),
            _ => unreachable!(),
        }
    }
    assert_eq!(back, records);
    packets
}

#[test]
fn thousand_atmarp_csas_in_1472_byte_packets() {
    // 60-byte ATMARP-sized CSAs, signed with HMAC-MD5: 28 + 28 bytes of overhead leaves
    // 1416 bytes, 23 records (1380 bytes) per packet: 44 packets (43 full + 11 records).
    let key = AuthKey {
        spi: 1,
        algorithm: AuthAlgorithm::HmacMd5,
        key: b"k".to_vec(),
    };
    let records: Vec<Csa> = summaries(1000)
        .into_iter()
        .map(|summary| Csa {
            summary: Csas { hops: 3, ..summary },
            data: Data::from(&[0x5a; 40][..]),
        })
        .collect();
    let packets = encode_csa_runs(&records, 1472, Some(&key));
    assert_eq!(packets.len(), 44);
    assert!(packets[..43].iter().all(|b| b.len() == 28 + 28 + 23 * 60));
    // Without authentication: 1444 / 60 = 24 per packet, 42 packets.
    assert_eq!(encode_csa_runs(&records, 1472, None).len(), 42);
}

#[test]
fn thousand_csas_in_a_ca_at_1472_and_65535() {
    let records = summaries(1000);
    for (max_len, expected_runs) in [(1472, 14), (65535, 1)] {
        let runs = split_csas(&ls(), MessageType::Ca, &records, max_len, 0).unwrap();
        // (1472 - 32) / 20 = 72 per CA: 13 full CAs and one of 64.
        assert_eq!(runs.len(), expected_runs, "max_len {max_len}");
        let mut seen = BTreeSet::new();
        for r in &runs {
            let p = Packet {
                common: ls(),
                body: Body::Ca {
                    seq: 9,
                    m: false,
                    i: false,
                    o: true,
                    records: records[r.clone()].to_vec(),
                },
                extensions: vec![],
            };
            let b = encode(&p, None).unwrap();
            assert!(b.len() <= max_len);
            seen.extend(r.clone());
        }
        assert_eq!(seen.len(), 1000);
    }
}

#[test]
fn a_full_65535_byte_packet() {
    // 28 + 3275 * 20 = 65528; with a 7-byte protocol part on one CSA it is exactly 65535.
    let mut records: Vec<Csa> = summaries(3275)
        .into_iter()
        .map(|summary| Csa {
            summary,
            data: Data::from(&[][..]),
        })
        .collect();
    records[0].data = Data::from(&[1u8, 2, 3, 4, 5, 6, 7][..]);
    let runs = split_csa(&ls(), &records, 65535, 0).unwrap();
    assert_eq!(runs, vec![0..3275]);
    let packets = encode_csa_runs(&records, 65535, None);
    assert_eq!(packets[0].len(), 65535);
    // One more byte splits it.
    records[0].data = Data::from(&[0u8; 8][..]);
    let runs = split_csa(&ls(), &records, usize::MAX, 0).unwrap();
    assert_eq!(runs, vec![0..3274, 3274..3275]);
}

#[test]
fn split_errors() {
    let records = summaries(3);
    // Headers alone exceed the limit.
    assert_eq!(
        split_csas(&ls(), MessageType::Ca, &records, 40, 10),
        Err(EncodeError::TooLarge { len: 42, max: 40 })
    );
    // A record that cannot fit even alone.
    let big = vec![Csa {
        summary: records[0].clone(),
        data: Data::from(vec![0u8; 2000]),
    }];
    assert_eq!(
        split_csa(&ls(), &big, 1472, 0),
        Err(EncodeError::RecordTooLarge {
            len: 28 + 2020,
            max: 1472
        })
    );
}

#[test]
fn sha256_signed_packets_round_trip_and_any_change_is_caught() {
    let key = AuthKey {
        spi: 0xdead_beef,
        algorithm: AuthAlgorithm::HmacSha256,
        key: b"a longer secret for hmac-sha-256".to_vec(),
    };
    let p = Packet {
        common: ls(),
        body: Body::CsuReply {
            records: summaries(3),
        },
        extensions: vec![Extension::VendorPrivate {
            vendor_id: 0x00_a03e,
            data: vec![1, 2, 3],
        }],
    };
    let b = encode(&p, Some(&key)).unwrap();
    assert_eq!(b.len(), 28 + 60 + (4 + 4 + 32) + (4 + 6) + 4);
    let d = decode(&b).unwrap();
    let lookup = |spi: u32| (spi == key.spi).then(|| key.clone());
    assert_eq!(verify_auth(&b, &d, lookup), Ok(()));
    // Every single byte changed: refused by the checksum as it is, and by the MAC (or the
    // decoder) once the checksum is recomputed.
    for i in 0..b.len() {
        for flip in [0x01, 0x80, 0xff] {
            let mut c = b.clone();
            c[i] ^= flip;
            assert!(
                decode(&c).is_err(),
                "byte {i} ^ {flip:#x} passed the checksum"
            );
            let c = fix(c);
            if c == b {
                continue; // a change to Packet Size or Checksum, which fix() undid
            }
            if let Ok(d) = decode(&c) {
                assert!(
                    verify_auth(&c, &d, lookup).is_err(),
                    "byte {i} ^ {flip:#x} passed authentication"
                );
            }
        }
    }
}
