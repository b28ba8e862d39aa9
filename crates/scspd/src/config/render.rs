//! Writing a configuration back as text that [`parse`](super::parse) reads as the same
//! configuration (for `scspd -n` and dumps). Every setting is written, defaults included.

use std::borrow::Cow;
use std::fmt::{self, Display, Formatter, Write as _};
use std::path::Path;

use super::lexer::{MAX_TOKEN_LEN, escape, is_word_char};
use super::{
    AtmarpLayout, AuthConfig, Config, DcsConfig, LogFormat, LogLevel, Protocol, ServerConfig,
    StateDir,
};

/// `s` as a bare word when the lexer reads it back as one, else as a quoted string.
fn value(s: &str) -> Cow<'_, str> {
    let bare = !s.is_empty()
        && s.chars().count() <= MAX_TOKEN_LEN
        && s.chars().all(is_word_char)
        && !s.starts_with("//")
        && !s.starts_with("/*");
    if bare {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(format!("\"{}\"", escape(s)))
    }
}

fn path_value(p: &Path) -> String {
    value(&p.to_string_lossy()).into_owned()
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(2 + 2 * bytes.len());
    s.push_str("0x");
    for b in bytes {
        // Writing to a String cannot fail.
        let _ = write!(s, "{b:02x}");
    }
    s
}

fn write_auth(f: &mut Formatter<'_>, a: &AuthConfig, redact: bool) -> fmt::Result {
    let i = "            ";
    writeln!(f, "        Auth {{")?;
    if a.send_spi == a.recv_spi {
        writeln!(f, "{i}SPI {};", a.send_spi)?;
    } else {
        writeln!(f, "{i}SendSPI {};", a.send_spi)?;
        writeln!(f, "{i}RecvSPI {};", a.recv_spi)?;
    }
    writeln!(f, "{i}Algorithm {};", a.algorithm)?;
    match &a.key_file {
        Some(path) => writeln!(f, "{i}KeyFile {};", path_value(path))?,
        None if redact => writeln!(f, "{i}Key \"(redacted)\";")?,
        None => writeln!(f, "{i}Key {};", hex(a.key.as_bytes()))?,
    }
    writeln!(f, "        }};")
}

fn write_dcs(f: &mut Formatter<'_>, d: &DcsConfig, redact: bool) -> fmt::Result {
    let i = "        ";
    writeln!(f, "    DCS {{")?;
    writeln!(f, "{i}ID {};", value(&d.id.to_string()))?;
    if let Some(a) = &d.atm_addr {
        writeln!(f, "{i}ATMaddr {a};")?;
    }
    if let Some(a) = &d.address {
        writeln!(f, "{i}Address {};", value(&a.to_string()))?;
    }
    writeln!(f, "{i}Port {};", d.port)?;
    writeln!(f, "{i}CAReXmitInt {};", d.ca_rexmit_int)?;
    writeln!(f, "{i}CSUSReXmitInt {};", d.csus_rexmit_int)?;
    writeln!(f, "{i}CSUReXmitInt {};", d.csu_rexmit_int)?;
    writeln!(f, "{i}CSUReXmitMax {};", d.csu_rexmit_max)?;
    writeln!(f, "{i}HelloDead {};", d.hello_dead)?;
    writeln!(f, "{i}HelloInt {};", d.hello_int)?;
    writeln!(f, "{i}Hops {};", d.hops)?;
    if d.rfc_timers {
        writeln!(f, "{i}Timers rfc;")?;
    }
    if d.auth_failure_abnormal {
        writeln!(f, "{i}AuthFailure abnormal;")?;
    }
    match d.replay {
        scsp_core::ReplayMode::On => {}
        scsp_core::ReplayMode::Off => writeln!(f, "{i}Replay off;")?,
        scsp_core::ReplayMode::Require => writeln!(f, "{i}Replay require;")?,
    }
    if let Some(m) = d.max_dead_interval {
        writeln!(f, "{i}MaxDeadInterval {m};")?;
    }
    if d.max_rexmit_queue != super::DEFAULT_MAX_REXMIT_QUEUE {
        writeln!(f, "{i}MaxReXmitQueue {};", d.max_rexmit_queue)?;
    }
    if let Some(a) = &d.auth {
        write_auth(f, a, redact)?;
    }
    writeln!(f, "    }};")
}

