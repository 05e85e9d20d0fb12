//! Mechanisms: which `CKM_*` a backend offers (from its capabilities), their info, and what each
//! signing mechanism means in hsm-rs terms.

use cryptoki_sys::*;
use hsm_core::{Capabilities, HashAlgorithm, KeySpec, KeyType, SignAlgorithm};

/// A signing mechanism, with its parameters checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SignMech {
    /// `CKM_ECDSA`: the data is a digest.
    Ecdsa,
    /// `CKM_ECDSA_SHA*`: the module hashes.
    EcdsaHash(HashAlgorithm),
    /// `CKM_RSA_PKCS`: the data is a DigestInfo.
    RsaPkcs,
    /// `CKM_SHA*_RSA_PKCS`.
    RsaPkcsHash(HashAlgorithm),
    /// `CKM_RSA_PKCS_PSS`: the data is a digest of this hash.
    RsaPss(HashAlgorithm),
    /// `CKM_SHA*_RSA_PKCS_PSS`.
    RsaPssHash(HashAlgorithm),
    /// `CKM_EDDSA` (pure Ed25519).
    Eddsa,
}

/// The parameters a caller passed with a mechanism, already read from C.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MechParams {
    /// No parameter.
    None,
    /// `CK_RSA_PKCS_PSS_PARAMS`: hash, MGF, salt length.
    Pss(CK_MECHANISM_TYPE, CK_RSA_PKCS_MGF_TYPE, CK_ULONG),
    /// `CK_EDDSA_PARAMS`: pre-hash flag and context length.
    Eddsa(bool, CK_ULONG),
    /// A parameter of a shape this module does not read.
    Other,
}

fn hash_of_ckm(m: CK_MECHANISM_TYPE) -> Option<HashAlgorithm> {
    match m {
        CKM_SHA256 => Some(HashAlgorithm::Sha256),
        CKM_SHA384 => Some(HashAlgorithm::Sha384),
        CKM_SHA512 => Some(HashAlgorithm::Sha512),
        _ => None,
    }
}

fn mgf_of(hash: HashAlgorithm) -> CK_RSA_PKCS_MGF_TYPE {
    match hash {
        HashAlgorithm::Sha384 => CKG_MGF1_SHA384,
        HashAlgorithm::Sha512 => CKG_MGF1_SHA512,
        _ => CKG_MGF1_SHA256,
    }
}

impl SignMech {
    /// Reads a mechanism and its parameters.
    ///
    /// # Errors
    /// `CKR_MECHANISM_INVALID` for a mechanism that is not a signing one this module knows,
    /// `CKR_MECHANISM_PARAM_INVALID` for parameters it cannot honour (PSS with another MGF or
    /// salt length than the hash's, EdDSA pre-hash or context).
    pub(crate) fn parse(mech: CK_MECHANISM_TYPE, params: MechParams) -> Result<Self, CK_RV> {
        let pss = |outer: Option<HashAlgorithm>| -> Result<HashAlgorithm, CK_RV> {
            let MechParams::Pss(hash, mgf, salt) = params else {
                return Err(CKR_MECHANISM_PARAM_INVALID);
            };
            let hash = hash_of_ckm(hash).ok_or(CKR_MECHANISM_PARAM_INVALID)?;
            if outer.is_some_and(|o| o != hash)
                || mgf != mgf_of(hash)
                || salt as usize != hash.output_len()
            {
                return Err(CKR_MECHANISM_PARAM_INVALID);
            }
            Ok(hash)
        };
        let no_params = |m: Self| match params {
            MechParams::None => Ok(m),
            _ => Err(CKR_MECHANISM_PARAM_INVALID),
        };
        match mech {
            CKM_ECDSA => no_params(Self::Ecdsa),
            CKM_ECDSA_SHA256 => no_params(Self::EcdsaHash(HashAlgorithm::Sha256)),
            CKM_ECDSA_SHA384 => no_params(Self::EcdsaHash(HashAlgorithm::Sha384)),
            CKM_ECDSA_SHA512 => no_params(Self::EcdsaHash(HashAlgorithm::Sha512)),
            CKM_RSA_PKCS => no_params(Self::RsaPkcs),
            CKM_SHA256_RSA_PKCS => no_params(Self::RsaPkcsHash(HashAlgorithm::Sha256)),
            CKM_SHA384_RSA_PKCS => no_params(Self::RsaPkcsHash(HashAlgorithm::Sha384)),
            CKM_SHA512_RSA_PKCS => no_params(Self::RsaPkcsHash(HashAlgorithm::Sha512)),
            CKM_RSA_PKCS_PSS => Ok(Self::RsaPss(pss(None)?)),
            CKM_SHA256_RSA_PKCS_PSS => Ok(Self::RsaPssHash(pss(Some(HashAlgorithm::Sha256))?)),
            CKM_SHA384_RSA_PKCS_PSS => Ok(Self::RsaPssHash(pss(Some(HashAlgorithm::Sha384))?)),
            CKM_SHA512_RSA_PKCS_PSS => Ok(Self::RsaPssHash(pss(Some(HashAlgorithm::Sha512))?)),
            CKM_EDDSA => match params {
                MechParams::None | MechParams::Eddsa(false, 0) => Ok(Self::Eddsa),
                _ => Err(CKR_MECHANISM_PARAM_INVALID),
            },
            _ => Err(CKR_MECHANISM_INVALID),
        }
    }

