//! Streamed replies, output budgets, sliced loads and connections, against real daemons
//! (docs/client-protocol.md, "show_cache", "Limits"):
//!
//! - `show cache` streamed in frames, its filters and paging, the version-1 single reply, the
//!   dump streamed; the same through scspctl.
//! - Clients that ask for the whole cache and never read, while a big `load` runs: the
//!   neighbour's Hellos stay on time, no DCS goes down, the daemon's memory stays bounded, and
//!   each such client is cut off with `overflow` and counted.
//! - Connections that never say hello do not lock scspctl out; many monitors watch beside the
//!   attached local server.
//!
//! The figures at the scale (100,000 entries, 32 clients, a load of 1.4M) come from
//! `scsp-bench clients` (docs/PERFORMANCE.md); this test runs a smaller scale in seconds.

mod common;

use std::collections::HashSet;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use common::*;
use scspd::proto::{
    CacheQuery, ClientMsg, DaemonMsg, ErrorCode, KeyData, ReplyResult, Request, Response,
};

/// Held by the tests that time Hellos or measure memory, and by those that load the machine
/// (tests of one binary run in parallel, and two cores are shared): one at a time.
static HEAVY: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn heavy() -> std::sync::MutexGuard<'static, ()> {
    HEAVY.lock().unwrap_or_else(|e| e.into_inner())
}

fn load_req(server: &str, from: u32, n: u32) -> Request {
    Request::Load {
        server: server.into(),
        entries: (from..from + n)
            .map(|i| KeyData {
                key: format!("{i:08x}"),
                data: format!("aa{:08x}", i.wrapping_mul(2_654_435_761)),
                seq: None,
            })
            .collect(),
    }
}

fn loaded(d: &Daemon, server: &str, from: u32, n: u32) {
    let mut c = d.client();
    c.stream
        .set_read_timeout(Some(Duration::from_secs(300)))
        .unwrap();
    match c.request(load_req(server, from, n)) {
        Ok(Response::Loaded { accepted, errors }) => {
            assert_eq!((accepted, errors.len()), (u64::from(n), 0), "{errors:?}")
        }
        r => panic!("load: {r:?}"),
    }
}

fn show(server: &str, query: CacheQuery) -> Request {
    Request::ShowCache {
        server: server.into(),
        query,
    }
}

/// Send `req` and read every frame of its reply: the parts, or the error.
fn frames(
    c: &mut Client,
    id: u64,
    req: Request,
) -> Result<Vec<Response>, scspd::proto::ProtoError> {
    c.send(&ClientMsg::Request { id, req }).unwrap();
    let mut parts = Vec::new();
    loop {
        match c.recv().unwrap() {
            DaemonMsg::Reply {
                id: got,
                result: ReplyResult::Ok(r),
            } => {
                assert_eq!(got, id);
                let more = matches!(
                    r,
                    Response::Cache { more: true, .. }
                        | Response::Dump { more: true, .. }
                        | Response::Attached { more: true, .. }
                );
                parts.push(r);
                if !more {
                    return Ok(parts);
                }
            }
            DaemonMsg::Reply {
                result: ReplyResult::Error(e),
                ..
            } => return Err(e),
            m => panic!("unexpected {m:?}"),
        }
    }
}

fn keys_of(parts: &[Response]) -> Vec<String> {
    parts
        .iter()
        .flat_map(|p| match p {
            Response::Cache { entries, .. } => entries
                .iter()
                .map(|e| e.key.clone())
                .collect::<Vec<String>>(),
            r => panic!("not a cache part: {r:?}"),
        })
        .collect::<Vec<String>>()
}

/// A version-1 session.
fn v1(d: &Daemon) -> Client {
    Client::connect_version(&d.socket, 1).unwrap()
}

