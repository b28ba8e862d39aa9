//! Codec throughput: decode and encode of a full CSU Request (40-byte records) and of a full CA,
//! at an MTU of 1472 and of 65000, in MB/s (criterion's bytes throughput) and records/s (its
//! elements throughput). `cargo bench -p scsp-core --bench codec`; figures in
//! docs/PERFORMANCE.md.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use scsp_core::wire::*;

fn common() -> Common {
    Common {
        protocol_id: 65000,
        sgid: 7,
        sender: [127, 0, 0, 1].into(),
        receiver: [127, 0, 0, 2].into(),
    }
}

fn summary(i: u32) -> Csas {
    Csas {
        hops: 1,
        null: false,
        seq: SEQ_FIRST.wrapping_add(i),
        id: RecordId {
            key: i.to_be_bytes().into(),
            origin: [127, 0, 0, 1].into(),
        },
    }
}

/// As many records as fit in one packet of `mtu` bytes, as scsp-core packs them.
fn full(mtu: usize, kind: MessageType, len: usize) -> usize {
    (mtu - overhead(&common(), kind)) / len
}

fn csu_request(mtu: usize) -> Packet {
    let one = Csa {
        summary: summary(0),
        data: Data::from(&[0x5a; 40][..]),
    };
    let n = full(mtu, MessageType::CsuRequest, csa_len(&one));
    Packet {
        common: common(),
        body: Body::CsuRequest {
            records: (0..n as u32)
                .map(|i| Csa {
                    summary: summary(i),
                    data: Data::from(&[0x5a; 40][..]),
                })
                .collect(),
        },
        extensions: vec![],
    }
}

fn ca(mtu: usize) -> Packet {
    let n = full(mtu, MessageType::Ca, csas_len(&summary(0)));
    Packet {
        common: common(),
        body: Body::Ca {
            seq: 1,
            m: true,
            i: false,
            o: true,
            records: (0..n as u32).map(summary).collect(),
        },
        extensions: vec![],
    }
}

fn codec(c: &mut Criterion) {
    for mtu in [1472, 65000] {
        for (name, p) in [("csu_request", csu_request(mtu)), ("ca", ca(mtu))] {
            let bytes = encode(&p, None).expect("encodes");
            assert!(bytes.len() <= mtu);
            let records = p.body.record_count() as u64;
            let mut g = c.benchmark_group(format!("{name}_{mtu}"));
            g.throughput(Throughput::Bytes(bytes.len() as u64));
            g.bench_function("decode", |b| {
                b.iter(|| decode(black_box(&bytes)).expect("decodes"))
            });
            g.bench_function("encode", |b| {
                b.iter(|| encode(black_box(&p), None).expect("encodes"))
            });
            g.throughput(Throughput::Elements(records));
            g.bench_function("decode_records", |b| {
                b.iter(|| decode(black_box(&bytes)).expect("decodes"))
            });
            g.bench_function("encode_records", |b| {
                b.iter(|| encode(black_box(&p), None).expect("encodes"))
            });
            g.finish();
        }
    }
}

criterion_group!(benches, codec);
criterion_main!(benches);
