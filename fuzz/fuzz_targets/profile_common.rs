//! Shared by the profile targets: everything a profile does with bytes and JSON from outside.
//!
//! The input is split into a cache key (its length is the first byte, modulo 33) and the
//! protocol specific part. The part goes through the core's rules (as a record received in a CSA
//! from a DCS) and through the typed decoders (as `show cache --json`, notifications and clients
//! see it); it is also read as JSON (a record or selector of an `add_record` / `del_record`
//! request) and as the words of a `scspctl add`/`del` form. A record the core accepts is also
//! handed to the profile's local rules, if it has any, as scspd does with what it learns from a
//! DCS (and with what a client adds).

use scsp_core::Time;
use scsp_profiles::ProfileOps;

/// What scspd's rules see of a valid record `data` under `key`: learned from another server,
/// replaced by its deletion, removed; added locally and withdrawn; timers run. (Also used by
/// scsp-profiles' test ops_no_panic.)
pub fn local_rules(ops: &dyn ProfileOps, key: &[u8], data: &[u8], del: &[u8]) {
    let Some(mut rules) = ops.local_rules(data.len() as u64) else {
        return;
    };
    let origin = [10, 0, 0, 2];
    let t = Time::from_millis(1_000);
    let _ = rules.on_remote(t, key, &origin, data);
    for m in rules.take_flush_matches() {
        let _ = m.matches(key, &origin, data);
    }
    let _ = rules.on_remote(t, key, &origin, del);
    rules.on_remote_removed(t, key, &origin);
    let _ = rules.on_local(t, key, data);
    let _ = rules.poll(Time::from_millis(3_600_000));
    rules.on_local_withdraw(t, key);
    let _ = rules.next_deadline();
    let _ = rules.take_notices();
}

pub fn check(ops: &dyn ProfileOps, input: &[u8]) {
    let (key, data) = match input.split_first() {
        Some((&n, rest)) => rest.split_at((n as usize % 33).min(rest.len())),
        None => (&[][..], input),
    };
    let core = ops.core();
    let valid = core.validate(data).is_ok();
    let _ = core.is_deletion(data);
    let _ = core.lifetime(data);
    if valid {
        // What the core does to a stored record when it is withdrawn or purged.
        let del = core.deletion_of(data);
        assert!(
            core.is_deletion(&del),
            "deletion_of a valid record is not a deletion: {data:02x?} -> {del:02x?}"
        );
        local_rules(ops, key, data, &del);
    }
    if let Ok(v) = ops.decode(key, data) {
        // Its own JSON builds again (no panic; the result may be refused for an origin).
        let _ = ops.build(&v, key);
        let _ = ops.selects(&v, key, data);
    }
    let _ = ops.columns(key, data);

    // The same bytes as a client's JSON record or selector.
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = ops.build(&v, key);
        let _ = ops.selects(&v, key, key);
        let _ = ops.selects(&v, key, data);
    }
    // And as the arguments of `scspctl add` / `del`.
    let text = String::from_utf8_lossy(data);
    let args: Vec<String> = text.split_whitespace().map(str::to_owned).collect();
    if let Ok(v) = ops.parse_add_args(&args) {
        let _ = ops.build(&v, key);
    }
    if let Ok(v) = ops.parse_del_args(&args) {
        let _ = ops.selects(&v, key, data);
    }
}
