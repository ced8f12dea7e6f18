//! A calibration from distributed traces: every tier, its order, its calls
//! and its machines come from the spans, not from a fixed list of four.
//!
//! Each request's trace gives each tier's own time per visit exactly (no
//! subtraction of means across logs), so every tier's time is fitted per
//! request; the zero-load correction, the utilization law and the machines
//! are the same estimators as for logs.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::build::{
    CalibrateInput, Calibration, ClassTime, TierCal, WANT_WINDOWS, WindowRow, arrivals_of, check,
    classes_of, cpu_per_visit, dispersion, file_warnings, fitted_time, input_err, logged_arrivals,
    one_machine, read, read_cpu, tier_of, to_zero_load,
};
use super::machines;
use super::observe::WindowLatency;
use super::role::Role;
use super::time::NS;
use super::traces::{JoinProblems, TraceVisits, read_traces};
use super::{CalibrateError, ClassRule};
use crate::stats::{LatencyHistogram, Moments};

/// One window's figures.
#[derive(Debug, Clone)]
struct TWindow {
    arrivals: Vec<u32>,
    class_counts: Vec<u64>,
    e2e: WindowLatency,
    errors: u64,
    /// Per tier slot: visits, held time (ns), own time per class.
    visits: Vec<u64>,
    held_ns: Vec<f64>,
    own: Vec<Vec<Moments>>,
    own_out: Vec<Vec<Moments>>,
}

/// Everything read from the traces.
struct Acc {
    window_ns: i64,
    bins: usize,
    rules: Vec<ClassRule>,
    since: Option<i64>,
    until: Option<i64>,
    windows: BTreeMap<i64, TWindow>,
    /// Tier slot per name index, and the name index per slot.
    slot: HashMap<u32, usize>,
    tiers: Vec<u32>,
    /// Per slot: own time per class over the whole range.
    own: Vec<Vec<Option<LatencyHistogram>>>,
    /// Per slot: visits per request, per class.
    calls: Vec<Vec<Moments>>,
    /// Per slot: share of the class's requests that visit it.
    visited: Vec<Vec<u64>>,
    /// Per slot: network of the hop into it (ns).
    hops: Vec<Moments>,
    /// Per slot: own time per class with the hops of the calls it makes
    /// (what it holds when its calls stay on its machine).
    own_out: Vec<Vec<Option<LatencyHistogram>>>,
    /// Per slot: the slots it makes hops to, and those that hop to it.
    hops_to: Vec<BTreeSet<usize>>,
    hops_from: Vec<BTreeSet<usize>>,
    /// Per slot: its times came from a log that writes whole milliseconds,
    /// or from any log.
    coarse: Vec<bool>,
    logged: Vec<bool>,
    /// Per slot: machines and instances seen, and whether a database.
    hosts: Vec<BTreeSet<u32>>,
    instances: Vec<BTreeSet<u32>>,
    is_db: Vec<bool>,
    /// Per slot: sum of the position of its first visit, and traces.
    position: Vec<(f64, u64)>,
    /// Per slot: the slots it calls.
    calls_to: Vec<BTreeSet<usize>>,
    requests_per_class: Vec<u64>,
    out_of_range: u64,
    unclassified: u64,
    arrivals: Vec<(i64, u16)>,
    keep_arrivals: bool,
    first: Option<i64>,
    last: Option<i64>,
}

impl Acc {
    fn slot(&mut self, name: u32) -> usize {
        if let Some(&s) = self.slot.get(&name) {
            return s;
        }
        let s = self.tiers.len();
        self.slot.insert(name, s);
        self.tiers.push(name);
        let c = self.rules.len();
        self.own.push(vec![None; c]);
        self.calls.push(vec![Moments::default(); c]);
        self.visited.push(vec![0; c]);
        self.hops.push(Moments::default());
        self.own_out.push(vec![None; c]);
        self.hops_to.push(BTreeSet::new());
        self.hops_from.push(BTreeSet::new());
        self.coarse.push(false);
        self.logged.push(false);
        self.hosts.push(BTreeSet::new());
        self.instances.push(BTreeSet::new());
        self.is_db.push(false);
        self.position.push((0.0, 0));
        self.calls_to.push(BTreeSet::new());
        for w in self.windows.values_mut() {
            w.visits.push(0);
            w.held_ns.push(0.0);
            w.own.push(vec![Moments::default(); c]);
            w.own_out.push(vec![Moments::default(); c]);
        }
        s
    }

