//! Replications reduced to estimates with 95% intervals (replication /
//! deletion: one value per replication, then a Student-t interval).

use serde::Serialize;

use super::ci::Estimate;
use super::hist::LatencyHistogram;
use super::obs::{ClassObs, Conservation, N_CAUSES, PhaseObs, RepObs, TimelineEvent, WriteOutage};
use super::paired::per_rep::{self, ratio};
use crate::units::NS_PER_SEC;

/// Estimates for one pool.
#[derive(Clone, Debug, Serialize)]
pub struct PoolSummary {
    /// Visits arriving per second.
    pub arrival_rps: Estimate,
    /// Services completed per second.
    pub throughput_rps: Estimate,
    /// Busy workers / workers, time-averaged (0..1); held workers count as busy.
    pub utilization: Estimate,
    /// Workers serving (not held waiting on later tiers) / workers (0..1).
    pub service_utilization: Estimate,
    /// Time-average number waiting.
    pub queue_mean: Estimate,
    /// Mean wait before service (ms).
    pub wait_mean_ms: Estimate,
    /// Median time at the pool, wait + service (ms).
    pub latency_p50_ms: Estimate,
    /// 99th percentile of the same (ms).
    pub latency_p99_ms: Estimate,
    /// Visits dropped per second.
    pub drops_rps: Estimate,
    /// Dropped / arrived.
    pub drop_fraction: Estimate,
    /// Growth of requests present over the window (per s): near 0 when stable.
    pub backlog_growth_rps: Estimate,
    /// Share of busy worker time spent on requests already abandoned (wasted).
    pub wasted_fraction: Estimate,
    /// Share of instance time spent down.
    pub down_fraction: Estimate,
    /// Instance failures per replication window.
    pub failures: Estimate,
    /// Little's law check: time-average waiting / (arrival rate x mean wait); near 1.
    pub little_ratio: Estimate,
    /// CPU time per service (ms): what `pidstat` or cgroup `cpu.stat` shows
    /// per request, TLS and firewall rules included.
    pub cpu_ms: Estimate,
    /// Off-core time per service (ms): the worker busy, no core held.
    pub off_core_ms: Estimate,
    /// With a `wakeup` cost: the share of services that woke their thread
    /// or worker from idle and paid it (1 at low load, falling as requests
    /// find it running); absent without the cost.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wakeup_share: Option<Estimate>,
    /// With random pauses: the share of instance-time paused; absent
    /// without them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paused_share: Option<Estimate>,
    /// With random pauses: pauses begun per instance-hour.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pauses_per_hour: Option<Estimate>,
}

/// Estimates for one host group.
#[derive(Clone, Debug, Serialize)]
pub struct HostSummary {
    /// Busy cores / cores (0..1).
    pub utilization: Estimate,
    /// Monitoring agents' share of the cores (0..1).
    pub monitoring: Estimate,
    /// Per machine: busy cores / cores (0..1).
    pub machines: Vec<Estimate>,
    /// Mean wait of a service for a core of the group (ms).
    pub core_wait_ms: Estimate,
    /// With a `switch_cost`: the share of the cores spent on involuntary
    /// switches (preempted bursts' cold caches); absent without.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub switch_share: Option<Estimate>,
    /// With random pauses: the share of machine-time paused; absent
    /// without them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paused_share: Option<Estimate>,
}

/// Estimates for one instance.
#[derive(Clone, Debug, Serialize)]
pub struct InstanceSummary {
    /// Pool index.
    pub pool: usize,
    /// Index within the pool.
    pub index: usize,
    /// Visits arriving per second.
    pub arrival_rps: Estimate,
    /// Busy workers / workers.
    pub utilization: Estimate,
}

