//! PKCS#8 private keys, as given to `import_key`.

use hsm_core::PrivateKeyDer;
use zeroize::Zeroizing;

/// The input is PKCS#8 DER.
pub fn run(data: &[u8]) {
    let key = PrivateKeyDer::new(Zeroizing::new(data.to_vec()));
    if let Ok(parts) = key.decode() {
        let _ = parts.spec();
    }
}
