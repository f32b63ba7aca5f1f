//! What the province's spans say: the name and stage of each traced
//! message, the case it belongs to, and the ids and quantities it carries.
//! The service and the driver open the spans; this module only describes
//! messages, so the protocol machine stays free of tracing.

use std::collections::HashMap;

use counterpart_protocol::catalog::{self, MessageKind};
use node_kit::access::Guarded;
use node_kit::tls::Role;
use node_kit::trace::{self, key, CaseTraces, Stage};
use opentelemetry::trace::{TraceContextExt, TraceId};
use pairing_proto::resource::ResourceTypeName;
use pairing_proto::v1::{
    Adjustment, AdjustmentKind, Assignment, ClockStart, DemobilisationOrder, Evaluation,
    EvaluationKind, ManifestLine, Mediation, NeedsUpdate, Receipt, ResourcePool, ResourceQuantity,
};
use tonic::metadata::MetadataMap;
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::donor::Donor;
use crate::outbound::Outbound;

/// The span a province opens to send `kind` (the catalog's name for it).
pub fn sender_span(kind: &MessageKind) -> &'static str {
    kind.client_span(Role::Province)
        .expect("the catalog lets a province send what it sends")
}

/// Attribute keys for ids the shared scheme (`node_kit::trace::key`) has
/// no key for, named in the same `pairing.` scheme.
pub mod extra_key {
    pub const EVALUATION_ID: &str = "pairing.evaluation_id";
    pub const ADJUSTMENT_ID: &str = "pairing.adjustment_id";
    pub const ORDER_ID: &str = "pairing.order_id";
    pub const RECEIPT_ID: &str = "pairing.receipt_id";
    pub const KIND: &str = "pairing.kind";
    pub const OUTBREAK_LEVEL: &str = "pairing.outbreak_level";
    pub const FINAL_REPORT: &str = "pairing.final";
}

/// A message a handler receives, as its span records it. Its name, span
/// and stage are its kind's in the catalog ([`Guarded::KIND`]).
pub trait Inbound: Guarded {
    /// The case it is about, if any (the clock is about none).
    fn case_id(&self) -> Option<&str>;
    /// The city it names, when the donor does not know the case yet.
    fn city_id(&self) -> Option<&str> {
        None
    }
    /// Records the ids and quantities it carries.
    fn annotate(&self, span: &Span);
    /// Why an accepted message still marks its span as an error: a
    /// discrepancy or a penalty is something to find in Jaeger.
    fn trouble(&self) -> Option<String> {
        None
    }
}

/// A case id, unless the field is empty (a refused message).
fn case(case_id: &str) -> Option<&str> {
    (!case_id.is_empty()).then_some(case_id)
}

impl Inbound for ClockStart {
    fn case_id(&self) -> Option<&str> {
        None
    }
    fn annotate(&self, _span: &Span) {}
}

impl Inbound for Assignment {
    fn case_id(&self) -> Option<&str> {
        case(&self.case_id)
    }
    fn city_id(&self) -> Option<&str> {
        case(&self.recipient_city_id)
    }
    fn annotate(&self, span: &Span) {
        trace::annotate(span, key::ASSIGNMENT_ID, &self.assignment_id);
        trace::quantities(span, &self.targets);
    }
}

impl Inbound for Evaluation {
    fn case_id(&self) -> Option<&str> {
        case(&self.case_id)
    }
    fn annotate(&self, span: &Span) {
        trace::annotate(span, key::ASSIGNMENT_ID, &self.assignment_id);
        trace::annotate(span, extra_key::EVALUATION_ID, &self.evaluation_id);
        trace::annotate(span, extra_key::KIND, self.kind().as_str_name());
    }
    fn trouble(&self) -> Option<String> {
        (self.kind() == EvaluationKind::Accountability)
            .then(|| format!("held accountable: {}", self.reason))
    }
}

impl Inbound for Adjustment {
    fn case_id(&self) -> Option<&str> {
        case(&self.case_id)
    }
    fn annotate(&self, span: &Span) {
        trace::annotate(span, key::ASSIGNMENT_ID, &self.assignment_id);
        trace::annotate(span, extra_key::ADJUSTMENT_ID, &self.adjustment_id);
        trace::annotate(span, extra_key::KIND, self.kind().as_str_name());
        if self.kind() == AdjustmentKind::ChangeTargets {
            trace::quantities(span, &self.new_targets);
        }
    }
}

