//! What the RustCrypto crates cannot do for the simulator, done with OpenSSL: brainpoolP512r1
//! keys (generate, import, public point, ECDSA), CSRs and certificates for the curves that
//! have no x509 signer here, and reading PEM private keys of any kind (multipart import).

use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, BigNumContext};
use openssl::ec::{EcGroup, EcKey, EcPoint, PointConversionForm};
use openssl::ecdsa::EcdsaSig;
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::x509::{X509, X509Builder, X509Name, X509NameBuilder};
use zeroize::Zeroizing;

use super::crypto::{SimResult, SimSecret};
use crate::client::model::DistinguishedName;

fn fail(e: openssl::error::ErrorStack) -> String {
    format!("OpenSSL: {e}")
}

/// The OpenSSL curve of a curve name hsm-core knows.
fn group(curve: hsm_core::Curve) -> SimResult<EcGroup> {
    let nid = match curve {
        hsm_core::Curve::P256 => Nid::X9_62_PRIME256V1,
        hsm_core::Curve::P384 => Nid::SECP384R1,
        hsm_core::Curve::P521 => Nid::SECP521R1,
        hsm_core::Curve::Secp256k1 => Nid::SECP256K1,
        hsm_core::Curve::BrainpoolP256r1 => Nid::BRAINPOOL_P256R1,
        hsm_core::Curve::BrainpoolP384r1 => Nid::BRAINPOOL_P384R1,
        hsm_core::Curve::BrainpoolP512r1 => Nid::BRAINPOOL_P512R1,
        _ => return Err("unsupported curve".into()),
    };
    EcGroup::from_curve_name(nid).map_err(fail)
}

/// A new brainpoolP512r1 key.
pub(crate) fn generate_bp512() -> SimResult<EcKey<Private>> {
    let group = group(hsm_core::Curve::BrainpoolP512r1)?;
    EcKey::generate(&group).map_err(fail)
}

/// The key of `curve` with private scalar `d` (big-endian).
pub(crate) fn ec_from_scalar(curve: hsm_core::Curve, d: &[u8]) -> SimResult<EcKey<Private>> {
    let group = group(curve)?;
    let d = BigNum::from_slice(d).map_err(fail)?;
    let mut ctx = BigNumContext::new().map_err(fail)?;
    let mut point = EcPoint::new(&group).map_err(fail)?;
    point.mul_generator2(&group, &d, &mut ctx).map_err(fail)?;
    let key = EcKey::from_private_components(&group, &d, &point).map_err(fail)?;
    key.check_key()
        .map_err(|_| "invalid key: the scalar is not valid for the curve".to_owned())?;
    Ok(key)
}

/// The uncompressed point `04||X||Y`.
pub(crate) fn ec_point(key: &EcKey<Private>) -> SimResult<Vec<u8>> {
    let mut ctx = BigNumContext::new().map_err(fail)?;
    key.public_key()
        .to_bytes(key.group(), PointConversionForm::UNCOMPRESSED, &mut ctx)
        .map_err(fail)
}

/// The private scalar, `len` bytes big-endian.
pub(crate) fn ec_scalar(key: &EcKey<Private>, len: usize) -> SimResult<Zeroizing<Vec<u8>>> {
    let len = i32::try_from(len).map_err(|_| "length".to_owned())?;
    key.private_key()
        .to_vec_padded(len)
        .map(Zeroizing::new)
        .map_err(fail)
}

/// ECDSA over a digest, DER as the device answers.
pub(crate) fn ecdsa_sign(key: &EcKey<Private>, digest: &[u8]) -> SimResult<Vec<u8>> {
    EcdsaSig::sign(digest, key)
        .and_then(|s| s.to_der())
        .map_err(fail)
}

/// A private key from PEM (`RSA PRIVATE KEY`, `EC PRIVATE KEY` or PKCS#8 `PRIVATE KEY`), as
/// PKCS#8 DER.
pub(crate) fn pem_to_pkcs8(pem: &[u8]) -> SimResult<Zeroizing<Vec<u8>>> {
    let key = PKey::private_key_from_pem(pem).map_err(|_| "Invalid PEM private key".to_owned())?;
    key.private_key_to_pkcs8().map(Zeroizing::new).map_err(fail)
}

/// The key as an OpenSSL key, for CSRs and certificates.
pub(crate) fn pkey(secret: &SimSecret) -> SimResult<PKey<Private>> {
    use hsm_core::Curve;
    let ec = |curve: Curve| -> SimResult<PKey<Private>> {
        let data = secret.private_data()?.data.ok_or("no scalar")?;
        PKey::from_ec_key(ec_from_scalar(curve, &data)?).map_err(fail)
    };
    match secret {
        SimSecret::P256(_) => ec(Curve::P256),
        SimSecret::P384(_) => ec(Curve::P384),
        SimSecret::P521(_) => ec(Curve::P521),
        SimSecret::K256(_) => ec(Curve::Secp256k1),
        SimSecret::Bp256(_) => ec(Curve::BrainpoolP256r1),
        SimSecret::Bp384(_) => ec(Curve::BrainpoolP384r1),
        SimSecret::Bp512(k) => PKey::from_ec_key(k.clone()).map_err(fail),
        SimSecret::Ed25519(k) => {
            PKey::private_key_from_raw_bytes(&k.to_bytes(), openssl::pkey::Id::ED25519)
                .map_err(fail)
        }
        SimSecret::Rsa(k) => {
            use rsa::pkcs8::EncodePrivateKey as _;
            let der = k.to_pkcs8_der().map_err(|e| format!("PKCS#8: {e}"))?;
            PKey::private_key_from_pkcs8(der.as_bytes()).map_err(fail)
        }
        SimSecret::Generic(_) => Err("a Generic key cannot sign".into()),
    }
}

