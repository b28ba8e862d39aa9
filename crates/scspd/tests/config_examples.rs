//! The configurations the project must accept: the manual's example, the IP check configuration,
//! and the full example of docs/scspd.conf.md.

use std::net::IpAddr;

use scspd::config::{
    self, AtmAddressKind, AuthAlgorithm, Config, DEFAULT_MTU, DEFAULT_PORT, Host, Pos, Protocol,
};

fn data(name: &str) -> String {
    format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn ip(s: &str) -> Host {
    Host::Ip(s.parse::<IpAddr>().unwrap())
}

fn load_ok(name: &str) -> Config {
    match config::load(data(name)) {
        Ok((c, w)) => {
            assert!(w.is_empty(), "unexpected warnings: {w:?}");
            c
        }
        Err(errors) => panic!("{name}: {errors:#?}"),
    }
}

#[test]
fn manual_example_verbatim() {
    let c = load_ok("manual-example.conf");
    assert_eq!(c.servers.len(), 1);
    let s = &c.servers[0];
    assert_eq!(s.name, "atmarp_ni0");
    assert_eq!(s.protocol, Protocol::ATMARP);
    assert_eq!(s.protocol.id, 1);
    assert_eq!(s.netif.as_deref(), Some("ni0"));
    assert_eq!(s.sgid, 23);
    assert_eq!(s.family_id, 0);
    assert_eq!(s.id, None);
    assert_eq!(s.address, None);
    assert_eq!(s.port, DEFAULT_PORT);
    assert_eq!(s.mtu, DEFAULT_MTU);
    assert_eq!(s.pos, Pos::new(1, 1));
    assert_eq!(s.dcs.len(), 1);
    let d = &s.dcs[0];
    assert_eq!(d.pos, Pos::new(5, 6));
    assert_eq!(d.id, ip("169.254.1.2"));
    let atm = d.atm_addr.as_ref().unwrap();
    assert_eq!(atm.kind, AtmAddressKind::Nsap);
    assert_eq!(
        atm.bytes,
        [
            0x47, 0x00, 0x05, 0x80, 0xff, 0xdc, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01, 0x00,
            0x20, 0x48, 0x06, 0x1d, 0xe7, 0x00
        ]
    );
    assert_eq!(atm.subaddress, None);
    assert_eq!(d.hops, 2);
    // Everything else at the original's defaults.
    assert_eq!(
        (
            d.ca_rexmit_int,
            d.csus_rexmit_int,
            d.csu_rexmit_int,
            d.csu_rexmit_max,
            d.hello_dead,
            d.hello_int
        ),
        (3, 3, 2, 5, 3, 3)
    );
    assert_eq!(d.address, None);
    assert_eq!(d.effective_address(), &ip("169.254.1.2"));
    assert_eq!(d.port, DEFAULT_PORT);
    assert_eq!(d.auth, None);
    assert!(c.log.syslog);
    assert_eq!(c.log.file, None);
}

#[test]
fn manual_example_text_is_the_one_in_the_brief() {
    let text = std::fs::read_to_string(data("manual-example.conf")).unwrap();
    assert_eq!(
        text,
        "server atmarp_ni0 {\n     protocol ATMARP;\n     netif ni0;\n     ServerGroupID 23;\n     \
         DCS {\n          ATMaddr 0x47.0005.80.ffdc00.0000.0002.0001.002048061de7.00;\n          \
         ID 169.254.1.2;\n          hops 2;\n     };\n};\n"
    );
}

const IP_CHECK: &str = "server s_a { protocol 65000; netif lo; ServerGroupID 7; ID 127.0.0.1; \
    Address 127.0.0.1; Port 17001; MTU 1472; DCS { ID 127.0.0.2; Address 127.0.0.2; Port 17002; \
    hops 3; HelloInt 1; HelloDead 3; }; };";

#[test]
fn ip_check_configuration() {
    let (c, w) = config::parse(IP_CHECK, "check.conf").unwrap();
    assert!(w.is_empty(), "{w:?}");
    let s = &c.servers[0];
    assert_eq!(s.name, "s_a");
    assert_eq!(
        s.protocol,
        Protocol {
            id: 65000,
            name: None
        }
    );
    assert_eq!(s.netif.as_deref(), Some("lo"));
    assert_eq!(s.sgid, 7);
    assert_eq!(s.id, Some(ip("127.0.0.1")));
    assert_eq!(s.address, Some(ip("127.0.0.1")));
    assert_eq!(s.port, 17001);
    assert_eq!(s.mtu, 1472);
    let d = &s.dcs[0];
    assert_eq!(d.id, ip("127.0.0.2"));
    assert_eq!(d.address, Some(ip("127.0.0.2")));
    assert_eq!(d.port, 17002);
    assert_eq!((d.hops, d.hello_int, d.hello_dead), (3, 1, 3));
    assert_eq!(d.dead_interval(), std::time::Duration::from_secs(3));
}

#[test]
fn ip_check_configuration_file() {
    // The same configuration as a file (one line).
    let c = load_ok("ip-example.conf");
    assert_eq!(c, config::parse(IP_CHECK, "x").unwrap().0);
}

#[test]
fn full_example() {
    let c = load_ok("full-example.conf");
    assert_eq!(
        c.log.file.as_deref(),
        Some(std::path::Path::new("/var/log/scspd.log"))
    );
    assert!(c.log.syslog);
    assert_eq!(c.log.level, scspd::config::LogLevel::Notice);
    assert_eq!(c.log.format, scspd::config::LogFormat::Text);
    assert_eq!(c.metrics, Some("127.0.0.1:9155".parse().unwrap()));
    assert_eq!(c.servers.len(), 2);
    let a = c.server("arp_east").unwrap();
    assert_eq!(a.protocol, Protocol::ATMARP);
    assert_eq!(a.netif.as_deref(), Some("em0"));
    assert_eq!(a.family_id, 1);
    assert_eq!(a.id, Some(ip("192.0.2.1")));
    assert_eq!(a.address, Some(ip("0.0.0.0")));
    assert_eq!(a.mtu, 1452);
    assert_eq!(a.dcs.len(), 2);
    let west = &a.dcs[0];
    assert_eq!(west.id, ip("192.0.2.2"));
    assert_eq!(
        west.address,
        Some(Host::Name("scsp-west.example.net".into()))
    );
    let auth = west.auth.as_ref().unwrap();
    assert_eq!((auth.send_spi, auth.recv_spi), (1001, 2001));
    assert_eq!(auth.algorithm, AuthAlgorithm::HmacSha256);
    assert_eq!(auth.key.as_bytes().len(), 32);
    assert_eq!(auth.key_file, None);
    let north = &a.dcs[1];
    assert_eq!(north.hello_int, 1);
    let auth = north.auth.as_ref().unwrap();
    assert_eq!((auth.send_spi, auth.recv_spi), (77, 77));
    assert_eq!(auth.algorithm, AuthAlgorithm::HmacMd5);
    assert_eq!(auth.key.as_bytes(), b"correct horse battery staple");
    assert_eq!(
        auth.key_file.as_deref(),
        Some(std::path::Path::new("dcs-north.key"))
    );
    let n = c.server("nhrp_v6").unwrap();
    assert_eq!(n.protocol.id, 2);
    assert_eq!(n.netif, None);
    assert_eq!(n.id, Some(ip("2001:db8::1")));
    assert_eq!(n.port, DEFAULT_PORT);
    assert_eq!(n.dcs[0].id, ip("2001:db8::2"));
    assert_eq!(n.dcs[0].port, 7127);
}

#[test]
fn the_reference_shows_the_tested_examples() {
    let doc_path = format!("{}/../../docs/scspd.conf.md", env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(doc_path).unwrap();
    for name in [
        "manual-example.conf",
        "ip-example.conf",
        "full-example.conf",
    ] {
        let text = std::fs::read_to_string(data(name)).unwrap();
        assert!(
            doc.contains(&format!("```\n{text}```\n")),
            "docs/scspd.conf.md does not show tests/data/{name} as it is"
        );
    }
}
