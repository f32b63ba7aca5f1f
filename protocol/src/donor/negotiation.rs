//! Step 11: the city streams its needs; the donor answers each update with
//! its next shipment. A donor lowers a remaining target when the city's need
//! for that type has fallen below it, and never raises one: only central
//! does, by an adjustment.

use counterpart_domain::clock::ScenarioTime;
use counterpart_domain::quantities::Quantities;
use pairing_proto::v1::{NeedsUpdate, PlanProposal};

use super::assignment::AssignmentState;
use super::checks;
use super::planner::next_batch;
use super::Donor;
use crate::validate;
use crate::Refusal;

impl Donor {
    /// Answers one `NeedsUpdate` with a `PlanProposal`, lowering targets the
    /// city no longer needs. A type the update leaves out is needed no more
    /// (cities list only positive needs).
    pub fn on_needs_update(
        &mut self,
        m: &NeedsUpdate,
        now: ScenarioTime,
    ) -> Result<PlanProposal, Refusal> {
        let h = validate::header(m.header.as_ref())?;
        validate::text("case_id", &m.case_id)?;
        validate::situation("situation", m.situation.as_ref())?;
        let needs = validate::quantities("needs", &m.needs)?;
        checks::clock_started(self.clock)?;
        let a = self
            .assignments
            .values_mut()
            .find(|a| a.case_id == m.case_id)
            .ok_or_else(|| {
                Refusal::not_found(format!(
                    "case_id: {:?} is no case this province serves",
                    m.case_id
                ))
            })?;
        if h.sender_id != a.city_id {
            return Err(Refusal::permission_denied(format!(
                "header.sender_id: {:?} is not {:?}, the city of case {}",
                h.sender_id, a.city_id, m.case_id
            )));
        }
        let lowered = if a.is_standing_down() {
            Vec::new()
        } else {
            lower_targets(a, &needs)
        };
        let assignment_id = a.assignment_id.clone();
        let a = &self.assignments[&assignment_id];
        Ok(self.plan_proposal(a, now, &lowered))
    }

    /// The donor's next shipment for `a`, as it stands at `now`.
    fn plan_proposal(
        &self,
        a: &AssignmentState,
        now: ScenarioTime,
        lowered: &[String],
    ) -> PlanProposal {
        let rules = &self.scenario.rules;
        let (next, departure) = if a.is_standing_down() {
            (Quantities::new(), None)
        } else {
            let batch = next_batch(
                &a.remaining(),
                &self.pool.totals(),
                a.shipments.len() as u32,
            );
            let departure = a
                .next_departure_at
                .unwrap_or_else(|| now.plus_days(rules.mobilisation_days))
                .max(now);
            (batch, Some(departure))
        };
        let mut note = if a.is_standing_down() {
            "standing down: nothing more will ship".to_string()
        } else if next.is_empty() {
            "nothing left to ship within the targets and the pool".to_string()
        } else {
            "next shipment as planned".to_string()
        };
        if !lowered.is_empty() {
            note = format!("{note}; lowered to your needs: {}", lowered.join(", "));
        }
        PlanProposal {
            header: Some(self.header(now)),
            case_id: a.case_id.clone(),
            next_shipment: next.to_wire(),
            planned_departure_ms: departure.map_or(0, |t| t.0.max(0)),
            note: truncate(note, validate::MAX_TEXT_LEN),
        }
    }
}

/// Lowers each target whose remaining part exceeds the city's need to what
/// is shipped plus that need; returns what changed, e.g.
/// "personnel/doctor 100->80".
fn lower_targets(a: &mut AssignmentState, needs: &Quantities) -> Vec<String> {
    let shipped = a.shipped();
    let mut lowered = Vec::new();
    for (t, target) in a.targets.iter_mut() {
        let sent = shipped.get(t).copied().unwrap_or(0);
        let remaining = (*target - sent).max(0);
        let need = needs.get(t).copied().unwrap_or(0);
        if need < remaining {
            let new_target = sent + need;
            debug_assert!(new_target < *target, "lowering never raises");
            lowered.push(format!("{t} {}->{new_target}", *target));
            *target = new_target;
        }
    }
    lowered
}

/// Cuts `text` to at most `max` bytes on a character boundary.
fn truncate(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}