/// End-to-end estimates for one class (or all).
#[derive(Clone, Debug, Serialize)]
pub struct ClassSummary {
    /// Offered user requests per second.
    pub offered_rps: Estimate,
    /// User requests completed per second in the window.
    pub throughput_rps: Estimate,
    /// Completed / offered (user requests arriving in the window), the
    /// drain after it included.
    pub availability: Estimate,
    /// Completed before the window closed / offered: what was served by
    /// the end of the observation. Below `availability` by the requests
    /// still open then; the honest figure when the backlog grows (a drain
    /// would serve it eventually, which no user waits for).
    pub availability_at_window_end: Estimate,
    /// Open (neither completed nor failed) when the window closed /
    /// offered.
    pub unfinished_at_window_end: Estimate,
    /// Failed / offered.
    pub error_rate: Estimate,
    /// Failed / offered, per cause (index order of `Cause::ALL`).
    pub error_rate_by_cause: Vec<Estimate>,
    /// Attempts per user request (retry amplification).
    pub attempts_per_request: Estimate,
    /// Mean end-to-end latency (ms).
    pub latency_mean_ms: Estimate,
    /// Percentiles of end-to-end latency (ms).
    pub latency_p50_ms: Estimate,
    /// 90th percentile (ms).
    pub latency_p90_ms: Estimate,
    /// 95th percentile (ms).
    pub latency_p95_ms: Estimate,
    /// 99th percentile (ms).
    pub latency_p99_ms: Estimate,
    /// 99.9th percentile (ms).
    pub latency_p999_ms: Estimate,
    /// The latency users saw, failures included (a failed request counts
    /// at the time its user got the error): median (ms).
    pub seen_p50_ms: Estimate,
    /// Of the same, the 99th percentile (ms).
    pub seen_p99_ms: Estimate,
    /// Of the same, the mean (ms).
    pub seen_mean_ms: Estimate,
    /// Totals over all replications.
    pub arrived: u64,
    /// Completed (of those that arrived in the window).
    pub completed: u64,
    /// Failed.
    pub failed: u64,
    /// Failed, per cause.
    pub failed_by_cause: Vec<u64>,
    /// Still in flight when the run stopped.
    pub in_flight: u64,
    /// Open when the window closed (totals over all replications).
    pub open_at_end: u64,
    /// Completed before the window closed (totals).
    pub completed_by_end: u64,
}

impl ClassSummary {
    /// Requests that arrived in the window and neither completed nor failed
    /// by the time the run stopped.
    pub fn unfinished(&self) -> u64 {
        self.arrived.saturating_sub(self.completed + self.failed)
    }
}

/// One time-series interval across replications.
#[derive(Clone, Debug, Serialize)]
pub struct SeriesPoint {
    /// Interval start (s).
    pub start_s: f64,
    /// Offered user requests/s.
    pub offered_rps: Estimate,
    /// Completed user requests/s.
    pub completed_rps: Estimate,
    /// User requests failed for good per second, all causes.
    pub failed_rps: Estimate,
    /// Failed attempts/s, all causes (each retry counts): more than the
    /// requests when clients retry.
    pub failed_attempts_rps: Estimate,
    /// User requests failed per second per cause of their last attempt
    /// (index order of `Cause::ALL`).
    pub errors_rps: Vec<Estimate>,
    /// Median latency of completions in the interval (ms).
    pub latency_p50_ms: Estimate,
    /// p95 latency of completions in the interval (ms).
    pub latency_p95_ms: Estimate,
    /// p99 latency of completions in the interval (ms).
    pub latency_p99_ms: Estimate,
    /// Per class: p50, p95, p99 in the interval (ms).
    pub class_latency_ms: Vec<[Estimate; 3]>,
    /// Per pool utilization.
    pub utilization: Vec<Estimate>,
    /// Per pool mean queue length.
    pub queue: Vec<Estimate>,
}

/// The requests that arrived in one phase around a scripted fault.
#[derive(Clone, Debug, Serialize)]
pub struct PhaseSummary {
    /// The phase inside the window (s from the start of the run); empty
    /// when the fault starts at the window's start or outlasts it.
    pub start_s: f64,
    /// Its end.
    pub end_s: f64,
    /// User requests arriving per second in it.
    pub offered_rps: Estimate,
    /// Of those, completed.
    pub availability: Estimate,
    /// Of those, failed.
    pub error_rate: Estimate,
    /// The latency users saw (completions, and failures at their error):
    /// median (ms).
    pub seen_p50_ms: Estimate,
    /// Of the same, the 99th percentile (ms).
    pub seen_p99_ms: Estimate,
}

