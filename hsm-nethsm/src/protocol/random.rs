//! The bodies of `/random`.

use serde::{Deserialize, Serialize};
use serde_with::base64::Base64;
use serde_with::serde_as;

/// `POST /random`.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RandomRequest {
    /// Bytes wanted, 1 to 1024.
    pub length: u32,
}

/// The answer of `POST /random`.
#[serde_as]
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RandomResponse {
    /// The bytes.
    #[serde_as(as = "Base64")]
    pub random: Vec<u8>,
}
