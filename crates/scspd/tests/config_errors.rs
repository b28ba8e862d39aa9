//! Every error message, at its exact line and column, and the reporting of several errors.

use scspd::config::{self, Pos};

/// `line:col: message` of every error in `src`.
fn errors(src: &str) -> Vec<String> {
    match config::parse(src, "t.conf") {
        Ok((c, w)) => panic!("accepted:\n{src}\n{c:#?}\nwarnings: {w:?}"),
        Err(errors) => errors
            .iter()
            .map(|e| format!("{}: {}", e.pos, e.message))
            .collect(),
    }
}

/// The errors of a DCS whose item `item` stands alone on line 3, from column 1.
fn dcs_errors(item: &str) -> Vec<String> {
    errors(&format!(
        "server s {{ protocol 1; netif n; ServerGroupID 1;\nDCS {{ ID 1.1.1.1;\n{item}\n}}; }};"
    ))
}

/// The errors of a server whose item `item` stands alone on line 2, from column 1.
fn server_errors(item: &str) -> Vec<String> {
    errors(&format!(
        "server s {{ DCS {{ ID 1.1.1.1; }};\n{item}\nServerGroupID 1; protocol 1; ID 1.1.1.2; }};"
    ))
}

/// The errors of an Auth block whose item `item` stands alone on line 2, from column 1.
fn auth_errors(item: &str) -> Vec<String> {
    errors(&format!(
        "server s {{ protocol 1; netif n; ServerGroupID 1; DCS {{ ID 1.1.1.1; Auth {{\n{item}\n}}; }}; }};"
    ))
}

// ---- The lexer ----

#[test]
fn invalid_character() {
    assert_eq!(
        server_errors("netif n$0;"),
        ["2:8: invalid character 0x24 ('$')"]
    );
    assert_eq!(
        errors("log { syslog; }; \u{1}"),
        ["1:18: invalid character 0x01"]
    );
    assert_eq!(
        errors("log { file caf\u{e9}; };"),
        ["1:15: invalid character 0xe9 ('\u{e9}')"]
    );
}

#[test]
fn invalid_character_value_does_not_cascade() {
    assert_eq!(
        server_errors("netif n$0 ServerGroupID;"),
        ["2:8: invalid character 0x24 ('$')"]
    );
    assert_eq!(
        errors("server s x$ { protocol 1; netif n; ServerGroupID 1; DCS { ID h; }; };"),
        ["1:11: invalid character 0x24 ('$')"]
    );
    // The lexer's error is the only one: the statement counts as given.
    assert_eq!(
        errors("server s { protocol 1; netif n%0; ServerGroupID 1; DCS { ID 1.1.1.1; }; };"),
        ["1:31: invalid character 0x25 ('%')"]
    );
}

#[test]
fn unterminated_comment() {
    assert_eq!(
        errors("log { syslog; };\n  /* no end\n\n"),
        ["2:3: unterminated /* comment"]
    );
}

#[test]
fn strings() {
    assert_eq!(
        errors("log { file \"abc;\n};"),
        ["1:12: unterminated string (strings end on their line)"]
    );
    assert_eq!(
        errors("log { file \"a\\tb\"; };"),
        ["1:14: invalid escape '\\t' in string; only \\\" and \\\\ are allowed"]
    );
    assert_eq!(
        errors("log { file \"a\u{7f}\"; };"),
        ["1:14: invalid character 0x7f in string"]
    );
}

#[test]
fn token_too_long() {
    let long = "x".repeat(1025);
    assert_eq!(
        errors(&format!("log {{ file {long}; }};")),
        ["1:12: token too long (1025 characters; at most 1024 are allowed)"]
    );
    let long = "x".repeat(2000);
    assert_eq!(
        errors(&format!("log {{\nfile \"{long}\"; }};")),
        ["2:6: token too long (2000 characters; at most 1024 are allowed)"]
    );
}

// ---- The statement structure ----

#[test]
fn unmatched_close() {
    assert_eq!(errors("log { syslog; };\n};"), ["2:1: unmatched '}'"]);
}

