//! Observations: every log streamed once into per-window and whole-range
//! accumulators (moments and HDR histograms: memory flat in log size).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use super::CalibrateError;
use super::classes::{ClassRule, classify};
use super::haproxy::HaproxyParser;
use super::nginx::{self, NginxParser};
use super::slowlog::{SlowLine, SlowLogParser, StatementKind};
use super::source::LineSource;
use crate::stats::{LatencyHistogram, Moments};

/// Lines of one file: how many, which were read and why others were not.
#[derive(Debug, Clone, Default)]
pub struct FileLines {
    /// The file.
    pub path: PathBuf,
    /// What it was read as (`haproxy`, `nginx`, `mysql-slow`).
    pub kind: &'static str,
    /// Lines in the file.
    pub lines: u64,
    /// Records taken.
    pub records: u64,
    /// Lines that were not records of the format, with the first few line
    /// numbers and texts (cut at 160 bytes) to show the user.
    pub skipped: u64,
    /// Up to five (line number, text) of the skipped lines.
    pub skipped_examples: Vec<(u64, String)>,
    /// Records outside `--since`/`--until`.
    pub out_of_range: u64,
    /// Records whose class matched no `--class` rule.
    pub unclassified: u64,
    /// Aborted requests (a `-1` timer, or `<BADREQ>`: a connection that sent
    /// no request), kept out of the timing figures.
    pub aborted: u64,
    /// Records that carry no trace context (a log read with traces).
    pub untraced: u64,
    /// The last line had no newline (a log cut mid-write) and was skipped.
    pub truncated_last: bool,
    /// Lines longer than [`super::source::MAX_LINE`], read cut to it.
    pub cut: u64,
    /// First and last record start (ns since the epoch).
    pub span: Option<(i64, i64)>,
}

impl FileLines {
    pub(super) fn skip(&mut self, line_no: u64, line: &[u8]) {
        self.skipped += 1;
        if self.skipped_examples.len() < 5 {
            self.skipped_examples
                .push((line_no, super::source::printable(line, 160)));
        }
    }

    /// What the source saw besides the lines it gave: a last line cut
    /// mid-write, lines too long to keep whole.
    pub(super) fn end(&mut self, src: &LineSource) {
        self.truncated_last = src.truncated_last;
        self.cut = src.too_long;
    }

    pub(super) fn seen(&mut self, t: i64) {
        self.records += 1;
        self.span = Some(match self.span {
            None => (t, t),
            Some((a, b)) => (a.min(t), b.max(t)),
        });
    }
}

/// One tier's figures for one class.
#[derive(Debug, Clone, Default)]
pub struct TierAcc {
    /// The time the tier reports for a request (HAProxy `Ta`, Nginx
    /// `$request_time`, the upstream time), ns.
    pub total: Moments,
    /// The tier's own part per request, where one line holds both times
    /// (Nginx: `$request_time - $upstream_response_time`), ns.
    pub own: Moments,
}

/// What one window of time saw.
#[derive(Debug, Clone)]
pub struct Window {
    /// Requests at the balancer, per class.
    pub lb: Vec<TierAcc>,
    /// Requests at the web tier, per class (all instances).
    pub web: Vec<TierAcc>,
    /// Upstream (application) times, per class.
    pub app: Vec<TierAcc>,
    /// Requests per web log (instance).
    pub web_by_file: Vec<u64>,
    /// Statements by kind: read, write, other.
    pub db: [Moments; 3],
    /// End-to-end time at the entry tier (HAProxy if given, else Nginx).
    pub e2e: WindowLatency,
    /// Requests answered with a 5xx status or aborted.
    pub errors: u64,
    /// Arrivals at the entry tier per sub-window (for the dispersion index).
    pub arrivals: Vec<u32>,
    /// HAProxy's frontend connections (`%fc`) over the window's requests:
    /// sum, count and most.
    pub conns: (u64, u64, u32),
}

