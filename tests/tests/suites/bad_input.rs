//! Bad input over real gRPC: every refusal has the right status and names
//! the field, and changes no state. The clock runs at ten wall minutes per
//! scenario day, so nothing moves during the test but what it sends.

use std::time::Duration;

use counterpart_domain::clock::ScenarioTime;
use counterpart_tests::cluster::{self, Cluster};
use counterpart_tests::scenario_path;
use node_kit::client::{self, request};
use pairing_proto::v1::donor_province_client::DonorProvinceClient;
use pairing_proto::v1::recipient_city_client::RecipientCityClient;
use pairing_proto::v1::*;
use tonic::Code;

const FROZEN_DAY_MS: i64 = 600_000;

fn line(t: &str, q: i64) -> ResourceQuantity {
    ResourceQuantity {
        resource_type: t.into(),
        quantity: q,
    }
}

fn situation() -> Situation {
    Situation {
        confirmed_total: 900,
        active_cases: 800,
        severe: 50,
        critical: 20,
        beds: 100,
        local_doctors: 10,
        local_nurses: 20,
        ..Default::default()
    }
}

#[track_caller]
fn refused<T: std::fmt::Debug>(
    result: Result<tonic::Response<T>, tonic::Status>,
    code: Code,
    field: &str,
) {
    let status = result.expect_err("must be refused");
    assert_eq!(status.code(), code, "{}", status.message());
    assert!(
        status.message().starts_with(field),
        "message {:?} does not name {field}",
        status.message()
    );
}

/// Everything central would report about the run's state.
async fn snapshot(cluster: &Cluster) -> String {
    let mut central = cluster.central_client();
    let cases = central
        .get_status(request(StatusQuery {}))
        .await
        .unwrap()
        .into_inner()
        .cases;
    let ledger = central
        .get_ledger(request(LedgerQuery {}))
        .await
        .unwrap()
        .into_inner();
    let report = cluster.report().await;
    format!("{cases:?}\n{ledger:?}\n{}", report["cases"])
}

