//! PinSketch (minisketch) on the reconciliation workload: bytes, decode time and the cost of keeping
//! a sketch up to date, for K differences with capacity K (its best case: K known beforehand).

use minisketch_rs::Minisketch;
use std::time::Instant;

fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn main() {
    let ks: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let ks = if ks.is_empty() { vec![10, 100, 1000, 10000] } else { ks };
    for k in ks {
        let c = k; // capacity = K exactly: PinSketch's best case (K known in advance)
        // Per-element cost of keeping a sketch of capacity c up to date: 20,000 additions timed.
        let mut s = Minisketch::try_new(64, 0, c).unwrap();
        let n = 20_000u64;
        let t = Instant::now();
        for i in 0..n {
            s.add(mix(i) | 1);
        }
        let add_ns = t.elapsed().as_secs_f64() * 1e9 / n as f64;
        // Sketches are linear: A's and B's sketches merged are the sketch of the difference; build
        // both from their own elements of the difference (the common part cancels).
        let mut a = Minisketch::try_new(64, 0, c).unwrap();
        let mut b = Minisketch::try_new(64, 0, c).unwrap();
        for j in 0..k as u64 {
            if j % 2 == 0 { a.add(mix(1 << 40 | j) | 1) } else { b.add(mix(1 << 40 | j) | 1) }
        }
        let mut buf = vec![0u8; a.serialized_size()];
        a.serialize(&mut buf).unwrap();
        let t = Instant::now();
        let mut a2 = Minisketch::try_new(64, 0, c).unwrap();
        a2.deserialize(&buf);
        a2.merge(&b).unwrap();
        let mut out = vec![0u64; c];
        let got = a2.decode(&mut out).unwrap();
        let dec_ms = t.elapsed().as_secs_f64() * 1e3;
        println!("pinsketch K={k} capacity={c} sketch_bytes={} decode_ms={dec_ms:.2} decoded={got} add_ns_per_element={add_ns:.0}", buf.len());
    }
}
