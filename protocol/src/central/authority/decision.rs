//! Decision: assess each request, pair cases with donors when the decision
//! window closes, assign, and take the donors' acknowledgements.

use std::collections::BTreeMap;

use crate::refusal::Refusal;
use crate::validate;
use counterpart_domain::clock::ScenarioTime;
use counterpart_domain::quantities::Quantities;
use counterpart_domain::scenario::PairingMode;
use pairing_proto::v1::{
    Ack, AcknowledgementKind, Assessment, Assignment, AssignmentAcknowledgement, AssistanceRequest,
    AssistanceRequestAck, CaseDecision, Donor, Role,
};

use super::outbound::{Message, ToCity, ToProvince};
use super::persist::kind;
use super::{Authority, Now};
use crate::central::assessment::{self, severity_weight, ArrivalProjection};
use crate::central::case::{
    assignment_id, AssignmentRecord, AssignmentStage, Case, CaseStage, Step,
};
use crate::central::pairing::{self, CaseNeed, ChosenDonor, DonorCapacity};
use crate::inbox;

/// Constraints a donor may state in one acknowledgement.
const MAX_CONSTRAINTS: usize = 16;

impl Authority {
    pub fn request_assistance(
        &mut self,
        msg: &AssistanceRequest,
        now: Now,
    ) -> Result<AssistanceRequestAck, Refusal> {
        let header = validate::header(msg.header.as_ref())?;
        if let Some(case) = self.case_requested_by(&inbox::key(header)) {
            return Ok(AssistanceRequestAck {
                case_id: case,
                duplicate: true,
            });
        }
        self.registered_sender(header, Role::City)?;
        self.require_clock()?;
        let situation = *validate::situation("situation", msg.situation.as_ref())?;
        let requested = validate::quantities("needs", &msg.needs)?;
        let city = header.sender_id.clone();
        if let Some(open) = self.open_case_of(&city) {
            return Err(Refusal::failed_precondition(format!(
                "header.sender_id: city {city:?} already has open case {open:?}"
            )));
        }
        let mut outcome = assessment::assess(
            &situation,
            &requested,
            &self.scenario.rules,
            &self.scenario.needs_per_active_case,
        );
        if self.mode == PairingMode::NoPairing && outcome.accepted {
            outcome.accepted = false;
            outcome.reason = format!(
                "{}; no pairing under this policy: the city copes alone",
                outcome.reason
            );
        }
        self.unsaved.mark(kind::REQUESTS_PER_CITY, &city);
        let n = self.requests_per_city.entry(city.clone()).or_insert(0);
        *n += 1;
        let case_id = case_id_of(&city, *n);
        let t = now.scenario;
        let mut case = Case {
            case_id: case_id.clone(),
            city_id: city.clone(),
            stage: if outcome.accepted {
                CaseStage::AwaitingPairing
            } else {
                CaseStage::Rejected
            },
            severity: outcome.severity,
            reason: outcome.reason.clone(),
            objectives: outcome.objectives.clone(),
            targets: outcome.targets.clone(),
            requested_at: t,
            requested_unix_ms: now.unix_ms,
            decided_at: None,
            decided_unix_ms: None,
            closed_at: None,
            revision: 0,
            assignments: Vec::new(),
            evaluations: Vec::new(),
            events: Vec::new(),
            target_changes: 0,
            disputes: Vec::new(),
        };
        case.record(
            t,
            Step::Requested,
            None,
            format!(
                "{} active cases, {} critical",
                situation.active_cases, situation.critical
            ),
        );
        case.record(t, Step::Assessed, None, outcome.reason.clone());
        let request_key = inbox::key(header);
        self.unsaved.mark(kind::REQUEST_ID, &request_key);
        self.request_ids.insert(request_key, case_id.clone());
        self.unsaved.mark(kind::CASE, &case_id);
        self.last_activity_at = t;
        if outcome.accepted {
            self.first_request_at.get_or_insert(t);
            self.cases.insert(case_id.clone(), case);
        } else {
            case.decided_at = Some(t);
            case.decided_unix_ms = Some(now.unix_ms);
            self.cases.insert(case_id.clone(), case);
            self.send_decision(&case_id, t);
        }
        // Per message, so at debug: at info a busy central spends its time
        // formatting lines (the case's trace holds the same facts).
        tracing::debug!(case = %case_id, accepted = outcome.accepted, reason = %outcome.reason, "assessed");
        Ok(AssistanceRequestAck {
            case_id,
            duplicate: false,
        })
    }

