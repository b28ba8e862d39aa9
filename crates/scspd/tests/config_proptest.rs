//! Properties: no input makes the parser panic, and any valid configuration written as text
//! parses back to itself.

use std::collections::HashSet;
use std::net::IpAddr;
use std::path::PathBuf;

use proptest::prelude::*;
use scspd::config::{
    self, ATMARP_FORMATS, AtmAddress, AtmAddressKind, AuthAlgorithm, AuthConfig, Config, DcsConfig,
    Host, LogConfig, LogFormat, LogLevel, Pos, Protocol, Secret, ServerConfig, StateDir,
};

/// Pieces of the language, and pieces that break it, for inputs that get past the lexer.
const FRAGMENTS: &[&str] = &[
    "server",
    "Server",
    "log",
    "file",
    "syslog",
    "protocol",
    "ATMARP",
    "NHRP",
    "netif",
    "ni0",
    "ServerGroupID",
    "FamilyID",
    "ID",
    "Address",
    "Port",
    "MTU",
    "ATMARPFormat",
    "harp",
    "draft-00",
    "draft-01",
    "MARSRedirectInterval",
    "MARS",
    "120",
    "3600",
    "3601",
    "DCS",
    "ATMaddr",
    "hops",
    "HelloInt",
    "HelloDead",
    "CAReXmitInt",
    "CSUSReXmitInt",
    "CSUReXmitInt",
    "CSUReXmitMax",
    "Auth",
    "SPI",
    "SendSPI",
    "RecvSPI",
    "Algorithm",
    "HMAC-MD5",
    "HMAC-SHA-256",
    "Key",
    "KeyFile",
    "0",
    "1",
    "3",
    "1024",
    "1025",
    "65535",
    "65536",
    "99999999999999999999",
    "127.0.0.1",
    "10.0.0.2",
    "::1",
    "fe80::",
    "peer.example",
    "a..b",
    "0x47.0005.80.ffdc00.0000.0002.0001.002048061de7.00",
    "0x0123",
    "0xzz",
    "\"str\"",
    "\"",
    "\"\\q\"",
    "{",
    "}",
    ";",
    ";",
    ";",
    "{",
    "}",
    " ",
    " ",
    "\n",
    "\t",
    "#",
    "//",
    "/*",
    "*/",
    "$",
    "\u{0}",
    "\u{e9}",
    "\u{fffd}",
    "/tmp/x",
    "-",
    ".",
];

fn soup() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            4 => prop::sample::select(FRAGMENTS).prop_map(str::to_owned),
            1 => any::<char>().prop_map(String::from),
        ],
        0..80,
    )
    .prop_map(|parts| parts.join(" "))
}

/// What must hold of any parse, accepted or not.
fn check_any(src: &str) {
    let report = config::check(src, "p.conf");
    let lines = u32::try_from(src.split('\n').count()).unwrap_or(u32::MAX);
    for e in &report.errors {
        assert!(e.pos.line >= 1 && e.pos.line <= lines, "{e} in {src:?}");
        assert!(e.pos.col >= 1, "{e}");
        assert!(!e.message.is_empty());
    }
    for w in &report.warnings {
        assert!(w.pos.line >= 1 && w.pos.line <= lines, "{w} in {src:?}");
    }
    assert_eq!(report.config.is_some(), report.errors.is_empty());
    // Whatever is accepted is written back as text that parses to the same configuration.
    if let Some(c) = report.config {
        let text = c.to_string();
        match config::parse(&text, "rendered.conf") {
            Ok((c2, _)) => assert_eq!(c2, c, "{text}"),
            Err(e) => panic!("rendered text rejected: {e:?}\n{text}"),
        }
    }
}

fn host() -> impl Strategy<Value = Host> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(|b| Host::Ip(IpAddr::from(b))),
        any::<[u8; 16]>().prop_map(|b| Host::Ip(IpAddr::from(b))),
        "[a-z]([a-z0-9_-]{0,8}[a-z0-9])?(\\.[a-z]([a-z0-9-]{0,5}[a-z0-9])?){0,3}\\.?"
            .prop_map(Host::Name),
    ]
}

/// Text without control characters (which no value may contain), as names and paths.
fn text() -> impl Strategy<Value = String> {
    "[^\\p{Cc}]{1,24}"
}

fn atm() -> impl Strategy<Value = AtmAddress> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 20).prop_map(|bytes| AtmAddress {
            kind: AtmAddressKind::Nsap,
            bytes,
            subaddress: None,
        }),
        (
            prop::collection::vec(any::<u8>(), 1..=15),
            prop::collection::vec(any::<u8>(), 20)
        )
            .prop_map(|(bytes, sub)| AtmAddress {
                kind: AtmAddressKind::E164,
                bytes,
                subaddress: Some(sub),
            }),
    ]
}

