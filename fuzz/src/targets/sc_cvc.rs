//! Card-verifiable certificates and requests (hsm-sc `protocol::cvc`): chains, single certificates,
//! authenticated requests, the public key inside, and the X.509 SPKI finder used for `CExx` files.

use hsm_core::PublicKey;
use hsm_sc::client::device;
use hsm_sc::protocol::cvc::{self, CvCertificate, CvcPublicKey};
use hsm_sc::protocol::tlv;

/// The input is the content of EF 2F02 (a chain) or of a `CExx` file.
pub fn run(data: &[u8]) {
    if let Ok(chain) = CvCertificate::parse_chain(data) {
        chain.iter().for_each(check);
    }
    if let Ok((cert, rest)) = CvCertificate::parse_prefix(data) {
        assert!(data.ends_with(rest));
        assert_eq!(CvCertificate::parse(data).ok().as_ref(), Some(&cert));
        check(&cert);
    }
    if let Ok(spki) = cvc::x509_spki(data) {
        assert!(
            data.windows(spki.len().max(1)).any(|w| w == spki),
            "the SPKI is a slice of the certificate"
        );
        let _ = PublicKey::from_der(spki);
    }
    if let Ok(key) = cvc::public_key_of_cert_file(data) {
        let _ = key.to_pem();
    }
}

fn check(cert: &CvCertificate) {
    if let Ok(serial) = device::serial_of_chr(&cert.chr) {
        assert!(serial.len() <= cert.chr.len());
    }
    let (body, _, rest) = tlv::parse_one(&cert.body).expect("the kept body is one TLV");
    assert_eq!(body.tag, 0x7F4E);
    assert!(rest.is_empty());
    let Ok(key) = cert.public_key() else {
        return;
    };
    match &cert.public_key {
        CvcPublicKey::Ec { curve, point, .. } => {
            assert_eq!(key.curve(), *curve);
            assert_eq!(key.ec_point(), Some(point.as_slice()));
        }
        CvcPublicKey::Rsa { .. } => assert!(key.rsa_components().is_some()),
        _ => {}
    }
}
