//! The daemon: command line, start-up, the supervisor (signals, reloads, dumps, shutdown), one
//! task per configured server, and the local client socket.
//!
//! ```text
//!  signals ──► supervisor ──(reload: stop / reconfigure / start)──► server tasks
//!                 ▲    │ publishes the server table (watch)            ▲   │ UDP socket
//!   Reload request│    ▼                                               │   ▼ (one per server)
//!            client connections ───────── requests (mpsc + oneshot) ───┘  scsp_core::Server
//! ```
//!
//! The runtime is tokio's current-thread runtime: the protocol work per packet is small, one
//! thread keeps every server's handling strictly sequential and cheap (no cross-core hand-offs on
//! a small machine), and blocking work (name resolution and file reading on reload) goes to
//! `spawn_blocking`.

pub mod cli;
pub mod control;
pub mod detach;
mod dump;
pub mod expiries;
pub mod http;
pub mod log;
pub mod metrics;
mod notify;
pub mod plan;
pub mod private;
pub mod profiles;
pub mod ratelimit;
pub mod scripts;
pub mod server;
pub mod state;
pub mod status;
pub mod stream;
pub mod trace;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use clap::Parser;
use tokio::net::UdpSocket;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;
use tracing::{error, info, warn};

use crate::config;
use cli::{Args, TraceFlags};
use control::{ControlStats, Ctx, Routes};
use log::{LogSink, Targets, notice};
use plan::Plan;
use server::{LocalEntry, ServerHandle};
use trace::Tracer;

use dump::Dumper;
pub use dump::dump_path;

/// Milliseconds since the UNIX epoch as [`scsp_core::Time`], read from a monotonic clock so that
/// time never goes backwards.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    base_ms: u64,
    base: Instant,
}

impl Clock {
    /// Start the clock at the wall-clock time now.
    pub fn new() -> Clock {
        let base_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        Clock {
            base_ms,
            base: Instant::now(),
        }
    }

    /// Now.
    pub fn now(&self) -> scsp_core::Time {
        let elapsed = self.base.elapsed().as_millis() as u64;
        scsp_core::Time(self.base_ms.saturating_add(elapsed))
    }

    /// The instant of a core time.
    pub fn instant(&self, t: scsp_core::Time) -> Instant {
        let ms = t.0.saturating_sub(self.base_ms);
        self.base + std::time::Duration::from_millis(ms.min(u64::from(u32::MAX) * 1000))
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::new()
    }
}

/// What every task shares.
#[derive(Debug)]
pub struct Shared {
    /// The clock.
    pub clock: Clock,
    /// The `-T` trace.
    pub tracer: Arc<Tracer>,
    /// The supervisor.
    pub sup: mpsc::Sender<SupCmd>,
    /// Numbers server tasks.
    pub(crate) next_task: AtomicU64,
    /// Where servers keep their saved state (`StateDir`, `--state-dir`); `None`: nowhere.
    pub state_dir: Option<PathBuf>,
}

impl Shared {
    /// A number for a new server task.
    pub fn task_number(&self) -> u64 {
        self.next_task.fetch_add(1, Ordering::Relaxed)
    }
}

/// Asks of the supervisor.
#[derive(Debug)]
pub enum SupCmd {
    /// Reload the configuration, as SIGHUP does.
    Reload(oneshot::Sender<Result<(), Vec<String>>>),
    /// A server task panicked (a bug): it is started again.
    ServerDied {
        /// Its number.
        task: u64,
        /// The panic's message.
        message: String,
    },
}

/// Where start-up messages go before the daemon is ready: standard error, or (for the detached
/// daemon) the pipe its parent reads.
#[derive(Debug, Clone, Copy)]
struct Report {
    to_parent: bool,
}

impl Report {
    fn line(&self, text: &str) {
        if self.to_parent {
            let mut o = std::io::stdout().lock();
            let _ = writeln!(o, "{text}");
            let _ = o.flush();
        } else {
            let _ = writeln!(std::io::stderr(), "{text}");
        }
    }
}