impl Window {
    fn new(classes: usize, web_files: usize, bins: usize) -> Window {
        Window {
            lb: vec![TierAcc::default(); classes],
            web: vec![TierAcc::default(); classes],
            app: vec![TierAcc::default(); classes],
            web_by_file: vec![0; web_files],
            db: [Moments::default(); 3],
            e2e: WindowLatency::Few(Vec::new()),
            errors: 0,
            arrivals: vec![0; bins],
            conns: (0, 0, 0),
        }
    }

    /// Requests at the entry tier.
    pub fn entry_count(&self, entry_is_lb: bool) -> u64 {
        let t = if entry_is_lb { &self.lb } else { &self.web };
        t.iter().map(|a| a.total.count()).sum()
    }
}

/// A window's end-to-end times: the values themselves while they are few
/// (a sparse log, spread over a month, has many windows of a handful of
/// requests each), an HDR histogram (two significant digits, some 36 KiB)
/// once they are many. Memory so follows the records read, not the time
/// the logs span; every figure is the histogram's either way.
#[derive(Debug, Clone)]
pub enum WindowLatency {
    /// Up to [`WindowLatency::FEW`] values, in ns, in the order recorded.
    Few(Vec<u64>),
    /// More: the histogram they were recorded into.
    Many(LatencyHistogram),
}

impl WindowLatency {
    /// Values kept as they are before a histogram is made.
    pub const FEW: usize = 256;

    /// Records one duration.
    pub fn record(&mut self, ns: u64) {
        match self {
            WindowLatency::Few(v) if v.len() < Self::FEW => v.push(ns),
            WindowLatency::Few(v) => {
                let mut h = Self::histogram_of(v);
                h.record(ns);
                *self = WindowLatency::Many(h);
            }
            WindowLatency::Many(h) => h.record(ns),
        }
    }

    fn histogram_of(v: &[u64]) -> LatencyHistogram {
        let mut h = LatencyHistogram::new(2);
        for &x in v {
            h.record(x);
        }
        h
    }

    fn with<T>(&self, f: impl FnOnce(&LatencyHistogram) -> T) -> T {
        match self {
            WindowLatency::Few(v) => f(&Self::histogram_of(v)),
            WindowLatency::Many(h) => f(h),
        }
    }

    /// Several quantiles (ascending), in ns; NaN when empty.
    pub fn quantiles_ns<const N: usize>(&self, qs: [f64; N]) -> [f64; N] {
        self.with(|h| h.quantiles_ns(qs))
    }

    /// The mean, in ns; NaN when empty.
    pub fn mean_ns(&self) -> f64 {
        self.with(LatencyHistogram::mean_ns)
    }
}

/// Histograms over the whole range, for the fits.
#[derive(Debug, Clone)]
pub struct Whole {
    /// HAProxy `Ta` per class.
    pub lb_total: Vec<LatencyHistogram>,
    /// Nginx's own time per class.
    pub web_own: Vec<LatencyHistogram>,
    /// Upstream time per class.
    pub app_total: Vec<LatencyHistogram>,
    /// Query time by statement kind.
    pub db: [LatencyHistogram; 3],
    /// The balancer's own time per request and class, where a request id
    /// joins its HAProxy and Nginx lines: `Ta` less `$request_time`.
    pub lb_own: Vec<LatencyHistogram>,
}

/// How request ids joined the balancer's lines to the web servers'.
#[derive(Debug, Clone, Copy, Default)]
pub struct IdJoin {
    /// Requests whose HAProxy and Nginx lines share an id.
    pub joined: u64,
    /// HAProxy lines with an id no Nginx line has.
    pub lb_only: u64,
    /// Nginx lines with an id no HAProxy line has.
    pub web_only: u64,
}

