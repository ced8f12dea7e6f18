//! An Nginx access log ("combined" format plus `$request_time`) of the
//! requests that passed a web tier, so real log tools can read a simulated
//! run: QPS from access logs, as monitoring does.

use std::io::{self, Write};

use crate::scenario::{Access, Scenario};
use crate::stats::AccessRecord;

/// Day 0 of the simulated clock: 2026-01-01, as days since 1970-01-01.
const EPOCH_DAYS: i64 = 20_454;

/// `(year, month, day)` of a count of days since 1970-01-01 (civil calendar).
fn civil(days: i64) -> (i64, u32, u32) {
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

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `01/Jan/2026:00:00:07 +0000` for a simulated time.
fn time_local(ns: u64) -> String {
    let secs = (ns / 1_000_000_000) as i64;
    let (y, m, d) = civil(EPOCH_DAYS + secs / 86_400);
    let s = secs % 86_400;
    format!(
        "{d:02}/{}/{y}:{:02}:{:02}:{:02} +0000",
        MONTHS[(m - 1) as usize],
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// Writes one line per record.
pub fn write_access_log(
    s: &Scenario,
    records: &[AccessRecord],
    w: &mut dyn Write,
) -> io::Result<()> {
    for (i, r) in records.iter().enumerate() {
        let class = &s.classes[r.class as usize];
        let method = if class.access == Access::Write {
            "POST"
        } else {
            "GET"
        };
        let bytes = if r.status == 200 { 2048 } else { 0 };
        writeln!(
            w,
            "10.{}.{}.{} - - [{}] \"{method} /{} HTTP/1.1\" {} {bytes} \"-\" \"stacksim/{}\" {:.3}",
            r.server % 256,
            (i >> 8) % 256,
            i % 256,
            time_local(r.end_ns),
            class.name,
            r.status,
            crate::VERSION,
            r.duration_ns as f64 / 1e9
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil(0), (1970, 1, 1));
        assert_eq!(civil(EPOCH_DAYS), (2026, 1, 1));
        assert_eq!(civil(EPOCH_DAYS + 59), (2026, 3, 1));
        assert_eq!(time_local(3_723_000_000_000), "01/Jan/2026:01:02:03 +0000");
        assert_eq!(
            time_local(86_400 * 31 * 1_000_000_000),
            "01/Feb/2026:00:00:00 +0000"
        );
    }
}
