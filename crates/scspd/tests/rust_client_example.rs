//! The `scsp-client` crate's example local server (crates/scsp-client/examples/local_server.rs),
//! run against real daemons: its handover withdraws what its table no longer has and publishes
//! what it has; the group's changes reach it as notifications.

mod common;

#[path = "../../scsp-client/examples/local_server.rs"]
mod example;

use common::*;
use scsp_client::proto::Notify;

#[test]
fn the_example_local_server_hands_over_and_follows_the_group() {
    let (pa, pb) = (free_udp_port("127.0.0.1"), free_udp_port("127.0.0.2"));
    let a = Daemon::start("exA", &server_conf("s_a", (1, pa), &[(2, pb)], ""));
    let b = Daemon::start("exB", &server_conf("s_a", (2, pb), &[(1, pa)], ""));
    a.wait_until(20, "alignment", || a.dcs("s_a")[0].ca == "Aligned");
    // An entry A held from before: not in the example's table, so the handover withdraws it.
    a.add("s_a", "0a0000ff", "00");
    b.wait_until(10, "the old entry at B", || b.cache("s_a").len() == 1);

    let table = example::read_table("# key data\n0a000001 c0ffee\n0a000002 beef\n\n");
    assert_eq!(table.len(), 2);
    let socket = a.socket.clone();
    let b_socket = b.socket.clone();
    let seen = std::thread::spawn(move || {
        let mut seen = Vec::new();
        example::serve(&socket, "s_a", &table, |n| {
            if let Notify::Learned { entry, .. } = n {
                seen.push((entry.key.clone(), entry.data.clone()));
            }
            seen.is_empty()
        })
        .map(|()| seen)
    });
    // The group: B holds exactly the table, the old entry withdrawn.
    b.wait_until(10, "the table at B", || {
        let mut keys: Vec<String> = b.cache("s_a").into_iter().map(|e| e.key).collect();
        keys.sort();
        keys == ["0a000001", "0a000002"]
    });
    // A change made at B reaches the example.
    let _ = scspctl_ok(&b_socket, &["add", "s_a", "0b000001", "0102"]);
    let seen = seen.join().unwrap().expect("the session");
    assert_eq!(seen, vec![("0b000001".to_owned(), "0102".to_owned())]);
}