    fn add(&mut self, t: TraceVisits) {
        if self.since.is_some_and(|s| t.start_ns < s) || self.until.is_some_and(|u| t.start_ns >= u)
        {
            self.out_of_range += 1;
            return;
        }
        let Some(c) = t.class else {
            self.unclassified += 1;
            return;
        };
        self.first = Some(self.first.map_or(t.start_ns, |f| f.min(t.start_ns)));
        self.last = Some(self.last.map_or(t.start_ns, |l| l.max(t.start_ns)));
        if self.keep_arrivals {
            self.arrivals.push((t.start_ns, c as u16));
        }
        self.requests_per_class[c] += 1;
        let slots: Vec<usize> = t.visits.iter().map(|v| self.slot(v.0)).collect();
        for &(tier, host, instance, db) in &t.placed {
            let s = self.slot(tier);
            if let Some(h) = host {
                self.hosts[s].insert(h);
            }
            if let Some(i) = instance {
                self.instances[s].insert(i);
            }
            self.is_db[s] |= db;
        }
        for &(from, to) in &t.edges {
            let (a, b) = (self.slot(from), self.slot(to));
            self.calls_to[a].insert(b);
        }
        let mut out_ns = vec![0i64; t.visits.len()];
        for &(tier, ns, from) in &t.hops {
            let s = self.slot(tier);
            self.hops[s].add(ns as f64);
            if let Some(v) = from {
                out_ns[v] += ns;
                self.hops_to[slots[v]].insert(s);
                self.hops_from[s].insert(slots[v]);
            }
        }
        for &tier in &t.coarse {
            let s = self.slot(tier);
            self.coarse[s] = true;
        }
        for &tier in &t.logged {
            let s = self.slot(tier);
            self.logged[s] = true;
        }
        let ntiers = self.tiers.len();
        let mut count = vec![0u64; ntiers];
        let mut seen_order = Vec::new();
        for (v, &s) in t.visits.iter().zip(&slots) {
            if count[s] == 0 {
                seen_order.push(s);
            }
            count[s] += 1;
            self.own[s][c]
                .get_or_insert_with(|| LatencyHistogram::new(3))
                .record(v.1.max(0) as u64);
        }
        for ((v, &s), out) in t.visits.iter().zip(&slots).zip(&out_ns) {
            self.own_out[s][c]
                .get_or_insert_with(|| LatencyHistogram::new(3))
                .record((v.1 + out).max(0) as u64);
        }
        for (pos, &s) in seen_order.iter().enumerate() {
            self.position[s].0 += pos as f64;
            self.position[s].1 += 1;
        }
        for (s, &n) in count.iter().enumerate() {
            self.calls[s][c].add(n as f64);
            if n > 0 {
                self.visited[s][c] += 1;
            }
        }
        let (wn, bins, nc) = (self.window_ns, self.bins, self.rules.len());
        let w = self
            .windows
            .entry(t.start_ns.div_euclid(wn))
            .or_insert_with(|| TWindow {
                arrivals: vec![0; bins],
                class_counts: vec![0; nc],
                e2e: WindowLatency::Few(Vec::new()),
                errors: 0,
                visits: vec![0; ntiers],
                held_ns: vec![0.0; ntiers],
                own: vec![vec![Moments::default(); nc]; ntiers],
                own_out: vec![vec![Moments::default(); nc]; ntiers],
            });
        let bin = (t.start_ns.rem_euclid(wn) / (wn / bins as i64)) as usize;
        w.arrivals[bin.min(bins - 1)] += 1;
        w.class_counts[c] += 1;
        w.e2e.record(t.e2e_ns.max(0) as u64);
        if t.error {
            w.errors += 1;
        }
        for ((v, &s), out) in t.visits.iter().zip(&slots).zip(&out_ns) {
            w.visits[s] += 1;
            w.held_ns[s] += v.2 as f64;
            w.own[s][c].add(v.1 as f64);
            w.own_out[s][c].add((v.1 + out) as f64);
        }
    }
}

