//! How requests reach the NetHSM: the instances of a cluster with their keep-alive connection
//! pools ([`cluster`]), and one call's request policy over them ([`http`]): URL from path
//! segments, Basic auth, timeouts as one budget, retries and failover by status and
//! idempotency, capped answers, HTTP statuses mapped to error kinds.

pub(crate) mod cluster;
pub(crate) mod http;

use std::sync::Arc;
use std::time::Duration;

use url::Url;

use self::cluster::Cluster;
pub use self::cluster::RetryPolicy;
pub use self::http::MAX_RESPONSE_BYTES;

/// A user name and passphrase for HTTP Basic authentication (`Credentials::new(user,
/// passphrase)`; `Debug` shows the user only): hsm-http's, which every REST backend shares.
pub use hsm_http::BasicAuth as Credentials;

/// The instances a client talks to, as whom, and the time one call may take: what every
/// request of one client (and of its clones) goes through.
pub(crate) struct Transport {
    /// The first instance's base URL.
    pub(crate) base: Url,
    pub(crate) cluster: Arc<Cluster>,
    pub(crate) credentials: Option<Credentials>,
    pub(crate) timeout: Duration,
}
