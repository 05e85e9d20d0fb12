//! libFuzzer entry of [`hsm_fuzz::targets::sc_card`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| hsm_fuzz::targets::sc_card::run(data));
