//! Walks the parsed TOML document into a validated [`Scenario`].

use std::ops::Range;

use toml::de::{DeTable, DeValue};

use super::diagnostic::did_you_mean;
use super::read::{Reader, Value, field, join};
use super::spec::*;
use crate::dist::{Calls, Dist};
use crate::units::NS_PER_SEC;

const TOP_KEYS: &[&str] = &["name", "description", "simulation", "workload", "tier"];
const SIM_KEYS: &[&str] = &[
    "duration",
    "warmup",
    "replications",
    "seed",
    "sample_every",
    "drain",
];
const WORKLOAD_KEYS: &[&str] = &["rate", "schedule", "users", "think", "classes"];
const CLASS_KEYS: &[&str] = &["name", "share", "access", "route", "calls"];
const TIER_KEYS: &[&str] = &[
    "name",
    "kind",
    "description",
    "instances",
    "workers",
    "queue",
    "service",
    "balance",
    "hold",
    "tls",
];
const DB_KEYS: &[&str] = &[
    "name",
    "kind",
    "description",
    "reads",
    "primary",
    "replicas",
    "balance",
    "hold",
    "tls",
];
const PRIMARY_KEYS: &[&str] = &["workers", "queue", "service"];
const REPLICA_KEYS: &[&str] = &["count", "workers", "queue", "service"];

const KINDS: &[(&str, Kind)] = &[
    ("server", Kind::Server),
    ("firewall", Kind::Firewall),
    ("load-balancer", Kind::LoadBalancer),
    ("web", Kind::Web),
    ("app", Kind::App),
    ("database", Kind::Database),
];
const BALANCES: &[(&str, Balance)] = &[
    ("roundrobin", Balance::RoundRobin),
    ("leastconn", Balance::LeastConn),
    ("random", Balance::Random),
    ("p2c", Balance::PowerOfTwo),
    ("same", Balance::Same),
];

/// A class as read, before routes are resolved against tier names.
struct RawClass<'v, 'i> {
    name: String,
    span: Range<usize>,
    share: f64,
    access: Access,
    route: Option<&'v Value<'i>>,
    calls: Option<&'v Value<'i>>,
}

/// Reads a whole scenario document, collecting every problem.
pub(crate) fn read_scenario(
    r: &mut Reader,
    doc: &DeTable<'_>,
    default_name: &str,
) -> Option<Scenario> {
    r.check_keys(doc, "", TOP_KEYS);
    let name = match field(doc, "name") {
        Some(v) => r.string(v, "name").and_then(|n| {
            let ok = !n.is_empty()
                && n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                && !n.starts_with('.');
            if ok {
                Some(n)
            } else {
                r.error(
                    v.span(),
                    "name",
                    "a scenario name becomes a folder name".into(),
                    Some("use letters, digits, `-`, `_` and `.` only".into()),
                );
                None
            }
        }),
        None => Some(default_name.to_string()),
    };
    if let Some(v) = field(doc, "description") {
        r.string(v, "description");
    }
    let simulation = read_simulation(r, doc);
    let empty = DeTable::new();
    let workload = match field(doc, "workload") {
        Some(v) => r.table(v, "workload"),
        None => {
            r.error(
                0..0,
                "workload",
                "the scenario has no [workload] table".into(),
                Some("add e.g. `[workload]` with `rate = 600`".into()),
            );
            None
        }
    };
    let (arrivals, raw_classes) = match workload {
        Some(w) => {
            r.check_keys(w, "workload", WORKLOAD_KEYS);
            (read_arrivals(r, w), read_classes(r, w))
        }
        None => (None, read_classes(r, &empty)),
    };
    let class_names: Vec<String> = raw_classes.iter().map(|c| c.name.clone()).collect();
    let accesses: Vec<Access> = raw_classes.iter().map(|c| c.access).collect();
    let tiers = read_tiers(r, doc, &class_names, &accesses);
    let declared = declared_tier_names(doc);
    let classes = resolve_routes(r, raw_classes, &tiers, &declared);
    check_warmup_vs_schedule(r, doc, &simulation, &arrivals);
    if !r.diags.is_empty() {
        return None;
    }
    Some(Scenario {
        name: name?,
        simulation: simulation?,
        arrivals: arrivals?,
        classes: classes?,
        tiers,
    })
}

