//! hsm-core's async traits on [`AsyncN200`]: each call is its own future on the caller's runtime
//! (one request per signature on the shared connection pool, no thread hop). The impls forward
//! to `AsyncN200`'s inherent methods (hsm-core's `async_traits_from_inherent!`); the N200 stores
//! no certificates with keys, so the certificate methods keep the traits' `Unsupported`.

use super::AsyncN200;

hsm_core::async_traits_from_inherent!(AsyncN200, "n200", {
    AsyncKeyStore: capabilities, list_keys, key_info, generate_key, import_key, delete_key,
        public_key, health, random;
    AsyncSigner: sign, sign_digest, sign_many;
});
