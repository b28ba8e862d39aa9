//! The fault lab: real scspd processes whose DCS links pass through an impairment relay on
//! loopback (per-link loss, delay, jitter, duplication, reordering, partitions; seeded), a local
//! server per scspd changing its entries, and a ground truth to judge the caches by.
//!
//! `scsp-bench lab` runs one scenario in four phases:
//! 1. **preload**, links clean: every server originates `--entries` entries; the group converges;
//! 2. **churn**, faults on: for `--churn` seconds every server adds, updates and deletes its own
//!    entries at `--rate` changes per second (a third of each, keys never reused once deleted);
//!    partitions of `--partition` come and go on their schedule;
//! 3. **keep**, faults still on, no changes: `--keep` seconds, or until the caches converge;
//! 4. **settle**, faults off: until the caches converge, at most `--settle` seconds.
//!
//! What it measures, against the ground truth (every change and the sequence number the
//! originating scspd gave it):
//! - the *lag* of each change at each other server: from the change at its origin to the first
//!   notification (of the attached local server) at which that server holds it, or something newer;
//!   a change never reached counts as infinitely late;
//! - the convergence times: from the end of the churn with the faults kept on, and from the faults
//!   going off: the first poll at which every server's cache is exactly the ground truth
//!   (key, originator, sequence number, data);
//! - at the end: entries *lost* (live in the truth, absent or older at a server), *resurrected*
//!   (deleted in the truth, present at a server) and *unknown* (never in the truth).

mod oracle;
pub mod relay;
mod scenario;
mod workload;

pub use scenario::{Args, run};
