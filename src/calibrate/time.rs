//! Timestamps in the forms web logs write, as nanoseconds since the Unix
//! epoch (UTC). No allocation: every parser takes bytes and returns a number.

/// Nanoseconds per second.
pub const NS: i64 = 1_000_000_000;

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// A run of ASCII digits as a number, or `None` when any byte is not one.
pub fn digits(b: &[u8]) -> Option<i64> {
    if b.is_empty() || b.len() > 18 {
        return None;
    }
    let mut v = 0i64;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + i64::from(c - b'0');
    }
    Some(v)
}

fn month(b: &[u8]) -> Option<u32> {
    const M: [&[u8; 3]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    M.iter().position(|m| m[..] == *b).map(|i| i as u32 + 1)
}

fn hms(b: &[u8]) -> Option<i64> {
    // HH:MM:SS
    if b.len() != 8 || b[2] != b':' || b[5] != b':' {
        return None;
    }
    let (h, m, s) = (digits(&b[0..2])?, digits(&b[3..5])?, digits(&b[6..8])?);
    (h < 24 && m < 60 && s < 61).then_some(h * 3600 + m * 60 + s)
}

/// A fraction of a second written after a dot (`.377`, `.123456`) as ns.
fn fraction(b: &[u8]) -> Option<i64> {
    if b.is_empty() || b.len() > 9 {
        return None;
    }
    let v = digits(b)?;
    Some(v * 10i64.pow(9 - b.len() as u32))
}

/// `01/Dec/2026:10:48:57` with an optional `.377` (HAProxy's `%tr`, the
/// first part of Nginx's `$time_local`), as local time in ns: the caller
/// applies the offset.
pub fn clf_local(b: &[u8]) -> Option<i64> {
    if b.len() < 20 || b[2] != b'/' || b[6] != b'/' || b[11] != b':' {
        return None;
    }
    let d = digits(&b[0..2])? as u32;
    let m = month(&b[3..6])?;
    let y = digits(&b[7..11])?;
    let secs = hms(&b[12..20])?;
    let frac = match b.get(20) {
        None => 0,
        Some(b'.') => fraction(&b[21..])?,
        Some(_) => return None,
    };
    if !(1..=31).contains(&d) {
        return None;
    }
    civil_ns(days_from_civil(y, m, d), secs, frac)
}

/// Days since the epoch, seconds into the day and nanoseconds as ns since
/// the epoch; `None` past what an `i64` of nanoseconds holds (the years
/// 1677 to 2262), never a wrapped number.
fn civil_ns(days: i64, secs: i64, frac: i64) -> Option<i64> {
    days.checked_mul(86_400)?
        .checked_add(secs)?
        .checked_mul(NS)?
        .checked_add(frac)
        .and_then(plausible)
}

/// The last instant a log line may carry: 2200-01-01, in ns since the
/// epoch. Times from 1970 to then are taken; others are no log's (a
/// corrupt line), so every sum of a time and a duration stays far from
/// overflowing.
pub const LAST_TIME_NS: i64 = 7_258_118_400 * NS;

/// `t` when it lies in 1970..2200, else `None`.
pub fn plausible(t: i64) -> Option<i64> {
    (0..=LAST_TIME_NS).contains(&t).then_some(t)
}

/// A UTC offset `+0100` / `-0530` / `+01:00` as seconds east of UTC.
pub fn offset(b: &[u8]) -> Option<i64> {
    let (sign, rest) = match b.first()? {
        b'+' => (1, &b[1..]),
        b'-' => (-1, &b[1..]),
        _ => return None,
    };
    let (h, m) = match rest.len() {
        4 => (digits(&rest[0..2])?, digits(&rest[2..4])?),
        5 if rest[2] == b':' => (digits(&rest[0..2])?, digits(&rest[3..5])?),
        _ => return None,
    };
    Some(sign * (h * 3600 + m * 60))
}

/// Nginx's `$time_local`: `01/Dec/2026:10:48:57 +0000`, as UTC ns.
pub fn time_local(b: &[u8]) -> Option<i64> {
    let space = b.iter().position(|&c| c == b' ')?;
    let local = clf_local(&b[..space])?;
    local.checked_sub(offset(&b[space + 1..])? * NS)
}

/// ISO 8601 / RFC 3339: `2026-12-01T10:48:57+00:00`, `...57.123Z`, as UTC ns.
pub fn iso8601(b: &[u8]) -> Option<i64> {
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b' ') {
        return None;
    }
    let y = digits(&b[0..4])?;
    let m = digits(&b[5..7])? as u32;
    let d = digits(&b[8..10])? as u32;
    let secs = hms(&b[11..19])?;
    let mut rest = &b[19..];
    let mut frac = 0;
    if rest.first() == Some(&b'.') {
        let n = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
        frac = fraction(&rest[1..1 + n.min(9)])?;
        rest = &rest[1 + n..];
    }
    let off = match rest {
        b"Z" | b"z" => 0,
        _ => offset(rest)?,
    };
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    civil_ns(days_from_civil(y, m, d), secs - off, frac)
}

