//! Test harness: one `Server` under test, and a hand-played DCS that builds the packets it
//! receives and decodes the packets it sends.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use scsp_core::wire::{self, Body, Common, Csa, Csas, Data, Id, Packet, RecordId};
use scsp_core::{CaState, DcsConfig, DcsId, Event, HelloState, Server, ServerConfig, Time};

pub const PID: u16 = 65000;
pub const SGID: u16 = 7;

pub fn id4(last: u8) -> Id {
    Id::from([10, 0, 0, last])
}

pub fn data(bytes: &[u8]) -> Data {
    Data::from(bytes)
}

pub fn rid(key: &[u8], origin: &Id) -> RecordId {
    RecordId {
        key: Id::new(key).unwrap(),
        origin: origin.clone(),
    }
}

pub fn csas(key: &[u8], origin: &Id, seq: u32) -> Csas {
    Csas {
        hops: 1,
        null: false,
        seq,
        id: rid(key, origin),
    }
}

pub fn csa(key: &[u8], origin: &Id, seq: u32, hops: u16, d: &[u8]) -> Csa {
    Csa {
        summary: Csas {
            hops,
            null: false,
            seq,
            id: rid(key, origin),
        },
        data: data(d),
    }
}

/// The server under test (LSID `lsid`) and one DCS it talks to, played by the test.
pub struct Bench {
    pub server: Server,
    pub dcs: DcsId,
    pub lsid: Id,
    pub peer: Id,
    pub now: Time,
}

impl Bench {
    /// Server 10.0.0.`me`, DCS 10.0.0.`peer`, timers of 1 s.
    pub fn new(me: u8, peer: u8) -> Self {
        let lsid = id4(me);
        let peer_id = id4(peer);
        let mut server = Server::new(ServerConfig::new(PID, SGID, lsid.clone()));
        let now = Time::from_millis(1_000_000);
        let mut cfg = DcsConfig::new(peer_id.clone());
        cfg.hello_interval = 1;
        cfg.dead_factor = 3;
        cfg.ca_rexmit = Duration::from_secs(1);
        cfg.csus_rexmit = Duration::from_secs(1);
        cfg.csu_rexmit = Duration::from_secs(1);
        cfg.csu_rexmit_max = 2;
        let dcs = server.add_dcs(now, cfg);
        Bench {
            server,
            dcs,
            lsid,
            peer: peer_id,
            now,
        }
    }

    pub fn with_config(mut self, f: impl FnOnce(&mut ServerConfig)) -> Self {
        let mut cfg = self.server.config().clone();
        f(&mut cfg);
        let dcfg = self.server.dcs_config(self.dcs).unwrap().clone();
        self.server = Server::new(cfg);
        self.dcs = self.server.add_dcs(self.now, dcfg);
        self
    }

    /// Change the main DCS's configuration in place.
    pub fn with_dcs(&mut self, f: impl FnOnce(&mut DcsConfig)) {
        let mut cfg = self.server.dcs_config(self.dcs).unwrap().clone();
        f(&mut cfg);
        self.server.update_dcs(self.dcs, cfg);
    }

    pub fn advance(&mut self, d: Duration) {
        self.now = self.now + d;
        self.server.handle_timeout(self.now);
    }

    /// Packets the server sent to the main DCS, decoded (packets to other DCSs are discarded).
    pub fn sent(&mut self) -> Vec<Packet> {
        let dcs = self.dcs;
        self.sent_all()
            .into_iter()
            .filter(|(d, _)| *d == dcs)
            .map(|(_, p)| p)
            .collect()
    }

    /// Every packet the server sent, decoded, with its DCS.
    pub fn sent_all(&mut self) -> Vec<(DcsId, Packet)> {
        let mut out = Vec::new();
        while let Some(t) = self.server.poll_transmit() {
            out.push((
                t.dcs,
                wire::decode(&t.bytes).expect("server sends valid packets"),
            ));
        }
        out
    }

    /// Add a second DCS 10.0.0.`peer` with the same timers, and bring it to Aligned as slave
    /// (the peer's ID must be larger than ours). Returns its handle.
    pub fn add_aligned_peer(&mut self, peer: u8) -> DcsId {
        let mut cfg = self.server.dcs_config(self.dcs).unwrap().clone();
        cfg.id = id4(peer);
        let d = self.server.add_dcs(self.now, cfg);
        let (main, main_peer) = (self.dcs, self.peer.clone());
        self.dcs = d;
        self.peer = id4(peer);
        self.bring_to_aligned();
        self.dcs = main;
        self.peer = main_peer;
        d
    }

    /// Deliver `body` as if sent by DCS `dcs` whose ID is 10.0.0.`peer`.
    pub fn deliver_from(&mut self, dcs: DcsId, peer: u8, body: Body) {
        let mut common = self.common();
        common.sender = id4(peer);
        let p = Packet {
            common,
            body,
            extensions: vec![],
        };
        let bytes = wire::encode(&p, None).unwrap();
        self.server.handle_datagram(self.now, dcs, &bytes);
    }

