//! RFC 3339 timestamps to Unix milliseconds, without a date library (the
//! plugin has no clock and needs none: every time comes from the report).

/// Parses an RFC 3339 / ISO 8601 timestamp with a `Z` or `±HH:MM` offset
/// (`2026-11-24T09:31:04.221Z`) into milliseconds since the Unix epoch.
/// `None` when it is not one (digits beyond milliseconds are dropped).
pub fn parse_rfc3339_ms(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<i64> {
        let part = s.get(from..to)?;
        part.bytes().all(|c| c.is_ascii_digit()).then(|| part.parse().ok()).flatten()
    };
    let (year, month, day) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (hour, minute, second) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut i = 19;
    let mut millis = 0;
    if b[i] == b'.' {
        let start = i + 1;
        i = start;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return None;
        }
        let digits = &s[start..i.min(start + 3)];
        millis = digits.parse::<i64>().ok()? * 10_i64.pow(3 - digits.len() as u32);
    }
    let offset_minutes = match &s[i..] {
        "Z" | "z" => 0,
        rest if rest.len() == 6 && matches!(rest.as_bytes()[0], b'+' | b'-') && rest.as_bytes()[3] == b':' => {
            let (h, m) = (num(i + 1, i + 3)?, num(i + 4, i + 6)?);
            if h > 23 || m > 59 {
                return None;
            }
            let sign = if rest.starts_with('-') { -1 } else { 1 };
            sign * (h * 60 + m)
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    Some(((days * 86_400 + hour * 3600 + minute * 60 + second - offset_minutes * 60) * 1000) + millis)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_vapi_and_offset_forms() {
        assert_eq!(parse_rfc3339_ms("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339_ms("2026-11-24T09:31:04Z"), Some(1_795_512_664_000));
        assert_eq!(parse_rfc3339_ms("2026-11-24T09:31:04.221Z"), Some(1_795_512_664_221));
        assert_eq!(parse_rfc3339_ms("2026-11-24T09:31:04.2Z"), Some(1_795_512_664_200));
        assert_eq!(parse_rfc3339_ms("2026-11-24T09:31:04.221987Z"), Some(1_795_512_664_221));
        assert_eq!(parse_rfc3339_ms("2026-11-24T04:31:04-05:00"), Some(1_795_512_664_000));
        assert_eq!(parse_rfc3339_ms("2000-02-29T00:00:00+00:00"), Some(951_782_400_000));
    }

    #[test]
    fn rejects_what_is_not_a_timestamp() {
        for s in [
            "",
            "yesterday",
            "2026-11-24",
            "2026-11-24T09:31:04",
            "2026-13-01T00:00:00Z",
            "2026-02-29T00:00:00Z",
            "2026-11-24T24:00:00Z",
            "2026-11-24T09:31:04.Z",
            "2026-11-24T09:31:04+0500",
            "2026-11-24T09:31:04Zjunk",
            "２026-11-24T09:31:04Z",
            "+026-11-24T09:31:04Z",
        ] {
            assert_eq!(parse_rfc3339_ms(s), None, "{s}");
        }
    }
}
