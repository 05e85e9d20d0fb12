//! libFuzzer entry of [`hsm_fuzz::targets::n200_labels`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| hsm_fuzz::targets::n200_labels::run(data));