/// Everything calibration read.
#[derive(Debug, Clone)]
pub struct Observations {
    /// Window length, ns.
    pub window_ns: i64,
    /// Sub-window length for the dispersion index, ns.
    pub bin_ns: i64,
    /// The classes, in rule order.
    pub classes: Vec<ClassRule>,
    /// Windows by index (start = index * window_ns since the epoch).
    pub windows: BTreeMap<i64, Window>,
    /// Whole-range histograms.
    pub whole: Whole,
    /// Per file read.
    pub files: Vec<FileLines>,
    /// Whether HAProxy logs were given (the balancer is the entry tier).
    pub has_lb: bool,
    /// Number of web logs (instances).
    pub web_files: usize,
    /// Whether a slow log was given.
    pub has_db: bool,
    /// Arrivals at the entry tier (ns since the epoch, class), when kept.
    pub arrivals: Vec<(i64, u16)>,
    /// When any request or statement in range was in progress.
    pub activity: Activity,
    /// The Nginx format found, when none was given and the default did not
    /// read the logs.
    pub nginx_format_note: Option<String>,
    /// Nginx's `$upstream_connect_time` over the requests in range that
    /// went upstream, where the format has it (ns).
    pub upstream_connect: Moments,
    /// The request-id join, when HAProxy's lines carry ids (`%ID`).
    pub ids: Option<IdJoin>,
    /// Per second: the entry tier's requests and each tier's time, for
    /// pause detection.
    pub seconds: super::pauses::Seconds,
}

/// Time within this of a request counts as busy: work a request leaves
/// behind (a flush, a log write) and clocks that differ between logs.
pub const QUIET_MARGIN_NS: i64 = 100_000_000;

/// The spans of time in which some logged request or statement was in
/// progress, merged (a few entries per quiet gap: memory flat in log size).
#[derive(Debug, Clone, Default)]
pub struct Activity {
    spans: Vec<(i64, i64)>,
    sorted: bool,
}

impl Activity {
    /// A request in progress from `start` to `end` (ns since the epoch).
    pub fn add(&mut self, start: i64, end: i64) {
        let end = end.max(start);
        if let Some(last) = self.spans.last_mut()
            && start <= last.1 + QUIET_MARGIN_NS
            && end >= last.0 - QUIET_MARGIN_NS
        {
            last.0 = last.0.min(start);
            last.1 = last.1.max(end);
            return;
        }
        self.spans.push((start, end));
        self.sorted = false;
    }

    /// Sorts and merges the spans (after every file is read).
    pub fn finish(&mut self) {
        self.spans.sort_unstable();
        let mut out: Vec<(i64, i64)> = Vec::with_capacity(self.spans.len());
        for &(a, b) in &self.spans {
            match out.last_mut() {
                Some(last) if a <= last.1 + QUIET_MARGIN_NS => last.1 = last.1.max(b),
                _ => out.push((a, b)),
            }
        }
        self.spans = out;
        self.sorted = true;
    }

    /// First start and last end of all activity.
    pub fn extent(&self) -> Option<(i64, i64)> {
        debug_assert!(self.sorted || self.spans.len() < 2);
        Some((self.spans.first()?.0, self.spans.last()?.1))
    }

    /// Whether no request was in progress from `a` to `b`, nor within
    /// [`QUIET_MARGIN_NS`] of either end.
    pub fn quiet(&self, a: i64, b: i64) -> bool {
        debug_assert!(self.sorted || self.spans.len() < 2);
        let (a, b) = (a - QUIET_MARGIN_NS, b + QUIET_MARGIN_NS);
        // The first span ending at or after `a` must start after `b`.
        let i = self.spans.partition_point(|s| s.1 < a);
        self.spans.get(i).is_none_or(|s| s.0 > b)
    }
}

