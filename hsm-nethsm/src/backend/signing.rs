//! Signing: the checks and the sign mode through hsm-core's `SignRequest`, one request per
//! signature, and batches that keep a fixed number of requests in flight.

use hsm_core::{
    EcdsaEncoding, Error, KeyId, KeySpec, Result, SignAlgorithm, SignRequest, Signature,
};

use super::AsyncNetHsm;
use super::trace;
use super::trace::traced;
use crate::protocol::{SignMode, key_ids, signing};

/// A signature ready to send: the device's key id, the key's spec, the checked request, the
/// sign mode and the `message` the mode wants.
struct Prepared {
    id: String,
    spec: KeySpec,
    request: SignRequest,
    mode: SignMode,
    payload: Vec<u8>,
}

hsm_core::sign_pipeline! {
    impl AsyncNetHsm {
        /// Signs a message (for [`SignAlgorithm::EcdsaPrehashed`], the digest): hashed on the host,
        /// then one `POST /keys/{id}/sign` in the mode the algorithm needs.
        ///
        /// # Errors
        /// As [`hsm_core::Signer::sign`]; a signature the device answers malformed is
        /// [`ErrorKind::Protocol`].
        pub async fn sign;
        /// Signs a digest the caller computed.
        ///
        /// # Errors
        /// As [`hsm_core::Signer::sign_digest`].
        pub async fn sign_digest;
        /// Signs a batch with one key: one result per message, in order, with up to the
        /// in-flight limit ([`DEFAULT_MAX_IN_FLIGHT`](crate::DEFAULT_MAX_IN_FLIGHT) unless set)
        /// requests in flight on the connection pool, spread over the runtime's worker threads.
        pub async fn sign_many;
        operations: "nethsm",
        max_message_len: |nethsm| nethsm.capabilities().max_message_len,
        sign_request: |nethsm, key, algorithm, request, operation| {
            nethsm.sign_one(operation, key, algorithm, request).await
        },
        sign_many: |nethsm, key, algorithm, messages, operation| {
            let max = nethsm.capabilities().max_message_len;
            let requests = messages
                .iter()
                .map(|message| SignRequest::message(algorithm, message, max, operation))
                .collect();
            nethsm.sign_batch(key, algorithm, requests, operation).await
        },
    }
}

impl AsyncNetHsm {
    /// One signature of `request` (or its error), traced as the `operation`'s method name
    /// (`sign`, `sign_digest`).
    async fn sign_one(
        &self,
        operation: &'static str,
        key: &KeyId,
        algorithm: SignAlgorithm,
        request: Result<SignRequest>,
    ) -> Result<Signature> {
        let name = operation.strip_prefix("nethsm.").unwrap_or(operation);
        traced(name, Some(key), Some(algorithm), async {
            let prepared = self.prepare(key, request?).await?;
            self.send(prepared).await
        })
        .await
    }

    /// `sign_many`'s batch of checked `requests` (or their errors), traced as one call.
    async fn sign_batch(
        &self,
        key: &KeyId,
        algorithm: SignAlgorithm,
        requests: Vec<Result<SignRequest>>,
        operation: &'static str,
    ) -> Vec<Result<Signature>> {
        let span = tracing::debug_span!(
            "hsm.call",
            backend = "nethsm",
            operation = "sign_many",
            key = %key,
            algorithm = %algorithm,
            messages = requests.len(),
        );
        let started = std::time::Instant::now();
        let results = tracing::Instrument::instrument(
            self.sign_requests(key, requests, operation),
            span.clone(),
        )
        .await;
        let failed = results.iter().find_map(|r| r.as_ref().err());
        trace::finish(&span, failed.map(|e| e.kind().as_str()), started);
        results
    }

    /// Prepares every request (one after another: the key is looked up once, then cached),
    /// then sends the prepared ones with up to the in-flight limit at once.
    async fn sign_requests(
        &self,
        key: &KeyId,
        requests: Vec<Result<SignRequest>>,
        operation: &'static str,
    ) -> Vec<Result<Signature>> {
        let mut prepared = Vec::with_capacity(requests.len());
        for request in requests {
            let item = match request {
                Ok(request) => self.prepare(key, request).await,
                Err(e) => Err(e),
            };
            prepared.push(item);
        }
        let this = self.clone();
        hsm_core::runtime::run_in_order(
            self.inner.batch_in_flight,
            prepared,
            operation,
            move |prepared| {
                let this = this.clone();
                async move { this.send(prepared).await }
            },
        )
        .await
    }

    /// Prepares a signature: the key (cached after its first use), the checks, then the mode
    /// and message the device wants.
    async fn prepare(&self, key: &KeyId, request: SignRequest) -> Result<Prepared> {
        let operation = request.operation();
        let algorithm = request.algorithm();
        if !self.capabilities().has_algorithm(algorithm) {
            return Err(Error::unsupported(operation, format!("{algorithm}")));
        }
        let id = key_ids::to_device(key, operation)?;
        let cached = self.key(&id).await?;
        let spec = cached
            .spec
            .ok_or_else(|| Error::invalid_input(operation, format!("key {id} cannot sign")))?;
        request.check_key(spec)?;
        let (mode, payload) = match (request.message_bytes(), request.digest_bytes()) {
            (Some(message), _) => (SignMode::EdDsa, message.to_vec()),
            (None, Some(digest)) => signing::digest_request(spec, algorithm, digest, operation)?,
            (None, None) => return Err(Error::unsupported(operation, "nothing to sign")),
        };
        Ok(Prepared {
            id,
            spec,
            request,
            mode,
            payload,
        })
    }

    /// One `POST /keys/{id}/sign`; the answer read through hsm-core's sign pipeline (ECDSA
    /// answers are DER: r and s in `1..n`, secp256k1 held low-S; a malformed answer is
    /// `Protocol`).
    async fn send(&self, prepared: Prepared) -> Result<Signature> {
        let operation = prepared.request.operation();
        let answer = {
            let _slot = self.slot(operation).await?;
            self.inner
                .client
                .sign(&prepared.id, prepared.mode, &prepared.payload)
                .await
        };
        if answer.as_ref().is_err_and(Error::is_not_found) {
            self.forget(&prepared.id);
        }
        prepared
            .request
            .signature(prepared.spec, EcdsaEncoding::Der, None, &answer?)
    }
}
