//! One assistance case as central records it: from the city's request to
//! its closure, with every donor assignment and the ordered list of
//! protocol steps it went through. The record stays after closure.

use counterpart_domain::quantities::Quantities;

use counterpart_domain::clock::ScenarioTime;
use pairing_proto::v1::{AcknowledgementKind, EvaluationKind, Objective, Severity};

/// Where a case stands.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum CaseStage {
    /// Accepted; waiting for the decision window to close.
    AwaitingPairing,
    /// Donors assigned and shipping.
    Implementing,
    /// The city asked to stand down; waiting for the donors' final reports.
    Demobilising,
    Closed,
    Rejected,
}

impl CaseStage {
    pub fn as_str(self) -> &'static str {
        match self {
            CaseStage::AwaitingPairing => "awaiting_pairing",
            CaseStage::Implementing => "implementing",
            CaseStage::Demobilising => "demobilising",
            CaseStage::Closed => "closed",
            CaseStage::Rejected => "rejected",
        }
    }

    /// No further protocol step will happen for the case.
    pub fn is_terminal(self) -> bool {
        matches!(self, CaseStage::Closed | CaseStage::Rejected)
    }
}

/// A protocol step of a case, in the order the protocol allows them.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Step {
    Requested,
    Assessed,
    Paired,
    Assigned,
    Acknowledged,
    Shipped,
    Received,
    Reported,
    Evaluated,
    Adjusted,
    /// A party raised a dispute about its counterpart (mediation).
    DisputeRaised,
    /// Central ruled on a dispute and told both parties.
    Mediated,
    DemobilisationRequested,
    Demobilised,
    FinalReport,
    Closed,
}

impl Step {
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Requested => "requested",
            Step::Assessed => "assessed",
            Step::Paired => "paired",
            Step::Assigned => "assigned",
            Step::Acknowledged => "acknowledged",
            Step::Shipped => "shipped",
            Step::Received => "received",
            Step::Reported => "reported",
            Step::Evaluated => "evaluated",
            Step::Adjusted => "adjusted",
            Step::DisputeRaised => "dispute_raised",
            Step::Mediated => "mediated",
            Step::DemobilisationRequested => "demobilisation_requested",
            Step::Demobilised => "demobilised",
            Step::FinalReport => "final_report",
            Step::Closed => "closed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CaseEvent {
    pub at: ScenarioTime,
    pub step: Step,
    pub province: Option<String>,
    pub detail: String,
}

/// Where one donor's assignment to the case stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum AssignmentStage {
    /// Sent; the donor has not acknowledged it yet.
    Sent,
    Acknowledged,
    /// Released or demobilised: the donor ships nothing more and owes a
    /// final report.
    StandingDown,
    /// Final report received.
    Done,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AssignmentRecord {
    pub assignment_id: String,
    pub province_id: String,
    pub targets: Quantities,
    pub score: f64,
    pub reason: String,
    pub stage: AssignmentStage,
    pub acknowledged_at: Option<ScenarioTime>,
    pub acknowledgement: Option<(AcknowledgementKind, Vec<String>)>,
    pub released: bool,
    pub next_evaluation_at: Option<ScenarioTime>,
    pub evaluations_sent: u32,
    pub adjustments_sent: u32,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EvaluationRecord {
    pub at: ScenarioTime,
    pub province_id: String,
    pub kind: EvaluationKind,
    pub delivered_fraction: f64,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Case {
    pub case_id: String,
    pub city_id: String,
    pub stage: CaseStage,
    pub severity: Severity,
    pub reason: String,
    pub objectives: Vec<Objective>,
    pub targets: Quantities,
    pub requested_at: ScenarioTime,
    pub requested_unix_ms: i64,
    pub decided_at: Option<ScenarioTime>,
    pub decided_unix_ms: Option<i64>,
    pub closed_at: Option<ScenarioTime>,
    /// Revision of the last CaseDecision sent to the city.
    pub revision: u32,
    pub assignments: Vec<AssignmentRecord>,
    pub evaluations: Vec<EvaluationRecord>,
    /// Saved as records of their own (central's journal appends each new
    /// event instead of rewriting the case), so left out of the case's.
    #[serde(skip)]
    pub events: Vec<CaseEvent>,
    pub target_changes: u32,
    /// Disputes raised in the case, in the order they came; absent from
    /// the records of releases before mediation.
    #[serde(default)]
    pub disputes: Vec<DisputeRecord>,
}

/// A dispute raised in a case, and central's ruling once made.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DisputeRecord {
    pub dispute_id: String,
    pub raised_by: String,
    /// The pairing it is about: its assignment and donor.
    pub assignment_id: String,
    pub province_id: String,
    /// `DisputeKind` as on the wire.
    pub kind: i32,
    pub evidence: Vec<pairing_proto::v1::DisputeFigure>,
    pub raised_at: ScenarioTime,
    /// `Ruling` as on the wire; `None` while central waits for its ledger.
    pub ruling: Option<i32>,
}

/// How long a case's history may grow with reports. Each side reports
/// every `report_interval_days` (2 in every scenario here), so a two-month
/// case with two donors records about a hundred; but every report with a
/// fresh id is a new one, so a node could otherwise grow central's memory
/// and journal without end. Past the bound a report still counts (ledger,
/// tallies, retargeting) and is not recorded; every other step is bounded
/// by the protocol's own rules and is always recorded.
pub const MAX_EVENTS_WITH_REPORTS: usize = 4_096;

impl Case {
    /// Records a report, a donor's (`province`) or the city's, while the
    /// history has room ([`MAX_EVENTS_WITH_REPORTS`]); the last it records
    /// says that later ones are not.
    pub fn record_report(&mut self, at: ScenarioTime, province: Option<&str>, detail: String) {
        let room = MAX_EVENTS_WITH_REPORTS.saturating_sub(self.events.len());
        match room {
            0 => {}
            1 => {
                let detail =
                    format!("{detail}; the history is full: later reports are not recorded");
                self.record(at, Step::Reported, province, detail);
            }
            _ => self.record(at, Step::Reported, province, detail),
        }
    }

    pub fn record(&mut self, at: ScenarioTime, step: Step, province: Option<&str>, detail: String) {
        self.events.push(CaseEvent {
            at,
            step,
            province: province.map(str::to_string),
            detail,
        });
    }

    pub fn assignment(&self, assignment_id: &str) -> Option<&AssignmentRecord> {
        self.assignments
            .iter()
            .find(|a| a.assignment_id == assignment_id)
    }

    pub fn assignment_mut(&mut self, assignment_id: &str) -> Option<&mut AssignmentRecord> {
        self.assignments
            .iter_mut()
            .find(|a| a.assignment_id == assignment_id)
    }

    /// The donors currently serving the case (not released).
    pub fn active_donors(&self) -> impl Iterator<Item = &AssignmentRecord> {
        self.assignments.iter().filter(|a| !a.released)
    }

    pub fn has_donor(&self, province_id: &str) -> bool {
        self.assignments
            .iter()
            .any(|a| a.province_id == province_id)
    }
}

/// The deterministic id of an assignment (see docs/PROTOCOL.md).
pub fn assignment_id(case_id: &str, province_id: &str) -> String {
    format!("asg-{case_id}-{province_id}")
}
