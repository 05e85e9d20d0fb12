//! Decoding PKCS#8 private keys into raw parts for import.

use std::fmt;

use der::Decode as _;
use der::asn1::{ObjectIdentifier, OctetStringRef};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::key_spec::{Curve, KeySpec};
use crate::public_key::{OID_EC, OID_ED25519, OID_RSA};

const OP: &str = "decode private key";

/// A private key to import, as PKCS#8 `PrivateKeyInfo` DER; zeroized when dropped.
///
/// `Debug` never shows the key material.
#[derive(Clone)]
pub struct PrivateKeyDer(Zeroizing<Vec<u8>>);

impl PrivateKeyDer {
    /// Wraps PKCS#8 DER. The bytes are parsed by the backend that imports them.
    #[must_use]
    pub fn new(pkcs8_der: Zeroizing<Vec<u8>>) -> Self {
        Self(pkcs8_der)
    }

    /// The PKCS#8 DER bytes.
    #[must_use]
    pub fn as_der(&self) -> &[u8] {
        &self.0
    }

    /// Decodes the key into its type and raw parts, for backends that import components.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) if the DER is not a PKCS#8 key
    /// of a supported type.
    pub fn decode(&self) -> Result<PrivateKeyParts> {
        decode(&self.0)
    }
}

impl fmt::Debug for PrivateKeyDer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PrivateKeyDer([REDACTED])")
    }
}

/// A decoded private key's raw parts; every buffer is zeroized when dropped.
#[derive(Clone)]
#[non_exhaustive]
pub enum PrivateKeyParts {
    /// An RSA key by its components (big-endian, no leading zeros).
    Rsa {
        /// Key size.
        spec: KeySpec,
        /// Modulus n.
        modulus: Vec<u8>,
        /// Public exponent e.
        public_exponent: Vec<u8>,
        /// Private exponent d.
        private_exponent: Zeroizing<Vec<u8>>,
        /// First prime p.
        prime_p: Zeroizing<Vec<u8>>,
        /// Second prime q.
        prime_q: Zeroizing<Vec<u8>>,
    },
    /// An EC key: the curve and the private scalar (big-endian, [`Curve::field_len`] bytes).
    Ec {
        /// The curve.
        curve: Curve,
        /// The private scalar.
        scalar: Zeroizing<Vec<u8>>,
    },
    /// An Ed25519 key by its 32-byte seed.
    Ed25519 {
        /// The RFC 8032 private key (seed).
        seed: Zeroizing<Vec<u8>>,
    },
}

impl PrivateKeyParts {
    /// The spec of the key.
    #[must_use]
    pub fn spec(&self) -> KeySpec {
        match self {
            Self::Rsa { spec, .. } => *spec,
            Self::Ec { curve, .. } => KeySpec::Ec(*curve),
            Self::Ed25519 { .. } => KeySpec::Ed25519,
        }
    }
}

impl fmt::Debug for PrivateKeyParts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PrivateKeyParts({}, [REDACTED])", self.spec())
    }
}

fn bad(message: &'static str) -> Error {
    Error::invalid_input(OP, message)
}

