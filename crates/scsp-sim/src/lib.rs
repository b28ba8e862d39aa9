//! # scsp-sim
//!
//! A deterministic simulator of a group of [`scsp_core::Server`]s: N servers in a topology, on
//! virtual time, over a seeded network that drops, duplicates, reorders and delays packets, with
//! scripted partitions and server restarts during a fault phase: a restart keeps the server (its
//! links go down for a while), replaces it by a fresh one (state lost), or replaces it by one that
//! holds again what it had saved on its disk ([`SimConfig::saved_restart`]: the disk lags the cache
//! by the changes of the last commit interval, as with a writer that coalesces changes).
//! After the fault phase the network is made perfect (no loss, duplication or reordering; the
//! per-link delays stay; see [`SimConfig::settle_loss`] to keep some loss) and the run goes on
//! until every check passes and keeps passing for [`SimConfig::stable_for`], or until
//! [`SimConfig::max_settle`]:
//!
//! - every server holds, as live entries, exactly the entries that the applications want: each
//!   entry an application has originated and not withdrawn, with the application's data and the
//!   sequence number its originator holds; so every cache is identical;
//! - no entry an application withdrew is back, and no other entry is there;
//! - every DCS is Bidirectional and Aligned with an empty retransmit queue and CSA Request List;
//! - no input named a DCS its server does not have (`Server::unknown_dcs_inputs`).
//!
//! Throughout the run, at every change of every cache, two more checks:
//!
//! - no two different data are held under one (key, origin, sequence number), anywhere, at any
//!   time, unless the originator had lost its state (B.2.0.2's equal numbers, which only such an
//!   originator can make: counted in [`SeedResult::seq_conflicts`]);
//! - once the run has converged, no entry its originator's application withdrew is held live
//!   anywhere ([`SeedResult::resurrected`]).
//!
//! Entries that a saved restart should leave under their numbers (live at the crash, not changed
//! by the application afterwards) are counted, and those renumbered anyway
//! ([`SeedResult::renumbered`]). Of an entry whose instance the disk held, that is a failure (it
//! comes back under its number and the handover claims it). Of one whose last change the disk
//! lost (made in the last commit interval before the crash), it is a figure: a handover without
//! numbers then numbers the change anew, unless a DCS showed it first.
//!
//! Everything is drawn from the seed with ChaCha8 (script, network, workload and disk commits on
//! separate streams), nothing in the simulator depends on the iteration order of a hash map, and
//! each server's hash tables are seeded from the run's seed (`ServerConfig::hash_seed`), so a seed
//! run again, in the same process or another, gives the same run byte for byte.
//!
//! ## The binary
//!
//! ```text
//! scsp-sim --servers 7 --topology random --seeds 200 --loss 0.2 --dup 0.05 --reorder 0.1 \
//!          --partitions 3 --restarts 2 --entries 500
//! ```
//!
//! runs seeds 0..200 and prints one line per failing seed (`seed S: what diverged; ...`), then
//! `converged X/Y seeds max_converge=…s median_converge=…s packets=… relapses=…
//! saved_restarts=… renumbered=R/U renumbered_unseen=… seq_conflicts=… resurrected=…`; it exits
//! with 1 unless every seed converged. `--restarts N --fresh-restarts F --saved-restarts S`: N
//! restarts, each losing its state with probability F, keeping its saved state with probability S,
//! else keeping the server. `--seed S` runs only seed S (reproducing a failing one exactly) and
//! `--verbose` (`-v`, `-vv`) prints its trace: every packet sent, lost, blocked, duplicated and
//! delivered, every FSM transition, the faults and the workload, on virtual time. `--align N`
//! measures how long two servers take to align N entries. `scsp-sim --help` lists every option.
//!
//! ## The library
//!
//! [`run_seed`] runs one seed of a [`SimConfig`] and returns a [`SeedResult`]; [`run_align`] runs
//! the alignment benchmark.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod align;
mod config;
mod sim;
pub mod topology;

pub use align::{AlignResult, run_align};
pub use config::{SimConfig, Timers, Topology};
pub use sim::{SeedResult, fmt_secs, run_seed, run_seed_traced};
