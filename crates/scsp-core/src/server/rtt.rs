//! Round-trip time per DCS and the retransmission timeout it gives (RFC 6298's estimator).
//!
//! RFC 2334 retransmits CA, CSUS and CSU Request messages after fixed intervals (CAReXmitInt,
//! CSUSReXmitInt, CSUReXmitInt: seconds). Over a lossy path every loss then costs the whole
//! interval, and a lock-step Cache Summarize of a few thousand entries takes minutes at 20%
//! loss. With adaptive timers (the default; `ReXmitTimers fixed` keeps the RFC's), each message
//! is retransmitted after the timeout this estimator gives, doubled at each retransmission of
//! the same message (RFC 6298 5.5), and never later than the configured interval, which stays
//! the upper bound. Samples follow Karn's rule: only an answer to a message sent once is timed.
//! docs/rfc2334-readings.md, "retransmission timers".

use std::time::Duration;

/// The smallest timeout (RFC 6298 says 1 s for TCP over the Internet; SCSP servers are usually
/// a few milliseconds apart, and a late retransmission of a lock-step exchange costs a whole
/// round).
pub const MIN_RTO: Duration = Duration::from_millis(100);
/// The clock granularity G of RFC 6298 2.2.
const GRANULARITY: Duration = Duration::from_millis(1);

/// The smoothed round-trip time and its variation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rtt {
    srtt: Option<Duration>,
    rttvar: Duration,
    /// Samples taken.
    pub samples: u64,
}

impl Rtt {
    /// Take a sample (RFC 6298 2.2 and 2.3, alpha 1/8, beta 1/4).
    pub fn sample(&mut self, r: Duration) {
        self.samples += 1;
        match self.srtt {
            None => {
                self.srtt = Some(r);
                self.rttvar = r / 2;
            }
            Some(s) => {
                let diff = s.abs_diff(r);
                self.rttvar = (self.rttvar * 3 + diff) / 4;
                self.srtt = Some((s * 7 + r) / 8);
            }
        }
    }

    /// The smoothed round-trip time, once measured.
    pub fn srtt(&self) -> Option<Duration> {
        self.srtt
    }

    /// The timeout for a message sent `retries` times before, bounded by `max` (the configured
    /// interval): SRTT + max(G, 4 × RTTVAR), at least [`MIN_RTO`], doubled per retry. Without a
    /// sample yet: `max`.
    pub fn rto(&self, retries: u32, max: Duration) -> Duration {
        let Some(s) = self.srtt else { return max };
        let base = (s + (self.rttvar * 4).max(GRANULARITY)).max(MIN_RTO);
        let backed = base.saturating_mul(1u32 << retries.min(16));
        backed.min(max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn rfc_6298_first_sample_then_smoothing() {
        let mut r = Rtt::default();
        assert_eq!(
            r.rto(0, MS * 3000),
            MS * 3000,
            "no sample: the configured interval"
        );
        r.sample(MS * 20);
        // SRTT 20, RTTVAR 10: 20 + 40 = 60, raised to the minimum.
        assert_eq!(r.rto(0, MS * 3000), MIN_RTO);
        for _ in 0..50 {
            r.sample(MS * 200);
        }
        let rto = r.rto(0, MS * 3000);
        assert!(rto >= MS * 200 && rto < MS * 300, "{rto:?}");
    }

    #[test]
    fn backoff_doubles_and_is_capped_by_the_configured_interval() {
        let mut r = Rtt::default();
        for _ in 0..20 {
            r.sample(MS * 100);
        }
        let base = r.rto(0, MS * 10_000);
        assert_eq!(r.rto(1, MS * 10_000), base * 2);
        assert_eq!(r.rto(2, MS * 10_000), base * 4);
        assert_eq!(r.rto(30, MS * 2000), MS * 2000);
    }
}