pub(crate) fn decode(pkcs8_der: &[u8]) -> Result<PrivateKeyParts> {
    let info = pkcs8::PrivateKeyInfoRef::from_der(pkcs8_der)
        .map_err(|e| bad("not a PKCS#8 PrivateKeyInfo").with_source(e))?;
    let body = info.private_key.as_bytes();
    match info.algorithm.oid {
        OID_RSA => {
            let rsa = pkcs1::RsaPrivateKeyOwned::from_der(body)
                .map_err(|e| bad("not a PKCS#1 RSAPrivateKey").with_source(e))?;
            let modulus = rsa.modulus.as_bytes().to_vec();
            let bits =
                modulus.len() * 8 - modulus.first().map_or(8, |b| b.leading_zeros() as usize);
            let spec = KeySpec::rsa(bits).ok_or_else(|| {
                Error::unsupported(OP, format!("RSA keys of {bits} bits are not supported"))
            })?;
            Ok(PrivateKeyParts::Rsa {
                spec,
                modulus,
                public_exponent: rsa.public_exponent.as_bytes().to_vec(),
                private_exponent: Zeroizing::new(rsa.private_exponent.as_bytes().to_vec()),
                prime_p: Zeroizing::new(rsa.prime1.as_bytes().to_vec()),
                prime_q: Zeroizing::new(rsa.prime2.as_bytes().to_vec()),
            })
        }
        OID_EC => {
            let params = info
                .algorithm
                .parameters
                .ok_or_else(|| bad("EC key without curve parameters"))?;
            let oid: ObjectIdentifier = params
                .decode_as()
                .map_err(|e| bad("EC parameters are not a named curve").with_source(e))?;
            let curve = Curve::from_oid(&oid.to_string())
                .ok_or_else(|| Error::unsupported(OP, format!("unsupported curve {oid}")))?;
            let ec = sec1::EcPrivateKey::from_der(body)
                .map_err(|e| bad("not a SEC1 ECPrivateKey").with_source(e))?;
            let d = ec.private_key;
            let n = curve.field_len();
            if d.is_empty() || d.len() > n {
                return Err(bad("the private scalar has the wrong length for the curve"));
            }
            let mut scalar = Zeroizing::new(vec![0u8; n]);
            if let Some(tail) = scalar.get_mut(n - d.len()..) {
                tail.copy_from_slice(d);
            }
            Ok(PrivateKeyParts::Ec { curve, scalar })
        }
        OID_ED25519 => {
            let seed = <&OctetStringRef>::from_der(body)
                .map_err(|e| bad("Ed25519 key is not an OCTET STRING").with_source(e))?;
            if seed.as_bytes().len() != 32 {
                return Err(bad("an Ed25519 private key is 32 bytes"));
            }
            Ok(PrivateKeyParts::Ed25519 {
                seed: Zeroizing::new(seed.as_bytes().to_vec()),
            })
        }
        other => Err(Error::unsupported(
            OP,
            format!("unsupported key algorithm {other}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use pkcs8::EncodePrivateKey as _;
    use zeroize::Zeroizing;

    use super::*;

    #[test]
    fn decodes_p256_and_ed25519() {
        let sk = p256::SecretKey::from_slice(&[0x11; 32]).expect("scalar");
        let der = sk.to_pkcs8_der().expect("pkcs8");
        let key = PrivateKeyDer::new(zeroize::Zeroizing::new(der.as_bytes().to_vec()));
        match key.decode().expect("decodes") {
            PrivateKeyParts::Ec { curve, scalar } => {
                assert_eq!(curve, Curve::P256);
                assert_eq!(scalar.as_slice(), &[0x11; 32]);
            }
            other => panic!("wrong parts {other:?}"),
        }
        let ed = ed25519_dalek::SigningKey::from_bytes(&[0x22; 32]);
        let der = ed.to_pkcs8_der().expect("pkcs8");
        let key = PrivateKeyDer::new(zeroize::Zeroizing::new(der.as_bytes().to_vec()));
        match key.decode().expect("decodes") {
            PrivateKeyParts::Ed25519 { seed } => assert_eq!(seed.as_slice(), &[0x22; 32]),
            other => panic!("wrong parts {other:?}"),
        }
        let garbage = PrivateKeyDer::new(zeroize::Zeroizing::new(vec![0x30, 0x00]));
        assert!(garbage.decode().is_err());
    }

    #[test]
    fn private_key_debug_is_redacted() {
        let k = PrivateKeyDer::new(Zeroizing::new(vec![0x42; 16]));
        let s = format!("{k:?}");
        assert!(!s.contains("42"), "{s}");
        assert!(s.contains("REDACTED"));
    }
}