#[test]
fn block_without_keyword() {
    assert_eq!(
        errors("{ syslog; };\nlog { syslog; };"),
        ["1:1: expected a keyword, found '{'"]
    );
    assert_eq!(
        errors("log { \"syslog\"; };"),
        ["1:7: expected a keyword, found the quoted string \"syslog\""]
    );
}

#[test]
fn unclosed_blocks() {
    assert_eq!(
        errors("log { syslog;\n"),
        ["2:1: unexpected end of file: the block opened at 1:5 is not closed (missing '}')"]
    );
    assert_eq!(
        errors("server s { protocol 1; netif n; ServerGroupID 1;\n DCS { ID 1.1.1.1;"),
        [
            "2:19: unexpected end of file: the block opened at 2:6 is not closed (missing '}')",
            "2:19: unexpected end of file: the block opened at 1:10 is not closed (missing '}')",
        ]
    );
}

#[test]
fn nesting_too_deep() {
    let src = format!("log {{ {} }};", "x { ".repeat(20) + &"}; ".repeat(20));
    let e = errors(&src);
    assert_eq!(
        e[0],
        "1:7: unknown statement \"x\" in a Log block; expected one of File, Syslog, Level, Format"
    );
    assert!(
        e.contains(&"1:37: blocks nested too deeply (more than 8 levels)".to_owned()),
        "{e:?}"
    );
    // A million open braces do not overflow the stack.
    let e = errors(&"{".repeat(1_000_000));
    assert_eq!(e[0], "1:1: expected a keyword, found '{'");
}

// ---- Keywords, values and blocks ----

#[test]
fn unknown_statements() {
    assert_eq!(
        errors("serveur s { };"),
        [
            "1:1: unknown statement \"serveur\" at the top level (did you mean Server?); expected one of Server, Log, Metrics, StateDir"
        ]
    );
    assert_eq!(
        server_errors("hops 3;"),
        [
            "2:1: unknown statement \"hops\" in a Server block (Hops belongs in a DCS block); expected one of Protocol, Netif, \
             ServerGroupID, FamilyID, ID, Address, Port, MTU, ATMARPFormat, MARSRedirectInterval, \
             LocalGrace, MaxCacheEntries, MaxCacheBytes, MaxCSARequests, StrayDeletionHold, Reconcile, Notify, DCS"
        ]
    );
    assert_eq!(
        dcs_errors("netif ni0;"),
        [
            "3:1: unknown statement \"netif\" in a DCS block (Netif belongs in a Server block); \
             expected one of ATMaddr, ID, \
             Address, Port, CAReXmitInt, CSUSReXmitInt, CSUReXmitInt, CSUReXmitMax, HelloDead, \
             HelloInt, Hops, Auth, Timers, AuthFailure, Replay, MaxDeadInterval, MaxReXmitQueue"
        ]
    );
    assert_eq!(
        errors("log { facility local0; };"),
        [
            "1:7: unknown statement \"facility\" in a Log block; expected one of File, Syslog, \
             Level, Format"
        ]
    );
    assert_eq!(
        auth_errors("SPI 1; Key 0x00112233445566778899aabbccddeeff; Lifetime 30;"),
        [
            "2:48: unknown statement \"Lifetime\" in an Auth block; expected one of SPI, \
             SendSPI, RecvSPI, Algorithm, Key, KeyFile"
        ]
    );
}

#[test]
fn missing_and_extra_values() {
    assert_eq!(
        server_errors("netif ;"),
        ["2:7: expected an interface name after Netif, found ';'"]
    );
    assert_eq!(
        server_errors("netif ni0 ServerGroupID 3;"),
        ["2:11: unexpected \"ServerGroupID\" after the value of Netif; expected ';'"]
    );
    assert_eq!(
        server_errors("netif ni0 { };"),
        ["2:11: Netif takes no block; expected ';'"]
    );
    assert_eq!(
        errors("log { syslog yes; };"),
        ["1:14: unexpected \"yes\" after Syslog; expected ';'"]
    );
    assert_eq!(
        dcs_errors("ATMaddr;"),
        ["3:8: expected an ATM address after ATMaddr, found ';'"]
    );
    assert_eq!(
        dcs_errors("hops 1 2 3;"),
        ["3:8: unexpected \"2\" after the value of Hops; expected ';'"]
    );
    // A missing ';' at the end of a line: the next line is read as a statement of its own,
    // so neither it nor the errors after it are hidden.
    assert_eq!(
        dcs_errors("hops 2\nHelloInt 3;"),
        ["4:1: missing ';' at the end of line 3: \"HelloInt\" starts a new statement"]
    );
    assert_eq!(
        dcs_errors("hops 2\nHelloInt 99999;"),
        [
            "4:1: missing ';' at the end of line 3: \"HelloInt\" starts a new statement",
            "4:10: invalid Hello interval \"99999\"; expected a number 1-1024"
        ]
    );
    // On one line, the value too many it is.
    assert_eq!(
        dcs_errors("hops 2 HelloInt 3;"),
        ["3:8: unexpected \"HelloInt\" after the value of Hops; expected ';'"]
    );
}

