//! The Wireshark dissector `contrib/wireshark/scsp.lua`, checked with tshark.
//!
//! Packets are built with the project's own codec (`scsp_core::wire::encode`, the profiles'
//! typed records, `scsp_recon::Message`), written as Ethernet/IPv4/UDP frames into a classic
//! pcap file, and decoded with `tshark -X lua_script:contrib/wireshark/scsp.lua -V`; the test
//! checks the decoded fields of every frame, the expert info of the damaged ones, that no Lua
//! error occurs, and that the same checks fail when tshark runs without the dissector.
//!
//! tshark must be installed (`scripts/test.sh` installs it); without it the test fails and says
//! so. Wireshark refused user Lua scripts as superuser when its init.lua sets
//! `run_user_scripts_when_superuser = false` (Debian's 4.0 sets it true); CI runs as root, so the
//! test first checks that the script registered the protocol and names that setting if not.

mod common;

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::TempDir;
use scsp_core::wire::{
    AuthAlgorithm, AuthKey, Body, Common, Csa, Csas, Extension, Id, Packet, RecordId, SEQ_FIRST,
    checksum, encode,
};
use scsp_profiles::AtmarpLayout;
use scsp_profiles::atmarp::{Atmarp, Nsap};
use scsp_profiles::generic::GenericRecord;
use scsp_profiles::{mars, nhrp};

/// The dissector, from the workspace root.
fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../contrib/wireshark/scsp.lua")
}

/// tshark on the PATH, or a failure that says how to get it.
fn tshark() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join("tshark"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "tshark is not installed: the Wireshark dissector's test needs it \
                 (apt-get install tshark, or run scripts/test.sh, which installs it)"
            )
        })
}

// ---------------------------------------------------------------------------------------------
// A classic pcap writer (Ethernet link type), for UDP datagrams over IPv4.

struct Pcap(Vec<u8>);

impl Pcap {
    fn new() -> Pcap {
        let mut b = Vec::new();
        b.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes()); // magic, microseconds
        b.extend_from_slice(&2u16.to_le_bytes()); // version 2.4
        b.extend_from_slice(&4u16.to_le_bytes());
        b.extend_from_slice(&0i32.to_le_bytes()); // thiszone
        b.extend_from_slice(&0u32.to_le_bytes()); // sigfigs
        b.extend_from_slice(&65535u32.to_le_bytes()); // snaplen
        b.extend_from_slice(&1u32.to_le_bytes()); // LINKTYPE_ETHERNET
        Pcap(b)
    }

    /// One frame: `payload` in a UDP datagram from 127.0.0.1:`sport` to 127.0.0.2:`dport`.
    fn udp(&mut self, sport: u16, dport: u16, payload: &[u8]) {
        let udp_len = 8 + payload.len();
        let ip_len = 20 + udp_len;
        let mut frame = Vec::with_capacity(14 + ip_len);
        frame.extend_from_slice(&[0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x00]);
        let mut ip = vec![0x45, 0];
        ip.extend_from_slice(&(ip_len as u16).to_be_bytes());
        ip.extend_from_slice(&[0, 1, 0x40, 0, 64, 17, 0, 0, 127, 0, 0, 1, 127, 0, 0, 2]);
        let c = checksum(&ip);
        ip[10..12].copy_from_slice(&c.to_be_bytes());
        frame.extend_from_slice(&ip);
        frame.extend_from_slice(&sport.to_be_bytes());
        frame.extend_from_slice(&dport.to_be_bytes());
        frame.extend_from_slice(&(udp_len as u16).to_be_bytes());
        frame.extend_from_slice(&[0, 0]); // no UDP checksum
        frame.extend_from_slice(payload);
        let n = (self.0.len() as u32) % 1000; // any distinct time stamps
        self.0.extend_from_slice(&n.to_le_bytes());
        self.0.extend_from_slice(&0u32.to_le_bytes());
        self.0
            .extend_from_slice(&(frame.len() as u32).to_le_bytes());
        self.0
            .extend_from_slice(&(frame.len() as u32).to_le_bytes());
        self.0.extend_from_slice(&frame);
    }
}

// ---------------------------------------------------------------------------------------------
// The packets

fn id(b: [u8; 4]) -> Id {
    Id::from(b)
}

fn common(protocol_id: u16) -> Common {
    Common {
        protocol_id,
        sgid: 7,
        sender: id([10, 0, 0, 1]),
        receiver: id([10, 0, 0, 2]),
    }
}

fn csas(key: &[u8], seq: u32, null: bool) -> Csas {
    Csas {
        hops: 1,
        null,
        seq,
        id: RecordId {
            key: Id::new(key).unwrap(),
            origin: id([10, 0, 0, 9]),
        },
    }
}

fn csa(key: &[u8], seq: u32, data: Vec<u8>) -> Csa {
    Csa {
        summary: Csas {
            hops: 3,
            ..csas(key, seq, false)
        },
        data: data.into(),
    }
}

fn packet(protocol_id: u16, body: Body, extensions: Vec<Extension>) -> Packet {
    Packet {
        common: common(protocol_id),
        body,
        extensions,
    }
}

fn vendor_private(vendor_id: u32, data: Vec<u8>) -> Extension {
    Extension::VendorPrivate { vendor_id, data }
}

/// Recompute the checksum of an encoded packet after its bytes were changed.
fn fix_checksum(bytes: &mut [u8]) {
    bytes[4..6].copy_from_slice(&[0, 0]);
    let c = checksum(bytes);
    bytes[4..6].copy_from_slice(&c.to_be_bytes());
}

const NSAP: &str = "47.0005.80.ffdc00.0000.0002.0001.002048061de7.00";

