//! Hosts and what components cost on them: cores, monitoring agents, TLS
//! work, firewall rules and connection tracking, network hops.

use serde::Serialize;
use toml::de::{DeTable, DeValue};

use super::diagnostic::did_you_mean;
use super::read::{Reader, Value, field, join};
use crate::dist::Dist;

/// A group of identical machines.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Host {
    /// Host name, used by tiers' `host` keys.
    pub name: String,
    /// Machines in the group.
    pub instances: u32,
    /// Cores per machine.
    pub cores: u32,
    /// A monitoring agent on every machine.
    pub monitoring: Option<Monitoring>,
    /// Cores' worth of CPU burned by work outside the requests (timers,
    /// housekeeping, other tenants), on every machine (`background`).
    pub background_cores: f64,
    /// Cores' worth of CPU that yields to every other work
    /// (`idle_background`): it runs only on a core nothing else waits for, so
    /// it costs requests little and vanishes when the cores saturate. This is
    /// what a utilization-law intercept above the CPU measured at zero
    /// traffic is: wake-ups, idle polling, timers armed by traffic.
    pub idle_background_cores: f64,
    /// CPU per request off the request's path (a log shipper, a sidecar
    /// copying traffic, a load generator on the machine), ns: each request
    /// that enters the stack costs this much on one machine of the group,
    /// taken in turn, without delaying the request (`off_path_cpu`).
    pub off_path_cpu_ns: f64,
    /// How the cores are shared among the work that wants them.
    pub scheduling: Scheduling,
    /// CPU a burst pays each time it is preempted (`switch_cost`, ns):
    /// the involuntary context switch and the caches it finds cold when
    /// it runs again. Only under a preemptive discipline (`cfs`, `eevdf`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub switch_cost_ns: Option<u64>,
    /// Random pauses of each machine (`pauses`): CPU steal, a noisy
    /// neighbour, a hypervisor's hiccup, slowing every component on it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pauses: Option<super::faults::Pauses>,
}

/// How a machine's cores serve the bursts that want them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scheduling {
    /// A FIFO pool: a burst waits for a free core, then holds it to its end.
    Fifo,
    /// Processor sharing: with n bursts on c cores each gets min(1, c/n) of
    /// a core at once, as a time-sharing kernel approximates.
    ProcessorSharing,
    /// Linux's completely fair scheduler: bursts run in order of virtual
    /// runtime, a waking one placed at most half a latency period behind
    /// the least, preempting a running one that leads it by more than the
    /// wake-up granularity; time slices share what is left.
    Cfs(CfsParams),
    /// Linux's EEVDF scheduler (6.6 and later): among the bursts whose lag
    /// is not negative, the earliest virtual deadline runs, for a slice
    /// it keeps to its end; a waking burst keeps the lag it slept with.
    Eevdf {
        /// `sched_base_slice` (ns): the slice every task asks for.
        base_slice_ns: u64,
    },
}

/// The fair scheduler's tunables, named as the kernel names them
/// (`kernel/sched/fair.c`, before EEVDF), in ns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct CfsParams {
    /// `sched_latency`: the period in which every runnable task runs once;
    /// a waking task is placed at most half of it behind the least virtual
    /// runtime (`GENTLE_FAIR_SLEEPERS`).
    pub latency_ns: u64,
    /// `sched_min_granularity`: the shortest slice.
    pub min_granularity_ns: u64,
    /// `sched_wakeup_granularity`: how far a waking task's virtual runtime
    /// must be behind the running one's for it to preempt.
    pub wakeup_granularity_ns: u64,
}

impl CfsParams {
    /// The kernel's defaults for `cores` CPUs: 6 ms, 0.75 ms and 1 ms, each
    /// times 1 + log2(min(cores, 8)) (`SCHED_TUNABLESCALING_LOG`).
    pub fn kernel_default(cores: u32) -> CfsParams {
        let factor = 1 + u64::from(cores.clamp(1, 8).ilog2());
        CfsParams {
            latency_ns: 6_000_000 * factor,
            min_granularity_ns: 750_000 * factor,
            wakeup_granularity_ns: 1_000_000 * factor,
        }
    }
}

