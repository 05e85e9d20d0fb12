//! `list_keys`: one `GET /keys`, then the details of the keys not cached, fetched
//! concurrently up to the in-flight limit, in the device's order.

use std::sync::Arc;

use hsm_core::{Error, ErrorKind, KeyInfo, Result};

use super::AsyncNetHsm;
use super::key_cache::CachedKey;
use super::trace::traced;
use crate::protocol::PublicKeyData;

impl AsyncNetHsm {
    /// One `GET /keys`, then `GET /keys/{id}` for each key not in the cache, up to the
    /// in-flight limit on the connection pool; in the device's order. A key deleted between
    /// the two requests (404) is left out.
    ///
    /// # Errors
    /// As [`hsm_core::KeyStore::list_keys`].
    pub async fn list_keys(&self) -> Result<Vec<KeyInfo>> {
        traced("list_keys", None, None, self.list_keys_untraced()).await
    }

    async fn list_keys_untraced(&self) -> Result<Vec<KeyInfo>> {
        let items = {
            let _slot = self.slot("nethsm.list_keys").await?;
            self.inner.client.list_keys().await?
        };
        let mut keys: Vec<Option<Arc<CachedKey>>> =
            items.iter().map(|item| self.cached(&item.id)).collect();
        let missing: Vec<(usize, String)> = items
            .iter()
            .zip(&keys)
            .enumerate()
            .filter(|(_, (_, cached))| cached.is_none())
            .map(|(index, (item, _))| (index, item.id.clone()))
            .collect();
        for (index, fetched) in self.fetch_keys(missing).await? {
            let (Some(item), Some(slot)) = (items.get(index), keys.get_mut(index)) else {
                continue;
            };
            match fetched {
                Ok(data) => *slot = Some(self.remember(&item.id, data)?),
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e),
            }
        }
        items
            .iter()
            .zip(keys)
            .filter_map(|(item, key)| key.map(|key| Self::info(&item.id, &key)))
            .collect()
    }

    /// `GET /keys/{id}` for each `(index, id)`, up to the batch limit at once; each answer
    /// with its index, in the order they arrive.
    async fn fetch_keys(
        &self,
        ids: Vec<(usize, String)>,
    ) -> Result<Vec<(usize, Result<PublicKeyData>)>> {
        let this = self.clone();
        let (out, lost) =
            hsm_core::runtime::run_batch(self.inner.batch_in_flight, ids, move |id: String| {
                let this = this.clone();
                async move {
                    let _slot = this.slot("nethsm.list_keys").await?;
                    this.inner.client.get_key(&id).await
                }
            })
            .await;
        if let Some(e) = lost {
            return Err(Error::new(ErrorKind::Device, "nethsm.list_keys").with_source(e));
        }
        Ok(out)
    }
}
