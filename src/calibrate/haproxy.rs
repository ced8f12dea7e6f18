//! HAProxy's HTTP log: the default `option httplog` line, with or without a
//! syslog header, and any custom `log-format` given by its format string.

use super::format::{FieldSpec, Format, Piece, Span, get};
use super::time::{self, NS};

/// The `log-format` equivalent of `option httplog`, as HAProxy documents it.
pub const HTTPLOG: &str = "%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r";

/// What a variable holds (the ones calibration reads; the rest are `Other`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum HField {
    /// `%tr`, `%t`: the accept date in local time, with milliseconds.
    DateLocal,
    /// `%trg`, `%trl`: the accept date with its UTC offset.
    DateZoned,
    /// `%Ts`: the accept date in seconds since the epoch.
    EpochSeconds,
    /// `%ms`: the milliseconds part of `%Ts`.
    Millis,
    /// `%b`: backend.
    Backend,
    /// `%s`: server.
    Server,
    /// `%TR`: time to receive the request headers.
    TR,
    /// `%Tw`: time waiting in HAProxy's queues.
    Tw,
    /// `%Tc`: time to connect to the server.
    Tc,
    /// `%Tr`: the server's response time (to the response headers).
    Tr,
    /// `%Ta`: the request's active time (without keep-alive idle time).
    Ta,
    /// `%Tt`: total session time (with idle time under keep-alive).
    Tt,
    /// `%ST`: status code.
    Status,
    /// `%tsc`, `%ts`: termination state.
    Term,
    /// `%r`: the request line.
    Request,
    /// `%HM`: method.
    Method,
    /// `%HU`, `%HP`: URI, path.
    Uri,
    /// `%ID`: the unique request id.
    Id,
    /// `%hr`: the captured request headers (`{...|...}`).
    Captured,
    /// `%fc`: the frontend's concurrent connections when the request was
    /// logged (what the clients hold open).
    FeConn,
    /// Any other variable: matched and ignored.
    Other,
}

const N_FIELDS: usize = HField::Other as usize + 1;

impl From<HField> for usize {
    fn from(f: HField) -> usize {
        f as usize
    }
}

fn kind_of(name: &str) -> HField {
    use HField::*;
    match name {
        "tr" | "t" => DateLocal,
        "trg" | "trl" => DateZoned,
        "Ts" => EpochSeconds,
        "ms" => Millis,
        "b" => Backend,
        "s" => Server,
        "TR" | "Tq" => TR,
        "Tw" => Tw,
        "Tc" => Tc,
        "Tr" => Tr,
        "Ta" => Ta,
        "Tt" => Tt,
        "ST" => Status,
        "tsc" | "ts" => Term,
        "r" => Request,
        "HM" => Method,
        "HU" | "HP" => Uri,
        "ID" => Id,
        "hr" => Captured,
        "fc" => FeConn,
        _ => Other,
    }
}

/// Compiles a `log-format` string; the error says what is wrong and where
/// (a character offset into the string).
pub fn compile(fmt: &str) -> Result<Format<HField>, String> {
    let b = fmt.as_bytes();
    let mut pieces: Vec<Piece<HField>> = Vec::new();
    let mut lit = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' if i + 1 < b.len() => {
                lit.push(b[i + 1]);
                i += 2;
            }
            b'%' if b.get(i + 1) == Some(&b'%') => {
                lit.push(b'%');
                i += 2;
            }
            b'%' => {
                let at = i;
                i += 1;
                let mut quoted = false;
                if b.get(i) == Some(&b'{') {
                    let close = b[i..]
                        .iter()
                        .position(|&c| c == b'}')
                        .ok_or(format!("at {at}: `%{{` without its `}}`"))?;
                    quoted = fmt[i + 1..i + close].split(',').any(|f| f == "+Q");
                    i += close + 1;
                }
                let name = if b.get(i) == Some(&b'[') {
                    let close = b[i..]
                        .iter()
                        .position(|&c| c == b']')
                        .ok_or(format!("at {at}: `%[` without its `]`"))?;
                    i += close + 1;
                    "sample"
                } else {
                    let n = b[i..]
                        .iter()
                        .take_while(|c| c.is_ascii_alphabetic())
                        .count();
                    if n == 0 {
                        return Err(format!("at {at}: `%` is not followed by a variable name"));
                    }
                    i += n;
                    &fmt[i - n..i]
                };
                if !lit.is_empty() {
                    pieces.push(Piece::Lit(std::mem::take(&mut lit)));
                }
                let braced = matches!(name, "hr" | "hs" | "hrl" | "hsl");
                pieces.push(Piece::Field(FieldSpec {
                    kind: kind_of(name),
                    list: false,
                    braced,
                    quoted,
                }));
            }
            c => {
                lit.push(c);
                i += 1;
            }
        }
    }
    if !lit.is_empty() {
        pieces.push(Piece::Lit(lit));
    }
    let f = Format::new(pieces, true)?;
    if !(f.has(HField::Ta) || f.has(HField::Tt)) {
        return Err("the format has no %Ta (or %Tt) timer: no request time to read".into());
    }
    if !(f.has(HField::DateLocal) || f.has(HField::DateZoned) || f.has(HField::EpochSeconds)) {
        return Err("the format has no date (%tr, %t, %trg or %Ts)".into());
    }
    Ok(f)
}