#[test]
fn server_statement_shape() {
    assert_eq!(
        errors("server { protocol 1; netif n; ServerGroupID 1; };"),
        ["1:8: expected a server name after Server, found '{'"]
    );
    assert_eq!(
        errors("server a b { protocol 1; netif n; ServerGroupID 1; };"),
        ["1:10: unexpected \"b\" after the server name; expected '{'"]
    );
    assert_eq!(
        errors("server a;"),
        ["1:9: expected '{' after the server name, found ';'"]
    );
    assert_eq!(
        errors("server \"\" { protocol 1; netif n; ServerGroupID 1; DCS { ID h; }; };"),
        ["1:8: empty server name"]
    );
    assert_eq!(errors("log;"), ["1:4: expected '{' after Log, found ';'"]);
}

#[test]
fn dcs_statement_shape() {
    assert_eq!(
        server_errors("DCS peer { ID 1.1.1.3; };"),
        ["2:5: unexpected \"peer\" after DCS; expected '{'"]
    );
    assert_eq!(
        server_errors("DCS;"),
        ["2:4: expected '{' after DCS, found ';'"]
    );
}

// ---- Values ----

#[test]
fn protocol_values() {
    let want = "2:10: invalid protocol \"ARP\"; expected ATMARP, NHRP, MARS, DHCP, LNNI or a number \
                0-65535";
    assert_eq!(
        server_errors("protocol ARP;"),
        [
            want,
            "3:18: repeated Protocol statement (the first is at 2:1)"
        ]
    );
    let e = errors("server s { protocol 65536; netif n; ServerGroupID 1; };");
    assert_eq!(
        e,
        [
            "1:21: invalid protocol \"65536\"; expected ATMARP, NHRP, MARS, DHCP, LNNI or a number 0-65535"
        ]
    );
}

#[test]
fn atmarp_format_values() {
    assert_eq!(
        server_errors("ATMARPFormat draft-02;"),
        ["2:14: invalid ATMARP format \"draft-02\"; expected harp, draft-00 or draft-01"]
    );
    assert_eq!(
        server_errors("ATMARPFormat \"\";"),
        ["2:14: invalid ATMARP format \"\"; expected harp, draft-00 or draft-01"]
    );
    assert_eq!(
        server_errors("ATMARPFormat;"),
        ["2:13: expected an ATMARP format after ATMARPFormat, found ';'"]
    );
    assert_eq!(
        server_errors("ATMARPFormat harp draft-01;"),
        ["2:19: unexpected \"draft-01\" after the value of ATMARPFormat; expected ';'"]
    );
    assert_eq!(
        server_errors("ATMARPFormat harp; atmarpformat draft-01;"),
        ["2:20: repeated ATMARPFormat statement (the first is at 2:1)"]
    );
    assert_eq!(
        dcs_errors("ATMARPFormat harp;"),
        [
            "3:1: unknown statement \"ATMARPFormat\" in a DCS block (ATMARPFormat belongs in a \
             Server block); expected one of ATMaddr, ID, Address, Port, CAReXmitInt, \
             CSUSReXmitInt, CSUReXmitInt, CSUReXmitMax, HelloDead, HelloInt, Hops, Auth, Timers, AuthFailure, Replay, MaxDeadInterval, MaxReXmitQueue"
        ]
    );
}

