//! Distributed traces as observations: OpenTelemetry's OTLP JSON file
//! format (one `TracesData` object per line, as the SDKs' and the
//! Collector's file exporters write it) and Jaeger's JSON export, read into
//! spans, joined into traces within a time horizon (memory bounded by the
//! traffic of the horizon, not by the file), and each trace turned into
//! visits: the tiers a request went through, each visit's own time (its
//! spans' durations less the union of their children), the calls per
//! request, the network hops between services, and the machines.
//!
//! A span's tier is its service (`service.name`), except a client span that
//! calls nothing traced (a database driver's span): its tier is the server
//! it called, by `db.system` (`mysql`, `postgresql`), `peer.service` or
//! `server.address`. A client span that calls a traced service is the hop
//! into that service: its own time is network (and the client library).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::CalibrateError;
use super::classes::{ClassRule, classify};
use super::log_spans::{LineRead, SpanLines};
use super::observe::{Activity, FileLines};
use super::source::LineSource;

/// A trace is complete once no span of it has ended for this long in the
/// files' time: exporters batch spans every few seconds, and a request's
/// spans end within its own duration.
pub const HORIZON_NS: i64 = 30_000_000_000;

/// Span kinds, as OTLP numbers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanKind {
    /// Unspecified or internal work of a service.
    Internal,
    /// The server side of a call.
    Server,
    /// The client side of a call.
    Client,
    /// A message sent.
    Producer,
    /// A message received.
    Consumer,
}

impl SpanKind {
    fn of_number(n: i64) -> SpanKind {
        match n {
            2 => SpanKind::Server,
            3 => SpanKind::Client,
            4 => SpanKind::Producer,
            5 => SpanKind::Consumer,
            _ => SpanKind::Internal,
        }
    }

    fn of_name(s: &str) -> SpanKind {
        let s = s.trim_start_matches("SPAN_KIND_").to_ascii_lowercase();
        match s.as_str() {
            "server" => SpanKind::Server,
            "client" => SpanKind::Client,
            "producer" => SpanKind::Producer,
            "consumer" => SpanKind::Consumer,
            _ => SpanKind::Internal,
        }
    }
}

/// One span, as every format yields it.
#[derive(Debug, Clone)]
pub struct Span {
    /// Trace id (128 bits).
    pub trace: u128,
    /// Span id.
    pub id: u64,
    /// Parent span id; `None` for a root.
    pub parent: Option<u64>,
    /// Service index (into [`TraceReader::services`]).
    pub service: u32,
    /// Machine index (`host.name`), when the resource says.
    pub host: Option<u32>,
    /// Instance index (`service.instance.id`), when the resource says.
    pub instance: Option<u32>,
    /// Kind.
    pub kind: SpanKind,
    /// Start and end, ns since the epoch.
    pub start_ns: i64,
    /// End.
    pub end_ns: i64,
    /// The server called, for a client span (`db.system`, `peer.service`,
    /// `server.address`): a string index.
    pub peer: Option<u32>,
    /// Whether the peer is a database (`db.system`).
    pub peer_is_db: bool,
    /// HTTP method and path (root spans' class).
    pub method: Option<Box<str>>,
    /// Path (`url.path`, `http.target`, `http.route`).
    pub path: Option<Box<str>>,
    /// An error status or a 5xx.
    pub error: bool,
    /// Read from a log, not a tracer: its times are the log's (whole
    /// milliseconds, or seconds for a slow log), so its place inside its
    /// parent is not known to the nanosecond and only its length counts.
    pub approx: bool,
    /// How far in it sits: a balancer's log (0) wraps a web server's (1),
    /// which wraps the traced spans ([`TRACED`]), which wrap a database's
    /// statements (3). A span whose parent is not in the trace (the caller
    /// that sent the `traceparent` was not traced) is the callee of the
    /// nearest outer layer's call.
    pub layer: u8,
}

/// The layer of spans from a tracer.
pub const TRACED: u8 = 2;

/// A W3C trace context anywhere in `b` (`00-<32 hex>-<16 hex>-<2 hex>`, as
/// a `traceparent` header or sqlcommenter's comment carries it): the trace
/// id and the caller's span id. A bare 32-hex trace id (Nginx's
/// `$otel_trace_id`) gives span id 0.
pub fn trace_context(b: &[u8]) -> Option<(u128, u64)> {
    let hex = |x: &[u8]| x.iter().all(u8::is_ascii_hexdigit);
    let mut from = 0;
    while let Some(p) = b[from..].windows(3).position(|w| w == b"00-") {
        let at = from + p + 3;
        if let Some(c) = b.get(at..at + 52)
            && c[32] == b'-'
            && c[49] == b'-'
            && hex(&c[..32])
            && hex(&c[33..49])
            && hex(&c[50..52])
            && let (Some(t), Some(s)) = (
                std::str::from_utf8(&c[..32]).ok().and_then(hex_u128),
                std::str::from_utf8(&c[33..49]).ok().and_then(hex_u64),
            )
        {
            return Some((t, s));
        }
        from = at;
    }
    let t = b.trim_ascii();
    (t.len() == 32 && hex(t))
        .then(|| std::str::from_utf8(t).ok().and_then(hex_u128))
        .flatten()
        .map(|t| (t, 0))
}

/// Strings seen (services, machines, peers), interned.
#[derive(Debug, Clone, Default)]
pub struct Names {
    names: Vec<String>,
    index: HashMap<String, u32>,
}

impl Names {
    /// The index of a string, interned on first sight.
    pub fn get(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.index.get(s) {
            return i;
        }
        let i = self.names.len() as u32;
        self.names.push(s.to_string());
        self.index.insert(s.to_string(), i);
        i
    }

    /// The string of an index.
    pub fn name(&self, i: u32) -> &str {
        &self.names[i as usize]
    }
}

// OTLP JSON (protobuf's JSON mapping: lowerCamelCase, snake_case accepted;
// 64-bit integers as strings or numbers; ids as hex).

