//! Each statement, its defaults, and the general rules of the language (case, comments, order,
//! empty statements, several servers).

use std::net::IpAddr;
use std::path::Path;

use scspd::config::{
    self, AtmAddressKind, AuthAlgorithm, Config, DcsConfig, Host, LogConfig, LogFormat, LogLevel,
    Protocol, ServerConfig, Warning,
};

fn parse(src: &str) -> (Config, Vec<Warning>) {
    match config::parse(src, "t.conf") {
        Ok(r) => r,
        Err(errors) => {
            let list: Vec<String> = errors.iter().map(ToString::to_string).collect();
            panic!("unexpected errors for\n{src}\n{list:#?}")
        }
    }
}

fn ok(src: &str) -> Config {
    let (c, w) = parse(src);
    assert!(w.is_empty(), "unexpected warnings: {w:?}");
    c
}

fn server(body: &str) -> ServerConfig {
    let c = ok(&format!(
        "server s {{ protocol ATMARP; netif ni0; ServerGroupID 1; {body} DCS {{ ID 10.9.9.9; }}; }};"
    ));
    c.servers.into_iter().next().unwrap()
}

fn dcs(body: &str) -> DcsConfig {
    let c = ok(&format!(
        "server s {{ protocol ATMARP; netif ni0; ServerGroupID 1; DCS {{ ID 10.0.0.2; {body} }}; }};"
    ));
    c.servers[0].dcs[0].clone()
}

/// `stmt` in a DCS block is refused with an error containing `msg`.
fn assert_dcs_error(stmt: &str, msg: &str) {
    let src = format!(
        "server s {{ protocol ATMARP; netif ni0; ServerGroupID 1; DCS {{ ID 10.0.0.2; {stmt} }}; }};"
    );
    let errors = config::parse(&src, "t.conf").expect_err(stmt);
    assert!(
        errors.iter().any(|e| e.to_string().contains(msg)),
        "{stmt}: {errors:?}"
    );
}

