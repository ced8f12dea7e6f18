//! Simulated time and units.
//!
//! Time is an integer count of nanoseconds (`u64`), which covers 584 years of
//! simulated time with no rounding drift. Durations in scenario files carry a
//! unit (`"250us"`, `"2ms"`, `"5m"`); rates are in requests per second.

/// Nanoseconds in one second.
pub const NS_PER_SEC: u64 = 1_000_000_000;
/// Nanoseconds in one millisecond.
pub const NS_PER_MS: f64 = 1_000_000.0;

/// Units accepted in duration strings, longest suffix first so `ms` wins over `m`.
const UNITS: [(&str, f64); 10] = [
    ("ns", 1.0),
    ("us", 1e3),
    ("µs", 1e3),
    ("ms", 1e6),
    ("min", 60e9),
    ("s", 1e9),
    ("m", 60e9),
    ("h", 3600e9),
    ("d", 86400e9),
    ("sec", 1e9),
];

/// Parses a duration such as `"250us"`, `"1.5ms"`, `"5m"` into nanoseconds.
///
/// Accepted units: `ns`, `us` (or `µs`), `ms`, `s`, `m` or `min` (minutes),
/// `h`, `d`. A bare number is rejected: every duration needs its unit.
pub fn parse_duration(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+' || c == 'e'))
        .unwrap_or(t.len());
    // `e` may start a unit? No unit starts with `e`, so scientific notation is safe.
    let (num, unit) = t.split_at(split);
    let unit = unit.trim();
    if num.is_empty() {
        return Err(format!(
            "`{t}` is not a duration: expected a number and a unit, e.g. \"2ms\""
        ));
    }
    let value: f64 = num
        .parse()
        .map_err(|_| format!("`{num}` is not a number"))?;
    if unit.is_empty() {
        return Err(format!(
            "`{t}` has no unit: write e.g. \"{num}ms\" (units: ns, us, ms, s, m, h)"
        ));
    }
    let factor = UNITS
        .iter()
        .find(|(u, _)| *u == unit)
        .map(|(_, f)| *f)
        .ok_or_else(|| format!("unknown time unit `{unit}` (units: ns, us, ms, s, m, h)"))?;
    let ns = value * factor;
    if !ns.is_finite() {
        return Err(format!("`{t}` is out of range"));
    }
    if ns < 0.0 {
        return Err(format!("`{t}` is negative: durations must be zero or more"));
    }
    if ns > 1e18 {
        return Err(format!("`{t}` is too long (at most about 31 years)"));
    }
    Ok(ns)
}

/// Formats nanoseconds with a unit chosen for legibility (`"1.5ms"`, `"5m"`).
pub fn format_duration(ns: u64) -> String {
    let f = ns as f64;
    let (v, u) = if ns == 0 {
        (0.0, "s")
    } else if ns.is_multiple_of(3600 * NS_PER_SEC) {
        (f / 3600e9, "h")
    } else if ns.is_multiple_of(60 * NS_PER_SEC) {
        (f / 60e9, "m")
    } else if f >= 1e9 {
        (f / 1e9, "s")
    } else if f >= 1e6 {
        (f / 1e6, "ms")
    } else if f >= 1e3 {
        (f / 1e3, "us")
    } else {
        (f, "ns")
    };
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s}{u}")
}

