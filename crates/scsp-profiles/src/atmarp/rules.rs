//! ATMARP's rules for the cache scspd keeps itself (no local ATMARP server attached).
//!
//! Sans-IO: time is handed in, actions come out. Three rules:
//!
//! 1. **Refresh hysteresis** (drafts -00/-01 §2): "in the case of mere refreshes, where no
//!    change occurs to the ATMARP Server's cache entry for the ATMARP Client, SCSP updates will
//!    occur at a maximum rate of once every 10+Random(2) minutes". A local add of a new or
//!    changed binding is advertised at once; a re-add of an unchanged binding only when its
//!    period has run since the last advertisement. The period is drawn afresh at each
//!    advertisement: 10 minutes + a uniform random part of up to 2 minutes (seeded), but at most
//!    ¾ of the entry's lifetime.
//! 2. **Keeping held entries alive**: every record expires at the other servers after its
//!    lifetime (20 minutes for Harp and Draft00, RFC 2225 8.4 and draft-00 §2; the Lifetime
//!    field for Draft01), and the drafts send no record when an entry times out. scspd stands in
//!    for the client that would keep refreshing its registration, so an entry it holds is
//!    re-advertised when its period runs out ([`LocalRules::poll`]): at most every 10 + random(2)
//!    minutes, and always before ¾ of its lifetime. A refresh sets a Harp/Draft00 state from
//!    `new` to `updated`, as HARP's atmarpd does. An entry stays until it is withdrawn.
//! 3. **Duplicate bindings** (draft-01 §2; Draft01 only — draft-00 and HARP have no such
//!    procedure): a remote binding for the IP address of a local entry, with another ATM
//!    address or subaddress, is a collision.
//!    - If the local entry is not associated with a connected client
//!      ([`DuplicateMode::NotConnected`]), it is superseded: withdrawn at once (flooded with
//!      Lifetime 0).
//!    - Otherwise ([`DuplicateMode::Connected`], the default: an entry the operator or a client
//!      program put into scspd is one somebody vouches for) the server waits T1. If the remote
//!      duplicate has been purged (deleted, expired, or changed to the same binding) by then,
//!      nothing more happens. If not, both are invalid: a notice is raised (the draft's Network
//!      Management notification, [`LocalRules::take_notices`]), refreshes of the local entry
//!      stop (the draft's "disconnect the local client"), and after T2 the local entry is
//!      withdrawn.
//!    - A local add that collides with a known remote binding is accepted and advertised at
//!      once, and T1 starts (the draft's last paragraph).
//!
//!    The draft leaves T1 and T2 open; the defaults are one minute each ([`RulesConfig`]).
//!
//! A re-advertisement ([`LocalAction::Originate`] from `poll`, or `true` from `on_local`) may
//! carry exactly the data the core already holds: the daemon must then give it a new sequence
//! number (`Server::originate` leaves unchanged data alone; `Server::originate_numbered` with
//! the held number + 1 floods it and restarts its lifetime everywhere).

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap};
use std::net::Ipv4Addr;
use std::time::Duration;

use scsp_core::Time;

use super::addr::{AtmAddress, Nsap};
use super::codec::{self, Record};
use crate::{AtmarpLayout, LocalAction, LocalRules};

/// What a local entry is, in draft-01 §2's terms, when a remote duplicate appears.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DuplicateMode {
    /// No duplicate procedure (Harp and Draft00).
    Off,
    /// Local entries are associated with a connected client: wait T1, then both are invalid and
    /// the local one is purged after T2.
    #[default]
    Connected,
    /// Local entries are not associated with a connected client: a remote duplicate supersedes
    /// them at once.
    NotConnected,
}

/// Tuning of [`AtmarpRules`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RulesConfig {
    /// Fixed part of the refresh period: 10 minutes.
    pub hold: Duration,
    /// Upper bound of its random part: 2 minutes.
    pub jitter: Duration,
    /// Draft-01 §2 T1: how long a duplicate may stand before both bindings are invalid.
    pub t1: Duration,
    /// Draft-01 §2 T2: how long after that the local binding is purged.
    pub t2: Duration,
    /// The duplicate procedure.
    pub duplicates: DuplicateMode,
}

