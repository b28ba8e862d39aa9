//! The core's events turned into notifications for the attached client, log lines and traces.

use super::*;
use crate::daemon::log::notice;
use crate::daemon::scripts;
use scsp_core::event::HelloState;

impl Task {
    pub(super) fn dcs_label(&self, id: DcsId) -> (String, String) {
        match self.peers.get(&id) {
            Some(p) => (p.label.clone(), p.plan.addr.to_string()),
            // Not configured (any more): never the core's index, which means nothing to a reader.
            None => ("(removed)".to_owned(), "?".to_owned()),
        }
    }

    pub(super) fn event(&mut self, ev: Event) {
        match ev {
            Event::Cache(change) => {
                let now = self.now();
                self.profile.cache_change(&mut self.server, now, &change);
                if let CacheChange::Removed {
                    entry,
                    reason: RemoveReason::Expired,
                } = &change
                {
                    // Gathered: a burst is one line (`daemon/expiries.rs`).
                    let mut expiries = std::mem::take(&mut self.expiries);
                    expiries.add(std::time::Instant::now(), || {
                        format!(
                            "{} of {}{}",
                            hex::encode(entry.id.key.as_bytes()),
                            id_text(&entry.id.origin),
                            self.columns_note(entry.id.key.as_bytes(), &entry.data)
                        )
                    });
                    self.expiries = expiries;
                }
                if self.client.is_none() && self.monitors.is_empty() {
                    // Nobody to tell (no local server, no monitor): the notification is not
                    // built (hex and the profile's decoding of every entry learned cost as much
                    // as learning it).
                    return;
                }
                let n = match change {
                    CacheChange::Learned { entry, .. } => Notify::Learned {
                        server: self.name.clone(),
                        entry: self.entry_view(&entry),
                    },
                    CacheChange::Replaced { entry, .. } => Notify::Replaced {
                        server: self.name.clone(),
                        entry: self.entry_view(&entry),
                    },
                    CacheChange::Removed { entry, reason } => Notify::Removed {
                        server: self.name.clone(),
                        entry: self.entry_view(&entry),
                        reason: match reason {
                            RemoveReason::Deleted => "deleted",
                            RemoveReason::Purged => "purged",
                            RemoveReason::Expired => "expired",
                            RemoveReason::Flushed => "flushed",
                        }
                        .to_owned(),
                    },
                };
                self.notify(n);
            }
            Event::OrphansWithdrawn { count } => {
                let grace = self.plan.core.orphan_grace.map_or(0, |g| g.as_secs());
                warn!(
                    "no local server claimed {count} entries of ours within {grace} s \
                     of the start (LocalGrace): withdrawn from the group"
                );
            }
            Event::Confirm { token, entry, .. } => {
                if self.client.is_some() {
                    let n = Notify::Confirm {
                        server: self.name.clone(),
                        token,
                        entry: self.entry_view(&entry),
                    };
                    self.notify(n);
                } else {
                    // Confirmation is only on while a client is attached; accept to be safe.
                    let now = self.now();
                    let _ = self.server.confirm(now, token, true);
                }
            }
            Event::Trace(t) => self.trace(t),
        }
    }