    /// The key type the mechanism needs.
    pub(crate) fn key_type(self) -> KeyType {
        match self {
            Self::Ecdsa | Self::EcdsaHash(_) => KeyType::Ec,
            Self::Eddsa => KeyType::Ed25519,
            _ => KeyType::Rsa,
        }
    }

    /// The hash the module applies to the data, for the hashing mechanisms.
    pub(crate) fn hash(self) -> Option<HashAlgorithm> {
        match self {
            Self::EcdsaHash(h) | Self::RsaPkcsHash(h) | Self::RsaPssHash(h) => Some(h),
            _ => None,
        }
    }
}

/// The hsm-rs algorithm for a hash-and-sign mechanism with this hash.
pub(crate) fn algorithm(mech: SignMech, hash: HashAlgorithm) -> SignAlgorithm {
    use HashAlgorithm::{Sha256, Sha384, Sha512};
    match (mech, hash) {
        (SignMech::Ecdsa | SignMech::EcdsaHash(_), Sha256) => SignAlgorithm::EcdsaSha256,
        (SignMech::Ecdsa | SignMech::EcdsaHash(_), Sha384) => SignAlgorithm::EcdsaSha384,
        (SignMech::Ecdsa | SignMech::EcdsaHash(_), Sha512) => SignAlgorithm::EcdsaSha512,
        (SignMech::RsaPss(_) | SignMech::RsaPssHash(_), Sha256) => SignAlgorithm::RsaPssSha256,
        (SignMech::RsaPss(_) | SignMech::RsaPssHash(_), Sha384) => SignAlgorithm::RsaPssSha384,
        (SignMech::RsaPss(_) | SignMech::RsaPssHash(_), Sha512) => SignAlgorithm::RsaPssSha512,
        (_, Sha384) => SignAlgorithm::RsaPkcs1Sha384,
        (_, Sha512) => SignAlgorithm::RsaPkcs1Sha512,
        (_, _) => SignAlgorithm::RsaPkcs1Sha256,
    }
}