/// What to read.
#[derive(Debug, Clone)]
pub struct LogInputs {
    /// HAProxy logs.
    pub haproxy: Vec<PathBuf>,
    /// HAProxy `log-format` (default `option httplog`).
    pub haproxy_format: Option<String>,
    /// Seconds east of UTC of HAProxy's local dates.
    pub haproxy_utc_offset_s: i64,
    /// Nginx access logs, one per instance.
    pub nginx: Vec<PathBuf>,
    /// Nginx `log_format` (default: combined plus the two timers).
    pub nginx_format: Option<String>,
    /// Slow query logs.
    pub mysql_slow: Vec<PathBuf>,
    /// PostgreSQL server logs (every statement's duration).
    pub postgres: Vec<PathBuf>,
    /// Window length, ns.
    pub window_ns: i64,
    /// The window was not given: calibration may choose a shorter one so
    /// that the logs hold enough windows to regress over.
    pub window_auto: bool,
    /// Classes.
    pub classes: Vec<ClassRule>,
    /// Only requests starting at or after this (ns since the epoch).
    pub since_ns: Option<i64>,
    /// Only requests starting before this.
    pub until_ns: Option<i64>,
    /// Keep every arrival at the entry tier (time, class) for a replay
    /// file: 16 bytes a request, so only when asked.
    pub keep_arrivals: bool,
}

/// Sub-windows per window for the dispersion index (1 s each, at most 600).
fn bins_for(window_ns: i64) -> (usize, i64) {
    let bins = (window_ns / 1_000_000_000).clamp(1, 600) as usize;
    (bins, window_ns / bins as i64)
}

struct Acc<'a> {
    inp: &'a LogInputs,
    obs: Observations,
    bins: usize,
    /// HAProxy's requests by id, until an Nginx line of the same id comes:
    /// (`Ta` ns, class). Some 40 bytes a request with an id.
    by_id: HashMap<u64, (i64, u16)>,
}

/// A request id's key: its bytes hashed (64 bits: a collision among a
/// billion ids is a one-in-ten-billion chance).
fn id_key(id: &[u8]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    id.hash(&mut h);
    h.finish()
}

impl Acc<'_> {
    fn in_range(&self, t: i64) -> bool {
        self.inp.since_ns.is_none_or(|s| t >= s) && self.inp.until_ns.is_none_or(|u| t < u)
    }

    fn window(&mut self, t: i64) -> &mut Window {
        let w = t.div_euclid(self.obs.window_ns);
        let (c, f, b) = (self.obs.classes.len(), self.obs.web_files, self.bins);
        self.obs
            .windows
            .entry(w)
            .or_insert_with(|| Window::new(c, f, b))
    }

    fn arrival(&mut self, t: i64) {
        let (wn, bn) = (self.obs.window_ns, self.obs.bin_ns);
        let bins = self.bins;
        let w = self.window(t);
        let bin = (t.rem_euclid(wn) / bn) as usize;
        w.arrivals[bin.min(bins - 1)] += 1;
    }
}

const READ: usize = 0;
const WRITE: usize = 1;
const OTHER: usize = 2;

