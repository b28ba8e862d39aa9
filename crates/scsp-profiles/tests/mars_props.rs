//! Properties of the MARS codec and rules: records round-trip through octets and JSON, no input
//! makes them panic, and the rules' deadlines are kept.

use std::time::Duration;

use proptest::prelude::*;
use scsp_core::Time;
use scsp_profiles::mars::{Flush, MarsRules, Record, State};
use scsp_profiles::nhrp::{NbmaAddr, ProtoAddr, Snap};
use scsp_profiles::{LocalRules, ProfileOps, ops_for};

fn state() -> impl Strategy<Value = State> {
    prop_oneof![
        Just(State::ServerRedirect),
        Just(State::McsServe),
        Just(State::ClientJoin),
        Just(State::ClientLeave),
        Just(State::McsUnserve),
    ]
}

fn nbma() -> impl Strategy<Value = NbmaAddr> {
    (
        any::<bool>(),
        proptest::collection::vec(any::<u8>(), 0..=63),
    )
        .prop_map(|(e164, octets)| NbmaAddr { e164, octets })
}

fn proto(max: usize) -> impl Strategy<Value = ProtoAddr> {
    proptest::collection::vec(any::<u8>(), 0..=max).prop_map(ProtoAddr)
}

prop_compose! {
    fn groups()(len in prop_oneof![Just(0usize), Just(4), Just(16), 0usize..=64])
        (min in proptest::collection::vec(any::<u8>(), len),
         max in proptest::collection::vec(any::<u8>(), len)) -> (ProtoAddr, ProtoAddr) {
        (ProtoAddr(min), ProtoAddr(max))
    }
}

prop_compose! {
    fn record()(
        hardware_type in any::<u16>(), protocol_type in any::<u16>(), snap in any::<[u8; 5]>(),
        unused in any::<u8>(), state in state(), layer3grp in any::<bool>(),
        register in any::<bool>(), sequence in any::<u8>(), reserved in any::<u16>(),
        cmi in any::<u16>(), source_protocol_address in proto(255),
        source_atm_address in nbma(), source_atm_subaddress in nbma(), g in groups(),
    ) -> Record {
        Record {
            hardware_type, protocol_type, snap: Snap(snap), unused, version: 0, state,
            layer3grp, register, sequence, reserved_flags: reserved & 0x5f00, cmi,
            source_protocol_address, source_atm_address, source_atm_subaddress,
            group_min: g.0, group_max: g.1,
        }
    }
}

fn ops() -> std::sync::Arc<dyn ProfileOps> {
    ops_for(3, &Default::default())
}

proptest! {
    #[test]
    fn record_octets_record(r in record()) {
        let b = r.encode().unwrap();
        prop_assert_eq!(Record::decode(&b), Ok(r));
    }

    #[test]
    fn record_json_record(r in record()) {
        let ops = ops();
        let data = r.encode().unwrap();
        let key = r.key();
        let v = ops.decode(&key, &data).unwrap();
        prop_assert_eq!(ops.build(&v, &[1, 2, 3, 4]).unwrap(), (key.clone(), data.clone()));
        let mut v = v;
        v.as_object_mut().unwrap().remove("key");
        prop_assert_eq!(ops.build(&v, &[1, 2, 3, 4]).unwrap(), (key, data));
    }

    /// The deletion of a join or serve is the leave or unserve under the same key.
    #[test]
    fn deletions_keep_the_key(r in record()) {
        let core = ops().core();
        let del = core.deletion_of(&r.encode().unwrap());
        prop_assert!(core.is_deletion(&del));
        prop_assert_eq!(core.lifetime(&del), None);
        if r.state == State::ServerRedirect {
            prop_assert!(core.validate(&del).is_err());
        } else {
            let d = Record::decode(&del).unwrap();
            prop_assert!(d.state.is_deletion());
            prop_assert_eq!(d.key(), r.key());
        }
    }

    #[test]
    fn octets_record_octets(b in proptest::collection::vec(any::<u8>(), 0..300)) {
        let ops = ops();
        let core = ops.core();
        let _ = ops.columns(&b, &b);
        let _ = core.is_deletion(&b);
        let _ = core.lifetime(&b);
        let _ = core.deletion_of(&b);
        let mut rules = MarsRules::default();
        let _ = rules.on_local(Time::ZERO, &b, &b);
        let _ = rules.on_remote(Time::ZERO, &b, &b, &b);
        rules.on_local_withdraw(Time::ZERO, &b);
        rules.on_remote_removed(Time::ZERO, &b, &b);
        let _ = rules.poll(Time::from_millis(u64::MAX));
        let _ = (rules.take_flushes(), rules.take_notices());
        if let Ok(r) = Record::decode(&b) {
            prop_assert!(core.validate(&b).is_ok());
            prop_assert_eq!(r.encode().unwrap(), b);
        } else {
            prop_assert!(core.validate(&b).is_err());
        }
    }

    #[test]
    fn damaged_records(r in record(), at in any::<prop::sample::Index>(), v in any::<u8>(),
                       cut in any::<prop::sample::Index>()) {
        let b = r.encode().unwrap();
        let mut d = b.clone();
        let i = at.index(d.len());
        d[i] = v;
        if let Ok(r2) = Record::decode(&d) {
            prop_assert_eq!(r2.encode().unwrap(), d);
        }
        let c = cut.index(b.len());
        prop_assert!(Record::decode(&b[..c]).is_err());
    }

    #[test]
    fn any_strings_in_arguments(a in ".{0,12}", b in ".{0,30}", c in ".{0,50}") {
        let ops = ops();
        for verb in ["redirect", "register", "join", "leave", "serve", "unserve"] {
            let _ = ops.parse_add_args(&[verb.into(), a.clone(), b.clone(), c.clone()]);
            let _ = ops.parse_add_args(&[verb.into(), a.clone(), b.clone()]);
        }
        let _ = ops.parse_del_args(&["client".into(), a.clone(), b.clone()]);
    }

    /// Whatever the order of redirect updates, a server is given up exactly when it has been
    /// silent for the dead time, and never before.
    #[test]
    fn servers_given_up_exactly_after_silence(gaps in proptest::collection::vec(1u64..400, 1..20)) {
        let mut rules = MarsRules::default();
        let dead = rules.timers().dead_after();
        let redirect = ops()
            .build(&serde_json::json!({"state": "server_redirect",
                                        "source_atm_address": "+1234"}), &[9])
            .unwrap();
        let origin = [10u8, 0, 0, 9];
        let mut t = Time::from_millis(1_000);
        rules.on_remote(t, &redirect.0, &origin, &redirect.1);
        let mut alive = true;
        for g in gaps {
            let next = t + Duration::from_secs(g);
            // Poll at every deadline until the next update.
            while let Some(d) = rules.next_deadline() {
                if d >= next { break; }
                rules.poll(d);
                let f = rules.take_flushes();
                prop_assert!(alive);
                prop_assert_eq!(d, t + dead);
                prop_assert_eq!(f, vec![Flush::Server { origin: origin.to_vec() }]);
                alive = false;
            }
            if alive {
                prop_assert!(rules.take_flushes().is_empty());
            }
            t = next;
            rules.on_remote(t, &redirect.0, &origin, &redirect.1);
            alive = true;
        }
    }
}
