//! Byte-exact MARS records (RFC 2443 §3, §5), written by hand from the RFC's field tables, one
//! line per field, and checked both ways: octets → record and record → octets.

use scsp_profiles::mars::{Record, State};
use scsp_profiles::nhrp::{NbmaAddr, ProtoAddr};

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    hex::decode(s).unwrap()
}

const ATM: &str = "47000580ffe1000000f21a26d80020481a26d800";

/// A MARS Server Redirect Entry (§5.1).
fn redirect() -> (Vec<u8>, Record, Vec<u8>) {
    let bytes = hex(concat!(
        "000f ",                                    // Hardware Type: 15, ATM Forum
        "0800 ",                                    // Protocol Type: IPv4
        "0000000000 ",                              // SNAP: 0
        "00 ",                                      // Unused
        "00 ",                                      // Version: 0
        "01 ",                                      // State: 1, Server Redirect Entry
        "0000 ",                                    // Flags: unused, zero
        "0000 ",                                    // Cluster Member ID: unused, zero
        "00 ",                                      // Src Addr Len: 0
        "00 ",                                      // Group Addr Len: 0
        "14 ",                                      // ATM Addr T/L: NSAP, 20 octets
        "00 ",                                      // ATM SubAddr T/L: none
        "47000580ffe1000000f21a26d80020481a26d800", // Source ATM Address
    ));
    let mut r = Record::new(State::ServerRedirect);
    r.source_atm_address = NbmaAddr::nsap(hex(ATM));
    (bytes, r, hex("01 0000"))
}

/// A MARS Client Join/Register request for one group joined at layer 3 (§5.3).
fn join() -> (Vec<u8>, Record, Vec<u8>) {
    let bytes = hex(concat!(
        "000f ",                                     // Hardware Type: 15
        "0800 ",                                     // Protocol Type: IPv4
        "0000000000 ",                               // SNAP: 0
        "00 ",                                       // Unused
        "00 ",                                       // Version: 0
        "03 ",                                       // State: 3, Client Join/Register
        "8005 ",                                     // Flags: layer3grp (bit 15), sequence 5
        "0007 ",                                     // Cluster Member ID: 7
        "04 ",                                       // Src Addr Len: 4
        "04 ",                                       // Group Addr Len: 4
        "14 ",                                       // ATM Addr T/L: NSAP, 20 octets
        "00 ",                                       // ATM SubAddr T/L: none
        "0a000005 ",                                 // Source Protocol Address: 10.0.0.5
        "47000580ffe1000000f21a26d80020481a26d800 ", // Source ATM Address
        "e00000fb ",                                 // Minimum Group Address: 224.0.0.251
        "e00000fb",                                  // Maximum Group Address: 224.0.0.251
    ));
    let mut r = Record::new(State::ClientJoin);
    r.layer3grp = true;
    r.sequence = 5;
    r.cmi = 7;
    r.source_protocol_address = ProtoAddr(vec![10, 0, 0, 5]);
    r.source_atm_address = NbmaAddr::nsap(hex(ATM));
    r.group_min = ProtoAddr(vec![224, 0, 0, 251]);
    r.group_max = ProtoAddr(vec![224, 0, 0, 251]);
    (bytes, r, hex("03 0007 e00000fb e00000fb"))
}

/// An MCS Serve request for a range, from an MCS with an E.164 address and NSAP subaddress (§5.2).
fn serve() -> (Vec<u8>, Record, Vec<u8>) {
    let bytes = hex(concat!(
        "000f ",                                     // Hardware Type: 15
        "0800 ",                                     // Protocol Type: IPv4
        "0000000000 ",                               // SNAP: 0
        "00 ",                                       // Unused
        "00 ",                                       // Version: 0
        "02 ",                                       // State: 2, MCS Serve/Register
        "0000 ",                                     // Flags: none
        "0102 ",                                     // Cluster Member ID: 258
        "00 ",                                       // Src Addr Len: 0 (null)
        "04 ",                                       // Group Addr Len: 4
        "4c ",                                       // ATM Addr T/L: E.164, 12 octets
        "14 ",                                       // ATM SubAddr T/L: NSAP, 20 octets
        "343933303132333435363738 ",                 // Source ATM Address: IA5 "493012345678"
        "47000580ffe1000000f21a26d80020481a26d801 ", // Source ATM SubAddress
        "e1000000 ",                                 // Minimum Group Address: 225.0.0.0
        "e10000ff",                                  // Maximum Group Address: 225.0.0.255
    ));
    let mut r = Record::new(State::McsServe);
    r.cmi = 258;
    r.source_atm_address = NbmaAddr {
        e164: true,
        octets: b"493012345678".to_vec(),
    };
    r.source_atm_subaddress = NbmaAddr::nsap(hex("47000580ffe1000000f21a26d80020481a26d801"));
    r.group_min = ProtoAddr(vec![225, 0, 0, 0]);
    r.group_max = ProtoAddr(vec![225, 0, 0, 255]);
    (bytes, r, hex("02 0102 e1000000 e10000ff"))
}

