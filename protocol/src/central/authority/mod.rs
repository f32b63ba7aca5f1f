//! The central authority's state machine: plain code, no I/O.
//!
//! Every incoming message is a method that validates it, changes state only
//! when it is acceptable, and answers; [`Authority::on_tick`] advances what
//! the passage of scenario time triggers (the decision window, evaluations,
//! closures) and returns the messages to send. The gRPC service and the
//! driver are thin adapters around it, so tests drive the real logic with
//! any times and messages they like.
//!
//! - `launch`: registration, the clock, capacity reports.
//! - `decision`: requests, assessment, pairing, acknowledgements.
//! - `reports`: supervisory reports into the ledger, cross-checked.
//! - `adjustments`: release and replace a donor, raise targets.
//! - `mediation`: disputes between the paired sides, and rulings.
//! - `supervision`: evaluations, demobilisation and closure.
//! - `tallies`: the cities' daily tallies from their reports, kept a
//!   record per city and day.
//! - `outbound`: what central sends, and the key each owed message is
//!   kept under in the protocol's outbox ([`crate::outbox::Outbox`]).
//! - `persist`: the authority's durable form, saved after every change;
//!   `persist_legacy`: the previous release's whole-state document.
//! - `queries`: status, pairing table, ledger and run report for operators.

mod adjustments;
mod decision;
mod launch;
pub use launch::{
    ClockPlan, DEFAULT_BARRIER_WAIT_S, DEFAULT_SEED, DEFAULT_STEP_MINUTES, STEP_MINUTES_RANGE,
};
mod mediation;
pub mod outbound;
mod persist;
mod persist_legacy;
mod queries;
mod reports;
pub use reports::ReportRecords;
mod supervision;
mod tallies;

use std::collections::BTreeMap;
use std::sync::Arc;

use counterpart_domain::applied::AppliedIds;
use counterpart_domain::clock::{Clock, ScenarioTime};
use counterpart_domain::quantities::Quantities;
use counterpart_domain::scenario::{PairingMode, Scenario};
use counterpart_domain::tally::Tally;
use pairing_proto::v1::{Ack, MessageHeader, Role, ScenarioClock};

use crate::central::case::Case;
use crate::central::ledger::Ledger;
use crate::central::roster::Roster;
use crate::header::HeaderFactory;
use crate::inbox::Inbox;
use crate::outbox::{Delivery, Outbox};
use crate::refusal::Refusal;
use crate::resend::RoundOutcome;
use outbound::{Message, Outbound, OwedId};

/// The node id central registers nodes under and signs its messages with.
pub const CENTRAL_ID: &str = "central";

/// The present moment as central sees it: scenario time for the protocol,
/// wall time for measuring latency and starting the clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Now {
    pub scenario: ScenarioTime,
    pub unix_ms: i64,
}

/// A registered node.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NodeEntry {
    pub role: Role,
    pub endpoint: String,
    /// The protocol version it stated when it registered: 0 for a node
    /// that predates the field (it speaks `version::UNSTATED`).
    #[serde(default)]
    pub protocol_version: u32,
    /// Optional message kinds it declared it handles.
    #[serde(default)]
    pub features: Vec<String>,
}

/// A donor's standing as last reported.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct DonorStanding {
    pub pool: Quantities,
    pub outbreak_level: i32,
}