#[derive(Deserialize)]
struct TracesData<'a> {
    #[serde(rename = "resourceSpans", alias = "resource_spans", default, borrow)]
    resource_spans: Vec<ResourceSpans<'a>>,
}

#[derive(Deserialize)]
struct ResourceSpans<'a> {
    #[serde(default, borrow)]
    resource: Option<Resource<'a>>,
    #[serde(
        rename = "scopeSpans",
        alias = "scope_spans",
        alias = "instrumentationLibrarySpans",
        default,
        borrow
    )]
    scope_spans: Vec<ScopeSpans<'a>>,
}

#[derive(Deserialize)]
struct Resource<'a> {
    #[serde(default, borrow)]
    attributes: Vec<KeyValue<'a>>,
}

#[derive(Deserialize)]
struct ScopeSpans<'a> {
    #[serde(default, borrow)]
    spans: Vec<OtSpan<'a>>,
}

#[derive(Deserialize)]
struct KeyValue<'a> {
    #[serde(borrow)]
    key: std::borrow::Cow<'a, str>,
    #[serde(default, borrow)]
    value: Option<AnyValue<'a>>,
}

#[derive(Deserialize)]
struct AnyValue<'a> {
    #[serde(rename = "stringValue", alias = "string_value", default, borrow)]
    string_value: Option<std::borrow::Cow<'a, str>>,
    #[serde(rename = "intValue", alias = "int_value", default)]
    int_value: Option<Int>,
}

impl AnyValue<'_> {
    fn text(&self) -> Option<String> {
        if let Some(s) = &self.string_value {
            return Some(s.to_string());
        }
        self.int_value.and_then(|i| i.0).map(|i| i.to_string())
    }
}

#[derive(Deserialize)]
struct Status {
    #[serde(default)]
    code: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct OtSpan<'a> {
    #[serde(rename = "traceId", alias = "trace_id", borrow)]
    trace_id: std::borrow::Cow<'a, str>,
    #[serde(rename = "spanId", alias = "span_id", borrow)]
    span_id: std::borrow::Cow<'a, str>,
    #[serde(rename = "parentSpanId", alias = "parent_span_id", default, borrow)]
    parent_span_id: Option<std::borrow::Cow<'a, str>>,
    #[serde(default, borrow)]
    name: Option<std::borrow::Cow<'a, str>>,
    #[serde(default)]
    kind: Option<serde_json::Value>,
    #[serde(rename = "startTimeUnixNano", alias = "start_time_unix_nano")]
    start: Int,
    #[serde(rename = "endTimeUnixNano", alias = "end_time_unix_nano")]
    end: Int,
    #[serde(default, borrow)]
    attributes: Vec<KeyValue<'a>>,
    #[serde(default)]
    status: Option<Status>,
}

/// An id as OTLP JSON writes it: hex (the spec), or base64 (protobuf's
/// generic JSON mapping of bytes, as `MessageToJson` writes it); `None`
/// for an empty or all-zero id.
fn id_bytes<const N: usize>(s: &str) -> Option<[u8; N]> {
    let mut out = [0u8; N];
    if s.len() == 2 * N && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        for (i, o) in out.iter_mut().enumerate() {
            *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
        }
    } else if s.len() == N.div_ceil(3) * 4 {
        let mut bits = 0u32;
        let mut n = 0;
        let mut k = 0;
        for b in s.bytes() {
            let v = match b {
                b'A'..=b'Z' => b - b'A',
                b'a'..=b'z' => b - b'a' + 26,
                b'0'..=b'9' => b - b'0' + 52,
                b'+' | b'-' => 62,
                b'/' | b'_' => 63,
                b'=' => break,
                _ => return None,
            };
            bits = (bits << 6) | u32::from(v);
            n += 6;
            if n >= 8 {
                n -= 8;
                *out.get_mut(k)? = (bits >> n) as u8;
                k += 1;
            }
        }
        if k != N {
            return None;
        }
    } else if !s.is_empty() && s.len() < 2 * N && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        // A short hex id (Jaeger drops leading zeros).
        let v = u128::from_str_radix(s, 16).ok()?.to_be_bytes();
        out.copy_from_slice(&v[16 - N..]);
    } else {
        return None;
    }
    out.iter().any(|&b| b != 0).then_some(out)
}

fn hex_u128(s: &str) -> Option<u128> {
    id_bytes::<16>(s).map(u128::from_be_bytes)
}

fn hex_u64(s: &str) -> Option<u64> {
    id_bytes::<8>(s).map(u64::from_be_bytes)
}

/// A 64-bit integer as protobuf's JSON mapping writes it: a string or a
/// number; `None` for anything else.
#[derive(Debug, Clone, Copy)]
struct Int(Option<i64>);