#[test]
fn show_cache_is_streamed_filtered_and_paged() {
    let (p, q) = (free_udp_port("127.0.0.1"), free_udp_port("127.0.0.2"));
    let d = Daemon::start("stream", &server_conf("s_a", (1, p), &[(2, q)], ""));
    const N: u32 = 5000;
    loaded(&d, "s_a", 0, N);
    let mut c = d.client();

    // The whole cache: several frames, every entry once.
    let parts = frames(&mut c, 1, show("s_a", CacheQuery::default())).unwrap();
    assert!(
        parts.len() >= (N as usize).div_ceil(256),
        "{} frames",
        parts.len()
    );
    let keys = keys_of(&parts);
    assert_eq!(keys.len(), N as usize);
    assert_eq!(keys.iter().collect::<HashSet<_>>().len(), N as usize);

    // Count; key prefix; originator.
    let count = |q: CacheQuery| match frames(&mut d.client(), 1, show("s_a", q)).unwrap().pop() {
        Some(Response::Cache { entries, count, .. }) => {
            assert!(entries.is_empty());
            count.unwrap()
        }
        r => panic!("{r:?}"),
    };
    let all = CacheQuery {
        count: true,
        ..Default::default()
    };
    assert_eq!(count(all.clone()), u64::from(N));
    let prefix = CacheQuery {
        key: Some("000000".into()),
        ..Default::default()
    };
    let got = keys_of(&frames(&mut c, 2, show("s_a", prefix.clone())).unwrap());
    assert_eq!(got.len(), 256);
    assert!(got.iter().all(|k| k.starts_with("000000")));
    assert_eq!(
        count(CacheQuery {
            count: true,
            ..prefix
        }),
        256
    );
    for (who, want) in [("127.0.0.1", u64::from(N)), ("127.0.0.9", 0)] {
        let q = CacheQuery {
            originator: Some(who.into()),
            count: true,
            ..Default::default()
        };
        assert_eq!(count(q), want, "originator {who}");
    }

    // Pages of 1000 with the cursor: every entry exactly once.
    let mut seen = HashSet::new();
    let mut cursor = None;
    let mut pages = 0;
    loop {
        let q = CacheQuery {
            limit: Some(1000),
            cursor: cursor.take(),
            ..Default::default()
        };
        let parts = frames(&mut c, 10 + pages, show("s_a", q)).unwrap();
        let keys = keys_of(&parts);
        assert!(keys.len() <= 1000);
        for k in keys {
            assert!(seen.insert(k.clone()), "{k} twice");
        }
        pages += 1;
        match parts.last() {
            Some(Response::Cache { next: Some(n), .. }) => cursor = Some(n.clone()),
            _ => break,
        }
        assert!(pages < 20, "the pages never end");
    }
    assert_eq!(seen.len(), N as usize);
    assert!(pages >= 5);

    // Bad arguments are replies, not the session's end.
    for q in [
        CacheQuery {
            cursor: Some("nowhere".into()),
            ..Default::default()
        },
        CacheQuery {
            originator: Some("not an id".into()),
            ..Default::default()
        },
        CacheQuery {
            key: Some("xyz".into()),
            ..Default::default()
        },
    ] {
        let e = frames(&mut c, 50, show("s_a", q)).unwrap_err();
        assert_eq!(e.code, ErrorCode::BadArgument, "{e:?}");
    }
    let e = frames(&mut c, 51, show("nope", CacheQuery::default())).unwrap_err();
    assert_eq!(e.code, ErrorCode::NoSuchServer);

    // Version 1: one frame, sorted, at most 4096 entries.
    let mut old = v1(&d);
    let e = old.request(show("s_a", CacheQuery::default())).unwrap_err();
    assert_eq!(e.code, ErrorCode::Refused);
    assert!(e.message.contains("limit"), "{}", e.message);
    let q = CacheQuery {
        key: Some("00000".into()),
        ..Default::default()
    };
    let parts = frames(&mut old, 90, show("s_a", q)).unwrap();
    assert_eq!(parts.len(), 1);
    let keys = keys_of(&parts);
    assert_eq!(keys.len(), 4096);
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "a version-1 reply is sorted by key");

    // The dump, streamed: the entries' lines come in several frames.
    let parts = frames(&mut c, 60, Request::Dump).unwrap();
    assert!(parts.len() > 2, "{} frames", parts.len());
    let text: String = parts
        .iter()
        .map(|p| match p {
            Response::Dump { text, .. } => text.as_str(),
            r => panic!("{r:?}"),
        })
        .collect();
    assert_eq!(text.matches("\n    key ").count(), N as usize);
    assert!(text.contains("client interface: socket"));

    // scspctl: --count, --key, --limit (the cursor on standard error), dump.
    assert_eq!(
        scspctl_ok(&d.socket, &["show", "cache", "s_a", "--count"]),
        "5000\n"
    );
    let t = scspctl_ok(&d.socket, &["show", "cache", "s_a", "--key", "0000001"]);
    assert_eq!(t.lines().count(), 1 + 16, "{t}");
    let o = scspctl(&d.socket, &["show", "cache", "s_a", "--limit", "10"]);
    assert!(o.status.success());
    assert_eq!(String::from_utf8_lossy(&o.stdout).lines().count(), 11);
    assert!(String::from_utf8_lossy(&o.stderr).contains("--cursor"));
    let dump = scspctl_ok(&d.socket, &["dump"]);
    assert_eq!(dump.matches("\n    key ").count(), N as usize);
}

