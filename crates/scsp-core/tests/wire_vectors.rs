//! Byte-exact vectors, checked in both directions: the bytes decode to exactly the struct, and the
//! struct encodes to exactly the bytes.
//!
//! Every vector was written by hand from the field tables of RFC 2334 Appendix B (and, for the
//! ATMARP record, `harp-scspd.md` section 2), one field per line. The Checksum fields (and the MAC
//! of the authenticated vector) are the only values computed by a program: by Python's
//! `socket`-free RFC 1071 code and `hmac` module, run once, independently of this crate:
//!
//! ```python
//! def csum(b):
//!     if len(b) % 2: b = b + b"\0"          # pad at the END (B.1)
//!     s = sum(int.from_bytes(b[i:i+2], "big") for i in range(0, len(b), 2))
//!     while s >> 16: s = (s & 0xffff) + (s >> 16)
//!     return ~s & 0xffff
//! # MAC: hmac.new(key, packet_with_checksum_and_mac_zeroed, "md5").hexdigest()
//! ```
//!
//! In the hex below, `#` starts a comment and whitespace is ignored.

use scsp_core::wire::*;

/// Bytes from commented hex.
fn hex(s: &str) -> Vec<u8> {
    let digits: String = s
        .lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .flat_map(|l| l.chars().filter(|c| !c.is_whitespace()))
        .collect();
    hex::decode(digits).expect("valid hex in a test vector")
}

fn id(b: &[u8]) -> Id {
    Id::new(b).unwrap()
}

/// Check a vector both ways.
fn both_ways(name: &str, bytes: &[u8], packet: &Packet) {
    assert_eq!(checksum(bytes), 0, "{name}: the vector's own checksum");
    assert_eq!(decode(bytes).as_ref(), Ok(packet), "{name}: decode");
    let encoded = encode(packet, None).unwrap();
    assert_eq!(hex::encode(&encoded), hex::encode(bytes), "{name}: encode");
    assert_eq!(
        encoded_len(packet, None),
        bytes.len(),
        "{name}: encoded_len"
    );
}

const LS: [u8; 4] = [10, 0, 0, 1];
const DCS: [u8; 4] = [10, 0, 0, 2];

fn common(sender: [u8; 4], receiver: &[u8]) -> Common {
    Common {
        protocol_id: 1,
        sgid: 23,
        sender: sender.into(),
        receiver: id(receiver),
    }
}

// ---------------------------------------------------------------------------------------------
// Hello (B.2.5)

const EMPTY_HELLO: &str = "
    01          # Version 1
    05          # Type Code 5: Hello
    0024        # Packet Size 36
    e6b1        # Checksum
    0000        # Start Of Extensions: none
    0003        # HelloInterval 3
    0003        # DeadFactor 3
    0000        # unused
    0000        # Family ID 0
    0001        # Protocol ID 1: ATMARP
    0017        # Server Group ID 23
    0000        # unused
    0000        # Flags: none for Hello
    04          # Sender ID Len 4
    04          # Recvr ID Len 4
    0000        # Number of Records 0
    0a000001    # Sender ID 10.0.0.1
    0a000002    # Receiver ID 10.0.0.2
";

fn hello(additional: Vec<Id>) -> Packet {
    Packet {
        common: common(LS, &DCS),
        body: Body::Hello {
            interval: 3,
            dead_factor: 3,
            family_id: 0,
            additional,
        },
        extensions: vec![],
    }
}

#[test]
fn empty_hello_as_harp_sends_it() {
    let bytes = hex(EMPTY_HELLO);
    assert_eq!(bytes.len(), 36);
    both_ways("empty hello", &bytes, &hello(vec![]));
}

