//! libFuzzer entry of [`hsm_fuzz::targets::sc_answers`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| hsm_fuzz::targets::sc_answers::run(data));
