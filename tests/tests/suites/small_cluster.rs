//! The small scenario end to end, every node its own gRPC server on a
//! loopback port in this process: pairing, rejection, shipments, receipts,
//! demobilisation and closure, checked on central's run report and on the
//! nodes' own books.

use std::time::Duration;

use counterpart_tests::checks::{self, assert_holds, expect, SMALL_SCENARIO_CASES};
use counterpart_tests::cluster::Cluster;
use counterpart_tests::scenario_path;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_scenario_runs_every_case_to_closure() {
    let cluster = Cluster::start(&scenario_path("small"), 150, None).await;
    cluster.wait_finished(Duration::from_secs(120)).await;
    let report = cluster.report_with_books().await;

    assert_holds(
        "historical pairing",
        checks::historical_pairings(&report, &cluster.scenario),
    );
    assert_holds("legal order", checks::legal_order(&report));
    assert_holds("nodes' books reconcile", checks::books_reconcile(&report));
    // west's request is within local capacity; the others need help.
    assert_holds(
        "expected cases",
        checks::cases_as_expected(&report, SMALL_SCENARIO_CASES),
    );

    // Something was actually shipped and received.
    let cases = report["cases"].as_array().expect("cases");
    let north = cases.iter().find(|c| c["city"] == "north").unwrap();
    let received_doctors = north["received"]["personnel/doctor"].as_i64().unwrap_or(0);
    assert!(received_doctors > 0, "north received no doctors: {north}");
    assert!(north["first_arrival_at"].is_string());
    assert!(
        north["evaluations"]
            .as_array()
            .is_some_and(|e| !e.is_empty()),
        "no evaluation of north's donors"
    );
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbreak_in_a_donor_releases_it_and_repairs_the_city() {
    let cluster = Cluster::start(&scenario_path("outbreak"), 150, None).await;
    cluster.wait_finished(Duration::from_secs(120)).await;
    let report = cluster.report_with_books().await;

    assert_holds("legal order", checks::legal_order(&report));
    assert_holds("nodes' books reconcile", checks::books_reconcile(&report));
    assert_holds(
        "expected cases",
        checks::cases_as_expected(
            &report,
            &[expect("north", "closed", 1), expect("south", "closed", 1)],
        ),
    );
    let south = report["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["city"] == "south")
        .expect("south's case");
    let provinces: Vec<&str> = south["provinces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert!(
        provinces.contains(&"beta"),
        "beta served south first: {provinces:?}"
    );
    assert!(
        provinces.len() >= 2,
        "south got no replacement donor: {provinces:?}"
    );
    let released = south["events"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["step"] == "adjusted" && e["province"] == "beta");
    assert!(released, "beta was never released: {}", south["events"]);
    cluster.stop().await;
}
