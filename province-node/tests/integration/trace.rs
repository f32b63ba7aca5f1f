//! One case, one trace: the province's spans, exported in memory. Each
//! test installs its own subscriber on its own thread (the runtime is
//! single-threaded, so the node's tasks run there too), never a global one.

use std::sync::Arc;

use crate::common::*;
use opentelemetry::trace::{
    SpanId, Status as SpanStatus, TraceContextExt as _, TraceId, TracerProvider as _,
};
use opentelemetry::Value;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use pairing_proto::v1::donor_province_client::DonorProvinceClient;
use pairing_proto::v1::donor_province_server::DonorProvince;
use pairing_proto::v1::*;
use province_node::donor::Donor;
use province_node::service::{ProvinceService, SharedDonor};
use tokio_util::sync::CancellationToken;
use tonic::Request;
use tracing::subscriber::DefaultGuard;
use tracing_subscriber::layer::SubscriberExt;

const CASE: &str = "case-huangshi-1";
const ASSIGNMENT: &str = "asg-case-huangshi-1-jiangsu";
/// The trace of the case, as central's `traceparent` carries it.
const CASE_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
/// Central's span that sent the assignment.
const CENTRAL_SPAN: &str = "00f067aa0ba902b7";
/// The city's span that sent a receipt or opened a negotiation stream.
const CITY_SPAN: &str = "b7ad6b7169203331";

/// Spans ended on this thread since [`record`].
struct Recorded {
    exporter: InMemorySpanExporter,
    _provider: SdkTracerProvider,
    _guard: DefaultGuard,
}

fn record() -> Recorded {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
    Recorded {
        exporter,
        _provider: provider,
        _guard: tracing::subscriber::set_default(subscriber),
    }
}

impl Recorded {
    fn named(&self, name: &str) -> Vec<SpanData> {
        let spans = self.exporter.get_finished_spans().unwrap();
        spans.into_iter().filter(|s| s.name == name).collect()
    }

    async fn first(&self, name: &str) -> SpanData {
        eventually(name, || self.named(name).into_iter().next()).await
    }
}

fn attribute(span: &SpanData, key: &str) -> Option<Value> {
    let found = span.attributes.iter().find(|kv| kv.key.as_str() == key);
    found.map(|kv| kv.value.clone())
}

fn text(value: &str) -> Option<Value> {
    Some(Value::from(value.to_string()))
}

fn traceparent_of(trace_id: &str, span_id: &str) -> String {
    format!("00-{trace_id}-{span_id}-01")
}

/// `message` as sent from the span `span_id` of trace `trace_id`.
fn traced<T>(message: T, trace_id: &str, span_id: &str) -> Request<T> {
    let mut request = Request::new(message);
    let value = traceparent_of(trace_id, span_id).parse().unwrap();
    request.metadata_mut().insert("traceparent", value);
    request
}

fn trace_id(hex: &str) -> TraceId {
    TraceId::from_hex(hex).unwrap()
}

/// The trace id in a `traceparent` header.
fn trace_of(traceparent: &str) -> TraceId {
    let hex = traceparent.split('-').nth(1).expect("a traceparent");
    trace_id(hex)
}

fn assignment(doctors: i64, city_endpoint: &str) -> Assignment {
    Assignment {
        header: header("central", "asg-msg-1"),
        assignment_id: ASSIGNMENT.into(),
        case_id: CASE.into(),
        recipient_city_id: "huangshi".into(),
        recipient_endpoint: city_endpoint.into(),
        objectives: vec![],
        targets: vec![ResourceQuantity {
            resource_type: "personnel/doctor".into(),
            quantity: doctors,
        }],
        reason: "historical".into(),
    }
}

/// A province service with its clock started, called directly.
async fn started_service() -> (ProvinceService, Arc<SharedDonor>) {
    let headers = Arc::new(node_kit::header::this_life("jiangsu"));
    let donor = Donor::new(scenario(), "jiangsu", headers).unwrap();
    let shared = Arc::new(SharedDonor::new(node_kit::durable::Durable::in_memory(
        donor,
    )));
    let service = ProvinceService::new(shared.clone(), CancellationToken::new());
    let start = ClockStart {
        header: header("central", "clock-1"),
        clock: Some(clock()),
    };
    service.start_clock(Request::new(start)).await.unwrap();
    (service, shared)
}

