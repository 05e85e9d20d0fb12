//! Public keys as X.509 `SubjectPublicKeyInfo` (SPKI), DER and PEM in and out.

use std::fmt;

use der::asn1::{BitString, ObjectIdentifier};
use der::{Decode as _, Encode as _};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

use crate::error::{Error, Result};
use crate::key_spec::{Curve, KeySpec, KeyType};

/// `rsaEncryption`.
pub(crate) const OID_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
/// `id-ecPublicKey`.
pub(crate) const OID_EC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// `id-Ed25519`.
pub(crate) const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

const OP: &str = "public key";

/// A public key, held as SPKI DER (the format every tool accepts) and parsed once.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PublicKey {
    der: Vec<u8>,
    key_type: KeyType,
    spec: Option<KeySpec>,
    /// The SEC1 point (EC), the 32 raw bytes (Ed25519) or the PKCS#1 `RSAPublicKey` (RSA).
    key_bytes: Vec<u8>,
}

impl PublicKey {
    /// Parses SPKI DER.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) if the DER is not an SPKI of an
    /// RSA, EC (named curve) or Ed25519 key.
    pub fn from_der(der: &[u8]) -> Result<Self> {
        let spki = SubjectPublicKeyInfoOwned::from_der(der)
            .map_err(|e| Error::invalid_input(OP, "not a SubjectPublicKeyInfo").with_source(e))?;
        let key_bytes = spki
            .subject_public_key
            .as_bytes()
            .ok_or_else(|| Error::invalid_input(OP, "the key bit string has unused bits"))?
            .to_vec();
        let (key_type, spec) = match spki.algorithm.oid {
            OID_RSA => {
                let rsa = pkcs1::RsaPublicKeyOwned::from_der(&key_bytes).map_err(|e| {
                    Error::invalid_input(OP, "not a PKCS#1 RSAPublicKey").with_source(e)
                })?;
                let bits = bit_len(rsa.modulus.as_bytes());
                (KeyType::Rsa, KeySpec::rsa(bits))
            }
            OID_EC => {
                let params =
                    spki.algorithm.parameters.as_ref().ok_or_else(|| {
                        Error::invalid_input(OP, "EC key without curve parameters")
                    })?;
                let oid: ObjectIdentifier = params.decode_as().map_err(|e| {
                    Error::invalid_input(OP, "EC parameters are not a named curve").with_source(e)
                })?;
                let curve = Curve::from_oid(&oid.to_string())
                    .ok_or_else(|| Error::unsupported(OP, format!("unsupported curve {oid}")))?;
                check_ec_point(curve, &key_bytes)?;
                (KeyType::Ec, Some(KeySpec::Ec(curve)))
            }
            OID_ED25519 => {
                if key_bytes.len() != 32 {
                    return Err(Error::invalid_input(OP, "an Ed25519 key is 32 bytes"));
                }
                (KeyType::Ed25519, Some(KeySpec::Ed25519))
            }
            other => {
                return Err(Error::unsupported(
                    OP,
                    format!("unsupported key algorithm {other}"),
                ));
            }
        };
        Ok(Self {
            der: der.to_vec(),
            key_type,
            spec,
            key_bytes,
        })
    }

    /// Parses a PEM `PUBLIC KEY` block.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) if the text is not such a block
    /// or its content is not a supported SPKI.
    pub fn from_pem(pem: &str) -> Result<Self> {
        let (label, der) = der::pem::decode_vec(pem.trim().as_bytes())
            .map_err(|e| Error::invalid_input(OP, "not PEM").with_source(e))?;
        if label != "PUBLIC KEY" {
            return Err(Error::invalid_input(
                OP,
                format!("expected a PUBLIC KEY PEM block, got {label}"),
            ));
        }
        Self::from_der(&der)
    }

