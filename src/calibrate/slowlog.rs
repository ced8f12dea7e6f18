//! The MySQL / MariaDB slow query log (`long_query_time = 0` logs every
//! statement): multi-line entries of `# Time`, `# User@Host`,
//! `# Query_time`, `SET timestamp`, then the statement.

use super::time::{self, NS};

/// How a statement uses the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatementKind {
    /// SELECT, SHOW, ...: may go to a replica.
    Read,
    /// INSERT, UPDATE, DELETE, REPLACE, COMMIT, ...: the primary's.
    Write,
    /// Session and administration statements (`SET`, `USE`, `Quit`, ...).
    Other,
}

/// One logged statement.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Statement {
    /// When it started, ns since the epoch: `SET timestamp` (whole seconds),
    /// else the entry's `# Time`.
    pub start_ns: i64,
    /// `Query_time`, ns (the log has microseconds).
    pub query_ns: i64,
    /// `Lock_time`, ns.
    pub lock_ns: i64,
    /// What kind of statement it is.
    pub kind: StatementKind,
    /// The trace context in the statement's comment (sqlcommenter's
    /// `traceparent='00-...'`), when its first line has one: (trace id,
    /// the span id of the client call that sent it).
    pub trace: Option<(u128, u64)>,
}

/// The kind of a statement from its first keyword.
pub fn kind_of(stmt: &[u8]) -> StatementKind {
    let mut s = stmt.trim_ascii_start();
    // Leading comments: `/* app=... */ SELECT`.
    while let Some(rest) = s.strip_prefix(b"/*") {
        match rest.windows(2).position(|w| w == b"*/") {
            Some(p) => s = rest[p + 2..].trim_ascii_start(),
            None => return StatementKind::Other,
        }
    }
    let word: Vec<u8> = s
        .iter()
        .take_while(|c| c.is_ascii_alphabetic())
        .take(10)
        .map(u8::to_ascii_uppercase)
        .collect();
    match word.as_slice() {
        b"SELECT" | b"SHOW" | b"WITH" | b"DESCRIBE" | b"DESC" | b"EXPLAIN" => StatementKind::Read,
        b"INSERT" | b"UPDATE" | b"DELETE" | b"REPLACE" | b"COMMIT" | b"CALL" | b"LOAD"
        | b"MERGE" => StatementKind::Write,
        _ => StatementKind::Other,
    }
}

/// What a line was, for the caller's counts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SlowLine {
    /// A line of an entry or of the server's header: nothing to report yet.
    Part,
    /// A statement ended: the entry before this line is complete.
    Statement(Statement),
    /// A line that belongs to no entry.
    Garbage,
}

/// The entry being read.
#[derive(Debug, Default)]
pub struct SlowLogParser {
    time_ns: Option<i64>,
    timestamp_ns: Option<i64>,
    query: Option<(i64, i64)>,
    in_statement: bool,
}

fn field_seconds(line: &[u8], key: &[u8]) -> Option<i64> {
    let at = line.windows(key.len()).position(|w| w == key)? + key.len();
    let v = line[at..].trim_ascii_start();
    let end = v
        .iter()
        .position(|c| c.is_ascii_whitespace())
        .unwrap_or(v.len());
    time::seconds(&v[..end])
}

impl SlowLogParser {
    /// A parser at the start of a file.
    pub fn new() -> SlowLogParser {
        SlowLogParser::default()
    }

    /// Feeds one line. A statement is returned when its first line is read
    /// (the rest of a multi-line statement is `Part`).
    pub fn line(&mut self, line: &[u8]) -> SlowLine {
        if let Some(rest) = line.strip_prefix(b"# ") {
            self.in_statement = false;
            if let Some(t) = rest.strip_prefix(b"Time: ") {
                self.time_ns = time::slow_log_time(t.trim_ascii());
                return if self.time_ns.is_some() {
                    SlowLine::Part
                } else {
                    SlowLine::Garbage
                };
            }
            if rest.starts_with(b"Query_time:") {
                return match (
                    field_seconds(rest, b"Query_time:"),
                    field_seconds(rest, b"Lock_time:"),
                ) {
                    (Some(q), l) => {
                        self.query = Some((q, l.unwrap_or(0)));
                        self.timestamp_ns = None;
                        SlowLine::Part
                    }
                    _ => SlowLine::Garbage,
                };
            }
            return SlowLine::Part;
        }
        if let Some(ts) = line.strip_prefix(b"SET timestamp=") {
            let ts = ts.strip_suffix(b";").unwrap_or(ts);
            self.timestamp_ns = time::digits(ts)
                .and_then(|s| s.checked_mul(NS))
                .and_then(time::plausible);
            return SlowLine::Part;
        }
        if self.in_statement {
            return SlowLine::Part;
        }
        let Some((query_ns, lock_ns)) = self.query else {
            // The server's header (`mariadbd, Version: ...`, `Tcp port: ...`,
            // `Time Id Command Argument`) and lines before any entry.
            return if is_server_header(line) {
                SlowLine::Part
            } else {
                SlowLine::Garbage
            };
        };
        let lower = line.trim_ascii();
        if lower.len() >= 4 && lower[..4].eq_ignore_ascii_case(b"use ") {
            return SlowLine::Part;
        }
        let Some(start_ns) = self.timestamp_ns.or(self.time_ns) else {
            return SlowLine::Garbage;
        };
        self.in_statement = true;
        self.query = None;
        SlowLine::Statement(Statement {
            start_ns,
            query_ns,
            lock_ns,
            kind: kind_of(line),
            trace: super::traces::trace_context(line),
        })
    }
}

impl SlowLogParser {
    /// Whether the last line was a line of a statement after its first
    /// (a statement over several lines: its comment may be on the last).
    pub fn in_statement(&self) -> bool {
        self.in_statement
    }
}

fn is_server_header(line: &[u8]) -> bool {
    line.is_empty()
        || line.windows(9).any(|w| w == b"Version: ")
        || line.starts_with(b"Tcp port:")
        || (line.starts_with(b"Time") && line.get(4).is_some_and(u8::is_ascii_whitespace))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statement_kinds() {
        assert_eq!(kind_of(b"SELECT 1"), StatementKind::Read);
        assert_eq!(kind_of(b"  /* x */ select 1"), StatementKind::Read);
        assert_eq!(kind_of(b"insert into t values (1)"), StatementKind::Write);
        assert_eq!(kind_of(b"SET NAMES utf8mb4;"), StatementKind::Other);
        assert_eq!(
            kind_of(b"# administrator command: Quit;"),
            StatementKind::Other
        );
    }
}
