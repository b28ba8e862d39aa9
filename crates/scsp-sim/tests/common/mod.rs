//! Helpers shared by the simulator's tests.

use scsp_sim::{SimConfig, Topology};

/// The simulator's scenario of the README, small: 5 servers, random topology, loss 0.2,
/// dup 0.05, reorder 0.1, 2 partitions, 100 entries; `restarts` restarts, of which the given
/// fractions lose their state or keep what they saved (the rest keep their state in memory).
pub fn scenario(restarts: usize, fresh_restart: f64, saved_restart: f64) -> SimConfig {
    SimConfig {
        servers: 5,
        topology: Topology::Random,
        loss: 0.2,
        dup: 0.05,
        reorder: 0.1,
        partitions: 2,
        restarts,
        fresh_restart,
        saved_restart,
        entries: 100,
        ..SimConfig::default()
    }
}
