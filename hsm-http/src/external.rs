//! Requests over connection pools a backend made itself (reqwest clients handed to
//! [`HttpClientBuilder::build_over`](crate::HttpClientBuilder::build_over)).

use secrecy::ExposeSecret as _;

use crate::answer::{Answer, Fault};
use crate::body::read_capped;
use crate::conn::Outgoing;
use crate::fault::send_fault;

/// Sends one request through `http` and reads its answer (at most its `cap` bytes of body).
pub(crate) async fn exchange(
    http: &reqwest::Client,
    request: &Outgoing<'_>,
) -> Result<Answer, Fault> {
    let (operation, device, cap) = (request.operation, request.device, request.cap);
    let mut builder = http.request(request.method.clone(), request.url.clone());
    if let Some(auth) = request.auth {
        builder = builder.basic_auth(&auth.user, Some(auth.password.expose_secret()));
    }
    if let Some((content_type, body)) = request.body {
        builder = builder
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body.to_vec());
    }
    let response = builder
        .send()
        .await
        .map_err(|e| send_fault(operation, device, e))?;
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = read_capped(operation, response, cap).await?;
    Ok(Answer {
        status,
        content_type,
        body,
    })
}
