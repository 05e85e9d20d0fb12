//! The module's life in a host process, through the C ABI (`cryptoki` loads `libhsm_p11.so`), on
//! a NetHSM simulator; each scenario runs in a fresh process of its own (no other test's threads):
//!
//! - `threads`: `C_Finalize` leaves no thread of the module behind: the threads in
//!   `/proc/self/task` after `C_Finalize` are the ones there before `C_Initialize`, five times over
//!   (initialise, sign, finalise, initialise again, sign, finalise);
//! - `fork`: the host forks after `C_Initialize`, login and signing. The child sees
//!   `CKR_CRYPTOKI_NOT_INITIALIZED` for every call (also on the parent's session) until it calls
//!   `C_Initialize`, then logs in and signs on connections of its own; the parent signs while the
//!   child does, and after the child has exited.
//!
//! `fork` and `waitpid` are the only `unsafe` here, as they are for any host that forks.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(clippy::indexing_slicing, clippy::print_stderr, unsafe_code)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::Error;
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use hsm_core::{Curve, PublicKey, SignAlgorithm, Signature};

const SCENARIO: &str = "P11_TEST_SCENARIO";

fn main() {
    if std::env::var_os("P11_TEST_CHILD").is_none() {
        let dir = tempfile::tempdir().unwrap();
        let sim = nethsm_sim(dir.path(), 0);
        let config = write_config(dir.path(), &[(nethsm_uri(&sim), "nethsm", "N0001")]);
        for scenario in ["threads", "fork"] {
            let mut env = module_env(&config, None);
            env.push((SCENARIO.to_owned(), scenario.to_owned()));
            eprintln!("scenario {scenario}");
            let _ = in_child(&env);
            eprintln!("scenario {scenario} ... ok");
        }
        return;
    }
    match std::env::var(SCENARIO).unwrap().as_str() {
        "threads" => run_checks(&[(
            "finalize_leaves_no_thread_behind",
            &finalize_leaves_no_thread,
        )]),
        "fork" => run_checks(&[("fork_after_initialize_and_signing", &fork_after_signing)]),
        other => panic!("unknown scenario {other}"),
    }
}

fn init(m: &Pkcs11) {
    m.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
        .unwrap();
}

fn slot(m: &Pkcs11) -> Slot {
    m.get_slots_with_token().unwrap()[0]
}

fn rv<T: std::fmt::Debug>(r: &Result<T, Error>) -> String {
    match r {
        Ok(_) => "OK".into(),
        Err(Error::Pkcs11(rv, _)) => format!("{rv:?}"),
        Err(e) => format!("{e}"),
    }
}

/// A logged-in read-write session.
fn session(m: &Pkcs11) -> Session {
    let s = m.open_rw_session(slot(m)).unwrap();
    s.login(
        UserType::User,
        Some(&AuthPin::new(NETHSM_OPERATOR_PASS.into())),
    )
    .unwrap();
    s
}

/// The P-256 key pair with `id`, generated when missing: (private handle, public key).
fn key(s: &Session, id: &[u8]) -> (ObjectHandle, PublicKey) {
    let private = fixtures::p256_key(s, id);
    let public = fixtures::find(s, ObjectClass::PUBLIC_KEY, id)[0];
    let point = match &s.get_attributes(public, &[AttributeType::EcPoint]).unwrap()[..] {
        [Attribute::EcPoint(p)] => p.clone(),
        other => panic!("{other:?}"),
    };
    (
        private,
        PublicKey::from_ec_point(Curve::P256, &point[2..]).unwrap(),
    )
}

/// Signs `msg` with ECDSA-SHA256 and checks the signature in software.
fn sign_verified(s: &Session, key: ObjectHandle, public: &PublicKey, msg: &[u8]) {
    let raw = s.sign(&Mechanism::EcdsaSha256, key, msg).unwrap();
    let sig = Signature::ecdsa_from_raw(SignAlgorithm::EcdsaSha256, Curve::P256, &raw).unwrap();
    public.verify(msg, &sig).unwrap();
}

/// The ids of this process's threads.
fn threads() -> Vec<String> {
    let mut ids: Vec<String> = std::fs::read_dir("/proc/self/task")
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    ids.sort();
    ids
}

