//! What arrives at the city: the clock, central's decision and closure, and
//! the donors' shipments. Each message is checked in full before anything
//! changes, so a refused message changes no state; a resent message id gets
//! `Ack { duplicate: true }` and changes nothing either.

use crate::inbox::Inbox;
use crate::lockstep::Granted;
#[cfg(feature = "planted-bugs")]
use crate::planted::{planted, Bug};
use crate::refusal::Refusal;
use crate::validate;
use counterpart_domain::clock::{Clock, ScenarioTime};
use pairing_proto::v1::{
    Ack, CaseClosure, CaseDecision, ClockStart, MessageHeader, Registration, ScenarioClock,
    Shipment, StepGrant,
};

use super::outgoing::Outgoing;
use super::receipt::{self, MAX_SHIPMENTS};
use super::{DonorLink, ReceivedShipment, Recipient, Stage};

/// Node id of the central authority.
pub const CENTRAL_ID: &str = "central";

const APPLIED: Ack = Ack { duplicate: false };
const NOTHING_CHANGED: Ack = Ack { duplicate: true };

impl Recipient {
    /// Central starts the scenario clock (launch step 2).
    pub fn on_clock_start(&mut self, message: &ClockStart) -> Result<Ack, Refusal> {
        let header = from_central(message.header.as_ref())?;
        if self.applied.answered(header).is_some() {
            return Ok(NOTHING_CHANGED);
        }
        let clock = self.clock_from_wire("clock", message.clock.as_ref())?;
        self.set_clock(clock);
        self.applied.remember(header, APPLIED);
        Ok(APPLIED)
    }

    /// Takes `clock`; the same run's clock keeps the later granted time (a
    /// resent ClockStart never turns lockstep time back), another run's
    /// replaces it.
    fn set_clock(&mut self, clock: Clock) {
        if crate::lockstep::adopt(&mut self.clock, clock).is_err() {
            self.clock = Some(clock);
        }
    }

    /// A step of the lockstep clock: the city's present moves to the
    /// grant's time (crate::lockstep).
    pub fn on_step_grant(&mut self, m: &StepGrant) -> Result<Granted, Refusal> {
        crate::lockstep::take_grant(&mut self.clock, m, self.scenario.start_date)
    }

    /// The step is done: the clock moves on to the next step's time.
    pub fn finish_step(&mut self, granted: &Granted) {
        crate::lockstep::finish_step(&mut self.clock, granted);
    }

    /// Central's answer to registration carries the clock once it has
    /// started (a node that registers late, or restarts).
    pub fn on_registration(&mut self, registration: &Registration) -> Result<(), Refusal> {
        if let Some(wire) = registration.clock.as_ref() {
            let clock = self.clock_from_wire("registration.clock", Some(wire))?;
            self.set_clock(clock);
        }
        Ok(())
    }

    /// Central's decision on the city's case (steps 5 and 7), or a later
    /// revision with other donors (step 15).
    pub fn on_decision(
        &mut self,
        decision: &CaseDecision,
        now: ScenarioTime,
    ) -> Result<Ack, Refusal> {
        let header = from_central(decision.header.as_ref())?;
        self.clock_started()?;
        if self.applied.answered(header).is_some() {
            return Ok(NOTHING_CHANGED);
        }
        check_decision(decision)?;
        let accepted = decision.assessment.as_ref().is_some_and(|a| a.accepted);
        let interval = self.scenario.rules.report_interval_days;
        let earlier = self.earlier_case_ids.contains(&decision.case_id);
        let case = match self.case.as_mut() {
            Some(case) if case.id.as_deref() == Some(decision.case_id.as_str()) => case,
            // The decision overtook central's reply to the request.
            Some(case) if case.id.is_none() && !earlier => case,
            _ => return Err(not_this_case(&decision.case_id)),
        };
        let newer = match case.stage {
            Stage::Closed { .. } => {
                return Err(Refusal::failed_precondition(format!(
                    "case_id: {} is closed",
                    decision.case_id
                )))
            }
            Stage::Requested => true,
            Stage::Accepted | Stage::Rejected { .. } => decision.revision > case.revision,
        };
        if newer {
            case.id = Some(decision.case_id.clone());
            case.revision = decision.revision;
            case.stage = if accepted {
                Stage::Accepted
            } else {
                Stage::Rejected { at: now }
            };
            // Donors the revision leaves out are released; they keep
            // their endpoint so what they have in transit is receipted.
            for link in case.donors.values_mut() {
                link.active = false;
            }
            for donor in &decision.donors {
                case.donors.insert(
                    donor.province_id.clone(),
                    DonorLink {
                        endpoint: donor.endpoint.clone(),
                        active: accepted,
                    },
                );
            }
            if accepted && case.next_report_at.is_none() {
                case.next_report_at = Some(now.plus_days(interval));
            }
            let active: Vec<String> = case
                .donors
                .iter()
                .filter(|(_, l)| l.active)
                .map(|(id, _)| id.clone())
                .collect();
            self.proposals.retain(|donor, _| active.contains(donor));
        }
        // An older or equal revision (a resend under a new id) changes nothing.
        let ack = if newer { APPLIED } else { NOTHING_CHANGED };
        self.applied.remember(header, ack);
        Ok(ack)
    }

