//! `scsp-bench clients`: clients that ask for the whole cache and never read, while a big `load`
//! runs (issue 13's target). Servers A and B are each other's DCS; A holds `--entries`;
//! `--clients` connections each ask A for its whole cache and read nothing, `--watchers` more
//! `watch` A and one attaches to it as its local server (`--no-attach`: none), each reading
//! nothing of its snapshot (streamed a page at a time); then one `load` of
//! `--load` entries (4 bytes of data each: 1.4M make a 53 MB request) goes to A and is flooded to
//! B. Measured: the gaps between the Hellos B accepts from A (B's dead timer, read every 20 ms),
//! A's resident memory idle, with the clients and at its peak, both DCSs' flaps, and how long
//! until each silent client is cut off (`overflow`).

use std::io::BufReader;
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use scsp_client::client::{read_frame, write_frame};
use scsp_client::proto::{CacheQuery, ClientMsg, DaemonMsg, Request, Response, VERSION};
use serde_json::json;

use crate::align::DATA_LEN;
use crate::daemon::{self, Daemon, Node, SERVER, TempDir};
use crate::{Error, emit, verdict};

/// Target: no Hello later than this after the one before (HelloInt 1 s plus 200 ms).
const GAP_TARGET_MS: u64 = 1200;
/// Target: resident memory with the clients at most this above the idle size.
const RSS_TARGET: u64 = 64 << 20;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Clients asking for the whole cache and never reading.
    #[arg(long, default_value_t = 32)]
    clients: usize,
    /// Entries A holds before.
    #[arg(long, default_value_t = 100_000)]
    entries: u32,
    /// Entries of the one `load` request sent meanwhile.
    #[arg(long, default_value_t = 1_400_000)]
    load: u32,
    /// Monitors that `watch` A and never read their snapshot.
    #[arg(long, default_value_t = 8)]
    watchers: usize,
    /// No local server that attaches to A and never reads its snapshot.
    #[arg(long)]
    no_attach: bool,
}

/// A connection that asks for the whole cache (`show cache`, or the snapshot of `watch` or
/// `attach`) and reads nothing more.
fn silent(socket: &std::path::Path, req: Request) -> Result<UnixStream, Error> {
    let s = UnixStream::connect(socket).map_err(|e| Error::Setup(e.to_string()))?;
    let mut r = BufReader::new(s.try_clone().map_err(|e| Error::Setup(e.to_string()))?);
    let mut w = s.try_clone().map_err(|e| Error::Setup(e.to_string()))?;
    let io = |e: scsp_client::FrameError| Error::Daemon(e.to_string());
    write_frame(
        &mut w,
        &ClientMsg::Hello {
            version: VERSION,
            client: "silent".into(),
        },
    )
    .map_err(io)?;
    match read_frame::<_, DaemonMsg>(&mut r).map_err(io)? {
        DaemonMsg::Welcome { .. } => {}
        m => return Err(Error::Daemon(format!("no welcome: {m:?}"))),
    }
    write_frame(&mut w, &ClientMsg::Request { id: 1, req }).map_err(io)?;
    Ok(s)
}

/// When B last accepted a Hello from A, ms since `t0`, from B's dead timer (HelloDead 3 × 1 s).
fn last_hello_ms(c: &mut scsp_client::Client, a: &Node, t0: Instant) -> Option<u64> {
    let id = a.addr.to_string();
    let v = daemon::dcs(c).ok()?.into_iter().find(|d| d.id == id)?;
    let now = t0.elapsed().as_millis() as u64;
    v.dead_in_ms.map(|left| (now + left).saturating_sub(3000))
}

fn slow_disconnects(c: &mut scsp_client::Client) -> Result<u64, Error> {
    let text = match c.request(Request::ShowMetrics) {
        Ok(Response::Metrics { text }) => text,
        r => return Err(Error::Daemon(format!("metrics: {r:?}"))),
    };
    Ok(text
        .lines()
        .find_map(|l| l.strip_prefix("scsp_client_slow_disconnects_total "))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .unwrap_or(0.0) as u64)
}

