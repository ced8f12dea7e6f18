//! Nginx's access log, read through the `log_format` string that wrote it.

use super::format::{FieldSpec, Format, Piece, Span, get};
use super::time;

/// The default format: `combined` plus the two timers calibration needs.
pub const DEFAULT: &str = r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time $upstream_response_time"#;

/// What a variable holds (the ones calibration reads; the rest are `Other`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum NField {
    /// `$time_local`.
    TimeLocal,
    /// `$time_iso8601`.
    TimeIso,
    /// `$msec`.
    Msec,
    /// `$request_time`.
    RequestTime,
    /// `$upstream_response_time`.
    UpstreamResponse,
    /// `$upstream_connect_time`.
    UpstreamConnect,
    /// `$upstream_header_time`.
    UpstreamHeader,
    /// `$status`.
    Status,
    /// `$request`.
    Request,
    /// `$request_method`.
    Method,
    /// `$request_uri`, `$uri`.
    Uri,
    /// `$request_id`, `$http_x_request_id`.
    Id,
    /// `$http_traceparent`, `$otel_trace_id`: the request's trace.
    Trace,
    /// Any other variable.
    Other,
}

const N_FIELDS: usize = NField::Other as usize + 1;

impl From<NField> for usize {
    fn from(f: NField) -> usize {
        f as usize
    }
}

fn kind_of(name: &str) -> NField {
    use NField::*;
    match name {
        "time_local" => TimeLocal,
        "time_iso8601" => TimeIso,
        "msec" => Msec,
        "request_time" => RequestTime,
        "upstream_response_time" => UpstreamResponse,
        "upstream_connect_time" => UpstreamConnect,
        "upstream_header_time" => UpstreamHeader,
        "status" => Status,
        "request" => Request,
        "request_method" => Method,
        "request_uri" | "uri" => Uri,
        "request_id" | "http_x_request_id" => Id,
        "http_traceparent" | "otel_trace_id" => Trace,
        _ => Other,
    }
}

/// Compiles a `log_format` string (as written in nginx.conf, without the
/// surrounding quotes).
pub fn compile(fmt: &str) -> Result<Format<NField>, String> {
    let b = fmt.as_bytes();
    let mut pieces: Vec<Piece<NField>> = Vec::new();
    let mut lit = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'$' {
            lit.push(b[i]);
            i += 1;
            continue;
        }
        let at = i;
        let name = if b.get(i + 1) == Some(&b'{') {
            let close = b[i..]
                .iter()
                .position(|&c| c == b'}')
                .ok_or(format!("at {at}: `${{` without its `}}`"))?;
            let n = &fmt[i + 2..i + close];
            i += close + 1;
            n
        } else {
            let n = b[i + 1..]
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
                .count();
            if n == 0 {
                return Err(format!("at {at}: `$` is not followed by a variable name"));
            }
            i += 1 + n;
            &fmt[i - n..i]
        };
        if !lit.is_empty() {
            pieces.push(Piece::Lit(std::mem::take(&mut lit)));
        }
        let kind = kind_of(name);
        pieces.push(Piece::Field(FieldSpec {
            kind,
            list: name.starts_with("upstream_"),
            braced: false,
            quoted: false,
        }));
    }
    if !lit.is_empty() {
        pieces.push(Piece::Lit(lit));
    }
    let f = Format::new(pieces, false)?;
    if !f.has(NField::RequestTime) {
        return Err("the format has no $request_time: no request time to read".into());
    }
    if !(f.has(NField::Msec) || f.has(NField::TimeLocal) || f.has(NField::TimeIso)) {
        return Err("the format has no time ($msec, $time_local or $time_iso8601)".into());
    }
    Ok(f)
}

