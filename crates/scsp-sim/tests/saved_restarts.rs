//! Restarts that keep the state saved on disk (issue 11, 4(b)): the process dies, its disk lags
//! the cache by the changes not yet committed, a new server restores what the disk holds and
//! numbers above its reserved number, and the application hands its entries over at once, during
//! the realignment or seconds later, with the changes it made meanwhile. Every seed must converge,
//! nothing withdrawn may come back after convergence, and one number never carries two data.

mod common;

use std::process::Command;

use common::scenario;
use scsp_sim::{SeedResult, SimConfig, run_seed};

/// Runs the seeds; every one must converge with nothing resurrected. Returns the results.
fn run_all(cfg: &SimConfig, seeds: std::ops::Range<u64>) -> Vec<SeedResult> {
    let results: Vec<SeedResult> = seeds.map(|s| run_seed(cfg, s)).collect();
    let failed: Vec<String> = results
        .iter()
        .filter(|r| !r.converged)
        .map(|r| format!("seed {}: {}", r.seed, r.failures.join("; ")))
        .collect();
    let sum = |f: fn(&SeedResult) -> u64| results.iter().map(f).sum::<u64>();
    println!(
        "converged {}/{} saved_restarts={} fresh_restarts={} renumbered={}/{} seq_conflicts={} resurrected={}",
        results.len() - failed.len(),
        results.len(),
        sum(|r| r.saved_restarts),
        sum(|r| r.fresh_restarts),
        sum(|r| r.renumbered),
        sum(|r| r.unchanged),
        sum(|r| r.seq_conflicts),
        sum(|r| r.resurrected),
    );
    assert!(
        failed.is_empty(),
        "{} seed(s) failed:\n{}",
        failed.len(),
        failed.join("\n")
    );
    assert_eq!(sum(|r| r.resurrected), 0, "withdrawn entries came back");
    results
}

/// Every restart keeps its saved state: 30 seeds converge, nothing withdrawn comes back, and
/// no number ever carries two data (no server ever lost its state).
#[test]
fn saved_restarts_converge_without_resurrection() {
    let results = run_all(&scenario(2, 0.0, 1.0), 0..30);
    let saved: u64 = results.iter().map(|r| r.saved_restarts).sum();
    let restarts: u64 = results.iter().map(|r| r.restarts).sum();
    assert_eq!(saved, restarts, "every restart is a saved one");
    assert!(saved >= 40, "only {saved} saved restarts in 30 seeds");
    assert_eq!(results.iter().map(|r| r.fresh_restarts).sum::<u64>(), 0);
    assert_eq!(results.iter().map(|r| r.seq_conflicts).sum::<u64>(), 0);
    // Entries unchanged across a restart exist, and most keep their numbers (only a change
    // made in the last commit interval before the crash, which the disk lost, may be
    // renumbered).
    let unchanged: u64 = results.iter().map(|r| r.unchanged).sum();
    let renumbered: u64 = results.iter().map(|r| r.renumbered).sum();
    assert!(
        unchanged > 100,
        "only {unchanged} unchanged entries watched"
    );
    assert!(
        renumbered * 100 <= unchanged,
        "{renumbered} of {unchanged} unchanged entries renumbered"
    );
}

/// The three kinds of restarts mixed (0.5 saved, 0.3 fresh, the rest kept).
#[test]
fn mixed_restarts_converge() {
    let results = run_all(&scenario(3, 0.3, 0.5), 0..20);
    let kinds = |f: fn(&SeedResult) -> u64| results.iter().map(f).sum::<u64>();
    assert!(kinds(|r| r.saved_restarts) > 0 && kinds(|r| r.fresh_restarts) > 0);
    assert!(kinds(|r| r.restarts) > kinds(|r| r.saved_restarts) + kinds(|r| r.fresh_restarts));
}

/// A seed with saved restarts runs the same twice (the disk's commit points are drawn from the
/// seed too).
#[test]
fn saved_restarts_repeat_exactly() {
    let cfg = scenario(2, 0.0, 1.0);
    for seed in 0..2 {
        assert_eq!(run_seed(&cfg, seed), run_seed(&cfg, seed), "seed {seed}");
    }
}

#[test]
fn saved_and_fresh_fractions_add_up_to_at_most_one() {
    assert!(scenario(1, 0.5, 0.5).validate().is_ok());
    let e = scenario(1, 0.6, 0.5).validate().unwrap_err();
    assert!(e.contains("must not exceed 1"), "{e}");
    let out = Command::new(env!("CARGO_BIN_EXE_scsp-sim"))
        .args(["--fresh-restarts", "0.6", "--saved-restarts", "0.5"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));

    // The summary line carries the figures of saved restarts.
    let out = Command::new(env!("CARGO_BIN_EXE_scsp-sim"))
        .args([
            "--servers",
            "4",
            "--seeds",
            "2",
            "--entries",
            "30",
            "--restarts",
            "2",
            "--fresh-restarts",
            "0",
            "--saved-restarts",
            "1",
        ])
        .output()
        .expect("runs");
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let last = stdout.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("converged 2/2 seeds ")
            && last.contains(" saved_restarts=4 ")
            && last.contains(" renumbered=")
            && last.ends_with(" seq_conflicts=0 resurrected=0"),
        "{stdout}"
    );
}
