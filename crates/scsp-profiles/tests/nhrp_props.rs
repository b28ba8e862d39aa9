//! Properties of the NHRP codec: records round-trip through octets and JSON, and no input makes
//! it panic.

use proptest::prelude::*;
use scsp_profiles::nhrp::{NbmaAddr, ProtoAddr, Record, Snap, State};
use scsp_profiles::{ProfileOps, ops_for};

fn state() -> impl Strategy<Value = State> {
    prop_oneof![
        Just(State::Registered),
        Just(State::Reregistered),
        Just(State::Purged),
        Just(State::NoSuchClient),
    ]
}

fn nbma() -> impl Strategy<Value = NbmaAddr> {
    prop_oneof![
        (
            any::<bool>(),
            proptest::collection::vec(any::<u8>(), 0..=63)
        )
            .prop_map(|(e164, octets)| NbmaAddr { e164, octets }),
        proptest::collection::vec(b'0'..=b'9', 1..=15)
            .prop_map(|octets| NbmaAddr { e164: true, octets }),
        proptest::collection::vec(any::<u8>(), 20).prop_map(NbmaAddr::nsap),
    ]
}

fn proto() -> impl Strategy<Value = ProtoAddr> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 4),
        proptest::collection::vec(any::<u8>(), 16),
        proptest::collection::vec(any::<u8>(), 1..=255),
    ]
    .prop_map(ProtoAddr)
}

prop_compose! {
    fn record()(
        afn in any::<u16>(), protocol_type in any::<u16>(), snap in any::<[u8; 5]>(),
        unique in any::<bool>(), atmarp in any::<bool>(), unused_flags in 0u16..0x4000,
        request_id in any::<u32>(), state in state(), prefix_length in any::<u8>(),
        unused in any::<u16>(), mtu in any::<u16>(), holding_time in any::<u16>(),
        nbma_address in nbma(), nbma_subaddress in nbma(), protocol_address in proto(),
        preference in any::<u8>(),
    ) -> Record {
        Record {
            afn, protocol_type, snap: Snap(snap), version: 1, unique, atmarp, unused_flags,
            request_id, state, prefix_length, unused, mtu, holding_time, nbma_address,
            nbma_subaddress, protocol_address, preference,
        }
    }
}

fn ops() -> std::sync::Arc<dyn ProfileOps> {
    ops_for(2, &Default::default())
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
        let key = r.key().unwrap();
        let v = ops.decode(&key, &data).unwrap();
        prop_assert_eq!(ops.build(&v, &[1, 2, 3, 4]).unwrap(), (key.clone(), data.clone()));
        // Without the key, build derives the same one.
        let mut v = v;
        v.as_object_mut().unwrap().remove("key");
        prop_assert_eq!(ops.build(&v, &[1, 2, 3, 4]).unwrap(), (key, data));
    }

    #[test]
    fn deletion_of_is_a_valid_deletion(r in record()) {
        let core = ops().core();
        let del = core.deletion_of(&r.encode().unwrap());
        prop_assert!(core.validate(&del).is_ok());
        prop_assert!(core.is_deletion(&del));
        prop_assert_eq!(core.lifetime(&del), None);
        prop_assert_eq!(Record::decode(&del).unwrap().protocol_address, r.protocol_address);
    }

    #[test]
    fn octets_record_octets(b in proptest::collection::vec(any::<u8>(), 0..400)) {
        let ops = ops();
        let core = ops.core();
        // Whatever comes, nothing panics; what decodes re-encodes to the same octets.
        let _ = ops.columns(&b, &b);
        let _ = core.is_deletion(&b);
        let _ = core.lifetime(&b);
        let _ = core.deletion_of(&b);
        if let Ok(r) = Record::decode(&b) {
            prop_assert!(core.validate(&b).is_ok());
            prop_assert_eq!(r.encode().unwrap(), b);
        } else {
            prop_assert!(core.validate(&b).is_err());
        }
    }

    /// Damaged valid records: one octet changed or the record cut short.
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
    fn any_strings_in_arguments(a in ".{0,40}", b in ".{0,60}") {
        let ops = ops();
        let _ = ops.parse_add_args(&[a.clone(), b.clone()]);
        let _ = ops.parse_del_args(&[a]);
        let _ = NbmaAddr::parse(&b);
        let _ = ProtoAddr::parse(&b);
    }

    #[test]
    fn address_strings_round_trip(a in nbma(), p in proto()) {
        prop_assert_eq!(NbmaAddr::parse(&a.to_string()), Ok(a));
        prop_assert_eq!(ProtoAddr::parse(&p.to_string()), Ok(p));
    }
}
