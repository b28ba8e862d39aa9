//! Several server groups in one process (2): independent instances routed by PID/SGID.

use std::time::Duration;

use scsp_core::wire::{Data, Id};
use scsp_core::{CaState, DcsConfig, Node, Server, ServerConfig, ServerIdx, Time, peek_group};

fn server(pid: u16, sgid: u16, me: u8, peer: u8) -> Server {
    let mut s = Server::new(ServerConfig::new(pid, sgid, Id::from([10, 0, 0, me])));
    let mut d = DcsConfig::new(Id::from([10, 0, 0, peer]));
    d.hello_interval = 1;
    let now = Time::ZERO;
    let id = s.add_dcs(now, d);
    s.link_up(now, id);
    s
}

/// Run two nodes back to back (every packet delivered after 1 ms) for `secs` virtual seconds.
fn run(nodes: &mut [Node; 2], secs: u64) {
    let mut now = Time::ZERO;
    let end = Time::from_millis(secs * 1000);
    let mut wire: Vec<(Time, usize, Vec<u8>)> = Vec::new();
    while now < end {
        for (n, node) in nodes.iter_mut().enumerate() {
            while let Some((_, t)) = node.poll_transmit() {
                wire.push((now + Duration::from_millis(1), 1 - n, t.bytes));
            }
        }
        let next_packet = wire.iter().map(|w| w.0).min();
        let next_timer = nodes.iter_mut().filter_map(Node::poll_timeout).min();
        let Some(t) = [next_packet, next_timer].into_iter().flatten().min() else {
            break;
        };
        now = t.max(now);
        let (due, rest): (Vec<_>, Vec<_>) = wire.drain(..).partition(|w| w.0 <= now);
        wire = rest;
        for (_, to, bytes) in due {
            nodes[to].handle_datagram(now, &bytes, |_, s| s.dcs_ids().next());
        }
        for node in nodes.iter_mut() {
            node.handle_timeout(now);
        }
    }
}

#[test]
fn rfc_2_server_groups_are_independent() {
    let mut a = Node::new();
    let mut b = Node::new();
    let a1 = a.add(server(2, 1, 1, 2)).unwrap();
    let a2 = a.add(server(3, 1, 1, 2)).unwrap();
    assert!(
        a.add(server(3, 1, 1, 2)).is_err(),
        "one server per PID/SGID"
    );
    let b1 = b.add(server(2, 1, 2, 1)).unwrap();
    let b2 = b.add(server(3, 1, 2, 1)).unwrap();
    let now = Time::ZERO;
    a.server_mut(a1)
        .unwrap()
        .originate(now, b"nhrp-key", Data::from(&b"n"[..]))
        .unwrap();
    a.server_mut(a2)
        .unwrap()
        .originate(now, b"mars-key", Data::from(&b"m"[..]))
        .unwrap();
    let mut nodes = [a, b];
    run(&mut nodes, 5);
    let [a, b] = &mut nodes;
    for (n, i) in [(&*a, a1), (&*a, a2), (&*b, b1), (&*b, b2)] {
        let s = n.server(i).unwrap();
        let d = s.dcs_ids().next().unwrap();
        assert_eq!(s.dcs_info(d).unwrap().ca.state, CaState::Aligned);
    }
    let keys = |n: &Node, i: ServerIdx| -> Vec<Vec<u8>> {
        n.server(i)
            .unwrap()
            .cache()
            .iter()
            .map(|(id, _)| id.key.as_bytes().to_vec())
            .collect()
    };
    assert_eq!(keys(b, b1), vec![b"nhrp-key".to_vec()]);
    assert_eq!(keys(b, b2), vec![b"mars-key".to_vec()]);
}

#[test]
fn peek_group_reads_every_message_type() {
    let s = server(9, 300, 1, 2);
    let mut s = s;
    let t = s.poll_transmit().unwrap(); // a Hello
    assert_eq!(peek_group(&t.bytes), Some((9, 300)));
    assert_eq!(peek_group(&[1]), None);
    assert_eq!(
        peek_group(&[1, 9, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4]),
        None,
        "unknown type"
    );
}
