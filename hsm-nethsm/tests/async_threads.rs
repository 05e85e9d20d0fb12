//! No OS thread per call: thread ids of this process (/proc/self/task) watched while a tokio
//! service signs 10 000 times through `AsyncNetHsm`. In a file of its own, so that no other
//! test's threads come and go in the same process; its tests run one at a time.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use hsm_core::asynchronous::AsyncOverBlocking;
use hsm_core::secret::SecretString;
use hsm_core::{
    AsyncSigner as _, Curve, ErrorKind, KeyId, KeySpec, KeyTemplate, OpenOptions, SignAlgorithm,
};
use support::{ThreadWatch, p256_key_async, thread_ids};

const ALGORITHM: SignAlgorithm = SignAlgorithm::EcdsaSha256;

/// One test at a time: each counts the process's threads.
static ALONE: Mutex<()> = Mutex::new(());

/// The name of each thread in `ids` (`/proc/self/task/ID/comm`), for messages.
fn names(ids: &BTreeSet<u64>) -> std::collections::BTreeMap<u64, String> {
    ids.iter()
        .map(|id| {
            let comm = std::fs::read_to_string(format!("/proc/self/task/{id}/comm"));
            (*id, comm.unwrap_or_default().trim().to_owned())
        })
        .collect()
}

#[test]
fn ten_thousand_signatures_from_a_tokio_service_create_no_thread() {
    let _alone = ALONE.lock().unwrap_or_else(PoisonError::into_inner);
    let started_threads = Arc::new(AtomicUsize::new(0));
    let runtime = {
        let started = Arc::clone(&started_threads);
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .on_thread_start(move || {
                let _ = started.fetch_add(1, Ordering::Relaxed);
            })
            .build()
            .unwrap()
    };
    let hsm = {
        let _entered = runtime.enter();
        hsm_nethsm::open_async("nethsm+sim:").unwrap()
    };
    // The old path, as a control that the watch sees threads made per call: the blocking
    // backend under hsm-core's AsyncOverBlocking (blocking pool, then a helper thread).
    let bridged = AsyncOverBlocking::new(Arc::new(hsm_nethsm::open("nethsm+sim:").unwrap()));
    let (key, bridged_key) = runtime.block_on(async {
        let key = p256_key_async(&hsm, "nothreads").await;
        let bridged_key: KeyId = "bridged".parse().unwrap();
        hsm_core::AsyncKeyStore::generate_key(
            &bridged,
            &KeyTemplate::new(bridged_key.clone(), KeySpec::Ec(Curve::P256)),
        )
        .await
        .unwrap();
        // Warm: the pool holds its connections, the key is cached.
        let warm: Vec<&[u8]> = vec![b"warm"; 16];
        for r in hsm.sign_many(&key, ALGORITHM, &warm).await {
            r.unwrap();
        }
        (key, bridged_key)
    });

    let watch = ThreadWatch::start(Duration::from_micros(200));
    // Every thread alive now is in `before`; the watch forgets what it saw until now, so each
    // id it reports from here on that is not in `before` is a thread created during the run.
    let before = thread_ids();
    let names_before = names(&before);
    let _ = watch.take();
    let threads_started = started_threads.load(Ordering::Relaxed);
    let signed = runtime.block_on(async {
        let mut tasks = tokio::task::JoinSet::new();
        for t in 0..16u32 {
            let (hsm, key) = (hsm.clone(), key.clone());
            let _ = tasks.spawn(async move {
                for i in 0..625u32 {
                    let message = [t.to_be_bytes(), i.to_be_bytes()].concat();
                    hsm.sign(&key, ALGORITHM, &message).await.unwrap();
                }
                625
            });
        }
        let mut signed = 0;
        while let Some(n) = tasks.join_next().await {
            signed += n.unwrap();
        }
        signed
    });
    let seen = watch.take();
    let after = thread_ids();
    assert_eq!(signed, 10_000);
    // Threads may end during the run, and that is no thread per call: tokio retires a
    // blocking-pool thread after 10 s idle (the simulators' key generation and the bridged
    // handle's warm-up each left one, here and on the bridged handle's runtime), so a run
    // slower than that on a loaded machine sees them go. What may not happen is a thread
    // being created: not one in 10 000 calls, where a thread per call would be thousands.
    let ended: Vec<&String> = before
        .difference(&after)
        .filter_map(|id| names_before.get(id))
        .collect();
    eprintln!(
        "threads before {}, after {}, ever seen during 10 000 signatures {}; ended meanwhile: {ended:?}",
        before.len(),
        after.len(),
        seen.len()
    );
    let new: Vec<&u64> = seen.difference(&before).collect();
    assert!(
        new.is_empty(),
        "{} threads created during 10 000 signatures: {new:?}",
        new.len()
    );
    assert!(
        after.is_subset(&before),
        "threads alive after the run that were not there before: {:?}",
        after.difference(&before)
    );
    assert_eq!(
        started_threads.load(Ordering::Relaxed),
        threads_started,
        "the runtime started threads"
    );

    // The control: the same watch sees the old path make threads.
    let before = thread_ids();
    let _ = watch.take();
    runtime.block_on(async {
        for i in 0..100u32 {
            bridged
                .sign(&bridged_key, ALGORITHM, &i.to_be_bytes())
                .await
                .unwrap();
        }
    });
    let seen = watch.take();
    let new = seen.difference(&before).count();
    eprintln!("the old path: {new} threads seen created during 100 signatures");
    assert!(new > 0, "the watch saw no thread from the old path");
}

#[test]
fn open_async_starts_no_runtime_and_needs_one_for_the_simulator() {
    let _alone = ALONE.lock().unwrap_or_else(PoisonError::into_inner);
    // Outside any runtime, the simulator has nowhere to run: a clear error, not a panic.
    let e = hsm_nethsm::open_async("nethsm+sim:").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidState, "{e}");
    // A real device's handle opens without a runtime and starts no thread.
    let before = thread_ids();
    let hsm = hsm_nethsm::open_async_with(
        "nethsm://operator@127.0.0.1:1",
        OpenOptions::new().credential(SecretString::from("x")),
    )
    .unwrap();
    // No thread was started (a thread of the previous test may have exited meanwhile: the
    // set can shrink, never grow).
    let after = thread_ids();
    assert!(
        after.is_subset(&before),
        "new threads: {:?}",
        after.difference(&before)
    );
    drop(hsm);
}
