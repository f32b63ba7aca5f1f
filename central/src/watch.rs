//! `WatchOperation`: the operation as it happens, for the dashboard. Each
//! watcher gets the outline (places and their coordinates), then, every
//! interval, only what changed since its last look: a case's new steps and
//! evaluations, a ledger line whose figures moved, a donor's cost, the
//! pairing table, the message totals. Central compares with what it already
//! sent this watcher, so a reader never has to fetch the whole report.
//!
//! Bounded everywhere: at most [`MAX_WATCHERS`] streams at once, each with a
//! queue of [`QUEUE`] updates; a watcher that takes no update for
//! [`SEND_DEADLINE`] is dropped (its stream ends), and a quiet operation
//! still sends a heartbeat every [`KEEPALIVE`] so the reader can tell quiet
//! from dead. Every stream ends when central shuts down.
//!
//! A look costs what the operation's size does (about a second at ten
//! thousand cases), so it is taken on the blocking pool, skipped when
//! nothing moved, and the next waits at least as long as the last took: a
//! watcher never holds one of central's async workers, and takes at most
//! about half a core.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use node_kit::counters::MessageCounters;
use node_kit::durable::Durable;
use node_kit::trace::CaseTraces;
use pairing_proto::v1::operation_update::Change;
use pairing_proto::v1::{
    CaseChange, CaseStep, DonorCost, EvaluationNote, Heartbeat, LedgerLine, MessageTotals,
    OperationOutline, OperationUpdate, PairingTable, Place, Role, RunFinished, WatchQuery,
};
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tonic::Status;

use crate::authority::Authority;
use crate::report::{self, CaseReport};
use node_kit::service::Machine;

/// Streams open at once; one more is refused with RESOURCE_EXHAUSTED.
pub const MAX_WATCHERS: usize = 16;
/// Updates queued for one watcher.
pub const QUEUE: usize = 256;
/// How long central waits for a watcher to take an update before dropping it.
pub const SEND_DEADLINE: Duration = Duration::from_secs(10);
/// The longest silence on a stream.
pub const KEEPALIVE: Duration = Duration::from_secs(5);
pub const DEFAULT_INTERVAL_MS: u32 = 250;
pub const INTERVALS_MS: std::ops::RangeInclusive<u32> = 50..=10_000;

/// The watchers' shared limits and what every stream needs to read.
#[derive(Debug, Clone)]
pub struct Watchers {
    authority: Arc<Durable<Authority>>,
    counters: Arc<MessageCounters>,
    traces: Arc<CaseTraces>,
    slots: Arc<Semaphore>,
    shutdown: CancellationToken,
}

pub type UpdateStream = tokio_stream::wrappers::ReceiverStream<Result<OperationUpdate, Status>>;

impl Watchers {
    pub fn new(
        authority: Arc<Durable<Authority>>,
        counters: Arc<MessageCounters>,
        traces: Arc<CaseTraces>,
        shutdown: CancellationToken,
    ) -> Self {
        Watchers {
            authority,
            counters,
            traces,
            slots: Arc::new(Semaphore::new(MAX_WATCHERS)),
            shutdown,
        }
    }

    /// Opens a stream for `query`, or says why not.
    pub fn open(&self, query: &WatchQuery) -> Result<UpdateStream, Status> {
        let interval = interval_of(query)?;
        let permit = self.slots.clone().try_acquire_owned().map_err(|_| {
            Status::resource_exhausted(format!(
                "WatchOperation: {MAX_WATCHERS} watchers already; close one first"
            ))
        })?;
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(self.clone().run(interval, tx, permit));
        Ok(UpdateStream::new(rx))
    }

