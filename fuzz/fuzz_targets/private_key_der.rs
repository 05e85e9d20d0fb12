//! libFuzzer entry of [`hsm_fuzz::targets::private_key_der`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| hsm_fuzz::targets::private_key_der::run(data));