/// The errors of `src`, as text.
fn errors(src: &str) -> Vec<String> {
    config::parse(src, "t.conf")
        .expect_err(src)
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn ip(s: &str) -> Host {
    Host::Ip(s.parse::<IpAddr>().unwrap())
}

// ---- Server statements ----

#[test]
fn protocol_names_and_numbers() {
    for (text, id) in [
        ("ATMARP", 1),
        ("nhrp", 2),
        ("Mars", 3),
        ("dhcp", 4),
        ("LNNI", 5),
        ("0", 0),
        ("1", 1),
        ("65535", 65535),
        ("00042", 42),
    ] {
        let c = ok(&format!(
            "server s {{ protocol {text}; netif n; ServerGroupID 1; DCS {{ ID 1.2.3.4; }}; }};"
        ));
        assert_eq!(c.servers[0].protocol, Protocol::from_id(id), "{text}");
    }
    // A number with a name is the same protocol as the name.
    assert_eq!(Protocol::from_id(1), Protocol::ATMARP);
    assert_eq!(Protocol::from_id(1).to_string(), "ATMARP");
    assert_eq!(Protocol::from_id(9).to_string(), "9");
}

#[test]
fn netif_sgid_family() {
    let s = server("FamilyID 65535;");
    assert_eq!(s.netif.as_deref(), Some("ni0"));
    assert_eq!(s.sgid, 1);
    assert_eq!(s.family_id, 65535);
    let c = ok("server s { protocol 1; netif \"eth0.100\"; ServerGroupID 0; DCS { ID h; }; };");
    assert_eq!(c.servers[0].sgid, 0);
    assert_eq!(c.servers[0].netif.as_deref(), Some("eth0.100"));
    assert_eq!(server("").family_id, 0);
}

#[test]
fn server_id_address_port_mtu() {
    let s = server("ID 10.0.0.1; Address ::; Port 1; MTU 64;");
    assert_eq!(s.id, Some(ip("10.0.0.1")));
    assert_eq!(s.address, Some(ip("::")));
    assert_eq!(s.port, 1);
    assert_eq!(s.mtu, 64);
    let s = server("ID scsp.example.org; Address scsp.example.org; Port 65535; MTU 65535;");
    assert_eq!(s.id, Some(Host::Name("scsp.example.org".into())));
    assert_eq!(s.port, 65535);
    assert_eq!(s.mtu, 65535);
    let s = server("");
    assert_eq!((s.id, s.address, s.port, s.mtu), (None, None, 7126, 1472));
}

#[test]
fn atmarp_format() {
    use scspd::config::AtmarpLayout;
    assert_eq!(server("").atmarp_format, AtmarpLayout::Harp);
    for (text, layout) in [
        ("harp", AtmarpLayout::Harp),
        ("HARP", AtmarpLayout::Harp),
        ("draft-00", AtmarpLayout::Draft00),
        ("Draft-01", AtmarpLayout::Draft01),
        ("\"draft-01\"", AtmarpLayout::Draft01),
    ] {
        let s = server(&format!("ATMARPFormat {text};"));
        assert_eq!(s.atmarp_format, layout, "{text}");
    }
    // Meaningful for ATMARP only: accepted elsewhere with a warning at the statement.
    let (c, w) = parse(
        "server n { protocol NHRP; netif ni0; ServerGroupID 1; DCS { ID 10.9.9.9; };\n  \
         ATMARPFormat draft-00; };",
    );
    assert_eq!(c.servers[0].atmarp_format, AtmarpLayout::Draft00);
    let w: Vec<String> = w.iter().map(ToString::to_string).collect();
    assert_eq!(
        w,
        [
            "t.conf:2:3: warning: ATMARPFormat applies to protocol ATMARP only; ignored for \
          server \"n\" (protocol NHRP)"
        ]
    );
    // Rendered for ATMARP servers always, for others only when set.
    let text = c.to_string();
    assert!(text.contains("    ATMARPFormat draft-00;\n"), "{text}");
    let c = ok("server n { protocol 7; netif ni0; ServerGroupID 1; DCS { ID 10.9.9.9; }; };");
    assert!(!c.to_string().contains("ATMARPFormat"), "{c}");
    let c = ok("server a { protocol 1; netif ni0; ServerGroupID 1; DCS { ID 10.9.9.9; }; };");
    assert!(c.to_string().contains("    ATMARPFormat harp;\n"), "{c}");
    // A reload that changes it changes the server's settings.
    let other = ok(
        "server a { protocol 1; netif ni0; ServerGroupID 1; ATMARPFormat draft-01; \
                    DCS { ID 10.9.9.9; }; };",
    );
    assert!(!c.servers[0].same_settings(&other.servers[0]));
}

#[test]
fn mars_redirect_interval() {
    use scspd::config::DEFAULT_MARS_REDIRECT_INTERVAL;
    let mars = |body: &str| {
        ok(&format!(
            "server m {{ protocol MARS; netif ni0; ServerGroupID 1; {body} \
             DCS {{ ID 10.9.9.9; }}; }};"
        ))
    };
    assert_eq!(DEFAULT_MARS_REDIRECT_INTERVAL, 120);
    assert_eq!(mars("").servers[0].mars_redirect_interval, 120);
    for (text, secs) in [
        ("2", 2),
        ("4", 4),
        ("0120", 120),
        ("\"60\"", 60),
        ("3600", 3600),
    ] {
        let c = mars(&format!("MARSRedirectInterval {text};"));
        assert_eq!(c.servers[0].mars_redirect_interval, secs, "{text}");
    }
    let c = mars("marsredirectinterval 4;");
    assert_eq!(c.servers[0].mars_redirect_interval, 4);
    // Meaningful for MARS only: accepted elsewhere with a warning at the statement.
    let (c, w) = parse(
        "server n { protocol NHRP; netif ni0; ServerGroupID 1; DCS { ID 10.9.9.9; };\n  \
         MARSRedirectInterval 30; };",
    );
    assert_eq!(c.servers[0].mars_redirect_interval, 30);
    let w: Vec<String> = w.iter().map(ToString::to_string).collect();
    assert_eq!(
        w,
        [
            "t.conf:2:3: warning: MARSRedirectInterval applies to protocol MARS only; ignored \
             for server \"n\" (protocol NHRP)"
        ]
    );
    // Rendered for MARS servers always, for others only when set to another value.
    assert!(
        c.to_string().contains("    MARSRedirectInterval 30;\n"),
        "{c}"
    );
    let c = ok("server n { protocol 7; netif ni0; ServerGroupID 1; DCS { ID 10.9.9.9; }; };");
    assert!(!c.to_string().contains("MARSRedirectInterval"), "{c}");
    let c = mars("");
    assert!(
        c.to_string().contains("    MARSRedirectInterval 120;\n"),
        "{c}"
    );
    assert_eq!(config::parse(&c.to_string(), "r.conf").unwrap().0, c);
    // A reload that changes it changes the server's settings.
    assert!(!c.servers[0].same_settings(&mars("MARSRedirectInterval 4;").servers[0]));
    assert!(c.servers[0].same_settings(&mars("MARSRedirectInterval 120;").servers[0]));
}

#[test]
fn server_id_replaces_netif() {
    let c =
        ok("server s { protocol ATMARP; ServerGroupID 1; ID 10.0.0.1; DCS { ID 10.0.0.2; }; };");
    assert_eq!(c.servers[0].netif, None);
}

#[test]
fn server_without_dcs_is_a_warning() {
    let (c, w) = parse("server lonely { protocol ATMARP; netif ni0; ServerGroupID 1; };");
    assert!(c.servers[0].dcs.is_empty());
    assert_eq!(w.len(), 1);
    assert_eq!(
        w[0].to_string(),
        "t.conf:1:1: warning: no DCS configured for server \"lonely\" (its cache is not \
         synchronised with any other server)"
    );
}

// ---- DCS statements ----

#[test]
fn dcs_defaults() {
    let d = dcs("");
    assert_eq!(d, DcsConfig::new(ip("10.0.0.2")));
    assert_eq!(
        (
            d.ca_rexmit_int,
            d.csus_rexmit_int,
            d.csu_rexmit_int,
            d.csu_rexmit_max,
            d.hello_dead,
            d.hello_int,
            d.hops,
            d.port
        ),
        (3, 3, 2, 5, 3, 3, 3, 7126)
    );
    assert_eq!(d.atm_addr, None);
    assert_eq!(d.address, None);
    assert_eq!(d.auth, None);
}

#[test]
fn dcs_numbers() {
    let d = dcs(
        "CAReXmitInt 1; CSUSReXmitInt 2; CSUReXmitInt 4; CSUReXmitMax 8; HelloDead 16; \
         HelloInt 32; Hops 1024;",
    );
    assert_eq!(
        (
            d.ca_rexmit_int,
            d.csus_rexmit_int,
            d.csu_rexmit_int,
            d.csu_rexmit_max,
            d.hello_dead,
            d.hello_int,
            d.hops
        ),
        (1, 2, 4, 8, 16, 32, 1024)
    );
    assert_eq!(d.ca_rexmit_interval().as_secs(), 1);
    assert_eq!(d.csus_rexmit_interval().as_secs(), 2);
    assert_eq!(d.csu_rexmit_interval().as_secs(), 4);
    assert_eq!(d.hello_interval().as_secs(), 32);
    assert_eq!(d.dead_interval().as_secs(), 16 * 32);
}

#[test]
fn dcs_id_forms() {
    assert_eq!(dcs("").id, ip("10.0.0.2"));
    let c = ok(
        "server s { protocol 1; netif n; ServerGroupID 1; DCS { ID fe80::2; }; \
                DCS { ID peer.example.; }; DCS { ID \"peer2\"; }; };",
    );
    let d = &c.servers[0].dcs;
    assert_eq!(d[0].id, ip("fe80::2"));
    assert_eq!(d[1].id, Host::Name("peer.example.".into()));
    assert_eq!(d[2].id, Host::Name("peer2".into()));
}

#[test]
fn dcs_address_and_port() {
    let d = dcs("Address 192.0.2.9; Port 9999;");
    assert_eq!(d.address, Some(ip("192.0.2.9")));
    assert_eq!(d.effective_address(), &ip("192.0.2.9"));
    assert_eq!(d.port, 9999);
    let d = dcs("Address peer.example.net;");
    assert_eq!(d.address, Some(Host::Name("peer.example.net".into())));
}

#[test]
fn atm_addresses() {
    let d = dcs("ATMaddr 47000580ffdc00000000020001002048061de700;");
    let a = d.atm_addr.unwrap();
    assert_eq!(
        (a.kind, a.bytes.len(), a.subaddress),
        (AtmAddressKind::Nsap, 20, None)
    );
    let d = dcs("ATMaddr 0x.0123.4567.89 0x47.0005.80.ffdc00.0000.0002.0001.002048061de7.00;");
    let a = d.atm_addr.unwrap();
    assert_eq!(a.kind, AtmAddressKind::E164);
    assert_eq!(a.bytes, [0x01, 0x23, 0x45, 0x67, 0x89]);
    assert_eq!(a.subaddress.map(|s| s.len()), Some(20));
    // 15 bytes is the longest E.164 address.
    let d = dcs(&format!(
        "ATMaddr 0x{} 0x{};",
        "12".repeat(15),
        "ab".repeat(20)
    ));
    assert_eq!(d.atm_addr.unwrap().bytes.len(), 15);
}

#[test]
fn auth_separate_spis() {
    let d = dcs(&format!(
        "Auth {{ SendSPI 1; RecvSPI 4294967295; Algorithm hmac-sha-256; Key 0x{}; }};",
        "ab".repeat(32)
    ));
    let a = d.auth.unwrap();
    assert_eq!((a.send_spi, a.recv_spi), (1, u32::MAX));
    assert_eq!(a.algorithm, AuthAlgorithm::HmacSha256);
    assert_eq!(a.key.as_bytes(), [0xab; 32]);
    assert_eq!(a.key_file, None);
    // Keys never show in Debug or Serialize output.
    assert!(!format!("{a:?}").contains("ab, ab") && format!("{a:?}").contains("32-byte secret"));
    let json = serde_json::to_string(&a).unwrap();
    assert!(json.contains("\"<32-byte secret>\""), "{json}");
}

#[test]
fn auth_one_spi_default_algorithm_string_key() {
    let d = dcs("Auth { SPI 300; Key \"0123456789abcdef\"; };");
    let a = d.auth.unwrap();
    assert_eq!((a.send_spi, a.recv_spi), (300, 300));
    assert_eq!(a.algorithm, AuthAlgorithm::HmacMd5);
    assert_eq!(a.key.as_bytes(), b"0123456789abcdef");
}

#[test]
fn auth_short_key_warns() {
    let (c, w) = parse(
        "server s { protocol 1; netif n; ServerGroupID 1;\n DCS { ID 1.1.1.1;\n  Auth { SPI 1; \
         Algorithm HMAC-SHA-256; Key \"short\"; }; }; };",
    );
    assert_eq!(
        c.servers[0].dcs[0].auth.as_ref().unwrap().key.as_bytes(),
        b"short"
    );
    let w: Vec<String> = w.iter().map(ToString::to_string).collect();
    assert_eq!(
        w,
        vec![
            "t.conf:3:45: warning: the key is 5 bytes, shorter than the 32 bytes RFC 2104 \
             recommends for HMAC-SHA-256"
        ]
    );
}

// ---- Log ----

#[test]
fn log_statements() {
    assert_eq!(ok("").log, LogConfig::default());
    assert_eq!(
        ok("").log,
        LogConfig {
            file: None,
            syslog: true,
            ..LogConfig::default()
        }
    );
    assert_eq!(
        ok("log { syslog; };").log,
        LogConfig {
            file: None,
            syslog: true,
            ..LogConfig::default()
        }
    );
    assert_eq!(
        ok("log { file /var/log/scspd.log; };").log,
        LogConfig {
            file: Some("/var/log/scspd.log".into()),
            syslog: false,
            ..LogConfig::default()
        }
    );
    assert_eq!(
        ok("log { file \"/tmp/my log\"; syslog; };").log,
        LogConfig {
            file: Some("/tmp/my log".into()),
            syslog: true,
            ..LogConfig::default()
        }
    );
    // The original's grammar allows several Log statements (one item each).
    // (A relative file is taken from the configuration's directory, here the working one.)
    assert_eq!(
        ok("log { syslog; }; log { file scspd.log; };").log,
        LogConfig {
            file: Some(std::env::current_dir().unwrap().join("scspd.log")),
            syslog: true,
            ..LogConfig::default()
        }
    );
    // ... and empty ones.
    assert_eq!(ok("log { };").log, LogConfig::default());
}

#[test]
fn log_level_and_format() {
    assert_eq!(ok("").log.level, LogLevel::Info);
    assert_eq!(ok("").log.format, LogFormat::Text);
    let c = ok("log { level notice; format json; file x.log; };").log;
    assert_eq!((c.level, c.format), (LogLevel::Notice, LogFormat::Json));
    assert!(!c.syslog);
    // In another Log block, as the original's one-item blocks; `warning` for `warn`.
    let c = ok("log { Level warning; }; log { Format TEXT; };").log;
    assert_eq!((c.level, c.format), (LogLevel::Warn, LogFormat::Text));
    for l in LogLevel::ALL {
        assert_eq!(ok(&format!("log {{ level {}; }};", l.name())).log.level, l);
    }
}

#[test]
fn log_level_and_format_errors() {
    let e = errors("log { level loud; };");
    assert!(
        e[0].contains("Level \"loud\": expected one of debug, info, notice, warn, error"),
        "{e:?}"
    );
    let e = errors("log { format xml; };");
    assert!(
        e[0].contains("Format \"xml\": expected text or json"),
        "{e:?}"
    );
    let e = errors("log { level info; };\nlog { level warn; };");
    assert!(e[0].contains("repeated Level statement"), "{e:?}");
}

#[test]
fn syslog_in_two_log_blocks_is_a_warning() {
    let (c, w) = parse("log { syslog; };\nlog { syslog; };");
    assert!(c.log.syslog);
    assert_eq!(
        w[0].to_string(),
        "t.conf:2:7: warning: Syslog already given in another Log block at 1:7"
    );
}

// ---- The general rules ----

#[test]
fn keywords_ignore_case_values_do_not() {
    let a = ok(
        "SERVER Srv { PROTOCOL atmarp; NETIF Ni0; servergroupid 5; dcs { id Peer.Example; \
                atmADDR 0X47000580FFDC00000000020001002048061DE700; HOPS 7; }; }; LOG { SYSLOG; };",
    );
    let s = &a.servers[0];
    assert_eq!(s.name, "Srv");
    assert_eq!(s.netif.as_deref(), Some("Ni0"));
    assert_eq!(s.dcs[0].id, Host::Name("Peer.Example".into()));
    assert_eq!(s.dcs[0].hops, 7);
    let b = ok(
        "server Srv { protocol ATMARP; netif Ni0; ServerGroupID 5; DCS { ID Peer.Example; \
                ATMaddr 0x47000580ffdc00000000020001002048061de700; Hops 7; }; }; Log { Syslog; };",
    );
    assert_eq!(a, b);
    // Servers whose names differ only in case are different servers.
    let c = ok(
        "server a { protocol 1; netif n; ServerGroupID 1; DCS { ID x; }; }; \
                server A { protocol 1; netif n; ServerGroupID 1; DCS { ID x; }; };",
    );
    assert_eq!(c.servers.len(), 2);
}

#[test]
fn comments_of_all_three_kinds() {
    let src = "# a shell comment\n\
               server s { // a C++ comment\n\
               protocol /* a C comment */ ATMARP;\n\
               /* a C comment\n   over several lines; with { braces } */\n\
               netif ni0; ServerGroupID 1;# no space needed\n\
               DCS { ID 1.2.3.4;//nor here\n }; };";
    let c = ok(src);
    assert_eq!(c.servers[0].netif.as_deref(), Some("ni0"));
    assert_eq!(c.servers[0].dcs[0].id, ip("1.2.3.4"));
    // A path may contain "//": comments start only between tokens.
    assert_eq!(
        ok("log { file /var//log/x; };").log.file.as_deref(),
        Some(Path::new("/var//log/x"))
    );
}

#[test]
fn statements_span_lines() {
    let c = ok(
        "server\n  s\n{\nprotocol\nATMARP\n;\nnetif\nni0\n;ServerGroupID\n1;DCS\n{ID\n1.2.3.4\n;\n}\n;\n}\n;\n",
    );
    assert_eq!(c.servers[0].dcs[0].pos.line, 10);
}

#[test]
fn empty_statements_are_tolerated() {
    let c = ok(
        ";; server s { ;; protocol ATMARP;; ; netif ni0; ServerGroupID 1; DCS { ; ID 1.2.3.4;; ; }; ; };;",
    );
    assert_eq!(c.servers[0].dcs.len(), 1);
}

#[test]
fn statement_order_is_free() {
    let a = server("");
    let b = ok("server s { DCS { ID 10.9.9.9; }; ServerGroupID 1; netif ni0; protocol ATMARP; };")
        .servers
        .remove(0);
    assert_eq!(a, b);
    assert_ne!(a.pos, Default::default());
    let d1 = dcs("Hops 5;");
    let c = ok(
        "server s { protocol ATMARP; netif ni0; ServerGroupID 1; DCS { Hops 5; ID 10.0.0.2; }; };",
    );
    assert_eq!(c.servers[0].dcs[0], d1);
    // Log may come before or after the servers.
    let x = ok(
        "log { syslog; }; server s { protocol 1; ServerGroupID 1; ID 1.1.1.1; DCS { ID 1.1.1.2; }; };",
    );
    let y = ok(
        "server s { protocol 1; ServerGroupID 1; ID 1.1.1.1; DCS { ID 1.1.1.2; }; }; log { syslog; };",
    );
    assert_eq!(x, y);
}

#[test]
fn several_servers_and_dcss() {
    let (c, w) = parse(
        "server one { protocol ATMARP; netif ni0; ServerGroupID 1; \
                  DCS { ID 10.0.0.2; }; DCS { ID 10.0.0.3; hops 5; }; };\n\
                server two { protocol MARS; netif ni1; ServerGroupID 2; DCS { ID 10.0.0.2; }; };\n\
                server three { protocol 77; ID 10.0.0.1; ServerGroupID 3; };",
    );
    // A server without DCS is allowed, with a warning.
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].pos, scspd::config::Pos::new(3, 1));
    assert_eq!(c.servers.len(), 3);
    let names: Vec<&str> = c.servers.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["one", "two", "three"]);
    assert_eq!(c.servers[0].dcs.len(), 2);
    assert_eq!(c.servers[0].dcs[1].hops, 5);
    // The same DCS in two servers is fine.
    assert_eq!(c.servers[1].dcs[0].id, c.servers[0].dcs[0].id);
    assert_eq!(c.server("two").unwrap().protocol.id, 3);
    assert!(c.server("four").is_none());
    assert_eq!(
        c.servers[0].dcs_by_id(&ip("10.0.0.3")).map(|d| d.hops),
        Some(5)
    );
}