#[test]
fn mars_redirect_interval_values() {
    for v in ["0", "1", "3601", "65536", "-5", "2m", "0x10", "\"\""] {
        assert_eq!(
            server_errors(&format!("MARSRedirectInterval {v};")),
            [format!(
                "2:22: invalid MARS redirect interval {}; expected a number 2-3600",
                if v.starts_with('"') {
                    v.to_owned()
                } else {
                    format!("\"{v}\"")
                }
            )],
            "{v}"
        );
    }
    assert_eq!(
        server_errors("FamilyID 1; MARSRedirectInterval 3601;"),
        ["2:34: invalid MARS redirect interval \"3601\"; expected a number 2-3600"]
    );
    assert_eq!(
        server_errors("MARSRedirectInterval;"),
        ["2:21: expected a number of seconds after MARSRedirectInterval, found ';'"]
    );
    assert_eq!(
        server_errors("MARSRedirectInterval 4 5;"),
        ["2:24: unexpected \"5\" after the value of MARSRedirectInterval; expected ';'"]
    );
    assert_eq!(
        server_errors("MARSRedirectInterval 4; marsredirectinterval 5;"),
        ["2:25: repeated MARSRedirectInterval statement (the first is at 2:1)"]
    );
    assert_eq!(
        dcs_errors("MARSRedirectInterval 4;"),
        [
            "3:1: unknown statement \"MARSRedirectInterval\" in a DCS block \
             (MARSRedirectInterval belongs in a Server block); expected one of ATMaddr, ID, \
             Address, Port, CAReXmitInt, CSUSReXmitInt, CSUReXmitInt, CSUReXmitMax, HelloDead, \
             HelloInt, Hops, Auth, Timers, AuthFailure, Replay, MaxDeadInterval, MaxReXmitQueue"
        ]
    );
}

#[test]
fn server_numbers() {
    let base = |item: &str| {
        errors(&format!(
            "server s {{ protocol 1; netif n; DCS {{ ID 1.1.1.1; }};\n{item}\n}};"
        ))
    };
    assert_eq!(
        base("ServerGroupID 65536;"),
        ["2:15: invalid server group ID \"65536\"; expected a number 0-65535"]
    );
    assert_eq!(
        base("ServerGroupID -1;"),
        ["2:15: invalid server group ID \"-1\"; expected a number 0-65535"]
    );
    assert_eq!(
        base("ServerGroupID 1; FamilyID x1;"),
        ["2:27: invalid family ID \"x1\"; expected a number 0-65535"]
    );
    assert_eq!(
        base("ServerGroupID 1; Port 0;"),
        ["2:23: invalid port \"0\"; expected a number 1-65535"]
    );
    assert_eq!(
        base("ServerGroupID 1; Port 99999999999999999999999;"),
        ["2:23: invalid port \"99999999999999999999999\"; expected a number 1-65535"]
    );
    assert_eq!(
        base("ServerGroupID 1; MTU 63;"),
        ["2:22: invalid MTU \"63\"; expected a number 64-65535"]
    );
    assert_eq!(
        base("ServerGroupID 1; MTU 65536;"),
        ["2:22: invalid MTU \"65536\"; expected a number 64-65535"]
    );
}

#[test]
fn dcs_ranges_use_the_original_messages() {
    for (kw, msg) in [
        ("CAReXmitInt", "invalid CA retransmit interval"),
        ("CSUSReXmitInt", "invalid CSUS retransmit interval"),
        ("CSUReXmitInt", "invalid CSU retransmit interval"),
        ("CSUReXmitMax", "invalid CSU retransmit maximum"),
        ("HelloDead", "invalid Hello dead factor"),
        ("HelloInt", "invalid Hello interval"),
        ("Hops", "invalid hop count"),
    ] {
        let col = kw.len() + 2;
        for bad in ["0", "1025", "-3", "2x"] {
            assert_eq!(
                dcs_errors(&format!("{kw} {bad};")),
                [format!(
                    "3:{col}: {msg} \"{bad}\"; expected a number 1-1024"
                )],
            );
        }
    }
}

#[test]
fn dcs_port() {
    assert_eq!(
        dcs_errors("Port 65536;"),
        ["3:6: invalid port \"65536\"; expected a number 1-65535"]
    );
}