fn read_simulation(r: &mut Reader, doc: &DeTable<'_>) -> Option<Simulation> {
    let mut sim = Simulation {
        duration_ns: 60 * NS_PER_SEC,
        warmup_ns: 10 * NS_PER_SEC,
        replications: 10,
        seed: 1,
        sample_every_ns: NS_PER_SEC,
        drain_ns: 0,
    };
    let mut drain = None;
    let mut ok = true;
    if let Some(v) = field(doc, "simulation") {
        let t = r.table(v, "simulation")?;
        r.check_keys(t, "simulation", SIM_KEYS);
        let mut get = |key: &str, f: &mut dyn FnMut(&mut Reader, &Value<'_>, &str) -> bool| {
            if let Some(v) = field(t, key) {
                ok &= f(r, v, &join("simulation", key));
            }
        };
        get("duration", &mut |r, v, k| {
            r.positive_duration(v, k)
                .map(|x| sim.duration_ns = x)
                .is_some()
        });
        get("warmup", &mut |r, v, k| {
            r.duration(v, k).map(|x| sim.warmup_ns = x).is_some()
        });
        get("replications", &mut |r, v, k| {
            r.int(v, k, 1, 100_000)
                .map(|x| sim.replications = x as u32)
                .is_some()
        });
        get("seed", &mut |r, v, k| {
            r.int(v, k, 0, i64::MAX)
                .map(|x| sim.seed = x as u64)
                .is_some()
        });
        get("sample_every", &mut |r, v, k| {
            r.positive_duration(v, k)
                .map(|x| sim.sample_every_ns = x)
                .is_some()
        });
        get("drain", &mut |r, v, k| {
            r.duration(v, k).map(|x| drain = Some(x)).is_some()
        });
        if ok {
            let samples = sim.window_end_ns() / sim.sample_every_ns;
            if samples > 10_000_000 {
                let v = field(t, "sample_every").unwrap_or(v);
                r.error(
                    v.span(),
                    "simulation.sample_every",
                    format!("{samples} time-series samples per replication is too many"),
                    Some("sample less often, e.g. sample_every = \"10s\"".into()),
                );
                ok = false;
            }
        }
    }
    sim.drain_ns = drain.unwrap_or(sim.duration_ns);
    ok.then_some(sim)
}

