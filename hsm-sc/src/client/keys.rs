//! GENERATE ASYMMETRIC KEY PAIR (`00 46`): the request is a CV certificate body, the answer an
//! authenticated CV request holding the new public key.

use hsm_core::{Error, KeySpec, Result};

use crate::client::card::Commands;
use crate::protocol::apdu::Apdu;
use crate::protocol::cvc::{self, CvCertificate, ID_TA_RSA_V15_SHA256};
use crate::protocol::{curves, tlv};

/// What to put in the key generation request besides the key type.
#[derive(Clone, Debug)]
pub struct KeyGenRequest {
    /// Key reference (1..=255) the key is stored under (file `CCxx`).
    pub key_ref: u8,
    /// Key type and size.
    pub spec: KeySpec,
    /// Certification authority reference (OpenSC sends `UTCA00001`).
    pub car: String,
    /// Certificate holder reference (OpenSC: device serial + `00001`).
    pub chr: String,
    /// Allowed algorithm bytes (tag 91); `None` = no restriction.
    pub algorithms: Option<Vec<u8>>,
}

/// Encodes the command data for `request`.
///
/// # Errors
/// [`hsm_core::ErrorKind::Unsupported`] for Ed25519, AES or an unknown curve.
pub fn encode_request(request: &KeyGenRequest) -> Result<Vec<u8>> {
    const OP: &str = "sc-hsm.generate_key";
    let mut key = Vec::new();
    match request.spec {
        KeySpec::Ec(curve) => {
            let c = curves::params(curve).ok_or_else(|| {
                Error::unsupported(OP, format!("the SmartCard-HSM has no {curve:?} keys"))
            })?;
            cvc::write_ec_public_key(&mut key, c, None);
        }
        spec => {
            let bits = spec.rsa_bits().ok_or_else(|| {
                Error::unsupported(OP, format!("the SmartCard-HSM cannot generate {spec} keys"))
            })?;
            let bits =
                u16::try_from(bits).map_err(|_| Error::unsupported(OP, "RSA key too large"))?;
            tlv::write(&mut key, 0x06, &ID_TA_RSA_V15_SHA256);
            tlv::write(&mut key, 0x82, &[0x01, 0x00, 0x01]);
            tlv::write(&mut key, 0x02, &bits.to_be_bytes());
        }
    }
    let mut d = cvc::request_body(&key, &request.car, &request.chr);
    if let Some(algs) = &request.algorithms {
        tlv::write(&mut d, 0x91, algs);
    }
    Ok(d)
}

impl Commands<'_> {
    /// Generates a key pair; returns the raw authenticated request (what the card also stores
    /// in `CExx`) and its parsed form. Never retried: RSA generation can take long on a card.
    ///
    /// # Errors
    /// [`hsm_core::ErrorKind::PermissionDenied`] without the user PIN; unsupported key types.
    pub fn generate_key_pair(
        &mut self,
        request: &KeyGenRequest,
    ) -> Result<(Vec<u8>, CvCertificate)> {
        const OP: &str = "sc-hsm.generate_key";
        if request.key_ref == 0 {
            return Err(Error::invalid_input(
                OP,
                "key reference 0 is the device key",
            ));
        }
        let data = encode_request(request)?;
        let apdu = Apdu::new(0x00, 0x46, request.key_ref, 0x00)
            .with_data(data)
            .expect_all();
        let answer = self.send(&apdu, OP)?;
        let cert = CvCertificate::parse(&answer)?;
        Ok((answer, cert))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rsa_request_matches_opensc() {
        let r = KeyGenRequest {
            key_ref: 2,
            spec: KeySpec::Rsa2048,
            car: "UTCA00001".into(),
            chr: "DESIM0000100001".into(),
            algorithms: None,
        };
        assert_eq!(
            hex::encode_upper(encode_request(&r).unwrap()),
            "5F29010042095554434130303030317F4915060A04007F000702020201028203010001020208005F200F444553494D30303030313030303031"
        );
    }
}
