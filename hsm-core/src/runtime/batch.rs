//! The worker pool of the REST backends' batches (`sign_many`, listings): a fixed set of
//! tasks, each taking the next item as soon as its previous one is done, so a batch keeps
//! exactly that many requests in flight until it runs dry: never in waves, and never a task
//! (or a semaphore hand-off) per item.

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::task::JoinError;

use crate::{Error, ErrorKind, Result};

/// The items of a batch, handed out one at a time to the workers.
struct Queue<T>(Mutex<std::vec::IntoIter<T>>);

impl<T> Queue<T> {
    fn next(&self) -> Option<T> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).next()
    }
}

/// Runs `work` on each `(index, item)` of `items` with up to `workers` tasks at once (at least
/// one), spawned on the current tokio runtime; returns each result with its index, in the
/// order they finished, and the error of a worker that did not finish (a panic: its current
/// item is missing from the results, which the caller reports per index; the other workers
/// take the rest).
///
/// # Panics
/// Outside a tokio runtime (as `tokio::spawn`).
pub async fn run_batch<T, R, F, Fut>(
    workers: usize,
    items: Vec<(usize, T)>,
    work: F,
) -> (Vec<(usize, R)>, Option<JoinError>)
where
    T: Send + 'static,
    R: Send + 'static,
    F: Fn(T) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = R> + Send,
{
    let count = items.len();
    let workers = workers.max(1).min(count);
    let queue = Arc::new(Queue(Mutex::new(items.into_iter())));
    // Each result leaves its worker as soon as it is made, so a worker that panics later
    // loses only the item it was working on.
    let (done, mut results) = tokio::sync::mpsc::unbounded_channel();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..workers {
        let (queue, work, done) = (Arc::clone(&queue), work.clone(), done.clone());
        let _ = set.spawn(async move {
            while let Some((index, item)) = queue.next() {
                let _ = done.send((index, work(item).await));
            }
        });
    }
    drop(done);
    let mut lost = None;
    while let Some(joined) = set.join_next().await {
        if let Err(e) = joined {
            lost = Some(e);
        }
    }
    let mut out = Vec::with_capacity(count);
    while let Ok(result) = results.try_recv() {
        out.push(result);
    }
    (out, lost)
}

/// [`run_batch`] over a batch whose items may have failed already (checked before sending):
/// those keep their error, the others go to `work` on up to `workers` tasks; one result per
/// item, in the items' order. An item whose worker panicked is an [`ErrorKind::Device`] error
/// of `operation` with the panic as its source.
pub async fn run_in_order<T, R, F, Fut>(
    workers: usize,
    items: Vec<Result<T>>,
    operation: &'static str,
    work: F,
) -> Vec<Result<R>>
where
    T: Send + 'static,
    R: Send + 'static,
    F: Fn(T) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<R>> + Send,
{
    let mut results: Vec<Option<Result<R>>> = Vec::with_capacity(items.len());
    let mut queue = Vec::with_capacity(items.len());
    for (index, item) in items.into_iter().enumerate() {
        match item {
            Ok(item) => {
                results.push(None);
                queue.push((index, item));
            }
            Err(e) => results.push(Some(Err(e))),
        }
    }
    let (done, lost) = run_batch(workers, queue, work).await;
    for (index, result) in done {
        if let Some(slot) = results.get_mut(index) {
            *slot = Some(result);
        }
    }
    let lost = lost.map(|e| {
        Error::new(ErrorKind::Device, operation)
            .with_message("a batch's worker failed")
            .with_source(e)
    });
    results
        .into_iter()
        .map(|r| {
            r.unwrap_or_else(|| {
                Err(lost.as_ref().map_or_else(
                    || Error::new(ErrorKind::Device, operation).with_message("no result"),
                    Error::replicate,
                ))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_item_once_with_at_most_the_workers_at_a_time_and_all_of_them_busy() {
        let (now, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let items: Vec<(usize, usize)> = (0..40).map(|i| (i, i * 10)).collect();
        let (counting, peak) = (Arc::clone(&now), Arc::clone(&most));
        let (mut out, lost) = run_batch(4, items, move |item| {
            let (now, most) = (Arc::clone(&counting), Arc::clone(&peak));
            async move {
                let at_once = now.fetch_add(1, Ordering::SeqCst) + 1;
                let _ = most.fetch_max(at_once, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(5)).await;
                let _ = now.fetch_sub(1, Ordering::SeqCst);
                item + 1
            }
        })
        .await;
        assert!(lost.is_none());
        out.sort_unstable();
        let expected: Vec<(usize, usize)> = (0..40).map(|i| (i, i * 10 + 1)).collect();
        assert_eq!(out, expected);
        assert_eq!(most.load(Ordering::SeqCst), 4);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panicking_item_loses_only_its_worker_and_is_reported() {
        let items: Vec<(usize, usize)> = (0..10).map(|i| (i, i)).collect();
        let (out, lost) = run_batch(3, items, |item| async move {
            assert_ne!(item, 4, "item 4 fails");
            item
        })
        .await;
        assert!(lost.is_some_and(|e| e.is_panic()));
        let mut indexes: Vec<usize> = out.iter().map(|(index, _)| *index).collect();
        indexes.sort_unstable();
        assert_eq!(indexes, [0, 1, 2, 3, 5, 6, 7, 8, 9]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn in_order_keeps_early_errors_and_names_a_panics_item() {
        let items: Vec<Result<u32>> = (0..6)
            .map(|i| {
                if i == 1 {
                    Err(Error::invalid_input("test.batch", "refused before sending"))
                } else {
                    Ok(i)
                }
            })
            .collect();
        let out = run_in_order(2, items, "test.batch", |i| async move {
            assert_ne!(i, 3, "item 3 fails");
            Ok(i * 2)
        })
        .await;
        assert_eq!(out.len(), 6);
        let kinds: Vec<Option<ErrorKind>> = out
            .iter()
            .map(|r| r.as_ref().err().map(Error::kind))
            .collect();
        assert_eq!(
            kinds,
            [
                None,
                Some(ErrorKind::InvalidInput),
                None,
                Some(ErrorKind::Device),
                None,
                None
            ]
        );
        let values: Vec<u32> = out
            .iter()
            .filter_map(|r| r.as_ref().ok().copied())
            .collect();
        assert_eq!(values, [0, 4, 8, 10]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_empty_batch_starts_no_worker() {
        let (out, lost) = run_batch(8, Vec::<(usize, ())>::new(), |()| async {}).await;
        assert!(out.is_empty() && lost.is_none());
    }
}