fn read_arrivals(r: &mut Reader, w: &DeTable<'_>) -> Option<Arrivals> {
    let rate = field(w, "rate");
    let schedule = field(w, "schedule");
    let users = field(w, "users");
    let given: Vec<&Value<'_>> = [rate, schedule, users].into_iter().flatten().collect();
    if given.len() != 1 {
        let span = given.get(1).map_or(0..0, |v| v.span());
        r.error(
            span,
            "workload",
            if given.is_empty() {
                "the workload has no arrivals".into()
            } else {
                "give only one of `rate`, `schedule` and `users`".into()
            },
            Some("open: `rate = 600` or `schedule = [...]`; closed: `users = 50` with `think = \"exp(1s)\"`".into()),
        );
        return None;
    }
    if let Some(t) = field(w, "think")
        && users.is_none()
    {
        r.error(
            t.span(),
            "workload.think",
            "`think` applies to a closed workload only".into(),
            Some("add `users = N` or remove `think`".into()),
        );
    }
    if let Some(v) = rate {
        return r
            .positive(v, "workload.rate", 1e9)
            .map(|rate_rps| Arrivals::Poisson { rate_rps });
    }
    if let Some(v) = users {
        let n = r.int(v, "workload.users", 1, 10_000_000);
        let think = match field(w, "think") {
            Some(t) => r.dist(t, "workload.think").and_then(|d| {
                if d.mean() > 0.0 {
                    Some(d)
                } else {
                    r.error(t.span(), "workload.think", "a think time must have a mean above zero".into(), Some("users that never think would send requests without simulated time passing".into()));
                    None
                }
            }),
            None => {
                r.error(
                    v.span(),
                    "workload.users",
                    "a closed workload needs `think`".into(),
                    Some("add e.g. `think = \"exp(1s)\"`".into()),
                );
                None
            }
        };
        return Some(Arrivals::Closed {
            users: n? as u32,
            think: think?,
        });
    }
    let v = schedule?;
    let items = r.array(v, "workload.schedule")?;
    if items.is_empty() {
        r.error(
            v.span(),
            "workload.schedule",
            "the schedule is empty".into(),
            Some("add points like { at = \"0s\", rate = 200 }".into()),
        );
        return None;
    }
    let mut points = Vec::new();
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        let key = format!("workload.schedule[{i}]");
        let Some(t) = r.table(item, &key) else {
            ok = false;
            continue;
        };
        r.check_keys(t, &key, &["at", "rate", "ramp"]);
        let at = match field(t, "at") {
            Some(v) => r.duration(v, &join(&key, "at")),
            None => {
                r.error(
                    item.span(),
                    &key,
                    "a schedule point needs `at`".into(),
                    None,
                );
                None
            }
        };
        let rate = match field(t, "rate") {
            Some(v) => r.number(v, &join(&key, "rate")).and_then(|x| {
                if (0.0..=1e9).contains(&x) {
                    Some(x)
                } else {
                    r.error(
                        v.span(),
                        &join(&key, "rate"),
                        format!("a rate must be between 0 and 1e9 requests/s, found {x}"),
                        None,
                    );
                    None
                }
            }),
            None => {
                r.error(
                    item.span(),
                    &key,
                    "a schedule point needs `rate` (requests/s)".into(),
                    None,
                );
                None
            }
        };
        let ramp = field(t, "ramp").map_or(Some(false), |v| r.boolean(v, &join(&key, "ramp")));
        match (at, rate, ramp) {
            (Some(at_ns), Some(rate_rps), Some(ramp)) => {
                if let Some(prev) = points.last().map(|p: &RatePoint| p.at_ns)
                    && at_ns <= prev
                {
                    let span = field(t, "at").map_or(item.span(), |v| v.span());
                    r.error(
                        span,
                        &join(&key, "at"),
                        "schedule times must increase".into(),
                        None,
                    );
                    ok = false;
                }
                if ramp && i == 0 {
                    r.error(
                        item.span(),
                        &join(&key, "ramp"),
                        "the first point has nothing to ramp from".into(),
                        Some("remove `ramp` from the first point".into()),
                    );
                    ok = false;
                }
                points.push(RatePoint {
                    at_ns,
                    rate_rps,
                    ramp,
                });
            }
            _ => ok = false,
        }
    }
    if ok && points.iter().all(|p| p.rate_rps == 0.0) {
        r.error(
            v.span(),
            "workload.schedule",
            "every rate in the schedule is zero".into(),
            None,
        );
        ok = false;
    }
    ok.then_some(Arrivals::Schedule(points))
}

