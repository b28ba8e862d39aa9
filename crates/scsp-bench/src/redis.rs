//! The comparison: a Redis master holding N keys with 40-byte values, and a fresh replica whose
//! full sync is timed, both `redis-server` processes on loopback with no persistence and
//! `repl-diskless-sync-delay 0`. A minimal RESP client over `TcpStream` drives them.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::Error;
use crate::daemon::{TempDir, free_tcp_port, wait_timed};

/// How to get Redis when it is missing.
pub const INSTALL_HINT: &str = "redis-server is not installed; on Debian or Ubuntu: \
     `sudo apt-get update && sudo apt-get install -y redis-server` (or set REDIS_SERVER to its \
     path), then run again";

/// `redis-server`: `$REDIS_SERVER`, else the first on `PATH` (or /usr/bin, /usr/sbin).
pub fn find_redis() -> Result<PathBuf, Error> {
    if let Some(p) = std::env::var_os("REDIS_SERVER") {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(Error::Setup(format!(
                "REDIS_SERVER={} does not exist; {INSTALL_HINT}",
                p.display()
            )))
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/usr/sbin")])
        .map(|d| d.join("redis-server"))
        .find(|p| p.is_file())
        .ok_or_else(|| Error::Setup(INSTALL_HINT.into()))
}

/// A RESP reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// `+OK`.
    Simple(String),
    /// `-ERR …`.
    Error(String),
    /// `:n`.
    Int(i64),
    /// `$n …` (None: null).
    Bulk(Option<Vec<u8>>),
    /// `*n …` (None: null).
    Array(Option<Vec<Reply>>),
}

/// A connection to a Redis server.
pub struct Resp {
    r: BufReader<TcpStream>,
}

impl Resp {
    /// Connect to 127.0.0.1:`port`.
    pub fn connect(port: u16) -> std::io::Result<Resp> {
        let s = TcpStream::connect(("127.0.0.1", port))?;
        s.set_nodelay(true)?;
        s.set_read_timeout(Some(Duration::from_secs(600)))?;
        Ok(Resp {
            r: BufReader::new(s),
        })
    }

    /// Send a command and read its reply.
    pub fn cmd(&mut self, args: &[&str]) -> Result<Reply, Error> {
        let mut out = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            out.extend_from_slice(a.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        let io = |e: std::io::Error| Error::Redis(e.to_string());
        self.r.get_mut().write_all(&out).map_err(io)?;
        self.read().map_err(io)
    }

    fn line(&mut self) -> std::io::Result<String> {
        let mut l = String::new();
        if self.r.read_line(&mut l)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        Ok(l.trim_end_matches(['\r', '\n']).to_owned())
    }

    fn read(&mut self) -> std::io::Result<Reply> {
        let l = self.line()?;
        let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, "bad RESP");
        let (t, rest) = l.split_at_checked(1).ok_or_else(bad)?;
        let n = || rest.parse::<i64>().map_err(|_| bad());
        Ok(match t {
            "+" => Reply::Simple(rest.to_owned()),
            "-" => Reply::Error(rest.to_owned()),
            ":" => Reply::Int(n()?),
            "$" => {
                let n = n()?;
                if n < 0 {
                    Reply::Bulk(None)
                } else {
                    let mut b = vec![0u8; n as usize + 2];
                    self.r.read_exact(&mut b)?;
                    b.truncate(n as usize);
                    Reply::Bulk(Some(b))
                }
            }
            "*" => {
                let n = n()?;
                if n < 0 {
                    Reply::Array(None)
                } else {
                    let mut v = Vec::with_capacity(n as usize);
                    for _ in 0..n {
                        v.push(self.read()?);
                    }
                    Reply::Array(Some(v))
                }
            }
            _ => return Err(bad()),
        })
    }

    /// `cmd`, with an error reply as `Err`.
    pub fn ok(&mut self, args: &[&str]) -> Result<Reply, Error> {
        match self.cmd(args)? {
            Reply::Error(e) => Err(Error::Redis(format!("{}: {e}", args.join(" ")))),
            r => Ok(r),
        }
    }

