//! Rough codec throughput, for the README's figures. Ignored by default; run with
//! `cargo test --release -p scsp-core --test wire_perf -- --ignored --nocapture`.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use scsp_core::wire::*;

fn common() -> Common {
    Common {
        protocol_id: 1,
        sgid: 1,
        sender: [10, 0, 0, 1].into(),
        receiver: [10, 0, 0, 2].into(),
    }
}

fn summary(i: u32) -> Csas {
    Csas {
        hops: 1,
        null: false,
        seq: SEQ_FIRST.wrapping_add(i),
        id: RecordId {
            key: i.to_be_bytes().into(),
            origin: [10, 0, 0, 1].into(),
        },
    }
}

/// Time `f` over `n` iterations; print per-iteration time and throughput for `bytes` each.
fn time(name: &str, n: u32, bytes: usize, mut f: impl FnMut()) {
    let t = Instant::now();
    for _ in 0..n {
        f();
    }
    let per = t.elapsed() / n;
    let mbps = bytes as f64 / per.as_secs_f64() / 1e6;
    println!("{name:<44} {per:>10.2?} per packet  {mbps:>8.0} MB/s");
}

#[test]
#[ignore = "timing, run by hand in release mode"]
fn codec_throughput() {
    let key = AuthKey {
        spi: 1,
        algorithm: AuthAlgorithm::HmacMd5,
        key: b"key".to_vec(),
    };
    // A full CA: 3275 CSAS records, 65528 bytes.
    let ca = Packet {
        common: common(),
        body: Body::Ca {
            seq: 1,
            m: false,
            i: false,
            o: true,
            records: (0..3275).map(summary).collect(),
        },
        extensions: vec![],
    };
    let ca_bytes = encode(&ca, None).unwrap();
    time(
        "encode CA, 3275 CSAS (65528 B)",
        200,
        ca_bytes.len(),
        || {
            black_box(encode(black_box(&ca), None).unwrap());
        },
    );
    time(
        "decode CA, 3275 CSAS (65528 B)",
        200,
        ca_bytes.len(),
        || {
            black_box(decode(black_box(&ca_bytes)).unwrap());
        },
    );
    // CSU Requests of 60-byte ATMARP-sized CSAs at an MTU of 1472, signed with HMAC-MD5.
    let csas: Vec<Csa> = (0..23)
        .map(|i| Csa {
            summary: summary(i),
            data: Arc::from(&[0x5a; 40][..]),
        })
        .collect();
    let csu = Packet {
        common: common(),
        body: Body::CsuRequest { records: csas },
        extensions: vec![],
    };
    let csu_bytes = encode(&csu, Some(&key)).unwrap();
    time(
        "encode+sign CSU Request, 23 CSAs (1436 B)",
        20_000,
        csu_bytes.len(),
        || {
            black_box(encode(black_box(&csu), Some(&key)).unwrap());
        },
    );
    time(
        "decode CSU Request, 23 CSAs (1436 B)",
        20_000,
        csu_bytes.len(),
        || {
            black_box(decode(black_box(&csu_bytes)).unwrap());
        },
    );
    let decoded = decode(&csu_bytes).unwrap();
    time("verify HMAC-MD5 (1436 B)", 20_000, csu_bytes.len(), || {
        assert!(verify_auth(black_box(&csu_bytes), &decoded, |_| Some(key.clone())).is_ok());
    });
    time("checksum (65528 B)", 2000, ca_bytes.len(), || {
        black_box(checksum(black_box(&ca_bytes)));
    });
    // Splitting a million summaries into 1472-byte CAs.
    let million: Vec<Csas> = (0..1_000_000).map(summary).collect();
    let t = Instant::now();
    let runs = split_csas(&common(), MessageType::Ca, &million, 1472, 0).unwrap();
    println!(
        "split 1e6 CSAS into {} CAs of <= 1472 B: {:.2?}",
        runs.len(),
        t.elapsed()
    );
}