/// One request from the log. Times in ms as HAProxy writes them; `None` for
/// `-1` (the phase never happened: an aborted request).
#[derive(Debug, Clone, Default)]
pub struct HaproxyRecord<'a> {
    /// When the request was accepted, ns since the epoch (UTC once the offset
    /// is applied).
    pub start_ns: i64,
    /// `%Ta` (or `%Tt` when the format has no `%Ta`).
    pub active_ms: Option<i64>,
    /// `%TR`, `%Tw`, `%Tc`, `%Tr`.
    pub phases_ms: [Option<i64>; 4],
    /// `%ST`.
    pub status: u16,
    /// `%tsc`.
    pub term: &'a [u8],
    /// `%b`, `%s`.
    pub backend: &'a [u8],
    /// Server name.
    pub server: &'a [u8],
    /// From `%r` or `%HM`.
    pub method: &'a [u8],
    /// From `%r` or `%HU`.
    pub path: &'a [u8],
    /// `%ID`, when the format has it.
    pub id: Option<&'a [u8]>,
    /// `%hr`: the captured request headers, when the format has them.
    pub captured: Option<&'a [u8]>,
    /// `%fc`: the frontend's concurrent connections, when logged.
    pub fe_conns: Option<u32>,
}

/// Drops a syslog header (`<134>Dec  1 10:48:57 host haproxy[123]: `, the
/// RFC 5424 form, or a file written by rsyslog without the priority).
pub fn strip_syslog(line: &[u8]) -> &[u8] {
    let mut s = line;
    if s.first() == Some(&b'<') {
        match s.iter().take(6).position(|&c| c == b'>') {
            Some(p) => s = &s[p + 1..],
            None => return line,
        }
    } else if !s.first().is_some_and(|c| c.is_ascii_alphabetic()) {
        return line;
    }
    let head = &s[..s.len().min(160)];
    let tag_end = head
        .windows(3)
        .position(|w| w == b"]: ")
        .map(|p| p + 3)
        .or_else(|| {
            head.windows(2)
                .skip(15)
                .position(|w| w == b": ")
                .map(|p| p + 17)
        });
    match tag_end {
        Some(p) => &s[p..],
        None => line,
    }
}

/// A timer field: `Ok(None)` when absent or `-1` (the request never got
/// that far), `Err` when it is not a timer at all or longer than a day
/// (the line is then not a record).
fn timer(b: Option<&[u8]>) -> Result<Option<i64>, ()> {
    let Some(b) = b else {
        return Ok(None);
    };
    if b == b"-1" {
        return Ok(None);
    }
    b.strip_prefix(b"+")
        .map_or_else(|| time::millis(b), time::millis)
        .map(Some)
        .ok_or(())
}

/// A compiled HAProxy format with its parse buffer.
pub struct HaproxyParser {
    format: Format<HField>,
    spans: [Option<Span>; N_FIELDS],
    /// Seconds east of UTC of the log's local dates (`%tr` has none).
    pub utc_offset_s: i64,
}

impl HaproxyParser {
    /// A parser for `format` (default: `option httplog`).
    pub fn new(format: Option<&str>) -> Result<HaproxyParser, String> {
        Ok(HaproxyParser {
            format: compile(format.unwrap_or(HTTPLOG))?,
            spans: [None; N_FIELDS],
            utc_offset_s: 0,
        })
    }

    /// One line, or `None` when it is not a request line of this format.
    pub fn parse<'a>(&mut self, line: &'a [u8]) -> Option<HaproxyRecord<'a>> {
        let line = strip_syslog(line);
        if !self.format.parse(line, &mut self.spans) {
            return None;
        }
        let f = |k: HField| get(line, self.spans[k as usize]);
        let start_ns = if let Some(d) = f(HField::DateLocal) {
            time::clf_local(d)?.checked_sub(self.utc_offset_s * NS)?
        } else if let Some(d) = f(HField::DateZoned) {
            time::time_local(d)?
        } else {
            let s = time::digits(f(HField::EpochSeconds)?)?;
            let ms = f(HField::Millis).and_then(time::digits).unwrap_or(0);
            time::plausible(s.checked_mul(NS)?.checked_add(ms.checked_mul(1_000_000)?)?)?
        };
        let active_ms = if self.spans[HField::Ta as usize].is_some() {
            timer(f(HField::Ta)).ok()?
        } else {
            timer(f(HField::Tt)).ok()?
        };
        let status = f(HField::Status).and_then(time::digits).unwrap_or(0) as u16;
        let (mut method, mut path) = (
            f(HField::Method).unwrap_or(b""),
            f(HField::Uri).unwrap_or(b""),
        );
        if let Some(r) = f(HField::Request) {
            let mut parts = r.split(|&c| c == b' ');
            method = parts.next().unwrap_or(b"");
            path = parts.next().unwrap_or(b"");
        }
        Some(HaproxyRecord {
            start_ns,
            active_ms,
            phases_ms: [
                timer(f(HField::TR)).ok()?,
                timer(f(HField::Tw)).ok()?,
                timer(f(HField::Tc)).ok()?,
                timer(f(HField::Tr)).ok()?,
            ],
            status,
            term: f(HField::Term).unwrap_or(b""),
            backend: f(HField::Backend).unwrap_or(b""),
            server: f(HField::Server).unwrap_or(b""),
            method,
            path,
            id: f(HField::Id),
            captured: f(HField::Captured),
            fe_conns: f(HField::FeConn)
                .and_then(time::digits)
                .map(|n| n.min(i64::from(u32::MAX)) as u32),
        })
    }
}
