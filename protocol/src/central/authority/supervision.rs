//! Supervision to the end of a case: periodic evaluations ("reward
//! diligence, punish indolence"), demobilisation on the city's request, and
//! closure once every donor is home and every shipment receipted.

use crate::refusal::Refusal;
use crate::validate;
use counterpart_domain::clock::ScenarioTime;
use counterpart_domain::demobilisation;
use pairing_proto::v1::{
    Ack, CaseClosure, DemobilisationOrder, DemobilisationRequest, Evaluation, Role, Situation,
};

use super::outbound::{Message, ToCity, ToProvince};
use super::persist::kind;
use super::{Authority, Now};
use crate::central::case::{AssignmentStage, CaseStage, EvaluationRecord, Step};
use crate::central::evaluation;

impl Authority {
    pub fn request_demobilisation(
        &mut self,
        msg: &DemobilisationRequest,
        now: Now,
    ) -> Result<Ack, Refusal> {
        let header = validate::header(msg.header.as_ref())?;
        if let Some(ack) = self.replay(header) {
            return Ok(ack);
        }
        self.registered_sender(header, Role::City)?;
        let situation = validate::situation("situation", msg.situation.as_ref())?;
        validate::text("case_id", &msg.case_id)?;
        let case = self.case_of(&msg.case_id)?;
        if case.city_id != header.sender_id {
            return Err(Refusal::permission_denied(format!(
                "case_id: {:?} belongs to {:?}",
                msg.case_id, case.city_id
            )));
        }
        match case.stage {
            CaseStage::Implementing => {}
            CaseStage::Demobilising | CaseStage::Closed => return Ok(Ack { duplicate: true }),
            stage => {
                return Err(Refusal::failed_precondition(format!(
                    "case_id: {:?} is {}, not implementing",
                    msg.case_id,
                    stage.as_str()
                )))
            }
        }
        let t = now.scenario;
        let detail = self.demobilisation_detail(situation);
        self.unsaved.mark(kind::CASE, &msg.case_id);
        let case = self.cases.get_mut(&msg.case_id).expect("checked above");
        case.stage = CaseStage::Demobilising;
        case.record(t, Step::DemobilisationRequested, None, detail);
        let standing: Vec<(String, String)> = case
            .assignments
            .iter_mut()
            .filter(|a| {
                matches!(
                    a.stage,
                    AssignmentStage::Sent | AssignmentStage::Acknowledged
                )
            })
            .map(|a| {
                a.stage = AssignmentStage::StandingDown;
                (a.assignment_id.clone(), a.province_id.clone())
            })
            .collect();
        for (assignment_id, province) in standing {
            let order = DemobilisationOrder {
                header: Some(self.header(t)),
                order_id: format!("demob-{assignment_id}"),
                case_id: msg.case_id.clone(),
                assignment_id,
            };
            self.unsaved.mark(kind::CASE, &msg.case_id);
            let case = self.cases.get_mut(&msg.case_id).expect("checked above");
            case.record(
                t,
                Step::Demobilised,
                Some(&province),
                "stand down: ship nothing more, bring teams home".into(),
            );
            self.send(
                &province,
                Message::Province(ToProvince::Demobilisation(order)),
            );
        }
        Ok(self.remember(header))
    }

    /// The request's figures, and whether they meet the rule of step 16
    /// (`may_demobilise`). Central records a request that does not, and
    /// does not refuse it: a city of the previous release asks on the
    /// quiet days alone, and a refusal would keep its case open, its
    /// donors on it, to the end date (PROTOCOL.md, "Versions").
    fn demobilisation_detail(&self, s: &Situation) -> String {
        let rates = &self.scenario.needs_per_active_case;
        let own = demobilisation::own_capacity_cases(s, rates);
        let (days, active) = (s.days_without_new_cases, s.active_cases);
        let figures = format!(
            "no new cases for {days} days, {active} active cases, own capacity {own} cases"
        );
        if demobilisation::may_demobilise(s, &self.scenario.rules, rates) {
            figures
        } else {
            format!("{figures}: asked before its own capacity covered them")
        }
    }

