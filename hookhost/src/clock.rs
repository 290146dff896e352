//! Wall-clock time as SFTPGo stamps events (Unix nanoseconds) and as the
//! journal, the queue and the notifiers keep it (Unix milliseconds).

/// Nanoseconds since the Unix epoch, now.
pub(crate) fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Milliseconds since the Unix epoch, now.
pub(crate) fn now_ms() -> i64 {
    now_ns() / 1_000_000
}

/// How long ago `ms` (Unix milliseconds) was; zero for a time ahead.
pub(crate) fn age_since_ms(ms: i64) -> std::time::Duration {
    std::time::Duration::from_millis(now_ms().saturating_sub(ms).max(0) as u64)
}