impl RulesConfig {
    /// The defaults for `layout`: 10 + random(2) minutes, T1 = T2 = 1 minute, the duplicate
    /// procedure for Draft01 only.
    pub fn for_layout(layout: AtmarpLayout) -> Self {
        RulesConfig {
            hold: Duration::from_secs(600),
            jitter: Duration::from_secs(120),
            t1: Duration::from_secs(60),
            t2: Duration::from_secs(60),
            duplicates: if layout == AtmarpLayout::Draft01 {
                DuplicateMode::Connected
            } else {
                DuplicateMode::Off
            },
        }
    }
}

/// SplitMix64: small, seeded, good enough for timer jitter.
#[derive(Debug, Clone)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..=max` milliseconds.
    fn upto(&mut self, max: Duration) -> Duration {
        let ms = u64::try_from(max.as_millis()).unwrap_or(u64::MAX);
        if ms == 0 {
            return Duration::ZERO;
        }
        Duration::from_millis(self.next() % (ms.saturating_add(1)))
    }
}

type Binding = (AtmAddress, Option<Nsap>);

/// Where a local entry stands in the duplicate procedure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dup {
    /// No collision known.
    Clear,
    /// A collision: checked again at `until` (T1).
    Waiting { until: Time },
    /// Both invalid: the local entry is withdrawn at `until` (T2); no refreshes meanwhile.
    Purging { until: Time },
}

#[derive(Debug, Clone)]
struct Local {
    ip: Ipv4Addr,
    binding: Binding,
    /// Lifetime field (Draft01) or state-less lifetime; part of what "unchanged" means.
    lifetime: Duration,
    /// The data last advertised.
    data: Vec<u8>,
    /// When the entry is next re-advertised (and from when a mere refresh is advertised).
    next_adv: Time,
    dup: Dup,
}

impl Local {
    /// When the rules next have something to do for this entry: re-advertise it, or end its
    /// T1 or T2.
    fn deadline(&self) -> Time {
        match self.dup {
            Dup::Clear => self.next_adv,
            Dup::Waiting { until } => until.min(self.next_adv),
            Dup::Purging { until } => until,
        }
    }
}

/// A remote binding: IP address, cache key, originator.
type RemoteId = (Ipv4Addr, Vec<u8>, Vec<u8>);

#[derive(Debug, Clone)]
struct Remote {
    binding: Binding,
    expires: Time,
}

/// The local rules of an ATMARP server group (see the module documentation).
#[derive(Debug, Clone)]
pub struct AtmarpRules {
    layout: AtmarpLayout,
    cfg: RulesConfig,
    rng: SplitMix64,
    /// Local entries by key.
    local: BTreeMap<Vec<u8>, Local>,
    /// Every local entry's [`Local::deadline`], in time order: the next deadline and the entries
    /// due are found without a walk through them all (a server of 10⁵ entries polled at every
    /// turn of its loop spent most of its time walking).
    due: BTreeSet<(Time, Vec<u8>)>,
    /// The key of the local entry of each IP address.
    local_ip: HashMap<Ipv4Addr, Vec<u8>>,
    /// Remote bindings by (IP, key, originator); kept only when the duplicate procedure is on.
    remote: BTreeMap<(Ipv4Addr, Vec<u8>, Vec<u8>), Remote>,
    /// The IP address of each remote (key, originator).
    remote_ip: HashMap<(Vec<u8>, Vec<u8>), Ipv4Addr>,
    /// When each remote binding expires, earliest first (stale once it is replaced or
    /// forgotten: checked against `remote` when it comes due).
    remote_expiry: BinaryHeap<Reverse<(Time, RemoteId)>>,
    /// Actions due at the next poll, and since when.
    pending: Vec<LocalAction>,
    pending_since: Option<Time>,
    notices: Vec<String>,
}