/// Cloned only to publish a copy for operator queries
/// (`node_kit::durable::Durable::published`); the copy shares the header
/// factory but never sends.
#[derive(Debug, Clone)]
pub struct Authority {
    scenario: Arc<Scenario>,
    /// The scenario's nodes by id.
    roster: Arc<Roster>,
    mode: PairingMode,
    day_ms: i64,
    /// How the clock runs once started (the command line's).
    plan: ClockPlan,
    /// The policy central acts under, as written (the command line's;
    /// already applied to `scenario`'s rules).
    policy: String,
    /// Lockstep: why the clock stopped short of the run's end (a node
    /// never finished its step), for the operator and the report.
    stalled: Option<String>,
    /// Lockstep: the clock stopped at the run's end (not saved: a restarted
    /// central takes one more step, which changes nothing, and stops).
    clock_stopped: bool,
    headers: Arc<HeaderFactory>,
    clock: Option<Clock>,
    nodes: BTreeMap<String, NodeEntry>,
    donors: BTreeMap<String, DonorStanding>,
    cases: BTreeMap<String, Case>,
    /// Requests so far per city, for case ids.
    requests_per_city: BTreeMap<String, u32>,
    /// The case each request message opened, so a resent request gets the
    /// same case id back.
    request_ids: BTreeMap<String, String>,
    /// The case of each assignment id.
    assignment_cases: BTreeMap<String, String>,
    /// When the first request arrived: the decision window runs from it.
    first_request_at: Option<ScenarioTime>,
    /// Latest request or closure: the run is over when it is long past.
    last_activity_at: ScenarioTime,
    /// When the run was first seen finished.
    finished_at: Option<ScenarioTime>,
    ledger: Ledger,
    applied: AppliedIds<Ack>,
    /// Message counters reported by each node.
    node_messages: BTreeMap<String, BTreeMap<String, u64>>,
    /// The cities' daily tallies, a record per city and day (`tallies`).
    tallies: BTreeMap<String, Tally>,
    /// Every message owed until its receiver takes it: due (new, or
    /// waiting for its next round), or handed to the driver with the
    /// outcome not known yet, which a restarted central sends again
    /// (receivers apply a message id once).
    owed: Outbox<OwedId, Outbound>,
    /// Whether the last tick changed anything durable (not saved itself).
    last_tick_changed: bool,
    /// What changed since the journal last took the changes.
    unsaved: persist::Unsaved,
}

impl Authority {
    /// A fresh authority. `boot` stamps the ids of the messages it sends
    /// and must differ from every earlier life's (receivers take a reused
    /// id for a resend): the node's edge passes its wall ms at start.
    pub fn new(scenario: Arc<Scenario>, day_ms: i64, mode: Option<PairingMode>, boot: i64) -> Self {
        assert!(
            counterpart_domain::clock::DAY_MS_RANGE.contains(&day_ms),
            "day_ms {day_ms}: start() checks it first"
        );
        let mode = mode.unwrap_or(scenario.rules.pairing_mode);
        Authority {
            roster: Arc::new(Roster::of(&scenario)),
            scenario,
            mode,
            day_ms,
            plan: ClockPlan::wall(launch::DEFAULT_SEED),
            policy: "scenario".to_string(),
            stalled: None,
            clock_stopped: false,
            headers: Arc::new(HeaderFactory::new(CENTRAL_ID, boot)),
            clock: None,
            nodes: BTreeMap::new(),
            donors: BTreeMap::new(),
            cases: BTreeMap::new(),
            requests_per_city: BTreeMap::new(),
            request_ids: BTreeMap::new(),
            assignment_cases: BTreeMap::new(),
            first_request_at: None,
            last_activity_at: ScenarioTime(0),
            finished_at: None,
            ledger: Ledger::default(),
            applied: AppliedIds::default(),
            node_messages: BTreeMap::new(),
            tallies: BTreeMap::new(),
            owed: Outbox::default(),
            last_tick_changed: false,
            unsaved: persist::Unsaved::default(),
        }
    }

    pub fn clock(&self) -> Option<Clock> {
        self.clock
    }

    /// The same authority, running its clock as `plan` says once it starts
    /// (a clock already started, restored from disk, keeps its way).
    pub fn with_clock_plan(mut self, plan: ClockPlan) -> Self {
        self.plan = plan;
        self
    }

    pub fn clock_plan(&self) -> ClockPlan {
        self.plan
    }

    /// The same authority, reporting that it acts under `policy` (applied
    /// by whoever built its scenario: [`counterpart_domain::policy`]).
    pub fn with_policy(mut self, policy: &str) -> Self {
        self.policy = policy.to_string();
        self
    }

    pub fn policy(&self) -> &str {
        &self.policy
    }

    /// Lockstep: central's own present moves to `t`, the step it grants
    /// now (saved with the authority: a restarted central resumes there).
    /// Returns the clock as the grant carries it.
    pub fn grant(&mut self, t: ScenarioTime) -> Option<ScenarioClock> {
        let clock = self.clock.as_mut()?;
        clock.grant(t);
        let clock = *clock;
        Some(self.wire_clock(clock))
    }