const HELLO_THREE_RECEIVERS: &str = "
    01          # Version 1
    05          # Type Code 5: Hello
    0030        # Packet Size 48
    78eb        # Checksum
    0000        # Start Of Extensions: none
    000a        # HelloInterval 10
    0004        # DeadFactor 4
    0000        # unused
    0007        # Family ID 7
    0001        # Protocol ID 1
    0017        # Server Group ID 23
    0000        # unused
    0000        # Flags
    04          # Sender ID Len 4
    04          # Recvr ID Len 4 (the first receiver)
    0002        # Number of Records 2: additional receivers only
    0a000001    # Sender ID 10.0.0.1
    0a000002    # Receiver ID 10.0.0.2
    04          # Additional Receiver ID record 0: Rec ID Len 4
    0a000003    #   Receiver ID 10.0.0.3
    06          # Additional Receiver ID record 1: Rec ID Len 6 (its own length)
    001122334455 #  Receiver ID 00:11:22:33:44:55
";

#[test]
fn hello_with_three_receivers() {
    let bytes = hex(HELLO_THREE_RECEIVERS);
    assert_eq!(bytes.len(), 48);
    let mut p = hello(vec![
        id(&[10, 0, 0, 3]),
        id(&[0x00, 0x11, 0x22, 0x33, 0x44, 0x55]),
    ]);
    p.body = match p.body {
        Body::Hello { additional, .. } => Body::Hello {
            interval: 10,
            dead_factor: 4,
            family_id: 7,
            additional,
        },
        other => other,
    };
    both_ways("hello with three receivers", &bytes, &p);
}

// ---------------------------------------------------------------------------------------------
// Cache Alignment (B.2.1)

const FIRST_CA: &str = "
    01          # Version 1
    01          # Type Code 1: CA
    0020        # Packet Size 32
    7c83        # Checksum
    0000        # Start Of Extensions: none
    5f3a2b01    # CA Sequence Number
    0001        # Protocol ID 1
    0017        # Server Group ID 23
    0000        # unused
    e000        # Flags: M (0x8000) | I (0x4000) | O (0x2000)
    04          # Sender ID Len 4
    04          # Recvr ID Len 4
    0000        # Number of Records 0
    0a000001    # Sender ID 10.0.0.1
    0a000002    # Receiver ID 10.0.0.2
";

#[test]
fn first_ca_with_m_i_o() {
    let bytes = hex(FIRST_CA);
    assert_eq!(bytes.len(), 32);
    let p = Packet {
        common: common(LS, &DCS),
        body: Body::Ca {
            seq: 0x5f3a_2b01,
            m: true,
            i: true,
            o: true,
            records: vec![],
        },
        extensions: vec![],
    };
    both_ways("first ca", &bytes, &p);
}

fn csas(hops: u16, null: bool, seq: u32, key: [u8; 4], origin: [u8; 4]) -> Csas {
    Csas {
        hops,
        null,
        seq,
        id: RecordId {
            key: key.into(),
            origin: origin.into(),
        },
    }
}

const CA_TWO_CSAS: &str = "
    01          # Version 1
    01          # Type Code 1: CA
    0048        # Packet Size 72
    fe6f        # Checksum
    0000        # Start Of Extensions: none
    5f3a2b02    # CA Sequence Number
    0001        # Protocol ID 1
    0017        # Server Group ID 23
    0000        # unused
    2000        # Flags: O only (slave, more to come)
    04          # Sender ID Len 4
    04          # Recvr ID Len 4
    0002        # Number of Records 2
    0a000002    # Sender ID 10.0.0.2
    0a000001    # Receiver ID 10.0.0.1
                # CSAS record 0
    0001        #   Hop Count 1 (stand-alone)
    0014        #   Record Length 20 = 12 + 4 + 4
    04          #   Cache Key Len 4
    04          #   Orig ID Len 4
    0000        #   N 0, unused
    80000001    #   CSA Sequence Number -2^31+1
    deadbeef    #   Cache Key
    0a000002    #   Originator ID 10.0.0.2
                # CSAS record 1
    0001        #   Hop Count 1
    0014        #   Record Length 20
    04          #   Cache Key Len 4
    04          #   Orig ID Len 4
    0000        #   N 0, unused
    00000007    #   CSA Sequence Number 7
    01020304    #   Cache Key
    0a000009    #   Originator ID 10.0.0.9
";

