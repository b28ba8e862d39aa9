//! The simulator, run small: the scenario scaled down, every topology, determinism, the
//! alignment benchmark and the binary's output and exit code.

mod common;

use std::process::Command;
use std::time::Duration;

use common::scenario;
use scsp_sim::{SimConfig, Timers, Topology, fmt_secs, run_align, run_seed};

fn assert_all_converge(cfg: &SimConfig, seeds: std::ops::Range<u64>) {
    let mut failed = Vec::new();
    let mut times = Vec::new();
    let mut packets = 0;
    for seed in seeds.clone() {
        let r = run_seed(cfg, seed);
        packets += r.packets;
        if r.converged {
            times.push(r.converge_time.expect("converged runs have a time"));
        } else {
            failed.push(format!("seed {seed}: {}", r.failures.join("; ")));
        }
    }
    times.sort();
    println!(
        "{:?}: converged {}/{} max_converge={} packets={packets}",
        cfg.topology,
        times.len(),
        seeds.end - seeds.start,
        times.last().copied().map_or("-".into(), fmt_secs)
    );
    assert!(
        failed.is_empty(),
        "{} seed(s) failed:\n{}",
        failed.len(),
        failed.join("\n")
    );
}

/// The same scenario with the servers pipelined as scspd runs them (`Server::set_pipelined`):
/// records weighed after the CSUS they let go out.
#[test]
fn pipelined_scenario_converges() {
    let cfg = SimConfig {
        pipelined: true,
        ..scenario(2, 0.5, 0.0)
    };
    assert_all_converge(&cfg, 0..30);
}

/// Partitions, loss, duplication, reordering, and restarts that keep the server's state.
#[test]
fn scenario_with_state_keeping_restarts_converges() {
    assert_all_converge(&scenario(1, 0.0, 0.0), 0..20);
}

/// The scenario, restarts losing their state or not.
#[test]
fn scenario_converges() {
    assert_all_converge(&scenario(1, 0.5, 0.0), 0..20);
}

/// Each topology once: 6 servers, loss, duplication, reordering, 2 partitions and a restart.
fn topology_converges(topology: Topology) {
    let cfg = SimConfig {
        servers: 6,
        topology,
        loss: 0.2,
        dup: 0.05,
        reorder: 0.1,
        partitions: 2,
        restarts: 1,
        fresh_restart: 0.0,
        entries: 60,
        ..SimConfig::default()
    };
    assert_all_converge(&cfg, 0..3);
}

#[test]
fn line_converges() {
    topology_converges(Topology::Line);
}

#[test]
fn ring_converges() {
    topology_converges(Topology::Ring);
}

#[test]
fn star_converges() {
    topology_converges(Topology::Star);
}

#[test]
fn full_converges() {
    topology_converges(Topology::Full);
}

#[test]
fn random_converges() {
    topology_converges(Topology::Random);
}

/// The defaults of the original daemon (Hello every 3 s, CSU retransmission every 2 s).
#[test]
fn rfc_timers_converge() {
    let cfg = SimConfig {
        timers: Timers::Rfc,
        fault_phase: Duration::from_secs(90),
        stable_for: Duration::from_secs(27),
        ..scenario(1, 0.0, 0.0)
    };
    assert_all_converge(&cfg, 0..3);
}

/// A network without faults: the servers align once and stay aligned.
#[test]
fn perfect_network_converges() {
    let cfg = SimConfig {
        servers: 7,
        entries: 200,
        ..SimConfig::default()
    };
    assert_all_converge(&cfg, 0..3);
}

/// One server alone, and two servers that never meet (all packets lost, no time to settle):
/// the checker itself must pass the first and fail the second.
#[test]
fn checker_sees_divergence() {
    let alone = SimConfig {
        servers: 1,
        entries: 20,
        ..SimConfig::default()
    };
    assert!(run_seed(&alone, 0).converged);

    let cut = SimConfig {
        servers: 2,
        topology: Topology::Line,
        loss: 1.0,
        entries: 20,
        withdraw_fraction: 0.0,
        max_settle: Duration::ZERO,
        ..SimConfig::default()
    };
    let r = run_seed(&cut, 0);
    assert!(!r.converged);
    // Unaligned DCSs first (with their states), then what the caches lack.
    assert!(
        r.failures[0].starts_with("server 0 dcs s1: Hello Waiting since "),
        "{:?}",
        r.failures
    );
    assert!(
        r.failures[0].contains(", CA Down since "),
        "{:?}",
        r.failures
    );
    assert!(
        r.failures.iter().any(|f| f.contains(" lacks ")),
        "{:?}",
        r.failures
    );
    assert!(
        r.failures.len() <= 6,
        "failures are capped: {:?}",
        r.failures
    );
}

/// The same seed twice in one process: the same run, packet for packet.
#[test]
fn same_seed_same_run() {
    let cfg = scenario(1, 0.5, 0.0);
    for seed in 0..3 {
        let a = run_seed(&cfg, seed);
        let b = run_seed(&cfg, seed);
        assert_eq!(a, b, "seed {seed}");
    }
}

/// The script of a seed (topology, faults, workload) does not depend on the traffic: two runs of
/// the same seed do as much work and restart and cut the same, whatever the core does.
#[test]
fn same_seed_same_script() {
    let cfg = scenario(2, 0.5, 0.0);
    let a = run_seed(&cfg, 7);
    let b = run_seed(&cfg, 7);
    assert_eq!(
        (a.originated, a.restarts, a.fresh_restarts, a.partitions),
        (b.originated, b.restarts, b.fresh_restarts, b.partitions)
    );
    assert_eq!(a.originated, 100);
    assert_eq!(a.partitions, 2);
    assert_eq!(a.restarts, 2);
}