/// The mechanisms a backend offers, from its capabilities, in ascending order.
pub(crate) fn list(caps: &Capabilities) -> Vec<CK_MECHANISM_TYPE> {
    let mut out = Vec::new();
    for alg in &caps.algorithms {
        let mechs: &[CK_MECHANISM_TYPE] = match alg {
            SignAlgorithm::EcdsaSha256 => &[CKM_ECDSA, CKM_ECDSA_SHA256],
            SignAlgorithm::EcdsaSha384 => &[CKM_ECDSA, CKM_ECDSA_SHA384],
            SignAlgorithm::EcdsaSha512 => &[CKM_ECDSA, CKM_ECDSA_SHA512],
            SignAlgorithm::EcdsaPrehashed => &[CKM_ECDSA],
            SignAlgorithm::RsaPkcs1Sha256 => &[CKM_RSA_PKCS, CKM_SHA256_RSA_PKCS],
            SignAlgorithm::RsaPkcs1Sha384 => &[CKM_RSA_PKCS, CKM_SHA384_RSA_PKCS],
            SignAlgorithm::RsaPkcs1Sha512 => &[CKM_RSA_PKCS, CKM_SHA512_RSA_PKCS],
            SignAlgorithm::RsaPssSha256 => &[CKM_RSA_PKCS_PSS, CKM_SHA256_RSA_PKCS_PSS],
            SignAlgorithm::RsaPssSha384 => &[CKM_RSA_PKCS_PSS, CKM_SHA384_RSA_PKCS_PSS],
            SignAlgorithm::RsaPssSha512 => &[CKM_RSA_PKCS_PSS, CKM_SHA512_RSA_PKCS_PSS],
            SignAlgorithm::Ed25519 => &[CKM_EDDSA],
            _ => &[],
        };
        out.extend_from_slice(mechs);
    }
    for spec in &caps.key_specs {
        match spec.key_type() {
            KeyType::Rsa => out.push(CKM_RSA_PKCS_KEY_PAIR_GEN),
            KeyType::Ec => out.push(CKM_EC_KEY_PAIR_GEN),
            KeyType::Ed25519 => out.push(CKM_EC_EDWARDS_KEY_PAIR_GEN),
            _ => {}
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// `C_GetMechanismInfo` for an offered mechanism: key sizes in bits and flags.
pub(crate) fn info(caps: &Capabilities, mech: CK_MECHANISM_TYPE) -> Option<CK_MECHANISM_INFO> {
    if !list(caps).contains(&mech) {
        return None;
    }
    let rsa_bits: Vec<usize> = caps.key_specs.iter().filter_map(|s| s.rsa_bits()).collect();
    let ec_bits: Vec<usize> = caps
        .key_specs
        .iter()
        .filter_map(|s| s.curve().map(|c| c.order_bits()))
        .collect();
    let range = |v: &[usize], default: (usize, usize)| {
        (
            v.iter().copied().min().unwrap_or(default.0) as CK_ULONG,
            v.iter().copied().max().unwrap_or(default.1) as CK_ULONG,
        )
    };
    let ec_flags = CKF_EC_F_P | CKF_EC_NAMEDCURVE | CKF_EC_UNCOMPRESS;
    let (min, max, flags) = match mech {
        CKM_RSA_PKCS_KEY_PAIR_GEN => {
            let (a, b) = range(&rsa_bits, (2048, 4096));
            (a, b, CKF_HW | CKF_GENERATE_KEY_PAIR)
        }
        CKM_EC_KEY_PAIR_GEN => {
            let (a, b) = range(&ec_bits, (256, 521));
            (a, b, CKF_HW | CKF_GENERATE_KEY_PAIR | ec_flags)
        }
        CKM_EC_EDWARDS_KEY_PAIR_GEN => (255, 255, CKF_HW | CKF_GENERATE_KEY_PAIR),
        CKM_EDDSA => (255, 255, CKF_HW | CKF_SIGN),
        CKM_ECDSA | CKM_ECDSA_SHA256 | CKM_ECDSA_SHA384 | CKM_ECDSA_SHA512 => {
            let (a, b) = range(&ec_bits, (256, 521));
            (a, b, CKF_HW | CKF_SIGN | ec_flags)
        }
        _ => {
            let (a, b) = range(&rsa_bits, (2048, 4096));
            (a, b, CKF_HW | CKF_SIGN)
        }
    };
    Some(CK_MECHANISM_INFO {
        ulMinKeySize: min,
        ulMaxKeySize: max,
        flags,
    })
}

/// The key spec a `C_GenerateKeyPair` mechanism and template ask for.
///
/// # Errors
/// `CKR_MECHANISM_INVALID`, `CKR_TEMPLATE_INCOMPLETE` (no size or curve) or
/// `CKR_ATTRIBUTE_VALUE_INVALID` / `CKR_TEMPLATE_INCONSISTENT` (a size, exponent or curve this
/// module cannot make).
pub(crate) fn keygen_spec(
    mech: CK_MECHANISM_TYPE,
    modulus_bits: Option<CK_ULONG>,
    public_exponent: Option<&[u8]>,
    ec_params: Option<&[u8]>,
) -> Result<KeySpec, CK_RV> {
    match mech {
        CKM_RSA_PKCS_KEY_PAIR_GEN => {
            let bits = modulus_bits.ok_or(CKR_TEMPLATE_INCOMPLETE)?;
            if let Some(e) = public_exponent {
                let trimmed: Vec<u8> = e.iter().copied().skip_while(|b| *b == 0).collect();
                if trimmed != [0x01, 0x00, 0x01] {
                    return Err(CKR_TEMPLATE_INCONSISTENT);
                }
            }
            KeySpec::rsa(bits as usize).ok_or(CKR_ATTRIBUTE_VALUE_INVALID)
        }
        CKM_EC_KEY_PAIR_GEN => {
            let params = ec_params.ok_or(CKR_TEMPLATE_INCOMPLETE)?;
            match crate::object::spec_from_ec_params(params) {
                Some(spec @ KeySpec::Ec(_)) => Ok(spec),
                _ => Err(CKR_CURVE_NOT_SUPPORTED),
            }
        }
        CKM_EC_EDWARDS_KEY_PAIR_GEN => match ec_params.map(crate::object::spec_from_ec_params) {
            None | Some(Some(KeySpec::Ed25519)) => Ok(KeySpec::Ed25519),
            _ => Err(CKR_CURVE_NOT_SUPPORTED),
        },
        _ => Err(CKR_MECHANISM_INVALID),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pss_parameters_must_match_the_hash() {
        let ok = MechParams::Pss(CKM_SHA256, CKG_MGF1_SHA256, 32);
        assert_eq!(
            SignMech::parse(CKM_SHA256_RSA_PKCS_PSS, ok),
            Ok(SignMech::RsaPssHash(HashAlgorithm::Sha256))
        );
        assert_eq!(
            SignMech::parse(CKM_SHA384_RSA_PKCS_PSS, ok),
            Err(CKR_MECHANISM_PARAM_INVALID)
        );
        let short_salt = MechParams::Pss(CKM_SHA256, CKG_MGF1_SHA256, 20);
        assert_eq!(
            SignMech::parse(CKM_RSA_PKCS_PSS, short_salt),
            Err(CKR_MECHANISM_PARAM_INVALID)
        );
        assert_eq!(
            SignMech::parse(CKM_RSA_PKCS_PSS, MechParams::None),
            Err(CKR_MECHANISM_PARAM_INVALID)
        );
        assert_eq!(
            SignMech::parse(CKM_EDDSA, MechParams::Eddsa(true, 0)),
            Err(CKR_MECHANISM_PARAM_INVALID)
        );
        assert_eq!(
            SignMech::parse(CKM_MD5, MechParams::None),
            Err(CKR_MECHANISM_INVALID)
        );
    }

    #[test]
    fn mechanisms_follow_capabilities() {
        let caps = Capabilities::new(
            vec![KeySpec::Ec(hsm_core::Curve::P256)],
            vec![SignAlgorithm::EcdsaSha256],
        );
        assert_eq!(
            list(&caps),
            vec![CKM_EC_KEY_PAIR_GEN, CKM_ECDSA, CKM_ECDSA_SHA256]
        );
        let i = info(&caps, CKM_ECDSA).unwrap();
        assert_eq!((i.ulMinKeySize, i.ulMaxKeySize), (256, 256));
        assert!(info(&caps, CKM_RSA_PKCS).is_none());
    }
}
