//! Private keys from PEM, as the multipart import (`POST /keys` with `key_file`) takes them:
//! PKCS#8 `PRIVATE KEY`, PKCS#1 `RSA PRIVATE KEY` and SEC1 `EC PRIVATE KEY`, to PKCS#8 DER.

use ecdsa::elliptic_curve::SecretKey;
use rsa::pkcs8::EncodePrivateKey as _;
use zeroize::Zeroizing;

use super::crypto::{SimError, SimResult};

fn invalid() -> SimError {
    "Invalid PEM private key".into()
}

/// A SEC1 EC key of curve `$curve`, as PKCS#8 DER; `None` when it is not one.
macro_rules! sec1_as {
    ($curve:ty, $der:expr) => {
        SecretKey::<$curve>::from_sec1_der($der)
            .ok()
            .and_then(|key| key.to_pkcs8_der().ok())
            .map(|d| Zeroizing::new(d.as_bytes().to_vec()))
    };
}

/// A private key from PEM, as PKCS#8 DER.
pub(crate) fn pem_to_pkcs8(pem: &[u8]) -> SimResult<Zeroizing<Vec<u8>>> {
    let (label, der) = der::pem::decode_vec(pem).map_err(|_| invalid())?;
    let der = Zeroizing::new(der);
    match label {
        "PRIVATE KEY" => Ok(der),
        "RSA PRIVATE KEY" => {
            use rsa::pkcs1::DecodeRsaPrivateKey as _;
            let key = rsa::RsaPrivateKey::from_pkcs1_der(&der).map_err(|_| invalid())?;
            key.to_pkcs8_der()
                .map(|d| Zeroizing::new(d.as_bytes().to_vec()))
                .map_err(|_| invalid())
        }
        "EC PRIVATE KEY" => sec1_as!(p256::NistP256, &der)
            .or_else(|| sec1_as!(p384::NistP384, &der))
            .or_else(|| sec1_as!(p521::NistP521, &der))
            .or_else(|| sec1_as!(k256::Secp256k1, &der))
            .or_else(|| sec1_as!(bp256::BrainpoolP256r1, &der))
            .or_else(|| sec1_as!(bp384::BrainpoolP384r1, &der))
            .map_or_else(|| sec1_other(pem), Ok),
        _ => Err(invalid()),
    }
}

/// A SEC1 key of a curve without a RustCrypto crate (brainpoolP512r1), through OpenSSL.
#[cfg(feature = "sim-openssl")]
fn sec1_other(pem: &[u8]) -> SimResult<Zeroizing<Vec<u8>>> {
    super::openssl_keys::pem_to_pkcs8(pem)
}

/// Without OpenSSL, the simulator knows no other curve.
#[cfg(not(feature = "sim-openssl"))]
fn sec1_other(_pem: &[u8]) -> SimResult<Zeroizing<Vec<u8>>> {
    Err(invalid())
}