/// A message, cut short for an assertion's text.
fn brief(m: &DaemonMsg) -> String {
    format!("{m:?}").chars().take(300).collect()
}

/// VmRSS of `pid`, bytes.
fn vm_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse::<u64>().ok())
        .expect("VmRSS")
        * 1024
}

#[test]
fn clients_that_do_not_read_neither_stall_hellos_nor_pin_memory() {
    let _one = heavy();
    const BASE: u32 = 100_000;
    const LOAD: u32 = 400_000;
    const CLIENTS: usize = 32;
    const WATCHERS: usize = 8;
    let (pa, pb) = (free_udp_port("127.0.0.1"), free_udp_port("127.0.0.2"));
    let a = Daemon::start("slowA", &server_conf("s_a", (1, pa), &[(2, pb)], ""));
    let b = Daemon::start("slowB", &server_conf("s_a", (2, pb), &[(1, pa)], ""));
    for (d, id) in [(&a, "127.0.0.2"), (&b, "127.0.0.1")] {
        d.wait_until(20, "Aligned", || d.dcs_by_id("s_a", id).ca == "Aligned");
    }
    loaded(&a, "s_a", 0, BASE);
    b.wait_until(60, "the base entries at B", || {
        b.servers()[0].entries == u64::from(BASE)
    });
    let idle = vm_rss(a.pid());

    // Clients that ask for the whole cache and never read.
    let mut stuck: Vec<Client> = (0..CLIENTS)
        .map(|i| {
            let mut c = a.client();
            c.send(&ClientMsg::Request {
                id: i as u64,
                req: show("s_a", CacheQuery::default()),
            })
            .unwrap();
            c
        })
        .collect();
    // And monitors and the local server, whose snapshot of the cache (streamed a page at a
    // time) they never read either.
    for i in 0..WATCHERS + 1 {
        let mut c = a.client();
        let req = if i == WATCHERS {
            Request::Attach {
                server: "s_a".into(),
                confirm: false,
            }
        } else {
            Request::Watch {
                server: "s_a".into(),
            }
        };
        c.send(&ClientMsg::Request { id: 1, req }).unwrap();
        stuck.push(c);
    }
    let silent = stuck.len();

    // The neighbour's view of the Hellos, and A's memory, while a big load runs.
    let t0 = Instant::now();
    let dead_ms = 3 * 1000;
    let watcher = {
        let b_socket = b.socket.clone();
        let a_pid = a.pid();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let s = stop.clone();
        let h = std::thread::spawn(move || {
            let mut view = Client::connect(&b_socket).unwrap();
            let mut hellos: Vec<u64> = Vec::new();
            let mut peak = 0;
            while !s.load(std::sync::atomic::Ordering::Relaxed) {
                if let Some(t) = last_hello_ms(&mut view, "s_a", "127.0.0.1", t0, dead_ms)
                    && hellos.last().is_none_or(|&l| t > l + 50)
                {
                    hellos.push(t);
                }
                peak = peak.max(vm_rss(a_pid));
                std::thread::sleep(Duration::from_millis(20));
            }
            (hellos, peak)
        });
        (h, stop)
    };
    std::thread::sleep(Duration::from_secs(2));
    let with_clients = vm_rss(a.pid());
    let started = Instant::now();
    loaded(&a, "s_a", BASE, LOAD);
    let load_s = started.elapsed().as_secs_f64();
    std::thread::sleep(Duration::from_millis(2500));
    watcher.1.store(true, std::sync::atomic::Ordering::Relaxed);
    let (hellos, peak) = watcher.0.join().unwrap();
    let gaps: Vec<u64> = hellos.windows(2).map(|w| w[1] - w[0]).collect();
    let worst = gaps.iter().copied().max().unwrap_or(0);
    eprintln!(
        "idle RSS {} MiB with {BASE} entries; with {silent} clients not reading {} MiB; \
         peak {} MiB during the load of {LOAD} ({load_s:.2} s); Hellos seen {}, largest gap \
         {worst} ms",
        idle >> 20,
        with_clients >> 20,
        peak >> 20,
        hellos.len()
    );
    assert!(hellos.len() >= 4, "{hellos:?}");
    // HelloInt 1: a Hello late by more than 200 ms is a gap over 1.2 s.
    assert!(worst <= 1200, "Hello gaps {gaps:?}");
    assert!(
        with_clients <= idle + (64 << 20),
        "RSS {with_clients} with the clients, {idle} idle"
    );
    for (d, id) in [(&a, "127.0.0.2"), (&b, "127.0.0.1")] {
        let v = d.dcs_by_id("s_a", id);
        assert_eq!(
            (v.ca.as_str(), v.flaps),
            ("Aligned", 0),
            "{}: {v:?}",
            d.name
        );
        assert_eq!(v.hello, "Bidirectional");
    }

    // Each silent client is cut off (its stream stalled for 10 s), and counted.
    let slow = || {
        let text = match a.ok(Request::ShowMetrics) {
            Response::Metrics { text } => text,
            r => panic!("{r:?}"),
        };
        samples(&text)
            .get("scsp_client_slow_disconnects_total")
            .copied()
            .unwrap_or(0.0)
    };
    a.wait_until(30, "the silent clients cut off", || slow() >= silent as f64);
    assert_eq!(slow(), silent as f64);
    let log = a.log_text();
    assert_eq!(
        log.matches("overflow: ").count(),
        silent,
        "one line per client cut off"
    );
    assert!(log.contains("not read for 10 s"), "{log}");
    // What each finally reads ends with `overflow`.
    for c in &mut stuck {
        let mut last = None;
        while let Ok(m) = c.recv() {
            last = Some(m);
        }
        match last {
            Some(DaemonMsg::Fatal { error }) => {
                assert_eq!(error.code, ErrorCode::Overflow, "{error:?}")
            }
            Some(m) => panic!("no fatal: {}", brief(&m)),
            None => panic!("nothing read"),
        }
    }
}