/// `scspd`'s `main`.
pub fn main() -> ExitCode {
    let args = Args::parse();
    if args.check {
        return check(&args.config, args.offline);
    }
    if !args.debug && !args.detached_child {
        return detach::start_daemon(&args);
    }
    run(args)
}

/// `-n`: parse, resolve and check; print every error and warning. `offline`: no name lookups and
/// no interface checks.
fn check(path: &Path, offline: bool) -> ExitCode {
    let mut err = std::io::stderr();
    let name = path.display().to_string();
    let report = config::load_report(path);
    for w in &report.warnings {
        let _ = writeln!(err, "{w}");
    }
    let Some(cfg) = report.config.filter(|_| report.errors.is_empty()) else {
        for e in &report.errors {
            let _ = writeln!(err, "{e}");
        }
        return ExitCode::FAILURE;
    };
    match plan::plan_with(&cfg, &name, offline) {
        Ok(p) => {
            for w in &p.warnings {
                let _ = writeln!(err, "{w}");
            }
            ExitCode::SUCCESS
        }
        Err(errors) => {
            for e in &errors {
                let _ = writeln!(err, "{e}");
            }
            ExitCode::FAILURE
        }
    }
}

/// Load and plan a configuration file; errors as `file:line:col: message` lines.
fn load(path: &Path) -> Result<(config::Config, Plan, Vec<String>), Vec<String>> {
    let name = path.display().to_string();
    let strings = |v: Vec<config::Error>| v.iter().map(ToString::to_string).collect::<Vec<_>>();
    let (cfg, warnings) = config::load(path).map_err(strings)?;
    let plan = plan::plan(&cfg, &name).map_err(strings)?;
    let mut w: Vec<String> = warnings.iter().map(ToString::to_string).collect();
    w.extend(plan.warnings.iter().cloned());
    Ok((cfg, plan, w))
}

/// Where servers keep their saved state: `--state-dir`, else the configuration's `StateDir`,
/// else [`config::DEFAULT_STATE_DIR`]; `none` for nowhere.
fn state_dir(arg: Option<&Path>, cfg: Option<&config::StateDir>) -> Option<PathBuf> {
    match (arg, cfg) {
        (Some(a), _) if a.as_os_str().eq_ignore_ascii_case("none") => None,
        (Some(a), _) => Some(a.to_owned()),
        (None, Some(config::StateDir::None)) => None,
        (None, Some(config::StateDir::Dir(d))) => Some(d.clone()),
        (None, None) => Some(PathBuf::from(config::DEFAULT_STATE_DIR)),
    }
}

