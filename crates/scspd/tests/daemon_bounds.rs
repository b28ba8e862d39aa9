//! A hostile DCS against a real scspd, and the daemon's memory (VmHWM, its peak resident set,
//! from /proc/<pid>/status) under each attack (docs/SECURITY.md, "Bounds"): a CSUS flood naming
//! entries it does not hold, records larger than the MTU, a flood of deletions and purges of
//! entries never held, and a flood of new entries past the cache's byte bound.
//!
//! The test plays the DCS on 127.0.0.1 with a UDP socket: a `scsp_core::Server` of its own
//! brings the session up (Hello, Cache Alignment) and keeps it up with its Hellos, and the
//! attack goes out beside it as packets built with the core's encoder. During the attack only
//! the daemon's Hellos reach that server: nothing the daemon sends is acknowledged. Each test
//! asserts that the session stays Aligned, that the refusals are counted, and that VmHWM stays
//! at or under the configured bound plus 32 MB; it prints the figures
//! (`cargo test -p scspd --test daemon_bounds -- --nocapture`).

mod common;

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::*;
use scsp_core::wire::{self, Body, Common, Csa, Csas, Id, MessageType, Packet, RecordId};
use scsp_core::{DcsConfig, Server, ServerConfig, Time};

/// The cache's byte bound configured in every test: small, so that each runs in seconds.
const MAX_CACHE_BYTES: u64 = 16 << 20;
/// The retransmit queue's bound (`MaxReXmitQueue`) in the CSUS flood.
const MAX_REXMIT_QUEUE: u64 = 20_000;
/// What VmHWM may exceed the configured bound by.
const MARGIN: u64 = 32 << 20;
/// Largest datagram the attack sends (the daemon's MTU is 1472: it reads up to 65535).
const BIG: usize = 60_000;

const PID: u16 = 65000;
const SGID: u16 = 7;

fn ours() -> Id {
    Id::from([127, 0, 0, 1])
}

fn theirs() -> Id {
    Id::from([127, 0, 0, 2])
}

/// The daemon's configuration: server s on 127.0.0.2, its one DCS the test on 127.0.0.1.
fn conf(port: u16, peer_port: u16, extra: &str) -> String {
    format!(
        "server s {{ protocol {PID}; netif lo; ServerGroupID {SGID}; ID 127.0.0.2; \
         Address 127.0.0.2; Port {port}; MTU 1472; MaxCacheBytes {MAX_CACHE_BYTES}; {extra}\n\
         DCS {{ ID 127.0.0.1; Address 127.0.0.1; Port {peer_port}; HelloInt 1; HelloDead 3; \
         MaxReXmitQueue {MAX_REXMIT_QUEUE}; }};\n}};\n"
    )
}

/// VmHWM of process `pid`, bytes.
fn vm_hwm(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .expect("VmHWM in /proc/<pid>/status");
    let kb: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .expect("VmHWM in kB");
    kb * 1024
}

fn mib(b: u64) -> String {
    format!("{:.1} MiB", b as f64 / f64::from(1u32 << 20))
}