#[test]
fn silent_connections_do_not_lock_out_control_and_monitors_are_many() {
    let (p, q) = (free_udp_port("127.0.0.1"), free_udp_port("127.0.0.2"));
    let d = Daemon::start("crowd", &server_conf("s_a", (1, p), &[(2, q)], ""));
    // More silent connections than the old pool of 64.
    let silent: Vec<UnixStream> = (0..100)
        .map(|_| UnixStream::connect(&d.socket).unwrap())
        .collect();
    let t = scspctl_ok(&d.socket, &["show", "servers"]);
    assert!(t.contains("s_a"), "{t}");
    // More monitors than the old 8, and the local server attaches beside them.
    let mut monitors: Vec<Client> = (0..20)
        .map(|_| {
            let mut c = d.client();
            match c.request(Request::Watch {
                server: "s_a".into(),
            }) {
                Ok(Response::Attached { .. }) => c,
                r => panic!("watch: {r:?}"),
            }
        })
        .collect();
    let mut local = d.client();
    assert!(matches!(
        local.request(Request::Attach {
            server: "s_a".into(),
            confirm: false
        }),
        Ok(Response::Attached { .. })
    ));
    assert!(d.servers()[0].client_attached);
    // The monitors are still there: each answers a request.
    for m in &mut monitors {
        assert!(m.request(Request::ShowServers).is_ok());
    }
    drop(silent);
}

#[test]
fn the_read_only_socket_shows_and_watches_but_changes_nothing() {
    let (p, q) = (free_udp_port("127.0.0.1"), free_udp_port("127.0.0.2"));
    let dir = TempDir::new("rosock");
    let ro = dir.path().join("ro.sock");
    let ro_arg = ro.to_str().unwrap();
    let d = Daemon::start_with(
        "rosock",
        &server_conf("s_a", (1, p), &[(2, q)], ""),
        &["--ro-socket", ro_arg, "--ro-socket-mode", "666"],
    );
    {
        use std::os::unix::fs::{FileTypeExt, PermissionsExt};
        let m = std::fs::metadata(&ro).unwrap();
        assert!(m.file_type().is_socket());
        assert_eq!(m.permissions().mode() & 0o777, 0o666);
    }
    d.add("s_a", "0a000001", "01");
    let mut c = Client::connect(&ro).unwrap();
    // Seeing is allowed.
    assert!(matches!(
        c.request(Request::ShowServers),
        Ok(Response::Servers { .. })
    ));
    let parts = frames(&mut c, 100, show("s_a", CacheQuery::default())).unwrap();
    assert_eq!(keys_of(&parts), vec!["0a000001".to_owned()]);
    assert!(matches!(
        c.request(Request::ShowStatus),
        Ok(Response::Status { .. })
    ));
    assert!(matches!(
        c.request(Request::Watch {
            server: "s_a".into()
        }),
        Ok(Response::Attached { .. })
    ));
    // Changing is not, and the session goes on.
    for req in [
        Request::Add {
            server: "s_a".into(),
            key: "0a000002".into(),
            data: "02".into(),
        },
        Request::Del {
            server: "s_a".into(),
            key: "0a000001".into(),
        },
        Request::Attach {
            server: "s_a".into(),
            confirm: false,
        },
        Request::Reload,
        Request::ClearCounters { server: None },
        load_req("s_a", 10, 3),
    ] {
        let e = c.request(req.clone()).unwrap_err();
        assert_eq!(e.code, ErrorCode::Refused, "{req:?}");
        assert!(e.message.contains("read-only"), "{}", e.message);
    }
    assert_eq!(triples(&d.cache("s_a")).len(), 1);
    // scspctl on it: show works, add is refused (exit status 1).
    assert!(scspctl_ok(&ro, &["show", "cache", "s_a"]).contains("0a000001"));
    let o = scspctl(&ro, &["add", "s_a", "0a000003", "03"]);
    assert_eq!(o.status.code(), Some(1));
    drop(d);
}

