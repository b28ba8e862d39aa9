//! One test per `DecodeError` variant, each on a minimal bad packet, plus the encoder's errors.
//!
//! Packets are built from a valid encoding and then corrupted; `fix` rewrites the Packet Size and
//! the Checksum afterwards so that each test reaches the fault it is about.

use scsp_core::wire::*;

/// Set the Packet Size to the length and recompute the Checksum.
fn fix(mut b: Vec<u8>) -> Vec<u8> {
    let len = u16::try_from(b.len()).unwrap();
    b[2..4].copy_from_slice(&len.to_be_bytes());
    b[4..6].copy_from_slice(&[0, 0]);
    let c = checksum(&b);
    b[4..6].copy_from_slice(&c.to_be_bytes());
    b
}

fn common() -> Common {
    Common {
        protocol_id: 1,
        sgid: 23,
        sender: [10, 0, 0, 1].into(),
        receiver: [10, 0, 0, 2].into(),
    }
}

fn csas(k: u8) -> Csas {
    Csas {
        hops: 1,
        null: false,
        seq: SEQ_FIRST,
        id: RecordId {
            key: [0, 0, 0, k].into(),
            origin: [10, 0, 0, 1].into(),
        },
    }
}

fn packet(body: Body) -> Packet {
    Packet {
        common: common(),
        body,
        extensions: vec![],
    }
}

/// A CSUS with `n` CSAS records: 28 + 20 n bytes, records from offset 28.
fn csus(n: u8) -> Vec<u8> {
    encode(
        &packet(Body::Csus {
            records: (0..n).map(csas).collect(),
        }),
        None,
    )
    .unwrap()
}

/// A CSU Request with one CSA of 3 data bytes: 28 + 23 bytes, the record at offset 28.
fn csu_request() -> Vec<u8> {
    encode(
        &packet(Body::CsuRequest {
            records: vec![Csa {
                summary: csas(1),
                data: Data::from(&[7u8, 8, 9][..]),
            }],
        }),
        None,
    )
    .unwrap()
}

/// An empty CSUS (28 bytes) followed by the given raw extensions part, Start Of Extensions 28.
fn with_extensions(ext: &[u8]) -> Vec<u8> {
    let mut b = csus(0);
    b[6..8].copy_from_slice(&28u16.to_be_bytes());
    b.extend_from_slice(ext);
    fix(b)
}

fn err(b: &[u8]) -> DecodeError {
    decode(b).expect_err("the packet should be refused")
}

#[test]
fn the_base_packets_are_valid() {
    assert!(decode(&csus(2)).is_ok());
    assert!(decode(&csu_request()).is_ok());
    assert!(decode(&with_extensions(&[0, 0, 0, 0])).is_ok());
}

#[test]
fn too_short() {
    assert_eq!(err(&[]), DecodeError::TooShort { len: 0 });
    assert_eq!(err(&csus(0)[..7]), DecodeError::TooShort { len: 7 });
}

#[test]
fn bad_version() {
    let mut b = csus(0);
    b[0] = 2;
    assert_eq!(err(&fix(b)), DecodeError::BadVersion(2));
}

#[test]
fn unknown_type() {
    for t in [0, 6, 255] {
        let mut b = csus(0);
        b[1] = t;
        assert_eq!(err(&fix(b)), DecodeError::UnknownType(t));
    }
}

#[test]
fn size_mismatch() {
    let mut b = csus(0);
    b.extend_from_slice(&[0; 12]);
    assert_eq!(err(&b), DecodeError::SizeMismatch { field: 28, len: 40 });
    assert_eq!(
        err(&b).to_string(),
        "packet size field says 28 bytes but 40 were received"
    );
    assert_eq!(
        err(&csus(1)[..40]),
        DecodeError::SizeMismatch { field: 48, len: 40 }
    );
}

