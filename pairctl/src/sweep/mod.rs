//! `pairctl sweep`: what a policy does for patients. Runs every policy and
//! seed of a scenario as a whole cluster in the simulator ([`crate::sim`],
//! fault-free: the question is the policy's, not the network's), reads each
//! run's report, and writes what it found.
//!
//! - this file: the runs, over a few threads, with a progress line;
//! - [`results`]: `results.csv` (a row per policy, seed and city) and
//!   `summary.md` (per policy, means with 95 % intervals and differences
//!   from `historical`, paired by seed);
//! - [`plots`]: the plots, PNG and SVG.

pub mod plots;
pub mod results;

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use counterpart_domain::policy::Policy;
use counterpart_domain::scenario::Scenario;
use serde_json::Value;

use crate::sim::schedule;
use crate::sim::world::{self, Setup};

/// A fault-free hubei-2020 run ends within seconds of simulated time; a
/// run still going after a simulated hour is stuck, and is an error.
pub const RUN_LIMIT_MS: u64 = 3_600_000;

/// What to sweep.
pub struct Options {
    pub scenario: Arc<Scenario>,
    pub policies: Vec<Policy>,
    /// Seeds 1..=seeds, the same for every policy (so differences pair up).
    pub seeds: u64,
    pub step_minutes: u32,
    pub threads: usize,
    pub data_root: PathBuf,
    /// Draw the progress line on stderr.
    pub progress: bool,
}

/// One run: a policy, a seed and central's report of it.
pub struct Run {
    pub policy: String,
    pub seed: u64,
    pub report: Value,
}

/// Runs every policy and seed; fails on the first run that does not finish.
pub fn run(options: &Options) -> Result<Vec<Run>, String> {
    let jobs: Vec<(usize, u64)> = (0..options.policies.len())
        .flat_map(|p| (1..=options.seeds).map(move |s| (p, s)))
        .collect();
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let runs = Mutex::new(Vec::with_capacity(jobs.len()));
    let failure: Mutex<Option<String>> = Mutex::new(None);
    let began = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..options.threads.max(1) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(&(p, seed)) = jobs.get(i) else { break };
                if failure.lock().unwrap_or_else(|e| e.into_inner()).is_some() {
                    break;
                }
                let policy = &options.policies[p];
                match run_one(options, policy, seed) {
                    Ok(run) => runs.lock().unwrap_or_else(|e| e.into_inner()).push(run),
                    Err(e) => {
                        let mut f = failure.lock().unwrap_or_else(|e| e.into_inner());
                        f.get_or_insert(format!("policy {policy}, seed {seed}: {e}"));
                    }
                }
                let finished = done.fetch_add(1, Ordering::Relaxed) + 1;
                if options.progress {
                    progress(finished, jobs.len(), policy, seed, began);
                }
            });
        }
    });
    if options.progress {
        eprintln!();
    }
    if let Some(e) = failure.into_inner().unwrap_or_else(|e| e.into_inner()) {
        return Err(e);
    }
    let mut runs = runs.into_inner().unwrap_or_else(|e| e.into_inner());
    let order = |r: &Run| {
        let p = options.policies.iter().position(|p| p.label() == r.policy);
        (p, r.seed)
    };
    runs.sort_by_key(order);
    Ok(runs)
}

/// One policy and seed in the simulator, fault-free, to its report.
fn run_one(options: &Options, policy: &Policy, seed: u64) -> Result<Run, String> {
    let setup = Setup {
        scenario: options.scenario.clone(),
        step_minutes: options.step_minutes,
        policy: policy.clone(),
        data_root: options.data_root.join(plots::sanitise(policy.label())),
        liveness_ms: RUN_LIMIT_MS,
    };
    let fault_free = schedule::draw(seed, &[], &setup.hosts(), 1);
    let simulated = world::simulate(&setup, &fault_free);
    if let Some(e) = simulated.error {
        return Err(e);
    }
    let report = simulated
        .report
        .ok_or("the run ended without a report from central")?;
    Ok(Run {
        policy: policy.label().to_string(),
        seed,
        report,
    })
}

/// `[#####.....] 23/50  delay:3 seed 4  41 s`, redrawn in place.
fn progress(done: usize, total: usize, policy: &Policy, seed: u64, began: Instant) {
    const WIDTH: usize = 30;
    let filled = WIDTH * done / total.max(1);
    let bar: String = "#".repeat(filled) + &".".repeat(WIDTH - filled);
    let mut err = std::io::stderr().lock();
    let _ = write!(
        err,
        "\r[{bar}] {done}/{total}  {policy} seed {seed}  {:.0} s   ",
        began.elapsed().as_secs_f64()
    );
    let _ = err.flush();
}
