//! The machine's outgoing side: what is due at a tick (requests, receipts,
//! reports, needs updates, demobilisation) and what the outcome of each
//! send changes.

use std::collections::BTreeMap;

use crate::validate;
use counterpart_domain::clock::ScenarioTime;
use counterpart_domain::demobilisation;
use pairing_proto::v1::{
    AssistanceRequest, AssistanceRequestAck, DemobilisationRequest, NeedsUpdate, ReceiptRecord,
    Situation, SupervisoryReport,
};

use super::outgoing::Outgoing;
use super::{round_of, Case, Demobilisation, Notice, Outbound, Outcome, Recipient, Sent, Stage};
use super::{MAX_REQUESTS, RETRY_AFTER_REJECTION_DAYS};

impl Recipient {
    /// Everything the city has to send at `now`.
    pub fn on_tick(&mut self, now: ScenarioTime) -> Vec<Outbound> {
        self.last_tick_changed = false;
        // Nothing happens before central starts the clock, nor before the
        // scenario's time 0 (the epoch is set a little in the future).
        if self.clock.is_none() || now.0 < 0 {
            return Vec::new();
        }
        let situation = self.situation(now);
        if self.tallying() {
            self.tally_whole_days(now);
        }
        let mut out = self.due_receipts(now);
        if let Some(request) = self.due_request(now, &situation) {
            out.push(request);
        }
        out.extend(self.due_case_messages(now, &situation));
        // Every change a tick makes comes with a message to send.
        self.last_tick_changed = !out.is_empty();
        out
    }

    /// Receipts not yet delivered to their donors (first sends and resends).
    fn due_receipts(&mut self, now: ScenarioTime) -> Vec<Outbound> {
        let donors = self.case.as_ref().map(|c| &c.donors);
        let mut out = Vec::new();
        for shipment in self.shipments.values_mut() {
            let Some(receipt) = shipment.receipt.take_due(now) else {
                continue;
            };
            // A donor that re-registered elsewhere is reached where the
            // latest decision says it is.
            if let Some(link) = donors.and_then(|d| d.get(&shipment.donor_id)) {
                shipment.endpoint.clone_from(&link.endpoint);
            }
            out.push(Outbound::Receipt {
                donor_id: shipment.donor_id.clone(),
                endpoint: shipment.endpoint.clone(),
                receipt,
            });
        }
        out
    }

    /// A new assistance request, or the resend of one that did not get
    /// through.
    fn due_request(&mut self, now: ScenarioTime, situation: &Situation) -> Option<Outbound> {
        if let Some(case) = self.case.as_mut() {
            if case.stage == Stage::Requested {
                return case.request.take_due(now).map(Outbound::AssistanceRequest);
            }
        }
        if !self.may_request(now) {
            return None;
        }
        let capacity = self.capacity_cases() as f64;
        if situation.active_cases as f64 <= self.scenario.rules.request_threshold * capacity {
            return None;
        }
        let request = AssistanceRequest {
            header: Some(self.headers.header(now)),
            situation: Some(*situation),
            needs: self.needs(situation.active_cases).to_wire(),
        };
        self.requests_made += 1;
        assert!(self.requests_made <= MAX_REQUESTS);
        let mut outgoing = Outgoing::new(request);
        let first = outgoing.take_due(now).expect("a new message is due");
        if let Some(earlier) = self.case.take().and_then(|c| c.id) {
            self.earlier_case_ids.push(earlier);
        }
        self.case = Some(Case {
            id: None,
            stage: Stage::Requested,
            revision: 0,
            donors: BTreeMap::new(),
            request: outgoing,
            next_report_at: None,
            demobilisation: Demobilisation::NotYet,
            disputes: BTreeMap::new(),
        });
        Some(Outbound::AssistanceRequest(first))
    }

    /// No case is open, requests are left, and a rejection is 3 days old.
    fn may_request(&self, now: ScenarioTime) -> bool {
        if self.requests_made >= MAX_REQUESTS {
            return false;
        }
        match self.case.as_ref().map(|c| c.stage) {
            None | Some(Stage::Closed { .. }) => true,
            Some(Stage::Rejected { at }) => now >= at.plus_days(RETRY_AFTER_REJECTION_DAYS),
            Some(Stage::Requested | Stage::Accepted) => false,
        }
    }

    /// Reports, needs updates and demobilisation for the open case.
    fn due_case_messages(&mut self, now: ScenarioTime, situation: &Situation) -> Vec<Outbound> {
        let Some(case_id) = self.open_case_id().map(str::to_string) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let mut fresh_report = None;
        if self.case_mut().next_report_at.is_none_or(|at| now >= at) {
            let report = self.report(&case_id, now, situation);
            fresh_report = Some(report.header.as_ref().expect("stamped").message_id.clone());
            out.push(Outbound::SupervisoryReport(report));
            out.extend(self.needs_updates(&case_id, now, situation));
            let interval = self.scenario.rules.report_interval_days;
            self.case_mut().next_report_at = Some(now.plus_days(interval));
        }
        out.extend(self.due_disputes(&case_id, now, fresh_report.is_some()));
        // Quiet for the quiet period and the need met (step 16).
        let due = demobilisation::may_demobilise(
            situation,
            &self.scenario.rules,
            &self.scenario.needs_per_active_case,
        );
        let demobilisation =
            std::mem::replace(&mut self.case_mut().demobilisation, Demobilisation::NotYet);
        self.case_mut().demobilisation = match demobilisation {
            Demobilisation::NotYet if due => {
                let message_id = fresh_report.unwrap_or_else(|| {
                    let report = self.report(&case_id, now, situation);
                    let id = report.header.as_ref().expect("stamped").message_id.clone();
                    out.push(Outbound::SupervisoryReport(report));
                    id
                });
                Demobilisation::ReportSent { message_id }
            }
            Demobilisation::ReportDelivered => {
                let mut request = Outgoing::new(DemobilisationRequest {
                    header: Some(self.headers.header(now)),
                    case_id,
                    situation: Some(*situation),
                });
                out.extend(request.take_due(now).map(Outbound::DemobilisationRequest));
                Demobilisation::Requested(request)
            }
            Demobilisation::Requested(mut request) => {
                out.extend(request.take_due(now).map(Outbound::DemobilisationRequest));
                Demobilisation::Requested(request)
            }
            waiting => waiting,
        };
        out
    }

