//! Rate limits for log lines about what the network sends.
//!
//! Each (reason, DCS) pair has a budget of its own, so that a burst of one kind of packet, or
//! from one address, cannot hide the lines of another: garbage packets from one DCS do not
//! starve the authentication failures of another, nor packets from unknown addresses the
//! group mismatches. Whatever a budget suppresses is summarised in one line once its window
//! ends ([`RateLimits::summaries`]). The table holds one slot per reason (a fixed set of
//! static names) and configured DCS, so it is bounded by the configuration.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use scsp_core::DcsId;

/// Lines logged per (reason, DCS) in [`WINDOW`], beyond which they are counted and summarised.
pub const MAX_PER_WINDOW: u32 = 10;
/// See [`MAX_PER_WINDOW`].
pub const WINDOW: Duration = Duration::from_secs(60);

/// Why a line is logged: one budget per reason and DCS.
pub type Reason = &'static str;

#[derive(Debug)]
struct Slot {
    window_start: Instant,
    logged: u32,
    suppressed: u64,
}

/// The budgets of one server.
#[derive(Debug, Default)]
pub struct RateLimits {
    slots: HashMap<(Reason, Option<DcsId>), Slot>,
    /// Slots with suppressed lines not yet summarised.
    pending: usize,
}

/// Lines suppressed under one budget in a window that has ended.
#[derive(Debug, PartialEq, Eq)]
pub struct Suppressed {
    /// The reason.
    pub reason: Reason,
    /// The DCS, if the lines were about one.
    pub dcs: Option<DcsId>,
    /// How many lines were suppressed.
    pub count: u64,
}

impl RateLimits {
    /// A line for `reason` about `dcs` (None: no configured DCS, e.g. an unknown address):
    /// `Some(n)` to log it now, noting the `n` lines suppressed before it under the same
    /// budget; `None` to suppress it.
    pub fn allow(&mut self, now: Instant, reason: Reason, dcs: Option<DcsId>) -> Option<u64> {
        let slot = self.slots.entry((reason, dcs)).or_insert(Slot {
            window_start: now,
            logged: 0,
            suppressed: 0,
        });
        if now.duration_since(slot.window_start) >= WINDOW {
            slot.window_start = now;
            slot.logged = 0;
        }
        if slot.logged < MAX_PER_WINDOW {
            slot.logged += 1;
            let n = std::mem::take(&mut slot.suppressed);
            if n > 0 {
                self.pending -= 1;
            }
            Some(n)
        } else {
            if slot.suppressed == 0 {
                self.pending += 1;
            }
            slot.suppressed += 1;
            None
        }
    }

    /// The budgets whose window has ended with lines suppressed: each is reported once, and
    /// its count starts again from zero. Cheap when nothing is suppressed.
    pub fn summaries(&mut self, now: Instant) -> Vec<Suppressed> {
        if self.pending == 0 {
            return Vec::new();
        }
        let mut out = Vec::new();
        for (&(reason, dcs), slot) in &mut self.slots {
            if slot.suppressed > 0 && now.duration_since(slot.window_start) >= WINDOW {
                out.push(Suppressed {
                    reason,
                    dcs,
                    count: std::mem::take(&mut slot.suppressed),
                });
                slot.window_start = now;
                slot.logged = 0;
            }
        }
        self.pending -= out.len();
        out.sort_by_key(|s| (s.reason, s.dcs));
        out
    }

    /// Forget the budgets of a DCS that is removed.
    pub fn forget(&mut self, dcs: DcsId) {
        let before = self.slots.len();
        self.slots.retain(|&(_, d), s| {
            let keep = d != Some(dcs);
            if !keep && s.suppressed > 0 {
                // Counted in `pending`; it goes with the slot.
                s.suppressed = 0;
            }
            keep
        });
        if self.slots.len() != before {
            self.pending = self.slots.values().filter(|s| s.suppressed > 0).count();
        }
    }
}

/// " (N similar messages suppressed)", or nothing.
pub fn suppressed_note(n: u64) -> String {
    if n == 0 {
        String::new()
    } else {
        format!(" ({n} similar messages suppressed)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_are_per_reason_and_dcs() {
        let t0 = Instant::now();
        let mut l = RateLimits::default();
        let a = Some(DcsId(0));
        for _ in 0..MAX_PER_WINDOW {
            assert_eq!(l.allow(t0, "malformed", a), Some(0));
        }
        assert_eq!(l.allow(t0, "malformed", a), None, "budget spent");
        // Another reason, or another DCS, has a budget of its own.
        assert_eq!(l.allow(t0, "auth", a), Some(0));
        assert_eq!(l.allow(t0, "malformed", Some(DcsId(1))), Some(0));
        assert_eq!(l.allow(t0, "unknown source", None), Some(0));
        assert!(l.summaries(t0).is_empty(), "the window has not ended");
        // Once the window ends, what was suppressed is summarised, once.
        let t1 = t0 + WINDOW;
        assert_eq!(
            l.summaries(t1),
            vec![Suppressed {
                reason: "malformed",
                dcs: a,
                count: 1
            }]
        );
        assert!(l.summaries(t1 + WINDOW).is_empty());
        assert_eq!(l.allow(t1, "malformed", a), Some(0));
    }

    #[test]
    fn a_line_logged_after_suppression_carries_the_count() {
        let t0 = Instant::now();
        let mut l = RateLimits::default();
        for _ in 0..MAX_PER_WINDOW + 3 {
            l.allow(t0, "x", None);
        }
        assert_eq!(l.allow(t0 + WINDOW, "x", None), Some(3));
        assert!(l.summaries(t0 + WINDOW * 2).is_empty(), "already reported");
    }

    #[test]
    fn forgetting_a_dcs_drops_its_pending_summary() {
        let t0 = Instant::now();
        let mut l = RateLimits::default();
        for _ in 0..MAX_PER_WINDOW + 1 {
            l.allow(t0, "x", Some(DcsId(4)));
        }
        l.forget(DcsId(4));
        assert!(l.summaries(t0 + WINDOW).is_empty());
    }
}
