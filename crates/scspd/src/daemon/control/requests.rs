//! What a connection's messages ask, answered: the session's order (hello, attach), the requests
//! routed to the server tasks, streamed replies and `load`.

use super::*;

fn err(code: ErrorCode, message: impl Into<String>) -> ProtoError {
    ProtoError {
        code,
        message: message.into(),
    }
}

fn unhex(what: &str, s: &str) -> Result<Vec<u8>, ProtoError> {
    hex::decode(s).map_err(|e| err(ErrorCode::BadArgument, format!("{what} \"{s:.40}\": {e}")))
}

fn unhex_all(entries: &[KeyData]) -> Result<RawEntries, ProtoError> {
    entries
        .iter()
        .map(|e| Ok((unhex("key", &e.key)?, unhex("data", &e.data)?, e.seq)))
        .collect()
}

impl Session {
    pub(super) fn route(&self, server: &str) -> Option<mpsc::Sender<ServerCmd>> {
        let routes = self.ctx.routes.borrow().clone();
        routes
            .iter()
            .find(|(n, _)| n == server)
            .map(|(_, tx)| tx.clone())
    }

    /// Send a command to a server and wait for its answer.
    async fn ask<T>(
        &self,
        server: &str,
        make: impl FnOnce(oneshot::Sender<T>) -> ServerCmd,
    ) -> Result<T, ProtoError> {
        let gone = || {
            err(
                ErrorCode::NoSuchServer,
                format!("no server named \"{server:.100}\""),
            )
        };
        let tx = self.route(server).ok_or_else(gone)?;
        let (reply, rx) = oneshot::channel();
        tx.send(make(reply)).await.map_err(|_| gone())?;
        rx.await.map_err(|_| gone())
    }

    /// Answer one message; `Err` ends the session.
    pub(super) async fn handle(&mut self, msg: ClientMsg) -> Result<DaemonMsg, ProtoError> {
        match msg {
            ClientMsg::Hello { version, client } => {
                if self.hello.is_some() {
                    return Err(err(ErrorCode::Sequence, "Hello sent twice"));
                }
                if !(MIN_VERSION..=VERSION).contains(&version) {
                    return Err(err(
                        ErrorCode::Version,
                        format!(
                            "protocol version {version} is not supported (only \
                             {MIN_VERSION} to {VERSION})"
                        ),
                    ));
                }
                self.version = version;
                let name: String = client.chars().take(64).collect();
                debug!("client #{}: {name}", self.conn);
                self.hello = Some(name);
                Ok(DaemonMsg::Welcome {
                    version,
                    daemon: format!("scspd {}", env!("CARGO_PKG_VERSION")),
                })
            }
            ClientMsg::Request { .. } if self.hello.is_none() => {
                Err(err(ErrorCode::Sequence, "a request before Hello"))
            }
            ClientMsg::Request { id, req } if self.read_only && !read_only_allows(&req) => {
                Ok(DaemonMsg::Reply {
                    id,
                    result: ReplyResult::Error(err(
                        ErrorCode::Refused,
                        "this is the read-only socket: only show, dump and watch requests",
                    )),
                })
            }
            ClientMsg::Request { id, req } => {
                let result = match self.request(req).await {
                    Ok(r) => ReplyResult::Ok(r),
                    Err(e) => ReplyResult::Error(e),
                };
                Ok(DaemonMsg::Reply { id, result })
            }
        }
    }