fn write_server(f: &mut Formatter<'_>, s: &ServerConfig, redact: bool) -> fmt::Result {
    let i = "    ";
    writeln!(f, "Server {} {{", value(&s.name))?;
    writeln!(f, "{i}Protocol {};", s.protocol)?;
    if let Some(n) = &s.netif {
        writeln!(f, "{i}Netif {};", value(n))?;
    }
    writeln!(f, "{i}ServerGroupID {};", s.sgid)?;
    writeln!(f, "{i}FamilyID {};", s.family_id)?;
    if let Some(id) = &s.id {
        writeln!(f, "{i}ID {};", value(&id.to_string()))?;
    }
    if let Some(a) = &s.address {
        writeln!(f, "{i}Address {};", value(&a.to_string()))?;
    }
    writeln!(f, "{i}Port {};", s.port)?;
    writeln!(f, "{i}MTU {};", s.mtu)?;
    // Written for every ATMARP server (defaults included); for another protocol only when set
    // (it is ignored there, with a warning).
    if s.protocol.id == Protocol::ATMARP.id || s.atmarp_format != AtmarpLayout::default() {
        writeln!(
            f,
            "{i}ATMARPFormat {};",
            super::atmarp_format_name(s.atmarp_format)
        )?;
    }
    // Likewise for every MARS server, and for another only when not the default.
    if s.protocol.id == Protocol::MARS.id
        || s.mars_redirect_interval != super::DEFAULT_MARS_REDIRECT_INTERVAL
    {
        writeln!(f, "{i}MARSRedirectInterval {};", s.mars_redirect_interval)?;
    }
    match s.local_grace {
        Some(super::DEFAULT_LOCAL_GRACE) => {}
        Some(g) => writeln!(f, "{i}LocalGrace {g};")?,
        None => writeln!(f, "{i}LocalGrace never;")?,
    }
    if s.max_cache_entries != super::DEFAULT_MAX_CACHE_ENTRIES {
        writeln!(f, "{i}MaxCacheEntries {};", s.max_cache_entries)?;
    }
    if s.max_cache_bytes != super::DEFAULT_MAX_CACHE_BYTES {
        writeln!(f, "{i}MaxCacheBytes {};", s.max_cache_bytes)?;
    }
    if s.max_csa_requests != super::DEFAULT_MAX_CSA_REQUESTS {
        writeln!(f, "{i}MaxCSARequests {};", s.max_csa_requests)?;
    }
    if s.stray_deletion_hold != super::DEFAULT_STRAY_DELETION_HOLD {
        writeln!(f, "{i}StrayDeletionHold {};", s.stray_deletion_hold)?;
    }
    if s.reconcile {
        writeln!(f, "{i}Reconcile on;")?;
    }
    if let Some(n) = &s.notify {
        writeln!(f, "{i}Notify {} {};", path_value(&n.script), n.timeout_s)?;
    }
    for d in &s.dcs {
        write_dcs(f, d, redact)?;
    }
    writeln!(f, "}};")
}

fn write_config(f: &mut Formatter<'_>, c: &Config, redact: bool) -> fmt::Result {
    writeln!(f, "Log {{")?;
    if let Some(file) = &c.log.file {
        writeln!(f, "    File {};", path_value(file))?;
    }
    if c.log.syslog {
        writeln!(f, "    Syslog;")?;
    }
    if c.log.level != LogLevel::Info {
        writeln!(f, "    Level {};", c.log.level.name())?;
    }
    if c.log.format == LogFormat::Json {
        writeln!(f, "    Format json;")?;
    }
    writeln!(f, "}};")?;
    if let Some(a) = &c.metrics {
        writeln!(f, "Metrics \"{a}\";")?;
    }
    match &c.state_dir {
        Some(StateDir::None) => writeln!(f, "StateDir none;")?,
        Some(StateDir::Dir(d)) => writeln!(f, "StateDir {};", path_value(d))?,
        None => {}
    }
    for s in &c.servers {
        writeln!(f)?;
        write_server(f, s, redact)?;
    }
    Ok(())
}

/// The configuration as text that parses back to an equal configuration (keys from `Key`
/// statements are written in hex; see [`Config::redacted`] to hide them).
impl Display for Config {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write_config(f, self, false)
    }
}

/// Displays a configuration with inline keys hidden; see [`Config::redacted`].
#[derive(Debug, Clone, Copy)]
pub struct Redacted<'a>(&'a Config);

impl Display for Redacted<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write_config(f, self.0, true)
    }
}

impl Config {
    /// Display as [`Config`]'s `Display` does, but with each `Key` written as `"(redacted)"`
    /// (`KeyFile`s are written as they are: they name the file, not the key).
    pub fn redacted(&self) -> Redacted<'_> {
        Redacted(self)
    }
}
