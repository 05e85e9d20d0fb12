//! The certificate stored with a key (`KeyStore::certificate` and its siblings) and the card's
//! random number generator (`KeyStore::random`).
//!
//! A SmartCard-HSM keeps a key's certificate in the file `CExx` of the key's reference `xx`,
//! where the card put the CV request with the key's public key when it generated the key;
//! OpenSC (`pkcs11-tool --write-object --type cert --id`, `pkcs15-tool`) reads and writes the
//! same file. That file is also where every reader, this backend and OpenSC alike, takes the
//! key's public key from. So:
//!
//! - a file holding a CV request means "no certificate";
//! - storing refuses a certificate for another public key than the key's (it would replace the
//!   key's public key everywhere);
//! - deleting writes back an authenticated CV request with the key's public key, both
//!   signatures made by the key on the card (the card's own request has the device key's
//!   outer signature, which the host cannot make), so the key keeps its public key for this
//!   backend and for OpenSC; OpenSC itself deletes the file, after which it has no public key
//!   for the key.

use hsm_core::certificate::check_certificate_der;
use hsm_core::store::check_random_len;
use hsm_core::{Error, KeyId, PublicKey, Result, SignAlgorithm, Signer as _};

use super::ScHsm;
use super::keys::read_optional;
use crate::protocol::cvc;
use crate::protocol::files::{fid, prefix};
use crate::protocol::tlv;

impl ScHsm {
    /// The X.509 certificate in the key's `CExx`, `None` when it holds the CV request or is
    /// missing.
    pub(crate) fn key_certificate(&self, key: &KeyId) -> Result<Option<Vec<u8>>> {
        const OP: &str = "sc-hsm.certificate";
        let mut inner = self.lock()?;
        let e = inner.find(key, OP)?;
        let file = inner.plain(|c| read_optional(c, fid(prefix::CERT, e.key_ref)))?;
        Ok(file.filter(|f| cvc::is_x509(f)))
    }

    /// Writes `der` to the key's `CExx` after checking it certifies the key's public key.
    pub(crate) fn store_key_certificate(&self, key: &KeyId, der: &[u8]) -> Result<()> {
        const OP: &str = "sc-hsm.store_certificate";
        check_certificate_der(der, OP)?;
        let certified = cvc::x509_spki(der)
            .and_then(PublicKey::from_der)
            .map_err(|e| {
                Error::invalid_input(OP, "the certificate's public key cannot be read")
                    .with_source(e)
            })?;
        let mut inner = self.lock()?;
        let e = inner.find(key, OP)?;
        if e.public_key.as_ref().is_some_and(|k| *k != certified)
            || e.spec.is_some_and(|s| certified.spec() != Some(s))
        {
            return Err(Error::invalid_input(
                OP,
                format!(
                    "the certificate is for another public key than key {key}'s: a \
                     SmartCard-HSM keeps the certificate where readers take the key's public \
                     key from, so it would replace it"
                ),
            ));
        }
        inner.keys = None;
        inner.logged_in(OP, |c| c.write_file(fid(prefix::CERT, e.key_ref), der))
    }

    /// Replaces the X.509 certificate in the key's `CExx` by a CV request for the same public
    /// key, signed by the key (see the module docs).
    pub(crate) fn delete_key_certificate(&self, key: &KeyId) -> Result<()> {
        const OP: &str = "sc-hsm.delete_certificate";
        let (entry, certificate) = {
            let mut inner = self.lock()?;
            let e = inner.find(key, OP)?;
            let file = inner.plain(|c| read_optional(c, fid(prefix::CERT, e.key_ref)))?;
            match file.filter(|f| cvc::is_x509(f)) {
                Some(f) => (e, f),
                None => {
                    return Err(Error::not_found(
                        OP,
                        format!("key {key} has no certificate"),
                    ));
                }
            }
        };
        let public =
            cvc::public_key_of_cert_file(&certificate).map_err(|e| e.with_operation(OP))?;
        let serial = self.serial()?.unwrap_or_else(|| "UTNOSERIAL".to_owned());
        let chr = format!("{serial}00001");
        let content = cvc::request_body(
            &cvc::public_key_template(&public).map_err(|e| e.with_operation(OP))?,
            "UTCA00001",
            &chr,
        );
        let body = tlv::encode(0x7F4E, &content);
        let algorithm = if public.rsa_bits().is_some() {
            SignAlgorithm::RsaPkcs1Sha256
        } else {
            SignAlgorithm::EcdsaSha256
        };
        // A signature by the key over `data` that `public` verifies (TR-03110: ECDSA in plain
        // r || s form); `None` when it does not verify.
        let sign = |data: &[u8]| -> Result<Option<Vec<u8>>> {
            let signature = self
                .sign(key, algorithm, data)
                .map_err(|e| e.with_operation(OP))?;
            Ok(public
                .verify(data, &signature)
                .is_ok()
                .then(|| signature.to_raw()))
        };
        // The inner signature proves possession. The outer one is the device key's in the
        // card's own answer, which the host cannot make; here it is the key's too, with the
        // request's own holder reference as its authority. OpenSC takes a key's public key only
        // from an authenticated request (67).
        let request = match sign(&body)? {
            Some(inner) => {
                let signed = cvc::outer_signed_data(&cvc::request(&content, &inner), &chr);
                sign(&signed)?.map(|outer| cvc::authenticated_request(&signed, &outer))
            }
            None => None,
        };
        if request.is_none() {
            // The certificate named another key (written by another program): there is no
            // public key to keep, so the file goes, as OpenSC deletes it.
            tracing::warn!("the certificate did not certify the key; deleting CExx");
        }
        let mut inner = self.lock()?;
        inner.keys = None;
        let file = fid(prefix::CERT, entry.key_ref);
        inner.logged_in(OP, |c| match &request {
            Some(r) => c.write_file(file, r),
            None => c.delete_file(file),
        })
    }

    /// `len` bytes from GET CHALLENGE, in calls of at most 1024 bytes.
    pub(crate) fn card_random(&self, len: usize) -> Result<Vec<u8>> {
        const OP: &str = "sc-hsm.random";
        check_random_len(len, OP)?;
        if len == 0 {
            return Ok(Vec::new());
        }
        let bytes = self.lock()?.plain(|c| c.random(len))?;
        Ok(bytes.to_vec())
    }
}
