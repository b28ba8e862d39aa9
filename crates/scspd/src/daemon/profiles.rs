//! A server's protocol profile inside its task: typed records on the client interface, decoded
//! entries in views and notifications, and the profile's local rules for the cache scspd keeps
//! itself (refresh hysteresis, duplicates, timers), driven through the core.
//!
//! The profile's rules for the protocol core (validation, deletion, lifetime) are not here: the
//! plan puts them in the core's configuration ([`super::plan`]), and the core applies them to
//! every record, local or remote.
//!
//! The local rules stand in for a local server of the protocol. Entries given by the attached
//! client (the local server itself, which applies its protocol's rules) bypass them; entries
//! given by any other connection (`scspctl`, scripts) go through them. When the attached client
//! goes away, the entries it originated stay and are handed to the rules, which keep them alive
//! from then on.

use std::collections::HashSet;
use std::sync::Arc;

use scsp_core::seq::{NextSeq, SEQ_FIRST, next_csa};
use scsp_core::wire::{Data, Id, RecordId};
use scsp_core::{CacheChange, LocalError, Server, Time};
use scsp_profiles::{LocalAction, LocalRules, ProfileOps};
use serde_json::Value;
use tracing::{debug, info, warn};

use crate::proto::{EntryView, ErrorCode, ProtoError};

/// A profile as a server plan holds it: the operations, shared, printable.
#[derive(Clone)]
pub struct ProfileHandle(pub Arc<dyn ProfileOps>);

impl std::fmt::Debug for ProfileHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ProfileHandle({})", self.0.name())
    }
}

/// (key, data, sequence number given by the client) triples.
pub type Numbered = Vec<(Vec<u8>, Vec<u8>, Option<u32>)>;

/// The (key, data) of each entry of a `load` or handover, for [`note_given`].
fn given_pairs(entries: &Numbered) -> Vec<(Vec<u8>, Vec<u8>)> {
    entries
        .iter()
        .map(|(k, d, _)| (k.clone(), d.clone()))
        .collect()
}

/// The entries a `load` or handover originated (`given` but for the `errors`), told to the local
/// rules: kept by scspd itself when they came `via_rules` (a connection that is not the attached
/// client), else left to the attached client (its keys noted in `client_keys`).
fn note_given(
    rules: &mut dyn LocalRules,
    client_keys: &mut HashSet<Vec<u8>>,
    now: Time,
    given: &[(Vec<u8>, Vec<u8>)],
    errors: &[(Vec<u8>, LocalError)],
    via_rules: bool,
) {
    let refused: HashSet<&[u8]> = errors.iter().map(|(k, _)| k.as_slice()).collect();
    for (k, d) in given {
        if refused.contains(k.as_slice()) {
            continue;
        }
        if via_rules {
            rules.on_local(now, k, d);
            client_keys.remove(k);
        } else {
            rules.on_local_withdraw(now, k);
            client_keys.insert(k.clone());
        }
    }
}

/// The entries of a `load` or handover as the core takes them: each with the number given, or
/// else the protocol's own (`num`), if any.
fn numbered(
    num: Option<Numbering>,
    v: Numbered,
) -> impl Iterator<Item = (Vec<u8>, Data, Option<u32>)> {
    v.into_iter().map(move |(k, d, s)| {
        let s = s.or_else(|| num.and_then(|f| f(&d)));
        (k, Data::from(d), s)
    })
}

/// Entries withdrawn, as they were: (key, sequence number, data).
pub type Gone = Vec<(Vec<u8>, u32, Data)>;

/// What [`Profiled::add_record`] did.
#[derive(Debug)]
pub enum Added {
    /// Originated (or refreshed) the entry of this key.
    Key(Vec<u8>),
    /// The record was a deletion: these entries were withdrawn.
    Withdrawn(Gone),
}

/// How a protocol numbers the records its local server gives: the CSA Sequence Number to
/// originate `data` with, if the protocol has one for it.
type Numbering = fn(&[u8]) -> Option<u32>;

/// The protocol's own numbering: NHRP uses the client's Request ID (RFC 2335 §2, method 2;
/// `scsp_profiles::nhrp::seq_for_data`); the others leave the numbering to scspd.
fn numbering_of(ops: &dyn ProfileOps) -> Option<Numbering> {
    (ops.name() == "nhrp").then_some(scsp_profiles::nhrp::seq_for_data as Numbering)
}

