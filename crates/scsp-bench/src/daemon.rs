//! Real `scspd` processes on loopback: configurations in a temporary directory, one child process
//! per daemon, driven through its local socket with `scsp_client::client`.

use std::fs;
use std::net::{Ipv4Addr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use scsp_client::client::Client;
use scsp_client::proto::{DcsView, KeyData, Request, Response, ServerView};

use crate::Error;

/// The server name every generated configuration uses.
pub const SERVER: &str = "bench";

/// Where `scspd` is: `$SCSPD`, else next to this executable (the same target directory), else
/// built with cargo (release) from the workspace this tool was built in.
pub fn find_scspd() -> Result<PathBuf, Error> {
    if let Some(p) = std::env::var_os("SCSPD") {
        return Ok(PathBuf::from(p));
    }
    let exe = std::env::current_exe().map_err(|e| Error::Setup(format!("current_exe: {e}")))?;
    if let Some(dir) = exe.parent() {
        // Next to scsp-bench, or one level up (a test executable lives in target/<profile>/deps).
        for d in [Some(dir), dir.parent()].into_iter().flatten() {
            let p = d.join("scspd");
            if p.is_file() {
                return Ok(p);
            }
        }
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    eprintln!(
        "scsp-bench: scspd not found next to {}; building it",
        exe.display()
    );
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args([
            "build",
            "--release",
            "--quiet",
            "-p",
            "scspd",
            "--bin",
            "scspd",
        ])
        .current_dir(&workspace)
        .status()
        .map_err(|e| Error::Setup(format!("cannot run cargo to build scspd: {e}")))?;
    if !status.success() {
        return Err(Error::Setup("cargo build of scspd failed".into()));
    }
    let p = workspace.join("target/release/scspd");
    if p.is_file() {
        Ok(p)
    } else {
        Err(Error::Setup(format!(
            "scspd not found at {} after building; set SCSPD=/path/to/scspd",
            p.display()
        )))
    }
}

static NEXT_DIR: AtomicU32 = AtomicU32::new(0);

/// A temporary directory, removed on drop.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// A new empty directory under the system temporary directory.
    pub fn new(tag: &str) -> Result<TempDir, Error> {
        let n = NEXT_DIR.fetch_add(1, Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!("scsp-bench-{}-{n}-{tag}", std::process::id()));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).map_err(|e| Error::Setup(format!("{}: {e}", p.display())))?;
        Ok(TempDir(p))
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::env::var_os("SCSP_BENCH_KEEP").is_none() {
            let _ = fs::remove_dir_all(&self.0);
        }
    }
}

/// A free UDP port on `addr` (bound and released at once: another program could take it in
/// between, which is unlikely on a benchmark machine).
pub fn free_udp_port(addr: Ipv4Addr) -> Result<u16, Error> {
    let s = UdpSocket::bind((addr, 0)).map_err(|e| Error::Setup(format!("bind {addr}: {e}")))?;
    Ok(s.local_addr()
        .map_err(|e| Error::Setup(e.to_string()))?
        .port())
}

/// A free TCP port on 127.0.0.1.
pub fn free_tcp_port() -> Result<u16, Error> {
    let s = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|e| Error::Setup(format!("bind: {e}")))?;
    Ok(s.local_addr()
        .map_err(|e| Error::Setup(e.to_string()))?
        .port())
}

/// One SCSP server on loopback: its ID is its address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Node {
    /// Address and ID.
    pub addr: Ipv4Addr,
    /// UDP port.
    pub port: u16,
}

impl Node {
    /// The node `127.0.0.<n>` on a free port.
    pub fn new(n: u8) -> Result<Node, Error> {
        let addr = Ipv4Addr::new(127, 0, 0, n);
        Ok(Node {
            addr,
            port: free_udp_port(addr)?,
        })
    }
}

/// The cache bounds of every benchmark server: far above what any case holds (the defaults
/// fit a small machine, and the flood passes a million entries).
pub const BOUNDS: &str = "MaxCacheBytes 68719476736; MaxCacheEntries 1073741824; \
                          MaxCSARequests 67108864;";