/// `scheduling` and the fair scheduler's tunables (allowed only with
/// `scheduling = "cfs"`, each defaulting to the kernel's for the cores).
fn read_scheduling(
    r: &mut Reader,
    t: &DeTable<'_>,
    key: &str,
    cores: Option<i64>,
) -> Option<Scheduling> {
    let tunables = [
        "sched_latency",
        "sched_min_granularity",
        "sched_wakeup_granularity",
    ];
    let scheduling = match field(t, "scheduling") {
        None => Some(Scheduling::Fifo),
        Some(x) => match r.string(x, &join(key, "scheduling")).as_deref() {
            Some("fifo") => Some(Scheduling::Fifo),
            Some("ps") => Some(Scheduling::ProcessorSharing),
            Some("eevdf") => {
                let factor = 1 + u64::from((cores.unwrap_or(1).clamp(1, 8) as u32).ilog2());
                let mut slice = 750_000 * factor;
                let mut ok = true;
                if let Some(v) = field(t, "sched_base_slice") {
                    match r.duration(v, &join(key, "sched_base_slice")) {
                        Some(0) => {
                            r.error(
                                v.span(),
                                &join(key, "sched_base_slice"),
                                "`sched_base_slice` must be above 0".into(),
                                Some("the kernel's default is 0.75ms times 1 + log2(cores, at most 8)".into()),
                            );
                            ok = false;
                        }
                        Some(ns) => slice = ns,
                        None => ok = false,
                    }
                }
                ok.then_some(Scheduling::Eevdf {
                    base_slice_ns: slice,
                })
            }
            Some("cfs") => {
                let mut p = CfsParams::kernel_default(cores.unwrap_or(1).clamp(1, 8) as u32);
                let mut ok = true;
                for (name, slot) in tunables.into_iter().zip([
                    &mut p.latency_ns,
                    &mut p.min_granularity_ns,
                    &mut p.wakeup_granularity_ns,
                ]) {
                    if let Some(v) = field(t, name) {
                        match r.duration(v, &join(key, name)) {
                            Some(ns) => *slot = ns,
                            None => ok = false,
                        }
                    }
                }
                if p.latency_ns == 0 || p.min_granularity_ns == 0 {
                    r.error(
                        field(t, "sched_latency")
                            .or(field(t, "sched_min_granularity"))
                            .map_or(0..0, |v| v.span()),
                        &join(key, "sched_latency"),
                        "`sched_latency` and `sched_min_granularity` must be above 0".into(),
                        Some("the kernel's defaults are 6ms and 0.75ms times 1 + log2(cores, at most 8)".into()),
                    );
                    ok = false;
                }
                ok.then_some(Scheduling::Cfs(p))
            }
            Some(other) => {
                r.error(
                    x.span(),
                    &join(key, "scheduling"),
                    format!("unknown scheduling `{other}`"),
                    Some("expected \"fifo\" (a FIFO core pool), \"ps\" (processor sharing), \"cfs\" (Linux's fair scheduler) or \"eevdf\" (Linux 6.6 and later)".into()),
                );
                None
            }
            None => None,
        },
    };
    if !matches!(scheduling, Some(Scheduling::Eevdf { .. }) | None)
        && let Some(v) = field(t, "sched_base_slice")
    {
        r.error(
            v.span(),
            &join(key, "sched_base_slice"),
            "`sched_base_slice` is a tunable of the EEVDF scheduler".into(),
            Some("set `scheduling = \"eevdf\"` on this host, or remove it".into()),
        );
    }
    if !matches!(scheduling, Some(Scheduling::Cfs(_)) | None) {
        for name in tunables {
            if let Some(v) = field(t, name) {
                r.error(
                    v.span(),
                    &join(key, name),
                    format!("`{name}` is a tunable of the fair scheduler"),
                    Some("set `scheduling = \"cfs\"` on this host, or remove it".into()),
                );
            }
        }
    }
    scheduling
}

/// Mean length of a background CPU burst (ns): a host's `background` load
/// arrives as Poisson bursts of exponential length, like timer wake-ups and
/// housekeeping, at the rate that uses that many cores on average.
pub const BACKGROUND_BURST_NS: f64 = 1e6;

/// Mean length of a yielding background burst (ns): `idle_background` is
/// overhead of the size of a wake-up, so it comes in short pieces that fill
/// idle cores finely and keep a request that arrives behind one waiting
/// little.
pub const IDLE_BURST_NS: f64 = 1e5;

/// A monitoring agent: every `interval` it needs a core for `cost`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Monitoring {
    /// Time between samples (ns).
    pub interval_ns: u64,
    /// CPU time per sample.
    pub cost: Dist,
}

/// TLS work charged to a tier that terminates or re-encrypts.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TlsCost {
    /// Crypto per request (ns).
    pub per_request_ns: u64,
    /// A full handshake (ns).
    pub full_handshake_ns: u64,
    /// A resumed handshake (ns).
    pub resumed_handshake_ns: u64,
    /// Fraction of handshakes resumed.
    pub resumption: f64,
    /// Requests per keep-alive connection (a handshake every this many).
    pub requests_per_connection: f64,
}