/// The profile of one server task, with its local rules if the protocol has any.
pub struct Profiled {
    ops: Arc<dyn ProfileOps>,
    numbering: Option<Numbering>,
    rules: Option<Box<dyn LocalRules>>,
    /// The server's name, for logs.
    name: String,
    /// Keys the attached client originated (left out of the rules while it is attached).
    client_keys: HashSet<Vec<u8>>,
}

impl Profiled {
    /// The profile `ops` of server `name`; `seed` seeds its local rules.
    pub fn new(name: &str, ops: Arc<dyn ProfileOps>, seed: u64) -> Profiled {
        let rules = ops.local_rules(seed);
        Profiled {
            numbering: numbering_of(ops.as_ref()),
            ops,
            rules,
            name: name.to_owned(),
            client_keys: HashSet::new(),
        }
    }

    /// The profile's short name.
    pub fn name(&self) -> &'static str {
        self.ops.name()
    }

    /// Refuse a typed request meant for another profile.
    pub fn check_name(&self, wanted: Option<&str>) -> Result<(), ProtoError> {
        match wanted {
            Some(w) if !w.eq_ignore_ascii_case(self.ops.name()) => Err(ProtoError {
                code: ErrorCode::BadArgument,
                message: format!(
                    "server {} decodes its records with the {} profile, not {w:.20}",
                    self.name,
                    self.ops.name()
                ),
            }),
            _ => Ok(()),
        }
    }

    /// Add the decoded record and its columns to a view of (`key`, `data`). A record the
    /// profile cannot decode is shown as hex only.
    pub fn decorate(&self, v: &mut EntryView, key: &[u8], data: &[u8]) {
        v.record = self.ops.decode(key, data).ok();
        v.columns = self.ops.columns(key, data).ok();
        // A generic entry is known by its key alone, which its columns do not show: put it
        // first, so that people can tell the entries apart.
        if self.ops.name() == "generic"
            && let Some(c) = v.columns.as_mut()
            && !c.iter().any(|c| c.name == "KEY")
        {
            c.insert(
                0,
                scsp_profiles::Column {
                    name: "KEY".into(),
                    value: hex::encode(key),
                },
            );
        }
    }

    /// When the local rules next need [`Profiled::poll`].
    pub fn next_deadline(&self) -> Option<Time> {
        self.rules.as_ref().and_then(|r| r.next_deadline())
    }

    /// Whether the local rules have something due at `now`.
    pub fn due(&self, now: Time) -> bool {
        self.next_deadline().is_some_and(|t| t <= now)
    }

    /// The local rules' timers.
    pub fn poll(&mut self, server: &mut Server, now: Time) {
        if !self.due(now) {
            return;
        }
        let Some(rules) = self.rules.as_mut() else {
            return;
        };
        let actions = rules.poll(now);
        self.apply(server, now, actions);
        self.aftermath(server, now);
    }

    /// What the local rules decided besides actions: notices for the operator (logged), and
    /// entries of other servers to drop without a message (flushed from the core's cache).
    fn aftermath(&mut self, server: &mut Server, now: Time) {
        let Some(rules) = self.rules.as_mut() else {
            return;
        };
        let profile = self.ops.name();
        for n in rules.take_notices() {
            warn!("{profile} rules: {n}");
        }
        for m in rules.take_flush_matches() {
            let n = server.flush(now, |id, e| {
                m.matches(id.key.as_bytes(), id.origin.as_bytes(), &e.data)
            });
            info!(
                "{profile} rules: {n} entr{} flushed ({m:?})",
                if n == 1 { "y" } else { "ies" }
            );
        }
    }

    /// Originate or update the local entry `key` (`add`). With `via_rules`, through the local
    /// rules, which may find it a mere refresh not to be advertised yet, or a refresh to be
    /// advertised under a new sequence number even though the data is unchanged.
    pub fn add(
        &mut self,
        server: &mut Server,
        now: Time,
        key: &[u8],
        data: Vec<u8>,
        via_rules: bool,
    ) -> Result<u32, LocalError> {
        let num = self.numbering;
        let rules = match self.rules.as_mut() {
            Some(r) if via_rules => r,
            Some(r) => {
                // The attached client's entry: its own rules apply, not ours.
                let seq = originate_as(server, now, key, data, num, false)?;
                r.on_local_withdraw(now, key);
                self.client_keys.insert(key.to_vec());
                return Ok(seq);
            }
            None => return originate_as(server, now, key, data, num, false),
        };
        self.client_keys.remove(key);
        check_local(server, &data)?;
        let held = own_live(server, key);
        // A refresh not to be advertised yet. (With nothing held to refresh, because it expired
        // or the rules lost track, it is advertised.)
        if !rules.on_local(now, key, &data)
            && let Some((seq, _)) = held
        {
            return Ok(seq);
        }
        let r = originate_as(server, now, key, data, num, true);
        if r.is_err() && held.is_none() {
            rules.on_local_withdraw(now, key);
        }
        self.aftermath(server, now);
        r
    }

    /// Withdraw the local entry `key` (`del`).
    pub fn withdraw(
        &mut self,
        server: &mut Server,
        now: Time,
        key: &[u8],
    ) -> Result<(), LocalError> {
        let r = server.withdraw(now, key);
        if r.is_ok() {
            self.client_keys.remove(key);
            if let Some(rules) = self.rules.as_mut() {
                rules.on_local_withdraw(now, key);
            }
        }
        r
    }

    /// Withdraw a live entry carrying this server's ID that a handover's list omitted
    /// ([`Server::withdraw_own`]: also one that came back from a DCS after a restart).
    pub fn withdraw_stale(&mut self, server: &mut Server, now: Time, key: &[u8]) {
        if server.withdraw_own(now, key).is_ok() {
            self.client_keys.remove(key);
            if let Some(rules) = self.rules.as_mut() {
                rules.on_local_withdraw(now, key);
            }
        }
    }

    /// The attached client went away: the entries it originated stay, and the local rules keep
    /// them alive from now on (advertising them now if the rules say so).
    pub fn adopt_client_entries(&mut self, server: &mut Server, now: Time) {
        let mut keys: Vec<Vec<u8>> = std::mem::take(&mut self.client_keys).into_iter().collect();
        if self.rules.is_none() {
            return;
        }
        keys.sort();
        for key in keys {
            if let Some((_, data)) = own_live(server, &key)
                && let Err(e) = self.add(server, now, &key, data.to_vec(), true)
            {
                warn!(
                    "entry {} of the client that went away: {e}",
                    hex::encode(&key)
                );
            }
        }
    }

    /// Originate many entries (`load`), or replace the whole local cache (`handover`), with or
    /// without the local rules (see [`Profiled::add`]). Returns the entries refused.
    pub fn load(
        &mut self,
        server: &mut Server,
        now: Time,
        entries: Numbered,
        handover: bool,
        via_rules: bool,
    ) -> Vec<(Vec<u8>, LocalError)> {
        let num = self.numbering;
        let Some(rules) = self.rules.as_mut().filter(|_| via_rules && !handover) else {
            // Taken as given; the rules (if any) learn what is held now.
            let before = self.rules.is_some().then(|| own_live_keys(server));
            let errors = self.originate_given(server, now, entries, handover, via_rules);
            if let (Some(before), Some(rules)) = (before, self.rules.as_mut()) {
                let after = own_live_keys(server);
                for k in before.difference(&after) {
                    rules.on_local_withdraw(now, k);
                    self.client_keys.remove(k);
                }
            }
            return errors;
        };
        let mut pass = Vec::with_capacity(entries.len());
        let mut fresh: HashSet<Vec<u8>> = HashSet::new();
        for (key, data, seq) in entries {
            if check_local(server, &data).is_err() {
                pass.push((key, Data::from(data), seq)); // refused by the core, with why
                continue;
            }
            self.client_keys.remove(&key);
            let held = own_live(server, &key);
            if !rules.on_local(now, &key, &data) && held.is_some() {
                continue; // a refresh inside the rules' window: not advertised
            }
            if held.is_none() {
                fresh.insert(key.clone());
            }
            let seq = seq
                .or_else(|| refresh_seq(server, &key, &data))
                .or_else(|| num.and_then(|f| f(&data)));
            pass.push((key, Data::from(data), seq));
        }
        let errors = server.originate_many(now, pass);
        for (k, _) in &errors {
            if fresh.contains(k) {
                rules.on_local_withdraw(now, k);
            }
        }
        self.aftermath(server, now);
        errors
    }

    /// One slice of a handover applied in slices (`server/slices.rs`): the entries originated
    /// as [`Profiled::load`] with `handover` does, without withdrawing anything; the entries
    /// the whole list omits are withdrawn at its end ([`stale_own_keys`]).
    pub fn handover_slice(
        &mut self,
        server: &mut Server,
        now: Time,
        entries: Numbered,
        via_rules: bool,
    ) -> Vec<(Vec<u8>, LocalError)> {
        self.originate_given(server, now, entries, false, via_rules)
    }

    /// Originate `entries` as given, replacing the whole local cache if `replace`, numbered as
    /// given or by the profile; the local rules, if any, learn what was originated
    /// ([`note_given`]). Returns the entries refused.
    fn originate_given(
        &mut self,
        server: &mut Server,
        now: Time,
        entries: Numbered,
        replace: bool,
        via_rules: bool,
    ) -> Vec<(Vec<u8>, LocalError)> {
        let given = self.rules.is_some().then(|| given_pairs(&entries));
        let entries = numbered(self.numbering, entries);
        let errors = if replace {
            server.replace_local_cache_numbered(now, entries)
        } else {
            server.originate_many(now, entries)
        };
        if let (Some(rules), Some(given)) = (self.rules.as_mut(), given) {
            note_given(
                rules.as_mut(),
                &mut self.client_keys,
                now,
                &given,
                &errors,
                via_rules,
            );
        }
        errors
    }

    /// A typed record (`add_record`): built by the profile, originated as by [`Profiled::add`].
    /// A record that deletes (a MARS leave, an ATMARP record in state deleted) withdraws the
    /// entry of its key instead.
    pub fn add_record(
        &mut self,
        server: &mut Server,
        now: Time,
        record: &Value,
        via_rules: bool,
    ) -> Result<Added, ProtoError> {
        let lsid = server.config().lsid.clone();
        let (key, data) = self
            .ops
            .build(record, lsid.as_bytes())
            .map_err(|e| ProtoError {
                code: ErrorCode::BadArgument,
                message: format!("{} record: {e}", self.ops.name()),
            })?;
        if server.config().profile.is_deletion(&data) {
            let held = own_live(server, &key);
            self.withdraw(server, now, &key)
                .map_err(super::server::local_error)?;
            let gone = held.map(|(seq, data)| (key, seq, data));
            return Ok(Added::Withdrawn(gone.into_iter().collect()));
        }
        self.add(server, now, &key, data, via_rules)
            .map_err(super::server::local_error)?;
        Ok(Added::Key(key))
    }

    /// Withdraw every entry originated here that `selector` names (`del_record`). Returns the
    /// entries withdrawn as they were: (key, sequence number, data).
    pub fn del_record(
        &mut self,
        server: &mut Server,
        now: Time,
        selector: &Value,
    ) -> Result<Gone, ProtoError> {
        let lsid = server.config().lsid.clone();
        let mut chosen: Gone = server
            .cache()
            .iter()
            .filter(|(id, e)| e.owned() && !e.deleted() && id.origin == lsid)
            .filter(|(id, e)| self.ops.selects(selector, id.key.as_bytes(), &e.data))
            .map(|(id, e)| (id.key.as_bytes().to_vec(), e.seq, e.data.clone()))
            .collect();
        if chosen.is_empty() {
            return Err(ProtoError {
                code: ErrorCode::NotFound,
                message: format!(
                    "no {} entry originated here matches {selector}",
                    self.ops.name()
                ),
            });
        }
        chosen.sort_by(|a, b| a.0.cmp(&b.0));
        for (key, _, _) in &chosen {
            self.withdraw(server, now, key)
                .map_err(super::server::local_error)?;
        }
        Ok(chosen)
    }

    /// A change of the cache reported by the core: remote entries go to the local rules, and an
    /// entry of ours that went away (it expired) is forgotten by them.
    /// The profile applies local rules to the cache's changes.
    pub fn has_rules(&self) -> bool {
        self.rules.is_some()
    }

    pub fn cache_change(&mut self, server: &mut Server, now: Time, change: &CacheChange) {
        let Some(rules) = self.rules.as_mut() else {
            return;
        };
        let lsid = server.config().lsid.clone();
        let actions = match change {
            CacheChange::Learned { entry, .. } | CacheChange::Replaced { entry, .. }
                if entry.id.origin != lsid =>
            {
                rules.on_remote(
                    now,
                    entry.id.key.as_bytes(),
                    entry.id.origin.as_bytes(),
                    &entry.data,
                )
            }
            CacheChange::Removed { entry, .. } if entry.id.origin == lsid => {
                rules.on_local_withdraw(now, entry.id.key.as_bytes());
                self.client_keys.remove(entry.id.key.as_bytes());
                Vec::new()
            }
            CacheChange::Removed { entry, .. } => {
                rules.on_remote_removed(now, entry.id.key.as_bytes(), entry.id.origin.as_bytes());
                Vec::new()
            }
            _ => Vec::new(),
        };
        self.apply(server, now, actions);
        self.aftermath(server, now);
    }

    /// Carry out what the local rules ask.
    fn apply(&mut self, server: &mut Server, now: Time, actions: Vec<LocalAction>) {
        let profile = self.ops.name();
        for a in actions {
            match a {
                LocalAction::Originate { key, data } => {
                    match originate_as(server, now, &key, data, self.numbering, true) {
                        Ok(seq) => debug!(
                            "{profile} rules: entry {} advertised, seq {seq:#010x}",
                            hex::encode(&key)
                        ),
                        Err(e) => warn!(
                            "{profile} rules: entry {} not advertised: {e}",
                            hex::encode(&key)
                        ),
                    }
                }
                LocalAction::Withdraw { key } => match server.withdraw(now, &key) {
                    Ok(()) => debug!("{profile} rules: entry {} withdrawn", hex::encode(&key)),
                    Err(LocalError::NotFound) => {}
                    Err(e) => warn!(
                        "{profile} rules: entry {} not withdrawn: {e}",
                        hex::encode(&key)
                    ),
                },
            }
        }
    }
}

