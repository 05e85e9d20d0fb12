//! A hostile SmartCard-HSM: the whole backend (`hsm_sc::ScHsm` over `ScClient`) runs a
//! session against a card whose answers come from the fuzz input. This reaches every response
//! parser of the command layer (SELECT, PIN status, ENUMERATE OBJECTS, READ BINARY chaining,
//! the key table from `C4xx`/`CExx`, GENERATE ASYMMETRIC KEY PAIR, SIGN, DKEK status, WRAP KEY,
//! GET CHALLENGE, login again after the card was pulled out) through the public API only.
//! Nothing may panic or loop.

use std::collections::VecDeque;

use hsm_core::{
    Curve, Error, ErrorKind, KeyId, KeySpec, KeyStore, KeyTemplate, Result, SignAlgorithm, Signer,
};
use hsm_sc::transport::{CardChannel, Transmit};
use hsm_sc::{ScClient, ScHsm};
use secrecy::SecretString;

use crate::script;

/// The user PIN of the session (the simulator's default, so that recorded seeds replay).
pub const USER_PIN: &str = "648219";

/// A card that answers each command with the next scripted answer and then goes away. A
/// one-byte record (never a valid answer: a status word alone is two) stands for the card being
/// pulled out and put back: that command fails as `Unavailable` and the channel reports a reset.
#[derive(Debug)]
pub struct ScriptedCard {
    answers: VecDeque<Vec<u8>>,
    reset: bool,
}

impl ScriptedCard {
    /// A card giving `answers` in order.
    #[must_use]
    pub fn new(answers: impl IntoIterator<Item = Vec<u8>>) -> Self {
        Self {
            answers: answers.into_iter().collect(),
            reset: false,
        }
    }
}

impl Transmit for ScriptedCard {
    fn transmit(&mut self, _command: &[u8]) -> Result<Vec<u8>> {
        let gone = || Error::new(ErrorKind::Unavailable, "fuzz.transmit");
        match self.answers.pop_front() {
            Some(a) if a.len() == 1 => {
                self.reset = true;
                Err(gone().with_message("the card was removed"))
            }
            Some(a) => Ok(a),
            None => Err(gone().with_message("the card went away")),
        }
    }
}

impl CardChannel for ScriptedCard {
    fn exclusive(&mut self, body: &mut dyn FnMut(&mut dyn Transmit) -> Result<()>) -> Result<()> {
        body(self)
    }

    fn take_reset(&mut self) -> bool {
        std::mem::take(&mut self.reset)
    }
}

/// The input is a script of card answers (see [`script`]).
pub fn run(data: &[u8]) {
    let card = ScriptedCard::new(script::split(data).into_iter().map(<[u8]>::to_vec));
    let Ok(hsm) = ScHsm::new(
        ScClient::new(Box::new(card)),
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
    // After a removal the backend waits for an explicit login; then signing works again.
    if hsm.login().is_ok()
        && let Ok(keys) = hsm.list_keys()
        && let Some(key) = keys.first()
    {
        let _ = hsm.sign(&key.id, SignAlgorithm::EcdsaPrehashed, &[0x5A; 32]);
    }
}
