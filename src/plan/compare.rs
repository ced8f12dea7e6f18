//! Two or more designs run with common random numbers (the same seed, so
//! replication k of each sees the same arrival stream when the workloads
//! are the same), each compared with the first: end to end, per tier,
//! database role, host group, class and failure cause, the bottleneck and
//! the analytic saturation rate, and the design review's findings.

use super::{PlanInit, RunResult};
use crate::analysis::Stability;
use crate::report::compare::{Pairing, Presence, RowComparison};
use crate::scenario::{Kind, Scenario, diff_documents};
use crate::stats::paired::DEFAULT_THRESHOLD;
use crate::stats::paired::per_rep;
use crate::stats::{Cause, ClassObs, Difference, RepObs};
use crate::units::whole;

/// The designs, ready to run: the first is the baseline, and every other
/// runs with its `[simulation]` settings so the replications pair.
pub struct CompareInit {
    /// The designs, in the order given, paired on the first's settings.
    pub designs: Vec<PlanInit>,
    /// Each design's scenario as its own file and flags made it, before
    /// pairing (what the scenario diff compares).
    own: Vec<Scenario>,
    /// The share of A's figure a difference must reach to be material.
    threshold: f64,
}

impl CompareInit {
    /// Pairs `designs` (at least two) on the first one's simulation settings.
    pub fn new(designs: Vec<PlanInit>) -> Result<CompareInit, crate::scenario::ScenarioError> {
        let own: Vec<Scenario> = designs.iter().map(|d| d.scenario().clone()).collect();
        let mut it = designs.into_iter();
        let Some(first) = it.next() else {
            return Ok(CompareInit {
                designs: Vec::new(),
                own,
                threshold: DEFAULT_THRESHOLD,
            });
        };
        let mut out = vec![];
        for d in it {
            out.push(d.with_simulation_of(&first)?);
        }
        out.insert(0, first);
        Ok(CompareInit {
            designs: out,
            own,
            threshold: DEFAULT_THRESHOLD,
        })
    }

    /// The share of the baseline's figure (0.01 = 1%) a significant
    /// difference must reach to count as material (default 1%).
    pub fn with_threshold(mut self, threshold: f64) -> CompareInit {
        self.threshold = threshold;
        self
    }

    /// Each variant (index 1 on) against the baseline, from the designs'
    /// runs in the same order.
    pub fn pairings(&self, runs: &[RunResult]) -> Vec<Pairing> {
        (1..runs.len())
            .map(|v| {
                pairing(
                    &runs[0],
                    &runs[v],
                    v,
                    (&self.own[0], &self.own[v]),
                    self.threshold,
                )
            })
            .collect()
    }

    /// The simulation settings every design runs with, in a sentence, and
    /// what was replaced where a design's own `[simulation]` differed.
    pub fn settings_line(&self) -> String {
        let own = &self.own;
        let Some(first) = self.designs.first() else {
            return String::new();
        };
        let s = &first.scenario().simulation;
        let warmup = match s.warmup {
            crate::scenario::Warmup::Auto => "auto".to_string(),
            crate::scenario::Warmup::Fixed(w) => crate::units::format_duration(w),
        };
        let n = s.replications;
        let mut line = format!(
            "Every design ran {n} paired replication{} of {} after a {warmup} warm-up, seed {} (common random numbers: replication k of each sees the same random streams).",
            if n == 1 { "" } else { "s" },
            crate::units::format_duration(s.duration_ns),
            s.seed
        );
        let differs: Vec<String> = own
            .iter()
            .enumerate()
            .skip(1)
            .filter(|(_, o)| o.simulation != own[0].simulation)
            .map(|(i, _)| design_label(i))
            .collect();
        if !differs.is_empty() {
            line.push_str(&format!(
                " {}'s own [simulation] settings differ and were replaced by A's, so that the replications pair.",
                differs.join(", ")
            ));
        }
        line
    }
}

/// `A`, `B`, ..., `Z`, then `D27`...
pub fn design_label(i: usize) -> String {
    if i < 26 {
        char::from(b'A' + i as u8).to_string()
    } else {
        format!("D{}", i + 1)
    }
}

