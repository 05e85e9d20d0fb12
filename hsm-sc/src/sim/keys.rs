//! Keys inside the simulated card, with real cryptography (OpenSSL).

use openssl::bn::{BigNum, BigNumContext};
use openssl::ec::{EcGroup, EcKey, EcPoint};
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::rsa::{Padding, Rsa, RsaPrivateKeyBuilder};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use hsm_core::Curve;

/// A key as stored in the state file.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) enum StoredKey {
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
        d: Vec<u8>,
        crt: Option<[Vec<u8>; 5]>,
    },
    Ec {
        curve: String,
        d: Vec<u8>,
    },
}

/// A key in the simulated card.
pub(crate) struct SimKey {
    pub(crate) stored: StoredKey,
    pub(crate) pkey: PKey<Private>,
    /// Allowed algorithm bytes (tag 91 at generation); `None` = any.
    pub(crate) algorithms: Option<Vec<u8>>,
}

/// The OpenSSL group of `curve`; `6A80` (wrong data) for a curve OpenSSL does not have.
pub(crate) fn group(curve: Curve) -> SimResult<EcGroup> {
    hsm_simkit::ossl::ec_group(curve)
        .ok()
        .flatten()
        .ok_or(0x6A80)
}

fn curve_by_name(name: &str) -> Option<Curve> {
    crate::protocol::curves::ALL
        .iter()
        .map(|c| c.curve)
        .find(|c| c.openssl_name() == name)
}

pub(crate) type SimResult<T> = Result<T, u16>;

fn ossl<T>(r: Result<T, openssl::error::ErrorStack>) -> SimResult<T> {
    r.map_err(|_| 0x6F00)
}

fn pad(v: &[u8], len: usize) -> Vec<u8> {
    let v = crate::protocol::tlv::trim_unsigned(v);
    let mut out = vec![0u8; len.saturating_sub(v.len())];
    out.extend_from_slice(v);
    out
}

impl SimKey {
    pub(crate) fn generate_ec(curve: Curve) -> SimResult<Self> {
        let group = group(curve)?;
        let key = ossl(EcKey::generate(&group))?;
        Self::from_stored(StoredKey::Ec {
            curve: curve.openssl_name().to_owned(),
            d: key.private_key().to_vec(),
        })
    }

    pub(crate) fn generate_rsa(bits: u32) -> SimResult<Self> {
        let rsa = ossl(Rsa::generate(bits))?;
        let crt = match (rsa.p(), rsa.q(), rsa.dmp1(), rsa.dmq1(), rsa.iqmp()) {
            (Some(p), Some(q), Some(dp), Some(dq), Some(qi)) => Some([
                p.to_vec(),
                q.to_vec(),
                dp.to_vec(),
                dq.to_vec(),
                qi.to_vec(),
            ]),
            _ => None,
        };
        Self::from_stored(StoredKey::Rsa {
            n: rsa.n().to_vec(),
            e: rsa.e().to_vec(),
            d: rsa.d().to_vec(),
            crt,
        })
    }

    pub(crate) fn from_stored(stored: StoredKey) -> SimResult<Self> {
        let pkey = match &stored {
            StoredKey::Rsa { n, e, d, crt } => {
                let bn = |v: &[u8]| ossl(BigNum::from_slice(v));
                let rsa = match crt {
                    Some([p, q, dp, dq, qi]) => ossl(Rsa::from_private_components(
                        bn(n)?,
                        bn(e)?,
                        bn(d)?,
                        bn(p)?,
                        bn(q)?,
                        bn(dp)?,
                        bn(dq)?,
                        bn(qi)?,
                    ))?,
                    None => ossl(RsaPrivateKeyBuilder::new(bn(n)?, bn(e)?, bn(d)?))?.build(),
                };
                ossl(PKey::from_rsa(rsa))?
            }
            StoredKey::Ec { curve, d } => {
                let curve = curve_by_name(curve).ok_or(0x6F00u16)?;
                let group = group(curve).map_err(|_| 0x6F00u16)?;
                let key = ossl(hsm_simkit::ossl::ec_key_from_scalar(&group, d))?;
                ossl(PKey::from_ec_key(key))?
            }
        };
        Ok(Self {
            stored,
            pkey,
            algorithms: None,
        })
    }

    pub(crate) fn curve(&self) -> Option<Curve> {
        match &self.stored {
            StoredKey::Ec { curve, .. } => curve_by_name(curve),
            StoredKey::Rsa { .. } => None,
        }
    }

    pub(crate) fn is_rsa(&self) -> bool {
        matches!(self.stored, StoredKey::Rsa { .. })
    }

    pub(crate) fn modulus_len(&self) -> usize {
        match &self.stored {
            StoredKey::Rsa { n, .. } => crate::protocol::tlv::trim_unsigned(n).len(),
            StoredKey::Ec { .. } => 0,
        }
    }

