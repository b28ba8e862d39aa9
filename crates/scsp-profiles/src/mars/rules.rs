//! The MARS time rules (RFC 2443 §2, §5.1) for the cache scspd keeps itself, sans-IO.
//!
//! - This server's redirect entry is advertised again every [`MarsTimers::refresh`] (60 s, the
//!   RFC's recommendation; it requires at least every 2 minutes).
//! - Every other server is watched from the first entry learned from it: each new instance of its
//!   redirect entry moves its deadline to [`MarsTimers::dead_after`] later (two missed updates
//!   at the longest allowed interval, plus a grace for flooding). When the deadline passes,
//!   everything learned from that server is to be flushed: [`Flush::Server`].
//! - A client or MCS deregistration (leave or unserve with the register flag) withdraws, at the
//!   server that originated it, every local entry of that client or MCS, and asks every other
//!   server to drop that client's entries: [`Flush::Client`].
//!
//! The decisions are collected here and taken with [`MarsRules::take_flushes`] (or, through the
//! trait, [`LocalRules::take_flush_matches`], which the daemon hands to
//! `scsp_core::Server::flush`), and told to the operator through [`LocalRules::take_notices`].
//! Both queues keep the newest [`MAX_QUEUED`] items.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use scsp_core::Time;
use serde::{Deserialize, Serialize};

use super::record::{Kind, Record, State};
use crate::nhrp::NbmaAddr;
use crate::{LocalAction, LocalRules};

/// Most flush decisions, and most notices, kept until taken; older ones are dropped.
pub const MAX_QUEUED: usize = 1024;

/// The timers of [`MarsRules`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarsTimers {
    /// How often this server advertises its redirect entry again (RFC 2443 §5.1: at least every
    /// 2 minutes, 1 minute recommended).
    pub refresh: Duration,
    /// The longest interval between two redirect updates of a server: 2 minutes.
    pub max_interval: Duration,
    /// Updates missed in a row before a server's entries are flushed: 2.
    pub missed: u32,
    /// Allowance for the time an update takes to reach this server through the group.
    pub grace: Duration,
}

impl Default for MarsTimers {
    fn default() -> Self {
        MarsTimers {
            refresh: Duration::from_secs(60),
            max_interval: Duration::from_secs(120),
            missed: 2,
            grace: Duration::from_secs(10),
        }
    }
}

impl MarsTimers {
    /// The timers of a server group whose servers refresh their redirect entries at least every
    /// `max_interval` (RFC 2443 §5.1: 2 minutes; scspd's `MARSRedirectInterval`), derived from
    /// it as the defaults are from 2 minutes: a refresh every half of it, 2 missed updates, and
    /// a grace of a quarter of it but at most 10 s. `with_max_interval(120 s)` is
    /// [`MarsTimers::default`]. `max_interval` is meant to be a few seconds at least (scspd
    /// allows 2 s to 1 hour): the refresh is not to be zero.
    pub fn with_max_interval(max_interval: Duration) -> Self {
        MarsTimers {
            refresh: max_interval / 2,
            max_interval,
            missed: 2,
            grace: (max_interval / 4).min(Duration::from_secs(10)),
        }
    }

    /// How long after its last redirect update a server is given up: `max_interval × missed +
    /// grace` (250 s by default). Also the core lifetime of a redirect entry.
    pub fn dead_after(&self) -> Duration {
        self.max_interval * self.missed + self.grace
    }
}

/// Entries of another originator to be dropped from this server's cache (without flooding:
/// every server decides so by itself).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Flush {
    /// Everything originated by this server: it missed two redirect updates (RFC 2443 §2, §5.1).
    Server {
        /// The server's Originator ID.
        origin: Vec<u8>,
    },
    /// Every entry of one client or MCS originated by this server: it sent a deregistration
    /// ("all of the servers in the SG receiving this update MUST purge all cache entries for
    /// this client", §5.4, §5.5).
    Client {
        /// The Originator ID of the server the client was registered with.
        origin: Vec<u8>,
        /// Client or MCS.
        kind: Kind,
        /// Its Cluster Member ID.
        cmi: u16,
    },
}

impl crate::FlushMatch for Flush {
    fn matches(&self, key: &[u8], origin: &[u8], data: &[u8]) -> bool {
        Flush::matches(self, key, origin, data)
    }
}

