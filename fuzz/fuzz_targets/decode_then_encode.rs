//! Whatever decodes must encode (with no error), and the encoding must decode to the same packet
//! and encode again to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scsp_core::wire::{decode, encode};

#[path = "fixup.rs"]
mod fixup;

fn check(data: &[u8]) {
    if let Ok(packet) = decode(data) {
        let bytes = match encode(&packet, None) {
            Ok(b) => b,
            Err(e) => panic!("decoded packet does not encode: {e}: {packet:?}"),
        };
        assert_eq!(decode(&bytes).as_ref(), Ok(&packet), "re-decode differs");
        assert_eq!(
            encode(&packet, None).as_ref(),
            Ok(&bytes),
            "encoding not stable"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    check(data);
    check(&fixup::fixed(data));
});