impl<'de> Deserialize<'de> for Int {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Int, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Int;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an integer or a string of one")
            }
            fn visit_i64<E>(self, v: i64) -> Result<Int, E> {
                Ok(Int(Some(v)))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Int, E> {
                Ok(Int(i64::try_from(v).ok()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Int, E> {
                Ok(Int((v.is_finite() && v.abs() < 9e18).then_some(v as i64)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Int, E> {
                Ok(Int(v.parse().ok()))
            }
            fn visit_unit<E>(self) -> Result<Int, E> {
                Ok(Int(None))
            }
        }
        d.deserialize_any(V)
    }
}

fn attr(attrs: &[KeyValue<'_>], keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| {
        attrs
            .iter()
            .find(|a| a.key == *k)
            .and_then(|a| a.value.as_ref()?.text())
            .filter(|v| !v.is_empty())
    })
}

const METHOD: [&str; 2] = ["http.request.method", "http.method"];
const PATH: [&str; 4] = ["url.path", "http.target", "http.route", "http.url"];
const STATUS: [&str; 2] = ["http.response.status_code", "http.status_code"];
const DB: [&str; 2] = ["db.system", "db.system.name"];
const PEER: [&str; 4] = [
    "peer.service",
    "server.address",
    "net.peer.name",
    "net.peer.ip",
];

/// Spans out of one file: every line a `TracesData` object (OTLP), or the
/// whole file one Jaeger export.
pub struct TraceReader {
    /// Services, machines and peers by index.
    pub names: Names,
}

/// Reads one OTLP JSON line into `out`; `false` when the line is not one.
fn otlp_line(line: &[u8], names: &mut Names, out: &mut Vec<Span>) -> bool {
    let Ok(data) = serde_json::from_slice::<TracesData<'_>>(line) else {
        return false;
    };
    for rs in &data.resource_spans {
        let attrs = rs.resource.as_ref().map_or(&[][..], |r| &r.attributes[..]);
        let service = names.get(
            attr(attrs, &["service.name"])
                .as_deref()
                .unwrap_or("unknown_service"),
        );
        let host = attr(attrs, &["host.name", "host.id"]).map(|h| names.get(&h));
        let instance = attr(attrs, &["service.instance.id"]).map(|h| names.get(&h));
        for ss in &rs.scope_spans {
            for s in &ss.spans {
                let (Some(trace), Some(id), Some(start), Some(end)) = (
                    hex_u128(&s.trace_id),
                    hex_u64(&s.span_id),
                    s.start.0,
                    s.end.0,
                ) else {
                    continue;
                };
                let kind = match &s.kind {
                    Some(serde_json::Value::Number(n)) => {
                        SpanKind::of_number(n.as_i64().unwrap_or(0))
                    }
                    Some(serde_json::Value::String(t)) => SpanKind::of_name(t),
                    _ => SpanKind::Internal,
                };
                let db = attr(&s.attributes, &DB);
                let peer = attr(&s.attributes, &PEER[..1])
                    .or_else(|| db.clone())
                    .or_else(|| attr(&s.attributes, &PEER[1..]));
                let status = attr(&s.attributes, &STATUS).and_then(|v| v.parse::<u32>().ok());
                let error = matches!(
                    s.status.as_ref().and_then(|st| st.code.as_ref()),
                    Some(serde_json::Value::Number(n)) if n.as_i64() == Some(2)
                ) || matches!(
                    s.status.as_ref().and_then(|st| st.code.as_ref()),
                    Some(serde_json::Value::String(t)) if t.ends_with("ERROR")
                ) || status.is_some_and(|c| c >= 500);
                let (mut method, mut path) =
                    (attr(&s.attributes, &METHOD), attr(&s.attributes, &PATH));
                if method.is_none()
                    && let Some(n) = &s.name
                    && let Some((m, p)) = n.split_once(' ')
                    && m.chars().all(|c| c.is_ascii_uppercase())
                {
                    method = Some(m.to_string());
                    path.get_or_insert_with(|| p.to_string());
                }
                out.push(Span {
                    trace,
                    id,
                    parent: s.parent_span_id.as_deref().and_then(hex_u64),
                    service,
                    host,
                    instance,
                    kind,
                    start_ns: start,
                    end_ns: end.max(start),
                    peer: peer.map(|p| names.get(&p)),
                    peer_is_db: db.is_some(),
                    method: method.map(Into::into),
                    path: path.map(Into::into),
                    error,
                    approx: false,
                    layer: TRACED,
                });
            }
        }
    }
    true
}

// Jaeger's JSON export: {"data": [{"traceID", "spans": [...], "processes": {...}}]}.

#[derive(Deserialize)]
struct JaegerFile {
    #[serde(default)]
    data: Vec<JaegerTrace>,
}

#[derive(Deserialize)]
struct JaegerTrace {
    #[serde(default)]
    spans: Vec<JaegerSpan>,
    #[serde(default)]
    processes: BTreeMap<String, JaegerProcess>,
}

#[derive(Deserialize)]
struct JaegerProcess {
    #[serde(rename = "serviceName")]
    service_name: String,
    #[serde(default)]
    tags: Vec<JaegerTag>,
}

#[derive(Deserialize)]
struct JaegerTag {
    key: String,
    #[serde(default)]
    value: serde_json::Value,
}

#[derive(Deserialize)]
struct JaegerRef {
    #[serde(rename = "refType", default)]
    ref_type: String,
    #[serde(rename = "spanID")]
    span_id: String,
}

#[derive(Deserialize)]
struct JaegerSpan {
    #[serde(rename = "traceID")]
    trace_id: String,
    #[serde(rename = "spanID")]
    span_id: String,
    #[serde(rename = "operationName", default)]
    operation: String,
    #[serde(default)]
    references: Vec<JaegerRef>,
    #[serde(rename = "startTime")]
    start_us: i64,
    #[serde(default)]
    duration: i64,
    #[serde(default)]
    tags: Vec<JaegerTag>,
    #[serde(rename = "processID", default)]
    process_id: String,
}

fn jaeger_tag(tags: &[JaegerTag], keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| {
        tags.iter()
            .find(|t| t.key == *k)
            .and_then(|t| match &t.value {
                serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
                serde_json::Value::Number(n) => Some(n.to_string()),
                serde_json::Value::Bool(b) => Some(b.to_string()),
                _ => None,
            })
    })
}

fn jaeger(text: &[u8], names: &mut Names, out: &mut Vec<Span>) -> Option<usize> {
    let file: JaegerFile = serde_json::from_slice(text).ok()?;
    let mut n = 0;
    for t in &file.data {
        for s in &t.spans {
            let (Some(trace), Some(id)) = (hex_u128(&s.trace_id), hex_u64(&s.span_id)) else {
                continue;
            };
            let proc = t.processes.get(&s.process_id);
            let service = names.get(proc.map_or("unknown_service", |p| p.service_name.as_str()));
            let ptags = proc.map_or(&[][..], |p| &p.tags[..]);
            let host = jaeger_tag(ptags, &["hostname", "host.name"]).map(|h| names.get(&h));
            let instance = jaeger_tag(ptags, &["service.instance.id", "ip"]).map(|h| names.get(&h));
            let kind = jaeger_tag(&s.tags, &["span.kind"])
                .map_or(SpanKind::Internal, |k| SpanKind::of_name(&k));
            let db = jaeger_tag(&s.tags, &DB);
            let peer = jaeger_tag(&s.tags, &PEER[..1])
                .or_else(|| db.clone())
                .or_else(|| jaeger_tag(&s.tags, &PEER[1..]));
            let status = jaeger_tag(&s.tags, &STATUS).and_then(|v| v.parse::<u32>().ok());
            let error = jaeger_tag(&s.tags, &["error"]).is_some_and(|e| e == "true")
                || status.is_some_and(|c| c >= 500);
            let mut method = jaeger_tag(&s.tags, &METHOD);
            let mut path = jaeger_tag(&s.tags, &PATH);
            if method.is_none()
                && let Some((m, p)) = s.operation.split_once(' ')
                && m.chars().all(|c| c.is_ascii_uppercase())
            {
                method = Some(m.to_string());
                path.get_or_insert_with(|| p.to_string());
            }
            let parent = s
                .references
                .iter()
                .find(|r| r.ref_type == "CHILD_OF" || r.ref_type.is_empty())
                .or_else(|| s.references.first())
                .and_then(|r| hex_u64(&r.span_id));
            let start = s.start_us.saturating_mul(1000);
            out.push(Span {
                trace,
                id,
                parent,
                service,
                host,
                instance,
                kind,
                start_ns: start,
                end_ns: start + s.duration.max(0).saturating_mul(1000),
                peer: peer.map(|p| names.get(&p)),
                peer_is_db: db.is_some(),
                method: method.map(Into::into),
                path: path.map(Into::into),
                error,
                approx: false,
                layer: TRACED,
            });
            n += 1;
        }
    }
    Some(n)
}

/// One request's trace, as visits.
#[derive(Debug, Clone)]
pub struct TraceVisits {
    /// The root span's start, ns since the epoch.
    pub start_ns: i64,
    /// The root span's duration, ns.
    pub e2e_ns: i64,
    /// The class (index into the rules), `None` when no rule matched.
    pub class: Option<usize>,
    /// An error at the root.
    pub error: bool,
    /// (tier, own time ns, held time ns, start ns) per visit, in start order.
    pub visits: Vec<(u32, i64, i64, i64)>,
    /// (tier called, network ns, the calling visit's index) per hop between
    /// services.
    pub hops: Vec<(u32, i64, Option<usize>)>,
    /// Tiers whose times came from a log that writes whole milliseconds.
    pub coarse: Vec<u32>,
    /// Tiers whose times came from a log.
    pub logged: Vec<u32>,
    /// (tier, machine, instance, a database) seen.
    pub placed: Vec<(u32, Option<u32>, Option<u32>, bool)>,
    /// (caller tier, called tier) per call.
    pub edges: Vec<(u32, u32)>,
}

/// What joining spans into traces found wrong.
#[derive(Debug, Clone, Default)]
pub struct JoinProblems {
    /// Traces with no root span (their root was not exported, or is in a
    /// file not given): left out.
    pub no_root: u64,
    /// Spans whose parent is not in their trace, read as roots of their own
    /// part (the parent was lost).
    pub orphans: u64,
    /// Traces with more than one root: the earliest is the request.
    pub many_roots: u64,
    /// Spans read twice (the same trace and span id): read once.
    pub duplicates: u64,
    /// Traces that began outside `--since`/`--until`: left out.
    pub outside: u64,
}

/// A span's tier (service, or the server a leaf client span called) and
/// whether it is a hop (a client span that calls a traced service).
fn tier_of_span(s: &Span, has_children: bool, names: &mut Names) -> Option<u32> {
    match s.kind {
        SpanKind::Client | SpanKind::Producer if has_children => None,
        SpanKind::Client | SpanKind::Producer => Some(s.peer.unwrap_or_else(|| {
            let svc = names.name(s.service).to_string();
            names.get(&format!("{svc}-calls"))
        })),
        _ => Some(s.service),
    }
}

/// Spans from logs wrap the rest: a span with no parent in the trace,
/// below the outermost layer and not a statement, becomes the callee of the call (a client
/// span) of the nearest outer layer that has one.
fn wrap_in_logs(spans: &mut [Span]) {
    if spans.iter().all(|s| s.layer == TRACED) {
        return;
    }
    let ids: std::collections::HashSet<u64> = spans.iter().map(|s| s.id).collect();
    let calls: Vec<(u8, u64)> = spans
        .iter()
        .filter(|s| s.approx && s.kind == SpanKind::Client)
        .map(|s| (s.layer, s.id))
        .collect();
    for s in spans.iter_mut() {
        // A statement names its caller's span: without it, it is an
        // orphan, not a call of the web server.
        if s.layer > TRACED || s.parent.is_some_and(|p| ids.contains(&p)) {
            continue;
        }
        if let Some(&(_, call)) = calls
            .iter()
            .filter(|(l, id)| *l < s.layer && *id != s.id)
            .max_by_key(|(l, _)| *l)
        {
            s.parent = Some(call);
        }
    }
}

/// Turns one trace's spans into visits; `None` without a root.
pub fn visits_of(
    spans: &mut Vec<Span>,
    names: &mut Names,
    rules: &[ClassRule],
    problems: &mut JoinProblems,
) -> Option<TraceVisits> {
    spans.sort_by_key(|s| (s.start_ns, s.id));
    let before = spans.len();
    spans.dedup_by_key(|s| s.id);
    problems.duplicates += (before - spans.len()) as u64;
    wrap_in_logs(spans);
    let idx: HashMap<u64, usize> = spans.iter().enumerate().map(|(i, s)| (s.id, i)).collect();
    let parent: Vec<Option<usize>> = spans
        .iter()
        .map(|s| s.parent.and_then(|p| idx.get(&p).copied()))
        .collect();
    let roots: Vec<usize> = (0..spans.len())
        .filter(|&i| spans[i].parent.is_none())
        .collect();
    let orphans = (0..spans.len())
        .filter(|&i| spans[i].parent.is_some() && parent[i].is_none())
        .count();
    let Some(&root) = roots.first() else {
        problems.no_root += 1;
        return None;
    };
    problems.orphans += orphans as u64;
    if roots.len() > 1 {
        problems.many_roots += 1;
    }
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); spans.len()];
    for (i, p) in parent.iter().enumerate() {
        if let Some(p) = p {
            children[*p].push(i);
        }
    }
    let tier: Vec<Option<u32>> = (0..spans.len())
        .map(|i| tier_of_span(&spans[i], !children[i].is_empty(), names))
        .collect();
    // Own time: duration less the union of the children's intervals.
    let own = |i: usize| -> i64 {
        let s = &spans[i];
        // A child placed by a log's clock counts by its length (a call is
        // inside its caller); the others by their intervals' union.
        let by_length: i64 = children[i]
            .iter()
            .filter(|&&c| s.approx || spans[c].approx)
            .map(|&c| spans[c].end_ns - spans[c].start_ns)
            .sum();
        let mut iv: Vec<(i64, i64)> = children[i]
            .iter()
            .filter(|&&c| !(s.approx || spans[c].approx))
            .map(|&c| {
                (
                    spans[c].start_ns.max(s.start_ns),
                    spans[c].end_ns.min(s.end_ns),
                )
            })
            .filter(|(a, b)| b > a)
            .collect();
        iv.sort_unstable();
        let mut covered = 0;
        let mut cur: Option<(i64, i64)> = None;
        for (a, b) in iv {
            match &mut cur {
                Some((_, e)) if a <= *e => *e = (*e).max(b),
                _ => {
                    if let Some((x, y)) = cur {
                        covered += y - x;
                    }
                    cur = Some((a, b));
                }
            }
        }
        if let Some((x, y)) = cur {
            covered += y - x;
        }
        (s.end_ns - s.start_ns - covered - by_length).max(0)
    };
    // The visit each span belongs to: itself when its tier differs from
    // its nearest non-hop ancestor's (or it has none), else that ancestor's.
    let mut visit_of: Vec<Option<usize>> = vec![None; spans.len()];
    let mut out = TraceVisits {
        start_ns: spans[root].start_ns,
        e2e_ns: spans[root].end_ns - spans[root].start_ns,
        class: None,
        error: spans[root].error,
        visits: Vec::new(),
        hops: Vec::new(),
        coarse: Vec::new(),
        logged: Vec::new(),
        placed: Vec::new(),
        edges: Vec::new(),
    };
    let mut visit_index: HashMap<usize, usize> = HashMap::new();
    // Spans sorted by start: a parent starts no later than its child, so
    // parents come first except for clock skew between machines; walk
    // from the roots instead to be sure.
    let mut stack: Vec<usize> = roots.clone();
    stack.extend((0..spans.len()).filter(|&i| spans[i].parent.is_some() && parent[i].is_none()));
    stack.reverse();
    while let Some(i) = stack.pop() {
        let up = parent[i];
        match tier[i] {
            None => {
                // A hop: its own time is the network to the service it calls.
                visit_of[i] = up.and_then(|p| visit_of[p]);
            }
            Some(t) => {
                let caller = up.and_then(|p| visit_of[p]);
                let same = caller.is_some_and(|v| tier[v] == Some(t));
                if same {
                    visit_of[i] = caller;
                } else {
                    visit_of[i] = Some(i);
                    visit_index.insert(i, out.visits.len());
                    let s = &spans[i];
                    if s.approx && s.layer < TRACED && !out.coarse.contains(&t) {
                        out.coarse.push(t);
                    }
                    if s.approx && !out.logged.contains(&t) {
                        out.logged.push(t);
                    }
                    out.visits.push((t, 0, s.end_ns - s.start_ns, s.start_ns));
                    let (host, instance) = if s.kind == SpanKind::Client {
                        (None, None)
                    } else {
                        (s.host, s.instance)
                    };
                    out.placed.push((t, host, instance, s.peer_is_db));
                    if let Some(c) = caller.and_then(|v| tier[v]) {
                        out.edges.push((c, t));
                    }
                    if let Some(p) = up
                        && tier[p].is_none()
                        && spans[i].kind != SpanKind::Client
                    {
                        let from = caller.and_then(|v| visit_index.get(&v).copied());
                        out.hops.push((t, own(p), from));
                    }
                }
            }
        }
        for &c in children[i].iter().rev() {
            stack.push(c);
        }
    }
    for i in 0..spans.len() {
        if tier[i].is_some()
            && let Some(v) = visit_of[i]
            && let Some(&k) = visit_index.get(&v)
        {
            out.visits[k].1 += own(i);
        }
    }
    let r = &spans[root];
    out.class = classify(
        rules,
        r.method.as_deref().unwrap_or("GET").as_bytes(),
        r.path.as_deref().unwrap_or("/").as_bytes(),
    );
    Some(out)
}

