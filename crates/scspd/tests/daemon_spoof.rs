//! Spoofing between real daemons (docs/SECURITY.md): A and B authenticate with HMAC-SHA-256,
//! B's packets reach A through a relay in this test, which can also send forged packets to A from
//! B's address. A holds 2,000 entries. Packets without authentication, or with a wrong MAC, are
//! discarded and counted; the session stays Aligned, and A sends B nothing more than its Hellos:
//! a spoofed packet costs A no traffic (RFC 2334 B.3.1 read literally would realign 2,000 entries
//! per forged packet).

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::*;
use scsp_core::wire::{self, AuthAlgorithm, AuthKey, Id};

const AUTH: &str =
    "Auth { SendSPI 7; RecvSPI 7; Algorithm HMAC-SHA-256; Key \"spoofed secret\"; };";

fn conf(me: u8, port: u16, peer: u8, peer_port: u16) -> String {
    format!(
        "server s {{ protocol 65000; netif lo; ServerGroupID 7; ID 127.0.0.{me}; \
         Address 127.0.0.{me}; Port {port}; MTU 1472;\n\
         DCS {{ ID 127.0.0.{peer}; Address 127.0.0.1; Port {peer_port}; HelloInt 1; HelloDead 3; \
         {AUTH} }};\n}};\n"
    )
}

/// A Hello "from B" to A: unauthenticated, or signed with the wrong key.
fn forged(signed_wrong: bool) -> Vec<u8> {
    let p = hello_packet(Id::from([127, 0, 0, 3]), Id::from([127, 0, 0, 2]));
    let wrong = AuthKey {
        spi: 7,
        algorithm: AuthAlgorithm::HmacSha256,
        key: b"not the key".to_vec(),
    };
    wire::encode(&p, signed_wrong.then_some(&wrong)).unwrap()
}

#[test]
fn forged_packets_are_discarded_and_cost_no_realignment() {
    let relay = Relay::new();
    let (pa, pb) = (free_udp_port("127.0.0.2"), free_udp_port("127.0.0.3"));
    let a = Daemon::start("spoofA", &conf(2, pa, 3, relay.port_for_a()));
    let b = Daemon::start("spoofB", &conf(3, pb, 2, relay.port_for_b()));
    let a_addr: SocketAddr = format!("127.0.0.2:{pa}").parse().unwrap();
    relay.run(a_addr, format!("127.0.0.3:{pb}").parse().unwrap());
    let mut text = String::new();
    for i in 0..2000u32 {
        text.push_str(&format!("{:08x} {:04x}\n", 0x0a00_0000 | i, i));
    }
    let file = a.dir.path().join("entries.txt");
    std::fs::write(&file, text).unwrap();
    let _ = scspctl_ok(&a.socket, &["load", "s", &file.display().to_string()]);
    b.wait_until(30, "B aligned with A's 2000 entries", || {
        b.dcs("s")[0].ca == "Aligned" && b.cache("s").len() == 2000
    });
    let before = a.dcs("s")[0].clone();
    let t0 = Instant::now();
    // 100 forged packets from B's address: half unauthenticated, half with a wrong MAC.
    for i in 0..100 {
        relay.for_a.send_to(&forged(i % 2 == 1), a_addr).unwrap();
        std::thread::sleep(Duration::from_millis(10));
    }
    a.wait_until(10, "every forged packet counted", || {
        a.dcs("s")[0].stats["auth_failures"].as_u64().unwrap()
            >= before.stats["auth_failures"].as_u64().unwrap() + 100
    });
    let after = a.dcs("s")[0].clone();
    let secs = t0.elapsed().as_secs_f64();
    assert_eq!(after.ca, "Aligned", "{after:?}");
    assert_eq!(
        after.stats["alignments"], before.stats["alignments"],
        "no realignment"
    );
    assert_eq!(
        after.stats["abnormal_events"],
        before.stats["abnormal_events"]
    );
    // What A sent B meanwhile: its Hellos (one a second, about 100 bytes each, and a few
    // repeats), nothing like a realignment of 2,000 entries (about 60 kB of CA summaries).
    let sent = after.stats["tx"]["bytes"].as_u64().unwrap()
        - before.stats["tx"]["bytes"].as_u64().unwrap();
    assert!(
        (sent as f64) < 400.0 * (secs + 2.0),
        "A sent {sent} bytes to B in {secs:.1} s of spoofing"
    );
    assert!(
        a.log_text().contains("authentication"),
        "the failures are logged"
    );
}
