//! Logs that carry a request's trace context, read as spans so that they
//! join the traces of the same requests: HAProxy (a `traceparent` header
//! captured into `%hr`, or a trace id as `%ID`), Nginx (`$http_traceparent`
//! or `$otel_trace_id`), and the database's statements (sqlcommenter's
//! `traceparent='00-...'` comment, which the MySQL slow log and
//! PostgreSQL's log keep).
//!
//! Each record becomes a server span of its tier and, where it called the
//! next tier, a client span as long as that call (HAProxy's `%Tc + %Tr`,
//! Nginx's `$upstream_response_time`): the caller's own time is its
//! record's time less the call, and the call less the callee's span is the
//! hop between them. A log's clock is coarse (milliseconds, or seconds for
//! a slow log), so these spans are `approx`: only their lengths count.
//! A statement's span is the child of the client span its comment names;
//! a web server's or the app's span whose parent is not in the trace is
//! the callee of the nearest outer log's call ([`super::traces`]).

use std::path::Path;

use super::haproxy::HaproxyParser;
use super::nginx::{self, NginxParser};
use super::slowlog::{SlowLine, SlowLogParser, Statement};
use super::traces::{Names, Span, SpanKind, trace_context};

/// What one line was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineRead {
    /// A record with a trace context: its spans were pushed.
    Traced,
    /// A record without one: it joins no trace.
    Untraced,
    /// Part of a record, or a line with nothing to count.
    Part,
    /// Not a line of the format.
    Garbage,
}

/// A file read line by line into spans.
pub trait SpanLines {
    /// What the file is read as (`otlp`, `haproxy`, `nginx`, `mysql-slow`,
    /// `postgres`).
    fn kind(&self) -> &'static str;
    /// Reads one line, pushing the spans of the records it completes.
    fn line(&mut self, line: &[u8], names: &mut Names, out: &mut Vec<Span>) -> LineRead;
    /// The end of the file: pushes what is still held.
    fn finish(&mut self, _names: &mut Names, _out: &mut Vec<Span>) {}
}

/// A span id for a record's span: the trace id and a salt mixed
/// (splitmix64), so that the spans of one request's records differ and a
/// tracer's 64-bit random ids are not met by chance.
fn synthetic_id(trace: u128, salt: u64) -> u64 {
    let mut z = (trace as u64) ^ ((trace >> 64) as u64).rotate_left(17) ^ salt;
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)).max(1)
}

/// A server span of a log record, and its call into the next tier.
struct Record<'a> {
    trace: u128,
    layer: u8,
    service: u32,
    instance: Option<u32>,
    start_ns: i64,
    end_ns: i64,
    call_ns: Option<i64>,
    method: &'a [u8],
    path: &'a [u8],
    error: bool,
}

fn push_record(r: Record<'_>, out: &mut Vec<Span>) {
    let id = synthetic_id(r.trace, u64::from(r.layer) << 1);
    let text = |b: &[u8]| (!b.is_empty()).then(|| String::from_utf8_lossy(b).into());
    out.push(Span {
        trace: r.trace,
        id,
        parent: None,
        service: r.service,
        host: None,
        instance: r.instance,
        kind: SpanKind::Server,
        start_ns: r.start_ns,
        end_ns: r.end_ns.max(r.start_ns),
        peer: None,
        peer_is_db: false,
        method: text(r.method),
        path: text(r.path),
        error: r.error,
        approx: true,
        layer: r.layer,
    });
    if let Some(call) = r.call_ns.filter(|&c| c >= 0) {
        let call = call.min(r.end_ns - r.start_ns).max(0);
        out.push(Span {
            trace: r.trace,
            id: synthetic_id(r.trace, (u64::from(r.layer) << 1) | 1),
            parent: Some(id),
            service: r.service,
            host: None,
            instance: r.instance,
            kind: SpanKind::Client,
            start_ns: r.end_ns - call,
            end_ns: r.end_ns,
            peer: None,
            peer_is_db: false,
            method: None,
            path: None,
            error: false,
            approx: true,
            layer: r.layer,
        });
    }
}

/// An instance's name from its log file (`web1-access.log.gz` ->
/// `web1-access`).
fn instance_of(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    name.split('.').next().unwrap_or(&name).to_string()
}

/// An HAProxy log, its records as the balancer's spans (layer 0).
pub struct HaproxySpans {
    parser: HaproxyParser,
    instance: String,
}

impl HaproxySpans {
    /// Reads `path`'s lines with `parser`.
    pub fn new(parser: HaproxyParser, path: &Path) -> HaproxySpans {
        HaproxySpans {
            parser,
            instance: instance_of(path),
        }
    }
}