/// A tier name as the scenario may spell it.
fn tier_name(s: &str) -> String {
    let n: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if n.is_empty() { "service".into() } else { n }
}

/// Reads the traces into windows of `window_ns`.
fn observe(
    input: &CalibrateInput,
    window_ns: i64,
) -> Result<(Acc, super::traces::Joined), CalibrateError> {
    let logs = &input.logs;
    let bins = (window_ns / NS).clamp(1, 600) as usize;
    let mut acc = Acc {
        window_ns,
        bins,
        rules: logs.classes.clone(),
        since: logs.since_ns,
        until: logs.until_ns,
        windows: BTreeMap::new(),
        slot: HashMap::new(),
        tiers: Vec::new(),
        own: Vec::new(),
        calls: Vec::new(),
        visited: Vec::new(),
        hops: Vec::new(),
        own_out: Vec::new(),
        hops_to: Vec::new(),
        hops_from: Vec::new(),
        coarse: Vec::new(),
        logged: Vec::new(),
        hosts: Vec::new(),
        instances: Vec::new(),
        is_db: Vec::new(),
        position: Vec::new(),
        calls_to: Vec::new(),
        requests_per_class: vec![0; logs.classes.len()],
        out_of_range: 0,
        unclassified: 0,
        arrivals: Vec::new(),
        keep_arrivals: logs.keep_arrivals,
        first: None,
        last: None,
    };
    let joined = read_traces(
        &input.otlp,
        &input.jaeger,
        super::log_spans::log_sources(logs)?,
        &logs.classes,
        (logs.since_ns, logs.until_ns),
        &mut |t| acc.add(t),
    )?;
    Ok((acc, joined))
}