#[test]
fn hosts() {
    assert_eq!(
        errors("server s { protocol 1; ServerGroupID 1;\nID 10.0.0.256; DCS { ID 1.1.1.1; }; };"),
        ["2:4: invalid server ID \"10.0.0.256\": not a valid IPv4 address"]
    );
    assert_eq!(
        server_errors("Address fe80:::1;"),
        ["2:9: invalid server address \"fe80:::1\": not a valid IPv6 address"]
    );
    assert_eq!(
        dcs_errors("Address peer..example;"),
        ["3:9: invalid DCS address \"peer..example\": empty label in host name"]
    );
    assert_eq!(
        errors("server s { protocol 1; netif n; ServerGroupID 1;\nDCS { ID a@b; }; };"),
        ["2:10: invalid DCS ID \"a@b\": '@' is not allowed in a host name"]
    );
}

#[test]
fn interface_names() {
    assert_eq!(
        server_errors("netif abcdefghijklmnop;"),
        ["2:7: invalid interface name \"abcdefghijklmnop\": longer than 15 bytes"]
    );
    assert_eq!(
        server_errors("netif \"a b\";"),
        ["2:7: invalid interface name \"a b\": ' ' is not allowed"]
    );
}

#[test]
fn atm_addresses() {
    const NSAP: &str = "0x47.0005.80.ffdc00.0000.0002.0001.002048061de7.00";
    assert_eq!(
        dcs_errors("ATMaddr 0x47.0005.80;"),
        [
            "3:9: invalid address/subaddress combination: a 4-byte address is E.164 and needs a \
             20-byte NSAP subaddress"
        ]
    );
    assert_eq!(
        dcs_errors("ATMaddr 0x47.0005.8;"),
        ["3:9: invalid ATM address \"0x47.0005.8\": odd number of hex digits (7)"]
    );
    assert_eq!(
        dcs_errors("ATMaddr atm-address;"),
        ["3:9: invalid ATM address \"atm-address\": 't' is not a hex digit"]
    );
    assert_eq!(
        dcs_errors(&format!("ATMaddr 0x{};", "00".repeat(21))),
        [
            "3:9: invalid ATM address \"0x000000000000000000000000000000000000000000\": 21 bytes \
             is neither a 20-byte NSAP address nor an E.164 address of at most 15 bytes"
        ]
    );
    assert_eq!(
        dcs_errors("ATMaddr 0x0123 0xzz;"),
        ["3:16: invalid ATM subaddress \"0xzz\": 'z' is not a hex digit"]
    );
    assert_eq!(
        dcs_errors(&format!("ATMaddr 0x0123 0x{};", "00".repeat(16))),
        [
            "3:16: invalid ATM subaddress \"0x00000000000000000000000000000000\": 16 bytes is \
             neither a 20-byte NSAP address nor an E.164 address of at most 15 bytes"
        ]
    );
    assert_eq!(
        dcs_errors(&format!("ATMaddr {NSAP} {NSAP};")),
        ["3:9: invalid address/subaddress combination: an NSAP address takes no subaddress"]
    );
    assert_eq!(
        dcs_errors("ATMaddr 0x0123 0x4567;"),
        [
            "3:9: invalid address/subaddress combination: the subaddress of an E.164 address \
             must be a 20-byte NSAP address, not 2 bytes"
        ]
    );
    assert_eq!(
        dcs_errors(&format!("ATMaddr {NSAP} {NSAP} 0x00;")),
        ["3:111: unexpected \"0x00\" after the value of ATMaddr; expected ';'"]
    );
}

// ---- Required, repeated and duplicate statements ----

#[test]
fn required_statements() {
    assert_eq!(
        errors("\n  server s { DCS { ID 1.1.1.1; }; };"),
        [
            "2:3: protocol missing for server \"s\"",
            "2:3: server group ID missing for server \"s\"",
            "2:3: netif missing for server \"s\": give Netif, or ID (the server's own SCSP ID)",
        ]
    );
    assert_eq!(
        errors("server s { protocol 1; netif n; ServerGroupID 1;\n  DCS { hops 2; }; };"),
        ["2:3: DCS ID not set"]
    );
}