fn run(args: Args) -> ExitCode {
    let report = Report {
        to_parent: args.detached_child,
    };
    let fail = |lines: &[String]| {
        for l in lines {
            report.line(l);
        }
        ExitCode::FAILURE
    };
    let (flags, unknown) = TraceFlags::parse(args.trace.iter().map(String::as_str));
    let (cfg, plan, mut warnings) = match load(&args.config) {
        Ok(x) => x,
        Err(errors) => return fail(&errors),
    };
    let targets = if args.debug {
        Targets::stdout(cfg.log.format)
    } else {
        match Targets::from_config(&cfg.log) {
            Ok((t, warning)) => {
                // Nothing can be logged: say so where the operator reads start-up errors,
                // and where the client socket is (the one way left to see what scspd does).
                warnings.extend(warning.map(|w| {
                    format!(
                        "{w}; the client socket is {} (scspctl -s {0} show status)",
                        args.socket.display()
                    )
                }));
                t
            }
            Err(e) => return fail(&[e]),
        }
    };
    let sink = LogSink::new(targets, cfg.log.level);
    log::install(sink.clone());
    for c in unknown {
        warnings.push(format!(
            "unknown trace option '{c}' ignored (use c h i C H I)"
        ));
    }
    let dump_dir = args.dump_dir.clone().unwrap_or_else(private::default_dir);
    let tracer = match Tracer::open(flags, args.debug, &dump_dir) {
        Ok(t) => Arc::new(t),
        Err(e) => {
            let path = trace::trace_path(&dump_dir, std::process::id());
            return fail(&[format!("can't open trace file {}: {e}", path.display())]);
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(&[format!("can't start the event loop: {e}")]),
    };
    info!(
        "scspd {} starting (pid {}): configuration {}, logging to {}",
        env!("CARGO_PKG_VERSION"),
        std::process::id(),
        args.config.display(),
        sink.describe()
    );
    if flags.any() && !args.debug {
        info!(
            "tracing to {}",
            trace::trace_path(&dump_dir, std::process::id()).display()
        );
    }
    for w in &warnings {
        warn!("{w}");
        if report.to_parent {
            report.line(w);
        }
    }
    let state_dir = state_dir(args.state_dir.as_deref(), cfg.state_dir.as_ref());
    match &state_dir {
        Some(d) => info!("saved state in {}", d.display()),
        None => info!("no saved state (StateDir none): a restarted server starts empty"),
    }
    let (sup, sup_rx) = mpsc::channel(8);
    let shared = Arc::new(Shared {
        clock: Clock::new(),
        tracer,
        sup,
        next_task: AtomicU64::new(1),
        state_dir,
    });
    let code = rt.block_on(daemon(
        args,
        plan,
        cfg.metrics,
        sink,
        shared,
        sup_rx,
        report,
    ));
    // A configuration read still running (a slow name lookup) must not delay the exit: the
    // servers, their saved state and the clients are done by now, and what may still run on the
    // blocking pool is a reload's reading, a client's frame decoding or a dump's last writes
    // (whose sender is gone, so they end at once).
    rt.shutdown_timeout(std::time::Duration::from_millis(20));
    code
}

async fn daemon(
    args: Args,
    plan: Plan,
    metrics_addr: Option<std::net::SocketAddr>,
    sink: Arc<LogSink>,
    shared: Arc<Shared>,
    mut sup_rx: mpsc::Receiver<SupCmd>,
    report: Report,
) -> ExitCode {
    let fail = |line: String| {
        error!("{line}");
        if report.to_parent || !args.debug {
            report.line(&line);
        }
        ExitCode::FAILURE
    };
    let signals = (
        signal(SignalKind::hangup()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    );
    let (Ok(mut hup), Ok(mut int), Ok(mut term)) = signals else {
        return fail("can't install signal handlers".to_owned());
    };
    let listener = match control::bind(&args.socket, args.socket_mode, args.socket_group) {
        Ok(l) => l,
        Err(e) => return fail(e),
    };
    // The read-only socket, for monitoring agents.
    let ro_listener = match args
        .ro_socket
        .as_ref()
        .map(|p| control::bind(p, args.ro_socket_mode, args.socket_group))
        .transpose()
    {
        Ok(l) => l,
        Err(e) => {
            remove_socket(&args.socket);
            return fail(format!("read-only socket: {e}"));
        }
    };
    let mut sockets = Vec::new();
    for s in &plan.servers {
        match UdpSocket::bind(s.bind).await {
            Ok(sock) => sockets.push(sock),
            Err(e) => {
                remove_socket(&args.socket);
                if let Some(p) = &args.ro_socket {
                    remove_socket(p);
                }
                return fail(format!(
                    "server {}: can't receive on {}: {e}",
                    s.name, s.bind
                ));
            }
        }
    }
    let metrics_listener = match metrics_addr {
        Some(a) => match http::bind(a).await {
            Ok(l) => Some((a, l)),
            Err(e) => {
                remove_socket(&args.socket);
                if let Some(p) = &args.ro_socket {
                    remove_socket(p);
                }
                return fail(e);
            }
        },
        None => None,
    };
    let mut servers = Vec::new();
    for (p, sock) in plan.servers.into_iter().zip(sockets) {
        servers.push(server::spawn(p, sock, shared.clone(), Vec::new()));
    }
    let (routes_tx, routes_rx) = watch::channel(Arc::new(routes(&servers)));
    let ctx = Arc::new(Ctx {
        routes: routes_rx,
        stats: ControlStats::default(),
        shared: shared.clone(),
        path: args.socket.clone(),
        idle: args
            .client_idle_timeout
            .map_or(control::IDLE_TIMEOUT, std::time::Duration::from_secs_f64),
        status: Arc::new(status::Board::new(args.config.clone(), args.socket.clone())),
    });
    let control_task = tokio::spawn(control::serve(listener, ctx.clone(), false));
    let ro_task = ro_listener.map(|l| tokio::spawn(control::serve(l, ctx.clone(), true)));
    let metrics = metrics_listener.map(|(a, l)| {
        info!("metrics: serving http://{a}/metrics");
        ctx.status.set_metrics(Some(a));
        (a, tokio::spawn(http::serve(l, ctx.clone())))
    });
    let mut sup = Supervisor {
        config: args.config.clone(),
        debug: args.debug,
        servers,
        routes: routes_tx,
        sink,
        shared,
        ctx: ctx.clone(),
        metrics,
    };
    let mut dumper = Dumper {
        ctx,
        dir: args.dump_dir.clone().unwrap_or_else(private::default_dir),
        n: 0,
    };
    info!(
        "ready: {} server(s); client socket {}",
        sup.servers.len(),
        args.socket.display()
    );
    if report.to_parent {
        report.line(detach::READY);
    }
    notify::ready();
    loop {
        tokio::select! {
            _ = hup.recv() => {
                info!("SIGHUP: reloading {}", sup.config.display());
                notify::reloading();
                if guarded(sup.reload(), &mut term, &mut int, &mut dumper).await.is_none() {
                    break;
                }
                notify::ready();
            }
            _ = int.recv() => dumper.dump(),
            _ = term.recv() => {
                info!("SIGTERM: stopping");
                break;
            }
            Some(cmd) = sup_rx.recv() => match cmd {
                SupCmd::Reload(reply) => {
                    info!("reload requested by a client: reloading {}", sup.config.display());
                    notify::reloading();
                    match guarded(sup.reload(), &mut term, &mut int, &mut dumper).await {
                        Some(r) => {
                            let _ = reply.send(r);
                        }
                        None => break,
                    }
                    notify::ready();
                }
                SupCmd::ServerDied { task, message } => sup.server_died(task, &message).await,
            },
        }
    }
    notify::stopping();
    control_task.abort();
    let _ = control_task.await;
    if let Some(t) = ro_task {
        t.abort();
        let _ = t.await;
    }
    if let Some(p) = &args.ro_socket {
        remove_socket(p);
    }
    if let Some((_, t)) = sup.metrics.take() {
        t.abort();
        let _ = t.await;
    }
    for h in std::mem::take(&mut sup.servers) {
        h.stop("the daemon is stopping".to_owned()).await;
    }
    remove_socket(&args.socket);
    info!("stopped");
    ExitCode::SUCCESS
}

fn routes(servers: &[ServerHandle]) -> Routes {
    servers
        .iter()
        .map(|h| (h.plan.name.clone(), h.tx.clone()))
        .collect()
}

/// Remove our socket file (if it still is a socket).
fn remove_socket(path: &Path) {
    use std::os::unix::fs::FileTypeExt;
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket()) {
        let _ = std::fs::remove_file(path);
    }
}

struct Supervisor {
    config: PathBuf,
    debug: bool,
    servers: Vec<ServerHandle>,
    routes: watch::Sender<Arc<Routes>>,
    sink: Arc<LogSink>,
    shared: Arc<Shared>,
    /// The client interface's context (its status board; the metrics endpoint serves from it).
    ctx: Arc<Ctx>,
    /// The metrics endpoint: where it listens and its task.
    metrics: Option<(std::net::SocketAddr, tokio::task::JoinHandle<()>)>,
}

/// How long reading the configuration (files and name lookups) may take on a reload.
const LOAD_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Run `work` (a reload) while still answering SIGINT (a dump) and SIGTERM (`None`: stop now),
/// so that no reload delays a signal.
async fn guarded<T>(
    work: impl std::future::Future<Output = T>,
    term: &mut tokio::signal::unix::Signal,
    int: &mut tokio::signal::unix::Signal,
    dumper: &mut Dumper,
) -> Option<T> {
    tokio::pin!(work);
    loop {
        tokio::select! {
            r = &mut work => return Some(r),
            _ = term.recv() => {
                info!("SIGTERM: stopping (a reload was under way)");
                return None;
            }
            _ = int.recv() => dumper.dump(),
        }
    }
}

impl Supervisor {
    /// A server task panicked: start the server again, with an empty cache.
    async fn server_died(&mut self, task: u64, message: &str) {
        let Some(i) = self.servers.iter().position(|h| h.task == task) else {
            return;
        };
        let h = self.servers.remove(i);
        let p = h.plan.clone();
        error!(
            server = %p.name,
            "its task panicked ({message}); this is a bug. Restarting the server"
        );
        let _ = h.join.await;
        match UdpSocket::bind(p.bind).await {
            Ok(sock) => {
                let h = server::spawn(p, sock, self.shared.clone(), Vec::new());
                self.servers.insert(i, h);
            }
            Err(e) => {
                error!(server = %p.name, "can't receive on {}: {e}; not started", p.bind);
                self.ctx
                    .status
                    .add_failed(&p, format!("can't receive on {}: {e}", p.bind));
            }
        }
        self.routes.send_replace(Arc::new(routes(&self.servers)));
    }

    /// Re-read the configuration and apply it (see [`Supervisor::load_and_apply`]); the outcome
    /// goes on the status board.
    async fn reload(&mut self) -> Result<(), Vec<String>> {
        let r = self.load_and_apply().await;
        self.ctx
            .status
            .reloaded(r.as_ref().err().map_or(&[][..], Vec::as_slice));
        r
    }

    /// Re-read the configuration and apply it. On any error the running configuration stays,
    /// and every error is logged as `file:line:col: message`.
    async fn load_and_apply(&mut self) -> Result<(), Vec<String>> {
        let path = self.config.clone();
        let loaded = match tokio::time::timeout(
            LOAD_TIMEOUT,
            tokio::task::spawn_blocking(move || load(&path)),
        )
        .await
        {
            Ok(r) => r.unwrap_or_else(|e| Err(vec![format!("reload failed: {e}")])),
            Err(_) => Err(vec![format!(
                "reading {} took more than {} s (a slow name lookup?)",
                self.config.display(),
                LOAD_TIMEOUT.as_secs()
            )]),
        };
        let (cfg, plan, warnings) = match loaded {
            Ok(x) => x,
            Err(errors) => {
                for e in &errors {
                    error!("{e}");
                }
                error!(
                    "reload refused: {} error(s) in {}; the running configuration is kept",
                    errors.len(),
                    self.config.display()
                );
                return Err(errors);
            }
        };
        let targets = if self.debug {
            Some((Targets::stdout(cfg.log.format), None))
        } else {
            match Targets::from_config(&cfg.log) {
                Ok(t) => Some(t),
                Err(e) => {
                    error!("{e}; reload refused, the running configuration is kept");
                    return Err(vec![e]);
                }
            }
        };
        for w in &warnings {
            warn!("{w}");
        }
        if let Some((t, warning)) = targets {
            let (before, after) = (self.sink.describe(), t.describe());
            if before != after {
                info!("logging to {after} from now on");
            }
            self.sink.set(t);
            if before != after {
                info!("logging to {after} (was {before})");
            }
            if let Some(w) = warning {
                warn!("{w}");
            }
        }
        if self.sink.level() != cfg.log.level {
            notice!(
                "log level {} (was {})",
                cfg.log.level.name(),
                self.sink.level().name()
            );
            self.sink.set_level(cfg.log.level);
        }
        let (mut problems, changes) = self.apply(plan).await;
        problems.extend(self.apply_metrics(cfg.metrics).await);
        let what = if changes.is_empty() {
            "nothing changed".to_owned()
        } else {
            changes.join("; ")
        };
        if problems.is_empty() {
            notice!("reload done: {} server(s); {what}", self.servers.len());
            Ok(())
        } else {
            warn!(
                "reload done with {} problem(s): {} server(s); {what}",
                problems.len(),
                self.servers.len()
            );
            Err(problems)
        }
    }

    /// Move the metrics endpoint to `want` (or stop it). An unchanged address keeps the
    /// listener; a new one is bound before the old is closed, so that a failure keeps the
    /// endpoint where it was.
    async fn apply_metrics(&mut self, want: Option<std::net::SocketAddr>) -> Option<String> {
        if self.metrics.as_ref().map(|m| m.0) == want {
            return None;
        }
        let new = match want {
            Some(a) => match http::bind(a).await {
                Ok(l) => Some((a, tokio::spawn(http::serve(l, self.ctx.clone())))),
                Err(e) => {
                    let kept = self.metrics.as_ref().map_or_else(
                        || "the endpoint stays off".to_owned(),
                        |m| format!("the endpoint stays on {}", m.0),
                    );
                    error!("{e}; {kept}");
                    return Some(format!("{e}; {kept}"));
                }
            },
            None => None,
        };
        if let Some((a, t)) = self.metrics.take() {
            t.abort();
            let _ = t.await;
            info!("metrics: no longer serving on {a}");
        }
        if let Some((a, _)) = &new {
            info!("metrics: serving http://{a}/metrics");
        }
        self.ctx.status.set_metrics(new.as_ref().map(|m| m.0));
        self.metrics = new;
        None
    }

    /// Make the running servers those of `plan`. Returns what could not be done, and what
    /// changed (`server s_c started`, `server s_b: DCS 127.0.0.5 added`).
    async fn apply(&mut self, plan: Plan) -> (Vec<String>, Vec<String>) {
        let mut problems = Vec::new();
        let mut changes = Vec::new();
        let mut failed = Vec::new();
        let mut kept = Vec::new();
        let mut carry: Vec<(String, Vec<LocalEntry>)> = Vec::new();
        for h in std::mem::take(&mut self.servers) {
            let name = h.plan.name.clone();
            match plan.servers.iter().find(|s| s.name == name) {
                Some(n) if n.identity() == h.plan.identity() => kept.push(h),
                Some(_) => {
                    notice!(server = %name, "protocol, group, ID or address changed: restarting");
                    changes.push(format!("server {name} restarted"));
                    let entries = h.stop("restarted by a reload".to_owned()).await;
                    carry.push((name, entries));
                }
                None => {
                    notice!(server = %name, "no longer configured: stopping");
                    changes.push(format!("server {name} removed"));
                    h.stop("removed by a reload".to_owned()).await;
                }
            }
        }
        for p in plan.servers {
            if let Some(i) = kept.iter().position(|h| h.plan.name == p.name) {
                let mut h = kept.remove(i);
                let (reply, rx) = oneshot::channel();
                let cmd = server::ServerCmd::Reconfigure {
                    dcs: p.dcs.clone(),
                    notify: p.notify.clone(),
                    reply,
                };
                if h.tx.send(cmd).await.is_ok()
                    && let Ok(done) = rx.await
                {
                    changes.extend(done.into_iter().map(|c| format!("server {}: {c}", p.name)));
                }
                h.plan = p;
                self.servers.push(h);
                continue;
            }
            let entries = carry
                .iter()
                .position(|(n, _)| *n == p.name)
                .map(|i| carry.swap_remove(i).1)
                .unwrap_or_default();
            match UdpSocket::bind(p.bind).await {
                Ok(sock) => {
                    if entries.is_empty() {
                        notice!(server = %p.name, "starting");
                        changes.push(format!("server {} added", p.name));
                    }
                    self.ctx.status.started(&p.name);
                    self.servers
                        .push(server::spawn(p, sock, self.shared.clone(), entries));
                }
                Err(e) => {
                    let msg = format!(
                        "server {}: can't receive on {}: {e}; not started",
                        p.name, p.bind
                    );
                    error!(server = %p.name, "can't receive on {}: {e}; not started", p.bind);
                    problems.push(msg);
                    failed.push((p.clone(), format!("can't receive on {}: {e}", p.bind)));
                }
            }
        }
        self.ctx.status.set_failed(failed);
        self.routes.send_replace(Arc::new(routes(&self.servers)));
        (problems, changes)
    }
}
