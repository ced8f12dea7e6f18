//! PostgreSQL's server log with `log_min_duration_statement = 0` (every
//! statement and its duration), in the default `stderr` format with the
//! default `log_line_prefix = '%m [%p] '`:
//!
//! ```text
//! 2026-12-07 08:30:01.123 UTC [4242] LOG:  duration: 0.251 ms  statement: SELECT ...
//! 2026-12-07 08:30:01.125 UTC [4242] LOG:  duration: 0.040 ms  parse <unnamed>: SELECT ...
//! 2026-12-07 08:30:01.125 UTC [4242] LOG:  duration: 0.031 ms  bind <unnamed>: SELECT ...
//! 2026-12-07 08:30:01.126 UTC [4242] LOG:  duration: 0.120 ms  execute <unnamed>: SELECT ...
//! ```
//!
//! A line is written when its statement ends, so the statement started its
//! duration earlier. With the extended protocol a statement is logged in
//! three steps (parse, bind, execute); their durations are summed into the
//! one statement, by backend PID. Continuation lines of a long statement
//! (a tab first) belong to the line before.

use std::collections::HashMap;

use super::slowlog::{Statement, kind_of};
use super::time;

/// What a line was.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PgLine {
    /// A line with nothing to count yet: another message, a continuation,
    /// a parse or bind step.
    Part,
    /// A statement ended.
    Statement(Statement),
    /// A line that is not of the format.
    Garbage,
}

/// The parser: the parse and bind steps not yet executed, by PID.
#[derive(Debug, Default)]
pub struct PgLogParser {
    pending: HashMap<u32, i64>,
}

/// `2026-12-07 08:30:01.123 UTC` (or `+00`, `-05`, `+0530`) at the start of
/// `line`: ns since the epoch, and the rest of the line.
fn prefix_time(line: &[u8]) -> Option<(i64, &[u8])> {
    if line.len() < 19 || line[4] != b'-' || line[10] != b' ' {
        return None;
    }
    let mut iso = line[..10].to_vec();
    iso.push(b'T');
    let mut i = 11;
    while i < line.len() && (line[i].is_ascii_digit() || line[i] == b':' || line[i] == b'.') {
        i += 1;
    }
    iso.extend_from_slice(&line[11..i]);
    let rest = line.get(i + 1..)?;
    let (zone, after) = match rest.iter().position(|&c| c == b' ') {
        Some(p) => (&rest[..p], &rest[p + 1..]),
        None => return None,
    };
    match zone {
        b"UTC" | b"GMT" | b"Z" => iso.push(b'Z'),
        z if (z.starts_with(b"+") || z.starts_with(b"-")) && z.len() >= 3 => {
            iso.extend_from_slice(&z[..3]);
            iso.push(b':');
            iso.extend_from_slice(if z.len() >= 5 {
                &z[z.len() - 2..]
            } else {
                b"00"
            });
        }
        _ => return None,
    }
    Some((time::iso8601(&iso)?, after))
}

impl PgLogParser {
    /// A parser.
    pub fn new() -> PgLogParser {
        PgLogParser::default()
    }

    /// One line.
    pub fn line(&mut self, line: &[u8]) -> PgLine {
        if line.first() == Some(&b'\t') || line.is_empty() {
            return PgLine::Part;
        }
        let Some((end_ns, rest)) = prefix_time(line) else {
            return PgLine::Garbage;
        };
        // `[4242] ` or `[4242-1] `.
        let pid = rest
            .strip_prefix(b"[")
            .and_then(|r| {
                let n = r.iter().take_while(|c| c.is_ascii_digit()).count();
                std::str::from_utf8(&r[..n]).ok()?.parse::<u32>().ok()
            })
            .unwrap_or(0);
        let Some(at) = rest.windows(10).position(|w| w == b"duration: ") else {
            return PgLine::Part;
        };
        let d = &rest[at + 10..];
        let n = d
            .iter()
            .take_while(|c| c.is_ascii_digit() || **c == b'.')
            .count();
        let Some(ms) = std::str::from_utf8(&d[..n])
            .ok()
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|v| v.is_finite() && *v >= 0.0)
        else {
            return PgLine::Garbage;
        };
        let ns = (ms * 1e6).round() as i64;
        if ns > time::MAX_DURATION_NS {
            return PgLine::Garbage;
        }
        let what = d[n..]
            .trim_ascii_start()
            .strip_prefix(b"ms")
            .unwrap_or(b"")
            .trim_ascii_start();
        let step_text =
            |w: &[u8]| -> Option<usize> { w.iter().position(|&c| c == b':').map(|p| p + 1) };
        if what.starts_with(b"parse ") || what.starts_with(b"bind ") {
            *self.pending.entry(pid).or_insert(0) += ns;
            return PgLine::Part;
        }
        let stmt = if let Some(s) = what.strip_prefix(b"statement:") {
            s
        } else if what.starts_with(b"execute ") {
            match step_text(what) {
                Some(p) => &what[p..],
                None => return PgLine::Garbage,
            }
        } else {
            // `duration: 0.1 ms` alone (log_duration) says no statement.
            return PgLine::Part;
        };
        let total = ns + self.pending.remove(&pid).unwrap_or(0);
        PgLine::Statement(Statement {
            start_ns: end_ns - total,
            query_ns: total,
            lock_ns: 0,
            kind: kind_of(stmt),
            trace: super::traces::trace_context(stmt),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calibrate::slowlog::StatementKind;

    #[test]
    fn statements_and_extended_protocol_steps_are_read() {
        let mut p = PgLogParser::new();
        let simple =
            b"2026-12-07 08:30:01.500 UTC [4242] LOG:  duration: 0.251 ms  statement: SELECT 1";
        let PgLine::Statement(s) = p.line(simple) else {
            panic!("a statement");
        };
        assert_eq!(s.query_ns, 251_000);
        assert_eq!(s.kind, StatementKind::Read);
        assert_eq!(
            s.start_ns,
            time::iso8601(b"2026-12-07T08:30:01.500Z").unwrap() - 251_000
        );
        assert_eq!(
            p.line(b"2026-12-07 08:30:01.600 UTC [7] LOG:  duration: 0.040 ms  parse <unnamed>: UPDATE t SET a = 1"),
            PgLine::Part
        );
        assert_eq!(
            p.line(b"2026-12-07 08:30:01.600 UTC [7] LOG:  duration: 0.010 ms  bind <unnamed>: UPDATE t SET a = 1"),
            PgLine::Part
        );
        let PgLine::Statement(s) = p.line(b"2026-12-07 08:30:01.601 +01 [7] LOG:  duration: 0.100 ms  execute <unnamed>: UPDATE t SET a = 1") else {
            panic!("an execute");
        };
        assert_eq!((s.query_ns, s.kind), (150_000, StatementKind::Write));
        assert_eq!(p.line(b"\tAND b = 2"), PgLine::Part);
        assert_eq!(
            p.line(b"2026-12-07 08:30:02.000 UTC [1] LOG:  checkpoint starting: time"),
            PgLine::Part
        );
        assert_eq!(p.line(b"not a log line"), PgLine::Garbage);
    }
}
