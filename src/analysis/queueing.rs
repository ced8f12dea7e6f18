//! An analytic capacity model of a scenario: each pool's instances as M/M/c
//! queues at their traffic-equation rates (Erlang C), the utilization law's
//! throughput bound, and an end-to-end mean.
//!
//! Assumptions, stated so a reader knows when to distrust it: Poisson
//! arrivals at every station (exact for a Jackson network: random balancing,
//! exponential service, unbounded queues); general service corrected with
//! the Allen-Cunneen factor (1 + cs²)/2; even spread over instances; no
//! blocking; a holding tier's worker time is its service plus the downstream
//! service without queueing (a lower bound). Closed workloads are not modelled.

use serde::Serialize;

use super::{PoolLoad, Resource, extra_cpu_ns, machine_loads, offered_load};
use crate::scenario::Scenario;

/// The analytic figures of one pool.
#[derive(Clone, Debug, Serialize)]
pub struct PoolModel {
    /// `web`, `db primary`.
    pub label: String,
    /// Offered utilization (traffic equations).
    pub utilization: f64,
    /// Probability an arrival waits (Erlang C), NaN if unstable.
    pub wait_probability: f64,
    /// Mean wait (ms), infinite if unstable.
    pub wait_ms: f64,
    /// Mean time at the pool, wait + service (ms).
    pub response_ms: f64,
    /// Arrival rate of user requests at which this pool's own service
    /// saturates it (requests/s): the utilization law's bound.
    pub saturation_rps: f64,
    /// With a wake-up cost: its demand at this load against low load.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub demand: Option<Demand>,
}

/// The CPU a visit costs at this load against at low load, for a pool with
/// a wake-up cost (`wakeup`): the regime it is in.
#[derive(Clone, Debug, Serialize)]
pub struct Demand {
    /// The wake-up CPU (ms).
    pub wakeup_ms: f64,
    /// The share of visits that wake their thread or worker (Erlang C).
    pub wake_share: f64,
    /// CPU per visit at this load (ms).
    pub cpu_ms_per_visit: f64,
    /// CPU per visit at low load, every visit waking it (ms).
    pub low_load_cpu_ms_per_visit: f64,
}

impl Demand {
    /// The regime in words.
    pub fn regime(&self) -> String {
        if self.wake_share >= 0.9 {
            "low load: nearly every visit wakes it".into()
        } else {
            format!(
                "amortized: {:.0}% of visits find it running, {:.0}% of the low-load CPU a visit",
                (1.0 - self.wake_share) * 100.0,
                100.0 * self.cpu_ms_per_visit / self.low_load_cpu_ms_per_visit
            )
        }
    }
}

/// The analytic figures of one machine.
#[derive(Clone, Debug, Serialize)]
pub struct MachineModel {
    /// Host group index.
    pub group: usize,
    /// Machine within the group.
    pub machine: u32,
    /// `host server#0`.
    pub label: String,
    /// Offered CPU utilization, monitoring included.
    pub utilization: f64,
    /// Arrival rate of user requests at which its cores saturate.
    pub saturation_rps: f64,
    /// Mean wait for a core per service started on it (ms): its cores as an
    /// M/M/c, infinite when saturated. Under processor sharing it is the
    /// mean stretch of a burst beyond its length, which for exponential
    /// bursts has the same mean (the number in service follows the same
    /// birth-death chain).
    pub core_wait_ms: f64,
    /// How the machine's cores are shared (the simulation's; the analytic
    /// mean is the same M/M/c for FIFO and processor sharing).
    pub scheduling: crate::scenario::Scheduling,
    /// Under the fair scheduler: per pool on the machine, its label and
    /// its mean wait for a core per burst (ms), shortest bursts first (see
    /// [`priority_core_waits`]); empty otherwise.
    pub tier_waits: Vec<(String, f64)>,
}

