//! One module per fuzz target, each with `pub fn run(data: &[u8])`.

pub mod backend_uri;
pub mod http_answers;
pub mod n200_answers;
pub mod n200_command_table;
pub mod n200_labels;
pub mod n200_signature;
pub mod nethsm_json;
pub mod pkcs11_uri;
pub mod private_key_der;
pub mod public_key_der;
pub mod sc_answers;
pub mod sc_apdu;
pub mod sc_card;
pub mod sc_cvc;
pub mod sc_files;
pub mod sc_pkcs15;
pub mod sc_tlv;
pub mod signature_der;
