//! A software key store used to prove the conformance suite: correct, and deliberately broken.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

pub mod memory;