impl PhaseSummary {
    /// Whether the phase has any length inside the window.
    pub fn is_empty(&self) -> bool {
        self.end_s <= self.start_s
    }
}

/// Every estimate of a run.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    /// Replications reduced.
    pub replications: usize,
    /// Per pool.
    pub pools: Vec<PoolSummary>,
    /// Per instance.
    pub instances: Vec<InstanceSummary>,
    /// Per host group.
    pub hosts: Vec<HostSummary>,
    /// Per class.
    pub classes: Vec<ClassSummary>,
    /// All classes.
    pub overall: ClassSummary,
    /// Whole-run accounting summed over replications.
    pub conservation: ConservationTotals,
    /// Time series.
    pub series: Vec<SeriesPoint>,
    /// Events processed in all replications.
    pub events: u64,
    /// Time without a write primary inside the window, per replication (s).
    pub write_outage_s: Estimate,
    /// Write outages, per replication.
    pub write_outages: Vec<Vec<WriteOutage>>,
    /// Fault timelines, per replication.
    pub timelines: Vec<Vec<TimelineEvent>>,
    /// Pooled end-to-end latency distribution per class, then all classes:
    /// `(latency_ms, fraction at or below)` points, increasing.
    pub latency_cdf: Vec<Vec<(f64, f64)>>,
    /// Replications stopped early for holding too many requests in flight:
    /// `(replication, what it held)`.
    pub stopped_early: Vec<(usize, super::Overflow)>,
    /// Per scripted fault, in the scenario's order: before, during and
    /// after it.
    pub fault_phases: Vec<[PhaseSummary; 3]>,
    /// With random failures: the requests that arrived with every instance
    /// up (index 0), then with at least one down (index 1).
    pub down_split: Option<[StateSummary; 2]>,
    /// With a client connection cap: its waits, refusals and the latency
    /// from send.
    pub client: Option<ClientSummary>,
    /// Per database tier with `replication`, in tier order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub replication: Vec<ReplicationSummary>,
}

/// One database tier's replication over replications.
#[derive(Clone, Debug, Serialize)]
pub struct ReplicationSummary {
    /// The database tier.
    pub database: String,
    /// Commit to applied on a replica, mean (ms).
    pub lag_mean_ms: Estimate,
    /// Its 99th percentile (ms).
    pub lag_p99_ms: Estimate,
    /// Reads served by replicas that were stale, per class (NaN for a
    /// class no replica served).
    pub stale_share: Vec<Estimate>,
    /// Over every class.
    pub stale_share_all: Estimate,
    /// Of the reads that replicas would serve, the share sent to the
    /// primary because their client wrote recently (`read_your_writes`),
    /// over every class.
    pub own_write_share: Estimate,
    /// Writes lost at promotions, per replication.
    pub lost_writes: Estimate,
    /// Promotions per replication.
    pub promotions: Estimate,
    /// Semi-synchronous commits' wait for an acknowledgement, mean (ms;
    /// NaN without `semi_sync`).
    pub ack_mean_ms: Estimate,
    /// Writes committed and not applied as the window closed, summed over
    /// replicas, per replication: a backlog of many seconds' writes means
    /// the appliers cannot keep up.
    pub backlog_at_end: Estimate,
}

/// The client side of a connection cap, over replications.
#[derive(Clone, Debug, Serialize)]
pub struct ClientSummary {
    /// Arrivals per second at the client (refused included).
    pub arrival_rps: Estimate,
    /// Share of arrivals refused.
    pub refused_share: Estimate,
    /// Share of the requests sent that waited for a connection.
    pub waited_share: Estimate,
    /// Wait for a connection of the requests sent: mean (ms).
    pub wait_mean_ms: Estimate,
    /// Wait for a connection of the requests sent: p99 (ms).
    pub wait_p99_ms: Estimate,
    /// Latency of the completed requests from their send (what the stack's
    /// own logs measure): mean (ms).
    pub sent_latency_mean_ms: Estimate,
    /// The same: p50, p90, p99 (ms).
    pub sent_latency_ms: [Estimate; 3],
    /// Share of arrivals still waiting for a connection when the run
    /// stopped.
    pub waiting_at_end_share: Estimate,
    /// Growth of the client's queue over the window (requests/s).
    pub backlog_growth_rps: Estimate,
}

