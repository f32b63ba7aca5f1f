//! Incoming messages from central and receipts from the city. Each handler
//! checks everything first (fields, sender, clock, ids) and changes state
//! only once every check has passed, so a refused message changes nothing.

use counterpart_domain::clock::{Clock, ScenarioTime};
use pairing_proto::v1::{
    Ack, AcknowledgementKind, Adjustment, AdjustmentKind, Assignment, AssignmentAcknowledgement,
    ClockStart, DemobilisationOrder, Evaluation, EvaluationKind, Mediation, Objective, Receipt,
    ScenarioClock, StepGrant,
};

use super::assignment::{
    AssignmentState, EvaluationRecord, ReceiptRecord, StandDown, MAX_ADJUSTMENTS,
    MAX_EVALUATIONS_KEPT,
};
use super::checks;
use super::planner::Quantities;
use super::{Donor, MAX_ASSIGNMENTS};
use crate::lockstep::Granted;
use crate::outbox::Delivery;
use crate::validate;
use crate::Refusal;

const FRESH: Ack = Ack { duplicate: false };
const DUPLICATE: Ack = Ack { duplicate: true };

impl Donor {
    /// Step 2: central starts the scenario clock.
    pub fn on_clock_start(&mut self, m: &ClockStart) -> Result<Ack, Refusal> {
        let h = validate::header(m.header.as_ref())?;
        let clock = validate::clock("clock", m.clock.as_ref(), self.scenario.start_date)?;
        checks::from_central(h)?;
        if let Some(ack) = self.replay(h) {
            return Ok(ack);
        }
        let ack = self.set_clock(clock)?;
        Ok(self.remember(h, ack))
    }

    /// The clock as `Registration.clock` returned it (a node registering
    /// after the start). Returns whether it was new.
    pub fn on_registered_clock(&mut self, clock: &ScenarioClock) -> Result<bool, Refusal> {
        let clock = validate::clock("clock", Some(clock), self.scenario.start_date)?;
        Ok(!self.set_clock(clock)?.duplicate)
    }

    fn set_clock(&mut self, clock: Clock) -> Result<Ack, Refusal> {
        match crate::lockstep::adopt(&mut self.clock, clock)? {
            true => Ok(FRESH),
            false => Ok(DUPLICATE),
        }
    }

    /// A step of the lockstep clock: the donor's present moves to the
    /// grant's time (crate::lockstep).
    pub fn on_step_grant(&mut self, m: &StepGrant) -> Result<Granted, Refusal> {
        crate::lockstep::take_grant(&mut self.clock, m, self.scenario.start_date)
    }

    /// The step is done: the clock moves on to the next step's time.
    pub fn finish_step(&mut self, granted: &Granted) {
        crate::lockstep::finish_step(&mut self.clock, granted);
    }

    /// Steps 7-8: central assigns this donor to a case; the donor will
    /// acknowledge it on its next tick.
    pub fn on_assignment(&mut self, m: &Assignment, now: ScenarioTime) -> Result<Ack, Refusal> {
        let h = validate::header(m.header.as_ref())?;
        let targets = assignment_fields(m)?;
        let expected_id = format!("asg-{}-{}", m.case_id, self.province.id);
        if m.assignment_id != expected_id {
            return Err(Refusal::invalid_argument(format!(
                "assignment_id: {:?} is not {expected_id:?}, this province's assignment to case {:?}",
                m.assignment_id, m.case_id
            )));
        }
        checks::from_central(h)?;
        if let Some(ack) = self.replay(h) {
            return Ok(ack);
        }
        checks::clock_started(self.clock)?;
        if self.scenario.city(&m.recipient_city_id).is_none() {
            return Err(Refusal::not_found(format!(
                "recipient_city_id: {:?} is not a city of scenario {:?}",
                m.recipient_city_id, self.scenario.name
            )));
        }
        if let Some(known) = self.assignments.get_mut(&m.assignment_id) {
            // Central sending it again may mean it lost our acknowledgement.
            if known.acknowledgement_delivery == Delivery::GaveUp {
                known.acknowledgement_delivery.rearm();
            }
            return Ok(self.remember(h, DUPLICATE));
        }
        if self.assignments.len() >= MAX_ASSIGNMENTS {
            return Err(Refusal::resource_exhausted(format!(
                "assignment_id: this province already holds {MAX_ASSIGNMENTS} assignments"
            )));
        }
        let acknowledgement = self.acknowledgement(&m.assignment_id, &targets, now);
        tracing::info!(
            assignment = %m.assignment_id,
            city = %m.recipient_city_id,
            constraints = ?acknowledgement.constraints,
            "assignment accepted"
        );
        let state = AssignmentState {
            assignment_id: m.assignment_id.clone(),
            case_id: m.case_id.clone(),
            city_id: m.recipient_city_id.clone(),
            city_endpoint: m.recipient_endpoint.clone(),
            targets,
            acknowledgement,
            acknowledgement_delivery: Delivery::due(),
            acknowledged_at: None,
            next_departure_at: None,
            next_report_at: None,
            shipments: Vec::new(),
            stand_down: None,
            returned_at: None,
            final_report: None,
            evaluations: Vec::new(),
            adjustment_ids: Vec::new(),
            goods_cost_cny: 0,
        };
        self.assignments.insert(m.assignment_id.clone(), state);
        Ok(self.remember(h, FRESH))
    }