/// Traces read from files, joined within [`HORIZON_NS`].
pub struct Joined {
    /// The names.
    pub names: Names,
    /// Per file read.
    pub files: Vec<FileLines>,
    /// What the join found.
    pub problems: JoinProblems,
    /// When any traced request was in progress.
    pub activity: Activity,
    /// Spans read.
    pub spans: u64,
}

/// One open file of spans.
enum Open {
    Lines(LineSource, Box<dyn SpanLines>),
    Done,
}

/// OTLP JSON lines, a line per `TracesData`.
struct OtlpLines;

impl SpanLines for OtlpLines {
    fn kind(&self) -> &'static str {
        "otlp"
    }

    fn line(&mut self, line: &[u8], names: &mut Names, out: &mut Vec<Span>) -> LineRead {
        if otlp_line(line, names, out) {
            LineRead::Traced
        } else {
            LineRead::Garbage
        }
    }
}

/// Reads every trace file (OTLP JSON lines or a Jaeger export), files
/// advanced together in time so that traces spread over files (one per
/// service) join; calls `each` for every complete trace.
pub fn read_traces(
    otlp: &[PathBuf],
    jaeger_files: &[PathBuf],
    logs: Vec<super::log_spans::SpanSource>,
    rules: &[ClassRule],
    (since, until): (Option<i64>, Option<i64>),
    each: &mut dyn FnMut(TraceVisits),
) -> Result<Joined, CalibrateError> {
    let mut names = Names::default();
    let mut problems = JoinProblems::default();
    let mut files: Vec<FileLines> = Vec::new();
    let mut activity = Activity::default();
    let mut pending: HashMap<u128, (Vec<Span>, i64)> = HashMap::new();
    let mut clock = i64::MIN;
    let mut spans_read = 0u64;
    let mut batch: Vec<Span> = Vec::new();
    let mut emit = |mut spans: Vec<Span>,
                    names: &mut Names,
                    problems: &mut JoinProblems,
                    activity: &mut Activity| {
        // A trace that began outside --since/--until is only activity: its
        // problems are not the range's (a log read past the traces' end
        // holds statements whose callers' spans were not kept).
        let start = spans.iter().map(|s| s.start_ns).min().unwrap_or(0);
        if since.is_some_and(|s| start < s) || until.is_some_and(|u| start >= u) {
            let end = spans.iter().map(|s| s.end_ns).max().unwrap_or(start);
            activity.add(start, end);
            problems.outside += 1;
            return;
        }
        if let Some(v) = visits_of(&mut spans, names, rules, problems) {
            activity.add(v.start_ns, v.start_ns + v.e2e_ns);
            each(v);
        }
    };
    // Jaeger exports are one document each: read whole (capped).
    for p in jaeger_files {
        let bytes = crate::scenario::files::read_capped(p, 1 << 30, true).map_err(|m| {
            CalibrateError::Io {
                path: p.clone(),
                message: m,
            }
        })?;
        let mut fl = FileLines {
            path: p.clone(),
            kind: "jaeger",
            lines: bytecount_lines(&bytes),
            ..FileLines::default()
        };
        let Some(n) = jaeger(&bytes, &mut names, &mut batch) else {
            return Err(CalibrateError::Input {
                message: format!(
                    "{}: not a Jaeger JSON export (an object with a \"data\" array of traces)",
                    p.display()
                ),
                hint: "export with Jaeger's UI or its /api/traces; OTLP JSON lines go to --otlp"
                    .into(),
            });
        };
        spans_read += n as u64;
        for s in batch.drain(..) {
            fl.seen(s.start_ns);
            let e = pending
                .entry(s.trace)
                .or_insert_with(|| (Vec::new(), s.end_ns));
            e.1 = e.1.max(s.end_ns);
            e.0.push(s);
        }
        files.push(fl);
    }
    let mut open: Vec<(Open, i64)> = Vec::new();
    let first_otlp = files.len();
    let sources = otlp
        .iter()
        .map(|p| -> Result<_, CalibrateError> {
            Ok((
                p.clone(),
                LineSource::open(p)?.with_max_line(super::source::MAX_TRACE_LINE),
                Box::new(OtlpLines) as Box<dyn SpanLines>,
            ))
        })
        .chain(
            logs.into_iter()
                .map(|(p, s)| Ok((p.clone(), LineSource::open(&p)?, s))),
        );
    for source in sources {
        let (p, src, lines) = source?;
        files.push(FileLines {
            path: p,
            kind: lines.kind(),
            ..FileLines::default()
        });
        open.push((Open::Lines(src, lines), i64::MIN));
    }
    let mut since_sweep = 0usize;
    // The file that is furthest behind in time goes next.
    while let Some(k) = (0..open.len())
        .filter(|&k| matches!(open[k].0, Open::Lines(..)))
        .min_by_key(|&k| open[k].1)
    {
        let fl = &mut files[first_otlp + k];
        let Open::Lines(src, lines) = &mut open[k].0 else {
            unreachable!()
        };
        let per_span = lines.kind() == "otlp";
        match src.next_numbered()? {
            None => {
                fl.truncated_last = src.truncated_last;
                fl.cut = src.too_long;
                lines.finish(&mut names, &mut batch);
                open[k].0 = Open::Done;
            }
            Some((no, line)) => {
                fl.lines = no;
                if line.iter().all(u8::is_ascii_whitespace) && per_span {
                    continue;
                }
                match lines.line(line, &mut names, &mut batch) {
                    LineRead::Garbage => fl.skip(no, line),
                    LineRead::Untraced => fl.untraced += 1,
                    LineRead::Traced | LineRead::Part => {}
                }
            }
        }
        if !per_span && let Some(s) = batch.first() {
            fl.seen(s.start_ns);
        }
        let mut latest = open[k].1;
        for s in batch.drain(..) {
            spans_read += 1;
            if per_span {
                fl.seen(s.start_ns);
            }
            latest = latest.max(s.end_ns);
            let e = pending
                .entry(s.trace)
                .or_insert_with(|| (Vec::new(), s.end_ns));
            e.1 = e.1.max(s.end_ns);
            e.0.push(s);
            since_sweep += 1;
        }
        open[k].1 = latest;
        clock = clock.max(latest);
        // Traces whose last span ended a horizon before every file's time
        // are complete.
        if since_sweep >= 4096 {
            since_sweep = 0;
            let low = open
                .iter()
                .filter(|o| matches!(o.0, Open::Lines(..)))
                .map(|o| o.1)
                .min()
                .unwrap_or(clock);
            let done: Vec<u128> = pending
                .iter()
                .filter(|(_, (_, last))| *last < low - HORIZON_NS)
                .map(|(t, _)| *t)
                .collect();
            let mut done: Vec<(i64, u128)> = done
                .into_iter()
                .map(|t| {
                    (
                        pending[&t].0.iter().map(|s| s.start_ns).min().unwrap_or(0),
                        t,
                    )
                })
                .collect();
            done.sort_unstable();
            for (_, t) in done {
                let (spans, _) = pending.remove(&t).unwrap_or_default();
                emit(spans, &mut names, &mut problems, &mut activity);
            }
        }
    }
    let mut rest: Vec<(i64, Vec<Span>)> = pending
        .into_values()
        .map(|(s, _)| (s.iter().map(|x| x.start_ns).min().unwrap_or(0), s))
        .collect();
    rest.sort_by_key(|r| r.0);
    for (_, spans) in rest {
        emit(spans, &mut names, &mut problems, &mut activity);
    }
    activity.finish();
    Ok(Joined {
        names,
        files,
        problems,
        activity,
        spans: spans_read,
    })
}