#[test]
fn ca_with_two_csas() {
    let bytes = hex(CA_TWO_CSAS);
    assert_eq!(bytes.len(), 72);
    let p = Packet {
        common: common(DCS, &LS),
        body: Body::Ca {
            seq: 0x5f3a_2b02,
            m: false,
            i: false,
            o: true,
            records: vec![
                csas(1, false, SEQ_FIRST, [0xde, 0xad, 0xbe, 0xef], DCS),
                csas(1, false, 7, [1, 2, 3, 4], [10, 0, 0, 9]),
            ],
        },
        extensions: vec![],
    };
    both_ways("ca with two csas", &bytes, &p);
}

// ---------------------------------------------------------------------------------------------
// CSU Request (B.2.2) with an ATMARP CSA (harp-scspd.md section 2)

const CSU_REQUEST_ATMARP: &str = "
    01          # Version 1
    02          # Type Code 2: CSU Request
    0058        # Packet Size 88 = 8 + 12 + 8 + 60
    965c        # Checksum
    0000        # Start Of Extensions: none
    0001        # Protocol ID 1: ATMARP
    0017        # Server Group ID 23
    0000        # unused
    0000        # Flags: none for CSU Request
    04          # Sender ID Len 4
    04          # Recvr ID Len 4
    0001        # Number of Records 1
    0a000001    # Sender ID 10.0.0.1
    0a000002    # Receiver ID 10.0.0.2
                # CSA record 0, 60 bytes; its CSAS header:
    0003        #   Hop Count 3 (administrative)
    003c        #   Record Length 60 = 12 + 4 + 4 + 40
    04          #   Cache Key Len 4
    04          #   Orig ID Len 4
    0000        #   N 0, unused
    80000001    #   CSA Sequence Number -2^31+1
    c0a80105    #   Cache Key
    0a000001    #   Originator ID 10.0.0.1
                #   ATMARP part, 12 fixed bytes:
    0013        #     hardware type 0x0013 (ATM Forum)
    0800        #     protocol type 0x0800 (IP)
    14          #     source ATM address type/length: NSAP, 20
    00          #     source subaddress type/length: none
    00          #     state 0: new
    00          #     unused
    04          #     source IP length 4
    00          #     target ATM address type/length: none
    00          #     target subaddress type/length: none
    04          #     target IP length 4
                #     then the addresses:
    47 0005 80 ffdc00 0000 0002 0001 002048061de7 00 # source NSAP 47.0005.80.ffdc00.0000.0002.0001.002048061de7.00
    c0a80105    #     source IP 192.168.1.5
    c0a80105    #     target IP = source IP
";

/// The 40-byte ATMARP part of the CSA above.
fn atmarp_part() -> Data {
    let mut d = vec![
        0x00, 0x13, 0x08, 0x00, 0x14, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x04,
    ];
    d.extend_from_slice(&[
        0x47, 0x00, 0x05, 0x80, 0xff, 0xdc, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01, 0x00, 0x20,
        0x48, 0x06, 0x1d, 0xe7, 0x00,
    ]);
    d.extend_from_slice(&[192, 168, 1, 5, 192, 168, 1, 5]);
    Data::from(d)
}

#[test]
fn csu_request_with_one_atmarp_csa() {
    let bytes = hex(CSU_REQUEST_ATMARP);
    assert_eq!(bytes.len(), 88);
    let record = Csa {
        summary: csas(3, false, SEQ_FIRST, [192, 168, 1, 5], LS),
        data: atmarp_part(),
    };
    assert_eq!(record.data.len(), 40);
    assert_eq!(csa_len(&record), 60);
    let p = Packet {
        common: common(LS, &DCS),
        body: Body::CsuRequest {
            records: vec![record],
        },
        extensions: vec![],
    };
    both_ways("csu request", &bytes, &p);
}

// ---------------------------------------------------------------------------------------------
// CSU Reply (B.2.3) and CSUS (B.2.4)

