//! Metrics: what each server task observes beyond the core's counters (alignment durations,
//! authentication failures by reason, when a DCS was last Aligned), the figures gathered from
//! every server task by message with a deadline, and their encoding in the OpenMetrics text
//! format (prometheus-client). `daemon/http.rs` serves the text; `show metrics` returns it.
//!
//! Gathering never makes a server task wait: each task is asked with `try_send` (a full command
//! queue counts as no answer) and answers from what it holds; the whole gathering has
//! [`GATHER_DEADLINE`], after which a server that has not answered is reported with
//! `scsp_server_up 0`.

mod encode;
pub use encode::encode;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::Ordering;
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric as _, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;
use scsp_core::{CaState, DcsId, DcsStats, HelloState, MessageCounts, Server, Time, Trace};
use tokio::sync::oneshot;

use super::control::Ctx;
use super::server::ServerCmd;

/// How long a scrape waits for the server tasks' answers.
pub const GATHER_DEADLINE: Duration = Duration::from_secs(2);
/// The cache's byte count is walked at most this often per server (a walk reads every entry).
const BYTES_EVERY: Duration = Duration::from_secs(5);
/// Upper bounds of the alignment duration histogram's buckets, seconds.
pub const ALIGN_BUCKETS: [f64; 12] = [
    0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];
/// The reasons of authentication failures, as labelled.
pub const AUTH_REASONS: [&str; 5] = ["missing", "unknown_spi", "mac_length", "bad_mac", "other"];
/// Every Hello state, for the state gauges.
const HELLO_STATES: [HelloState; 4] = [
    HelloState::Down,
    HelloState::Waiting,
    HelloState::Unidirectional,
    HelloState::Bidirectional,
];
/// Every CA state.
const CA_STATES: [CaState; 6] = [
    CaState::Down,
    CaState::Negotiation,
    CaState::SummarizeMaster,
    CaState::SummarizeSlave,
    CaState::UpdateCache,
    CaState::Aligned,
];

/// The reason label of an authentication failure, from the core's `AuthError` text.
pub fn auth_reason(text: &str) -> &'static str {
    if text.contains("no authentication extension") {
        "missing"
    } else if text.contains("no key is known for spi") {
        "unknown_spi"
    } else if text.starts_with("authentication data of") {
        "mac_length"
    } else if text.contains("does not match") {
        "bad_mac"
    } else {
        "other"
    }
}

/// A histogram's counts (per bucket, not cumulative; the last is +Inf).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Hist {
    /// Per bucket of [`ALIGN_BUCKETS`], then +Inf.
    pub counts: [u64; ALIGN_BUCKETS.len() + 1],
    /// Sum of the observations, seconds.
    pub sum: f64,
    /// Observations.
    pub count: u64,
}

impl Hist {
    fn observe(&mut self, v: f64) {
        let i = ALIGN_BUCKETS
            .iter()
            .position(|&b| v <= b)
            .unwrap_or(ALIGN_BUCKETS.len());
        self.counts[i] += 1;
        self.sum += v;
        self.count += 1;
    }
}

/// What the task notes about one DCS.
#[derive(Debug, Default)]
struct DcsObs {
    /// When the CA FSM left Down for this alignment.
    aligning_since: Option<Time>,
    /// Since when the DCS is not Aligned (`None` while it is).
    unaligned_since: Option<Time>,
    align: Hist,
    auth: BTreeMap<&'static str, u64>,
    /// Times the CA FSM left Aligned.
    flaps: u64,
    /// When the DCS last went down (Hello left Bidirectional, or CA left Aligned) and why.
    last_down: Option<(Time, String)>,
    /// Disabled by a client.
    disabled: bool,
    /// The core's counters when they were last cleared: shown counters are the difference.
    baseline: DcsStats,
}

