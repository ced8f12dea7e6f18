//! Reading the `[[tier]]` tables: pools of instances, databases, service times.

use std::ops::Range;

use toml::de::{DeTable, DeValue};

use super::faults::{read_failover, read_failures, read_health_check, read_pauses};
use super::hosts::{read_host_ref, read_tls_cost};
use super::read::{Reader, Value, field, join};
use super::spec::*;
use crate::dist::Dist;

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
    "timeout",
    "health_check",
    "retries",
    "redispatch",
    "failures",
    "host",
    "tls_cost",
    "rules",
    "rule_cost",
    "conntrack",
    "network",
    "cpu",
    "threads",
    "wakeup",
    "pauses",
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
    "timeout",
    "health_check",
    "retries",
    "redispatch",
    "failover",
    "writes_during_outage",
    "tls_cost",
    "network",
    "shards",
    "shard_key",
    "replication",
];
const PRIMARY_KEYS: &[&str] = &[
    "workers", "queue", "service", "failures", "host", "cpu", "threads", "wakeup", "pauses",
];
const REPLICA_KEYS: &[&str] = &[
    "count", "workers", "queue", "service", "failures", "host", "cpu", "threads", "wakeup",
    "pauses",
];

const KINDS: &[(&str, Kind)] = &[
    ("server", Kind::Server),
    ("firewall", Kind::Firewall),
    ("load-balancer", Kind::LoadBalancer),
    ("web", Kind::Web),
    ("app", Kind::App),
    ("database", Kind::Database),
];

pub(crate) fn read_tiers(
    r: &mut Reader,
    doc: &DeTable<'_>,
    classes: &[String],
    access: &[Access],
    hosts: &[Host],
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
        let read_kind = field(t, "kind").map_or(Some(Kind::Server), |k| {
            r.choice(k, &join(&key, "kind"), KINDS)
        });
        // An unknown kind is one problem among the tier's others: the rest
        // is read as the shape the table has, so every problem is told.
        let kind = read_kind.unwrap_or(
            if field(t, "primary").is_some() || field(t, "replicas").is_some() {
                Kind::Database
            } else {
                Kind::Server
            },
        );
        let ctx = PoolCtx {
            classes,
            access,
            hosts,
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
            r.choice(
                b,
                &join(&key, "balance"),
                &Balance::ALL.map(|b| (b.as_str(), b)),
            )
        });
        let hold = field(t, "hold").map_or(Some(false), |h| r.boolean(h, &join(&key, "hold")));
        let tls = field(t, "tls").map_or(Some(Tls::None), |v| {
            r.choice(
                v,
                &join(&key, "tls"),
                &[
                    ("terminate", Tls::Terminate),
                    ("reencrypt", Tls::Reencrypt),
                    ("none", Tls::None),
                ],
            )
        });
        let replicas = tier
            .as_ref()
            .and_then(|(p, _)| p.get(1))
            .map(|p| p.instances);
        let settings = read_settings(r, t, &key, replicas);
        let sharding = if kind == Kind::Database {
            read_sharding(r, t, &ctx)
        } else {
            Some((1, Vec::new()))
        };
        let replication = match (field(t, "replication"), &tier) {
            (Some(v), Some((pools, _))) if kind == Kind::Database => {
                read_replication(r, v, pools, &ctx).map(Some)
            }
            (Some(_), _) => None, // its pools had problems of their own
            (None, _) => Some(None),
        };
        let (Some(name), Some(_)) = (name, read_kind) else {
            continue;
        };
        if tiers.iter().any(|x| x.name == name) {
            r.error(
                item.span(),
                &key,
                format!("tier `{name}` is defined twice"),
                Some("give each tier its own name".into()),
            );
            continue;
        }
        if let (
            Some((mut pools, reads)),
            Some(balance),
            Some(hold),
            Some(tls),
            Some(x),
            Some((shards, shard_keys)),
            Some(replication),
        ) = (tier, balance, hold, tls, settings, sharding, replication)
        {
            // A shard is a primary with its replicas: the pools hold every
            // shard's, shard after shard.
            for p in &mut pools {
                p.instances *= shards;
            }
            tiers.push(Tier {
                name,
                kind,
                balance,
                hold,
                pools,
                reads,
                tls,
                timeout_ns: x.timeout_ns,
                health_check: x.health_check,
                retries: x.retries,
                redispatch: x.redispatch,
                failover: x.failover,
                writes_wait: x.writes_wait,
                costs: x.costs,
                shards,
                shard_keys,
                replication,
            });
        }
    }
    tiers
}

