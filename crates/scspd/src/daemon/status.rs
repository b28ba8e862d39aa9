//! The daemon's status board: when it started, the configuration and socket it uses, the last
//! reload and its result, the servers that could not start, the metrics endpoint. The supervisor
//! writes it; `show status`, `show servers` and the metrics read it. The lock is held only to copy
//! a few fields, never across an await.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use super::metrics::Gathered;
use super::plan::{ServerPlan, id_text};
use crate::proto::{FailedView, ReloadView, ServerView, StatusView};

/// Seconds since the UNIX epoch now.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[derive(Debug)]
struct Failed {
    view: FailedView,
    server: ServerView,
}

#[derive(Debug)]
struct State {
    metrics: Option<std::net::SocketAddr>,
    last_reload: Option<ReloadView>,
    reloads: [u64; 2],
    failed: Vec<Failed>,
    http: [u64; 2],
}

/// What `show status` shows.
#[derive(Debug)]
pub struct Board {
    started: u64,
    since: Instant,
    config: PathBuf,
    socket: PathBuf,
    state: Mutex<State>,
}

impl Board {
    /// The board of a daemon started now.
    pub fn new(config: PathBuf, socket: PathBuf) -> Board {
        Board {
            started: unix_now(),
            since: Instant::now(),
            config,
            socket,
            state: Mutex::new(State {
                metrics: None,
                last_reload: None,
                reloads: [0; 2],
                failed: Vec::new(),
                http: [0; 2],
            }),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        // A panic elsewhere while holding the lock leaves plain data: keep using it.
        let mut g = self.state.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut g)
    }

    /// Where the metrics endpoint listens now.
    pub fn set_metrics(&self, addr: Option<std::net::SocketAddr>) {
        self.with(|s| s.metrics = addr);
    }

    /// A reload ended: applied whole (`errors` empty) or not.
    pub fn reloaded(&self, errors: &[String]) {
        self.with(|s| {
            s.reloads[usize::from(!errors.is_empty())] += 1;
            s.last_reload = Some(ReloadView {
                at: unix_now(),
                ok: errors.is_empty(),
                errors: errors.iter().take(100).cloned().collect(),
            });
        });
    }

    /// The servers that could not start, replacing the list (a reload's outcome).
    pub fn set_failed(&self, failed: Vec<(ServerPlan, String)>) {
        self.with(|s| s.failed.clear());
        for (p, e) in failed {
            self.add_failed(&p, e);
        }
    }

    /// One more server that could not start (or was not started again).
    pub fn add_failed(&self, p: &ServerPlan, error: String) {
        let server = ServerView {
            dcs: p.dcs.len() as u32,
            state: "failed".to_owned(),
            error: Some(error.clone()),
            ..planned_view(p)
        };
        let view = FailedView {
            name: p.name.clone(),
            error,
            since: unix_now(),
        };
        self.with(|s| {
            s.failed.retain(|f| f.view.name != view.name);
            s.failed.push(Failed { view, server });
        });
    }

    /// A server that had failed runs now.
    pub fn started(&self, name: &str) {
        self.with(|s| s.failed.retain(|f| f.view.name != name));
    }

    /// The failed servers as `show servers` lists them.
    pub fn failed_servers(&self) -> Vec<ServerView> {
        self.with(|s| s.failed.iter().map(|f| f.server.clone()).collect())
    }

    /// An HTTP request to the metrics endpoint was served (or refused).
    pub fn http(&self, served: bool) {
        self.with(|s| s.http[usize::from(!served)] += 1);
    }

    /// The status, with the number of servers running.
    pub fn view(&self, servers_running: u32) -> StatusView {
        self.with(|s| StatusView {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            pid: std::process::id(),
            started: self.started,
            uptime_s: self.since.elapsed().as_secs(),
            config: self.config.display().to_string(),
            socket: self.socket.display().to_string(),
            metrics: s.metrics.map(|a| a.to_string()),
            servers_running,
            last_reload: s.last_reload.clone(),
            failed: s.failed.iter().map(|f| f.view.clone()).collect(),
        })
    }

    /// The daemon-wide figures of a scrape.
    pub fn fill_metrics(&self, g: &mut Gathered) {
        g.started = self.started;
        self.with(|s| {
            g.reloads = s.reloads;
            g.last_reload = s.last_reload.as_ref().map(|r| (r.at, r.ok));
            g.failed = s.failed.iter().map(|f| f.view.name.clone()).collect();
            g.http = s.http;
        });
    }
}

/// What `show servers` says of a server from its plan alone (the running server adds its
/// counters and state).
pub fn planned_view(p: &ServerPlan) -> ServerView {
    ServerView {
        name: p.name.clone(),
        protocol_id: p.core.protocol_id,
        protocol: p.protocol.to_string(),
        sgid: p.core.sgid,
        family_id: p.core.family_id,
        lsid: id_text(&p.core.lsid),
        listen: p.bind.to_string(),
        ..ServerView::default()
    }
}