/// Two servers aligning 20,000 entries take well under a minute of wall-clock time.
#[test]
fn align_20k() {
    let r = run_align(20_000, &SimConfig::default());
    println!(
        "align {} entries: virtual={} wall={:.3}s packets={} bytes={}",
        r.entries,
        r.virtual_time.map_or("-".into(), fmt_secs),
        r.wall.as_secs_f64(),
        r.packets,
        r.bytes
    );
    assert!(r.converged, "{:?}", r.failures);
    assert!(r.wall < Duration::from_secs(30), "took {:?}", r.wall);
}

fn sim(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_scsp-sim"))
        .args(args)
        .output()
        .expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).expect("utf-8"),
    )
}

#[test]
fn binary_reports_and_exits() {
    let (code, out) = sim(&[
        "--servers",
        "4",
        "--topology",
        "ring",
        "--seeds",
        "3",
        "--entries",
        "30",
    ]);
    assert_eq!(code, 0, "{out}");
    let last = out.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("converged 3/3 seeds max_converge="),
        "{out}"
    );
    assert!(
        last.contains(" median_converge=") && last.contains(" packets="),
        "{out}"
    );

    // Nothing gets through and there is no time to settle: every seed fails, one line each.
    let (code, out) = sim(&[
        "--servers",
        "3",
        "--topology",
        "line",
        "--seeds",
        "2",
        "--entries",
        "10",
        "--loss",
        "1",
        "--settle-time",
        "0",
    ]);
    assert_eq!(code, 1, "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(lines[0].starts_with("seed 0: server "), "{out}");
    assert!(lines[1].starts_with("seed 1: server "), "{out}");
    assert!(lines[2].starts_with("converged 0/2 seeds"), "{out}");

    let (code, _) = sim(&["--loss", "2"]);
    assert_eq!(code, 2);
    let (code, out) = sim(&["--align", "500"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.starts_with("align 500 entries: aligned virtual="),
        "{out}"
    );
}

#[test]
fn verbose_trace_of_one_seed() {
    let (code, out) = sim(&[
        "--servers",
        "3",
        "--seed",
        "4",
        "--entries",
        "5",
        "-v",
        "--fault-time",
        "5",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("CA Master/Slave Negotiation -> "), "{out}");
    assert!(out.contains("Hello Down -> Waiting (link up)"), "{out}");
    assert!(out.contains(" -> s"), "{out}");
    let (code, _) = sim(&["--seeds", "2", "-v"]);
    assert_eq!(code, 2, "--verbose needs a single seed");
}

/// A seed run again in another process gives the same trace, byte for byte.
#[test]
fn seed_reproduces_across_processes() {
    let args = [
        "--servers",
        "5",
        "--seed",
        "3",
        "--loss",
        "0.2",
        "--dup",
        "0.05",
        "--reorder",
        "0.1",
        "--partitions",
        "2",
        "--restarts",
        "1",
        "--entries",
        "40",
        "-vvv",
    ];
    let (code_a, a) = sim(&args);
    let (code_b, b) = sim(&args);
    assert_eq!(code_a, code_b);
    assert!(a.lines().count() > 1000, "a full trace");
    assert!(a == b, "two runs of seed 3 differ");
}

/// The README's scenario with half the servers reconciling and few cells, so that a server that
/// lost its state re-aligns by the bulk path (docs/reconciliation.md §8). These seeds stalled in
/// Cache Summarize when a slave holding the stream stopped sending the end marker on an
/// acknowledgement of every entry while the master, the learner, still lacked the marker.
#[test]
fn recon_8_bulk_path_in_mixed_groups_converges() {
    let cfg = SimConfig {
        recon_fraction: 0.5,
        recon_cells: Some(256),
        ..readme_scenario()
    };
    let mut bulk = 0;
    for seed in [170, 950, 983, 1584, 1732] {
        let r = run_seed(&cfg, seed);
        assert!(r.converged, "seed {seed}: {}", r.failures.join("; "));
        bulk += r.recon_bulk;
    }
    assert!(bulk > 0, "no stream of the bulk path");
}

/// B.2.0.2's equal numbers (docs/rfc2334-readings.md): the README's scenario with four restarts,
/// most losing their state. In seed 5301 server 3, having lost its state, numbered an entry
/// 0x80000001 again with other data; the servers that kept the new data over the old one they
/// held (larger data wins) could not flood it to server 2, whose session with server 5 was down
/// (a partition), and when it came up again alignment compared numbers only: server 2 kept the
/// old data for good. Such a server now marks the entry contested and compares it with a DCS's
/// instance at each alignment. (Fails without that comparison.)
#[test]
fn b_2_0_2_equal_numbers_resolved_past_a_partition() {
    let cfg = SimConfig {
        restarts: 4,
        fresh_restart: 0.7,
        ..readme_scenario()
    };
    let r = run_seed(&cfg, 5301);
    assert!(r.seq_conflicts > 0, "two data under one number");
    assert!(r.converged, "seed 5301: {}", r.failures.join("; "));
}

/// The README's simulator command: seven servers at random, 20% loss, duplication, reordering,
/// three partitions, two restarts, 500 entries.
fn readme_scenario() -> SimConfig {
    SimConfig {
        servers: 7,
        topology: Topology::Random,
        loss: 0.2,
        dup: 0.05,
        reorder: 0.1,
        partitions: 3,
        restarts: 2,
        entries: 500,
        ..SimConfig::default()
    }
}