const CSU_REPLY: &str = "
    01          # Version 1
    03          # Type Code 3: CSU Reply
    0044        # Packet Size 68 = 28 + 2 * 20
    729a        # Checksum
    0000        # Start Of Extensions: none
    0001        # Protocol ID 1
    0017        # Server Group ID 23
    0000        # unused
    0000        # Flags
    04          # Sender ID Len 4
    04          # Recvr ID Len 4
    0002        # Number of Records 2
    0a000002    # Sender ID 10.0.0.2
    0a000001    # Receiver ID 10.0.0.1
                # CSAS record 0: acknowledges the CSA of the CSU Request vector
    0001        #   Hop Count 1
    0014        #   Record Length 20
    04          #   Cache Key Len 4
    04          #   Orig ID Len 4
    0000        #   N 0
    80000001    #   CSA Sequence Number
    c0a80105    #   Cache Key
    0a000001    #   Originator ID 10.0.0.1
                # CSAS record 1: a null record (N set)
    0001        #   Hop Count 1
    0014        #   Record Length 20
    04          #   Cache Key Len 4
    04          #   Orig ID Len 4
    8000        #   N 1 (0x8000), unused 0
    7fffffff    #   CSA Sequence Number 2^31-1
    0a0b0c0d    #   Cache Key
    0a000003    #   Originator ID 10.0.0.3
";

#[test]
fn csu_reply_with_a_null_record() {
    let bytes = hex(CSU_REPLY);
    assert_eq!(bytes.len(), 68);
    let p = Packet {
        common: common(DCS, &LS),
        body: Body::CsuReply {
            records: vec![
                csas(1, false, SEQ_FIRST, [192, 168, 1, 5], LS),
                csas(1, true, SEQ_PURGE, [10, 11, 12, 13], [10, 0, 0, 3]),
            ],
        },
        extensions: vec![],
    };
    both_ways("csu reply", &bytes, &p);
}

const CSUS: &str = "
    01          # Version 1
    04          # Type Code 4: CSUS
    0030        # Packet Size 48 = 28 + 20
    d47c        # Checksum
    0000        # Start Of Extensions: none
    0001        # Protocol ID 1
    0017        # Server Group ID 23
    0000        # unused
    0000        # Flags
    04          # Sender ID Len 4
    04          # Recvr ID Len 4
    0001        # Number of Records 1
    0a000001    # Sender ID 10.0.0.1
    0a000002    # Receiver ID 10.0.0.2
                # CSAS record 0: the entry solicited
    0001        #   Hop Count 1
    0014        #   Record Length 20
    04          #   Cache Key Len 4
    04          #   Orig ID Len 4
    0000        #   N 0
    00000007    #   CSA Sequence Number 7
    01020304    #   Cache Key
    0a000009    #   Originator ID 10.0.0.9
";

#[test]
fn csus_with_one_csas() {
    let bytes = hex(CSUS);
    assert_eq!(bytes.len(), 48);
    let p = Packet {
        common: common(LS, &DCS),
        body: Body::Csus {
            records: vec![csas(1, false, 7, [1, 2, 3, 4], [10, 0, 0, 9])],
        },
        extensions: vec![],
    };
    both_ways("csus", &bytes, &p);
}

// ---------------------------------------------------------------------------------------------
// Odd length: the checksum pads at the end (B.1)

const ODD_CSU_REQUEST: &str = "
    01          # Version 1
    02          # Type Code 2: CSU Request
    0035        # Packet Size 53 = 28 + 25 (odd)
    cf92        # Checksum, with the last byte (05) as the HIGH octet of a final word 0500
    0000        # Start Of Extensions: none
    0002        # Protocol ID 2: NHRP
    0001        # Server Group ID 1
    0000        # unused
    0000        # Flags
    04          # Sender ID Len 4
    04          # Recvr ID Len 4
    0001        # Number of Records 1
    0a000001    # Sender ID 10.0.0.1
    0a000002    # Receiver ID 10.0.0.2
                # CSA record 0
    0005        #   Hop Count 5
    0019        #   Record Length 25 = 12 + 4 + 4 + 5
    04          #   Cache Key Len 4
    04          #   Orig ID Len 4
    0000        #   N 0
    00000001    #   CSA Sequence Number 1
    00000001    #   Cache Key
    0a000001    #   Originator ID 10.0.0.1
    0102030405  #   protocol specific part, 5 bytes
