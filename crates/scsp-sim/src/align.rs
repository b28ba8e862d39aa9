//! The alignment benchmark: two linked servers, one holding N entries before the link comes up.

use std::time::{Duration, Instant};

use crate::config::{SimConfig, Topology};
use crate::sim::run_seed;

/// What the alignment benchmark measured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlignResult {
    /// Entries server 0 held.
    pub entries: usize,
    /// Server 1 ended with the same cache, both DCSs Aligned with nothing outstanding.
    pub converged: bool,
    /// Virtual time from the link coming up to that state (to the check interval).
    pub virtual_time: Option<Duration>,
    /// Wall-clock time of the whole run, origination of the entries included.
    pub wall: Duration,
    /// Packets sent.
    pub packets: u64,
    /// Bytes sent.
    pub bytes: u64,
    /// What went wrong, if anything.
    pub failures: Vec<String>,
}

/// Two servers on a perfect link (the delays of `base` apply); server 0 originates `entries`
/// entries, then the link comes up; the run ends when server 1 holds the same entries and both
/// DCSs are Aligned, or after `base.max_settle`. Timers, MTU and delays come from `base`.
pub fn run_align(entries: usize, base: &SimConfig) -> AlignResult {
    let cfg = SimConfig {
        servers: 2,
        topology: Topology::Line,
        loss: 0.0,
        dup: 0.0,
        reorder: 0.0,
        partitions: 0,
        restarts: 0,
        entries: 0,
        update_fraction: 0.0,
        withdraw_fraction: 0.0,
        preload: entries,
        fault_phase: Duration::ZERO,
        stable_for: Duration::ZERO,
        settle_loss: 0.0,
        ..base.clone()
    };
    let start = Instant::now();
    let r = run_seed(&cfg, 0);
    AlignResult {
        entries,
        converged: r.converged,
        virtual_time: r.converge_time,
        wall: start.elapsed(),
        packets: r.packets,
        bytes: r.bytes,
        failures: r.failures,
    }
}