/// One request from the log. Times in ns.
#[derive(Debug, Clone, Default)]
pub struct NginxRecord<'a> {
    /// When the request ended (the log is written then), ns since the epoch.
    pub end_ns: i64,
    /// Whether `end_ns` has only whole seconds (`$time_local`).
    pub whole_seconds: bool,
    /// `$request_time`.
    pub request_ns: i64,
    /// `$upstream_response_time`, summed over the tries; `None` for `-`
    /// (served without an upstream).
    pub upstream_ns: Option<i64>,
    /// `$upstream_connect_time`, summed over the tries.
    pub upstream_connect_ns: Option<i64>,
    /// How many upstream servers were tried (more than one after a retry).
    pub tries: u8,
    /// `$status`.
    pub status: u16,
    /// From `$request` or `$request_method`.
    pub method: &'a [u8],
    /// From `$request` or `$request_uri`.
    pub path: &'a [u8],
    /// `$request_id` or `$http_x_request_id`.
    pub id: Option<&'a [u8]>,
    /// `$http_traceparent` or `$otel_trace_id`.
    pub trace: Option<&'a [u8]>,
}

/// `0.002, 0.004` (and `0.001 : 0.003` across an internal redirect) summed;
/// `-` entries are tries that never got that far. `None` if every entry is `-`,
/// `Some(Err)` on anything else.
fn upstream_sum(b: &[u8]) -> Option<Result<(i64, u8), ()>> {
    let mut sum = 0;
    let mut tries = 0u8;
    let mut any = false;
    for part in b.split(|&c| c == b',' || c == b':') {
        let part = part.trim_ascii();
        tries = tries.saturating_add(1);
        if part == b"-" {
            continue;
        }
        match time::seconds(part) {
            Some(v) => {
                sum = (sum + v).min(time::MAX_DURATION_NS + 1);
                any = true;
            }
            None => return Some(Err(())),
        }
    }
    if sum > time::MAX_DURATION_NS {
        return Some(Err(()));
    }
    any.then_some(Ok((sum, tries)))
}

/// `combined`, the format every Nginx has, that the others extend.
pub const COMBINED: &str = r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent""#;

/// What users append to `combined` to log timers, most common first: the
/// default, with `$msec` and the upstream's connect and header times (as
/// the rig logs), the timing format of Nginx's own guidance
/// (`rt= uct= uht= urt=`), and each with a request id (the rig's with the
/// caller's `traceparent` too).
const TAILS: [&str; 9] = [
    " $request_time $upstream_response_time",
    " $request_time $upstream_response_time $msec $upstream_connect_time $upstream_header_time",
    " $request_time $upstream_response_time $upstream_connect_time $upstream_header_time",
    r#" rt=$request_time uct="$upstream_connect_time" uht="$upstream_header_time" urt="$upstream_response_time""#,
    " $request_time $upstream_response_time $request_id",
    " $request_time $upstream_response_time $msec $upstream_connect_time $upstream_header_time $request_id",
    r#" rt=$request_time uct="$upstream_connect_time" uht="$upstream_header_time" urt="$upstream_response_time" $request_id"#,
    " $request_time",
    " $request_time $upstream_response_time $msec $upstream_connect_time $upstream_header_time $request_id $http_traceparent",
];

/// The format of an access log whose `log_format` was not given: the first
/// of `combined` and its usual timer tails that reads at least 90% of the
/// sample lines (and more of them than any other); `None` when none does.
pub fn detect(sample: &[Vec<u8>]) -> Option<String> {
    if sample.is_empty() {
        return None;
    }
    let mut best: Option<(usize, String)> = None;
    for tail in TAILS {
        let fmt = format!("{COMBINED}{tail}");
        let Ok(mut p) = NginxParser::new(Some(&fmt)) else {
            continue;
        };
        let read = sample.iter().filter(|l| p.parse(l).is_some()).count();
        // On a tie the longer format wins: a line that ends in fields a
        // shorter one ignores is read whole.
        if read * 10 >= sample.len() * 9
            && best
                .as_ref()
                .is_none_or(|b| (read, fmt.len()) > (b.0, b.1.len()))
        {
            best = Some((read, fmt));
        }
    }
    best.map(|b| b.1)
}