/// The ATMARP record of docs/profiles.md (HARP layout): 10.1.2.3 at the NSAP above.
fn atmarp_record() -> (Vec<u8>, Vec<u8>) {
    let rec = scsp_profiles::atmarp::Record::new(
        Ipv4Addr::new(10, 1, 2, 3),
        scsp_profiles::atmarp::AtmAddress::Nsap(NSAP.parse::<Nsap>().unwrap()),
        None,
    );
    Atmarp::new(AtmarpLayout::Harp).build_record(&rec).unwrap()
}

/// An ATMARP binding in the draft-01 layout: 10.1.2.4 at E.164 12125551234 with an NSAP
/// subaddress, lifetime 15 minutes.
fn atmarp_draft01_record() -> (Vec<u8>, Vec<u8>) {
    let mut rec = scsp_profiles::atmarp::Record::new(
        Ipv4Addr::new(10, 1, 2, 4),
        "12125551234".parse().unwrap(),
        Some(NSAP.parse::<Nsap>().unwrap()),
    );
    rec.lifetime = Some(15);
    Atmarp::new(AtmarpLayout::Draft01)
        .build_record(&rec)
        .unwrap()
}

/// The NHRP record of docs/profiles.md: 10.0.0.1 registered at an NSAP, MTU 9180.
fn nhrp_record() -> (Vec<u8>, Vec<u8>) {
    let rec = nhrp::Record {
        afn: 15,
        protocol_type: 0x0800,
        snap: nhrp::Snap::default(),
        version: 1,
        unique: true,
        atmarp: false,
        unused_flags: 0,
        request_id: 7,
        state: nhrp::State::Registered,
        prefix_length: 255,
        unused: 0,
        mtu: 9180,
        holding_time: 7200,
        nbma_address: nhrp::NbmaAddr::nsap(
            hex::decode("47000580ffe1000000f21a26d80020481a26d800").unwrap(),
        ),
        nbma_subaddress: nhrp::NbmaAddr::null(),
        protocol_address: nhrp::ProtoAddr(vec![10, 0, 0, 1]),
        preference: 0,
    };
    (rec.key().unwrap(), rec.encode().unwrap())
}

/// The MARS record of docs/profiles.md: client 7 joins 224.0.0.251 at layer 3.
fn mars_record() -> (Vec<u8>, Vec<u8>) {
    let mut rec = mars::Record::new(mars::State::ClientJoin);
    rec.layer3grp = true;
    rec.sequence = 5;
    rec.cmi = 7;
    rec.source_protocol_address = nhrp::ProtoAddr(vec![10, 0, 0, 5]);
    rec.source_atm_address =
        nhrp::NbmaAddr::nsap(hex::decode("47000580ffe1000000f21a26d80020481a26d800").unwrap());
    rec.group_min = nhrp::ProtoAddr(vec![224, 0, 0, 251]);
    rec.group_max = nhrp::ProtoAddr(vec![224, 0, 0, 251]);
    rec.check().unwrap();
    (rec.key(), rec.encode().unwrap())
}

const MD5_KEY: &str = "a secret of md5";

