//! How calls reach the token: the PKCS#11 module, loaded and initialised once per process, and
//! the pool of sessions every operation runs on.

pub(crate) mod module;
pub(crate) mod session_pool;
