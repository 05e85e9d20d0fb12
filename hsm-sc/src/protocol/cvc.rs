//! Card-verifiable certificates (BSI TR-03110) as the SmartCard-HSM uses them: the device
//! certificates in EF 2F02 and the authenticated requests GENERATE ASYMMETRIC KEY PAIR returns.
//! Everything is found by tag, never by offset. Also: the public key of an X.509 certificate.

use hsm_core::{Curve, Error, ErrorKind, PublicKey, Result};

use crate::protocol::curves;
use crate::protocol::tlv::{self, Tlv};

const OP: &str = "sc-hsm.cvc";

/// DER of the TR-03110 OID prefix `0.4.0.127.0.7.2.2.2` (id-TA) without the tag and length.
pub const ID_TA: [u8; 9] = [0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x02, 0x00];
/// `id-TA-ECDSA-SHA-256` (OID content bytes).
pub const ID_TA_ECDSA_SHA256: [u8; 10] =
    [0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x02, 0x02, 0x03];
/// `id-TA-RSA-v1-5-SHA-256` (OID content bytes).
pub const ID_TA_RSA_V15_SHA256: [u8; 10] =
    [0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x02, 0x01, 0x02];

/// The public key inside a CV certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CvcPublicKey {
    /// An EC key.
    Ec {
        /// The algorithm OID (content bytes).
        oid: Vec<u8>,
        /// The curve, when the domain parameters are present and known.
        curve: Option<Curve>,
        /// The public point, uncompressed.
        point: Vec<u8>,
    },
    /// An RSA key.
    Rsa {
        /// The algorithm OID (content bytes).
        oid: Vec<u8>,
        /// The modulus.
        modulus: Vec<u8>,
        /// The public exponent.
        exponent: Vec<u8>,
    },
}

/// A parsed CV certificate or (authenticated) CV request.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CvCertificate {
    /// Certificate profile identifier.
    pub cpi: Option<u8>,
    /// Certification authority reference (tag 42 in the body).
    pub car: Option<String>,
    /// Certificate holder reference (tag 5F20).
    pub chr: String,
    /// The public key.
    pub public_key: CvcPublicKey,
    /// The inner signature (5F37).
    pub signature: Vec<u8>,
    /// For an authenticated request (tag 67): the outer CAR.
    pub outer_car: Option<String>,
    /// For an authenticated request: the outer signature.
    pub outer_signature: Option<Vec<u8>>,
    /// The encoded body `7F4E ...` (what the inner signature covers).
    pub body: Vec<u8>,
}

fn text(v: &[u8]) -> String {
    String::from_utf8_lossy(v).into_owned()
}

impl CvCertificate {
    /// Parses one certificate (`7F21`) or authenticated request (`67`) from the front of
    /// `input`; returns it and the bytes after it.
    ///
    /// # Errors
    /// [`hsm_core::ErrorKind::Protocol`] if it is malformed or lacks a mandatory element.
    pub fn parse_prefix(input: &[u8]) -> Result<(Self, &[u8])> {
        let (outer, _, rest) = tlv::parse_one(input)?;
        let cert = match outer.tag {
            0x67 => {
                let (inner, _, after) = tlv::parse_one(outer.value)?;
                if inner.tag != 0x7F21 {
                    return Err(Error::protocol(OP, "an authenticated request without 7F21"));
                }
                let mut c = Self::from_7f21(&inner)?;
                c.outer_car = tlv::find(after, 0x42)?.map(text);
                c.outer_signature = tlv::find(after, 0x5F37)?.map(<[u8]>::to_vec);
                c
            }
            0x7F21 => Self::from_7f21(&outer)?,
            t => {
                return Err(Error::protocol(
                    OP,
                    format!("expected a CV certificate (7F21 or 67), got tag {t:X}"),
                ));
            }
        };
        Ok((cert, rest))
    }

    /// Parses exactly one certificate or request.
    ///
    /// # Errors
    /// As [`Self::parse_prefix`].
    pub fn parse(input: &[u8]) -> Result<Self> {
        Self::parse_prefix(input).map(|(c, _)| c)
    }

    /// Parses a concatenation of certificates (EF 2F02 holds two).
    ///
    /// # Errors
    /// As [`Self::parse_prefix`].
    pub fn parse_chain(mut input: &[u8]) -> Result<Vec<Self>> {
        let mut out = Vec::new();
        while !input.is_empty() {
            let (c, rest) = Self::parse_prefix(input)?;
            out.push(c);
            input = rest;
        }
        Ok(out)
    }

