//! Helpers for the daemon tests: start `scspd -d` on a temporary configuration and socket, talk
//! to it with a minimal client built on `scspd::proto`, and kill it when dropped.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use scspd::proto::{
    ClientMsg, DaemonMsg, DcsView, EntryView, MAX_FRAME, Notify, ProtoError, ReplyResult, Request,
    Response, ServerView, VERSION,
};

/// The daemon under test.
pub const SCSPD: &str = env!("CARGO_BIN_EXE_scspd");

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A fresh directory under the system temporary directory, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!("scspd-test-{}-{n}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running `scspd -d`.
pub struct Daemon {
    pub name: String,
    pub child: Child,
    pub dir: TempDir,
    pub config: PathBuf,
    pub socket: PathBuf,
    pub log: PathBuf,
    /// The extra arguments it was started with (kept by `restart`).
    pub extra: Vec<String>,
    /// The command scspd runs under, if any (see [`Daemon::start_under`]; kept by `restart`).
    pub under: Vec<String>,
}

impl Daemon {
    /// Start `scspd -d -f <dir>/<name>.conf --socket <dir>/<name>.sock` with `config` as the
    /// file, standard output to `<dir>/<name>.log`; wait until the socket answers.
    pub fn start(name: &str, config: &str) -> Daemon {
        Self::start_with(name, config, &[])
    }

    /// Like [`Daemon::start`] with extra arguments.
    pub fn start_with(name: &str, config: &str, extra: &[&str]) -> Daemon {
        Self::start_under(name, config, extra, &[])
    }

    /// Like [`Daemon::start_with`], run by `under` (a command that ends by executing its
    /// arguments in the same process, such as `unshare --mount -- sh -c '…; exec "$@"' sh`), so
    /// that the child's PID is scspd's.
    pub fn start_under(name: &str, config: &str, extra: &[&str], under: &[&str]) -> Daemon {
        let dir = TempDir::new(name);
        let cfg = dir.path().join(format!("{name}.conf"));
        std::fs::write(&cfg, config).unwrap();
        let socket = dir.path().join(format!("{name}.sock"));
        let log = dir.path().join(format!("{name}.log"));
        let mut d = Daemon {
            name: name.to_owned(),
            child: spawn(&cfg, &socket, &log, extra, under),
            dir,
            config: cfg,
            socket,
            log,
            extra: extra.iter().map(|s| (*s).to_owned()).collect(),
            under: under.iter().map(|s| (*s).to_owned()).collect(),
        };
        d.wait_ready();
        d
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "scspd {} exited during start-up ({status}); log:\n{}",
                    self.name,
                    self.log_text()
                );
            }
            if let Ok(mut c) = Client::connect(&self.socket)
                && c.request(Request::ShowServers).is_ok()
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "scspd {} did not answer on {}; log:\n{}",
                self.name,
                self.socket.display(),
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kill it (SIGKILL) and start it again on the same files.
    pub fn restart(&mut self) {
        self.kill();
        let extra: Vec<&str> = self.extra.iter().map(String::as_str).collect();
        let under: Vec<&str> = self.under.iter().map(String::as_str).collect();
        self.child = spawn(&self.config, &self.socket, &self.log, &extra, &under);
        self.wait_ready();
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.pid().to_string())
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{sig} failed");
    }

    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn client(&self) -> Client {
        Client::connect(&self.socket).unwrap()
    }

    /// One request on a new connection; panics on a refusal.
    pub fn ok(&self, req: Request) -> Response {
        let r = self.client().request(req.clone());
        match r {
            Ok(r) => r,
            Err(e) => panic!("{}: {req:?} refused: {e:?}", self.name),
        }
    }

    pub fn request(&self, req: Request) -> Result<Response, ProtoError> {
        self.client().request(req)
    }

    pub fn add(&self, server: &str, key: &str, data: &str) -> u32 {
        match self.ok(Request::Add {
            server: server.into(),
            key: key.into(),
            data: data.into(),
        }) {
            Response::Added { seq } => seq,
            r => panic!("unexpected {r:?}"),
        }
    }

    /// The live entries of `server`, sorted by key then originator (a streamed reply comes in
    /// the cache's order).
    pub fn cache(&self, server: &str) -> Vec<EntryView> {
        match self.ok(Request::ShowCache {
            server: server.into(),
            query: Default::default(),
        }) {
            Response::Cache { mut entries, .. } => {
                entries.sort_by(|a, b| (&a.key, &a.originator).cmp(&(&b.key, &b.originator)));
                entries
            }
            r => panic!("unexpected {r:?}"),
        }
    }

    pub fn servers(&self) -> Vec<ServerView> {
        match self.ok(Request::ShowServers) {
            Response::Servers { servers } => servers,
            r => panic!("unexpected {r:?}"),
        }
    }

    pub fn dcs(&self, server: &str) -> Vec<DcsView> {
        match self.ok(Request::ShowDcs {
            server: Some(server.into()),
        }) {
            Response::Dcs { dcs } => dcs,
            r => panic!("unexpected {r:?}"),
        }
    }

    /// The DCS with this ID at `server`.
    pub fn dcs_by_id(&self, server: &str, id: &str) -> DcsView {
        self.dcs(server)
            .into_iter()
            .find(|d| d.id == id)
            .unwrap_or_else(|| panic!("{}: no DCS {id}", self.name))
    }

    pub fn dump(&self) -> String {
        match self.ok(Request::Dump) {
            Response::Dump { text, .. } => text,
            r => panic!("unexpected {r:?}"),
        }
    }

    /// Wait until `cond` holds (polling every 100 ms), or panic with `what` and the log.
    pub fn wait_until(&self, secs: u64, what: &str, cond: impl FnMut() -> bool) {
        self.wait_until_every(secs, Duration::from_millis(100), what, cond);
    }

    /// [`Daemon::wait_until`], polling every `poll`.
    pub fn wait_until_every(
        &self,
        secs: u64,
        poll: Duration,
        what: &str,
        mut cond: impl FnMut() -> bool,
    ) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while !cond() {
            assert!(
                Instant::now() < deadline,
                "{}: timed out waiting for {what}; log:\n{}",
                self.name,
                self.log_text()
            );
            std::thread::sleep(poll);
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill();
    }
}

