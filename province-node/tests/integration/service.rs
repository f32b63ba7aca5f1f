//! The gRPC service in-process: a tonic client against a province node on
//! 127.0.0.1:0, with a fake central to register with. Refusals carry the
//! right code and name the field.

use crate::common::*;
use pairing_proto::v1::donor_province_client::DonorProvinceClient;
use pairing_proto::v1::*;
use province_node::{start, ProvinceConfig};
use tonic::transport::Channel;
use tonic::Code;

/// A province node registered with a fake central that gives no clock.
async fn node() -> (
    node_kit::server::RunningNode,
    DonorProvinceClient<Channel>,
    FakeCentral,
) {
    let (node, central) = start_jiangsu(None).await;
    let client = DonorProvinceClient::connect(node.endpoint()).await.unwrap();
    (node, client, central)
}

async fn started_node() -> (node_kit::server::RunningNode, DonorProvinceClient<Channel>) {
    let (node, mut client, _) = node().await;
    let start = ClockStart {
        header: header("central", "clock-1"),
        clock: Some(clock()),
    };
    assert!(
        !client
            .start_clock(start.clone())
            .await
            .unwrap()
            .into_inner()
            .duplicate
    );
    assert!(
        client
            .start_clock(start)
            .await
            .unwrap()
            .into_inner()
            .duplicate
    );
    (node, client)
}

fn assignment(quantity: i64) -> Assignment {
    Assignment {
        header: header("central", "asg-msg-1"),
        assignment_id: "asg-case-huangshi-1-jiangsu".into(),
        case_id: "case-huangshi-1".into(),
        recipient_city_id: "huangshi".into(),
        recipient_endpoint: "http://127.0.0.1:9".into(),
        objectives: vec![],
        targets: vec![ResourceQuantity {
            resource_type: "personnel/doctor".into(),
            quantity,
        }],
        reason: String::new(),
    }
}

#[tokio::test]
async fn registers_its_endpoint_as_a_province_and_reports_healthy() {
    let (node, _, central) = node().await;
    let registration = eventually("registration", || {
        central.inbox.lock().unwrap().registrations.first().cloned()
    })
    .await;
    assert_eq!(registration.role, Role::Province as i32);
    assert_eq!(registration.endpoint, node.endpoint());
    assert_eq!(registration.header.unwrap().sender_id, "jiangsu");

    let channel = Channel::from_shared(node.endpoint())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
    let status = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: "pairing.v1.DonorProvince".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .status;
    assert_eq!(
        status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );
    node.stop().await.unwrap();
}

#[tokio::test]
async fn an_assignment_before_the_clock_is_out_of_order() {
    let (node, mut client, _) = node().await;
    let err = client.assign(assignment(5)).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(err.message().starts_with("clock"), "{}", err.message());
    node.stop().await.unwrap();
}

#[tokio::test]
async fn a_receipt_for_an_unknown_shipment_is_not_found() {
    let (node, mut client) = started_node().await;
    let err = client
        .confirm_receipt(Receipt {
            header: header("huangshi", "rcpt-msg-1"),
            receipt_id: "rcpt-shp-jiangsu-case-huangshi-1-1".into(),
            shipment_id: "shp-jiangsu-case-huangshi-1-1".into(),
            case_id: "case-huangshi-1".into(),
            received_at_ms: 1,
            received: vec![],
            discrepancies: vec![],
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    assert!(
        err.message().starts_with("shipment_id"),
        "{}",
        err.message()
    );
    node.stop().await.unwrap();
}

#[tokio::test]
async fn a_malformed_assignment_is_invalid_and_a_foreign_one_denied() {
    let (node, mut client) = started_node().await;
    let err = client.assign(assignment(-5)).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(
        err.message().starts_with("targets[0].quantity"),
        "{}",
        err.message()
    );

    let mut foreign = assignment(5);
    foreign.header = header("guangxi", "guangxi-1");
    let err = client.assign(foreign).await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    assert!(
        err.message().starts_with("header.sender_id"),
        "{}",
        err.message()
    );

    // Neither refusal was remembered: the good one applies fresh.
    assert!(
        !client
            .assign(assignment(5))
            .await
            .unwrap()
            .into_inner()
            .duplicate
    );
    node.stop().await.unwrap();
}

#[tokio::test]
async fn needs_for_a_case_not_served_end_the_stream_with_not_found() {
    let (node, mut client) = started_node().await;
    let update = NeedsUpdate {
        header: header("huangshi", "needs-1"),
        case_id: "case-huangshi-1".into(),
        situation: Some(Situation::default()),
        needs: vec![],
    };
    let mut proposals = client
        .negotiate_plan(tokio_stream::iter(vec![update]))
        .await
        .unwrap()
        .into_inner();
    let err = proposals.message().await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    assert!(err.message().starts_with("case_id"), "{}", err.message());
    node.stop().await.unwrap();
}

#[tokio::test]
async fn a_province_missing_from_the_scenario_does_not_start() {
    let err = start(ProvinceConfig {
        scenario: scenario(),
        province_id: "atlantis".into(),
        central_endpoint: "http://127.0.0.1:9".into(),
        listen_addr: "127.0.0.1:0".into(),
        advertise: None,
        tls: None,
        data_dir: None,
        durability: Default::default(),
        faults: None,
    })
    .await
    .unwrap_err();
    assert!(err.contains("atlantis"), "{err}");
}

#[tokio::test]
async fn an_open_negotiation_stream_does_not_hold_up_shutdown() {
    let (node, mut client) = started_node().await;
    // A city that keeps its side open and never sends anything.
    let (_keep_open, updates) = tokio::sync::mpsc::channel::<NeedsUpdate>(1);
    let _proposals = client
        .negotiate_plan(tokio_stream::wrappers::ReceiverStream::new(updates))
        .await
        .unwrap();
    let stopped = tokio::time::timeout(std::time::Duration::from_secs(5), node.stop()).await;
    assert!(matches!(stopped, Ok(Ok(()))), "{stopped:?}");
}