fn read_classes<'v, 'i>(r: &mut Reader, w: &'v DeTable<'i>) -> Vec<RawClass<'v, 'i>> {
    let Some(v) = field(w, "classes") else {
        return vec![RawClass {
            name: "request".into(),
            span: 0..0,
            share: 1.0,
            access: Access::Read,
            route: None,
            calls: None,
        }];
    };
    let Some(items) = r.array(v, "workload.classes") else {
        return Vec::new();
    };
    let mut out: Vec<RawClass<'v, 'i>> = Vec::new();
    if items.len() > 1000 {
        r.error(
            v.span(),
            "workload.classes",
            format!("{} classes; at most 1000 are supported", items.len()),
            None,
        );
        return out;
    }
    for (i, item) in items.iter().enumerate() {
        let key = format!("workload.classes[{i}]");
        let Some(t) = r.table(item, &key) else {
            continue;
        };
        r.check_keys(t, &key, CLASS_KEYS);
        let name = match field(t, "name") {
            Some(n) => r.string(n, &join(&key, "name")),
            None => {
                r.error(item.span(), &key, "a class needs a `name`".into(), None);
                None
            }
        };
        let share = match field(t, "share") {
            Some(s) => r.number(s, &join(&key, "share")).and_then(|x| {
                if x > 0.0 && x <= 1.0 {
                    Some(x)
                } else {
                    r.error(
                        s.span(),
                        &join(&key, "share"),
                        format!("a share must be in (0, 1], found {x}"),
                        None,
                    );
                    None
                }
            }),
            None if items.len() == 1 => Some(1.0),
            None => {
                r.error(item.span(), &key, "a class needs a `share`".into(), None);
                None
            }
        };
        let Some(name) = name else { continue };
        if out.iter().any(|c| c.name == name) {
            r.error(
                item.span(),
                &key,
                format!("class `{name}` is defined twice"),
                None,
            );
            continue;
        }
        let default_access = if name.to_ascii_lowercase().contains("write") {
            Access::Write
        } else {
            Access::Read
        };
        let access = field(t, "access").map_or(Some(default_access), |a| {
            r.choice(
                a,
                &join(&key, "access"),
                &[("read", Access::Read), ("write", Access::Write)],
            )
        });
        out.push(RawClass {
            name,
            span: item.span(),
            share: share.unwrap_or(f64::NAN),
            access: access.unwrap_or(default_access),
            route: field(t, "route"),
            calls: field(t, "calls"),
        });
    }
    if out.is_empty() && r.diags.is_empty() {
        r.error(
            v.span(),
            "workload.classes",
            "there are no classes".into(),
            Some("remove `classes` for a single class, or list at least one".into()),
        );
    }
    let sum: f64 = out.iter().map(|c| c.share).sum();
    if sum.is_finite() && !out.is_empty() && (sum - 1.0).abs() > 1e-6 {
        r.error(
            v.span(),
            "workload.classes",
            format!("class shares sum to {}, not 1", (sum * 1e6).round() / 1e6),
            Some("make the shares add up to exactly 1".into()),
        );
    }
    out
}

fn read_tiers(
    r: &mut Reader,
    doc: &DeTable<'_>,
    classes: &[String],
    access: &[Access],
) -> Vec<Tier> {
    let Some(v) = field(doc, "tier") else {
        r.error(
            0..0,
            "tier",
            "the scenario has no tiers".into(),
            Some("add at least one [[tier]] table".into()),
        );
        return Vec::new();
    };
    let Some(items) = r.array(v, "tier") else {
        return Vec::new();
    };
    if items.is_empty() {
        r.error(
            v.span(),
            "tier",
            "the scenario has no tiers".into(),
            Some("add at least one [[tier]] table".into()),
        );
    }
    let mut tiers: Vec<Tier> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let Some(t) = r.table(item, &format!("tier[{i}]")) else {
            continue;
        };
        let name = match field(t, "name") {
            Some(n) => r.string(n, &format!("tier[{i}].name")),
            None => {
                r.error(
                    item.span(),
                    &format!("tier[{i}]"),
                    "a tier needs a `name`".into(),
                    None,
                );
                None
            }
        };
        let key = format!("tier.{}", name.as_deref().unwrap_or(&i.to_string()));
        let kind = field(t, "kind").map_or(Some(Kind::Server), |k| {
            r.choice(k, &join(&key, "kind"), KINDS)
        });
        let Some(kind) = kind else { continue };
        let ctx = PoolCtx {
            classes,
            access,
            key: &key,
        };
        let tier = if kind == Kind::Database {
            r.check_keys(t, &key, DB_KEYS);
            read_database(r, t, item.span(), &ctx)
        } else {
            r.check_keys(t, &key, TIER_KEYS);
            read_pool(r, t, Role::Instances, &ctx).map(|p| (vec![p], ReadsTo::Replicas))
        };
        let default_balance = if kind == Kind::LoadBalancer {
            Balance::RoundRobin
        } else {
            Balance::Random
        };
        let balance = field(t, "balance").map_or(Some(default_balance), |b| {
            r.choice(b, &join(&key, "balance"), BALANCES)
        });
        let hold = field(t, "hold").map_or(Some(false), |h| r.boolean(h, &join(&key, "hold")));
        let tls = field(t, "tls").map_or(Some(false), |v| {
            r.choice(
                v,
                &join(&key, "tls"),
                &[("terminate", true), ("none", false)],
            )
        });
        let Some(name) = name else { continue };
        if tiers.iter().any(|x| x.name == name) {
            r.error(
                item.span(),
                &key,
                format!("tier `{name}` is defined twice"),
                Some("give each tier its own name".into()),
            );
            continue;
        }
        if let (Some((pools, reads)), Some(balance), Some(hold), Some(tls_terminates)) =
            (tier, balance, hold, tls)
        {
            tiers.push(Tier {
                name,
                kind,
                balance,
                hold,
                pools,
                reads,
                tls_terminates,
            });
        }
    }
    tiers
}

