//! ATMARP local rules: refresh hysteresis, keeping held entries alive, and draft-01's duplicate
//! procedure (T1, T2), driven with a virtual clock.

use std::net::Ipv4Addr;
use std::time::Duration;

use scsp_core::Time;
use scsp_profiles::atmarp::codec;
use scsp_profiles::atmarp::{AtmAddress, AtmarpRules, DuplicateMode, Record, RulesConfig};
use scsp_profiles::{AtmarpLayout, LocalAction, LocalRules};

const A: &str = "47.0005.80.ffdc00.0000.0002.0001.002048061de7.00";
const B: &str = "47.0005.80.ffdc00.0000.0002.0001.0020480aaaaa.00";
const ORIGIN: &[u8] = &[10, 0, 0, 9];

fn min(m: u64) -> Duration {
    Duration::from_secs(60 * m)
}

fn at(d: Duration) -> Time {
    Time::ZERO + d
}

fn atm(s: &str) -> AtmAddress {
    s.parse().unwrap()
}

/// Key and data of `ip` → `atm` in `layout`, with a Draft01 lifetime of `life` minutes.
fn entry(layout: AtmarpLayout, ip: [u8; 4], a: &str, life: Option<u8>) -> (Vec<u8>, Vec<u8>) {
    let mut r = Record::new(Ipv4Addr::from(ip), atm(a), None);
    r.lifetime = life;
    let data = codec::encode(layout, &r).unwrap();
    (codec::cache_key(layout, r.ip, &r.atm).to_vec(), data)
}

#[test]
fn refresh_hysteresis() {
    for seed in 0..50 {
        let mut r = AtmarpRules::new(AtmarpLayout::Draft00, seed);
        let (k, d) = entry(AtmarpLayout::Draft00, [10, 1, 2, 3], A, None);
        assert!(
            r.on_local(at(Duration::ZERO), &k, &d),
            "a new entry is advertised"
        );
        let next = r.next_advertisement(&k).unwrap();
        assert!(next >= at(min(10)) && next <= at(min(12)), "{next:?}");
        // Mere refreshes inside the window are not.
        assert!(!r.on_local(at(min(1)), &k, &d));
        assert!(!r.on_local(at(min(9)), &k, &d));
        assert!(!r.on_local(next - Duration::from_millis(1), &k, &d));
        // From the end of the window, a refresh is advertised, and the window starts again.
        assert!(r.on_local(next, &k, &d));
        assert!(!r.on_local(next + min(1), &k, &d));
        let next2 = r.next_advertisement(&k).unwrap();
        assert!(next2 >= next + min(10) && next2 <= next + min(12));
    }
}

#[test]
fn jitter_is_seeded_and_spread() {
    let draw = |seed| {
        let mut r = AtmarpRules::new(AtmarpLayout::Harp, seed);
        let (k, d) = entry(AtmarpLayout::Harp, [10, 1, 2, 3], A, None);
        r.on_local(Time::ZERO, &k, &d);
        r.next_advertisement(&k).unwrap()
    };
    assert_eq!(draw(7), draw(7));
    let all: std::collections::HashSet<Time> = (0..20).map(draw).collect();
    assert!(all.len() > 10, "random(2) minutes should spread: {all:?}");
}

#[test]
fn a_changed_binding_is_advertised_at_once() {
    let mut r = AtmarpRules::new(AtmarpLayout::Draft01, 1);
    let (k, d) = entry(AtmarpLayout::Draft01, [10, 1, 2, 3], A, None);
    let (k2, d2) = entry(AtmarpLayout::Draft01, [10, 1, 2, 3], B, None);
    assert_eq!(k, k2, "draft keys are the IP address");
    assert!(r.on_local(Time::ZERO, &k, &d));
    assert!(r.on_local(at(min(1)), &k, &d2));
    // Another lifetime is a change too.
    let (_, d3) = entry(AtmarpLayout::Draft01, [10, 1, 2, 3], B, Some(30));
    assert!(r.on_local(at(min(2)), &k, &d3));
    assert!(!r.on_local(at(min(3)), &k, &d3));
}

