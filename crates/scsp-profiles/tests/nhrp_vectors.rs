//! Byte-exact NHRP records (RFC 2335 §3), written by hand from the RFC's field table, one line per
//! field, and checked both ways: octets → record and record → octets.

use scsp_profiles::nhrp::{NbmaAddr, ProtoAddr, Record, Snap, State};

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    hex::decode(s).unwrap()
}

const ATM_NSAP: &str = "47 0005 80ffe1000000f21a26d8 0020481a26d8 00";

/// An IPv4 client on ATM (NSAP address), registered, Uniqueness bit set.
fn v1() -> (Vec<u8>, Record) {
    let bytes = hex(concat!(
        "000f ",                                     // Address Family Number: 15 (ATM)
        "0800 ",                                     // NHRP Protocol Type: IPv4
        "0000000000 ",                               // Snap: 0 (short form)
        "01 ",                                       // NHRP Vers Num: 1
        "8000 ",                                     // Flags: U (bit 0)
        "00000007 ",                                 // Request ID: 7
        "00 ",                                       // State: 0, registered
        "ff ",                                       // Prefix Length: 0xFF, as U requires
        "0000 ",                                     // unused
        "23dc ",                                     // MTU: 9180
        "1c20 ",                                     // Holding Time: 7200 s
        "14 ",                                       // Cli Addr T/L: NSAP, 20 octets
        "00 ",                                       // Cli SAddr T/L: none
        "04 ",                                       // Cli Proto Len: 4
        "00 ",                                       // Preference: 0
        "47000580ffe1000000f21a26d80020481a26d800 ", // Client NBMA Address (no subaddress)
        "0a000001",                                  // Client Protocol Address: 10.0.0.1
    ));
    let r = Record {
        afn: 15,
        protocol_type: 0x0800,
        snap: Snap::default(),
        version: 1,
        unique: true,
        atmarp: false,
        unused_flags: 0,
        request_id: 7,
        state: State::Registered,
        prefix_length: 0xff,
        unused: 0,
        mtu: 9180,
        holding_time: 7200,
        nbma_address: NbmaAddr::nsap(hex(ATM_NSAP)),
        nbma_subaddress: NbmaAddr::null(),
        protocol_address: ProtoAddr(vec![10, 0, 0, 1]),
        preference: 0,
    };
    (bytes, r)
}

/// A purged client with an E.164 address and an NSAP subaddress, A bit set, a /24 prefix.
fn v2() -> (Vec<u8>, Record) {
    let bytes = hex(concat!(
        "000f ",                                     // Address Family Number: 15 (ATM)
        "0800 ",                                     // NHRP Protocol Type: IPv4
        "0000000000 ",                               // Snap: 0
        "01 ",                                       // NHRP Vers Num: 1
        "4000 ",                                     // Flags: A (bit 1)
        "0000012c ",                                 // Request ID: 300
        "02 ",                                       // State: 2, purged
        "18 ",                                       // Prefix Length: 24
        "0000 ",                                     // unused
        "0000 ",                                     // MTU: 0 (as in a Purge Request's CIE)
        "0000 ",                                     // Holding Time: 0
        "4b ",                                       // Cli Addr T/L: E.164, 11 octets
        "14 ",                                       // Cli SAddr T/L: NSAP, 20 octets
        "04 ",                                       // Cli Proto Len: 4
        "00 ",                                       // Preference: 0
        "3135353531323334353637 ",                   // Client NBMA Address: IA5 "15551234567"
        "47000580ffe1000000f21a26d80020481a26d801 ", // Client NBMA Subaddress
        "c0000200",                                  // Client Protocol Address: 192.0.2.0
    ));
    let r = Record {
        afn: 15,
        protocol_type: 0x0800,
        snap: Snap::default(),
        version: 1,
        unique: false,
        atmarp: true,
        unused_flags: 0,
        request_id: 300,
        state: State::Purged,
        prefix_length: 24,
        unused: 0,
        mtu: 0,
        holding_time: 0,
        nbma_address: NbmaAddr {
            e164: true,
            octets: b"15551234567".to_vec(),
        },
        nbma_subaddress: NbmaAddr::nsap(hex("47000580ffe1000000f21a26d80020481a26d801")),
        protocol_address: ProtoAddr(vec![192, 0, 2, 0]),
        preference: 0,
    };
    (bytes, r)
}