/// A compiled Nginx format with its parse buffer.
pub struct NginxParser {
    format: Format<NField>,
    spans: [Option<Span>; N_FIELDS],
}

impl NginxParser {
    /// A parser for `format` (default: [`DEFAULT`]).
    pub fn new(format: Option<&str>) -> Result<NginxParser, String> {
        Ok(NginxParser {
            format: compile(format.unwrap_or(DEFAULT))?,
            spans: [None; N_FIELDS],
        })
    }

    /// One line, or `None` when it does not have the format's shape.
    pub fn parse<'a>(&mut self, line: &'a [u8]) -> Option<NginxRecord<'a>> {
        if !self.format.parse(line, &mut self.spans) {
            return None;
        }
        let f = |k: NField| get(line, self.spans[k as usize]);
        let (end_ns, whole_seconds) = if let Some(m) = f(NField::Msec) {
            (time::epoch_seconds(m)?, false)
        } else if let Some(t) = f(NField::TimeIso) {
            (time::iso8601(t)?, true)
        } else {
            (time::time_local(f(NField::TimeLocal)?)?, true)
        };
        let request_ns = time::seconds(f(NField::RequestTime)?)?;
        let (upstream_ns, tries) = match f(NField::UpstreamResponse).and_then(upstream_sum) {
            None => (None, 0),
            Some(Ok((v, t))) => (Some(v), t),
            Some(Err(())) => return None,
        };
        let upstream_connect_ns = match f(NField::UpstreamConnect).and_then(upstream_sum) {
            Some(Ok((v, _))) => Some(v),
            Some(Err(())) => return None,
            None => None,
        };
        let status = time::digits(f(NField::Status)?)? as u16;
        let (mut method, mut path) = (
            f(NField::Method).unwrap_or(b""),
            f(NField::Uri).unwrap_or(b""),
        );
        if let Some(r) = f(NField::Request) {
            let mut parts = r.split(|&c| c == b' ');
            method = parts.next().unwrap_or(b"");
            path = parts.next().unwrap_or(b"");
        }
        Some(NginxRecord {
            end_ns,
            whole_seconds,
            request_ns,
            upstream_ns,
            upstream_connect_ns,
            tries,
            status,
            method,
            path,
            id: f(NField::Id).filter(|v| *v != b"-"),
            trace: f(NField::Trace).filter(|v| *v != b"-"),
        })
    }
}

/// Seconds since the epoch of a record's start (end minus its request time).
pub fn start_ns(r: &NginxRecord<'_>) -> i64 {
    r.end_ns - r.request_ns
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_usual_formats_are_detected_from_their_lines() {
        let line = |tail: &str| {
            format!(r#"10.0.0.1 - - [01/Dec/2026:11:16:15 +0000] "GET /item/5 HTTP/1.1" 200 3278 "-" "curl/8"{tail}"#)
                .into_bytes()
        };
        let rig = line(" 0.006 0.005 1796123775.735 0.000 0.005");
        assert_eq!(
            detect(&[rig.clone(), rig]).as_deref(),
            Some(&*format!("{COMBINED}{}", TAILS[1]))
        );
        let plain = line(" 0.006 0.005");
        assert_eq!(detect(&[plain]).as_deref(), Some(DEFAULT));
        let guide = line(r#" rt=0.006 uct="0.000" uht="0.005" urt="0.005""#);
        assert_eq!(
            detect(&[guide]).as_deref(),
            Some(&*format!("{COMBINED}{}", TAILS[3]))
        );
        assert_eq!(detect(&[b"garbage".to_vec()]), None);
        let with_id =
            line(" 0.006 0.005 1796123775.735 0.000 0.005 4b3c0e2f9a8d7c6b5a4f3e2d1c0b9a88");
        assert_eq!(
            detect(&[with_id]).as_deref(),
            Some(&*format!("{COMBINED}{}", TAILS[5]))
        );
    }
}