impl Flush {
    /// Whether the entry (`key`, `origin`, `data`) is one this flush drops.
    pub fn matches(&self, _key: &[u8], origin: &[u8], data: &[u8]) -> bool {
        match self {
            Flush::Server { origin: o } => o == origin,
            Flush::Client {
                origin: o,
                kind,
                cmi,
            } => {
                o == origin
                    && Record::decode(data).is_ok_and(|r| r.state.kind() == *kind && r.cmi == *cmi)
            }
        }
    }
}

/// A server being watched.
#[derive(Debug, Clone)]
struct Watched {
    /// When it is given up unless a redirect update arrives.
    deadline: Time,
    /// The ATM address of its last redirect entry, if one came.
    atm: Option<NbmaAddr>,
}

/// The MARS local rules. See the module documentation.
#[derive(Debug, Clone)]
pub struct MarsRules {
    timers: MarsTimers,
    /// This server's redirect entry: key, data, when it is next advertised.
    redirect: Option<(Vec<u8>, Vec<u8>, Time)>,
    /// The client and MCS entries originated here, by key.
    local: BTreeMap<Vec<u8>, Record>,
    /// Withdrawals due at the next poll.
    withdraw: Vec<Vec<u8>>,
    withdraw_at: Option<Time>,
    /// Other servers, by Originator ID.
    remote: BTreeMap<Vec<u8>, Watched>,
    flushes: VecDeque<Flush>,
    notices: VecDeque<String>,
}

impl MarsRules {
    /// Rules with these timers.
    pub fn new(timers: MarsTimers) -> Self {
        MarsRules {
            timers,
            redirect: None,
            local: BTreeMap::new(),
            withdraw: Vec::new(),
            withdraw_at: None,
            remote: BTreeMap::new(),
            flushes: VecDeque::new(),
            notices: VecDeque::new(),
        }
    }

    /// The timers.
    pub fn timers(&self) -> &MarsTimers {
        &self.timers
    }

    /// The flush decisions taken since the last call, oldest first.
    pub fn take_flushes(&mut self) -> Vec<Flush> {
        self.flushes.drain(..).collect()
    }

    /// Decide a flush (once), and say so.
    fn flush(&mut self, f: Flush) {
        if self.flushes.contains(&f) {
            return;
        }
        let notice = match &f {
            Flush::Server { origin } => format!(
                "MARS server {}: no redirect update for {} s ({} missed): everything learned \
                 from it is to be flushed",
                hex::encode(origin),
                self.timers.dead_after().as_secs_f64(),
                self.timers.missed
            ),
            Flush::Client { origin, kind, cmi } => format!(
                "MARS server {}: {} {cmi} deregistered: its entries are to be flushed",
                hex::encode(origin),
                match kind {
                    Kind::Client => "client",
                    Kind::Mcs => "MCS",
                    Kind::Server => "server",
                }
            ),
        };
        push_bounded(&mut self.flushes, f);
        push_bounded(&mut self.notices, notice);
    }

    /// The servers whose redirect entries are current, in ascending order of Originator ID with
    /// their ATM addresses: the head of the MARS_REDIRECT_MAP (RFC 2443 §5.1), before any
    /// configured backup servers.
    pub fn redirect_map(&self) -> Vec<(Vec<u8>, NbmaAddr)> {
        let mut v: Vec<(Vec<u8>, NbmaAddr)> = self
            .remote
            .iter()
            .filter_map(|(o, w)| w.atm.clone().map(|a| (o.clone(), a)))
            .collect();
        // Numeric order of the IDs: shorter IDs first, then octet by octet.
        v.sort_by(|a, b| (a.0.len(), &a.0).cmp(&(b.0.len(), &b.0)));
        v
    }

    /// The Originator IDs being watched, with their deadlines.
    pub fn watched(&self) -> impl Iterator<Item = (&[u8], Time)> {
        self.remote.iter().map(|(o, w)| (o.as_slice(), w.deadline))
    }

    fn queue_withdraw(&mut self, now: Time, key: Vec<u8>) {
        self.withdraw.push(key);
        self.withdraw_at.get_or_insert(now);
    }

    /// A client or MCS (`kind`, `cmi`) deregistered here: withdraw its other local entries.
    fn deregistered_locally(&mut self, now: Time, kind: Kind, cmi: u16) {
        let keys: Vec<Vec<u8>> = self
            .local
            .iter()
            .filter(|(_, r)| r.state.kind() == kind && r.cmi == cmi)
            .map(|(k, _)| k.clone())
            .collect();
        for k in keys {
            self.local.remove(&k);
            self.queue_withdraw(now, k);
        }
    }
}

