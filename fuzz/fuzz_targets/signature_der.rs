//! libFuzzer entry of [`hsm_fuzz::targets::signature_der`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| hsm_fuzz::targets::signature_der::run(data));