#[tokio::test]
async fn an_assignment_span_is_a_child_of_centrals_and_becomes_the_case_trace() {
    let spans = record();
    let (service, shared) = started_service().await;
    let request = traced(
        assignment(5, "http://127.0.0.1:9"),
        CASE_TRACE,
        CENTRAL_SPAN,
    );
    service.assign(request).await.unwrap();

    let span = spans.first("province.assignment").await;
    assert_eq!(span.span_context.trace_id(), trace_id(CASE_TRACE));
    assert_eq!(span.parent_span_id, SpanId::from_hex(CENTRAL_SPAN).unwrap());
    assert_eq!(attribute(&span, "pairing.case_id"), text(CASE));
    assert_eq!(attribute(&span, "pairing.city"), text("huangshi"));
    assert_eq!(attribute(&span, "pairing.province"), text("jiangsu"));
    assert_eq!(attribute(&span, "pairing.assignment_id"), text(ASSIGNMENT));
    assert_eq!(attribute(&span, "pairing.stage"), text("decision"));
    assert_eq!(
        attribute(&span, "pairing.qty.personnel/doctor"),
        Some(Value::I64(5))
    );
    assert_eq!(span.status, SpanStatus::Unset);
    let remembered = shared.traces.context(CASE).expect("case trace remembered");
    assert_eq!(
        remembered.span().span_context().span_id(),
        span.span_context.span_id(),
        "later steps join this span"
    );
}

#[tokio::test]
async fn a_refused_assignment_is_an_error_span_and_leaves_no_case_trace() {
    let spans = record();
    let (service, shared) = started_service().await;
    let request = traced(
        assignment(-5, "http://127.0.0.1:9"),
        CASE_TRACE,
        CENTRAL_SPAN,
    );
    let refused = service.assign(request).await.unwrap_err();

    let span = spans.first("province.assignment").await;
    assert_eq!(span.span_context.trace_id(), trace_id(CASE_TRACE));
    assert_eq!(
        span.status,
        SpanStatus::error(refused.message().to_string())
    );
    assert!(shared.traces.context(CASE).is_none());
}

/// A node registered with a fake central that hands out the clock, once
/// it has the clock (its first capacity report shows it).
async fn started_node() -> (
    node_kit::server::RunningNode,
    DonorProvinceClient<tonic::transport::Channel>,
    FakeCentral,
) {
    let (node, central) = start_jiangsu(Some(clock())).await;
    eventually("capacity report", || {
        central.inbox.lock().unwrap().capacity.first().cloned()
    })
    .await;
    let client = DonorProvinceClient::connect(node.endpoint()).await.unwrap();
    (node, client, central)
}

/// The `traceparent` of the first message of `kind` central received.
async fn received_traceparent(central: &FakeCentral, kind: &str) -> String {
    eventually(kind, || {
        let inbox = central.inbox.lock().unwrap();
        let found = inbox.traceparents.iter().find(|(k, _)| *k == kind);
        found.map(|(_, t)| t.clone())
    })
    .await
}

