//! Reading an answer's body up to the cap, no further.

use hsm_core::{DeviceStatus, Error, ErrorKind};

use crate::answer::Fault;

/// Reads the body of `response`: refused unread when its `Content-Length` announces more than
/// `cap`, dropped (the connection with it) as soon as more than `cap` bytes came.
pub(crate) async fn read_capped(
    operation: &str,
    mut response: reqwest::Response,
    cap: usize,
) -> Result<Vec<u8>, Fault> {
    let status = response.status().as_u16();
    let cap_u64 = u64::try_from(cap).unwrap_or(u64::MAX);
    if let Some(announced) = response.content_length()
        && announced > cap_u64
    {
        return Err(Fault::TooBig(too_big(
            operation,
            status,
            cap,
            Some(announced),
        )));
    }
    let announced = response.content_length().unwrap_or(0);
    let mut body = Vec::with_capacity(usize::try_from(announced).unwrap_or(0).min(cap));
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len().saturating_add(chunk.len()) > cap {
                    return Err(Fault::TooBig(too_big(operation, status, cap, None)));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body),
            Err(e) => {
                let kind = if e.is_timeout() {
                    ErrorKind::Timeout
                } else {
                    ErrorKind::Unavailable
                };
                return Err(Fault::Unknown(
                    Error::new(kind, operation.to_owned())
                        .with_status(DeviceStatus::Http(status))
                        .with_message(format!("the answer broke off after {} bytes", body.len()))
                        .with_source(e.without_url()),
                ));
            }
        }
    }
}

fn too_big(operation: &str, status: u16, cap: usize, announced: Option<u64>) -> Error {
    let message = match announced {
        Some(n) => format!(
            "the answer announces {n} bytes, longer than the limit of {cap} bytes; not read"
        ),
        None => format!("the answer is longer than the limit of {cap} bytes; read no further"),
    };
    Error::protocol(operation.to_owned(), message).with_status(DeviceStatus::Http(status))
}