fn pairing(
    a: &RunResult,
    b: &RunResult,
    variant: usize,
    (own_a, own_b): (&Scenario, &Scenario),
    threshold: f64,
) -> Pairing {
    let (ra, rb) = (&a.observations, &b.observations);
    let mut end_to_end = class_metrics(ra, rb, |r| &r.overall, true);
    let mut rows = pool_rows(a, b);
    rows.extend(host_rows(a, b));
    rows.extend(replication_rows(a, b));
    rows.extend(class_rows(a, b));
    rows.extend(cause_rows(a, b));
    for d in end_to_end
        .iter_mut()
        .chain(rows.iter_mut().flat_map(|r| r.metrics.iter_mut()))
    {
        d.judge(threshold);
    }
    let bottleneck = [a, b].map(|r| {
        r.bottleneck
            .as_ref()
            .map(|x| (x.label.clone(), x.utilization))
    });
    let saturation_rps = [a, b].map(|r| {
        r.analytic
            .as_ref()
            .map(|m| m.max_throughput_rps)
            .filter(|x| x.is_finite())
    });
    let saturates_at = [a, b].map(|r| r.analytic.as_ref().and_then(|m| m.bottleneck.clone()));
    let finding = |l: &crate::analysis::lints::Lint| format!("{}: {}", l.id, l.message);
    let fa: Vec<String> = a.lints.iter().map(finding).collect();
    let fb: Vec<String> = b.lints.iter().map(finding).collect();
    let findings_fixed: Vec<String> = fa.iter().filter(|f| !fb.contains(f)).cloned().collect();
    let findings_added: Vec<String> = fb.iter().filter(|f| !fa.contains(f)).cloned().collect();
    let mut p = Pairing {
        variant,
        threshold,
        scenario_diff: diff_documents(&own_a.document, &own_b.document),
        workload_warning: workload_warning(&a.scenario, &b.scenario, &end_to_end),
        end_to_end,
        rows,
        bottleneck,
        saturation_rps,
        saturates_at,
        findings_fixed,
        findings_added,
        verdict: Vec::new(),
    };
    p.verdict = verdict(&p, &design_label(variant));
    p
}

/// Whether the two designs are offered the same load; when not, what the
/// comparison still means.
fn workload_warning(a: &Scenario, b: &Scenario, end: &[Difference]) -> Option<String> {
    let classes = |s: &Scenario| {
        s.classes
            .iter()
            .map(|c| (c.name.clone(), c.share, c.access))
            .collect::<Vec<_>>()
    };
    let same = a.arrivals == b.arrivals && classes(a) == classes(b);
    if same {
        return None;
    }
    let offered = end.iter().find(|d| d.metric == "offered");
    let rates = offered.map_or(String::new(), |d| {
        format!(
            " (A is offered {} requests/s, B {})",
            whole(d.a.mean),
            whole(d.b.mean)
        )
    });
    Some(format!(
        "the two workloads differ{rates}: throughput, error counts and utilization compare two loads, not two designs, and the pairing no longer shares arrivals. Compare capacity (the saturation rate), or set the same workload on both (`--set workload.rate=...`)."
    ))
}

