//! The worker pool of `sign_many` and `list_keys`: a fixed set of tasks, each taking the next
//! item as soon as its previous one is done, so a batch keeps exactly that many requests in
//! flight until it runs dry, never in waves.

use std::future::Future;
use std::sync::{Arc, Mutex};

use tokio::task::JoinError;

use super::{AsyncNetHsm, lock};

/// The items of a batch, handed out one at a time to the workers.
struct Queue<T>(Mutex<std::vec::IntoIter<T>>);

impl<T> Queue<T> {
    fn next(&self) -> Option<T> {
        lock(&self.0).next()
    }
}

impl AsyncNetHsm {
    /// Runs `work` on each `(index, item)` with up to the batch limit of workers; returns each
    /// result with its index, in the order they finished, and the error of a worker that did
    /// not finish (its items have no result).
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
        let count = items.len();
        let workers = self.inner.batch_in_flight.min(count);
        let queue = Arc::new(Queue(Mutex::new(items.into_iter())));
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..workers {
            let this = self.clone();
            let queue = Arc::clone(&queue);
            let work = work.clone();
            let _ = set.spawn(async move {
                let mut out = Vec::new();
                while let Some((index, item)) = queue.next() {
                    out.push((index, work(this.clone(), item).await));
                }
                out
            });
        }
        let mut out = Vec::with_capacity(count);
        let mut lost = None;
        while let Some(joined) = set.join_next().await {
            match joined {
                Ok(done) => out.extend(done),
                Err(e) => lost = Some(e),
            }
        }
        (out, lost)
    }
}