/// The frames, in order; each `(destination port, SCSP bytes)`.
fn frames() -> Vec<(u16, Vec<u8>)> {
    let md5 = AuthKey {
        spi: 0x100,
        algorithm: AuthAlgorithm::HmacMd5,
        key: MD5_KEY.as_bytes().to_vec(),
    };
    let sha = AuthKey {
        spi: 0x2001,
        algorithm: AuthAlgorithm::HmacSha256,
        key: b"another secret".to_vec(),
    };
    let capability = scsp_recon::Message::Capability {
        flags: scsp_recon::wire::flags::RECONCILE | scsp_recon::wire::flags::BULK,
        cells: 32768,
        key: scsp_recon::Key(core::array::from_fn(|i| i as u8)),
    };
    let cells = scsp_recon::Message::Cells {
        start: 5,
        cells: vec![scsp_recon::Cell {
            sum: 0x0102_0304_0506_0708,
            checksum: 0x1112_1314_1516_1718,
            count: 0xffff_ffff,
        }],
    };
    let result = scsp_recon::Message::Result {
        status: scsp_recon::Status::Decoded,
        offset: 0,
        total: 1,
        symbols: vec![0xb31c_f7d2_5074_e24f],
    };
    let (atmarp_key, atmarp_data) = atmarp_record();
    let (nhrp_key, nhrp_data) = nhrp_record();
    let (mars_key, mars_data) = mars_record();
    let generic = GenericRecord {
        lifetime: Some(3600),
        payload: b"hello".to_vec(),
    }
    .encode();

    let enc = |p: &Packet, auth: Option<&AuthKey>| encode(p, auth).unwrap();
    let mut out = vec![
        // 1: Hello with two additional receivers and a reconciliation Capability.
        enc(
            &packet(
                1,
                Body::Hello {
                    interval: 2,
                    dead_factor: 5,
                    family_id: 0x0102,
                    additional: vec![id([10, 0, 0, 3]), id([10, 0, 0, 4])],
                },
                vec![vendor_private(
                    scsp_recon::wire::DEFAULT_VENDOR_ID,
                    capability.to_bytes(),
                )],
            ),
            None,
        ),
        // 2: CA, M I O set, two CSAS records.
        enc(
            &packet(
                1,
                Body::Ca {
                    seq: 0x1234_5678,
                    m: true,
                    i: true,
                    o: true,
                    records: vec![
                        csas(&[0xde, 0xad, 0xbe, 0xef], SEQ_FIRST, false),
                        csas(&[0x0a, 0x01, 0x02, 0x03], 0x7fff_ffff, false),
                    ],
                },
                vec![],
            ),
            None,
        ),
        // 3: CSU Request with an ATMARP record, signed with HMAC-MD5.
        enc(
            &packet(
                1,
                Body::CsuRequest {
                    records: vec![csa(&atmarp_key, 0x8000_0002, atmarp_data)],
                },
                vec![],
            ),
            Some(&md5),
        ),
        // 4: CSU Request with an NHRP record, signed with HMAC-SHA-256.
        enc(
            &packet(
                2,
                Body::CsuRequest {
                    records: vec![csa(&nhrp_key, 7, nhrp_data)],
                },
                vec![],
            ),
            Some(&sha),
        ),
        // 5: CSU Request with a MARS record.
        enc(
            &packet(
                3,
                Body::CsuRequest {
                    records: vec![csa(&mars_key, SEQ_FIRST, mars_data)],
                },
                vec![],
            ),
            None,
        ),
        // 6: CSU Reply acknowledging one record, with a null one.
        enc(
            &packet(
                2,
                Body::CsuReply {
                    records: vec![csas(&[0x0a, 0, 0, 1], 7, true)],
                },
                vec![],
            ),
            None,
        ),
        // 7: CSUS soliciting two records.
        enc(
            &packet(
                3,
                Body::Csus {
                    records: vec![
                        csas(&[1, 0, 0], SEQ_FIRST, false),
                        csas(&[3, 0, 7], 0x8000_0005, false),
                    ],
                },
                vec![],
            ),
            None,
        ),
        // 8: CSU Request of a generic Protocol ID with a lifetime prefix, and a Vendor-Private
        // extension of another vendor.
        enc(
            &packet(
                65000,
                Body::CsuRequest {
                    records: vec![csa(&[0xc0, 0xff, 0xee], SEQ_FIRST, generic)],
                },
                vec![vendor_private(0x00_000c, vec![0xca, 0xfe])],
            ),
            None,
        ),
        // 9: CA carrying reconciliation Cells (docs/reconciliation.md 10's vector).
        enc(
            &packet(
                1,
                Body::Ca {
                    seq: 77,
                    m: true,
                    i: false,
                    o: false,
                    records: vec![],
                },
                vec![vendor_private(
                    scsp_recon::wire::DEFAULT_VENDOR_ID,
                    cells.to_bytes(),
                )],
            ),
            None,
        ),
        // 10: CA carrying a reconciliation Result.
        enc(
            &packet(
                1,
                Body::Ca {
                    seq: 78,
                    m: false,
                    i: false,
                    o: false,
                    records: vec![],
                },
                vec![vendor_private(
                    scsp_recon::wire::DEFAULT_VENDOR_ID,
                    result.to_bytes(),
                )],
            ),
            None,
        ),
    ];
    // 11: the CA of frame 2 with its checksum corrupted.
    let mut bad = out[1].clone();
    bad[5] ^= 0x55;
    out.push(bad);
    // 12: the CSU Request of frame 3 cut short: its extensions (Authentication 24 octets, End
    // 4) and the last 20 octets of its ATMARP record are missing.
    let cut = out[2].len() - 24 - 4 - 20;
    out.push(out[2][..cut].to_vec());
    // 13: a CSU Request whose CSA record's Record Length runs past the packet (checksum right).
    let mut long = out[4].clone();
    let rec = 8 + 12 + 8; // fixed part, common part, IDs
    long[rec + 2..rec + 4].copy_from_slice(&500u16.to_be_bytes());
    fix_checksum(&mut long);
    out.push(long);
    // 14: a CA whose first CSAS record says it is 8 octets long (its header alone is 12).
    let mut short = out[1].clone();
    let rec = 8 + 4 + 12 + 8; // fixed part, CA Sequence Number, common part, IDs
    short[rec + 2..rec + 4].copy_from_slice(&8u16.to_be_bytes());
    fix_checksum(&mut short);
    out.push(short);

    // 15: a CSU Request with an ATMARP record in the draft-01 layout, E.164 with a subaddress.
    let (d01_key, d01_data) = atmarp_draft01_record();
    out.push(enc(
        &packet(
            1,
            Body::CsuRequest {
                records: vec![csa(&d01_key, SEQ_FIRST, d01_data)],
            },
            vec![],
        ),
        None,
    ));
    // 16: a CSU Request with a MARS server redirect entry: no protocol or group addresses, so
    // the record (and the packet) ends with empty fields.
    let mut redirect = mars::Record::new(mars::State::ServerRedirect);
    redirect.source_atm_address =
        nhrp::NbmaAddr::nsap(hex::decode("47000580ffe1000000f21a26d80020481a26d801").unwrap());
    redirect.check().unwrap();
    out.push(enc(
        &packet(
            3,
            Body::CsuRequest {
                records: vec![csa(&redirect.key(), SEQ_FIRST, redirect.encode().unwrap())],
            },
            vec![],
        ),
        None,
    ));
    // 17: a CSU Request with two CSA records: an NHRP client over IPv4 (NBMA address family 1),
    // and a null record (the N bit, no protocol specific part).
    let mut over_ip = nhrp::Record::decode(&nhrp_record().1).unwrap();
    over_ip.afn = 1;
    over_ip.nbma_address = nhrp::NbmaAddr {
        e164: false,
        octets: vec![192, 0, 2, 1],
    };
    over_ip.protocol_address = nhrp::ProtoAddr(vec![10, 0, 0, 3]);
    let mut null = csa(&[10, 0, 0, 2], 9, Vec::new());
    null.summary.null = true;
    out.push(enc(
        &packet(
            2,
            Body::CsuRequest {
                records: vec![
                    csa(&over_ip.key().unwrap(), 8, over_ip.encode().unwrap()),
                    null,
                ],
            },
            vec![],
        ),
        None,
    ));

    let mut frames: Vec<(u16, Vec<u8>)> = out.into_iter().map(|b| (7126, b)).collect();
    // 18: the Hello of frame 1 on another port, decoded through Decode As.
    frames.push((40001, frames[0].1.clone()));
    // The bulk path (docs/reconciliation.md 8): 19, the end marker of a stream of 1,000 entries
    // whose every position carried its record; 20, a clean learner's acknowledgement; 21, a
    // slave's offer of its 1,000,000 entries.
    let recon = |body: Body, m: &scsp_recon::Message| {
        enc(
            &packet(
                65000,
                body,
                vec![vendor_private(
                    scsp_recon::wire::DEFAULT_VENDOR_ID,
                    m.to_bytes(),
                )],
            ),
            None,
        )
    };
    let end = scsp_recon::Message::Bulk {
        offset: 1000,
        count: 0,
        flags: scsp_recon::wire::bulk_flags::WHOLE,
        total: None,
    };
    frames.push((7126, recon(Body::CsuRequest { records: vec![] }, &end)));
    let ack = scsp_recon::Message::BulkAck {
        next: 1000,
        credit: 32768,
        flags: scsp_recon::wire::ack_flags::CLEAN,
    };
    frames.push((7126, recon(Body::CsuReply { records: vec![] }, &ack)));
    let offer = scsp_recon::Message::Bulk {
        offset: 0,
        count: 0,
        flags: 0,
        total: Some(1_000_000),
    };
    let ca = Body::Ca {
        seq: 79,
        m: false,
        i: false,
        o: true,
        records: vec![],
    };
    frames.push((7126, recon(ca, &offer)));
    frames
}

