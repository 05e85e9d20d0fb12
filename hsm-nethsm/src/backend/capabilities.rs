//! What a NetHSM backend handle declares: every key type and algorithm of the device, or what
//! the device behind the handle offers when `open` says less (the built-in simulator).

use hsm_core::{Capabilities, Curve, KeySpec, SignAlgorithm};

use super::AsyncNetHsm;

/// What every NetHSM backend handle can do.
pub(crate) fn capabilities() -> Capabilities {
    let specs = vec![
        KeySpec::Rsa2048,
        KeySpec::Rsa3072,
        KeySpec::Rsa4096,
        KeySpec::Ec(Curve::P256),
        KeySpec::Ec(Curve::P384),
        KeySpec::Ec(Curve::P521),
        KeySpec::Ec(Curve::Secp256k1),
        KeySpec::Ec(Curve::BrainpoolP256r1),
        KeySpec::Ec(Curve::BrainpoolP384r1),
        KeySpec::Ec(Curve::BrainpoolP512r1),
        KeySpec::Ed25519,
        KeySpec::Aes128,
        KeySpec::Aes256,
    ];
    Capabilities::new(specs, SignAlgorithm::ALL.to_vec())
        .with_delete(true)
        .with_import(true)
        .with_random(true)
}

impl AsyncNetHsm {
    /// Every NetHSM key type: RSA, EC (P-256, P-384, P-521, secp256k1, brainpoolP256r1,
    /// brainpoolP384r1, brainpoolP512r1), Ed25519 and AES (`Generic` keys with AES-CBC
    /// encryption and decryption); all signing modes; import and delete. The device does not
    /// report an AES key's length: [`Self::key_info`] knows the spec of the AES keys this
    /// backend generated, and says `None` for others. Over the built-in simulator
    /// (`nethsm+sim:`), the key types that simulator offers (brainpoolP512r1 only with the
    /// `sim-openssl` feature).
    ///
    /// The device's random generator (`POST /random`, which needs the main user to be an
    /// Operator) always. Certificates stored with keys only when the handle has an
    /// administrator ([`Self::with_admin`], `admin=` in the URI; `nethsm+sim:` always has
    /// one): storing and deleting one needs that role. Without one, the three certificate
    /// calls answer [`ErrorKind::Unsupported`](hsm_core::ErrorKind::Unsupported) (reading, which an
    /// Operator may do, stays available on [`NetHsmClient::key_certificate`](crate::NetHsmClient::key_certificate)).
    #[must_use]
    pub fn capabilities(&self) -> Capabilities {
        self.inner
            .capabilities
            .clone()
            .with_certificates(self.inner.has_admin)
    }
}
