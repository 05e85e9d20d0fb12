//! Classifying a failure to get an answer's head into a [`Fault`].

use hsm_core::{Error, ErrorKind};

use crate::answer::Fault;

/// Whether the TLS layer refused the server (certificate, name, pin): a repeat to the same
/// server cannot help.
pub(crate) fn is_tls_refusal(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(e);
    // The chain is short (reqwest, hyper, io, rustls; or io, rustls); the bound only guards against cycles.
    for _ in 0..16 {
        let Some(err) = next else {
            return false;
        };
        if err.downcast_ref::<rustls::Error>().is_some() {
            return true;
        }
        // io::Error hides its payload from `source()`: step inside instead.
        next = match err.downcast_ref::<std::io::Error>() {
            Some(io) => io
                .get_ref()
                .map(|inner| inner as &(dyn std::error::Error + 'static)),
            None => err.source(),
        };
    }
    false
}

/// The fault of a request that got no answer head. The error never carries the URL (a path may
/// carry a PIN).
pub(crate) fn send_fault(operation: &str, device: &str, e: reqwest::Error) -> Fault {
    let kind = if e.is_timeout() {
        ErrorKind::Timeout
    } else {
        ErrorKind::Unavailable
    };
    let refused = is_tls_refusal(&e);
    let not_sent = e.is_connect();
    let error = Error::new(kind, operation.to_owned());
    let error = if refused {
        error.with_message(format!(
            "the TLS connection to the {device} was refused (certificate, name or pin)"
        ))
    } else if not_sent {
        error.with_message(format!("cannot connect to the {device}"))
    } else {
        error.with_message(format!("no answer from the {device}"))
    }
    .with_source(e.without_url());
    if refused {
        Fault::Refused(error)
    } else if not_sent {
        Fault::NotSent(error)
    } else {
        Fault::Unknown(error)
    }
}
