//! Mediation at central (docs/PROTOCOL.md, "Mediation"): a dispute is
//! checked and recorded in its case at once; central rules when its ledger
//! covers what the dispute is about, or after [`RULING_WAIT_REPORTS`]
//! report intervals at the latest, and sends the same ruling to both
//! parties. An upheld shortfall raises the donor's targets by what is
//! missing, sent as the adjustment every donor understands.

use counterpart_domain::clock::ScenarioTime;
use pairing_proto::resource::ResourceType;
use pairing_proto::v1::{Ack, Dispute, DisputeFigure, DisputeKind, Mediation, Role, Ruling};

use super::adjustments::TargetChange;
use super::outbound::{Message, ToCity, ToProvince};
use super::persist::kind;
use super::{Authority, Now};
use crate::central::case::{AssignmentRecord, AssignmentStage, DisputeRecord, Step};
use crate::mediation::{self, LedgerView, MAX_DISPUTES_PER_PAIRING};
use crate::refusal::Refusal;
use crate::validate;

/// Report intervals central waits for its ledger to cover a dispute before
/// it rules on what it has: the donor's and the city's next reports both
/// fall within two intervals of any moment.
pub const RULING_WAIT_REPORTS: f64 = 2.0;

impl Authority {
    /// A party's dispute about its counterpart in a case.
    pub fn raise_dispute(&mut self, msg: &Dispute, now: Now) -> Result<Ack, Refusal> {
        let header = validate::header(msg.header.as_ref())?;
        if let Some(ack) = self.replay(header) {
            return Ok(ack);
        }
        self.require_clock()?;
        let dispute_kind = mediation::check(msg)?;
        let sender = header.sender_id.clone();
        let role = self.role_of(&sender).ok_or_else(|| {
            Refusal::not_found(format!("header.sender_id: {sender:?} is not registered"))
        })?;
        let case = self.case_of(&msg.case_id)?;
        let donor = match role {
            Role::City if case.city_id == sender => msg.counterpart_id.clone(),
            Role::Province if msg.counterpart_id == case.city_id => sender.clone(),
            _ => {
                return Err(Refusal::permission_denied(format!(
                    "counterpart_id: {:?} and {sender:?} are not the two sides of a pairing in case {:?}",
                    msg.counterpart_id, msg.case_id
                )))
            }
        };
        let assignment_id = (case.assignments.iter())
            .find(|a| a.province_id == donor)
            .map(|a| a.assignment_id.clone())
            .ok_or_else(|| match role {
                Role::Province => Refusal::permission_denied(format!(
                    "case_id: {:?} has no assignment for {sender:?}",
                    msg.case_id
                )),
                _ => Refusal::not_found(format!(
                    "counterpart_id: {donor:?} is no donor of case {:?}",
                    msg.case_id
                )),
            })?;
        // The same dispute again (a resend under a new message id) is no
        // new one, whatever the bound.
        if case.disputes.iter().any(|d| d.dispute_id == msg.dispute_id) {
            return Ok(self.remember(header));
        }
        let raised_before = (case.disputes.iter())
            .filter(|d| d.raised_by == sender && d.assignment_id == assignment_id)
            .count();
        if raised_before >= MAX_DISPUTES_PER_PAIRING {
            return Err(Refusal::resource_exhausted(format!(
                "dispute_id: {sender} already raised {MAX_DISPUTES_PER_PAIRING} disputes about this pairing"
            )));
        }
        self.unsaved.mark(kind::CASE, &msg.case_id);
        let case = self.cases.get_mut(&msg.case_id).expect("found above");
        case.record(
            now.scenario,
            Step::DisputeRaised,
            Some(&donor),
            format!(
                "{}: {} raised {} about {}: {}",
                msg.dispute_id,
                sender,
                kind_name(dispute_kind),
                msg.counterpart_id,
                figures(&msg.evidence)
            ),
        );
        case.disputes.push(DisputeRecord {
            dispute_id: msg.dispute_id.clone(),
            raised_by: sender,
            assignment_id,
            province_id: donor,
            kind: dispute_kind as i32,
            evidence: msg.evidence.clone(),
            raised_at: now.scenario,
            ruling: None,
        });
        Ok(self.remember(header))
    }

    /// Rules on every dispute whose time has come.
    pub(super) fn rule_due_disputes(&mut self, now: ScenarioTime) {
        let wait_days = RULING_WAIT_REPORTS * self.scenario.rules.report_interval_days;
        let mut due = Vec::new();
        for case in self.cases.values() {
            for (i, d) in case.disputes.iter().enumerate() {
                if d.ruling.is_some() {
                    continue;
                }
                let view = self.ledger_view(&case.case_id, &d.province_id, &d.assignment_id);
                let covered = (d.evidence.iter()).all(|f| shipped_of(&view, f) >= f.stated);
                if covered || now >= d.raised_at.plus_days(wait_days) {
                    due.push((case.case_id.clone(), i, view));
                }
            }
        }
        for (case_id, i, view) in due {
            self.rule(&case_id, i, &view, now);
        }
    }