fn sub_counts(a: MessageCounts, b: MessageCounts) -> MessageCounts {
    MessageCounts {
        hello: a.hello.saturating_sub(b.hello),
        ca: a.ca.saturating_sub(b.ca),
        csu_request: a.csu_request.saturating_sub(b.csu_request),
        csu_reply: a.csu_reply.saturating_sub(b.csu_reply),
        csus: a.csus.saturating_sub(b.csus),
        bytes: a.bytes.saturating_sub(b.bytes),
        records: a.records.saturating_sub(b.records),
    }
}

/// Counters `a` less `b`, field by field.
fn sub_stats(a: &DcsStats, b: &DcsStats) -> DcsStats {
    DcsStats {
        rx: sub_counts(a.rx, b.rx),
        tx: sub_counts(a.tx, b.tx),
        malformed: a.malformed.saturating_sub(b.malformed),
        auth_failures: a.auth_failures.saturating_sub(b.auth_failures),
        replays_refused: a.replays_refused.saturating_sub(b.replays_refused),
        dropped: a.dropped.saturating_sub(b.dropped),
        invalid_records: a.invalid_records.saturating_sub(b.invalid_records),
        ca_retransmits: a.ca_retransmits.saturating_sub(b.ca_retransmits),
        csus_retransmits: a.csus_retransmits.saturating_sub(b.csus_retransmits),
        csa_retransmits: a.csa_retransmits.saturating_sub(b.csa_retransmits),
        abnormal_events: a.abnormal_events.saturating_sub(b.abnormal_events),
        alignments: a.alignments.saturating_sub(b.alignments),
        records_learned: a.records_learned.saturating_sub(b.records_learned),
        family_mismatches: a.family_mismatches.saturating_sub(b.family_mismatches),
        stray_purges: a.stray_purges.saturating_sub(b.stray_purges),
        cache_full: a.cache_full.saturating_sub(b.cache_full),
        csa_requests_refused: a
            .csa_requests_refused
            .saturating_sub(b.csa_requests_refused),
    }
}

/// A control request for a server task.
#[derive(Debug, Clone)]
pub enum Control {
    /// Disable, enable or restart one DCS.
    Dcs(String, crate::proto::DcsAction),
    /// Realign with one DCS, or all.
    Realign(Option<String>),
    /// Counters back to zero.
    Clear,
}

/// The per-DCS detail of `show dcs`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Detail {
    /// Seconds since a Hello from the DCS was last accepted.
    pub last_hello_s: Option<u64>,
    /// Milliseconds left before the Hello FSM declares the DCS dead, if nothing is heard.
    pub dead_in_ms: Option<u64>,
    /// Why the DCS last went down.
    pub last_down: Option<String>,
    /// Seconds since then.
    pub last_down_s: Option<u64>,
    /// Times the CA FSM left Aligned.
    pub flaps: u64,
}

/// What a server task observes for the metrics, fed by its trace events.
#[derive(Debug, Default)]
pub struct Observer {
    dcs: HashMap<DcsId, DcsObs>,
    /// The cache's bytes and when they were counted.
    bytes: Option<(u64, std::time::Instant)>,
}

impl Observer {
    /// A DCS was configured.
    pub fn added(&mut self, id: DcsId, now: Time) {
        self.dcs.insert(
            id,
            DcsObs {
                unaligned_since: Some(now),
                ..DcsObs::default()
            },
        );
    }

    /// A DCS was removed.
    pub fn removed(&mut self, id: DcsId) {
        self.dcs.remove(&id);
    }

    /// The detail of DCS `id` for `show dcs`: the last Hello and the dead timer as the core's
    /// Hello FSM keeps them (`DcsInfo::last_hello`, `DcsInfo::dead_at`).
    pub fn detail(&self, server: &Server, id: DcsId, now: Time) -> Detail {
        let Some(o) = self.dcs.get(&id) else {
            return Detail::default();
        };
        let info = server.dcs_info(id);
        Detail {
            last_hello_s: info
                .as_ref()
                .and_then(|i| i.last_hello)
                .map(|t| now.since(t).as_secs()),
            last_down: o.last_down.as_ref().map(|(_, why)| why.clone()),
            last_down_s: o.last_down.as_ref().map(|(t, _)| now.since(*t).as_secs()),
            flaps: o.flaps,
            dead_in_ms: info
                .and_then(|i| i.dead_at)
                .map(|at| at.0.saturating_sub(now.0)),
        }
    }