    fn from_7f21(cert: &Tlv<'_>) -> Result<Self> {
        let (body, body_whole, after) = tlv::parse_one(cert.value)?;
        if body.tag != 0x7F4E {
            return Err(Error::protocol(OP, "a CV certificate without body 7F4E"));
        }
        let signature = tlv::find(after, 0x5F37)?
            .map(<[u8]>::to_vec)
            .unwrap_or_default();
        let key = body.require(0x7F49, "the public key")?;
        Ok(Self {
            cpi: body.child(0x5F29)?.and_then(|v| v.first().copied()),
            car: body.child(0x42)?.map(text),
            chr: text(body.require(0x5F20, "the holder reference")?),
            public_key: parse_public_key(key)?,
            signature,
            outer_car: None,
            outer_signature: None,
            body: body_whole.to_vec(),
        })
    }

    /// The public key as SPKI.
    ///
    /// # Errors
    /// [`hsm_core::ErrorKind::Unsupported`] for an EC key on a curve this crate does not know.
    pub fn public_key(&self) -> Result<PublicKey> {
        match &self.public_key {
            CvcPublicKey::Ec {
                curve: Some(c),
                point,
                ..
            } => PublicKey::from_ec_point(*c, point).map_err(invalid_key),
            CvcPublicKey::Ec { curve: None, .. } => Err(Error::unsupported(
                OP,
                "the certificate's EC key is on an unknown curve (or has no domain parameters)",
            )),
            CvcPublicKey::Rsa {
                modulus, exponent, ..
            } => PublicKey::from_rsa_components(modulus, exponent).map_err(invalid_key),
        }
    }
}

/// A public key the card (or a file from it) holds that hsm-core refuses: the card sent
/// garbage, so a protocol error of this module, with hsm-core's reason as the source.
fn invalid_key(e: Error) -> Error {
    match e.kind() {
        ErrorKind::InvalidInput => {
            Error::protocol(OP, "the card holds an invalid public key").with_source(e)
        }
        _ => e.with_operation(OP),
    }
}

fn parse_public_key(value: &[u8]) -> Result<CvcPublicKey> {
    let oid = tlv::find(value, 0x06)?
        .ok_or_else(|| Error::protocol(OP, "the public key has no algorithm OID"))?
        .to_vec();
    let is_ec = oid.get(..8) == ID_TA.get(..8) && oid.get(8) == Some(&0x02);
    if is_ec {
        let point = tlv::find(value, 0x86)?
            .ok_or_else(|| Error::protocol(OP, "the EC public key has no point (86)"))?
            .to_vec();
        let curve = match tlv::find(value, 0x81)? {
            Some(p) => curves::identify(p, tlv::find(value, 0x82)?.unwrap_or(&[])).map(|c| c.curve),
            None => None,
        };
        Ok(CvcPublicKey::Ec { oid, curve, point })
    } else {
        let modulus = tlv::find(value, 0x81)?
            .ok_or_else(|| Error::protocol(OP, "the RSA public key has no modulus (81)"))?;
        let exponent = tlv::find(value, 0x82)?
            .ok_or_else(|| Error::protocol(OP, "the RSA public key has no exponent (82)"))?;
        Ok(CvcPublicKey::Rsa {
            oid,
            modulus: modulus.to_vec(),
            exponent: exponent.to_vec(),
        })
    }
}

/// Writes the public-key template of an EC key as a CV request carries it: the algorithm
/// (`06` id-TA-ECDSA-SHA-256), the curve's domain parameters p, a, b, G, n (`81`–`85`), the
/// public point (`86`) when there is one, and the cofactor (`87`). GENERATE ASYMMETRIC KEY PAIR
/// sends it without the point; the card answers with it.
pub fn write_ec_public_key(out: &mut Vec<u8>, c: &curves::CurveParams, point: Option<&[u8]>) {
    tlv::write(out, 0x06, &ID_TA_ECDSA_SHA256);
    for (t, v) in [
        (0x81, c.p),
        (0x82, c.a),
        (0x83, c.b),
        (0x84, c.g),
        (0x85, c.n),
    ] {
        tlv::write(out, t, v);
    }
    if let Some(point) = point {
        tlv::write(out, 0x86, point);
    }
    tlv::write(out, 0x87, c.h);
}