#[test]
fn held_entries_are_kept_alive_with_state_updated() {
    let mut r = AtmarpRules::new(AtmarpLayout::Harp, 3);
    let (k, d) = entry(AtmarpLayout::Harp, [10, 1, 2, 3], A, None);
    assert!(r.on_local(Time::ZERO, &k, &d));
    let t = r.next_deadline().unwrap();
    assert!(t >= at(min(10)) && t <= at(min(12)));
    assert!(r.poll(t - Duration::from_millis(1)).is_empty());
    let acts = r.poll(t);
    let mut refreshed = d.clone();
    refreshed[6] = 1; // state updated, as HARP's atmarpd refreshes
    assert_eq!(
        acts,
        vec![LocalAction::Originate {
            key: k.clone(),
            data: refreshed.clone()
        }]
    );
    // Every period after, before the 20-minute lifetime runs out at the peers.
    let mut last = t;
    for _ in 0..10 {
        let n = r.next_deadline().unwrap();
        assert!(n > last && n <= last + min(12));
        assert!(n.since(last) < codec::ENTRY_LIFETIME);
        let acts = r.poll(n);
        assert_eq!(
            acts,
            vec![LocalAction::Originate {
                key: k.clone(),
                data: refreshed.clone()
            }]
        );
        last = n;
    }
    // Withdrawn: nothing more.
    r.on_local_withdraw(last, &k);
    assert_eq!(r.next_deadline(), None);
    assert!(r.poll(last + min(60)).is_empty());
}

#[test]
fn short_draft01_lifetimes_refresh_before_expiry() {
    let mut r = AtmarpRules::new(AtmarpLayout::Draft01, 9);
    let (k, d) = entry(AtmarpLayout::Draft01, [10, 1, 2, 3], A, Some(4));
    assert!(r.on_local(Time::ZERO, &k, &d));
    // ¾ of 4 minutes.
    assert_eq!(r.next_deadline(), Some(at(min(3))));
    let acts = r.poll(at(min(3)));
    // Draft01 records are refreshed as they are.
    assert_eq!(
        acts,
        vec![LocalAction::Originate {
            key: k.clone(),
            data: d.clone()
        }]
    );
    assert_eq!(r.next_deadline(), Some(at(min(6))));
    // A long lifetime keeps the 10 + random(2) rate.
    let (k2, d2) = entry(AtmarpLayout::Draft01, [10, 1, 2, 4], A, Some(200));
    assert!(r.on_local(at(min(6)), &k2, &d2));
    let n = r.next_advertisement(&k2).unwrap();
    assert!(n >= at(min(16)) && n <= at(min(18)));
}

#[test]
fn harp_new_address_for_an_ip_withdraws_the_old_key() {
    let mut r = AtmarpRules::new(AtmarpLayout::Harp, 1);
    let (ka, da) = entry(AtmarpLayout::Harp, [10, 1, 2, 3], A, None);
    let (kb, db) = entry(AtmarpLayout::Harp, [10, 1, 2, 3], B, None);
    assert_ne!(ka, kb, "HARP keys hash the ATM address in");
    assert!(r.on_local(Time::ZERO, &ka, &da));
    assert!(r.on_local(at(min(1)), &kb, &db));
    // Due at once.
    assert_eq!(r.next_deadline(), Some(at(min(1))));
    assert_eq!(
        r.poll(at(min(1))),
        vec![LocalAction::Withdraw { key: ka.clone() }]
    );
    assert_eq!(r.next_advertisement(&ka), None);
    assert!(r.next_advertisement(&kb).is_some());
}

#[test]
fn a_local_deletion_record_withdraws() {
    let mut r = AtmarpRules::new(AtmarpLayout::Draft01, 1);
    let (k, d) = entry(AtmarpLayout::Draft01, [10, 1, 2, 3], A, None);
    assert!(r.on_local(Time::ZERO, &k, &d));
    let del = codec::deletion_of(AtmarpLayout::Draft01, &d).unwrap();
    assert!(r.on_local(at(min(1)), &k, &del));
    assert_eq!(r.next_deadline(), None);
    // Undecodable data is left to the core to refuse.
    assert!(r.on_local(at(min(1)), &k, b"junk"));
}

// ----- draft-01 §2: duplicate bindings ------------------------------------------------------

fn d01(seed: u64) -> AtmarpRules {
    AtmarpRules::new(AtmarpLayout::Draft01, seed)
}

