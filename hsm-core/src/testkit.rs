//! Support code for the backends' own tests (feature `testkit`): what every backend's secrets
//! and soak tests need, written once.
//!
//! - [`TraceCapture`] records every `tracing` span and event at every level as text, globally
//!   (with the `log` records of dependencies) or for one thread's scope.
//! - [`Secrets`] lists the forms a credential or key could leak in (as text, hex, base64, a
//!   `Debug` byte list, a Basic-auth value) and asserts that none shows in a text;
//!   [`error_text`] renders an error with its whole source chain for that search.
//! - [`soak_secs`], [`soak_threads`], [`open_fds`], [`fan_out`] and [`sign_and_verify`] are the
//!   plumbing of a bounded soak.
//!
//! Not for production code: the helpers assert (panic) by design.

mod secrets;
mod soak;
mod trace;

pub use self::secrets::{Secrets, assert_no_secret, error_text};
pub use self::soak::{Tally, fan_out, open_fds, sign_and_verify, soak_secs, soak_threads};
pub use self::trace::TraceCapture;
