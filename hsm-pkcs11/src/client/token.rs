//! Choosing the token (slot) a URI names: by label, serial, manufacturer, model or slot id.

use cryptoki::context::Pkcs11;
use cryptoki::slot::Slot;
use hsm_core::{Error, ErrorKind, Result};

use crate::error::map;
use crate::uri::Pkcs11Uri;

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