/// The content of a CV request body (without its `7F4E` tag): profile 0 (`5F29`), the
/// certification authority reference (`42`), the public-key template `public_key` (`7F49`,
/// made by [`write_ec_public_key`] or [`rsa_public_key`]) and the holder reference (`5F20`).
/// GENERATE ASYMMETRIC KEY PAIR takes it as its command data (the template without the point).
#[must_use]
pub fn request_body(public_key: &[u8], car: &str, chr: &str) -> Vec<u8> {
    let mut body = tlv::encode(0x5F29, &[0x00]);
    tlv::write(&mut body, 0x42, car.as_bytes());
    tlv::write(&mut body, 0x7F49, public_key);
    tlv::write(&mut body, 0x5F20, chr.as_bytes());
    body
}

/// The public-key template of an RSA key: `06` id-TA-RSA-v1-5-SHA-256, `81` modulus, `82`
/// public exponent.
#[must_use]
pub fn rsa_public_key(modulus: &[u8], exponent: &[u8]) -> Vec<u8> {
    let mut key = tlv::encode(0x06, &ID_TA_RSA_V15_SHA256);
    tlv::write(&mut key, 0x81, modulus);
    tlv::write(&mut key, 0x82, exponent);
    key
}

/// The public-key template of `public` as a CV request carries it (EC: with the curve's domain
/// parameters and the point).
///
/// # Errors
/// [`hsm_core::ErrorKind::Unsupported`] for a key type or curve the card does not have.
pub fn public_key_template(public: &PublicKey) -> Result<Vec<u8>> {
    if let (Some(curve), Some(point)) = (public.curve(), public.ec_point()) {
        let params = curves::params(curve).ok_or_else(|| {
            Error::unsupported(OP, format!("the SmartCard-HSM has no {curve:?} keys"))
        })?;
        let mut key = Vec::new();
        write_ec_public_key(&mut key, params, Some(point));
        return Ok(key);
    }
    match public.rsa_components() {
        Some((modulus, exponent)) => Ok(rsa_public_key(&modulus, &exponent)),
        None => Err(Error::unsupported(
            OP,
            "the SmartCard-HSM holds RSA and EC keys only",
        )),
    }
}

/// A CV request `7F21 { 7F4E body, 5F37 signature }` from the body's content and the inner
/// signature over the whole `7F4E` element (plain `r || s` for ECDSA).
#[must_use]
pub fn request(body: &[u8], signature: &[u8]) -> Vec<u8> {
    let mut cert = tlv::encode(0x7F4E, body);
    tlv::write(&mut cert, 0x5F37, signature);
    tlv::encode(0x7F21, &cert)
}

/// What the outer signature of an authenticated request covers: the CV request (`7F21`, as
/// [`request`] makes it) followed by the outer certification authority reference (`42`).
#[must_use]
pub fn outer_signed_data(request: &[u8], outer_car: &str) -> Vec<u8> {
    let mut signed = request.to_vec();
    tlv::write(&mut signed, 0x42, outer_car.as_bytes());
    signed
}

/// An authenticated request `67 { 7F21 ..., 42 outer CAR, 5F37 outer signature }` from
/// [`outer_signed_data`] and the signature over it: the form the card answers GENERATE
/// ASYMMETRIC KEY PAIR with (outer signature by the device key), and the form OpenSC takes a
/// key's public key from.
#[must_use]
pub fn authenticated_request(outer_signed_data: &[u8], outer_signature: &[u8]) -> Vec<u8> {
    let mut auth = outer_signed_data.to_vec();
    tlv::write(&mut auth, 0x5F37, outer_signature);
    tlv::encode(0x67, &auth)
}

/// Whether a `CExx` file holds an X.509 certificate (a DER SEQUENCE), not the CV request the
/// card wrote when it generated the key.
#[must_use]
pub fn is_x509(file: &[u8]) -> bool {
    file.first() == Some(&0x30)
}