#[test]
fn missing_semicolon_after_block_is_a_warning() {
    let (c, w) = parse("server s { protocol 1; netif n; ServerGroupID 1;\n DCS { ID 1.2.3.4; }\n}");
    assert_eq!(c.servers[0].dcs.len(), 1);
    let w: Vec<String> = w.iter().map(ToString::to_string).collect();
    assert_eq!(
        w,
        [
            "t.conf:2:21: warning: missing ';' after '}'",
            "t.conf:3:2: warning: missing ';' after '}'"
        ]
    );
}

#[test]
fn missing_semicolon_before_brace_is_a_warning() {
    let (c, w) = parse(
        "log { syslog };\nserver s { protocol 1; ServerGroupID 1; ID 1.1.1.1; DCS { ID 2.2.2.2 }; };",
    );
    assert_eq!(c.servers[0].dcs[0].id, ip("2.2.2.2"));
    let w: Vec<String> = w.iter().map(ToString::to_string).collect();
    assert_eq!(
        w,
        [
            "t.conf:1:14: warning: missing ';' before '}'",
            "t.conf:2:70: warning: missing ';' before '}'"
        ]
    );
}

#[test]
fn equality_ignores_positions() {
    let a = ok("server s { protocol 1; ServerGroupID 1; ID 1.1.1.1; DCS { ID 2.2.2.2; }; };");
    let b = ok(
        "\n\n   server s {\n protocol 1; ServerGroupID 1; ID 1.1.1.1;\n\n DCS { ID 2.2.2.2; }; };",
    );
    assert_ne!(a.servers[0].pos, b.servers[0].pos);
    assert_ne!(a.servers[0].dcs[0].pos, b.servers[0].dcs[0].pos);
    assert_eq!(a, b);
    assert_eq!(a.servers[0].dcs[0], b.servers[0].dcs[0]);
    // One changed setting makes the DCS different, but the server's own settings the same.
    let c =
        ok("server s { protocol 1; ServerGroupID 1; ID 1.1.1.1; DCS { ID 2.2.2.2; hops 4; }; };");
    assert_ne!(a.servers[0].dcs[0], c.servers[0].dcs[0]);
    assert!(a.servers[0].same_settings(&c.servers[0]));
    assert_ne!(a.servers[0], c.servers[0]);
}

