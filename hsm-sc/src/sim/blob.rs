//! Key blobs encrypted under the DKEK (WRAP KEY / UNWRAP KEY), as CardContact's DKEK.js and
//! pico-hsm encode them: KCV, type, OIDs, AES-256-CBC(KENC) ciphertext, AES-CMAC(KMAC).

use openssl::bn::{BigNum, BigNumContext};
use openssl::pkey::PKey;
use openssl::sign::Signer;
use openssl::symm::{Cipher, Crypter, Mode};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::keys::{SimKey, SimResult, StoredKey, group};
use crate::protocol::cvc::{ID_TA_ECDSA_SHA256, ID_TA_RSA_V15_SHA256};
use crate::protocol::{curves, dkek};

const KEY_TYPE_RSA: u8 = 5;
const KEY_TYPE_RSA_CRT: u8 = 6;
const KEY_TYPE_EC: u8 = 12;

fn derive(dkek: &[u8; 32], n: u8) -> Zeroizing<Vec<u8>> {
    let mut h = Sha256::new();
    h.update(dkek);
    h.update([0, 0, 0, n]);
    Zeroizing::new(h.finalize().to_vec())
}

fn cmac(key: &[u8], data: &[u8]) -> SimResult<Vec<u8>> {
    let pkey = PKey::cmac(&Cipher::aes_256_cbc(), key).map_err(|_| 0x6F00u16)?;
    let mut s = Signer::new_without_digest(&pkey).map_err(|_| 0x6F00u16)?;
    s.update(data).map_err(|_| 0x6F00u16)?;
    s.sign_to_vec().map_err(|_| 0x6F00)
}

fn aes_cbc(mode: Mode, key: &[u8], data: &[u8]) -> SimResult<Zeroizing<Vec<u8>>> {
    let mut c =
        Crypter::new(Cipher::aes_256_cbc(), mode, key, Some(&[0u8; 16])).map_err(|_| 0x6F00u16)?;
    c.pad(false);
    let mut out = Zeroizing::new(vec![0u8; data.len() + 32]);
    let n = c.update(data, &mut out).map_err(|_| 0x6A80u16)?;
    let m = c
        .finalize(out.get_mut(n..).ok_or(0x6F00u16)?)
        .map_err(|_| 0x6A80u16)?;
    out.truncate(n + m);
    Ok(out)
}

fn put(out: &mut Vec<u8>, v: &[u8]) {
    out.extend((v.len() as u16).to_be_bytes());
    out.extend_from_slice(v);
}

fn pad_to(v: &[u8], len: usize) -> Vec<u8> {
    let v = crate::protocol::tlv::trim_unsigned(v);
    let mut out = vec![0u8; len.saturating_sub(v.len())];
    out.extend_from_slice(v);
    out
}