fn spawn(cfg: &Path, socket: &Path, log: &Path, extra: &[&str], under: &[&str]) -> Child {
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    let err = out.try_clone().unwrap();
    let mut cmd = match under.split_first() {
        None => Command::new(SCSPD),
        Some((prog, args)) => {
            let mut c = Command::new(prog);
            c.args(args).arg(SCSPD);
            c
        }
    };
    if !extra.contains(&"--state-dir") {
        // Each daemon's saved state in its own directory (never /var/lib/scspd), kept across
        // `restart`.
        cmd.arg("--state-dir")
            .arg(cfg.parent().unwrap().join("state"));
    }
    cmd.arg("-d")
        .arg("-f")
        .arg(cfg)
        .arg("--socket")
        .arg(socket)
        .args(extra)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .unwrap()
}

/// Poll until `cond` holds or `secs` pass; returns whether it held.
pub fn eventually(secs: u64, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A minimal blocking client of the daemon's socket.
pub struct Client {
    pub stream: UnixStream,
    next_id: u64,
    /// Notifications received while waiting for replies.
    pub notes: Vec<Notify>,
}

impl Client {
    /// Connect and say Hello.
    pub fn connect(path: &Path) -> std::io::Result<Client> {
        Self::connect_version(path, VERSION)
    }

    /// Connect and say Hello for protocol `version`.
    pub fn connect_version(path: &Path, version: u32) -> std::io::Result<Client> {
        let stream = UnixStream::connect(path)?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        let mut c = Client {
            stream,
            next_id: 1,
            notes: Vec::new(),
        };
        c.send(&ClientMsg::Hello {
            version,
            client: "test".into(),
        })?;
        match c.recv()? {
            DaemonMsg::Welcome { .. } => Ok(c),
            m => Err(std::io::Error::other(format!("no welcome: {m:?}"))),
        }
    }

    pub fn send(&mut self, m: &ClientMsg) -> std::io::Result<()> {
        let body = serde_json::to_vec(m).unwrap();
        self.send_raw(&frame(&body))
    }

    pub fn send_raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes)
    }

    pub fn recv(&mut self) -> std::io::Result<DaemonMsg> {
        let mut h = [0u8; 4];
        self.stream.read_exact(&mut h)?;
        let n = u32::from_be_bytes(h) as usize;
        assert!(n > 0 && n <= MAX_FRAME, "bad frame length {n}");
        let mut b = vec![0u8; n];
        self.stream.read_exact(&mut b)?;
        serde_json::from_slice(&b).map_err(std::io::Error::other)
    }

    /// Send a request and wait for its reply (notifications on the way are kept).
    pub fn request(&mut self, req: Request) -> Result<Response, ProtoError> {
        let id = self.next_id;
        self.next_id += 1;
        let io = |e: std::io::Error| ProtoError {
            code: scspd::proto::ErrorCode::BadFrame,
            message: format!("i/o: {e}"),
        };
        self.send(&ClientMsg::Request { id, req }).map_err(io)?;
        // A streamed reply (`show_cache`, `dump`, `attach`, `watch`: frames marked `more`)
        // comes back joined.
        let mut whole: Option<Response> = None;
        loop {
            match self.recv().map_err(io)? {
                DaemonMsg::Reply { id: rid, result } if rid == id => {
                    let part = match result {
                        ReplyResult::Ok(r) => r,
                        ReplyResult::Error(e) => return Err(e),
                    };
                    let more = matches!(
                        part,
                        Response::Cache { more: true, .. }
                            | Response::Dump { more: true, .. }
                            | Response::Attached { more: true, .. }
                    );
                    whole = Some(match (whole.take(), part) {
                        (
                            Some(Response::Cache { mut entries, .. }),
                            Response::Cache {
                                entries: e,
                                next,
                                count,
                                ..
                            },
                        ) => {
                            entries.extend(e);
                            Response::Cache {
                                entries,
                                more,
                                next,
                                count,
                            }
                        }
                        (Some(Response::Dump { mut text, .. }), Response::Dump { text: t, .. }) => {
                            text.push_str(&t);
                            Response::Dump { text, more }
                        }
                        // (The snapshot's parts joined; the changes notified between them are
                        // kept in `notes`, in order.)
                        (
                            Some(Response::Attached { mut entries, .. }),
                            Response::Attached { entries: e, .. },
                        ) => {
                            entries.extend(e);
                            Response::Attached { entries, more }
                        }
                        (_, part) => part,
                    });
                    if !more {
                        return Ok(whole.take().expect("a reply"));
                    }
                }
                DaemonMsg::Notify(n) => self.notes.push(n),
                DaemonMsg::Fatal { error } => return Err(error),
                m => panic!("unexpected {m:?}"),
            }
        }
    }

    /// The next notification (kept ones first).
    pub fn next_notify(&mut self) -> std::io::Result<Notify> {
        if !self.notes.is_empty() {
            return Ok(self.notes.remove(0));
        }
        match self.recv()? {
            DaemonMsg::Notify(n) => Ok(n),
            m => Err(std::io::Error::other(format!("not a notification: {m:?}"))),
        }
    }
}

