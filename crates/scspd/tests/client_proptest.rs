//! No panic on arbitrary input in the client protocol: frames read from any byte stream (as scspd
//! reads a client's connection), and any JSON in a frame's body read as a client's message (and
//! as a daemon's, as clients read it). The same checks as the fuzz targets
//! `fuzz/fuzz_targets/client_frame.rs` and `client_request.rs`, on fewer inputs.

use std::io::Cursor;

use proptest::prelude::*;
use scspd::client::{FrameError, encode_frame, frame_len, read_frame};
use scspd::proto::{ClientMsg, DaemonMsg, MAX_FRAME, Request};
use serde_json::{Map, Value};

/// Field names and values of the protocol's messages, so that generated JSON gets past the tags.
const KEYS: &[&str] = &[
    "type", "op", "id", "version", "client", "server", "key", "data", "record", "selector",
    "profile", "entries", "seq", "confirm", "token", "accept", "ok", "error", "code", "message",
];
const WORDS: &[&str] = &[
    "hello",
    "request",
    "welcome",
    "reply",
    "notify",
    "fatal",
    "show_servers",
    "show_dcs",
    "show_cache",
    "add",
    "del",
    "add_record",
    "del_record",
    "load",
    "dump",
    "attach",
    "handover",
    "confirm",
    "reload",
    "atmarp",
    "nhrp",
    "mars",
    "generic",
    "0a000001",
    "zz",
];

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        prop::sample::select(WORDS).prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 32, 8, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            proptest::collection::vec((prop::sample::select(KEYS), inner), 0..8).prop_map(|kv| {
                Value::Object(
                    kv.into_iter()
                        .map(|(k, v)| (k.to_owned(), v))
                        .collect::<Map<_, _>>(),
                )
            }),
        ]
    })
}

/// A value of the type the field `k` has in the protocol's messages, mostly; any JSON sometimes.
fn field(k: &'static str) -> BoxedStrategy<Value> {
    let typed: BoxedStrategy<Value> = match k {
        "id" | "token" | "seq" => any::<u64>().prop_map(Value::from).boxed(),
        "version" => (0u32..3).prop_map(Value::from).boxed(),
        "confirm" | "accept" => any::<bool>().prop_map(Value::from).boxed(),
        "entries" => proptest::collection::vec(
            ("[0-9a-f]{0,8}", "[0-9a-fz]{0,8}", any::<u32>())
                .prop_map(|(k, d, s)| serde_json::json!({"key": k, "data": d, "seq": s})),
            0..4,
        )
        .prop_map(Value::Array)
        .boxed(),
        "record" | "selector" | "ok" | "error" => json().boxed(),
        _ => prop_oneof![
            prop::sample::select(WORDS).prop_map(Value::from),
            "[0-9a-f]{0,8}".prop_map(Value::from)
        ]
        .boxed(),
    };
    prop_oneof![4 => typed, 1 => json()].boxed()
}

/// An object with a message's tags (`type`, and `op` for a request) and fields of about the
/// right types: near enough to a message to get past the tags and reach the fields' decoders.
fn message() -> impl Strategy<Value = Value> {
    let fields: Vec<BoxedStrategy<Option<(String, Value)>>> = KEYS[2..]
        .iter()
        .map(|&k| {
            proptest::option::weighted(0.6, field(k).prop_map(move |v| (k.to_owned(), v))).boxed()
        })
        .collect();
    (
        prop::sample::select(&["hello", "request", "welcome", "reply", "notify", "fatal"][..]),
        prop::sample::select(&WORDS[6..19]),
        fields,
    )
        .prop_map(|(t, op, fields)| {
            let mut m: Map<String, Value> = fields.into_iter().flatten().collect();
            m.insert("type".into(), t.into());
            m.insert("op".into(), op.into());
            Value::Object(m)
        })
}

/// Reads frames until one fails (a bad body is answered and reading goes on, as scspd does
/// until it closes); returns how many were read.
fn read_all(stream: &[u8]) -> usize {
    let mut r = Cursor::new(stream);
    let mut n = 0;
    loop {
        match read_frame::<_, ClientMsg>(&mut r) {
            Ok(_) | Err(FrameError::BadJson(_)) => n += 1,
            Err(_) => return n,
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn any_byte_stream_never_panics(stream in proptest::collection::vec(any::<u8>(), 0..256)) {
        read_all(&stream);
        let mut r = Cursor::new(&stream[..]);
        while let Ok(_) | Err(FrameError::BadJson(_)) = read_frame::<_, DaemonMsg>(&mut r) {}
    }

    /// Any length prefix: 0 and anything above `MAX_FRAME` are refused before a body is read.
    #[test]
    fn any_length_prefix_is_checked(header in any::<[u8; 4]>(), body in proptest::collection::vec(any::<u8>(), 0..64)) {
        let len = u32::from_be_bytes(header) as usize;
        match frame_len(header) {
            Ok(n) => prop_assert!(n == len && (1..=MAX_FRAME).contains(&n)),
            Err(FrameError::Empty) => prop_assert_eq!(len, 0),
            Err(FrameError::TooLarge { len: l }) => prop_assert!(l == len && l > MAX_FRAME),
            Err(e) => prop_assert!(false, "{e}"),
        }
        let mut stream = header.to_vec();
        stream.extend_from_slice(&body);
        read_all(&stream);
    }

    /// Any JSON in a well-framed body: read as a message or refused as bad JSON; a message read
    /// encodes again to a frame that reads back the same.
    #[test]
    fn any_json_body_never_panics(v in prop_oneof![json(), message()]) {
        let body = serde_json::to_vec(&v).unwrap();
        let _ = serde_json::from_slice::<Request>(&body);
        let _ = serde_json::from_slice::<DaemonMsg>(&body);
        let mut frame = (body.len() as u32).to_be_bytes().to_vec();
        frame.extend_from_slice(&body);
        match read_frame::<_, ClientMsg>(&mut Cursor::new(&frame)) {
            Ok(msg) => {
                if let ClientMsg::Request { req: Request::Add { key, data, .. }, .. } = &msg {
                    let _ = (hex::decode(key), hex::decode(data));
                }
                let again = encode_frame(&msg).unwrap();
                let back: ClientMsg = read_frame(&mut Cursor::new(&again)).unwrap();
                prop_assert_eq!(back, msg);
            }
            Err(FrameError::BadJson(_)) => {}
            Err(e) => prop_assert!(false, "{e}"),
        }
    }
}
