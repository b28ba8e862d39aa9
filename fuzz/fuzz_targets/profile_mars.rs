//! The mars profile (Protocol ID 3): its core rules, typed decoders and builders never panic
//! on any record, JSON or arguments (`profile_common.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use scsp_profiles::{ProfileOptions, ops_for};

#[path = "profile_common.rs"]
mod profile_common;

fuzz_target!(|data: &[u8]| {
    let ops = ops_for(3, &ProfileOptions::default());
    profile_common::check(&*ops, data);
});
