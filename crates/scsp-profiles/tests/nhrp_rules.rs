//! The NHRP rules for the registrations scspd holds itself: re-registered every third of their
//! Holding Time, as their clients would (RFC 2332 §5.2.3).

mod common;

use std::time::Duration;

use scsp_core::Time;
use scsp_profiles::nhrp::{NhrpRules, Record, State};
use scsp_profiles::{LocalAction, LocalRules, ops_for};

fn add(s: &str) -> (Vec<u8>, Vec<u8>) {
    common::add(&*ops_for(2, &Default::default()), s, &[1])
}

const T0: Time = Time::from_millis(1_000_000);

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

#[test]
fn registrations_are_refreshed_every_third_of_their_holding_time() {
    assert!(ops_for(2, &Default::default()).local_rules(0).is_some());
    let mut r = NhrpRules::new();
    let (key, data) = add("10.0.0.1 192.0.2.1 --holding 600 --request-id 41");
    assert!(r.on_local(T0, &key, &data), "advertised at once");
    assert_eq!(r.next_deadline(), Some(T0 + secs(200)));
    assert!(r.poll(T0 + secs(199)).is_empty());
    let a = r.poll(T0 + secs(200));
    let [LocalAction::Originate { key: k, data: d }] = a.as_slice() else {
        panic!("{a:?}")
    };
    assert_eq!(k, &key);
    let rr = Record::decode(d).unwrap();
    assert_eq!(rr.state, State::Reregistered);
    assert_eq!(
        rr.request_id, 42,
        "the next Request ID, as a client's would be"
    );
    assert_eq!(rr.holding_time, 600);
    assert_eq!(r.next_deadline(), Some(T0 + secs(400)));
    let a = r.poll(T0 + secs(400));
    let [LocalAction::Originate { data: d, .. }] = a.as_slice() else {
        panic!("{a:?}")
    };
    assert_eq!(Record::decode(d).unwrap().request_id, 43);
    // Withdrawn: no more.
    r.on_local_withdraw(T0 + secs(401), &key);
    assert_eq!(r.next_deadline(), None);
    assert!(r.poll(T0 + secs(10_000)).is_empty());
}

#[test]
fn many_registrations_each_on_its_own_time() {
    let mut r = NhrpRules::new();
    let (k1, d1) = add("10.0.0.1 192.0.2.1 --holding 30");
    let (k2, d2) = add("10.0.0.2 192.0.2.2 --holding 90");
    r.on_local(T0, &k1, &d1);
    r.on_local(T0, &k2, &d2);
    assert_eq!(r.next_refresh(&k1), Some(T0 + secs(10)));
    assert_eq!(r.next_refresh(&k2), Some(T0 + secs(30)));
    let keys = |a: Vec<LocalAction>| -> Vec<Vec<u8>> {
        a.into_iter()
            .map(|x| match x {
                LocalAction::Originate { key, .. } => key,
                LocalAction::Withdraw { key } => panic!("withdraw {key:?}"),
            })
            .collect()
    };
    assert_eq!(keys(r.poll(T0 + secs(30))), vec![k1.clone(), k2.clone()]);
    assert_eq!(r.next_deadline(), Some(T0 + secs(40)));
    // Re-added by the operator: its refresh starts over from now.
    r.on_local(T0 + secs(35), &k1, &d1);
    assert_eq!(r.next_refresh(&k1), Some(T0 + secs(45)));
    assert_eq!(r.next_deadline(), Some(T0 + secs(45)));
}

#[test]
fn what_is_not_kept_alive() {
    let mut r = NhrpRules::new();
    let (k, d) = add("10.0.0.1 192.0.2.1 --holding 0");
    assert!(r.on_local(T0, &k, &d));
    assert_eq!(
        r.next_deadline(),
        None,
        "holding time 0: nothing to keep alive"
    );
    let (k, d) = add("10.0.0.1 192.0.2.1 --holding 3");
    r.on_local(T0, &k, &d);
    assert_eq!(
        r.next_deadline(),
        Some(T0 + secs(1)),
        "at least a second apart"
    );
    // A purge handed in as a record forgets the registration.
    let purge = ops_for(2, &Default::default()).core().deletion_of(&d);
    r.on_local(T0, &k, &purge);
    assert_eq!(r.next_deadline(), None);
    r.on_local(T0, &k, b"junk");
    assert_eq!(r.next_deadline(), None);
    assert!(r.on_remote(T0, &k, &[9], &d).is_empty());
}

/// In a core server: a held registration outlives its Holding Time many times over, and expires
/// one Holding Time after the rules stop.
#[test]
fn held_registrations_stay_alive_in_the_core() {
    use scsp_core::wire::{Data, Id};
    use scsp_core::{Server, ServerConfig};
    let mut cfg = ServerConfig::new(2, 1, Id::new(&[10, 0, 0, 100]).unwrap());
    cfg.profile = ops_for(2, &Default::default()).core();
    let mut s = Server::new(cfg);
    let mut r = NhrpRules::new();
    let (key, data) = add("10.0.0.1 192.0.2.1 --holding 60");
    r.on_local(T0, &key, &data);
    s.originate(T0, &key, Data::from(data)).unwrap();
    let mut now = T0;
    while now < T0 + secs(600) {
        // The earlier of the two deadlines, as the daemon's loop takes them.
        now = [s.poll_timeout(), r.next_deadline()]
            .into_iter()
            .flatten()
            .min()
            .unwrap();
        s.handle_timeout(now);
        for a in r.poll(now) {
            if let LocalAction::Originate { key, data } = a {
                s.originate(now, &key, Data::from(data)).unwrap();
            }
        }
        assert_eq!(s.cache().live(), 1, "alive at {now}");
    }
    r.on_local_withdraw(now, &key); // the rules stop (say, scspd is about to crash)
    s.handle_timeout(now + secs(60));
    assert_eq!(s.cache().live(), 0, "expired one Holding Time later");
}
