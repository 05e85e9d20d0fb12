//! `hsm::open_async(uri)`: any backend as an [`AsyncHsm`] for a tokio service (feature `tokio`).

use std::sync::Arc;

use hsm_core::asynchronous::AsyncOverBlocking;
use hsm_core::{AsyncHsm, Error, ErrorKind, Result};

/// Opens the backend a URI names (the same URIs as [`open`](crate::open)) as an async backend,
/// cheap to clone and shared by every task: `Arc<dyn AsyncHsm>`.
///
/// Opening connects and logs in off the executor. PKCS#11 and PC/SC backends then run each call
/// on tokio's blocking pool, at most 32 at once
/// ([`AsyncOverBlocking`]); the calls of the REST backends run the same way until their native
/// async clients are wired in here.
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
    let uri = uri.to_owned();
    let blocking = tokio::task::spawn_blocking(move || crate::open(&uri))
        .await
        .map_err(|e| {
            Error::new(ErrorKind::Device, "hsm::open_async")
                .with_message("opening the backend did not finish")
                .with_source(e)
        })??;
    Ok(Arc::new(AsyncOverBlocking::new(Arc::from(blocking))))
}
