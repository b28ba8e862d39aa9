//! `scsp-sim`: run SCSP servers in a simulated, faulty network and check that they converge.
//! See the `scsp_sim` crate documentation, or `scsp-sim --help`.
#![forbid(unsafe_code)]

use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use scsp_sim::{SimConfig, Timers, Topology, fmt_secs, run_align, run_seed, run_seed_traced};

/// Deterministic SCSP simulator: N servers of scsp-core in a topology, on virtual time, over a
/// seeded network that drops, duplicates, reorders and delays packets, with partitions and
/// server restarts during a fault phase. After the fault phase the network is perfect (only the
/// per-link delays remain, unless --settle-loss) and every server must converge: every cache
/// identical, every entry any application originated present everywhere at its newest instance,
/// no withdrawn entry back, every DCS Aligned with nothing outstanding.
///
/// Besides, during the whole run no two data may be held under one (key, origin, sequence
/// number) unless their originator lost its state (then they are counted, `seq_conflicts`), and
/// once the run has converged no entry its originator's application withdrew may be held live
/// anywhere (`resurrected`).
///
/// Prints one line per failing seed, then `converged X/Y seeds` with the virtual time to
/// converge after the faults (max, median), the packets sent, and for saved restarts the
/// entries renumbered although unchanged (`renumbered=R/U`: R of the U entries live at a saved
/// restart that their application did not change afterwards; `renumbered_unseen`: of R, those
/// whose number no other server had held); exits with 1 unless every seed converged. A
/// failing seed re-run alone with --seed S reproduces exactly; add --verbose for its trace.
///
/// Restarts (--restarts N) are of three kinds, drawn per restart: state lost (a fresh server,
/// --fresh-restarts F), state saved (the process dies and a new server restores its disk,
/// which lags its cache by the changes of the last 20-50 ms, --saved-restarts S), or server
/// kept (only its links go down: the remaining 1 - F - S).
#[derive(Parser, Debug)]
#[command(name = "scsp-sim", version, verbatim_doc_comment)]
struct Args {
    /// Number of servers.
    #[arg(long, default_value_t = 5)]
    servers: usize,
    /// How the servers are linked (random: a random connected graph drawn from the seed).
    #[arg(long, value_enum, default_value_t = Topology::Random)]
    topology: Topology,
    /// Run seeds 0..N.
    #[arg(long, default_value_t = 20)]
    seeds: u64,
    /// Run exactly this seed (overrides --seeds).
    #[arg(long)]
    seed: Option<u64>,
    /// First seed of --seeds (runs FIRST..FIRST+N).
    #[arg(long, default_value_t = 0)]
    first_seed: u64,
    /// Probability that a packet is lost during the fault phase.
    #[arg(long, default_value_t = 0.0)]
    loss: f64,
    /// Probability that a packet is duplicated during the fault phase.
    #[arg(long, default_value_t = 0.0)]
    dup: f64,
    /// Probability that a packet is held back (up to --reorder-delay) and overtaken, during the
    /// fault phase. Without it, links are FIFO.
    #[arg(long, default_value_t = 0.0)]
    reorder: f64,
    /// Number of partitions in the fault phase (random links, or all links between two groups).
    #[arg(long, default_value_t = 0)]
    partitions: usize,
    /// Number of server restarts in the fault phase (state lost, saved or kept, drawn per
    /// restart with --fresh-restarts and --saved-restarts).
    #[arg(long, default_value_t = 0)]
    restarts: usize,
    /// Probability that a restart loses the server's state, disk included: a fresh server
    /// replaces it.
    #[arg(long, default_value_t = 0.5)]
    fresh_restarts: f64,
    /// Probability that a restart is of a process that dies and comes back with the state it
    /// saved on disk (committed every 20-50 ms of virtual time: the changes of the last moments
    /// are lost), numbering above its saved reserved number. --fresh-restarts +
    /// --saved-restarts must not exceed 1; the remaining restarts keep the server, only its
    /// links go down for a while.
    #[arg(long, default_value_t = 0.0)]
    saved_restarts: f64,
    /// Entries originated in total, spread over the servers and the fault phase.
    #[arg(long, default_value_t = 100)]
    entries: usize,
    /// Updates, as a fraction of --entries.
    #[arg(long, default_value_t = 0.2)]
    updates: f64,
    /// Withdrawals, as a fraction of --entries.
    #[arg(long, default_value_t = 0.1)]
    withdrawals: f64,
    /// Length of the fault phase, in virtual seconds.
    #[arg(long, default_value_t = 60.0)]
    fault_time: f64,
    /// Virtual seconds the servers have after the fault phase to converge.
    #[arg(long, default_value_t = 600.0)]
    settle_time: f64,
    /// Virtual seconds the converged state must hold before a seed counts as converged
    /// (default: 10, or 3 dead intervals if longer).
    #[arg(long)]
    stable_time: Option<f64>,
    /// Probability that a packet is lost after the fault phase.
    #[arg(long, default_value_t = 0.0)]
    settle_loss: f64,
    /// Virtual seconds a server remembers a deletion of an entry it did not hold (default: the
    /// core's, 60).
    #[arg(long)]
    stray_deletion_hold: Option<f64>,
    /// Fraction of servers (drawn per server from the seed) with re-alignment by set
    /// reconciliation (docs/reconciliation.md); the others are RFC-only.
    #[arg(long, default_value_t = 0.0)]
    recon_fraction: f64,
    /// Cells a reconciling server keeps (default: the core's, 32,768). Fewer than about 1.35 per
    /// entry make a server that lost its state re-align by the bulk path
    /// (docs/reconciliation.md §8).
    #[arg(long)]
    recon_cells: Option<u32>,
    /// Smallest one-way link delay, ms (each directed link draws its own delay).
    #[arg(long, default_value_t = 1)]
    delay_min: u64,
    /// Largest one-way link delay, ms.
    #[arg(long, default_value_t = 20)]
    delay_max: u64,
    /// Largest extra delay of a reordered packet, ms.
    #[arg(long, default_value_t = 200)]
    reorder_delay: u64,
    /// Protocol timers: fast (Hello 1 s, retransmissions 1 s) or rfc (the daemon defaults).
    #[arg(long, value_enum, default_value_t = Timers::Fast)]
    timers: Timers,
    /// Largest packet a server sends, bytes.
    #[arg(long, default_value_t = 1472)]
    mtu: usize,
    /// Hop Count of originated CSAs (default: the number of servers, at least any diameter).
    #[arg(long)]
    hops: Option<u16>,
    /// Protocol ID of the server group.
    #[arg(long, default_value_t = 2)]
    protocol_id: u16,
    /// Server Group ID.
    #[arg(long, default_value_t = 1)]
    sgid: u16,
    /// Print the trace of the run (needs --seed): -v packets, FSM transitions, faults and
    /// workload; -vv also every message sent/accepted and every cache change; -vvv also the records
    /// of every CA, CSU Request, CSU Reply and CSUS.
    #[arg(short, long, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Run the servers pipelined: a CSU Request's records are weighed after the CSUS it lets go
    /// out is sent (as scspd does).
    #[arg(long)]
    pipelined: bool,
    /// Alignment benchmark instead: two servers, one holding N entries when the link comes up;
    /// prints the virtual and wall-clock time until the other holds them all.
    #[arg(long, value_name = "N")]
    align: Option<usize>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let dead = if args.timers == Timers::Fast {
        3.0
    } else {
        9.0
    };
    let cfg = SimConfig {
        servers: args.servers,
        topology: args.topology,
        loss: args.loss,
        dup: args.dup,
        reorder: args.reorder,
        delay_ms: (args.delay_min, args.delay_max),
        reorder_delay_ms: args.reorder_delay,
        partitions: args.partitions,
        restarts: args.restarts,
        fresh_restart: args.fresh_restarts,
        saved_restart: args.saved_restarts,
        entries: args.entries,
        update_fraction: args.updates,
        withdraw_fraction: args.withdrawals,
        fault_phase: secs(args.fault_time),
        max_settle: secs(args.settle_time),
        stable_for: secs(args.stable_time.unwrap_or(f64::max(10.0, 3.0 * dead))),
        settle_loss: args.settle_loss,
        stray_deletion_hold: args.stray_deletion_hold.map(secs),
        recon_fraction: args.recon_fraction,
        recon_cells: args.recon_cells,
        protocol_id: args.protocol_id,
        sgid: args.sgid,
        timers: args.timers,
        mtu: args.mtu,
        hops: args.hops,
        pipelined: args.pipelined,
        ..SimConfig::default()
    };
    if let Err(e) = cfg.validate() {
        eprintln!("scsp-sim: {e}");
        return ExitCode::from(2);
    }