fn push_bounded<T>(q: &mut VecDeque<T>, item: T) {
    if q.len() >= MAX_QUEUED {
        q.pop_front();
    }
    q.push_back(item);
}

impl Default for MarsRules {
    fn default() -> Self {
        MarsRules::new(MarsTimers::default())
    }
}

impl LocalRules for MarsRules {
    fn on_local(&mut self, now: Time, key: &[u8], data: &[u8]) -> bool {
        let Ok(r) = Record::decode(data) else {
            // Not a MARS record: the core refuses it.
            return true;
        };
        if r.state == State::ServerRedirect {
            self.redirect = Some((key.to_vec(), data.to_vec(), now + self.timers.refresh));
        } else if r.state.is_deletion() {
            // A leave or unserve handed in as a record: as a withdrawal of its key.
            self.on_local_withdraw(now, key);
        } else {
            self.local.insert(key.to_vec(), r);
        }
        true
    }

    fn on_local_withdraw(&mut self, now: Time, key: &[u8]) {
        if self.redirect.as_ref().is_some_and(|(k, ..)| k == key) {
            self.redirect = None;
        }
        if let Some(r) = self.local.remove(key)
            && r.register
        {
            self.deregistered_locally(now, r.state.kind(), r.cmi);
        }
    }

    fn on_remote(
        &mut self,
        now: Time,
        _key: &[u8],
        origin: &[u8],
        data: &[u8],
    ) -> Vec<LocalAction> {
        let Ok(r) = Record::decode(data) else {
            return Vec::new();
        };
        let dead_at = now + self.timers.dead_after();
        if r.state == State::ServerRedirect {
            self.remote.insert(
                origin.to_vec(),
                Watched {
                    deadline: dead_at,
                    atm: Some(r.source_atm_address),
                },
            );
        } else {
            // Watched from its first entry: a server that never sends a redirect entry is
            // given up like one that stopped.
            self.remote.entry(origin.to_vec()).or_insert(Watched {
                deadline: dead_at,
                atm: None,
            });
            if r.register && r.state.is_deletion() {
                self.flush(Flush::Client {
                    origin: origin.to_vec(),
                    kind: r.state.kind(),
                    cmi: r.cmi,
                });
            }
        }
        Vec::new()
    }

    /// The removal of a remote registration (key `kind ‖ CMI`, see [`super::key_of`]) is the
    /// client's or MCS's deregistration: its other entries from that server are flushed. Only
    /// for a server still watched: once a server is given up, its entries are flushed already.
    fn on_remote_removed(&mut self, _now: Time, key: &[u8], origin: &[u8]) {
        let kind = match key {
            [2, ..] => Kind::Mcs,
            [3, ..] => Kind::Client,
            _ => return,
        };
        if let [_, hi, lo] = key
            && self.remote.contains_key(origin)
        {
            self.flush(Flush::Client {
                origin: origin.to_vec(),
                kind,
                cmi: u16::from_be_bytes([*hi, *lo]),
            });
        }
    }

    fn take_flush_matches(&mut self) -> Vec<Box<dyn crate::FlushMatch>> {
        self.flushes
            .drain(..)
            .map(|f| Box::new(f) as Box<dyn crate::FlushMatch>)
            .collect()
    }

    fn take_notices(&mut self) -> Vec<String> {
        self.notices.drain(..).collect()
    }

    fn poll(&mut self, now: Time) -> Vec<LocalAction> {
        let mut out = Vec::new();
        if self.withdraw_at.is_some_and(|t| t <= now) {
            self.withdraw_at = None;
            out.extend(
                self.withdraw
                    .drain(..)
                    .map(|key| LocalAction::Withdraw { key }),
            );
        }
        if let Some((key, data, next)) = &mut self.redirect
            && *next <= now
        {
            out.push(LocalAction::Originate {
                key: key.clone(),
                data: data.clone(),
            });
            *next = now + self.timers.refresh;
        }
        let dead: Vec<Vec<u8>> = self
            .remote
            .iter()
            .filter(|(_, w)| w.deadline <= now)
            .map(|(o, _)| o.clone())
            .collect();
        for origin in dead {
            self.remote.remove(&origin);
            self.flush(Flush::Server { origin });
        }
        out
    }

    fn next_deadline(&self) -> Option<Time> {
        [
            self.withdraw_at,
            self.redirect.as_ref().map(|(.., t)| *t),
            self.remote.values().map(|w| w.deadline).min(),
        ]
        .into_iter()
        .flatten()
        .min()
    }
}
