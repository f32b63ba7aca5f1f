//! The city node in-process, over real gRPC: a fake central and a fake donor
//! on 127.0.0.1:0, the city started with [`crate::start`].

use std::sync::Arc;
use std::time::Duration;

use node_kit::server::RunningNode;
use pairing_proto::v1::recipient_city_client::RecipientCityClient;
use pairing_proto::v1::{CaseClosure, CaseDecision, ManifestLine, Shipment};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;
use tonic::Code;

use crate::testing::peers::{serve_peers, AtCentral, AtDonor, TEST_DAY_MS};
use crate::testing::{decision, header, line, shipment, CASE};
use crate::testing::{outbreak, CITY};
use crate::{start, CityConfig};

/// Wall time any expected message may take to arrive.
const PATIENCE: Duration = Duration::from_secs(10);

struct Run {
    city: RunningNode,
    client: RecipientCityClient<Channel>,
    peers: String,
    at_central: UnboundedReceiver<AtCentral>,
    at_donor: UnboundedReceiver<AtDonor>,
    peers_shutdown: CancellationToken,
}

async fn launch() -> Run {
    let peers_shutdown = CancellationToken::new();
    let (peers, at_central, at_donor) = serve_peers(peers_shutdown.clone()).await;
    let city = start(CityConfig {
        scenario: Arc::new(outbreak()),
        city_id: CITY.into(),
        central_endpoint: peers.clone(),
        listen_addr: "127.0.0.1:0".into(),
        advertise: None,
        tls: None,
        data_dir: None,
        durability: Default::default(),
        faults: None,
    })
    .await
    .unwrap();
    let client = RecipientCityClient::new(node_kit::client::channel(&city.endpoint()).unwrap());
    Run {
        city,
        client,
        peers,
        at_central,
        at_donor,
        peers_shutdown,
    }
}

impl Run {
    async fn stop(self) {
        self.city.stop().await.unwrap();
        self.peers_shutdown.cancel();
    }

    fn decision(&self) -> CaseDecision {
        decision("decision-1", 1, &[("jiangsu", &self.peers)])
    }
}

/// The next event `pick` accepts; the events before it are returned too.
async fn wait_for<E: std::fmt::Debug, T>(
    rx: &mut UnboundedReceiver<E>,
    mut pick: impl FnMut(&E) -> Option<T>,
) -> (T, Vec<E>) {
    let mut skipped = Vec::new();
    let found = tokio::time::timeout(PATIENCE, async {
        loop {
            let event = rx.recv().await.expect("peers still running");
            match pick(&event) {
                Some(found) => return found,
                None => skipped.push(event),
            }
        }
    })
    .await;
    match found {
        Ok(found) => (found, skipped),
        Err(_) => panic!("nothing expected arrived within {PATIENCE:?}; saw {skipped:?}"),
    }
}

fn masks_and_doctors() -> Vec<ManifestLine> {
    vec![
        line("personnel/doctor", 103),
        line("material/mask_n95", 1_999),
    ]
}

async fn deliver(run: &mut Run, s: Shipment) -> Result<bool, tonic::Status> {
    let request = node_kit::client::request(s);
    run.client
        .deliver_shipment(request)
        .await
        .map(|r| r.into_inner().duplicate)
}

