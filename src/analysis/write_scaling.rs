//! The single-primary finding's own advice, modelled: a database whose
//! every write goes to one primary, beside the same scenario with its
//! writes split over 2 and 4 shards (`shards = N`, keys uniform), each
//! through the analytic model (and, in `review --simulate`, simulated).

use serde::Serialize;

use super::queueing::{AnalyticModel, analytic_model};
use crate::scenario::{Kind, Role, Scenario, ShardKey};

/// Shard counts `review` sets beside a single primary.
pub const SHARD_OPTIONS: [u32; 2] = [2, 4];

/// One design for a database's writes.
#[derive(Clone, Debug, Serialize)]
pub struct WriteOption {
    /// The database tier.
    pub database: String,
    /// `1 primary`, `2 shards`.
    pub design: String,
    /// Shards (1: today's design).
    pub shards: u32,
    /// Its primary pool's index in (tier, pool) order.
    pub primary_pool: usize,
    /// The scenario as that design (today's for 1).
    #[serde(skip)]
    pub scenario: Scenario,
    /// Offered utilization of its busiest primary.
    pub primary_utilization: f64,
    /// The arrival rate of user requests at which the primaries saturate.
    pub primary_saturation_rps: f64,
    /// The rate at which the stack saturates.
    pub stack_saturation_rps: f64,
    /// What saturates first (utilization law).
    pub bottleneck: Option<String>,
    /// Mean end-to-end response (ms, analytic).
    pub end_to_end_ms: f64,
}

/// `s` with database tier `tier`'s writes over `n` shards, as `shards = n`
/// in the file would have it (each shard its own primary and replicas,
/// keys uniform).
pub fn with_shards(s: &Scenario, tier: usize, n: u32) -> Scenario {
    let mut out = s.clone();
    let t = &mut out.tiers[tier];
    let per = t.shards.max(1);
    for p in &mut t.pools {
        p.instances = p.instances / per * n;
    }
    t.shards = n;
    t.shard_keys = if n > 1 {
        vec![ShardKey::Uniform; s.classes.len()]
    } else {
        Vec::new()
    };
    out
}

/// For every unsharded database that takes writes: today's design, then 2
/// and 4 shards; empty for closed workloads (no analytic model).
pub fn write_options(s: &Scenario) -> Vec<WriteOption> {
    let mut out = Vec::new();
    for (ti, t) in s.tiers.iter().enumerate() {
        let takes_writes = s.classes.iter().any(|c| {
            c.access == crate::scenario::Access::Write && c.route.iter().any(|st| st.tier == ti)
        });
        if t.kind != Kind::Database || t.shards > 1 || !takes_writes {
            continue;
        }
        for n in std::iter::once(1).chain(SHARD_OPTIONS) {
            let scenario = if n == 1 {
                s.clone()
            } else {
                with_shards(s, ti, n)
            };
            let Some(m) = analytic_model(&scenario) else {
                return Vec::new();
            };
            let Some((primary_pool, primary)) = primary_of(&scenario, &m, ti) else {
                continue;
            };
            out.push(WriteOption {
                database: t.name.clone(),
                design: if n == 1 {
                    "1 primary (as is)".into()
                } else {
                    format!("{n} shards")
                },
                shards: n,
                primary_pool,
                primary_utilization: primary.utilization,
                primary_saturation_rps: primary.saturation_rps,
                stack_saturation_rps: m.max_throughput_rps,
                bottleneck: m.bottleneck.clone(),
                end_to_end_ms: m.end_to_end_ms,
                scenario,
            });
        }
    }
    out
}

/// The primary pool of database tier `tier`: its index and analytic figures.
fn primary_of<'a>(
    s: &Scenario,
    m: &'a AnalyticModel,
    tier: usize,
) -> Option<(usize, &'a super::queueing::PoolModel)> {
    let loads = super::offered_load(s);
    m.pools
        .iter()
        .find(|(p, _)| {
            let l = &loads[*p];
            l.tier == tier && s.tiers[tier].pools[l.pool].role == Role::Primary
        })
        .map(|(p, pm)| (*p, pm))
}