/// The digest to sign certificates with: none for Ed25519, SHA-256 otherwise.
fn digest_for(key: &PKey<Private>) -> MessageDigest {
    if key.id() == openssl::pkey::Id::ED25519 {
        MessageDigest::null()
    } else {
        MessageDigest::sha256()
    }
}

/// The subject of a CSR or certificate.
pub(crate) fn name(dn: &DistinguishedName) -> SimResult<X509Name> {
    let mut name = X509NameBuilder::new().map_err(fail)?;
    for (nid, value) in [
        (Nid::COUNTRYNAME, &dn.country_name),
        (Nid::STATEORPROVINCENAME, &dn.state_or_province_name),
        (Nid::LOCALITYNAME, &dn.locality_name),
        (Nid::ORGANIZATIONNAME, &dn.organization_name),
        (Nid::ORGANIZATIONALUNITNAME, &dn.organizational_unit_name),
    ] {
        if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
            name.append_entry_by_nid(nid, v).map_err(fail)?;
        }
    }
    name.append_entry_by_nid(Nid::COMMONNAME, &dn.common_name)
        .map_err(fail)?;
    if let Some(v) = dn.email_address.as_deref().filter(|v| !v.is_empty()) {
        name.append_entry_by_nid(Nid::PKCS9_EMAILADDRESS, v)
            .map_err(fail)?;
    }
    Ok(name.build())
}

/// A self-signed certificate for `key`, valid for ten years, PEM.
pub(crate) fn self_signed_pem(key: &PKey<Private>, common_name: &str) -> SimResult<String> {
    let dn = DistinguishedName {
        common_name: common_name.to_owned(),
        ..DistinguishedName::default()
    };
    let subject = name(&dn)?;
    let mut builder = X509Builder::new().map_err(fail)?;
    builder.set_version(2).map_err(fail)?;
    let serial = BigNum::from_u32(1)
        .and_then(|n| n.to_asn1_integer())
        .map_err(fail)?;
    builder.set_serial_number(&serial).map_err(fail)?;
    builder.set_subject_name(&subject).map_err(fail)?;
    builder.set_issuer_name(&subject).map_err(fail)?;
    builder.set_pubkey(key).map_err(fail)?;
    let not_before = Asn1Time::days_from_now(0).map_err(fail)?;
    let not_after = Asn1Time::days_from_now(3650).map_err(fail)?;
    builder.set_not_before(&not_before).map_err(fail)?;
    builder.set_not_after(&not_after).map_err(fail)?;
    builder.sign(key, digest_for(key)).map_err(fail)?;
    let pem = builder.build().to_pem().map_err(fail)?;
    String::from_utf8(pem).map_err(|_| "PEM".into())
}

/// Whether the certificate `cert_pem` holds the public key `spki_pem`; `None` when either is
/// malformed.
pub(crate) fn certificate_has_key(cert_pem: &str, spki_pem: &str) -> Option<bool> {
    let cert = X509::from_pem(cert_pem.as_bytes()).ok()?;
    let in_cert = cert.public_key().ok()?.public_key_to_der().ok()?;
    let expected = PKey::public_key_from_pem(spki_pem.as_bytes())
        .ok()?
        .public_key_to_der()
        .ok()?;
    Some(in_cert == expected)
}

/// Whether `ca_pem` (a CA certificate) signed `cert_pem`; `None` when either is malformed.
pub(crate) fn signed_by(cert_pem: &str, ca_pem: &str) -> Option<bool> {
    let cert = X509::from_pem(cert_pem.as_bytes()).ok()?;
    let ca = X509::from_pem(ca_pem.as_bytes()).ok()?;
    let ca_key = ca.public_key().ok()?;
    Some(cert.verify(&ca_key).unwrap_or(false))
}

/// A PEM CSR for `dn` with SANs, signed by `key` (SHA-256, or pure Ed25519).
pub(crate) fn csr_pem(
    key: &PKey<Private>,
    dn: &DistinguishedName,
    sans: &[String],
) -> SimResult<String> {
    let subject = name(dn)?;
    let mut builder = openssl::x509::X509ReqBuilder::new().map_err(fail)?;
    builder.set_subject_name(&subject).map_err(fail)?;
    builder.set_pubkey(key).map_err(fail)?;
    if !sans.is_empty() {
        let mut san = openssl::x509::extension::SubjectAlternativeName::new();
        for name in sans {
            match name.strip_prefix("IP:") {
                Some(ip) => san.ip(ip),
                None => san.dns(name),
            };
        }
        let context = builder.x509v3_context(None);
        let extension = san.build(&context).map_err(fail)?;
        let mut stack = openssl::stack::Stack::new().map_err(fail)?;
        stack.push(extension).map_err(fail)?;
        builder.add_extensions(&stack).map_err(fail)?;
    }
    builder.sign(key, digest_for(key)).map_err(fail)?;
    let pem = builder.build().to_pem().map_err(fail)?;
    String::from_utf8(pem).map_err(|_| "PEM".into())
}