impl TlsCost {
    /// Mean extra CPU per request (ns).
    pub fn mean_ns(&self) -> f64 {
        let handshake = self.resumption * self.resumed_handshake_ns as f64
            + (1.0 - self.resumption) * self.full_handshake_ns as f64;
        self.per_request_ns as f64 + handshake / self.requests_per_connection
    }
}

/// Reads the `[[host]]` array.
pub(crate) fn read_hosts(r: &mut Reader, doc: &DeTable<'_>) -> Option<Vec<Host>> {
    let Some(v) = field(doc, "host") else {
        return Some(Vec::new());
    };
    let items = r.array(v, "host")?;
    let mut out: Vec<Host> = Vec::new();
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        let key = format!("host[{i}]");
        let Some(t) = r.table(item, &key) else {
            ok = false;
            continue;
        };
        r.check_keys(
            t,
            &key,
            &[
                "name",
                "instances",
                "cores",
                "monitoring",
                "background",
                "idle_background",
                "off_path_cpu",
                "scheduling",
                "sched_latency",
                "sched_min_granularity",
                "sched_wakeup_granularity",
                "sched_base_slice",
                "switch_cost",
                "pauses",
            ],
        );
        let name = match field(t, "name") {
            Some(n) => r.string(n, &join(&key, "name")),
            None => {
                r.error(item.span(), &key, "a host needs a `name`".into(), None);
                None
            }
        };
        let instances = field(t, "instances")
            .map_or(Some(1), |x| r.int(x, &join(&key, "instances"), 1, 10_000));
        let cores = match field(t, "cores") {
            Some(x) => r.int(x, &join(&key, "cores"), 1, 100_000),
            None => {
                r.error(
                    item.span(),
                    &key,
                    "a host needs `cores`".into(),
                    Some("e.g. cores = 4".into()),
                );
                None
            }
        };
        let monitoring = match field(t, "monitoring") {
            None => Some(None),
            Some(m) => read_monitoring(r, m, &join(&key, "monitoring")).map(Some),
        };
        let background = match field(t, "background") {
            None => Some(0.0),
            Some(b) => read_background(r, b, &join(&key, "background"), cores),
        };
        let idle_background = match field(t, "idle_background") {
            None => Some(0.0),
            Some(b) => read_background(r, b, &join(&key, "idle_background"), cores),
        };
        let off_path = match field(t, "off_path_cpu") {
            None => Some(0),
            Some(x) => r.duration(x, &join(&key, "off_path_cpu")),
        };
        let scheduling = read_scheduling(r, t, &key, cores);
        let pauses = super::faults::read_pauses(r, t, &key);
        let switch_cost = match field(t, "switch_cost") {
            None => Some(None),
            Some(x) => {
                let preemptive = matches!(
                    scheduling,
                    Some(Scheduling::Cfs(_) | Scheduling::Eevdf { .. })
                );
                let d = r.positive_duration(x, &join(&key, "switch_cost"));
                if d.is_some() && !preemptive && scheduling.is_some() {
                    r.error(
                        x.span(),
                        &join(&key, "switch_cost"),
                        "`switch_cost` is paid on preemption, which only `scheduling = \"cfs\"` or `\"eevdf\"` does".into(),
                        Some("FIFO cores run a burst to its end and processor sharing never switches: set scheduling = \"cfs\" (or \"eevdf\") or drop the key".into()),
                    );
                    // The host itself is fine: its tiers still resolve.
                    Some(None)
                } else {
                    d.map(Some)
                }
            }
        };
        match (
            name,
            instances,
            cores,
            monitoring,
            background.zip(idle_background),
            off_path.zip(switch_cost).zip(pauses),
        ) {
            (
                Some(name),
                Some(n),
                Some(c),
                Some(monitoring),
                Some((background_cores, idle_background_cores)),
                Some(((off_path, switch_cost_ns), pauses)),
            ) => {
                if out.iter().any(|h| h.name == name) {
                    r.error(
                        item.span(),
                        &key,
                        format!("host `{name}` is defined twice"),
                        None,
                    );
                    ok = false;
                } else {
                    out.push(Host {
                        name,
                        instances: n as u32,
                        cores: c as u32,
                        monitoring,
                        background_cores,
                        idle_background_cores,
                        off_path_cpu_ns: off_path as f64,
                        scheduling: scheduling.unwrap_or(Scheduling::Fifo),
                        switch_cost_ns,
                        pauses,
                    });
                }
            }
            _ => ok = false,
        }
    }
    ok.then_some(out)
}