/// The failure-handling settings of a tier.
struct Settings {
    timeout_ns: Option<u64>,
    health_check: Option<HealthCheck>,
    retries: u32,
    redispatch: bool,
    failover: Option<Failover>,
    writes_wait: bool,
    costs: Costs,
}

fn read_settings(
    r: &mut Reader,
    t: &DeTable<'_>,
    key: &str,
    replicas: Option<u32>,
) -> Option<Settings> {
    let timeout_ns = match field(t, "timeout") {
        Some(v) => Some(r.positive_duration(v, &join(key, "timeout"))?),
        None => None,
    };
    let health_check = match field(t, "health_check") {
        Some(v) => Some(read_health_check(r, v, &join(key, "health_check"))?),
        None => None,
    };
    let retries = field(t, "retries").map_or(Some(0), |v| r.int(v, &join(key, "retries"), 0, 100));
    let redispatch =
        field(t, "redispatch").map_or(Some(false), |v| r.boolean(v, &join(key, "redispatch")));
    let failover = match field(t, "failover") {
        Some(v) => Some(read_failover(r, v, &join(key, "failover"), replicas)?),
        None => None,
    };
    let writes_wait = field(t, "writes_during_outage").map_or(Some(false), |v| {
        r.choice(
            v,
            &join(key, "writes_during_outage"),
            &[("fail", false), ("wait", true)],
        )
    });
    let tls = match field(t, "tls_cost") {
        Some(v) => Some(read_tls_cost(r, v, &join(key, "tls_cost"))?),
        None => None,
    };
    let rules = field(t, "rules").map_or(Some(0), |v| r.int(v, &join(key, "rules"), 0, 10_000_000));
    let rule_ns = field(t, "rule_cost").map_or(Some(0), |v| r.duration(v, &join(key, "rule_cost")));
    let conntrack = match field(t, "conntrack") {
        Some(v) => Some(r.int(v, &join(key, "conntrack"), 1, 1_000_000_000)? as u32),
        None => None,
    };
    let network = match field(t, "network") {
        Some(v) => Some(r.dist(v, &join(key, "network"))?),
        None => None,
    };
    Some(Settings {
        timeout_ns,
        health_check,
        retries: retries? as u32,
        redispatch: redispatch?,
        failover,
        writes_wait: writes_wait?,
        costs: Costs {
            tls,
            rules: rules? as u32,
            rule_ns: rule_ns?,
            conntrack,
            network,
        },
    })
}