#[test]
fn duplicate_purged_within_t1_needs_nothing() {
    let mut r = d01(1);
    let (k, mine) = entry(AtmarpLayout::Draft01, [10, 1, 2, 3], A, None);
    let (_, theirs) = entry(AtmarpLayout::Draft01, [10, 1, 2, 3], B, None);
    assert!(r.on_local(Time::ZERO, &k, &mine));
    let t0 = at(min(1));
    assert!(r.on_remote(t0, &k, ORIGIN, &theirs).is_empty());
    assert_eq!(r.duplicate_state(&k), Some(false));
    let notes = r.take_notices();
    assert_eq!(notes.len(), 1);
    assert!(
        notes[0].contains("10.1.2.3") && notes[0].contains("T1"),
        "{notes:?}"
    );
    assert_eq!(r.next_deadline(), Some(t0 + r.config().t1));
    // The other server purges its binding (a record with Lifetime 0).
    let del = codec::deletion_of(AtmarpLayout::Draft01, &theirs).unwrap();
    assert!(
        r.on_remote(t0 + Duration::from_secs(10), &k, ORIGIN, &del)
            .is_empty()
    );
    assert!(r.poll(t0 + r.config().t1).is_empty());
    assert_eq!(r.duplicate_state(&k), None);
    assert!(r.take_notices().is_empty());
}

#[test]
fn duplicate_removed_by_the_daemon_or_expired() {
    // Removed (on_remote_removed).
    let mut r = d01(1);
    let (k, mine) = entry(AtmarpLayout::Draft01, [10, 1, 2, 3], A, None);
    let (_, theirs) = entry(AtmarpLayout::Draft01, [10, 1, 2, 3], B, None);
    r.on_local(Time::ZERO, &k, &mine);
    r.on_remote(Time::ZERO, &k, ORIGIN, &theirs);
    r.on_remote_removed(Time::ZERO, &k, ORIGIN);
    assert!(r.poll(at(min(1))).is_empty());
    assert_eq!(r.duplicate_state(&k), None);

    // Expired: a remote lifetime shorter than T1.
    let cfg = RulesConfig {
        t1: min(5),
        ..RulesConfig::for_layout(AtmarpLayout::Draft01)
    };
    let mut r = AtmarpRules::with_config(AtmarpLayout::Draft01, 1, cfg);
    let (_, short) = entry(AtmarpLayout::Draft01, [10, 1, 2, 3], B, Some(2));
    r.on_local(Time::ZERO, &k, &mine);
    r.on_remote(Time::ZERO, &k, ORIGIN, &short);
    assert_eq!(r.duplicate_state(&k), Some(false));
    assert!(r.poll(at(min(5))).is_empty());
    assert_eq!(r.duplicate_state(&k), None);
}

#[test]
fn duplicate_standing_after_t1_purges_the_local_binding_after_t2() {
    let mut r = d01(2);
    let t1 = r.config().t1;
    let t2 = r.config().t2;
    let (k, mine) = entry(AtmarpLayout::Draft01, [10, 1, 2, 3], A, None);
    let (_, theirs) = entry(AtmarpLayout::Draft01, [10, 1, 2, 3], B, None);
    r.on_local(Time::ZERO, &k, &mine);
    r.take_notices();
    r.on_remote(at(min(1)), &k, ORIGIN, &theirs);
    assert!(
        r.poll(at(min(1)) + t1 - Duration::from_millis(1))
            .is_empty()
    );
    assert_eq!(r.duplicate_state(&k), Some(false));
    // T1: both invalid, the operator is told, the local binding stops being refreshed.
    r.take_notices();
    assert!(r.poll(at(min(1)) + t1).is_empty());
    assert_eq!(r.duplicate_state(&k), Some(true));
    let notes = r.take_notices();
    assert!(
        notes.iter().any(|n| n.contains("both invalid")),
        "{notes:?}"
    );
    assert_eq!(r.next_advertisement(&k), None);
    // A mere refresh cannot revive it inside T2 without restarting the procedure.
    let t = at(min(1)) + t1 + t2;
    assert_eq!(r.next_deadline(), Some(t));
    // T2: purged (withdrawn, so flooded with lifetime 0).
    assert_eq!(r.poll(t), vec![LocalAction::Withdraw { key: k.clone() }]);
    assert!(r.take_notices().iter().any(|n| n.contains("purged")));
    assert_eq!(r.next_deadline(), None);
}