impl Inbound for DemobilisationOrder {
    fn case_id(&self) -> Option<&str> {
        case(&self.case_id)
    }
    fn annotate(&self, span: &Span) {
        trace::annotate(span, key::ASSIGNMENT_ID, &self.assignment_id);
        trace::annotate(span, extra_key::ORDER_ID, &self.order_id);
    }
}

impl Inbound for Mediation {
    fn case_id(&self) -> Option<&str> {
        case(&self.case_id)
    }
    fn annotate(&self, span: &Span) {
        trace::annotate(span, key::ASSIGNMENT_ID, &self.assignment_id);
        trace::annotate(span, key::DISPUTE_ID, &self.dispute_id);
        trace::annotate(span, key::RULING, self.ruling().as_str_name());
    }
}

impl Inbound for Receipt {
    fn case_id(&self) -> Option<&str> {
        case(&self.case_id)
    }
    fn annotate(&self, span: &Span) {
        trace::annotate(span, key::SHIPMENT_ID, &self.shipment_id);
        trace::annotate(span, extra_key::RECEIPT_ID, &self.receipt_id);
        trace::quantities(span, &self.received);
    }
    fn trouble(&self) -> Option<String> {
        if self.discrepancies.is_empty() {
            return None;
        }
        let lines: Vec<String> = self
            .discrepancies
            .iter()
            .map(|d| {
                format!(
                    "{} {} ({})",
                    d.quantity,
                    d.resource_type,
                    d.reason().as_str_name()
                )
            })
            .collect();
        Some(format!("discrepancies: {}", lines.join(", ")))
    }
}

impl Inbound for NeedsUpdate {
    fn case_id(&self) -> Option<&str> {
        case(&self.case_id)
    }
    fn annotate(&self, span: &Span) {
        trace::quantities(span, &self.needs);
    }
}

/// Records the province, the case and its city. The city comes from the
/// donor's own record of the case when it has one, not from the sender.
pub fn annotate_case<M: Inbound>(span: &Span, donor: &Donor, message: &M) {
    trace::annotate(span, key::PROVINCE, donor.province_id());
    let Some(case_id) = message.case_id() else {
        return;
    };
    trace::annotate(span, key::CASE_ID, case_id);
    let city = donor
        .assignments()
        .find(|a| a.case_id == case_id)
        .map(|a| a.city_id.as_str())
        .or(message.city_id());
    if let Some(city) = city {
        trace::annotate(span, key::CITY, city);
    }
}

/// The trace a negotiation stream's `traceparent` belongs to, if any.
pub fn stream_trace(metadata: &MetadataMap) -> Option<TraceId> {
    let carrier: HashMap<String, String> = ["traceparent", "tracestate"]
        .into_iter()
        .filter_map(|k| {
            let value = metadata.get(k)?.to_str().ok()?;
            Some((k.to_string(), value.to_string()))
        })
        .collect();
    let cx = opentelemetry::global::get_text_map_propagator(|p| p.extract(&carrier));
    let span_context = cx.span().span_context().clone();
    span_context.is_valid().then(|| span_context.trace_id())
}

/// The span of one needs update. The stream opens once and may outlive a
/// case, so its `traceparent` is the parent only while it is in the case's
/// trace; otherwise the update joins the case's remembered trace.
pub fn plan_span(
    traces: &CaseTraces,
    stream_metadata: &MetadataMap,
    stream_trace: Option<TraceId>,
    case_id: &str,
) -> Span {
    let kind = &catalog::NEEDS_UPDATE;
    let span = trace::server_span(kind.server_span, kind.stage, stream_metadata);
    if let Some(case_cx) = traces.context(case_id) {
        if Some(case_cx.span().span_context().trace_id()) != stream_trace {
            let _ = span.set_parent(case_cx);
        }
    }
    span
}

/// The case an outbound message belongs to, from the donor's records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseOfMessage {
    pub case_id: String,
    pub city_id: String,
}

