//! The seeded fault suite: the small scenario under faults chosen by a seed
//! (crashes of central, donors and cities at random moments; one-way and
//! two-way cut links; dropped, duplicated, delayed and so reordered
//! messages), then, once every fault has healed, the checks:
//! - conservation: per case, pair and resource type, shipped = received +
//!   short + in transit, nothing in transit and nothing counted twice at the
//!   end, and central's ledger equal to the nodes' own books;
//! - liveness: every case closed, the run finished within a bound of
//!   scenario days after the last fault healed (measured against a
//!   fault-free run of the same scenario in the same test);
//! - every reply a sender saw as success is in the final state (a province
//!   holds a receipt for exactly the shipments the city counted);
//! - every case's steps in the protocol's order;
//! - the cases the small scenario promises, by city and status;
//! - every fault drawn fired, counted by the nodes: each crashed node
//!   started again, and over the suite each kind of message fault and the
//!   cut links refused messages at the nodes.
//!
//! Seeds: `FAULT_SEEDS` (how many, default 2) from `FAULT_SEED_BASE`
//! (default 1), or one seed with `FAULT_SEED`. A failure prints its seed and
//! schedule; the seed fixes the schedule and the fault draws, not the
//! interleaving of two cores, so a replay reproduces the faults, not every
//! instant.

use std::sync::Arc;
use std::time::{Duration, Instant};

use counterpart_domain::clock::unix_now_ms;
use counterpart_tests::chaos::{self, Fault, Schedule};
use counterpart_tests::checks::{
    books_reconcile, cases_as_expected, legal_order, SMALL_SCENARIO_CASES_UNDER_FAULTS,
};
use counterpart_tests::resilient::ResilientCluster;
use counterpart_tests::scenario_path;
use node_kit::faults::{FaultCounts, FaultPlan, FaultRates, NodeFaults};
use pairing_proto::v1::ScenarioClock;

const DAY_MS: i64 = 150;
/// Scenario days a faulted run may take beyond the later of the fault-free
/// run's end and the last fault's healing plus the quiet period.
const LIVENESS_SLACK_DAYS: f64 = 12.0;
/// Wall-clock bound on one run: the scenario's 68 days and then some.
const RUN_LIMIT: Duration = Duration::from_secs(120);

fn seeds() -> Vec<u64> {
    let var = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    if let Some(seed) = var("FAULT_SEED") {
        return vec![seed];
    }
    let base = var("FAULT_SEED_BASE").unwrap_or(1);
    // Two by default: thousands of seeds run in the simulator (`pairctl sim`,
    // tests/tests/suites/simulator.rs); these runs keep what only real processes
    // show (the writer thread, real TCP, wall time).
    (base..base + var("FAULT_SEEDS").unwrap_or(2)).collect()
}

/// What one seeded run did and found.
#[derive(Debug, Default)]
struct Outcome {
    /// Restarts after a crash, counted by the nodes (starts beyond the first).
    crashes: u32,
    partitions: u32,
    /// Faults the nodes applied to the messages they received.
    faults: FaultCounts,
    cases_closed: usize,
    shipped: i64,
    lost: i64,
    duplicated: i64,
    finished_day: f64,
}

