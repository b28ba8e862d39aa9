//! What a simulation run is made of: the topology, the network's faults, the workload and the
//! protocol timers.

use std::time::Duration;

use scsp_core::DcsConfig;
use scsp_core::wire::Id;

/// How the servers are connected. Every kind is connected; each edge is one DCS pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Topology {
    /// Server i is linked to server i+1.
    Line,
    /// A line closed into a circle (from 3 servers on).
    Ring,
    /// Server 0 is linked to every other server.
    Star,
    /// Every pair of servers is linked.
    Full,
    /// A random spanning tree plus about N/2 extra random links (drawn from the seed).
    Random,
}

/// Which protocol timers the DCSs use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Timers {
    /// Short timers so that runs are quick in virtual time: HelloInterval 1 s, DeadFactor 3,
    /// CAReXmitInt 1 s, CSUSReXmitInt 1 s, CSUReXmitInt 1 s, CSUReXmitMax 5.
    Fast,
    /// The defaults of [`DcsConfig::new`] (the original daemon's: HelloInterval 3 s, DeadFactor 3,
    /// CAReXmitInt 3 s, CSUSReXmitInt 3 s, CSUReXmitInt 2 s, CSUReXmitMax 5).
    Rfc,
}

/// Everything that defines a run; together with a seed it determines the run exactly.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Number of servers.
    pub servers: usize,
    /// How they are linked.
    pub topology: Topology,
    /// Probability that a packet is lost, during the fault phase.
    pub loss: f64,
    /// Probability that a packet is delivered twice, during the fault phase.
    pub dup: f64,
    /// Probability that a packet is held back by an extra random delay (up to
    /// `reorder_delay_ms`), so that later packets on its link overtake it, during the fault phase.
    pub reorder: f64,
    /// Range of the one-way delay of a link, in milliseconds, drawn once per directed link.
    /// Without reordering a link is FIFO.
    pub delay_ms: (u64, u64),
    /// Largest extra delay of a reordered packet, in milliseconds.
    pub reorder_delay_ms: u64,
    /// Number of partitions during the fault phase: each cuts a random set of links (or every
    /// link between two random groups of servers) for a random time, then heals.
    pub partitions: usize,
    /// Number of server restarts during the fault phase, each of one of three kinds: the server
    /// is replaced by a fresh one (state lost; the application hands its entries over again,
    /// [`SimConfig::fresh_restart`]); it is replaced by a new one that holds again what it had
    /// saved on its disk (the application hands its entries over again,
    /// [`SimConfig::saved_restart`]); or it is kept but all its links go down for a while (the
    /// rest).
    pub restarts: usize,
    /// Probability that a restart loses the server's state (a fresh server replaces it).
    pub fresh_restart: f64,
    /// Probability that a restart is of a process that dies and comes back with the state it had
    /// saved (the disk lags the cache by the changes not yet committed: see
    /// [`SimConfig::commit_ms`]). `fresh_restart + saved_restart` is at most 1; the rest of the
    /// restarts keep the server (only its links go down).
    pub saved_restart: f64,
    /// Range of the interval between two commits of a server's changes to its disk, in
    /// milliseconds of virtual time, drawn after each commit (as a writer that coalesces changes:
    /// a saved restart loses the changes of the last interval).
    pub commit_ms: (u64, u64),
    /// Number of distinct entries originated, in total, spread over the servers and the fault
    /// phase.
    pub entries: usize,
    /// Updates (a new instance of an existing entry, or of a withdrawn one) as a fraction of
    /// `entries`.
    pub update_fraction: f64,
    /// Withdrawals as a fraction of `entries`.
    pub withdraw_fraction: f64,
    /// Entries originated by server 0 before any link comes up (the alignment benchmark).
    pub preload: usize,
    /// Run the servers pipelined (`Server::set_pipelined`): a CSU Request's records are weighed
    /// by the timer event that follows its arrival, after the packets it caused went out.
    pub pipelined: bool,
    /// Length of the fault phase (virtual time): workload, partitions and restarts happen in it.
    pub fault_phase: Duration,
    /// How long after the fault phase the servers have to converge.
    pub max_settle: Duration,
    /// How long the converged state must hold (checked at every check) before the run stops.
    pub stable_for: Duration,
    /// Interval between convergence checks after the fault phase.
    pub check_interval: Duration,
    /// Probability that a packet is lost after the fault phase (0 by default: the network is
    /// then perfect, apart from delays).
    pub settle_loss: f64,
    /// How long a server remembers a deletion of an entry it did not hold
    /// (`ServerConfig::stray_deletion_hold`); `None`: the core's default.
    pub stray_deletion_hold: Option<Duration>,
    /// The fraction of servers with re-alignment by reconciliation (`ServerConfig::reconcile`),
    /// drawn per server from the seed; the others run RFC 2334 Cache Alignment only.
    pub recon_fraction: f64,
    /// Cells a reconciling server keeps (`ServerConfig::recon_cells`); `None`: the core's
    /// default. Few cells make a fresh server's re-alignment take the bulk path.
    pub recon_cells: Option<u32>,
    /// Protocol ID of the server group.
    pub protocol_id: u16,
    /// Server Group ID.
    pub sgid: u16,
    /// Protocol timers.
    pub timers: Timers,
    /// Largest packet a server sends (its `max_packet`).
    pub mtu: usize,
    /// Hop Count of the CSAs a server originates (2.3); `None`: the number of servers, which is
    /// at least the diameter of any topology, so that flooding reaches every server.
    pub hops: Option<u16>,
    /// Safety stop: the run fails when it processes more events than this.
    pub max_events: u64,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            servers: 5,
            topology: Topology::Random,
            loss: 0.0,
            dup: 0.0,
            reorder: 0.0,
            delay_ms: (1, 20),
            reorder_delay_ms: 200,
            partitions: 0,
            restarts: 0,
            fresh_restart: 0.5,
            saved_restart: 0.0,
            commit_ms: (20, 50),
            entries: 100,
            update_fraction: 0.2,
            withdraw_fraction: 0.1,
            preload: 0,
            pipelined: false,
            fault_phase: Duration::from_secs(60),
            max_settle: Duration::from_secs(600),
            stable_for: Duration::from_secs(10),
            check_interval: Duration::from_millis(250),
            settle_loss: 0.0,
            stray_deletion_hold: None,
            recon_fraction: 0.0,
            recon_cells: None,
            protocol_id: 2,
            sgid: 1,
            timers: Timers::Fast,
            mtu: 1472,
            hops: None,
            max_events: 200_000_000,
        }
    }
}