    /// A trace event of the core.
    pub fn trace(&mut self, now: Time, t: &Trace) {
        match t {
            Trace::Hello {
                dcs,
                from,
                to,
                cause,
            } => {
                if let Some(o) = self.dcs.get_mut(dcs)
                    && *from == HelloState::Bidirectional
                {
                    o.last_down = Some((now, format!("Hello {} ({cause})", to.name())));
                }
            }
            Trace::Ca {
                dcs,
                from,
                to,
                cause,
            } => {
                let Some(o) = self.dcs.get_mut(dcs) else {
                    return;
                };
                if *from == CaState::Aligned && *to != CaState::Aligned {
                    o.flaps += 1;
                    o.unaligned_since = Some(now);
                    // Going down with the Hello FSM: its reason, noted just before, says more.
                    if *cause != "Hello FSM left Bidirectional" {
                        o.last_down = Some((now, format!("CA {} ({cause})", to.name())));
                    }
                }
                match to {
                    CaState::Aligned => {
                        if let Some(s) = o.aligning_since.take() {
                            o.align.observe(now.since(s).as_secs_f64());
                        }
                        o.unaligned_since = None;
                    }
                    CaState::Down => o.aligning_since = None,
                    _ => {
                        o.aligning_since.get_or_insert(now);
                    }
                }
            }
            Trace::Dropped {
                dcs,
                reason: scsp_core::event::Drop::Auth(text),
            } => {
                if let Some(o) = self.dcs.get_mut(dcs) {
                    *o.auth.entry(auth_reason(text)).or_default() += 1;
                }
            }
            _ => {}
        }
    }

    /// The core's counters of `id` since they were last cleared.
    pub fn counters(&self, id: DcsId, stats: &DcsStats) -> DcsStats {
        match self.dcs.get(&id) {
            Some(o) => sub_stats(stats, &o.baseline),
            None => stats.clone(),
        }
    }

    /// Whether `id` was disabled by a client.
    pub fn disabled(&self, id: DcsId) -> bool {
        self.dcs.get(&id).is_some_and(|o| o.disabled)
    }

    /// Carry out a control request; `peers` are the DCSs with their IDs as shown. Returns what
    /// was done, for the log, or the error for the client.
    pub fn control(
        &mut self,
        server: &mut Server,
        now: Time,
        peers: &[(DcsId, String)],
        op: Control,
    ) -> Result<Vec<String>, crate::proto::ProtoError> {
        use crate::proto::{DcsAction, ErrorCode, ProtoError};
        let find = |want: &str| {
            peers
                .iter()
                .find(|(_, label)| label == want)
                .map(|(id, _)| *id)
                .ok_or_else(|| ProtoError {
                    code: ErrorCode::NotFound,
                    message: format!("no DCS {want:.100} in this server"),
                })
        };
        let mut done = Vec::new();
        match op {
            Control::Dcs(label, action) => {
                let id = find(&label)?;
                let o = self.dcs.entry(id).or_default();
                match action {
                    DcsAction::Disable => {
                        o.disabled = true;
                        server.link_down(now, id);
                        done.push(format!("DCS {label} disabled"));
                    }
                    DcsAction::Enable => {
                        if !o.disabled {
                            return Err(ProtoError {
                                code: ErrorCode::Refused,
                                message: format!("DCS {label} is not disabled"),
                            });
                        }
                        o.disabled = false;
                        server.link_up(now, id);
                        done.push(format!("DCS {label} enabled"));
                    }
                    DcsAction::Restart => {
                        o.disabled = false;
                        server.link_down(now, id);
                        server.link_up(now, id);
                        done.push(format!("DCS {label} restarted"));
                    }
                }
            }
            Control::Realign(only) => {
                let ids: Vec<(DcsId, String)> = match only {
                    Some(label) => vec![(find(&label)?, label)],
                    None => peers.to_vec(),
                };
                for (id, label) in ids {
                    if self.disabled(id) {
                        continue;
                    }
                    server.link_down(now, id);
                    server.link_up(now, id);
                    done.push(format!("realigning with DCS {label}"));
                }
            }
            Control::Clear => {
                for (id, _) in peers {
                    let Some(i) = server.dcs_info(*id) else {
                        continue;
                    };
                    let o = self.dcs.entry(*id).or_default();
                    o.baseline = i.stats;
                    o.auth.clear();
                    o.align = Hist::default();
                    o.flaps = 0;
                }
                done.push("counters cleared".to_owned());
            }
        }
        Ok(done)
    }

