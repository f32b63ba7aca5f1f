//! What the donor knows about one assignment: its targets, its shipments
//! and their receipts, what central said about it, and what it has cost.

use std::collections::BTreeMap;

use counterpart_domain::clock::ScenarioTime;
use counterpart_domain::effort;
use counterpart_domain::quantities::Quantities;
use pairing_proto::resource::ResourceType;
use pairing_proto::v1::{
    AssignmentAcknowledgement, Contribution, Discrepancy, EvaluationKind, ManifestLine,
    ResourceQuantity, ShipmentRecord, SupervisoryReport,
};

use crate::outbox::Delivery;

/// Most shipments one assignment may make: a donor report lists them all,
/// and receivers refuse lists longer than [`crate::validate::MAX_LINES`].
pub const MAX_SHIPMENTS_PER_ASSIGNMENT: usize = 48;
/// Evaluations remembered per assignment (the oldest are forgotten).
pub const MAX_EVALUATIONS_KEPT: usize = 64;
/// Adjustments accepted per assignment.
pub const MAX_ADJUSTMENTS: usize = 32;

/// Why the donor stands down on an assignment (step 15 or 17).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum StandDown {
    Demobilised { order_id: String },
    Released { adjustment_id: String },
}

/// One line of a shipment: a type, a quantity, and the prefectures it came
/// from (their quantities sum to `quantity`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CargoLine {
    pub resource_type: ResourceType,
    pub quantity: i64,
    pub contributed_by: Vec<Contribution>,
}

impl CargoLine {
    pub fn to_manifest(&self) -> ManifestLine {
        ManifestLine {
            resource_type: self.resource_type.as_str().to_string(),
            quantity: self.quantity,
            contributed_by: self.contributed_by.clone(),
        }
    }
}

/// One shipment, from departure to receipt.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ShipmentState {
    pub shipment_id: String,
    pub departed_at: ScenarioTime,
    pub arrives_at: ScenarioTime,
    pub lines: Vec<CargoLine>,
    /// The message id of the `DeliverShipment` call, fixed at the first
    /// attempt so every resend is recognised as one.
    pub message_id: Option<String>,
    pub delivery: Delivery,
    pub receipt: Option<ReceiptRecord>,
}

/// What the city confirmed for one shipment.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ReceiptRecord {
    pub receipt_id: String,
    pub received_at: ScenarioTime,
    pub received: Quantities,
    pub discrepancies: Vec<Discrepancy>,
}

/// One evaluation central sent (step 14).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EvaluationRecord {
    pub evaluation_id: String,
    pub kind: EvaluationKind,
    pub delivered_fraction: f64,
    pub reason: String,
    /// When it came (absent from the saves of releases before the effort
    /// model: such an evaluation counts as having come at acknowledgement).
    #[serde(default)]
    pub at: Option<ScenarioTime>,
}

/// The donor's side of one assignment.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct AssignmentState {
    pub assignment_id: String,
    pub case_id: String,
    pub city_id: String,
    pub city_endpoint: String,
    /// This donor's share, per type; lowered by negotiation, changed by
    /// central's adjustments.
    pub targets: Quantities,
    pub acknowledgement: AssignmentAcknowledgement,
    pub acknowledgement_delivery: Delivery,
    /// When central accepted the acknowledgement: shipments wait for it.
    pub acknowledged_at: Option<ScenarioTime>,
    pub next_departure_at: Option<ScenarioTime>,
    pub next_report_at: Option<ScenarioTime>,
    pub shipments: Vec<ShipmentState>,
    pub stand_down: Option<StandDown>,
    /// When the teams came home (set when the final report is made).
    pub returned_at: Option<ScenarioTime>,
    pub final_report: Option<(SupervisoryReport, Delivery)>,
    pub evaluations: Vec<EvaluationRecord>,
    pub adjustment_ids: Vec<String>,
    /// Materials and funds shipped, at unit cost.
    pub goods_cost_cny: i64,
}

impl AssignmentState {
    /// Everything shipped so far, per type.
    pub fn shipped(&self) -> Quantities {
        let mut shipped = Quantities::new();
        for line in self.shipments.iter().flat_map(|s| &s.lines) {
            *shipped.entry(line.resource_type).or_insert(0) += line.quantity;
        }
        shipped
    }

