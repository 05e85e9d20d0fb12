//! A PKCS#11 module over every hsm-rs backend (work in progress).