/// The requests that arrived while the stack was in one state (every
/// instance up, or some down), with the share of time it spent so.
#[derive(Clone, Debug, Serialize)]
pub struct StateSummary {
    /// Share of the window spent in the state.
    pub time_share: Estimate,
    /// The requests that arrived in it (`start_s`/`end_s` are the
    /// window's: the state comes and goes).
    pub requests: PhaseSummary,
}

/// Conservation counts summed over replications.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct ConservationTotals {
    /// Requests created.
    pub arrived: u64,
    /// Completed.
    pub completed: u64,
    /// Failed.
    pub failed: u64,
    /// In flight at the end.
    pub in_flight: u64,
    /// Attempts, retries included.
    pub attempts: u64,
}

impl ConservationTotals {
    fn add(&mut self, c: &Conservation) {
        self.arrived += c.arrived;
        self.completed += c.completed;
        self.failed += c.failed;
        self.attempts += c.attempts;
        self.in_flight += c.in_flight;
    }
}

fn est(reps: &[RepObs], f: impl Fn(&RepObs) -> f64) -> Estimate {
    Estimate::from_values(reps.iter().map(f))
}

/// Reduces replications (in index order) to estimates.
pub fn summarize(reps: &[RepObs]) -> Summary {
    let Some(first) = reps.first() else {
        return Summary {
            replications: 0,
            pools: Vec::new(),
            instances: Vec::new(),
            hosts: Vec::new(),
            classes: Vec::new(),
            overall: class_summary(reps, |r| &r.overall),
            conservation: ConservationTotals::default(),
            series: Vec::new(),
            events: 0,
            write_outage_s: Estimate::from_values([]),
            write_outages: Vec::new(),
            timelines: Vec::new(),
            latency_cdf: Vec::new(),
            stopped_early: Vec::new(),
            fault_phases: Vec::new(),
            down_split: None,
            client: None,
            replication: Vec::new(),
        };
    };
    let secs = |r: &RepObs| r.window_ns as f64 / NS_PER_SEC as f64;
    let pools = (0..first.pools.len())
        .map(|p| PoolSummary {
            arrival_rps: est(reps, |r| r.pools[p].arrivals as f64 / secs(r)),
            throughput_rps: est(reps, |r| r.pools[p].completions as f64 / secs(r)),
            utilization: est(reps, |r| per_rep::pool_utilization(r, p)),
            service_utilization: est(reps, |r| {
                let p = &r.pools[p];
                ratio(p.busy_ns - p.held_ns, p.workers as f64 * r.window_ns as f64)
            }),
            queue_mean: est(reps, |r| r.pools[p].queue_ns / r.window_ns as f64),
            wait_mean_ms: est(reps, |r| per_rep::pool_wait_ms(r, p)),
            cpu_ms: est(reps, |r| {
                ratio(r.pools[p].cpu_ns, r.pools[p].cpu_services as f64) / 1e6
            }),
            off_core_ms: est(reps, |r| {
                ratio(r.pools[p].off_core_ns, r.pools[p].cpu_services as f64) / 1e6
            }),
            latency_p50_ms: est(reps, |r| r.pools[p].sojourn.quantile_ns(0.5) / 1e6),
            latency_p99_ms: est(reps, |r| per_rep::pool_p99_ms(r, p)),
            drops_rps: est(reps, |r| per_rep::pool_drops_rps(r, p)),
            drop_fraction: est(reps, |r| {
                ratio(r.pools[p].drops as f64, r.pools[p].arrivals as f64)
            }),
            backlog_growth_rps: est(reps, |r| r.pools[p].backlog_slope_per_s),
            wakeup_share: first.pools[p].wakeups.map(|_| {
                est(reps, |r| {
                    ratio(
                        r.pools[p].wakeups.unwrap_or(0) as f64,
                        r.pools[p].waits as f64,
                    )
                })
            }),
            paused_share: first.pools[p].pauses.map(|_| {
                est(reps, |r| {
                    ratio(
                        r.pools[p].pauses.map_or(0.0, |x| x.1),
                        f64::from(r.pools[p].instances) * r.window_ns as f64,
                    )
                })
            }),
            pauses_per_hour: first.pools[p].pauses.map(|_| {
                est(reps, |r| {
                    ratio(
                        r.pools[p].pauses.map_or(0.0, |x| x.0 as f64) * 3600.0,
                        f64::from(r.pools[p].instances) * secs(r),
                    )
                })
            }),
            wasted_fraction: est(reps, |r| ratio(r.pools[p].wasted_ns, r.pools[p].busy_ns)),
            down_fraction: est(reps, |r| {
                ratio(
                    r.pools[p].down_ns,
                    f64::from(r.pools[p].instances) * r.window_ns as f64,
                )
            }),
            failures: est(reps, |r| r.pools[p].failures as f64),
            little_ratio: est(reps, |r| {
                let p = &r.pools[p];
                let lq = p.queue_ns / r.window_ns as f64;
                let lambda = (p.arrivals - p.drops) as f64 / r.window_ns as f64;
                let wq = ratio(p.wait_sum_ns, p.waits as f64);
                ratio(lq, lambda * wq)
            }),
        })
        .collect();
    let instances = first
        .instances
        .iter()
        .enumerate()
        .map(|(i, inst)| InstanceSummary {
            pool: inst.pool,
            index: first.instances[..i]
                .iter()
                .filter(|x| x.pool == inst.pool)
                .count(),
            arrival_rps: est(reps, |r| r.instances[i].arrivals as f64 / secs(r)),
            utilization: est(reps, |r| {
                ratio(
                    r.instances[i].busy_ns,
                    r.instances[i].workers as f64 * r.window_ns as f64,
                )
            }),
        })
        .collect();
    let classes = (0..first.classes.len())
        .map(|c| class_summary(reps, |r| &r.classes[c]))
        .collect();
    let overall = class_summary(reps, |r| &r.overall);
    let mut conservation = ConservationTotals::default();
    for r in reps {
        conservation.add(&r.conservation);
    }
    let n_series = reps.iter().map(|r| r.series.len()).min().unwrap_or(0);
    let series = (0..n_series)
        .map(|i| {
            let s0 = &first.series[i];
            let width = s0.width_ns.max(1) as f64 / NS_PER_SEC as f64;
            SeriesPoint {
                start_s: s0.start_ns as f64 / NS_PER_SEC as f64,
                offered_rps: est(reps, |r| r.series[i].offered as f64 / width),
                completed_rps: est(reps, |r| r.series[i].completed as f64 / width),
                failed_rps: est(reps, |r| {
                    r.series[i].failed.iter().sum::<u64>() as f64 / width
                }),
                failed_attempts_rps: est(reps, |r| {
                    r.series[i].errors.iter().sum::<u64>() as f64 / width
                }),
                errors_rps: (0..N_CAUSES)
                    .map(|k| est(reps, |r| r.series[i].failed[k] as f64 / width))
                    .collect(),
                latency_p50_ms: est(reps, |r| r.series[i].p50_ns / 1e6),
                latency_p95_ms: est(reps, |r| r.series[i].p95_ns / 1e6),
                latency_p99_ms: est(reps, |r| r.series[i].p99_ns / 1e6),
                class_latency_ms: (0..s0.class_latency.len())
                    .map(|c| {
                        [0, 1, 2].map(|k| est(reps, |r| r.series[i].class_latency[c][k] / 1e6))
                    })
                    .collect(),
                utilization: (0..s0.utilization.len())
                    .map(|p| est(reps, |r| r.series[i].utilization[p]))
                    .collect(),
                queue: (0..s0.queue.len())
                    .map(|p| est(reps, |r| r.series[i].queue[p]))
                    .collect(),
            }
        })
        .collect();
    let hosts = (0..first.hosts.len())
        .map(|h| HostSummary {
            utilization: est(reps, |r| per_rep::host_utilization(r, h)),
            monitoring: est(reps, |r| {
                ratio(
                    r.hosts[h].agent_ns,
                    f64::from(r.hosts[h].cores) * r.window_ns as f64,
                )
            }),
            machines: (0..first.hosts[h].machine_busy_ns.len())
                .map(|m| {
                    est(reps, |r| {
                        let per =
                            f64::from(r.hosts[h].cores) / r.hosts[h].machine_busy_ns.len() as f64;
                        ratio(r.hosts[h].machine_busy_ns[m], per * r.window_ns as f64)
                    })
                })
                .collect(),
            core_wait_ms: est(reps, |r| per_rep::host_core_wait_ms(r, h)),
            paused_share: first.hosts.get(h).and_then(|x| x.pauses).map(|_| {
                est(reps, |r| {
                    let x = &r.hosts[h];
                    ratio(
                        x.pauses.map_or(0.0, |p| p.1),
                        x.machine_busy_ns.len() as f64 * r.window_ns as f64,
                    )
                })
            }),
            switch_share: first.hosts.get(h).and_then(|x| x.switches).map(|_| {
                est(reps, |r| {
                    let x = &r.hosts[h];
                    ratio(
                        x.switches.map_or(0.0, |s| s.1),
                        f64::from(x.cores) * r.window_ns as f64,
                    )
                })
            }),
        })
        .collect();
    Summary {
        replications: reps.len(),
        pools,
        instances,
        hosts,
        classes,
        overall,
        conservation,
        series,
        events: reps.iter().map(|r| r.events).sum(),
        write_outage_s: est(reps, |r| {
            let (w0, w1) = (
                r.window_start_ns as f64 / 1e9,
                (r.window_start_ns + r.window_ns) as f64 / 1e9,
            );
            r.write_outages
                .iter()
                .map(|o| (o.end_s.unwrap_or(w1).min(w1) - o.start_s.max(w0)).max(0.0))
                .sum()
        }),
        write_outages: reps.iter().map(|r| r.write_outages.clone()).collect(),
        timelines: reps.iter().map(|r| r.timeline.clone()).collect(),
        latency_cdf: (0..first.classes.len())
            .map(|c| pooled_cdf(reps.iter().map(|r| &r.classes[c].latency)))
            .chain(std::iter::once(pooled_cdf(
                reps.iter().map(|r| &r.overall.latency),
            )))
            .collect(),
        stopped_early: reps
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.overflow.map(|o| (i, o)))
            .collect(),
        fault_phases: (0..first.phases.len())
            .map(|f| {
                [0, 1, 2].map(|k| {
                    let p0 = &first.phases[f][k];
                    let len_s = (p0.end_ns - p0.start_ns) as f64 / NS_PER_SEC as f64;
                    phase_summary(
                        reps,
                        |r| &r.phases[f][k],
                        |_| len_s,
                        (p0.start_ns, p0.end_ns),
                    )
                })
            })
            .collect(),
        down_split: first.down_split.as_ref().map(|_| {
            fn split(r: &RepObs) -> &super::obs::DownSplit {
                r.down_split.as_ref().expect("every replication splits")
            }
            [0, 1].map(|k| StateSummary {
                time_share: est(reps, |r| {
                    let t = split(r).time_ns;
                    ratio(t[k] as f64, (t[0] + t[1]) as f64)
                }),
                requests: phase_summary(
                    reps,
                    |r| &split(r).arrived_in[k],
                    |r| split(r).time_ns[k] as f64 / NS_PER_SEC as f64,
                    (
                        first.window_start_ns,
                        first.window_start_ns + first.window_ns,
                    ),
                ),
            })
        }),
        client: first.client.as_ref().map(|_| client_summary(reps)),
        replication: (0..first.replication.len())
            .map(|i| replication_summary(reps, i))
            .collect(),
    }
}

