//! `hsm::open_async(uri)`: any backend as an [`AsyncHsm`] for a tokio service (feature `tokio`).

use std::sync::Arc;

use hsm_core::asynchronous::AsyncOverBlocking;
use hsm_core::{AsyncHsm, Error, ErrorKind, OpenOptions, Result};

/// Opens the backend a URI names (the same URIs as [`open`](crate::open)) as an async backend,
/// cheap to clone and shared by every task: `Arc<dyn AsyncHsm>`.
///
/// The NetHSM and N200 backends are async natively: a signature is one request on the caller's
/// runtime, no thread hop and no second runtime (`nethsm+sim:` runs its simulator on the
/// caller's runtime, `n200+sim:` on threads of its own). PKCS#11 and PC/SC block by nature:
/// those backends open off the executor and then run each call on tokio's blocking pool, at most
/// 32 at once ([`AsyncOverBlocking`]).
///
/// ```no_run
/// # async fn demo() -> hsm::Result<()> {
/// use hsm::{AsyncSigner as _, KeyId, SignAlgorithm};
///
/// let hsm = hsm::open_async("nethsm://operator@10.1.2.3:8443?password-env=NETHSM_PASS").await?;
/// let key: KeyId = "signer1".parse()?;
/// let signature = hsm.sign(&key, SignAlgorithm::EcdsaSha256, b"payload").await?;
/// # Ok(()) }
/// ```
///
/// # Errors
/// As [`open`](crate::open); [`ErrorKind::Device`] if the opening task panicked.
pub async fn open_async(uri: &str) -> Result<Arc<dyn AsyncHsm>> {
    open_async_with(uri, OpenOptions::new()).await
}

/// [`open_async`] with options given in code, as [`open_with`](crate::open_with).
///
/// # Errors
/// As [`open_async`].
pub async fn open_async_with(uri: &str, options: OpenOptions) -> Result<Arc<dyn AsyncHsm>> {
    #[cfg(feature = "nethsm")]
    if has_scheme(uri, "nethsm") && crate::open::simulator_allowed(uri) {
        return Ok(Arc::new(hsm_nethsm::open_async_with(uri, options)?));
    }
    #[cfg(feature = "n200")]
    if has_scheme(uri, "n200") && crate::open::simulator_allowed(uri) {
        return Ok(Arc::new(hsm_n200::open_async_with(uri, options)?));
    }
    let uri = uri.to_owned();
    let blocking = tokio::task::spawn_blocking(move || crate::open_with(&uri, options))
        .await
        .map_err(|e| {
            Error::new(ErrorKind::Device, "hsm::open_async")
                .with_message("opening the backend did not finish")
                .with_source(e)
        })??;
    Ok(Arc::new(AsyncOverBlocking::new(Arc::from(blocking))))
}

/// Whether `uri`'s scheme is `base` or `base+sim` (any case).
#[cfg(any(feature = "nethsm", feature = "n200"))]
fn has_scheme(uri: &str, base: &str) -> bool {
    uri.split_once(':').is_some_and(|(scheme, _)| {
        let scheme = scheme.to_ascii_lowercase();
        scheme.strip_suffix("+sim").unwrap_or(&scheme) == base
    })
}