    /// What central's ledger holds for one pairing: shipments with a
    /// receipt (the others are still on the road), and the targets.
    fn ledger_view(&self, case_id: &str, province: &str, assignment_id: &str) -> LedgerView {
        let progress = self.ledger.progress(case_id, province, 0.0);
        let mut shipped = progress.shipped.clone();
        for (t, q) in progress.in_transit.iter() {
            shipped.add(*t, -q);
        }
        let targets = (self.cases[case_id].assignment(assignment_id))
            .map(|a| a.targets.clone())
            .unwrap_or_default();
        LedgerView {
            shipped,
            received: progress.received.clone(),
            targets,
        }
    }

    fn rule(&mut self, case_id: &str, i: usize, view: &LedgerView, now: ScenarioTime) {
        let d = self.cases[case_id].disputes[i].clone();
        let dispute_kind = DisputeKind::try_from(d.kind).unwrap_or(DisputeKind::Unspecified);
        let decision = mediation::rule(dispute_kind, &d.evidence, view);
        let city = self.cases[case_id].city_id.clone();
        self.unsaved.mark(kind::CASE, case_id);
        let case = self.cases.get_mut(case_id).expect("ruled on a known case");
        case.disputes[i].ruling = Some(decision.ruling as i32);
        case.record(
            now,
            Step::Mediated,
            Some(&d.province_id),
            format!(
                "{}: {}, {}",
                d.dispute_id,
                ruling_name(decision.ruling),
                decision.reason
            ),
        );
        let upheld_with_targets =
            decision.ruling == Ruling::Upheld && !decision.raised_targets.is_empty();
        let mut adjustment = None;
        if upheld_with_targets {
            // Only a donor still delivering takes new targets: one standing
            // down refuses them, and central would send them for a week.
            let delivering = |a: &&mut AssignmentRecord| a.stage == AssignmentStage::Acknowledged;
            if let Some(a) = case.assignment_mut(&d.assignment_id).filter(delivering) {
                a.targets = decision.raised_targets.clone();
                a.adjustments_sent += 1;
                adjustment = Some(format!("adj-{}-{}", d.assignment_id, a.adjustments_sent));
            }
        }
        let ruling = Mediation {
            header: None,
            dispute_id: d.dispute_id.clone(),
            case_id: case_id.to_string(),
            assignment_id: d.assignment_id.clone(),
            kind: d.kind,
            ruling: decision.ruling as i32,
            reason: decision.reason.clone(),
            raised_targets: decision.raised_targets.to_wire(),
            warning: decision.warning,
            raised_by: d.raised_by.clone(),
        };
        if let Some(adjustment_id) = adjustment {
            let change = TargetChange {
                case_id,
                city: &city,
                province: &d.province_id,
                assignment_id: d.assignment_id.clone(),
                adjustment_id,
            };
            let reason = format!("mediation {}: make good what is missing", d.dispute_id);
            self.send_targets(change, decision.raised_targets, &reason, now);
        }
        let stamped = |header| Mediation {
            header: Some(header),
            ..ruling.clone()
        };
        let to_donor = stamped(self.header(now));
        self.send(
            &d.province_id,
            Message::Province(ToProvince::Mediation(to_donor)),
        );
        let to_city = stamped(self.header(now));
        self.send(&city, Message::City(ToCity::Mediation(to_city)));
    }
}

/// What the ledger shows shipped (and receipted) of a figure's type.
fn shipped_of(view: &LedgerView, figure: &DisputeFigure) -> i64 {
    (figure.resource_type.parse::<ResourceType>()).map_or(0, |t| view.shipped.of(t))
}

fn kind_name(kind: DisputeKind) -> String {
    kind.as_str_name()
        .trim_start_matches("DISPUTE_KIND_")
        .to_lowercase()
}

fn ruling_name(ruling: Ruling) -> String {
    ruling
        .as_str_name()
        .trim_start_matches("RULING_")
        .to_lowercase()
}

/// The evidence as an event's detail: `material/mask_n95 998000 of 1000000`.
fn figures(evidence: &[DisputeFigure]) -> String {
    let lines: Vec<String> = (evidence.iter())
        .map(|f| format!("{} {} of {}", f.resource_type, f.observed, f.stated))
        .collect();
    if lines.is_empty() {
        "no figures".to_string()
    } else {
        lines.join(", ")
    }
}
