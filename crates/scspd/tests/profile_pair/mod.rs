//! Two real daemons A – B on loopback (127.0.0.1 and 127.0.0.2) whose servers speak one protocol
//! profile, and what the profile tests ask of them: typed records in and out, decoded caches,
//! message counters.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use scspd::proto::{EntryView, ProtoError, Request, Response};
use serde_json::Value;

use crate::common::{Client, Daemon, free_pair};

/// A and B, aligned.
pub struct Pair {
    /// 127.0.0.1.
    pub a: Daemon,
    /// 127.0.0.2.
    pub b: Daemon,
    /// A's server name.
    pub sa: String,
    /// B's server name.
    pub sb: String,
    /// A's port and B's, chosen free.
    pub ports: (u16, u16),
}

/// Issue 3's server statement with `protocol` and `extra` statements: this server at 127.0.0.`me`
/// on port `port`, its one DCS at 127.0.0.`peer` on `peer_port`.
pub fn conf(name: &str, protocol: &str, extra: &str, me: (u8, u16), peer: (u8, u16)) -> String {
    let ((x, port), (y, peer_port)) = (me, peer);
    format!(
        "server {name} {{ protocol {protocol}; netif lo; ServerGroupID 7; ID 127.0.0.{x}; \
         Address 127.0.0.{x}; Port {port}; MTU 1472; {extra}\n    DCS {{ ID 127.0.0.{y}; \
         Address 127.0.0.{y}; Port {peer_port}; hops 3; HelloInt 1; HelloDead 3; }}; }};\n"
    )
}

impl Pair {
    /// Start servers `{tag}_a` and `{tag}_b` (daemons `{tag}A`, `{tag}B`) and wait until they are
    /// aligned, on ports chosen free. `extra_a`, `extra_b`: statements added to each server.
    pub fn start(tag: &str, protocol: &str, extra_a: &str, extra_b: &str) -> Pair {
        let ports = free_pair();
        let (pa, pb) = ports;
        let (sa, sb) = (format!("{tag}_a"), format!("{tag}_b"));
        let a = Daemon::start(
            &format!("{tag}A"),
            &conf(&sa, protocol, extra_a, (1, pa), (2, pb)),
        );
        let b = Daemon::start(
            &format!("{tag}B"),
            &conf(&sb, protocol, extra_b, (2, pb), (1, pa)),
        );
        let p = Pair {
            a,
            b,
            sa,
            sb,
            ports,
        };
        p.a.wait_until(20, "alignment", || p.a.dcs(&p.sa)[0].ca == "Aligned");
        p.b.wait_until(20, "alignment", || p.b.dcs(&p.sb)[0].ca == "Aligned");
        p
    }

    /// A typed record originated at A (by a connection that is not attached).
    pub fn add_a(&self, record: Value) -> EntryView {
        add_record(&mut self.a.client(), &self.sa, record)
    }

    /// The entries of A's own that `selector` names, withdrawn.
    pub fn del_a(&self, selector: Value) -> Vec<EntryView> {
        del_record(&mut self.a.client(), &self.sa, selector)
    }

    /// A's cache.
    pub fn cache_a(&self) -> Vec<EntryView> {
        self.a.cache(&self.sa)
    }

    /// B's cache.
    pub fn cache_b(&self) -> Vec<EntryView> {
        self.b.cache(&self.sb)
    }

    /// Wait until B's cache satisfies `cond`.
    pub fn wait_b(&self, secs: u64, what: &str, cond: impl Fn(&[EntryView]) -> bool) {
        self.b
            .wait_until(secs, what, || cond(&self.b.cache(&self.sb)));
    }

    /// Wait until A's cache satisfies `cond`.
    pub fn wait_a(&self, secs: u64, what: &str, cond: impl Fn(&[EntryView]) -> bool) {
        self.a
            .wait_until(secs, what, || cond(&self.a.cache(&self.sa)));
    }

