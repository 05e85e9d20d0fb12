//! What the token can do: the declared capabilities follow the mechanisms it reports.
//!
//! Each mechanism the backend uses is asked about with `C_GetMechanismInfo` rather than read
//! from `C_GetMechanismList` through cryptoki: the answer is the same, but cryptoki logs an
//! ERROR line for every vendor or legacy mechanism in the list it has no name for (dozens on
//! SoftHSM2, on every open).

use cryptoki::context::Pkcs11;
use cryptoki::mechanism::MechanismType;
use cryptoki::slot::Slot;
use hsm_core::{Capabilities, Curve, KeySpec, SignAlgorithm};

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
    /// Asks the token in `slot` about each mechanism the backend uses; one it does not know
    /// (`CKR_MECHANISM_INVALID`, or any other refusal) counts as absent.
    #[must_use]
    pub fn detect(pkcs11: &Pkcs11, slot: Slot) -> Self {
        let has = |m: MechanismType| pkcs11.get_mechanism_info(slot, m).is_ok();
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
        let has = |m: MechanismType| list.contains(&m);
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

/// The curves a token may support, tried in this order at start-up.
pub(crate) const CANDIDATE_CURVES: [Curve; 7] = [
    Curve::P256,
    Curve::P384,
    Curve::P521,
    Curve::Secp256k1,
    Curve::BrainpoolP256r1,
    Curve::BrainpoolP384r1,
    Curve::BrainpoolP512r1,
];
