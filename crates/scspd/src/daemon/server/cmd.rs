//! Commands from the supervisor and the clients (`ServerCmd`), reconfiguration and stopping.

use super::*;
use crate::daemon::log::notice;

impl Task {
    pub(super) fn command(&mut self, cmd: ServerCmd) {
        let now = self.now();
        match cmd {
            ServerCmd::View(r) => {
                let _ = r.send(self.view());
            }
            ServerCmd::Dcs(r) => {
                let _ = r.send(self.dcs_views());
            }
            ServerCmd::Control { op, reply } => {
                if matches!(op, crate::daemon::metrics::Control::Clear) {
                    self.dropped_unknown = 0;
                }
                let peers: Vec<(DcsId, String)> = self
                    .peers
                    .iter()
                    .map(|(&id, p)| (id, p.label.clone()))
                    .collect();
                let r = self.obs.control(&mut self.server, now, &peers, op);
                if let Ok(done) = &r {
                    for d in done {
                        info!("{d} (asked by a client)");
                    }
                }
                let _ = reply.send(r.map(|_| ()));
            }
            ServerCmd::Metrics(r) => {
                let base = crate::daemon::metrics::ServerSample {
                    name: self.name.clone(),
                    dropped_unknown: self.dropped_unknown,
                    client_attached: self.client.is_some(),
                    ..Default::default()
                };
                let peers = self.peers.iter().map(|(&id, p)| (id, p.label.as_str()));
                let _ = r.send(self.obs.sample(&self.server, peers, now, base));
            }
            ServerCmd::CachePage {
                filter,
                from,
                max,
                reply,
            } => {
                let _ = reply.send(self.cache_page(&filter, from, max));
            }
            ServerCmd::DumpPage { from, max, reply } => {
                let _ = reply.send(self.dump_page(from, max));
            }
            ServerCmd::Add {
                from,
                key,
                data,
                reply,
            } => {
                let rules = !self.is_client(from);
                let r = self.profile.add(&mut self.server, now, &key, data, rules);
                let _ = reply.send(r.map_err(local_error));
            }
            ServerCmd::Del {
                from: _,
                key,
                reply,
            } => {
                let r = self.profile.withdraw(&mut self.server, now, &key);
                let _ = reply.send(r.map_err(local_error));
            }
            ServerCmd::AddRecord {
                from,
                record,
                profile,
                reply,
            } => {
                let rules = !self.is_client(from);
                let r = self.profile.check_name(profile.as_deref()).and_then(|()| {
                    self.profile
                        .add_record(&mut self.server, now, &record, rules)
                });
                let r = r.and_then(|added| match added {
                    Added::Key(key) => self
                        .own_entry(&key)
                        .map(|entry| Response::RecordAdded { entry }),
                    Added::Withdrawn(gone) => Ok(Response::RecordsDeleted {
                        entries: self.gone_views(gone),
                    }),
                });
                let _ = reply.send(r);
            }
            ServerCmd::DelRecord {
                from: _,
                selector,
                profile,
                reply,
            } => {
                let r = self
                    .profile
                    .check_name(profile.as_deref())
                    .and_then(|()| self.profile.del_record(&mut self.server, now, &selector));
                let _ = reply.send(r.map(|gone| self.gone_views(gone)));
            }
            ServerCmd::Load {
                from,
                entries,
                handover,
                reply,
            } => {
                let rules = !self.is_client(from);
                self.queue_load(slices::LoadJob::new(rules, handover, entries, reply));
            }
            ServerCmd::Attach {
                client,
                confirm,
                reply,
            } => {
                let r = match &self.client {
                    Some(c) if c.conn != client.conn => Err(ProtoError {
                        code: ErrorCode::Busy,
                        message: format!(
                            "client #{} is attached to server {} already",
                            c.conn, self.name
                        ),
                    }),
                    _ => {
                        info!(
                            "client #{} attached{}",
                            client.conn,
                            if confirm {
                                " (confirming remote entries)"
                            } else {
                                ""
                            }
                        );
                        if self.trace_flags.client_fsm {
                            self.shared.tracer.line(
                                "client",
                                format_args!(
                                    "server {}: client #{} Detached -> Attached",
                                    self.name, client.conn
                                ),
                            );
                        }
                        self.client = Some(client);
                        self.update_learn_events();
                        self.server.set_confirm(now, confirm);
                        Ok(())
                    }
                };
                let _ = reply.send(r);
            }
            ServerCmd::Watch { client, reply } => {
                self.monitors.retain(|m| m.conn != client.conn);
                let r = if self.monitors.len() >= MAX_MONITORS {
                    Err(ProtoError {
                        code: ErrorCode::Busy,
                        message: format!(
                            "server {} has {MAX_MONITORS} monitors already",
                            self.name
                        ),
                    })
                } else {
                    info!("client #{} watching", client.conn);
                    self.monitors.push(client);
                    self.update_learn_events();
                    Ok(())
                };
                let _ = reply.send(r);
            }
            ServerCmd::SnapshotPage {
                conn,
                from,
                max,
                reply,
            } => {
                let _ = reply.send(self.snapshot_page(conn, from, max));
            }
            ServerCmd::Detach { conn } => {
                if self.client.as_ref().is_some_and(|c| c.conn == conn) {
                    self.detach(None);
                }
                if self.monitors.iter().any(|m| m.conn == conn) {
                    self.monitors.retain(|m| m.conn != conn);
                    self.update_learn_events();
                }
            }
            ServerCmd::Confirm {
                conn,
                token,
                accept,
                reply,
            } => {
                let r = if self.client.as_ref().is_some_and(|c| c.conn == conn) {
                    self.server.confirm(now, token, accept).map_err(local_error)
                } else {
                    Err(ProtoError {
                        code: ErrorCode::Sequence,
                        message: format!("this client is not attached to server {}", self.name),
                    })
                };
                let _ = reply.send(r);
            }
            ServerCmd::Dump(r) => {
                let _ = r.send(self.dump());
            }
            ServerCmd::Reconfigure { dcs, notify, reply } => {
                let mut changes = self.reconfigure(dcs);
                if notify != self.plan.notify {
                    let what = notify.as_ref().map_or_else(
                        || "no notify script".to_owned(),
                        |n| format!("notify script {}", n.script.display()),
                    );
                    notice!("{what} from now on");
                    changes.push(what);
                    self.scripts.set(notify.clone());
                    self.plan.notify = notify;
                }
                let _ = reply.send(changes);
            }
            ServerCmd::Trace { flags, reply } => {
                let r = self.set_trace(flags);
                let _ = reply.send(r);
            }
            ServerCmd::Stop { .. } => {}
            #[cfg(test)]
            ServerCmd::Panic => panic!("test panic"),
        }
    }

