//! Expiries summarised: entries that expire within one window (1 s from the first) are logged
//! as one line at the window's end, with their count and the first few of them, so that 20,000
//! entries of one lifetime expiring together write one line, not 20,000. A lone expiry is
//! logged as before (`entry 86e0ca75 of 127.0.0.1 expired (IP 10.1.2.3, …)`), at most a
//! window late.

use std::time::{Duration, Instant};

/// How long a burst of expiries is gathered from its first.
pub const WINDOW: Duration = Duration::from_secs(1);
/// Entries named in a summary line.
pub const EXAMPLES: usize = 3;

/// The expiries of the current window.
#[derive(Debug, Default)]
pub struct Expiries {
    since: Option<Instant>,
    count: u64,
    /// `86e0ca75 of 127.0.0.1 (IP 10.1.2.3, …)` for the first [`EXAMPLES`].
    examples: Vec<String>,
}

impl Expiries {
    /// One entry expired at `now`; `describe` names it (only called for the first few).
    pub fn add(&mut self, now: Instant, describe: impl FnOnce() -> String) {
        self.since.get_or_insert(now);
        self.count += 1;
        if self.examples.len() < EXAMPLES {
            self.examples.push(describe());
        }
    }

    /// When the current window ends (the line is due), if anything expired.
    pub fn deadline(&self) -> Option<Instant> {
        self.since.map(|t| t + WINDOW)
    }

    /// The line of a window that has ended by `now`, if any (the window is then reset).
    pub fn take_due(&mut self, now: Instant) -> Option<String> {
        if self.deadline()? > now {
            return None;
        }
        let line = match self.count {
            1 => format!("entry {} expired", self.examples[0]),
            n => {
                let more = n - self.examples.len() as u64;
                let mut line = format!(
                    "{n} entries expired within {} s: {}",
                    WINDOW.as_secs(),
                    self.examples.join("; ")
                );
                if more > 0 {
                    line.push_str(&format!("; and {more} more"));
                }
                line
            }
        };
        *self = Expiries::default();
        Some(line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_one_line() {
        let t0 = Instant::now();
        let mut e = Expiries::default();
        assert_eq!(e.take_due(t0), None);
        let mut described = 0;
        for i in 0..20_000u32 {
            e.add(t0 + Duration::from_micros(u64::from(i)), || {
                described += 1;
                format!("{i:08x} of 127.0.0.1")
            });
        }
        assert_eq!(described, EXAMPLES, "only the first few are described");
        assert_eq!(e.take_due(t0 + Duration::from_millis(500)), None);
        assert_eq!(
            e.take_due(t0 + WINDOW).unwrap(),
            "20000 entries expired within 1 s: 00000000 of 127.0.0.1; 00000001 of 127.0.0.1; \
             00000002 of 127.0.0.1; and 19997 more"
        );
        assert_eq!(e.take_due(t0 + WINDOW * 2), None);
        assert_eq!(e.deadline(), None);
    }

    #[test]
    fn a_lone_expiry_reads_as_before() {
        let t0 = Instant::now();
        let mut e = Expiries::default();
        e.add(t0, || "86e0ca75 of 127.0.0.1 (KEY 86e0ca75)".into());
        assert_eq!(e.deadline(), Some(t0 + WINDOW));
        assert_eq!(
            e.take_due(t0 + WINDOW).unwrap(),
            "entry 86e0ca75 of 127.0.0.1 (KEY 86e0ca75) expired"
        );
        e.add(t0, || "a of b".into());
        e.add(t0, || "c of d".into());
        assert_eq!(
            e.take_due(t0 + WINDOW).unwrap(),
            "2 entries expired within 1 s: a of b; c of d"
        );
    }
}
