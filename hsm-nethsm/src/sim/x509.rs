//! Certificates, CSRs and public keys in X.509 form for every simulator key, in pure Rust: the
//! x509-cert builders with the key's own signing (the same code that answers `/sign`), so one
//! path serves every key type, and the checks `/config/tls/*` makes on certificates it is given.

use der::asn1::BitString;
use der::{Decode as _, DecodePem as _, Encode as _};
use rsa::signature::Keypair;
use sha2::Digest as _;
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::ext::Extension;
use x509_cert::name::Name;
use x509_cert::spki::{
    AlgorithmIdentifierOwned, DynSignatureAlgorithmIdentifier, EncodePublicKey, ObjectIdentifier,
    SubjectPublicKeyInfoOwned, SubjectPublicKeyInfoRef,
};

use super::crypto::{SimError, SimResult, SimSecret};
use super::rng::SimRng;
use crate::protocol::SignMode;

// The algorithm and curve identifiers, from const-oid's database of the RFCs that define them.
use const_oid::db::rfc5912::{
    ECDSA_WITH_SHA_256 as ECDSA_SHA256, ECDSA_WITH_SHA_384 as ECDSA_SHA384,
    ECDSA_WITH_SHA_512 as ECDSA_SHA512, ID_EC_PUBLIC_KEY as EC_PUBLIC_KEY, RSA_ENCRYPTION,
    SECP_256_R_1 as P256, SECP_384_R_1 as P384, SECP_521_R_1 as P521,
    SHA_256_WITH_RSA_ENCRYPTION as RSA_SHA256, SHA_384_WITH_RSA_ENCRYPTION as RSA_SHA384,
    SHA_512_WITH_RSA_ENCRYPTION as RSA_SHA512,
};
use const_oid::db::rfc8410::ID_ED_25519 as ED25519;

fn fail(what: &'static str) -> impl Fn(&dyn std::fmt::Display) -> SimError {
    move |e| format!("{what}: {e}").into()
}

fn signing_failed(e: impl std::fmt::Display) -> SimError {
    format!("signing failed: {e}").into()
}

/// The digest the key signs certificates with: the one of the curve's size for ECDSA
/// (SHA-256, SHA-384, SHA-512), SHA-256 for RSA, none for Ed25519.
#[derive(Clone, Copy)]
enum Digest {
    None,
    Sha256,
    Sha384,
    Sha512,
}

fn digest_of(secret: &SimSecret) -> SimResult<Digest> {
    Ok(match secret {
        SimSecret::P256(_) | SimSecret::K256(_) | SimSecret::Bp256(_) | SimSecret::Rsa(_) => {
            Digest::Sha256
        }
        SimSecret::P384(_) | SimSecret::Bp384(_) => Digest::Sha384,
        SimSecret::P521(_) => Digest::Sha512,
        #[cfg(feature = "sim-openssl")]
        SimSecret::Bp512(_) => Digest::Sha512,
        SimSecret::Ed25519(_) => Digest::None,
        SimSecret::Generic(_) => return Err("A Generic key cannot sign".into()),
    })
}

/// The signature algorithm of the certificates and CSRs `secret` signs.
fn algorithm(secret: &SimSecret) -> SimResult<AlgorithmIdentifierOwned> {
    let oid = match (secret, digest_of(secret)?) {
        (SimSecret::Ed25519(_), _) => ED25519,
        (SimSecret::Rsa(_), _) => RSA_SHA256,
        (_, Digest::Sha384) => ECDSA_SHA384,
        (_, Digest::Sha512) => ECDSA_SHA512,
        _ => ECDSA_SHA256,
    };
    // RSA algorithm identifiers carry an explicit NULL; ECDSA and Ed25519 ones none.
    let parameters = matches!(secret, SimSecret::Rsa(_)).then(der::asn1::Any::null);
    Ok(AlgorithmIdentifierOwned { oid, parameters })
}

