//! Replay protection (docs/replay-protection.md): two servers with HMAC authentication both
//! ways, driven on virtual time, the packets between them captured so that they can be replayed.
//! Each test checks that nothing replayed is accepted: while the receiver runs (RFC 2334 B.3.1
//! alone accepts a copy of any authenticated packet), and after either side restarts.

use std::time::Duration;

use scsp_core::wire::{self, AuthAlgorithm, AuthKey, Id, Packet};
use scsp_core::{CaState, DcsConfig, DcsId, HelloState, ReplayMode, Server, ServerConfig, Time};

const MS: Duration = Duration::from_millis(1);

fn key() -> AuthKey {
    AuthKey {
        spi: 7,
        algorithm: AuthAlgorithm::HmacSha256,
        key: b"a key shared by both".to_vec(),
    }
}

fn id(n: u8) -> Id {
    Id::from([10, 0, 0, n])
}

/// Server 10.0.0.`me` with DCS 10.0.0.`peer`, authenticated both ways, HelloInt 1, HelloDead 3.
fn server(
    me: u8,
    peer: u8,
    nonce: u64,
    seq_start: u64,
    mode: ReplayMode,
    now: Time,
) -> (Server, DcsId) {
    let mut cfg = ServerConfig::new(65000, 7, id(me));
    cfg.replay_nonce = nonce;
    cfg.replay_seq_start = seq_start;
    let mut s = Server::new(cfg);
    let mut d = DcsConfig::new(id(peer));
    d.hello_interval = 1;
    d.dead_factor = 3;
    d.ca_rexmit = Duration::from_secs(1);
    d.csus_rexmit = Duration::from_secs(1);
    d.csu_rexmit = Duration::from_secs(1);
    d.auth_send = Some(key());
    d.auth_recv = vec![key()];
    d.replay = mode;
    let dcs = s.add_dcs(now, d);
    s.link_up(now, dcs);
    (s, dcs)
}

struct Pair {
    a: Server,
    da: DcsId,
    b: Server,
    db: DcsId,
    now: Time,
    /// Every packet B sent to A, in order.
    from_b: Vec<Vec<u8>>,
    /// Deliver B's packets to A.
    b_to_a: bool,
    /// Deliver A's packets to B.
    a_to_b: bool,
}

impl Pair {
    fn new(mode_a: ReplayMode, mode_b: ReplayMode) -> Pair {
        let now = Time::from_millis(1_000_000);
        let (a, da) = server(1, 2, 0xa1, 1_000, mode_a, now);
        let (b, db) = server(2, 1, 0xb1, 5_000, mode_b, now);
        Pair {
            a,
            da,
            b,
            db,
            now,
            from_b: Vec::new(),
            b_to_a: true,
            a_to_b: true,
        }
    }

    /// Run for `d` in 10 ms steps, moving packets both ways.
    fn run(&mut self, d: Duration) {
        let end = self.now + d;
        while self.now < end {
            self.now = self.now + 10 * MS;
            self.a.handle_timeout(self.now);
            self.b.handle_timeout(self.now);
            while let Some(t) = self.a.poll_transmit() {
                if self.a_to_b {
                    self.b.handle_datagram(self.now, self.db, &t.bytes);
                }
            }
            while let Some(t) = self.b.poll_transmit() {
                self.from_b.push(t.bytes.clone());
                if self.b_to_a {
                    self.a.handle_datagram(self.now, self.da, &t.bytes);
                }
            }
        }
    }

    fn a_state(&self) -> (HelloState, CaState) {
        let i = self.a.dcs_info(self.da).unwrap();
        (i.hello.state, i.ca.state)
    }

    fn aligned(&self) -> bool {
        let b = self.b.dcs_info(self.db).unwrap();
        self.a_state() == (HelloState::Bidirectional, CaState::Aligned)
            && (b.hello.state, b.ca.state) == (HelloState::Bidirectional, CaState::Aligned)
    }

    fn a_refused(&self) -> u64 {
        self.a.dcs_info(self.da).unwrap().stats.replays_refused
    }

    /// Hand A a packet B sent earlier.
    fn replay_to_a(&mut self, bytes: &[u8]) {
        self.a.handle_datagram(self.now, self.da, bytes);
        while self.a.poll_transmit().is_some() {}
    }
}