/// A timed action of the schedule.
enum Action<'a> {
    Crash(&'a str),
    Restart(&'a str),
    Cut(&'a str, &'a str, bool),
    Heal(&'a str, &'a str, bool),
}

fn timeline(schedule: &Schedule) -> Vec<(f64, Action<'_>)> {
    let mut actions = Vec::new();
    for fault in &schedule.faults {
        let (start, end) = match fault {
            Fault::Crash { node, .. } => (Action::Crash(node), Action::Restart(node)),
            Fault::Partition {
                from,
                to,
                both_ways,
                ..
            } => (
                Action::Cut(from, to, *both_ways),
                Action::Heal(from, to, *both_ways),
            ),
        };
        actions.push((fault.at_day(), start));
        actions.push((fault.heals_at_day(), end));
    }
    actions.sort_by(|a, b| a.0.total_cmp(&b.0));
    actions
}

/// Scenario days on `clock` now: the scenario runs on wall time, so this
/// holds while central is down too.
fn day_now(clock: &ScenarioClock) -> f64 {
    (unix_now_ms() - clock.epoch_unix_ms) as f64 / clock.day_ms as f64
}

async fn sleep_until_day(clock: &ScenarioClock, day: f64) {
    let wait_days = day - day_now(clock);
    if wait_days > 0.0 {
        tokio::time::sleep(Duration::from_millis(
            (wait_days * clock.day_ms as f64) as u64,
        ))
        .await;
    }
}

async fn clock_of(cluster: &ResilientCluster) -> ScenarioClock {
    let started = Instant::now();
    loop {
        if let Some(clock) = cluster.status().await.and_then(|s| s.clock) {
            return clock;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the clock never started"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Plays `schedule` on a fresh cluster; returns what it found, or why the
/// run broke a promise.
async fn run(schedule: &Schedule, baseline_day: Option<f64>) -> Result<Outcome, String> {
    let m = schedule.messages;
    let plan = FaultPlan::new(
        schedule.seed,
        FaultRates {
            drop_request: m.drop_request,
            drop_reply: m.drop_reply,
            duplicate: m.duplicate,
            delay: m.delay,
            max_delay: Duration::from_millis(300),
        },
    );
    let name = format!("faults-{}", schedule.seed);
    let mut cluster = ResilientCluster::start(
        &scenario_path("small"),
        DAY_MS,
        None,
        &name,
        Some(plan.clone()),
    )
    .await;
    let outcome = play(&mut cluster, schedule, &plan, baseline_day).await;
    cluster.stop().await;
    outcome
}

async fn play(
    cluster: &mut ResilientCluster,
    schedule: &Schedule,
    plan: &Arc<FaultPlan>,
    baseline_day: Option<f64>,
) -> Result<Outcome, String> {
    let clock = clock_of(cluster).await;
    let mut outcome = Outcome::default();
    for (day, action) in timeline(schedule) {
        sleep_until_day(&clock, day).await;
        match action {
            Action::Crash(node) => cluster.node(node).crash().await,
            // Two crashes of one node may overlap: it restarts once.
            Action::Restart(node) if !cluster.node(node).is_running() => cluster
                .node(node)
                .restart()
                .await
                .map_err(|e| format!("{node} did not restart: {e}"))?,
            Action::Restart(_) => {}
            Action::Cut(from, to, both) => {
                if both {
                    plan.partition_both(from, to);
                } else {
                    plan.partition(from, to);
                }
                outcome.partitions += 1;
            }
            Action::Heal(from, to, both) => {
                plan.heal(from, to);
                if both {
                    plan.heal(to, from);
                }
            }
        }
    }
    // Every fault has healed: from here the run must finish on its own.
    plan.heal_all();
    plan.quiet();
    let healed_day = day_now(&clock);
    cluster.try_wait_finished(RUN_LIMIT).await?;
    outcome.finished_day = day_now(&clock);
    let at_nodes = plan.at_nodes();
    outcome.faults = plan.fired();
    outcome.crashes = at_nodes.values().map(|n| n.starts.saturating_sub(1)).sum();
    let mut violations = crashes_fired(schedule, &at_nodes);
    check(
        cluster,
        healed_day,
        baseline_day,
        &mut outcome,
        &mut violations,
    )
    .await;
    if violations.is_empty() {
        Ok(outcome)
    } else {
        Err(format!(
            "{} violations:\n  {}\n{schedule}",
            violations.len(),
            violations.join("\n  ")
        ))
    }
}

/// Every node the schedule crashed started again, by its own count.
fn crashes_fired(
    schedule: &Schedule,
    at_nodes: &std::collections::BTreeMap<String, NodeFaults>,
) -> Vec<String> {
    let mut crashed: Vec<&str> = schedule
        .faults
        .iter()
        .filter_map(|f| match f {
            Fault::Crash { node, .. } => Some(node.as_str()),
            Fault::Partition { .. } => None,
        })
        .collect();
    crashed.sort_unstable();
    crashed.dedup();
    crashed
        .into_iter()
        .filter(|node| at_nodes.get(*node).is_none_or(|n| n.starts < 2))
        .map(|node| format!("crash of {node}: the node never started again ({at_nodes:?})"))
        .collect()
}

/// The run's promises, checked on the report and the nodes' books.
async fn check(
    cluster: &ResilientCluster,
    healed_day: f64,
    baseline_day: Option<f64>,
    outcome: &mut Outcome,
    violations: &mut Vec<String>,
) {
    let report = cluster.report_with_books().await;
    let totals = &report["reconcile"]["totals"];
    for (name, found) in [
        (
            "expected cases",
            cases_as_expected(&report, SMALL_SCENARIO_CASES_UNDER_FAULTS),
        ),
        ("legal order", legal_order(&report)),
        ("nodes' books reconcile", books_reconcile(&report)),
    ] {
        violations.extend(found.into_iter().map(|v| format!("{name}: {v}")));
    }
    if let Some(baseline) = baseline_day {
        let quiet = f64::from(cluster.scenario.rules.quiet_days_to_demobilise);
        let bound = baseline.max(healed_day + quiet) + LIVENESS_SLACK_DAYS;
        if outcome.finished_day > bound {
            violations.push(format!(
                "liveness: finished on day {:.1}, bound {bound:.1} (fault-free run: day {baseline:.1}, healed on day {healed_day:.1})",
                outcome.finished_day
            ));
        }
    }
    outcome.cases_closed = report["cases"].as_array().map_or(0, |cases| {
        cases.iter().filter(|c| c["status"] == "closed").count()
    });
    let total = |k: &str| totals[k].as_i64().unwrap_or(-1);
    outcome.shipped = total("shipped");
    outcome.lost = total("lost");
    outcome.duplicated = total("duplicated");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeded_faults_heal_and_every_unit_is_accounted_for_once() {
    let scenario = counterpart_domain::scenario::load(&scenario_path("small")).unwrap();
    let quiet = Schedule {
        seed: 0,
        faults: vec![],
        messages: chaos::MessageFaults {
            drop_request: 0.0,
            drop_reply: 0.0,
            duplicate: 0.0,
            delay: 0.0,
        },
    };
    let baseline = run(&quiet, None).await.expect("the fault-free run");
    println!(
        "fault-free run: finished on day {:.1}",
        baseline.finished_day
    );
    let mut totals = Outcome::default();
    let seeds = seeds();
    for &seed in &seeds {
        let schedule = chaos::schedule(seed, &scenario);
        print!("{schedule}");
        let outcome = run(&schedule, Some(baseline.finished_day))
            .await
            .unwrap_or_else(|why| {
                panic!(
                    "seed {seed} broke a promise: {why}\nreplay: FAULT_SEED={seed} cargo test -p counterpart-tests --test suites fault_suite:: -- --nocapture"
                )
            });
        println!("  -> {outcome:?}");
        totals.crashes += outcome.crashes;
        totals.partitions += outcome.partitions;
        totals.faults.dropped_requests += outcome.faults.dropped_requests;
        totals.faults.dropped_replies += outcome.faults.dropped_replies;
        totals.faults.duplicated += outcome.faults.duplicated;
        totals.faults.delayed += outcome.faults.delayed;
        totals.faults.partitioned += outcome.faults.partitioned;
        totals.cases_closed += outcome.cases_closed;
        totals.shipped += outcome.shipped;
        totals.lost += outcome.lost;
        totals.duplicated += outcome.duplicated;
    }
    println!(
        "fault suite: {} seeds; {} crashes, {} cut links ({} messages refused on them), {} dropped requests, {} dropped replies, {} duplicated, {} delayed; {} cases closed; {} units shipped, {} lost, {} counted twice",
        seeds.len(),
        totals.crashes,
        totals.partitions,
        totals.faults.partitioned,
        totals.faults.dropped_requests,
        totals.faults.dropped_replies,
        totals.faults.duplicated,
        totals.faults.delayed,
        totals.cases_closed,
        totals.shipped,
        totals.lost,
        totals.duplicated
    );
    assert_eq!((totals.lost, totals.duplicated), (0, 0));
    // Every run draws each message fault at a rate above 0 and cuts links:
    // over the suite, each kind fired at the nodes.
    let fired = totals.faults;
    assert!(
        fired.dropped_requests > 0
            && fired.dropped_replies > 0
            && fired.duplicated > 0
            && fired.delayed > 0
            && fired.partitioned > 0,
        "a kind of fault drawn never fired at the nodes: {fired:?}"
    );
    assert!(totals.crashes > 0, "no crashed node started again");
}