/// Streams every log once.
pub fn observe(inp: &LogInputs) -> Result<Observations, CalibrateError> {
    let classes = inp.classes.clone();
    let (bins, bin_ns) = bins_for(inp.window_ns);
    let c = classes.len();
    let hists = || (0..c).map(|_| LatencyHistogram::new(3)).collect::<Vec<_>>();
    let mut acc = Acc {
        inp,
        bins,
        obs: Observations {
            window_ns: inp.window_ns,
            bin_ns,
            windows: BTreeMap::new(),
            whole: Whole {
                lb_total: hists(),
                lb_own: hists(),
                web_own: hists(),
                app_total: hists(),
                db: [
                    LatencyHistogram::new(3),
                    LatencyHistogram::new(3),
                    LatencyHistogram::new(3),
                ],
            },
            classes,
            files: Vec::new(),
            has_lb: !inp.haproxy.is_empty(),
            web_files: inp.nginx.len(),
            has_db: !inp.mysql_slow.is_empty() || !inp.postgres.is_empty(),
            arrivals: Vec::new(),
            activity: Activity::default(),
            nginx_format_note: None,
            upstream_connect: Moments::default(),
            ids: None,
            seconds: super::pauses::Seconds::default(),
        },
        by_id: HashMap::new(),
    };
    let format_error = |flag: &str, e: String| CalibrateError::Format {
        flag: flag.to_string(),
        message: e,
    };
    if !inp.haproxy.is_empty() {
        let mut p = HaproxyParser::new(inp.haproxy_format.as_deref())
            .map_err(|e| format_error("--haproxy-format", e))?;
        p.utc_offset_s = inp.haproxy_utc_offset_s;
        for path in &inp.haproxy {
            read_haproxy(&mut acc, &mut p, path)?;
        }
    }
    if !inp.nginx.is_empty() {
        let detected = match &inp.nginx_format {
            Some(_) => None,
            None => detect_nginx(&inp.nginx[0])?,
        };
        if let Some(f) = &detected {
            acc.obs.nginx_format_note = Some(format!(
                "{}: --nginx-format not given; its lines read as combined plus `{}` (pass --nginx-format to set it)",
                inp.nginx[0].display(),
                f.trim_start_matches(nginx::COMBINED).trim()
            ));
        }
        let mut p = NginxParser::new(inp.nginx_format.as_deref().or(detected.as_deref()))
            .map_err(|e| format_error("--nginx-format", e))?;
        for (i, path) in inp.nginx.iter().enumerate() {
            read_nginx(&mut acc, &mut p, i, path)?;
        }
    }
    for path in &inp.mysql_slow {
        read_slow(&mut acc, path)?;
    }
    for path in &inp.postgres {
        read_postgres(&mut acc, path)?;
    }
    if let Some(j) = &mut acc.obs.ids {
        j.lb_only = acc.by_id.len() as u64;
    }
    acc.obs.activity.finish();
    Ok(acc.obs)
}

/// The format of an Nginx log given without one, from its first lines:
/// `None` when the default reads it (or nothing does: the default's error
/// then shows the line).
pub(super) fn detect_nginx(path: &Path) -> Result<Option<String>, CalibrateError> {
    let mut src = LineSource::open(path)?;
    let mut sample = Vec::new();
    while sample.len() < 200
        && let Some(l) = src.next_line()?
    {
        sample.push(l.to_vec());
    }
    Ok(nginx::detect(&sample).filter(|f| f != nginx::DEFAULT))
}

fn open(path: &Path, kind: &'static str) -> Result<(LineSource, FileLines), CalibrateError> {
    Ok((
        LineSource::open(path)?,
        FileLines {
            path: path.to_path_buf(),
            kind,
            ..FileLines::default()
        },
    ))
}

fn read_haproxy(
    acc: &mut Acc<'_>,
    p: &mut HaproxyParser,
    path: &Path,
) -> Result<(), CalibrateError> {
    let (mut src, mut fl) = open(path, "haproxy")?;
    while let Some((no, line)) = src.next_numbered()? {
        fl.lines = no;
        let Some(r) = p.parse(line) else {
            fl.skip(no, line);
            continue;
        };
        if !acc.in_range(r.start_ns) {
            fl.out_of_range += 1;
            continue;
        }
        let ta_ns = r.active_ms.map_or(0, |t| t * 1_000_000);
        acc.obs.activity.add(r.start_ns, r.start_ns + ta_ns);
        if r.method.starts_with(b"<") {
            // `<BADREQ>`, `<NOSRV>`: a connection that sent no request (a
            // probe, a client that gave up): not a request of any class.
            fl.aborted += 1;
            continue;
        }
        let Some(c) = classify(&acc.obs.classes, r.method, r.path) else {
            fl.unclassified += 1;
            continue;
        };
        fl.seen(r.start_ns);
        acc.arrival(r.start_ns);
        if acc.inp.keep_arrivals {
            acc.obs.arrivals.push((r.start_ns, c as u16));
        }
        let w = acc.window(r.start_ns);
        if let Some(n) = r.fe_conns {
            w.conns.0 += u64::from(n);
            w.conns.1 += 1;
            w.conns.2 = w.conns.2.max(n);
        }
        let Some(ta) = r.active_ms else {
            fl.aborted += 1;
            w.errors += 1;
            continue;
        };
        let ns = ta * 1_000_000;
        if r.status >= 500 {
            w.errors += 1;
        }
        w.lb[c].total.add(ns as f64);
        // HAProxy, when given, is the entry tier.
        w.e2e.record(ns as u64);
        acc.obs.seconds.entry(r.start_ns, ns as u64);
        acc.obs.whole.lb_total[c].record(ns as u64);
        if let Some(id) = r.id.filter(|i| !i.is_empty() && *i != b"-") {
            acc.by_id.insert(id_key(id), (ns, c as u16));
        }
    }
    fl.end(&src);
    acc.obs.files.push(fl);
    Ok(())
}