";

#[test]
fn odd_length_csu_request() {
    let bytes = hex(ODD_CSU_REQUEST);
    assert_eq!(bytes.len(), 53);
    let p = Packet {
        common: Common {
            protocol_id: 2,
            sgid: 1,
            sender: LS.into(),
            receiver: DCS.into(),
        },
        body: Body::CsuRequest {
            records: vec![Csa {
                summary: csas(5, false, 1, [0, 0, 0, 1], LS),
                data: Data::from(&[1u8, 2, 3, 4, 5][..]),
            }],
        },
        extensions: vec![],
    };
    both_ways("odd csu request", &bytes, &p);
    // HARP's reading (odd byte as the low octet) gives a different checksum, which we refuse.
    let mut harp = bytes.clone();
    let harp_sum = {
        let mut b = harp.clone();
        b[4] = 0;
        b[5] = 0;
        let last = b.pop().unwrap();
        b.extend_from_slice(&[0, last]);
        checksum(&b)
    };
    harp[4..6].copy_from_slice(&harp_sum.to_be_bytes());
    assert!(matches!(
        decode(&harp),
        Err(DecodeError::BadChecksum {
            field,
            computed: 0xcf92
        }) if field == harp_sum
    ));
}

// ---------------------------------------------------------------------------------------------
// Extensions (B.3): Authentication (B.3.1) and Vendor-Private (B.3.2)

/// The key of the authenticated vector: HMAC-MD5, SPI 256, key "scsp-test-key".
fn md5_key() -> AuthKey {
    AuthKey {
        spi: 0x0000_0100,
        algorithm: AuthAlgorithm::HmacMd5,
        key: b"scsp-test-key".to_vec(),
    }
}

const SIGNED_HELLO: &str = "
    01          # Version 1
    05          # Type Code 5: Hello
    004a        # Packet Size 74 = 36 + 24 + 10 + 4
    ee25        # Checksum (computed after the MAC was inserted)
    0024        # Start Of Extensions 36: the end of the mandatory part
    0003        # HelloInterval 3
    0003        # DeadFactor 3
    0000        # unused
    0000        # Family ID 0
    0001        # Protocol ID 1
    0017        # Server Group ID 23
    0000        # unused
    0000        # Flags
    04          # Sender ID Len 4
    04          # Recvr ID Len 4
    0000        # Number of Records 0
    0a000001    # Sender ID 10.0.0.1
    0a000002    # Receiver ID 10.0.0.2
    0001        # Extension Type 1: Authentication (first)
    0014        #   Length 20 = 4 + 16
    00000100    #   SPI 256
    # MAC: hmac.new(b'scsp-test-key', <these 74 bytes with checksum and MAC zero>, 'md5')
    4a267218c3b71c628ce119b6940fe1ff
    0002        # Extension Type 2: Vendor-Private
    0006        #   Length 6 = 3 + 3
    00a03e      #   Vendor ID 0x00a03e
    cafeba      #   data
    0000        # Extension Type 0: End
    0000        #   Length 0
";

#[test]
fn signed_hello_with_vendor_private() {
    let bytes = hex(SIGNED_HELLO);
    assert_eq!(bytes.len(), 74);
    let vendor = Extension::VendorPrivate {
        vendor_id: 0x00_a03e,
        data: vec![0xca, 0xfe, 0xba],
    };
    let mut unsigned = hello(vec![]);
    unsigned.extensions = vec![vendor.clone()];
    // Encoding with the key puts the Authentication extension first and signs.
    let signed = encode(&unsigned, Some(&md5_key())).unwrap();
    assert_eq!(hex::encode(&signed), hex::encode(&bytes));
    assert_eq!(encoded_len(&unsigned, Some(&md5_key())), 74);
    // Decoding gives the extensions in order, with the MAC as received.
    let decoded = decode(&bytes).unwrap();
    let mut expected = hello(vec![]);
    expected.extensions = vec![
        Extension::Authentication {
            spi: 0x100,
            mac: hex("4a267218c3b71c628ce119b6940fe1ff"),
        },
        vendor,
    ];
    assert_eq!(decoded, expected);
    // And that decoded packet encodes back to the same bytes without the key.
    assert_eq!(encode(&decoded, None).unwrap(), bytes);
    // Re-signing the decoded packet replaces its Authentication extension: same bytes.
    assert_eq!(encode(&decoded, Some(&md5_key())).unwrap(), bytes);
    // The MAC verifies.
    let lookup = |spi| (spi == 0x100).then(md5_key);
    assert_eq!(verify_auth(&bytes, &decoded, lookup), Ok(()));
    assert_eq!(auth_overhead(Some(&md5_key())), 28);
    assert_eq!(auth_overhead(None), 0);
}

