//! One seed's simulation: every node of the scenario as a turmoil host
//! running its own `start` (service, state machine, driver, SQLite store),
//! an observer that waits for the run's end and reads central's report and
//! every node's books, and the seed's faults applied as simulated time
//! passes.
//!
//! Inside the simulation there is no TLS and no OpenTelemetry export: the
//! hosts serve plain HTTP/2 (the process and container suites cover mutual
//! TLS), and no span leaves the process (an exporter runs threads, which a
//! simulation cannot have).

use std::cell::RefCell;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use counterpart_domain::policy::Policy;
use counterpart_domain::scenario::Scenario;
use node_kit::client::Dialer;
use node_kit::durable::Durability;
use node_kit::faults::{FaultCounts, FaultPlan, FaultRates};
use serde_json::Value;

use super::schedule::{Fault, FaultKind, Schedule};
use crate::central_client::CentralClient;

/// The port every host listens on (each host has its own address).
pub const PORT: u16 = 50051;
/// Central's host name; nodes are named by their scenario ids.
pub const CENTRAL: &str = "central";
/// The observer's host name.
const OBSERVER: &str = "observer";
/// How often the observer asks central whether the run is over.
const OBSERVE_EVERY: Duration = Duration::from_millis(500);
/// Times the observer reads the books again while a node cannot be read.
const BOOK_READS: u32 = 10;
/// One turn of the simulation.
const TICK: Duration = Duration::from_millis(1);
/// A link's latency when nothing is wrong with it: 0 to 1 ms (a message
/// sent in one turn arrives in one of the next two; each turn of every host
/// costs wall time, so a short latency is a fast simulation).
const LATENCY_MS: (u64, u64) = (0, 1);
/// A slow link's most latency.
const SLOW_LINK: Duration = Duration::from_millis(400);
/// How long the supervisor waits before it starts a node that stopped
/// with an error (simulated ms).
const RESTART_AFTER_MS: u64 = 1_000;
/// More restarts than this in one seed fail it: a node that keeps failing
/// is a bug, not a fault.
const MAX_RESTARTS: usize = 20;
/// When the simulated world begins: 2020-01-01, so that the life stamps
/// in message ids are the same on every run of a seed.
const EPOCH_UNIX_S: u64 = 1_577_836_800;

/// What every seed of a run shares.
#[derive(Debug, Clone)]
pub struct Setup {
    pub scenario: Arc<Scenario>,
    /// The lockstep clock's step.
    pub step_minutes: u32,
    /// How central acts.
    pub policy: Policy,
    /// Where each seed's hosts keep their stores (a directory per seed,
    /// removed when the seed is done).
    pub data_root: PathBuf,
    /// Liveness: the run must be over this long (simulated) after its last
    /// fault healed.
    pub liveness_ms: u64,
}

impl Setup {
    /// Every host's name, central's first.
    pub fn hosts(&self) -> Vec<String> {
        let mut hosts = vec![CENTRAL.to_string()];
        hosts.extend(self.scenario.provinces.iter().map(|p| p.id.clone()));
        hosts.extend(self.scenario.cities.iter().map(|c| c.id.clone()));
        hosts
    }
}

/// How one seed's simulation went.
#[derive(Debug, Clone, Default)]
pub struct Simulated {
    /// Central's report with the nodes' books reconciled against its
    /// ledger (`reconcile`), read once central said the run was over.
    pub report: Option<Value>,
    /// Simulated ms when the observer learnt the run was over.
    pub finished_at_ms: Option<u64>,
    /// Simulated ms when the simulation stopped.
    pub elapsed_ms: u64,
    /// Why the simulation failed: a host's error, a stalled clock, or the
    /// liveness bound passed.
    pub error: Option<String>,
    /// Message faults injected, as counted by the plan.
    pub message_faults: FaultCounts,
    /// Nodes that stopped with an error and were started again: `host at
    /// ms: error`.
    pub restarts: Vec<String>,
}

/// What the observer saw, and when it may read the books.
#[derive(Debug, Default)]
struct Seen {
    report: Option<Value>,
    finished_at_ms: Option<u64>,
    /// When the last fault heals (simulated ms): the schedule's, until the
    /// run is over and the loop in [`run`] heals what is left at once.
    heals_at_ms: u64,
    stalled: Option<String>,
    /// Where the run stood when last asked, for a liveness failure.
    last: String,
}

