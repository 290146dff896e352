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

/// Now as RFC 3339 UTC, to the second (`2026-12-07T19:30:00Z`).
#[cfg_attr(not(feature = "oci"), allow(dead_code))]
pub(crate) fn rfc3339_now() -> String {
    rfc3339(now_ns().div_euclid(1_000_000_000))
}

/// Seconds since the epoch as RFC 3339 UTC.
#[cfg_attr(not(feature = "oci"), allow(dead_code))]
fn rfc3339(secs: i64) -> String {
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Days since the epoch to a civil date (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn seconds_become_civil_dates() {
        for (secs, text) in [
            (0, "1970-01-01T00:00:00Z"),
            (951_782_400, "2000-02-29T00:00:00Z"),
            (1_800_000_000, "2027-01-15T08:00:00Z"),
        ] {
            assert_eq!(super::rfc3339(secs), text);
        }
    }
}