    /// Sends each acknowledged assignment whose evaluation is due its
    /// verdict: "reward diligence, punish indolence".
    pub(super) fn evaluate_due_assignments(&mut self, now: ScenarioTime) {
        if !self.scenario.rules.supervision {
            return; // the policy `no-supervision`: donors hear nothing
        }
        let interval = self.scenario.rules.evaluation_interval_days;
        let due: Vec<(String, String, String, f64)> = self
            .cases
            .values()
            .filter(|c| c.stage == CaseStage::Implementing)
            .flat_map(|c| {
                c.active_donors()
                    .filter(|a| {
                        a.stage == AssignmentStage::Acknowledged
                            && a.next_evaluation_at.is_some_and(|at| at <= now)
                    })
                    .map(|a| {
                        (
                            c.case_id.clone(),
                            a.assignment_id.clone(),
                            a.province_id.clone(),
                            now.days() - a.acknowledged_at.expect("acknowledged").days(),
                        )
                    })
            })
            .collect();
        for (case_id, assignment_id, province, days) in due {
            let verdict = evaluation::evaluate(&self.ledger.progress(&case_id, &province, days));
            let header = self.header(now);
            self.unsaved.mark(kind::CASE, &case_id);
            let case = self.cases.get_mut(&case_id).expect("exists");
            let a = case.assignment_mut(&assignment_id).expect("exists");
            a.evaluations_sent += 1;
            a.next_evaluation_at = Some(now.plus_days(interval));
            let message = Evaluation {
                header: Some(header),
                evaluation_id: format!("eval-{assignment_id}-{}", a.evaluations_sent),
                case_id: case_id.clone(),
                assignment_id,
                kind: verdict.kind as i32,
                reason: verdict.reason.clone(),
                delivered_fraction: verdict.delivered_fraction,
            };
            case.evaluations.push(EvaluationRecord {
                at: now,
                province_id: province.clone(),
                kind: verdict.kind,
                delivered_fraction: verdict.delivered_fraction,
                reason: verdict.reason.clone(),
            });
            case.record(
                now,
                Step::Evaluated,
                Some(&province),
                format!("{}: {}", verdict.kind.as_str_name(), verdict.reason),
            );
            self.send(
                &province,
                Message::Province(ToProvince::Evaluation(message)),
            );
        }
    }

    /// Closes each demobilising case whose donors have all sent final
    /// reports and whose every shipment has a receipt.
    pub(super) fn close_finished_cases(&mut self, now: ScenarioTime) {
        // Planted bug, test builds only: central closes a case while its
        // goods are on their way, before the last receipt: an implementing
        // case closes as soon as its ledger holds a shipment without a
        // receipt. (The subtler bug, closing on the final reports without
        // looking at receipts, cannot show in a run: a donor reports last
        // only once the city has receipted everything, and the city's
        // receipt reaches central first. The receipt check below is defence
        // in depth.)
        #[cfg(feature = "planted-bugs")]
        let closes_early =
            crate::planted::planted(crate::planted::Bug::CentralClosesBeforeLastReceipt);
        #[cfg(not(feature = "planted-bugs"))]
        let closes_early = false;
        let done: Vec<String> = self
            .cases
            .values()
            .filter(|c| {
                let finished = c.stage == CaseStage::Demobilising
                    && c.assignments.iter().all(|a| {
                        a.stage == AssignmentStage::Done
                            && self.ledger.all_receipted(&c.case_id, &a.province_id)
                    });
                let goods_moving = c.stage == CaseStage::Implementing
                    && c.assignments
                        .iter()
                        .any(|a| !self.ledger.all_receipted(&c.case_id, &a.province_id));
                finished || (closes_early && goods_moving)
            })
            .map(|c| c.case_id.clone())
            .collect();
        for case_id in done {
            let header = self.header(now);
            self.unsaved.mark(kind::CASE, &case_id);
            let case = self.cases.get_mut(&case_id).expect("exists");
            case.stage = CaseStage::Closed;
            case.closed_at = Some(now);
            case.record(
                now,
                Step::Closed,
                None,
                "every donor home, every shipment receipted".into(),
            );
            let city = case.city_id.clone();
            self.last_activity_at = now;
            tracing::info!(case = %case_id, "closed");
            let closure = CaseClosure {
                header: Some(header),
                case_id,
                closed_at_ms: now.0,
            };
            self.send(&city, Message::City(ToCity::Closure(closure)));
        }
    }
}
