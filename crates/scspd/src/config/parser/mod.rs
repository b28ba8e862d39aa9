//! The meaning of each statement: keywords, values, ranges, required and repeated statements.

mod auth;
mod dcs;
mod server;

use scsp_core::ReplayMode;
use std::path::{Path, PathBuf};

use super::atm::{AtmAddressError, parse_hex};
use super::lexer::{Kind, Token, escape};
use super::syntax::{Block, Diags, Stmt};
use super::*;

/// Keywords at the top level.
const TOP: &[&str] = &["Server", "Log", "Metrics", "StateDir"];
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
    "MaxCacheEntries",
    "MaxCacheBytes",
    "MaxCSARequests",
    "StrayDeletionHold",
    "Reconcile",
    "Notify",
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
const LOG: &[&str] = &["File", "Syslog", "Level", "Format"];
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

    /// `stmts` with every statement that swallowed the next one for want of a `;` split in two:
    /// when a value of a statement is, on a later line than the statement's keyword, a keyword
    /// of the same block (`table`), the `;` is taken as missing before it (an error says so) and
    /// the rest read as a statement of its own, so that one missing `;` neither hides the next
    /// statement nor the errors after it.
    fn split_missing_semicolons(&mut self, stmts: &[Stmt], table: &[&str]) -> Vec<Stmt> {
        let mut out = Vec::with_capacity(stmts.len());
        for stmt in stmts {
            let mut cur = stmt.clone();
            while let Some((_, kpos)) = &cur.keyword {
                let line = kpos.line;
                let at = cur.args.iter().enumerate().position(|(i, t)| {
                    i > 0
                        && t.pos.line > line
                        && matches!(&t.kind, Kind::Word(w)
                            if table.iter().any(|k| k.eq_ignore_ascii_case(w)))
                });
                let Some(at) = at else { break };
                let rest = cur.args.split_off(at);
                let mut it = rest.into_iter();
                let Some(first) = it.next() else { break };
                let Kind::Word(word) = first.kind.clone() else {
                    break;
                };
                let prev = cur.args.last().map_or(*kpos, |t| t.pos);
                self.error(
                    first.pos,
                    format!(
                        "missing ';' at the end of line {}: \"{}\" starts a new statement",
                        prev.line,
                        escape(&word)
                    ),
                );
                let next = Stmt {
                    keyword: Some((word, first.pos)),
                    args: it.collect(),
                    after_args: cur.after_args.clone(),
                    block: cur.block.take(),
                };
                cur.after_args = Token {
                    kind: Kind::Semi,
                    pos: first.pos,
                };
                out.push(cur);
                cur = next;
            }
            out.push(cur);
        }
        out
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
        let mut state_dir: Slot<StateDir> = Slot::default();
        let stmts = self.split_missing_semicolons(stmts, TOP);
        for stmt in &stmts {
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
                Some(("StateDir", pos)) => self.state_dir(stmt, pos, &mut state_dir),
                Some((_, _)) => self.log(stmt, &mut log),
                None => {}
            }
        }
        Config {
            servers,
            log: log.finish(),
            metrics: metrics.value,
            state_dir: state_dir.value,
        }
    }

    /// `StateDir "<directory>";` or `StateDir none;`: where servers keep their saved state (a
    /// relative path is taken from the configuration's directory).
    fn state_dir(&mut self, stmt: &Stmt, pos: Pos, slot: &mut Slot<StateDir>) {
        if let Some((first, _)) = slot.first {
            self.error(
                pos,
                format!("StateDir given twice (the first is at {first})"),
            );
            return;
        }
        slot.first = Some((pos, "StateDir"));
        let Some(tok) = self.value(stmt, "StateDir", "a directory, or none") else {
            return;
        };
        let Some(text) = self.nonempty(tok, "state directory") else {
            return;
        };
        slot.value = Some(if text.eq_ignore_ascii_case("none") {
            StateDir::None
        } else {
            StateDir::Dir(self.base.join(text))
        });
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
        for s in &self.split_missing_semicolons(&block.stmts, LOG) {
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
                        // Relative: from the configuration's directory (scspd changes its
                        // working directory to / when it detaches).
                        log.file.value = self
                            .nonempty(tok, "log file name")
                            .map(|f| self.base.join(f));
                    }
                }
                Some(("Level", pos)) => self.log_level(s, pos, log),
                Some(("Format", pos)) => self.log_format(s, pos, log),
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

    /// `Level debug|info|notice|warn|error;` (once, over every Log block).
    fn log_level(&mut self, s: &Stmt, pos: Pos, log: &mut LogState) {
        if !log.level.claim("Level", pos, &mut self.d) {
            return;
        }
        let Some(text) = self.value(s, "Level", "a level").and_then(Token::text) else {
            return;
        };
        match LogLevel::ALL.iter().find(|l| {
            l.name().eq_ignore_ascii_case(text)
                || (text.eq_ignore_ascii_case("warning") && **l == LogLevel::Warn)
        }) {
            Some(l) => log.level.value = Some(*l),
            None => {
                let names: Vec<&str> = LogLevel::ALL.iter().map(|l| l.name()).collect();
                self.error(
                    pos,
                    format!(
                        "Level \"{}\": expected one of {}",
                        escape(text),
                        names.join(", ")
                    ),
                );
            }
        }
    }

    /// `Format text|json;` (once, over every Log block).
    fn log_format(&mut self, s: &Stmt, pos: Pos, log: &mut LogState) {
        if !log.format.claim("Format", pos, &mut self.d) {
            return;
        }
        let Some(text) = self
            .value(s, "Format", "text or json")
            .and_then(Token::text)
        else {
            return;
        };
        if text.eq_ignore_ascii_case("text") {
            log.format.value = Some(LogFormat::Text);
        } else if text.eq_ignore_ascii_case("json") {
            log.format.value = Some(LogFormat::Json);
        } else {
            self.error(
                pos,
                format!("Format \"{}\": expected text or json", escape(text)),
            );
        }
    }
}

#[derive(Default)]
struct LogState {
    file: Slot<PathBuf>,
    syslog: Option<Pos>,
    level: Slot<LogLevel>,
    format: Slot<LogFormat>,
}

impl LogState {
    fn finish(self) -> LogConfig {
        let file = self.file.value;
        LogConfig {
            syslog: self.syslog.is_some() || file.is_none(),
            file,
            level: self.level.value.unwrap_or(LogLevel::Info),
            format: self.format.value.unwrap_or(LogFormat::Text),
        }
    }
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