/// Runs `schedule`'s seed to its end (or the liveness bound) and returns
/// what happened. Deterministic: everything runs in this thread, on
/// simulated time, from the seed.
pub fn simulate(setup: &Setup, schedule: &Schedule) -> Simulated {
    let dir = setup.data_root.join(format!("seed-{}", schedule.seed));
    let _ = std::fs::remove_dir_all(&dir);
    node_kit::retry::seed_jitter(Some(schedule.seed));
    let simulated = run(setup, schedule, &dir);
    node_kit::retry::seed_jitter(None);
    let _ = std::fs::remove_dir_all(&dir);
    simulated
}

fn run(setup: &Setup, schedule: &Schedule, dir: &Path) -> Simulated {
    let limit_ms = schedule.healed_at_ms() + setup.liveness_ms;
    let mut sim = turmoil::Builder::new()
        .rng_seed(schedule.seed)
        .epoch(SystemTime::UNIX_EPOCH + Duration::from_secs(EPOCH_UNIX_S))
        .tick_duration(TICK)
        .min_message_latency(Duration::from_millis(LATENCY_MS.0))
        .max_message_latency(Duration::from_millis(LATENCY_MS.1))
        // The run's own bound is checked below, with a better message.
        .simulation_duration(Duration::from_millis(limit_ms + 60_000))
        .build();
    let m = schedule.messages;
    let plan = FaultPlan::new(
        schedule.seed,
        FaultRates {
            drop_request: m.drop,
            drop_reply: m.duplicate,
            duplicate: m.duplicate,
            delay: m.reorder,
            max_delay: Duration::from_millis(300),
        },
    );
    let exits = Exits::default();
    add_hosts(&mut sim, setup, dir, &plan, schedule.seed, &exits);
    // Hosts to start again, and when (simulated ms).
    let mut restarts: Vec<(u64, String)> = Vec::new();
    let seen = Rc::new(RefCell::new(Seen::default()));
    seen.borrow_mut().heals_at_ms = schedule.healed_at_ms();
    sim.client(OBSERVER, observe(seen.clone()));

    let mut out = Simulated::default();
    let events = timeline(&schedule.faults);
    let mut next = 0;
    let mut messages_quiet = false;
    loop {
        let now_ms = sim.elapsed().as_millis() as u64;
        // Once the run is over, what the schedule still holds happens now,
        // in its order: a fault that starts also heals, a host still down
        // restarts, a cut link is repaired. Waiting it out (a long cut is
        // up to 90 s, each simulated ms a turn of every host) tested only
        // that an idle cluster stays idle, and was a third of the small
        // scenario's simulated time (BENCHMARKS.md table 11).
        let over = seen.borrow().finished_at_ms.is_some();
        while next < events.len() && (over || events[next].0 <= now_ms) {
            apply(&mut sim, events[next].1, events[next].2);
            next += 1;
        }
        if over {
            let mut seen = seen.borrow_mut();
            seen.heals_at_ms = seen.heals_at_ms.min(now_ms);
        }
        for (host, error) in exits.borrow_mut().drain(..) {
            out.restarts.push(format!("{host} at {now_ms} ms: {error}"));
            restarts.push((now_ms + RESTART_AFTER_MS, host));
        }
        if out.restarts.len() > MAX_RESTARTS {
            out.error = Some(format!(
                "more than {MAX_RESTARTS} nodes stopped with an error: {}",
                out.restarts.join("; ")
            ));
            break;
        }
        restarts.retain(|(at_ms, host)| {
            let due = *at_ms <= now_ms;
            if due {
                sim.bounce(host.as_str());
            }
            !due
        });
        if !messages_quiet && (over || now_ms >= schedule.messages_until_ms) {
            plan.quiet();
            messages_quiet = true;
        }
        if now_ms > limit_ms {
            out.error = Some(format!(
                "liveness: the run was not over {} ms after the last fault healed (at {} ms); {}",
                setup.liveness_ms,
                schedule.healed_at_ms(),
                seen.borrow().last
            ));
            break;
        }
        match sim.step() {
            Ok(true) => break,
            Ok(false) => {}
            Err(e) => {
                out.error = Some(format!("a host failed: {e}"));
                break;
            }
        }
    }
    out.elapsed_ms = sim.elapsed().as_millis() as u64;
    out.message_faults = plan.counts();
    let mut seen = seen.borrow_mut();
    if let Some(stalled) = seen.stalled.take() {
        out.error
            .get_or_insert(format!("the lockstep clock stalled: {stalled}"));
    }
    out.report = seen.report.take();
    out.finished_at_ms = seen.finished_at_ms;
    out
}