impl SpanLines for HaproxySpans {
    fn kind(&self) -> &'static str {
        "haproxy"
    }

    fn line(&mut self, line: &[u8], names: &mut Names, out: &mut Vec<Span>) -> LineRead {
        let Some(r) = self.parser.parse(line) else {
            return LineRead::Garbage;
        };
        let Some((trace, _)) = r
            .captured
            .and_then(trace_context)
            .or_else(|| r.id.and_then(trace_context))
        else {
            return LineRead::Untraced;
        };
        let Some(active) = r.active_ms.filter(|_| !r.method.starts_with(b"<")) else {
            // An aborted request or a connection that sent none.
            return LineRead::Untraced;
        };
        let [_, _, tc, tr] = r.phases_ms;
        push_record(
            Record {
                trace,
                layer: 0,
                service: names.get("haproxy"),
                instance: Some(names.get(&self.instance)),
                start_ns: r.start_ns,
                end_ns: r.start_ns + active * 1_000_000,
                call_ns: tc.zip(tr).map(|(c, t)| (c + t) * 1_000_000),
                method: r.method,
                path: r.path,
                error: r.status >= 500,
            },
            out,
        );
        LineRead::Traced
    }
}

/// An Nginx access log, its records as the web server's spans (layer 1).
pub struct NginxSpans {
    parser: NginxParser,
    instance: String,
}

impl NginxSpans {
    /// Reads `path`'s lines with `parser`.
    pub fn new(parser: NginxParser, path: &Path) -> NginxSpans {
        NginxSpans {
            parser,
            instance: instance_of(path),
        }
    }
}

impl SpanLines for NginxSpans {
    fn kind(&self) -> &'static str {
        "nginx"
    }

    fn line(&mut self, line: &[u8], names: &mut Names, out: &mut Vec<Span>) -> LineRead {
        let Some(r) = self.parser.parse(line) else {
            return LineRead::Garbage;
        };
        let Some((trace, _)) = r.trace.and_then(trace_context) else {
            return LineRead::Untraced;
        };
        push_record(
            Record {
                trace,
                layer: 1,
                service: names.get("nginx"),
                instance: Some(names.get(&self.instance)),
                start_ns: nginx::start_ns(&r),
                end_ns: r.end_ns,
                call_ns: r.upstream_ns,
                method: r.method,
                path: r.path,
                error: r.status >= 500,
            },
            out,
        );
        LineRead::Traced
    }
}

/// The statements of a database's log (layer 3), each the child of the
/// client span its comment names.
pub struct StatementSpans {
    kind: &'static str,
    /// The tier's name: what a client span's `db.system` calls it.
    service: &'static str,
    slow: Option<SlowLogParser>,
    pg: Option<super::pglog::PgLogParser>,
    /// A slow log's statement whose later lines may still hold its comment.
    held: Option<Statement>,
    seq: u64,
}

impl StatementSpans {
    /// A MySQL / MariaDB slow log.
    pub fn mysql_slow() -> StatementSpans {
        StatementSpans {
            kind: "mysql-slow",
            service: "mysql",
            slow: Some(SlowLogParser::new()),
            pg: None,
            held: None,
            seq: 0,
        }
    }

    /// A PostgreSQL server log.
    pub fn postgres() -> StatementSpans {
        StatementSpans {
            kind: "postgres",
            service: "postgresql",
            slow: None,
            pg: Some(super::pglog::PgLogParser::new()),
            held: None,
            seq: 0,
        }
    }

    /// Pushes a statement's span; whether it had a trace context.
    fn emit(&mut self, s: Statement, names: &mut Names, out: &mut Vec<Span>) -> bool {
        let Some((trace, parent)) = s.trace.filter(|t| t.1 != 0) else {
            return false;
        };
        self.seq += 1;
        out.push(Span {
            trace,
            id: synthetic_id(trace ^ u128::from(parent), self.seq.wrapping_mul(8) | 7),
            parent: Some(parent),
            service: names.get(self.service),
            host: None,
            instance: None,
            kind: SpanKind::Server,
            start_ns: s.start_ns,
            end_ns: s.start_ns + s.query_ns,
            peer: None,
            peer_is_db: true,
            method: None,
            path: None,
            error: false,
            approx: true,
            layer: 3,
        });
        true
    }
}

