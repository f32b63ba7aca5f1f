//! Implementation: supervisory reports and the ledger's cross-check,
//! evaluations, adjustments (release and replace a donor, change targets),
//! demobilisation and closure.

use std::collections::BTreeMap;

use counterpart_domain::clock::ScenarioTime;
use node_kit::validate;
use pairing_proto::resource::ResourceType;
use pairing_proto::v1::{
    Ack, Adjustment, AdjustmentKind, CaseClosure, DemobilisationOrder, DemobilisationRequest,
    Evaluation, MessageHeader, ReceiptRecord, Role, ShipmentRecord, SupervisoryReport,
};
use tonic::Status;

use super::outbound::{Message, ToCity, ToProvince};
use super::{Authority, Now};
use crate::assessment;
use crate::case::{AssignmentStage, CaseStage, EvaluationRecord, Step};
use crate::evaluation;
use crate::ledger::{ReceiptEntry, ShipmentEntry};
use crate::pairing;

/// Records one report may carry (cumulative over a case's life).
const MAX_RECORDS: usize = 4_096;
/// Target changes per case: re-targeting is a correction, not a control loop.
const MAX_TARGET_CHANGES: u32 = 3;
/// Raise targets only when the need has outgrown them by this factor.
const RETARGET_FACTOR: f64 = 1.2;

impl Authority {
    pub fn submit_report(&mut self, msg: &SupervisoryReport, now: Now) -> Result<Ack, Status> {
        let header = validate::header(msg.header.as_ref())?;
        if let Some(ack) = self.replay(header) {
            return Ok(ack);
        }
        self.require_clock()?;
        let role = self
            .nodes
            .get(&header.sender_id)
            .map(|n| n.role)
            .ok_or_else(|| {
                Status::not_found(format!(
                    "header.sender_id: {:?} is not registered",
                    header.sender_id
                ))
            })?;
        let case = self.case_of(&msg.case_id)?;
        match role {
            Role::Province => {
                if !case.has_donor(&header.sender_id) {
                    return Err(Status::permission_denied(format!(
                        "case_id: {:?} has no assignment for {:?}",
                        msg.case_id, header.sender_id
                    )));
                }
                self.apply_donor_report(header, msg, now)?;
            }
            _ => {
                if case.city_id != header.sender_id {
                    return Err(Status::permission_denied(format!(
                        "case_id: {:?} belongs to {:?}, not {:?}",
                        msg.case_id, case.city_id, header.sender_id
                    )));
                }
                self.apply_city_report(header, msg, now)?;
            }
        }
        self.node_messages.insert(
            header.sender_id.clone(),
            msg.messages_received
                .iter()
                .map(|(k, v)| (k.clone(), *v))
                .collect(),
        );
        Ok(self.remember(header))
    }

