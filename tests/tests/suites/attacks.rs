//! Attacks on a cluster that runs over mutual TLS: each test starts the
//! small scenario in-process with a certificate per node (`pairctl certs`),
//! tries one thing a node or an outsider must not be able to do, and checks
//! the refusal's status code and that nothing changed.
//!
//! Most attacks are tried on a frozen cluster (a scenario day lasts a real
//! day): once registration and the first steps at time 0 have settled,
//! central's view (nodes and their endpoints, cases, ledger, the messages
//! it received) must be the same after the attack as before. The attacks
//! that reach a state machine's own check (a province delivering to a city
//! it does not serve, a city receipting another city's shipment or
//! negotiating another city's plan) run during a real run, which must then
//! end as a run without them does. The helpers are in
//! `counterpart_tests::secure`.

use counterpart_domain::clock::ScenarioTime;
use counterpart_tests::cluster::Cluster;
use counterpart_tests::scenario_path;
use counterpart_tests::secure::{
    assert_refused_at_connection, central_as, certs, city_as, finish, frozen, province_as,
    run_is_sound, unchanged, wait_for, LIVE_DAY_MS,
};
use node_kit::client::{request, Dialer};
use node_kit::tls::{Identity, NodeTls, Role};
use pairing_proto::v1::central_authority_client::CentralAuthorityClient;
use pairing_proto::v1::donor_province_client::DonorProvinceClient;
use pairing_proto::v1::operation_update;
use pairing_proto::v1::{
    Assignment, CaseClosure, Contribution, Evaluation, LedgerQuery, ManifestLine, NeedsUpdate,
    PairingsQuery, Receipt, RegisterNode, ReportQuery, ResourceQuantity, Shipment, Situation,
    StatusQuery, SupervisoryReport, WatchQuery,
};
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint};
use tonic::Code;