    async fn run(
        self,
        interval: Duration,
        tx: mpsc::Sender<Result<OperationUpdate, Status>>,
        _permit: OwnedSemaphorePermit,
    ) {
        let mut seen = Seen::default();
        // The authority's version and the message counts at the last look:
        // when neither moved, there is nothing new to build or send.
        let mut last_look: Option<(u64, BTreeMap<String, u64>)> = None;
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut quiet_since = tokio::time::Instant::now();
        loop {
            tokio::select! {
                _ = self.shutdown.cancelled() => return,
                _ = tx.closed() => return,
                _ = ticks.tick() => {}
            }
            let (version, authority) = self.authority.published_versioned();
            let counts = self.counters.snapshot();
            let look = (version, counts);
            let mut updates = Vec::new();
            if last_look.as_ref() != Some(&look) {
                let started = tokio::time::Instant::now();
                let seen_so_far = std::mem::take(&mut seen);
                let Some(built) = self.look(authority, look.1.clone(), seen_so_far).await else {
                    return;
                };
                (seen, updates) = built;
                last_look = Some(look);
                // However big the operation, a watcher takes at most about
                // half a core: the next look waits as long as this one took.
                ticks.reset_after(started.elapsed().max(interval));
            }
            if updates.is_empty() && quiet_since.elapsed() >= KEEPALIVE {
                updates.push(update(0, Change::Heartbeat(Heartbeat {})));
            }
            if !updates.is_empty() {
                quiet_since = tokio::time::Instant::now();
            }
            for u in updates {
                if tx.send_timeout(Ok(u), SEND_DEADLINE).await.is_err() {
                    tracing::warn!(
                        "WatchOperation: a watcher took nothing for {SEND_DEADLINE:?}; dropped"
                    );
                    return;
                }
            }
        }
    }

    /// Builds the operation as `authority` has it and what changed since
    /// `seen`, off the async workers: at ten thousand cases this takes
    /// about a second, which on a worker would stall every handler queued
    /// behind it. `None`: the build panicked (a bug, reported), and the
    /// stream ends.
    async fn look(
        &self,
        authority: Arc<Authority>,
        counts: BTreeMap<String, u64>,
        mut seen: Seen,
    ) -> Option<(Seen, Vec<OperationUpdate>)> {
        let traces = self.traces.clone();
        tokio::task::spawn_blocking(move || {
            let now = authority.now();
            let messages = authority.message_totals(&counts);
            let run = report::build_operation(&authority, now.scenario, messages);
            let updates = seen.changes(&authority, &run, &traces, now.scenario.0);
            (seen, updates)
        })
        .await
        .ok()
    }
}

/// The query's interval, or INVALID_ARGUMENT naming the field.
pub fn interval_of(query: &WatchQuery) -> Result<Duration, Status> {
    let ms = match query.interval_ms {
        0 => DEFAULT_INTERVAL_MS,
        ms if INTERVALS_MS.contains(&ms) => ms,
        ms => {
            return Err(Status::invalid_argument(format!(
                "interval_ms: {ms} is outside {}..={} (or 0 for the default {DEFAULT_INTERVAL_MS})",
                INTERVALS_MS.start(),
                INTERVALS_MS.end()
            )))
        }
    };
    Ok(Duration::from_millis(u64::from(ms)))
}

fn update(scenario_ms: i64, change: Change) -> OperationUpdate {
    OperationUpdate {
        scenario_ms,
        change: Some(change),
    }
}

/// What one watcher has been sent.
#[derive(Debug, Default)]
struct Seen {
    outline: bool,
    pairings: Option<PairingTable>,
    /// Per case: its last state line, the steps and evaluations sent.
    cases: BTreeMap<String, SeenCase>,
    ledger: BTreeMap<(String, String, String), LedgerLine>,
    costs: BTreeMap<String, i64>,
    messages: BTreeMap<String, u64>,
    finished: bool,
}

#[derive(Debug, Default)]
struct SeenCase {
    state: (String, String, String, Vec<String>, String),
    steps: BTreeSet<(i64, String, String, String)>,
    evaluations: usize,
}

impl Seen {
    fn changes(
        &mut self,
        authority: &Authority,
        run: &report::RunReport,
        traces: &CaseTraces,
        scenario_ms: i64,
    ) -> Vec<OperationUpdate> {
        let mut out = Vec::new();
        let mut push = |change| out.push(update(scenario_ms, change));
        if !self.outline {
            self.outline = true;
            push(Change::Outline(outline(authority, run)));
        }
        let pairings = authority.pairings();
        if self.pairings.as_ref() != Some(&pairings) {
            self.pairings = Some(pairings.clone());
            push(Change::Pairings(pairings));
        }
        for case in &run.cases {
            let trace_id = traces.trace_id(&case.case_id).unwrap_or_default();
            let seen = self.cases.entry(case.case_id.clone()).or_default();
            if let Some(change) = case_change(seen, case, trace_id) {
                push(Change::CaseChange(change));
            }
        }
        for row in &run.ledger {
            let line = LedgerLine {
                case_id: row.case_id.clone(),
                city_id: row.city.clone(),
                province_id: row.province.clone(),
                resource_type: row.resource_type.clone(),
                target: row.target,
                shipped: row.shipped,
                received: row.received,
                discrepancy: row.discrepancy,
                in_transit: row.in_transit,
            };
            let key = (
                line.case_id.clone(),
                line.province_id.clone(),
                line.resource_type.clone(),
            );
            if self.ledger.get(&key) != Some(&line) {
                self.ledger.insert(key, line.clone());
                push(Change::LedgerLine(line));
            }
        }
        for (province, &cost) in &run.costs {
            if self.costs.get(province) != Some(&cost) {
                self.costs.insert(province.clone(), cost);
                push(Change::Cost(DonorCost {
                    province_id: province.clone(),
                    cost_cny: cost,
                }));
            }
        }
        if self.messages != run.messages {
            self.messages = run.messages.clone();
            push(Change::Messages(MessageTotals {
                by_kind: run.messages.clone().into_iter().collect(),
            }));
        }
        if !self.finished && authority.finished_at().is_some() {
            self.finished = true;
            push(Change::Finished(RunFinished {
                finished_at: run.finished_at.clone(),
            }));
        }
        out
    }
}