type Software = Pin<Box<dyn Future<Output = turmoil::Result>>>;

/// Central, the provinces and the cities as hosts. Each host's software
/// is its node's own `start`, run until the node stops; a bounced host
/// starts again from its store.
fn add_hosts(
    sim: &mut turmoil::Sim,
    setup: &Setup,
    dir: &Path,
    plan: &Arc<FaultPlan>,
    seed: u64,
    exits: &Exits,
) {
    let scenario = &setup.scenario;
    let central_endpoint = format!("http://{CENTRAL}:{PORT}");
    let listen = format!("0.0.0.0:{PORT}");
    let central = central::CentralConfig {
        concurrency: Default::default(),
        scenario: scenario.clone(),
        listen_addr: listen.clone(),
        day_ms: 0,
        clock: central::authority::ClockPlan::lockstep(setup.step_minutes, seed),
        policy: setup.policy.clone(),
        tls: None,
        data_dir: Some(dir.join(CENTRAL)),
        durability: Durability::Simulated,
        faults: Some(plan.clone()),
    };
    add_host(sim, CENTRAL, exits, move || central::start(central.clone()));
    for p in &scenario.provinces {
        let province = province_node::ProvinceConfig {
            scenario: scenario.clone(),
            province_id: p.id.clone(),
            central_endpoint: central_endpoint.clone(),
            listen_addr: listen.clone(),
            advertise: Some(format!("http://{}:{PORT}", p.id)),
            tls: None,
            data_dir: Some(dir.join(&p.id)),
            durability: Durability::Simulated,
            faults: Some(plan.clone()),
        };
        add_host(sim, &p.id, exits, move || {
            province_node::start(province.clone())
        });
    }
    for c in &scenario.cities {
        let city = city_node::CityConfig {
            scenario: scenario.clone(),
            city_id: c.id.clone(),
            central_endpoint: central_endpoint.clone(),
            listen_addr: listen.clone(),
            advertise: Some(format!("http://{}:{PORT}", c.id)),
            tls: None,
            data_dir: Some(dir.join(&c.id)),
            durability: Durability::Simulated,
            faults: Some(plan.clone()),
        };
        add_host(sim, &c.id, exits, move || city_node::start(city.clone()));
    }
}

/// Adds host `name`, whose software is the node `start` starts, run under
/// [`supervised`]; a bounced host calls `start` again.
fn add_host<S, F>(sim: &mut turmoil::Sim, name: &str, exits: &Exits, start: S)
where
    S: Fn() -> F + 'static,
    F: Future<Output = Result<node_kit::server::RunningNode, String>> + 'static,
{
    let (host, exits) = (name.to_string(), exits.clone());
    sim.host(name, move || -> Software {
        Box::pin(supervised(host.clone(), exits.clone(), start()))
    });
}

/// Hosts whose software stopped with an error, and the error, in the
/// order they stopped: the supervisor restarts them.
type Exits = Rc<RefCell<Vec<(String, String)>>>;

/// A node's software as a host runs it: start it, run it until it stops,
/// and, if it stops with an error, leave the error for the supervisor
/// (the loop in [`run`]) rather than failing the simulation: a node that
/// gives up (say, on registering while central is cut off for minutes)
/// exits, and its supervisor starts it again, as docker compose and
/// `pairctl up` do.
async fn supervised(
    host: String,
    exits: Exits,
    started: impl Future<Output = Result<node_kit::server::RunningNode, String>>,
) -> turmoil::Result {
    let ended = match started.await {
        Ok(node) => node
            .task
            .await
            .unwrap_or_else(|e| Err(format!("node task: {e}"))),
        Err(e) => Err(e),
    };
    if let Err(error) = ended {
        exits.borrow_mut().push((host, error));
    }
    Ok(())
}