    /// A donor delivers a shipment (step 10): the city receipts it.
    pub fn on_shipment(&mut self, shipment: &Shipment, now: ScenarioTime) -> Result<Ack, Refusal> {
        let header = validate::header(shipment.header.as_ref())?;
        self.clock_started()?;
        let applied = self.applied.answered(header).is_some();
        // Planted bug, test builds only: the city does not look up the
        // message id it applied, so a resend is applied again (below).
        #[cfg(feature = "planted-bugs")]
        let applied = applied && !planted(Bug::CityCountsResentShipmentTwice);
        if applied {
            return Ok(NOTHING_CHANGED);
        }
        validate::text("shipment_id", &shipment.shipment_id)?;
        validate::text("case_id", &shipment.case_id)?;
        validate::text("assignment_id", &shipment.assignment_id)?;
        validate::scenario_time("departed_at_ms", shipment.departed_at_ms)?;
        let lines = receipt::manifest(&shipment.lines)?;
        let case = self
            .case
            .as_ref()
            .filter(|c| c.stage == Stage::Accepted)
            .ok_or_else(|| {
                Refusal::failed_precondition(format!(
                    "case_id: shipment for {} while the city has no open case",
                    shipment.case_id
                ))
            })?;
        if case.id.as_deref() != Some(shipment.case_id.as_str()) {
            return Err(not_this_case(&shipment.case_id));
        }
        let donor = case.donors.get(&header.sender_id).ok_or_else(|| {
            Refusal::permission_denied(format!(
                "header.sender_id: {} is not a donor of case {}",
                header.sender_id, shipment.case_id
            ))
        })?;
        let endpoint = donor.endpoint.clone();
        // The same shipment under a new message id counts once.
        if self.shipments.contains_key(&shipment.shipment_id) {
            // Planted bug, test builds only: nor does it check the
            // shipment id, and counts the shipment a second time.
            #[cfg(feature = "planted-bugs")]
            if planted(Bug::CityCountsResentShipmentTwice) {
                return Ok(self.count_shipment_again(header, shipment, &lines));
            }
            self.applied.remember(header, NOTHING_CHANGED);
            return Ok(NOTHING_CHANGED);
        }
        if self.shipments.len() >= MAX_SHIPMENTS {
            return Err(Refusal::resource_exhausted(format!(
                "shipment_id: the city keeps at most {MAX_SHIPMENTS} shipments"
            )));
        }
        let loss_rate = self.scenario.rules.transit_loss_rate;
        let seed = self.clock.map_or(0, |c| c.seed);
        let (receipt, received) = receipt::receipt_for(
            shipment,
            &lines,
            loss_rate,
            seed,
            self.headers.header(now),
            now,
        );
        let entry = ReceivedShipment {
            donor_id: header.sender_id.clone(),
            endpoint,
            case_id: shipment.case_id.clone(),
            received,
            receipt: Outgoing::new(receipt),
        };
        self.shipments.insert(shipment.shipment_id.clone(), entry);
        self.applied.remember(header, APPLIED);
        Ok(APPLIED)
    }

    /// Planted bug, test builds only ([`Bug::CityCountsResentShipmentTwice`]):
    /// a shipment the city has already received, applied as if it were
    /// new. What arrived of it (the same seeded transit loss as the first
    /// time) is added to what the city recorded, so its books and what it
    /// has on hand count the shipment's units twice. The receipt it owes
    /// the donor stays the first one (an owed message keeps its id), so
    /// the donor's and central's figures stay right and disagree with the
    /// city's: what a whole-cluster check must catch.
    #[cfg(feature = "planted-bugs")]
    fn count_shipment_again(
        &mut self,
        header: &MessageHeader,
        shipment: &Shipment,
        lines: &[(pairing_proto::resource::ResourceType, i64)],
    ) -> Ack {
        let loss_rate = self.scenario.rules.transit_loss_rate;
        let seed = self.clock.map_or(0, |c| c.seed);
        let entry = (self.shipments.get_mut(&shipment.shipment_id))
            .expect("called for a shipment the city has");
        for &(t, shipped) in lines {
            let draw = receipt::transit_draw(seed, &shipment.shipment_id, t);
            let (usable, _lost) = receipt::arrived(t, shipped, loss_rate, draw);
            entry.received.add(t, usable);
        }
        self.applied.remember(header, APPLIED);
        APPLIED
    }