/// The configuration of `me` with DCSs `dcs`.
pub fn config(me: Node, dcs: &[Node], protocol: u16, mtu: u16) -> String {
    let protocol = match protocol {
        1 => "ATMARP".to_string(),
        p => p.to_string(),
    };
    let mut s = format!(
        "server {SERVER} {{\n    protocol {protocol}; ServerGroupID 7;\n    ID {a}; Address {a}; \
         Port {p}; MTU {mtu};\n    {BOUNDS}\n",
        a = me.addr,
        p = me.port
    );
    for d in dcs {
        s += &format!(
            "    DCS {{ ID {a}; Address {a}; Port {p}; hops 3; HelloInt 1; HelloDead 3; }};\n",
            a = d.addr,
            p = d.port
        );
    }
    s += "};\n";
    s
}

/// Whether the daemons started keep their saved state (`scsp-bench --saved-state`).
static SAVED_STATE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Set for the whole run by `--saved-state`.
pub fn set_saved_state(on: bool) {
    SAVED_STATE.store(on, std::sync::atomic::Ordering::Relaxed);
}

/// Whether the daemons keep their saved state in this run.
pub fn saved_state() -> bool {
    SAVED_STATE.load(std::sync::atomic::Ordering::Relaxed)
}

/// `--state-dir` for the daemon whose configuration is `cfg`: beside it, or none.
fn state_arg(cfg: &Path) -> PathBuf {
    if saved_state() {
        let mut p = cfg.as_os_str().to_owned();
        p.push(".state");
        PathBuf::from(p)
    } else {
        PathBuf::from("none")
    }
}

/// A running `scspd -d`, killed on drop.
#[derive(Debug)]
pub struct Daemon {
    /// For messages.
    pub name: String,
    child: Child,
    /// Its configuration file (rewritten for reloads).
    pub config: PathBuf,
    /// Its local socket.
    pub socket: PathBuf,
    /// Its standard output.
    pub log: PathBuf,
    /// When the process was started.
    pub started: Instant,
}

impl Daemon {
    /// [`Daemon::spawn`] with the configuration [`config`] writes for `node` and its `dcs`.
    pub fn spawn_node(
        scspd: &Path,
        dir: &Path,
        name: &str,
        node: Node,
        dcs: &[Node],
        protocol: u16,
        mtu: u16,
    ) -> Result<Daemon, Error> {
        Daemon::spawn(scspd, dir, name, &config(node, dcs, protocol, mtu))
    }

    /// Start `scspd -d -f <dir>/<name>.conf -s <dir>/<name>.sock`; returns at once (see
    /// [`Daemon::wait_ready`]).
    pub fn spawn(scspd: &Path, dir: &Path, name: &str, config: &str) -> Result<Daemon, Error> {
        let cfg = dir.join(format!("{name}.conf"));
        fs::write(&cfg, config).map_err(|e| Error::Setup(format!("{}: {e}", cfg.display())))?;
        let socket = dir.join(format!("{name}.sock"));
        let log = dir.join(format!("{name}.log"));
        let out = fs::File::create(&log).map_err(|e| Error::Setup(e.to_string()))?;
        let err = out.try_clone().map_err(|e| Error::Setup(e.to_string()))?;
        let started = Instant::now();
        let child = Command::new(scspd)
            .arg("--state-dir")
            .arg(state_arg(&cfg))
            .arg("-d")
            .arg("-f")
            .arg(&cfg)
            .arg("-s")
            .arg(&socket)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| Error::Setup(format!("cannot start {}: {e}", scspd.display())))?;
        Ok(Daemon {
            name: name.to_owned(),
            child,
            config: cfg,
            socket,
            log,
            started,
        })
    }

    /// Where it keeps its saved state (with `--saved-state`).
    pub fn state_dir(&self) -> PathBuf {
        state_arg(&self.config)
    }

    /// SIGKILL, and wait for the process to be gone.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Start it again on the same files (after [`Daemon::kill`]); returns at once.
    pub fn respawn(&mut self, scspd: &Path) -> Result<(), Error> {
        let out = fs::OpenOptions::new()
            .append(true)
            .open(&self.log)
            .map_err(|e| Error::Setup(e.to_string()))?;
        let err = out.try_clone().map_err(|e| Error::Setup(e.to_string()))?;
        self.child = Command::new(scspd)
            .arg("--state-dir")
            .arg(state_arg(&self.config))
            .arg("-d")
            .arg("-f")
            .arg(&self.config)
            .arg("-s")
            .arg(&self.socket)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| Error::Setup(format!("cannot start {}: {e}", scspd.display())))?;
        self.started = Instant::now();
        Ok(())
    }

    /// Wait until the socket answers (at most 10 s).
    pub fn wait_ready(&mut self) -> Result<Client, Error> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(c) = Client::connect_as(&self.socket, "scsp-bench") {
                return Ok(c);
            }
            if let Ok(Some(st)) = self.child.try_wait() {
                return Err(Error::Setup(format!(
                    "scspd {} exited ({st}) at start-up; its output:\n{}",
                    self.name,
                    fs::read_to_string(&self.log).unwrap_or_default()
                )));
            }
            if Instant::now() > deadline {
                return Err(Error::Setup(format!(
                    "scspd {} did not answer on {} within 10 s",
                    self.name,
                    self.socket.display()
                )));
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// A new session on its socket.
    pub fn connect(&self) -> Result<Client, Error> {
        Client::connect_as(&self.socket, "scsp-bench").map_err(|e| Error::Daemon(e.to_string()))
    }

    /// Its process ID.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// CPU time used so far, user and system, seconds (/proc/<pid>/stat).
    pub fn cpu(&self) -> Result<f64, Error> {
        cpu_seconds(self.pid())
    }

    /// Resident memory, bytes (VmRSS of /proc/<pid>/status).
    pub fn rss(&self) -> Result<u64, Error> {
        rss(self.pid())
    }

    /// Replace its configuration file with `config` and reload it.
    pub fn reload(&self, c: &mut Client, config: &str) -> Result<(), Error> {
        fs::write(&self.config, config).map_err(|e| Error::Setup(e.to_string()))?;
        c.request(Request::Reload)
            .map_err(|e| Error::Daemon(format!("{}: reload: {e}", self.name)))?;
        Ok(())
    }
}