/// Seconds since the epoch with an optional fraction (`$msec`
/// `1796122137.384`, `SET timestamp=1796122137`), as ns.
/// A time outside 1970..2200 ([`plausible`]) is `None`, never a wrapped
/// number.
pub fn epoch_seconds(b: &[u8]) -> Option<i64> {
    match b.iter().position(|&c| c == b'.') {
        None => digits(b)?.checked_mul(NS),
        Some(dot) => digits(&b[..dot])?
            .checked_mul(NS)?
            .checked_add(fraction(&b[dot + 1..])?),
    }
    .and_then(plausible)
}

/// The longest duration a log line may give (one day): a timer beyond it
/// is no request's time (a corrupt or hostile line), and the line is
/// skipped rather than let one value outweigh every other.
pub const MAX_DURATION_NS: i64 = 86_400 * NS;

/// A duration in seconds as Nginx and the slow log write it (`0.006`,
/// `0.000296`), as ns; `None` for `-`, anything else, or more than
/// [`MAX_DURATION_NS`].
pub fn seconds(b: &[u8]) -> Option<i64> {
    epoch_seconds(b).filter(|&v| v <= MAX_DURATION_NS)
}

/// A duration in whole milliseconds (HAProxy's timers), as ms; `None`
/// beyond [`MAX_DURATION_NS`].
pub fn millis(b: &[u8]) -> Option<i64> {
    digits(b).filter(|&v| v <= MAX_DURATION_NS / 1_000_000)
}

/// MariaDB's `# Time: 261201 10:48:57` (also `261201  9:05:03`) or MySQL's
/// `# Time: 2026-12-01T10:48:57.123456Z`: the text after `# Time: `, as ns
/// (MariaDB's form is the server's local time; taken as UTC).
pub fn slow_log_time(b: &[u8]) -> Option<i64> {
    if let Some(t) = iso8601(b) {
        return Some(t);
    }
    if b.len() < 13 || b[6] != b' ' {
        return None;
    }
    let y = 2000 + digits(&b[0..2])?;
    let m = digits(&b[2..4])? as u32;
    let d = digits(&b[4..6])? as u32;
    let rest = b[7..].trim_ascii_start();
    let padded: [u8; 8] = match rest.len() {
        8 => rest.try_into().ok()?,
        7 => {
            let mut p = [b'0'; 8];
            p[1..].copy_from_slice(rest);
            p
        }
        _ => return None,
    };
    civil_ns(days_from_civil(y, m, d), hms(&padded)?, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_days_match_known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(2026, 1, 1), 20_454);
    }

    #[test]
    fn forms_agree_on_one_instant() {
        // 2026-12-01 10:48:57 UTC
        let t = (days_from_civil(2026, 12, 1) * 86_400 + 10 * 3600 + 48 * 60 + 57) * NS;
        assert_eq!(
            clf_local(b"01/Dec/2026:10:48:57.377"),
            Some(t + 377_000_000)
        );
        assert_eq!(time_local(b"01/Dec/2026:11:48:57 +0100"), Some(t));
        assert_eq!(iso8601(b"2026-12-01T10:48:57+00:00"), Some(t));
        assert_eq!(iso8601(b"2026-12-01T10:48:57.5Z"), Some(t + 500_000_000));
        assert_eq!(
            epoch_seconds(b"1796122137.384"),
            Some(1_796_122_137_384_000_000)
        );
        assert_eq!(slow_log_time(b"261201 10:48:57"), Some(t));
        assert_eq!(slow_log_time(b"261201  9:48:57"), Some(t - 3600 * NS));
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            &b"01/Foo/2026:10:48:57"[..],
            b"1/Dec/2026:10:48:57",
            b"",
            b"-",
        ] {
            assert_eq!(clf_local(bad), None);
        }
        assert_eq!(seconds(b"-"), None);
        assert_eq!(seconds(b"0.0x1"), None);
        assert_eq!(iso8601(b"2026-13-01T10:48:57Z"), None);
    }
}
