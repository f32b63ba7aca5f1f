//! The small scenario end to end, every node its own gRPC server on a
//! loopback port in this process: pairing, rejection, shipments, receipts,
//! demobilisation and closure, checked on central's run report.

use std::time::Duration;

use counterpart_tests::checks::{self, assert_holds};
use counterpart_tests::cluster::Cluster;
use counterpart_tests::scenario_path;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_scenario_runs_every_case_to_closure() {
    let cluster = Cluster::start(&scenario_path("small"), 150, None).await;
    cluster.wait_finished(Duration::from_secs(120)).await;
    let report = cluster.report().await;

    assert_holds(
        "historical pairing",
        checks::historical_pairings(&report, &cluster.scenario),
    );
    assert_holds("legal order", checks::legal_order(&report));
    assert_holds("receipts match shipments", checks::receipts_match(&report));
    assert_holds(
        "every case closed or rejected",
        checks::all_closed(&report, true),
    );

    let cases = report["cases"].as_array().expect("cases");
    let status_of = |city: &str| -> Vec<&str> {
        cases
            .iter()
            .filter(|c| c["city"] == city)
            .map(|c| c["status"].as_str().unwrap())
            .collect()
    };
    // west's request is within local capacity; the others need help.
    assert!(
        status_of("west").iter().all(|s| *s == "rejected"),
        "west: {:?}",
        status_of("west")
    );
    assert!(!status_of("west").is_empty(), "west never asked for help");
    assert_eq!(status_of("north"), ["closed"]);
    assert_eq!(status_of("south"), ["closed"]);

    // Something was actually shipped and received.
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
    let report = cluster.report().await;

    assert_holds("legal order", checks::legal_order(&report));
    assert_holds("receipts match shipments", checks::receipts_match(&report));
    assert_holds("every case closed", checks::all_closed(&report, false));
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