#[test]
fn serializes_to_json() {
    let c = ok(
        "server s { protocol 1; ServerGroupID 1; ID 1.1.1.1; DCS { ID 2.2.2.2; \
                Auth { SPI 5; Key \"0123456789abcdef\"; }; }; };",
    );
    let json = serde_json::to_value(&c).unwrap();
    assert_eq!(json["servers"][0]["name"], "s");
    assert_eq!(json["servers"][0]["protocol"]["name"], "ATMARP");
    assert_eq!(
        json["servers"][0]["dcs"][0]["auth"]["key"],
        "<16-byte secret>"
    );
    assert_eq!(json["log"]["syslog"], true);
}

#[test]
fn bare_lnni_and_mars_are_ignored_as_the_original_did() {
    let (c, w) = parse(
        "server s { protocol DHCP; netif ni0; ServerGroupID 1;\n  lnni;\n MARS;\n DCS { ID 1.2.3.4; }; };",
    );
    assert_eq!(c.servers[0].protocol.id, 4);
    let w: Vec<String> = w.iter().map(ToString::to_string).collect();
    assert_eq!(
        w,
        [
            "t.conf:2:3: warning: \"lnni\" alone is ignored (as the original did); write \
             \"Protocol LNNI;\" to select that protocol",
            "t.conf:3:2: warning: \"MARS\" alone is ignored (as the original did); write \
             \"Protocol MARS;\" to select that protocol",
        ]
    );
}