    /// Trace `flags` for this server from now on (`scspctl trace`); the trace output is
    /// opened if it was not.
    fn set_trace(&mut self, flags: crate::daemon::cli::TraceFlags) -> Result<(), ProtoError> {
        if flags.any() {
            self.shared.tracer.ensure_open().map_err(|e| ProtoError {
                code: ErrorCode::Refused,
                message: e,
            })?;
        }
        let (was, now) = (self.trace_flags.letters(), flags.letters());
        self.trace_flags = flags;
        self.server.set_trace_messages(flags.messages());
        notice!(
            "trace letters {} (were {}), to {} (asked by a client)",
            if now.is_empty() { "none" } else { &now },
            if was.is_empty() { "none" } else { &was },
            self.shared.tracer.describe()
        );
        Ok(())
    }

    /// Apply a reload's DCS list: unchanged DCSs keep their sessions; changed timers, counts,
    /// hops or keys are updated in place; a changed address restarts that DCS's session.
    /// Returns what changed, one phrase per DCS (each also logged at NOTICE).
    pub(super) fn reconfigure(&mut self, new: Vec<DcsPlan>) -> Vec<String> {
        let mut changes = Vec::new();
        let now = self.now();
        let mut old: HashMap<Id, DcsId> = self
            .peers
            .iter()
            .map(|(&id, p)| (p.plan.core.id.clone(), id))
            .collect();
        // Removals first, so that an address moving between DCSs never maps to two.
        let keep: std::collections::HashSet<&Id> = new.iter().map(|p| &p.core.id).collect();
        let gone: Vec<(Id, DcsId)> = old
            .iter()
            .filter(|(k, _)| !keep.contains(k))
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        for (k, id) in gone {
            old.remove(&k);
            notice!("DCS {} removed", id_text(&k));
            changes.push(format!("DCS {} removed", id_text(&k)));
            self.remove_peer(now, id);
        }
        for p in new {
            match old.remove(&p.core.id) {
                Some(id) => {
                    let Some(cur) = self.peers.get_mut(&id) else {
                        continue;
                    };
                    if cur.plan == p {
                        continue;
                    }
                    if cur.plan.same_peer(&p) {
                        notice!(dcs = %cur.label, "settings changed; session kept");
                        changes.push(format!("DCS {} changed", cur.label));
                        self.server.update_dcs(id, p.core.clone());
                        cur.plan = p;
                    } else {
                        notice!(
                            dcs = %cur.label,
                            "address changed to {}; session restarted",
                            p.addr
                        );
                        changes.push(format!("DCS {} moved to {}", cur.label, p.addr));
                        self.remove_peer(now, id);
                        self.add_peer(now, p);
                    }
                }
                None => {
                    notice!("DCS {} added ({})", id_text(&p.core.id), p.addr);
                    changes.push(format!("DCS {} added", id_text(&p.core.id)));
                    self.add_peer(now, p);
                }
            }
        }
        self.plan.dcs = self
            .peers
            .values()
            .map(|p| p.plan.clone())
            .collect::<Vec<_>>();
        changes
    }

    pub(super) fn stop(&mut self, reason: &str) -> Vec<LocalEntry> {
        self.detach(Some(ProtoError {
            code: ErrorCode::NoSuchServer,
            message: format!("server {}: {reason}; attach again", self.name),
        }));
        self.save_changes();
        if let Some(mut store) = self.store.take() {
            // Everything written, the file closed and its lock released before a new task of
            // this server opens it.
            store.close();
        }
        let lsid = &self.plan.core.lsid;
        self.server
            .cache()
            .iter()
            .filter(|(id, e)| e.owned() && !e.deleted() && &id.origin == lsid)
            .map(|(id, e)| (id.key.as_bytes().to_vec(), e.data.clone()))
            .collect()
    }
}