/// The SubjectPublicKeyInfo (whole DER) of an X.509 certificate.
///
/// # Errors
/// [`hsm_core::ErrorKind::Protocol`] if it is not a certificate.
pub fn x509_spki(cert: &[u8]) -> Result<&[u8]> {
    let (outer, _, _) = tlv::parse_one(cert)?;
    let (tbs, _, _) = tlv::parse_one(outer.value)?;
    if outer.tag != 0x30 || tbs.tag != 0x30 {
        return Err(Error::protocol(OP, "not an X.509 certificate"));
    }
    let mut rest = tbs.value;
    let mut index = 0;
    while !rest.is_empty() {
        let (t, whole, r) = tlv::parse_one(rest)?;
        rest = r;
        if t.tag == 0xA0 {
            continue;
        }
        // serial, signature, issuer, validity, subject, subjectPublicKeyInfo
        if index == 5 {
            return Ok(whole);
        }
        index += 1;
    }
    Err(Error::protocol(
        OP,
        "the certificate has no subjectPublicKeyInfo",
    ))
}

/// The public key stored in a `CExx` file: a CV request/certificate or an X.509 certificate.
///
/// # Errors
/// [`hsm_core::ErrorKind::Protocol`] if it is neither.
pub fn public_key_of_cert_file(data: &[u8]) -> Result<PublicKey> {
    if is_x509(data) {
        PublicKey::from_der(x509_spki(data)?).map_err(invalid_key)
    } else {
        CvCertificate::parse(data)?.public_key()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ec_request(point: &[u8]) -> Vec<u8> {
        let c = &curves::P256;
        let mut key = Vec::new();
        write_ec_public_key(&mut key, c, Some(point));
        let body = request_body(&key, "UTCA00001", "DESIM0000100001");
        let signed = outer_signed_data(&request(&body, &[1; 64]), "DESIM0000100001");
        authenticated_request(&signed, &[2; 64])
    }

    #[test]
    fn parses_an_authenticated_request() {
        let point = curves::P256.g.to_vec();
        let req = ec_request(&point);
        let c = CvCertificate::parse(&req).unwrap();
        assert_eq!(c.chr, "DESIM0000100001");
        assert_eq!(c.car.as_deref(), Some("UTCA00001"));
        assert_eq!(c.outer_car.as_deref(), Some("DESIM0000100001"));
        assert_eq!(c.signature, vec![1; 64]);
        assert_eq!(c.body.first(), Some(&0x7F));
        match &c.public_key {
            CvcPublicKey::Ec {
                curve, point: p, ..
            } => {
                assert_eq!(*curve, Some(Curve::P256));
                assert_eq!(p, &point);
            }
            other => panic!("{other:?}"),
        }
        let pk = c.public_key().unwrap();
        assert_eq!(pk.curve(), Some(Curve::P256));
        // every truncation fails cleanly
        for n in 0..req.len() {
            assert!(CvCertificate::parse(&req[..n]).is_err(), "{n}");
        }
    }

    /// A point of the wrong length is the card's garbage: a protocol error of this crate, not
    /// hsm-core's "invalid input".
    #[test]
    fn an_invalid_public_key_from_the_card_is_a_protocol_error() {
        let point = [0x04, 0x01, 0x02, 0x03];
        let e = public_key_of_cert_file(&ec_request(&point)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Protocol, "{e}");
        assert_eq!(e.operation(), OP);
        assert!(std::error::Error::source(&e).is_some());
        let e = public_key_of_cert_file(&[0x30, 0x03, 0x30, 0x01, 0x00]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Protocol, "{e}");
    }
}

#[cfg(test)]
mod request_tests {
    use super::*;

    /// A request rebuilt from a public key parses back to the same key, for EC and RSA.
    #[test]
    fn a_request_for_a_public_key_carries_that_key() {
        let ec = PublicKey::from_ec_point(Curve::P256, curves::P256.g).unwrap();
        let rsa = PublicKey::from_rsa_components(&[0xC5; 256], &[1, 0, 1]).unwrap();
        for public in [ec, rsa] {
            let body = request_body(
                &public_key_template(&public).unwrap(),
                "UTCA00001",
                "DESIM0000100001",
            );
            let file = request(&body, &[7; 64]);
            assert!(!is_x509(&file));
            let parsed = CvCertificate::parse(&file).unwrap();
            assert_eq!(parsed.chr, "DESIM0000100001");
            assert_eq!(parsed.signature, vec![7; 64]);
            assert_eq!(parsed.body, tlv::encode(0x7F4E, &body));
            assert_eq!(public_key_of_cert_file(&file).unwrap(), public);
        }
        let ed = PublicKey::from_ed25519(&[9; 32]).unwrap();
        assert!(public_key_template(&ed).is_err());
    }
}