/// The wait for a core per burst of each stream of bursts on `c` cores
/// under the fair scheduler, taken as preemptive priority by mean burst
/// (the shortest first: a task that slept little ran little, and wakes
/// ahead of one that has been running). Streams are `(busy cores, bursts
/// per second)`, exponential bursts. One core of speed c gives each its
/// M/M/1 preemptive-resume response, `S/(1 - s_(k-1)) + R_k / ((1 -
/// s_(k-1))(1 - s_k))` with `R_k = sum_(i<=k) l_i S_i^2`; its wait beyond
/// `S` is scaled to c cores by the FIFO M/M/c's wait over the fast M/M/1's
/// (Bondi and Buzen's approximation). Infinite from the first stream that
/// saturates.
pub fn priority_core_waits(c: u32, streams: &[(f64, f64)]) -> Vec<f64> {
    let cf = f64::from(c.max(1));
    let busy: f64 = streams.iter().map(|x| x.0).sum();
    let rate: f64 = streams.iter().map(|x| x.1).sum();
    if busy >= cf || rate <= 0.0 {
        return vec![if busy >= cf { f64::INFINITY } else { 0.0 }; streams.len()];
    }
    let mean = busy / rate;
    let fifo_c = erlang_c(u64::from(c.max(1)), busy) * mean / (cf - busy);
    let rho = busy / cf;
    let fifo_1 = rho * (mean / cf) / (1.0 - rho);
    let scale = if fifo_1 > 0.0 { fifo_c / fifo_1 } else { 0.0 };
    let mut order: Vec<usize> = (0..streams.len()).filter(|&i| streams[i].1 > 0.0).collect();
    order.sort_by(|&a, &b| (streams[a].0 / streams[a].1).total_cmp(&(streams[b].0 / streams[b].1)));
    let mut out = vec![0.0; streams.len()];
    let (mut sigma, mut r) = (0.0, 0.0);
    for &k in &order {
        let (cores, l) = streams[k];
        let s_fast = cores / l / cf;
        let before = sigma;
        sigma += cores / cf;
        r += l * s_fast * s_fast;
        out[k] = if sigma >= 1.0 {
            f64::INFINITY
        } else {
            let t = s_fast / (1.0 - before) + r / ((1.0 - before) * (1.0 - sigma));
            (t - s_fast) * scale
        };
    }
    out
}

/// The analytic model of a scenario.
#[derive(Clone, Debug, Serialize)]
pub struct AnalyticModel {
    /// Per pool with instances, in (tier, pool) order (index into the loads).
    pub pools: Vec<(usize, PoolModel)>,
    /// Per machine of every host group.
    pub machines: Vec<MachineModel>,
    /// The pool or machine that saturates first (utilization law).
    pub bottleneck: Option<String>,
    /// Which resource that is.
    pub bottleneck_resource: Option<Resource>,
    /// The highest user arrival rate the stack can carry (requests/s).
    pub max_throughput_rps: f64,
    /// Mean end-to-end response (ms): visits x per-pool response, summed,
    /// without waiting for shared cores (a lower estimate on hosts).
    pub end_to_end_ms: f64,
    /// The same plus, for every service started on a machine, the wait for
    /// a core with its cores as an M/M/c (exact for one core and
    /// exponential services; above what the simulation measures when a
    /// machine mixes short and long bursts from bounded worker pools).
    pub end_to_end_with_cores_ms: f64,
}

pub use crate::stats::erlang_c;

