//! libFuzzer entry of [`hsm_fuzz::targets::sc_pkcs15`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| hsm_fuzz::targets::sc_pkcs15::run(data));