// ---------------------------------------------------------------------------------------------
// Running tshark

/// A directory for tshark's HOME: no personal preferences or plugins (a copy of scsp.lua
/// installed there would be registered twice).
fn run(args: &[&str], home: &Path) -> Output {
    let out = Command::new(tshark())
        .args(args)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .output()
        .expect("run tshark");
    assert!(
        out.status.success(),
        "tshark {args:?} failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn lua_arg() -> String {
    format!("lua_script:{}", script().display())
}

/// The -V text of each frame, in order, each line trimmed.
fn per_frame(text: &str) -> Vec<String> {
    let mut frames: Vec<String> = Vec::new();
    for line in text.lines() {
        if line.starts_with("Frame ") {
            frames.push(String::new());
        }
        if let Some(f) = frames.last_mut() {
            f.push_str(line.trim());
            f.push('\n');
        }
    }
    frames
}

/// The lines of `expected` that are not a line of `frame`.
fn missing(frame: &str, expected: &[String]) -> Vec<String> {
    expected
        .iter()
        .filter(|e| !frame.lines().any(|l| l == e.as_str()))
        .cloned()
        .collect()
}

/// A Lua error, or an error the dissector caught in itself, anywhere in tshark's output.
fn assert_no_lua_error(out: &Output) {
    for text in [&out.stdout, &out.stderr] {
        let text = String::from_utf8_lossy(text);
        for bad in ["Lua Error", "lua error", "dissector error", "Dissector bug"] {
            assert!(
                !text.contains(bad),
                "tshark reported {bad:?}:\n{}",
                text.lines()
                    .filter(|l| l.contains(bad))
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
    }
}

/// Write `frames` to a pcap file in `dir`.
fn write_pcap(dir: &Path, name: &str, frames: &[(u16, Vec<u8>)]) -> String {
    let mut pcap = Pcap::new();
    for (port, bytes) in frames {
        let sport = if *port == 7126 { 7126 } else { 40000 };
        pcap.udp(sport, *port, bytes);
    }
    let file = dir.join(name);
    std::fs::write(&file, &pcap.0).unwrap();
    file.to_str().unwrap().to_owned()
}

/// Fails with a clear message when tshark does not load the script (e.g. a Wireshark whose
/// init.lua refuses user scripts to the superuser, which CI is).
fn assert_script_loads(home: &Path) {
    let out = run(&["-G", "protocols", "-X", &lua_arg()], home);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines()
            .any(|l| l == "Server Cache Synchronization Protocol\tSCSP\tscsp"),
        "tshark did not register the protocol of {}; if running as root, check that \
         run_user_scripts_when_superuser is true in Wireshark's init.lua. stderr:\n{}",
        script().display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn lines(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// What each frame of [`frames`] must show in `tshark -V` (1-based frame numbers).
fn expectations(frames: &[(u16, Vec<u8>)]) -> Vec<(usize, Vec<String>)> {
    let common = |pid: &str| {
        lines(&[
            "Server Cache Synchronization Protocol",
            "Version: 1",
            "[Checksum Status: Good (1)]",
            pid,
            "Server Group ID: 7",
            "Sender ID Len: 4",
            "Recvr ID Len: 4",
            "Sender ID: 0a000001 (10.0.0.1)",
            "Receiver ID: 0a000002 (10.0.0.2)",
        ])
    };
    let with = |mut a: Vec<String>, b: &[&str]| {
        a.extend(lines(b));
        a
    };
    let atmarp = "Protocol ID: ATMARP (1)";
    let hello = with(
        common(atmarp),
        &[
            "Type Code: Hello (5)",
            "Packet Size: 81",
            "HelloInterval: 2",
            "DeadFactor: 5",
            "Family ID: 0x0102 (258)",
            "Number of Records: 2",
            "Additional Receiver ID record 1: 10.0.0.3",
            "Additional Receiver ID: 0a000004 (10.0.0.4)",
            "Vendor-Private extension: Vendor ID 0x5c5350",
            "Reconciliation message (docs/reconciliation.md): Capability, M 32768",
            "Kind: Capability (0)",
            ".... ...1 = Reconciliation: True",
            ".... ..1. = Bulk path: True",
            "Key: 000102030405060708090a0b0c0d0e0f",
            "End Of Extensions extension",
        ],
    );
    let ca = with(
        common(atmarp),
        &[
            "Type Code: CA (1)",
            "CA Sequence Number: 0x12345678 (305419896)",
            "Flags: 0xe000",
            "1... .... .... .... = M (Master/Slave): True",
            ".1.. .... .... .... = I (Initialization): True",
            "..1. .... .... .... = O (mOre): True",
            "Number of Records: 2",
            "CSAS record 1: key deadbeef, originator 10.0.0.9, seq 0x80000001",
            "Hop Count: 1",
            "Record Length: 20",
            "CSA Sequence Number: 0x80000001 (first, -2^31+1)",
            "Cache Key: deadbeef",
            "Originator ID: 0a000009 (10.0.0.9)",
            "CSAS record 2: key 0a010203, originator 10.0.0.9, seq 0x7fffffff",
            "CSA Sequence Number: 0x7fffffff (purge, 2^31-1)",
        ],
    );
    // The checksum of frame 2 as sent, and as frame 11 corrupts it.
    let good = u16::from_be_bytes([frames[1].1[4], frames[1].1[5]]);
    let bad = good ^ 0x0055;
    let mut corrupted: Vec<String> = ca
        .iter()
        .filter(|l| !l.starts_with("[Checksum Status"))
        .cloned()
        .collect();
    corrupted.extend([
        format!(
            "[Expert Info (Error/Checksum): Bad checksum 0x{bad:04x} (should be 0x{good:04x})]"
        ),
        "[Checksum Status: Bad (0)]".to_owned(),
        format!("[Expected Checksum: 0x{good:04x}]"),
    ]);
    vec![
        (1, hello.clone()),
        (2, ca),
        (
            3,
            with(
                common(atmarp),
                &[
                    "Type Code: CSU Request (2)",
                    "CSA record 1: key 86e0ca75, originator 10.0.0.9, seq 0x80000002",
                    "Hop Count: 3",
                    "Record Length: 60",
                    "ATMARP record (HARP layout): 10.1.2.3 -> 47.0005.80.ffdc00.0000.0002.0001.002048061de7.00, new",
                    "Hardware Type: ATM Forum (0x0013)",
                    "Protocol Type: IPv4 (0x0800)",
                    "Source ATM Address Type/Length: 0x14",
                    "State: new (0)",
                    "Source IP Length: 4",
                    "Target IP Length: 4",
                    "Source ATM Address: 47000580ffdc00000000020001002048061de700 (47.0005.80.ffdc00.0000.0002.0001.002048061de7.00)",
                    "Source IP Address: 10.1.2.3",
                    "Target IP Address: 10.1.2.3",
                    "Authentication extension: SPI 256, HMAC-MD5-128",
                    "Length: 20",
                    "Security Parameter Index (SPI): 256 (0x00000100)",
                    "[Algorithm (from the MAC length): HMAC-MD5-128]",
                ],
            ),
        ),
        (
            4,
            with(
                common("Protocol ID: NHRP (2)"),
                &[
                    "CSA record 1: key 0a000001, originator 10.0.0.9, seq 0x00000007",
                    "NHRP record (RFC 2335): 10.0.0.1, registered, holding 7200s, request id 7",
                    "Address Family Number: E.164 with NSAP subaddress (ATM) (15)",
                    "Protocol Type: IPv4 (0x0800)",
                    "NHRP Version: 1",
                    "1... .... .... .... = U (Uniqueness): True",
                    ".0.. .... .... .... = A (from ATMARP client interaction): False",
                    "Request ID: 7",
                    "State: registered (0)",
                    "Prefix Length: 255",
                    "Maximum Transmission Unit: 9180",
                    "Holding Time (s): 7200",
                    "Cli Proto Len: 4",
                    "Client NBMA Address: 47000580ffe1000000f21a26d80020481a26d800 (47.0005.80.ffe100.0000.f21a.26d8.0020481a26d8.00)",
                    "Client Protocol Address: 10.0.0.1",
                    "Authentication extension: SPI 8193, HMAC-SHA-256",
                    "[Algorithm (from the MAC length): HMAC-SHA-256]",
                ],
            ),
        ),
        (
            5,
            with(
                common("Protocol ID: MARS (3)"),
                &[
                    "CSA record 1: key 030007e00000fbe00000fb, originator 10.0.0.9, seq 0x80000001",
                    "MARS record (RFC 2443): client join/register, CMI 7, groups 224.0.0.251-224.0.0.251",
                    "Hardware Type: ATM (15)",
                    "Version: 0",
                    "State: client join/register (3)",
                    "Flags: 0x8005",
                    "1... .... .... .... = layer3grp: True",
                    ".... .... 0000 0101 = Sequence: 5",
                    "Cluster Member ID: 7",
                    "Source Protocol Address: 10.0.0.5",
                    "Source ATM Address: 47000580ffe1000000f21a26d80020481a26d800 (47.0005.80.ffe100.0000.f21a.26d8.0020481a26d8.00)",
                    "Minimum Multicast Group Address: 224.0.0.251",
                    "Maximum Multicast Group Address: 224.0.0.251",
                ],
            ),
        ),
        (
            6,
            with(
                common("Protocol ID: NHRP (2)"),
                &[
                    "Type Code: CSU Reply (3)",
                    "CSAS record 1: key 0a000001, originator 10.0.0.9, seq 0x00000007 [null]",
                    "1... .... .... .... = N (Null record): True",
                ],
            ),
        ),
        (
            7,
            with(
                common("Protocol ID: MARS (3)"),
                &[
                    "Type Code: CSUS (4)",
                    "Number of Records: 2",
                    "CSAS record 1: key 010000, originator 10.0.0.9, seq 0x80000001",
                    "CSAS record 2: key 030007, originator 10.0.0.9, seq 0x80000005",
                    "Record Length: 19",
                ],
            ),
        ),
        (
            8,
            with(
                common("Protocol ID: Unknown (65000)"),
                &[
                    "Client/Server Protocol Specific Part: ff004c5400000e1068656c6c6f",
                    "Generic record with a lifetime prefix: lifetime 3600s, 5 octets",
                    "Lifetime (s, 0 = none): 3600",
                    "Payload: 68656c6c6f",
                    "Vendor-Private extension: Vendor ID 0x00000c",
                    "Data: cafe",
                ],
            ),
        ),
        (
            9,
            lines(&[
                "CA Sequence Number: 0x0000004d (77)",
                "1... .... .... .... = M (Master/Slave): True",
                ".0.. .... .... .... = I (Initialization): False",
                "Number of Records: 0",
                "Reconciliation message (docs/reconciliation.md): Cells, start 5, 1 cells",
                "Start (index of the first cell): 5",
                "Cell 5",
                "Sum: 0x0102030405060708",
                "Checksum: 0x1112131415161718",
                "Count: -1",
            ]),
        ),
        (
            10,
            lines(&[
                "Reconciliation message (docs/reconciliation.md): Result, decoded, 1 of 1 symbols from 0",
                "Status: decoded (0)",
                "Total: 1",
                "Symbol: 0xb31cf7d25074e24f",
            ]),
        ),
        (11, corrupted),
        (
            12,
            lines(&[
                "Type Code: CSU Request (2)",
                "Packet Size: 116",
                "[Expert Info (Error/Malformed): Packet Size 116 runs past the packet (68 octets)]",
                "[Checksum Status: Unverified (2)]",
                "[Expert Info (Error/Malformed): Start Of Extensions 88 runs past the packet (68 octets)]",
                "[Expert Info (Error/Malformed): Record Length 60 runs past the end of the mandatory part (40 octets left)]",
                "Cache Key: 86e0ca75",
            ]),
        ),
        (
            13,
            lines(&[
                "[Checksum Status: Good (1)]",
                "Record Length: 500",
                "[Expert Info (Error/Malformed): Record Length 500 runs past the end of the mandatory part (79 octets left)]",
            ]),
        ),
        (
            14,
            lines(&[
                "[Checksum Status: Good (1)]",
                "Record Length: 8",
                "[Expert Info (Error/Malformed): Record Length 8 is shorter than the 12-octet record header]",
            ]),
        ),
        (
            15,
            lines(&[
                "ATMARP record (draft-00/-01 layout): 10.1.2.4 -> 12125551234",
                "State (draft-00) or Lifetime in minutes (draft-01): 15",
                "Source ATM Address Type/Length: 0x4b",
                ".1.. .... = E.164 format: True",
                "..00 1011 = Length: 11",
                "Source ATM Address: 3132313235353531323334 (12125551234)",
                "Source ATM Subaddress: 47000580ffdc00000000020001002048061de700 (47.0005.80.ffdc00.0000.0002.0001.002048061de7.00)",
                "Source IP Address: 10.1.2.4",
            ]),
        ),
        (
            16,
            lines(&[
                "MARS record (RFC 2443): server redirect, CMI 0",
                "State: server redirect (1)",
                "Src Addr Len: 0",
                "Group Addr Len: 0",
                "Source Protocol Address: (none)",
                "Source ATM Address: 47000580ffe1000000f21a26d80020481a26d801 (47.0005.80.ffe100.0000.f21a.26d8.0020481a26d8.01)",
                "Minimum Multicast Group Address: (none)",
                "Maximum Multicast Group Address: (none)",
            ]),
        ),
        (
            17,
            lines(&[
                "Number of Records: 2",
                "NHRP record (RFC 2335): 10.0.0.3, registered, holding 7200s, request id 7",
                "Address Family Number: IPv4 (1)",
                "Client NBMA Address: 192.0.2.1",
                "Client Protocol Address: 10.0.0.3",
                "CSA record 2: key 0a000002, originator 10.0.0.9, seq 0x00000009 [null]",
                "1... .... .... .... = N (Null record): True",
            ]),
        ),
        (18, hello),
        (
            19,
            lines(&[
                "Reconciliation message (docs/reconciliation.md): Bulk, offset 1000, count 0, whole",
                ".... ...1 = Whole (every position carried its record): True",
                "Offset: 1000",
            ]),
        ),
        (
            20,
            lines(&[
                "Reconciliation message (docs/reconciliation.md): Bulk Ack, next 1000, credit 32768, clean",
                ".... ...1 = Clean (the learner held nothing and stored every record): True",
            ]),
        ),
        (
            21,
            lines(&[
                "Reconciliation message (docs/reconciliation.md): Bulk, offset 0, count 0, total 1000000",
                "Total: 1000000",
            ]),
        ),
    ]
}

#[test]
fn tshark_decodes_every_message_extension_and_profile() {
    let dir = TempDir::new("wireshark");
    assert_script_loads(dir.path());
    let frames = frames();
    let file = write_pcap(dir.path(), "scsp.pcap", &frames);
    let decode_as = "udp.port==40001,scsp";
    let out = run(
        &["-X", &lua_arg(), "-r", &file, "-V", "-d", decode_as],
        dir.path(),
    );
    assert_no_lua_error(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    let decoded = per_frame(&text);
    assert_eq!(decoded.len(), frames.len(), "{text}");
    let expected = expectations(&frames);
    assert_eq!(expected.len(), frames.len());
    for (n, want) in &expected {
        let got = &decoded[n - 1];
        let miss = missing(got, want);
        assert!(miss.is_empty(), "frame {n}: missing {miss:#?}\nin:\n{got}");
    }
    // Only the damaged frames carry expert info of errors.
    for (i, got) in decoded.iter().enumerate() {
        let damaged = [11, 12, 13, 14].contains(&(i + 1));
        assert_eq!(
            got.contains("[Expert Info (Error/"),
            damaged,
            "frame {}:\n{got}",
            i + 1
        );
    }

    // The summary line and exact field values, as -T fields prints them.
    let out = run(
        &[
            "-X",
            &lua_arg(),
            "-r",
            &file,
            "-d",
            decode_as,
            "-T",
            "fields",
            "-E",
            "separator=;",
            "-e",
            "scsp.type",
            "-e",
            "scsp.protocol_id",
            "-e",
            "scsp.checksum.status",
            "-e",
            "scsp.records",
            "-e",
            "scsp.csas.seq",
            "-e",
            "scsp.auth.spi",
            "-e",
            "scsp.vp.vendor_id",
            "-e",
            "_ws.col.Info",
        ],
        dir.path(),
    );
    assert_no_lua_error(&out);
    let table = String::from_utf8_lossy(&out.stdout);
    let want = [
        "5;1;1;2;;;0x5c5350;Hello 10.0.0.1 -> 10.0.0.2 pid=1 sgid=7 interval=2 dead=5 receivers=3 +Recon-Capability",
        "1;1;1;2;0x80000001,0x7fffffff;;;CA 10.0.0.1 -> 10.0.0.2 pid=1 sgid=7 seq=0x12345678 [M I O] CSAS=2",
        "2;1;1;1;0x80000002;256;;CSU Request 10.0.0.1 -> 10.0.0.2 pid=1 sgid=7 CSA=1 +Auth",
        "2;2;1;1;0x00000007;8193;;CSU Request 10.0.0.1 -> 10.0.0.2 pid=2 sgid=7 CSA=1 +Auth",
        "2;3;1;1;0x80000001;;;CSU Request 10.0.0.1 -> 10.0.0.2 pid=3 sgid=7 CSA=1",
        "3;2;1;1;0x00000007;;;CSU Reply 10.0.0.1 -> 10.0.0.2 pid=2 sgid=7 CSAS=1",
        "4;3;1;2;0x80000001,0x80000005;;;CSUS 10.0.0.1 -> 10.0.0.2 pid=3 sgid=7 CSAS=2",
        "2;65000;1;1;0x80000001;;0x00000c;CSU Request 10.0.0.1 -> 10.0.0.2 pid=65000 sgid=7 CSA=1 +VP",
        "1;1;1;0;;;0x5c5350;CA 10.0.0.1 -> 10.0.0.2 pid=1 sgid=7 seq=0x0000004d [M] CSAS=0 +Recon-Cells",
        "1;1;1;0;;;0x5c5350;CA 10.0.0.1 -> 10.0.0.2 pid=1 sgid=7 seq=0x0000004e CSAS=0 +Recon-Result",
    ];
    let got: Vec<&str> = table.lines().collect();
    assert_eq!(got.len(), frames.len(), "{table}");
    for (i, w) in want.iter().enumerate() {
        assert_eq!(got[i], *w, "frame {}", i + 1);
    }
    assert!(got[10].starts_with("1;1;0;2;"), "{}", got[10]);
    assert!(got[10].contains("[BAD CHECKSUM]"), "{}", got[10]);
    assert_eq!(got[17], got[0], "Decode As on port 40001");

    // The ATMARP layout preference: frame 15 read as draft-01.
    let out = run(
        &[
            "-X",
            &lua_arg(),
            "-r",
            &file,
            "-V",
            "-o",
            "scsp.atmarp_layout:draft-01",
        ],
        dir.path(),
    );
    assert_no_lua_error(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    let f15 = &per_frame(&text)[14];
    let miss = missing(
        f15,
        &lines(&[
            "ATMARP record (draft-01 layout): 10.1.2.4 -> 12125551234",
            "Lifetime (minutes, 0 = delete): 15",
        ]),
    );
    assert!(miss.is_empty(), "missing {miss:#?} in\n{f15}");

    // Without the dissector, the same checks fail for every frame.
    let out = run(
        &["-r", &file, "-V", "-d", "udp.port==40001,data"],
        dir.path(),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("Server Cache Synchronization Protocol"));
    let plain = per_frame(&text);
    assert_eq!(plain.len(), frames.len());
    for (n, want) in &expected {
        assert!(
            !missing(&plain[n - 1], want).is_empty(),
            "frame {n} passes its checks without the dissector"
        );
    }
}

/// Every prefix of every packet above, and copies with octets changed, decode without a Lua
/// error: each gives the SCSP tree, and the cut ones expert info.
#[test]
fn tshark_survives_truncated_and_corrupted_packets() {
    let dir = TempDir::new("wireshark-robust");
    assert_script_loads(dir.path());
    let mut damaged: Vec<(u16, Vec<u8>)> = Vec::new();
    let mut x: u32 = 0x2545_f491;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x
    };
    for (_, bytes) in frames() {
        for cut in 1..bytes.len() {
            damaged.push((7126, bytes[..cut].to_vec()));
        }
        for _ in 0..40 {
            let mut b = bytes.clone();
            for _ in 0..1 + next() % 3 {
                let i = next() as usize % b.len();
                b[i] = next() as u8;
            }
            damaged.push((7126, b));
        }
    }
    let file = write_pcap(dir.path(), "damaged.pcap", &damaged);
    let out = run(&["-X", &lua_arg(), "-r", &file, "-V"], dir.path());
    assert_no_lua_error(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    let decoded = per_frame(&text);
    assert_eq!(decoded.len(), damaged.len());
    for (i, (got, (_, bytes))) in decoded.iter().zip(&damaged).enumerate() {
        assert!(
            got.contains("Server Cache Synchronization Protocol"),
            "frame {}:\n{got}",
            i + 1
        );
        // A packet cut short says so, in the fixed part or in its Packet Size.
        let size = bytes
            .get(2..4)
            .map(|s| usize::from(u16::from_be_bytes([s[0], s[1]])));
        if size.is_none_or(|s| s > bytes.len()) {
            assert!(
                got.contains("[Expert Info (Error/Malformed):"),
                "frame {} ({} octets) has no expert info:\n{got}",
                i + 1,
                bytes.len()
            );
        }
    }
}

/// Packets of a real scspd, received on a UDP socket standing in for its DCS (no capture
/// privileges needed): its Hellos before and after it hears the DCS, and the CA that opens Cache
/// Alignment, signed with HMAC-SHA-256. Each frame's fields, as tshark shows them, are those
/// that `scsp_core::wire::decode` reads from the same octets.
#[test]
fn tshark_decodes_a_real_daemons_packets() {
    use scsp_core::wire::decode;
    use std::time::{Duration, Instant};

    let dir = TempDir::new("wireshark-real");
    assert_script_loads(dir.path());
    let peer = std::net::UdpSocket::bind("127.0.0.2:0").unwrap();
    peer.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let peer_port = peer.local_addr().unwrap().port();
    let port = common::free_udp_port("127.0.0.1");
    let secret = "a shared secret of some length";
    let conf = common::server_conf(
        "s_a",
        (1, port),
        &[(2, peer_port)],
        &format!(
            "Auth {{ SendSPI 4097; RecvSPI 4098; Algorithm HMAC-SHA-256; Key \"{secret}\"; }};"
        ),
    );
    let d = common::Daemon::start("wsreal", &conf);
    let key = AuthKey {
        spi: 4098,
        algorithm: AuthAlgorithm::HmacSha256,
        key: secret.as_bytes().to_vec(),
    };
    let hello = encode(
        &common::hello_packet(id([127, 0, 0, 2]), id([127, 0, 0, 1])),
        Some(&key),
    )
    .unwrap();
    // Until a Hello that names us and a CA have arrived, answer with Hellos.
    let mut got: Vec<Vec<u8>> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut buf = [0u8; 65535];
    let mut last_hello = Instant::now() - Duration::from_secs(1);
    let done = |got: &[Vec<u8>]| {
        let kinds: Vec<Body> = got.iter().map(|b| decode(b).unwrap().body).collect();
        kinds.iter().any(|b| matches!(b, Body::Ca { i: true, .. }))
            && got
                .iter()
                .any(|b| decode(b).unwrap().common.receiver.as_bytes() == [127, 0, 0, 2])
    };
    while !done(&got) {
        assert!(
            Instant::now() < deadline,
            "no Hello naming 127.0.0.2 and CA from scspd; received {} packets; log:\n{}",
            got.len(),
            d.log_text()
        );
        if last_hello.elapsed() >= Duration::from_millis(500) {
            peer.send_to(&hello, ("127.0.0.1", port)).unwrap();
            last_hello = Instant::now();
        }
        if let Ok((n, _)) = peer.recv_from(&mut buf) {
            got.push(buf[..n].to_vec());
        }
    }

    let mut pcap = Pcap::new();
    for b in &got {
        pcap.udp(port, peer_port, b);
    }
    let file = dir.path().join("real.pcap");
    std::fs::write(&file, &pcap.0).unwrap();
    let decode_as = format!("udp.port=={peer_port},scsp");
    let out = run(
        &[
            "-X",
            &lua_arg(),
            "-r",
            file.to_str().unwrap(),
            "-V",
            "-d",
            &decode_as,
        ],
        dir.path(),
    );
    assert_no_lua_error(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    let frames = per_frame(&text);
    assert_eq!(frames.len(), got.len());
    for (i, (frame, bytes)) in frames.iter().zip(&got).enumerate() {
        let p = decode(bytes).unwrap();
        let mut want = vec![
            "[Checksum Status: Good (1)]".to_owned(),
            format!("Packet Size: {}", bytes.len()),
            "Protocol ID: Unknown (65000)".to_owned(),
            format!("Server Group ID: {}", p.common.sgid),
            "Sender ID: 7f000001 (127.0.0.1)".to_owned(),
        ];
        if !p.common.receiver.is_empty() {
            want.push("Receiver ID: 7f000002 (127.0.0.2)".to_owned());
        }
        match &p.body {
            Body::Hello {
                interval,
                dead_factor,
                ..
            } => want.extend([
                "Type Code: Hello (5)".to_owned(),
                format!("HelloInterval: {interval}"),
                format!("DeadFactor: {dead_factor}"),
            ]),
            Body::Ca {
                seq,
                m,
                i,
                o,
                records,
                ..
            } => {
                let bit = |b: bool| if b { "True" } else { "False" };
                want.extend([
                    "Type Code: CA (1)".to_owned(),
                    format!("CA Sequence Number: 0x{seq:08x} ({seq})"),
                    format!("1... .... .... .... = M (Master/Slave): {}", bit(*m)),
                    format!(".1.. .... .... .... = I (Initialization): {}", bit(*i)),
                    format!("..1. .... .... .... = O (mOre): {}", bit(*o)),
                    format!("Number of Records: {}", records.len()),
                ])
            }
            other => panic!("unexpected {other:?}"),
        }
        for e in &p.extensions {
            if let Extension::Authentication { spi, mac } = e {
                want.extend([
                    format!("Security Parameter Index (SPI): {spi} (0x{spi:08x})"),
                    format!("Authentication Data: {}", hex::encode(mac)),
                    "[Algorithm (from the MAC length): HMAC-SHA-256]".to_owned(),
                ]);
            }
        }
        assert!(
            p.extensions
                .iter()
                .any(|e| matches!(e, Extension::Authentication { spi: 4097, .. })),
            "scspd signs with SendSPI 4097: {p:?}"
        );
        let miss = missing(frame, &want);
        assert!(
            miss.is_empty(),
            "frame {}: missing {miss:#?}\nin:\n{frame}",
            i + 1
        );
    }
}