#[test]
fn auth_errors() {
    let bytes = hex(SIGNED_HELLO);
    let packet = decode(&bytes).unwrap();
    // Unknown SPI.
    assert_eq!(
        verify_auth(&bytes, &packet, |_| None),
        Err(AuthError::UnknownSpi(0x100))
    );
    // Wrong key.
    let wrong = |_| {
        Some(AuthKey {
            key: b"another key".to_vec(),
            ..md5_key()
        })
    };
    assert_eq!(
        verify_auth(&bytes, &packet, wrong),
        Err(AuthError::BadMac { spi: 0x100 })
    );
    // SPI mapped to an algorithm with a longer MAC.
    let sha = |_| {
        Some(AuthKey {
            algorithm: AuthAlgorithm::HmacSha256,
            ..md5_key()
        })
    };
    assert_eq!(
        verify_auth(&bytes, &packet, sha),
        Err(AuthError::MacLength {
            spi: 0x100,
            expected: 32,
            found: 16
        })
    );
    // No Authentication extension.
    let plain = hex(EMPTY_HELLO);
    assert_eq!(
        verify_auth(&plain, &decode(&plain).unwrap(), |_| Some(md5_key())),
        Err(AuthError::Missing)
    );
    // Bytes that are not the packet's.
    assert_eq!(
        verify_auth(&plain, &packet, |_| Some(md5_key())),
        Err(AuthError::Inconsistent)
    );
}

/// An Unknown extension, and the Vendor-Private extension repeated with different Vendor IDs.
const UNKNOWN_AND_TWO_VENDORS: &str = "
    01          # Version 1
    04          # Type Code 4: CSUS
    0039        # Packet Size 57 = 28 + 9 + 9 + 7 + 4
    2169        # Checksum
    001c        # Start Of Extensions 28
    0001        # Protocol ID 1
    0017        # Server Group ID 23
    0000        # unused
    0000        # Flags
    04          # Sender ID Len 4
    04          # Recvr ID Len 4
    0000        # Number of Records 0
    0a000001    # Sender ID 10.0.0.1
    0a000002    # Receiver ID 10.0.0.2
    0002        # Extension Type 2: Vendor-Private
    0005        #   Length 5
    00000c      #   Vendor ID 0x00000c
    0102        #   data
    0002        # Extension Type 2: Vendor-Private, another vendor
    0005        #   Length 5
    00000d      #   Vendor ID 0x00000d
    0304        #   data
    1234        # Extension Type 0x1234: unknown
    0003        #   Length 3
    abcdef      #   value
    0000        # End
    0000        #   Length 0
";

#[test]
fn unknown_extension_and_vendor_private_twice() {
    let bytes = hex(UNKNOWN_AND_TWO_VENDORS);
    assert_eq!(bytes.len(), 57);
    let p = Packet {
        common: common(LS, &DCS),
        body: Body::Csus { records: vec![] },
        extensions: vec![
            Extension::VendorPrivate {
                vendor_id: 0x0c,
                data: vec![1, 2],
            },
            Extension::VendorPrivate {
                vendor_id: 0x0d,
                data: vec![3, 4],
            },
            Extension::Unknown {
                kind: 0x1234,
                value: vec![0xab, 0xcd, 0xef],
            },
        ],
    };
    both_ways("unknown and two vendors", &bytes, &p);
}