#[test]
fn repeated_statements() {
    assert_eq!(
        dcs_errors("hops 2; Hops 3;"),
        ["3:9: repeated Hops statement (the first is at 3:1)"]
    );
    assert_eq!(
        dcs_errors("ID 1.1.1.1;"),
        ["3:1: repeated ID statement (the first is at 2:7)"]
    );
    assert_eq!(
        server_errors("ServerGroupID 2;"),
        ["3:1: repeated ServerGroupID statement (the first is at 2:1)"]
    );
    assert_eq!(
        dcs_errors(
            "Auth { SPI 1; Key \"0123456789abcdef\"; }; Auth { SPI 2; Key \"0123456789abcdef\"; };"
        ),
        ["3:42: repeated Auth statement (the first is at 3:1)"]
    );
    assert_eq!(
        errors("log { syslog; syslog; };"),
        ["1:15: repeated Syslog statement (the first is at 1:7)"]
    );
}

#[test]
fn multiple_log_files() {
    assert_eq!(
        errors("log { file a; file b; };"),
        ["1:15: multiple log files specified (the first is at 1:7)"]
    );
    assert_eq!(
        errors("log { file a; };\nlog { file a; };"),
        ["2:7: multiple log files specified (the first is at 1:7)"]
    );
}

#[test]
fn duplicate_servers() {
    let s = "{ protocol 1; netif n; ServerGroupID 1; DCS { ID 1.1.1.1; }; };";
    assert_eq!(
        errors(&format!("server a {s}\nserver b {s}\nserver a {s}")),
        ["3:1: duplicate server \"a\" (the first is at 1:1)"]
    );
}

#[test]
fn duplicate_dcs() {
    assert_eq!(
        errors(
            "server s { protocol 1; netif n; ServerGroupID 1;\nDCS { ID 1.1.1.1; };\n\
             DCS { ID 1.1.1.2; };\nDCS { hops 2; ID 1.1.1.1; };\n};"
        ),
        ["4:18: duplicate DCS ID 1.1.1.1 in server \"s\" (the first is at 2:10)"]
    );
    assert_eq!(
        errors(
            "server s { protocol 1; netif n; ServerGroupID 1;\nDCS { ID Peer.Example; };\n\
             DCS { ID peer.example.; };\n};"
        ),
        ["3:10: duplicate DCS ID peer.example. in server \"s\" (the first is at 2:10)"]
    );
}

#[test]
fn dcs_is_the_server_itself() {
    assert_eq!(
        errors("server s { protocol 1; ServerGroupID 1; ID 10.0.0.1;\nDCS { ID 10.0.0.1; }; };"),
        ["2:10: DCS ID 10.0.0.1 is this server's own ID (given at 1:41)"]
    );
}

// ---- Auth ----

#[test]
fn auth_block_errors() {
    const KEY: &str = "Key 0x00112233445566778899aabbccddeeff;";
    assert_eq!(
        auth_errors(KEY),
        [
            "1:68: SendSPI (or SPI) missing in Auth block",
            "1:68: RecvSPI (or SPI) missing in Auth block"
        ]
    );
    assert_eq!(
        auth_errors(&format!("SendSPI 5; {KEY}")),
        ["1:68: RecvSPI (or SPI) missing in Auth block"]
    );
    assert_eq!(
        auth_errors("SPI 5;"),
        ["1:68: Key (or KeyFile) missing in Auth block"]
    );
    assert_eq!(
        auth_errors(&format!("SPI 0; {KEY}")),
        ["2:5: invalid SPI \"0\"; expected a number 1-4294967295"]
    );
    assert_eq!(
        auth_errors(&format!("SPI 4294967296; {KEY}")),
        ["2:5: invalid SPI \"4294967296\"; expected a number 1-4294967295"]
    );
    assert_eq!(
        auth_errors(&format!("SPI 1; SendSPI 2; {KEY}")),
        ["2:8: SendSPI can't be combined with SPI (given at 2:1)"]
    );
    assert_eq!(
        auth_errors(&format!("RecvSPI 1; SPI 2; {KEY}")),
        ["2:12: SPI can't be combined with RecvSPI (given at 2:1)"]
    );
    assert_eq!(
        auth_errors(&format!("SPI 1; {KEY} KeyFile /etc/k;")),
        ["2:48: KeyFile can't be combined with Key (given at 2:8)"]
    );
    assert_eq!(
        auth_errors(&format!("SPI 1; Algorithm HMAC-SHA1; {KEY}")),
        [
            "2:18: invalid authentication algorithm \"HMAC-SHA1\"; expected HMAC-MD5 or \
             HMAC-SHA-256"
        ]
    );
    assert_eq!(
        auth_errors("SPI 1; Key 00112233;"),
        ["2:12: invalid key: write hex digits after 0x, or a string in double quotes"]
    );
    assert_eq!(
        auth_errors("SPI 1; Key 0x0011223;"),
        ["2:12: invalid key: odd number of hex digits (7)"]
    );
    assert_eq!(auth_errors("SPI 1; Key \"\";"), ["2:12: empty key"]);
    let e = auth_errors("SPI 1; KeyFile /nonexistent/scspd.key;");
    assert_eq!(e.len(), 1);
    assert!(
        e[0].starts_with("2:16: can't read key file \"/nonexistent/scspd.key\": "),
        "{e:?}"
    );
}

