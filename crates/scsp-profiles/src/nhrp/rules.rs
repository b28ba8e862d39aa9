//! The NHRP rules for the cache scspd keeps itself: scspd stands in for the clients whose
//! registrations it holds, and re-registers each one every third of its Holding Time (RFC 2332
//! §5.2.3: a client "MUST re-send the NHRP Registration Request packet often enough to refresh
//! the registration ... It is recommended that the NHRP Registration Request packet be sent at
//! an interval equal to one-third of the Holding Time"). Each re-registration is what a client's
//! would be: State 1 (re-registered) and the next Request ID, so a new instance that restarts the
//! Holding Time at every server. The entry lives until it is withdrawn; `--holding` says how long
//! the other servers keep it if this one stops (e.g. crashes).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use scsp_core::Time;

use super::record::{Record, State};
use crate::{LocalAction, LocalRules};

/// The NHRP local rules. See the module documentation.
#[derive(Debug, Clone, Default)]
pub struct NhrpRules {
    /// The registrations held here, by key, with when each is next refreshed.
    held: BTreeMap<Vec<u8>, (Record, Time)>,
    /// The same, by time.
    due: BTreeSet<(Time, Vec<u8>)>,
}

impl NhrpRules {
    /// No registrations held.
    pub fn new() -> Self {
        NhrpRules::default()
    }

    /// When the registration `key` is next refreshed, if it is held.
    pub fn next_refresh(&self, key: &[u8]) -> Option<Time> {
        self.held.get(key).map(|(_, t)| *t)
    }

    fn forget(&mut self, key: &[u8]) {
        if let Some((_, t)) = self.held.remove(key) {
            self.due.remove(&(t, key.to_vec()));
        }
    }

    fn hold(&mut self, now: Time, key: Vec<u8>, r: Record) {
        self.forget(&key);
        let at = now + refresh_interval(r.holding_time);
        self.due.insert((at, key.clone()));
        self.held.insert(key, (r, at));
    }
}

/// A third of the Holding Time, at least a second.
fn refresh_interval(holding: u16) -> Duration {
    Duration::from_millis((u64::from(holding) * 1000 / 3).max(1000))
}

impl LocalRules for NhrpRules {
    fn on_local(&mut self, now: Time, key: &[u8], data: &[u8]) -> bool {
        match Record::decode(data) {
            // A live registration with a Holding Time is kept alive.
            Ok(r) if !r.state.is_deletion() && r.holding_time > 0 => {
                self.hold(now, key.to_vec(), r);
            }
            _ => self.forget(key),
        }
        true
    }

    fn on_local_withdraw(&mut self, _now: Time, key: &[u8]) {
        self.forget(key);
    }

    fn on_remote(&mut self, _: Time, _: &[u8], _: &[u8], _: &[u8]) -> Vec<LocalAction> {
        Vec::new()
    }

    fn poll(&mut self, now: Time) -> Vec<LocalAction> {
        let mut out = Vec::new();
        while let Some((t, key)) = self.due.first().cloned()
            && t <= now
        {
            let Some((mut r, _)) = self.held.remove(&key) else {
                self.due.remove(&(t, key));
                continue;
            };
            self.due.remove(&(t, key.clone()));
            r.state = State::Reregistered;
            r.request_id = r.request_id.wrapping_add(1);
            match r.encode() {
                Ok(data) => {
                    out.push(LocalAction::Originate {
                        key: key.clone(),
                        data,
                    });
                    self.hold(now, key, r);
                }
                // Cannot happen for a record that was decoded; dropped if it did.
                Err(_) => continue,
            }
        }
        out
    }

    fn next_deadline(&self) -> Option<Time> {
        self.due.first().map(|(t, _)| *t)
    }
}