#[test]
fn local_grace_seconds_never_and_default() {
    assert_eq!(server("").local_grace, Some(config::DEFAULT_LOCAL_GRACE));
    assert_eq!(server("LocalGrace 60;").local_grace, Some(60));
    assert_eq!(server("LocalGrace never;").local_grace, None);
    assert_eq!(server("localgrace NEVER;").local_grace, None);
    for bad in ["0", "604801", "soon"] {
        let src = format!(
            "server s {{ protocol ATMARP; netif ni0; ServerGroupID 1; LocalGrace {bad}; \
             DCS {{ ID 10.9.9.9; }}; }};"
        );
        let errors = config::parse(&src, "t.conf").expect_err(bad);
        assert!(
            errors
                .iter()
                .any(|e| e.to_string().contains("invalid local grace time")),
            "{bad}: {errors:?}"
        );
    }
}

#[test]
fn cache_and_csa_request_list_bounds_and_defaults() {
    let s = server("");
    assert_eq!(s.max_cache_entries, config::DEFAULT_MAX_CACHE_ENTRIES);
    assert_eq!(s.max_cache_bytes, 256 << 20);
    assert_eq!(s.max_csa_requests, config::DEFAULT_MAX_CSA_REQUESTS);
    assert_eq!(s.stray_deletion_hold, 60);
    let s = server(
        "MaxCacheEntries 1000; MaxCacheBytes 8388608; MaxCSARequests 5000; StrayDeletionHold 5;",
    );
    assert_eq!(
        (
            s.max_cache_entries,
            s.max_cache_bytes,
            s.max_csa_requests,
            s.stray_deletion_hold
        ),
        (1000, 8 << 20, 5000, 5)
    );
    for (stmt, msg) in [
        ("MaxCacheEntries 0;", "invalid cache entries maximum"),
        ("MaxCacheBytes 1000;", "invalid cache bytes maximum"),
        ("MaxCacheBytes lots;", "invalid cache bytes maximum"),
        ("MaxCSARequests 0;", "invalid CSA Request List maximum"),
        ("StrayDeletionHold 0;", "invalid stray deletion hold time"),
        (
            "StrayDeletionHold 3601;",
            "invalid stray deletion hold time",
        ),
        (
            "MaxCSARequests 1; MaxCSARequests 2;",
            "repeated MaxCSARequests statement",
        ),
    ] {
        let src = format!(
            "server s {{ protocol ATMARP; netif ni0; ServerGroupID 1; {stmt} \
             DCS {{ ID 10.9.9.9; }}; }};"
        );
        let errors = config::parse(&src, "t.conf").expect_err(stmt);
        assert!(
            errors.iter().any(|e| e.to_string().contains(msg)),
            "{stmt}: {errors:?}"
        );
    }
}