/// Database tier `i`'s replication over replications.
fn replication_summary(reps: &[RepObs], i: usize) -> ReplicationSummary {
    fn get(r: &RepObs, i: usize) -> &super::ReplicationObs {
        &r.replication[i]
    }
    let ms = |h: &LatencyHistogram, q: Option<f64>| match (h.count(), q) {
        (0, _) => f64::NAN,
        (_, Some(q)) => h.quantile_ns(q) / 1e6,
        (_, None) => h.mean_ns() / 1e6,
    };
    let classes = reps.first().map_or(0, |r| get(r, i).reads.len());
    ReplicationSummary {
        database: reps
            .first()
            .map_or(String::new(), |r| get(r, i).database.clone()),
        lag_mean_ms: est(reps, |r| ms(&get(r, i).lag, None)),
        lag_p99_ms: est(reps, |r| ms(&get(r, i).lag, Some(0.99))),
        stale_share: (0..classes)
            .map(|c| {
                est(reps, |r| {
                    ratio(get(r, i).stale[c] as f64, get(r, i).reads[c] as f64)
                })
            })
            .collect(),
        stale_share_all: est(reps, |r| {
            ratio(
                get(r, i).stale.iter().sum::<u64>() as f64,
                get(r, i).reads.iter().sum::<u64>() as f64,
            )
        }),
        own_write_share: est(reps, |r| {
            let own = get(r, i).own_writes.iter().sum::<u64>() as f64;
            ratio(own, own + get(r, i).reads.iter().sum::<u64>() as f64)
        }),
        lost_writes: est(reps, |r| get(r, i).lost_writes as f64),
        promotions: est(reps, |r| get(r, i).promotions as f64),
        ack_mean_ms: est(reps, |r| ms(&get(r, i).acks, None)),
        backlog_at_end: est(reps, |r| get(r, i).backlog_at_end as f64),
    }
}