#[test]
fn bad_checksum() {
    let good = csus(1);
    let field = u16::from_be_bytes([good[4], good[5]]);
    // A bit flipped in a record: the field is as sent, the computed value differs.
    let mut b = good.clone();
    b[40] ^= 0x01;
    match err(&b) {
        DecodeError::BadChecksum { field: f, computed } => {
            assert_eq!(f, field);
            assert_ne!(computed, field);
        }
        e => panic!("{e}"),
    }
    // A corrupted checksum field.
    let mut b = good;
    b[5] ^= 0x80;
    assert_eq!(
        err(&b),
        DecodeError::BadChecksum {
            field: field ^ 0x80,
            computed: field
        }
    );
}

#[test]
fn truncated_mandatory() {
    // A CSUS of 20 bytes: the common part needs 8 + 12.
    assert_eq!(
        err(&fix(csus(0)[..19].to_vec())),
        DecodeError::TruncatedMandatory {
            kind: MessageType::Csus,
            needed: 20,
            len: 19
        }
    );
    // A CA needs its 4-byte sequence number too; a Hello its 8 bytes.
    let ca = encode(
        &packet(Body::Ca {
            seq: 1,
            m: false,
            i: false,
            o: false,
            records: vec![],
        }),
        None,
    )
    .unwrap();
    assert_eq!(
        err(&fix(ca[..10].to_vec())),
        DecodeError::TruncatedMandatory {
            kind: MessageType::Ca,
            needed: 24,
            len: 10
        }
    );
}

#[test]
fn truncated_id() {
    // Sender ID Len 4, cut after 2 bytes of it.
    assert_eq!(
        err(&fix(csus(0)[..22].to_vec())),
        DecodeError::TruncatedId {
            which: IdField::Sender,
            offset: 20,
            id_len: 4,
            len: 22
        }
    );
    // Recvr ID Len raised to 9.
    let mut b = csus(0);
    b[17] = 9;
    assert_eq!(
        err(&fix(b)),
        DecodeError::TruncatedId {
            which: IdField::Receiver,
            offset: 24,
            id_len: 9,
            len: 28
        }
    );
}

#[test]
fn extensions_beyond_packet() {
    let mut b = with_extensions(&[0, 0, 0, 0]);
    b[6..8].copy_from_slice(&33u16.to_be_bytes());
    assert_eq!(
        err(&fix(b)),
        DecodeError::ExtensionsBeyondPacket {
            offset: 33,
            len: 32
        }
    );
}

#[test]
fn extensions_inside_mandatory() {
    for soe in [1u16, 8, 27] {
        let mut b = with_extensions(&[0, 0, 0, 0]);
        b[6..8].copy_from_slice(&soe.to_be_bytes());
        assert_eq!(
            err(&fix(b)),
            DecodeError::ExtensionsInsideMandatory {
                offset: soe,
                records_start: 28
            }
        );
    }
}

#[test]
fn missing_records() {
    // Count 3, two records present.
    let mut b = csus(2);
    b[19] = 3;
    assert_eq!(
        err(&fix(b)),
        DecodeError::MissingRecords {
            count: 3,
            found: 2,
            offset: 68
        }
    );
    // A Hello counting an additional receiver it does not have.
    let mut h = encode(
        &packet(Body::Hello {
            interval: 3,
            dead_factor: 3,
            family_id: 0,
            additional: vec![],
        }),
        None,
    )
    .unwrap();
    h[27] = 1;
    assert_eq!(
        err(&fix(h)),
        DecodeError::MissingRecords {
            count: 1,
            found: 0,
            offset: 36
        }
    );
}

#[test]
fn truncated_record_header() {
    // Count 2, but only 5 bytes of the second record.
    let b = csus(2)[..53].to_vec();
    assert_eq!(
        err(&fix(b)),
        DecodeError::TruncatedRecordHeader {
            index: 1,
            offset: 48,
            available: 5
        }
    );
}