/// A frame: 4-byte big-endian length, then the bytes.
pub fn frame(body: &[u8]) -> Vec<u8> {
    let mut f = (body.len() as u32).to_be_bytes().to_vec();
    f.extend_from_slice(body);
    f
}

/// A UDP port free on `ip` when asked (the kernel's choice), for tests that run in parallel.
pub fn free_udp_port(ip: &str) -> u16 {
    std::net::UdpSocket::bind((ip, 0))
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .expect("a free UDP port")
}

/// `N` distinct UDP ports free on `ip` when asked (all held until all are chosen).
pub fn free_udp_ports<const N: usize>(ip: &str) -> [u16; N] {
    let held: Vec<std::net::UdpSocket> = (0..N)
        .map(|_| std::net::UdpSocket::bind((ip, 0)).expect("a free UDP port"))
        .collect();
    std::array::from_fn(|i| held[i].local_addr().unwrap().port())
}

/// Ports free on 127.0.0.1 and 127.0.0.2 when asked: A's and B's in a pair of daemons.
pub fn free_pair() -> (u16, u16) {
    (free_udp_port("127.0.0.1"), free_udp_port("127.0.0.2"))
}

/// Ports free on 127.0.0.1, 127.0.0.2 and 127.0.0.3 when asked: a line of three daemons.
pub fn free_line() -> [u16; 3] {
    [
        free_udp_port("127.0.0.1"),
        free_udp_port("127.0.0.2"),
        free_udp_port("127.0.0.3"),
    ]
}

