//! Test support shared by the hsm-rs crates' tests (never published).
//!
//! - [`bench`](mod@bench): the harness of the criterion benches (the pipelining bench of a REST backend,
//!   long-lived signing threads, paired rounds, CPU time per signature).
//! - [`process`]: the process's threads and sockets, a bounded wait, plain threads signing
//!   through a blocking backend (for the thread-lane and connection-pool tests).
//! - [`scripted`]: a hostile HTTPS server that answers each request with the next step of a
//!   script (statuses, resets, truncated, slow, oversized and mistyped bodies, silence), for the
//!   fault tests of the REST backends.
//! - [`cli`]: runs a command-line tool (openssl, pkcs11-tool, softhsm2-util, ...), fails the test
//!   with the command and its output when it fails, and `openssl dgst -verify` helpers.
//! - [`tls`]: self-signed TLS test certificates and the rustls server configuration for them.
//! - [`vpcd`]: the PC/SC test bed: pcscd with vpcd's virtual readers, a simulated card in one of
//!   them, the cross-process lock on a reader, OpenSC's PKCS#11 module.
//!
//! It is test code: a helper that cannot do its job panics, with a message that says what
//! failed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod bench;
pub mod cli;
pub mod process;
pub mod scripted;
pub mod tls;
pub mod vpcd;
