//! PKCS#8 private keys, as given to `import_key`.
#![no_main]

use hsm_core::PrivateKeyDer;
use libfuzzer_sys::fuzz_target;
use zeroize::Zeroizing;

fuzz_target!(|data: &[u8]| {
    let key = PrivateKeyDer::new(Zeroizing::new(data.to_vec()));
    if let Ok(parts) = key.decode() {
        let _ = parts.spec();
    }
});
