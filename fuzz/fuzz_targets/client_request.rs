//! A frame's body, the JSON of a client's message: it parses as a `ClientMsg` (and as what a
//! client reads, a `DaemonMsg`) or is refused, without panicking; what scspd does with a parsed
//! request before it reaches a server (hex keys and data, a typed record or selector built by the
//! named profile) does not panic either.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scsp_profiles::{ProfileOptions, ops_by_name, ops_for};
use scspd::proto::{ClientMsg, DaemonMsg, KeyData, Request};

fn unhex(entries: &[KeyData]) {
    for e in entries {
        let _ = hex::decode(&e.key);
        let _ = hex::decode(&e.data);
    }
}

fn handle(req: &Request) {
    let profile = |name: &Option<String>| match name {
        Some(n) => ops_by_name(n, &ProfileOptions::default()),
        None => Some(ops_for(1, &ProfileOptions::default())),
    };
    match req {
        Request::Add { key, data, .. } => {
            let _ = hex::decode(key);
            let _ = hex::decode(data);
        }
        Request::Del { key, .. } => {
            let _ = hex::decode(key);
        }
        Request::Load { entries, .. } | Request::Handover { entries, .. } => unhex(entries),
        Request::AddRecord {
            record, profile: p, ..
        } => {
            if let Some(ops) = profile(p) {
                let _ = ops.build(record, &[10, 0, 0, 1]);
            }
        }
        Request::DelRecord {
            selector,
            profile: p,
            ..
        } => {
            if let Some(ops) = profile(p) {
                let _ = ops.selects(selector, b"\x0a\x00\x00\x01", b"");
            }
        }
        _ => {}
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(ClientMsg::Request { req, .. }) = serde_json::from_slice::<ClientMsg>(data) {
        handle(&req);
    }
    if let Ok(req) = serde_json::from_slice::<Request>(data) {
        handle(&req);
    }
    let _ = serde_json::from_slice::<DaemonMsg>(data);
});