    /// The donor's effort on this assignment at `now`
    /// ([`counterpart_domain::effort`]): what share of a due shipment it
    /// sends. Whole before the acknowledgement.
    pub fn effort(&self, now: ScenarioTime, outbreak_level: i32, cost_cny: i64) -> f64 {
        let Some(acknowledged_at) = self.acknowledged_at else {
            return 1.0;
        };
        let evaluations: Vec<(ScenarioTime, effort::Verdict)> = self
            .evaluations
            .iter()
            .filter_map(|e| {
                Some((
                    e.at.unwrap_or(acknowledged_at),
                    effort::Verdict::of(e.kind)?,
                ))
            })
            .collect();
        effort::MODEL.effort_at(
            &effort::History {
                acknowledged_at,
                evaluations: &evaluations,
                outbreak_level,
                cost_cny,
            },
            now,
        )
    }

    /// What is still to ship per target type (never negative).
    pub fn remaining(&self) -> Quantities {
        let shipped = self.shipped();
        self.targets
            .iter()
            .map(|(&t, &target)| {
                let left = (target - shipped.get(&t).copied().unwrap_or(0)).max(0);
                (t, left)
            })
            .collect()
    }

    /// Everything the city confirmed as received, per type.
    pub fn received(&self) -> Quantities {
        let mut received = Quantities::new();
        for receipt in self.shipments.iter().filter_map(|s| s.receipt.as_ref()) {
            for (&t, &q) in &receipt.received {
                *received.entry(t).or_insert(0) += q;
            }
        }
        received
    }

    pub fn is_standing_down(&self) -> bool {
        self.stand_down.is_some()
    }

    /// The final report has been accepted: nothing more to do.
    pub fn is_closed(&self) -> bool {
        self.final_report
            .as_ref()
            .is_some_and(|(_, d)| d.is_settled())
    }

    /// Every shipment has a receipt, or its delivery was abandoned.
    pub fn all_receipted(&self) -> bool {
        self.shipments
            .iter()
            .all(|s| s.receipt.is_some() || s.delivery == Delivery::GaveUp)
    }

    /// Staff in the city at `now`: arrived and not yet home.
    pub fn personnel_deployed(&self, now: ScenarioTime) -> i64 {
        if self.returned_at.is_some() {
            return 0;
        }
        self.shipments
            .iter()
            .filter(|s| s.arrives_at <= now)
            .flat_map(|s| &s.lines)
            .filter(|l| l.resource_type.travels_with_team())
            .map(|l| l.quantity)
            .sum()
    }

    /// Cost borne so far: goods at unit cost when shipped, personnel per
    /// person-day from departure until the teams return (or `now`).
    pub fn cost_cny(&self, now: ScenarioTime, unit_cost_cny: &BTreeMap<ResourceType, i64>) -> i64 {
        let until = self.returned_at.unwrap_or(now);
        let mut personnel_cost = 0.0;
        for shipment in &self.shipments {
            let days = (until.0 - shipment.departed_at.0).max(0) as f64
                / counterpart_domain::clock::DAY_MS as f64;
            for line in &shipment.lines {
                let t = line.resource_type;
                if t.travels_with_team() {
                    let per_day = unit_cost_cny.get(&t).copied().unwrap_or(0) as f64;
                    personnel_cost += line.quantity as f64 * per_day * days;
                }
            }
        }
        self.goods_cost_cny + personnel_cost.floor() as i64
    }

    /// The cumulative shipment records for a supervisory report.
    pub fn shipment_records(&self) -> Vec<ShipmentRecord> {
        self.shipments
            .iter()
            .map(|s| ShipmentRecord {
                shipment_id: s.shipment_id.clone(),
                departed_at_ms: s.departed_at.0,
                lines: s
                    .lines
                    .iter()
                    .map(|l| ResourceQuantity {
                        resource_type: l.resource_type.as_str().into(),
                        quantity: l.quantity,
                    })
                    .collect(),
            })
            .collect()
    }

    pub fn shipment(&self, shipment_id: &str) -> Option<&ShipmentState> {
        self.shipments.iter().find(|s| s.shipment_id == shipment_id)
    }

    pub fn shipment_mut(&mut self, shipment_id: &str) -> Option<&mut ShipmentState> {
        self.shipments
            .iter_mut()
            .find(|s| s.shipment_id == shipment_id)
    }
}