    pub(super) async fn request(&mut self, req: Request) -> Result<Response, ProtoError> {
        let conn = self.conn;
        match req {
            Request::ShowServers => {
                let names: Vec<String> = self.names();
                let mut servers = Vec::with_capacity(names.len());
                for n in names {
                    match self.ask(&n, ServerCmd::View).await {
                        Ok(v) => servers.push(v),
                        // Stopped meanwhile by a reload: left out.
                        Err(_) if self.route(&n).is_none() => {}
                        Err(_) => servers.push(crate::proto::ServerView {
                            name: n,
                            state: "stopped".to_owned(),
                            error: Some("its task has ended".to_owned()),
                            ..Default::default()
                        }),
                    }
                }
                servers.extend(self.ctx.status.failed_servers());
                Ok(Response::Servers { servers })
            }
            Request::ShowDcs { server } => {
                let names = match server {
                    Some(n) => vec![n],
                    None => self.names(),
                };
                let one = names.len() == 1;
                let mut dcs = Vec::new();
                for n in names {
                    match self.ask(&n, ServerCmd::Dcs).await {
                        Ok(v) => dcs.extend(v),
                        Err(e) if one => return Err(e),
                        Err(_) => {}
                    }
                }
                Ok(Response::Dcs { dcs })
            }
            // Streamed: see `Session::stream`.
            Request::ShowCache { .. } | Request::Dump => Err(err(
                ErrorCode::Refused,
                "a streamed request reached the plain path",
            )),
            Request::Add { server, key, data } => {
                let (key, data) = (unhex("key", &key)?, unhex("data", &data)?);
                let seq = self
                    .ask(&server, |reply| ServerCmd::Add {
                        from: conn,
                        key,
                        data,
                        reply,
                    })
                    .await??;
                Ok(Response::Added { seq })
            }
            Request::Del { server, key } => {
                let key = unhex("key", &key)?;
                self.ask(&server, |reply| ServerCmd::Del {
                    from: conn,
                    key,
                    reply,
                })
                .await??;
                Ok(Response::Done)
            }
            Request::AddRecord {
                server,
                record,
                profile,
            } => {
                let response = self
                    .ask(&server, |reply| ServerCmd::AddRecord {
                        from: conn,
                        record,
                        profile,
                        reply,
                    })
                    .await??;
                Ok(response)
            }
            Request::DelRecord {
                server,
                selector,
                profile,
            } => {
                let entries = self
                    .ask(&server, |reply| ServerCmd::DelRecord {
                        from: conn,
                        selector,
                        profile,
                        reply,
                    })
                    .await??;
                Ok(Response::RecordsDeleted { entries })
            }
            Request::Load { server, entries } => self.load(server, entries, false).await,
            Request::Handover { server, entries } => self.load(server, entries, true).await,
            Request::Attach { server, confirm } => {
                let client = ClientLink {
                    conn,
                    notify: self.notify.clone(),
                    kill: self.kill.clone(),
                };
                self.ask(&server, |reply| ServerCmd::Attach {
                    client,
                    confirm,
                    reply,
                })
                .await??;
                if !self.attached.contains(&server) {
                    self.attached.push(server);
                }
                // The entries follow: see `Session::attach_stream`.
                Ok(Response::Attached {
                    entries: Vec::new(),
                    more: true,
                })
            }
            Request::Watch { server } => {
                let client = ClientLink {
                    conn,
                    notify: self.notify.clone(),
                    kill: self.kill.clone(),
                };
                self.ask(&server, |reply| ServerCmd::Watch { client, reply })
                    .await??;
                if !self.attached.contains(&server) {
                    self.attached.push(server);
                }
                Ok(Response::Attached {
                    entries: Vec::new(),
                    more: true,
                })
            }
            Request::Confirm {
                server,
                token,
                accept,
            } => {
                self.ask(&server, |reply| ServerCmd::Confirm {
                    conn,
                    token,
                    accept,
                    reply,
                })
                .await??;
                Ok(Response::Done)
            }
            Request::ShowMetrics => {
                let g = crate::daemon::metrics::gather(&self.ctx).await;
                Ok(Response::Metrics {
                    text: crate::daemon::metrics::encode(g, true),
                })
            }
            Request::ShowStatus => {
                let running = self.ctx.routes.borrow().len() as u32;
                Ok(Response::Status {
                    status: self.ctx.status.view(running),
                })
            }
            Request::DcsControl {
                server,
                dcs,
                action,
            } => {
                let op = crate::daemon::metrics::Control::Dcs(dcs, action);
                self.ask(&server, |reply| ServerCmd::Control { op, reply })
                    .await??;
                Ok(Response::Done)
            }
            Request::Realign { server, dcs } => {
                let op = crate::daemon::metrics::Control::Realign(dcs);
                self.ask(&server, |reply| ServerCmd::Control { op, reply })
                    .await??;
                Ok(Response::Done)
            }
            Request::Trace { server, letters } => {
                let (flags, unknown) = crate::daemon::cli::TraceFlags::parse([letters.as_str()]);
                if !unknown.is_empty() {
                    let bad: String = unknown.into_iter().collect();
                    return Err(err(
                        ErrorCode::BadArgument,
                        format!("unknown trace letters {bad:?} (use c h i C H I)"),
                    ));
                }
                self.ask(&server, |reply| ServerCmd::Trace { flags, reply })
                    .await??;
                Ok(Response::Done)
            }
            Request::ClearCounters { server } => {
                let names = match server {
                    Some(n) => vec![n],
                    None => self.names(),
                };
                for n in names {
                    let op = crate::daemon::metrics::Control::Clear;
                    self.ask(&n, |reply| ServerCmd::Control { op, reply })
                        .await??;
                }
                Ok(Response::Done)
            }
            Request::Reload => {
                let (reply, rx) = oneshot::channel();
                let down = || err(ErrorCode::Refused, "the daemon is shutting down");
                self.ctx
                    .shared
                    .sup
                    .send(SupCmd::Reload(reply))
                    .await
                    .map_err(|_| down())?;
                match rx.await.map_err(|_| down())? {
                    Ok(()) => Ok(Response::Done),
                    Err(errors) => Err(err(ErrorCode::Config, errors.join("\n"))),
                }
            }
        }
    }

