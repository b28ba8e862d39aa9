//! `scsp-bench`: benchmarks of scspd with real processes on loopback.
//!
//! - `align`: a server holding N entries meets an empty (or partly aligned) one; the time until
//!   both caches are identical, with `--redis` beside a Redis replica's full sync of N keys;
//! - `flood`: a line A–B–C, entries originated at A; updates per second through both links and
//!   the latency from A to C;
//! - `memory`: resident memory per entry held;
//! - `lab`: the fault lab (real daemons through impairment relays, a ground truth; `lab/mod.rs`).
//!
//! Each case prints one result line (or a JSON object with `--json`) with PASS or FAIL beside
//! the targets of docs/PERFORMANCE.md that apply to it.
#![forbid(unsafe_code)]

mod align;
mod clients;
mod daemon;
mod flood;
mod lab;
mod memory;
mod realign;
mod redis;

use clap::{Parser, Subcommand, ValueEnum};

/// What can go wrong.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Starting processes, files, ports.
    #[error("{0}")]
    Setup(String),
    /// A daemon refused or failed a request.
    #[error("scspd: {0}")]
    Daemon(String),
    /// Redis.
    #[error("redis: {0}")]
    Redis(String),
    /// Something did not happen in time.
    #[error("timed out waiting for {0}")]
    Timeout(String),
    /// The result is wrong (caches differ).
    #[error("check failed: {0}")]
    Check(String),
}

/// The record layout of the entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// Protocol 65000 (no registered meaning): opaque 40-byte records.
    Generic,
    /// Protocol 1: ATMARP records.
    Atmarp,
}

#[derive(Debug, Parser)]
#[command(
    name = "scsp-bench",
    version,
    about = "Benchmarks of scspd: real daemons on loopback, driven through their local sockets"
)]
struct Cli {
    /// Print each result as one JSON object per line instead of text.
    #[arg(long, global = true)]
    json: bool,
    /// Every scspd keeps its saved state (StateDir) in the run's directory, as it does when
    /// deployed; without it each runs with `--state-dir none`.
    #[arg(long = "saved-state", global = true)]
    saved_state: bool,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Server A holds N entries, B is empty (or holds part of them); the link comes up; the time
    /// until both caches are identical, packets and bytes each way.
    Align(align::Args),
    /// A line A–B–C; entries originated at A; updates per second fully acknowledged on both
    /// links, latency from origination at A to presence at C.
    Flood(flood::Args),
    /// A and B both hold N entries and differ in K (half each); the link comes back: time and
    /// bytes of RFC 2334 Cache Alignment and of the reconciliation extension, side by side.
    Realign(realign::Args),
    /// Resident memory of a daemon before and after holding N entries.
    Memory(memory::Args),
    /// Clients that ask for the whole cache and never read, while a big load runs: the gaps
    /// between Hellos as the neighbour sees them, resident memory, DCS flaps.
    Clients(clients::Args),
    /// The fault lab: N daemons whose links pass through impairment relays (loss, delay,
    /// duplication, reordering, partitions), their local servers changing entries; the lag of
    /// every change, convergence with the faults on and off, entries lost or resurrected.
    Lab(lab::Args),
}

/// Median of `v` (sorted in place); 0 for none.
pub fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// "PASS" or "FAIL".
pub fn verdict(ok: bool) -> &'static str {
    if ok { "PASS" } else { "FAIL" }
}

/// Print a result: the text line, or the JSON object (and the text line on standard error).
pub fn emit(json: bool, line: &str, value: &serde_json::Value) {
    if json {
        eprintln!("{line}");
        println!("{value}");
    } else {
        println!("{line}");
    }
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    daemon::set_saved_state(cli.saved_state);
    let r = match cli.cmd {
        Cmd::Align(a) => align::run(&a, cli.json),
        Cmd::Realign(a) => realign::run(&a, cli.json),
        Cmd::Flood(a) => flood::run(&a, cli.json),
        Cmd::Memory(a) => memory::run(&a, cli.json),
        Cmd::Clients(a) => clients::run(&a, cli.json),
        Cmd::Lab(a) => lab::run(&a, cli.json),
    };
    match r {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("scsp-bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