    /// Seconds since `id` was last Aligned (or configured); `None` while it is Aligned.
    pub fn unaligned_s(&self, id: DcsId, now: Time) -> Option<u64> {
        let since = self.dcs.get(&id)?.unaligned_since?;
        Some(now.since(since).as_secs())
    }

    /// The figures of a server, for a scrape.
    pub fn sample<'a>(
        &mut self,
        server: &Server,
        peers: impl Iterator<Item = (DcsId, &'a str)>,
        now: Time,
        base: ServerSample,
    ) -> ServerSample {
        let cache = server.cache();
        let fresh = self
            .bytes
            .filter(|(_, at)| at.elapsed() < BYTES_EVERY)
            .map(|(b, _)| b);
        let bytes = fresh.unwrap_or_else(|| {
            let b = cache
                .iter()
                .map(|(id, e)| {
                    (id.key.as_bytes().len() + id.origin.as_bytes().len() + e.data.len()) as u64
                })
                .sum();
            self.bytes = Some((b, std::time::Instant::now()));
            b
        });
        let mut s = ServerSample {
            entries: cache.live() as u64,
            entries_held: cache.len() as u64,
            cache_bytes: bytes,
            cache_cost_bytes: cache.bytes() as u64,
            cache_max_bytes: server.config().max_cache_bytes as u64,
            ..base
        };
        for (id, label) in peers {
            let Some(i) = server.dcs_info(id) else {
                continue;
            };
            let detail = self.detail(server, id, now);
            let o = self.dcs.get(&id);
            s.dcs.push(DcsSample {
                id: label.to_owned(),
                hello: i.hello.state,
                hello_s: now.since(i.hello.since).as_secs(),
                ca: i.ca.state,
                ca_s: now.since(i.ca.since).as_secs(),
                stats: self.counters(id, &i.stats),
                rexmit_queue: i.retransmit_queue as u64,
                crl: i.csa_request_list as u64,
                srtt_us: i.srtt_us,
                unaligned_s: self.unaligned_s(id, now),
                align: o.map(|o| o.align.clone()).unwrap_or_default(),
                auth: o.map(|o| o.auth.clone()).unwrap_or_default(),
                flaps: o.map_or(0, |o| o.flaps),
                disabled: o.is_some_and(|o| o.disabled),
                hello_age_s: detail.last_hello_s,
                dead_in_ms: detail.dead_in_ms,
                recon: server
                    .config()
                    .reconcile
                    .then(|| server.recon_stats(id))
                    .flatten(),
            });
        }
        s
    }
}

