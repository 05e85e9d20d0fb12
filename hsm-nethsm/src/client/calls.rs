//! The request shapes the API groups share, one method each on [`NetHsmClient`]: a JSON
//! answer to a `GET`, a text (PEM) answer to a `GET`, a request with no body, a JSON or a
//! PEM body with no answer of interest, and a `POST` of JSON with a JSON answer.

use hsm_core::Result;
use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::client::NetHsmClient;
use crate::protocol::ids;
use crate::transport::http::Request;

impl NetHsmClient {
    /// `GET` the path `segments`: the JSON answer.
    pub(crate) async fn get_json<T: DeserializeOwned>(
        &self,
        operation: &'static str,
        segments: &[&str],
    ) -> Result<T> {
        let request = Request::new(operation, Method::GET, segments);
        self.transport.json_request(&request).await
    }

    /// `GET` the path `segments`: the text (PEM) answer.
    pub(crate) async fn get_text(
        &self,
        operation: &'static str,
        segments: &[&str],
    ) -> Result<String> {
        let request = Request::new(operation, Method::GET, segments);
        self.transport.text(request).await
    }

    /// `method` on the path `segments` with no body; the answer's body is dropped.
    pub(crate) async fn send(
        &self,
        operation: &'static str,
        method: Method,
        segments: &[&str],
    ) -> Result<()> {
        let request = Request::new(operation, method, segments);
        self.transport.no_answer(request).await
    }

    /// `method` on the path `segments` with `body` as JSON; the answer's body is dropped.
    pub(crate) async fn send_json(
        &self,
        operation: &'static str,
        method: Method,
        segments: &[&str],
        body: &impl Serialize,
    ) -> Result<()> {
        let request = Request::new(operation, method, segments).json(body)?;
        self.transport.no_answer(request).await
    }

    /// `POST` `body` as JSON to the path `segments`: the JSON answer.
    pub(crate) async fn post_for_json<T: DeserializeOwned>(
        &self,
        operation: &'static str,
        segments: &[&str],
        body: &impl Serialize,
    ) -> Result<T> {
        let request = Request::new(operation, Method::POST, segments).json(body)?;
        self.transport.json_request(&request).await
    }

    /// `PUT` `pem` (`application/x-pem-file`) to the path `segments`.
    pub(crate) async fn put_pem(
        &self,
        operation: &'static str,
        segments: &[&str],
        pem: &str,
    ) -> Result<()> {
        let request = Request::new(operation, Method::PUT, segments)
            .body("application/x-pem-file", pem.as_bytes().to_vec());
        self.transport.no_answer(request).await
    }

    /// `method` on the tag `tag` of what `owner` names (`/keys/{id}/restrictions`,
    /// `/users/{id}`), the tag checked first.
    pub(crate) async fn send_tag(
        &self,
        operation: &'static str,
        method: Method,
        owner: &[&str],
        tag: &str,
    ) -> Result<()> {
        ids::check(operation, "tag", tag)?;
        let segments: Vec<&str> = owner.iter().copied().chain(["tags", tag]).collect();
        self.send(operation, method, &segments).await
    }
}