impl AtmarpRules {
    /// The rules for `layout` with its default configuration, jitter seeded from `seed`.
    pub fn new(layout: AtmarpLayout, seed: u64) -> Self {
        Self::with_config(layout, seed, RulesConfig::for_layout(layout))
    }

    /// The rules with an explicit configuration.
    pub fn with_config(layout: AtmarpLayout, seed: u64, cfg: RulesConfig) -> Self {
        AtmarpRules {
            layout,
            cfg,
            rng: SplitMix64(seed),
            local: BTreeMap::new(),
            due: BTreeSet::new(),
            local_ip: HashMap::new(),
            remote: BTreeMap::new(),
            remote_ip: HashMap::new(),
            remote_expiry: BinaryHeap::new(),
            pending: Vec::new(),
            pending_since: None,
            notices: Vec::new(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &RulesConfig {
        &self.cfg
    }

    /// When the local entry `key` is next re-advertised (None: not held, or being purged).
    pub fn next_advertisement(&self, key: &[u8]) -> Option<Time> {
        self.local
            .get(key)
            .filter(|l| !matches!(l.dup, Dup::Purging { .. }))
            .map(|l| l.next_adv)
    }

    /// Whether the local entry `key` is in the duplicate procedure: `Some(false)` waiting T1,
    /// `Some(true)` invalid and waiting T2, `None` not.
    pub fn duplicate_state(&self, key: &[u8]) -> Option<bool> {
        match self.local.get(key)?.dup {
            Dup::Clear => None,
            Dup::Waiting { .. } => Some(false),
            Dup::Purging { .. } => Some(true),
        }
    }

    fn lifetime_of(&self, data: &[u8]) -> Duration {
        codec::lifetime(self.layout, data).unwrap_or(codec::ENTRY_LIFETIME)
    }

    /// Draw the period that starts with an advertisement at `now`.
    fn period(&mut self, lifetime: Duration) -> Duration {
        let p = self.cfg.hold + self.rng.upto(self.cfg.jitter);
        let cap = lifetime.mul_f64(0.75).max(Duration::from_secs(1));
        p.min(cap)
    }

    fn queue(&mut self, now: Time, a: LocalAction) {
        self.pending_since.get_or_insert(now);
        self.pending.push(a);
    }

    fn forget_local(&mut self, key: &[u8]) {
        if let Some(l) = self.local.remove(key) {
            self.due.remove(&(l.deadline(), key.to_vec()));
            if self.local_ip.get(&l.ip).is_some_and(|k| k == key) {
                self.local_ip.remove(&l.ip);
            }
        }
    }

    /// Store local entry `key`, keeping its deadline in `due`.
    fn put_local(&mut self, key: &[u8], l: Local) {
        let now = l.deadline();
        let was = self.local.insert(key.to_vec(), l).map(|old| old.deadline());
        self.move_deadline(key, was, now);
    }

    /// Change local entry `key` in place with `f`, keeping its deadline in `due`.
    fn update_local(&mut self, key: &[u8], f: impl FnOnce(&mut Local)) {
        let Some(l) = self.local.get_mut(key) else {
            return;
        };
        let was = l.deadline();
        f(l);
        let now = l.deadline();
        self.move_deadline(key, Some(was), now);
    }

    /// Local entry `key`'s deadline is now `now` (it was `was`, if it was held).
    fn move_deadline(&mut self, key: &[u8], was: Option<Time>, now: Time) {
        if was == Some(now) {
            return;
        }
        if let Some(t) = was {
            self.due.remove(&(t, key.to_vec()));
        }
        self.due.insert((now, key.to_vec()));
    }

    /// Remote bindings for `ip` that differ from `binding` and are still live at `now`.
    fn conflicts(&self, now: Time, ip: Ipv4Addr, binding: &Binding) -> Vec<(Vec<u8>, Binding)> {
        self.remote
            .range((ip, Vec::new(), Vec::new())..)
            .take_while(|((i, _, _), _)| *i == ip)
            .filter(|(_, r)| r.expires > now && r.binding != *binding)
            .map(|((_, _, origin), r)| (origin.clone(), r.binding))
            .collect()
    }

    fn forget_remote(&mut self, key: &[u8], origin: &[u8]) {
        if let Some(ip) = self.remote_ip.remove(&(key.to_vec(), origin.to_vec())) {
            self.remote.remove(&(ip, key.to_vec(), origin.to_vec()));
        }
    }

    fn notice_conflict(
        &mut self,
        what: &str,
        ip: Ipv4Addr,
        local: &Binding,
        remote: &[(Vec<u8>, Binding)],
    ) {
        let others: Vec<String> = remote
            .iter()
            .map(|(o, b)| format!("{} from originator {}", show(b), hex::encode(o)))
            .collect();
        self.notices.push(format!(
            "atmarp: duplicate binding for {ip}: local {} vs {}: {what}",
            show(local),
            others.join(", ")
        ));
    }
}

fn show(b: &Binding) -> String {
    match &b.1 {
        Some(s) => format!("{} sub {s}", b.0),
        None => b.0.to_string(),
    }
}

impl LocalRules for AtmarpRules {
    fn on_local(&mut self, now: Time, key: &[u8], data: &[u8]) -> bool {
        let Ok(rec) = codec::decode(self.layout, data) else {
            // Not a record: the core refuses it.
            return true;
        };
        if rec.is_deletion() {
            self.on_local_withdraw(now, key);
            return true;
        }
        let binding = (rec.atm, rec.subaddress);
        let lifetime = self.lifetime_of(data);
        // One local binding per address: another key (a Harp key of another ATM address) is
        // superseded.
        if let Some(old) = self.local_ip.get(&rec.ip).cloned()
            && old != key
        {
            self.forget_local(&old);
            self.queue(now, LocalAction::Withdraw { key: old });
        }
        let unchanged = self
            .local
            .get(key)
            .is_some_and(|l| l.ip == rec.ip && l.binding == binding && l.lifetime == lifetime);
        if unchanged {
            let Some(l) = self.local.get(key) else {
                return true;
            };
            let purging = matches!(l.dup, Dup::Purging { .. });
            if !purging && now < l.next_adv {
                // A mere refresh inside the hysteresis window.
                return false;
            }
            let p = self.period(lifetime);
            // A client registering again after its binding was declared invalid: a new
            // registration, so T1 again if it still collides.
            let restart = purging.then(|| {
                if self.conflicts(now, rec.ip, &binding).is_empty() {
                    Dup::Clear
                } else {
                    Dup::Waiting {
                        until: now + self.cfg.t1,
                    }
                }
            });
            self.update_local(key, |l| {
                l.data = data.to_vec();
                l.next_adv = now + p;
                if let Some(d) = restart {
                    l.dup = d;
                }
            });
            return true;
        }
        // New or changed: advertised now.
        if let Some(l) = self.local.get(key)
            && l.ip != rec.ip
        {
            self.forget_local(key);
        }
        let p = self.period(lifetime);
        let mut dup = Dup::Clear;
        if self.cfg.duplicates != DuplicateMode::Off {
            let c = self.conflicts(now, rec.ip, &binding);
            if !c.is_empty() {
                // Draft-01 §2, last paragraph: accepted, flooded, T1 started.
                dup = Dup::Waiting {
                    until: now + self.cfg.t1,
                };
                self.notice_conflict("registration accepted, waiting T1", rec.ip, &binding, &c);
            }
        }
        self.put_local(
            key,
            Local {
                ip: rec.ip,
                binding,
                lifetime,
                data: data.to_vec(),
                next_adv: now + p,
                dup,
            },
        );
        self.local_ip.insert(rec.ip, key.to_vec());
        true
    }

    fn on_local_withdraw(&mut self, _now: Time, key: &[u8]) {
        self.forget_local(key);
        self.pending
            .retain(|a| !matches!(a, LocalAction::Originate { key: k, .. } if k == key));
    }

    fn on_remote(&mut self, now: Time, key: &[u8], origin: &[u8], data: &[u8]) -> Vec<LocalAction> {
        if self.cfg.duplicates == DuplicateMode::Off {
            return Vec::new();
        }
        self.forget_remote(key, origin);
        let rec: Record = match codec::decode(self.layout, data) {
            Ok(r) if !r.is_deletion() => r,
            _ => return Vec::new(),
        };
        let binding = (rec.atm, rec.subaddress);
        let expires = now + self.lifetime_of(data);
        self.remote.insert(
            (rec.ip, key.to_vec(), origin.to_vec()),
            Remote { binding, expires },
        );
        self.remote_expiry
            .push(Reverse((expires, (rec.ip, key.to_vec(), origin.to_vec()))));
        self.remote_ip
            .insert((key.to_vec(), origin.to_vec()), rec.ip);
        let Some(lkey) = self.local_ip.get(&rec.ip).cloned() else {
            return Vec::new();
        };
        let Some(l) = self.local.get(&lkey) else {
            return Vec::new();
        };
        if l.binding == binding {
            return Vec::new();
        }
        let local_binding = l.binding;
        let c = vec![(origin.to_vec(), binding)];
        match self.cfg.duplicates {
            DuplicateMode::Off => Vec::new(),
            DuplicateMode::NotConnected => {
                // Superseded: purged and flooded with lifetime 0.
                self.notice_conflict(
                    "local binding superseded, withdrawn",
                    rec.ip,
                    &local_binding,
                    &c,
                );
                self.forget_local(&lkey);
                vec![LocalAction::Withdraw { key: lkey }]
            }
            DuplicateMode::Connected => {
                if l.dup == Dup::Clear {
                    let until = now + self.cfg.t1;
                    self.update_local(&lkey, |l| l.dup = Dup::Waiting { until });
                    self.notice_conflict("waiting T1", rec.ip, &local_binding, &c);
                }
                Vec::new()
            }
        }
    }

    fn on_remote_removed(&mut self, _now: Time, key: &[u8], origin: &[u8]) {
        self.forget_remote(key, origin);
    }

    fn poll(&mut self, now: Time) -> Vec<LocalAction> {
        let mut out = std::mem::take(&mut self.pending);
        self.pending_since = None;
        // The entries due, in key order (an entry not due has nothing to do: each step below
        // needs one of the times its deadline is the earliest of).
        let mut keys: Vec<Vec<u8>> = self
            .due
            .iter()
            .take_while(|(t, _)| *t <= now)
            .map(|(_, k)| k.clone())
            .collect();
        keys.sort_unstable();
        for key in keys {
            let Some(l) = self.local.get(&key) else {
                continue;
            };
            let (ip, binding, lifetime) = (l.ip, l.binding, l.lifetime);
            match l.dup {
                Dup::Waiting { until } if now >= until => {
                    let c = self.conflicts(now, ip, &binding);
                    let next = if c.is_empty() {
                        Dup::Clear
                    } else {
                        self.notice_conflict(
                            "both invalid after T1; local binding purged after T2",
                            ip,
                            &binding,
                            &c,
                        );
                        Dup::Purging {
                            until: now + self.cfg.t2,
                        }
                    };
                    self.update_local(&key, |l| l.dup = next);
                }
                Dup::Purging { until } if now >= until => {
                    self.notices.push(format!(
                        "atmarp: duplicate binding for {ip}: local {} purged",
                        show(&binding)
                    ));
                    self.forget_local(&key);
                    out.push(LocalAction::Withdraw { key });
                    continue;
                }
                _ => {}
            }
            let Some(l) = self.local.get(&key) else {
                continue;
            };
            if !matches!(l.dup, Dup::Purging { .. }) && now >= l.next_adv {
                let data = codec::as_refresh(self.layout, &l.data);
                let p = self.period(lifetime);
                let refreshed = data.clone();
                self.update_local(&key, |l| {
                    l.data = refreshed;
                    l.next_adv = now + p;
                });
                out.push(LocalAction::Originate { key, data });
            }
        }
        // Remote bindings that have expired are forgotten.
        while let Some(Reverse((t, ..))) = self.remote_expiry.peek() {
            if *t > now {
                break;
            }
            let Some(Reverse((t, id))) = self.remote_expiry.pop() else {
                break;
            };
            if self.remote.get(&id).is_some_and(|r| r.expires == t) {
                self.remote.remove(&id);
                let (_, key, origin) = id;
                self.remote_ip.remove(&(key, origin));
            }
        }
        out
    }

    fn next_deadline(&self) -> Option<Time> {
        let first = self.due.first().map(|(t, _)| *t);
        match (self.pending_since, first) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn take_notices(&mut self) -> Vec<String> {
        std::mem::take(&mut self.notices)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The timer indexes agree with the entries after any sequence of operations: `due` holds
    /// exactly each local entry's deadline, `next_deadline` is the earliest of them (or of the
    /// actions pending), and every remote binding has its expiry queued.
    #[test]
    fn deadline_indexes_follow_the_entries() {
        let atms = [
            "47.0005.80.ffdc00.0000.0002.0001.002048061de7.00",
            "47.0005.80.ffdc00.0000.0002.0001.0020480aaaaa.00",
        ];
        for seed in 0..40 {
            let layout = AtmarpLayout::Draft01;
            let mut r = AtmarpRules::new(layout, seed);
            let mut rng = SplitMix64(seed ^ 0x5eed);
            let mut now = Time::ZERO;
            for _ in 0..400 {
                let ip = Ipv4Addr::new(10, 0, 0, (rng.next() % 6) as u8);
                let atm: AtmAddress = atms[(rng.next() % 2) as usize].parse().unwrap();
                let mut rec = Record::new(ip, atm, None);
                rec.lifetime = Some((1 + rng.next() % 20) as u8);
                let data = codec::encode(layout, &rec).unwrap();
                let key = codec::cache_key(layout, ip, &rec.atm).to_vec();
                match rng.next() % 6 {
                    0 | 1 => {
                        r.on_local(now, &key, &data);
                    }
                    2 => {
                        let origin = [10, 9, 9, (rng.next() % 3) as u8];
                        r.on_remote(now, &key, &origin, &data);
                    }
                    3 => {
                        let origin = [10, 9, 9, (rng.next() % 3) as u8];
                        r.on_remote_removed(now, &key, &origin);
                    }
                    4 => {
                        r.poll(now);
                    }
                    _ => now = now + Duration::from_secs(rng.next() % 400),
                }
                let want: BTreeSet<(Time, Vec<u8>)> = r
                    .local
                    .iter()
                    .map(|(k, l)| (l.deadline(), k.clone()))
                    .collect();
                assert_eq!(r.due, want, "seed {seed}");
                let earliest = r.local.values().map(Local::deadline).min();
                let brute = match (r.pending_since, earliest) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                assert_eq!(r.next_deadline(), brute, "seed {seed}");
                for ((ip, k, o), rem) in &r.remote {
                    let queued = r.remote_expiry.iter().any(|Reverse((t, (i, kk, oo)))| {
                        *t == rem.expires && i == ip && kk == k && oo == o
                    });
                    assert!(queued, "seed {seed}");
                    assert_eq!(r.remote_ip.get(&(k.clone(), o.clone())), Some(ip));
                }
                assert!(r.remote_ip.len() == r.remote.len(), "seed {seed}");
            }
        }
    }

    #[test]
    fn splitmix_is_seeded() {
        let mut a = SplitMix64(7);
        let mut b = SplitMix64(7);
        let mut c = SplitMix64(8);
        let xa: Vec<u64> = (0..4).map(|_| a.next()).collect();
        let xb: Vec<u64> = (0..4).map(|_| b.next()).collect();
        let xc: Vec<u64> = (0..4).map(|_| c.next()).collect();
        assert_eq!(xa, xb);
        assert_ne!(xa, xc);
        let max = Duration::from_secs(120);
        assert!((0..1000).all(|_| a.upto(max) <= max));
        assert_eq!(a.upto(Duration::ZERO), Duration::ZERO);
    }
}