/// A view of a cache: (key, originator) to (seq, data).
type View = std::collections::BTreeMap<(String, String), (u32, String)>;

fn view_of(entries: &[scspd::proto::EntryView]) -> View {
    entries
        .iter()
        .map(|e| {
            (
                (e.key.clone(), e.originator.clone()),
                (e.seq, e.data.clone()),
            )
        })
        .collect()
}

/// Apply a notification as docs/client-protocol.md, "The snapshot", says: an entry sent
/// stores or replaces, `removed` drops what is held.
fn apply(view: &mut View, n: scspd::proto::Notify) {
    use scspd::proto::Notify;
    match n {
        Notify::Learned { entry, .. } | Notify::Replaced { entry, .. } => {
            view.insert((entry.key, entry.originator), (entry.seq, entry.data));
        }
        Notify::Removed { entry, .. } => {
            view.remove(&(entry.key, entry.originator));
        }
        Notify::Confirm { .. } => {}
    }
}

#[test]
fn the_snapshot_and_the_changes_meanwhile_make_the_cache() {
    let _one = heavy();
    const BASE: u32 = 20_000;
    let (a, b) = pair("snap", free_pair());
    loaded(&b, "s_a", 0, BASE);
    a.wait_until(60, "B's entries at A", || {
        a.servers()[0].entries == u64::from(BASE)
    });
    // A monitor of version 3 that reads its frames slowly, so that B's changes reach A while
    // the snapshot streams.
    let mut m = a.client();
    m.send(&ClientMsg::Request {
        id: 1,
        req: Request::Watch {
            server: "s_a".into(),
        },
    })
    .unwrap();
    // Asked at once, answered only after the snapshot's last frame.
    m.send(&ClientMsg::Request {
        id: 2,
        req: Request::ShowStatus,
    })
    .unwrap();
    let mut view = View::new();
    let first = m.recv().unwrap();
    match first {
        DaemonMsg::Reply {
            id: 1,
            result:
                ReplyResult::Ok(Response::Attached {
                    entries,
                    more: true,
                }),
        } => view.extend(view_of(&entries)),
        m => panic!("not a first part of the snapshot: {}", brief(&m)),
    }
    // B hands over: its first 500 entries withdrawn, the next 1,000 with new data, 1,500 new
    // ones (3,000 changes: fewer than the 4,096 notifications a client may leave unread).
    let changer = {
        let socket = b.socket.clone();
        std::thread::spawn(move || {
            let mut c = Client::connect(&socket).unwrap();
            c.stream
                .set_read_timeout(Some(Duration::from_secs(120)))
                .unwrap();
            let entries = (500..BASE + 1_500)
                .map(|i| KeyData {
                    key: format!("{i:08x}"),
                    data: if i < 1_500 {
                        format!("bb{i:08x}")
                    } else {
                        format!("aa{:08x}", i.wrapping_mul(2_654_435_761))
                    },
                    seq: None,
                })
                .collect();
            match c.request(Request::Handover {
                server: "s_a".into(),
                entries,
            }) {
                Ok(Response::Loaded { errors, .. }) => assert!(errors.is_empty(), "{errors:?}"),
                r => panic!("handover: {r:?}"),
            }
        })
    };
    // The rest of the snapshot, a frame every 50 ms, applied in order with the notifications
    // between its frames.
    let mut between = 0;
    loop {
        match m.recv().unwrap() {
            DaemonMsg::Reply {
                id: 1,
                result: ReplyResult::Ok(Response::Attached { entries, more }),
            } => {
                view.extend(view_of(&entries));
                if !more {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            DaemonMsg::Notify(n) => {
                between += 1;
                apply(&mut view, n);
            }
            m => panic!("unexpected {}", brief(&m)),
        }
    }
    loop {
        match m.recv().unwrap() {
            DaemonMsg::Notify(n) => apply(&mut view, n),
            DaemonMsg::Reply {
                id: 2,
                result: ReplyResult::Ok(Response::Status { .. }),
            } => break,
            m => panic!("unexpected {}", brief(&m)),
        }
    }
    changer.join().unwrap();
    assert!(
        between > 0,
        "no change was notified while the snapshot streamed: the test did not test"
    );
    let expected = u64::from(BASE + 1_000);
    a.wait_until(60, "the handover at A", || {
        let v = a.dcs_by_id("s_a", "127.0.0.2");
        a.servers()[0].entries == expected && v.rexmit_queue == 0 && v.crl == 0
    });
    let truth = view_of(&a.cache("s_a"));
    assert_eq!(truth.len() as u64, expected);
    // The notifications after the snapshot bring the monitor's view to the cache.
    m.stream
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while view != truth && Instant::now() < deadline {
        match m.recv() {
            Ok(DaemonMsg::Notify(n)) => apply(&mut view, n),
            Ok(msg) => panic!("unexpected {}", brief(&msg)),
            Err(_) => {}
        }
    }
    let wrong = truth
        .iter()
        .filter(|(k, v)| view.get(*k) != Some(*v))
        .count()
        + view.keys().filter(|k| !truth.contains_key(*k)).count();
    assert_eq!(
        wrong, 0,
        "{wrong} entries differ after {between} changes mid-snapshot"
    );

    // Versions 1 and 2 get the snapshot in one frame, the same cache.
    for version in [1, 2] {
        let mut c = Client::connect_version(&a.socket, version).unwrap();
        match c.request(Request::Watch {
            server: "s_a".into(),
        }) {
            Ok(Response::Attached { entries, more }) => {
                assert!(!more);
                assert_eq!(view_of(&entries), truth, "version {version}");
            }
            r => panic!("version {version} watch: {r:?}"),
        }
    }
}

/// Issue 13, case 2: a `show cache` of 300,000 entries (which failed with "frame too large"
/// after the daemon had grown by 650 MB) comes in frames of at most 256 entries, every entry
/// once, while the daemon's memory stays within 64 MiB of its size before.
#[test]
fn show_cache_of_300000_entries_comes_in_bounded_frames_and_memory() {
    let _one = heavy();
    const N: u32 = 300_000;
    let (p, q) = (free_udp_port("127.0.0.1"), free_udp_port("127.0.0.2"));
    let d = Daemon::start("bigshow", &server_conf("s_a", (1, p), &[(2, q)], ""));
    loaded(&d, "s_a", 0, N);
    let before = vm_rss(d.pid());
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = {
        let (stop, pid) = (stop.clone(), d.pid());
        std::thread::spawn(move || {
            let mut peak = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                peak = peak.max(vm_rss(pid));
                std::thread::sleep(Duration::from_millis(10));
            }
            peak
        })
    };
    let mut c = d.client();
    c.stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .unwrap();
    let parts = frames(&mut c, 1, show("s_a", CacheQuery::default())).unwrap();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let peak = sampler.join().unwrap();
    let largest = parts
        .iter()
        .map(|p| serde_json::to_vec(p).unwrap().len())
        .max()
        .unwrap();
    let keys = keys_of(&parts);
    eprintln!(
        "{} frames, the largest {largest} bytes; RSS {} MiB before, peak {} MiB",
        parts.len(),
        before >> 20,
        peak >> 20
    );
    assert_eq!(keys.len(), N as usize);
    assert_eq!(keys.iter().collect::<HashSet<_>>().len(), N as usize);
    assert!(
        parts.iter().all(|p| match p {
            Response::Cache { entries, .. } => entries.len() <= 256,
            _ => false,
        }),
        "a frame of more than 256 entries"
    );
    assert!(largest < 1 << 20, "a frame of {largest} bytes");
    assert!(
        peak <= before + (64 << 20),
        "RSS peak {peak} during the reply, {before} before"
    );
}