/// Wraps `key` under `dkek`.
pub(crate) fn wrap(key: &SimKey, dkek: &[u8; 32], random8: &[u8]) -> SimResult<Vec<u8>> {
    let mut plain = Zeroizing::new(random8.to_vec());
    let (key_type, oid): (u8, &[u8]) = match &key.stored {
        StoredKey::Rsa { n, e, d, .. } => {
            let n = crate::protocol::tlv::trim_unsigned(n);
            plain.extend(((n.len() * 8) as u16).to_be_bytes());
            put(&mut plain, crate::protocol::tlv::trim_unsigned(d));
            put(&mut plain, n);
            put(&mut plain, crate::protocol::tlv::trim_unsigned(e));
            (KEY_TYPE_RSA, &ID_TA_RSA_V15_SHA256)
        }
        StoredKey::Ec { d, .. } => {
            let c = key.curve().and_then(curves::params).ok_or(0x6F00u16)?;
            let len = c.p.len();
            plain.extend((c.curve.order_bits() as u16).to_be_bytes());
            for v in [c.a, c.b, c.p, c.n, c.g] {
                put(&mut plain, v);
            }
            put(&mut plain, &pad_to(d, len));
            put(&mut plain, &key.ec_point()?);
            (KEY_TYPE_EC, &ID_TA_ECDSA_SHA256)
        }
    };
    plain.push(0x80);
    while !plain.len().is_multiple_of(16) {
        plain.push(0);
    }
    let mut blob = dkek::kcv(dkek).to_vec();
    blob.push(key_type);
    put(&mut blob, oid);
    put(&mut blob, key.algorithms.as_deref().unwrap_or(&[]));
    put(&mut blob, &[]);
    put(&mut blob, &[]);
    blob.extend_from_slice(&aes_cbc(Mode::Encrypt, &derive(dkek, 1), &plain)?);
    let mac = cmac(&derive(dkek, 2), &blob)?;
    blob.extend_from_slice(&mac);
    Ok(blob)
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> SimResult<&'a [u8]> {
        let (a, b) = self.0.split_at_checked(n).ok_or(0x6A80u16)?;
        self.0 = b;
        Ok(a)
    }
    fn u16(&mut self) -> SimResult<usize> {
        let b = self.take(2)?;
        Ok(usize::from(u16::from_be_bytes(
            <[u8; 2]>::try_from(b).map_err(|_| 0x6A80u16)?,
        )))
    }
    fn field(&mut self) -> SimResult<&'a [u8]> {
        let n = self.u16()?;
        self.take(n)
    }
}

/// Unwraps a blob made under `dkek`. `6A80` when it was made under another DKEK or altered.
pub(crate) fn unwrap(blob: &[u8], dkek: &[u8; 32]) -> SimResult<SimKey> {
    if blob.len() < 8 + 1 + 8 + 32 || blob.get(..8) != Some(&dkek::kcv(dkek)[..]) {
        return Err(0x6A80);
    }
    let (body, mac) = blob.split_at_checked(blob.len() - 16).ok_or(0x6A80u16)?;
    if cmac(&derive(dkek, 2), body)? != mac {
        return Err(0x6A80);
    }
    let mut r = Reader(body.get(8..).ok_or(0x6A80u16)?);
    let key_type = *r.take(1)?.first().ok_or(0x6A80u16)?;
    let _oid = r.field()?;
    let algorithms = r.field()?.to_vec();
    let _access = r.field()?;
    let _key_oid = r.field()?;
    let plain = aes_cbc(Mode::Decrypt, &derive(dkek, 1), r.0)?;
    let mut p = Reader(plain.get(8..).ok_or(0x6A80u16)?);
    let _size = p.u16()?;
    let stored = match key_type {
        KEY_TYPE_RSA => {
            let d = p.field()?.to_vec();
            let n = p.field()?.to_vec();
            let e = p.field()?.to_vec();
            StoredKey::Rsa { n, e, d, crt: None }
        }
        KEY_TYPE_RSA_CRT => {
            let dp = p.field()?.to_vec();
            let dq = p.field()?.to_vec();
            let pp = p.field()?.to_vec();
            let qi = p.field()?.to_vec();
            let q = p.field()?.to_vec();
            let n = p.field()?.to_vec();
            let e = p.field()?.to_vec();
            let d = rsa_d(&pp, &q, &e)?;
            StoredKey::Rsa {
                n,
                e,
                d,
                crt: Some([pp, q, dp, dq, qi]),
            }
        }
        KEY_TYPE_EC => {
            let a = p.field()?;
            let _b = p.field()?;
            let prime = p.field()?;
            let _n = p.field()?;
            let _g = p.field()?;
            let d = p.field()?.to_vec();
            let c = curves::identify(prime, a).ok_or(0x6A80u16)?;
            // Check the curve is one OpenSSL knows.
            let _ = group(c.curve)?;
            StoredKey::Ec {
                curve: c.curve.openssl_name().to_owned(),
                d,
            }
        }
        _ => return Err(0x6A80),
    };
    let mut key = SimKey::from_stored(stored)?;
    key.algorithms = (!algorithms.is_empty()).then_some(algorithms);
    Ok(key)
}