    pub(super) fn notify(&mut self, n: Notify) {
        if !self.monitors.is_empty() && !matches!(n, Notify::Confirm { .. }) {
            // Monitors get a copy; one that does not read is dropped, never waited for.
            let mut dropped = Vec::new();
            for m in &self.monitors {
                match m.notify.try_send(ToClient::Notify(n.clone())) {
                    Ok(()) => {}
                    Err(mpsc::error::TrySendError::Full(_)) => {
                        let _ = m.kill.try_send(ProtoError {
                            code: ErrorCode::Overflow,
                            message: format!(
                                "notification queue of server {} overflowed: read \
                                 notifications faster",
                                self.name
                            ),
                        });
                        dropped.push(m.conn);
                    }
                    Err(mpsc::error::TrySendError::Closed(_)) => dropped.push(m.conn),
                }
            }
            if !dropped.is_empty() {
                self.monitors.retain(|m| !dropped.contains(&m.conn));
                self.update_learn_events();
            }
        }
        let Some(c) = &self.client else { return };
        if self.trace_flags.client_msgs {
            self.shared.tracer.line(
                "client",
                format_args!("server {}: to client #{}: {n:?}", self.name, c.conn),
            );
        }
        match c.notify.try_send(ToClient::Notify(n)) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                let conn = c.conn;
                warn!(
                    "client #{conn} does not read its notifications fast enough: \
                     detached and disconnected"
                );
                self.detach(Some(ProtoError {
                    code: ErrorCode::Overflow,
                    message: format!(
                        "notification queue of server {} overflowed: read notifications faster",
                        self.name
                    ),
                }));
            }
            Err(mpsc::error::TrySendError::Closed(_)) => self.detach(None),
        }
    }

    /// Drop the attached client; with `kill`, its connection is ended with that error. Entries
    /// it originated stay (scspd keeps holding them); waiting confirmations are accepted.
    pub(super) fn detach(&mut self, kill: Option<ProtoError>) {
        let Some(c) = self.client.take() else { return };
        if let Some(e) = kill {
            let _ = c.kill.try_send(e);
        }
        info!("client #{} detached", c.conn);
        if self.trace_flags.client_fsm {
            self.shared.tracer.line(
                "client",
                format_args!(
                    "server {}: client #{} Attached -> Detached",
                    self.name, c.conn
                ),
            );
        }
        let now = self.now();
        self.server.set_confirm(now, false);
        self.profile.adopt_client_entries(&mut self.server, now);
        self.update_learn_events();
    }

    /// Entries learned from DCSs are reported by the core only to someone: an attached client
    /// or the profile's local rules.
    pub(super) fn update_learn_events(&mut self) {
        let wanted = self.client.is_some() || !self.monitors.is_empty() || self.profile.has_rules();
        self.server.set_learn_events(wanted);
    }

    /// A transition of a DCS's Hello or CA machine (`machine`), `from` -> `to` (`names`): logged
    /// at NOTICE when it reaches the state that stands out, WARN when it leaves it, INFO
    /// otherwise; then the Notify script run for the edge's state, if it has one, and the line
    /// traced under `trace` when that trace is on.
    fn transition(
        &mut self,
        dcs: DcsId,
        machine: &str,
        (f, t): (&str, &str),
        cause: &str,
        edge: Edge,
        trace: Option<&str>,
    ) {
        let (label, addr) = self.dcs_label(dcs);
        let script = match edge {
            Edge::Reached(script) => {
                notice!(dcs = %label, "{machine} {f} -> {t} ({cause})");
                script
            }
            Edge::Left(script) => {
                warn!(dcs = %label, "{machine} {f} -> {t} ({cause})");
                script
            }
            Edge::Other => {
                info!(dcs = %label, "{machine} {f} -> {t} ({cause})");
                None
            }
        };
        if let Some(state) = script {
            self.scripts.run(&label, &addr, state);
        }
        if let Some(tag) = trace {
            self.shared.tracer.line(
                tag,
                format_args!("server {}: DCS {label}: {f} -> {t} ({cause})", self.name),
            );
        }
    }

    pub(super) fn trace(&mut self, t: Trace) {
        self.obs.trace(self.now(), &t);
        let flags = self.trace_flags;
        match t {
            Trace::Hello {
                dcs,
                from,
                to,
                cause,
            } => {
                // The neighbour up (Bidirectional) and down (leaving it) stand out.
                let edge = if to == HelloState::Bidirectional {
                    Edge::Reached(Some(scripts::State::Up))
                } else if from == HelloState::Bidirectional {
                    Edge::Left(Some(scripts::State::Down))
                } else {
                    Edge::Other
                };
                let trace = flags.hello_fsm.then_some("hello");
                let names = (from.name(), to.name());
                self.transition(dcs, "Hello", names, cause, edge, trace);
            }
            Trace::Ca {
                dcs,
                from,
                to,
                cause,
            } => {
                // Aligned reached (the cache in step) and left stand out.
                let edge = if to == CaState::Aligned {
                    Edge::Reached(Some(scripts::State::Aligned))
                } else if from == CaState::Aligned {
                    Edge::Left(None)
                } else {
                    Edge::Other
                };
                let trace = flags.ca_fsm.then_some("ca");
                let names = (from.name(), to.name());
                self.transition(dcs, "CA", names, cause, edge, trace);
            }
            Trace::Received { dcs, msg } | Trace::Sent { dcs, msg } if !wanted(flags, &msg) => {
                let _ = dcs;
            }
            Trace::Received { dcs, msg } => self.trace_msg(dcs, "received", &msg),
            Trace::Sent { dcs, msg } => self.trace_msg(dcs, "sent", &msg),
            Trace::Dropped { dcs, reason } => {
                let (label, addr) = self.dcs_label(dcs);
                match &reason {
                    DropReason::InvalidRecord(e) => {
                        if let Some(n) =
                            self.limit
                                .allow(std::time::Instant::now(), "invalid record", Some(dcs))
                        {
                            warn!(dcs = %label, peer = %addr, "refused a record ({} profile): {e} \
                                 (acknowledged, neither stored nor forwarded){}",
                                self.profile.name(),
                                suppressed_note(n)
                            );
                        }
                    }
                    DropReason::Malformed(_) | DropReason::Auth(_) | DropReason::Replay(_) => {
                        let why = match reason {
                            DropReason::Auth(_) => "authentication",
                            DropReason::Replay(_) => "replay",
                            _ => "malformed",
                        };
                        if let Some(n) = self.limit.allow(std::time::Instant::now(), why, Some(dcs))
                        {
                            warn!(dcs = %label, peer = %addr, "dropped packet: {}{}",
                                drop_text(&reason),
                                suppressed_note(n)
                            );
                        }
                    }
                    DropReason::WrongGroup { protocol_id, sgid } => {
                        let now = std::time::Instant::now();
                        if let Some(n) = self.limit.allow(now, "wrong group", Some(dcs)) {
                            let core = &self.plan.core;
                            warn!(dcs = %label, peer = %addr, "dropped a packet of protocol \
                                 {protocol_id}, server group {sgid}; expected protocol {}, \
                                 server group {}{}",
                                core.protocol_id,
                                core.sgid,
                                suppressed_note(n)
                            );
                        }
                    }
                    DropReason::CacheFull
                    | DropReason::DeletionNotKept
                    | DropReason::CrlFull(_)
                    | DropReason::QueueFull(_) => {
                        let why = match reason {
                            DropReason::CacheFull => "cache full",
                            DropReason::DeletionNotKept => "deletion not kept",
                            DropReason::CrlFull(_) => "CSA Request List full",
                            _ => "retransmit queue full",
                        };
                        if let Some(n) = self.limit.allow(std::time::Instant::now(), why, Some(dcs))
                        {
                            warn!(dcs = %label, peer = %addr, "{}{}",
                                drop_text(&reason),
                                suppressed_note(n)
                            );
                        }
                    }
                    _ => debug!(dcs = %label, peer = %addr, "dropped: {}",
                        drop_text(&reason)
                    ),
                }
                if flags.messages() {
                    self.shared.tracer.line(
                        "msg",
                        format_args!(
                            "server {}: DCS {label}: dropped: {}",
                            self.name,
                            drop_text(&reason)
                        ),
                    );
                }
            }
            Trace::Notice { dcs, notice } => {
                let (label, addr) = self.dcs_label(dcs);
                let (why, text) = match &notice {
                    Notice::FamilyMismatch { ours, theirs } => (
                        "family mismatch",
                        format!(
                            "Hellos advertise Family ID {theirs}, ours is {ours} (accepted: \
                             the Family ID is an aggregation hint, RFC 2334 B.2.5)"
                        ),
                    ),
                    Notice::StrayPurge { id } => (
                        "stray purge",
                        format!(
                            "purge (sequence 0x7fffffff) of an entry not held: key {}, \
                             originator {} (not stored; passed on)",
                            hex::encode(id.key.as_bytes()),
                            id_text(&id.origin)
                        ),
                    ),
                    Notice::UnexpectedEvent {
                        machine,
                        state,
                        event,
                    } => (
                        "unexpected event",
                        format!(
                            "{machine} machine: unexpected event {event} in state {state} (ignored)"
                        ),
                    ),
                    Notice::UnknownDcs { input } => (
                        "unknown DCS",
                        format!("{input} for a DCS the server does not have (ignored)"),
                    ),
                };
                if let Some(n) = self.limit.allow(std::time::Instant::now(), why, Some(dcs)) {
                    warn!(dcs = %label, peer = %addr, "{text}{}",
                        suppressed_note(n)
                    );
                }
            }
            Trace::Abnormal { dcs, cause } => {
                let (label, addr) = self.dcs_label(dcs);
                if let Some(n) =
                    self.limit
                        .allow(std::time::Instant::now(), "abnormal event", Some(dcs))
                {
                    warn!(dcs = %label, peer = %addr, "abnormal event: {cause}{}",
                        suppressed_note(n)
                    );
                }
            }
        }
    }

    pub(super) fn trace_msg(&self, dcs: DcsId, dir: &str, m: &MessageSummary) {
        let (label, _) = self.dcs_label(dcs);
        let mut text = format!(
            "server {}: DCS {label}: {dir} {}, {} record(s), {} bytes",
            self.name,
            m.kind.name(),
            m.records,
            m.len
        );
        if let Some((seq, mb, ib, ob)) = m.ca {
            let _ = write!(
                text,
                ", seq {seq:#010x}{}{}{}",
                if mb { " M" } else { "" },
                if ib { " I" } else { "" },
                if ob { " O" } else { "" }
            );
        }
        self.shared.tracer.line("msg", format_args!("{text}"));
    }
}