#[tokio::test]
async fn sends_and_receipts_of_a_case_join_its_trace_and_launch_messages_start_their_own() {
    let spans = record();
    let city = FakeCity::default();
    let city_endpoint = serve_city(city.clone()).await;
    let (node, mut province, central) = started_node().await;
    let request = traced(assignment(5, &city_endpoint), CASE_TRACE, CENTRAL_SPAN);
    province.assign(request).await.unwrap();

    // What central and the city received was sent from the case's trace.
    let acknowledgement = received_traceparent(&central, "AssignmentAcknowledgement").await;
    assert_eq!(trace_of(&acknowledgement), trace_id(CASE_TRACE));
    let shipment = eventually("shipment", || {
        city.traceparents.lock().unwrap().first().cloned()
    })
    .await;
    assert_eq!(trace_of(&shipment), trace_id(CASE_TRACE));

    // The sender spans hang under the assignment span.
    let assigned = spans.first("province.assignment").await;
    let acknowledged = spans.first("province.acknowledge").await;
    assert_eq!(acknowledged.parent_span_id, assigned.span_context.span_id());
    assert_eq!(
        acknowledgement,
        traceparent_of(CASE_TRACE, &acknowledged.span_context.span_id().to_string())
    );
    assert_eq!(attribute(&acknowledged, "pairing.case_id"), text(CASE));
    assert_eq!(attribute(&acknowledged, "pairing.city"), text("huangshi"));
    let shipped = spans.first("province.ship").await;
    assert_eq!(shipped.parent_span_id, assigned.span_context.span_id());
    let first = city.shipments.lock().unwrap()[0].clone();
    assert_eq!(
        attribute(&shipped, "pairing.shipment_id"),
        text(&first.shipment_id)
    );
    assert_eq!(
        attribute(&shipped, "pairing.qty.personnel/doctor"),
        Some(Value::I64(first.lines[0].quantity))
    );

    // A receipt short of what was shipped is an error in the case's trace.
    let doctors = first.lines[0].quantity;
    let receipt = Receipt {
        header: header("huangshi", "rcpt-msg-1"),
        receipt_id: format!("rcpt-{}", first.shipment_id),
        shipment_id: first.shipment_id.clone(),
        case_id: CASE.into(),
        received_at_ms: 1,
        received: vec![ResourceQuantity {
            resource_type: "personnel/doctor".into(),
            quantity: doctors - 1,
        }],
        discrepancies: vec![Discrepancy {
            resource_type: "personnel/doctor".into(),
            quantity: 1,
            reason: DiscrepancyReason::ShortShipped as i32,
        }],
    };
    let request = traced(receipt, CASE_TRACE, CITY_SPAN);
    assert!(
        !province
            .confirm_receipt(request)
            .await
            .unwrap()
            .into_inner()
            .duplicate
    );
    let receipted = spans.first("province.receipt").await;
    assert_eq!(receipted.span_context.trace_id(), trace_id(CASE_TRACE));
    assert_eq!(
        receipted.parent_span_id,
        SpanId::from_hex(CITY_SPAN).unwrap()
    );
    assert_eq!(attribute(&receipted, "pairing.city"), text("huangshi"));
    let SpanStatus::Error { description } = &receipted.status else {
        panic!("a discrepancy is an error: {:?}", receipted.status);
    };
    assert!(description.contains("1 personnel/doctor"), "{description}");

    // Registration and capacity are about no case: each is a root.
    let registered = spans.first("province.register").await;
    let reported = spans.first("province.capacity").await;
    for launch in [&registered, &reported] {
        assert_eq!(launch.parent_span_id, SpanId::INVALID, "{}", launch.name);
        assert_ne!(launch.span_context.trace_id(), trace_id(CASE_TRACE));
        assert_eq!(attribute(launch, "pairing.stage"), text("launch"));
    }
    assert_ne!(
        registered.span_context.trace_id(),
        reported.span_context.trace_id()
    );
    let registration = received_traceparent(&central, "RegisterNode").await;
    assert_eq!(trace_of(&registration), registered.span_context.trace_id());
    node.stop().await.unwrap();
}

#[tokio::test]
async fn plan_updates_follow_a_stream_in_the_case_trace_and_else_join_the_case() {
    const STRAY_TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
    let spans = record();
    let (node, mut province, _central) = started_node().await;
    let request = traced(
        assignment(5, "http://127.0.0.1:9"),
        CASE_TRACE,
        CENTRAL_SPAN,
    );
    province.assign(request).await.unwrap();
    let assigned = spans.first("province.assignment").await;

    for (message_id, stream_trace) in [("needs-1", CASE_TRACE), ("needs-2", STRAY_TRACE)] {
        let update = NeedsUpdate {
            header: header("huangshi", message_id),
            case_id: CASE.into(),
            situation: Some(Situation::default()),
            needs: vec![],
        };
        let updates = traced(tokio_stream::iter(vec![update]), stream_trace, CITY_SPAN);
        let mut proposals = province.negotiate_plan(updates).await.unwrap().into_inner();
        proposals.message().await.unwrap().expect("a proposal");
    }
    let plans = eventually("two plan spans", || {
        let plans = spans.named("province.plan");
        (plans.len() == 2).then_some(plans)
    })
    .await;
    for plan in &plans {
        assert_eq!(plan.span_context.trace_id(), trace_id(CASE_TRACE));
        assert_eq!(attribute(plan, "pairing.case_id"), text(CASE));
    }
    let parents: Vec<SpanId> = plans.iter().map(|p| p.parent_span_id).collect();
    assert!(
        parents.contains(&SpanId::from_hex(CITY_SPAN).unwrap()),
        "a stream in the case's trace is the parent: {parents:?}"
    );
    assert!(
        parents.contains(&assigned.span_context.span_id()),
        "a stray stream is not: {parents:?}"
    );
    node.stop().await.unwrap();
}