#[test]
fn timers_and_auth_failure_statements() {
    let d = dcs("");
    assert!(!d.rfc_timers && !d.auth_failure_abnormal, "defaults");
    assert!(dcs("Timers rfc;").rfc_timers);
    assert!(!dcs("Timers adaptive;").rfc_timers);
    assert!(dcs("AuthFailure abnormal;").auth_failure_abnormal);
    assert!(!dcs("authfailure DISCARD;").auth_failure_abnormal);
    for (stmt, msg) in [
        ("Timers fast;", "invalid Timers value"),
        ("AuthFailure ignore;", "invalid AuthFailure value"),
    ] {
        assert_dcs_error(stmt, msg);
    }
}

#[test]
fn dcs_bounds_statements() {
    let d = dcs("");
    assert_eq!(d.max_dead_interval, None);
    assert_eq!(d.max_rexmit_queue, config::DEFAULT_MAX_REXMIT_QUEUE);
    let d = dcs("MaxDeadInterval 45; MaxReXmitQueue 5000;");
    assert_eq!((d.max_dead_interval, d.max_rexmit_queue), (Some(45), 5000));
    for (stmt, msg) in [
        ("MaxDeadInterval 0;", "invalid maximum dead interval"),
        ("MaxReXmitQueue 0;", "invalid retransmit queue maximum"),
        (
            "MaxReXmitQueue 99999999;",
            "invalid retransmit queue maximum",
        ),
    ] {
        assert_dcs_error(stmt, msg);
    }
}