/// The client side over replications (every replication has one when the
/// first has).
fn client_summary(reps: &[RepObs]) -> ClientSummary {
    fn c(r: &RepObs) -> &super::ClientObs {
        r.client.as_ref().expect("every replication has a client")
    }
    let ms = |h: &LatencyHistogram, q: f64| {
        if h.count() == 0 {
            f64::NAN
        } else {
            h.quantile_ns(q) / 1e6
        }
    };
    let mean_ms = |h: &LatencyHistogram| {
        if h.count() == 0 {
            f64::NAN
        } else {
            h.mean_ns() / 1e6
        }
    };
    let sent = |k: &super::ClientObs| (k.arrived - k.refused - k.waiting_at_end) as f64;
    ClientSummary {
        arrival_rps: est(reps, |r| {
            c(r).arrived as f64 / (r.window_ns as f64 / NS_PER_SEC as f64)
        }),
        refused_share: est(reps, |r| ratio(c(r).refused as f64, c(r).arrived as f64)),
        waited_share: est(reps, |r| ratio(c(r).waited as f64, sent(c(r)))),
        wait_mean_ms: est(reps, |r| mean_ms(&c(r).wait)),
        wait_p99_ms: est(reps, |r| ms(&c(r).wait, 0.99)),
        sent_latency_mean_ms: est(reps, |r| mean_ms(&c(r).sent_latency)),
        sent_latency_ms: [0.5, 0.9, 0.99].map(|q| est(reps, |r| ms(&c(r).sent_latency, q))),
        waiting_at_end_share: est(reps, |r| {
            ratio(c(r).waiting_at_end as f64, c(r).arrived as f64)
        }),
        backlog_growth_rps: est(reps, |r| c(r).backlog_slope_per_s),
    }
}

