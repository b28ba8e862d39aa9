//! The MARS time rules (RFC 2443 §2, §5.1): redirect refreshes, servers given up after two missed
//! updates, deregistrations. Time is handed in; nothing sleeps.

mod common;

use std::time::Duration;

use scsp_core::Time;
use scsp_profiles::mars::{Flush, Kind, Mars, MarsRules, MarsTimers};
use scsp_profiles::{LocalAction, LocalRules, ProfileOps};

const ATM: &str = "47.0005.80.ffe100.0000.f21a.26d8.0020481a26d8.00";

/// (key, data) of `scspctl add mars <s>`.
fn rec(s: &str) -> (Vec<u8>, Vec<u8>) {
    common::add(&Mars::new(), s, &[10, 0, 0, 1])
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

const T0: Time = Time::from_millis(1_000_000);
const A: &[u8] = &[10, 0, 0, 2];
const B: &[u8] = &[10, 0, 0, 3];

#[test]
fn timers() {
    let t = MarsTimers::default();
    assert_eq!(t.refresh, secs(60), "RFC 2443 §5.1 recommends every minute");
    assert!(
        t.refresh <= secs(120),
        "and requires every 2 minutes at least"
    );
    assert_eq!(
        t.dead_after(),
        secs(250),
        "two missed 2-minute updates, and 10 s of grace"
    );
    assert!(Mars::new().local_rules(0).is_some());
}

#[test]
fn own_redirect_entry_is_advertised_every_minute() {
    let mut r = MarsRules::default();
    assert_eq!(r.next_deadline(), None);
    let (key, data) = rec(&format!("redirect {ATM}"));
    assert!(r.on_local(T0, &key, &data), "advertised at once");
    assert_eq!(r.next_deadline(), Some(T0 + secs(60)));
    assert!(r.poll(T0 + secs(59)).is_empty());
    let refresh = LocalAction::Originate {
        key: key.clone(),
        data: data.clone(),
    };
    assert_eq!(r.poll(T0 + secs(60)), vec![refresh.clone()]);
    assert_eq!(r.next_deadline(), Some(T0 + secs(120)));
    // A late poll: the next refresh is a minute after it, not sooner.
    assert_eq!(r.poll(T0 + secs(130)), vec![refresh]);
    assert_eq!(r.next_deadline(), Some(T0 + secs(190)));
    // Withdrawn: no more refreshes.
    r.on_local_withdraw(T0 + secs(140), &key);
    assert_eq!(r.next_deadline(), None);
    assert!(r.poll(T0 + secs(400)).is_empty());
}

#[test]
fn a_server_that_misses_two_updates_is_flushed() {
    let mut r = MarsRules::default();
    let (rk, rd) = rec(&format!("redirect {ATM}"));
    let (jk, jd) = rec(&format!("join 224.1.1.1 7 {ATM}"));
    assert!(r.on_remote(T0, &rk, A, &rd).is_empty());
    assert!(r.on_remote(T0, &jk, A, &jd).is_empty());
    assert_eq!(r.next_deadline(), Some(T0 + secs(250)));
    // Updates every two minutes keep it.
    r.on_remote(T0 + secs(120), &rk, A, &rd);
    r.on_remote(T0 + secs(240), &rk, A, &rd);
    assert!(r.poll(T0 + secs(480)).is_empty());
    assert!(r.take_flushes().is_empty());
    // A membership entry is no heartbeat.
    r.on_remote(T0 + secs(400), &jk, A, &jd);
    assert_eq!(r.next_deadline(), Some(T0 + secs(490)));
    assert!(r.poll(T0 + secs(489)).is_empty());
    assert!(r.take_flushes().is_empty());
    // Updates at 360 and 480 missed: given up.
    assert!(r.poll(T0 + secs(490)).is_empty());
    let f = r.take_flushes();
    assert_eq!(f, vec![Flush::Server { origin: A.to_vec() }]);
    assert!(f[0].matches(&jk, A, &jd) && f[0].matches(&rk, A, &rd));
    assert!(!f[0].matches(&jk, B, &jd));
    assert_eq!(r.next_deadline(), None, "no longer watched");
    assert!(r.take_flushes().is_empty(), "each decision is given once");
    // It comes back: watched again.
    r.on_remote(T0 + secs(600), &rk, A, &rd);
    assert_eq!(r.next_deadline(), Some(T0 + secs(850)));
}

#[test]
fn a_server_that_never_sends_a_redirect_entry_is_given_up() {
    let mut r = MarsRules::default();
    let (jk, jd) = rec(&format!("join 224.1.1.1 7 {ATM}"));
    r.on_remote(T0, &jk, B, &jd);
    r.on_remote(T0 + secs(200), &jk, B, &jd);
    assert!(r.poll(T0 + secs(249)).is_empty());
    assert!(r.take_flushes().is_empty());
    r.poll(T0 + secs(250));
    assert_eq!(r.take_flushes(), vec![Flush::Server { origin: B.to_vec() }]);
}

#[test]
fn servers_are_watched_separately_and_mapped_in_id_order() {
    let mut r = MarsRules::default();
    let (rk, rd) = rec(&format!("redirect {ATM}"));
    let (_, rd2) = rec("redirect 47.0005.80ffe1000000f21a26d8.0020481a26d9.00");
    r.on_remote(T0, &rk, B, &rd2);
    r.on_remote(T0 + secs(100), &rk, A, &rd);
    let map = r.redirect_map();
    assert_eq!(map.len(), 2);
    assert_eq!(map[0].0, A, "ascending Originator ID (RFC 2443 §5.1)");
    assert_eq!(map[0].1.to_string(), ATM);
    assert_eq!(map[1].0, B);
    r.poll(T0 + secs(250));
    assert_eq!(r.take_flushes(), vec![Flush::Server { origin: B.to_vec() }]);
    assert_eq!(r.redirect_map().len(), 1);
    assert_eq!(r.watched().count(), 1);
}

#[test]
fn a_local_deregistration_withdraws_the_clients_entries() {
    let mut r = MarsRules::default();
    let (reg, regd) = rec(&format!("register 7 {ATM}"));
    let (j1, j1d) = rec(&format!("join 224.1.1.1 7 {ATM}"));
    let (j2, j2d) = rec(&format!("join 224.2.0.0-224.2.255.255 7 {ATM}"));
    let (other, otherd) = rec(&format!("join 224.1.1.1 8 {ATM}"));
    let (mcs, mcsd) = rec(&format!("serve 224.1.1.1 7 {ATM}"));
    for (k, d) in [
        (&reg, &regd),
        (&j1, &j1d),
        (&j2, &j2d),
        (&other, &otherd),
        (&mcs, &mcsd),
    ] {
        assert!(r.on_local(T0, k, d));
    }
    assert_eq!(r.next_deadline(), None);
    // Leaving one group withdraws that group only.
    r.on_local_withdraw(T0, &j1);
    assert_eq!(r.next_deadline(), None);
    // The client deregisters: its other groups go too, not client 8's nor MCS 7's.
    r.on_local_withdraw(T0 + secs(5), &reg);
    assert_eq!(r.next_deadline(), Some(T0 + secs(5)));
    assert_eq!(
        r.poll(T0 + secs(5)),
        vec![LocalAction::Withdraw { key: j2.clone() }]
    );
    assert_eq!(r.next_deadline(), None);
    // The same, handed in as a deregister record.
    let (dereg, deregd) = rec(&format!("mcs-deregister 7 {ATM}"));
    let (mreg, mregd) = rec(&format!("mcs-register 7 {ATM}"));
    assert_eq!(dereg, mreg);
    r.on_local(T0, &mreg, &mregd);
    r.on_local(T0 + secs(6), &dereg, &deregd);
    assert_eq!(
        r.poll(T0 + secs(6)),
        vec![LocalAction::Withdraw { key: mcs.clone() }]
    );
}

#[test]
fn a_remote_deregistration_flushes_the_clients_entries() {
    let mut r = MarsRules::default();
    let (k, d) = rec(&format!("deregister 7 {ATM}"));
    r.on_remote(T0, &k, A, &d);
    let f = r.take_flushes();
    assert_eq!(
        f,
        vec![Flush::Client {
            origin: A.to_vec(),
            kind: Kind::Client,
            cmi: 7
        }]
    );
    let (j, jd) = rec(&format!("join 224.1.1.1 7 {ATM}"));
    let (j8, j8d) = rec(&format!("join 224.1.1.1 8 {ATM}"));
    let (s7, s7d) = rec(&format!("serve 224.1.1.1 7 {ATM}"));
    assert!(f[0].matches(&j, A, &jd));
    assert!(
        !f[0].matches(&j, B, &jd),
        "only what that server originated"
    );
    assert!(!f[0].matches(&j8, A, &j8d));
    assert!(!f[0].matches(&s7, A, &s7d), "an MCS is not a client");
    // A leave of one group flushes nothing else.
    let (l, ld) = rec(&format!("leave 224.1.1.1 7 {ATM}"));
    r.on_remote(T0, &l, A, &ld);
    assert!(r.take_flushes().is_empty());
}

#[test]
fn other_timers() {
    let t = MarsTimers {
        refresh: secs(10),
        max_interval: secs(20),
        missed: 3,
        grace: secs(1),
    };
    let mars = Mars::with_timers(t);
    let mut r = mars.rules();
    assert_eq!(r.timers(), &t);
    let (rk, rd) = rec(&format!("redirect {ATM}"));
    r.on_remote(T0, &rk, A, &rd);
    assert_eq!(r.next_deadline(), Some(T0 + secs(61)));
    assert_eq!(
        mars.core().lifetime(&rd),
        Some(secs(61)),
        "a redirect entry lives as long as its server is given"
    );
}

/// The timers derive from `ProfileOptions::mars_redirect_interval` (scspd's
/// `MARSRedirectInterval`): refresh half of it, 2 missed, grace a quarter of it but at most 10 s;
/// the core's redirect lifetime and the local rules follow.
#[test]
fn timers_derive_from_the_redirect_interval() {
    use scsp_profiles::mars::DEFAULT_REDIRECT_INTERVAL;
    use scsp_profiles::{ProfileOptions, ops_for};
    let opts = |s: Option<u16>| ProfileOptions {
        mars_redirect_interval: s,
        ..ProfileOptions::default()
    };
    // None and the default interval give the default timers.
    assert_eq!(DEFAULT_REDIRECT_INTERVAL, 120);
    for s in [None, Some(120)] {
        assert_eq!(
            Mars::with_options(&opts(s)).timers(),
            &MarsTimers::default()
        );
    }
    assert_eq!(
        MarsTimers::with_max_interval(secs(120)),
        MarsTimers::default()
    );
    let ms = Duration::from_millis;
    for (s, refresh, grace, dead) in [
        (4, secs(2), secs(1), secs(9)),
        (2, secs(1), ms(500), ms(4500)),
        (3, ms(1500), ms(750), ms(6750)),
        (30, secs(15), ms(7500), ms(67_500)),
        (40, secs(20), secs(10), secs(90)),
        (3600, secs(1800), secs(10), secs(7210)),
    ] {
        let t = Mars::with_options(&opts(Some(s))).timers().to_owned();
        assert_eq!(
            t,
            MarsTimers {
                refresh,
                max_interval: secs(s.into()),
                missed: 2,
                grace,
            },
            "{s} s"
        );
        assert_eq!(t.dead_after(), dead, "{s} s");
        // What ops_for builds: the core's redirect lifetime and the local rules.
        let ops = ops_for(3, &opts(Some(s)));
        let (rk, rd) = rec(&format!("redirect {ATM}"));
        assert_eq!(ops.core().lifetime(&rd), Some(dead), "{s} s");
        let mut r = ops.local_rules(0).unwrap();
        assert!(r.on_local(T0, &rk, &rd));
        assert_eq!(r.next_deadline(), Some(T0 + refresh), "{s} s: the refresh");
        let mut r = ops.local_rules(0).unwrap();
        r.on_remote(T0, &rk, A, &rd);
        assert_eq!(r.next_deadline(), Some(T0 + dead), "{s} s: given up");
        assert!(r.poll(T0 + dead).is_empty());
        assert_eq!(r.take_flush_matches().len(), 1, "{s} s: flushed");
        let notice = format!("no redirect update for {} s (2 missed)", dead.as_secs_f64());
        assert!(r.take_notices()[0].contains(&notice), "{notice}");
    }
}

/// The daemon reports a remote deletion as a removal (without its record): the removal of a
/// registration is a deregistration.
#[test]
fn a_removed_registration_flushes_the_clients_entries() {
    let mut r = MarsRules::default();
    let (reg, regd) = rec(&format!("register 7 {ATM}"));
    let (mreg, _) = rec(&format!("mcs-register 9 {ATM}"));
    let (j, jd) = rec(&format!("join 224.1.1.1 7 {ATM}"));
    let (rk, rd) = rec(&format!("redirect {ATM}"));
    // Nothing learned from A yet: nothing to flush.
    r.on_remote_removed(T0, &reg, A);
    assert!(r.take_flushes().is_empty());
    r.on_remote(T0, &reg, A, &regd);
    r.on_remote(T0, &rk, A, &rd);
    r.on_remote_removed(T0, &j, A);
    r.on_remote_removed(T0, &rk, A);
    assert!(
        r.take_flushes().is_empty(),
        "a group or a redirect entry is no registration"
    );
    r.on_remote_removed(T0, &reg, A);
    r.on_remote_removed(T0, &reg, A);
    r.on_remote_removed(T0, &mreg, A);
    let f = r.take_flushes();
    assert_eq!(
        f,
        vec![
            Flush::Client {
                origin: A.to_vec(),
                kind: Kind::Client,
                cmi: 7
            },
            Flush::Client {
                origin: A.to_vec(),
                kind: Kind::Mcs,
                cmi: 9
            }
        ],
        "decided once"
    );
    assert!(f[0].matches(&j, A, &jd));
    let n = r.take_notices();
    assert_eq!(n.len(), 2);
    assert!(
        n[0].contains("0a000002") && n[0].contains("client 7"),
        "{}",
        n[0]
    );
    assert!(n[1].contains("MCS 9"), "{}", n[1]);
    assert!(r.take_notices().is_empty());
    // Once A is given up, removals of its entries decide nothing more.
    r.poll(T0 + secs(250));
    assert_eq!(r.take_flushes().len(), 1);
    assert!(r.take_notices()[0].contains("no redirect update for 250 s"));
    r.on_remote_removed(T0 + secs(251), &reg, A);
    assert!(r.take_flushes().is_empty());
}

/// Decisions nobody takes do not pile up without bound.
#[test]
fn queues_are_bounded() {
    let mut r = MarsRules::default();
    let (rk, rd) = rec(&format!("redirect {ATM}"));
    r.on_remote(T0, &rk, A, &rd);
    for cmi in 0..3000u16 {
        r.on_remote_removed(T0, &[3, (cmi >> 8) as u8, cmi as u8], A);
    }
    let f = r.take_flushes();
    assert_eq!(f.len(), scsp_profiles::mars::rules::MAX_QUEUED);
    assert_eq!(
        f.last(),
        Some(&Flush::Client {
            origin: A.to_vec(),
            kind: Kind::Client,
            cmi: 2999
        }),
        "the newest are kept"
    );
    assert_eq!(
        r.take_notices().len(),
        scsp_profiles::mars::rules::MAX_QUEUED
    );
}

#[test]
fn flush_decisions_reach_the_daemon_through_local_rules() {
    let mut r = MarsRules::default();
    let (rk, rd) = rec(&format!("redirect {ATM}"));
    let (jk, jd) = rec(&format!("join 224.1.1.1 7 {ATM}"));
    r.on_remote(T0, &rk, A, &rd);
    r.on_remote(T0, &jk, A, &jd);
    r.poll(T0 + secs(250));
    let rules: &mut dyn LocalRules = &mut r;
    let f = rules.take_flush_matches();
    assert_eq!(f.len(), 1);
    assert!(f[0].matches(&jk, A, &jd) && !f[0].matches(&jk, B, &jd));
    assert!(
        rules.take_flush_matches().is_empty(),
        "each decision is given once"
    );
}