#[test]
fn dcs_replay_statement() {
    use scsp_core::ReplayMode;
    assert_eq!(dcs("").replay, ReplayMode::On);
    for (text, mode) in [
        ("Replay off;", ReplayMode::Off),
        ("Replay on;", ReplayMode::On),
        ("replay REQUIRE;", ReplayMode::Require),
    ] {
        assert_eq!(dcs(text).replay, mode, "{text}");
    }
    assert_dcs_error(
        "Replay maybe;",
        "invalid Replay value; expected on, off or require",
    );
    assert_dcs_error("Replay on; Replay off;", "Replay");
}

#[test]
fn notify_statement() {
    let s = |body: &str| {
        config::parse(
            &format!("server s {{ protocol 65000; ID 10.0.0.1; ServerGroupID 1; {body} DCS {{ ID 10.0.0.2; }}; }};"),
            "/etc/scspd/t.conf",
        )
        .map(|(c, _)| c.servers[0].notify.clone())
    };
    assert_eq!(s("").unwrap(), None);
    let n = s("Notify /usr/local/sbin/scsp-notify;").unwrap().unwrap();
    assert_eq!(
        (n.script.as_path(), n.timeout_s),
        (
            Path::new("/usr/local/sbin/scsp-notify"),
            config::DEFAULT_NOTIFY_TIMEOUT
        )
    );
    // Relative to the configuration's directory; a time limit.
    let n = s("notify \"notify.sh\" 3;").unwrap().unwrap();
    assert_eq!(
        (n.script.as_path(), n.timeout_s),
        (Path::new("/etc/scspd/notify.sh"), 3)
    );
    for (bad, msg) in [
        ("Notify;", "Notify"),
        ("Notify x 0;", "invalid notify time limit"),
        ("Notify x 3601;", "invalid notify time limit"),
        ("Notify x; Notify y;", "repeated Notify statement"),
    ] {
        let e = s(bad).expect_err(bad);
        assert!(
            e.iter().any(|e| e.to_string().contains(msg)),
            "{bad}: {e:?}"
        );
    }
    // Written back as it reads.
    let (c, _) = config::parse(
        "server s { protocol 65000; ID 10.0.0.1; ServerGroupID 1; Notify /x/y 5; DCS { ID 10.0.0.2; }; };",
        "t.conf",
    )
    .unwrap();
    assert!(c.to_string().contains("    Notify /x/y 5;\n"), "{c}");
}

#[test]
fn reconcile_on_off_and_default() {
    assert!(!server("").reconcile);
    assert!(server("Reconcile on;").reconcile);
    assert!(!server("reconcile OFF;").reconcile);
    let errors = config::parse(
        "server s { protocol ATMARP; netif ni0; ServerGroupID 1; Reconcile maybe; \
         DCS { ID 10.9.9.9; }; };",
        "t.conf",
    )
    .expect_err("invalid");
    assert!(
        errors
            .iter()
            .any(|e| e.to_string().contains("invalid Reconcile value")),
        "{errors:?}"
    );
}