    /// CSU Requests A has sent to B and B has received from A.
    pub fn csu_requests(&self) -> (u64, u64) {
        let sent = self.a.dcs(&self.sa)[0].stats["tx"]["csu_request"]
            .as_u64()
            .unwrap();
        let received = self.b.dcs(&self.sb)[0].stats["rx"]["csu_request"]
            .as_u64()
            .unwrap();
        (sent, received)
    }

    /// Records B refused from A.
    pub fn invalid_at_b(&self) -> u64 {
        self.b.dcs(&self.sb)[0].stats["invalid_records"]
            .as_u64()
            .unwrap()
    }

    /// A client attached to A's server: the local server itself, whose entries bypass scspd's
    /// local rules (so nothing refreshes them).
    pub fn attach_a(&self) -> Client {
        let mut c = self.a.client();
        match c.request(Request::Attach {
            server: self.sa.clone(),
            confirm: false,
        }) {
            Ok(Response::Attached { .. }) => c,
            other => panic!("attach: {other:?}"),
        }
    }

    /// Check the expiry of an entry A's attached client `c` originated and no longer refreshes:
    /// it goes from both caches by itself within `secs`, and no CSU Request goes from A to B
    /// meanwhile. `is_it` picks the entry.
    pub fn expires_silently(&self, c: &mut Client, secs: u64, is_it: impl Fn(&EntryView) -> bool) {
        self.wait_b(15, "the entry at B", |c| c.iter().any(&is_it));
        // Let the CSU Reply come back before the counters are read.
        std::thread::sleep(Duration::from_millis(500));
        let before = self.csu_requests();
        let start = Instant::now();
        self.wait_b(secs, "the expiry at B", |c| !c.iter().any(&is_it));
        self.wait_a(10, "the expiry at A", |c| !c.iter().any(&is_it));
        let after = self.csu_requests();
        assert_eq!(
            before,
            after,
            "a CSU Request went from A to B during the expiry (after {:?})",
            start.elapsed()
        );
        // Each end logs the expiry (expiries are gathered for a second, so that a burst is one
        // line), and A's client is told.
        for d in [&self.a, &self.b] {
            d.wait_until(5, "the expiry's log line", || {
                d.log_text().contains("expired")
            });
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            assert!(Instant::now() < deadline, "no removed/expired notification");
            match c.next_notify() {
                Ok(scspd::proto::Notify::Removed { entry, reason, .. })
                    if reason == "expired" && is_it(&entry) =>
                {
                    assert!(entry.record.is_some(), "{entry:?}");
                    break;
                }
                Ok(_) => {}
                Err(e) => panic!("{e}"),
            }
        }
    }
}

/// `add_record` on connection `c`; panics on a refusal.
pub fn add_record(c: &mut Client, server: &str, record: Value) -> EntryView {
    match try_add_record(c, server, record.clone()) {
        Ok(Response::RecordAdded { entry }) => entry,
        other => panic!("add_record {record}: {other:?}"),
    }
}

/// `add_record` on connection `c`.
pub fn try_add_record(c: &mut Client, server: &str, record: Value) -> Result<Response, ProtoError> {
    c.request(Request::AddRecord {
        server: server.into(),
        record,
        profile: None,
    })
}

/// `del_record` on connection `c`; panics on a refusal.
pub fn del_record(c: &mut Client, server: &str, selector: Value) -> Vec<EntryView> {
    match c.request(Request::DelRecord {
        server: server.into(),
        selector: selector.clone(),
        profile: None,
    }) {
        Ok(Response::RecordsDeleted { entries }) => entries,
        other => panic!("del_record {selector}: {other:?}"),
    }
}

/// The value of column `name` of an entry.
pub fn column<'e>(e: &'e EntryView, name: &str) -> Option<&'e str> {
    e.columns
        .as_ref()?
        .iter()
        .find(|c| c.name == name)
        .map(|c| c.value.as_str())
}

/// A field of an entry's decoded record, as text.
pub fn field(e: &EntryView, name: &str) -> Option<String> {
    let v = e.record.as_ref()?.get(name)?;
    Some(match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    })
}
