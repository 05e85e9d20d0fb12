//! The batch limit of `sign_many` and `list_keys`: hsm-core's worker pool
//! ([`hsm_core::runtime::run_batch`]) with this backend's number of workers.

use std::future::Future;

use tokio::task::JoinError;

use super::AsyncNetHsm;

impl AsyncNetHsm {
    /// Runs `work` on each `(index, item)` with up to the batch limit of workers; returns each
    /// result with its index, in the order they finished, and the error of a worker that did
    /// not finish (its current item has no result).
    pub(super) async fn run_batch<T, R, F, Fut>(
        &self,
        items: Vec<(usize, T)>,
        work: F,
    ) -> (Vec<(usize, R)>, Option<JoinError>)
    where
        T: Send + 'static,
        R: Send + 'static,
        F: Fn(Self, T) -> Fut + Clone + Send + 'static,
        Fut: Future<Output = R> + Send,
    {
        let this = self.clone();
        hsm_core::runtime::run_batch(self.inner.batch_in_flight, items, move |item| {
            work(this.clone(), item)
        })
        .await
    }
}
