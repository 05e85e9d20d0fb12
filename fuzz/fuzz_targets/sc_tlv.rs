//! libFuzzer entry of [`hsm_fuzz::targets::sc_tlv`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| hsm_fuzz::targets::sc_tlv::run(data));