/// The case of `message`; `None` for capacity reports.
pub fn case_of(donor: &Donor, message: &Outbound) -> Option<CaseOfMessage> {
    let assignment_id = match message {
        Outbound::Capacity { .. } => return None,
        Outbound::Acknowledgement(ack) => &ack.assignment_id,
        Outbound::Report { assignment_id, .. } => assignment_id,
        Outbound::Shipment { shipment, .. } => &shipment.assignment_id,
    };
    donor.assignment(assignment_id).map(|a| CaseOfMessage {
        case_id: a.case_id.clone(),
        city_id: a.city_id.clone(),
    })
}

/// The name and stage of the span that sends `message`.
pub fn outbound_step(message: &Outbound) -> (&'static str, Stage) {
    let (kind, is_final) = match message {
        Outbound::Capacity { .. } => (&catalog::CAPACITY_REPORT, false),
        Outbound::Acknowledgement(_) => (&catalog::ACKNOWLEDGEMENT, false),
        Outbound::Report { report, .. } => (&catalog::SUPERVISORY_REPORT, report.r#final),
        Outbound::Shipment { .. } => (&catalog::SHIPMENT, false),
    };
    (sender_span(kind), kind.stage_of(is_final))
}

/// The sender span of `message`: in its case's trace, or, for a message
/// about no case, the root of a trace of its own.
pub fn outbound_span(
    traces: &CaseTraces,
    province_id: &str,
    message: &Outbound,
    case: Option<&CaseOfMessage>,
) -> Span {
    let (span_name, stage) = outbound_step(message);
    let span = match case {
        Some(case) => {
            let span = traces.client_span(span_name, stage, &case.case_id);
            trace::annotate(&span, key::CITY, &case.city_id);
            span
        }
        None => trace::client_span(span_name, stage, None),
    };
    trace::annotate(&span, key::PROVINCE, province_id);
    annotate_outbound(&span, message);
    span
}

fn annotate_outbound(span: &Span, message: &Outbound) {
    match message {
        Outbound::Capacity { report, .. } => {
            trace::quantities(span, &pooled(&report.pools));
            span.set_attribute(extra_key::OUTBREAK_LEVEL, i64::from(report.outbreak_level));
        }
        Outbound::Acknowledgement(ack) => {
            trace::annotate(span, key::ASSIGNMENT_ID, &ack.assignment_id);
            trace::annotate(span, extra_key::KIND, ack.kind().as_str_name());
        }
        Outbound::Report {
            assignment_id,
            report,
        } => {
            trace::annotate(span, key::ASSIGNMENT_ID, assignment_id);
            let lines: Vec<ResourceQuantity> = report
                .shipments
                .iter()
                .flat_map(|s| s.lines.iter().cloned())
                .collect();
            trace::quantities(span, &summed(lines));
            span.set_attribute(extra_key::FINAL_REPORT, report.r#final);
        }
        Outbound::Shipment { shipment, .. } => {
            trace::annotate(span, key::ASSIGNMENT_ID, &shipment.assignment_id);
            trace::annotate(span, key::SHIPMENT_ID, &shipment.shipment_id);
            trace::quantities(span, &manifest(&shipment.lines));
        }
    }
}

fn pooled(pools: &[ResourcePool]) -> Vec<ResourceQuantity> {
    pools
        .iter()
        .map(|p| ResourceQuantity {
            resource_type: p.resource_type.as_str().into(),
            quantity: p.quantity,
        })
        .collect()
}

fn manifest(lines: &[ManifestLine]) -> Vec<ResourceQuantity> {
    summed(lines.iter().map(|l| ResourceQuantity {
        resource_type: l.resource_type.as_str().into(),
        quantity: l.quantity,
    }))
}

/// One line per type, so a span never gets the same attribute twice.
fn summed(lines: impl IntoIterator<Item = ResourceQuantity>) -> Vec<ResourceQuantity> {
    let mut totals = std::collections::BTreeMap::<ResourceTypeName, i64>::new();
    for line in lines {
        *totals.entry(line.resource_type).or_insert(0) += line.quantity;
    }
    totals
        .into_iter()
        .map(|(resource_type, quantity)| ResourceQuantity {
            resource_type,
            quantity,
        })
        .collect()
}