impl Drop for Daemon {
    /// SIGTERM (scspd stops cleanly, and a profiler wrapped around it writes its data), then
    /// SIGKILL if it is still there after 5 s.
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// CPU time (utime + stime) of process `pid`, seconds.
pub fn cpu_seconds(pid: u32) -> Result<f64, Error> {
    let s = fs::read_to_string(format!("/proc/{pid}/stat"))
        .map_err(|e| Error::Setup(format!("/proc/{pid}/stat: {e}")))?;
    // Fields after the command name (which is in parentheses and may hold spaces): state is
    // field 3, utime 14 and stime 15.
    let rest = s
        .rsplit_once(')')
        .map(|(_, r)| r)
        .ok_or_else(|| Error::Setup(format!("/proc/{pid}/stat: no command name")))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| -> Result<u64, Error> {
        fields
            .get(i)
            .and_then(|f| f.parse().ok())
            .ok_or_else(|| Error::Setup(format!("/proc/{pid}/stat: field {}", i + 3)))
    };
    // utime and stime, in clock ticks (USER_HZ, 100 on Linux).
    Ok((ticks(11)? + ticks(12)?) as f64 / 100.0)
}

/// VmRSS of process `pid`, bytes.
pub fn rss(pid: u32) -> Result<u64, Error> {
    let s = fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|e| Error::Setup(format!("/proc/{pid}/status: {e}")))?;
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .ok_or_else(|| Error::Setup(format!("no VmRSS for process {pid}")))
}

/// The server's view (`show servers`).
pub fn server_view(c: &mut Client) -> Result<ServerView, Error> {
    match c.request(Request::ShowServers) {
        Ok(Response::Servers { servers }) => servers
            .into_iter()
            .next()
            .ok_or_else(|| Error::Daemon("no server".into())),
        Ok(other) => Err(Error::Daemon(format!("unexpected reply {other:?}"))),
        Err(e) => Err(Error::Daemon(e.to_string())),
    }
}

/// Live entries held.
pub fn entries(c: &mut Client) -> Result<u64, Error> {
    Ok(server_view(c)?.entries)
}

/// The DCSs (`show dcs`).
pub fn dcs(c: &mut Client) -> Result<Vec<DcsView>, Error> {
    match c.request(Request::ShowDcs { server: None }) {
        Ok(Response::Dcs { dcs }) => Ok(dcs),
        Ok(other) => Err(Error::Daemon(format!("unexpected reply {other:?}"))),
        Err(e) => Err(Error::Daemon(e.to_string())),
    }
}

/// `show servers`.
pub fn servers(c: &mut Client) -> Result<Vec<scsp_client::proto::ServerView>, Error> {
    match c.request(Request::ShowServers) {
        Ok(Response::Servers { servers }) => Ok(servers),
        Ok(other) => Err(Error::Daemon(format!("unexpected reply {other:?}"))),
        Err(e) => Err(Error::Daemon(e.to_string())),
    }
}