    /// The registered nodes, in the order of their ids: the order a
    /// lockstep step lets them act in.
    pub fn nodes(&self) -> impl Iterator<Item = (&String, &NodeEntry)> {
        self.nodes.iter()
    }

    /// Lockstep: the clock stops here, for `why` (a named error the
    /// operator reads in the log, the status and the report).
    pub fn stall(&mut self, why: String) {
        self.stalled = Some(why);
    }

    pub fn stalled(&self) -> Option<&str> {
        self.stalled.as_deref()
    }

    /// Lockstep: the run has finished and the clock stops for good.
    pub fn stop_clock(&mut self) {
        self.clock_stopped = true;
    }

    /// Whether the clock is (or, before it starts, will be) lockstep.
    pub fn lockstep(&self) -> bool {
        self.clock
            .map_or(self.plan.step_minutes.is_some(), |c| c.is_lockstep())
    }

    /// Whether central still owes a message to anyone.
    pub fn owes_messages(&self) -> bool {
        !self.owed.is_empty()
    }

    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    pub fn cases(&self) -> impl Iterator<Item = &Case> {
        self.cases.values()
    }

    /// When the run finished (see `is_finished`), once it has.
    pub fn finished_at(&self) -> Option<ScenarioTime> {
        self.finished_at
    }

    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// Advances what time triggers and returns every message to send now.
    pub fn on_tick(&mut self, now: Now) -> Vec<Outbound> {
        let finished_before = self.finished_at;
        if self.clock.is_some() {
            self.decide_due_pairings(now.scenario, now.unix_ms);
            self.evaluate_due_assignments(now.scenario);
            self.rule_due_disputes(now.scenario);
            self.close_finished_cases(now.scenario);
            if self.finished_at.is_none() && self.is_finished(now.scenario) {
                self.finished_at = Some(now.scenario);
            }
        }
        let out = self.take_due(now.scenario);
        // Every change a tick makes (a pairing, an evaluation, a closure)
        // sends a message, but for noting when the run finished.
        self.last_tick_changed = !out.is_empty() || self.finished_at != finished_before;
        out
    }

    /// Whether the last [`Authority::on_tick`] changed anything that must
    /// be saved; a tick that found nothing due did not.
    pub fn last_tick_changed(&self) -> bool {
        self.last_tick_changed
    }

    /// The outcome of a round of sending `outbound`, as the edge classified
    /// it: a failed round is followed by another later, under the
    /// protocol's one policy, up to its bound.
    ///
    /// Central sends a refused message again too: a province or city
    /// refuses what central sends before its own clock has started (the
    /// clock start may still be on its way), and takes it in a later round.
    pub fn on_sent(&mut self, outbound: Outbound, outcome: RoundOutcome, now: ScenarioTime) {
        let id = OwedId::of(&outbound);
        let policy = match outcome {
            RoundOutcome::Refused => RoundOutcome::Transient,
            other => other,
        };
        // `None`: not owed (an outcome of a previous life's send).
        let Some(delivery) = self.owed.settle(&id, policy, now) else {
            return;
        };
        self.unsaved.owe(id.as_ref());
        if delivery.is_settled() {
            self.owed.remove(&id);
        }
        if delivery == Delivery::GaveUp {
            tracing::error!(kind = outbound.kind().message, to = %outbound.to, last = ?outcome,
                "giving up on message after all rounds");
        }
    }

    /// The owed messages due at `now`, each handed out (in flight) with
    /// the rounds it has had.
    fn take_due(&mut self, now: ScenarioTime) -> Vec<Outbound> {
        // A message waiting for a later round is journaled with its time;
        // handed out, it is owed from now (see `persist::journaled`).
        let waiting: Vec<OwedId> = (self.owed.iter())
            .filter(|(_, owed)| {
                persist::journaled(owed.delivery)
                    .0
                    .is_some_and(|at| at <= now)
            })
            .map(|(id, _)| id.clone())
            .collect();
        for id in &waiting {
            self.unsaved.owe(id.as_ref());
        }
        let due = self.owed.take_due(now);
        due.into_iter()
            .map(|(id, mut outbound)| {
                if let Some(owed) = self.owed.get(&id) {
                    outbound.rounds = persist::journaled(owed.delivery).1;
                }
                outbound
            })
            .collect()
    }