/// Paired figures of one class (or all): offered and completed rates,
/// completed latency, what users saw, availability and errors.
fn class_metrics(
    a: &[RepObs],
    b: &[RepObs],
    get: impl Fn(&RepObs) -> &ClassObs,
    full: bool,
) -> Vec<Difference> {
    let vals = |reps: &[RepObs], f: &dyn Fn(&RepObs) -> f64| reps.iter().map(f).collect::<Vec<_>>();
    let d = |name: &str, unit: &'static str, f: &dyn Fn(&RepObs) -> f64| {
        Difference::paired(name, unit, &vals(a, f), &vals(b, f))
    };
    let mut out = Vec::new();
    if full {
        out.push(d("offered", "requests/s", &|r| {
            get(r).arrived as f64 / per_rep::secs(r)
        }));
        out.push(d("throughput", "requests/s", &|r| {
            per_rep::throughput_rps(r, get(r))
        }));
        out.push(d("mean latency", "ms", &|r| get(r).latency.mean_ns() / 1e6));
        out.push(d("p50 latency", "ms", &|r| {
            per_rep::latency_ms(get(r), 0.5)
        }));
    }
    out.push(d("p99 latency", "ms", &|r| {
        per_rep::latency_ms(get(r), 0.99)
    }));
    out.push(d("p99 users saw", "ms", &|r| {
        per_rep::seen_ms(get(r), 0.99)
    }));
    out.push(d("availability", "%", &|r| {
        100.0 * per_rep::availability(get(r))
    }));
    if full {
        out.push(d("served by window end", "%", &|r| {
            100.0 * per_rep::availability_at_window_end(get(r))
        }));
        out.push(d("errors", "%", &|r| {
            100.0 * per_rep::error_rate(get(r), None)
        }));
    }
    out
}

fn unstable(r: &RunResult, pool: usize) -> bool {
    r.verdicts
        .iter()
        .any(|v| v.pool == pool && matches!(v.stability, Stability::Unstable { .. }))
}

/// Rows keyed by name, in the baseline's order then the variant's extras.
fn matched<'n>(a: &'n [String], b: &'n [String]) -> Vec<(&'n str, Option<usize>, Option<usize>)> {
    let mut out: Vec<(&str, Option<usize>, Option<usize>)> = a
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), Some(i), b.iter().position(|x| x == n)))
        .collect();
    for (j, n) in b.iter().enumerate() {
        if !a.contains(n) {
            out.push((n.as_str(), None, Some(j)));
        }
    }
    out
}

fn presence(ia: Option<usize>, ib: Option<usize>) -> Presence {
    match (ia, ib) {
        (Some(_), Some(_)) => Presence::Both,
        (Some(_), None) => Presence::OnlyBaseline,
        _ => Presence::OnlyVariant,
    }
}

/// Per-replication values of one side's row (NaN where it has none, so
/// the other side's estimate stands alone).
fn side(reps: &[RepObs], i: Option<usize>, f: &dyn Fn(&RepObs, usize) -> f64) -> Vec<f64> {
    reps.iter()
        .map(|r| i.map_or(f64::NAN, |i| f(r, i)))
        .collect()
}

/// Each tier and database role with instances: utilization, wait, p99
/// at the pool, drops.
fn pool_rows(a: &RunResult, b: &RunResult) -> Vec<RowComparison> {
    let pools = |r: &RunResult| -> Vec<(usize, String)> {
        r.loads
            .iter()
            .enumerate()
            .filter(|(_, l)| l.servers > 0)
            .map(|(p, l)| (p, l.label.clone()))
            .collect()
    };
    let (pa, pb) = (pools(a), pools(b));
    let names = |v: &[(usize, String)]| v.iter().map(|x| x.1.clone()).collect::<Vec<_>>();
    let (na, nb) = (names(&pa), names(&pb));
    let metrics: [Metric; 4] = [
        ("utilization", "%", |r, p| {
            100.0 * per_rep::pool_utilization(r, p)
        }),
        ("wait", "ms", per_rep::pool_wait_ms),
        ("p99 at the tier", "ms", per_rep::pool_p99_ms),
        ("drops", "requests/s", per_rep::pool_drops_rps),
    ];
    matched(&na, &nb)
        .into_iter()
        .map(|(name, ia, ib)| {
            let ga = ia.map(|i| pa[i].0);
            let gb = ib.map(|i| pb[i].0);
            let is_db = |r: &RunResult, g: Option<usize>| {
                g.is_some_and(|g| r.scenario.tiers[r.loads[g].tier].kind == Kind::Database)
            };
            RowComparison {
                scope: if is_db(a, ga) || is_db(b, gb) {
                    "role"
                } else {
                    "tier"
                },
                name: name.to_string(),
                presence: presence(ia, ib),
                unstable: [
                    ga.is_some_and(|g| unstable(a, g)),
                    gb.is_some_and(|g| unstable(b, g)),
                ],
                metrics: metrics
                    .iter()
                    .map(|(m, unit, f)| {
                        Difference::paired(
                            m,
                            unit,
                            &side(&a.observations, ga, f),
                            &side(&b.observations, gb, f),
                        )
                    })
                    .collect(),
            }
        })
        .collect()
}

