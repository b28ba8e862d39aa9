//! The ATMARP profile (Protocol ID 1), in each of its three layouts: its core rules, typed
//! decoders and builders never panic on any record, JSON or arguments (`profile_common.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use scsp_profiles::{AtmarpLayout, ProfileOptions, ops_for};

#[path = "profile_common.rs"]
mod profile_common;

fuzz_target!(|data: &[u8]| {
    for atmarp_layout in [
        AtmarpLayout::Harp,
        AtmarpLayout::Draft00,
        AtmarpLayout::Draft01,
    ] {
        let options = ProfileOptions {
            atmarp_layout,
            ..ProfileOptions::default()
        };
        profile_common::check(&*ops_for(1, &options), data);
    }
});
