//! The meaning of each statement: keywords, values, ranges, required and repeated statements.

use scsp_core::ReplayMode;
use std::path::{Path, PathBuf};

use super::atm::{AtmAddressError, parse_hex};
use super::lexer::{Kind, Token, escape};
use super::syntax::{Block, Diags, Stmt};
use super::*;

/// Keywords at the top level.
const TOP: &[&str] = &["Server", "Log", "Metrics"];
/// Keywords in a `Server` block.
const SERVER: &[&str] = &[
    "Protocol",
    "Netif",
    "ServerGroupID",
    "FamilyID",
    "ID",
    "Address",
    "Port",
    "MTU",
    "ATMARPFormat",
    "MARSRedirectInterval",
    "LocalGrace",
    "DCS",
];
/// Keywords in a `DCS` block.
const DCS: &[&str] = &[
    "ATMaddr",
    "ID",
    "Address",
    "Port",
    "CAReXmitInt",
    "CSUSReXmitInt",
    "CSUReXmitInt",
    "CSUReXmitMax",
    "HelloDead",
    "HelloInt",
    "Hops",
    "Auth",
    "Timers",
    "AuthFailure",
    "Replay",
    "MaxDeadInterval",
    "MaxReXmitQueue",
];
/// Keywords in a `Log` block.
const LOG: &[&str] = &["File", "Syslog"];
/// Keywords in an `Auth` block.
const AUTH: &[&str] = &["SPI", "SendSPI", "RecvSPI", "Algorithm", "Key", "KeyFile"];

/// Each block's keywords and where they belong, for hints.
const BLOCKS: &[(&[&str], &str)] = &[
    (TOP, "at the top level"),
    (SERVER, "in a Server block"),
    (DCS, "in a DCS block"),
    (LOG, "in a Log block"),
    (AUTH, "in an Auth block"),
];

/// Longest interface name (IFNAMSIZ − 1 on Linux and the BSDs).
const MAX_IFNAME_LEN: usize = 15;

/// A statement that may be given once per block: where (and by which keyword) it was first given.
struct Slot<T> {
    first: Option<(Pos, &'static str)>,
    value: Option<T>,
}

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Slot {
            first: None,
            value: None,
        }
    }
}

impl<T> Slot<T> {
    /// Record the statement `kw` at `pos`; false (and an error) if the slot was already taken.
    fn claim(&mut self, kw: &'static str, pos: Pos, d: &mut Diags) -> bool {
        match self.first {
            None => {
                self.first = Some((pos, kw));
                true
            }
            Some((first, first_kw)) if first_kw == kw => {
                d.errors.push((
                    pos,
                    format!("repeated {kw} statement (the first is at {first})"),
                ));
                false
            }
            Some((first, first_kw)) => {
                d.errors.push((
                    pos,
                    format!("{kw} can't be combined with {first_kw} (given at {first})"),
                ));
                false
            }
        }
    }

    fn given(&self) -> bool {
        self.first.is_some()
    }
}

/// Which of the DCS values a number statement sets: (keyword, message, field).
type DcsNumber = (&'static str, &'static str, fn(&mut DcsConfig) -> &mut u16);

const DCS_NUMBERS: &[DcsNumber] = &[
    ("CAReXmitInt", "invalid CA retransmit interval", |d| {
        &mut d.ca_rexmit_int
    }),
    ("CSUSReXmitInt", "invalid CSUS retransmit interval", |d| {
        &mut d.csus_rexmit_int
    }),
    ("CSUReXmitInt", "invalid CSU retransmit interval", |d| {
        &mut d.csu_rexmit_int
    }),
    ("CSUReXmitMax", "invalid CSU retransmit maximum", |d| {
        &mut d.csu_rexmit_max
    }),
    ("HelloDead", "invalid Hello dead factor", |d| {
        &mut d.hello_dead
    }),
    ("HelloInt", "invalid Hello interval", |d| &mut d.hello_int),
    ("Hops", "invalid hop count", |d| &mut d.hops),
];