#[test]
fn csas_length() {
    // Record 1's Record Length 20 -> 24 (and 4 more bytes so it would fit).
    let mut b = csus(2);
    b[48 + 3] = 24;
    b.extend_from_slice(&[0; 4]);
    assert_eq!(
        err(&fix(b)),
        DecodeError::CsasLength {
            index: 1,
            offset: 48,
            field: 24,
            expected: 20
        }
    );
    // Too small is refused too.
    let mut b = csus(1);
    b[28 + 3] = 19;
    assert!(matches!(
        err(&fix(b)),
        DecodeError::CsasLength { field: 19, .. }
    ));
}

#[test]
fn csa_length() {
    // Record Length 23 -> 19, less than its 20-byte summary.
    let mut b = csu_request();
    b[28 + 3] = 19;
    assert_eq!(
        err(&fix(b)),
        DecodeError::CsaLength {
            index: 0,
            offset: 28,
            field: 19,
            min: 20
        }
    );
}

#[test]
fn record_overrun() {
    // CSA Record Length 23 -> 30: runs past the end of the packet at 51.
    let mut b = csu_request();
    b[28 + 3] = 30;
    assert_eq!(
        err(&fix(b)),
        DecodeError::RecordOverrun {
            index: 0,
            offset: 28,
            record_len: 30,
            end: 51
        }
    );
    // CSAS whose key length makes it run past the end (the Record Length agrees).
    let mut b = csus(1);
    b[28 + 3] = 30;
    b[28 + 4] = 14;
    assert_eq!(
        err(&fix(b)),
        DecodeError::RecordOverrun {
            index: 0,
            offset: 28,
            record_len: 30,
            end: 48
        }
    );
    // A record that runs into the extensions: the mandatory part ends at Start Of Extensions.
    let mut b = csu_request();
    b[6..8].copy_from_slice(&51u16.to_be_bytes());
    b[28 + 3] = 25; // 2 bytes into the End extension
    b.extend_from_slice(&[0, 0, 0, 0]);
    assert_eq!(
        err(&fix(b)),
        DecodeError::RecordOverrun {
            index: 0,
            offset: 28,
            record_len: 25,
            end: 51
        }
    );
    // A Hello's additional receiver whose own length byte runs past the end.
    let h = encode(
        &packet(Body::Hello {
            interval: 3,
            dead_factor: 3,
            family_id: 0,
            additional: vec![[10, 0, 0, 3].into()],
        }),
        None,
    )
    .unwrap();
    let mut b = h.clone();
    b[36] = 5;
    assert_eq!(
        err(&fix(b)),
        DecodeError::RecordOverrun {
            index: 0,
            offset: 36,
            record_len: 6,
            end: 41
        }
    );
}

#[test]
fn trailing_bytes() {
    // After the records, before the end of the packet.
    let mut b = csus(1);
    b.extend_from_slice(&[0; 3]);
    let e = err(&fix(b));
    assert_eq!(
        e,
        DecodeError::TrailingBytes {
            offset: 48,
            end: 51,
            before_extensions: false
        }
    );
    assert_eq!(
        e.to_string(),
        "3 unexplained bytes after the last record, from offset 48 to the end of the packet at offset 51"
    );
    // Before the start of the extensions: Start Of Extensions 2 bytes too far.
    let mut b = csus(0);
    b[6..8].copy_from_slice(&30u16.to_be_bytes());
    b.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    assert_eq!(
        err(&fix(b)),
        DecodeError::TrailingBytes {
            offset: 28,
            end: 30,
            before_extensions: true
        }
    );
    // HARP's Hello layout (additional receiver IDs without a length byte) is refused: here
    // a count of 1 and a bare 4-byte ID reads as a 10-byte record.
    let mut h = encode(
        &packet(Body::Hello {
            interval: 3,
            dead_factor: 3,
            family_id: 0,
            additional: vec![],
        }),
        None,
    )
    .unwrap();
    h[27] = 1;
    h.extend_from_slice(&[1, 0, 0, 3]);
    assert_eq!(
        err(&fix(h)),
        DecodeError::TrailingBytes {
            offset: 38,
            end: 40,
            before_extensions: false
        }
    );
}

