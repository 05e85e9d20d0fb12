//! [`Signer`](hsm_core::Signer) for [`Pkcs11Hsm`]: every signature goes through a
//! [`SignRequest`] (checks, hashing, `DigestInfo`, reading the token's answer), on a private key
//! handle looked up once and cached, and looked up again when the token says the cached one went
//! stale. `sign` and `sign_digest` come from hsm-core's `sign_pipeline!`.

use std::sync::PoisonError;

use cryptoki::object::ObjectHandle;
use hsm_core::{Error, ErrorKind, KeyId, KeySpec, Result, SignRequest, Signature};

use crate::backend::sign_many::sign_each;
use crate::backend::{Pkcs11Hsm, named};
use crate::client::{keys, sign};
use crate::protocol::return_codes::has_return_code;

impl Pkcs11Hsm {
    /// Drops the cached handle of `key`.
    pub(crate) fn forget(&self, key: &KeyId) {
        self.handles
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(key);
    }

    /// The private key handle and spec of `key`, and whether they came from the cache (looked
    /// up and cached on a miss).
    fn lookup(
        &self,
        key: &KeyId,
        operation: &'static str,
    ) -> Result<(ObjectHandle, KeySpec, bool)> {
        if let Some(&(handle, spec)) = self
            .handles
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
        {
            return Ok((handle, spec, true));
        }
        let (handle, spec) = self.pool.run(operation, |s| {
            let h = keys::find_private(s, key, operation)?;
            let spec = keys::spec_of(s, h)?.ok_or_else(|| {
                Error::unsupported(
                    operation,
                    format!("{key} has a key type this library does not model"),
                )
            })?;
            Ok((h, spec))
        })?;
        self.handles
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key.clone(), (handle, spec));
        Ok((handle, spec, false))
    }

    fn sign_request(&self, key: &KeyId, request: &SignRequest) -> Result<Signature> {
        let algorithm = request.algorithm();
        let operation = request.operation();
        if !self.capabilities.has_algorithm(algorithm) {
            return Err(sign::unsupported(algorithm, operation));
        }
        let attempt = |(handle, spec, _): (ObjectHandle, KeySpec, bool)| {
            request.check_key(spec)?;
            let input = sign::token_input(request)?;
            let out = self
                .pool
                .run(operation, |s| sign::run(s, handle, algorithm, &input))?;
            sign::signature(request, spec, &out)
        };
        let found = self.lookup(key, operation)?;
        let cached = found.2;
        match attempt(found) {
            Err(e) if is_stale(&e) || (cached && e.kind() == ErrorKind::InvalidInput) => {
                // The cached handle or spec went stale: the key was deleted (and perhaps
                // re-created, even with another type) by someone else, or a logout dropped the
                // token's private handles. Log in again if needed and look the key up afresh.
                tracing::debug!(operation, "stale key handle; looking the key up again");
                self.forget(key);
                if self.pool.login_lost() {
                    self.pool
                        .recover()
                        .map_err(|r| r.with_operation(operation))?;
                }
                attempt(self.lookup(key, operation)?)
            }
            other => other,
        }
    }
}

/// Whether the token refused a handle it no longer knows.
fn is_stale(e: &Error) -> bool {
    has_return_code(e, "CKR_OBJECT_HANDLE_INVALID") || has_return_code(e, "CKR_KEY_HANDLE_INVALID")
}

hsm_core::sign_pipeline! {
    impl Signer for Pkcs11Hsm {
        #[tracing::instrument(name = "pkcs11.sign", skip_all)]
        fn sign;
        #[tracing::instrument(name = "pkcs11.sign_digest", skip_all)]
        fn sign_digest;
        /// Signs on up to [`Options::sign_many_threads`](crate::Options::sign_many_threads)
        /// threads at once (at most the pool's sessions), one session each. Every message gets
        /// its result, in order: a message whose signing panicked, or that a lost thread never
        /// signed, gets an [`ErrorKind::InvalidState`] error of `pkcs11.sign_many`, and the other
        /// messages are still signed.
        fn sign_many;
        operations: "pkcs11",
        max_message_len: |hsm| hsm.capabilities.max_message_len,
        sign_request: |hsm, key, algorithm, request, operation| {
            hsm.sign_request(key, &request?).map_err(named(operation))
        },
        sign_many: |hsm, key, algorithm, messages, operation| {
            let threads = hsm
                .sign_many_threads
                .min(hsm.pool.max_sessions())
                .min(messages.len())
                .max(1);
            sign_each(threads, messages, |m| hsm.sign(key, algorithm, m))
        },
    }
}