struct PoolCtx<'a> {
    classes: &'a [String],
    access: &'a [Access],
    key: &'a str,
}

fn read_database(
    r: &mut Reader,
    t: &DeTable<'_>,
    span: Range<usize>,
    ctx: &PoolCtx<'_>,
) -> Option<(Vec<Pool>, ReadsTo)> {
    let reads = field(t, "reads").map_or(Some(ReadsTo::Replicas), |v| {
        r.choice(
            v,
            &join(ctx.key, "reads"),
            &[
                ("replicas", ReadsTo::Replicas),
                ("primary", ReadsTo::Primary),
                ("any", ReadsTo::Any),
            ],
        )
    });
    let primary = match field(t, "primary") {
        Some(v) => {
            let key = join(ctx.key, "primary");
            r.table(v, &key).and_then(|p| {
                r.check_keys(p, &key, PRIMARY_KEYS);
                read_pool(r, p, Role::Primary, &PoolCtx { key: &key, ..*ctx })
            })
        }
        None => {
            r.error(
                span,
                ctx.key,
                "a database needs a `primary`".into(),
                Some("add `primary = { workers = 32, service = \"exp(2ms)\" }`".into()),
            );
            None
        }
    };
    let replicas = match field(t, "replicas") {
        Some(v) => {
            let key = join(ctx.key, "replicas");
            r.table(v, &key).and_then(|p| {
                r.check_keys(p, &key, REPLICA_KEYS);
                read_pool(r, p, Role::Replicas, &PoolCtx { key: &key, ..*ctx })
            })
        }
        None => Some(Pool {
            role: Role::Replicas,
            instances: 0,
            workers: 1,
            queue: None,
            service: Vec::new(),
        }),
    };
    Some((vec![primary?, replicas?], reads?))
}

fn read_pool(r: &mut Reader, t: &DeTable<'_>, role: Role, ctx: &PoolCtx<'_>) -> Option<Pool> {
    let key = ctx.key;
    let count_key = if role == Role::Replicas {
        "count"
    } else {
        "instances"
    };
    let min_count = if role == Role::Replicas { 0 } else { 1 };
    let instances = match (role, field(t, count_key)) {
        (Role::Primary, _) => Some(1),
        (_, Some(v)) => r.int(v, &join(key, count_key), min_count, 10_000),
        (_, None) => Some(1),
    };
    let workers =
        field(t, "workers").map_or(Some(1), |v| r.int(v, &join(key, "workers"), 1, 1_000_000));
    let queue = match field(t, "queue") {
        None => Some(None),
        Some(v) if matches!(v.get_ref(), DeValue::String(s) if s == "unbounded") => Some(None),
        Some(v) if matches!(v.get_ref(), DeValue::Integer(_)) => r
            .int(v, &join(key, "queue"), 0, 100_000_000)
            .map(|q| Some(q as u32)),
        Some(v) => {
            r.error(
                v.span(),
                &join(key, "queue"),
                "expected a whole number or \"unbounded\"".into(),
                Some("the queue is the waiting room per instance; 0 means none".into()),
            );
            None
        }
    };
    let service = match field(t, "service") {
        Some(v) => read_service(r, v, &join(key, "service"), ctx),
        None if role == Role::Replicas && instances == Some(0) => Some(Vec::new()),
        None => {
            r.error(
                r_span(t),
                key,
                "missing `service`".into(),
                Some("add e.g. `service = \"exp(2ms)\"`".into()),
            );
            None
        }
    };
    Some(Pool {
        role,
        instances: instances? as u32,
        workers: workers? as u32,
        queue: queue?,
        service: service?,
    })
}