    /// `INFO <section>` as `key:value` pairs.
    pub fn info(&mut self, section: &str) -> Result<Vec<(String, String)>, Error> {
        match self.ok(&["INFO", section])? {
            Reply::Bulk(Some(b)) => Ok(String::from_utf8_lossy(&b)
                .lines()
                .filter_map(|l| l.split_once(':'))
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect()),
            r => Err(Error::Redis(format!("INFO: unexpected reply {r:?}"))),
        }
    }

    /// `DBSIZE`.
    pub fn dbsize(&mut self) -> Result<i64, Error> {
        match self.ok(&["DBSIZE"])? {
            Reply::Int(n) => Ok(n),
            r => Err(Error::Redis(format!("DBSIZE: unexpected reply {r:?}"))),
        }
    }
}

/// A `redis-server` child process, killed on drop.
struct Server {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Server {
    fn start(bin: &Path, dir: &Path, name: &str, extra: &[String]) -> Result<Server, Error> {
        let port = free_tcp_port()?;
        let sub = dir.join(name);
        std::fs::create_dir_all(&sub).map_err(|e| Error::Setup(e.to_string()))?;
        let log = sub.join("redis.log");
        let mut args: Vec<String> = [
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            &sub.to_string_lossy(),
            "--logfile",
            &log.to_string_lossy(),
            "--daemonize",
            "no",
            "--protected-mode",
            "no",
            "--enable-debug-command",
            "local",
            "--repl-diskless-sync",
            "yes",
            "--repl-diskless-sync-delay",
            "0",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend_from_slice(extra);
        let child = Command::new(bin)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| Error::Setup(format!("cannot start {}: {e}", bin.display())))?;
        Ok(Server { child, port, log })
    }

    fn connect(&mut self) -> Result<Resp, Error> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(c) = Resp::connect(self.port) {
                return Ok(c);
            }
            if let Ok(Some(st)) = self.child.try_wait() {
                return Err(Error::Redis(format!(
                    "redis-server exited ({st}); its log:\n{}",
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                )));
            }
            if Instant::now() > deadline {
                return Err(Error::Redis(
                    "redis-server did not answer within 10 s".into(),
                ));
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One Redis full sync.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SyncResult {
    /// Keys on the master.
    pub keys: u64,
    /// From starting the replica process to `master_link_status:up` with no sync in progress.
    pub seconds: f64,
    /// The replica's version line.
    pub version: String,
}

/// Populate a master with `n` keys of `value_len` bytes (`DEBUG POPULATE`), start a fresh
/// replica and time its full sync.
pub fn full_sync(n: u64, value_len: usize) -> Result<SyncResult, Error> {
    let bin = find_redis()?;
    let dir = TempDir::new("redis")?;
    let mut master = Server::start(&bin, dir.path(), "master", &[])?;
    let mut m = master.connect()?;
    m.ok(&[
        "DEBUG",
        "POPULATE",
        &n.to_string(),
        "key",
        &value_len.to_string(),
    ])?;
    let have = m.dbsize()?;
    if have as u64 != n {
        return Err(Error::Redis(format!(
            "the master holds {have} keys, not {n}"
        )));
    }
    let version = m
        .info("server")?
        .into_iter()
        .find(|(k, _)| k == "redis_version")
        .map(|(_, v)| v)
        .unwrap_or_default();
    let start = Instant::now();
    let mut replica = Server::start(
        &bin,
        dir.path(),
        "replica",
        &[
            "--replicaof".into(),
            "127.0.0.1".into(),
            master.port.to_string(),
        ],
    )?;
    let mut r = replica.connect()?;
    let mut done = false;
    // (Polled at the same pace as the scspd alignment.)
    wait_timed(
        "the Redis replica's full sync",
        Duration::from_secs(600),
        Duration::from_millis(1),
        || {
            let info = r.info("replication")?;
            let get = |k: &str| info.iter().find(|(x, _)| x == k).map(|(_, v)| v.as_str());
            done = get("master_link_status") == Some("up")
                && get("master_sync_in_progress") == Some("0");
            Ok(done)
        },
    )?;
    let seconds = start.elapsed().as_secs_f64();
    let got = r.dbsize()?;
    if got as u64 != n {
        return Err(Error::Redis(format!(
            "the replica holds {got} keys after its sync, not {n}"
        )));
    }
    drop(replica);
    drop(master);
    Ok(SyncResult {
        keys: n,
        seconds,
        version,
    })
}