fn read_nginx(
    acc: &mut Acc<'_>,
    p: &mut NginxParser,
    file: usize,
    path: &Path,
) -> Result<(), CalibrateError> {
    let (mut src, mut fl) = open(path, "nginx")?;
    let entry = !acc.obs.has_lb;
    while let Some((no, line)) = src.next_numbered()? {
        fl.lines = no;
        let Some(r) = p.parse(line) else {
            fl.skip(no, line);
            continue;
        };
        let start = nginx::start_ns(&r);
        if !acc.in_range(start) {
            fl.out_of_range += 1;
            continue;
        }
        acc.obs.activity.add(start, start + r.request_ns);
        let Some(c) = classify(&acc.obs.classes, r.method, r.path) else {
            fl.unclassified += 1;
            continue;
        };
        fl.seen(start);
        if entry {
            acc.arrival(start);
            if acc.inp.keep_arrivals {
                acc.obs.arrivals.push((start, c as u16));
            }
        }
        if !acc.by_id.is_empty()
            && let Some(id) = r.id.filter(|i| !i.is_empty() && *i != b"-")
        {
            let join = acc.obs.ids.get_or_insert_with(IdJoin::default);
            match acc.by_id.remove(&id_key(id)) {
                Some((ta, lc)) if lc as usize == c => {
                    join.joined += 1;
                    acc.obs.whole.lb_own[c].record((ta - r.request_ns).max(0) as u64);
                }
                _ => join.web_only += 1,
            }
        }
        if let (Some(_), Some(c)) = (r.upstream_ns, r.upstream_connect_ns) {
            acc.obs.upstream_connect.add(c as f64);
        }
        if entry {
            acc.obs.seconds.entry(start, r.request_ns as u64);
        }
        let w = acc.window(start);
        w.web_by_file[file] += 1;
        w.web[c].total.add(r.request_ns as f64);
        if entry {
            w.e2e.record(r.request_ns as u64);
            if r.status >= 500 {
                w.errors += 1;
            }
        }
        // A request served without an upstream (`-`) has no app time.
        if let Some(u) = r.upstream_ns {
            let own = (r.request_ns - u).max(0);
            w.web[c].own.add(own as f64);
            w.app[c].total.add(u as f64);
            acc.obs.whole.web_own[c].record(own as u64);
            acc.obs.whole.app_total[c].record(u as u64);
            acc.obs.seconds.tier(start, super::pauses::WEB, own as f64);
            acc.obs.seconds.tier(start, super::pauses::APP, u as f64);
        }
    }
    fl.end(&src);
    acc.obs.files.push(fl);
    Ok(())
}

