//! The `server` block: its statements checked and built into a `ServerConfig`.

use super::*;

impl Checker<'_> {
    pub(super) fn server(&mut self, stmt: &Stmt, pos: Pos) -> Option<ServerConfig> {
        let (name_tok, block) = self.block(stmt, "Server", 1, "server name");
        let name = name_tok.and_then(|t| self.nonempty(t, "server name"));
        // Without a block there is nothing more to say than the error already given.
        let block = block?;
        let mut protocol: Slot<Protocol> = Slot::default();
        let mut netif: Slot<String> = Slot::default();
        let mut sgid: Slot<u16> = Slot::default();
        let mut family: Slot<u16> = Slot::default();
        let mut id: Slot<Host> = Slot::default();
        let mut address: Slot<Host> = Slot::default();
        let mut port: Slot<u16> = Slot::default();
        let mut mtu: Slot<u16> = Slot::default();
        let mut atmarp_format: Slot<AtmarpLayout> = Slot::default();
        let mut mars_interval: Slot<u16> = Slot::default();
        let mut local_grace: Slot<Option<u32>> = Slot::default();
        let mut max_entries: Slot<u64> = Slot::default();
        let mut max_bytes: Slot<u64> = Slot::default();
        let mut max_crl: Slot<u64> = Slot::default();
        let mut stray_hold: Slot<u64> = Slot::default();
        let mut notify: Slot<NotifyConfig> = Slot::default();
        let mut reconcile: Slot<bool> = Slot::default();
        let mut dcs: Vec<(DcsConfig, Pos)> = Vec::new();
        let mut dcs_statements = 0usize;
        for s in &self.split_missing_semicolons(&block.stmts, SERVER) {
            if self.stray_protocol_name(s) {
                continue;
            }
            let Some((kw, kpos)) = self.keyword(s, SERVER, "in a Server block") else {
                continue;
            };
            match kw {
                "Protocol" => {
                    if protocol.claim(kw, kpos, &mut self.d) {
                        protocol.value = self
                            .value(s, kw, "a protocol")
                            .and_then(|t| self.protocol(t));
                    }
                }
                "Netif" => {
                    if netif.claim(kw, kpos, &mut self.d) {
                        netif.value = self
                            .value(s, kw, "an interface name")
                            .and_then(|t| self.ifname(t));
                    }
                }
                "ServerGroupID" => {
                    if sgid.claim(kw, kpos, &mut self.d) {
                        sgid.value = self.value(s, kw, "a server group ID").and_then(|t| {
                            self.number_u16(t, 0, u16::MAX, "invalid server group ID")
                        });
                    }
                }
                "FamilyID" => {
                    if family.claim(kw, kpos, &mut self.d) {
                        family.value = self
                            .value(s, kw, "a family ID")
                            .and_then(|t| self.number_u16(t, 0, u16::MAX, "invalid family ID"));
                    }
                }
                "ID" => {
                    if id.claim(kw, kpos, &mut self.d) {
                        id.value = self
                            .value(s, kw, "a host")
                            .and_then(|t| self.host(t, "invalid server ID"));
                    }
                }
                "Address" => {
                    if address.claim(kw, kpos, &mut self.d) {
                        address.value = self
                            .value(s, kw, "a host")
                            .and_then(|t| self.host(t, "invalid server address"));
                    }
                }
                "Port" => {
                    if port.claim(kw, kpos, &mut self.d) {
                        port.value = self
                            .value(s, kw, "a port number")
                            .and_then(|t| self.number_u16(t, 1, u16::MAX, "invalid port"));
                    }
                }
                "MTU" => {
                    if mtu.claim(kw, kpos, &mut self.d) {
                        mtu.value = self
                            .value(s, kw, "an MTU")
                            .and_then(|t| self.number_u16(t, MIN_MTU, u16::MAX, "invalid MTU"));
                    }
                }
                "ATMARPFormat" => {
                    if atmarp_format.claim(kw, kpos, &mut self.d) {
                        atmarp_format.value = self
                            .value(s, kw, "an ATMARP format")
                            .and_then(|t| self.atmarp_format(t));
                    }
                }
                "MARSRedirectInterval" => {
                    if mars_interval.claim(kw, kpos, &mut self.d) {
                        mars_interval.value =
                            self.value(s, kw, "a number of seconds").and_then(|t| {
                                self.number_u16(
                                    t,
                                    MIN_MARS_REDIRECT_INTERVAL,
                                    MAX_MARS_REDIRECT_INTERVAL,
                                    "invalid MARS redirect interval",
                                )
                            });
                    }
                }
                "LocalGrace" => {
                    if local_grace.claim(kw, kpos, &mut self.d) {
                        local_grace.value = self
                            .value(s, kw, "a number of seconds or never")
                            .and_then(|t| {
                                if t.text().is_some_and(|w| w.eq_ignore_ascii_case("never")) {
                                    Some(None)
                                } else {
                                    self.number(
                                        t,
                                        1,
                                        MAX_LOCAL_GRACE.into(),
                                        "invalid local grace time",
                                    )
                                    .and_then(|n| u32::try_from(n).ok())
                                    .map(Some)
                                }
                            });
                    }
                }
                "MaxCacheEntries" | "MaxCacheBytes" | "MaxCSARequests" | "StrayDeletionHold" => {
                    let (slot, what, min, max, msg) = match kw {
                        "MaxCacheEntries" => (
                            &mut max_entries,
                            "a number of entries",
                            1,
                            u64::from(MAX_MAX_CACHE_ENTRIES),
                            "invalid cache entries maximum",
                        ),
                        "MaxCacheBytes" => (
                            &mut max_bytes,
                            "a number of bytes",
                            MIN_MAX_CACHE_BYTES,
                            MAX_MAX_CACHE_BYTES,
                            "invalid cache bytes maximum",
                        ),
                        "StrayDeletionHold" => (
                            &mut stray_hold,
                            "a number of seconds",
                            1,
                            u64::from(MAX_STRAY_DELETION_HOLD),
                            "invalid stray deletion hold time",
                        ),
                        _ => (
                            &mut max_crl,
                            "a number of records",
                            1,
                            u64::from(MAX_MAX_CSA_REQUESTS),
                            "invalid CSA Request List maximum",
                        ),
                    };
                    if slot.claim(kw, kpos, &mut self.d) {
                        slot.value = self
                            .value(s, kw, what)
                            .and_then(|t| self.number(t, min, max, msg));
                    }
                }
                "Reconcile" => {
                    if reconcile.claim(kw, kpos, &mut self.d)
                        && let Some(t) = self.value(s, kw, "on or off")
                    {
                        match t.text() {
                            Some(w) if w.eq_ignore_ascii_case("on") => reconcile.value = Some(true),
                            Some(w) if w.eq_ignore_ascii_case("off") => {
                                reconcile.value = Some(false)
                            }
                            _ => self.error(
                                t.pos,
                                "invalid Reconcile value; expected on or off".to_owned(),
                            ),
                        }
                    }
                }
                "Notify" => {
                    if notify.claim(kw, kpos, &mut self.d) {
                        notify.value = self.notify(s);
                    }
                }
                _ => {
                    dcs_statements += 1;
                    if let Some(d) = self.dcs(s, kpos) {
                        dcs.push(d);
                    }
                }
            }
        }
        let shown = name.as_deref().map(escape).unwrap_or_default();
        if !protocol.given() {
            self.error(pos, format!("protocol missing for server \"{shown}\""));
        }
        if !sgid.given() {
            self.error(
                pos,
                format!("server group ID missing for server \"{shown}\""),
            );
        }
        if !netif.given() && !id.given() {
            self.error(
                pos,
                format!(
                    "netif missing for server \"{shown}\": give Netif, or ID (the server's own \
                     SCSP ID)"
                ),
            );
        }
        if dcs_statements == 0 {
            self.warn(
                pos,
                format!(
                    "no DCS configured for server \"{shown}\" (its cache is not synchronised \
                     with any other server)"
                ),
            );
        }
        if let (Some(p), Some((fpos, _))) = (protocol.value, atmarp_format.first)
            && p.id != Protocol::ATMARP.id
        {
            self.warn(
                fpos,
                format!(
                    "ATMARPFormat applies to protocol ATMARP only; ignored for server \"{shown}\" \
                     (protocol {p})"
                ),
            );
        }
        if let (Some(p), Some((ipos, _))) = (protocol.value, mars_interval.first)
            && p.id != Protocol::MARS.id
        {
            self.warn(
                ipos,
                format!(
                    "MARSRedirectInterval applies to protocol MARS only; ignored for server \
                     \"{shown}\" (protocol {p})"
                ),
            );
        }
        for (i, (d, id_pos)) in dcs.iter().enumerate() {
            if let Some((_, first_pos)) = dcs[..i].iter().find(|(f, _)| f.id.same_as(&d.id)) {
                let msg = format!(
                    "duplicate DCS ID {} in server \"{shown}\" (the first is at {first_pos})",
                    d.id
                );
                self.error(*id_pos, msg);
            }
            if let (Some(own), Some((own_pos, _))) = (&id.value, id.first)
                && own.same_as(&d.id)
            {
                self.error(
                    *id_pos,
                    format!(
                        "DCS ID {} is this server's own ID (given at {own_pos})",
                        d.id
                    ),
                );
            }
        }
        Some(ServerConfig {
            name: name?,
            protocol: protocol.value.unwrap_or(Protocol::ATMARP),
            netif: netif.value,
            sgid: sgid.value.unwrap_or(0),
            family_id: family.value.unwrap_or(0),
            id: id.value,
            address: address.value,
            port: port.value.unwrap_or(DEFAULT_PORT),
            mtu: mtu.value.unwrap_or(DEFAULT_MTU),
            atmarp_format: atmarp_format.value.unwrap_or_default(),
            mars_redirect_interval: mars_interval
                .value
                .unwrap_or(DEFAULT_MARS_REDIRECT_INTERVAL),
            local_grace: local_grace.value.unwrap_or(Some(DEFAULT_LOCAL_GRACE)),
            max_cache_entries: max_entries
                .value
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(DEFAULT_MAX_CACHE_ENTRIES),
            max_cache_bytes: max_bytes.value.unwrap_or(DEFAULT_MAX_CACHE_BYTES),
            max_csa_requests: max_crl
                .value
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(DEFAULT_MAX_CSA_REQUESTS),
            stray_deletion_hold: stray_hold
                .value
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(DEFAULT_STRAY_DELETION_HOLD),
            reconcile: reconcile.value.unwrap_or(false),
            notify: notify.value,
            dcs: dcs.into_iter().map(|(d, _)| d).collect(),
            pos,
        })
    }

    /// `Notify <script> [<seconds>];`: the script's path (relative to the configuration's
    /// directory), and how long it may run.
    fn notify(&mut self, s: &Stmt) -> Option<NotifyConfig> {
        let args = self.values(s, "Notify", 1, 2, "a program and a number of seconds")?;
        let script = self.nonempty(&args[0], "notify script name")?;
        let timeout_s = match args.get(1) {
            Some(t) => u32::try_from(self.number(
                t,
                1,
                MAX_NOTIFY_TIMEOUT.into(),
                "invalid notify time limit",
            )?)
            .ok()?,
            None => DEFAULT_NOTIFY_TIMEOUT,
        };
        let script = PathBuf::from(script);
        let script = if script.is_relative() {
            self.base.join(script)
        } else {
            script
        };
        Some(NotifyConfig { script, timeout_s })
    }

    /// The original's grammar accepted `LNNI;` and `MARS;` alone in a Server block (a yacc
    /// precedence slip) and ignored them: so do we, with a warning.
    pub(super) fn stray_protocol_name(&mut self, stmt: &Stmt) -> bool {
        let Some((word, pos)) = &stmt.keyword else {
            return false;
        };
        let Some(name) = ["LNNI", "MARS"]
            .into_iter()
            .find(|n| n.eq_ignore_ascii_case(word))
        else {
            return false;
        };
        if !stmt.args.is_empty() || stmt.block.is_some() {
            return false;
        }
        self.warn(
            *pos,
            format!(
                "\"{}\" alone is ignored (as the original did); write \"Protocol {name};\" to \
                 select that protocol",
                escape(word)
            ),
        );
        true
    }

    pub(super) fn protocol(&mut self, tok: &Token) -> Option<Protocol> {
        let text = tok.text()?;
        if let Some(p) = Protocol::from_name(text) {
            return Some(p);
        }
        if !text.is_empty()
            && text.bytes().all(|b| b.is_ascii_digit())
            && let Ok(id) = text.parse::<u16>()
        {
            return Some(Protocol::from_id(id));
        }
        let names: Vec<&str> = PROTOCOL_NAMES.iter().map(|(n, _)| *n).collect();
        self.error(
            tok.pos,
            format!(
                "invalid protocol \"{}\"; expected {} or a number 0-65535",
                escape(text),
                names.join(", ")
            ),
        );
        None
    }

    pub(super) fn atmarp_format(&mut self, tok: &Token) -> Option<AtmarpLayout> {
        let text = tok.text()?;
        let found = atmarp_format_from_name(text);
        if found.is_none() {
            let names: Vec<&str> = ATMARP_FORMATS.iter().map(|(n, _)| *n).collect();
            self.error(
                tok.pos,
                format!(
                    "invalid ATMARP format \"{}\"; expected {}",
                    escape(text),
                    one_of(&names)
                ),
            );
        }
        found
    }

    pub(super) fn ifname(&mut self, tok: &Token) -> Option<String> {
        let text = tok.text()?;
        let why = if text.is_empty() {
            Some("empty".to_owned())
        } else if text.len() > MAX_IFNAME_LEN {
            Some(format!("longer than {MAX_IFNAME_LEN} bytes"))
        } else {
            text.chars()
                .find(|c| c.is_whitespace() || *c == '/')
                .map(|c| format!("'{c}' is not allowed"))
        };
        match why {
            None => Some(text.to_owned()),
            Some(why) => {
                self.error(
                    tok.pos,
                    format!("invalid interface name \"{}\": {why}", escape(text)),
                );
                None
            }
        }
    }
}