/// Builds the analytic model (open workloads only: `None` for closed ones).
pub fn analytic_model(s: &Scenario) -> Option<AnalyticModel> {
    let lambda = s
        .arrivals
        .mean_rate(s.simulation.warmup_ns(), s.simulation.window_end_ns())?;
    let loads = offered_load(s);
    let mut pools = Vec::new();
    let mut e2e = 0.0;
    for (i, load) in loads.iter().enumerate().filter(|(_, l)| l.servers > 0) {
        let m = pool_model(s, load, lambda);
        // Visits of each class at this pool, times the response there.
        let tier = &s.tiers[load.tier];
        for (ci, class) in s.classes.iter().enumerate() {
            let pools_for = tier.pools_for(class.access);
            if !pools_for.contains(&load.pool) {
                continue;
            }
            let cands: u32 = pools_for.iter().map(|&p| tier.pools[p].instances).sum();
            let frac = tier.pools[load.pool].instances as f64 / f64::from(cands.max(1));
            let visits: f64 = class
                .route
                .iter()
                .filter(|st| st.tier == load.tier)
                .map(|st| st.calls.mean())
                .sum();
            // The network hop into the tier counts once per visit.
            let network = tier.costs.network.as_ref().map_or(0.0, |d| d.mean());
            let own =
                (tier.pools[load.pool].service[ci].mean() + extra_cpu_ns(tier) + network) / 1e6;
            // Wait is shared by classes; service is the class's own.
            e2e += class.share * visits * frac * (m.wait_ms + own);
        }
        pools.push((i, m));
    }
    let mut core_waits = 0.0;
    // A machine's CPU grows with the rate except its agent's share. Its
    // cores are an M/M/c for the CPU bursts of everything placed on it; each
    // service started there first waits for a core.
    let machines: Vec<MachineModel> = machine_loads(s, &loads, lambda)
        .into_iter()
        .map(|m| {
            // Yielding background neither saturates a machine nor (to this
            // approximation) delays a burst: it takes only idle cores.
            let fixed = m.agents + m.background;
            let per_rps = (m.utilization - m.idle - fixed) / lambda;
            let c = s.hosts[m.group].cores.max(1);
            let busy = (m.utilization - m.idle) * f64::from(c);
            let bursts = m.visits_rps + m.agent_rps + m.background_rps;
            let mut core_wait_ms = if busy >= f64::from(c) {
                f64::INFINITY
            } else if bursts > 0.0 {
                let mean_burst_ms = busy / bursts * 1e3;
                erlang_c(u64::from(c), busy) * mean_burst_ms / (f64::from(c) - busy)
            } else {
                0.0
            };
            let mut tier_waits = Vec::new();
            if matches!(
                s.hosts[m.group].scheduling,
                crate::scenario::Scheduling::Cfs(_)
            ) {
                // Each pool a stream; the agent and the background (and
                // off-path) bursts two more. Yielding background takes no
                // part, as above.
                let agent = (m.agents * f64::from(c), m.agent_rps);
                let background = (m.background * f64::from(c), m.background_rps);
                let all: Vec<(f64, f64)> = m
                    .streams
                    .iter()
                    .map(|x| (x.2, x.3))
                    .chain([agent, background])
                    .collect();
                let waits = priority_core_waits(c, &all);
                let mut by_burst: Vec<_> = m
                    .streams
                    .iter()
                    .zip(&waits)
                    .filter(|(x, _)| x.3 > 0.0)
                    .collect();
                by_burst.sort_by(|a, b| (a.0.2 / a.0.3).total_cmp(&(b.0.2 / b.0.3)));
                tier_waits = by_burst
                    .into_iter()
                    .map(|(x, w)| (s.tiers[x.0].pool_label(x.1), w * 1e3))
                    .collect();
                if m.visits_rps > 0.0 {
                    core_wait_ms = m
                        .streams
                        .iter()
                        .zip(&waits)
                        .map(|(x, w)| x.3 * w * 1e3)
                        .sum::<f64>()
                        / m.visits_rps;
                }
            }
            if m.visits_rps > 0.0 {
                core_waits += m.visits_rps / lambda * core_wait_ms;
            }
            MachineModel {
                core_wait_ms,
                group: m.group,
                machine: m.machine,
                saturation_rps: if per_rps > 0.0 {
                    (1.0 - fixed).max(0.0) / per_rps
                } else {
                    f64::INFINITY
                },
                label: m.label,
                utilization: m.utilization,
                scheduling: s.hosts[m.group].scheduling,
                tier_waits,
            }
        })
        .collect();
    let first_pool = pools
        .iter()
        .min_by(|a, b| a.1.saturation_rps.total_cmp(&b.1.saturation_rps))
        .map(|(p, m)| (Resource::Pool(*p), m.label.clone(), m.saturation_rps));
    let first_machine = machines
        .iter()
        .min_by(|a, b| a.saturation_rps.total_cmp(&b.saturation_rps))
        .map(|m| {
            let r = Resource::Host {
                group: m.group,
                machine: m.machine,
            };
            (r, m.label.clone(), m.saturation_rps)
        });
    let first = match (first_pool, first_machine) {
        (Some(p), Some(m)) => Some(if m.2 < p.2 { m } else { p }),
        (p, m) => p.or(m),
    };
    let max = first.as_ref().map_or(f64::INFINITY, |f| f.2);
    Some(AnalyticModel {
        pools,
        machines,
        bottleneck: first.as_ref().map(|f| f.1.clone()),
        bottleneck_resource: first.map(|f| f.0),
        max_throughput_rps: max,
        end_to_end_ms: e2e,
        end_to_end_with_cores_ms: e2e + core_waits,
    })
}