/// A server block for a line of daemons on 127.0.0.x: `me` is (x, port); each DCS (x, port).
pub fn server_conf(name: &str, me: (u8, u16), dcs: &[(u8, u16)], extra_dcs: &str) -> String {
    let (x, port) = me;
    let mut s = format!(
        "server {name} {{ protocol 65000; netif lo; ServerGroupID 7; ID 127.0.0.{x}; \
         Address 127.0.0.{x}; Port {port}; MTU 1472;\n"
    );
    for (y, p) in dcs {
        s.push_str(&format!(
            "    DCS {{ ID 127.0.0.{y}; Address 127.0.0.{y}; Port {p}; hops 3; HelloInt 1; \
             HelloDead 3; {extra_dcs} }};\n"
        ));
    }
    s.push_str("};\n");
    s
}

/// Start a line A–B–C of daemons on 127.0.0.1–3 with the given ports.
pub fn line(tag: &str, ports: [u16; 3]) -> [Daemon; 3] {
    let [pa, pb, pc] = ports;
    let a = Daemon::start(
        &format!("{tag}A"),
        &server_conf("s_a", (1, pa), &[(2, pb)], ""),
    );
    let b = Daemon::start(
        &format!("{tag}B"),
        &server_conf("s_a", (2, pb), &[(1, pa), (3, pc)], ""),
    );
    let c = Daemon::start(
        &format!("{tag}C"),
        &server_conf("s_a", (3, pc), &[(2, pb)], ""),
    );
    [a, b, c]
}

/// Daemons `{tag}A` on 127.0.0.1 and `{tag}B` on 127.0.0.2, each with server s_a whose one DCS
/// is the other, on the ports given (see [`free_pair`]); returned once both are Aligned.
pub fn pair(tag: &str, (pa, pb): (u16, u16)) -> (Daemon, Daemon) {
    let a = Daemon::start(
        &format!("{tag}A"),
        &server_conf("s_a", (1, pa), &[(2, pb)], ""),
    );
    let b = Daemon::start(
        &format!("{tag}B"),
        &server_conf("s_a", (2, pb), &[(1, pa)], ""),
    );
    for d in [&a, &b] {
        d.wait_until(15, "alignment", || d.dcs("s_a")[0].ca == "Aligned");
    }
    (a, b)
}

/// A Hello of protocol 65000, server group 7 (as [`server_conf`] writes them) from `sender` to
/// `receiver`, HelloInt 1 and HelloDead 3.
pub fn hello_packet(
    sender: scsp_core::wire::Id,
    receiver: scsp_core::wire::Id,
) -> scsp_core::wire::Packet {
    use scsp_core::wire::{Body, Common, Packet};
    Packet {
        common: Common {
            protocol_id: 65000,
            sgid: 7,
            sender,
            receiver,
        },
        body: Body::Hello {
            interval: 1,
            dead_factor: 3,
            family_id: 0,
            additional: Vec::new(),
        },
        extensions: Vec::new(),
    }
}

/// The (key, originator, data) triples of a cache.
pub fn triples(entries: &[EntryView]) -> Vec<(String, String, String)> {
    entries
        .iter()
        .map(|e| (e.key.clone(), e.originator.clone(), e.data.clone()))
        .collect()
}

/// Run the `scspctl` under test against `socket`.
pub fn scspctl(socket: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_scspctl"))
        .env_remove("SCSPD_SOCKET")
        .arg("-s")
        .arg(socket)
        .args(args)
        .output()
        .expect("run scspctl")
}

/// Run `scspctl`, require success, and return what it printed.
pub fn scspctl_ok(socket: &Path, args: &[&str]) -> String {
    let o = scspctl(socket, args);
    assert!(
        o.status.success(),
        "scspctl {args:?}: {:?}\n{}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

/// A TCP port free on 127.0.0.1 when asked.
pub fn free_tcp_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .expect("a free TCP port")
}

/// One HTTP/1.1 request (`request`, CRLFs included) to `addr` over a plain TCP connection; the
/// whole answer as text (read until the server closes).
pub fn http(addr: &str, request: &str) -> std::io::Result<String> {
    let mut s = std::net::TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    s.write_all(request.as_bytes())?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    Ok(out)
}

/// `GET /metrics` asking for OpenMetrics: the status line and the body.
pub fn scrape(addr: &str) -> (String, String) {
    let text = http(
        addr,
        "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: application/openmetrics-text; \
         version=1.0.0\r\n\r\n",
    )
    .unwrap_or_else(|e| panic!("scrape {addr}: {e}"));
    let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP answer");
    (
        head.lines().next().unwrap_or("").to_owned(),
        body.to_owned(),
    )
}

/// The samples of a text exposition: `name{labels}` (as written) to value.
pub fn samples(text: &str) -> std::collections::BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| {
            let (k, v) = l.rsplit_once(' ')?;
            Some((k.to_owned(), v.parse().ok()?))
        })
        .collect()
}

