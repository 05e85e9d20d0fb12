//! Backend URIs, key identifiers, key specs and algorithm names: anything a user types.

use hsm_core::tls::TlsOptions;
use hsm_core::uri::BackendUri;
use hsm_core::{KeyId, KeySpec, SignAlgorithm};

/// The input is text.
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(mut uri) = BackendUri::parse(text) {
        let _ = uri.take_password();
        let _ = TlsOptions::from_query(&mut uri.query);
        let _ = uri.query.take_secret("pin-value", "pin-env", "pin-source");
    }
    if let Ok(id) = text.parse::<KeyId>() {
        assert_eq!(
            id.to_string()
                .parse::<KeyId>()
                .expect("display parses back"),
            id
        );
    }
    if let Ok(spec) = text.parse::<KeySpec>() {
        assert_eq!(spec.to_string().parse::<KeySpec>().ok(), Some(spec));
    }
    if let Ok(algorithm) = text.parse::<SignAlgorithm>() {
        assert_eq!(
            algorithm.to_string().parse::<SignAlgorithm>().ok(),
            Some(algorithm)
        );
    }
}