    pub fn acknowledge_assignment(
        &mut self,
        msg: &AssignmentAcknowledgement,
        now: Now,
    ) -> Result<Ack, Refusal> {
        let header = validate::header(msg.header.as_ref())?;
        if let Some(ack) = self.replay(header) {
            return Ok(ack);
        }
        self.registered_sender(header, Role::Province)?;
        validate::text("assignment_id", &msg.assignment_id)?;
        let kind = AcknowledgementKind::try_from(msg.kind)
            .ok()
            .filter(|k| *k != AcknowledgementKind::Unspecified)
            .ok_or_else(|| {
                Refusal::invalid_argument(format!(
                    "kind: {} is not ACCEPTED or ACCEPTED_WITH_CONSTRAINTS",
                    msg.kind
                ))
            })?;
        validate::list_len("constraints", msg.constraints.len(), MAX_CONSTRAINTS)?;
        for (i, c) in msg.constraints.iter().enumerate() {
            validate::bounded_text(format_args!("constraints[{i}]"), c)?;
        }
        let case_id = self.case_of_assignment(&msg.assignment_id)?;
        let interval = self.scenario.rules.evaluation_interval_days;
        self.unsaved.mark(kind::CASE, &case_id);
        let case = self.cases.get_mut(&case_id).expect("indexed case exists");
        let assignment = case
            .assignment_mut(&msg.assignment_id)
            .expect("indexed assignment exists");
        if assignment.province_id != header.sender_id {
            return Err(Refusal::permission_denied(format!(
                "assignment_id: {:?} was not sent to {:?}",
                msg.assignment_id, header.sender_id
            )));
        }
        if assignment.stage != AssignmentStage::Sent {
            return Ok(Ack { duplicate: true });
        }
        let t = now.scenario;
        assignment.stage = AssignmentStage::Acknowledged;
        assignment.acknowledged_at = Some(t);
        assignment.acknowledgement = Some((kind, msg.constraints.clone()));
        assignment.next_evaluation_at = Some(t.plus_days(interval));
        let detail = if msg.constraints.is_empty() {
            "accepted".to_string()
        } else {
            format!("accepted with constraints: {}", msg.constraints.join("; "))
        };
        case.record(t, Step::Acknowledged, Some(&header.sender_id), detail);
        Ok(self.remember(header))
    }