/// Signs `tbs` (the DER to be signed) as the algorithm of [`algorithm`] says.
fn sign(secret: &SimSecret, tbs: &[u8], rng: &SimRng) -> SimResult<Vec<u8>> {
    match (secret, digest_of(secret)?) {
        (SimSecret::Ed25519(_), _) => secret.sign(SignMode::EdDsa, tbs, rng),
        (SimSecret::Rsa(k), _) => k
            .sign(
                rsa::Pkcs1v15Sign::new::<sha2::Sha256>(),
                &sha2::Sha256::digest(tbs),
            )
            .map_err(signing_failed),
        (_, Digest::Sha256) => secret.sign(SignMode::Ecdsa, &sha2::Sha256::digest(tbs), rng),
        (_, Digest::Sha384) => secret.sign(SignMode::Ecdsa, &sha2::Sha384::digest(tbs), rng),
        (_, Digest::Sha512 | Digest::None) => {
            secret.sign(SignMode::Ecdsa, &sha2::Sha512::digest(tbs), rng)
        }
    }
}

/// The public key of `secret` as a SubjectPublicKeyInfo (DER).
pub(crate) fn public_key_der(secret: &SimSecret) -> SimResult<Vec<u8>> {
    let enc = fail("public key");
    let doc = match secret {
        SimSecret::P256(k) => k.verifying_key().to_public_key_der(),
        SimSecret::P384(k) => k.verifying_key().to_public_key_der(),
        SimSecret::P521(k) => k.verifying_key().to_public_key_der(),
        SimSecret::K256(k) => k.verifying_key().to_public_key_der(),
        SimSecret::Bp256(k) => k.verifying_key().to_public_key_der(),
        SimSecret::Bp384(k) => k.verifying_key().to_public_key_der(),
        SimSecret::Ed25519(k) => k.verifying_key().to_public_key_der(),
        SimSecret::Rsa(k) => k.to_public_key().to_public_key_der(),
        #[cfg(feature = "sim-openssl")]
        SimSecret::Bp512(k) => return super::openssl_keys::public_key_der(k),
        SimSecret::Generic(_) => return Err("a Generic key has no public key".into()),
    };
    doc.map(|d| d.as_bytes().to_vec()).map_err(|e| enc(&e))
}

/// A simulator key as the x509-cert builders want a signer: its public key and algorithm.
/// The signature itself is made by [`sign`] between `finalize` and `assemble`.
struct KeyRef {
    spki: SubjectPublicKeyInfoOwned,
    algorithm: AlgorithmIdentifierOwned,
}

/// A public key that encodes as itself.
#[derive(Clone)]
struct Spki(SubjectPublicKeyInfoOwned);

impl EncodePublicKey for Spki {
    fn to_public_key_der(&self) -> x509_cert::spki::Result<der::Document> {
        Ok(der::Document::encode_msg(&self.0)?)
    }
}

impl Keypair for KeyRef {
    type VerifyingKey = Spki;
    fn verifying_key(&self) -> Spki {
        Spki(self.spki.clone())
    }
}

impl DynSignatureAlgorithmIdentifier for KeyRef {
    fn signature_algorithm_identifier(&self) -> x509_cert::spki::Result<AlgorithmIdentifierOwned> {
        Ok(self.algorithm.clone())
    }
}

fn key_ref(secret: &SimSecret) -> SimResult<KeyRef> {
    let spki = SubjectPublicKeyInfoOwned::from_der(&public_key_der(secret)?)
        .map_err(|e| fail("public key")(&e))?;
    Ok(KeyRef {
        spki,
        algorithm: algorithm(secret)?,
    })
}

/// Finishes a builder: the DER to sign, signed by `secret` (drawing from `rng` what its
/// signature draws), assembled.
fn build<B: x509_cert::builder::Builder>(
    mut builder: B,
    secret: &SimSecret,
    rng: &SimRng,
) -> SimResult<B::Output> {
    let signer = key_ref(secret)?;
    let build_fail = fail("signing failed");
    let tbs = builder.finalize(&signer).map_err(|e| build_fail(&e))?;
    let signature = BitString::from_bytes(&sign(secret, &tbs, rng)?).map_err(|e| build_fail(&e))?;
    builder
        .assemble(signature, &signer)
        .map_err(|e| build_fail(&e))
}

/// A PEM CSR from `builder` (subject and extensions set), signed by `secret`.
pub(crate) fn csr_pem(
    builder: x509_cert::builder::RequestBuilder,
    secret: &SimSecret,
    rng: &SimRng,
) -> SimResult<String> {
    use der::EncodePem as _;
    build(builder, secret, rng)?
        .to_pem(der::pem::LineEnding::LF)
        .map_err(|e| fail("CSR")(&e))
}

