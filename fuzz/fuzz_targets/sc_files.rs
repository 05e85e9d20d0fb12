//! libFuzzer entry of [`hsm_fuzz::targets::sc_files`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| hsm_fuzz::targets::sc_files::run(data));
