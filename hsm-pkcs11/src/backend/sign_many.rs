//! `sign_many`'s fan-out: messages handed out one at a time to a few threads, one result per
//! message, in order, whatever happens to a thread.
//!
//! Each thread takes the next unsigned message from a shared counter, so a slow or failed
//! message holds up nothing else. A signing call that panics becomes an error for that one
//! message (the thread goes on with the next); a message that no thread finished (a thread that
//! could not be started, or was lost) gets an error too. If no thread can be started at all,
//! the caller's thread signs them.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use hsm_core::{Error, ErrorKind, Result, Signature};

const OP: &str = "pkcs11.sign_many";

/// Signs every message with `sign` on up to `threads` threads; returns one result per message,
/// in the order of `messages`.
pub(crate) fn sign_each(
    threads: usize,
    messages: &[&[u8]],
    sign: impl Fn(&[u8]) -> Result<Signature> + Sync,
) -> Vec<Result<Signature>> {
    let next = AtomicUsize::new(0);
    let results: Vec<OnceLock<Result<Signature>>> =
        messages.iter().map(|_| OnceLock::new()).collect();
    let work = || {
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let (Some(message), Some(slot)) = (messages.get(i), results.get(i)) else {
                break;
            };
            let result = catch_unwind(AssertUnwindSafe(|| sign(message)))
                .unwrap_or_else(|payload| Err(panicked(i, payload.as_ref())));
            // Each index is handed out once, so the slot is still empty.
            let _ = slot.set(result);
        }
    };
    if threads <= 1 {
        work();
    } else {
        std::thread::scope(|scope| {
            let started: Vec<_> = (0..threads)
                .filter_map(|n| {
                    std::thread::Builder::new()
                        .name(format!("pkcs11-sign-{n}"))
                        .spawn_scoped(scope, work)
                        .inspect_err(
                            |e| tracing::warn!(error = %e, "cannot start a signing thread"),
                        )
                        .ok()
                })
                .collect();
            if started.is_empty() {
                work();
            }
            for thread in started {
                // A thread lost outside a signing call leaves its message without a result,
                // which the loop below reports.
                let _ = thread.join();
            }
        });
    }
    results
        .into_iter()
        .enumerate()
        .map(|(i, slot)| {
            slot.into_inner().unwrap_or_else(|| {
                Err(
                    Error::new(ErrorKind::InvalidState, OP).with_message(format!(
                        "message {i} was not signed: its signing thread was lost"
                    )),
                )
            })
        })
        .collect()
}

/// The error for message `i` whose signing call panicked, with the panic's text when it is one.
fn panicked(i: usize, payload: &(dyn Any + Send)) -> Error {
    let text = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str));
    let mut message = format!("signing message {i} panicked");
    if let Some(text) = text {
        message.push_str(": ");
        message.extend(text.chars().take(200));
    }
    tracing::error!(message = i, "a signing call panicked");
    Error::new(ErrorKind::InvalidState, OP).with_message(message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hsm_core::SignAlgorithm;

    fn fake(m: &[u8]) -> Result<Signature> {
        assert_ne!(m, b"boom", "a fault planted by the test");
        Signature::from_bytes(SignAlgorithm::RsaPkcs1Sha256, m)
    }

    #[test]
    fn a_panic_is_one_error_in_its_place_on_any_number_of_threads() {
        let messages: Vec<&[u8]> = vec![b"a", b"boom", b"c", b"d", b"boom", b"f", b"g"];
        for threads in [1, 2, 3, 16] {
            let results = sign_each(threads, &messages, fake);
            assert_eq!(results.len(), messages.len(), "{threads} threads");
            for (i, (m, r)) in messages.iter().zip(&results).enumerate() {
                match r {
                    Ok(sig) => assert_eq!(sig.as_raw(), *m, "{threads} threads, message {i}"),
                    Err(e) => {
                        assert_eq!(*m, b"boom", "{threads} threads, message {i}: {e}");
                        assert_eq!(e.kind(), ErrorKind::InvalidState);
                        assert_eq!(e.operation(), OP);
                        assert!(e.to_string().contains(&format!("message {i} panicked")));
                    }
                }
            }
            assert_eq!(results.iter().filter(|r| r.is_err()).count(), 2);
        }
        assert!(sign_each(4, &[], fake).is_empty());
    }
}
