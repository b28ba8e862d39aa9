//! Byte-exact vectors of the reconciliation's hashing, mapping and messages
//! (docs/reconciliation.md §7 lists the same values for a second implementation).

use scsp_recon::hash::Mapping;
use scsp_recon::wire::{Message, Status, cells_per_packet, flags};
use scsp_recon::{Cell, Decoder, Encoder, Instance, Key, Prefix};

fn key() -> Key {
    let mut k = [0u8; 16];
    for (i, b) in k.iter_mut().enumerate() {
        *b = i as u8;
    }
    Key(k)
}

fn inst() -> Instance<'static> {
    Instance {
        cache_key: &[10, 0, 0, 1],
        originator: &[127, 0, 0, 1],
        seq: 0x8000_0001,
    }
}

/// The symbol hashes `04 0a000001 04 7f000001 80000001` with SipHash-2-4 under key 00..0f.
#[test]
fn symbol_checksum_and_mapping() {
    let k = key();
    let s = k.symbol(&inst());
    assert_eq!(s, 0xb31c_f7d2_5074_e24f);
    let c = k.checksum(s);
    assert_eq!(c, 0xd9d3_5aa0_1a04_96b7);
    let mut m = Mapping::new(c);
    let mut idx = vec![m.index()];
    for _ in 0..9 {
        idx.push(m.advance());
    }
    assert_eq!(idx, [0, 1, 3, 5, 14, 18, 24, 97, 105, 185]);
}

#[test]
fn one_instance_in_eight_cells() {
    let mut p: Prefix<u32> = Prefix::new(key(), 8);
    p.insert(&inst(), 7).unwrap();
    let full = Cell {
        sum: 0xb31c_f7d2_5074_e24f,
        checksum: 0xd9d3_5aa0_1a04_96b7,
        count: 1,
    };
    let want: Vec<Cell> = (0..8)
        .map(|i| {
            if [0, 1, 3, 5].contains(&i) {
                full
            } else {
                Cell::default()
            }
        })
        .collect();
    assert_eq!(p.cells(), &want[..]);
    let m = Message::Cells {
        start: 0,
        cells: Encoder::new(&p).cells(0, 2).to_vec(),
    };
    assert_eq!(
        hex::encode(m.to_bytes()),
        concat!(
            "01010000",
            "00000000",
            "00020000",
            "b31cf7d25074e24f",
            "d9d35aa01a0496b7",
            "00000001",
            "b31cf7d25074e24f",
            "d9d35aa01a0496b7",
            "00000001",
        )
    );
    // The other side, without the instance, decodes it as the master's alone from cell 0.
    let empty: Prefix<u32> = Prefix::new(key(), 8);
    let mut d = Decoder::new(&empty, 8);
    assert_eq!(
        d.receive(0, &p.cells()[..1]),
        Ok(scsp_recon::Progress::Done)
    );
    assert_eq!(
        d.difference().collect::<Vec<_>>(),
        [(0xb31c_f7d2_5074_e24f, scsp_recon::Side::Remote)]
    );
}

fn roundtrip(m: &Message, hex_bytes: &str) {
    assert_eq!(hex::encode(m.to_bytes()), hex_bytes);
    assert_eq!(
        &Message::decode(&hex::decode(hex_bytes).unwrap()).unwrap(),
        m
    );
}

#[test]
fn capability() {
    roundtrip(
        &Message::Capability {
            flags: flags::RECONCILE | flags::BULK,
            cells: 32768,
            key: key(),
        },
        "0100030000008000000102030405060708090a0b0c0d0e0f",
    );
}

#[test]
fn cells_request_result() {
    roundtrip(
        &Message::Cells {
            start: 5,
            cells: vec![Cell {
                sum: 0x0102_0304_0506_0708,
                checksum: 0x1112_1314_1516_1718,
                count: 0xffff_ffff,
            }],
        },
        concat!(
            "01010000",
            "00000005",
            "0001",
            "0000",
            "0102030405060708",
            "1112131415161718",
            "ffffffff"
        ),
    );
    roundtrip(
        &Message::Request {
            next: 128,
            window: 256,
        },
        "010200000000008000000100",
    );
    roundtrip(
        &Message::Result {
            status: Status::Decoded,
            offset: 0,
            total: 1,
            symbols: vec![0xb31c_f7d2_5074_e24f],
        },
        concat!(
            "01030000",
            "0001",
            "0000",
            "00000000",
            "00000001",
            "b31cf7d25074e24f"
        ),
    );
    roundtrip(
        &Message::Result {
            status: Status::Budget,
            offset: 0,
            total: 0,
            symbols: vec![],
        },
        concat!("01030100", "0000", "0000", "00000000", "00000000"),
    );
}

#[test]
fn bulk_messages() {
    roundtrip(
        &Message::Bulk {
            offset: 0x0102_0304,
            count: 70,
            flags: 0,
            total: None,
        },
        concat!("01040000", "01020304", "0046", "0000"),
    );
    // The end marker of a stream of 1,000 entries, every position with its record.
    roundtrip(
        &Message::Bulk {
            offset: 1000,
            count: 0,
            flags: scsp_recon::wire::bulk_flags::WHOLE,
            total: None,
        },
        concat!("01040100", "000003e8", "0000", "0000"),
    );
    // A slave's offer to stream its 1,000,000 entries.
    roundtrip(
        &Message::Bulk {
            offset: 0,
            count: 0,
            flags: 0,
            total: Some(1_000_000),
        },
        concat!("01040000", "00000000", "0000", "0000", "000f4240"),
    );
    roundtrip(
        &Message::BulkAck {
            next: 1000,
            credit: 512,
            flags: 0,
        },
        concat!("01050000", "000003e8", "00000200"),
    );
    // From a learner that held nothing when the stream began and stored every record.
    roundtrip(
        &Message::BulkAck {
            next: 1000,
            credit: 512,
            flags: scsp_recon::wire::ack_flags::CLEAN,
        },
        concat!("01050100", "000003e8", "00000200"),
    );
}

#[test]
fn refused() {
    use scsp_recon::WireError;
    let d = |h: &str| Message::decode(&hex::decode(h).unwrap());
    assert_eq!(d("01"), Err(WireError::Truncated { len: 1 }));
    assert_eq!(d("0202000000000080"), Err(WireError::Version(2)));
    assert_eq!(d("0109"), Err(WireError::Kind(9)));
    assert_eq!(d("0102000000000080"), Err(WireError::Truncated { len: 8 }));
    // Two cells announced, one present.
    assert_eq!(
        d(concat!(
            "01010000",
            "00000000",
            "0002",
            "0000",
            "0102030405060708",
            "1112131415161718",
            "00000001"
        )),
        Err(WireError::Length { len: 32, n: 2 })
    );
    // A part beyond the list's total.
    assert_eq!(
        d(concat!(
            "01030000",
            "0001",
            "0000",
            "00000001",
            "00000001",
            "b31cf7d25074e24f"
        )),
        Err(WireError::Length { len: 24, n: 1 })
    );
    assert_eq!(
        d("0103090000000000000000000000000000"),
        Err(WireError::Status(9))
    );
}

#[test]
fn packets_fit_the_mtu() {
    assert_eq!(cells_per_packet(1472), 70);
    assert_eq!(cells_per_packet(65000), 3247);
    for mtu in [100usize, 576, 1472, 9000, 65000] {
        let n = cells_per_packet(mtu) as usize;
        let m = Message::Cells {
            start: 0,
            cells: vec![Cell::default(); n],
        };
        assert!(m.to_bytes().len() + scsp_recon::wire::CA_CARRIER_LEN <= mtu);
    }
}