/// Each database with `replication`: its lag, stale reads and the writes
/// lost at promotions.
fn replication_rows(a: &RunResult, b: &RunResult) -> Vec<RowComparison> {
    let names = |r: &RunResult| {
        r.observations.first().map_or(Vec::new(), |o| {
            o.replication
                .iter()
                .map(|x| x.database.clone())
                .collect::<Vec<_>>()
        })
    };
    let (na, nb) = (names(a), names(b));
    let metrics: [Metric; 4] = [
        ("lag mean", "ms", |r, i| {
            let h = &r.replication[i].lag;
            if h.count() == 0 {
                f64::NAN
            } else {
                h.mean_ns() / 1e6
            }
        }),
        ("lag p99", "ms", |r, i| {
            let h = &r.replication[i].lag;
            if h.count() == 0 {
                f64::NAN
            } else {
                h.quantile_ns(0.99) / 1e6
            }
        }),
        ("stale reads", "%", |r, i| {
            let x = &r.replication[i];
            let reads: u64 = x.reads.iter().sum();
            if reads == 0 {
                f64::NAN
            } else {
                100.0 * x.stale.iter().sum::<u64>() as f64 / reads as f64
            }
        }),
        ("lost writes", "writes", |r, i| {
            r.replication[i].lost_writes as f64
        }),
    ];
    named_rows("replication", (a, b), (&na, &nb), &metrics)
}

/// A figure of one replication, for the component with that index.
type Metric = (&'static str, &'static str, fn(&RepObs, usize) -> f64);

/// Rows of `scope` for components matched by name (`names`: each
/// design's, in its own index order), with these paired metrics.
fn named_rows(
    scope: &'static str,
    (a, b): (&RunResult, &RunResult),
    (na, nb): (&[String], &[String]),
    metrics: &[Metric],
) -> Vec<RowComparison> {
    matched(na, nb)
        .into_iter()
        .map(|(name, ia, ib)| RowComparison {
            scope,
            name: name.to_string(),
            presence: presence(ia, ib),
            unstable: [false, false],
            metrics: metrics
                .iter()
                .map(|(m, unit, f)| {
                    Difference::paired(
                        m,
                        unit,
                        &side(&a.observations, ia, f),
                        &side(&b.observations, ib, f),
                    )
                })
                .collect(),
        })
        .collect()
}

/// Each host group: CPU utilization and the wait for a core.
fn host_rows(a: &RunResult, b: &RunResult) -> Vec<RowComparison> {
    let names = |r: &RunResult| {
        r.scenario
            .hosts
            .iter()
            .map(|h| h.name.clone())
            .collect::<Vec<_>>()
    };
    let (na, nb) = (names(a), names(b));
    let metrics: [Metric; 2] = [
        ("cpu", "%", |r, h| 100.0 * per_rep::host_utilization(r, h)),
        ("core wait", "ms", per_rep::host_core_wait_ms),
    ];
    named_rows("host", (a, b), (&na, &nb), &metrics)
}

