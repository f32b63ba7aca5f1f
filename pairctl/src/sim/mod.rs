//! `pairctl sim`: the whole cluster in a deterministic simulator, run for
//! many seeds, each replayable exactly.
//!
//! Every node of a scenario runs as a host of a turmoil simulation with its
//! real gRPC service, state machine, driver and SQLite store, over
//! simulated TCP and on simulated time, all in one thread (`node_kit::net`
//! points the nodes' sockets and wall clock at the simulation). The clock
//! is the lockstep clock, seeded with the run's seed. A seed fixes
//! everything: the faults ([`schedule`]), the network's latencies and
//! losses (turmoil's generator), the retries' jitter, the protocol's own
//! draws, so the same seed gives the same run, event for event, and its
//! digest ([`verdict::Verdict::digest`]) shows it.
//!
//! - [`schedule`]: the faults a seed draws: crashes and restarts, one-way
//!   and two-way partitions, slow links, held messages; dropped,
//!   duplicated and reordered requests.
//! - [`world`]: one seed's simulation: the hosts, the observer, the faults
//!   applied over time.
//! - [`verdict`]: the checkers after each seed (conservation, liveness,
//!   order) and the run's digest.
//! - this file: many seeds over a few threads, and the summary.
//!
//! Before the seeds, one fault-free run (seed [`CALIBRATION_SEED`]) measures
//! how long the scenario takes in simulated time: faults fall in the first
//! [`FAULT_WINDOW_PERCENT`]% of it, and the liveness bound is twice it
//! after the last fault heals, plus a minute ([`liveness_bound_ms`]). The calibration is the same for every
//! invocation, so `--seed S` replays exactly what seed S did in a batch.

pub mod schedule;
pub mod verdict;
pub mod world;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use counterpart_domain::policy::Policy;
use counterpart_domain::scenario::Scenario;
use serde::Serialize;

use schedule::{FaultKind, Schedule};
use verdict::Verdict;
use world::{Setup, Simulated};

/// The seed of the fault-free calibration run.
pub const CALIBRATION_SEED: u64 = 2020;
/// Faults start within this share of the fault-free run's simulated time.
pub const FAULT_WINDOW_PERCENT: u64 = 80;
/// The lockstep step of a simulation, in scenario minutes: six hours, a
/// quarter of the default clock's steps' count over a day (each step costs
/// a round of grants; the shortest delay of hubei-2020 still spans one).
pub const DEFAULT_STEP_MINUTES: u32 = 360;

/// Liveness: how long (simulated) after its last fault heals a run must be
/// over: twice the fault-free run, plus a minute for the retries that were
/// backing off when the faults healed (a courier's round of resends lasts
/// about a minute, `node_kit::retry::RetryPolicy::PROTOCOL`; the lockstep
/// barrier's regrants back off to 8 s).
pub fn liveness_bound_ms(fault_free_ms: u64) -> u64 {
    2 * fault_free_ms + LIVENESS_SLACK_MS
}

/// The minute of [`liveness_bound_ms`].
pub const LIVENESS_SLACK_MS: u64 = 60_000;

/// What to simulate.
#[derive(Clone)]
pub struct Options {
    pub scenario_path: PathBuf,
    pub scenario: Arc<Scenario>,
    /// The seeds run: `seeds` of them from `seed_base`.
    pub seed_base: u64,
    pub seeds: u64,
    pub faults: Vec<FaultKind>,
    pub step_minutes: u32,
    /// How central acts (`--policy`; the default: as the scenario says).
    pub policy: Policy,
    /// Worker threads, each running whole seeds (at least 1).
    pub threads: usize,
    pub data_root: PathBuf,
    /// Run once in each worker thread before its first seed (the checker
    /// tests plant their bugs in the thread with it).
    pub on_thread: Option<Arc<dyn Fn() + Send + Sync>>,
}

/// One seed's outcome.
#[derive(Debug, Clone)]
pub struct SeedOutcome {
    pub seed: u64,
    pub schedule: Schedule,
    pub verdict: Verdict,
    pub simulated_ms: u64,
    pub message_faults: node_kit::faults::FaultCounts,
    pub nodes_restarted: u64,
}

/// A failed seed, and the command that replays it.
#[derive(Debug, Clone, Serialize)]
pub struct Failed {
    pub seed: u64,
    pub reason: String,
    pub replay: String,
}

/// Requests hit by each message fault.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct RequestsFaulted {
    pub dropped: u64,
    pub answer_lost: u64,
    pub handled_twice: u64,
    pub delayed: u64,
}

/// The whole run, as `--json` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub scenario: String,
    pub seeds: u64,
    pub failed: Vec<Failed>,
    /// Faults drawn per kind, over every seed.
    pub faults: BTreeMap<String, u64>,
    /// Requests the message faults hit, over every seed, as the nodes'
    /// fault layers counted them.
    pub requests_faulted: RequestsFaulted,
    /// Nodes that stopped with an error (a registration that gave up
    /// while central was cut off) and were started again, as a supervisor
    /// would, over every seed.
    pub nodes_restarted: u64,
    pub units_lost: i64,
    pub units_double_counted: i64,
    pub cases_accepted: u64,
    pub cases_closed: u64,
    pub wall_ms: u64,
    pub seeds_per_minute: f64,
    /// The calibration: the fault-free run's simulated ms.
    pub fault_free_simulated_ms: u64,
}

/// What every seed of a run shares, once the calibration has run.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub setup: Setup,
    /// The fault-free run's simulated ms.
    pub fault_free_ms: u64,
    /// Faults start before this (simulated ms).
    pub window_ms: u64,
    hosts: Vec<String>,
    faults: Vec<FaultKind>,
}

