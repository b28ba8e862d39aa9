//! Packing records under a maximum packet size.

use std::ops::Range;

use super::error::EncodeError;
use super::types::MAX_PACKET;

/// Most records one message can count (16-bit Number of Records).
const MAX_RECORDS: usize = u16::MAX as usize;

/// Greedy split of records of the given lengths into runs whose packets, of `base` bytes plus
/// their records, are at most `max_len` (capped at 65535) and hold at most 65535 records.
pub(crate) fn split(
    base: usize,
    lens: impl Iterator<Item = usize>,
    max_len: usize,
) -> Result<Vec<Range<usize>>, EncodeError> {
    let max = max_len.min(MAX_PACKET);
    if base > max {
        return Err(EncodeError::TooLarge { len: base, max });
    }
    let mut runs = Vec::new();
    let mut start = 0;
    let mut size = base;
    let mut n = 0;
    for (i, len) in lens.enumerate() {
        let alone = base.saturating_add(len);
        if alone > max {
            return Err(EncodeError::RecordTooLarge { len: alone, max });
        }
        if size + len > max || i - start == MAX_RECORDS {
            runs.push(start..i);
            start = i;
            size = base;
        }
        size += len;
        n = i + 1;
    }
    runs.push(start..n);
    Ok(runs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_list_gives_one_empty_run() {
        let runs = split(32, std::iter::empty(), 100).unwrap();
        assert_eq!(runs.len(), 1);
        assert!(runs.iter().all(|r| r.is_empty() && r.start == 0));
    }

    #[test]
    fn exact_fit_and_overflow() {
        // 10 + 3 * 30 = 100 fits exactly; the fourth record starts a new packet.
        assert_eq!(split(10, [30; 4].into_iter(), 100), Ok(vec![0..3, 3..4]));
    }

    #[test]
    fn record_too_large_and_header_too_large() {
        assert_eq!(
            split(10, [30, 91].into_iter(), 100),
            Err(EncodeError::RecordTooLarge { len: 101, max: 100 })
        );
        assert_eq!(
            split(101, std::iter::empty(), 100),
            Err(EncodeError::TooLarge { len: 101, max: 100 })
        );
    }

    #[test]
    fn limit_is_capped_at_65535() {
        assert_eq!(
            split(65535, [1].into_iter(), usize::MAX),
            Err(EncodeError::RecordTooLarge {
                len: 65536,
                max: 65535
            })
        );
    }

    #[test]
    fn at_most_65535_records_per_run() {
        let runs = split(0, std::iter::repeat_n(0, 70_000), 65535).unwrap();
        assert_eq!(runs, vec![0..65535, 65535..70_000]);
    }
}
