//! Notify scripts (`Notify <script> [<seconds>];` in a Server block), in the manner of
//! keepalived's: the script is run as `script SERVER DCS-ID STATE` when a DCS of the server goes
//! up (`UP`: its Hello FSM reaches Bidirectional), goes down (`DOWN`: it leaves Bidirectional)
//! and when an alignment with it completes (`ALIGNED`: its CA FSM reaches Aligned), with
//! `SCSP_SERVER`, `SCSP_DCS`, `SCSP_PEER` (the DCS's address and port) and `SCSP_STATE` in its
//! environment.
//!
//! Never in the server's way: the server task hands each run to the server's runner task with
//! `try_send` on a bounded queue ([`QUEUE`]; a run that does not fit is dropped and counted). The
//! runner runs one script of its server at a time, in the order of the events, and at most
//! [`MAX_RUNNING`] scripts run at once in the whole daemon. A script still running after its time
//! limit is killed (SIGKILL; programs it started itself are not). Its standard input, output and
//! error are `/dev/null`. Failures (cannot be started, non-zero exit, killed) are logged at WARN,
//! at most 10 lines a minute per reason and server, with a summary of what was suppressed.

use std::process::Stdio;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc};
use tracing::{Instrument, debug, warn};

use super::ratelimit::{RateLimits, suppressed_note};
use crate::config::NotifyConfig;

/// Runs waiting for one server's runner.
pub const QUEUE: usize = 64;
/// Scripts running at once in the whole daemon.
pub const MAX_RUNNING: usize = 4;

fn running() -> Arc<Semaphore> {
    static RUNNING: OnceLock<Arc<Semaphore>> = OnceLock::new();
    RUNNING
        .get_or_init(|| Arc::new(Semaphore::new(MAX_RUNNING)))
        .clone()
}

/// What happened to the DCS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Its Hello FSM reached Bidirectional.
    Up,
    /// Its Hello FSM left Bidirectional.
    Down,
    /// Its CA FSM reached Aligned.
    Aligned,
}

impl State {
    /// The script's third argument.
    pub fn word(self) -> &'static str {
        match self {
            State::Up => "UP",
            State::Down => "DOWN",
            State::Aligned => "ALIGNED",
        }
    }
}

/// One run.
#[derive(Debug)]
struct Job {
    script: NotifyConfig,
    dcs: String,
    peer: String,
    state: State,
}

/// A server's notify scripts: the configuration and the runner's queue.
#[derive(Debug)]
pub struct Scripts {
    server: String,
    config: Option<NotifyConfig>,
    tx: Option<mpsc::Sender<Job>>,
    /// Runs dropped because the queue was full.
    pub dropped: u64,
    limit: RateLimits,
}

impl Scripts {
    /// The scripts of `server` (nothing runs without `config`). The runner task is started at
    /// the first run, in the current span (the server's).
    pub fn new(server: &str, config: Option<NotifyConfig>) -> Scripts {
        Scripts {
            server: server.to_owned(),
            config,
            tx: None,
            dropped: 0,
            limit: RateLimits::default(),
        }
    }

    /// A reload's `Notify` (or none).
    pub fn set(&mut self, config: Option<NotifyConfig>) {
        self.config = config;
    }

    /// Run the script for `dcs` (its ID as the configuration writes it) at `peer`, now in
    /// `state`. Never waits.
    pub fn run(&mut self, dcs: &str, peer: &str, state: State) {
        let Some(script) = self.config.clone() else {
            return;
        };
        let tx = self.tx.get_or_insert_with(|| {
            let (tx, rx) = mpsc::channel(QUEUE);
            tokio::spawn(runner(self.server.clone(), rx).instrument(tracing::Span::current()));
            tx
        });
        let job = Job {
            script,
            dcs: dcs.to_owned(),
            peer: peer.to_owned(),
            state,
        };
        if tx.try_send(job).is_err() {
            self.dropped += 1;
            if let Some(n) = self
                .limit
                .allow(std::time::Instant::now(), "notify queue full", None)
            {
                warn!(
                    "notify script: {QUEUE} runs waiting already; {} for DCS {dcs} not run ({} \
                     dropped so far){}",
                    state.word(),
                    self.dropped,
                    suppressed_note(n)
                );
            }
        }
    }
}

/// One server's runner: its scripts one at a time, in order.
async fn runner(server: String, mut rx: mpsc::Receiver<Job>) {
    let mut limit = RateLimits::default();
    while let Some(job) = rx.recv().await {
        let Ok(_permit) = running().acquire_owned().await else {
            return;
        };
        let what = format!(
            "notify script {} {server} {} {}",
            job.script.script.display(),
            job.dcs,
            job.state.word()
        );
        let outcome = run_one(&server, &job).await;
        let now = std::time::Instant::now();
        match outcome {
            Ok(()) => debug!("{what}: done"),
            Err((reason, text)) => {
                if let Some(n) = limit.allow(now, reason, None) {
                    warn!("{what}: {text}{}", suppressed_note(n));
                }
            }
        }
        for s in limit.summaries(now) {
            warn!(
                "notify script: {} similar messages ({}) suppressed in the last {} s",
                s.count,
                s.reason,
                super::ratelimit::WINDOW.as_secs()
            );
        }
    }
}

/// Run the script once; the error is a reason (for the rate limit) and a text.
async fn run_one(server: &str, job: &Job) -> Result<(), (&'static str, String)> {
    let mut cmd = tokio::process::Command::new(&job.script.script);
    cmd.arg(server)
        .arg(&job.dcs)
        .arg(job.state.word())
        .env("SCSP_SERVER", server)
        .env("SCSP_DCS", &job.dcs)
        .env("SCSP_PEER", &job.peer)
        .env("SCSP_STATE", job.state.word())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    let mut child = cmd
        .spawn()
        .map_err(|e| ("notify script not started", format!("can't start it: {e}")))?;
    let limit = Duration::from_secs(job.script.timeout_s.into());
    match tokio::time::timeout(limit, child.wait()).await {
        Ok(Ok(status)) if status.success() => Ok(()),
        Ok(Ok(status)) => Err(("notify script failed", format!("ended with {status}"))),
        Ok(Err(e)) => Err(("notify script failed", format!("can't wait for it: {e}"))),
        Err(_) => {
            let _ = child.kill().await;
            Err((
                "notify script killed",
                format!("still running after {} s: killed", job.script.timeout_s),
            ))
        }
    }
}
