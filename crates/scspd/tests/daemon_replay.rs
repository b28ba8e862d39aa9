//! Replay protection between real daemons (docs/replay-protection.md): A and B authenticate
//! with HMAC-SHA-256 and their packets pass through a recording relay in this test. After B has
//! gone and A has restarted (state lost), everything B ever sent is replayed to A from B's
//! address. With replay protection (the default) every replayed packet is refused and A never
//! takes the dead B for alive; with `Replay off;` (RFC 2334 B.3.1 alone) the same replay makes
//! it Bidirectional.

mod common;

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::Duration;

use common::*;

const AUTH: &str =
    "Auth { SendSPI 7; RecvSPI 7; Algorithm HMAC-SHA-256; Key \"replayed secret\"; };";

fn conf(me: u8, port: u16, peer: u8, peer_port: u16, extra: &str) -> String {
    format!(
        "server s {{ protocol 65000; netif lo; ServerGroupID 7; ID 127.0.0.{me}; \
         Address 127.0.0.{me}; Port {port}; MTU 1472;\n\
         DCS {{ ID 127.0.0.{peer}; Address 127.0.0.1; Port {peer_port}; HelloInt 1; HelloDead 3; \
         {AUTH} {extra} }};\n}};\n"
    )
}

fn refused(d: &Daemon) -> u64 {
    d.dcs("s")[0].stats["replays_refused"].as_u64().unwrap()
}

/// A and B aligned through the relay, B holding entries A learned, B gone, A restarted; then
/// B's recorded packets replayed to A, twice. Returns A and the number of packets replayed.
fn replay_after_restart(tag: &str, extra: &str) -> (Daemon, usize) {
    let relay = Relay::new();
    let (pa, pb) = (free_udp_port("127.0.0.2"), free_udp_port("127.0.0.3"));
    let mut a = Daemon::start(
        &format!("{tag}A"),
        &conf(2, pa, 3, relay.port_for_a(), extra),
    );
    let mut b = Daemon::start(
        &format!("{tag}B"),
        &conf(3, pb, 2, relay.port_for_b(), extra),
    );
    let a_addr: SocketAddr = format!("127.0.0.2:{pa}").parse().unwrap();
    relay.run(a_addr, format!("127.0.0.3:{pb}").parse().unwrap());
    for d in [&a, &b] {
        d.wait_until(20, "alignment", || d.dcs("s")[0].ca == "Aligned");
    }
    b.add("s", "b1", "01");
    b.add("s", "b2", "02");
    a.wait_until(10, "B's entries at A", || a.cache("s").len() == 2);
    let _ = b.ok(scspd::proto::Request::Del {
        server: "s".into(),
        key: "b1".into(),
    });
    a.wait_until(10, "b1 withdrawn at A", || a.cache("s").len() == 1);
    // B goes; A restarts with nothing.
    relay.b_up.store(false, Ordering::Relaxed);
    b.kill();
    a.restart();
    assert!(a.cache("s").is_empty());
    let recorded = relay.recorded.lock().unwrap().clone();
    relay.replay_to_a(&recorded, a_addr);
    // Replayed again a second later, after A's first Hellos.
    relay.replay_to_a(&recorded, a_addr);
    std::thread::sleep(Duration::from_millis(300));
    (a, 2 * recorded.len())
}

#[test]
fn nothing_recorded_before_a_restart_is_accepted_after_it() {
    let (a, sent) = replay_after_restart("replayOn", "");
    a.wait_until(10, "every replayed packet refused", || {
        refused(&a) >= sent as u64
    });
    let v = &a.dcs("s")[0];
    assert_ne!(
        v.hello, "Bidirectional",
        "the dead B taken for alive: {v:?}"
    );
    assert!(
        a.cache("s").is_empty(),
        "learned from a replay: {:?}",
        a.cache("s")
    );
    assert!(
        a.log_text().contains("replay protection: stale nonce"),
        "logged:\n{}",
        a.log_text()
    );
}

#[test]
fn without_replay_protection_the_same_replay_revives_the_dead_dcs() {
    let (a, _) = replay_after_restart("replayOff", "Replay off;");
    a.wait_until(10, "the replayed Hellos taken", || {
        a.dcs("s")[0].hello == "Bidirectional"
    });
    assert_eq!(refused(&a), 0);
}