/// One DCS's figures.
#[derive(Debug, Clone)]
pub struct DcsSample {
    /// Its ID as the configuration writes it.
    pub id: String,
    /// Hello state and seconds in it.
    pub hello: HelloState,
    /// Seconds in the Hello state.
    pub hello_s: u64,
    /// CA state.
    pub ca: CaState,
    /// Seconds in the CA state.
    pub ca_s: u64,
    /// The core's counters.
    pub stats: DcsStats,
    /// CSAs awaiting acknowledgement.
    pub rexmit_queue: u64,
    /// CSAs still wanted.
    pub crl: u64,
    /// Smoothed RTT.
    pub srtt_us: Option<u64>,
    /// Seconds since last Aligned.
    pub unaligned_s: Option<u64>,
    /// Alignment durations.
    pub align: Hist,
    /// Authentication failures by reason.
    pub auth: BTreeMap<&'static str, u64>,
    /// Times it left Aligned.
    pub flaps: u64,
    /// Disabled by a client.
    pub disabled: bool,
    /// Seconds since the last Hello accepted.
    pub hello_age_s: Option<u64>,
    /// Milliseconds left on the dead timer.
    pub dead_in_ms: Option<u64>,
    /// The reconciliation extension's counters, where it is configured (`Reconcile on;`).
    pub recon: Option<scsp_core::ReconStats>,
}

/// One server's figures.
#[derive(Debug, Clone, Default)]
pub struct ServerSample {
    /// Server name.
    pub name: String,
    /// Live entries.
    pub entries: u64,
    /// Entries held, deleted ones included.
    pub entries_held: u64,
    /// Bytes of keys, originator IDs and data of the entries held.
    pub cache_bytes: u64,
    /// What the entries held count against the cache's byte bound.
    pub cache_cost_bytes: u64,
    /// The cache's byte bound (`MaxCacheBytes`).
    pub cache_max_bytes: u64,
    /// Packets from unknown sources.
    pub dropped_unknown: u64,
    /// A local server is attached.
    pub client_attached: bool,
    /// Its DCSs.
    pub dcs: Vec<DcsSample>,
}

/// Everything one scrape shows.
#[derive(Debug, Clone, Default)]
pub struct Gathered {
    /// Servers that answered.
    pub servers: Vec<ServerSample>,
    /// Servers configured that did not answer in time (or are not running).
    pub silent: Vec<String>,
    /// Servers configured that failed to start.
    pub failed: Vec<String>,
    /// Client connections open, accepted, ended for errors, refused.
    pub clients: [u64; 5],
    /// Start time, seconds since the epoch.
    pub started: u64,
    /// Reloads done and refused.
    pub reloads: [u64; 2],
    /// The last reload: when and whether it succeeded.
    pub last_reload: Option<(u64, bool)>,
    /// HTTP scrapes served and refused (too many connections, or bad requests).
    pub http: [u64; 2],
}

/// Ask every server task for its figures, with [`GATHER_DEADLINE`].
pub async fn gather(ctx: &Ctx) -> Gathered {
    let routes = ctx.routes.borrow().clone();
    let deadline = tokio::time::Instant::now() + GATHER_DEADLINE;
    let mut waiting = Vec::with_capacity(routes.len());
    for (name, tx) in routes.iter() {
        let (reply, rx) = oneshot::channel();
        let asked = tx.try_send(ServerCmd::Metrics(reply)).is_ok();
        waiting.push((name.clone(), asked.then_some(rx)));
    }
    let mut g = Gathered::default();
    for (name, rx) in waiting {
        let got = match rx {
            Some(rx) => tokio::time::timeout_at(deadline, rx)
                .await
                .ok()
                .and_then(Result::ok),
            None => None,
        };
        match got {
            Some(s) => g.servers.push(s),
            None => g.silent.push(name),
        }
    }
    let s = &ctx.stats;
    g.clients = [
        s.active.load(Ordering::Relaxed),
        s.accepted.load(Ordering::Relaxed),
        s.bad.load(Ordering::Relaxed),
        s.refused.load(Ordering::Relaxed),
        s.slow.load(Ordering::Relaxed),
    ];
    ctx.status.fill_metrics(&mut g);
    g
}

#[cfg(test)]
mod tests {
    use super::*;
    use scsp_core::wire::AuthError;

