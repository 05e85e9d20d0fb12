//! hsm-core's async traits ([`AsyncKeyStore`](hsm_core::AsyncKeyStore),
//! [`AsyncSigner`](hsm_core::AsyncSigner)) over the inherent methods of the same names: every
//! method, each `Box::pin` of its inherent twin (hsm-core's `async_traits_from_inherent!`).

use super::AsyncNetHsm;

hsm_core::async_traits_from_inherent!(AsyncNetHsm, "nethsm");
