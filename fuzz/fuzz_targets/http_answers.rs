//! libFuzzer entry of [`hsm_fuzz::targets::http_answers`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| hsm_fuzz::targets::http_answers::run(data));