impl SpanLines for StatementSpans {
    fn kind(&self) -> &'static str {
        self.kind
    }

    fn line(&mut self, line: &[u8], names: &mut Names, out: &mut Vec<Span>) -> LineRead {
        if let Some(p) = &mut self.pg {
            return match p.line(line) {
                super::pglog::PgLine::Part => LineRead::Part,
                super::pglog::PgLine::Garbage => LineRead::Garbage,
                super::pglog::PgLine::Statement(s) => {
                    if self.emit(s, names, out) {
                        LineRead::Traced
                    } else {
                        LineRead::Untraced
                    }
                }
            };
        }
        let Some(p) = &mut self.slow else {
            return LineRead::Garbage;
        };
        let was_in = p.in_statement();
        let read = p.line(line);
        if let (SlowLine::Part, true) = (read, p.in_statement() && was_in) {
            // A later line of the held statement: its comment may be here.
            if let Some(h) = &mut self.held
                && h.trace.is_none()
            {
                h.trace = trace_context(line);
            }
            return LineRead::Part;
        }
        // Anything else ends the held statement.
        let done = self.held.take();
        let mut outcome = match read {
            SlowLine::Part => LineRead::Part,
            SlowLine::Garbage => LineRead::Garbage,
            SlowLine::Statement(s) => {
                self.held = Some(s);
                LineRead::Part
            }
        };
        if let Some(s) = done {
            let traced = self.emit(s, names, out);
            if outcome == LineRead::Part {
                outcome = if traced {
                    LineRead::Traced
                } else {
                    LineRead::Untraced
                };
            }
        }
        outcome
    }

    fn finish(&mut self, names: &mut Names, out: &mut Vec<Span>) {
        if let Some(s) = self.held.take() {
            self.emit(s, names, out);
        }
    }
}

/// A file and the reader of its lines.
pub type SpanSource = (std::path::PathBuf, Box<dyn SpanLines>);

/// Parsers for the request logs given with traces, as `observe` makes
/// them for logs alone (the HAProxy format and offset, Nginx's format
/// given or detected).
pub fn log_sources(
    inp: &super::observe::LogInputs,
) -> Result<Vec<SpanSource>, super::CalibrateError> {
    let format_error = |flag: &str, e: String| super::CalibrateError::Format {
        flag: flag.to_string(),
        message: e,
    };
    let mut out: Vec<SpanSource> = Vec::new();
    for path in &inp.haproxy {
        let mut p = HaproxyParser::new(inp.haproxy_format.as_deref())
            .map_err(|e| format_error("--haproxy-format", e))?;
        p.utc_offset_s = inp.haproxy_utc_offset_s;
        out.push((path.clone(), Box::new(HaproxySpans::new(p, path))));
    }
    if !inp.nginx.is_empty() {
        let detected = match &inp.nginx_format {
            Some(_) => None,
            None => super::observe::detect_nginx(&inp.nginx[0])?,
        };
        for path in &inp.nginx {
            let p = NginxParser::new(inp.nginx_format.as_deref().or(detected.as_deref()))
                .map_err(|e| format_error("--nginx-format", e))?;
            out.push((path.clone(), Box::new(NginxSpans::new(p, path))));
        }
    }
    for path in &inp.mysql_slow {
        out.push((path.clone(), Box::new(StatementSpans::mysql_slow())));
    }
    for path in &inp.postgres {
        out.push((path.clone(), Box::new(StatementSpans::postgres())));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_statement_joins_the_client_span_its_comment_names() {
        let mut s = StatementSpans::mysql_slow();
        let mut names = Names::default();
        let mut out = Vec::new();
        let lines: [&[u8]; 9] = [
            b"# Time: 261207  9:41:02",
            b"# User@Host: root[root] @ localhost []",
            b"# Query_time: 0.000250  Lock_time: 0.000100  Rows_sent: 1  Rows_examined: 1",
            b"SET timestamp=1796636462;",
            b"SELECT id FROM items WHERE id = 1 /*traceparent='00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'*/;",
            b"# User@Host: root[root] @ localhost []",
            b"# Query_time: 0.000100  Lock_time: 0.000000  Rows_sent: 0  Rows_examined: 0",
            b"SET timestamp=1796636462;",
            b"SET NAMES utf8mb4;",
        ];
        let reads: Vec<LineRead> = lines
            .iter()
            .map(|l| s.line(l, &mut names, &mut out))
            .collect();
        assert_eq!(reads[5], LineRead::Traced);
        s.finish(&mut names, &mut out);
        assert_eq!(out.len(), 1, "the SET NAMES has no trace context");
        let span = &out[0];
        assert_eq!(span.trace, 0x0af7651916cd43dd8448eb211c80319c);
        assert_eq!(span.parent, Some(0xb7ad6b7169203331));
        assert_eq!(span.end_ns - span.start_ns, 250_000);
        assert_eq!(names.name(span.service), "mysql");
        assert!(span.approx && span.peer_is_db);
    }

    #[test]
    fn a_comment_on_a_later_line_of_a_statement_is_found() {
        let mut s = StatementSpans::mysql_slow();
        let mut names = Names::default();
        let mut out = Vec::new();
        for l in [
            &b"# Query_time: 0.001000  Lock_time: 0.000000"[..],
            b"SET timestamp=1796636462;",
            b"SELECT id",
            b"  FROM items /*traceparent='00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01'*/;",
        ] {
            s.line(l, &mut names, &mut out);
        }
        assert!(out.is_empty(), "held until the statement ends");
        s.finish(&mut names, &mut out);
        assert_eq!(out[0].parent, Some(0x00f067aa0ba902b7));
    }
}