    /// Builds the SPKI of an EC key from its curve and SEC1 point (`04 || X || Y`, or compressed).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) if the point has the wrong
    /// length or format for the curve.
    pub fn from_ec_point(curve: Curve, point: &[u8]) -> Result<Self> {
        check_ec_point(curve, point)?;
        let curve_oid = ObjectIdentifier::new(curve.oid())
            .map_err(|e| Error::invalid_input(OP, "curve OID").with_source(e))?;
        let params = der::Any::encode_from(&curve_oid)
            .map_err(|e| Error::invalid_input(OP, "curve OID").with_source(e))?;
        Self::from_parts(OID_EC, Some(params), point)
    }

    /// Builds the SPKI of an RSA key from its modulus and public exponent (big-endian).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) if either is empty or zero.
    pub fn from_rsa_components(modulus: &[u8], public_exponent: &[u8]) -> Result<Self> {
        let modulus = strip_leading_zeros(modulus);
        let exponent = strip_leading_zeros(public_exponent);
        if modulus.is_empty() || exponent.is_empty() {
            return Err(Error::invalid_input(OP, "empty RSA modulus or exponent"));
        }
        let rsa = pkcs1::RsaPublicKeyRef {
            modulus: der::asn1::UintRef::new(modulus)
                .map_err(|e| Error::invalid_input(OP, "RSA modulus").with_source(e))?,
            public_exponent: der::asn1::UintRef::new(exponent)
                .map_err(|e| Error::invalid_input(OP, "RSA exponent").with_source(e))?,
        };
        let body = rsa
            .to_der()
            .map_err(|e| Error::invalid_input(OP, "RSA key encoding").with_source(e))?;
        Self::from_parts(OID_RSA, Some(der::Any::null()), &body)
    }

    /// Builds the SPKI of an Ed25519 key from its 32 raw bytes.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) unless `raw` is 32 bytes.
    pub fn from_ed25519(raw: &[u8]) -> Result<Self> {
        if raw.len() != 32 {
            return Err(Error::invalid_input(OP, "an Ed25519 key is 32 bytes"));
        }
        Self::from_parts(OID_ED25519, None, raw)
    }

    fn from_parts(oid: ObjectIdentifier, parameters: Option<der::Any>, key: &[u8]) -> Result<Self> {
        let spki = SubjectPublicKeyInfoOwned {
            algorithm: AlgorithmIdentifierOwned { oid, parameters },
            subject_public_key: BitString::from_bytes(key)
                .map_err(|e| Error::invalid_input(OP, "key bit string").with_source(e))?,
        };
        let der = spki
            .to_der()
            .map_err(|e| Error::invalid_input(OP, "SPKI encoding").with_source(e))?;
        Self::from_der(&der)
    }

    /// The SPKI DER.
    #[must_use]
    pub fn as_der(&self) -> &[u8] {
        &self.der
    }

    /// The SPKI DER, owned.
    #[must_use]
    pub fn to_der(&self) -> Vec<u8> {
        self.der.clone()
    }

    /// The PEM `PUBLIC KEY` block, with LF line endings.
    #[must_use]
    pub fn to_pem(&self) -> String {
        // Encoding bytes we already hold as PEM cannot fail; an empty string is the impossible case.
        der::pem::encode_string("PUBLIC KEY", der::pem::LineEnding::LF, &self.der)
            .unwrap_or_default()
    }

    /// The key's family.
    #[must_use]
    pub fn key_type(&self) -> KeyType {
        self.key_type
    }

    /// The key's spec; `None` for RSA keys of a size [`KeySpec`] does not list.
    #[must_use]
    pub fn spec(&self) -> Option<KeySpec> {
        self.spec
    }

    /// The curve, for EC keys.
    #[must_use]
    pub fn curve(&self) -> Option<Curve> {
        self.spec.and_then(KeySpec::curve)
    }

    /// The SEC1 point, for EC keys.
    #[must_use]
    pub fn ec_point(&self) -> Option<&[u8]> {
        (self.key_type == KeyType::Ec).then_some(self.key_bytes.as_slice())
    }

    /// The 32 raw key bytes, for Ed25519 keys.
    #[must_use]
    pub fn ed25519_bytes(&self) -> Option<&[u8]> {
        (self.key_type == KeyType::Ed25519).then_some(self.key_bytes.as_slice())
    }