    if let Some(n) = args.align {
        let r = run_align(n, &cfg);
        for f in &r.failures {
            println!("align: {f}");
        }
        println!(
            "align {} entries: {} virtual={} wall={:.3}s packets={} bytes={}",
            r.entries,
            if r.converged {
                "aligned"
            } else {
                "NOT aligned"
            },
            r.virtual_time.map_or_else(|| "-".into(), fmt_secs),
            r.wall.as_secs_f64(),
            r.packets,
            r.bytes
        );
        return if r.converged {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        };
    }

    let seeds: Vec<u64> = match args.seed {
        Some(s) => vec![s],
        None => (args.first_seed..args.first_seed.saturating_add(args.seeds)).collect(),
    };
    if args.verbose > 0 && seeds.len() != 1 {
        eprintln!("scsp-sim: --verbose needs a single seed (--seed S)");
        return ExitCode::from(2);
    }

    let started = Instant::now();
    let mut converged = 0usize;
    let mut times = Vec::new();
    let mut packets = 0u64;
    let mut relapses = 0u64;
    let mut recon = (0u64, 0u64, 0u64, 0u64);
    let (mut saved, mut unchanged, mut renumbered, mut unseen, mut conflicts, mut resurrected) =
        (0u64, 0u64, 0u64, 0u64, 0u64, 0u64);
    let stdout = std::io::stdout();
    for &seed in &seeds {
        let r = if args.verbose > 0 {
            let mut out = stdout.lock();
            let r = run_seed_traced(&cfg, seed, &mut out, args.verbose);
            let _ = out.flush();
            r
        } else {
            run_seed(&cfg, seed)
        };
        packets += r.packets;
        relapses += r.relapses;
        recon.0 += r.recon_decoded;
        recon.1 += r.recon_fallbacks;
        recon.2 += r.recon_bulk;
        recon.3 += r.recon_bulk_clean;
        saved += r.saved_restarts;
        unchanged += r.unchanged;
        renumbered += r.renumbered;
        unseen += r.renumbered_unseen;
        conflicts += r.seq_conflicts;
        resurrected += r.resurrected;
        if r.converged {
            converged += 1;
            times.extend(r.converge_time);
        } else {
            println!("seed {seed}: {}", r.failures.join("; "));
        }
    }
    times.sort_unstable();
    let max = times.last().copied();
    let median = (!times.is_empty()).then(|| times[times.len() / 2]);
    println!(
        "converged {converged}/{} seeds max_converge={} median_converge={} packets={} relapses={relapses} saved_restarts={saved} renumbered={renumbered}/{unchanged} renumbered_unseen={unseen} seq_conflicts={conflicts} resurrected={resurrected}",
        seeds.len(),
        max.map_or_else(|| "-".into(), fmt_secs),
        median.map_or_else(|| "-".into(), fmt_secs),
        packets,
    );
    if args.recon_fraction > 0.0 {
        eprintln!(
            "reconciliations (servers up at the end, both ends): decoded={} fallbacks={} bulk={} \
             bulk_clean={}",
            recon.0, recon.1, recon.2, recon.3
        );
    }
    // Wall-clock time varies from run to run: kept off stdout, which a seed reproduces exactly.
    eprintln!("wall {:.1}s", started.elapsed().as_secs_f64());
    if converged == seeds.len() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s.max(0.0))
}