    /// Acceptance is mandatory; constraints say where the pool left after
    /// the donor's other assignments falls short, and its own outbreak.
    fn acknowledgement(
        &self,
        assignment_id: &str,
        targets: &Quantities,
        now: ScenarioTime,
    ) -> AssignmentAcknowledgement {
        let mut committed = Quantities::new();
        for other in self.assignments.values().filter(|a| !a.is_standing_down()) {
            for (t, q) in other.remaining() {
                *committed.entry(t).or_insert(0) += q;
            }
        }
        let mut constraints = Vec::new();
        for (&t, &target) in targets {
            let free = (self.pool.total(t) - committed.get(&t).copied().unwrap_or(0)).max(0);
            if free < target {
                constraints.push(format!(
                    "{t}: the pool covers {free} of the target {target}"
                ));
            }
        }
        let level = self
            .province
            .outbreak_level_at(self.scenario.start_date, now);
        if level > 0 {
            constraints.push(format!("own outbreak at level {level}"));
        }
        let kind = if constraints.is_empty() {
            AcknowledgementKind::Accepted
        } else {
            AcknowledgementKind::AcceptedWithConstraints
        };
        AssignmentAcknowledgement {
            header: Some(self.header(now)),
            assignment_id: assignment_id.to_string(),
            kind: kind as i32,
            constraints,
        }
    }

    /// Step 14: central's evaluation of this donor's performance.
    pub fn on_evaluation(&mut self, m: &Evaluation, now: ScenarioTime) -> Result<Ack, Refusal> {
        let h = validate::header(m.header.as_ref())?;
        validate::text("evaluation_id", &m.evaluation_id)?;
        ids_of_case(&m.case_id, &m.assignment_id)?;
        let kind = checks::known_enum::<EvaluationKind>("kind", m.kind)?;
        validate::bounded_text("reason", &m.reason)?;
        checks::fraction("delivered_fraction", m.delivered_fraction)?;
        checks::from_central(h)?;
        if let Some(ack) = self.replay(h) {
            return Ok(ack);
        }
        checks::clock_started(self.clock)?;
        let a = self.assignment_of_case_mut(&m.assignment_id, &m.case_id)?;
        if a.evaluations
            .iter()
            .any(|e| e.evaluation_id == m.evaluation_id)
        {
            return Ok(self.remember(h, DUPLICATE));
        }
        if a.evaluations.len() >= MAX_EVALUATIONS_KEPT {
            a.evaluations.remove(0);
        }
        a.evaluations.push(EvaluationRecord {
            evaluation_id: m.evaluation_id.clone(),
            kind,
            delivered_fraction: m.delivered_fraction,
            reason: m.reason.clone(),
            at: Some(now),
        });
        tracing::info!(assignment = %m.assignment_id, ?kind, reason = %m.reason, "evaluated");
        Ok(self.remember(h, FRESH))
    }