/// Reads the traces (and the logs joined to them) into full windows, the
/// window chosen when not given.
fn read_windows(input: &CalibrateInput) -> Result<TraceWindows, CalibrateError> {
    let logs = &input.logs;
    let (mut acc, mut joined) = observe(input, logs.window_ns)?;
    for f in &joined.files {
        if f.records == 0 && !matches!(f.kind, "otlp" | "jaeger") {
            return Err(input_err(
                format!(
                    "{}: none of its records carries a trace context ({} records without one, {} lines not of the {} format)",
                    f.path.display(),
                    f.untraced,
                    f.skipped,
                    f.kind
                ),
                "a log joins traces by the trace id of each request: Nginx `$http_traceparent` (or `$otel_trace_id`), HAProxy `capture request header traceparent len 64` (logged in %hr), sqlcommenter's `traceparent` comment in the statements; or calibrate from the logs without --otlp",
            ));
        }
        if f.records == 0
            && f.kind == "otlp"
            && super::traces::looks_like_jaeger(&super::traces::head(&f.path))
        {
            return Err(input_err(
                format!(
                    "{}: a Jaeger JSON export, not OTLP JSON lines",
                    f.path.display()
                ),
                "give it with --jaeger",
            ));
        }
        if f.records == 0 && f.kind == "jaeger" {
            return Err(input_err(
                format!("{}: no spans in it as a Jaeger export", f.path.display()),
                "a Jaeger export is {\"data\": [{\"traceID\", \"spans\", \"processes\"}]}; OTLP JSON lines go to --otlp",
            ));
        }
        if f.records == 0 {
            return Err(input_err(
                format!(
                    "{}: no spans ({})",
                    f.path.display(),
                    match f.skipped_examples.first() {
                        Some((n, t)) =>
                            format!("line {n} is not an OTLP JSON TracesData object: {t}"),
                        None => "the file is empty".into(),
                    }
                ),
                "give the file an OpenTelemetry file exporter wrote (one TracesData JSON object per line), or a Jaeger JSON export with --jaeger",
            ));
        }
    }
    let full = |a: &Acc| -> Vec<i64> {
        let (Some(lo), Some(hi)) = (a.first, a.last) else {
            return Vec::new();
        };
        a.windows
            .keys()
            .copied()
            .filter(|k| k * a.window_ns >= lo && (k + 1) * a.window_ns <= hi)
            .collect()
    };
    let mut window_note = None;
    if logs.window_auto
        && full(&acc).len() < WANT_WINDOWS
        && let (Some(lo), Some(hi)) = (acc.first, acc.last)
    {
        let span = hi - lo;
        if let Some(w) = [60, 30, 20, 15, 10, 5, 2, 1]
            .iter()
            .map(|s| s * NS)
            .find(|&w| span / w > WANT_WINDOWS as i64)
            .or(Some(NS))
            .filter(|&w| w < logs.window_ns)
        {
            (acc, joined) = observe(input, w)?;
            window_note = Some(format!(
                "--window not given: {} s windows, {} full ones over the {:.0} s the traces span; pass --window to choose",
                w / NS,
                full(&acc).len(),
                span as f64 / NS as f64
            ));
        }
    }
    if acc.requests_per_class.iter().all(|&n| n == 0) {
        return Err(input_err(
            format!(
                "no request in the traces: {} spans read, {} traces without a root span, {} outside --since/--until, {} matching no --class rule",
                joined.spans,
                joined.problems.no_root,
                acc.out_of_range + joined.problems.outside,
                acc.unclassified
            ),
            "a request's trace needs its root span (the first service's server span) in the files given",
        ));
    }
    let mut warnings = file_warnings(&joined.files);
    for f in &joined.files {
        if f.untraced > 0 {
            warnings.push(format!(
                "{}: {} of its {} records carry no trace context and join no trace: left out",
                f.path.display(),
                f.untraced,
                f.untraced + f.records
            ));
        }
    }
    warnings.extend(join_warnings(&joined.problems, acc.unclassified));
    let keys = full(&acc);
    if keys.is_empty() {
        return Err(input_err(
            "the traces hold no full window of time",
            "collect traces over a longer span, or pass a shorter --window",
        ));
    }
    let secs = acc.window_ns as f64 / NS as f64;
    let cpu = read_cpu(&input.cpu, &input.hosts)?;
    if let Some((_, problems)) = &cpu {
        for (file, p) in problems {
            warnings.extend(p.warnings(file));
        }
    }

    // Tiers in the order requests reach them.
    let mut order: Vec<usize> = (0..acc.tiers.len()).collect();
    order.sort_by(|&a, &b| {
        let pa = acc.position[a].0 / acc.position[a].1.max(1) as f64;
        let pb = acc.position[b].0 / acc.position[b].1.max(1) as f64;
        pa.total_cmp(&pb)
    });
    let tier_names: Vec<String> = order
        .iter()
        .map(|&s| tier_name(joined.names.name(acc.tiers[s])))
        .collect();

    let rows: Vec<WindowRow> = keys
        .iter()
        .map(|k| {
            let w = &acc.windows[k];
            let n: u64 = w.class_counts.iter().sum();
            let q = w.e2e.quantiles_ns([0.5, 0.9, 0.99]);
            let mut own = [f64::NAN; 4];
            for (i, &s) in order.iter().enumerate() {
                let slot = Role::of_service(&tier_names[i], acc.is_db[s]).slot();
                let mut m = Moments::default();
                if let Some(per) = w.own.get(s) {
                    per.iter().for_each(|x| m.merge(x));
                }
                if m.count() > 0 {
                    own[slot] = if own[slot].is_nan() { 0.0 } else { own[slot] } + m.mean() / 1e6;
                }
            }
            let cores = cpu
                .as_ref()
                .map(|(c, _)| {
                    c.iter()
                        .filter_map(|(name, s)| {
                            s.used_between(k * acc.window_ns, (k + 1) * acc.window_ns)
                                .map(|u| (name.clone(), u / secs))
                        })
                        .collect()
                })
                .unwrap_or_default();
            WindowRow {
                start_ns: k * acc.window_ns,
                rate_rps: n as f64 / secs,
                class_counts: w.class_counts.clone(),
                e2e_ms: [q[0] / 1e6, q[1] / 1e6, q[2] / 1e6],
                e2e_mean_ms: w.e2e.mean_ns() / 1e6,
                errors: w.errors,
                own_ms: own,
                cores,
                dispersion: dispersion(&w.arrivals),
                conns: None,
            }
        })
        .collect();
    Ok(TraceWindows {
        acc,
        joined,
        keys,
        rows,
        order,
        tier_names,
        window_note,
        cpu,
        warnings,
        secs,
    })
}

