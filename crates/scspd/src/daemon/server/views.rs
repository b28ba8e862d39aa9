//! What `show` and dumps print: the server, its DCSs and entries as the client protocol's views.

use super::*;

impl Task {
    pub(super) fn entry_view(&self, e: &CoreEntry) -> EntryView {
        let mut v = EntryView {
            key: hex::encode(e.id.key.as_bytes()),
            originator: id_text(&e.id.origin),
            seq: e.seq,
            data: hex::encode(&e.data),
            local: e.id.origin == self.plan.core.lsid,
            age_s: 0,
            record: None,
            columns: None,
        };
        self.profile.decorate(&mut v, e.id.key.as_bytes(), &e.data);
        v
    }

    /// Whether connection `conn` is the attached client (the local server, which applies its
    /// protocol's rules itself).
    pub(super) fn is_client(&self, conn: u64) -> bool {
        self.client.as_ref().is_some_and(|c| c.conn == conn)
    }

    /// The profile's name, with the ATMARP layout for ATMARP.
    pub(super) fn profile_label(&self) -> String {
        let name = self.profile.name();
        if self.plan.core.protocol_id == crate::config::Protocol::ATMARP.id {
            let layout = crate::config::atmarp_format_name(self.plan.options.atmarp_layout);
            format!("{name} {layout}")
        } else {
            name.to_owned()
        }
    }

    /// " (NAME value, …)": the record's columns for a log line, or nothing.
    pub(super) fn columns_note(&self, key: &[u8], data: &[u8]) -> String {
        let mut v = EntryView {
            key: String::new(),
            originator: String::new(),
            seq: 0,
            data: String::new(),
            local: false,
            age_s: 0,
            record: None,
            columns: None,
        };
        self.profile.decorate(&mut v, key, data);
        v.columns_note()
    }

    /// The live entry `key` originated here, as a view.
    pub(super) fn own_entry(&self, key: &[u8]) -> Result<EntryView, ProtoError> {
        let now = self.now();
        let lsid = &self.plan.core.lsid;
        self.server
            .cache()
            .iter()
            .find(|(id, e)| !e.deleted() && &id.origin == lsid && id.key.as_bytes() == key)
            .map(|(id, e)| {
                let mut v = self.entry_view(&e.view(id));
                v.age_s = now.since(e.since).as_secs();
                v
            })
            .ok_or_else(|| ProtoError {
                code: ErrorCode::NotFound,
                message: format!(
                    "entry {} is not held (withdrawn meanwhile?)",
                    hex::encode(key)
                ),
            })
    }

    /// Views of entries withdrawn: (key, sequence number, data) as they were.
    pub(super) fn gone_views(&self, gone: Gone) -> Vec<EntryView> {
        let lsid = self.plan.core.lsid.clone();
        gone.into_iter()
            .filter_map(|(key, seq, data)| {
                let id = scsp_core::wire::RecordId {
                    key: Id::new(&key)?,
                    origin: lsid.clone(),
                };
                Some(self.entry_view(&CoreEntry { id, seq, data }))
            })
            .collect()
    }

    pub(super) fn view(&self) -> ServerView {
        let aligned = self
            .server
            .dcs_ids()
            .filter_map(|d| self.server.dcs_info(d))
            .filter(|i| i.ca.state == CaState::Aligned)
            .count();
        let p = &self.plan;
        ServerView {
            entries: self.server.cache().live() as u64,
            entries_held: self.server.cache().len() as u64,
            dcs: self.peers.len() as u32,
            dcs_aligned: aligned as u32,
            client_attached: self.client.is_some(),
            dropped_unknown: self.dropped_unknown,
            profile: self.profile.name().to_owned(),
            atmarp_format: (p.core.protocol_id == crate::config::Protocol::ATMARP.id)
                .then(|| crate::config::atmarp_format_name(p.options.atmarp_layout).to_owned()),
            state: "running".to_owned(),
            error: None,
            saved_state: self.store.as_ref().map(|st| {
                let f = st.stats();
                crate::proto::SavedStateView {
                    file: st.path.display().to_string(),
                    loaded: self.loaded,
                    written: f.written,
                    pending: f.pending + self.server.changes_pending() as u64,
                    errors: f.errors,
                    logged: f.logged,
                    reserved: f.reserved,
                }
            }),
            ..crate::daemon::status::planned_view(p)
        }
    }