impl Prepared {
    /// Runs the fault-free calibration (seed [`CALIBRATION_SEED`]) and
    /// sizes the fault window and the liveness bound from it.
    pub fn new(options: &Options) -> Result<Prepared, String> {
        let calibrating = setup(options, u64::MAX / 4);
        let hosts = calibrating.hosts();
        let schedule = schedule::draw(CALIBRATION_SEED, &[], &hosts, 1);
        let simulated = world::simulate(&calibrating, &schedule);
        let verdict = verdict::judge(&simulated, &schedule);
        let fault_free_ms = match (verdict.passed(), simulated.finished_at_ms) {
            (true, Some(ms)) => ms,
            _ => {
                return Err(format!(
                    "the fault-free calibration run failed: {}",
                    verdict.reasons.join("; ")
                ))
            }
        };
        Ok(Prepared {
            setup: setup(options, liveness_bound_ms(fault_free_ms)),
            fault_free_ms,
            window_ms: fault_free_ms * FAULT_WINDOW_PERCENT / 100,
            hosts,
            faults: options.faults.clone(),
        })
    }

    /// The schedule of `seed`.
    pub fn schedule(&self, seed: u64) -> Schedule {
        schedule::draw(seed, &self.faults, &self.hosts, self.window_ms)
    }

    /// Simulates `seed` and judges it.
    pub fn run_seed(&self, seed: u64) -> SeedOutcome {
        run_seed(&self.setup, self.schedule(seed))
    }
}

fn setup(options: &Options, liveness_ms: u64) -> Setup {
    Setup {
        scenario: options.scenario.clone(),
        step_minutes: options.step_minutes,
        policy: options.policy.clone(),
        data_root: options.data_root.clone(),
        liveness_ms,
    }
}

/// Runs every seed of `options` and sums them up; `report` is called with
/// each seed's outcome as it ends (in no fixed order across threads).
pub fn run(options: &Options, report: &(dyn Fn(&SeedOutcome) + Sync)) -> Result<Summary, String> {
    let began = Instant::now();
    let prepared = Prepared::new(options)?;
    let next = AtomicU64::new(0);
    let outcomes = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..options.threads.max(1) {
            scope.spawn(|| {
                if let Some(hook) = &options.on_thread {
                    hook();
                }
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= options.seeds {
                        break;
                    }
                    let outcome = prepared.run_seed(options.seed_base + i);
                    report(&outcome);
                    outcomes
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(outcome);
                }
            });
        }
    });
    let mut outcomes = outcomes.into_inner().unwrap_or_else(|e| e.into_inner());
    outcomes.sort_by_key(|o| o.seed);
    Ok(summarise(options, &outcomes, prepared.fault_free_ms, began))
}

/// One seed: simulate, then judge.
pub fn run_seed(setup: &Setup, schedule: Schedule) -> SeedOutcome {
    let simulated: Simulated = world::simulate(setup, &schedule);
    let verdict = verdict::judge(&simulated, &schedule);
    SeedOutcome {
        seed: schedule.seed,
        schedule,
        verdict,
        simulated_ms: simulated.elapsed_ms,
        message_faults: simulated.message_faults,
        nodes_restarted: simulated.restarts.len() as u64,
    }
}

/// The command that replays `seed` alone, exactly.
pub fn replay_command(options: &Options, seed: u64) -> String {
    let faults: Vec<&str> = options.faults.iter().map(|k| k.name()).collect();
    let faults = if faults.is_empty() {
        "none".to_string()
    } else {
        faults.join(",")
    };
    let policy = if options.policy == Policy::default() {
        String::new()
    } else {
        format!(" --policy {}", options.policy)
    };
    format!(
        "pairctl sim --scenario {} --seed {seed} --faults {faults} --step-minutes {}{policy}",
        options.scenario_path.display(),
        options.step_minutes
    )
}

fn summarise(
    options: &Options,
    outcomes: &[SeedOutcome],
    fault_free_ms: u64,
    began: Instant,
) -> Summary {
    let wall_ms = began.elapsed().as_millis() as u64;
    let mut faults: BTreeMap<String, u64> = FaultKind::ALL
        .iter()
        .filter(|k| options.faults.contains(k))
        .map(|k| (k.name().to_string(), 0))
        .collect();
    let mut summary = Summary {
        scenario: options.scenario.name.clone(),
        seeds: outcomes.len() as u64,
        failed: Vec::new(),
        faults: BTreeMap::new(),
        requests_faulted: RequestsFaulted::default(),
        nodes_restarted: 0,
        units_lost: 0,
        units_double_counted: 0,
        cases_accepted: 0,
        cases_closed: 0,
        wall_ms,
        seeds_per_minute: outcomes.len() as f64 * 60_000.0 / wall_ms.max(1) as f64,
        fault_free_simulated_ms: fault_free_ms,
    };
    for o in outcomes {
        for (kind, count) in faults.iter_mut() {
            let kind = FaultKind::ALL.iter().find(|k| k.name() == kind).copied();
            *count += kind.map_or(0, |k| o.schedule.count(k));
        }
        summary.nodes_restarted += o.nodes_restarted;
        let r = &mut summary.requests_faulted;
        r.dropped += o.message_faults.dropped_requests;
        r.answer_lost += o.message_faults.dropped_replies;
        r.handled_twice += o.message_faults.duplicated;
        r.delayed += o.message_faults.delayed;
        let v = &o.verdict;
        summary.units_lost += v.units_lost;
        summary.units_double_counted += v.units_double_counted;
        summary.cases_accepted += v.cases_accepted;
        summary.cases_closed += v.cases_closed;
        if !v.passed() {
            summary.failed.push(Failed {
                seed: o.seed,
                reason: v.reasons.join("; "),
                replay: replay_command(options, o.seed),
            });
        }
    }
    summary.faults = faults;
    summary
}
