//! Adjustments: release a donor hit by its own outbreak and add a
//! replacement; raise a case's targets when the need outgrows them.

use counterpart_domain::quantities::Quantities;

use counterpart_domain::clock::ScenarioTime;
use pairing_proto::v1::{Adjustment, AdjustmentKind};

use super::outbound::{Message, ToProvince};
use super::persist::kind;
use super::Authority;
use crate::central::assessment;
use crate::central::case::{AssignmentStage, CaseStage, Step};
use crate::central::pairing;

/// Target changes per case: re-targeting is a correction, not a control loop.
const MAX_TARGET_CHANGES: u32 = 3;
/// Raise targets only when the need has outgrown them by this factor.
const RETARGET_FACTOR: f64 = 1.2;

impl Authority {
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
                self.unsaved.mark(kind::CASE, &case_id);
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
    ) -> Quantities {
        let progress = self.ledger.progress(
            case_id,
            &self.cases[case_id]
                .assignment(assignment_id)
                .expect("exists")
                .province_id,
            0.0,
        );
        let header = self.header(now);
        self.unsaved.mark(kind::CASE, case_id);
        let case = self.cases.get_mut(case_id).expect("exists");
        let a = case.assignment_mut(assignment_id).expect("exists");
        a.released = true;
        a.stage = AssignmentStage::StandingDown;
        a.adjustments_sent += 1;
        let province = a.province_id.clone();
        let remaining: Quantities = a
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
    pub(super) fn retarget_if_outgrown(
        &mut self,
        case_id: &str,
        situation: &pairing_proto::v1::Situation,
        now: ScenarioTime,
    ) {
        let case = &self.cases[case_id];
        if case.stage != CaseStage::Implementing || case.target_changes >= MAX_TARGET_CHANGES {
            return;
        }
        let ceiling = || {
            assessment::ceiling(
                situation,
                &self.scenario.rules,
                &self.scenario.needs_per_active_case,
            )
        };
        let outgrown = ceiling().any(|(t, q)| {
            q as f64 > RETARGET_FACTOR * case.targets.get(&t).copied().unwrap_or(0) as f64
        });
        if !outgrown {
            return;
        }
        let capped: Quantities = ceiling().collect();
        // Only the increase is split, by what each donor still has: a donor
        // keeps its current share, so no share drops below what it shipped.
        let increase: Quantities = capped
            .iter()
            .map(|(t, q)| (*t, (q - case.targets.get(t).copied().unwrap_or(0)).max(0)))
            .filter(|(_, q)| *q > 0)
            .collect();
        let raised: Quantities = case
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
        let donors: Vec<(String, String, Quantities)> = case
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
        let pools: Vec<&Quantities> = donors.iter().map(|(_, _, p)| p).collect();
        let increases = pairing::split_targets(&increase, &pools);
        self.unsaved.mark(kind::CASE, case_id);
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
            let change = TargetChange {
                case_id,
                city: &city,
                province: &province,
                assignment_id,
                adjustment_id,
            };
            self.send_targets(change, share, "the city's need outgrew the targets", now);
        }
    }

    /// Tells a donor its whole new share of a case (`CHANGE_TARGETS`) and
    /// books it in the ledger, which evaluations measure delivery against.
    pub(super) fn send_targets(
        &mut self,
        change: TargetChange<'_>,
        targets: Quantities,
        reason: &str,
        now: ScenarioTime,
    ) {
        (self.ledger).set_targets(
            change.case_id,
            change.city,
            change.province,
            targets.clone(),
        );
        let adjustment = Adjustment {
            header: Some(self.header(now)),
            adjustment_id: change.adjustment_id,
            case_id: change.case_id.to_string(),
            assignment_id: change.assignment_id,
            kind: AdjustmentKind::ChangeTargets as i32,
            new_targets: targets.to_wire(),
            reason: reason.to_string(),
        };
        let to_donor = Message::Province(ToProvince::Adjustment(adjustment));
        self.send(change.province, to_donor);
    }
}

/// Which assignment a change of targets is for, and the id it goes by.
pub(super) struct TargetChange<'a> {
    pub case_id: &'a str,
    pub city: &'a str,
    pub province: &'a str,
    pub assignment_id: String,
    pub adjustment_id: String,
}
