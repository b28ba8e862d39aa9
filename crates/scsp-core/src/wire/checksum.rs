//! The Internet checksum (RFC 1071) as SCSP uses it (B.1).

/// One's complement sum of `bytes` taken as big-endian 16-bit words, not yet folded. An odd
/// final byte is the high octet of a last word whose low octet is 0x00 (B.1: "as if a byte set
/// to 0x00 is appended to the end of the packet"). The original HARP daemon added it as the low
/// octet, which is wrong.
///
/// Each 16-bit word is added into a `u64`; a packet is at most 32768 words of at most 0xffff, so
/// the sum cannot overflow for anything an SCSP packet can be, and even a slice of many GiB
/// stays far from 2^64.
pub(crate) fn sum(bytes: &[u8]) -> u64 {
    // Eight bytes (four words) at a time, which the compiler vectorises well.
    let mut acc: u64 = 0;
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_be_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        acc += (w >> 48) + ((w >> 32) & 0xffff) + ((w >> 16) & 0xffff) + (w & 0xffff);
    }
    let rest = chunks.remainder();
    let mut words = rest.chunks_exact(2);
    for w in &mut words {
        acc += u64::from(u16::from_be_bytes([w[0], w[1]]));
    }
    if let [last] = words.remainder() {
        // The padding byte goes at the END: the odd byte is the high octet.
        acc += u64::from(*last) << 8;
    }
    acc
}

/// Fold a sum of 16-bit words into 16 bits with end-around carry.
pub(crate) fn fold(mut acc: u64) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    // The loop leaves acc <= 0xffff.
    acc as u16
}

/// The Internet checksum of `bytes` (RFC 1071): the one's complement of the one's complement sum
/// of the bytes taken as big-endian 16-bit words, an odd length being padded with a 0x00 byte at
/// the end (so the last byte is the high octet of the final word), as B.1 specifies.
///
/// To fill in the Checksum field of a packet, compute this over the packet with the field set to
/// zero. A received packet is intact when the checksum over all of it, field included, is 0.
///
/// ```
/// use scsp_core::wire::checksum;
/// // RFC 1071 section 3's example: the words 0001 f203 f4f5 f6f7 sum to ddf2.
/// assert_eq!(checksum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]), !0xddf2);
/// // An odd byte is the high octet of the last word: [0x01] counts as 0x0100.
/// assert_eq!(checksum(&[0x01]), !0x0100);
/// ```
pub fn checksum(bytes: &[u8]) -> u16 {
    !fold(sum(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A word-at-a-time reference, as RFC 1071 section 4.1 writes it.
    fn reference(bytes: &[u8]) -> u16 {
        let mut sum: u32 = 0;
        let mut i = 0;
        while i + 1 < bytes.len() {
            sum += (u32::from(bytes[i]) << 8) | u32::from(bytes[i + 1]);
            i += 2;
        }
        if i < bytes.len() {
            sum += u32::from(bytes[i]) << 8;
        }
        while sum >> 16 != 0 {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        !(sum as u16)
    }

    #[test]
    fn rfc1071_example() {
        // RFC 1071 section 3: the sum of 0001 f203 f4f5 f6f7 is ddf2 (with carries folded).
        let b = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(fold(sum(&b)), 0xddf2);
        assert_eq!(checksum(&b), 0x220d);
    }

    #[test]
    fn odd_length_pads_at_the_end() {
        // 0x0102 + 0x0300 = 0x0402, checksum = !0x0402 = 0xfbfd. HARP's wrong reading would
        // have added 0x0003 and given !0x0105 = 0xfefa.
        assert_eq!(checksum(&[0x01, 0x02, 0x03]), 0xfbfd);
        assert_ne!(checksum(&[0x01, 0x02, 0x03]), 0xfefa);
        assert_eq!(checksum(&[0xab]), !0xab00);
    }

    #[test]
    fn empty_and_all_ones() {
        assert_eq!(checksum(&[]), 0xffff);
        // 0xffff + 0xffff = 0x1fffe -> 0xffff, complement 0.
        assert_eq!(checksum(&[0xff; 4]), 0);
    }

    #[test]
    fn a_filled_in_checksum_verifies_to_zero() {
        for len in 0..64usize {
            let mut b: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            if b.len() < 6 {
                continue;
            }
            b[4] = 0;
            b[5] = 0;
            let c = checksum(&b);
            b[4..6].copy_from_slice(&c.to_be_bytes());
            assert_eq!(checksum(&b), 0, "len {len}");
        }
    }

    #[test]
    fn matches_the_reference_on_every_length_and_carry() {
        let mut x: u32 = 0x1234_5678;
        for len in 0..300usize {
            let b: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    // Skew towards 0xff to exercise carries.
                    (x as u8) | 0xc0
                })
                .collect();
            assert_eq!(checksum(&b), reference(&b), "len {len}");
        }
        let big = vec![0xffu8; 65535];
        assert_eq!(checksum(&big), reference(&big));
    }
}