/// Each request class, when there are several.
fn class_rows(a: &RunResult, b: &RunResult) -> Vec<RowComparison> {
    let names = |r: &RunResult| {
        r.scenario
            .classes
            .iter()
            .map(|c| c.name.clone())
            .collect::<Vec<_>>()
    };
    let (na, nb) = (names(a), names(b));
    if na.len() < 2 && nb.len() < 2 {
        return Vec::new();
    }
    let through_unstable = |r: &RunResult, c: usize| {
        let cl = &r.scenario.classes[c];
        r.verdicts.iter().any(|v| {
            matches!(v.stability, Stability::Unstable { .. })
                && cl.route.iter().any(|st| st.tier == r.loads[v.pool].tier)
        })
    };
    matched(&na, &nb)
        .into_iter()
        .map(|(name, ia, ib)| {
            let metrics = class_metrics_of(&a.observations, ia, &b.observations, ib);
            RowComparison {
                scope: "class",
                name: name.to_string(),
                presence: presence(ia, ib),
                unstable: [
                    ia.is_some_and(|c| through_unstable(a, c)),
                    ib.is_some_and(|c| through_unstable(b, c)),
                ],
                metrics,
            }
        })
        .collect()
}

/// A class's p99, what its users saw and its availability, each side
/// absent (NaN) where it has no such class.
fn class_metrics_of(
    a: &[RepObs],
    ia: Option<usize>,
    b: &[RepObs],
    ib: Option<usize>,
) -> Vec<Difference> {
    type Metric = (&'static str, &'static str, fn(&ClassObs) -> f64);
    let metrics: [Metric; 3] = [
        ("p99 latency", "ms", |c| per_rep::latency_ms(c, 0.99)),
        ("p99 users saw", "ms", |c| per_rep::seen_ms(c, 0.99)),
        ("availability", "%", |c| 100.0 * per_rep::availability(c)),
    ];
    metrics
        .iter()
        .map(|(m, unit, f)| {
            let g = |r: &RepObs, c: usize| f(&r.classes[c]);
            Difference::paired(m, unit, &side(a, ia, &g), &side(b, ib, &g))
        })
        .collect()
}

/// Errors by cause, where either design has any.
fn cause_rows(a: &RunResult, b: &RunResult) -> Vec<RowComparison> {
    Cause::ALL
        .iter()
        .filter(|k| {
            let any = |r: &RunResult| {
                r.observations
                    .iter()
                    .any(|o| o.overall.failed[k.index()] > 0)
            };
            any(a) || any(b)
        })
        .map(|k| {
            let f = |r: &RepObs| 100.0 * per_rep::error_rate(&r.overall, Some(k.index()));
            let va: Vec<f64> = a.observations.iter().map(f).collect();
            let vb: Vec<f64> = b.observations.iter().map(f).collect();
            RowComparison {
                scope: "errors",
                name: k.describe().to_string(),
                presence: Presence::Both,
                unstable: [false, false],
                metrics: vec![Difference::paired("share of requests", "%", &va, &vb)],
            }
        })
        .collect()
}

/// A difference in words: `p99 latency 38.0% lower (± 4.0%)`.
fn in_words(d: &Difference) -> String {
    if d.unit == "%" {
        return format!(
            "{} {:.2}% → {:.2}% ({:+.2} points ± {:.2})",
            d.metric,
            d.a.mean,
            d.b.mean,
            d.difference.mean,
            d.difference.half_width.unwrap_or(0.0)
        );
    }
    match d.relative {
        Some(r) if r.is_finite() => format!(
            "{} {:.1}% {} ({:.3} → {:.3} {}, ± {}%)",
            d.metric,
            r.abs() * 100.0,
            if r < 0.0 { "lower" } else { "higher" },
            d.a.mean,
            d.b.mean,
            d.unit,
            {
                let h = d.relative_half_width.unwrap_or(0.0) * 100.0;
                if h < 0.1 {
                    format!("{h:.2}")
                } else {
                    format!("{h:.1}")
                }
            }
        ),
        _ => format!(
            "{} {:+.3} {} ({:.3} → {:.3})",
            d.metric, d.difference.mean, d.unit, d.a.mean, d.b.mean
        ),
    }
}

