//! `verify_auth` on any packet that decodes, with keys of both algorithms for every SPI: it
//! returns without panicking, and the packet signed here verifies.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scsp_core::wire::{AuthAlgorithm, AuthKey, decode, encode, verify_auth};

#[path = "fixup.rs"]
mod fixup;

fn key(spi: u32) -> AuthKey {
    AuthKey {
        spi,
        algorithm: if spi.is_multiple_of(2) {
            AuthAlgorithm::HmacMd5
        } else {
            AuthAlgorithm::HmacSha256
        },
        key: b"fuzz key".to_vec(),
    }
}

fn check(data: &[u8]) {
    let Ok(packet) = decode(data) else {
        return;
    };
    // Whatever it carries: no panic, and a verdict.
    let _ = verify_auth(data, &packet, |spi| Some(key(spi)));
    let _ = verify_auth(data, &packet, |_| None);
    // Signed with a key chosen by the input, it verifies.
    let k = key(data.len() as u32);
    if let Ok(signed) = encode(&packet, Some(&k)) {
        let decoded = decode(&signed).expect("a signed packet decodes");
        assert_eq!(verify_auth(&signed, &decoded, |_| Some(k.clone())), Ok(()));
    }
}

fuzz_target!(|data: &[u8]| {
    check(data);
    check(&fixup::fixed(data));
});
