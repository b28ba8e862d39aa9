//! Sequence numbers: the CSA sequence space of B.2.0.2 and the CA sequence number of B.2.1.

use std::cmp::Ordering;

pub use crate::wire::{SEQ_FIRST, SEQ_LAST, SEQ_PURGE, SEQ_RESERVED};

/// Compare two CSA sequence numbers as the signed 32-bit values they are (B.2.0.2,
/// rfc2334-readings.md #8): a larger number is a more recent advertisement.
pub fn cmp_csa(a: u32, b: u32) -> Ordering {
    (a as i32).cmp(&(b as i32))
}

/// True when CSA sequence number `a` is more recent than `b`.
pub fn newer(a: u32, b: u32) -> bool {
    cmp_csa(a, b) == Ordering::Greater
}

/// What comes after `seq` for an originator updating its entry (B.2.0.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextSeq {
    /// Use this number for the new instance.
    Next(u32),
    /// The space is used up (`seq` is 2^31-2 or more): purge with 2^31-1 first, then restart at
    /// 0x80000001 once every DCS has acknowledged the purge.
    Wrap,
}

/// The next CSA sequence number after `seq`, adding `step` (1 for an ordinary update, the
/// configured constant after a restart). Never yields the reserved -2^31 nor the purge number.
pub fn next_csa(seq: u32, step: u32) -> NextSeq {
    let cur = i64::from(seq as i32);
    let next = cur + i64::from(step.max(1));
    if cur >= i64::from(SEQ_LAST as i32) || next > i64::from(SEQ_LAST as i32) {
        NextSeq::Wrap
    } else if next <= i64::from(SEQ_RESERVED as i32) {
        NextSeq::Next(SEQ_FIRST)
    } else {
        NextSeq::Next(next as i32 as u32)
    }
}

/// Serial-number comparison of CA sequence numbers (32-bit wrap-around, RFC 1982 style):
/// true when `a` is after `b`.
pub fn ca_after(a: u32, b: u32) -> bool {
    a != b && (a.wrapping_sub(b) as i32) > 0
}

/// A CA sequence number "not previously seen by the DCS" (B.2.1, rfc2334-readings.md #20): the low
/// 32 bits of the time of day in milliseconds, or one more than the last one used with that DCS if
/// the clock has not moved past it.
pub fn new_ca_seq(now_ms: u64, last: Option<u32>) -> u32 {
    let t = now_ms as u32;
    match last {
        Some(l) if !ca_after(t, l) => l.wrapping_add(1),
        _ => t,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn b_2_0_2_signed_comparison() {
        assert!(newer(SEQ_FIRST + 1, SEQ_FIRST));
        assert!(newer(0, SEQ_FIRST));
        assert!(newer(SEQ_LAST, 0));
        assert!(newer(SEQ_PURGE, SEQ_LAST));
        assert!(
            !newer(SEQ_FIRST, SEQ_PURGE),
            "the space does not wrap: -2^31+1 is oldest"
        );
        assert!(!newer(5, 5));
    }

    #[test]
    fn b_2_0_2_next_and_wrap() {
        assert_eq!(next_csa(SEQ_FIRST, 1), NextSeq::Next(SEQ_FIRST + 1));
        assert_eq!(next_csa(0xffff_ffff, 1), NextSeq::Next(0));
        assert_eq!(next_csa(SEQ_LAST - 1, 1), NextSeq::Next(SEQ_LAST));
        assert_eq!(next_csa(SEQ_LAST, 1), NextSeq::Wrap);
        assert_eq!(next_csa(SEQ_LAST - 3, 10), NextSeq::Wrap);
        assert_eq!(next_csa(SEQ_PURGE, 1), NextSeq::Wrap);
        // The reserved number itself (never sent by us) is followed by the first usable one.
        assert_eq!(next_csa(SEQ_RESERVED, 1), NextSeq::Next(SEQ_FIRST));
        assert_eq!(
            next_csa(SEQ_FIRST, 0),
            NextSeq::Next(SEQ_FIRST + 1),
            "step 0 acts as 1"
        );
    }

    #[test]
    fn b_2_1_ca_sequence_not_previously_seen() {
        assert_eq!(new_ca_seq(1000, None), 1000);
        assert_eq!(new_ca_seq(1000, Some(999)), 1000);
        assert_eq!(
            new_ca_seq(1000, Some(1000)),
            1001,
            "clock did not move: last + 1"
        );
        assert_eq!(new_ca_seq(1000, Some(5000)), 5001, "clock behind: last + 1");
        // Serial arithmetic across the 32-bit wrap.
        assert_eq!(new_ca_seq(5, Some(u32::MAX)), 5);
        assert!(ca_after(5, u32::MAX));
        assert!(!ca_after(u32::MAX, 5));
    }
}
