//! The figures gathered, encoded in the OpenMetrics text format (prometheus-client): every metric
//! family, its help text, labels and values.

use super::*;

/// A label value (the encoder escapes `\\`, `"` and newlines itself).
pub(super) fn esc(s: &str) -> String {
    s.to_owned()
}

pub(super) type Labels = Vec<(&'static str, String)>;

pub(super) fn family<V: Copy>(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    kind: MetricType,
    rows: &[(Labels, V)],
    put: impl Fn(&mut prometheus_client::encoding::MetricEncoder, V) -> std::fmt::Result,
) -> std::fmt::Result {
    let mut m = enc.encode_descriptor(name, help, None, kind)?;
    for (labels, v) in rows {
        let mut f = m.encode_family(labels)?;
        put(&mut f, *v)?;
    }
    Ok(())
}

pub(super) fn gauges(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    rows: &[(Labels, u64)],
) -> std::fmt::Result {
    family(enc, name, help, MetricType::Gauge, rows, |f, v| {
        f.encode_gauge(&v)
    })
}

pub(super) fn gauges_f(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    rows: &[(Labels, f64)],
) -> std::fmt::Result {
    family(enc, name, help, MetricType::Gauge, rows, |f, v| {
        f.encode_gauge(&v)
    })
}

pub(super) fn counters(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    rows: &[(Labels, u64)],
) -> std::fmt::Result {
    family(enc, name, help, MetricType::Counter, rows, |f, v| {
        f.encode_counter::<NoLabelSet, u64, f64>(&v, None)
    })
}

impl Collector for Gathered {
    fn encode(&self, mut enc: DescriptorEncoder) -> std::fmt::Result {
        let e = &mut enc;
        let info = Info::new(vec![("version", env!("CARGO_PKG_VERSION"))]);
        info.encode(e.encode_descriptor(
            "scsp_build",
            "scspd's version",
            None,
            info.metric_type(),
        )?)?;
        gauges(
            e,
            "scsp_start_time_seconds",
            "When scspd started, seconds since the UNIX epoch",
            &[(vec![], self.started)],
        )?;
        let r = |result: &str| vec![("result", result.to_owned())];
        counters(
            e,
            "scsp_reloads",
            "Configuration reloads, by result (ok: applied whole; failed: refused or partly applied)",
            &[(r("ok"), self.reloads[0]), (r("failed"), self.reloads[1])],
        )?;
        if let Some((at, ok)) = self.last_reload {
            gauges(
                e,
                "scsp_last_reload_timestamp_seconds",
                "When the last reload ended",
                &[(vec![], at)],
            )?;
            gauges(
                e,
                "scsp_last_reload_success",
                "1 when the last reload was applied whole",
                &[(vec![], u64::from(ok))],
            )?;
        }
        gauges(
            e,
            "scsp_client_connections",
            "Client connections open on the local socket",
            &[(vec![], self.clients[0])],
        )?;
        counters(
            e,
            "scsp_client_connections_accepted",
            "Client connections accepted",
            &[(vec![], self.clients[1])],
        )?;
        counters(
            e,
            "scsp_client_protocol_errors",
            "Client sessions ended for a protocol error or a notification overflow",
            &[(vec![], self.clients[2])],
        )?;
        counters(
            e,
            "scsp_client_connections_refused",
            "Client connections refused (too many clients)",
            &[(vec![], self.clients[3])],
        )?;
        counters(
            e,
            "scsp_client_slow_disconnects",
            "Client sessions ended because the client did not read its output (over its budget)",
            &[(vec![], self.clients[4])],
        )?;
        let hr = |result: &str| vec![("result", result.to_owned())];
        counters(
            e,
            "scsp_metrics_requests",
            "HTTP requests to the metrics endpoint, by result",
            &[(hr("served"), self.http[0]), (hr("refused"), self.http[1])],
        )?;

        let sl = |n: &str| vec![("server", esc(n))];
        let mut up: Vec<(Labels, u64)> = self.servers.iter().map(|s| (sl(&s.name), 1)).collect();
        up.extend(self.silent.iter().map(|n| (sl(n), 0)));
        gauges(
            e,
            "scsp_server_up",
            "1 when the server task answered this scrape; 0 when it did not in time",
            &up,
        )?;
        let failed: Vec<_> = self.failed.iter().map(|n| (sl(n), 1)).collect();
        gauges(
            e,
            "scsp_server_failed",
            "Configured servers that could not start (1 each)",
            &failed,
        )?;
        let per = |f: fn(&ServerSample) -> u64| -> Vec<(Labels, u64)> {
            self.servers.iter().map(|s| (sl(&s.name), f(s))).collect()
        };
        gauges(
            e,
            "scsp_cache_entries",
            "Live cache entries",
            &per(|s| s.entries),
        )?;
        gauges(
            e,
            "scsp_cache_entries_held",
            "Cache entries held, deleted ones included",
            &per(|s| s.entries_held),
        )?;
        gauges(
            e,
            "scsp_cache_bytes",
            "Bytes of keys, originator IDs and data of the entries held (counted at most every 5 s)",
            &per(|s| s.cache_bytes),
        )?;
        gauges(
            e,
            "scsp_cache_cost_bytes",
            "What the entries held count against MaxCacheBytes (key, originator and data plus \
             160 bytes each)",
            &per(|s| s.cache_cost_bytes),
        )?;
        gauges(
            e,
            "scsp_cache_max_bytes",
            "The cache's byte bound (MaxCacheBytes)",
            &per(|s| s.cache_max_bytes),
        )?;
        gauges(
            e,
            "scsp_server_dcs",
            "DCSs configured",
            &per(|s| s.dcs.len() as u64),
        )?;
        gauges(
            e,
            "scsp_server_dcs_aligned",
            "DCSs whose CA FSM is Aligned",
            &per(|s| s.dcs.iter().filter(|d| d.ca == CaState::Aligned).count() as u64),
        )?;
        gauges(
            e,
            "scsp_server_client_attached",
            "1 when a local server is attached",
            &per(|s| u64::from(s.client_attached)),
        )?;
        counters(
            e,
            "scsp_server_dropped_unknown_source",
            "Packets dropped because their source is no configured DCS",
            &per(|s| s.dropped_unknown),
        )?;

        let dcs: Vec<(&ServerSample, &DcsSample)> = self
            .servers
            .iter()
            .flat_map(|s| s.dcs.iter().map(move |d| (s, d)))
            .collect();
        let dl =
            |s: &ServerSample, d: &DcsSample| vec![("server", esc(&s.name)), ("dcs", esc(&d.id))];
        let with = |s: &ServerSample, d: &DcsSample, k: &'static str, v: &str| {
            let mut l = dl(s, d);
            l.push((k, v.to_owned()));
            l
        };
        let mut rows = Vec::new();
        for (s, d) in &dcs {
            for st in HELLO_STATES {
                rows.push((with(s, d, "state", st.name()), u64::from(d.hello == st)));
            }
        }
        gauges(
            e,
            "scsp_dcs_hello_state",
            "Hello FSM state of the DCS (1 for the current state)",
            &rows,
        )?;
        rows.clear();
        for (s, d) in &dcs {
            for st in CA_STATES {
                rows.push((with(s, d, "state", st.name()), u64::from(d.ca == st)));
            }
        }
        gauges(
            e,
            "scsp_dcs_ca_state",
            "CA FSM state of the DCS (1 for the current state)",
            &rows,
        )?;
        let each = |f: &dyn Fn(&DcsSample) -> u64| -> Vec<(Labels, u64)> {
            dcs.iter().map(|(s, d)| (dl(s, d), f(d))).collect()
        };
        gauges(
            e,
            "scsp_dcs_disabled",
            "1 while the DCS is disabled by scspctl dcs disable",
            &each(&|d| u64::from(d.disabled)),
        )?;
        gauges(
            e,
            "scsp_dcs_hello_state_seconds",
            "Seconds in the current Hello state",
            &each(&|d| d.hello_s),
        )?;
        gauges(
            e,
            "scsp_dcs_ca_state_seconds",
            "Seconds in the current CA state",
            &each(&|d| d.ca_s),
        )?;
        gauges(
            e,
            "scsp_dcs_unaligned_seconds",
            "Seconds since the DCS was last Aligned (or configured); 0 while Aligned",
            &each(&|d| d.unaligned_s.unwrap_or(0)),
        )?;
        gauges(
            e,
            "scsp_dcs_retransmit_queue",
            "CSAs on the DCS retransmit queue (awaiting acknowledgement)",
            &each(&|d| d.rexmit_queue),
        )?;
        gauges(
            e,
            "scsp_dcs_csa_request_list",
            "CSAs on the CSA Request List (still wanted from the DCS)",
            &each(&|d| d.crl),
        )?;
        let rtt: Vec<(Labels, f64)> = dcs
            .iter()
            .filter_map(|(s, d)| Some((dl(s, d), d.srtt_us? as f64 / 1e6)))
            .collect();
        let opt = |f: &dyn Fn(&DcsSample) -> Option<f64>| -> Vec<(Labels, f64)> {
            dcs.iter()
                .filter_map(|(s, d)| Some((dl(s, d), f(d)?)))
                .collect()
        };
        gauges_f(
            e,
            "scsp_dcs_last_hello_seconds",
            "Seconds since a Hello from the DCS was last accepted (absent before the first)",
            &opt(&|d| d.hello_age_s.map(|s| s as f64)),
        )?;
        gauges_f(
            e,
            "scsp_dcs_dead_timer_seconds",
            "Seconds left before the Hello FSM declares the DCS dead if nothing more is heard (while Unidirectional or Bidirectional)",
            &opt(&|d| d.dead_in_ms.map(|ms| ms as f64 / 1000.0)),
        )?;
        gauges_f(
            e,
            "scsp_dcs_rtt_seconds",
            "Smoothed round-trip time to the DCS, once measured",
            &rtt,
        )?;
        for (dir, name) in [(true, "received"), (false, "sent")] {
            let counts = |d: &DcsSample| {
                if dir { d.stats.rx } else { d.stats.tx }
            };
            rows.clear();
            for (s, d) in &dcs {
                let c = counts(d);
                for (t, v) in [
                    ("hello", c.hello),
                    ("ca", c.ca),
                    ("csu_request", c.csu_request),
                    ("csu_reply", c.csu_reply),
                    ("csus", c.csus),
                ] {
                    rows.push((with(s, d, "type", t), v));
                }
            }
            counters(
                e,
                &format!("scsp_dcs_messages_{name}"),
                &format!("SCSP messages {name}, by type"),
                &rows,
            )?;
            let b: Vec<_> = dcs
                .iter()
                .map(|(s, d)| (dl(s, d), counts(d).bytes))
                .collect();
            counters(
                e,
                &format!("scsp_dcs_{name}_bytes"),
                &format!("Bytes of SCSP messages {name}"),
                &b,
            )?;
            let r: Vec<_> = dcs
                .iter()
                .map(|(s, d)| (dl(s, d), counts(d).records))
                .collect();
            counters(
                e,
                &format!("scsp_dcs_{name}_records"),
                &format!("CSA and CSAS records carried by the messages {name}"),
                &r,
            )?;
        }
        counters(
            e,
            "scsp_dcs_malformed",
            "Packets from the DCS that did not decode",
            &each(&|d| d.stats.malformed),
        )?;
        rows.clear();
        for (s, d) in &dcs {
            for r in AUTH_REASONS {
                rows.push((with(s, d, "reason", r), d.auth.get(r).copied().unwrap_or(0)));
            }
        }
        counters(
            e,
            "scsp_dcs_auth_failures",
            "Packets from the DCS that failed authentication, by reason (counted since the server task started)",
            &rows,
        )?;
        counters(
            e,
            "scsp_dcs_replays_refused",
            "Authenticated packets from the DCS refused by replay protection (docs/replay-protection.md)",
            &each(&|d| d.stats.replays_refused),
        )?;
        counters(
            e,
            "scsp_dcs_dropped",
            "Packets or records from the DCS dropped for other reasons",
            &each(&|d| d.stats.dropped),
        )?;
        counters(
            e,
            "scsp_dcs_invalid_records",
            "Records refused by the protocol profile",
            &each(&|d| d.stats.invalid_records),
        )?;
        rows.clear();
        for (s, d) in &dcs {
            let st = &d.stats;
            for (k, v) in [
                ("ca", st.ca_retransmits),
                ("csus", st.csus_retransmits),
                ("csa", st.csa_retransmits),
            ] {
                rows.push((with(s, d, "kind", k), v));
            }
        }
        counters(
            e,
            "scsp_dcs_retransmits",
            "Retransmissions to the DCS, by kind",
            &rows,
        )?;
        counters(
            e,
            "scsp_dcs_abnormal_events",
            "Abnormal events (RFC 2334 2.1)",
            &each(&|d| d.stats.abnormal_events),
        )?;
        counters(
            e,
            "scsp_dcs_alignments",
            "Times the CA FSM reached Aligned",
            &each(&|d| d.stats.alignments),
        )?;
        counters(
            e,
            "scsp_dcs_flaps",
            "Times the CA FSM left Aligned",
            &each(&|d| d.flaps),
        )?;
        counters(
            e,
            "scsp_dcs_records_learned",
            "Records learned from the DCS (new or newer instances)",
            &each(&|d| d.stats.records_learned),
        )?;
        counters(
            e,
            "scsp_dcs_family_mismatches",
            "Hellos advertising another Family ID",
            &each(&|d| d.stats.family_mismatches),
        )?;
        counters(
            e,
            "scsp_dcs_stray_purges",
            "Purges of entries not held",
            &each(&|d| d.stats.stray_purges),
        )?;
        counters(
            e,
            "scsp_dcs_cache_full",
            "Records not stored because the cache is at its bound (MaxCacheEntries, MaxCacheBytes)",
            &each(&|d| d.stats.cache_full),
        )?;
        counters(
            e,
            "scsp_dcs_csa_requests_refused",
            "Records summarized by the DCS not solicited: its CSA Request List at its bound \
             (MaxCSARequests)",
            &each(&|d| d.stats.csa_requests_refused),
        )?;
        // The reconciliation extension (docs/reconciliation.md), for the DCSs of servers with
        // `Reconcile on;`.
        let recon = |f: &dyn Fn(&scsp_core::ReconStats) -> u64| -> Vec<(Labels, u64)> {
            dcs.iter()
                .filter_map(|(s, d)| Some((dl(s, d), f(d.recon.as_ref()?))))
                .collect()
        };
        rows.clear();
        for (s, d) in &dcs {
            if let Some(r) = &d.recon {
                rows.push((with(s, d, "outcome", "decoded"), r.decoded));
                rows.push((with(s, d, "outcome", "fallback"), r.fallbacks));
            }
        }
        counters(
            e,
            "scsp_dcs_reconciliations",
            "Cache Alignments by set reconciliation, by outcome (decoded, or fallen back to RFC \
             2334 Cache Alignment)",
            &rows,
        )?;
        counters(
            e,
            "scsp_dcs_recon_differences",
            "Instances found to differ by the reconciliations",
            &recon(&|r| r.found),
        )?;
        counters(
            e,
            "scsp_dcs_bulk_streams",
            "Streams of the bulk path (docs/reconciliation.md 8), as holder or learner",
            &recon(&|r| r.bulk),
        )?;
        counters(
            e,
            "scsp_dcs_bulk_entries",
            "Entries streamed by the bulk path: sent (holder) or taken in order (learner)",
            &recon(&|r| r.bulk_entries),
        )?;
        counters(
            e,
            "scsp_dcs_bulk_retransmits",
            "Times a holder went back to the first entry not acknowledged",
            &recon(&|r| r.bulk_rexmits),
        )?;
        counters(
            e,
            "scsp_dcs_bulk_clean",
            "Streams after which nothing was left to reconcile",
            &recon(&|r| r.bulk_clean),
        )?;
        let mut m = e.encode_descriptor(
            "scsp_dcs_alignment_duration_seconds",
            "Time from the CA FSM leaving Down to Aligned",
            None,
            MetricType::Histogram,
        )?;
        for (s, d) in &dcs {
            let buckets: Vec<(f64, u64)> = ALIGN_BUCKETS
                .iter()
                .copied()
                .chain(std::iter::once(f64::INFINITY))
                .zip(d.align.counts.iter().copied())
                .collect();
            m.encode_family(&dl(s, d))?.encode_histogram::<NoLabelSet>(
                d.align.sum,
                d.align.count,
                &buckets,
                None,
            )?;
        }
        Ok(())
    }
}

/// The text exposition of `g`: OpenMetrics (`# EOF` at the end), or the Prometheus text format
/// 0.0.4 when `openmetrics` is false.
pub fn encode(g: Gathered, openmetrics: bool) -> String {
    let mut reg = Registry::default();
    reg.register_collector(Box::new(g));
    let mut out = String::new();
    let r = if openmetrics {
        prometheus_client::encoding::text::encode(&mut out, &reg)
    } else {
        prometheus_client::encoding::prometheus_text::encode(&mut out, &reg)
    };
    // Writing to a String fails only if a metric's encoding does; say so rather than serve half.
    if r.is_err() {
        out = "# the metrics could not be encoded\n".to_owned();
    }
    out
}