/// `background = 0.15` or `"0.15 cores"` (and `idle_background` alike):
/// below the machine's cores.
fn read_background(r: &mut Reader, v: &Value<'_>, key: &str, cores: Option<i64>) -> Option<f64> {
    let what = key.rsplit('.').next().unwrap_or(key).to_string();
    let b = match v.get_ref() {
        DeValue::String(s) => {
            let t = s.trim();
            let num = t
                .strip_suffix("cores")
                .or_else(|| t.strip_suffix("core"))
                .unwrap_or(t)
                .trim();
            match num.parse::<f64>() {
                Ok(x) if x.is_finite() => x,
                _ => {
                    r.error(
                        v.span(),
                        key,
                        format!("`{s}` is not a number of cores"),
                        Some(format!("e.g. {what} = \"0.15 cores\" or {what} = 0.15")),
                    );
                    return None;
                }
            }
        }
        _ => r.number(v, key)?,
    };
    if b < 0.0 {
        r.error(
            v.span(),
            key,
            format!("{what} cannot be negative"),
            Some("the cores' worth of CPU used outside requests, e.g. 0.15".into()),
        );
        return None;
    }
    if let Some(c) = cores
        && b >= c as f64
    {
        r.error(
            v.span(),
            key,
            format!("{what} of {b} cores leaves no CPU of the machine's {c} for requests"),
            Some(format!("{what} must be below `cores`")),
        );
        return None;
    }
    Some(b)
}

fn read_monitoring(r: &mut Reader, v: &Value<'_>, key: &str) -> Option<Monitoring> {
    let t = r.table(v, key)?;
    r.check_keys(t, key, &["interval", "cost"]);
    let interval = field(t, "interval").map_or(Some(10_000_000_000), |x| {
        r.period(x, &join(key, "interval"))
    });
    let cost = field(t, "cost").map_or(Some(Dist::Constant(20e6)), |x| {
        r.dist(x, &join(key, "cost"))
    });
    Some(Monitoring {
        interval_ns: interval?,
        cost: cost?,
    })
}

/// Resolves a `host = "name"` key to an index.
pub(crate) fn read_host_ref(
    r: &mut Reader,
    v: &Value<'_>,
    key: &str,
    hosts: &[Host],
) -> Option<usize> {
    let name = r.string(v, key)?;
    match hosts.iter().position(|h| h.name == name) {
        Some(i) => Some(i),
        None => {
            let names: Vec<&str> = hosts.iter().map(|h| h.name.as_str()).collect();
            let hint = match (did_you_mean(&name, &names), names.is_empty()) {
                (_, true) => "declare it first: [[host]] name = \"...\" cores = 4".to_string(),
                (Some(m), _) => format!("did you mean `{m}`? hosts: {}", names.join(", ")),
                (None, _) => format!("hosts: {}", names.join(", ")),
            };
            r.error(v.span(), key, format!("no host named `{name}`"), Some(hint));
            None
        }
    }
}

/// Reads `tls_cost = { per_request, full_handshake, resumed_handshake, resumption, requests_per_connection }`.
pub(crate) fn read_tls_cost(r: &mut Reader, v: &Value<'_>, key: &str) -> Option<TlsCost> {
    let t = r.table(v, key)?;
    r.check_keys(
        t,
        key,
        &[
            "per_request",
            "full_handshake",
            "resumed_handshake",
            "resumption",
            "requests_per_connection",
        ],
    );
    let d = |r: &mut Reader, name: &str, default: u64| {
        field(t, name).map_or(Some(default), |x| r.duration(x, &join(key, name)))
    };
    let per_request = d(r, "per_request", 20_000);
    let full = d(r, "full_handshake", 2_000_000);
    let resumed = d(r, "resumed_handshake", 200_000);
    let resumption = field(t, "resumption").map_or(Some(0.5), |x| {
        r.number(x, &join(key, "resumption")).and_then(|f| {
            if (0.0..=1.0).contains(&f) {
                Some(f)
            } else {
                r.error(
                    x.span(),
                    &join(key, "resumption"),
                    format!("a fraction between 0 and 1, found {f}"),
                    None,
                );
                None
            }
        })
    });
    let rpc = field(t, "requests_per_connection").map_or(Some(1.0), |x| {
        r.number(x, &join(key, "requests_per_connection"))
            .and_then(|f| {
                if f >= 1.0 {
                    Some(f)
                } else {
                    r.error(
                        x.span(),
                        &join(key, "requests_per_connection"),
                        format!("at least 1, found {f}"),
                        None,
                    );
                    None
                }
            })
    });
    Some(TlsCost {
        per_request_ns: per_request?,
        full_handshake_ns: full?,
        resumed_handshake_ns: resumed?,
        resumption: resumption?,
        requests_per_connection: rpc?,
    })
}