#[tokio::test]
async fn refusals_over_grpc_name_the_field_and_change_nothing() {
    let mut run = launch().await;
    // The request shows the clock is running; no decision yet.
    wait_for(&mut run.at_central, |e| {
        matches!(e, AtCentral::Request(_)).then_some(())
    })
    .await;
    let early = deliver(&mut run, shipment("s1", "jiangsu", 1, masks_and_doctors())).await;
    assert_eq!(early.unwrap_err().code(), Code::FailedPrecondition);

    let mut forged = run.decision();
    forged.header = header("forged", "jiangsu");
    let err = run.client.notify_decision(forged).await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    assert!(
        err.message().starts_with("header.sender_id"),
        "{}",
        err.message()
    );
    let decided = run.client.notify_decision(run.decision()).await.unwrap();
    assert!(!decided.into_inner().duplicate);

    let stranger = deliver(&mut run, shipment("s2", "zhejiang", 1, masks_and_doctors())).await;
    let err = stranger.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    assert!(
        err.message().starts_with("header.sender_id: zhejiang"),
        "{}",
        err.message()
    );

    let mut negative = shipment("s3", "jiangsu", 1, vec![line("personnel/nurse", 5)]);
    negative.lines[0].quantity = -5;
    let err = deliver(&mut run, negative).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(
        err.message().starts_with("lines[0].quantity: -5"),
        "{}",
        err.message()
    );

    let mut headless = shipment("s4", "jiangsu", 1, masks_and_doctors());
    headless.header = None;
    let err = deliver(&mut run, headless).await.unwrap_err();
    assert_eq!(
        (err.code(), err.message()),
        (Code::InvalidArgument, "header: missing")
    );

    // None of the refused shipments produced a receipt; a valid one does.
    assert!(
        !deliver(&mut run, shipment("s5", "jiangsu", 1, masks_and_doctors()))
            .await
            .unwrap()
    );
    let (receipt, before) = wait_for(&mut run.at_donor, |e| match e {
        AtDonor::Receipt(r) => Some(r.clone()),
        _ => None,
    })
    .await;
    assert_eq!(receipt.shipment_id, format!("shp-jiangsu-{CASE}-1"));
    assert!(before.iter().all(|e| !matches!(e, AtDonor::Receipt(_))));
    run.stop().await;
}

#[tokio::test]
async fn a_case_runs_from_request_to_closure() {
    let mut run = launch().await;
    let (request, before) = wait_for(&mut run.at_central, |e| match e {
        AtCentral::Request(r) => Some(r.clone()),
        _ => None,
    })
    .await;
    let Some(AtCentral::Registered(registered)) = before.first() else {
        panic!("{before:?}")
    };
    assert_eq!(registered.role, pairing_proto::v1::Role::City as i32);
    assert_eq!(registered.endpoint, run.city.endpoint());
    assert_eq!(request.header.unwrap().sender_id, CITY);
    assert!(request.situation.unwrap().active_cases > 360);
    run.client.notify_decision(run.decision()).await.unwrap();
    let s = shipment("s1", "jiangsu", 1, masks_and_doctors());
    assert!(!deliver(&mut run, s.clone()).await.unwrap());
    assert!(
        deliver(&mut run, s.clone()).await.unwrap(),
        "a resend is a duplicate"
    );

    // Step 10: the receipt reaches the donor and accounts for every unit.
    let (receipt, _) = wait_for(&mut run.at_donor, |e| match e {
        AtDonor::Receipt(r) => Some(r.clone()),
        _ => None,
    })
    .await;
    assert_eq!(receipt.received[0].quantity, 103);
    assert_eq!(
        receipt.received[1].quantity + receipt.discrepancies[0].quantity,
        1_999
    );

    // Step 12: reports carry the receipt and the message counters.
    let (report, _) = wait_for(&mut run.at_central, |e| match e {
        AtCentral::Report(r) if !r.receipts.is_empty() => Some(r.clone()),
        _ => None,
    })
    .await;
    assert_eq!(report.receipts[0].shipment_id, s.shipment_id);
    assert_eq!(report.messages_received.get("Shipment"), Some(&2));
    assert_eq!(report.messages_received.get("CaseDecision"), Some(&1));

    // Step 11: updates travel on one stream, each answered.
    let needs = |e: &AtDonor| match e {
        AtDonor::Needs { stream, update } => Some((*stream, update.case_id.clone())),
        _ => None,
    };
    let (first, _) = wait_for(&mut run.at_donor, needs).await;
    let (second, _) = wait_for(&mut run.at_donor, needs).await;
    assert_eq!(first, (0, CASE.to_string()));
    assert_eq!(second, first, "the stream is reused");

    // Step 16: after 3 quiet days (day 13), a report and then the request.
    let (demobilisation, before) = wait_for(&mut run.at_central, |e| match e {
        AtCentral::Demobilisation(d) => Some(d.clone()),
        _ => None,
    })
    .await;
    assert_eq!(demobilisation.case_id, CASE);
    let Some(AtCentral::Report(last)) = before.last() else {
        panic!("no report before: {before:?}")
    };
    assert!(last.situation.unwrap().days_without_new_cases >= 3);

    // Step 18: after closure the city reports no more.
    let closure = CaseClosure {
        header: header("close-1", "central"),
        case_id: CASE.into(),
        closed_at_ms: 0,
    };
    run.client.close_case(closure).await.unwrap();
    let day = Duration::from_millis(TEST_DAY_MS as u64);
    tokio::time::sleep(day * 5).await; // reports already on their way land
    while run.at_central.try_recv().is_ok() {}
    tokio::time::sleep(day * 5).await;
    let late: Vec<_> = std::iter::from_fn(|| run.at_central.try_recv().ok()).collect();
    assert!(
        late.iter().all(|e| !matches!(e, AtCentral::Report(_))),
        "{late:?}"
    );
    run.stop().await;
}