/// Originate `data` under `key`: if `fresh`, as a new instance even when the data is what is
/// held (a refresh: the other servers restart its lifetime); else numbered as the protocol
/// numbers it, if it does.
fn originate_as(
    server: &mut Server,
    now: Time,
    key: &[u8],
    data: Vec<u8>,
    num: Option<Numbering>,
    fresh: bool,
) -> Result<u32, LocalError> {
    let seq = fresh
        .then(|| refresh_seq(server, key, &data))
        .flatten()
        .or_else(|| num.and_then(|f| f(&data)));
    match seq {
        Some(s) => server.originate_numbered(now, key, Data::from(data), s),
        None => server.originate(now, key, Data::from(data)),
    }
}

/// What the core checks of a local record: live and valid for the profile.
fn check_local(server: &Server, data: &[u8]) -> Result<(), LocalError> {
    let p = &server.config().profile;
    if p.is_deletion(data) {
        return Err(LocalError::IsDeletion);
    }
    p.validate(data).map_err(|e| LocalError::Invalid(e.0))
}

/// The sequence number and data of the live entry `key` originated here, if any.
fn own_live(server: &Server, key: &[u8]) -> Option<(u32, Data)> {
    let id = RecordId {
        key: Id::new(key)?,
        origin: server.config().lsid.clone(),
    };
    server
        .cache()
        .get(&id)
        .filter(|e| e.owned() && !e.deleted())
        .map(|e| (e.seq, e.data.clone()))
}

