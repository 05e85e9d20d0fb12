//! The async traits and the bridges between blocking and async backends, on a software store.
#![allow(clippy::unwrap_used, clippy::panic)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use hsm_core::asynchronous::{AsyncOverBlocking, BlockingOverAsync};
use hsm_core::runtime::BlockingRuntime;
use hsm_core::{
    AsyncHsm, AsyncKeyStore as _, AsyncSigner as _, Curve, ErrorKind, Hsm, KeyId, KeySpec,
    KeyStore, KeyTemplate, Result, SignAlgorithm, Signature, Signer,
};
use support::memory::{Defect, MemoryStore};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn store_with_key(id: &str) -> (Arc<MemoryStore>, KeyId) {
    let store = Arc::new(MemoryStore::new(Defect::None));
    let key: KeyId = id.parse().unwrap();
    store
        .generate_key(&KeyTemplate::new(key.clone(), KeySpec::Ec(Curve::P256)))
        .unwrap();
    (store, key)
}

/// A blocking backend that counts the calls inside it at once, and can panic.
#[derive(Debug)]
struct Counting {
    inner: Arc<MemoryStore>,
    now: AtomicUsize,
    most: AtomicUsize,
    panic_on: Option<&'static [u8]>,
}

impl Counting {
    fn new(inner: Arc<MemoryStore>) -> Self {
        Self {
            inner,
            now: AtomicUsize::new(0),
            most: AtomicUsize::new(0),
            panic_on: None,
        }
    }
}

impl Counting {
    fn sign(&self, key: &KeyId, algorithm: SignAlgorithm, message: &[u8]) -> Result<Signature> {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(now, Ordering::SeqCst);
        // Long enough that calls overlap when the adapter lets them.
        std::thread::sleep(std::time::Duration::from_millis(5));
        if self.panic_on == Some(message) {
            self.now.fetch_sub(1, Ordering::SeqCst);
            panic!("the device driver crashed");
        }
        let result = self.inner.sign(key, algorithm, message);
        self.now.fetch_sub(1, Ordering::SeqCst);
        result
    }
}

/// `Counting`'s methods: the store's, but its own name and its counting `sign`.
macro_rules! counted {
    ([] $this:tt, plain KeyStore::backend()) => {
        "counting"
    };
    ([] $this:tt, call Signer::sign($($mode:tt $arg:ident),*)) => {
        Counting::sign($this, $($arg),*)
    };
    ([] $this:tt, $kind:ident $trait:ident :: $method:ident($($mode:tt $arg:ident),*)) => {
        $this.inner.$method($($arg),*)
    };
}

// `sign_many` keeps the trait's default: one counted `sign` after another.
hsm_core::impl_blocking_traits! {
    impl[] KeyStore for Counting {
        backend, capabilities, list_keys, key_info, generate_key, import_key, public_key
    }
    impl[] Signer for Counting { sign, sign_digest }
    with [counted] []
}

#[test]
fn a_blocking_backend_signs_from_tokio_tasks_within_its_bound() {
    let (store, key) = store_with_key("async-bound");
    let counting = Arc::new(Counting::new(Arc::clone(&store)));
    let hsm = AsyncOverBlocking::with_max_in_flight(counting.clone(), 3);
    let public = store.public_key(&key).unwrap();
    let rt = runtime();
    let results = rt.block_on(async {
        let mut tasks = Vec::new();
        for i in 0..40u32 {
            let hsm = hsm.clone();
            let key = key.clone();
            tasks.push(tokio::spawn(async move {
                let message = i.to_be_bytes();
                let sig = hsm.sign(&key, SignAlgorithm::EcdsaSha256, &message).await;
                (message, sig)
            }));
        }
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    });
    assert_eq!(results.len(), 40);
    for (message, sig) in results {
        public.verify(&message, &sig.unwrap()).unwrap();
    }
    let most = counting.most.load(Ordering::SeqCst);
    assert!(
        (1..=3).contains(&most),
        "at most 3 calls at once, saw {most}"
    );
}

