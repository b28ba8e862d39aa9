//! Any input, as it is and with its size and checksum made right: `decode` returns without
//! panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "fixup.rs"]
mod fixup;

fuzz_target!(|data: &[u8]| {
    let _ = scsp_core::wire::decode(data);
    let _ = scsp_core::wire::decode(&fixup::fixed(data));
});