/// The estimates of one phase's requests over replications: `get` picks
/// the phase of a replication, `len_s` its length there (s), `span` where
/// it lies (ns from the start of the run).
fn phase_summary(
    reps: &[RepObs],
    get: impl Fn(&RepObs) -> &PhaseObs,
    len_s: impl Fn(&RepObs) -> f64,
    span: (u64, u64),
) -> PhaseSummary {
    let seen = |r: &RepObs, q: f64| {
        let p = get(r);
        if p.completed + p.failed == 0 {
            f64::NAN
        } else {
            p.seen.quantile_ns(q) / 1e6
        }
    };
    PhaseSummary {
        start_s: span.0 as f64 / NS_PER_SEC as f64,
        end_s: span.1 as f64 / NS_PER_SEC as f64,
        offered_rps: est(reps, |r| ratio(get(r).arrived as f64, len_s(r))),
        availability: est(reps, |r| {
            ratio(get(r).completed as f64, get(r).arrived as f64)
        }),
        error_rate: est(reps, |r| ratio(get(r).failed as f64, get(r).arrived as f64)),
        seen_p50_ms: est(reps, |r| seen(r, 0.5)),
        seen_p99_ms: est(reps, |r| seen(r, 0.99)),
    }
}

/// Quantiles at which the pooled CDF is sampled: dense in the body, then
/// the tail out to 99.99%.
fn cdf_levels() -> impl Iterator<Item = f64> {
    (1..200)
        .map(|i| f64::from(i) / 200.0)
        .chain([0.996, 0.998, 0.999, 0.9995, 0.9999])
}