/// The case's state and whatever of its timeline this watcher has not had;
/// `None` when nothing changed.
fn case_change(seen: &mut SeenCase, case: &CaseReport, trace_id: String) -> Option<CaseChange> {
    let state = (
        case.status.clone(),
        case.severity.clone(),
        case.reason.clone(),
        case.provinces.clone(),
        trace_id.clone(),
    );
    let mut new_steps = Vec::new();
    for e in &case.events {
        let province = e.province.clone().unwrap_or_default();
        let key = (e.at_ms, e.step.clone(), province.clone(), e.detail.clone());
        if seen.steps.insert(key) {
            new_steps.push(CaseStep {
                at_ms: e.at_ms,
                at: e.at.clone(),
                step: e.step.clone(),
                province_id: province,
                detail: e.detail.clone(),
            });
        }
    }
    let new_evaluations: Vec<EvaluationNote> = (case.evaluations.iter().skip(seen.evaluations))
        .map(|e| EvaluationNote {
            province_id: e.province.clone(),
            kind: e.kind.clone(),
            delivered_fraction: e.delivered_fraction,
            reason: e.reason.clone(),
            at: e.at.clone(),
        })
        .collect();
    seen.evaluations = case.evaluations.len();
    if seen.state == state && new_steps.is_empty() && new_evaluations.is_empty() {
        return None;
    }
    seen.state = state;
    Some(CaseChange {
        case_id: case.case_id.clone(),
        city_id: case.city.clone(),
        province_ids: case.provinces.clone(),
        status: case.status.clone(),
        severity: case.severity.clone(),
        reason: case.reason.clone(),
        trace_id,
        new_steps,
        new_evaluations,
    })
}

fn outline(authority: &Authority, run: &report::RunReport) -> OperationOutline {
    let scenario = authority.scenario();
    let estimated = |list: &[String]| list.iter().any(|f| f == "lat" || f == "lon");
    let place = |id: &str, name: &str, role: Role, location: Option<_>, est: bool| {
        let location: Option<counterpart_domain::scenario::Location> = location;
        Place {
            id: id.to_string(),
            name: name.to_string(),
            role: role as i32,
            located: location.is_some(),
            lat: location.map_or(0.0, |l| l.lat),
            lon: location.map_or(0.0, |l| l.lon),
            location_estimated: est,
        }
    };
    let cities = (scenario.cities.iter()).map(|c| {
        place(
            &c.id,
            &c.name,
            Role::City,
            c.location,
            estimated(&c.estimated),
        )
    });
    let provinces = (scenario.provinces.iter()).map(|p| {
        place(
            &p.id,
            &p.name,
            Role::Province,
            p.location,
            estimated(&p.estimated),
        )
    });
    OperationOutline {
        scenario: run.scenario.clone(),
        mode: run.mode.clone(),
        day_ms: run.day_ms,
        start_date: run.start_date.clone(),
        places: cities.chain(provinces).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_interval_outside_its_range_is_refused_naming_the_field() {
        for ms in [1, 49, 10_001] {
            let status = interval_of(&WatchQuery { interval_ms: ms }).unwrap_err();
            assert_eq!(status.code(), tonic::Code::InvalidArgument);
            assert!(status.message().starts_with("interval_ms:"), "{status:?}");
        }
        let default = interval_of(&WatchQuery { interval_ms: 0 }).unwrap();
        assert_eq!(default, Duration::from_millis(250));
        let chosen = interval_of(&WatchQuery { interval_ms: 1000 }).unwrap();
        assert_eq!(chosen, Duration::from_secs(1));
    }
}