    // ---- helpers shared by the submodules ----

    fn header(&self, now: ScenarioTime) -> MessageHeader {
        self.headers.header(now)
    }

    fn send(&mut self, to: &str, message: Message) {
        let Some(node) = self.nodes.get(to) else {
            // Pairing only picks registered donors and cities must register
            // before they can ask for help, so this is a bug, not bad input.
            debug_assert!(false, "send to unregistered node {to}");
            tracing::error!(%to, "cannot send: node not registered");
            return;
        };
        let outbound = Outbound {
            to: to.to_string(),
            endpoint: node.endpoint.clone(),
            message,
            rounds: 0,
        };
        let kind = outbound.kind();
        if !kind.handled_by(&node.features) {
            // A node of an older release: it would refuse the kind, or
            // worse, not know the RPC. What it cannot hear is not sent.
            tracing::warn!(%to, kind = kind.message, feature = ?kind.feature,
                "not sent: the node did not declare the feature");
            return;
        }
        let id = OwedId::of(&outbound);
        if let Err(refusal) = self.owed.push(id.clone(), outbound) {
            // Central owes a few messages per case and node; a full outbox
            // means receivers have refused everything for a week.
            debug_assert!(false, "{refusal}");
            tracing::error!(%to, %refusal, "cannot send: too many messages owed");
            return;
        }
        self.unsaved.owe(id.as_ref());
    }

    /// The registered sender of `header`, which must have `role`.
    fn registered_sender(&self, header: &MessageHeader, role: Role) -> Result<&NodeEntry, Refusal> {
        let node = self.nodes.get(&header.sender_id).ok_or_else(|| {
            Refusal::not_found(format!(
                "header.sender_id: {:?} is not registered",
                header.sender_id
            ))
        })?;
        if node.role != role {
            return Err(Refusal::permission_denied(format!(
                "header.sender_id: {:?} is registered as {:?}, not {:?}",
                header.sender_id, node.role, role
            )));
        }
        Ok(node)
    }

    /// The endpoint `id` registered, or empty if it has not.
    fn endpoint_of(&self, id: &str) -> String {
        self.nodes
            .get(id)
            .map(|n| n.endpoint.clone())
            .unwrap_or_default()
    }

    /// A donor of a case as the wire names it, with where to reach it.
    fn donor_of(&self, a: &crate::central::case::AssignmentRecord) -> pairing_proto::v1::Donor {
        pairing_proto::v1::Donor {
            province_id: a.province_id.clone(),
            endpoint: self.endpoint_of(&a.province_id),
            reason: a.reason.clone(),
            score: a.score,
        }
    }

    fn require_clock(&self) -> Result<Clock, Refusal> {
        self.clock.ok_or_else(|| {
            Refusal::failed_precondition(
                "header: the scenario clock has not started: not every node has registered",
            )
        })
    }

    fn case_of(&self, case_id: &str) -> Result<&Case, Refusal> {
        self.cases
            .get(case_id)
            .ok_or_else(|| Refusal::not_found(format!("case_id: unknown case {case_id:?}")))
    }

    /// Answers a message already applied, if it was. Ids are remembered per
    /// sender ([`crate::inbox::key`]), so no node can suppress another's
    /// message by reusing its id.
    fn replay(&self, header: &MessageHeader) -> Option<Ack> {
        self.applied
            .answered(header)
            .map(|_| Ack { duplicate: true })
    }

    fn remember(&mut self, header: &MessageHeader) -> Ack {
        let ack = Ack { duplicate: false };
        self.applied.remember(header, ack);
        ack
    }
}

#[cfg(test)]
mod hubei_tests;
#[cfg(test)]
mod journal_tests;
#[cfg(test)]
mod mediation_tests;
#[cfg(test)]
mod owed_tests;
// The planted bug of closing a case (`crate::planted`).
#[cfg(all(test, feature = "planted-bugs"))]
mod planted_tests;
#[cfg(test)]
mod reports_tests;
#[cfg(test)]
mod tallies_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod version_tests;