pub fn run(a: &Args, json_out: bool) -> Result<(), Error> {
    let scspd = daemon::find_scspd()?;
    let dir = TempDir::new("clients")?;
    let (na, nb) = (Node::new(1)?, Node::new(2)?);
    let mut da = Daemon::spawn(
        &scspd,
        dir.path(),
        "A",
        &daemon::config(na, &[nb], 65000, 1472),
    )?;
    let mut db = Daemon::spawn(
        &scspd,
        dir.path(),
        "B",
        &daemon::config(nb, &[na], 65000, 1472),
    )?;
    let mut ca = da.wait_ready()?;
    let mut cb = db.wait_ready()?;
    let aligned = |c: &mut scsp_client::Client| -> Result<bool, Error> {
        Ok(daemon::dcs(c)?.iter().all(|d| d.ca == "Aligned"))
    };
    daemon::wait_for(
        "A and B Aligned",
        Duration::from_secs(30),
        Duration::from_millis(20),
        || Ok(aligned(&mut ca)? && aligned(&mut cb)?),
    )?;
    daemon::load(
        &mut ca,
        daemon::generic_entries(1, 0, a.entries, DATA_LEN),
        20_000,
    )?;
    let base = u64::from(a.entries);
    daemon::wait_for(
        "B to learn A's entries",
        Duration::from_secs(300),
        Duration::from_millis(20),
        || Ok(daemon::entries(&mut cb)? >= base),
    )?;
    std::thread::sleep(Duration::from_millis(500));
    let idle = da.rss()?;

    // The silent clients.
    let asked = Instant::now();
    let mut asks: Vec<Request> = (0..a.clients)
        .map(|_| Request::ShowCache {
            server: SERVER.into(),
            query: CacheQuery::default(),
        })
        .collect();
    asks.extend((0..a.watchers).map(|_| Request::Watch {
        server: SERVER.into(),
    }));
    if !a.no_attach {
        asks.push(Request::Attach {
            server: SERVER.into(),
            confirm: false,
        });
    }
    let silent: Vec<UnixStream> = asks
        .into_iter()
        .map(|req| silent(&da.socket, req))
        .collect::<Result<_, _>>()?;

    // B's view of A's Hellos, and A's memory, every 20 ms until told to stop.
    let t0 = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (stop, b_socket, a_pid) = (stop.clone(), db.socket.clone(), da.pid());
        std::thread::spawn(move || -> Result<(Vec<u64>, u64), Error> {
            let mut c = scsp_client::Client::connect_as(&b_socket, "scsp-bench watcher")
                .map_err(|e| Error::Daemon(e.to_string()))?;
            let (mut hellos, mut peak) = (Vec::<u64>::new(), 0);
            while !stop.load(Ordering::Relaxed) {
                if let Some(t) = last_hello_ms(&mut c, &na, t0)
                    && hellos.last().is_none_or(|&l| t > l + 50)
                {
                    hellos.push(t);
                }
                peak = peak.max(daemon::rss(a_pid).unwrap_or(0));
                std::thread::sleep(Duration::from_millis(20));
            }
            Ok((hellos, peak))
        })
    };
    std::thread::sleep(Duration::from_secs(2));
    let with_clients = da.rss()?;

    // The load, in one request.
    let entries = daemon::generic_entries(2, 0, a.load, 4);
    let bytes = serde_json::to_vec(&Request::Load {
        server: SERVER.into(),
        entries: entries.clone(),
    })
    .map(|v| v.len())
    .unwrap_or(0);
    let mut cl = da.connect()?;
    let started = Instant::now();
    let accepted = daemon::load(&mut cl, entries, usize::MAX)?;
    let load_s = started.elapsed().as_secs_f64();
    let total = base + u64::from(a.load);
    daemon::wait_for(
        "B to learn the load",
        Duration::from_secs(600),
        Duration::from_millis(20),
        || Ok(daemon::entries(&mut cb)? >= total),
    )?;
    let flooded_s = started.elapsed().as_secs_f64();
    std::thread::sleep(Duration::from_secs(2));
    stop.store(true, Ordering::Relaxed);
    let (hellos, peak) = watcher
        .join()
        .map_err(|_| Error::Check("the watcher panicked".into()))??;
    let worst = hellos
        .windows(2)
        .map(|w| w[1] - w[0])
        .max()
        .unwrap_or(u64::MAX);
    let flaps: Vec<u64> = [&mut ca, &mut cb]
        .into_iter()
        .map(|c| daemon::dcs(c).map(|d| d.iter().map(|d| d.flaps).sum::<u64>()))
        .collect::<Result<_, _>>()?;
    let all_aligned = aligned(&mut ca)? && aligned(&mut cb)?;

    // Each silent client cut off.
    let n = silent.len() as u64;
    daemon::wait_for(
        "the silent clients cut off",
        Duration::from_secs(120),
        Duration::from_millis(50),
        || Ok(slow_disconnects(&mut ca)? >= n),
    )?;
    let cut_s = asked.elapsed().as_secs_f64();
    drop(silent);
    std::thread::sleep(Duration::from_millis(500));
    let after = da.rss()?;

    let gap_ok = worst <= GAP_TARGET_MS && hellos.len() >= 3;
    let rss_ok = with_clients <= idle + RSS_TARGET;
    let dcs_ok = flaps.iter().all(|&f| f == 0) && all_aligned;
    let mib = |b: u64| b as f64 / (1 << 20) as f64;
    let line = format!(
        "clients clients={} watchers={} attach={} entries={} load={} ({:.1} MB): RSS idle {:.1} MiB, with the clients \
         {:.1} MiB (+{:.1}) target[<=+64MiB]={}; load applied in {load_s:.2} s ({accepted} \
         accepted), at B after {flooded_s:.2} s; RSS peak {:.1} MiB, after {:.1} MiB; Hellos \
         seen {}, largest gap {worst} ms target[<={GAP_TARGET_MS}ms]={}; DCS flaps A {} B {}, \
         Aligned {all_aligned} target={}; {} clients cut off (overflow) {cut_s:.1} s after \
         asking",
        a.clients,
        a.watchers,
        !a.no_attach,
        a.entries,
        a.load,
        bytes as f64 / 1e6,
        mib(idle),
        mib(with_clients),
        mib(with_clients.saturating_sub(idle)),
        verdict(rss_ok),
        mib(peak),
        mib(after),
        hellos.len(),
        verdict(gap_ok),
        flaps[0],
        flaps[1],
        verdict(dcs_ok),
        n
    );
    let value = json!({
        "case": "clients",
        "clients": a.clients,
        "watchers": a.watchers,
        "attach": !a.no_attach,
        "entries": a.entries,
        "load": a.load,
        "load_bytes": bytes,
        "rss_idle": idle,
        "rss_with_clients": with_clients,
        "rss_peak": peak,
        "rss_after": after,
        "load_s": load_s,
        "flooded_s": flooded_s,
        "hellos": hellos.len(),
        "largest_hello_gap_ms": worst,
        "flaps": flaps,
        "aligned": all_aligned,
        "cut_off_s": cut_s,
        "pass": gap_ok && rss_ok && dcs_ok,
    });
    emit(json_out, &line, &value);
    drop(db);
    drop(da);
    if gap_ok && rss_ok && dcs_ok {
        Ok(())
    } else {
        Err(Error::Check(
            "a target was missed (see the line above)".into(),
        ))
    }
}
