//! Any input as the Data of the reconciliation extension's Vendor-Private extension
//! (docs/reconciliation.md §5): `Message::decode` returns without panicking, and a message that
//! decodes encodes to octets that decode to the same message and encode to the same octets again
//! (the reserved octets read as zero).
#![no_main]

use libfuzzer_sys::fuzz_target;
use scsp_recon::wire::Message;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Message::decode(data) {
        let once = m.to_bytes();
        let again = Message::decode(&once).expect("an encoded message decodes");
        assert_eq!(again, m);
        assert_eq!(again.to_bytes(), once);
    }
});
