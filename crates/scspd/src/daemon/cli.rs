//! The command line: `scspd [-f <cfg-file>] [-d] [-T<options>] [-n] [-s <socket>]`, as the
//! original plus `-n`, `-s`, `--help` and `--version`.

use std::path::PathBuf;

use clap::Parser;

use crate::proto::DEFAULT_SOCKET;

/// The configuration file read when `-f` is not given.
pub const DEFAULT_CONFIG: &str = "/etc/scspd.conf";

/// SCSP (RFC 2334) daemon over UDP/IP: synchronises the caches of local servers with those of
/// their Directly Connected Servers.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "scspd",
    version,
    after_help = "Signals: SIGHUP reloads the configuration (a file with errors is refused and \
                  the old configuration kept), SIGINT writes a dump to <dump-dir>/scspd.<pid>.<NNN>.out, \
                  SIGTERM stops the daemon.\n\
                  Trace letters (-T): c CA FSM, h Hello FSM, i client-interface FSM, C CA/CSUS/CSU \
                  messages, H Hello messages, I client-interface messages. The trace goes to \
                  <dump-dir>/scspd.<pid>.trace, or to standard output with -d."
)]
pub struct Args {
    /// Configuration file.
    #[arg(short = 'f', value_name = "cfg-file", default_value = DEFAULT_CONFIG)]
    pub config: PathBuf,

    /// Debug mode: stay in the foreground and log to standard output (and trace there).
    #[arg(short = 'd')]
    pub debug: bool,

    /// Trace events and messages: one or more of the letters c h i C H I (e.g. -Tch).
    #[arg(short = 'T', value_name = "options")]
    pub trace: Vec<String>,

    /// Check the configuration file (syntax, names, interfaces, addresses) and exit: status 1
    /// and every error as file:line:col if there is any, status 0 otherwise.
    #[arg(short = 'n')]
    pub check: bool,

    /// With -n: check syntax and meaning only, with no name lookups and no network interface
    /// checks (for a file written for another host).
    #[arg(long, requires = "check")]
    pub offline: bool,

    /// The local client socket (UNIX stream socket, mode 0660).
    #[arg(short = 's', long = "socket", value_name = "path", default_value = DEFAULT_SOCKET)]
    pub socket: PathBuf,

    /// The private directory of dumps and the trace (created with mode 0700; refused if it is
    /// open to group or others or owned by another user); at most 16 dumps are kept in it.
    /// Default: /tmp/scspd-<uid>.
    #[arg(long = "dump-dir", value_name = "dir")]
    pub dump_dir: Option<PathBuf>,

    /// Close a client connection attached to no server after this many seconds without a
    /// request (default 300); a new connection has at most 10 s (or this, if less) to send its
    /// hello.
    #[arg(long = "client-idle-timeout", value_name = "secs", value_parser = positive_secs)]
    pub client_idle_timeout: Option<f64>,

    /// The client socket's mode, in octal (default 660).
    #[arg(long = "socket-mode", value_name = "octal", default_value = "660", value_parser = octal_mode)]
    pub socket_mode: u32,

    /// The client socket's group: a name from /etc/group or a number (as bird -g).
    #[arg(short = 'g', long = "socket-group", value_name = "group", value_parser = group_id)]
    pub socket_group: Option<u32>,

    /// A second client socket, read-only (as `birdc -r`): monitoring agents may show servers,
    /// DCSs, caches, status, metrics and the dump, and watch; any other request is refused.
    #[arg(long = "ro-socket", value_name = "path")]
    pub ro_socket: Option<PathBuf>,

    /// The read-only socket's mode, in octal (default 660; its group is that of -g).
    #[arg(long = "ro-socket-mode", value_name = "octal", default_value = "660", value_parser = octal_mode)]
    pub ro_socket_mode: u32,

    /// Where servers keep their saved state (their caches and reserved sequence numbers, one
    /// file per server), or `none`: nowhere (a restarted server starts empty). Overrides the
    /// configuration's StateDir statement. Default: /var/lib/scspd.
    #[arg(long = "state-dir", value_name = "dir|none")]
    pub state_dir: Option<PathBuf>,

    /// Internal: this process is the detached daemon started by its parent, which waits on
    /// standard output for the word "ready" (or error lines).
    #[arg(long = "detached-child", hide = true)]
    pub detached_child: bool,
}