/// Wait until the daemon behind `c` has written at least `n` rows of saved state, has none
/// pending, and has folded its file's log into its table (the steady state).
pub fn wait_written(c: &mut Client, n: u64) -> Result<(), Error> {
    wait_for(
        "the saved state to be written",
        Duration::from_secs(600),
        Duration::from_millis(20),
        || {
            Ok(servers(c)?
                .iter()
                .filter_map(|v| v.saved_state.as_ref())
                .any(|st| st.pending == 0 && st.written >= n && st.logged == 0))
        },
    )
}

/// Bytes of the regular files in `dir` (not recursive); 0 if it cannot be read.
pub fn dir_bytes(dir: &Path) -> u64 {
    fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| e.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// Messages and bytes one way, from a DCS's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Traffic {
    /// Messages (every type).
    pub packets: u64,
    /// Bytes (SCSP packets, without UDP/IP headers).
    pub bytes: u64,
    /// Of which CA messages.
    pub ca: u64,
    /// CSUS messages.
    pub csus: u64,
    /// CSU Requests.
    pub csu_request: u64,
    /// CSU Replies.
    pub csu_reply: u64,
    /// Retransmissions (CA, CSUS, CSA).
    pub retransmits: u64,
}

impl Traffic {
    /// What `v` sent to its DCS.
    pub fn sent(v: &DcsView) -> Traffic {
        let tx = &v.stats["tx"];
        let n = |k: &str| tx[k].as_u64().unwrap_or(0);
        Traffic {
            packets: v.tx_msgs,
            bytes: n("bytes"),
            ca: n("ca"),
            csus: n("csus"),
            csu_request: n("csu_request"),
            csu_reply: n("csu_reply"),
            retransmits: v.retransmits,
        }
    }

    /// The difference `self - before`.
    pub fn since(self, before: Traffic) -> Traffic {
        Traffic {
            packets: self.packets - before.packets,
            bytes: self.bytes - before.bytes,
            ca: self.ca - before.ca,
            csus: self.csus - before.csus,
            csu_request: self.csu_request - before.csu_request,
            csu_reply: self.csu_reply - before.csu_reply,
            retransmits: self.retransmits - before.retransmits,
        }
    }
}

/// What a DCS (`id`, dotted) of the daemon behind `c` has sent to it so far.
pub fn sent_to(c: &mut Client, id: Ipv4Addr) -> Result<Traffic, Error> {
    let id = id.to_string();
    dcs(c)?
        .iter()
        .find(|d| d.id == id)
        .map(Traffic::sent)
        .ok_or_else(|| Error::Daemon(format!("no DCS {id}")))
}

/// The entries `first..first+n` of a run: 4-byte big-endian keys (with `tag` in the top byte) and
/// 40 bytes of data derived from the key.
pub fn generic_entries(tag: u8, first: u32, n: u32, data_len: usize) -> Vec<KeyData> {
    (first..first + n)
        .map(|i| {
            let key = (u32::from(tag) << 24 | i).to_be_bytes();
            let mut data = Vec::with_capacity(data_len);
            while data.len() < data_len {
                data.extend_from_slice(&key);
                data.push(0x5a);
            }
            data.truncate(data_len);
            KeyData {
                key: hex::encode(key),
                data: hex::encode(data),
                seq: None,
            }
        })
        .collect()
}

/// `n` ATMARP bindings (the default layout, HARP's) originated by `origin`, with distinct cache
/// keys: IPv4 address `10+tag`.0.0.0 + i and an NSAP address whose ESI is `tag`, `i`; a binding
/// whose key (HARP's: an MD5 folded to 4 bytes) collides with an earlier one's is skipped.
pub fn atmarp_entries(origin: Ipv4Addr, tag: u8, n: u32) -> Result<Vec<KeyData>, Error> {
    let ops = scsp_profiles::ops_for(1, &scsp_profiles::ProfileOptions::default());
    let mut keys = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(n as usize);
    let base = u32::from(10 + tag) << 24;
    let mut i: u32 = 0;
    while out.len() < n as usize {
        if i >= 1 << 24 {
            return Err(Error::Setup(format!("{n} ATMARP bindings: too many")));
        }
        let ip = Ipv4Addr::from(base | i);
        let atm = format!("47.0005.80.ffdc00.0000.0002.0001.{tag:04x}{i:08x}.00");
        i += 1;
        let rec = ops
            .parse_add_args(&[ip.to_string(), atm])
            .and_then(|r| ops.build(&r, &origin.octets()))
            .map_err(|e| Error::Setup(format!("ATMARP record for {ip}: {e}")))?;
        let (key, data) = rec;
        if keys.insert(key.clone()) {
            out.push(KeyData {
                key: hex::encode(key),
                data: hex::encode(data),
                seq: None,
            });
        }
    }
    Ok(out)
}