    pub fn events(&mut self) -> Vec<Event> {
        std::iter::from_fn(|| self.server.poll_event()).collect()
    }

    pub fn common(&self) -> Common {
        Common {
            protocol_id: PID,
            sgid: SGID,
            sender: self.peer.clone(),
            receiver: self.lsid.clone(),
        }
    }

    pub fn deliver(&mut self, body: Body) {
        let p = Packet {
            common: self.common(),
            body,
            extensions: vec![],
        };
        self.deliver_packet(&p);
    }

    pub fn deliver_packet(&mut self, p: &Packet) {
        let bytes = wire::encode(p, None).unwrap();
        self.server.handle_datagram(self.now, self.dcs, &bytes);
    }

    pub fn hello(&self, lists_us: bool) -> Body {
        let _ = lists_us;
        Body::Hello {
            interval: 1,
            dead_factor: 3,
            family_id: 0,
            additional: vec![],
        }
    }

    /// Deliver a Hello from the DCS; `lists_us` puts our LSID in its Receiver ID.
    pub fn deliver_hello(&mut self, lists_us: bool) {
        let mut common = self.common();
        if !lists_us {
            common.receiver = Id::default();
        }
        let p = Packet {
            common,
            body: Body::Hello {
                interval: 1,
                dead_factor: 3,
                family_id: 0,
                additional: vec![],
            },
            extensions: vec![],
        };
        self.deliver_packet(&p);
    }

    pub fn hello_state(&self) -> HelloState {
        self.server.dcs_info(self.dcs).unwrap().hello.state
    }

    pub fn ca_state(&self) -> CaState {
        self.server.dcs_info(self.dcs).unwrap().ca.state
    }

    /// Bring the Hello FSM to Bidirectional and return the server's initial CA.
    pub fn bring_to_negotiation(&mut self) -> Packet {
        self.server.link_up(self.now, self.dcs);
        self.deliver_hello(true);
        assert_eq!(self.hello_state(), HelloState::Bidirectional);
        assert_eq!(self.ca_state(), CaState::Negotiation);
        let sent = self.sent();
        sent.into_iter()
            .find(|p| matches!(p.body, Body::Ca { .. }))
            .expect("an initial CA is sent on entering Negotiation")
    }

    /// Drive the server to Aligned as slave (the test's DCS has the larger ID and is master),
    /// exchanging empty summaries. Requires the DCS's ID to be larger.
    pub fn bring_to_aligned(&mut self) {
        let _ = self.bring_to_negotiation();
        let seq = 4242;
        self.deliver(Body::Ca {
            seq,
            m: true,
            i: true,
            o: true,
            records: vec![],
        });
        let _ = self.sent();
        self.deliver(Body::Ca {
            seq: seq + 1,
            m: true,
            i: false,
            o: false,
            records: vec![],
        });
        let _ = self.sent();
        assert_eq!(self.ca_state(), CaState::Aligned);
    }
}

pub fn ca_of(p: &Packet) -> (u32, bool, bool, bool, &[Csas]) {
    match &p.body {
        Body::Ca {
            seq,
            m,
            i,
            o,
            records,
        } => (*seq, *m, *i, *o, records),
        other => panic!("expected a CA, got {other:?}"),
    }
}

pub fn only<T: std::fmt::Debug>(mut v: Vec<T>) -> T {
    assert_eq!(v.len(), 1, "expected exactly one, got {v:?}");
    v.pop().unwrap()
}

pub fn arc<T>(x: T) -> Arc<T> {
    Arc::new(x)
}

/// The CSAS records of every CSUS in `ps` (the entries solicited).
pub fn csus(ps: &[Packet]) -> Vec<Csas> {
    ps.iter()
        .filter_map(|p| match &p.body {
            Body::Csus { records } => Some(records.clone()),
            _ => None,
        })
        .flatten()
        .collect()
}

/// The CSAS records of every CSU Reply in `ps`.
pub fn replies(ps: &[Packet]) -> Vec<Csas> {
    ps.iter()
        .filter_map(|p| match &p.body {
            Body::CsuReply { records } => Some(records.clone()),
            _ => None,
        })
        .flatten()
        .collect()
}

/// The CSA records of every CSU Request in `ps`.
pub fn requests(ps: &[Packet]) -> Vec<Csa> {
    ps.iter()
        .filter_map(|p| match &p.body {
            Body::CsuRequest { records } => Some(records.clone()),
            _ => None,
        })
        .flatten()
        .collect()
}

/// The packets of `sent` that went to DCS `dcs`.
pub fn to(sent: &[(DcsId, Packet)], dcs: DcsId) -> Vec<Packet> {
    sent.iter()
        .filter(|(d, _)| *d == dcs)
        .map(|(_, p)| p.clone())
        .collect()
}