/// `replication = { apply, appliers, receive, semi_sync, stale_after }`.
fn read_replication(
    r: &mut Reader,
    v: &Value<'_>,
    pools: &[Pool],
    ctx: &PoolCtx<'_>,
) -> Option<Replication> {
    let key = join(ctx.key, "replication");
    let t = r.table(v, &key)?;
    r.check_keys(
        t,
        &key,
        &[
            "apply",
            "appliers",
            "receive",
            "semi_sync",
            "stale_after",
            "read_your_writes",
        ],
    );
    if pools.get(1).is_none_or(|p| p.instances == 0) {
        r.error(
            v.span(),
            &key,
            "replication needs replicas, and this database has none".into(),
            Some("add `replicas = { count = 1, ... }` or remove `replication`".into()),
        );
        return None;
    }
    // A class the table does not name applies in the primary's time.
    let primary = &pools[0].service;
    let apply = match field(t, "apply") {
        Some(a) => match a.get_ref() {
            DeValue::Table(tab) => per_class(
                r,
                tab,
                &join(&key, "apply"),
                ctx,
                |r, v, k| r.dist(v, k),
                |_, c, _| {
                    let i = ctx.classes.iter().position(|x| x == c)?;
                    primary.get(i).cloned()
                },
            ),
            _ => read_service(r, a, &join(&key, "apply"), ctx),
        },
        None => Some(primary.clone()),
    };
    let appliers =
        field(t, "appliers").map_or(Some(1), |a| r.int(a, &join(&key, "appliers"), 1, 1024));
    let receive = match field(t, "receive") {
        Some(a) => r.dist(a, &join(&key, "receive")).map(Some),
        None => Some(None),
    };
    let semi_sync =
        field(t, "semi_sync").map_or(Some(false), |a| r.boolean(a, &join(&key, "semi_sync")));
    let stale_after_ns =
        field(t, "stale_after").map_or(Some(0), |a| r.duration(a, &join(&key, "stale_after")));
    let read_your_writes_ns = match field(t, "read_your_writes") {
        None => Some(None),
        Some(a) => r
            .positive_duration(a, &join(&key, "read_your_writes"))
            .map(Some),
    };
    Some(Replication {
        apply: apply?,
        appliers: appliers? as u32,
        receive: receive?,
        semi_sync: semi_sync?,
        stale_after_ns: stale_after_ns?,
        read_your_writes_ns: read_your_writes_ns?,
    })
}

/// Most shards a database may have.
const MAX_SHARDS: i64 = 1_000;

/// `shards` and `shard_key` of a database: the shard count and, when
/// sharded, each class's key spread (uniform unless `shard_key` says).
fn read_sharding(
    r: &mut Reader,
    t: &DeTable<'_>,
    ctx: &PoolCtx<'_>,
) -> Option<(u32, Vec<ShardKey>)> {
    let shards = match field(t, "shards") {
        Some(v) => r.int(v, &join(ctx.key, "shards"), 1, MAX_SHARDS)? as u32,
        None => 1,
    };
    let Some(v) = field(t, "shard_key") else {
        let keys = if shards > 1 {
            vec![ShardKey::Uniform; ctx.classes.len()]
        } else {
            Vec::new()
        };
        return Some((shards, keys));
    };
    let key = join(ctx.key, "shard_key");
    if shards == 1 {
        r.error(
            v.span(),
            &key,
            "`shard_key` without `shards`: one shard takes every key".into(),
            Some("add `shards = 3` (or more), or remove `shard_key`".into()),
        );
        return None;
    }
    let one = |r: &mut Reader, v: &Value<'_>, k: &str| read_shard_key(r, v, k, shards);
    let keys = match v.get_ref() {
        DeValue::Table(tab) => {
            per_class(r, tab, &key, ctx, one, |_, _, _| Some(ShardKey::Uniform))?
        }
        _ => vec![one(r, v, &key)?; ctx.classes.len()],
    };
    Some((shards, keys))
}