/// The observer: asks central every [`OBSERVE_EVERY`] how the run stands;
/// once it is over and every fault has healed (a host may still be down
/// when the run ends: the loop in [`run`] heals it), reads the report and
/// every node's books.
async fn observe(seen: Rc<RefCell<Seen>>) -> turmoil::Result {
    let dialer = Dialer::default();
    let central = CentralClient::via(&dialer, &format!("http://{CENTRAL}:{PORT}"))?;
    loop {
        tokio::time::sleep(OBSERVE_EVERY).await;
        let Ok(status) = central.status().await else {
            continue; // central is down or cut off: ask again
        };
        if !status.clock_stalled.is_empty() {
            seen.borrow_mut().stalled = Some(status.clock_stalled);
            return Ok(());
        }
        seen.borrow_mut().last = where_it_stands(&status);
        if status.finished {
            break;
        }
    }
    seen.borrow_mut().finished_at_ms = Some(simulated_ms());
    while simulated_ms() < seen.borrow().heals_at_ms {
        tokio::time::sleep(OBSERVE_EVERY).await;
    }
    let mut report = crate::report::parse_report(&central.report().await?.json)?;
    let mut books = crate::commands::ledger::reconcile_cluster(&central, &dialer).await?;
    // A node restarted by the last fault may still be starting.
    for _ in 0..BOOK_READS {
        if books.unreachable.is_empty() {
            break;
        }
        tokio::time::sleep(OBSERVE_EVERY).await;
        books = crate::commands::ledger::reconcile_cluster(&central, &dialer).await?;
    }
    report["reconcile"] = serde_json::to_value(&books)?;
    seen.borrow_mut().report = Some(report);
    Ok(())
}

fn simulated_ms() -> u64 {
    turmoil::elapsed().as_millis() as u64
}

/// The scenario time and every case's stage, for a liveness failure.
fn where_it_stands(status: &pairing_proto::v1::ClusterStatus) -> String {
    let cases: Vec<String> = status
        .cases
        .iter()
        .map(|c| format!("{}={}", c.case_id, c.stage))
        .collect();
    format!(
        "central was last at {}, cases {}",
        status.scenario_now,
        cases.join(" ")
    )
}

/// What happens to the network or a host at one moment: the fault, and
/// whether it starts (true) or heals (false).
type Event<'a> = (u64, &'a Fault, bool);

fn timeline(faults: &[Fault]) -> Vec<Event<'_>> {
    let mut events: Vec<Event> = faults
        .iter()
        .flat_map(|f| [(f.at_ms, f, true), (f.heals_at_ms(), f, false)])
        .collect();
    // Stable: two events at one moment keep the schedule's order.
    events.sort_by_key(|e| e.0);
    events
}

fn apply(sim: &mut turmoil::Sim, fault: &Fault, starts: bool) {
    let (a, b) = (fault.a.as_str(), fault.b.as_str());
    match (fault.kind, starts) {
        (FaultKind::Crash, true) => sim.crash(a),
        (FaultKind::Crash, false) => sim.bounce(a),
        (FaultKind::Partition, true) => sim.partition(a, b),
        (FaultKind::Partition, false) => sim.repair(a, b),
        (FaultKind::OneWay, true) => sim.partition_oneway(a, b),
        (FaultKind::OneWay, false) => sim.repair_oneway(a, b),
        (FaultKind::Latency, true) => sim.set_link_max_message_latency(a, b, SLOW_LINK),
        (FaultKind::Latency, false) => {
            sim.set_link_max_message_latency(a, b, Duration::from_millis(LATENCY_MS.1))
        }
        (FaultKind::Hold, true) => sim.hold(a, b),
        (FaultKind::Hold, false) => sim.release(a, b),
        // Message faults are the plan's, not the network's.
        (FaultKind::Drop | FaultKind::Duplicate | FaultKind::Reorder, _) => {}
    }
}
