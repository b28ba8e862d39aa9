//! The real `scspctl` binary against a scripted mock daemon: output, requests sent, exit codes.

mod common;
mod mockd;

use std::process::{Command, Output};

use common::scspctl;
use mockd::{Act, Mock, err, ok};
use scspd::proto::{DcsView, EntryView, ErrorCode, KeyData, Notify, Request, Response, ServerView};

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

fn entry(key: &str, originator: &str, seq: u32, data: &str, age_s: u64) -> EntryView {
    EntryView {
        key: key.into(),
        originator: originator.into(),
        seq,
        data: data.into(),
        local: false,
        age_s,
        record: None,
        columns: None,
    }
}

fn cache() -> Vec<EntryView> {
    vec![
        entry(
            "0a000001",
            "0a000064",
            0x8000_0001,
            "47000580ffe1000000f21a2d8e0020481a2d8e00",
            192,
        ),
        entry("0a000002", "0a0000c8", 0x8000_0102, "4700", 5),
        entry("0a000003", "0a0000c8", 7, "", 7505),
    ]
}

#[test]
fn show_cache_table() {
    let mock = Mock::start(|req| match req {
        Request::ShowCache { server, .. } if server == "atmarp" => {
            vec![ok(Response::Cache {
                entries: cache(),
                more: false,
                next: None,
                count: None,
            })]
        }
        _ => vec![err(ErrorCode::NoSuchServer, "no such server")],
    });
    let o = scspctl(&mock.path, &["show", "cache", "atmarp"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "\
KEY       ORIGINATOR         SEQ    AGE  DATA
0a000001  0a000064    0x80000001  3m12s  47000580ffe1000000f21a2d8e00204…
0a000002  0a0000c8    0x80000102     5s  4700
0a000003  0a0000c8    0x00000007  2h05m  -
"
    );
    assert_eq!(stderr(&o), "");
    assert_eq!(
        mock.requests(),
        vec![Request::ShowCache {
            server: "atmarp".into(),
            query: Default::default()
        }]
    );
}

#[test]
fn show_cache_json_is_the_entry_views() {
    let mock = Mock::start(|_| {
        vec![ok(Response::Cache {
            entries: cache(),
            more: false,
            next: None,
            count: None,
        })]
    });
    let o = scspctl(&mock.path, &["show", "cache", "atmarp", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let arr = v.as_array().unwrap();
    assert_eq!(arr.len(), 3);
    for obj in arr {
        for field in ["key", "originator", "seq", "data"] {
            assert!(obj.get(field).is_some(), "{field} missing in {obj}");
        }
    }
    assert_eq!(arr[0]["data"], "47000580ffe1000000f21a2d8e0020481a2d8e00"); // not truncated
    assert_eq!(arr[0]["seq"], 0x8000_0001u32);
    let back: Vec<EntryView> = serde_json::from_value(v).unwrap();
    assert_eq!(back, cache());
}

#[test]
fn show_servers_and_dcs_tables() {
    let server = ServerView {
        name: "atmarp".into(),
        protocol_id: 2,
        protocol: "atmarp".into(),
        sgid: 1,
        family_id: 0,
        lsid: "0a000001".into(),
        listen: "10.0.0.1:1234".into(),
        entries: 1200,
        entries_held: 1210,
        dcs: 3,
        dcs_aligned: 2,
        client_attached: true,
        dropped_unknown: 0,
        profile: String::new(),
        atmarp_format: None,
        state: "running".into(),
        error: None,
        saved_state: None,
    };
    let dcs = DcsView {
        server: "atmarp".into(),
        id: "0a000002".into(),
        address: "10.0.0.2:1234".into(),
        hello: "Bidirectional".into(),
        hello_since_s: 3725,
        ca: "Aligned".into(),
        ca_since_s: 192,
        rx_msgs: 12345,
        tx_msgs: 678,
        errors: 0,
        retransmits: 3,
        rexmit_queue: 1,
        crl: 0,
        unaligned_s: None,
        last_hello_s: None,
        dead_in_ms: None,
        last_down: None,
        last_down_s: None,
        flaps: 0,
        srtt_us: None,
        disabled: false,
        stats: serde_json::json!({}),
    };
    let (s, d) = (server.clone(), dcs.clone());
    let mock = Mock::start(move |req| match req {
        Request::ShowServers => vec![ok(Response::Servers {
            servers: vec![s.clone()],
        })],
        Request::ShowDcs { .. } => vec![ok(Response::Dcs {
            dcs: vec![d.clone()],
        })],
        _ => vec![],
    });
    let o = scspctl(&mock.path, &["show", "servers"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "\
NAME    PROTOCOL  SGID  LSID      LISTEN         ENTRIES  ALIGNED  CLIENT
atmarp  atmarp       1  0a000001  10.0.0.1:1234     1200      2/3  attached
"
    );
    let o = scspctl(&mock.path, &["show", "dcs"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "\
SERVER  DCS       ADDRESS        HELLO          SINCE  CA       SINCE     RX   TX  ERRORS  REXMIT  QUEUE
atmarp  0a000002  10.0.0.2:1234  Bidirectional  1h02m  Aligned  3m12s  12345  678       0       3      1
"
    );
    let o = scspctl(&mock.path, &["show", "dcs", "atmarp", "--json"]);
    let back: Vec<DcsView> = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(back, vec![dcs]);
    let o = scspctl(&mock.path, &["show", "servers", "--json"]);
    let back: Vec<ServerView> = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(back, vec![server]);
    assert_eq!(
        mock.requests(),
        vec![
            Request::ShowServers,
            Request::ShowDcs { server: None },
            Request::ShowDcs {
                server: Some("atmarp".into())
            },
            Request::ShowServers,
        ]
    );
}

#[test]
fn add_and_del_send_normalized_hex() {
    let mock = Mock::start(|req| match req {
        Request::Add { .. } => vec![ok(Response::Added { seq: 0x8000_0001 })],
        Request::Del { .. } => vec![ok(Response::Done)],
        _ => vec![],
    });
    let o = scspctl(&mock.path, &["add", "atmarp", "0x0A.00.00.01", "47:00:05"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "added 0a000001 seq 0x80000001\n");
    let o = scspctl(&mock.path, &["del", "atmarp", "0a:00:00:01"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "deleted 0a000001\n");
    assert_eq!(
        mock.requests(),
        vec![
            Request::Add {
                server: "atmarp".into(),
                key: "0a000001".into(),
                data: "470005".into()
            },
            Request::Del {
                server: "atmarp".into(),
                key: "0a000001".into()
            },
        ]
    );
}

fn loader() -> Mock {
    // Accepts every entry except those whose data is "ff".
    Mock::start(|req| match req {
        Request::Load { entries, .. } => {
            let errors: Vec<String> = entries
                .iter()
                .filter(|e| e.data == "ff")
                .map(|e| format!("key {}: refused by the profile", e.key))
                .collect();
            let accepted = (entries.len() - errors.len()) as u64;
            vec![ok(Response::Loaded { accepted, errors })]
        }
        _ => vec![],
    })
}

fn load_sizes(mock: &Mock) -> Vec<usize> {
    mock.requests()
        .iter()
        .map(|r| match r {
            Request::Load { entries, .. } => entries.len(),
            other => panic!("unexpected {other:?}"),
        })
        .collect()
}

fn temp_file(name: &str, text: &str) -> std::path::PathBuf {
    let p = std::env::temp_dir().join(format!("scspctl-{}-{name}", std::process::id()));
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn load_sends_batches_of_50000() {
    let mock = loader();
    let mut text = String::from("# a big file\n\n");
    for i in 0..120_001u32 {
        text.push_str(&format!("{i:08x} 4700{i:08x}\n"));
    }
    let file = temp_file("big.load", &text);
    let o = scspctl(&mock.path, &["load", "atmarp", file.to_str().unwrap()]);
    std::fs::remove_file(&file).unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "loaded 120001 entries (0 refused)\n");
    assert_eq!(load_sizes(&mock), vec![50_000, 50_000, 20_001]);
    let reqs = mock.requests();
    let Request::Load { server, entries } = &reqs[2] else {
        unreachable!()
    };
    assert_eq!(server, "atmarp");
    assert_eq!(
        entries.last().unwrap(),
        &KeyData {
            key: "0001d4c0".into(),
            data: "47000001d4c0".into(),
            seq: None
        }
    );
}

#[test]
fn load_reports_refused_entries() {
    let mock = loader();
    let file = temp_file("refused.load", "01 00\n02 ff\n03 00\n04 ff\n05 00\n");
    let o = scspctl(
        &mock.path,
        &["load", "--batch", "2", "atmarp", file.to_str().unwrap()],
    );
    std::fs::remove_file(&file).unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(stdout(&o), "loaded 3 entries (2 refused)\n");
    let name = file.display();
    assert_eq!(
        stderr(&o),
        format!(
            "scspctl: {name}: refused: key 02: refused by the profile\n\
             scspctl: {name}: refused: key 04: refused by the profile\n"
        )
    );
    assert_eq!(load_sizes(&mock), vec![2, 2, 1]);
}

#[test]
fn load_with_bad_lines_reports_all_and_sends_nothing() {
    let mock = loader();
    let file = temp_file("bad.load", "01 00\n0g 00\n# fine\n02\n03 00 00\n04 0x1\n");
    let o = scspctl(&mock.path, &["load", "atmarp", file.to_str().unwrap()]);
    std::fs::remove_file(&file).unwrap();
    assert_eq!(o.status.code(), Some(2));
    let name = file.display();
    assert_eq!(
        stderr(&o),
        format!(
            "{name}:2: invalid hex in key \"0g\": 'g' is not a hex digit\n\
             {name}:4: expected KEY DATA, found only one field\n\
             {name}:5: expected KEY DATA, found 3 fields\n\
             {name}:6: invalid hex in data \"0x1\": odd number of digits in \"1\"\n\
             scspctl: 4 errors in {name}; nothing loaded\n"
        )
    );
    assert_eq!(stdout(&o), "");
    assert!(mock.requests().is_empty());

    let o = scspctl(&mock.path, &["load", "atmarp", "/nonexistent/file"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).starts_with("scspctl: /nonexistent/file: "),
        "{}",
        stderr(&o)
    );
}

#[test]
fn missing_socket_exits_3() {
    let path = std::env::temp_dir().join(format!("scspctl-{}-none.sock", std::process::id()));
    let o = scspctl(&path, &["show", "servers"]);
    assert_eq!(o.status.code(), Some(3));
    assert_eq!(
        stderr(&o),
        format!(
            "scspctl: cannot connect to scspd: No such file or directory (os error 2); \
             is scspd running? (socket {})\n",
            path.display()
        )
    );
    // The same through SCSPD_SOCKET.
    let o = Command::new(env!("CARGO_BIN_EXE_scspctl"))
        .env("SCSPD_SOCKET", &path)
        .args(["dump"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3));
    assert!(stderr(&o).contains(&format!("(socket {})", path.display())));
}

#[test]
fn socket_from_environment() {
    let mock = Mock::start(|_| {
        vec![ok(Response::Dump {
            text: "server atmarp".into(),
            more: false,
        })]
    });
    let o = Command::new(env!("CARGO_BIN_EXE_scspctl"))
        .env("SCSPD_SOCKET", &mock.path)
        .arg("dump")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "server atmarp\n");
}

#[test]
fn daemon_error_exits_1() {
    let mock = Mock::start(|_| vec![err(ErrorCode::NoSuchServer, "no server named \"x\"")]);
    let o = scspctl(&mock.path, &["show", "cache", "x"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        "scspctl: no_such_server: no server named \"x\"\n"
    );
    assert_eq!(stdout(&o), "");
    let mock = Mock::start(|_| vec![err(ErrorCode::Config, "scspd.conf:3: expected ';'")]);
    let o = scspctl(&mock.path, &["reload"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stderr(&o), "scspctl: config: scspd.conf:3: expected ';'\n");
}

#[test]
fn bad_hex_exits_2_before_connecting() {
    let mock = Mock::start(|_| vec![ok(Response::Added { seq: 1 })]);
    let o = scspctl(&mock.path, &["add", "atmarp", "0a000001", "47zz"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "scspctl: invalid hex in data \"47zz\": 'z' is not a hex digit\n"
    );
    let o = scspctl(&mock.path, &["del", "atmarp", "192.168.0.1"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "scspctl: invalid hex in key \"192.168.0.1\": odd number of digits in \"192\"\n"
    );
    assert!(mock.requests().is_empty());
    // Usage errors from the parser are 2 as well.
    let o = scspctl(&mock.path, &["show", "cache"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn connection_lost_mid_request_exits_3() {
    let mock = Mock::start(|_| vec![Act::Close]);
    let o = scspctl(&mock.path, &["show", "servers"]);
    assert_eq!(o.status.code(), Some(3));
    assert_eq!(stderr(&o), "scspctl: scspd closed the connection\n");
}

#[test]
fn watch_prints_one_line_per_notification() {
    let mock = Mock::start(|req| match req {
        Request::Watch { .. } => vec![
            ok(Response::Attached {
                entries: cache(),
                more: false,
            }),
            Act::Notify(Notify::Learned {
                server: "atmarp".into(),
                entry: entry("0a000009", "0a000064", 0x8000_0001, "4700", 0),
            }),
            Act::Notify(Notify::Removed {
                server: "atmarp".into(),
                entry: entry("0a000002", "0a0000c8", 0x8000_0102, "", 60),
                reason: "deleted".into(),
            }),
            Act::Close,
        ],
        _ => vec![],
    });
    let o = scspctl(&mock.path, &["watch", "atmarp"]);
    // The daemon going away ends the watch with 3.
    assert_eq!(o.status.code(), Some(3));
    assert_eq!(
        stderr(&o),
        "scspctl: watching atmarp (3 live entries); waiting for changes\n\
         scspctl: scspd closed the connection\n"
    );
    let lines: Vec<String> = stdout(&o)
        .lines()
        .map(|l| l.split_once(' ').unwrap().1.to_owned()) // drop the timestamp
        .collect();
    assert_eq!(
        lines,
        vec![
            "learned atmarp key=0a000009 originator=0a000064 seq=0x80000001 data=4700",
            "removed atmarp key=0a000002 originator=0a0000c8 seq=0x80000102 data=- reason=deleted",
        ]
    );
    // A read-only monitor (no attach slot taken).
    assert_eq!(
        mock.requests(),
        vec![Request::Watch {
            server: "atmarp".into(),
        }]
    );

    let o = scspctl(&mock.path, &["watch", "atmarp", "--json"]);
    let notes: Vec<Notify> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(notes.len(), 2);
    assert!(matches!(&notes[1], Notify::Removed { reason, .. } if reason == "deleted"));
}

#[test]
fn watch_confirm_accepts_everything() {
    let mock = Mock::start(|req| match req {
        Request::Attach { confirm: true, .. } => vec![
            ok(Response::Attached {
                entries: vec![],
                more: false,
            }),
            Act::Notify(Notify::Confirm {
                server: "atmarp".into(),
                token: 42,
                entry: entry("0a000009", "0a000064", 1, "4700", 0),
            }),
        ],
        Request::Confirm { .. } => vec![ok(Response::Done), Act::Close],
        _ => vec![err(ErrorCode::Busy, "another client is attached")],
    });
    let o = scspctl(&mock.path, &["watch", "--confirm", "atmarp"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stdout(&o).ends_with(" confirm atmarp key=0a000009 originator=0a000064 seq=0x00000001 data=4700 token=42 accepted\n"));
    assert_eq!(
        mock.requests(),
        vec![
            Request::Attach {
                server: "atmarp".into(),
                confirm: true
            },
            Request::Confirm {
                server: "atmarp".into(),
                token: 42,
                accept: true
            },
        ]
    );
    // Refused (here every request but the confirming attach): exit 1.
    let o = scspctl(&mock.path, &["watch", "atmarp"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stderr(&o), "scspctl: busy: another client is attached\n");
}

#[test]
fn load_from_standard_input() {
    use std::io::Write;
    let mock = loader();
    let mut child = Command::new(env!("CARGO_BIN_EXE_scspctl"))
        .env_remove("SCSPD_SOCKET")
        .arg("-s")
        .arg(&mock.path)
        .args(["load", "atmarp", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"01 0a\n# c\n02 0b\n")
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "loaded 2 entries (0 refused)\n");
    assert_eq!(load_sizes(&mock), vec![2]);
}

fn server_view(name: &str, profile: &str, atmarp_format: Option<&str>) -> ServerView {
    ServerView {
        name: name.into(),
        protocol_id: 1,
        protocol: "ATMARP".into(),
        sgid: 7,
        family_id: 0,
        lsid: "127.0.0.1".into(),
        listen: "127.0.0.1:17001".into(),
        entries: 0,
        entries_held: 0,
        dcs: 1,
        dcs_aligned: 1,
        client_attached: false,
        dropped_unknown: 0,
        profile: profile.into(),
        atmarp_format: atmarp_format.map(Into::into),
        state: "running".into(),
        error: None,
        saved_state: None,
    }
}

fn decoded(key: &str, cols: &[(&str, &str)]) -> EntryView {
    let mut e = entry(key, "7f000001", 0x8000_0001, "00", 0);
    e.local = true;
    e.record = Some(serde_json::json!({"key": key}));
    e.columns = Some(
        cols.iter()
            .map(|(n, v)| scspd::proto::Column {
                name: (*n).into(),
                value: (*v).into(),
            })
            .collect(),
    );
    e
}

const ATM: &str = "47.0005.80.ffdc00.0000.0002.0001.002048061de7.00";

#[test]
fn profile_forms_send_typed_requests() {
    let row = [("IP", "10.1.2.3"), ("ATM ADDRESS", ATM)];
    let mock = Mock::start(move |req| match req {
        Request::ShowServers => vec![ok(Response::Servers {
            servers: vec![
                server_view("atm", "atmarp", Some("draft-01")),
                server_view("gen", "generic", None),
            ],
        })],
        Request::AddRecord { .. } => vec![ok(Response::RecordAdded {
            entry: decoded("0a010203", &row),
        })],
        Request::DelRecord { .. } => vec![ok(Response::RecordsDeleted {
            entries: vec![decoded("0a010203", &row)],
        })],
        _ => vec![err(ErrorCode::NoSuchServer, "no such server")],
    });
    // --lifetime exists in draft-01 only: scspctl asks which layout the server speaks.
    let o = scspctl(
        &mock.path,
        &["add", "atm", "atmarp", "10.1.2.3", ATM, "--lifetime", "5"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        format!("added 0a010203 seq 0x80000001 (IP 10.1.2.3, ATM ADDRESS {ATM})\n")
    );
    let o = scspctl(&mock.path, &["del", "atm", "ATMARP", "10.1.2.3"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        format!("deleted 0a010203 (IP 10.1.2.3, ATM ADDRESS {ATM})\n")
    );
    let reqs = mock.requests();
    assert_eq!(reqs.len(), 4, "{reqs:?}");
    assert_eq!(reqs[0], Request::ShowServers);
    match &reqs[1] {
        Request::AddRecord {
            server,
            record,
            profile,
        } => {
            assert_eq!(
                (server.as_str(), profile.as_deref()),
                ("atm", Some("atmarp"))
            );
            assert_eq!(record["ip"], "10.1.2.3");
            assert_eq!(record["atm"], ATM);
            assert_eq!(record["lifetime"], 5);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        reqs[3],
        Request::DelRecord {
            server: "atm".into(),
            selector: serde_json::json!({"ip": "10.1.2.3"}),
            profile: Some("atmarp".into()),
        }
    );

    // Usage errors: 2, with the profile's usage line; help without a daemon.
    let o = scspctl(&mock.path, &["add", "atm", "atmarp", "10.1.2.3"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("<ipv4> <atm-address> [<subaddress>] [--lifetime MIN]"),
        "{}",
        stderr(&o)
    );
    let o = scspctl(&mock.path, &["add", "gen", "atmarp", "10.1.2.3", ATM]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "scspctl: server gen (protocol ATMARP) decodes its records with the generic profile, \
         not atmarp\n"
    );
    let n = mock.requests().len();
    let nowhere = std::env::temp_dir().join("scspctl-no-such.sock");
    let o = scspctl(&nowhere, &["add", "atm", "atmarp", "--help"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).starts_with("usage: scspctl add atm atmarp <ipv4>"));
    // A raw form with a wrong number of arguments.
    let o = scspctl(&mock.path, &["add", "atm", "0a000001"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("expected KEY DATA (hex) or PROFILE ARGS..."));
    assert_eq!(mock.requests().len(), n);
}

#[test]
fn show_cache_prints_decoded_columns() {
    let mock = Mock::start(|_| {
        vec![ok(Response::Cache {
            entries: vec![decoded(
                "0a010203",
                &[("IP", "10.1.2.3"), ("ATM ADDRESS", ATM), ("STATE", "new")],
            )],
            more: false,
            next: None,
            count: None,
        })]
    });
    let o = scspctl(&mock.path, &["show", "cache", "atm"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        format!(
            "IP        ATM ADDRESS                                       STATE  ORIGINATOR         SEQ  AGE\n\
             10.1.2.3  {ATM}  new    127.0.0.1   0x80000001   0s\n"
        )
    );
    let o = scspctl(&mock.path, &["show", "cache", "atm", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v[0]["record"]["key"], "0a010203");
    assert_eq!(v[0]["columns"][0]["value"], "10.1.2.3");
    assert_eq!(v[0]["data"], "00");
}