    /// Central closes the case (step 18); the teams have gone home.
    pub fn on_closure(&mut self, closure: &CaseClosure) -> Result<Ack, Refusal> {
        let header = from_central(closure.header.as_ref())?;
        self.clock_started()?;
        if self.applied.answered(header).is_some() {
            return Ok(NOTHING_CHANGED);
        }
        validate::text("case_id", &closure.case_id)?;
        let closed_at = validate::scenario_time("closed_at_ms", closure.closed_at_ms)?;
        let case = self
            .case
            .as_mut()
            .filter(|c| c.id.as_deref() == Some(closure.case_id.as_str()))
            .ok_or_else(|| not_this_case(&closure.case_id))?;
        let ack = match case.stage {
            Stage::Accepted => {
                case.stage = Stage::Closed { at: closed_at };
                APPLIED
            }
            Stage::Closed { .. } => NOTHING_CHANGED,
            Stage::Requested | Stage::Rejected { .. } => {
                return Err(Refusal::failed_precondition(format!(
                    "case_id: {} was never accepted, it cannot close",
                    closure.case_id
                )))
            }
        };
        self.proposals.clear();
        self.applied.remember(header, ack);
        Ok(ack)
    }

    pub(super) fn clock_started(&self) -> Result<(), Refusal> {
        match self.clock {
            Some(_) => Ok(()),
            None => Err(Refusal::failed_precondition(
                "header: the scenario clock has not started yet",
            )),
        }
    }

    fn clock_from_wire(&self, field: &str, wire: Option<&ScenarioClock>) -> Result<Clock, Refusal> {
        validate::clock(field, wire, self.scenario.start_date)
    }
}

/// A well-formed header from central; anyone else is refused.
pub(super) fn from_central(header: Option<&MessageHeader>) -> Result<&MessageHeader, Refusal> {
    let header = validate::header(header)?;
    if header.sender_id != CENTRAL_ID {
        return Err(Refusal::permission_denied(format!(
            "header.sender_id: {} is not {CENTRAL_ID}; only central sends this",
            header.sender_id
        )));
    }
    Ok(header)
}

fn not_this_case(case_id: &str) -> Refusal {
    Refusal::not_found(format!(
        "case_id: {case_id} is not this city's current case"
    ))
}

/// The decision is complete: an assessment, and for an acceptance donors
/// with distinct ids and http(s) endpoints; a rejection names no donor.
fn check_decision(decision: &CaseDecision) -> Result<(), Refusal> {
    validate::text("case_id", &decision.case_id)?;
    let assessment = decision
        .assessment
        .as_ref()
        .ok_or_else(|| Refusal::invalid_argument("assessment: missing"))?;
    validate::bounded_text("assessment.reason", &assessment.reason)?;
    validate::list_len(
        "assessment.objectives",
        assessment.objectives.len(),
        validate::MAX_LINES,
    )?;
    validate::list_len(
        "assessment.targets",
        assessment.targets.len(),
        validate::MAX_LINES,
    )?;
    validate::list_len("donors", decision.donors.len(), validate::MAX_LINES)?;
    if !assessment.accepted && !decision.donors.is_empty() {
        return Err(Refusal::invalid_argument(format!(
            "donors: a rejection names no donor, this one names {}",
            decision.donors.len()
        )));
    }
    for (i, donor) in decision.donors.iter().enumerate() {
        validate::text(format_args!("donors[{i}].province_id"), &donor.province_id)?;
        validate::text(format_args!("donors[{i}].endpoint"), &donor.endpoint)?;
        validate::bounded_text(format_args!("donors[{i}].reason"), &donor.reason)?;
        if !(donor.endpoint.starts_with("http://") || donor.endpoint.starts_with("https://")) {
            return Err(Refusal::invalid_argument(format!(
                "donors[{i}].endpoint: {:?} is not an http(s) URL",
                donor.endpoint
            )));
        }
        if decision.donors[..i]
            .iter()
            .any(|d| d.province_id == donor.province_id)
        {
            return Err(Refusal::invalid_argument(format!(
                "donors[{i}].province_id: {} appears more than once",
                donor.province_id
            )));
        }
    }
    Ok(())
}