    pub(super) fn dcs_views(&self) -> Vec<DcsView> {
        let now = self.now();
        self.peers
            .iter()
            .filter_map(|(&id, p)| {
                let i = self.server.dcs_info(id)?;
                let s = &self.obs.counters(id, &i.stats);
                let detail = self.obs.detail(&self.server, id, now);
                Some(DcsView {
                    server: self.name.clone(),
                    id: p.label.clone(),
                    address: p.plan.peer.to_string(),
                    hello: i.hello.state.name().to_owned(),
                    hello_since_s: now.since(i.hello.since).as_secs(),
                    ca: i.ca.state.name().to_owned(),
                    ca_since_s: now.since(i.ca.since).as_secs(),
                    rx_msgs: s.rx.total(),
                    tx_msgs: s.tx.total(),
                    errors: s.malformed
                        + s.auth_failures
                        + s.replays_refused
                        + s.dropped
                        + s.invalid_records,
                    retransmits: s.ca_retransmits + s.csus_retransmits + s.csa_retransmits,
                    rexmit_queue: i.retransmit_queue as u64,
                    crl: i.csa_request_list as u64,
                    unaligned_s: self.obs.unaligned_s(id, now),
                    last_hello_s: detail.last_hello_s,
                    dead_in_ms: detail.dead_in_ms,
                    last_down: detail.last_down,
                    last_down_s: detail.last_down_s,
                    flaps: detail.flaps,
                    srtt_us: i.srtt_us,
                    disabled: self.obs.disabled(id),
                    stats: {
                        let mut v = serde_json::to_value(s).unwrap_or_default();
                        // The reconciliation counters, where it is configured.
                        if let (true, Some(r), Some(m)) = (
                            self.server.config().reconcile,
                            self.server.recon_stats(id),
                            v.as_object_mut(),
                        ) {
                            m.insert("recon".into(), serde_json::to_value(r).unwrap_or_default());
                        }
                        v
                    },
                })
            })
            .collect()
    }

    pub(super) fn dump(&self) -> String {
        let now = self.now();
        let p = &self.plan;
        let v = self.view();
        let mut out = String::new();
        let _ = writeln!(
            out,
            "server {}: protocol {} ({}, profile {}), server group {}, family {}, ID {}, \
             receiving on {}, MTU {}",
            self.name,
            p.protocol,
            p.core.protocol_id,
            self.profile_label(),
            p.core.sgid,
            p.core.family_id,
            v.lsid,
            p.bind,
            p.core.max_packet
        );
        let _ = writeln!(
            out,
            "  entries: {} live, {} held; waiting for confirmation: {}; packets from unknown \
             sources: {}; client attached: {}",
            v.entries,
            v.entries_held,
            self.server.pending_confirmations(),
            v.dropped_unknown,
            match &self.client {
                Some(c) => format!("#{}", c.conn),
                None => "no".to_owned(),
            }
        );
        for (&id, peer) in &self.peers {
            let Some(i) = self.server.dcs_info(id) else {
                continue;
            };
            let s = &i.stats;
            let _ = writeln!(out, "  DCS {} at {} ({id})", peer.label, peer.plan.addr);
            let c = &peer.plan.core;
            let _ = writeln!(
                out,
                "    HelloInt {} HelloDead {} CAReXmitInt {}s CSUSReXmitInt {}s CSUReXmitInt {}s \
                 CSUReXmitMax {} Hops {} auth {}",
                c.hello_interval,
                c.dead_factor,
                c.ca_rexmit.as_secs(),
                c.csus_rexmit.as_secs(),
                c.csu_rexmit.as_secs(),
                c.csu_rexmit_max,
                c.hops,
                if c.auth_send.is_some() { "on" } else { "off" }
            );
            let _ = writeln!(
                out,
                "    Hello {} for {}s; CA {} for {}s; retransmit queue {}; CSA request list {}",
                i.hello.state.name(),
                now.since(i.hello.since).as_secs(),
                i.ca.state.name(),
                now.since(i.ca.since).as_secs(),
                i.retransmit_queue,
                i.csa_request_list
            );
            for (dir, m) in [("received", &s.rx), ("sent", &s.tx)] {
                let _ = writeln!(
                    out,
                    "    {dir}: Hello {} CA {} CSU-Request {} CSU-Reply {} CSUS {}; {} records, \
                     {} bytes",
                    m.hello, m.ca, m.csu_request, m.csu_reply, m.csus, m.records, m.bytes
                );
            }
            let _ = writeln!(
                out,
                "    malformed {} auth failures {} replays refused {} dropped {} invalid records {} \
                 retransmits CA {} CSUS {} CSA {} abnormal events {} alignments {} records \
                 learned {}",
                s.malformed,
                s.auth_failures,
                s.replays_refused,
                s.dropped,
                s.invalid_records,
                s.ca_retransmits,
                s.csus_retransmits,
                s.csa_retransmits,
                s.abnormal_events,
                s.alignments,
                s.records_learned
            );
        }
        // The entries follow in pages (`dump_page`): a dump is never built whole.
        let _ = writeln!(
            out,
            "  cache ({} entries, in the cache's order):",
            self.server.cache().len()
        );
        out
    }
}
