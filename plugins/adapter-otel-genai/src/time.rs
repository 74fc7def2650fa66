//! Nanosecond Unix timestamps as RFC 3339 text, without a date library (the
//! plugin has no clock and needs none: every time comes from the export).

/// Formats `ns` nanoseconds since the Unix epoch as RFC 3339 UTC,
/// `2026-11-24T09:31:04Z`, with milliseconds (`.120Z`) only when non-zero.
/// Sub-millisecond digits are dropped so `started_at` and `offset_ms` agree.
pub fn rfc3339(ns: u64) -> String {
    let secs = ns / 1_000_000_000;
    let ms = (ns % 1_000_000_000) / 1_000_000;
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    let (hh, mm, ss) = (rem / 3600, rem % 3600 / 60, rem % 60);
    if ms == 0 {
        format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z")
    } else {
        format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{ms:03}Z")
    }
}

/// Milliseconds between two nanosecond timestamps, rounded down (0 when
/// `later` is earlier).
pub fn ms_between(earlier: u64, later: u64) -> u64 {
    later.saturating_sub(earlier) / 1_000_000
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian
/// calendar (Howard Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_795_512_664_000_000_000), "2026-11-24T09:31:04Z");
        assert_eq!(rfc3339(1_795_512_664_120_999_999), "2026-11-24T09:31:04.120Z");
        assert_eq!(rfc3339(951_782_400_000_000_000), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(4_107_542_399_000_000_000), "2100-02-28T23:59:59Z");
        assert_eq!(rfc3339(u64::MAX), "2554-07-21T23:34:33.709Z");
        assert_eq!(ms_between(1_000_000, 3_999_999), 2);
        assert_eq!(ms_between(5, 1), 0);
    }
}