/// Everything the city sends about a case joins the trace its request
/// opened (central's reply names the case), and each call carries its
/// sender's span to the peer; registration has a trace of its own.
#[tokio::test]
async fn a_case_is_one_trace_from_the_request_on() {
    use crate::testing::otel::{self, attribute};
    use node_kit::trace::key;
    use opentelemetry::trace::SpanId;

    let recorder = otel::record();
    let mut run = launch().await;
    // The request's span ends once central's reply has named the case.
    let request = recorder.first("city.request", PATIENCE).await;
    assert_eq!(request.parent_span_id, SpanId::INVALID, "the case's root");
    let case_trace = request.span_context.trace_id();
    let register = recorder.first("city.register", PATIENCE).await;
    assert_ne!(register.span_context.trace_id(), case_trace);

    run.client.notify_decision(run.decision()).await.unwrap();
    let s = shipment("s1", "jiangsu", 1, masks_and_doctors());
    deliver(&mut run, s).await.unwrap();
    let receipt = recorder.first("city.receipt", PATIENCE).await;
    let report = recorder.first("city.report", PATIENCE).await;
    let update = recorder.first("city.negotiate", PATIENCE).await;
    run.stop().await;

    for span in [&receipt, &report, &update] {
        assert_eq!(span.span_context.trace_id(), case_trace, "{}", span.name);
        assert_eq!(span.parent_span_id, request.span_context.span_id());
        assert_eq!(attribute(span, key::CASE_ID).as_deref(), Some(CASE));
        assert_eq!(attribute(span, key::CITY).as_deref(), Some(CITY));
    }
    assert_eq!(
        attribute(&receipt, key::PROVINCE).as_deref(),
        Some("jiangsu")
    );
    assert_eq!(
        attribute(&update, key::PROVINCE).as_deref(),
        Some("jiangsu")
    );
    // Each peer's span is the child of the city's span that called it (the
    // negotiation stream: of the update it was opened for).
    for (sent, received) in [
        ("city.request", "peer.request"),
        ("city.receipt", "peer.receipt"),
        ("city.report", "peer.report"),
        ("city.negotiate", "peer.negotiate"),
    ] {
        let senders: Vec<SpanId> = recorder
            .named(sent)
            .iter()
            .map(|s| s.span_context.span_id())
            .collect();
        let peer = recorder.first(received, PATIENCE).await;
        assert_eq!(peer.span_context.trace_id(), case_trace, "{received}");
        assert!(senders.contains(&peer.parent_span_id), "{received}");
    }
}
