//! The spans the city's adapters open, so that one city's case is one trace
//! across central, its donors and the city: which name and stage each
//! message gets, which attributes it carries, and which trace it joins.
//!
//! Only names and attributes live here; the service and the driver decide
//! when a span opens and closes. The protocol machine knows nothing of spans.

use counterpart_protocol::catalog::{self, MessageKind};
use node_kit::tls::Role;
use node_kit::trace::{self, key, CaseTraces, Stage};
use pairing_proto::v1::{CaseDecision, Discrepancy, DiscrepancyReason, ResourceQuantity, Shipment};
use tracing::Span;

use crate::recipient::Outbound;

/// The city's trace memory, shared by the service and the driver.
#[derive(Debug)]
pub struct CityTraces {
    /// This city's id, the `pairing.city` of every span.
    city_id: String,
    /// Each case's context: the request's span once central names the
    /// case, or the decision's if that arrives first.
    cases: CaseTraces,
    /// Each assistance request's first send, by message id, so that a
    /// resend joins the trace central may already have opened for it.
    requests: CaseTraces,
}

impl CityTraces {
    pub fn new(city_id: &str) -> Self {
        CityTraces {
            city_id: city_id.to_string(),
            cases: CaseTraces::default(),
            requests: CaseTraces::default(),
        }
    }

    /// Makes `span` the context of `case_id`, unless the case has one.
    pub fn remember(&self, case_id: &str, span: &Span) {
        if !case_id.is_empty() {
            self.cases.remember(case_id, span);
        }
    }

    /// This city's id, the `pairing.city` of every span.
    pub fn city_id(&self) -> &str {
        &self.city_id
    }

    /// Registration is about no case: a trace of its own.
    pub fn registration(&self) -> Span {
        let span = trace::client_span(sender_span(&catalog::REGISTER), Stage::Launch, None);
        trace::annotate(&span, key::CITY, &self.city_id);
        span
    }

    /// The sender's span of `message`. An assistance request is the root
    /// of its case's trace (its resends join the first send's); every
    /// other message joins the trace of the case it is about.
    pub fn outbound(&self, message: &Outbound) -> Span {
        let span = match message {
            Outbound::AssistanceRequest(r) => {
                let message_id = r.header.as_ref().map_or("", |h| h.message_id.as_str());
                let first_send = self.requests.context(message_id);
                let request = &catalog::ASSISTANCE_REQUEST;
                let span = trace::client_span(sender_span(request), request.stage, first_send);
                self.requests.remember(message_id, &span);
                trace::quantities(&span, &r.needs);
                span
            }
            Outbound::SupervisoryReport(r) => {
                let report = &catalog::SUPERVISORY_REPORT;
                let stage = report.stage_of(r.r#final);
                self.cases
                    .client_span(sender_span(report), stage, &r.case_id)
            }
            Outbound::DemobilisationRequest(r) => {
                self.case_span(&catalog::DEMOBILISATION_REQUEST, &r.case_id)
            }
            Outbound::Receipt {
                donor_id, receipt, ..
            } => {
                let span = self.case_span(&catalog::RECEIPT, &receipt.case_id);
                trace::annotate(&span, key::PROVINCE, donor_id);
                trace::annotate(&span, key::SHIPMENT_ID, &receipt.shipment_id);
                trace::quantities(&span, &receipt.received);
                span
            }
            Outbound::Dispute(d) => {
                let span = self.case_span(&catalog::DISPUTE, &d.case_id);
                trace::annotate(&span, key::PROVINCE, &d.counterpart_id);
                trace::annotate(&span, key::DISPUTE_ID, &d.dispute_id);
                span
            }
            Outbound::NeedsUpdate {
                donor_id, update, ..
            } => {
                let span = self.case_span(&catalog::NEEDS_UPDATE, &update.case_id);
                trace::annotate(&span, key::PROVINCE, donor_id);
                trace::quantities(&span, &update.needs);
                span
            }
        };
        trace::annotate(&span, key::CITY, &self.city_id);
        span
    }
}

impl CityTraces {
    /// The sender's span of a message of `kind` about `case_id`, in the
    /// case's trace.
    fn case_span(&self, kind: &MessageKind, case_id: &str) -> Span {
        self.cases
            .client_span(sender_span(kind), kind.stage, case_id)
    }
}

/// The span a city opens to send `kind` (the catalog's name for it).
fn sender_span(kind: &MessageKind) -> &'static str {
    kind.client_span(Role::City)
        .expect("the catalog lets a city send what it sends")
}

/// The case and the donors a decision names.
pub fn annotate_decision(span: &Span, decision: &CaseDecision) {
    annotate_case(span, &decision.case_id);
    let donors: Vec<&str> = decision
        .donors
        .iter()
        .map(|d| d.province_id.as_str())
        .collect();
    if !donors.is_empty() {
        trace::annotate(span, key::PROVINCE, &donors.join(","));
    }
    if let Some(assessment) = &decision.assessment {
        trace::quantities(span, &assessment.targets);
    }
}

/// Why a decision is a rejection, if it is one (a rejection is an error in
/// the case's trace: the city got no help).
pub fn rejection(decision: &CaseDecision) -> Option<String> {
    let assessment = decision.assessment.as_ref()?;
    (!assessment.accepted).then(|| format!("rejected: {}", assessment.reason))
}

/// The case, the donor, the shipment and what it carries.
pub fn annotate_shipment(span: &Span, shipment: &Shipment) {
    annotate_case(span, &shipment.case_id);
    if let Some(header) = &shipment.header {
        trace::annotate(span, key::PROVINCE, &header.sender_id);
    }
    trace::annotate(span, key::SHIPMENT_ID, &shipment.shipment_id);
    trace::annotate(span, key::ASSIGNMENT_ID, &shipment.assignment_id);
    let shipped: Vec<ResourceQuantity> = shipment
        .lines
        .iter()
        .map(|line| ResourceQuantity {
            resource_type: line.resource_type.as_str().into(),
            quantity: line.quantity,
        })
        .collect();
    trace::quantities(span, &shipped);
}

/// What a receipt's discrepancies say, if it has any (a discrepancy is an
/// error in the case's trace: less arrived than was shipped).
pub fn discrepancy(discrepancies: &[Discrepancy]) -> Option<String> {
    if discrepancies.is_empty() {
        return None;
    }
    let lines: Vec<String> = discrepancies
        .iter()
        .map(|d| {
            let reason = DiscrepancyReason::try_from(d.reason)
                .map_or("an unknown reason", |r| r.as_str_name());
            format!("{} {} ({reason})", d.quantity, d.resource_type)
        })
        .collect();
    Some(format!("discrepancy: {}", lines.join(", ")))
}

/// `pairing.case_id`, when the message names a case.
pub fn annotate_case(span: &Span, case_id: &str) {
    if !case_id.is_empty() {
        trace::annotate(span, key::CASE_ID, case_id);
    }
}
