//! libFuzzer entry of [`hsm_fuzz::targets::nethsm_json`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| hsm_fuzz::targets::nethsm_json::run(data));