/// The live entries carrying this server's Originator ID whose keys `keep` lacks: what a
/// handover of `keep` withdraws (as [`Server::replace_local_cache_numbered`] does).
pub fn stale_own_keys(server: &Server, keep: &HashSet<Vec<u8>>) -> Vec<Vec<u8>> {
    let lsid = &server.config().lsid;
    server
        .cache()
        .iter()
        .filter(|(id, e)| &id.origin == lsid && !e.deleted() && !keep.contains(id.key.as_bytes()))
        .map(|(id, _)| id.key.as_bytes().to_vec())
        .collect()
}

fn own_live_keys(server: &Server) -> HashSet<Vec<u8>> {
    let lsid = &server.config().lsid;
    server
        .cache()
        .iter()
        .filter(|(id, e)| e.owned() && !e.deleted() && &id.origin == lsid)
        .map(|(id, _)| id.key.as_bytes().to_vec())
        .collect()
}

/// The number that makes a new instance of an entry held with the same data, or `None` when
/// [`Server::originate`] makes a new instance by itself (new or changed data).
///
/// (The core leaves unchanged data alone; `Server::originate_numbered` with the next number
/// floods it. That instance counts as confirmed: should an earlier incarnation of this server
/// have left an instance under that very number, the two are told apart by the core's rule for
/// equal numbers, which supersedes ours again, rather than by fetching it during alignment.)
fn refresh_seq(server: &Server, key: &[u8], data: &[u8]) -> Option<u32> {
    let id = RecordId {
        key: Id::new(key)?,
        origin: server.config().lsid.clone(),
    };
    let e = server.cache().get(&id)?;
    if !e.owned() || e.deleted() || &e.data[..] != data {
        return None;
    }
    Some(match next_csa(e.seq, 1) {
        NextSeq::Next(s) => s,
        // Not newer than what is held: the core goes to the next number, wrapping as it must.
        NextSeq::Wrap => SEQ_FIRST,
    })
}