pub(super) fn wanted(flags: crate::daemon::cli::TraceFlags, m: &MessageSummary) -> bool {
    if m.kind == MessageType::Hello {
        flags.hello_msgs
    } else {
        flags.ca_msgs
    }
}

pub(super) fn drop_text(r: &DropReason) -> String {
    match r {
        DropReason::Malformed(e) => format!("malformed: {e}"),
        DropReason::Auth(e) => format!("authentication failed: {e}"),
        DropReason::Replay(e) => format!("replay protection: {e}"),
        DropReason::WrongGroup { protocol_id, sgid } => {
            format!("wrong group (protocol {protocol_id}, server group {sgid})")
        }
        DropReason::WrongSender => "Sender ID is not the DCS's ID".to_owned(),
        DropReason::NotForUs => "Receiver ID is not ours".to_owned(),
        DropReason::NotBidirectional(k) => format!("{} before Bidirectional", k.name()),
        DropReason::UnexpectedInState(k, s) => format!("{} in state {}", k.name(), s.name()),
        DropReason::IgnoredCa(seq) => format!("CA with sequence {seq:#010x} ignored"),
        DropReason::InvalidRecord(e) => format!("invalid record: {e}"),
        DropReason::CacheFull => "a new entry refused (not acknowledged): the cache is at its \
                                  bound (MaxCacheEntries, MaxCacheBytes)"
            .to_owned(),
        DropReason::DeletionNotKept => "a deletion of an entry not held acknowledged and passed \
                                        on, not kept: the cache is at its bound"
            .to_owned(),
        DropReason::CrlFull(n) => format!(
            "{n} summarized records not solicited: the CSA Request List is at its bound \
             (MaxCSARequests)"
        ),
        DropReason::HopsExhausted => "CSA with hop count 0".to_owned(),
        DropReason::QueueFull(n) => {
            format!("{n} solicited records not answered: the retransmit queue is full")
        }
    }
}

/// Where a transition stands against the state of its machine that stands out (Bidirectional,
/// Aligned), with the Notify script's state to run for it, if any.
enum Edge {
    /// It reaches that state.
    Reached(Option<scripts::State>),
    /// It leaves that state.
    Left(Option<scripts::State>),
    /// Neither.
    Other,
}
