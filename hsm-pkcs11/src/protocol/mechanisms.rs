//! Mechanisms: which ones the backend uses, the capabilities a token's mechanisms give, and the
//! mechanism and parameters that sign with each algorithm.
//!
//! | algorithm | mechanism | input |
//! |---|---|---|
//! | ECDSA | `CKM_ECDSA` | the digest, hashed on the host (SoftHSM2 has no `CKM_ECDSA_SHA256`) |
//! | RSA PKCS#1 v1.5 | `CKM_RSA_PKCS` | the `DigestInfo`, built on the host |
//! | RSA-PSS | `CKM_RSA_PKCS_PSS`, MGF1 with the same hash, salt = hash length | the digest |
//! | Ed25519 | `CKM_EDDSA` (pure) | the whole message |

use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsPssParams};
use cryptoki::mechanism::{Mechanism, MechanismType};
use hsm_core::{Capabilities, Curve, HashAlgorithm, KeySpec, SignAlgorithm};

/// The mechanisms of one token, reduced to what the backend uses.
#[derive(Clone, Debug, Default)]
pub struct Mechanisms {
    /// `CKM_RSA_PKCS_KEY_PAIR_GEN`
    pub rsa_gen: bool,
    /// `CKM_RSA_PKCS` (raw PKCS#1 v1.5 over a DigestInfo)
    pub rsa_pkcs: bool,
    /// `CKM_RSA_PKCS_PSS`
    pub rsa_pss: bool,
    /// `CKM_EC_KEY_PAIR_GEN`
    pub ec_gen: bool,
    /// `CKM_ECDSA` (over a digest)
    pub ecdsa: bool,
    /// `CKM_EC_EDWARDS_KEY_PAIR_GEN`
    pub ed_gen: bool,
    /// `CKM_EDDSA`
    pub eddsa: bool,
}

impl Mechanisms {
    /// The mechanisms `has` says the token supports, asked once for each the backend uses.
    pub(crate) fn probe(has: impl Fn(MechanismType) -> bool) -> Self {
        Self {
            rsa_gen: has(MechanismType::RSA_PKCS_KEY_PAIR_GEN),
            rsa_pkcs: has(MechanismType::RSA_PKCS),
            rsa_pss: has(MechanismType::RSA_PKCS_PSS),
            ec_gen: has(MechanismType::ECC_KEY_PAIR_GEN),
            ecdsa: has(MechanismType::ECDSA),
            ed_gen: has(MechanismType::ECC_EDWARDS_KEY_PAIR_GEN),
            eddsa: has(MechanismType::EDDSA),
        }
    }

    /// Reads a list a token reported (`C_GetMechanismList`).
    #[must_use]
    pub fn from_list(list: &[MechanismType]) -> Self {
        Self::probe(|m| list.contains(&m))
    }

    /// The capabilities these mechanisms give, for the EC curves the token supports.
    #[must_use]
    pub fn capabilities(&self, curves: &[Curve]) -> Capabilities {
        let mut specs = Vec::new();
        let mut algorithms = Vec::new();
        if self.rsa_gen && (self.rsa_pkcs || self.rsa_pss) {
            specs.extend([KeySpec::Rsa2048, KeySpec::Rsa3072, KeySpec::Rsa4096]);
        }
        if self.rsa_pkcs {
            algorithms.extend([
                SignAlgorithm::RsaPkcs1Sha256,
                SignAlgorithm::RsaPkcs1Sha384,
                SignAlgorithm::RsaPkcs1Sha512,
            ]);
        }
        if self.rsa_pss {
            algorithms.extend([
                SignAlgorithm::RsaPssSha256,
                SignAlgorithm::RsaPssSha384,
                SignAlgorithm::RsaPssSha512,
            ]);
        }
        if self.ec_gen && self.ecdsa {
            specs.extend(curves.iter().map(|c| KeySpec::Ec(*c)));
        }
        if self.ecdsa {
            algorithms.extend([
                SignAlgorithm::EcdsaSha256,
                SignAlgorithm::EcdsaSha384,
                SignAlgorithm::EcdsaSha512,
                SignAlgorithm::EcdsaPrehashed,
            ]);
        }
        if self.ed_gen && self.eddsa {
            specs.push(KeySpec::Ed25519);
        }
        if self.eddsa {
            algorithms.push(SignAlgorithm::Ed25519);
        }
        // Importing an EC key needs its public point computed on the host: every curve but
        // brainpoolP512r1, for which no Rust implementation exists.
        let importable = specs
            .iter()
            .copied()
            .filter(|s| *s != KeySpec::Ec(Curve::BrainpoolP512r1))
            .collect();
        Capabilities::new(specs, algorithms)
            .with_import(true)
            .with_import_specs(importable)
            .with_delete(true)
    }
}

/// The curves a token may support, tried in this order at start-up: every curve hsm-core names.
pub(crate) const CANDIDATE_CURVES: [Curve; 7] = Curve::ALL;

/// The `CKM_RSA_PKCS_PSS` parameters for `hash`: MGF1 with the same hash, salt = hash length.
fn pss(hash: HashAlgorithm) -> PkcsPssParams {
    let (hash_alg, mgf) = match hash {
        HashAlgorithm::Sha256 => (MechanismType::SHA256, PkcsMgfType::MGF1_SHA256),
        HashAlgorithm::Sha384 => (MechanismType::SHA384, PkcsMgfType::MGF1_SHA384),
        _ => (MechanismType::SHA512, PkcsMgfType::MGF1_SHA512),
    };
    PkcsPssParams {
        hash_alg,
        mgf,
        s_len: (hash.output_len() as u64).into(),
    }
}

/// The mechanism that signs with `algorithm` (see the [module docs](self)).
pub(crate) fn sign_mechanism(algorithm: SignAlgorithm) -> Mechanism<'static> {
    if algorithm.is_ecdsa() {
        Mechanism::Ecdsa
    } else if algorithm.is_rsa_pkcs1() {
        Mechanism::RsaPkcs
    } else if algorithm.is_rsa_pss() {
        Mechanism::RsaPkcsPss(pss(algorithm.hash().unwrap_or(HashAlgorithm::Sha256)))
    } else {
        Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Pure))
    }
}