/// The distribution of all replications' latencies together, as CDF points.
fn pooled_cdf<'a>(hists: impl Iterator<Item = &'a LatencyHistogram>) -> Vec<(f64, f64)> {
    let mut all = LatencyHistogram::new(3);
    for h in hists {
        all.merge(h);
    }
    if all.count() == 0 {
        return Vec::new();
    }
    cdf_levels()
        .map(|q| (all.quantile_ns(q) / 1e6, q))
        .collect()
}

/// Completed and failed requests' latencies together: what users saw.
fn seen(c: &ClassObs) -> LatencyHistogram {
    let mut h = c.latency.clone();
    h.merge(&c.failed_latency);
    h
}

fn class_summary(
    reps: &[RepObs],
    get: impl for<'r> Fn(&'r RepObs) -> &'r ClassObs,
) -> ClassSummary {
    let secs = |r: &RepObs| r.window_ns as f64 / NS_PER_SEC as f64;
    let q = |p: f64| est(reps, |r| get(r).latency.quantile_ns(p) / 1e6);
    // Each replication's completed and failed latencies, merged once.
    let seen: Vec<LatencyHistogram> = reps.iter().map(|r| seen(get(r))).collect();
    ClassSummary {
        offered_rps: est(reps, |r| get(r).arrived as f64 / secs(r)),
        throughput_rps: est(reps, |r| per_rep::throughput_rps(r, get(r))),
        availability: est(reps, |r| per_rep::availability(get(r))),
        availability_at_window_end: est(reps, |r| per_rep::availability_at_window_end(get(r))),
        unfinished_at_window_end: est(reps, |r| {
            ratio(get(r).open_at_end as f64, get(r).arrived as f64)
        }),
        error_rate: est(reps, |r| per_rep::error_rate(get(r), None)),
        error_rate_by_cause: (0..N_CAUSES)
            .map(|k| est(reps, |r| per_rep::error_rate(get(r), Some(k))))
            .collect(),
        attempts_per_request: est(reps, |r| {
            ratio(get(r).attempts as f64, get(r).arrived as f64)
        }),
        latency_mean_ms: est(reps, |r| get(r).latency.mean_ns() / 1e6),
        latency_p50_ms: q(0.5),
        latency_p90_ms: q(0.9),
        latency_p95_ms: q(0.95),
        latency_p99_ms: q(0.99),
        latency_p999_ms: q(0.999),
        seen_p50_ms: Estimate::from_values(seen.iter().map(|h| h.quantile_ns(0.5) / 1e6)),
        seen_p99_ms: Estimate::from_values(seen.iter().map(|h| h.quantile_ns(0.99) / 1e6)),
        seen_mean_ms: Estimate::from_values(seen.iter().map(|h| h.mean_ns() / 1e6)),
        arrived: reps.iter().map(|r| get(r).arrived).sum(),
        completed: reps.iter().map(|r| get(r).completed).sum(),
        failed: reps.iter().map(|r| get(r).failed_total()).sum(),
        failed_by_cause: (0..N_CAUSES)
            .map(|k| reps.iter().map(|r| get(r).failed[k]).sum())
            .collect(),
        in_flight: reps.iter().map(|r| get(r).in_flight).sum(),
        open_at_end: reps.iter().map(|r| get(r).open_at_end).sum(),
        completed_by_end: reps.iter().map(|r| get(r).completed_by_end).sum(),
    }
}