    /// Step 15: central changes this donor's targets or releases it.
    pub fn on_adjustment(&mut self, m: &Adjustment, _now: ScenarioTime) -> Result<Ack, Refusal> {
        let h = validate::header(m.header.as_ref())?;
        validate::text("adjustment_id", &m.adjustment_id)?;
        ids_of_case(&m.case_id, &m.assignment_id)?;
        let kind = checks::known_enum::<AdjustmentKind>("kind", m.kind)?;
        let new_targets = validate::quantities("new_targets", &m.new_targets)?;
        validate::bounded_text("reason", &m.reason)?;
        if kind == AdjustmentKind::ChangeTargets && new_targets.is_empty() {
            return Err(Refusal::invalid_argument(
                "new_targets: empty, but CHANGE_TARGETS carries the donor's whole new share",
            ));
        }
        checks::from_central(h)?;
        if let Some(ack) = self.replay(h) {
            return Ok(ack);
        }
        checks::clock_started(self.clock)?;
        let a = self.assignment_of_case_mut(&m.assignment_id, &m.case_id)?;
        if a.adjustment_ids.contains(&m.adjustment_id) {
            return Ok(self.remember(h, DUPLICATE));
        }
        if a.adjustment_ids.len() >= MAX_ADJUSTMENTS {
            return Err(Refusal::failed_precondition(format!(
                "adjustment_id: assignment {} already had {MAX_ADJUSTMENTS} adjustments",
                m.assignment_id
            )));
        }
        match kind {
            AdjustmentKind::ReleaseDonor if a.is_standing_down() => {
                return Ok(self.remember(h, DUPLICATE));
            }
            AdjustmentKind::ReleaseDonor => {
                a.stand_down = Some(StandDown::Released {
                    adjustment_id: m.adjustment_id.clone(),
                });
                tracing::info!(assignment = %m.assignment_id, reason = %m.reason, "released");
            }
            _ if a.is_standing_down() => {
                return Err(Refusal::failed_precondition(format!(
                    "assignment_id: {} has stood down; its targets no longer change",
                    m.assignment_id
                )));
            }
            _ => {
                // Only central raises a target; it sends the whole new share.
                a.targets = new_targets;
                tracing::info!(assignment = %m.assignment_id, targets = ?a.targets, "targets changed");
            }
        }
        a.adjustment_ids.push(m.adjustment_id.clone());
        Ok(self.remember(h, FRESH))
    }

    /// Mediation: central's ruling on a dispute about this donor's pairing
    /// (docs/PROTOCOL.md, "Mediation"). The donor takes note; what it must
    /// make good reaches it as an adjustment of its targets, which donors
    /// of every release understand.
    pub fn on_mediation(&mut self, m: &Mediation, _now: ScenarioTime) -> Result<Ack, Refusal> {
        let h = validate::header(m.header.as_ref())?;
        let (kind, ruling) = crate::mediation::check_ruling(m)?;
        ids_of_case(&m.case_id, &m.assignment_id)?;
        checks::from_central(h)?;
        if let Some(ack) = self.replay(h) {
            return Ok(ack);
        }
        checks::clock_started(self.clock)?;
        self.assignment_of_case_mut(&m.assignment_id, &m.case_id)?;
        tracing::info!(
            assignment = %m.assignment_id, dispute = %m.dispute_id, ?kind, ?ruling,
            reason = %m.reason, "mediated"
        );
        Ok(self.remember(h, FRESH))
    }

    /// Step 17: central orders the donor to stand down on a case.
    pub fn on_demobilisation(
        &mut self,
        m: &DemobilisationOrder,
        _now: ScenarioTime,
    ) -> Result<Ack, Refusal> {
        let h = validate::header(m.header.as_ref())?;
        validate::text("order_id", &m.order_id)?;
        ids_of_case(&m.case_id, &m.assignment_id)?;
        checks::from_central(h)?;
        if let Some(ack) = self.replay(h) {
            return Ok(ack);
        }
        checks::clock_started(self.clock)?;
        let a = self.assignment_of_case_mut(&m.assignment_id, &m.case_id)?;
        if a.is_standing_down() {
            return Ok(self.remember(h, DUPLICATE));
        }
        a.stand_down = Some(StandDown::Demobilised {
            order_id: m.order_id.clone(),
        });
        tracing::info!(assignment = %m.assignment_id, "demobilisation ordered");
        Ok(self.remember(h, FRESH))
    }