/// `text` with every sequence number written `0x` and 8 hex digits replaced by `0x<seq>`:
/// scspd numbers an entry added once a DCS has been Aligned from the seconds since 2000 at the
/// server's start (docs/rfc2334-readings.md, "numbers after a restart"), which no expected
/// output can spell.
#[allow(dead_code)]
pub fn seqless(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(b"0x")
            && b.len() >= i + 10
            && b[i + 2..i + 10].iter().all(u8::is_ascii_hexdigit)
            && b.get(i + 10).is_none_or(|c| !c.is_ascii_hexdigit())
        {
            out.push_str("0x<seq>");
            i += 10;
        } else {
            let ch = text[i..].chars().next().unwrap_or('?');
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

#[allow(dead_code)]
/// A relay for the link A–B on 127.0.0.1: A talks to `for_a`, B to `for_b`; B's packets to A are
/// recorded. Dropping `up` (set false) stops forwarding B's packets.
pub struct Relay {
    pub for_a: std::net::UdpSocket,
    pub for_b: std::net::UdpSocket,
    pub recorded: std::sync::Arc<std::sync::Mutex<Vec<Vec<u8>>>>,
    pub b_up: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

#[allow(dead_code)]
impl Relay {
    pub fn new() -> Relay {
        let for_a = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let for_b = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        Relay {
            for_a,
            for_b,
            recorded: std::sync::Arc::default(),
            b_up: std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true)),
        }
    }

    pub fn port_for_a(&self) -> u16 {
        self.for_a.local_addr().unwrap().port()
    }

    pub fn port_for_b(&self) -> u16 {
        self.for_b.local_addr().unwrap().port()
    }

    /// Forward both ways until the test ends: A at `a`, B at `b`.
    pub fn run(&self, a: std::net::SocketAddr, b: std::net::SocketAddr) {
        let (rx, tx) = (
            self.for_a.try_clone().unwrap(),
            self.for_b.try_clone().unwrap(),
        );
        std::thread::spawn(move || {
            let mut buf = [0u8; 65536];
            while let Ok(n) = rx.recv(&mut buf) {
                let _ = tx.send_to(&buf[..n], b);
            }
        });
        let (rx, tx) = (
            self.for_b.try_clone().unwrap(),
            self.for_a.try_clone().unwrap(),
        );
        let (rec, up) = (self.recorded.clone(), self.b_up.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 65536];
            while let Ok(n) = rx.recv(&mut buf) {
                if up.load(std::sync::atomic::Ordering::Relaxed) {
                    rec.lock().unwrap().push(buf[..n].to_vec());
                    let _ = tx.send_to(&buf[..n], a);
                }
            }
        });
    }

    /// Send `packets` to A from B's side, 5 ms apart.
    pub fn replay_to_a(&self, packets: &[Vec<u8>], a: std::net::SocketAddr) {
        for p in packets {
            self.for_a.send_to(p, a).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }
}

/// When `c`'s daemon last accepted a Hello from the DCS `id` of `server`, in ms of the test's
/// clock `t0`, as its `show dcs` tells: its dead timer (`dead_ms`, HelloInt × DeadFactor) runs
/// from the last Hello.
pub fn last_hello_ms(
    c: &mut Client,
    server: &str,
    id: &str,
    t0: Instant,
    dead_ms: u64,
) -> Option<u64> {
    let dcs = match c.request(Request::ShowDcs {
        server: Some(server.into()),
    }) {
        Ok(Response::Dcs { dcs }) => dcs,
        r => panic!("{r:?}"),
    };
    let v = dcs.into_iter().find(|d| d.id == id)?;
    let now = t0.elapsed().as_millis() as u64;
    v.dead_in_ms
        .map(|left| (now + left).saturating_sub(dead_ms))
}
