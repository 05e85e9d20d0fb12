//! RSA for the simulator in pure Rust: generation, the checks on imported parts, and the raw
//! private-key operation (`/decrypt` in mode `RAW`).

use ecdsa::elliptic_curve::bigint::ConcatenatingMul as _;
use rsa::BoxedUint;
use zeroize::Zeroizing;

use super::crypto::SimResult;
use super::rng::SimRng;

/// The most bits an RSA modulus may have, on generation and import (the device's limit).
pub(crate) const MAX_RSA_BITS: u64 = 8192;

/// The bits of a big-endian number.
fn bits(bytes: &[u8]) -> u64 {
    let trimmed = trim(bytes);
    match trimmed.first() {
        None => 0,
        Some(first) => (trimmed.len() as u64 - 1) * 8 + u64::from(8 - first.leading_zeros()),
    }
}

fn trim(bytes: &[u8]) -> &[u8] {
    let zeros = bytes.iter().take_while(|b| **b == 0).count();
    bytes.get(zeros..).unwrap_or_default()
}

/// Checks the parts of an RSA key to import before any arithmetic is done with them: `p` and
/// `q` distinct primes whose product has at most [`MAX_RSA_BITS`] bits, and `e` an odd number
/// of at least 3 and at most 64 bits. Anything else is an invalid key (400), never a panic.
pub(crate) fn check_rsa_parts(p: &[u8], q: &[u8], e: &[u8]) -> SimResult<()> {
    let bad = |what: &str| Err(format!("invalid key: {what}").into());
    if bits(p) + bits(q) > MAX_RSA_BITS + 1 {
        return bad("the modulus is over 8192 bits");
    }
    let e = trim(e);
    let small_or_even = match e {
        [] => true,
        [only] => *only < 3,
        _ => false,
    };
    if small_or_even || e.last().is_some_and(|b| b & 1 == 0) || e.len() > 8 {
        return bad("the public exponent must be odd, at least 3 and at most 64 bits");
    }
    if trim(p) == trim(q) {
        return bad("the primes are equal");
    }
    let p = BoxedUint::from_be_slice_vartime(trim(p));
    let q = BoxedUint::from_be_slice_vartime(trim(q));
    for prime in [&p, &q] {
        if !crypto_primes::is_prime(crypto_primes::Flavor::Any, prime) {
            return bad("primeP and primeQ must be primes");
        }
    }
    if u64::from(p.concatenating_mul(&q).bits()) > MAX_RSA_BITS {
        return bad("the modulus is over 8192 bits");
    }
    Ok(())
}

/// Checks the numbers of an RSA key given whole (a PEM key: modulus, public exponent, private
/// exponent, primes), as the device checks a PEM key (keyfender reads it with mirage-crypto,
/// whose `Rsa.priv` refuses primes that are not, equal primes, a modulus that is not `p*q` and
/// a private exponent with `d*e != 1 mod lcm(p-1, q-1)`): [`check_rsa_parts`] first, so that no
/// arithmetic is done on numbers of any size, then the key as a whole.
pub(crate) fn check_rsa_numbers(n: &[u8], e: &[u8], d: &[u8], p: &[u8], q: &[u8]) -> SimResult<()> {
    check_rsa_parts(p, q, e)?;
    if bits(n) > MAX_RSA_BITS || bits(d) > MAX_RSA_BITS {
        return Err("invalid key: the modulus is over 8192 bits".into());
    }
    let uint = |b: &[u8]| BoxedUint::from_be_slice_vartime(trim(b));
    rsa::RsaPrivateKey::from_components(uint(n), uint(e), uint(d), vec![uint(p), uint(q)])
        .map_err(|e| format!("invalid key: {e}"))?;
    Ok(())
}

fn generation_failed(e: impl std::fmt::Display) -> String {
    format!("RSA key generation failed: {e}")
}

/// A new RSA key of `bits` bits with exponent 65537, made by OpenSSL (several times faster
/// than the Rust implementation at the large sizes the device offers).
#[cfg(feature = "sim-openssl")]
pub(crate) fn generate(bits: u32, rng: &SimRng) -> SimResult<rsa::RsaPrivateKey> {
    use rsa::pkcs1::DecodeRsaPrivateKey as _;
    rng.check()?;
    let der = openssl::rsa::Rsa::generate(bits)
        .and_then(|key| key.private_key_to_der())
        .map(Zeroizing::new)
        .map_err(generation_failed)?;
    Ok(rsa::RsaPrivateKey::from_pkcs1_der(&der).map_err(generation_failed)?)
}

/// A new RSA key of `bits` bits with exponent 65537.
#[cfg(not(feature = "sim-openssl"))]
pub(crate) fn generate(bits: u32, rng: &SimRng) -> SimResult<rsa::RsaPrivateKey> {
    let bits = usize::try_from(bits).map_err(|_| "length".to_owned())?;
    Ok(rng
        .with_draws(|draws| rsa::RsaPrivateKey::new(draws, bits))?
        .map_err(generation_failed)?)
}

/// Textbook RSA: `c^d mod n` (blinded, and checked by re-encrypting), the modulus length long
/// with leading zeros, as the device answers `RAW` decryption.
pub(crate) fn raw(key: &rsa::RsaPrivateKey, encrypted: &[u8], rng: &SimRng) -> SimResult<Vec<u8>> {
    use rsa::traits::PublicKeyParts as _;
    let failed = || "Decryption failed".to_owned();
    let size = key.size();
    if encrypted.len() > size {
        return Err(failed().into());
    }
    let precision = key.n().as_ref().bits_precision();
    let c = BoxedUint::from_be_slice(encrypted, precision).map_err(|_| failed())?;
    let m = rng
        .with_draws(|draws| rsa::hazmat::rsa_decrypt_and_check(key, Some(draws), &c))?
        .map_err(|_| failed())?;
    let bytes = Zeroizing::new(m.to_be_bytes());
    let skip = bytes.len().saturating_sub(size);
    let mut out = vec![0u8; size.saturating_sub(bytes.len())];
    out.extend_from_slice(bytes.get(skip..).unwrap_or_default());
    Ok(out)
}