/// A formatted number with its integer part grouped by thousands:
/// `"4500"` -> `"4,500"`, `"-12345.67"` -> `"-12,345.67"`; text that does not
/// start with a number of four or more digits comes back as it is. Every
/// human-facing figure (tables, chart axes, probe lines) goes through this,
/// so a number reads the same everywhere; CSV and JSON stay plain.
pub fn grouped(formatted: &str) -> String {
    let (sign, rest) = match formatted.strip_prefix('-') {
        Some(r) => ("-", r),
        None => ("", formatted),
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if digits < 4 {
        return formatted.to_string();
    }
    let (int, tail) = rest.split_at(digits);
    let mut out = String::with_capacity(formatted.len() + digits / 3);
    out.push_str(sign);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (digits - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out.push_str(tail);
    out
}

/// A whole number of requests/s (or any count) as printed: `1,284`.
pub fn whole(v: f64) -> String {
    grouped(&format!("{v:.0}"))
}

/// A count as printed: `1,980,519`.
pub fn thousands(n: u64) -> String {
    grouped(&n.to_string())
}

/// Decimals for a figure of magnitude `x` in a table: 0 from 100, 1 from
/// 10, 2 from 0.1, else 3 (about three significant digits).
pub fn decimals(x: f64) -> usize {
    if x >= 100.0 {
        0
    } else if x >= 10.0 {
        1
    } else if x >= 0.1 {
        2
    } else {
        3
    }
}

/// Decimals for a compared figure `x` in `unit`: enough to see a
/// difference, no more (shares in points: 1 from 10%, else 2; others 1
/// from 100, 2 from 1, 3 from 0.01, else 4).
pub fn compare_decimals(x: f64, unit: &str) -> usize {
    match unit {
        "%" if x.abs() >= 10.0 => 1,
        "%" => 2,
        _ if x.abs() >= 100.0 => 1,
        _ if x.abs() >= 1.0 => 2,
        _ if x.abs() >= 0.01 || x == 0.0 => 3,
        _ => 4,
    }
}

/// `1%`, `0.5%`: a threshold as a percentage, to its own precision.
pub fn percent_of(share: f64) -> String {
    let p = share * 100.0;
    if (p - p.round()).abs() < 1e-9 {
        format!("{p:.0}%")
    } else {
        format!("{}%", format!("{p:.3}").trim_end_matches('0'))
    }
}

/// `1 replication`, `3 replications`: a count with its noun, plural when
/// it is not one (nouns that take an `s`).
pub fn count(n: impl Into<u64>, noun: &str) -> String {
    let n = n.into();
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// `(year, month, day)` of a count of days since 1970-01-01 (proleptic
/// Gregorian calendar; Howard Hinnant's algorithm).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
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

/// Nanoseconds to milliseconds, for reports.
pub fn ns_to_ms(ns: f64) -> f64 {
    ns / NS_PER_MS
}

/// Nanoseconds to seconds.
pub fn ns_to_s(ns: u64) -> f64 {
    ns as f64 / NS_PER_SEC as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_thousands_in_the_integer_part_only() {
        assert_eq!(grouped("999"), "999");
        assert_eq!(grouped("4500"), "4,500");
        assert_eq!(grouped("1000000"), "1,000,000");
        assert_eq!(grouped("-12345.678"), "-12,345.678");
        assert_eq!(grouped("1284 ± 12"), "1,284 ± 12");
        assert_eq!(grouped("0.12345"), "0.12345");
        assert_eq!(grouped("-"), "-");
        assert_eq!(grouped(""), "");
    }

    #[test]
    fn parses_every_unit() {
        assert_eq!(parse_duration("250us").unwrap(), 250_000.0);
        assert_eq!(parse_duration("2ms").unwrap(), 2_000_000.0);
        assert_eq!(parse_duration("1.5ms").unwrap(), 1_500_000.0);
        assert_eq!(parse_duration("5m").unwrap(), 300e9);
        assert_eq!(parse_duration("5min").unwrap(), 300e9);
        assert_eq!(parse_duration("30s").unwrap(), 30e9);
        assert_eq!(parse_duration("7ns").unwrap(), 7.0);
        assert_eq!(parse_duration("1h").unwrap(), 3600e9);
    }

    #[test]
    fn rejects_bad_durations() {
        assert!(parse_duration("5").unwrap_err().contains("no unit"));
        assert!(parse_duration("-1ms").unwrap_err().contains("negative"));
        assert!(
            parse_duration("3 parsecs")
                .unwrap_err()
                .contains("unknown time unit")
        );
        assert!(parse_duration("ms").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("1e30h").is_err());
    }

    #[test]
    fn formats_round_trip() {
        for ns in [
            0u64,
            7,
            250_000,
            1_500_000,
            30 * NS_PER_SEC,
            300 * NS_PER_SEC,
            36_000 * NS_PER_SEC,
            5_400 * NS_PER_SEC,
        ] {
            let s = format_duration(ns);
            assert_eq!(parse_duration(&s).unwrap() as u64, ns, "{s}");
        }
        assert_eq!(format_duration(36_000 * NS_PER_SEC), "10h");
        assert_eq!(format_duration(5_400 * NS_PER_SEC), "90m");
        assert_eq!(super::count(1u32, "replication"), "1 replication");
        assert_eq!(super::count(3u32, "replication"), "3 replications");
    }
}