    /// The uncompressed public point of an EC key.
    pub(crate) fn ec_point(&self) -> SimResult<Vec<u8>> {
        let ec = ossl(self.pkey.ec_key())?;
        ossl(hsm_simkit::ossl::uncompressed_point(&ec))
    }

    /// ECDSA over a hash (truncated to the order by OpenSSL); DER output.
    pub(crate) fn ecdsa(&self, hash: &[u8]) -> SimResult<Vec<u8>> {
        let ec = ossl(self.pkey.ec_key())?;
        ossl(hsm_simkit::ossl::ecdsa_der(&ec, hash))
    }

    /// ECDSA with the signature in plain `r || s` form (CV certificates).
    pub(crate) fn ecdsa_plain(&self, hash: &[u8]) -> SimResult<Vec<u8>> {
        let len = self.curve().map_or(32, Curve::field_len);
        let ec = ossl(self.pkey.ec_key())?;
        ossl(hsm_simkit::ossl::ecdsa_raw(&ec, hash, len))
    }

    /// `m^d mod n` on a block as long as the modulus (SIGN algorithm `20`, DECIPHER `21`).
    /// Another length is `6700` (wrong length); a block not below the modulus is `6400`
    /// (execution error: the private operation cannot run), as pico-hsm answers.
    pub(crate) fn rsa_raw(&self, block: &[u8]) -> SimResult<Vec<u8>> {
        let rsa = ossl(self.pkey.rsa())?;
        let k = self.modulus_len();
        if block.len() != k {
            return Err(0x6700);
        }
        // Equal-length big-endian byte strings compare as the numbers they encode.
        if block >= pad(&rsa.n().to_vec(), k).as_slice() {
            return Err(0x6400);
        }
        let mut out = vec![0u8; k];
        let n = rsa
            .private_decrypt(block, &mut out, Padding::NONE)
            .map_err(|_| 0x6400u16)?;
        out.truncate(n);
        Ok(pad(&out, k))
    }

    /// PKCS#1 v1.5 type-1 padding of `digest_info`, then the private operation.
    pub(crate) fn rsa_pkcs1(&self, digest_info: &[u8]) -> SimResult<Vec<u8>> {
        hsm_simkit::ossl::rsa_pkcs1(&self.pkey, None, digest_info).map_err(|_| 0x6A80u16)
    }

    /// RSA-PSS over `hash` with MGF1 of the same hash and salt = hash length.
    pub(crate) fn rsa_pss(&self, md: MessageDigest, hash: &[u8]) -> SimResult<Vec<u8>> {
        let md = openssl::md::Md::from_nid(md.type_()).ok_or(0x6F00u16)?;
        hsm_simkit::ossl::rsa_pss(&self.pkey, md, hash).map_err(|_| 0x6A80u16)
    }

    /// ECDH with an uncompressed peer point; returns `04 || x` as the card does.
    pub(crate) fn ecdh(&self, peer: &[u8]) -> SimResult<Zeroizing<Vec<u8>>> {
        let ec = ossl(self.pkey.ec_key())?;
        let group = ec.group();
        let mut ctx = ossl(BigNumContext::new())?;
        let point = EcPoint::from_bytes(group, peer, &mut ctx).map_err(|_| 0x6A80u16)?;
        let peer_key = EcKey::from_public_key(group, &point).map_err(|_| 0x6A80u16)?;
        let peer_pkey = ossl(PKey::from_ec_key(peer_key))?;
        let mut deriver = ossl(openssl::derive::Deriver::new(&self.pkey))?;
        ossl(deriver.set_peer(&peer_pkey))?;
        let secret = Zeroizing::new(ossl(deriver.derive_to_vec())?);
        let mut out = Zeroizing::new(vec![0x04]);
        out.extend_from_slice(&secret);
        Ok(out)
    }
}

/// The message digest for a hash length (the card picks the hash by the input length).
pub(crate) fn md_for_len(len: usize) -> Option<MessageDigest> {
    Some(match len {
        20 => MessageDigest::sha1(),
        28 => MessageDigest::sha224(),
        32 => MessageDigest::sha256(),
        48 => MessageDigest::sha384(),
        64 => MessageDigest::sha512(),
        _ => return None,
    })
}

/// Splits a DigestInfo into (digest, hash); `None` if `input` is not one.
pub(crate) fn parse_digest_info(input: &[u8]) -> Option<(MessageDigest, &[u8])> {
    let (outer, _, rest) = crate::protocol::tlv::parse_one(input).ok()?;
    if outer.tag != 0x30 || !rest.is_empty() {
        return None;
    }
    let hash = crate::protocol::tlv::find(outer.value, 0x04).ok()??;
    let md = md_for_len(hash.len())?;
    Some((md, hash))
}