/// What [`read_windows`] read.
struct TraceWindows {
    acc: Acc,
    joined: super::traces::Joined,
    keys: Vec<i64>,
    rows: Vec<WindowRow>,
    order: Vec<usize>,
    tier_names: Vec<String>,
    window_note: Option<String>,
    cpu: Option<super::build::CpuInput>,
    warnings: Vec<String>,
    secs: f64,
}

/// The observed windows of traces, for `validate`: each window's rate,
/// mix, end-to-end latency (the root spans), own time per kind of tier and
/// CPU.
pub fn observe_windows(input: &CalibrateInput) -> Result<super::build::Observed, CalibrateError> {
    let w = read_windows(input)?;
    Ok(super::build::Observed {
        pauses: None,
        window_s: w.secs,
        classes: w.acc.rules.iter().map(|c| c.name.clone()).collect(),
        windows: w.rows,
        files: w.joined.files,
        entry_is_lb: w
            .order
            .first()
            .zip(w.tier_names.first())
            .is_some_and(|(&s, n)| Role::of_service(n, w.acc.is_db[s]) == Role::Balancer),
        window_note: w.window_note,
    })
}

/// Calibrates from OTLP JSON or Jaeger traces.
pub fn calibrate_traces(input: &CalibrateInput) -> Result<Calibration, CalibrateError> {
    let TraceWindows {
        acc,
        joined,
        keys,
        rows,
        order,
        tier_names,
        window_note,
        cpu,
        mut warnings,
        secs,
    } = read_windows(input)?;
    let names = &joined.names;
    let cfg = super::build::read_configs(input)?;
    let arrivals = arrivals_of(&rows, secs, &mut warnings);
    let (classes, kept, _) = classes_of(&rows, &acc.rules);

    // The machines first: a call that stays on its machine crosses no wire.
    let kinds: Vec<Role> = order
        .iter()
        .zip(&tier_names)
        .map(|(&s, n)| Role::of_service(n, acc.is_db[s]))
        .collect();
    let machines_of = cpu.as_ref().map(|(series, _)| {
        let entry_rps: Vec<f64> = rows.iter().map(|r| r.rate_rps).collect();
        let tier_rps = |t: &str, i: usize| {
            tier_names.iter().position(|n| n == t).map_or(0.0, |j| {
                acc.windows[&keys[i]]
                    .visits
                    .get(order[j])
                    .copied()
                    .unwrap_or(0) as f64
                    / secs
            })
        };
        let component_tier = |c: &str| -> Option<String> {
            if let Some((_, t)) = input.components.iter().find(|(x, _)| x == c) {
                return Some(t.clone());
            }
            let l = c.to_ascii_lowercase();
            if let Some(n) = tier_names
                .iter()
                .find(|n| l == n.to_ascii_lowercase() || l.starts_with(&n.to_ascii_lowercase()))
            {
                return Some(n.clone());
            }
            // A well-known process of a role: the one tier of that kind.
            let kind = tier_of(c, &[])?;
            let of_kind: Vec<&String> = tier_names
                .iter()
                .zip(&kinds)
                .filter(|(_, k)| **k == kind)
                .map(|(n, _)| n)
                .collect();
            (of_kind.len() == 1).then(|| of_kind[0].clone())
        };
        machines::estimate(
            series,
            &tier_names,
            &component_tier,
            &machines::WindowLoad {
                keys: &keys,
                window_ns: acc.window_ns,
                entry_rps: &entry_rps,
                tier_rps: &tier_rps,
                activity: &joined.activity,
            },
            input.cores,
            &input.host_cores,
        )
    });
    let host_of = |s: usize| -> Option<&String> {
        let i = order.iter().position(|&x| x == s)?;
        machines_of
            .as_ref()
            .and_then(|m| m.placement.get(&tier_names[i]))
            .map(|(h, _)| h)
    };
    // A tier whose every hop stays on its machine holds them as its own
    // time (the client library's work, the callee's outside its span);
    // the tiers it calls then get no network.
    let folded: Vec<bool> = (0..acc.tiers.len())
        .map(|s| {
            !acc.hops_to[s].is_empty()
                && host_of(s).is_some()
                && acc.hops_to[s].iter().all(|&c| host_of(c) == host_of(s))
        })
        .collect();
    for (i, &s) in order.iter().enumerate() {
        if folded[s] {
            let callees: Vec<String> = acc.hops_to[s]
                .iter()
                .filter_map(|&c| order.iter().position(|&x| x == c))
                .map(|j| {
                    format!(
                        "{} ({:.3} ms)",
                        tier_names[j],
                        acc.hops[order[j]].mean() / 1e6
                    )
                })
                .collect();
            warnings.push(format!(
                "tier {}: its calls to {} stay on machine {}: no wire, so the time between its client span and the server's is its own (the client library, the server's work outside its span), held as part of its service time",
                tier_names[i],
                callees.join(", "),
                host_of(s).map_or("?", |h| h.as_str())
            ));
        }
    }

    let mut tiers = Vec::new();
    for (i, &s) in order.iter().enumerate() {
        let name = tier_names[i].clone();
        let kind = Role::of_service(&name, acc.is_db[s]);
        let mut times: Vec<ClassTime> = Vec::new();
        for (ci, &c) in kept.iter().enumerate() {
            let how = format!(
                "{}: own time per visit (duration less its children's), per request{}",
                if acc.logged[s] {
                    "its log's records joined to the traces by trace id"
                } else if acc.is_db[s] {
                    "client spans"
                } else {
                    "server spans"
                },
                if folded[s] {
                    ", with its calls' hops on its machine"
                } else {
                    ""
                }
            );
            let own = if folded[s] { &acc.own_out } else { &acc.own };
            let res = if acc.coarse[s] { 1e6 } else { 1e3 };
            let t = match &own[s][c] {
                Some(h) => fitted_time(&classes[ci].0, h, res, &how),
                None => ClassTime {
                    class: classes[ci].0.clone(),
                    dist: crate::dist::Dist::Constant(0.0),
                    mean_ns: 0.0,
                    cv: 0.0,
                    n: 0,
                    how: "not visited by this class".into(),
                    fit: None,
                    flags: Vec::new(),
                },
            };
            times.push(t);
        }
        // Own times under load hold queueing the simulation adds again.
        for (ci, &c) in kept.iter().enumerate() {
            let pts: Vec<(f64, f64, f64)> = keys
                .iter()
                .zip(&rows)
                .filter_map(|(k, row)| {
                    let w = &acc.windows[k];
                    let m = if folded[s] { &w.own_out } else { &w.own }.get(s)?[c];
                    (m.count() > 0).then(|| (row.rate_rps, m.mean(), m.count() as f64))
                })
                .collect();
            to_zero_load(&mut times[ci], &pts);
        }
        let instances_seen = if acc.instances[s].is_empty() {
            acc.hosts[s].len()
        } else {
            acc.instances[s].len()
        };
        let instances = if instances_seen > 0 {
            read(
                instances_seen as u32,
                format!(
                    "{instances_seen} {} in the spans' resources",
                    if acc.instances[s].is_empty() {
                        "machines (host.name)"
                    } else {
                        "instances (service.instance.id)"
                    }
                ),
            )
        } else {
            check(1, "the spans name no instance or machine: one assumed")
        };
        let peak_conc = keys
            .iter()
            .map(|k| acc.windows[k].held_ns.get(s).copied().unwrap_or(0.0) / acc.window_ns as f64)
            .fold(0.0, f64::max)
            / f64::from(instances.value);
        // A config counts for the one tier of its kind.
        let only_of_kind = kinds.iter().filter(|k| **k == kind).count() == 1;
        let from_config = || -> Option<super::build::Sourced<u32>> {
            if !only_of_kind {
                return None;
            }
            let shown = |p: &Option<std::path::PathBuf>| {
                p.as_ref()
                    .map_or(String::new(), |p| p.display().to_string())
            };
            match kind {
                Role::Balancer => {
                    let m = cfg.haproxy.as_ref()?.maxconn?;
                    Some(read(
                        m,
                        format!("{}: maxconn", shown(&input.haproxy_config)),
                    ))
                }
                Role::Web => {
                    let n = cfg.nginx.as_ref()?;
                    Some(read(
                        n.worker_connections? * n.worker_processes.unwrap_or(1),
                        format!(
                            "{}: worker_connections x worker_processes",
                            shown(&input.nginx_config)
                        ),
                    ))
                }
                Role::App => {
                    let a = cfg.app.as_ref()?;
                    Some(read(
                        a.workers,
                        format!("{}: {}", shown(&input.app_config), a.source),
                    ))
                }
                _ => Some(read(
                    cfg.db_max?,
                    format!(
                        "{}: max_connections (a thread per connection)",
                        shown(&input.db_config)
                    ),
                )),
            }
        };
        let workers = input
            .workers
            .iter()
            .find(|(t, _)| *t == name)
            .map(|(_, n)| read(*n, format!("from the command line: --workers {name}")))
            .or_else(from_config)
            .unwrap_or_else(|| match kind {
                // Event-loop servers hold connections, not threads: their
                // connection limits, as the logs' calibration assumes.
                Role::Balancer => check(
                    2000,
                    "not in any input (a balancer's connection limit: HAProxy's maxconn)",
                ),
                Role::Web => check(
                    1024,
                    "not in any input (a web server's connections: Nginx's worker_connections)",
                ),
                _ => check(
                    ((4.0 * peak_conc).ceil() as u32).max(8),
                    format!("not in any input: four times the {peak_conc:.1} requests the busiest window held in it at once on average (Little's law), at least 8, so that the guess makes no bottleneck of its own; set the real count with --workers {name}=N"),
                ),
            });
        let hops = acc.hops[s];
        let wired = !acc.hops_from[s].iter().all(|&f| folded[f]);
        let network_ns = (wired && hops.count() > 0 && hops.mean() > 0.0).then(|| {
            read(
                hops.mean(),
                format!(
                    "the caller's client span less the server span it waited on, mean over {} calls (the network both ways, and the work of both ends outside their spans: the client library, the server's reading and writing of the request)",
                    hops.count()
                ),
            )
        });
        tiers.push(TierCal {
            name: name.clone(),
            kind,
            instances,
            workers,
            threads: None,
            times,
            cpu_per_visit_s: None,
            wake: None,
            cpu_fraction: None,
            host: None,
            network_ns,
            hold: (!acc.calls_to[s].is_empty())
                .then(|| "its spans wait for the calls they make (a synchronous call)".into()),
        });
    }

    // Calls and routes per class.
    let mut class_calls = Vec::new();
    let mut routes = Vec::new();
    for (ci, &c) in kept.iter().enumerate() {
        let n = acc.requests_per_class[c].max(1) as f64;
        let mut calls = Vec::new();
        let mut route = Vec::new();
        for (i, &s) in order.iter().enumerate() {
            let share = acc.visited[s][c] as f64 / n;
            if share >= 0.5 {
                route.push(tier_names[i].clone());
                let m = acc.calls[s][c];
                // Calls per visiting request.
                let per = m.sum() / acc.visited[s][c].max(1) as f64;
                if (per - 1.0).abs() > 0.05 {
                    calls.push((tier_names[i].clone(), per, m.variance()));
                }
                if share < 0.95 {
                    warnings.push(format!(
                        "class {}: {:.0}% of its requests visit {}; the scenario sends them all (split the class with --class to tell them apart)",
                        classes[ci].0,
                        share * 100.0,
                        tier_names[i]
                    ));
                }
            } else if share > 0.05 {
                warnings.push(format!(
                    "class {}: {:.0}% of its requests visit {}; the scenario sends none (split the class with --class to tell them apart)",
                    classes[ci].0,
                    share * 100.0,
                    tier_names[i]
                ));
            }
        }
        class_calls.push(calls);
        routes.push((route.len() != tier_names.len()).then_some(route));
    }

    // CPU and machines.
    let mut components = Vec::new();
    let mut hosts = Vec::new();
    if let Some(m) = machines_of {
        warnings.extend(m.warnings);
        for (t, line) in &m.tier_lines {
            if let Some(tier) = tiers.iter_mut().find(|x| &x.name == t)
                && let Some(w) = cpu_per_visit(tier, line, &classes)
            {
                warnings.push(w);
            }
        }
        for t in &mut tiers {
            if let Some((h, _)) = m.placement.get(&t.name) {
                t.host = Some(h.clone());
            }
        }
        components = m.components;
        hosts = m.hosts;
    } else if let Some(c) = input.cores {
        hosts.push(one_machine(c, &mut tiers));
    }
    if cpu.is_none() {
        for (i, &s) in order.iter().enumerate() {
            if !acc.hosts[s].is_empty() {
                let mut m: Vec<&str> = acc.hosts[s].iter().map(|&h| names.name(h)).collect();
                m.sort_unstable();
                warnings.push(format!(
                    "tier {} ran on {} (host.name); without CPU counters (--cpu) its machines' cores are not modelled",
                    tier_names[i],
                    m.join(", ")
                ));
            }
        }
    }

    let logged_arrivals = logged_arrivals(&acc.arrivals, &keys, acc.window_ns);
    let partial = acc.windows.len() - keys.len();
    Ok(Calibration {
        name: input.name.clone(),
        window_s: secs,
        window_note,
        files: joined.files.clone(),
        windows: rows,
        partial_windows: partial,
        classes,
        arrivals,
        tiers,
        db_calls: Vec::new(),
        class_calls,
        routes,
        components,
        hosts,
        cpu_problems: cpu.map(|c| c.1).unwrap_or_default(),
        warnings,
        haproxy_config: None,
        nginx_config: None,
        input: input.clone(),
        logged_arrivals,
        pauses: None,
    })
}

fn join_warnings(p: &JoinProblems, unclassified: u64) -> Vec<String> {
    let mut w = Vec::new();
    if p.no_root > 0 {
        w.push(format!(
            "{} traces have no root span (not exported, or in a file not given) and were left out",
            p.no_root
        ));
    }
    if p.orphans > 0 {
        w.push(format!(
            "{} spans have a parent missing from their trace; each was read as the start of its own part",
            p.orphans
        ));
    }
    if p.many_roots > 0 {
        w.push(format!(
            "{} traces have several root spans; the earliest is the request",
            p.many_roots
        ));
    }
    if p.duplicates > 0 {
        w.push(format!(
            "{} spans were read twice and counted once",
            p.duplicates
        ));
    }
    if unclassified > 0 {
        w.push(format!(
            "{unclassified} requests matched no --class rule and were left out"
        ));
    }
    w
}