impl SimConfig {
    /// Check the values; the error says which one is wrong.
    pub fn validate(&self) -> Result<(), String> {
        let probs = [
            ("loss", self.loss),
            ("dup", self.dup),
            ("reorder", self.reorder),
            ("settle-loss", self.settle_loss),
            ("fresh-restarts", self.fresh_restart),
            ("saved-restarts", self.saved_restart),
            ("updates", self.update_fraction),
            ("withdrawals", self.withdraw_fraction),
        ];
        for (name, p) in probs {
            if !(0.0..=1.0).contains(&p) {
                return Err(format!("{name} must be between 0 and 1, not {p}"));
            }
        }
        if self.fresh_restart + self.saved_restart > 1.0 {
            return Err(format!(
                "fresh-restarts + saved-restarts must not exceed 1, not {}",
                self.fresh_restart + self.saved_restart
            ));
        }
        if self.commit_ms.0 == 0 || self.commit_ms.0 > self.commit_ms.1 {
            return Err(
                "the commit interval must be at least 1 ms, its least not above its most".into(),
            );
        }
        if self.settle_loss >= 1.0 {
            return Err("settle-loss must be below 1, or nothing can converge".into());
        }
        if self.servers == 0 {
            return Err("at least one server is needed".into());
        }
        if self.servers > 65_000 {
            return Err("at most 65000 servers".into());
        }
        if self.delay_ms.0 > self.delay_ms.1 {
            return Err("delay-min must not exceed delay-max".into());
        }
        if self.check_interval.is_zero() {
            return Err("the check interval must not be zero".into());
        }
        if !(256..=65535).contains(&self.mtu) {
            return Err("mtu must be between 256 and 65535".into());
        }
        Ok(())
    }

    /// The LSID of server `i`: 10.0.x.y with x.y = i+1.
    pub fn lsid(i: usize) -> Id {
        let n = (i + 1) as u16;
        Id::from([10, 0, (n >> 8) as u8, n as u8])
    }

    /// The DCS configuration a server uses for its neighbour `peer`.
    pub fn dcs_config(&self, peer: Id) -> DcsConfig {
        let mut c = DcsConfig::new(peer);
        if self.timers == Timers::Fast {
            c.hello_interval = 1;
            c.dead_factor = 3;
            c.ca_rexmit = Duration::from_secs(1);
            c.csus_rexmit = Duration::from_secs(1);
            c.csu_rexmit = Duration::from_secs(1);
            c.csu_rexmit_max = 5;
        }
        c.hops = self
            .hops
            .unwrap_or_else(|| u16::try_from(self.servers).unwrap_or(u16::MAX).max(1));
        c
    }

    /// HelloInterval × DeadFactor of the chosen timers.
    pub fn dead_interval(&self) -> Duration {
        let c = self.dcs_config(Id::default());
        Duration::from_secs(u64::from(c.hello_interval) * u64::from(c.dead_factor))
    }
}