fn hellos(packets: &[Vec<u8>]) -> Vec<Vec<u8>> {
    packets
        .iter()
        .filter(|b| {
            matches!(
                wire::decode(b).map(|p| p.body),
                Ok(wire::Body::Hello { .. })
            )
        })
        .cloned()
        .collect()
}

fn replay_ext(bytes: &[u8]) -> Option<scsp_core::replay::ReplayExt> {
    let p: Packet = wire::decode(bytes).unwrap();
    scsp_core::replay::ReplayExt::find(&p.extensions).unwrap()
}

#[test]
fn authenticated_servers_align_with_the_extension_in_every_packet() {
    let mut p = Pair::new(ReplayMode::On, ReplayMode::On);
    p.a.originate(p.now, b"k", wire::Data::from(&b"v"[..]))
        .unwrap();
    p.run(Duration::from_secs(3));
    assert!(p.aligned());
    // Only B's first Hello, sent before it had heard A's nonce (it echoes 0).
    assert_eq!(p.a_refused(), 1);
    assert!(p.b.cache().iter().any(|(r, _)| r.key.as_bytes() == b"k"));
    // Every packet carries it, numbered upwards from B's start, echoing A's nonce once heard.
    let exts: Vec<_> = p.from_b.iter().map(|b| replay_ext(b).unwrap()).collect();
    assert!(exts.windows(2).all(|w| w[1].seq > w[0].seq));
    assert!(exts[0].seq >= 5_000);
    assert!(exts.iter().all(|e| e.nonce == 0xb1));
    assert_eq!(exts.last().unwrap().echo, 0xa1);
}

#[test]
fn a_replayed_hello_is_refused_and_a_dead_dcs_stays_dead() {
    let mut p = Pair::new(ReplayMode::On, ReplayMode::On);
    p.run(Duration::from_secs(3));
    assert!(p.aligned());
    let captured = hellos(&p.from_b);
    // B dies; its Hellos are replayed to A every half second.
    p.b_to_a = false;
    let before = p.a_refused();
    for i in 0..20 {
        p.run(500 * MS);
        let h = captured[i % captured.len()].clone();
        p.replay_to_a(&h);
    }
    assert_eq!(p.a_refused() - before, 20, "every copy refused");
    assert_ne!(
        p.a_state().0,
        HelloState::Bidirectional,
        "10 s of silence: down"
    );
}

#[test]
fn after_the_receiver_restarts_nothing_captured_before_is_accepted() {
    let mut p = Pair::new(ReplayMode::On, ReplayMode::On);
    p.run(Duration::from_secs(3));
    assert!(p.aligned());
    let captured = p.from_b.clone();
    // A restarts (a new nonce, numbers from a later start); B is gone; everything B sent
    // (Hellos, CAs, CSU messages) is replayed to the new A.
    let (a, da) = server(1, 2, 0xa2, 9_000, ReplayMode::On, p.now);
    p.a = a;
    p.da = da;
    p.b_to_a = false;
    p.a_to_b = false;
    for bytes in &captured {
        p.run(20 * MS);
        p.replay_to_a(bytes);
    }
    assert_eq!(p.a_refused(), captured.len() as u64, "all stale");
    assert_eq!(p.a_state().0, HelloState::Waiting, "B never heard");
}

#[test]
fn either_side_restarting_realigns() {
    let mut p = Pair::new(ReplayMode::On, ReplayMode::On);
    p.run(Duration::from_secs(3));
    assert!(p.aligned());
    // B restarts with a new nonce, numbering above its earlier incarnation.
    let (b, db) = server(2, 1, 0xb2, 50_000, ReplayMode::On, p.now);
    p.b = b;
    p.db = db;
    p.run(Duration::from_secs(5));
    assert!(p.aligned(), "{:?}", p.a_state());
    // A restarts.
    let (a, da) = server(1, 2, 0xa2, 60_000, ReplayMode::On, p.now);
    p.a = a;
    p.da = da;
    p.run(Duration::from_secs(5));
    assert!(p.aligned(), "{:?}", p.a_state());
}

#[test]
fn a_ca_retransmission_is_encoded_afresh_and_accepted() {
    let mut p = Pair::new(ReplayMode::On, ReplayMode::On);
    // A's first packets to B are lost for 1.5 s: A's CAs are retransmitted meanwhile.
    p.a_to_b = false;
    p.run(1500 * MS);
    p.a_to_b = true;
    p.run(Duration::from_secs(4));
    assert!(p.aligned());
    assert_eq!(p.b.dcs_info(p.db).unwrap().stats.replays_refused, 0);
}