/// A MARS Client Leave/Deregister request with the register flag: the client is gone (§5.4).
fn deregister() -> (Vec<u8>, Record, Vec<u8>) {
    let bytes = hex(concat!(
        "000f ",                                    // Hardware Type: 15
        "0800 ",                                    // Protocol Type: IPv4
        "0000000000 ",                              // SNAP: 0
        "00 ",                                      // Unused
        "00 ",                                      // Version: 0
        "04 ",                                      // State: 4, Client Leave/Deregister
        "2000 ",                                    // Flags: register (bit 13)
        "0007 ",                                    // Cluster Member ID: 7
        "04 ",                                      // Src Addr Len: 4
        "00 ",                                      // Group Addr Len: 0, as register requires
        "14 ",                                      // ATM Addr T/L: NSAP, 20 octets
        "00 ",                                      // ATM SubAddr T/L: none
        "0a000005 ",                                // Source Protocol Address: 10.0.0.5
        "47000580ffe1000000f21a26d80020481a26d800", // Source ATM Address
    ));
    let mut r = Record::new(State::ClientLeave);
    r.register = true;
    r.cmi = 7;
    r.source_protocol_address = ProtoAddr(vec![10, 0, 0, 5]);
    r.source_atm_address = NbmaAddr::nsap(hex(ATM));
    (bytes, r, hex("03 0007"))
}

fn all() -> Vec<(Vec<u8>, Record, Vec<u8>)> {
    vec![redirect(), join(), serve(), deregister()]
}

#[test]
fn vectors_decode_and_encode() {
    for (i, (bytes, rec, _)) in all().into_iter().enumerate() {
        assert_eq!(Record::decode(&bytes).as_ref(), Ok(&rec), "vector {i}");
        assert_eq!(rec.encode().unwrap(), bytes, "vector {i}");
        rec.check().unwrap();
    }
    assert_eq!(redirect().0.len(), 20 + 20);
    assert_eq!(join().0.len(), 20 + 4 + 20 + 8);
    assert_eq!(serve().0.len(), 20 + 12 + 20 + 8);
    assert_eq!(deregister().0.len(), 20 + 4 + 20);
}

#[test]
fn vector_keys() {
    for (i, (_, rec, key)) in all().into_iter().enumerate() {
        assert_eq!(rec.key(), key, "vector {i}");
    }
    // The leave of a join has the join's key.
    let (_, mut j, key) = join();
    j.state = State::ClientLeave;
    assert_eq!(j.key(), key);
}

#[test]
fn vector_json() {
    let v = serde_json::to_value(join().1).unwrap();
    assert_eq!(
        v,
        serde_json::json!({
            "hardware_type": 15, "protocol_type": 2048, "snap": "0000000000", "version": 0,
            "state": "client_join", "layer3grp": true, "register": false, "sequence": 5,
            "cmi": 7, "source_protocol_address": "10.0.0.5",
            "source_atm_address": "47.0005.80.ffe100.0000.f21a.26d8.0020481a26d8.00",
            "source_atm_subaddress": "", "group_min": "224.0.0.251", "group_max": "224.0.0.251"
        })
    );
    assert_eq!(serde_json::from_value::<Record>(v).unwrap(), join().1);
    let v = serde_json::to_value(serve().1).unwrap();
    assert_eq!(v["source_atm_address"], "493012345678");
}

#[test]
fn unused_and_reserved_fields_survive() {
    let (mut bytes, mut rec, _) = join();
    bytes[9] = 0x5a; // Unused
    bytes[12] |= 0x40; // a reserved flag (bit 14)
    rec.unused = 0x5a;
    rec.reserved_flags = 0x4000;
    assert_eq!(Record::decode(&bytes), Ok(rec.clone()));
    assert_eq!(rec.encode().unwrap(), bytes);
    assert!(
        rec.check().is_err(),
        "reserved flags MUST be zero when sending"
    );
}

#[test]
fn malformed_records_are_refused() {
    let (good, ..) = join();
    let with = |i: usize, v: u8| {
        let mut b = good.clone();
        b[i] = v;
        b
    };
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", vec![]),
        ("fixed part cut", good[..19].to_vec()),
        ("group cut", good[..good.len() - 1].to_vec()),
        ("trailing octet", [good.clone(), vec![0]].concat()),
        ("version 1 (NHRP's)", with(10, 1)),
        ("state 0", with(11, 0)),
        ("state 6", with(11, 6)),
        ("state 255", with(11, 255)),
        ("reserved bit of ATM Addr T/L", with(18, 0x94)),
        ("Src Addr Len past the end", with(16, 40)),
    ];
    for (what, b) in cases {
        assert!(Record::decode(&b).is_err(), "{what} accepted");
    }
}