/// A self-signed certificate: issuer = subject, and only a subject key identifier (an X.509 v3
/// certificate needs an extension; TLS stacks refuse v1 certificates).
struct SelfSigned(Name);

impl BuilderProfile for SelfSigned {
    fn get_issuer(&self, subject: &Name) -> Name {
        subject.clone()
    }
    fn get_subject(&self) -> Name {
        self.0.clone()
    }
    fn build_extensions(
        &self,
        spk: SubjectPublicKeyInfoRef<'_>,
        _issuer_spk: SubjectPublicKeyInfoRef<'_>,
        tbs: &x509_cert::TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        use x509_cert::ext::ToExtension as _;
        let ski = x509_cert::ext::pkix::SubjectKeyIdentifier::try_from(spk)?;
        Ok(vec![ski.to_extension(tbs.subject(), &[])?])
    }
}

/// A self-signed certificate for `secret` with subject `CN=common_name`, valid for ten
/// years from now, PEM.
pub(crate) fn self_signed_pem(
    secret: &SimSecret,
    common_name: &str,
    rng: &SimRng,
) -> SimResult<String> {
    use der::EncodePem as _;
    use std::str::FromStr as _;
    let bad = fail("certificate");
    let subject = Name::from_str(&format!("CN={common_name}")).map_err(|e| bad(&e))?;
    let validity =
        x509_cert::time::Validity::from_now(std::time::Duration::from_secs(3650 * 86_400))
            .map_err(|e| bad(&e))?;
    let serial = x509_cert::serial_number::SerialNumber::new(&[1]).map_err(|e| bad(&e))?;
    let spki = key_ref(secret)?.spki;
    let builder =
        x509_cert::builder::CertificateBuilder::new(SelfSigned(subject), serial, validity, spki)
            .map_err(|e| bad(&e))?;
    build(builder, secret, rng)?
        .to_pem(der::pem::LineEnding::LF)
        .map_err(|e| bad(&e))
}

/// The DER of a PEM certificate.
pub(crate) fn certificate_der(pem: &str) -> SimResult<Vec<u8>> {
    x509_cert::Certificate::from_pem(pem.as_bytes())
        .and_then(|c| c.to_der())
        .map_err(|e| fail("certificate")(&e))
}

/// Whether the certificate `cert_pem` holds the public key `spki_pem`; `None` when either is
/// malformed.
pub(crate) fn certificate_has_key(cert_pem: &str, spki_pem: &str) -> Option<bool> {
    let cert = x509_cert::Certificate::from_pem(cert_pem.as_bytes()).ok()?;
    let in_cert = cert
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .ok()?;
    let expected = SubjectPublicKeyInfoOwned::from_pem(spki_pem.as_bytes())
        .ok()?
        .to_der()
        .ok()?;
    Some(in_cert == expected)
}

/// Whether `ca_pem` (a CA certificate) signed `cert_pem`; `None` when either is malformed.
/// Checks the signatures the simulator's keys make and common CAs use: ECDSA on P-256, P-384
/// and P-521 with SHA-256/384/512, RSA PKCS#1 v1.5 with SHA-256/384/512, Ed25519; a signature
/// of another kind counts as not signed by this CA.
pub(crate) fn signed_by(cert_pem: &str, ca_pem: &str) -> Option<bool> {
    let cert = x509_cert::Certificate::from_pem(cert_pem.as_bytes()).ok()?;
    let ca = x509_cert::Certificate::from_pem(ca_pem.as_bytes()).ok()?;
    let tbs = cert.tbs_certificate().to_der().ok()?;
    let signature = cert.signature().as_bytes()?;
    let key = ca.tbs_certificate().subject_public_key_info();
    Some(verify(key, &cert.signature_algorithm().oid, &tbs, signature).unwrap_or(false))
}