    /// Answer a streamed request (`show cache`, the dump, `attach` and `watch`) a page at a
    /// time; `None` for any other message.
    pub(super) async fn stream(
        &mut self,
        msg: &ClientMsg,
        out: &crate::daemon::stream::Output,
        nrx: &mut mpsc::Receiver<ToClient>,
    ) -> Option<Result<(), ProtoError>> {
        let ClientMsg::Request { id, req } = msg else {
            return None;
        };
        // (Before the hello, `handle` ends the session; on the read-only socket, it refuses.)
        self.hello.as_ref()?;
        if self.read_only && !read_only_allows(req) {
            return None;
        }
        let r = match req {
            Request::Attach { .. } | Request::Watch { .. } => {
                return Some(self.attach_stream(*id, req, out, nrx).await);
            }
            Request::ShowCache { server, query } => {
                let route = self.route(server);
                crate::daemon::stream::show_cache(out, route, server, *id, query, self.version)
                    .await
            }
            Request::Dump => crate::daemon::stream::dump(out, &self.ctx, *id, self.version).await,
            _ => return None,
        };
        Some(match r {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => out.send(&DaemonMsg::Reply {
                id: *id,
                result: ReplyResult::Error(e),
            }),
            Err(e) => Err(e),
        })
    }

    fn names(&self) -> Vec<String> {
        self.ctx
            .routes
            .borrow()
            .iter()
            .map(|(n, _)| n.clone())
            .collect()
    }

    async fn load(
        &self,
        server: String,
        entries: Vec<KeyData>,
        handover: bool,
    ) -> Result<Response, ProtoError> {
        // (Off the runtime's thread for a big request: nothing waits for it.)
        let entries = if entries.len() <= 1024 {
            unhex_all(&entries)?
        } else {
            tokio::task::spawn_blocking(move || unhex_all(&entries))
                .await
                .map_err(|e| {
                    err(
                        ErrorCode::Refused,
                        format!("the entries could not be read: {e}"),
                    )
                })??
        };
        let (accepted, errors) = self
            .ask(&server, |reply| ServerCmd::Load {
                from: self.conn,
                entries,
                handover,
                reply,
            })
            .await?;
        if handover {
            info!(
                server = %server,
                "client #{} handed over {accepted} entries",
                self.conn
            );
        }
        Ok(Response::Loaded { accepted, errors })
    }
}
