//! The bodies of `/random`.

use serde::{Deserialize, Serialize};
use serde_with::base64::Base64;
use serde_with::serde_as;

/// The most bytes one `POST /random` gives (the spec's `RandomRequestData.length` maximum;
/// the device answers 400 above it).
pub const MAX_RANDOM_PER_REQUEST: u32 = 1024;

/// `POST /random`.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RandomRequest {
    /// Bytes wanted, 1 to [`MAX_RANDOM_PER_REQUEST`].
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
