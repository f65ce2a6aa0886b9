//! Millisecond unix timestamps, the time unit of every table.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use time::OffsetDateTime;

/// Now, in milliseconds since the unix epoch.
pub(crate) fn now_ms() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(_) => 0,
    }
}

/// Now, in whole seconds since the unix epoch.
pub(crate) fn now_unix() -> i64 {
    now_ms().div_euclid(1000)
}

/// A duration in milliseconds, saturating.
pub(crate) fn duration_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// `now + d`, saturating.
pub(crate) fn after_ms(now: i64, d: Duration) -> i64 {
    now.saturating_add(duration_ms(d))
}

/// A timestamp in milliseconds since the epoch (floored), saturating at the i64 range.
pub(crate) fn to_ms(t: OffsetDateTime) -> i64 {
    let ms = t.unix_timestamp_nanos().div_euclid(1_000_000);
    i64::try_from(ms).unwrap_or(if ms < 0 { i64::MIN } else { i64::MAX })
}
