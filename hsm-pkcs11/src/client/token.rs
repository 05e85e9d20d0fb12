//! The token: choosing the slot a URI names (by label, serial, manufacturer, model or slot id)
//! and asking it what it can do.
//!
//! Each mechanism the backend uses is asked about with `C_GetMechanismInfo` rather than read
//! from `C_GetMechanismList` through cryptoki: the answer is the same, but cryptoki logs an
//! ERROR line for every vendor or legacy mechanism in the list it has no name for (dozens on
//! SoftHSM2, on every open).

use cryptoki::context::Pkcs11;
use cryptoki::mechanism::MechanismType;
use cryptoki::slot::Slot;
use hsm_core::{Curve, Error, ErrorKind, Result};

use crate::protocol::mechanisms::{CANDIDATE_CURVES, Mechanisms};
use crate::protocol::return_codes::map;
use crate::protocol::uri::Pkcs11Uri;

impl Mechanisms {
    /// Asks the token in `slot` about each mechanism the backend uses; one it does not know
    /// (`CKR_MECHANISM_INVALID`, or any other refusal) counts as absent.
    #[must_use]
    pub fn detect(pkcs11: &Pkcs11, slot: Slot) -> Self {
        Self::probe(|m| pkcs11.get_mechanism_info(slot, m).is_ok())
    }
}

/// The curves of [`CANDIDATE_CURVES`] whose order size the token's `CKM_EC_KEY_PAIR_GEN` key
/// sizes cover; none if it has no such mechanism.
pub(crate) fn curves(pkcs11: &Pkcs11, slot: Slot) -> Vec<Curve> {
    match pkcs11.get_mechanism_info(slot, MechanismType::ECC_KEY_PAIR_GEN) {
        Ok(info) => CANDIDATE_CURVES
            .into_iter()
            .filter(|c| (info.min_key_size()..=info.max_key_size()).contains(&c.order_bits()))
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// The one slot whose token matches every token attribute of `uri`. A slot whose token cannot
/// be read is passed over (one broken token must not hide the others), unless `slot-id` names
/// it.
pub(crate) fn select(pkcs11: &Pkcs11, uri: &Pkcs11Uri) -> Result<Slot> {
    let slots = pkcs11
        .get_slots_with_token()
        .map_err(|e| map("pkcs11.slots", e))?;
    let mut found = Vec::new();
    for slot in slots {
        if uri.slot_id.is_some_and(|id| id != slot.id()) {
            continue;
        }
        let info = match pkcs11.get_token_info(slot) {
            Ok(info) if info.token_initialized() => info,
            Ok(_) => continue,
            Err(e) if uri.slot_id.is_some() => return Err(map("pkcs11.token_info", e)),
            Err(e) => {
                tracing::debug!(slot = slot.id(), error = %map("pkcs11.token_info", e), "skipping an unreadable token");
                continue;
            }
        };
        let fits = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
        if fits(&uri.token, info.label())
            && fits(&uri.serial, info.serial_number())
            && fits(&uri.manufacturer, info.manufacturer_id())
            && fits(&uri.model, info.model())
        {
            found.push(slot);
        }
    }
    match found.as_slice() {
        [slot] => Ok(*slot),
        [] => Err(Error::new(ErrorKind::NotFound, "pkcs11.token")
            .with_message("no initialised token matches the URI's token attributes")),
        more => Err(
            Error::new(ErrorKind::InvalidInput, "pkcs11.token").with_message(format!(
                "{} tokens match; add token=, serial= or slot-id= to the URI",
                more.len()
            )),
        ),
    }
}