    fn apply_donor_report(
        &mut self,
        header: &MessageHeader,
        msg: &SupervisoryReport,
        now: Now,
    ) -> Result<(), Status> {
        let province = header.sender_id.as_str();
        let entries = shipment_entries(&msg.case_id, province, &msg.shipments)?;
        if msg.cost_cny < 0 {
            return Err(Status::invalid_argument(format!(
                "cost_cny: {} is negative",
                msg.cost_cny
            )));
        }
        let new = self
            .ledger
            .record_shipments(entries)
            .map_err(|e| Status::invalid_argument(format!("shipments: {e}")))?;
        self.ledger
            .record_cost(&msg.case_id, province, msg.cost_cny);
        let t = now.scenario;
        let case = self.cases.get_mut(&msg.case_id).expect("checked above");
        case.record(
            t,
            Step::Reported,
            Some(province),
            format!(
                "{} shipments ({new} new), cost CNY {}",
                msg.shipments.len(),
                msg.cost_cny
            ),
        );
        if msg.r#final {
            let a = case
                .assignments
                .iter_mut()
                .find(|a| a.province_id == province)
                .expect("has_donor checked");
            if a.stage != AssignmentStage::Done {
                a.stage = AssignmentStage::Done;
                case.record(
                    t,
                    Step::FinalReport,
                    Some(province),
                    "teams returned".into(),
                );
            }
        }
        if msg.outbreak_level > self.scenario.rules.max_outbreak_level {
            self.release_donor_everywhere(province, msg.outbreak_level, t);
        }
        Ok(())
    }

    fn apply_city_report(
        &mut self,
        header: &MessageHeader,
        msg: &SupervisoryReport,
        now: Now,
    ) -> Result<(), Status> {
        let situation = *validate::situation("situation", msg.situation.as_ref())?;
        let entries = receipt_entries(&msg.case_id, &msg.receipts)?;
        let new = self
            .ledger
            .record_receipts(entries)
            .map_err(|e| Status::invalid_argument(format!("receipts: {e}")))?;
        let case = self.cases.get_mut(&msg.case_id).expect("checked above");
        case.record(
            now.scenario,
            Step::Reported,
            None,
            format!(
                "{} active, {} receipts ({new} new)",
                situation.active_cases,
                msg.receipts.len()
            ),
        );
        let _ = header;
        self.retarget_if_outgrown(&msg.case_id, &situation, now.scenario);
        Ok(())
    }

    pub fn request_demobilisation(
        &mut self,
        msg: &DemobilisationRequest,
        now: Now,
    ) -> Result<Ack, Status> {
        let header = validate::header(msg.header.as_ref())?;
        if let Some(ack) = self.replay(header) {
            return Ok(ack);
        }
        self.registered_sender(header, Role::City)?;
        validate::situation("situation", msg.situation.as_ref())?;
        let case = self.case_of(&msg.case_id)?;
        if case.city_id != header.sender_id {
            return Err(Status::permission_denied(format!(
                "case_id: {:?} belongs to {:?}",
                msg.case_id, case.city_id
            )));
        }
        match case.stage {
            CaseStage::Implementing => {}
            CaseStage::Demobilising | CaseStage::Closed => return Ok(Ack { duplicate: true }),
            stage => {
                return Err(Status::failed_precondition(format!(
                    "case_id: {:?} is {}, not implementing",
                    msg.case_id,
                    stage.as_str()
                )))
            }
        }
        let t = now.scenario;
        let case = self.cases.get_mut(&msg.case_id).expect("checked above");
        case.stage = CaseStage::Demobilising;
        case.record(
            t,
            Step::DemobilisationRequested,
            None,
            "no new cases for the quiet period".into(),
        );
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

    /// A donor hit by its own outbreak is released from every case it
    /// serves, and each case gets a replacement where one is available.
    pub(super) fn release_donor_everywhere(
        &mut self,
        province: &str,
        level: i32,
        now: ScenarioTime,
    ) {
        let serving: Vec<(String, String)> = self
            .cases
            .values()
            .filter(|c| c.stage == CaseStage::Implementing)
            .flat_map(|c| {
                c.active_donors()
                    .filter(|a| a.province_id == province)
                    .map(|a| (c.case_id.clone(), a.assignment_id.clone()))
            })
            .collect();
        for (case_id, assignment_id) in serving {
            let reason = format!(
                "released: own outbreak level {level} is above {}",
                self.scenario.rules.max_outbreak_level
            );
            let remaining = self.release(&case_id, &assignment_id, &reason, now);
            let exclude: Vec<String> = self.cases[&case_id]
                .assignments
                .iter()
                .map(|a| a.province_id.clone())
                .collect();
            let capacities = self.donor_capacities();
            if let Some(replacement) =
                pairing::replacement(&remaining, &capacities, &exclude, &self.scenario.rules)
            {
                let case = self.cases.get_mut(&case_id).expect("serving case exists");
                case.record(
                    now,
                    Step::Adjusted,
                    Some(&replacement.province_id),
                    format!("added to replace {province}"),
                );
                self.assign(&case_id, replacement, now);
            }
            self.send_decision(&case_id, now);
        }
    }

    /// Releases one assignment; returns its undelivered targets.
    fn release(
        &mut self,
        case_id: &str,
        assignment_id: &str,
        reason: &str,
        now: ScenarioTime,
    ) -> BTreeMap<ResourceType, i64> {
        let progress = self.ledger.progress(
            case_id,
            &self.cases[case_id]
                .assignment(assignment_id)
                .expect("exists")
                .province_id,
            0.0,
        );
        let header = self.header(now);
        let case = self.cases.get_mut(case_id).expect("exists");
        let a = case.assignment_mut(assignment_id).expect("exists");
        a.released = true;
        a.stage = AssignmentStage::StandingDown;
        a.adjustments_sent += 1;
        let province = a.province_id.clone();
        let remaining: BTreeMap<ResourceType, i64> = a
            .targets
            .iter()
            .map(|(t, q)| {
                (
                    *t,
                    (q - progress.shipped.get(t).copied().unwrap_or(0)).max(0),
                )
            })
            .filter(|(_, q)| *q > 0)
            .collect();
        let adjustment = Adjustment {
            header: Some(header),
            adjustment_id: format!("adj-{assignment_id}-{}", a.adjustments_sent),
            case_id: case_id.to_string(),
            assignment_id: assignment_id.to_string(),
            kind: AdjustmentKind::ReleaseDonor as i32,
            new_targets: Vec::new(),
            reason: reason.to_string(),
        };
        case.record(now, Step::Adjusted, Some(&province), reason.to_string());
        self.send(
            &province,
            Message::Province(ToProvince::Adjustment(adjustment)),
        );
        remaining
    }

    /// Raises a case's targets when the city's reported need has outgrown
    /// them, within the cap on aid intensity, and tells each donor its share.
    fn retarget_if_outgrown(
        &mut self,
        case_id: &str,
        situation: &pairing_proto::v1::Situation,
        now: ScenarioTime,
    ) {
        let case = &self.cases[case_id];
        if case.stage != CaseStage::Implementing || case.target_changes >= MAX_TARGET_CHANGES {
            return;
        }
        let unlimited: BTreeMap<ResourceType, i64> = self
            .scenario
            .needs_per_active_case
            .keys()
            .map(|t| (*t, i64::MAX))
            .collect();
        let capped = assessment::assess(
            situation,
            &unlimited,
            &self.scenario.rules,
            &self.scenario.needs_per_active_case,
        )
        .targets;
        let outgrown = capped.iter().any(|(t, q)| {
            *q as f64 > RETARGET_FACTOR * case.targets.get(t).copied().unwrap_or(0) as f64
        });
        if !outgrown {
            return;
        }
        // Only the increase is split, by what each donor still has: a donor
        // keeps its current share, so no share drops below what it shipped.
        let increase: BTreeMap<ResourceType, i64> = capped
            .iter()
            .map(|(t, q)| (*t, (q - case.targets.get(t).copied().unwrap_or(0)).max(0)))
            .filter(|(_, q)| *q > 0)
            .collect();
        let raised: BTreeMap<ResourceType, i64> = case
            .targets
            .keys()
            .chain(increase.keys())
            .map(|t| {
                (
                    *t,
                    case.targets.get(t).copied().unwrap_or(0)
                        + increase.get(t).copied().unwrap_or(0),
                )
            })
            .collect();
        let donors: Vec<(String, String, BTreeMap<ResourceType, i64>)> = case
            .active_donors()
            .filter(|a| a.stage == AssignmentStage::Acknowledged)
            .map(|a| {
                (
                    a.assignment_id.clone(),
                    a.province_id.clone(),
                    self.donors
                        .get(&a.province_id)
                        .map(|d| d.pool.clone())
                        .unwrap_or_default(),
                )
            })
            .collect();
        if donors.is_empty() {
            return;
        }
        let pools: Vec<&BTreeMap<ResourceType, i64>> = donors.iter().map(|(_, _, p)| p).collect();
        let increases = pairing::split_targets(&increase, &pools);
        let case = self.cases.get_mut(case_id).expect("exists");
        case.targets = raised;
        case.target_changes += 1;
        let mut sends = Vec::new();
        for ((assignment_id, province, _), added) in donors.into_iter().zip(increases) {
            let a = case.assignment_mut(&assignment_id).expect("exists");
            for (t, q) in added {
                *a.targets.entry(t).or_insert(0) += q;
            }
            let share = a.targets.clone();
            a.adjustments_sent += 1;
            let id = format!("adj-{assignment_id}-{}", a.adjustments_sent);
            case.record(
                now,
                Step::Adjusted,
                Some(&province),
                "targets raised: the need outgrew them".into(),
            );
            sends.push((province, id, assignment_id, share));
        }
        let city = case.city_id.clone();
        for (province, adjustment_id, assignment_id, share) in sends {
            self.ledger
                .set_targets(case_id, &city, &province, share.clone());
            let adjustment = Adjustment {
                header: Some(self.header(now)),
                adjustment_id,
                case_id: case_id.to_string(),
                assignment_id,
                kind: AdjustmentKind::ChangeTargets as i32,
                new_targets: validate::to_lines(&share),
                reason: "the city's need outgrew the targets".into(),
            };
            self.send(
                &province,
                Message::Province(ToProvince::Adjustment(adjustment)),
            );
        }
    }

    /// Sends each acknowledged assignment whose evaluation is due its
    /// verdict: "reward diligence, punish indolence".
    pub(super) fn evaluate_due_assignments(&mut self, now: ScenarioTime) {
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
        let done: Vec<String> = self
            .cases
            .values()
            .filter(|c| c.stage == CaseStage::Demobilising)
            .filter(|c| {
                c.assignments.iter().all(|a| {
                    a.stage == AssignmentStage::Done
                        && self.ledger.all_receipted(&c.case_id, &a.province_id)
                })
            })
            .map(|c| c.case_id.clone())
            .collect();
        for case_id in done {
            let header = self.header(now);
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

fn shipment_entries(
    case_id: &str,
    province: &str,
    records: &[ShipmentRecord],
) -> Result<Vec<ShipmentEntry>, Status> {
    validate::list_len("shipments", records.len(), MAX_RECORDS)?;
    records
        .iter()
        .enumerate()
        .map(|(i, r)| {
            validate::text(&format!("shipments[{i}].shipment_id"), &r.shipment_id)?;
            validate::scenario_time(&format!("shipments[{i}].departed_at_ms"), r.departed_at_ms)?;
            Ok(ShipmentEntry {
                shipment_id: r.shipment_id.clone(),
                case_id: case_id.to_string(),
                province_id: province.to_string(),
                departed_at_ms: r.departed_at_ms,
                lines: validate::quantities(&format!("shipments[{i}].lines"), &r.lines)?,
            })
        })
        .collect()
}

fn receipt_entries(case_id: &str, records: &[ReceiptRecord]) -> Result<Vec<ReceiptEntry>, Status> {
    validate::list_len("receipts", records.len(), MAX_RECORDS)?;
    records
        .iter()
        .enumerate()
        .map(|(i, r)| {
            validate::text(&format!("receipts[{i}].shipment_id"), &r.shipment_id)?;
            validate::scenario_time(&format!("receipts[{i}].received_at_ms"), r.received_at_ms)?;
            let mut discrepancy = BTreeMap::new();
            validate::list_len(
                &format!("receipts[{i}].discrepancies"),
                r.discrepancies.len(),
                validate::MAX_LINES,
            )?;
            for (k, d) in r.discrepancies.iter().enumerate() {
                let field = format!("receipts[{i}].discrepancies[{k}]");
                let t =
                    validate::resource_type(&format!("{field}.resource_type"), &d.resource_type)?;
                let q = validate::quantity(&format!("{field}.quantity"), t, d.quantity)?;
                *discrepancy.entry(t).or_insert(0) += q;
            }
            Ok(ReceiptEntry {
                shipment_id: r.shipment_id.clone(),
                case_id: case_id.to_string(),
                received_at_ms: r.received_at_ms,
                received: validate::quantities(&format!("receipts[{i}].received"), &r.received)?,
                discrepancy,
            })
        })
        .collect()
}
