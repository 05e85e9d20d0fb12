//! libFuzzer entry of [`hsm_fuzz::targets::sc_cvc`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| hsm_fuzz::targets::sc_cvc::run(data));