fn bytecount_lines(b: &[u8]) -> u64 {
    b.iter().filter(|&&c| c == b'\n').count() as u64
}

/// Whether a file looks like a Jaeger export rather than OTLP lines: its
/// first bytes open an object whose first key is `data`.
pub fn looks_like_jaeger(head: &[u8]) -> bool {
    let s = String::from_utf8_lossy(head);
    let t = s.trim_start().trim_start_matches('{').trim_start();
    t.starts_with("\"data\"")
}

/// The first bytes of a file, for telling formats apart.
pub fn head(p: &Path) -> Vec<u8> {
    use std::io::Read;
    let mut buf = vec![0u8; 256];
    let n = std::fs::File::open(p)
        .and_then(|mut f| f.read(&mut buf))
        .unwrap_or(0);
    buf.truncate(n);
    buf
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calibrate::classes::default_rules;

    #[test]
    fn trace_contexts_are_found_where_headers_and_comments_put_them() {
        let t = 0x0af7651916cd43dd8448eb211c80319c_u128;
        let header = b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        assert_eq!(trace_context(header), Some((t, 0xb7ad6b7169203331)));
        // HAProxy's captured headers, sqlcommenter's comment.
        let captured = b"{00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01}";
        assert_eq!(trace_context(captured), Some((t, 0xb7ad6b7169203331)));
        let comment = b"SELECT 1 /*db_driver='x',traceparent='00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01'*/;";
        assert_eq!(trace_context(comment), Some((t, 0x00f067aa0ba902b7)));
        // Nginx's $otel_trace_id: a bare trace id.
        assert_eq!(
            trace_context(b"0af7651916cd43dd8448eb211c80319c"),
            Some((t, 0))
        );
        for bad in [
            &b"-"[..],
            b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b71692033-01",
            b"00-00000000000000000000000000000000-b7ad6b7169203331-01",
            b"00-0af7651916cd43dd8448eb211c80319g-b7ad6b7169203331-01",
        ] {
            assert_eq!(trace_context(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn logs_wrap_the_traced_spans_and_statements_keep_their_callers() {
        let span = |id: u64, parent: Option<u64>, layer: u8, kind: SpanKind| Span {
            trace: 9,
            id,
            parent,
            service: 0,
            host: None,
            instance: None,
            kind,
            start_ns: 0,
            end_ns: 10,
            peer: None,
            peer_is_db: false,
            method: None,
            path: None,
            error: false,
            approx: layer != TRACED,
            layer,
        };
        let mut spans = vec![
            span(1, None, 0, SpanKind::Server),
            span(2, Some(1), 0, SpanKind::Client),
            span(3, None, 1, SpanKind::Server),
            span(4, Some(3), 1, SpanKind::Client),
            // The app's span names the load generator's, never exported.
            span(5, Some(77), TRACED, SpanKind::Server),
            // A statement whose caller's span is lost stays an orphan.
            span(6, Some(88), 3, SpanKind::Server),
        ];
        wrap_in_logs(&mut spans);
        let parents: Vec<Option<u64>> = spans.iter().map(|s| s.parent).collect();
        assert_eq!(
            parents,
            [None, Some(1), Some(2), Some(3), Some(4), Some(88)]
        );
    }

    /// A span as an OTLP JSON line of its own service.
    #[allow(clippy::too_many_arguments)]
    fn line(
        service: &str,
        host: &str,
        trace: u32,
        id: u32,
        parent: u32,
        kind: u8,
        t: (i64, i64),
        attrs: &str,
    ) -> String {
        let parent = if parent == 0 {
            String::new()
        } else {
            format!("{parent:016x}")
        };
        format!(
            r#"{{"resourceSpans":[{{"resource":{{"attributes":[{{"key":"service.name","value":{{"stringValue":"{service}"}}}},{{"key":"host.name","value":{{"stringValue":"{host}"}}}}]}},"scopeSpans":[{{"spans":[{{"traceId":"{trace:032x}","spanId":"{id:016x}","parentSpanId":"{parent}","name":"x","kind":{kind},"startTimeUnixNano":"{}","endTimeUnixNano":{},"attributes":[{attrs}]}}]}}]}}]}}"#,
            t.0, t.1
        )
    }

    fn read(text: &str) -> (Vec<TraceVisits>, Joined) {
        let dir = std::env::temp_dir().join(format!(
            "stacksim-otlp-{}-{}",
            std::process::id(),
            text.len()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("t.jsonl");
        std::fs::write(&p, text).unwrap();
        let mut got = Vec::new();
        let j = read_traces(
            &[p],
            &[],
            Vec::new(),
            &default_rules(),
            (None, None),
            &mut |t| got.push(t),
        )
        .unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        (got, j)
    }

    const MS: i64 = 1_000_000;

    #[test]
    fn spans_out_of_order_across_lines_make_one_trace_with_own_times() {
        let get = r#"{"key":"http.request.method","value":{"stringValue":"GET"}},{"key":"url.path","value":{"stringValue":"/a"}}"#;
        let db = r#"{"key":"db.system","value":{"stringValue":"mysql"}}"#;
        // The database call ends first, the root last; the lines come in
        // the order the spans ended, with garbage and a cut line between.
        let text = [
            line("app", "back", 1, 3, 2, 3, (4 * MS, 6 * MS), db),
            line("app", "back", 1, 2, 1, 2, (2 * MS, 9 * MS), ""),
            "not json at all".to_string(),
            line("web", "front", 1, 1, 0, 2, (0, 10 * MS), get),
            line("app", "back", 1, 4, 2, 3, (6 * MS, 7 * MS), db),
        ]
        .join("\n")
            + "\n{\"resourceSpans\":[";
        let (got, j) = read(&text);
        assert_eq!(got.len(), 1);
        let t = &got[0];
        assert_eq!((t.e2e_ns, t.class), (10 * MS, Some(0)));
        let tier = |v: &(u32, i64, i64, i64)| j.names.name(v.0).to_string();
        let visits: Vec<(String, i64)> = t.visits.iter().map(|v| (tier(v), v.1)).collect();
        // web: 10 less the app's 7; app: 7 less its two calls' 3; mysql 2 + 1.
        assert_eq!(
            visits,
            [
                ("web".into(), 3 * MS),
                ("app".into(), 4 * MS),
                ("mysql".into(), 2 * MS),
                ("mysql".into(), MS)
            ]
        );
        let f = &j.files[0];
        assert_eq!((f.skipped, f.truncated_last, j.spans), (1, true, 4));
        assert_eq!(f.skipped_examples[0].0, 3);
    }

    #[test]
    fn ids_are_hex_base64_or_short_hex() {
        assert_eq!(hex_u64("0000000000000101"), Some(0x101));
        assert_eq!(
            hex_u64("AAAAAAAAAQE="),
            Some(0x101),
            "base64 of the same 8 bytes"
        );
        assert_eq!(hex_u64("101"), Some(0x101));
        assert_eq!(
            hex_u128("0af7651916cd43dd8448eb211c80319c"),
            Some(0x0af7651916cd43dd8448eb211c80319c)
        );
        assert_eq!(
            hex_u128("CvdlGRbNQ92ESOshHIAxnA=="),
            Some(0x0af7651916cd43dd8448eb211c80319c)
        );
        assert_eq!(hex_u64(""), None);
        assert_eq!(hex_u64("0000000000000000"), None);
        assert_eq!(hex_u64("zz"), None);
    }

    #[test]
    fn a_missing_root_or_parent_is_counted_not_guessed() {
        let text = [
            // Trace 1: only a child whose parent was never exported.
            line("app", "b", 1, 2, 9, 2, (MS, 2 * MS), ""),
            // Trace 2: a root and an orphan.
            line("web", "a", 2, 1, 0, 2, (0, 5 * MS), ""),
            line("app", "b", 2, 3, 7, 2, (MS, 2 * MS), ""),
            // Trace 2's root read twice.
            line("web", "a", 2, 1, 0, 2, (0, 5 * MS), ""),
        ]
        .join("\n")
            + "\n";
        let (got, j) = read(&text);
        assert_eq!(got.len(), 1);
        assert_eq!(j.problems.no_root, 1);
        assert_eq!(j.problems.orphans, 1);
        assert_eq!(j.problems.duplicates, 1);
    }

    #[test]
    fn a_hop_between_services_is_network_and_jaeger_reads_alike() {
        // web calls app through a client span: 1 ms out and back.
        let text = [
            line("web", "a", 5, 1, 0, 2, (0, 10 * MS), ""),
            line(
                "web",
                "a",
                5,
                2,
                1,
                3,
                (2 * MS, 9 * MS),
                r#"{"key":"peer.service","value":{"stringValue":"app"}}"#,
            ),
            line(
                "app",
                "b",
                5,
                3,
                2,
                2,
                (2 * MS + MS / 2, 8 * MS + MS / 2),
                "",
            ),
        ]
        .join("\n")
            + "\n";
        let (got, j) = read(&text);
        let t = &got[0];
        assert_eq!(t.hops.len(), 1);
        assert_eq!((j.names.name(t.hops[0].0), t.hops[0].1), ("app", MS));
        assert_eq!(t.visits[0].1, 3 * MS, "web's own time excludes the call");
        assert_eq!(t.edges.len(), 1);

        // The same trace as Jaeger exports it (microseconds).
        let jaeger_text = r#"{"data":[{"traceID":"5","spans":[
          {"traceID":"5","spanID":"1","operationName":"GET /a","references":[],"startTime":0,"duration":10000,"tags":[{"key":"span.kind","type":"string","value":"server"}],"processID":"p1"},
          {"traceID":"5","spanID":"2","operationName":"call","references":[{"refType":"CHILD_OF","traceID":"5","spanID":"1"}],"startTime":2000,"duration":7000,"tags":[{"key":"span.kind","type":"string","value":"client"},{"key":"peer.service","type":"string","value":"app"}],"processID":"p1"},
          {"traceID":"5","spanID":"3","operationName":"handle","references":[{"refType":"CHILD_OF","traceID":"5","spanID":"2"}],"startTime":2500,"duration":6000,"tags":[{"key":"span.kind","type":"string","value":"server"}],"processID":"p2"}],
          "processes":{"p1":{"serviceName":"web","tags":[{"key":"hostname","type":"string","value":"a"}]},"p2":{"serviceName":"app","tags":[]}}}]}"#;
        let mut names = Names::default();
        let mut spans = Vec::new();
        assert_eq!(
            jaeger(jaeger_text.as_bytes(), &mut names, &mut spans),
            Some(3)
        );
        let mut problems = JoinProblems::default();
        let v = visits_of(&mut spans, &mut names, &default_rules(), &mut problems).unwrap();
        assert_eq!(v.hops[0].1, MS);
        assert_eq!(v.visits[0].1, 3 * MS);
        assert_eq!(v.class, Some(0), "GET from the operation name");
        assert!(looks_like_jaeger(jaeger_text.as_bytes()));
        assert!(jaeger(b"{\"resourceSpans\":[]}", &mut names, &mut spans).is_some_and(|n| n == 0));
    }
}