    #[test]
    fn auth_reasons_follow_the_core_messages() {
        let cases = [
            (AuthError::Missing, "missing"),
            (AuthError::UnknownSpi(7), "unknown_spi"),
            (
                AuthError::MacLength {
                    spi: 1,
                    expected: 16,
                    found: 3,
                },
                "mac_length",
            ),
            (AuthError::BadMac { spi: 1 }, "bad_mac"),
        ];
        for (e, want) in cases {
            assert_eq!(auth_reason(&e.to_string()), want, "{e}");
        }
    }

    #[test]
    fn histogram_buckets_take_each_observation_once() {
        let mut h = Hist::default();
        for v in [0.001, 0.3, 1.0, 7.0, 1000.0] {
            h.observe(v);
        }
        assert_eq!(h.count, 5);
        assert_eq!(h.counts.iter().sum::<u64>(), 5);
        assert_eq!(h.counts[0], 1);
        assert_eq!(h.counts[ALIGN_BUCKETS.len()], 1);
        assert!((h.sum - 1008.301).abs() < 1e-9);
    }

    /// A server task that does not answer, or whose queue is full, costs a scrape at most the
    /// deadline, never a wait on the task.
    #[tokio::test]
    async fn gathering_has_a_deadline_and_never_waits_on_a_queue() {
        use super::super::control::{ControlStats, Ctx};
        use super::super::{Clock, Shared};
        use std::sync::Arc;
        use tokio::sync::{mpsc, watch};
        let (sup, _sup_rx) = mpsc::channel(1);
        let shared = Arc::new(Shared {
            clock: Clock::new(),
            tracer: Arc::new(super::super::trace::Tracer::off()),
            sup,
            next_task: Default::default(),
            state_dir: None,
        });
        // "full": a queue of one, already full. "mute": takes the request, never answers.
        // "quick": answers.
        let (full_tx, _full_rx) = mpsc::channel(1);
        full_tx
            .try_send(ServerCmd::Metrics(oneshot::channel().0))
            .unwrap();
        let (mute_tx, mut mute_rx) = mpsc::channel::<ServerCmd>(4);
        let (quick_tx, mut quick_rx) = mpsc::channel::<ServerCmd>(4);
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Some(c) = mute_rx.recv().await {
                held.push(c);
            }
        });
        tokio::spawn(async move {
            while let Some(c) = quick_rx.recv().await {
                if let ServerCmd::Metrics(r) = c {
                    let _ = r.send(ServerSample {
                        name: "quick".into(),
                        ..ServerSample::default()
                    });
                }
            }
        });
        let routes = vec![
            ("full".to_owned(), full_tx),
            ("mute".to_owned(), mute_tx),
            ("quick".to_owned(), quick_tx),
        ];
        let (_routes_tx, routes_rx) = watch::channel(Arc::new(routes));
        let ctx = Ctx {
            routes: routes_rx,
            stats: ControlStats::default(),
            shared,
            path: "/nonexistent".into(),
            idle: Duration::from_secs(1),
            status: Arc::new(super::super::status::Board::new("c".into(), "s".into())),
        };
        let t = std::time::Instant::now();
        let g = gather(&ctx).await;
        let took = t.elapsed();
        assert_eq!(g.servers.len(), 1);
        assert_eq!(g.servers[0].name, "quick");
        assert_eq!(g.silent, ["full", "mute"]);
        assert!(
            took >= GATHER_DEADLINE - Duration::from_millis(50),
            "{took:?}"
        );
        assert!(took < GATHER_DEADLINE + Duration::from_secs(1), "{took:?}");
        let text = encode(g, true);
        assert!(text.contains("scsp_server_up{server=\"mute\"} 0"), "{text}");
        assert!(
            text.contains("scsp_server_up{server=\"quick\"} 1"),
            "{text}"
        );
    }

    #[test]
    fn label_values_are_escaped() {
        let g = Gathered {
            servers: vec![ServerSample {
                name: "a\"b\\c\nd".into(),
                ..ServerSample::default()
            }],
            ..Gathered::default()
        };
        let text = encode(g, true);
        assert!(
            text.contains("scsp_server_up{server=\"a\\\"b\\\\c\\nd\"} 1"),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"));
    }
}