/// Waits until central holds the three cities' cases: north's and south's
/// waiting for the decision window (which a frozen clock never ends), and
/// west's rejected at once. From then on nothing changes by itself.
async fn until_every_city_asked(endpoint: &str) {
    let mut last = None;
    for _ in 0..1_200 {
        let status = cluster::status(endpoint).await;
        let stage = |city: &str| {
            status
                .cases
                .iter()
                .find(|c| c.city_id == city)
                .map(|c| c.stage.clone())
        };
        let west_rejected = stage("west").as_deref() == Some("rejected");
        if status.cases.len() == 3 && west_rejected {
            return;
        }
        last = Some(status.cases);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the three cities never all asked: {last:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_name_the_field_and_change_nothing() {
    let cluster = Cluster::start(&scenario_path("small"), FROZEN_DAY_MS, None).await;
    until_every_city_asked(&cluster.central.endpoint()).await;
    let before = snapshot(&cluster).await;
    assert!(before.contains("case-north-1"), "{before}");

    let north = node_kit::header::this_life("north");
    let alpha = node_kit::header::this_life("alpha");
    let now = ScenarioTime(0);
    let mut central = cluster.central_client();
    let ask = |header: Option<MessageHeader>, needs: Vec<ResourceQuantity>| AssistanceRequest {
        header,
        situation: Some(situation()),
        needs,
    };

    refused(
        central.request_assistance(request(ask(None, vec![]))).await,
        Code::InvalidArgument,
        "header",
    );
    refused(
        central
            .request_assistance(request(ask(
                Some(north.header(now)),
                vec![line("personnel/doctor", -5)],
            )))
            .await,
        Code::InvalidArgument,
        "needs[0].quantity",
    );
    refused(
        central
            .request_assistance(request(ask(
                Some(north.header(now)),
                vec![line("material/unicorn", 5)],
            )))
            .await,
        Code::InvalidArgument,
        "needs[0].resource_type",
    );
    refused(
        central
            .request_assistance(request(ask(
                Some(north.header(now)),
                vec![line("personnel/nurse", 1_000_000_000)],
            )))
            .await,
        Code::InvalidArgument,
        "needs[0].quantity",
    );
    refused(
        central
            .request_assistance(request(ask(
                Some(node_kit::header::this_life("atlantis").header(now)),
                vec![],
            )))
            .await,
        Code::NotFound,
        "header.sender_id",
    );
    refused(
        central
            .request_assistance(request(ask(
                Some(north.header(now)),
                vec![line("personnel/doctor", 5)],
            )))
            .await,
        Code::FailedPrecondition,
        "header.sender_id",
    );

    let ack = AssignmentAcknowledgement {
        header: Some(alpha.header(now)),
        assignment_id: "asg-case-nowhere-1-alpha".into(),
        kind: AcknowledgementKind::Accepted as i32,
        constraints: vec![],
    };
    refused(
        central.acknowledge_assignment(request(ack)).await,
        Code::NotFound,
        "assignment_id",
    );

    let shipment_record = ShipmentRecord {
        shipment_id: "shp-alpha-case-west-1-1".into(),
        departed_at_ms: 1,
        lines: vec![line("funds/cny", 100)],
    };
    let donor_report = SupervisoryReport {
        header: Some(alpha.header(now)),
        case_id: "case-west-1".into(),
        shipments: vec![shipment_record],
        ..Default::default()
    };
    refused(
        central.submit_report(request(donor_report)).await,
        Code::PermissionDenied,
        "case_id",
    );
    let city_report = SupervisoryReport {
        header: Some(north.header(now)),
        case_id: "case-south-1".into(),
        situation: Some(situation()),
        ..Default::default()
    };
    refused(
        central.submit_report(request(city_report)).await,
        Code::PermissionDenied,
        "case_id",
    );
    let unknown_case = SupervisoryReport {
        header: Some(north.header(now)),
        case_id: "case-north-9".into(),
        situation: Some(situation()),
        ..Default::default()
    };
    refused(
        central.submit_report(request(unknown_case)).await,
        Code::NotFound,
        "case_id",
    );
    let early = DemobilisationRequest {
        header: Some(north.header(now)),
        case_id: "case-north-1".into(),
        situation: Some(situation()),
    };
    refused(
        central.request_demobilisation(request(early)).await,
        Code::FailedPrecondition,
        "case_id",
    );
    let impostor = RegisterNode {
        header: Some(node_kit::header::this_life("alpha").header(now)),
        role: Role::City as i32,
        endpoint: "http://127.0.0.1:1".into(),
        ..Default::default()
    };
    refused(
        central.register(request(impostor)).await,
        Code::PermissionDenied,
        "role",
    );

    let mut province =
        DonorProvinceClient::new(client::channel(&cluster.province("alpha").endpoint()).unwrap());
    let receipt = Receipt {
        header: Some(north.header(now)),
        receipt_id: "rcpt-x".into(),
        shipment_id: "shp-alpha-case-north-1-99".into(),
        case_id: "case-north-1".into(),
        received_at_ms: 1,
        received: vec![line("funds/cny", 1)],
        discrepancies: vec![],
    };
    refused(
        province.confirm_receipt(request(receipt)).await,
        Code::NotFound,
        "shipment_id",
    );
    let forged = Assignment {
        header: Some(north.header(now)),
        assignment_id: "asg-case-north-1-alpha".into(),
        case_id: "case-north-1".into(),
        recipient_city_id: "north".into(),
        recipient_endpoint: cluster.city("north").endpoint(),
        objectives: vec![],
        targets: vec![line("funds/cny", 1)],
        reason: "forged".into(),
    };
    refused(
        province.assign(request(forged)).await,
        Code::PermissionDenied,
        "header.sender_id",
    );

    let mut city =
        RecipientCityClient::new(client::channel(&cluster.city("north").endpoint()).unwrap());
    let shipment = |lines| Shipment {
        header: Some(node_kit::header::this_life("beta").header(now)),
        shipment_id: "shp-beta-case-north-1-1".into(),
        case_id: "case-north-1".into(),
        assignment_id: "asg-case-north-1-beta".into(),
        departed_at_ms: 1,
        lines,
    };
    let negative = vec![ManifestLine {
        resource_type: "funds/cny".into(),
        quantity: -1,
        contributed_by: vec![],
    }];
    refused(
        city.deliver_shipment(request(shipment(negative))).await,
        Code::InvalidArgument,
        "lines[0].quantity",
    );
    let unpaired = vec![ManifestLine {
        resource_type: "funds/cny".into(),
        quantity: 10,
        contributed_by: vec![Contribution {
            prefecture: "x".into(),
            quantity: 10,
        }],
    }];
    refused(
        city.deliver_shipment(request(shipment(unpaired))).await,
        Code::FailedPrecondition,
        "case_id",
    );

    assert_eq!(
        snapshot(&cluster).await,
        before,
        "a refused message changed state"
    );
    cluster.stop().await;
}