#[test]
fn a_panicking_blocking_call_is_an_error_and_sign_many_keeps_one_result_per_message() {
    let (store, key) = store_with_key("async-panic");
    let mut counting = Counting::new(Arc::clone(&store));
    counting.panic_on = Some(b"boom");
    let hsm = AsyncOverBlocking::new(Arc::new(counting));
    let rt = runtime();
    let err = rt
        .block_on(hsm.sign(&key, SignAlgorithm::EcdsaSha256, b"boom"))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Device);
    // The default blocking sign_many signs one by one: the panic takes the whole blocking call,
    // and every message still gets its own result.
    let messages: Vec<&[u8]> = vec![b"one", b"boom", b"three"];
    let results = rt.block_on(hsm.sign_many(&key, SignAlgorithm::EcdsaSha256, &messages));
    assert_eq!(results.len(), 3);
    assert!(
        results
            .iter()
            .all(|r| r.as_ref().is_err_and(|e| e.kind() == ErrorKind::Device))
    );
    // The adapter still works afterwards.
    let ok = rt
        .block_on(hsm.sign(&key, SignAlgorithm::EcdsaSha256, b"after"))
        .unwrap();
    store
        .public_key(&key)
        .unwrap()
        .verify(b"after", &ok)
        .unwrap();
}

#[test]
fn blocking_over_async_works_from_plain_threads_and_inside_a_runtime() {
    let (store, key) = store_with_key("blocking-over-async");
    let async_backend: Arc<dyn AsyncHsm> = Arc::new(AsyncOverBlocking::new(store.clone()));
    let runtime = Arc::new(BlockingRuntime::new("hsm-test").unwrap());
    let hsm = BlockingOverAsync::new(async_backend, runtime);
    let public = hsm.public_key(&key).unwrap();
    let sig = hsm
        .sign(&key, SignAlgorithm::EcdsaSha384, b"plain thread")
        .unwrap();
    public.verify(b"plain thread", &sig).unwrap();
    let messages: Vec<&[u8]> = vec![b"a", b"b", b"c"];
    let many = hsm.sign_many(&key, SignAlgorithm::EcdsaSha256, &messages);
    assert_eq!(many.len(), 3);
    for (m, s) in messages.iter().zip(many) {
        public.verify(m, &s.unwrap()).unwrap();
    }
    let unknown: KeyId = "no-such-key".parse().unwrap();
    assert!(hsm.public_key(&unknown).unwrap_err().is_not_found());
    // From inside a caller's runtime, a blocking call must not panic.
    let outer = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let sig = outer
        .block_on(async { hsm.sign(&key, SignAlgorithm::EcdsaSha256, b"inside") })
        .unwrap();
    public.verify(b"inside", &sig).unwrap();
}

fn sign_generic(signer: impl Signer, key: &KeyId) -> Signature {
    signer
        .sign(key, SignAlgorithm::EcdsaSha256, b"generic")
        .unwrap()
}

async fn sign_generic_async(signer: impl hsm_core::AsyncSigner, key: &KeyId) -> Signature {
    signer
        .sign(key, SignAlgorithm::EcdsaSha256, b"generic")
        .await
        .unwrap()
}

#[test]
fn shared_pointers_are_backends_themselves() {
    let (store, key) = store_with_key("pointers");
    let public = store.public_key(&key).unwrap();
    let shared: Arc<dyn Hsm> = store.clone();
    let boxed: Box<dyn Hsm> = Box::new(store.clone());
    for sig in [
        sign_generic(&shared, &key),
        sign_generic(shared.clone(), &key),
        sign_generic(&*boxed, &key),
        sign_generic(boxed, &key),
    ] {
        public.verify(b"generic", &sig).unwrap();
    }
    let async_shared: Arc<dyn AsyncHsm> = Arc::new(AsyncOverBlocking::new(store.clone()));
    let rt = runtime();
    for sig in [
        rt.block_on(sign_generic_async(async_shared.clone(), &key)),
        rt.block_on(sign_generic_async(&async_shared, &key)),
        rt.block_on(sign_generic_async(Box::new(async_shared.clone()), &key)),
    ] {
        public.verify(b"generic", &sig).unwrap();
    }
    assert_eq!(async_shared.backend(), "memory");
}