#[test]
fn truncated_extension() {
    assert_eq!(
        err(&with_extensions(&[0, 0, 0])),
        DecodeError::TruncatedExtension {
            offset: 28,
            available: 3
        }
    );
}

#[test]
fn extension_overrun() {
    assert_eq!(
        err(&with_extensions(&[0x12, 0x34, 0, 9, 1, 2, 0, 0, 0, 0])),
        DecodeError::ExtensionOverrun {
            kind: 0x1234,
            offset: 28,
            value_len: 9,
            len: 38
        }
    );
}

#[test]
fn missing_end() {
    // Start Of Extensions = end of packet: extensions announced but none there.
    assert_eq!(
        err(&with_extensions(&[])),
        DecodeError::MissingEnd { offset: 28 }
    );
    // An extension, then nothing.
    assert_eq!(
        err(&with_extensions(&[0x12, 0x34, 0, 2, 1, 2])),
        DecodeError::MissingEnd { offset: 34 }
    );
}

#[test]
fn end_length() {
    assert_eq!(
        err(&with_extensions(&[0, 0, 0, 2, 0, 0])),
        DecodeError::EndLength {
            offset: 28,
            value_len: 2
        }
    );
}

#[test]
fn bytes_after_end() {
    assert_eq!(
        err(&with_extensions(&[0, 0, 0, 0, 0xff])),
        DecodeError::BytesAfterEnd {
            offset: 32,
            len: 33
        }
    );
}

#[test]
fn duplicate_extension() {
    let auth = [0, 1, 0, 4, 0, 0, 0, 9];
    let mut ext = [auth, auth].concat();
    ext.extend_from_slice(&[0, 0, 0, 0]);
    assert_eq!(
        err(&with_extensions(&ext)),
        DecodeError::DuplicateExtension {
            kind: 1,
            first: 28,
            offset: 36
        }
    );
    // An unknown type twice, with something between.
    let ext = [
        0x12, 0x34, 0, 0, //
        0, 2, 0, 3, 0, 0, 1, //
        0x12, 0x34, 0, 1, 9, //
        0, 0, 0, 0,
    ];
    assert_eq!(
        err(&with_extensions(&ext)),
        DecodeError::DuplicateExtension {
            kind: 0x1234,
            first: 28,
            offset: 39
        }
    );
}

#[test]
fn duplicate_vendor() {
    let ext = [
        0, 2, 0, 4, 0x00, 0xa0, 0x3e, 1, // vendor 0x00a03e
        0, 2, 0, 3, 0x00, 0xa0, 0x3f, // vendor 0x00a03f: fine
        0, 2, 0, 3, 0x00, 0xa0, 0x3e, // vendor 0x00a03e again
        0, 0, 0, 0,
    ];
    assert_eq!(
        err(&with_extensions(&ext)),
        DecodeError::DuplicateVendor {
            vendor_id: 0xa03e,
            first: 28,
            offset: 43
        }
    );
}

#[test]
fn auth_too_short() {
    assert_eq!(
        err(&with_extensions(&[0, 1, 0, 3, 0, 0, 1, 0, 0, 0, 0])),
        DecodeError::AuthTooShort {
            offset: 28,
            value_len: 3
        }
    );
    // Exactly an SPI and no MAC is well-formed (verify_auth then refuses its length).
    assert!(decode(&with_extensions(&[0, 1, 0, 4, 0, 0, 0, 1, 0, 0, 0, 0])).is_ok());
}

#[test]
fn vendor_private_too_short() {
    assert_eq!(
        err(&with_extensions(&[0, 2, 0, 2, 0, 1, 0, 0, 0, 0])),
        DecodeError::VendorPrivateTooShort {
            offset: 28,
            value_len: 2
        }
    );
    // A Vendor ID and no data is well-formed.
    assert!(decode(&with_extensions(&[0, 2, 0, 3, 0, 0, 1, 0, 0, 0, 0])).is_ok());
}