fn rsa_d(p: &[u8], q: &[u8], e: &[u8]) -> SimResult<Vec<u8>> {
    let f = |r: Result<(), openssl::error::ErrorStack>| r.map_err(|_| 0x6A80u16);
    let mut ctx = BigNumContext::new().map_err(|_| 0x6F00u16)?;
    let one = BigNum::from_u32(1).map_err(|_| 0x6F00u16)?;
    let bn = |v: &[u8]| BigNum::from_slice(v).map_err(|_| 0x6A80u16);
    let (mut p1, mut q1) = (
        BigNum::new().map_err(|_| 0x6F00u16)?,
        BigNum::new().map_err(|_| 0x6F00u16)?,
    );
    let (p, q, e) = (bn(p)?, bn(q)?, bn(e)?);
    f(p1.checked_sub(&p, &one))?;
    f(q1.checked_sub(&q, &one))?;
    let mut phi = BigNum::new().map_err(|_| 0x6F00u16)?;
    f(phi.checked_mul(&p1, &q1, &mut ctx))?;
    let mut d = BigNum::new().map_err(|_| 0x6F00u16)?;
    f(d.mod_inverse(&e, &phi, &mut ctx))?;
    Ok(d.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_wrong_dkek() {
        let dkek = [3u8; 32];
        for key in [
            SimKey::generate_ec(hsm_core::Curve::P256).unwrap(),
            SimKey::generate_rsa(1024).unwrap(),
        ] {
            let blob = wrap(&key, &dkek, &[1; 8]).unwrap();
            let back = unwrap(&blob, &dkek).unwrap();
            assert_eq!(
                back.pkey.public_key_to_der().unwrap(),
                key.pkey.public_key_to_der().unwrap()
            );
            assert_eq!(unwrap(&blob, &[4; 32]).err(), Some(0x6A80));
            let mut bad = blob.clone();
            let n = bad.len();
            bad[n - 20] ^= 1;
            assert_eq!(unwrap(&bad, &dkek).err(), Some(0x6A80));
        }
    }

    #[test]
    fn matches_the_reference_vector() {
        // smartcard-hsm.md §17 vector 6: DKEK 00..1F, random 0001020304050607, fixed d.
        let mut dkek = [0u8; 32];
        for (i, b) in dkek.iter_mut().enumerate() {
            *b = i as u8;
        }
        let d = hex::decode("C9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721")
            .unwrap();
        let key = SimKey::from_stored(StoredKey::Ec {
            curve: "prime256v1".into(),
            d,
        })
        .unwrap();
        let blob = wrap(&key, &dkek, &[0, 1, 2, 3, 4, 5, 6, 7]).unwrap();
        let expected = concat!(
            "630dcd2966c433660c000a04007f000702020202030000000000009deb93455754c97a07d2786aea7f42046320e58ca87b58107d3e1be2db478f85",
            "d795df1017f17ffabc0b003027f3dac147e0114bc8fd4e00c86b0578c4d5a1951053a3deac62fbe7827e2772ab5044c6483e2eb6051ffcf31ef93c",
            "39e1bc77cd6510ad5595eca58b09cf799daeca72b89ddfe406236012a675411efdb21b8916788c442a3b95564c249b5d9bad59c7fc1a1e875dc47c",
            "e0a8f9d8df3edca4618921fd72719cf9efd89e515d367a906c3edb3905078c38ecfffa8a52cdd0b918d5725fa2458479b77465910c52a1dfd6523c",
            "c21298b02f0df8beecaa2f35bae98f7b6f2e033c9441c2d8e82a4417a7df6a7c707e6f30726057aa63d534b7fc1a9e66e725393c97c9456092121",
            "586e9352105738fd7942e145b7327e13d6d9d6b419461a57e9233eb21b10f4515787acd1c6c59e8d8bf89324297d5f70424c33b6d8906cdbcfcb8",
            "90a9dc716e41f4bff22c"
        );
        assert_eq!(hex::encode(&blob), expected);
    }
}
