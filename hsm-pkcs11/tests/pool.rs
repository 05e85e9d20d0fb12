//! The session pool grows with the callers: as many signatures in flight as threads calling,
//! up to the cap (`Options::max_sessions`, the URI's `max-sessions=`, the token's limit),
//! sessions kept for reuse.
//!
//! In-flight signatures are counted two ways: by the pool (the most sessions lent at once) and
//! on the token (SoftHSM2's open sessions, by `C_GetSessionInfo` on every handle; a session is
//! only opened when every open one is lent). The callers go through `tests/latency/module.c`, a
//! PKCS#11 module that forwards to SoftHSM2 and waits 50 ms in `C_Sign` the way a module for a
//! network HSM waits for the device, so callers overlap however busy the CPUs are.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

mod common;

use std::sync::Barrier;

use hsm_core::{Curve, KeyId, KeySpec, KeyStore, KeyTemplate, SignAlgorithm, Signer};
use hsm_pkcs11::{DEFAULT_MAX_SESSIONS, Options, Pkcs11Hsm};

const CALLERS: usize = 16;

/// The latency module next to a fresh SoftHSM2 token with a P-256 key `pool-ec`; `None` (with
/// SKIPPED printed) where it cannot be built outside CI.
fn latency_setup() -> Option<(Pkcs11Hsm, String, tempfile::TempDir)> {
    if !common::ready(false) {
        return None;
    }
    if let Err(why) = common::latency::available() {
        assert!(std::env::var_os("CI").is_none(), "under CI: {why}");
        eprintln!("SKIPPED: cannot build the latency module: {why}");
        return None;
    }
    let sim = common::sim();
    let key = KeyId::name("pool-ec").unwrap();
    sim.generate_key(&KeyTemplate::new(key, KeySpec::Ec(Curve::P256)))
        .unwrap();
    let dir = common::scratch();
    let module = common::latency::build(dir.path(), common::MODULE, 50);
    let pin = format!("pin-value={}", hsm_pkcs11::sim::USER_PIN);
    let uri = common::token_uri(&sim, module.display(), &pin);
    Some((sim, uri, dir))
}

/// `CALLERS` threads released together, each signing `rounds` times and verifying.
fn burst(hsm: &Pkcs11Hsm, rounds: usize) {
    let key = KeyId::name("pool-ec").unwrap();
    let public = hsm.public_key(&key).unwrap();
    let start = Barrier::new(CALLERS);
    std::thread::scope(|s| {
        for t in 0..CALLERS {
            let (key, public, start) = (&key, &public, &start);
            s.spawn(move || {
                start.wait();
                for i in 0..rounds {
                    let msg = format!("caller {t} round {i}");
                    let sig = hsm
                        .sign(key, SignAlgorithm::EcdsaSha256, msg.as_bytes())
                        .unwrap();
                    public.verify(msg.as_bytes(), &sig).unwrap();
                }
            });
        }
    });
}

#[test]
fn signatures_in_flight_grow_with_the_callers_and_sessions_are_reused() {
    let Some((sim, uri, _dir)) = latency_setup() else {
        return;
    };
    let slot = sim.token_info().unwrap().slot_id;
    let hsm = Pkcs11Hsm::open(&uri).unwrap();
    // SoftHSM2 states no session limit: the default cap applies.
    assert_eq!(hsm.pool_size(), DEFAULT_MAX_SESSIONS);
    assert_eq!(hsm.pool_sessions(), 1, "the idle minimum");
    let before = common::raw::open_sessions(slot);

    burst(&hsm, 3);
    eprintln!(
        "{CALLERS} callers: {} in flight at most, {} sessions open",
        hsm.pool_peak_in_use(),
        hsm.pool_sessions()
    );
    assert_eq!(
        hsm.pool_peak_in_use(),
        CALLERS,
        "one signature in flight per caller"
    );
    assert_eq!(hsm.pool_sessions(), CALLERS);
    assert_eq!(hsm.pool_in_use(), 0);
    // On the token: the backend's anchor and idle session were there before; the other 15
    // were opened because every open session was signing.
    assert_eq!(common::raw::open_sessions(slot), before + CALLERS - 1);

    // A second burst reuses them: no session opened or closed.
    burst(&hsm, 2);
    assert_eq!(hsm.pool_sessions(), CALLERS);
    assert_eq!(common::raw::open_sessions(slot), before + CALLERS - 1);
    drop(hsm);
    assert_eq!(
        common::raw::open_sessions(slot),
        before - 2,
        "the backend's sessions closed with it"
    );
}

