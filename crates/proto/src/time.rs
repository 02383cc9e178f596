//! Timestamps: the broker stores milliseconds since the Unix epoch and shows
//! them as RFC 3339 UTC strings with milliseconds.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// `2026-11-27T11:48:01.123Z` for a millisecond timestamp.
pub fn rfc3339(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let millis = ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// A point in time as people type it: `30m`, `2h`, `7d`, `90s` ago (from
/// `now`), or an RFC 3339 UTC time (`2026-11-27T11:48:01Z`, milliseconds
/// optional), or a date (`2026-11-27`, midnight UTC). `None` if unreadable.
pub fn parse_since(raw: &str, now: i64) -> Option<i64> {
    let s = raw.trim();
    let unit_ms = match s.chars().last() {
        Some('s') => 1_000,
        Some('m') => 60_000,
        Some('h') => 3_600_000,
        Some('d') => 86_400_000,
        _ => return parse_rfc3339(s),
    };
    let n: i64 = s[..s.len() - 1].parse().ok().filter(|n| *n >= 0)?;
    Some(now - n.checked_mul(unit_ms)?)
}

/// `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM:SS[.mmm]Z` to milliseconds.
fn parse_rfc3339(s: &str) -> Option<i64> {
    let num = |a: usize, b: usize| -> Option<i64> {
        let part = s.get(a..b)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    if s.len() < 10 || s.as_bytes()[4] != b'-' || s.as_bytes()[7] != b'-' {
        return None;
    }
    let (y, m, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let mut ms = days_from_civil(y, m as u32, d as u32) * 86_400_000;
    if s.len() == 10 {
        return Some(ms);
    }
    let rest = s.get(10..)?;
    if !(rest.starts_with('T') || rest.starts_with('t') || rest.starts_with(' '))
        || !(rest.ends_with('Z') || rest.ends_with('z'))
        || s.len() < 20
        || s.as_bytes()[13] != b':'
        || s.as_bytes()[16] != b':'
    {
        return None;
    }
    let (h, mi, se) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    if h > 23 || mi > 59 || se > 60 {
        return None;
    }
    ms += (h * 3600 + mi * 60 + se) * 1000;
    let frac = &s[19..s.len() - 1];
    if let Some(digits) = frac.strip_prefix('.') {
        if digits.is_empty() || digits.len() > 9 || !digits.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        let padded = format!("{digits:0<3}");
        ms += padded[..3].parse::<i64>().ok()?;
    } else if !frac.is_empty() {
        return None;
    }
    Some(ms)
}

/// A proleptic Gregorian date to days since 1970-01-01 (Hinnant).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day).
/// Howard Hinnant's algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_epoch_and_a_known_instant() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        // 2026-11-27T11:48:01.123Z
        assert_eq!(rfc3339(1_795_780_081_123), "2026-11-27T11:48:01.123Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn since_reads_durations_times_and_dates() {
        let now = 1_795_780_081_123;
        assert_eq!(parse_since("30m", now), Some(now - 30 * 60_000));
        assert_eq!(parse_since("2h", now), Some(now - 2 * 3_600_000));
        assert_eq!(parse_since("7d", now), Some(now - 7 * 86_400_000));
        assert_eq!(
            parse_since("2026-11-27T11:48:01.123Z", now),
            Some(1_795_780_081_123)
        );
        assert_eq!(
            parse_since("2026-11-27T11:48:01Z", now),
            Some(1_795_780_081_000)
        );
        assert_eq!(parse_since("2000-02-29", now), Some(951_782_400_000));
        for bad in [
            "",
            "x",
            "-3h",
            "3w",
            "2026-13-01",
            "2026-11-27T11:48",
            "yesterday",
        ] {
            assert_eq!(parse_since(bad, now), None, "{bad}");
        }
    }
}
