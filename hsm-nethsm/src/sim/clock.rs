//! The simulated device's clock: RFC 3339 times (from `hsm_simkit::clock`), and the offset to
//! the host clock that `PUT /config/time` (and provisioning, and restore) set.

pub(crate) use hsm_simkit::clock::{format_rfc3339, now_unix, parse_rfc3339};

/// The clock offset that makes the device's time `text` now.
pub(crate) fn clock_offset_for(text: &str) -> Option<i64> {
    parse_rfc3339(text).map(|t| t - now_unix())
}