/// A span for a table with no span of its own: its first key.
fn r_span(t: &DeTable<'_>) -> Range<usize> {
    t.iter().next().map_or(0..0, |(k, _)| k.span())
}

/// A service time: one distribution for all classes, or a table keyed by
/// class name, `read`/`write`, or `default` (looked up in that order).
fn read_service(r: &mut Reader, v: &Value<'_>, key: &str, ctx: &PoolCtx<'_>) -> Option<Vec<Dist>> {
    match v.get_ref() {
        DeValue::String(_) => {
            let d = r.dist(v, key)?;
            Some(vec![d; ctx.classes.len()])
        }
        DeValue::Table(t) => {
            let mut allowed: Vec<&str> = ctx.classes.iter().map(String::as_str).collect();
            for k in ["read", "write", "default"] {
                if !allowed.contains(&k) {
                    allowed.push(k);
                }
            }
            r.check_keys(t, key, &allowed);
            let mut parsed: Vec<(String, Option<Dist>)> = Vec::new();
            for (k, dv) in t.iter() {
                let name = k.get_ref().to_string();
                let d = r.dist(dv, &join(key, &name));
                parsed.push((name, d));
            }
            let lookup = |name: &str| parsed.iter().find(|(n, _)| n == name);
            let mut out = Vec::new();
            let mut ok = true;
            for (c, access) in ctx.classes.iter().zip(ctx.access) {
                let acc = if *access == Access::Write {
                    "write"
                } else {
                    "read"
                };
                match lookup(c)
                    .or_else(|| lookup(acc))
                    .or_else(|| lookup("default"))
                {
                    Some((_, Some(d))) => out.push(d.clone()),
                    Some((_, None)) => ok = false,
                    None => {
                        r.error(
                            v.span(),
                            key,
                            format!("no service time for class `{c}`"),
                            Some(format!(
                                "add `{c} = \"...\"`, `{acc} = \"...\"` or `default = \"...\"`"
                            )),
                        );
                        ok = false;
                    }
                }
            }
            ok.then_some(out)
        }
        _ => {
            r.error(v.span(), key, "expected a distribution string or a table of them by class".into(), Some("e.g. service = \"exp(2ms)\" or service = { read = \"exp(2ms)\", write = \"exp(8ms)\" }".into()));
            None
        }
    }
}

