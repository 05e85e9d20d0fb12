//! What a NetHSM backend handle declares: every key type and algorithm of the device, or what
//! the device behind the handle offers when `open` says less (the built-in simulator).

use hsm_core::{Capabilities, KeySpec, SignAlgorithm};

use super::AsyncNetHsm;

/// What every NetHSM backend handle can do.
pub(crate) fn capabilities() -> Capabilities {
    // The NetHSM makes every key type hsm-core models (RSA 2048/3072/4096, the seven curves,
    // Ed25519, AES-128/256 as `Generic` keys). A spec hsm-core gains later is claimed here too,
    // and the conformance suite (tests/sim.rs) fails until the backend maps it or leaves it out.
    let specs = KeySpec::ALL.to_vec();
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