struct Checker<'a> {
    d: Diags,
    base: &'a Path,
}

fn list(words: &[&str]) -> String {
    match words {
        [a, b] => format!("{a} or {b}"),
        _ => format!("one of {}", words.join(", ")),
    }
}

fn one_of(words: &[&str]) -> String {
    match words {
        [] => String::new(),
        [a] => (*a).to_owned(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

impl Checker<'_> {
    fn error(&mut self, pos: Pos, message: String) {
        self.d.errors.push((pos, message));
    }

    fn warn(&mut self, pos: Pos, message: String) {
        self.d.warnings.push((pos, message));
    }

    /// The canonical keyword of `stmt` from `table`, or an error naming what is allowed `ctx`.
    fn keyword(
        &mut self,
        stmt: &Stmt,
        table: &[&'static str],
        ctx: &str,
    ) -> Option<(&'static str, Pos)> {
        let (word, pos) = stmt.keyword.as_ref()?;
        match table.iter().find(|k| k.eq_ignore_ascii_case(word)) {
            Some(k) => Some((k, *pos)),
            None => {
                let hint = BLOCKS
                    .iter()
                    .filter(|(t, _)| *t != table)
                    .find_map(|(t, place)| {
                        t.iter()
                            .find(|k| k.eq_ignore_ascii_case(word))
                            .map(|k| format!(" ({k} belongs {place})"))
                    })
                    .or_else(|| {
                        super::suggest::closest(word, table)
                            .map(|k| format!(" (did you mean {k}?)"))
                    })
                    .unwrap_or_default();
                self.error(
                    *pos,
                    format!(
                        "unknown statement \"{}\" {ctx}{hint}; expected {}",
                        escape(word),
                        list(table)
                    ),
                );
                None
            }
        }
    }

    /// The values of a statement without a block, `min..=max` of them, described as `what`.
    /// `None` (after an error, or silently if a value is a token the lexer already rejected) when
    /// they are not usable.
    fn values<'t>(
        &mut self,
        stmt: &'t Stmt,
        kw: &str,
        min: usize,
        max: usize,
        what: &str,
    ) -> Option<&'t [Token]> {
        let args = &stmt.args;
        // A value the lexer rejected has been reported: say no more about this statement.
        if args.iter().any(|t| t.kind == Kind::Invalid) {
            return None;
        }
        if args.len() < min {
            self.error(
                stmt.after_args.pos,
                format!(
                    "expected {what} after {kw}, found {}",
                    stmt.after_args.describe()
                ),
            );
            return None;
        }
        if let Some(extra) = args.get(max) {
            let msg = if max == 0 {
                format!("unexpected {} after {kw}; expected ';'", extra.describe())
            } else {
                format!(
                    "unexpected {} after the value of {kw}; expected ';'",
                    extra.describe()
                )
            };
            self.error(extra.pos, msg);
            return None;
        }
        if stmt.block.is_some() {
            self.error(
                stmt.after_args.pos,
                format!("{kw} takes no block; expected ';'"),
            );
            return None;
        }
        Some(args)
    }

    /// The single value of a statement.
    fn value<'t>(&mut self, stmt: &'t Stmt, kw: &str, what: &str) -> Option<&'t Token> {
        self.values(stmt, kw, 1, 1, what).map(|a| &a[0])
    }

    /// The block of a block statement with `nargs` (0 or 1) values before it. The block is
    /// returned even when the values are wrong, so that its contents are checked too.
    fn block<'t>(
        &mut self,
        stmt: &'t Stmt,
        kw: &str,
        nargs: usize,
        what: &str,
    ) -> (Option<&'t Token>, Option<&'t Block>) {
        let args = &stmt.args;
        let mut arg = None;
        if args.len() < nargs {
            self.error(
                stmt.after_args.pos,
                format!(
                    "expected a {what} after {kw}, found {}",
                    stmt.after_args.describe()
                ),
            );
        } else if let Some(extra) = args.get(nargs).filter(|t| t.kind != Kind::Invalid) {
            let after = if nargs == 0 {
                kw.to_owned()
            } else {
                format!("the {what}")
            };
            self.error(
                extra.pos,
                format!(
                    "unexpected {} after {after}; expected '{{'",
                    extra.describe()
                ),
            );
        } else {
            arg = args.first().filter(|t| t.kind != Kind::Invalid);
            if stmt.block.is_none() {
                self.error(
                    stmt.after_args.pos,
                    format!(
                        "expected '{{' after {}, found {}",
                        if nargs == 0 {
                            kw.to_owned()
                        } else {
                            format!("the {what}")
                        },
                        stmt.after_args.describe()
                    ),
                );
            }
        }
        (arg, stmt.block.as_ref())
    }

    /// A decimal number in `min..=max`; `msg` is the start of the error message.
    fn number(&mut self, tok: &Token, min: u64, max: u64, msg: &str) -> Option<u64> {
        let text = tok.text()?;
        let n = if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
            text.parse::<u64>().ok()
        } else {
            None
        };
        match n {
            Some(n) if (min..=max).contains(&n) => Some(n),
            _ => {
                self.error(
                    tok.pos,
                    format!("{msg} \"{}\"; expected a number {min}-{max}", escape(text)),
                );
                None
            }
        }
    }

    fn number_u16(&mut self, tok: &Token, min: u16, max: u16, msg: &str) -> Option<u16> {
        self.number(tok, min.into(), max.into(), msg)
            .and_then(|n| u16::try_from(n).ok())
    }

    fn host(&mut self, tok: &Token, msg: &str) -> Option<Host> {
        let text = tok.text()?;
        match text.parse::<Host>() {
            Ok(h) => Some(h),
            Err(e) => {
                self.error(tok.pos, format!("{msg} \"{}\": {e}", escape(text)));
                None
            }
        }
    }

    fn nonempty(&mut self, tok: &Token, what: &str) -> Option<String> {
        let text = tok.text()?;
        if text.is_empty() {
            self.error(tok.pos, format!("empty {what}"));
            None
        } else {
            Some(text.to_owned())
        }
    }

    // ---- the top level ----

    fn config(&mut self, stmts: &[Stmt]) -> Config {
        let mut servers: Vec<ServerConfig> = Vec::new();
        let mut log = LogState::default();
        let mut metrics: Slot<std::net::SocketAddr> = Slot::default();
        for stmt in stmts {
            match self.keyword(stmt, TOP, "at the top level") {
                Some(("Server", pos)) => {
                    if let Some(s) = self.server(stmt, pos) {
                        if let Some(first) = servers.iter().find(|f| f.name == s.name) {
                            let msg = format!(
                                "duplicate server \"{}\" (the first is at {})",
                                escape(&s.name),
                                first.pos
                            );
                            self.error(pos, msg);
                        } else {
                            servers.push(s);
                        }
                    }
                }
                Some(("Metrics", pos)) => self.metrics(stmt, pos, &mut metrics),
                Some((_, _)) => self.log(stmt, &mut log),
                None => {}
            }
        }
        let file = log.file.value;
        let syslog = log.syslog.is_some() || file.is_none();
        Config {
            servers,
            log: LogConfig { file, syslog },
            metrics: metrics.value,
        }
    }

    /// `Metrics <address>:<port>;`: where the metrics endpoint listens (a literal address, never
    /// a name: nothing to look up).
    fn metrics(&mut self, stmt: &Stmt, pos: Pos, slot: &mut Slot<std::net::SocketAddr>) {
        if let Some((first, _)) = slot.first {
            self.error(
                pos,
                format!("Metrics given twice (the first is at {first})"),
            );
            return;
        }
        slot.first = Some((pos, "Metrics"));
        let Some(tok) = self.value(stmt, "Metrics", "an address:port") else {
            return;
        };
        let Some(text) = tok.text() else { return };
        match text.parse::<std::net::SocketAddr>() {
            Ok(a) if a.port() == 0 => self.error(
                tok.pos,
                "Metrics: port 0 is not a port to listen on".to_owned(),
            ),
            Ok(a) => slot.value = Some(a),
            Err(_) => self.error(
                tok.pos,
                format!(
                    "Metrics \"{}\": expected an IP address and a port, as 127.0.0.1:9155 or \
                     \"[::1]:9155\"",
                    escape(text)
                ),
            ),
        }
    }

    fn log(&mut self, stmt: &Stmt, log: &mut LogState) {
        let (_, block) = self.block(stmt, "Log", 0, "");
        let Some(block) = block else { return };
        let mut syslog_here: Option<Pos> = None;
        for s in &block.stmts {
            match self.keyword(s, LOG, "in a Log block") {
                Some(("File", pos)) => {
                    if let Some((first, _)) = log.file.first {
                        self.error(
                            pos,
                            format!("multiple log files specified (the first is at {first})"),
                        );
                        continue;
                    }
                    log.file.first = Some((pos, "File"));
                    if let Some(tok) = self.value(s, "File", "a file name") {
                        log.file.value = self.nonempty(tok, "log file name").map(PathBuf::from);
                    }
                }
                Some((_, pos)) => {
                    if self.values(s, "Syslog", 0, 0, "").is_none() {
                        continue;
                    }
                    if let Some(first) = syslog_here {
                        self.error(
                            pos,
                            format!("repeated Syslog statement (the first is at {first})"),
                        );
                    } else if let Some(first) = log.syslog {
                        self.warn(
                            pos,
                            format!("Syslog already given in another Log block at {first}"),
                        );
                    } else {
                        log.syslog = Some(pos);
                    }
                    syslog_here.get_or_insert(pos);
                }
                None => {}
            }
        }
    }

    // ---- Server ----

    fn server(&mut self, stmt: &Stmt, pos: Pos) -> Option<ServerConfig> {
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
        let mut dcs: Vec<(DcsConfig, Pos)> = Vec::new();
        let mut dcs_statements = 0usize;
        for s in &block.stmts {
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
            dcs: dcs.into_iter().map(|(d, _)| d).collect(),
            pos,
        })
    }

    /// The original's grammar accepted `LNNI;` and `MARS;` alone in a Server block (a yacc
    /// precedence slip) and ignored them: so do we, with a warning.
    fn stray_protocol_name(&mut self, stmt: &Stmt) -> bool {
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

    fn protocol(&mut self, tok: &Token) -> Option<Protocol> {
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

    fn atmarp_format(&mut self, tok: &Token) -> Option<AtmarpLayout> {
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

    fn ifname(&mut self, tok: &Token) -> Option<String> {
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

    // ---- DCS ----

    /// A DCS and the position of its ID value.
    fn dcs(&mut self, stmt: &Stmt, pos: Pos) -> Option<(DcsConfig, Pos)> {
        let (_, block) = self.block(stmt, "DCS", 0, "");
        let block = block?;
        let mut out = DcsConfig::new(Host::Name(String::new()));
        out.pos = pos;
        let mut id: Slot<(Host, Pos)> = Slot::default();
        let mut atm: Slot<()> = Slot::default();
        let mut address: Slot<()> = Slot::default();
        let mut port: Slot<()> = Slot::default();
        let mut auth: Slot<()> = Slot::default();
        let mut timers: Slot<()> = Slot::default();
        let mut auth_failure: Slot<()> = Slot::default();
        let mut replay: Slot<()> = Slot::default();
        let mut max_dead: Slot<()> = Slot::default();
        let mut max_queue: Slot<()> = Slot::default();
        let mut numbers: Vec<Slot<()>> = DCS_NUMBERS.iter().map(|_| Slot::default()).collect();
        for s in &block.stmts {
            let Some((kw, kpos)) = self.keyword(s, DCS, "in a DCS block") else {
                continue;
            };
            match kw {
                "ATMaddr" => {
                    if atm.claim(kw, kpos, &mut self.d)
                        && let Some(args) = self.values(s, kw, 1, 2, "an ATM address")
                    {
                        out.atm_addr = self.atm_address(args);
                    }
                }
                "ID" => {
                    if id.claim(kw, kpos, &mut self.d) {
                        id.value = self
                            .value(s, kw, "a host")
                            .and_then(|t| self.host(t, "invalid DCS ID").map(|h| (h, t.pos)));
                    }
                }
                "Address" => {
                    if address.claim(kw, kpos, &mut self.d) {
                        out.address = self
                            .value(s, kw, "a host")
                            .and_then(|t| self.host(t, "invalid DCS address"));
                    }
                }
                "Port" => {
                    if port.claim(kw, kpos, &mut self.d)
                        && let Some(p) = self
                            .value(s, kw, "a port number")
                            .and_then(|t| self.number_u16(t, 1, u16::MAX, "invalid port"))
                    {
                        out.port = p;
                    }
                }
                "Auth" => {
                    if auth.claim(kw, kpos, &mut self.d) {
                        out.auth = self.auth(s, kpos);
                    }
                }
                "MaxDeadInterval" => {
                    if max_dead.claim(kw, kpos, &mut self.d)
                        && let Some(n) = self.value(s, kw, "a number of seconds").and_then(|t| {
                            self.number(t, 1, u64::from(u16::MAX), "invalid maximum dead interval")
                        })
                    {
                        out.max_dead_interval = u32::try_from(n).ok();
                    }
                }
                "MaxReXmitQueue" => {
                    if max_queue.claim(kw, kpos, &mut self.d)
                        && let Some(n) = self.value(s, kw, "a number of records").and_then(|t| {
                            self.number(
                                t,
                                1,
                                u64::from(MAX_MAX_REXMIT_QUEUE),
                                "invalid retransmit queue maximum",
                            )
                        })
                    {
                        out.max_rexmit_queue = u32::try_from(n).unwrap_or(MAX_MAX_REXMIT_QUEUE);
                    }
                }
                "AuthFailure" => {
                    if auth_failure.claim(kw, kpos, &mut self.d)
                        && let Some(t) = self.value(s, kw, "discard or abnormal")
                    {
                        match t.text() {
                            Some(w) if w.eq_ignore_ascii_case("discard") => {
                                out.auth_failure_abnormal = false;
                            }
                            Some(w) if w.eq_ignore_ascii_case("abnormal") => {
                                out.auth_failure_abnormal = true;
                            }
                            _ => self.error(
                                t.pos,
                                "invalid AuthFailure value; expected discard or abnormal"
                                    .to_owned(),
                            ),
                        }
                    }
                }
                "Replay" => {
                    if replay.claim(kw, kpos, &mut self.d)
                        && let Some(t) = self.value(s, kw, "on, off or require")
                    {
                        match t.text() {
                            Some(w) if w.eq_ignore_ascii_case("on") => {
                                out.replay = ReplayMode::On;
                            }
                            Some(w) if w.eq_ignore_ascii_case("off") => {
                                out.replay = ReplayMode::Off;
                            }
                            Some(w) if w.eq_ignore_ascii_case("require") => {
                                out.replay = ReplayMode::Require;
                            }
                            _ => self.error(
                                t.pos,
                                "invalid Replay value; expected on, off or require".to_owned(),
                            ),
                        }
                    }
                }
                "Timers" => {
                    if timers.claim(kw, kpos, &mut self.d)
                        && let Some(t) = self.value(s, kw, "adaptive or rfc")
                    {
                        match t.text() {
                            Some(w) if w.eq_ignore_ascii_case("adaptive") => out.rfc_timers = false,
                            Some(w) if w.eq_ignore_ascii_case("rfc") => out.rfc_timers = true,
                            _ => self.error(
                                t.pos,
                                "invalid Timers value; expected adaptive or rfc".to_owned(),
                            ),
                        }
                    }
                }
                _ => {
                    let Some(i) = DCS_NUMBERS.iter().position(|(k, _, _)| *k == kw) else {
                        continue;
                    };
                    let (k, msg, field) = DCS_NUMBERS[i];
                    if numbers[i].claim(k, kpos, &mut self.d)
                        && let Some(n) = self
                            .value(s, k, "a number")
                            .and_then(|t| self.number_u16(t, MIN_DCS_VALUE, MAX_DCS_VALUE, msg))
                    {
                        *field(&mut out) = n;
                    }
                }
            }
        }
        if !id.given() {
            self.error(pos, "DCS ID not set".to_owned());
        }
        let (host, id_pos) = id.value?;
        out.id = host;
        Some((out, id_pos))
    }

    fn atm_address(&mut self, args: &[Token]) -> Option<AtmAddress> {
        let addr = args.first()?;
        let sub = args.get(1);
        let text = addr.text()?;
        let sub_text = match sub {
            Some(t) => Some(t.text()?),
            None => None,
        };
        match AtmAddress::parse(text, sub_text) {
            Ok(a) => Some(a),
            Err(e) => {
                let at = match (&e, sub) {
                    (AtmAddressError::Subaddress { .. }, Some(t)) => t.pos,
                    _ => addr.pos,
                };
                self.error(at, e.to_string());
                None
            }
        }
    }

    // ---- Auth ----

    fn auth(&mut self, stmt: &Stmt, pos: Pos) -> Option<AuthConfig> {
        let (_, block) = self.block(stmt, "Auth", 0, "");
        let block = block?;
        let mut send: Slot<u32> = Slot::default();
        let mut recv: Slot<u32> = Slot::default();
        let mut algorithm: Slot<AuthAlgorithm> = Slot::default();
        let mut key: Slot<(Vec<u8>, Option<PathBuf>, Pos)> = Slot::default();
        for s in &block.stmts {
            let Some((kw, kpos)) = self.keyword(s, AUTH, "in an Auth block") else {
                continue;
            };
            match kw {
                "SPI" | "SendSPI" | "RecvSPI" => {
                    let to_send = kw != "RecvSPI" && send.claim(kw, kpos, &mut self.d);
                    let to_recv = kw != "SendSPI" && recv.claim(kw, kpos, &mut self.d);
                    if !(to_send || to_recv) {
                        continue;
                    }
                    let spi = self
                        .value(s, kw, "an SPI")
                        .and_then(|t| self.number(t, 1, u32::MAX.into(), "invalid SPI"))
                        .and_then(|n| u32::try_from(n).ok());
                    if to_send {
                        send.value = spi;
                    }
                    if to_recv {
                        recv.value = spi;
                    }
                }
                "Algorithm" => {
                    if algorithm.claim(kw, kpos, &mut self.d) {
                        algorithm.value = self
                            .value(s, kw, "an algorithm")
                            .and_then(|t| self.algorithm(t));
                    }
                }
                "Key" => {
                    if key.claim(kw, kpos, &mut self.d) {
                        key.value = self
                            .value(s, kw, "a key")
                            .and_then(|t| self.key(t).map(|k| (k, None, t.pos)));
                    }
                }
                _ => {
                    if key.claim(kw, kpos, &mut self.d) {
                        key.value = self.value(s, kw, "a file name").and_then(|t| {
                            let path = PathBuf::from(self.nonempty(t, "key file name")?);
                            let k = self.key_file(t, &path)?;
                            Some((k, Some(path), t.pos))
                        });
                    }
                }
            }
        }
        if !send.given() {
            self.error(pos, "SendSPI (or SPI) missing in Auth block".to_owned());
        }
        if !recv.given() {
            self.error(pos, "RecvSPI (or SPI) missing in Auth block".to_owned());
        }
        if !key.given() {
            self.error(pos, "Key (or KeyFile) missing in Auth block".to_owned());
        }
        let algorithm = algorithm.value.unwrap_or(AuthAlgorithm::HmacMd5);
        let (key, key_file, key_pos) = key.value?;
        if key.len() < algorithm.mac_len() {
            self.warn(
                key_pos,
                format!(
                    "the key is {} bytes, shorter than the {} bytes RFC 2104 recommends for {}",
                    key.len(),
                    algorithm.mac_len(),
                    algorithm
                ),
            );
        }
        Some(AuthConfig {
            send_spi: send.value?,
            recv_spi: recv.value?,
            algorithm,
            key: Secret::new(key),
            key_file,
        })
    }

    fn algorithm(&mut self, tok: &Token) -> Option<AuthAlgorithm> {
        let text = tok.text()?;
        let found = AuthAlgorithm::from_name(text);
        if found.is_none() {
            self.error(
                tok.pos,
                format!(
                    "invalid authentication algorithm \"{}\"; expected {}",
                    escape(text),
                    one_of(&[
                        AuthAlgorithm::HmacMd5.name(),
                        AuthAlgorithm::HmacSha256.name()
                    ])
                ),
            );
        }
        found
    }

    /// `Key 0x…` or `Key "…"`.
    fn key(&mut self, tok: &Token) -> Option<Vec<u8>> {
        let result = match &tok.kind {
            Kind::Str(s) if s.is_empty() => Err("empty key".to_owned()),
            Kind::Str(s) => Ok(s.as_bytes().to_vec()),
            Kind::Word(w) if w.starts_with("0x") || w.starts_with("0X") => {
                parse_hex(w).map_err(|why| format!("invalid key: {why}"))
            }
            Kind::Word(_) => Err(
                "invalid key: write hex digits after 0x, or a string in double quotes".to_owned(),
            ),
            _ => return None,
        };
        result.map_err(|msg| self.error(tok.pos, msg)).ok()
    }

    /// Read a `KeyFile`: its contents without surrounding white space, hex if they start with
    /// `0x`, else the bytes themselves.
    fn key_file(&mut self, tok: &Token, path: &Path) -> Option<Vec<u8>> {
        let full = if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.base.join(path)
        };
        let shown = escape(&path.display().to_string());
        let bytes = match super::bounded::read_bounded(&full, super::MAX_FILE_LEN) {
            Ok(b) => b,
            Err(e) => {
                self.error(tok.pos, format!("can't read key file \"{shown}\": {e}"));
                return None;
            }
        };
        let trimmed = bytes.trim_ascii();
        let result = if trimmed.is_empty() {
            Err(format!("key file \"{shown}\" is empty"))
        } else if trimmed.starts_with(b"0x") || trimmed.starts_with(b"0X") {
            match std::str::from_utf8(trimmed) {
                Ok(text) => parse_hex(text)
                    .map_err(|why| format!("invalid key in key file \"{shown}\": {why}")),
                Err(_) => Err(format!(
                    "invalid key in key file \"{shown}\": not hex digits"
                )),
            }
        } else {
            Ok(trimmed.to_vec())
        };
        result.map_err(|msg| self.error(tok.pos, msg)).ok()
    }
}

#[derive(Default)]
struct LogState {
    file: Slot<PathBuf>,
    syslog: Option<Pos>,
}

/// Check the statement tree and build the configuration (meaningful only without errors).
pub fn build(stmts: &[Stmt], base: &Path) -> (Config, Diags) {
    let mut c = Checker {
        d: Diags::default(),
        base,
    };
    let config = c.config(stmts);
    (config, c.d)
}