// ---------------------------------------------------------------------------------------------
// Flags and unused fields: ignored on receipt (rfc2334-readings.md #18), sent as zero.

/// Set bits in `bytes[range]` (an unused field or unused flag bits), fix the checksum, and
/// check the packet still decodes to `expected`.
fn with_bits(bytes: &[u8], at: usize, bits: &[u8]) -> Vec<u8> {
    let mut b = bytes.to_vec();
    for (i, v) in bits.iter().enumerate() {
        b[at + i] |= v;
    }
    b[4] = 0;
    b[5] = 0;
    let c = checksum(&b);
    b[4..6].copy_from_slice(&c.to_be_bytes());
    b
}

#[test]
fn unused_fields_and_flags_are_ignored_on_receipt() {
    // CA: unused common field (offset 16), and the 13 unused flag bits (offset 18).
    let ca = hex(FIRST_CA);
    let want = decode(&ca).unwrap();
    assert_eq!(decode(&with_bits(&ca, 16, &[0xff, 0xff])), Ok(want.clone()));
    assert_eq!(decode(&with_bits(&ca, 18, &[0x1f, 0xff])), Ok(want.clone()));
    // Hello: the unused field (offset 12) and the flags (offset 22).
    let h = hex(EMPTY_HELLO);
    let want = decode(&h).unwrap();
    assert_eq!(decode(&with_bits(&h, 12, &[0xab, 0xcd])), Ok(want.clone()));
    assert_eq!(decode(&with_bits(&h, 22, &[0xe0, 0x01])), Ok(want));
    // CSUS: flags (offset 14), and the 15 unused bits beside N in a CSAS (offset 28 + 6).
    let s = hex(CSUS);
    let want = decode(&s).unwrap();
    assert_eq!(decode(&with_bits(&s, 14, &[0xff, 0xff])), Ok(want.clone()));
    assert_eq!(decode(&with_bits(&s, 34, &[0x7f, 0xff])), Ok(want));
    // ... and they are sent as zero.
    assert_eq!(
        encode(&decode(&with_bits(&ca, 18, &[0x1f, 0xff])).unwrap(), None).unwrap(),
        ca
    );
}

#[test]
fn zero_length_ids_and_keys_are_accepted() {
    // A Hello that has heard nobody: Recvr ID Len 0 (B.2.5); a CSAS with an empty key and
    // originator; an empty additional receiver.
    for p in [
        Packet {
            common: common(LS, &[]),
            body: Body::Hello {
                interval: 3,
                dead_factor: 3,
                family_id: 0,
                additional: vec![Id::default()],
            },
            extensions: vec![],
        },
        Packet {
            common: Common {
                protocol_id: 1,
                sgid: 1,
                sender: Id::default(),
                receiver: Id::default(),
            },
            body: Body::Csus {
                records: vec![Csas {
                    hops: 1,
                    null: false,
                    seq: 1,
                    id: RecordId {
                        key: Id::default(),
                        origin: Id::default(),
                    },
                }],
            },
            extensions: vec![],
        },
    ] {
        let b = encode(&p, None).unwrap();
        assert_eq!(decode(&b), Ok(p));
    }
}

#[test]
fn overhead_matches_the_encoder() {
    let c = common(LS, &DCS);
    assert_eq!(overhead(&c, MessageType::Hello), 36);
    assert_eq!(overhead(&c, MessageType::Ca), 32);
    assert_eq!(overhead(&c, MessageType::CsuRequest), 28);
    assert_eq!(overhead(&c, MessageType::CsuReply), 28);
    assert_eq!(overhead(&c, MessageType::Csus), 28);
    let sha = AuthKey {
        spi: 1,
        algorithm: AuthAlgorithm::HmacSha256,
        key: vec![1; 40],
    };
    assert_eq!(auth_overhead(Some(&sha)), 4 + 4 + 32 + 4);
    let p = Packet {
        common: c,
        body: Body::Csus { records: vec![] },
        extensions: vec![],
    };
    assert_eq!(encode(&p, Some(&sha)).unwrap().len(), 28 + 44);
}