/// One statement of a database log into the windows and the whole range.
fn statement(acc: &mut Acc<'_>, fl: &mut FileLines, s: &super::slowlog::Statement) {
    if !acc.in_range(s.start_ns) {
        fl.out_of_range += 1;
        return;
    }
    fl.seen(s.start_ns);
    acc.obs.activity.add(s.start_ns, s.start_ns + s.query_ns);
    let k = match s.kind {
        StatementKind::Read => READ,
        StatementKind::Write => WRITE,
        StatementKind::Other => OTHER,
    };
    acc.window(s.start_ns).db[k].add(s.query_ns as f64);
    acc.obs.whole.db[k].record(s.query_ns as u64);
    acc.obs
        .seconds
        .tier(s.start_ns, super::pauses::DB, s.query_ns as f64);
}

fn read_postgres(acc: &mut Acc<'_>, path: &Path) -> Result<(), CalibrateError> {
    let (mut src, mut fl) = open(path, "postgres")?;
    let mut p = super::pglog::PgLogParser::new();
    while let Some((no, line)) = src.next_numbered()? {
        fl.lines = no;
        match p.line(line) {
            super::pglog::PgLine::Part => {}
            super::pglog::PgLine::Garbage => fl.skip(no, line),
            super::pglog::PgLine::Statement(s) => statement(acc, &mut fl, &s),
        }
    }
    fl.end(&src);
    acc.obs.files.push(fl);
    Ok(())
}

fn read_slow(acc: &mut Acc<'_>, path: &Path) -> Result<(), CalibrateError> {
    let (mut src, mut fl) = open(path, "mysql-slow")?;
    let mut p = SlowLogParser::new();
    while let Some((no, line)) = src.next_numbered()? {
        fl.lines = no;
        match p.line(line) {
            SlowLine::Part => {}
            SlowLine::Garbage => fl.skip(no, line),
            SlowLine::Statement(s) => {
                if !acc.in_range(s.start_ns) {
                    fl.out_of_range += 1;
                    continue;
                }
                fl.seen(s.start_ns);
                // A whole-second timestamp may be up to a second early.
                let late = if s.start_ns % 1_000_000_000 == 0 {
                    1_000_000_000
                } else {
                    0
                };
                acc.obs
                    .activity
                    .add(s.start_ns, s.start_ns + late + s.query_ns);
                let k = match s.kind {
                    StatementKind::Read => READ,
                    StatementKind::Write => WRITE,
                    StatementKind::Other => OTHER,
                };
                acc.window(s.start_ns).db[k].add(s.query_ns as f64);
                acc.obs.whole.db[k].record(s.query_ns as u64);
                acc.obs
                    .seconds
                    .tier(s.start_ns, super::pauses::DB, s.query_ns as f64);
            }
        }
    }
    fl.end(&src);
    acc.obs.files.push(fl);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{Activity, QUIET_MARGIN_NS};

    const S: i64 = 1_000_000_000;

    #[test]
    fn activity_merges_spans_in_any_order_and_finds_quiet_spells() {
        let mut a = Activity::default();
        // A busy second, a record from before it (logs are not in start
        // order), then a second busy spell after a 3 s pause.
        a.add(10 * S, 10 * S + S / 2);
        a.add(10 * S + S / 2, 11 * S);
        a.add(9 * S + S / 2, 10 * S);
        a.add(14 * S, 15 * S);
        a.add(12 * S, 12 * S - 5); // an end before its start is a point
        a.finish();
        assert_eq!(a.extent(), Some((9 * S + S / 2, 15 * S)));
        assert!(a.quiet(11 * S + QUIET_MARGIN_NS + 1, 12 * S - QUIET_MARGIN_NS - 1));
        assert!(a.quiet(12 * S + QUIET_MARGIN_NS + 1, 14 * S - QUIET_MARGIN_NS - 1));
        // Within the margin of a request, or across one, is not quiet.
        assert!(!a.quiet(11 * S + QUIET_MARGIN_NS - 1, 11 * S + S / 2));
        assert!(!a.quiet(13 * S, 14 * S - QUIET_MARGIN_NS + 1));
        assert!(!a.quiet(11 * S + S / 2, 13 * S));
        assert!(!a.quiet(9 * S, 16 * S));
        assert!(Activity::default().quiet(0, S));
    }
}