// ---- Several errors ----

#[test]
fn three_errors_are_all_reported() {
    let src = "server s {\n\
               \tprotocol ATMARP;\n\
               \tnetif ni0;\n\
               \tServerGroupID 70000;\n\
               \tDCS {\n\
               \t\tID 10.0.0.2;\n\
               \t\thops 0;\n\
               \t\tHelloInterval 3;\n\
               \t};\n\
               };\n";
    let e = config::parse(src, "scspd.conf").unwrap_err();
    let shown: Vec<String> = e.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        [
            "scspd.conf:4:16: invalid server group ID \"70000\"; expected a number 0-65535",
            "scspd.conf:7:8: invalid hop count \"0\"; expected a number 1-1024",
            "scspd.conf:8:3: unknown statement \"HelloInterval\" in a DCS block (did you mean HelloInt?); expected one of \
             ATMaddr, ID, Address, Port, CAReXmitInt, CSUSReXmitInt, CSUReXmitInt, CSUReXmitMax, \
             HelloDead, HelloInt, Hops, Auth, Timers, AuthFailure, Replay, MaxDeadInterval, MaxReXmitQueue",
        ]
    );
    assert_eq!(e[0].pos, Pos::new(4, 16));
    assert_eq!(e[0].file, "scspd.conf");
}

#[test]
fn errors_of_every_layer_in_order() {
    let src = "log { file a; file b; };\n\
               server s { protocol NHRP; netif n$; ServerGroupID 1; DCS { ID 1.1.1.1 }; }\n\
               bogus;\n\
               server t { protocol 1; netif n; ServerGroupID x; /* open";
    let report = config::check(src, "t.conf");
    assert!(report.config.is_none());
    let e: Vec<String> = report.errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        e,
        [
            "t.conf:1:15: multiple log files specified (the first is at 1:7)",
            "t.conf:2:34: invalid character 0x24 ('$')",
            "t.conf:3:1: unknown statement \"bogus\" at the top level; expected one of Server, Log, Metrics, StateDir",
            "t.conf:4:47: invalid server group ID \"x\"; expected a number 0-65535",
            "t.conf:4:50: unterminated /* comment",
            "t.conf:4:57: unexpected end of file: the block opened at 4:10 is not closed \
             (missing '}')",
        ]
    );
    // Warnings are kept in the report too.
    let w: Vec<String> = report.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        w,
        [
            "t.conf:2:71: warning: missing ';' before '}'",
            "t.conf:2:75: warning: missing ';' after '}'",
            "t.conf:4:1: warning: no DCS configured for server \"t\" (its cache is not \
             synchronised with any other server)",
        ]
    );
}

#[test]
fn display_of_errors_and_warnings() {
    let e = config::Error {
        file: "/etc/scspd.conf".into(),
        pos: Pos::new(3, 7),
        message: "invalid hop count \"0\"; expected a number 1-1024".into(),
    };
    assert_eq!(
        e.to_string(),
        "/etc/scspd.conf:3:7: invalid hop count \"0\"; expected a number 1-1024"
    );
    let w = config::Warning {
        file: "f".into(),
        pos: Pos::new(1, 2),
        message: "m".into(),
    };
    assert_eq!(w.to_string(), "f:1:2: warning: m");
}