    /// Step 10: the city confirms what arrived of a shipment.
    pub fn on_receipt(&mut self, m: &Receipt, _now: ScenarioTime) -> Result<Ack, Refusal> {
        let h = validate::header(m.header.as_ref())?;
        validate::text("receipt_id", &m.receipt_id)?;
        validate::text("shipment_id", &m.shipment_id)?;
        validate::text("case_id", &m.case_id)?;
        let received_at = validate::scenario_time("received_at_ms", m.received_at_ms)?;
        let received = checks::receipt_fields(m)?;
        if let Some(ack) = self.replay(h) {
            return Ok(ack);
        }
        checks::clock_started(self.clock)?;
        let a = self
            .assignments
            .values_mut()
            .find(|a| a.shipment(&m.shipment_id).is_some())
            .ok_or_else(|| {
                Refusal::not_found(format!(
                    "shipment_id: {:?} is no shipment of this province",
                    m.shipment_id
                ))
            })?;
        if h.sender_id != a.city_id {
            return Err(Refusal::permission_denied(format!(
                "header.sender_id: {:?} is not {:?}, the recipient of shipment {}",
                h.sender_id, a.city_id, m.shipment_id
            )));
        }
        if m.case_id != a.case_id {
            return Err(Refusal::invalid_argument(format!(
                "case_id: {:?}, but shipment {} belongs to case {:?}",
                m.case_id, m.shipment_id, a.case_id
            )));
        }
        let shipment = a.shipment_mut(&m.shipment_id).expect("found above");
        if shipment.receipt.is_some() {
            return Ok(self.remember(h, DUPLICATE));
        }
        checks::receipt_balances(m, &shipment.lines)?;
        shipment.receipt = Some(ReceiptRecord {
            receipt_id: m.receipt_id.clone(),
            received_at,
            received,
            discrepancies: m.discrepancies.clone(),
        });
        // A receipt proves the delivery, whatever the courier reports later.
        shipment.delivery = Delivery::Done;
        Ok(self.remember(h, FRESH))
    }

    /// The assignment `assignment_id`, which must belong to `case_id`.
    fn assignment_of_case_mut(
        &mut self,
        assignment_id: &str,
        case_id: &str,
    ) -> Result<&mut AssignmentState, Refusal> {
        let a = self.assignments.get_mut(assignment_id).ok_or_else(|| {
            Refusal::not_found(format!(
                "assignment_id: {assignment_id:?} is no assignment of this province"
            ))
        })?;
        if a.case_id != case_id {
            return Err(Refusal::invalid_argument(format!(
                "case_id: {case_id:?}, but assignment {assignment_id} belongs to case {:?}",
                a.case_id
            )));
        }
        Ok(a)
    }
}

fn ids_of_case(case_id: &str, assignment_id: &str) -> Result<(), Refusal> {
    validate::text("case_id", case_id)?;
    validate::text("assignment_id", assignment_id)
}

/// An assignment's own fields; returns its targets.
fn assignment_fields(m: &Assignment) -> Result<Quantities, Refusal> {
    validate::text("assignment_id", &m.assignment_id)?;
    validate::text("case_id", &m.case_id)?;
    validate::text("recipient_city_id", &m.recipient_city_id)?;
    checks::endpoint("recipient_endpoint", &m.recipient_endpoint)?;
    validate::bounded_text("reason", &m.reason)?;
    objectives(&m.objectives)?;
    validate::quantities("targets", &m.targets)
}

fn objectives(objectives: &[Objective]) -> Result<(), Refusal> {
    validate::list_len("objectives", objectives.len(), validate::MAX_LINES)?;
    for (i, o) in objectives.iter().enumerate() {
        validate::text(format_args!("objectives[{i}].code"), &o.code)?;
        validate::bounded_text(format_args!("objectives[{i}].description"), &o.description)?;
        if o.target < 0 {
            return Err(Refusal::invalid_argument(format!(
                "objectives[{i}].target: {} is negative",
                o.target
            )));
        }
    }
    Ok(())
}
