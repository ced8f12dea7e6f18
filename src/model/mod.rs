//! The web stack as queueing stations: built once from a [`Scenario`], then
//! run for any number of independent replications.
//!
//! Every tier is pools of identical instances; every instance is one station
//! (workers, a FIFO accept queue, a service time per class). Firewalls,
//! balancers, web and app servers and the database are the same mechanism
//! with different settings: the database is a primary pool and a replica
//! pool, and reads and writes pick their pool by the class's access.

mod run;

use crate::dist::{Calls, Sampler};
use crate::engine::stream_id;
use crate::scenario::{Arrivals, Balance, Scenario, Simulation};

pub use run::run_replication;

/// Marks an empty slot in per-step arrays.
pub(crate) const NONE: u32 = u32::MAX;

/// One instance: the unit of queueing.
#[derive(Clone, Debug)]
pub(crate) struct StationDef {
    pub pool: u32,
    pub workers: u32,
    pub queue_cap: u32,
    pub index_in_pool: u32,
    pub stream: u32,
}

/// A pool of identical instances.
#[derive(Clone, Debug)]
pub(crate) struct PoolDef {
    pub first_station: u32,
    pub count: u32,
    /// Service time per class.
    pub service: Vec<Sampler>,
}

/// One step of a class's route, with everything the hot loop needs resolved.
#[derive(Clone, Debug)]
pub(crate) struct StepDef {
    pub calls: Calls,
    /// Stations a request may be sent to at this step.
    pub candidates: Vec<u32>,
    /// How the instance is picked (the previous tier's balance).
    pub policy: Balance,
    /// Which round-robin counter the policy uses (the sending tier's).
    pub rr_slot: usize,
    /// The worker stays busy until the request finishes the steps after this.
    pub holds: bool,
}

/// A class: its share and its route.
#[derive(Clone, Debug)]
pub(crate) struct ClassDef {
    pub cum_share: f64,
    pub steps: Vec<StepDef>,
}

/// The runnable model. Immutable: replications share it.
#[derive(Clone, Debug)]
pub struct Model {
    pub(crate) stations: Vec<StationDef>,
    pub(crate) pools: Vec<PoolDef>,
    pub(crate) classes: Vec<ClassDef>,
    pub(crate) arrivals: Arrivals,
    pub(crate) think: Option<Sampler>,
    pub(crate) sim: Simulation,
    pub(crate) rr_slots: usize,
}

impl Model {
    /// Builds the model. The scenario is already validated, so this cannot fail.
    pub fn build(s: &Scenario) -> Model {
        let mut stations = Vec::new();
        let mut pools = Vec::new();
        // (tier, pool) -> global pool index
        let mut pool_index: Vec<Vec<usize>> = Vec::new();
        for tier in &s.tiers {
            let mut idx = Vec::new();
            for (pi, p) in tier.pools.iter().enumerate() {
                idx.push(pools.len());
                let first = stations.len() as u32;
                for i in 0..p.instances {
                    stations.push(StationDef {
                        pool: pools.len() as u32,
                        workers: p.workers,
                        queue_cap: p.queue.unwrap_or(u32::MAX),
                        index_in_pool: i,
                        stream: stream_id(&format!("service/{}/{}/{i}", tier.name, pi)),
                    });
                }
                pools.push(PoolDef {
                    first_station: first,
                    count: p.instances,
                    service: p.service.iter().map(|d| d.sampler()).collect(),
                });
            }
            pool_index.push(idx);
        }
        let mut cum = 0.0;
        let classes = s
            .classes
            .iter()
            .map(|c| {
                cum += c.share;
                let steps = c
                    .route
                    .iter()
                    .enumerate()
                    .map(|(i, step)| {
                        let tier = &s.tiers[step.tier];
                        let candidates = tier
                            .pools_for(c.access)
                            .into_iter()
                            .flat_map(|p| {
                                let pd = &pools[pool_index[step.tier][p]];
                                pd.first_station..pd.first_station + pd.count
                            })
                            .collect();
                        let (policy, rr_slot) = match i.checked_sub(1) {
                            Some(prev) => {
                                let t = c.route[prev].tier;
                                (s.tiers[t].balance, t)
                            }
                            None => (Balance::Random, s.tiers.len()),
                        };
                        StepDef {
                            calls: step.calls,
                            candidates,
                            policy,
                            rr_slot,
                            holds: tier.hold && i + 1 < c.route.len(),
                        }
                    })
                    .collect();
                ClassDef {
                    cum_share: cum,
                    steps,
                }
            })
            .collect::<Vec<_>>();
        let think = match &s.arrivals {
            Arrivals::Closed { think, .. } => Some(think.sampler()),
            _ => None,
        };
        let mut classes = classes;
        if let Some(last) = classes.last_mut() {
            last.cum_share = f64::INFINITY; // rounding can never leave a draw unassigned
        }
        Model {
            stations,
            pools,
            classes,
            arrivals: s.arrivals.clone(),
            think,
            sim: s.simulation.clone(),
            rr_slots: s.tiers.len() + 1,
        }
    }

    /// Number of pools, in (tier, pool) order.
    pub fn pool_count(&self) -> usize {
        self.pools.len()
    }

    /// The simulation settings the model runs with.
    pub fn simulation(&self) -> &Simulation {
        &self.sim
    }
}