fn auth() -> impl Strategy<Value = AuthConfig> {
    (
        1..=u32::MAX,
        prop::option::of(1..=u32::MAX),
        prop::bool::ANY,
        prop::collection::vec(any::<u8>(), 1..64),
    )
        .prop_map(|(send_spi, recv, sha, key)| AuthConfig {
            send_spi,
            recv_spi: recv.unwrap_or(send_spi),
            algorithm: if sha {
                AuthAlgorithm::HmacSha256
            } else {
                AuthAlgorithm::HmacMd5
            },
            key: Secret::new(key),
            key_file: None,
        })
}

fn dcs() -> impl Strategy<Value = DcsConfig> {
    (
        host(),
        prop::option::of(atm()),
        prop::option::of(host()),
        1..=u16::MAX,
        prop::array::uniform7(1..=1024u16),
        prop::option::of(auth()),
        (1..100u32, 1..100u32),
    )
        .prop_map(|(id, atm_addr, address, port, n, auth, (line, col))| {
            let mut d = DcsConfig::new(id);
            d.atm_addr = atm_addr;
            d.address = address;
            d.port = port;
            d.ca_rexmit_int = n[0];
            d.csus_rexmit_int = n[1];
            d.csu_rexmit_int = n[2];
            d.csu_rexmit_max = n[3];
            d.hello_dead = n[4];
            d.hello_int = n[5];
            d.hops = n[6];
            d.auth = auth;
            d.rfc_timers = n[0] % 2 == 0;
            d.auth_failure_abnormal = n[1] % 2 == 0;
            d.max_dead_interval = (n[2] % 3 == 0).then_some(u32::from(n[2]));
            d.max_rexmit_queue = if n[3] % 2 == 0 {
                config::DEFAULT_MAX_REXMIT_QUEUE
            } else {
                u32::from(n[3])
            };
            d.pos = Pos::new(line, col);
            d
        })
}

fn server() -> impl Strategy<Value = ServerConfig> {
    (
        text(),
        any::<u16>(),
        prop::option::of("[a-z][a-z0-9.]{0,14}"),
        (any::<u16>(), any::<u16>()),
        prop::option::of(host()),
        prop::option::of(host()),
        (1..=u16::MAX, 64..=u16::MAX),
        prop::collection::vec(dcs(), 0..4),
        (prop::bool::ANY, prop::sample::select(&ATMARP_FORMATS[..])),
        (
            prop::bool::ANY,
            prop_oneof![
                Just(config::DEFAULT_MARS_REDIRECT_INTERVAL),
                config::MIN_MARS_REDIRECT_INTERVAL..=config::MAX_MARS_REDIRECT_INTERVAL,
            ],
        ),
        prop_oneof![
            Just(Some(config::DEFAULT_LOCAL_GRACE)),
            Just(None),
            (1..=config::MAX_LOCAL_GRACE).prop_map(Some),
        ],
        (
            prop_oneof![
                Just(config::DEFAULT_MAX_CACHE_ENTRIES),
                1..=config::MAX_MAX_CACHE_ENTRIES,
            ],
            prop_oneof![
                Just(config::DEFAULT_MAX_CACHE_BYTES),
                config::MIN_MAX_CACHE_BYTES..=config::MAX_MAX_CACHE_BYTES,
            ],
            prop_oneof![
                Just(config::DEFAULT_MAX_CSA_REQUESTS),
                1..=config::MAX_MAX_CSA_REQUESTS,
            ],
            prop_oneof![
                Just(config::DEFAULT_STRAY_DELETION_HOLD),
                1..=config::MAX_STRAY_DELETION_HOLD,
            ],
        ),
    )
        .prop_map(
            |(
                name,
                proto,
                netif,
                (sgid, family_id),
                id,
                address,
                (port, mtu),
                dcs,
                (atmarp, (_, atmarp_format)),
                (mars, mars_redirect_interval),
                local_grace,
                (max_cache_entries, max_cache_bytes, max_csa_requests, stray_deletion_hold),
            )| {
                // The rules of a valid server: Netif or ID, DCS IDs unique and not its own.
                let netif = if netif.is_none() && id.is_none() {
                    Some("lo".to_owned())
                } else {
                    netif
                };
                let mut kept: Vec<DcsConfig> = Vec::new();
                for d in dcs {
                    let own = id.as_ref().is_some_and(|i| i.same_as(&d.id));
                    if !own && !kept.iter().any(|k| k.id.same_as(&d.id)) {
                        kept.push(d);
                    }
                }
                // ATMARP and MARS often enough to exercise their statements.
                let proto = match (atmarp, mars) {
                    (true, _) => Protocol::ATMARP.id,
                    (false, true) => Protocol::MARS.id,
                    (false, false) => proto,
                };
                ServerConfig {
                    name,
                    protocol: Protocol::from_id(proto),
                    netif,
                    sgid,
                    family_id,
                    id,
                    address,
                    port,
                    mtu,
                    atmarp_format,
                    mars_redirect_interval,
                    local_grace,
                    max_cache_entries,
                    max_cache_bytes,
                    max_csa_requests,
                    stray_deletion_hold,
                    reconcile: stray_deletion_hold % 2 == 0,
                    notify: None,
                    dcs: kept,
                    pos: Pos::default(),
                }
            },
        )
}

