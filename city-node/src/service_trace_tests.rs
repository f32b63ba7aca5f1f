//! What the handlers trace: each handler's span is a child of the caller's
//! `traceparent`, names the case, the city and the donors, marks refusals,
//! rejections and discrepancies as errors, and makes the case's context
//! known to the city's later sends.

use std::sync::Arc;

use node_kit::counters::MessageCounters;
use node_kit::trace::key;
use opentelemetry::trace::{SpanId, Status as SpanStatus, TraceId};
use opentelemetry_sdk::trace::SpanData;
use pairing_proto::v1::recipient_city_server::RecipientCity;
use pairing_proto::v1::{CaseDecision, Shipment, SupervisoryReport};
use tonic::{Code, Request};

use super::CityService;
use crate::recipient::{Outbound, Recipient};
use crate::spans::CityTraces;
use crate::testing::otel::{self, attribute, caller_traceparent, CALLER_SPAN_ID, CALLER_TRACE_ID};
use crate::testing::CITY;
use crate::testing::{decision, line, open_case, request_case, shipment, started, CASE, JIANGSU};

fn service(machine: Recipient) -> (CityService, Arc<CityTraces>) {
    let traces = Arc::new(CityTraces::new(CITY));
    let service = CityService::new(
        Arc::new(node_kit::durable::Durable::in_memory(machine)),
        Arc::new(MessageCounters::default()),
        traces.clone(),
    );
    (service, traces)
}

/// `message` as central or a donor sends it: in the caller's span.
fn from_caller<T>(message: T) -> Request<T> {
    let mut request = Request::new(message);
    let traceparent = caller_traceparent().parse().expect("ascii");
    request.metadata_mut().insert("traceparent", traceparent);
    request
}

fn caller_trace() -> TraceId {
    TraceId::from_hex(CALLER_TRACE_ID).unwrap()
}

/// The span of the city's next report on `case_id`, ended.
fn report_span(traces: &CityTraces, recorder: &otel::Recorder, case_id: &str) -> SpanData {
    let report = SupervisoryReport {
        case_id: case_id.into(),
        ..Default::default()
    };
    drop(traces.outbound(&Outbound::SupervisoryReport(report)));
    recorder
        .named("city.report")
        .pop()
        .expect("the report span ended")
}

fn error_of(span: &SpanData) -> String {
    match &span.status {
        SpanStatus::Error { description } => description.to_string(),
        other => panic!("{} is not an error: {other:?}", span.name),
    }
}

#[tokio::test]
async fn a_decision_joins_the_callers_trace_and_the_case_keeps_it() {
    let recorder = otel::record();
    let mut machine = started();
    request_case(&mut machine, 0);
    let (service, traces) = service(machine);

    let accepted = decision("decision-1", 1, &[("jiangsu", JIANGSU)]);
    service
        .notify_decision(from_caller(accepted))
        .await
        .unwrap();

    let [span] = recorder.named("city.decision").try_into().unwrap();
    assert_eq!(span.span_context.trace_id(), caller_trace());
    assert_eq!(
        span.parent_span_id,
        SpanId::from_hex(CALLER_SPAN_ID).unwrap()
    );
    assert_eq!(attribute(&span, key::CASE_ID).as_deref(), Some(CASE));
    assert_eq!(attribute(&span, key::CITY).as_deref(), Some(CITY));
    assert_eq!(attribute(&span, key::PROVINCE).as_deref(), Some("jiangsu"));
    assert_eq!(attribute(&span, key::STAGE).as_deref(), Some("decision"));
    assert_eq!(span.status, SpanStatus::Unset);
    // A report days later joins the case's trace, under the decision.
    let report = report_span(&traces, &recorder, CASE);
    assert_eq!(report.span_context.trace_id(), caller_trace());
    assert_eq!(report.parent_span_id, span.span_context.span_id());
}

#[tokio::test]
async fn a_refusal_is_an_error_and_gives_no_case_a_context() {
    let recorder = otel::record();
    let mut machine = started();
    request_case(&mut machine, 0);
    let (service, traces) = service(machine);

    let stranger = CaseDecision {
        case_id: "case-wuhan-1".into(),
        ..decision("decision-1", 1, &[("jiangsu", JIANGSU)])
    };
    let err = service
        .notify_decision(from_caller(stranger))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);

    let [span] = recorder.named("city.decision").try_into().unwrap();
    assert_eq!(error_of(&span), err.message());
    assert_eq!(
        attribute(&span, key::CASE_ID).as_deref(),
        Some("case-wuhan-1")
    );
    let report = report_span(&traces, &recorder, "case-wuhan-1");
    assert_ne!(report.span_context.trace_id(), caller_trace());
    assert_eq!(report.parent_span_id, SpanId::INVALID, "a trace of its own");
}

#[tokio::test]
async fn a_rejection_is_an_error_in_the_case_trace() {
    let recorder = otel::record();
    let mut machine = started();
    request_case(&mut machine, 0);
    let (service, traces) = service(machine);

    let rejected = decision("decision-1", 1, &[]);
    assert!(
        !service
            .notify_decision(from_caller(rejected))
            .await
            .unwrap()
            .into_inner()
            .duplicate
    );

    let [span] = recorder.named("city.decision").try_into().unwrap();
    assert_eq!(error_of(&span), "rejected: test");
    let report = report_span(&traces, &recorder, CASE);
    assert_eq!(report.span_context.trace_id(), caller_trace());
}

#[tokio::test]
async fn a_shipment_that_arrives_short_is_an_error_and_one_that_arrives_whole_is_not() {
    let recorder = otel::record();
    let mut machine = started();
    open_case(&mut machine);
    let (service, _) = service(machine);

    let masks = shipment("s1", "jiangsu", 1, vec![line("material/mask_n95", 1_999)]);
    service
        .deliver_shipment(from_caller(masks.clone()))
        .await
        .unwrap();
    let doctors: Shipment = shipment("s2", "jiangsu", 2, vec![line("personnel/doctor", 10)]);
    service
        .deliver_shipment(from_caller(doctors))
        .await
        .unwrap();

    let [short, whole] = recorder.named("city.shipment").try_into().unwrap();
    assert_eq!(short.span_context.trace_id(), caller_trace());
    assert_eq!(
        attribute(&short, key::SHIPMENT_ID),
        Some(format!("shp-jiangsu-{CASE}-1"))
    );
    assert_eq!(attribute(&short, key::PROVINCE).as_deref(), Some("jiangsu"));
    assert_eq!(
        attribute(&short, "pairing.qty.material/mask_n95").as_deref(),
        Some("1999")
    );
    let lost = counterpart_protocol::recipient::testing::masks_lost(&masks, 1_999);
    assert!(lost > 0, "the seeded draw loses some of the masks");
    assert_eq!(
        error_of(&short),
        format!("discrepancy: {lost} material/mask_n95 (DISCREPANCY_REASON_DAMAGED_IN_TRANSIT)")
    );
    assert_eq!(whole.status, SpanStatus::Unset);
}