    /// The modulus and public exponent (big-endian, no leading zeros), for RSA keys.
    #[must_use]
    pub fn rsa_components(&self) -> Option<(Vec<u8>, Vec<u8>)> {
        if self.key_type != KeyType::Rsa {
            return None;
        }
        let rsa = pkcs1::RsaPublicKeyOwned::from_der(&self.key_bytes).ok()?;
        Some((
            rsa.modulus.as_bytes().to_vec(),
            rsa.public_exponent.as_bytes().to_vec(),
        ))
    }

    /// The RSA modulus length in bits, for RSA keys.
    #[must_use]
    pub fn rsa_bits(&self) -> Option<usize> {
        self.rsa_components().map(|(n, _)| bit_len(&n))
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("PublicKey");
        let _ = d.field("type", &self.key_type).field("spec", &self.spec);
        d.finish_non_exhaustive()
    }
}

fn strip_leading_zeros(b: &[u8]) -> &[u8] {
    let start = b.iter().position(|&x| x != 0).unwrap_or(b.len());
    b.get(start..).unwrap_or_default()
}

fn bit_len(be: &[u8]) -> usize {
    let be = strip_leading_zeros(be);
    match be.first() {
        Some(&first) => be.len() * 8 - first.leading_zeros() as usize,
        None => 0,
    }
}

fn check_ec_point(curve: Curve, point: &[u8]) -> Result<()> {
    let n = curve.field_len();
    let ok = match point.first() {
        Some(0x04) => point.len() == 1 + 2 * n,
        Some(0x02 | 0x03) => point.len() == 1 + n,
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(Error::invalid_input(
            OP,
            format!(
                "a {curve} point is 04||X||Y ({} bytes) or compressed ({} bytes); got {} bytes",
                1 + 2 * n,
                1 + n,
                point.len()
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spki::EncodePublicKey as _;

    #[test]
    fn ec_point_round_trip_matches_rustcrypto() {
        let sk = p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).expect("valid scalar");
        let vk = sk.verifying_key();
        let point = vk.to_sec1_point(false);
        let ours = PublicKey::from_ec_point(Curve::P256, point.as_bytes()).expect("builds");
        let theirs = vk.to_public_key_der().expect("encodes");
        assert_eq!(ours.as_der(), theirs.as_bytes());
        assert_eq!(ours.spec(), Some(KeySpec::Ec(Curve::P256)));
        assert_eq!(ours.ec_point(), Some(point.as_bytes()));
        let pem = ours.to_pem();
        assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
        assert_eq!(PublicKey::from_pem(&pem).expect("parses"), ours);
    }

    #[test]
    fn rejects_bad_points_and_garbage() {
        assert!(PublicKey::from_ec_point(Curve::P256, &[4u8; 64]).is_err());
        assert!(PublicKey::from_ec_point(Curve::P384, &[5u8; 97]).is_err());
        assert!(PublicKey::from_der(&[0x30, 0x03, 0x02, 0x01]).is_err());
        assert!(
            PublicKey::from_pem("-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----")
                .is_err()
        );
        assert!(PublicKey::from_ed25519(&[1u8; 31]).is_err());
    }

    #[test]
    fn rsa_components_round_trip() {
        let mut modulus = vec![0xC5u8; 256];
        modulus[255] = 0x01;
        let pk = PublicKey::from_rsa_components(&modulus, &[1, 0, 1]).expect("builds");
        assert_eq!(pk.spec(), Some(KeySpec::Rsa2048));
        assert_eq!(pk.rsa_bits(), Some(2048));
        let (n, e) = pk.rsa_components().expect("rsa");
        assert_eq!(n, modulus);
        assert_eq!(e, vec![1, 0, 1]);
    }

    #[test]
    fn ed25519_matches_dalek() {
        let sk = ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]);
        let vk = sk.verifying_key();
        let ours = PublicKey::from_ed25519(vk.as_bytes()).expect("builds");
        let theirs = vk.to_public_key_der().expect("encodes");
        assert_eq!(ours.as_der(), theirs.as_bytes());
    }
}