fn valid_config() -> impl Strategy<Value = Config> {
    (
        prop::collection::vec(server(), 0..4),
        prop::option::of(text()),
        prop::bool::ANY,
        prop::option::of((any::<std::net::IpAddr>(), 1u16..)),
        prop::option::of(prop_oneof![
            Just(StateDir::None),
            text().prop_map(|t| StateDir::Dir(PathBuf::from(format!("/{t}")))),
        ]),
        (0..LogLevel::ALL.len(), prop::bool::ANY),
    )
        .prop_map(
            |(servers, file, syslog, metrics, state_dir, (level, json))| {
                let mut names = HashSet::new();
                let servers = servers
                    .into_iter()
                    .filter(|s| names.insert(s.name.clone()))
                    .collect();
                let syslog = syslog || file.is_none();
                Config {
                    servers,
                    log: LogConfig {
                        // (Absolute: a relative one is taken from the file's directory.)
                        file: file.map(|f| PathBuf::from(format!("/{f}"))),
                        syslog,
                        level: LogLevel::ALL[level],
                        format: if json {
                            LogFormat::Json
                        } else {
                            LogFormat::Text
                        },
                    },
                    metrics: metrics.map(|(ip, port)| std::net::SocketAddr::new(ip, port)),
                    state_dir,
                }
            },
        )
}

proptest! {
    // 256 cases each by default; set PROPTEST_CASES for more.
    #[test]
    fn arbitrary_text_never_panics(src in ".*") {
        check_any(&src);
    }

    #[test]
    fn token_soup_never_panics(src in soup()) {
        check_any(&src);
    }

    #[test]
    fn rendered_config_parses_back(c in valid_config()) {
        let text = c.to_string();
        match config::parse(&text, "rendered.conf") {
            Ok((c2, _warnings)) => prop_assert_eq!(c2, c, "{}", text),
            Err(e) => {
                let e: Vec<String> = e.iter().map(ToString::to_string).collect();
                prop_assert!(false, "rejected: {:#?}\n{}", e, text);
            }
        }
    }
}

#[test]
fn examples_render_and_parse_back() {
    for name in [
        "manual-example.conf",
        "ip-example.conf",
        "full-example.conf",
    ] {
        let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
        let (c, _) = config::load(&path).unwrap();
        let text = c.to_string();
        // KeyFile is written as KeyFile: parse the text from the same directory.
        let (c2, _) = config::parse(&text, &path).unwrap();
        assert_eq!(c2, c, "{text}");
    }
}

#[test]
fn rendering_of_the_manual_example() {
    let path = format!(
        "{}/tests/data/manual-example.conf",
        env!("CARGO_MANIFEST_DIR")
    );
    let (c, _) = config::load(path).unwrap();
    assert_eq!(
        c.to_string(),
        "Log {
    Syslog;
};

Server atmarp_ni0 {
    Protocol ATMARP;
    Netif ni0;
    ServerGroupID 23;
    FamilyID 0;
    Port 7126;
    MTU 1472;
    ATMARPFormat harp;
    DCS {
        ID 169.254.1.2;
        ATMaddr 0x47000580ffdc00000000020001002048061de700;
        Port 7126;
        CAReXmitInt 3;
        CSUSReXmitInt 3;
        CSUReXmitInt 2;
        CSUReXmitMax 5;
        HelloDead 3;
        HelloInt 3;
        Hops 2;
    };
};
"
    );
}

#[test]
fn names_that_need_quotes_are_quoted() {
    let src = "server \"my server\" { protocol 1; netif n; ServerGroupID 1; DCS { ID h; }; };\n\
               log { file \"/var/log/a \\\"b\\\" \\\\ c\"; };";
    let (c, _) = config::parse(src, "t").unwrap();
    let text = c.to_string();
    assert!(text.contains("Server \"my server\" {"), "{text}");
    assert!(
        text.contains("File \"/var/log/a \\\"b\\\" \\\\ c\";"),
        "{text}"
    );
    assert_eq!(config::parse(&text, "t").unwrap().0, c);
}

#[test]
fn redacted_hides_inline_keys() {
    let src = "server s { protocol 1; ID 1.1.1.1; ServerGroupID 1; DCS { ID 1.1.1.2; \
               Auth { SendSPI 1; RecvSPI 2; Key 0x00112233445566778899aabbccddeeff; }; }; };";
    let (c, _) = config::parse(src, "t").unwrap();
    let plain = c.to_string();
    assert!(
        plain.contains("Key 0x00112233445566778899aabbccddeeff;"),
        "{plain}"
    );
    assert!(plain.contains("SendSPI 1;") && plain.contains("RecvSPI 2;"));
    let hidden = c.redacted().to_string();
    assert!(!hidden.contains("00112233"), "{hidden}");
    assert!(hidden.contains("Key \"(redacted)\";"), "{hidden}");
}