/// One shard key: `"uniform"`, `"zipf(S)"`, `"zipf(S, keys = K)"`, or an
/// array of weights, one per shard.
fn read_shard_key(r: &mut Reader, v: &Value<'_>, key: &str, shards: u32) -> Option<ShardKey> {
    let hint = || {
        Some(format!(
            "\"uniform\", \"zipf(1.1)\", \"zipf(1.1, keys = 10000)\" or {} weights such as [{}]",
            shards,
            (0..shards.min(4))
                .map(|i| if i == 0 { "2" } else { "1" })
                .collect::<Vec<_>>()
                .join(", ")
                + if shards > 4 { ", ..." } else { "" }
        ))
    };
    match v.get_ref() {
        DeValue::String(text) => {
            let text = text.trim();
            if text == "uniform" {
                return Some(ShardKey::Uniform);
            }
            let parsed = text
                .strip_prefix("zipf(")
                .and_then(|x| x.strip_suffix(')'))
                .and_then(|args| {
                    let mut parts = args.split(',').map(str::trim);
                    let s: f64 = parts.next()?.parse().ok()?;
                    let keys = match parts.next() {
                        None => shards,
                        Some(k) => k
                            .strip_prefix("keys")?
                            .trim_start()
                            .strip_prefix('=')?
                            .trim()
                            .parse()
                            .ok()?,
                    };
                    parts.next().is_none().then_some((s, keys))
                });
            match parsed {
                Some((s, keys)) if s.is_finite() && s >= 0.0 && keys >= 1 => {
                    Some(ShardKey::Zipf { s, keys })
                }
                Some(_) => {
                    r.error(
                        v.span(),
                        key,
                        format!("`{text}`: the exponent must be 0 or more and keys at least 1"),
                        Some(
                            "e.g. \"zipf(1.1)\" (1 key per shard) or \"zipf(0.9, keys = 10000)\""
                                .into(),
                        ),
                    );
                    None
                }
                None => {
                    r.error(v.span(), key, format!("unknown shard key `{text}`"), hint());
                    None
                }
            }
        }
        DeValue::Array(items) => {
            let mut w = Vec::new();
            for (i, item) in items.iter().enumerate() {
                w.push(r.number(item, &format!("{key}[{i}]")));
            }
            let w: Vec<f64> = w.into_iter().collect::<Option<_>>()?;
            if w.len() != shards as usize {
                r.error(
                    v.span(),
                    key,
                    format!("{} weights for {shards} shards", w.len()),
                    Some("give one weight per shard, in shard order".into()),
                );
                return None;
            }
            if w.iter().any(|x| !x.is_finite() || *x < 0.0) || w.iter().sum::<f64>() <= 0.0 {
                r.error(
                    v.span(),
                    key,
                    "shard weights must be 0 or more, and not all 0".into(),
                    Some(
                        "a weight is the shard's share of the class's keys, e.g. [2, 1, 1]".into(),
                    ),
                );
                return None;
            }
            Some(ShardKey::Weights(w))
        }
        _ => {
            r.error(v.span(), key, "expected a shard key".into(), hint());
            None
        }
    }
}

struct PoolCtx<'a> {
    classes: &'a [String],
    access: &'a [Access],
    hosts: &'a [Host],
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
            failures: None,
            host: None,
            cpu: Vec::new(),
            threads: None,
            wakeup_ns: None,
            pauses: None,
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
    let failures = read_failures(r, t, key);
    let pauses = read_pauses(r, t, key);
    let host = match field(t, "host") {
        Some(v) => read_host_ref(r, v, &join(key, "host"), ctx.hosts).map(Some),
        None => Some(None),
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
    let cpu = match field(t, "cpu") {
        None => Some(vec![Cpu::All; ctx.classes.len()]),
        Some(v) => read_cpu(r, v, &join(key, "cpu"), ctx),
    };
    let threads = match field(t, "threads") {
        None => Some(None),
        Some(v) => r
            .int(v, &join(key, "threads"), 1, 1_000_000)
            .map(|n| Some(n as u32)),
    };
    let wakeup_ns = match field(t, "wakeup") {
        None => Some(None),
        Some(v) => r.positive_duration(v, &join(key, "wakeup")).map(Some),
    };
    Some(Pool {
        role,
        instances: instances? as u32,
        workers: workers? as u32,
        queue: queue?,
        service: service?,
        failures: failures?,
        host: host?,
        cpu: cpu?,
        threads: threads?,
        wakeup_ns: wakeup_ns?,
        pauses: pauses?,
    })
}