#[test]
fn max_sessions_from_the_uri_and_options_cap_the_signatures_in_flight() {
    let Some((sim, uri, _dir)) = latency_setup() else {
        return;
    };
    let slot = sim.token_info().unwrap().slot_id;
    let base = common::raw::open_sessions(slot);
    // The URI's cap, and the smaller of the URI's and the options'.
    for (query, options, cap) in [
        ("&max-sessions=4", Options::default(), 4),
        (
            "&max-sessions=6",
            Options::default().with_max_sessions(3),
            3,
        ),
        ("", Options::default().with_max_sessions(5), 5),
    ] {
        let hsm = Pkcs11Hsm::open_with(&format!("{uri}{query}"), options).unwrap();
        assert_eq!(hsm.pool_size(), cap);
        burst(&hsm, 2);
        assert_eq!(
            hsm.pool_peak_in_use(),
            cap,
            "{query}: the cap is reached, not passed"
        );
        assert_eq!(hsm.pool_sessions(), cap);
        assert_eq!(
            common::raw::open_sessions(slot),
            base + 1 + cap,
            "{query}: anchor + {cap}"
        );
    }
    let e = Pkcs11Hsm::open(&format!("{uri}&max-sessions=0")).unwrap_err();
    assert_eq!(e.kind(), hsm_core::ErrorKind::InvalidInput);
}

/// `OpenOptions::timeout` bounds the wait for a session: with one session, lent to a signature
/// the module holds for 800 ms, a second caller gets `Timeout` after the 100 ms it allows, not
/// after the signature; `max_in_flight` is the pool's size.
#[test]
fn the_open_options_timeout_bounds_the_wait_for_a_free_session() {
    use std::time::{Duration, Instant};
    let Some((sim, _, dir)) = latency_setup() else {
        return;
    };
    let slow = common::latency::build(dir.path(), common::MODULE, 800);
    let uri = common::token_uri(&sim, slow.display(), "");
    let options = hsm_core::OpenOptions::new()
        .credential(hsm_core::SecretString::from(hsm_pkcs11::sim::USER_PIN))
        .max_in_flight(1)
        .timeout(Duration::from_millis(100));
    let hsm = hsm_pkcs11::open_with(&uri, options).unwrap();
    assert_eq!(hsm.pool_size(), 1);
    let key = KeyId::name("pool-ec").unwrap();
    let public = hsm.public_key(&key).unwrap();
    std::thread::scope(|s| {
        let first = s.spawn(|| hsm.sign(&key, SignAlgorithm::EcdsaSha256, b"holds the session"));
        // Wait until the first signature holds the only session.
        while hsm.pool_in_use() == 0 {
            std::thread::sleep(Duration::from_millis(5));
        }
        let asked = Instant::now();
        let e = hsm
            .sign(&key, SignAlgorithm::EcdsaSha256, b"waits")
            .unwrap_err();
        let waited = asked.elapsed();
        assert_eq!(e.kind(), hsm_core::ErrorKind::Timeout, "{e}");
        assert!(
            waited >= Duration::from_millis(100) && waited < Duration::from_millis(700),
            "waited {waited:?}"
        );
        let sig = first.join().unwrap().unwrap();
        public.verify(b"holds the session", &sig).unwrap();
    });
    // The session is free again.
    let sig = hsm
        .sign(&key, SignAlgorithm::EcdsaSha256, b"after")
        .unwrap();
    public.verify(b"after", &sig).unwrap();
}
