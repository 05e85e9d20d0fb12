//! A hostile SmartCard-HSM: the whole backend (`hsm_sc::ScHsm` over `SmartCardHsm`) runs a
//! session against a card whose answers come from the fuzz input. This reaches every response
//! parser of the command layer (SELECT, PIN status, ENUMERATE OBJECTS, READ BINARY chaining,
//! the key table from `C4xx`/`CExx`, GENERATE ASYMMETRIC KEY PAIR, SIGN, DKEK status, WRAP KEY,
//! GET CHALLENGE) through the public API only. Nothing may panic or loop.

use std::collections::VecDeque;

use hsm_core::{
    Curve, Error, ErrorKind, KeyId, KeySpec, KeyStore, KeyTemplate, Result, SignAlgorithm, Signer,
};
use hsm_sc::transport::{CardChannel, Transmit};
use hsm_sc::{ScHsm, SmartCardHsm};
use secrecy::SecretString;

use crate::script;

/// The user PIN of the session (the simulator's default, so that recorded seeds replay).
pub const USER_PIN: &str = "648219";

/// A card that answers each command with the next scripted answer and then goes away.
#[derive(Debug)]
pub struct ScriptedCard {
    answers: VecDeque<Vec<u8>>,
}

impl ScriptedCard {
    /// A card giving `answers` in order.
    #[must_use]
    pub fn new(answers: impl IntoIterator<Item = Vec<u8>>) -> Self {
        Self {
            answers: answers.into_iter().collect(),
        }
    }
}

impl Transmit for ScriptedCard {
    fn transmit(&mut self, _command: &[u8]) -> Result<Vec<u8>> {
        self.answers.pop_front().ok_or_else(|| {
            Error::new(ErrorKind::Unavailable, "fuzz.transmit").with_message("the card went away")
        })
    }
}

impl CardChannel for ScriptedCard {
    fn exclusive(&mut self, body: &mut dyn FnMut(&mut dyn Transmit) -> Result<()>) -> Result<()> {
        body(self)
    }
}

/// The input is a script of card answers (see [`script`]).
pub fn run(data: &[u8]) {
    let card = ScriptedCard::new(script::split(data).into_iter().map(<[u8]>::to_vec));
    let Ok(hsm) = ScHsm::new(
        SmartCardHsm::new(Box::new(card)),
        Some(SecretString::from(USER_PIN)),
    ) else {
        return;
    };
    session(&hsm);
}

/// What the target does with the card. The seed generator runs the same session against the
/// simulator and records the answers, so each seed replays a real conversation.
pub fn session(hsm: &ScHsm) {
    let _ = hsm.serial();
    let _ = hsm.pin_status();
    let _ = hsm.dkek_status();
    if let Ok(keys) = hsm.list_keys() {
        for key in keys.iter().take(4) {
            let _ = hsm.key_info(&key.id);
            let _ = hsm.public_key(&key.id);
            let algorithm = match key.spec {
                Some(KeySpec::Ec(_)) => SignAlgorithm::EcdsaSha256,
                _ => SignAlgorithm::RsaPkcs1Sha256,
            };
            if let Ok(sig) = hsm.sign(&key.id, algorithm, b"fuzz") {
                let _ = (sig.to_raw(), sig.to_der());
            }
            let _ = hsm.wrap_key(&key.id);
        }
    }
    if let Ok(id) = KeyId::name("fuzz-generated") {
        let template = KeyTemplate::new(id.clone(), KeySpec::Ec(Curve::P256));
        if hsm.generate_key(&template).is_ok() {
            let _ = hsm.sign(&id, SignAlgorithm::EcdsaSha256, b"fuzz");
            let _ = hsm.delete_key(&id);
        }
    }
    let _ = hsm.read_data_object("fuzz");
    let _ = hsm.random(32);
}
