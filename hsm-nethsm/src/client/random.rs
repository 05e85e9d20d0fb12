//! `/random`: bytes from the device's RNG.

use hsm_core::Result;
use reqwest::Method;

use crate::client::NetHsmClient;
use crate::protocol::{RandomRequest, RandomResponse};
use crate::transport::http::Request;

impl NetHsmClient {
    /// `POST /random`: `length` (1 to 1024) random bytes from the device.
    ///
    /// # Errors
    /// `InvalidInput` for a length out of range.
    pub async fn random(&self, length: u32) -> Result<Vec<u8>> {
        let request = Request::new("nethsm.random", Method::POST, &["random"])
            .json(&RandomRequest { length })?;
        let answer: RandomResponse = self.transport.json_request(&request).await?;
        Ok(answer.random)
    }
}