#[test]
fn an_rfc_only_peer_is_accepted_and_stripping_is_refused() {
    // B sends no extension (RFC 2334 only): A accepts it.
    let mut p = Pair::new(ReplayMode::On, ReplayMode::Off);
    p.run(Duration::from_secs(3));
    assert!(p.aligned());
    assert_eq!(
        p.a_refused(),
        0,
        "nothing to check in an RFC-only peer's packets"
    );
    // A that requires it refuses B.
    let mut p = Pair::new(ReplayMode::Require, ReplayMode::Off);
    p.run(Duration::from_secs(3));
    assert!(!p.aligned());
    assert!(p.a_refused() > 0);
    // B has sent it; then its packets come without (as if stripped): refused.
    let mut p = Pair::new(ReplayMode::On, ReplayMode::On);
    p.run(Duration::from_secs(3));
    assert!(p.aligned());
    let mut cfg = p.b.dcs_config(p.db).unwrap().clone();
    cfg.replay = ReplayMode::Off;
    p.b.update_dcs(p.db, cfg);
    let before = p.a_refused();
    p.run(Duration::from_secs(2));
    assert!(p.a_refused() > before);
}

/// The test vector of docs/replay-protection.md: a Hello from 10.0.0.2 to 10.0.0.1 (Protocol ID
/// 65000, SGID 7), signed with HMAC-SHA-256 (SPI 7, the key of these tests), carrying the
/// replay extension (sequence 0x0000000100000002, nonce 0xb1, echo 0xa1). The document's
/// hex is compared byte for byte with what the encoder writes, and decodes back.
#[test]
fn the_documented_vector_is_what_the_encoder_writes() {
    let ext = scsp_core::replay::ReplayExt {
        seq: 0x0000_0001_0000_0002,
        nonce: 0xb1,
        echo: 0xa1,
    };
    let p = Packet {
        common: wire::Common {
            protocol_id: 65000,
            sgid: 7,
            sender: id(2),
            receiver: id(1),
        },
        body: wire::Body::Hello {
            interval: 1,
            dead_factor: 3,
            family_id: 0,
            additional: vec![],
        },
        extensions: vec![ext.to_extension()],
    };
    let bytes = wire::encode(&p, Some(&key())).unwrap();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let doc = include_str!("../../../docs/replay-protection.md");
    let block: String = doc
        .split("```vector")
        .nth(1)
        .and_then(|r| r.split("```").next())
        .expect("a ```vector block in docs/replay-protection.md")
        .split_whitespace()
        .collect();
    assert_eq!(block, hex, "document and encoder disagree");
    let back = wire::decode(&bytes).unwrap();
    wire::verify_auth(&bytes, &back, |spi| (spi == 7).then(key)).unwrap();
    assert_eq!(
        scsp_core::replay::ReplayExt::find(&back.extensions),
        Ok(Some(ext))
    );
}

/// The longest record the local server may hand over still fits the configured packet size in a
/// CSU Request carrying both the Authentication extension (HMAC-SHA-256) and the replay
/// extension (B.3.1, B.3.2; docs/replay-protection.md). (The room kept for extensions was 64
/// octets, and the two take 79: such a record went out in a packet 15 octets too long.)
#[test]
fn b_3_largest_record_fits_the_packet_with_authentication_and_replay_protection() {
    let mut p = Pair::new(ReplayMode::On, ReplayMode::On);
    p.run(Duration::from_secs(3));
    assert!(p.aligned());
    let mut len = 2_000;
    while p
        .b
        .originate(p.now, b"big", wire::Data::from(vec![0x5a; len]))
        .is_err()
    {
        len -= 1;
    }
    p.from_b.clear();
    p.run(Duration::from_secs(1));
    let with_record: Vec<usize> = p
        .from_b
        .iter()
        .filter(|b| {
            matches!(
                wire::decode(b).map(|p| p.body),
                Ok(wire::Body::CsuRequest { ref records }) if !records.is_empty()
            )
        })
        .map(Vec::len)
        .collect();
    assert!(!with_record.is_empty(), "the record was flooded");
    for n in with_record {
        assert!(
            n <= 1472,
            "a CSU Request of {n} octets (largest record {len})"
        );
    }
    assert!(
        p.a.cache()
            .iter()
            .any(|(id, e)| id.key.as_bytes() == b"big" && e.data.len() == len)
    );
}