/// The hostile DCS.
struct Hostile {
    sock: UdpSocket,
    daemon: SocketAddr,
    /// Only Hellos from the daemon reach the honest server.
    attacking: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Hostile {
    /// A socket on 127.0.0.1 (bound before the daemon starts, so that its port can be
    /// configured).
    fn bind() -> UdpSocket {
        UdpSocket::bind("127.0.0.1:0").unwrap()
    }

    /// Run the honest side on `sock` towards the daemon at `daemon`, holding `entries` entries
    /// of its own.
    fn start(sock: UdpSocket, daemon: SocketAddr, entries: u32) -> Hostile {
        let attacking = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let rx = sock.try_clone().unwrap();
        let (att, st) = (attacking.clone(), stop.clone());
        let thread = std::thread::spawn(move || honest(rx, daemon, entries, &att, &st));
        Hostile {
            sock,
            daemon,
            attacking,
            stop,
            thread: Some(thread),
        }
    }

    fn send(&self, p: &Packet) {
        let bytes = wire::encode(p, None).unwrap();
        self.sock.send_to(&bytes, self.daemon).unwrap();
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The honest side: a core server whose one DCS is the daemon, driven on real time.
fn honest(
    sock: UdpSocket,
    daemon: SocketAddr,
    entries: u32,
    attacking: &AtomicBool,
    stop: &AtomicBool,
) {
    let mut cfg = ServerConfig::new(PID, SGID, ours());
    cfg.hash_seed = 1;
    cfg.max_packet = BIG;
    let mut server = Server::new(cfg);
    let t0 = Instant::now();
    let now = || Time::from_millis(1_000_000 + t0.elapsed().as_millis() as u64);
    let errors = server.originate_many(
        now(),
        (0..entries).map(|i| {
            (
                i.to_be_bytes().to_vec(),
                wire::Data::from(&[7u8; 8][..]),
                None,
            )
        }),
    );
    assert!(errors.is_empty());
    let mut dcfg = DcsConfig::new(theirs());
    dcfg.hello_interval = 1;
    dcfg.dead_factor = 3;
    let dcs = server.add_dcs(now(), dcfg);
    server.link_up(now(), dcs);
    sock.set_read_timeout(Some(Duration::from_millis(5)))
        .unwrap();
    let mut buf = vec![0u8; 65536];
    while !stop.load(Ordering::Relaxed) {
        if let Ok((n, _)) = sock.recv_from(&mut buf) {
            let hello = buf.get(1) == Some(&(MessageType::Hello as u8));
            if hello || !attacking.load(Ordering::Relaxed) {
                server.handle_datagram(now(), dcs, &buf[..n]);
            }
        }
        if server.poll_timeout().is_some_and(|t| t <= now()) {
            server.handle_timeout(now());
        }
        while let Some(t) = server.poll_transmit() {
            let _ = sock.send_to(&t.bytes, daemon);
        }
        while server.poll_event().is_some() {}
    }
}

fn common() -> Common {
    Common {
        protocol_id: PID,
        sgid: SGID,
        sender: ours(),
        receiver: theirs(),
    }
}

fn packet(body: Body) -> Packet {
    Packet {
        common: common(),
        body,
        extensions: vec![],
    }
}

fn rid(i: u32) -> RecordId {
    RecordId {
        key: Id::new(&i.to_be_bytes()).unwrap(),
        origin: ours(),
    }
}

fn csa(i: u32, seq: u32, data: &[u8]) -> Csa {
    Csa {
        summary: Csas {
            hops: 1,
            null: false,
            seq,
            id: rid(i),
        },
        data: wire::Data::from(data),
    }
}

/// `records` packed into CSU Requests of at most [`BIG`] bytes.
fn csu_requests(records: impl IntoIterator<Item = Csa>) -> Vec<Packet> {
    let mut out = Vec::new();
    let mut cur: Vec<Csa> = Vec::new();
    let mut len = 0;
    for r in records {
        let l = wire::csa_len(&r);
        if !cur.is_empty() && len + l > BIG - 200 {
            out.push(packet(Body::CsuRequest {
                records: std::mem::take(&mut cur),
            }));
            len = 0;
        }
        len += l;
        cur.push(r);
    }
    if !cur.is_empty() {
        out.push(packet(Body::CsuRequest { records: cur }));
    }
    out
}

/// A daemon and the hostile DCS, Aligned.
struct Bed {
    d: Daemon,
    h: Hostile,
    /// VmHWM once the daemon answered, before the session came up.
    started: u64,
}

impl Bed {
    fn new(tag: &str) -> Bed {
        Bed::with(tag, "", 0)
    }

    /// With `extra` statements in the server block, the DCS holding `entries` entries.
    fn with(tag: &str, extra: &str, entries: u32) -> Bed {
        let sock = Hostile::bind();
        let peer_port = sock.local_addr().unwrap().port();
        let port = free_udp_port("127.0.0.2");
        let d = Daemon::start(tag, &conf(port, peer_port, extra));
        let started = vm_hwm(d.pid());
        let h = Hostile::start(sock, format!("127.0.0.2:{port}").parse().unwrap(), entries);
        d.wait_until(60, "the session Aligned", || d.dcs("s")[0].ca == "Aligned");
        h.attacking.store(true, Ordering::Relaxed);
        Bed { d, h, started }
    }

    fn stat(&self, path: &[&str]) -> u64 {
        let v = self.d.dcs("s")[0].stats.clone();
        let mut v = &v;
        for p in path {
            v = &v[*p];
        }
        v.as_u64().unwrap_or_else(|| panic!("no counter {path:?}"))
    }

    /// Send `packets`, a few at a time, waiting after each batch until the daemon has received
    /// them (its counter `kind` of received messages), so that its socket buffer does not
    /// overflow; a batch not all received within 5 s is let go (loss is possible, the counts
    /// are taken from what arrived). Returns how many were received.
    fn flood(&self, packets: &[Packet], kind: &str) -> u64 {
        let start = self.stat(&["rx", kind]);
        let mut sent = 0u64;
        for batch in packets.chunks(4) {
            for p in batch {
                self.h.send(p);
            }
            sent += batch.len() as u64;
            let deadline = Instant::now() + Duration::from_secs(5);
            while self.stat(&["rx", kind]) < start + sent && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        self.stat(&["rx", kind]) - start
    }

    /// The session as `scspctl show dcs --json` shows it: (Hello state, CA state).
    fn session(&self) -> (String, String) {
        let out = scspctl_ok(&self.d.socket, &["show", "dcs", "s", "--json"]);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        let d = v
            .as_array()
            .and_then(|a| a.first())
            .or_else(|| v["dcs"].as_array().and_then(|a| a.first()))
            .unwrap_or_else(|| panic!("no DCS in {out}"))
            .clone();
        (
            d["hello"].as_str().unwrap_or_default().to_owned(),
            d["ca"].as_str().unwrap_or_default().to_owned(),
        )
    }

    /// The checks every attack ends with: the session up, VmHWM within the bound plus 32 MB
    /// (printed).
    fn finish(&self, attack: &str, before: u64) {
        assert_eq!(
            self.session(),
            ("Bidirectional".to_owned(), "Aligned".to_owned()),
            "the session stays up"
        );
        assert_eq!(self.stat(&["abnormal_events"]), 0);
        let hwm = vm_hwm(self.d.pid());
        println!(
            "daemon_bounds {attack}: VmHWM {} before the attack, {} after; bound {} \
             (MaxCacheBytes) + 32 MiB = {}",
            mib(before),
            mib(hwm),
            mib(MAX_CACHE_BYTES),
            mib(MAX_CACHE_BYTES + MARGIN)
        );
        assert!(
            hwm <= MAX_CACHE_BYTES + MARGIN,
            "{attack}: VmHWM {} over the bound {} + 32 MiB",
            mib(hwm),
            mib(MAX_CACHE_BYTES)
        );
    }
}

/// (a) CSUS naming 1,000,000 entries the daemon does not hold, their null answers never
/// acknowledged: unbounded, the retransmit queue would hold them all (the issue measured 520 MB
/// for 3,006,000); bounded, it holds MaxReXmitQueue and the rest are refused.
#[test]
fn csus_flood_naming_entries_not_held_stays_within_the_bound() {
    let bed = Bed::new("boundcsus");
    let before = vm_hwm(bed.d.pid());
    let names = 1_000_000u32;
    let per = BIG / 24;
    let packets: Vec<Packet> = (0..names)
        .collect::<Vec<_>>()
        .chunks(per)
        .map(|c| {
            packet(Body::Csus {
                records: c
                    .iter()
                    .map(|&i| Csas {
                        hops: 1,
                        null: false,
                        seq: wire::SEQ_FIRST,
                        id: rid(0x4000_0000 | i),
                    })
                    .collect(),
            })
        })
        .collect();
    let received = bed.flood(&packets, "csus");
    let d = &bed.d.dcs("s")[0];
    println!(
        "daemon_bounds csus flood: {received} CSUS received naming {names} entries; \
         retransmit queue {}, CSUS refused (dropped) {}",
        d.rexmit_queue, d.stats["dropped"]
    );
    assert!(
        received * per as u64 > 4 * MAX_REXMIT_QUEUE,
        "the flood arrived"
    );
    assert_eq!(d.rexmit_queue, MAX_REXMIT_QUEUE, "the queue at its bound");
    assert!(
        bed.stat(&["dropped"]) >= received - 1 - MAX_REXMIT_QUEUE / per as u64,
        "each CSUS past the bound refused and counted"
    );
    assert!(
        bed.d.log_text().contains("the retransmit queue is full"),
        "the refusals are logged"
    );
    bed.finish("csus flood", before);
}

/// (b) 6,000 records of 10,000 bytes (60 MB), each too large for the daemon's MTU: all
/// refused (acknowledged, neither stored nor passed on) and counted.
#[test]
fn oversize_records_are_refused_and_memory_stays_within_the_bound() {
    let bed = Bed::new("boundbig");
    let before = vm_hwm(bed.d.pid());
    let big = vec![0x5a; 10_000];
    let packets = csu_requests((0..6_000).map(|i| csa(i, wire::SEQ_FIRST, &big)));
    let received = bed.flood(&packets, "csu_request");
    let per = packets[0].body.record_count() as u64;
    assert_eq!(per * packets.len() as u64, 6_000);
    bed.d.wait_until(10, "every record refused", || {
        bed.stat(&["invalid_records"]) >= received * per
    });
    let invalid = bed.stat(&["invalid_records"]);
    println!(
        "daemon_bounds oversize: 6000 records of 10,000 bytes sent in {} CSU Requests, {received} \
         received; records refused {invalid}; entries held {}",
        packets.len(),
        bed.d.servers()[0].entries_held
    );
    assert!(received * per >= 5_000, "the flood arrived");
    assert_eq!(invalid, received * per);
    assert_eq!(bed.d.cache("s").len(), 0, "nothing stored");
    assert!(
        bed.d.log_text().contains("does not fit the MTU"),
        "the refusals are logged"
    );
    bed.finish("oversize records", before);
}

/// (c) 1,000,000 deletions and 500,000 purges of entries never held: the purges are never
/// stored, the deletions only while the cache has room (each as a deleted entry); past the
/// bound they are acknowledged and not kept, and counted.
#[test]
fn tombstone_flood_of_entries_never_held_stays_within_the_bound() {
    let bed = Bed::new("boundtomb");
    let before = vm_hwm(bed.d.pid());
    let deletions = csu_requests((0..1_000_000).map(|i| csa(i, wire::SEQ_FIRST + 1, b"")));
    let purges = csu_requests((2_000_000..2_500_000).map(|i| csa(i, wire::SEQ_PURGE, b"")));
    let received = bed.flood(&deletions, "csu_request");
    let per_del = deletions[0].body.record_count() as u64;
    let received_purges = bed.flood(&purges, "csu_request");
    let per_purge = purges[0].body.record_count() as u64;
    let held = bed.d.servers()[0].entries_held;
    let not_kept = bed.stat(&["cache_full"]);
    let stray = bed.stat(&["stray_purges"]);
    println!(
        "daemon_bounds tombstones: 1000000 deletions and 500000 purges of entries never held \
         sent in {} and {} CSU Requests, {received} and {received_purges} received; held \
         {held} deleted entries, {not_kept} deletions not kept, {stray} purges not stored",
        deletions.len(),
        purges.len()
    );
    let cost = scsp_core::cache::entry_cost(&rid(0), b"") as u64;
    assert!(received * per_del >= 900_000, "the flood arrived");
    assert!(held <= MAX_CACHE_BYTES / cost, "{held} entries held");
    assert!(held >= MAX_CACHE_BYTES / cost - 1, "kept up to the bound");
    assert!(
        not_kept + held >= received * per_del - per_del,
        "every deletion not kept counted"
    );
    assert!(
        stray >= (received_purges - 1) * per_purge,
        "every purge counted"
    );
    let log = bed.d.log_text();
    assert!(
        log.contains("not kept"),
        "the deletions not kept are logged"
    );
    assert!(
        log.contains("of an entry not held"),
        "the purges are logged"
    );
    bed.finish("tombstone flood", before);
}

/// (c2) Deletions of entries never held are remembered `StrayDeletionHold` seconds, not the
/// hour a deletion of an entry held is.
#[test]
fn deletions_of_entries_never_held_are_forgotten_after_the_stray_hold() {
    let bed = Bed::with("boundstray", "StrayDeletionHold 2;", 0);
    let before = vm_hwm(bed.d.pid());
    let deletions = csu_requests((0..1000).map(|i| csa(i, wire::SEQ_FIRST + 1, b"")));
    let received = bed.flood(&deletions, "csu_request");
    assert_eq!(received, deletions.len() as u64, "the deletions arrived");
    let held = bed.d.servers()[0].entries_held;
    assert!(held > 0, "kept for a while");
    let start = Instant::now();
    bed.d.wait_until(30, "the deletions forgotten", || {
        bed.d.servers()[0].entries_held == 0
    });
    println!(
        "daemon_bounds stray deletions: {held} held after the flood, none {:.1} s later \
         (StrayDeletionHold 2)",
        start.elapsed().as_secs_f64()
    );
    bed.finish("stray deletions", before);
}

/// (d) 1,000,000 new entries of 40 bytes (each costing 208 against the bound: about 80,000
/// fit in 16 MiB): those past the bound are refused (not acknowledged) and counted; a newer
/// instance of an entry held is still accepted, and the local server is told the cache is full.
#[test]
fn new_entries_past_the_cache_byte_bound_are_refused_and_newer_instances_accepted() {
    let bed = Bed::new("boundnew");
    let before = vm_hwm(bed.d.pid());
    let data = [0x11u8; 40];
    let packets = csu_requests((0..1_000_000).map(|i| csa(i, wire::SEQ_FIRST, &data)));
    let received = bed.flood(&packets, "csu_request");
    let per = packets[0].body.record_count() as u64;
    let held = bed.d.servers()[0].entries_held;
    let refused = bed.stat(&["cache_full"]);
    let cost = scsp_core::cache::entry_cost(&rid(0), &data) as u64;
    println!(
        "daemon_bounds new entries: 1000000 new entries of 40 bytes sent in {} CSU Requests, \
         {received} received; held {held} ({} counted against the bound), {refused} refused",
        packets.len(),
        mib(held * cost)
    );
    assert!(received * per >= 900_000, "the flood arrived");
    assert_eq!(held, MAX_CACHE_BYTES / cost, "filled to the bound");
    assert!(
        refused >= received * per - per - held,
        "the rest refused and counted"
    );
    // A newer instance of an entry held, larger: accepted.
    let learned = bed.stat(&["records_learned"]);
    bed.h.send(&packet(Body::CsuRequest {
        records: vec![csa(0, wire::SEQ_FIRST + 1, &[0x22; 200])],
    }));
    bed.d.wait_until(10, "the newer instance learned", || {
        bed.stat(&["records_learned"]) == learned + 1
    });
    // The local server cannot add a new entry.
    let e = bed
        .d
        .request(scspd::proto::Request::Add {
            server: "s".into(),
            key: "0a0b0c0d".into(),
            data: "00".into(),
        })
        .unwrap_err();
    assert!(e.message.contains("the cache is full"), "{e:?}");
    assert!(
        bed.d.log_text().contains("the cache is at its bound"),
        "the refusals are logged"
    );
    bed.finish("new entries past the byte bound", before);
}

/// The CSA Request List: the DCS summarizes 300,000 entries the daemon does not hold, with
/// `MaxCSARequests 20000`. The list takes 20,000, the rest are counted and not solicited, and
/// the alignment ends (Aligned, with what the list held). (Here the DCS answers what it is asked:
/// the attack is the size of its summary.)
#[test]
fn csa_request_list_bound_refuses_summaries_and_the_alignment_ends() {
    let n = 300_000u32;
    let bed = Bed::with("boundcrl", "MaxCSARequests 20000;", n);
    let d = &bed.d.dcs("s")[0];
    let refused = bed.stat(&["csa_requests_refused"]);
    let held = bed.d.servers()[0].entries_held;
    println!(
        "daemon_bounds CSA Request List: {n} entries summarized by the DCS; {held} solicited \
         and learned, {refused} not solicited (MaxCSARequests 20000)"
    );
    assert_eq!(held, 20_000, "what the list held is learned");
    assert_eq!(refused, u64::from(n) - 20_000, "the rest counted");
    assert_eq!(d.crl, 0, "the list empty once Aligned");
    assert!(
        bed.d
            .log_text()
            .contains("the CSA Request List is at its bound"),
        "the refusals are logged"
    );
    bed.finish("CSA Request List", bed.started);
}