/// `cpu`: a fraction of the service (`0.75`), a distribution
/// (`"exp(1.2ms)"`), or a table of those by class, `read`/`write` or
/// `default` like `service` (a class not given keeps all of its service on
/// the CPU).
fn read_cpu(r: &mut Reader, v: &Value<'_>, key: &str, ctx: &PoolCtx<'_>) -> Option<Vec<Cpu>> {
    let one = |r: &mut Reader, v: &Value<'_>, key: &str| -> Option<Cpu> {
        match v.get_ref() {
            DeValue::String(_) => r.dist(v, key).map(Cpu::Dist),
            DeValue::Integer(_) | DeValue::Float(_) => {
                let f = r.number(v, key)?;
                if !(0.0..=1.0).contains(&f) {
                    r.error(
                        v.span(),
                        key,
                        format!("a CPU fraction must lie in 0..1, not {f}"),
                        Some("the share of each service spent on a core, e.g. cpu = 0.75, or a distribution such as cpu = \"exp(1.2ms)\"".into()),
                    );
                    return None;
                }
                Some(Cpu::Fraction(f))
            }
            _ => {
                r.error(
                    v.span(),
                    key,
                    "expected a fraction of the service or a distribution".into(),
                    Some("e.g. cpu = 0.75 or cpu = \"exp(1.2ms)\"".into()),
                );
                None
            }
        }
    };
    let DeValue::Table(t) = v.get_ref() else {
        let c = one(r, v, key)?;
        return Some(vec![c; ctx.classes.len()]);
    };
    per_class(r, t, key, ctx, one, |_, _, _| Some(Cpu::All))
}

/// A table keyed by class name, `read`/`write` (the class's access) or
/// `default`, looked up in that order, each value read by `one`; `missing`
/// says what a class none of them names gets (`None`: an error it reported).
fn per_class<T: Clone>(
    r: &mut Reader,
    t: &DeTable<'_>,
    key: &str,
    ctx: &PoolCtx<'_>,
    one: impl Fn(&mut Reader, &Value<'_>, &str) -> Option<T>,
    missing: impl Fn(&mut Reader, &str, &str) -> Option<T>,
) -> Option<Vec<T>> {
    let mut allowed: Vec<&str> = ctx.classes.iter().map(String::as_str).collect();
    for k in ["read", "write", "default"] {
        if !allowed.contains(&k) {
            allowed.push(k);
        }
    }
    r.check_keys(t, key, &allowed);
    let mut parsed: Vec<(String, Option<T>)> = Vec::new();
    for (k, v) in t.iter() {
        let name = k.get_ref().to_string();
        let x = one(r, v, &join(key, &name));
        parsed.push((name, x));
    }
    let mut out = Vec::new();
    let mut ok = true;
    for (c, access) in ctx.classes.iter().zip(ctx.access) {
        let acc = if *access == Access::Write {
            "write"
        } else {
            "read"
        };
        let lookup = |name: &str| parsed.iter().find(|(n, _)| n == name);
        match lookup(c)
            .or_else(|| lookup(acc))
            .or_else(|| lookup("default"))
        {
            Some((_, Some(x))) => out.push(x.clone()),
            Some((_, None)) => ok = false,
            None => match missing(r, c, acc) {
                Some(x) => out.push(x),
                None => ok = false,
            },
        }
    }
    ok.then_some(out)
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
        DeValue::Table(t) => per_class(
            r,
            t,
            key,
            ctx,
            |r, v, k| r.dist(v, k),
            |r, c, acc| {
                r.error(
                    v.span(),
                    key,
                    format!("no service time for class `{c}`"),
                    Some(format!(
                        "add `{c} = \"...\"`, `{acc} = \"...\"` or `default = \"...\"`"
                    )),
                );
                None
            },
        ),
        _ => {
            r.error(v.span(), key, "expected a distribution string or a table of them by class".into(), Some("e.g. service = \"exp(2ms)\" or service = { read = \"exp(2ms)\", write = \"exp(8ms)\" }".into()));
            None
        }
    }
}