/// Every tier name in the file, valid or not, so a route naming a tier that
/// has problems of its own is not reported a second time.
fn declared_tier_names(doc: &DeTable<'_>) -> Vec<String> {
    let Some(DeValue::Array(items)) = field(doc, "tier").map(|v| v.get_ref()) else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|t| match t.get_ref() {
            DeValue::Table(t) => match field(t, "name").map(|n| n.get_ref()) {
                Some(DeValue::String(s)) => Some(s.to_string()),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

fn resolve_routes(
    r: &mut Reader,
    raw: Vec<RawClass<'_, '_>>,
    tiers: &[Tier],
    declared: &[String],
) -> Option<Vec<Class>> {
    let names: Vec<&str> = tiers.iter().map(|t| t.name.as_str()).collect();
    let mut out = Vec::new();
    let mut ok = true;
    for (ci, c) in raw.into_iter().enumerate() {
        let key = format!("workload.classes[{ci}]");
        let mut route: Vec<Step> = Vec::new();
        match c.route {
            None => route.extend((0..tiers.len()).map(|tier| Step {
                tier,
                calls: Calls::Fixed(1),
            })),
            Some(v) => {
                let rkey = join(&key, "route");
                for item in r.array(v, &rkey).unwrap_or(&[]) {
                    let (name_v, calls) = match item.get_ref() {
                        DeValue::String(_) => (Some(item), Some(Calls::Fixed(1))),
                        DeValue::Table(t) => {
                            r.check_keys(t, &rkey, &["tier", "calls"]);
                            let calls = field(t, "calls").map_or(Some(Calls::Fixed(1)), |c| {
                                r.calls(c, &join(&rkey, "calls"))
                            });
                            if field(t, "tier").is_none() {
                                r.error(
                                    item.span(),
                                    &rkey,
                                    "a route step needs `tier`".into(),
                                    None,
                                );
                            }
                            (field(t, "tier"), calls)
                        }
                        _ => {
                            r.error(
                                item.span(),
                                &rkey,
                                "a route step is a tier name or { tier = \"db\", calls = 3 }"
                                    .into(),
                                None,
                            );
                            (None, None)
                        }
                    };
                    let name = name_v.and_then(|nv| r.string(nv, &rkey).map(|n| (n, nv.span())));
                    match (name, calls) {
                        (Some((n, span)), Some(calls)) => {
                            match names.iter().position(|x| *x == n) {
                                Some(tier) => route.push(Step { tier, calls }),
                                None if declared.contains(&n) => ok = false,
                                None => {
                                    let all: Vec<&str> =
                                        declared.iter().map(String::as_str).collect();
                                    let hint = match did_you_mean(&n, &all) {
                                        Some(m) => {
                                            format!("did you mean `{m}`? tiers: {}", all.join(", "))
                                        }
                                        None => format!("tiers: {}", all.join(", ")),
                                    };
                                    r.error(
                                        span,
                                        &rkey,
                                        format!("no tier named `{n}`"),
                                        Some(hint),
                                    );
                                    ok = false;
                                }
                            }
                        }
                        _ => ok = false,
                    }
                }
                if route.is_empty() && ok {
                    r.error(
                        v.span(),
                        &rkey,
                        "the route is empty".into(),
                        Some("list the tiers this class visits, in order".into()),
                    );
                    ok = false;
                }
            }
        }
        if let Some(cv) = c.calls
            && let Some(t) = r.table(cv, &join(&key, "calls"))
        {
            for (k, v) in t.iter() {
                let ckey = join(&join(&key, "calls"), k.get_ref());
                let Some(calls) = r.calls(v, &ckey) else {
                    ok = false;
                    continue;
                };
                let mut found = false;
                for step in route
                    .iter_mut()
                    .filter(|s| names.get(s.tier) == Some(&k.get_ref().as_ref()))
                {
                    step.calls = calls;
                    found = true;
                }
                if !found && !tiers.is_empty() {
                    r.error(
                        k.span(),
                        &ckey,
                        format!("`{}` is not on this class's route", k.get_ref()),
                        Some(format!(
                            "route: {}",
                            route
                                .iter()
                                .map(|s| names[s.tier])
                                .collect::<Vec<_>>()
                                .join(" -> ")
                        )),
                    );
                    ok = false;
                }
            }
        }
        if route.len() > MAX_STEPS {
            r.error(
                c.span.clone(),
                &key,
                format!(
                    "the route has {} steps; at most {MAX_STEPS} are supported",
                    route.len()
                ),
                None,
            );
            ok = false;
        }
        out.push(Class {
            name: c.name,
            share: c.share,
            access: c.access,
            route,
        });
    }
    ok.then_some(out)
}

fn check_warmup_vs_schedule(
    r: &mut Reader,
    doc: &DeTable<'_>,
    sim: &Option<Simulation>,
    arrivals: &Option<Arrivals>,
) {
    let (Some(sim), Some(Arrivals::Schedule(points))) = (sim, arrivals) else {
        return;
    };
    if let Some(last) = points.last()
        && last.at_ns >= sim.window_end_ns()
    {
        let span = field(doc, "workload").map_or(0..0, |v| v.span());
        r.error(
            span,
            "workload.schedule",
            "the schedule has points after the end of the run".into(),
            Some("the run ends at warmup + duration; drop the later points or run longer".into()),
        );
    }
}
