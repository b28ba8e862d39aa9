//! Helpers shared by the profile tests.
#![allow(dead_code)]

use scsp_core::wire::{Id, RecordId};
use scsp_core::{Entry, Server, ServerConfig};
use scsp_profiles::ProfileOps;

/// `scspctl`-style arguments from words given one by one.
pub fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

/// `scspctl`-style arguments from one line of words.
pub fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(String::from).collect()
}

/// Octets written in hexadecimal; spaces and line breaks are ignored.
pub fn h(s: &str) -> Vec<u8> {
    hex::decode(s.replace([' ', '\n'], "")).unwrap()
}

/// The (key, data) that `ops` builds from the words of `scspctl add` for the server `origin`.
pub fn add(ops: &dyn ProfileOps, line: &str, origin: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let v = ops
        .parse_add_args(&words(line))
        .unwrap_or_else(|e| panic!("{line}: {e}"));
    ops.build(&v, origin).unwrap()
}

/// A core server of protocol `protocol_id`, server group 1, LSID `lsid`, with the core rules of
/// `ops`.
pub fn server(ops: &dyn ProfileOps, protocol_id: u16, lsid: &[u8]) -> Server {
    let mut cfg = ServerConfig::new(protocol_id, 1, Id::new(lsid).unwrap());
    cfg.profile = ops.core();
    Server::new(cfg)
}

/// The entry of `s`'s cache with this key and originator (which must be there).
pub fn entry(s: &Server, key: &[u8], origin: &[u8]) -> Entry {
    let id = RecordId {
        key: Id::new(key).unwrap(),
        origin: Id::new(origin).unwrap(),
    };
    s.cache().get(&id).unwrap().clone()
}