    /// Pairs every accepted case that waits, once the decision window has
    /// closed (a case accepted later is paired at the next tick).
    pub(super) fn decide_due_pairings(&mut self, now: ScenarioTime, unix_ms: i64) {
        let Some(first) = self.first_request_at else {
            return;
        };
        if now < first.plus_days(self.scenario.rules.decision_window_days) {
            return;
        }
        // Each case is paired with the targets of the need projected for
        // its first team's arrival (the request's when nothing is needed
        // then: the case was accepted on those).
        let mut projections: BTreeMap<String, ArrivalProjection> = BTreeMap::new();
        let mut waiting: Vec<CaseNeed> = Vec::new();
        for c in (self.cases.values()).filter(|c| c.stage == CaseStage::AwaitingPairing) {
            let projection = (self.roster.city(&self.scenario, &c.city_id))
                .map(|city| assessment::arrival_projection(&self.scenario, city, now))
                .filter(|p| !p.need.is_empty());
            waiting.push(CaseNeed {
                case_id: c.case_id.clone(),
                city_id: c.city_id.clone(),
                targets: projection.as_ref().map_or(&c.targets, |p| &p.need).clone(),
                weight: severity_weight(c.severity),
            });
            if let Some(p) = projection {
                projections.insert(c.case_id.clone(), p);
            }
        }
        if waiting.is_empty() {
            return;
        }
        let donors = self.donor_capacities();
        let decisions = match self.mode {
            PairingMode::Historical => {
                pairing::historical(&waiting, &donors, &self.scenario, &self.roster)
            }
            PairingMode::Optimized => pairing::optimized(&waiting, &donors, &self.scenario.rules),
            // No case waits under this policy: requests are turned down.
            PairingMode::NoPairing => Vec::new(),
        };
        for decision in decisions {
            let donors: Vec<ChosenDonor> = decision
                .donors
                .into_iter()
                .filter(|d| self.nodes.contains_key(&d.province_id))
                .collect();
            if donors.is_empty() {
                continue; // stays waiting; tried again next tick
            }
            let projection = projections.remove(&decision.case_id);
            self.pair_case(&decision.case_id, donors, projection, now, unix_ms);
        }
    }

    /// Pairs a case with `donors`; `projection`, when there is one, gives
    /// the targets they were chosen for (the need on the first team's
    /// arrival day), which replace the request's.
    fn pair_case(
        &mut self,
        case_id: &str,
        donors: Vec<ChosenDonor>,
        projection: Option<ArrivalProjection>,
        now: ScenarioTime,
        unix_ms: i64,
    ) {
        let start = self.scenario.start_date;
        self.unsaved.mark(kind::CASE, case_id);
        let case = self
            .cases
            .get_mut(case_id)
            .expect("pairing returns known cases");
        case.stage = CaseStage::Implementing;
        case.decided_at = Some(now);
        case.decided_unix_ms = Some(unix_ms);
        let names: Vec<&str> = donors.iter().map(|d| d.province_id.as_str()).collect();
        let mut detail = format!("{} pairing: {}", self.mode.as_str(), names.join(", "));
        if let Some(p) = projection {
            let day = p.arrival_day.format(start);
            let day = day.split(' ').next().unwrap_or_default();
            detail.push_str(&format!(
                "; targets sized to the need projected for the first team's arrival on {day}: {} active cases",
                p.situation.active_cases
            ));
            case.targets = p.need;
        }
        case.record(now, Step::Paired, None, detail);
        for donor in donors {
            self.assign(case_id, donor, now);
        }
        self.send_decision(case_id, now);
    }

    /// Assigns one donor to a case with its share of the targets.
    pub(super) fn assign(&mut self, case_id: &str, donor: ChosenDonor, now: ScenarioTime) {
        let header = self.header(now);
        let city_id = self.cases[case_id].city_id.clone();
        let recipient_endpoint = self.endpoint_of(&city_id);
        self.unsaved.mark(kind::CASE, case_id);
        let case = self.cases.get_mut(case_id).expect("assign to a known case");
        let id = assignment_id(case_id, &donor.province_id);
        let assignment = Assignment {
            header: Some(header),
            assignment_id: id.clone(),
            case_id: case_id.to_string(),
            recipient_city_id: city_id.clone(),
            recipient_endpoint,
            objectives: case.objectives.clone(),
            targets: donor.share.to_wire(),
            reason: donor.reason.clone(),
        };
        case.record(
            now,
            Step::Assigned,
            Some(&donor.province_id),
            donor.reason.clone(),
        );
        case.assignments.push(AssignmentRecord {
            assignment_id: id.clone(),
            province_id: donor.province_id.clone(),
            targets: donor.share.clone(),
            score: donor.score,
            reason: donor.reason,
            stage: AssignmentStage::Sent,
            acknowledged_at: None,
            acknowledgement: None,
            released: false,
            next_evaluation_at: None,
            evaluations_sent: 0,
            adjustments_sent: 0,
        });
        self.unsaved.mark(kind::ASSIGNMENT_CASE, &id);
        self.assignment_cases.insert(id, case_id.to_string());
        self.ledger
            .set_targets(case_id, &city_id, &donor.province_id, donor.share);
        self.send(
            &donor.province_id,
            Message::Province(ToProvince::Assignment(assignment)),
        );
    }