    pub(super) fn case_mut(&mut self) -> &mut Case {
        self.case.as_mut().expect("called with a case")
    }

    /// The city's report on `case_id`: its situation, every receipt and its
    /// tally of every whole day so far (cumulative, so a lost report loses
    /// nothing). The driver adds
    /// the message counters.
    fn report(&self, case_id: &str, now: ScenarioTime, situation: &Situation) -> SupervisoryReport {
        let receipts = self
            .shipments
            .iter()
            .filter(|(_, s)| s.case_id == case_id)
            .map(|(shipment_id, s)| {
                let receipt = s.receipt.message();
                ReceiptRecord {
                    shipment_id: shipment_id.clone(),
                    received_at_ms: receipt.received_at_ms,
                    received: receipt.received.clone(),
                    discrepancies: receipt.discrepancies.clone(),
                }
            })
            .collect();
        SupervisoryReport {
            header: Some(self.headers.header(now)),
            case_id: case_id.to_string(),
            receipts,
            situation: Some(*situation),
            daily_tallies: self.daily_tallies(),
            ..Default::default()
        }
    }

    /// The city's needs, to each donor still on the case.
    fn needs_updates(
        &self,
        case_id: &str,
        now: ScenarioTime,
        situation: &Situation,
    ) -> Vec<Outbound> {
        let needs = self.needs(situation.active_cases).to_wire();
        let case = self.case.as_ref().expect("open case");
        case.donors
            .iter()
            .filter(|(_, link)| link.active)
            .map(|(donor_id, link)| Outbound::NeedsUpdate {
                donor_id: donor_id.clone(),
                endpoint: link.endpoint.clone(),
                update: NeedsUpdate {
                    header: Some(self.headers.header(now)),
                    case_id: case_id.to_string(),
                    situation: Some(*situation),
                    needs: needs.clone(),
                },
            })
            .collect()
    }

    /// Takes in the outcome of a send; returns what the operator should
    /// hear of it, if anything.
    pub fn on_sent(&mut self, sent: Sent, now: ScenarioTime) -> Option<Notice> {
        match sent {
            Sent::AssistanceRequest {
                message_id,
                outcome,
            } => return self.on_request_sent(&message_id, outcome, now),
            Sent::SupervisoryReport {
                message_id,
                outcome,
            } => {
                let case = self.case.as_mut()?;
                let awaited = matches!(&case.demobilisation,
                    Demobilisation::ReportSent { message_id: m } if *m == message_id);
                if awaited {
                    // Central must see fresh receipts before the request:
                    // a lost report is sent again on the next tick.
                    case.demobilisation = match outcome {
                        Ok(()) => Demobilisation::ReportDelivered,
                        Err(_) => Demobilisation::NotYet,
                    };
                }
            }
            Sent::DemobilisationRequest {
                message_id,
                outcome,
            } => {
                let case = self.case.as_mut()?;
                if let Demobilisation::Requested(outgoing) = &mut case.demobilisation {
                    if outgoing.message_id() == message_id {
                        outgoing.settle(round_of(&outcome), now);
                    }
                }
            }
            Sent::Receipt {
                shipment_id,
                outcome,
            } => {
                if let Some(shipment) = self.shipments.get_mut(&shipment_id) {
                    shipment.receipt.settle(round_of(&outcome), now);
                }
            }
            Sent::Dispute { donor_id, outcome } => self.on_dispute_sent(&donor_id, outcome, now),
            Sent::PlanProposal { donor_id, outcome } => {
                if let Ok(proposal) = outcome {
                    if Some(proposal.case_id.as_str()) == self.open_case_id() {
                        self.proposals.insert(donor_id, proposal);
                    }
                }
            }
        }
        None
    }

    fn on_request_sent(
        &mut self,
        message_id: &str,
        outcome: Outcome<AssistanceRequestAck>,
        now: ScenarioTime,
    ) -> Option<Notice> {
        let case = self.case.as_mut()?;
        if case.request.message_id() != message_id {
            return None; // the reply to an earlier request: nothing to learn
        }
        let given_up = case.request.settle(round_of(&outcome), now);
        match outcome {
            Ok(ack) if case.id.is_none() && validate::text("case_id", &ack.case_id).is_ok() => {
                case.id = Some(ack.case_id);
            }
            Ok(_) => {}
            // Refused, or central unreachable for every resend: count it as
            // a rejection, so the city asks again 3 days later.
            Err(failure) if given_up && case.stage == Stage::Requested => {
                case.stage = Stage::Rejected { at: now };
                return Some(Notice::RequestNotAccepted {
                    reason: failure.reason,
                });
            }
            Err(_) => {}
        }
        None
    }
}