/// Thread names, for failure messages.
fn thread_names() -> Vec<String> {
    threads()
        .iter()
        .map(|t| {
            std::fs::read_to_string(format!("/proc/self/task/{t}/comm"))
                .unwrap_or_default()
                .trim()
                .to_owned()
        })
        .collect()
}

fn finalize_leaves_no_thread() {
    let m = Pkcs11::new(module_path()).unwrap();
    let before = threads();
    for round in 0..5 {
        init(&m);
        let s = session(&m);
        let (k, public) = key(&s, b"lifecycle-threads");
        sign_verified(&s, k, &public, format!("round {round}").as_bytes());
        // The backend runs its I/O on threads of its own: there is something to end.
        let signing = threads();
        assert!(
            signing.len() > before.len(),
            "no module thread while signing: {:?}",
            thread_names()
        );
        // C_Finalize with the session still open and logged in (closing the last session would
        // log out, which already drops the backend): C_Finalize must end everything.
        m.clone().finalize().unwrap();
        // Right after C_Finalize returns: the same threads as before C_Initialize.
        assert_eq!(
            threads(),
            before,
            "round {round}: threads left after C_Finalize: {:?}",
            thread_names()
        );
        // The session went with the module.
        assert_eq!(
            rv(&s.sign(&Mechanism::EcdsaSha256, k, b"x")),
            "CryptokiNotInitialized"
        );
        std::mem::forget(s);
        assert_eq!(rv(&m.get_library_info()), "CryptokiNotInitialized");
    }
}

fn fork_after_signing() {
    let m = Pkcs11::new(module_path()).unwrap();
    init(&m);
    let s = session(&m);
    let (k, public) = key(&s, b"lifecycle-fork");
    sign_verified(&s, k, &public, b"parent before fork");

    // SAFETY: fork(2); the child only runs this function's child branch and then _exit()s.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let ok =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| child_after_fork(&m, &s, k)))
                .is_ok();
        // The parent's session object belongs to the parent: never closed from here.
        std::mem::forget(s);
        // SAFETY: _exit(2) ends the child without running the parent's exit handlers.
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }

    // The parent keeps signing while the child works.
    let started = Instant::now();
    let mut signed = 0;
    let status = loop {
        sign_verified(&s, k, &public, format!("parent {signed}").as_bytes());
        signed += 1;
        let mut status = 0;
        // SAFETY: waitpid(2) on our own child, with a valid status pointer.
        let done = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        assert!(done >= 0, "waitpid failed");
        if done == pid {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the child did not finish"
        );
    };
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "the child failed (status {status}); see its output above"
    );
    // And after the child has exited (it held copies of the parent's sockets).
    for i in 0..5 {
        sign_verified(&s, k, &public, format!("parent after child {i}").as_bytes());
    }
    eprintln!("  parent signed {signed} times while the child ran");
    drop(s);
    m.finalize().unwrap();
}

/// In the child: not initialised until it says so, then its own state.
fn child_after_fork(m: &Pkcs11, parent_session: &Session, parent_key: ObjectHandle) {
    assert_eq!(rv(&m.get_library_info()), "CryptokiNotInitialized");
    assert_eq!(rv(&m.get_slots_with_token()), "CryptokiNotInitialized");
    assert_eq!(
        rv(&parent_session.sign(&Mechanism::EcdsaSha256, parent_key, b"x")),
        "CryptokiNotInitialized"
    );
    assert_eq!(
        rv(&m.clone().finalize()),
        "CryptokiNotInitialized",
        "C_Finalize in the child before C_Initialize"
    );
    init(m);
    // The parent's session handle means nothing to the child's module.
    assert_eq!(
        rv(&parent_session.sign(&Mechanism::EcdsaSha256, parent_key, b"x")),
        "SessionHandleInvalid"
    );
    let s = session(m);
    let (k, public) = key(&s, b"lifecycle-fork");
    for i in 0..20 {
        sign_verified(&s, k, &public, format!("child {i}").as_bytes());
    }
    drop(s);
    m.clone().finalize().unwrap();
}