fn verify(
    key: &SubjectPublicKeyInfoOwned,
    algorithm: &ObjectIdentifier,
    tbs: &[u8],
    signature: &[u8],
) -> Option<bool> {
    use ecdsa::signature::hazmat::PrehashVerifier as _;
    use ed25519_dalek::Verifier as _;
    let point = key.subject_public_key.as_bytes()?;
    let digest: Vec<u8> = match *algorithm {
        ECDSA_SHA256 | RSA_SHA256 => sha2::Sha256::digest(tbs).to_vec(),
        ECDSA_SHA384 | RSA_SHA384 => sha2::Sha384::digest(tbs).to_vec(),
        ECDSA_SHA512 | RSA_SHA512 => sha2::Sha512::digest(tbs).to_vec(),
        ED25519 => tbs.to_vec(),
        _ => return None,
    };
    match (key.algorithm.oid, *algorithm) {
        (ED25519, ED25519) => {
            let point: [u8; 32] = point.try_into().ok()?;
            let signature = ed25519_dalek::Signature::from_slice(signature).ok()?;
            let key = ed25519_dalek::VerifyingKey::from_bytes(&point).ok()?;
            Some(key.verify(tbs, &signature).is_ok())
        }
        (RSA_ENCRYPTION, RSA_SHA256 | RSA_SHA384 | RSA_SHA512) => {
            use rsa::pkcs8::DecodePublicKey as _;
            let key = rsa::RsaPublicKey::from_public_key_der(&key.to_der().ok()?).ok()?;
            let scheme = match *algorithm {
                RSA_SHA256 => rsa::Pkcs1v15Sign::new::<sha2::Sha256>(),
                RSA_SHA384 => rsa::Pkcs1v15Sign::new::<sha2::Sha384>(),
                _ => rsa::Pkcs1v15Sign::new::<sha2::Sha512>(),
            };
            Some(key.verify(scheme, &digest, signature).is_ok())
        }
        (EC_PUBLIC_KEY, ECDSA_SHA256 | ECDSA_SHA384 | ECDSA_SHA512) => {
            let curve: ObjectIdentifier = key.algorithm.parameters.as_ref()?.decode_as().ok()?;
            Some(match curve {
                P256 => {
                    let k = p256::ecdsa::VerifyingKey::from_sec1_bytes(point).ok()?;
                    let s = p256::ecdsa::Signature::from_der(signature).ok()?;
                    k.verify_prehash(&digest, &s).is_ok()
                }
                P384 => {
                    let k = p384::ecdsa::VerifyingKey::from_sec1_bytes(point).ok()?;
                    let s = p384::ecdsa::Signature::from_der(signature).ok()?;
                    k.verify_prehash(&digest, &s).is_ok()
                }
                P521 => {
                    let k = p521::ecdsa::VerifyingKey::from_sec1_bytes(point).ok()?;
                    let s = p521::ecdsa::Signature::from_der(signature).ok()?;
                    k.verify_prehash(&digest, &s).is_ok()
                }
                _ => return None,
            })
        }
        _ => None,
    }
}

/// The key as PKCS#8 DER for the TLS stack (rustls serves P-256, P-384, Ed25519 and RSA
/// keys); an error for the others.
pub(crate) fn tls_pkcs8(secret: &SimSecret) -> SimResult<zeroize::Zeroizing<Vec<u8>>> {
    use rsa::pkcs8::EncodePrivateKey as _;
    let doc = match secret {
        SimSecret::P256(k) => k.to_pkcs8_der(),
        SimSecret::P384(k) => k.to_pkcs8_der(),
        SimSecret::Ed25519(k) => k.to_pkcs8_der(),
        SimSecret::Rsa(k) => k.to_pkcs8_der(),
        _ => return Err("the TLS stack cannot serve this key type".into()),
    };
    doc.map(|d| zeroize::Zeroizing::new(d.as_bytes().to_vec()))
        .map_err(|e| fail("PKCS#8")(&e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::KeyType;

    /// Every key type the TLS stack serves: a self-signed certificate for a new key is
    /// accepted by rustls together with the key's PKCS#8, and holds that key.
    #[test]
    fn generated_tls_identities_are_served() {
        for (key_type, length) in [
            (KeyType::EcP256, None),
            (KeyType::EcP384, None),
            (KeyType::Curve25519, None),
            (KeyType::Rsa, Some(2048)),
        ] {
            let rng = SimRng::default();
            let key = SimSecret::generate(key_type, length, &rng).unwrap();
            let pem = self_signed_pem(&key, "NetHSM simulator", &rng).unwrap();
            assert!(signed_by(&pem, &pem).unwrap(), "{key_type:?}");
            let der = tls_pkcs8(&key).unwrap();
            let certificate = crate::sim::tls::Certificate::from_parts(&pem, der)
                .unwrap_or_else(|e| panic!("{key_type:?}: {e}"));
            crate::sim::tls::Served::new(certificate)
                .unwrap_or_else(|e| panic!("{key_type:?}: {e:?}"));
        }
    }
}
