//! The fault lab: real scspd processes whose DCS links pass through an impairment relay on
//! loopback (per-link loss, delay, jitter, duplication, reordering, partitions; seeded).
//!
//! Not finished: only the relay exists so far; the topology, workload, oracle and the `lab`
//! command are still to be built on it.

pub mod relay;
