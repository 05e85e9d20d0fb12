//! libFuzzer entry of [`hsm_fuzz::targets::pkcs11_uri`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| hsm_fuzz::targets::pkcs11_uri::run(data));
