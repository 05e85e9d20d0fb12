//! `sign_many` keeps its contract when a signing thread panics: one result per message, in
//! order, the panicked messages as errors, every other signature valid; the pool loses neither
//! sessions nor capacity.
//!
//! The panic is real and comes through a real seam: this binary's global `tracing` subscriber
//! (code of the application's, which runs on the backend's signing threads) panics at the
//! backend's `C_Sign` trace event for inputs of chosen lengths. Ed25519 signs the whole
//! message, so the input length is the message's and the test knows which messages panic. The
//! event comes while the session is lent, which is the worst moment for the pool.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use hsm_core::{ErrorKind, KeyId, KeySpec, KeyStore, KeyTemplate, SignAlgorithm, Signer};
use hsm_pkcs11::{Options, Pkcs11Hsm};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// Message lengths whose `C_Sign` event panics while [`ARMED`].
const PANIC_LENGTHS: [u64; 3] = [5, 17, 40];
static ARMED: AtomicBool = AtomicBool::new(false);
static PANICS: AtomicUsize = AtomicUsize::new(0);

struct PanicAtSign;

struct InputLen(Option<u64>);

impl Visit for InputLen {
    fn record_u64(&mut self, field: &Field, value: u64) {
        if field.name() == "input_len" {
            self.0 = Some(value);
        }
    }
    fn record_debug(&mut self, _: &Field, _: &dyn std::fmt::Debug) {}
}

impl Subscriber for PanicAtSign {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        if event.metadata().target() != "hsm_pkcs11::client::sign" || !ARMED.load(Ordering::SeqCst)
        {
            return;
        }
        let mut len = InputLen(None);
        event.record(&mut len);
        if let Some(n) = len.0.filter(|n| PANIC_LENGTHS.contains(n)) {
            PANICS.fetch_add(1, Ordering::SeqCst);
            panic!("planted fault: the subscriber panics at C_Sign of {n} bytes");
        }
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

/// Signs 48 messages of lengths 1..=48 and checks every result against its message.
fn check_batch(hsm: &Pkcs11Hsm, key: &KeyId, public: &hsm_core::PublicKey, armed: bool) {
    let messages: Vec<Vec<u8>> = (1..=48u8).map(|n| vec![n; usize::from(n)]).collect();
    let refs: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
    ARMED.store(armed, Ordering::SeqCst);
    let results = hsm.sign_many(key, SignAlgorithm::Ed25519, &refs);
    ARMED.store(false, Ordering::SeqCst);
    assert_eq!(results.len(), messages.len(), "one result per message");
    for (message, result) in messages.iter().zip(&results) {
        let len = message.len() as u64;
        match result {
            Ok(sig) => {
                assert!(
                    !(armed && PANIC_LENGTHS.contains(&len)),
                    "message of {len} bytes should have panicked"
                );
                // In order: the signature is over this very message.
                public.verify(message, sig).unwrap();
            }
            Err(e) => {
                assert!(
                    armed && PANIC_LENGTHS.contains(&len),
                    "message of {len} bytes: {e}"
                );
                assert_eq!(e.kind(), ErrorKind::InvalidState);
                assert_eq!(e.operation(), "pkcs11.sign_many");
                assert!(e.to_string().contains("panicked"), "{e}");
            }
        }
    }
}

#[test]
fn a_panicking_signer_costs_only_its_messages_and_no_sessions() {
    if !common::ready(false) {
        return;
    }
    tracing::subscriber::set_global_default(PanicAtSign).unwrap();
    // Threads and on the caller's thread; a pool smaller than the panics, so a session place
    // lost per panic would leave none.
    for (threads, sessions_max) in [(4, 2), (1, 2)] {
        let options = Options::default()
            .with_max_sessions(sessions_max)
            .with_sign_many_threads(threads);
        let hsm = Pkcs11Hsm::open_with("pkcs11+sim:", options).unwrap();
        let slot = hsm.token_info().unwrap().slot_id;
        let key = KeyId::name("many-ed").unwrap();
        hsm.generate_key(&KeyTemplate::new(key.clone(), KeySpec::Ed25519))
            .unwrap();
        let public = hsm.public_key(&key).unwrap();

        let before = PANICS.load(Ordering::SeqCst);
        check_batch(&hsm, &key, &public, true);
        assert_eq!(
            PANICS.load(Ordering::SeqCst) - before,
            PANIC_LENGTHS.len(),
            "{threads} threads: each planted fault fired once"
        );
        // The pool is whole: nothing lent, every session the pool counts is open on the token
        // (the panicked ones were closed), and a full batch signs again.
        assert_eq!(hsm.pool_in_use(), 0);
        assert!(hsm.pool_sessions() <= hsm.pool_size());
        assert_eq!(common::raw::open_sessions(slot), 1 + hsm.pool_sessions());
        check_batch(&hsm, &key, &public, false);
        assert_eq!(common::raw::open_sessions(slot), 1 + hsm.pool_sessions());
    }
}
