//! Defaults that change the answer: a setting the scenario leaves out whose
//! default carries a cost (or hides one), named when it dominates a tier's
//! load, so that `check` never says "ok" over a number nobody chose.
//!
//! What counts, on physical grounds rather than tuned shares:
//!
//! - **TLS handshakes**: `tls_cost` with only some of its keys set charges
//!   the defaulted handshake (2 ms full, 200 us resumed, half resumed, one
//!   request per connection: 1.1 ms a request) on every request. Named when
//!   the defaulted handshake is the larger part of the tier's work per visit
//!   (more than its service and other costs together).
//! - **Workers**: a pool without `workers` serves one request at a time per
//!   instance. Named when the pool's offered utilization with that default is
//!   at least one half: from there the default decides the queueing.
//! - **Threads**: without `threads`, an instance may use a core per busy
//!   worker. Named when the pool has more workers than its machine has cores
//!   and asks for more than one core per instance: an event-loop server
//!   (HAProxy, Nginx) would be held to its thread count there.
//! - **Placement**: in a scenario with `[[host]]` groups, a pool without
//!   `host` has CPU of its own and competes with no other tier. Named when
//!   its CPU demand is at least one half of a core per instance.

use super::PoolLoad;
use crate::scenario::{Kind, Role, Scenario, Tier};
use crate::units::{format_duration, whole};

/// One sentence per defaulted setting that dominates a tier's load, each
/// naming the key to set.
pub fn costly_defaults(s: &Scenario, loads: &[PoolLoad]) -> Vec<String> {
    let mut out = Vec::new();
    for (ti, tier) in s.tiers.iter().enumerate() {
        let doc = tier_table(s, &tier.name);
        let key = format!("tier.{}", tier.name);
        handshakes(tier, doc, &key, &mut out);
        for l in loads.iter().filter(|l| l.tier == ti) {
            let pool = &tier.pools[l.pool];
            let (pool_key, table) = pool_table(doc, &key, pool.role);
            let has = |k: &str| table.is_some_and(|t| t.contains_key(k));
            if !has("workers") && l.servers > 0 && l.utilization >= 0.5 {
                out.push(format!(
                    "`{pool_key}.workers` is not set: each of {}'s instances serves one request at a time (the default), which puts its offered utilization at {:.2}; {}",
                    l.label,
                    l.utilization,
                    workers_hint(tier.kind)
                ));
            }
            let per_instance = l.cpu / f64::from(pool.instances.max(1));
            if let Some(h) = pool.host {
                let cores = s.hosts[h].cores;
                if !has("threads") && pool.workers > cores && per_instance > 1.0 {
                    out.push(format!(
                        "`{pool_key}.threads` is not set: each of {}'s instances may use a core per busy worker (the default), and it asks for {per_instance:.1} cores of host `{}`'s {cores}; an event-loop server (HAProxy `nbthread`, Nginx worker processes) is held to its threads: set `threads`",
                        l.label, s.hosts[h].name
                    ));
                }
            } else if !s.hosts.is_empty() && per_instance.is_finite() && per_instance >= 0.5 {
                out.push(format!(
                    "`{pool_key}.host` is not set: {} has CPU of its own (the default) and competes with no other tier for cores while asking for {per_instance:.2} cores per instance; set `host` to the machines it runs on",
                    l.label
                ));
            }
        }
    }
    out
}

/// The tier's table in the scenario as read (every override applied).
fn tier_table<'a>(s: &'a Scenario, name: &str) -> Option<&'a toml::Table> {
    s.document
        .get("tier")?
        .as_array()?
        .iter()
        .filter_map(|t| t.as_table())
        .find(|t| t.get("name").and_then(|n| n.as_str()) == Some(name))
}

/// A pool's key (`tier.db.primary`) and its table: the tier's own for a
/// tier of instances, `primary` or `replicas` within a database.
fn pool_table<'a>(
    doc: Option<&'a toml::Table>,
    key: &str,
    role: Role,
) -> (String, Option<&'a toml::Table>) {
    match role {
        Role::Instances => (key.to_string(), doc),
        r => (
            format!("{key}.{}", r.as_str()),
            doc.and_then(|t| t.get(r.as_str())?.as_table()),
        ),
    }
}

/// Defaulted handshake keys of a tier's `tls_cost`, named when the
/// handshake they make is most of the tier's work per visit.
fn handshakes(tier: &Tier, doc: Option<&toml::Table>, key: &str, out: &mut Vec<String>) {
    let Some(tls) = &tier.costs.tls else { return };
    let Some(table) = doc.and_then(|t| t.get("tls_cost")?.as_table()) else {
        return;
    };
    let defaulted: Vec<String> = [
        ("full_handshake", format_duration(tls.full_handshake_ns)),
        (
            "resumed_handshake",
            format_duration(tls.resumed_handshake_ns),
        ),
        ("resumption", format!("{}", tls.resumption)),
        (
            "requests_per_connection",
            whole(tls.requests_per_connection),
        ),
    ]
    .into_iter()
    .filter(|(k, _)| !table.contains_key(*k))
    .map(|(k, v)| format!("{k} = {v}"))
    .collect();
    if defaulted.is_empty() {
        return;
    }
    let handshake = tls.mean_ns() - tls.per_request_ns as f64;
    // The tier's work per visit: its mean service (over pools and classes)
    // and every extra CPU cost, the handshake included.
    let services: Vec<f64> = tier
        .pools
        .iter()
        .flat_map(|p| p.service.iter().map(|d| d.mean()))
        .collect();
    let service = services.iter().sum::<f64>() / services.len().max(1) as f64;
    let work = service + super::extra_cpu_ns(tier);
    if work > 0.0 && handshake > work - handshake {
        out.push(format!(
            "`{key}.tls_cost` leaves {} at the defaults: their handshakes add {:.3} ms of CPU to every request, {:.0}% of {}'s work per visit; set them (keep-alive clients make many requests per connection, e.g. requests_per_connection = 100, resumption = 0.9)",
            defaulted.join(", "),
            handshake / 1e6,
            100.0 * handshake / work,
            tier.name
        ));
    }
}

/// How to choose `workers` for a kind of server.
fn workers_hint(kind: Kind) -> &'static str {
    match kind {
        Kind::LoadBalancer | Kind::Web | Kind::Firewall => {
            "an HAProxy, Nginx or firewall holds many connections at once: set `workers` to its connection limit (`maxconn`, `worker_connections`) and `threads` to its threads"
        }
        Kind::App => {
            "set `workers` to the server's worker processes times threads (gunicorn `workers` x `threads`, PHP-FPM `pm.max_children`)"
        }
        Kind::Database => {
            "set `workers` to the connections it serves at once (the application's pool size or `max_connections`)"
        }
        Kind::Server => "set `workers` to the requests one instance serves at once",
    }
}
