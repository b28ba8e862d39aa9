//! The ATMARP rules inside a core server: expiry after the lifetime, refusal of malformed
//! records, withdrawal by a deletion record, and refreshing an unchanged entry.

mod common;

use std::time::Duration;

use scsp_core::wire::Data;
use scsp_core::{LocalError, Server, Time};
use scsp_profiles::{AtmarpLayout, ProfileOps, ProfileOptions, ops_for};

const NSAP: &str = "47.0005.80.ffdc00.0000.0002.0001.002048061de7.00";
const LSID: [u8; 4] = [10, 1, 2, 1];

fn profile(layout: AtmarpLayout) -> std::sync::Arc<dyn ProfileOps> {
    ops_for(
        1,
        &ProfileOptions {
            atmarp_layout: layout,
            ..ProfileOptions::default()
        },
    )
}

fn server(layout: AtmarpLayout) -> Server {
    common::server(&*profile(layout), 1, &LSID)
}

fn add(layout: AtmarpLayout, args: &[&str]) -> (Vec<u8>, Vec<u8>) {
    common::add(&*profile(layout), &args.join(" "), &LSID)
}

fn entry(s: &Server, key: &[u8]) -> scsp_core::Entry {
    common::entry(s, key, &LSID)
}

#[test]
fn harp_and_draft00_entries_last_20_minutes() {
    for layout in [AtmarpLayout::Harp, AtmarpLayout::Draft00] {
        let mut s = server(layout);
        let (key, data) = add(layout, &["10.1.2.3", NSAP]);
        let t0 = Time::from_millis(1_000_000);
        s.originate(t0, &key, Data::from(data)).unwrap();
        assert_eq!(s.poll_timeout(), Some(t0 + Duration::from_secs(1200)));
        s.handle_timeout(t0 + Duration::from_secs(1199));
        assert_eq!(s.cache().live(), 1);
        s.handle_timeout(t0 + Duration::from_secs(1200));
        assert_eq!(s.cache().live(), 0, "{layout:?}");
    }
}

#[test]
fn draft01_entries_last_their_lifetime() {
    let mut s = server(AtmarpLayout::Draft01);
    let (key, data) = add(
        AtmarpLayout::Draft01,
        &["10.1.2.3", NSAP, "--lifetime", "3"],
    );
    let t0 = Time::from_millis(5_000);
    s.originate(t0, &key, Data::from(data)).unwrap();
    assert_eq!(s.poll_timeout(), Some(t0 + Duration::from_secs(180)));
    s.handle_timeout(t0 + Duration::from_secs(180));
    assert_eq!(s.cache().live(), 0);
}

#[test]
fn refresh_of_unchanged_data_needs_a_new_number() {
    let mut s = server(AtmarpLayout::Draft01);
    let (key, data) = add(AtmarpLayout::Draft01, &["10.1.2.3", NSAP]);
    let t0 = Time::from_millis(5_000);
    let seq = s.originate(t0, &key, Data::from(data.clone())).unwrap();
    // Plain originate of the same data is a no-op: same number, lifetime not restarted.
    let t1 = t0 + Duration::from_secs(600);
    assert_eq!(s.originate(t1, &key, Data::from(data.clone())), Ok(seq));
    assert_eq!(entry(&s, &key).since, t0);
    // originate_numbered with the next number floods it again and restarts the lifetime.
    let next = seq.wrapping_add(1);
    assert_eq!(
        s.originate_numbered(t1, &key, Data::from(data), next),
        Ok(next)
    );
    assert_eq!(entry(&s, &key).since, t1);
    s.handle_timeout(t0 + Duration::from_secs(1200));
    assert_eq!(s.cache().live(), 1, "refreshed, so still alive");
    s.handle_timeout(t1 + Duration::from_secs(1200));
    assert_eq!(s.cache().live(), 0);
}

#[test]
fn malformed_records_are_refused_and_deletions_are_not_originated() {
    for layout in [
        AtmarpLayout::Harp,
        AtmarpLayout::Draft00,
        AtmarpLayout::Draft01,
    ] {
        let mut s = server(layout);
        let (key, data) = add(layout, &["10.1.2.3", NSAP]);
        let t = Time::from_millis(1);
        assert!(matches!(
            s.originate(t, &key, Data::from(&data[..data.len() - 1])),
            Err(LocalError::Invalid(_))
        ));
        let del = s.config().profile.deletion_of(&data);
        assert_eq!(
            s.originate(t, &key, del),
            Err(LocalError::IsDeletion),
            "{layout:?}"
        );
    }
}

#[test]
fn withdraw_floods_the_deletion_of_the_binding() {
    for layout in [
        AtmarpLayout::Harp,
        AtmarpLayout::Draft00,
        AtmarpLayout::Draft01,
    ] {
        let mut s = server(layout);
        let p = profile(layout);
        let (key, data) = add(layout, &["10.1.2.3", NSAP]);
        let t = Time::from_millis(1);
        s.originate(t, &key, Data::from(data)).unwrap();
        s.withdraw(t, &key).unwrap();
        let e = entry(&s, &key);
        assert!(e.deleted());
        p.core().validate(&e.data).unwrap();
        let shown = p.decode(&key, &e.data).unwrap();
        assert_eq!(shown["ip"], "10.1.2.3");
        assert_eq!(shown["atm"], NSAP);
    }
}
