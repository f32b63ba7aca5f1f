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
//! - `supervision`: evaluations, demobilisation and closure.
//! - `outbound`: what central sends, and the resend queue.
//! - `persist`: the authority's durable form, saved after every change.
//! - `queries`: status, pairing table, ledger and run report for operators.

mod adjustments;
mod decision;
mod launch;
pub mod outbound;
mod persist;
mod persist_legacy;
mod queries;
mod reports;
mod supervision;

use std::collections::BTreeMap;
use std::sync::Arc;

use counterpart_domain::applied::AppliedIds;
use counterpart_domain::clock::{Clock, ScenarioTime};
use counterpart_domain::quantities::Quantities;
use counterpart_domain::scenario::{PairingMode, Scenario};
use node_kit::header::HeaderFactory;
use pairing_proto::v1::{Ack, MessageHeader, Role};
use tonic::Status;

use crate::case::Case;
use crate::ledger::Ledger;
use outbound::{Message, Outbound, ResendQueue};

/// The node id central registers nodes under and signs its messages with.
pub const CENTRAL_ID: &str = "central";

/// Messages handed out and not yet answered; far above what one run has
/// in flight at once (the courier itself holds at most a few thousand).
const MAX_IN_FLIGHT: usize = 100_000;

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
/// ([`node_kit::durable::Durable::published`]); the copy shares the header
/// factory but never sends.
#[derive(Debug, Clone)]
pub struct Authority {
    scenario: Arc<Scenario>,
    mode: PairingMode,
    day_ms: i64,
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
    outbox: Vec<Outbound>,
    /// Whether the last tick changed anything durable (not saved itself).
    last_tick_changed: bool,
    /// Handed to the driver, outcome not known yet: sent again by a
    /// restarted central (receivers apply a message id once).
    in_flight: Vec<Outbound>,
    resends: ResendQueue,
    /// What changed since the journal last took the changes.
    unsaved: persist::Unsaved,
}

impl Authority {
    pub fn new(scenario: Arc<Scenario>, day_ms: i64, mode: Option<PairingMode>) -> Self {
        assert!(
            counterpart_domain::clock::DAY_MS_RANGE.contains(&day_ms),
            "day_ms {day_ms}: start() checks it first"
        );
        let mode = mode.unwrap_or(scenario.rules.pairing_mode);
        Authority {
            scenario,
            mode,
            day_ms,
            headers: Arc::new(node_kit::header::this_life(CENTRAL_ID)),
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
            outbox: Vec::new(),
            last_tick_changed: false,
            in_flight: Vec::new(),
            resends: ResendQueue::default(),
            unsaved: persist::Unsaved::default(),
        }
    }

    pub fn clock(&self) -> Option<Clock> {
        self.clock
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
            self.close_finished_cases(now.scenario);
            if self.finished_at.is_none() && self.is_finished(now.scenario) {
                self.finished_at = Some(now.scenario);
            }
        }
        let mut out = std::mem::take(&mut self.outbox);
        for due in self.resends.take_due(now.scenario) {
            // Owed from now, no longer at a later round.
            self.unsaved.owe(due.message_id());
            out.push(due);
        }
        self.in_flight.extend(out.iter().cloned());
        debug_assert!(
            self.in_flight.len() <= MAX_IN_FLIGHT,
            "in flight grows without bound"
        );
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

    /// The outcome of sending `outbound`: a failed send gets another round
    /// later, up to a bound.
    pub fn on_sent(&mut self, outbound: Outbound, outcome: Result<(), Status>, now: ScenarioTime) {
        if let Some(i) = self.in_flight.iter().position(|o| *o == outbound) {
            self.in_flight.swap_remove(i);
        }
        self.unsaved.owe(outbound.message_id());
        let Err(status) = outcome else { return };
        let kind = outbound.kind().message;
        let to = outbound.to.clone();
        if !self.resends.schedule(outbound, now) {
            tracing::error!(kind, %to, code = ?status.code(), "giving up on message after all rounds");
        }
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
        self.unsaved.owe(outbound.message_id());
        self.outbox.push(outbound);
    }

    /// The registered sender of `header`, which must have `role`.
    fn registered_sender(&self, header: &MessageHeader, role: Role) -> Result<&NodeEntry, Status> {
        let node = self.nodes.get(&header.sender_id).ok_or_else(|| {
            Status::not_found(format!(
                "header.sender_id: {:?} is not registered",
                header.sender_id
            ))
        })?;
        if node.role != role {
            return Err(Status::permission_denied(format!(
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
    fn donor_of(&self, a: &crate::case::AssignmentRecord) -> pairing_proto::v1::Donor {
        pairing_proto::v1::Donor {
            province_id: a.province_id.clone(),
            endpoint: self.endpoint_of(&a.province_id),
            reason: a.reason.clone(),
            score: a.score,
        }
    }

    fn require_clock(&self) -> Result<Clock, Status> {
        self.clock.ok_or_else(|| {
            Status::failed_precondition(
                "header: the scenario clock has not started: not every node has registered",
            )
        })
    }

    fn case_of(&self, case_id: &str) -> Result<&Case, Status> {
        self.cases
            .get(case_id)
            .ok_or_else(|| Status::not_found(format!("case_id: unknown case {case_id:?}")))
    }

    /// Answers a message already applied, if it was. Ids are remembered per
    /// sender, so no node can suppress another's message by reusing its id.
    fn replay(&self, header: &MessageHeader) -> Option<Ack> {
        self.applied
            .reply_for(&applied_key(header))
            .map(|_| Ack { duplicate: true })
    }

    fn remember(&mut self, header: &MessageHeader) -> Ack {
        let ack = Ack { duplicate: false };
        self.applied.record(&applied_key(header), ack);
        ack
    }
}

fn applied_key(header: &MessageHeader) -> String {
    format!("{}/{}", header.sender_id, header.message_id)
}

#[cfg(test)]
mod journal_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod version_tests;