fn pool_model(s: &Scenario, load: &PoolLoad, lambda: f64) -> PoolModel {
    let tier = &s.tiers[load.tier];
    let pool = &tier.pools[load.pool];
    let c = u64::from(pool.workers);
    // Visits per second at one instance, and the busy servers they need.
    let visits_per_s = load.arrival_rps / f64::from(pool.instances.max(1));
    let rho = load.utilization;
    // A sharded pool: the mean over its shards (each its own M/M/c).
    let shards = &load.shard_utilization;
    let mean_rho = if shards.is_empty() {
        rho
    } else {
        shards.iter().sum::<f64>() / shards.len() as f64
    };
    let a = mean_rho * c as f64;
    // Squared cv of the service time over the classes' mix of visits.
    let (mut w, mut m1, mut m2) = (0.0, 0.0, 0.0);
    for (ci, class) in s.classes.iter().enumerate() {
        if !tier.pools_for(class.access).contains(&load.pool) {
            continue;
        }
        let visits: f64 = class
            .route
            .iter()
            .filter(|st| st.tier == load.tier)
            .map(|st| st.calls.mean())
            .sum();
        let d = &pool.service[ci];
        let mean = d.mean();
        w += class.share * visits;
        m1 += class.share * visits * mean;
        m2 += class.share * visits * mean * mean * (1.0 + d.scv());
    }
    let scv = if m1 > 0.0 {
        (m2 / w) / (m1 / w).powi(2) - 1.0
    } else {
        1.0
    };
    // Mean time a visit keeps a worker (service, plus downstream when holding), ms.
    let hold_ms = if visits_per_s > 0.0 {
        a / visits_per_s * 1e3
    } else {
        0.0
    };
    let (pw, wait_ms) = if rho >= 1.0 {
        (f64::NAN, f64::INFINITY)
    } else if !shards.is_empty() && mean_rho > 0.0 {
        // Each shard's Erlang C wait, weighted by its visits (in
        // proportion to its utilization: the classes' mix is the same).
        let (mut pw, mut wait) = (0.0, 0.0);
        for &r in shards {
            let ak = r * c as f64;
            let p = erlang_c(c, ak);
            pw += r * p;
            wait += r * p * hold_ms / (c as f64 - ak) * (1.0 + scv.max(0.0)) / 2.0;
        }
        let total: f64 = shards.iter().sum();
        (pw / total, wait / total)
    } else if visits_per_s > 0.0 {
        let pw = erlang_c(c, a);
        (
            pw,
            pw * hold_ms / (c as f64 - a) * (1.0 + scv.max(0.0)) / 2.0,
        )
    } else {
        (0.0, 0.0)
    };
    PoolModel {
        label: load.label.clone(),
        utilization: rho,
        wait_probability: pw,
        wait_ms,
        response_ms: wait_ms + hold_ms,
        saturation_rps: saturation_rps(s, load, lambda),
        demand: pool
            .wakeup_ns
            .filter(|_| load.arrival_rps > 0.0 && load.cpu.is_finite())
            .map(|w| {
                let w_ms = w as f64 / 1e6;
                let share = load.wakeup_cores / load.arrival_rps / (w_ms / 1e3);
                let now = load.cpu / load.arrival_rps * 1e3;
                Demand {
                    wakeup_ms: w_ms,
                    wake_share: share,
                    cpu_ms_per_visit: now,
                    low_load_cpu_ms_per_visit: now + w_ms * (1.0 - share),
                }
            }),
    }
}