#[test]
fn same_binding_elsewhere_is_no_duplicate() {
    let mut r = d01(3);
    let (k, mine) = entry(AtmarpLayout::Draft01, [10, 1, 2, 3], A, None);
    r.on_local(Time::ZERO, &k, &mine);
    assert!(r.on_remote(Time::ZERO, &k, ORIGIN, &mine).is_empty());
    assert_eq!(r.duplicate_state(&k), None);
    // Another address is no collision either.
    let (k2, other) = entry(AtmarpLayout::Draft01, [10, 1, 2, 4], B, None);
    assert!(r.on_remote(Time::ZERO, &k2, ORIGIN, &other).is_empty());
    assert_eq!(r.duplicate_state(&k), None);
    assert!(r.take_notices().is_empty());
}

#[test]
fn not_connected_local_binding_is_superseded_at_once() {
    let cfg = RulesConfig {
        duplicates: DuplicateMode::NotConnected,
        ..RulesConfig::for_layout(AtmarpLayout::Draft01)
    };
    let mut r = AtmarpRules::with_config(AtmarpLayout::Draft01, 4, cfg);
    let (k, mine) = entry(AtmarpLayout::Draft01, [10, 1, 2, 3], A, None);
    let (_, theirs) = entry(AtmarpLayout::Draft01, [10, 1, 2, 3], B, None);
    r.on_local(Time::ZERO, &k, &mine);
    assert_eq!(
        r.on_remote(at(min(1)), &k, ORIGIN, &theirs),
        vec![LocalAction::Withdraw { key: k.clone() }]
    );
    assert_eq!(r.next_deadline(), None);
    assert_eq!(r.take_notices().len(), 1);
}

#[test]
fn registration_colliding_with_a_remote_binding_is_flooded_and_starts_t1() {
    let mut r = d01(5);
    let (k, mine) = entry(AtmarpLayout::Draft01, [10, 1, 2, 3], A, None);
    let (_, theirs) = entry(AtmarpLayout::Draft01, [10, 1, 2, 3], B, None);
    assert!(r.on_remote(Time::ZERO, &k, ORIGIN, &theirs).is_empty());
    assert!(r.on_local(at(min(1)), &k, &mine));
    assert_eq!(r.duplicate_state(&k), Some(false));
    assert_eq!(r.next_deadline(), Some(at(min(1)) + r.config().t1));
    // Still there at T1, so on to T2.
    r.poll(at(min(1)) + r.config().t1);
    assert_eq!(r.duplicate_state(&k), Some(true));
    // The client registers again while invalid: a new registration, so T1 again.
    let t = at(min(1)) + r.config().t1 + Duration::from_secs(5);
    assert!(r.on_local(t, &k, &mine));
    assert_eq!(r.duplicate_state(&k), Some(false));
}

#[test]
fn harp_and_draft00_have_no_duplicate_procedure() {
    for layout in [AtmarpLayout::Harp, AtmarpLayout::Draft00] {
        let mut r = AtmarpRules::new(layout, 1);
        assert_eq!(r.config().duplicates, DuplicateMode::Off);
        let (k, mine) = entry(layout, [10, 1, 2, 3], A, None);
        let (k2, theirs) = entry(layout, [10, 1, 2, 3], B, None);
        r.on_local(Time::ZERO, &k, &mine);
        assert!(r.on_remote(Time::ZERO, &k2, ORIGIN, &theirs).is_empty());
        assert_eq!(r.duplicate_state(&k), None);
    }
}

#[test]
fn runs_are_deterministic() {
    let run = |seed| {
        let mut r = d01(seed);
        let mut log = Vec::new();
        for i in 0..20u8 {
            let (k, d) = entry(AtmarpLayout::Draft01, [10, 0, 0, i], A, Some(10 + i));
            r.on_local(at(Duration::from_secs(u64::from(i) * 7)), &k, &d);
        }
        let mut now = Time::ZERO;
        for _ in 0..200 {
            let Some(t) = r.next_deadline() else { break };
            now = t.max(now);
            log.push((now, r.poll(now)));
        }
        log
    };
    assert_eq!(run(11), run(11));
    assert_ne!(run(11), run(12));
}