#[test]
fn messages_are_lowercase_and_specific() {
    let samples = [
        err(&[1, 2, 3]),
        err(&with_extensions(&[0, 0, 0, 0, 0xff])),
        err(&with_extensions(&[0, 2, 0, 2, 0, 1, 0, 0, 0, 0])),
        err(&fix(csus(0)[..19].to_vec())),
    ];
    for e in samples {
        let s = e.to_string();
        assert!(s.starts_with(|c: char| !c.is_uppercase()), "{s}");
        assert!(s.chars().any(|c| c.is_ascii_digit()), "{s}");
    }
}

// ---------------------------------------------------------------------------------------------
// Encoder errors

#[test]
fn encode_too_large() {
    // 28 + 3277 * 20 = 65568 > 65535.
    let p = packet(Body::Csus {
        records: (0..3277).map(|i| csas(i as u8)).collect(),
    });
    assert_eq!(
        encode(&p, None),
        Err(EncodeError::TooLarge {
            len: 65568,
            max: 65535
        })
    );
    // 28 + 3276 * 20 = 65548: still too large; 3275 records = 65528 fits.
    let p = packet(Body::Csus {
        records: (0..3275).map(|i| csas(i as u8)).collect(),
    });
    assert_eq!(encode(&p, None).unwrap().len(), 65528);
    // A single CSA of 65520 data bytes does not fit either.
    let p = packet(Body::CsuRequest {
        records: vec![Csa {
            summary: csas(0),
            data: Data::from(vec![0u8; 65520]),
        }],
    });
    assert!(matches!(
        encode(&p, None),
        Err(EncodeError::TooLarge { len: 65568, .. })
    ));
}

#[test]
fn encode_too_many_records() {
    let p = packet(Body::Hello {
        interval: 3,
        dead_factor: 3,
        family_id: 0,
        additional: vec![Id::default(); 65536],
    });
    assert_eq!(encode(&p, None), Err(EncodeError::TooManyRecords(65536)));
}

#[test]
fn encode_refuses_what_a_receiver_must_refuse() {
    let mut p = packet(Body::Csus { records: vec![] });
    p.extensions = vec![Extension::VendorPrivate {
        vendor_id: 0x0100_0000,
        data: vec![],
    }];
    assert_eq!(
        encode(&p, None),
        Err(EncodeError::VendorIdTooLarge(0x0100_0000))
    );
    for kind in [0, 1, 2] {
        p.extensions = vec![Extension::Unknown {
            kind,
            value: vec![],
        }];
        assert_eq!(
            encode(&p, None),
            Err(EncodeError::ReservedExtensionType(kind))
        );
    }
    p.extensions = vec![
        Extension::VendorPrivate {
            vendor_id: 5,
            data: vec![1],
        },
        Extension::Unknown {
            kind: 9,
            value: vec![],
        },
        Extension::VendorPrivate {
            vendor_id: 5,
            data: vec![2],
        },
    ];
    assert_eq!(
        encode(&p, None),
        Err(EncodeError::DuplicateExtension { kind: 2 })
    );
    p.extensions = vec![
        Extension::Authentication {
            spi: 1,
            mac: vec![],
        },
        Extension::Authentication {
            spi: 2,
            mac: vec![],
        },
    ];
    assert_eq!(
        encode(&p, None),
        Err(EncodeError::DuplicateExtension { kind: 1 })
    );
    // Signing replaces both with one.
    let key = AuthKey {
        spi: 3,
        algorithm: AuthAlgorithm::HmacMd5,
        key: b"k".to_vec(),
    };
    let b = encode(&p, Some(&key)).unwrap();
    let d = decode(&b).unwrap();
    assert!(matches!(
        d.extensions.as_slice(),
        [Extension::Authentication { spi: 3, mac }] if mac.len() == 16
    ));
}
