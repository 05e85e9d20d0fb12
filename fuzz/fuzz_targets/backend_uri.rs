//! libFuzzer entry of [`hsm_fuzz::targets::backend_uri`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| hsm_fuzz::targets::backend_uri::run(data));