/// The pairing's verdict, most important first: capacity, the
/// bottleneck, end-to-end changes, the largest per-component changes, the
/// findings.
fn verdict(p: &Pairing, b: &str) -> Vec<String> {
    let mut out = Vec::new();
    if let [Some(sa), Some(sb)] = p.saturation_rps {
        let rel = (sb - sa) / sa;
        let at = |x: &Option<String>| x.clone().unwrap_or_else(|| "?".into());
        out.push(if rel.abs() < 0.005 {
            format!(
                "Capacity: both saturate at about {} requests/s (analytic model; A at {}, {b} at {}).",
                whole(sa),
                at(&p.saturates_at[0]),
                at(&p.saturates_at[1])
            )
        } else {
            format!(
                "Capacity: {b} saturates at {} requests/s against A's {} ({:+.0}%; analytic model), first at {} where A saturates first at {}.",
                whole(sb),
                whole(sa),
                rel * 100.0,
                at(&p.saturates_at[1]),
                at(&p.saturates_at[0])
            )
        });
    }
    match &p.bottleneck {
        [Some((la, ua)), Some((lb, ub))] if la == lb => out.push(format!(
            "The bottleneck stays {la}: {:.0}% busy in A, {:.0}% in {b}.",
            ua * 100.0,
            ub * 100.0
        )),
        [Some((la, ua)), Some((lb, ub))] => out.push(format!(
            "The bottleneck moves: A's is {la} ({:.0}%), {b}'s is {lb} ({:.0}%).",
            ua * 100.0,
            ub * 100.0
        )),
        _ => {}
    }
    let figures = |f: fn(&Difference) -> bool| -> Vec<&Difference> {
        p.end_to_end
            .iter()
            .filter(|d| f(d) && d.metric != "offered")
            .collect()
    };
    let changed = figures(|d| d.material);
    let small = figures(|d| d.significant && !d.material);
    let threshold = crate::units::percent_of(p.threshold);
    if !changed.is_empty() {
        out.push(format!(
            "End to end, {b} against A: {}.",
            changed
                .iter()
                .map(|d| in_words(d))
                .collect::<Vec<_>>()
                .join("; ")
        ));
    } else if small.is_empty() {
        out.push(format!(
            "End to end, at this load and with these faults, {b} does not differ from A: no paired interval excludes zero."
        ));
    } else {
        out.push(format!(
            "End to end, at this load and with these faults, {b} does not differ from A by {threshold} or more: {} differ{} measurably but by less ({}).",
            crate::units::count(small.len() as u64, "figure"),
            if small.len() == 1 { "s" } else { "" },
            small
                .iter()
                .map(|d| d.metric.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    // The largest material utilization changes, per component.
    let mut moves: Vec<(f64, String)> = p
        .rows
        .iter()
        .filter(|r| r.presence == Presence::Both)
        .flat_map(|r| {
            r.metrics
                .iter()
                .filter(|d| d.material && (d.metric == "utilization" || d.metric == "cpu"))
                .map(move |d| {
                    (
                        d.difference.mean.abs(),
                        format!("{} {} {:.1}% → {:.1}%", r.scope, r.name, d.a.mean, d.b.mean),
                    )
                })
        })
        .filter(|(x, _)| *x >= 1.0)
        .collect();
    moves.sort_by(|x, y| y.0.total_cmp(&x.0));
    if !moves.is_empty() {
        out.push(format!(
            "Largest utilization changes: {}.",
            moves
                .iter()
                .take(4)
                .map(|m| m.1.clone())
                .collect::<Vec<_>>()
                .join("; ")
        ));
    }
    let only = |pr: Presence| {
        p.rows
            .iter()
            .filter(|r| r.presence == pr && r.scope != "errors")
            .map(|r| format!("{} {}", r.scope, r.name))
            .collect::<Vec<_>>()
    };
    let (gone, new) = (only(Presence::OnlyBaseline), only(Presence::OnlyVariant));
    if !gone.is_empty() || !new.is_empty() {
        out.push(format!(
            "Components: {b} adds {} and drops {}.",
            if new.is_empty() {
                "none".into()
            } else {
                new.join(", ")
            },
            if gone.is_empty() {
                "none".into()
            } else {
                gone.join(", ")
            }
        ));
    }
    out.push(format!(
        "Design review: {b} fixes {} of A's findings and adds {}.",
        p.findings_fixed.len(),
        p.findings_added.len()
    ));
    out
}