/// A registration that would point central at an attacker's endpoint.
fn hijack(id: &str) -> RegisterNode {
    RegisterNode {
        header: Some(node_kit::header::this_life(id).header(ScenarioTime(0))),
        role: pairing_proto::v1::Role::Province as i32,
        endpoint: "https://127.0.0.1:9".into(),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_without_a_certificate_cannot_register_a_node() {
    let (dir, cluster, before) = frozen("no-cert").await;
    // Plain TCP to a TLS server.
    let mut plain = CentralAuthorityClient::new(
        node_kit::client::channel(&cluster.central.endpoint()).unwrap(),
    );
    assert_refused_at_connection(plain.register(request(hijack("alpha"))).await, "plain TCP");
    // TLS that trusts the CA but presents no certificate.
    let ca = std::fs::read(dir.join("ca.pem")).unwrap();
    let url = format!("https://{}", cluster.central.addr);
    let anonymous = Endpoint::from_shared(url)
        .unwrap()
        .tls_config(ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca)))
        .unwrap()
        .connect_lazy();
    let mut anonymous = CentralAuthorityClient::new(anonymous);
    assert_refused_at_connection(
        anonymous.register(request(hijack("alpha"))).await,
        "TLS without a certificate",
    );
    unchanged(&dir, &cluster, &before).await;
    finish(dir, cluster).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_from_another_ca_cannot_pose_as_central_or_a_node() {
    let (dir, cluster, before) = frozen("rogue-ca").await;
    // A CA of the attacker's own issues "central" and "alpha"; the client
    // trusts the real CA, so only the server's check can stop it.
    let rogue = certs("rogue-ca-issuer");
    let ca = std::fs::read(dir.join("ca.pem")).unwrap();
    let posing = |id: &str, role: Role| {
        let cert = std::fs::read(rogue.join(format!("{id}.pem"))).unwrap();
        let key = std::fs::read(rogue.join(format!("{id}.key"))).unwrap();
        NodeTls::from_pem(&ca, &cert, &key, Identity::new(role, id))
    };
    let as_central = Dialer::new(Some(&posing("central", Role::Central)));
    let mut beta = DonorProvinceClient::new(
        as_central
            .channel(&cluster.province("beta").endpoint())
            .unwrap(),
    );
    assert_refused_at_connection(
        beta.assign(request(forged_assignment("central"))).await,
        "rogue central",
    );
    let as_alpha = Dialer::new(Some(&posing("alpha", Role::Province)));
    let mut central =
        CentralAuthorityClient::new(as_alpha.channel(&cluster.central.endpoint()).unwrap());
    assert_refused_at_connection(
        central.register(request(hijack("alpha"))).await,
        "rogue alpha",
    );
    unchanged(&dir, &cluster, &before).await;
    let _ = std::fs::remove_dir_all(rogue);
    finish(dir, cluster).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_of_the_ca_that_names_no_node_is_unauthenticated() {
    let (dir, cluster, before) = frozen("nameless").await;
    // Signed by the run's own CA, so the handshake passes; but its only
    // name is a host name, no counterpart:// identity.
    let ca_pem = std::fs::read_to_string(dir.join("ca.pem")).unwrap();
    let ca_key =
        rcgen::KeyPair::from_pem(&std::fs::read_to_string(dir.join("ca.key")).unwrap()).unwrap();
    let issuer = rcgen::Issuer::from_ca_cert_pem(&ca_pem, ca_key).unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &issuer).unwrap();
    let nameless = NodeTls::from_pem(
        ca_pem.as_bytes(),
        cert.pem().as_bytes(),
        key.serialize_pem().as_bytes(),
        Identity::new(Role::Operator, "nobody"),
    );
    let channel = Dialer::new(Some(&nameless))
        .channel(&cluster.central.endpoint())
        .unwrap();
    let mut central = CentralAuthorityClient::new(channel);
    let status = central
        .get_status(request(StatusQuery {}))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    assert!(
        status.message().contains("counterpart://"),
        "{}",
        status.message()
    );
    let status = central
        .register(request(hijack("alpha")))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    unchanged(&dir, &cluster, &before).await;
    finish(dir, cluster).await;
}

/// An assignment of south to beta, as `sender` would send it.
fn forged_assignment(sender: &str) -> Assignment {
    Assignment {
        header: Some(node_kit::header::this_life(sender).header(ScenarioTime(0))),
        assignment_id: "asg-forged".into(),
        case_id: "case-forged".into(),
        recipient_city_id: "south".into(),
        recipient_endpoint: "https://127.0.0.1:9".into(),
        targets: vec![ResourceQuantity {
            resource_type: "personnel/doctor".into(),
            quantity: 100,
        }],
        reason: "forged".into(),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_province_cannot_assign_work_to_another_province() {
    let (dir, cluster, before) = frozen("province-assigns").await;
    let mut beta = province_as(&dir, "alpha", &cluster, "beta");
    for message in [forged_assignment("alpha"), forged_assignment("central")] {
        let status = beta.assign(request(message)).await.unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
        assert!(
            status.message().contains("only central"),
            "{}",
            status.message()
        );
    }
    unchanged(&dir, &cluster, &before).await;
    finish(dir, cluster).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_city_cannot_evaluate_a_province_nor_close_a_case() {
    let (dir, cluster, before) = frozen("city-orders").await;
    let mut alpha = province_as(&dir, "north", &cluster, "alpha");
    let evaluation = Evaluation {
        header: Some(node_kit::header::this_life("central").header(ScenarioTime(0))),
        evaluation_id: "eval-forged".into(),
        case_id: "case-forged".into(),
        assignment_id: "asg-forged".into(),
        reason: "forged".into(),
        ..Default::default()
    };
    let status = alpha.evaluate(request(evaluation)).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    let mut south = city_as(&dir, "north", &cluster, "south");
    let closure = CaseClosure {
        header: Some(node_kit::header::this_life("central").header(ScenarioTime(0))),
        case_id: "case-forged".into(),
        closed_at_ms: 0,
    };
    let status = south.close_case(request(closure)).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    assert!(
        status.message().contains("city north"),
        "{}",
        status.message()
    );
    unchanged(&dir, &cluster, &before).await;
    finish(dir, cluster).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_province_cannot_report_or_register_as_another_province() {
    let (dir, cluster, before) = frozen("spoofed-sender").await;
    let mut central = central_as(&dir, "alpha", &cluster);
    let report = SupervisoryReport {
        header: Some(node_kit::header::this_life("beta").header(ScenarioTime(0))),
        case_id: "case-forged".into(),
        cost_cny: 1,
        ..Default::default()
    };
    let status = central.submit_report(request(report)).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    assert!(
        status.message().contains("\"beta\""),
        "{}",
        status.message()
    );
    let status = central.register(request(hijack("beta"))).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    // Nor register as a city, under its own id.
    let mut as_city = hijack("alpha");
    as_city.role = pairing_proto::v1::Role::City as i32;
    let status = central.register(request(as_city)).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    unchanged(&dir, &cluster, &before).await;
    finish(dir, cluster).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_province_cannot_use_the_operator_queries() {
    let (dir, cluster, before) = frozen("province-queries").await;
    let mut central = central_as(&dir, "alpha", &cluster);
    let refusals = [
        central.get_status(request(StatusQuery {})).await.map(drop),
        central
            .list_pairings(request(PairingsQuery {}))
            .await
            .map(drop),
        central.get_ledger(request(LedgerQuery {})).await.map(drop),
        central.get_report(request(ReportQuery {})).await.map(drop),
        central
            .watch_operation(request(WatchQuery::default()))
            .await
            .map(drop),
    ];
    for refusal in refusals {
        let status = refusal.unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
        assert!(status.message().contains("only operator or central"));
    }
    // The operator and central may.
    central_as(&dir, "central", &cluster)
        .get_ledger(request(LedgerQuery {}))
        .await
        .unwrap();
    let mut watch = central_as(&dir, "operator", &cluster)
        .watch_operation(request(WatchQuery::default()))
        .await
        .unwrap()
        .into_inner();
    let first = watch.message().await.unwrap().expect("an update");
    assert!(
        matches!(first.change, Some(operation_update::Change::Outline(_))),
        "a watch starts with the outline: {first:?}"
    );
    drop(watch);
    unchanged(&dir, &cluster, &before).await;
    finish(dir, cluster).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_city_cannot_confirm_a_receipt_as_another_city() {
    let (dir, cluster, before) = frozen("receipt-as-other").await;
    let mut alpha = province_as(&dir, "west", &cluster, "alpha");
    let receipt = Receipt {
        header: Some(node_kit::header::this_life("north").header(ScenarioTime(0))),
        receipt_id: "rcp-forged".into(),
        shipment_id: "shp-alpha-case-north-1-1".into(),
        case_id: "case-north-1".into(),
        ..Default::default()
    };
    let status = alpha.confirm_receipt(request(receipt)).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    assert!(
        status.message().contains("\"north\""),
        "{}",
        status.message()
    );
    unchanged(&dir, &cluster, &before).await;
    finish(dir, cluster).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_province_not_paired_with_a_city_cannot_deliver_to_it() {
    let dir = certs("unpaired-delivery");
    let cluster = Cluster::start_with(&scenario_path("small"), LIVE_DAY_MS, None, Some(&dir)).await;
    // south's case is open, with alpha its only donor.
    let (case_id, assignment_id) = wait_for(&dir, &cluster, |_, ledger| {
        ledger
            .iter()
            .find(|l| l.city_id == "south" && l.province_id == "alpha")
            .map(|l| (l.case_id.clone(), format!("asg-forged-{}", l.case_id)))
    })
    .await;
    let mut south = city_as(&dir, "beta", &cluster, "south");
    let shipment = Shipment {
        header: Some(node_kit::header::this_life("beta").header(ScenarioTime(0))),
        shipment_id: "shp-beta-forged-1".into(),
        case_id: case_id.clone(),
        assignment_id,
        departed_at_ms: 0,
        lines: vec![ManifestLine {
            resource_type: "personnel/doctor".into(),
            quantity: 1_000,
            contributed_by: vec![Contribution {
                prefecture: "forged".into(),
                quantity: 1_000,
            }],
        }],
    };
    let status = south
        .deliver_shipment(request(shipment.clone()))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    assert!(
        status.message().contains("not a donor of case"),
        "{}",
        status.message()
    );
    // Sent as alpha, south's donor, it is refused before the city sees it.
    let mut as_alpha = shipment;
    as_alpha.header = Some(node_kit::header::this_life("alpha").header(ScenarioTime(0)));
    let status = south.deliver_shipment(request(as_alpha)).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    assert!(
        status.message().contains("province beta"),
        "{}",
        status.message()
    );

    // No receipt of it anywhere: south never took it in.
    let report = run_is_sound(&dir, &cluster).await;
    assert!(
        !report.to_string().contains("shp-beta-forged"),
        "the forged shipment left a trace"
    );
    let beta_in_south = report["ledger"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l["city"] == "south" && l["province"] == "beta");
    assert!(!beta_in_south, "beta appears in south's ledger");
    finish(dir, cluster).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_city_cannot_confirm_receipt_of_another_citys_shipment() {
    let dir = certs("foreign-receipt");
    let cluster = Cluster::start_with(&scenario_path("small"), LIVE_DAY_MS, None, Some(&dir)).await;
    // alpha has shipped to north.
    let case_id = wait_for(&dir, &cluster, |_, ledger| {
        ledger
            .iter()
            .find(|l| l.city_id == "north" && l.province_id == "alpha" && l.shipped > 0)
            .map(|l| l.case_id.clone())
    })
    .await;
    let mut alpha = province_as(&dir, "south", &cluster, "alpha");
    // south, as itself, claims nothing of north's first shipment arrived.
    let receipt = Receipt {
        header: Some(node_kit::header::this_life("south").header(ScenarioTime(0))),
        receipt_id: "rcp-forged".into(),
        shipment_id: format!("shp-alpha-{case_id}-1"),
        case_id,
        received_at_ms: 0,
        received: Vec::new(),
        discrepancies: Vec::new(),
    };
    let status = alpha.confirm_receipt(request(receipt)).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    assert!(
        status.message().contains("the recipient of shipment"),
        "{}",
        status.message()
    );
    // Every shipment of alpha to north is receipted by north, in full.
    run_is_sound(&dir, &cluster).await;
    finish(dir, cluster).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_city_cannot_negotiate_the_plan_of_another_citys_case() {
    let dir = certs("foreign-negotiation");
    let cluster = Cluster::start_with(&scenario_path("small"), LIVE_DAY_MS, None, Some(&dir)).await;
    // beta serves north's case, and only that one.
    let case_id = wait_for(&dir, &cluster, |_, ledger| {
        ledger
            .iter()
            .find(|l| l.city_id == "north" && l.province_id == "beta")
            .map(|l| l.case_id.clone())
    })
    .await;
    let update = |sender: &str| NeedsUpdate {
        header: Some(node_kit::header::this_life(sender).header(ScenarioTime(0))),
        case_id: case_id.clone(),
        situation: Some(Situation::default()),
        // Claims north needs nothing more: beta would lower its targets.
        needs: Vec::new(),
    };
    for (sender, refusal) in [
        ("south", "the city of case"),  // the donor machine's check
        ("north", "is not the caller"), // the service's check
    ] {
        let mut beta = province_as(&dir, "south", &cluster, "beta");
        let outgoing = tokio_stream::iter([update(sender)]);
        let mut proposals = beta
            .negotiate_plan(request(outgoing))
            .await
            .unwrap()
            .into_inner();
        let status = proposals.message().await.unwrap_err();
        assert_eq!(
            status.code(),
            Code::PermissionDenied,
            "{sender}: {status:?}"
        );
        assert!(
            status.message().contains(refusal),
            "{sender}: {}",
            status.message()
        );
    }
    // beta went on serving north to the end, targets untouched.
    let report = run_is_sound(&dir, &cluster).await;
    let north = report["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["city"] == "north")
        .unwrap();
    assert!(
        north["received"]["personnel/doctor"].as_i64().unwrap_or(0) > 0,
        "north received no doctors: {north}"
    );
    finish(dir, cluster).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legitimate_calls_with_the_right_certificates_succeed() {
    let dir = certs("legitimate");
    let cluster = Cluster::start_with(&scenario_path("small"), LIVE_DAY_MS, None, Some(&dir)).await;
    // The whole run: registrations, orders, shipments, receipts, reports,
    // all over mutual TLS with each node's own certificate.
    let report = run_is_sound(&dir, &cluster).await;
    assert!(
        report["cases"].as_array().is_some_and(|c| c.len() >= 3),
        "{report}"
    );
    let mut operator = central_as(&dir, "operator", &cluster);
    operator
        .list_pairings(request(PairingsQuery {}))
        .await
        .unwrap();
    finish(dir, cluster).await;
}