/// Originate `entries` at the daemon behind `c`, in requests of at most `batch`.
pub fn load(c: &mut Client, entries: Vec<KeyData>, batch: usize) -> Result<u64, Error> {
    let mut accepted = 0;
    let mut it = entries.into_iter().peekable();
    while it.peek().is_some() {
        let chunk: Vec<KeyData> = it.by_ref().take(batch).collect();
        match c.request(Request::Load {
            server: SERVER.into(),
            entries: chunk,
        }) {
            Ok(Response::Loaded {
                accepted: a,
                errors,
            }) => {
                if let Some(e) = errors.first() {
                    return Err(Error::Daemon(format!(
                        "load refused {} entries, e.g. {e}",
                        errors.len()
                    )));
                }
                accepted += a;
            }
            Ok(other) => return Err(Error::Daemon(format!("unexpected reply {other:?}"))),
            Err(e) => return Err(Error::Daemon(format!("load: {e}"))),
        }
    }
    Ok(accepted)
}

/// Wait until `cond` holds, polling every `every`; `Err` after `timeout`.
pub fn wait_for(
    what: &str,
    timeout: Duration,
    every: Duration,
    cond: impl FnMut() -> Result<bool, Error>,
) -> Result<(), Error> {
    wait_paced(what, timeout, || every, cond)
}

/// How long a timed wait sleeps between polls after `elapsed` since the clock started: 1/200 of
/// it, at least `min`. The time measured is then late by at most 0.5% (plus `min`), and the
/// polling itself (a third process waking every millisecond on two cores, taking a core from
/// the servers it measures) no longer slows what it measures: a million-entry alignment at MTU
/// 1472 ran 7% slower polled every millisecond than every 5.
pub fn pace(min: Duration, elapsed: Duration) -> Duration {
    min.max(elapsed / 200)
}

/// [`wait_for`], polling at [`pace`] from the call.
pub fn wait_timed(
    what: &str,
    timeout: Duration,
    min: Duration,
    cond: impl FnMut() -> Result<bool, Error>,
) -> Result<(), Error> {
    let start = Instant::now();
    wait_paced(what, timeout, || pace(min, start.elapsed()), cond)
}

fn wait_paced(
    what: &str,
    timeout: Duration,
    mut every: impl FnMut() -> Duration,
    mut cond: impl FnMut() -> Result<bool, Error>,
) -> Result<(), Error> {
    let deadline = Instant::now() + timeout;
    loop {
        if cond()? {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(Error::Timeout(format!("{what} (after {timeout:?})")));
        }
        std::thread::sleep(every());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timed_waits_poll_at_a_two_hundredth_of_the_time_elapsed() {
        let ms = Duration::from_millis;
        assert_eq!(pace(ms(1), ms(0)), ms(1));
        assert_eq!(pace(ms(1), ms(100)), ms(1));
        assert_eq!(pace(ms(1), ms(1000)), ms(5));
        assert_eq!(pace(ms(1), Duration::from_secs(60)), ms(300));
        assert_eq!(pace(ms(20), ms(1000)), ms(20));
    }

    #[test]
    fn atmarp_entries_are_distinct_atmarp_records() {
        let ops = scsp_profiles::ops_for(1, &scsp_profiles::ProfileOptions::default());
        let origin = Ipv4Addr::new(127, 0, 0, 1);
        let v = atmarp_entries(origin, 1, 2000).unwrap();
        assert_eq!(v.len(), 2000);
        let keys: std::collections::HashSet<_> = v.iter().map(|e| e.key.clone()).collect();
        assert_eq!(keys.len(), 2000);
        let mut ips = std::collections::HashSet::new();
        for e in &v {
            let (key, data) = (hex::decode(&e.key).unwrap(), hex::decode(&e.data).unwrap());
            let rec = ops.decode(&key, &data).unwrap();
            let ip = rec["ip"].as_str().unwrap().to_string();
            assert!(ip.starts_with("11."), "{rec}");
            assert!(ips.insert(ip));
        }
    }
}
