//! The key cache: what the backend remembers of each key (spec, data, public key) so a
//! signature costs one request, and the spec of the AES keys it generated (the device does not
//! report an AES key's length).

use std::sync::Arc;

use hsm_core::{KeyInfo, KeySpec, PublicKey, Result};

use super::AsyncNetHsm;
use super::lock;
use crate::protocol::{KeyType, PublicKeyData, key_ids, key_types, signing};

/// What the backend remembers of a key, so that a signature costs one request.
#[derive(Debug)]
pub(super) struct CachedKey {
    pub(super) spec: Option<KeySpec>,
    pub(super) data: PublicKeyData,
    pub(super) public_key: Option<PublicKey>,
}

impl AsyncNetHsm {
    /// Forgets what this backend cached of every key (type, mechanisms, public key), so the
    /// next use asks the device again: for keys another client may have deleted or replaced.
    pub fn clear_key_cache(&self) {
        lock(&self.inner.keys).clear();
    }

    pub(super) fn forget(&self, id: &str) {
        let _ = lock(&self.inner.keys).remove(id);
    }

    pub(super) fn forget_secret_spec(&self, id: &str) {
        let _ = lock(&self.inner.secret_specs).remove(id);
    }

    pub(super) fn cached(&self, id: &str) -> Option<Arc<CachedKey>> {
        lock(&self.inner.keys).get(id).map(Arc::clone)
    }

    /// The key `id`: from the cache, else one `GET /keys/{id}`.
    pub(super) async fn key(&self, id: &str) -> Result<Arc<CachedKey>> {
        if let Some(key) = self.cached(id) {
            return Ok(key);
        }
        let data = {
            let _slot = self.slot("nethsm.get_key").await?;
            self.inner.client.get_key(id).await?
        };
        self.remember(id, data)
    }

    /// Caches what the device said of key `id`.
    pub(super) fn remember(&self, id: &str, data: PublicKeyData) -> Result<Arc<CachedKey>> {
        let public_key = key_types::public_key_of(&data)?;
        let rsa_bits = public_key.as_ref().and_then(PublicKey::rsa_bits);
        let spec = match data.key_type {
            KeyType::Generic => lock(&self.inner.secret_specs).get(id).copied(),
            other => key_types::spec_of(other, rsa_bits),
        };
        let cached = Arc::new(CachedKey {
            spec,
            data,
            public_key,
        });
        let _ = lock(&self.inner.keys).insert(id.to_owned(), Arc::clone(&cached));
        Ok(cached)
    }

    pub(super) fn info(id: &str, key: &CachedKey) -> Result<KeyInfo> {
        let mut info = KeyInfo::new(key_ids::from_device(id)?, key.spec).with_algorithms(
            key.spec
                .map(|s| signing::algorithms(s, &key.data.mechanisms))
                .unwrap_or_default(),
        );
        info = info
            .with_extra("type", crate::protocol::wire_name(&key.data.key_type))
            .with_extra("operations", key.data.operations.to_string());
        if let Some(tags) = &key.data.restrictions.tags {
            info = info.with_extra("tags", tags.join(","));
        }
        Ok(info)
    }
}