    /// Sends the city the decision on its case, with the current donors.
    pub(super) fn send_decision(&mut self, case_id: &str, now: ScenarioTime) {
        let header = self.header(now);
        let donors: Vec<Donor> = self.cases[case_id]
            .active_donors()
            .map(|a| self.donor_of(a))
            .collect();
        self.unsaved.mark(kind::CASE, case_id);
        let case = self
            .cases
            .get_mut(case_id)
            .expect("decision for a known case");
        case.revision += 1;
        let accepted = case.stage != CaseStage::Rejected;
        let decision = CaseDecision {
            header: Some(header),
            case_id: case_id.to_string(),
            revision: case.revision,
            assessment: Some(Assessment {
                accepted,
                severity: case.severity as i32,
                reason: case.reason.clone(),
                objectives: case.objectives.clone(),
                targets: case.targets.to_wire(),
            }),
            donors,
        };
        let city = case.city_id.clone();
        self.send(&city, Message::City(ToCity::Decision(decision)));
    }

    /// What each registered donor can still give: its reported pool less
    /// what its open assignments still owe.
    pub(super) fn donor_capacities(&self) -> Vec<DonorCapacity> {
        let mut owed: BTreeMap<&str, Quantities> = BTreeMap::new();
        for case in self.cases.values().filter(|c| !c.stage.is_terminal()) {
            for a in case.active_donors() {
                let progress = self.ledger.progress(&case.case_id, &a.province_id, 0.0);
                let entry = owed.entry(a.province_id.as_str()).or_default();
                for (t, target) in &a.targets {
                    let shipped = progress.shipped.get(t).copied().unwrap_or(0);
                    *entry.entry(*t).or_insert(0) += (target - shipped).max(0);
                }
            }
        }
        self.donors
            .iter()
            .filter(|(id, _)| self.nodes.contains_key(*id))
            .map(|(id, standing)| {
                let pool = standing
                    .pool
                    .iter()
                    .map(|(t, q)| {
                        let still_owed = owed
                            .get(id.as_str())
                            .and_then(|o| o.get(t))
                            .copied()
                            .unwrap_or(0);
                        (*t, (q - still_owed).max(0))
                    })
                    .collect();
                DonorCapacity {
                    province_id: id.clone(),
                    pool,
                    outbreak_level: standing.outbreak_level,
                }
            })
            .collect()
    }

    /// The city's open case, if it has one. A city's cases are its
    /// requests, numbered ([`case_id_of`]), so this looks only at the
    /// city's own few cases, latest first: a scan of every case made each
    /// request cost O(cases) (issue 17).
    fn open_case_of(&self, city: &str) -> Option<String> {
        let requests = self.requests_per_city.get(city).copied().unwrap_or(0);
        (1..=requests)
            .rev()
            .map(|n| case_id_of(city, n))
            .find(|id| self.cases.get(id).is_some_and(|c| !c.stage.is_terminal()))
    }

    fn case_requested_by(&self, message_id: &str) -> Option<String> {
        self.request_ids.get(message_id).cloned()
    }

    pub(super) fn case_of_assignment(&self, assignment_id: &str) -> Result<String, Refusal> {
        self.assignment_cases
            .get(assignment_id)
            .cloned()
            .ok_or_else(|| {
                Refusal::not_found(format!(
                    "assignment_id: unknown assignment {assignment_id:?}"
                ))
            })
    }
}

/// The id of `city`'s `n`-th request's case: the one place case ids are
/// made, which [`Authority::open_case_of`] relies on.
fn case_id_of(city: &str, n: u32) -> String {
    format!("case-{city}-{n}")
}
