//! Keyed hashing of instances and the Rateless IBLT index mapping (docs/reconciliation.md §3).

use siphasher::sip::SipHasher24;
use std::hash::Hasher;

/// XORed into both halves of the key for the checksum hash, so that the symbol and its checksum
/// are two independent keyed functions ("SCSPRCCK").
const CHECKSUM_TWEAK: u64 = 0x5343_5350_5243_434b;

/// The 128-bit key of a reconciliation: chosen at random by the server whose cells are streamed
/// (the CA master), advertised in its Hello, and used by both sides for every hash below. An
/// originator of entries who does not know it cannot craft two instances whose symbols collide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key(pub [u8; 16]);

impl Key {
    fn halves(&self) -> (u64, u64) {
        let mut a = [0u8; 8];
        let mut b = [0u8; 8];
        a.copy_from_slice(&self.0[..8]);
        b.copy_from_slice(&self.0[8..]);
        (u64::from_le_bytes(a), u64::from_le_bytes(b))
    }

    /// The symbol of an instance: SipHash-2-4 under this key of
    /// `len(cache key) ‖ cache key ‖ len(originator ID) ‖ originator ID ‖ sequence number (BE)`,
    /// each length one octet (B.2.0.2 bounds both by 255).
    pub fn symbol(&self, instance: &Instance<'_>) -> u64 {
        let (k0, k1) = self.halves();
        let mut h = SipHasher24::new_with_keys(k0, k1);
        h.write(&[instance.cache_key.len() as u8]);
        h.write(instance.cache_key);
        h.write(&[instance.originator.len() as u8]);
        h.write(instance.originator);
        h.write(&instance.seq.to_be_bytes());
        h.finish()
    }

    /// The checksum of a symbol: SipHash-2-4 of its 8 octets (little-endian) under the key with
    /// both halves XORed with `0x5343_5350_5243_434b`.
    pub fn checksum(&self, symbol: u64) -> u64 {
        let (k0, k1) = self.halves();
        let mut h = SipHasher24::new_with_keys(k0 ^ CHECKSUM_TWEAK, k1 ^ CHECKSUM_TWEAK);
        h.write(&symbol.to_le_bytes());
        h.finish()
    }
}

/// One SCSP instance: (Cache Key, Originator ID, CSA Sequence Number). Both byte strings are at
/// most 255 octets long (their lengths are one octet in a CSAS record); longer ones are hashed
/// with their length truncated, which a caller holding valid records never produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Instance<'a> {
    /// The Cache Key.
    pub cache_key: &'a [u8],
    /// The Originator ID.
    pub originator: &'a [u8],
    /// The CSA Sequence Number.
    pub seq: u32,
}

/// The indexes of the coded cells a symbol is added to: 0 first, then an increasing sequence
/// whose density at index i is about 1/(1 + i/2) (Yang, Gilad and Alizadeh, "Practical Rateless
/// Set Reconciliation", SIGCOMM 2024, §4). Seeded by the symbol's checksum.
#[derive(Debug, Clone, Copy)]
pub struct Mapping {
    prng: u64,
    // The current index as a double: every index below 2^53 is exact, and the sum below stays in
    // floating point, so the chain from one index to the next has no integer conversion in it.
    last: f64,
}

impl Mapping {
    /// The mapping of a symbol whose checksum is `checksum`; its first index is 0.
    pub fn new(checksum: u64) -> Self {
        Mapping {
            prng: checksum,
            last: 0.0,
        }
    }

    /// The current index (saturating at 2^64 - 1, far beyond any number of cells).
    pub fn index(&self) -> u64 {
        self.last as u64
    }

    /// Moves to the next index and returns it:
    /// `r = prng * 0xda942042e4dd58b5 mod 2^64; prng = r;
    ///  last += max(1, ceil((last + 1.5) * (2^32 / sqrt(r + 1) - 1)))`, in IEEE 754 double
    /// precision (`r` converted to the nearest double), which every conforming implementation
    /// computes identically (sqrt is correctly rounded). Indexes and steps are integers, exact
    /// below 2^53; only indexes below the number of cells (at most 2^32) are ever used.
    pub fn advance(&mut self) -> u64 {
        let r = self.prng.wrapping_mul(0xda94_2042_e4dd_58b5);
        self.prng = r;
        let step = ceil_nonneg(
            (self.last + 1.5) * ((1u64 << 32) as f64 / ((r as f64) + 1.0).sqrt() - 1.0),
        )
        .max(1.0);
        self.last += step;
        self.index()
    }
}

/// `x.ceil()` for `x >= 0` (or NaN), computed the same to the bit without a call to libm's
/// `ceil` (the baseline x86-64 target has no rounding instruction, and the call was about a
/// tenth of a cell update): below 2^52 a double truncates exactly to an integer, at and above
/// it every double is an integer already.
#[inline]
fn ceil_nonneg(x: f64) -> f64 {
    const EXACT: f64 = (1u64 << 52) as f64;
    if x < EXACT {
        let t = x as u64 as f64;
        if t < x { t + 1.0 } else { t }
    } else {
        x
    }
}

#[cfg(test)]
mod tests {
    use super::ceil_nonneg;

    #[test]
    fn ceil_nonneg_is_ceil() {
        let mut v = vec![
            0.0,
            0.5,
            1.0,
            1.5,
            2.0,
            4503599627370495.5,
            4503599627370496.0,
        ];
        v.extend([
            9007199254740993.0,
            1e300,
            f64::INFINITY,
            f64::MIN_POSITIVE,
            0.999_999_999,
        ]);
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..100_000 {
            x = x.wrapping_mul(0xda94_2042_e4dd_58b5).wrapping_add(1);
            v.push(f64::from_bits(x >> 2)); // positive, all exponents
            v.push((x >> 11) as f64 / 1024.0);
        }
        for x in v {
            assert_eq!(ceil_nonneg(x).to_bits(), x.ceil().to_bits(), "{x}");
        }
        assert!(ceil_nonneg(f64::NAN).is_nan());
    }
}

#[cfg(test)]
mod mapping_tests {
    use super::*;

    #[test]
    fn mapping_increases_and_density_is_logarithmic() {
        let key = Key([7; 16]);
        let mut total = 0u64;
        for s in 0..1000u64 {
            let mut m = Mapping::new(key.checksum(s));
            let mut prev = m.index();
            let mut n = 1;
            while m.advance() < 32768 {
                assert!(m.index() > prev);
                prev = m.index();
                n += 1;
            }
            total += n;
        }
        // About 2 ln(M/2) + 1, i.e. ~20 for M = 32768.
        let mean = total as f64 / 1000.0;
        assert!((15.0..25.0).contains(&mean), "{mean}");
    }
}
