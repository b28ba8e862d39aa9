//! RFC 2334 B.3.1 between real daemons: with the same key on both sides the pair aligns and every
//! packet carries the Authentication extension; with another key every packet is dropped,
//! counted as an authentication failure, and nothing is learned.

mod common;

use common::*;

fn auth(key: &str) -> String {
    format!("Auth {{ SendSPI 7; RecvSPI 7; Algorithm HMAC-SHA-256; Key \"{key}\"; }};")
}

fn failures(d: &Daemon) -> u64 {
    d.dcs("s_a")[0].stats["auth_failures"].as_u64().unwrap()
}

#[test]
fn same_key_aligns_other_key_is_refused_and_counted() {
    let good = auth("a shared secret of some length");
    let (pa, pb) = free_pair();
    let a = Daemon::start("authA", &server_conf("s_a", (1, pa), &[(2, pb)], &good));
    let b = Daemon::start("authB", &server_conf("s_a", (2, pb), &[(1, pa)], &good));
    for d in [&a, &b] {
        d.wait_until(15, "alignment", || d.dcs("s_a")[0].ca == "Aligned");
    }
    a.add("s_a", "0a", "01");
    b.wait_until(10, "the entry", || b.cache("s_a").len() == 1);
    assert_eq!(failures(&a), 0);
    assert_eq!(failures(&b), 0);

    let bad = auth("another secret entirely, not shared");
    let (pc, pd) = (free_udp_port("127.0.0.3"), free_udp_port("127.0.0.4"));
    let c = Daemon::start("authC", &server_conf("s_a", (3, pc), &[(4, pd)], &good));
    let d = Daemon::start("authD", &server_conf("s_a", (4, pd), &[(3, pc)], &bad));
    c.add("s_a", "0c", "01");
    c.wait_until(10, "refused packets", || failures(&c) >= 3);
    d.wait_until(10, "refused packets", || failures(&d) >= 3);
    assert_ne!(c.dcs("s_a")[0].hello, "Bidirectional");
    assert_ne!(d.dcs("s_a")[0].hello, "Bidirectional");
    assert!(
        d.cache("s_a").is_empty(),
        "nothing learned from unauthenticated packets"
    );
    let log = d.log_text();
    assert!(
        log.contains("authentication") && log.contains("127.0.0.3"),
        "the failure is logged naming the peer:\n{log}"
    );
}