/// An IPv6 client over an IPv4 NBMA network (NHRP over GRE), re-registered.
fn v3() -> (Vec<u8>, Record) {
    let bytes = hex(concat!(
        "0001 ",                            // Address Family Number: 1, IPv4 NBMA
        "86dd ",                            // NHRP Protocol Type: IPv6
        "0000000000 ",                      // Snap: 0
        "01 ",                              // NHRP Vers Num: 1
        "0000 ",                            // Flags: none
        "7ffffffe ",                        // Request ID: 2^31-2
        "01 ",                              // State: 1, re-registered
        "40 ",                              // Prefix Length: 64
        "0000 ",                            // unused
        "0578 ",                            // MTU: 1400
        "0258 ",                            // Holding Time: 600 s
        "04 ",                              // Cli Addr T/L: native, 4 octets
        "00 ",                              // Cli SAddr T/L: none
        "10 ",                              // Cli Proto Len: 16
        "ff ",                              // Preference: 255
        "c0000201 ",                        // Client NBMA Address: 192.0.2.1
        "20010db8000000000000000000000001", // Client Protocol Address: 2001:db8::1
    ));
    let r = Record {
        afn: 1,
        protocol_type: 0x86dd,
        snap: Snap::default(),
        version: 1,
        unique: false,
        atmarp: false,
        unused_flags: 0,
        request_id: 0x7fff_fffe,
        state: State::Reregistered,
        prefix_length: 64,
        unused: 0,
        mtu: 1400,
        holding_time: 600,
        nbma_address: NbmaAddr::nsap(vec![192, 0, 2, 1]),
        nbma_subaddress: NbmaAddr::null(),
        protocol_address: ProtoAddr(
            "2001:db8::1"
                .parse::<std::net::Ipv6Addr>()
                .unwrap()
                .octets()
                .to_vec(),
        ),
        preference: 255,
    };
    (bytes, r)
}

#[test]
fn vectors_decode_and_encode() {
    for (i, (bytes, rec)) in [v1(), v2(), v3()].into_iter().enumerate() {
        assert_eq!(
            Record::decode(&bytes).as_ref(),
            Ok(&rec),
            "vector {}",
            i + 1
        );
        assert_eq!(rec.encode().unwrap(), bytes, "vector {}", i + 1);
    }
    assert_eq!(v1().0.len(), 28 + 20 + 4);
    assert_eq!(v2().0.len(), 28 + 11 + 20 + 4);
    assert_eq!(v3().0.len(), 28 + 4 + 16);
}

#[test]
fn vector_keys_are_the_protocol_address() {
    assert_eq!(v1().1.key().unwrap(), hex("0a000001"));
    assert_eq!(v2().1.key().unwrap(), hex("c0000200"));
    assert_eq!(
        v3().1.key().unwrap(),
        hex("20010db8000000000000000000000001")
    );
}

#[test]
fn vector_json() {
    let v = serde_json::to_value(v1().1).unwrap();
    assert_eq!(
        v,
        serde_json::json!({
            "afn": 15, "protocol_type": 2048, "snap": "0000000000", "version": 1,
            "unique": true, "atmarp": false, "request_id": 7, "state": "registered",
            "prefix_length": 255, "mtu": 9180, "holding_time": 7200,
            "nbma_address": "47.0005.80.ffe100.0000.f21a.26d8.0020481a26d8.00",
            "nbma_subaddress": "", "protocol_address": "10.0.0.1", "preference": 0
        })
    );
    let v = serde_json::to_value(v2().1).unwrap();
    assert_eq!(v["nbma_address"], "15551234567");
    assert_eq!(v["state"], "purged");
    let v = serde_json::to_value(v3().1).unwrap();
    assert_eq!(v["protocol_address"], "2001:db8::1");
    assert_eq!(v["nbma_address"], "192.0.2.1");
}

/// Unused fields are kept, so that a record re-encodes to its octets exactly.
#[test]
fn unused_fields_survive() {
    let (mut bytes, mut rec) = v1();
    bytes[10] |= 0x01; // an unused flag bit
    bytes[18] = 0xab; // the unused octets after Prefix Length
    rec.unused_flags = 0x0100;
    rec.unused = 0xab00;
    assert_eq!(Record::decode(&bytes), Ok(rec.clone()));
    assert_eq!(rec.encode().unwrap(), bytes);
    let v = serde_json::to_value(&rec).unwrap();
    assert_eq!(v["unused_flags"], 0x0100);
    assert_eq!(serde_json::from_value::<Record>(v).unwrap(), rec);
}

#[test]
fn malformed_records_are_refused() {
    let (good, _) = v1();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", vec![]),
        ("fixed part cut", good[..27].to_vec()),
        ("address cut", good[..good.len() - 1].to_vec()),
        ("trailing octet", [good.clone(), vec![0]].concat()),
        ("version 2", {
            let mut b = good.clone();
            b[9] = 2;
            b
        }),
        ("state 4", {
            let mut b = good.clone();
            b[16] = 4;
            b
        }),
        ("reserved bit of Cli Addr T/L", {
            let mut b = good.clone();
            b[24] |= 0x80;
            b
        }),
        ("Cli Proto Len past the end", {
            let mut b = good.clone();
            b[26] = 5;
            b
        }),
    ];
    for (what, b) in cases {
        assert!(Record::decode(&b).is_err(), "{what} accepted");
    }
}