/// The rate at which a pool saturates: its workers, or, under a `threads`
/// cap, the instance's threads running its CPU parts, whichever first.
fn saturation_rps(s: &Scenario, load: &PoolLoad, lambda: f64) -> f64 {
    let pool = &s.tiers[load.tier].pools[load.pool];
    // At saturation no visit finds its thread or worker idle: the wake-up
    // CPU (`wakeup`) is gone, so it is left out of the extrapolation.
    let servers = (u64::from(pool.instances) * u64::from(pool.workers)).max(1) as f64;
    let own = load.service_utilization - load.wakeup_cores / servers;
    let workers = if own > 0.0 {
        lambda / own
    } else {
        f64::INFINITY
    };
    let cpu = load.cpu - load.wakeup_cores;
    let threads = match pool.threads {
        Some(t) if cpu > 0.0 => {
            let cores = pool.host.map_or(t, |h| t.min(s.hosts[h].cores.max(1)));
            // CPU per second at this rate, against the instances' threads.
            lambda * f64::from(cores) * f64::from(pool.instances) / cpu
        }
        _ => f64::INFINITY,
    };
    workers.min(threads)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erlang_c_known_values() {
        // M/M/1: P(wait) = rho.
        assert!((erlang_c(1, 0.7) - 0.7).abs() < 1e-12);
        // M/M/4 at a = 3: 0.5094 (tables).
        assert!((erlang_c(4, 3.0) - 0.509_4).abs() < 1e-4);
        assert_eq!(erlang_c(2, 2.5), 1.0);
    }

    /// On one core the priority waits are the M/M/1 preemptive-resume
    /// formula's (the two-class case the simulation is tested on in
    /// tests/all/cpu.rs: 0.025 ms of wait for the short bursts, 4.75 ms for
    /// the long); one stream alone waits as in the FIFO M/M/c; a saturated
    /// machine waits forever.
    #[test]
    fn priority_core_waits_are_the_preemptive_priority_formula() {
        let short = (0.2, 2000.0); // exp 0.1 ms bursts, 2,000/s
        let long = (0.5, 250.0); // exp 2 ms, 250/s
        let w = priority_core_waits(1, &[long, short]);
        assert!((w[1] - (0.125e-3 - 0.1e-3)).abs() < 1e-12, "{w:?}");
        let t_long = 2e-3 / 0.8 + (2000.0 * 1e-8 + 250.0 * 4e-6) / (0.8 * 0.3);
        assert!((w[0] - (t_long - 2e-3)).abs() < 1e-12, "{w:?}");
        for c in [1, 2, 4] {
            let busy = 0.7 * f64::from(c);
            let one = priority_core_waits(c, &[(busy, busy * 1000.0)]);
            let fifo = erlang_c(u64::from(c), busy) * 1e-3 / (f64::from(c) - busy);
            assert!((one[0] - fifo).abs() < 1e-12, "{c}: {one:?} vs {fifo}");
        }
        assert!(priority_core_waits(2, &[(1.5, 10.0), (0.6, 10.0)])[0].is_infinite());
    }

    #[test]
    fn bench_web_model_gives_its_analytic_mean() {
        let src = include_str!("../../scenarios/bench-web.toml");
        let s = crate::scenario::parse(src, "bench-web.toml", None).unwrap();
        let m = analytic_model(&s).unwrap();
        assert!(
            (m.end_to_end_ms - 11.84).abs() < 0.01,
            "{}",
            m.end_to_end_ms
        );
        assert_eq!(m.bottleneck.as_deref(), Some("db primary"));
    }
}