fn octal_mode(s: &str) -> Result<u32, String> {
    match u32::from_str_radix(s, 8) {
        Ok(m) if m <= 0o777 => Ok(m),
        _ => Err(format!("{s}: expected an octal mode, 0 to 777")),
    }
}

/// A group's ID: a number, or a name looked up in /etc/group (read with a size limit).
pub fn group_id(s: &str) -> Result<u32, String> {
    if let Ok(n) = s.parse::<u32>() {
        return Ok(n);
    }
    let bytes = crate::config::read_bounded(std::path::Path::new("/etc/group"), 4 << 20)
        .map_err(|e| format!("can't read /etc/group: {e}"))?;
    String::from_utf8_lossy(&bytes)
        .lines()
        .find_map(|l| {
            let mut f = l.split(':');
            (f.next() == Some(s)).then(|| f.nth(1)?.parse().ok())?
        })
        .ok_or_else(|| format!("no group {s} in /etc/group"))
}

fn positive_secs(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v <= 1e6 => Ok(v),
        _ => Err(format!(
            "{s}: expected seconds, more than 0 and at most 1000000"
        )),
    }
}

/// What `-T` asks to trace.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TraceFlags {
    /// `c`: Cache Alignment FSM transitions.
    pub ca_fsm: bool,
    /// `h`: Hello FSM transitions.
    pub hello_fsm: bool,
    /// `i`: client-interface events (connections, attach, detach).
    pub client_fsm: bool,
    /// `C`: CA, CSUS, CSU Request and CSU Reply messages.
    pub ca_msgs: bool,
    /// `H`: Hello messages.
    pub hello_msgs: bool,
    /// `I`: client-interface messages.
    pub client_msgs: bool,
}

impl TraceFlags {
    /// Parse the letters of every `-T`; returns the flags and the letters not understood.
    pub fn parse<'a>(args: impl IntoIterator<Item = &'a str>) -> (TraceFlags, Vec<char>) {
        let mut f = TraceFlags::default();
        let mut unknown = Vec::new();
        for c in args.into_iter().flat_map(str::chars) {
            match c {
                'c' => f.ca_fsm = true,
                'h' => f.hello_fsm = true,
                'i' => f.client_fsm = true,
                'C' => f.ca_msgs = true,
                'H' => f.hello_msgs = true,
                'I' => f.client_msgs = true,
                other => unknown.push(other),
            }
        }
        (f, unknown)
    }

    /// The letters, in the order `c h i C H I`.
    pub fn letters(self) -> String {
        [
            (self.ca_fsm, 'c'),
            (self.hello_fsm, 'h'),
            (self.client_fsm, 'i'),
            (self.ca_msgs, 'C'),
            (self.hello_msgs, 'H'),
            (self.client_msgs, 'I'),
        ]
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, c)| *c)
        .collect()
    }

    /// Whether anything is traced.
    pub fn any(self) -> bool {
        self != TraceFlags::default()
    }

    /// Whether the core must report every message sent and received.
    pub fn messages(self) -> bool {
        self.ca_msgs || self.hello_msgs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attached_trace_letters_and_defaults() {
        let a = Args::try_parse_from(["scspd", "-d", "-Tch", "-f", "x.conf"]).unwrap();
        assert!(a.debug);
        assert_eq!(a.trace, vec!["ch".to_owned()]);
        assert_eq!(a.config, PathBuf::from("x.conf"));
        assert_eq!(a.socket, PathBuf::from(DEFAULT_SOCKET));
        let a = Args::try_parse_from(["scspd", "-dTHI", "--socket", "/tmp/s"]).unwrap();
        assert!(a.debug);
        assert_eq!(a.trace, vec!["HI".to_owned()]);
        assert_eq!(a.socket, PathBuf::from("/tmp/s"));
        let a = Args::try_parse_from(["scspd"]).unwrap();
        assert_eq!(a.config, PathBuf::from(DEFAULT_CONFIG));
        assert!(!a.debug && !a.check && a.trace.is_empty());
        assert!(Args::try_parse_from(["scspd", "-x"]).is_err());
    }

    #[test]
    fn trace_letters() {
        let (f, unknown) = TraceFlags::parse(["chx", "IZ"]);
        assert!(f.ca_fsm && f.hello_fsm && f.client_msgs);
        assert!(!f.client_fsm && !f.ca_msgs && !f.hello_msgs);
        assert_eq!(unknown, vec!['x', 'Z']);
        assert!(!TraceFlags::default().any());
    }
}
