//! Records shaped like an scspd cache entry, generated deterministically from an index.
//!
//! Key: a length byte, the cache key (4–20 bytes, its first four a bijective mix of the index, so
//! keys are unique and arrive in no particular order), the Originator ID (4 bytes).
//! Value: the sequence number (4 bytes), flags (1 byte), data (40–60 bytes) whose last 8 bytes are
//! a checksum of the key and of everything before them, so a scan can tell a torn record.

pub fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// A bijection on u32 (xorshift and odd multiplications are invertible).
fn mix32(mut x: u32) -> u32 {
    x ^= x >> 16;
    x = x.wrapping_mul(0x7feb_352d);
    x ^= x >> 15;
    x = x.wrapping_mul(0x846c_a68b);
    x ^= x >> 16;
    x
}

pub fn fnv64(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for &b in *p {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

/// The key of entry `i` (i < 2^32).
pub fn key(i: u64, out: &mut Vec<u8>) {
    let h = splitmix(i);
    let len = 4 + (h % 17) as usize;
    out.clear();
    out.push(len as u8);
    out.extend_from_slice(&mix32(i as u32).to_be_bytes());
    let fill = splitmix(h);
    for j in 4..len {
        out.push((fill >> ((j % 8) * 8)) as u8);
    }
    let originator = 0x0a00_0001u32 + (i % 5) as u32;
    out.extend_from_slice(&originator.to_be_bytes());
}

/// The value of entry `i` at sequence number `seq`, for `key` (the output of [`key`]).
pub fn value(i: u64, seq: u32, key: &[u8], out: &mut Vec<u8>) {
    let h = splitmix(i ^ 0x5555);
    let data_len = 40 + (h % 21) as usize;
    out.clear();
    out.extend_from_slice(&seq.to_be_bytes());
    out.push(0x01); // flags
    let mut x = h ^ u64::from(seq);
    while out.len() < 5 + data_len - 8 {
        x = splitmix(x);
        out.extend_from_slice(&x.to_le_bytes()[..(5 + data_len - 8 - out.len()).min(8)]);
    }
    let sum = fnv64(&[key, out]);
    out.extend_from_slice(&sum.to_le_bytes());
}

/// Whether a record's checksum holds.
pub fn check(key: &[u8], value: &[u8]) -> bool {
    if value.len() < 13 {
        return false;
    }
    let (body, sum) = value.split_at(value.len() - 8);
    fnv64(&[key, body]).to_le_bytes() == sum
}

/// Keys of the crash test's own records: `0xFE`, trial, batch, index in batch. They sort apart
/// from the entries' keys, whose first byte is a length of at most 20.
pub fn crash_key(trial: u16, batch: u64, i: u32, out: &mut Vec<u8>) {
    out.clear();
    out.push(0xFE);
    out.extend_from_slice(&trial.to_be_bytes());
    out.extend_from_slice(&batch.to_be_bytes());
    out.extend_from_slice(&i.to_be_bytes());
}

pub fn parse_crash_key(k: &[u8]) -> Option<(u16, u64, u32)> {
    if k.len() != 15 || k[0] != 0xFE {
        return None;
    }
    Some((
        u16::from_be_bytes(k[1..3].try_into().ok()?),
        u64::from_be_bytes(k[3..11].try_into().ok()?),
        u32::from_be_bytes(k[11..15].try_into().ok()?),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_shaped_like_entries() {
        let mut seen = std::collections::HashSet::new();
        let (mut k, mut v) = (Vec::new(), Vec::new());
        for i in 0..200_000u64 {
            key(i, &mut k);
            assert!((1 + 4 + 4..=1 + 20 + 4).contains(&k.len()));
            assert!(seen.insert(k.clone()));
            value(i, 7, &k, &mut v);
            assert!((5 + 40..=5 + 60).contains(&v.len()));
            assert!(check(&k, &v));
            v[6] ^= 1;
            assert!(!check(&k, &v));
        }
    }

    #[test]
    fn crash_keys_round_trip() {
        let mut k = Vec::new();
        crash_key(3, 99, 7, &mut k);
        assert_eq!(parse_crash_key(&k), Some((3, 99, 7)));
    }
}
